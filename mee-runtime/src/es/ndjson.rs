//! Bulk operations and the NDJSON body they become.
//!
//! Bodies are written straight into a byte buffer: the action line is assembled by hand (the only
//! strings in it are the index, the id and the routing, escaped here), and the document source is
//! copied as the caller serialised it. No intermediate JSON value is built on the hot path.

use bytes::Bytes;
use serde::Deserialize;
use std::sync::Arc;

/// How Elasticsearch compares the version of a write with the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionType {
    /// The write wins only with a strictly greater version: replaying the same write is a 409.
    #[default]
    External,
    /// The write wins with a greater or equal version: replays overwrite with identical data.
    ExternalGte,
}

impl VersionType {
    fn as_str(self) -> &'static str {
        match self {
            VersionType::External => "external",
            VersionType::ExternalGte => "external_gte",
        }
    }
}

/// What to do with the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    /// Create or replace the document with `source`, serialised JSON. Raw newlines in it (only
    /// possible as whitespace between tokens in valid JSON) are turned into spaces, because NDJSON
    /// uses newlines as separators.
    Index { source: Bytes },
    /// Delete the document; with a version this leaves a tombstone so that an older write that
    /// arrives later is rejected.
    Delete,
}

/// One write in a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOp {
    /// The concrete index (or a write alias). Shared, because a whole load targets one index.
    pub index: Arc<str>,
    pub id: String,
    pub routing: Option<String>,
    /// The external version; `None` writes unversioned (last write wins).
    pub version: Option<u64>,
    pub version_type: VersionType,
    pub action: BulkAction,
}

impl BulkOp {
    /// An unversioned index operation; chain [`BulkOp::version`] and [`BulkOp::routing`] as needed.
    pub fn index(index: Arc<str>, id: impl Into<String>, source: impl Into<Bytes>) -> Self {
        BulkOp {
            index,
            id: id.into(),
            routing: None,
            version: None,
            version_type: VersionType::External,
            action: BulkAction::Index {
                source: source.into(),
            },
        }
    }

    /// An unversioned delete operation.
    pub fn delete(index: Arc<str>, id: impl Into<String>) -> Self {
        BulkOp {
            index,
            id: id.into(),
            routing: None,
            version: None,
            version_type: VersionType::External,
            action: BulkAction::Delete,
        }
    }

    pub fn version(mut self, version: u64, version_type: VersionType) -> Self {
        self.version = Some(version);
        self.version_type = version_type;
        self
    }

    pub fn routing(mut self, routing: impl Into<String>) -> Self {
        self.routing = Some(routing.into());
        self
    }

    pub fn is_delete(&self) -> bool {
        matches!(self.action, BulkAction::Delete)
    }

    /// An upper estimate of the bytes this operation adds to a body, used to cut batches before
    /// they exceed the byte limit rather than after.
    pub fn encoded_len_hint(&self) -> usize {
        let source = match &self.action {
            BulkAction::Index { source } => source.len() + 1,
            BulkAction::Delete => 0,
        };
        96 + self.index.len()
            + self.id.len()
            + self.routing.as_ref().map_or(0, |r| r.len() + 12)
            + source
    }
}

/// Appends the lines of `op` to `buf`.
pub(crate) fn write_op(buf: &mut Vec<u8>, op: &BulkOp) {
    let verb: &[u8] = match op.action {
        BulkAction::Index { .. } => b"{\"index\":{\"_index\":",
        BulkAction::Delete => b"{\"delete\":{\"_index\":",
    };
    buf.extend_from_slice(verb);
    write_json_str(buf, &op.index);
    buf.extend_from_slice(b",\"_id\":");
    write_json_str(buf, &op.id);
    if let Some(routing) = &op.routing {
        buf.extend_from_slice(b",\"routing\":");
        write_json_str(buf, routing);
    }
    if let Some(version) = op.version {
        buf.extend_from_slice(b",\"version\":");
        write_u64(buf, version);
        buf.extend_from_slice(b",\"version_type\":\"");
        buf.extend_from_slice(op.version_type.as_str().as_bytes());
        buf.push(b'"');
    }
    buf.extend_from_slice(b"}}\n");
    if let BulkAction::Index { source } = &op.action {
        let start = buf.len();
        buf.extend_from_slice(source);
        // Compact serialisers never emit raw newlines, so the scan almost always finds nothing and
        // the fix-up loop below never runs.
        if source.contains(&b'\n') {
            for b in &mut buf[start..] {
                if *b == b'\n' || *b == b'\r' {
                    *b = b' ';
                }
            }
        }
        buf.push(b'\n');
    }
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_str(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push(b'"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[run_start..i]);
        if escape.is_empty() {
            buf.extend_from_slice(b"\\u00");
            buf.push(HEX[(b >> 4) as usize]);
            buf.push(HEX[(b & 0xf) as usize]);
        } else {
            buf.extend_from_slice(escape);
        }
        run_start = i + 1;
    }
    buf.extend_from_slice(&bytes[run_start..]);
    buf.push(b'"');
}

fn write_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// The identity of an operation, read back from its action line. Only failed operations need it,
/// so the writer keeps byte offsets instead of a copy of every id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpIdentity {
    pub index: String,
    pub id: String,
    pub routing: Option<String>,
    pub version: Option<u64>,
    pub is_delete: bool,
}

