//! Filter semantics (reference §4.3): a row value against a filter literal.
//!
//! * Equality is Python's: numbers compare by value across integer, float and decimal
//!   (`1 == 1.0`), a number never equals text (`1 != "1"`), and null equals null.
//! * Ordered comparisons are numeric across number kinds and lexicographic for text; with null
//!   or mismatched kinds they are false (RECOMMEND; Mee used Python 2's cross-type order).
//! * A date, datetime or time column compared with text compares its text
//!   (`YYYY-MM-DD HH:MM:SS[.ffffff]`), because Mee's incremental sync saw these columns as text.
//!
//! Generated code builds its literals as constants (`Lit` and `Cond` borrow `'static` data) and
//! calls [`passes`] per column; nothing on this path allocates.

use super::number::Dec;
use super::number::{Num, StackStr, cmp_num};
use super::text::write_datetime;
use crate::Value;
use crate::value::{Date, DateTime, Time};
use std::cmp::Ordering;
use std::fmt::Write as _;

/// A comparison operator of a filter mapping (`!=` and `<>` are both [`CmpOp::Ne`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A filter literal. YAML booleans are written as `Int(1)`/`Int(0)` (Python's `True == 1`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lit<'a> {
    Null,
    Int(i64),
    UInt(u64),
    Float(f64),
    /// An exact decimal text such as `"12.50"`.
    Decimal(&'a str),
    Text(&'a str),
}

/// The condition on one column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cond<'a> {
    /// The value equals the literal.
    Eq(Lit<'a>),
    /// The value equals one of the literals; an empty list never passes.
    In(&'a [Lit<'a>]),
    /// Every comparison holds; an empty list always passes.
    Ops(&'a [(CmpOp, Lit<'a>)]),
}

/// Whether `value` (a column of the row) satisfies `cond`.
pub fn passes(cond: &Cond<'_>, value: &Value) -> bool {
    match cond {
        Cond::Eq(lit) => equals(value, lit),
        Cond::In(lits) => lits.iter().any(|lit| equals(value, lit)),
        Cond::Ops(ops) => ops.iter().all(|(op, lit)| compare(*op, value, lit)),
    }
}

