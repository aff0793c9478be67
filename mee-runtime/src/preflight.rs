//! Start-up checks and schema changes: mee never syncs against a server it cannot read correctly.
//!
//! - [`preflight`] runs before `mee update` and `mee run` do any work: the server's binlog
//!   settings (binlog on, `ROW`, `FULL` row image, `FULL` row metadata, the account's
//!   privileges) and the live schema of every table the index reads, against the checked-in DDL
//!   the pipeline was compiled with. Every problem is reported, one sentence each, with the fix.
//! - [`SchemaGuard`] judges every statement the binlog carries as text while `mee run` follows
//!   it. A statement that touches a table the index reads makes it check that table's live
//!   schema again: the sync continues when nothing it uses changed (an added column, a change
//!   to a column it does not read, a harmless widening) and stops with the fix otherwise.
//!
//! # Which type changes matter
//!
//! A used column may change type on the server when a pipeline compiled against the new type
//! would build exactly the same documents into exactly the same mapping, so the compiled one
//! stays correct. That holds when the new type
//! 1. holds every value of the old type unchanged (so the `ALTER` rewrote no value the index
//!    holds: widening only, same signedness range, same decimal scale, enum and set members kept),
//! 2. is read into the same Rust type (`BIGINT UNSIGNED` is `u64`, every other integer `i64`),
//! 3. maps to the same Elasticsearch field type (`VARCHAR` is `keyword` but `TEXT` is `text`,
//!    `DECIMAL(p,s)` is `long`, `scaled_float` or `double` by its precision, a `DATETIME` with a
//!    fraction has another date format).
//!
//! So `VARCHAR(50)` -> `VARCHAR(100)`, `INT` -> `BIGINT`, `DECIMAL(10,2)` -> `DECIMAL(12,2)`,
//! `ENUM('a','b')` -> `ENUM('a','b','c')` and `TEXT` -> `MEDIUMTEXT` pass; `INT` -> `VARCHAR`,
//! `VARCHAR(100)` -> `VARCHAR(50)`, `INT` -> `INT UNSIGNED`, `FLOAT` -> `DOUBLE` and `DATETIME` ->
//! `DATETIME(3)` stop. A `NOT NULL` column that now allows `NULL` stops too (the generated row
//! type has no room for `NULL`); the reverse is harmless. Extra columns never matter: statements
//! name the columns they read.
//!
//! # Statements that change rows without rows events
//!
//! `TRUNCATE`, `DROP TABLE`, `DROP DATABASE`, `RENAME TABLE` (away from or onto a used name),
//! `CREATE OR REPLACE TABLE` and the partition operations that remove or swap rows
//! (`TRUNCATE`/`DROP`/`EXCHANGE`/`CONVERT PARTITION`) change what a used table holds, and the
//! binlog shows them only as text: there is no list of the rows that went. The documents they
//! affect cannot be found from the binlog (for a joined or nested table, they are every document
//! that had one of its rows), so the sync stops before the statement and says to run
//! `mee update`: a new generation built from MySQL after the statement, which `mee run` then
//! follows from its snapshot, past the statement. Stopping is chosen over a silent partial fix
//! because the correctness contract (the index equals a full update) would not hold otherwise.

use crate::binlog::{BinlogError, BinlogPosition, ServerSettings, read_server_settings};
use crate::mysql::schema::{
    ExpectedTable, ProblemKind, SchemaProblem, check_schema, normalize_type,
};
use crate::mysql::{MysqlError, Source};
use crate::pipeline::IndexPipeline;
use sqlparser::ast::{AlterTableOperation, ObjectName, ObjectType, RenameTableNameKind, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Why a pipeline may not start.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// What is wrong with the server or its schema, one sentence per problem (settings first).
    #[error("{}", .0.join("\n"))]
    Problems(Vec<String>),
    #[error("{0}")]
    Mysql(#[from] MysqlError),
    #[error("{0}")]
    Binlog(#[from] BinlogError),
}

impl PreflightError {
    /// The problems found, one sentence each (empty when the check itself failed).
    pub fn problems(&self) -> &[String] {
        match self {
            PreflightError::Problems(p) => p,
            _ => &[],
        }
    }
}

/// Checks, before any work, that mee can follow the server's binlog and that the live schema
/// still has every table and used column of `index` with a type it can read. All problems are
/// reported together.
pub async fn preflight(index: &dyn IndexPipeline, source: &Source) -> Result<(), PreflightError> {
    let opts = source.config().opts().map_err(MysqlError::from)?;
    let address = format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port());
    let settings = {
        let mut session = source.session().await?;
        read_server_settings(session.conn(), &address).await?
    };
    let expected = index.expected_schema();
    let schema = check_schema(source, expected).await?;
    let mut problems =
        collect_problems(&settings, &schema, expected, index.alias(), source.server());
    problems.extend(cascade_problems(index, source).await?);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PreflightError::Problems(problems))
    }
}

/// A foreign key whose referential action changes a child table's rows inside InnoDB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CascadingKey {
    /// Physical database and table of the child (the table whose rows the action changes).
    pub schema: String,
    pub table: String,
    pub name: String,
    pub referenced: String,
    pub update_rule: String,
    pub delete_rule: String,
    /// The child's key columns.
    pub columns: Vec<String>,
}

/// Foreign keys whose `ON DELETE`/`ON UPDATE` action (`CASCADE`, `SET NULL`, `SET DEFAULT`)
/// would change rows of a used table without rows events, one sentence each.
///
/// InnoDB applies these actions inside the storage engine, and the binlog carries only the
/// statement's own rows (the parent's): the child rows deleted or changed by the cascade are
/// nowhere in it. A deleted child row leaves nothing to find its documents by (its link values
/// went with it), and a child set to NULL no longer names the parent it had, so the documents
/// cannot be found from the schema either; mee refuses to start instead of drifting silently.
/// An action that only changes columns the index does not use (`SET NULL`, `ON UPDATE
/// CASCADE` on a key column the pipeline never reads) changes no document and is allowed;
/// `ON DELETE CASCADE` removes whole rows and always counts.
pub async fn cascade_problems(
    index: &dyn IndexPipeline,
    source: &Source,
) -> Result<Vec<String>, MysqlError> {
    let expected = index.expected_schema();
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let of_table: Vec<String> = expected
        .iter()
        .map(|t| source.physical(t.database).to_string())
        .collect();
    let mut physical = of_table.clone();
    physical.sort();
    physical.dedup();
    // `information_schema.REFERENTIAL_CONSTRAINTS` shows nothing to an account with only
    // SELECT on MariaDB, but `KEY_COLUMN_USAGE` and `SHOW CREATE TABLE` do: the keys from the
    // first, their actions from the second.
    let marks = vec!["?"; physical.len()].join(", ");
    let sql = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, \
                CONCAT(REFERENCED_TABLE_SCHEMA, '`.`', REFERENCED_TABLE_NAME), \
                GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ',') \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA IN ({marks}) AND REFERENCED_TABLE_NAME IS NOT NULL \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3"
    );
    let server = source.server().to_string();
    let query_error = |context: String| {
        let server = server.clone();
        move |source| MysqlError::Query {
            server,
            context,
            source,
        }
    };
    let mut session = source.session().await?;
    type KeyRow = (String, String, String, String, String);
    let rows: Vec<KeyRow> = mysql_async::prelude::Queryable::exec(session.conn(), sql, physical)
        .await
        .map_err(query_error(
            "reading the foreign keys of the used tables".into(),
        ))?;
    let mut keys: Vec<CascadingKey> = Vec::new();
    let mut definitions: std::collections::HashMap<(String, String), String> =
        std::collections::HashMap::new();
    for (schema, table, name, referenced, columns) in rows {
        let used = expected
            .iter()
            .zip(&of_table)
            .any(|(t, p)| p.eq_ignore_ascii_case(&schema) && t.table.eq_ignore_ascii_case(&table));
        if !used {
            continue;
        }
        let id = (schema.clone(), table.clone());
        if !definitions.contains_key(&id) {
            let quoted = |n: &str| format!("`{}`", n.replace('`', "``"));
            let show = format!("SHOW CREATE TABLE {}.{}", quoted(&schema), quoted(&table));
            let row: Option<(String, String)> =
                mysql_async::prelude::Queryable::query_first(session.conn(), show)
                    .await
                    .map_err(query_error(format!(
                        "reading the definition of `{schema}`.`{table}`"
                    )))?;
            definitions.insert(id.clone(), row.map(|r| r.1).unwrap_or_default());
        }
        let (update_rule, delete_rule) = referential_actions(&definitions[&id], &name);
        keys.push(CascadingKey {
            schema,
            table,
            name,
            referenced,
            update_rule,
            delete_rule,
            columns: columns.split(',').map(str::to_string).collect(),
        });
    }
    Ok(judge_cascades(&keys, expected, &of_table, index.alias()))
}

