//! Small text utilities shared by the DDL loader and the statement analyser: a MySQL-aware
//! scanner that knows where strings, identifiers and comments start and end, the conversion of
//! sqlparser's line/column locations into byte offsets, and the location inside sqlparser's
//! error messages.
//!
//! sqlparser reports positions as 1-based line and column, where the column counts characters
//! (not bytes) and only `\n` starts a new line. Everything in mee works with byte offsets, so
//! every location goes through [`LineIndex`] before it reaches a [`crate::source::Span`].

use sqlparser::parser::ParserError;
use sqlparser::tokenizer::Location;
use std::ops::Range;

/// What a piece of MySQL text is, as far as statement splitting and placeholder contexts care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Spaces, tabs and line breaks.
    Space,
    /// `-- ...`, `# ...` or `/* ... */`.
    Comment,
    /// `/*! ... */` or `/*M! ... */`: MySQL and MariaDB run the text inside; mee ignores it.
    Conditional,
    /// A `'...'` or `"..."` string (double quotes are strings in MySQL's default SQL mode).
    Str,
    /// A `` `...` `` quoted identifier.
    Backtick,
    /// A run of identifier characters (ASCII letters, digits, `_`, `$` and any non-ASCII text).
    Word,
    /// `;`, the statement separator.
    Semicolon,
    /// Any other single character.
    Punct,
}

/// One piece of scanned text; `start..end` are byte offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lexeme {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// False for a string, identifier or block comment that runs to the end of the text.
    pub terminated: bool,
}

impl Lexeme {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// Whitespace and every kind of comment: text that does not change what a statement means
    /// to mee.
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, Kind::Space | Kind::Comment | Kind::Conditional)
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Scans MySQL text into lexemes. It never fails: an unterminated string or comment becomes one
/// lexeme up to the end of the text with `terminated: false`, so callers can report it.
pub(crate) fn lex(text: &str) -> Vec<Lexeme> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let (kind, end, terminated) = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                let mut j = i + 1;
                while j < bytes.len()
                    && matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
                {
                    j += 1;
                }
                (Kind::Space, j, true)
            }
            b'#' => (Kind::Comment, line_end(bytes, i), true),
            // MySQL needs whitespace (or a control character) after `--` for a comment;
            // `a--1` is `a - (-1)`.
            b'-' if next == Some(b'-') && bytes.get(i + 2).is_none_or(|&c| c <= b' ') => {
                (Kind::Comment, line_end(bytes, i), true)
            }
            b'/' if next == Some(b'*') => {
                let conditional = bytes.get(i + 2) == Some(&b'!')
                    || (bytes.get(i + 2) == Some(&b'M') && bytes.get(i + 3) == Some(&b'!'));
                let (end, terminated) = match find(bytes, i + 2, b"*/") {
                    Some(j) => (j + 2, true),
                    None => (bytes.len(), false),
                };
                (
                    if conditional {
                        Kind::Conditional
                    } else {
                        Kind::Comment
                    },
                    end,
                    terminated,
                )
            }
            b'\'' | b'"' => {
                let (end, terminated) = quoted_end(bytes, i, b, true);
                (Kind::Str, end, terminated)
            }
            b'`' => {
                let (end, terminated) = quoted_end(bytes, i, b'`', false);
                (Kind::Backtick, end, terminated)
            }
            b';' => (Kind::Semicolon, i + 1, true),
            _ if is_word_byte(b) => {
                let mut j = i + 1;
                while j < bytes.len() && is_word_byte(bytes[j]) {
                    j += 1;
                }
                (Kind::Word, j, true)
            }
            _ => (Kind::Punct, i + 1, true),
        };
        out.push(Lexeme {
            kind,
            start,
            end,
            terminated,
        });
        i = end;
    }
    out
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The end of a quoted run starting at `open` (the quote itself). A doubled quote stands for
/// one quote; in strings (not in identifiers) a backslash escapes the next character.
pub(crate) fn quoted_end(bytes: &[u8], open: usize, quote: u8, backslash: bool) -> (usize, bool) {
    let mut j = open + 1;
    while j < bytes.len() {
        let c = bytes[j];
        if backslash && c == b'\\' {
            j += 2;
            continue;
        }
        if c == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return (j + 1, true);
        }
        j += 1;
    }
    (bytes.len(), false)
}

/// Decodes the text between the quotes of a MySQL string literal the way MySQL does in its
/// default SQL mode: backslash escapes and doubled quotes. `\%` and `\_` keep their backslash
/// because MySQL keeps it too (they are meant for `LIKE` patterns).
pub(crate) fn unescape_string(raw: &str, quote: char) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('0') => out.push('\0'),
                Some('b') => out.push('\u{8}'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('Z') => out.push('\u{1a}'),
                Some(c @ ('%' | '_')) => {
                    out.push('\\');
                    out.push(c);
                }
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else if c == quote && chars.peek() == Some(&quote) {
            chars.next();
            out.push(quote);
        } else {
            out.push(c);
        }
    }
    out
}

