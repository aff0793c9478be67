//! The state store: pipeline states and checkpoints as documents of one Elasticsearch index.
//!
//! Every write is conditional on the `_seq_no`/`_primary_term` the writer last saw, so two
//! processes (say `mee update` while `mee run` syncs) never overwrite each other blindly: the
//! loser gets [`StateError::Conflict`], or, through [`StateStore::update`], re-reads the document
//! and re-applies its change. For a checkpoint the token doubles as a fence: a second `mee run` on
//! the same pipeline makes the first one's next checkpoint write fail loudly.
//!
//! Reads use `GET _doc`, which is realtime: it sees every acknowledged write whether or not the
//! index was refreshed. Writes are therefore not refreshed (`refresh=false`); only listings use
//! search, and they refresh this small index first. Durability comes from Elasticsearch's
//! translog, which the index is created to fsync on every request (`translog.durability:
//! request`), so an acknowledged checkpoint survives a crash of either process.

use super::docio::{self, PutOutcome, SeqNo, WriteCond};
use super::error::{StateError, StateResult};
use super::model::{Checkpoint, CheckpointKey, PipelineKey, PipelineState};
use super::time::{Clock, SystemClock, Timestamp};
use crate::es::EsClient;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// The default name of the state index. No leading dot: recent Elasticsearch reserves those
/// for system indices.
pub const DEFAULT_STATE_INDEX: &str = "mee-state";

/// Where and how the state store keeps its documents.
#[derive(Debug, Clone)]
pub struct StateConfig {
    /// The state index, one per mee installation.
    pub index: String,
    /// Read-modify-write rounds [`StateStore::update`] tries before reporting a conflict.
    pub max_update_attempts: u32,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            index: DEFAULT_STATE_INDEX.to_string(),
            max_update_attempts: 10,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::PipelineState {}
    impl Sealed for super::Checkpoint {}
}

/// A kind of document the state store holds. Sealed: the mapping of the state index is written
/// for exactly these kinds.
pub trait StateDoc:
    sealed::Sealed + Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static
{
    /// What identifies one document of this kind.
    type Key: Clone + fmt::Debug + Send + Sync;
    /// The `doc_kind` written into the envelope.
    const KIND: &'static str;
    fn key(&self) -> Self::Key;
    fn doc_id(key: &Self::Key) -> String;
    /// Stamps the time of a write.
    fn touch(&mut self, now: Timestamp);
}

impl StateDoc for PipelineState {
    type Key = PipelineKey;
    const KIND: &'static str = "pipeline";

    fn key(&self) -> PipelineKey {
        PipelineState::key(self)
    }

    fn doc_id(key: &PipelineKey) -> String {
        key.doc_id()
    }

    fn touch(&mut self, now: Timestamp) {
        self.updated_at = now;
    }
}

impl StateDoc for Checkpoint {
    type Key = CheckpointKey;
    const KIND: &'static str = "checkpoint";

    fn key(&self) -> CheckpointKey {
        Checkpoint::key(self)
    }

    fn doc_id(key: &CheckpointKey) -> String {
        key.doc_id()
    }

    fn touch(&mut self, now: Timestamp) {
        self.updated_at = now;
    }
}

/// A document together with the concurrency token it was read or written with. Saving it back
/// succeeds only if nobody wrote the document in between. Dereferences to the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub doc: T,
    pub seq: SeqNo,
}

impl<T> Deref for Versioned<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.doc
    }
}

impl<T> DerefMut for Versioned<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.doc
    }
}

/// Pipeline states and checkpoints in Elasticsearch. Cheap to clone; clones share the
/// "index exists" knowledge.
#[derive(Clone)]
pub struct StateStore {
    sys: docio::SystemIndex,
    config: StateConfig,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for StateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateStore")
            .field("index", &self.sys.index)
            .field("client", &self.sys.client)
            .finish()
    }
}

/// The settings of the state index: one shard (a few small documents), a replica when the
/// cluster has a second node, and a translog fsync on every request so that an acknowledged
/// write survives a node crash.
fn state_settings() -> Value {
    json!({
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
        "translog": {"durability": "request"}
    })
}

