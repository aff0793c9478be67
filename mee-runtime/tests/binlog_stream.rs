//! Following the binlog: resume by file position and by GTID, rotation, the schema filter, DDL
//! mid-stream, and the settings check against the real server.

mod binlog_support;

use binlog_support::*;
use mee_runtime::Value;
use mee_runtime::binlog::{
    BinlogEvent, BinlogReader, ReaderConfig, RowKind, StartAt, TableFilter, check_server,
};
use mee_testkit::{TestFailure, TestMysql, TestResult};
use std::time::Duration;

#[tokio::test]
async fn settings_check_passes_on_the_test_server() -> TestResult {
    let mysql = TestMysql::new().await?;
    let mut conn = mysql_async::Conn::new(opts(&mysql)?).await?;
    let settings = check_server(&mut conn, "127.0.0.1:13306")
        .await
        .map_err(fail)?;
    assert!(settings.is_mariadb);
    assert_eq!(settings.can_stream, Some(true));
    assert!(settings.can_monitor);
    let head = settings.head.ok_or("no binlog head")?;
    assert!(head.file.starts_with("binlog.") && head.pos >= 4, "{head}");
    assert!(settings.server_id > 0);
    assert!(settings.gtid_binlog_pos.is_some());
    mysql.drop_databases().await
}

#[tokio::test]
async fn a_clashing_server_id_is_refused_with_a_sentence() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let start = head(&mut mysql).await?;
    let config = ReaderConfig::new(1, StartAt::Position(start)).non_blocking();
    match BinlogReader::connect(opts(&mysql)?, config).await {
        Ok(_) => Err(TestFailure::new(
            "server id 1 (the server's own) was accepted",
        )),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("server's own id") && msg.contains("server_id"),
                "{msg}"
            );
            mysql.drop_databases().await
        }
    }
}

/// Three transactions; resuming from the first commit, by file position and by GTID, yields
/// exactly the other two.
#[tokio::test]
async fn resume_by_position_and_by_gtid_yields_exactly_the_rest() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
        .await?;
    let start = head(&mut mysql).await?;
    mysql
        .exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        .await?;
    mysql
        .exec("BEGIN; UPDATE t SET v = 'c' WHERE id = 1; INSERT INTO t VALUES (3, 'd'); COMMIT")
        .await?;
    mysql.exec("DELETE FROM t WHERE id = 2").await?;

    let all = read_to_end(&mysql, 0, StartAt::Position(start), &[&db]).await?;
    assert_eq!(
        shape(&all),
        vec![
            "I t [Int(1),Int(2)]",
            "C",
            "U t [Int(1)]",
            "I t [Int(3)]",
            "C",
            "D t [Int(2)]",
            "C"
        ]
    );
    let commits = commits_of(&all);
    let first = commits[0].clone();
    let gtid = first.gtid.clone().ok_or("commit positions carry no GTID")?;

    let by_pos = read_to_end(
        &mysql,
        1,
        StartAt::Position(first.clone().with_gtid("")),
        &[&db],
    )
    .await?;
    assert_eq!(shape(&by_pos), shape(&all)[2..].to_vec());
    let by_gtid = read_to_end(&mysql, 2, StartAt::Gtid(gtid), &[&db]).await?;
    assert_eq!(shape(&by_gtid), shape(&all)[2..].to_vec());
    // Both report the same resume points as the first read.
    assert_eq!(commits_of(&by_pos), commits[1..].to_vec());
    assert_eq!(commits_of(&by_gtid), commits[1..].to_vec());
    // The images agree too.
    let (a, b) = (rows_of(&all), rows_of(&by_gtid));
    assert_eq!(a[1].rows, b[0].rows);
    mysql.drop_databases().await
}

