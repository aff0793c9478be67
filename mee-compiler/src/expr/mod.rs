//! The two small languages inside handler files: `%placeholders` and db_field expressions.
//!
//! Everything here is pure string parsing. Positions are byte ranges relative to the string that
//! was parsed, because only the caller knows how that string maps back into the YAML file (a
//! quoted YAML scalar with escapes does not map linearly). Callers turn an [`ExprError`] into a
//! [`Diagnostic`] with [`ExprError::to_diagnostic`], passing the mapping.
//!
//! * [`literal`]: the Python literal subset of placeholder defaults and `echo(...)`.
//! * [`placeholder`]: the `%key.field:(default)` scanner (reference §2.1) and the `LIMIT` check.
//! * [`dbfield`]: the db_field expression language (reference §2.3).
//! * [`filter`]: the `filter` conditions of an item (reference §4.3).

pub mod dbfield;
pub mod filter;
pub mod literal;
pub mod placeholder;

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use std::ops::Range;

/// A problem found in an expression string, located by a byte range relative to that string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    pub code: Code,
    /// Where the problem is, relative to the parsed string.
    pub range: Range<usize>,
    /// The one-line rustc-style message (lowercase, no final period).
    pub message: String,
    /// The text of the primary label at `range`.
    pub label: String,
    pub help: Option<String>,
}

impl ExprError {
    pub fn new(
        code: Code,
        range: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        ExprError {
            code,
            range,
            message: message.into(),
            label: label.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Moves the range by `offset` bytes, for errors found in a substring.
    pub fn shifted(mut self, offset: usize) -> Self {
        self.range = self.range.start + offset..self.range.end + offset;
        self
    }

    /// The diagnostic, with `span_of` mapping string-relative ranges to file spans.
    pub fn to_diagnostic(&self, span_of: impl Fn(Range<usize>) -> Span) -> Diagnostic {
        let d = Diagnostic::error(self.code, self.message.clone())
            .primary(span_of(self.range.clone()), self.label.clone());
        match &self.help {
            Some(help) => d.help(help.clone()),
            None => d,
        }
    }
}

/// Python's `\s` for byte strings (and `str.strip()`): ASCII whitespace only.
pub(crate) fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Python's `\w` without the `UNICODE` flag: ASCII letters, digits and `_`.
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The range of `text[range]` without leading and trailing ASCII whitespace.
pub(crate) fn trim_range(text: &str, range: Range<usize>) -> Range<usize> {
    let bytes = text.as_bytes();
    let (mut start, mut end) = (range.start, range.end);
    while start < end && is_py_space(bytes[start]) {
        start += 1;
    }
    while end > start && is_py_space(bytes[end - 1]) {
        end -= 1;
    }
    start..end
}
