//! Batched look-ups: physical database names, IN-lists chunked and padded, tuple IN for
//! composite links, parameters around the key list, and bounded-concurrency single reads.

use mee_runtime::Value;
use mee_runtime::mysql::{MysqlError, Source, SourceConfig, Sql};
use mee_testkit::{TestMysql, TestResult};
use mysql_async::prelude::Queryable;

static CUSTOMERS: Sql = Sql::keyed(
    "SELECT `id`, `name` FROM ",
    "crm",
    ".`customers` WHERE `id` IN ",
    1,
    " ORDER BY `id`",
);
static ACTIVE: Sql = Sql::keyed(
    "SELECT `id` FROM ",
    "crm",
    ".`customers` WHERE `status` = ? AND `id` IN ",
    1,
    " AND `name` <> ? ORDER BY `id`",
);
static ITEMS: Sql = Sql::keyed(
    "SELECT `order_id`, `line`, `sku` FROM ",
    "shop",
    ".`items` WHERE (`order_id`, `line`) IN ",
    2,
    " ORDER BY `order_id`, `line`",
);
static ONE: Sql = Sql::new("SELECT `name` FROM ", "crm", ".`customers` WHERE `id` = ?");

async fn setup() -> TestResult<(TestMysql, Source)> {
    let mut mysql = TestMysql::with_databases(&["shop", "crm"]).await?;
    let (shop, crm) = (mysql.db("shop").to_string(), mysql.db("crm").to_string());
    let mut customers = Vec::new();
    for id in 1..=50 {
        customers.push(format!("({id}, 'c{id}', {})", id % 2));
    }
    let mut items = Vec::new();
    for order in 1..=10 {
        for line in 1..=3 {
            items.push(format!("({order}, {line}, 'sku-{order}-{line}')"));
        }
    }
    mysql
        .exec(&format!(
            "CREATE TABLE `{crm}`.customers (id INT PRIMARY KEY, name VARCHAR(20), status INT);
             CREATE TABLE `{shop}`.items (order_id INT, line INT, sku VARCHAR(20),
                 PRIMARY KEY (order_id, line));
             INSERT INTO `{crm}`.customers VALUES {};
             INSERT INTO `{shop}`.items VALUES {}",
            customers.join(", "),
            items.join(", ")
        ))
        .await?;
    let mut config = SourceConfig::new(mysql.mee_url());
    config.databases = mysql.database_map().clone();
    config.max_keys_per_query = 4;
    config.pool_max = 4;
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    Ok((mysql, source))
}

fn ints(rows: &[Vec<Value>], col: usize) -> Vec<i64> {
    rows.iter().filter_map(|r| r[col].as_i64()).collect()
}

