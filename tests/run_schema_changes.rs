//! Schema changes and `mee run`, on real MariaDB and osmem: a column added to a used table
//! mid-stream changes nothing and the sync goes on; a used column retyped incompatibly stops the
//! sync before the statement, with the fix, and a restart after the fix resumes before it; a live
//! schema that differs from the checked-in DDL stops `run` and `update` before any work; a
//! rebuild that fails because a table already has a shape the binlog has not reached yet stops
//! the sync too, rather than sending those documents to the retry table.
#![cfg(feature = "pipeline-vehicles")]

mod common;

use common::Env;
use common::sync::{Doc, documents, eventually_equal, find, fresh_documents};
use mee::generated::vehicles::index_vehicle as veh;
use mee_runtime::binlog::BinlogPosition;
use mee_runtime::preflight::{PreflightError, SchemaChangeError, SchemaGuard};
use mee_runtime::run::{RunError, RunOptions, RunReport, run};
use mee_runtime::state::{CheckpointKey, PipelineKey};
use mee_runtime::update::{NoProgress, UpdateError, update_with_state};
use mee_testkit::{TestFailure, TestResult, fail};
use serde_json::Value as Json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a follower may take to react before a test gives up (a deadline, not a timing).
const DEADLINE: Duration = Duration::from_secs(30);

struct Fixture {
    env: Env,
    options: RunOptions,
}

impl Fixture {
    async fn new(server_id_base: u32) -> TestResult<Fixture> {
        let env = Env::new(common::vehicles().await?, "index_vehicle").await?;
        let options = common::run_options(&env.alias, server_id_base);
        Ok(Fixture { env, options })
    }

    fn db(&self, logical: &str) -> String {
        self.env.mysql.db(logical).to_string()
    }

    async fn exec(&self, sql: &str) -> TestResult {
        let mut conn = self.env.mysql.admin_conn().await?;
        mysql_async::prelude::Queryable::query_drop(&mut conn, sql)
            .await
            .map_err(fail)
    }

    async fn served(&self) -> TestResult<Vec<Doc>> {
        documents(&self.env.es, &self.env.alias).await
    }

    async fn wait_for_alias(&self) -> TestResult {
        common::alias_moved(
            &self.env.es,
            &self.env.alias,
            "the alias to point at the synced generation",
            DEADLINE,
        )
        .await
        .map(|_| ())
    }

    /// A `run` that must be refused at start-up: its preflight error, or a failure saying
    /// `expectation` and what happened instead.
    async fn refused_run(&self, expectation: &str) -> TestResult<PreflightError> {
        // Its stop sender is dropped at once, which `run` takes for a stop request: only its
        // start-up checks are of interest.
        match run(
            &veh::Index,
            &self.env.services(),
            &self.options,
            watch::channel(false).1,
        )
        .await
        {
            Err(RunError::Preflight(e)) => Ok(e),
            other => Err(TestFailure::new(format!("{expectation}, got {other:?}"))),
        }
    }

    /// Waits until the served index equals a fresh full update of the current MySQL state.
    async fn wait_until_fresh(&self) -> TestResult<Vec<Doc>> {
        let expected = fresh_documents(
            &veh::Index,
            &self.env.source,
            &self.env.es,
            &self.env.test_es,
        )
        .await?;
        eventually_equal(&self.env.es, &self.env.alias, &expected, DEADLINE).await?;
        Ok(expected)
    }
}

fn doc<'a>(docs: &'a [Doc], id: &str) -> TestResult<&'a Json> {
    find(docs, id)
        .map(|d| &d.source)
        .ok_or_else(|| TestFailure::new(format!("document `{id}` is missing: {docs:?}")))
}

