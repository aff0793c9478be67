//! Elasticsearch/OpenSearch I/O.
//!
//! - [`EsClient`]: the connection (official `elasticsearch` crate transport), ping, raw requests.
//! - index management on [`EsClient`] (`index.rs`): create, bulk-load settings, aliases, scans.
//! - [`BulkWriter`]: batched, concurrent, retrying `_bulk` writes with per-batch tickets, shared by
//!   the full update and the incremental sync.
//! - [`bulk_sink::BulkSink`]: an in-process server that only accepts `_bulk`, for benchmarks.

pub mod bulk;
mod bulk_response;
pub mod bulk_sink;
pub mod client;
pub mod error;
pub mod index;
pub mod ndjson;

pub use bulk::{
    BatchOutcome, BulkConfig, BulkCounters, BulkFailure, BulkStats, BulkWriter, Ticket,
};
pub use bulk_sink::{BulkSink, SinkConfig, SinkStats};
pub use bytes::Bytes;
pub use client::{EsClient, EsConfig, RawResponse};
pub use error::{EsError, EsResult};
pub use index::{AliasMove, FetchedDoc, Hit, IndexInfo, SavedSettings, Scan, ScanOptions};
pub use ndjson::{BulkAction, BulkOp, OpIdentity, VersionType};
