//! Diagnostics: one shape for every problem the compiler finds, rendered once, sent to three
//! sinks (`build.rs` cargo lines, the proc macro's `compile_error!`, `mee check`).
//!
//! Checks never stop at the first problem: they push into a [`Diagnostics`] sink and carry on
//! with whatever is still valid, so the user sees every error of a pipeline in one run.

pub mod codes;

use crate::source::{SourceMap, Span};
use std::fmt::Write as _;

pub use codes::Code;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// One problem: a stable code, a one-line message in rustc style (lowercase, no final period,
/// identifiers in backticks), labels at the user's text, notes and a `help:` line saying what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    fn new(severity: Severity, code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// The label at the offending text. The first primary label decides `file:line:col`.
    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// A label giving context, e.g. "table `orders` declared here".
    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds `help: did you mean ...?` when one of `candidates` is close to `name`.
    pub fn suggest<'a>(self, name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Self {
        match nearest(name, candidates) {
            Some(best) => self.help(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let lower = name.to_lowercase();
    let candidates: Vec<&str> = candidates.into_iter().filter(|c| *c != name).collect();
    let close = candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    // A truncated name (`customer` for `customer_id`) is far in edits but an obvious match.
    close.or_else(|| {
        candidates.into_iter().find(|c| {
            let c = c.to_lowercase();
            lower.len() >= 3
                && c.len() <= lower.len() + 4
                && (c.starts_with(&lower) || lower.starts_with(&c))
        })
    })
}

/// Edit distance over characters where swapping two neighbours counts as one edit (optimal
/// string alignment), because transposed letters (`nmae`) are the most common typo.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The sink checks push into. Dropping it with unread errors is a bug in the compiler (the same
/// guard serde's `Ctxt` has), so it panics in debug builds.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    taken: bool,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Hands the diagnostics over, ordered by file and position, duplicates removed.
    pub fn finish(mut self) -> Vec<Diagnostic> {
        self.taken = true;
        let mut items = std::mem::take(&mut self.items);
        items.sort_by_key(|d| (d.primary_span(), d.severity));
        items.dedup();
        items
    }
}

impl Drop for Diagnostics {
    fn drop(&mut self) {
        if !self.taken && self.has_errors() && !std::thread::panicking() {
            debug_assert!(
                false,
                "Diagnostics dropped with unreported errors: {:?}",
                self.items
            );
        }
    }
}

