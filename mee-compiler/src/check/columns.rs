//! Every database, table and column a pipeline uses exists in the checked-in DDL, with a type that
//! fits how it is used.
//!
//! Reason: these are the mistakes that otherwise surface only at run time, as a failed full
//! update or a sync that stops on the first event, far from the line that caused them.

use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::expr::dbfield::Func;
use crate::model::{EntryValue, Item, Pipeline, QueryValue, RefTarget, Template};
use crate::source::Span;
use crate::sql::schema::{Schema, Table};

/// Checks the tables and columns of every item.
pub fn check_columns(p: &Pipeline, schema: &Schema, diags: &mut Diagnostics) {
    for item in &p.items {
        let Some(table) = item_table(item, schema, diags) else {
            continue;
        };
        check_item(p, item, table, schema, diags);
    }
}

/// The item's table, reporting an unknown database or table (once per item).
fn item_table<'s>(item: &Item, schema: &'s Schema, diags: &mut Diagnostics) -> Option<&'s Table> {
    if item.database.value.is_empty() || item.table.value.is_empty() {
        return None;
    }
    let Some(db) = schema.database(&item.database.value) else {
        diags.push(schema.unknown_database(&item.database.value, item.database.span));
        return None;
    };
    match db.table(&item.table.value) {
        Some(t) => Some(t),
        None => {
            diags.push(db.unknown_table(&item.table.value, item.table.span));
            None
        }
    }
}

/// The table of another item, without reporting (its own check reports it).
fn table_of<'s>(item: &Item, schema: &'s Schema) -> Option<&'s Table> {
    schema.table(&item.database.value, &item.table.value)
}

fn check_item(p: &Pipeline, item: &Item, table: &Table, schema: &Schema, diags: &mut Diagnostics) {
    // Anchors and `query`/`parent_query` read the item's own row.
    let own_templates = item
        .document_id
        .iter()
        .chain(item.routing.iter())
        .chain(templates(item.query.as_deref()))
        .chain(templates(item.parent_query.as_deref()));
    for t in own_templates {
        for r in &t.refs {
            if r.target == RefTarget::Own {
                column(table, r.column(), r.field_span, diags);
            }
        }
    }
    if let Some(doc_id) = &item.document_id {
        check_document_id(table, doc_id, diags);
    }

    // The statement reads its own columns, other items' columns and the parent's columns.
    for r in &item.statement.refs {
        let target_table = match r.target {
            RefTarget::Own | RefTarget::Last => Some(table),
            RefTarget::Item(t) if t < p.items.len() => table_of(&p.items[t], schema),
            RefTarget::Parent(t) if t < p.items.len() => table_of(&p.items[t], schema),
            _ => None,
        };
        if let Some(t) = target_table {
            column(t, r.column(), r.field_span, diags);
        }
    }

    if let Some(filter) = &item.filter {
        for (span, entry) in &filter.value {
            column(table, &entry.column, *span, diags);
        }
    }

    for entry in &item.mapping {
        let EntryValue::Expr { text, expr } = &entry.value else {
            continue;
        };
        // Nested elements are built from rows read for a whole page; a query per element is not
        // implemented, and silently writing `null_value` instead would be wrong.
        if p.lists[item.list].parent.is_some() && !expr.sql_calls().is_empty() {
            diags.push(
                Diagnostic::error(
                    codes::BAD_EXECUTE_SQL,
                    "`executeSQL` is not supported inside a nested list yet",
                )
                .primary(text.span, "in a nested list")
                .help("join the value as a nested item with its own statement, or compute it in the top-level list"),
            );
        }
        for c in expr.columns() {
            let span = text.span_of(c.range.clone());
            let Some(col) = column(table, c.name, span, diags) else {
                continue;
            };
            // Arithmetic and signs need numbers: `sum` over a text column would fail for every
            // document at run time.
            let numeric = c.signed
                || matches!(
                    c.argument_of,
                    Some(Func::Sum | Func::Min | Func::Max | Func::Abs)
                );
            if numeric && !col.ty.is_numeric() {
                let what = if c.signed {
                    "a sign".to_string()
                } else {
                    format!("`{}`", func_name(c.argument_of))
                };
                diags.push(
                    Diagnostic::error(
                        codes::NOT_NUMERIC,
                        format!(
                            "{what} needs a number, but `{}` is `{}`",
                            c.name, col.type_text
                        ),
                    )
                    .primary(span, "not a numeric column")
                    .secondary(col.span, "declared here")
                    .help("use a numeric column, or map this column as it is"),
                );
            }
            if c.argument_of == Some(Func::Yesterday) && !(col.ty.is_temporal() || col.ty.is_text())
            {
                diags.push(
                    Diagnostic::error(
                        codes::NOT_A_DATE,
                        format!(
                            "`yesterday` needs a date, but `{}` is `{}`",
                            c.name, col.type_text
                        ),
                    )
                    .primary(span, "not a date, datetime or text column")
                    .secondary(col.span, "declared here")
                    .help("use a DATE, DATETIME, TIMESTAMP or date-text column"),
                );
            }
        }
    }
}

