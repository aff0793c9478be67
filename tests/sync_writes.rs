//! What `run` writes, judged from outside mee's document builder (expected values are written by
//! hand here):
//! - an update that changes only columns the pipeline does not use (of the master, the joined and
//!   the nested table) writes nothing: the document's `_version` and `_seq_no` stay as they were;
//! - values with quotes, backslashes, `%` and placeholder-like text reach the document exactly,
//!   through the full update and through the sync (parameters are bound, never pasted), also as
//!   the value of a quoted link placeholder (`m_code = '%__parent.code'`, the NEST fixture).
#![cfg(feature = "pipeline-orders")]

mod common;

use common::Env;
use elasticsearch::GetParts;
use mee::generated::orders::orders as ord;
use mee_runtime::run::run;
use mee_testkit::{TestResult, eventually, fail};
use mysql_async::prelude::Queryable;
use serde_json::Value as Json;
use std::time::Duration;
use tokio::sync::watch;

mee::pipeline!("tests/fixtures/nest.yml");

const DEADLINE: Duration = Duration::from_secs(40);

/// Text that breaks any statement it is pasted into, and any `%placeholder` expansion.
const TRICKY: &str =
    r#"it's "q" \ b\\s \' \" 100% _x_ %id %__master.id:(0) '); DROP TABLE t; -- ½ 😀"#;
const TRICKY_2: &str = r#"\\' OR '1'='1 %s %% \n\t \0 "end\"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_unused_columns_writes_nothing() -> TestResult {
    let mut mysql = common::databases(&["shop", "crm"]).await?;
    let (shop, crm) = (mysql.db("shop").to_string(), mysql.db("crm").to_string());
    // A column no statement reads, on the master table (a live table may have more columns than
    // the checked-in DDL).
    mysql
        .exec(&format!(
            "ALTER TABLE `{shop}`.orders ADD COLUMN extra INT NULL;
             INSERT INTO `{crm}`.customers (id, name) VALUES (1, 'ann'), (2, 'bob');
             INSERT INTO `{shop}`.orders (id, order_no, customer_id, amount, note) VALUES
               (1, 'NO-1', 1, '1.00', 'one'), (2, 'NO-2', 2, '2.00', 'two');
             INSERT INTO `{shop}`.order_items (id, order_id, sku, title, quantity, unit_price)
               VALUES (11, 1, 's', 'item', 1, '1.00');"
        ))
        .await?;
    let env = Env::new(mysql, "orders").await?;
    let options = common::run_options(&env.alias, 4_300_000);
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = env.services();
    let follower = run(&ord::Index, &services, &options, stop_rx);
    let steps = async {
        common::alias_moved(&env.es, &env.alias, "the alias to move", DEADLINE).await?;
        let before = doc(&env, "1").await?.ok_or("order 1 is not indexed")?;
        let mut conn = env.mysql.admin_conn().await?;
        // `modify_time` is used for orders (so it is kept as it is: ON UPDATE would change it),
        // not for customers and items.
        conn.query_drop(format!(
            "UPDATE `{shop}`.orders SET extra = 7, modify_time = modify_time WHERE id = 1;
             UPDATE `{crm}`.customers SET modify_time = '2020-01-01 00:00:00' WHERE id = 1;
             UPDATE `{shop}`.order_items SET modify_time = '2020-01-01 00:00:00' WHERE id = 11;
             UPDATE `{shop}`.orders SET note = 'marker' WHERE id = 2;"
        ))
        .await?;
        // Batches apply in binlog order: once the marker shows, the updates before it were seen.
        eventually("the marker to reach order 2", DEADLINE, || async {
            Ok(doc(&env, "2")
                .await?
                .filter(|d| d["_source"]["note"] == "marker"))
        })
        .await?;
        let after = doc(&env, "1").await?.ok_or("order 1 vanished")?;
        assert_eq!(
            (&after["_version"], &after["_seq_no"]),
            (&before["_version"], &before["_seq_no"]),
            "order 1 was written again: before {before}, after {after}"
        );
        // The control: a used column of the joined row does rewrite the document.
        conn.query_drop(format!(
            "UPDATE `{crm}`.customers SET name = 'ann renamed' WHERE id = 1"
        ))
        .await?;
        let renamed = eventually("the rename to reach order 1", DEADLINE, || async {
            Ok(doc(&env, "1")
                .await?
                .filter(|d| d["_source"]["customer_name"] == "ann renamed"))
        })
        .await?;
        assert_ne!(renamed["_version"], before["_version"]);
        conn.disconnect().await?;
        Ok::<(), mee_testkit::TestFailure>(())
    };
    let (report, result) = common::beside(follower, steps, stop_tx).await;
    result?;
    report.map_err(fail)?;
    env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_backslashes_and_percent_round_trip_exactly() -> TestResult {
    let mysql = common::databases(&["shop", "crm"]).await?;
    let (shop, crm) = (mysql.db("shop").to_string(), mysql.db("crm").to_string());
    let mut conn = mysql.admin_conn().await?;
    // Written with bound parameters: the test's own SQL cannot mangle them.
    conn.exec_drop(
        format!("INSERT INTO `{crm}`.customers (id, name, email) VALUES (1, ?, ?)"),
        (TRICKY, TRICKY_2),
    )
    .await?;
    conn.exec_drop(
        format!(
            "INSERT INTO `{shop}`.orders (id, order_no, customer_id, amount, note) \
             VALUES (1, ?, 1, '1.00', ?)"
        ),
        ("NO-1 '%\\", TRICKY),
    )
    .await?;
    conn.exec_drop(
        format!(
            "INSERT INTO `{shop}`.order_items (id, order_id, sku, title, quantity, unit_price) \
             VALUES (11, 1, ?, ?, 1, '1.00')"
        ),
        (TRICKY_2, TRICKY),
    )
    .await?;
    let env = Env::new(mysql, "orders").await?;
    let options = common::run_options(&env.alias, 4_400_000);
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = env.services();
    let follower = run(&ord::Index, &services, &options, stop_rx);
    let steps = async {
        common::alias_moved(&env.es, &env.alias, "the alias to move", DEADLINE).await?;
        // The full update.
        let full = doc(&env, "1").await?.ok_or("order 1 is not indexed")?;
        let source = &full["_source"];
        assert_eq!(source["order_no"], "NO-1 '%\\");
        assert_eq!(source["note"], TRICKY);
        assert_eq!(source["customer_name"], TRICKY);
        assert_eq!(source["customer_email"], TRICKY_2);
        assert_eq!(source["items"][0]["sku"], TRICKY_2);
        assert_eq!(source["items"][0]["title"], TRICKY);
        // The sync: the values swap places, on the master, the joined and the nested row.
        conn.exec_drop(
            format!("UPDATE `{shop}`.orders SET note = ? WHERE id = 1"),
            (TRICKY_2,),
        )
        .await?;
        conn.exec_drop(
            format!("UPDATE `{crm}`.customers SET name = ?, email = ? WHERE id = 1"),
            (TRICKY_2, TRICKY),
        )
        .await?;
        conn.exec_drop(
            format!("UPDATE `{shop}`.order_items SET sku = ?, title = ? WHERE id = 11"),
            ("sku '%\\ \\'", TRICKY_2),
        )
        .await?;
        let synced = eventually("the swapped values to reach order 1", DEADLINE, || async {
            Ok(doc(&env, "1")
                .await?
                .filter(|d| d["_source"]["items"][0]["title"] == TRICKY_2))
        })
        .await?;
        let source = &synced["_source"];
        assert_eq!(source["note"], TRICKY_2);
        assert_eq!(source["customer_name"], TRICKY_2);
        assert_eq!(source["customer_email"], TRICKY);
        assert_eq!(source["items"][0]["sku"], "sku '%\\ \\'");
        Ok::<(), mee_testkit::TestFailure>(())
    };
    let (report, result) = common::beside(follower, steps, stop_tx).await;
    result?;
    report.map_err(fail)?;
    conn.disconnect().await?;
    env.mysql.drop_databases().await
}

