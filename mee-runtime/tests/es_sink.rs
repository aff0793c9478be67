//! `BulkWriter` through the in-process `_bulk` sink: what the sink counts matches what the writer
//! reports, and the management calls a full update makes are answered.

use mee_runtime::es::{BulkConfig, BulkOp, BulkSink, BulkWriter, EsClient, VersionType};
use mee_testkit::{TestResult, fail};
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_match_between_writer_and_sink() -> TestResult {
    let sink = BulkSink::start().await?;
    let client = EsClient::new(sink.url()).map_err(fail)?;
    client.ping().await.map_err(fail)?;
    let index: Arc<str> = Arc::from("sink_orders_1");
    client
        .create_index(
            &index,
            &json!({"number_of_shards": 1}),
            &json!({"properties": {}}),
        )
        .await
        .map_err(fail)?;
    let saved = client.begin_bulk_load(&index).await.map_err(fail)?;

    let mut writer = BulkWriter::new(
        client.clone(),
        BulkConfig {
            max_ops: 333,
            concurrency: 3,
            ..BulkConfig::default()
        },
    );
    let mut tickets = Vec::new();
    for page in 0..20u64 {
        let ops: Vec<BulkOp> = (page * 500..page * 500 + 500)
            .map(|i| {
                let source =
                    serde_json::to_vec(&json!({"id": i, "text": "x".repeat((i % 50) as usize)}))
                        .unwrap_or_default();
                BulkOp::index(index.clone(), i.to_string(), source)
                    .version(i, VersionType::External)
            })
            .collect();
        tickets.push(writer.submit(ops).await);
    }
    let deletes = (0..100)
        .map(|i| BulkOp::delete(index.clone(), (i * 3).to_string()))
        .collect();
    tickets.push(writer.submit(deletes).await);
    let stats = writer.flush().await;
    for t in tickets {
        assert!(t.await.map_err(fail)?.failures.is_empty());
    }
    let sink_stats = sink.stats();
    assert_eq!(stats.ok, 10_100);
    assert_eq!(sink_stats.index_ops, 10_000);
    assert_eq!(sink_stats.delete_ops, 100);
    assert_eq!(sink_stats.ops, stats.ok);
    assert_eq!(sink_stats.bytes, stats.bytes);
    assert_eq!(sink_stats.bulk_requests, stats.requests);

    client.end_bulk_load(&index, &saved).await.map_err(fail)?;
    client.refresh(&index).await.map_err(fail)?;
    assert_eq!(client.count(&index, None).await.map_err(fail)?, 9_900);
    client
        .move_alias("sink_orders", &index)
        .await
        .map_err(fail)?;
    assert_eq!(
        client.alias_targets("sink_orders").await.map_err(fail)?,
        vec![index.to_string()]
    );
    let listed = client.list_indices("sink_*").await.map_err(fail)?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].docs_count, 9_900);
    assert!(client.delete_index(&index).await.map_err(fail)?);
    let unsupported = client
        .send_json(
            mee_runtime::es::client::Method::Get,
            "/_nodes",
            &[],
            None::<&Value>,
        )
        .await
        .map_err(fail)?;
    assert_eq!(unsupported.status, 400);
    Ok(())
}
