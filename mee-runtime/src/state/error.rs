//! The error type of the state store and the retry table.

use crate::es::EsError;
use thiserror::Error;

/// What went wrong reading or writing pipeline state, checkpoints or the retry table.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum StateError {
    /// Elasticsearch could not be reached or refused a request as a whole.
    #[error(transparent)]
    Es(#[from] EsError),

    /// The document changed since it was read: another process (a second `mee run`, or
    /// `mee update` next to `mee run`) wrote it in between. Nothing was overwritten.
    #[error(
        "state document `{id}` in index `{index}` was changed by another process since it was \
         read{}; nothing was overwritten. If another mee process works on the same pipeline, \
         stop one of them; otherwise read the state again and retry",
        attempts_suffix(*.attempts)
    )]
    Conflict {
        index: String,
        id: String,
        /// How many read-modify-write rounds were tried (1 for a single conditional write).
        attempts: u32,
    },

    /// A create found the document already there.
    #[error("state document `{id}` already exists in index `{index}`")]
    AlreadyExists { index: String, id: String },

    /// An update was asked for a document that does not exist.
    #[error("state document `{id}` does not exist in index `{index}`")]
    NotFound { index: String, id: String },

    /// The stored document cannot be read as what it should be (hand-edited, or written by an
    /// incompatible mee version).
    #[error("state document `{id}` in index `{index}` cannot be read: {reason}")]
    Corrupt {
        index: String,
        id: String,
        reason: String,
    },

    /// The index behind an alias was built by a different version of the pipeline, so syncing
    /// it with this build would mix two document shapes.
    #[error(
        "index `{alias}` of pipeline `{pipeline}` was built by a different version of the pipeline \
         (stored fingerprint {stored}, this build {expected}); rebuild it with `mee update \
         {pipeline}`"
    )]
    FingerprintMismatch {
        pipeline: String,
        alias: String,
        stored: String,
        expected: String,
    },

    /// Another live process holds the lease this one needs.
    #[error(
        "pipeline `{pipeline}` index `{alias}` is already {role} ({owner}, last seen {renewed_at}); \
         stop that process first, or if it died on another machine wait {ttl_secs} s for its \
         lease to expire"
    )]
    Held {
        pipeline: String,
        alias: String,
        role: &'static str,
        owner: String,
        renewed_at: super::time::Timestamp,
        ttl_secs: u64,
    },

    /// A state change that makes no sense in the current state (e.g. promoting a generation when
    /// none is being built).
    #[error("pipeline `{pipeline}` index `{alias}`: {reason}")]
    InvalidTransition {
        pipeline: String,
        alias: String,
        reason: String,
    },

    /// A configured index name that Elasticsearch would refuse or treat specially.
    #[error("invalid index name `{name}` for the {purpose}: {reason}")]
    InvalidIndexName {
        name: String,
        purpose: &'static str,
        reason: String,
    },

    /// Some records could not be written to the retry table. The caller must not advance its
    /// checkpoint past the failures, because they are not recorded anywhere yet.
    #[error(
        "{failed} of {total} retry records could not be written to index `{index}`; the first: \
         {first}"
    )]
    RetryWrite {
        index: String,
        failed: usize,
        total: usize,
        first: String,
    },
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (in each of {attempts} attempts)")
    } else {
        String::new()
    }
}

impl StateError {
    /// Whether the same operation may succeed later without anyone changing anything: transport
    /// problems and overload. A conflict is not transient in this sense; it needs a fresh read.
    pub fn is_transient(&self) -> bool {
        match self {
            StateError::Es(e) => e.is_transient(),
            _ => false,
        }
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, StateError::Conflict { .. })
    }
}

/// Shorthand for results of this module.
pub type StateResult<T> = Result<T, StateError>;
