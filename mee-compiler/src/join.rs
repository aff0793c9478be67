//! How each dependent item's rows are read for a page of documents, decided once for the
//! generated code and for `mee docs`.
//!
//! Mee ran a joined or nested item's statement once per document. mee reads a page at once and
//! pairs rows with documents in memory (`mee_runtime::join`), which is only right where the
//! in-memory pairing gives the rows MySQL would give. So an item is read in batches only when
//! every use of the row it depends on is an equality link (`col = %dep.col`), the statement
//! does not group rows (`GROUP BY`/`HAVING` would group several documents' rows together), and
//! each link compares two types whose equality mee reproduces ([`key_kind`], following MySQL's
//! comparison rules). Everything else runs row by row, exactly as written.

use crate::check::Link;
use crate::driver::CompiledPipeline;
use crate::model::Item;
use crate::sql::schema::ColumnType;
use crate::sql::statement::ConjunctKind;

/// How the two sides of one link are compared; mirrors `mee_runtime::join::KeyKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Integers of any width and signedness, binary strings.
    Exact,
    /// Exact numbers where one side is a `DECIMAL`.
    Decimal,
    /// Compared as double precision: a number against text, or a float.
    Double,
    /// Text under the collation of the item's column.
    Text,
    /// Dates and date-times (a `DATE` is the `DATETIME` at midnight), or two `TIME`s.
    Temporal,
}

/// How an item's rows are read for a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadPlan {
    /// One statement per page; `kinds[i]` compares `links[i]` of the item's statement.
    Batched { kinds: Vec<KeyKind> },
    /// The statement once per distinct set of arguments, for the reason given.
    RowByRow { reason: String },
}

/// The read plan of a dependent item; `None` for a master or an item whose statement failed.
pub fn read_plan(c: &CompiledPipeline, item: &Item) -> Option<ReadPlan> {
    let info = c.statements.get(item.id)?.as_ref()?;
    item.depends_on.as_ref()?;
    if !info.batchable {
        return Some(ReadPlan::RowByRow {
            reason: "the statement uses the row it depends on outside `column = %key.column` links"
                .into(),
        });
    }
    if info.analysis.has_grouping() {
        return Some(ReadPlan::RowByRow {
            reason: "the statement groups rows (`GROUP BY`/`HAVING`)".into(),
        });
    }
    let table = c.schema.table(&item.database.value, &item.table.value)?;
    let mut kinds = Vec::new();
    for link in &info.links {
        let column = table.column(&link.column)?;
        let dep = c.model.item(link.target);
        let dep_column = c
            .schema
            .table(&dep.database.value, &dep.table.value)?
            .column(&link.target_column)?;
        let quoted = link_param_quoted(info, link);
        let value = if quoted { None } else { Some(&dep_column.ty) };
        match key_kind(&column.ty, value) {
            Some(kind) => kinds.push(kind),
            None => {
                return Some(ReadPlan::RowByRow {
                    reason: format!(
                        "`{}` ({}) is compared with {} in a way mee does not pair in memory",
                        column.name,
                        column.type_text,
                        if quoted {
                            "quoted text".to_string()
                        } else {
                            format!(
                                "`{}.{}` ({})",
                                dep.key.value, dep_column.name, dep_column.type_text
                            )
                        }
                    ),
                });
            }
        }
    }
    if kinds.is_empty() {
        return None;
    }
    Some(ReadPlan::Batched { kinds })
}