/// `FLUSH BINARY LOGS` while a blocking reader follows: a Rotate, and nothing lost.
#[tokio::test]
async fn rotation_mid_stream_loses_nothing() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql.exec("CREATE TABLE t (id INT PRIMARY KEY)").await?;
    let start = head(&mut mysql).await?;
    let config = ReaderConfig::new(server_id(&mysql, 0), StartAt::Position(start.clone()))
        .with_filter(TableFilter::schemas([db.clone()]))
        .with_idle_timeout(Duration::from_millis(200));
    let mut reader = BinlogReader::connect(opts(&mysql)?, config)
        .await
        .map_err(fail)?;

    mysql.exec("INSERT INTO t VALUES (1)").await?;
    let mut seen = Vec::new();
    let mut rotated_to = None;
    let mut flushed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 3 {
        if tokio::time::Instant::now() > deadline {
            return Err(TestFailure::new(format!("timed out; rows seen: {seen:?}")));
        }
        match reader.next().await.map_err(fail)? {
            Some(BinlogEvent::Rows(r)) => {
                for c in &r.rows {
                    seen.push(c.after.as_ref().map(|v| v[0].clone()));
                }
                if !flushed {
                    flushed = true;
                    mysql.exec("FLUSH BINARY LOGS").await?;
                    mysql
                        .exec("INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)")
                        .await?;
                }
            }
            Some(BinlogEvent::Rotate {
                next_file,
                position,
            }) => {
                assert_eq!(position.file, next_file);
                rotated_to = Some(next_file);
            }
            Some(_) => {}
            None => return Err(TestFailure::new("a blocking stream ended")),
        }
    }
    assert_eq!(
        seen,
        vec![
            Some(Value::Int(1)),
            Some(Value::Int(2)),
            Some(Value::Int(3))
        ]
    );
    let rotated_to = rotated_to.ok_or("no Rotate event")?;
    assert!(rotated_to > start.file, "{rotated_to} after {}", start.file);
    assert_eq!(reader.position().file, rotated_to);
    reader.close().await.map_err(fail)?;

    // A fresh non-blocking read across the rotation sees the same three rows.
    let again = read_to_end(&mysql, 1, StartAt::Position(start), &[&db]).await?;
    assert_eq!(
        shape(&again),
        vec![
            "I t [Int(1)]",
            "C",
            "I t [Int(2)]",
            "C",
            "I t [Int(3)]",
            "C"
        ]
    );
    mysql.drop_databases().await
}

#[tokio::test]
async fn the_schema_filter_skips_other_databases() -> TestResult {
    let mut mysql = TestMysql::with_databases(&["a", "b"]).await?;
    let (a, b) = (mysql.db("a").to_string(), mysql.db("b").to_string());
    mysql
        .exec(&format!("CREATE TABLE `{a}`.t (id INT PRIMARY KEY)"))
        .await?;
    mysql
        .exec(&format!("CREATE TABLE `{b}`.t (id INT PRIMARY KEY)"))
        .await?;
    mysql
        .exec(&format!("CREATE TABLE `{b}`.u (id INT PRIMARY KEY)"))
        .await?;
    let start = head(&mut mysql).await?;
    mysql
        .exec(&format!("INSERT INTO `{a}`.t VALUES (1)"))
        .await?;
    mysql
        .exec(&format!("INSERT INTO `{b}`.t VALUES (2)"))
        .await?;
    mysql
        .exec(&format!(
            "BEGIN; INSERT INTO `{b}`.t VALUES (3); INSERT INTO `{a}`.t VALUES (4); \
             INSERT INTO `{b}`.u VALUES (5); COMMIT"
        ))
        .await?;

    let only_a = read_to_end(&mysql, 0, StartAt::Position(start.clone()), &[&a]).await?;
    assert_eq!(
        shape(&only_a),
        vec!["I t [Int(1)]", "C", "I t [Int(4)]", "C"]
    );
    assert!(rows_of(&only_a).iter().all(|r| r.schema() == a));

    // A table filter narrows further.
    let config = ReaderConfig::new(server_id(&mysql, 1), StartAt::Position(start))
        .non_blocking()
        .with_filter(TableFilter::schemas([b.clone()]).with_tables([(b.clone(), "u")]));
    let mut reader = BinlogReader::connect(opts(&mysql)?, config)
        .await
        .map_err(fail)?;
    let mut tables = Vec::new();
    while let Some(ev) = reader.next().await.map_err(fail)? {
        if let BinlogEvent::Rows(r) = ev {
            tables.push(format!("{}.{}", r.schema(), r.table()));
        }
    }
    assert_eq!(tables, vec![format!("{b}.u")]);
    mysql.drop_databases().await
}

