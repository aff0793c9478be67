//! `mee run`: the embedded default: keeps a pipeline's indexes equal to MySQL from the binlog.

use super::connect::{ConnectArgs, runtime};
use super::update::find_pipeline;
use clap::Args;
use mee_runtime::run::{RunOptions, Services, run as follow};
use mee_runtime::update::UpdateOptions;
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::watch;

/// Keep a pipeline's indexes equal to MySQL: build the index if it has none (full update from a
/// snapshot; the alias moves once the sync has caught up), then follow the binlog, applying
/// changes in batches at transaction boundaries. The checkpoint advances only past writes
/// Elasticsearch acknowledged; after a crash mee resumes from it. Stop with Ctrl-C or SIGTERM:
/// the current batch finishes and the checkpoint is saved.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline (compiled in with `--features pipeline-NAME`)
    pipeline: String,
    #[command(flatten)]
    connect: ConnectArgs,
    /// The replica server id mee registers with MySQL (unique among replicas)
    #[arg(long, default_value_t = 7_700_001)]
    server_id: u32,
    /// Apply a batch after this many row changes...
    #[arg(long, default_value_t = RunOptions::default().batch_rows)]
    batch_rows: usize,
    /// ...or after this many milliseconds (shorter: lower lag, more, smaller bulk requests and
    /// checkpoint writes)
    #[arg(long, default_value_t = RunOptions::default().batch_wait.as_millis() as u64)]
    batch_ms: u64,
}

pub fn run(args: &RunArgs) -> ExitCode {
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
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("stopping: finishing the current batch and saving the checkpoint");
            let _ = stop_tx.send(true);
        });
        let svc = Services { source: &services.source, es: &services.es, state: &services.state, retry: &services.retry };
        let runs = indexes.iter().enumerate().map(|(n, index)| {
            let options = RunOptions {
                update: UpdateOptions { alias: Some(args.connect.alias(index.alias())), ..UpdateOptions::default() },
                server_id: args.server_id + n as u32,
                batch_rows: args.batch_rows,
                batch_wait: Duration::from_millis(args.batch_ms),
                ..RunOptions::default()
            };
            let stop = stop_rx.clone();
            let svc = &svc;
            async move { (index.alias(), follow(*index, svc, &options, stop).await) }
        });
        let mut failed = false;
        for (alias, result) in futures::future::join_all(runs).await {
            match result {
                Ok(r) => eprintln!(
                    "{alias}: stopped after {} batches ({} documents rebuilt, {} deleted); checkpoint {}",
                    r.batches,
                    r.rebuilt,
                    r.deleted,
                    r.checkpoint.map_or("unchanged".to_string(), |p| p.to_string())
                ),
                Err(e) => {
                    eprintln!("error: sync of `{alias}` stopped: {e}");
                    failed = true;
                }
            }
        }
        if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