/// The `ON UPDATE` and `ON DELETE` actions of constraint `name` in a `SHOW CREATE TABLE` text
/// (`RESTRICT` when the clause is absent, as the server then does).
fn referential_actions(definition: &str, name: &str) -> (String, String) {
    let head = format!("CONSTRAINT `{}` FOREIGN KEY", name.replace('`', "``"));
    let line = definition
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&head))
        .unwrap_or_default();
    let action = |clause: &str| {
        let Some(at) = line.find(clause) else {
            return "RESTRICT".to_string();
        };
        let rest = line[at + clause.len()..].trim_start();
        [
            "SET DEFAULT",
            "SET NULL",
            "NO ACTION",
            "CASCADE",
            "RESTRICT",
        ]
        .iter()
        .find(|a| rest.starts_with(**a))
        .map_or_else(|| "RESTRICT".to_string(), |a| a.to_string())
    };
    (action("ON UPDATE"), action("ON DELETE"))
}

/// The sentences for the [`CascadingKey`]s that change a used table's documents.
fn judge_cascades(
    keys: &[CascadingKey],
    expected: &[ExpectedTable],
    physical: &[String],
    alias: &str,
) -> Vec<String> {
    let acts = |rule: &str| matches!(rule, "CASCADE" | "SET NULL" | "SET DEFAULT");
    let mut out = Vec::new();
    for key in keys {
        let Some(table) = expected.iter().zip(physical).find_map(|(t, p)| {
            (p.eq_ignore_ascii_case(&key.schema) && t.table.eq_ignore_ascii_case(&key.table))
                .then_some(t)
        }) else {
            continue;
        };
        let uses_key = key
            .columns
            .iter()
            .any(|c| table.columns.iter().any(|u| u.name.eq_ignore_ascii_case(c)));
        let mut actions = Vec::new();
        if key.delete_rule == "CASCADE" || (acts(&key.delete_rule) && uses_key) {
            actions.push(format!("ON DELETE {}", key.delete_rule));
        }
        if acts(&key.update_rule) && uses_key {
            actions.push(format!("ON UPDATE {}", key.update_rule));
        }
        if actions.is_empty() {
            continue;
        }
        out.push(format!(
            "foreign key `{}` of table `{}`.`{}`, which index `{alias}` reads, has {} (towards \
             `{}`), and MySQL writes the rows such an action changes to no binlog, so the index \
             would keep documents of rows that changed or went: make it ON DELETE/ON UPDATE \
             RESTRICT (the application then changes those rows itself, which the binlog shows) \
             and start again",
            key.name,
            table.database,
            table.table,
            actions.join(" and "),
            key.referenced,
        ));
    }
    out
}

/// Every problem that keeps `alias` from starting: the server's settings first, then the
/// schema differences that matter.
fn collect_problems(
    settings: &ServerSettings,
    schema: &[SchemaProblem],
    expected: &[ExpectedTable],
    alias: &str,
    server: &str,
) -> Vec<String> {
    let mut problems = settings.problems();
    problems.extend(
        schema
            .iter()
            .filter_map(|p| judge(p, expected, alias, server)),
    );
    problems
}

/// The message of one live-schema difference, or `None` when it does not matter (a type change
/// that [`compatible_type`] accepts).
fn judge(
    problem: &SchemaProblem,
    expected: &[ExpectedTable],
    alias: &str,
    server: &str,
) -> Option<String> {
    let table = expected
        .iter()
        .find(|t| t.database == problem.database && t.table == problem.table);
    let ddl = match table.map(|t| t.ddl_file).filter(|f| !f.is_empty()) {
        Some(file) => file.to_string(),
        None => format!("the checked-in DDL of `{}`", problem.database),
    };
    let (db, t) = (&problem.database, &problem.table);
    let column = problem.column.as_deref().unwrap_or_default();
    let declared = table
        .and_then(|t| t.columns.iter().find(|c| c.name == column))
        .map(|c| c.type_text)
        .unwrap_or_default();
    Some(match &problem.kind {
        ProblemKind::MissingTable => format!(
            "table `{db}`.`{t}`, which index `{alias}` reads, does not exist in database `{}` on \
             {server} (or mee's account cannot see it): create it as {ddl} defines it, or fix the \
             `--database {db}=...` mapping",
            problem.physical
        ),
        ProblemKind::MissingColumn => format!(
            "column `{db}`.`{t}`.`{column}`, which index `{alias}` uses, does not exist on \
             {server}: add it back as `{declared}` (see {ddl}), or run `mee schema pull {db}`, \
             change the pipeline and rebuild mee"
        ),
        ProblemKind::TypeChanged { expected, found } => {
            if compatible_type(expected, found) {
                tracing::info!(
                    column = %format!("{db}.{t}.{column}"),
                    compiled = %expected,
                    live = %found,
                    "a used column changed type harmlessly; the pipeline reads it unchanged"
                );
                return None;
            }
            format!(
                "column `{db}`.`{t}`.`{column}` is `{found}` on {server} but `{expected}` in \
                 {ddl}, which changes the documents of index `{alias}`: run `mee schema pull {db}` \
                 and rebuild mee, or change the column back"
            )
        }
        ProblemKind::BecameNullable => format!(
            "column `{db}`.`{t}`.`{column}` allows NULL on {server} but is NOT NULL in {ddl}, \
             and index `{alias}` was built for NOT NULL: run `mee schema pull {db}` and rebuild \
             mee, or make the column NOT NULL again"
        ),
        ProblemKind::Charset { charset, reason } => format!(
            "column `{db}`.`{t}`.`{column}`, which index `{alias}` uses, is in character set \
             `{charset}` on {server}, which mee cannot decode from the binlog as MySQL does: \
             {reason}"
        ),
    })
}

