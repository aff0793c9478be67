//! The state store against the real OpenSearch-compatible test server (osmem): round trips,
//! optimistic concurrency between processes, checkpoints.

use mee_runtime::binlog::position::BinlogPosition;
use mee_runtime::es::EsClient;
use mee_runtime::state::{
    Checkpoint, CheckpointKey, Clock, ErrorRecord, Generation, ManualClock, PipelineKey,
    PipelineState, PipelineStatus, Position, StateConfig, StateError, StateStore, Timestamp,
    Versioned,
};
use mee_testkit::{TestEs, TestResult, fail};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A store on the test's own state index, with a clock the test controls.
fn store(es: &TestEs, clock: &ManualClock) -> TestResult<StateStore> {
    let client = EsClient::new(es.url()).map_err(fail)?;
    let config = StateConfig {
        index: es.name("mee-state"),
        ..StateConfig::default()
    };
    Ok(StateStore::new(client, config)
        .map_err(fail)?
        .with_clock(Arc::new(clock.clone())))
}

async fn cleanup(es: &TestEs) -> TestResult {
    let client = EsClient::new(es.url()).map_err(fail)?;
    client
        .delete_indices_with_prefix(es.prefix())
        .await
        .map_err(fail)?;
    Ok(())
}

fn start() -> ManualClock {
    ManualClock::new(Timestamp::parse_rfc3339("2026-11-05T10:00:00Z").expect("valid"))
}

#[tokio::test]
async fn pipeline_state_round_trips_and_the_index_gets_its_mapping() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let store = store(&es, &clock)?;
    let key = PipelineKey::new("orders", es.name("orders"));

    // Reads on a fresh installation find nothing and create nothing.
    assert!(store.get_pipeline(&key).await.map_err(fail)?.is_none());
    assert!(store.list_pipelines().await.map_err(fail)?.is_empty());
    let client = EsClient::new(es.url()).map_err(fail)?;
    assert!(!client.index_exists(store.index()).await.map_err(fail)?);

    let mut state = PipelineState::new(&key, clock.now());
    state.status = PipelineStatus::FullUpdating;
    let mut building = Generation::new(es.name("orders_1"), "fp-1", clock.now());
    building.snapshot = Some(Position::from(
        BinlogPosition::new("binlog.000003", 1234).with_gtid("0-1-55"),
    ));
    state.building = Some(building);
    clock.advance(Duration::from_secs(5));
    let created = store.create(state.clone()).await.map_err(fail)?;
    assert_eq!(
        created.updated_at.to_rfc3339(),
        "2026-11-05T10:00:05.000Z",
        "the store stamps writes with its clock"
    );

    let read = store
        .get_pipeline(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("the state was not found right after it was written"))?;
    assert_eq!(
        read, created,
        "realtime GET returns exactly what was written"
    );

    // The stored JSON carries the envelope and the documented field names.
    let raw = client
        .get_doc(store.index(), &key.doc_id(), None)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("raw document missing"))?;
    assert_eq!(raw.source["doc_kind"], "pipeline");
    assert_eq!(raw.source["doc_id"], Value::String(key.doc_id()));
    assert_eq!(raw.source["status"], "full_updating");
    assert_eq!(raw.source["building"]["snapshot"]["kind"], "binlog");
    assert_eq!(raw.source["building"]["snapshot"]["gtid"], "0-1-55");

    let mapping = client
        .request_json(
            mee_runtime::es::client::Method::Get,
            &format!("/{}/_mapping", store.index()),
            &[],
            None,
        )
        .await
        .map_err(fail)?;
    let props = &mapping[store.index()]["mappings"];
    assert_eq!(props["dynamic"], "false", "{mapping}");
    assert_eq!(props["properties"]["doc_kind"]["type"], "keyword");

    // Creating a state again is refused rather than overwriting it. (Only a byte-identical
    // document counts as already created, which is how a resent create is recognised.)
    clock.advance(Duration::from_secs(1));
    state.status = PipelineStatus::Idle;
    let again = store.create(state).await;
    assert!(
        matches!(again, Err(StateError::AlreadyExists { .. })),
        "{again:?}"
    );

    // The full update finishes: promote the generation in a read-modify-write.
    clock.advance(Duration::from_secs(60));
    let (promoted, ()) = store
        .update::<PipelineState, _, StateError, _>(&key, |s| {
            if let Some(b) = s.building.as_mut() {
                b.docs = 42;
            }
            s.promote_building(Timestamp::parse_rfc3339("2026-11-05T10:01:00Z").expect("ts"))?;
            s.status = PipelineStatus::Syncing;
            Ok(())
        })
        .await
        .map_err(fail)?;
    assert_eq!(promoted.fingerprint, "fp-1");
    let active = promoted.active.as_ref().ok_or_else(|| fail("no active"))?;
    assert_eq!(active.docs, 42);
    assert!(promoted.building.is_none());
    assert!(promoted.check_fingerprint("fp-1").is_ok());
    assert!(matches!(
        promoted.check_fingerprint("fp-2"),
        Err(StateError::FingerprintMismatch { .. })
    ));

    let listed = store.list_pipelines().await.map_err(fail)?;
    assert_eq!(listed, vec![promoted]);
    cleanup(&es).await
}

