//! The retry table (dead letters): documents that failed to build or that Elasticsearch
//! rejected, kept in an Elasticsearch index until a replay succeeds.
//!
//! One record per (pipeline, alias, master key): the id is a hash of the three, so the same
//! failing document always lands on the same record and its `attempts` grows. The test server
//! has no scripts, so the increment is a read-modify-write: one `_mget` reads the batch's existing
//! records, one `_bulk` writes them back conditionally (`if_seq_no` for records that exist,
//! `create` for new ones), and the few items that lost a race with another writer are read and
//! written again. A batch of failures therefore costs two requests in the common case.
//!
//! Recording is part of the checkpoint contract: [`RetryTable::record_failures`] returns `Ok`
//! only when every failure is stored, and an error otherwise, in which case the caller must not
//! advance its checkpoint past the failed documents.
//!
//! Under network trouble `attempts` may count one attempt twice (a write whose answer was lost is
//! read back and counted again); it never loses a failure.

use super::docio::{self, SeqNo, WriteCond};
use super::error::{StateError, StateResult};
use super::model::{ExtraFields, Position, truncate};
use super::time::{Clock, SystemClock, Timestamp};
use crate::es::{BulkFailure, EsClient};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default name of the retry index (no leading dot, see [`super::DEFAULT_STATE_INDEX`]).
pub const DEFAULT_RETRY_INDEX: &str = "mee-retry";

/// Error texts longer than this (in bytes) are cut: a reason can quote a whole document.
pub const RETRY_ERROR_MAX: usize = 8000;

/// Where and how the retry table keeps its records.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    pub index: String,
    /// Records per `_bulk` request; a larger batch of failures is split.
    pub max_bulk_ops: usize,
    /// Read-and-write rounds for records that another writer changed at the same time.
    pub max_conflict_rounds: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            index: DEFAULT_RETRY_INDEX.to_string(),
            max_bulk_ops: 1000,
            max_conflict_rounds: 10,
        }
    }
}

/// Why a document is in the retry table.
///
/// Stored as `{"kind": "build_failed"}` or
/// `{"kind": "rejected", "status": 400, "type": "mapper_parsing_exception"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureKind {
    /// The document could not be built (a source read or a conversion failed).
    BuildFailed,
    /// Elasticsearch refused the document.
    Rejected {
        status: u16,
        #[serde(rename = "type")]
        error_type: String,
    },
}

/// Identifies one record: the pipeline, the alias and the master key of the document.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryKey {
    pub pipeline: String,
    pub alias: String,
    pub master_key: Vec<Value>,
}

impl RetryKey {
    /// The record id: 32 hex digits of the 128-bit FNV-1a hash of the pipeline, the alias and the
    /// master key's JSON, separated by NUL bytes. A hash rather than the readable key because keys
    /// can be long or binary and ids are limited to 512 bytes; the readable parts are stored in
    /// the record.
    pub fn id(&self) -> String {
        retry_id(&self.pipeline, &self.alias, &self.master_key)
    }
}

fn retry_id(pipeline: &str, alias: &str, master_key: &[Value]) -> String {
    // serde_json cannot fail on `Value` (no maps with non-string keys), and an empty key text
    // would still hash deterministically.
    let key_json = serde_json::to_vec(master_key).unwrap_or_default();
    let mut h = Fnv128::new();
    h.write(pipeline.as_bytes());
    h.write(&[0]);
    h.write(alias.as_bytes());
    h.write(&[0]);
    h.write(&key_json);
    format!("{:032x}", h.finish())
}

/// FNV-1a with 128-bit state: tiny, stable across versions and platforms (a stored id must never
/// change), and wide enough that collisions are not a concern for any retry table size.
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn new() -> Self {
        Fnv128(Self::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn finish(&self) -> u128 {
        self.0
    }
}

/// One failure to record.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedDoc {
    pub pipeline: String,
    pub alias: String,
    /// The concrete index the write targeted, when there was one.
    pub index: Option<String>,
    pub document_id: String,
    pub routing: Option<String>,
    /// The master row's key, one value per key column.
    pub master_key: Vec<Value>,
    pub error: String,
    pub error_kind: FailureKind,
    /// The external version of the failed write.
    pub version: Option<u64>,
    /// The source position of the change that caused the write.
    pub position: Option<Position>,
}

