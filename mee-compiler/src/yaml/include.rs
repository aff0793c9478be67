//! One loading session: reads files through a [`FileLoader`], adds them to the [`SourceMap`] and
//! resolves `!include` (reference §1.1).
//!
//! An include path is relative to the directory of the file that contains the tag. Its extension
//! decides how it is read: `.yml`/`.yaml` are composed as YAML (with includes of their own),
//! `.json` as strict JSON, anything else becomes one string holding the file's full text.

use super::compose::{Flavor, Host, compose};
use super::json::compose_json;
use super::node::{Node, NodeKind, Scalar, ScalarStyle};
use super::offsets::OffsetMap;
use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::source::{FileId, FileLoader, SourceMap, Span, normalize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// How a file's text becomes a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Yaml,
    Json,
    Text,
}

impl FileKind {
    /// The kind of an included file, by extension (case-insensitive).
    pub(crate) fn of_include(path: &Path) -> FileKind {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("yml" | "yaml") => FileKind::Yaml,
            Some("json") => FileKind::Json,
            _ => FileKind::Text,
        }
    }

    /// The kind of a top-level handler file: YAML unless it is JSON.
    pub(crate) fn of_root(path: &Path) -> FileKind {
        match FileKind::of_include(path) {
            FileKind::Json => FileKind::Json,
            _ => FileKind::Yaml,
        }
    }
}

pub(crate) struct Session<'a> {
    loader: &'a dyn FileLoader,
    map: &'a mut SourceMap,
    diags: &'a mut Diagnostics,
    /// Files being composed, outermost first, to detect include cycles.
    stack: Vec<PathBuf>,
    /// Files already composed: a file included twice is read and reported once.
    cache: HashMap<PathBuf, Option<Node>>,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        loader: &'a dyn FileLoader,
        map: &'a mut SourceMap,
        diags: &'a mut Diagnostics,
    ) -> Self {
        Session {
            loader,
            map,
            diags,
            stack: Vec::new(),
            cache: HashMap::new(),
        }
    }

    /// Loads `path` (reading it unless the source map already holds it). `site` is the
    /// `!include` that asked for it, if any.
    pub(crate) fn load(&mut self, path: &Path, kind: FileKind, site: Option<Span>) -> Option<Node> {
        let path = normalize(path);
        if self.stack.contains(&path) {
            self.cycle(&path, site);
            return None;
        }
        if let Some(done) = self.cache.get(&path) {
            return done.clone();
        }
        let file = self.read(&path, site)?;
        let node = self.compose_file(file, &path, kind);
        self.cache.insert(path, node.clone());
        node
    }

    /// Composes a file that is already in the source map.
    pub(crate) fn compose_file(
        &mut self,
        file: FileId,
        path: &Path,
        kind: FileKind,
    ) -> Option<Node> {
        // The text is copied because includes add files to the map while we compose.
        let text = self.map.file(file).text.clone();
        self.stack.push(normalize(path));
        let node = match kind {
            FileKind::Yaml => match compose(file, &text, Flavor::Yaml, self) {
                Ok(node) => Some(node),
                Err(d) => {
                    self.diags.push(*d);
                    None
                }
            },
            FileKind::Json => compose_json(file, &text, self),
            FileKind::Text => Some(text_node(file, text)),
        };
        self.stack.pop();
        node
    }

    fn read(&mut self, path: &Path, site: Option<Span>) -> Option<FileId> {
        if let Some(id) = self.map.find(path) {
            return Some(id);
        }
        match self.loader.read(path) {
            Ok(text) => Some(self.map.add(path, text)),
            Err(e) => {
                self.unreadable(path, &e, site);
                None
            }
        }
    }

    fn unreadable(&mut self, path: &Path, e: &io::Error, site: Option<Span>) {
        let reason = match e.kind() {
            io::ErrorKind::NotFound => "file not found".to_string(),
            io::ErrorKind::InvalidData => "the file is not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        let mut d = Diagnostic::error(
            codes::FILE_UNREADABLE,
            format!("cannot read `{}`: {reason}", path.display()),
        );
        if let Some(site) = site {
            let including = &self.map.file(site.file).display_path;
            d = d.primary(site, "included here").help(format!(
                "`!include` paths are relative to the directory of the file that contains them (`{including}`)"
            ));
        }
        self.diags.push(d);
    }

    fn cycle(&mut self, path: &Path, site: Option<Span>) {
        let shown = |p: &Path| match self.map.find(p) {
            Some(id) => self.map.file(id).display_path.clone(),
            None => p.display().to_string(),
        };
        let start = self.stack.iter().position(|p| p == path).unwrap_or(0);
        let mut chain: Vec<String> = self.stack[start..].iter().map(|p| shown(p)).collect();
        chain.push(shown(path));
        let mut d = Diagnostic::error(
            codes::INCLUDE_CYCLE,
            format!("`{}` includes itself", shown(path)),
        )
        .note(format!("include chain: {}", chain.join(" -> ")))
        .help("remove one of the `!include` tags in this chain");
        if let Some(site) = site {
            d = d.primary(site, "this include closes the cycle");
        }
        self.diags.push(d);
    }
}

impl Host for Session<'_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    fn include(&mut self, from: FileId, path: &str, site: Span) -> Option<Node> {
        let relative = path.trim();
        if relative.is_empty() {
            let d = Diagnostic::error(codes::FILE_UNREADABLE, "`!include` needs a file path")
                .primary(site, "no path given")
                .help("write the path after the tag: `statement: !include queries/vehicle.sql`");
            self.diags.push(d);
            return None;
        }
        let base = self
            .map
            .file(from)
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let target = normalize(&base.join(relative));
        self.load(&target, FileKind::of_include(&target), Some(site))
    }
}

/// The full text of a non-YAML include as one string whose offsets point into that file, so
/// that an SQL error in `statement: !include q.sql` is shown in `q.sql`.
fn text_node(file: FileId, text: String) -> Node {
    let len = text.len();
    let offsets = OffsetMap::verbatim(file, 0, len);
    Node::new(
        NodeKind::Scalar(Scalar {
            value: text,
            style: ScalarStyle::Literal,
            offsets,
        }),
        Span::new(file, 0, len),
    )
}
