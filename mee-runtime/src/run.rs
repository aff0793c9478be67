//! `mee run`: the embedded default. One process keeps an index equal to MySQL without Kafka.
//!
//! 1. If the index has no active generation (or one built by a different pipeline fingerprint),
//!    a full update builds one from a snapshot, without moving the alias yet.
//! 2. The binlog is followed from the checkpoint (or the generation's snapshot position). Row
//!    changes are applied in batches that end at transaction boundaries (see [`crate::sync`]),
//!    and the checkpoint advances only after Elasticsearch acknowledged the batch's writes and
//!    failed documents were recorded in the retry table. A crash at any point replays from the
//!    last checkpoint; versions make the replay harmless.
//! 3. A new generation gets the alias only once the follower has caught up with the binlog head.
//! 4. A stop request (SIGINT/SIGTERM in the CLI) ends after the current batch, with the
//!    checkpoint saved.

use crate::binlog::{
    BinlogEvent, BinlogPosition, BinlogReader, ReaderConfig, RowsEvent, StartAt, TableFilter,
};
use crate::es::{BulkConfig, BulkWriter, EsClient};
use crate::mysql::Source;
use crate::pipeline::{IndexPipeline, resolve_statements};
use crate::state::{
    Checkpoint, CheckpointKey, FailedDoc, PipelineKey, PipelineState, PipelineStatus, Position,
    RetryTable, StateError, StateStore, Timestamp,
};
use crate::sync::{SyncTarget, apply_changes, logical_names};
use crate::update::{NoProgress, UpdateOptions, update_with_state};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How `run` follows the binlog.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Options of the full update run when the index has no usable generation (its `alias`
    /// also names the alias the sync serves).
    pub update: UpdateOptions,
    /// A batch is applied once it holds this many row changes...
    pub batch_rows: usize,
    /// ...or when this long has passed since the last batch (or the binlog went quiet).
    pub batch_wait: Duration,
    /// The replica server id the binlog reader registers with.
    pub server_id: u32,
    pub bulk: BulkConfig,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            update: UpdateOptions::default(),
            batch_rows: 5000,
            batch_wait: Duration::from_millis(200),
            server_id: 7_700_001,
            bulk: BulkConfig::default(),
        }
    }
}