/// The document `id` as Elasticsearch returns it (`_source`, `_version`, `_seq_no`), if any.
async fn doc(env: &Env, id: &str) -> TestResult<Option<Json>> {
    let resp = env
        .test_es
        .client()
        .get(GetParts::IndexId(&env.alias, id))
        .send()
        .await?;
    let body: Json = resp.json().await?;
    Ok((body["found"] == true).then_some(body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quoted_link_placeholder_binds_quotes_and_backslashes() -> TestResult {
    // Eight characters at most (`code` is VARCHAR(8)); the second is a prefix of the first.
    const CODE: &str = r#"a'\%"_'"#;
    const PREFIX: &str = r#"a'\%"#;
    let mysql = common::nest().await?;
    let d = mysql.db("d").to_string();
    let mut conn = mysql.admin_conn().await?;
    conn.exec_drop(
        format!("INSERT INTO `{d}`.m VALUES (3, ?, 9), (4, ?, 9)"),
        (CODE, PREFIX),
    )
    .await?;
    conn.exec_drop(
        format!("INSERT INTO `{d}`.it VALUES (20, ?, 'i20', 100, 1), (21, ?, 'i21', 100, 1)"),
        (CODE, PREFIX),
    )
    .await?;
    let env = Env::new(mysql, "idx").await?;
    let options = common::run_options(&env.alias, 4_500_000);
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = env.services();
    let follower = run(nest::INDEXES[0], &services, &options, stop_rx);
    let item = |id: u64| serde_json::json!({"item_id": id, "name": format!("i{id}"), "sku_id": 100, "sku_title": "s100"});
    let document = |id: u64, code: &str, items: Vec<Json>| serde_json::json!({"id": id, "code": code, "org_id": 9, "items": items});
    let steps = async {
        common::alias_moved(&env.es, &env.alias, "the alias to move", DEADLINE).await?;
        let docs = env.test_es.all_docs(&env.alias).await?;
        let by_id = |docs: &[(String, Json)], id: &str| {
            docs.iter().find(|(i, _)| i == id).map(|(_, d)| d.clone())
        };
        // The full update.
        assert_eq!(by_id(&docs, "m-3"), Some(document(3, CODE, vec![item(20)])));
        assert_eq!(
            by_id(&docs, "m-4"),
            Some(document(4, PREFIX, vec![item(21)]))
        );
        // The sync: a new item of each code reaches its own parent only (the reverse path binds
        // the code too).
        conn.exec_drop(
            format!("INSERT INTO `{d}`.it VALUES (22, ?, 'i22', 100, 1), (23, ?, 'i23', 100, 1)"),
            (CODE, PREFIX),
        )
        .await?;
        let want = (
            document(3, CODE, vec![item(20), item(22)]),
            document(4, PREFIX, vec![item(21), item(23)]),
        );
        eventually("the new items to reach their parents", DEADLINE, || async {
            let docs = env.test_es.all_docs(&env.alias).await?;
            let got = (by_id(&docs, "m-3"), by_id(&docs, "m-4"));
            Ok((got == (Some(want.0.clone()), Some(want.1.clone()))).then_some(()))
        })
        .await
    };
    let (report, result) = common::beside(follower, steps, stop_tx).await;
    result?;
    report.map_err(fail)?;
    conn.disconnect().await?;
    env.mysql.drop_databases().await
}