/// The mapping of the state index. `dynamic: false` keeps fields a newer mee adds in `_source`
/// without indexing them (a strict mapping would make an older cluster-side mapping refuse a
/// newer mee's documents). Nested structures that are never searched are stored, not indexed,
/// because their shapes vary (positions of different kinds).
fn state_mappings() -> Value {
    let stored = json!({"type": "object", "enabled": false});
    json!({
        "dynamic": false,
        "properties": {
            "doc_kind": {"type": "keyword"},
            "doc_id": {"type": "keyword"},
            "format": {"type": "integer"},
            "pipeline": {"type": "keyword"},
            "alias": {"type": "keyword"},
            "scope": {"type": "keyword"},
            "fingerprint": {"type": "keyword"},
            "status": {"type": "keyword"},
            "updated_at": {"type": "date"},
            "source_time": {"type": "date"},
            "active": stored,
            "building": stored,
            "previous": stored,
            "last_error": stored,
            "position": stored,
            "recent_errors": stored,
        }
    })
}

impl StateStore {
    /// A store on `config.index`. Nothing is sent yet: the index is created on the first write.
    pub fn new(client: EsClient, config: StateConfig) -> StateResult<Self> {
        Ok(StateStore {
            sys: docio::SystemIndex::new(client, &config.index, "state index")?,
            config,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for `updated_at` stamps instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn index(&self) -> &str {
        &self.sys.index
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Creates the state index with its mapping unless it exists (once per store and its clones).
    /// Writes call this themselves; reads do not, so that `mee status` on a fresh cluster
    /// creates nothing.
    pub async fn ensure_index(&self) -> StateResult<()> {
        self.sys.ensure(state_settings, state_mappings).await
    }

    /// Reads a document (realtime); `None` when it was never written.
    pub async fn get<D: StateDoc>(&self, key: &D::Key) -> StateResult<Option<Versioned<D>>> {
        let id = D::doc_id(key);
        match docio::get(&self.sys.client, self.sys.policy, &self.sys.index, &id).await? {
            Some((source, seq)) => Ok(Some(Versioned {
                doc: self.decode(source, &id)?,
                seq,
            })),
            None => Ok(None),
        }
    }

    pub async fn get_pipeline(
        &self,
        key: &PipelineKey,
    ) -> StateResult<Option<Versioned<PipelineState>>> {
        self.get::<PipelineState>(key).await
    }

    pub async fn get_checkpoint(
        &self,
        key: &CheckpointKey,
    ) -> StateResult<Option<Versioned<Checkpoint>>> {
        self.get::<Checkpoint>(key).await
    }

    /// Stores a new document; [`StateError::AlreadyExists`] if one with its key exists, unless
    /// the stored one is identical to this one (a create resent after its answer was lost).
    pub async fn create<D: StateDoc>(&self, mut doc: D) -> StateResult<Versioned<D>> {
        self.ensure_index().await?;
        let id = D::doc_id(&doc.key());
        doc.touch(self.clock.now());
        let source = self.encode(&doc, &id)?;
        match docio::put(
            &self.sys.client,
            self.sys.policy,
            &self.sys.index,
            &id,
            &source,
            WriteCond::Create,
        )
        .await?
        {
            PutOutcome::Written(seq) => Ok(Versioned { doc, seq }),
            PutOutcome::Conflict => {
                // A create retried after a lost answer finds its own document: that is success.
                if let Some(seq) = self.stored_equal(&id, &source).await? {
                    return Ok(Versioned { doc, seq });
                }
                Err(StateError::AlreadyExists {
                    index: self.sys.index.to_string(),
                    id,
                })
            }
        }
    }

    /// Writes `doc` back if the stored document is still the one it was read as (or last saved
    /// as), stamping `updated_at`; on success `doc.seq` is the new token. A conflict means
    /// another process wrote the document meanwhile; nothing is overwritten.
    pub async fn save<D: StateDoc>(&self, doc: &mut Versioned<D>) -> StateResult<()> {
        self.ensure_index().await?;
        let id = D::doc_id(&doc.doc.key());
        doc.doc.touch(self.clock.now());
        let source = self.encode(&doc.doc, &id)?;
        let cond = WriteCond::IfMatch(doc.seq);
        match docio::put(
            &self.sys.client,
            self.sys.policy,
            &self.sys.index,
            &id,
            &source,
            cond,
        )
        .await?
        {
            PutOutcome::Written(seq) => {
                doc.seq = seq;
                Ok(())
            }
            PutOutcome::Conflict => {
                // When the answer to a write is lost and the request is sent again, the first
                // send may have succeeded: the second then conflicts with our own write. The
                // stored document being exactly ours tells that case apart from a real conflict.
                if let Some(seq) = self.stored_equal(&id, &source).await? {
                    doc.seq = seq;
                    return Ok(());
                }
                Err(StateError::Conflict {
                    index: self.sys.index.to_string(),
                    id,
                    attempts: 1,
                })
            }
        }
    }

    /// Read-modify-write: reads the document, applies `change`, and saves it conditionally; on a
    /// conflict it reads again and re-applies `change` to the fresh document, up to
    /// `max_update_attempts` rounds. `change` may therefore run several times and must only
    /// depend on the document it is given. An error from `change` aborts without writing.
    /// A missing document is [`StateError::NotFound`].
    pub async fn update<D, R, E, F>(
        &self,
        key: &D::Key,
        mut change: F,
    ) -> Result<(Versioned<D>, R), E>
    where
        D: StateDoc,
        F: FnMut(&mut D) -> Result<R, E>,
        E: From<StateError>,
    {
        let id = D::doc_id(key);
        for attempt in 1..=self.config.max_update_attempts.max(1) {
            let Some(mut current) = self.get::<D>(key).await? else {
                return Err(StateError::NotFound {
                    index: self.sys.index.to_string(),
                    id,
                }
                .into());
            };
            let result = change(&mut current.doc)?;
            self.check_same_key::<D>(&current.doc, &id)?;
            match self.save(&mut current).await {
                Ok(()) => return Ok((current, result)),
                Err(StateError::Conflict { .. }) => {
                    tracing::debug!(id, attempt, "state update conflicted; re-reading");
                    // A random pause, so writers that collided do not collide again in step.
                    let pause = crate::es::bulk::backoff_delay(
                        attempt,
                        std::time::Duration::from_millis(2),
                        std::time::Duration::from_millis(200),
                        crate::es::bulk::jitter(),
                    );
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StateError::Conflict {
            index: self.sys.index.to_string(),
            id,
            attempts: self.config.max_update_attempts.max(1),
        }
        .into())
    }

    /// Like [`StateStore::update`], but a missing document is first made with `init` (and then
    /// changed), created only if nobody else creates it meanwhile.
    pub async fn upsert<D, R, E, F, I>(
        &self,
        key: &D::Key,
        mut init: I,
        mut change: F,
    ) -> Result<(Versioned<D>, R), E>
    where
        D: StateDoc,
        I: FnMut() -> D,
        F: FnMut(&mut D) -> Result<R, E>,
        E: From<StateError>,
    {
        let id = D::doc_id(key);
        for attempt in 1..=self.config.max_update_attempts.max(1) {
            let existing = self.get::<D>(key).await?;
            let outcome = match existing {
                Some(mut current) => {
                    let result = change(&mut current.doc)?;
                    self.check_same_key::<D>(&current.doc, &id)?;
                    self.save(&mut current).await.map(|()| (current, result))
                }
                None => {
                    let mut fresh = init();
                    let result = change(&mut fresh)?;
                    self.check_same_key::<D>(&fresh, &id)?;
                    self.create(fresh).await.map(|v| (v, result))
                }
            };
            match outcome {
                Ok(done) => return Ok(done),
                Err(StateError::Conflict { .. } | StateError::AlreadyExists { .. }) => {
                    tracing::debug!(id, attempt, "state upsert conflicted; re-reading");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StateError::Conflict {
            index: self.sys.index.to_string(),
            id,
            attempts: self.config.max_update_attempts.max(1),
        }
        .into())
    }

    /// Deletes the document if nobody wrote it since `doc` was read.
    pub async fn delete<D: StateDoc>(&self, doc: &Versioned<D>) -> StateResult<()> {
        let id = D::doc_id(&doc.doc.key());
        if docio::delete(
            &self.sys.client,
            self.sys.policy,
            &self.sys.index,
            &id,
            doc.seq,
        )
        .await?
        {
            Ok(())
        } else {
            Err(StateError::Conflict {
                index: self.sys.index.to_string(),
                id,
                attempts: 1,
            })
        }
    }

    /// Every pipeline state, ordered by pipeline and alias (for `mee status`).
    pub async fn list_pipelines(&self) -> StateResult<Vec<Versioned<PipelineState>>> {
        self.list::<PipelineState>(None).await
    }

    /// The checkpoints of `pipeline` (all pipelines with `None`), ordered by pipeline and scope.
    pub async fn list_checkpoints(
        &self,
        pipeline: Option<&str>,
    ) -> StateResult<Vec<Versioned<Checkpoint>>> {
        self.list::<Checkpoint>(pipeline).await
    }

    async fn list<D: StateDoc>(&self, pipeline: Option<&str>) -> StateResult<Vec<Versioned<D>>> {
        // Listings search, and search sees only refreshed data; the state index is a few small
        // documents, so refreshing it first is cheap and makes `mee status` exact.
        docio::refresh(&self.sys.client, self.sys.policy, &self.sys.index).await?;
        let mut filter = vec![json!({"term": {"doc_kind": D::KIND}})];
        if let Some(p) = pipeline {
            filter.push(json!({"term": {"pipeline": p}}));
        }
        const PAGE: usize = 500;
        let mut out = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({
                "size": PAGE,
                "query": {"bool": {"filter": filter}},
                "sort": [{"doc_id": "asc"}],
            });
            if let Some(a) = &after {
                body["search_after"] = a.clone();
            }
            let hits =
                docio::search(&self.sys.client, self.sys.policy, &self.sys.index, body).await?;
            let full = hits.len() == PAGE;
            for hit in hits {
                after = Some(hit.sort.clone());
                let seq = hit.seq.ok_or_else(|| StateError::Corrupt {
                    index: self.sys.index.to_string(),
                    id: hit.id.clone(),
                    reason: "the search hit carries no `_seq_no`".into(),
                })?;
                out.push(Versioned {
                    doc: self.decode(hit.source, &hit.id)?,
                    seq,
                });
            }
            if !full {
                return Ok(out);
            }
        }
    }

    fn encode<D: StateDoc>(&self, doc: &D, id: &str) -> StateResult<Value> {
        let value = serde_json::to_value(doc).map_err(|e| StateError::Corrupt {
            index: self.sys.index.to_string(),
            id: id.to_string(),
            reason: format!("cannot serialise: {e}"),
        })?;
        Ok(docio::add_envelope(value, D::KIND, id))
    }

    fn decode<D: StateDoc>(&self, source: Value, id: &str) -> StateResult<D> {
        let value = docio::strip_envelope(source, Some(D::KIND), &self.sys.index, id)?;
        serde_json::from_value(value).map_err(|e| StateError::Corrupt {
            index: self.sys.index.to_string(),
            id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// The current token if the stored document equals `source` exactly.
    async fn stored_equal(&self, id: &str, source: &Value) -> StateResult<Option<SeqNo>> {
        Ok(
            match docio::get(&self.sys.client, self.sys.policy, &self.sys.index, id).await? {
                Some((stored, seq)) if &stored == source => Some(seq),
                _ => None,
            },
        )
    }

    /// Refuses a change that altered the fields the document id is made of, because saving it
    /// would write the document under another id than the one read.
    fn check_same_key<D: StateDoc>(&self, doc: &D, id: &str) -> StateResult<()> {
        let now = D::doc_id(&doc.key());
        if now == id {
            Ok(())
        } else {
            Err(StateError::Corrupt {
                index: self.sys.index.to_string(),
                id: id.to_string(),
                reason: format!("the change moved the document to a different key (`{now}`)"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_are_validated_up_front() {
        let client = EsClient::new("http://127.0.0.1:9").unwrap();
        assert!(StateStore::new(client.clone(), StateConfig::default()).is_ok());
        let hidden = StateConfig {
            index: ".mee-state".into(),
            ..StateConfig::default()
        };
        assert!(matches!(
            StateStore::new(client, hidden),
            Err(StateError::InvalidIndexName { .. })
        ));
    }

    #[test]
    fn the_mapping_indexes_what_listings_search() {
        let m = state_mappings();
        for field in ["doc_kind", "doc_id", "pipeline", "scope"] {
            assert_eq!(m["properties"][field]["type"], "keyword", "{field}");
        }
        assert_eq!(m["dynamic"], false);
    }

    #[test]
    fn versioned_dereferences_to_the_document() {
        let key = PipelineKey::new("p", "a");
        let mut v = Versioned {
            doc: PipelineState::new(&key, Timestamp::EPOCH),
            seq: SeqNo {
                seq_no: 0,
                primary_term: 1,
            },
        };
        v.fingerprint = "x".into();
        assert_eq!(v.doc.fingerprint, "x");
        assert_eq!(StateDoc::key(&*v), key);
    }
}
