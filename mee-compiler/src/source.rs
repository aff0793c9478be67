//! Source files, byte spans and line/column lookup.
//!
//! Every value the compiler reads keeps a [`Span`] into the file it came from, so that a check that
//! runs long after parsing can still point at the user's text. Line and column are computed on
//! demand from the byte offset (1-based, columns counted in characters like rustc does).

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range `start..end` in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: to_u32(start),
            end: to_u32(end.max(start)),
        }
    }

    /// A span covering both `self` and `other` (which must be in the same file).
    pub fn to(self, other: Span) -> Span {
        debug_assert_eq!(self.file, other.file, "joining spans of different files");
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The sub-span `offset..offset+len` relative to this span's start.
    pub fn sub(self, offset: usize, len: usize) -> Span {
        let start = self.start as usize + offset;
        Span::new(self.file, start, start + len)
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A value together with where it was written.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned {
            value: f(self.value),
            span: self.span,
        }
    }

    pub fn as_ref(&self) -> Spanned<&T> {
        Spanned {
            value: &self.value,
            span: self.span,
        }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    /// Spans are where a value was written, not part of its meaning.
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the project root where possible).
    pub display_path: String,
    /// The path used to read the file and to resolve relative includes.
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(path: PathBuf, display_path: String, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            display_path,
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

/// Reads files for the compiler. The filesystem in production; a map of strings in unit tests.
pub trait FileLoader {
    fn read(&self, path: &Path) -> io::Result<String>;
}

/// Reads from the real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsLoader;

impl FileLoader for FsLoader {
    #[allow(clippy::disallowed_methods)] // This is the one sanctioned place that reads files.
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// Serves files from memory (keyed by normalised path), for tests.
#[derive(Debug, Default, Clone)]
pub struct MemLoader {
    files: std::collections::BTreeMap<PathBuf, String>,
}

impl MemLoader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.files.insert(normalize(path.as_ref()), text.into());
        self
    }
}

impl FileLoader for MemLoader {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files.get(&normalize(path)).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no such file: {}", path.display()),
            )
        })
    }
}

/// Removes `.` and resolves `..` lexically (no filesystem access, symlinks are not followed).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// All files read during one compilation.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    /// Paths are shown relative to this directory when they are inside it.
    root: Option<PathBuf>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows paths relative to `root` (typically the crate or project directory).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        SourceMap {
            files: Vec::new(),
            root: Some(normalize(&root.into())),
        }
    }

    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        let path = normalize(&path.into());
        let display_path = self.display(&path);
        let id = FileId(u32::try_from(self.files.len()).expect("fewer than 2^32 source files"));
        self.files.push(SourceFile::new(path, display_path, text));
        id
    }

    /// The id of a file already loaded from `path`, if any.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        let path = normalize(path);
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn slice(&self, span: Span) -> &str {
        self.file(span.file).slice(span)
    }

    /// `path:line:col` of the start of a span.
    pub fn location(&self, span: Span) -> String {
        let file = self.file(span.file);
        let (line, col) = file.line_col(span.start as usize);
        format!("{}:{line}:{col}", file.display_path)
    }

    fn display(&self, path: &Path) -> String {
        let shown = match &self.root {
            Some(root) => path.strip_prefix(root).unwrap_or(path),
            None => path,
        };
        shown.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let mut map = SourceMap::new();
        let id = map.add("a.yml", "ab\nçd: x\n".to_string());
        let f = map.file(id);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // `ç` is two bytes but one column.
        assert_eq!(f.line_col(5), (2, 2));
        assert_eq!(f.line_text(2), "çd: x");
        assert_eq!(map.location(Span::new(id, 5, 6)), "a.yml:2:2");
    }

    #[test]
    fn paths_are_shown_relative_to_the_root() {
        let mut map = SourceMap::with_root("/p/proj");
        let id = map.add("/p/proj/pipelines/./sub/../x.yml", String::new());
        assert_eq!(map.file(id).display_path, "pipelines/x.yml");
        assert_eq!(map.find(Path::new("/p/proj/pipelines/x.yml")), Some(id));
    }

    #[test]
    fn mem_loader_normalises_paths() {
        let l = MemLoader::new().with("a/b/../c.yml", "x");
        assert_eq!(l.read(Path::new("a/c.yml")).expect("file exists"), "x");
        assert!(l.read(Path::new("a/d.yml")).is_err());
    }
}
