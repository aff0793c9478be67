//! Full update of the generated `orders` data set into a sink that only accepts `_bulk`.
//!
//! `cargo bench --features pipeline-orders --bench full_update -- [--orders N] [--page-size P] [--readers R]`
//! (needs `scripts/services.sh start mysql`; loads the sample into `bench_shop`/`bench_crm` with
//! `scripts/load-sample.sh` unless it is already there at that size).
//!
//! Prints three rates for the same rows, each over the same key ranges and `--readers` snapshot
//! readers: MySQL alone (the statements of the read plan, rows converted to values, no
//! documents), MySQL and documents (`read_page`, documents dropped), and the whole pipeline
//! (MySQL -> documents -> `_bulk` into the sink); then CPU seconds per 100k documents of the mee
//! process without the sink's thread, and the full update's peak memory. Compare with
//! `cargo bench -p mee-runtime --bench bulk_writer`, the plain loader.

use mee::generated::orders::orders as pipeline;
use mee_runtime::bench_support::{Measure, peak_rss_bytes, reset_peak_rss};
use mee_runtime::es::{BulkSink, EsClient, SinkConfig};
use mee_runtime::mysql::{Source, SourceConfig, Statement};
use mee_runtime::pipeline::resolve_statements;
use mee_runtime::update::{
    CollectFailures, KeyRange, NoProgress, UpdateOptions, full_update, key_ranges, past_range_end,
};
use mee_runtime::value::Value;
use std::process::Command;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), String> {
    let orders = arg("--orders", 1_000_000);
    let page_size = arg("--page-size", 1000);
    let readers = arg("--readers", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run(orders, page_size, readers))
}

async fn run(orders: usize, page_size: usize, readers: usize) -> Result<(), String> {
    let url =
        std::env::var("MEE_MYSQL_URL").unwrap_or_else(|_| "mysql://mee:mee@127.0.0.1:13306".into());
    let config = SourceConfig::new(url)
        .with_database("shop", "bench_shop")
        .with_database("crm", "bench_crm");
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    ensure_data(&source, orders).await?;

    // 1. MySQL alone: the master pages and the two batched look-ups per page over the same key
    //    ranges and number of snapshot readers as the pipeline, rows converted, no documents.
    let statements = resolve_statements(&pipeline::Index, &source);
    let ranges = key_ranges(&pipeline::Index, &source, readers).await;
    let m = Measure::start();
    let (orders_read, rows) = over_ranges(&ranges, |range| {
        read_only(&source, &statements, page_size, range)
    })
    .await?;
    let read = m.finish();
    println!(
        "mysql read only:  {readers} readers, {rows} rows of {orders_read} orders in {:.2}s = {:.0} rows/s = {:.0} orders/s; cpu {:.2}s",
        read.wall.as_secs_f64(),
        rows as f64 / read.wall.as_secs_f64(),
        orders_read as f64 / read.wall.as_secs_f64(),
        read.cpu.as_secs_f64()
    );

    // 2. MySQL and documents, no writes: `read_page` over the same ranges, documents dropped.
    let m = Measure::start();
    let (docs_built, bytes_built) = over_ranges(&ranges, |range| {
        build_only(&source, &statements, page_size, range)
    })
    .await?;
    let build = m.finish();
    println!(
        "documents only:   {docs_built} docs ({:.0} bytes on average) in {:.2}s = {:.0} docs/s; cpu {:.2}s",
        bytes_built as f64 / docs_built.max(1) as f64,
        build.wall.as_secs_f64(),
        docs_built as f64 / build.wall.as_secs_f64(),
        build.cpu.as_secs_f64()
    );

    // 3. The whole pipeline into the `_bulk`-only sink (on its own thread).
    let sink = BulkSink::start_on_thread(SinkConfig::default()).map_err(|e| e.to_string())?;
    let es = EsClient::new(sink.url()).map_err(|e| e.to_string())?;
    let options = UpdateOptions {
        page_size,
        readers,
        ..UpdateOptions::default()
    };
    let mut failures = CollectFailures::default();
    // The peak below is the full update's alone, not the earlier stages'.
    reset_peak_rss();
    let m = Measure::start();
    let report = full_update(
        &pipeline::Index,
        &source,
        &es,
        &options,
        &mut failures,
        &NoProgress,
    )
    .await
    .map_err(|e| e.to_string())?;
    let run = m.finish();
    let sink_cpu = sink.cpu_time().map_or(0.0, |c| c.as_secs_f64());
    let mee_cpu = run.cpu.as_secs_f64() - sink_cpu;
    let docs = report.written as f64;
    println!(
        "full update:      {} docs ({} master, {} joined rows) in {:.2}s = {:.0} docs/s; {} failures",
        report.written,
        report.master_rows,
        report.dependent_rows,
        run.wall.as_secs_f64(),
        docs / run.wall.as_secs_f64(),
        failures.0.len()
    );
    println!(
        "mee cpu:          {:.2}s = {:.3} s per 100k docs = {:.4} ms per doc (sink thread {:.2}s excluded)",
        mee_cpu,
        mee_cpu / docs * 100_000.0,
        mee_cpu / docs * 1000.0,
        sink_cpu
    );
    println!(
        "peak rss:         {:.1} MiB",
        peak_rss_bytes().unwrap_or(0) as f64 / 1048576.0
    );
    println!("sink:             {:?}", sink.stats());
    Ok(())
}

