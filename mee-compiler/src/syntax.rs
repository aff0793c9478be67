//! Raw handler structure: YAML nodes -> lists, items and mapping entries, still unvalidated.
//!
//! This stage checks *shape* only (reference §1.1-§1.3): which keys exist, and whether each value
//! has the right YAML kind. Everything keeps its span. Meaning (masters, dependencies, SQL,
//! placeholders, es_field syntax) is checked by later stages on the structures built here.
//!
//! Mee ignores unknown keys and its files must compile unchanged, so an unknown key is only a
//! warning; but one that is a near miss of a known key (`filtr`) is almost certainly a typo that
//! would silently drop a filter, so that one is an error.
//!
//! Missing *item* keys (`key`, `table`, ...) are left to the model stage, which knows what each
//! one is for; a mapping entry without `db_field`/`es_field` is reported here, as is an index
//! alias without any type (its list would otherwise vanish unseen). Keys starting with `__` are
//! never reported: Mee files use them to park anchors for reuse.

use crate::diag::{Diagnostic, Diagnostics, codes, nearest};
use crate::source::{FileLoader, SourceMap, Span, Spanned};
use crate::yaml::{self, Node, NodeKind, Resolved, Scalar, resolve_bool};
use std::ops::Range;
use std::path::Path;

/// The key names of handler files, in one place (serde's `symbol.rs` idea).
pub mod keys {
    pub const KEY: &str = "key";
    pub const DATABASE: &str = "database";
    pub const TABLE: &str = "table";
    pub const STATEMENT: &str = "statement";
    pub const DOCUMENT_ID: &str = "document_id";
    pub const ROUTING: &str = "routing";
    pub const QUERY: &str = "query";
    pub const PARENT_QUERY: &str = "parent_query";
    pub const FILTER: &str = "filter";
    pub const MAPPING: &str = "mapping";

    pub const DB_FIELD: &str = "db_field";
    pub const ES_FIELD: &str = "es_field";
    pub const FIELD: &str = "field";
    pub const TYPE: &str = "type";
    pub const EVAL_ON_DELETED: &str = "eval_on_deleted";
    pub const NULL_VALUE: &str = "null_value";

    /// The value of `type` that makes a mapping entry a nested list.
    pub const NESTED: &str = "nested";
    /// Top-level keys with this prefix only hold anchors and are removed after merging.
    pub const RESERVED_PREFIX: &str = "__";

    pub const ITEM_KEYS: &[&str] = &[
        KEY,
        DATABASE,
        TABLE,
        STATEMENT,
        DOCUMENT_ID,
        ROUTING,
        QUERY,
        PARENT_QUERY,
        FILTER,
        MAPPING,
    ];
    pub const ENTRY_KEYS: &[&str] = &[DB_FIELD, ES_FIELD, FIELD, TYPE, EVAL_ON_DELETED, NULL_VALUE];
}

/// A whole handler file: one list per (index alias, ES type), in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct HandlerFile {
    pub lists: Vec<ListSyntax>,
}

/// The items of one ES type of one index alias.
#[derive(Clone, Debug)]
pub struct ListSyntax {
    pub alias: Spanned<String>,
    pub es_type: Spanned<String>,
    pub items: Vec<ItemSyntax>,
    /// The list value (the YAML sequence of items).
    pub span: Span,
}

/// One config item (reference §1.2). Every key is optional here; later stages decide what a
/// missing key means.
#[derive(Clone, Debug)]
pub struct ItemSyntax {
    pub span: Span,
    pub key: Option<Spanned<String>>,
    pub database: Option<Spanned<String>>,
    pub table: Option<Spanned<String>>,
    pub statement: Option<StrValue>,
    /// Presence (with any value, even null) marks the list's master item.
    pub document_id: Option<Node>,
    pub routing: Option<StrValue>,
    pub query: Option<Entries>,
    pub parent_query: Option<Entries>,
    pub filter: Option<Entries>,
    pub mapping: Option<Spanned<Vec<MappingSyntax>>>,
    /// The item keys written in the file, including those whose value was rejected and the
    /// known key that a misspelled one resembles: a later "missing key" check must not report
    /// what was already reported here.
    pub written: Vec<&'static str>,
}

/// A `{name: value}` mapping such as `query`, `parent_query` or `filter`, in file order.
pub type Entries = Spanned<Vec<(Spanned<String>, Node)>>;

/// One `mapping` entry, in the normalised shape of reference §1.3 (`"col"` and `{field: col}`
/// already expanded); defaults (`type: default`, `eval_on_deleted: false`) are not filled in.
#[derive(Clone, Debug)]
pub struct MappingSyntax {
    pub span: Span,
    pub db_field: Option<DbField>,
    pub es_field: Option<Spanned<String>>,
    /// The `type:` key.
    pub kind: Option<Spanned<String>>,
    pub eval_on_deleted: Option<Spanned<bool>>,
    pub null_value: Option<Node>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DbField {
    /// A db_field expression (reference §2.3).
    Expr(StrValue),
    /// The items of a `type: nested` entry.
    Nested(Spanned<Vec<ItemSyntax>>),
}

/// A string value that later stages parse (SQL, placeholders, expressions), with the map from
/// its bytes to the source file.
#[derive(Clone, Debug)]
pub struct StrValue {
    pub scalar: Scalar,
    pub span: Span,
}

impl StrValue {
    pub fn as_str(&self) -> &str {
        &self.scalar.value
    }

