//! The db_field expression language of mapping entries (reference §2.3).
//!
//! ```text
//! EXPR   := CALL | SIGNED | COLUMN | ""           (surrounding whitespace allowed for CALL)
//! CALL   := NAME "(" ARGS ")"                     NAME := ([A-Za-z0-9_]+ ".")* [A-Za-z0-9_]+
//! SIGNED := ("+" | "-") COLUMN
//! COLUMN := any other string, used verbatim as a column name
//! ```
//!
//! Mee recognises a call with `^\s*((?:\w+\.)*\w+)\((.*)\)\s*$`: the name is directly followed by
//! `(`, and the arguments run to the *last* `)` (which must be followed only by whitespace, and
//! `.` does not cross a line break). Anything else that does not start with a sign is a column
//! name, so `sum(a, b) + 1` and `-sum(a, b)` are (missing) columns, and a bare `1` is the column
//! `1`. Column existence and types are checked later against the DDL, with
//! [`Expr::columns`].
//!
//! Unlike Mee, a dotted name is never resolved to a Python function: it is an unknown function.

use super::literal::{Literal, parse_literal};
use super::{ExprError, is_py_space, is_word, trim_range};
use crate::diag::{codes, nearest};
use std::ops::Range;

/// A parsed db_field expression. Ranges are byte ranges in the parsed string.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The empty expression (and an empty argument such as the middle of `a,,b`): null.
    Empty,
    Column {
        name: String,
        range: Range<usize>,
    },
    /// `+col` or `-col`: the column must hold a number.
    Signed {
        negative: bool,
        column: String,
        column_range: Range<usize>,
        range: Range<usize>,
    },
    /// A call of a builtin other than `echo`. `func` is `None` for an unknown name (reported).
    Call {
        name: String,
        func: Option<Func>,
        name_range: Range<usize>,
        args: Vec<Expr>,
        range: Range<usize>,
    },
    /// `echo(<literal>)`: the literal itself, never evaluated as an expression.
    Echo {
        literal: Literal,
        literal_range: Range<usize>,
        range: Range<usize>,
    },
}

/// The builtins of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Sum,
    Min,
    Max,
    Abs,
    Yesterday,
    Echo,
    ExecuteSql,
}

/// Every builtin name, for did-you-mean suggestions.
pub const FUNCTION_NAMES: &[&str] = &[
    "sum",
    "min",
    "max",
    "abs",
    "yesterday",
    "echo",
    "executeSQL",
];

impl Func {
    /// The builtin with exactly this (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "sum" => Func::Sum,
            "min" => Func::Min,
            "max" => Func::Max,
            "abs" => Func::Abs,
            "yesterday" => Func::Yesterday,
            "echo" => Func::Echo,
            "executeSQL" => Func::ExecuteSql,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Sum => "sum",
            Func::Min => "min",
            Func::Max => "max",
            Func::Abs => "abs",
            Func::Yesterday => "yesterday",
            Func::Echo => "echo",
            Func::ExecuteSql => "executeSQL",
        }
    }

    /// The smallest and (if bounded) largest number of arguments.
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::Sum => (0, None),
            Func::Min | Func::Max | Func::ExecuteSql => (1, None),
            Func::Abs | Func::Yesterday | Func::Echo => (1, Some(1)),
        }
    }
}

/// One column an expression reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnRef<'a> {
    pub name: &'a str,
    pub range: Range<usize>,
    /// Written with a sign, so the column must be numeric.
    pub signed: bool,
    /// The innermost function whose argument this column is (`Some(Func::Sum)` in `sum(a, b)`),
    /// for type checks such as "`sum` needs numbers".
    pub argument_of: Option<Func>,
}

/// The SQL of an `executeSQL(echo('...'), args...)` call.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlCall<'a> {
    /// The SQL text (the string literal's value).
    pub sql: &'a str,
    /// The range of the `echo(...)` literal in the expression string.
    pub sql_range: Range<usize>,
    /// The `%s` markers, as byte ranges in `sql`, one per bound argument. Empty when the call has
    /// no arguments: the SQL is then sent verbatim and a `%` in it is plain text.
    pub params: Vec<Range<usize>>,
    /// The arguments bound to the markers, in order.
    pub args: &'a [Expr],
}

