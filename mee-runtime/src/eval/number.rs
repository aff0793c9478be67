//! Exact numeric comparison across integer, float and decimal values, exact decimal addition,
//! and a fixed-size text buffer, all without new dependencies.
//!
//! `DECIMAL` holds up to 65 digits, more than `i128`, so decimals are handled as digit strings.

use crate::Value;
use std::cmp::Ordering;
use std::fmt;

/// A borrowed, validated decimal text: sign, integer digits without leading zeros, fraction
/// digits as written (trailing zeros kept, because they carry the scale).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dec<'a> {
    neg: bool,
    int: &'a [u8],
    frac: &'a [u8],
}

impl<'a> Dec<'a> {
    /// Parses `[+-]digits[.digits]` (at least one digit); `None` for anything else.
    pub(crate) fn parse(text: &'a str) -> Option<Dec<'a>> {
        let b = text.as_bytes();
        let (neg, rest) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            Some(b'+') => (false, &b[1..]),
            _ => (false, b),
        };
        let (int, frac) = match rest.iter().position(|&c| c == b'.') {
            Some(dot) => (&rest[..dot], &rest[dot + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        if int.len() + frac.len() == 0 || !digits(int) || !digits(frac) {
            return None;
        }
        let first = int.iter().position(|&c| c != b'0').unwrap_or(int.len());
        Some(Dec {
            neg,
            int: &int[first..],
            frac,
        })
    }

    /// A decimal view of an integer magnitude written into `buf`.
    pub(crate) fn from_int(neg: bool, magnitude: u128, buf: &'a mut [u8; 40]) -> Dec<'a> {
        let mut pos = buf.len();
        let mut m = magnitude;
        while m > 0 {
            pos -= 1;
            // The remainder is below 10, so the cast cannot truncate.
            buf[pos] = b'0' + (m % 10) as u8;
            m /= 10;
        }
        Dec {
            neg,
            int: &buf[pos..],
            frac: &[],
        }
    }

    fn frac_trimmed(&self) -> &'a [u8] {
        let end = self
            .frac
            .iter()
            .rposition(|&c| c != b'0')
            .map_or(0, |i| i + 1);
        &self.frac[..end]
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.int.is_empty() && self.frac_trimmed().is_empty()
    }

    fn cmp_magnitude(&self, other: &Dec<'_>) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac_trimmed().cmp(other.frac_trimmed()))
    }

    pub(crate) fn cmp(&self, other: &Dec<'_>) -> Ordering {
        let sign = |d: &Dec<'_>| {
            if d.is_zero() {
                0
            } else if d.neg {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if self.neg && !self.is_zero() => other.cmp_magnitude(self),
            Ordering::Equal => self.cmp_magnitude(other),
            unequal => unequal,
        }
    }
}

/// A numeric value seen for comparison.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Num<'a> {
    Int(i128),
    Float(f64),
    Dec(Dec<'a>, &'a str),
}

impl<'a> Num<'a> {
    pub(crate) fn of(v: &'a Value) -> Option<Num<'a>> {
        match v {
            Value::Int(i) => Some(Num::Int(i128::from(*i))),
            Value::UInt(u) => Some(Num::Int(i128::from(*u))),
            Value::Float(f) => Some(Num::Float(*f)),
            Value::Decimal(s) => Dec::parse(s).map(|d| Num::Dec(d, s)),
            _ => None,
        }
    }
}

/// Compares numbers exactly, except decimal against float, which compares as floats (Mee's
/// incremental sync saw decimals as floats anyway). `None` when a NaN is involved.
pub(crate) fn cmp_num(a: Num<'_>, b: Num<'_>) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
        (Num::Dec(x, _), Num::Dec(y, _)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Dec(y, _)) => {
            let mut buf = [0; 40];
            Some(Dec::from_int(x < 0, x.unsigned_abs(), &mut buf).cmp(&y))
        }
        (Num::Dec(x, _), Num::Int(y)) => {
            let mut buf = [0; 40];
            Some(x.cmp(&Dec::from_int(y < 0, y.unsigned_abs(), &mut buf)))
        }
        (Num::Dec(_, text), Num::Float(y)) => text.parse::<f64>().ok()?.partial_cmp(&y),
        (Num::Float(x), Num::Dec(_, text)) => x.partial_cmp(&text.parse::<f64>().ok()?),
    }
}

/// Compares an integer with a float exactly, as Python does (`2**53 + 1 != 2.0**53`).
fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // Every i128 built from an i64 or u64 lies well inside ±2^100.
    const LIMIT: f64 = 1.2676506002282294e30; // 2^100
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f <= -LIMIT {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // `t` is integral and below 2^100 in magnitude, so the conversion is exact.
    let ti = t as i128;
    Some(i.cmp(&ti).then(if f > t {
        Ordering::Less
    } else if f < t {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

/// An exact decimal owned for arithmetic: sign, digits (values 0..=9, most significant first)
/// and how many of them are fraction digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BigDec {
    neg: bool,
    digits: Vec<u8>,
    scale: usize,
}

impl BigDec {
    pub(crate) fn from_dec(d: &Dec<'_>) -> BigDec {
        let digits = d.int.iter().chain(d.frac).map(|c| c - b'0').collect();
        BigDec {
            neg: d.neg,
            digits,
            scale: d.frac.len(),
        }
    }

    pub(crate) fn from_int(i: i128) -> BigDec {
        let mut buf = [0; 40];
        BigDec::from_dec(&Dec::from_int(i < 0, i.unsigned_abs(), &mut buf))
    }

    fn with_scale(&self, scale: usize) -> Vec<u8> {
        let mut digits = self.digits.clone();
        digits.resize(self.digits.len() + (scale - self.scale), 0);
        digits
    }

    /// `self + other`, exact; the result has the larger scale, as Python's `Decimal` addition.
    pub(crate) fn add(&self, other: &BigDec) -> BigDec {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.with_scale(scale), other.with_scale(scale));
        let (digits, neg) = if self.neg == other.neg {
            (add_magnitudes(&a, &b), self.neg)
        } else if cmp_magnitudes(&a, &b) == Ordering::Less {
            (sub_magnitudes(&b, &a), other.neg)
        } else {
            (sub_magnitudes(&a, &b), self.neg)
        };
        let mut out = BigDec { neg, digits, scale };
        if out.digits.iter().all(|&d| d == 0) {
            out.neg = false;
        }
        out
    }

    pub(crate) fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

impl fmt::Display for BigDec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int_len = self.digits.len().saturating_sub(self.scale);
        let int = &self.digits[..int_len];
        let first = int.iter().position(|&d| d != 0).unwrap_or(int.len());
        if self.neg {
            f.write_str("-")?;
        }
        if first == int.len() {
            f.write_str("0")?;
        }
        for d in &int[first..] {
            write!(f, "{d}")?;
        }
        if self.scale > 0 {
            f.write_str(".")?;
            for _ in self.digits.len()..self.scale {
                f.write_str("0")?;
            }
            for d in &self.digits[int_len..] {
                write!(f, "{d}")?;
            }
        }
        Ok(())
    }
}

fn cmp_magnitudes(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| s.iter().position(|&d| d != 0).unwrap_or(s.len());
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let len = a.len().max(b.len()) + 1;
    let mut out = vec![0u8; len];
    let mut carry = 0;
    for i in 0..len {
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 0 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 0 };
        let s = da + db + carry;
        out[len - 1 - i] = s % 10;
        carry = s / 10;
    }
    out
}

/// `a - b` for magnitudes with `a >= b`.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0;
    for i in 0..a.len() {
        let da = a[a.len() - 1 - i];
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 0 };
        let (d, next_borrow) = if da >= db + borrow {
            (da - db - borrow, 0)
        } else {
            (da + 10 - db - borrow, 1)
        };
        out[a.len() - 1 - i] = d;
        borrow = next_borrow;
    }
    out
}

