//! Pairing a dependent item's rows with the rows they depend on, exactly as MySQL pairs them.
//!
//! A joined or nested item's statement names the row it depends on through placeholders
//! (`where code = %__master.country_code`). Mee ran that statement once per document; mee reads a
//! whole page at once and pairs the rows in memory, so the pairing must give the rows the
//! statement would have given for each document, and in its order:
//!
//! - **Batched** ([`JoinMode::Batched`]): every dependency placeholder sits in an equality link
//!   (`col = %dep.col`, several joined by `AND`). The statement runs once per page with the
//!   links replaced by `(c1, c2) IN ((?, ?), ...)`, so MySQL itself decides which rows match
//!   some document. Each row comes back followed by one *pairing value* per link, computed by
//!   MySQL from the row's link column: `WEIGHT_STRING(col)` for text (the collation's sort
//!   key: case, accents and expansions as the column's collation has them), `CAST(col AS
//!   DOUBLE)` where MySQL compares as floating point (a number against text), and the column
//!   itself otherwise. The documents' link values are turned into the same kind of value: text
//!   and doubles by MySQL too, in one query per page, under the linked column's own collation
//!   (taken from the column in the query, never from a name mee might have wrong); integers,
//!   decimals and dates in memory, where equality is plain. Trailing spaces are dropped from
//!   the weights of PAD SPACE collations, as their comparison ignores them. Rows then fall
//!   into one slot per distinct pairing value, in the statement's order (the author's
//!   `ORDER BY`, then the primary key).
//! - **Row by row** ([`JoinMode::RowByRow`]): any other use of the dependency (`valid_from <=
//!   %__master.created`, a link between types whose comparison mee does not reproduce, a
//!   `GROUP BY`): the statement runs as written once per distinct set of arguments, with
//!   bounded concurrency ([`Session::fetch_each`]), `LIMIT 1` for a joined item.
//!
//! Either way the result is a [`Joined`], which generated code asks for the first row
//! ([`Joined::first`]) or all rows ([`Joined::group`]) of a document's arguments.

use crate::mysql::{MysqlError, Session, Statement};
use crate::pipeline::{Key, KeyHasher};
use crate::value::Value;
use std::collections::HashMap;

/// How the values of one link are compared (chosen by the compiler from the two columns'
/// types, following MySQL's comparison rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Integers of any width and signedness, and binary strings: equal values are equal.
    Exact,
    /// Exact numbers where one side is a `DECIMAL`: `1.50` equals `1.5` and `1`.
    Decimal,
    /// MySQL compares as double precision (a number against text, or a float): `'1abc' = 1`.
    Double,
    /// Text under the collation of the item's column `column`.
    Text { column: &'static str },
    /// Dates and times: a `DATE` equals the `DATETIME` at its midnight.
    Temporal,
}

/// How a dependent item's rows are read for a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinMode {
    /// One keyed statement per page, one [`KeyKind`] per link, in the order of the key
    /// columns; each row is followed by its pairing values.
    Batched(&'static [KeyKind]),
    /// The statement once per distinct argument list.
    RowByRow,
}

/// What generated code declares about one dependent item's read.
#[derive(Debug)]
pub struct Join {
    /// `database.table`, for messages.
    pub table: &'static str,
    /// The table's name, for the collation of [`KeyKind::Text`] links.
    pub table_name: &'static str,
    /// A joined item keeps only the first row per document; a nested list keeps them all.
    pub first_only: bool,
    pub mode: JoinMode,
}

/// The rows of a dependent item for a page, by the arguments of each document.
#[derive(Debug)]
pub struct Joined<R> {
    by_args: HashMap<Vec<Key>, usize, KeyHasher>,
    /// The slot of each argument list in the order they were given (`None`: a NULL link).
    by_input: Vec<Option<usize>>,
    slots: Vec<Vec<R>>,
}

