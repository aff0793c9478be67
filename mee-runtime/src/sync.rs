//! Applying row changes to an index: the core of the incremental sync.
//!
//! Documents are rebuilt, not patched (see ARCHITECTURE.md): a batch of row changes is mapped to
//! the master keys of the documents it affects (through the generated reverse map, `SOURCES`,
//! walked in MySQL), those documents are rebuilt from current MySQL with the same code as the full
//! update, and written whole with the batch's binlog position as external version. A document
//! whose master row no longer exists (or no longer matches the master statement), or whose `_id`
//! or routing changed, is deleted at its old placement, also versioned.
//!
//! An update that changes none of the columns a source uses costs nothing.
//!
//! # Commit visibility
//!
//! MariaDB hands a transaction's events to binlog readers (group commit's
//! `update_binlog_end_pos`) before the storage engine commits it (`commit_ordered`, which makes
//! it visible to other sessions); semi-synchronous replication can stretch that window to
//! seconds. A rebuild that read MySQL inside it would build the old document and stamp it with
//! the new version, and nothing would ever correct it. So before a batch's first read of MySQL,
//! [`wait_visible`] waits until the server's last engine-committed binlog position is at or past
//! the batch's position: MariaDB's `START TRANSACTION WITH CONSISTENT SNAPSHOT` reports, as
//! `binlog_snapshot_file`/`binlog_snapshot_position`, exactly the binlog position up to which
//! the snapshot (taken under `LOCK_commit_ordered`, like every `commit_ordered` step) sees
//! every transaction, and no further. Once that position reaches the batch's, every transaction
//! of the batch is committed in the engine, so every read started afterwards sees it. It needs
//! no privilege beyond SELECT, takes no lock and waits for no unrelated transaction.

use crate::binlog::BinlogPosition;
use crate::binlog::{RowKind, RowsEvent};
use crate::es::{BatchOutcome, BulkOp, BulkWriter, EsError, VersionType};
use crate::mysql::{MysqlError, Session, SourceConfig, Statement};
use crate::pipeline::{IndexPipeline, Key, SourceRole, SourceTable, affected_keys, distinct_keys};
use crate::value::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Master keys rebuilt per read: the full update's page size, so that a huge fan-out reads
/// like a full update of those documents.
const REBUILD_CHUNK: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("reading MySQL failed: {0}")]
    Mysql(#[from] MysqlError),
    #[error("writing Elasticsearch failed: {0}")]
    Es(#[from] EsError),
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Row changes that concerned this index (after the used-columns filter).
    pub relevant_rows: usize,
    /// Documents rebuilt and written.
    pub rebuilt: usize,
    /// Documents deleted at an old placement.
    pub deleted: usize,
    /// Documents that failed to build (for the retry table), with their error.
    pub build_failures: Vec<(Value, String)>,
    pub outcome: BatchOutcome,
    /// The `_id` and master key of every document written, deleted or failed to build: a
    /// rejection in `outcome` names only the `_id`, and the retry table keys it by the typed
    /// master key.
    pub keys: Vec<(String, Value)>,
}

/// Physical database names back to the logical names pipelines use.
pub fn logical_names(config: &SourceConfig) -> HashMap<String, String> {
    config
        .databases
        .iter()
        .map(|(logical, physical)| (physical.clone(), logical.clone()))
        .collect()
}

/// One index being synced: its compiled pipeline, its resolved statements, the database-name
/// mapping and where documents are written (an alias or a physical index).
pub struct SyncTarget<'a> {
    pub index: &'a dyn IndexPipeline,
    pub statements: &'a [Statement],
    /// Physical database names (as the binlog shows them) to the pipeline's logical names.
    pub logical: &'a HashMap<String, String>,
    pub write_to: Arc<str>,
}

/// Applies a batch of row changes (in binlog order) to `target`, writing with `version`, the
/// binlog position of the batch's last transaction ([`BinlogPosition::version`]); MySQL is read
/// only once every transaction up to that position is visible ([`wait_visible`]).
pub async fn apply_changes(
    target: &SyncTarget<'_>,
    session: &mut Session,
    events: &[RowsEvent],
    writer: &mut BulkWriter,
    version: u64,
) -> Result<Applied, SyncError> {
    apply_changes_mirrored(target, &[], session, events, writer, version).await
}

