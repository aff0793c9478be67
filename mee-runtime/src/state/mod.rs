//! Durable pipeline state, kept in Elasticsearch so that mee needs no service besides MySQL and
//! Elasticsearch.
//!
//! - [`StateStore`]: one index per installation (default [`DEFAULT_STATE_INDEX`]) holding a
//!   [`PipelineState`] per pipeline index (generations, status, fingerprint, last error) and a
//!   [`Checkpoint`] per change-stream consumer (binlog position, polling `next_start_from`, Kafka
//!   offset, recent errors). Writes are conditional on `_seq_no`/`_primary_term`, so concurrent
//!   mee processes cannot overwrite each other's changes blindly.
//! - [`RetryTable`]: the dead letters (default index [`DEFAULT_RETRY_INDEX`]), one record per
//!   failing document whose attempts grow, listed, counted and replayed by `mee retry` and the
//!   poller.
//! - [`Timestamp`] and [`Clock`]: RFC 3339 UTC timestamps with millisecond precision, and a clock
//!   tests can control.
//!
//! osmem (the test server) supports `if_seq_no`/`if_primary_term` on `_doc` writes and deletes
//! and in `_bulk`, `op_type=create`, and returns `_seq_no`/`_primary_term` from `GET _doc`,
//! `_mget` and searches with `seq_no_primary_term`; no scripts are needed anywhere here.

mod docio;
pub mod error;
pub mod keeper;
pub mod lease;
pub mod model;
pub mod retry;
pub mod store;
pub mod time;

pub use docio::SeqNo;
pub use error::{StateError, StateResult};
pub use keeper::{LeaseKeeper, LeaseView};
pub use lease::{LEASE_RENEW, LEASE_TTL, Lease, LeaseOwner};
pub use model::{
    Checkpoint, CheckpointKey, ERROR_MESSAGE_MAX, ErrorRecord, ExtraFields, Generation, LeaseRole,
    PipelineKey, PipelineState, PipelineStatus, Position, RECENT_ERRORS_MAX,
};
pub use retry::{
    DEFAULT_RETRY_INDEX, FailedDoc, FailureKind, PageRequest, RecordOutcome, ResolveOutcome,
    RetryConfig, RetryCursor, RetryEntry, RetryFilter, RetryKey, RetryOrder, RetryPage,
    RetryRecord, RetryStats, RetryTable,
};
pub use store::{DEFAULT_STATE_INDEX, StateConfig, StateDoc, StateStore, Versioned};
pub use time::{Clock, ManualClock, SystemClock, Timestamp, TimestampParseError};