impl<R> Default for Joined<R> {
    fn default() -> Self {
        Joined {
            by_args: HashMap::default(),
            by_input: Vec::new(),
            slots: Vec::new(),
        }
    }
}

impl<R> Joined<R> {
    /// The first row for a document whose arguments are `args`, in the statement's order.
    pub fn first(&self, args: &[Value]) -> Option<&R> {
        self.group(args).first()
    }

    /// Every row for a document whose arguments are `args`, in the statement's order.
    pub fn group(&self, args: &[Value]) -> &[R] {
        // One argument (the common case) is looked up without building a vector.
        let slot = match args {
            [one] => self.by_args.get(std::slice::from_ref(&Key::of(one))),
            many => self
                .by_args
                .get(many.iter().map(Key::of).collect::<Vec<_>>().as_slice()),
        };
        slot.map_or(&[][..], |&slot| self.slots[slot].as_slice())
    }

    /// The first row for the `input`-th argument list given to [`read_joined`] (the
    /// document at that position of the page), without computing its arguments again.
    pub fn first_at(&self, input: usize) -> Option<&R> {
        self.group_at(input).first()
    }

    /// Every row for the `input`-th argument list given to [`read_joined`].
    pub fn group_at(&self, input: usize) -> &[R] {
        match self.by_input.get(input) {
            Some(Some(slot)) => self.slots[*slot].as_slice(),
            _ => &[],
        }
    }

    /// Every row read (a row that several documents share once per distinct pairing).
    pub fn rows(&self) -> impl Iterator<Item = &R> {
        self.slots.iter().flatten()
    }
}

