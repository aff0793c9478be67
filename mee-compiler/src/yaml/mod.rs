//! Spanned YAML: files -> a node tree where every value keeps its file, line and column.
//!
//! Handler files are read like Mee read them (PyYAML safe loader plus `!include`, reference
//! §1.1): anchors and aliases are expanded, the merge key `<<` is applied, plain scalars are typed
//! YAML 1.1-style, and `!include <path>` is replaced by the included file's value. Unlike Mee, we
//! keep where everything was written: every [`Node`] has a [`Span`](crate::source::Span), and every
//! string scalar maps each byte of its decoded value back to the source file
//! ([`Scalar::span_of`]), so that errors found later inside SQL or expressions point at the exact
//! characters, even through escapes, folding, block indentation and includes.
//!
//! ```
//! use mee_compiler::diag::Diagnostics;
//! use mee_compiler::source::{MemLoader, SourceMap};
//! use std::path::Path;
//!
//! let loader = MemLoader::new()
//!     .with("h/main.yml", "idx:\n  doc:\n    - statement: !include q.sql\n")
//!     .with("h/q.sql", "select 1\n");
//! let (mut map, mut diags) = (SourceMap::new(), Diagnostics::new());
//! let root = mee_compiler::yaml::load_file(&loader, Path::new("h/main.yml"), &mut map, &mut diags)
//!     .expect("loads");
//! let statement = root.get("idx").and_then(|t| t.get("doc")).and_then(|l| l.as_seq()).expect("list")[0]
//!     .get("statement")
//!     .and_then(|s| s.as_scalar())
//!     .expect("a string");
//! assert_eq!(statement.value, "select 1\n");
//! assert_eq!(map.location(statement.span_of(7..8)), "h/q.sql:1:8");
//! assert!(diags.finish().is_empty());
//! ```

mod compose;
mod include;
mod json;
mod node;
mod offsets;
mod relex;
mod resolve;

#[cfg(test)]
mod tests;

pub use node::{Node, NodeKind, Scalar, ScalarStyle};
pub use offsets::OffsetMap;
pub use resolve::{Resolved, resolve_bool, resolve_plain};

use crate::diag::Diagnostics;
use crate::source::{FileLoader, SourceMap};
use include::{FileKind, Session};
use std::path::Path;

/// Loads the handler file at `path` with everything it includes. Every file read is added to
/// `map`; problems go to `diags`. Returns `None` when nothing usable could be read (unreadable
/// file, syntax error); otherwise a tree that may still have reported errors in it.
///
/// A `.json` path is read as JSON; any other path as YAML.
pub fn load_file(
    loader: &dyn FileLoader,
    path: &Path,
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Option<Node> {
    Session::new(loader, map, diags).load(path, FileKind::of_root(path), None)
}

/// Like [`load_file`] for text that is already in memory (tests, editors). `path` names the
/// text in diagnostics and is the base for its `!include`s, which are read through `loader`.
pub fn load_str(
    loader: &dyn FileLoader,
    path: &Path,
    text: &str,
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Option<Node> {
    let file = map.add(path, text.to_string());
    Session::new(loader, map, diags).compose_file(file, path, FileKind::of_root(path))
}
