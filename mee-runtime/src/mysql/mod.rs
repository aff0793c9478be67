//! Reading MySQL/MariaDB: the only way generated pipeline code and the engines touch the source.
//!
//! - [`config`]: [`SourceConfig`], the server URL, the logical -> physical database map, pool
//!   sizes and timeouts. Every connection runs in utf8mb4 with `time_zone = '+00:00'`, so that a
//!   `TIMESTAMP` reads as the same UTC value the binlog decoder produces.
//! - [`sql`]: [`Sql`], the `const` statement template generated code declares (one table of one
//!   logical database), resolved once at start-up into a [`Statement`] with the physical name;
//!   IN-list rendering, chunking and padding for batched look-ups.
//! - [`convert`]: result-set values to [`Value`](crate::Value), exactly as the binlog decoder
//!   produces them for the same column, and `Value`s back to bound parameters.
//! - [`read`]: [`Source`] (the pool), [`Session`] (one connection) and [`Snapshot`] (one
//!   consistent-snapshot transaction with its binlog position), plus bounded-concurrency reads.
//! - [`schema`]: `mee schema pull` (checked-in DDL from the live server) and the start-up check
//!   that the tables and columns a pipeline uses still exist with the types it was built for.

pub mod config;
pub mod convert;
pub mod read;
pub mod schema;
pub mod sql;

pub use config::{ConfigError, SourceConfig, parse_database_override};
pub use read::{Session, Snapshot, Source};
pub use schema::{
    ExpectedColumn, ExpectedTable, ProblemKind, SchemaProblem, check_schema, pull_schema,
};
pub use sql::{KeyBatch, Sql, Statement};

/// Everything that can go wrong while reading MySQL. Each message is one sentence that names the
/// server or the statement and, where a person has to act, what to check.
#[derive(Debug, thiserror::Error)]
pub enum MysqlError {
    /// The configuration cannot work (a bad URL, a bad `--database` override).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No connection could be made.
    #[error("cannot connect to MySQL at {server}: {reason}; {hint}")]
    Connect {
        server: String,
        reason: String,
        hint: &'static str,
    },
    /// A statement failed.
    #[error("MySQL error at {server} while {context}: {source}")]
    Query {
        server: String,
        context: String,
        #[source]
        source: mysql_async::Error,
    },
    /// A result could not be turned into values (an unexpected type or shape).
    #[error("unexpected result while {context}: {message}")]
    Result { context: String, message: String },
    /// The server cannot provide what was asked (e.g. a consistent snapshot position on a server
    /// that does not report one).
    #[error("{0}")]
    Unsupported(String),
    /// Reading or writing a local file (`mee schema pull`).
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl MysqlError {
    /// Whether retrying with a new connection may help (network and server errors), as opposed
    /// to problems that need a person.
    pub fn is_transient(&self) -> bool {
        match self {
            MysqlError::Connect { .. } => true,
            MysqlError::Query { source, .. } => matches!(
                source,
                mysql_async::Error::Io(_) | mysql_async::Error::Driver(_)
            ),
            _ => false,
        }
    }
}