impl Expr {
    /// The range the expression covers; `None` for [`Expr::Empty`].
    pub fn range(&self) -> Option<Range<usize>> {
        match self {
            Expr::Empty => None,
            Expr::Column { range, .. }
            | Expr::Signed { range, .. }
            | Expr::Call { range, .. }
            | Expr::Echo { range, .. } => Some(range.clone()),
        }
    }

    /// Every column the expression reads (including `executeSQL` arguments), in order of
    /// appearance. `echo` arguments are literals and read no column.
    pub fn columns(&self) -> Vec<ColumnRef<'_>> {
        let mut out = Vec::new();
        self.collect_columns(None, &mut out);
        out
    }

    fn collect_columns<'a>(&'a self, parent: Option<Func>, out: &mut Vec<ColumnRef<'a>>) {
        match self {
            Expr::Empty | Expr::Echo { .. } => {}
            Expr::Column { name, range } => out.push(ColumnRef {
                name,
                range: range.clone(),
                signed: false,
                argument_of: parent,
            }),
            Expr::Signed {
                column,
                column_range,
                ..
            } => out.push(ColumnRef {
                name: column,
                range: column_range.clone(),
                signed: true,
                argument_of: parent,
            }),
            Expr::Call { func, args, .. } => {
                for arg in args {
                    arg.collect_columns(*func, out);
                }
            }
        }
    }

    /// Every `executeSQL` call inside the expression whose SQL is a string literal.
    pub fn sql_calls(&self) -> Vec<SqlCall<'_>> {
        let mut out = Vec::new();
        self.collect_sql(&mut out);
        out
    }

    fn collect_sql<'a>(&'a self, out: &mut Vec<SqlCall<'a>>) {
        let Expr::Call { func, args, .. } = self else {
            return;
        };
        if *func == Some(Func::ExecuteSql)
            && let Some(Expr::Echo {
                literal: Literal::Str(sql),
                literal_range,
                ..
            }) = args.first()
        {
            let rest = &args[1..];
            let params = if rest.is_empty() {
                Vec::new()
            } else {
                sql_params(sql).unwrap_or_default()
            };
            out.push(SqlCall {
                sql,
                sql_range: literal_range.clone(),
                params,
                args: rest,
            });
        }
        for arg in args {
            arg.collect_sql(out);
        }
    }
}

/// Parses a db_field expression. Always returns an expression (partial where parts are wrong)
/// together with every error found.
pub fn parse(text: &str) -> (Expr, Vec<ExprError>) {
    let mut errors = Vec::new();
    let expr = parse_range(text, 0..text.len(), &mut errors, 0);
    (expr, errors)
}

/// Nesting deeper than this is refused, so that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 32;

/// Parses `text[range]` as one expression (an argument is already trimmed by the caller; the
/// top-level expression is used verbatim, as Mee does).
fn parse_range(text: &str, range: Range<usize>, errors: &mut Vec<ExprError>, depth: usize) -> Expr {
    let src = &text[range.clone()];
    if src.is_empty() {
        return Expr::Empty;
    }
    if let Some(call) = match_call(text, range.clone()) {
        if depth >= MAX_DEPTH {
            errors.push(ExprError::new(
                codes::BAD_EXPRESSION,
                range,
                "expression nested too deeply",
                "too many nested calls",
            ));
            return Expr::Empty;
        }
        return parse_call(text, call, errors, depth);
    }
    match src.as_bytes()[0] {
        sign @ (b'+' | b'-') => Expr::Signed {
            negative: sign == b'-',
            column: src[1..].to_string(),
            column_range: range.start + 1..range.end,
            range,
        },
        _ => Expr::Column {
            name: src.to_string(),
            range,
        },
    }
}

/// The parts of a recognised call.
struct CallMatch {
    name: Range<usize>,
    /// The text between the `(` after the name and the last `)`.
    args: Range<usize>,
    /// From the name to the last `)`, without surrounding whitespace.
    whole: Range<usize>,
}

