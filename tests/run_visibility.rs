//! Commit visibility under `run`, on real MariaDB and osmem.
//!
//! MariaDB makes a transaction's binlog events readable by binlog readers (group commit's
//! `update_binlog_end_pos`) before the storage engine commits it (`commit_ordered`): a rebuild
//! that reads MySQL in between builds the old document and stamps it with the new version, and if
//! nothing touches the row again it stays stale for good.
//!
//! The stress test: many concurrent writers hammer a few hot rows of the master table (`orders`),
//! of the joined table (`customers`, fanned out to several orders) and of the nested table
//! (`order_items`) while `run` follows with the smallest batches (the rebuild reads MySQL right
//! after each commit event); then the source goes quiet, the follower's checkpoint passes the
//! binlog's head, and every document is compared with what MySQL answers to plain SQL (not mee's
//! document builder).
//!
//! The deterministic test: on a private server with semi-synchronous replication waiting
//! AFTER_SYNC and no semi-sync replica, a commit waits for an acknowledgement that never comes
//! (`rpl_semi_sync_master_timeout`) after its events went to binlog readers and before InnoDB
//! commits it: the window stays open for that long, every time.
#![cfg(feature = "pipeline-orders")]

mod common;

use common::Env;
use mee::generated::orders::orders as ord;
use mee_runtime::binlog::BinlogPosition;
use mee_runtime::pipeline::IndexPipeline;
use mee_runtime::run::run;
use mee_testkit::{PrivateMysql, TestMysql, TestResult, eventually, fail};
use mysql_async::prelude::Queryable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