/// Converts sqlparser's 1-based line/column locations (columns in characters) into byte
/// offsets of the text that was given to sqlparser.
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    /// The byte offset of a location; `None` for sqlparser's "unknown" location (line 0).
    /// A column past the end of its line is clamped to the line end.
    pub fn offset(&self, loc: Location) -> Option<usize> {
        if loc.line == 0 || loc.column == 0 {
            return None;
        }
        let line = usize::try_from(loc.line - 1).ok()?;
        let start = *self.line_starts.get(line).or(self.line_starts.last())?;
        let skip = usize::try_from(loc.column - 1).unwrap_or(usize::MAX);
        let rest = &self.text[start..];
        let mut offset = start;
        for (n, (i, c)) in rest.char_indices().enumerate() {
            if n == skip {
                return Some(start + i);
            }
            if c == '\n' {
                return Some(start + i);
            }
            offset = start + i + c.len_utf8();
        }
        Some(offset)
    }
}

/// The message of a sqlparser error without its `at Line: L, Column: C` suffix, and that
/// location when the message has one.
pub(crate) fn parser_error_location(err: &ParserError) -> (String, Option<Location>) {
    let text = match err {
        ParserError::ParserError(s) | ParserError::TokenizerError(s) => s.as_str(),
        ParserError::RecursionLimitExceeded => {
            return ("the statement is nested too deeply".to_string(), None);
        }
    };
    split_location(text)
}

/// Splits `"<message> at Line: 3, Column: 7"` into the message and the location.
pub(crate) fn split_location(text: &str) -> (String, Option<Location>) {
    const MARK: &str = " at Line: ";
    let Some(at) = text.rfind(MARK) else {
        return (text.to_string(), None);
    };
    let tail = &text[at + MARK.len()..];
    let parsed = tail.split_once(", Column: ").and_then(|(l, c)| {
        Some(Location {
            line: l.trim().parse().ok()?,
            column: c.trim().parse().ok()?,
        })
    });
    match parsed {
        Some(loc) => (text[..at].to_string(), Some(loc)),
        None => (text.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        lex(text)
            .into_iter()
            .map(|l| (l.kind, &text[l.range()]))
            .collect()
    }

    #[test]
    fn strings_comments_and_separators() {
        let text = "a 'x;''y\\';' -- c;\n/*!40101 SET x*/;`b``c`#h\n\"q\"";
        let k = kinds(text);
        assert_eq!(k[0], (Kind::Word, "a"));
        assert_eq!(k[2], (Kind::Str, "'x;''y\\';'"));
        assert_eq!(k[4], (Kind::Comment, "-- c;"));
        assert_eq!(k[6], (Kind::Conditional, "/*!40101 SET x*/"));
        assert_eq!(k[7], (Kind::Semicolon, ";"));
        assert_eq!(k[8], (Kind::Backtick, "`b``c`"));
        assert_eq!(k[9], (Kind::Comment, "#h"));
        assert_eq!(k[11], (Kind::Str, "\"q\""));
    }

    #[test]
    fn double_dash_needs_whitespace_and_unterminated_runs_to_end() {
        let k = kinds("a--1");
        assert_eq!(k.iter().filter(|(k, _)| *k == Kind::Comment).count(), 0);
        let l = lex("x 'abc");
        assert_eq!(l[2].kind, Kind::Str);
        assert!(!l[2].terminated);
        assert_eq!(l[2].end, 6);
    }

    #[test]
    fn unescapes_like_mysql() {
        assert_eq!(unescape_string(r"a\'b''c\n\%", '\''), "a'b'c\n\\%");
        assert_eq!(unescape_string(r#"say ""hi"""#, '"'), "say \"hi\"");
    }

    #[test]
    fn line_index_counts_characters() {
        let text = "ab\nçd x\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.offset(Location { line: 1, column: 1 }), Some(0));
        assert_eq!(idx.offset(Location { line: 2, column: 1 }), Some(3));
        // `ç` is two bytes, so the third character of line 2 starts at byte 6.
        assert_eq!(idx.offset(Location { line: 2, column: 3 }), Some(6));
        assert_eq!(
            idx.offset(Location {
                line: 2,
                column: 99
            }),
            Some(8)
        );
        assert_eq!(idx.offset(Location { line: 0, column: 0 }), None);
    }

    #[test]
    fn splits_sqlparser_locations() {
        let (msg, loc) = split_location("Expected: an expression, found: ? at Line: 2, Column: 14");
        assert_eq!(msg, "Expected: an expression, found: ?");
        assert_eq!(
            loc,
            Some(Location {
                line: 2,
                column: 14
            })
        );
        assert_eq!(split_location("plain").1, None);
    }
}