/// The services `run` uses.
pub struct Services<'a> {
    pub source: &'a Source,
    pub es: &'a EsClient,
    pub state: &'a StateStore,
    pub retry: &'a RetryTable,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Update(#[from] crate::update::UpdateError),
    #[error("binlog: {0}")]
    Binlog(#[from] crate::binlog::BinlogError),
    #[error("{0}")]
    Sync(#[from] crate::sync::SyncError),
    #[error("state: {0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Mysql(#[from] crate::mysql::MysqlError),
    #[error("{0}")]
    Es(#[from] crate::es::EsError),
}

/// What a run did before it stopped.
#[derive(Debug, Default)]
pub struct RunReport {
    pub full_update: bool,
    pub batches: u64,
    pub rebuilt: u64,
    pub deleted: u64,
    pub checkpoint: Option<BinlogPosition>,
}

/// Follows the binlog until `stop` turns true (or the binlog ends, for a non-blocking reader).
pub async fn run(
    index: &dyn IndexPipeline,
    svc: &Services<'_>,
    options: &RunOptions,
    mut stop: watch::Receiver<bool>,
) -> Result<RunReport, RunError> {
    let (alias, _) = options.update.target(index);
    let key = PipelineKey::new(index.pipeline(), alias.clone());
    let checkpoint_key = CheckpointKey::new(index.pipeline(), format!("sync/{alias}"));
    let mut report = RunReport::default();

    // Where documents go and where the binlog is read from.
    let state = svc.state.get_pipeline(&key).await?;
    let active = state
        .as_ref()
        .and_then(|s| s.active.clone())
        .filter(|g| g.fingerprint == index.fingerprint());
    let (write_to, mut position, mut alias_pending) = match active {
        Some(generation) => {
            let checkpoint = svc.state.get_checkpoint(&checkpoint_key).await?;
            let saved = match checkpoint.as_ref().map(|c| &c.position) {
                Some(Position::Binlog(p)) => Some(p.clone()),
                _ => None,
            };
            let snapshot = match &generation.snapshot {
                Some(Position::Binlog(p)) => Some(p.clone()),
                _ => None,
            };
            // A checkpoint older than the active generation's snapshot belongs to an earlier
            // generation: everything before the snapshot is already in this one.
            let from = saved.into_iter().chain(snapshot).max();
            match from {
                Some(p) => (generation.index.clone(), p, false),
                None => full(index, svc, options, &mut report).await?,
            }
        }
        None => full(index, svc, options, &mut report).await?,
    };
    tracing::info!(alias, index = %write_to, from = %position, "following the binlog");

    let statements = resolve_statements(index, svc.source);
    let logical = logical_names(svc.source.config());
    let target = SyncTarget {
        index,
        statements: &statements,
        logical: &logical,
        write_to: Arc::from(write_to.as_str()),
    };
    let schemas: Vec<String> = index
        .sources()
        .iter()
        .map(|s| svc.source.physical(s.database).to_string())
        .collect();
    let opts = svc
        .source
        .config()
        .opts()
        .map_err(crate::mysql::MysqlError::from)?;
    let config = ReaderConfig::new(options.server_id, StartAt::Position(position.clone()))
        .with_filter(TableFilter::schemas(schemas))
        .with_idle_timeout(options.batch_wait);
    let mut reader = BinlogReader::connect(opts, config).await?;
    let mut writer = BulkWriter::new(svc.es.clone(), options.bulk.clone());
    let mut session = svc.source.session().await?;

    // Row events of the open transaction, and of committed transactions not applied yet.
    let mut open: Vec<RowsEvent> = Vec::new();
    let mut committed: Vec<RowsEvent> = Vec::new();
    let mut committed_rows = 0usize;
    let mut committed_at: Option<BinlogPosition> = None;
    let mut last_flush = Instant::now();
    loop {
        let event = tokio::select! {
            _ = stop.changed() => None,
            event = reader.next() => Some(event?),
        };
        let Some(event) = event else { break };
        let mut flush = false;
        let mut idle = false;
        match event {
            Some(BinlogEvent::Rows(rows)) => open.push(rows),
            Some(BinlogEvent::Commit { position: p, .. }) => {
                committed_rows += open.iter().map(|e| e.rows.len()).sum::<usize>();
                committed.append(&mut open);
                committed_at = Some(p);
                flush = committed_rows >= options.batch_rows
                    || last_flush.elapsed() >= options.batch_wait;
            }
            Some(BinlogEvent::Idle) => {
                flush = true;
                idle = true;
            }
            Some(_) => {}
            None => break,
        }
        if flush && let Some(at) = committed_at.take() {
            apply_batch(
                &target,
                svc,
                &mut session,
                &mut writer,
                &committed,
                &at,
                &checkpoint_key,
                &mut report,
            )
            .await?;
            committed.clear();
            committed_rows = 0;
            position = at;
            last_flush = Instant::now();
        }
        // Caught up: nothing new for a while and everything read is applied.
        if idle && alias_pending && open.is_empty() && committed.is_empty() {
            promote(index, svc, options, &key, &alias, &write_to, &position).await?;
            alias_pending = false;
        }
    }
    if let Some(at) = committed_at.take() {
        apply_batch(
            &target,
            svc,
            &mut session,
            &mut writer,
            &committed,
            &at,
            &checkpoint_key,
            &mut report,
        )
        .await?;
    }
    writer.flush().await;
    Ok(report)
}

/// A full update whose alias move waits for the catch-up.
async fn full(
    index: &dyn IndexPipeline,
    svc: &Services<'_>,
    options: &RunOptions,
    report: &mut RunReport,
) -> Result<(String, BinlogPosition, bool), RunError> {
    let update = UpdateOptions {
        move_alias: false,
        ..options.update.clone()
    };
    let done = update_with_state(
        index,
        svc.source,
        svc.es,
        svc.state,
        svc.retry,
        &update,
        &NoProgress,
    )
    .await?;
    report.full_update = true;
    Ok((done.index, done.snapshot, true))
}

/// Applies one batch, records its failures, then saves the checkpoint (in that order: the
/// checkpoint never passes a write that was not acknowledged or recorded).
#[allow(clippy::too_many_arguments)] // A private step of the loop, called from two places.
async fn apply_batch(
    target: &SyncTarget<'_>,
    svc: &Services<'_>,
    session: &mut crate::mysql::Session,
    writer: &mut BulkWriter,
    events: &[RowsEvent],
    at: &BinlogPosition,
    checkpoint_key: &CheckpointKey,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let applied = apply_changes(target, session, events, writer, at.version()).await?;
    let (pipeline, alias) = (target.index.pipeline(), target.index.alias());
    let mut failed: Vec<FailedDoc> = applied
        .build_failures
        .iter()
        .map(|(key, error)| {
            FailedDoc::build_failed(
                pipeline,
                alias,
                String::new(),
                vec![key.clone()],
                error.clone(),
            )
        })
        .collect();
    failed.extend(applied.outcome.failures.iter().map(|f| {
        FailedDoc::rejected(
            pipeline,
            alias,
            vec![crate::value::Value::Text(f.op.id.clone())],
            f,
        )
    }));
    if !failed.is_empty() {
        svc.retry.record_failures(&failed).await?;
    }
    let position = Position::Binlog(at.clone());
    svc.state
        .upsert::<Checkpoint, (), StateError, _, _>(
            checkpoint_key,
            || Checkpoint::new(checkpoint_key, position.clone(), Timestamp::now()),
            |c| {
                c.position = position.clone();
                Ok(())
            },
        )
        .await?;
    report.batches += 1;
    report.rebuilt += applied.rebuilt as u64;
    report.deleted += applied.deleted as u64;
    report.checkpoint = Some(at.clone());
    Ok(())
}

/// Moves the alias to the caught-up generation and makes it the active one.
async fn promote(
    index: &dyn IndexPipeline,
    svc: &Services<'_>,
    options: &RunOptions,
    key: &PipelineKey,
    alias: &str,
    write_to: &str,
    position: &BinlogPosition,
) -> Result<(), RunError> {
    svc.es.move_alias(alias, write_to).await?;
    let keep = options.update.keep_generations;
    svc.state
        .update::<PipelineState, (), StateError, _>(key, |s| {
            s.promote_building(Timestamp::now())?;
            s.take_old_generations(keep);
            s.status = PipelineStatus::Syncing;
            Ok(())
        })
        .await?;
    crate::update::prune_generations(svc.es, alias, write_to, keep).await?;
    tracing::info!(alias, index = write_to, at = %position, pipeline = index.pipeline(), "caught up; alias moved");
    Ok(())
}
