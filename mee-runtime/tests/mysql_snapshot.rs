//! A consistent snapshot sees one point in time across databases, and its binlog position is
//! exactly where the changes it does not see begin.

mod binlog_support;

use binlog_support::*;
use mee_runtime::Value;
use mee_runtime::binlog::{BinlogEvent, StartAt};
use mee_runtime::mysql::{Source, SourceConfig, Sql};
use mee_testkit::{TestMysql, TestResult};

static ORDERS: Sql = Sql::new("SELECT `id` FROM ", "shop", ".`orders` ORDER BY `id`");
static CUSTOMERS: Sql = Sql::new(
    "SELECT `id`, `name` FROM ",
    "crm",
    ".`customers` ORDER BY `id`",
);

fn ids(rows: &[Vec<Value>]) -> Vec<i64> {
    rows.iter().filter_map(|r| r[0].as_i64()).collect()
}

#[tokio::test]
async fn snapshot_hides_later_commits_and_its_position_resumes_exactly_there() -> TestResult {
    let mut mysql = TestMysql::with_databases(&["shop", "crm"]).await?;
    let (shop, crm) = (mysql.db("shop").to_string(), mysql.db("crm").to_string());
    mysql
        .exec(&format!(
            "CREATE TABLE `{shop}`.orders (id INT PRIMARY KEY);
             CREATE TABLE `{crm}`.customers (id INT PRIMARY KEY, name VARCHAR(20));
             INSERT INTO `{shop}`.orders VALUES (1);
             INSERT INTO `{crm}`.customers VALUES (1, 'ann')"
        ))
        .await?;
    let mut config = SourceConfig::new(mysql.mee_url());
    config.databases = mysql.database_map().clone();
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    let (orders, customers) = (source.statement(&ORDERS), source.statement(&CUSTOMERS));

    let (mut snap, position) = source.snapshot().await.map_err(|e| e.to_string())?;
    assert!(snap.is_snapshot());
    assert_eq!(snap.position(), &position);
    assert!(position.gtid.is_some(), "no GTID for {position}");

    // Committed after the snapshot: one transaction touching both databases, then another.
    mysql
        .exec(&format!(
            "START TRANSACTION;
             INSERT INTO `{shop}`.orders VALUES (2);
             UPDATE `{crm}`.customers SET name = 'bob' WHERE id = 1;
             COMMIT;
             INSERT INTO `{shop}`.orders VALUES (3)"
        ))
        .await?;

    // The snapshot sees neither, in either database, through its one connection.
    let seen = snap
        .fetch(orders.text(), &[])
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(ids(&seen), vec![1]);
    let seen = snap
        .fetch(customers.text(), &[])
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(seen, vec![vec![Value::Int(1), Value::Text("ann".into())]]);

    // A pooled session sees the current data.
    let mut now = source.session().await.map_err(|e| e.to_string())?;
    let seen = now
        .fetch(orders.text(), &[])
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(ids(&seen), vec![1, 2, 3]);
    assert!(!now.is_snapshot());

    // Reading the binlog from the snapshot position starts with exactly the first later commit,
    // whether resumed by file position or by GTID.
    for (salt, start) in [
        (1, StartAt::Position(position.clone())),
        (2, StartAt::Gtid(position.gtid.clone().unwrap_or_default())),
    ] {
        let events = read_to_end(&mysql, salt, start, &[&shop, &crm]).await?;
        assert_eq!(
            shape(&events),
            vec![
                "I orders [Int(2)]",
                "U customers [Int(1)]",
                "C",
                "I orders [Int(3)]",
                "C"
            ],
            "salt {salt}"
        );
        // Nothing committed before the snapshot comes back.
        let first = events.iter().find_map(|e| match e {
            BinlogEvent::Rows(r) => Some(r.table().to_string()),
            _ => None,
        });
        assert_eq!(first.as_deref(), Some("orders"));
    }

    // Still the same point in time after those reads; then the transaction ends.
    let seen = snap
        .fetch(orders.text(), &[])
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(ids(&seen), vec![1]);
    snap.finish().await.map_err(|e| e.to_string())?;
    drop(now);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

#[tokio::test]
async fn connection_failures_name_the_server_and_what_to_check() -> TestResult {
    let bad_password = SourceConfig::new("mysql://mee:wrong@127.0.0.1:13306");
    let err = Source::connect(bad_password)
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mee@127.0.0.1:13306")
            && err.contains("user and password")
            && !err.contains("wrong"),
        "{err}"
    );
    let nothing_there = SourceConfig::new("mysql://mee:mee@127.0.0.1:1");
    let err = Source::connect(nothing_there)
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("127.0.0.1:1") && err.contains("running"),
        "{err}"
    );
    Ok(())
}
