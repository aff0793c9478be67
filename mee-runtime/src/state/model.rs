//! The state documents: what mee stores about each pipeline index and each sync checkpoint.
//!
//! These structures are a stored format: documents written by one mee version are read by the
//! next. Field names are fixed (each is written down in its doc comment as `json: name`), new
//! fields must be optional, and fields a reader does not know are kept in `extra` so that an older
//! mee rewriting a document does not drop what a newer one added.

use super::error::StateError;
use super::lease::{Lease, LeaseOwner};
use super::time::Timestamp;
use crate::binlog::position::BinlogPosition;
use crate::value::{Date, DateTime};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::fmt;

/// Extra fields found in a stored document that this version does not know, kept verbatim.
pub type ExtraFields = Map<String, serde_json::Value>;

/// How many errors a checkpoint keeps; older ones are dropped first.
pub const RECENT_ERRORS_MAX: usize = 20;

/// Error messages longer than this (in bytes) are cut, so that one huge error (a whole rejected
/// document quoted in a reason) cannot bloat a checkpoint written after every batch.
pub const ERROR_MESSAGE_MAX: usize = 4000;

/// Identifies one pipeline index: the pipeline (handler file name) and the alias it maintains.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipelineKey {
    pub pipeline: String,
    pub alias: String,
}

impl PipelineKey {
    pub fn new(pipeline: impl Into<String>, alias: impl Into<String>) -> Self {
        PipelineKey {
            pipeline: pipeline.into(),
            alias: alias.into(),
        }
    }

    /// The document id: `pipeline/<pipeline>/<alias>`.
    pub fn doc_id(&self) -> String {
        format!("pipeline/{}/{}", self.pipeline, self.alias)
    }
}

/// Identifies one checkpoint: the pipeline and the consumer of the change stream that owns it.
///
/// The scope separates consumers that progress independently: the embedded sync (`sync`), the
/// Kafka publisher (`listen`), the poller (`poll`, or `poll/<alias>` when lists are polled
/// separately), and Kafka sync workers (`kafka/<group>/<topic>/<partition>`, informational: Kafka
/// itself holds the committed offsets; mee records them for `mee status`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CheckpointKey {
    pub pipeline: String,
    pub scope: String,
}

impl CheckpointKey {
    pub fn new(pipeline: impl Into<String>, scope: impl Into<String>) -> Self {
        CheckpointKey {
            pipeline: pipeline.into(),
            scope: scope.into(),
        }
    }

    /// The embedded binlog sync of `mee run`.
    pub fn sync(pipeline: impl Into<String>) -> Self {
        Self::new(pipeline, "sync")
    }

    /// The binlog-to-Kafka publisher of `mee listen`.
    pub fn listen(pipeline: impl Into<String>) -> Self {
        Self::new(pipeline, "listen")
    }

    /// The poller of `mee poll`.
    pub fn poll(pipeline: impl Into<String>) -> Self {
        Self::new(pipeline, "poll")
    }

    /// One partition of a Kafka consumer group of `mee sync` workers.
    pub fn kafka_partition(
        pipeline: impl Into<String>,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Self {
        Self::new(pipeline, format!("kafka/{group}/{topic}/{partition}"))
    }

    /// The document id: `checkpoint/<pipeline>/<scope>`.
    pub fn doc_id(&self) -> String {
        format!("checkpoint/{}/{}", self.pipeline, self.scope)
    }
}

/// What a pipeline index is doing.
///
/// Stored as `"idle"`, `"full_updating"`, `"syncing"` or `"failed"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    /// Nothing runs on it.
    #[default]
    Idle,
    /// `mee update` builds a new generation.
    FullUpdating,
    /// Incremental sync keeps the active generation current.
    Syncing,
    /// The last run stopped on an error (see `last_error`).
    Failed,
}

/// A point in a change stream from which processing can resume, and from which a snapshot was
/// taken.
///
/// Stored as an object with a `kind` tag:
/// - `{"kind": "binlog", "file": "binlog.000042", "pos": 1234, "gtid": "0-1-55"}` (`gtid` absent
///   when unknown), the end of the last fully processed transaction;
/// - `{"kind": "polling", "next_start_from": "2026-11-05T10:02:00"}`, the start of the next
///   polling window, a `modify_time` value as the source stores it (no time zone; microseconds
///   written only when not zero);
/// - `{"kind": "kafka", "topic": "t", "partition": 3, "offset": 1200}`, the next offset to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    Binlog(BinlogPosition),
    Polling {
        #[serde(with = "naive_datetime_text")]
        next_start_from: DateTime,
    },
    Kafka {
        topic: String,
        partition: i32,
        offset: i64,
    },
}

