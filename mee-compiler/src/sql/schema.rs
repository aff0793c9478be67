//! The table schemas mee compiles against, read from checked-in DDL (see [`super::ddl`]).
//!
//! Each type keeps the [`Span`] of its declaration so that a check that fails much later (an
//! unknown column in a mapping, a type that cannot be indexed) can point at the `.sql` file too.

use crate::diag::{Diagnostic, codes, nearest};
use crate::source::{FileId, Span};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::fmt;

/// Every database of a project: `pipelines/schema/<database>.sql`, keyed by database name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    pub databases: BTreeMap<String, Database>,
}

impl Schema {
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.get(name)
    }

    pub fn table(&self, database: &str, table: &str) -> Option<&Table> {
        self.database(database)?.table(table)
    }

    /// The closest database name, for "did you mean" help.
    pub fn suggest_database(&self, name: &str) -> Option<&str> {
        nearest(name, self.databases.keys().map(String::as_str))
    }

    /// `UNKNOWN_DATABASE` at `use_span`, with a suggestion and the file to add.
    pub fn unknown_database(&self, name: &str, use_span: Span) -> Diagnostic {
        let d = Diagnostic::error(
            codes::UNKNOWN_DATABASE,
            format!("unknown database `{name}`"),
        )
        .primary(use_span, "no schema file for this database")
        .note(format!(
            "mee reads table definitions from `pipelines/schema/{name}.sql` \
                 (`mysqldump --no-data {name}` output)"
        ));
        match self.suggest_database(name) {
            Some(best) => d.help(format!("did you mean `{best}`?")),
            None => d.help(format!(
                "add the schema with `mysqldump --no-data {name} > pipelines/schema/{name}.sql`"
            )),
        }
    }
}

/// One database: the tables of one schema file.
#[derive(Clone, Debug, PartialEq)]
pub struct Database {
    pub name: String,
    pub file: FileId,
    pub tables: BTreeMap<String, Table>,
}

impl Database {
    /// Looks a table up by its exact name. MySQL on Linux (`lower_case_table_names=0`) treats
    /// table names as case-sensitive, and binlog events carry the exact name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn suggest_table(&self, name: &str) -> Option<&str> {
        nearest(name, self.tables.keys().map(String::as_str))
    }

    /// `UNKNOWN_TABLE` at `use_span`, with a suggestion.
    pub fn unknown_table(&self, name: &str, use_span: Span) -> Diagnostic {
        let d = Diagnostic::error(
            codes::UNKNOWN_TABLE,
            format!("unknown table `{name}` in database `{}`", self.name),
        )
        .primary(use_span, "not declared in the schema file");
        match self.suggest_table(name) {
            Some(best) => d.help(format!("did you mean `{best}`?")),
            None => d.help(format!(
                "if the table is new, regenerate `pipelines/schema/{}.sql` with \
                 `mysqldump --no-data`",
                self.name
            )),
        }
    }
}

/// One `CREATE TABLE`.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    /// The table name in `CREATE TABLE <name>`.
    pub span: Span,
    /// The whole `CREATE TABLE` statement.
    pub definition: Span,
    /// In declaration order, which is the order of values in a binlog row image.
    pub columns: Vec<Column>,
    /// Primary key column names in key order; empty when the table has none.
    pub primary_key: Vec<String>,
    /// Every `UNIQUE` key, in declaration order.
    pub unique_keys: Vec<Vec<String>>,
    /// The table's `COMMENT='...'`, for generated documentation.
    pub comment: Option<String>,
}