/// Whether a row passes a whole filter, for rows held as name → value lookups. A column the row
/// does not have fails its condition, as in Mee; an empty filter passes.
pub fn passes_row<'r>(
    filter: &[(&str, Cond<'_>)],
    lookup: &dyn Fn(&str) -> Option<&'r Value>,
) -> bool {
    filter
        .iter()
        .all(|(column, cond)| lookup(column).is_some_and(|v| passes(cond, v)))
}

/// `value <op> lit`.
pub fn compare(op: CmpOp, value: &Value, lit: &Lit<'_>) -> bool {
    let (a, b) = (View::of_value(value), View::of_lit(lit));
    match op {
        CmpOp::Eq => a.equals(&b),
        CmpOp::Ne => !a.equals(&b),
        CmpOp::Gt => a.order(&b) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(a.order(&b), Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Lt => a.order(&b) == Some(Ordering::Less),
        CmpOp::Le => matches!(a.order(&b), Some(Ordering::Less | Ordering::Equal)),
    }
}

/// Python equality of a value and a literal.
pub fn equals(value: &Value, lit: &Lit<'_>) -> bool {
    View::of_value(value).equals(&View::of_lit(lit))
}

/// Python equality of two values (same rules as [`equals`]).
pub fn values_equal(a: &Value, b: &Value) -> bool {
    View::of_value(a).equals(&View::of_value(b))
}

/// The order of two values: numbers across kinds, text, and dates, datetimes or times among
/// themselves (or against text); `None` for null, NaN or mismatched kinds.
pub fn values_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    View::of_value(a).order(&View::of_value(b))
}

/// A borrowed view that puts values and literals in the same shape.
enum View<'a> {
    Null,
    Num(Num<'a>),
    /// Text and bytes alike (Python 2 compared byte strings and text by their bytes).
    Text(&'a [u8]),
    Date(Date),
    DateTime(DateTime),
    Time(Time),
    /// A value that equals nothing and has no order (a malformed decimal).
    Opaque,
}

impl<'a> View<'a> {
    fn of_value(v: &'a Value) -> View<'a> {
        match v {
            Value::Null => View::Null,
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Decimal(_) => {
                Num::of(v).map_or(View::Opaque, View::Num)
            }
            Value::Text(s) => View::Text(s.as_bytes()),
            Value::Bytes(b) => View::Text(b),
            Value::Date(d) => View::Date(*d),
            Value::DateTime(dt) => View::DateTime(*dt),
            Value::Time(t) => View::Time(*t),
        }
    }

    fn of_lit(l: &Lit<'a>) -> View<'a> {
        match *l {
            Lit::Null => View::Null,
            Lit::Int(i) => View::Num(Num::Int(i128::from(i))),
            Lit::UInt(u) => View::Num(Num::Int(i128::from(u))),
            Lit::Float(f) => View::Num(Num::Float(f)),
            Lit::Decimal(s) => Dec::parse(s).map_or(View::Opaque, |d| View::Num(Num::Dec(d, s))),
            Lit::Text(s) => View::Text(s.as_bytes()),
        }
    }

    fn is_temporal(&self) -> bool {
        matches!(self, View::Date(_) | View::DateTime(_) | View::Time(_))
    }

    /// The text of a date, datetime or time, in a stack buffer.
    fn temporal_text(&self) -> StackStr<32> {
        let mut out = StackStr::new();
        match self {
            View::Date(d) => {
                let _ = write!(out, "{d}");
            }
            View::DateTime(dt) => write_datetime(&mut out, dt),
            View::Time(t) => {
                let _ = write!(out, "{t}");
            }
            _ => {}
        }
        out
    }

    fn equals(&self, other: &View<'_>) -> bool {
        match (self, other) {
            (View::Null, View::Null) => true,
            (View::Num(_), View::Num(_)) | (View::Time(_), View::Time(_)) => {
                self.order(other) == Some(Ordering::Equal)
            }
            (View::Text(a), View::Text(b)) => a == b,
            (View::Date(a), View::Date(b)) => a == b,
            (View::DateTime(a), View::DateTime(b)) => a == b,
            (t, View::Text(s)) | (View::Text(s), t) if t.is_temporal() => {
                t.temporal_text().as_str().as_bytes() == *s
            }
            _ => false,
        }
    }

    fn order(&self, other: &View<'_>) -> Option<Ordering> {
        match (self, other) {
            (View::Num(a), View::Num(b)) => cmp_num(*a, *b),
            (View::Text(a), View::Text(b)) => Some(a.cmp(b)),
            (View::Date(a), View::Date(b)) => Some(a.cmp(b)),
            (View::DateTime(a), View::DateTime(b)) => Some(a.cmp(b)),
            (View::Time(a), View::Time(b)) => Some(time_micros(a).cmp(&time_micros(b))),
            (t, View::Text(s)) if t.is_temporal() => {
                Some(t.temporal_text().as_str().as_bytes().cmp(s))
            }
            (View::Text(s), t) if t.is_temporal() => {
                Some(s.cmp(&t.temporal_text().as_str().as_bytes()))
            }
            _ => None,
        }
    }
}

/// A `TIME` as signed microseconds, so that negative times order below positive ones.
fn time_micros(t: &Time) -> i64 {
    let magnitude = ((i64::from(t.hours) * 60 + i64::from(t.minute)) * 60 + i64::from(t.second))
        * 1_000_000
        + i64::from(t.micros);
    if t.negative { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    /// A row as (column, value) pairs, looked up by name.
    fn check(filter: &[(&str, Cond<'_>)], row: &[(&str, Value)]) -> bool {
        let lookup = |name: &str| row.iter().find(|(c, _)| *c == name).map(|(_, v)| v);
        passes_row(filter, &lookup)
    }

    #[test]
    fn section_4_3_original_vector() {
        let filter = [
            ("type", Cond::Eq(Lit::Int(1))),
            ("status", Cond::Ops(&[(CmpOp::Ne, Lit::Int(0))])),
            (
                "choise",
                Cond::In(&[Lit::Int(1), Lit::Int(2), Lit::Int(4), Lit::Int(6)]),
            ),
            ("time", Cond::Ops(&[(CmpOp::Le, Lit::Int(3))])),
        ];
        let row = |time, status| {
            vec![
                ("time", Value::Int(time)),
                ("a", text("123qwe")),
                ("type", Value::Int(1)),
                ("status", Value::Int(status)),
                ("choise", Value::Int(2)),
            ]
        };
        assert!(check(&filter, &row(3, 1)));
        assert!(!check(&filter, &row(1, 0)));
    }

    #[test]
    fn t12_filters() {
        let eq1 = [("a", Cond::Eq(Lit::Int(1)))];
        assert!(!check(&eq1, &[("a", text("1"))]));
        assert!(check(&eq1, &[("a", Value::Float(1.0))]));
        assert!(!check(&eq1, &[]), "a missing column fails");
        let between = [(
            "a",
            Cond::Ops(&[(CmpOp::Gt, Lit::Int(1)), (CmpOp::Lt, Lit::Int(5))]),
        )];
        assert!(check(&between, &[("a", Value::Int(3))]));
        assert!(!check(&between, &[("a", Value::Int(5))]));
        assert!(check(
            &[("a", Cond::Ops(&[(CmpOp::Ne, Lit::Int(1))]))],
            &[("a", Value::Int(3))]
        ));
        assert!(
            check(&[], &[("a", Value::Int(3))]),
            "an empty filter passes"
        );
        assert!(check(&[("a", Cond::Ops(&[]))], &[("a", Value::Int(3))]));
        assert!(!check(&[("a", Cond::In(&[]))], &[("a", Value::Int(3))]));
    }

    #[test]
    fn python_equality() {
        let v = Value::Int(1);
        assert!(equals(&v, &Lit::Int(1)));
        assert!(equals(&v, &Lit::Float(1.0)));
        assert!(equals(&v, &Lit::Decimal("1.00")));
        assert!(!equals(&v, &Lit::Text("1")));
        assert!(!equals(&v, &Lit::Null));
        assert!(equals(&Value::Null, &Lit::Null));
        assert!(compare(CmpOp::Ne, &Value::Null, &Lit::Int(5)));
        assert!(!compare(CmpOp::Ne, &Value::Null, &Lit::Null));
        assert!(equals(&Value::UInt(u64::MAX), &Lit::UInt(u64::MAX)));
        assert!(!equals(
            &Value::Int(9007199254740993),
            &Lit::Float(9007199254740992.0)
        ));
        assert!(equals(
            &Value::Decimal("12.50".into()),
            &Lit::Decimal("12.5")
        ));
        assert!(equals(&Value::Decimal("2.5".into()), &Lit::Float(2.5)));
        assert!(equals(&text("abc"), &Lit::Text("abc")));
        assert!(equals(&Value::Bytes(b"abc".to_vec()), &Lit::Text("abc")));
        assert!(!equals(&Value::Float(f64::NAN), &Lit::Float(f64::NAN)));
        assert!(!equals(&Value::Decimal("x".into()), &Lit::Decimal("x")));
        assert!(values_equal(&Value::Int(2), &Value::Float(2.0)));
    }

    #[test]
    fn ordered_comparisons() {
        let cmp = |op, v: &Value, l: Lit<'_>| compare(op, v, &l);
        assert!(cmp(CmpOp::Lt, &Value::Int(1), Lit::Float(1.5)));
        assert!(cmp(CmpOp::Ge, &Value::Float(2.0), Lit::Int(2)));
        assert!(cmp(
            CmpOp::Gt,
            &Value::Decimal("10.01".into()),
            Lit::Int(10)
        ));
        assert!(cmp(
            CmpOp::Le,
            &Value::Decimal("-3".into()),
            Lit::Decimal("-2.99")
        ));
        assert!(cmp(CmpOp::Lt, &text("abc"), Lit::Text("abd")));
        assert!(cmp(CmpOp::Gt, &text("b"), Lit::Text("abc")));
        // RECOMMEND: null or mismatched kinds never satisfy an ordered comparison.
        for op in [CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge] {
            assert!(!cmp(op, &Value::Null, Lit::Int(5)), "{op:?}");
            assert!(!cmp(op, &text("5"), Lit::Int(5)), "{op:?}");
            assert!(!cmp(op, &Value::Int(5), Lit::Text("5")), "{op:?}");
            assert!(!cmp(op, &Value::Int(5), Lit::Null), "{op:?}");
        }
    }

    #[test]
    fn temporal_values_compare_with_their_text() {
        let d = Date {
            year: 2018,
            month: 1,
            day: 1,
        };
        let dt = Value::DateTime(DateTime {
            date: d,
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
        });
        assert!(equals(&dt, &Lit::Text("2018-01-01 00:00:00")));
        assert!(!equals(&dt, &Lit::Text("2018-01-01")));
        assert!(compare(CmpOp::Gt, &dt, &Lit::Text("2017-12-31 23:59:59")));
        assert!(compare(
            CmpOp::Ge,
            &Value::Date(d),
            &Lit::Text("2018-01-01")
        ));
        assert!(!compare(CmpOp::Lt, &dt, &Lit::Int(5)));
        let t = |negative, hours| {
            Value::Time(Time {
                negative,
                hours,
                minute: 0,
                second: 0,
                micros: 0,
            })
        };
        assert_eq!(values_cmp(&t(true, 5), &t(false, 1)), Some(Ordering::Less));
        assert!(values_equal(&t(true, 0), &t(false, 0)));
        assert!(equals(&t(false, 838), &Lit::Text("838:00:00")));
    }
}
