//! Checked-in DDL (`pipelines/schema/<database>.sql`) -> [`Database`].
//!
//! The input is `mysqldump --no-data` output (MySQL or MariaDB). Such a file is mostly noise to
//! mee: `SET` statements, `DROP TABLE IF EXISTS`, views, triggers and `/*!40101 ... */`
//! conditional comments. So the loader splits the file into statements itself (respecting
//! strings, quoted identifiers and comments), ignores everything but `CREATE TABLE`, and hands
//! each `CREATE TABLE` to sqlparser.
//!
//! sqlparser does not accept everything a dump contains. Before parsing, the loader blanks out,
//! with spaces of the same byte length so every offset and line stays where it was:
//! - conditional comments inside the statement (`/*!50100 PARTITION BY ... */`,
//!   `/*!80016 DEFAULT ENCRYPTION='N' */`, `/*M!100301 COMPRESSED*/`): version-gated options
//!   that never change a column's name, type or key;
//! - the word `ZEROFILL`, which sqlparser rejects after `UNSIGNED` and which only changes how
//!   the server pads numbers in text output;
//! - the table options after the closing parenthesis (`ENGINE=... WITH SYSTEM VERSIONING`,
//!   `PAGE_COMPRESSED=1`, partitioning), which mee does not need and sqlparser partly rejects.
//!   The table's `COMMENT='...'` is read from them first.
//!
//! Errors are collected for every statement; a table that does not parse is left out and the
//! others still load.

use super::lex::{Kind, Lexeme, LineIndex, lex, parser_error_location, unescape_string};
use super::schema::{Column, ColumnType, Database, IntWidth, LobSize, Schema, Table};
use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::source::{FileId, FileLoader, SourceMap, Span};
use sqlparser::ast::{
    CharacterLength, ColumnOption, DataType, EnumMember, ExactNumberInfo, Expr, FunctionArg,
    FunctionArgExpr, FunctionArguments, ObjectName, Statement, TableConstraint,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Span as SqlSpan, Token};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Loads `dir/<database>.sql` for each named database into one [`Schema`].
///
/// A database without a schema file is left out silently: the caller reports
/// `UNKNOWN_DATABASE` at the YAML value that names it (see [`Schema::unknown_database`]).
/// Other read errors are `FILE_UNREADABLE`. The database list comes from the pipelines because
/// a [`FileLoader`] reads files but does not list directories.
pub fn load_schema<'a>(
    loader: &dyn FileLoader,
    dir: &Path,
    databases: impl IntoIterator<Item = &'a str>,
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Schema {
    let mut schema = Schema::default();
    for name in databases {
        if schema.databases.contains_key(name) {
            continue;
        }
        let path = dir.join(format!("{name}.sql"));
        let file = match map.find(&path) {
            Some(id) => id,
            None => match loader.read(&path) {
                Ok(text) => map.add(&path, text),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    diags.push(
                        Diagnostic::error(
                            codes::FILE_UNREADABLE,
                            format!("cannot read schema file `{}`: {e}", path.display()),
                        )
                        .help("check the file's permissions and encoding (UTF-8)"),
                    );
                    continue;
                }
            },
        };
        let db = parse_ddl(file, name, &map.file(file).text, diags);
        schema.databases.insert(name.to_string(), db);
    }
    schema
}

/// Parses one schema file. Every problem goes to `diags`; the returned database holds every
/// table that parsed.
pub fn parse_ddl(file: FileId, database: &str, text: &str, diags: &mut Diagnostics) -> Database {
    let mut db = Database {
        name: database.to_string(),
        file,
        tables: BTreeMap::new(),
    };
    let lexemes = lex(text);
    if let Some(bad) = lexemes.iter().find(|l| !l.terminated) {
        let what = match bad.kind {
            Kind::Str => "string",
            Kind::Backtick => "quoted identifier",
            _ => "comment",
        };
        diags.push(
            Diagnostic::error(
                codes::DDL_SYNTAX,
                format!("unterminated {what} in schema file"),
            )
            .primary(
                Span::new(file, bad.start, bad.start + 1),
                "starts here and never ends",
            )
            .help("regenerate the file with `mysqldump --no-data`"),
        );
    }
    for stmt in lexemes.split(|l| l.kind == Kind::Semicolon) {
        let significant: Vec<&Lexeme> = stmt.iter().filter(|l| !l.is_trivia()).collect();
        if !is_create_table(text, &significant) {
            continue;
        }
        let (Some(first), Some(last)) = (significant.first(), significant.last()) else {
            continue;
        };
        let Some(table) = parse_create_table(file, text, first.start, last.end, stmt, diags) else {
            continue;
        };
        match db.tables.get(&table.name) {
            Some(earlier) => diags.push(
                Diagnostic::error(
                    codes::DDL_SYNTAX,
                    format!("table `{}` is declared twice", table.name),
                )
                .primary(table.span, "declared again here")
                .secondary(earlier.span, "first declared here")
                .help("keep one `CREATE TABLE` per table"),
            ),
            None => {
                db.tables.insert(table.name.clone(), table);
            }
        }
    }
    db
}

