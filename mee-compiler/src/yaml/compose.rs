//! Builds the [`Node`] tree of one file from saphyr-parser's event stream.
//!
//! The composer owns everything YAML-specific that the parser leaves to its users: byte spans
//! (saphyr counts characters), anchors and aliases, the merge key `<<`, duplicate keys and tags.
//! `!include` is delegated to a [`Host`], which loads other files and reports diagnostics.

use super::node::{Node, NodeKind, Scalar, ScalarStyle};
use super::offsets::OffsetMap;
use super::relex::relex;
use super::resolve::{Resolved, resolve_plain};
use crate::diag::{Diagnostic, codes};
use crate::source::{FileId, Span};
use saphyr_parser::{Event, Parser, ScanError, Tag};
use std::borrow::Cow;
use std::collections::HashMap;

/// What the composer needs from the loading session.
pub(crate) trait Host {
    fn report(&mut self, diagnostic: Diagnostic);
    /// Resolves `!include <path>` written in file `from`; `site` covers the tag and the path.
    fn include(&mut self, from: FileId, path: &str, site: Span) -> Option<Node>;
}

/// The syntax a file is read with. JSON goes through the YAML parser too (JSON is YAML flow
/// syntax), which gives real spans, but YAML-only features are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    Yaml,
    Json,
}

/// Composes the single document of `text`. A syntax error ends composition and is returned
/// rather than reported, so that the caller can choose a fallback; every other problem is
/// reported through `host` and composition goes on.
pub(crate) fn compose(
    file: FileId,
    text: &str,
    flavor: Flavor,
    host: &mut dyn Host,
) -> Result<Node, Box<Diagnostic>> {
    let mut composer = Composer {
        file,
        text,
        flavor,
        chars: CharOffsets::new(text),
        host,
        anchors: HashMap::new(),
        stack: Vec::new(),
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| Box::new(composer.syntax_error(&e)))?;
        if composer.event(event, span)? {
            break;
        }
    }
    Ok(composer
        .root
        .unwrap_or_else(|| Node::new(NodeKind::Null, Span::new(file, 0, 0))))
}

/// Converts saphyr's character indices into byte offsets.
struct CharOffsets {
    /// The byte offset of every character, plus the text length; `None` for ASCII text.
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let bytes = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect()
        });
        CharOffsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.bytes {
            None => char_index.min(self.len),
            Some(b) => b.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

/// A collection being composed.
struct Frame {
    is_map: bool,
    anchor: usize,
    start: usize,
    flow: bool,
    children: Vec<Node>,
    /// Where the last child ends in *this* file (an included child's span is elsewhere).
    local_end: usize,
}

struct Composer<'a, 'h> {
    file: FileId,
    text: &'a str,
    flavor: Flavor,
    chars: CharOffsets,
    host: &'h mut dyn Host,
    anchors: HashMap<usize, Node>,
    stack: Vec<Frame>,
    root: Option<Node>,
    documents: usize,
}

impl Composer<'_, '_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// A span for a single position, widened to the character there so it renders visibly.
    fn point(&self, at: usize) -> Span {
        let width = self
            .text
            .get(at..)
            .and_then(|s| s.chars().next())
            .map_or(0, char::len_utf8);
        self.span(at, at + width)
    }

    /// Handles one event; returns `Ok(true)` when composition should stop.
    fn event(
        &mut self,
        event: Event<'_>,
        span: saphyr_parser::Span,
    ) -> Result<bool, Box<Diagnostic>> {
        let start = self.chars.byte(span.start.index());
        let end = self.chars.byte(span.end.index());
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    let d = Diagnostic::error(
                        codes::YAML_SYNTAX,
                        "expected a single YAML document",
                    )
                    .primary(self.span(start, end), "a second document starts here")
                    .help("remove the `---` line, or move the second document into its own file");
                    return Err(Box::new(d));
                }
            }
            Event::StreamEnd => return Ok(true),
            Event::Scalar(value, style, anchor, tag) => {
                let node = self.scalar(value, style, anchor, tag, start, end);
                let local_end = if node.span.file == self.file {
                    node.span.end as usize
                } else {
                    end
                };
                self.register(anchor, &node);
                self.add(node, local_end);
            }
            Event::Alias(id) => {
                let node = self.alias(id, start, end);
                self.add(node, end);
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(false, anchor, tag.as_deref(), start, end)
            }
            Event::MappingStart(anchor, tag) => self.open(true, anchor, tag.as_deref(), start, end),
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self
                    .stack
                    .pop()
                    .expect("invariant: the parser balances collection events");
                let local_end = if frame.flow { end } else { frame.local_end };
                let span = self.span(frame.start, local_end.max(frame.start));
                let kind = if frame.is_map {
                    NodeKind::Map(self.finish_map(frame.children))
                } else {
                    NodeKind::Seq(frame.children)
                };
                let node = Node::new(kind, span);
                self.register(frame.anchor, &node);
                self.add(node, span.end as usize);
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
        Ok(false)
    }
}

