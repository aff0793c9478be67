//! The `mee` binary under a seeded random workload, on real MariaDB and osmem: `mee run orders`
//! follows a few hundred orders while inserts, updates and deletes hit the master table (soft
//! deletes, key and join-key changes), the nested items (moves between orders) and the joined
//! customers (renames fanning out, deletes); afterwards `mee verify` and the test's own comparison
//! must find the index equal to a fresh full update:
//! - (a) with one uninterrupted `mee run`;
//! - (b) with `mee run` killed (SIGKILL) during its first full update, mid-stream, right after a
//!   burst and while starting, and restarted each time (restarts must resume the generation
//!   they find, not build a new one);
//! - (c) with the binlog rotated (`FLUSH BINARY LOGS`) between and inside bursts.
//!
//! And `mee verify` itself: it must find a document deleted, altered or added behind mee's back.
//!
//! The workload is reproducible: the seed is printed, and `MEE_SEED=<seed>` replays it.
#![cfg(feature = "pipeline-orders")]

mod common;

use common::Env;
use mee::generated::orders::orders as ord;
use mee_runtime::binlog::BinlogPosition;
use mee_runtime::es::client::Method;
use mee_runtime::pipeline::IndexPipeline;
use mee_runtime::state::{PipelineKey, PipelineState};
use mee_testkit::{TestMysql, TestResult, eventually, fail};
use mysql_async::prelude::Queryable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// Orders and customers loaded before `mee run` starts.
const ORDERS: u64 = 300;
const CUSTOMERS: u64 = 60;
/// Operations of the random workload, in bursts.
const OPERATIONS: usize = 300;
/// How long the sync may take to catch up, or a process to stop (generous: the machine is shared).
const DEADLINE: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_workload_ends_equal_to_a_fresh_full_update() -> TestResult {
    let mut t = Fixture::new("a").await?;
    let bursts = workload(&mut t.rng, OPERATIONS);
    let mut follower = t.spawn_run()?;
    for burst in &bursts {
        t.execute(burst).await?;
    }
    t.wait_caught_up().await?;
    t.assert_verify_equal()?;
    t.assert_equal_to_fresh_update().await?;
    // A stop request ends the process cleanly, with its summary.
    let (status, log) = follower.terminate().await?;
    assert!(status.success(), "mee run exited with {status}: {log}");
    assert!(log.contains("stopped after"), "no summary in: {log}");
    t.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_runs_end_equal() -> TestResult {
    let mut t = Fixture::new("b").await?;
    let bursts = workload(&mut t.rng, OPERATIONS);
    // The generation each kill left behind finished (active, or waiting for its alias): every
    // later start must resume it rather than build another.
    let mut finished_at_kill: Vec<String> = Vec::new();

    // 1. During the first full update: as soon as it has claimed a generation.
    let mut follower = t.spawn_run()?;
    t.wait_for_state("a generation being built", |s| {
        s.building.is_some() || s.active.is_some()
    })
    .await?;
    follower.kill()?;
    let at_kill = t.state().await?;
    eprintln!(
        "kill 1 (first full update): building {:?}, active {:?}",
        at_kill
            .as_ref()
            .and_then(|s| s.building.as_ref().map(|g| &g.index)),
        at_kill
            .as_ref()
            .and_then(|s| s.active.as_ref().map(|g| &g.index)),
    );
    finished_at_kill.extend(at_kill.as_ref().and_then(finished_generation));

    // 2. Mid-stream, at a random statement of the first bursts; 3. right after a burst.
    let mid_burst = t.rng.random_range(0..bursts.len() / 2);
    let mid_txn = t.rng.random_range(0..bursts[mid_burst].len());
    let after_burst = t.rng.random_range(bursts.len() / 2..bursts.len() - 1);
    // 4. While a restarted process starts, at a random moment of its first second.
    let startup_kill_after = Duration::from_millis(t.rng.random_range(0..1000));
    follower = t.spawn_run()?;
    for (b, burst) in bursts.iter().enumerate() {
        if b == after_burst {
            // So that kills 3 and 4 hit a process that has a finished generation to resume.
            t.wait_for_state("a finished generation", |s| {
                finished_generation(s).is_some()
            })
            .await?;
        }
        for (n, txn) in burst.iter().enumerate() {
            t.execute_txn(txn).await?;
            if b == mid_burst && n == mid_txn {
                let moment = format!("kill 2 (mid-stream, burst {b}, transaction {n})");
                finished_at_kill.extend(t.kill_and_restart(&mut follower, &moment).await?);
            }
        }
        if b == after_burst {
            let moment = format!("kill 3 (right after burst {b})");
            finished_at_kill.extend(t.kill_and_restart(&mut follower, &moment).await?);
            // Not a synchronisation: the kill moment itself is what is randomised.
            tokio::time::sleep(startup_kill_after).await;
            let moment = format!("kill 4 ({startup_kill_after:?} after a start)");
            finished_at_kill.extend(t.kill_and_restart(&mut follower, &moment).await?);
        }
    }
    t.wait_caught_up().await?;
    t.assert_verify_equal()?;
    t.assert_equal_to_fresh_update().await?;

    // Resumed, not rebuilt: once a generation had finished, it is the one serving at the end,
    // and no other generation exists.
    assert!(
        finished_at_kill.len() >= 2,
        "kills 3 and 4 found a finished generation: {finished_at_kill:?}"
    );
    let state = t.state().await?.ok_or("the pipeline has no state")?;
    let active = state
        .active
        .as_ref()
        .ok_or("no active generation")?
        .index
        .clone();
    assert!(
        finished_at_kill.iter().all(|g| *g == active),
        "a restart built a new generation: finished at the kills {finished_at_kill:?}, active now {active}"
    );
    let generations: Vec<String> = t
        .env
        .es
        .list_indices(&format!("{}_*", t.env.alias))
        .await
        .map_err(fail)?
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(generations, vec![active], "generations of the alias");
    follower.kill()?;
    t.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binlog_rotation_mid_stream_ends_equal() -> TestResult {
    let mut t = Fixture::new("c").await?;
    let bursts = workload(&mut t.rng, OPERATIONS);
    let start = t.binlog_head().await?;
    let mut follower = t.spawn_run()?;
    let mut rotations = 0;
    for burst in &bursts {
        // Between bursts, and inside one at a random transaction boundary.
        let inside = t.rng.random_range(0..burst.len());
        t.flush_binary_logs().await?;
        rotations += 1;
        for (n, txn) in burst.iter().enumerate() {
            if n == inside && t.rng.random_bool(0.5) {
                t.flush_binary_logs().await?;
                rotations += 1;
            }
            t.execute_txn(txn).await?;
        }
    }
    let head = t.binlog_head().await?;
    assert!(
        head.file_seq() >= start.file_seq() + rotations,
        "{rotations} rotations from {start} reached only {head}"
    );
    let checkpoint = t.wait_caught_up().await?;
    // Other tests may rotate the binlog too, so the checkpoint may be in a later file still.
    assert!(
        checkpoint.file_seq() >= head.file_seq(),
        "the sync followed the rotations into {}, but its checkpoint is {checkpoint}",
        head.file
    );
    t.assert_verify_equal()?;
    t.assert_equal_to_fresh_update().await?;
    follower.kill()?;
    t.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_documents_changed_behind_its_back() -> TestResult {
    let t = Fixture::new("d").await?;
    let (es, alias) = (&t.env.es, &t.env.alias);
    // Nothing built yet: nothing to compare, which is trouble (2), not a difference.
    let before = t.mee(&["verify", "orders"]).output()?;
    assert_eq!(before.status.code(), Some(2), "{}", text(&before));
    assert!(
        String::from_utf8_lossy(&before.stderr).contains("does not exist"),
        "{}",
        text(&before)
    );

    let update = t.mee(&["update", "orders"]).output()?;
    assert!(update.status.success(), "{}", text(&update));
    t.assert_verify_equal()?;

    // Behind mee's back: one document deleted, one altered (a joined field and a nested one),
    // one added.
    let index = es
        .alias_targets(alias)
        .await
        .map_err(fail)?
        .pop()
        .ok_or("the alias points nowhere")?;
    es.request_json(Method::Delete, &format!("/{index}/_doc/5"), &[], None)
        .await
        .map_err(fail)?;
    let mut altered = es
        .get_doc(&index, "7", None)
        .await
        .map_err(fail)?
        .ok_or("order 7 is not in the index")?
        .source;
    altered["customer_name"] = "tampered".into();
    altered["items"][1]["quantity"] = 999.into();
    es.request_json(
        Method::Put,
        &format!("/{index}/_doc/7"),
        &[],
        Some(&altered),
    )
    .await
    .map_err(fail)?;
    es.request_json(
        Method::Put,
        &format!("/{index}/_doc/999999"),
        &[],
        Some(&serde_json::json!({"order_id": 999999, "order_no": "FORGED"})),
    )
    .await
    .map_err(fail)?;

    let out = t
        .mee(&[
            "verify",
            "orders",
            "--recheck-ms",
            "100",
            "--page-size",
            "50",
        ])
        .output()?;
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(field(&report, "missing:"), "1 (ids 5)", "{report}");
    assert_eq!(field(&report, "extra:"), "1 (ids 999999)", "{report}");
    assert_eq!(field(&report, "different:"), "1 (ids 7)", "{report}");
    let diff = field(&report, "id 7:");
    assert!(
        diff.contains("customer_name: MySQL builds") && diff.contains("the index has \"tampered\""),
        "{report}"
    );
    assert!(
        diff.contains("items[1].quantity: MySQL builds") && diff.contains("the index has 999"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{}: different (1 missing, 1 extra, 1 different)",
            alias
        )),
        "{report}"
    );
    t.finish().await
}

/// One test's databases, index namespace, seeded generator and the commands pointed at them.
struct Fixture {
    /// Its retry table stays unused: the test reads the state `mee run` writes, no retries.
    env: Env,
    rng: StdRng,
    /// The replica id of this test's `mee run` (restarts reuse it, as a restarted service would).
    server_id: u32,
    logs: PathBuf,
    spawned: usize,
}

impl Fixture {
    async fn new(name: &str) -> TestResult<Fixture> {
        let seed = std::env::var("MEE_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(rand::random);
        eprintln!("workload seed {seed} (replay with MEE_SEED={seed})");
        let mut mysql = common::databases(&["shop", "crm"]).await?;
        load_sample(&mut mysql).await?;
        let env = Env::new(mysql, ord::Index.alias()).await?;
        let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("run_workload");
        std::fs::create_dir_all(&logs)?;
        Ok(Fixture {
            // Each test draws its own sequence from the one printed seed.
            rng: StdRng::seed_from_u64(seed ^ u64::from(name.as_bytes()[0])),
            server_id: rand::random_range(10_000_000..900_000_000),
            logs: logs.join(env.test_es.prefix()),
            env,
            spawned: 0,
        })
    }

    /// `mee <args>` with the connection flags of this test.
    fn mee(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mee"));
        cmd.args(args)
            .arg("--mysql")
            .arg(self.env.mysql.mee_url())
            .arg("--es")
            .arg(self.env.test_es.url())
            .arg("--alias-prefix")
            .arg(format!("{}_", self.env.test_es.prefix()))
            .arg("--state-index")
            .arg(self.env.test_es.name(common::STATE_INDEX))
            .arg("--retry-index")
            .arg(self.env.test_es.name(common::RETRY_INDEX));
        for (logical, physical) in self.env.mysql.database_map() {
            cmd.arg("--database").arg(format!("{logical}={physical}"));
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Starts `mee run orders` in the background; its output goes to a log file.
    fn spawn_run(&mut self) -> TestResult<Follower> {
        self.spawned += 1;
        let log = PathBuf::from(format!("{}-run{}.log", self.logs.display(), self.spawned));
        let file = std::fs::File::create(&log)?;
        let child = self
            .mee(&["run", "orders"])
            .args([
                "--server-id",
                &self.server_id.to_string(),
                "--batch-ms",
                "100",
            ])
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()?;
        Ok(Follower { child, log })
    }

    /// Kills `follower` (SIGKILL) and starts another in its place; returns the generation the
    /// killed one left finished, if any, which is printed after `moment`.
    async fn kill_and_restart(
        &mut self,
        follower: &mut Follower,
        moment: &str,
    ) -> TestResult<Option<String>> {
        follower.kill()?;
        let finished = self.state().await?.as_ref().and_then(finished_generation);
        eprintln!("{moment}: finished generation {finished:?}");
        *follower = self.spawn_run()?;
        Ok(finished)
    }

    async fn execute(&mut self, burst: &[Vec<String>]) -> TestResult {
        for txn in burst {
            self.execute_txn(txn).await?;
        }
        Ok(())
    }

    /// Runs one transaction of the workload (several statements are wrapped in one).
    async fn execute_txn(&mut self, txn: &[String]) -> TestResult {
        let (shop, crm) = (
            self.env.mysql.db("shop").to_string(),
            self.env.mysql.db("crm").to_string(),
        );
        let body: Vec<String> = txn
            .iter()
            .map(|s| s.replace("{shop}", &shop).replace("{crm}", &crm))
            .collect();
        let sql = if body.len() > 1 {
            format!("START TRANSACTION; {}; COMMIT", body.join("; "))
        } else {
            body.join("")
        };
        self.env.mysql.exec(&sql).await
    }

    async fn flush_binary_logs(&mut self) -> TestResult {
        self.env.mysql.exec("FLUSH BINARY LOGS").await
    }

    async fn binlog_head(&mut self) -> TestResult<BinlogPosition> {
        let row: mysql_async::Row = self
            .env
            .mysql
            .admin()
            .query_first("SHOW MASTER STATUS")
            .await?
            .ok_or("SHOW MASTER STATUS gave nothing: is the binlog on?")?;
        let file: String = row.get(0).ok_or("no binlog file")?;
        let pos: u64 = row.get(1).ok_or("no binlog position")?;
        Ok(BinlogPosition::new(file, pos))
    }

    async fn state(&self) -> TestResult<Option<PipelineState>> {
        let key = PipelineKey::new(ord::Index.pipeline(), self.env.alias.clone());
        Ok(self
            .env
            .state
            .get_pipeline(&key)
            .await
            .map_err(fail)?
            .map(|v| v.doc))
    }

    async fn wait_for_state(
        &self,
        what: &str,
        condition: impl Fn(&PipelineState) -> bool,
    ) -> TestResult {
        eventually(what, DEADLINE, || async {
            // The state index appears with the first start; until then there is no state.
            let state: Option<PipelineState> = self.state().await.unwrap_or_default();
            Ok(state.filter(|s| condition(s)).map(|_| ()))
        })
        .await
    }

    /// Waits until the alias serves the generation the sync writes and the sync's checkpoint has
    /// passed everything written so far; returns the checkpoint.
    async fn wait_caught_up(&mut self) -> TestResult<BinlogPosition> {
        let head = self.binlog_head().await?;
        let alias = self.env.alias.clone();
        let (es, state) = (&self.env.es, &self.env.state);
        eventually(
            &format!("the sync to pass {head} with the alias on its index"),
            DEADLINE,
            || async {
                let serving = es.alias_targets(&alias).await.map_err(fail)?;
                let checkpoints = match state.list_checkpoints(Some(ord::Index.pipeline())).await {
                    Ok(c) => c,
                    Err(_) => return Ok(None),
                };
                Ok(checkpoints.into_iter().find_map(|c| {
                    let at = c.doc.position.as_binlog()?.clone();
                    let on_serving = c.doc.index.as_ref().is_some_and(|i| serving.contains(i));
                    (on_serving && at.version() >= head.version()).then_some(at)
                }))
            },
        )
        .await
    }

    /// `mee verify orders` exits 0 and says so.
    fn assert_verify_equal(&self) -> TestResult {
        let out = self
            .mee(&["verify", "orders", "--page-size", "64"])
            .output()?;
        let report = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            report.contains(&format!("{}: equal", self.env.alias)),
            "{report}"
        );
        for label in ["missing:", "extra:", "different:"] {
            assert_eq!(field(&report, label), "0", "{label} {report}");
        }
        Ok(())
    }

    /// The test's own comparison: the alias holds exactly the documents a fresh full update of
    /// the current MySQL state builds.
    async fn assert_equal_to_fresh_update(&self) -> TestResult {
        let docs = common::sync::assert_equals_fresh(
            &ord::Index,
            &self.env.source,
            &self.env.es,
            &self.env.test_es,
            &self.env.alias,
        )
        .await?;
        assert!(
            docs.len() > ORDERS as usize / 2,
            "only {} documents: the workload should leave most orders",
            docs.len()
        );
        Ok(())
    }

    async fn finish(self) -> TestResult {
        self.env
            .es
            .delete_indices_with_prefix(&format!("{}_", self.env.test_es.prefix()))
            .await
            .map_err(fail)?;
        self.env.mysql.drop_databases().await
    }
}

/// A generation that finished loading (active, or built and waiting for its alias): a start that
/// finds it follows it instead of building a new one.
fn finished_generation(state: &PipelineState) -> Option<String> {
    state.active.as_ref().map(|g| g.index.clone()).or_else(|| {
        state
            .building
            .as_ref()
            .filter(|g| g.snapshot.is_some())
            .map(|g| g.index.clone())
    })
}

/// A `mee run` process; killed when dropped, so a failing test leaves none behind.
struct Follower {
    child: Child,
    log: PathBuf,
}

impl Follower {
    /// SIGKILL, then reap it (a zombie would still look alive to the lease check).
    fn kill(&mut self) -> TestResult {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for the exit; returns the status and the process's output.
    async fn terminate(&mut self) -> TestResult<(ExitStatus, String)> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        assert!(sent.success(), "kill -TERM failed");
        let child = std::sync::Mutex::new(&mut self.child);
        let status = eventually("mee run to stop", DEADLINE, || async {
            let mut child = child.lock().map_err(fail)?;
            Ok(child.try_wait()?)
        })
        .await?;
        Ok((status, std::fs::read_to_string(&self.log)?))
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The rest of the report line that starts with `label`, trimmed (empty when there is none).
fn field(report: &str, label: &str) -> String {
    report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The shape of `scripts/load-sample.sh`: ~5 items per order, a customer per 5 orders, some
/// soft-deleted orders, NULL emails and countries.
async fn load_sample(mysql: &mut TestMysql) -> TestResult {
    let (shop, crm) = (mysql.db("shop").to_string(), mysql.db("crm").to_string());
    mysql
        .exec(&format!(
            "INSERT INTO `{crm}`.customers (id, name, email, tier, country)
             SELECT seq, CONCAT('Customer ', seq),
                    IF(seq % 7 = 0, NULL, CONCAT('customer', seq, '@example.com')),
                    ELT(1 + seq % 3, 'standard', 'gold', 'platinum'),
                    IF(seq % 11 = 0, NULL, ELT(1 + seq % 4, 'DE', 'FR', 'NL', 'PL'))
             FROM seq_1_to_{CUSTOMERS};
             INSERT INTO `{shop}`.orders (id, order_no, customer_id, status, amount, currency, note,
                                          deleted, create_time, modify_time)
             SELECT seq, CONCAT('ORD-', LPAD(seq, 9, '0')), 1 + (seq * 7919) % {CUSTOMERS}, seq % 4,
                    ROUND((seq % 1000) * 1.37 + 5, 2), 'EUR', IF(seq % 5 = 0, CONCAT('note ', seq), NULL),
                    IF(seq % 23 = 0, 1, 0),
                    TIMESTAMP('2021-01-01') + INTERVAL (seq % 700) DAY + INTERVAL (seq % 86400) SECOND,
                    TIMESTAMP('2023-01-01') + INTERVAL (seq % 86400) SECOND
             FROM seq_1_to_{ORDERS};
             INSERT INTO `{shop}`.order_items (id, order_id, sku, title, quantity, unit_price, modify_time)
             SELECT o.seq * 10 + i.seq, o.seq, CONCAT('SKU-', (o.seq * 31 + i.seq) % 5000),
                    CONCAT('Item ', i.seq, ' of order ', o.seq), 1 + (o.seq + i.seq) % 5,
                    ROUND(((o.seq + i.seq) % 200) * 0.99 + 1, 2),
                    TIMESTAMP('2023-01-01') + INTERVAL (o.seq % 86400) SECOND
             FROM seq_1_to_{ORDERS} o JOIN seq_1_to_7 i ON i.seq <= 3 + o.seq % 5;"
        ))
        .await
}

/// What the workload generator knows about the rows (ids it created or loaded, whether they
/// still exist); the statements are generated ahead, so a seed always gives the same workload.
struct Model {
    orders: Vec<u64>,
    items: Vec<u64>,
    customers: Vec<u64>,
    next_order: u64,
    next_item: u64,
    next_customer: u64,
}

impl Model {
    fn loaded() -> Model {
        Model {
            orders: (1..=ORDERS).collect(),
            items: (1..=ORDERS)
                .flat_map(|o| (1..=3 + o % 5).map(move |i| o * 10 + i))
                .collect(),
            customers: (1..=CUSTOMERS).collect(),
            next_order: ORDERS + 1,
            next_item: ORDERS * 10 + 100,
            next_customer: CUSTOMERS + 1,
        }
    }
}

fn pick(rng: &mut StdRng, ids: &[u64]) -> u64 {
    if ids.is_empty() {
        0
    } else {
        ids[rng.random_range(0..ids.len())]
    }
}

fn remove(ids: &mut Vec<u64>, id: u64) {
    ids.retain(|&i| i != id);
}

fn amount(rng: &mut StdRng) -> String {
    format!(
        "{}.{:02}",
        rng.random_range(1..2000),
        rng.random_range(0..100)
    )
}

/// A customer id for an order: usually an existing one, sometimes one that does not exist (yet).
fn customer_ref(rng: &mut StdRng, m: &Model) -> u64 {
    if rng.random_bool(0.9) {
        pick(rng, &m.customers)
    } else {
        m.next_customer + rng.random_range(0..3)
    }
}

/// `operations` random statements in bursts of transactions; `{shop}` and `{crm}` stand for the
/// test's databases.
fn workload(rng: &mut StdRng, operations: usize) -> Vec<Vec<Vec<String>>> {
    let mut m = Model::loaded();
    let mut bursts = Vec::new();
    let mut done = 0;
    while done < operations {
        let mut burst = Vec::new();
        let size = rng.random_range(20..60).min(operations - done);
        let mut in_burst = 0;
        while in_burst < size {
            // Several operations per transaction sometimes.
            let n = if rng.random_bool(0.25) {
                rng.random_range(2..5)
            } else {
                1
            };
            let txn: Vec<String> = (0..n).flat_map(|_| operation(rng, &mut m)).collect();
            in_burst += n;
            burst.push(txn);
        }
        done += in_burst;
        bursts.push(burst);
    }
    bursts
}

/// One random operation (one or two statements).
fn operation(rng: &mut StdRng, m: &mut Model) -> Vec<String> {
    let orders = "`{shop}`.orders";
    let items = "`{shop}`.order_items";
    let customers = "`{crm}`.customers";
    match rng.random_range(0..100) {
        // Orders: insert (with an item sometimes), update, soft-delete flips, join-key and
        // primary-key changes, deletes.
        0..=9 => {
            let id = m.next_order;
            m.next_order += 1;
            m.orders.push(id);
            let customer = customer_ref(rng, m);
            let mut out = vec![format!(
                "INSERT INTO {orders} (id, order_no, customer_id, status, amount, note) \
                 VALUES ({id}, 'W-{id}', {customer}, {}, {}, {})",
                rng.random_range(0..4),
                amount(rng),
                if rng.random_bool(0.5) {
                    "'new'"
                } else {
                    "NULL"
                }
            )];
            if rng.random_bool(0.5) {
                let item = m.next_item;
                m.next_item += 1;
                m.items.push(item);
                out.push(format!(
                    "INSERT INTO {items} (id, order_id, sku, title, quantity, unit_price) \
                     VALUES ({item}, {id}, 'SKU-W{item}', 'new item {item}', 1, {})",
                    amount(rng)
                ));
            }
            out
        }
        10..=21 => vec![format!(
            "UPDATE {orders} SET amount = {}, status = {}, note = {} WHERE id = {}",
            amount(rng),
            rng.random_range(0..4),
            if rng.random_bool(0.3) {
                "NULL".to_string()
            } else {
                format!("'note {}'", rng.random_range(0..1000))
            },
            pick(rng, &m.orders)
        )],
        22..=29 => vec![format!(
            "UPDATE {orders} SET deleted = 1 - deleted WHERE id = {}",
            pick(rng, &m.orders)
        )],
        30..=36 => {
            let customer = customer_ref(rng, m);
            vec![format!(
                "UPDATE {orders} SET customer_id = {customer} WHERE id = {}",
                pick(rng, &m.orders)
            )]
        }
        37..=39 => {
            // A new primary key; its items follow it, or are left pointing at the old one.
            let (old, new) = (pick(rng, &m.orders), m.next_order);
            m.next_order += 1;
            remove(&mut m.orders, old);
            m.orders.push(new);
            let mut out = vec![format!("UPDATE {orders} SET id = {new} WHERE id = {old}")];
            if rng.random_bool(0.7) {
                out.push(format!(
                    "UPDATE {items} SET order_id = {new} WHERE order_id = {old}"
                ));
            }
            out
        }
        40..=44 => {
            let id = pick(rng, &m.orders);
            remove(&mut m.orders, id);
            let mut out = vec![format!("DELETE FROM {orders} WHERE id = {id}")];
            if rng.random_bool(0.5) {
                out.push(format!("DELETE FROM {items} WHERE order_id = {id}"));
            }
            out
        }
        // Items (nested): insert, update, delete, move to another order.
        45..=54 => {
            let item = m.next_item;
            m.next_item += 1;
            m.items.push(item);
            vec![format!(
                "INSERT INTO {items} (id, order_id, sku, title, quantity, unit_price) \
                 VALUES ({item}, {}, 'SKU-R{item}', 'item {item}', {}, {})",
                pick(rng, &m.orders),
                rng.random_range(1..10),
                amount(rng)
            )]
        }
        55..=66 => vec![format!(
            "UPDATE {items} SET quantity = {}, title = 'changed {}' WHERE id = {}",
            rng.random_range(1..10),
            rng.random_range(0..1000),
            pick(rng, &m.items)
        )],
        67..=73 => {
            let id = pick(rng, &m.items);
            remove(&mut m.items, id);
            vec![format!("DELETE FROM {items} WHERE id = {id}")]
        }
        74..=81 => vec![format!(
            "UPDATE {items} SET order_id = {} WHERE id = {}",
            pick(rng, &m.orders),
            pick(rng, &m.items)
        )],
        // Customers (joined): renames and other used columns fan out to their orders; a change
        // of an unused column must change nothing; deletes and inserts (some of them ids that
        // orders already reference).
        82..=89 => vec![format!(
            "UPDATE {customers} SET name = 'Renamed {}', country = {} WHERE id = {}",
            rng.random_range(0..1000),
            if rng.random_bool(0.3) { "NULL" } else { "'SE'" },
            pick(rng, &m.customers)
        )],
        90..=91 => vec![format!(
            "UPDATE {customers} SET modify_time = modify_time + INTERVAL 1 SECOND WHERE id = {}",
            pick(rng, &m.customers)
        )],
        92..=95 => {
            let id = pick(rng, &m.customers);
            remove(&mut m.customers, id);
            vec![format!("DELETE FROM {customers} WHERE id = {id}")]
        }
        _ => {
            let id = m.next_customer;
            m.next_customer += 1;
            m.customers.push(id);
            vec![format!(
                "INSERT INTO {customers} (id, name, email, tier) \
                 VALUES ({id}, 'New {id}', 'new{id}@example.com', 'gold')"
            )]
        }
    }
}
