//! Raw handler structure -> [`Pipeline`], with the structural rules of the handler reference.
//!
//! Every rule pushes its diagnostic and carries on, so one run reports all problems. An item with
//! a missing required key is still lowered (with an empty value) so the rules that do not need
//! that key can still look at it.

use super::*;
use crate::diag::{Diagnostic, Diagnostics, codes, nearest};
use crate::expr::filter::parse_filter;
use crate::expr::placeholder;
use crate::syntax::{self, DbField, Entries, HandlerFile, ItemSyntax, ListSyntax};
use std::collections::BTreeMap;

/// Builds the model of one handler file.
pub fn lower(name: &str, file: FileId, handler: &HandlerFile, diags: &mut Diagnostics) -> Pipeline {
    let mut cx = Lowering {
        p: Pipeline {
            name: name.into(),
            file,
            lists: vec![],
            items: vec![],
        },
        diags,
    };
    for list in &handler.lists {
        cx.list(list, None, &list.items, list.span);
    }
    let list_ids: Vec<ListId> = (0..cx.p.lists.len()).collect();
    for &id in &list_ids {
        cx.check_list(id);
    }
    for id in 0..cx.p.items.len() {
        cx.resolve_item(id);
    }
    cx.check_cycles();
    cx.check_reachable();
    cx.p
}

struct Lowering<'a> {
    p: Pipeline,
    diags: &'a mut Diagnostics,
}

