//! The type of every document field, worked out from the DDL and the db_field expressions.
//!
//! One answer serves three readers: the Elasticsearch mapping ([`crate::mapping`]), the generated
//! documentation ([`crate::docs`]) and the code generator. Keeping it in one place means the three
//! can never disagree about what a field holds.
//!
//! The rules follow the runtime's semantics (`mee_runtime::eval`), which follow Mee (reference
//! §2.3, §2.4):
//!
//! - a plain column, `+col`, `-col` and `abs(col)` keep the column's type;
//! - `sum` is an integer when every argument is, a float when any argument is, and otherwise an
//!   exact decimal with the largest scale of its arguments;
//! - `min`/`max` keep a column type shared by all arguments, else the common numeric kind;
//! - `yesterday` is a datetime, `echo(literal)` the literal's type;
//! - `executeSQL` is known only for aggregates without `GROUP BY` (`count(*)` is an integer),
//!   otherwise it is dynamic: the mapping leaves such fields to Elasticsearch.
//!
//! Nullability has three sources: the expression (a nullable column, `echo(None)`, an
//! `executeSQL` that returns no row, `min`/`max` over all-null arguments), a slave item without a
//! row, and nothing else: `null_value` replaces both. Strict functions (`sum`, `abs`, `yesterday`,
//! signs) never return null: a null argument makes the document fail to build, and the docs say
//! which columns can cause that.

use crate::CompiledPipeline;
use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::expr::dbfield::{Expr, Func};
use crate::expr::literal::Literal;
use crate::model::{EntryValue, ItemId, ListId, Role};
use crate::sql::schema::{ColumnType, Schema, Table};
use serde_json::Value as Json;

/// The kind of number an arithmetic expression produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumKind {
    Integer,
    /// An exact decimal with this many digits after the point.
    Decimal {
        scale: u8,
    },
    Float,
}

impl NumKind {
    /// The kind of `a + b`, as the runtime (and Python) computes it.
    fn combine(self, other: NumKind) -> NumKind {
        match (self, other) {
            (NumKind::Float, _) | (_, NumKind::Float) => NumKind::Float,
            (NumKind::Decimal { scale: a }, NumKind::Decimal { scale: b }) => {
                NumKind::Decimal { scale: a.max(b) }
            }
            (NumKind::Decimal { scale }, NumKind::Integer)
            | (NumKind::Integer, NumKind::Decimal { scale }) => NumKind::Decimal { scale },
            (NumKind::Integer, NumKind::Integer) => NumKind::Integer,
        }
    }

    fn of_column(ty: &ColumnType) -> Option<NumKind> {
        Some(match ty {
            ColumnType::Integer { .. } | ColumnType::Bit { .. } | ColumnType::Year => {
                NumKind::Integer
            }
            ColumnType::Decimal { scale, .. } => NumKind::Decimal { scale: *scale },
            ColumnType::Float | ColumnType::Double => NumKind::Float,
            _ => return None,
        })
    }
}

/// What a document field holds.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    /// Values of exactly this column type: a plain column, or a sign, `abs`, `min` or `max` that
    /// keeps it.
    Column(ColumnType),
    /// A number computed by a function (`sum`, mixed `min`/`max`, an `executeSQL` aggregate) or a
    /// numeric `echo` literal.
    Number(NumKind),
    /// An `echo(True)`/`echo(False)` literal.
    Bool,
    /// An `echo('...')` literal.
    Text,
    /// The result of `yesterday(...)`.
    DateTime,
    /// An `echo` list, tuple or dict literal.
    Structured,
    /// Always null: the empty expression or `echo(None)`.
    Null,
    /// Known only at run time; `reason` says why, for the docs.
    Dynamic { reason: String },
    /// `type: nested`: an array of objects with these fields.
    Nested { list: ListId, fields: Vec<Field> },
}

/// The JSON type a value has in the document's `_source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonKind {
    pub fn of(value: &Json) -> JsonKind {
        match value {
            Json::Null => JsonKind::Null,
            Json::Bool(_) => JsonKind::Bool,
            Json::Number(_) => JsonKind::Number,
            Json::String(_) => JsonKind::String,
            Json::Array(_) => JsonKind::Array,
            Json::Object(_) => JsonKind::Object,
        }
    }

    /// With an article, for messages: "a number".
    pub fn describe(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
        }
    }
}

