//! Maps byte offsets in a decoded scalar value back to byte offsets in its source file.
//!
//! Later stages parse SQL and db_field expressions inside string values. When they find an error
//! at bytes `a..b` of the decoded value, they need the exact characters in the YAML (or included)
//! file, even though escapes, quotes, folding and block indentation make the value differ from the
//! source text. The map is piecewise: each segment ties a run of value bytes to a run of source
//! bytes. A segment whose two runs have the same length maps byte for byte (plain text); any other
//! segment (an escape sequence, a CRLF line break) maps as a whole.

use crate::source::{FileId, Span};
use std::ops::Range;

/// One piece of the value and the source text it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    value_start: usize,
    value_len: usize,
    src_start: usize,
    src_len: usize,
}

impl Segment {
    fn value_end(&self) -> usize {
        self.value_start + self.value_len
    }

    fn src_end(&self) -> usize {
        self.src_start + self.src_len
    }

    /// Byte-for-byte segments can map offsets inside them; others only map their two ends.
    fn is_linear(&self) -> bool {
        self.value_len == self.src_len
    }
}

/// Offsets of a decoded scalar value in its source file. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetMap {
    file: FileId,
    segments: Vec<Segment>,
    /// Where an empty value points, and the whole token for the inexact fallback.
    token: Range<usize>,
    value_len: usize,
    exact: bool,
}

impl OffsetMap {
    /// A map that sends every offset of the value to the whole token. Used when the value could
    /// not be re-derived from the source, so no finer mapping can be trusted.
    pub fn whole(file: FileId, token: Range<usize>, value_len: usize) -> OffsetMap {
        let whole = Segment {
            value_start: 0,
            value_len,
            src_start: token.start,
            src_len: token.len(),
        };
        // An empty value has nothing to map; it points at the token start.
        let segments = if value_len == 0 {
            Vec::new()
        } else {
            vec![whole]
        };
        OffsetMap {
            file,
            segments,
            token,
            value_len,
            exact: false,
        }
    }

    /// A byte-for-byte map of a value that is exactly the source text at `src_start..` (for
    /// example the text of an included `.sql` file).
    pub fn verbatim(file: FileId, src_start: usize, value_len: usize) -> OffsetMap {
        let token = src_start..src_start + value_len;
        let segments = vec![Segment {
            value_start: 0,
            value_len,
            src_start,
            src_len: value_len,
        }];
        OffsetMap {
            file,
            segments,
            token,
            value_len,
            exact: true,
        }
    }

    /// The file the value was read from.
    pub fn file(&self) -> FileId {
        self.file
    }

    /// Whether offsets map to exact source characters (false after the fallback of
    /// [`OffsetMap::whole`]).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// The source span of the value bytes `range`. Out-of-range offsets are clamped, so this
    /// never panics; an empty range gives an empty span at the mapped position.
    pub fn span_of(&self, range: Range<usize>) -> Span {
        let start = range.start.min(self.value_len);
        let end = range.end.clamp(start, self.value_len);
        let src_start = self.map_start(start);
        let src_end = if end == start {
            src_start
        } else {
            self.map_end(end).max(src_start)
        };
        Span::new(self.file, src_start, src_end)
    }

    /// The source position where the value byte at `offset` begins.
    fn map_start(&self, offset: usize) -> usize {
        let found = self
            .segments
            .iter()
            .find(|s| s.value_start <= offset && offset < s.value_end());
        match found {
            Some(s) if s.is_linear() => s.src_start + (offset - s.value_start),
            Some(s) => s.src_start,
            // The offset is the end of the value: point just after its last character.
            None => self
                .segments
                .last()
                .map_or(self.token.start, Segment::src_end),
        }
    }

    /// The source position where the value bytes ending at `offset` end.
    fn map_end(&self, offset: usize) -> usize {
        let found = self
            .segments
            .iter()
            .find(|s| s.value_start < offset && offset <= s.value_end());
        match found {
            Some(s) if s.is_linear() => s.src_start + (offset - s.value_start),
            Some(s) => s.src_end(),
            None => self.map_start(offset),
        }
    }
}

/// Builds a decoded value together with its [`OffsetMap`], one piece at a time.
#[derive(Debug, Default)]
pub(crate) struct MapBuilder {
    value: String,
    segments: Vec<Segment>,
}