impl Table {
    /// Looks a column up ignoring ASCII case: MySQL column names are case-insensitive.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.column_index(name).map(|i| &self.columns[i])
    }

    /// The position of a column (case-insensitive), which is its index in a binlog row image.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn suggest_column(&self, name: &str) -> Option<&str> {
        nearest(name, self.columns.iter().map(|c| c.name.as_str()))
    }

    /// `UNKNOWN_COLUMN` at `use_span`, pointing at the table's declaration too.
    pub fn unknown_column(&self, name: &str, use_span: Span) -> Diagnostic {
        let d = Diagnostic::error(
            codes::UNKNOWN_COLUMN,
            format!("unknown column `{name}` in table `{}`", self.name),
        )
        .primary(use_span, "no such column")
        .secondary(self.span, format!("table `{}` declared here", self.name));
        match self.suggest_column(name) {
            Some(best) => d.help(format!("did you mean `{best}`?")),
            None => d,
        }
    }

    /// The primary key columns, in key order.
    pub fn primary_key_columns(&self) -> impl Iterator<Item = &Column> {
        self.primary_key.iter().filter_map(|n| self.column(n))
    }

    /// The single primary key column that keyset paging walks (`id > ? ORDER BY id`).
    /// `MISSING_PRIMARY_KEY` or `COMPOSITE_PRIMARY_KEY` at `use_span` otherwise.
    pub fn paging_key(&self, use_span: Span) -> Result<&Column, Diagnostic> {
        match self.primary_key.as_slice() {
            [one] => self.column(one).ok_or_else(|| {
                // The DDL loader checks key columns, so this only guards hand-built tables.
                self.unknown_column(one, self.span)
            }),
            [] => Err(Diagnostic::error(
                codes::MISSING_PRIMARY_KEY,
                format!("table `{}` has no primary key", self.name),
            )
            .primary(use_span, "rows of this table must be identified")
            .secondary(self.span, "declared here without `PRIMARY KEY`")
            .help("mee pages through tables and finds changed rows by primary key; add one")),
            many => Err(Diagnostic::error(
                codes::COMPOSITE_PRIMARY_KEY,
                format!(
                    "table `{}` has a composite primary key ({})",
                    self.name,
                    many.iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .primary(use_span, "paging needs a single key column")
            .secondary(self.span, "declared here")
            .help("page this table by a single-column key, or add an auto-increment `id`")),
        }
    }
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    /// The column name in its definition.
    pub span: Span,
    pub ty: ColumnType,
    /// The type as written (normalised by sqlparser), e.g. `BIGINT(20) UNSIGNED`, for messages.
    pub type_text: String,
    /// False for `NOT NULL` columns and primary key columns.
    pub nullable: bool,
    /// `UNSIGNED` integers, decimals and floats.
    pub unsigned: bool,
    /// An explicit `DEFAULT`, `AUTO_INCREMENT` or a generated column: an insert may omit it.
    pub has_default: bool,
    pub auto_increment: bool,
    /// `GENERATED ALWAYS AS (...)` (`VIRTUAL` or `STORED`).
    pub generated: bool,
    pub comment: Option<String>,
}

impl Column {
    /// `UNSUPPORTED_COLUMN_TYPE` at `use_span` when mee cannot read this column's type.
    /// The DDL loader accepts every type, because a table may have columns a pipeline never
    /// reads; the check happens where a column is used.
    pub fn unsupported_type(&self, use_span: Span) -> Option<Diagnostic> {
        let ColumnType::Unsupported { name } = &self.ty else {
            return None;
        };
        Some(
            Diagnostic::error(
                codes::UNSUPPORTED_COLUMN_TYPE,
                format!(
                    "column `{}` has type `{name}`, which mee cannot read",
                    self.name
                ),
            )
            .primary(use_span, "used here")
            .secondary(self.span, format!("declared as `{}` here", self.type_text))
            .help(
                "map a different column, or convert it in MySQL (e.g. a generated \
                 `VARCHAR` column) and map that",
            ),
        )
    }
}

/// Integer widths, from `TINYINT` (1 byte) to `BIGINT` (8 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IntWidth {
    Tiny,
    Small,
    Medium,
    Int,
    Big,
}

impl IntWidth {
    pub fn bytes(self) -> u8 {
        match self {
            IntWidth::Tiny => 1,
            IntWidth::Small => 2,
            IntWidth::Medium => 3,
            IntWidth::Int => 4,
            IntWidth::Big => 8,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            IntWidth::Tiny => "TINYINT",
            IntWidth::Small => "SMALLINT",
            IntWidth::Medium => "MEDIUMINT",
            IntWidth::Int => "INT",
            IntWidth::Big => "BIGINT",
        }
    }
}