impl FieldType {
    /// The JSON type of the field's non-null values; `None` when it is not known before run time.
    ///
    /// Dates, times and binary values are strings in JSON; decimals are numbers (Mee writes them
    /// as numbers, and Elasticsearch parses them into the mapped numeric type).
    pub fn json_kind(&self) -> Option<JsonKind> {
        Some(match self {
            FieldType::Column(ty) if ty.is_numeric() => JsonKind::Number,
            FieldType::Column(ColumnType::Unsupported { .. }) => return None,
            FieldType::Column(_) => JsonKind::String,
            FieldType::Number(_) => JsonKind::Number,
            FieldType::Bool => JsonKind::Bool,
            FieldType::Text | FieldType::DateTime => JsonKind::String,
            FieldType::Structured | FieldType::Dynamic { .. } => return None,
            FieldType::Null => JsonKind::Null,
            FieldType::Nested { .. } => JsonKind::Array,
        })
    }

    /// A short human description, e.g. `VARCHAR(64)`, `integer`, `array of objects`.
    pub fn describe(&self) -> String {
        match self {
            FieldType::Column(ty) => ty.to_string(),
            FieldType::Number(NumKind::Integer) => "integer".to_string(),
            FieldType::Number(NumKind::Decimal { scale }) => format!("decimal (scale {scale})"),
            FieldType::Number(NumKind::Float) => "float".to_string(),
            FieldType::Bool => "boolean".to_string(),
            FieldType::Text => "string".to_string(),
            FieldType::DateTime => "datetime".to_string(),
            FieldType::Structured => "JSON literal".to_string(),
            FieldType::Null => "null".to_string(),
            FieldType::Dynamic { .. } => "dynamic".to_string(),
            FieldType::Nested { .. } => "array of objects".to_string(),
        }
    }

    fn num_kind(&self) -> Option<NumKind> {
        match self {
            FieldType::Column(ty) => NumKind::of_column(ty),
            FieldType::Number(k) => Some(*k),
            // Python's `True + 1` is 2: booleans are integers to arithmetic.
            FieldType::Bool => Some(NumKind::Integer),
            _ => None,
        }
    }
}

/// When a field can be null, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Nullability {
    /// The expression itself can evaluate to null while the item has a row.
    pub value_may_be_null: bool,
    /// What makes the value null, for the docs: noun phrases (`` `col` ``, the `executeSQL`
    /// result) that read well before "is NULL", in order of appearance.
    pub null_sources: Vec<String>,
    /// The item is a slave, so a document may have no row for it (the field is then
    /// `null_value`, and the expression is not evaluated).
    pub row_may_be_missing: bool,
    /// Nullable columns whose NULL makes the expression fail (strict functions and signs): the
    /// document then cannot be built and goes to the retry table.
    pub fails_on_null: Vec<String>,
    /// The entry's `null_value` (JSON `null` when not written). Not applied to nested entries.
    pub null_value: Json,
}

impl Nullability {
    /// The field can be JSON `null` in a document.
    pub fn nullable(&self) -> bool {
        (self.value_may_be_null || self.row_may_be_missing) && self.null_value.is_null()
    }

    /// `null_value` is ever written: the field can be null before the replacement.
    pub fn uses_null_value(&self) -> bool {
        (self.value_may_be_null || self.row_may_be_missing) && !self.null_value.is_null()
    }
}

/// One field of a document (or of a nested array element).
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub es_field: String,
    pub item: ItemId,
    /// The index of the mapping entry in its item.
    pub entry: usize,
    pub ty: FieldType,
    pub null: Nullability,
}

/// The fields of the documents (or array elements) a list builds, in document order: items in
/// file order, entries in order.
pub fn list_fields(p: &CompiledPipeline, list: ListId) -> Vec<Field> {
    let mut out = Vec::new();
    for &item in &p.model.lists[list].items {
        for entry in 0..p.model.items[item].mapping.len() {
            out.push(field_type(p, item, entry));
        }
    }
    out
}

