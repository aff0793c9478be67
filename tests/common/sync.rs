//! Shared steps of the sync tests: apply what the binlog holds to an index, and check an index
//! against the correctness contract (it equals what a fresh full update of the current MySQL
//! state builds, document for document, with `_id`, routing and source).

use mee_runtime::binlog::{BinlogEvent, BinlogPosition, BinlogReader, ReaderConfig, StartAt};
use mee_runtime::binlog::{RowsEvent, TableFilter};
use mee_runtime::es::{BulkConfig, BulkFailure, BulkWriter, EsClient, ScanOptions};
use mee_runtime::mysql::{Session, Source};
use mee_runtime::pipeline::{IndexPipeline, resolve_statements};
use mee_runtime::sync::{SyncTarget, apply_changes, logical_names};
use mee_runtime::update::{CollectFailures, NoProgress, UpdateOptions, full_update};
use mee_runtime::value::Value;
use mee_testkit::{TestEs, TestFailure, TestMysql, TestResult, fail};
use serde_json::Value as Json;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// What [`apply_binlog`] did, summed over its batches.
#[derive(Debug, Default)]
pub struct Synced {
    /// Where the binlog ended: the next sync starts here.
    pub position: Option<BinlogPosition>,
    /// Batches applied (one per transaction with rows of the test's databases).
    pub batches: usize,
    /// Statements logged as text (DDL) that were passed over.
    pub statements: usize,
    pub relevant_rows: usize,
    pub rebuilt: usize,
    pub deleted: usize,
    /// Deletes of documents that were already gone.
    pub not_found: u64,
    pub build_failures: Vec<(Value, String)>,
    pub rejected: Vec<BulkFailure>,
}

impl Synced {
    /// Where the next sync starts.
    pub fn position(&self) -> TestResult<BinlogPosition> {
        self.position
            .clone()
            .ok_or_else(|| TestFailure::new("the binlog read ended without a position"))
    }

    /// Fails unless every document built and Elasticsearch accepted every write.
    pub fn all_written(&self) -> TestResult<&Self> {
        if self.build_failures.is_empty() && self.rejected.is_empty() {
            Ok(self)
        } else {
            Err(TestFailure::new(format!(
                "the sync did not write everything: build failures {:?}, rejected {:?}",
                self.build_failures, self.rejected
            )))
        }
    }
}

/// A replica server id of its own for every binlog reader a test opens: two readers with one id
/// would make the server drop the older one. Derived from the test's random database prefix and
/// a counter, far above the ids other test files use.
fn server_id(mysql: &TestMysql) -> u32 {
    static READERS: AtomicU32 = AtomicU32::new(0);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    mysql.prefix().hash(&mut h);
    READERS.fetch_add(1, Ordering::Relaxed).hash(&mut h);
    1_200_000_000 + (h.finish() % 1_000_000_000) as u32
}

/// `batch_rows` of [`apply_binlog`]: each transaction is a batch of its own.
pub const EACH_TRANSACTION: usize = 1;
/// `batch_rows` of [`apply_binlog`]: everything read is one batch.
pub const ONE_BATCH: usize = usize::MAX;

