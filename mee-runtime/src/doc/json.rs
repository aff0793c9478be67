//! A small, fast JSON writer for documents: values go straight into a byte buffer.

use super::from_value::Decimal;
use crate::value::{Date, DateTime, Time, Value};
use std::fmt::Write as _;

/// Writes JSON into a byte buffer. Objects are written in the order fields are given, which is
/// the order of the pipeline's mapping entries.
pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Whether the current container needs a comma before its next element.
    need_comma: Vec<bool>,
}

impl<'a> JsonWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        JsonWriter {
            out,
            need_comma: Vec::with_capacity(4),
        }
    }

    fn separator(&mut self) {
        if let Some(need) = self.need_comma.last_mut() {
            if *need {
                self.out.push(b',');
            }
            *need = true;
        }
    }

    pub fn begin_object(&mut self) {
        self.separator();
        self.out.push(b'{');
        self.need_comma.push(false);
    }

    pub fn end_object(&mut self) {
        self.need_comma.pop();
        self.out.push(b'}');
    }

    pub fn begin_array(&mut self) {
        self.separator();
        self.out.push(b'[');
        self.need_comma.push(false);
    }

    pub fn end_array(&mut self) {
        self.need_comma.pop();
        self.out.push(b']');
    }

    /// `"name":value` inside an object.
    pub fn field<T: ToJson + ?Sized>(&mut self, name: &str, value: &T) {
        self.separator();
        write_json_string(self.out, name);
        self.out.push(b':');
        // The value follows the colon directly: suppress its own separator.
        if let Some(need) = self.need_comma.last_mut() {
            *need = false;
        }
        value.write_json(self);
        if let Some(need) = self.need_comma.last_mut() {
            *need = true;
        }
    }

    /// A value as an array element (or at the top level).
    pub fn element<T: ToJson + ?Sized>(&mut self, value: &T) {
        value.write_json(self);
    }

    /// JSON text written as is (a constant from the pipeline, already valid JSON).
    pub fn raw(&mut self, json: &str) {
        self.separator();
        self.out.extend_from_slice(json.as_bytes());
    }

    fn scalar(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        self.separator();
        f(self.out);
    }
}

/// A value that can be written as JSON into a document.
pub trait ToJson {
    fn write_json(&self, w: &mut JsonWriter<'_>);

    /// The JSON text on its own.
    fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut JsonWriter::new(&mut out));
        out
    }
}

/// Writes a JSON string literal with the escapes JSON requires.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                let _ = write!(Hex(out), "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `fmt::Write` into a byte buffer.
struct Hex<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Hex<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl ToJson for i64 {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| o.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes()));
    }
}

impl ToJson for u64 {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| o.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes()));
    }
}

impl ToJson for f64 {
    /// JSON has no NaN or infinity; they are written as null.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| {
            if self.is_finite() {
                let _ = write!(Hex(o), "{self}");
            } else {
                o.extend_from_slice(b"null");
            }
        });
    }
}

impl ToJson for bool {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| o.extend_from_slice(if *self { b"true" } else { b"false" }));
    }
}

impl ToJson for str {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| write_json_string(o, self));
    }
}

impl ToJson for String {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        self.as_str().write_json(w);
    }
}

impl ToJson for Decimal {
    /// A JSON number with the exact digits of the column (`12.50`).
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| o.extend_from_slice(self.0.as_bytes()));
    }
}

impl ToJson for Vec<u8> {
    /// Base64, as Elasticsearch's `binary` type expects.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| {
            o.push(b'"');
            base64_into(o, self);
            o.push(b'"');
        });
    }
}

