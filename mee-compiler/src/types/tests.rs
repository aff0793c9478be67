//! Field types and nullability over a small schema that has one column of each interesting kind.

use super::*;
use crate::diag::{Diagnostic, Diagnostics};
use crate::source::{MemLoader, SourceMap};
use std::path::Path;

const DDL: &str = "CREATE TABLE `m` (
  `id` int NOT NULL,
  `n` int DEFAULT NULL,
  `big` bigint unsigned NOT NULL,
  `price` decimal(12,2) NOT NULL,
  `rate` decimal(10,4) DEFAULT NULL,
  `ratio` double NOT NULL,
  `name` varchar(10) NOT NULL,
  `born` date DEFAULT NULL,
  `at` datetime NOT NULL,
  PRIMARY KEY (`id`)
);
CREATE TABLE `s` (
  `id` int NOT NULL,
  `m_id` int NOT NULL,
  `title` text,
  `qty` int NOT NULL,
  PRIMARY KEY (`id`)
);
";

/// Compiles a pipeline whose master `m` maps `master` and whose slave `s` (one row per `m`)
/// maps `slave`; returns the compiled pipeline and the rendered warnings.
fn compile(master: &str, slave: &str) -> (CompiledPipeline, Vec<String>) {
    let yaml = format!(
        "idx:\n  doc:\n    - key: m\n      database: d\n      table: m\n      document_id: \"%id\"\n      statement: \"select * from m where id > %__last.id:(0)\"\n      mapping: {master}\n    - key: s\n      database: d\n      table: s\n      statement: \"select * from s where m_id = %__master.id\"\n      query: {{id: \"%m_id\"}}\n      mapping: {slave}\n"
    );
    let loader = MemLoader::new()
        .with("schema/d.sql", DDL)
        .with("p.yml", yaml);
    let mut map = SourceMap::new();
    let mut diags = Diagnostics::new();
    let c = crate::check_pipeline(
        &loader,
        Path::new("p.yml"),
        Path::new("schema"),
        &mut map,
        &mut diags,
    )
    .expect("pipeline loads");
    check_null_values(&c, &mut diags);
    let ds = diags.finish();
    let errors: Vec<&Diagnostic> = ds.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let warnings = ds
        .iter()
        .map(|d| {
            let at = d
                .primary_span()
                .map(|s| map.location(s))
                .unwrap_or_default();
            format!("{} {at} {}", d.code.as_str(), d.message)
        })
        .collect();
    (c, warnings)
}

/// `es_field: type, nullable` for every field of the top-level document.
fn fields(master: &str, slave: &str) -> Vec<String> {
    let (c, _) = compile(master, slave);
    list_fields(&c, 0)
        .iter()
        .map(|f| {
            let mut s = format!("{}: {}", f.es_field, f.ty.describe());
            if f.null.nullable() {
                s.push_str(" null");
            }
            if !f.null.fails_on_null.is_empty() {
                s.push_str(&format!(" fails on {}", f.null.fails_on_null.join(",")));
            }
            s
        })
        .collect()
}

#[test]
fn columns_keep_their_type_and_nullability() {
    assert_eq!(
        fields("[id, n, price, name, born, at]", "[title, qty]"),
        [
            "id: INT",
            "n: INT null",
            "price: DECIMAL(12,2)",
            "name: VARCHAR(10)",
            "born: DATE null",
            "at: DATETIME",
            // A slave may have no row, so even its NOT NULL columns can be null.
            "title: TEXT null",
            "qty: INT null",
        ]
    );
}

#[test]
fn signs_and_abs_keep_the_column_type_and_fail_on_null() {
    assert_eq!(
        fields(
            "[{db_field: -big, es_field: a}, {db_field: +n, es_field: b}, {db_field: \"abs(n)\", es_field: c}]",
            "[]"
        ),
        [
            "a: BIGINT UNSIGNED",
            "b: INT fails on `n`",
            "c: INT fails on `n`",
        ]
    );
}

#[test]
fn sum_widens_integer_to_decimal_to_float() {
    assert_eq!(
        fields(
            "[{db_field: \"sum(id, big)\", es_field: a}, {db_field: \"sum(id, price, rate)\", es_field: b}, {db_field: \"sum(price, ratio)\", es_field: c}, {db_field: \"sum()\", es_field: d}, {db_field: \"sum(id, echo(1.5))\", es_field: e}]",
            "[]"
        ),
        [
            "a: integer",
            "b: decimal (scale 4) fails on `rate`",
            "c: float",
            "d: integer",
            "e: float",
        ]
    );
}

