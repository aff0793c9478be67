//! Item statements: parsed with placeholders as bound parameters, checked against the schema,
//! and read for what mee needs to know (reference Decision 3):
//!
//! - the *links*, `col = %other.col` conjuncts, which say how an item's row is found from the row
//!   it depends on. They make batched reads possible (one `IN (...)` query per page) and give the
//!   reverse path from a changed row to the documents it affects;
//! - the master's keyset *paging* conjunct, `pk > %__last.pk`;
//! - the *constants*, `col = 1`, `col IN (...)`, from which Mee's `filter` is derived;
//! - Mee's `query` and `parent_query`, derived from the links and the mapped columns.
//!
//! Where the author wrote `filter`, `query` or `parent_query`, they must agree with the statement:
//! a filter that disagrees would make the sync skip changes a full update would see.

use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::expr::dbfield;
use crate::expr::filter::{CmpOp, Condition};
use crate::expr::literal::Literal;
use crate::expr::placeholder::Piece;
use crate::model::{
    EntryValue, Item, ItemId, Pipeline, QueryEntry, QueryValue, RefTarget, Template,
};
use crate::sql::schema::{Schema, Table};
use crate::sql::statement::{self, ConjunctKind, Op, ParamValue, SelectAnalysis};

/// What the compiler learned from one item's statement.
#[derive(Clone, Debug)]
pub struct StatementInfo {
    pub analysis: SelectAnalysis,
    /// The conjuncts linking this item to the item it depends on, in statement order.
    pub links: Vec<Link>,
    /// The master's keyset paging conjunct (`pk > %__last.pk`).
    pub paging: Option<usize>,
    /// Whether the statement can be run for a whole page at once (every parameter that reads the
    /// dependency sits in a link); otherwise it runs row by row with bounded concurrency.
    pub batchable: bool,
    /// Mee's `filter`, derived from the constant conjuncts.
    pub filter: Vec<DerivedCondition>,
    /// `query` as the compiler understands it (written or derived): es_field <- own column.
    pub query: Vec<(String, String)>,
    /// `parent_query` likewise, for a nested master.
    pub parent_query: Vec<(String, String)>,
}

/// `own_column = %target.target_column[:(default)]`.
#[derive(Clone, Debug)]
pub struct Link {
    pub conjunct: usize,
    pub column: String,
    pub target: ItemId,
    pub target_column: String,
    pub default: Option<Literal>,
}

/// One constant condition of the statement: `column op values`.
#[derive(Clone, Debug, PartialEq)]
pub struct DerivedCondition {
    pub column: String,
    pub op: Op,
    pub values: Vec<statement::Literal>,
}

/// Analyses every item's statement; the result is indexed like `p.items`.
pub fn check_statements(
    p: &Pipeline,
    schema: &Schema,
    diags: &mut Diagnostics,
) -> Vec<Option<StatementInfo>> {
    let mut infos: Vec<Option<StatementInfo>> = p
        .items
        .iter()
        .map(|item| analyze(p, item, schema, diags))
        .collect();
    // `query`/`parent_query` derivation reads other items' mappings, so it runs once all links
    // are known.
    for (id, slot) in infos.iter_mut().enumerate() {
        if let Some(mut info) = slot.take() {
            // A link to a column the schema lacks was reported; deriving from it would only add
            // a second, confusing error.
            let links_known = info.links.iter().all(|l| {
                let t = &p.items[l.target];
                schema
                    .table(&t.database.value, &t.table.value)
                    .is_some_and(|tb| tb.column(&l.target_column).is_some())
            });
            let unknown_refs = p.items[id]
                .statement
                .refs
                .iter()
                .any(|r| r.target == RefTarget::Unknown);
            // Without a master (reported), every item looks like a slave that cannot be derived.
            let list_broken = p.lists[p.items[id].list].master.is_none();
            if !(!links_known || unknown_refs || list_broken) {
                derive_queries(p, &p.items[id], &mut info, diags);
            }
            *slot = Some(info);
        }
    }
    infos
}

