//! Incremental sync of the `orders` pipeline through the real `mee run` loop: end-to-end lag at a
//! steady change rate, and the fan-out of one joined row used by many documents.
//!
//! `cargo bench --features pipeline-orders --bench sync_lag -- [--lag] [--fanout] [options]`
//! (neither flag: both). Needs `scripts/services.sh start` (MariaDB for the data and the binlog,
//! osmem for the pipeline state); loads its own sample into `syncbench_shop`/`syncbench_crm`
//! with `scripts/load-sample.sh` unless it is already there at that size.
//!
//! Set-up, common to both scenarios: `mee_runtime::run::run` (the loop `mee run` runs: lease,
//! full update, binlog follower with batches at commit boundaries, `apply_changes`, checkpoint
//! after the acknowledgement) writes documents into the in-process `_bulk`-only sink while its
//! state (lease, generations, checkpoints, retry table) lives in osmem. Each scenario starts a
//! fresh sink and fresh state indexes, so `run` begins with a full update; measuring starts once
//! the alias exists, i.e. once the follower caught up with the binlog head.
//!
//! `--lag`: `--connections` MySQL connections commit single-row transactions on an open-loop
//! schedule (change `i` is due at `start + i / rate`, whether or not earlier ones were late) for
//! `--seconds` at each of `--rates`. The mix: 40% order note updates, 20% item inserts, 20% item
//! title updates, 20% customer renames (the customers of orders outside the fan-out customer,
//! ~2.5 documents each). Every change writes a token unique to this run and change (`~TAG#SEQ~`)
//! into a column the pipeline copies into the document, so the rebuilt document carries it. An
//! [`HttpTap`] between `run` and the sink sees every `_bulk` request and the moment its answer
//! came back; the lag of a change is from the moment its `COMMIT` returned to the driver to the
//! first acknowledged `_bulk` request whose body contains its token. A token can only be in a
//! document read from MySQL after the commit, so the figure never credits a write that does not
//! carry the change. A change whose field a later change overwrote may never be written on its
//! own (the rebuild reads the later value): it counts as reflected by the first acknowledged
//! write carrying the later token, and the figures say how many were.
//!
//! `--fanout`: `--fanout-orders` orders (not deleted) belong to customer 1; one `UPDATE` renames
//! it, and the time runs from that commit until the sink has acknowledged that many more index
//! operations (nothing else changes meanwhile). No tap here: `run` writes to the sink directly,
//! as in the `full_update` bench. Peak RSS is of the fan-out alone (the high-water mark is reset
//! after the catch-up).

use mee::generated::orders::orders as pipeline;
use mee_runtime::bench_support::{
    HttpTap, Measure, TapExchange, current_rss_bytes, other_process_cpu_time, peak_rss_bytes,
    percentile, reset_peak_rss,
};
use mee_runtime::es::{BulkSink, EsClient, SinkConfig};
use mee_runtime::mysql::{Source, SourceConfig};
use mee_runtime::run::{RunOptions, RunReport, Services, run};
use mee_runtime::state::{RetryConfig, RetryTable, StateConfig, StateStore};
use mee_runtime::update::UpdateOptions;
use mee_runtime::value::Value;
use mysql_async::prelude::Queryable;
use std::collections::HashMap;
use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const SHOP: &str = "syncbench_shop";
const CRM: &str = "syncbench_crm";
/// The customer whose orders fan out.
const FANOUT_CUSTOMER: u64 = 1;