impl Position {
    pub fn as_binlog(&self) -> Option<&BinlogPosition> {
        match self {
            Position::Binlog(p) => Some(p),
            _ => None,
        }
    }

    /// The polling watermark, when this is a polling position.
    pub fn next_start_from(&self) -> Option<DateTime> {
        match self {
            Position::Polling { next_start_from } => Some(*next_start_from),
            _ => None,
        }
    }
}

impl From<BinlogPosition> for Position {
    fn from(p: BinlogPosition) -> Self {
        Position::Binlog(p)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Binlog(p) => write!(f, "binlog {p}"),
            Position::Polling { next_start_from } => {
                write!(f, "polling from {next_start_from}")
            }
            Position::Kafka {
                topic,
                partition,
                offset,
            } => write!(f, "kafka {topic}/{partition} at offset {offset}"),
        }
    }
}

/// An error kept for troubleshooting (`mee status`).
///
/// Stored as `{"at": "<RFC 3339>", "message": "...", "context": "..."}`; `context` (what was
/// being done: a polling window, a batch, a document) is absent when not given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// json: `at`
    pub at: Timestamp,
    /// json: `message`, at most [`ERROR_MESSAGE_MAX`] bytes.
    pub message: String,
    /// json: `context`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl ErrorRecord {
    pub fn new(at: Timestamp, message: impl Into<String>) -> Self {
        ErrorRecord {
            at,
            message: truncate(message.into(), ERROR_MESSAGE_MAX),
            context: None,
        }
    }

    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(truncate(context.into(), ERROR_MESSAGE_MAX));
        self
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary, marking the cut.
pub(crate) fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str("...");
    text
}

/// One physical index built for an alias.
///
/// Stored as `{"index", "fingerprint", "created_at", "snapshot", "finished_at", "docs"}`;
/// `snapshot` and `finished_at` are absent until known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    /// json: `index`, the concrete index name.
    pub index: String,
    /// json: `fingerprint`, of the compiled pipeline that built this generation. Kept per
    /// generation because a rebuild by a new pipeline version runs while the old one is active.
    pub fingerprint: String,
    /// json: `created_at`
    pub created_at: Timestamp,
    /// json: `snapshot`, the source position the full update read at (a [`Position`]); the
    /// incremental sync of this generation starts there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Position>,
    /// json: `finished_at`, when the full update finished writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// json: `docs`, the documents the full update wrote.
    #[serde(default)]
    pub docs: u64,
}

impl Generation {
    pub fn new(
        index: impl Into<String>,
        fingerprint: impl Into<String>,
        created_at: Timestamp,
    ) -> Self {
        Generation {
            index: index.into(),
            fingerprint: fingerprint.into(),
            created_at,
            snapshot: None,
            finished_at: None,
            docs: 0,
        }
    }
}

/// The state of one pipeline index (one alias of one pipeline).
///
/// Stored in the state index under id `pipeline/<pipeline>/<alias>`, with the envelope fields
/// `doc_kind: "pipeline"`, `doc_id` and `format` added by the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineState {
    /// json: `pipeline`
    pub pipeline: String,
    /// json: `alias`
    pub alias: String,
    /// json: `fingerprint`, of the pipeline that built the active generation (empty before the
    /// first one). Sync refuses to write into an index built by a different pipeline version.
    pub fingerprint: String,
    /// json: `active`, the generation the alias points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<Generation>,
    /// json: `building`, the generation a full update is filling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<Generation>,
    /// json: `previous`, older generations, newest first, kept until cleaned up.
    #[serde(default)]
    pub previous: Vec<Generation>,
    /// json: `status`
    #[serde(default)]
    pub status: PipelineStatus,
    /// json: `last_error`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ErrorRecord>,
    /// json: `follower`, the `mee run` process keeping this index current (see [`Lease`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follower: Option<Lease>,
    /// json: `updater`, the process running a full update of this index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updater: Option<Lease>,
    /// json: `updated_at`, set by the store on every write.
    pub updated_at: Timestamp,
    /// Fields written by a newer mee, kept as they are.
    #[serde(flatten, default)]
    pub extra: ExtraFields,
}

