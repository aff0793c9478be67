//! The db_field builtins (reference §2.3) over row values: `sum`, `min`, `max`, `abs`,
//! `yesterday`, and the `+col`/`-col` signs. `echo` needs no runtime support (it is a constant)
//! and `executeSQL` is a query, run by the MySQL reader.
//!
//! Numbers mix as in Python: integers stay exact (an integer sum beyond 64 bits becomes an exact
//! decimal rather than wrapping), an integer plus a decimal is an exact decimal with the larger
//! scale (`0 + 12.50` is `12.50`), and anything plus a float is a float.

use super::number::{BigDec, Dec, Num, cmp_num};
use super::{EvalError, kind};
use crate::Value;
use crate::value::{Date, DateTime};
use std::cmp::Ordering;

/// The running total of `sum`, in the narrowest kind that holds it exactly.
enum Acc {
    Int(i128),
    Dec(BigDec),
    Float(f64),
}

/// `sum(a, ...)`: `0 + a1 + ...`; `sum()` is 0. Any null or non-number is an error (Mee raised a
/// `TypeError` too, and silently skipping a null would write a wrong total).
pub fn sum(args: &[&Value]) -> Result<Value, EvalError> {
    let mut acc = Acc::Int(0);
    for (i, arg) in args.iter().enumerate() {
        let Some(n) = Num::of(arg) else {
            let what = if arg.is_null() {
                "null".to_string()
            } else {
                kind(arg).to_string()
            };
            return Err(EvalError::new(
                "sum",
                format!("argument {} is {what}; `sum` adds numbers only", i + 1),
            ));
        };
        acc = match (acc, n) {
            (Acc::Int(a), Num::Int(b)) => match a.checked_add(b) {
                Some(s) => Acc::Int(s),
                None => Acc::Dec(BigDec::from_int(a).add(&BigDec::from_int(b))),
            },
            (Acc::Int(a), Num::Dec(d, _)) => {
                Acc::Dec(BigDec::from_int(a).add(&BigDec::from_dec(&d)))
            }
            (Acc::Dec(a), Num::Int(b)) => Acc::Dec(a.add(&BigDec::from_int(b))),
            (Acc::Dec(a), Num::Dec(d, _)) => Acc::Dec(a.add(&BigDec::from_dec(&d))),
            // Converting the exact total to a float before adding is what Python does too.
            (Acc::Int(a), Num::Float(f)) => Acc::Float(a as f64 + f),
            (Acc::Dec(a), Num::Float(f)) => Acc::Float(a.to_f64() + f),
            (Acc::Float(a), Num::Float(f)) => Acc::Float(a + f),
            (Acc::Float(a), Num::Int(b)) => Acc::Float(a + b as f64),
            (Acc::Float(a), Num::Dec(_, text)) => {
                Acc::Float(a + text.parse::<f64>().unwrap_or(f64::NAN))
            }
        };
    }
    Ok(match acc {
        Acc::Int(i) => int_value(i),
        Acc::Dec(d) => Value::Decimal(d.to_string()),
        Acc::Float(f) => Value::Float(f),
    })
}

/// An exact integer as the narrowest value that holds it.
fn int_value(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::Int(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::UInt(v)
    } else {
        Value::Decimal(i.to_string())
    }
}

/// `min(a, ...)`: the smallest non-null argument; null when all are null (RECOMMEND: nulls are
/// ignored). At least one argument is required.
pub fn min(args: &[&Value]) -> Result<Value, EvalError> {
    extreme("min", args, Ordering::Less)
}

/// `max(a, ...)`: the largest non-null argument; null when all are null.
pub fn max(args: &[&Value]) -> Result<Value, EvalError> {
    extreme("max", args, Ordering::Greater)
}

