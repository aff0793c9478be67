//! Re-lexes the source text of one scalar token to map its decoded value back to the source.
//!
//! saphyr-parser hands us the decoded value and the token's extent, but not where each decoded
//! character came from. We decode the token again ourselves, recording a source range for every
//! piece (see [`MapBuilder`]). The caller only trusts the result when our value equals the
//! parser's, so a corner of YAML we decode differently degrades to a coarser span, never to a wrong
//! one.

use super::node::ScalarStyle;
use super::offsets::MapBuilder;
use std::ops::Range;

/// The re-derived value of a token and the source range the node's span should cover.
#[derive(Debug)]
pub(crate) struct Relexed {
    pub(crate) builder: MapBuilder,
    pub(crate) token: Range<usize>,
}

/// Decodes the scalar written at `range` of `text` (properties such as anchors and tags already
/// skipped) and returns it only if it reproduces `expected`, the parser's value.
pub(crate) fn relex(
    text: &str,
    style: ScalarStyle,
    range: Range<usize>,
    expected: &str,
) -> Option<Relexed> {
    let range = range.start.min(text.len())..range.end.min(text.len());
    let relexed = match style {
        ScalarStyle::Plain => Some(Relexed {
            builder: plain(text, range.clone()),
            token: range,
        }),
        ScalarStyle::SingleQuoted => quoted(text, range.clone(), false).map(|b| Relexed {
            builder: b,
            token: range,
        }),
        ScalarStyle::DoubleQuoted => quoted(text, range.clone(), true).map(|b| Relexed {
            builder: b,
            token: range,
        }),
        ScalarStyle::Literal | ScalarStyle::Folded => {
            block(text, range, style == ScalarStyle::Folded, expected)
        }
    }?;
    (relexed.builder.value() == expected).then_some(relexed)
}

/// One source line: its text without the line break, and the line break itself (empty at the end
/// of the input).
#[derive(Clone, Debug)]
struct Line {
    content: Range<usize>,
    brk: Range<usize>,
}