/// The two roles a process can hold a pipeline index in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseRole {
    /// `mee run`: follows the binlog into the index.
    Follower,
    /// `mee update` (or the full update `mee run` starts): builds a new generation.
    Updater,
}

impl LeaseRole {
    fn describe(self) -> &'static str {
        match self {
            LeaseRole::Follower => "followed by a `mee run`",
            LeaseRole::Updater => "being rebuilt by a `mee update`",
        }
    }
}

impl PipelineState {
    pub fn new(key: &PipelineKey, now: Timestamp) -> Self {
        PipelineState {
            pipeline: key.pipeline.clone(),
            alias: key.alias.clone(),
            fingerprint: String::new(),
            active: None,
            building: None,
            previous: Vec::new(),
            status: PipelineStatus::Idle,
            last_error: None,
            follower: None,
            updater: None,
            updated_at: now,
            extra: ExtraFields::new(),
        }
    }

    pub fn key(&self) -> PipelineKey {
        PipelineKey::new(&self.pipeline, &self.alias)
    }

    /// Refuses to sync an active generation built by a different pipeline version. An index with
    /// no active generation has nothing to sync and passes.
    pub fn check_fingerprint(&self, expected: &str) -> Result<(), StateError> {
        match &self.active {
            Some(active) if active.fingerprint != expected => {
                Err(StateError::FingerprintMismatch {
                    pipeline: self.pipeline.clone(),
                    alias: self.alias.clone(),
                    stored: active.fingerprint.clone(),
                    expected: expected.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Makes the generation being built the active one: the old active generation moves to the
    /// front of `previous`, the fingerprint becomes the new generation's, and `finished_at` is
    /// set if the builder did not set it. Call this in the same state update that records the
    /// alias move, after the move succeeded.
    pub fn promote_building(&mut self, now: Timestamp) -> Result<(), StateError> {
        let mut building = self
            .building
            .take()
            .ok_or_else(|| StateError::InvalidTransition {
                pipeline: self.pipeline.clone(),
                alias: self.alias.clone(),
                reason: "no generation is being built, so there is nothing to promote".into(),
            })?;
        building.finished_at.get_or_insert(now);
        self.fingerprint = building.fingerprint.clone();
        if let Some(old) = self.active.replace(building) {
            self.previous.insert(0, old);
        }
        Ok(())
    }

    /// Removes the previous generations beyond the newest `keep` and returns them, so that the
    /// caller deletes their indices after this state is saved (a crash in between leaves an
    /// orphan index, never a state that names a deleted one).
    pub fn take_old_generations(&mut self, keep: usize) -> Vec<Generation> {
        if self.previous.len() <= keep {
            return Vec::new();
        }
        self.previous.split_off(keep)
    }

    fn lease_mut(&mut self, role: LeaseRole) -> &mut Option<Lease> {
        match role {
            LeaseRole::Follower => &mut self.follower,
            LeaseRole::Updater => &mut self.updater,
        }
    }

    /// Takes (or renews) the `role` lease for `me`; refused while another live process holds it.
    pub fn claim(
        &mut self,
        role: LeaseRole,
        me: &LeaseOwner,
        now: Timestamp,
    ) -> Result<(), StateError> {
        let (pipeline, alias) = (self.pipeline.clone(), self.alias.clone());
        let lease = self.lease_mut(role);
        match lease {
            Some(held) if held.held_by_other(me, now) => Err(StateError::Held {
                pipeline,
                alias,
                role: role.describe(),
                owner: held.owner.to_string(),
                renewed_at: held.renewed_at,
                ttl_secs: super::lease::LEASE_TTL.as_secs(),
            }),
            Some(held) if held.owner == *me => {
                held.renewed_at = now;
                Ok(())
            }
            _ => {
                *lease = Some(Lease::new(me.clone(), now));
                Ok(())
            }
        }
    }

    /// Gives the `role` lease up if `me` holds it.
    pub fn release(&mut self, role: LeaseRole, me: &LeaseOwner) {
        let lease = self.lease_mut(role);
        if lease.as_ref().is_some_and(|l| l.owner == *me) {
            *lease = None;
        }
    }

    /// Whether a process other than `me` holds the `role` lease at `now`.
    pub fn held_by_other(&self, role: LeaseRole, me: &LeaseOwner, now: Timestamp) -> bool {
        let lease = match role {
            LeaseRole::Follower => &self.follower,
            LeaseRole::Updater => &self.updater,
        };
        lease.as_ref().is_some_and(|l| l.held_by_other(me, now))
    }

    /// Records a failure: status `failed` and the error kept for `mee status`.
    pub fn fail(&mut self, error: ErrorRecord) {
        self.status = PipelineStatus::Failed;
        self.last_error = Some(error);
    }
}

/// How far one consumer of a pipeline's change stream got.
///
/// Stored in the state index under id `checkpoint/<pipeline>/<scope>`, with the envelope fields
/// `doc_kind: "checkpoint"`, `doc_id` and `format` added by the store. Kept apart from
/// [`PipelineState`] because it is written after every acknowledged batch, and a small document
/// keeps those writes cheap and free of conflicts with `mee update`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// json: `pipeline`
    pub pipeline: String,
    /// json: `scope`, see [`CheckpointKey`].
    pub scope: String,
    /// json: `position`, where to resume: everything before it is acknowledged by Elasticsearch
    /// or recorded in the retry table.
    pub position: Position,
    /// json: `source_time`, the commit time of the last source change covered (binlog event
    /// time, or the polling window's end), so that `mee status` can show a lag without asking
    /// the source. Absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_time: Option<Timestamp>,
    /// json: `updated_at`, set by the store on every write.
    pub updated_at: Timestamp,
    /// json: `recent_errors`, newest last, at most [`RECENT_ERRORS_MAX`] (in polling mode, the
    /// errors caught in recent rounds).
    #[serde(default)]
    pub recent_errors: Vec<ErrorRecord>,
    /// json: `index`, the physical index (generation) the position applies to: a checkpoint of
    /// another generation says nothing about this one. Absent in checkpoints of mee 0.1 before
    /// generations were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Fields written by a newer mee, kept as they are.
    #[serde(flatten, default)]
    pub extra: ExtraFields,
}

impl Checkpoint {
    pub fn new(key: &CheckpointKey, position: Position, now: Timestamp) -> Self {
        Checkpoint {
            pipeline: key.pipeline.clone(),
            scope: key.scope.clone(),
            position,
            source_time: None,
            updated_at: now,
            recent_errors: Vec::new(),
            index: None,
            extra: ExtraFields::new(),
        }
    }

    pub fn key(&self) -> CheckpointKey {
        CheckpointKey::new(&self.pipeline, &self.scope)
    }

    /// How far the covered source changes are behind `now` (for `mee status` and the lag alert);
    /// `None` when the source time is unknown. Never negative: clocks of different machines
    /// disagree a little, and a change "from the future" means no lag.
    pub fn lag(&self, now: Timestamp) -> Option<std::time::Duration> {
        self.source_time.map(|t| now.saturating_since(t))
    }

    /// Appends an error, dropping the oldest beyond [`RECENT_ERRORS_MAX`].
    pub fn push_error(&mut self, error: ErrorRecord) {
        self.recent_errors.push(error);
        let excess = self.recent_errors.len().saturating_sub(RECENT_ERRORS_MAX);
        self.recent_errors.drain(..excess);
    }
}

/// `DateTime` as the text the source uses (`YYYY-MM-DDTHH:MM:SS[.ffffff]`), read back with a
/// space or `T` separator and 1 to 6 fraction digits.
mod naive_datetime_text {
    use super::{Date, DateTime};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(dt: &DateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(dt)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a date-time `YYYY-MM-DDTHH:MM:SS[.ffffff]`"
            ))
        })
    }