#[derive(Deserialize)]
struct ActionMeta {
    #[serde(rename = "_index")]
    index: String,
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    routing: Option<String>,
    #[serde(default)]
    version: Option<u64>,
}

#[derive(Deserialize)]
struct ActionLine {
    #[serde(default)]
    index: Option<ActionMeta>,
    #[serde(default)]
    delete: Option<ActionMeta>,
}

/// Parses the action line at the start of `op_bytes` (the op's lines as written by [`write_op`]).
pub(crate) fn op_identity(op_bytes: &[u8]) -> OpIdentity {
    let line_end = op_bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(op_bytes.len());
    match serde_json::from_slice::<ActionLine>(&op_bytes[..line_end]) {
        Ok(ActionLine { index: Some(m), .. }) => OpIdentity {
            index: m.index,
            id: m.id,
            routing: m.routing,
            version: m.version,
            is_delete: false,
        },
        Ok(ActionLine {
            delete: Some(m), ..
        }) => OpIdentity {
            index: m.index,
            id: m.id,
            routing: m.routing,
            version: m.version,
            is_delete: true,
        },
        // The line was written by `write_op`, so this is unreachable in practice; an identity that
        // shows the raw text still lets a human find the document.
        _ => OpIdentity {
            index: String::new(),
            id: String::from_utf8_lossy(&op_bytes[..line_end]).into_owned(),
            routing: None,
            version: None,
            is_delete: false,
        },
    }
}

/// Whether the op whose lines start `op_bytes` is a delete, without parsing JSON.
pub(crate) fn op_is_delete(op_bytes: &[u8]) -> bool {
    op_bytes.starts_with(b"{\"delete\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(op: &BulkOp) -> String {
        let mut buf = Vec::new();
        write_op(&mut buf, op);
        String::from_utf8(buf).expect("utf8")
    }

    #[test]
    fn index_line_with_version_and_routing() {
        let op = BulkOp::index(Arc::from("orders_1"), "42", &b"{\"a\":1}"[..])
            .routing("r\"1")
            .version(1_700_000_000_123, VersionType::External);
        assert_eq!(
            body(&op),
            "{\"index\":{\"_index\":\"orders_1\",\"_id\":\"42\",\"routing\":\"r\\\"1\",\
             \"version\":1700000000123,\"version_type\":\"external\"}}\n{\"a\":1}\n"
        );
    }

    #[test]
    fn delete_has_no_source_line() {
        let op = BulkOp::delete(Arc::from("i"), "7").version(0, VersionType::ExternalGte);
        assert_eq!(
            body(&op),
            "{\"delete\":{\"_index\":\"i\",\"_id\":\"7\",\"version\":0,\"version_type\":\"external_gte\"}}\n"
        );
    }

    #[test]
    fn ids_are_escaped_and_round_trip() {
        let id = "a\"b\\c\nd\te\u{1}f/é";
        let op =
            BulkOp::index(Arc::from("i"), id, &b"{}"[..]).version(u64::MAX, VersionType::External);
        let text = body(&op);
        let first_line = text.lines().next().expect("line");
        let v: serde_json::Value = serde_json::from_str(first_line).expect("valid JSON");
        assert_eq!(v["index"]["_id"], id);
        assert_eq!(v["index"]["version"], u64::MAX);
        assert!(first_line.contains("\\u0001"));
        let ident = op_identity(text.as_bytes());
        assert_eq!(ident.id, id);
        assert_eq!(ident.version, Some(u64::MAX));
        assert!(!ident.is_delete);
    }

    #[test]
    fn newlines_in_source_become_spaces() {
        let op = BulkOp::index(Arc::from("i"), "1", &b"{\n  \"a\": \"x\\ny\"\r\n}"[..]);
        let text = body(&op);
        assert_eq!(text.matches('\n').count(), 2);
        let source = text.lines().nth(1).expect("source line");
        let v: serde_json::Value = serde_json::from_str(source).expect("still valid JSON");
        assert_eq!(v["a"], "x\ny");
    }

    #[test]
    fn identity_of_a_delete_with_routing() {
        let op = BulkOp::delete(Arc::from("i"), "9").routing("r");
        let text = body(&op);
        assert!(op_is_delete(text.as_bytes()));
        let ident = op_identity(text.as_bytes());
        assert_eq!(
            ident,
            OpIdentity {
                index: "i".into(),
                id: "9".into(),
                routing: Some("r".into()),
                version: None,
                is_delete: true
            }
        );
    }

    #[test]
    fn length_hint_is_an_upper_bound() {
        for op in [
            BulkOp::index(Arc::from("orders_2021.09"), "123456", vec![b'x'; 1000])
                .routing("abc")
                .version(u64::MAX, VersionType::ExternalGte),
            BulkOp::delete(Arc::from("i"), "1"),
        ] {
            assert!(body(&op).len() <= op.encoded_len_hint());
        }
    }
}
