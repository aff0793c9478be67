//! The live schema: `mee schema pull` and the start-up schema check.
//!
//! Pipelines are compiled against checked-in DDL (`pipelines/schema/<database>.sql`), never
//! against a live server. [`pull_schema`] writes that file from the server; [`check_schema`]
//! makes sure, when a pipeline starts, that the server still has every table and column the
//! pipeline reads, with the types it was compiled for. Extra columns are fine: statements name
//! the columns they read.

use super::MysqlError;
use super::read::{Session, Source};
use super::sql::{push_in_list, quote_ident};
use crate::charset::{TextCodec, charset_of_collation};
use crate::value::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A column a pipeline reads, as the compiler saw it in the checked-in DDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExpectedColumn {
    pub name: &'static str,
    /// The type as the DDL writes it (`varchar(64)`, `BIGINT(20) UNSIGNED`); compared after
    /// normalisation (case, spacing, integer display widths, `ZEROFILL`, aliases).
    pub type_text: &'static str,
    pub nullable: bool,
}

impl ExpectedColumn {
    pub const fn new(name: &'static str, type_text: &'static str, nullable: bool) -> Self {
        ExpectedColumn {
            name,
            type_text,
            nullable,
        }
    }
}

/// A table a pipeline reads, and the columns of it that the pipeline uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExpectedTable {
    /// The logical database name.
    pub database: &'static str,
    pub table: &'static str,
    pub columns: &'static [ExpectedColumn],
    /// The checked-in DDL file the types come from (`pipelines/schema/shop.sql`), for messages;
    /// empty when not known.
    pub ddl_file: &'static str,
}

impl ExpectedTable {
    pub const fn new(
        database: &'static str,
        table: &'static str,
        columns: &'static [ExpectedColumn],
    ) -> Self {
        ExpectedTable {
            database,
            table,
            columns,
            ddl_file: "",
        }
    }

    /// Names the DDL file the table was compiled from.
    pub const fn in_file(mut self, ddl_file: &'static str) -> Self {
        self.ddl_file = ddl_file;
        self
    }
}

/// What is wrong with a table or column on the live server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    MissingTable,
    MissingColumn,
    TypeChanged {
        expected: String,
        found: String,
    },
    /// A `NOT NULL` column the pipeline relies on now allows `NULL`.
    BecameNullable,
    /// A used character column whose charset mee cannot decode from the binlog as MySQL
    /// converts it (see [`crate::charset`]); `reason` says why and what to do.
    Charset {
        charset: String,
        reason: String,
    },
}

/// One difference between what a pipeline was built for and the live server. Every problem is
/// an error: the pipeline must not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaProblem {
    /// The logical database name.
    pub database: String,
    pub physical: String,
    pub table: String,
    pub column: Option<String>,
    pub kind: ProblemKind,
    /// One sentence saying what changed and what to do.
    pub message: String,
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Compares the tables and columns a pipeline uses with `information_schema.COLUMNS` of the live
/// server; returns every problem (empty when the pipeline can run).
pub async fn check_schema(
    source: &Source,
    expected: &[ExpectedTable],
) -> Result<Vec<SchemaProblem>, MysqlError> {
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let physical: BTreeSet<&str> = expected
        .iter()
        .map(|t| source.physical(t.database))
        .collect();
    let mut sql = String::from(
        "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, \
         c.CHARACTER_SET_NAME, co.ID \
         FROM information_schema.COLUMNS c LEFT JOIN information_schema.COLLATIONS co \
         ON co.COLLATION_NAME = c.COLLATION_NAME WHERE c.TABLE_SCHEMA IN ",
    );
    push_in_list(&mut sql, physical.len(), 1);
    let params: Vec<Value> = physical
        .iter()
        .map(|p| Value::Text(p.to_string()))
        .collect();
    let mut session = source.session().await?;
    let mut live = LiveColumns::new();
    session
        .for_each(&sql, &params, |row| {
            let text = |i: usize| row.get(i).and_then(Value::as_str).unwrap_or("").to_string();
            let charset = row.get(5).and_then(Value::as_str).map(|name| LiveCharset {
                name: name.to_string(),
                collation_id: row.get(6).and_then(Value::as_i64),
            });
            live.entry((text(0), text(1))).or_default().insert(
                text(2),
                LiveColumn {
                    column_type: text(3),
                    nullable: text(4).eq_ignore_ascii_case("YES"),
                    charset,
                },
            );
            Ok::<(), MysqlError>(())
        })
        .await?;
    Ok(compare(source, expected, &live))
}