    pub(super) fn parse(text: &str) -> Option<DateTime> {
        let b = text.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(
                part.iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
            )
        };
        if b.len() < 19
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let mut micros = 0u32;
        if b.len() > 19 {
            let frac = b.get(20..)?;
            if b[19] != b'.' || frac.is_empty() || frac.len() > 6 {
                return None;
            }
            micros = num(20..b.len())? * 10u32.pow(6 - frac.len() as u32);
        }
        let dt = DateTime {
            date: Date {
                year: u16::try_from(num(0..4)?).ok()?,
                month: u8::try_from(num(5..7)?).ok()?,
                day: u8::try_from(num(8..10)?).ok()?,
            },
            hour: u8::try_from(num(11..13)?).ok()?,
            minute: u8::try_from(num(14..16)?).ok()?,
            second: u8::try_from(num(17..19)?).ok()?,
            micros,
        };
        let valid = (1..=12).contains(&dt.date.month)
            && (1..=31).contains(&dt.date.day)
            && dt.hour < 24
            && dt.minute < 60
            && dt.second < 60;
        valid.then_some(dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn dt(text: &str) -> DateTime {
        naive_datetime_text::parse(text).expect(text)
    }

    #[test]
    fn positions_have_stable_tagged_forms() {
        let binlog = Position::from(BinlogPosition::new("binlog.000042", 1234).with_gtid("0-1-55"));
        assert_eq!(
            serde_json::to_value(&binlog).unwrap(),
            json!({"kind": "binlog", "file": "binlog.000042", "pos": 1234, "gtid": "0-1-55"})
        );
        let plain = Position::from(BinlogPosition::new("binlog.000001", 4));
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            json!({"kind": "binlog", "file": "binlog.000001", "pos": 4})
        );
        let polling = Position::Polling {
            next_start_from: dt("2026-11-05T10:02:00"),
        };
        assert_eq!(
            serde_json::to_value(&polling).unwrap(),
            json!({"kind": "polling", "next_start_from": "2026-11-05T10:02:00"})
        );
        let kafka = Position::Kafka {
            topic: "t".into(),
            partition: 3,
            offset: 1200,
        };
        assert_eq!(
            serde_json::to_value(&kafka).unwrap(),
            json!({"kind": "kafka", "topic": "t", "partition": 3, "offset": 1200})
        );
        for p in [binlog, plain, polling, kafka] {
            let back: Position = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
            assert_eq!(back, p);
        }
        assert!(serde_json::from_value::<Position>(json!({"kind": "carrier_pigeon"})).is_err());
    }

