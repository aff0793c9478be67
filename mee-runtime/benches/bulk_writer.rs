//! Baseline: a plain loader of ready-made documents, pushed through `BulkWriter` into the
//! in-process `_bulk`-only sink. The full-update pipeline is compared against these figures.
//!
//! `cargo bench -p mee-runtime --bench bulk_writer -- [--docs N] [--concurrency C] [--batch OPS]`
//!
//! Documents are ~1 KB orders with 5 nested items, serialised once before timing (a pool of 1024
//! distinct bodies reused round-robin, so memory reflects the writer, not the data set). The sink
//! runs on its own thread; its CPU time is reported separately and subtracted from the process's
//! to give the writer's CPU per document.

use mee_runtime::bench_support::{Measure, peak_rss_bytes};
use mee_runtime::es::{
    BulkConfig, BulkOp, BulkSink, BulkWriter, Bytes, EsClient, SinkConfig, VersionType,
};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

struct Args {
    docs: usize,
    concurrency: usize,
    batch: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        docs: 300_000,
        concurrency: 3,
        batch: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--docs" => args.docs = value("--docs")?,
            "--concurrency" => args.concurrency = value("--concurrency")?,
            "--batch" => args.batch = value("--batch")?,
            // Cargo passes `--bench` to bench targets.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

fn make_doc(i: usize) -> Vec<u8> {
    let items: Vec<_> = (0..5)
        .map(|k| {
            json!({
                "item_id": i * 10 + k,
                "sku": format!("SKU-{:08}-{k}", i % 100_000),
                "name": format!("Product number {} in a medium-length title", (i * 7 + k) % 5000),
                "quantity": (i + k) % 9 + 1,
                "unit_price": ((i * 31 + k * 17) % 100_000) as f64 / 100.0,
                "status": if k % 2 == 0 { "shipped" } else { "pending" },
            })
        })
        .collect();
    let doc = json!({
        "id": i,
        "order_no": format!("ORD-2026-{i:010}"),
        "customer": {"id": i % 50_000, "name": format!("Customer {}", i % 50_000), "level": "gold", "city": "Hangzhou"},
        "status": "paid",
        "total_amount": (i % 1_000_000) as f64 / 10.0,
        "currency": "CNY",
        "create_time": "2026-11-02T10:15:30",
        "modify_time": "2026-11-02T10:20:31",
        "remark": "Leave at the front desk if nobody answers the door, please.",
        "items": items,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bulk_writer bench: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bulk_writer bench: cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("bulk_writer bench failed: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let pool: Vec<Bytes> = (0..1024).map(|i| Bytes::from(make_doc(i))).collect();
    let avg_doc = pool.iter().map(Bytes::len).sum::<usize>() / pool.len();
    let sink = BulkSink::start_on_thread(SinkConfig::default()).map_err(|e| e.to_string())?;
    let client = EsClient::new(sink.url()).map_err(|e| e.to_string())?;
    let config = BulkConfig {
        max_ops: args.batch,
        concurrency: args.concurrency,
        ..BulkConfig::default()
    };
    let mut writer = BulkWriter::new(client, config);
    let index: Arc<str> = Arc::from("bench_orders_1");

    let sink_cpu_before = sink.cpu_time().unwrap_or_default();
    let measure = Measure::start();
    let mut tickets = VecDeque::new();
    let mut failures = 0usize;
    let page = 1000;
    let mut next = 0;
    while next < args.docs {
        let end = (next + page).min(args.docs);
        let ops: Vec<BulkOp> = (next..end)
            .map(|i| {
                BulkOp::index(index.clone(), i.to_string(), pool[i % pool.len()].clone())
                    .version(1_790_000_000_000 + i as u64, VersionType::External)
            })
            .collect();
        tickets.push_back(writer.submit(ops).await);
        while tickets.len() > 8 {
            if let Some(t) = tickets.pop_front() {
                failures += t.await.map_err(|e| e.to_string())?.failures.len();
            }
        }
        next = end;
    }
    let stats = writer.flush().await;
    for t in tickets {
        failures += t.await.map_err(|e| e.to_string())?.failures.len();
    }
    let measured = measure.finish();
    let sink_cpu = sink
        .cpu_time()
        .unwrap_or_default()
        .saturating_sub(sink_cpu_before);
    let sink_stats = sink.stats();
    if sink_stats.ops != args.docs as u64 || stats.ok != args.docs as u64 || failures != 0 {
        return Err(format!(
            "counts differ: sink {sink_stats:?}, writer {stats:?}, failures {failures}"
        ));
    }
    let secs = measured.wall.as_secs_f64();
    let writer_cpu = measured.cpu.saturating_sub(sink_cpu);
    let per_doc = |d: Duration| d.as_secs_f64() * 1e3 / args.docs as f64;
    println!(
        "bulk_writer: {} docs of ~{avg_doc} B, batch {}, concurrency {}",
        args.docs, args.batch, args.concurrency
    );
    println!("  wall            {secs:.3} s");
    println!(
        "  throughput      {:.0} docs/s, {:.1} MB/s of bulk body",
        args.docs as f64 / secs,
        stats.bytes as f64 / secs / 1e6
    );
    println!(
        "  requests        {} ({} retries)",
        stats.requests, stats.retries
    );
    println!(
        "  CPU             process {:.3} s = writer {:.3} s + sink thread {:.3} s",
        measured.cpu.as_secs_f64(),
        writer_cpu.as_secs_f64(),
        sink_cpu.as_secs_f64()
    );
    println!(
        "  CPU per doc     writer {:.4} ms, process {:.4} ms",
        per_doc(writer_cpu),
        per_doc(measured.cpu)
    );
    println!(
        "  peak RSS        {:.1} MiB",
        peak_rss_bytes().unwrap_or_default() as f64 / (1 << 20) as f64
    );
    Ok(())
}