/// Applies everything the binlog holds from `from` to its current end for the test's databases
/// to `write_to` (an alias or an index) with `apply_changes`, as `mee run` does: a batch ends at
/// the first commit after it holds `batch_rows` row changes (or at the end of the binlog), and
/// is versioned with that commit's position.
pub async fn apply_binlog(
    mysql: &TestMysql,
    source: &Source,
    index: &dyn IndexPipeline,
    es: &EsClient,
    from: &BinlogPosition,
    write_to: &str,
    batch_rows: usize,
) -> TestResult<Synced> {
    let opts = mysql_async::Opts::from_url(&mysql.mee_url()).map_err(fail)?;
    let physical: Vec<String> = mysql.database_map().values().cloned().collect();
    let config = ReaderConfig::new(server_id(mysql), StartAt::Position(from.clone()))
        .non_blocking()
        .with_filter(TableFilter::schemas(physical));
    let mut reader = BinlogReader::connect(opts, config).await.map_err(fail)?;

    let statements = resolve_statements(index, source);
    let logical = logical_names(source.config());
    let target = SyncTarget {
        index,
        statements: &statements,
        logical: &logical,
        write_to: Arc::from(write_to),
    };
    let mut session = source.session().await.map_err(fail)?;
    let mut writer = BulkWriter::new(es.clone(), BulkConfig::default());
    let mut synced = Synced {
        position: Some(from.clone()),
        ..Synced::default()
    };
    let mut batch: Vec<RowsEvent> = Vec::new();
    let mut rows_in_batch = 0;
    let mut uncommitted = false;
    while let Some(event) = reader.next().await.map_err(fail)? {
        match event {
            BinlogEvent::Rows(rows) => {
                rows_in_batch += rows.rows.len();
                batch.push(rows);
                uncommitted = true;
            }
            BinlogEvent::Commit { position, .. } => {
                uncommitted = false;
                synced.position = Some(position);
                if rows_in_batch >= batch_rows {
                    apply_batch(&target, &mut session, &mut writer, &mut batch, &mut synced)
                        .await?;
                    rows_in_batch = 0;
                }
            }
            BinlogEvent::Ddl { position, .. } => {
                synced.statements += 1;
                synced.position = Some(position);
            }
            BinlogEvent::Rotate { position, .. } => synced.position = Some(position),
            BinlogEvent::Idle => {}
        }
    }
    reader.close().await.map_err(fail)?;
    if uncommitted {
        return Err(TestFailure::new(
            "the binlog ended inside a transaction: its rows were not applied",
        ));
    }
    apply_batch(&target, &mut session, &mut writer, &mut batch, &mut synced).await?;
    Ok(synced)
}

/// Applies the rows of `batch` (if any) with the version of the current position, and empties it.
async fn apply_batch(
    target: &SyncTarget<'_>,
    session: &mut Session,
    writer: &mut BulkWriter,
    batch: &mut Vec<RowsEvent>,
    synced: &mut Synced,
) -> TestResult {
    if batch.is_empty() {
        return Ok(());
    }
    let version = synced.position()?.version();
    let applied = apply_changes(target, session, batch, writer, version)
        .await
        .map_err(fail)?;
    batch.clear();
    synced.batches += 1;
    synced.relevant_rows += applied.relevant_rows;
    synced.rebuilt += applied.rebuilt;
    synced.deleted += applied.deleted;
    synced.not_found += applied.outcome.not_found;
    synced.build_failures.extend(applied.build_failures);
    synced.rejected.extend(applied.outcome.failures);
    Ok(())
}

/// One document as Elasticsearch holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    pub id: String,
    pub routing: Option<String>,
    pub source: Json,
}

/// Every document of `index` (an alias or an index), sorted by `_id`, after a refresh.
pub async fn documents(es: &EsClient, index: &str) -> TestResult<Vec<Doc>> {
    es.refresh(index).await.map_err(fail)?;
    let mut scan = es.scan(index, ScanOptions::default());
    let mut docs = Vec::new();
    while let Some(hits) = scan.next_page().await.map_err(fail)? {
        docs.extend(hits.into_iter().map(|h| Doc {
            id: h.id,
            routing: h.routing,
            source: h.source,
        }));
    }
    docs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(docs)
}

/// The document with `_id` `id`, if there is one.
pub fn find<'a>(docs: &'a [Doc], id: &str) -> Option<&'a Doc> {
    docs.iter().find(|d| d.id == id)
}