/// Runs `run` next to a driver that gets the stop signal: `run` may end by itself (the stop
/// tests expect that) or when the driver stops it, but no later than the deadline after the
/// driver is done; the driver always runs to its end.
async fn run_with<F, Fut>(f: &Fixture, driver: F) -> TestResult<Result<RunReport, RunError>>
where
    F: FnOnce(Arc<watch::Sender<bool>>) -> Fut,
    Fut: std::future::Future<Output = TestResult>,
{
    // `run` takes a dropped sender for a stop request, so this one lives until `run` ends.
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let services = f.env.services();
    let follower = run(&veh::Index, &services, &f.options, stop_rx);
    tokio::pin!(follower);
    let driver = driver(stop_tx.clone());
    tokio::pin!(driver);
    let mut driven = false;
    loop {
        tokio::select! {
            r = &mut follower => {
                // The driver's statements still run to their end: a follower may stop before
                // the last of them (at the first sign of the schema change), and the rest of the
                // test expects them in MySQL.
                if !driven {
                    tokio::time::timeout(DEADLINE, &mut driver)
                        .await
                        .map_err(|_| TestFailure::new("the driver did not finish after `run` ended"))??;
                }
                return Ok(r);
            }
            d = &mut driver, if !driven => {
                d?;
                driven = true;
            }
            _ = tokio::time::sleep(DEADLINE), if driven => {
                return Err(TestFailure::new("`run` did not end after the driver finished"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_added_mid_stream_changes_nothing_and_the_sync_goes_on() -> TestResult {
    let f = Fixture::new(8_000_000).await?;
    let (cert, track) = (f.db("certify_service"), f.db("track_service"));
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = f.env.services();
    let follower = run(&veh::Index, &services, &f.options, stop_rx);
    let driver = async {
        f.wait_for_alias().await?;
        // A column in the middle of the master table (every later column moves) and one at the
        // end of the nested table, then changes that only fit the new layout.
        f.exec(&format!(
            "ALTER TABLE `{cert}`.vehicle ADD COLUMN color VARCHAR(10) NULL AFTER id;
             ALTER TABLE `{track}`.vehicle_monitor ADD COLUMN note TEXT NULL;
             ALTER TABLE `{cert}`.vehicle_type MODIFY name VARCHAR(128) NULL;"
        ))
        .await?;
        f.exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = 7, color = 'red' WHERE id = 1;
             INSERT INTO `{cert}`.vehicle (id, color, created_at, updated_at, vehicle_type_id, status)
                 VALUES (12, 'blue', '2021-01-01 00:00:00', NULL, 10, 1);
             UPDATE `{cert}`.vehicle_type SET name = 'a rather long type name' WHERE id = 10;
             INSERT INTO `{track}`.vehicle_monitor VALUES (110, 12, 1, 5, 'lidar', 'new');
             UPDATE `{cert}`.vehicle SET color = 'green' WHERE id = 5;"
        ))
        .await?;
        let expected = f.wait_until_fresh().await?;
        // The changes after the statements are in: the test cannot pass on an idle index.
        let v12 = doc(&expected, "vehicle_12")?;
        assert_eq!(v12["vehicle_type_name"], "a rather long type name", "{v12}");
        assert_eq!(v12["vehicle_monitors"][0]["monitor_type"], "lidar", "{v12}");
        assert_eq!(doc(&expected, "vehicle_1")?["vehicle_status"], 7);
        Ok::<_, TestFailure>(())
    };
    let (report, driven) = common::beside(follower, driver, stop_tx).await;
    driven?;
    let report = report.map_err(fail)?;
    assert!(report.batches >= 1, "{report:?}");
    f.env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incompatible_type_change_stops_before_it_and_a_restart_after_the_fix_resumes()
-> TestResult {
    let f = Fixture::new(8_100_000).await?;
    let cert = f.db("certify_service");
    let result = run_with(&f, |_stop| async {
        f.wait_for_alias().await?;
        // Committed before the statement: in the index once the sync is past the statement
        // (when it stops, it may still be unapplied: its rebuild would read the retyped column).
        f.exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = 3 WHERE id = 1"
        ))
        .await?;
        f.exec(&format!(
            "ALTER TABLE `{cert}`.vehicle MODIFY status VARCHAR(10) NOT NULL DEFAULT '0'"
        ))
        .await?;
        // After the statement: only a restart past the fix may apply it.
        f.exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = '4' WHERE id = 5"
        ))
        .await
    })
    .await?;
    let err = match result {
        Err(RunError::SchemaChange(e)) => e,
        other => {
            return Err(TestFailure::new(format!(
                "`run` should stop at the schema change, got {other:?}"
            )));
        }
    };
    let SchemaChangeError::Stopped {
        position: ddl_at,
        problems,
    } = &err
    else {
        return Err(TestFailure::new(format!("not a schema verdict: {err}")));
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let message = &problems[0];
    // Usually the statement is read before the batch ahead of it is applied; when that batch's
    // rebuild ran after the ALTER and failed on the new type, the stop comes a little earlier.
    assert!(
        message.contains("ALTER TABLE")
            || message.contains("failed to build because a table changed under the sync"),
        "neither stop: {message}"
    );
    for part in [
        "`certify_service`.`vehicle`.`status` is `varchar(10)`",
        "`TINYINT(4)` in pipelines/schema/certify_service.sql",
        "run `mee schema pull certify_service` and rebuild mee, or change the column back",
        "start `mee run` again",
    ] {
        assert!(message.contains(part), "`{part}` missing in: {message}");
    }
    assert!(!message.contains(". "), "one sentence: {message}");

    // The change after the statement is not in the index, and no document was lost.
    let served = f.served().await?;
    assert_eq!(doc(&served, "vehicle_5")?["vehicle_status"], 0);
    assert!(
        [1, 3].contains(
            &doc(&served, "vehicle_1")?["vehicle_status"]
                .as_i64()
                .unwrap_or(-1)
        ),
        "{served:?}"
    );
    // The checkpoint stays before the statement, so a restart reads it again.
    let checkpoint = f
        .env
        .state
        .get_checkpoint(&CheckpointKey::new(
            "vehicles",
            format!("sync/{}", f.env.alias),
        ))
        .await
        .map_err(fail)?
        .ok_or_else(|| TestFailure::new("no checkpoint was saved"))?
        .doc;
    let saved = checkpoint
        .position
        .as_binlog()
        .ok_or_else(|| TestFailure::new("the checkpoint is not a binlog position"))?;
    assert!(saved < ddl_at, "checkpoint {saved} is not before {ddl_at}");

    // Restarting without a fix is refused at start-up, before any work.
    let e = f
        .refused_run("a restart on the changed schema should be refused")
        .await?;
    assert!(
        e.to_string()
            .contains("`certify_service`.`vehicle`.`status` is `varchar(10)`"),
        "{e}"
    );

    // The fix: the column back as compiled. The restart resumes before the statement, finds the
    // live column fine again, and applies the change made after it.
    f.exec(&format!(
        "ALTER TABLE `{cert}`.vehicle MODIFY status TINYINT(4) NOT NULL DEFAULT 0"
    ))
    .await?;
    let fixture = &f;
    let report = run_with(&f, |stop| async move {
        let expected = fixture.wait_until_fresh().await?;
        assert_eq!(doc(&expected, "vehicle_1")?["vehicle_status"], 3);
        assert_eq!(doc(&expected, "vehicle_5")?["vehicle_status"], 4);
        stop.send(true).map_err(fail)
    })
    .await?
    .map_err(fail)?;
    assert!(
        !report.full_update,
        "resumed from the checkpoint: {report:?}"
    );
    f.env.mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_schema_unlike_the_ddl_stops_run_and_update_before_any_work() -> TestResult {
    let f = Fixture::new(8_200_000).await?;
    let (cert, track) = (f.db("certify_service"), f.db("track_service"));
    f.exec(&format!(
        "ALTER TABLE `{cert}`.vehicle DROP COLUMN updated_at;
         ALTER TABLE `{track}`.vehicle_monitor MODIFY monitor_type TEXT NULL;
         ALTER TABLE `{cert}`.vehicle_type MODIFY name VARCHAR(128) NULL;"
    ))
    .await?;

    let err = f.refused_run("`run` should refuse to start").await?;
    // Both problems at once; the harmless widening of `vehicle_type.name` is not one.
    let problems = err.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("column `certify_service`.`vehicle`.`updated_at`")
            && problems[0].contains("does not exist")
            && problems[0].contains("add it back as `VARCHAR(19)`")
            && problems[0].contains("mee schema pull certify_service"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].contains("`track_service`.`vehicle_monitor`.`monitor_type` is `text`")
            && problems[1].contains("`VARCHAR(32)` in pipelines/schema/track_service.sql"),
        "{}",
        problems[1]
    );
    for p in problems {
        assert!(!p.contains(". ") && !p.contains('\n'), "one sentence: {p}");
    }

    // `mee update` refuses the same way.
    let update = update_with_state(
        &veh::Index,
        &f.env.source,
        &f.env.es,
        &f.env.state,
        &f.env.retry,
        &f.options.update,
        &NoProgress,
    )
    .await;
    match update {
        Err(UpdateError::Preflight(e)) => assert_eq!(e.problems(), problems),
        other => {
            return Err(TestFailure::new(format!(
                "`update` should refuse to start, got {other:?}"
            )));
        }
    }

    // Nothing was done: no index, no alias, no pipeline state.
    let indices = f
        .env
        .es
        .list_indices(&format!("{}*", f.env.alias))
        .await
        .map_err(fail)?;
    assert!(indices.is_empty(), "{indices:?}");
    let state = f
        .env
        .state
        .get_pipeline(&PipelineKey::new("vehicles", f.env.alias.clone()))
        .await
        .map_err(fail)?;
    assert!(state.is_none(), "{state:?}");
    f.env.mysql.drop_databases().await
}

/// The check `mee run` makes when documents of a batch fail to build: while every used column
/// fits, the failures are the data's; once a used column no longer fits (the binlog not yet at
/// the statement that changed it), it is the sync's stop, with the fix.
#[tokio::test]
async fn failures_on_a_table_changed_ahead_of_the_binlog_are_a_stop() -> TestResult {
    let f = Fixture::new(8_300_000).await?;
    let cert = f.db("certify_service");
    let guard = SchemaGuard::new(&veh::Index, &f.env.source);
    let at = BinlogPosition::new("binlog.000001", 1234);
    guard
        .check_after_failures(&f.env.source, &at)
        .await
        .map_err(fail)?;
    f.exec(&format!(
        "ALTER TABLE `{cert}`.vehicle MODIFY status VARCHAR(10) NOT NULL DEFAULT '0'"
    ))
    .await?;
    let Err(SchemaChangeError::Stopped { position, problems }) =
        guard.check_after_failures(&f.env.source, &at).await
    else {
        return Err(TestFailure::new("a retyped used column must stop the sync"));
    };
    assert_eq!(position, at);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    for part in [
        "failed to build because a table changed under the sync",
        "`certify_service`.`vehicle`.`status` is `varchar(10)`",
        "start `mee run` again",
    ] {
        assert!(
            problems[0].contains(part),
            "`{part}` missing in: {}",
            problems[0]
        );
    }
    f.env.mysql.drop_databases().await
}
