//! SQL: checked-in DDL -> schema, and analysis of item statements.
//!
//! - [`ddl`] reads `pipelines/schema/<database>.sql` (`mysqldump --no-data` output) into the
//!   [`schema`] model: tables, typed columns, keys, each with its span in the `.sql` file.
//! - [`statement`] analyses an item's `statement` (a `SELECT` with Mee placeholders): it binds
//!   every placeholder as a parameter, checks that mee can run the statement, classifies the
//!   `WHERE` conjuncts (links to other items, paging, constant filters) and renders the SQL
//!   variants the runtime executes.
//!
//! Both use sqlparser with the MySQL dialect; positions go through `lex::LineIndex`, because
//! sqlparser reports line/column in characters and mee works with byte offsets.

pub mod ddl;
mod lex;
pub mod schema;

pub use ddl::{load_schema, parse_ddl};
pub use schema::{
    Column, ColumnType, Database, EsType, IntWidth, LobSize, RustType, Schema, Table,
};
pub mod statement;
pub use statement::{SelectAnalysis, SqlError, analyze_select};
