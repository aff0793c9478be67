//! Which columns of its table each item reads: the columns the pipeline uses, nothing else.
//!
//! Statements select exactly these columns (never `*`), so a column added to a live table changes
//! nothing, and a changed row whose changed columns are all outside this set needs no work.

use crate::check::StatementInfo;
use crate::driver::CompiledPipeline;
use crate::model::{EntryValue, Item, ItemId, QueryValue, RefTarget};
use crate::sql::schema::{Column, Table};
use std::collections::BTreeSet;

/// The used columns of every item, in table order, indexed like `model.items`.
pub fn used_columns(c: &CompiledPipeline) -> Vec<Vec<String>> {
    let mut used: Vec<BTreeSet<String>> = vec![BTreeSet::new(); c.model.items.len()];
    let mut add = |item: ItemId, column: &str| {
        if item < used.len() {
            used[item].insert(column.to_ascii_lowercase());
        }
    };
    for item in &c.model.items {
        let own = item.id;
        for t in item.document_id.iter().chain(item.routing.iter()) {
            for r in &t.refs {
                add(own, r.column());
            }
        }
        for q in item
            .query
            .iter()
            .flatten()
            .chain(item.parent_query.iter().flatten())
        {
            if let QueryValue::Template(t) = &q.value {
                for r in &t.refs {
                    add(own, r.column());
                }
            }
        }
        // Statement placeholders read the columns of the items they name.
        for r in &item.statement.refs {
            match r.target {
                RefTarget::Own | RefTarget::Last => add(own, r.column()),
                RefTarget::Item(t) | RefTarget::Parent(t) => add(t, r.column()),
                RefTarget::Unknown => {}
            }
        }
        if let Some(Some(info)) = c.statements.get(own) {
            for col in info.analysis.columns_referenced() {
                add(own, &col.name);
            }
        }
        for f in item.filter.iter().flat_map(|f| f.value.iter()) {
            add(own, &f.1.column);
        }
        for e in &item.mapping {
            if let EntryValue::Expr { expr, .. } = &e.value {
                for col in expr.columns() {
                    add(own, col.name);
                }
            }
        }
        if let Some(table) = table_of(c, item) {
            for pk in &table.primary_key {
                add(own, pk);
            }
        }
    }
    c.model
        .items
        .iter()
        .zip(used)
        .map(|(item, set)| match table_of(c, item) {
            // Table order, with the DDL's spelling of each name.
            Some(table) => table
                .columns
                .iter()
                .filter(|col| set.contains(&col.name.to_ascii_lowercase()))
                .map(|col| col.name.clone())
                .collect(),
            None => set.into_iter().collect(),
        })
        .collect()
}

pub fn table_of<'c>(c: &'c CompiledPipeline, item: &Item) -> Option<&'c Table> {
    c.schema.table(&item.database.value, &item.table.value)
}

pub fn column<'c>(c: &'c CompiledPipeline, item: &Item, name: &str) -> Option<&'c Column> {
    table_of(c, item).and_then(|t| t.column(name))
}

/// The statement analysis of an item, when it succeeded.
pub fn statement<'c>(c: &'c CompiledPipeline, item: &Item) -> Option<&'c StatementInfo> {
    c.statements.get(item.id).and_then(Option::as_ref)
}
