//! `mee run`: the embedded default. One process keeps an index equal to MySQL without Kafka.
//!
//! 1. It takes the pipeline index's follower lease (a second `mee run` of the same index is
//!    refused) and keeps it renewed while it runs.
//! 2. If the index has no active generation built by this pipeline version, a full update builds
//!    one from a snapshot, without moving the alias yet (a finished one left by an interrupted
//!    run is resumed instead).
//! 3. The binlog is followed from the checkpoint of the generation being written (or its
//!    snapshot position). Row changes are applied in batches that end at transaction boundaries
//!    (see [`crate::sync`]), and the checkpoint advances only after Elasticsearch acknowledged
//!    the batch's writes and failed documents were recorded in the retry table. A crash at any
//!    point replays from the last checkpoint; versions make the replay harmless.
//! 4. A new generation of its own gets the alias once the follower has caught up with the binlog
//!    head.
//! 5. Switch-over: when `mee update` finishes a new generation while this follower runs, the
//!    follower mirrors every later batch into it, and a second reader replays the changes between
//!    the generation's snapshot and the start of the mirroring into it ([`catch_up`]). Then the
//!    alias moves in one request: the new generation is exactly as current as the old one, so
//!    searches never see missing or stale documents.
//! 6. A stop request (SIGINT/SIGTERM in the CLI) ends after the current batch, with the
//!    checkpoint saved and the lease released.

mod catch_up;
pub mod plan;

use crate::binlog::{
    BinlogEvent, BinlogPosition, BinlogReader, ReaderConfig, RowsEvent, StartAt, TableFilter,
};
use crate::es::{BulkConfig, BulkWriter, EsClient};
use crate::mysql::Source;
use crate::pipeline::{BoxFuture, IndexPipeline, resolve_statements};
use crate::state::{
    Checkpoint, CheckpointKey, FailedDoc, LeaseKeeper, LeaseOwner, LeaseRole, PipelineKey,
    PipelineState, PipelineStatus, Position, RetryTable, StateError, StateStore, Timestamp,
};
use crate::sync::{Applied, SyncTarget, apply_changes_mirrored, logical_names};
use crate::update::{NoProgress, UpdateOptions, update_with_state};
pub use catch_up::CATCH_UP_SERVER_ID_OFFSET;
use plan::{Directive, Following, StartPlan, directive, plan_start};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often a running sync logs where it is.
const STATUS_EVERY: Duration = Duration::from_secs(30);

/// How `run` follows the binlog.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Options of the full update run when the index has no usable generation (its `alias`
    /// also names the alias the sync serves).
    pub update: UpdateOptions,
    /// A batch is applied once it holds this many row changes...
    pub batch_rows: usize,
    /// ...or when this long has passed since the last batch (or the binlog went quiet). 50 ms by
    /// default: with 200 ms, batches at 5k changes/s grew large enough to take longer to apply
    /// than the wait itself (p99 lag 848 ms against 178 ms; `BENCHMARKS.md`).
    pub batch_wait: Duration,
    /// The replica server id the binlog reader registers with (a switch-over's catch-up reader
    /// uses this plus [`CATCH_UP_SERVER_ID_OFFSET`]).
    pub server_id: u32,
    pub bulk: BulkConfig,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            update: UpdateOptions::default(),
            batch_rows: 5000,
            batch_wait: Duration::from_millis(50),
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
    /// What this follower works on was changed by another process; `run` sets up again.
    #[error("set-up changed: {0}")]
    Restart(String),
    /// The server's settings or its live schema do not fit the compiled pipeline.
    #[error("{0}")]
    Preflight(#[from] crate::preflight::PreflightError),
    /// A schema change the sync cannot follow; the checkpoint stays before it.
    #[error("{0}")]
    SchemaChange(#[from] crate::preflight::SchemaChangeError),
}

/// What a run did before it stopped.
#[derive(Debug, Default)]
pub struct RunReport {
    pub full_update: bool,
    pub batches: u64,
    pub rebuilt: u64,
    pub deleted: u64,
    pub checkpoint: Option<BinlogPosition>,
    /// Generations this run moved the alias to (its own first one, and switch-overs).
    pub promoted: Vec<String>,
}

/// Follows the binlog until `stop` turns true (or the binlog ends, for a non-blocking reader).
pub async fn run(
    index: &dyn IndexPipeline,
    svc: &Services<'_>,
    options: &RunOptions,
    stop: watch::Receiver<bool>,
) -> Result<RunReport, RunError> {
    crate::preflight::preflight(index, svc.source).await?;
    let (alias, _) = options.update.target(index);
    let key = PipelineKey::new(index.pipeline(), alias);
    let me = LeaseOwner::current();
    let claimed = LeaseKeeper::claim(svc.state, &key, LeaseRole::Follower, me.clone(), |s| {
        s.status = PipelineStatus::Syncing;
        Ok(())
    })
    .await;
    let (mut keeper, _) = match claimed {
        Ok(k) => k,
        Err(e) => {
            me.retire();
            return Err(e.into());
        }
    };
    let mut report = RunReport::default();
    let result = loop {
        match follow(index, svc, options, &mut keeper, stop.clone(), &mut report).await {
            Err(RunError::Restart(why)) => {
                tracing::warn!(pipeline = index.pipeline(), reason = %why, "setting up again");
            }
            other => break other,
        }
    };
    keeper.release().await;
    me.retire();
    result.map(|()| report)
}

/// The switch-over in progress: the new generation receives mirrored writes while its catch-up
/// runs; `catch_up` is `None` once it finished.
struct SwitchOver<'a> {
    to: Arc<str>,
    catch_up: Option<BoxFuture<'a, Result<u64, RunError>>>,
}