/// [`apply_changes`], writing every operation also to each index of `mirrors`: during a
/// switch-over the new generation receives the same writes as the serving one (the documents
/// are read from MySQL once).
pub async fn apply_changes_mirrored(
    target: &SyncTarget<'_>,
    mirrors: &[Arc<str>],
    session: &mut Session,
    events: &[RowsEvent],
    writer: &mut BulkWriter,
    version: u64,
) -> Result<Applied, SyncError> {
    let SyncTarget {
        index,
        statements,
        logical,
        write_to,
    } = target;
    let (index, statements) = (*index, *statements);
    let mut applied = Applied::default();
    // Whether the batch's transactions are known to be visible (checked before the first read).
    let mut visible = false;
    let mut keys: Vec<Value> = Vec::new();
    // Where documents of changed master rows lived, with the master keys they belonged to.
    let mut old_placements: HashMap<(String, Option<String>), Vec<Value>> = HashMap::new();
    for event in events {
        let db = logical
            .get(event.schema())
            .map_or(event.schema(), String::as_str);
        for source in index
            .sources()
            .iter()
            .filter(|s| s.database == db && s.table == event.table())
        {
            let mut starts = Vec::new();
            for change in &event.rows {
                if event.kind == RowKind::Update && !used_column_changed(source, event, change) {
                    continue;
                }
                applied.relevant_rows += 1;
                let start = event.plan.column_index(source.start);
                for image in [&change.before, &change.after].into_iter().flatten() {
                    if let Some(v) = start.and_then(|i| image.get(i)) {
                        starts.push(v.clone());
                    }
                }
                // Where the document of a master row's old image lived: if the rebuild puts it
                // elsewhere (or nowhere), that copy is deleted.
                if source.role == SourceRole::Master
                    && let Some(before) = change.before.as_ref().or(change.after.as_ref())
                {
                    let lookup = |name: &str| {
                        event
                            .plan
                            .column_index(name)
                            .and_then(|i| before.get(i).cloned())
                    };
                    if let Some(p) = index.placement(&lookup) {
                        let key = start.and_then(|i| before.get(i).cloned());
                        old_placements.entry(p).or_default().extend(key);
                    }
                }
            }
            if starts.is_empty() {
                continue;
            }
            ensure_visible(session, version, &mut visible).await?;
            let found = affected_keys(session, statements, source, starts).await?;
            keys.extend(found);
        }
    }
    let keys = distinct_keys(keys);
    let mut ops = Vec::new();
    let mut placed: HashSet<(String, Option<String>)> = HashSet::new();
    // With no old placement there is no delete that must reach Elasticsearch first, so each
    // chunk's documents are handed to the writer as soon as they are built: a row joined into
    // 100k documents then costs a few chunks of memory, not all of them, and reading overlaps
    // writing (the sync_lag bench's fan-out).
    let stream = old_placements.is_empty();
    let mut streamed = Vec::new();
    if !keys.is_empty() {
        ensure_visible(session, version, &mut visible).await?;
    }
    for chunk in keys.chunks(REBUILD_CHUNK) {
        let page = index.read_keys(session, statements, chunk.to_vec()).await?;
        for doc in page.docs {
            match doc.source {
                Ok(json) => {
                    placed.insert((doc.id.clone(), doc.routing.clone()));
                    applied.keys.push((doc.id.clone(), doc.key));
                    let mut op = BulkOp::index(write_to.clone(), doc.id, json)
                        .version(version, VersionType::ExternalGte);
                    if let Some(r) = doc.routing {
                        op = op.routing(r);
                    }
                    ops.push(op);
                    applied.rebuilt += 1;
                }
                Err(e) => {
                    applied.keys.push((doc.id, doc.key.clone()));
                    applied.build_failures.push((doc.key, e.to_string()));
                }
            }
        }
        if stream && !ops.is_empty() {
            let chunk_ops = with_mirrors(std::mem::take(&mut ops), mirrors);
            streamed.push(writer.submit(chunk_ops).await);
        }
    }
    let placed_ids: HashSet<&String> = placed.iter().map(|(id, _)| id).collect();
    // A document that failed to rebuild keeps its old copy: the failure is in the retry table,
    // and an old document is better than none until the retry succeeds.
    let failed: HashSet<Key> = applied
        .build_failures
        .iter()
        .map(|(key, _)| Key::of(key))
        .collect();
    let mut deletes = Vec::new();
    let mut moved = false;
    for ((id, routing), keys) in old_placements {
        if placed.contains(&(id.clone(), routing.clone()))
            || keys.iter().any(|k| failed.contains(&Key::of(k)))
        {
            continue;
        }
        moved |= placed_ids.contains(&id);
        if let Some(key) = keys.first() {
            applied.keys.push((id.clone(), key.clone()));
        }
        let mut op =
            BulkOp::delete(write_to.clone(), id).version(version, VersionType::ExternalGte);
        if let Some(r) = routing {
            op = op.routing(r);
        }
        deletes.push(op);
        applied.deleted += 1;
    }
    // A document whose routing changed keeps its `_id`, and both routings may lead to the same
    // shard: there a delete at the old routing that reached Elasticsearch after the rebuilt copy
    // (same `_id`, same version) would remove that copy. Such deletes are acknowledged before
    // the writes are sent; other deletes travel with them.
    let mut writes = with_mirrors(deletes, mirrors);
    if moved {
        applied.outcome = writer.write_batch(std::mem::take(&mut writes)).await?;
    }
    writes.extend(with_mirrors(ops, mirrors));
    if !writes.is_empty() {
        let outcome = writer.write_batch(writes).await?;
        applied.outcome.ok += outcome.ok;
        applied.outcome.conflicts += outcome.conflicts;
        applied.outcome.not_found += outcome.not_found;
        applied.outcome.failures.extend(outcome.failures);
    }
    if !streamed.is_empty() {
        writer.send_pending().await;
        for ticket in streamed {
            let outcome = ticket.await?;
            applied.outcome.ok += outcome.ok;
            applied.outcome.conflicts += outcome.conflicts;
            applied.outcome.not_found += outcome.not_found;
            applied.outcome.failures.extend(outcome.failures);
        }
    }
    Ok(applied)
}