/// The type and nullability of mapping entry `entry` of item `item`.
pub fn field_type(p: &CompiledPipeline, item: ItemId, entry: usize) -> Field {
    let it = &p.model.items[item];
    let e = &it.mapping[entry];
    let row_may_be_missing = it.role == Role::Slave;
    let (ty, null) = match &e.value {
        EntryValue::Nested(list) => (
            FieldType::Nested {
                list: *list,
                fields: list_fields(p, *list),
            },
            // Nested arrays are `[]` when there are no elements; they are null only when the
            // item holding them has no row (reference §3.3), and `null_value` does not apply.
            Nullability {
                value_may_be_null: false,
                null_sources: Vec::new(),
                row_may_be_missing,
                fails_on_null: Vec::new(),
                null_value: Json::Null,
            },
        ),
        EntryValue::Expr { expr, .. } => {
            let cx = Cx {
                schema: &p.schema,
                database: &it.database.value,
                table: p.schema.table(&it.database.value, &it.table.value),
            };
            let t = cx.expr(expr);
            (
                t.ty,
                Nullability {
                    value_may_be_null: t.nullable,
                    null_sources: t.null_sources,
                    row_may_be_missing,
                    fails_on_null: t.fails_on_null,
                    null_value: e.null_value.clone(),
                },
            )
        }
    };
    Field {
        es_field: e.es_field.value.clone(),
        item,
        entry,
        ty,
        null,
    }
}

/// Warns about every `null_value` whose JSON type differs from its field's.
///
/// Reason: Elasticsearch maps a field once. A `null_value: "--"` on a numeric field is rejected
/// for every document that needs it (they land in the retry table), and a `null_value: 0` on a
/// text field silently mixes types in `_source`, which breaks clients that read it. The check is
/// a warning because Mee accepted any value and Elasticsearch coerces some combinations.
pub fn check_null_values(p: &CompiledPipeline, diags: &mut Diagnostics) {
    for (id, item) in p.model.items.iter().enumerate() {
        for (i, entry) in item.mapping.iter().enumerate() {
            let Some(span) = entry.null_value_span else {
                continue;
            };
            if entry.null_value.is_null() || matches!(entry.value, EntryValue::Nested(_)) {
                continue;
            }
            let field = field_type(p, id, i);
            let Some(kind) = field.ty.json_kind() else {
                continue;
            };
            let given = JsonKind::of(&entry.null_value);
            if kind == given || kind == JsonKind::Null {
                continue;
            }
            let example = match kind {
                JsonKind::Number => "`null_value: 0`",
                JsonKind::String => "`null_value: \"\"`",
                JsonKind::Bool => "`null_value: false`",
                _ => "a value of that type",
            };
            diags.push(
                Diagnostic::warning(
                    codes::NULL_VALUE_TYPE_MISMATCH,
                    format!(
                        "`null_value` of `{}` is {} but the field holds {}",
                        entry.es_field.value,
                        given.describe(),
                        kind.describe()
                    ),
                )
                .primary(span, format!("{} here", given.describe()))
                .secondary(
                    entry.es_field.span,
                    format!("{} ({})", kind.describe(), field.ty.describe()),
                )
                .help(format!(
                    "Elasticsearch maps a field to one type; write {example}, or remove `null_value` to keep null"
                )),
            );
        }
    }
}

/// The type of one expression.
struct ExprType {
    ty: FieldType,
    nullable: bool,
    null_sources: Vec<String>,
    fails_on_null: Vec<String>,
}

impl ExprType {
    fn new(ty: FieldType) -> Self {
        ExprType {
            ty,
            nullable: false,
            null_sources: Vec::new(),
            fails_on_null: Vec::new(),
        }
    }

    fn dynamic(reason: impl Into<String>) -> Self {
        ExprType::new(FieldType::Dynamic {
            reason: reason.into(),
        })
    }

    fn null_from(mut self, source: impl Into<String>) -> Self {
        self.nullable = true;
        self.null_sources.push(source.into());
        self
    }
}

/// What an expression is evaluated against: the item's table (`None` when it is unknown, which
/// was reported) and its database, for `executeSQL`.
struct Cx<'a> {
    schema: &'a Schema,
    database: &'a str,
    table: Option<&'a Table>,
}

