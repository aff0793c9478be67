//! `mee verify`: compares what an alias serves with the documents a fresh full update would build
//! from MySQL, without writing anything.
//!
//! 1. The index is the one the alias points at (or one named explicitly), fixed at the start so
//!    that an alias moving meanwhile does not mix two generations.
//! 2. MySQL is read exactly as the full update reads it: keyset pages of master rows inside one
//!    consistent snapshot, completed with batched reads ([`IndexPipeline::read_page`]). Each page
//!    is looked up in the index with one `_mget` (realtime, so no refresh is needed) and compared
//!    as parsed JSON: a document the index lacks is *missing*, one whose source differs is
//!    *different*. Memory stays bounded by the page size; only the set of built ids is kept.
//! 3. A scroll over the index then finds the *extra* documents: ids the snapshot did not build.
//! 4. The source may change while this runs (and a follower may apply the change): every
//!    document that looks wrong is looked at once more after a short delay, rebuilt from current
//!    MySQL and read again from the index, and reported only if it is still wrong. Extra documents
//!    are rebuilt by taking their id as the master key, which is exact when the pipeline's ids are
//!    its master keys (checked on every built document); otherwise an extra document that is
//!    still there after the delay is reported.

use crate::binlog::BinlogPosition;
use crate::es::{EsClient, EsError};
use crate::mysql::{MysqlError, Session, Source, Statement};
use crate::pipeline::{IndexPipeline, resolve_statements};
use crate::value::Value;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How a verification runs.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Master rows per page, and so documents per `_mget` and per scroll page.
    pub page_size: usize,
    /// The alias to verify instead of the pipeline's (an `--alias-prefix`).
    pub alias: Option<String>,
    /// A concrete index to verify instead of the one the alias points at (a generation that is
    /// still being built, or one of several behind the alias).
    pub index: Option<String>,
    /// How long to wait before looking at a document that differs a second time.
    pub recheck_delay: Duration,
    /// How many ids (and differing documents) the report keeps as examples.
    pub sample: usize,
    /// How many differing fields the report keeps per differing document.
    pub fields_per_doc: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            page_size: 500,
            alias: None,
            index: None,
            recheck_delay: Duration::from_secs(2),
            sample: 10,
            fields_per_doc: 5,
        }
    }
}

/// The two passes of a verification, for progress output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyPhase {
    /// Building documents from MySQL and comparing them with the index.
    Compare,
    /// Scanning the index for documents MySQL does not build.
    Extras,
}

/// Progress of a running verification.
pub trait VerifyProgress: Send + Sync {
    /// A phase starts; `total` is the number of documents in the index, when known.
    fn start(&self, phase: VerifyPhase, total: Option<u64>);
    /// Documents handled in this phase so far, and differences found in all phases so far.
    fn update(&self, done: u64, differences: u64);
    fn finish(&self);
}

/// No progress output.
#[derive(Debug, Default)]
pub struct NoVerifyProgress;

impl VerifyProgress for NoVerifyProgress {
    fn start(&self, _: VerifyPhase, _: Option<u64>) {}
    fn update(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// A kind of difference: how many, and the first few ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Finding {
    pub count: u64,
    pub sample: Vec<String>,
}

impl Finding {
    fn add(&mut self, id: &str, keep: usize) {
        self.count += 1;
        if self.sample.len() < keep {
            self.sample.push(id.to_string());
        }
    }
}

/// One field that differs: `expected` is what MySQL builds, `found` what the index holds;
/// `None` means the field (or array element) is absent on that side.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    /// `customer_name`, `items[2].quantity`; empty for the document as a whole.
    pub path: String,
    pub expected: Option<Json>,
    pub found: Option<Json>,
}

/// A document that differs, with its first differing fields.
#[derive(Clone, Debug, PartialEq)]
pub struct DocDiff {
    pub id: String,
    pub fields: Vec<FieldDiff>,
    /// Differing fields beyond those kept.
    pub more_fields: usize,
}