/// Sizes of `TEXT` and `BLOB` types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LobSize {
    Tiny,
    Regular,
    Medium,
    Long,
}

impl LobSize {
    fn prefix(self) -> &'static str {
        match self {
            LobSize::Tiny => "TINY",
            LobSize::Regular => "",
            LobSize::Medium => "MEDIUM",
            LobSize::Long => "LONG",
        }
    }
}

/// A MySQL/MariaDB column type, with aliases resolved the way the server resolves them
/// (`BOOL` is `TINYINT(1)`, `NUMERIC` is `DECIMAL`, `REAL` is `DOUBLE`, `INTEGER` is `INT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `display_width` is the `(n)` of `INT(11)`; only `TINYINT(1)` gives it a meaning (a
    /// boolean by convention, see [`ColumnType::is_bool_like`]).
    Integer {
        width: IntWidth,
        unsigned: bool,
        display_width: Option<u64>,
    },
    Decimal {
        precision: u8,
        scale: u8,
    },
    Float,
    Double,
    Bit {
        width: u8,
    },
    Char {
        length: u32,
    },
    VarChar {
        length: u32,
    },
    Text(LobSize),
    Binary {
        length: u32,
    },
    VarBinary {
        length: u32,
    },
    Blob(LobSize),
    Enum(Vec<String>),
    Set(Vec<String>),
    Date,
    DateTime {
        fsp: u8,
    },
    Timestamp {
        fsp: u8,
    },
    Time {
        fsp: u8,
    },
    Year,
    /// `JSON`; in MariaDB an alias of `LONGTEXT` with a `json_valid` check, recognised as well.
    Json,
    /// A type mee cannot read (spatial types, MariaDB `UUID`/`INET6`, ...), by its SQL name.
    Unsupported {
        name: String,
    },
}

/// The Rust type that generated row structs use for a column (nullable columns wrap it in
/// `Option`). Names match `mee_runtime::value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RustType {
    I64,
    U64,
    F64,
    /// Exact decimal text, e.g. `"12.50"`.
    Decimal,
    String,
    Bytes,
    Date,
    DateTime,
    Time,
}

impl RustType {
    pub fn as_str(self) -> &'static str {
        match self {
            RustType::I64 => "i64",
            RustType::U64 => "u64",
            RustType::F64 => "f64",
            RustType::Decimal => "Decimal",
            RustType::String => "String",
            RustType::Bytes => "Vec<u8>",
            RustType::Date => "Date",
            RustType::DateTime => "DateTime",
            RustType::Time => "Time",
        }
    }
}

/// The date formats mee writes and Elasticsearch must accept: ISO (`2018-01-01T00:00:00`, the
/// full-update format of Mee), the binlog text form (`2018-01-01 00:00:00`), plain dates, and
/// epoch milliseconds.
pub const ES_DATE_FORMAT: &str =
    "strict_date_optional_time||yyyy-MM-dd HH:mm:ss||yyyy-MM-dd||epoch_millis";

/// [`ES_DATE_FORMAT`] plus the six-digit fraction that `DATETIME(n)`/`TIMESTAMP(n)` values
/// carry in the binlog text form.
pub const ES_DATE_FORMAT_FRACTION: &str = "strict_date_optional_time||yyyy-MM-dd HH:mm:ss.SSSSSS\
    ||yyyy-MM-dd HH:mm:ss||yyyy-MM-dd||epoch_millis";

/// The most characters a `keyword` value may have and still be indexed: Lucene refuses a term
/// over 32766 bytes (and with it the whole document), and a character takes at most 4 bytes in
/// UTF-8. A `VARCHAR(n)` with `n` above it is mapped with `ignore_above` at this length.
pub const KEYWORD_IGNORE_ABOVE: u32 = 32766 / 4;

/// The Elasticsearch field type mee proposes for a column when it writes the index mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EsType {
    Long,
    /// `BIGINT UNSIGNED` and `BIT(64)`: up to 2^64-1, which `long` rejects.
    UnsignedLong,
    Float,
    Double,
    /// A decimal stored as a long of `value * scaling_factor`.
    ScaledFloat {
        scaling_factor: u64,
    },
    Keyword,
    /// A `keyword` whose values may be longer than Lucene's limit for one term (32766 bytes):
    /// values over [`KEYWORD_IGNORE_ABOVE`] characters are kept in `_source` but not indexed,
    /// instead of getting the whole document rejected.
    LongKeyword,
    /// Analysed text with a `keyword` sub-field for exact matches and sorting.
    Text,
    Date {
        format: &'static str,
    },
    Binary,
}