/// A small text buffer on the stack, so that comparisons can render a date without allocating.
pub(crate) struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    pub(crate) fn new() -> Self {
        StackStr {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the contents are valid UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Dec<'_> {
        Dec::parse(s).expect("valid decimal")
    }

    #[test]
    fn decimal_parsing_and_order() {
        assert!(Dec::parse("").is_none());
        assert!(Dec::parse("-").is_none());
        assert!(Dec::parse("1e5").is_none());
        assert!(Dec::parse("1.2.3").is_none());
        assert_eq!(dec("12.50").cmp(&dec("12.5")), Ordering::Equal);
        assert_eq!(dec("-0.00").cmp(&dec("0")), Ordering::Equal);
        assert_eq!(dec("0012.5").cmp(&dec("12.51")), Ordering::Less);
        assert_eq!(dec("-3").cmp(&dec("-2.5")), Ordering::Less);
        assert_eq!(dec("-2.5").cmp(&dec("1")), Ordering::Less);
        assert_eq!(dec("100").cmp(&dec("99.999")), Ordering::Greater);
        assert_eq!(dec(".5").cmp(&dec("0.5")), Ordering::Equal);
    }

    #[test]
    fn numbers_compare_across_kinds() {
        let d = |s: &'static str| Num::Dec(dec(s), s);
        assert_eq!(cmp_num(Num::Int(1), Num::Float(1.0)), Some(Ordering::Equal));
        assert_eq!(cmp_num(Num::Int(1), Num::Float(1.5)), Some(Ordering::Less));
        assert_eq!(
            cmp_num(Num::Int(-1), Num::Float(-1.5)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp_num(Num::Float(2.5), Num::Int(2)),
            Some(Ordering::Greater)
        );
        let big = (1i128 << 53) + 1;
        assert_eq!(
            cmp_num(Num::Int(big), Num::Float(9007199254740992.0)),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp_num(Num::Int(5), Num::Float(f64::NAN)), None);
        assert_eq!(
            cmp_num(Num::Int(5), Num::Float(f64::INFINITY)),
            Some(Ordering::Less)
        );
        assert_eq!(cmp_num(Num::Int(12), d("12.00")), Some(Ordering::Equal));
        assert_eq!(cmp_num(Num::Int(-12), d("-11.99")), Some(Ordering::Less));
        assert_eq!(cmp_num(d("2.5"), Num::Float(2.5)), Some(Ordering::Equal));
        assert_eq!(
            cmp_num(Num::Int(i128::from(u64::MAX)), d("18446744073709551615.0")),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn exact_decimal_addition() {
        let b = |s: &str| BigDec::from_dec(&dec(s));
        assert_eq!(b("1.50").add(&b("2.5")).to_string(), "4.00");
        assert_eq!(BigDec::from_int(0).add(&b("12.50")).to_string(), "12.50");
        assert_eq!(b("0.1").add(&b("0.2")).to_string(), "0.3");
        assert_eq!(b("1.5").add(&b("-1.5")).to_string(), "0.0");
        assert_eq!(b("-1.5").add(&b("0.25")).to_string(), "-1.25");
        assert_eq!(b("99.99").add(&b("0.01")).to_string(), "100.00");
        assert_eq!(b(".05").add(&b("-1")).to_string(), "-0.95");
        assert_eq!(
            BigDec::from_int(-3).add(&BigDec::from_int(1)).to_string(),
            "-2"
        );
        let big = "99999999999999999999999999999999999999999999999999999999999999999";
        assert_eq!(
            b(big).add(&b("1")).to_string(),
            format!("1{}", "0".repeat(65))
        );
        assert_eq!(b("-2.5").to_f64(), -2.5);
    }
}
