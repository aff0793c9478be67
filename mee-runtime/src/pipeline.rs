//! The contract between generated pipeline code and the engines.
//!
//! Each index of a pipeline (a top-level list of its handler file) is compiled into a type that
//! implements [`IndexPipeline`]: it knows its SQL and how to turn rows into documents. The
//! engines (full update, sync) know nothing about any pipeline: they page, batch, write and
//! checkpoint through this trait. The boundary is crossed once per page of documents, so the
//! dynamic dispatch costs nothing measurable.

use crate::doc::DocError;
use crate::mysql::{ExpectedTable, MysqlError, Session, Source, Sql, Statement};
use crate::value::Value;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, as the trait's async methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The identity of a value: equal keys are the same value (integers of every width and
/// signedness are one value). It recognises repeated arguments and distinct key values; it is
/// not MySQL's equality, which [`crate::join`] reproduces where rows are paired.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Null,
    Int(i128),
    Text(String),
    Bytes(Vec<u8>),
    /// Decimals, floats and dates, by their text (equal text means equal value for one column).
    Other(String),
}

impl Key {
    pub fn of(v: &Value) -> Key {
        match v {
            Value::Null => Key::Null,
            Value::Int(i) => Key::Int(i128::from(*i)),
            Value::UInt(u) => Key::Int(i128::from(*u)),
            Value::Text(s) => Key::Text(s.clone()),
            Value::Bytes(b) => Key::Bytes(b.clone()),
            other => Key::Other(crate::eval::text::to_text(other)),
        }
    }

    /// Several columns as one key (composite links).
    pub fn of_all(vs: &[Value]) -> Key {
        match vs {
            [one] => Key::of(one),
            many => Key::Other(
                many.iter()
                    .map(crate::eval::text::to_text)
                    .collect::<Vec<_>>()
                    .join("\u{1f}"),
            ),
        }
    }

    /// NULL never equals anything in SQL, so a NULL link finds no row.
    pub fn is_null(&self) -> bool {
        matches!(self, Key::Null)
    }
}

/// The distinct non-null values of `keys`, in first-seen order (the IN-list of a batched read).
pub fn distinct_keys(keys: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    keys.into_iter()
        .filter(|v| !v.is_null() && seen.insert(Key::of(v)))
        .collect()
}

/// One built document, or why it could not be built.
#[derive(Debug)]
pub struct BuiltDoc {
    /// The master row's primary key.
    pub key: Value,
    /// `_id`, and the routing when the pipeline sets one.
    pub id: String,
    pub routing: Option<String>,
    /// The document as JSON, or the error that sends it to the retry table.
    pub source: Result<Vec<u8>, DocError>,
}

/// The documents of one page of master rows.
#[derive(Debug, Default)]
pub struct Page {
    pub docs: Vec<BuiltDoc>,
    /// The primary key of the last master row read: the next page starts after it.
    pub last_key: Option<Value>,
    /// Master rows read (each is a document or a failure).
    pub master_rows: usize,
    /// Rows read for joined and nested items.
    pub dependent_rows: usize,
}

/// A compiled index: one top-level list of a pipeline.
pub trait IndexPipeline: Send + Sync + 'static {
    /// The pipeline (file stem) this index belongs to.
    fn pipeline(&self) -> &'static str;
    /// The alias documents are served under.
    fn alias(&self) -> &'static str;
    /// The create-index body (`settings` and `mappings`) as JSON text.
    fn index_body(&self) -> &'static str;
    /// A hash of the mapping and the statements: documents built by another fingerprint may
    /// differ, so such an index is rebuilt rather than synced.
    fn fingerprint(&self) -> &'static str;
    /// Every source table of the index and how its changes reach documents.
    fn sources(&self) -> &'static [SourceTable];
    /// The tables the index reads and the columns of each it uses, with their types in the
    /// checked-in DDL it was compiled against: checked against the live server at start-up and
    /// after every schema change ([`crate::preflight`]).
    fn expected_schema(&self) -> &'static [ExpectedTable];
    /// The `_id` and routing of the document a master row image (looked up by column name)
    /// belongs to; `None` when the image does not fit the compiled schema.
    fn placement(&self, column: &dyn Fn(&str) -> Option<Value>)
    -> Option<(String, Option<String>)>;
    /// The master table's primary key column (keyset paging and key ranges).
    fn master_key(&self) -> &'static str;
    /// The `(database, table)` of the master item.
    fn master_table(&self) -> (&'static str, &'static str);
    /// Every statement the index runs; [`IndexPipeline::read_page`] and
    /// [`IndexPipeline::read_keys`] take them resolved, in this order.
    fn statements(&self) -> &'static [&'static Sql];
    /// Reads the page of master rows after `after` (the first page when `None`) and builds their
    /// documents, reading joined and nested rows with one query per item for the whole page.
    fn read_page<'a>(
        &'a self,
        session: &'a mut Session,
        statements: &'a [Statement],
        after: Option<Value>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page, MysqlError>>;
    /// Builds the documents of the given master keys (those that still exist and still match
    /// the master statement).
    fn read_keys<'a>(
        &'a self,
        session: &'a mut Session,
        statements: &'a [Statement],
        keys: Vec<Value>,
    ) -> BoxFuture<'a, Result<Page, MysqlError>>;
}

