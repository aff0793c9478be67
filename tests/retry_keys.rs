//! A document Elasticsearch rejects lands in the retry table under the typed master key of its
//! row, never under its `_id`'s text: during `mee update` and during `mee run`, for a templated
//! `_id` (`carteam_user_%id`) and for a BIGINT UNSIGNED id above 2^63.
//!
//! Elasticsearch (osmem) rejects the writes for real: the test's generation indexes are created
//! with `index.blocks.write` (an index template on the test's own prefix, for the full update) or
//! get it once the alias moved (for the sync), and answer every write with a 403 item.
#![cfg(all(feature = "pipeline-carteam", feature = "pipeline-orders"))]

mod common;

use common::Env;
use elasticsearch::indices::{
    IndicesDeleteIndexTemplateParts, IndicesPutIndexTemplateParts, IndicesPutSettingsParts,
};
use mee::generated::carteam::index_carteam_user as ct;
use mee::generated::orders::orders as ord;
use mee_runtime::Value;
use mee_runtime::pipeline::IndexPipeline;
use mee_runtime::run::run;
use mee_runtime::state::{FailureKind, RetryEntry, RetryKey};
use mee_runtime::update::{NoProgress, UpdateOptions, update_with_state};
use mee_testkit::{TestFailure, TestMysql, TestResult, eventually, fail};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

