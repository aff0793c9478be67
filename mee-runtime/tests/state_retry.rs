//! The retry table against the real OpenSearch-compatible test server (osmem).

use mee_runtime::Value;
use mee_runtime::es::EsClient;
use mee_runtime::es::client::Method;
use mee_runtime::state::{
    FailedDoc, FailureKind, ManualClock, PageRequest, RetryConfig, RetryFilter, RetryKey,
    RetryOrder, RetryTable, StateError, Timestamp,
};
use mee_testkit::{TestEs, TestResult, fail};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

fn table(es: &TestEs, clock: &ManualClock) -> TestResult<RetryTable> {
    let client = EsClient::new(es.url()).map_err(fail)?;
    let config = RetryConfig {
        index: es.name("mee-retry"),
        ..RetryConfig::default()
    };
    Ok(RetryTable::new(client, config)
        .map_err(fail)?
        .with_clock(Arc::new(clock.clone())))
}

fn start() -> ManualClock {
    ManualClock::new(Timestamp::parse_rfc3339("2026-11-05T10:00:00Z").expect("valid"))
}

fn failure(pipeline: &str, key: i64) -> FailedDoc {
    FailedDoc::build_failed(
        pipeline,
        "orders",
        key.to_string(),
        vec![Value::Int(key)],
        format!("cannot build order {key}"),
    )
}

async fn cleanup(es: &TestEs) -> TestResult {
    let client = EsClient::new(es.url()).map_err(fail)?;
    client
        .delete_indices_with_prefix(es.prefix())
        .await
        .map_err(fail)?;
    Ok(())
}

#[tokio::test]
async fn the_same_failure_twice_is_one_record_with_two_attempts() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let retry = table(&es, &clock)?;
    let first = failure("orders", 7);
    let out = retry
        .record_failures(std::slice::from_ref(&first))
        .await
        .map_err(fail)?;
    assert_eq!((out.created, out.updated), (1, 0));

    clock.advance(Duration::from_secs(30));
    let mut second = first.clone();
    second.error = "rejected".into();
    second.error_kind = FailureKind::Rejected {
        status: 400,
        error_type: "mapper_parsing_exception".into(),
    };
    second.version = Some(99);
    let out = retry
        .record_failures(std::slice::from_ref(&second))
        .await
        .map_err(fail)?;
    assert_eq!((out.created, out.updated), (0, 1));

    // Realtime read by key: one record, the latest error, both timestamps.
    let entry = retry
        .get(&first.key())
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("record missing"))?;
    assert_eq!(entry.id, first.key().id());
    let r = &entry.record;
    assert_eq!(r.attempts, 2);
    assert_eq!(r.error, "rejected");
    assert_eq!(r.error_kind, second.error_kind);
    assert_eq!(r.version, Some(99));
    assert_eq!(r.first_seen.to_rfc3339(), "2026-11-05T10:00:00.000Z");
    assert_eq!(r.last_seen.to_rfc3339(), "2026-11-05T10:00:30.000Z");
    assert_eq!(r.master_key, vec![Value::Int(7)]);
    assert!(!r.resolved);

    // The same document twice in one call counts twice, still as one record.
    retry
        .record_failures(&[first.clone(), first.clone()])
        .await
        .map_err(fail)?;
    retry.refresh().await.map_err(fail)?;
    assert_eq!(retry.count("orders").await.map_err(fail)?, 1);
    let entry = retry
        .get(&first.key())
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("record missing"))?;
    assert_eq!(entry.record.attempts, 4);

    // A key that never failed has no record.
    let unknown = RetryKey {
        master_key: vec![Value::Int(8)],
        ..first.key()
    };
    assert!(retry.get(&unknown).await.map_err(fail)?.is_none());
    cleanup(&es).await
}