#[tokio::test]
async fn key_sets_are_read_in_chunks_with_physical_names() -> TestResult {
    let (mysql, source) = setup().await?;
    let stmt = source.statement(&CUSTOMERS);
    assert!(
        stmt.sql_for(3)
            .contains(&format!("`{}`.`customers`", mysql.db("crm")))
    );
    assert_eq!(stmt.max_keys(), 4);

    let mut session = source.session().await.map_err(|e| e.to_string())?;
    // 11 keys with duplicates and a missing one: chunks of 4, 4 and 3 (padded to 4).
    let keys: Vec<Value> = [5, 1, 9, 9, 13, 2, 99, 7, 3, 40, 41]
        .into_iter()
        .map(Value::Int)
        .collect();
    let rows = session
        .fetch_keyed(&stmt, &keys)
        .await
        .map_err(|e| e.to_string())?;
    let mut got = ints(&rows, 0);
    got.sort_unstable();
    got.dedup();
    assert_eq!(got, vec![1, 2, 3, 5, 7, 9, 13, 40, 41]);
    assert_eq!(rows[0][1], Value::Text("c1".into()));

    // No keys, no statement, no rows.
    assert!(
        session
            .fetch_keyed(&stmt, &[])
            .await
            .map_err(|e| e.to_string())?
            .is_empty()
    );

    // Parameters before and after the key list.
    let active = source.statement(&ACTIVE);
    let keys: Vec<Value> = (1..=9).map(Value::Int).collect();
    let mut got = Vec::new();
    session
        .for_each_keyed(
            &active,
            &[Value::Int(1)],
            &keys,
            &[Value::Text("c5".into())],
            |row| {
                got.push(row[0].as_i64().unwrap_or(-1));
                Ok::<(), MysqlError>(())
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(got, vec![1, 3, 7, 9]);

    // Keys given as text bind and compare like numbers.
    let rows = session
        .fetch_keyed(&stmt, &[Value::Text("4".into())])
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(ints(&rows, 0), vec![4]);

    // A row callback's error stops the read and the session stays usable.
    let err = session
        .for_each_keyed(&stmt, &[], &keys, &[], |_| {
            Err::<(), _>(StringError("stop".to_string()))
        })
        .await;
    assert!(
        matches!(err, Err(StringError(ref e)) if e == "stop"),
        "{err:?}"
    );
    let rows = session
        .fetch_keyed(&stmt, &keys[..2])
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(ints(&rows, 0), vec![1, 2]);
    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

impl From<MysqlError> for StringError {
    fn from(e: MysqlError) -> Self {
        StringError(e.to_string())
    }
}

#[derive(Debug)]
struct StringError(String);

#[tokio::test]
async fn composite_keys_use_tuple_in() -> TestResult {
    let (mysql, source) = setup().await?;
    let stmt = source.statement(&ITEMS);
    let mut session = source.session().await.map_err(|e| e.to_string())?;
    // Six (order_id, line) keys: chunks of 4 and 2.
    let keys: Vec<Value> = [(1, 1), (1, 3), (2, 2), (10, 3), (10, 4), (7, 1)]
        .into_iter()
        .flat_map(|(o, l)| [Value::Int(o), Value::Int(l)])
        .collect();
    let rows = session
        .fetch_keyed(&stmt, &keys)
        .await
        .map_err(|e| e.to_string())?;
    let mut got: Vec<String> = rows
        .iter()
        .filter_map(|r| r[2].as_str().map(str::to_string))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec!["sku-1-1", "sku-1-3", "sku-10-3", "sku-2-2", "sku-7-1"]
    );

    // An incomplete key is refused before anything runs.
    let err = session.fetch_keyed(&stmt, &keys[..3]).await.unwrap_err();
    assert!(err.to_string().contains("whole keys of 2 columns"), "{err}");
    let err: Result<(), StringError> = session
        .for_each_keyed(&stmt, &[], &keys[..1], &[], |_| Ok(()))
        .await;
    assert!(err.is_err());
    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

#[tokio::test]
async fn single_reads_run_concurrently_and_keep_their_order() -> TestResult {
    let (mysql, source) = setup().await?;
    let stmt = source.statement(&ONE);
    let params: Vec<Vec<Value>> = (1..=60).rev().map(|id| vec![Value::Int(id)]).collect();
    let results = source
        .fetch_concurrent(stmt.text(), &params, 3)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(results.len(), 60);
    for (p, rows) in params.iter().zip(&results) {
        let id = p[0].as_i64().unwrap_or(0);
        if id <= 50 {
            assert_eq!(rows, &vec![vec![Value::Text(format!("c{id}"))]]);
        } else {
            assert!(rows.is_empty());
        }
    }
    assert!(
        source
            .fetch_concurrent(stmt.text(), &[], 3)
            .await
            .map_err(|e| e.to_string())?
            .is_empty()
    );
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

/// A `tally` table in both databases with the same keys and different values, and a source whose
/// pool is larger than the concurrency the tests ask for.
async fn tally_setup() -> TestResult<(TestMysql, Source)> {
    let mut mysql = TestMysql::with_databases(&["shop", "crm"]).await?;
    for logical in ["shop", "crm"] {
        let db = mysql.db(logical).to_string();
        let rows: Vec<String> = (1..=50)
            .map(|k| format!("({k}, '{logical}-{k}')"))
            .collect();
        mysql
            .exec(&format!(
                "CREATE TABLE `{db}`.tally (k INT PRIMARY KEY, v VARCHAR(20));
                 INSERT INTO `{db}`.tally VALUES {}",
                rows.join(", ")
            ))
            .await?;
    }
    let mut config = SourceConfig::new(mysql.mee_url());
    config.databases = mysql.database_map().clone();
    config.pool_max = 8;
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    Ok((mysql, source))
}

/// Checks `fetch_each` results of `SELECT v, CONNECTION_ID() FROM tally WHERE k = ?` against
/// the keys asked for, in order, and returns the connection ids that ran them.
fn check_tally(
    logical: &str,
    keys: &[i64],
    results: &[Vec<Vec<Value>>],
) -> TestResult<std::collections::BTreeSet<i64>> {
    assert_eq!(results.len(), keys.len());
    let mut connections = std::collections::BTreeSet::new();
    for (k, rows) in keys.iter().zip(results) {
        if *k > 50 {
            assert!(rows.is_empty(), "key {k}: {rows:?}");
            continue;
        }
        let [row] = rows.as_slice() else {
            return Err(format!("key {k}: expected one row, got {rows:?}").into());
        };
        assert_eq!(row[0], Value::Text(format!("{logical}-{k}")), "key {k}");
        connections.insert(row[1].as_i64().ok_or("no connection id")?);
    }
    Ok(connections)
}

const TALLY: &str = "SELECT v, CONNECTION_ID() FROM tally WHERE k = ?";

#[tokio::test]
async fn fetch_each_keeps_input_order_in_the_given_database() -> TestResult {
    let (mysql, source) = tally_setup().await?;
    let keys: Vec<i64> = (1..=60).rev().collect();
    let params: Vec<Vec<Value>> = keys.iter().map(|k| vec![Value::Int(*k)]).collect();

    let mut session = source.session().await.map_err(|e| e.to_string())?;
    assert_eq!(session.read_concurrency(), 4);
    let results = session
        .fetch_each(mysql.db("shop"), TALLY, &params, 4)
        .await
        .map_err(|e| e.to_string())?;
    check_tally("shop", &keys, &results)?;
    // The same text in another database reads that database, on the same connections (whose
    // prepared statements of the first call must not be reused).
    let results = session
        .fetch_each(mysql.db("crm"), TALLY, &params, 4)
        .await
        .map_err(|e| e.to_string())?;
    check_tally("crm", &keys, &results)?;
    assert!(
        session
            .fetch_each(mysql.db("crm"), TALLY, &[], 4)
            .await
            .map_err(|e| e.to_string())?
            .is_empty()
    );

    // A failing statement fails the call, and the session stays usable.
    let err = session
        .fetch_each(
            mysql.db("crm"),
            "SELECT v FROM missing WHERE k = ?",
            &params,
            4,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    let results = session
        .fetch_each(mysql.db("shop"), TALLY, &params[..5], 4)
        .await
        .map_err(|e| e.to_string())?;
    check_tally("shop", &keys[..5], &results)?;
    drop(session);

    // Without pooled connections everything runs on the session's own connection.
    let mut alone = source
        .session()
        .await
        .map_err(|e| e.to_string())?
        .without_side_connections();
    assert_eq!(alone.read_concurrency(), 1);
    let own = alone
        .fetch("SELECT CONNECTION_ID()", &[])
        .await
        .map_err(|e| e.to_string())?;
    let own = own[0][0].as_i64().ok_or("no connection id")?;
    let results = alone
        .fetch_each(mysql.db("crm"), TALLY, &params, 4)
        .await
        .map_err(|e| e.to_string())?;
    let used = check_tally("crm", &keys, &results)?;
    assert_eq!(used, std::collections::BTreeSet::from([own]));
    drop(alone);

    // A snapshot's session has the pool too.
    let (mut snapshot, _) = source.snapshot().await.map_err(|e| e.to_string())?;
    let results = snapshot
        .fetch_each(mysql.db("shop"), TALLY, &params, 4)
        .await
        .map_err(|e| e.to_string())?;
    check_tally("shop", &keys, &results)?;
    snapshot.finish().await.map_err(|e| e.to_string())?;

    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}

#[tokio::test]
async fn fetch_each_runs_at_most_the_concurrency_asked_for() -> TestResult {
    let (mysql, source) = tally_setup().await?;
    // Every statement waits at a gate (a named lock) that this test holds: while it is closed,
    // the statements in flight pile up in the process list, and only as many as run at once.
    let gate = format!("{}_gate", mysql.prefix());
    let mut holder = mysql.admin_conn().await?;
    let held: Option<i64> = holder
        .exec_first("SELECT GET_LOCK(?, 60)", (gate.as_str(),))
        .await?;
    assert_eq!(held, Some(1));
    let sql = format!(
        "SELECT v, CONNECTION_ID(), GET_LOCK('{gate}', 60), RELEASE_LOCK('{gate}') \
         FROM tally WHERE k = ?"
    );
    let keys: Vec<i64> = (1..=40).collect();
    let params: Vec<Vec<Value>> = keys.iter().map(|k| vec![Value::Int(*k)]).collect();
    let mut session = source.session().await.map_err(|e| e.to_string())?;
    let observer = tokio::sync::Mutex::new(mysql.admin_conn().await?);
    let count_waiting = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
         WHERE INFO LIKE '%{gate}%' AND ID <> CONNECTION_ID()"
    );

    let read = session.fetch_each(mysql.db("shop"), &sql, &params, 3);
    let watch = async {
        let waiting = mee_testkit::eventually(
            "three statements waiting at the gate",
            std::time::Duration::from_secs(30),
            || {
                let (observer, count_waiting) = (&observer, &count_waiting);
                async move {
                    let n: Option<i64> = observer
                        .lock()
                        .await
                        .query_first(count_waiting.as_str())
                        .await?;
                    Ok(n.filter(|n| *n >= 3))
                }
            },
        )
        .await;
        let released: Option<i64> = holder
            .exec_first("SELECT RELEASE_LOCK(?)", (gate.as_str(),))
            .await?;
        assert_eq!(released, Some(1));
        waiting
    };
    let (results, waiting) = tokio::join!(read, watch);
    let results = results.map_err(|e| e.to_string())?;
    assert_eq!(waiting?, 3);
    // Three statements ran at once, and never more: every result came from one of three
    // connections (each runs one statement at a time).
    let used = check_tally("shop", &keys, &results)?;
    assert_eq!(used.len(), 3, "{used:?}");
    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await
}
