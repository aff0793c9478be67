//! The validated pipeline: what a handler file means, independent of how it was written.
//!
//! [`lower`] builds it from the raw [`crate::syntax`] structure and checks the structural rules of
//! the handler reference (§1.4, §1.5, T02): one master per list, unique keys, where `routing`,
//! `parent_query`, `%__last` and `%__parent` may appear, anchors that read only their own row,
//! at most one dependency per item and no cycles. Schema-dependent checks (columns, types,
//! statements) run afterwards on this model.
//!
//! Lists and items live in two arenas of the [`Pipeline`]; ids are indices into them. Nested
//! lists are lists too, attached to the mapping entry that holds them.

pub mod lower;

use crate::expr::dbfield;
use crate::expr::filter::FilterEntry;
use crate::expr::literal::Literal;
use crate::expr::placeholder::{Piece, Placeholder};
use crate::source::{FileId, Span, Spanned};
use crate::syntax::StrValue;

pub use lower::lower;

pub type ListId = usize;
pub type ItemId = usize;

/// One handler file.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// The file stem: `orders` for `pipelines/orders.yml`.
    pub name: String,
    pub file: FileId,
    pub lists: Vec<List>,
    pub items: Vec<Item>,
}

impl Pipeline {
    /// The top-level lists (one per index alias and type), in file order.
    pub fn top_lists(&self) -> impl Iterator<Item = &List> {
        self.lists.iter().filter(|l| l.parent.is_none())
    }

    pub fn list(&self, id: ListId) -> &List {
        &self.lists[id]
    }

    pub fn item(&self, id: ItemId) -> &Item {
        &self.items[id]
    }

    /// The items of a list, in file order.
    pub fn items_of(&self, list: ListId) -> impl Iterator<Item = &Item> {
        self.lists[list].items.iter().map(|&i| &self.items[i])
    }

    /// The master item of a list, when the list has exactly one.
    pub fn master_of(&self, list: ListId) -> Option<&Item> {
        self.lists[list].master.map(|i| &self.items[i])
    }

    /// The item whose row `%__parent` means inside a nested list.
    pub fn parent_item(&self, list: ListId) -> Option<&Item> {
        self.lists[list]
            .parent
            .as_ref()
            .map(|p| &self.items[p.item])
    }

    /// The top-level list a (possibly nested) list belongs to.
    pub fn root_list(&self, mut list: ListId) -> ListId {
        while let Some(p) = &self.lists[list].parent {
            list = p.list;
        }
        list
    }
}

/// The items that build one document (a top-level list) or one element of a nested array.
#[derive(Clone, Debug)]
pub struct List {
    pub id: ListId,
    pub alias: Spanned<String>,
    pub es_type: Spanned<String>,
    pub span: Span,
    /// In file order.
    pub items: Vec<ItemId>,
    /// The item with `document_id`; `None` only after a reported error.
    pub master: Option<ItemId>,
    /// Where a nested list hangs: `None` for a top-level list.
    pub parent: Option<NestedIn>,
}

/// The mapping entry that holds a nested list.
#[derive(Clone, Debug)]
pub struct NestedIn {
    pub list: ListId,
    pub item: ItemId,
    pub entry: usize,
    /// The array field of the parent document.
    pub field: Spanned<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The item that has `document_id`: one row per document (or per nested element).
    Master,
    /// Any other item: at most one row per document, found through its statement.
    Slave,
}

/// One config item.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: ItemId,
    pub list: ListId,
    pub role: Role,
    pub span: Span,
    pub key: Spanned<String>,
    pub database: Spanned<String>,
    pub table: Spanned<String>,
    pub statement: Template,
    pub document_id: Option<Template>,
    pub routing: Option<Template>,
    /// As written; `None` when the author left it out (the compiler derives it).
    pub query: Option<Vec<QueryEntry>>,
    pub parent_query: Option<Vec<QueryEntry>>,
    pub filter: Option<Spanned<Vec<(Span, FilterEntry)>>>,
    pub mapping: Vec<Entry>,
    /// The item this item's statement reads (its only dependency), if any.
    pub depends_on: Option<Dependency>,
}

impl Item {
    pub fn is_master(&self) -> bool {
        self.role == Role::Master
    }
}

/// A string with placeholders (`statement`, `document_id`, `routing`, `query` values).
#[derive(Clone, Debug)]
pub struct Template {
    pub text: StrValue,
    pub pieces: Vec<Piece>,
    /// Each placeholder, resolved to the row it reads.
    pub refs: Vec<PlaceholderRef>,
}

impl Template {
    /// The source span of a range of the template text.
    pub fn span_of(&self, range: std::ops::Range<usize>) -> Span {
        self.text.span_of(range)
    }

    /// The template is exactly one placeholder: its value keeps its type.
    pub fn whole(&self) -> Option<&PlaceholderRef> {
        match (self.pieces.as_slice(), self.refs.as_slice()) {
            ([Piece::Placeholder(_)], [r]) => Some(r),
            _ => None,
        }
    }
}

/// One placeholder and the row it reads.
#[derive(Clone, Debug)]
pub struct PlaceholderRef {
    pub placeholder: Placeholder,
    pub target: RefTarget,
    /// The whole placeholder.
    pub span: Span,
    /// Just the column name, for "unknown column" labels.
    pub field_span: Span,
}

impl PlaceholderRef {
    pub fn column(&self) -> &str {
        &self.placeholder.field
    }

    pub fn default(&self) -> Option<&Literal> {
        self.placeholder.default_value()
    }
}

/// Whose row a placeholder reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefTarget {
    /// The item's own row (`%col`, `%ownkey.col`).
    Own,
    /// Another item of the same list (`%key.col`, `%__master.col`).
    Item(ItemId),
    /// The previous master row while paging (`%__last.col`).
    Last,
    /// The parent item's row, inside a nested list (`%__parent.col`).
    Parent(ItemId),
    /// A key that names no item (reported); kept so later checks can skip it.
    Unknown,
}

/// `es_field: placeholder` of `query` or `parent_query`.
#[derive(Clone, Debug)]
pub struct QueryEntry {
    pub es_field: Spanned<String>,
    /// A template when the value is a string, else the literal JSON value.
    pub value: QueryValue,
}

#[derive(Clone, Debug)]
pub enum QueryValue {
    Template(Template),
    Literal(serde_json::Value, Span),
}

/// The item a statement depends on.
#[derive(Clone, Debug)]
pub struct Dependency {
    pub item: ItemId,
    /// `%__parent`: the dependency is the parent item of a nested list.
    pub via_parent: bool,
}

/// One `mapping` entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub span: Span,
    pub es_field: Spanned<String>,
    pub value: EntryValue,
    pub null_value: serde_json::Value,
    pub null_value_span: Option<Span>,
    pub eval_on_deleted: bool,
}

#[derive(Clone, Debug)]
pub enum EntryValue {
    /// A db_field expression over the item's row.
    Expr { text: StrValue, expr: dbfield::Expr },
    /// `type: nested`: the array built by a nested list.
    Nested(ListId),
}

#[cfg(test)]
mod tests;