impl Cx<'_> {
    fn expr(&self, e: &Expr) -> ExprType {
        match e {
            Expr::Empty => ExprType::new(FieldType::Null).null_from("the empty expression"),
            Expr::Column { name, .. } => self.column(name),
            Expr::Signed { column, .. } => {
                let mut t = self.column(column);
                // A sign over null is an error at run time, never a null value.
                strict(&mut t);
                if t.ty.num_kind().is_none() && !matches!(t.ty, FieldType::Dynamic { .. }) {
                    return ExprType::dynamic(format!("`{column}` is not numeric"));
                }
                t
            }
            Expr::Echo { literal, .. } => literal_type(literal),
            Expr::Call { func, args, .. } => match func {
                Some(f) => self.call(*f, args),
                None => ExprType::dynamic("unknown function"),
            },
        }
    }

    fn column(&self, name: &str) -> ExprType {
        let Some(col) = self.table.and_then(|t| t.column(name)) else {
            return ExprType::dynamic(format!("unknown column `{name}`"));
        };
        if !col.ty.is_supported() {
            return ExprType::dynamic(format!("`{}` has an unsupported type", col.name));
        }
        let t = ExprType::new(FieldType::Column(col.ty.clone()));
        if col.nullable {
            t.null_from(format!("`{}`", col.name))
        } else {
            t
        }
    }

    fn call(&self, f: Func, args: &[Expr]) -> ExprType {
        let mut typed: Vec<ExprType> = args.iter().map(|a| self.expr(a)).collect();
        match f {
            Func::Sum => {
                let mut kind = Some(NumKind::Integer);
                let mut out = ExprType::new(FieldType::Null);
                for t in &mut typed {
                    strict(t);
                    out.fails_on_null.append(&mut t.fails_on_null);
                    kind = match (kind, t.ty.num_kind()) {
                        (Some(a), Some(b)) => Some(a.combine(b)),
                        _ => None,
                    };
                }
                out.ty = match kind {
                    Some(k) => FieldType::Number(k),
                    None => FieldType::Dynamic {
                        reason: "`sum` over a value whose type is known only at run time".into(),
                    },
                };
                out
            }
            Func::Min | Func::Max => {
                let same_column = match typed.first().map(|t| &t.ty) {
                    Some(FieldType::Column(first)) => typed
                        .iter()
                        .all(|t| t.ty == FieldType::Column(first.clone()))
                        .then(|| first.clone()),
                    _ => None,
                };
                let kind = typed
                    .iter()
                    .map(|t| t.ty.num_kind())
                    .try_fold(None::<NumKind>, |acc, k| {
                        k.map(|k| Some(acc.map_or(k, |a: NumKind| a.combine(k))))
                    })
                    .flatten();
                // Nulls are ignored (Decision 1): the result is null only when every argument is.
                let nullable = !typed.is_empty() && typed.iter().all(|t| t.nullable);
                let mut out = ExprType::new(match (same_column, kind) {
                    (Some(ty), _) => FieldType::Column(ty),
                    (None, Some(k)) => FieldType::Number(k),
                    (None, None) => FieldType::Dynamic {
                        reason: format!("`{}` over values of different kinds", f.name()),
                    },
                });
                for t in &mut typed {
                    out.fails_on_null.append(&mut t.fails_on_null);
                    if nullable {
                        out.null_sources.append(&mut t.null_sources);
                    }
                }
                out.nullable = nullable;
                out
            }
            Func::Abs => {
                let Some(mut t) = typed.into_iter().next() else {
                    return ExprType::dynamic("`abs` without an argument");
                };
                strict(&mut t);
                t
            }
            Func::Yesterday => {
                let mut out = ExprType::new(FieldType::DateTime);
                for t in &mut typed {
                    strict(t);
                    out.fails_on_null.append(&mut t.fails_on_null);
                }
                out
            }
            // `echo` is parsed as `Expr::Echo`; a call only remains after a reported error.
            Func::Echo => ExprType::dynamic("invalid `echo`"),
            Func::ExecuteSql => {
                let mut out = self.execute_sql(args);
                // Null arguments bind as SQL NULL: they never make the call fail.
                for t in typed.iter_mut().skip(1) {
                    out.fails_on_null.append(&mut t.fails_on_null);
                }
                out
            }
        }
    }

    fn execute_sql(&self, args: &[Expr]) -> ExprType {
        let Some(Expr::Echo {
            literal: Literal::Str(sql),
            ..
        }) = args.first()
        else {
            return ExprType::dynamic("the SQL of `executeSQL` is not a string literal");
        };
        // `%s` markers become `?` so that sqlparser sees bound parameters; with no arguments the
        // SQL is sent verbatim (reference §2.3).
        let text = if args.len() > 1 {
            sql.replace("%s", "?")
        } else {
            sql.clone()
        };
        match sql_result_type(&text, self.schema, self.database) {
            Some(t) => t,
            None => ExprType::dynamic(
                "`executeSQL` returns the first column of its rows (one value, or an array for several rows)",
            ),
        }
    }
}

