//! Full update of the generated `orders` data set into a sink that only accepts `_bulk`.
//!
//! `cargo bench --features pipeline-orders --bench full_update -- [--orders N] [--page-size P] [--readers R]`
//! (needs `scripts/services.sh start mysql`; loads the sample into `bench_shop`/`bench_crm` with
//! `scripts/load-sample.sh` unless it is already there at that size).
//!
//! Prints three rates for the same rows: MySQL alone (the statements of the read plan, rows
//! converted to values, no documents), the whole pipeline (MySQL -> documents -> `_bulk` into the
//! sink), and CPU seconds per 100k documents of the mee process without the sink's thread, plus
//! peak memory. Compare with `cargo bench -p mee-runtime --bench bulk_writer`, the plain loader.

use mee::generated::orders::orders as pipeline;
use mee_runtime::bench_support::{Measure, peak_rss_bytes};
use mee_runtime::es::{BulkSink, EsClient, SinkConfig};
use mee_runtime::mysql::{Source, SourceConfig};
use mee_runtime::pipeline::resolve_statements;
use mee_runtime::update::{CollectFailures, NoProgress, UpdateOptions, full_update};
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

    // 1. MySQL alone: the master pages and the two batched look-ups per page, no documents.
    let statements = resolve_statements(&pipeline::Index, &source);
    let m = Measure::start();
    let (mut snapshot, _) = source.snapshot().await.map_err(|e| e.to_string())?;
    let mut after: Option<Value> = None;
    let mut rows = 0usize;
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
        if page.is_empty() {
            break;
        }
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
    }
    snapshot.finish().await.map_err(|e| e.to_string())?;
    let read = m.finish();
    println!(
        "mysql read only:  {rows} rows in {:.2}s = {:.0} rows/s; cpu {:.2}s",
        read.wall.as_secs_f64(),
        rows as f64 / read.wall.as_secs_f64(),
        read.cpu.as_secs_f64()
    );

    // 2. The whole pipeline into the `_bulk`-only sink (on its own thread).
    let sink = BulkSink::start_on_thread(SinkConfig::default()).map_err(|e| e.to_string())?;
    let es = EsClient::new(sink.url()).map_err(|e| e.to_string())?;
    let options = UpdateOptions {
        page_size,
        readers,
        ..UpdateOptions::default()
    };
    let mut failures = CollectFailures::default();
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
