//! The Python literal subset used by placeholder defaults (`%s.x:('q')`) and `echo(...)`.
//!
//! Mee parses these with Python 2's `ast.literal_eval`, so the accepted forms are Python 2's:
//! integers (decimal, `0x`, `0o`, `0b`, a leading-zero octal like `010`, an optional `L` suffix),
//! floats, `'..'`/`".."` strings with backslash escapes (optional `u`/`r`/`b` prefixes, adjacent
//! strings concatenated), `None`, `True`, `False`, and lists, tuples and dicts of literals. A sign
//! may precede a number. Surrounding whitespace is accepted (Python 2 rejected a leading space;
//! accepting it changes no valid input).

use std::fmt::Write as _;
use std::ops::Range;

/// A parsed Python literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    None,
    Bool(bool),
    /// Python ints are unbounded; handler values are MySQL integers, so `i64` is enough and a
    /// larger literal is rejected with a clear error instead of being silently changed.
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Literal>),
    Tuple(Vec<Literal>),
    /// Entries in the order written.
    Dict(Vec<(Literal, Literal)>),
}

/// Why a text is not a literal, with the byte range of the offending part of the parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralError {
    pub range: Range<usize>,
    pub message: String,
}

impl LiteralError {
    fn new(range: Range<usize>, message: impl Into<String>) -> Self {
        LiteralError {
            range,
            message: message.into(),
        }
    }

    /// Moves the range by `offset` bytes, for literals parsed out of a larger string.
    pub fn shifted(mut self, offset: usize) -> Self {
        self.range = self.range.start + offset..self.range.end + offset;
        self
    }
}

/// Parses `text` as one literal. Errors carry byte ranges relative to `text`.
pub fn parse_literal(text: &str) -> Result<Literal, LiteralError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.pos == p.bytes.len() {
        return Err(LiteralError::new(
            0..text.len(),
            "expected a literal, found nothing",
        ));
    }
    let value = p.value()?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(LiteralError::new(
            p.pos..text.len(),
            "unexpected text after the literal; a literal is one value such as `1`, `'text'` or `None`",
        ));
    }
    Ok(value)
}

