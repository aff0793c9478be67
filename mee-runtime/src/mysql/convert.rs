//! Result-set values to [`Value`], and [`Value`]s to bound parameters.
//!
//! A `SELECT` must give the same `Value` for a column as the binlog decoder gives for it (see
//! [`crate::binlog::decode`]), because the full update and the sync build documents from one and
//! the other and must agree. The conventions, per column of the result-set metadata:
//! - integers: `Int`, unsigned values above `i64::MAX` `UInt` ([`Value::from_unsigned`]); `YEAR`
//!   is `Int`;
//! - `FLOAT`: [`Value::from_f32`] (shortest decimal text), `DOUBLE`: exact;
//! - `DECIMAL`: its exact text, as the server sends it;
//! - strings: the `binary` charset (63: `BINARY`, `VARBINARY`, `BLOB`) gives `Bytes` (with the
//!   zero padding of `BINARY(n)`, which the server sends and the decoder restores), anything else
//!   `Text` (the session is utf8mb4, so the server converts latin1 columns to UTF-8); `ENUM`,
//!   `SET` and JSON are `Text`. The BINARY *flag* is not used: `utf8mb4_bin` text columns carry
//!   it too;
//! - `DATE`, `DATETIME(n)`, `TIME(n)` map to their variants; `TIMESTAMP(n)` is the `DateTime` the
//!   `+00:00` session shows, i.e. UTC, like the decoder's Unix seconds; zero dates stay zero;
//! - `BIT(n)`: `UInt` of its big-endian bytes;
//! - `GEOMETRY` and unknown types: `Bytes`.
//!
//! Both protocols are handled: the binary protocol (prepared statements) sends numbers and
//! temporals typed, the text protocol sends everything as text, which is parsed here.

use crate::value::{Date, DateTime, Time, Value};
use mysql_async::consts::ColumnType;
use mysql_async::{Column, Row, Value as MyValue};

/// The `binary` character set / collation id.
pub const BINARY_CHARSET: u16 = 63;

/// How one result column becomes a [`Value`], decided once per result set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Float,
    Double,
    Decimal,
    Text,
    Bytes,
    Bit,
    Date,
    DateTime,
    Time,
    Null,
}

impl ColumnKind {
    /// The kind of a result-set column from its type and character set.
    pub fn of(column_type: ColumnType, charset: u16) -> ColumnKind {
        use ColumnType::*;
        match column_type {
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => ColumnKind::Int,
            MYSQL_TYPE_FLOAT => ColumnKind::Float,
            MYSQL_TYPE_DOUBLE => ColumnKind::Double,
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => ColumnKind::Decimal,
            MYSQL_TYPE_ENUM | MYSQL_TYPE_SET | MYSQL_TYPE_JSON => ColumnKind::Text,
            MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB => {
                if charset == BINARY_CHARSET {
                    ColumnKind::Bytes
                } else {
                    ColumnKind::Text
                }
            }
            MYSQL_TYPE_BIT => ColumnKind::Bit,
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => ColumnKind::Date,
            MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_TIMESTAMP2 => ColumnKind::DateTime,
            MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => ColumnKind::Time,
            MYSQL_TYPE_NULL => ColumnKind::Null,
            _ => ColumnKind::Bytes,
        }
    }

