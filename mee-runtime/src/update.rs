//! The full update: MySQL -> a fresh index generation -> one atomic alias move.
//!
//! 1. A new physical index `<alias>_<generation>` is created with the compiled mapping and
//!    bulk-load settings (no replicas, no refresh), restored after the load.
//! 2. One consistent snapshot (`START TRANSACTION WITH CONSISTENT SNAPSHOT`) gives every read the
//!    same point in time and the binlog position the sync resumes from.
//! 3. Master rows are read in primary-key pages (keyset, never `OFFSET`); the generated code
//!    completes each page with one query per joined item. Documents go to the `BulkWriter`
//!    while the next page is read; every write carries the snapshot position as its external
//!    version, so a later sync write always wins.
//! 4. Documents that fail to build, and documents Elasticsearch rejects, are handed to the
//!    caller's [`FailureSink`] (the retry table); they never stop the run.
//! 5. The count in the new index must equal the documents written, then the alias moves in one
//!    `_aliases` request and generations beyond the configured number are deleted.
//!
//! Any failure deletes the new index and leaves the alias and the old generation untouched.

use crate::binlog::BinlogPosition;
use crate::es::{BulkConfig, BulkFailure, BulkOp, BulkWriter, EsClient, EsError, VersionType};
use crate::mysql::{MysqlError, Source};
use crate::pipeline::{IndexPipeline, resolve_statements};
use crate::value::Value;
use futures::FutureExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a full update runs.
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    /// Master rows per page (and so per round of batched look-ups).
    pub page_size: usize,
    /// Snapshot connections reading disjoint primary-key ranges at once, so that MySQL's work
    /// overlaps mee's (integer keys only; other keys are read by one connection).
    pub readers: usize,
    pub bulk: BulkConfig,
    /// Previous generations kept after the alias moved (for a quick manual rollback).
    pub keep_generations: usize,
    /// The index body: `{"settings": ..., "mappings": ...}`.
    pub index_body: serde_json::Value,
    /// The alias to write under instead of the pipeline's (several environments or tests on
    /// one cluster).
    pub alias: Option<String>,
    /// The new index's name; `<alias>_<milliseconds>` when not given.
    pub generation: Option<String>,
    /// Whether to move the alias at the end (the embedded sync moves it itself, once it has
    /// caught up with the snapshot).
    pub move_alias: bool,
    /// The lease holder to act as: `mee run` passes its own, so that its follower lease is not
    /// mistaken for another process's. `None`: a holder of its own.
    pub owner: Option<crate::state::LeaseOwner>,
}

impl UpdateOptions {
    /// The alias to write under and the name of the new generation.
    pub fn target(&self, index: &dyn IndexPipeline) -> (String, String) {
        let alias = self
            .alias
            .clone()
            .unwrap_or_else(|| index.alias().to_string());
        let name = self
            .generation
            .clone()
            .unwrap_or_else(|| generation_name(&alias));
        (alias, name)
    }
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            page_size: 1000,
            readers: 3,
            bulk: BulkConfig::default(),
            keep_generations: 1,
            index_body: serde_json::Value::Null,
            alias: None,
            generation: None,
            move_alias: true,
            owner: None,
        }
    }
}

/// A document that could not be indexed: it goes to the retry table.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The document could not be built (a `sum` over NULL, a row that does not fit the schema).
    Build {
        key: Value,
        id: String,
        error: String,
    },
    /// Elasticsearch rejected it; `key` is the master key of the document it was built from
    /// (the retry table's key, never the `_id`'s text: an `_id` may be a template such as
    /// `user_%id`, and the key keeps its type).
    Rejected { key: Value, failure: BulkFailure },
}

/// The master key the document `id` was built from, found in `keys` (the documents of one
/// write); the `_id`'s text only if it is not there, which would be a bug (every operation the
/// engines write comes with its key).
pub(crate) fn master_key_of(keys: &[(String, Value)], id: &str) -> Value {
    match keys.iter().find(|(written, _)| written == id) {
        Some((_, key)) => key.clone(),
        None => {
            tracing::warn!(
                id,
                "a rejected document without its master key; keyed by its _id"
            );
            Value::Text(id.to_string())
        }
    }
}

/// Where failed documents go. Returning an error aborts the update: a failure that cannot be
/// recorded must not be lost.
pub trait FailureSink: Send {
    fn record(
        &mut self,
        failures: Vec<Failure>,
    ) -> crate::pipeline::BoxFuture<'_, Result<(), String>>;
}