/// The live columns: (schema, table) -> column -> what the server says of it.
type LiveColumns = BTreeMap<(String, String), BTreeMap<String, LiveColumn>>;

struct LiveColumn {
    column_type: String,
    nullable: bool,
    /// Character columns only.
    charset: Option<LiveCharset>,
}

struct LiveCharset {
    name: String,
    collation_id: Option<i64>,
}

/// Why the binlog's bytes of a column in `charset` cannot be decoded as MySQL converts them:
/// a charset without a faithful table, or a collation id the decoder does not know (it names
/// the charset of each column in the table map).
fn charset_problem(charset: &LiveCharset) -> Option<String> {
    if let Err(reason) = TextCodec::of_charset(&charset.name) {
        return Some(reason);
    }
    let known = charset
        .collation_id
        .and_then(|id| u16::try_from(id).ok())
        .and_then(charset_of_collation);
    if known != Some(charset.name.as_str()) {
        return Some(format!(
            "its collation (id {}) is not one mee knows for `{}`; use a collation of MariaDB 10.11 \
             or MySQL for that charset, or convert the column to utf8mb4",
            charset
                .collation_id
                .map_or_else(|| "unknown".to_string(), |i| i.to_string()),
            charset.name
        ));
    }
    None
}

fn compare(source: &Source, expected: &[ExpectedTable], live: &LiveColumns) -> Vec<SchemaProblem> {
    let server = source.server();
    let mut problems = Vec::new();
    for t in expected {
        let physical = source.physical(t.database);
        let problem = |column: Option<&str>, kind: ProblemKind, message: String| SchemaProblem {
            database: t.database.to_string(),
            physical: physical.to_string(),
            table: t.table.to_string(),
            column: column.map(str::to_string),
            kind,
            message,
        };
        let Some(columns) = live.get(&(physical.to_string(), t.table.to_string())) else {
            problems.push(problem(
                None,
                ProblemKind::MissingTable,
                format!(
                    "table `{}`.`{}` used by the pipeline does not exist in database `{physical}` \
                     on {server} (or the account cannot see it); fix the database mapping, or run \
                     `mee schema pull {}`, update the pipeline and rebuild mee",
                    t.database, t.table, t.database
                ),
            ));
            continue;
        };
        for c in t.columns {
            match columns.get(c.name) {
                None => problems.push(problem(
                    Some(c.name),
                    ProblemKind::MissingColumn,
                    format!(
                        "column `{}` of `{}`.`{}`, which the pipeline uses, no longer exists on \
                         {server}; run `mee schema pull {}`, update the pipeline and rebuild mee",
                        c.name, t.database, t.table, t.database
                    ),
                )),
                Some(LiveColumn {
                    column_type: found,
                    nullable,
                    charset,
                }) => {
                    if let Some(charset) = charset
                        && let Some(reason) = charset_problem(charset)
                    {
                        problems.push(problem(
                            Some(c.name),
                            ProblemKind::Charset {
                                charset: charset.name.clone(),
                                reason: reason.clone(),
                            },
                            format!(
                                "column `{}` of `{}`.`{}` is in character set `{}`, which mee \
                                 cannot read from the binlog: {reason}",
                                c.name, t.database, t.table, charset.name
                            ),
                        ));
                    }
                    if normalize_type(found) != normalize_type(c.type_text) {
                        problems.push(problem(
                            Some(c.name),
                            ProblemKind::TypeChanged {
                                expected: c.type_text.to_string(),
                                found: found.clone(),
                            },
                            format!(
                                "column `{}` of `{}`.`{}` changed type from `{}` (what mee was built \
                                 with) to `{found}` on {server}; run `mee schema pull {}` and rebuild mee",
                                c.name, t.database, t.table, c.type_text, t.database
                            ),
                        ));
                    }
                    // Reported on its own, so that a caller that accepts the type change (a
                    // widening) still sees that the column now allows NULL.
                    if *nullable && !c.nullable {
                        problems.push(problem(
                            Some(c.name),
                            ProblemKind::BecameNullable,
                            format!(
                                "column `{}` of `{}`.`{}` was NOT NULL when mee was built and now \
                                 allows NULL on {server}; run `mee schema pull {}` and rebuild mee",
                                c.name, t.database, t.table, t.database
                            ),
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// A column type in one canonical spelling, so that the DDL's text (as sqlparser prints it) and
/// `information_schema.COLUMN_TYPE` compare equal when they mean the same type: lower case,
/// no spaces around punctuation, integer display widths and `ZEROFILL` dropped (they only change
/// how numbers are printed, and MySQL 8 no longer reports widths), and common aliases resolved.
pub fn normalize_type(text: &str) -> String {
    // Lower-case and re-space everything outside quoted strings.
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut pending_space = false;
    for c in text.trim().chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space
            && out.ends_with(|p: char| p.is_alphanumeric() || p == '_' || p == ')')
            && (c.is_alphanumeric() || c == '_')
        {
            out.push(' ');
        }
        pending_space = false;
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
        out.extend(c.to_lowercase());
    }
    let mut words: Vec<String> = Vec::new();
    for w in out.split(' ') {
        if w != "zerofill" {
            words.push(w.to_string());
        }
    }
    let Some(first) = words.first_mut() else {
        return String::new();
    };
    // Split the base name from its arguments.
    let (name, args) = match first.find('(') {
        Some(i) => (first[..i].to_string(), first[i..].to_string()),
        None => (first.clone(), String::new()),
    };
    let (name, args) = match name.as_str() {
        "integer" => ("int".to_string(), args),
        "bool" | "boolean" => ("tinyint".to_string(), args),
        "dec" | "numeric" | "fixed" => ("decimal".to_string(), args),
        "real" => ("double".to_string(), args),
        "json" => ("longtext".to_string(), args),
        "year" => ("year".to_string(), String::new()),
        _ => (name, args),
    };
    let args = match name.as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => String::new(),
        "decimal" if args.is_empty() => "(10,0)".to_string(),
        "decimal" if !args.contains(',') => format!("{},0)", args.trim_end_matches(')')),
        "char" | "binary" if args.is_empty() => "(1)".to_string(),
        "bit" if args.is_empty() => "(1)".to_string(),
        _ => args,
    };
    *first = format!("{name}{args}");
    // `DOUBLE PRECISION` is `DOUBLE`.
    if words.len() > 1 && words[0] == "double" && words[1] == "precision" {
        words.remove(1);
    }
    words.join(" ")
}

/// Where `mee schema pull` came from, for the file header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullOrigin {
    /// `user@host:port`.
    pub server: String,
    pub version: String,
    /// When, as UTC text.
    pub at: String,
}

/// The DDL file of one logical database: `DROP TABLE IF EXISTS` + `CREATE TABLE` per table,
/// tables sorted by name, `AUTO_INCREMENT=n` table options removed (they change with every
/// insert and would make the file churn), after a header saying when and from where.
/// `tables` limits the file to those tables (each must exist); empty means every base table.
pub async fn pull_schema(
    source: &Source,
    logical: &str,
    tables: &[String],
) -> Result<String, MysqlError> {
    let physical = source.physical(logical).to_string();
    let mut session = source.session().await?;
    let mut names: Vec<String> = session
        .fetch(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
            &[Value::Text(physical.clone())],
        )
        .await?
        .into_iter()
        .filter_map(|r| {
            r.into_iter()
                .next()
                .and_then(|v| v.as_str().map(str::to_string))
        })
        .collect();
    if names.is_empty() && !database_exists(&mut session, &physical).await? {
        return Err(MysqlError::Unsupported(format!(
            "database `{physical}` (for `{logical}`) does not exist on {} or the account cannot \
             see it; check the name and the --database mapping",
            source.server()
        )));
    }
    if !tables.is_empty() {
        let missing: Vec<&str> = tables
            .iter()
            .filter(|t| !names.contains(t))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(MysqlError::Unsupported(format!(
                "database `{physical}` on {} has no table {}",
                source.server(),
                missing
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        names.retain(|n| tables.contains(n));
    }
    names.sort();
    names.dedup();
    let version = session
        .fetch_text("SELECT VERSION()")
        .await?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut creates = Vec::with_capacity(names.len());
    for name in &names {
        let sql = format!(
            "SHOW CREATE TABLE {}.{}",
            quote_ident(&physical),
            quote_ident(name)
        );
        let rows = session.fetch_text(&sql).await?;
        let text = rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().nth(1))
            .and_then(|v| match v {
                Value::Text(s) => Some(s),
                Value::Bytes(b) => String::from_utf8(b).ok(),
                _ => None,
            })
            .ok_or_else(|| MysqlError::Result {
                context: format!("running `{sql}`"),
                message: "no CREATE TABLE text in the result".to_string(),
            })?;
        creates.push((name.clone(), strip_auto_increment(&text)));
    }
    let origin = PullOrigin {
        server: source.server().to_string(),
        version,
        at: now_utc(),
    };
    Ok(render_schema_file(logical, &physical, &origin, &creates))
}

async fn database_exists(session: &mut Session, physical: &str) -> Result<bool, MysqlError> {
    let rows = session
        .fetch(
            "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            &[Value::Text(physical.to_string())],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// The file text from the `CREATE TABLE` statements (already sorted and cleaned).
pub fn render_schema_file(
    logical: &str,
    physical: &str,
    origin: &PullOrigin,
    creates: &[(String, String)],
) -> String {
    let mut out = format!(
        "-- Schema of the `{logical}` database, written by `mee schema pull {logical}`\n\
         -- from {} (database `{physical}`, server {}) at {}.\n\
         -- Pipelines are compiled against this file; regenerate it rather than editing it.\n",
        origin.server, origin.version, origin.at
    );
    for (name, create) in creates {
        out.push('\n');
        out.push_str(&format!("DROP TABLE IF EXISTS {};\n", quote_ident(name)));
        out.push_str(create.trim_end());
        out.push_str(";\n");
    }
    out
}

/// Removes the `AUTO_INCREMENT=n` table option (after the column list's closing parenthesis);
/// the `AUTO_INCREMENT` column attribute stays.
pub fn strip_auto_increment(create: &str) -> String {
    let Some(close) = create.rfind("\n)") else {
        return create.to_string();
    };
    let (body, options) = create.split_at(close);
    let mut cleaned = String::with_capacity(options.len());
    let mut rest = options;
    while let Some(i) = rest.find(" AUTO_INCREMENT=") {
        cleaned.push_str(&rest[..i]);
        let after = &rest[i + " AUTO_INCREMENT=".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        rest = &after[digits..];
    }
    cleaned.push_str(rest);
    format!("{body}{cleaned}")
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dt = crate::binlog::decode::utc_datetime(i64::try_from(secs).unwrap_or(0), 0);
    format!("{dt}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_compare_in_one_spelling() {
        let same = [
            ("BIGINT(20) UNSIGNED", "bigint(20) unsigned"),
            ("INT(11)", "int"),
            ("int(10) unsigned zerofill", "INT UNSIGNED"),
            ("ENUM('a', 'b c')", "enum('a','b c')"),
            ("DECIMAL(10,2)", "decimal(10, 2)"),
            ("DECIMAL", "decimal(10,0)"),
            ("numeric(5)", "decimal(5,0)"),
            ("JSON", "longtext"),
            ("YEAR", "year(4)"),
            ("BOOLEAN", "tinyint(1)"),
            ("DOUBLE PRECISION", "double"),
            ("VARCHAR(64)", "varchar(64)"),
        ];
        for (a, b) in same {
            assert_eq!(normalize_type(a), normalize_type(b), "{a} vs {b}");
        }
        let different = [
            ("VARCHAR(64)", "varchar(128)"),
            ("INT", "bigint"),
            ("INT", "int unsigned"),
            ("ENUM('a','b')", "enum('a','B')"),
            ("DATETIME", "datetime(3)"),
        ];
        for (a, b) in different {
            assert_ne!(normalize_type(a), normalize_type(b), "{a} vs {b}");
        }
    }

    #[test]
    fn auto_increment_table_option_is_removed_but_not_the_column_attribute() {
        let create = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4";
        let cleaned = strip_auto_increment(create);
        assert_eq!(
            cleaned,
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
        assert_eq!(strip_auto_increment(&cleaned), cleaned);
    }

    #[test]
    fn schema_file_has_header_and_drop_create_pairs() {
        let origin = PullOrigin {
            server: "mee@h:1".into(),
            version: "10.11".into(),
            at: "2026-01-01T00:00:00Z".into(),
        };
        let text = render_schema_file(
            "shop",
            "t_x_shop",
            &origin,
            &[("a".into(), "CREATE TABLE `a` (\n  `id` int\n)".into())],
        );
        assert!(text.starts_with("-- Schema of the `shop` database"));
        assert!(
            text.contains(
                "from mee@h:1 (database `t_x_shop`, server 10.11) at 2026-01-01T00:00:00Z."
            )
        );
        assert!(text.ends_with("DROP TABLE IF EXISTS `a`;\nCREATE TABLE `a` (\n  `id` int\n);\n"));
    }
}
