//! The spanned YAML tree and its typed views.

use super::offsets::OffsetMap;
use super::resolve::{Resolved, resolve_plain};
use crate::source::Span;
use std::ops::Range;

/// A YAML value and where it was written. Aliases are expanded into clones of their anchored
/// node, so their spans point at the anchor's text; `!include` is replaced by the included value,
/// whose spans point into the included file.
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    /// An empty value or a plain `null`/`Null`/`NULL`/`~`.
    Null,
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in file order.
    Map(Vec<(Node, Node)>),
    /// A value that could not be loaded (a failed `!include`, a recursive alias). Its error is
    /// already reported, so consumers should skip it without reporting anything more.
    Invalid,
}

/// How a scalar was written. Only plain scalars are typed (see [`super::resolve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// A `|` block scalar; also the style of the text of an included non-YAML file.
    Literal,
    Folded,
}

/// A scalar's decoded text with the map from its bytes back to the source file.
#[derive(Clone, Debug)]
pub struct Scalar {
    pub value: String,
    pub style: ScalarStyle,
    pub offsets: OffsetMap,
}

impl Scalar {
    /// The typed value: plain scalars follow YAML 1.1, every other style is a string.
    pub fn resolve(&self) -> Resolved<'_> {
        match self.style {
            ScalarStyle::Plain => resolve_plain(&self.value),
            _ => Resolved::Str(&self.value),
        }
    }

    /// The source span of the value bytes `value_range` (clamped; never panics).
    pub fn span_of(&self, value_range: Range<usize>) -> Span {
        self.offsets.span_of(value_range)
    }
}

impl PartialEq for Scalar {
    /// Scalars are equal when they mean the same value, however they were written.
    fn eq(&self, other: &Self) -> bool {
        match (self.resolve(), other.resolve()) {
            // NaN equals NaN here: equal text in two files must compare equal.
            (Resolved::Float(a), Resolved::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (a, b) => a == b,
        }
    }
}

impl Node {
    pub fn new(kind: NodeKind, span: Span) -> Node {
        Node { kind, span }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// Whether this stands for a value that failed to load (see [`NodeKind::Invalid`]).
    pub fn is_invalid(&self) -> bool {
        matches!(self.kind, NodeKind::Invalid)
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar that is a string (quoted, block, or plain text that is not a
    /// number, boolean or null).
    pub fn as_str(&self) -> Option<&str> {
        match self.as_scalar()?.resolve() {
            Resolved::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of any non-null scalar as written (`1` gives `"1"`), for values that are names
    /// in Mee even when YAML reads them as numbers.
    pub fn as_text(&self) -> Option<&str> {
        self.as_scalar().map(|s| s.value.as_str())
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.as_scalar()?.resolve() {
            Resolved::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.as_scalar()?.resolve() {
            Resolved::Int(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of the string key `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// The kind for messages such as "expected a list of items, found a string".
    pub fn describe_kind(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Invalid => "an invalid value",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
            NodeKind::Scalar(s) => match s.resolve() {
                Resolved::Null => "null",
                Resolved::Bool(_) => "a boolean",
                Resolved::Int(_) | Resolved::Float(_) => "a number",
                Resolved::Str(_) => "a string",
            },
        }
    }

    /// The typed value as JSON, the stored form of Mee configs (reference §1.7).
    ///
    /// Mapping keys become strings the way Python's `json.dumps` writes them (`1` -> `"1"`,
    /// `true` -> `"true"`); non-finite floats, which JSON cannot hold, become their YAML text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null | NodeKind::Invalid => Value::Null,
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(json_key(k), v.to_json());
                }
                Value::Object(map)
            }
            NodeKind::Scalar(s) => match s.resolve() {
                Resolved::Null => Value::Null,
                Resolved::Bool(b) => Value::Bool(b),
                Resolved::Int(n) => Value::from(n),
                Resolved::Float(x) => serde_json::Number::from_f64(x)
                    .map_or_else(|| Value::String(s.value.clone()), Value::Number),
                Resolved::Str(t) => Value::String(t.to_string()),
            },
        }
    }
}

fn json_key(key: &Node) -> String {
    match key.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

impl PartialEq for Node {
    /// Nodes are equal when they hold the same values; spans and scalar styles are ignored.
    fn eq(&self, other: &Self) -> bool {
        match (&self.kind, &other.kind) {
            (NodeKind::Null, NodeKind::Null) | (NodeKind::Invalid, NodeKind::Invalid) => true,
            (NodeKind::Scalar(a), NodeKind::Scalar(b)) => a == b,
            (NodeKind::Seq(a), NodeKind::Seq(b)) => a == b,
            (NodeKind::Map(a), NodeKind::Map(b)) => a == b,
            // A plain `null` scalar never reaches the tree (it becomes `Null`), so nothing else
            // can be equal across kinds.
            _ => false,
        }
    }
}