/// `^\s*((?:\w+\.)*\w+)\((.*)\)\s*$` on `text[range]`.
fn match_call(text: &str, range: Range<usize>) -> Option<CallMatch> {
    let b = text.as_bytes();
    let trimmed = trim_range(text, range.clone());
    // `$` may also match before a final line break, but `\s*` already consumed it.
    let name_start = trimmed.start;
    let mut pos = name_start;
    // `(?:\w+\.)*\w+`: dot-separated non-empty words.
    loop {
        let word_start = pos;
        while pos < trimmed.end && is_word(b[pos]) {
            pos += 1;
        }
        if pos == word_start {
            return None;
        }
        if pos < trimmed.end && b[pos] == b'.' {
            pos += 1;
        } else {
            break;
        }
    }
    let name = name_start..pos;
    if pos >= trimmed.end || b[pos] != b'(' || trimmed.end - pos < 2 || b[trimmed.end - 1] != b')' {
        return None;
    }
    let args = pos + 1..trimmed.end - 1;
    // `(.*)` does not match a line break, so the arguments must be on one line.
    if text[args.clone()].contains('\n') {
        return None;
    }
    Some(CallMatch {
        name,
        args,
        whole: name_start..trimmed.end,
    })
}

fn parse_call(text: &str, call: CallMatch, errors: &mut Vec<ExprError>, depth: usize) -> Expr {
    let name = &text[call.name.clone()];
    let func = Func::from_name(name);
    let arg_ranges = match split_args(&text[call.args.clone()]) {
        Ok(ranges) => ranges
            .into_iter()
            .map(|r| r.start + call.args.start..r.end + call.args.start)
            .collect(),
        Err(e) => {
            errors.push(e.shifted(call.args.start));
            Vec::new()
        }
    };

    let Some(func) = func else {
        errors.push(unknown_function(name, call.name.clone()));
        let args = arg_ranges
            .into_iter()
            .map(|r| parse_range(text, r, errors, depth + 1))
            .collect();
        return Expr::Call {
            name: name.to_string(),
            func: None,
            name_range: call.name,
            args,
            range: call.whole,
        };
    };

    check_arity(func, arg_ranges.len(), &call, errors);

    if func == Func::Echo {
        // `echo` does not evaluate its argument: it is a literal.
        let Some(arg) = arg_ranges.first().cloned() else {
            return Expr::Echo {
                literal: Literal::None,
                literal_range: call.args.clone(),
                range: call.whole,
            };
        };
        let literal = match parse_literal(&text[arg.clone()]) {
            Ok(lit) => lit,
            Err(e) => {
                let e = e.shifted(arg.start);
                errors.push(
                    ExprError::new(
                        codes::ECHO_NOT_LITERAL,
                        arg.clone(),
                        format!(
                            "the argument of `echo` must be a literal, found `{}`",
                            &text[arg.clone()]
                        ),
                        e.message,
                    )
                    .with_help(
                        "write a number (`echo(1)`), quoted text (`echo('x')`) or `echo(None)`",
                    ),
                );
                Literal::None
            }
        };
        return Expr::Echo {
            literal,
            literal_range: arg,
            range: call.whole,
        };
    }

    let args: Vec<Expr> = arg_ranges
        .into_iter()
        .map(|r| parse_range(text, r, errors, depth + 1))
        .collect();
    if func == Func::ExecuteSql {
        check_execute_sql(text, &args, &call, errors);
    }
    Expr::Call {
        name: name.to_string(),
        func: Some(func),
        name_range: call.name,
        args,
        range: call.whole,
    }
}

fn unknown_function(name: &str, range: Range<usize>) -> ExprError {
    let e = ExprError::new(
        codes::UNKNOWN_FUNCTION,
        range,
        format!("unknown function `{name}`"),
        "not a db_field function",
    );
    if let Some(best) = nearest(name, FUNCTION_NAMES.iter().copied()) {
        e.with_help(format!("did you mean `{best}`?"))
    } else if name.contains('.') {
        e.with_help(format!(
            "mee does not call Python functions; the functions are {}",
            function_list()
        ))
    } else {
        e.with_help(format!("the functions are {}", function_list()))
    }
}