/// Whether a used column compiled as `compiled` may have type `live` on the server (both as the
/// DDL or `information_schema.COLUMN_TYPE` write them). See the module docs for the rule.
pub fn compatible_type(compiled: &str, live: &str) -> bool {
    let (a, b) = (normalize_type(compiled), normalize_type(live));
    if a == b {
        return true;
    }
    use Shape::*;
    match (Shape::of(&a), Shape::of(&b)) {
        (
            Int {
                bytes: x,
                unsigned: xu,
            },
            Int {
                bytes: y,
                unsigned: yu,
            },
        ) => {
            // Only `BIGINT UNSIGNED` reads as `u64`; every value of the old range must fit.
            let same_rust = (x == 8 && xu) == (y == 8 && yu);
            let holds = match (xu, yu) {
                (false, false) | (true, true) => y >= x,
                (true, false) => y > x,
                (false, true) => false,
            };
            same_rust && holds
        }
        (
            Decimal {
                precision: p,
                scale: s,
            },
            Decimal {
                precision: q,
                scale: t,
            },
        ) => s == t && q >= p && decimal_mapping(p, s) == decimal_mapping(q, t),
        // `BIT(64)` is `unsigned_long`, narrower ones `long`.
        (Bit(x), Bit(y)) => y >= x && (x == 64) == (y == 64),
        // A `VARCHAR` over 8191 characters is a `keyword` with `ignore_above`.
        (ShortText(x), ShortText(y)) => {
            y >= x && (x > KEYWORD_IGNORE_ABOVE) == (y > KEYWORD_IGNORE_ABOVE)
        }
        (LongText(x), LongText(y)) | (Blob(x), Blob(y)) => y >= x,
        // `BINARY(n)` pads with zero bytes: only a `VARBINARY` keeps its values as they are.
        (Binary(x) | VarBinary(x), VarBinary(y)) => y >= x,
        (Binary(x) | VarBinary(x), Blob(_)) => u64::from(blob_bytes(&b)) >= x,
        (Members(kind_a, xs), Members(kind_b, ys)) => {
            kind_a == kind_b && xs.iter().all(|m| ys.contains(m))
        }
        // The date format of the mapping depends on whether there is a fraction at all.
        (DateTime(x), DateTime(y)) | (Timestamp(x), Timestamp(y)) => y >= x && (x > 0) == (y > 0),
        _ => false,
    }
}

/// What a column type means for reading values and mapping them, parsed from the
/// [`normalize_type`] spelling.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Int {
        bytes: u8,
        unsigned: bool,
    },
    Decimal {
        precision: u32,
        scale: u32,
    },
    Bit(u64),
    /// `CHAR`/`VARCHAR` and their length (both `keyword`, read as text).
    ShortText(u64),
    /// `TINYTEXT`..`LONGTEXT` by size rank.
    LongText(u8),
    Binary(u64),
    VarBinary(u64),
    Blob(u8),
    /// `ENUM` or `SET` with its members.
    Members(&'static str, Vec<String>),
    DateTime(u32),
    Timestamp(u32),
    /// Anything else: only an identical type is compatible.
    Other,
}

impl Shape {
    fn of(normalized: &str) -> Shape {
        let mut words = normalized.split(' ');
        let first = words.next().unwrap_or_default();
        let unsigned = words.any(|w| w == "unsigned");
        let (name, args) = match first.find('(') {
            Some(i) => (&first[..i], first[i + 1..].trim_end_matches(')')),
            None => (first, ""),
        };
        let n = |default: u64| {
            args.split(',')
                .next()
                .and_then(|a| a.parse().ok())
                .unwrap_or(default)
        };
        match name {
            "tinyint" => Shape::Int { bytes: 1, unsigned },
            "smallint" => Shape::Int { bytes: 2, unsigned },
            "mediumint" => Shape::Int { bytes: 3, unsigned },
            "int" => Shape::Int { bytes: 4, unsigned },
            "bigint" => Shape::Int { bytes: 8, unsigned },
            // An unsigned decimal has another value range; only an identical type matches it.
            "decimal" if !unsigned => {
                let mut parts = args.split(',').map(|a| a.trim().parse::<u32>().ok());
                match (parts.next().flatten(), parts.next().flatten()) {
                    (Some(precision), Some(scale)) => Shape::Decimal { precision, scale },
                    _ => Shape::Other,
                }
            }
            "bit" => Shape::Bit(n(1)),
            "char" | "varchar" => Shape::ShortText(n(1)),
            "tinytext" => Shape::LongText(1),
            "text" => Shape::LongText(2),
            "mediumtext" => Shape::LongText(3),
            "longtext" => Shape::LongText(4),
            "binary" => Shape::Binary(n(1)),
            "varbinary" => Shape::VarBinary(n(1)),
            "tinyblob" => Shape::Blob(1),
            "blob" => Shape::Blob(2),
            "mediumblob" => Shape::Blob(3),
            "longblob" => Shape::Blob(4),
            "enum" | "set" => {
                Shape::Members(if name == "enum" { "enum" } else { "set" }, members(args))
            }
            "datetime" => Shape::DateTime(n(0) as u32),
            "timestamp" => Shape::Timestamp(n(0) as u32),
            _ => Shape::Other,
        }
    }
}

/// The compiler's limit for a plain `keyword` `VARCHAR` (`mee_compiler`'s `KEYWORD_IGNORE_ABOVE`:
/// a longer one could exceed Lucene's 32766-byte term and is mapped with `ignore_above`).
const KEYWORD_IGNORE_ABOVE: u64 = 32766 / 4;

/// The largest value of a `BLOB` type, in bytes (for `VARBINARY` -> `BLOB`).
fn blob_bytes(normalized: &str) -> u32 {
    match Shape::of(normalized) {
        Shape::Blob(1) => 255,
        Shape::Blob(2) => 65_535,
        Shape::Blob(3) => 16_777_215,
        _ => u32::MAX,
    }
}

/// The Elasticsearch mapping the compiler gives `DECIMAL(p,s)`: `long` for integers up to 18
/// digits, `scaled_float` by the scale up to 15 digits, else `double`.
fn decimal_mapping(precision: u32, scale: u32) -> (u8, u32) {
    if scale == 0 && precision <= 18 {
        (0, 0)
    } else if precision <= 15 {
        (1, scale)
    } else {
        (2, 0)
    }
}

/// The quoted members of an `ENUM`/`SET` argument list, as written.
fn members(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = args.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '\'') => quoted = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                current.push('\'');
                chars.next();
            }
            (true, '\'') => {
                quoted = false;
                out.push(std::mem::take(&mut current));
            }
            (true, c) => current.push(c),
            (false, _) => {}
        }
    }
    out
}