fn extreme(function: &'static str, args: &[&Value], want: Ordering) -> Result<Value, EvalError> {
    if args.is_empty() {
        return Err(EvalError::new(function, "needs at least one argument"));
    }
    let mut best: Option<&Value> = None;
    for &arg in args.iter().filter(|a| !a.is_null()) {
        let Some(current) = best else {
            best = Some(arg);
            continue;
        };
        // Like Python, the first of equal values wins, so only a strictly better one replaces it.
        match order(arg, current) {
            Some(o) if o == want => best = Some(arg),
            Some(_) => {}
            None if is_nan(arg) || is_nan(current) => {}
            None => {
                return Err(EvalError::new(
                    function,
                    format!("cannot compare {} with {}", kind(current), kind(arg)),
                ));
            }
        }
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

fn is_nan(v: &Value) -> bool {
    matches!(v, Value::Float(f) if f.is_nan())
}

/// The order of two non-null values of comparable kinds: numbers of any kind, text, bytes, and
/// dates, datetimes or times among themselves.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (Num::of(a), Num::of(b)) {
        return cmp_num(x, y);
    }
    super::compare::values_cmp(a, b)
}

/// `abs(x)`: the absolute value of a number.
pub fn abs(v: &Value) -> Result<Value, EvalError> {
    Ok(match v {
        Value::Int(i) => int_value(i128::from(*i).abs()),
        Value::UInt(_) => v.clone(),
        Value::Float(f) => Value::Float(f.abs()),
        Value::Decimal(s) if Dec::parse(s).is_some() => {
            Value::Decimal(s.strip_prefix(['-', '+']).unwrap_or(s).to_string())
        }
        other => {
            return Err(EvalError::new(
                "abs",
                format!("needs a number, got {}", kind(other)),
            ));
        }
    })
}

/// `-col`: the negated number. Null or a non-number is an error, as in Mee.
pub fn negate(v: &Value) -> Result<Value, EvalError> {
    Ok(match v {
        Value::Int(i) => int_value(-i128::from(*i)),
        Value::UInt(u) => int_value(-i128::from(*u)),
        Value::Float(f) => Value::Float(-f),
        Value::Decimal(s) if Dec::parse(s).is_some_and(|d| d.is_zero()) => {
            // Python's `-Decimal('0.0')` is `0.0`: zero keeps no sign.
            Value::Decimal(s.strip_prefix(['-', '+']).unwrap_or(s).to_string())
        }
        Value::Decimal(s) if Dec::parse(s).is_some() => Value::Decimal(match s.strip_prefix('-') {
            Some(positive) => positive.to_string(),
            None => format!("-{}", s.strip_prefix('+').unwrap_or(s)),
        }),
        other => return Err(sign_error("-", other)),
    })
}

/// `+col`: the number itself. Null or a non-number is an error, as in Mee.
pub fn plus(v: &Value) -> Result<Value, EvalError> {
    match Num::of(v) {
        Some(_) => Ok(v.clone()),
        None => Err(sign_error("+", v)),
    }
}

fn sign_error(function: &'static str, v: &Value) -> EvalError {
    EvalError::new(
        function,
        format!(
            "a column with a sign (+ or -) must hold a number, got {}",
            kind(v)
        ),
    )
}

/// `yesterday(x)`: the datetime one day before `x`, which is a datetime, a date (taken at
/// midnight) or text `YYYY-MM-DD[( |T)HH:MM:SS[.ffffff]]`.
pub fn yesterday(v: &Value) -> Result<Value, EvalError> {
    let dt = match v {
        Value::DateTime(dt) => *dt,
        Value::Date(d) => DateTime {
            date: *d,
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
        },
        Value::Text(s) => parse_datetime(s).ok_or_else(|| {
            EvalError::new(
                "yesterday",
                format!("`{s}` is not a date or datetime (YYYY-MM-DD HH:MM:SS)"),
            )
        })?,
        other => {
            return Err(EvalError::new(
                "yesterday",
                format!("needs a date or datetime, got {}", kind(other)),
            ));
        }
    };
    let date = previous_day(dt.date)
        .ok_or_else(|| EvalError::new("yesterday", format!("`{}` has no previous day", dt.date)))?;
    Ok(Value::DateTime(DateTime { date, ..dt }))
}