/// Runs `stage` on every key range at once, as the full update's readers do, and sums the
/// counts it returns.
async fn over_ranges<Fut>(
    ranges: &[KeyRange],
    stage: impl Fn(KeyRange) -> Fut,
) -> Result<(usize, usize), String>
where
    Fut: std::future::Future<Output = Result<(usize, usize), String>>,
{
    let parts = futures::future::try_join_all(ranges.iter().cloned().map(stage)).await?;
    Ok(parts.iter().fold((0, 0), |(a, b), (c, d)| (a + c, b + d)))
}

/// Reads one key range the way the pipeline does (master page, customer and item look-ups per
/// page) through its own snapshot; returns (orders, rows).
async fn read_only(
    source: &Source,
    statements: &[Statement],
    page_size: usize,
    (mut after, up_to): KeyRange,
) -> Result<(usize, usize), String> {
    let (mut snapshot, _) = source.snapshot().await.map_err(|e| e.to_string())?;
    let (mut orders, mut rows) = (0usize, 0usize);
    loop {
        let session = snapshot.session();
        let page = match &after {
            None => {
                session
                    .fetch(statements[0].text(), &[Value::Int(page_size as i64)])
                    .await
            }
            Some(a) => {
                session
                    .fetch(
                        statements[1].text(),
                        &[a.clone(), Value::Int(page_size as i64)],
                    )
                    .await
            }
        }
        .map_err(|e| e.to_string())?;
        let page: Vec<_> = page
            .into_iter()
            .filter(|r| r.first().is_some_and(|k| !past_range_end(k, up_to)))
            .collect();
        if page.is_empty() {
            break;
        }
        orders += page.len();
        rows += page.len();
        after = page.last().and_then(|r| r.first()).cloned();
        let order_ids: Vec<Value> = page.iter().filter_map(|r| r.first().cloned()).collect();
        let customer_ids: Vec<Value> = page.iter().filter_map(|r| r.get(2).cloned()).collect();
        rows += session
            .fetch_keyed(
                &statements[3],
                &mee_runtime::pipeline::distinct_keys(customer_ids),
            )
            .await
            .map_err(|e| e.to_string())?
            .len();
        rows += session
            .fetch_keyed(&statements[4], &order_ids)
            .await
            .map_err(|e| e.to_string())?
            .len();
        if page.len() < page_size {
            break;
        }
    }
    snapshot.finish().await.map_err(|e| e.to_string())?;
    Ok((orders, rows))
}

/// Builds the documents of one key range with `read_page`, as the full update does, and drops
/// them; returns (documents, bytes).
async fn build_only(
    source: &Source,
    statements: &[Statement],
    page_size: usize,
    (mut after, up_to): KeyRange,
) -> Result<(usize, usize), String> {
    use mee_runtime::pipeline::IndexPipeline;
    let (mut snapshot, _) = source.snapshot().await.map_err(|e| e.to_string())?;
    let (mut docs, mut bytes) = (0usize, 0usize);
    loop {
        let page = pipeline::Index
            .read_page(snapshot.session(), statements, after.take(), page_size)
            .await
            .map_err(|e| e.to_string())?;
        for doc in page.docs.iter().filter(|d| !past_range_end(&d.key, up_to)) {
            docs += 1;
            bytes += doc.source.as_ref().map_or(0, Vec::len);
        }
        match page.last_key {
            Some(last) if page.master_rows == page_size && !past_range_end(&last, up_to) => {
                after = Some(last)
            }
            _ => break,
        }
    }
    snapshot.finish().await.map_err(|e| e.to_string())?;
    Ok((docs, bytes))
}

/// Loads the sample unless `bench_shop` already holds exactly `orders` orders.
async fn ensure_data(source: &Source, orders: usize) -> Result<(), String> {
    let have = match source.session().await {
        Ok(mut s) => s
            .fetch("SELECT COUNT(*) FROM bench_shop.orders", &[])
            .await
            .ok()
            .and_then(|r| r.first().and_then(|r| r.first()).cloned()),
        Err(_) => None,
    };
    if have == Some(Value::Int(orders as i64)) {
        return Ok(());
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let status = Command::new(format!("{root}/scripts/load-sample.sh"))
        .args(["--orders", &orders.to_string(), "--prefix", "bench"])
        .status()
        .map_err(|e| format!("cannot run load-sample.sh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("load-sample.sh failed".into())
    }
}