/// What a statement does to a table the index reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DdlEffect {
    /// The table's definition may have changed (`ALTER TABLE`, `CREATE INDEX`...): check it.
    Recheck,
    /// `TRUNCATE`: every row went, without rows events.
    Truncated,
    /// `DROP TABLE` or `DROP DATABASE`.
    Dropped,
    /// Renamed to another name: the index's name no longer holds these rows.
    RenamedAway,
    /// Another table's rows now stand under this name (`RENAME TABLE x TO used`, `CREATE OR
    /// REPLACE TABLE`), or a partition operation removed or swapped rows.
    Replaced,
    /// `INSERT`, `UPDATE`, `DELETE`, `REPLACE` or `LOAD DATA` logged as a statement (a session
    /// with `binlog_format` STATEMENT or MIXED): rows changed without rows events.
    RowsAsStatement,
}

/// A used table a statement touches, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Touch {
    /// The index in [`IndexPipeline::expected_schema`].
    pub table: usize,
    pub effect: DdlEffect,
}

/// A schema change `mee run` cannot follow: it stopped before the statement.
#[derive(Debug, thiserror::Error)]
pub enum SchemaChangeError {
    /// One sentence per problem, each naming the statement, its binlog position and the fix.
    #[error("{}", .problems.join("\n"))]
    Stopped {
        position: BinlogPosition,
        problems: Vec<String>,
    },
    /// The live schema could not be read.
    #[error("{0}")]
    Mysql(#[from] MysqlError),
}

/// Judges statements logged as text against the tables an index reads (see the module docs).
#[derive(Debug)]
pub struct SchemaGuard {
    pipeline: &'static str,
    alias: &'static str,
    expected: &'static [ExpectedTable],
    /// The physical database of each expected table.
    physical: Vec<String>,
}

impl SchemaGuard {
    pub fn new(index: &dyn IndexPipeline, source: &Source) -> SchemaGuard {
        let expected = index.expected_schema();
        SchemaGuard {
            pipeline: index.pipeline(),
            alias: index.alias(),
            expected,
            physical: expected
                .iter()
                .map(|t| source.physical(t.database).to_string())
                .collect(),
        }
    }

    /// The used tables `query` (run with `schema` as the default database) touches. Statements
    /// sqlparser reads are judged by their structure; others by the used table names they
    /// contain and their leading keywords, erring towards a re-check or a stop.
    pub fn touches(&self, schema: &str, query: &str) -> Vec<Touch> {
        let mut out: Vec<Touch> = Vec::new();
        let mut add = |table: usize, effect: DdlEffect| {
            match out.iter_mut().find(|t| t.table == table) {
                // The strongest effect wins: anything beyond a re-check stops the sync.
                Some(t) if t.effect == DdlEffect::Recheck => t.effect = effect,
                Some(_) => {}
                None => out.push(Touch { table, effect }),
            }
        };
        let words = words(query);
        let leading: Vec<String> = words
            .iter()
            .take(4)
            .map(|w| w.text.to_ascii_uppercase())
            .collect();
        let starts =
            |kw: &[&str]| leading.len() >= kw.len() && leading.iter().zip(kw).all(|(a, b)| a == b);
        // Row changes logged as a statement: the tables it may write, never those it only reads.
        if let Some(targets) = self.dml_targets(schema, &words) {
            for table in targets {
                add(table, DdlEffect::RowsAsStatement);
            }
            return out;
        }
        let removes_rows = removes_partition_rows(&words);
        match Parser::parse_sql(&MySqlDialect {}, query).ok().as_deref() {
            Some([statement]) => {
                for (name, effect) in self.structural(statement, removes_rows) {
                    for table in self.resolve(schema, &name) {
                        add(table, effect);
                    }
                }
                if let Statement::Drop {
                    object_type: ObjectType::Database | ObjectType::Schema,
                    names,
                    ..
                } = statement
                {
                    for name in names {
                        let db = last_part(name);
                        for table in self.in_database(&db) {
                            add(table, DdlEffect::Dropped);
                        }
                    }
                }
                // Other statements (views, triggers, grants...) change no rows; a re-check of
                // any used table they name costs one query and can only help.
                for table in self.named(schema, &words) {
                    add(table, DdlEffect::Recheck);
                }
            }
            _ => {
                let effect = if starts(&["TRUNCATE"]) {
                    DdlEffect::Truncated
                } else if starts(&["DROP", "TEMPORARY"]) || starts(&["CREATE", "TEMPORARY"]) {
                    DdlEffect::Recheck
                } else if starts(&["DROP", "TABLE"]) {
                    DdlEffect::Dropped
                } else if starts(&["RENAME"])
                    || starts(&["CREATE", "OR", "REPLACE"])
                    || (starts(&["ALTER"])
                        && (removes_rows || words.iter().any(|w| w.is("RENAME"))))
                {
                    DdlEffect::Replaced
                } else {
                    DdlEffect::Recheck
                };
                if starts(&["DROP", "DATABASE"]) || starts(&["DROP", "SCHEMA"]) {
                    for w in &words {
                        for table in self.in_database(&w.text) {
                            add(table, DdlEffect::Dropped);
                        }
                    }
                }
                for table in self.named(schema, &words) {
                    add(table, effect);
                }
            }
        }
        out
    }

    /// When `words` are a DML statement (`INSERT`, `REPLACE`, `UPDATE`, `DELETE`, `LOAD DATA`),
    /// the used tables it may write: the target of an `INSERT`/`REPLACE`/`LOAD`, every table
    /// before `SET` of an `UPDATE`, before `WHERE` (`ORDER`, `LIMIT`) of a `DELETE` (multi-table
    /// forms included, erring towards a table that is only read).
    fn dml_targets(&self, schema: &str, words: &[Word]) -> Option<Vec<usize>> {
        let first = words.first()?;
        let name_at = |i: usize| -> &[Word] {
            let end = if words.get(i + 1).is_some_and(|w| w.is_period) {
                i + 3
            } else {
                i + 1
            };
            words.get(i..end.min(words.len())).unwrap_or_default()
        };
        let range: &[Word] = if first.is("INSERT") || first.is("REPLACE") {
            let modifier = |w: &Word| {
                ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"]
                    .iter()
                    .any(|k| w.is(k))
            };
            let start = 1 + words[1..].iter().position(|w| !modifier(w))?;
            name_at(start)
        } else if first.is("LOAD") {
            let i = words
                .windows(2)
                .position(|w| w[0].is("INTO") && w[1].is("TABLE"))?;
            name_at(i + 2)
        } else if first.is("UPDATE") {
            let end = words
                .iter()
                .position(|w| w.is("SET"))
                .unwrap_or(words.len());
            &words[1..end]
        } else if first.is("DELETE") {
            let end = words
                .iter()
                .position(|w| w.is("WHERE") || w.is("ORDER") || w.is("LIMIT") || w.is("RETURNING"))
                .unwrap_or(words.len());
            &words[1..end]
        } else {
            return None;
        };
        Some(self.named(schema, range))
    }

