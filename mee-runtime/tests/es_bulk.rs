//! `BulkWriter` against the real OpenSearch-compatible test server (osmem).

use mee_runtime::es::{BulkConfig, BulkOp, BulkWriter, EsClient, VersionType};
use mee_testkit::{TestEs, TestResult, fail};
use serde_json::{Value, json};
use std::sync::Arc;

async fn setup(name: &str) -> TestResult<(TestEs, EsClient, Arc<str>)> {
    let es = TestEs::new().await?;
    let client = EsClient::new(es.url()).map_err(fail)?;
    let index: Arc<str> = Arc::from(es.name(name));
    let mappings = json!({"properties": {
        "id": {"type": "long"},
        "order_no": {"type": "keyword"},
        "amount": {"type": "long"},
        "items": {"type": "nested", "properties": {"sku": {"type": "keyword"}, "qty": {"type": "long"}}}
    }});
    client
        .create_index(&index, &json!({"number_of_shards": 1}), &mappings)
        .await
        .map_err(fail)?;
    Ok((es, client, index))
}

fn order(id: u64, amount: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id,
        "order_no": format!("O-{id}"),
        "amount": amount,
        "items": [{"sku": format!("S{id}a"), "qty": 1}, {"sku": format!("S{id}b"), "qty": 2}],
    }))
    .unwrap_or_default()
}

#[tokio::test]
async fn external_versions_old_never_overwrites_new() -> TestResult {
    let (_es, client, index) = setup("versions").await?;
    let mut writer = BulkWriter::new(client.clone(), BulkConfig::default());
    let ops = (1..=20)
        .map(|i| {
            BulkOp::index(index.clone(), i.to_string(), order(i, 100))
                .version(10, VersionType::External)
        })
        .collect();
    let first = writer.write_batch(ops).await.map_err(fail)?;
    assert_eq!(
        (first.ok, first.conflicts, first.failures.len()),
        (20, 0, 0)
    );

    // An older version of doc 1 and a replay of doc 2 at the same version: both "already newer".
    let stale = vec![
        BulkOp::index(index.clone(), "1", order(1, 999)).version(5, VersionType::External),
        BulkOp::index(index.clone(), "2", order(2, 999)).version(10, VersionType::External),
        BulkOp::index(index.clone(), "3", order(3, 300)).version(11, VersionType::External),
    ];
    let second = writer.write_batch(stale).await.map_err(fail)?;
    assert_eq!(
        (second.ok, second.conflicts, second.failures.len()),
        (1, 2, 0),
        "{second:?}"
    );
    let stats = writer.flush().await;
    assert_eq!(stats.conflicts, 2);

    let doc1 = client
        .get_doc(&index, "1", None)
        .await
        .map_err(fail)?
        .ok_or("doc 1 missing")?;
    assert_eq!(doc1.source["amount"], 100, "the stale write must not land");
    assert_eq!(doc1.version, Some(10));
    let doc3 = client
        .get_doc(&index, "3", None)
        .await
        .map_err(fail)?
        .ok_or("doc 3 missing")?;
    assert_eq!(doc3.source["amount"], 300);

    // external_gte accepts an equal version (a replay that rewrites identical data).
    let gte = writer
        .write_batch(vec![
            BulkOp::index(index.clone(), "4", order(4, 444)).version(10, VersionType::ExternalGte),
        ])
        .await
        .map_err(fail)?;
    assert_eq!(gte.ok, 1);
    Ok(())
}