    /// Converts one driver value of a column of this kind.
    #[inline]
    pub fn convert(self, v: MyValue) -> Result<Value, String> {
        Ok(match (self, v) {
            (_, MyValue::NULL) => Value::Null,
            (ColumnKind::Text, MyValue::Bytes(b)) => Value::Text(utf8(b)),
            (ColumnKind::Bytes, MyValue::Bytes(b)) => Value::Bytes(b),
            (ColumnKind::Bit, MyValue::UInt(u)) => Value::UInt(u),
            (ColumnKind::Bit, MyValue::Int(i)) => Value::UInt(i as u64),
            (_, MyValue::Int(i)) => Value::Int(i),
            (_, MyValue::UInt(u)) => Value::from_unsigned(u),
            (ColumnKind::Int, MyValue::Bytes(b)) => parse_int(&b)?,
            (ColumnKind::Float, MyValue::Float(f)) => Value::from_f32(f),
            (ColumnKind::Float, MyValue::Double(d)) => Value::from_f32(d as f32),
            (ColumnKind::Float, MyValue::Bytes(b)) => Value::from_f32(parse_num::<f32>(&b)?),
            (_, MyValue::Double(d)) => Value::Float(d),
            (_, MyValue::Float(f)) => Value::Float(f64::from(f)),
            (ColumnKind::Double, MyValue::Bytes(b)) => Value::Float(parse_num::<f64>(&b)?),
            (ColumnKind::Decimal, MyValue::Bytes(b)) => Value::Decimal(utf8(b)),
            (ColumnKind::Bit, MyValue::Bytes(b)) => {
                Value::UInt(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
            }
            (ColumnKind::Date, MyValue::Date(y, m, d, ..)) => Value::Date(Date {
                year: y,
                month: m,
                day: d,
            }),
            (_, MyValue::Date(y, mo, d, h, mi, s, us)) => Value::DateTime(DateTime {
                date: Date {
                    year: y,
                    month: mo,
                    day: d,
                },
                hour: h,
                minute: mi,
                second: s,
                micros: us,
            }),
            (_, MyValue::Time(negative, days, h, m, s, us)) => Value::Time(Time {
                negative,
                hours: days * 24 + u32::from(h),
                minute: m,
                second: s,
                micros: us,
            }),
            (ColumnKind::Date, MyValue::Bytes(b)) => Value::Date(parse_date(ascii(&b)?)?),
            (ColumnKind::DateTime, MyValue::Bytes(b)) => {
                Value::DateTime(parse_datetime(ascii(&b)?)?)
            }
            (ColumnKind::Time, MyValue::Bytes(b)) => Value::Time(parse_time(ascii(&b)?)?),
            (ColumnKind::Null, MyValue::Bytes(b)) => Value::Bytes(b),
        })
    }
}

/// The per-column kinds of one result set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowPlan {
    kinds: Vec<ColumnKind>,
    names: Vec<String>,
}

impl RowPlan {
    pub fn new(columns: &[Column]) -> RowPlan {
        RowPlan {
            kinds: columns
                .iter()
                .map(|c| ColumnKind::of(c.column_type(), c.character_set()))
                .collect(),
            names: columns.iter().map(|c| c.name_str().into_owned()).collect(),
        }
    }

    pub fn kinds(&self) -> &[ColumnKind] {
        &self.kinds
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// One row as values in SELECT order.
    #[inline]
    pub fn convert(&self, row: Row) -> Result<Vec<Value>, String> {
        let raw = row.unwrap_raw();
        if raw.len() != self.kinds.len() {
            return Err(format!(
                "a row has {} columns, its result set {}",
                raw.len(),
                self.kinds.len()
            ));
        }
        let mut out = Vec::with_capacity(raw.len());
        for (i, (v, kind)) in raw.into_iter().zip(&self.kinds).enumerate() {
            let v = v.unwrap_or(MyValue::NULL);
            out.push(
                kind.convert(v)
                    .map_err(|e| format!("column `{}`: {e}", self.names[i]))?,
            );
        }
        Ok(out)
    }
}

/// A [`Value`] as a bound parameter.
pub fn to_param(v: &Value) -> MyValue {
    match v {
        Value::Null => MyValue::NULL,
        Value::Int(i) => MyValue::Int(*i),
        Value::UInt(u) => MyValue::UInt(*u),
        Value::Float(f) => MyValue::Double(*f),
        Value::Decimal(s) | Value::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => MyValue::Bytes(b.clone()),
        Value::Date(d) => MyValue::Date(d.year, d.month, d.day, 0, 0, 0, 0),
        Value::DateTime(dt) => MyValue::Date(
            dt.date.year,
            dt.date.month,
            dt.date.day,
            dt.hour,
            dt.minute,
            dt.second,
            dt.micros,
        ),
        Value::Time(t) => MyValue::Time(
            t.negative,
            t.hours / 24,
            (t.hours % 24) as u8,
            t.minute,
            t.second,
            t.micros,
        ),
    }
}

/// UTF-8 text without a copy when valid (the session is utf8mb4, so it always is).
#[inline]
fn utf8(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn ascii(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|_| "the value is not text".to_string())
}

fn parse_num<T: std::str::FromStr>(b: &[u8]) -> Result<T, String> {
    ascii(b)?
        .trim()
        .parse::<T>()
        .map_err(|_| format!("`{}` is not a number", String::from_utf8_lossy(b)))
}

fn parse_int(b: &[u8]) -> Result<Value, String> {
    if let Ok(i) = parse_num::<i64>(b) {
        return Ok(Value::Int(i));
    }
    parse_num::<u64>(b).map(Value::from_unsigned)
}

fn field<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse::<T>()
        .map_err(|_| format!("`{s}` is not a valid {what}"))
}

/// `YYYY-MM-DD`.
fn parse_date(s: &str) -> Result<Date, String> {
    let mut it = s.splitn(3, '-');
    match (it.next(), it.next(), it.next()) {
        (Some(y), Some(m), Some(d)) => Ok(Date {
            year: field(y, "year")?,
            month: field(m, "month")?,
            day: field(d, "day")?,
        }),
        _ => Err(format!("`{s}` is not a date")),
    }
}