/// What a verification found.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub alias: String,
    /// The concrete index compared.
    pub index: String,
    /// The MySQL snapshot the documents were built from.
    pub snapshot: BinlogPosition,
    /// Documents built from MySQL.
    pub built: u64,
    /// Master rows whose document could not be built (a full update sends them to the retry
    /// table, so the index should not hold them either).
    pub build_failures: u64,
    /// Documents the scan of the index saw.
    pub indexed: u64,
    /// Built, but not in the index.
    pub missing: Finding,
    /// In the index, but not built.
    pub extra: Finding,
    /// In both, with different sources; `diffs` holds the first few.
    pub different: Finding,
    pub diffs: Vec<DocDiff>,
    /// Documents that differed at first look but were equal on the second (the source or the
    /// index changed while verifying).
    pub settled: u64,
    pub elapsed: Duration,
}

impl VerifyReport {
    /// Whether the index holds exactly the documents MySQL builds.
    pub fn is_equal(&self) -> bool {
        self.differences() == 0
    }

    /// Missing, extra and different documents together.
    pub fn differences(&self) -> u64 {
        self.missing.count + self.extra.count + self.different.count
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("reading MySQL failed: {0}")]
    Mysql(#[from] MysqlError),
    #[error("reading Elasticsearch failed: {0}")]
    Es(#[from] EsError),
    #[error(
        "the alias `{0}` does not exist, so there is nothing to verify; build the index with `mee update` or `mee run` first"
    )]
    NoAlias(String),
    #[error(
        "the alias `{alias}` points at several indices ({}); name the one to verify with `--index`",
        targets.join(", ")
    )]
    SeveralTargets { alias: String, targets: Vec<String> },
    #[error("the index `{0}` does not exist; check its name (GET _cat/indices lists them)")]
    NoIndex(String),
}

/// Compares the index behind `options.alias` (or the pipeline's alias) with what a fresh full
/// update would build from `source`. See the module docs.
pub async fn verify(
    index: &dyn IndexPipeline,
    source: &Source,
    es: &EsClient,
    options: &VerifyOptions,
    progress: &dyn VerifyProgress,
) -> Result<VerifyReport, VerifyError> {
    let started = Instant::now();
    let alias = options
        .alias
        .clone()
        .unwrap_or_else(|| index.alias().to_string());
    let target = match &options.index {
        Some(name) => {
            if !es.index_exists(name).await? {
                return Err(VerifyError::NoIndex(name.clone()));
            }
            name.clone()
        }
        None => {
            let mut targets = es.alias_targets(&alias).await?;
            match targets.len() {
                0 => return Err(VerifyError::NoAlias(alias)),
                1 => targets.remove(0),
                _ => return Err(VerifyError::SeveralTargets { alias, targets }),
            }
        }
    };
    let statements = resolve_statements(index, source);
    let page_size = options.page_size.max(1);
    let total = es.count(&target, None).await.ok();
    let mut check = Checker {
        index,
        es,
        target: &target,
        statements: &statements,
        options,
        session: None,
        pending: Vec::new(),
        ids_are_keys: true,
        missing: Finding::default(),
        extra: Finding::default(),
        different: Finding::default(),
        diffs: Vec::new(),
        settled: 0,
    };

    // Pass 1: every document MySQL builds, page by page against `_mget`.
    progress.start(VerifyPhase::Compare, total);
    let (mut snapshot, position) = source.snapshot().await?;
    let mut built_ids: HashSet<String> = HashSet::new();
    let (mut built, mut build_failures) = (0u64, 0u64);
    let mut after: Option<Value> = None;
    loop {
        let page = index
            .read_page(snapshot.session(), &statements, after.take(), page_size)
            .await?;
        if page.master_rows == 0 {
            break;
        }
        let mut expected = Vec::with_capacity(page.docs.len());
        for doc in page.docs {
            let Some(json) = doc
                .source
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Json>(&bytes).ok())
            else {
                build_failures += 1;
                continue;
            };
            check.ids_are_keys &= doc.id == crate::eval::text::to_text(&doc.key);
            built_ids.insert(doc.id.clone());
            expected.push(Candidate {
                key: Some(doc.key),
                id: doc.id,
                routing: doc.routing,
                expected: Some(json),
            });
        }
        built += expected.len() as u64;
        check.first_look(expected).await?;
        if check.pending.len() >= page_size {
            check.second_look(source).await?;
        }
        progress.update(built, check.differences());
        match page.last_key {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    snapshot.finish().await?;
    check.second_look(source).await?;

    // Pass 2: documents in the index that MySQL did not build.
    progress.start(VerifyPhase::Extras, total);
    let keep_alive = "5m";
    let mut indexed = 0u64;
    let mut page = es
        .scroll_open(&target, page_size, keep_alive, false)
        .await?;
    let scan = async {
        loop {
            if page.hits.is_empty() {
                break;
            }
            indexed += page.hits.len() as u64;
            for hit in std::mem::take(&mut page.hits) {
                if !built_ids.contains(&hit.id) {
                    check.pending.push(Candidate {
                        key: None,
                        id: hit.id,
                        routing: hit.routing,
                        expected: None,
                    });
                }
            }
            if check.pending.len() >= page_size {
                check.second_look(source).await?;
            }
            progress.update(indexed, check.differences());
            let Some(id) = page.scroll_id.clone() else {
                break;
            };
            page = es.scroll_next(&id, keep_alive).await?;
        }
        check.second_look(source).await
    };
    let scanned = scan.await;
    if let Some(id) = &page.scroll_id
        && let Err(e) = es.scroll_close(id).await
    {
        tracing::warn!(error = %e, "could not free the scroll context; it expires by itself");
    }
    scanned?;
    progress.finish();
    Ok(VerifyReport {
        alias,
        index: target.clone(),
        snapshot: position,
        built,
        build_failures,
        indexed,
        missing: check.missing,
        extra: check.extra,
        different: check.different,
        diffs: check.diffs,
        settled: check.settled,
        elapsed: started.elapsed(),
    })
}

/// A document to compare: what MySQL built (`None`: it should not be in the index) and where
/// it lives.
struct Candidate {
    /// The master key it was built from; `None` for a document found only in the index.
    key: Option<Value>,
    id: String,
    routing: Option<String>,
    expected: Option<Json>,
}

/// The comparison state shared by both passes.
struct Checker<'a> {
    index: &'a dyn IndexPipeline,
    es: &'a EsClient,
    target: &'a str,
    statements: &'a [Statement],
    options: &'a VerifyOptions,
    /// A plain (non-snapshot) connection for second looks, opened on first use.
    session: Option<Session>,
    /// Documents that looked wrong, waiting for their second look.
    pending: Vec<Candidate>,
    /// Whether every built document's id is the text of its master key (so an extra id can be
    /// looked up as a key).
    ids_are_keys: bool,
    missing: Finding,
    extra: Finding,
    different: Finding,
    diffs: Vec<DocDiff>,
    settled: u64,
}