/// A strict function or sign: a null argument is an error, so the nullable sources of the argument
/// become failure causes and the value itself is never null.
fn strict(t: &mut ExprType) {
    if t.nullable {
        let sources = std::mem::take(&mut t.null_sources);
        t.fails_on_null.extend(sources);
        t.nullable = false;
    }
}

fn literal_type(l: &Literal) -> ExprType {
    ExprType::new(match l {
        Literal::None => return ExprType::new(FieldType::Null).null_from("`echo(None)`"),
        Literal::Bool(_) => FieldType::Bool,
        Literal::Int(_) => FieldType::Number(NumKind::Integer),
        Literal::Float(_) => FieldType::Number(NumKind::Float),
        Literal::Str(_) => FieldType::Text,
        Literal::List(_) | Literal::Tuple(_) | Literal::Dict(_) => FieldType::Structured,
    })
}

/// The type of what an `executeSQL` query returns, when its SQL says: an aggregate over the
/// whole `WHERE` (no `GROUP BY`) returns exactly one row. `None` when it cannot be told.
fn sql_result_type(sql: &str, schema: &Schema, database: &str) -> Option<ExprType> {
    use sqlparser::ast::{
        Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, SelectItem,
        SetExpr, Statement, TableFactor,
    };
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    let statements = Parser::parse_sql(&MySqlDialect {}, sql).ok()?;
    let [Statement::Query(q)] = statements.as_slice() else {
        return None;
    };
    let SetExpr::Select(select) = &*q.body else {
        return None;
    };
    let grouped = match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
        GroupByExpr::All(_) => true,
    };
    if grouped {
        return None;
    }
    // The table the aggregate reads, to type `max(col)`.
    let table = match select.from.as_slice() {
        [one] if one.joins.is_empty() => match &one.relation {
            TableFactor::Table { name, .. } => {
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
                    .collect();
                match parts.as_slice() {
                    [t] => schema.table(database, t),
                    [d, t] => schema.table(d, t),
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    };
    let expr = match select.projection.first()? {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return None,
    };
    let SqlExpr::Function(f) = expr else {
        return None;
    };
    let name = f.name.to_string().to_ascii_lowercase();
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let arg_column = match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Identifier(i)))] => table
            .and_then(|t| t.column(&i.value))
            .filter(|c| c.ty.is_supported()),
        _ => None,
    };
    // `HAVING` can drop the single row, which makes even `count(*)` null.
    let mut t = match name.as_str() {
        "count" => ExprType::new(FieldType::Number(NumKind::Integer)),
        // MySQL sums exact numbers as DECIMAL and approximate ones as DOUBLE.
        "sum" => {
            let kind = NumKind::of_column(&arg_column?.ty)?;
            ExprType::new(FieldType::Number(match kind {
                NumKind::Float => NumKind::Float,
                NumKind::Integer => NumKind::Decimal { scale: 0 },
                d @ NumKind::Decimal { .. } => d,
            }))
            .null_from("the `executeSQL` result")
        }
        "min" | "max" => ExprType::new(FieldType::Column(arg_column?.ty.clone()))
            .null_from("the `executeSQL` result"),
        _ => return None,
    };
    if select.having.is_some() && !t.nullable {
        t = t.null_from("the `executeSQL` result");
    }
    Some(t)
}

#[cfg(test)]
mod tests;
