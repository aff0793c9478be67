//! Analysis of an item's `statement`: a MySQL `SELECT` with Mee placeholders.
//!
//! The caller finds the placeholders (and `%%` escapes) and passes their byte ranges; this
//! module never scans `%` itself. It then
//! 1. rewrites every placeholder into a bound parameter `?` (never pasting a value into SQL):
//!    a bare placeholder is one parameter; a quoted string that is exactly one placeholder
//!    (`'%__parent.code'`) is one parameter and its quotes disappear; a quoted string that mixes
//!    text and placeholders (`'A-%code'`) is one parameter whose value is a template. `%%`
//!    becomes `%`. A position map sends every offset of the rewritten SQL back to the
//!    statement, so errors and spans point at what the author wrote;
//! 2. parses the result with sqlparser (MySQL dialect) and rejects what mee cannot run: more or
//!    less than one statement, anything but a plain `SELECT` from one table, a `LIMIT` clause
//!    (mee appends its own), a placeholder where SQL needs a name or keyword;
//! 3. describes the statement: its table, select list, parameters, the top-level `AND`
//!    conjuncts of its `WHERE` clause, classified (links to another item's row, comparisons
//!    with a parameter, constant filters), its `ORDER BY`, and every column it names;
//! 4. renders SQL variants for the runtime ([`SelectAnalysis::render`]) by splicing the
//!    rewritten statement's own text: conjuncts can be dropped and a condition, an `ORDER BY`
//!    and a `LIMIT` added. Splicing (rather than printing sqlparser's AST) keeps the author's
//!    SQL exactly, including string escapes that the AST printer would not reproduce.
//!
//! Clause and conjunct boundaries come from sqlparser's tokens, guided by the AST: sqlparser's
//! node spans are incomplete (a closing parenthesis or `IS NULL` is often outside them), while
//! token spans are exact.

use super::lex::{LineIndex, parser_error_location, unescape_string};
use crate::diag::{Code, Diagnostic, codes};
use crate::source::Span;
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments,
    Ident, ObjectName, Query, SelectItem, SetExpr, Statement, TableFactor, UnaryOperator, Value,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};
use std::ops::Range;

/// A problem in a statement; `range` is a byte range of the statement text given to
/// [`analyze_select`]. The caller turns it into a span of its YAML file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    pub range: Range<usize>,
    pub code: Code,
    pub message: String,
    /// The text of the label at `range`.
    pub label: String,
    pub help: Option<String>,
}

impl SqlError {
    fn new(
        code: Code,
        range: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        SqlError {
            range,
            code,
            message: message.into(),
            label: label.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The diagnostic for this error, with `span` being `range` translated into the file.
    pub fn to_diagnostic(&self, span: Span) -> Diagnostic {
        let d = Diagnostic::error(self.code, &self.message).primary(span, &self.label);
        match &self.help {
            Some(h) => d.help(h),
            None => d,
        }
    }
}

/// The table a statement reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRef {
    /// The qualifier of `db.table`, when written.
    pub database: Option<String>,
    pub name: String,
    pub alias: Option<String>,
    /// The (possibly qualified) name in the statement.
    pub range: Range<usize>,
}

/// A column named in the statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnRef {
    pub name: String,
    /// The whole reference, qualifier included (`u.id`).
    pub range: Range<usize>,
}

/// One entry of the select list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectionItem {
    /// `*` or `t.*`.
    Wildcard { range: Range<usize> },
    /// A plain column, possibly renamed (`name AS user_name`).
    Column {
        column: ColumnRef,
        alias: Option<String>,
        range: Range<usize>,
    },
    /// Any other expression. `output_name` is its alias or, as MySQL names such columns, its
    /// text.
    Expr {
        output_name: String,
        columns: Vec<ColumnRef>,
        range: Range<usize>,
    },
}

/// What a bound parameter's value is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// The value of placeholder `n` (an index into the caller's placeholder list).
    Placeholder(usize),
    /// A string built from text and placeholders, from a quoted string such as `'A-%code'`.
    Template(Vec<TemplatePiece>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePiece {
    /// Literal text, with the SQL string escapes already decoded.
    Text(String),
    Placeholder(usize),
}

/// One `?` of the rewritten statement, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub value: ParamValue,
    /// Written inside quotes: the author meant a string, so the caller should bind the value as
    /// text (MySQL compares a string column with a number numerically, which is not the same).
    pub quoted: bool,
    /// The placeholder, or the whole quoted string, in the statement.
    pub range: Range<usize>,
}

/// A comparison operator, spelled as in Mee's `filter` (`==`, `!=`, `<`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `col IN (a, b, ...)`.
    In,
    IsNull,
    IsNotNull,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::NotEq => "!=",
            Op::Lt => "<",
            Op::LtEq => "<=",
            Op::Gt => ">",
            Op::GtEq => ">=",
            Op::In => "in",
            Op::IsNull => "is null",
            Op::IsNotNull => "is not null",
        }
    }

    fn from_binary(op: &BinaryOperator) -> Option<Op> {
        Some(match op {
            BinaryOperator::Eq => Op::Eq,
            BinaryOperator::NotEq => Op::NotEq,
            BinaryOperator::Lt => Op::Lt,
            BinaryOperator::LtEq => Op::LtEq,
            BinaryOperator::Gt => Op::Gt,
            BinaryOperator::GtEq => Op::GtEq,
            _ => return None,
        })
    }

    /// The operator with its operands swapped: `? < col` is `col > ?`.
    fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::LtEq => Op::GtEq,
            Op::Gt => Op::Lt,
            Op::GtEq => Op::LtEq,
            other => other,
        }
    }
}

/// A literal value in a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// The number as written, sign included (`-3`, `1.50`).
    Number(String),
    String(String),
    Bool(bool),
}

/// What a top-level `AND` conjunct of the `WHERE` clause means to mee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConjunctKind {
    /// `col = ?` or `? = col`: how this item's rows relate to another item's row.
    Link { column: ColumnRef, param: usize },
    /// `col > ?` and the other comparisons with a parameter (the master's keyset paging is
    /// `id > %__last.id:(0)`); operands are normalised so that the column is on the left.
    Compare {
        column: ColumnRef,
        op: Op,
        param: usize,
    },
    /// A column compared with literals: `=`, `!=`, `<`, `<=`, `>`, `>=` one value, `IN` a list,
    /// `IS [NOT] NULL` none. Mee's `filter` is derived from these.
    Constant {
        column: ColumnRef,
        op: Op,
        values: Vec<Literal>,
    },
    /// Anything else; kept verbatim.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conjunct {
    pub kind: ConjunctKind,
    /// The conjunct in the statement, without surrounding parentheses of the `AND` chain.
    pub range: Range<usize>,
    /// Columns of the statement's table that it references.
    pub columns: Vec<ColumnRef>,
    /// Indices into [`SelectAnalysis::params`] of the parameters inside it.
    pub params: Vec<usize>,
    /// It contains a subquery, which reads a table whose changes mee does not follow.
    pub has_subquery: bool,
    rw: Range<usize>,
    needs_parens: bool,
}

/// One `ORDER BY` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderItem {
    /// The column when the entry is a plain column.
    pub column: Option<ColumnRef>,
    pub descending: bool,
    pub range: Range<usize>,
}

/// Where a `?` of rendered SQL gets its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamSlot {
    /// [`SelectAnalysis::params`]`[n]`.
    Statement(usize),
    /// The `n`-th `?` of the `extra_condition` text given to [`SelectAnalysis::render`].
    Extra(usize),
    /// The `n`-th `?` of the `order_by` text.
    OrderBy(usize),
    /// The `n`-th `?` of the `limit` text.
    Limit(usize),
}

/// SQL text for the runtime and the source of each of its `?` in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub sql: String,
    pub params: Vec<ParamSlot>,
}

/// The result of [`analyze_select`].
#[derive(Clone, Debug)]
pub struct SelectAnalysis {
    /// The statement with placeholders replaced by `?`.
    pub sql: String,
    pub table: TableRef,
    pub projection: Vec<ProjectionItem>,
    pub params: Vec<Param>,
    /// The `WHERE` clause split into top-level `AND` conjuncts (also through parentheses).
    pub conjuncts: Vec<Conjunct>,
    pub order_by: Vec<OrderItem>,
    /// Placeholders written inside SQL comments: they are not parameters and have no effect.
    pub ignored_placeholders: Vec<usize>,
    columns: Vec<ColumnRef>,
    map: PositionMap,
    layout: Layout,
}

/// Offsets in the rewritten SQL of the pieces that rendering recombines.
#[derive(Clone, Debug)]
struct Layout {
    /// `SELECT ... FROM table`: everything before `WHERE` (or before where it would go).
    head: Range<usize>,
    /// `GROUP BY ... HAVING ...`: between the `WHERE` clause and `ORDER BY`.
    middle: Range<usize>,
    /// The `ORDER BY` clause, keywords included.
    order: Option<Range<usize>>,
    /// The offset of each parameter's `?`.
    param_at: Vec<usize>,
}

impl SelectAnalysis {
    /// Every column identifier of the statement's table, anywhere in the statement (select
    /// list, `WHERE`, `GROUP BY`, `HAVING`, `ORDER BY`), with its range, for schema checks.
    /// Identifiers inside subqueries belong to other tables and are not included, nor are
    /// `ORDER BY`/`HAVING` references to select-list aliases.
    pub fn columns_referenced(&self) -> &[ColumnRef] {
        &self.columns
    }

    /// Maps a range of [`SelectAnalysis::sql`] to the statement text.
    pub fn original_range(&self, rewritten: Range<usize>) -> Range<usize> {
        self.map.range(rewritten)
    }

    /// True when the statement groups rows (`GROUP BY` or `HAVING`): run for a whole page at
    /// once, it would group the rows of different documents together.
    pub fn has_grouping(&self) -> bool {
        !self.layout.middle.is_empty()
    }

    /// The statement's `ORDER BY` list (without the keywords), or `None` when it has none;
    /// `Err(())` when the list has a parameter, so it cannot be moved into another statement.
    #[allow(clippy::result_unit_err)] // The one failure needs no description.
    pub fn order_by_list(&self) -> Result<Option<&str>, ()> {
        let Some(range) = &self.layout.order else {
            return Ok(None);
        };
        if self.layout.param_at.iter().any(|at| range.contains(at)) {
            return Err(());
        }
        let text = self.sql[range.clone()].trim();
        let without_order = text
            .get(..5)
            .filter(|k| k.eq_ignore_ascii_case("order"))
            .map_or(text, |_| text[5..].trim_start());
        let list = without_order
            .get(..2)
            .filter(|k| k.eq_ignore_ascii_case("by"))
            .map_or(without_order, |_| without_order[2..].trim_start());
        Ok(Some(list))
    }

    /// True when the statement has a wildcard (`*`) in its select list.
    pub fn selects_all(&self) -> bool {
        self.projection
            .iter()
            .any(|p| matches!(p, ProjectionItem::Wildcard { .. }))
    }