impl FailedDoc {
    /// A document Elasticsearch rejected, as the bulk writer reported it.
    pub fn rejected(
        pipeline: impl Into<String>,
        alias: impl Into<String>,
        master_key: Vec<Value>,
        failure: &BulkFailure,
    ) -> Self {
        FailedDoc {
            pipeline: pipeline.into(),
            alias: alias.into(),
            index: Some(failure.op.index.clone()).filter(|i| !i.is_empty()),
            document_id: failure.op.id.clone(),
            routing: failure.op.routing.clone(),
            master_key,
            error: failure.reason.clone(),
            error_kind: FailureKind::Rejected {
                status: failure.status,
                error_type: failure.error_type.clone(),
            },
            version: failure.op.version,
            position: None,
        }
    }

    /// A document that could not be built.
    pub fn build_failed(
        pipeline: impl Into<String>,
        alias: impl Into<String>,
        document_id: impl Into<String>,
        master_key: Vec<Value>,
        error: impl Into<String>,
    ) -> Self {
        FailedDoc {
            pipeline: pipeline.into(),
            alias: alias.into(),
            index: None,
            document_id: document_id.into(),
            routing: None,
            master_key,
            error: error.into(),
            error_kind: FailureKind::BuildFailed,
            version: None,
            position: None,
        }
    }

    pub fn key(&self) -> RetryKey {
        RetryKey {
            pipeline: self.pipeline.clone(),
            alias: self.alias.clone(),
            master_key: self.master_key.clone(),
        }
    }

    pub fn with_position(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
    }
}

/// A stored record.
///
/// Stored in the retry index under id [`RetryKey::id`], with the envelope fields `doc_id` and
/// `format` added. Optional fields are absent when unknown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryRecord {
    /// json: `pipeline`
    pub pipeline: String,
    /// json: `alias`
    pub alias: String,
    /// json: `index`, the concrete index of the last failed write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// json: `document_id`
    pub document_id: String,
    /// json: `routing`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<String>,
    /// json: `master_key`, an array of [`Value`]s in their serde form (`{"t": "Int", "v": 5}`).
    pub master_key: Vec<Value>,
    /// json: `error`, the last error, at most [`RETRY_ERROR_MAX`] bytes.
    pub error: String,
    /// json: `error_kind`, see [`FailureKind`].
    pub error_kind: FailureKind,
    /// json: `attempts`, failures recorded since the record was created or last resolved.
    pub attempts: u32,
    /// json: `first_seen`
    pub first_seen: Timestamp,
    /// json: `last_seen`
    pub last_seen: Timestamp,
    /// json: `version`, the external version of the last failed write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// json: `position`, the source position of the last failure (a [`Position`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// json: `resolved`, true once a replay wrote the document.
    #[serde(default)]
    pub resolved: bool,
    /// json: `resolved_at`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// Fields written by a newer mee, kept as they are.
    #[serde(flatten, default)]
    pub extra: ExtraFields,
}

impl RetryRecord {
    pub fn key(&self) -> RetryKey {
        RetryKey {
            pipeline: self.pipeline.clone(),
            alias: self.alias.clone(),
            master_key: self.master_key.clone(),
        }
    }

    /// The record after `failures` more failures of its document (the last one describes it).
    /// A resolved record starts a new episode: its attempts count from zero again, so a document
    /// that breaks again long after it was fixed gets its retries anew.
    fn merged(previous: Option<RetryRecord>, failures: &[&FailedDoc], now: Timestamp) -> Self {
        let count = u32::try_from(failures.len()).unwrap_or(u32::MAX);
        let (attempts, first_seen, extra) = match previous {
            Some(p) if !p.resolved => (p.attempts.saturating_add(count), p.first_seen, p.extra),
            Some(p) => (count, now, p.extra),
            None => (count, now, ExtraFields::new()),
        };
        // `failures` is never empty: callers group at least one failure per record.
        let last = failures[failures.len() - 1];
        RetryRecord {
            pipeline: last.pipeline.clone(),
            alias: last.alias.clone(),
            index: last.index.clone(),
            document_id: last.document_id.clone(),
            routing: last.routing.clone(),
            master_key: last.master_key.clone(),
            error: truncate(last.error.clone(), RETRY_ERROR_MAX),
            error_kind: last.error_kind.clone(),
            attempts,
            first_seen,
            last_seen: now,
            version: last.version,
            position: last.position.clone(),
            resolved: false,
            resolved_at: None,
            extra,
        }
    }
}