/// Resolves an index's statements against the physical database names of `source`.
pub fn resolve_statements(index: &dyn IndexPipeline, source: &Source) -> Vec<Statement> {
    let max_keys = source.config().max_keys_per_query;
    index
        .statements()
        .iter()
        .map(|sql| sql.resolve(source.physical(sql.database), max_keys))
        .collect()
}

/// A fast hasher for join keys: they come from our own database, not from an attacker, and
/// SipHash cost ~2.5% of a full update.
pub type KeyHasher = foldhash::fast::RandomState;

/// Runs an `executeSQL` statement for a page, one parameter list per document, `None` for a
/// document whose item has no row (reference §2.4: its field is `null_value` and no query runs).
/// The statements run in `database`, at the session's read concurrency
/// ([`Session::fetch_each`]). Each result is the first column of the first row, NULL when the
/// statement returns no row; a failed statement fails the page.
pub async fn execute_sql(
    session: &mut Session,
    database: &str,
    sql: &str,
    args: Vec<Option<Vec<Value>>>,
) -> Result<Vec<Option<Value>>, MysqlError> {
    let documents = args.len();
    let (docs, params): (Vec<usize>, Vec<Vec<Value>>) = args
        .into_iter()
        .enumerate()
        .filter_map(|(doc, a)| a.map(|a| (doc, a)))
        .unzip();
    let concurrency = session.read_concurrency();
    let results = session
        .fetch_each(database, sql, &params, concurrency)
        .await?;
    let mut out = vec![None; documents];
    for (doc, rows) in docs.into_iter().zip(results) {
        let first = rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next());
        out[doc] = Some(first.unwrap_or(Value::Null));
    }
    Ok(out)
}

/// A dependent row that does not fit the compiled schema: the live table changed in a way the
/// start-up check should have caught. It fails the page, with the table named.
pub fn row_error(table: &str, e: crate::doc::RowError) -> MysqlError {
    MysqlError::Result {
        context: format!("reading `{table}`"),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_integers_of_any_width() {
        assert_eq!(Key::of(&Value::Int(5)), Key::of(&Value::UInt(5)));
        assert_ne!(Key::of(&Value::Int(5)), Key::of(&Value::Text("5".into())));
        assert_eq!(
            distinct_keys([Value::Int(1), Value::Null, Value::UInt(1), Value::Int(2)]),
            vec![Value::Int(1), Value::Int(2)]
        );
    }
}

/// What a source table means to an index, for the sync: which changes matter, and how to find
/// the documents they affect. Generated per item (a table used by two items appears twice).
#[derive(Debug)]
pub struct SourceTable {
    pub database: &'static str,
    pub table: &'static str,
    /// The item of the handler file.
    pub item: &'static str,
    pub role: SourceRole,
    /// The columns the pipeline uses: an update that changes none of them needs no work.
    pub columns: &'static [&'static str],
    /// The document fields the item feeds (nested arrays by their array field).
    pub fields: &'static [&'static str],
    /// The column of a changed row that starts the path (the master's primary key for the
    /// master itself).
    pub start: &'static str,
    /// From the changed rows' `start` values to master keys, one hop per item on the way.
    pub path: &'static [LinkStep],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRole {
    Master,
    Joined,
    NestedMaster,
    NestedJoined,
}

/// One hop towards the master: `SELECT <next column> FROM <table> WHERE <match column> IN (values)`.
/// Which statement runs is `statement` (an index into the index's statements); `None` when the
/// values already are master keys.
#[derive(Debug)]
pub struct LinkStep {
    /// The table the hop reads, for messages.
    pub table: &'static str,
    pub statement: Option<usize>,
}

/// The master keys of the documents that rows with these `start` values affect, following
/// `source.path` through MySQL (the source of truth, not the index).
pub async fn affected_keys(
    session: &mut Session,
    statements: &[Statement],
    source: &SourceTable,
    values: Vec<Value>,
) -> Result<Vec<Value>, MysqlError> {
    let mut current = distinct_keys(values);
    for step in source.path {
        let Some(statement) = step.statement else {
            continue;
        };
        if current.is_empty() {
            break;
        }
        let rows = session
            .fetch_keyed(&statements[statement], &current)
            .await?;
        current = distinct_keys(rows.into_iter().filter_map(|r| r.into_iter().next()));
    }
    Ok(current)
}
