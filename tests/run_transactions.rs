//! Every committed transaction reaches the index, on real MariaDB and osmem, with `mee run`:
//! an XA transaction applies at its `XA COMMIT` (not at `XA PREPARE`), also when `mee run`
//! restarted in between and when it was prepared before the full update's snapshot; a
//! rolled-back XA transaction applies nothing.
//!
//! The expected values are the ones the tests write into MySQL (hand-written), not documents
//! built by mee.
#![cfg(feature = "pipeline-vehicles")]

mod common;

use common::Env;
use common::sync::{Doc, documents, find};
use mee::generated::vehicles::index_vehicle as veh;
use mee_runtime::run::{RunOptions, RunReport, run};
use mee_runtime::state::CheckpointKey;
use mee_testkit::{TestFailure, TestResult, fail};
use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};
use std::time::Duration;
use tokio::sync::watch;

/// How long a follower may take to react before a test gives up (a deadline, not a timing).
const DEADLINE: Duration = Duration::from_secs(30);

struct Fixture {
    env: Env,
    options: RunOptions,
    /// XA ids this test prepared: rolled back at the end if a failure left them pending (a
    /// prepared transaction keeps its locks, also after its connection closed).
    xids: Vec<String>,
}

impl Fixture {
    async fn new(server_id_base: u32) -> TestResult<Fixture> {
        let env = Env::new(common::vehicles().await?, "index_vehicle").await?;
        let options = common::run_options(&env.alias, server_id_base);
        Ok(Fixture {
            env,
            options,
            xids: Vec::new(),
        })
    }

    fn cert(&self) -> String {
        self.env.mysql.db("certify_service").to_string()
    }

    fn xid(&mut self, name: &str) -> String {
        let xid = format!("{}_{name}", self.env.mysql.prefix());
        self.xids.push(xid.clone());
        xid
    }

    async fn exec(&self, sql: &str) -> TestResult {
        let mut conn = self.env.mysql.admin_conn().await?;
        conn.query_drop(sql).await.map_err(fail)?;
        conn.disconnect().await.map_err(fail)
    }

    /// Prepares `sql` as XA transaction `xid` on a connection of its own, which then closes:
    /// the transaction stays prepared in the server.
    async fn prepare(&self, xid: &str, sql: &str) -> TestResult {
        self.exec(&format!(
            "XA START '{xid}'; {sql}; XA END '{xid}'; XA PREPARE '{xid}'"
        ))
        .await
    }

    /// The `vehicle_status` of document `vehicle_{id}` (`None` when the document is missing).
    async fn status(&self, id: u32) -> TestResult<Option<Json>> {
        let docs: Vec<Doc> = documents(&self.env.es, &self.env.alias).await?;
        Ok(find(&docs, &format!("vehicle_{id}")).map(|d| d.source["vehicle_status"].clone()))
    }

    /// Waits until document `vehicle_{id}` has `vehicle_status` `want` (`None`: is missing).
    async fn wait_status(&self, id: u32, want: Option<Json>) -> TestResult {
        let mut last = None;
        let seen = &mut last;
        let waited = mee_testkit::eventually(
            &format!("vehicle_{id} to have status {want:?}"),
            DEADLINE,
            || {
                let want = want.clone();
                async move {
                    let got = self.status(id).await?;
                    let ok = got == want;
                    Ok(ok.then_some(()))
                }
            },
        )
        .await;
        *seen = self.status(id).await.ok();
        waited.map_err(|e| TestFailure::new(format!("{e} (last seen: {last:?})")))
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

    /// Rolls back what is still prepared, drops the databases.
    async fn finish(self) -> TestResult {
        for xid in &self.xids {
            let _ = self.exec(&format!("XA ROLLBACK '{xid}'")).await;
        }
        self.env.mysql.drop_databases().await
    }
}

/// Runs `run` beside `steps`, stops it when they end; `run`'s report, or the steps' failure.
async fn follow<F: std::future::Future<Output = TestResult>>(
    f: &Fixture,
    steps: F,
) -> TestResult<RunReport> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = f.env.services();
    let follower = run(&veh::Index, &services, &f.options, stop_rx);
    let (report, driven) = common::beside(follower, steps, stop_tx).await;
    driven?;
    report.map_err(fail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xa_transaction_applies_at_its_commit_and_a_rolled_back_one_never() -> TestResult {
    let mut f = Fixture::new(9_100_000).await?;
    let cert = f.cert();
    let (a, b) = (f.xid("a"), f.xid("b"));
    let steps = async {
        f.wait_for_alias().await?;
        f.prepare(
            &a,
            &format!(
                "UPDATE `{cert}`.vehicle SET status = 7 WHERE id = 1;
                 INSERT INTO `{cert}`.vehicle VALUES (9,'2020-01-01 00:00:00',NULL,10,4)"
            ),
        )
        .await?;
        f.prepare(
            &b,
            &format!("UPDATE `{cert}`.vehicle SET status = 8 WHERE id = 5"),
        )
        .await?;
        // A transaction after both prepares: once it is in the index, the follower read them.
        f.exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = 3 WHERE id = 2"
        ))
        .await?;
        f.wait_status(2, Some(json!(3))).await?;
        assert_eq!(f.status(1).await?, Some(json!(1)), "not committed yet");
        assert_eq!(f.status(9).await?, None, "not committed yet");
        f.exec(&format!("XA ROLLBACK '{b}'")).await?;
        f.exec(&format!("XA COMMIT '{a}'")).await?;
        f.wait_status(1, Some(json!(7))).await?;
        f.wait_status(9, Some(json!(4))).await?;
        // A later change shows the rolled-back one was passed without applying anything.
        f.exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = 6 WHERE id = 2"
        ))
        .await?;
        f.wait_status(2, Some(json!(6))).await?;
        assert_eq!(f.status(5).await?, Some(json!(0)), "rolled back");
        Ok(())
    };
    follow(&f, steps).await?;
    f.finish().await
}