/// The documents a fresh full update of the current MySQL state builds (into a scratch alias of
/// the test, deleted afterwards).
pub async fn fresh_documents(
    index: &dyn IndexPipeline,
    source: &Source,
    es: &EsClient,
    test_es: &TestEs,
) -> TestResult<Vec<Doc>> {
    static SCRATCH: AtomicU32 = AtomicU32::new(0);
    let alias = test_es.name(&format!("fresh{}", SCRATCH.fetch_add(1, Ordering::Relaxed)));
    let options = UpdateOptions {
        alias: Some(alias.clone()),
        keep_generations: 0,
        ..UpdateOptions::default()
    };
    let mut failures = CollectFailures::default();
    let report = full_update(index, source, es, &options, &mut failures, &NoProgress)
        .await
        .map_err(fail)?;
    if !failures.0.is_empty() {
        return Err(TestFailure::new(format!(
            "the fresh full update could not build every document: {:?}",
            failures.0
        )));
    }
    let docs = documents(es, &alias).await?;
    es.delete_index(&report.index).await.map_err(fail)?;
    Ok(docs)
}

/// The correctness contract: `index` holds exactly the documents (`_id`, routing and source) a
/// fresh full update of the current MySQL state builds. Returns them for the case's own checks;
/// on a difference, fails with a per-document diff.
pub async fn assert_equals_fresh(
    index: &dyn IndexPipeline,
    source: &Source,
    es: &EsClient,
    test_es: &TestEs,
    synced: &str,
) -> TestResult<Vec<Doc>> {
    let expected = fresh_documents(index, source, es, test_es).await?;
    let actual = documents(es, synced).await?;
    if actual == expected {
        return Ok(actual);
    }
    Err(TestFailure::new(format!(
        "`{synced}` differs from a fresh full update of the current MySQL state:\n{}",
        diff(&actual, &expected)
    )))
}

/// Waits until `index` holds exactly `expected` (for an engine that applies changes on its own);
/// on timeout, fails with the difference last seen.
pub async fn eventually_equal(
    es: &EsClient,
    index: &str,
    expected: &[Doc],
    timeout: Duration,
) -> TestResult {
    let last = RefCell::new(Vec::new());
    let seen = &last;
    let waited = mee_testkit::eventually(
        &format!("`{index}` to equal a fresh full update"),
        timeout,
        move || async move {
            let docs = documents(es, index).await?;
            let equal = docs == expected;
            *seen.borrow_mut() = docs;
            Ok(equal.then_some(()))
        },
    )
    .await;
    waited.map_err(|e| TestFailure::new(format!("{e}:\n{}", diff(&last.borrow(), expected))))
}

/// A readable difference between two sorted document lists.
pub fn diff(actual: &[Doc], expected: &[Doc]) -> String {
    let mut out = String::new();
    for want in expected {
        match find(actual, &want.id) {
            None => {
                let _ = writeln!(
                    out,
                    "  missing: {} (routing {:?}) {}",
                    want.id, want.routing, want.source
                );
            }
            Some(got) if got != want => {
                let _ = writeln!(out, "  differs: {}", want.id);
                if got.routing != want.routing {
                    let _ = writeln!(
                        out,
                        "    routing: {:?}, expected {:?}",
                        got.routing, want.routing
                    );
                }
                field_diff(&mut out, &got.source, &want.source);
            }
            Some(_) => {}
        }
    }
    for got in actual {
        if find(expected, &got.id).is_none() {
            let _ = writeln!(
                out,
                "  unexpected: {} (routing {:?}) {}",
                got.id, got.routing, got.source
            );
        }
    }
    out
}

fn field_diff(out: &mut String, got: &Json, want: &Json) {
    let (Some(got), Some(want)) = (got.as_object(), want.as_object()) else {
        let _ = writeln!(out, "    source: {got}, expected {want}");
        return;
    };
    for (field, w) in want {
        match got.get(field) {
            Some(g) if g == w => {}
            Some(g) => {
                let _ = writeln!(out, "    {field}: {g}, expected {w}");
            }
            None => {
                let _ = writeln!(out, "    {field}: absent, expected {w}");
            }
        }
    }
    for (field, g) in got {
        if !want.contains_key(field) {
            let _ = writeln!(out, "    {field}: {g}, not expected");
        }
    }
}