#[tokio::test]
async fn alter_table_mid_stream_yields_ddl_then_rows_with_the_new_columns() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql
        .exec("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))")
        .await?;
    let start = head(&mut mysql).await?;
    mysql.exec("INSERT INTO t VALUES (1, 'x')").await?;
    mysql
        .exec("ALTER TABLE t ADD COLUMN b INT UNSIGNED NOT NULL DEFAULT 7 AFTER id")
        .await?;
    mysql
        .exec("INSERT INTO t VALUES (2, 4294967295, 'y')")
        .await?;
    mysql.exec("UPDATE t SET a = 'z' WHERE id = 1").await?;

    let events = read_to_end(&mysql, 0, StartAt::Position(start), &[&db]).await?;
    assert_eq!(
        shape(&events),
        vec![
            "I t [Int(1)]",
            "C",
            "DDL",
            "I t [Int(2)]",
            "C",
            "U t [Int(1)]",
            "C"
        ]
    );
    let BinlogEvent::Ddl {
        schema,
        query,
        position,
        ..
    } = &events[2]
    else {
        return Err("no DDL event".into());
    };
    assert_eq!(schema, &db);
    assert!(query.contains("ADD COLUMN b"), "{query}");
    // A standalone DDL is a resume point of its own, after the first commit.
    assert!(*position > commits_of(&events)[0]);

    let rows = rows_of(&events);
    let names = |i: usize| -> Vec<String> {
        rows[i]
            .plan
            .columns()
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    assert_eq!(names(0), ["id", "a"]);
    assert_eq!(names(1), ["id", "b", "a"]);
    assert_eq!(
        rows[1].rows[0].after,
        Some(vec![
            Value::Int(2),
            Value::Int(4_294_967_295),
            Value::Text("y".into())
        ])
    );
    assert_eq!(rows[2].kind, RowKind::Update);
    assert_eq!(
        rows[2].rows[0].before,
        Some(vec![Value::Int(1), Value::Int(7), Value::Text("x".into())])
    );
    assert_eq!(
        rows[2].rows[0].after,
        Some(vec![Value::Int(1), Value::Int(7), Value::Text("z".into())])
    );
    mysql.drop_databases().await
}

/// The table-map cache never drops a map a statement still needs: statements whose TABLE_MAP
/// events name several tables (a trigger that writes two more tables, a multi-table UPDATE),
/// repeated with fresh table ids (`FLUSH LOCAL TABLES` gives each table a new id, as a server
/// with thousands of tables does) until the cache has been full several times over.
#[tokio::test]
async fn statements_that_write_many_tables_keep_every_map_they_need() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    mysql
        .exec(
            "CREATE TABLE a (id INT PRIMARY KEY, v INT);
             CREATE TABLE b (id INT PRIMARY KEY, v INT);
             CREATE TABLE c (id INT PRIMARY KEY, v INT);
             CREATE TABLE d (id INT PRIMARY KEY, v INT);
             INSERT INTO a VALUES (1, 0); INSERT INTO b VALUES (1, 0); INSERT INTO c VALUES (1, 0);
             INSERT INTO d VALUES (1, 0);
             CREATE TRIGGER a_writes_b_and_c AFTER UPDATE ON a FOR EACH ROW
             BEGIN UPDATE b SET v = v + 1; UPDATE c SET v = v + 1; END",
        )
        .await?;
    let start = head(&mut mysql).await?;
    const ROUNDS: usize = 3000;
    let mut batch = String::new();
    for i in 0..ROUNDS {
        batch.push_str("FLUSH LOCAL TABLES a, b, c, d; ");
        if i % 2 == 0 {
            batch.push_str("UPDATE a SET v = v + 1 WHERE id = 1; ");
        } else {
            batch.push_str(
                "UPDATE d JOIN b ON b.id = d.id JOIN c ON c.id = b.id \
                 SET d.v = d.v + 1, b.v = b.v + 1, c.v = c.v + 1; ",
            );
        }
    }
    mysql.exec(&batch).await?;
    let events = read_to_end(&mysql, 20, StartAt::Position(start), &[&db]).await?;
    let rows = rows_of(&events);
    // Half the rounds update `a` (its trigger writes `b` and `c`), half `d`, `b` and `c`.
    for (table, want) in [
        ("a", ROUNDS / 2),
        ("b", ROUNDS),
        ("c", ROUNDS),
        ("d", ROUNDS / 2),
    ] {
        let n: usize = rows
            .iter()
            .filter(|r| r.table() == table)
            .map(|r| r.rows.len())
            .sum();
        assert_eq!(n, want, "row changes of `{table}`");
    }
    assert_eq!(commits_of(&events).len(), ROUNDS);
    mysql.drop_databases().await
}