fn analyze(
    p: &Pipeline,
    item: &Item,
    schema: &Schema,
    diags: &mut Diagnostics,
) -> Option<StatementInfo> {
    let st = &item.statement;
    let text = st.text.as_str();
    if text.is_empty() {
        return None;
    }
    let placeholders: Vec<_> = st
        .refs
        .iter()
        .map(|r| r.placeholder.range.clone())
        .collect();
    let escapes: Vec<_> = st
        .pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Escape(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let analysis = match statement::analyze_select(text, &placeholders, &escapes) {
        Ok(a) => a,
        Err(errors) => {
            for e in errors {
                // The trailing-LIMIT rule is reported by the model with Mee's wording already.
                if e.code != codes::TRAILING_LIMIT {
                    diags.push(e.to_diagnostic(st.span_of(e.range.clone())));
                }
            }
            return None;
        }
    };
    let table = schema.table(&item.database.value, &item.table.value);
    // An unknown table was reported already; comparing the statement with it adds nothing.
    if table.is_some() {
        check_table(item, &analysis, diags);
    }
    if let Some(table) = table {
        for c in analysis.columns_referenced() {
            if table.column(&c.name).is_none() {
                diags.push(table.unknown_column(
                    &c.name,
                    st.span_of(analysis.original_range(c.range.clone())),
                ));
            }
        }
    }

    let mut links = Vec::new();
    let mut paging = None;
    let mut dependency_params_in_links = 0;
    let dependency = item.depends_on.as_ref().map(|d| d.item);
    for (i, c) in analysis.conjuncts.iter().enumerate() {
        match &c.kind {
            ConjunctKind::Link { column, param } => {
                let Some(r) = whole_ref(&analysis, st, *param) else {
                    continue;
                };
                let target = match r.target {
                    RefTarget::Item(t) | RefTarget::Parent(t) if Some(t) == dependency => t,
                    _ => continue,
                };
                dependency_params_in_links += 1;
                links.push(Link {
                    conjunct: i,
                    column: column.name.clone(),
                    target,
                    target_column: r.column().to_string(),
                    default: r.default().cloned(),
                });
            }
            ConjunctKind::Compare {
                column,
                op: Op::Gt,
                param,
            } => {
                if let Some(r) = whole_ref(&analysis, st, *param)
                    && r.target == RefTarget::Last
                    && r.column().eq_ignore_ascii_case(&column.name)
                {
                    paging = Some(i);
                }
            }
            _ => {}
        }
    }
    let dependency_params = analysis
        .params
        .iter()
        .filter(|prm| param_targets(prm, st).any(|t| Some(t) == dependency))
        .count();
    let batchable = dependency_params == dependency_params_in_links;

    let top_master =
        p.lists[item.list].master == Some(item.id) && p.lists[item.list].parent.is_none();
    if top_master && let Some(table) = table {
        check_paging(item, table, &analysis, paging, diags);
    }
    if let (Some(dep), true) = (dependency, links.is_empty()) {
        let dep_key = &p.items[dep].key.value;
        diags.push(
            Diagnostic::error(codes::NO_REVERSE_PATH, format!("`{}` is not linked to `{dep_key}` by an equality", item.key.value))
                .primary(st.text.span, format!("reads `{dep_key}` but not as `column = %{dep_key}.column`"))
                .help("mee finds an item's rows for a whole page, and the documents a changed row affects, through `column = %key.column` conditions joined by AND; rewrite the condition in that form"),
        );
    }

    let filter: Vec<DerivedCondition> = analysis
        .conjuncts
        .iter()
        .filter_map(|c| match &c.kind {
            ConjunctKind::Constant { column, op, values } => Some(DerivedCondition {
                column: column.name.clone(),
                op: *op,
                values: values.clone(),
            }),
            _ => None,
        })
        .collect();
    check_filter_agrees(item, &filter, diags);
    Some(StatementInfo {
        analysis,
        links,
        paging,
        batchable,
        filter,
        query: vec![],
        parent_query: vec![],
    })
}

/// The statement reads the item's `table` (and, when qualified, its `database`).
fn check_table(item: &Item, a: &SelectAnalysis, diags: &mut Diagnostics) {
    let st = &item.statement;
    let span = st.span_of(a.original_range(a.table.range.clone()));
    let db_differs = a
        .table
        .database
        .as_ref()
        .is_some_and(|d| *d != item.database.value);
    if a.table.name != item.table.value || db_differs {
        diags.push(
            Diagnostic::error(codes::WRONG_TABLE, format!("the statement reads `{}` but the item's table is `{}`", a.table.name, item.table.value))
                .primary(span, "read here")
                .secondary(item.table.span, "the item's table")
                .help("an item's binlog changes are matched by `database`/`table`, so its statement must read that table"),
        );
    }
}

/// The top-level master pages by its single-column primary key: `pk > %__last.pk`.
fn check_paging(
    item: &Item,
    table: &Table,
    a: &SelectAnalysis,
    paging: Option<usize>,
    diags: &mut Diagnostics,
) {
    let st = &item.statement;
    let key = match table.paging_key(item.table.span) {
        Ok(k) => k,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    let uses_last = st.refs.iter().any(|r| r.target == RefTarget::Last);
    let on_key = paging.is_some_and(|i| match &a.conjuncts[i].kind {
        ConjunctKind::Compare { column, .. } => column.name.eq_ignore_ascii_case(&key.name),
        _ => false,
    });
    // A statement without `%__last` was reported by the model.
    if uses_last && !on_key {
        diags.push(
            Diagnostic::error(
                codes::MISSING_PAGING,
                format!(
                    "the master statement must page by its primary key `{}`",
                    key.name
                ),
            )
            .primary(st.text.span, "no `AND`-ed condition `pk > %__last.pk` here")
            .help(format!(
                "write the paging condition as `{0} > %__last.{0}:(0)`",
                key.name
            )),
        );
    }
}

/// The placeholder behind a parameter that is exactly one placeholder.
fn whole_ref<'t>(
    a: &SelectAnalysis,
    st: &'t Template,
    param: usize,
) -> Option<&'t crate::model::PlaceholderRef> {
    match &a.params.get(param)?.value {
        ParamValue::Placeholder(i) => st.refs.get(*i),
        ParamValue::Template(_) => None,
    }
}

