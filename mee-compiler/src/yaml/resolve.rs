//! YAML 1.1-style typing of plain scalars.
//!
//! Mee read its files with PyYAML (YAML 1.1), so `eval_on_deleted: yes` is a boolean there and must
//! be one here. Only *plain* scalars are typed; quoted and block scalars are always strings. We
//! support the forms Mee files use (null, booleans, decimal/hex/octal integers, floats) and leave
//! the rest (dates, sexagesimal numbers, `0b` binaries, YAML 1.1 leading-zero octals) as strings.

/// The typed value of a scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

/// Types the text of a plain scalar.
pub fn resolve_plain(text: &str) -> Resolved<'_> {
    if let Some(null) = resolve_null(text) {
        return null;
    }
    if let Some(b) = resolve_bool(text) {
        return Resolved::Bool(b);
    }
    if let Some(n) = resolve_int(text) {
        return n;
    }
    if let Some(x) = resolve_float(text) {
        return Resolved::Float(x);
    }
    Resolved::Str(text)
}

fn resolve_null(text: &str) -> Option<Resolved<'static>> {
    matches!(text, "" | "~" | "null" | "Null" | "NULL").then_some(Resolved::Null)
}

/// The boolean spellings of YAML 1.1, in the three cases PyYAML accepts.
pub fn resolve_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Splits an optional sign from the rest of a number.
fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// Digits in `radix`, with `_` separators allowed after the first digit (as PyYAML does).
fn digits(text: &str, radix: u32) -> Option<String> {
    let mut chars = text.chars();
    let first = chars.next()?;
    if !first.is_digit(radix) {
        return None;
    }
    let rest: Option<String> = chars
        .filter(|&c| c != '_')
        .map(|c| c.is_digit(radix).then_some(c))
        .collect();
    Some(format!("{first}{}", rest?))
}

fn resolve_int(text: &str) -> Option<Resolved<'static>> {
    let (negative, body) = split_sign(text);
    let (radix, body) = if let Some(hex) = body.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = body.strip_prefix("0o") {
        (8, oct)
    } else {
        // A decimal with a leading zero is an octal in YAML 1.1; we keep it a string instead.
        if body.len() > 1 && body.starts_with('0') {
            return None;
        }
        (10, body)
    };
    let digits = digits(body, radix)?;
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    // Integers beyond 64 bits still are numbers; they lose precision like in JSON tools.
    Some(i64::try_from(value).map_or(Resolved::Float(value as f64), Resolved::Int))
}

fn resolve_float(text: &str) -> Option<f64> {
    let (negative, body) = split_sign(text);
    let sign = if negative { -1.0 } else { 1.0 };
    match body {
        ".inf" | ".Inf" | ".INF" => return Some(sign * f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" if text == body => return Some(f64::NAN),
        _ => {}
    }
    // Mantissa: digits with an optional fraction, or a bare fraction; then an optional exponent.
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let int_ok = int_part.is_empty() || digits(int_part, 10).is_some();
    let frac_ok =
        frac_part.is_none_or(|f| f.is_empty() || f.chars().all(|c| c.is_ascii_digit() || c == '_'));
    let has_digits = !int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty());
    let exp_ok = exponent.is_none_or(|e| {
        let (_, e) = split_sign(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    // Without a fraction or exponent this is an integer, which `resolve_int` already rejected.
    let is_float_form = frac_part.is_some() || exponent.is_some();
    if !(int_ok && frac_ok && has_digits && exp_ok && is_float_form) {
        return None;
    }
    let cleaned: String = body.chars().filter(|&c| c != '_').collect();
    cleaned.parse::<f64>().ok().map(|x| sign * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_booleans() {
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve_plain(t), Resolved::Null, "{t}");
        }
        for t in ["yes", "Yes", "YES", "on", "ON", "true", "True"] {
            assert_eq!(resolve_plain(t), Resolved::Bool(true), "{t}");
        }
        for t in ["no", "No", "off", "Off", "false", "FALSE"] {
            assert_eq!(resolve_plain(t), Resolved::Bool(false), "{t}");
        }
        assert_eq!(resolve_plain("nULL"), Resolved::Str("nULL"));
        assert_eq!(resolve_plain("yEs"), Resolved::Str("yEs"));
    }

    #[test]
    fn integers() {
        assert_eq!(resolve_plain("0"), Resolved::Int(0));
        assert_eq!(resolve_plain("-17"), Resolved::Int(-17));
        assert_eq!(resolve_plain("+5"), Resolved::Int(5));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("007"), Resolved::Str("007"));
        assert_eq!(resolve_plain("0x"), Resolved::Str("0x"));
        assert_eq!(resolve_plain("12a"), Resolved::Str("12a"));
        assert_eq!(resolve_plain("-"), Resolved::Str("-"));
    }

    #[test]
    fn floats() {
        assert_eq!(resolve_plain("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve_plain("-2e3"), Resolved::Float(-2000.0));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("2.5E-1"), Resolved::Float(0.25));
        assert_eq!(resolve_plain(".inf"), Resolved::Float(f64::INFINITY));
        assert_eq!(resolve_plain("-.Inf"), Resolved::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve_plain(".nan"), Resolved::Float(x) if x.is_nan()));
        for t in [".", "e3", "1e", "1.2.3", "-.nan", "1.5x", "inf"] {
            assert_eq!(resolve_plain(t), Resolved::Str(t), "{t}");
        }
    }
}