impl Composer<'_, '_> {
    fn open(&mut self, is_map: bool, anchor: usize, tag: Option<&Tag>, start: usize, end: usize) {
        let has_properties = anchor > 0 || tag.is_some();
        let content = if has_properties {
            skip_properties(self.text, start, end)
        } else {
            start
        };
        if let Some(tag) = tag {
            let what = if is_map { "a mapping" } else { "a list" };
            self.bad_tag(tag, start, content, what);
        }
        let flow = matches!(self.text.as_bytes().get(content), Some(b'[' | b'{'));
        self.stack.push(Frame {
            is_map,
            anchor,
            start: content,
            flow,
            children: Vec::new(),
            local_end: end,
        });
    }

    /// Adds a finished node to the collection being composed, or makes it the root.
    fn add(&mut self, node: Node, local_end: usize) {
        match self.stack.last_mut() {
            Some(frame) => {
                frame.local_end = frame.local_end.max(local_end);
                frame.children.push(node);
            }
            None => self.root = Some(node),
        }
    }

    fn register(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    /// An alias is a clone of its anchored node, spans included: the text lives at the anchor.
    fn alias(&mut self, id: usize, start: usize, end: usize) -> Node {
        if let Some(node) = self.anchors.get(&id) {
            return node.clone();
        }
        // The parser rejects unknown names itself, so an anchor without a finished node is one
        // whose node is still open: the alias sits inside the node it refers to.
        let name = self.text.get(start..end).unwrap_or("*");
        let d = Diagnostic::error(
            codes::UNDEFINED_ALIAS,
            format!("alias `{name}` refers to a node that contains it"),
        )
        .primary(self.span(start, end), "recursive alias")
        .help("a value cannot include itself; copy the part you need instead");
        self.host.report(d);
        Node::new(NodeKind::Invalid, self.span(start, end))
    }

    fn scalar(
        &mut self,
        value: Cow<'_, str>,
        style: saphyr_parser::ScalarStyle,
        anchor: usize,
        tag: Option<Cow<'_, Tag>>,
        start: usize,
        end: usize,
    ) -> Node {
        let has_properties = anchor > 0 || tag.is_some();
        let content = if has_properties {
            skip_properties(self.text, start, end)
        } else {
            start
        };
        if let Some(tag) = tag.as_deref() {
            if is_include(tag) && self.flavor == Flavor::Yaml {
                let site = self.span(start, end);
                return self
                    .host
                    .include(self.file, &value, site)
                    .unwrap_or_else(|| Node::new(NodeKind::Invalid, site));
            }
            self.bad_tag(tag, start, content, "a scalar");
        }
        let style = match style {
            saphyr_parser::ScalarStyle::Plain => ScalarStyle::Plain,
            saphyr_parser::ScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
            saphyr_parser::ScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
            saphyr_parser::ScalarStyle::Literal => ScalarStyle::Literal,
            saphyr_parser::ScalarStyle::Folded => ScalarStyle::Folded,
        };
        let (value, offsets, token) = match relex(self.text, style, content..end, &value) {
            Some(r) => {
                let token = r.token;
                let (value, offsets) = r.builder.finish(self.file, token.clone());
                (value, offsets, token)
            }
            None => {
                let offsets = OffsetMap::whole(self.file, content..end, value.len());
                (value.into_owned(), offsets, content..end)
            }
        };
        let span = self.span(token.start, token.end);
        if style == ScalarStyle::Plain && resolve_plain(&value) == Resolved::Null {
            return Node::new(NodeKind::Null, span);
        }
        Node::new(
            NodeKind::Scalar(Scalar {
                value,
                style,
                offsets,
            }),
            span,
        )
    }

    /// Reports a tag mee does not understand; the node is kept as if untagged.
    fn bad_tag(&mut self, tag: &Tag, start: usize, content: usize, what: &str) {
        let tag_text = tag_source(self.text, start, content);
        let span = match self.text.get(start..content).and_then(|s| s.find(tag_text)) {
            Some(i) => self.span(start + i, start + i + tag_text.len()),
            None => self.point(start),
        };
        let d = if self.flavor == Flavor::Json {
            Diagnostic::error(codes::UNKNOWN_TAG, format!("tag `{tag_text}` in a JSON file"))
                .primary(span, "JSON has no tags")
                .help("`!include` and other tags work only in YAML files; move this value into a `.yml` file")
        } else if is_include(tag) {
            Diagnostic::error(
                codes::WRONG_KIND,
                format!("`!include` needs a file path, found {what}"),
            )
            .primary(span, "tag on a non-scalar")
            .help("write the path right after the tag: `!include sub/items.yml`")
        } else {
            Diagnostic::error(codes::UNKNOWN_TAG, format!("unknown tag `{tag_text}`"))
                .primary(span, "unknown tag")
                .help("the only tag mee understands is `!include <relative path>`; remove this one")
        };
        self.host.report(d);
    }

    /// Pairs up keys and values, applies merge keys (`<<`) and reports duplicate keys.
    fn finish_map(&mut self, children: Vec<Node>) -> Vec<(Node, Node)> {
        let mut explicit: Vec<(Node, Node)> = Vec::with_capacity(children.len() / 2);
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut merges: Vec<Node> = Vec::new();
        let mut children = children.into_iter();
        while let (Some(key), Some(value)) = (children.next(), children.next()) {
            if is_merge_key(&key) {
                merges.push(value);
                continue;
            }
            let identity = key.to_json().to_string();
            if let Some(&i) = index.get(&identity) {
                self.duplicate_key(&key, &explicit[i].0);
                // Like PyYAML, the later value wins (the error stops the build anyway).
                explicit[i].1 = value;
                continue;
            }
            index.insert(identity, explicit.len());
            explicit.push((key, value));
        }
        if merges.is_empty() {
            return explicit;
        }
        // Merged entries never override explicit ones, and earlier merge sources win over later
        // ones, as in YAML 1.1's merge key specification.
        let mut merged: Vec<(Node, Node)> = Vec::new();
        for source in merges {
            for entries in self.merge_sources(source) {
                for (key, value) in entries {
                    let identity = key.to_json().to_string();
                    if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(identity) {
                        slot.insert(usize::MAX);
                        merged.push((key, value));
                    }
                }
            }
        }
        merged.extend(explicit);
        merged
    }

    fn merge_sources(&mut self, source: Node) -> Vec<Vec<(Node, Node)>> {
        let span = source.span;
        let found = source.describe_kind();
        match source.kind {
            NodeKind::Map(entries) => vec![entries],
            NodeKind::Seq(items) if items.iter().all(|n| n.as_map().is_some()) => items
                .into_iter()
                .filter_map(|n| match n.kind {
                    NodeKind::Map(entries) => Some(entries),
                    _ => None,
                })
                .collect(),
            // Its error is already reported.
            NodeKind::Invalid => Vec::new(),
            _ => {
                let d = Diagnostic::error(
                    codes::WRONG_KIND,
                    format!(
                        "the merge key `<<` needs a mapping or a list of mappings, found {found}"
                    ),
                )
                .primary(span, "cannot be merged")
                .help("merge an anchored mapping: `<<: *defaults`");
                self.host.report(d);
                Vec::new()
            }
        }
    }

    fn duplicate_key(&mut self, second: &Node, first: &Node) {
        let name = second
            .as_text()
            .map_or_else(|| second.to_json().to_string(), str::to_string);
        let d = Diagnostic::error(codes::DUPLICATE_YAML_KEY, format!("duplicate key `{name}`"))
            .primary(second.span, "defined again here")
            .secondary(first.span, "first defined here")
            .help("remove one of the two entries; YAML would silently keep only the last one");
        self.host.report(d);
    }

    fn syntax_error(&self, e: &ScanError) -> Diagnostic {
        let at = self.chars.byte(e.marker().index());
        let info = e.info();
        if info.contains("unknown anchor") {
            let name: String = self.text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
                .collect();
            let bare = name.trim_start_matches('*');
            return Diagnostic::error(codes::UNDEFINED_ALIAS, format!("undefined alias `{name}`"))
                .primary(self.span(at, at + name.len()), format!("no anchor `&{bare}` before this point"))
                .help(format!(
                    "define `&{bare}` earlier in the same file; anchors do not reach across `!include`"
                ));
        }
        let (message, context) = clean_scan_message(info);
        let (code, what) = match self.flavor {
            Flavor::Yaml => (codes::YAML_SYNTAX, "YAML"),
            Flavor::Json => (codes::JSON_SYNTAX, "JSON"),
        };
        let mut d = Diagnostic::error(code, format!("invalid {what}: {message}"))
            .primary(self.point(at), "");
        if let Some(context) = context {
            d = d.note(context);
        }
        d
    }
}

/// saphyr messages read "while parsing a block mapping, did not find expected key"; we lead with
/// the problem and keep the context as a note.
fn clean_scan_message(info: &str) -> (String, Option<String>) {
    let info = info.trim().trim_end_matches('.');
    match info.split_once(", ") {
        Some((context, problem)) if context.starts_with("while ") => {
            (problem.to_string(), Some(context.to_string()))
        }
        _ => (info.to_string(), None),
    }
}

fn is_include(tag: &Tag) -> bool {
    tag.handle == "!" && tag.suffix == "include"
}

fn is_merge_key(key: &Node) -> bool {
    key.as_scalar()
        .is_some_and(|s| s.style == ScalarStyle::Plain && s.value == "<<")
}

/// The tag as written between `start` and `content` (the properties of a node).
fn tag_source(text: &str, start: usize, content: usize) -> &str {
    let props = text.get(start..content).unwrap_or("");
    props
        .split_whitespace()
        .find(|p| p.starts_with('!'))
        .unwrap_or(props.trim())
}

/// Skips a node's properties (`&anchor`, `!tag`) and the blanks, line breaks and comments after
/// them, returning where the node's own content starts.
fn skip_properties(text: &str, mut i: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    while i < end {
        match bytes[i] {
            b'&' | b'!' => {
                while i < end && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                while i < end && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    i
}
