//! The dynamic value of one MySQL column, as read from a query result or a binlog row image.
//!
//! Generated code turns rows of `Value`s into typed row structs right away; `Value` is the common
//! currency between the binlog decoder, the MySQL reader, Kafka messages and the generated code.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar date (`DATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// A date and time without time zone (`DATETIME`, and `TIMESTAMP` rendered in the session zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
}

/// A `TIME` value: a signed duration that may exceed 24 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Time {
    pub negative: bool,
    pub hours: u32,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
}

/// One column value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum Value {
    Null,
    /// Signed integers of every width, and `YEAR`.
    Int(i64),
    /// Unsigned integers that do not fit `i64`, and `BIT`.
    UInt(u64),
    /// `FLOAT` and `DOUBLE`.
    Float(f64),
    /// `DECIMAL`, kept as its exact text (`"12.50"`).
    Decimal(String),
    /// Character columns (`CHAR`, `VARCHAR`, `TEXT`, `ENUM`, `SET`, MariaDB `JSON`).
    Text(String),
    /// Binary columns (`BINARY`, `VARBINARY`, `BLOB`).
    Bytes(Vec<u8>),
    Date(Date),
    DateTime(DateTime),
    Time(Time),
}

impl Date {
    pub const fn new(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Whether this is a calendar date: MySQL also stores the zero date `0000-00-00` and, without
    /// `NO_ZERO_IN_DATE` or with `ALLOW_INVALID_DATES`, dates like `2024-00-10` or `2024-02-30`,
    /// which no Elasticsearch `date` field accepts. Documents carry such a date as null (the
    /// value itself stays as MySQL has it, so changes and composite ids still see it).
    pub const fn is_valid(self) -> bool {
        if self.month < 1 || self.month > 12 || self.day < 1 {
            return false;
        }
        let leap = self.year.is_multiple_of(4)
            && (!self.year.is_multiple_of(100) || self.year.is_multiple_of(400));
        let days = match self.month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        self.day <= days
    }

    /// This date at `hour:minute:second`.
    pub const fn at(self, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime {
            date: self,
            hour,
            minute,
            second,
            micros: 0,
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as `i64` when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Decimal(s) => Some(s),
            _ => None,
        }
    }

    /// An unsigned column value: `Int` when it fits `i64`, `UInt` above (the binlog decoder and
    /// the MySQL reader both normalise this way, so the same row gives equal values).
    pub fn from_unsigned(u: u64) -> Value {
        match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(u),
        }
    }

    /// A `FLOAT` column value: the `f64` of the shortest decimal text that reads back as the same
    /// `f32` (`1.2`, not `1.2000000476837158`).
    pub fn from_f32(f: f32) -> Value {
        if !f.is_finite() {
            return Value::Float(f64::from(f));
        }
        Value::Float(format!("{f:e}").parse::<f64>().unwrap_or(f64::from(f)))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for DateTime {
    /// ISO 8601 with a `T` separator, the format both the full update and the sync write
    /// (`YYYY-MM-DDTHH:MM:SS[.ffffff]`); the index mapping accepts it as `date`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )?;
        if self.micros != 0 {
            write!(f, ".{:06}", self.micros)?;
        }
        Ok(())
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.negative { "-" } else { "" };
        write!(
            f,
            "{sign}{:02}:{:02}:{:02}",
            self.hours, self.minute, self.second
        )?;
        if self.micros != 0 {
            write!(f, ".{:06}", self.micros)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_render_iso_with_optional_fraction() {
        let d = Date::new(2018, 1, 2);
        let dt = d.at(3, 4, 5);
        assert_eq!(dt.to_string(), "2018-01-02T03:04:05");
        assert_eq!(
            DateTime { micros: 120, ..dt }.to_string(),
            "2018-01-02T03:04:05.000120"
        );
        let t = Time {
            negative: true,
            hours: 838,
            minute: 59,
            second: 59,
            micros: 0,
        };
        assert_eq!(t.to_string(), "-838:59:59");
    }

    #[test]
    fn zero_and_invalid_dates_are_not_calendar_dates() {
        for (y, m, d) in [
            (0, 0, 0),
            (2024, 0, 10),
            (2024, 1, 0),
            (2023, 2, 29),
            (2024, 4, 31),
        ] {
            assert!(!Date::new(y, m, d).is_valid(), "{y}-{m}-{d}");
        }
        for (y, m, d) in [(2024, 2, 29), (2000, 2, 29), (0, 1, 1), (9999, 12, 31)] {
            assert!(Date::new(y, m, d).is_valid(), "{y}-{m}-{d}");
        }
        assert!(!Date::new(1900, 2, 29).is_valid());
    }

    #[test]
    fn values_round_trip_through_json() {
        let v = vec![
            Value::Null,
            Value::UInt(u64::MAX),
            Value::Decimal("12.50".into()),
        ];
        let text = serde_json::to_string(&v).expect("values serialise");
        let back: Vec<Value> = serde_json::from_str(&text).expect("values deserialise");
        assert_eq!(v, back);
    }
}