/// Hot rows: few, so that writers collide and group commits form.
const ORDERS: u64 = 24;
const CUSTOMERS: u64 = 3;
const ITEMS_PER_ORDER: u64 = 2;
const WRITERS: usize = 24;
/// Short rounds, many of them: only the last rebuild of each document before the quiet counts,
/// so each round gives every document one chance to stay stale.
const TRANSACTIONS_PER_WRITER: usize = 4;
const ROUNDS: usize = 60;
const DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_hot_rows_leave_no_stale_document() -> TestResult {
    let mut mysql = common::databases(&["shop", "crm"]).await?;
    load(&mut mysql).await?;
    let env = Env::new(mysql, "orders").await?;
    let mut options = common::run_options(&env.alias, 4_100_000);
    // Apply every commit at once: the rebuild then reads MySQL as early as it can.
    options.batch_wait = Duration::from_millis(1);
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = env.services();
    let follower = run(&ord::Index, &services, &options, stop_rx);
    let seed: u64 = std::env::var("MEE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("seed {seed} (MEE_SEED={seed} replays the workload)");
    let steps = async {
        common::alias_moved(
            &env.es,
            &env.alias,
            "the alias to move after the first full update",
            DEADLINE,
        )
        .await?;
        let mut stale_rounds = Vec::new();
        let rounds = env_or("MEE_VISIBILITY_ROUNDS", ROUNDS);
        let per_writer = env_or("MEE_VISIBILITY_TRANSACTIONS", TRANSACTIONS_PER_WRITER);
        for round in 0..rounds {
            let started = std::time::Instant::now();
            let mut writers = Vec::new();
            // The writers start each transaction together: their commits form large group
            // commits, whose last members become visible well after the binlog shows them.
            let together = std::sync::Arc::new(tokio::sync::Barrier::new(WRITERS));
            for w in 0..WRITERS {
                let conn = env.mysql.admin_conn().await?;
                let (shop, crm) = (
                    env.mysql.db("shop").to_string(),
                    env.mysql.db("crm").to_string(),
                );
                let rng = StdRng::seed_from_u64(seed ^ ((round * WRITERS + w) as u64 + 1));
                writers.push(tokio::spawn(write(
                    conn,
                    rng,
                    together.clone(),
                    (shop, crm),
                    (round, w),
                    per_writer,
                )));
            }
            for w in writers {
                w.await.map_err(fail)??;
            }
            let wrote = started.elapsed();
            // Quiet. Once the follower's checkpoint passes the binlog's head, every transaction
            // of the round went through a rebuild (a document showing the round's last values
            // proves nothing: a rebuild reads current MySQL, ahead of the binlog it follows).
            caught_up(&env).await?;
            let stale = stale_documents(&env).await?;
            eprintln!(
                "round {round}: {} transactions in {wrote:?}, {} stale documents",
                WRITERS * per_writer,
                stale.len()
            );
            if !stale.is_empty() {
                let retry = env.retry.count("orders").await.map_err(fail)?;
                let entries = env
                    .retry
                    .list(
                        "orders",
                        &mee_runtime::state::RetryFilter::default(),
                        &mee_runtime::state::PageRequest::first(
                            5,
                            mee_runtime::state::RetryOrder::NewestFirst,
                        ),
                    )
                    .await
                    .map_err(fail)?;
                let errors: Vec<String> = entries
                    .entries
                    .iter()
                    .map(|e| format!("{:?}: {}", e.record.master_key, e.record.error))
                    .collect();
                stale_rounds.push(format!(
                    "round {round} ({retry} in the retry table: {}): {}",
                    errors.join(", "),
                    stale.join("; ")
                ));
            }
        }
        if !stale_rounds.is_empty() {
            return Err(fail(format!(
                "documents stayed older than MySQL after the sync caught up (seed {seed}): {}",
                stale_rounds.join(" | ")
            )));
        }
        Ok::<(), mee_testkit::TestFailure>(())
    };
    let (report, result) = common::beside(follower, steps, stop_tx).await;
    result?;
    report.map_err(fail)?;
    env.mysql.drop_databases().await
}

/// How long a commit waits for the semi-sync acknowledgement (ms): the window the sync must not
/// read in. Long enough for a sync that does not wait to read the old row on a busy machine.
const SEMI_SYNC_TIMEOUT_MS: u64 = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_held_by_semi_sync_after_its_binlog_write_is_synced_with_its_new_values()
-> TestResult {
    // GLOBAL settings: a server of this test's own. Semi-sync is armed only for the one commit
    // (after the first timeout the server stops waiting until it is switched on again).
    let timeout = format!("--rpl-semi-sync-master-timeout={SEMI_SYNC_TIMEOUT_MS}");
    let server = PrivateMysql::start(&[
        "--rpl-semi-sync-master-enabled=OFF",
        "--rpl-semi-sync-master-wait-point=AFTER_SYNC",
        "--rpl-semi-sync-master-wait-no-slave=ON",
        &timeout,
    ])
    .await?;
    let mut mysql = common::databases_on(&server, &["shop", "crm"]).await?;
    load(&mut mysql).await?;
    let env = Env::new(mysql, "orders").await?;
    let mut options = common::run_options(&env.alias, 4_200_000);
    options.batch_wait = Duration::from_millis(1);
    let (stop_tx, stop_rx) = watch::channel(false);
    let services = env.services();
    let follower = run(&ord::Index, &services, &options, stop_rx);
    let steps = async {
        common::alias_moved(
            &env.es,
            &env.alias,
            "the alias to move after the first full update",
            DEADLINE,
        )
        .await?;
        caught_up(&env).await?;
        let shop = env.mysql.db("shop").to_string();
        let mut admin = env.mysql.admin_conn().await?;
        let before = head(&mut admin).await?;
        admin
            .query_drop("SET GLOBAL rpl_semi_sync_master_enabled = ON")
            .await?;
        // The commit, on its own connection: it returns once the acknowledgement times out.
        let mut writer = env.mysql.admin_conn().await?;
        let update = format!("UPDATE `{shop}`.orders SET note = 'held by semi-sync' WHERE id = 1");
        let commit = tokio::spawn(async move {
            let started = std::time::Instant::now();
            writer.query_drop(update).await?;
            writer.disconnect().await?;
            Ok::<_, mysql_async::Error>(started.elapsed())
        });
        // The window is open: the binlog shows the update, MySQL still answers the old row,
        // the commit waits for its acknowledgement.
        let written = eventually("the update in the binlog", DEADLINE, || {
            let (url, before) = (env.mysql.admin_url().to_string(), before.clone());
            async move {
                let mut conn = mysql_async::Conn::from_url(url.as_str()).await?;
                let now = head(&mut conn).await?;
                conn.disconnect().await?;
                Ok((now.version() > before.version()).then_some(now))
            }
        })
        .await?;
        let note: Option<Option<String>> = admin
            .query_first(format!("SELECT note FROM `{shop}`.orders WHERE id = 1"))
            .await?;
        let waiting: Option<(String, u64)> = admin
            .query_first("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_wait_sessions'")
            .await?;
        if note != Some(Some("start".to_string())) || waiting.as_ref().map(|(_, n)| *n) != Some(1) {
            return Err(fail(format!(
                "the window did not open: with the update in the binlog, MySQL answered note \
                 {note:?} and {waiting:?} (semi-sync did not hold the commit)"
            )));
        }
        let held = commit.await.map_err(fail)??;
        eprintln!("the commit was held {held:?}");
        admin.disconnect().await?;
        caught_up(&env).await?;
        let stale = stale_documents(&env).await?;
        if !stale.is_empty() {
            return Err(fail(format!(
                "documents stayed older than MySQL after the sync caught up (the update ends at \
                 {written}, version {}): {}",
                written.version(),
                stale.join("; ")
            )));
        }
        Ok::<(), mee_testkit::TestFailure>(())
    };
    let (report, result) = common::beside(follower, steps, stop_tx).await;
    result?;
    report.map_err(fail)?;
    drop(env);
    drop(server);
    Ok(())
}

/// The binlog's head now.
async fn head(conn: &mut mysql_async::Conn) -> TestResult<BinlogPosition> {
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await?
        .ok_or("SHOW MASTER STATUS gave nothing: is the binlog on?")?;
    let file: String = row.get(0).ok_or("no binlog file")?;
    let pos: u64 = row.get(1).ok_or("no binlog position")?;
    Ok(BinlogPosition::new(file, pos))
}

/// Customers, and orders (spread over the customers) with their items.
async fn load(mysql: &mut TestMysql) -> TestResult {
    let (shop, crm) = (mysql.db("shop").to_string(), mysql.db("crm").to_string());
    let customers: Vec<String> = (1..=CUSTOMERS)
        .map(|c| format!("({c},'customer {c}',NULL,'standard','DE')"))
        .collect();
    let orders: Vec<String> = (1..=ORDERS)
        .map(|o| {
            format!(
                "({o},'NO-{o}',{},0,'10.00','EUR','start',0)",
                o % CUSTOMERS + 1
            )
        })
        .collect();
    let items: Vec<String> = (1..=ORDERS)
        .flat_map(|o| {
            (0..ITEMS_PER_ORDER).map(move |i| {
                let id = o * 10 + i;
                format!("({id},{o},'sku-{id}','item {id}',1,'1.00')")
            })
        })
        .collect();
    mysql
        .exec(&format!(
            "INSERT INTO `{crm}`.customers (id,name,email,tier,country) VALUES {};
             INSERT INTO `{shop}`.orders (id,order_no,customer_id,status,amount,currency,note,deleted) VALUES {};
             INSERT INTO `{shop}`.order_items (id,order_id,sku,title,quantity,unit_price) VALUES {};",
            customers.join(","),
            orders.join(","),
            items.join(",")
        ))
        .await
}

/// One writer: autocommit updates and small transactions on the hot rows, each value unique.
async fn write(
    mut conn: mysql_async::Conn,
    mut rng: StdRng,
    together: std::sync::Arc<tokio::sync::Barrier>,
    (shop, crm): (String, String),
    (round, writer): (usize, usize),
    transactions: usize,
) -> TestResult {
    let order = format!("UPDATE `{shop}`.orders SET note = ? WHERE id = ?");
    let customer = format!("UPDATE `{crm}`.customers SET name = ? WHERE id = ?");
    let item = format!("UPDATE `{shop}`.order_items SET title = ? WHERE id = ?");
    for n in 0..transactions {
        let value = format!("r{round} w{writer} n{n}");
        let o = rng.random_range(1..=ORDERS);
        let c = rng.random_range(1..=CUSTOMERS);
        let i = o * 10 + rng.random_range(0..ITEMS_PER_ORDER);
        together.wait().await;
        match rng.random_range(0..4) {
            0 => conn.exec_drop(&order, (&value, o)).await?,
            1 => conn.exec_drop(&customer, (&value, c)).await?,
            2 => conn.exec_drop(&item, (&value, i)).await?,
            _ => {
                // Master, joined and nested rows in one transaction.
                let mut tx = conn
                    .start_transaction(mysql_async::TxOpts::default())
                    .await?;
                tx.exec_drop(&order, (&value, o)).await?;
                tx.exec_drop(&customer, (&value, c)).await?;
                tx.exec_drop(&item, (&value, i)).await?;
                tx.commit().await?;
            }
        }
    }
    conn.disconnect().await?;
    Ok(())
}

/// What MySQL answers for each order (its note, its customer's name and its items' titles, read
/// with plain SQL), against the index: one line per document that differs.
async fn stale_documents(env: &Env) -> TestResult<Vec<String>> {
    let (shop, crm) = (env.mysql.db("shop"), env.mysql.db("crm"));
    let mut conn = env.mysql.admin_conn().await?;
    let orders: Vec<(u64, Option<String>, String)> = conn
        .query(format!(
            "SELECT o.id, o.note, c.name FROM `{shop}`.orders o
             JOIN `{crm}`.customers c ON c.id = o.customer_id
             WHERE o.deleted = 0 ORDER BY o.id"
        ))
        .await?;
    let items: Vec<(u64, u64, String)> = conn
        .query(format!(
            "SELECT order_id, id, title FROM `{shop}`.order_items ORDER BY order_id, id"
        ))
        .await?;
    conn.disconnect().await?;
    let mut expected: BTreeMap<String, Json> = BTreeMap::new();
    for (id, note, name) in orders {
        let titles: Vec<Json> = items
            .iter()
            .filter(|(o, _, _)| *o == id)
            .map(|(_, item, title)| serde_json::json!({"item_id": item, "title": title}))
            .collect();
        expected.insert(
            id.to_string(),
            serde_json::json!({"note": note, "customer_name": name, "items": titles}),
        );
    }
    let docs = env.test_es.all_docs(&env.alias).await?;
    let mut stale = Vec::new();
    for (id, doc) in &docs {
        let Some(want) = expected.remove(id) else {
            stale.push(format!("{id}: not in MySQL"));
            continue;
        };
        let items: Vec<Json> = doc["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| serde_json::json!({"item_id": i["item_id"], "title": i["title"]}))
                    .collect()
            })
            .unwrap_or_default();
        let got = serde_json::json!({
            "note": doc["note"],
            "customer_name": doc["customer_name"],
            "items": items,
        });
        if got != want {
            let version = |id: String| async move {
                let resp = env
                    .test_es
                    .client()
                    .get(elasticsearch::GetParts::IndexId(&env.alias, &id))
                    .send()
                    .await?;
                let body: Json = resp.json().await?;
                Ok::<_, mee_testkit::TestFailure>(body["_version"].clone())
            };
            let mine = version(id.clone()).await?;
            stale.push(format!("{id} (_version {mine}): index {got}, MySQL {want}"));
        }
    }
    stale.extend(expected.keys().map(|id| format!("{id}: missing")));
    Ok(stale)
}

/// A number from the environment (to stress harder by hand), or `default`.
fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Waits until the follower's checkpoint is at or past the binlog's head (read now).
async fn caught_up(env: &Env) -> TestResult {
    let mut conn = env.mysql.admin_conn().await?;
    let head = head(&mut conn).await?;
    conn.disconnect().await?;
    eventually(&format!("the sync to pass {head}"), DEADLINE, || async {
        let checkpoints = env
            .state
            .list_checkpoints(Some(ord::Index.pipeline()))
            .await
            .map_err(fail)?;
        Ok(checkpoints
            .iter()
            .any(|c| {
                c.doc
                    .position
                    .as_binlog()
                    .is_some_and(|at| at.version() >= head.version())
            })
            .then_some(()))
    })
    .await
}