    /// The source span of the value bytes `range` (clamped; never panics).
    pub fn span_of(&self, range: Range<usize>) -> Span {
        self.scalar.span_of(range)
    }
}

impl PartialEq for StrValue {
    /// The text is what matters, not how or where it was written.
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// Equality on values only, like [`Spanned`]: the round trip through JSON (reference §1.7) must
/// give equal structures although every span differs.
macro_rules! eq_ignoring_span {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                true $(&& self.$field == other.$field)*
            }
        }
    };
}

eq_ignoring_span!(ListSyntax {
    alias,
    es_type,
    items
});
eq_ignoring_span!(ItemSyntax {
    key,
    database,
    table,
    statement,
    document_id,
    routing,
    query,
    parent_query,
    filter,
    mapping,
});
eq_ignoring_span!(MappingSyntax {
    db_field,
    es_field,
    kind,
    eval_on_deleted,
    null_value
});

/// Loads a handler file with its includes and reads its structure. `None` when the file could
/// not be read or parsed at all (the reason is in `diags`).
pub fn load_handler(
    loader: &dyn FileLoader,
    path: &Path,
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Option<HandlerFile> {
    let root = yaml::load_file(loader, path, map, diags)?;
    Some(parse_handler(&root, diags))
}

/// Reads the handler structure from a loaded YAML tree. Every shape problem is reported; the
/// result holds whatever was well-formed.
pub fn parse_handler(root: &Node, diags: &mut Diagnostics) -> HandlerFile {
    let mut reader = Reader { diags };
    let mut lists = Vec::new();
    for (alias, types) in reader.top_level(root) {
        reader.lists_of_alias(&alias, types, &mut lists);
    }
    HandlerFile { lists }
}

/// Where an item sits, for messages: "item `vehicle` in `index_vehicle`/`vehicle`".
#[derive(Clone, Debug)]
struct Place {
    list: String,
}

impl Place {
    fn item(&self, key: Option<&str>, index: usize) -> String {
        match key {
            Some(key) => format!("item `{key}` in {}", self.list),
            None => format!("item #{} in {}", index + 1, self.list),
        }
    }
}

struct Reader<'d> {
    diags: &'d mut Diagnostics,
}