    /// The tables a parsed statement changes and how, by name.
    fn structural(
        &self,
        statement: &Statement,
        removes_rows: bool,
    ) -> Vec<(ObjectName, DdlEffect)> {
        match statement {
            Statement::AlterTable(alter) => {
                let mut out = Vec::new();
                let mut effect = if removes_rows {
                    DdlEffect::Replaced
                } else {
                    DdlEffect::Recheck
                };
                for op in &alter.operations {
                    match op {
                        AlterTableOperation::RenameTable { table_name } => {
                            let (RenameTableNameKind::As(to) | RenameTableNameKind::To(to)) =
                                table_name;
                            effect = DdlEffect::RenamedAway;
                            out.push((to.clone(), DdlEffect::Replaced));
                        }
                        AlterTableOperation::DropPartitions { .. } => effect = DdlEffect::Replaced,
                        _ => {}
                    }
                }
                out.push((alter.name.clone(), effect));
                out
            }
            Statement::RenameTable(renames) => renames
                .iter()
                .flat_map(|r| {
                    [
                        (r.old_name.clone(), DdlEffect::RenamedAway),
                        (r.new_name.clone(), DdlEffect::Replaced),
                    ]
                })
                .collect(),
            // A temporary table only shadows a used table in its own session.
            Statement::Drop {
                object_type: ObjectType::Table,
                names,
                temporary: false,
                ..
            } => names
                .iter()
                .map(|n| (n.clone(), DdlEffect::Dropped))
                .collect(),
            Statement::Truncate(t) => t
                .table_names
                .iter()
                .map(|t| (t.name.clone(), DdlEffect::Truncated))
                .collect(),
            Statement::CreateTable(create) if !create.temporary => {
                let effect = if create.or_replace {
                    DdlEffect::Replaced
                } else {
                    DdlEffect::Recheck
                };
                vec![(create.name.clone(), effect)]
            }
            _ => Vec::new(),
        }
    }

    /// The expected tables a (possibly qualified) name means, with `schema` as the default
    /// database. Names compare case-insensitively, so a server with `lower_case_table_names`
    /// set is covered too.
    fn resolve(&self, schema: &str, name: &ObjectName) -> Vec<usize> {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .collect();
        match parts.as_slice() {
            [table] => self.matching(Some(schema).filter(|s| !s.is_empty()), table),
            [.., db, table] => self.matching(Some(db), table),
            [] => Vec::new(),
        }
    }

    fn matching(&self, db: Option<&str>, table: &str) -> Vec<usize> {
        (0..self.expected.len())
            .filter(|&i| {
                self.expected[i].table.eq_ignore_ascii_case(table)
                    && db.is_none_or(|d| self.physical[i].eq_ignore_ascii_case(d))
            })
            .collect()
    }

    fn in_database(&self, db: &str) -> Vec<usize> {
        (0..self.expected.len())
            .filter(|&i| self.physical[i].eq_ignore_ascii_case(db))
            .collect()
    }

    /// The expected tables named anywhere in the statement's words (`db`.`table` or a bare
    /// table name of the default database, or of any database when the default is unknown).
    fn named(&self, schema: &str, words: &[Word]) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, w) in words.iter().enumerate() {
            let qualifier = (i >= 2 && words[i - 1].is_period).then(|| words[i - 2].text.as_str());
            let db = qualifier.or(Some(schema).filter(|s| !s.is_empty()));
            for t in self.matching(db, &w.text) {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Judges one statement at `position`: `Ok` when the sync may continue past it.
    pub async fn check(
        &self,
        source: &Source,
        schema: &str,
        query: &str,
        position: &BinlogPosition,
    ) -> Result<(), SchemaChangeError> {
        let touches = self.touches(schema, query);
        if touches.is_empty() {
            return Ok(());
        }
        let statement = shorten(query);
        let prefix = format!(
            "`{statement}` at binlog position {position} stopped the sync of index `{}`",
            self.alias
        );
        let mut problems = Vec::new();
        let mut recheck: Vec<ExpectedTable> = Vec::new();
        for t in &touches {
            let table = &self.expected[t.table];
            let name = format!("`{}`.`{}`", table.database, table.table);
            let fix = format!(
                "run `mee update {}` to rebuild the index from MySQL, then start `mee run` again",
                self.pipeline
            );
            let what = match t.effect {
                DdlEffect::Recheck => {
                    recheck.push(*table);
                    continue;
                }
                DdlEffect::Truncated => format!(
                    "it emptied table {name}, which the index reads, and the binlog does not list \
                     the deleted rows: {fix}"
                ),
                DdlEffect::Dropped => format!(
                    "it dropped table {name}, which the index reads: recreate the table, {fix}"
                ),
                DdlEffect::RenamedAway => format!(
                    "it renamed table {name}, which the index reads, to another name: rename it \
                     back (or change the pipeline and rebuild mee), {fix}"
                ),
                DdlEffect::Replaced => format!(
                    "it replaced rows of table {name}, which the index reads, in a way the binlog \
                     does not list row by row: {fix}"
                ),
                DdlEffect::RowsAsStatement => format!(
                    "it changed rows of table {name}, which the index reads, but its session \
                     wrote it to the binlog as a statement (`binlog_format` STATEMENT or MIXED), \
                     so mee cannot see which rows changed: make every session write rows \
                     (`SET GLOBAL binlog_format=ROW` in the server configuration, and take the \
                     privilege to change the session's `binlog_format` from the applications' \
                     accounts), then {fix}"
                ),
            };
            problems.push(format!("{prefix}: {what}"));
        }
        if !recheck.is_empty() {
            for message in self.unfit(source, &recheck).await? {
                problems.push(format!(
                    "{prefix}: {message}, then start `mee run` again (it resumes just before this \
                     statement)"
                ));
            }
        }
        if problems.is_empty() {
            tracing::info!(
                alias = self.alias,
                at = %position,
                statement = %statement,
                "a schema change touched tables the index reads; every used column is still readable"
            );
            Ok(())
        } else {
            Err(SchemaChangeError::Stopped {
                position: position.clone(),
                problems,
            })
        }
    }

    /// Called when documents of a batch ending at `position` failed to build: a rebuild reads
    /// the tables as they are now, which may already have the shape of a statement later in the
    /// binlog than the batch. When a used column no longer fits, that is the sync's stop (the
    /// checkpoint stays before the batch, which a restart after the fix applies), not a failure
    /// of those documents. `Ok` when every used column still fits: the failures are the data's.
    pub async fn check_after_failures(
        &self,
        source: &Source,
        position: &BinlogPosition,
    ) -> Result<(), SchemaChangeError> {
        let problems: Vec<String> = self
            .unfit(source, self.expected)
            .await?
            .into_iter()
            .map(|message| {
                format!(
                    "documents of index `{}` changed up to binlog position {position} failed to build \
                     because a table changed under the sync: {message}, then start `mee run` \
                     again (it resumes before those changes)",
                    self.alias
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SchemaChangeError::Stopped {
                position: position.clone(),
                problems,
            })
        }
    }

    /// What no longer fits in `tables` as the live server has them, one message each (a
    /// widening that changes no document is not listed).
    async fn unfit(
        &self,
        source: &Source,
        tables: &[ExpectedTable],
    ) -> Result<Vec<String>, MysqlError> {
        Ok(check_schema(source, tables)
            .await?
            .iter()
            .filter_map(|p| judge(p, self.expected, self.alias, source.server()))
            .collect())
    }
}

/// The last part of a name (`db` of `db`, `table` of `db.table`).
fn last_part(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.clone())
        .unwrap_or_default()
}

/// A word of a statement (keyword or identifier, quotes removed), or a `.` between two.
#[derive(Debug)]
struct Word {
    text: String,
    quoted: bool,
    is_period: bool,
}

impl Word {
    /// An unquoted keyword.
    fn is(&self, keyword: &str) -> bool {
        !self.quoted && self.text.eq_ignore_ascii_case(keyword)
    }
}

/// The words and periods of a statement, without comments, strings or whitespace. A statement
/// the tokenizer rejects is split on everything but identifier characters, which can only find
/// more names, never fewer.
fn words(query: &str) -> Vec<Word> {
    match Tokenizer::new(&MySqlDialect {}, query).tokenize() {
        Ok(tokens) => tokens
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(Word {
                    quoted: w.quote_style.is_some(),
                    text: w.value,
                    is_period: false,
                }),
                Token::Period => Some(Word {
                    text: ".".into(),
                    quoted: false,
                    is_period: true,
                }),
                _ => None,
            })
            .collect(),
        Err(_) => {
            let mut out = Vec::new();
            for piece in
                query.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'))
            {
                for (i, part) in piece.split('.').enumerate() {
                    if i > 0 {
                        out.push(Word {
                            text: ".".into(),
                            quoted: false,
                            is_period: true,
                        });
                    }
                    if !part.is_empty() {
                        out.push(Word {
                            text: part.to_string(),
                            quoted: false,
                            is_period: false,
                        });
                    }
                }
            }
            out
        }
    }
}

