//! Commit visibility on the real server: MariaDB lets binlog readers see a transaction (group
//! commit's `update_binlog_end_pos`) before the engine commits it (`commit_ordered`). A binlog
//! follower that reads MySQL as soon as it sees a commit may therefore read the old row.
//!
//! The probe: concurrent writers commit together (large group commits) on rows of their own;
//! the follower reads each changed row right after the commit event, once at once and once after
//! [`wait_visible`]. The read after `wait_visible` must always see the binlog's after-image (or
//! newer); how often the immediate read saw an older row is printed, as the size of the window
//! on this machine.
//!
//! The deterministic probe: on a private server whose commits wait for a semi-sync acknowledgement
//! after the binlog write (AFTER_SYNC, no semi-sync replica), the window stays open for the
//! acknowledgement timeout; the read right after the commit event must see the old row, the read
//! after [`wait_visible`] the new one.

mod binlog_support;

use binlog_support::*;
use mee_runtime::Value;
use mee_runtime::binlog::{BinlogEvent, BinlogReader, ReaderConfig, StartAt, TableFilter};
use mee_runtime::mysql::{Session, Source, SourceConfig};
use mee_runtime::sync::{committed_position, wait_visible};
use mee_testkit::{PrivateMysql, TestMysql, TestResult};
use mysql_async::prelude::Queryable;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WRITERS: usize = 16;
const TRANSACTIONS_PER_WRITER: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_after_wait_visible_see_what_the_binlog_showed() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    let rows: Vec<String> = (1..=WRITERS).map(|w| format!("({w},0)")).collect();
    mysql
        .exec(&format!(
            "CREATE TABLE `{db}`.hot (id INT PRIMARY KEY, v INT NOT NULL);
             INSERT INTO `{db}`.hot VALUES {};",
            rows.join(",")
        ))
        .await?;
    let (mut reader, source, mut session, mut probe) = follow(&mut mysql, &db, 61).await?;

    // Each writer increments its own row: no lock waits, so the commits meet in group commit.
    let together = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let mut writers = Vec::new();
    for w in 1..=WRITERS {
        let mut conn = mysql.admin_conn().await?;
        let together = together.clone();
        let sql = format!("UPDATE `{db}`.hot SET v = v + 1 WHERE id = {w}");
        writers.push(tokio::spawn(async move {
            for _ in 0..TRANSACTIONS_PER_WRITER {
                together.wait().await;
                conn.query_drop(&sql).await?;
            }
            conn.disconnect().await?;
            Ok::<(), mysql_async::Error>(())
        }));
    }

    let total = WRITERS * TRANSACTIONS_PER_WRITER;
    let (mut seen, mut early_stale, mut late_stale, mut commits) = (0, 0, 0, 0);
    let mut waited = Duration::ZERO;
    let mut pending: BTreeMap<i64, i64> = BTreeMap::new();
    while seen < total {
        let event = tokio::time::timeout(Duration::from_secs(60), reader.next())
            .await
            .map_err(|_| "no binlog event for 60 s")?
            .map_err(fail)?
            .ok_or("the binlog ended")?;
        match event {
            BinlogEvent::Rows(rows) => {
                let id = rows.plan.column_index("id").ok_or("no id column")?;
                let v = rows.plan.column_index("v").ok_or("no v column")?;
                for change in &rows.rows {
                    let after = change
                        .after
                        .as_ref()
                        .ok_or("an update without after image")?;
                    let (Value::Int(id), Value::Int(v)) = (&after[id], &after[v]) else {
                        return Err(format!("unexpected image {after:?}").into());
                    };
                    pending.insert(*id, *v);
                    seen += 1;
                }
            }
            BinlogEvent::Commit { position, .. } if !pending.is_empty() => {
                commits += 1;
                early_stale += older_rows(&mut probe, &db, &pending).await?;
                let started = Instant::now();
                wait_visible(&mut session, position.version())
                    .await
                    .map_err(|e| mee_testkit::TestFailure::new(e.to_string()))?;
                waited += started.elapsed();
                late_stale += older_rows(&mut probe, &db, &pending).await?;
                pending.clear();
            }
            _ => {}
        }
    }
    for w in writers {
        w.await.map_err(|e| e.to_string())??;
    }
    let committed = committed_position(&mut session)
        .await
        .map_err(|e| mee_testkit::TestFailure::new(e.to_string()))?;
    eprintln!(
        "{total} transactions in {commits} batches: an immediate read saw an older row {early_stale} \
         times, a read after wait_visible {late_stale} times; wait_visible took {:?} per batch \
         on average (committed position now {committed})",
        waited / commits.max(1) as u32
    );
    assert_eq!(
        late_stale, 0,
        "a read after wait_visible saw rows older than the binlog's after-images"
    );
    reader.close().await.map_err(fail)?;
    probe.disconnect().await?;
    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_visible_waits_out_a_commit_held_by_semi_sync() -> TestResult {
    // GLOBAL settings: a server of this test's own. Switched on after the set-up, semi-sync
    // holds the next commit for the timeout, then gives up until it is switched on again.
    let server = PrivateMysql::start(&[
        "--rpl-semi-sync-master-enabled=OFF",
        "--rpl-semi-sync-master-wait-point=AFTER_SYNC",
        "--rpl-semi-sync-master-wait-no-slave=ON",
        "--rpl-semi-sync-master-timeout=1500",
    ])
    .await?;
    let mut mysql = server.test_mysql(&["main"]).await?;
    let db = mysql.db("main").to_string();
    mysql
        .exec(&format!(
            "CREATE TABLE `{db}`.hot (id INT PRIMARY KEY, v INT NOT NULL);
             INSERT INTO `{db}`.hot VALUES (1, 0);"
        ))
        .await?;
    let (mut reader, source, mut session, mut probe) = follow(&mut mysql, &db, 62).await?;

    mysql
        .exec("SET GLOBAL rpl_semi_sync_master_enabled = ON")
        .await?;
    let mut writer = mysql.admin_conn().await?;
    let update = format!("UPDATE `{db}`.hot SET v = 1 WHERE id = 1");
    let commit = tokio::spawn(async move {
        let started = Instant::now();
        writer.query_drop(update).await?;
        writer.disconnect().await?;
        Ok::<_, mysql_async::Error>(started.elapsed())
    });
    let mut pending = BTreeMap::new();
    let position = loop {
        let event = tokio::time::timeout(Duration::from_secs(60), reader.next())
            .await
            .map_err(|_| "no binlog event for 60 s")?
            .map_err(fail)?
            .ok_or("the binlog ended")?;
        match event {
            BinlogEvent::Rows(_) => {
                pending.insert(1, 1);
            }
            BinlogEvent::Commit { position, .. } if !pending.is_empty() => break position,
            _ => {}
        }
    };
    let early = older_rows(&mut probe, &db, &pending).await?;
    let started = Instant::now();
    wait_visible(&mut session, position.version())
        .await
        .map_err(|e| mee_testkit::TestFailure::new(e.to_string()))?;
    let waited = started.elapsed();
    let late = older_rows(&mut probe, &db, &pending).await?;
    let held = commit.await.map_err(|e| e.to_string())??;
    eprintln!("the commit was held {held:?}; wait_visible waited {waited:?}");
    assert_eq!(
        early, 1,
        "the window did not open: right after the commit event MySQL already showed the new row"
    );
    assert_eq!(
        late, 0,
        "a read after wait_visible saw the row older than the binlog's after-image"
    );
    reader.close().await.map_err(fail)?;
    probe.disconnect().await?;
    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// How many of the rows `expected` (id -> value) MySQL shows with an older value right now.
async fn older_rows(
    conn: &mut mysql_async::Conn,
    db: &str,
    expected: &BTreeMap<i64, i64>,
) -> TestResult<usize> {
    let ids: Vec<String> = expected.keys().map(i64::to_string).collect();
    let rows: Vec<(i64, i64)> = conn
        .query(format!(
            "SELECT id, v FROM `{db}`.hot WHERE id IN ({})",
            ids.join(",")
        ))
        .await?;
    Ok(rows
        .iter()
        .filter(|(id, v)| expected.get(id).is_some_and(|want| v < want))
        .count())
}

/// A binlog reader of `db` from the current head, a source with a session on mee's account, and
/// a plain connection to probe rows with.
async fn follow(
    mysql: &mut TestMysql,
    db: &str,
    reader_id: u32,
) -> TestResult<(BinlogReader, Source, Session, mysql_async::Conn)> {
    let start = head(mysql).await?;
    let config = ReaderConfig::new(server_id(mysql, reader_id), StartAt::Position(start))
        .with_filter(TableFilter::schemas([db.to_string()]));
    let reader = BinlogReader::connect(opts(mysql)?, config)
        .await
        .map_err(fail)?;
    let source = Source::connect(SourceConfig::new(mysql.mee_url()))
        .await
        .map_err(mee_testkit::fail)?;
    let session = source.session().await.map_err(mee_testkit::fail)?;
    let probe = mysql_async::Conn::from_url(mysql.mee_url()).await?;
    Ok((reader, source, session, probe))
}
