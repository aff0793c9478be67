//! Checks of a lowered [`Pipeline`](crate::model::Pipeline) against the schema. One function per
//! rule; each states the rule and why it exists.

pub mod columns;
pub mod statements;

pub use columns::check_columns;
pub use statements::{Link, StatementInfo, check_statements};