/// Reads a dependent item's rows for the documents whose arguments `args` yields (one list per
/// document: the link values in key-column order when batched, the statement's dependency
/// parameters in order otherwise).
pub async fn read_joined<R>(
    session: &mut Session,
    statement: &Statement,
    join: &Join,
    args: impl IntoIterator<Item = Vec<Value>>,
    from_row: fn(Vec<Value>) -> Result<R, crate::doc::RowError>,
    rows_read: &mut usize,
) -> Result<Joined<R>, MysqlError> {
    let mut out = Joined::default();
    // The distinct argument lists, and each one's identity (its slot is known once read).
    let mut distinct: Vec<Vec<Value>> = Vec::new();
    let mut identities: Vec<Vec<Key>> = Vec::new();
    let mut index_of: HashMap<Vec<Key>, usize, KeyHasher> = HashMap::default();
    // For each argument list given, its position in `distinct`.
    let mut inputs: Vec<Option<usize>> = Vec::new();
    let batched = matches!(join.mode, JoinMode::Batched(_));
    for a in args {
        // NULL equals nothing: a batched link with a NULL value finds no row. Row by row, the
        // statement decides (it may test `IS NULL`).
        if batched && a.iter().any(Value::is_null) {
            inputs.push(None);
            continue;
        }
        let key: Vec<Key> = a.iter().map(Key::of).collect();
        let next = distinct.len();
        let at = *index_of.entry(key.clone()).or_insert(next);
        if at == next {
            identities.push(key);
            distinct.push(a);
        }
        inputs.push(Some(at));
    }
    if distinct.is_empty() {
        out.by_input = inputs;
        return Ok(out);
    }
    match join.mode {
        JoinMode::Batched(kinds) => {
            let slots = read_batched(
                session, statement, join, kinds, distinct, from_row, rows_read, &mut out,
            )
            .await?;
            out.by_input = inputs.iter().map(|d| d.map(|d| slots[d])).collect();
            out.by_args.extend(identities.into_iter().zip(slots));
        }
        JoinMode::RowByRow => {
            // Each distinct argument list reads into a slot of its own, in order.
            out.by_input = inputs;
            let concurrency = session.read_concurrency();
            let results = session
                .fetch_each(
                    statement.physical_database(),
                    statement.text(),
                    &distinct,
                    concurrency,
                )
                .await?;
            for (key, rows) in identities.into_iter().zip(results) {
                let slot = out.slots.len();
                let mut kept = Vec::new();
                for values in rows {
                    *rows_read += 1;
                    kept.push(
                        from_row(values).map_err(|e| crate::pipeline::row_error(join.table, e))?,
                    );
                    if join.first_only {
                        break;
                    }
                }
                out.slots.push(kept);
                out.by_args.insert(key, slot);
            }
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)] // One private step of `read_joined`, which owns every one.
async fn read_batched<R>(
    session: &mut Session,
    statement: &Statement,
    join: &Join,
    kinds: &[KeyKind],
    distinct: Vec<Vec<Value>>,
    from_row: fn(Vec<Value>) -> Result<R, crate::doc::RowError>,
    rows_read: &mut usize,
    out: &mut Joined<R>,
) -> Result<Vec<usize>, MysqlError> {
    let arity = kinds.len();
    let norms = document_keys(session, statement, join, kinds, &distinct).await?;
    let mut by_norm: HashMap<Vec<NormKey>, usize, KeyHasher> = HashMap::default();
    // Argument lists that MySQL compares as equal share a slot.
    let mut slots = Vec::with_capacity(distinct.len());
    for norm in norms.docs {
        slots.push(*by_norm.entry(norm).or_insert_with(|| {
            out.slots.push(Vec::new());
            out.slots.len() - 1
        }));
    }
    let flat: Vec<Value> = distinct.into_iter().flatten().collect();
    let mut unpaired = 0usize;
    let mut norm: Vec<NormKey> = Vec::with_capacity(arity);
    session
        .for_each_keyed(statement, &[], &flat, &[], |mut values| {
            *rows_read += 1;
            // The pairing values end the row; they are taken off without a new vector, and
            // the key is built in a buffer reused across rows.
            let start = values.len().saturating_sub(arity);
            norm.clear();
            norm.extend(
                kinds
                    .iter()
                    .zip(values.drain(start..))
                    .zip(&norms.pads)
                    .map(|((kind, v), pad)| row_key(*kind, v, pad.as_deref())),
            );
            let Some(&slot) = by_norm.get(norm.as_slice()) else {
                unpaired += 1;
                return Ok(());
            };
            if join.first_only && !out.slots[slot].is_empty() {
                return Ok(());
            }
            let r = from_row(values).map_err(|e| crate::pipeline::row_error(join.table, e))?;
            out.slots[slot].push(r);
            Ok::<(), MysqlError>(())
        })
        .await?;
    if unpaired > 0 {
        // MySQL matched rows that no document's key equals after normalisation: the pairing
        // rules and the server disagree. Say so rather than lose the rows silently.
        tracing::warn!(
            table = join.table,
            rows = unpaired,
            "rows matched by MySQL could not be paired with a document; their documents may miss them"
        );
    }
    Ok(slots)
}

/// A normalised link value: equal when MySQL's comparison says equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum NormKey {
    Null,
    Int(i128),
    Bytes(Vec<u8>),
    /// Canonical decimal text: no leading or trailing zeros, no `-0`.
    Decimal(String),
    /// The bits of a double, `-0.0` as `0.0`.
    Double(u64),
    Temporal(String),
}

/// How each text link's collation pads: the weight of one space, when trailing spaces are
/// ignored (PAD SPACE), per link position.
type Pads = Vec<Option<Vec<u8>>>;

struct DocumentKeys {
    docs: Vec<Vec<NormKey>>,
    pads: Pads,
}