#[tokio::test]
async fn versioned_deletes_and_routing() -> TestResult {
    let (_es, client, index) = setup("deletes").await?;
    let mut writer = BulkWriter::new(client.clone(), BulkConfig::default());
    let put = vec![
        BulkOp::index(index.clone(), "a", order(1, 1))
            .routing("r1")
            .version(5, VersionType::External),
        BulkOp::index(index.clone(), "b", order(2, 2)).version(5, VersionType::External),
    ];
    assert_eq!(writer.write_batch(put).await.map_err(fail)?.ok, 2);
    assert!(
        client
            .get_doc(&index, "a", Some("r1"))
            .await
            .map_err(fail)?
            .is_some()
    );

    let deletes = vec![
        // An older delete loses against the newer document.
        BulkOp::delete(index.clone(), "b").version(4, VersionType::External),
        // A newer delete wins, with the routing the document was written with.
        BulkOp::delete(index.clone(), "a")
            .routing("r1")
            .version(6, VersionType::External),
        // Deleting a document that never existed is fine.
        BulkOp::delete(index.clone(), "never").version(1, VersionType::External),
    ];
    let outcome = writer.write_batch(deletes).await.map_err(fail)?;
    assert_eq!(
        (outcome.ok, outcome.conflicts, outcome.not_found),
        (1, 1, 1),
        "{outcome:?}"
    );
    assert!(outcome.failures.is_empty());
    assert!(
        client
            .get_doc(&index, "a", Some("r1"))
            .await
            .map_err(fail)?
            .is_none()
    );
    assert!(
        client
            .get_doc(&index, "b", None)
            .await
            .map_err(fail)?
            .is_some()
    );

    // The delete left a tombstone at version 6: a late write at version 5 must not resurrect it.
    let late = writer
        .write_batch(vec![
            BulkOp::index(index.clone(), "a", order(1, 1))
                .routing("r1")
                .version(5, VersionType::External),
        ])
        .await
        .map_err(fail)?;
    assert_eq!(late.conflicts, 1, "{late:?}");
    assert!(
        client
            .get_doc(&index, "a", Some("r1"))
            .await
            .map_err(fail)?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn a_document_that_violates_the_mapping_is_returned_and_the_rest_is_written() -> TestResult {
    let (_es, client, index) = setup("mapping").await?;
    let mut writer = BulkWriter::new(
        client.clone(),
        BulkConfig {
            max_ops: 4,
            ..BulkConfig::default()
        },
    );
    let mut ops: Vec<BulkOp> = (1..=9)
        .map(|i| {
            BulkOp::index(index.clone(), i.to_string(), order(i, i * 10))
                .version(1, VersionType::External)
        })
        .collect();
    // Text into a `long` field, in the middle of the second request.
    ops[5] = BulkOp::index(
        index.clone(),
        "bad\"id",
        br#"{"id":6,"amount":"not a number"}"#.to_vec(),
    )
    .routing("rr")
    .version(1, VersionType::External);
    let outcome = writer.write_batch(ops).await.map_err(fail)?;
    assert_eq!(outcome.ok, 8);
    assert_eq!(outcome.failures.len(), 1);
    let failure = &outcome.failures[0];
    assert_eq!(failure.status, 400);
    assert_eq!(failure.error_type, "mapper_parsing_exception");
    assert_eq!(failure.op.id, "bad\"id");
    assert_eq!(failure.op.routing.as_deref(), Some("rr"));
    assert_eq!(&*failure.op.index, &*index);
    assert!(failure.reason.contains("amount"), "{}", failure.reason);

    client.refresh(&index).await.map_err(fail)?;
    assert_eq!(client.count(&index, None).await.map_err(fail)?, 8);
    let stats = writer.flush().await;
    assert_eq!((stats.ok, stats.failures), (8, 1));
    Ok(())
}

#[tokio::test]
async fn nested_documents_are_searchable_after_a_bulk_load() -> TestResult {
    let (_es, client, index) = setup("nested").await?;
    let saved = client.begin_bulk_load(&index).await.map_err(fail)?;
    let mut writer = BulkWriter::new(
        client.clone(),
        BulkConfig {
            max_ops: 100,
            concurrency: 2,
            ..BulkConfig::default()
        },
    );
    let mut tickets = Vec::new();
    for page in 0..5u64 {
        let ops = (page * 100 + 1..=page * 100 + 100)
            .map(|i| {
                BulkOp::index(index.clone(), i.to_string(), order(i, i))
                    .version(i, VersionType::External)
            })
            .collect();
        tickets.push(writer.submit(ops).await);
    }
    let stats = writer.flush().await;
    for t in tickets {
        assert_eq!(t.await.map_err(fail)?.ok, 100);
    }
    assert_eq!(stats.ok, 500);
    client.end_bulk_load(&index, &saved).await.map_err(fail)?;
    client.refresh(&index).await.map_err(fail)?;
    let nested = json!({"nested": {"path": "items", "query": {"term": {"items.sku": "S42b"}}}});
    assert_eq!(client.count(&index, Some(&nested)).await.map_err(fail)?, 1);

    let settings: Value = client
        .request_json(
            mee_runtime::es::client::Method::Get,
            &format!("/{index}/_settings"),
            &[],
            None,
        )
        .await
        .map_err(fail)?;
    let refresh = &settings[&*index]["settings"]["index"]["refresh_interval"];
    assert_ne!(
        refresh, "-1",
        "the load settings must be undone: {settings}"
    );
    Ok(())
}