#[tokio::test]
async fn stale_writers_conflict_instead_of_overwriting() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let store = store(&es, &clock)?;
    let key = PipelineKey::new("orders", es.name("orders"));
    store
        .create(PipelineState::new(&key, clock.now()))
        .await
        .map_err(fail)?;

    // Two processes read the same version.
    let other = store.clone();
    let mut first: Versioned<PipelineState> = store
        .get_pipeline(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;
    let mut second = other
        .get_pipeline(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;

    first.status = PipelineStatus::Syncing;
    store.save(&mut first).await.map_err(fail)?;

    second.status = PipelineStatus::FullUpdating;
    let lost = other.save(&mut second).await;
    match &lost {
        Err(e @ StateError::Conflict { .. }) => {
            assert!(e.to_string().contains("another process"), "{e}");
            assert!(e.is_conflict() && !e.is_transient());
        }
        other => return Err(fail(format!("expected a conflict, got {other:?}"))),
    }
    let stored = store
        .get_pipeline(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;
    assert_eq!(
        stored.status,
        PipelineStatus::Syncing,
        "the winner's write stays"
    );

    // The winner can keep writing with its fresh token.
    first.last_error = Some(ErrorRecord::new(clock.now(), "a"));
    store.save(&mut first).await.map_err(fail)?;

    // Deleting with a stale token is a conflict too.
    let deleted = store.delete(&second).await;
    assert!(
        matches!(deleted, Err(StateError::Conflict { .. })),
        "{deleted:?}"
    );

    // Closures re-applied on conflict: eight concurrent writers each add one generation, and
    // none of the additions is lost.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            store
                .update::<PipelineState, _, StateError, _>(&key, move |s| {
                    s.previous
                        .push(Generation::new(format!("gen-{i}"), "fp", Timestamp::EPOCH));
                    Ok(())
                })
                .await
        }));
    }
    for t in tasks {
        t.await.map_err(fail)?.map_err(fail)?;
    }
    let stored = store
        .get_pipeline(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;
    let mut names: Vec<&str> = stored.previous.iter().map(|g| g.index.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "gen-0", "gen-1", "gen-2", "gen-3", "gen-4", "gen-5", "gen-6", "gen-7"
        ]
    );

    // A closure's own error aborts without writing.
    let before = stored.seq;
    let refused = store
        .update::<PipelineState, (), StateError, _>(&key, |s| {
            s.check_fingerprint("something else")?;
            s.status = PipelineStatus::Failed;
            Ok(())
        })
        .await;
    assert!(
        refused.is_ok(),
        "no active generation, so any fingerprint passes"
    );
    let refused = store
        .update::<PipelineState, (), StateError, _>(&key, |_| {
            Err(StateError::InvalidTransition {
                pipeline: "orders".into(),
                alias: "x".into(),
                reason: "refused by the test".into(),
            })
        })
        .await;
    assert!(matches!(refused, Err(StateError::InvalidTransition { .. })));
    let after = store
        .get_pipeline(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;
    assert_ne!(after.seq, before, "the first update wrote");
    assert_eq!(after.status, PipelineStatus::Failed);

    // Updating something that does not exist says so.
    let missing = store
        .update::<PipelineState, (), StateError, _>(&PipelineKey::new("nope", "nope"), |_| Ok(()))
        .await;
    assert!(
        matches!(missing, Err(StateError::NotFound { .. })),
        "{missing:?}"
    );
    cleanup(&es).await
}