    /// Renders the statement for the runtime: the conjuncts for which `keep(index)` is true,
    /// plus `extra_condition` as one more `AND` operand, `order_by` replacing the statement's
    /// own `ORDER BY` (which is kept when `None`), and a `LIMIT`. Texts are SQL fragments
    /// without their keywords and may contain `?` parameters, reported as
    /// [`ParamSlot::Extra`], [`ParamSlot::OrderBy`] and [`ParamSlot::Limit`].
    ///
    /// For example, for `select * from loan_base where user_id = %__master.id and status = 1`,
    /// dropping the link and adding `user_id IN (?, ?)` gives
    /// `select * from loan_base WHERE status = 1 AND user_id IN (?, ?)`.
    pub fn render(
        &self,
        keep: &dyn Fn(usize) -> bool,
        extra_condition: Option<&str>,
        order_by: Option<&str>,
        limit: Option<&str>,
    ) -> Rendered {
        let mut out = Rendered {
            sql: String::new(),
            params: Vec::new(),
        };
        self.push_piece(&mut out, self.layout.head.clone());
        let mut first = true;
        for c in self
            .conjuncts
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, c)| c)
        {
            out.sql.push_str(if first { " WHERE " } else { " AND " });
            first = false;
            if c.needs_parens {
                out.sql.push('(');
            }
            self.push_piece(&mut out, c.rw.clone());
            if c.needs_parens {
                out.sql.push(')');
            }
        }
        if let Some(extra) = extra_condition {
            out.sql.push_str(if first { " WHERE " } else { " AND " });
            if has_top_level_or(extra) {
                out.sql.push('(');
                out.sql.push_str(extra);
                out.sql.push(')');
            } else {
                out.sql.push_str(extra);
            }
            out.params
                .extend((0..count_params(extra)).map(ParamSlot::Extra));
        }
        if !self.layout.middle.is_empty() {
            out.sql.push(' ');
            self.push_piece(&mut out, self.layout.middle.clone());
        }
        match (order_by, &self.layout.order) {
            (Some(o), _) => {
                out.sql.push_str(" ORDER BY ");
                out.sql.push_str(o);
                out.params
                    .extend((0..count_params(o)).map(ParamSlot::OrderBy));
            }
            (None, Some(range)) => {
                out.sql.push(' ');
                self.push_piece(&mut out, range.clone());
            }
            (None, None) => {}
        }
        if let Some(l) = limit {
            out.sql.push_str(" LIMIT ");
            out.sql.push_str(l);
            out.params
                .extend((0..count_params(l)).map(ParamSlot::Limit));
        }
        out
    }

    /// Renders the statement for generated code in the three parts of the runtime's `Sql`
    /// template: `head` (`SELECT <columns> FROM `), then the database (inserted at run time),
    /// then `tail` (`.<table> [alias] WHERE ...`). The select list is replaced by `columns`
    /// (the columns the pipeline uses), so rows come back in a known order whatever the live
    /// table has. When `key_list` is given (e.g. "`id` IN "), it is appended as the last
    /// condition and the text after it goes to `after_keys`, where the runtime puts `(?, ?, ...)`.
    pub fn render_parts(
        &self,
        columns: &[String],
        keep: &dyn Fn(usize) -> bool,
        key_list: Option<&str>,
        order_by: Option<&str>,
        limit: Option<&str>,
    ) -> RenderedParts {
        const KEYS: &str = "\u{1}KEYS\u{1}";
        let extra = key_list.map(|k| format!("{k}{KEYS}"));
        let rendered = self.render(keep, extra.as_deref(), order_by, limit);
        let old_head = &self.sql[self.layout.head.clone()];
        let rest = rendered.sql.strip_prefix(old_head).unwrap_or(&rendered.sql);
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let head = format!("SELECT {} FROM ", cols.join(", "));
        let mut table = format!(".{}", quote_ident(&self.table.name));
        if let Some(alias) = &self.table.alias {
            table.push(' ');
            table.push_str(&quote_ident(alias));
        }
        let (tail, after_keys) = match rest.split_once(KEYS) {
            Some((before, after)) => (format!("{table}{before}"), after.to_string()),
            None => (format!("{table}{rest}"), String::new()),
        };
        RenderedParts {
            head,
            tail,
            after_keys,
            key_arity: usize::from(key_list.is_some()),
            params: rendered.params,
        }
    }

    fn push_piece(&self, out: &mut Rendered, range: Range<usize>) {
        out.sql.push_str(&self.sql[range.clone()]);
        let inside = self
            .layout
            .param_at
            .iter()
            .enumerate()
            .filter(|(_, at)| range.contains(at));
        out.params
            .extend(inside.map(|(i, _)| ParamSlot::Statement(i)));
    }
}

/// The three parts of a statement for the runtime's `Sql` template (see
/// [`SelectAnalysis::render_parts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedParts {
    pub head: String,
    pub tail: String,
    pub after_keys: String,
    /// Columns per key of the key list (0 without one).
    pub key_arity: usize,
    /// What each `?` of `head + tail + after_keys` takes, in order (the key list excluded).
    pub params: Vec<ParamSlot>,
}

/// A backtick-quoted identifier (backticks inside doubled).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `?` parameters in a caller's SQL fragment (outside strings and comments).
fn count_params(text: &str) -> usize {
    super::lex::lex(text)
        .iter()
        .filter(|l| &text[l.range()] == "?")
        .count()
}