/// A `document_id` that is exactly one nullable column would give some documents no id (and
/// Elasticsearch would invent one, duplicating the document on every write).
fn check_document_id(table: &Table, t: &Template, diags: &mut Diagnostics) {
    let Some(r) = t.whole() else { return };
    if r.target != RefTarget::Own {
        return;
    }
    if let Some(col) = table.column(r.column())
        && col.nullable
        && r.default().is_none()
    {
        diags.push(
            Diagnostic::error(
                codes::NULLABLE_NOT_ALLOWED,
                format!("`document_id` uses the nullable column `{}`", col.name),
            )
            .primary(r.span, "may be NULL")
            .secondary(col.span, "declared here without NOT NULL")
            .help("use a NOT NULL column (usually the primary key), or give a default: `%col:(0)`"),
        );
    }
}

fn column<'t>(
    table: &'t Table,
    name: &str,
    span: Span,
    diags: &mut Diagnostics,
) -> Option<&'t crate::sql::schema::Column> {
    let c = table.column(name);
    if c.is_none() {
        diags.push(table.unknown_column(name, span));
    }
    c
}

fn templates(entries: Option<&[crate::model::QueryEntry]>) -> impl Iterator<Item = &Template> {
    entries
        .into_iter()
        .flatten()
        .filter_map(|e| match &e.value {
            QueryValue::Template(t) => Some(t),
            QueryValue::Literal(..) => None,
        })
}

fn func_name(f: Option<Func>) -> &'static str {
    f.map_or("function", Func::name)
}

#[cfg(test)]
mod tests {
    use crate::diag::{Diagnostic, Diagnostics};
    use crate::source::{MemLoader, SourceMap};
    use std::path::Path;

    const DDL: &str = "CREATE TABLE `m` (\n  `id` int NOT NULL,\n  `name` varchar(10) DEFAULT NULL,\n  `ok` int DEFAULT NULL,\n  `code` varchar(5),\n  PRIMARY KEY (`id`)\n);\nCREATE TABLE `s` (\n  `id` int NOT NULL,\n  `m_id` int NOT NULL,\n  `title` text,\n  `born` date,\n  PRIMARY KEY (`id`)\n);\n";

