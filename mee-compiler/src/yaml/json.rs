//! Included `.json` files.
//!
//! Mee parsed them with Python's `json` module, so they must be strict JSON: serde_json checks
//! that first and gives JSON-worded errors. The tree itself comes from the YAML composer (JSON is
//! YAML flow syntax), which yields exact spans. Should the YAML parser ever refuse text that is
//! valid JSON, the serde_json value is used instead, with every span on the whole file.

use super::compose::{Flavor, Host, compose};
use super::node::{Node, NodeKind, Scalar, ScalarStyle};
use super::offsets::OffsetMap;
use crate::diag::{Diagnostic, codes};
use crate::source::{FileId, Span};

pub(crate) fn compose_json(file: FileId, text: &str, host: &mut dyn Host) -> Option<Node> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            host.report(json_error(file, text, &e));
            return None;
        }
    };
    match compose(file, text, Flavor::Json, host) {
        Ok(node) => Some(node),
        Err(_) => Some(from_value(&value, Span::new(file, 0, text.len()))),
    }
}

fn json_error(file: FileId, text: &str, e: &serde_json::Error) -> Diagnostic {
    let at = byte_of_line_col(text, e.line(), e.column());
    let message = e.to_string();
    // serde_json appends " at line L column C"; the label carries the position instead.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    let width = text
        .get(at..)
        .and_then(|s| s.chars().next())
        .map_or(0, char::len_utf8);
    Diagnostic::error(codes::JSON_SYNTAX, format!("invalid JSON: {message}"))
        .primary(Span::new(file, at, at + width), "")
        .help("included `.json` files must be strict JSON (no comments, no trailing commas)")
}

/// serde_json reports 1-based lines and 1-based columns counted in bytes (0 before the first).
fn byte_of_line_col(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    let line_len = text[line_start..]
        .find('\n')
        .unwrap_or(text.len() - line_start);
    let mut at = line_start + column.saturating_sub(1).min(line_len);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A node tree for `value` in which every span is `span`.
fn from_value(value: &serde_json::Value, span: Span) -> Node {
    use serde_json::Value;
    let scalar = |text: String, style| {
        let offsets = OffsetMap::whole(
            span.file,
            span.start as usize..span.end as usize,
            text.len(),
        );
        Node::new(
            NodeKind::Scalar(Scalar {
                value: text,
                style,
                offsets,
            }),
            span,
        )
    };
    match value {
        Value::Null => Node::new(NodeKind::Null, span),
        Value::Bool(b) => scalar(b.to_string(), ScalarStyle::Plain),
        Value::Number(n) => scalar(n.to_string(), ScalarStyle::Plain),
        Value::String(s) => scalar(s.clone(), ScalarStyle::DoubleQuoted),
        Value::Array(items) => Node::new(
            NodeKind::Seq(items.iter().map(|v| from_value(v, span)).collect()),
            span,
        ),
        Value::Object(map) => {
            let entries = map
                .iter()
                .map(|(k, v)| {
                    (
                        scalar(k.clone(), ScalarStyle::DoubleQuoted),
                        from_value(v, span),
                    )
                })
                .collect();
            Node::new(NodeKind::Map(entries), span)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_positions_become_byte_offsets() {
        let text = "{\n  \"a\": é,\n}";
        assert_eq!(byte_of_line_col(text, 2, 8), 9);
        assert_eq!(byte_of_line_col(text, 1, 0), 0);
        assert_eq!(byte_of_line_col(text, 9, 9), text.len());
    }

    #[test]
    fn fallback_tree_keeps_values() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"a": [1, "x", null, true]}"#).expect("valid JSON");
        let node = from_value(&value, Span::new(FileId(0), 0, 10));
        assert_eq!(node.to_json(), value);
    }
}
