//! Statement templates for generated code, and the IN-lists of batched look-ups.
//!
//! Every statement a pipeline runs reads exactly one table of one logical database, so its text
//! is three constant parts around the database name: `head`, the (logical) `database`, `tail`.
//! Generated code declares them as `static`s; at start-up the runtime resolves each once into a
//! [`Statement`] with the physical name backtick-quoted, so per-query work is only binding
//! parameters.
//!
//! A batched look-up (`... WHERE col IN (...)` over the keys of a page) additionally has a key
//! arity (1 for `col IN (?, ?)`, 2 for `(a, b) IN ((?, ?), (?, ?))`) and the text that follows
//! the key list (`ORDER BY ...`). Key sets are split into chunks of at most
//! [`SourceConfig::max_keys_per_query`](super::SourceConfig::max_keys_per_query) keys, and each
//! chunk is padded (by repeating its last key, which does not change an `IN`) to the next power
//! of two. So a statement has at most `log2(max) + 2` distinct texts: they are rendered once,
//! and the driver's per-connection statement cache prepares each once instead of once per
//! distinct key count.

use super::config::MAX_PLACEHOLDERS;
use crate::value::Value;
use std::fmt;
use std::sync::OnceLock;

/// A statement template: `head`, then the physical name of `database`, then `tail`; for keyed
/// statements the key list, then `after_keys`.
///
/// ```
/// use mee_runtime::mysql::Sql;
/// static CUSTOMERS: Sql = Sql::keyed(
///     "SELECT `id`, `name` FROM ",
///     "crm",
///     ".`customers` WHERE `id` IN ",
///     1,
///     "",
/// );
/// let stmt = CUSTOMERS.resolve("t_abc_crm", 1000);
/// assert_eq!(
///     stmt.sql_for(3),
///     "SELECT `id`, `name` FROM `t_abc_crm`.`customers` WHERE `id` IN (?, ?, ?, ?)"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sql {
    /// The text before the database name, e.g. "SELECT `id` FROM ".
    pub head: &'static str,
    /// The logical database name, as the pipeline writes it.
    pub database: &'static str,
    /// The text after the database name, e.g. ".`customers` WHERE `id` IN ". For a keyed
    /// statement it ends where the key list goes.
    pub tail: &'static str,
    /// Columns per key for a batched look-up; 0 for a statement without a key list.
    pub key_arity: u8,
    /// The text after the key list (e.g. " ORDER BY `id`"); empty when there is none.
    pub after_keys: &'static str,
}

impl Sql {
    /// A statement without a key list; its parameters are bound as given.
    pub const fn new(head: &'static str, database: &'static str, tail: &'static str) -> Sql {
        Sql {
            head,
            database,
            tail,
            key_arity: 0,
            after_keys: "",
        }
    }

    /// A batched look-up: the key list of `key_arity`-column keys goes between `tail` and
    /// `after_keys`.
    pub const fn keyed(
        head: &'static str,
        database: &'static str,
        tail: &'static str,
        key_arity: u8,
        after_keys: &'static str,
    ) -> Sql {
        Sql {
            head,
            database,
            tail,
            key_arity,
            after_keys,
        }
    }

