//! Typed columns from [`Value`]s.

use crate::value::{Date, DateTime, Time, Value};

/// A `DECIMAL`, kept as its exact text (`"12.50"`) and written to JSON as a number.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Decimal(pub String);

/// A column value of the wrong kind for the type the DDL declared (the live table changed, or a
/// bug): reported per document, never a panic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}`: expected {expected}, found {found}")]
pub struct RowError {
    pub column: &'static str,
    pub expected: &'static str,
    pub found: String,
}

/// Conversion of one column value into the Rust type generated code declared for it.
pub trait FromValue: Sized {
    const EXPECTED: &'static str;
    /// `None` when the value is of another kind.
    fn from_value(v: Value) -> Option<Self>;
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => format!("integer {i}"),
        Value::UInt(u) => format!("integer {u}"),
        Value::Float(f) => format!("float {f}"),
        Value::Decimal(d) => format!("decimal {d}"),
        Value::Text(_) => "text".into(),
        Value::Bytes(_) => "bytes".into(),
        Value::Date(_) => "date".into(),
        Value::DateTime(_) => "datetime".into(),
        Value::Time(_) => "time".into(),
    }
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }
}

impl FromValue for u64 {
    const EXPECTED: &'static str = "an unsigned integer";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            _ => None,
        }
    }
}

impl FromValue for Decimal {
    const EXPECTED: &'static str = "a decimal";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Decimal(d) => Some(Decimal(d)),
            Value::Int(i) => Some(Decimal(i.to_string())),
            Value::UInt(u) => Some(Decimal(u.to_string())),
            _ => None,
        }
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s),
            // A binary-collated text column arrives as bytes from some servers.
            Value::Bytes(b) => String::from_utf8(b).ok(),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "bytes";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Bytes(b) => Some(b),
            Value::Text(s) => Some(s.into_bytes()),
            _ => None,
        }
    }
}

impl FromValue for Date {
    const EXPECTED: &'static str = "a date";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Date(d) => Some(d),
            _ => None,
        }
    }
}

impl FromValue for DateTime {
    const EXPECTED: &'static str = "a datetime";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::DateTime(d) => Some(d),
            _ => None,
        }
    }
}

impl FromValue for Time {
    const EXPECTED: &'static str = "a time";
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Time(t) => Some(t),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// Reads the columns of one row in order; generated `from_row` functions call [`RowReader::next`]
/// once per declared column.
pub struct RowReader {
    values: std::vec::IntoIter<Value>,
}

impl RowReader {
    pub fn new(values: Vec<Value>) -> Self {
        RowReader {
            values: values.into_iter(),
        }
    }

    /// The next column, converted. A missing column reads as NULL (and fails for NOT NULL types).
    pub fn next<T: FromValue>(&mut self, column: &'static str) -> Result<T, RowError> {
        let v = self.values.next().unwrap_or(Value::Null);
        let shown = kind(&v);
        T::from_value(v).ok_or(RowError {
            column,
            expected: T::EXPECTED,
            found: shown,
        })
    }
}

/// A typed column as a [`Value`], for db_field functions, which work on values.
pub trait IntoValue {
    fn to_value(&self) -> Value;
}

macro_rules! into_value {
    ($($t:ty => |$x:ident| $e:expr),* $(,)?) => {$(
        impl IntoValue for $t {
            fn to_value(&self) -> Value {
                let $x = self;
                $e
            }
        }
    )*};
}

into_value! {
    i64 => |x| Value::Int(*x),
    u64 => |x| Value::from_unsigned(*x),
    f64 => |x| Value::Float(*x),
    Decimal => |x| Value::Decimal(x.0.clone()),
    String => |x| Value::Text(x.clone()),
    Vec<u8> => |x| Value::Bytes(x.clone()),
    Date => |x| Value::Date(*x),
    DateTime => |x| Value::DateTime(*x),
    Time => |x| Value::Time(*x),
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, IntoValue::to_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_converts_and_reports_wrong_kinds() {
        let mut r = RowReader::new(vec![Value::Int(5), Value::Null, Value::Text("x".into())]);
        assert_eq!(r.next::<u64>("id"), Ok(5));
        assert_eq!(r.next::<Option<String>>("note"), Ok(None));
        let err = r.next::<i64>("name").expect_err("text is not an integer");
        assert_eq!(
            err.to_string(),
            "column `name`: expected an integer, found text"
        );
        assert_eq!(
            r.next::<i64>("missing").map_err(|e| e.found),
            Err("NULL".to_string())
        );
    }
}