#[tokio::test]
async fn checkpoints_are_written_read_and_fenced() -> TestResult {
    let es = TestEs::new().await?;
    let clock = start();
    let store = store(&es, &clock)?;
    let key = CheckpointKey::sync("orders");
    assert!(store.get_checkpoint(&key).await.map_err(fail)?.is_none());

    // The sync engine creates its checkpoint at the snapshot position, then saves after every
    // acknowledged batch; each save is visible to a realtime read at once.
    let snapshot = BinlogPosition::new("binlog.000001", 4);
    let mut cp = store
        .create(Checkpoint::new(&key, snapshot.into(), clock.now()))
        .await
        .map_err(fail)?;
    for pos in [120u64, 480, 960] {
        clock.advance(Duration::from_millis(250));
        cp.position = BinlogPosition::new("binlog.000001", pos).into();
        cp.source_time = Some(clock.now().minus(Duration::from_millis(100)));
        store.save(&mut cp).await.map_err(fail)?;
        let read = store
            .get_checkpoint(&key)
            .await
            .map_err(fail)?
            .ok_or_else(|| fail("checkpoint missing"))?;
        assert_eq!(read, cp);
        assert_eq!(
            read.position.as_binlog().map(|p| p.pos),
            Some(pos),
            "realtime read after save"
        );
    }

    // A second `mee run` that took over the pipeline writes the checkpoint; the first one's next
    // write is refused, so it cannot move the position back.
    let mut intruder = store
        .get_checkpoint(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("missing"))?;
    intruder.push_error(ErrorRecord::new(clock.now(), "took over").with_context("test"));
    store.save(&mut intruder).await.map_err(fail)?;
    cp.position = BinlogPosition::new("binlog.000001", 2000).into();
    assert!(matches!(
        store.save(&mut cp).await,
        Err(StateError::Conflict { .. })
    ));

    // Polling checkpoints: upsert creates on first use, then changes in place.
    let poll = CheckpointKey::poll("orders");
    let watermark = |text: &str| -> TestResult<Position> {
        serde_json::from_value(serde_json::json!({"kind": "polling", "next_start_from": text}))
            .map_err(fail)
    };
    let first_window = watermark("2026-11-05T09:58:00")?;
    let second_window = watermark("2026-11-05T10:00:00")?;
    for (window, error) in [(first_window, "batch 3 failed"), (second_window, "timeout")] {
        let (saved, ()) = store
            .upsert::<Checkpoint, _, StateError, _, _>(
                &poll,
                || Checkpoint::new(&poll, window.clone(), Timestamp::EPOCH),
                |c| {
                    c.position = window.clone();
                    c.push_error(ErrorRecord::new(Timestamp::EPOCH, error));
                    Ok(())
                },
            )
            .await
            .map_err(fail)?;
        assert_eq!(saved.position, window);
    }
    let polled = store
        .get_checkpoint(&poll)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("poll checkpoint missing"))?;
    let errors: Vec<&str> = polled
        .recent_errors
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(errors, ["batch 3 failed", "timeout"]);
    assert_eq!(
        polled.position.next_start_from().map(|d| d.to_string()),
        Some("2026-11-05T10:00:00".to_string())
    );

    // Listing by pipeline finds both checkpoints, and no pipeline states.
    let listed = store.list_checkpoints(Some("orders")).await.map_err(fail)?;
    let scopes: Vec<&str> = listed.iter().map(|c| c.scope.as_str()).collect();
    assert_eq!(scopes, ["poll", "sync"]);
    assert!(store.list_pipelines().await.map_err(fail)?.is_empty());
    assert!(
        store
            .list_checkpoints(Some("other"))
            .await
            .map_err(fail)?
            .is_empty()
    );
    cleanup(&es).await
}