#[tokio::test]
async fn listing_counting_thresholds_and_resolution() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let retry = table(&es, &clock)?;

    // Keys 1-3 fail once, keys 4-5 three times; another pipeline and alias add noise.
    for round in 0..3 {
        let keys: Vec<i64> = if round == 0 {
            (1..=5).collect()
        } else {
            vec![4, 5]
        };
        let batch: Vec<FailedDoc> = keys.iter().map(|&k| failure("orders", k)).collect();
        retry.record_failures(&batch).await.map_err(fail)?;
        clock.advance(Duration::from_secs(10));
    }
    let mut other_alias = failure("orders", 1);
    other_alias.alias = "orders_archive".into();
    retry
        .record_failures(&[failure("customers", 1), other_alias])
        .await
        .map_err(fail)?;
    retry.refresh().await.map_err(fail)?;

    assert_eq!(retry.count("orders").await.map_err(fail)?, 6);
    assert_eq!(retry.count("customers").await.map_err(fail)?, 1);
    assert_eq!(retry.count("nobody").await.map_err(fail)?, 0);
    let main_alias = RetryFilter {
        alias: Some("orders".into()),
        ..RetryFilter::unresolved()
    };
    assert_eq!(
        retry
            .count_matching("orders", &main_alias)
            .await
            .map_err(fail)?,
        5
    );

    let ids = |entries: &[mee_runtime::state::RetryEntry]| -> Vec<String> {
        entries
            .iter()
            .map(|e| format!("{}/{}", e.record.alias, e.record.document_id))
            .collect()
    };
    // Threshold 2: keys with one attempt are due, keys with three are over it.
    let due = retry.due_for_retry("orders", 2, 100).await.map_err(fail)?;
    let due_ids: BTreeSet<String> = ids(&due).into_iter().collect();
    let expected: BTreeSet<String> = ["orders/1", "orders/2", "orders/3", "orders_archive/1"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(due_ids, expected);
    // Longest-waiting first: the archive record was seen last.
    assert_eq!(
        ids(&due).last().map(String::as_str),
        Some("orders_archive/1")
    );
    let over = retry.over_threshold("orders", 2, 100).await.map_err(fail)?;
    assert_eq!(ids(&over).len(), 2);
    assert!(over.iter().all(|e| e.record.attempts == 3));

    // Paging, newest first, two at a time, visits every record once.
    let mut page = PageRequest::first(2, RetryOrder::NewestFirst);
    let mut seen = Vec::new();
    loop {
        let got = retry
            .list("orders", &RetryFilter::default(), &page)
            .await
            .map_err(fail)?;
        seen.extend(ids(&got.entries));
        match got.next {
            // The cursor survives a trip through its text form (as a CLI argument would).
            Some(next) => page.after = Some(next.to_string().parse().map_err(fail)?),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 6);
    assert_eq!(seen[0], "orders_archive/1");

    // A replay fixed the due records, but key 1 failed again after it was read for the replay:
    // that record must stay unresolved.
    clock.advance(Duration::from_secs(10));
    retry
        .record_failures(&[failure("orders", 1)])
        .await
        .map_err(fail)?;
    let outcome = retry.mark_resolved(&due).await.map_err(fail)?;
    assert_eq!(outcome.resolved, 3);
    assert_eq!(outcome.changed, vec![failure("orders", 1).key().id()]);
    retry.refresh().await.map_err(fail)?;
    assert_eq!(retry.count("orders").await.map_err(fail)?, 3);
    let resolved = RetryFilter {
        resolved: Some(true),
        ..RetryFilter::default()
    };
    assert_eq!(
        retry
            .count_matching("orders", &resolved)
            .await
            .map_err(fail)?,
        3
    );
    let still = retry
        .get(&failure("orders", 1).key())
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;
    assert_eq!((still.record.attempts, still.record.resolved), (2, false));

    // A resolved document that fails again starts a new episode with fresh attempts.
    retry
        .record_failures(&[failure("orders", 2)])
        .await
        .map_err(fail)?;
    let reopened = retry
        .get(&failure("orders", 2).key())
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;
    assert_eq!(
        (
            reopened.record.attempts,
            reopened.record.resolved,
            reopened.record.resolved_at
        ),
        (1, false, None)
    );

    // Retention: resolved records older than the cut-off go, unresolved ones stay whatever
    // their age. Only orders/3 and orders_archive/1 are still resolved.
    let cut = Timestamp::parse_rfc3339("2026-11-05T11:00:00Z").map_err(fail)?;
    assert_eq!(retry.purge_resolved("orders", cut).await.map_err(fail)?, 2);
    retry.refresh().await.map_err(fail)?;
    assert_eq!(
        retry
            .count_matching("orders", &resolved)
            .await
            .map_err(fail)?,
        0
    );
    assert_eq!(retry.count("orders").await.map_err(fail)?, 4);
    assert_eq!(retry.count("customers").await.map_err(fail)?, 1);
    cleanup(&es).await
}

#[tokio::test]
async fn a_batch_of_500_failures_is_one_bulk_request() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let retry = table(&es, &clock)?;
    let batch: Vec<FailedDoc> = (0..500).map(|k| failure("orders", k)).collect();
    let out = retry.record_failures(&batch).await.map_err(fail)?;
    assert_eq!(out.created, 500);
    let stats = retry.stats();
    assert_eq!(
        (
            stats.bulk_requests,
            stats.mget_requests,
            stats.conflict_rounds
        ),
        (1, 1, 0),
        "{stats:?}"
    );

    // The second failure of all 500 is again one read and one write.
    let out = retry.record_failures(&batch).await.map_err(fail)?;
    assert_eq!(out.updated, 500);
    let stats = retry.stats();
    assert_eq!((stats.bulk_requests, stats.mget_requests), (2, 2));

    retry.refresh().await.map_err(fail)?;
    assert_eq!(retry.count("orders").await.map_err(fail)?, 500);
    let mut page = PageRequest::first(200, RetryOrder::OldestFirst);
    let mut keys = BTreeSet::new();
    loop {
        let got = retry
            .list("orders", &RetryFilter::unresolved(), &page)
            .await
            .map_err(fail)?;
        for e in &got.entries {
            assert_eq!(e.record.attempts, 2);
            keys.insert(e.record.master_key[0].as_i64().unwrap_or(-1));
        }
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(keys, (0..500).collect::<BTreeSet<i64>>());
    cleanup(&es).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_recorders_lose_no_attempt() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let shared: Vec<FailedDoc> = (0..5).map(|k| failure("orders", k)).collect();
    let mut tasks = Vec::new();
    // Two independent tables (as two processes would have) record the same documents at once.
    for _ in 0..2 {
        let retry = table(&es, &clock)?;
        let batch = shared.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                retry.record_failures(&batch).await?;
            }
            Ok::<_, StateError>(retry.stats())
        }));
    }
    let mut rounds = 0;
    for t in tasks {
        rounds += t.await.map_err(fail)?.map_err(fail)?.conflict_rounds;
    }
    let retry = table(&es, &clock)?;
    for f in &shared {
        let entry = retry
            .get(&f.key())
            .await
            .map_err(fail)?
            .ok_or_else(|| fail("missing"))?;
        assert_eq!(entry.record.attempts, 20, "conflict rounds: {rounds}");
    }
    cleanup(&es).await
}