/// How to render: plain text (build scripts, proc macros, logs) or with ANSI colours (terminals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    pub color: bool,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, sev: Severity, s: &str) -> String {
        self.wrap(
            if sev == Severity::Error {
                "1;31"
            } else {
                "1;33"
            },
            s,
        )
    }
    fn blue(&self, s: &str) -> String {
        self.wrap("1;34", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// Renders one diagnostic:
///
/// ```text
/// pipelines/orders.yml:12:7: error[E0403]: unknown column `cust_id` in `shop.orders`
///    |
/// 12 |       - cust_id
///    |         ^^^^^^^ no such column
///    |
///    = help: did you mean `customer_id`?
/// ```
pub fn render(map: &SourceMap, d: &Diagnostic, opts: RenderOptions) -> String {
    let p = Paint { on: opts.color };
    let mut out = String::new();
    let head = format!("{}[{}]", d.severity.as_str(), d.code.as_str());
    if let Some(span) = d.primary_span() {
        let _ = write!(out, "{}: ", map.location(span));
    }
    let _ = writeln!(
        out,
        "{}: {}",
        p.severity(d.severity, &head),
        p.bold(&d.message)
    );

    // Group labels by file, in order of appearance; primary labels first.
    let mut labels: Vec<&Label> = d.labels.iter().collect();
    labels.sort_by_key(|l| (!l.primary, l.span.file, l.span.start));
    let max_line = labels
        .iter()
        .map(|l| map.file(l.span.file).line_col(l.span.end as usize).0)
        .max()
        .unwrap_or(1);
    let gutter = max_line.to_string().len();
    let pad = " ".repeat(gutter);
    let mut last_file = None;
    for label in labels {
        let file = map.file(label.span.file);
        if last_file != Some(label.span.file) {
            if last_file.is_some() {
                let (l, c) = file.line_col(label.span.start as usize);
                let _ = writeln!(out, "{pad}{} {}:{l}:{c}", p.blue("-->"), file.display_path);
            }
            last_file = Some(label.span.file);
        }
        let (line, col) = file.line_col(label.span.start as usize);
        let (end_line, end_col) = file.line_col(label.span.end as usize);
        let text = file.line_text(line);
        let width = if end_line == line {
            end_col.saturating_sub(col).max(1)
        } else {
            text.chars().count().saturating_sub(col - 1).max(1)
        };
        let marker = if label.primary { "^" } else { "-" };
        let _ = writeln!(out, "{pad} {}", p.blue("|"));
        let _ = writeln!(
            out,
            "{} {} {}",
            p.blue(&format!("{line:>gutter$}")),
            p.blue("|"),
            text
        );
        let underline = format!("{}{}", " ".repeat(col - 1), marker.repeat(width));
        let msg = if label.message.is_empty() {
            underline
        } else {
            format!("{underline} {}", label.message)
        };
        let msg = if label.primary {
            p.severity(d.severity, &msg)
        } else {
            p.blue(&msg)
        };
        let _ = writeln!(out, "{pad} {} {msg}", p.blue("|"));
    }
    if !d.notes.is_empty() || d.help.is_some() {
        let _ = writeln!(out, "{pad} {}", p.blue("|"));
    }
    for note in &d.notes {
        let _ = writeln!(
            out,
            "{pad} {} {}",
            p.blue("="),
            indent_rest(&format!("note: {note}"), gutter + 3)
        );
    }
    if let Some(help) = &d.help {
        let _ = writeln!(
            out,
            "{pad} {} {}",
            p.blue("="),
            indent_rest(&format!("help: {help}"), gutter + 3)
        );
    }
    out
}

fn indent_rest(s: &str, n: usize) -> String {
    s.replace('\n', &format!("\n{}", " ".repeat(n)))
}

/// Renders all diagnostics, then a summary line (`error: 3 errors, 1 warning in pipelines`).
pub fn render_all(map: &SourceMap, ds: &[Diagnostic], opts: RenderOptions) -> String {
    let mut out = String::new();
    for d in ds {
        out.push_str(&render(map, d, opts));
        out.push('\n');
    }
    let errors = ds.iter().filter(|d| d.is_error()).count();
    let warnings = ds.len() - errors;
    if errors + warnings > 0 {
        let _ = writeln!(out, "{}", summary(errors, warnings));
    }
    out
}

pub fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => format!("{} emitted", plural(w, "warning")),
        (e, 0) => format!("{} found", plural(e, "error")),
        (e, w) => format!("{} and {} found", plural(e, "error"), plural(w, "warning")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    #[test]
    fn renders_location_excerpt_and_help() {
        let mut map = SourceMap::new();
        let f = map.add("pipelines/orders.yml", "a:\n  - cust_id\n".to_string());
        let d = Diagnostic::error(
            codes::UNKNOWN_COLUMN,
            "unknown column `cust_id` in `shop.orders`",
        )
        .primary(Span::new(f, 7, 14), "no such column")
        .suggest("cust_id", ["customer_id", "cust_idx", "total"]);
        let text = render(&map, &d, RenderOptions::default());
        let expected = "\
pipelines/orders.yml:2:5: error[E0403]: unknown column `cust_id` in `shop.orders`
  |
2 |   - cust_id
  |     ^^^^^^^ no such column
  |
  = help: did you mean `cust_idx`?
";
        assert_eq!(text, expected);
    }

    #[test]
    fn nearest_ignores_far_candidates() {
        assert_eq!(
            nearest("statment", ["statement", "table"]),
            Some("statement")
        );
        assert_eq!(nearest("zzz", ["statement", "table"]), None);
        assert_eq!(
            nearest("customer", ["id", "customer_id"]),
            Some("customer_id")
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("nmae", "name"), 1);
    }

    #[test]
    fn finish_sorts_by_position() {
        let mut map = SourceMap::new();
        let f = map.add("x", "abcdef".into());
        let mut ds = Diagnostics::new();
        ds.push(Diagnostic::error(codes::YAML_SYNTAX, "b").primary(Span::new(f, 4, 5), ""));
        ds.push(Diagnostic::error(codes::YAML_SYNTAX, "a").primary(Span::new(f, 1, 2), ""));
        let out = ds.finish();
        assert_eq!(out[0].message, "a");
        assert_eq!(summary(2, 1), "2 errors and 1 warning found");
    }
}