async fn follow(
    index: &dyn IndexPipeline,
    svc: &Services<'_>,
    options: &RunOptions,
    keeper: &mut LeaseKeeper,
    mut stop: watch::Receiver<bool>,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let (alias, _) = options.update.target(index);
    let key = PipelineKey::new(index.pipeline(), alias.clone());
    let checkpoint_key = CheckpointKey::new(index.pipeline(), format!("sync/{alias}"));

    let state = svc.state.get_pipeline(&key).await?.map(|v| v.doc);
    let checkpoint = svc
        .state
        .get_checkpoint(&checkpoint_key)
        .await?
        .map(|v| v.doc);
    let (write_to, mut position, mut alias_pending) =
        match plan_start(state.as_ref(), checkpoint.as_ref(), index.fingerprint()) {
            StartPlan::Follow {
                index,
                from,
                alias_pending,
            } => (index, from, alias_pending),
            StartPlan::FullUpdate => full(index, svc, options, keeper.owner(), report).await?,
        };
    let mut write_to: Arc<str> = Arc::from(write_to.as_str());
    tracing::info!(alias, index = %write_to, from = %position, "following the binlog");

    let statements = resolve_statements(index, svc.source);
    let logical = logical_names(svc.source.config());
    let schemas: Vec<String> = index
        .sources()
        .iter()
        .map(|s| svc.source.physical(s.database).to_string())
        .collect();
    let reader_config = ReaderConfig::new(options.server_id, StartAt::Position(position.clone()))
        .with_filter(TableFilter::schemas(schemas))
        .with_idle_timeout(options.batch_wait);
    let opts = svc
        .source
        .config()
        .opts()
        .map_err(crate::mysql::MysqlError::from)?;
    let mut reader = BinlogReader::connect(opts, reader_config.clone()).await?;
    let mut writer = BulkWriter::new(svc.es.clone(), options.bulk.clone());
    let mut session = svc.source.session().await?;
    let guard = crate::preflight::SchemaGuard::new(index, svc.source);
    // Where the binlog ended once the generation was built: reading past it means caught up,
    // even on a server that is never quiet (the binlog going idle is the other sign).
    let catch_up_to = if alias_pending {
        crate::binlog::read_head(session.conn()).await?.flatten()
    } else {
        None
    };

    // Row events of the open transaction, and of committed transactions not applied yet.
    let mut open: Vec<RowsEvent> = Vec::new();
    let mut committed: Vec<RowsEvent> = Vec::new();
    let mut committed_rows = 0usize;
    let mut committed_at: Option<BinlogPosition> = None;
    let mut last_flush = Instant::now();
    let mut last_status = Instant::now();
    let mut last_commit_time = 0u32;
    let mut switch: Option<SwitchOver<'_>> = None;
    let mut retired: Vec<String> = Vec::new();
    // The catch-up future borrows these for as long as it runs.
    let statements = &statements;
    let logical = &logical;
    let reader_config = &reader_config;
    loop {
        // React to what other processes did (a new generation to switch to, a lost lease).
        let (view, changed) = keeper.latest();
        if changed {
            let me = Following {
                write_to: &write_to,
                alias_pending,
                switching_to: switch.as_ref().map(|s| &*s.to),
                retired: &retired,
                fingerprint: index.fingerprint(),
            };
            match directive(&view, &me) {
                Directive::Continue => {}
                Directive::Stop(e) => return Err(e.into()),
                Directive::Restart(why) => return Err(RunError::Restart(why)),
                Directive::StartSwitch { to, from } => {
                    tracing::info!(alias, from = %write_to, to, "switching over to a new generation");
                    let to: Arc<str> = Arc::from(to.as_str());
                    let target = SyncTarget {
                        index,
                        statements,
                        logical,
                        write_to: to.clone(),
                    };
                    let until = position.clone();
                    let job = async move {
                        catch_up::catch_up(
                            &target,
                            svc,
                            options,
                            reader_config.clone(),
                            from,
                            until,
                        )
                        .await
                    };
                    switch = Some(SwitchOver {
                        to,
                        catch_up: Some(Box::pin(job)),
                    });
                }
            }
        }

        let catching_up = switch.as_mut().and_then(|s| s.catch_up.as_mut());
        let event = tokio::select! {
            _ = stop.changed() => None,
            done = async {
                match catching_up {
                    Some(job) => job.await,
                    None => std::future::pending().await,
                }
            } => {
                let rebuilt = done?;
                let s = switch.take().expect("a catch-up runs only during a switch-over");
                // Every change up to `position` is now in both generations: switch.
                promote(index, svc, options, &key, &alias, &s.to, &position, &checkpoint_key).await?;
                retired.push(write_to.to_string());
                write_to = s.to;
                report.promoted.push(write_to.to_string());
                tracing::info!(alias, index = %write_to, rebuilt, "switch-over done");
                continue;
            }
            event = reader.next() => Some(event?),
        };
        // A stop request (`None`) or the end of a non-blocking binlog (`Some(None)`): apply what
        // is committed, then leave.
        let stopping = !matches!(event, Some(Some(_)));
        let mut flush = stopping;
        let mut idle = false;
        match event.flatten() {
            Some(BinlogEvent::Rows(rows)) => open.push(rows),
            Some(BinlogEvent::Commit {
                position: p,
                timestamp,
            }) => {
                last_commit_time = timestamp;
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
            // The statement is judged before the batch read ahead of it is applied: that batch
            // is rebuilt from the live tables, which already have the new shape. On a stop the
            // batch is not applied and the checkpoint stays before it, so a restart after the
            // fix applies it with the schema as compiled.
            Some(BinlogEvent::Ddl {
                schema,
                query,
                position: at,
                ..
            }) => {
                guard.check(svc.source, &schema, &query, &at).await?;
                flush = true;
            }
            Some(_) | None => {}
        }
        if flush && let Some(at) = committed_at.take() {
            let target = SyncTarget {
                index,
                statements,
                logical,
                write_to: write_to.clone(),
            };
            let mirrors: Vec<Arc<str>> = switch.iter().map(|s| s.to.clone()).collect();
            apply_batch(
                &target,
                &mirrors,
                svc,
                options,
                &mut session,
                &mut writer,
                &committed,
                &at,
                &checkpoint_key,
                &guard,
                report,
            )
            .await?;
            committed.clear();
            committed_rows = 0;
            position = at;
            last_flush = Instant::now();
            if last_status.elapsed() >= STATUS_EVERY {
                last_status = Instant::now();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                tracing::info!(
                    alias,
                    index = %write_to,
                    at = %position,
                    lag_s = now.saturating_sub(u64::from(last_commit_time)),
                    batches = report.batches,
                    rebuilt = report.rebuilt,
                    deleted = report.deleted,
                    "following"
                );
            }
        }
        if stopping {
            break;
        }
        // Caught up: everything read is applied, and the reader is past the binlog's end at
        // start-up, or nothing new came for a while.
        let past_head = || {
            catch_up_to
                .as_ref()
                .is_some_and(|head| reader.position() >= head)
        };
        if alias_pending && open.is_empty() && committed.is_empty() && (idle || past_head()) {
            promote(
                index,
                svc,
                options,
                &key,
                &alias,
                &write_to,
                &position,
                &checkpoint_key,
            )
            .await?;
            report.promoted.push(write_to.to_string());
            alias_pending = false;
        }
    }
    writer.flush().await;
    Ok(())
}

/// A full update whose alias move waits for the catch-up.
async fn full(
    index: &dyn IndexPipeline,
    svc: &Services<'_>,
    options: &RunOptions,
    owner: &LeaseOwner,
    report: &mut RunReport,
) -> Result<(String, BinlogPosition, bool), RunError> {
    let update = UpdateOptions {
        move_alias: false,
        owner: Some(owner.clone()),
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

/// Records the failed documents of the batch ending at `at` in the retry table, under the alias
/// the sync serves; unless they failed because a used table already has a shape the binlog has
/// not reached, which stops the sync before the batch instead.
pub(crate) async fn record_failures(
    target: &SyncTarget<'_>,
    svc: &Services<'_>,
    options: &RunOptions,
    guard: &crate::preflight::SchemaGuard,
    applied: &Applied,
    at: &BinlogPosition,
) -> Result<(), RunError> {
    if !applied.build_failures.is_empty() {
        guard.check_after_failures(svc.source, at).await?;
    }
    let pipeline = target.index.pipeline();
    let (alias, _) = options.update.target(target.index);
    let alias = alias.as_str();
    let mut failed: Vec<FailedDoc> = applied
        .build_failures
        .iter()
        .map(|(key, error)| {
            let id = applied
                .keys
                .iter()
                .find(|(_, k)| k == key)
                .map(|(id, _)| id.clone())
                .unwrap_or_default();
            FailedDoc::build_failed(pipeline, alias, id, vec![key.clone()], error.clone())
        })
        .collect();
    failed.extend(applied.outcome.failures.iter().map(|f| {
        let key = crate::update::master_key_of(&applied.keys, &f.op.id);
        FailedDoc::rejected(pipeline, alias, vec![key], f)
    }));
    if !failed.is_empty() {
        svc.retry.record_failures(&failed).await?;
    }
    Ok(())
}

/// Applies one batch (to the serving index and any mirror), records its failures, then saves
/// the checkpoint (in that order: the checkpoint never passes a write that was not acknowledged
/// or recorded).
#[allow(clippy::too_many_arguments)] // A private step of the loop.
async fn apply_batch(
    target: &SyncTarget<'_>,
    mirrors: &[Arc<str>],
    svc: &Services<'_>,
    options: &RunOptions,
    session: &mut crate::mysql::Session,
    writer: &mut BulkWriter,
    events: &[RowsEvent],
    at: &BinlogPosition,
    checkpoint_key: &CheckpointKey,
    guard: &crate::preflight::SchemaGuard,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let applied =
        apply_changes_mirrored(target, mirrors, session, events, writer, at.version()).await?;
    record_failures(target, svc, options, guard, &applied, at).await?;
    save_checkpoint(svc, checkpoint_key, at, &target.write_to).await?;
    report.batches += 1;
    report.rebuilt += applied.rebuilt as u64;
    report.deleted += applied.deleted as u64;
    report.checkpoint = Some(at.clone());
    Ok(())
}

/// Everything before `at` is in `index`.
async fn save_checkpoint(
    svc: &Services<'_>,
    checkpoint_key: &CheckpointKey,
    at: &BinlogPosition,
    index: &str,
) -> Result<(), RunError> {
    let position = Position::Binlog(at.clone());
    svc.state
        .upsert::<Checkpoint, (), StateError, _, _>(
            checkpoint_key,
            || Checkpoint::new(checkpoint_key, position.clone(), Timestamp::now()),
            |c| {
                c.position = position.clone();
                c.index = Some(index.to_string());
                Ok(())
            },
        )
        .await?;
    Ok(())
}

/// Moves the alias to `write_to` (the generation being built, now as current as the follower)
/// and makes it the active one; the checkpoint moves to it in the same step.
#[allow(clippy::too_many_arguments)] // A private step of the loop, called from two places.
async fn promote(
    index: &dyn IndexPipeline,
    svc: &Services<'_>,
    options: &RunOptions,
    key: &PipelineKey,
    alias: &str,
    write_to: &str,
    position: &BinlogPosition,
    checkpoint_key: &CheckpointKey,
) -> Result<(), RunError> {
    // In this order, a crash at any step restarts safely: before the state update, the old
    // generation is still the active one and the switch is redone; after it, the new one is
    // followed from its snapshot until the checkpoint below names it.
    svc.es.move_alias(alias, write_to).await?;
    let keep = options.update.keep_generations;
    svc.state
        .update::<PipelineState, (), StateError, _>(key, |s| {
            if s.building.as_ref().map(|b| b.index.as_str()) != Some(write_to) {
                return Err(StateError::InvalidTransition {
                    pipeline: s.pipeline.clone(),
                    alias: s.alias.clone(),
                    reason: format!("`{write_to}` is no longer the generation being built"),
                });
            }
            s.promote_building(Timestamp::now())?;
            s.take_old_generations(keep);
            s.status = PipelineStatus::Syncing;
            Ok(())
        })
        .await?;
    save_checkpoint(svc, checkpoint_key, position, write_to).await?;
    crate::update::prune_generations(svc.es, alias, write_to, keep).await?;
    tracing::info!(alias, index = write_to, at = %position, pipeline = index.pipeline(), "caught up; alias moved");
    Ok(())
}
