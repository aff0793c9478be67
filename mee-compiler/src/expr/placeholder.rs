//! The `%key.field:(default)` placeholder language of `statement`, `document_id`, `routing`,
//! `query` and `parent_query` (reference §2.1).
//!
//! Mee finds placeholders with the regex
//! `(%%)|%(?:(\w+)\.)?(\w+)(?::\(((?:[^'\)][^\)]*)|(?:'.*?[^\\]'))\))?` and decides whether a
//! whole string is one placeholder with the same pattern anchored by `^...$`. This module
//! reproduces that regex's behaviour exactly, backtracking included, without a regex engine:
//!
//! * `%%` is an escaped `%`; a `%` before a non-word character is plain text.
//! * `%a.b.c` is key `a`, field `b` and the text `.c`; `%id.` is field `id` and the text `.`.
//! * An unquoted default runs to the first `)`; `%id:()` has no default (`:()` stays text).
//! * A quoted default is the shortest `'...'` whose last inner character is not a backslash and
//!   that is directly followed by `)`; only that last character may be a line break. So
//!   `:('')` alone is no default, and `:('it\'s')` is the default `'it\'s'`.
//! * In the anchored form, `$` also matches before one final line break, as in Python.
//!
//! Which item keys exist, and where `__last`/`__parent`/`__master` are allowed, is checked by the
//! caller; this module only parses.

use super::literal::{Literal, LiteralError, parse_literal};
use super::{ExprError, is_py_space, is_word};
use crate::diag::codes;
use std::ops::Range;

/// One piece of a scanned string, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// Plain text, kept as written.
    Text(Range<usize>),
    /// `%%`, which stands for one `%`.
    Escape(Range<usize>),
    Placeholder(Placeholder),
}

/// One `%[key.]field[:(default)]`. All ranges are byte ranges in the scanned string.
#[derive(Clone, Debug, PartialEq)]
pub struct Placeholder {
    /// The item key, when written (`%key.field`); `None` means the current item.
    pub key: Option<String>,
    pub field: String,
    /// The parsed default literal; an error's range is relative to the scanned string too.
    pub default: Option<Result<Literal, LiteralError>>,
    /// The whole placeholder, from `%` to the closing `)` of a default.
    pub range: Range<usize>,
    pub key_range: Option<Range<usize>>,
    pub field_range: Range<usize>,
    /// The raw default text between `:(` and `)`.
    pub default_range: Option<Range<usize>>,
}

impl Placeholder {
    /// The default as a value: `None` (SQL NULL) when no default is written, as in Mee.
    /// `None` is also returned for an invalid default, which [`Placeholder::error`] reports.
    pub fn default_value(&self) -> Option<&Literal> {
        match &self.default {
            Some(Ok(lit)) => Some(lit),
            _ => None,
        }
    }

    /// The `BAD_LITERAL` error for an invalid default. Mee parses the default eagerly, so an
    /// invalid one is an error even when the column exists (`%id:(abc)`).
    pub fn error(&self, text: &str) -> Option<ExprError> {
        let Some(Err(e)) = &self.default else {
            return None;
        };
        let raw = self.default_range.as_ref().map_or("", |r| &text[r.clone()]);
        Some(
            ExprError::new(
                codes::BAD_LITERAL,
                e.range.clone(),
                format!("invalid default `{raw}` in placeholder `{}`", &text[self.range.clone()]),
                e.message.clone(),
            )
            .with_help(
                "a default is a Python literal: a number (`:(0)`), quoted text (`:('n/a')`) or `:(None)`",
            ),
        )
    }
}