/// [`wait_visible`] once per batch.
async fn ensure_visible(
    session: &mut Session,
    version: u64,
    visible: &mut bool,
) -> Result<(), MysqlError> {
    if !*visible {
        wait_visible(session, version).await?;
        *visible = true;
    }
    Ok(())
}

/// How long [`wait_visible`] waits between two looks, at most; and how often it says it waits.
const VISIBLE_POLL_MAX: Duration = Duration::from_millis(20);
const VISIBLE_WARN_EVERY: Duration = Duration::from_secs(10);

/// Waits until every transaction the binlog holds up to `version` (a
/// [`BinlogPosition::version`]) is committed in the storage engine, hence visible to every read
/// that starts afterwards (see the module documentation for why this closes the window between
/// the binlog and the commit). Usually one look (three short statements); a transaction still in
/// its commit makes it look again after a millisecond or so, and a wait of more than
/// [`VISIBLE_WARN_EVERY`] is logged.
pub async fn wait_visible(session: &mut Session, version: u64) -> Result<(), MysqlError> {
    let started = Instant::now();
    let mut warned = started;
    let mut pause = Duration::from_millis(1);
    loop {
        let committed = committed_position(session).await?;
        if committed.version() >= version {
            return Ok(());
        }
        if warned.elapsed() >= VISIBLE_WARN_EVERY {
            warned = Instant::now();
            tracing::warn!(
                committed = %committed,
                waited_s = started.elapsed().as_secs(),
                "waiting for MySQL to commit transactions the binlog already shows (semi-synchronous replication waiting for an acknowledgement?)"
            );
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(VISIBLE_POLL_MAX);
    }
}

/// The binlog position up to which the storage engine has committed every transaction: the
/// position MariaDB reports for a consistent snapshot taken now.
pub async fn committed_position(session: &mut Session) -> Result<BinlogPosition, MysqlError> {
    const START: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
    const STATUS: &str = "SHOW STATUS LIKE 'binlog_snapshot_%'";
    session.fetch_text(START).await?;
    let status = session.fetch_text(STATUS).await;
    // The snapshot is only a measuring point: end it at once, whatever the status said.
    session.fetch_text("COMMIT").await?;
    match crate::mysql::read::snapshot_status(&status?) {
        (Some(file), Some(pos)) if !file.is_empty() => Ok(BinlogPosition::new(file, pos)),
        _ => Err(MysqlError::Unsupported(
            "the server reports no `binlog_snapshot_file`/`binlog_snapshot_position`: the sync \
             needs MariaDB 10.0 or later with the binlog on, to know when a transaction it read \
             in the binlog is visible"
                .to_string(),
        )),
    }
}

/// `ops` followed by the same operations for each index of `mirrors`.
fn with_mirrors(mut ops: Vec<BulkOp>, mirrors: &[Arc<str>]) -> Vec<BulkOp> {
    let mirrored: Vec<BulkOp> = mirrors
        .iter()
        .flat_map(|m| {
            ops.iter().map(|op| BulkOp {
                index: m.clone(),
                ..op.clone()
            })
        })
        .collect();
    ops.extend(mirrored);
    ops
}

/// Whether an update changed a column the source uses (only those can change documents). Text
/// that may hide a difference of the stored bytes (an undecodable or ambiguous charset value) is
/// compared raw ([`crate::binlog::RowChange::column_changed`]).
fn used_column_changed(
    source: &SourceTable,
    event: &RowsEvent,
    change: &crate::binlog::RowChange,
) -> bool {
    if change.before.is_none() || change.after.is_none() {
        return true;
    }
    source
        .columns
        .iter()
        .any(|c| match event.plan.column_index(c) {
            Some(i) => change.column_changed(i),
            // A column the image lacks: the table changed shape; rebuild to be safe.
            None => true,
        })
}
