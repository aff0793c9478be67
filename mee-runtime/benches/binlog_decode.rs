//! Binlog decoding speed: 200k rows x 10 mixed columns written in big multi-row INSERTs, then
//! that binlog range read non-blocking and decoded (1) with mysql_common's standard `rows()` API
//! and (2) with mee's per-table decode plans, plus the raw event read speed and the whole
//! `BinlogReader` (network + decoding) for reference.
//!
//! Run: `cargo bench -p mee-runtime --bench binlog_decode` (needs `scripts/services.sh start mysql`).

use futures::StreamExt;
use mee_runtime::binlog::{
    BinlogEvent, BinlogReader, RawRows, ReaderConfig, StartAt, TableFilter, TablePlan,
};
use mee_testkit::TestMysql;
use mysql_async::binlog::events::{Event, EventData, TableMapEvent};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Opts};
use std::collections::HashMap;
use std::time::Instant;

const ROWS: usize = 200_000;
const BATCH: usize = 2_000;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(run()) {
        eprintln!("binlog_decode bench failed: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let mut mysql = TestMysql::new().await.map_err(|e| e.to_string())?;
    let db = mysql.db("main").to_string();
    mysql
        .exec(
            "CREATE TABLE bench (id BIGINT PRIMARY KEY, qty INT, flags INT UNSIGNED, \
             total DECIMAL(12,2), price DOUBLE, code VARCHAR(32), note VARCHAR(100), \
             created DATETIME(3), updated TIMESTAMP NULL, state TINYINT)",
        )
        .await
        .map_err(|e| e.to_string())?;
    let (file, start) = head(&mut mysql).await?;

    let t = Instant::now();
    for batch in 0..ROWS / BATCH {
        let mut sql = String::from("INSERT INTO bench VALUES ");
        for i in 0..BATCH {
            let id = batch * BATCH + i;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({id},{},{},{}.{:02},{}.25,'CODE-{id:08}','a note about order {id} ✓',\
                 '2024-01-02 03:04:05.{:03}','2024-05-06 07:08:09',{})",
                id % 1000,
                id * 7,
                id % 100_000,
                id % 100,
                id % 5000,
                id % 1000,
                id % 4
            ));
        }
        mysql.exec(&sql).await.map_err(|e| e.to_string())?;
    }
    println!(
        "inserted {ROWS} rows x 10 columns in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let (_, end) = head(&mut mysql).await?;

    let opts = Opts::from_url(&mysql.mee_url()).map_err(|e| e.to_string())?;

    // Raw read: events off the wire, no decoding.
    let conn = Conn::new(opts.clone()).await.map_err(|e| e.to_string())?;
    let request = BinlogStreamRequest::new(4_000_001)
        .with_filename(file.as_bytes())
        .with_pos(start)
        .with_non_blocking();
    let mut stream = conn
        .get_binlog_stream(request)
        .await
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let mut events: Vec<Event> = Vec::new();
    let mut bytes = 0usize;
    while let Some(ev) = stream.next().await {
        let ev = ev.map_err(|e| e.to_string())?;
        bytes += ev.header().event_size() as usize;
        let done = ev.header().log_pos() as u64 >= end;
        events.push(ev);
        if done {
            break;
        }
    }
    let raw_secs = t.elapsed().as_secs_f64();
    drop(stream);
    println!(
        "raw event read: {} events, {:.1} MB in {:.3}s = {:.0} MB/s",
        events.len(),
        bytes as f64 / 1e6,
        raw_secs,
        bytes as f64 / 1e6 / raw_secs
    );

    // The standard API: rows(tme) per rows event.
    for round in 0..2 {
        let t = Instant::now();
        let mut tables: HashMap<u64, TableMapEvent<'static>> = HashMap::new();
        let mut rows = 0usize;
        for ev in &events {
            match ev.read_data().map_err(|e| e.to_string())? {
                Some(EventData::TableMapEvent(tme)) => {
                    tables.insert(tme.table_id(), tme.into_owned());
                }
                Some(EventData::RowsEvent(re)) => {
                    let Some(tme) = tables.get(&re.table_id()) else {
                        continue;
                    };
                    for row in re.rows(tme) {
                        let (_, after) = row.map_err(|e| e.to_string())?;
                        rows += usize::from(after.is_some());
                    }
                }
                _ => {}
            }
        }
        report(
            &format!("standard rows() API (round {})", round + 1),
            rows,
            t.elapsed().as_secs_f64(),
        );
    }

    // mee's decode plans: one plan per table map, rows decoded into Vec<Value>.
    for round in 0..2 {
        let t = Instant::now();
        let mut plans: HashMap<u64, (Vec<u8>, TablePlan)> = HashMap::new();
        let mut rows = 0usize;
        let mut values = 0usize;
        for ev in &events {
            let type_code = ev.header().event_type_raw();
            if type_code == 19 {
                let data = ev.data();
                let id = u64::from_le_bytes([
                    data[0], data[1], data[2], data[3], data[4], data[5], 0, 0,
                ]);
                if plans.get(&id).is_some_and(|(raw, _)| raw == data) {
                    continue;
                }
                let tme = ev
                    .read_event::<TableMapEvent<'_>>()
                    .map_err(|e| e.to_string())?;
                let plan = TablePlan::from_table_map(&tme).map_err(|e| e.to_string())?;
                plans.insert(id, (data.to_vec(), plan));
            } else if let Ok(raw) = RawRows::parse(type_code, ev.data(), 6) {
                let Some((_, plan)) = plans.get(&raw.table_id) else {
                    continue;
                };
                let decoded = plan.decode_rows(&raw).map_err(|e| e.to_string())?;
                rows += decoded.len();
                values += decoded
                    .iter()
                    .filter_map(|r| r.after.as_ref())
                    .map(Vec::len)
                    .sum::<usize>();
            }
        }
        report(
            &format!("mee decode plan (round {})", round + 1),
            rows,
            t.elapsed().as_secs_f64(),
        );
        assert_eq!(values, rows * 10);
    }

    // The whole reader: network, event parsing, plans, position tracking.
    let config = ReaderConfig::new(
        4_000_002,
        StartAt::Position(mee_runtime::binlog::BinlogPosition::new(
            file.clone(),
            start,
        )),
    )
    .non_blocking()
    .with_filter(TableFilter::schemas([db.clone()]));
    let t = Instant::now();
    let mut reader = BinlogReader::connect(opts, config)
        .await
        .map_err(|e| e.to_string())?;
    let mut rows = 0usize;
    while let Some(ev) = reader.next().await.map_err(|e| e.to_string())? {
        if let BinlogEvent::Rows(r) = ev {
            rows += r.rows.len();
        }
        if reader.position().pos >= end && reader.position().file == file {
            break;
        }
    }
    report(
        "BinlogReader end to end (network + decode)",
        rows,
        t.elapsed().as_secs_f64(),
    );
    mysql.drop_databases().await.map_err(|e| e.to_string())?;
    Ok(())
}

fn report(what: &str, rows: usize, secs: f64) {
    println!(
        "{what}: {rows} rows in {secs:.3}s = {:.0} rows/s",
        rows as f64 / secs
    );
}

async fn head(mysql: &mut TestMysql) -> Result<(String, u64), String> {
    let row: Option<(String, u64, String, String)> = mysql
        .admin()
        .query_first("SHOW MASTER STATUS")
        .await
        .map_err(|e| e.to_string())?;
    let (file, pos, _, _) = row.ok_or("SHOW MASTER STATUS returned nothing")?;
    Ok((file, pos))
}