/// The length of the line break starting at `i`, if any (`\r\n` counts as one break).
fn break_at(text: &str, i: usize) -> Option<usize> {
    match text.as_bytes().get(i)? {
        b'\n' => Some(1),
        b'\r' if text.as_bytes().get(i + 1) == Some(&b'\n') => Some(2),
        b'\r' => Some(1),
        _ => None,
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blanks(text: &str, mut i: usize, end: usize) -> usize {
    while i < end && is_blank(text.as_bytes()[i]) {
        i += 1;
    }
    i
}

fn split_lines(text: &str, range: Range<usize>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = range.start;
    let mut i = range.start;
    while i < range.end {
        if let Some(len) = break_at(text, i) {
            lines.push(Line {
                content: start..i,
                brk: i..i + len,
            });
            i += len;
            start = i;
        } else {
            i += 1;
        }
    }
    if start < range.end {
        lines.push(Line {
            content: start..range.end,
            brk: range.end..range.end,
        });
    }
    lines
}

/// Trims spaces and tabs from both ends of a byte range of `text`.
fn trim_range(text: &str, r: Range<usize>) -> Range<usize> {
    let s = skip_blanks(text, r.start, r.end);
    let mut e = r.end;
    while e > s && is_blank(text.as_bytes()[e - 1]) {
        e -= 1;
    }
    s..e
}

/// A plain scalar: lines are trimmed and folded (one break becomes a space, each further empty
/// line a newline).
fn plain(text: &str, range: Range<usize>) -> MapBuilder {
    let mut b = MapBuilder::new();
    let mut prev_brk: Option<Range<usize>> = None;
    let mut blanks: Vec<Range<usize>> = Vec::new();
    for line in split_lines(text, range) {
        let content = trim_range(text, line.content.clone());
        if content.is_empty() && prev_brk.is_some() {
            blanks.push(line.brk.clone());
            continue;
        }
        if let Some(brk) = prev_brk.take() {
            fold(&mut b, brk, &blanks);
            blanks.clear();
        }
        b.push(&text[content.clone()], content);
        prev_brk = Some(line.brk);
    }
    b
}

/// Writes the folded form of a line break followed by empty lines: a space when there are none,
/// otherwise one newline per empty line (the first break itself disappears).
fn fold(b: &mut MapBuilder, brk: Range<usize>, blanks: &[Range<usize>]) {
    if blanks.is_empty() {
        b.push(" ", brk);
    } else {
        for blank in blanks {
            b.push("\n", blank.clone());
        }
    }
}

/// A single- or double-quoted scalar, from its opening to its closing quote.
fn quoted(text: &str, range: Range<usize>, double: bool) -> Option<MapBuilder> {
    let quote = if double { '"' } else { '\'' };
    let end = range.end.checked_sub(1)?;
    if range.len() < 2
        || !text[range.clone()].starts_with(quote)
        || !text[..range.end].ends_with(quote)
    {
        return None;
    }
    let mut b = MapBuilder::new();
    // Where the current run of unescaped blanks began in the value: a line break trims it.
    let mut trail: Option<usize> = None;
    let mut i = range.start + 1;
    while i < end {
        let c = text[i..].chars().next()?;
        if !double && c == '\'' {
            // Inside single quotes the only escape is a doubled quote.
            if text.as_bytes().get(i + 1) != Some(&b'\'') {
                return None;
            }
            b.push("'", i..i + 2);
            i += 2;
            trail = None;
            continue;
        }
        if double && c == '\\' {
            if let Some(len) = break_at(text, i + 1) {
                // An escaped line break joins the lines without a space; blanks before the
                // backslash stay, blanks at the start of the next line go.
                i = skip_blanks(text, i + 1 + len, end);
                trail = None;
                continue;
            }
            let (decoded, len) = escape(&text[i + 1..end])?;
            let mut buf = [0u8; 4];
            b.push(decoded.encode_utf8(&mut buf), i..i + 1 + len);
            i += 1 + len;
            trail = None;
            continue;
        }
        if let Some(len) = break_at(text, i) {
            if let Some(t) = trail.take() {
                b.truncate(t);
            }
            let first = i..i + len;
            i = skip_blanks(text, i + len, end);
            let mut blanks = Vec::new();
            while let Some(len) = break_at(text, i) {
                blanks.push(i..i + len);
                i = skip_blanks(text, i + len, end);
            }
            fold(&mut b, first, &blanks);
            continue;
        }
        if c == ' ' || c == '\t' {
            trail.get_or_insert(b.value().len());
        } else {
            trail = None;
        }
        let len = c.len_utf8();
        b.push(&text[i..i + len], i..i + len);
        i += len;
    }
    Some(b)
}

/// Decodes the escape after a backslash; returns the character and the escape's length in bytes
/// (without the backslash).
fn escape(rest: &str) -> Option<(char, usize)> {
    let c = rest.chars().next()?;
    let simple = match c {
        '0' => '\0',
        'a' => '\x07',
        'b' => '\x08',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\x0b',
        'f' => '\x0c',
        'r' => '\r',
        'e' => '\x1b',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' | 'u' | 'U' => {
            let digits = match c {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(1..1 + digits)?;
            let code = u32::from_str_radix(hex, 16).ok()?;
            return Some((char::from_u32(code)?, 1 + digits));
        }
        _ => return None,
    };
    Some((simple, c.len_utf8()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// The header of a block scalar (`|`, `>-`, `|2+`, ...).
#[derive(Debug)]
struct Header {
    indicator: usize,
    chomp: Chomp,
    explicit_indent: bool,
    /// Where the first line after the header starts.
    content_start: usize,
}

/// Parses the header candidate at `pos`, which must be followed on its line by nothing but
/// indicators, blanks and a comment.
fn header_at(text: &str, pos: usize) -> Option<Header> {
    let bytes = text.as_bytes();
    if !matches!(bytes.get(pos), Some(b'|' | b'>')) {
        return None;
    }
    let mut chomp = Chomp::Clip;
    let mut explicit_indent = false;
    let mut i = pos + 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'-' => chomp = Chomp::Strip,
            b'+' => chomp = Chomp::Keep,
            b'1'..=b'9' => explicit_indent = true,
            _ => break,
        }
        i += 1;
    }
    i = skip_blanks(text, i, text.len());
    if bytes.get(i) == Some(&b'#') {
        while i < text.len() && break_at(text, i).is_none() {
            i += 1;
        }
    }
    let content_start = match break_at(text, i) {
        Some(len) => i + len,
        None if i == text.len() => i,
        None => return None,
    };
    Some(Header {
        indicator: pos,
        chomp,
        explicit_indent,
        content_start,
    })
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// The possible headers of the block scalar whose token starts at `start`. The parser starts the
/// token at the header when the scalar has properties or no content, and at the first content
/// line otherwise; in that case the header is on the last non-empty line before it. Content that
/// itself looks like a header makes both readings possible, so both are returned.
fn header_candidates(text: &str, start: usize) -> Vec<Header> {
    let mut found: Vec<Header> = header_at(text, start).into_iter().collect();
    let mut ls = line_start(text, start);
    while ls > 0 {
        let prev = line_start(text, ls - 1);
        let line = &text[prev..ls];
        if line.trim().is_empty() {
            ls = prev;
            continue;
        }
        found.extend(
            line.match_indices(['|', '>'])
                .find_map(|(i, _)| header_at(text, prev + i)),
        );
        break;
    }
    found
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineKind {
    Empty,
    Text,
    /// Text starting with a blank after the indentation; folding keeps its line breaks.
    MoreIndented,
}

/// A `|` or `>` block scalar. The content indentation is detected from the first non-empty
/// line; with an explicit indentation indicator we also try smaller ones, keeping the first
/// that reproduces the parser's value.
fn block(text: &str, range: Range<usize>, folded: bool, expected: &str) -> Option<Relexed> {
    header_candidates(text, range.start)
        .into_iter()
        .find_map(|header| block_with_header(text, &header, range.end, folded, expected))
}

fn block_with_header(
    text: &str,
    header: &Header,
    end: usize,
    folded: bool,
    expected: &str,
) -> Option<Relexed> {
    let content = header.content_start.min(end)..end;
    let lines = split_lines(text, content);
    let detected = lines
        .iter()
        .map(|l| &text[l.content.clone()])
        .find(|s| !s.trim().is_empty())
        .map_or(0, |s| s.len() - s.trim_start_matches(' ').len());
    let mut candidates = vec![detected];
    if header.explicit_indent {
        candidates.extend((0..detected).rev());
    }
    // The node's span runs from the indicator to the last content character.
    let mut token_end = end;
    while token_end > header.indicator && text.as_bytes()[token_end - 1].is_ascii_whitespace() {
        token_end -= 1;
    }
    let token = header.indicator..token_end;
    candidates.into_iter().find_map(|indent| {
        let builder = block_value(text, &lines, indent, folded, header.chomp)?;
        (builder.value() == expected).then(|| Relexed {
            builder,
            token: token.clone(),
        })
    })
}

fn block_value(
    text: &str,
    lines: &[Line],
    indent: usize,
    folded: bool,
    chomp: Chomp,
) -> Option<MapBuilder> {
    let mut classified = Vec::with_capacity(lines.len());
    for line in lines {
        let raw = &text[line.content.clone()];
        let lead = raw.len() - raw.trim_start_matches(' ').len();
        let kind_and_text = if lead >= indent && raw.len() > indent {
            let body = line.content.start + indent..line.content.end;
            let more = is_blank(text.as_bytes()[body.start]);
            (
                if more {
                    LineKind::MoreIndented
                } else {
                    LineKind::Text
                },
                body,
            )
        } else if raw.bytes().all(is_blank) {
            (LineKind::Empty, line.content.end..line.content.end)
        } else {
            // A less indented line cannot be inside the token; our reading is off.
            return None;
        };
        classified.push((kind_and_text.0, kind_and_text.1, line.brk.clone()));
    }
    let mut b = MapBuilder::new();
    if folded {
        folded_value(text, &mut b, &classified);
    } else {
        for (_, body, brk) in &classified {
            b.push(&text[body.clone()], body.clone());
            // The last line of a file may have no line break to keep.
            if !brk.is_empty() {
                b.push("\n", brk.clone());
            }
        }
    }
    let content_end = b.value().trim_end_matches('\n').len();
    match chomp {
        Chomp::Strip => b.truncate(content_end),
        Chomp::Clip if content_end == 0 => b.truncate(0),
        Chomp::Clip => b.truncate(content_end + 1),
        Chomp::Keep => {}
    }
    Some(b)
}

/// Folding in `>` scalars: a break between two text lines becomes a space, empty lines become
/// newlines, and breaks around more-indented lines are kept.
fn folded_value(text: &str, b: &mut MapBuilder, lines: &[(LineKind, Range<usize>, Range<usize>)]) {
    let mut prev: Option<(LineKind, Range<usize>)> = None;
    let mut blanks: Vec<Range<usize>> = Vec::new();
    for (kind, body, brk) in lines {
        if *kind == LineKind::Empty {
            if prev.is_some() {
                blanks.push(brk.clone());
            } else {
                // Empty lines before the first text line are kept as they are.
                b.push("\n", brk.clone());
            }
            continue;
        }
        if let Some((prev_kind, prev_brk)) = prev.take() {
            if prev_kind == LineKind::Text && *kind == LineKind::Text {
                fold(b, prev_brk, &blanks);
            } else {
                b.push("\n", prev_brk);
                for blank in &blanks {
                    b.push("\n", blank.clone());
                }
            }
            blanks.clear();
        }
        b.push(&text[body.clone()], body.clone());
        prev = Some((*kind, brk.clone()));
    }
    if let Some((_, brk)) = prev
        && !brk.is_empty()
    {
        b.push("\n", brk);
        for blank in &blanks {
            b.push("\n", blank.clone());
        }
    }
}
