//! Reading the MySQL/MariaDB binlog.
//!
//! - [`settings`]: the start-up check of the server (binlog on, ROW, FULL image and metadata, no
//!   compression, privileges) and where the binlog head is.
//! - [`position`]: [`BinlogPosition`], the resume point and Elasticsearch version source.
//! - [`decode`]: per-table decode plans that turn rows events into `Vec<Value>` images.
//! - [`stream`]: [`BinlogReader`], which follows the binlog from a position or a GTID and yields
//!   [`BinlogEvent`]s: rows, commits (safe resume points), DDL and rotations.

pub mod decode;
pub mod position;
pub mod settings;
pub mod stream;

pub use decode::{ColumnInfo, DecodeError, RawRows, RawText, RowChange, RowKind, TablePlan};
pub use position::{BinlogPosition, Gtid, PositionParseError, parse_gtid_list};
pub use settings::{ServerSettings, check_server, read_head, read_server_settings};
pub use stream::{BinlogEvent, BinlogReader, ReaderConfig, RowsEvent, StartAt, TableFilter};

/// Everything that can stop the binlog reader. Each message is one sentence that says what went
/// wrong and, where mee cannot fix it itself, what to change.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    /// The server's settings or the account's privileges do not allow a correct binlog read.
    #[error("{0}")]
    Settings(String),
    /// The reader was configured in a way that cannot work (e.g. a clashing server id).
    #[error("{0}")]
    Config(String),
    #[error("MySQL error while {context}: {source}")]
    Mysql {
        context: String,
        #[source]
        source: mysql_async::Error,
    },
    /// The binlog holds events mee cannot read without losing changes (compressed rows events,
    /// partial JSON updates, unknown event types).
    #[error("{0}")]
    Unsupported(String),
    /// An event could not be decoded.
    #[error("cannot decode the binlog event at {position}: {message}")]
    Decode { position: String, message: String },
    /// Parsing an event panicked inside mysql_common (a truncated or corrupt event); the panic
    /// was contained and the stream stopped.
    #[error(
        "the binlog event at {position} is truncated or corrupt (its parser failed: {message}); \
         restart mee to read it again, and if it fails again inspect it with `mariadb-binlog`"
    )]
    Corrupt { position: String, message: String },
    /// No packet (not even a heartbeat) arrived for much longer than the heartbeat period.
    #[error("{0}")]
    Stalled(String),
}

impl BinlogError {
    pub(crate) fn mysql(context: &str, source: mysql_async::Error) -> Self {
        BinlogError::Mysql {
            context: context.to_string(),
            source,
        }
    }

    /// Whether reconnecting and resuming from the last commit position may help (network and
    /// server errors), as opposed to problems that need a person.
    pub fn is_transient(&self) -> bool {
        matches!(self, BinlogError::Mysql { .. } | BinlogError::Stalled(_))
    }
}
