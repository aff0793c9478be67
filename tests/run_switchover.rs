//! Rebuilds next to a running sync, and the guards between processes, on real MariaDB and osmem:
//! - `mee update` while `mee run` follows the index: the follower brings the new generation up to
//!   date and moves the alias, and a reader of the alias never sees a document missing or older
//!   than one it saw before;
//! - `mee update` alone: a search through the alias never sees an empty or mixed index while the
//!   alias moves;
//! - a second `mee update` or `mee run` of the same index is refused while one runs.
#![cfg(feature = "pipeline-vehicles")]

mod common;

use common::Env;
use common::sync::{eventually_equal, fresh_documents};
use mee::generated::vehicles::index_vehicle as veh;
use mee_runtime::pipeline::IndexPipeline;
use mee_runtime::run::{RunError, RunOptions, run};
use mee_runtime::state::{PipelineKey, PipelineState, StateError};
use mee_runtime::update::{
    NoProgress, UpdateError, UpdateOptions, UpdateReport, update_with_state,
};
use mee_testkit::{TestFailure, TestResult, eventually, fail};
use mysql_async::prelude::Queryable;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The vehicles fixture with `extra` more vehicles, so that a full update takes a moment, and
/// the number of documents a full update builds.
async fn fixture(extra: u32) -> TestResult<(Env, u64)> {
    let mut mysql = common::vehicles().await?;
    let cert = mysql.db("certify_service").to_string();
    mysql
        .exec(&format!(
            "INSERT INTO `{cert}`.vehicle SELECT seq, NULL, NULL, 10, 0 FROM seq_100_to_{}",
            99 + extra
        ))
        .await?;
    let env = Env::new(mysql, "index_vehicle").await?;
    // Vehicles 1, 2 and 5 of the base data, plus the extra ones.
    Ok((env, 3 + u64::from(extra)))
}

/// A `mee update` of the index: it takes the updater lease and records its generation.
async fn update(env: &Env) -> Result<UpdateReport, UpdateError> {
    update_with_state(
        &veh::Index,
        &env.source,
        &env.es,
        &env.state,
        &env.retry,
        &update_options(&env.alias),
        &NoProgress,
    )
    .await
}

/// Waits until the index's state shows `what` (a lease the other process took).
async fn wait_for_state(
    env: &Env,
    what: &str,
    shows: impl Fn(&PipelineState) -> bool,
) -> TestResult {
    let key = PipelineKey::new(veh::Index.pipeline(), env.alias.clone());
    eventually(what, Duration::from_secs(20), || async {
        let s = env.state.get_pipeline(&key).await.map_err(fail)?;
        Ok(s.filter(|s| shows(&s.doc)).map(|_| ()))
    })
    .await
}

fn update_options(alias: &str) -> UpdateOptions {
    UpdateOptions {
        alias: Some(alias.to_string()),
        // Small pages: the load takes long enough for things to happen during it.
        page_size: 50,
        ..UpdateOptions::default()
    }
}