impl MapBuilder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn value(&self) -> &str {
        &self.value
    }

    /// Appends `piece` to the value, recording that it was written at `src` in the file.
    pub(crate) fn push(&mut self, piece: &str, src: Range<usize>) {
        if piece.is_empty() {
            return;
        }
        let seg = Segment {
            value_start: self.value.len(),
            value_len: piece.len(),
            src_start: src.start,
            src_len: src.len(),
        };
        self.value.push_str(piece);
        // Merging adjacent byte-for-byte pieces keeps long SQL strings at a handful of segments.
        if let Some(last) = self.segments.last_mut()
            && last.is_linear()
            && seg.is_linear()
            && last.src_end() == seg.src_start
        {
            last.value_len += seg.value_len;
            last.src_len += seg.src_len;
            return;
        }
        self.segments.push(seg);
    }

    /// Cuts the value back to `len` bytes (used for trailing-space trimming and chomping, which
    /// always cut at a piece boundary or inside a byte-for-byte piece).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len >= self.value.len() {
            return;
        }
        self.value.truncate(len);
        self.segments.retain(|s| s.value_start < len);
        if let Some(last) = self.segments.last_mut()
            && last.value_end() > len
        {
            let keep = len - last.value_start;
            if last.is_linear() {
                last.src_len = keep;
            }
            last.value_len = keep;
        }
    }

    pub(crate) fn finish(self, file: FileId, token: Range<usize>) -> (String, OffsetMap) {
        let value_len = self.value.len();
        let map = OffsetMap {
            file,
            segments: self.segments,
            token,
            value_len,
            exact: true,
        };
        (self.value, map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileId {
        FileId(0)
    }

    #[test]
    fn linear_pieces_merge_and_map_byte_for_byte() {
        let mut b = MapBuilder::new();
        b.push("ab", 10..12);
        b.push("c", 12..13);
        let (value, map) = b.finish(file(), 9..14);
        assert_eq!(value, "abc");
        assert_eq!(map.segments.len(), 1);
        assert_eq!(map.span_of(1..3), Span::new(file(), 11, 13));
        assert_eq!(map.span_of(3..3), Span::new(file(), 13, 13));
    }

    #[test]
    fn escapes_map_as_a_whole() {
        // Value `a\nb` written as `a\\nb`: the newline maps to the two-byte escape.
        let mut b = MapBuilder::new();
        b.push("a", 1..2);
        b.push("\n", 2..4);
        b.push("b", 4..5);
        let (_, map) = b.finish(file(), 0..6);
        assert_eq!(map.span_of(1..2), Span::new(file(), 2, 4));
        assert_eq!(map.span_of(0..3), Span::new(file(), 1, 5));
        assert_eq!(map.span_of(2..3), Span::new(file(), 4, 5));
    }

    #[test]
    fn out_of_range_offsets_are_clamped() {
        let map = OffsetMap::verbatim(file(), 5, 3);
        assert_eq!(map.span_of(2..100), Span::new(file(), 7, 8));
        assert_eq!(map.span_of(50..60), Span::new(file(), 8, 8));
        #[allow(clippy::reversed_empty_ranges)] // Reversed ranges must not panic either.
        let reversed = map.span_of(2..1);
        assert_eq!(reversed, Span::new(file(), 7, 7));
    }

    #[test]
    fn truncate_shrinks_the_last_piece() {
        let mut b = MapBuilder::new();
        b.push("abc  ", 0..5);
        b.push("\n", 5..7);
        b.truncate(3);
        let (value, map) = b.finish(file(), 0..7);
        assert_eq!(value, "abc");
        assert_eq!(map.span_of(0..3), Span::new(file(), 0, 3));
    }

    #[test]
    fn fallback_maps_everything_to_the_token() {
        let map = OffsetMap::whole(file(), 4..10, 3);
        assert!(!map.is_exact());
        assert_eq!(map.span_of(1..2), Span::new(file(), 4, 10));
        let empty = OffsetMap::whole(file(), 4..4, 0);
        assert_eq!(empty.span_of(0..0), Span::new(file(), 4, 4));
    }
}