/// Splits `text` into plain text, `%%` escapes and placeholders, left to right.
pub fn scan(text: &str) -> Vec<Piece> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(offset) = text[i..].find('%') {
        let p = i + offset;
        let flush = |pieces: &mut Vec<Piece>, end: usize| {
            if end > text_start {
                pieces.push(Piece::Text(text_start..end));
            }
        };
        if bytes.get(p + 1) == Some(&b'%') {
            flush(&mut pieces, p);
            pieces.push(Piece::Escape(p..p + 2));
            i = p + 2;
            text_start = i;
        } else if let Some(ph) = match_at(text, p, false) {
            flush(&mut pieces, p);
            i = ph.range.end;
            text_start = i;
            pieces.push(Piece::Placeholder(ph));
        } else {
            // A `%` that starts nothing stays plain text (`LIKE 'abc%'`).
            i = p + 1;
        }
    }
    if text.len() > text_start {
        pieces.push(Piece::Text(text_start..text.len()));
    }
    pieces
}

/// The placeholder when the whole of `text` is exactly one placeholder (no other characters,
/// not even spaces, except one final line break). Such a string yields the typed value itself
/// instead of text.
pub fn whole(text: &str) -> Option<Placeholder> {
    if !text.starts_with('%') {
        return None;
    }
    match_at(text, 0, true)
}

/// Every placeholder of scanned pieces.
pub fn placeholders(pieces: &[Piece]) -> impl Iterator<Item = &Placeholder> {
    pieces.iter().filter_map(|p| match p {
        Piece::Placeholder(ph) => Some(ph),
        _ => None,
    })
}

/// The errors (invalid defaults) of scanned pieces of `text`.
pub fn errors(text: &str, pieces: &[Piece]) -> Vec<ExprError> {
    placeholders(pieces)
        .filter_map(|ph| ph.error(text))
        .collect()
}

/// The `LIMIT` clause that ends `statement`, if any (reference §1.2: Mee appends ` LIMIT 1 `
/// itself, so a statement must not end with one). Same semantics as the case-insensitive regex
/// `\s+limit\s+\d+\s*(,\s*\d+)?\s*$`; a `LIMIT` elsewhere is accepted. The range covers the
/// clause from `limit` to its last digit, for the error label.
pub fn trailing_limit(statement: &str) -> Option<Range<usize>> {
    let b = statement.as_bytes();
    let skip_space_back = |mut pos: usize| {
        while pos > 0 && is_py_space(b[pos - 1]) {
            pos -= 1;
        }
        pos
    };
    let skip_digits_back = |mut pos: usize| {
        while pos > 0 && b[pos - 1].is_ascii_digit() {
            pos -= 1;
        }
        pos
    };
    let end = skip_space_back(b.len());
    let mut pos = skip_digits_back(end);
    if pos == end {
        return None;
    }
    // `LIMIT offset, count`: the comma form must be consumed as a whole.
    let before = skip_space_back(pos);
    if before > 0 && b[before - 1] == b',' {
        let digits_end = skip_space_back(before - 1);
        pos = skip_digits_back(digits_end);
        if pos == digits_end {
            return None;
        }
    }
    let limit_end = skip_space_back(pos);
    if limit_end == pos || limit_end < 5 {
        return None;
    }
    let limit_start = limit_end - 5;
    let is_limit = b[limit_start..limit_end].eq_ignore_ascii_case(b"limit");
    (is_limit && limit_start > 0 && is_py_space(b[limit_start - 1])).then_some(limit_start..end)
}

/// The end of the run of word characters starting at `start`.
fn word_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    end
}

/// Whether the anchored pattern's `$` matches at `pos`: the end, or just before a final `\n`.
fn at_end(bytes: &[u8], pos: usize) -> bool {
    pos == bytes.len() || (pos + 1 == bytes.len() && bytes[pos] == b'\n')
}