/// `mee run` stops while an XA transaction is prepared, after it checkpointed later
/// transactions; the transaction commits while no follower runs. The restart must still apply
/// it: the checkpoint never passes a prepared, uncommitted transaction in a way that loses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xa_transaction_prepared_before_a_restart_applies_at_its_commit_after_it() -> TestResult
{
    let mut f = Fixture::new(9_200_000).await?;
    let cert = f.cert();
    let a = f.xid("a");
    let first = async {
        f.wait_for_alias().await?;
        f.prepare(
            &a,
            &format!("UPDATE `{cert}`.vehicle SET status = 5 WHERE id = 1"),
        )
        .await?;
        f.exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = 3 WHERE id = 2"
        ))
        .await?;
        f.wait_status(2, Some(json!(3))).await
    };
    let report = follow(&f, first).await?;
    assert!(report.full_update, "{report:?}");
    // The checkpoint is past the prepare, and says to read again from before it.
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
    let resume = saved
        .resume_from
        .as_deref()
        .ok_or_else(|| TestFailure::new(format!("checkpoint {saved} has no resume point")))?;
    assert!(
        resume < saved,
        "resume point {resume} is not before {saved}"
    );
    f.exec(&format!("XA COMMIT '{a}'")).await?;
    let second = async {
        f.wait_status(1, Some(json!(5))).await?;
        // The transactions between the prepare and the checkpoint are not applied twice in a
        // way that matters: the index still has the latest.
        assert_eq!(f.status(2).await?, Some(json!(3)));
        Ok(())
    };
    let report = follow(&f, second).await?;
    assert!(!report.full_update, "the restart resumed: {report:?}");
    f.finish().await
}

/// An XA transaction prepared before the first full update's snapshot (which cannot see it) and
/// committed after it: its rows come before the snapshot's binlog position, its `XA COMMIT`
/// after, and the follower still applies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xa_transaction_prepared_before_the_snapshot_applies_at_its_commit() -> TestResult {
    let mut f = Fixture::new(9_300_000).await?;
    let cert = f.cert();
    let a = f.xid("a");
    f.prepare(
        &a,
        &format!(
            "UPDATE `{cert}`.vehicle SET status = 6 WHERE id = 5;
             INSERT INTO `{cert}`.vehicle VALUES (9,'2020-01-01 00:00:00',NULL,10,2)"
        ),
    )
    .await?;
    let steps = async {
        f.wait_for_alias().await?;
        assert_eq!(f.status(5).await?, Some(json!(0)), "not committed yet");
        assert_eq!(f.status(9).await?, None, "not committed yet");
        f.exec(&format!("XA COMMIT '{a}'")).await?;
        f.wait_status(5, Some(json!(6))).await?;
        f.wait_status(9, Some(json!(2))).await
    };
    let report = follow(&f, steps).await?;
    assert!(report.full_update, "{report:?}");
    f.finish().await
}