/// A record as read, with its id and the concurrency token that [`RetryTable::mark_resolved`]
/// needs to tell whether the document failed again in the meantime.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryEntry {
    pub id: String,
    pub seq: SeqNo,
    pub record: RetryRecord,
}

/// What [`RetryTable::record_failures`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordOutcome {
    /// New records.
    pub created: usize,
    /// Existing records whose attempts grew.
    pub updated: usize,
}

/// What [`RetryTable::mark_resolved`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolveOutcome {
    /// Records now marked resolved.
    pub resolved: usize,
    /// Ids of records that were written since they were read (the document failed again, or is
    /// gone): they stay as they are.
    pub changed: Vec<String>,
}

/// Which records a listing or count selects, within one pipeline. Empty means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryFilter {
    pub alias: Option<String>,
    pub resolved: Option<bool>,
    /// Only records with at least this many attempts.
    pub min_attempts: Option<u32>,
    /// Only records with fewer attempts than this.
    pub attempts_below: Option<u32>,
}

impl RetryFilter {
    /// Records not resolved yet.
    pub fn unresolved() -> Self {
        RetryFilter {
            resolved: Some(false),
            ..RetryFilter::default()
        }
    }

    fn query(&self, pipeline: &str) -> serde_json::Value {
        let mut filter = vec![json!({"term": {"pipeline": pipeline}})];
        if let Some(alias) = &self.alias {
            filter.push(json!({"term": {"alias": alias}}));
        }
        if let Some(resolved) = self.resolved {
            filter.push(json!({"term": {"resolved": resolved}}));
        }
        let mut range = serde_json::Map::new();
        if let Some(min) = self.min_attempts {
            range.insert("gte".into(), json!(min));
        }
        if let Some(below) = self.attempts_below {
            range.insert("lt".into(), json!(below));
        }
        if !range.is_empty() {
            filter.push(json!({"range": {"attempts": range}}));
        }
        json!({"bool": {"filter": filter}})
    }
}

/// The order of a listing, by the time of the last failure (ties by id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RetryOrder {
    /// Most recent failures first: what a human looking at `mee retry list` wants.
    #[default]
    NewestFirst,
    /// Longest-waiting first: the order replays take.
    OldestFirst,
}

/// Where a listing continues: the sort values of the last record of the previous page. Its
/// text form (JSON) can be passed around, e.g. as a command-line argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryCursor(serde_json::Value);

impl fmt::Display for RetryCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for RetryCursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v @ serde_json::Value::Array(_)) => Ok(RetryCursor(v)),
            _ => Err(format!("`{s}` is not a retry-table cursor")),
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub order: RetryOrder,
    pub after: Option<RetryCursor>,
}

impl PageRequest {
    pub fn first(size: usize, order: RetryOrder) -> Self {
        PageRequest {
            size,
            order,
            after: None,
        }
    }
}

/// A page of records and the cursor of the next page (`None` after the last).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RetryPage {
    pub entries: Vec<RetryEntry>,
    pub next: Option<RetryCursor>,
}

/// Request counters, for tests, metrics and the claim that a batch costs one `_bulk`.
#[derive(Debug, Default)]
struct Counters {
    mget_requests: AtomicU64,
    bulk_requests: AtomicU64,
    search_requests: AtomicU64,
    created: AtomicU64,
    updated: AtomicU64,
    conflict_rounds: AtomicU64,
}

/// A snapshot of the retry table's counters since it was made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryStats {
    pub mget_requests: u64,
    pub bulk_requests: u64,
    /// Searches and counts.
    pub search_requests: u64,
    pub created: u64,
    pub updated: u64,
    /// Extra read-and-write rounds caused by concurrent writers.
    pub conflict_rounds: u64,
}