/// Matches the placeholder alternative of the regex at `start` (a `%`). With `anchored`, the
/// match must also reach the end of `text`.
fn match_at(text: &str, start: usize, anchored: bool) -> Option<Placeholder> {
    let bytes = text.as_bytes();
    let first = start + 1;
    let first_end = word_end(bytes, first);
    if first_end == first {
        return None;
    }
    // `(?:(\w+)\.)?` only takes the first word as a key when a second word follows the dot.
    let (key_range, field_range) = match bytes.get(first_end) {
        Some(b'.') if word_end(bytes, first_end + 1) > first_end + 1 => (
            Some(first..first_end),
            first_end + 1..word_end(bytes, first_end + 1),
        ),
        _ => (None, first..first_end),
    };
    let after_field = field_range.end;
    let default_range = if bytes[after_field..].starts_with(b":(") {
        let accept = |end: usize| !anchored || at_end(bytes, end);
        default_candidates(text, after_field + 2).find(|r| accept(r.end + 1))
    } else {
        None
    };
    let end = default_range.as_ref().map_or(after_field, |r| r.end + 1);
    if anchored && !at_end(bytes, end) {
        return None;
    }
    let default = default_range
        .as_ref()
        .map(|r| parse_literal(&text[r.clone()]).map_err(|e| e.shifted(r.start)));
    Some(Placeholder {
        key: key_range.as_ref().map(|r| text[r.clone()].to_string()),
        field: text[field_range.clone()].to_string(),
        default,
        range: start..end,
        key_range,
        field_range,
        default_range,
    })
}