/// Keeps failures in memory (tests, and callers that report them themselves).
#[derive(Debug, Default)]
pub struct CollectFailures(pub Vec<Failure>);

impl FailureSink for CollectFailures {
    fn record(
        &mut self,
        failures: Vec<Failure>,
    ) -> crate::pipeline::BoxFuture<'_, Result<(), String>> {
        self.0.extend(failures);
        Box::pin(async { Ok(()) })
    }
}

/// Progress of a running update, for a progress bar or periodic log lines.
pub trait Progress: Send + Sync {
    /// The estimated number of master rows (from table statistics), when known.
    fn start(&self, estimated_rows: Option<u64>);
    /// Called after every page: totals so far.
    fn update(&self, rows_read: u64, docs_written: u64);
    fn finish(&self);
}

/// No progress output.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Option<u64>) {}
    fn update(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// What a successful full update did.
#[derive(Clone, Debug)]
pub struct UpdateReport {
    pub alias: String,
    pub index: String,
    /// The binlog position of the snapshot: the sync continues from here.
    pub snapshot: BinlogPosition,
    pub master_rows: u64,
    pub dependent_rows: u64,
    /// Documents written (acknowledged by Elasticsearch).
    pub written: u64,
    pub build_failures: u64,
    pub rejected: u64,
    /// Indices the alias pointed at before (now kept or deleted).
    pub previous: Vec<String>,
    pub deleted: Vec<String>,
    pub elapsed: Duration,
    /// Whether the alias now points at the new index.
    pub alias_moved: bool,
    /// The `mee run` process that will move the alias once it has caught up with the new index
    /// (the alias was left alone for it).
    pub handed_over_to: Option<String>,
    /// The running `mee run` was built from another version of the pipeline: it cannot switch
    /// to this generation; restarting it with this build does.
    pub follower_needs_restart: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The server's settings or its live schema do not fit the compiled pipeline.
    #[error("{0}")]
    Preflight(#[from] crate::preflight::PreflightError),
    #[error("reading MySQL failed: {0}")]
    Mysql(#[from] MysqlError),
    #[error("writing Elasticsearch failed: {0}")]
    Es(#[from] EsError),
    #[error("recording failed documents in the retry table failed: {0}")]
    Failures(String),
    #[error("{0}")]
    State(#[from] crate::state::StateError),
    #[error(
        "the new index `{index}` holds {found} documents but {expected} were written; the alias was not moved"
    )]
    CountMismatch {
        index: String,
        expected: u64,
        found: u64,
    },
}

/// `<alias>_<milliseconds since the epoch>`: unique per run, sortable, lowercase.
pub fn generation_name(alias: &str) -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{alias}_{ms}")
}

/// Builds a new generation of `index` from `source` into `es`. See the module docs.
pub async fn full_update(
    index: &dyn IndexPipeline,
    source: &Source,
    es: &EsClient,
    options: &UpdateOptions,
    failures: &mut dyn FailureSink,
    progress: &dyn Progress,
) -> Result<UpdateReport, UpdateError> {
    let (alias, name) = options.target(index);
    let previous = es.alias_targets(&alias).await?;
    let body = match &options.index_body {
        serde_json::Value::Null => serde_json::from_str(index.index_body()).unwrap_or_default(),
        given => given.clone(),
    };
    let settings = body
        .get("settings")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let mappings = body
        .get("mappings")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    es.create_index(&name, &settings, &mappings).await?;
    tracing::info!(alias, index = %name, "full update started");
    match load(index, source, es, options, &name, failures, progress).await {
        Ok(mut report) => {
            report.previous = previous;
            report.alias = alias.clone();
            if options.move_alias {
                es.move_alias(&alias, &name).await.inspect_err(|_| {
                    tracing::error!(index = %name, "moving the alias failed");
                })?;
                report.alias_moved = true;
                report.deleted =
                    prune_generations(es, &alias, &name, options.keep_generations).await?;
            }
            tracing::info!(alias, index = %name, written = report.written, "full update finished");
            Ok(report)
        }
        Err(e) => {
            // Leave nothing behind: the alias still points at the old generation.
            if let Err(cleanup) = es.delete_index(&name).await {
                tracing::error!(index = %name, error = %cleanup, "could not delete the failed generation");
            }
            Err(e)
        }
    }
}

async fn load(
    index: &dyn IndexPipeline,
    source: &Source,
    es: &EsClient,
    options: &UpdateOptions,
    name: &str,
    failures: &mut dyn FailureSink,
    progress: &dyn Progress,
) -> Result<UpdateReport, UpdateError> {
    let started = Instant::now();
    let saved = es.begin_bulk_load(name).await?;
    let statements = resolve_statements(index, source);
    progress.start(estimate_rows(index, source).await);
    let target: Arc<str> = Arc::from(name);
    let mut writer = BulkWriter::new(es.clone(), options.bulk.clone());
    let ranges = key_ranges(index, source, options.readers).await;
    let totals = Totals::default();
    // Failures are recorded as they happen (the readers share the sink), so memory does not
    // grow with the number of bad rows.
    let failures: SharedFailures<'_> = futures::lock::Mutex::new(failures);
    let readers = ranges.into_iter().map(|range| {
        let ctx = ReadRange {
            index,
            source,
            statements: &statements,
            page_size: options.page_size,
            target: target.clone(),
            totals: &totals,
            failures: &failures,
            progress,
        };
        ctx.run(range, writer.fork())
    });
    let positions = futures::future::try_join_all(readers).await?;
    // The sync must start from the earliest snapshot: a change between two readers' snapshots
    // is replayed onto documents read after it, which is harmless (versions keep the newer).
    let position = positions
        .into_iter()
        .min()
        .ok_or_else(|| UpdateError::Mysql(MysqlError::Unsupported("no reader ran".into())))?;
    writer.flush().await;
    let written = totals.written.load(Ordering::Relaxed);
    let build_failures = totals.build_failures.load(Ordering::Relaxed);
    let rejected_count = totals.rejected.load(Ordering::Relaxed);
    let master_rows = totals.master_rows.load(Ordering::Relaxed);
    let dependent_rows = totals.dependent_rows.load(Ordering::Relaxed);
    es.end_bulk_load(name, &saved).await?;
    es.refresh(name).await?;
    let found = es.count(name, None).await?;
    if found != written {
        return Err(UpdateError::CountMismatch {
            index: name.to_string(),
            expected: written,
            found,
        });
    }
    progress.update(master_rows, written);
    progress.finish();
    Ok(UpdateReport {
        alias: index.alias().to_string(),
        index: name.to_string(),
        snapshot: position,
        master_rows,
        dependent_rows,
        written,
        build_failures,
        rejected: rejected_count,
        previous: Vec::new(),
        deleted: Vec::new(),
        elapsed: started.elapsed(),
        alias_moved: false,
        handed_over_to: None,
        follower_needs_restart: false,
    })
}

/// The table statistics' row count of the master table, for the progress bar's ETA.
async fn estimate_rows(index: &dyn IndexPipeline, source: &Source) -> Option<u64> {
    let (db, table) = index.master_table();
    let mut session = source.session().await.ok()?;
    let rows = session
        .fetch(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            &[Value::Text(source.physical(db).to_string()), Value::Text(table.to_string())],
        )
        .await
        .ok()?;
    rows.first().and_then(|r| r.first()).and_then(|v| match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        Value::UInt(u) => Some(*u),
        _ => None,
    })
}

/// Deletes the generations of `alias` older than the newest `keep` ones besides `current`.
/// Generation names end in a millisecond timestamp, so name order is age order.
pub async fn prune_generations(
    es: &EsClient,
    alias: &str,
    current: &str,
    keep: usize,
) -> Result<Vec<String>, EsError> {
    let prefix = format!("{alias}_");
    let mut old: Vec<String> = es
        .list_indices(&format!("{prefix}*"))
        .await?
        .into_iter()
        .map(|i| i.name)
        .filter(|n| n != current && n[prefix.len()..].chars().all(|c| c.is_ascii_digit()))
        .collect();
    old.sort_by_key(|n| n[prefix.len()..].parse::<u128>().unwrap_or(0));
    let excess = old.len().saturating_sub(keep);
    let mut deleted = Vec::new();
    for name in old.into_iter().take(excess) {
        if es.delete_index(&name).await? {
            deleted.push(name);
        }
    }
    Ok(deleted)
}

/// Records failed documents in the retry table (and nowhere else: if that fails, the update
/// fails, so nothing is lost silently).
pub struct RetrySink<'a> {
    pub table: &'a crate::state::RetryTable,
    pub pipeline: String,
    pub alias: String,
}