impl Checker<'_> {
    fn differences(&self) -> u64 {
        self.missing.count + self.extra.count + self.different.count
    }

    /// Compares built documents with the index; the ones that differ wait for a second look.
    async fn first_look(&mut self, docs: Vec<Candidate>) -> Result<(), VerifyError> {
        let found = self.fetch(&docs).await?;
        for (doc, found) in docs.into_iter().zip(found) {
            if doc.expected.as_ref() != found.as_ref() {
                self.pending.push(doc);
            }
        }
        Ok(())
    }

    /// After the delay, rebuilds the pending documents from current MySQL, reads them again
    /// from the index, and records those that still differ.
    async fn second_look(&mut self, source: &Source) -> Result<(), VerifyError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        tokio::time::sleep(self.options.recheck_delay).await;
        let keys: Vec<Value> = pending
            .iter()
            .filter_map(|c| match &c.key {
                Some(key) => Some(key.clone()),
                None => self.ids_are_keys.then(|| key_from_id(&c.id)),
            })
            .collect();
        let mut rebuilt: HashMap<String, Json> = HashMap::new();
        if !keys.is_empty() {
            let session = match &mut self.session {
                Some(s) => s,
                None => self.session.insert(source.session().await?),
            };
            let page = self.index.read_keys(session, self.statements, keys).await?;
            for doc in page.docs {
                if let Some(json) = doc
                    .source
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<Json>(&bytes).ok())
                {
                    rebuilt.insert(doc.id, json);
                }
            }
        }
        let found = self.fetch(&pending).await?;
        let keep = self.options.sample;
        for (doc, found) in pending.into_iter().zip(found) {
            let expected = rebuilt.remove(&doc.id);
            match (expected, found) {
                (None, None) => self.settled += 1,
                (Some(e), Some(f)) if e == f => self.settled += 1,
                (Some(_), None) => self.missing.add(&doc.id, keep),
                (None, Some(_)) => self.extra.add(&doc.id, keep),
                (Some(e), Some(f)) => {
                    self.different.add(&doc.id, keep);
                    if self.diffs.len() < keep {
                        let (fields, total) = diff_fields(&e, &f, self.options.fields_per_doc);
                        self.diffs.push(DocDiff {
                            id: doc.id,
                            more_fields: total - fields.len(),
                            fields,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The index's sources of `docs`, in order (`None` where there is no such document).
    async fn fetch(&self, docs: &[Candidate]) -> Result<Vec<Option<Json>>, VerifyError> {
        let ids: Vec<(String, Option<String>)> = docs
            .iter()
            .map(|d| (d.id.clone(), d.routing.clone()))
            .collect();
        Ok(self
            .es
            .mget(self.target, &ids)
            .await?
            .into_iter()
            .map(|d| d.map(|d| d.source))
            .collect())
    }
}

/// A document id as a master key value: integer keys are bound as integers.
fn key_from_id(id: &str) -> Value {
    if let Ok(i) = id.parse::<i64>() {
        Value::Int(i)
    } else if let Ok(u) = id.parse::<u64>() {
        Value::UInt(u)
    } else {
        Value::Text(id.to_string())
    }
}

/// The fields where `found` differs from `expected` as paths (`items[1].quantity`): the first
/// `keep` of them, and how many there are in all.
pub fn diff_fields(expected: &Json, found: &Json, keep: usize) -> (Vec<FieldDiff>, usize) {
    let mut out = Vec::new();
    let mut total = 0;
    walk(
        &mut String::new(),
        Some(expected),
        Some(found),
        keep,
        &mut out,
        &mut total,
    );
    (out, total)
}

fn walk(
    path: &mut String,
    expected: Option<&Json>,
    found: Option<&Json>,
    keep: usize,
    out: &mut Vec<FieldDiff>,
    total: &mut usize,
) {
    match (expected, found) {
        (Some(Json::Object(e)), Some(Json::Object(f))) => {
            let names = e.keys().chain(f.keys().filter(|k| !e.contains_key(*k)));
            for name in names {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                walk(path, e.get(name), f.get(name), keep, out, total);
                path.truncate(len);
            }
        }
        (Some(Json::Array(e)), Some(Json::Array(f))) => {
            for i in 0..e.len().max(f.len()) {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(path, e.get(i), f.get(i), keep, out, total);
                path.truncate(len);
            }
        }
        (e, f) if e == f => {}
        (e, f) => {
            *total += 1;
            if out.len() < keep {
                out.push(FieldDiff {
                    path: path.clone(),
                    expected: e.cloned(),
                    found: f.cloned(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_named_by_field_path() {
        let expected = json!({
            "order_id": 1,
            "customer_name": "Ann",
            "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 2}],
        });
        let found = json!({
            "order_id": 1,
            "customer_name": "Bob",
            "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 3}, {"sku": "c"}],
            "stray": true,
        });
        let (fields, total) = diff_fields(&expected, &found, 10);
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["customer_name", "items[1].quantity", "items[2]", "stray"]
        );
        assert_eq!(total, 4);
        assert_eq!(fields[0].expected, Some(json!("Ann")));
        assert_eq!(fields[0].found, Some(json!("Bob")));
        assert_eq!(fields[2].expected, None, "an element only the index has");
    }

    #[test]
    fn only_the_first_fields_are_kept_but_all_are_counted() {
        let (fields, total) = diff_fields(&json!({"a": 1, "b": 2, "c": 3}), &json!({}), 2);
        assert_eq!(fields.len(), 2);
        assert_eq!(total, 3);
        assert_eq!(diff_fields(&json!({"a": [1]}), &json!({"a": [1]}), 5).1, 0);
    }

    #[test]
    fn a_type_change_is_one_difference_at_its_path() {
        let (fields, total) = diff_fields(&json!({"a": {"b": 1}}), &json!({"a": [1]}), 5);
        assert_eq!(total, 1);
        assert_eq!(fields[0].path, "a");
    }

    #[test]
    fn integer_ids_are_looked_up_as_integers() {
        assert_eq!(key_from_id("42"), Value::Int(42));
        assert_eq!(key_from_id("18446744073709551615"), Value::UInt(u64::MAX));
        assert_eq!(key_from_id("a-1"), Value::Text("a-1".into()));
    }
}