fn param_targets<'t>(
    prm: &statement::Param,
    st: &'t Template,
) -> impl Iterator<Item = ItemId> + 't {
    let idx: Vec<usize> = match &prm.value {
        ParamValue::Placeholder(i) => vec![*i],
        ParamValue::Template(pieces) => pieces
            .iter()
            .filter_map(|p| match p {
                statement::TemplatePiece::Placeholder(i) => Some(*i),
                statement::TemplatePiece::Text(_) => None,
            })
            .collect(),
    };
    idx.into_iter()
        .filter_map(move |i| match st.refs.get(i)?.target {
            RefTarget::Item(t) | RefTarget::Parent(t) => Some(t),
            _ => None,
        })
}

/// Each entry of an author's `filter` must be a condition of the statement.
fn check_filter_agrees(item: &Item, derived: &[DerivedCondition], diags: &mut Diagnostics) {
    let Some(filter) = &item.filter else { return };
    for (span, entry) in &filter.value {
        let on_column: Vec<&DerivedCondition> = derived
            .iter()
            .filter(|d| d.column.eq_ignore_ascii_case(&entry.column))
            .collect();
        if condition_matches(&entry.condition, &on_column) {
            continue;
        }
        let said = if on_column.is_empty() {
            format!(
                "the statement has no constant condition on `{}`",
                entry.column
            )
        } else {
            let parts: Vec<String> = on_column.iter().map(|d| describe(d)).collect();
            format!("the statement says {}", parts.join(" and "))
        };
        diags.push(
            Diagnostic::error(
                codes::DISAGREES_WITH_STATEMENT,
                format!(
                    "`filter` on `{}` disagrees with the statement",
                    entry.column
                ),
            )
            .primary(*span, "this condition")
            .secondary(item.statement.text.span, said)
            .help(
                "remove `filter` (mee derives it from the statement) or make the two say the same",
            ),
        );
    }
}

fn describe(d: &DerivedCondition) -> String {
    let vals: Vec<String> = d
        .values
        .iter()
        .map(|v| match v {
            statement::Literal::Number(n) => n.clone(),
            statement::Literal::String(s) => format!("'{s}'"),
            statement::Literal::Bool(b) => b.to_string(),
        })
        .collect();
    match d.op {
        Op::In => format!("`{} in ({})`", d.column, vals.join(", ")),
        Op::IsNull | Op::IsNotNull => format!("`{} {}`", d.column, d.op.as_str()),
        op => format!("`{} {} {}`", d.column, op.as_str(), vals.join(", ")),
    }
}

fn condition_matches(cond: &Condition, on_column: &[&DerivedCondition]) -> bool {
    match cond {
        Condition::Eq(lit) => on_column.iter().any(|d| {
            (d.op == Op::Eq && d.values.len() == 1 && lit_eq(lit, &d.values[0]))
                || (d.op == Op::In && d.values.len() == 1 && lit_eq(lit, &d.values[0]))
        }),
        Condition::In(list) => on_column.iter().any(|d| {
            matches!(d.op, Op::In | Op::Eq)
                && d.values.len() == list.len()
                && list.iter().all(|l| d.values.iter().any(|v| lit_eq(l, v)))
        }),
        Condition::Ops(ops) => ops.iter().all(|(op, lit)| {
            let want = match op {
                CmpOp::Eq => Op::Eq,
                CmpOp::Ne => Op::NotEq,
                CmpOp::Gt => Op::Gt,
                CmpOp::Ge => Op::GtEq,
                CmpOp::Lt => Op::Lt,
                CmpOp::Le => Op::LtEq,
            };
            on_column
                .iter()
                .any(|d| d.op == want && d.values.len() == 1 && lit_eq(lit, &d.values[0]))
        }),
    }
}

fn lit_eq(lit: &Literal, v: &statement::Literal) -> bool {
    match (lit, v) {
        (Literal::Int(i), statement::Literal::Number(n)) => {
            n.parse::<f64>().is_ok_and(|f| f == *i as f64)
        }
        (Literal::Float(x), statement::Literal::Number(n)) => {
            n.parse::<f64>().is_ok_and(|f| f == *x)
        }
        (Literal::Str(s), statement::Literal::String(t)) => s == t,
        (Literal::Bool(b), statement::Literal::Bool(c)) => b == c,
        (Literal::Bool(b), statement::Literal::Number(n)) => {
            n.parse::<f64>().is_ok_and(|f| f == f64::from(u8::from(*b)))
        }
        _ => false,
    }
}