#[test]
fn min_and_max_ignore_nulls_unless_all_are_null() {
    assert_eq!(
        fields(
            "[{db_field: \"min(id, n)\", es_field: a}, {db_field: \"max(n, n)\", es_field: b}, {db_field: \"max(id, price)\", es_field: c}, {db_field: \"sum(min(n, sum(id, rate)), -n)\", es_field: d}]",
            "[]"
        ),
        [
            "a: INT",
            "b: INT null",
            "c: decimal (scale 2)",
            "d: decimal (scale 4) fails on `rate`,`n`",
        ]
    );
}

#[test]
fn literals_dates_and_empty_expressions() {
    assert_eq!(
        fields(
            "[{db_field: \"yesterday(born)\", es_field: a}, {db_field: \"echo('x, y')\", es_field: b}, {db_field: \"echo(3)\", es_field: c}, {db_field: \"echo(None)\", es_field: d}, {db_field: \"echo(True)\", es_field: e}, {db_field: \"echo((1, 2))\", es_field: f}]",
            "[]"
        ),
        [
            "a: datetime fails on `born`",
            "b: string",
            "c: integer",
            "d: null null",
            "e: boolean",
            "f: JSON literal",
        ]
    );
}

#[test]
fn execute_sql_is_typed_from_aggregates_only() {
    let (c, _) = compile(
        "[id]",
        "[{db_field: \"executeSQL(echo('select count(*) from s where m_id=%s'), m_id)\", es_field: a}, {db_field: \"executeSQL(echo('select max(qty) from s where m_id=%s'), m_id)\", es_field: b}, {db_field: \"executeSQL(echo('select sum(qty) from s where m_id=%s'), m_id)\", es_field: c}, {db_field: \"executeSQL(echo('select title from s where m_id=%s'), m_id)\", es_field: d}, {db_field: \"executeSQL(echo('select count(*) from s group by m_id'))\", es_field: e}, {db_field: \"executeSQL(echo('select count(*) from s where m_id=%s'), m_id)\", es_field: f, null_value: 0}]",
    );
    let f = list_fields(&c, 0);
    let get = |name: &str| f.iter().find(|f| f.es_field == name).expect("field exists");
    assert_eq!(get("a").ty, FieldType::Number(NumKind::Integer));
    assert!(
        !get("a").null.value_may_be_null,
        "count(*) always has a row"
    );
    assert!(get("a").null.nullable(), "the slave may have no row");
    assert!(matches!(
        get("b").ty,
        FieldType::Column(ColumnType::Integer { .. })
    ));
    assert!(get("b").null.value_may_be_null);
    assert_eq!(
        get("c").ty,
        FieldType::Number(NumKind::Decimal { scale: 0 })
    );
    assert!(matches!(get("d").ty, FieldType::Dynamic { .. }));
    assert!(matches!(get("e").ty, FieldType::Dynamic { .. }));
    assert!(!get("f").null.nullable());
    assert!(get("f").null.uses_null_value());
}

#[test]
fn null_value_of_another_json_type_is_a_warning() {
    let (_, warnings) = compile(
        "[id, {field: n, null_value: \"--\"}, {field: name, null_value: 0}, {field: born, null_value: \"1970-01-01\"}, {db_field: \"executeSQL(echo('select title from s'))\", es_field: dyn, null_value: 0}]",
        "[{field: qty, null_value: -1}, {field: title, null_value: false}]",
    );
    assert_eq!(
        warnings,
        [
            "W0701 p.yml:8:44 `null_value` of `n` is a string but the field holds a number",
            "W0701 p.yml:8:77 `null_value` of `name` is a number but the field holds a string",
            "W0701 p.yml:14:74 `null_value` of `title` is a boolean but the field holds a string",
        ]
    );
}

#[test]
fn nested_fields_are_arrays_of_objects() {
    let yaml_slave = "[{db_field: id, es_field: s_id}, {db_field: [{key: e, database: d, table: s, document_id: \"%id\", statement: \"select * from s where id > %__last.id:(0) and m_id = %__parent.id\", mapping: [qty]}], es_field: elems, type: nested}]";
    let (c, _) = compile("[id]", yaml_slave);
    let f = list_fields(&c, 0);
    let FieldType::Nested { fields, .. } = &f[2].ty else {
        panic!("{f:#?}");
    };
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].es_field, "qty");
    assert!(
        !fields[0].null.nullable(),
        "the nested master always has its row"
    );
    assert!(
        f[2].null.nullable(),
        "the slave holding the array may have no row"
    );
}
