//! The read side of an index: its SQL statements and the `IndexPipeline` implementation that
//! reads a page of master rows and completes it with one query per joined item and per nested
//! list (`col IN (...)` over the page's link values), then builds the documents.

use super::{Gen, columns, names};
use crate::check::StatementInfo;
use crate::expr::literal::Literal;
use crate::join::{self, KeyKind, ReadPlan};
use crate::model::{EntryValue, Item, ItemId, ListId, RefTarget, Role};
use crate::sql::statement::{
    ConjunctKind, ParamSlot, ParamValue, RenderedParts, TemplatePiece, quote_ident,
};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// What one argument of a dependent item's read is made of.
enum Arg {
    /// A placeholder's value; written inside quotes, it is bound as text.
    Placeholder { ph: usize, quoted: bool },
    /// A quoted string of text and placeholders (`'A-%code'`).
    Template(Vec<TemplatePiece>),
}

impl Arg {
    fn of(value: &ParamValue, quoted: bool) -> Arg {
        match value {
            ParamValue::Placeholder(ph) => Arg::Placeholder { ph: *ph, quoted },
            ParamValue::Template(pieces) => Arg::Template(pieces.clone()),
        }
    }
}

/// One statement of the index, with its index in `STATEMENTS`.
struct Stmt {
    ident: syn::Ident,
    tokens: TokenStream,
    /// The statement's text, for the fingerprint.
    text: String,
}

