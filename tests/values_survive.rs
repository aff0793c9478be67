//! Values survive exactly (issue 10, item 4): BIGINT UNSIGNED up to 2^64-1, DECIMAL(65,30),
//! zero and invalid dates, text in latin1 (cp1252), cp1251, gbk and big5, a VARCHAR longer than a
//! keyword term may be, ENUM, SET, BIT, YEAR, TIME and JSON reach the index as the hand-written
//! documents below say, through a full update and through the binlog alike, and osmem accepts
//! every document. The expected documents are written by hand from what MySQL holds, never taken
//! from mee's own builder.

mod common;

use common::sync::{ONE_BATCH, apply_binlog, documents};
use mee_runtime::es::EsClient;
use mee_testkit::{TestEs, TestFailure, TestMysql, TestResult, fail};
use serde_json::{Value as Json, json};

mee::pipeline!("tests/fixtures/values.yml");

const U64_MAX: &str = "18446744073709551615";
const BIG_DEC: &str = "12345678901234567890123456789012345.123456789012345678901234567890";
const MID_DEC: &str = "12345678901234567890.0123456789";

/// The fixture's databases; the session allows zero and invalid dates and shows TIMESTAMPs in
/// UTC (as mee's sessions do).
async fn vals() -> TestResult<TestMysql> {
    let mut mysql = TestMysql::with_databases(&["vals"]).await?;
    let db = mysql.db("vals").to_string();
    let ddl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/schema/vals.sql"
    ))?;
    mysql
        .exec(&format!(
            "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; SET SESSION time_zone = '+00:00';
             USE `{db}`; {ddl}"
        ))
        .await?;
    Ok(mysql)
}

const ROWS: &str = "
    INSERT INTO cat VALUES ('€1', 'Euro cat'), ('b', 'B cat');
    INSERT INTO v VALUES
      (18446744073709551615, '12345678901234567890123456789012345.123456789012345678901234567890',
       '12345678901234567890.0123456789', 12.50, '0000-00-00', '0000-00-00 00:00:00', DEFAULT,
       '€ café', 'Привет', '你好', '中文', '€1', REPEAT('😀', 9000), 'medium', 'a,c',
       X'FFFFFFFFFFFFFFFF', b'101010101010', 2155, '-838:59:59', '{\"a\": [1, 2]}'),
      (9223372036854775808, '-0.000000000000000000000000000001', -1.5, 0, '2024-00-10',
       '2024-02-30 10:00:00', '2024-01-02 03:04:05', 'x', 'Мир', 'plain', NULL, 'b', 'short',
       'huge', '', b'0', NULL, 0, '838:59:59', '[]');
    INSERT INTO v (id) VALUES (1);";

/// The documents of [`ROWS`], by `_id`, as JSON text (parsed by the same parser as the index's
/// answer, so wide numbers compare alike; their exact digits are checked on the raw text).
fn expected() -> TestResult<Vec<(String, Json)>> {
    let doc1 = format!(
        r#"{{"id": {U64_MAX}, "big_dec": {BIG_DEC}, "mid_dec": {MID_DEC}, "price": 12.50,
            "d": null, "dt": null, "ts": null,
            "l1": "€ café", "c1251": "Привет", "g": "你好", "b5": "中文", "cat_code": "€1",
            "long_vc": "{}",
            "e": "medium", "s": "a,c", "bits": {U64_MAX}, "b12": 2730, "y": 2155,
            "tm": "-838:59:59", "j": "{{\"a\": [1, 2]}}",
            "cat_name": "Euro cat"}}"#,
        "😀".repeat(9000)
    );
    // `2024-00-10` and `2024-02-30` are no calendar dates; 'huge' is no ENUM member, so MySQL
    // stored the empty ENUM value.
    let doc2 = r#"{"id": 9223372036854775808, "big_dec": -0.000000000000000000000000000001,
        "mid_dec": -1.5000000000, "price": 0.00,
        "d": null, "dt": null, "ts": "2024-01-02T03:04:05",
        "l1": "x", "c1251": "Мир", "g": "plain", "b5": null, "cat_code": "b",
        "long_vc": "short",
        "e": "", "s": "", "bits": 0, "b12": null, "y": 0,
        "tm": "838:59:59", "j": "[]",
        "cat_name": "B cat"}"#;
    // The legacy `TIMESTAMP NOT NULL DEFAULT 0` holds the zero timestamp: null.
    let doc3 = r#"{"id": 1, "big_dec": null, "mid_dec": null, "price": null,
        "d": null, "dt": null, "ts": null,
        "l1": null, "c1251": null, "g": null, "b5": null, "cat_code": null, "long_vc": null,
        "e": null, "s": null, "bits": null, "b12": null, "y": null, "tm": null, "j": null,
        "cat_name": null}"#;
    Ok(vec![
        ("1".to_string(), serde_json::from_str(doc3)?),
        (U64_MAX.to_string(), serde_json::from_str(&doc1)?),
        (
            "9223372036854775808".to_string(),
            serde_json::from_str(doc2)?,
        ),
    ])
}

/// `want` with the fields of `changes` replaced in the document `id`.
fn with(mut want: Vec<(String, Json)>, id: &str, changes: Json) -> Vec<(String, Json)> {
    for (i, doc) in &mut want {
        if i == id
            && let (Some(doc), Some(changes)) = (doc.as_object_mut(), changes.as_object())
        {
            for (k, v) in changes {
                doc.insert(k.clone(), v.clone());
            }
        }
    }
    want
}

