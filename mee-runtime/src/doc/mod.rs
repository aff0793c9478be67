//! What generated document code is made of: typed column values read from rows of [`Value`]s,
//! and a fast JSON writer for the documents.
//!
//! Generated code turns each row into a typed struct once ([`FromValue`]), computes the document
//! fields with plain Rust, and writes the document with [`JsonWriter`] straight into the bytes of
//! a bulk request: no intermediate `serde_json::Value`.

mod from_value;
mod json;

pub use from_value::{Decimal, FromValue, IntoValue, RowError, RowReader};
pub use json::{JsonWriter, ToJson, write_json_string};

use crate::value::Value;

/// A document field whose type is only known at run time: the result of a function, an
/// `executeSQL` call, or a `null_value` of another JSON type than the column.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    Value(Value),
    /// A constant from the pipeline (a `null_value`), as JSON text.
    Json(&'static str),
}

impl Default for FieldValue {
    fn default() -> Self {
        FieldValue::Value(Value::Null)
    }
}

impl FieldValue {
    /// `value`, or the constant `null_value` when it is null (reference §2.4).
    pub fn or_null_value(value: Value, null_value: Option<&'static str>) -> FieldValue {
        match (value, null_value) {
            (Value::Null, Some(json)) => FieldValue::Json(json),
            (v, _) => FieldValue::Value(v),
        }
    }
}

impl ToJson for FieldValue {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        match self {
            FieldValue::Value(v) => v.write_json(w),
            FieldValue::Json(raw) => w.raw(raw),
        }
    }
}

/// Why one document could not be built. It goes to the retry table with the document's key;
/// it never stops the pipeline.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    #[error("row of `{table}` does not fit the pipeline's schema: {source}")]
    Row {
        table: &'static str,
        source: RowError,
    },
    #[error("field `{field}`: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("nested array `{field}` has {count} elements, more than the limit of {limit}")]
    TooManyNested {
        field: &'static str,
        count: usize,
        limit: usize,
    },
}

impl DocError {
    pub fn field(field: &'static str, err: impl std::fmt::Display) -> DocError {
        DocError::Field {
            field,
            message: err.to_string(),
        }
    }
}