#[tokio::test]
async fn an_unwritable_retry_index_is_an_error_not_a_silent_loss() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let client = EsClient::new(es.url()).map_err(fail)?;
    // Someone created the retry index with a mapping where `pipeline` is a number: every record
    // is refused by the server.
    client
        .create_index(
            &es.name("mee-retry"),
            &serde_json::Value::Null,
            &json!({"properties": {"pipeline": {"type": "long"}}}),
        )
        .await
        .map_err(fail)?;
    let retry = table(&es, &clock)?;
    let result = retry
        .record_failures(&[failure("orders", 1), failure("orders", 2)])
        .await;
    match &result {
        Err(e @ StateError::RetryWrite { failed, total, .. }) => {
            assert_eq!((*failed, *total), (2, 2));
            assert!(e.to_string().contains("could not be written"), "{e}");
        }
        other => return Err(fail(format!("expected RetryWrite, got {other:?}"))),
    }

    // A server that is not there is an error too (after a few quick retries).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(fail)?;
        l.local_addr().map_err(fail)?.port()
    };
    let dead = RetryTable::new(
        EsClient::new(&format!("http://127.0.0.1:{port}")).map_err(fail)?,
        RetryConfig::default(),
    )
    .map_err(fail)?;
    let result = dead.record_failures(&[failure("orders", 1)]).await;
    assert!(matches!(&result, Err(e) if e.is_transient()), "{result:?}");
    // Reading the raw index confirms nothing half-written is there.
    let count = client
        .request_json(
            Method::Post,
            &format!("/{}/_count", es.name("mee-retry")),
            &[],
            None,
        )
        .await
        .map_err(fail)?;
    assert_eq!(count["count"], 0);
    cleanup(&es).await
}