/// The retry table. Cheap to clone; clones share counters.
#[derive(Clone)]
pub struct RetryTable {
    sys: docio::SystemIndex,
    config: RetryConfig,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
}

impl fmt::Debug for RetryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryTable")
            .field("index", &self.sys.index)
            .field("client", &self.sys.client)
            .finish()
    }
}

fn retry_settings() -> serde_json::Value {
    json!({
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
        "translog": {"durability": "request"}
    })
}

/// The mapping of the retry index: what listings filter and sort on is indexed; the master key
/// and the position are stored only, because their shapes vary. `dynamic: false` for the same
/// reason as the state index.
fn retry_mappings() -> serde_json::Value {
    let stored = json!({"type": "object", "enabled": false});
    json!({
        "dynamic": false,
        "properties": {
            "doc_id": {"type": "keyword"},
            "format": {"type": "integer"},
            "pipeline": {"type": "keyword"},
            "alias": {"type": "keyword"},
            "index": {"type": "keyword"},
            "document_id": {"type": "keyword"},
            "routing": {"type": "keyword"},
            "master_key": stored,
            "error": {"type": "text"},
            "error_kind": {"properties": {
                "kind": {"type": "keyword"},
                "status": {"type": "integer"},
                "type": {"type": "keyword"}
            }},
            "attempts": {"type": "integer"},
            "first_seen": {"type": "date"},
            "last_seen": {"type": "date"},
            "version": {"type": "long"},
            "position": stored,
            "resolved": {"type": "boolean"},
            "resolved_at": {"type": "date"}
        }
    })
}

/// The failures of one record within a call.
struct Group<'a> {
    id: String,
    failures: Vec<&'a FailedDoc>,
}

impl RetryTable {
    pub fn new(client: EsClient, config: RetryConfig) -> StateResult<Self> {
        Ok(RetryTable {
            sys: docio::SystemIndex::new(client, &config.index, "retry index")?,
            config,
            clock: Arc::new(SystemClock),
            counters: Arc::new(Counters::default()),
        })
    }

