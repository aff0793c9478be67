//! The mee runtime: what generated pipeline code links against, and the I/O engines that drive it
//! (MySQL reads, binlog decoding, Kafka and Elasticsearch).

pub mod bench_support;
pub mod binlog;
pub mod charset;
pub mod doc;
pub mod es;
pub mod eval;
pub mod join;
pub mod mysql;
pub mod pipeline;
pub mod preflight;
pub mod run;
pub mod state;
pub mod sync;
pub mod update;
pub mod value;
pub mod verify;

pub use value::Value;

/// Items used by generated pipeline code. Not a public API: names and signatures change with the
/// code generator.
#[doc(hidden)]
pub mod __private {
    pub use crate::doc::{
        Decimal, DocError, FieldValue, FromValue, IntoValue, JsonWriter, RowError, RowReader,
        ToJson,
    };
    pub use crate::eval::{functions, text};
    pub use crate::join::{Join, JoinMode, Joined, KeyKind, read_joined};
    pub use crate::mysql::{ExpectedColumn, ExpectedTable, MysqlError, Session, Sql, Statement};
    pub use crate::pipeline::{
        BoxFuture, BuiltDoc, IndexPipeline, Key, LinkStep, Page, SourceRole, SourceTable,
        distinct_keys, execute_sql, row_error,
    };
    pub use crate::value::{Date, DateTime, Time, Value};
}