/// DML that a session wrote in STATEMENT format: on a table the index does not use it is
/// ignored; on a used table it stops `mee run` with one sentence naming the table and the
/// setting, before the transaction (the rows it changed are nowhere in the binlog).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_changes_logged_as_statements_stop_the_sync_when_a_used_table_changed() -> TestResult {
    let f = Fixture::new(9_400_000).await?;
    let cert = f.cert();
    f.exec(&format!(
        "CREATE TABLE `{cert}`.audit (id INT PRIMARY KEY, note VARCHAR(20))"
    ))
    .await?;
    // Kept until `run` ended: a dropped sender is a stop request.
    let (_stop_tx, stop_rx) = watch::channel(false);
    let services = f.env.services();
    let follower = tokio::time::timeout(
        Duration::from_secs(90),
        run(&veh::Index, &services, &f.options, stop_rx),
    );
    let steps = async {
        f.wait_for_alias().await?;
        f.exec(&format!(
            "SET SESSION binlog_format = 'STATEMENT';
             INSERT INTO `{cert}`.audit VALUES (1, 'statement');
             UPDATE `{cert}`.audit SET note = 'again' WHERE id = 1"
        ))
        .await?;
        f.exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = 3 WHERE id = 2"
        ))
        .await?;
        f.wait_status(2, Some(json!(3))).await?;
        f.exec(&format!(
            "SET SESSION binlog_format = 'STATEMENT';
             UPDATE `{cert}`.vehicle SET status = 9 WHERE id = 1"
        ))
        .await
    };
    let (ran, driven) = tokio::join!(follower, steps);
    driven?;
    let err = match ran {
        Err(_) => return Err(TestFailure::new("`run` went on past the statement")),
        Ok(Ok(report)) => return Err(TestFailure::new(format!("`run` ended: {report:?}"))),
        Ok(Err(e)) => e,
    };
    let message = err.to_string();
    assert!(
        matches!(err, mee_runtime::run::RunError::SchemaChange(_)),
        "{err:?}"
    );
    for part in [
        "UPDATE `",
        "`certify_service`.`vehicle`",
        "binlog_format",
        "SET GLOBAL binlog_format=ROW",
        "mee update",
    ] {
        assert!(message.contains(part), "`{part}` is not in: {message}");
    }
    assert_eq!(message.lines().count(), 1, "one sentence: {message}");
    // The statement's change never reached the index.
    assert_eq!(f.status(1).await?, Some(json!(1)));
    f.finish().await
}

/// A foreign key with ON DELETE CASCADE on a used table: MySQL deletes the child rows without
/// rows events, so `mee run` (and `mee update`) refuse to start, naming the constraint; with
/// RESTRICT the same schema passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cascading_foreign_key_on_a_used_table_refuses_the_start() -> TestResult {
    let f = Fixture::new(9_500_000).await?;
    let cert = f.cert();
    f.exec(&format!(
        "SET SESSION foreign_key_checks = 0;
         ALTER TABLE `{cert}`.vehicle ADD CONSTRAINT vehicle_type_fk FOREIGN KEY (vehicle_type_id)
           REFERENCES `{cert}`.vehicle_type (id) ON DELETE CASCADE"
    ))
    .await?;
    let err = mee_runtime::preflight::preflight(&veh::Index, &f.env.source)
        .await
        .err()
        .ok_or_else(|| TestFailure::new("a cascading foreign key on a used table passed"))?;
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{err}");
    for part in [
        "foreign key `vehicle_type_fk` of table `certify_service`.`vehicle`",
        "ON DELETE CASCADE",
        "binlog",
        "RESTRICT",
    ] {
        assert!(problems[0].contains(part), "`{part}` is not in: {err}");
    }
    f.exec(&format!(
        "SET SESSION foreign_key_checks = 0;
         ALTER TABLE `{cert}`.vehicle DROP FOREIGN KEY vehicle_type_fk;
         ALTER TABLE `{cert}`.vehicle ADD CONSTRAINT vehicle_type_fk FOREIGN KEY (vehicle_type_id)
           REFERENCES `{cert}`.vehicle_type (id) ON DELETE RESTRICT ON UPDATE RESTRICT"
    ))
    .await?;
    mee_runtime::preflight::preflight(&veh::Index, &f.env.source)
        .await
        .map_err(fail)?;
    f.finish().await
}
