//! MySQL read speed: one SELECT of N rows x 10 mixed columns (default 1M) through (1) the bare
//! driver (`exec_iter`, rows counted, nothing converted), (2) mee's reader (`Session::for_each`,
//! every row converted to `Vec<Value>`), (3) the same inside a snapshot, and (4) the `mariadb`
//! command-line client writing to /dev/null, for reference.
//!
//! Run: `cargo bench -p mee-runtime --bench mysql_read [-- ROWS]` (needs
//! `scripts/services.sh start mysql`).

use mee_runtime::mysql::{Source, SourceConfig};
use mee_testkit::TestMysql;
use mysql_async::prelude::Queryable;
use std::time::Instant;

fn main() {
    let rows: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(run(rows)) {
        eprintln!("mysql_read bench failed: {e}");
        std::process::exit(1);
    }
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn report(what: &str, rows: u64, started: Instant, cpu0: f64) {
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{what:<34} {rows} rows in {secs:.2}s = {:>9.0} rows/s, process CPU {:.3} us/row",
        rows as f64 / secs,
        cpu * 1e6 / rows as f64
    );
}

async fn run(n: u64) -> Result<(), String> {
    let mut mysql = TestMysql::new().await.map_err(|e| e.to_string())?;
    let db = mysql.db("main").to_string();
    mysql
        .exec(&format!(
            "CREATE TABLE bench (id BIGINT PRIMARY KEY, qty INT, flags INT UNSIGNED, \
             total DECIMAL(12,2), price DOUBLE, code VARCHAR(32), note VARCHAR(100), \
             created DATETIME(3), updated TIMESTAMP NULL, state TINYINT);
             INSERT INTO bench SELECT seq, seq % 1000, seq * 7, (seq % 100000) + 0.25, seq / 4, \
               CONCAT('CODE-', LPAD(seq, 8, '0')), CONCAT('a note about order ', seq, ' ✓'), \
               '2024-01-02 03:04:05.678', '2024-05-06 07:08:09', seq % 5 \
             FROM seq_1_to_{n}"
        ))
        .await
        .map_err(|e| e.to_string())?;
    let sql = format!("SELECT * FROM `{db}`.bench");

    // (1) The bare driver: binary protocol, rows parsed by mysql_common, nothing else.
    let mut conn = mysql.admin_conn().await.map_err(|e| e.to_string())?;
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut count = 0u64;
    let mut result = conn
        .exec_iter(sql.as_str(), ())
        .await
        .map_err(|e| e.to_string())?;
    result
        .for_each(|_row| count += 1)
        .await
        .map_err(|e| e.to_string())?;
    drop(result);
    report("driver exec_iter (no conversion)", count, t, c);

    // (2) mee's reader on a pooled session.
    let config = SourceConfig::new(mysql.mee_url()).with_database("main", &db);
    let source = Source::connect(config).await.map_err(|e| e.to_string())?;
    let mut session = source.session().await.map_err(|e| e.to_string())?;
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut count = 0u64;
    let mut bytes = 0usize;
    session
        .for_each(&sql, &[], |row| {
            count += 1;
            bytes += row.len();
            Ok::<(), mee_runtime::mysql::MysqlError>(())
        })
        .await
        .map_err(|e| e.to_string())?;
    report("mee Session::for_each -> Vec<Value>", count, t, c);

    // (3) The same through a snapshot.
    let (mut snap, _) = source.snapshot().await.map_err(|e| e.to_string())?;
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut count = 0u64;
    snap.for_each(&sql, &[], |_row| {
        count += 1;
        Ok::<(), mee_runtime::mysql::MysqlError>(())
    })
    .await
    .map_err(|e| e.to_string())?;
    report("mee Snapshot::for_each", count, t, c);
    snap.finish().await.map_err(|e| e.to_string())?;

    // (4) The mariadb client, for reference (its CPU is its own process, not shown).
    let t = Instant::now();
    let out = std::process::Command::new("mariadb")
        .args([
            "-h127.0.0.1",
            "-P13306",
            "-umee",
            "-pmee",
            "--quick",
            "--batch",
            "--skip-column-names",
            "-e",
            &sql,
        ])
        .stdout(std::process::Stdio::null())
        .status();
    match out {
        Ok(s) if s.success() => {
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{:<34} {n} rows in {secs:.2}s = {:>9.0} rows/s",
                "mariadb --quick > /dev/null",
                n as f64 / secs
            );
        }
        other => println!("mariadb client not run: {other:?}"),
    }
    drop(session);
    source.disconnect().await.map_err(|e| e.to_string())?;
    mysql.drop_databases().await.map_err(|e| e.to_string())?;
    Ok(())
}