impl Reader<'_> {
    fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn wrong_kind(&mut self, node: &Node, expected: &str, help: impl Into<String>) {
        if node.is_invalid() {
            return;
        }
        let found = node.describe_kind();
        let d = Diagnostic::error(
            codes::WRONG_KIND,
            format!("expected {expected}, found {found}"),
        )
        .primary(node.span, format!("this is {found}"))
        .help(help);
        self.report(d);
    }

    /// The top level after merging a sequence of mappings and removing `__` keys (§1.1).
    fn top_level<'n>(&mut self, root: &'n Node) -> Vec<(Spanned<String>, &'n Node)> {
        let mut merged: Vec<(Spanned<String>, &Node)> = Vec::new();
        match &root.kind {
            NodeKind::Map(entries) => self.merge_into(&mut merged, entries),
            NodeKind::Seq(parts) => {
                for part in parts {
                    match &part.kind {
                        NodeKind::Map(entries) => self.merge_into(&mut merged, entries),
                        _ => self.wrong_kind(
                            part,
                            "a mapping of index aliases",
                            "each element of a top-level list is a mapping such as `index_name: {type_name: [items]}`, typically `- !include part.yml`",
                        ),
                    }
                }
            }
            _ => self.wrong_kind(
                root,
                "a mapping of index aliases",
                "a handler file maps index aliases to types to lists of items: `index_name: {type_name: [items]}`",
            ),
        }
        merged.retain(|(alias, _)| !alias.value.starts_with(keys::RESERVED_PREFIX));
        merged
    }

    /// Merges one top-level mapping: a later alias replaces an earlier one entirely, in place.
    fn merge_into<'n>(
        &mut self,
        merged: &mut Vec<(Spanned<String>, &'n Node)>,
        entries: &'n [(Node, Node)],
    ) {
        for (key, value) in entries {
            let Some(alias) = self.name(key, "index alias") else {
                continue;
            };
            match merged.iter_mut().find(|(a, _)| a.value == alias.value) {
                Some(slot) => *slot = (alias, value),
                None => merged.push((alias, value)),
            }
        }
    }

    /// A mapping key used as a name: any string or number scalar.
    fn name(&mut self, key: &Node, what: &str) -> Option<Spanned<String>> {
        match key.as_scalar().map(Scalar::resolve) {
            Some(Resolved::Str(_) | Resolved::Int(_) | Resolved::Float(_)) => {
                key.as_text().map(|t| Spanned::new(t.to_string(), key.span))
            }
            _ => {
                self.wrong_kind(
                    key,
                    &format!("a string as {what}"),
                    "write the name as plain text",
                );
                None
            }
        }
    }

    fn lists_of_alias(
        &mut self,
        alias: &Spanned<String>,
        types: &Node,
        lists: &mut Vec<ListSyntax>,
    ) {
        let Some(entries) = types.as_map() else {
            self.wrong_kind(
                types,
                &format!(
                    "a mapping from type names to lists of items under `{}`",
                    alias.value
                ),
                format!("write `{}: {{type_name: [items]}}`", alias.value),
            );
            return;
        };
        if entries.is_empty() {
            let d = Diagnostic::error(
                codes::EMPTY_LIST,
                format!("index alias `{}` has no type", alias.value),
            )
            .primary(alias.span, "no types under this alias")
            .help("add an ES type with a list of items, or remove the alias");
            self.report(d);
        }
        for (key, items) in entries {
            let Some(es_type) = self.name(key, "type name") else {
                continue;
            };
            let place = Place {
                list: format!("`{}`/`{}`", alias.value, es_type.value),
            };
            let items = self.items(
                items,
                &place,
                "a list of items",
                "write the items as a YAML list: `- key: ...`",
            );
            let span = if items.span.file == es_type.span.file {
                es_type.span.to(items.span)
            } else {
                items.span
            };
            lists.push(ListSyntax {
                alias: alias.clone(),
                es_type,
                items: items.value,
                span,
            });
        }
    }

    fn items(
        &mut self,
        node: &Node,
        place: &Place,
        expected: &str,
        help: &str,
    ) -> Spanned<Vec<ItemSyntax>> {
        let Some(nodes) = node.as_seq() else {
            self.wrong_kind(node, &format!("{expected} for {}", place.list), help);
            return Spanned::new(Vec::new(), node.span);
        };
        let items = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| self.item(n, place, i))
            .collect();
        Spanned::new(items, node.span)
    }

    fn item(&mut self, node: &Node, place: &Place, index: usize) -> Option<ItemSyntax> {
        let Some(entries) = node.as_map() else {
            self.wrong_kind(
                node,
                &format!("an item (a mapping) in {}", place.list),
                "an item is a mapping with `key`, `database`, `table`, `statement` and `mapping`",
            );
            return None;
        };
        let name = node.get(keys::KEY).and_then(Node::as_text);
        let here = place.item(name, index);
        let mut item = ItemSyntax {
            span: node.span,
            key: None,
            database: None,
            table: None,
            statement: None,
            document_id: None,
            routing: None,
            query: None,
            parent_query: None,
            filter: None,
            mapping: None,
            written: Vec::new(),
        };
        for (k, v) in entries {
            let Some(key) = self.name(k, "item key") else {
                continue;
            };
            let known = keys::ITEM_KEYS
                .iter()
                .find(|&&known| known == key.value.as_str());
            let resembled = nearest(&key.value, keys::ITEM_KEYS.iter().copied())
                .and_then(|n| keys::ITEM_KEYS.iter().find(|&&known| known == n));
            if let Some(&k) = known.or(resembled) {
                item.written.push(k);
            }
            match key.value.as_str() {
                keys::KEY => item.key = self.string(v, keys::KEY),
                keys::DATABASE => item.database = self.string(v, keys::DATABASE),
                keys::TABLE => item.table = self.string(v, keys::TABLE),
                keys::STATEMENT => item.statement = self.str_value(v, keys::STATEMENT),
                keys::DOCUMENT_ID => item.document_id = Some(v.clone()),
                keys::ROUTING => item.routing = self.str_value(v, keys::ROUTING),
                keys::QUERY => item.query = self.entries(v, keys::QUERY),
                keys::PARENT_QUERY => item.parent_query = self.entries(v, keys::PARENT_QUERY),
                keys::FILTER => item.filter = self.entries(v, keys::FILTER),
                keys::MAPPING => item.mapping = self.mapping(v, &here),
                other => self.unknown_key(k, other, keys::ITEM_KEYS, &here),
            }
        }
        Some(item)
    }

    /// Reports an unknown key: an error when it looks like a typo of a known one, otherwise a
    /// warning (Mee ignores unknown keys).
    fn unknown_key(&mut self, key: &Node, name: &str, known: &[&str], here: &str) {
        if name.starts_with(keys::RESERVED_PREFIX) {
            return;
        }
        let d = match nearest(name, known.iter().copied()) {
            Some(best) => Diagnostic::error(codes::UNKNOWN_KEY, format!("unknown key `{name}`"))
                .primary(key.span, format!("not a key of {}", what_of(here)))
                .note(format!("in {here}"))
                .help(format!("did you mean `{best}`?")),
            None => Diagnostic::warning(
                codes::IGNORED_KEY,
                format!("unknown key `{name}` is ignored"),
            )
            .primary(key.span, "ignored")
            .note(format!("in {here}"))
            .help(format!(
                "known keys here: {}; remove it, or rename it to `__{name}` to keep it as a note",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        self.report(d);
    }

    /// A value used as a name (`key`, `table`, `es_field`, ...). Numbers are accepted as their
    /// text (`key: 1`), as Mee turned them into strings where it mattered.
    fn string(&mut self, node: &Node, key: &str) -> Option<Spanned<String>> {
        self.str_value(node, key)
            .map(|s| Spanned::new(s.scalar.value, s.span))
    }

    fn str_value(&mut self, node: &Node, key: &str) -> Option<StrValue> {
        if let Some(scalar) = node.as_scalar() {
            match scalar.resolve() {
                Resolved::Str(_) | Resolved::Int(_) | Resolved::Float(_) => {
                    return Some(StrValue {
                        scalar: scalar.clone(),
                        span: node.span,
                    });
                }
                Resolved::Bool(_) => {
                    let help = format!(
                        "quote it if it is meant as text: `{key}: \"{}\"`",
                        scalar.value
                    );
                    self.wrong_kind(node, &format!("a string for `{key}`"), help);
                    return None;
                }
                Resolved::Null => {}
            }
        }
        self.wrong_kind(
            node,
            &format!("a string for `{key}`"),
            format!("give `{key}` a text value"),
        );
        None
    }

    fn entries(&mut self, node: &Node, key: &str) -> Option<Entries> {
        let Some(pairs) = node.as_map() else {
            let example = if key == keys::FILTER {
                "{status: 1}"
            } else {
                "{es_field: \"%column\"}"
            };
            self.wrong_kind(
                node,
                &format!("a mapping for `{key}`"),
                format!("write `{key}: {example}`"),
            );
            return None;
        };
        let entries = pairs
            .iter()
            .filter_map(|(k, v)| Some((self.name(k, &format!("a `{key}` key"))?, v.clone())))
            .collect();
        Some(Spanned::new(entries, node.span))
    }

    fn mapping(&mut self, node: &Node, here: &str) -> Option<Spanned<Vec<MappingSyntax>>> {
        let Some(entries) = node.as_seq() else {
            self.wrong_kind(
                node,
                "a list of mapping entries for `mapping`",
                "write `mapping: [column, {db_field: column, es_field: name}]`",
            );
            return None;
        };
        let entries = entries
            .iter()
            .filter_map(|e| self.mapping_entry(e, here))
            .collect();
        Some(Spanned::new(entries, node.span))
    }

    /// One mapping entry in any of the written forms of reference §1.3.
    fn mapping_entry(&mut self, node: &Node, here: &str) -> Option<MappingSyntax> {
        let mut entry = MappingSyntax {
            span: node.span,
            db_field: None,
            es_field: None,
            kind: None,
            eval_on_deleted: None,
            null_value: None,
        };
        match &node.kind {
            NodeKind::Scalar(scalar) if matches!(scalar.resolve(), Resolved::Str(_)) => {
                let column = StrValue {
                    scalar: scalar.clone(),
                    span: node.span,
                };
                entry.es_field = Some(Spanned::new(scalar.value.clone(), node.span));
                entry.db_field = Some(DbField::Expr(column));
                Some(entry)
            }
            NodeKind::Map(pairs) => {
                self.mapping_entry_fields(node, pairs, here, &mut entry);
                Some(entry)
            }
            NodeKind::Invalid => None,
            _ => {
                let found = node.describe_kind();
                let d = Diagnostic::error(codes::BAD_MAPPING_ENTRY, "mapping values must be a mapping or a string")
                    .primary(node.span, format!("this is {found}"))
                    .note(format!("in {here}"))
                    .help("write a column name (`- id`) or a mapping (`- {db_field: id, es_field: vehicle_id}`); quote a name that looks like a number");
                self.report(d);
                None
            }
        }
    }

    fn mapping_entry_fields(
        &mut self,
        node: &Node,
        pairs: &[(Node, Node)],
        here: &str,
        entry: &mut MappingSyntax,
    ) {
        // The nested list's name, for messages about its items.
        let es_name = node
            .get(keys::ES_FIELD)
            .or_else(|| node.get(keys::FIELD))
            .and_then(Node::as_text);
        let mut field: Option<(StrValue, &Node)> = None;
        let mut db_field_key: Option<&Node> = None;
        let mut es_field_key: Option<&Node> = None;
        for (k, v) in pairs {
            let Some(key) = self.name(k, "mapping entry key") else {
                continue;
            };
            match key.value.as_str() {
                keys::DB_FIELD => {
                    db_field_key = Some(k);
                    entry.db_field = self.db_field(v, es_name, here);
                }
                keys::ES_FIELD => {
                    es_field_key = Some(k);
                    entry.es_field = self.string(v, keys::ES_FIELD);
                }
                keys::FIELD => field = self.str_value(v, keys::FIELD).map(|s| (s, k)),
                keys::TYPE => entry.kind = self.string(v, keys::TYPE),
                keys::EVAL_ON_DELETED => {
                    entry.eval_on_deleted = self.boolean(v, keys::EVAL_ON_DELETED)
                }
                keys::NULL_VALUE => entry.null_value = Some(v.clone()),
                other => self.unknown_key(
                    k,
                    other,
                    keys::ENTRY_KEYS,
                    &format!("a mapping entry of {here}"),
                ),
            }
        }
        if let Some((value, field_key)) = field {
            match db_field_key.or(es_field_key) {
                Some(conflict) => {
                    let other = conflict.as_text().unwrap_or(keys::DB_FIELD);
                    let d = Diagnostic::error(
                        codes::CONFLICTING_KEYS,
                        format!("`field` and `{other}` in one mapping entry"),
                    )
                    .primary(conflict.span, format!("`{other}` set here"))
                    .secondary(
                        field_key.span,
                        "`field` sets both `db_field` and `es_field`",
                    )
                    .help("use either `field: name` or `db_field`/`es_field`, not both");
                    self.report(d);
                }
                None => {
                    entry.es_field = Some(Spanned::new(value.as_str().to_string(), value.span));
                    entry.db_field = Some(DbField::Expr(value));
                }
            }
            db_field_key = db_field_key.or(Some(field_key));
            es_field_key = es_field_key.or(Some(field_key));
        }
        self.check_nested_shape(entry);
        for (present, missing) in [
            (db_field_key, keys::DB_FIELD),
            (es_field_key, keys::ES_FIELD),
        ] {
            if present.is_none() {
                let d = Diagnostic::error(
                    codes::MISSING_KEY,
                    format!("mapping entry without `{missing}`"),
                )
                .primary(node.span, format!("no `{missing}` here"))
                .note(format!("in {here}"))
                .help("a mapping entry needs `db_field` and `es_field` (or `field` for both)");
                self.report(d);
            }
        }
    }

    /// A list `db_field` and `type: nested` go together (§1.5).
    fn check_nested_shape(&mut self, entry: &MappingSyntax) {
        let nested_type = entry.kind.as_ref().filter(|k| k.value == keys::NESTED);
        match (&entry.db_field, nested_type) {
            (Some(DbField::Expr(expr)), Some(kind)) => {
                let d = Diagnostic::error(codes::WRONG_KIND, "expected a list of items for a `nested` entry, found a string")
                    .primary(expr.span, "`db_field` of a nested entry")
                    .secondary(kind.span, "declared nested here")
                    .help("give `db_field` the nested items, e.g. `db_field: *items`, or remove `type: nested`");
                self.report(d);
            }
            (Some(DbField::Nested(items)), None) => {
                let d = Diagnostic::error(
                    codes::WRONG_KIND,
                    "a list of items as `db_field` needs `type: nested`",
                )
                .primary(items.span, "nested items")
                .help("add `type: nested` to this mapping entry");
                self.report(d);
            }
            _ => {}
        }
    }

    fn db_field(&mut self, node: &Node, es_name: Option<&str>, here: &str) -> Option<DbField> {
        if node.as_seq().is_some() {
            let list = match es_name {
                Some(name) => format!("nested `{name}` of {here}"),
                None => format!("a nested list of {here}"),
            };
            let place = Place { list };
            let items = self.items(
                node,
                &place,
                "a list of items",
                "write the nested items as a YAML list",
            );
            return Some(DbField::Nested(items));
        }
        if node.as_map().is_some() {
            self.wrong_kind(
                node,
                "a db_field expression or a list of nested items",
                "write a column or an expression (`db_field: name`), or a list of items with `type: nested`",
            );
            return None;
        }
        self.str_value(node, keys::DB_FIELD).map(DbField::Expr)
    }

    /// A YAML boolean, including YAML 1.1's `yes`/`no`/`on`/`off`. Quoted booleans are refused:
    /// Mee read any non-empty string as true, so `"false"` meant true.
    fn boolean(&mut self, node: &Node, key: &str) -> Option<Spanned<bool>> {
        if let Some(b) = node.as_bool() {
            return Some(Spanned::new(b, node.span));
        }
        if node.is_invalid() {
            return None;
        }
        let quoted_bool = node.as_str().and_then(|s| resolve_bool(s).map(|_| s));
        let d = match quoted_bool {
            Some(text) => Diagnostic::error(
                codes::BAD_BOOL,
                format!("`{key}` must be a boolean, found the string `\"{text}\"`"),
            )
            .primary(node.span, "a quoted string")
            .help(format!(
                "remove the quotes: `{key}: {text}` (Mee read every non-empty string as true)"
            )),
            None => Diagnostic::error(
                codes::BAD_BOOL,
                format!("`{key}` must be a boolean, found {}", node.describe_kind()),
            )
            .primary(node.span, "not a boolean")
            .help(format!("write `{key}: true` or `{key}: false`")),
        };
        self.report(d);
        None
    }
}

/// "an item" or "a mapping entry", from a place description, for labels.
fn what_of(here: &str) -> &'static str {
    if here.starts_with("a mapping entry") {
        "a mapping entry"
    } else {
        "an item"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::source::MemLoader;

    /// The canonical example of reference §1.6 (VEH).
    const VEH: &str = r#"__monitors: &monitors                     # reference-only, removed after load
  - key: vehicle_monitor
    database: track_service
    table: vehicle_monitor
    document_id: "vehicle_monitor_%id"    # marks nested master
    statement: "select * from vehicle_monitor where id > %__last.id:(0) and car_id = %__parent.id and status = 1"
    filter: {status: 1}
    query: {monitor_id: "%id"}            # nested element identity (es field inside the array)
    parent_query: {vehicle_id: "%car_id"} # parent doc selection for appends
    mapping: [{db_field: id, es_field: monitor_id}, monitor_status, monitor_type]
index_vehicle:
  vehicle:
    - key: vehicle
      database: certify_service
      table: vehicle
      document_id: "vehicle_%id"
      statement: "select * from vehicle where id > %__last.id:(0)"
      mapping:
        - {db_field: id, es_field: vehicle_id}
        - created_at
        - updated_at
        - vehicle_type_id
        - {db_field: status, es_field: vehicle_status}
        - {db_field: *monitors, es_field: vehicle_monitors, type: nested}
    - key: vehicle_type
      database: certify_service
      table: vehicle_type
      statement: "select * from vehicle_type where id = %__master.vehicle_type_id"
      query: {vehicle_type_id: "%id"}
      mapping: [{db_field: name, es_field: vehicle_type_name}]
    - key: relation_captain_vehicle
      database: carteam_service
      table: relation_captain_vehicle
      statement: "select * from relation_captain_vehicle where vehicle_id = %__master.id and status = 1"
      query: {vehicle_id: "%vehicle_id"}
      filter: {status: 1}
      mapping: [captain_id, carteam_id]
"#;

    struct Parsed {
        file: Option<HandlerFile>,
        root: Option<Node>,
        map: SourceMap,
        diags: Vec<Diagnostic>,
    }

    impl Parsed {
        fn file(&self) -> &HandlerFile {
            self.file.as_ref().expect("the handler loads")
        }

        fn codes(&self) -> Vec<&'static str> {
            self.diags.iter().map(|d| d.code.as_str()).collect()
        }

        fn find(&self, code: Code) -> &Diagnostic {
            self.diags
                .iter()
                .find(|d| d.code == code)
                .unwrap_or_else(|| panic!("no {} in {:?}", code.as_str(), self.diags))
        }

        fn location(&self, code: Code) -> String {
            self.map
                .location(self.find(code).primary_span().expect("labelled"))
        }
    }

    fn parse_files(files: &[(&str, &str)]) -> Parsed {
        let loader = files
            .iter()
            .fold(MemLoader::new(), |l, (p, t)| l.with(p, *t));
        let mut map = SourceMap::new();
        let mut diags = Diagnostics::new();
        let root = yaml::load_file(&loader, Path::new(files[0].0), &mut map, &mut diags);
        let file = root.as_ref().map(|r| parse_handler(r, &mut diags));
        Parsed {
            file,
            root,
            map,
            diags: diags.finish(),
        }
    }

    fn parse(text: &str) -> Parsed {
        parse_files(&[("h.yml", text)])
    }

    /// A one-item handler around the given mapping entries and extra item lines.
    fn item_with(extra: &str, mapping: &str) -> String {
        format!(
            "idx:\n  doc:\n    - key: m\n      database: d\n      table: m\n      document_id: \"%id\"\n      statement: select * from m\n{extra}      mapping: {mapping}\n"
        )
    }

    fn texts(s: &Option<Spanned<String>>) -> Option<&str> {
        s.as_ref().map(|s| s.value.as_str())
    }

    fn expr(entry: &MappingSyntax) -> Option<&str> {
        match &entry.db_field {
            Some(DbField::Expr(e)) => Some(e.as_str()),
            _ => None,
        }
    }

    #[test]
    fn t01_canonical_example_loads() {
        let p = parse(VEH);
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        let f = p.file();
        assert_eq!(f.lists.len(), 1, "`__monitors` is not an index");
        let list = &f.lists[0];
        assert_eq!(
            (list.alias.value.as_str(), list.es_type.value.as_str()),
            ("index_vehicle", "vehicle")
        );
        let keys: Vec<_> = list
            .items
            .iter()
            .map(|i| texts(&i.key).expect("key"))
            .collect();
        assert_eq!(
            keys,
            ["vehicle", "vehicle_type", "relation_captain_vehicle"]
        );
        assert!(list.items[0].document_id.is_some());
        assert!(list.items[1].document_id.is_none());
        let mapping = &list.items[0].mapping.as_ref().expect("mapping").value;
        assert_eq!(mapping.len(), 6);
        assert_eq!(
            (expr(&mapping[1]), texts(&mapping[1].es_field)),
            (Some("created_at"), Some("created_at"))
        );
        let nested = &mapping[5];
        assert_eq!(texts(&nested.es_field), Some("vehicle_monitors"));
        assert_eq!(texts(&nested.kind), Some("nested"));
        let Some(DbField::Nested(items)) = &nested.db_field else {
            panic!("nested db_field")
        };
        assert_eq!(items.value.len(), 1);
        let monitor = &items.value[0];
        assert_eq!(texts(&monitor.key), Some("vehicle_monitor"));
        assert_eq!(
            monitor
                .parent_query
                .as_ref()
                .map(|q| q.value[0].0.value.as_str()),
            Some("vehicle_id")
        );
        // The alias keeps the anchor's spans: the nested items point at the `__monitors` text.
        assert_eq!(p.map.location(monitor.span), "h.yml:2:5");
        let statement = monitor.statement.as_ref().expect("statement");
        let at = statement.as_str().find("%__parent.id").expect("present");
        assert_eq!(p.map.location(statement.span_of(at..at + 12)), "h.yml:6:86");
    }

    #[test]
    fn t01_json_round_trip_gives_the_same_structure() {
        let p = parse(VEH);
        let json = p.root.as_ref().expect("root").to_json().to_string();
        let again = parse_files(&[("stored.json", &json)]);
        assert!(again.diags.is_empty(), "{:?}", again.diags);
        assert_eq!(again.file(), p.file());
        // The JSON path has real spans too.
        let list = &again.file().lists[0];
        assert_eq!(again.map.slice(list.alias.span), "\"index_vehicle\"");
    }

    #[test]
    fn t03_mapping_entries_are_normalised() {
        let text = item_with(
            "",
            "[\"x\", {field: y, null_value: 0, eval_on_deleted: yes}, {db_field: a, es_field: b}]",
        );
        let p = parse(&text);
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        let entries = &p.file().lists[0].items[0]
            .mapping
            .as_ref()
            .expect("mapping")
            .value;
        let shape: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    expr(e),
                    texts(&e.es_field),
                    texts(&e.kind),
                    e.eval_on_deleted.as_ref().map(|b| b.value),
                    e.null_value.as_ref().map(Node::to_json),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (Some("x"), Some("x"), None, None, None),
                (
                    Some("y"),
                    Some("y"),
                    None,
                    Some(true),
                    Some(serde_json::json!(0))
                ),
                (Some("a"), Some("b"), None, None, None),
            ]
        );
    }

    #[test]
    fn t04_includes_and_sequence_top_level() {
        let p = parse_files(&[
            (
                "main.yml",
                "- !include sub/a.yml\n- !include sub/b.json\n- {__ref: {x: 1}}\n",
            ),
            (
                "sub/a.yml",
                "idx_a:\n  t:\n    - key: m\n      database: d\n      table: m\n      document_id: \"%id\"\n      statement: !include q.sql\n      mapping: [id]\n",
            ),
            ("sub/q.sql", "select * from m where id > %__last.id:(0)\n"),
            (
                "sub/b.json",
                r#"{"idx_b": {"t": [{"key": "m", "database": "d", "table": "m", "document_id": "%id", "statement": "select * from m", "mapping": ["id"]}]}}"#,
            ),
        ]);
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        let aliases: Vec<_> = p
            .file()
            .lists
            .iter()
            .map(|l| l.alias.value.as_str())
            .collect();
        assert_eq!(aliases, ["idx_a", "idx_b"]);
        let statement = p.file().lists[0].items[0]
            .statement
            .as_ref()
            .expect("statement");
        assert_eq!(
            statement.as_str(),
            "select * from m where id > %__last.id:(0)\n"
        );
        assert_eq!(p.map.location(statement.span_of(14..15)), "sub/q.sql:1:15");
        let json_statement = p.file().lists[1].items[0]
            .statement
            .as_ref()
            .expect("statement");
        assert_eq!(
            p.map.location(json_statement.span_of(0..6)),
            "sub/b.json:1:98"
        );
    }

    #[test]
    fn later_aliases_replace_earlier_ones() {
        let p = parse_files(&[
            ("main.yml", "- !include a.yml\n- !include b.yml\n"),
            ("a.yml", "x: {t1: []}\ny: {t: []}\n"),
            ("b.yml", "x: {t2: []}\n"),
        ]);
        let names: Vec<_> = p
            .file()
            .lists
            .iter()
            .map(|l| format!("{}/{}", l.alias.value, l.es_type.value))
            .collect();
        assert_eq!(names, ["x/t2", "y/t"]);
    }

    #[test]
    fn an_error_in_an_included_file_points_into_it() {
        let p = parse_files(&[
            ("main.yml", "- !include sub/a.yml\n"),
            (
                "sub/a.yml",
                "idx:\n  t:\n    - key: m\n      filtr: {a: 1}\n",
            ),
        ]);
        assert_eq!(p.location(codes::UNKNOWN_KEY), "sub/a.yml:4:7");
    }

    #[test]
    fn near_miss_keys_are_errors_and_far_ones_warnings() {
        let text = item_with(
            "      filtr: {status: 1}\n      comment_by_author: x\n      __note: y\n",
            "[id]",
        );
        let p = parse(&text);
        assert_eq!(p.codes(), ["E0203", "W0201"]);
        let err = p.find(codes::UNKNOWN_KEY);
        assert_eq!(err.message, "unknown key `filtr`");
        assert_eq!(err.help.as_deref(), Some("did you mean `filter`?"));
        assert_eq!(p.location(codes::UNKNOWN_KEY), "h.yml:8:7");
        assert_eq!(
            p.find(codes::IGNORED_KEY).message,
            "unknown key `comment_by_author` is ignored"
        );
        // The item is still read.
        assert_eq!(texts(&p.file().lists[0].items[0].key), Some("m"));
        let entry = parse(&item_with("", "[{db_field: a, es_feld: b}]"));
        assert_eq!(entry.codes(), ["E0202", "E0203"]);
    }

    #[test]
    fn bad_mapping_entry() {
        let p = parse(&item_with("", "[id, 1, [x]]"));
        assert_eq!(p.codes(), ["E0205", "E0205"]);
        assert_eq!(
            p.find(codes::BAD_MAPPING_ENTRY).message,
            "mapping values must be a mapping or a string"
        );
        assert_eq!(p.location(codes::BAD_MAPPING_ENTRY), "h.yml:8:21");
        assert_eq!(
            p.file().lists[0].items[0]
                .mapping
                .as_ref()
                .expect("mapping")
                .value
                .len(),
            1
        );
    }

    #[test]
    fn quoted_booleans_are_refused() {
        let p = parse(&item_with(
            "",
            "[{field: a, eval_on_deleted: \"false\"}, {field: b, eval_on_deleted: off}]",
        ));
        assert_eq!(p.codes(), ["E0216"]);
        let d = p.find(codes::BAD_BOOL);
        assert!(d.message.contains("`\"false\"`"), "{}", d.message);
        assert!(
            d.help
                .as_deref()
                .is_some_and(|h| h.contains("remove the quotes"))
        );
        let entries = &p.file().lists[0].items[0]
            .mapping
            .as_ref()
            .expect("mapping")
            .value;
        assert_eq!(
            entries[1].eval_on_deleted.as_ref().map(|b| b.value),
            Some(false)
        );
    }

    #[test]
    fn missing_fields_in_entries_and_items() {
        let p = parse(&item_with(
            "",
            "[{es_field: a}, {db_field: b}, {type: nested}]",
        ));
        assert_eq!(p.codes(), ["E0202", "E0202", "E0202", "E0202"]);
        // Missing item keys are the model stage's to report.
        let p = parse("idx:\n  doc:\n    - key: m\n      mapping: []\n");
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        assert!(p.file().lists[0].items[0].table.is_none());
    }

    #[test]
    fn wrong_kinds_say_what_was_expected() {
        let p = parse("idx:\n  doc: \"x\"\n");
        assert_eq!(p.codes(), ["E0201"]);
        assert_eq!(
            p.diags[0].message,
            "expected a list of items for `idx`/`doc`, found a string"
        );
        assert!(p.diags[0].help.is_some());
        let p = parse(&item_with("", "\"x\""));
        assert_eq!(
            p.diags[0].message,
            "expected a list of mapping entries for `mapping`, found a string"
        );
        let p = parse(&item_with("      table: yes\n", "[id]").replace("      table: m\n", ""));
        assert_eq!(p.codes(), ["E0201"]);
        assert_eq!(
            p.diags[0].message,
            "expected a string for `table`, found a boolean"
        );
        let p = parse("- 1\n");
        assert_eq!(p.codes(), ["E0201"]);
        let p = parse("idx: {}\n");
        assert_eq!(p.codes(), ["E0218"]);
    }

    #[test]
    fn numbers_are_accepted_as_names() {
        let p = parse(&item_with("", "[{db_field: a, es_field: 5}]").replace("key: m", "key: 1"));
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        let item = &p.file().lists[0].items[0];
        assert_eq!(texts(&item.key), Some("1"));
        assert_eq!(
            texts(&item.mapping.as_ref().expect("mapping").value[0].es_field),
            Some("5")
        );
    }

    #[test]
    fn nested_entries_need_a_list_and_the_nested_type() {
        let p = parse(&item_with(
            "",
            "[{db_field: x, es_field: n, type: nested}, {db_field: [], es_field: k}]",
        ));
        assert_eq!(p.codes(), ["E0201", "E0201"]);
        let p = parse(&item_with("", "[{field: a, db_field: b}]"));
        assert_eq!(p.codes(), ["E0220"]);
    }

    /// Every prefix of a real handler, and every prefix with a troublesome character spliced in,
    /// loads and parses without panicking (user input must never crash the compiler).
    #[test]
    fn truncated_and_mutated_input_never_panics() {
        let extra = "k: \"é\\u00\\x4\\\n  中\"\nb: |2-\n    x\n  y\nc: 'a''\n\n  b'\nd: >+\n\n";
        let splices = [
            "\"", "'", "|", ">", "\\", "*", "&", "!", ":", "\t", "\r\n", "中",
        ];
        // The whole sweep is too slow for a debug-build unit test, so the long file is sampled:
        // every prefix of the short text, every 3rd of VEH, and splices at a prime stride.
        for (base, stride) in [(VEH, 3), (extra, 1)] {
            let boundaries = base.char_indices().map(|(i, _)| i).chain([base.len()]);
            for (n, cut) in boundaries.enumerate().filter(|(n, _)| n % stride == 0) {
                let spliced = if n % (7 * stride) == 0 {
                    &splices[..]
                } else {
                    &[][..]
                };
                for splice in std::iter::once("").chain(spliced.iter().copied()) {
                    let p = parse(&format!("{}{splice}", &base[..cut]));
                    drop(p.file);
                }
            }
        }
    }

    #[test]
    fn a_failed_include_is_reported_once() {
        let p = parse_files(&[(
            "main.yml",
            "- !include none.yml\n- {idx: {doc: !include gone.yml}}\n",
        )]);
        assert_eq!(p.codes(), ["E0101", "E0101"]);
        assert_eq!(p.file().lists.len(), 1);
    }

    #[test]
    fn all_errors_are_collected_in_one_run() {
        let text = "idx:\n  doc:\n    - key: m\n      filtr: {}\n      mapping: [1, {field: a, eval_on_deleted: \"no\"}]\n    - \"x\"\n";
        let p = parse(text);
        assert_eq!(p.codes(), ["E0203", "E0205", "E0216", "E0201"]);
    }
}