const DEADLINE: Duration = Duration::from_secs(40);
/// 2^63 + 5: a BIGINT UNSIGNED id that no signed 64-bit integer holds.
const BIG: u64 = (1 << 63) + 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_during_update_carteam_is_keyed_by_the_master_key() -> TestResult {
    let env = Env::new(common::carteam().await?, "index_carteam_user").await?;
    rejected_during_update(&env, &ct::Index).await?;
    let entry = rejection(&env, "carteam", vec![Value::Int(1)]).await?;
    assert_eq!(entry.record.document_id, "carteam_user_1");
    assert_eq!(entry.record.routing.as_deref(), Some("1"));
    no_record_under_id_text(&env, "carteam", "carteam_user_1").await?;
    env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_during_update_unsigned_id_is_keyed_by_the_master_key() -> TestResult {
    let env = Env::new(orders_with_big_id().await?, "orders").await?;
    rejected_during_update(&env, &ord::Index).await?;
    let entry = rejection(&env, "orders", vec![Value::UInt(BIG)]).await?;
    assert_eq!(entry.record.document_id, BIG.to_string());
    no_record_under_id_text(&env, "orders", &BIG.to_string()).await?;
    env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_during_run_carteam_is_keyed_by_the_master_key() -> TestResult {
    let env = Env::new(common::carteam().await?, "index_carteam_user").await?;
    let team = env.mysql.db("carteam_service").to_string();
    let change = format!("UPDATE `{team}`.users SET name = 'renamed' WHERE id = 1");
    let entry = rejected_during_run(&env, &ct::Index, &change, vec![Value::Int(1)]).await?;
    assert_eq!(entry.record.document_id, "carteam_user_1");
    assert_eq!(entry.record.routing.as_deref(), Some("1"));
    no_record_under_id_text(&env, "carteam", "carteam_user_1").await?;
    env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_during_run_unsigned_id_is_keyed_by_the_master_key() -> TestResult {
    let env = Env::new(orders_with_big_id().await?, "orders").await?;
    let shop = env.mysql.db("shop").to_string();
    let change = format!("UPDATE `{shop}`.orders SET note = 'changed' WHERE id = {BIG}");
    let entry = rejected_during_run(&env, &ord::Index, &change, vec![Value::UInt(BIG)]).await?;
    assert_eq!(entry.record.document_id, BIG.to_string());
    no_record_under_id_text(&env, "orders", &BIG.to_string()).await?;
    env.mysql.drop_databases().await
}

/// The orders databases with one customer and two orders, one of them with id 2^63 + 5.
async fn orders_with_big_id() -> TestResult<TestMysql> {
    let mut mysql = common::databases(&["shop", "crm"]).await?;
    let (shop, crm) = (mysql.db("shop").to_string(), mysql.db("crm").to_string());
    mysql
        .exec(&format!(
            "INSERT INTO `{crm}`.customers (id, name) VALUES (1, 'ann');
             INSERT INTO `{shop}`.orders (id, order_no, customer_id, amount) VALUES
               (7, 'NO-7', 1, '1.00'), ({BIG}, 'NO-BIG', 1, '2.00');"
        ))
        .await?;
    Ok(mysql)
}

/// A full update (with the retry table) into generations that refuse every write.
async fn rejected_during_update(env: &Env, index: &dyn IndexPipeline) -> TestResult {
    let template = env.test_es.name("blocked");
    let es = env.test_es.client();
    let put = es
        .indices()
        .put_index_template(IndicesPutIndexTemplateParts::Name(&template))
        .body(json!({
            "index_patterns": [format!("{}_*", env.alias)],
            "template": {"settings": {"index.blocks.write": true}},
        }))
        .send()
        .await?;
    if !put.status_code().is_success() {
        return Err(fail(format!("index template: {}", put.text().await?)));
    }
    let options = UpdateOptions {
        alias: Some(env.alias.clone()),
        ..UpdateOptions::default()
    };
    let report = update_with_state(
        index,
        &env.source,
        &env.es,
        &env.state,
        &env.retry,
        &options,
        &NoProgress,
    )
    .await;
    es.indices()
        .delete_index_template(IndicesDeleteIndexTemplateParts::Name(&template))
        .send()
        .await?;
    let report = report.map_err(fail)?;
    assert!(report.rejected > 0, "nothing was rejected: {report:?}");
    Ok(())
}

/// `run` builds the index, then its generation refuses writes and `change` is made: the sync's
/// rejection must reach the retry table under `key`.
async fn rejected_during_run(
    env: &Env,
    index: &dyn IndexPipeline,
    change: &str,
    key: Vec<Value>,
) -> TestResult<RetryEntry> {
    let options = common::run_options(&env.alias, 4_200_000);
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = env.services();
    let follower = run(index, &services, &options, stop_rx);
    let steps = async {
        let targets =
            common::alias_moved(&env.es, &env.alias, "the alias to move", DEADLINE).await?;
        // (The full update may have recorded the document already: an id above 2^63 does not
        // fit a `long` field. Only the block's 403 counts below.)
        let put = env
            .test_es
            .client()
            .indices()
            .put_settings(IndicesPutSettingsParts::Index(&[targets[0].as_str()]))
            .body(json!({"index.blocks.write": true}))
            .send()
            .await?;
        if !put.status_code().is_success() {
            return Err(fail(format!("write block: {}", put.text().await?)));
        }
        let mut conn = env.mysql.admin_conn().await?;
        mysql_async::prelude::Queryable::query_drop(&mut conn, change).await?;
        rejection(env, index.pipeline(), key.clone()).await
    };
    let (report, entry) = common::beside(follower, steps, stop_tx).await;
    let entry = entry?;
    report.map_err(fail)?;
    Ok(entry)
}

fn retry_key(env: &Env, pipeline: &str, master_key: &[Value]) -> RetryKey {
    RetryKey {
        pipeline: pipeline.to_string(),
        alias: env.alias.clone(),
        master_key: master_key.to_vec(),
    }
}

/// The retry record of the document with `master_key`, once it holds a rejection by
/// Elasticsearch (HTTP 403, the write block).
async fn rejection(env: &Env, pipeline: &str, master_key: Vec<Value>) -> TestResult<RetryEntry> {
    let key = retry_key(env, pipeline, &master_key);
    eventually(
        &format!("a rejection keyed {master_key:?} in the retry table"),
        DEADLINE,
        || async {
            let entry = env.retry.get(&key).await.map_err(fail)?;
            Ok(entry.filter(|e| {
                matches!(
                    e.record.error_kind,
                    FailureKind::Rejected { status: 403, .. }
                )
            }))
        },
    )
    .await
    .and_then(|e| {
        if e.record.master_key == master_key {
            Ok(e)
        } else {
            Err(TestFailure::new(format!(
                "stored key {:?}",
                e.record.master_key
            )))
        }
    })
}

/// No record is keyed by the `_id`'s text (what mee wrote before it kept the master key).
async fn no_record_under_id_text(env: &Env, pipeline: &str, id: &str) -> TestResult {
    let key = retry_key(env, pipeline, &[Value::Text(id.to_string())]);
    match env.retry.get(&key).await.map_err(fail)? {
        None => Ok(()),
        Some(e) => Err(fail(format!("a record keyed by the _id's text: {e:?}"))),
    }
}