/// `HH:MM:SS[.ffffff]` (hours may exceed 24 for `TIME`) -> (hours, minute, second, micros).
fn parse_clock(s: &str) -> Result<(u32, u8, u8, u32), String> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut it = hms.splitn(3, ':');
    let (Some(h), Some(m), Some(sec)) = (it.next(), it.next(), it.next()) else {
        return Err(format!("`{s}` is not a time"));
    };
    let micros = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        field(&digits, "fraction")?
    };
    Ok((
        field(h, "hour")?,
        field(m, "minute")?,
        field(sec, "second")?,
        micros,
    ))
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`.
fn parse_datetime(s: &str) -> Result<DateTime, String> {
    let (d, t) = s.split_once([' ', 'T']).unwrap_or((s, "00:00:00"));
    let (hour, minute, second, micros) = parse_clock(t)?;
    Ok(DateTime {
        date: parse_date(d)?,
        hour: u8::try_from(hour).map_err(|_| format!("`{s}` has a bad hour"))?,
        minute,
        second,
        micros,
    })
}

/// `[-]HHH:MM:SS[.ffffff]`.
fn parse_time(s: &str) -> Result<Time, String> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (hours, minute, second, micros) = parse_clock(rest)?;
    Ok(Time {
        negative,
        hours,
        minute,
        second,
        micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_protocol_values_follow_the_decoder_conventions() {
        use ColumnKind as K;
        assert_eq!(K::Int.convert(MyValue::UInt(5)).unwrap(), Value::Int(5));
        assert_eq!(
            K::Int.convert(MyValue::UInt(u64::MAX)).unwrap(),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            K::Float.convert(MyValue::Float(1.2)).unwrap(),
            Value::Float(1.2)
        );
        assert_eq!(
            K::Bit.convert(MyValue::Bytes(vec![0x0a, 0xaa])).unwrap(),
            Value::UInt(0xaaa)
        );
        assert_eq!(
            K::Time
                .convert(MyValue::Time(true, 34, 22, 59, 59, 0))
                .unwrap()
                .to_string_lossy(),
            "-838:59:59"
        );
        assert_eq!(
            K::Bytes.convert(MyValue::Bytes(b"a\0".to_vec())).unwrap(),
            Value::Bytes(b"a\0".to_vec())
        );
        assert_eq!(K::Text.convert(MyValue::NULL).unwrap(), Value::Null);
    }

    #[test]
    fn text_protocol_values_parse_to_the_same() {
        use ColumnKind as K;
        let t = |k: ColumnKind, s: &str| k.convert(MyValue::Bytes(s.as_bytes().to_vec())).unwrap();
        assert_eq!(t(K::Int, "-5"), Value::Int(-5));
        assert_eq!(t(K::Int, "18446744073709551615"), Value::UInt(u64::MAX));
        assert_eq!(t(K::Float, "-0.1"), Value::Float(-0.1));
        assert_eq!(t(K::Decimal, "12.50"), Value::Decimal("12.50".into()));
        assert_eq!(
            t(K::DateTime, "2024-01-02 03:04:05.678"),
            K::DateTime
                .convert(MyValue::Date(2024, 1, 2, 3, 4, 5, 678_000))
                .unwrap()
        );
        assert_eq!(
            t(K::Time, "-00:00:00.000001"),
            K::Time.convert(MyValue::Time(true, 0, 0, 0, 0, 1)).unwrap()
        );
        assert_eq!(
            t(K::Date, "0000-00-00"),
            K::Date.convert(MyValue::Date(0, 0, 0, 0, 0, 0, 0)).unwrap()
        );
        assert!(K::Int.convert(MyValue::Bytes(b"x".to_vec())).is_err());
    }

    #[test]
    fn params_round_trip_through_conversion() {
        for (kind, v) in [
            (ColumnKind::Int, Value::Int(-3)),
            (ColumnKind::Int, Value::UInt(u64::MAX)),
            (ColumnKind::Text, Value::Text("é".into())),
            (ColumnKind::Decimal, Value::Decimal("1.50".into())),
            (
                ColumnKind::Time,
                Value::Time(Time {
                    negative: false,
                    hours: 838,
                    minute: 1,
                    second: 2,
                    micros: 3,
                }),
            ),
        ] {
            assert_eq!(kind.convert(to_param(&v)).unwrap(), v);
        }
    }

    trait Lossy {
        fn to_string_lossy(&self) -> String;
    }
    impl Lossy for Value {
        fn to_string_lossy(&self) -> String {
            match self {
                Value::Time(t) => t.to_string(),
                other => format!("{other:?}"),
            }
        }
    }
}