    #[test]
    fn polling_watermarks_keep_microseconds_and_accept_a_space() {
        let p: Position = serde_json::from_value(
            json!({"kind": "polling", "next_start_from": "2026-11-05 10:02:00.25"}),
        )
        .unwrap();
        let watermark = p.next_start_from().unwrap();
        assert_eq!(watermark.micros, 250_000);
        assert_eq!(
            serde_json::to_value(&p).unwrap()["next_start_from"],
            "2026-11-05T10:02:00.250000"
        );
        for bad in [
            "2026-11-05",
            "2026-13-05T10:02:00",
            "2026-11-05T10:02:60",
            "2026-11-05T10:02:00.",
            "2026-11-05T10:02:00.1234567",
            "2026-11-05T10:02:00Z",
        ] {
            assert!(naive_datetime_text::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn pipeline_state_has_stable_field_names() {
        let key = PipelineKey::new("orders", "orders_v");
        let mut state = PipelineState::new(&key, t(0));
        state.fingerprint = "f1".into();
        state.status = PipelineStatus::FullUpdating;
        let mut building = Generation::new("orders_v_1", "f1", t(1000));
        building.snapshot = Some(BinlogPosition::new("binlog.000002", 99).into());
        building.docs = 7;
        state.building = Some(building);
        state.last_error = Some(ErrorRecord::new(t(2000), "boom").with_context("batch 3"));
        let value = serde_json::to_value(&state).unwrap();
        assert_eq!(
            value,
            json!({
                "pipeline": "orders",
                "alias": "orders_v",
                "fingerprint": "f1",
                "building": {
                    "index": "orders_v_1",
                    "fingerprint": "f1",
                    "created_at": "1970-01-01T00:00:01.000Z",
                    "snapshot": {"kind": "binlog", "file": "binlog.000002", "pos": 99},
                    "docs": 7
                },
                "previous": [],
                "status": "full_updating",
                "last_error": {
                    "at": "1970-01-01T00:00:02.000Z",
                    "message": "boom",
                    "context": "batch 3"
                },
                "updated_at": "1970-01-01T00:00:00.000Z"
            })
        );
        let back: PipelineState = serde_json::from_value(value).unwrap();
        assert_eq!(back, state);
        assert_eq!(key.doc_id(), "pipeline/orders/orders_v");
        for (status, text) in [
            (PipelineStatus::Idle, "idle"),
            (PipelineStatus::Syncing, "syncing"),
            (PipelineStatus::Failed, "failed"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), text);
        }
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let stored = json!({
            "pipeline": "p", "alias": "a", "fingerprint": "",
            "status": "syncing", "updated_at": "2026-11-05T10:00:00.000Z",
            "added_by_a_newer_mee": {"x": [1, 2]}
        });
        let state: PipelineState = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(state.extra.len(), 1);
        let mut written = serde_json::to_value(&state).unwrap();
        assert_eq!(written["added_by_a_newer_mee"], json!({"x": [1, 2]}));
        // Defaults fill what an older writer left out.
        written.as_object_mut().unwrap().remove("previous");
        let again: PipelineState = serde_json::from_value(written).unwrap();
        assert!(again.previous.is_empty());
    }

    #[test]
    fn checkpoint_has_stable_field_names_and_bounded_errors() {
        let key = CheckpointKey::sync("orders");
        let mut cp = Checkpoint::new(&key, BinlogPosition::new("binlog.000003", 500).into(), t(0));
        assert_eq!(cp.lag(t(5)), None);
        cp.source_time = Some(t(86_400_000));
        assert_eq!(
            cp.lag(t(86_401_500)),
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(cp.lag(t(0)), Some(std::time::Duration::ZERO));
        for i in 0..(RECENT_ERRORS_MAX as i64 + 5) {
            cp.push_error(ErrorRecord::new(t(i), format!("e{i}")));
        }
        assert_eq!(cp.recent_errors.len(), RECENT_ERRORS_MAX);
        assert_eq!(cp.recent_errors[0].message, "e5");
        cp.recent_errors.truncate(1);
        let value = serde_json::to_value(&cp).unwrap();
        assert_eq!(
            value,
            json!({
                "pipeline": "orders",
                "scope": "sync",
                "position": {"kind": "binlog", "file": "binlog.000003", "pos": 500},
                "source_time": "1970-01-02T00:00:00.000Z",
                "updated_at": "1970-01-01T00:00:00.000Z",
                "recent_errors": [{"at": "1970-01-01T00:00:00.005Z", "message": "e5"}]
            })
        );
        assert_eq!(serde_json::from_value::<Checkpoint>(value).unwrap(), cp);
        assert_eq!(key.doc_id(), "checkpoint/orders/sync");
        assert_eq!(
            CheckpointKey::kafka_partition("orders", "g", "topic", 2).doc_id(),
            "checkpoint/orders/kafka/g/topic/2"
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let text = "é".repeat(ERROR_MESSAGE_MAX);
        let e = ErrorRecord::new(t(0), text);
        assert!(e.message.len() <= ERROR_MESSAGE_MAX);
        assert!(e.message.ends_with("..."));
        assert_eq!(truncate("short".into(), 10), "short");
    }

    #[test]
    fn promotion_and_cleanup_of_generations() {
        let key = PipelineKey::new("p", "a");
        let mut state = PipelineState::new(&key, t(0));
        assert!(matches!(
            state.promote_building(t(1)),
            Err(StateError::InvalidTransition { .. })
        ));
        for (i, fp) in ["f1", "f1", "f2"].iter().enumerate() {
            state.building = Some(Generation::new(format!("a_{i}"), *fp, t(i as i64)));
            state.promote_building(t(100 + i as i64)).unwrap();
        }
        assert_eq!(state.fingerprint, "f2");
        let active = state.active.as_ref().unwrap();
        assert_eq!(
            (active.index.as_str(), active.finished_at),
            ("a_2", Some(t(102)))
        );
        let previous: Vec<&str> = state.previous.iter().map(|g| g.index.as_str()).collect();
        assert_eq!(previous, ["a_1", "a_0"]);
        assert!(state.check_fingerprint("f2").is_ok());
        assert!(matches!(
            state.check_fingerprint("f1"),
            Err(StateError::FingerprintMismatch { .. })
        ));
        let dropped = state.take_old_generations(1);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].index, "a_0");
        assert!(state.take_old_generations(1).is_empty());
        state.fail(ErrorRecord::new(t(5), "x"));
        assert_eq!(state.status, PipelineStatus::Failed);
    }
}
