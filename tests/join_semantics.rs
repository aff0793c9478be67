//! Joins pair rows as MySQL pairs them (issue 10, items 1-3), judged against MySQL's own answer:
//! every expected value comes from a correlated subquery MySQL evaluates, never from mee's
//! document builder. The fixture (`tests/fixtures/joins.yml`) links text under
//! `utf8mb4_unicode_ci` (case, accents, trailing spaces) and `utf8mb4_bin`, by two columns at
//! once, an integer column to text, uses the master outside its link (`valid_from <=
//! %__master.created`), spells a link column in another case, and orders a joined item and a
//! nested list by something other than the primary key.

mod common;

use common::sync::{Doc, apply_binlog, documents};
use mee_runtime::verify::{NoVerifyProgress, VerifyOptions, verify};
use mee_testkit::{TestFailure, TestMysql, TestResult, fail};
use serde_json::{Value as Json, json};

mee::pipeline!("tests/fixtures/joins.yml");

const BASE: &str = "
INSERT INTO {j}.orders VALUES
  (1, 'DE ', 1, 10, '2024-03-01 00:00:00', '007', 'ABC'),
  (2, 'de', 1, 11, '2024-07-01 00:00:00', '7.0', 'abc '),
  (3, 'Fr', 2, 10, '2024-07-01 00:00:00', '70', 'abc'),
  (4, 'es', 2, 11, '2025-02-01 00:00:00', 'abc', 'zzz'),
  (5, 'xx', 1, 10, '2023-01-01 00:00:00', NULL, NULL),
  (6, NULL, 3, 12, '2024-01-01 00:00:00', '', '');
INSERT INTO {j}.countries VALUES (1, 'DE', 'Germany'), (2, 'fr', 'France'), (3, 'ÉS', 'Spain'),
  (4, 'de', 'Deutschland');
INSERT INTO {j}.stock VALUES (1, 1, 10, 5), (2, 1, 11, 6), (3, 2, 10, 7);
INSERT INTO {j}.prices VALUES (1, 10, '2024-01-01', 100), (2, 10, '2024-06-01', 150),
  (3, 11, '2024-01-01', 200), (4, 11, '2025-01-01', 250);
INSERT INTO {j}.events VALUES (1, 1, '2024-01-02', 'created'), (2, 1, '2024-01-05', 'paid'),
  (3, 1, '2024-01-03', 'picked'), (4, 2, '2024-01-01', 'created');
INSERT INTO {j}.codes VALUES (1, 7, 'seven'), (2, 70, 'seventy');
INSERT INTO {j}.bins VALUES (1, 'abc', 1), (2, 'ABC', 2);
INSERT INTO {j}.tags VALUES (1, 1, 1, 'a'), (2, 1, 3, 'b'), (3, 1, 2, 'c'), (4, 2, 1, 'x');
";

/// What MySQL answers for each document: the fixture's statements as correlated subqueries
/// (each item's first row in the statement's order; ties by primary key), and the nested
/// labels in the nested statement's order.
async fn mysql_answer(mysql: &mut TestMysql) -> TestResult<Vec<(String, Json)>> {
    let j = mysql.db("j").to_string();
    let sql = "SELECT o.id,
        (SELECT c.name FROM {j}.countries c WHERE c.code = o.country_code ORDER BY c.id LIMIT 1),
        (SELECT s.qty FROM {j}.stock s WHERE s.warehouse_id = o.warehouse_id
            AND s.product_id = o.product_id ORDER BY s.id LIMIT 1),
        (SELECT p.price FROM {j}.prices p WHERE p.product_id = o.product_id
            AND p.valid_from <= o.created ORDER BY p.valid_from DESC, p.id LIMIT 1),
        (SELECT e.kind FROM {j}.events e WHERE e.order_id = o.id ORDER BY e.happened DESC, e.id LIMIT 1),
        (SELECT k.label FROM {j}.codes k WHERE k.num = o.ref_code ORDER BY k.id LIMIT 1),
        (SELECT b.v FROM {j}.bins b WHERE b.label = o.bin_ref ORDER BY b.id LIMIT 1),
        (SELECT GROUP_CONCAT(t.label ORDER BY t.position DESC, t.id SEPARATOR ',')
            FROM {j}.tags t WHERE t.order_id = o.id)
      FROM {j}.orders o ORDER BY o.id"
        .replace("{j}", &format!("`{j}`"));
    type Row = (
        u64,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = mysql.query(&sql).await?;
    Ok(rows
        .into_iter()
        .map(|(id, country, stock, price, event, code, bin, tags)| {
            let tags: Vec<Json> = tags
                .map(|t| t.split(',').map(|l| json!({ "label": l })).collect())
                .unwrap_or_default();
            let doc = json!({
                "country_name": country,
                "stock_qty": stock,
                "price": price,
                "last_event": event,
                "code_label": code,
                "bin_v": bin,
                "tags": tags,
            });
            (id.to_string(), doc)
        })
        .collect())
}

/// The joined fields of each document in the index, in the shape of [`mysql_answer`].
fn joined_fields(docs: &[Doc]) -> Vec<(String, Json)> {
    let mut out: Vec<(String, Json)> = docs
        .iter()
        .map(|d| {
            let s = &d.source;
            let doc = json!({
                "country_name": s["country_name"],
                "stock_qty": s["stock_qty"],
                "price": s["price"],
                "last_event": s["last_event"],
                "code_label": s["code_label"],
                "bin_v": s["bin_v"],
                "tags": s["tags"],
            });
            (d.id.clone(), doc)
        })
        .collect();
    out.sort_by_key(|(id, _)| id.parse::<u64>().unwrap_or(u64::MAX));
    out
}

fn compare(actual: &[(String, Json)], expected: &[(String, Json)], when: &str) -> TestResult {
    if actual == expected {
        return Ok(());
    }
    let mut report = format!("{when}: the index differs from MySQL's answer\n");
    for (a, e) in actual.iter().zip(expected) {
        if a != e {
            report.push_str(&format!(
                "  document {}:\n    index: {}\n    mysql: {}\n",
                a.0, a.1, e.1
            ));
        }
    }
    if actual.len() != expected.len() {
        report.push_str(&format!(
            "  {} documents in the index, {} rows in MySQL\n",
            actual.len(),
            expected.len()
        ));
    }
    Err(TestFailure::new(report))
}

async fn setup() -> TestResult<TestMysql> {
    let mut mysql = TestMysql::with_databases(&["j"]).await?;
    let j = mysql.db("j").to_string();
    let ddl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/schema/j.sql"
    ))?;
    mysql.exec(&format!("USE `{j}`; {ddl}")).await?;
    mysql.exec(&BASE.replace("{j}", &format!("`{j}`"))).await?;
    Ok(mysql)
}