/// The normalised keys of the documents' argument lists; text and doubles through MySQL.
async fn document_keys(
    session: &mut Session,
    statement: &Statement,
    join: &Join,
    kinds: &[KeyKind],
    distinct: &[Vec<Value>],
) -> Result<DocumentKeys, MysqlError> {
    let mut docs: Vec<Vec<NormKey>> = distinct
        .iter()
        .map(|a| {
            kinds
                .iter()
                .zip(a)
                .map(|(kind, v)| local_key(*kind, v))
                .collect()
        })
        .collect();
    let mut pads: Pads = vec![None; kinds.len()];
    let db = statement.physical_database();
    for (pos, kind) in kinds.iter().enumerate() {
        // The expression MySQL turns each value into, and, for text, what the collation pads
        // with: two leading columns of every chunk's query (no round trip of their own).
        let (value, pad_info) = match kind {
            KeyKind::Text { column } => {
                let carrier = collation_carrier(db, join.table_name, column);
                (
                    format!("WEIGHT_STRING(CONCAT(?, {carrier}))"),
                    Some(format!(
                        "WEIGHT_STRING(CONCAT(' ', {carrier})), CONCAT('a', {carrier}) = CONCAT('a ', {carrier}), "
                    )),
                )
            }
            KeyKind::Double => ("CAST(? AS DOUBLE)".to_string(), None),
            _ => continue,
        };
        // One query per chunk of values, one column per value; chunk sizes are powers of two
        // so that a handful of statement texts serve every page.
        let values: Vec<&Value> = distinct.iter().map(|a| &a[pos]).collect();
        let mut done = 0;
        while done < values.len() {
            let left = values.len() - done;
            let n = left.min(512).next_power_of_two().min(512);
            let take = left.min(n);
            let sql = format!(
                "SELECT {}{}",
                pad_info.as_deref().unwrap_or(""),
                vec![value.as_str(); n].join(", ")
            );
            let params: Vec<Value> = (0..n)
                .map(|i| values[done + i.min(take - 1)].clone())
                .collect();
            let mut row = session
                .fetch(&sql, &params)
                .await?
                .into_iter()
                .next()
                .unwrap_or_default();
            if pad_info.is_some() {
                let weights = row.split_off(2.min(row.len()));
                if let [Value::Bytes(space), pad] = row.as_slice()
                    && matches!(pad, Value::Int(1) | Value::UInt(1))
                {
                    pads[pos] = Some(space.clone());
                }
                row = weights;
            }
            for (i, v) in row.into_iter().take(take).enumerate() {
                docs[done + i][pos] = row_key(*kind, v, pads[pos].as_deref());
            }
            done += take;
        }
    }
    Ok(DocumentKeys { docs, pads })
}

/// An expression of empty text with the collation of `table.column`: concatenated with a
/// value, it converts the value to the column's character set and gives it the column's
/// collation, as `column = value` does. Its subquery reads no row.
fn collation_carrier(db: &str, table: &str, column: &str) -> String {
    use crate::mysql::sql::quote_ident;
    format!(
        "IFNULL((SELECT LEFT({}, 0) FROM {}.{} WHERE FALSE), '')",
        quote_ident(column),
        quote_ident(db),
        quote_ident(table)
    )
}

/// A document value's key where no query is needed (text and doubles are replaced by MySQL's).
fn local_key(kind: KeyKind, v: &Value) -> NormKey {
    match kind {
        KeyKind::Text { .. } | KeyKind::Double => NormKey::Null,
        _ => row_key(kind, v.clone(), None),
    }
}