impl Literal {
    /// A short name of the literal's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Literal::None => "None",
            Literal::Bool(_) => "bool",
            Literal::Int(_) => "int",
            Literal::Float(_) => "float",
            Literal::Str(_) => "string",
            Literal::List(_) => "list",
            Literal::Tuple(_) => "tuple",
            Literal::Dict(_) => "dict",
        }
    }

    /// The text an embedded placeholder renders this default as: Python 2's `unicode(value)`,
    /// except that `None` renders as `NULL` (Decision 1: NULL never becomes the text `None`).
    pub fn to_text(&self) -> String {
        match self {
            Literal::None => "NULL".to_string(),
            Literal::Str(s) => s.clone(),
            Literal::Float(f) => py_float_str(*f),
            other => other.python_repr(),
        }
    }

    /// Python 2's `repr(value)`. Strings use Python 2 byte-string escaping (`\xc3\xa9` for `é`),
    /// because `literal_eval` produced byte strings there.
    pub fn python_repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            Literal::None => out.push_str("None"),
            Literal::Bool(true) => out.push_str("True"),
            Literal::Bool(false) => out.push_str("False"),
            Literal::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Literal::Float(f) => out.push_str(&py_float_repr(*f)),
            Literal::Str(s) => write_str_repr(s, out),
            Literal::List(items) => {
                out.push('[');
                write_items(items, out);
                out.push(']');
            }
            Literal::Tuple(items) => {
                out.push('(');
                write_items(items, out);
                // A one-element tuple needs its trailing comma to stay a tuple.
                if items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Literal::Dict(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_repr(out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
        }
    }

    /// The literal as JSON: tuples become arrays, dict keys become their text (as `json.dumps`
    /// does), and non-finite floats, which JSON cannot hold, become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Literal::None => J::Null,
            Literal::Bool(b) => J::Bool(*b),
            Literal::Int(i) => J::from(*i),
            Literal::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Literal::Str(s) => J::String(s.clone()),
            Literal::List(items) | Literal::Tuple(items) => {
                J::Array(items.iter().map(Literal::to_json).collect())
            }
            Literal::Dict(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Literal::Str(s) => s.clone(),
                            Literal::None => "null".to_string(),
                            Literal::Bool(b) => b.to_string(),
                            other => other.python_repr(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }

    /// The literal a JSON value (a YAML scalar or collection read by the loader) stands for.
    /// Fails only for integers outside `i64`.
    pub fn from_json(value: &serde_json::Value) -> Result<Literal, String> {
        use serde_json::Value as J;
        Ok(match value {
            J::Null => Literal::None,
            J::Bool(b) => Literal::Bool(*b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Literal::Int(i)
                } else if n.is_u64() {
                    return Err(format!("integer `{n}` is out of range"));
                } else {
                    Literal::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            J::String(s) => Literal::Str(s.clone()),
            J::Array(items) => Literal::List(
                items
                    .iter()
                    .map(Literal::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            J::Object(map) => Literal::Dict(
                map.iter()
                    .map(|(k, v)| Ok((Literal::Str(k.clone()), Literal::from_json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

fn write_items(items: &[Literal], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write_repr(out);
    }
}

fn write_str_repr(s: &str, out: &mut String) {
    // Python picks double quotes only when that avoids escaping a single quote.
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
}

/// Python 2's `str(float)`: 12 significant digits, exponent form below `1e-4` or from `1e12`,
/// and `.0` added when the result would otherwise look like an integer.
pub fn py_float_str(f: f64) -> String {
    if !f.is_finite() {
        return non_finite(f);
    }
    let sci = format!("{:.11e}", f.abs());
    format_python_float(f.is_sign_negative(), &sci, 12)
}

/// Python 2.7's `repr(float)`: the shortest text that reads back as the same float, exponent
/// form below `1e-4` or from `1e16`.
pub fn py_float_repr(f: f64) -> String {
    if !f.is_finite() {
        return non_finite(f);
    }
    let sci = format!("{:e}", f.abs());
    format_python_float(f.is_sign_negative(), &sci, 16)
}

fn non_finite(f: f64) -> String {
    if f.is_nan() {
        "nan".to_string()
    } else if f > 0.0 {
        "inf".to_string()
    } else {
        "-inf".to_string()
    }
}

/// Lays out Rust's `{:e}` text (`d.ddde±x`) the way Python's `%g`-style formatting does:
/// trailing zeros removed, fixed notation when `-4 <= exponent < sci_from`.
fn format_python_float(negative: bool, sci: &str, sci_from: i32) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= sci_from {
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
        out.push_str(&digits);
    } else {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
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
    out
}

/// Nesting deeper than this is refused, so that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.bytes.get(self.pos + n).copied()
    }

    fn skip_ws(&mut self) {
        while self
            .peek()
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'))
        {
            self.pos += 1;
        }
    }

    /// The range of the character at the current position (for error labels).
    fn char_range(&self) -> Range<usize> {
        let len = self.text[self.pos..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        self.pos..self.pos + len
    }

    fn value(&mut self) -> Result<Literal, LiteralError> {
        let Some(b) = self.peek() else {
            return Err(LiteralError::new(
                self.pos..self.pos,
                "expected a literal, found the end",
            ));
        };
        match b {
            b'-' | b'+' => self.signed_number(),
            b'0'..=b'9' => self.number(false, self.pos),
            b'.' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => {
                self.number(false, self.pos)
            }
            b'\'' | b'"' => self.strings(),
            b'[' | b'(' | b'{' => {
                if self.depth >= MAX_DEPTH {
                    return Err(LiteralError::new(
                        self.char_range(),
                        "literal nested too deeply",
                    ));
                }
                self.depth += 1;
                let result = match b {
                    b'[' => self.list(),
                    b'(' => self.tuple(),
                    _ => self.dict(),
                };
                self.depth -= 1;
                result
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => self.name(),
            _ => Err(LiteralError::new(
                self.char_range(),
                format!(
                    "expected a literal, found `{}`",
                    &self.text[self.char_range()]
                ),
            )),
        }
    }

    fn signed_number(&mut self) -> Result<Literal, LiteralError> {
        let start = self.pos;
        let mut negative = false;
        while let Some(b @ (b'-' | b'+')) = self.peek() {
            negative ^= b == b'-';
            self.pos += 1;
            self.skip_ws();
        }
        let starts_number = match self.peek() {
            Some(b'0'..=b'9') => true,
            Some(b'.') => self.peek_at(1).is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        };
        if !starts_number {
            return Err(LiteralError::new(
                start..self.pos,
                "a sign must be followed by a number",
            ));
        }
        self.number(negative, start)
    }

    fn number(&mut self, negative: bool, start: usize) -> Result<Literal, LiteralError> {
        let num_start = self.pos;
        let radix = match (self.peek(), self.peek_at(1).map(|b| b.to_ascii_lowercase())) {
            (Some(b'0'), Some(b'x')) => Some(16),
            (Some(b'0'), Some(b'o')) => Some(8),
            (Some(b'0'), Some(b'b')) => Some(2),
            _ => None,
        };
        let lit = if let Some(radix) = radix {
            self.pos += 2;
            let digits_start = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            let mut digits = &self.text[digits_start..self.pos];
            if digits.ends_with(['l', 'L']) {
                digits = &digits[..digits.len() - 1];
            }
            self.int_from(digits, radix, negative, start)?
        } else {
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
            let mut is_float = false;
            if self.peek() == Some(b'.') {
                is_float = true;
                self.pos += 1;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                let save = self.pos;
                self.pos += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    is_float = true;
                    while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                        self.pos += 1;
                    }
                } else {
                    self.pos = save;
                }
            }
            let lexeme = &self.text[num_start..self.pos];
            if is_float {
                if matches!(self.peek(), Some(b'j' | b'J')) {
                    return Err(LiteralError::new(
                        start..self.pos + 1,
                        "complex numbers are not supported",
                    ));
                }
                let f: f64 = lexeme.parse().map_err(|_| {
                    LiteralError::new(start..self.pos, format!("invalid number `{lexeme}`"))
                })?;
                Literal::Float(if negative { -f } else { f })
            } else {
                if matches!(self.peek(), Some(b'l' | b'L')) {
                    self.pos += 1;
                }
                // Python 2 reads an integer with a leading zero as octal (`010` is 8).
                let (digits, radix) = if lexeme.len() > 1 && lexeme.starts_with('0') {
                    (&lexeme[1..], 8)
                } else {
                    (lexeme, 10)
                };
                self.int_from(digits, radix, negative, start)?
            }
        };
        if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            let mut end = self.pos;
            while self
                .bytes
                .get(end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                end += 1;
            }
            return Err(LiteralError::new(
                start..end.max(self.pos + 1),
                format!(
                    "invalid number `{}`",
                    &self.text[start..end.max(self.pos + 1)]
                ),
            ));
        }
        Ok(lit)
    }

    fn int_from(
        &self,
        digits: &str,
        radix: u32,
        negative: bool,
        start: usize,
    ) -> Result<Literal, LiteralError> {
        let range = start..self.pos;
        let invalid = || {
            LiteralError::new(
                range.clone(),
                format!("invalid number `{}`", &self.text[range.clone()]),
            )
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return Err(invalid());
        }
        let magnitude = u128::from_str_radix(digits, radix).map_err(|_| {
            LiteralError::new(range.clone(), "integer is out of range (at most 64 bits)")
        })?;
        let signed = i128::try_from(magnitude)
            .map(|m| if negative { -m } else { m })
            .unwrap_or(i128::MAX);
        i64::try_from(signed).map(Literal::Int).map_err(|_| {
            LiteralError::new(range.clone(), "integer is out of range (at most 64 bits)")
        })
    }

    fn name(&mut self) -> Result<Literal, LiteralError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        // A string prefix (`u'..'`, `r'..'`, `b'..'`, `ur'..'`) is a name directly followed by a quote.
        if matches!(self.peek(), Some(b'\'' | b'"')) {
            let prefix = self.text[start..self.pos].to_ascii_lowercase();
            if matches!(prefix.as_str(), "u" | "r" | "b" | "ur" | "br") {
                self.pos = start;
                return self.strings();
            }
        }
        match &self.text[start..self.pos] {
            "None" => Ok(Literal::None),
            "True" => Ok(Literal::Bool(true)),
            "False" => Ok(Literal::Bool(false)),
            word => Err(LiteralError::new(
                start..self.pos,
                format!(
                    "`{word}` is not a literal; quote text (`'{word}'`) or use a number, `None`, `True` or `False`"
                ),
            )),
        }
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Result<Literal, LiteralError> {
        let mut out = self.string()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            let prefix_len = self.bytes[self.pos..]
                .iter()
                .take_while(|b| matches!(b.to_ascii_lowercase(), b'u' | b'r' | b'b'))
                .count();
            if matches!(self.peek_at(prefix_len), Some(b'\'' | b'"')) && prefix_len <= 2 {
                out.push_str(&self.string()?);
            } else {
                self.pos = save;
                return Ok(Literal::Str(out));
            }
        }
    }

    fn string(&mut self) -> Result<String, LiteralError> {
        let start = self.pos;
        let mut raw = false;
        let mut unicode = false;
        while let Some(b) = self.peek().filter(|b| b.is_ascii_alphabetic()) {
            raw |= b.eq_ignore_ascii_case(&b'r');
            unicode |= b.eq_ignore_ascii_case(&b'u');
            self.pos += 1;
        }
        let Some(quote) = self.peek() else {
            return Err(LiteralError::new(start..self.pos, "expected a string"));
        };
        if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
            return Err(LiteralError::new(
                self.pos..self.pos + 3,
                "triple-quoted strings are not supported",
            ));
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.text[self.pos..].chars().next() else {
                return Err(LiteralError::new(start..self.pos, "unterminated string"));
            };
            if c == char::from(quote) {
                self.pos += 1;
                return Ok(out);
            }
            if c == '\n' {
                return Err(LiteralError::new(start..self.pos, "unterminated string"));
            }
            if c != '\\' {
                out.push(c);
                self.pos += c.len_utf8();
                continue;
            }
            let esc_start = self.pos;
            self.pos += 1;
            let Some(e) = self.text[self.pos..].chars().next() else {
                return Err(LiteralError::new(start..self.pos, "unterminated string"));
            };
            self.pos += e.len_utf8();
            if raw {
                // A raw string keeps the backslash; it only stops the quote from ending the string.
                out.push('\\');
                out.push(e);
                continue;
            }
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(e),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut code = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match self.peek().and_then(|b| char::from(b).to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                'x' => out.push(self.hex_escape(2, esc_start)?),
                'u' if unicode => out.push(self.hex_escape(4, esc_start)?),
                'U' if unicode => out.push(self.hex_escape(8, esc_start)?),
                other => {
                    // Python keeps unknown escapes verbatim, backslash included.
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, len: usize, esc_start: usize) -> Result<char, LiteralError> {
        let hex = self
            .text
            .get(self.pos..self.pos + len)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        let code = hex
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) => {
                self.pos += len;
                Ok(c)
            }
            None => Err(LiteralError::new(
                esc_start..(self.pos + len).min(self.text.len()),
                "invalid escape sequence in string",
            )),
        }
    }

    /// Items separated by commas up to `close`, a trailing comma allowed. Returns the items and
    /// whether a comma was seen (which makes `(x,)` a tuple).
    fn items(&mut self, close: u8) -> Result<(Vec<Literal>, bool), LiteralError> {
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok((items, comma));
                }
                None => {
                    return Err(LiteralError::new(
                        open..open + 1,
                        format!("`{}` is never closed", char::from(self.bytes[open])),
                    ));
                }
                _ => {}
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    comma = true;
                    self.pos += 1;
                }
                Some(b) if b == close => {}
                None => {
                    return Err(LiteralError::new(
                        open..open + 1,
                        format!("`{}` is never closed", char::from(self.bytes[open])),
                    ));
                }
                Some(_) => {
                    return Err(LiteralError::new(
                        self.char_range(),
                        format!("expected `,` or `{}`", char::from(close)),
                    ));
                }
            }
        }
    }

    fn list(&mut self) -> Result<Literal, LiteralError> {
        self.items(b']').map(|(items, _)| Literal::List(items))
    }

    fn tuple(&mut self) -> Result<Literal, LiteralError> {
        let (mut items, comma) = self.items(b')')?;
        // `(x)` is just a parenthesised `x`; `()` and `(x,)` are tuples.
        if items.len() == 1 && !comma {
            return Ok(items.pop().unwrap_or(Literal::None));
        }
        Ok(Literal::Tuple(items))
    }

    fn dict(&mut self) -> Result<Literal, LiteralError> {
        let open = self.pos;
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(Literal::Dict(entries));
            }
            if self.peek().is_none() {
                return Err(LiteralError::new(open..open + 1, "`{` is never closed"));
            }
            let key_start = self.pos;
            let key = self.value()?;
            if matches!(key, Literal::List(_) | Literal::Dict(_)) {
                return Err(LiteralError::new(
                    key_start..self.pos,
                    format!("a {} cannot be a dict key", key.kind()),
                ));
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(LiteralError::new(
                    self.char_range(),
                    "expected `:` after a dict key (sets are not supported)",
                ));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                None => return Err(LiteralError::new(open..open + 1, "`{` is never closed")),
                Some(_) => return Err(LiteralError::new(self.char_range(), "expected `,` or `}`")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Literal {
        match parse_literal(text) {
            Ok(lit) => lit,
            Err(e) => panic!("`{text}` should parse: {e:?}"),
        }
    }

    fn err(text: &str) -> LiteralError {
        match parse_literal(text) {
            Ok(lit) => panic!("`{text}` should not parse, got {lit:?}"),
            Err(e) => e,
        }
    }

    fn s(v: &str) -> Literal {
        Literal::Str(v.to_string())
    }

    #[test]
    fn numbers() {
        assert_eq!(ok("0"), Literal::Int(0));
        assert_eq!(ok("123"), Literal::Int(123));
        assert_eq!(ok("-7"), Literal::Int(-7));
        assert_eq!(ok("+7"), Literal::Int(7));
        assert_eq!(ok("- 7"), Literal::Int(-7));
        assert_eq!(ok("--7"), Literal::Int(7));
        assert_eq!(ok("0x1F"), Literal::Int(31));
        assert_eq!(ok("0o17"), Literal::Int(15));
        assert_eq!(ok("0b101"), Literal::Int(5));
        assert_eq!(ok("010"), Literal::Int(8), "Python 2 leading-zero octal");
        assert_eq!(ok("12L"), Literal::Int(12));
        assert_eq!(ok("-9223372036854775808"), Literal::Int(i64::MIN));
        assert_eq!(ok("1.5"), Literal::Float(1.5));
        assert_eq!(ok("-2.5"), Literal::Float(-2.5));
        assert_eq!(ok(".5"), Literal::Float(0.5));
        assert_eq!(ok("5."), Literal::Float(5.0));
        assert_eq!(ok("1e3"), Literal::Float(1000.0));
        assert_eq!(ok("1.5E-3"), Literal::Float(0.0015));
        assert_eq!(ok("  42  "), Literal::Int(42));
        err("9223372036854775808");
        err("08");
        err("1.5j");
        err("12abc");
        err("1.2.3");
        err("0x");
        err("-");
        err("-abc");
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(ok("'q'"), s("q"));
        assert_eq!(ok("\"q r\""), s("q r"));
        assert_eq!(ok("''"), s(""));
        assert_eq!(ok(r"'it\'s'"), s("it's"));
        assert_eq!(ok(r#""say \"hi\"""#), s("say \"hi\""));
        assert_eq!(ok(r"'a\\b'"), s("a\\b"));
        assert_eq!(ok(r"'a\nb\tc'"), s("a\nb\tc"));
        assert_eq!(ok(r"'\x41\101'"), s("AA"));
        assert_eq!(ok(r"'\d'"), s("\\d"), "unknown escapes stay verbatim");
        assert_eq!(ok(r"u'\u00e9'"), s("é"));
        assert_eq!(
            ok(r"'\u00e9'"),
            s("\\u00e9"),
            "\\u is no escape in a byte string"
        );
        assert_eq!(ok(r"r'a\'b'"), s("a\\'b"));
        assert_eq!(ok("'a' \"b\""), s("ab"));
        assert_eq!(ok("'FF(0)\\') KK'"), s("FF(0)') KK"));
        assert_eq!(ok("'x, y'"), s("x, y"));
        assert_eq!(ok("'é'"), s("é"));
        err("'abc");
        err("'abc\ndef'");
        err("'''x'''");
        err(r"'\x4'");
    }

    #[test]
    fn names_and_collections() {
        assert_eq!(ok("None"), Literal::None);
        assert_eq!(ok("True"), Literal::Bool(true));
        assert_eq!(ok("False"), Literal::Bool(false));
        assert_eq!(
            ok("[1, 'a', None]"),
            Literal::List(vec![Literal::Int(1), s("a"), Literal::None])
        );
        assert_eq!(
            ok("[1, 2,]"),
            Literal::List(vec![Literal::Int(1), Literal::Int(2)])
        );
        assert_eq!(ok("[]"), Literal::List(vec![]));
        assert_eq!(ok("()"), Literal::Tuple(vec![]));
        assert_eq!(ok("(1)"), Literal::Int(1));
        assert_eq!(ok("(1,)"), Literal::Tuple(vec![Literal::Int(1)]));
        assert_eq!(ok("(1, (2, 3))").python_repr(), "(1, (2, 3))");
        assert_eq!(
            ok("{'a': 1, 2: [True]}"),
            Literal::Dict(vec![
                (s("a"), Literal::Int(1)),
                (Literal::Int(2), Literal::List(vec![Literal::Bool(true)]))
            ])
        );
        assert_eq!(ok("{}"), Literal::Dict(vec![]));
        err("abc");
        err("none");
        err("{1, 2}");
        err("{[1]: 2}");
        err("[1, 2");
        err("[1 2]");
        err("1 2");
        err("");
        err("   ");
        err(&"[".repeat(200));
    }

    #[test]
    fn error_ranges_point_at_the_problem() {
        assert_eq!(err("abc").range, 0..3);
        assert_eq!(err(" [1, abc]").range, 5..8);
        assert_eq!(err("1 2").range, 2..3);
        assert_eq!(err("'x").shifted(10).range, 10..12);
    }

    #[test]
    fn text_and_repr() {
        assert_eq!(ok("7").to_text(), "7");
        assert_eq!(ok("'q'").to_text(), "q");
        assert_eq!(ok("None").to_text(), "NULL");
        assert_eq!(ok("True").to_text(), "True");
        assert_eq!(ok("[1, 2]").to_text(), "[1, 2]");
        assert_eq!(ok("['a', \"it's\"]").to_text(), r#"['a', "it's"]"#);
        assert_eq!(ok("{'a': None}").to_text(), "{'a': None}");
        assert_eq!(ok("['é']").to_text(), r"['\xc3\xa9']");
        assert_eq!(ok("1.5").to_text(), "1.5");
        assert_eq!(ok("[0.1]").to_text(), "[0.1]");
    }

    #[test]
    fn python_float_formats() {
        assert_eq!(py_float_str(0.1 + 0.2), "0.3");
        assert_eq!(py_float_repr(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(py_float_str(1e20), "1e+20");
        assert_eq!(py_float_str(1.5), "1.5");
        assert_eq!(py_float_str(2.0), "2.0");
        assert_eq!(py_float_str(-0.0), "-0.0");
        assert_eq!(py_float_str(123456789012.0), "123456789012.0");
        assert_eq!(py_float_str(1234567890123.0), "1.23456789012e+12");
        assert_eq!(py_float_str(0.0001), "0.0001");
        assert_eq!(py_float_str(0.00001), "1e-05");
        assert_eq!(py_float_str(1.0 / 3.0), "0.333333333333");
        assert_eq!(py_float_repr(1e16), "1e+16");
        assert_eq!(py_float_repr(1e15), "1000000000000000.0");
        assert_eq!(py_float_repr(f64::INFINITY), "inf");
    }

    #[test]
    fn json_round_trip() {
        let lit = ok("{'a': [1, 2.5, 'x', None, True]}");
        let json = lit.to_json();
        assert_eq!(json.to_string(), r#"{"a":[1,2.5,"x",null,true]}"#);
        assert_eq!(Literal::from_json(&json), Ok(lit));
        assert!(Literal::from_json(&serde_json::json!(u64::MAX)).is_err());
    }
}