/// The possible default texts after `:(` at `open`, in the order the regex tries them; each is
/// followed by a `)` at its `end`.
fn default_candidates(text: &str, open: usize) -> Box<dyn Iterator<Item = Range<usize>> + '_> {
    let bytes = text.as_bytes();
    match bytes.get(open) {
        None | Some(b')') => Box::new(std::iter::empty()),
        // `[^'\)][^\)]*` then `\)`: everything up to the first `)`.
        Some(b) if *b != b'\'' => {
            let close = text[open..].find(')').map(|i| open + i);
            Box::new(close.map(|c| open..c).into_iter())
        }
        // `'.*?[^\\]'` then `\)`: the lazy `.*?` tries ever longer runs, but cannot cross a line
        // break, which may only be the last inner character (matched by `[^\\]`).
        Some(_) => {
            let inner = open + 1;
            let newline = text[inner..].find('\n').map_or(usize::MAX, |i| inner + i);
            Box::new(
                (inner + 1..bytes.len())
                    .filter(move |&q| text.is_char_boundary(q))
                    .map_while(move |q| {
                        let last_start = text[..q].char_indices().next_back().map_or(q, |(i, _)| i);
                        (last_start <= newline).then_some((q, last_start))
                    })
                    .filter_map(move |(q, last_start)| {
                        let closes = bytes[q] == b'\''
                            && bytes.get(q + 1) == Some(&b')')
                            && bytes[last_start] != b'\\';
                        closes.then_some(open..q + 1)
                    }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact view of a scan: text as written, `%%`, and placeholders as
    /// `{key.field:(raw default)}`.
    fn show(text: &str) -> Vec<String> {
        scan(text)
            .iter()
            .map(|p| match p {
                Piece::Text(r) => format!("T{:?}", &text[r.clone()]),
                Piece::Escape(_) => "%%".to_string(),
                Piece::Placeholder(ph) => show_ph(text, ph),
            })
            .collect()
    }

    fn show_ph(text: &str, ph: &Placeholder) -> String {
        let key = ph
            .key
            .as_deref()
            .map(|k| format!("{k}."))
            .unwrap_or_default();
        let default = ph
            .default_range
            .as_ref()
            .map(|r| format!(":({})", &text[r.clone()]));
        format!("{{{key}{}{}}}", ph.field, default.unwrap_or_default())
    }

    fn whole_view(text: &str) -> Option<String> {
        whole(text).map(|ph| show_ph(text, &ph))
    }

    /// Embedded rendering with a tiny context, as Mee's text substitution does (raw defaults).
    fn render_raw(text: &str, lookup: impl Fn(Option<&str>, &str) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in scan(text) {
            match piece {
                Piece::Text(r) => out.push_str(&text[r]),
                Piece::Escape(_) => out.push('%'),
                Piece::Placeholder(ph) => {
                    let value = lookup(ph.key.as_deref(), &ph.field);
                    let default = ph.default_range.map(|r| text[r].to_string());
                    out.push_str(&value.or(default).unwrap_or_default());
                }
            }
        }
        out
    }

    #[test]
    fn t08_original_scan_vector() {
        let text = r"%base.id:(123)%base.name:('FF(0)\') KK')%%as_%updated_at";
        assert_eq!(
            show(text),
            [
                "{base.id:(123)}",
                r"{base.name:('FF(0)\') KK')}",
                "%%",
                "T\"as_\"",
                "{updated_at}"
            ]
        );
        let phs: Vec<_> = placeholders(&scan(text)).cloned().collect();
        assert_eq!(phs[0].default, Some(Ok(Literal::Int(123))));
        assert_eq!(phs[1].default, Some(Ok(Literal::Str("FF(0)') KK".into()))));
        assert_eq!(phs[2].default, None);
        assert_eq!(phs[2].key, None);
        let rendered = render_raw(text, |key, field| match (key, field) {
            (Some("base"), "id") => Some("1234".into()),
            (Some("base"), "name") => Some("Hello world".into()),
            (None, "updated_at") => Some("2018-01-01".into()),
            _ => None,
        });
        assert_eq!(rendered, "1234Hello world%as_2018-01-01");
    }

    #[test]
    fn t08_limit_check() {
        assert_eq!(
            trailing_limit("select * from user limit  2,100"),
            Some(19..31)
        );
        assert!(trailing_limit("select * from m limit 10").is_some());
        assert!(trailing_limit("select * from m LIMIT 10 \n").is_some());
        assert!(trailing_limit("select * from m\nLimit\t5 , 6\n").is_some());
        assert!(trailing_limit("select * from m limit 10 order by id").is_none());
        assert!(trailing_limit("select * from m limit x").is_none());
        assert!(trailing_limit("select * from m limit 1,").is_none());
        assert!(trailing_limit("select * from m limit ,1").is_none());
        assert!(trailing_limit("select * from mlimit 10").is_none());
        assert!(
            trailing_limit("limit 10").is_none(),
            "`\\s+` is required before `limit`"
        );
        assert!(trailing_limit("select 10").is_none());
        assert!(trailing_limit("").is_none());
    }

    #[test]
    fn t05_whole_string_forms() {
        for (text, view) in [
            ("%id", "{id}"),
            ("%m.id", "{m.id}"),
            ("%__master.id", "{__master.id}"),
            ("%missing:(7)", "{missing:(7)}"),
            ("%s.x:('q')", "{s.x:('q')}"),
            ("%s.x:(\"q r\")", "{s.x:(\"q r\")}"),
            ("%s.x:(None)", "{s.x:(None)}"),
            ("%id\n", "{id}"),
        ] {
            assert_eq!(whole_view(text).as_deref(), Some(view), "{text:?}");
        }
        for text in [
            "x%id", "%id ", " %id", "%id.", "%a.b.c", "%%", "%id:()", "%", "%id\n\n",
        ] {
            assert_eq!(whole_view(text), None, "{text:?}");
        }
        let ph = whole("%s.x:(\"q r\")").expect("whole placeholder");
        assert_eq!(ph.default_value(), Some(&Literal::Str("q r".into())));
        assert_eq!(ph.key_range, Some(1..2));
        assert_eq!(ph.field_range, 3..4);
        assert_eq!(ph.default_range, Some(6..11));
        assert_eq!(ph.range, 0..12);
    }

    #[test]
    fn whole_string_backtracks_where_the_scan_does_not() {
        // The anchored regex extends the lazy quoted default to reach the end of the string.
        let text = "%a:('x')y')";
        assert_eq!(whole_view(text).as_deref(), Some("{a:('x')y')}"));
        assert_eq!(show(text), ["{a:('x')}", "T\"y')\""]);
    }

    #[test]
    fn t06_embedded_forms() {
        assert_eq!(show("x_%id"), ["T\"x_\"", "{id}"]);
        assert_eq!(show("%id "), ["{id}", "T\" \""]);
        assert_eq!(show("v=%n"), ["T\"v=\"", "{n}"]);
        assert_eq!(show("a%missing:(7)"), ["T\"a\"", "{missing:(7)}"]);
        assert_eq!(show("%id:()"), ["{id}", "T\":()\""]);
        assert_eq!(show("%%"), ["%%"]);
        assert_eq!(show("100%% %id"), ["T\"100\"", "%%", "T\" \"", "{id}"]);
        assert_eq!(show("%id."), ["{id}", "T\".\""]);
        assert_eq!(show("%m.id.x"), ["{m.id}", "T\".x\""]);
        assert_eq!(show("%a.b.c"), ["{a.b}", "T\".c\""]);
        assert_eq!(show("name='%name'"), ["T\"name='\"", "{name}", "T\"'\""]);
        let ctx = |key: Option<&str>, field: &str| match (key, field) {
            (None | Some("m"), "id") => Some("5".to_string()),
            _ => None,
        };
        assert_eq!(render_raw("%id:()", ctx), "5:()");
        assert_eq!(render_raw("100%% %id", ctx), "100% 5");
        assert_eq!(render_raw("%m.id.x", ctx), "5.x");
    }

    #[test]
    fn percent_before_non_word_is_text() {
        assert_eq!(show("LIKE 'abc%'"), ["T\"LIKE 'abc%'\""]);
        assert_eq!(show("LIKE '%abc%'"), ["T\"LIKE '\"", "{abc}", "T\"%'\""]);
        assert_eq!(
            show("DATE_FORMAT(x, '%%Y')"),
            ["T\"DATE_FORMAT(x, '\"", "%%", "T\"Y')\""]
        );
        assert_eq!(show("%%%id"), ["%%", "{id}"]);
        assert_eq!(show("%é"), ["T\"%é\""], "only ASCII word characters");
        assert_eq!(show("%.x %-1"), ["T\"%.x %-1\""]);
    }

    #[test]
    fn defaults() {
        assert_eq!(show("%id:('')"), ["{id}", "T\":('')\""]);
        assert_eq!(show("%id:('') and b = 'x')"), ["{id:('') and b = 'x')}"]);
        assert_eq!(show(r"%k.f:('it\'s')"), [r"{k.f:('it\'s')}"]);
        assert_eq!(show("%a:((1, 2))"), ["{a:((1, 2)}", "T\")\""]);
        assert_eq!(show("%a:('x\ny')"), ["{a}", "T\":('x\\ny')\""]);
        assert_eq!(
            show("%a:('x\n')"),
            ["{a:('x\n')}"],
            "a line break may end the run"
        );
        assert_eq!(show("%a:(1"), ["{a}", "T\":(1\""]);
        assert_eq!(show("%a:('é')"), ["{a:('é')}"]);
        assert_eq!(show(r"%a:('\')"), ["{a}", "T\":('\\\\')\""]);
        let text = "%a:(-1.5)";
        let ph = whole(text).expect("placeholder");
        assert_eq!(ph.default_value(), Some(&Literal::Float(-1.5)));
    }

    #[test]
    fn t07_invalid_defaults_are_errors_with_ranges() {
        for (text, range) in [
            ("%s.x:(abc)", 6..9),
            ("%id:(abc)", 5..8),
            ("x %a:(1 2) y", 8..9),
        ] {
            let pieces = scan(text);
            let errs = errors(text, &pieces);
            assert_eq!(errs.len(), 1, "{text}");
            assert_eq!(errs[0].code, codes::BAD_LITERAL);
            assert_eq!(errs[0].range, range, "{text}");
        }
        let e = whole("%s.x:(abc)")
            .and_then(|ph| ph.error("%s.x:(abc)"))
            .expect("error");
        assert_eq!(
            e.message,
            "invalid default `abc` in placeholder `%s.x:(abc)`"
        );
        assert!(errors("%s.x:(3) %y", &scan("%s.x:(3) %y")).is_empty());
    }
}