/// The es_field an item maps a column to, when an entry is exactly that column.
fn es_field_of(item: &Item, column: &str) -> Option<String> {
    item.mapping.iter().find_map(|e| match &e.value {
        EntryValue::Expr {
            expr: dbfield::Expr::Column { name, .. },
            ..
        } if name.eq_ignore_ascii_case(column) => Some(e.es_field.value.clone()),
        _ => None,
    })
}

/// Derives `query` (and `parent_query` for a nested master) from the links, or checks the
/// author's against them.
fn derive_queries(p: &Pipeline, item: &Item, info: &mut StatementInfo, diags: &mut Diagnostics) {
    let nested = p.lists[item.list].parent.is_some();
    let via_parent = item.depends_on.as_ref().is_some_and(|d| d.via_parent);
    // Which document field holds the dependency's linked column, for each link.
    let linked: Option<Vec<(String, String)>> = info
        .links
        .iter()
        .map(|l| es_field_of(&p.items[l.target], &l.target_column).map(|f| (f, l.column.clone())))
        .collect();
    let linked = linked.filter(|v| !v.is_empty());

    if nested && item.is_master() {
        // The element's identity inside the array defaults to its primary key's field.
        let pk_query = item
            .document_id
            .as_ref()
            .and_then(|t| t.whole())
            .and_then(|r| es_field_of(item, r.column()).map(|f| (f, r.column().to_string())));
        info.query = written_or(
            item.query.as_deref(),
            pk_query.map(|q| vec![q]),
            item,
            "query",
            diags,
        );
        let derived_parent = if via_parent { linked.clone() } else { None };
        info.parent_query = written_or(
            item.parent_query.as_deref(),
            derived_parent,
            item,
            "parent_query",
            diags,
        );
        if info.parent_query.is_empty() && item.parent_query.is_none() {
            diags.push(
                Diagnostic::error(codes::MISSING_PARENT_QUERY, format!("cannot derive `parent_query` for nested master `{}`", item.key.value))
                    .primary(item.statement.text.span, "links to the parent row here, but the parent does not map that column")
                    .help("map the parent's linked column into the document, or write it, e.g. `parent_query: {order_id: \"%order_id\"}`"),
            );
        }
        return;
    }
    if item.is_master() {
        return;
    }
    info.query = written_or(item.query.as_deref(), linked, item, "query", diags);
    if info.query.is_empty() && item.query.is_none() {
        diags.push(
            Diagnostic::error(codes::MISSING_QUERY, format!("cannot derive `query` for `{}`", item.key.value))
                .primary(item.statement.text.span, "the column this links to is not mapped into the document")
                .help("map the linked column of the item it reads, or write `query`, e.g. `query: {customer_id: \"%id\"}`"),
        );
    }
}

/// The author's entries when written (checked against the derived ones), else the derived ones.
fn written_or(
    written: Option<&[QueryEntry]>,
    derived: Option<Vec<(String, String)>>,
    item: &Item,
    what: &str,
    diags: &mut Diagnostics,
) -> Vec<(String, String)> {
    let Some(written) = written else {
        return derived.unwrap_or_default();
    };
    let mut out = Vec::new();
    for e in written {
        let column = match &e.value {
            QueryValue::Template(t) => t
                .whole()
                .filter(|r| r.target == RefTarget::Own)
                .map(|r| r.column().to_string()),
            QueryValue::Literal(..) => None,
        };
        let Some(column) = column else { continue };
        if let Some(derived) = &derived {
            let agrees = derived
                .iter()
                .any(|(f, c)| *f == e.es_field.value && c.eq_ignore_ascii_case(&column));
            if !agrees {
                let expected: Vec<String> = derived
                    .iter()
                    .map(|(f, c)| format!("{f}: \"%{c}\""))
                    .collect();
                diags.push(
                    Diagnostic::error(
                        codes::DISAGREES_WITH_STATEMENT,
                        format!(
                            "`{what}` of `{}` disagrees with the statement",
                            item.key.value
                        ),
                    )
                    .primary(e.es_field.span, "this entry")
                    .secondary(
                        item.statement.text.span,
                        format!(
                            "the statement implies `{what}: {{{}}}`",
                            expected.join(", ")
                        ),
                    )
                    .help(format!(
                        "remove `{what}` (mee derives it) or make it agree with the statement"
                    )),
                );
            }
        }
        out.push((e.es_field.value.clone(), column));
    }
    out
}

#[cfg(test)]
mod tests;