impl EsType {
    /// The mapping body of one field, e.g. `{"type": "long"}`.
    pub fn mapping(&self) -> Json {
        match self {
            EsType::Long => json!({ "type": "long" }),
            EsType::UnsignedLong => json!({ "type": "unsigned_long" }),
            EsType::Float => json!({ "type": "float" }),
            EsType::Double => json!({ "type": "double" }),
            EsType::ScaledFloat { scaling_factor } => {
                json!({ "type": "scaled_float", "scaling_factor": scaling_factor })
            }
            EsType::Keyword => json!({ "type": "keyword" }),
            EsType::LongKeyword => {
                json!({ "type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE })
            }
            EsType::Text => json!({
                "type": "text",
                "fields": { "keyword": { "type": "keyword", "ignore_above": 256 } }
            }),
            EsType::Date { format } => json!({ "type": "date", "format": format }),
            EsType::Binary => json!({ "type": "binary" }),
        }
    }
}

impl ColumnType {
    /// Integers, decimals, floats, `BIT` and `YEAR`: what arithmetic db_field functions accept.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            ColumnType::Integer { .. }
                | ColumnType::Decimal { .. }
                | ColumnType::Float
                | ColumnType::Double
                | ColumnType::Bit { .. }
                | ColumnType::Year
        )
    }

    /// Character data: `CHAR`, `VARCHAR`, `TEXT`s, `ENUM`, `SET`, `JSON`.
    pub fn is_text(&self) -> bool {
        matches!(
            self,
            ColumnType::Char { .. }
                | ColumnType::VarChar { .. }
                | ColumnType::Text(_)
                | ColumnType::Enum(_)
                | ColumnType::Set(_)
                | ColumnType::Json
        )
    }

    /// `DATE`, `DATETIME`, `TIMESTAMP` and `TIME`. `YEAR` is numeric, not temporal: MySQL
    /// returns it as a plain integer.
    pub fn is_temporal(&self) -> bool {
        matches!(
            self,
            ColumnType::Date
                | ColumnType::DateTime { .. }
                | ColumnType::Timestamp { .. }
                | ColumnType::Time { .. }
        )
    }

    pub fn is_binary(&self) -> bool {
        matches!(
            self,
            ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob(_)
        )
    }

    /// `TINYINT(1)`, the conventional MySQL boolean (`BOOL` and `BOOLEAN` are stored as it).
    pub fn is_bool_like(&self) -> bool {
        matches!(
            self,
            ColumnType::Integer {
                width: IntWidth::Tiny,
                display_width: Some(1),
                ..
            }
        )
    }

    pub fn is_supported(&self) -> bool {
        !matches!(self, ColumnType::Unsupported { .. })
    }

    /// The Rust type of a value of this column; `None` for unsupported types.
    ///
    /// Only `BIGINT UNSIGNED` needs `u64`; every narrower unsigned integer fits `i64`, and one
    /// signed type keeps generated code simple. `BIT(n)` is up to 64 bits, so `u64`.
    pub fn rust_type(&self) -> Option<RustType> {
        Some(match self {
            ColumnType::Integer {
                width: IntWidth::Big,
                unsigned: true,
                ..
            } => RustType::U64,
            ColumnType::Integer { .. } | ColumnType::Year => RustType::I64,
            ColumnType::Bit { .. } => RustType::U64,
            ColumnType::Decimal { .. } => RustType::Decimal,
            ColumnType::Float | ColumnType::Double => RustType::F64,
            ColumnType::Char { .. }
            | ColumnType::VarChar { .. }
            | ColumnType::Text(_)
            | ColumnType::Enum(_)
            | ColumnType::Set(_)
            | ColumnType::Json => RustType::String,
            ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob(_) => {
                RustType::Bytes
            }
            ColumnType::Date => RustType::Date,
            ColumnType::DateTime { .. } | ColumnType::Timestamp { .. } => RustType::DateTime,
            ColumnType::Time { .. } => RustType::Time,
            ColumnType::Unsupported { .. } => return None,
        })
    }

