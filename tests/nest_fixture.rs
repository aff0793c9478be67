//! The reference's NEST fixture (T15, T16), embedded with `mee::pipeline!` and read from MariaDB:
//! a nested list linked to its parent by a quoted text placeholder (`m_code = '%__parent.code'`,
//! one bound parameter), a nested joined item with a `null_value`, and routing.

mod common;

use mee_runtime::pipeline::resolve_statements;
use mee_testkit::{TestFailure, TestMysql, TestResult};
use serde_json::{Value as Json, json};

mee::pipeline!("tests/fixtures/nest.yml");

async fn documents(mysql: &TestMysql) -> TestResult<Vec<(String, Option<String>, Json)>> {
    let source = common::source(mysql).await?;
    let index = nest::INDEXES[0];
    let statements = resolve_statements(index, &source);
    let mut session = source
        .session()
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    let page = index
        .read_page(&mut session, &statements, None, 100)
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    page.docs
        .into_iter()
        .map(|d| {
            let source = d.source.map_err(|e| TestFailure::new(e.to_string()))?;
            Ok((d.id, d.routing, serde_json::from_slice(&source)?))
        })
        .collect()
}

#[tokio::test]
async fn t15_nested_documents_with_quoted_parent_link() -> TestResult {
    let mysql = common::nest().await?;
    let docs = documents(&mysql).await?;
    assert_eq!(
        docs,
        vec![
            (
                "m-1".to_string(),
                Some("9".to_string()),
                json!({"id": 1, "code": "A", "org_id": 9, "items": [
                {"item_id": 10, "name": "i10", "sku_id": 100, "sku_title": "s100"},
                {"item_id": 11, "name": "i11", "sku_id": 101, "sku_title": "n/a"}]})
            ),
            (
                "m-2".to_string(),
                Some("9".to_string()),
                json!({"id": 2, "code": "B", "org_id": 9, "items": [
                {"item_id": 12, "name": "i12", "sku_id": 100, "sku_title": "s100"}]})
            ),
        ]
    );
    mysql.drop_databases().await
}

/// T16 under Decision 6: nested arrays have no fixed cap; 51 elements make one document of 51.
#[tokio::test]
async fn t16_no_fixed_nested_cap() -> TestResult {
    let mut mysql = common::nest().await?;
    let d = mysql.db("d").to_string();
    let rows: Vec<String> = (1000..1049)
        .map(|i| format!("({i},'A','x{i}',100,1)"))
        .collect();
    mysql
        .exec(&format!("INSERT INTO `{d}`.it VALUES {}", rows.join(",")))
        .await?;
    let docs = documents(&mysql).await?;
    let items = docs[0].2["items"].as_array().map(Vec::len);
    assert_eq!(items, Some(51));
    mysql.drop_databases().await
}