impl Lowering<'_> {
    fn list(
        &mut self,
        list: &ListSyntax,
        parent: Option<NestedIn>,
        items: &[ItemSyntax],
        span: Span,
    ) -> ListId {
        let id = self.p.lists.len();
        self.p.lists.push(List {
            id,
            alias: list.alias.clone(),
            es_type: list.es_type.clone(),
            span,
            items: vec![],
            master: None,
            parent,
        });
        let mut ids = Vec::new();
        for item in items {
            ids.push(self.item(id, item));
        }
        self.p.lists[id].items = ids;
        // Nested lists are lowered after their parent list's items exist, so `%__parent` resolves.
        for (&item_id, item) in self.p.lists[id].items.clone().iter().zip(items) {
            let Some(mapping) = &item.mapping else {
                continue;
            };
            for (entry_index, entry) in mapping.value.iter().enumerate() {
                let Some(DbField::Nested(nested)) = &entry.db_field else {
                    continue;
                };
                let field = entry
                    .es_field
                    .clone()
                    .unwrap_or_else(|| Spanned::new(String::new(), entry.span));
                if self.p.lists[id].parent.is_some() {
                    self.diags.push(
                        Diagnostic::error(
                            codes::NESTED_TOO_DEEP,
                            format!("nested list `{}` is inside another nested list", field.value),
                        )
                        .primary(entry.span, "a nested list may not contain a nested list")
                        .help("move these items into the top-level list's nested entry, or join them as slave items of the nested master"),
                    );
                    continue;
                }
                let holder = NestedIn {
                    list: id,
                    item: item_id,
                    entry: entry_index,
                    field,
                };
                let nested_id = self.list(list, Some(holder), &nested.value, nested.span);
                if let Some(e) = self.p.items[item_id]
                    .mapping
                    .iter_mut()
                    .find(|e| e.span == entry.span)
                {
                    e.value = EntryValue::Nested(nested_id);
                }
            }
        }
        id
    }

    fn item(&mut self, list: ListId, s: &ItemSyntax) -> ItemId {
        let id = self.p.items.len();
        // A key written with a rejected value (or misspelled) was reported by the syntax layer.
        let written = |key: &str| s.written.contains(&key);
        let required =
            |this: &mut Self, v: &Option<Spanned<String>>, key: &str| -> Spanned<String> {
                match v {
                    Some(v) => v.clone(),
                    None => {
                        if !written(key) {
                            this.missing_key(s.span, key);
                        }
                        Spanned::new(String::new(), s.span)
                    }
                }
            };
        let key = required(self, &s.key, syntax::keys::KEY);
        let database = required(self, &s.database, syntax::keys::DATABASE);
        let table = required(self, &s.table, syntax::keys::TABLE);
        let statement = match &s.statement {
            Some(st) => st.clone(),
            None => {
                if !written(syntax::keys::STATEMENT) {
                    self.missing_key(s.span, syntax::keys::STATEMENT);
                }
                empty_str(s.span)
            }
        };
        if s.mapping.is_none() && !written(syntax::keys::MAPPING) {
            self.missing_key(s.span, syntax::keys::MAPPING);
        }
        let mapping = s
            .mapping
            .as_ref()
            .map(|m| self.mapping(&m.value))
            .unwrap_or_default();
        let filter = s.filter.as_ref().map(|f| self.filter(f));
        self.p.items.push(Item {
            id,
            list,
            role: if s.document_id.is_some() {
                Role::Master
            } else {
                Role::Slave
            },
            span: s.span,
            key,
            database,
            table,
            statement: template(statement),
            document_id: s.document_id.as_ref().map(|n| template(node_str(n))),
            routing: s.routing.clone().map(template),
            query: s.query.as_ref().map(query_entries),
            parent_query: s.parent_query.as_ref().map(query_entries),
            filter,
            mapping,
            depends_on: None,
        });
        id
    }

    fn missing_key(&mut self, span: Span, key: &str) {
        self.diags.push(
            Diagnostic::error(codes::MISSING_KEY, format!("item is missing the required key `{key}`"))
                .primary(span, format!("no `{key}` in this item"))
                .help(match key {
                    "key" => "give the item a unique name, e.g. `key: customer`".to_string(),
                    "database" => "name the MySQL database (a file pipelines/schema/<database>.sql describes it)".into(),
                    "table" => "name the MySQL table this item reads".into(),
                    "statement" => "write the SELECT that finds this item's row, e.g. `select * from t where id = %__master.t_id`".into(),
                    _ => "write the list of columns to index, e.g. `mapping: [id, name]`".into(),
                }),
        );
    }

    fn mapping(&mut self, entries: &[syntax::MappingSyntax]) -> Vec<Entry> {
        let mut out = Vec::new();
        for e in entries {
            let (Some(es_field), Some(db_field)) = (&e.es_field, &e.db_field) else {
                // The syntax layer already reported the missing key.
                continue;
            };
            if !is_identifier(&es_field.value) {
                self.diags.push(
                    Diagnostic::error(
                        codes::BAD_ES_FIELD,
                        format!("`{}` is not a valid es_field", es_field.value),
                    )
                    .primary(es_field.span, "must match `^[_a-zA-Z][A-Za-z0-9_]*$`")
                    .help("documents are flat: use letters, digits and `_`, starting with a letter or `_` (no dots)"),
                );
            }
            let value = match db_field {
                DbField::Expr(text) => {
                    let (expr, errors) = crate::expr::dbfield::parse(text.as_str());
                    for err in errors {
                        self.diags.push(err.to_diagnostic(|r| text.span_of(r)));
                    }
                    EntryValue::Expr {
                        text: text.clone(),
                        expr,
                    }
                }
                // Filled in by `list` once the nested list exists.
                DbField::Nested(_) => EntryValue::Nested(usize::MAX),
            };
            if matches!(db_field, DbField::Nested(_))
                && e.kind.as_ref().is_none_or(|k| k.value != "nested")
            {
                self.diags.push(
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        "a list of items as `db_field` needs `type: nested`",
                    )
                    .primary(e.span, "this entry holds items")
                    .help("add `type: nested` to the entry"),
                );
            }
            out.push(Entry {
                span: e.span,
                es_field: es_field.clone(),
                value,
                null_value: e
                    .null_value
                    .as_ref()
                    .map_or(serde_json::Value::Null, |n| n.to_json()),
                null_value_span: e.null_value.as_ref().map(|n| n.span),
                eval_on_deleted: e.eval_on_deleted.as_ref().is_some_and(|b| b.value),
            });
        }
        out
    }

    fn filter(&mut self, f: &Entries) -> Spanned<Vec<(Span, FilterEntry)>> {
        let (entries, errors) =
            parse_filter(f.value.iter().map(|(k, v)| (k.value.clone(), v.to_json())));
        for err in errors {
            let span = f
                .value
                .get(err.entry)
                .map_or(f.span, |(k, v)| k.span.to(v.span));
            self.diags.push(err.to_diagnostic(span));
        }
        let spans: BTreeMap<&str, Span> = f
            .value
            .iter()
            .map(|(k, v)| (k.value.as_str(), k.span.to(v.span)))
            .collect();
        let entries = entries
            .into_iter()
            .map(|e| (spans.get(e.column.as_str()).copied().unwrap_or(f.span), e))
            .collect();
        Spanned::new(entries, f.span)
    }

    /// One master per list, unique keys, unique es_fields, no two nested arrays with one name.
    fn check_list(&mut self, id: ListId) {
        let list = self.p.lists[id].clone();
        let describe = self.describe_list(id);
        let masters: Vec<ItemId> = list
            .items
            .iter()
            .copied()
            .filter(|&i| self.p.items[i].is_master())
            .collect();
        match masters.as_slice() {
            [] => self.diags.push(
                Diagnostic::error(codes::MISSING_MASTER, format!("{describe} has no master item"))
                    .primary(list.span, "no item here has `document_id`")
                    .help("mark the item whose rows are the documents with `document_id`, e.g. `document_id: \"%id\"`"),
            ),
            [m] => self.p.lists[id].master = Some(*m),
            [first, rest @ ..] => {
                self.p.lists[id].master = Some(*first);
                for &m in rest {
                    let item = &self.p.items[m];
                    let span = item.document_id.as_ref().map_or(item.span, |d| d.text.span);
                    self.diags.push(
                        Diagnostic::error(codes::DUPLICATE_MASTER, format!("{describe} has more than one master item"))
                            .primary(span, format!("`{}` has `document_id` too", item.key.value))
                            .secondary(self.p.items[*first].key.span, "the first master")
                            .help("only the item whose rows are the documents has `document_id`; remove it from the others"),
                    );
                }
            }
        }
        let mut keys: BTreeMap<String, Span> = BTreeMap::new();
        for &i in &list.items {
            let key = self.p.items[i].key.clone();
            if key.value.is_empty() {
                continue;
            }
            if let Some(first) = keys.get(&key.value) {
                self.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE_ITEM_KEY,
                        format!("duplicate key `{}` in {describe}", key.value),
                    )
                    .primary(key.span, "used again here")
                    .secondary(*first, "first used here")
                    .help("every item of a list needs its own `key`"),
                );
            } else {
                keys.insert(key.value.clone(), key.span);
            }
        }
        // Entries are assigned in file order and the last writer would win; Mee left that to
        // dictionary order. Two writers of one field are almost always a mistake, so reject them.
        let mut fields: BTreeMap<String, (Span, bool)> = BTreeMap::new();
        for &i in &list.items {
            for e in self.p.items[i].mapping.clone() {
                let nested = matches!(e.value, EntryValue::Nested(_));
                match fields.get(&e.es_field.value) {
                    Some(&(first, first_nested)) => {
                        let code = if nested && first_nested {
                            codes::DUPLICATE_NESTED_FIELD
                        } else {
                            codes::DUPLICATE_ES_FIELD
                        };
                        self.diags.push(
                            Diagnostic::error(
                                code,
                                format!(
                                    "es_field `{}` is written twice in {describe}",
                                    e.es_field.value
                                ),
                            )
                            .primary(e.es_field.span, "written again here")
                            .secondary(first, "first written here")
                            .help("give one of the entries another `es_field`"),
                        );
                    }
                    None => {
                        fields.insert(e.es_field.value.clone(), (e.es_field.span, nested));
                    }
                }
            }
        }
    }

    fn describe_list(&self, id: ListId) -> String {
        let list = &self.p.lists[id];
        match &list.parent {
            Some(p) => format!("nested list `{}`", p.field.value),
            None => format!("`{}`/`{}`", list.alias.value, list.es_type.value),
        }
    }

    /// Resolves every placeholder of an item and applies the rules about where each may appear.
    fn resolve_item(&mut self, id: ItemId) {
        let item = self.p.items[id].clone();
        let list = &self.p.lists[item.list];
        let nested = list.parent.is_some();
        let is_master = item.is_master();

        // Statement: may read other items (one of them at most), `__last` in a master, `__parent`
        // in a nested master.
        let mut statement = item.statement.clone();
        let mut deps: Vec<(ItemId, Span)> = Vec::new();
        let mut parent_dep = None;
        let mut uses_last = false;
        let text = statement.text.as_str().to_string();
        for err in placeholder::errors(&text, &statement.pieces) {
            self.diags.push(err.to_diagnostic(|r| statement.span_of(r)));
        }
        for r in &mut statement.refs {
            r.target = self.target(id, &r.placeholder, r.span, Context::Statement);
            match r.target {
                RefTarget::Item(t) if t == id => self.diags.push(
                    Diagnostic::error(codes::DEPENDENCY_CYCLE, format!("the statement of `{}` depends on itself", item.key.value))
                        .primary(r.span, "`%__master` is this item itself")
                        .help("a master's statement reads its own columns as `%col`; use `%__last.col` for paging"),
                ),
                RefTarget::Item(t) => {
                    if !deps.iter().any(|(d, _)| *d == t) {
                        deps.push((t, r.span));
                    }
                }
                RefTarget::Last => {
                    uses_last = true;
                    // In a list without a master (reported) every item looks like a slave.
                    let has_master = self.p.lists[item.list].master.is_some();
                    if !is_master && has_master {
                        self.diags.push(
                            Diagnostic::error(codes::LAST_NOT_ALLOWED, "`%__last` can only appear in a master item's statement")
                                .primary(r.span, format!("`{}` is not a master item", item.key.value))
                                .help("`%__last` is the previous master row while paging; read the master row with `%__master.col`"),
                        );
                    }
                }
                RefTarget::Parent(p) => {
                    if !(nested && is_master) {
                        self.diags.push(
                            Diagnostic::error(codes::PARENT_NOT_ALLOWED, "`%__parent` can only appear in a nested master item's statement")
                                .primary(r.span, "not the master of a nested list")
                                .help("`%__parent` is the row of the item that holds a nested list; use it in that list's master statement"),
                        );
                    } else {
                        parent_dep = Some(p);
                    }
                }
                RefTarget::Own | RefTarget::Unknown => {}
            }
        }
        if deps.len() > 1 {
            let mut d = Diagnostic::error(
                codes::TOO_MANY_DEPENDENCIES,
                format!(
                    "the statement of `{}` depends on more than one other item",
                    item.key.value
                ),
            );
            for (i, (dep, span)) in deps.iter().enumerate() {
                let label = format!("reads `{}`", self.p.items[*dep].key.value);
                d = if i == 0 {
                    d.primary(*span, label)
                } else {
                    d.secondary(*span, label)
                };
            }
            self.diags.push(d.help("an item's row must be found from one other item's row; split the lookup into a chain of items"));
        }
        let depends_on = match (deps.first(), parent_dep) {
            (Some(&(dep, _)), _) => Some(Dependency {
                item: dep,
                via_parent: false,
            }),
            (None, Some(parent)) => Some(Dependency {
                item: parent,
                via_parent: true,
            }),
            (None, None) => None,
        };
        // Only the list's master pages (a second master was reported as a duplicate).
        let pages = self.p.lists[item.list].master == Some(id);
        if is_master && pages && !nested && !uses_last && !statement.text.as_str().is_empty() {
            self.diags.push(
                Diagnostic::error(
                    codes::MISSING_PAGING,
                    format!(
                        "the master statement of `{}` has no `%__last` paging condition",
                        item.key.value
                    ),
                )
                .primary(
                    statement.text.span,
                    "a full update pages through the master table with this statement",
                )
                .help(
                    "add a keyset condition on the primary key, e.g. `where id > %__last.id:(0)`",
                ),
            );
        }
        if let Some(r) = placeholder::trailing_limit(statement.text.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    codes::TRAILING_LIMIT,
                    "a statement can not end with a `LIMIT` clause",
                )
                .primary(statement.span_of(r), "remove this")
                .help("mee reads one row per key itself; a `LIMIT` would cut a whole page of keys"),
            );
        }

        // Anchors: document_id, routing, query, parent_query read only the item's own row.
        let mut document_id = item.document_id.clone();
        let mut routing = item.routing.clone();
        if let Some(t) = document_id.as_mut() {
            self.anchor(id, t, "document_id");
        }
        if let Some(t) = routing.as_mut() {
            self.anchor(id, t, "routing");
            if nested || !is_master {
                self.diags.push(
                    Diagnostic::error(
                        codes::ROUTING_NOT_ALLOWED,
                        "`routing` can only appear on the top-level master item",
                    )
                    .primary(t.text.span, "not the top-level master")
                    .help("a document's routing comes from its master row; remove `routing` here"),
                );
            }
        }
        let mut query = item.query.clone();
        for e in query.iter_mut().flatten() {
            if let QueryValue::Template(t) = &mut e.value {
                self.anchor(id, t, "query");
            }
        }
        let mut parent_query = item.parent_query.clone();
        for e in parent_query.iter_mut().flatten() {
            if let QueryValue::Template(t) = &mut e.value {
                self.anchor(id, t, "parent_query");
            }
        }
        if let Some(pq) = &item.parent_query
            && !(nested && is_master)
        {
            let span = pq.first().map_or(item.span, |e| e.es_field.span);
            self.diags.push(
                Diagnostic::error(
                    codes::PARENT_QUERY_NOT_ALLOWED,
                    "`parent_query` can only appear on a nested list's master item",
                )
                .primary(span, "not a nested master")
                .help("remove `parent_query`; it selects the parent documents of nested elements"),
            );
        }

        let it = &mut self.p.items[id];
        it.statement = statement;
        it.document_id = document_id;
        it.routing = routing;
        it.query = query;
        it.parent_query = parent_query;
        it.depends_on = depends_on;
    }

    /// Checks that an anchor template reads only the item's own row.
    fn anchor(&mut self, id: ItemId, t: &mut Template, what: &str) {
        let key = self.p.items[id].key.value.clone();
        for r in &mut t.refs {
            r.target = self.target(id, &r.placeholder, r.span, Context::Anchor);
            if r.target != RefTarget::Own && r.target != RefTarget::Unknown {
                self.diags.push(
                    Diagnostic::error(
                        codes::ANCHOR_DEPENDS_ON_OTHER,
                        format!("`{what}` of `{key}` reads another item's row"),
                    )
                    .primary(r.span, "only this item's own columns may be used here")
                    .help(format!(
                        "write `%{}` to use this item's own column",
                        r.placeholder.field
                    )),
                );
            }
        }
        let text = t.text.as_str().to_string();
        for err in placeholder::errors(&text, &t.pieces) {
            self.diags.push(err.to_diagnostic(|r| t.span_of(r)));
        }
    }

    fn target(&mut self, id: ItemId, ph: &Placeholder, span: Span, cx: Context) -> RefTarget {
        let item = &self.p.items[id];
        let list = &self.p.lists[item.list];
        let Some(key) = &ph.key else {
            return RefTarget::Own;
        };
        if *key == item.key.value {
            return RefTarget::Own;
        }
        match key.as_str() {
            "__master" => list.master.map_or(RefTarget::Unknown, RefTarget::Item),
            "__last" => RefTarget::Last,
            "__parent" => match &list.parent {
                Some(p) => RefTarget::Parent(p.item),
                None => {
                    if cx == Context::Statement {
                        // Reported by the caller with the statement rule's message.
                        RefTarget::Parent(usize::MAX)
                    } else {
                        RefTarget::Unknown
                    }
                }
            },
            other => match list
                .items
                .iter()
                .find(|&&i| self.p.items[i].key.value == other)
            {
                Some(&i) => RefTarget::Item(i),
                None => {
                    let keys: Vec<String> = list
                        .items
                        .iter()
                        .map(|&i| self.p.items[i].key.value.clone())
                        .collect();
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_ITEM_KEY,
                        format!("no item `{other}` in this list"),
                    )
                    .primary(span, "unknown item key");
                    d = match nearest(
                        other,
                        keys.iter()
                            .map(String::as_str)
                            .chain(["__master", "__last", "__parent"]),
                    ) {
                        Some(best) => d.help(format!("did you mean `{best}`?")),
                        None => d.help(format!(
                            "the items of this list are: {}",
                            keys.iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    };
                    self.diags.push(d);
                    RefTarget::Unknown
                }
            },
        }
    }

    /// Rejects any cycle of dependencies (each item depends on at most one other, so following
    /// the single edge from every item finds every cycle).
    fn check_cycles(&mut self) {
        let mut reported = vec![false; self.p.items.len()];
        for start in 0..self.p.items.len() {
            let mut path = vec![start];
            let mut cur = start;
            while let Some(dep) = self.p.items[cur]
                .depends_on
                .as_ref()
                .filter(|d| !d.via_parent)
                .map(|d| d.item)
            {
                if dep >= self.p.items.len() {
                    break;
                }
                if let Some(pos) = path.iter().position(|&p| p == dep) {
                    let cycle = &path[pos..];
                    if cycle.iter().any(|&i| reported[i]) {
                        break;
                    }
                    for &i in cycle {
                        reported[i] = true;
                    }
                    let names: Vec<String> = cycle
                        .iter()
                        .map(|&i| format!("`{}`", self.p.items[i].key.value))
                        .collect();
                    let first = &self.p.items[cycle[0]];
                    let mut d = Diagnostic::error(
                        codes::DEPENDENCY_CYCLE,
                        format!("dependency cycle: {} -> {}", names.join(" -> "), names[0]),
                    )
                    .primary(
                        first.statement.text.span,
                        format!("`{}` reads the next item of the cycle", first.key.value),
                    );
                    for &i in &cycle[1..] {
                        d = d.secondary(
                            self.p.items[i].statement.text.span,
                            format!("`{}` continues it", self.p.items[i].key.value),
                        );
                    }
                    self.diags.push(d.help(
                        "every item's row must be found starting from the master; break the cycle",
                    ));
                    break;
                }
                path.push(dep);
                cur = dep;
            }
        }
    }

    /// Every slave must reach its list's master through its dependency chain; otherwise no
    /// document can tell which of its rows belongs to it, and no change of it can be mapped to
    /// the documents it affects.
    fn check_reachable(&mut self) {
        for id in 0..self.p.items.len() {
            let item = &self.p.items[id];
            // An empty statement or an unknown item key was reported already; "not linked"
            // would only repeat it.
            let broken = item.statement.text.as_str().is_empty()
                || item
                    .statement
                    .refs
                    .iter()
                    .any(|r| r.target == RefTarget::Unknown);
            if item.is_master() || item.key.value.is_empty() || broken {
                continue;
            }
            let Some(master) = self.p.lists[item.list].master else {
                continue;
            };
            let mut cur = id;
            let mut steps = 0;
            let reaches = loop {
                if cur == master {
                    break true;
                }
                match &self.p.items[cur].depends_on {
                    Some(d)
                        if !d.via_parent
                            && d.item < self.p.items.len()
                            && steps < self.p.items.len() =>
                    {
                        cur = d.item;
                        steps += 1;
                    }
                    _ => break false,
                }
            };
            if !reaches && !self.diags.iter().any(|d| d.code == codes::DEPENDENCY_CYCLE) {
                let item = &self.p.items[id];
                self.diags.push(
                    Diagnostic::error(codes::UNREACHABLE_ITEM, format!("item `{}` is not linked to the master `{}`", item.key.value, self.p.items[master].key.value))
                        .primary(item.statement.text.span, "this statement reads no other item's row")
                        .help(format!("find the row from the master (or an item linked to it), e.g. `... where {}_id = %__master.id`", self.p.items[master].table.value)),
                );
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Statement,
    Anchor,
}

fn empty_str(span: Span) -> StrValue {
    let token = span.start as usize..span.end as usize;
    let offsets = crate::yaml::OffsetMap::whole(span.file, token, 0);
    let scalar = crate::yaml::Scalar {
        value: String::new(),
        style: crate::yaml::ScalarStyle::Plain,
        offsets,
    };
    StrValue { scalar, span }
}

/// The text of a scalar node (a `document_id` may be written as a number).
fn node_str(node: &crate::yaml::Node) -> StrValue {
    match node.as_scalar() {
        Some(scalar) => StrValue {
            scalar: scalar.clone(),
            span: node.span,
        },
        None => empty_str(node.span),
    }
}

fn template(text: StrValue) -> Template {
    let pieces = placeholder::scan(text.as_str());
    let refs = placeholder::placeholders(&pieces)
        .map(|ph| PlaceholderRef {
            placeholder: ph.clone(),
            target: RefTarget::Own,
            span: text.span_of(ph.range.clone()),
            field_span: text.span_of(ph.field_range.clone()),
        })
        .collect();
    Template { text, pieces, refs }
}

fn query_entries(e: &Entries) -> Vec<QueryEntry> {
    e.value
        .iter()
        .map(|(k, v)| QueryEntry {
            es_field: k.clone(),
            value: match v.as_text() {
                Some(_) => QueryValue::Template(template(node_str(v))),
                None => QueryValue::Literal(v.to_json(), v.span),
            },
        })
        .collect()
}

/// `^[_a-zA-Z][A-Za-z0-9_]*$`
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}
