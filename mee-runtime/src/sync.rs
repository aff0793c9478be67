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

use crate::binlog::{RowKind, RowsEvent};
use crate::es::{BatchOutcome, BulkOp, BulkWriter, EsError, VersionType};
use crate::mysql::{MysqlError, Session, SourceConfig, Statement};
use crate::pipeline::{IndexPipeline, Key, SourceRole, SourceTable, affected_keys, distinct_keys};
use crate::value::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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
/// binlog position of the batch's last transaction.
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
    for chunk in keys.chunks(REBUILD_CHUNK) {
        let page = index.read_keys(session, statements, chunk.to_vec()).await?;
        for doc in page.docs {
            match doc.source {
                Ok(json) => {
                    placed.insert((doc.id.clone(), doc.routing.clone()));
                    let mut op = BulkOp::index(write_to.clone(), doc.id, json)
                        .version(version, VersionType::ExternalGte);
                    if let Some(r) = doc.routing {
                        op = op.routing(r);
                    }
                    ops.push(op);
                    applied.rebuilt += 1;
                }
                Err(e) => applied.build_failures.push((doc.key, e.to_string())),
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