    /// The Elasticsearch type mee maps this column to; `None` for unsupported types.
    ///
    /// Decisions, each with its reason:
    /// - Every integer is `long`, including `TINYINT(1)` (Mee documents carry these as JSON
    ///   numbers; a boolean field would reject `0`/`1`), except `BIGINT UNSIGNED` and `BIT(64)`,
    ///   which are `unsigned_long` (Elasticsearch 7.10+, OpenSearch 2.8+): their values go up to
    ///   2^64-1, which `long` rejects, and ids above 2^63 are common (hashed and snowflake ids).
    ///   The document carries the exact integer; nothing passes through a float.
    /// - `DECIMAL(p,s)` is `scaled_float` with factor `10^s` when `p <= 15`: the value is
    ///   parsed as a double and every 15-digit decimal survives that exactly, so range queries
    ///   and aggregations see the exact value. `DECIMAL(p,0)` with `p <= 18` fits a `long`.
    ///   Wider decimals fall back to `double` (the `_source` keeps the exact text: documents
    ///   write the column's digits as they are, never through a float).
    /// - `CHAR`/`VARCHAR`/`ENUM`/`SET` are `keyword`: Mee's `query` turns into `term` filters,
    ///   which need exact, unanalysed values. A `VARCHAR` longer than [`KEYWORD_IGNORE_ABOVE`]
    ///   characters could exceed Lucene's term limit, so it gets `ignore_above` (a longer value
    ///   stays in `_source`, unindexed, and the document is accepted). `TEXT` types are `text` with a `keyword`
    ///   sub-field (`ignore_above: 256`), the same shape Elasticsearch's dynamic mapping gives
    ///   strings, so full-text search works and short values still match exactly.
    /// - `JSON` is `text`: MariaDB stores JSON as text and Mee writes it as a string.
    /// - Dates use [`ES_DATE_FORMAT`], which accepts both Mee's full-update (`T`) and binlog
    ///   (space) renderings. `TIME` is a duration, not a point in time, so `keyword`.
    /// - `YEAR` and `BIT` are integers to MySQL, so `long`.
    pub fn es_type(&self) -> Option<EsType> {
        Some(match self {
            ColumnType::Integer {
                width: IntWidth::Big,
                unsigned: true,
                ..
            }
            | ColumnType::Bit { width: 64 } => EsType::UnsignedLong,
            ColumnType::Integer { .. } | ColumnType::Bit { .. } | ColumnType::Year => EsType::Long,
            ColumnType::Decimal {
                precision,
                scale: 0,
            } if *precision <= 18 => EsType::Long,
            ColumnType::VarChar { length } if *length > KEYWORD_IGNORE_ABOVE => EsType::LongKeyword,
            ColumnType::Decimal { precision, scale } if *precision <= 15 => EsType::ScaledFloat {
                scaling_factor: 10u64.pow(u32::from(*scale)),
            },
            ColumnType::Decimal { .. } | ColumnType::Double => EsType::Double,
            ColumnType::Float => EsType::Float,
            ColumnType::Char { .. }
            | ColumnType::VarChar { .. }
            | ColumnType::Enum(_)
            | ColumnType::Set(_)
            | ColumnType::Time { .. } => EsType::Keyword,
            ColumnType::Text(_) | ColumnType::Json => EsType::Text,
            ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob(_) => {
                EsType::Binary
            }
            ColumnType::Date => EsType::Date {
                format: ES_DATE_FORMAT,
            },
            ColumnType::DateTime { fsp } | ColumnType::Timestamp { fsp } => EsType::Date {
                format: if *fsp > 0 {
                    ES_DATE_FORMAT_FRACTION
                } else {
                    ES_DATE_FORMAT
                },
            },
            ColumnType::Unsupported { .. } => return None,
        })
    }
}