    /// Resolves the template against a physical database name. `max_keys` bounds the keys per
    /// statement (further bounded so that the placeholders fit the protocol's limit).
    pub fn resolve(&self, physical: &str, max_keys: usize) -> Statement {
        let mut text =
            String::with_capacity(self.head.len() + physical.len() + 2 + self.tail.len());
        text.push_str(self.head);
        push_quoted_ident(&mut text, physical);
        text.push_str(self.tail);
        let arity = usize::from(self.key_arity);
        // Leave room for the statement's other parameters.
        let limit = (MAX_PLACEHOLDERS - 1024) / arity.max(1);
        Statement {
            sql: *self,
            physical: physical.to_string(),
            text,
            max_keys: max_keys.clamp(1, limit),
            variants: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl fmt::Display for Sql {
    /// The template with the logical database name, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}`{}`{}", self.head, self.database, self.tail)?;
        if self.key_arity > 0 {
            write!(f, "(...){}", self.after_keys)?;
        }
        Ok(())
    }
}

/// Appends `name` as a backtick-quoted identifier (backticks inside doubled).
pub fn push_quoted_ident(out: &mut String, name: &str) {
    out.push('`');
    for c in name.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
}

/// `name` as a backtick-quoted identifier.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_quoted_ident(&mut out, name);
    out
}

/// Appends a list of `n` placeholders: `(?, ?, ?)` for arity 1, `((?, ?), (?, ?))` for arity 2.
pub fn push_in_list(out: &mut String, n: usize, arity: usize) {
    let arity = arity.max(1);
    let per_key = if arity == 1 { 3 } else { 3 * arity + 3 };
    out.reserve(2 + n * per_key);
    out.push('(');
    for i in 0..n {
        if i > 0 {
            out.push_str(", ");
        }
        if arity == 1 {
            out.push('?');
        } else {
            out.push('(');
            for j in 0..arity {
                if j > 0 {
                    out.push_str(", ");
                }
                out.push('?');
            }
            out.push(')');
        }
    }
    out.push(')');
}

/// Number of padded-size variants a statement can have: powers of two up to 2^63, plus the
/// configured maximum.
const VARIANTS: usize = 65;

/// A resolved statement: the template with the physical database name, plus (for keyed
/// statements) its key-list variants rendered on first use. Cheap to share (`Arc`) across tasks.
pub struct Statement {
    sql: Sql,
    physical: String,
    text: String,
    max_keys: usize,
    variants: [OnceLock<Box<str>>; VARIANTS],
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Statement")
            .field("text", &self.text)
            .field("key_arity", &self.sql.key_arity)
            .field("after_keys", &self.sql.after_keys)
            .field("max_keys", &self.max_keys)
            .finish()
    }
}

impl Statement {
    /// The template this was resolved from.
    pub fn template(&self) -> &Sql {
        &self.sql
    }

    /// The physical database name it reads.
    pub fn physical_database(&self) -> &str {
        &self.physical
    }

    /// The statement text; for a keyed statement, the text before its key list.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_keyed(&self) -> bool {
        self.sql.key_arity > 0
    }

    /// Columns per key (0 when the statement has no key list).
    pub fn key_arity(&self) -> usize {
        usize::from(self.sql.key_arity)
    }

    /// Keys per executed statement at most.
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// How many keys a statement for `n` keys lists: the next power of two, at most the maximum.
    pub fn padded_len(&self, n: usize) -> usize {
        n.max(1).next_power_of_two().min(self.max_keys)
    }

    /// The full text for a key list of `n` keys (padded, see [`Statement::padded_len`]).
    pub fn sql_for(&self, n: usize) -> &str {
        let len = self.padded_len(n);
        let slot = if len == self.max_keys {
            VARIANTS - 1
        } else {
            len.trailing_zeros() as usize
        };
        self.variants[slot].get_or_init(|| {
            let mut s =
                String::with_capacity(self.text.len() + 4 * len + self.sql.after_keys.len());
            s.push_str(&self.text);
            push_in_list(&mut s, len, self.key_arity());
            s.push_str(self.sql.after_keys);
            s.into_boxed_str()
        })
    }

    /// Splits flat keys (`key_arity` values per key) into executable chunks. An empty key set
    /// gives no chunk. A trailing incomplete key is an error of the caller; the reading methods
    /// of [`Session`](super::Session) check for it before calling this.
    pub fn batches<'a>(&'a self, keys: &'a [Value]) -> impl Iterator<Item = KeyBatch<'a>> + 'a {
        let arity = self.key_arity().max(1);
        keys.chunks(self.max_keys * arity)
            .filter(move |c| c.len() >= arity)
            .map(move |chunk| {
                let n = chunk.len() / arity;
                KeyBatch {
                    sql: self.sql_for(n),
                    keys: &chunk[..n * arity],
                    arity,
                    padded: self.padded_len(n),
                }
            })
    }
}

/// One executable chunk of a batched look-up.
#[derive(Clone, Copy, Debug)]
pub struct KeyBatch<'a> {
    /// The statement text, with a key list of `padded` keys.
    pub sql: &'a str,
    /// The chunk's keys, flat (`arity` values per key).
    pub keys: &'a [Value],
    pub arity: usize,
    /// Keys in the text: the chunk's keys, then its last key repeated.
    pub padded: usize,
}