#[tokio::test]
async fn full_update_and_sync_pair_rows_as_mysql_does() -> TestResult {
    let mut mysql = setup().await?;
    let expected = mysql_answer(&mut mysql).await?;
    // The fixture is only a test if MySQL's answers are the ones a byte-wise, first-link,
    // primary-key-ordered join would get wrong.
    assert_eq!(
        expected[0].1["country_name"],
        json!("Germany"),
        "'DE ' = 'DE'"
    );
    assert_eq!(
        expected[1].1["stock_qty"],
        json!(6),
        "both link columns count"
    );
    assert_eq!(
        expected[0].1["last_event"],
        json!("paid"),
        "the latest event"
    );
    assert_eq!(expected[1].1["code_label"], json!("seven"), "'7.0' = 7");
    assert_eq!(
        expected[1].1["bin_v"],
        json!(1),
        "'abc ' = 'abc' under utf8mb4_bin"
    );

    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let index = joins::INDEXES[0];
    let alias = test_es.name(index.alias());
    let report = common::update_into(index, &source, &es, &alias).await?;
    compare(
        &joined_fields(&documents(&es, &alias).await?),
        &expected,
        "after the full update",
    )?;

    // Changes on the joined side reach the documents MySQL pairs them with.
    let j = format!("`{}`", mysql.db("j"));
    mysql
        .exec(
            &"UPDATE {j}.countries SET name = 'Germany!' WHERE id = 1;
              UPDATE {j}.countries SET code = 'FR ' WHERE id = 2;
              INSERT INTO {j}.stock VALUES (4, 2, 11, 9);
              UPDATE {j}.events SET happened = '2024-01-10' WHERE id = 3;
              INSERT INTO {j}.prices VALUES (5, 10, '2024-02-01', 120);
              UPDATE {j}.codes SET label = 'SEVEN' WHERE id = 1;
              UPDATE {j}.bins SET v = 3 WHERE id = 1;
              UPDATE {j}.tags SET position = 9 WHERE id = 1;
              UPDATE {j}.orders SET country_code = 'És' WHERE id = 5;"
                .replace("{j}", &j),
        )
        .await?;
    let expected = mysql_answer(&mut mysql).await?;
    assert_eq!(expected[1].1["country_name"], json!("Germany!"));
    apply_binlog(
        &mysql,
        &source,
        index,
        &es,
        &report.snapshot,
        &alias,
        common::sync::EACH_TRANSACTION,
    )
    .await?
    .all_written()?;
    compare(
        &joined_fields(&documents(&es, &alias).await?),
        &expected,
        "after the sync",
    )?;
    // `mee verify` builds the documents again from MySQL and agrees with the synced index.
    let options = VerifyOptions {
        alias: Some(alias.clone()),
        recheck_delay: std::time::Duration::ZERO,
        ..VerifyOptions::default()
    };
    let report = verify(index, &source, &es, &options, &NoVerifyProgress)
        .await
        .map_err(fail)?;
    assert!(
        report.is_equal(),
        "mee verify found differences: {report:?}"
    );
    assert_eq!(report.built, expected.len() as u64);
    mysql.drop_databases().await
}