impl fmt::Display for ColumnType {
    /// The canonical SQL spelling, e.g. `BIGINT UNSIGNED`, `DECIMAL(12,2)`, `VARCHAR(64)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |vals: &[String]| {
            vals.iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            ColumnType::Integer {
                width,
                unsigned,
                display_width,
            } => {
                f.write_str(width.sql())?;
                if let Some(w) = display_width {
                    write!(f, "({w})")?;
                }
                if *unsigned {
                    f.write_str(" UNSIGNED")?;
                }
                Ok(())
            }
            ColumnType::Decimal { precision, scale } => write!(f, "DECIMAL({precision},{scale})"),
            ColumnType::Float => f.write_str("FLOAT"),
            ColumnType::Double => f.write_str("DOUBLE"),
            ColumnType::Bit { width } => write!(f, "BIT({width})"),
            ColumnType::Char { length } => write!(f, "CHAR({length})"),
            ColumnType::VarChar { length } => write!(f, "VARCHAR({length})"),
            ColumnType::Text(size) => write!(f, "{}TEXT", size.prefix()),
            ColumnType::Binary { length } => write!(f, "BINARY({length})"),
            ColumnType::VarBinary { length } => write!(f, "VARBINARY({length})"),
            ColumnType::Blob(size) => write!(f, "{}BLOB", size.prefix()),
            ColumnType::Enum(v) => write!(f, "ENUM({})", list(v)),
            ColumnType::Set(v) => write!(f, "SET({})", list(v)),
            ColumnType::Date => f.write_str("DATE"),
            ColumnType::DateTime { fsp } => fsp_type(f, "DATETIME", *fsp),
            ColumnType::Timestamp { fsp } => fsp_type(f, "TIMESTAMP", *fsp),
            ColumnType::Time { fsp } => fsp_type(f, "TIME", *fsp),
            ColumnType::Year => f.write_str("YEAR"),
            ColumnType::Json => f.write_str("JSON"),
            ColumnType::Unsupported { name } => f.write_str(name),
        }
    }
}