fn word<'t>(text: &'t str, l: &Lexeme) -> Option<&'t str> {
    (l.kind == Kind::Word).then(|| &text[l.range()])
}

/// `CREATE [OR REPLACE] [TEMPORARY] TABLE`, looking only at significant lexemes (so a
/// `/*!50001 CREATE TABLE ...*/` view placeholder, which is a conditional comment, is not one).
fn is_create_table(text: &str, sig: &[&Lexeme]) -> bool {
    let mut words = sig.iter().map(|l| word(text, l).unwrap_or(""));
    if !words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("CREATE"))
    {
        return false;
    }
    for w in words {
        if w.eq_ignore_ascii_case("TABLE") {
            return true;
        }
        if !["OR", "REPLACE", "TEMPORARY"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k))
        {
            return false;
        }
    }
    false
}

/// Overwrites `range` of `buf` with spaces, keeping line breaks so that sqlparser's line
/// numbers still match the file.
fn blank(buf: &mut [u8], range: std::ops::Range<usize>) {
    for b in &mut buf[range] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

fn parse_create_table(
    file: FileId,
    text: &str,
    start: usize,
    end: usize,
    stmt: &[Lexeme],
    diags: &mut Diagnostics,
) -> Option<Table> {
    let stmt_span = Span::new(file, start, end);
    let mut buf = text.as_bytes()[start..end].to_vec();
    let inside: Vec<&Lexeme> = stmt
        .iter()
        .filter(|l| l.start >= start && l.end <= end)
        .collect();
    let mut depth = 0usize;
    let mut body_end = None;
    let mut comment = None;
    for (i, l) in inside.iter().enumerate() {
        let local = l.start - start..l.end - start;
        match (l.kind, &text[l.range()]) {
            (Kind::Conditional, _) => blank(&mut buf, local),
            (Kind::Word, w) if w.eq_ignore_ascii_case("ZEROFILL") => blank(&mut buf, local),
            (Kind::Punct, "(") if body_end.is_none() => depth += 1,
            (Kind::Punct, ")") if body_end.is_none() && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    body_end = Some(i);
                }
            }
            _ => {}
        }
    }
    if let Some(close) = body_end {
        let options: Vec<&Lexeme> = inside[close + 1..]
            .iter()
            .copied()
            .filter(|l| !l.is_trivia())
            .collect();
        comment = table_comment(text, &options);
        let from = inside[close].end - start;
        let len = buf.len();
        blank(&mut buf, from..len);
    }
    // Blanking replaces whole lexemes, whose bounds are character boundaries, by ASCII spaces.
    let sanitized = String::from_utf8(buf).ok()?;
    let index = LineIndex::new(&sanitized);
    let to_span = |s: SqlSpan| -> Span {
        match (index.offset(s.start), index.offset(s.end)) {
            (Some(a), Some(b)) => Span::new(file, start + a, start + b),
            _ => stmt_span,
        }
    };

    let parsed = Parser::new(&MySqlDialect {})
        .try_with_sql(&sanitized)
        .and_then(|mut p| p.parse_statements());
    let statements = match parsed {
        Ok(s) => s,
        Err(e) => {
            let (message, loc) = parser_error_location(&e);
            let at = loc
                .and_then(|l| index.offset(l))
                .map_or(start, |o| start + o);
            let until = stmt
                .iter()
                .find(|l| l.start <= at && at < l.end && !l.is_trivia())
                .map_or(at + 1, |l| l.end)
                .min(end.max(at + 1));
            diags.push(
                Diagnostic::error(codes::DDL_SYNTAX, "cannot parse `CREATE TABLE` statement")
                    .primary(Span::new(file, at, until), message)
                    .secondary(
                        Span::new(file, start, start + 12.min(end - start)),
                        "in this statement",
                    )
                    .help(
                        "schema files are `mysqldump --no-data` output; regenerate the file, or \
                         simplify this definition to plain columns and keys",
                    ),
            );
            return None;
        }
    };
    let [Statement::CreateTable(ct)] = statements.as_slice() else {
        diags.push(
            Diagnostic::error(codes::DDL_SYNTAX, "expected one `CREATE TABLE` statement")
                .primary(stmt_span, "not a plain `CREATE TABLE`")
                .help("write each table as `CREATE TABLE name (columns, keys);`"),
        );
        return None;
    };

    let (name, name_span) = object_name(&ct.name).unwrap_or_default();
    let mut table = Table {
        name,
        span: name_span.map_or(stmt_span, to_span),
        definition: stmt_span,
        columns: Vec::with_capacity(ct.columns.len()),
        primary_key: Vec::new(),
        unique_keys: Vec::new(),
        comment,
    };
    let mut json_columns = Vec::new();
    let mut primary: Option<(Vec<String>, Span)> = None;
    for def in &ct.columns {
        let (ty, unsigned) = column_type(&def.data_type);
        let span = to_span(def.name.span);
        let mut column = Column {
            name: def.name.value.clone(),
            span,
            ty,
            type_text: def.data_type.to_string(),
            nullable: true,
            unsigned,
            has_default: false,
            auto_increment: false,
            generated: false,
            comment: None,
        };
        for opt in &def.options {
            match &opt.option {
                ColumnOption::NotNull => column.nullable = false,
                ColumnOption::Null => column.nullable = true,
                ColumnOption::Default(_) => column.has_default = true,
                ColumnOption::PrimaryKey(_) => {
                    primary.get_or_insert((vec![column.name.clone()], span));
                }
                ColumnOption::Unique(_) => table.unique_keys.push(vec![column.name.clone()]),
                ColumnOption::DialectSpecific(tokens) => {
                    let auto = tokens.iter().any(|t| {
                        let Token::Word(w) = t else { return false };
                        w.value.eq_ignore_ascii_case("AUTO_INCREMENT")
                    });
                    column.auto_increment |= auto;
                }
                ColumnOption::Comment(c) => column.comment = Some(c.clone()),
                ColumnOption::Generated { .. } => column.generated = true,
                ColumnOption::Check(check) if json_valid_target(&check.expr).is_some() => {
                    json_columns.push(column.name.clone());
                }
                _ => {}
            }
        }
        column.has_default |= column.auto_increment || column.generated;
        table.columns.push(column);
    }
    for constraint in &ct.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                let cols = pk
                    .columns
                    .iter()
                    .filter_map(|c| index_column(&c.column.expr))
                    .collect();
                let span = pk.name.as_ref().map_or(table.span, |n| to_span(n.span));
                if let Some((_, first)) = &primary {
                    diags.push(
                        Diagnostic::error(
                            codes::DDL_SYNTAX,
                            format!("table `{}` has two primary keys", table.name),
                        )
                        .primary(span, "second primary key")
                        .secondary(*first, "first primary key"),
                    );
                } else {
                    primary = Some((cols, span));
                }
            }
            TableConstraint::Unique(u) => {
                table.unique_keys.push(
                    u.columns
                        .iter()
                        .filter_map(|c| index_column(&c.column.expr))
                        .collect(),
                );
            }
            TableConstraint::Check(check) => {
                if let Some(col) = json_valid_target(&check.expr) {
                    json_columns.push(col);
                }
            }
            _ => {}
        }
    }
    // MariaDB stores `JSON` as `LONGTEXT` with a `json_valid(col)` check, and dumps it that way.
    for name in json_columns {
        if let Some(c) = table
            .columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(&name))
            && c.ty == ColumnType::Text(LobSize::Long)
        {
            c.ty = ColumnType::Json;
        }
    }
    if let Some((cols, span)) = primary {
        for name in cols {
            match table
                .columns
                .iter_mut()
                .find(|c| c.name.eq_ignore_ascii_case(&name))
            {
                Some(c) => {
                    // Primary key columns are implicitly NOT NULL.
                    c.nullable = false;
                    table.primary_key.push(c.name.clone());
                }
                None => diags.push(
                    Diagnostic::error(
                        codes::DDL_SYNTAX,
                        format!(
                            "primary key of `{}` names unknown column `{name}`",
                            table.name
                        ),
                    )
                    .primary(span, "in this key"),
                ),
            }
        }
    }
    Some(table)
}