    fn check(yaml: &str) -> Vec<String> {
        let mut map = SourceMap::new();
        let mut diags = Diagnostics::new();
        let loader = MemLoader::new().with("schema/d.sql", DDL);
        let node = crate::yaml::load_str(&loader, Path::new("p.yml"), yaml, &mut map, &mut diags)
            .expect("test YAML parses");
        let handler = crate::syntax::parse_handler(&node, &mut diags);
        let file = map.find(Path::new("p.yml")).expect("registered");
        let p = crate::model::lower("p", file, &handler, &mut diags);
        let dbs: Vec<&str> = p.items.iter().map(|i| i.database.value.as_str()).collect();
        let schema =
            crate::sql::ddl::load_schema(&loader, Path::new("schema"), dbs, &mut map, &mut diags);
        super::check_columns(&p, &schema, &mut diags);
        diags
            .finish()
            .iter()
            .filter(|d| d.is_error())
            .map(|d: &Diagnostic| {
                let at = d
                    .primary_span()
                    .map(|s| map.location(s))
                    .unwrap_or_default();
                format!(
                    "{} {at} {}{}",
                    d.code.as_str(),
                    d.message,
                    d.help
                        .as_ref()
                        .map(|h| format!(" / {h}"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    fn pipeline(master_mapping: &str, slave_statement: &str, slave_mapping: &str) -> String {
        format!(
            "idx:\n  doc:\n    - key: m\n      database: d\n      table: m\n      document_id: \"%id\"\n      statement: \"select * from m where id > %__last.id:(0)\"\n      mapping: {master_mapping}\n    - key: s\n      database: d\n      table: s\n      statement: \"{slave_statement}\"\n      mapping: {slave_mapping}\n"
        )
    }

    #[test]
    fn valid_pipeline_has_no_column_errors() {
        let p = pipeline(
            "[id, name, {db_field: \"sum(ok, -id)\", es_field: total}]",
            "select * from s where m_id = %__master.id",
            "[title, {db_field: \"yesterday(born)\", es_field: day}]",
        );
        assert_eq!(check(&p), Vec::<String>::new());
    }

    #[test]
    fn unknown_columns_are_located_with_suggestions() {
        let p = pipeline(
            "[id, nmae]",
            "select * from s where m_id = %__master.idd",
            "[titel]",
        );
        let errs = check(&p);
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(
            errs[0].starts_with("E0403 p.yml:8:21 unknown column `nmae` in table `m`"),
            "{errs:#?}"
        );
        assert!(errs[0].ends_with("did you mean `name`?"), "{errs:#?}");
        assert!(
            errs[1].starts_with("E0403 p.yml:12:58 unknown column `idd` in table `m`"),
            "{errs:#?}"
        );
        assert!(
            errs[2].starts_with("E0403 p.yml:13:17 unknown column `titel` in table `s`"),
            "{errs:#?}"
        );
    }

    #[test]
    fn unknown_database_and_table() {
        let p = pipeline(
            "[id]",
            "select * from s where m_id = %__master.id",
            "[title]",
        )
        .replacen(
            "database: d\n      table: s",
            "database: dd\n      table: s",
            1,
        )
        .replacen("table: m", "table: mm", 1);
        let errs = check(&p);
        assert!(
            errs.iter()
                .any(|e| e.starts_with("E0402") && e.contains("`mm`")),
            "{errs:#?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("E0401") && e.contains("`dd`")),
            "{errs:#?}"
        );
    }

    #[test]
    fn arithmetic_over_text_and_yesterday_over_numbers_are_type_errors() {
        let p = pipeline(
            "[{db_field: \"sum(ok, name)\", es_field: t}, {db_field: \"-code\", es_field: u}, {db_field: \"yesterday(ok)\", es_field: v}]",
            "select * from s where m_id = %__master.id",
            "[title]",
        );
        let errs = check(&p);
        let codes: Vec<&str> = errs.iter().map(|e| &e[..5]).collect();
        assert_eq!(codes, ["E0701", "E0701", "E0702"], "{errs:#?}");
        assert!(
            errs[0].contains("`sum` needs a number, but `name` is `VARCHAR(10)`"),
            "{errs:#?}"
        );
    }

    #[test]
    fn execute_sql_in_a_nested_list_is_refused() {
        let p = pipeline(
            "[id, {db_field: [{key: n, database: d, table: s, document_id: \"%id\", statement: \"select * from s where m_id = %__parent.id\", mapping: [{db_field: \"executeSQL(echo('select 1'))\", es_field: one}]}], es_field: arr, type: nested}]",
            "select * from s where m_id = %__master.id",
            "[title]",
        );
        assert!(
            check(&p).iter().any(|e| e.starts_with("E0508")),
            "{:#?}",
            check(&p)
        );
    }

    #[test]
    fn nullable_document_id_is_rejected() {
        let p = pipeline(
            "[id]",
            "select * from s where m_id = %__master.id",
            "[title]",
        )
        .replace("document_id: \"%id\"", "document_id: \"%ok\"");
        assert!(
            check(&p).iter().any(|e| e.starts_with("E0703")),
            "{:#?}",
            check(&p)
        );
    }
}