fn fsp_type(f: &mut fmt::Formatter<'_>, name: &str, fsp: u8) -> fmt::Result {
    if fsp > 0 {
        write!(f, "{name}({fsp})")
    } else {
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span() -> Span {
        Span::new(FileId(0), 0, 1)
    }

    fn col(name: &str, ty: ColumnType) -> Column {
        Column {
            name: name.into(),
            span: span(),
            type_text: ty.to_string(),
            ty,
            nullable: false,
            unsigned: false,
            has_default: false,
            auto_increment: false,
            generated: false,
            comment: None,
        }
    }

    fn table(pk: &[&str]) -> Table {
        Table {
            name: "users".into(),
            span: span(),
            definition: span(),
            columns: vec![
                col(
                    "id",
                    ColumnType::Integer {
                        width: IntWidth::Int,
                        unsigned: false,
                        display_width: None,
                    },
                ),
                col(
                    "customer_id",
                    ColumnType::Integer {
                        width: IntWidth::Big,
                        unsigned: true,
                        display_width: None,
                    },
                ),
            ],
            primary_key: pk.iter().map(|s| s.to_string()).collect(),
            unique_keys: vec![],
            comment: None,
        }
    }

    #[test]
    fn columns_are_found_ignoring_case_with_suggestions() {
        let t = table(&["id"]);
        assert_eq!(t.column("ID").map(|c| c.name.as_str()), Some("id"));
        assert_eq!(t.column_index("Customer_Id"), Some(1));
        assert!(t.column("cust_id").is_none());
        let d = t.unknown_column("customer_di", span());
        assert_eq!(d.code, codes::UNKNOWN_COLUMN);
        assert_eq!(d.help.as_deref(), Some("did you mean `customer_id`?"));
    }

    #[test]
    fn paging_key_needs_exactly_one_column() {
        assert_eq!(
            table(&["id"]).paging_key(span()).map(|c| c.name.clone()),
            Ok("id".into())
        );
        let none = table(&[]).paging_key(span()).map(|c| c.name.clone());
        assert_eq!(none.map_err(|d| d.code), Err(codes::MISSING_PRIMARY_KEY));
        let two = table(&["id", "customer_id"])
            .paging_key(span())
            .map(|c| c.name.clone());
        assert_eq!(two.map_err(|d| d.code), Err(codes::COMPOSITE_PRIMARY_KEY));
    }

    #[test]
    fn type_hints() {
        let big_u = ColumnType::Integer {
            width: IntWidth::Big,
            unsigned: true,
            display_width: Some(20),
        };
        assert_eq!(big_u.rust_type(), Some(RustType::U64));
        assert_eq!(big_u.es_type(), Some(EsType::UnsignedLong));
        assert_eq!(big_u.to_string(), "BIGINT(20) UNSIGNED");
        let int_u = ColumnType::Integer {
            width: IntWidth::Int,
            unsigned: true,
            display_width: None,
        };
        assert_eq!(int_u.rust_type(), Some(RustType::I64));
        let flag = ColumnType::Integer {
            width: IntWidth::Tiny,
            unsigned: false,
            display_width: Some(1),
        };
        assert!(flag.is_bool_like());
        assert_eq!(flag.es_type(), Some(EsType::Long));

        let money = ColumnType::Decimal {
            precision: 12,
            scale: 2,
        };
        assert_eq!(money.rust_type(), Some(RustType::Decimal));
        assert_eq!(
            money.es_type(),
            Some(EsType::ScaledFloat {
                scaling_factor: 100
            })
        );
        assert_eq!(
            money.es_type().map(|t| t.mapping()),
            Some(json!({"type": "scaled_float", "scaling_factor": 100}))
        );
        assert_eq!(
            ColumnType::Decimal {
                precision: 18,
                scale: 0
            }
            .es_type(),
            Some(EsType::Long)
        );
        assert_eq!(
            ColumnType::Decimal {
                precision: 30,
                scale: 4
            }
            .es_type(),
            Some(EsType::Double)
        );

        assert_eq!(
            ColumnType::VarChar { length: 64 }.es_type(),
            Some(EsType::Keyword)
        );
        // Up to 8191 characters of at most 4 bytes stay under Lucene's 32766-byte term limit.
        assert_eq!(
            ColumnType::VarChar { length: 8191 }.es_type(),
            Some(EsType::Keyword)
        );
        assert_eq!(
            ColumnType::VarChar { length: 8192 }
                .es_type()
                .map(|t| t.mapping()),
            Some(json!({"type": "keyword", "ignore_above": 8191}))
        );
        assert_eq!(
            ColumnType::Bit { width: 64 }.es_type().map(|t| t.mapping()),
            Some(json!({"type": "unsigned_long"}))
        );
        assert_eq!(ColumnType::Bit { width: 63 }.es_type(), Some(EsType::Long));
        assert_eq!(
            ColumnType::Text(LobSize::Long).es_type(),
            Some(EsType::Text)
        );
        assert_eq!(ColumnType::Text(LobSize::Medium).to_string(), "MEDIUMTEXT");
        let dt = ColumnType::DateTime { fsp: 0 }
            .es_type()
            .map(|t| t.mapping());
        assert_eq!(dt, Some(json!({"type": "date", "format": ES_DATE_FORMAT})));
        assert_eq!(
            ColumnType::Timestamp { fsp: 6 }.es_type(),
            Some(EsType::Date {
                format: ES_DATE_FORMAT_FRACTION
            })
        );
        assert_eq!(
            ColumnType::Time { fsp: 3 }.rust_type(),
            Some(RustType::Time)
        );
        assert!(ColumnType::Year.is_numeric() && !ColumnType::Year.is_temporal());
        assert!(ColumnType::Json.is_text());
        assert!(ColumnType::Blob(LobSize::Tiny).is_binary());
        let odd = ColumnType::Unsupported {
            name: "POINT".into(),
        };
        assert_eq!((odd.rust_type(), odd.es_type()), (None, None));
        let c = col("g", odd);
        assert_eq!(
            c.unsupported_type(span()).map(|d| d.code),
            Some(codes::UNSUPPORTED_COLUMN_TYPE)
        );
        assert_eq!(
            ColumnType::Enum(vec!["a".into(), "it's".into()]).to_string(),
            "ENUM('a','it''s')"
        );
    }
}