impl FailureSink for RetrySink<'_> {
    fn record(
        &mut self,
        failures: Vec<Failure>,
    ) -> crate::pipeline::BoxFuture<'_, Result<(), String>> {
        use crate::state::FailedDoc;
        let docs: Vec<FailedDoc> = failures
            .into_iter()
            .map(|f| match f {
                Failure::Build { key, id, error } => {
                    FailedDoc::build_failed(&self.pipeline, &self.alias, id, vec![key], error)
                }
                Failure::Rejected { key, failure } => {
                    FailedDoc::rejected(&self.pipeline, &self.alias, vec![key], &failure)
                }
            })
            .collect();
        Box::pin(async move {
            self.table
                .record_failures(&docs)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// A full update that records itself in the state store: the generation being built, then (on
/// success) the active generation with its snapshot position, the position the sync resumes
/// from; on failure the error, for `mee status`. Failed documents go to the retry table.
///
/// It holds the pipeline's updater lease while it runs, so a second update of the same index is
/// refused ([`UpdateError::State`] with [`StateError::Held`]). When a `mee run` follows the index,
/// the alias is not moved here: the new generation is left finished in `building`, and the
/// follower switches over once it has brought it up to date ([`UpdateReport::handed_over_to`]).
///
/// [`StateError::Held`]: crate::state::StateError::Held
pub async fn update_with_state(
    index: &dyn IndexPipeline,
    source: &Source,
    es: &EsClient,
    store: &crate::state::StateStore,
    retry: &crate::state::RetryTable,
    options: &UpdateOptions,
    progress: &dyn Progress,
) -> Result<UpdateReport, UpdateError> {
    use crate::state::{
        ErrorRecord, Generation, LeaseKeeper, LeaseOwner, LeaseRole, PipelineKey, PipelineState,
        PipelineStatus, Position, StateError, Timestamp,
    };
    // Before any work: a wrong server setting or schema would only fail later, or worse not.
    crate::preflight::preflight(index, source).await?;
    let (alias, name) = options.target(index);
    let key = PipelineKey::new(index.pipeline(), alias.clone());
    let own_owner = options.owner.is_none();
    let me = options.owner.clone().unwrap_or_else(LeaseOwner::current);
    let retire = |me: &LeaseOwner| {
        if own_owner {
            me.retire();
        }
    };
    let mut abandoned: Option<String> = None;
    let (keeper, _) = LeaseKeeper::claim(store, &key, LeaseRole::Updater, me.clone(), |s| {
        // A generation left by an update that died, or one waiting for a follower that is gone,
        // is replaced; one a live follower is switching over to is not pulled from under it.
        if let Some(waiting) = &s.building {
            if waiting.snapshot.is_some()
                && s.held_by_other(LeaseRole::Follower, &me, Timestamp::now())
            {
                return Err(StateError::InvalidTransition {
                    pipeline: s.pipeline.clone(),
                    alias: s.alias.clone(),
                    reason: format!(
                        "generation `{}` is waiting for the running `mee run` to switch the alias \
                         over to it; wait until it has (a few seconds after it caught up), then \
                         run the update again",
                        waiting.index
                    ),
                });
            }
            abandoned = Some(waiting.index.clone());
        }
        s.status = PipelineStatus::FullUpdating;
        s.building = Some(Generation::new(
            name.clone(),
            index.fingerprint(),
            Timestamp::now(),
        ));
        Ok(())
    })
    .await
    .map_err(|e| {
        retire(&me);
        UpdateError::State(e)
    })?;
    if let Some(old) = abandoned.filter(|old| *old != name) {
        tracing::warn!(index = %old, "deleting the generation an earlier full update left unfinished");
        if let Err(e) = es.delete_index(&old).await {
            tracing::warn!(index = %old, error = %e, "could not delete it");
        }
    }
    let mut sink = RetrySink {
        table: retry,
        pipeline: index.pipeline().to_string(),
        alias: alias.clone(),
    };
    // The alias move is decided below, with the follower lease in view.
    let run_options = UpdateOptions {
        alias: Some(alias.clone()),
        generation: Some(name.clone()),
        move_alias: false,
        ..options.clone()
    };
    let mut result = full_update(index, source, es, &run_options, &mut sink, progress).await;
    if let Ok(report) = &mut result
        && options.move_alias
    {
        let current = store
            .get_pipeline(&key)
            .await
            .map_err(UpdateError::State)?
            .map(|s| s.doc);
        let follower = current.as_ref().and_then(|s| {
            s.follower
                .clone()
                .filter(|f| f.held_by_other(&me, Timestamp::now()))
        });
        match follower {
            Some(f) => {
                report.handed_over_to = Some(f.owner.to_string());
                // A follower switches only to generations of its own pipeline version; the
                // active generation's fingerprint is the running build's.
                report.follower_needs_restart = current
                    .and_then(|s| s.active)
                    .is_some_and(|a| a.fingerprint != index.fingerprint());
            }
            None => {
                es.move_alias(&alias, &name).await?;
                report.alias_moved = true;
                report.deleted =
                    prune_generations(es, &alias, &name, options.keep_generations).await?;
            }
        }
    }
    let keep = options.keep_generations;
    let outcome = store
        .update::<PipelineState, (), StateError, _>(&key, |s| {
            match &result {
                Ok(report) => {
                    if let Some(b) = s.building.as_mut() {
                        b.snapshot = Some(Position::Binlog(report.snapshot.clone()));
                        b.docs = report.written;
                        b.finished_at = Some(Timestamp::now());
                    }
                    if report.alias_moved {
                        s.promote_building(Timestamp::now())?;
                        s.take_old_generations(keep);
                    }
                    s.status = if s.follower.is_some() {
                        PipelineStatus::Syncing
                    } else {
                        PipelineStatus::Idle
                    };
                    s.last_error = None;
                }
                Err(e) => {
                    s.building = None;
                    s.fail(ErrorRecord::new(Timestamp::now(), e.to_string()));
                }
            }
            s.release(LeaseRole::Updater, &me);
            Ok(())
        })
        .await;
    keeper.release().await;
    retire(&me);
    let report = result?;
    outcome.map_err(UpdateError::State)?;
    Ok(report)
}

/// Counts of all readers, for progress and the report.
#[derive(Default)]
struct Totals {
    master_rows: AtomicU64,
    dependent_rows: AtomicU64,
    /// Documents Elasticsearch acknowledged.
    written: AtomicU64,
    build_failures: AtomicU64,
    rejected: AtomicU64,
}

/// The caller's failure sink, shared by the readers.
type SharedFailures<'f> = futures::lock::Mutex<&'f mut (dyn FailureSink + 'f)>;

/// Primary keys `(after, up_to]`: `after` exclusive (`None` from the start), `up_to` inclusive
/// (`None` to the end).
pub type KeyRange = (Option<Value>, Option<i128>);

/// Splits the master's integer key span into `readers` ranges of equal width; one unbounded range
/// when the key is not an integer, the table is small, or one reader is asked for. Public for
/// the `full_update` bench, which reads the same ranges without building documents.
pub async fn key_ranges(
    index: &dyn IndexPipeline,
    source: &Source,
    readers: usize,
) -> Vec<KeyRange> {
    let whole = vec![(None, None)];
    if readers <= 1 {
        return whole;
    }
    let (db, table) = index.master_table();
    let key = crate::mysql::sql::quote_ident(index.master_key());
    let sql = format!(
        "SELECT MIN({key}), MAX({key}) FROM {}.{}",
        crate::mysql::sql::quote_ident(source.physical(db)),
        crate::mysql::sql::quote_ident(table)
    );
    let Ok(mut session) = source.session().await else {
        return whole;
    };
    let Ok(rows) = session.fetch(&sql, &[]).await else {
        return whole;
    };
    let as_int = |v: Option<&Value>| match v {
        Some(Value::Int(i)) => Some(i128::from(*i)),
        Some(Value::UInt(u)) => Some(i128::from(*u)),
        _ => None,
    };
    let row = rows.first();
    let (Some(min), Some(max)) = (
        as_int(row.and_then(|r| r.first())),
        as_int(row.and_then(|r| r.get(1))),
    ) else {
        return whole;
    };
    let span = max - min;
    if span < (readers as i128) * 1000 {
        return whole;
    }
    let step = span / readers as i128;
    (0..readers)
        .map(|i| {
            let after = (i > 0).then(|| int_value(min + step * i as i128));
            let up_to = (i + 1 < readers).then(|| min + step * (i as i128 + 1));
            (after, up_to)
        })
        .collect()
}

fn int_value(i: i128) -> Value {
    match i64::try_from(i) {
        Ok(v) => Value::Int(v),
        Err(_) => Value::UInt(u64::try_from(i).unwrap_or(u64::MAX)),
    }
}

fn key_int(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        _ => None,
    }
}

/// Whether master key `key` lies past `up_to`, the inclusive end of a [`KeyRange`] (a page may
/// run past its range's end; those rows belong to the next reader).
pub fn past_range_end(key: &Value, up_to: Option<i128>) -> bool {
    up_to.is_some_and(|end| key_int(key).is_some_and(|k| k > end))
}

/// What one reader needs; it reads its key range through its own snapshot.
struct ReadRange<'a, 'f> {
    index: &'a dyn IndexPipeline,
    source: &'a Source,
    statements: &'a [crate::mysql::Statement],
    page_size: usize,
    target: Arc<str>,
    totals: &'a Totals,
    failures: &'a SharedFailures<'f>,
    progress: &'a dyn Progress,
}

impl ReadRange<'_, '_> {
    async fn run(
        self,
        (mut after, up_to): KeyRange,
        mut writer: BulkWriter,
    ) -> Result<BinlogPosition, UpdateError> {
        let (mut snapshot, position) = self.source.snapshot().await?;
        let version = position.version();
        let mut tickets = std::collections::VecDeque::new();
        let mut build_failed = Vec::new();
        loop {
            let page = self
                .index
                .read_page(
                    snapshot.session(),
                    self.statements,
                    after.take(),
                    self.page_size,
                )
                .await?;
            if page.master_rows == 0 {
                break;
            }
            self.totals
                .dependent_rows
                .fetch_add(page.dependent_rows as u64, Ordering::Relaxed);
            let past_end = |key: &Value| past_range_end(key, up_to);
            let mut ops = Vec::with_capacity(page.docs.len());
            // The master key of each `_id` written, to key a rejection in the retry table.
            let mut keys = Vec::with_capacity(page.docs.len());
            let mut kept = 0u64;
            // A page may run past this range's end; those rows belong to the next reader.
            for doc in page.docs.into_iter().filter(|d| !past_end(&d.key)) {
                kept += 1;
                match doc.source {
                    Ok(json) => {
                        keys.push((doc.id.clone(), doc.key));
                        let mut op = BulkOp::index(self.target.clone(), doc.id, json)
                            .version(version, VersionType::ExternalGte);
                        if let Some(r) = doc.routing {
                            op = op.routing(r);
                        }
                        ops.push(op);
                    }
                    Err(e) => build_failed.push(Failure::Build {
                        key: doc.key,
                        id: doc.id,
                        error: e.to_string(),
                    }),
                }
            }
            let rows = self.totals.master_rows.fetch_add(kept, Ordering::Relaxed) + kept;
            tickets.push_back((writer.submit(ops).await, keys));
            if !build_failed.is_empty() {
                self.totals
                    .build_failures
                    .fetch_add(build_failed.len() as u64, Ordering::Relaxed);
                self.record(std::mem::take(&mut build_failed)).await?;
            }
            // Settle what has resolved, without waiting: a ticket whose documents still sit in
            // the writer's buffer resolves only once the buffer fills or is flushed.
            while let Some(outcome) = tickets.front_mut().and_then(|(t, _)| t.now_or_never()) {
                if let Some((_, keys)) = tickets.pop_front() {
                    self.settle(outcome, &keys).await?;
                }
            }
            self.progress
                .update(rows, writer.counters().snapshot().acknowledged());
            match page.last_key {
                Some(last)
                    if !past_end(&last) && up_to.is_none_or(|end| key_int(&last) != Some(end)) =>
                {
                    after = Some(last);
                }
                _ => break,
            }
        }
        snapshot.finish().await?;
        writer.send_pending().await;
        for (ticket, keys) in tickets {
            self.settle(ticket.await, &keys).await?;
        }
        Ok(position)
    }

    /// Counts what a resolved bulk ticket wrote and records what it rejected, each under the
    /// master key its `_id` was built from (`keys`, the ticket's documents).
    async fn settle(
        &self,
        outcome: Result<crate::es::BatchOutcome, EsError>,
        keys: &[(String, Value)],
    ) -> Result<(), UpdateError> {
        let outcome = outcome?;
        self.totals
            .written
            .fetch_add(outcome.acknowledged(), Ordering::Relaxed);
        if outcome.failures.is_empty() {
            return Ok(());
        }
        self.totals
            .rejected
            .fetch_add(outcome.failures.len() as u64, Ordering::Relaxed);
        self.record(
            outcome
                .failures
                .into_iter()
                .map(|failure| Failure::Rejected {
                    key: master_key_of(keys, &failure.op.id),
                    failure,
                })
                .collect(),
        )
        .await
    }

    async fn record(&self, failures: Vec<Failure>) -> Result<(), UpdateError> {
        self.failures
            .lock()
            .await
            .record(failures)
            .await
            .map_err(UpdateError::Failures)
    }
}
