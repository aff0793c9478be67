//! The `filter` of an item (reference §4.3): which binlog rows concern the item.
//!
//! Each entry is `<column>: <condition>`:
//!
//! * a list: the column must equal one of its elements (`[]` never passes);
//! * a mapping of operators to values: every one must hold (`{}` always passes); the operators
//!   are `==`, `!=`, `<>`, `>`, `>=`, `<`, `<=`;
//! * anything else: the column must equal it.
//!
//! Mee reports an unknown operator only when an event is evaluated; we report it at build time
//! (`BAD_FILTER`), which the contract allows. The YAML loader hands each entry over as a
//! `serde_json::Value`; the semantics of the comparisons live in `mee_runtime::eval::compare`.

use super::literal::Literal;
use crate::diag::{Code, Diagnostic, codes};
use crate::source::Span;
use std::borrow::Borrow;

/// A comparison operator of a mapping condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// The operators as written, for messages and suggestions.
pub const OPERATORS: &[&str] = &["==", "!=", "<>", ">", ">=", "<", "<="];

impl CmpOp {
    pub fn parse(op: &str) -> Option<CmpOp> {
        Some(match op {
            "==" => CmpOp::Eq,
            "!=" | "<>" => CmpOp::Ne,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// The condition on one column.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// The column equals the value (Python equality: `1 == 1.0`, `1 != "1"`, null equals null).
    Eq(Literal),
    /// The column equals one of the values; an empty list never passes.
    In(Vec<Literal>),
    /// Every comparison holds; an empty list always passes.
    Ops(Vec<(CmpOp, Literal)>),
}

/// One `column: condition` entry, in the order written.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterEntry {
    pub column: String,
    pub condition: Condition,
}

/// A condition that cannot be evaluated, located by its entry (and operator, if any) because the
/// caller holds the YAML spans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// The index of the entry in the filter mapping.
    pub entry: usize,
    pub column: String,
    /// The offending operator key, when the problem is one operator of a mapping.
    pub op: Option<String>,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

impl FilterError {
    pub fn code(&self) -> Code {
        codes::BAD_FILTER
    }

    /// The diagnostic, labelled at `span` (the operator key if any, else the entry).
    pub fn to_diagnostic(&self, span: Span) -> Diagnostic {
        let d =
            Diagnostic::error(self.code(), self.message.clone()).primary(span, self.label.clone());
        match &self.help {
            Some(help) => d.help(help.clone()),
            None => d,
        }
    }
}

/// Parses the entries of a `filter` mapping. Returns every valid entry and every error; an
/// entry with an error is left out.
pub fn parse_filter<I, C, V>(entries: I) -> (Vec<FilterEntry>, Vec<FilterError>)
where
    I: IntoIterator<Item = (C, V)>,
    C: Into<String>,
    V: Borrow<serde_json::Value>,
{
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (index, (column, value)) in entries.into_iter().enumerate() {
        let column = column.into();
        let before = errors.len();
        let condition = parse_condition(value.borrow(), &mut |op, message, label, help| {
            errors.push(FilterError {
                entry: index,
                column: column.clone(),
                op,
                message,
                label,
                help,
            });
        });
        if errors.len() == before {
            out.push(FilterEntry { column, condition });
        }
    }
    (out, errors)
}

type Report<'a> = dyn FnMut(Option<String>, String, String, Option<String>) + 'a;

fn literal(value: &serde_json::Value, op: Option<&str>, report: &mut Report<'_>) -> Literal {
    Literal::from_json(value).unwrap_or_else(|message| {
        report(
            op.map(str::to_string),
            message,
            "not representable".to_string(),
            None,
        );
        Literal::None
    })
}

fn parse_condition(value: &serde_json::Value, report: &mut Report<'_>) -> Condition {
    use serde_json::Value as J;
    match value {
        J::Array(items) => Condition::In(items.iter().map(|v| literal(v, None, report)).collect()),
        J::Object(map) => {
            let mut ops = Vec::with_capacity(map.len());
            for (op, v) in map {
                match CmpOp::parse(op) {
                    Some(cmp) => ops.push((cmp, literal(v, Some(op), report))),
                    None => {
                        let help = match op.as_str() {
                            "in" => "for \"one of\", write a list: `column: [1, 2, 3]`".to_string(),
                            "=" => "equality is `==`, or write the value directly: `column: 1`"
                                .to_string(),
                            _ => format!(
                                "the operators are {}",
                                OPERATORS
                                    .iter()
                                    .map(|o| format!("`{o}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        report(
                            Some(op.clone()),
                            format!("filter operator `{op}` is not supported"),
                            "unknown operator".to_string(),
                            Some(help),
                        );
                    }
                }
            }
            Condition::Ops(ops)
        }
        scalar => Condition::Eq(literal(scalar, None, report)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(filter: serde_json::Value) -> (Vec<FilterEntry>, Vec<FilterError>) {
        let map = filter.as_object().cloned().unwrap_or_default();
        parse_filter(map)
    }

    fn entry(column: &str, condition: Condition) -> FilterEntry {
        FilterEntry {
            column: column.to_string(),
            condition,
        }
    }

    #[test]
    fn section_4_3_original_vector() {
        let (entries, errors) = parse_json(
            json!({"type": 1, "status": {"!=": 0}, "choise": [1, 2, 4, 6], "time": {"<=": 3}}),
        );
        assert!(errors.is_empty());
        assert_eq!(
            entries,
            [
                entry("type", Condition::Eq(Literal::Int(1))),
                entry("status", Condition::Ops(vec![(CmpOp::Ne, Literal::Int(0))])),
                entry(
                    "choise",
                    Condition::In([1, 2, 4, 6].into_iter().map(Literal::Int).collect())
                ),
                entry("time", Condition::Ops(vec![(CmpOp::Le, Literal::Int(3))])),
            ]
        );
    }

    #[test]
    fn t12_shapes() {
        let (entries, errors) = parse_json(json!({}));
        assert!(
            entries.is_empty() && errors.is_empty(),
            "an empty filter always passes"
        );
        let (entries, _) = parse_json(json!({"a": {">": 1, "<": 5}}));
        assert_eq!(
            entries[0].condition,
            Condition::Ops(vec![
                (CmpOp::Gt, Literal::Int(1)),
                (CmpOp::Lt, Literal::Int(5))
            ])
        );
        let (entries, _) = parse_json(json!({"a": {"<>": 1}}));
        assert_eq!(
            entries[0].condition,
            Condition::Ops(vec![(CmpOp::Ne, Literal::Int(1))])
        );
        let (entries, _) = parse_json(json!({"a": {}}));
        assert_eq!(entries[0].condition, Condition::Ops(vec![]));
        let (entries, _) = parse_json(json!({"a": []}));
        assert_eq!(entries[0].condition, Condition::In(vec![]));
        let (entries, _) = parse_json(json!({"a": "1", "b": 1.0, "c": null, "d": true}));
        assert_eq!(
            entries[0].condition,
            Condition::Eq(Literal::Str("1".into()))
        );
        assert_eq!(entries[1].condition, Condition::Eq(Literal::Float(1.0)));
        assert_eq!(entries[2].condition, Condition::Eq(Literal::None));
        assert_eq!(entries[3].condition, Condition::Eq(Literal::Bool(true)));
        let ops: Vec<_> = OPERATORS.iter().filter_map(|o| CmpOp::parse(o)).collect();
        assert_eq!(ops.len(), OPERATORS.len());
    }

    #[test]
    fn t12_unknown_operator_is_a_build_error() {
        let (entries, errors) =
            parse_json(json!({"ok": 1, "a": {"in": [1]}, "b": {"=": 2, "~": 3}}));
        assert_eq!(entries, [entry("ok", Condition::Eq(Literal::Int(1)))]);
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0].entry, 1);
        assert_eq!(errors[0].column, "a");
        assert_eq!(errors[0].op.as_deref(), Some("in"));
        assert_eq!(errors[0].message, "filter operator `in` is not supported");
        assert!(
            errors[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("list"))
        );
        assert_eq!(errors[0].code(), codes::BAD_FILTER);
        assert_eq!(errors[2].op.as_deref(), Some("~"));
        let (_, errors) = parse_json(json!({"a": u64::MAX}));
        assert_eq!(
            errors[0].message,
            format!("integer `{}` is out of range", u64::MAX)
        );
    }
}