/// `n` as exactly `width` decimal digits, zero-padded (the caller keeps `n` below 10^width).
fn push_digits(o: &mut Vec<u8>, mut n: u32, width: usize) {
    let start = o.len();
    o.resize(start + width, b'0');
    for slot in o[start..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `YYYY-MM-DD`, as `Date`'s `Display` writes it, without `core::fmt` (which showed in the full
/// update's profile).
fn push_date(o: &mut Vec<u8>, d: &Date) {
    push_digits(o, u32::from(d.year), 4);
    o.push(b'-');
    push_digits(o, u32::from(d.month), 2);
    o.push(b'-');
    push_digits(o, u32::from(d.day), 2);
}

impl ToJson for Date {
    /// `"YYYY-MM-DD"`; a zero or invalid date (`0000-00-00`, `2024-00-10`) is `null`, the one
    /// value of a `date` field that stands for it (Elasticsearch rejects the whole document
    /// otherwise).
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        if !self.is_valid() {
            return w.scalar(|o| o.extend_from_slice(b"null"));
        }
        w.scalar(|o| {
            o.push(b'"');
            push_date(o, self);
            o.push(b'"');
        });
    }
}

impl ToJson for DateTime {
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]`, which the index maps as `date` (as `Display` writes it);
    /// `null` when the date part is zero or invalid, like [`Date`]'s.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        if !self.date.is_valid() {
            return w.scalar(|o| o.extend_from_slice(b"null"));
        }
        w.scalar(|o| {
            o.push(b'"');
            push_date(o, &self.date);
            o.push(b'T');
            push_digits(o, u32::from(self.hour), 2);
            o.push(b':');
            push_digits(o, u32::from(self.minute), 2);
            o.push(b':');
            push_digits(o, u32::from(self.second), 2);
            if self.micros != 0 {
                o.push(b'.');
                push_digits(o, self.micros, 6);
            }
            o.push(b'"');
        });
    }
}

impl ToJson for Time {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.scalar(|o| {
            let _ = write!(Hex(o), "\"{self}\"");
        });
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        match self {
            Some(v) => v.write_json(w),
            None => w.scalar(|o| o.extend_from_slice(b"null")),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_array();
        for v in self {
            w.element(v);
        }
        w.end_array();
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        self.as_slice().write_json(w);
    }
}

impl ToJson for Value {
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        match self {
            Value::Null => w.scalar(|o| o.extend_from_slice(b"null")),
            Value::Int(i) => i.write_json(w),
            Value::UInt(u) => u.write_json(w),
            Value::Float(f) => f.write_json(w),
            Value::Decimal(d) => w.scalar(|o| o.extend_from_slice(d.as_bytes())),
            Value::Text(s) => s.write_json(w),
            Value::Bytes(b) => b.write_json(w),
            Value::Date(d) => d.write_json(w),
            // Function results (`yesterday`) use the same format as DATETIME columns.
            Value::DateTime(d) => d.write_json(w),
            Value::Time(t) => t.write_json(w),
        }
    }
}

fn base64_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(TABLE[(n >> 18) as usize & 63]);
        out.push(TABLE[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            TABLE[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            TABLE[n as usize & 63]
        } else {
            b'='
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(f: impl FnOnce(&mut JsonWriter<'_>)) -> String {
        let mut out = Vec::new();
        f(&mut JsonWriter::new(&mut out));
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    #[test]
    fn objects_arrays_and_scalars() {
        let text = json(|w| {
            w.begin_object();
            w.field("id", &5u64);
            w.field("name", "bo\"b\n\u{1}");
            w.field("amount", &Decimal("12.50".into()));
            w.field("none", &None::<i64>);
            w.field("tags", &vec![1i64, 2]);
            w.field("nested", &Vec::<i64>::new());
            w.field("blob", &vec![0u8, 255, 1]);
            w.raw_field_test();
            w.end_object();
        });
        assert_eq!(
            text,
            r#"{"id":5,"name":"bo\"b\n\u0001","amount":12.50,"none":null,"tags":[1,2],"nested":[],"blob":"AP8B","k":"n/a"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["tags"][1], 2);
    }

    impl JsonWriter<'_> {
        fn raw_field_test(&mut self) {
            self.separator();
            write_json_string(self.out, "k");
            self.out.push(b':');
            if let Some(need) = self.need_comma.last_mut() {
                *need = false;
            }
            self.raw("\"n/a\"");
        }
    }

    #[test]
    fn datetimes_use_iso_format() {
        let d = Date::new(2018, 1, 2);
        let dt = d.at(3, 4, 5);
        assert_eq!(
            json(|w| Value::DateTime(dt).write_json(w)),
            "\"2018-01-02T03:04:05\""
        );
        assert_eq!(json(|w| f64::NAN.write_json(w)), "null");
    }

    #[test]
    fn zero_and_invalid_dates_are_written_as_null() {
        let zero = Date::new(0, 0, 0);
        assert_eq!(json(|w| zero.write_json(w)), "null");
        assert_eq!(json(|w| zero.at(0, 0, 0).write_json(w)), "null");
        assert_eq!(json(|w| Date::new(2024, 0, 10).write_json(w)), "null");
        assert_eq!(
            json(|w| Value::DateTime(Date::new(2024, 2, 30).at(1, 2, 3)).write_json(w)),
            "null"
        );
        let text = json(|w| {
            w.begin_object();
            w.field("d", &Some(zero));
            w.field("n", &1i64);
            w.end_object();
        });
        assert_eq!(text, r#"{"d":null,"n":1}"#);
    }

    #[test]
    fn dates_and_integers_are_written_as_display_writes_them() {
        let cases = [
            Date::new(2018, 1, 2).at(3, 4, 5),
            Date::new(7, 12, 31).at(23, 59, 59),
            DateTime {
                micros: 1,
                ..Date::new(1999, 10, 9).at(0, 0, 0)
            },
            DateTime {
                micros: 999_999,
                ..Date::new(9999, 12, 31).at(23, 59, 59)
            },
        ];
        for dt in cases {
            assert_eq!(json(|w| dt.write_json(w)), format!("\"{dt}\""));
            assert_eq!(json(|w| dt.date.write_json(w)), format!("\"{}\"", dt.date));
        }
        for i in [0, -1, 7, i64::MIN, i64::MAX] {
            assert_eq!(json(|w| i.write_json(w)), i.to_string());
        }
        assert_eq!(json(|w| u64::MAX.write_json(w)), u64::MAX.to_string());
    }
}
