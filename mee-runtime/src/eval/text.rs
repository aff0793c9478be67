//! The textual rendering of values inside embedded placeholders and composite ids
//! (`document_id: "m-%id"`), reference §2.2 with the RECOMMEND column applied.
//!
//! | Value | Text |
//! |---|---|
//! | integer | decimal digits |
//! | float | Python 2 `str()`: 12 significant digits (`0.1 + 0.2` → `0.3`, `1e20` → `1e+20`) |
//! | decimal | its exact text (`12.50`) |
//! | NULL | `NULL` (never Mee's `None`) |
//! | text | verbatim, no quoting (statements bind values as parameters instead) |
//! | datetime | `YYYY-MM-DD HH:MM:SS`, plus `.ffffff` when the microseconds are not zero |
//! | date | `YYYY-MM-DD` |
//! | time | `[-]HH:MM:SS[.ffffff]` (MySQL's text; Mee would print a Python `timedelta`) |
//! | bytes | the bytes as UTF-8, invalid sequences replaced |

use crate::Value;
use crate::value::DateTime;
use std::fmt::Write as _;

/// Appends the text of `v` to `out`.
pub fn write_text(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::UInt(u) => out.push_str(itoa::Buffer::new().format(*u)),
        Value::Float(f) => write_py_float(out, *f),
        Value::Decimal(s) | Value::Text(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Value::DateTime(dt) => write_datetime(out, dt),
        Value::Time(t) => {
            let _ = write!(out, "{t}");
        }
    }
}

/// The text of `v`.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::Decimal(s) => s.clone(),
        other => {
            let mut out = String::new();
            write_text(&mut out, other);
            out
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, the text Mee used for datetimes (with a space, unlike the ISO
/// form that documents store).
pub fn write_datetime(out: &mut impl std::fmt::Write, dt: &DateTime) {
    let _ = write!(
        out,
        "{} {:02}:{:02}:{:02}",
        dt.date, dt.hour, dt.minute, dt.second
    );
    if dt.micros != 0 {
        let _ = write!(out, ".{:06}", dt.micros);
    }
}

/// Python 2's `str(float)`: 12 significant digits; exponent form below `1e-4` or from `1e12`
/// (`1e+20`, `1e-05`); `.0` added when the text would otherwise look like an integer.
pub fn write_py_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // Rust rounds `{:.11e}` correctly from the exact binary value, as C's `%.12g` does.
    let mut sci = super::number::StackStr::<40>::new();
    let _ = write!(sci, "{:.11e}", f.abs());
    let (mantissa, exp) = sci.as_str().split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits = super::number::StackStr::<16>::new();
    for c in mantissa.chars().filter(char::is_ascii_digit) {
        let _ = digits.write_char(c);
    }
    let digits = digits.as_str().trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if f.is_sign_negative() {
        out.push('-');
    }
    if !(-4..12).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exp.unsigned_abs() as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

/// One piece of an embedded placeholder string, as generated code lays it out: the fixed text
/// (with `%%` already turned into `%`) and the values of the placeholders (with defaults already
/// applied).
#[derive(Clone, Copy, Debug)]
pub enum Part<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// Renders an embedded placeholder string, e.g. `document_id: "m-%id"` as
/// `[Part::Text("m-"), Part::Value(&row.id)]`.
pub fn render_template(parts: &[Part<'_>]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(s) => out.push_str(s),
            Part::Value(v) => write_text(&mut out, v),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Date, Time};

    fn float(f: f64) -> String {
        to_text(&Value::Float(f))
    }

    #[test]
    fn floats_render_like_python_2_str() {
        assert_eq!(float(0.1 + 0.2), "0.3");
        assert_eq!(float(1e20), "1e+20");
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(2.0), "2.0");
        assert_eq!(float(0.0), "0.0");
        assert_eq!(float(-0.0), "-0.0");
        assert_eq!(float(-2.5), "-2.5");
        assert_eq!(float(1.9), "1.9");
        assert_eq!(float(123456789012.0), "123456789012.0");
        assert_eq!(float(1234567890123.0), "1.23456789012e+12");
        assert_eq!(float(999999999999.9), "1e+12");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001234), "1.234e-05");
        assert_eq!(float(1.0 / 3.0), "0.333333333333");
        assert_eq!(float(1e300), "1e+300");
        assert_eq!(float(f64::NAN), "nan");
        assert_eq!(float(f64::NEG_INFINITY), "-inf");
        assert_eq!(float(f64::MIN_POSITIVE), "2.22507385851e-308");
    }

    #[test]
    fn section_2_2_rendering_recommend_variant() {
        let d = Date::new(2018, 1, 2);
        let dt = d.at(3, 4, 5);
        assert_eq!(to_text(&Value::Int(5)), "5");
        assert_eq!(to_text(&Value::Int(-3)), "-3");
        assert_eq!(to_text(&Value::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(to_text(&Value::Decimal("12.50".into())), "12.50");
        assert_eq!(to_text(&Value::Null), "NULL");
        assert_eq!(to_text(&Value::Text("bo'b".into())), "bo'b");
        assert_eq!(to_text(&Value::Bytes(b"ab".to_vec())), "ab");
        assert_eq!(to_text(&Value::Date(d)), "2018-01-02");
        assert_eq!(to_text(&Value::DateTime(dt)), "2018-01-02 03:04:05");
        assert_eq!(
            to_text(&Value::DateTime(DateTime { micros: 7, ..dt })),
            "2018-01-02 03:04:05.000007"
        );
        let t = Time {
            negative: true,
            hours: 1,
            minute: 2,
            second: 3,
            micros: 0,
        };
        assert_eq!(to_text(&Value::Time(t)), "-01:02:03");
    }

    #[test]
    fn t06_templates() {
        // Context of §7.2: id 5, name "bo'b", n null, f 1.5.
        let (id, name, n, f) = (
            Value::Int(5),
            Value::Text("bo'b".into()),
            Value::Null,
            Value::Float(1.5),
        );
        let seven = Value::Int(7);
        let q = Value::Text("q".into());
        assert_eq!(
            render_template(&[Part::Text("x_"), Part::Value(&id)]),
            "x_5"
        );
        assert_eq!(render_template(&[Part::Value(&id), Part::Text(" ")]), "5 ");
        assert_eq!(
            render_template(&[Part::Text("v="), Part::Value(&n)]),
            "v=NULL"
        );
        assert_eq!(
            render_template(&[Part::Text("a"), Part::Value(&seven)]),
            "a7"
        );
        assert_eq!(render_template(&[Part::Text("v="), Part::Value(&q)]), "v=q");
        assert_eq!(
            render_template(&[Part::Value(&id), Part::Text(":()")]),
            "5:()"
        );
        assert_eq!(
            render_template(&[Part::Text("100% "), Part::Value(&id)]),
            "100% 5"
        );
        assert_eq!(
            render_template(&[Part::Text("v="), Part::Value(&f)]),
            "v=1.5"
        );
        assert_eq!(
            render_template(&[Part::Value(&id), Part::Text(".x")]),
            "5.x"
        );
        assert_eq!(
            render_template(&[Part::Text("name='"), Part::Value(&name), Part::Text("'")]),
            "name='bo'b'"
        );
    }
}
