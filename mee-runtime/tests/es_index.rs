//! Index management against the real OpenSearch-compatible test server (osmem).

use mee_runtime::es::{BulkConfig, BulkOp, BulkWriter, EsClient, ScanOptions};
use mee_testkit::{TestEs, TestResult, fail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

async fn populated(client: &EsClient, index: &str, docs: u64) -> TestResult {
    client
        .create_index(
            index,
            &Value::Null,
            &json!({"properties": {"n": {"type": "long"}}}),
        )
        .await
        .map_err(fail)?;
    let mut writer = BulkWriter::new(client.clone(), BulkConfig::default());
    let name: Arc<str> = Arc::from(index);
    let ops = (0..docs)
        .map(|i| {
            BulkOp::index(
                name.clone(),
                format!("{i:04}"),
                format!("{{\"n\":{i}}}").into_bytes(),
            )
        })
        .collect();
    let outcome = writer.write_batch(ops).await.map_err(fail)?;
    assert_eq!(outcome.ok, docs);
    client.refresh(index).await.map_err(fail)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_moves_are_atomic_for_concurrent_readers() -> TestResult {
    let es = TestEs::new().await?;
    let client = EsClient::new(es.url()).map_err(fail)?;
    let (a, b, alias) = (es.name("gen_a"), es.name("gen_b"), es.name("alias"));
    populated(&client, &a, 30).await?;
    populated(&client, &b, 40).await?;
    let first = client.move_alias(&alias, &a).await.map_err(fail)?;
    assert!(first.removed_from.is_empty());
    assert_eq!(
        client.alias_targets(&alias).await.map_err(fail)?,
        vec![a.clone()]
    );

    // A reader searches through the alias while the main task moves it back and forth. Every
    // search must find the alias and see all documents of exactly one generation.
    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicU64::new(0));
    let reader = {
        let (client, alias, stop, searches) = (
            client.clone(),
            alias.clone(),
            stop.clone(),
            searches.clone(),
        );
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..2000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let n = client
                    .count(&alias, None)
                    .await
                    .map_err(|e| format!("search through the alias failed: {e}"))?;
                if n != 30 && n != 40 {
                    return Err(format!("a search through the alias saw {n} documents"));
                }
                searches.fetch_add(1, Ordering::Relaxed);
                seen.push(n);
            }
            Ok::<_, String>(seen)
        })
    };
    for round in 0..20 {
        let target = if round % 2 == 0 { &b } else { &a };
        let moved = client.move_alias(&alias, target).await.map_err(fail)?;
        assert_eq!(moved.removed_from.len(), 1, "round {round}: {moved:?}");
        assert_eq!(
            client.alias_targets(&alias).await.map_err(fail)?,
            vec![target.clone()]
        );
        // Let the reader get at least one search in per position without sleeping: wait for its
        // counter to move (bounded by the reader's own loop limit).
        let before = searches.load(Ordering::Relaxed);
        for _ in 0..10_000 {
            if searches.load(Ordering::Relaxed) > before || reader.is_finished() {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let seen = reader.await.map_err(fail)?.map_err(fail)?;
    assert!(
        seen.len() >= 20,
        "the reader ran only {} searches",
        seen.len()
    );
    assert!(
        seen.contains(&30) && seen.contains(&40),
        "both generations should have been seen"
    );
    Ok(())
}

#[tokio::test]
async fn list_and_delete_by_prefix() -> TestResult {
    let es = TestEs::new().await?;
    let client = EsClient::new(es.url()).map_err(fail)?;
    for name in ["orders_1", "orders_2", "other"] {
        client
            .create_index(&es.name(name), &Value::Null, &Value::Null)
            .await
            .map_err(fail)?;
    }
    let listed: Vec<String> = client
        .list_indices(&format!("{}_orders_*", es.prefix()))
        .await
        .map_err(fail)?
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(listed, vec![es.name("orders_1"), es.name("orders_2")]);
    assert!(
        client
            .list_indices(&es.name("nothing_*"))
            .await
            .map_err(fail)?
            .is_empty()
    );
    assert!(
        client
            .list_indices(&es.name("missing"))
            .await
            .map_err(fail)?
            .is_empty()
    );
    assert!(client.index_exists(&es.name("other")).await.map_err(fail)?);

    let deleted = client
        .delete_indices_with_prefix(&format!("{}_orders_", es.prefix()))
        .await
        .map_err(fail)?;
    assert_eq!(deleted.len(), 2);
    let rest: Vec<String> = client
        .list_indices(&format!("{}_*", es.prefix()))
        .await
        .map_err(fail)?
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(rest, vec![es.name("other")]);
    assert!(
        !client
            .delete_index(&es.name("orders_1"))
            .await
            .map_err(fail)?
    );
    assert!(client.delete_index(&es.name("other")).await.map_err(fail)?);
    assert!(client.delete_indices_with_prefix("").await.is_err());
    Ok(())
}

#[tokio::test]
async fn scan_pages_through_a_whole_index_in_order() -> TestResult {
    let es = TestEs::new().await?;
    let client = EsClient::new(es.url()).map_err(fail)?;
    let index = es.name("scan");
    populated(&client, &index, 95).await?;
    let mut scan = client.scan(
        &index,
        ScanOptions {
            page_size: 20,
            ..ScanOptions::default()
        },
    );
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(page) = scan.next_page().await.map_err(fail)? {
        pages += 1;
        ids.extend(page.into_iter().map(|h| h.id));
    }
    assert_eq!(pages, 5);
    let expected: Vec<String> = (0..95).map(|i| format!("{i:04}")).collect();
    assert_eq!(ids, expected);

    let by_field = ScanOptions {
        sort_field: "n".into(),
        page_size: 50,
        ..ScanOptions::default()
    };
    let mut scan = client.scan(&index, by_field);
    let mut count = 0;
    while let Some(page) = scan.next_page().await.map_err(fail)? {
        count += page.len();
    }
    assert_eq!(count, 95);
    Ok(())
}

#[tokio::test]
async fn errors_name_the_problem() -> TestResult {
    let es = TestEs::new().await?;
    let client = EsClient::new(es.url()).map_err(fail)?;
    client.ping().await.map_err(fail)?;
    let index = es.name("dup");
    client
        .create_index(&index, &Value::Null, &Value::Null)
        .await
        .map_err(fail)?;
    let err = client
        .create_index(&index, &Value::Null, &Value::Null)
        .await
        .expect_err("exists");
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("already_exists"), "{err}");
    assert!(
        client
            .get_doc(&index, "nope", None)
            .await
            .map_err(fail)?
            .is_none()
    );
    assert!(
        client
            .alias_targets(&es.name("no_alias"))
            .await
            .map_err(fail)?
            .is_empty()
    );
    Ok(())
}