fn run_options(alias: &str, server_id_base: u32) -> RunOptions {
    RunOptions {
        update: update_options(alias),
        ..common::run_options(alias, server_id_base)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_next_to_run_switches_over_with_no_missing_or_stale_document() -> TestResult {
    let (env, total) = fixture(400).await?;
    let (es, state, alias) = (&env.es, &env.state, &env.alias);
    let cert = env.mysql.db("certify_service").to_string();
    // The marker writer's own connection, so that it writes while everything else reads `env`.
    let mut writer = env.mysql.admin_conn().await?;
    let services = env.services();
    let (stop_tx, stop_rx) = watch::channel(false);
    let options = run_options(alias, 4_000_000);
    let follower = run(&veh::Index, &services, &options, stop_rx);

    let steps = async {
        let first = eventually("the first generation", Duration::from_secs(30), || async {
            Ok(es.alias_targets(alias).await.ok().filter(|t| t.len() == 1))
        })
        .await?;
        // The follower moves the alias, then records the generation as active; an update
        // started between the two is refused (the generation still waits for its switch).
        wait_for_state(&env, "the first generation recorded as active", |s| {
            s.building.is_none() && s.active.as_ref().is_some_and(|g| first.contains(&g.index))
        })
        .await?;

        // A writer bumps a marker on vehicle 1 and waits to see each value through the alias,
        // checking every time that the alias serves all documents and never an older marker.
        let switched = AtomicBool::new(false);
        let marker_writer = async {
            let writer = &mut writer;
            let seen = AtomicI64::new(0);
            let mut after_switch = 0;
            for k in 1..=400i64 {
                if switched.load(Ordering::SeqCst) {
                    after_switch += 1;
                    if after_switch > 5 {
                        return Ok::<i64, TestFailure>(k);
                    }
                }
                let marker = 1000 + k;
                writer
                    .query_drop(format!(
                        "UPDATE `{cert}`.vehicle SET vehicle_type_id = {marker} WHERE id = 1;
                         UPDATE `{cert}`.vehicle SET status = 1 WHERE id = {}",
                        // Each step also changes a document no later step touches: one changed
                        // between the new generation's snapshot and the switch-over must still
                        // reach it (the catch-up's job).
                        99 + k
                    ))
                    .await?;
                eventually("the marker through the alias", Duration::from_secs(20), || {
                    let seen = &seen;
                    async move {
                        let doc = es.get_doc(alias, "vehicle_1", None).await.map_err(fail)?;
                        let Some(doc) = doc else {
                            return Err(TestFailure::new("vehicle_1 missing from the alias"));
                        };
                        let now = doc.source["vehicle_type_id"].as_i64().unwrap_or(0);
                        let before = seen.fetch_max(now, Ordering::SeqCst);
                        if now < before {
                            return Err(TestFailure::new(format!(
                                "stale: the alias served marker {now} after {before} (index {})",
                                doc.index
                            )));
                        }
                        let count = es.count(alias, None).await.map_err(fail)?;
                        if count != total {
                            return Err(TestFailure::new(format!(
                                "the alias served {count} documents, not {total}"
                            )));
                        }
                        Ok((now >= marker).then_some(()))
                    }
                })
                .await?;
            }
            Err(TestFailure::new("the switch-over did not happen"))
        };
        let rebuild = async {
            let report = update(&env).await.map_err(fail)?;
            // The follower is running: the update leaves the alias to it.
            assert!(!report.alias_moved, "{report:?}");
            assert!(report.handed_over_to.is_some(), "{report:?}");
            let now = es.alias_targets(alias).await.map_err(fail)?;
            assert_eq!(now, first, "the update itself must not move the alias");
            eventually(
                "the follower to switch over",
                Duration::from_secs(30),
                || async {
                    let targets = es.alias_targets(alias).await.map_err(fail)?;
                    Ok((targets == vec![report.index.clone()]).then_some(()))
                },
            )
            .await?;
            switched.store(true, Ordering::SeqCst);
            Ok::<_, TestFailure>(report.index)
        };
        let (markers, new_index) = tokio::join!(marker_writer, rebuild);
        // The rebuild's error first: a switch-over that never came is its consequence for the
        // markers.
        let (new_index, markers) = (new_index?, markers?);
        assert!(markers > 5, "markers were written during the switch-over");

        // The switched index equals a fresh build, and the state names it as active.
        let expected = fresh_documents(&veh::Index, &env.source, es, &env.test_es).await?;
        eventually_equal(es, alias, &expected, Duration::from_secs(20)).await?;
        let key = PipelineKey::new(veh::Index.pipeline(), alias.clone());
        let stored = state
            .get_pipeline(&key)
            .await
            .map_err(fail)?
            .ok_or_else(|| TestFailure::new("no state"))?;
        assert_eq!(
            stored.doc.active.as_ref().map(|g| g.index.clone()),
            Some(new_index.clone())
        );
        assert!(stored.doc.building.is_none(), "{:?}", stored.doc.building);
        Ok::<_, TestFailure>(new_index)
    };
    let (report, driven) = common::beside(follower, steps, stop_tx).await;
    // A step that timed out is often the follower's doing: say how it ended.
    let new_index = driven.map_err(|e| {
        TestFailure::new(format!(
            "{}; the follower ended with {report:?}",
            e.message()
        ))
    })?;
    let report = report.map_err(fail)?;
    assert!(report.promoted.contains(&new_index), "{report:?}");
    assert_eq!(
        report.promoted.len(),
        2,
        "its own first generation, then the rebuild"
    );
    env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_through_the_alias_never_sees_an_empty_or_mixed_index_during_the_move()
-> TestResult {
    let (env, total) = fixture(300).await?;
    let (es, alias) = (&env.es, &env.alias);
    let first = update(&env).await.map_err(fail)?;
    assert!(first.alias_moved);

    let done = AtomicBool::new(false);
    let searcher = async {
        let mut searches = 0u32;
        while !done.load(Ordering::SeqCst) {
            let count = es.count(alias, None).await.map_err(fail)?;
            if count != total {
                return Err(TestFailure::new(format!(
                    "search {searches}: the alias served {count} documents, not {total}"
                )));
            }
            searches += 1;
        }
        Ok::<u32, TestFailure>(searches)
    };
    let second = async {
        let r = update(&env).await.map_err(fail);
        done.store(true, Ordering::SeqCst);
        r
    };
    let (searches, second) = tokio::join!(searcher, second);
    let (searches, second) = (searches?, second?);
    assert!(second.alias_moved);
    assert!(
        searches > 3,
        "the searcher ran during the update ({searches} searches)"
    );
    assert_eq!(
        es.alias_targets(alias).await.map_err(fail)?,
        vec![second.index.clone()]
    );
    // The previous generation is kept (keep 1), the one before was never there.
    assert_eq!(second.previous, vec![first.index.clone()]);
    env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_update_or_follower_of_the_same_index_is_refused() -> TestResult {
    let (env, _) = fixture(600).await?;
    let (es, state, alias) = (&env.es, &env.state, &env.alias);
    let key = PipelineKey::new(veh::Index.pipeline(), alias.clone());

    // A second update while the first one runs is refused, and writes nothing.
    let (first, second) = tokio::join!(update(&env), async {
        wait_for_state(&env, "the first update to hold the lease", |s| {
            s.updater.is_some()
        })
        .await?;
        let names = || async {
            let indices = es.list_indices(&format!("{alias}_*")).await.map_err(fail)?;
            Ok::<_, TestFailure>(
                indices
                    .into_iter()
                    .map(|i| i.name)
                    .collect::<std::collections::BTreeSet<_>>(),
            )
        };
        let before = names().await?;
        let refused = update(&env).await;
        let after = names().await?;
        Ok::<_, TestFailure>((refused, before, after))
    });
    let first = first.map_err(fail)?;
    let (refused, mut before, mut after) = second?;
    // The first update may create its own index at any moment meanwhile.
    before.remove(&first.index);
    after.remove(&first.index);
    match refused {
        Err(UpdateError::State(e @ StateError::Held { .. })) => {
            let message = e.to_string();
            assert!(
                message.contains("being rebuilt by a `mee update`"),
                "{message}"
            );
        }
        other => panic!("expected the second update to be refused, got {other:?}"),
    }
    assert_eq!(before, after, "the refused update created no index");
    assert!(first.alias_moved);
    // Once the first one finished, another update runs.
    update(&env).await.map_err(fail)?;

    // Likewise a second follower next to a running one.
    let services = env.services();
    let (stop_tx, stop_rx) = watch::channel(false);
    let first_options = run_options(alias, 5_000_000);
    let follower = run(&veh::Index, &services, &first_options, stop_rx.clone());
    let second = async {
        wait_for_state(&env, "the follower to hold the lease", |s| {
            s.follower.is_some()
        })
        .await?;
        let refused = run(
            &veh::Index,
            &services,
            &run_options(alias, 5_100_000),
            stop_rx.clone(),
        )
        .await;
        Ok::<_, TestFailure>(refused)
    };
    let (follower, refused) = common::beside(follower, second, stop_tx).await;
    follower.map_err(fail)?;
    match refused? {
        Err(RunError::State(e @ StateError::Held { .. })) => {
            assert!(e.to_string().contains("followed by a `mee run`"), "{e}");
        }
        other => panic!("expected the second follower to be refused, got {other:?}"),
    }
    // A stopped follower released its lease.
    let s = state
        .get_pipeline(&key)
        .await
        .map_err(fail)?
        .ok_or_else(|| TestFailure::new("no state"))?;
    assert!(s.doc.follower.is_none(), "{:?}", s.doc.follower);
    env.mysql.drop_databases().await
}