fn is_leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn is_valid(d: Date) -> bool {
    d.year >= 1
        && (1..=12).contains(&d.month)
        && d.day >= 1
        && d.day <= days_in_month(d.year, d.month)
}

/// The day before `d`; `None` for an invalid date (MySQL's zero date `0000-00-00`) or 0001-01-01.
fn previous_day(d: Date) -> Option<Date> {
    if !is_valid(d) {
        return None;
    }
    if d.day > 1 {
        return Some(Date {
            day: d.day - 1,
            ..d
        });
    }
    if d.month > 1 {
        let month = d.month - 1;
        return Some(Date {
            year: d.year,
            month,
            day: days_in_month(d.year, month),
        });
    }
    let year = d.year.checked_sub(1).filter(|y| *y >= 1)?;
    Some(Date {
        year,
        month: 12,
        day: 31,
    })
}

/// Parses `YYYY-MM-DD`, optionally followed by ` HH:MM:SS` or `THH:MM:SS` and `.f` to `.ffffff`.
fn parse_datetime(s: &str) -> Option<DateTime> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(range)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = Date {
        year: u16::try_from(num(0..4)?).ok()?,
        month: u8::try_from(num(5..7)?).ok()?,
        day: u8::try_from(num(8..10)?).ok()?,
    };
    if !is_valid(date) {
        return None;
    }
    let mut dt = DateTime {
        date,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    };
    if b.len() == 10 {
        return Some(dt);
    }
    if b.len() < 19 || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    dt.hour = u8::try_from(num(11..13)?).ok().filter(|h| *h < 24)?;
    dt.minute = u8::try_from(num(14..16)?).ok().filter(|m| *m < 60)?;
    dt.second = u8::try_from(num(17..19)?).ok().filter(|s| *s < 60)?;
    if b.len() > 19 {
        let frac = s.get(20..)?;
        if b[19] != b'.' || frac.is_empty() || frac.len() > 6 {
            return None;
        }
        let scale = 10u32.pow(u32::try_from(6 - frac.len()).ok()?);
        dt.micros = num(20..b.len())? * scale;
    }
    Some(dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Value {
        Value::DateTime(DateTime {
            date: Date {
                year: y,
                month: mo,
                day: d,
            },
            hour: h,
            minute: mi,
            second: s,
            micros: 0,
        })
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(s.to_string())
    }

    #[test]
    fn section_2_3_original_vectors() {
        // Row {f1:'2018-12-12 08:23:12', f2:2, f3:3, f4:4, f5:2.1, f6:-3.1, f7:'abcdef', f8:''}.
        let f1 = text("2018-12-12 08:23:12");
        let (f2, f3, f4, f6) = (
            Value::Int(2),
            Value::Int(3),
            Value::Int(4),
            Value::Float(-3.1),
        );
        assert_eq!(yesterday(&f1), Ok(dt(2018, 12, 11, 8, 23, 12)));
        assert_eq!(max(&[&f2, &f3]), Ok(Value::Int(3)));
        assert_eq!(min(&[&f2, &f3]), Ok(Value::Int(2)));
        assert_eq!(sum(&[&f2, &f3, &f6]), Ok(Value::Float(1.9)));
        let max34 = max(&[&f3, &f4]).expect("max");
        let neg2 = negate(&f2).expect("negate");
        assert_eq!(sum(&[&max34, &neg2, &Value::Int(1)]), Ok(Value::Int(3)));
    }

    #[test]
    fn t09_values() {
        // Row V = {a:2, b:3, n:null, s:"str", f:2.5, t:true, z:0, dt:"2018-12-12 08:23:12"}.
        let (a, b, f, t) = (
            Value::Int(2),
            Value::Int(3),
            Value::Float(2.5),
            Value::Int(1),
        );
        assert_eq!(plus(&a), Ok(Value::Int(2)));
        assert_eq!(negate(&a), Ok(Value::Int(-2)));
        assert_eq!(negate(&f), Ok(Value::Float(-2.5)));
        assert_eq!(negate(&t), Ok(Value::Int(-1)));
        assert_eq!(sum(&[&a, &b]), Ok(Value::Int(5)));
        let neg_b = negate(&b).expect("negate");
        assert_eq!(sum(&[&a, &neg_b]), Ok(Value::Int(-1)));
        assert_eq!(sum(&[&f, &a]), Ok(Value::Float(4.5)));
        assert_eq!(sum(&[]), Ok(Value::Int(0)));
        assert_eq!(min(&[&a]), Ok(Value::Int(2)));
        let neg_a = negate(&a).expect("negate");
        assert_eq!(abs(&neg_a), Ok(Value::Int(2)));
        assert_eq!(sum(&[&a, &Value::Int(1)]), Ok(Value::Int(3)));
        assert_eq!(
            yesterday(&text("2018-12-12 08:23:12")),
            Ok(dt(2018, 12, 11, 8, 23, 12))
        );
    }

    #[test]
    fn t10_runtime_errors_and_null_rules() {
        let (a, n, s) = (Value::Int(2), Value::Null, text("str"));
        assert!(negate(&n).is_err());
        assert!(negate(&s).is_err());
        assert!(plus(&n).is_err());
        let e = sum(&[&a, &n]).expect_err("sum over null");
        assert_eq!(
            e.to_string(),
            "`sum`: argument 2 is null; `sum` adds numbers only"
        );
        assert!(sum(&[&a, &s]).is_err());
        assert!(max(&[]).is_err());
        // RECOMMEND: nulls are ignored by min and max; all-null gives null.
        assert_eq!(min(&[&a, &n]), Ok(Value::Int(2)));
        assert_eq!(max(&[&a, &n]), Ok(Value::Int(2)));
        assert_eq!(min(&[&n, &n]), Ok(Value::Null));
        assert!(min(&[&a, &s]).is_err(), "a number and text do not compare");
        assert!(abs(&n).is_err());
        assert!(yesterday(&n).is_err());
        assert!(yesterday(&text("yesterday")).is_err());
    }

    #[test]
    fn t14_loanable_amount() {
        // sum(min(credit_line, sum(reward_line,event_line)), -loan_amount) for credit 20 and 21.
        let eval = |credit: i64, reward: i64, event: i64, loan: i64| {
            let inner = sum(&[&Value::Int(reward), &Value::Int(event)])?;
            let m = min(&[&Value::Int(credit), &inner])?;
            sum(&[&m, &negate(&Value::Int(loan))?])
        };
        assert_eq!(eval(1000, 300, 400, 200), Ok(Value::Int(500)));
        assert_eq!(eval(1000, 0, 400, 200), Ok(Value::Int(200)));
        // T17 (b): a NULL reward_line makes the sum fail.
        let inner = sum(&[&Value::Null, &Value::Int(400)]);
        assert!(inner.is_err());
    }

    #[test]
    fn numbers_mix_exactly() {
        assert_eq!(sum(&[&dec("12.50")]), Ok(dec("12.50")));
        assert_eq!(sum(&[&dec("0.1"), &dec("0.2")]), Ok(dec("0.3")));
        assert_eq!(
            sum(&[&Value::Int(1), &dec("1.50"), &dec("-0.5")]),
            Ok(dec("2.00"))
        );
        assert_eq!(
            sum(&[&dec("1.5"), &Value::Float(0.25)]),
            Ok(Value::Float(1.75))
        );
        assert_eq!(
            sum(&[&Value::Float(0.25), &dec("1.5")]),
            Ok(Value::Float(1.75))
        );
        assert_eq!(
            sum(&[&Value::Int(i64::MAX), &Value::Int(1)]),
            Ok(Value::UInt(1 << 63))
        );
        let big = Value::UInt(u64::MAX);
        assert_eq!(sum(&[&big, &big]), Ok(dec("36893488147419103230")));
        assert_eq!(negate(&Value::Int(i64::MIN)), Ok(Value::UInt(1 << 63)));
        assert_eq!(negate(&Value::UInt(1 << 63)), Ok(Value::Int(i64::MIN)));
        assert_eq!(negate(&dec("1.50")), Ok(dec("-1.50")));
        assert_eq!(negate(&dec("-1.50")), Ok(dec("1.50")));
        assert_eq!(negate(&dec("-0.00")), Ok(dec("0.00")));
        assert_eq!(abs(&dec("-1.50")), Ok(dec("1.50")));
        assert_eq!(abs(&Value::Int(i64::MIN)), Ok(Value::UInt(1 << 63)));
        assert_eq!(abs(&Value::Float(-0.5)), Ok(Value::Float(0.5)));
        assert!(negate(&dec("abc")).is_err());
    }

    #[test]
    fn min_max_compare_numbers_across_kinds() {
        let (one, one_f, half_d) = (Value::Int(1), Value::Float(1.0), dec("0.5"));
        assert_eq!(
            min(&[&one, &one_f]),
            Ok(Value::Int(1)),
            "the first of equals wins"
        );
        assert_eq!(max(&[&one_f, &one]), Ok(Value::Float(1.0)));
        assert_eq!(min(&[&one, &half_d, &one_f]), Ok(dec("0.5")));
        assert_eq!(
            max(&[&Value::UInt(u64::MAX), &Value::Int(-1)]),
            Ok(Value::UInt(u64::MAX))
        );
        assert_eq!(max(&[&text("b"), &text("ab")]), Ok(text("b")));
        assert_eq!(
            min(&[&dt(2018, 1, 2, 0, 0, 0), &dt(2018, 1, 1, 23, 0, 0)]),
            Ok(dt(2018, 1, 1, 23, 0, 0))
        );
        // NaN is neither smaller nor larger than anything, so the first value stays (as in Python).
        let r = max(&[&Value::Float(f64::NAN), &one]).expect("max");
        assert!(matches!(r, Value::Float(f) if f.is_nan()));
    }

    #[test]
    fn yesterday_crosses_boundaries() {
        let d = |y, m, day| {
            Value::Date(Date {
                year: y,
                month: m,
                day,
            })
        };
        assert_eq!(yesterday(&d(2018, 3, 1)), Ok(dt(2018, 2, 28, 0, 0, 0)));
        assert_eq!(yesterday(&d(2016, 3, 1)), Ok(dt(2016, 2, 29, 0, 0, 0)));
        assert_eq!(yesterday(&d(2000, 3, 1)), Ok(dt(2000, 2, 29, 0, 0, 0)));
        assert_eq!(yesterday(&d(1900, 3, 1)), Ok(dt(1900, 2, 28, 0, 0, 0)));
        assert_eq!(yesterday(&d(2019, 1, 1)), Ok(dt(2018, 12, 31, 0, 0, 0)));
        assert_eq!(yesterday(&d(2019, 5, 1)), Ok(dt(2019, 4, 30, 0, 0, 0)));
        assert_eq!(
            yesterday(&dt(2019, 8, 1, 23, 59, 59)),
            Ok(dt(2019, 7, 31, 23, 59, 59))
        );
        assert!(yesterday(&d(0, 0, 0)).is_err(), "MySQL's zero date");
        assert!(yesterday(&d(1, 1, 1)).is_err());
        assert!(yesterday(&d(2018, 2, 29)).is_err());
        assert_eq!(
            yesterday(&text("2018-01-01")),
            Ok(dt(2017, 12, 31, 0, 0, 0))
        );
        assert_eq!(
            yesterday(&text("2018-01-01T10:00:00")),
            Ok(dt(2017, 12, 31, 10, 0, 0))
        );
        let with_micros = yesterday(&text("2018-01-02 10:00:00.5")).expect("parses");
        assert!(matches!(
            with_micros,
            Value::DateTime(DateTime {
                micros: 500_000,
                ..
            })
        ));
        for bad in [
            "2018-13-01",
            "2018-01-01 25:00:00",
            "2018-01-01 10:00",
            "2018/01/01",
            "2018-01-01 10:00:00.1234567",
            "２018-01-01",
        ] {
            assert!(yesterday(&text(bad)).is_err(), "{bad}");
        }
    }
}