    /// Uses `clock` for `first_seen`/`last_seen`/`resolved_at` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn index(&self) -> &str {
        &self.sys.index
    }

    pub fn stats(&self) -> RetryStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RetryStats {
            mget_requests: get(&c.mget_requests),
            bulk_requests: get(&c.bulk_requests),
            search_requests: get(&c.search_requests),
            created: get(&c.created),
            updated: get(&c.updated),
            conflict_rounds: get(&c.conflict_rounds),
        }
    }

    /// Creates the retry index unless it exists (once per table and its clones).
    pub async fn ensure_index(&self) -> StateResult<()> {
        self.sys.ensure(retry_settings, retry_mappings).await
    }

    /// Makes recent records visible to listings and counts. Records are written without a
    /// refresh (a failing batch must not wait a refresh interval), so listings see them within
    /// the index's refresh interval; `mee retry` calls this first to show the newest ones.
    pub async fn refresh(&self) -> StateResult<()> {
        docio::refresh(&self.sys.client, self.sys.policy, &self.sys.index).await
    }

    /// Records failures: a new record for a document not in the table, `attempts` + 1 for one
    /// that is (+ n when it occurs n times in `failures`). One `_mget` and one `_bulk` per
    /// `max_bulk_ops` records, plus a round per batch in which another writer raced us.
    /// `Ok` means every failure is stored; on `Err` the caller must keep its checkpoint.
    pub async fn record_failures(&self, failures: &[FailedDoc]) -> StateResult<RecordOutcome> {
        let mut outcome = RecordOutcome::default();
        if failures.is_empty() {
            return Ok(outcome);
        }
        self.ensure_index().await?;
        let mut groups: Vec<Group<'_>> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for failure in failures {
            let id = retry_id(&failure.pipeline, &failure.alias, &failure.master_key);
            match by_id.get(&id) {
                Some(&i) => groups[i].failures.push(failure),
                None => {
                    by_id.insert(id.clone(), groups.len());
                    groups.push(Group {
                        id,
                        failures: vec![failure],
                    });
                }
            }
        }
        let now = self.clock.now();
        for chunk in groups.chunks(self.config.max_bulk_ops.max(1)) {
            self.record_chunk(chunk, now, &mut outcome).await?;
        }
        tracing::debug!(
            index = %self.sys.index,
            created = outcome.created,
            updated = outcome.updated,
            "failures recorded in the retry table"
        );
        Ok(outcome)
    }

    async fn record_chunk(
        &self,
        groups: &[Group<'_>],
        now: Timestamp,
        outcome: &mut RecordOutcome,
    ) -> StateResult<()> {
        let mut pending: Vec<&Group<'_>> = groups.iter().collect();
        let rounds = self.config.max_conflict_rounds.max(1);
        for round in 1..=rounds {
            let ids: Vec<String> = pending.iter().map(|g| g.id.clone()).collect();
            let stored =
                docio::mget(&self.sys.client, self.sys.policy, &self.sys.index, &ids).await?;
            self.counters.mget_requests.fetch_add(1, Ordering::Relaxed);
            let mut body = Vec::new();
            let mut is_new = Vec::with_capacity(pending.len());
            for (group, existing) in pending.iter().zip(stored) {
                let (previous, cond) = match existing {
                    Some((source, seq)) => (
                        self.decode_lenient(source, &group.id),
                        WriteCond::IfMatch(seq),
                    ),
                    None => (None, WriteCond::Create),
                };
                is_new.push(matches!(cond, WriteCond::Create));
                let record = RetryRecord::merged(previous, &group.failures, now);
                let source = self.encode(&record, &group.id)?;
                docio::bulk_write_op(&mut body, &self.sys.index, &group.id, cond, &source)?;
            }
            let items = docio::bulk(&self.sys.client, self.sys.policy, body, pending.len()).await?;
            self.counters.bulk_requests.fetch_add(1, Ordering::Relaxed);
            let mut again = Vec::new();
            let mut hard = Vec::new();
            for ((group, item), new) in pending.iter().zip(&items).zip(is_new) {
                if item.is_success() {
                    let counter = if new {
                        outcome.created += 1;
                        &self.counters.created
                    } else {
                        outcome.updated += 1;
                        &self.counters.updated
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                } else if matches!(item.status, 409 | 429) {
                    again.push(*group);
                } else {
                    hard.push(format!(
                        "record {} (document {}): HTTP {} {}: {}",
                        group.id,
                        group.failures[0].document_id,
                        item.status,
                        item.error_type,
                        item.reason
                    ));
                }
            }
            if !hard.is_empty() {
                return Err(StateError::RetryWrite {
                    index: self.sys.index.to_string(),
                    failed: hard.len(),
                    total: pending.len(),
                    first: hard.swap_remove(0),
                });
            }
            if again.is_empty() {
                return Ok(());
            }
            tracing::debug!(
                records = again.len(),
                round,
                "retry records changed concurrently; reading them again"
            );
            self.counters
                .conflict_rounds
                .fetch_add(1, Ordering::Relaxed);
            pending = again;
            // Two writers that read the same records at the same moment would otherwise collide
            // again on the next round; a random pause lets one of them go first.
            let pause = crate::es::bulk::backoff_delay(
                round,
                std::time::Duration::from_millis(5),
                std::time::Duration::from_millis(500),
                crate::es::bulk::jitter(),
            );
            tokio::time::sleep(pause).await;
        }
        Err(StateError::Conflict {
            index: self.sys.index.to_string(),
            id: pending.first().map(|g| g.id.clone()).unwrap_or_default(),
            attempts: rounds,
        })
    }

    /// Reads one record (realtime); `None` when the document never failed.
    pub async fn get(&self, key: &RetryKey) -> StateResult<Option<RetryEntry>> {
        let id = key.id();
        match docio::get(&self.sys.client, self.sys.policy, &self.sys.index, &id).await? {
            Some((source, seq)) => Ok(Some(RetryEntry {
                record: self.decode(source, &id)?,
                id,
                seq,
            })),
            None => Ok(None),
        }
    }

    /// A page of the records of `pipeline` that match `filter`.
    pub async fn list(
        &self,
        pipeline: &str,
        filter: &RetryFilter,
        page: &PageRequest,
    ) -> StateResult<RetryPage> {
        let direction = match page.order {
            RetryOrder::NewestFirst => "desc",
            RetryOrder::OldestFirst => "asc",
        };
        let size = page.size.max(1);
        let mut body = json!({
            "size": size,
            "query": filter.query(pipeline),
            "sort": [{"last_seen": direction}, {"doc_id": "asc"}],
        });
        if let Some(after) = &page.after {
            body["search_after"] = after.0.clone();
        }
        let hits = docio::search(&self.sys.client, self.sys.policy, &self.sys.index, body).await?;
        self.counters
            .search_requests
            .fetch_add(1, Ordering::Relaxed);
        let full = hits.len() == size;
        let mut entries = Vec::with_capacity(hits.len());
        let mut last_sort = None;
        for hit in hits {
            let seq = hit.seq.ok_or_else(|| StateError::Corrupt {
                index: self.sys.index.to_string(),
                id: hit.id.clone(),
                reason: "the search hit carries no `_seq_no`".into(),
            })?;
            last_sort = Some(hit.sort);
            entries.push(RetryEntry {
                record: self.decode(hit.source, &hit.id)?,
                id: hit.id,
                seq,
            });
        }
        Ok(RetryPage {
            entries,
            next: if full {
                last_sort.map(RetryCursor)
            } else {
                None
            },
        })
    }

    /// The number of unresolved records of `pipeline` (the retry-table size in `mee status`).
    pub async fn count(&self, pipeline: &str) -> StateResult<u64> {
        self.count_matching(pipeline, &RetryFilter::unresolved())
            .await
    }

    /// The number of records of `pipeline` that match `filter`.
    pub async fn count_matching(&self, pipeline: &str, filter: &RetryFilter) -> StateResult<u64> {
        let n = docio::count(
            &self.sys.client,
            self.sys.policy,
            &self.sys.index,
            filter.query(pipeline),
        )
        .await?;
        self.counters
            .search_requests
            .fetch_add(1, Ordering::Relaxed);
        Ok(n)
    }

    /// Unresolved records with fewer than `max_attempts` attempts, longest-waiting first, at most
    /// `limit` of them: what a polling round retries before its window.
    pub async fn due_for_retry(
        &self,
        pipeline: &str,
        max_attempts: u32,
        limit: usize,
    ) -> StateResult<Vec<RetryEntry>> {
        let filter = RetryFilter {
            attempts_below: Some(max_attempts),
            ..RetryFilter::unresolved()
        };
        let page = PageRequest::first(limit, RetryOrder::OldestFirst);
        Ok(self.list(pipeline, &filter, &page).await?.entries)
    }

    /// Unresolved records with `max_attempts` attempts or more, most recent first, at most
    /// `limit`: what an alert reports.
    pub async fn over_threshold(
        &self,
        pipeline: &str,
        max_attempts: u32,
        limit: usize,
    ) -> StateResult<Vec<RetryEntry>> {
        let filter = RetryFilter {
            min_attempts: Some(max_attempts),
            ..RetryFilter::unresolved()
        };
        let page = PageRequest::first(limit, RetryOrder::NewestFirst);
        Ok(self.list(pipeline, &filter, &page).await?.entries)
    }

    /// Marks records resolved after a replay wrote their documents. Each is written only if it is
    /// unchanged since it was read: a record that failed again meanwhile describes a newer
    /// failure and stays unresolved (listed in [`ResolveOutcome::changed`]).
    pub async fn mark_resolved(&self, entries: &[RetryEntry]) -> StateResult<ResolveOutcome> {
        let mut outcome = ResolveOutcome::default();
        if entries.is_empty() {
            return Ok(outcome);
        }
        self.ensure_index().await?;
        let now = self.clock.now();
        for chunk in entries.chunks(self.config.max_bulk_ops.max(1)) {
            let mut body = Vec::new();
            for entry in chunk {
                let mut record = entry.record.clone();
                record.resolved = true;
                record.resolved_at = Some(now);
                let source = self.encode(&record, &entry.id)?;
                docio::bulk_write_op(
                    &mut body,
                    &self.sys.index,
                    &entry.id,
                    WriteCond::IfMatch(entry.seq),
                    &source,
                )?;
            }
            let items = docio::bulk(&self.sys.client, self.sys.policy, body, chunk.len()).await?;
            self.counters.bulk_requests.fetch_add(1, Ordering::Relaxed);
            for (entry, item) in chunk.iter().zip(items) {
                if item.is_success() {
                    outcome.resolved += 1;
                } else if matches!(item.status, 409 | 404) {
                    outcome.changed.push(entry.id.clone());
                } else {
                    return Err(StateError::RetryWrite {
                        index: self.sys.index.to_string(),
                        failed: 1,
                        total: chunk.len(),
                        first: format!(
                            "record {}: HTTP {} {}: {}",
                            entry.id, item.status, item.error_type, item.reason
                        ),
                    });
                }
            }
        }
        Ok(outcome)
    }

    /// Deletes the records of `pipeline` resolved before `resolved_before` (retention), and
    /// returns how many went. Unresolved records are never deleted.
    pub async fn purge_resolved(
        &self,
        pipeline: &str,
        resolved_before: Timestamp,
    ) -> StateResult<u64> {
        // The deletion selects by search, which sees only refreshed records.
        self.refresh().await?;
        let query = json!({"bool": {"filter": [
            {"term": {"pipeline": pipeline}},
            {"term": {"resolved": true}},
            {"range": {"resolved_at": {"lt": resolved_before.to_rfc3339()}}}
        ]}});
        let deleted =
            docio::delete_by_query(&self.sys.client, self.sys.policy, &self.sys.index, query)
                .await?;
        tracing::info!(index = %self.sys.index, pipeline, deleted, "purged resolved retry records");
        Ok(deleted)
    }

    fn encode(&self, record: &RetryRecord, id: &str) -> StateResult<serde_json::Value> {
        let value = serde_json::to_value(record).map_err(|e| StateError::Corrupt {
            index: self.sys.index.to_string(),
            id: id.to_string(),
            reason: format!("cannot serialise: {e}"),
        })?;
        let mut value = docio::add_envelope(value, "retry", id);
        // The retry index holds one kind only; `doc_kind` would be noise there.
        if let Some(map) = value.as_object_mut() {
            map.remove("doc_kind");
        }
        Ok(value)
    }

    fn decode(&self, source: serde_json::Value, id: &str) -> StateResult<RetryRecord> {
        let value = docio::strip_envelope(source, None, &self.sys.index, id)?;
        serde_json::from_value(value).map_err(|e| StateError::Corrupt {
            index: self.sys.index.to_string(),
            id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// An unreadable stored record is replaced rather than blocking the recording of a new
    /// failure, which matters more than the old record's counters.
    fn decode_lenient(&self, source: serde_json::Value, id: &str) -> Option<RetryRecord> {
        match self.decode(source, id) {
            Ok(r) => Some(r),
            Err(error) => {
                tracing::warn!(%error, "replacing an unreadable retry record");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::position::BinlogPosition;
    use crate::es::OpIdentity;

    fn failure(key: i64) -> FailedDoc {
        FailedDoc::build_failed(
            "orders",
            "orders",
            key.to_string(),
            vec![Value::Int(key)],
            "boom",
        )
    }

    #[test]
    fn ids_are_stable_and_separate_the_parts() {
        let key = RetryKey {
            pipeline: "orders".into(),
            alias: "orders".into(),
            master_key: vec![Value::Int(42)],
        };
        // Pinned: a stored record must be found again by every future version.
        assert_eq!(key.id(), "a46f479918af9a2306695ba33f3fd0ca");
        assert_eq!(key.id().len(), 32);
        let other_alias = RetryKey {
            alias: "orders2".into(),
            ..key.clone()
        };
        assert_ne!(key.id(), other_alias.id());
        let shifted = RetryKey {
            pipeline: "order".into(),
            alias: "sorders".into(),
            ..key.clone()
        };
        assert_ne!(key.id(), shifted.id());
        let text_key = RetryKey {
            master_key: vec![Value::Text("42".into())],
            ..key.clone()
        };
        assert_ne!(key.id(), text_key.id());
    }

    #[test]
    fn fnv128_matches_the_reference_vectors() {
        let hash = |s: &str| {
            let mut h = Fnv128::new();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0x6c62272e07bb014262b821756295c58d);
        assert_eq!(hash("a"), 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn records_have_stable_field_names() {
        let now = Timestamp::from_millis(1000);
        let f = failure(7).with_position(BinlogPosition::new("binlog.000001", 4).into());
        let record = RetryRecord::merged(None, &[&f], now);
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(
            value,
            json!({
                "pipeline": "orders",
                "alias": "orders",
                "document_id": "7",
                "master_key": [{"t": "Int", "v": 7}],
                "error": "boom",
                "error_kind": {"kind": "build_failed"},
                "attempts": 1,
                "first_seen": "1970-01-01T00:00:01.000Z",
                "last_seen": "1970-01-01T00:00:01.000Z",
                "position": {"kind": "binlog", "file": "binlog.000001", "pos": 4},
                "resolved": false
            })
        );
        assert_eq!(
            serde_json::from_value::<RetryRecord>(value).unwrap(),
            record
        );
        let rejected = FailureKind::Rejected {
            status: 400,
            error_type: "mapper_parsing_exception".into(),
        };
        assert_eq!(
            serde_json::to_value(&rejected).unwrap(),
            json!({"kind": "rejected", "status": 400, "type": "mapper_parsing_exception"})
        );
    }

    #[test]
    fn merging_counts_attempts_and_restarts_after_resolution() {
        let (t1, t2, t3) = (
            Timestamp::from_millis(1),
            Timestamp::from_millis(2),
            Timestamp::from_millis(3),
        );
        let f = failure(1);
        let first = RetryRecord::merged(None, &[&f, &f], t1);
        assert_eq!((first.attempts, first.first_seen), (2, t1));
        let second = RetryRecord::merged(Some(first), &[&f], t2);
        assert_eq!(
            (second.attempts, second.first_seen, second.last_seen),
            (3, t1, t2)
        );
        let mut resolved = second;
        resolved.resolved = true;
        resolved.resolved_at = Some(t2);
        let again = RetryRecord::merged(Some(resolved), &[&f], t3);
        assert_eq!(
            (
                again.attempts,
                again.first_seen,
                again.resolved,
                again.resolved_at
            ),
            (1, t3, false, None)
        );
    }

    #[test]
    fn rejected_failures_take_the_bulk_identity() {
        let bulk = BulkFailure {
            op: OpIdentity {
                index: "orders_1".into(),
                id: "9".into(),
                routing: Some("r".into()),
                version: Some(77),
                is_delete: false,
            },
            status: 400,
            error_type: "mapper_parsing_exception".into(),
            reason: "failed to parse".into(),
        };
        let f = FailedDoc::rejected("orders", "orders", vec![Value::Int(9)], &bulk);
        assert_eq!(f.index.as_deref(), Some("orders_1"));
        assert_eq!(
            (f.document_id.as_str(), f.routing.as_deref(), f.version),
            ("9", Some("r"), Some(77))
        );
        assert!(matches!(
            f.error_kind,
            FailureKind::Rejected { status: 400, .. }
        ));
    }

    #[test]
    fn filters_become_bool_queries() {
        let q = RetryFilter {
            alias: Some("a".into()),
            resolved: Some(false),
            min_attempts: Some(2),
            attempts_below: Some(5),
        }
        .query("p");
        assert_eq!(
            q,
            json!({"bool": {"filter": [
                {"term": {"pipeline": "p"}},
                {"term": {"alias": "a"}},
                {"term": {"resolved": false}},
                {"range": {"attempts": {"gte": 2, "lt": 5}}}
            ]}})
        );
        assert_eq!(
            RetryFilter::default().query("p"),
            json!({"bool": {"filter": [{"term": {"pipeline": "p"}}]}})
        );
    }

    #[test]
    fn cursors_round_trip_as_text() {
        let c: RetryCursor = "[1793872801123,\"abc\"]".parse().unwrap();
        assert_eq!(c.to_string().parse::<RetryCursor>().unwrap(), c);
        assert!("{}".parse::<RetryCursor>().is_err());
        assert!("nope".parse::<RetryCursor>().is_err());
    }
}