impl Gen<'_> {
    fn info(&self, item: &Item) -> Option<&StatementInfo> {
        columns::statement(self.c, item)
    }

    fn pk(&self, item: &Item) -> Option<String> {
        columns::table_of(self.c, item).and_then(|t| t.primary_key.first().cloned())
    }

    fn sql_static(&self, name: &str, item: &Item, parts: &RenderedParts, keyed: bool) -> Stmt {
        let ident = format_ident!("SQL_{}", name.to_uppercase());
        let (head, tail, after) = (&parts.head, &parts.tail, &parts.after_keys);
        let arity = proc_macro2::Literal::u8_unsuffixed(
            u8::try_from(parts.key_arity.max(1)).unwrap_or(u8::MAX),
        );
        let db = &item.database.value;
        let doc = format!(
            " `{}{}{}{}{}`",
            head,
            quote_ident(db),
            tail,
            if keyed { "(...)" } else { "" },
            after
        );
        let tokens = if keyed {
            quote!(#[doc = #doc] pub static #ident: rt::Sql = rt::Sql::keyed(#head, #db, #tail, #arity, #after);)
        } else {
            quote!(#[doc = #doc] pub static #ident: rt::Sql = rt::Sql::new(#head, #db, #tail);)
        };
        Stmt {
            ident,
            tokens,
            text: doc,
        }
    }

    /// Whether a conjunct is replaced by the read plan: the master's paging condition, a link
    /// (replaced by the key list), or a nested master's `%__last` keyset condition (a batched
    /// read takes all nested rows at once).
    fn is_replaced(&self, item: &Item, info: &StatementInfo, i: usize) -> bool {
        info.paging == Some(i)
            || info.links.iter().any(|l| l.conjunct == i)
            || self.is_last_condition(item, info, i)
    }

    /// The statements and `IndexPipeline` implementation of one top-level list.
    pub(super) fn read_impl(&self, list: ListId) -> TokenStream {
        let Some(master) = self.c.model.master_of(list) else {
            return quote!();
        };
        let Some(info) = self.info(master) else {
            return quote!();
        };
        let Some(pk) = self.pk(master) else {
            return quote!();
        };
        let cols = &self.used[master.id];
        let pk_q = quote_ident(&pk);
        let paging = info.paging;
        let mut stmts = Vec::new();

        let first =
            info.analysis
                .render_parts(cols, &|i| Some(i) != paging, None, Some(&pk_q), Some("?"));
        let next = info
            .analysis
            .render_parts(cols, &|_| true, None, Some(&pk_q), Some("?"));
        let keys = info.analysis.render_parts(
            cols,
            &|i| Some(i) != paging,
            Some(&format!("{pk_q} IN ")),
            None,
            None,
        );
        let first_s = self.sql_static("master_first", master, &first, false);
        let next_s = self.sql_static("master_next", master, &next, false);
        let keys_s = self.sql_static("master_keys", master, &keys, true);
        // FIRST binds the limit; NEXT binds the paging key where the statement had `%__last`.
        let next_params: Vec<TokenStream> = next
            .params
            .iter()
            .map(|p| match p {
                ParamSlot::Limit(_) => quote!(rt::Value::Int(limit as i64)),
                _ => quote!(after.clone()),
            })
            .collect();
        stmts.push(first_s);
        stmts.push(next_s);
        stmts.push(keys_s);

        // Every item of every list of this index other than the top master gets one read, in
        // dependency order: batched for the page, or row by row (see `crate::join`).
        let mut dependents = Vec::new();
        let mut joins = Vec::new();
        for l in self.lists_of(list) {
            for item in self.dependency_order(l) {
                if item.id == master.id {
                    continue;
                }
                let (Some(info), Some(plan)) = (self.info(item), join::read_plan(self.c, item))
                else {
                    continue;
                };
                let (parts, args, mode) = self.dependent_read(item, info, &plan);
                let s = self.sql_static(
                    &names::snake(&item.key.value),
                    item,
                    &parts,
                    matches!(plan, ReadPlan::Batched { .. }),
                );
                joins.push(self.join_static(item, mode));
                joins.push(self.args_fn(item, &args));
                dependents.push((item, s.ident.clone()));
                stmts.push(s);
            }
        }

        let sources = self.sources(list, master, &mut stmts);
        let expected = self.expected_schema(list);
        let statics = stmts.iter().map(|s| &s.tokens);
        let idents: Vec<&syn::Ident> = stmts.iter().map(|s| &s.ident).collect();
        let master_row = self.row_name(master);
        let master_var = format_ident!("{}", names::snake(&master.key.value));
        let pk_field = names::field_ident(&pk);
        let pk_index = cols.iter().position(|c| *c == pk).unwrap_or(0);
        let master_table = (&master.database.value, &master.table.value);
        let (mdb, mtable) = master_table;
        let mtable_full = format!("{mdb}.{mtable}");
        let pipeline = &self.c.model.name;
        let alias = &self.c.model.list(list).alias.value;
        let body = crate::mapping::index_body(self.c, list).body().to_string();
        // What the documents depend on: the mapping and every statement. An index built by a
        // pipeline with another fingerprint must be rebuilt, not synced.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for s in std::iter::once(body.as_str()).chain(stmts.iter().map(|s| s.text.as_str())) {
            for b in s.bytes().chain([0]) {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        let fingerprint = format!("{hash:016x}");

        // Fetch phase: one block per dependent item, in dependency order.
        let fetches: Vec<TokenStream> = dependents
            .iter()
            .enumerate()
            .map(|(n, (item, _))| self.fetch_block(master, item, n + 3))
            .collect();
        let stmt_of: Vec<(ItemId, usize)> = dependents
            .iter()
            .enumerate()
            .map(|(n, (item, _))| (item.id, n + 3))
            .collect();
        let sql_calls = self.execute_sql(list, master, &stmt_of);
        let assemble = self.assemble(list, master);

        quote! {
            #(#statics)*

            #(#joins)*

            /// The source tables of this index: which changes matter and how they reach documents.
            pub static SOURCES: &[rt::SourceTable] = &[#(#sources),*];

            /// The tables this index reads and the columns it uses, typed as in the checked-in DDL:
            /// the live server must still have them (checked at start-up and after schema changes).
            pub static SCHEMA: &[rt::ExpectedTable] = &[#(#expected),*];

            /// The body of the create-index request: settings and the compiled mapping.
            pub const INDEX_BODY: &str = #body;

            /// The statements of this index, in the order `read_page`/`read_keys` take them resolved.
            pub static STATEMENTS: &[&rt::Sql] = &[#(&#idents),*];

            /// The index, as the engines see it.
            pub struct Index;

            impl rt::IndexPipeline for Index {
                fn pipeline(&self) -> &'static str {
                    #pipeline
                }

                fn alias(&self) -> &'static str {
                    #alias
                }

                fn index_body(&self) -> &'static str {
                    INDEX_BODY
                }

                fn fingerprint(&self) -> &'static str {
                    #fingerprint
                }

                fn sources(&self) -> &'static [rt::SourceTable] {
                    SOURCES
                }

                fn expected_schema(&self) -> &'static [rt::ExpectedTable] {
                    SCHEMA
                }

                fn placement(
                    &self,
                    column: &dyn Fn(&str) -> Option<rt::Value>,
                ) -> Option<(String, Option<String>)> {
                    let values = #master_row::COLUMNS.iter().map(|c| column(c).unwrap_or(rt::Value::Null)).collect();
                    let r = #master_row::from_row(values).ok()?;
                    Some((document_id(&r), routing(&r)))
                }

                fn master_key(&self) -> &'static str {
                    #pk
                }

                fn master_table(&self) -> (&'static str, &'static str) {
                    (#mdb, #mtable)
                }

                fn statements(&self) -> &'static [&'static rt::Sql] {
                    STATEMENTS
                }

                fn read_page<'a>(
                    &'a self,
                    session: &'a mut rt::Session,
                    stmts: &'a [rt::Statement],
                    after: Option<rt::Value>,
                    limit: usize,
                ) -> rt::BoxFuture<'a, Result<rt::Page, rt::MysqlError>> {
                    Box::pin(async move {
                        let rows = match &after {
                            None => session.fetch(stmts[0].text(), &[rt::Value::Int(limit as i64)]).await?,
                            Some(after) => session.fetch(stmts[1].text(), &[#(#next_params),*]).await?,
                        };
                        complete(session, stmts, rows).await
                    })
                }

                fn read_keys<'a>(
                    &'a self,
                    session: &'a mut rt::Session,
                    stmts: &'a [rt::Statement],
                    keys: Vec<rt::Value>,
                ) -> rt::BoxFuture<'a, Result<rt::Page, rt::MysqlError>> {
                    Box::pin(async move {
                        let rows = session.fetch_keyed(&stmts[2], &rt::distinct_keys(keys)).await?;
                        complete(session, stmts, rows).await
                    })
                }
            }

            /// Converts the master rows, reads every dependent item for the whole page, and builds
            /// the documents. A master row that cannot be converted or built becomes a failed
            /// document (for the retry table); a failed query fails the page.
            async fn complete(
                session: &mut rt::Session,
                stmts: &[rt::Statement],
                raw: Vec<Vec<rt::Value>>,
            ) -> Result<rt::Page, rt::MysqlError> {
                let mut page = rt::Page::default();
                page.master_rows = raw.len();
                let mut masters: Vec<#master_row> = Vec::with_capacity(raw.len());
                for values in raw {
                    let key = values.get(#pk_index).cloned().unwrap_or(rt::Value::Null);
                    page.last_key = Some(key.clone());
                    match #master_row::from_row(values) {
                        Ok(r) => masters.push(r),
                        Err(e) => page.docs.push(rt::BuiltDoc {
                            key,
                            id: String::new(),
                            routing: None,
                            source: Err(rt::DocError::Row { table: #mtable_full, source: e }),
                        }),
                    }
                }
                #(#fetches)*
                #sql_calls
                for (doc_index, #master_var) in masters.iter().enumerate() {
                    let key = #master_var.#pk_field.to_value();
                    let source = (|| -> Result<Vec<u8>, rt::DocError> { #assemble })();
                    page.docs.push(rt::BuiltDoc {
                        key,
                        id: document_id(#master_var),
                        routing: routing(#master_var),
                        source,
                    });
                }
                Ok(page)
            }
        }
    }

    /// `executeSQL` fields of the top-level list: one query per document whose item has a row
    /// (reference §2.4: no row means `null_value` and no query), in the item's database (the SQL
    /// names tables unqualified), all of the page's in one `rt::execute_sql` call, which runs them
    /// concurrently on pooled connections next to the session.
    ///
    /// They are not batched into one `IN (...) GROUP BY` statement: the SQL is the author's
    /// text, and the rewrite is equivalent only for narrow shapes that need checking against the
    /// DDL: one aggregate whose empty-set value is known (`COUNT` 0, the others NULL), an
    /// equality on an integer column against an integer argument (text keys match under
    /// collations the in-memory join would have to reproduce), no `LIMIT`, `HAVING`, `DISTINCT`,
    /// joins, further placeholders or non-deterministic functions, and no `SUM`/`AVG` of floats
    /// or `GROUP_CONCAT` (their result depends on the order rows are visited). Running every
    /// statement exactly as written, only concurrently, keeps each one's meaning.
    fn execute_sql(&self, list: ListId, master: &Item, stmt_of: &[(ItemId, usize)]) -> TokenStream {
        let mut blocks = Vec::new();
        for item in self.c.model.items_of(list) {
            for e in &item.mapping {
                let EntryValue::Expr { expr, .. } = &e.value else {
                    continue;
                };
                let Some(call) = expr.sql_calls().into_iter().next() else {
                    continue;
                };
                let mut sql = String::new();
                let mut last = 0;
                for p in &call.params {
                    sql.push_str(&call.sql[last..p.start]);
                    sql.push('?');
                    last = p.end;
                }
                sql.push_str(&call.sql[last..]);
                let args: Vec<TokenStream> = call
                    .args
                    .iter()
                    .map(|a| match a {
                        crate::expr::dbfield::Expr::Column { name, .. } => {
                            let col = names::field_ident(&self.canonical(item, name));
                            quote!(r.#col.to_value())
                        }
                        crate::expr::dbfield::Expr::Echo { literal, .. } => literal_value(literal),
                        _ => quote!(rt::Value::Null),
                    })
                    .collect();
                let uses_row = call
                    .args
                    .iter()
                    .any(|a| matches!(a, crate::expr::dbfield::Expr::Column { .. }));
                let r = if uses_row { quote!(r) } else { quote!(_) };
                let results = format_ident!("sql_{}", names::snake(&e.es_field.value));
                let row = self.resolve(item, master);
                let m = format_ident!("{}", names::snake(&master.key.value));
                // The item's own statement tells which physical database to use.
                let db = match stmt_of.iter().find(|(i, _)| *i == item.id) {
                    Some((_, n)) => quote!(stmts[#n].physical_database()),
                    None => quote!(stmts[0].physical_database()),
                };
                let each = self.over_masters(&m, quote!(#row.map(|#r| vec![#(#args),*])));
                blocks.push(quote! {
                    let #results = rt::execute_sql(
                        session,
                        #db,
                        #sql,
                        #each.collect(),
                    )
                    .await?;
                });
            }
        }
        quote!(#(#blocks)*)
    }

    /// The reverse map: for every item of the index, its used columns, the fields it feeds and
    /// the hops from a changed row to master keys. Each hop that needs a query adds a statement.
    fn sources(&self, list: ListId, master: &Item, stmts: &mut Vec<Stmt>) -> Vec<TokenStream> {
        let mut out = Vec::new();
        let master_pk = self.pk(master).unwrap_or_default();
        for l in self.lists_of(list) {
            for item in self.c.model.items_of(l) {
                let nested = self.c.model.list(item.list).parent.is_some();
                let role = match (item.id == master.id, nested, item.role) {
                    (true, _, _) => quote!(rt::SourceRole::Master),
                    (false, false, _) => quote!(rt::SourceRole::Joined),
                    (false, true, Role::Master) => quote!(rt::SourceRole::NestedMaster),
                    (false, true, Role::Slave) => quote!(rt::SourceRole::NestedJoined),
                };
                let mut steps = Vec::new();
                let start = if item.id == master.id {
                    master_pk.clone()
                } else {
                    let Some(first) = self.info(item).and_then(|i| i.links.first()) else {
                        continue;
                    };
                    let mut cur_target = first.target;
                    let mut match_col = first.target_column.clone();
                    for hop in 0..self.c.model.items.len() {
                        let b = self.c.model.item(cur_target);
                        let table = format!("{}.{}", b.database.value, b.table.value);
                        let (next, stop) = if b.id == master.id {
                            (master_pk.clone(), true)
                        } else {
                            match self.info(b).and_then(|i| i.links.first()) {
                                Some(link) => (link.column.clone(), false),
                                None => break,
                            }
                        };
                        if stop && match_col.eq_ignore_ascii_case(&master_pk) {
                            steps.push(quote!(rt::LinkStep { table: #table, statement: None }));
                            break;
                        }
                        let name = format!("path_{}_{hop}", names::snake(&item.key.value));
                        let head = format!("SELECT DISTINCT {} FROM ", quote_ident(&next));
                        let tail = format!(
                            ".{} WHERE {} IN ",
                            quote_ident(&b.table.value),
                            quote_ident(&match_col)
                        );
                        let parts = RenderedParts {
                            head,
                            tail,
                            after_keys: String::new(),
                            key_arity: 1,
                            params: vec![],
                        };
                        let s = self.sql_static(&name, b, &parts, true);
                        let index = stmts.len();
                        stmts.push(s);
                        steps.push(quote!(rt::LinkStep { table: #table, statement: Some(#index) }));
                        if stop {
                            break;
                        }
                        let Some(link) = self.info(b).and_then(|i| i.links.first()) else {
                            break;
                        };
                        cur_target = link.target;
                        match_col = link.target_column.clone();
                    }
                    first.column.clone()
                };
                let (db, table, key) = (&item.database.value, &item.table.value, &item.key.value);
                let columns = &self.used[item.id];
                let fields: Vec<&String> = item.mapping.iter().map(|e| &e.es_field.value).collect();
                out.push(quote!(rt::SourceTable {
                    database: #db,
                    table: #table,
                    item: #key,
                    role: #role,
                    columns: &[#(#columns),*],
                    fields: &[#(#fields),*],
                    start: #start,
                    path: &[#(#steps),*],
                }));
            }
        }
        out
    }

    /// What the index expects of the live schema: every table its items read (each once, sorted
    /// by database and table) with the columns the items use, in table order, typed as in the
    /// DDL file the table was loaded from.
    fn expected_schema(&self, list: ListId) -> Vec<TokenStream> {
        use std::collections::{BTreeMap, BTreeSet};
        let mut tables: BTreeMap<(&str, &str), BTreeSet<String>> = BTreeMap::new();
        for l in self.lists_of(list) {
            for item in self.c.model.items_of(l) {
                tables
                    .entry((&item.database.value, &item.table.value))
                    .or_default()
                    .extend(self.used[item.id].iter().map(|c| c.to_ascii_lowercase()));
            }
        }
        let mut out = Vec::new();
        for ((db, name), used) in tables {
            let Some(table) = self.c.schema.table(db, name) else {
                continue;
            };
            let columns = table
                .columns
                .iter()
                .filter(|c| used.contains(&c.name.to_ascii_lowercase()))
                .map(|c| {
                    let (col, ty, nullable) = (&c.name, &c.type_text, c.nullable);
                    quote!(rt::ExpectedColumn::new(#col, #ty, #nullable))
                });
            let file = self
                .c
                .schema
                .database(db)
                .map(|d| self.map.file(d.file).display_path.clone())
                .unwrap_or_default();
            out.push(quote!(rt::ExpectedTable::new(#db, #name, &[#(#columns),*]).in_file(#file)));
        }
        out
    }

    /// The lists of one index: the top-level list and its nested lists.
    fn lists_of(&self, list: ListId) -> Vec<ListId> {
        self.c
            .model
            .lists
            .iter()
            .filter(|l| self.c.model.root_list(l.id) == list)
            .map(|l| l.id)
            .collect()
    }

    /// A list's items with every item after the item it depends on.
    fn dependency_order(&self, list: ListId) -> Vec<&Item> {
        let items: Vec<&Item> = self.c.model.items_of(list).collect();
        let mut out: Vec<&Item> = Vec::new();
        let mut placed: Vec<ItemId> = Vec::new();
        // Each pass places the items whose dependency is placed (or outside this list).
        for _ in 0..=items.len() {
            for item in &items {
                if placed.contains(&item.id) {
                    continue;
                }
                let ready = match &item.depends_on {
                    Some(d) if !d.via_parent => placed.contains(&d.item),
                    _ => true,
                };
                if ready {
                    placed.push(item.id);
                    out.push(item);
                }
            }
        }
        out
    }

    fn map_name(&self, item: &Item) -> syn::Ident {
        format_ident!("rows_{}", names::snake(&item.key.value))
    }

    /// The name of the function that computes an item's statement arguments from the row it
    /// depends on.
    fn args_name(&self, item: &Item) -> syn::Ident {
        format_ident!("{}_args", names::snake(&item.key.value))
    }

    /// The SQL of one dependent item's read, what each of its arguments is, and its
    /// `rt::JoinMode`.
    fn dependent_read(
        &self,
        item: &Item,
        info: &StatementInfo,
        plan: &ReadPlan,
    ) -> (RenderedParts, Vec<Arg>, TokenStream) {
        let cols = &self.used[item.id];
        let pk = self.pk(item);
        let first_only = !self.is_nested_master(item);
        // The statement's own order, then the primary key, so that ties are broken the same way
        // in every read (a joined item takes the first row).
        let pk_in_order = |order: &[crate::sql::statement::OrderItem]| {
            order.iter().any(|o| {
                o.column
                    .as_ref()
                    .zip(pk.as_ref())
                    .is_some_and(|(c, pk)| c.name.eq_ignore_ascii_case(pk))
            })
        };
        let order = match (info.analysis.order_by_list(), &pk) {
            (Ok(Some(list)), Some(pk)) if !pk_in_order(&info.analysis.order_by) => {
                Some(format!("{list}, {}", quote_ident(pk)))
            }
            (Ok(Some(list)), _) => Some(list.to_string()),
            (Ok(None), Some(pk)) => Some(quote_ident(pk)),
            _ => None,
        };
        match plan {
            ReadPlan::Batched { kinds } => {
                let link_cols: Vec<String> = info
                    .links
                    .iter()
                    .map(|l| self.canonical(item, &l.column))
                    .collect();
                let key_list = match link_cols.as_slice() {
                    [one] => format!("{} IN ", quote_ident(one)),
                    many => format!(
                        "({}) IN ",
                        many.iter()
                            .map(|c| quote_ident(c))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let mut parts = info.analysis.render_parts(
                    cols,
                    &|i| !self.is_replaced(item, info, i),
                    Some(&key_list),
                    Some(order.as_deref().unwrap_or("1")),
                    None,
                );
                // Each row is followed by the value MySQL pairs it by, per link.
                let mut select: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
                let mut modes = Vec::new();
                for (kind, col) in kinds.iter().zip(&link_cols) {
                    let q = quote_ident(col);
                    select.push(match kind {
                        KeyKind::Text => format!("WEIGHT_STRING({q})"),
                        KeyKind::Double => format!("CAST({q} AS DOUBLE)"),
                        _ => q,
                    });
                    modes.push(match kind {
                        KeyKind::Exact => quote!(rt::KeyKind::Exact),
                        KeyKind::Decimal => quote!(rt::KeyKind::Decimal),
                        KeyKind::Double => quote!(rt::KeyKind::Double),
                        KeyKind::Temporal => quote!(rt::KeyKind::Temporal),
                        KeyKind::Text => quote!(rt::KeyKind::Text { column: #col }),
                    });
                }
                parts.head = format!("SELECT {} FROM ", select.join(", "));
                parts.key_arity = link_cols.len();
                let args = info
                    .links
                    .iter()
                    .filter_map(|l| match &info.analysis.conjuncts[l.conjunct].kind {
                        ConjunctKind::Link { param, .. } => {
                            let p = &info.analysis.params[*param];
                            Some(Arg::of(&p.value, p.quoted))
                        }
                        _ => None,
                    })
                    .collect();
                (parts, args, quote!(rt::JoinMode::Batched(&[#(#modes),*])))
            }
            ReadPlan::RowByRow { .. } => {
                let parts = info.analysis.render_parts(
                    cols,
                    &|i| !self.is_last_condition(item, info, i),
                    None,
                    order.as_deref(),
                    first_only.then_some("1"),
                );
                let args = parts
                    .params
                    .iter()
                    .filter_map(|slot| match slot {
                        ParamSlot::Statement(i) => {
                            let p = &info.analysis.params[*i];
                            Some(Arg::of(&p.value, p.quoted))
                        }
                        _ => None,
                    })
                    .collect();
                (parts, args, quote!(rt::JoinMode::RowByRow))
            }
        }
    }

    fn is_nested_master(&self, item: &Item) -> bool {
        self.c.model.list(item.list).parent.is_some() && item.role == Role::Master
    }

    /// A nested master's `%__last` keyset condition: Mee paged nested rows; mee reads them all.
    fn is_last_condition(&self, item: &Item, info: &StatementInfo, i: usize) -> bool {
        match &info.analysis.conjuncts[i].kind {
            ConjunctKind::Compare { param, .. } => {
                match info.analysis.params.get(*param).map(|p| &p.value) {
                    Some(ParamValue::Placeholder(ph)) => item
                        .statement
                        .refs
                        .get(*ph)
                        .is_some_and(|r| r.target == RefTarget::Last),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// `JOIN_<ITEM>`: how the runtime reads and pairs the item's rows.
    fn join_static(&self, item: &Item, mode: TokenStream) -> TokenStream {
        let ident = format_ident!("JOIN_{}", names::snake(&item.key.value).to_uppercase());
        let table = format!("{}.{}", item.database.value, item.table.value);
        let table_name = &item.table.value;
        let first_only = !self.is_nested_master(item);
        let doc = format!(
            " How the rows of item `{}` are read and paired with documents.",
            item.key.value
        );
        quote! {
            #[doc = #doc]
            pub static #ident: rt::Join = rt::Join {
                table: #table,
                table_name: #table_name,
                first_only: #first_only,
                mode: #mode,
            };
        }
    }

    /// `<item>_args`: the item's statement arguments for one row of the item it depends on
    /// (`None` when that item has no row: placeholders take their defaults, else NULL).
    fn args_fn(&self, item: &Item, args: &[Arg]) -> TokenStream {
        let name = self.args_name(item);
        let Some(dep) = item.depends_on.as_ref().map(|d| self.c.model.item(d.item)) else {
            return quote!();
        };
        let dep_row = self.row_name(dep);
        let values: Vec<TokenStream> = args.iter().map(|a| self.arg_value(item, dep, a)).collect();
        let doc = format!(
            " The arguments of item `{}`'s statement for a row of `{}`.",
            item.key.value, dep.key.value
        );
        quote! {
            #[doc = #doc]
            fn #name(dep: Option<&#dep_row>) -> Vec<rt::Value> {
                vec![#(#values),*]
            }
        }
    }

    fn arg_value(&self, item: &Item, dep: &Item, arg: &Arg) -> TokenStream {
        let placeholder = |ph: usize| -> TokenStream {
            let Some(r) = item.statement.refs.get(ph) else {
                return quote!(rt::Value::Null);
            };
            let default = r.default().map_or(quote!(rt::Value::Null), literal_value);
            match r.target {
                RefTarget::Item(t) | RefTarget::Parent(t) if t == dep.id => {
                    let col = names::field_ident(&self.canonical(dep, r.column()));
                    quote!(match dep { Some(d) => d.#col.to_value(), None => #default })
                }
                _ => default,
            }
        };
        match arg {
            Arg::Placeholder { ph, quoted: false } => placeholder(*ph),
            // A placeholder written inside quotes compares as text, as the author wrote it.
            Arg::Placeholder { ph, quoted: true } => {
                let v = placeholder(*ph);
                quote!(rt::Value::Text(rt::text::to_text(&#v)))
            }
            Arg::Template(pieces) => {
                let pushes = pieces.iter().map(|p| match p {
                    TemplatePiece::Text(t) => quote!(s.push_str(#t);),
                    TemplatePiece::Placeholder(ph) => {
                        let v = placeholder(*ph);
                        quote!(rt::text::write_text(&mut s, &#v);)
                    }
                });
                quote!({
                    let mut s = String::new();
                    #(#pushes)*
                    rt::Value::Text(s)
                })
            }
        }
    }

    /// The row of `item` for the current document (or nested element), as `Option<&Row>`,
    /// resolved through its dependency chain. `master_var` is the master row of the list.
    fn resolve(&self, item: &Item, master: &Item) -> TokenStream {
        if item.id == master.id {
            let v = format_ident!("{}", names::snake(&master.key.value));
            return quote!(Some(#v));
        }
        let Some(dep) = item.depends_on.as_ref() else {
            return quote!(None);
        };
        let dep_item = self.c.model.item(dep.item);
        let dep_row = if dep.via_parent {
            let v = format_ident!("{}", names::snake(&dep_item.key.value));
            quote!(#v)
        } else {
            self.resolve(dep_item, master)
        };
        let map = self.map_name(item);
        if self.per_document(item) && self.is_top_master(master) {
            // Read with one argument list per document: look the rows up by the document's
            // position (`doc_index`) instead of computing its arguments again.
            return quote!(#map.first_at(doc_index));
        }
        let args = self.args_name(item);
        quote!(#map.first(&#args(#dep_row)))
    }

    /// Whether an item is read with one argument list per document of the page, in page
    /// order: the joined items of the top-level list, and nested masters whose parent is in it.
    fn per_document(&self, item: &Item) -> bool {
        let list = self.c.model.list(item.list);
        match &list.parent {
            None => true,
            Some(p) => {
                self.is_nested_master(item)
                    && self
                        .c
                        .model
                        .list(self.c.model.item(p.item).list)
                        .parent
                        .is_none()
            }
        }
    }

    fn is_top_master(&self, item: &Item) -> bool {
        self.c.model.list(item.list).parent.is_none()
            && self
                .c
                .model
                .master_of(item.list)
                .is_some_and(|m| m.id == item.id)
    }

    /// `masters.iter().map(...)` over the page's master rows as `m`, with `doc_index` bound
    /// when `body` uses it.
    fn over_masters(&self, m: &syn::Ident, body: TokenStream) -> TokenStream {
        if body.to_string().contains("doc_index") {
            quote!(masters.iter().enumerate().map(|(doc_index, #m)| #body))
        } else {
            quote!(masters.iter().map(|#m| #body))
        }
    }

    /// Reads the rows of one dependent item for the whole page.
    fn fetch_block(&self, top_master: &Item, item: &Item, stmt: usize) -> TokenStream {
        let row = self.row_name(item);
        let map = self.map_name(item);
        let join = format_ident!("JOIN_{}", names::snake(&item.key.value).to_uppercase());
        let args = self.args_name(item);
        let Some(dep) = item.depends_on.as_ref().map(|d| self.c.model.item(d.item)) else {
            return quote!();
        };
        let list = self.c.model.list(item.list);
        // The rows this item's rows are read for: the documents' masters, or for a nested list
        // every row of its master read so far.
        let m = format_ident!("{}", names::snake(&top_master.key.value));
        let each = if list.parent.is_none() || self.is_nested_master(item) {
            let dep_row = self.resolve(dep, top_master);
            self.over_masters(&m, quote!(#args(#dep_row)))
        } else {
            // A joined item of a nested list: keyed by its dependency among the nested rows.
            let nm = self.c.model.master_of(item.list).map_or(item, |m| m);
            let all = self.map_name(nm);
            let v = format_ident!("{}", names::snake(&nm.key.value));
            let dep_row = self.resolve(dep, nm);
            quote!(#all.rows().map(|#v| #args(#dep_row)))
        };
        quote! {
            let #map = rt::read_joined(
                session,
                &stmts[#stmt],
                &#join,
                #each,
                #row::from_row,
                &mut page.dependent_rows,
            )
            .await?;
        }
    }

    /// The body that builds one document from the page's maps (returns `Result<Vec<u8>, _>`).
    fn assemble(&self, list: ListId, master: &Item) -> TokenStream {
        let build = self.build_call(list, master);
        quote!(Ok(#build?.to_json_bytes()))
    }

    /// A call of a list's build function with its rows resolved for the current master.
    fn build_call(&self, list: ListId, master: &Item) -> TokenStream {
        let l = self.c.model.list(list);
        let fn_name = match &l.parent {
            Some(p) => format_ident!("build_{}_element", names::snake(&p.field.value)),
            None => format_ident!("build_doc"),
        };
        let mut args = Vec::new();
        let mut lets = Vec::new();
        for item in self.c.model.items_of(list) {
            let var = format_ident!("{}", names::snake(&item.key.value));
            if item.id != master.id {
                let r = self.resolve(item, master);
                lets.push(quote!(let #var = #r;));
            }
            args.push(quote!(#var));
            for e in &item.mapping {
                match &e.value {
                    EntryValue::Nested(nested) => {
                        let Some(nm) = self.c.model.master_of(*nested) else {
                            continue;
                        };
                        let groups = self.map_name(nm);
                        let nmv = format_ident!("{}", names::snake(&nm.key.value));
                        let nm_row = self.row_name(nm);
                        let inner = self.build_call(*nested, nm);
                        let nm_args = self.args_name(nm);
                        let lookup = if l.parent.is_none() && self.per_document(nm) {
                            quote!(#groups.group_at(doc_index))
                        } else if item.role == Role::Master {
                            quote!(#groups.group(&#nm_args(Some(#var))))
                        } else {
                            quote!(#groups.group(&#nm_args(#var)))
                        };
                        let group = if item.role == Role::Master {
                            lookup
                        } else {
                            quote!(match #var { Some(_) => #lookup, None => &[] })
                        };
                        args.push(quote!({
                            let group: &[#nm_row] = #group;
                            let mut out = Vec::with_capacity(group.len());
                            for #nmv in group {
                                out.push(#inner?);
                            }
                            out
                        }));
                    }
                    EntryValue::Expr { expr, .. } if !expr.sql_calls().is_empty() => {
                        // Read before assembly for the whole page (see `execute_sql`).
                        if l.parent.is_some() {
                            args.push(quote!(None));
                        } else {
                            let results = format_ident!("sql_{}", names::snake(&e.es_field.value));
                            args.push(quote!(#results.get(doc_index).cloned().flatten()));
                        }
                    }
                    EntryValue::Expr { .. } => {}
                }
            }
        }
        quote!({
            #(#lets)*
            #fn_name(#(#args),*)
        })
    }
}

fn literal_value(l: &Literal) -> TokenStream {
    super::literal_value(l)
}