/// The key of a pairing value as MySQL returned it (or of a document value); `pad` is the
/// weight of a space when the link's collation ignores trailing spaces.
fn row_key(kind: KeyKind, v: Value, pad: Option<&[u8]>) -> NormKey {
    if v.is_null() {
        return NormKey::Null;
    }
    match kind {
        KeyKind::Exact => match v {
            Value::Int(i) => NormKey::Int(i128::from(i)),
            Value::UInt(u) => NormKey::Int(i128::from(u)),
            Value::Text(s) => NormKey::Bytes(s.into_bytes()),
            Value::Bytes(b) => NormKey::Bytes(b),
            other => NormKey::Temporal(crate::eval::text::to_text(&other)),
        },
        KeyKind::Decimal => NormKey::Decimal(canonical_decimal(&crate::eval::text::to_text(&v))),
        KeyKind::Double => match v {
            Value::Float(f) => NormKey::Double(if f == 0.0 { 0 } else { f.to_bits() }),
            Value::Int(i) => row_key(kind, Value::Float(i as f64), pad),
            Value::UInt(u) => row_key(kind, Value::Float(u as f64), pad),
            other => NormKey::Temporal(crate::eval::text::to_text(&other)),
        },
        KeyKind::Text { .. } => {
            let mut weight = match v {
                Value::Bytes(b) => b,
                Value::Text(s) => s.into_bytes(),
                other => crate::eval::text::to_text(&other).into_bytes(),
            };
            if let Some(space) = pad.filter(|s| !s.is_empty()) {
                let unit = space.len();
                while weight.len() >= unit
                    && weight.len().is_multiple_of(unit)
                    && weight.ends_with(space)
                {
                    weight.truncate(weight.len() - unit);
                }
            }
            NormKey::Bytes(weight)
        }
        KeyKind::Temporal => NormKey::Temporal(match v {
            Value::Date(d) => canonical_datetime(d.at(0, 0, 0)),
            Value::DateTime(dt) => canonical_datetime(dt),
            other => crate::eval::text::to_text(&other),
        }),
    }
}

fn canonical_datetime(dt: crate::value::DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        dt.date.year, dt.date.month, dt.date.day, dt.hour, dt.minute, dt.second, dt.micros
    )
}

/// `"-001.500"` -> `"-1.5"`, `"0.00"` -> `"0"`, `"12"` -> `"12"`.
fn canonical_decimal(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(text.len());
    if int.is_empty() && frac.is_empty() {
        return "0".to_string();
    }
    if negative {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value() {
        assert_eq!(canonical_decimal("1.50"), "1.5");
        assert_eq!(canonical_decimal("001.500"), "1.5");
        assert_eq!(canonical_decimal("-0.00"), "0");
        assert_eq!(canonical_decimal("12"), "12");
        assert_eq!(canonical_decimal("-0.10"), "-0.1");
        assert_eq!(
            row_key(KeyKind::Decimal, Value::Int(1), None),
            row_key(KeyKind::Decimal, Value::Decimal("1.000".into()), None)
        );
    }

    #[test]
    fn pad_space_weights_drop_trailing_spaces_in_whole_units() {
        let space = [0x02, 0x09];
        let text = KeyKind::Text { column: "c" };
        let w = |b: &[u8]| row_key(text, Value::Bytes(b.to_vec()), Some(&space));
        assert_eq!(w(&[0x0E, 0x6D, 0x02, 0x09, 0x02, 0x09]), w(&[0x0E, 0x6D]));
        // A unit that only ends in the space's bytes is not a space.
        assert_ne!(w(&[0x0E, 0x02, 0x09]), w(&[0x0E]));
        assert_ne!(
            row_key(text, Value::Bytes(vec![1, 0x02, 0x09]), None),
            row_key(text, Value::Bytes(vec![1]), None)
        );
    }

    #[test]
    fn dates_equal_datetimes_at_midnight() {
        let d = crate::value::Date::new(2024, 2, 29);
        assert_eq!(
            row_key(KeyKind::Temporal, Value::Date(d), None),
            row_key(KeyKind::Temporal, Value::DateTime(d.at(0, 0, 0)), None)
        );
    }

    #[test]
    fn exact_keys_join_integer_widths_and_text_with_bytes() {
        let k = |v| row_key(KeyKind::Exact, v, None);
        assert_eq!(k(Value::Int(5)), k(Value::UInt(5)));
        assert_eq!(k(Value::Text("ab".into())), k(Value::Bytes(b"ab".to_vec())));
    }
}
