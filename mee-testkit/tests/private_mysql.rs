//! The private MariaDB server: the settings and accounts of the shared one, extra server
//! arguments, databases on it, a clean stop, a kill and a restart on the same data, and no
//! trace once dropped.

use mee_testkit::{PrivateMysql, TestResult};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use std::time::Instant;

#[tokio::test]
async fn a_private_server_has_the_shared_settings_and_survives_stop_kill_and_restart() -> TestResult
{
    let started = Instant::now();
    let mut server = PrivateMysql::start(&["--wait-timeout=77"]).await?;
    eprintln!("private MariaDB ready in {:?}", started.elapsed());
    let dir = server.dir().to_path_buf();

    let mut mee = Conn::from_url(server.mee_url().as_str()).await?;
    let settings: Vec<(String, String)> = mee
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', \
             'binlog_row_image', 'binlog_row_metadata', 'character_set_server', 'wait_timeout', \
             'server_id')",
        )
        .await?;
    let mut settings: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    settings.sort();
    assert_eq!(
        settings,
        [
            "binlog_format=ROW",
            "binlog_row_image=FULL",
            "binlog_row_metadata=FULL",
            "character_set_server=utf8mb4",
            "log_bin=ON",
            "server_id=1",
            "wait_timeout=77",
        ]
    );
    let grants: Vec<String> = mee.query("SHOW GRANTS").await?;
    assert!(
        grants[0].starts_with("GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.*"),
        "{grants:?}"
    );
    mee.disconnect().await?;

    let mut mysql = server.test_mysql(&["main"]).await?;
    assert_eq!(mysql.mee_url(), server.mee_url());
    mysql
        .exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await?;
    let db = mysql.db("main").to_string();
    drop(mysql);

    server.stop().await?;
    assert!(!server.is_running());
    server.restart().await?;
    let count = |server: &PrivateMysql| {
        let (url, db) = (server.admin_url(), db.clone());
        async move {
            let mut conn = Conn::from_url(url.as_str()).await?;
            let n: Option<u64> = conn
                .query_first(format!("SELECT COUNT(*) FROM `{db}`.t"))
                .await?;
            conn.disconnect().await?;
            TestResult::Ok(n)
        }
    };
    assert_eq!(count(&server).await?, Some(1));
    let pid = server.pid().ok_or("no pid while running")?;
    server.kill()?;
    assert!(!server.is_running());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    server.restart().await?;
    assert_eq!(count(&server).await?, Some(1));

    drop(server);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    Ok(())
}
