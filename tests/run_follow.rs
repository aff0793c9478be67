//! `run`, the embedded sync, on real MariaDB and osmem: the first start builds the index and moves
//! the alias only after catching up; live changes then reach the index; a stop saves the
//! checkpoint; a restart resumes from it without a new full update; on a server that is never
//! quiet the alias still moves.
#![cfg(feature = "pipeline-vehicles")]

mod common;

use common::sync::{eventually_equal, fresh_documents};
use mee::generated::vehicles::index_vehicle as veh;
use mee_runtime::run::{Services, run};
use mee_testkit::{TestResult, fail};
use std::time::Duration;
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_follows_changes_and_resumes_from_its_checkpoint() -> TestResult {
    let mut mysql = common::vehicles().await?;
    // Enough rows that the first full update takes a while (pages of 7).
    let cert0 = mysql.db("certify_service").to_string();
    mysql
        .exec(&format!(
            "INSERT INTO `{cert0}`.vehicle SELECT seq, NULL, NULL, NULL, 0 FROM seq_100_to_2100"
        ))
        .await?;
    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let (state, retry) = common::stores(&test_es, &es)?;
    let alias = test_es.name("index_vehicle");
    let options = common::run_options(&alias, 3_000_000);
    let (cert, track) = (
        mysql.db("certify_service").to_string(),
        mysql.db("track_service").to_string(),
    );

    for round in 0..2u32 {
        let (stop_tx, stop_rx) = watch::channel(false);
        let services = Services {
            source: &source,
            es: &es,
            state: &state,
            retry: &retry,
        };
        let follower = run(&veh::Index, &services, &options, stop_rx);
        let changes = async {
            if round == 0 {
                // Written while the first full update runs (before or after its snapshot, the
                // row must end up in the index: in the snapshot, or caught up from the binlog).
                mysql
                    .exec(&format!(
                        "INSERT INTO `{cert}`.vehicle VALUES (9,'2020-01-01 00:00:00',NULL,10,1)"
                    ))
                    .await?;
            }
            // The alias appears once the follower caught up with the head.
            common::alias_moved(
                &es,
                &alias,
                "the alias to point at the new generation",
                Duration::from_secs(20),
            )
            .await?;
            if round == 0 {
                mysql
                    .exec(&format!(
                        "UPDATE `{cert}`.vehicle SET status = 9 WHERE id = 1;
                         UPDATE `{cert}`.vehicle_type SET name = 'lorry' WHERE id = 10;
                         DELETE FROM `{cert}`.vehicle WHERE id = 5;"
                    ))
                    .await?;
            } else {
                mysql
                    .exec(&format!(
                        "INSERT INTO `{track}`.vehicle_monitor VALUES (104,1,1,1,'new');
                         INSERT INTO `{cert}`.vehicle VALUES (8,'2020-01-01 00:00:00',NULL,10,1);"
                    ))
                    .await?;
            }
            // The index as a fresh full update would build it now.
            let expected = fresh_documents(&veh::Index, &source, &es, &test_es).await?;
            eventually_equal(&es, &alias, &expected, Duration::from_secs(20)).await
        };
        let (report, driven) = common::beside(follower, changes, stop_tx).await;
        driven?;
        let report = report.map_err(fail)?;
        // The first round builds the index; the restart resumes from the checkpoint.
        assert_eq!(report.full_update, round == 0, "round {round}: {report:?}");
        assert!(
            report.checkpoint.is_some(),
            "round {round}: a batch was applied and checkpointed"
        );
    }
    mysql.drop_databases().await
}

/// On a server that is never quiet for a whole batch window, the first start still moves the
/// alias: caught up means past the binlog's end as it was once the generation was built, not
/// only an idle binlog. A writer commits a change every 10 ms (the window is 100 ms) until the
/// alias has moved, so the alias can only appear while the changes go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alias_moves_while_changes_never_stop() -> TestResult {
    let mysql = common::vehicles().await?;
    let cert = mysql.db("certify_service").to_string();
    let mut writer_conn = mysql.admin_conn().await?;
    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let (state, retry) = common::stores(&test_es, &es)?;
    let alias = test_es.name("index_vehicle");
    let options = common::run_options(&alias, 3_100_000);
    let services = Services {
        source: &source,
        es: &es,
        state: &state,
        retry: &retry,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let (quiet_tx, mut quiet_rx) = watch::channel(false);
    let follower = run(&veh::Index, &services, &options, stop_rx);
    let writer = async {
        use mysql_async::prelude::Queryable;
        let mut commits = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tokio::select! {
                _ = quiet_rx.changed() => break,
                _ = tick.tick() => {}
            }
            writer_conn
                .query_drop(format!(
                    "UPDATE `{cert}`.vehicle SET status = (status + 1) % 7 WHERE id = 1"
                ))
                .await
                .map_err(fail)?;
            commits += 1;
        }
        Ok::<_, mee_testkit::TestFailure>(commits)
    };
    let driver = async {
        let moved = common::alias_moved(
            &es,
            &alias,
            "the alias to move while changes go on",
            Duration::from_secs(30),
        )
        .await;
        // The writer stops either way, so that a failure is reported rather than waited on.
        quiet_tx.send(true).map_err(fail)?;
        moved.map(drop)
    };
    let after_alias = async {
        let (written, driven) = tokio::join!(writer, driver);
        driven?;
        let commits = written?;
        assert!(commits > 0, "the writer committed nothing");
        // Quiet now: the index ends equal to a fresh full update.
        let expected = fresh_documents(&veh::Index, &source, &es, &test_es).await?;
        eventually_equal(&es, &alias, &expected, Duration::from_secs(20)).await
    };
    let (report, checked) = common::beside(follower, after_alias, stop_tx).await;
    checked?;
    let report = report.map_err(fail)?;
    assert!(report.full_update, "{report:?}");
    mysql.drop_databases().await
}
