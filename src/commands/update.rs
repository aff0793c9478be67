//! `mee update`: builds a new index generation from MySQL and moves the alias atomically.

use super::connect::{ConnectArgs, runtime};
use super::progress::Reporter;
use clap::Args;
use mee_runtime::pipeline::IndexPipeline;
use mee_runtime::update::{Progress, UpdateOptions, update_with_state};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

/// Build a new generation of a pipeline's indexes from one consistent MySQL snapshot, then move
/// each alias to it in one atomic request. The old generation keeps serving until then; a failed
/// run deletes its own new index and leaves the alias untouched. Documents that fail to build or
/// are rejected go to the retry table and never stop the run. The snapshot's binlog position is
/// recorded so that `mee run` continues from it.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The pipeline (compiled in with `--features pipeline-NAME`)
    pipeline: String,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Master rows per page (one batched query per joined item per page)
    #[arg(long, default_value_t = 1000)]
    page_size: usize,
    /// Snapshot connections reading primary-key ranges in parallel
    #[arg(long, default_value_t = 3)]
    readers: usize,
    /// Previous generations to keep after the alias moved
    #[arg(long, default_value_t = 1)]
    keep: usize,
}

pub fn run(args: &UpdateArgs) -> ExitCode {
    let Some(indexes) = find_pipeline(&args.pipeline) else {
        return ExitCode::from(2);
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let services = match args.connect.connect().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut failed = false;
        for index in indexes {
            let alias = args.connect.alias(index.alias());
            let options = UpdateOptions {
                page_size: args.page_size,
                readers: args.readers,
                keep_generations: args.keep,
                alias: Some(alias.clone()),
                ..UpdateOptions::default()
            };
            let progress = Report::new(&alias);
            match update_with_state(*index, &services.source, &services.es, &services.state, &services.retry, &options, &progress).await {
                Ok(r) => {
                    eprintln!(
                        "{alias}: {} documents in {} ({} master rows, {} joined rows) in {:.1}s; snapshot {}",
                        r.written, r.index, r.master_rows, r.dependent_rows, r.elapsed.as_secs_f64(), r.snapshot
                    );
                    match &r.handed_over_to {
                        Some(follower) if r.follower_needs_restart => eprintln!(
                            "{alias}: the running `mee run` ({follower}) was built from another version of the pipeline and cannot switch to {}; restart it with this build and it will",
                            r.index
                        ),
                        Some(follower) => eprintln!(
                            "{alias}: `mee run` ({follower}) follows this index; it moves the alias to {} once it has brought it up to date",
                            r.index
                        ),
                        None => {}
                    }
                    if r.build_failures + r.rejected > 0 {
                        eprintln!(
                            "{alias}: {} documents failed to build and {} were rejected; they are in the retry table `{}`",
                            r.build_failures, r.rejected, args.connect.retry_index
                        );
                    }
                }
                Err(e) => {
                    eprintln!("error: full update of `{alias}` failed: {e}");
                    eprintln!("the alias `{alias}` still points at the previous generation");
                    failed = true;
                }
            }
        }
        if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
    })
}

/// The compiled indexes of a pipeline, or a message saying how to compile it in.
pub fn find_pipeline(name: &str) -> Option<&'static [&'static dyn IndexPipeline]> {
    match mee::generated::PIPELINES.iter().find(|(n, _)| *n == name) {
        Some((_, indexes)) => Some(indexes),
        None => {
            let compiled: Vec<&str> = mee::generated::PIPELINES.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "error: pipeline `{name}` is not compiled into this binary (compiled: {}); rebuild with `cargo build --release --features pipeline-{name}`",
                if compiled.is_empty() {
                    "none".to_string()
                } else {
                    compiled.join(", ")
                }
            );
            None
        }
    }
}

/// Rows read and documents written: on a bar, or in a line with the rate and the time left.
struct Report {
    reporter: Reporter,
    alias: String,
    started: Instant,
    estimate: Mutex<Option<u64>>,
}

impl Report {
    fn new(alias: &str) -> Self {
        let reporter = Reporter::new("rows");
        if let Some(bar) = reporter.bar() {
            bar.set_prefix(alias.to_string());
        }
        Report {
            reporter,
            alias: alias.to_string(),
            started: Instant::now(),
            estimate: Mutex::new(None),
        }
    }
}

impl Progress for Report {
    fn start(&self, estimated_rows: Option<u64>) {
        if let Ok(mut e) = self.estimate.lock() {
            *e = estimated_rows;
        }
        if let Some(bar) = self.reporter.bar() {
            bar.set_length(estimated_rows.unwrap_or(0));
        }
    }

    fn update(&self, rows_read: u64, docs_written: u64) {
        self.reporter.advance(
            rows_read,
            || format!("{docs_written} written"),
            || {
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                let rate = rows_read as f64 / secs;
                let eta = self
                    .estimate
                    .lock()
                    .ok()
                    .and_then(|e| *e)
                    .filter(|&total| total > rows_read && rate > 0.0)
                    .map(|total| format!(", ETA {:.0}s", (total - rows_read) as f64 / rate))
                    .unwrap_or_default();
                format!(
                    "{}: {rows_read} rows read, {docs_written} documents written, {rate:.0} rows/s{eta}",
                    self.alias
                )
            },
        );
    }

    fn finish(&self) {
        self.reporter.finish();
    }
}