/// The index's documents equal `want`, and the exact digits of the wide numbers are in the
/// `_source` as written (a float on the way would round them; `serde_json` would too, so the
/// raw text is checked).
async fn assert_documents(
    es: &EsClient,
    test_es: &TestEs,
    index: &str,
    want: &[(String, Json)],
    what: &str,
) -> TestResult {
    let docs = documents(es, index).await?;
    let got: Vec<(String, Json)> = docs.into_iter().map(|d| (d.id, d.source)).collect();
    if got != want {
        return Err(TestFailure::new(format!(
            "{what}: the documents differ from the expected ones\n got: {}\nwant: {}",
            Json::from(got.iter().map(|(i, d)| json!([i, d])).collect::<Vec<_>>()),
            Json::from(want.iter().map(|(i, d)| json!([i, d])).collect::<Vec<_>>()),
        )));
    }
    let raw = test_es
        .client()
        .search(elasticsearch::SearchParts::Index(&[index]))
        .body(json!({"query": {"match_all": {}}, "size": 100}))
        .send()
        .await?
        .text()
        .await?;
    for exact in [
        format!("\"id\":{U64_MAX}"),
        format!("\"big_dec\":{BIG_DEC}"),
        format!("\"mid_dec\":{MID_DEC}"),
        "\"price\":12.50".to_string(),
        "\"big_dec\":-0.000000000000000000000000000001".to_string(),
        format!("\"bits\":{U64_MAX}"),
    ] {
        if !raw.contains(&exact) {
            return Err(TestFailure::new(format!(
                "{what}: `{exact}` is not in the _source text: {}",
                raw.chars().take(2000).collect::<String>()
            )));
        }
    }
    Ok(())
}

#[tokio::test]
async fn values_survive_full_update_and_binlog_exactly() -> TestResult {
    let mut mysql = vals().await?;
    let db = mysql.db("vals").to_string();
    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let index = values::INDEXES[0];

    // The mapping that fits: unsigned_long for BIGINT UNSIGNED and BIT(64), and a keyword that
    // cannot refuse a long VARCHAR.
    let body: Json = serde_json::from_str(index.index_body())?;
    let props = &body["mappings"]["properties"];
    assert_eq!(props["id"], json!({"type": "unsigned_long"}));
    assert_eq!(props["bits"], json!({"type": "unsigned_long"}));
    assert_eq!(
        props["long_vc"],
        json!({"type": "keyword", "ignore_above": 8191})
    );

    // An empty generation first: the rows below then reach it through the binlog only.
    let synced = test_es.name("synced");
    let empty = common::update_into(index, &source, &es, &synced).await?;
    assert_eq!(empty.written, 0);

    mysql
        .exec(&format!(
            "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; SET SESSION time_zone = '+00:00';
             USE `{db}`; {ROWS}"
        ))
        .await?;

    // (a) A full update of the rows.
    let full = test_es.name("full");
    let built = common::update_into(index, &source, &es, &full).await?;
    assert_eq!((built.master_rows, built.written), (3, 3));
    let want = expected()?;
    assert_documents(&es, &test_es, &full, &want, "full update").await?;

    // (b) The same rows through the binlog.
    let applied = apply_binlog(
        &mysql,
        &source,
        index,
        &es,
        &empty.snapshot,
        &synced,
        ONE_BATCH,
    )
    .await?;
    applied.all_written()?;
    assert_documents(&es, &test_es, &synced, &want, "binlog inserts").await?;

    // Updates the decoded text must not hide: cp1251 and gbk strings replaced by others of the
    // same length (as UTF-8 they are all invalid alike), and the latin1 link value `€1` of the
    // joined table, which the binlog carries as the byte 0x80.
    mysql
        .exec(&format!(
            "UPDATE `{db}`.v SET c1251 = 'Молоко', g = '再见' WHERE id = {U64_MAX};
             UPDATE `{db}`.v SET c1251 = 'Дом' WHERE id = 9223372036854775808;
             UPDATE `{db}`.cat SET name = 'Euro cat 2' WHERE code = '€1';"
        ))
        .await?;
    let changed = apply_binlog(
        &mysql,
        &source,
        index,
        &es,
        &applied.position()?,
        &synced,
        ONE_BATCH,
    )
    .await?;
    changed.all_written()?;
    let want = with(
        with(
            want,
            U64_MAX,
            json!({"c1251": "Молоко", "g": "再见", "cat_name": "Euro cat 2"}),
        ),
        "9223372036854775808",
        json!({"c1251": "Дом"}),
    );
    assert_documents(&es, &test_es, &synced, &want, "binlog updates").await?;
    assert_eq!(changed.relevant_rows, 3, "{changed:?}");

    // A full update of the changed rows agrees.
    let again = common::update_into(index, &source, &es, &full).await?;
    assert_eq!(again.written, 3);
    assert_documents(&es, &test_es, &full, &want, "full update after the changes").await?;
    // `mee verify` agrees that the synced index equals what MySQL holds.
    let options = mee_runtime::verify::VerifyOptions {
        alias: Some(synced.clone()),
        recheck_delay: std::time::Duration::ZERO,
        ..mee_runtime::verify::VerifyOptions::default()
    };
    let report = mee_runtime::verify::verify(
        index,
        &source,
        &es,
        &options,
        &mee_runtime::verify::NoVerifyProgress,
    )
    .await
    .map_err(fail)?;
    assert!(
        report.is_equal(),
        "mee verify found differences: {report:?}"
    );
    mysql.drop_databases().await
}