/// Whether an `ALTER TABLE` removes or swaps rows through partitions (`TRUNCATE`, `DROP`,
/// `EXCHANGE` or `CONVERT PARTITION`, `CONVERT TABLE ... TO PARTITION`), which the binlog logs
/// without rows events.
fn removes_partition_rows(words: &[Word]) -> bool {
    words.windows(2).any(|w| {
        (w[0].is("TRUNCATE") || w[0].is("DROP") || w[0].is("EXCHANGE") || w[0].is("CONVERT"))
            && (w[1].is("PARTITION") || (w[0].is("CONVERT") && w[1].is("TABLE")))
    })
}

/// A statement for a message: whitespace collapsed, at most 120 characters.
fn shorten(query: &str) -> String {
    let one_line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 120 {
        one_line
    } else {
        let cut: String = one_line.chars().take(117).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::ExpectedColumn;

    const VEHICLE: &[ExpectedColumn] = &[
        ExpectedColumn::new("id", "INT(11)", false),
        ExpectedColumn::new("status", "TINYINT(4)", false),
    ];
    const EXPECTED: &[ExpectedTable] = &[
        ExpectedTable::new("certify_service", "vehicle", VEHICLE)
            .in_file("pipelines/schema/certify_service.sql"),
        ExpectedTable::new("certify_service", "vehicle_type", &[]),
        ExpectedTable::new("track_service", "vehicle_monitor", &[]),
    ];
    const VEHICLE_T: usize = 0;
    const TYPE_T: usize = 1;
    const MONITOR_T: usize = 2;

    fn guard() -> SchemaGuard {
        SchemaGuard {
            pipeline: "vehicles",
            alias: "index_vehicle",
            expected: EXPECTED,
            physical: vec!["t_cert".into(), "t_cert".into(), "t_track".into()],
        }
    }

    /// A default database, a statement, and the used tables it touches.
    type Case = (&'static str, &'static str, &'static [(usize, DdlEffect)]);

    #[test]
    fn referential_actions_on_used_tables_refuse_only_when_they_change_documents() {
        let key = |table: &str, columns: &[&str], update: &str, delete: &str| CascadingKey {
            schema: "t_cert".into(),
            table: table.into(),
            name: "fk".into(),
            referenced: "t_cert`.`parent".into(),
            update_rule: update.into(),
            delete_rule: delete.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        let physical = guard().physical;
        let judge = |k: CascadingKey| judge_cascades(&[k], EXPECTED, &physical, "index_vehicle");
        // ON DELETE CASCADE removes whole rows of a used table: always refused.
        let m = judge(key("vehicle", &["other"], "RESTRICT", "CASCADE"));
        assert_eq!(m.len(), 1);
        assert!(
            m[0].contains("foreign key `fk` of table `certify_service`.`vehicle`"),
            "{m:?}"
        );
        assert!(
            m[0].contains("ON DELETE CASCADE") && m[0].contains("RESTRICT"),
            "{m:?}"
        );
        assert_one_sentence(&m[0]);
        // SET NULL and ON UPDATE CASCADE matter when the key column is used.
        assert_eq!(
            judge(key("vehicle", &["status"], "CASCADE", "SET NULL")).len(),
            1
        );
        assert!(judge(key("vehicle", &["other"], "CASCADE", "SET NULL")).is_empty());
        let definition = "CREATE TABLE `c` (\n  `p` int(11) DEFAULT NULL,\n  \
            CONSTRAINT `a` FOREIGN KEY (`p`) REFERENCES `p` (`id`),\n  \
            CONSTRAINT `b` FOREIGN KEY (`p`) REFERENCES `p` (`id`) ON DELETE SET NULL ON UPDATE CASCADE\n)";
        assert_eq!(
            referential_actions(definition, "a"),
            ("RESTRICT".into(), "RESTRICT".into())
        );
        assert_eq!(
            referential_actions(definition, "b"),
            ("CASCADE".into(), "SET NULL".into())
        );
        // Tables the index does not read, and other databases, do not matter.
        assert!(judge(key("audit", &["id"], "CASCADE", "CASCADE")).is_empty());
    }

    #[test]
    fn row_changes_logged_as_statements_stop_only_for_the_used_tables_they_write() {
        use DdlEffect::RowsAsStatement as S;
        let cases: &[Case] = &[
            (
                "t_cert",
                "UPDATE vehicle SET status = 1 WHERE id = 2",
                &[(VEHICLE_T, S)],
            ),
            (
                "other",
                "update `t_cert`.`vehicle` set status = 1",
                &[(VEHICLE_T, S)],
            ),
            (
                "t_cert",
                "INSERT INTO vehicle_type VALUES (1, 'x')",
                &[(TYPE_T, S)],
            ),
            (
                "t_cert",
                "insert ignore into t_cert.vehicle (id) values (3)",
                &[(VEHICLE_T, S)],
            ),
            (
                "t_cert",
                "REPLACE vehicle SELECT * FROM other",
                &[(VEHICLE_T, S)],
            ),
            (
                "t_track",
                "DELETE FROM vehicle_monitor WHERE id > 3",
                &[(MONITOR_T, S)],
            ),
            (
                "t_cert",
                "DELETE v FROM vehicle v JOIN vehicle_type t ON t.id = v.vehicle_type_id",
                &[(VEHICLE_T, S), (TYPE_T, S)],
            ),
            (
                "t_cert",
                "LOAD DATA INFILE '/tmp/x' INTO TABLE vehicle",
                &[(VEHICLE_T, S)],
            ),
            // Tables only read, and tables the index does not use, do not stop the sync.
            ("t_cert", "INSERT INTO other SELECT * FROM vehicle", &[]),
            (
                "t_cert",
                "UPDATE other SET a = (SELECT 1 FROM vehicle)",
                &[],
            ),
            (
                "t_cert",
                "DELETE FROM other WHERE id IN (SELECT id FROM vehicle)",
                &[],
            ),
            ("t_track", "UPDATE vehicle SET status = 1", &[]),
        ];
        for (schema, query, want) in cases {
            assert_eq!(&effects(schema, query), want, "{query}");
        }
    }

    fn effects(schema: &str, query: &str) -> Vec<(usize, DdlEffect)> {
        let mut out: Vec<(usize, DdlEffect)> = guard()
            .touches(schema, query)
            .into_iter()
            .map(|t| (t.table, t.effect))
            .collect();
        out.sort_by_key(|t| t.0);
        out
    }

    #[test]
    fn column_changes_of_used_tables_are_rechecked_and_other_tables_ignored() {
        use DdlEffect::Recheck;
        let cases: &[Case] = &[
            (
                "t_cert",
                "ALTER TABLE vehicle ADD COLUMN color VARCHAR(10) AFTER id",
                &[(VEHICLE_T, Recheck)],
            ),
            (
                "t_cert",
                "alter table VEHICLE modify status int",
                &[(VEHICLE_T, Recheck)],
            ),
            (
                "",
                "ALTER TABLE `t_track`.`vehicle_monitor` DROP COLUMN x",
                &[(MONITOR_T, Recheck)],
            ),
            (
                "t_cert",
                "ALTER TABLE t_track.vehicle_monitor CHANGE a b INT",
                &[(MONITOR_T, Recheck)],
            ),
            // A table of the same name in a database the index does not read.
            ("t_track", "ALTER TABLE vehicle ADD x INT", &[]),
            ("t_cert", "ALTER TABLE other ADD x INT", &[]),
            (
                "t_cert",
                "CREATE TABLE IF NOT EXISTS vehicle (id INT)",
                &[(VEHICLE_T, Recheck)],
            ),
            (
                "t_cert",
                "CREATE INDEX idx ON vehicle (status)",
                &[(VEHICLE_T, Recheck)],
            ),
            (
                "t_cert",
                "DROP TEMPORARY TABLE IF EXISTS `vehicle` /* generated by server */",
                &[(VEHICLE_T, Recheck)],
            ),
            (
                "t_cert",
                "CREATE TABLE vehicle_copy LIKE vehicle",
                &[(VEHICLE_T, Recheck)],
            ),
            (
                "t_cert",
                "GRANT SELECT ON t_cert.vehicle_type TO x",
                &[(TYPE_T, Recheck)],
            ),
            ("t_cert", "CREATE TABLE unrelated (id INT)", &[]),
            // MariaDB syntax sqlparser does not read falls back to names and keywords.
            (
                "t_cert",
                "ALTER ONLINE TABLE vehicle ADD COLUMN IF NOT EXISTS c INT, ALGORITHM=INPLACE, LOCK=NONE",
                &[(VEHICLE_T, Recheck)],
            ),
        ];
        for (schema, query, want) in cases {
            assert_eq!(&effects(schema, query), want, "{query}");
        }
    }

    #[test]
    fn statements_that_remove_rows_without_rows_events_stop() {
        use DdlEffect::*;
        let cases: &[Case] = &[
            (
                "t_cert",
                "TRUNCATE TABLE vehicle",
                &[(VEHICLE_T, Truncated)],
            ),
            ("t_cert", "truncate vehicle_type", &[(TYPE_T, Truncated)]),
            // Not SQL sqlparser reads (MariaDB's `WAIT`): judged by its first keyword.
            (
                "t_cert",
                "TRUNCATE TABLE vehicle WAIT 5",
                &[(VEHICLE_T, Truncated)],
            ),
            (
                "",
                "DROP TABLE IF EXISTS `t_cert`.`vehicle` /* generated by server */",
                &[(VEHICLE_T, Dropped)],
            ),
            ("t_cert", "DROP TABLE a, vehicle_type", &[(TYPE_T, Dropped)]),
            ("t_cert", "DROP DATABASE t_track", &[(MONITOR_T, Dropped)]),
            (
                "t_cert",
                "ALTER TABLE vehicle RENAME TO car",
                &[(VEHICLE_T, RenamedAway)],
            ),
            (
                "t_cert",
                "RENAME TABLE vehicle_new TO vehicle_type",
                &[(TYPE_T, Replaced)],
            ),
            (
                "t_cert",
                "RENAME TABLE vehicle TO vehicle_old",
                &[(VEHICLE_T, RenamedAway)],
            ),
            (
                "t_cert",
                "CREATE OR REPLACE TABLE vehicle (id INT)",
                &[(VEHICLE_T, Replaced)],
            ),
            (
                "t_cert",
                "ALTER TABLE vehicle TRUNCATE PARTITION p0",
                &[(VEHICLE_T, Replaced)],
            ),
            (
                "t_cert",
                "ALTER TABLE vehicle EXCHANGE PARTITION p0 WITH TABLE other",
                &[(VEHICLE_T, Replaced)],
            ),
        ];
        for (schema, query, want) in cases {
            assert_eq!(&effects(schema, query), want, "{query}");
        }
        // A swap stops whichever way it is judged.
        let swap = effects(
            "t_cert",
            "RENAME TABLE vehicle TO vehicle_old, vehicle_new TO vehicle",
        );
        assert_eq!(swap.len(), 1);
        assert_ne!(swap[0].1, Recheck);
    }

    /// `(rust type, Elasticsearch mapping)` of a column type, as the compiler derives them.
    fn compiled_meaning(ty: &str) -> (String, String) {
        use mee_compiler::diag::Diagnostics;
        use mee_compiler::source::SourceMap;
        let text = format!("CREATE TABLE t (c {ty});");
        let mut map = SourceMap::new();
        let file = map.add("x.sql", text.clone());
        let mut diags = Diagnostics::new();
        let db = mee_compiler::sql::parse_ddl(file, "x", &text, &mut diags);
        assert!(diags.finish().is_empty(), "{ty} parses");
        let col = db
            .table("t")
            .and_then(|t| t.column("c"))
            .expect("the column was parsed");
        (
            format!("{:?}", col.ty.rust_type()),
            format!("{:?}", col.ty.es_type()),
        )
    }

    #[test]
    fn widenings_pass_and_changes_of_values_or_mapping_do_not() {
        let compatible = [
            ("VARCHAR(50)", "varchar(100)"),
            ("CHAR(2)", "varchar(10)"),
            ("INT(11)", "bigint(20)"),
            ("TINYINT(4)", "int(11)"),
            ("TINYINT(1)", "tinyint(4)"),
            ("INT(10) UNSIGNED", "bigint(20)"),
            ("SMALLINT UNSIGNED", "int unsigned"),
            ("BIGINT(20) UNSIGNED", "bigint(20) unsigned"),
            ("DECIMAL(10,2)", "decimal(12,2)"),
            ("DECIMAL(10,0)", "decimal(18,0)"),
            ("ENUM('a', 'b')", "enum('a','b','c')"),
            ("SET('x')", "set('x','y')"),
            ("TEXT", "mediumtext"),
            ("BLOB", "longblob"),
            ("VARBINARY(4)", "varbinary(8)"),
            ("BINARY(4)", "varbinary(4)"),
            ("VARBINARY(10)", "blob"),
            ("DATETIME(3)", "datetime(6)"),
            ("BIT(4)", "bit(8)"),
            ("JSON", "longtext"),
        ];
        for (compiled, live) in compatible {
            assert!(compatible_type(compiled, live), "{compiled} -> {live}");
            // The rule never accepts what the compiler would read or map differently.
            assert_eq!(
                compiled_meaning(compiled),
                compiled_meaning(live),
                "{compiled} -> {live}"
            );
        }
        let incompatible = [
            ("INT(11)", "varchar(10)"),
            ("VARCHAR(100)", "varchar(50)"),
            ("VARCHAR(100)", "varchar(10000)"),
            ("BIT(8)", "bit(64)"),
            ("INT", "int unsigned"),
            ("INT UNSIGNED", "int"),
            ("BIGINT", "bigint unsigned"),
            ("BIGINT UNSIGNED", "bigint"),
            ("FLOAT", "double"),
            ("DATETIME", "datetime(3)"),
            ("DATETIME", "timestamp"),
            ("DECIMAL(10,2)", "decimal(10,3)"),
            ("DECIMAL(15,2)", "decimal(16,2)"),
            ("DECIMAL(10,2)", "decimal(8,2)"),
            ("DECIMAL(10,2) UNSIGNED", "decimal(12,2) unsigned"),
            ("VARCHAR(255)", "text"),
            ("TEXT", "varchar(100)"),
            ("ENUM('a','b')", "enum('a')"),
            ("ENUM('a','it''s')", "enum('a','its')"),
            ("SET('a')", "enum('a')"),
            ("BINARY(4)", "binary(8)"),
            ("VARBINARY(4)", "varchar(4)"),
            ("DATE", "datetime"),
            ("TIME", "time(3)"),
            ("TINYTEXT", "tinyblob"),
            ("VARBINARY(300)", "tinyblob"),
        ];
        for (compiled, live) in incompatible {
            assert!(!compatible_type(compiled, live), "{compiled} -> {live}");
        }
    }

    fn problem(column: &str, kind: ProblemKind) -> SchemaProblem {
        SchemaProblem {
            database: "certify_service".into(),
            physical: "t_cert".into(),
            table: "vehicle".into(),
            column: Some(column.into()),
            kind,
            message: String::new(),
        }
    }

    fn settings(variables: &[(&str, &str)]) -> ServerSettings {
        ServerSettings {
            address: "127.0.0.1:13306".into(),
            is_mariadb: true,
            version: "10.11.19-MARIADB".into(),
            server_id: 1,
            variables: variables
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            can_stream: Some(true),
            can_monitor: true,
            head: Some(BinlogPosition::new("binlog.000001", 4)),
            gtid_binlog_pos: None,
        }
    }

    const GOOD: &[(&str, &str)] = &[
        ("log_bin", "ON"),
        ("binlog_format", "ROW"),
        ("binlog_row_image", "FULL"),
        ("binlog_row_metadata", "FULL"),
    ];

    fn assert_one_sentence(message: &str) {
        assert!(!message.contains(". "), "one sentence: {message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }

    #[test]
    fn every_problem_is_reported_settings_first_each_with_its_fix() {
        let mut vars = GOOD.to_vec();
        vars[2] = ("binlog_row_image", "MINIMAL");
        vars[0] = ("log_bin", "OFF");
        let schema = [
            problem(
                "status",
                ProblemKind::TypeChanged {
                    expected: "TINYINT(4)".into(),
                    found: "varchar(10)".into(),
                },
            ),
            problem("id", ProblemKind::MissingColumn),
            // A harmless widening is not a problem.
            problem(
                "id",
                ProblemKind::TypeChanged {
                    expected: "INT(11)".into(),
                    found: "bigint(20)".into(),
                },
            ),
        ];
        let problems = collect_problems(
            &settings(&vars),
            &schema,
            EXPECTED,
            "index_vehicle",
            "mee@h:1",
        );
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("log_bin=OFF"), "{}", problems[0]);
        assert!(
            problems[1].contains("binlog_row_image=MINIMAL")
                && problems[1].contains("binlog_row_image=FULL"),
            "{}",
            problems[1]
        );
        assert_eq!(
            problems[2],
            "column `certify_service`.`vehicle`.`status` is `varchar(10)` on mee@h:1 but \
             `TINYINT(4)` in pipelines/schema/certify_service.sql, which changes the documents of \
             index `index_vehicle`: run `mee schema pull certify_service` and rebuild mee, or \
             change the column back"
        );
        assert!(
            problems[3].contains("`certify_service`.`vehicle`.`id`")
                && problems[3].contains("add it back as `INT(11)`")
                && problems[3].contains("mee schema pull certify_service"),
            "{}",
            problems[3]
        );
        for p in &problems {
            assert_one_sentence(p);
        }
        let err = PreflightError::Problems(problems);
        assert_eq!(err.to_string().lines().count(), 4);

        assert!(collect_problems(&settings(GOOD), &[], EXPECTED, "a", "s").is_empty());
    }

    #[test]
    fn missing_tables_and_new_nulls_name_the_fix() {
        let mut missing = problem("", ProblemKind::MissingTable);
        missing.column = None;
        missing.table = "vehicle_type".into();
        let m = judge(&missing, EXPECTED, "index_vehicle", "mee@h:1").expect("a problem");
        assert!(
            m.contains("`certify_service`.`vehicle_type`")
                && m.contains("database `t_cert`")
                && m.contains("the checked-in DDL of `certify_service`")
                && m.contains("--database certify_service="),
            "{m}"
        );
        assert_one_sentence(&m);
        let n = judge(
            &problem("status", ProblemKind::BecameNullable),
            EXPECTED,
            "i",
            "s",
        )
        .expect("a problem");
        assert!(
            n.contains("allows NULL") && n.contains("NOT NULL again"),
            "{n}"
        );
        assert_one_sentence(&n);
    }

    #[test]
    fn long_statements_are_shortened_for_messages() {
        assert_eq!(
            shorten("ALTER  TABLE\n  t ADD x INT"),
            "ALTER TABLE t ADD x INT"
        );
        let long = format!("ALTER TABLE t {}", "ADD c INT, ".repeat(30));
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 120);
        assert!(short.ends_with("..."));
    }
}