fn function_list() -> String {
    FUNCTION_NAMES
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_arity(func: Func, count: usize, call: &CallMatch, errors: &mut Vec<ExprError>) {
    let (min, max) = func.arity();
    let name = func.name();
    let message = match (min, max) {
        (1, Some(1)) if count != 1 => {
            format!("`{name}` takes exactly one argument, but {count} were given")
        }
        (min, _) if count < min => format!("`{name}` needs at least {min} argument"),
        _ => return,
    };
    let help = match func {
        Func::Echo => "`echo` takes one literal: `echo(1)`, `echo('text')`",
        Func::ExecuteSql => "write `executeSQL(echo('select ... where x = %s'), column)`",
        _ => "",
    };
    let e = ExprError::new(
        codes::WRONG_ARITY,
        call.whole.clone(),
        message,
        format!("{count} argument{}", if count == 1 { "" } else { "s" }),
    );
    errors.push(if help.is_empty() {
        e
    } else {
        e.with_help(help)
    });
}

/// The SQL of `executeSQL` must be known at build time: parameters are bound, never pasted
/// (Decision 2), so the `%s` markers are counted and matched against the arguments here.
fn check_execute_sql(text: &str, args: &[Expr], call: &CallMatch, errors: &mut Vec<ExprError>) {
    let Some(first) = args.first() else { return };
    let (sql, sql_range) = match first {
        Expr::Echo {
            literal: Literal::Str(sql),
            literal_range,
            ..
        } => (sql, literal_range),
        Expr::Echo { literal_range, .. } if errors.iter().any(|e| e.range == *literal_range) => {
            return;
        }
        other => {
            errors.push(
                ExprError::new(
                    codes::BAD_EXPRESSION,
                    other.range().unwrap_or(call.args.clone()),
                    "the SQL of `executeSQL` must be a quoted string",
                    "not a string literal",
                )
                .with_help("write `executeSQL(echo('select ... where x = %s'), column)`"),
            );
            return;
        }
    };
    let bound = args.len() - 1;
    if bound == 0 {
        return;
    }
    match sql_params(sql) {
        Err(bad) => errors.push(
            ExprError::new(
                codes::BAD_EXPRESSION,
                sql_range.clone(),
                format!(
                    "`{}` in the SQL of `executeSQL` is not `%s` or `%%`",
                    &sql[bad]
                ),
                "invalid `%` in SQL",
            )
            .with_help("with arguments, `%s` marks each argument and `%%` is a literal `%`"),
        ),
        Ok(params) if params.len() != bound => errors.push(
            ExprError::new(
                codes::WRONG_ARITY,
                call.whole.clone(),
                format!(
                    "the SQL of `executeSQL` has {} `%s` marker{} but {bound} argument{} follow{}",
                    params.len(),
                    if params.len() == 1 { "" } else { "s" },
                    if bound == 1 { "" } else { "s" },
                    if bound == 1 { "s" } else { "" },
                ),
                "marker count differs from argument count",
            )
            .with_help(format!("`{}`", &text[sql_range.clone()])),
        ),
        Ok(_) => {}
    }
}

/// The `%s` markers of an `executeSQL` SQL text (Python `%` formatting: `%s` takes the next
/// argument, `%%` is a `%`). Returns the range of the first other `%` sequence as the error.
pub fn sql_params(sql: &str) -> Result<Vec<Range<usize>>, Range<usize>> {
    let b = sql.as_bytes();
    let mut params = Vec::new();
    let mut i = 0;
    while let Some(offset) = sql[i..].find('%') {
        let p = i + offset;
        match b.get(p + 1) {
            Some(b's') => params.push(p..p + 2),
            Some(b'%') => {}
            Some(_) => {
                let len = sql[p + 1..].chars().next().map_or(0, char::len_utf8);
                return Err(p..p + 1 + len);
            }
            None => return Err(p..p + 1),
        }
        i = p + 2;
    }
    Ok(params)
}

/// Splits a call's argument text on top-level commas, as Mee's `common.py` does: commas inside
/// parentheses or quotes do not split; `'` and `"` open a quoted run unless preceded by `\`, and
/// the same quote not preceded by `\` closes it; each argument is trimmed; `""` has no arguments;
/// `a,,b` has an empty middle argument; a trailing comma adds none. Square brackets are not
/// tracked. Returns the trimmed argument ranges.
pub fn split_args(args: &str) -> Result<Vec<Range<usize>>, ExprError> {
    let b = args.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut outer_open = 0;
    let mut quote: Option<u8> = None;
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let escaped = i > 0 && b[i - 1] == b'\\';
        if let Some(q) = quote {
            if c == q && !escaped {
                quote = None;
            }
            continue;
        }
        match c {
            b'\'' | b'"' if !escaped => quote = Some(c),
            b'(' => {
                if depth == 0 {
                    outer_open = i;
                }
                depth += 1;
            }
            b')' => {
                if depth == 0 {
                    return Err(ExprError::new(
                        codes::BAD_EXPRESSION,
                        i..i + 1,
                        "unmatched `)` in function arguments",
                        "no `(` opens this",
                    ));
                }
                depth -= 1;
            }
            b',' if depth == 0 => {
                out.push(trim_range(args, start..i));
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(ExprError::new(
            codes::BAD_EXPRESSION,
            outer_open..outer_open + 1,
            "unclosed `(` in function arguments",
            "this `(` is never closed",
        ));
    }
    let last = trim_range(args, start..args.len());
    if !last.is_empty() {
        out.push(last);
    }
    Ok(out)
}

/// Whether a column name as written looks like a mistaken expression (`sum(a, b) + 1`,
/// `-sum(a)`, ` a`), so that an unknown-column error can say how Mee reads it.
pub fn looks_like_expression(name: &str) -> bool {
    name.contains(['(', ')', ',']) || name.bytes().next().is_some_and(is_py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(args: &str) -> Result<Vec<&str>, ExprError> {
        split_args(args).map(|rs| rs.into_iter().map(|r| &args[r]).collect())
    }

    /// A compact rendering of an expression, for tests.
    fn show(e: &Expr) -> String {
        match e {
            Expr::Empty => "ε".to_string(),
            Expr::Column { name, .. } => format!("col({name})"),
            Expr::Signed {
                negative, column, ..
            } => {
                format!("{}col({column})", if *negative { "-" } else { "+" })
            }
            Expr::Call { name, args, .. } => {
                format!(
                    "{name}[{}]",
                    args.iter().map(show).collect::<Vec<_>>().join(" ")
                )
            }
            Expr::Echo { literal, .. } => format!("echo<{}>", literal.python_repr()),
        }
    }

    fn ok(text: &str) -> String {
        let (e, errors) = parse(text);
        assert!(errors.is_empty(), "`{text}`: unexpected errors {errors:?}");
        show(&e)
    }

    fn errs(text: &str) -> Vec<ExprError> {
        let (_, errors) = parse(text);
        assert!(!errors.is_empty(), "`{text}` should have errors");
        errors
    }

    #[test]
    fn original_arg_splitting_vectors() {
        assert_eq!(split("a").expect("split"), ["a"]);
        assert_eq!(split("a, bc").expect("split"), ["a", "bc"]);
        assert_eq!(split("a(), bc").expect("split"), ["a()", "bc"]);
        assert_eq!(
            split("a(a1, a2, a3), bc").expect("split"),
            ["a(a1, a2, a3)", "bc"]
        );
        assert_eq!(
            split("a(a1, a2, a3), bc, d(f1, f(k1,k2))").expect("split"),
            ["a(a1, a2, a3)", "bc", "d(f1, f(k1,k2))"]
        );
        let e = split("a(a1, a2, a3), bc, d(f1, f(k1,k2)").expect_err("unclosed");
        assert_eq!(e.code, codes::BAD_EXPRESSION);
        assert_eq!(e.range, 20..21);
    }

    #[test]
    fn arg_splitting_edge_cases() {
        assert_eq!(split("").expect("split"), Vec::<&str>::new());
        assert_eq!(split("   ").expect("split"), Vec::<&str>::new());
        assert_eq!(split("a,,b").expect("split"), ["a", "", "b"]);
        assert_eq!(split("a, b,").expect("split"), ["a", "b"]);
        assert_eq!(split(" a , b ").expect("split"), ["a", "b"]);
        assert_eq!(split("'x, y', b").expect("split"), ["'x, y'", "b"]);
        assert_eq!(split("\"a(b\", c").expect("split"), ["\"a(b\"", "c"]);
        assert_eq!(
            split(r"'it\'s, ok', c").expect("split"),
            [r"'it\'s, ok'", "c"]
        );
        assert_eq!(split("[1,2]").expect("split"), ["[1", "2]"]);
        assert_eq!(split("a), b").expect_err("unmatched").range, 1..2);
        assert_eq!(split("f(a, ')')").expect("split"), ["f(a, ')')"]);
    }

    #[test]
    fn section_2_3_original_vectors_parse() {
        assert_eq!(ok("echo(1)"), "echo<1>");
        assert_eq!(ok("echo('1')"), "echo<'1'>");
        assert_eq!(ok("yesterday(f1)"), "yesterday[col(f1)]");
        assert_eq!(ok("max(f2, f3)"), "max[col(f2) col(f3)]");
        assert_eq!(ok("min(f2, f3)"), "min[col(f2) col(f3)]");
        assert_eq!(ok("sum(f2, f3, f6)"), "sum[col(f2) col(f3) col(f6)]");
        assert_eq!(
            ok("sum(max(f3, f4), -f2, echo(1))"),
            "sum[max[col(f3) col(f4)] -col(f2) echo<1>]"
        );
        assert_eq!(
            ok("sum(min(credit_line, sum(reward_line,event_line)), -loan_amount)"),
            "sum[min[col(credit_line) sum[col(reward_line) col(event_line)]] -col(loan_amount)]"
        );
    }

    #[test]
    fn t09_expressions_parse() {
        assert_eq!(ok("a"), "col(a)");
        assert_eq!(ok("+a"), "+col(a)");
        assert_eq!(ok("-a"), "-col(a)");
        assert_eq!(ok("-f"), "-col(f)");
        assert_eq!(ok("z"), "col(z)");
        assert_eq!(ok("sum(a, b)"), "sum[col(a) col(b)]");
        assert_eq!(ok("sum(a,-b)"), "sum[col(a) -col(b)]");
        assert_eq!(ok(" sum( a , b ) "), "sum[col(a) col(b)]");
        assert_eq!(ok("sum()"), "sum[]");
        assert_eq!(ok("min(a)"), "min[col(a)]");
        assert_eq!(ok("abs(-a)"), "abs[-col(a)]");
        assert_eq!(ok("sum(a, echo(1))"), "sum[col(a) echo<1>]");
        assert_eq!(ok("echo('x, y')"), "echo<'x, y'>");
        assert_eq!(ok("echo(\"a(b)\")"), "echo<'a(b)'>");
        assert_eq!(ok(r"echo('it\'s')"), r#"echo<"it's">"#);
        assert_eq!(ok("echo(None)"), "echo<None>");
        assert_eq!(ok("sum(a,,b)"), "sum[col(a) ε col(b)]");
        assert_eq!(ok(""), "ε");
        // Not calls: these are column names, rejected later by the DDL check.
        assert_eq!(ok("sum(a, b) + 1"), "col(sum(a, b) + 1)");
        assert_eq!(ok("-sum(a, b)"), "-col(sum(a, b))");
        assert_eq!(ok("sum (a)"), "col(sum (a))");
        assert_eq!(ok("sum(a,\nb)"), "col(sum(a,\nb))");
        assert_eq!(ok("sum(a, 1)"), "sum[col(a) col(1)]");
        assert_eq!(ok("sum(a, n)"), "sum[col(a) col(n)]");
        assert_eq!(ok("sum(a, b)\n"), "sum[col(a) col(b)]");
    }

    #[test]
    fn t10_errors() {
        let cases: &[(&str, crate::diag::Code)] = &[
            ("max()", codes::WRONG_ARITY),
            ("abs(a, b)", codes::WRONG_ARITY),
            ("echo(1, 2)", codes::WRONG_ARITY),
            ("echo()", codes::WRONG_ARITY),
            ("echo(abc)", codes::ECHO_NOT_LITERAL),
            ("foo(a)", codes::UNKNOWN_FUNCTION),
            ("os.path.join(s, s)", codes::UNKNOWN_FUNCTION),
            ("sum(a, (b)", codes::BAD_EXPRESSION),
            ("sum(a, b))", codes::BAD_EXPRESSION),
        ];
        for (text, code) in cases {
            let errors = errs(text);
            assert_eq!(errors[0].code, *code, "{text}: {errors:?}");
        }
        // The rest of T10 (`-n`, `-s`, `missing`, `sum(a, 1)`, `sum(a, n)`, `sum(a, b) + 1`) is
        // caught against the DDL or at run time; the parser exposes the columns involved.
        let (e, _) = parse("sum(a, 1, -s)");
        let cols: Vec<_> = e
            .columns()
            .into_iter()
            .map(|c| (c.name, c.signed, c.argument_of))
            .collect();
        assert_eq!(
            cols,
            [
                ("a", false, Some(Func::Sum)),
                ("1", false, Some(Func::Sum)),
                ("s", true, Some(Func::Sum))
            ]
        );
        assert!(looks_like_expression("sum(a, b) + 1"));
        assert!(!looks_like_expression("credit_line"));
    }

    #[test]
    fn error_details() {
        let e = &errs("summ(a)")[0];
        assert_eq!(e.range, 0..4);
        assert_eq!(e.help.as_deref(), Some("did you mean `sum`?"));
        let e = &errs("os.path.join(s, s)")[0];
        assert_eq!(e.message, "unknown function `os.path.join`");
        assert!(
            e.help
                .as_deref()
                .is_some_and(|h| h.contains("does not call Python functions"))
        );
        let e = &errs("  abs(a, b)")[0];
        assert_eq!(e.range, 2..11);
        assert_eq!(
            e.message,
            "`abs` takes exactly one argument, but 2 were given"
        );
        let e = &errs("sum(a, echo(abc))")[0];
        assert_eq!((e.code, e.range.clone()), (codes::ECHO_NOT_LITERAL, 12..15));
        let e = &errs("max(a, (b)")[0];
        assert_eq!(e.range, 7..8, "ranges are relative to the whole expression");
        // Errors in several arguments are all reported.
        assert_eq!(errs("sum(foo(a), echo(x), max())").len(), 3);
    }

    #[test]
    fn column_ranges() {
        let text = "sum(max(f3, f4), -f2, echo(1))";
        let (e, _) = parse(text);
        let cols = e.columns();
        let names: Vec<_> = cols.iter().map(|c| &text[c.range.clone()]).collect();
        assert_eq!(names, ["f3", "f4", "f2"]);
        assert_eq!(cols[0].argument_of, Some(Func::Max));
        assert!(cols[2].signed);
        assert_eq!(e.range(), Some(0..text.len()));
        let (e, _) = parse(" a ");
        assert_eq!(
            e.columns()[0].name,
            " a ",
            "a top-level column is used verbatim"
        );
    }

    #[test]
    fn execute_sql() {
        let text = "executeSQL(echo('select count(*) from loan_base where user_id=%s and status in (100)'), user_id)";
        let (e, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        let calls = e.sql_calls();
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!(
            call.sql,
            "select count(*) from loan_base where user_id=%s and status in (100)"
        );
        assert_eq!(call.params.len(), 1);
        assert_eq!(&call.sql[call.params[0].clone()], "%s");
        assert_eq!(call.args.len(), 1);
        assert_eq!(
            &text[call.sql_range.clone()],
            "'select count(*) from loan_base where user_id=%s and status in (100)'"
        );
        assert_eq!(e.columns()[0].name, "user_id");

        // Without arguments the SQL is sent verbatim, so `%` is plain text.
        let (e, errors) = parse("executeSQL(echo('select 1 like \"a%\"'))");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(e.sql_calls()[0].params.is_empty());

        for (text, code) in [
            ("executeSQL(echo('select %s, %s'), a)", codes::WRONG_ARITY),
            ("executeSQL(echo('select 1'), a)", codes::WRONG_ARITY),
            ("executeSQL(echo('select %d'), a)", codes::BAD_EXPRESSION),
            ("executeSQL(sql_column, a)", codes::BAD_EXPRESSION),
            ("executeSQL(echo(1))", codes::BAD_EXPRESSION),
            ("executeSQL()", codes::WRONG_ARITY),
        ] {
            assert_eq!(errs(text)[0].code, code, "{text}");
        }
        assert_eq!(
            errs("executeSQL(echo(x), a)").len(),
            1,
            "one error for a bad literal"
        );
        assert_eq!(sql_params("a %% b %s %s"), Ok(vec![7..9, 10..12]));
        assert_eq!(sql_params("50%"), Err(2..3));
    }
}