/// XA transactions: the rows of one come when its `XA COMMIT` comes (after transactions that
/// committed in between), a rolled-back one yields no rows, and a reader that may hold no rows
/// at all (`max_held_xa_rows` 0) reads them again from the binlog at the commit.
#[tokio::test]
async fn xa_rows_come_at_the_commit_and_never_for_a_rollback() -> TestResult {
    let mut mysql = TestMysql::new().await?;
    let db = mysql.db("main").to_string();
    let prefix = mysql.prefix().to_string();
    mysql
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
        .await?;
    let start = head(&mut mysql).await?;
    let (x1, x2) = (format!("{prefix}_x1"), format!("{prefix}_x2"));
    for sql in [
        format!(
            "XA START '{x1}'; INSERT INTO t VALUES (1, 'rolled back'); XA END '{x1}'; XA PREPARE '{x1}'"
        ),
        format!(
            "XA START '{x2}'; INSERT INTO t VALUES (2, 'committed'); XA END '{x2}'; XA PREPARE '{x2}'"
        ),
        "INSERT INTO t VALUES (3, 'plain')".to_string(),
        format!("XA ROLLBACK '{x1}'"),
        format!("XA COMMIT '{x2}'"),
    ] {
        // Each on its own connection: a prepared XA transaction outlives its session.
        let mut conn = mysql.admin_conn().await?;
        mysql_async::prelude::Queryable::query_drop(&mut conn, format!("USE `{db}`; {sql}"))
            .await?;
        conn.disconnect().await?;
    }
    for (salt, held) in [(30, 100_000), (31, 0)] {
        let mut config =
            ReaderConfig::new(server_id(&mysql, salt), StartAt::Position(start.clone()))
                .non_blocking()
                .with_filter(TableFilter::schemas([db.as_str()]));
        config.max_held_xa_rows = held;
        let mut reader = BinlogReader::connect(opts(&mysql)?, config)
            .await
            .map_err(fail)?;
        let mut events = Vec::new();
        while let Some(ev) = reader.next().await.map_err(fail)? {
            events.push(ev);
        }
        reader.close().await.map_err(fail)?;
        // Only the rows and the commit right after them.
        let mut kept = Vec::new();
        for (i, ev) in events.iter().enumerate() {
            if matches!(ev, BinlogEvent::Rows(_))
                || (matches!(ev, BinlogEvent::Commit { .. })
                    && matches!(events.get(i.wrapping_sub(1)), Some(BinlogEvent::Rows(_))))
            {
                kept.push(ev.clone());
            }
        }
        assert_eq!(
            shape(&kept),
            ["I t [Int(3)]", "C", "I t [Int(2)]", "C"],
            "held at most {held} rows"
        );
    }
    mysql.drop_databases().await
}