impl KeyBatch<'_> {
    /// The bound parameters: `before`, the keys padded with the last key, then `after`.
    pub fn params(&self, before: &[Value], after: &[Value]) -> Vec<mysql_async::Value> {
        let mut out = Vec::with_capacity(before.len() + self.padded * self.arity + after.len());
        out.extend(before.iter().map(super::convert::to_param));
        out.extend(self.keys.iter().map(super::convert::to_param));
        let n = self.keys.len() / self.arity;
        if n > 0 {
            let last = &self.keys[(n - 1) * self.arity..];
            for _ in n..self.padded {
                out.extend(last.iter().map(super::convert::to_param));
            }
        }
        out.extend(after.iter().map(super::convert::to_param));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static ONE: Sql = Sql::keyed(
        "SELECT `id` FROM ",
        "crm",
        ".`customers` WHERE `status` = 1 AND `id` IN ",
        1,
        " ORDER BY `id`",
    );
    static TWO: Sql = Sql::keyed(
        "SELECT `a` FROM ",
        "shop",
        ".`t` WHERE (`a`, `b`) IN ",
        2,
        "",
    );
    static PLAIN: Sql = Sql::new("SELECT 1 FROM ", "shop", ".`t` WHERE `id` > ?");

    #[test]
    fn in_lists_render_for_single_and_tuple_keys() {
        let mut s = String::new();
        push_in_list(&mut s, 3, 1);
        assert_eq!(s, "(?, ?, ?)");
        s.clear();
        push_in_list(&mut s, 2, 3);
        assert_eq!(s, "((?, ?, ?), (?, ?, ?))");
        s.clear();
        push_in_list(&mut s, 1, 2);
        assert_eq!(s, "((?, ?))");
    }

    #[test]
    fn physical_names_are_quoted_once_at_resolution() {
        let p = PLAIN.resolve("t_x`y", 10);
        assert_eq!(p.text(), "SELECT 1 FROM `t_x``y`.`t` WHERE `id` > ?");
        assert!(!p.is_keyed());
        assert_eq!(PLAIN.to_string(), "SELECT 1 FROM `shop`.`t` WHERE `id` > ?");
        let s = ONE.resolve("t_1_crm", 1000);
        assert_eq!(
            s.sql_for(1),
            "SELECT `id` FROM `t_1_crm`.`customers` WHERE `status` = 1 AND `id` IN (?) ORDER BY `id`"
        );
        // The same text object is handed out for every key count of one padded size.
        assert!(std::ptr::eq(s.sql_for(5), s.sql_for(8)));
        assert_eq!(s.sql_for(5).matches('?').count(), 8);
    }

    #[test]
    fn key_sets_are_chunked_and_padded() {
        let s = ONE.resolve("db", 5);
        let keys: Vec<Value> = (1..=12).map(Value::Int).collect();
        let batches: Vec<KeyBatch<'_>> = s.batches(&keys).collect();
        let shape: Vec<(usize, usize)> = batches.iter().map(|b| (b.keys.len(), b.padded)).collect();
        assert_eq!(shape, vec![(5, 5), (5, 5), (2, 2)]);
        let last = s.batches(&keys[..3]).next().unwrap();
        assert_eq!(last.padded, 4);
        let params = last.params(&[Value::Text("x".into())], &[Value::Int(9)]);
        assert_eq!(
            params,
            vec![
                mysql_async::Value::Bytes(b"x".to_vec()),
                mysql_async::Value::Int(1),
                mysql_async::Value::Int(2),
                mysql_async::Value::Int(3),
                mysql_async::Value::Int(3),
                mysql_async::Value::Int(9),
            ]
        );
        assert_eq!(s.batches(&[]).count(), 0);
    }

    #[test]
    fn tuple_keys_chunk_by_whole_keys() {
        let s = TWO.resolve("db", 2);
        let keys: Vec<Value> = (1..=6).map(Value::Int).collect();
        let b: Vec<KeyBatch<'_>> = s.batches(&keys).collect();
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[0].sql,
            "SELECT `a` FROM `db`.`t` WHERE (`a`, `b`) IN ((?, ?), (?, ?))"
        );
        assert_eq!(b[1].keys.len(), 2);
        assert_eq!(b[1].params(&[], &[]).len(), 2);
        assert_eq!(
            b[1].sql,
            "SELECT `a` FROM `db`.`t` WHERE (`a`, `b`) IN ((?, ?))"
        );
    }

    #[test]
    fn max_keys_respect_the_placeholder_limit() {
        let s = TWO.resolve("db", 1_000_000);
        assert!(s.max_keys() * 2 < MAX_PLACEHOLDERS);
        assert_eq!(ONE.resolve("db", 0).max_keys(), 1);
    }
}