/// True when `text` has `OR`, `XOR` or `||` outside parentheses, so that it must be
/// parenthesised to stay one `AND` operand.
fn has_top_level_or(text: &str) -> bool {
    let mut depth = 0usize;
    let lexemes = super::lex::lex(text);
    let mut prev_pipe = false;
    for l in &lexemes {
        let s = &text[l.range()];
        let pipe = s == "|";
        match s {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            _ if depth == 0 && (s.eq_ignore_ascii_case("OR") || s.eq_ignore_ascii_case("XOR")) => {
                return true;
            }
            "|" if depth == 0 && prev_pipe => return true,
            _ => {}
        }
        prev_pipe = pipe;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Step 1: placeholders -> parameters.

/// Maps offsets of the rewritten SQL to the statement text. Copied text maps one to one; a
/// replaced piece (a placeholder, a quoted template, `%%`) maps as a whole.
#[derive(Clone, Debug, Default)]
struct PositionMap {
    segs: Vec<Seg>,
    orig_len: usize,
}

#[derive(Clone, Debug)]
struct Seg {
    rw: Range<usize>,
    orig: Range<usize>,
    exact: bool,
}

impl PositionMap {
    fn push(&mut self, rw: Range<usize>, orig: Range<usize>, exact: bool) {
        if rw.is_empty() && orig.is_empty() {
            return;
        }
        self.segs.push(Seg { rw, orig, exact });
    }

    fn start(&self, p: usize) -> usize {
        for s in &self.segs {
            if s.rw.start <= p && p < s.rw.end {
                return if s.exact {
                    s.orig.start + (p - s.rw.start)
                } else {
                    s.orig.start
                };
            }
        }
        self.orig_len
    }

    fn end(&self, p: usize) -> usize {
        for s in &self.segs {
            if s.rw.start < p && p <= s.rw.end {
                return if s.exact {
                    s.orig.start + (p - s.rw.start)
                } else {
                    s.orig.end
                };
            }
        }
        if p == 0 { 0 } else { self.orig_len }
    }

    fn range(&self, r: Range<usize>) -> Range<usize> {
        let start = self.start(r.start);
        if r.is_empty() {
            return start..start;
        }
        start..self.end(r.end).max(start)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MarkerKind {
    Placeholder(usize),
    Escape,
}

#[derive(Clone, Debug)]
struct Marker {
    range: Range<usize>,
    kind: MarkerKind,
}

struct Rewritten {
    text: String,
    map: PositionMap,
    params: Vec<Param>,
    param_at: Vec<usize>,
    ignored: Vec<usize>,
}

struct Rewriter<'a> {
    sql: &'a str,
    out: String,
    map: PositionMap,
    params: Vec<Param>,
    param_at: Vec<usize>,
    ignored: Vec<usize>,
    errors: Vec<SqlError>,
}

impl Rewriter<'_> {
    fn copy(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let at = self.out.len();
        self.out.push_str(&self.sql[range.clone()]);
        self.map.push(at..self.out.len(), range, true);
    }

    fn replace(&mut self, orig: Range<usize>, with: &str) {
        let at = self.out.len();
        self.out.push_str(with);
        self.map.push(at..self.out.len(), orig, false);
    }

    fn param(&mut self, value: ParamValue, quoted: bool, range: Range<usize>) {
        self.param_at.push(self.out.len());
        self.replace(range.clone(), "?");
        self.params.push(Param {
            value,
            quoted,
            range,
        });
    }

    /// Copies `range`, which contains `markers`, turning `%%` into `%` and leaving
    /// placeholders as written (they are inside a comment or identifier).
    fn copy_with_markers(&mut self, range: Range<usize>, markers: &[Marker]) {
        let mut at = range.start;
        for m in markers {
            self.copy(at..m.range.start);
            match m.kind {
                MarkerKind::Escape => self.replace(m.range.clone(), "%"),
                MarkerKind::Placeholder(_) => self.copy(m.range.clone()),
            }
            at = m.range.end;
        }
        self.copy(at..range.end);
    }

    /// A quoted string with markers inside: one parameter when it holds a placeholder.
    fn string(&mut self, range: Range<usize>, markers: &[Marker]) {
        if !markers
            .iter()
            .any(|m| matches!(m.kind, MarkerKind::Placeholder(_)))
        {
            self.copy_with_markers(range, markers);
            return;
        }
        let quote = char::from(self.sql.as_bytes()[range.start]);
        let inner = range.start + 1..range.end - 1;
        let mut pieces: Vec<TemplatePiece> = Vec::new();
        let mut text = String::new();
        let mut raw_from = inner.start;
        for m in markers {
            text.push_str(&unescape_string(&self.sql[raw_from..m.range.start], quote));
            raw_from = m.range.end;
            match m.kind {
                MarkerKind::Escape => text.push('%'),
                MarkerKind::Placeholder(k) => {
                    if !text.is_empty() {
                        pieces.push(TemplatePiece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(TemplatePiece::Placeholder(k));
                }
            }
        }
        text.push_str(&unescape_string(&self.sql[raw_from..inner.end], quote));
        if !text.is_empty() {
            pieces.push(TemplatePiece::Text(text));
        }
        let value = match pieces.as_slice() {
            [TemplatePiece::Placeholder(k)] => ParamValue::Placeholder(*k),
            _ => ParamValue::Template(pieces),
        };
        self.param(value, true, range);
    }
}

/// Validates and orders the caller's marker ranges. Bad ranges are a bug of the caller, not a
/// user error: they are dropped (and trip a debug assertion).
fn markers(sql: &str, placeholders: &[Range<usize>], escapes: &[Range<usize>]) -> Vec<Marker> {
    let mut all: Vec<Marker> = placeholders
        .iter()
        .enumerate()
        .map(|(i, r)| Marker {
            range: r.clone(),
            kind: MarkerKind::Placeholder(i),
        })
        .chain(escapes.iter().map(|r| Marker {
            range: r.clone(),
            kind: MarkerKind::Escape,
        }))
        .collect();
    all.sort_by_key(|m| m.range.start);
    let mut out: Vec<Marker> = Vec::with_capacity(all.len());
    for m in all {
        let valid = m.range.start < m.range.end
            && m.range.end <= sql.len()
            && sql.is_char_boundary(m.range.start)
            && sql.is_char_boundary(m.range.end)
            && out.last().is_none_or(|p| p.range.end <= m.range.start);
        debug_assert!(valid, "bad placeholder range {:?} in {sql:?}", m.range);
        if valid {
            out.push(m);
        }
    }
    out
}

fn rewrite(sql: &str, markers: &[Marker]) -> Result<Rewritten, Vec<SqlError>> {
    let bytes = sql.as_bytes();
    let mut w = Rewriter {
        sql,
        out: String::with_capacity(sql.len()),
        map: PositionMap {
            segs: Vec::new(),
            orig_len: sql.len(),
        },
        params: Vec::new(),
        param_at: Vec::new(),
        ignored: Vec::new(),
        errors: Vec::new(),
    };
    let mut next = 0; // The first marker not yet handled.
    let mut i = 0;
    let mut run = 0; // Start of the plain text not yet copied.
    while i < bytes.len() {
        if markers.get(next).is_some_and(|m| m.range.start == i) {
            let m = &markers[next];
            w.copy(run..i);
            match m.kind {
                MarkerKind::Placeholder(k) => {
                    w.param(ParamValue::Placeholder(k), false, m.range.clone())
                }
                MarkerKind::Escape => w.replace(m.range.clone(), "%"),
            }
            i = m.range.end;
            run = i;
            next += 1;
            continue;
        }
        let b = bytes[i];
        let nb = bytes.get(i + 1).copied();
        // The end of a quoted run or comment starting at `i`, if one starts here. Markers are
        // opaque: a placeholder's quoted default (`%k.f:(')')`) never ends a string.
        let (end, kind) = match b {
            b'\'' | b'"' | b'`' => {
                let mut j = i + 1;
                let mut closed = false;
                while j < bytes.len() {
                    if let Some(m) = markers
                        .get(next..)
                        .and_then(|ms| ms.iter().find(|m| m.range.start == j))
                    {
                        j = m.range.end;
                        continue;
                    }
                    let c = bytes[j];
                    if c == b'\\' && b != b'`' {
                        j += 2;
                    } else if c == b {
                        if bytes.get(j + 1) == Some(&b) {
                            j += 2;
                        } else {
                            j += 1;
                            closed = true;
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                if !closed {
                    // Unterminated: copy the rest; sqlparser reports it.
                    (bytes.len(), 0u8)
                } else {
                    (j.min(bytes.len()), b)
                }
            }
            b'#' => (line_end(bytes, i, markers), b'#'),
            b'-' if nb == Some(b'-') && bytes.get(i + 2).is_none_or(|&c| c <= b' ') => {
                (line_end(bytes, i, markers), b'#')
            }
            // A conditional comment `/*!...*/` is SQL that MySQL runs, and sqlparser parses its
            // content too, so it is scanned like code.
            b'/' if nb == Some(b'*') && bytes.get(i + 2) != Some(&b'!') => {
                let mut j = i + 2;
                loop {
                    if j + 1 >= bytes.len() {
                        break (bytes.len(), b'#');
                    }
                    if let Some(m) = markers[next..].iter().find(|m| m.range.start == j) {
                        j = m.range.end;
                        continue;
                    }
                    if bytes[j] == b'*' && bytes[j + 1] == b'/' {
                        break (j + 2, b'#');
                    }
                    j += 1;
                }
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let end = end.max(i + 1).min(bytes.len());
        let inside_end = markers[next..]
            .iter()
            .position(|m| m.range.start >= end)
            .map_or(markers.len(), |p| next + p);
        let inside = &markers[next..inside_end];
        w.copy(run..i);
        match kind {
            b'\'' | b'"' => w.string(i..end, inside),
            b'`' => {
                for m in inside {
                    if let MarkerKind::Placeholder(_) = m.kind {
                        w.errors.push(not_a_value(
                            m.range.clone(),
                            "placeholder inside a quoted identifier",
                        ));
                    }
                }
                w.copy_with_markers(i..end, inside);
            }
            b'#' => {
                for m in inside {
                    if let MarkerKind::Placeholder(k) = m.kind {
                        w.ignored.push(k);
                    }
                }
                // Comments are copied as written: `%%` there is the author's text.
                w.copy(i..end);
            }
            _ => w.copy_with_markers(i..end, inside),
        }
        next = inside_end;
        i = end;
        run = i;
    }
    w.copy(run..bytes.len());
    if !w.errors.is_empty() {
        return Err(w.errors);
    }
    Ok(Rewritten {
        text: w.out,
        map: w.map,
        params: w.params,
        param_at: w.param_at,
        ignored: w.ignored,
    })
}

/// The end of a line comment starting at `from`, skipping over markers.
fn line_end(bytes: &[u8], from: usize, markers: &[Marker]) -> usize {
    let mut j = from;
    while j < bytes.len() && bytes[j] != b'\n' {
        match markers.iter().find(|m| m.range.start == j) {
            Some(m) => j = m.range.end,
            None => j += 1,
        }
    }
    j
}

fn not_a_value(range: Range<usize>, label: &str) -> SqlError {
    SqlError::new(
        codes::PLACEHOLDER_NOT_A_VALUE,
        range,
        "placeholder used where SQL cannot take a value",
        label,
    )
    .help(
        "placeholders become bound parameters, which can only stand for values (in `WHERE`); \
         write table names, column names and keywords literally",
    )
}

// ---------------------------------------------------------------------------------------------
// Step 2: tokens with byte ranges and parenthesis depth.

#[derive(Clone, Debug)]
struct Tok {
    token: Token,
    range: Range<usize>,
    /// Parentheses open before this token; both parentheses of a pair get the outer depth.
    depth: usize,
}

impl Tok {
    fn is_keyword(&self, k: Keyword) -> bool {
        matches!(&self.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
    }

    fn is_any_keyword(&self, ks: &[Keyword]) -> bool {
        ks.iter().any(|k| self.is_keyword(*k))
    }
}

/// The keywords that end a `WHERE` clause (or mark where one would start) at depth 0.
const CLAUSE_KEYWORDS: &[Keyword] = &[
    Keyword::GROUP,
    Keyword::HAVING,
    Keyword::WINDOW,
    Keyword::QUALIFY,
    Keyword::ORDER,
    Keyword::LIMIT,
    Keyword::FOR,
    Keyword::LOCK,
    Keyword::INTO,
    Keyword::UNION,
    Keyword::EXCEPT,
    Keyword::INTERSECT,
];

struct Tokens {
    /// Significant tokens only (no whitespace or comments).
    toks: Vec<Tok>,
}

impl Tokens {
    /// The first token at depth 0 from `from` on that satisfies `f`.
    fn find(&self, from: usize, f: impl Fn(&Tok) -> bool) -> Option<usize> {
        (from..self.toks.len()).find(|&i| self.toks[i].depth == 0 && f(&self.toks[i]))
    }

    fn range(&self, lo: usize, hi: usize) -> Range<usize> {
        self.toks[lo].range.start..self.toks[hi - 1].range.end
    }

    /// The index of the token starting at `offset`.
    fn at(&self, offset: usize) -> Option<usize> {
        self.toks.iter().position(|t| t.range.start == offset)
    }

    /// The index of the token that contains `offset` or the next one after it.
    fn at_or_after(&self, offset: usize) -> Option<usize> {
        self.toks.iter().position(|t| t.range.end > offset)
    }
}

fn tokenize(
    text: &str,
    index: &LineIndex<'_>,
) -> Result<(Vec<TokenWithSpan>, Tokens), (String, Option<usize>)> {
    let dialect = MySqlDialect {};
    let all = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| (e.message.clone(), index.offset(e.location)))?;
    let mut toks = Vec::with_capacity(all.len());
    let mut depth = 0usize;
    for t in &all {
        if matches!(t.token, Token::Whitespace(_) | Token::EOF) {
            continue;
        }
        let (Some(start), Some(end)) = (index.offset(t.span.start), index.offset(t.span.end))
        else {
            continue;
        };
        let d = match t.token {
            Token::LParen => {
                depth += 1;
                depth - 1
            }
            Token::RParen => {
                depth = depth.saturating_sub(1);
                depth
            }
            _ => depth,
        };
        toks.push(Tok {
            token: t.token.clone(),
            range: start..end,
            depth: d,
        });
    }
    Ok((all, Tokens { toks }))
}

// ---------------------------------------------------------------------------------------------
// Steps 2-4.

/// Analyses an item statement. `placeholders` are the byte ranges of Mee placeholders in
/// `sql` (their index is what [`ParamValue::Placeholder`] refers to); `escapes` are the ranges
/// of `%%` escapes, which become `%`. Every error found is returned, at its range in `sql`.
pub fn analyze_select(
    sql: &str,
    placeholders: &[Range<usize>],
    escapes: &[Range<usize>],
) -> Result<SelectAnalysis, Vec<SqlError>> {
    let markers = markers(sql, placeholders, escapes);
    let rw = rewrite(sql, &markers)?;
    let index = LineIndex::new(&rw.text);
    let map = rw.map.clone();
    let orig = |r: Range<usize>| map.range(r);

    let (with_spans, tokens) = match tokenize(&rw.text, &index) {
        Ok(t) => t,
        Err((message, at)) => {
            let at = at.unwrap_or(rw.text.len());
            let range = orig(at..(at + 1).min(rw.text.len()));
            return Err(vec![SqlError::new(
                codes::SQL_SYNTAX,
                range,
                "cannot parse statement",
                message,
            )]);
        }
    };

    // Every parameter must be a token of its own; a `?` glued to other text (`1%x` -> `1?`,
    // `%x:(1)2` -> `?2`) would not be the value the author meant.
    let mut errors = Vec::new();
    let mut param_tok = Vec::with_capacity(rw.params.len());
    for (p, &at) in rw.params.iter().zip(&rw.param_at) {
        match tokens.at(at) {
            Some(i) if matches!(&tokens.toks[i].token, Token::Placeholder(s) if s == "?") => {
                param_tok.push(i)
            }
            _ => errors.push(
                SqlError::new(
                    codes::PLACEHOLDER_NOT_A_VALUE,
                    p.range.clone(),
                    "placeholder is glued to the text next to it",
                    "not a value of its own",
                )
                .help("separate the placeholder from the text around it, e.g. with a space"),
            ),
        }
    }
    for (i, t) in tokens.toks.iter().enumerate() {
        if matches!(t.token, Token::Placeholder(_)) && !param_tok.contains(&i) {
            errors.push(
                SqlError::new(
                    codes::SQL_SYNTAX,
                    orig(t.range.clone()),
                    "unexpected SQL parameter",
                    "a bare parameter",
                )
                .help("write a Mee placeholder (`%key.column`) instead of a `?` parameter"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let parsed = Parser::new(&MySqlDialect {})
        .with_tokens_with_locations(with_spans)
        .parse_statements();
    let statements = match parsed {
        Ok(s) => s,
        Err(e) => return Err(vec![syntax_error(&e, &index, &tokens, &rw, &orig)]),
    };
    let cx = Cx {
        sql,
        tokens: &tokens,
        index: &index,
        map: &map,
        param_at: &rw.param_at,
    };
    let analysis = cx.analyze(&statements, &rw, param_tok)?;
    Ok(SelectAnalysis {
        sql: rw.text.clone(),
        params: rw.params,
        ignored_placeholders: rw.ignored,
        map,
        ..analysis
    })
}

/// A parse error: `PLACEHOLDER_NOT_A_VALUE` when sqlparser stumbled on a parameter (a
/// placeholder where a name or keyword must be), `SQL_SYNTAX` otherwise.
fn syntax_error(
    e: &sqlparser::parser::ParserError,
    index: &LineIndex<'_>,
    tokens: &Tokens,
    rw: &Rewritten,
    orig: &dyn Fn(Range<usize>) -> Range<usize>,
) -> SqlError {
    let (message, loc) = parser_error_location(e);
    let at = loc.and_then(|l| index.offset(l));
    let tok = match at {
        Some(at) => tokens.at_or_after(at),
        None => tokens.toks.len().checked_sub(1),
    };
    if let Some(p) = tok.and_then(|i| {
        rw.param_at
            .iter()
            .position(|&a| a == tokens.toks[i].range.start)
    }) {
        let mut err = not_a_value(
            rw.params[p].range.clone(),
            "SQL needs a name or keyword here",
        );
        err.message = format!("placeholder used where SQL cannot take a value ({message})");
        return err;
    }
    let range = match tok {
        Some(i) => orig(tokens.toks[i].range.clone()),
        None => orig(rw.text.len()..rw.text.len()),
    };
    let mut err = SqlError::new(codes::SQL_SYNTAX, range, "cannot parse statement", message);
    // `... LIMIT 10 ORDER BY id` is accepted by Mee's own check (the LIMIT is not at the end)
    // but MySQL rejects it too, and mee adds its own LIMIT.
    let limit_before = tok.is_some_and(|i| {
        (0..i).any(|j| tokens.toks[j].depth == 0 && tokens.toks[j].is_keyword(Keyword::LIMIT))
    });
    if limit_before {
        err = err.help(
            "MySQL requires `ORDER BY` before `LIMIT`, and mee adds its own `LIMIT`: remove the \
             `LIMIT` clause",
        );
    }
    err
}

struct Cx<'a> {
    /// The statement as the author wrote it.
    sql: &'a str,
    tokens: &'a Tokens,
    index: &'a LineIndex<'a>,
    map: &'a PositionMap,
    param_at: &'a [usize],
}

fn structure(
    range: Range<usize>,
    message: impl Into<String>,
    label: impl Into<String>,
    help: &str,
) -> SqlError {
    SqlError::new(codes::NOT_A_SELECT, range, message, label).help(help)
}

const ONE_TABLE_HELP: &str = "each item reads one table; express a join as a separate item \
    whose statement refers to this item's row (`where id = %__master.other_id`)";
const PLAIN_SELECT_HELP: &str = "an item's statement is one `SELECT ... FROM <table> WHERE ...`";

impl Cx<'_> {
    fn orig(&self, r: Range<usize>) -> Range<usize> {
        self.map.range(r)
    }

    /// The statement range of an AST span (exact for identifiers and values).
    fn span(&self, s: sqlparser::tokenizer::Span) -> Option<Range<usize>> {
        let a = self.index.offset(s.start)?;
        let b = self.index.offset(s.end)?;
        Some(self.orig(a..b.max(a)))
    }

    fn tok_range(&self, i: usize) -> Range<usize> {
        self.orig(self.tokens.toks[i].range.clone())
    }

    fn whole(&self) -> Range<usize> {
        match (self.tokens.toks.first(), self.tokens.toks.last()) {
            (Some(a), Some(b)) => self.orig(a.range.start..b.range.end),
            _ => 0..0,
        }
    }

    fn param_index(&self, loc: Location) -> Option<usize> {
        let at = self.index.offset(loc)?;
        self.param_at.iter().position(|&p| p == at)
    }

    fn analyze(
        &self,
        statements: &[Statement],
        rw: &Rewritten,
        param_tok: Vec<usize>,
    ) -> Result<SelectAnalysis, Vec<SqlError>> {
        let toks = &self.tokens.toks;
        let semis: Vec<usize> = (0..toks.len())
            .filter(|&i| toks[i].depth == 0 && toks[i].token == Token::SemiColon)
            .collect();
        let stmt = match statements {
            [one] => one,
            [] => {
                return Err(vec![structure(
                    self.whole(),
                    "empty statement",
                    "no SQL here",
                    PLAIN_SELECT_HELP,
                )]);
            }
            [..] => {
                let second =
                    semis
                        .iter()
                        .find(|&&s| s + 1 < toks.len())
                        .map_or(self.whole(), |&s| {
                            let r = self.tok_range(s + 1);
                            r.start..self.whole().end
                        });
                return Err(vec![structure(
                    second,
                    "more than one SQL statement",
                    "a second statement",
                    PLAIN_SELECT_HELP,
                )]);
            }
        };
        let Statement::Query(q) = stmt else {
            let first = self.tok_range(0);
            return Err(vec![structure(
                first,
                "statement is not a `SELECT`",
                "expected `SELECT`",
                PLAIN_SELECT_HELP,
            )]);
        };
        let mut errors = Vec::new();
        if q.with.is_some() {
            let r = self
                .tokens
                .find(0, |t| t.is_keyword(Keyword::WITH))
                .map_or(self.whole(), |i| self.tok_range(i));
            errors.push(structure(
                r,
                "`WITH` is not supported",
                "common table expression",
                PLAIN_SELECT_HELP,
            ));
        }
        let select = match &*q.body {
            SetExpr::Select(s) => s,
            SetExpr::SetOperation { .. } => {
                let r = self
                    .tokens
                    .find(0, |t| {
                        t.is_any_keyword(&[Keyword::UNION, Keyword::EXCEPT, Keyword::INTERSECT])
                    })
                    .map_or(self.whole(), |i| self.tok_range(i));
                errors.push(structure(
                    r,
                    "`UNION` and other set operations are not supported",
                    "combines several queries",
                    ONE_TABLE_HELP,
                ));
                return Err(errors);
            }
            _ => {
                errors.push(structure(
                    self.whole(),
                    "statement is not a plain `SELECT`",
                    "expected `SELECT ... FROM ...`",
                    PLAIN_SELECT_HELP,
                ));
                return Err(errors);
            }
        };
        let end = semis.first().copied().unwrap_or(toks.len()); // Tokens of the statement.
        if q.limit_clause.is_some()
            && let Some(l) = self.tokens.find(0, |t| t.is_keyword(Keyword::LIMIT))
        {
            let clause_end = self
                .tokens
                .find(l + 1, |t| t.is_any_keyword(CLAUSE_KEYWORDS))
                .unwrap_or(end)
                .min(end);
            let message = if clause_end == end {
                "statement ends with a `LIMIT` clause"
            } else {
                "statement has a `LIMIT` clause"
            };
            let r = self.orig(self.tokens.range(l, clause_end.max(l + 1)));
            errors.push(
                SqlError::new(
                    codes::TRAILING_LIMIT,
                    r,
                    message,
                    "mee adds its own `LIMIT`",
                )
                .help(
                    "remove the `LIMIT` clause: mee reads one row per item, or pages by primary \
                     key itself",
                ),
            );
        }
        if q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || select.into.is_some()
        {
            let r = self
                .tokens
                .find(0, |t| {
                    t.is_any_keyword(&[Keyword::FETCH, Keyword::FOR, Keyword::LOCK, Keyword::INTO])
                })
                .map_or(self.whole(), |i| {
                    self.orig(self.tokens.range(i, end.max(i + 1)))
                });
            errors.push(structure(
                r,
                "statement has a clause mee cannot run",
                "`FOR UPDATE`, `INTO`, `FETCH` or a lock",
                PLAIN_SELECT_HELP,
            ));
        }

        // The table.
        let table = match select.from.as_slice() {
            [] => {
                errors.push(structure(
                    self.whole(),
                    "statement reads no table",
                    "missing `FROM <table>`",
                    PLAIN_SELECT_HELP,
                ));
                None
            }
            [twj, rest @ ..] => {
                for extra in rest {
                    let r = self.factor_range(&extra.relation).unwrap_or(self.whole());
                    errors.push(structure(
                        r,
                        "statement reads more than one table",
                        "second table",
                        ONE_TABLE_HELP,
                    ));
                }
                for join in &twj.joins {
                    let r = self.factor_range(&join.relation).unwrap_or(self.whole());
                    errors.push(structure(
                        r,
                        "joins are not supported",
                        "joined table",
                        ONE_TABLE_HELP,
                    ));
                }
                match &twj.relation {
                    TableFactor::Table {
                        name,
                        alias,
                        args: None,
                        ..
                    } => match self.table_ref(name, alias.as_ref().map(|a| &a.name)) {
                        Some(t) => Some(t),
                        None => {
                            errors.push(structure(
                                self.factor_range(&twj.relation).unwrap_or(self.whole()),
                                "unsupported table name",
                                "expected `table` or `database.table`",
                                PLAIN_SELECT_HELP,
                            ));
                            None
                        }
                    },
                    other => {
                        let r = self.factor_range(other).unwrap_or(self.whole());
                        errors.push(structure(
                            r,
                            "statement must read a table, not a subquery or function",
                            "not a table",
                            ONE_TABLE_HELP,
                        ));
                        None
                    }
                }
            }
        };

        // Clause layout by depth-0 keywords.
        let from = self.tokens.find(0, |t| t.is_keyword(Keyword::FROM));
        let where_kw = match (&select.selection, from) {
            (Some(_), Some(f)) => self.tokens.find(f + 1, |t| t.is_keyword(Keyword::WHERE)),
            _ => None,
        };
        let where_end = where_kw.map(|w| {
            self.tokens
                .find(w + 1, |t| t.is_any_keyword(CLAUSE_KEYWORDS))
                .unwrap_or(end)
                .min(end)
        });
        let head_end = match (where_kw, from) {
            (Some(w), _) => w,
            (None, Some(f)) => self.insertion_point(f + 1, end),
            (None, None) => end,
        };
        let after_where = where_end.unwrap_or(head_end);
        let order_kw = if q.order_by.is_some() {
            self.tokens
                .find(after_where, |t| t.is_keyword(Keyword::ORDER))
                .filter(|&o| o < end)
        } else {
            None
        };
        let middle_end = order_kw.unwrap_or(end);
        let order_end = order_kw.map(|o| {
            self.tokens
                .find(o + 1, |t| {
                    t.is_any_keyword(&[Keyword::LIMIT, Keyword::FOR, Keyword::LOCK])
                })
                .unwrap_or(end)
                .min(end)
        });

        // Parameters only make sense as values in WHERE.
        for (p, &ti) in param_tok.iter().enumerate() {
            let inside = matches!((where_kw, where_end), (Some(w), Some(e)) if w < ti && ti < e);
            if !inside {
                let mut err = not_a_value(rw.params[p].range.clone(), "outside the `WHERE` clause");
                err.message = "placeholder outside the `WHERE` clause".into();
                err.help = Some(
                    "a parameter outside `WHERE` is a constant to SQL, not a column or clause; \
                     use placeholders only as values in `WHERE` conditions"
                        .into(),
                );
                errors.push(err);
            }
        }
        let Some(table) = table else {
            return Err(errors);
        };

        // Columns, select list, conjuncts, order.
        let mut columns = Vec::new();
        let projection = self.projection(
            select,
            from.unwrap_or(end),
            &table,
            &mut columns,
            &mut errors,
        );
        let aliases: Vec<String> = projection
            .iter()
            .filter_map(|p| match p {
                ProjectionItem::Column { alias: Some(a), .. } => Some(a.to_lowercase()),
                ProjectionItem::Expr { output_name, .. } => Some(output_name.to_lowercase()),
                _ => None,
            })
            .collect();
        let mut conjuncts = Vec::new();
        if let (Some(expr), Some(w), Some(e)) = (&select.selection, where_kw, where_end) {
            let mut leaves = Vec::new();
            if w + 1 < e {
                self.split(expr, w + 1, e, &mut leaves);
            }
            for (leaf, lo, hi) in leaves {
                let rw_range = self.tokens.range(lo, hi);
                let mut refs = Vec::new();
                let has_subquery = self.collect(leaf, &table, &mut refs, &mut errors);
                columns.extend(refs.iter().cloned());
                let params = (0..self.param_at.len())
                    .filter(|&p| rw_range.contains(&self.param_at[p]))
                    .collect();
                conjuncts.push(Conjunct {
                    kind: self.classify(leaf, &table),
                    range: self.orig(rw_range.clone()),
                    columns: refs,
                    params,
                    has_subquery,
                    // A bare `a OR b` conjunct (the whole WHERE) needs parentheses once other
                    // conditions are added; a parenthesised one already has them.
                    needs_parens: matches!(
                        leaf,
                        Expr::BinaryOp {
                            op: BinaryOperator::Or | BinaryOperator::Xor,
                            ..
                        }
                    ),
                    rw: rw_range,
                });
            }
        }
        if let sqlparser::ast::GroupByExpr::Expressions(exprs, _) = &select.group_by {
            for e in exprs {
                self.collect_unaliased(e, &table, &aliases, &mut columns, &mut errors);
            }
        }
        if let Some(h) = &select.having {
            self.collect_unaliased(h, &table, &aliases, &mut columns, &mut errors);
        }
        let mut order_by = Vec::new();
        if let Some(ob) = &q.order_by
            && let sqlparser::ast::OrderByKind::Expressions(items) = &ob.kind
        {
            let pieces = match (order_kw, order_end) {
                // Skip `ORDER BY`.
                (Some(o), Some(e)) if o + 2 < e => self.split_commas(o + 2, e),
                _ => Vec::new(),
            };
            for (n, item) in items.iter().enumerate() {
                let range = match pieces.get(n) {
                    Some(&(lo, hi)) if pieces.len() == items.len() => {
                        self.orig(self.tokens.range(lo, hi))
                    }
                    _ => self.expr_range(&item.expr).unwrap_or(self.whole()),
                };
                let column = match strip(&item.expr) {
                    Expr::Identifier(i) if aliases.contains(&i.value.to_lowercase()) => None,
                    e => self.column_ref(e, &table, &mut errors),
                };
                self.collect_unaliased(&item.expr, &table, &aliases, &mut columns, &mut errors);
                order_by.push(OrderItem {
                    column,
                    descending: matches!(
                        item.options.sort,
                        Some(sqlparser::ast::OrderBySort::Desc)
                    ),
                    range,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        let span_of = |lo: usize, hi: usize| {
            if lo < hi {
                self.tokens.range(lo, hi)
            } else {
                0..0
            }
        };
        let layout = Layout {
            head: span_of(0, head_end),
            middle: span_of(after_where, middle_end),
            order: order_kw
                .zip(order_end)
                .map(|(o, e)| self.tokens.range(o, e)),
            param_at: self.param_at.to_vec(),
        };
        Ok(SelectAnalysis {
            sql: String::new(),
            table,
            projection,
            params: Vec::new(),
            conjuncts,
            order_by,
            ignored_placeholders: Vec::new(),
            columns,
            map: PositionMap::default(),
            layout,
        })
    }

    /// Where a `WHERE` clause would start in a statement without one: the first clause
    /// keyword after `FROM`, skipping index hints (`FORCE INDEX FOR ORDER BY (idx)`).
    fn insertion_point(&self, from: usize, end: usize) -> usize {
        let toks = &self.tokens.toks;
        let mut in_hint = false;
        for (i, t) in toks.iter().enumerate().take(end).skip(from) {
            if t.depth != 0 {
                continue;
            }
            if t.is_any_keyword(&[Keyword::USE, Keyword::FORCE, Keyword::IGNORE]) {
                in_hint = true;
            } else if in_hint && t.token == Token::RParen {
                in_hint = false;
            } else if !in_hint && t.is_any_keyword(CLAUSE_KEYWORDS) {
                return i;
            }
        }
        end
    }

    fn table_ref(&self, name: &ObjectName, alias: Option<&Ident>) -> Option<TableRef> {
        let parts: Vec<&Ident> = name.0.iter().map(|p| p.as_ident()).collect::<Option<_>>()?;
        let (database, table) = match parts.as_slice() {
            [t] => (None, *t),
            [d, t] => (Some(d.value.clone()), *t),
            _ => return None,
        };
        let first = parts.first()?;
        let range = self.span(first.span.union(&table.span))?;
        Some(TableRef {
            database,
            name: table.value.clone(),
            alias: alias.map(|a| a.value.clone()),
            range,
        })
    }

    fn factor_range(&self, f: &TableFactor) -> Option<Range<usize>> {
        match f {
            TableFactor::Table { name, .. } => {
                let first = name.0.first()?.as_ident()?;
                let last = name.0.last()?.as_ident()?;
                self.span(first.span.union(&last.span))
            }
            TableFactor::Derived { subquery, .. } => self.query_range(subquery),
            _ => None,
        }
    }

    fn query_range(&self, q: &Query) -> Option<Range<usize>> {
        use sqlparser::ast::Spanned;
        self.span(q.span())
    }

    fn expr_range(&self, e: &Expr) -> Option<Range<usize>> {
        use sqlparser::ast::Spanned;
        self.span(e.span())
    }

    /// Splits tokens `lo..hi` at depth-0 commas into `(lo, hi)` pieces.
    fn split_commas(&self, lo: usize, hi: usize) -> Vec<(usize, usize)> {
        let toks = &self.tokens.toks;
        let base = toks[lo].depth;
        let mut out = Vec::new();
        let mut start = lo;
        for (i, t) in toks.iter().enumerate().take(hi).skip(lo) {
            if t.depth == base && t.token == Token::Comma {
                out.push((start, i));
                start = i + 1;
            }
        }
        out.push((start, hi));
        out.retain(|(a, b)| a < b);
        out
    }

    fn projection(
        &self,
        select: &sqlparser::ast::Select,
        from: usize,
        table: &TableRef,
        columns: &mut Vec<ColumnRef>,
        errors: &mut Vec<SqlError>,
    ) -> Vec<ProjectionItem> {
        const MODIFIERS: &[Keyword] = &[
            Keyword::DISTINCT,
            Keyword::ALL,
            Keyword::DISTINCTROW,
            Keyword::HIGH_PRIORITY,
            Keyword::STRAIGHT_JOIN,
            Keyword::SQL_SMALL_RESULT,
            Keyword::SQL_BIG_RESULT,
            Keyword::SQL_BUFFER_RESULT,
            Keyword::SQL_NO_CACHE,
            Keyword::SQL_CALC_FOUND_ROWS,
        ];
        let mut lo = 1;
        while lo < from && self.tokens.toks[lo].is_any_keyword(MODIFIERS) {
            lo += 1;
        }
        let pieces = if lo < from {
            self.split_commas(lo, from)
        } else {
            Vec::new()
        };
        let exact = pieces.len() == select.projection.len();
        let mut out = Vec::new();
        for (n, item) in select.projection.iter().enumerate() {
            let rw = exact.then(|| self.tokens.range(pieces[n].0, pieces[n].1));
            let range = rw.clone().map(|r| self.orig(r));
            match item {
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    out.push(ProjectionItem::Wildcard {
                        range: range.unwrap_or(self.whole()),
                    });
                }
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    let alias = match item {
                        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
                        _ => None,
                    };
                    let range = range.or_else(|| self.expr_range(e)).unwrap_or(self.whole());
                    let mut refs = Vec::new();
                    self.collect(e, table, &mut refs, errors);
                    columns.extend(refs.iter().cloned());
                    match (strip(e), refs.as_slice()) {
                        (Expr::Identifier(_) | Expr::CompoundIdentifier(_), [one]) => {
                            out.push(ProjectionItem::Column {
                                column: one.clone(),
                                alias,
                                range,
                            });
                        }
                        _ => {
                            let output_name = alias.unwrap_or_else(|| {
                                rw.map_or_else(|| e.to_string(), |r| self.text_of(r))
                            });
                            out.push(ProjectionItem::Expr {
                                output_name,
                                columns: refs,
                                range,
                            });
                        }
                    }
                }
                SelectItem::ExprWithAliases { expr, .. } => {
                    let range = range
                        .or_else(|| self.expr_range(expr))
                        .unwrap_or(self.whole());
                    out.push(ProjectionItem::Expr {
                        output_name: expr.to_string(),
                        columns: Vec::new(),
                        range,
                    });
                }
            }
        }
        out
    }

    /// The statement text of a rewritten range (MySQL names an unaliased expression column by
    /// its text as written).
    fn text_of(&self, rw: Range<usize>) -> String {
        self.sql.get(self.orig(rw)).unwrap_or_default().to_string()
    }

    /// Splits an `AND` chain over tokens `lo..hi` into leaves, descending into parentheses
    /// whose content is itself an `AND` chain. When the tokens do not line up with the AST
    /// (an operator written as `&&`, say), the expression stays one conjunct.
    fn split<'e>(
        &self,
        expr: &'e Expr,
        lo: usize,
        hi: usize,
        out: &mut Vec<(&'e Expr, usize, usize)>,
    ) {
        let toks = &self.tokens.toks;
        match expr {
            Expr::BinaryOp {
                op: BinaryOperator::And,
                ..
            } => {
                let mut leaves = Vec::new();
                flatten_and(expr, &mut leaves);
                match self.and_pieces(lo, hi) {
                    Some(pieces) if pieces.len() == leaves.len() => {
                        for (leaf, (a, b)) in leaves.into_iter().zip(pieces) {
                            self.split(leaf, a, b, out);
                        }
                    }
                    _ => out.push((expr, lo, hi)),
                }
            }
            Expr::Nested(inner)
                if matches!(
                    **inner,
                    Expr::BinaryOp {
                        op: BinaryOperator::And,
                        ..
                    } | Expr::Nested(_)
                ) && hi - lo >= 3
                    && toks[lo].token == Token::LParen
                    && toks[hi - 1].token == Token::RParen
                    && toks[lo].depth == toks[hi - 1].depth
                    && (lo + 1..hi - 1).all(|i| toks[i].depth > toks[lo].depth) =>
            {
                self.split(inner, lo + 1, hi - 1, out);
            }
            _ => out.push((expr, lo, hi)),
        }
    }

    /// Token ranges between the top-level `AND`s of `lo..hi`, or `None` when the text has an
    /// operator that binds looser than `AND` at the top level.
    fn and_pieces(&self, lo: usize, hi: usize) -> Option<Vec<(usize, usize)>> {
        let toks = &self.tokens.toks;
        let base = toks[lo].depth;
        let mut pieces = Vec::new();
        let mut start = lo;
        let mut case_depth = 0usize;
        let mut between = 0usize;
        for (i, t) in toks.iter().enumerate().take(hi).skip(lo) {
            if t.depth != base || (t.token == Token::LParen || t.token == Token::RParen) {
                continue;
            }
            if t.is_keyword(Keyword::CASE) {
                case_depth += 1;
            } else if t.is_keyword(Keyword::END) {
                case_depth = case_depth.saturating_sub(1);
            } else if case_depth > 0 {
                continue;
            } else if t.is_keyword(Keyword::BETWEEN) {
                between += 1;
            } else if t.is_any_keyword(&[Keyword::OR, Keyword::XOR])
                || t.token == Token::StringConcat
            {
                return None;
            } else if t.is_keyword(Keyword::AND) {
                if between > 0 {
                    between -= 1;
                } else {
                    pieces.push((start, i));
                    start = i + 1;
                }
            }
        }
        pieces.push((start, hi));
        pieces.iter().all(|(a, b)| a < b).then_some(pieces)
    }

    fn classify(&self, leaf: &Expr, table: &TableRef) -> ConjunctKind {
        let mut ignore = Vec::new();
        let mut col = |e: &Expr| self.column_ref(strip(e), table, &mut ignore);
        match strip(leaf) {
            Expr::BinaryOp { left, op, right } => {
                let Some(op) = Op::from_binary(op) else {
                    return ConjunctKind::Other;
                };
                let (column, other, op) = match (col(left), col(right)) {
                    (Some(c), None) => (c, &**right, op),
                    (None, Some(c)) => (c, &**left, op.flipped()),
                    _ => return ConjunctKind::Other,
                };
                if let Some(param) = self.param_of(other) {
                    return if op == Op::Eq {
                        ConjunctKind::Link { column, param }
                    } else {
                        ConjunctKind::Compare { column, op, param }
                    };
                }
                match literal(other) {
                    Some(v) => ConjunctKind::Constant {
                        column,
                        op,
                        values: vec![v],
                    },
                    None => ConjunctKind::Other,
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } => {
                let Some(column) = col(expr) else {
                    return ConjunctKind::Other;
                };
                let values: Option<Vec<Literal>> = list.iter().map(literal).collect();
                match values {
                    Some(values) if !values.is_empty() => ConjunctKind::Constant {
                        column,
                        op: Op::In,
                        values,
                    },
                    _ => ConjunctKind::Other,
                }
            }
            Expr::IsNull(e) => match col(e) {
                Some(column) => ConjunctKind::Constant {
                    column,
                    op: Op::IsNull,
                    values: Vec::new(),
                },
                None => ConjunctKind::Other,
            },
            Expr::IsNotNull(e) => match col(e) {
                Some(column) => ConjunctKind::Constant {
                    column,
                    op: Op::IsNotNull,
                    values: Vec::new(),
                },
                None => ConjunctKind::Other,
            },
            _ => ConjunctKind::Other,
        }
    }

    fn param_of(&self, e: &Expr) -> Option<usize> {
        match strip(e) {
            Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => {
                self.param_index(v.span.start)
            }
            _ => None,
        }
    }

    /// A column of the statement's table: `col`, `t.col`, `alias.col` or `db.t.col`. A
    /// qualifier naming another table is an error.
    fn column_ref(
        &self,
        e: &Expr,
        table: &TableRef,
        errors: &mut Vec<SqlError>,
    ) -> Option<ColumnRef> {
        let parts: Vec<&Ident> = match e {
            Expr::Identifier(i) => vec![i],
            Expr::CompoundIdentifier(parts) => parts.iter().collect(),
            _ => return None,
        };
        let (last, qualifier) = parts.split_last()?;
        let first = parts.first()?;
        let range = self.span(first.span.union(&last.span))?;
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let ok = match qualifier {
            [] => true,
            [t] => table
                .alias
                .as_deref()
                .map_or(same(&t.value, &table.name), |a| same(&t.value, a)),
            [d, t] => {
                table.alias.is_none()
                    && same(&t.value, &table.name)
                    && table
                        .database
                        .as_deref()
                        .is_none_or(|db| same(db, &d.value))
            }
            _ => false,
        };
        if !ok {
            errors.push(
                SqlError::new(
                    codes::UNKNOWN_COLUMN,
                    range,
                    format!(
                        "`{e}` does not name a column of `{}`",
                        table.alias.as_deref().unwrap_or(&table.name)
                    ),
                    "unknown table qualifier",
                )
                .help(format!(
                    "qualify columns with `{}` or not at all",
                    table.alias.as_deref().unwrap_or(&table.name)
                )),
            );
            return None;
        }
        Some(ColumnRef {
            name: last.value.clone(),
            range,
        })
    }

    /// Collects the column references in `e` (not descending into subqueries) and returns
    /// whether `e` contains a subquery.
    fn collect(
        &self,
        e: &Expr,
        table: &TableRef,
        out: &mut Vec<ColumnRef>,
        errors: &mut Vec<SqlError>,
    ) -> bool {
        let mut has_subquery = false;
        walk(e, &mut |node| match node {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                out.extend(self.column_ref(node, table, errors));
            }
            Expr::MatchAgainst { columns, .. } => {
                for c in columns {
                    let idents: Option<Vec<Ident>> =
                        c.0.iter().map(|p| p.as_ident().cloned()).collect();
                    if let Some(idents) = idents {
                        out.extend(self.column_ref(
                            &Expr::CompoundIdentifier(idents),
                            table,
                            errors,
                        ));
                    }
                }
            }
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                has_subquery = true
            }
            Expr::Function(f) if matches!(f.args, FunctionArguments::Subquery(_)) => {
                has_subquery = true
            }
            _ => {}
        });
        has_subquery
    }

    fn collect_unaliased(
        &self,
        e: &Expr,
        table: &TableRef,
        aliases: &[String],
        out: &mut Vec<ColumnRef>,
        errors: &mut Vec<SqlError>,
    ) {
        let mut refs = Vec::new();
        self.collect(e, table, &mut refs, errors);
        out.extend(
            refs.into_iter()
                .filter(|r| !aliases.contains(&r.name.to_lowercase())),
        );
    }
}

/// Removes redundant parentheses.
fn strip(mut e: &Expr) -> &Expr {
    while let Expr::Nested(inner) = e {
        e = inner;
    }
    e
}

/// The operands of an `AND` chain, left to right, without looking into parentheses.
fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        other => out.push(other),
    }
}

/// A literal value: a number (with its sign), a string or a boolean. `NULL` is not one: `col =
/// NULL` matches nothing in SQL, which no filter can express.
fn literal(e: &Expr) -> Option<Literal> {
    match strip(e) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => Some(Literal::Number(n.clone())),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                Some(Literal::String(s.clone()))
            }
            Value::Boolean(b) => Some(Literal::Bool(*b)),
            _ => None,
        },
        Expr::UnaryOp {
            op: op @ (UnaryOperator::Minus | UnaryOperator::Plus),
            expr,
        } => match literal(expr)? {
            Literal::Number(n) if *op == UnaryOperator::Minus => {
                Some(Literal::Number(match n.strip_prefix('-') {
                    Some(pos) => pos.to_string(),
                    None => format!("-{n}"),
                }))
            }
            Literal::Number(n) => Some(Literal::Number(n)),
            _ => None,
        },
        _ => None,
    }
}

/// Calls `f` on `e` and every expression inside it, except inside subqueries.
fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    let mut go = |c: &Expr| walk(c, f);
    match e {
        Expr::CompoundFieldAccess { root, .. } => go(root),
        Expr::JsonAccess { value, .. } => go(value),
        Expr::IsFalse(x)
        | Expr::IsNotFalse(x)
        | Expr::IsTrue(x)
        | Expr::IsNotTrue(x)
        | Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::IsUnknown(x)
        | Expr::IsNotUnknown(x)
        | Expr::UnaryOp { expr: x, .. }
        | Expr::Cast { expr: x, .. }
        | Expr::Extract { expr: x, .. }
        | Expr::Ceil { expr: x, .. }
        | Expr::Floor { expr: x, .. }
        | Expr::Collate { expr: x, .. }
        | Expr::Nested(x)
        | Expr::Prefixed { value: x, .. }
        | Expr::Named { expr: x, .. }
        | Expr::IsJson { expr: x, .. }
        | Expr::IsNormalized { expr: x, .. }
        | Expr::InSubquery { expr: x, .. }
        | Expr::OuterJoin(x)
        | Expr::Prior(x) => go(x),
        Expr::IsDistinctFrom(a, b)
        | Expr::IsNotDistinctFrom(a, b)
        | Expr::BinaryOp {
            left: a, right: b, ..
        }
        | Expr::AnyOp {
            left: a, right: b, ..
        }
        | Expr::AllOp {
            left: a, right: b, ..
        }
        | Expr::AtTimeZone {
            timestamp: a,
            time_zone: b,
        }
        | Expr::Position { expr: a, r#in: b }
        | Expr::InUnnest {
            expr: a,
            array_expr: b,
            ..
        }
        | Expr::RLike {
            expr: a,
            pattern: b,
            ..
        } => {
            go(a);
            go(b);
        }
        Expr::MemberOf(m) => {
            go(&m.value);
            go(&m.array);
        }
        Expr::InList { expr, list, .. } => {
            go(expr);
            list.iter().for_each(go);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            go(expr);
            go(low);
            go(high);
        }
        Expr::Like {
            expr,
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            expr,
            pattern,
            escape_char,
            ..
        }
        | Expr::SimilarTo {
            expr,
            pattern,
            escape_char,
            ..
        } => {
            go(expr);
            go(pattern);
            if let Some(c) = escape_char {
                go(c);
            }
        }
        Expr::Convert { expr, styles, .. } => {
            go(expr);
            styles.iter().for_each(go);
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            go(expr);
            substring_from
                .iter()
                .chain(substring_for)
                .for_each(|x| go(x));
        }
        Expr::Trim {
            expr,
            trim_what,
            trim_characters,
            ..
        } => {
            go(expr);
            trim_what.iter().for_each(|x| go(x));
            trim_characters.iter().flatten().for_each(go);
        }
        Expr::Overlay {
            expr,
            overlay_what,
            overlay_from,
            overlay_for,
        } => {
            go(expr);
            go(overlay_what);
            go(overlay_from);
            overlay_for.iter().for_each(|x| go(x));
        }
        Expr::Function(func) => {
            for args in [&func.parameters, &func.args] {
                if let FunctionArguments::List(list) = args {
                    for a in &list.args {
                        let arg = match a {
                            FunctionArg::Named { arg, .. }
                            | FunctionArg::ExprNamed { arg, .. }
                            | FunctionArg::Unnamed(arg) => arg,
                        };
                        if let FunctionArgExpr::Expr(x) = arg {
                            go(x);
                        }
                    }
                    for clause in &list.clauses {
                        match clause {
                            FunctionArgumentClause::OrderBy(items) => {
                                items.iter().for_each(|o| go(&o.expr))
                            }
                            FunctionArgumentClause::Where(x) | FunctionArgumentClause::Limit(x) => {
                                go(x)
                            }
                            _ => {}
                        }
                    }
                }
            }
            if let Some(x) = &func.filter {
                go(x);
            }
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.iter().for_each(|x| go(x));
            for c in conditions {
                go(&c.condition);
                go(&c.result);
            }
            else_result.iter().for_each(|x| go(x));
        }
        Expr::GroupingSets(v) | Expr::Cube(v) | Expr::Rollup(v) => v.iter().flatten().for_each(go),
        Expr::Tuple(v) => v.iter().for_each(go),
        Expr::Interval(i) => go(&i.value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finds placeholders and `%%` the way the handler stage does (Mee's grammar, §2.1), so
    /// tests can be written with the statements of the reference fixtures.
    fn scan(sql: &str) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
        let b = sql.as_bytes();
        let word = |mut j: usize| {
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            j
        };
        let (mut ph, mut esc) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                i += 1;
                continue;
            }
            if b.get(i + 1) == Some(&b'%') {
                esc.push(i..i + 2);
                i += 2;
                continue;
            }
            let mut j = word(i + 1);
            if j == i + 1 {
                i += 1;
                continue;
            }
            if b.get(j) == Some(&b'.') && word(j + 1) > j + 1 {
                j = word(j + 1);
            }
            if sql[j..].starts_with(":(") {
                let body = j + 2;
                let close = if b.get(body) == Some(&b'\'') {
                    let q = (body + 2..b.len()).find(|&k| b[k] == b'\'' && b[k - 1] != b'\\');
                    q.filter(|&k| b.get(k + 1) == Some(&b')')).map(|k| k + 1)
                } else {
                    sql[body..]
                        .find(')')
                        .map(|k| body + k)
                        .filter(|&k| k > body)
                };
                if let Some(c) = close {
                    j = c + 1;
                }
            }
            ph.push(i..j);
            i = j;
        }
        (ph, esc)
    }

    fn analyze(sql: &str) -> SelectAnalysis {
        let (ph, esc) = scan(sql);
        match analyze_select(sql, &ph, &esc) {
            Ok(a) => a,
            Err(e) => panic!("{sql}: {e:#?}"),
        }
    }

    fn errors(sql: &str) -> Vec<SqlError> {
        let (ph, esc) = scan(sql);
        match analyze_select(sql, &ph, &esc) {
            Ok(a) => panic!("{sql} was accepted: {a:#?}"),
            Err(e) => e,
        }
    }

    fn col(sql: &str, name: &str) -> ColumnRef {
        let start = sql.find(name).expect("name in statement");
        ColumnRef {
            name: name.to_string(),
            range: start..start + name.len(),
        }
    }

    fn kinds(a: &SelectAnalysis) -> Vec<ConjunctKind> {
        a.conjuncts.iter().map(|c| c.kind.clone()).collect()
    }

    fn num(n: &str) -> Literal {
        Literal::Number(n.to_string())
    }

    /// Rendered SQL must be MySQL that sqlparser reads back, with only `?` parameters.
    fn assert_parses(r: &Rendered) {
        let parsed = Parser::parse_sql(&MySqlDialect {}, &r.sql);
        assert!(
            matches!(parsed.as_deref(), Ok([Statement::Query(_)])),
            "{}: {parsed:?}",
            r.sql
        );
        assert_eq!(r.sql.matches('?').count(), r.params.len(), "{}", r.sql);
    }

    fn all(_: usize) -> bool {
        true
    }

    #[test]
    fn master_paging_statement() {
        let sql = "select * from vehicle where id > %__last.id:(0)";
        let a = analyze(sql);
        assert_eq!(a.sql, "select * from vehicle where id > ?");
        assert_eq!(
            a.table,
            TableRef {
                database: None,
                name: "vehicle".into(),
                alias: None,
                range: 14..21
            }
        );
        assert!(a.selects_all());
        assert_eq!(
            a.params,
            vec![Param {
                value: ParamValue::Placeholder(0),
                quoted: false,
                range: 33..47
            }]
        );
        assert_eq!(
            kinds(&a),
            vec![ConjunctKind::Compare {
                column: col(sql, "id"),
                op: Op::Gt,
                param: 0
            }]
        );
        assert_eq!(&sql[a.conjuncts[0].range.clone()], "id > %__last.id:(0)");

        // (a) One row, as Mee reads it.
        let one = a.render(&all, None, None, Some("1"));
        assert_eq!(one.sql, "select * from vehicle WHERE id > ? LIMIT 1");
        assert_eq!(one.params, vec![ParamSlot::Statement(0)]);
        assert_parses(&one);
        // (b) A page of masters by primary key.
        let page = a.render(&|i| i != 0, Some("id > ?"), Some("id"), Some("?"));
        assert_eq!(
            page.sql,
            "select * from vehicle WHERE id > ? ORDER BY id LIMIT ?"
        );
        assert_eq!(page.params, vec![ParamSlot::Extra(0), ParamSlot::Limit(0)]);
        assert_parses(&page);
        // (d) Incremental: the changed masters.
        let changed = a.render(&|_| false, Some("id IN (?, ?, ?)"), None, None);
        assert_eq!(changed.sql, "select * from vehicle WHERE id IN (?, ?, ?)");
        assert_eq!(
            changed.params,
            vec![
                ParamSlot::Extra(0),
                ParamSlot::Extra(1),
                ParamSlot::Extra(2)
            ]
        );
        assert_parses(&changed);
    }

    #[test]
    fn dependent_statement_with_link_and_filter() {
        let sql =
            "select * from relation_captain_vehicle where vehicle_id = %__master.id and status = 1";
        let a = analyze(sql);
        assert_eq!(
            kinds(&a),
            vec![
                ConjunctKind::Link {
                    column: col(sql, "vehicle_id"),
                    param: 0
                },
                ConjunctKind::Constant {
                    column: col(sql, "status"),
                    op: Op::Eq,
                    values: vec![num("1")]
                },
            ]
        );
        assert_eq!(a.conjuncts[0].params, vec![0]);
        assert_eq!(&sql[a.conjuncts[1].range.clone()], "status = 1");
        // (c) The dependents of a whole page of masters in one query.
        let batch = a.render(
            &|i| !matches!(a.conjuncts[i].kind, ConjunctKind::Link { .. }),
            Some("vehicle_id IN (?, ?)"),
            None,
            None,
        );
        assert_eq!(
            batch.sql,
            "select * from relation_captain_vehicle WHERE status = 1 AND vehicle_id IN (?, ?)"
        );
        assert_eq!(batch.params, vec![ParamSlot::Extra(0), ParamSlot::Extra(1)]);
        assert_parses(&batch);
        let names: Vec<&str> = a
            .columns_referenced()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["vehicle_id", "status"]);
    }

    #[test]
    fn nested_master_with_quoted_parent_placeholder() {
        let sql = "select * from it where id > %__last.id:(0) and m_code = '%__parent.code' and status = 1";
        let a = analyze(sql);
        assert_eq!(
            a.sql,
            "select * from it where id > ? and m_code = ? and status = 1"
        );
        let quoted = sql.find("'%__parent").expect("in sql");
        assert_eq!(
            a.params[1],
            Param {
                value: ParamValue::Placeholder(1),
                quoted: true,
                range: quoted..quoted + 16
            }
        );
        assert_eq!(
            kinds(&a),
            vec![
                ConjunctKind::Compare {
                    column: col(sql, "id"),
                    op: Op::Gt,
                    param: 0
                },
                ConjunctKind::Link {
                    column: col(sql, "m_code"),
                    param: 1
                },
                ConjunctKind::Constant {
                    column: col(sql, "status"),
                    op: Op::Eq,
                    values: vec![num("1")]
                },
            ]
        );
        assert_eq!(
            &sql[a.conjuncts[1].range.clone()],
            "m_code = '%__parent.code'"
        );
        let r = a.render(&all, None, None, Some("1"));
        assert_eq!(
            r.sql,
            "select * from it WHERE id > ? AND m_code = ? AND status = 1 LIMIT 1"
        );
        assert_eq!(
            r.params,
            vec![ParamSlot::Statement(0), ParamSlot::Statement(1)]
        );
        assert_parses(&r);
    }

    #[test]
    fn in_list_and_chained_defaults() {
        let sql =
            "select * from loan_base where user_id = %__master.id and status in (100, 101, 102)";
        let a = analyze(sql);
        assert_eq!(
            a.conjuncts[1].kind,
            ConjunctKind::Constant {
                column: col(sql, "status"),
                op: Op::In,
                values: vec![num("100"), num("101"), num("102")]
            }
        );
        assert_eq!(
            &sql[a.conjuncts[1].range.clone()],
            "status in (100, 101, 102)"
        );
        let sql = "select * from users where id = %relations_1.auditor_id:(0)";
        let a = analyze(sql);
        assert_eq!(
            kinds(&a),
            vec![ConjunctKind::Link {
                column: col(sql, "id"),
                param: 0
            }]
        );
        // Either order of a link.
        let sql = "select * from credit where %__master.id = user_id and status = 0";
        assert_eq!(
            analyze(sql).conjuncts[0].kind,
            ConjunctKind::Link {
                column: col(sql, "user_id"),
                param: 0
            }
        );
    }

    #[test]
    fn constants_are_normalised() {
        let sql = "select * from t where -5 < score and 'x' = name and flag is null and gone is not null \
                   and a <> 3 and b != 'q' and c >= 1.5 and d = true and e = +2 and f = null";
        let a = analyze(sql);
        // The column at the start of the conjunct that begins with `context`.
        let c = |context: &str, name: &str| {
            let at = sql.find(context).expect("context in statement")
                + context.find(name).expect("name in context");
            ColumnRef {
                name: name.to_string(),
                range: at..at + name.len(),
            }
        };
        let k = |column, op, values| ConjunctKind::Constant { column, op, values };
        assert_eq!(
            kinds(&a),
            vec![
                k(c("< score", "score"), Op::Gt, vec![num("-5")]),
                k(
                    c("= name", "name"),
                    Op::Eq,
                    vec![Literal::String("x".into())]
                ),
                k(c("flag", "flag"), Op::IsNull, vec![]),
                k(c("gone", "gone"), Op::IsNotNull, vec![]),
                k(c("a <>", "a"), Op::NotEq, vec![num("3")]),
                k(c("b !=", "b"), Op::NotEq, vec![Literal::String("q".into())]),
                k(c("c >=", "c"), Op::GtEq, vec![num("1.5")]),
                k(c("d = true", "d"), Op::Eq, vec![Literal::Bool(true)]),
                k(c("e = +2", "e"), Op::Eq, vec![num("2")]),
                // `= NULL` matches nothing in SQL, so it is not a filter.
                ConjunctKind::Other,
            ]
        );
        assert_eq!(&sql[a.conjuncts[2].range.clone()], "flag is null");
        let sql = "select * from t where %x >= created_at and updated_at < %y";
        assert_eq!(
            kinds(&analyze(sql)),
            vec![
                ConjunctKind::Compare {
                    column: col(sql, "created_at"),
                    op: Op::LtEq,
                    param: 0
                },
                ConjunctKind::Compare {
                    column: col(sql, "updated_at"),
                    op: Op::Lt,
                    param: 1
                },
            ]
        );
    }

    #[test]
    fn conjuncts_through_parentheses_between_and_case() {
        let sql = "select * from t where (a = 1 and (b = %x)) and c between 1 and 2 \
                   and (d = 1 or e = 2) and case when f and g then 1 end = 1";
        let a = analyze(sql);
        let texts: Vec<&str> = a.conjuncts.iter().map(|c| &sql[c.range.clone()]).collect();
        assert_eq!(
            texts,
            [
                "a = 1",
                "(b = %x)",
                "c between 1 and 2",
                "(d = 1 or e = 2)",
                "case when f and g then 1 end = 1"
            ]
        );
        assert!(matches!(a.conjuncts[1].kind, ConjunctKind::Link { .. }));
        assert_eq!(a.conjuncts[2].kind, ConjunctKind::Other);
        let r = a.render(&|i| i != 1, Some("b IN (?)"), None, None);
        assert_eq!(
            r.sql,
            "select * from t WHERE a = 1 AND c between 1 and 2 AND (d = 1 or e = 2) AND \
             case when f and g then 1 end = 1 AND b IN (?)"
        );
        assert_parses(&r);
    }

    #[test]
    fn a_top_level_or_stays_one_conjunct_and_gets_parentheses() {
        let sql = "select * from t where a = %x or b = 2";
        let a = analyze(sql);
        assert_eq!(a.conjuncts.len(), 1);
        let r = a.render(&all, Some("id > ?"), None, None);
        assert_eq!(r.sql, "select * from t WHERE (a = ? or b = 2) AND id > ?");
        assert_eq!(r.params, vec![ParamSlot::Statement(0), ParamSlot::Extra(0)]);
        let r = a.render(&|_| false, Some("x = 1 OR y = ?"), None, None);
        assert_eq!(r.sql, "select * from t WHERE (x = 1 OR y = ?)");
        assert_parses(&r);
    }

    #[test]
    fn templates_and_escapes() {
        let sql = "select * from t where code = 'A-%x' and name like '%%%y%%' and \
                   date_format(d, '%%Y') = 'it''s' and note = 'a\\'b%z:(')')'";
        let a = analyze(sql);
        assert_eq!(
            a.sql,
            "select * from t where code = ? and name like ? and date_format(d, '%Y') = 'it''s' and note = ?"
        );
        let values: Vec<ParamValue> = a.params.iter().map(|p| p.value.clone()).collect();
        use TemplatePiece::{Placeholder as P, Text};
        assert_eq!(
            values,
            vec![
                ParamValue::Template(vec![Text("A-".into()), P(0)]),
                ParamValue::Template(vec![Text("%".into()), P(1), Text("%".into())]),
                ParamValue::Template(vec![Text("a'b".into()), P(2)]),
            ]
        );
        assert!(a.params.iter().all(|p| p.quoted));
        assert_eq!(&sql[a.params[2].range.clone()], "'a\\'b%z:(')')'");
        assert!(matches!(a.conjuncts[0].kind, ConjunctKind::Link { .. }));
        assert_eq!(a.conjuncts[1].kind, ConjunctKind::Other);
        assert_parses(&a.render(&all, None, None, Some("1")));
    }

    #[test]
    fn positions_map_back_through_rewrites() {
        let sql = "select *\n  from users\n where id = %__master.id:(0)\n   and Status = 1 and name = 'x%%'";
        let a = analyze(sql);
        let status = a
            .columns_referenced()
            .iter()
            .find(|c| c.name == "Status")
            .expect("column");
        assert_eq!(&sql[status.range.clone()], "Status");
        let q = a.sql.find('?').expect("parameter");
        assert_eq!(&sql[a.original_range(q..q + 1)], "%__master.id:(0)");
        // A point inside a replaced piece maps to its start; a copied range maps one to one.
        let tail = a.sql.find("and Status").expect("text");
        assert_eq!(&sql[a.original_range(tail..tail + 10)], "and Status");
        let lit = a.sql.find("'x%'").expect("escape rewritten");
        assert_eq!(&sql[a.original_range(lit..lit + 4)], "'x%%'");
    }

    #[test]
    fn syntax_error_in_a_multi_line_statement_is_located() {
        let sql = "select *\n  from users\n where id = %__master.id:(0)\n   and status = = 1";
        let e = errors(sql);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, codes::SQL_SYNTAX);
        let at = sql.rfind("= 1").expect("second =");
        assert_eq!(e[0].range, at..at + 1);
        assert!(
            e[0].label.starts_with("Expected: an expression"),
            "{}",
            e[0].label
        );
    }

    #[test]
    fn trailing_limit_is_rejected() {
        let sql = "select * from t where id > %__last.id:(0) limit 10";
        let e = errors(sql);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, codes::TRAILING_LIMIT);
        assert_eq!(&sql[e[0].range.clone()], "limit 10");
        assert_eq!(
            errors("select * from t LIMIT 5, 10")[0].code,
            codes::TRAILING_LIMIT
        );
        // Mee accepts `limit 10 order by id` (the LIMIT is not at the end), but MySQL and
        // sqlparser reject it; the error says why.
        let sql = "select * from t where a = 1 limit 10 order by id";
        let e = errors(sql);
        assert_eq!(e[0].code, codes::SQL_SYNTAX);
        assert_eq!(&sql[e[0].range.clone()], "order");
        assert!(e[0].help.as_deref().is_some_and(|h| h.contains("ORDER BY")));
    }

    #[test]
    fn one_plain_select_of_one_table() {
        let sql = "select * from a join b on a.id = b.a_id where a.id = %x";
        let e = errors(sql);
        assert_eq!(e[0].code, codes::NOT_A_SELECT);
        assert_eq!(e[0].message, "joins are not supported");
        assert_eq!(&sql[e[0].range.clone()], "b");
        assert!(
            e[0].help
                .as_deref()
                .is_some_and(|h| h.contains("separate item"))
        );
        let sql = "select * from a, b where a.id = 1";
        assert_eq!(&sql[errors(sql)[0].range.clone()], "b");
        let sql = "select id from a union select id from b";
        let e = errors(sql);
        assert_eq!(
            (e[0].code, &sql[e[0].range.clone()]),
            (codes::NOT_A_SELECT, "union")
        );
        let sql = "update a set x = 1";
        assert_eq!(errors(sql)[0].message, "statement is not a `SELECT`");
        let sql = "select * from a; select * from b";
        let e = errors(sql);
        assert_eq!(
            (e[0].message.as_str(), &sql[e[0].range.clone()]),
            ("more than one SQL statement", "select * from b")
        );
        assert_eq!(
            errors("select * from (select 1) x")[0].code,
            codes::NOT_A_SELECT
        );
        assert_eq!(errors("select 1")[0].message, "statement reads no table");
        assert_eq!(
            errors("select * from t for update")[0].code,
            codes::NOT_A_SELECT
        );
        // A trailing semicolon is fine and is not rendered.
        let a = analyze("select * from shop.orders o where o.id = %x;");
        assert_eq!(a.table.database.as_deref(), Some("shop"));
        assert_eq!(a.table.alias.as_deref(), Some("o"));
        assert_eq!(
            a.render(&all, None, None, Some("1")).sql,
            "select * from shop.orders o WHERE o.id = ? LIMIT 1"
        );
    }

    #[test]
    fn placeholders_that_are_not_values() {
        let sql = "select * from %__master.tbl where id = 1";
        let e = errors(sql);
        assert_eq!(e[0].code, codes::PLACEHOLDER_NOT_A_VALUE);
        assert_eq!(&sql[e[0].range.clone()], "%__master.tbl");
        let sql = "select * from t where %col = 1 order by %key";
        let e = errors(sql);
        assert_eq!(e.len(), 1);
        assert_eq!(&sql[e[0].range.clone()], "%key");
        let sql = "select %x from t where id = 1";
        assert_eq!(&sql[errors(sql)[0].range.clone()], "%x");
        let sql = "select * from t where `%x` = 1";
        assert_eq!(
            (errors(sql)[0].code, &sql[errors(sql)[0].range.clone()]),
            (codes::PLACEHOLDER_NOT_A_VALUE, "%x")
        );
        let sql = "select * from t where id = 1%x";
        assert_eq!(errors(sql)[0].code, codes::PLACEHOLDER_NOT_A_VALUE);
        let sql = "select * from t where id in %ids";
        assert_eq!(&sql[errors(sql)[0].range.clone()], "%ids");
        let sql = "select * from t where id = ?";
        assert_eq!(errors(sql)[0].code, codes::SQL_SYNTAX);
        // In a comment a placeholder does nothing; it is reported to the caller.
        let sql = "select * from t -- was %__master.id\n where id = %__master.uid";
        let a = analyze(sql);
        assert_eq!(a.ignored_placeholders, vec![0]);
        assert_eq!(a.params.len(), 1);
        assert_eq!(a.params[0].value, ParamValue::Placeholder(1));
    }

    #[test]
    fn projection_order_and_columns() {
        let sql = "select id, name as n, concat(a, b) full_name, u.* from users u where u.role_id = 1 \
                   order by n, u.id desc";
        let a = analyze(sql);
        assert_eq!(a.projection.len(), 4);
        assert!(
            matches!(&a.projection[0], ProjectionItem::Column { column, alias: None, .. } if column.name == "id")
        );
        assert!(
            matches!(&a.projection[1], ProjectionItem::Column { alias: Some(n), .. } if n == "n")
        );
        match &a.projection[2] {
            ProjectionItem::Expr {
                output_name,
                columns,
                range,
            } => {
                assert_eq!(output_name, "full_name");
                assert_eq!(
                    columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                    ["a", "b"]
                );
                assert_eq!(&sql[range.clone()], "concat(a, b) full_name");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.order_by.len(), 2);
        assert_eq!(a.order_by[0].column, None, "`n` is a select-list alias");
        assert_eq!(
            a.order_by[1].column.as_ref().map(|c| &sql[c.range.clone()]),
            Some("u.id")
        );
        assert!(a.order_by[1].descending);
        assert_eq!(&sql[a.order_by[1].range.clone()], "u.id desc");
        let names: Vec<&str> = a
            .columns_referenced()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["id", "name", "a", "b", "role_id", "id"]);
        // The statement's ORDER BY is kept unless replaced.
        let r = a.render(&|_| false, Some("u.id IN (?)"), None, None);
        assert_eq!(
            r.sql,
            "select id, name as n, concat(a, b) full_name, u.* from users u WHERE u.id IN (?) order by n, u.id desc"
        );
        assert_parses(&r);
        let r = a.render(&all, None, Some("u.id"), Some("?"));
        assert_eq!(
            r.sql,
            "select id, name as n, concat(a, b) full_name, u.* from users u WHERE u.role_id = 1 ORDER BY u.id LIMIT ?"
        );
    }

    #[test]
    fn statements_without_where_and_with_group_by() {
        let a = analyze("select * from users force index for order by (primary) order by id");
        let r = a.render(&all, Some("id > ?"), None, Some("?"));
        assert_eq!(
            r.sql,
            "select * from users force index for order by (primary) WHERE id > ? order by id LIMIT ?"
        );
        assert_parses(&r);
        let a = analyze(
            "select user_id, count(*) from t where status = %s group by user_id having count(*) > 1",
        );
        let r = a.render(&all, Some("user_id IN (?)"), None, None);
        assert_eq!(
            r.sql,
            "select user_id, count(*) from t WHERE status = ? AND user_id IN (?) group by user_id having count(*) > 1"
        );
        assert_eq!(r.params, vec![ParamSlot::Statement(0), ParamSlot::Extra(0)]);
        assert_parses(&r);
    }

    #[test]
    fn qualifiers_must_name_the_table() {
        let sql = "select * from users u where u.id = %x and x.y = 1";
        let e = errors(sql);
        assert_eq!(e[0].code, codes::UNKNOWN_COLUMN);
        assert_eq!(&sql[e[0].range.clone()], "x.y");
        let a = analyze("select * from shop.users where shop.users.id = %x and users.role = 1");
        assert_eq!(a.columns_referenced().len(), 2);
    }

    #[test]
    fn subqueries_are_flagged_and_their_columns_left_out() {
        let sql = "select * from t where user_id in (select id from users where vip = 1) and id > %__last.id:(0)";
        let a = analyze(sql);
        assert!(a.conjuncts[0].has_subquery);
        assert_eq!(
            a.conjuncts[0]
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["user_id"]
        );
        assert!(!a.conjuncts[1].has_subquery);
    }

    #[test]
    fn odd_but_valid_shapes() {
        // A leading comment, `&&` for AND, several placeholders in one IN list.
        let sql = "/* vip users */ select * from t where a = %x && b = 1 and id in (%y, %z)";
        let a = analyze(sql);
        assert_eq!(a.params.len(), 3);
        assert!(a.conjuncts.iter().all(|c| !c.range.is_empty()));
        let last = a.conjuncts.last().expect("conjuncts");
        assert_eq!(&sql[last.range.clone()], "id in (%y, %z)");
        assert_eq!(last.params, vec![1, 2]);
        assert_eq!(last.kind, ConjunctKind::Other);
        assert_parses(&a.render(&all, None, None, Some("1")));
        let r = a.render(&|i| i + 1 != a.conjuncts.len(), None, None, None);
        assert_eq!(r.params, vec![ParamSlot::Statement(0)]);
        assert_parses(&r);
        // An unterminated string is a syntax error at the string.
        let sql = "select * from t where a = 'abc";
        let e = errors(sql);
        assert_eq!(e[0].code, codes::SQL_SYNTAX);
        assert_eq!(e[0].range.start, sql.find('\'').expect("quote"));
    }

    #[test]
    fn errors_become_diagnostics() {
        let e = &errors("select * from t where id > %__last.id:(0) limit 1")[0];
        let d = e.to_diagnostic(Span::new(crate::source::FileId(0), 5, 12));
        assert_eq!(d.code, codes::TRAILING_LIMIT);
        assert_eq!(
            d.primary_span(),
            Some(Span::new(crate::source::FileId(0), 5, 12))
        );
        assert!(d.help.is_some());
    }
}