#[derive(Debug, Clone)]
struct Args {
    lag: bool,
    fanout: bool,
    orders: usize,
    fanout_orders: usize,
    rates: Vec<u64>,
    seconds: u64,
    connections: usize,
    batch_wait_ms: u64,
    repeat: usize,
    /// The MariaDB server's process id, to report its CPU time during the fan-out.
    server_pid: Option<u32>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        lag: false,
        fanout: false,
        orders: 200_000,
        fanout_orders: 100_000,
        rates: vec![200, 1000, 5000],
        seconds: 30,
        connections: 4,
        batch_wait_ms: RunOptions::default().batch_wait.as_millis() as u64,
        repeat: 3,
        server_pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<String, String> {
            it.next().ok_or(format!("{name} needs a value"))
        };
        let number = |name: &str, v: String| -> Result<u64, String> {
            v.parse().map_err(|_| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--lag" => args.lag = true,
            "--fanout" => args.fanout = true,
            "--orders" => args.orders = number(&arg, value(&arg)?)? as usize,
            "--fanout-orders" => args.fanout_orders = number(&arg, value(&arg)?)? as usize,
            "--seconds" => args.seconds = number(&arg, value(&arg)?)?,
            "--connections" => args.connections = number(&arg, value(&arg)?)?.max(1) as usize,
            "--batch-wait-ms" => args.batch_wait_ms = number(&arg, value(&arg)?)?,
            "--repeat" => args.repeat = number(&arg, value(&arg)?)?.max(1) as usize,
            "--server-pid" => args.server_pid = Some(number(&arg, value(&arg)?)? as u32),
            "--rates" => {
                args.rates = value(&arg)?
                    .split(',')
                    .map(|r| number("--rates", r.trim().to_string()))
                    .collect::<Result<_, _>>()?
            }
            // `cargo bench` passes `--bench` to harness-less benches.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if !args.lag && !args.fanout {
        args.lag = true;
        args.fanout = true;
    }
    Ok(args)
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(bench(args))
}

/// What both scenarios share: the source, the admin URL the driver writes through, osmem for the
/// state, and the data set's ids.
struct Setup {
    source: Source,
    admin_url: String,
    state_es: EsClient,
    /// Orders that are in the index (not deleted).
    order_ids: Arc<Vec<u64>>,
    /// Customers with indexed orders, other than the fan-out customer.
    customer_ids: Arc<Vec<u64>>,
    /// A tag unique to this process, in every token and state index name.
    tag: String,
}

async fn bench(args: Args) -> Result<(), String> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let url = env("MEE_MYSQL_URL", "mysql://mee:mee@127.0.0.1:13306");
    let admin_url = env(
        "MEE_MYSQL_ADMIN_URL",
        "mysql://mee_admin:mee_admin@127.0.0.1:13306",
    );
    let config = SourceConfig::new(url)
        .with_database("shop", SHOP)
        .with_database("crm", CRM);
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    ensure_data(&source, &admin_url, args.orders, args.fanout_orders).await?;
    let order_ids = ids(
        &source,
        &format!("SELECT id FROM {SHOP}.orders WHERE deleted = 0"),
    )
    .await?;
    let customer_ids = ids(
        &source,
        &format!(
            "SELECT DISTINCT customer_id FROM {SHOP}.orders \
             WHERE deleted = 0 AND customer_id <> {FANOUT_CUSTOMER}"
        ),
    )
    .await?;
    let state_es =
        EsClient::new(&env("MEE_ES_URL", "http://127.0.0.1:19200")).map_err(|e| e.to_string())?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let setup = Setup {
        source,
        admin_url,
        state_es,
        order_ids: Arc::new(order_ids),
        customer_ids: Arc::new(customer_ids),
        tag: format!("{:x}{:05x}", std::process::id() % 4096, nanos % 0x10_0000),
    };
    println!(
        "data: {} orders ({} indexed), {} fan-out orders of customer {FANOUT_CUSTOMER}, {} other customers with orders; tag {}",
        args.orders,
        setup.order_ids.len(),
        args.fanout_orders,
        setup.customer_ids.len(),
        setup.tag
    );
    if args.lag {
        lag(&setup, &args).await?;
    }
    if args.fanout {
        fanout(&setup, &args).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The follower under test

/// A sink (optionally behind a tap), fresh state indexes in osmem, and `run`'s options.
struct Follower {
    sink: BulkSink,
    tap: Option<HttpTap>,
    /// The client `run` writes documents with (to the tap when there is one).
    es: EsClient,
    /// Straight to the sink, for the bench's own questions (the alias).
    sink_es: EsClient,
    state: StateStore,
    retry: RetryTable,
    state_indexes: [String; 2],
    options: RunOptions,
}

fn follower(
    setup: &Setup,
    args: &Args,
    scenario: &str,
    observer: Option<mee_runtime::bench_support::TapObserver>,
) -> Result<Follower, String> {
    let sink = BulkSink::start_on_thread(SinkConfig::default()).map_err(|e| e.to_string())?;
    let sink_es = EsClient::new(sink.url()).map_err(|e| e.to_string())?;
    let tap = match observer {
        Some(o) => Some(HttpTap::start_on_thread(sink.addr(), o).map_err(|e| e.to_string())?),
        None => None,
    };
    let es = match &tap {
        Some(t) => EsClient::new(t.url()).map_err(|e| e.to_string())?,
        None => sink_es.clone(),
    };
    let state_indexes = [
        format!("syncbench-{}-{scenario}-state", setup.tag),
        format!("syncbench-{}-{scenario}-retry", setup.tag),
    ];
    let state = StateStore::new(
        setup.state_es.clone(),
        StateConfig {
            index: state_indexes[0].clone(),
            ..StateConfig::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let retry = RetryTable::new(
        setup.state_es.clone(),
        RetryConfig {
            index: state_indexes[1].clone(),
            ..RetryConfig::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let options = RunOptions {
        update: UpdateOptions::default(),
        batch_wait: Duration::from_millis(args.batch_wait_ms),
        // Clear of the test suite's ids (3_000_000 + pid) and `mee run`'s default.
        server_id: 8_100_000 + std::process::id() % 100_000,
        ..RunOptions::default()
    };
    Ok(Follower {
        sink,
        tap,
        es,
        sink_es,
        state,
        retry,
        state_indexes,
        options,
    })
}

/// Runs `run` until `drive` (given the follower once it caught up) returns; then stops it.
async fn with_follower<'f, T, Fut>(
    setup: &'f Setup,
    f: &'f Follower,
    drive: impl FnOnce(&'f Follower) -> Fut,
) -> Result<(T, RunReport), String>
where
    Fut: Future<Output = Result<T, String>> + 'f,
{
    let services = Services {
        source: &setup.source,
        es: &f.es,
        state: &f.state,
        retry: &f.retry,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let following = run(&pipeline::Index, &services, &f.options, stop_rx);
    tokio::pin!(following);
    let driven = tokio::select! {
        r = &mut following => {
            return Err(match r {
                Ok(report) => format!("the follower stopped by itself: {report:?}"),
                Err(e) => format!("the follower failed: {e}"),
            });
        }
        d = async {
            let (alias, _) = f.options.update.target(&pipeline::Index);
            let (alias, sink_es) = (&alias, &f.sink_es);
            wait_for("the follower to catch up (alias moved)", Duration::from_secs(600), move || async move {
                Ok(sink_es.alias_targets(alias).await.is_ok_and(|t| !t.is_empty()))
            })
            .await?;
            println!(
                "  follower: full update of {} docs and catch-up in {:.1}s",
                f.sink.stats().index_ops,
                started.elapsed().as_secs_f64()
            );
            drive(f).await
        } => d,
    };
    let _ = stop_tx.send(true);
    let report = following.await.map_err(|e| e.to_string())?;
    for index in &f.state_indexes {
        let _ = setup.state_es.delete_index(index).await;
    }
    Ok((driven?, report))
}

/// Polls `check` every 2 ms until it holds; an error after `limit`.
async fn wait_for<Fut>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Fut,
) -> Result<(), String>
where
    Fut: Future<Output = Result<bool, String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("gave up waiting for {what} after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Lag at a steady change rate

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    OrderNote,
    ItemInsert,
    ItemTitle,
    CustomerRename,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::OrderNote,
        Kind::ItemInsert,
        Kind::ItemTitle,
        Kind::CustomerRename,
    ];

    /// 40/20/20/20 by a hash of the sequence number.
    fn of(draw: u64) -> Kind {
        match draw % 10 {
            0..=3 => Kind::OrderNote,
            4 | 5 => Kind::ItemInsert,
            6 | 7 => Kind::ItemTitle,
            _ => Kind::CustomerRename,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::OrderNote => "order note",
            Kind::ItemInsert => "item insert",
            Kind::ItemTitle => "item title",
            Kind::CustomerRename => "customer rename",
        }
    }
}

/// SplitMix64: a fixed, well-spread pseudo-random draw per change, so runs are repeatable.
fn draw(seq: u64, salt: u64) -> u64 {
    let mut z = seq
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn token(tag: &str, seq: u64) -> String {
    format!("~{tag}#{seq}~")
}

/// When the first acknowledged `_bulk` request carrying each token came back.
#[derive(Default)]
struct Acks {
    first: Mutex<HashMap<u64, Instant>>,
}

impl Acks {
    /// Records every token `~TAG#SEQ~` in an acknowledged bulk body.
    fn observe(&self, prefix: &[u8], x: &TapExchange<'_>) {
        if !(200..300).contains(&x.status) || !x.target.contains("_bulk") {
            return;
        }
        let body = x.request_body;
        let mut found: Vec<u64> = Vec::new();
        let mut at = 0;
        while let Some(p) = body[at..].iter().position(|&b| b == b'~') {
            let start = at + p;
            at = start + 1;
            if !body[start..].starts_with(prefix) {
                continue;
            }
            let digits = &body[start + prefix.len()..];
            let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
            if let Some(seq) = std::str::from_utf8(&digits[..n])
                .ok()
                .and_then(|d| d.parse().ok())
            {
                found.push(seq);
            }
        }
        if found.is_empty() {
            return;
        }
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        for seq in found {
            first.entry(seq).or_insert(x.answered_at);
        }
    }
}

/// One committed change.
struct Sent {
    seq: u64,
    kind: Kind,
    /// The field of the row it overwrote (kind and row id); `None` for an insert. A later change
    /// of the same field supersedes this one: a document rebuilt after both carries only the
    /// later token, and that document reflects this change too.
    field: Option<(Kind, u64)>,
    committed: Instant,
}

/// For every change, the moment the first acknowledged write reflected it: a document carrying
/// its token or the token of a later change of the same field. `None` when none did.
fn reflected_at(sent: &[Sent], first: &HashMap<u64, Instant>) -> Vec<Option<Instant>> {
    let mut by_field: HashMap<(Kind, u64), Vec<usize>> = HashMap::new();
    let mut out: Vec<Option<Instant>> = sent.iter().map(|s| first.get(&s.seq).copied()).collect();
    for (i, s) in sent.iter().enumerate() {
        if let Some(field) = s.field {
            by_field.entry(field).or_default().push(i);
        }
    }
    for mut changes in by_field.into_values() {
        changes.sort_by_key(|&i| sent[i].committed);
        let mut earliest_later: Option<Instant> = None;
        for &i in changes.iter().rev() {
            earliest_later = match (out[i], earliest_later) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out[i] = earliest_later;
        }
    }
    out
}

/// The tokens that must be acknowledged for every change to be reflected: each insert's, and
/// the last change's of every overwritten field.
fn tokens_to_wait_for(sent: &[Sent]) -> Vec<u64> {
    let mut last: HashMap<(Kind, u64), &Sent> = HashMap::new();
    let mut wanted = Vec::new();
    for s in sent {
        match s.field {
            None => wanted.push(s.seq),
            Some(field) => {
                let e = last.entry(field).or_insert(s);
                if s.committed > e.committed {
                    *e = s;
                }
            }
        }
    }
    wanted.extend(last.values().map(|s| s.seq));
    wanted
}

/// The schedule the driver's connections share.
struct Schedule {
    start: Instant,
    rate: f64,
    first_seq: u64,
    total: u64,
    next: AtomicU64,
}

async fn lag(setup: &Setup, args: &Args) -> Result<(), String> {
    println!(
        "\nlag: rates {:?}/s for {}s each, {} connections, run batch_rows {} batch_wait {} ms",
        args.rates,
        args.seconds,
        args.connections,
        RunOptions::default().batch_rows,
        args.batch_wait_ms
    );
    let acks = Arc::new(Acks::default());
    let prefix = format!("~{}#", setup.tag).into_bytes();
    let observer = {
        let acks = acks.clone();
        Arc::new(move |x: &TapExchange<'_>| acks.observe(&prefix, x))
    };
    let f = follower(setup, args, "lag", Some(observer))?;
    let (_, report) = with_follower(setup, &f, |f| async move {
        let mut next_seq = 0u64;
        for &rate in &args.rates {
            // Let the follower go idle between rates, so that each starts from the same state.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let total = rate * args.seconds;
            lag_at_rate(setup, args, f, &acks, rate, next_seq, total).await?;
            next_seq += total;
        }
        Ok(())
    })
    .await?;
    println!(
        "  run report: {} batches, {} rebuilt, {} deleted",
        report.batches, report.rebuilt, report.deleted
    );
    Ok(())
}

async fn lag_at_rate(
    setup: &Setup,
    args: &Args,
    f: &Follower,
    acks: &Acks,
    rate: u64,
    first_seq: u64,
    total: u64,
) -> Result<(), String> {
    let mut conns = Vec::new();
    for _ in 0..args.connections {
        conns.push(
            mysql_async::Conn::from_url(setup.admin_url.as_str())
                .await
                .map_err(|e| format!("driver connection: {e}"))?,
        );
    }
    let sink_before = f.sink.stats();
    let cpu_before = cpu_outside_sink_and_tap(f);
    let measure = Measure::start();
    let schedule = Arc::new(Schedule {
        start: Instant::now() + Duration::from_millis(50),
        rate: rate as f64,
        first_seq,
        total,
        next: AtomicU64::new(0),
    });
    let mut workers = tokio::task::JoinSet::new();
    for conn in conns {
        workers.spawn(drive_changes(
            conn,
            schedule.clone(),
            setup.order_ids.clone(),
            setup.customer_ids.clone(),
            setup.tag.clone(),
        ));
    }
    let mut sent: Vec<Sent> = Vec::with_capacity(total as usize);
    while let Some(done) = workers.join_next().await {
        sent.extend(done.map_err(|e| e.to_string())??);
    }
    let last_commit = sent
        .iter()
        .map(|s| s.committed)
        .max()
        .unwrap_or(schedule.start);
    let driving = last_commit.saturating_duration_since(schedule.start);
    // Everything committed: wait for the acknowledgements (a backlog drains here).
    let pending = Mutex::new(tokens_to_wait_for(&sent));
    let drained = wait_for(
        "the acknowledgement of every change",
        Duration::from_secs(60),
        || {
            let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
            let first = acks.first.lock().unwrap_or_else(|p| p.into_inner());
            pending.retain(|seq| !first.contains_key(seq));
            let done = pending.is_empty();
            async move { Ok(done) }
        },
    )
    .await;
    let drain = last_commit.elapsed();
    let measured = measure.finish();
    let cpu = cpu_outside_sink_and_tap(f).saturating_sub(cpu_before);
    let sink = f.sink.stats();

    let first = acks.first.lock().unwrap_or_else(|p| p.into_inner());
    let reflected = reflected_at(&sent, &first);
    let mut lags: Vec<(Instant, Kind, Duration)> = Vec::with_capacity(sent.len());
    let (mut missing, mut early, mut superseded) = (0usize, 0usize, 0usize);
    for (s, at) in sent.iter().zip(&reflected) {
        match at {
            &Some(acked) => {
                if acked < s.committed {
                    early += 1;
                }
                if !first.contains_key(&s.seq) {
                    superseded += 1;
                }
                lags.push((
                    s.committed,
                    s.kind,
                    acked.saturating_duration_since(s.committed),
                ));
            }
            None => missing += 1,
        }
    }
    drop(first);
    lags.sort_by_key(|l| l.0);
    let mut all: Vec<Duration> = lags.iter().map(|l| l.2).collect();
    all.sort();
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    let achieved = sent.len() as f64 / driving.as_secs_f64().max(1e-9);
    println!(
        "  target {rate}/s: {} changes committed in {:.2}s = {:.0}/s achieved",
        sent.len(),
        driving.as_secs_f64(),
        achieved
    );
    println!(
        "    commit -> _bulk ack (ms): p50 {} p90 {} p99 {} max {} ({} reflected, {superseded} of them by a later change of the same field, {missing} never, {early} before their COMMIT returned)",
        ms(percentile(&all, 50.0)),
        ms(percentile(&all, 90.0)),
        ms(percentile(&all, 99.0)),
        ms(percentile(&all, 100.0)),
        all.len()
    );
    for kind in Kind::ALL {
        let mut of_kind: Vec<Duration> = lags.iter().filter(|l| l.1 == kind).map(|l| l.2).collect();
        of_kind.sort();
        println!(
            "    {:<16} n {:>6}  p50 {:>7}  p99 {:>7}",
            kind.name(),
            of_kind.len(),
            ms(percentile(&of_kind, 50.0)),
            ms(percentile(&of_kind, 99.0))
        );
    }
    // Whether a backlog built up: the lag of the run's last quarter against its first.
    let quarter = |q: usize| {
        let n = lags.len();
        let mut part: Vec<Duration> = lags[n * q / 4..n * (q + 1) / 4]
            .iter()
            .map(|l| l.2)
            .collect();
        part.sort();
        (percentile(&part, 50.0), percentile(&part, 99.0))
    };
    let quarters: Vec<(Duration, Duration)> = (0..4).map(quarter).collect();
    println!(
        "    p50/p99 by quarter of the run (ms): {}",
        quarters
            .iter()
            .map(|(a, b)| format!("{}/{}", ms(*a), ms(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let batch_wait = Duration::from_millis(args.batch_wait_ms);
    let kept_up = drained.is_ok()
        && missing == 0
        && achieved >= 0.95 * rate as f64
        && quarters[3].1 <= quarters[0].1 * 2 + batch_wait;
    println!(
        "    kept up: {} (every change acknowledged {} after the last commit; driver at {:.0}% of the target rate; last-quarter p99 {} the first's x2 + batch_wait)",
        if kept_up { "yes" } else { "NO" },
        if drained.is_ok() {
            format!("{:.2}s", drain.as_secs_f64())
        } else {
            "NOT within 60s".into()
        },
        achieved / rate as f64 * 100.0,
        if quarters[3].1 <= quarters[0].1 * 2 + batch_wait {
            "within"
        } else {
            "ABOVE"
        }
    );
    println!(
        "    sink: {} bulk requests, {} index ops ({:.2} per change); process CPU outside the sink and tap {:.2}s over {:.1}s wall ({:.3} ms per change, the driver's MySQL client included)",
        sink.bulk_requests - sink_before.bulk_requests,
        sink.index_ops - sink_before.index_ops,
        (sink.index_ops - sink_before.index_ops) as f64 / sent.len().max(1) as f64,
        cpu.as_secs_f64(),
        measured.wall.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / sent.len().max(1) as f64
    );
    Ok(())
}

/// Process CPU minus the sink's and the tap's threads.
fn cpu_outside_sink_and_tap(f: &Follower) -> Duration {
    let process = mee_runtime::bench_support::process_cpu_time().unwrap_or_default();
    let sink = f.sink.cpu_time().unwrap_or_default();
    let tap = f
        .tap
        .as_ref()
        .and_then(HttpTap::cpu_time)
        .unwrap_or_default();
    process.saturating_sub(sink + tap)
}

/// One driver connection: takes the next due change, waits for its time, commits it.
async fn drive_changes(
    mut conn: mysql_async::Conn,
    schedule: Arc<Schedule>,
    orders: Arc<Vec<u64>>,
    customers: Arc<Vec<u64>>,
    tag: String,
) -> Result<Vec<Sent>, String> {
    let note = format!("UPDATE {SHOP}.orders SET note = ? WHERE id = ?");
    let insert = format!(
        "INSERT INTO {SHOP}.order_items (order_id, sku, title, quantity, unit_price) \
         VALUES (?, 'SKU-LAG', ?, 1, 9.99)"
    );
    let title =
        format!("UPDATE {SHOP}.order_items SET title = ? WHERE order_id = ? ORDER BY id LIMIT 1");
    let rename = format!("UPDATE {CRM}.customers SET name = ? WHERE id = ?");
    let pick = |list: &[u64], seq: u64| list[(draw(seq, 2) % list.len() as u64) as usize];
    let mut sent = Vec::new();
    loop {
        let i = schedule.next.fetch_add(1, Ordering::Relaxed);
        if i >= schedule.total {
            break;
        }
        let seq = schedule.first_seq + i;
        let due = schedule.start + Duration::from_secs_f64(i as f64 / schedule.rate);
        tokio::time::sleep_until(due.into()).await;
        let kind = Kind::of(draw(seq, 1));
        let text = token(&tag, seq);
        let row = match kind {
            Kind::CustomerRename => pick(&customers, seq),
            _ => pick(&orders, seq),
        };
        let done = match kind {
            Kind::OrderNote => conn.exec_drop(&note, (text, row)).await,
            Kind::ItemInsert => conn.exec_drop(&insert, (row, text)).await,
            Kind::ItemTitle => conn.exec_drop(&title, (text, row)).await,
            Kind::CustomerRename => conn.exec_drop(&rename, (text, row)).await,
        };
        // The title update always hits the order's first item: the same field for one order.
        let field = (kind != Kind::ItemInsert).then_some((kind, row));
        done.map_err(|e| format!("driver: {} failed: {e}", kind.name()))?;
        sent.push(Sent {
            seq,
            kind,
            field,
            committed: Instant::now(),
        });
    }
    let _ = conn.disconnect().await;
    Ok(sent)
}

// ---------------------------------------------------------------------------------------------
// Fan-out of one joined row

async fn fanout(setup: &Setup, args: &Args) -> Result<(), String> {
    let expected = count(
        &setup.source,
        &format!(
            "SELECT COUNT(*) FROM {SHOP}.orders WHERE customer_id = {FANOUT_CUSTOMER} AND deleted = 0"
        ),
    )
    .await?;
    println!(
        "\nfan-out: rename customer {FANOUT_CUSTOMER} ({expected} documents), {} times, run batch_wait {} ms, page/IN-list size {}",
        args.repeat,
        args.batch_wait_ms,
        setup.source.config().max_keys_per_query
    );
    let f = follower(setup, args, "fanout", None)?;
    let (_, report) = with_follower(setup, &f, |f| async move {
        let mut admin = mysql_async::Conn::from_url(setup.admin_url.as_str())
            .await
            .map_err(|e| format!("admin connection: {e}"))?;
        for round in 0..args.repeat {
            // Let the follower go idle so that only the rename is in flight.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let rss_before = current_rss_bytes().unwrap_or(0);
            let peak_reset = reset_peak_rss();
            let before = f.sink.stats().index_ops;
            let cpu_before = cpu_outside_sink_and_tap(f);
            let server_cpu = |pid: Option<u32>| pid.and_then(other_process_cpu_time);
            let server_before = server_cpu(args.server_pid);
            let name = format!("Fan-out {} round {round}", setup.tag);
            admin
                .exec_drop(
                    format!("UPDATE {CRM}.customers SET name = ? WHERE id = ?"),
                    (name, FANOUT_CUSTOMER),
                )
                .await
                .map_err(|e| format!("rename: {e}"))?;
            let committed = Instant::now();
            let mut first: Option<Duration> = None;
            wait_for(
                "every fanned-out document",
                Duration::from_secs(600),
                || {
                    let done = f.sink.stats().index_ops - before;
                    if done > 0 && first.is_none() {
                        first = Some(committed.elapsed());
                    }
                    async move { Ok(done >= expected) }
                },
            )
            .await?;
            let took = committed.elapsed();
            let cpu = cpu_outside_sink_and_tap(f).saturating_sub(cpu_before);
            let server = match (server_before, server_cpu(args.server_pid)) {
                (Some(a), Some(b)) => format!("; MariaDB CPU {:.2}s", (b - a).as_secs_f64()),
                _ => String::new(),
            };
            println!(
                "  round {round}: {expected} docs acknowledged {:.2}s after the COMMIT = {:.0} docs/s; first doc after {:.0} ms; mee CPU {:.2}s = {:.2}s per 100k docs{server}; RSS before {:.1} MiB, peak {}",
                took.as_secs_f64(),
                expected as f64 / took.as_secs_f64(),
                first.unwrap_or_default().as_secs_f64() * 1000.0,
                cpu.as_secs_f64(),
                cpu.as_secs_f64() / expected as f64 * 100_000.0,
                rss_before as f64 / 1048576.0,
                if peak_reset {
                    format!("{:.1} MiB", peak_rss_bytes().unwrap_or(0) as f64 / 1048576.0)
                } else {
                    "unknown (the peak could not be reset)".into()
                }
            );
        }
        let _ = admin.disconnect().await;
        Ok(())
    })
    .await?;
    println!(
        "  run report: {} batches, {} rebuilt",
        report.batches, report.rebuilt
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Data

async fn count(source: &Source, sql: &str) -> Result<u64, String> {
    Ok(ids(source, sql).await?.first().copied().unwrap_or(0))
}

/// The first column of every row, as integers.
async fn ids(source: &Source, sql: &str) -> Result<Vec<u64>, String> {
    let mut session = source.session().await.map_err(|e| e.to_string())?;
    let rows = session.fetch(sql, &[]).await.map_err(|e| e.to_string())?;
    Ok(rows
        .iter()
        .filter_map(|r| match r.first() {
            Some(Value::Int(i)) => u64::try_from(*i).ok(),
            Some(Value::UInt(u)) => Some(*u),
            _ => None,
        })
        .collect())
}

/// How many orders there are, and how many indexed ones the fan-out customer has.
async fn shape(source: &Source) -> (Option<u64>, Option<u64>) {
    let total = count(source, &format!("SELECT COUNT(*) FROM {SHOP}.orders")).await;
    let fanned = count(
        source,
        &format!(
            "SELECT COUNT(*) FROM {SHOP}.orders WHERE customer_id = {FANOUT_CUSTOMER} AND deleted = 0"
        ),
    )
    .await;
    (total.ok(), fanned.ok())
}

/// Loads the sample and gives customer 1 the first `fanout` indexed orders, unless the data set
/// already has that shape. Kept out of the binlog, as the loader does: `run` starts with a full
/// update from a snapshot anyway.
async fn ensure_data(
    source: &Source,
    admin_url: &str,
    orders: usize,
    fanout: usize,
) -> Result<(), String> {
    if shape(source).await == (Some(orders as u64), Some(fanout as u64)) {
        return Ok(());
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let status = Command::new(format!("{root}/scripts/load-sample.sh"))
        .args(["--orders", &orders.to_string(), "--prefix", "syncbench"])
        .status()
        .map_err(|e| format!("cannot run load-sample.sh: {e}"))?;
    if !status.success() {
        return Err("load-sample.sh failed".into());
    }
    let mut admin = mysql_async::Conn::from_url(admin_url)
        .await
        .map_err(|e| format!("admin connection: {e}"))?;
    admin
        .query_drop(format!(
            "SET SESSION sql_log_bin = 0;
             UPDATE {SHOP}.orders SET customer_id = {FANOUT_CUSTOMER} + 1 WHERE customer_id = {FANOUT_CUSTOMER};
             UPDATE {SHOP}.orders SET customer_id = {FANOUT_CUSTOMER} WHERE deleted = 0 ORDER BY id LIMIT {fanout};"
        ))
        .await
        .map_err(|e| format!("preparing the fan-out customer: {e}"))?;
    let _ = admin.disconnect().await;
    match shape(source).await {
        (Some(o), Some(f)) if o == orders as u64 && f == fanout as u64 => Ok(()),
        other => Err(format!(
            "the data set has {other:?} (orders, fan-out orders), not ({orders}, {fanout}): \
             are there enough orders that are not deleted?"
        )),
    }
}
