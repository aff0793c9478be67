//! What generated code calls to evaluate the small languages of handler files on row values:
//! placeholder text rendering ([`text`]), db_field functions ([`functions`]) and filter
//! comparisons ([`compare`]).
//!
//! The functions are small and non-generic so that every pipeline shares one copy. They never
//! panic on data: a value the expression cannot handle (a null in `sum`, text under a sign) is an
//! [`EvalError`], which becomes a per-document error in the retry table. The comparison path
//! allocates nothing because it runs for every binlog row.
//!
//! Semantics follow the reference with every RECOMMEND accepted (Decision 1): NULL renders as
//! `NULL`, `min`/`max` ignore nulls, and an ordered comparison with null or mismatched types is
//! false.

pub mod compare;
pub mod functions;
mod number;
pub mod text;

pub use compare::{CmpOp, Cond, Lit};

/// A db_field expression that cannot be evaluated on this row.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{function}`: {message}")]
pub struct EvalError {
    /// The function (`sum`, `yesterday`, ...) or sign (`-`, `+`) that failed.
    pub function: &'static str,
    pub message: String,
}

impl EvalError {
    pub(crate) fn new(function: &'static str, message: impl Into<String>) -> Self {
        EvalError {
            function,
            message: message.into(),
        }
    }
}

/// The kind of a value, for error messages.
pub(crate) fn kind(v: &crate::Value) -> &'static str {
    use crate::Value;
    match v {
        Value::Null => "null",
        Value::Int(_) | Value::UInt(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Decimal(_) => "a decimal",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
        Value::Date(_) => "a date",
        Value::DateTime(_) => "a datetime",
        Value::Time(_) => "a time",
    }
}
