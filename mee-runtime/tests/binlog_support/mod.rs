//! Helpers shared by the binlog integration tests: the binlog head, a per-test server id, and a
//! non-blocking read of everything the test's own databases wrote.

#![allow(dead_code)]

use mee_runtime::binlog::{
    BinlogError, BinlogEvent, BinlogPosition, BinlogReader, ReaderConfig, RowsEvent, StartAt,
    TableFilter,
};
use mee_testkit::{TestFailure, TestMysql, TestResult};
use mysql_async::Opts;
use mysql_async::prelude::Queryable;
use std::hash::{Hash, Hasher};

pub fn fail(e: BinlogError) -> TestFailure {
    TestFailure::new(format!("binlog error: {e}"))
}

/// A replica server id derived from the test's random database prefix (plus `salt`, for tests
/// that open several readers), far from the server's own id 1.
pub fn server_id(mysql: &TestMysql, salt: u32) -> u32 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    mysql.prefix().hash(&mut h);
    salt.hash(&mut h);
    100_000 + (h.finish() % 1_000_000_000) as u32
}

/// The end of the binlog now (file and offset only).
pub async fn head(mysql: &mut TestMysql) -> TestResult<BinlogPosition> {
    let row: Option<mysql_async::Row> = mysql.admin().query_first("SHOW MASTER STATUS").await?;
    let row = row.ok_or("SHOW MASTER STATUS returned nothing: is the binlog on?")?;
    let file: String = row.get(0).ok_or("no File column")?;
    let pos: u64 = row.get(1).ok_or("no Position column")?;
    Ok(BinlogPosition::new(file, pos))
}

pub fn opts(mysql: &TestMysql) -> TestResult<Opts> {
    Opts::from_url(&mysql.mee_url()).map_err(|e| TestFailure::new(format!("bad URL: {e}")))
}

/// Reads from `start` to the current end of the binlog, keeping rows, commits and DDL of the
/// given schemas (commits of other schemas' transactions are dropped unless `all_commits`).
pub async fn read_to_end(
    mysql: &TestMysql,
    salt: u32,
    start: StartAt,
    schemas: &[&str],
) -> TestResult<Vec<BinlogEvent>> {
    let config = ReaderConfig::new(server_id(mysql, salt), start)
        .non_blocking()
        .with_filter(TableFilter::schemas(schemas.iter().copied()));
    let mut reader = BinlogReader::connect(opts(mysql)?, config)
        .await
        .map_err(fail)?;
    let mut out = Vec::new();
    let mut open_rows = false;
    while let Some(ev) = reader.next().await.map_err(fail)? {
        match &ev {
            BinlogEvent::Rows(_) => {
                open_rows = true;
                out.push(ev);
            }
            // Keep only the commits that end a transaction with rows of our schemas.
            BinlogEvent::Commit { .. } => {
                if open_rows {
                    out.push(ev);
                }
                open_rows = false;
            }
            BinlogEvent::Ddl { .. } => out.push(ev),
            BinlogEvent::Rotate { .. } | BinlogEvent::Idle => {}
        }
    }
    reader.close().await.map_err(fail)?;
    Ok(out)
}

pub fn rows_of(events: &[BinlogEvent]) -> Vec<&RowsEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            BinlogEvent::Rows(r) => Some(r),
            _ => None,
        })
        .collect()
}

pub fn commits_of(events: &[BinlogEvent]) -> Vec<BinlogPosition> {
    events
        .iter()
        .filter_map(|e| match e {
            BinlogEvent::Commit { position, .. } => Some(position.clone()),
            _ => None,
        })
        .collect()
}

/// A compact text of an event list for assertions: `I t [1]`, `U t [1]`, `C`, `DDL`.
pub fn shape(events: &[BinlogEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            BinlogEvent::Rows(r) => {
                let kind = format!("{:?}", r.kind);
                let ids: Vec<String> = r
                    .rows
                    .iter()
                    .map(|c| {
                        let img = c.after.as_ref().or(c.before.as_ref());
                        img.and_then(|v| v.first())
                            .map(|v| format!("{v:?}"))
                            .unwrap_or_default()
                    })
                    .collect();
                format!("{} {} [{}]", &kind[..1], r.table(), ids.join(","))
            }
            BinlogEvent::Commit { .. } => "C".to_string(),
            BinlogEvent::Ddl { .. } => "DDL".to_string(),
            BinlogEvent::Rotate { .. } => "R".to_string(),
            BinlogEvent::Idle => "idle".to_string(),
        })
        .collect()
}