/// Whether a link's placeholder is written inside quotes (`'%__parent.code'`): the value is
/// then text, whatever the dependency's column type.
pub fn link_param_quoted(info: &crate::check::StatementInfo, link: &Link) -> bool {
    match info.analysis.conjuncts.get(link.conjunct).map(|c| &c.kind) {
        Some(ConjunctKind::Link { param, .. }) => {
            info.analysis.params.get(*param).is_some_and(|p| p.quoted)
        }
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Int,
    Decimal,
    Float,
    Text,
    Enum,
    Binary,
    Date,
    Time,
    Other,
}

fn class(t: &ColumnType) -> Class {
    match t {
        ColumnType::Integer { .. } | ColumnType::Bit { .. } | ColumnType::Year => Class::Int,
        ColumnType::Decimal { .. } => Class::Decimal,
        ColumnType::Float | ColumnType::Double => Class::Float,
        ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Text(_) => Class::Text,
        ColumnType::Enum(_) | ColumnType::Set(_) => Class::Enum,
        ColumnType::Binary { .. } | ColumnType::VarBinary { .. } | ColumnType::Blob(_) => {
            Class::Binary
        }
        ColumnType::Date | ColumnType::DateTime { .. } | ColumnType::Timestamp { .. } => {
            Class::Date
        }
        ColumnType::Time { .. } => Class::Time,
        ColumnType::Json | ColumnType::Unsupported { .. } => Class::Other,
    }
}

/// How `column = value` compares, for a column of type `column` and a value from a column of
/// type `value` (`None`: a quoted placeholder, always text). `None` when mee does not
/// reproduce the comparison in memory, and the item is read row by row.
///
/// MySQL's rules (Type Conversion in Expression Evaluation): integers compare as integers;
/// with a `DECIMAL` and no float, as decimals; a float, or a number against a string, as
/// doubles; two strings under the column's collation (a literal adopts the column's); a
/// binary string byte for byte; temporal values as temporal values. An `ENUM` or `SET`
/// against a number compares its index, and `JSON` has its own rules: both are left to MySQL.
pub fn key_kind(column: &ColumnType, value: Option<&ColumnType>) -> Option<KeyKind> {
    use Class::*;
    let numeric = |c: Class| matches!(c, Int | Decimal | Float);
    let (c, v) = (class(column), value.map_or(Text, class));
    Some(match (c, v) {
        (Int, Int) => KeyKind::Exact,
        (Int | Decimal, Int | Decimal) => KeyKind::Decimal,
        (a, b) if numeric(a) && numeric(b) => KeyKind::Double,
        (Text | Enum, Text | Enum) => KeyKind::Text,
        (Text, b) if numeric(b) => KeyKind::Double,
        (a, Text) if numeric(a) => KeyKind::Double,
        (Binary, Binary | Text) => KeyKind::Exact,
        (Date, Date) | (Time, Time) => KeyKind::Temporal,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::schema::{IntWidth, LobSize};

    fn int() -> ColumnType {
        ColumnType::Integer {
            width: IntWidth::Big,
            unsigned: true,
            display_width: None,
        }
    }

    #[test]
    fn kinds_follow_mysql_comparison_rules() {
        let dec = ColumnType::Decimal {
            precision: 10,
            scale: 2,
        };
        let text = ColumnType::VarChar { length: 10 };
        assert_eq!(key_kind(&int(), Some(&int())), Some(KeyKind::Exact));
        assert_eq!(key_kind(&dec, Some(&int())), Some(KeyKind::Decimal));
        assert_eq!(
            key_kind(&int(), Some(&ColumnType::Double)),
            Some(KeyKind::Double)
        );
        assert_eq!(key_kind(&text, Some(&int())), Some(KeyKind::Double));
        // A quoted placeholder is text: against an integer column MySQL compares doubles.
        assert_eq!(key_kind(&int(), None), Some(KeyKind::Double));
        assert_eq!(key_kind(&text, None), Some(KeyKind::Text));
        assert_eq!(
            key_kind(
                &ColumnType::Text(LobSize::Tiny),
                Some(&ColumnType::Enum(vec![]))
            ),
            Some(KeyKind::Text)
        );
        assert_eq!(key_kind(&ColumnType::Enum(vec![]), Some(&int())), None);
        assert_eq!(
            key_kind(&ColumnType::Date, Some(&ColumnType::DateTime { fsp: 3 })),
            Some(KeyKind::Temporal)
        );
        assert_eq!(key_kind(&ColumnType::Json, Some(&text)), None);
        assert_eq!(
            key_kind(&text, Some(&ColumnType::Blob(LobSize::Tiny))),
            None
        );
    }
}