/// The `COMMENT [=] '...'` among the table options.
fn table_comment(text: &str, options: &[&Lexeme]) -> Option<String> {
    let at = options
        .iter()
        .position(|l| word(text, l).is_some_and(|w| w.eq_ignore_ascii_case("COMMENT")))?;
    let mut rest = options[at + 1..].iter();
    let mut next = rest.next()?;
    if next.kind == Kind::Punct && &text[next.range()] == "=" {
        next = rest.next()?;
    }
    if next.kind != Kind::Str || next.end - next.start < 2 {
        return None;
    }
    let raw = &text[next.start + 1..next.end - 1];
    let quote = if text.as_bytes()[next.start] == b'"' {
        '"'
    } else {
        '\''
    };
    Some(unescape_string(raw, quote))
}

/// The last part of a possibly qualified name (`db`.`t` -> `t`) and its location.
fn object_name(name: &ObjectName) -> Option<(String, Option<SqlSpan>)> {
    let ident = name.0.last()?.as_ident()?;
    Some((ident.value.clone(), Some(ident.span)))
}

/// The column of a key part: `col`, or `col(10)` for a prefix key.
fn index_column(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        Expr::Function(f) => f.name.0.last()?.as_ident().map(|i| i.value.clone()),
        _ => None,
    }
}

/// `json_valid(col)` -> `col`.
fn json_valid_target(expr: &Expr) -> Option<String> {
    let Expr::Function(f) = expr else { return None };
    let name = f.name.0.last()?.as_ident()?;
    if !name.value.eq_ignore_ascii_case("json_valid") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => index_column(e),
        _ => None,
    }
}

fn clamp_u8(n: u64) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn int(width: IntWidth, unsigned: bool, display_width: Option<u64>) -> (ColumnType, bool) {
    (
        ColumnType::Integer {
            width,
            unsigned,
            display_width,
        },
        unsigned,
    )
}

/// `DECIMAL` defaults to `(10,0)` and `DECIMAL(p)` to `(p,0)`, as in MySQL.
fn decimal(info: &ExactNumberInfo, unsigned: bool) -> (ColumnType, bool) {
    let (p, s) = match *info {
        ExactNumberInfo::None => (10, 0),
        ExactNumberInfo::Precision(p) => (p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (p, u64::try_from(s).unwrap_or(0)),
    };
    (
        ColumnType::Decimal {
            precision: clamp_u8(p),
            scale: clamp_u8(s),
        },
        unsigned,
    )
}

/// `FLOAT(p)` with `p > 24` is a `DOUBLE` in MySQL.
fn float(info: &ExactNumberInfo, unsigned: bool) -> (ColumnType, bool) {
    match info {
        ExactNumberInfo::Precision(p) if *p > 24 => (ColumnType::Double, unsigned),
        _ => (ColumnType::Float, unsigned),
    }
}

fn char_length(len: &Option<CharacterLength>, default: u32) -> Option<u32> {
    match len {
        None => Some(default),
        Some(CharacterLength::IntegerLength { length, .. }) => Some(clamp_u32(*length)),
        Some(CharacterLength::Max) => None,
    }
}

fn unsupported(dt: &DataType) -> (ColumnType, bool) {
    (
        ColumnType::Unsupported {
            name: dt.to_string().to_uppercase(),
        },
        false,
    )
}

/// Maps sqlparser's type to mee's, resolving MySQL's aliases; the flag is `UNSIGNED`.
fn column_type(dt: &DataType) -> (ColumnType, bool) {
    use DataType as D;
    use IntWidth::{Big, Int, Medium, Small, Tiny};
    match dt {
        D::TinyInt(w) => int(Tiny, false, *w),
        D::TinyIntUnsigned(w) => int(Tiny, true, *w),
        D::UTinyInt => int(Tiny, true, None),
        D::SmallInt(w) | D::Int2(w) => int(Small, false, *w),
        D::SmallIntUnsigned(w) | D::Int2Unsigned(w) => int(Small, true, *w),
        D::USmallInt => int(Small, true, None),
        D::MediumInt(w) => int(Medium, false, *w),
        D::MediumIntUnsigned(w) => int(Medium, true, *w),
        D::Int(w) | D::Integer(w) | D::Int4(w) => int(Int, false, *w),
        D::IntUnsigned(w) | D::IntegerUnsigned(w) | D::Int4Unsigned(w) => int(Int, true, *w),
        D::BigInt(w) | D::Int8(w) => int(Big, false, *w),
        D::BigIntUnsigned(w) | D::Int8Unsigned(w) => int(Big, true, *w),
        D::UBigInt => int(Big, true, None),
        // MySQL stores BOOL and BOOLEAN as TINYINT(1).
        D::Bool | D::Boolean => int(Tiny, false, Some(1)),
        D::Decimal(i) | D::Numeric(i) | D::Dec(i) => decimal(i, false),
        D::DecimalUnsigned(i) | D::DecUnsigned(i) => decimal(i, true),
        D::Float(i) => float(i, false),
        D::FloatUnsigned(i) => float(i, true),
        D::Double(_) | D::DoublePrecision | D::Real | D::Float8 => (ColumnType::Double, false),
        D::DoubleUnsigned(_) | D::DoublePrecisionUnsigned | D::RealUnsigned => {
            (ColumnType::Double, true)
        }
        D::Bit(n) => (
            ColumnType::Bit {
                width: n.map_or(1, clamp_u8),
            },
            false,
        ),
        D::Char(l) | D::Character(l) => match char_length(l, 1) {
            Some(length) => (ColumnType::Char { length }, false),
            None => unsupported(dt),
        },
        D::Varchar(l) | D::CharVarying(l) | D::CharacterVarying(l) | D::Nvarchar(l) => {
            match char_length(l, 0) {
                Some(length) if l.is_some() => (ColumnType::VarChar { length }, false),
                _ => unsupported(dt),
            }
        }
        D::TinyText => (ColumnType::Text(LobSize::Tiny), false),
        D::Text => (ColumnType::Text(LobSize::Regular), false),
        D::MediumText => (ColumnType::Text(LobSize::Medium), false),
        D::LongText => (ColumnType::Text(LobSize::Long), false),
        D::Binary(n) => (
            ColumnType::Binary {
                length: n.map_or(1, clamp_u32),
            },
            false,
        ),
        D::Varbinary(Some(sqlparser::ast::BinaryLength::IntegerLength { length })) => (
            ColumnType::VarBinary {
                length: clamp_u32(*length),
            },
            false,
        ),
        D::TinyBlob => (ColumnType::Blob(LobSize::Tiny), false),
        D::Blob(_) => (ColumnType::Blob(LobSize::Regular), false),
        D::MediumBlob => (ColumnType::Blob(LobSize::Medium), false),
        D::LongBlob => (ColumnType::Blob(LobSize::Long), false),
        D::Enum(members, _) => {
            let names = members
                .iter()
                .map(|m| match m {
                    EnumMember::Name(n) | EnumMember::NamedValue(n, _) => n.clone(),
                })
                .collect();
            (ColumnType::Enum(names), false)
        }
        D::Set(values) => (ColumnType::Set(values.clone()), false),
        D::Date => (ColumnType::Date, false),
        D::Datetime(fsp) => (
            ColumnType::DateTime {
                fsp: fsp.map_or(0, clamp_u8),
            },
            false,
        ),
        D::Timestamp(fsp, _) => (
            ColumnType::Timestamp {
                fsp: fsp.map_or(0, clamp_u8),
            },
            false,
        ),
        D::Time(fsp, _) => (
            ColumnType::Time {
                fsp: fsp.map_or(0, clamp_u8),
            },
            false,
        ),
        D::JSON => (ColumnType::Json, false),
        D::Custom(name, _)
            if name.0.len() == 1
                && name.0[0]
                    .as_ident()
                    .is_some_and(|i| i.value.eq_ignore_ascii_case("year")) =>
        {
            (ColumnType::Year, false)
        }
        _ => unsupported(dt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemLoader;

    /// `mariadb-dump --no-data` of a scratch database on MariaDB 10.11 (see the file's header):
    /// every column type mee knows, keys, a foreign key, a view and a generated column.
    const DUMP: &str = include_str!("testdata/mariadb_10_11_no_data.sql");

    fn parse(text: &str) -> (Database, Vec<Diagnostic>) {
        let mut diags = Diagnostics::new();
        let db = parse_ddl(FileId(0), "shop", text, &mut diags);
        (db, diags.finish())
    }

    fn slice(text: &str, span: Span) -> &str {
        &text[span.start as usize..span.end as usize]
    }

    #[test]
    fn mariadb_dump_parses_completely() {
        let (db, diags) = parse(DUMP);
        assert_eq!(diags, vec![]);
        let names: Vec<&str> = db.tables.keys().map(String::as_str).collect();
        // The view `active_vehicle` is not a table.
        assert_eq!(
            names,
            [
                "event_log",
                "relation_captain_vehicle",
                "vehicle",
                "vehicle_type"
            ]
        );
        let vt = &db.tables["vehicle_type"];
        assert_eq!(vt.comment.as_deref(), Some("kinds of vehicles"));
        assert_eq!(vt.unique_keys, vec![vec!["name".to_string()]]);
        let name = vt.column("name").expect("column exists");
        assert_eq!(name.comment.as_deref(), Some("display name, e.g. 'truck'"));
        assert!(name.has_default && !name.nullable);
        let log = &db.tables["event_log"];
        assert!(log.primary_key.is_empty());
        assert!(
            log.column("total")
                .is_some_and(|c| c.generated && c.has_default)
        );
    }

    #[test]
    fn every_column_type() {
        use ColumnType as T;
        let (db, _) = parse(DUMP);
        let v = &db.tables["vehicle"];
        let ty = |n: &str| v.column(n).map(|c| c.ty.clone()).expect("column exists");
        let integer = |width, unsigned, w| T::Integer {
            width,
            unsigned,
            display_width: Some(w),
        };
        assert_eq!(ty("id"), integer(IntWidth::Big, true, 20));
        assert_eq!(ty("vehicle_type_id"), integer(IntWidth::Int, true, 10));
        assert_eq!(ty("plate"), T::Char { length: 12 });
        assert_eq!(ty("status"), integer(IntWidth::Tiny, false, 1));
        assert!(ty("enabled").is_bool_like());
        assert_eq!(ty("flags"), T::Bit { width: 8 });
        assert_eq!(ty("small"), integer(IntWidth::Small, false, 6));
        assert_eq!(ty("medium"), integer(IntWidth::Medium, true, 8));
        assert_eq!(
            ty("price"),
            T::Decimal {
                precision: 12,
                scale: 2
            }
        );
        assert_eq!(ty("ratio"), T::Float);
        assert_eq!(ty("score"), T::Double);
        assert_eq!(ty("note"), T::Text(LobSize::Regular));
        assert_eq!(ty("tiny_note"), T::Text(LobSize::Tiny));
        assert_eq!(ty("medium_note"), T::Text(LobSize::Medium));
        assert_eq!(ty("long_note"), T::Text(LobSize::Long));
        assert_eq!(ty("raw_id"), T::Binary { length: 16 });
        assert_eq!(ty("token"), T::VarBinary { length: 64 });
        assert_eq!(ty("picture"), T::Blob(LobSize::Regular));
        assert_eq!(ty("tb"), T::Blob(LobSize::Tiny));
        assert_eq!(ty("mb"), T::Blob(LobSize::Medium));
        assert_eq!(ty("lb"), T::Blob(LobSize::Long));
        assert_eq!(
            ty("color"),
            T::Enum(vec!["red".into(), "green".into(), "it's".into()])
        );
        assert_eq!(
            ty("features"),
            T::Set(vec!["gps".into(), "obd".into(), "cam".into()])
        );
        assert_eq!(ty("birthday"), T::Date);
        assert_eq!(ty("built_year"), T::Year);
        assert_eq!(ty("duration"), T::Time { fsp: 3 });
        assert_eq!(ty("attrs"), T::Json);
        assert_eq!(ty("created_at"), T::DateTime { fsp: 0 });
        assert_eq!(ty("updated_at"), T::Timestamp { fsp: 6 });
        assert_eq!(ty("select"), T::VarChar { length: 10 });
        assert_eq!(ty("名字"), T::VarChar { length: 20 });
        assert_eq!(
            db.tables["event_log"].column("at").map(|c| c.ty.clone()),
            Some(T::DateTime { fsp: 3 })
        );
    }

    #[test]
    fn nullability_defaults_and_keys() {
        let (db, _) = parse(DUMP);
        let v = &db.tables["vehicle"];
        let id = v.column("id").expect("id");
        assert!(!id.nullable && id.unsigned && id.auto_increment && id.has_default);
        let type_id = v.column("vehicle_type_id").expect("column");
        assert!(type_id.nullable && type_id.has_default);
        let plate = v.column("plate").expect("column");
        assert!(!plate.nullable && !plate.has_default);
        assert!(
            v.column("small")
                .is_some_and(|c| !c.unsigned && c.has_default)
        );
        assert!(v.column("note").is_some_and(|c| c.nullable));
        assert_eq!(v.primary_key, ["id"]);
        assert_eq!(
            db.tables["relation_captain_vehicle"].primary_key,
            ["captain_id", "vehicle_id"]
        );
        assert_eq!(db.tables["event_log"].primary_key, Vec::<String>::new());
    }

    #[test]
    fn spans_point_into_the_file() {
        let (db, _) = parse(DUMP);
        let v = &db.tables["vehicle"];
        assert_eq!(slice(DUMP, v.span), "`vehicle`");
        assert!(slice(DUMP, v.definition).starts_with("CREATE TABLE `vehicle` ("));
        assert!(slice(DUMP, v.definition).ends_with("COLLATE=utf8mb4_unicode_ci"));
        // A column after a multi-byte character on an earlier line, and one with multi-byte
        // characters itself.
        let name = v.column("名字").expect("column");
        assert_eq!(slice(DUMP, name.span), "`名字`");
        let select = v.column("select").expect("column");
        assert_eq!(slice(DUMP, select.span), "`select`");
        let mut map = SourceMap::new();
        let f = map.add("pipelines/schema/shop.sql", DUMP.to_string());
        let loc = map.location(Span {
            file: f,
            ..v.column("price").expect("column").span
        });
        let line = DUMP[..v.column("price").expect("column").span.start as usize]
            .lines()
            .count();
        assert_eq!(loc, format!("pipelines/schema/shop.sql:{line}:3"));
    }

    #[test]
    fn unusual_but_valid_definitions() {
        let text = "\
CREATE TABLE `p` (
  `id` int(10) unsigned zerofill NOT NULL PRIMARY KEY,
  `dz` decimal(10,0) unsigned zerofill DEFAULT NULL,
  `c` varchar(10) /*M!100301 COMPRESSED*/ DEFAULT NULL,
  `inv` int DEFAULT NULL /*!80023 INVISIBLE */,
  `d` dec(4,1), `n` numeric(5), `r` real, `b` bool, `f` float(30), `y` year,
  `g` point DEFAULT NULL, `u` uuid
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT 'parts' /*!80016 DEFAULT ENCRYPTION='N' */
/*!50100 PARTITION BY HASH (`id`) PARTITIONS 4 */;
CREATE TABLE IF NOT EXISTS shop.sv (`id` int NOT NULL, UNIQUE KEY (`id`)) WITH SYSTEM VERSIONING;
";
        let (db, diags) = parse(text);
        assert_eq!(diags, vec![]);
        let p = &db.tables["p"];
        assert_eq!(p.comment.as_deref(), Some("parts"));
        assert_eq!(p.primary_key, ["id"]);
        let ty = |n: &str| p.column(n).map(|c| c.ty.clone()).expect("column");
        assert_eq!(
            ty("dz"),
            ColumnType::Decimal {
                precision: 10,
                scale: 0
            }
        );
        assert!(p.column("dz").is_some_and(|c| c.unsigned));
        assert_eq!(
            ty("d"),
            ColumnType::Decimal {
                precision: 4,
                scale: 1
            }
        );
        assert_eq!(
            ty("n"),
            ColumnType::Decimal {
                precision: 5,
                scale: 0
            }
        );
        assert_eq!(ty("r"), ColumnType::Double);
        assert!(ty("b").is_bool_like());
        assert_eq!(ty("f"), ColumnType::Double);
        assert_eq!(ty("y"), ColumnType::Year);
        assert_eq!(
            ty("g"),
            ColumnType::Unsupported {
                name: "POINT".into()
            }
        );
        assert!(!ty("u").is_supported());
        assert_eq!(db.tables["sv"].unique_keys, vec![vec!["id".to_string()]]);
    }

    #[test]
    fn syntax_errors_are_located_and_other_tables_still_load() {
        let text = "\
CREATE TABLE `a` (`id` int NOT NULL, PRIMARY KEY (`id`));
CREATE TABLE `b` (
  `id` int NOT NULL,
  `x` varchar(10) NOT NULL DEFAULT 'q' BOGUS,
  PRIMARY KEY (`id`)
);
CREATE TABLE `c` (`id` int NOT NULL, `v` varchar(3) DEFAULT 'it''s;', PRIMARY KEY (`id`));
CREATE TABLE `d` (`id` int NOT NULL,, PRIMARY KEY (`id`));
";
        let (db, diags) = parse(text);
        assert_eq!(db.tables.keys().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(diags.len(), 2, "{diags:#?}");
        assert!(diags.iter().all(|d| d.code == codes::DDL_SYNTAX));
        let mut map = SourceMap::new();
        let f = map.add("shop.sql", text.to_string());
        let first = diags[0].primary_span().expect("span");
        assert_eq!(map.location(Span { file: f, ..first }), "shop.sql:4:40");
        assert_eq!(slice(text, first), "BOGUS");
        let second = diags[1].primary_span().expect("span");
        assert_eq!(map.location(Span { file: f, ..second }), "shop.sql:8:37");
    }

    #[test]
    fn duplicate_tables_and_bad_keys_are_reported() {
        let text = "CREATE TABLE t (id int);\nCREATE TABLE t (id int);\n\
                    CREATE TABLE k (id int, PRIMARY KEY (nope));";
        let (db, diags) = parse(text);
        assert_eq!(db.tables.len(), 2);
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "table `t` is declared twice",
                "primary key of `k` names unknown column `nope`"
            ]
        );
    }

    #[test]
    fn unterminated_string_is_reported() {
        let (_, diags) =
            parse("CREATE TABLE t (id int);\nCREATE TABLE u (c varchar(3) DEFAULT 'x);");
        assert!(
            diags
                .iter()
                .any(|d| d.message == "unterminated string in schema file")
        );
    }

    #[test]
    fn loads_named_databases_through_the_loader() {
        let loader = MemLoader::new()
            .with(
                "pipelines/schema/shop.sql",
                "CREATE TABLE orders (id int PRIMARY KEY);",
            )
            .with(
                "pipelines/schema/crm.sql",
                "CREATE TABLE users (id int PRIMARY KEY);",
            );
        let mut map = SourceMap::new();
        let mut diags = Diagnostics::new();
        let schema = load_schema(
            &loader,
            Path::new("pipelines/schema"),
            ["shop", "crm", "shop", "missing"],
            &mut map,
            &mut diags,
        );
        assert_eq!(diags.finish(), vec![]);
        assert_eq!(schema.databases.keys().collect::<Vec<_>>(), ["crm", "shop"]);
        let orders = schema.table("shop", "orders").expect("table");
        assert_eq!(map.location(orders.span), "pipelines/schema/shop.sql:1:14");
        assert!(schema.database("missing").is_none());
        assert_eq!(schema.suggest_database("shoq"), Some("shop"));
        let d = schema
            .database("shop")
            .expect("db")
            .unknown_table("order", orders.span);
        assert_eq!(d.help.as_deref(), Some("did you mean `orders`?"));
    }
}
