//! The sync core on real MariaDB and osmem: after a full update, changes to the master, to a
//! joined table (fan-out), to the nested table (insert, soft delete) and a key change are read
//! from the binlog from the snapshot position and applied; the index must then equal what a fresh
//! full update builds from the current MySQL state (the correctness contract).
#![cfg(feature = "pipeline-vehicles")]

mod common;

use mee::generated::vehicles::index_vehicle as veh;
use mee_runtime::binlog::{BinlogEvent, BinlogReader, ReaderConfig, StartAt, TableFilter};
use mee_runtime::es::{BulkConfig, BulkWriter};
use mee_runtime::pipeline::resolve_statements;
use mee_runtime::sync::{SyncTarget, apply_changes, logical_names};
use mee_runtime::update::{CollectFailures, NoProgress, UpdateOptions, full_update};
use mee_testkit::{TestResult, fail};
use std::sync::Arc;

#[tokio::test]
async fn applied_changes_equal_a_fresh_full_update() -> TestResult {
    let mut mysql = common::vehicles().await?;
    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let synced = test_es.name("synced");
    let options = UpdateOptions {
        alias: Some(synced.clone()),
        ..UpdateOptions::default()
    };
    let mut failures = CollectFailures::default();
    let first = full_update(
        &veh::Index,
        &source,
        &es,
        &options,
        &mut failures,
        &NoProgress,
    )
    .await
    .map_err(fail)?;

    let (cert, team, track) = (
        mysql.db("certify_service").to_string(),
        mysql.db("carteam_service").to_string(),
        mysql.db("track_service").to_string(),
    );
    mysql
        .exec(&format!(
            "UPDATE `{cert}`.vehicle SET status = 0 WHERE id = 1;
             INSERT INTO `{cert}`.vehicle VALUES (7,'2019-01-01 00:00:00',NULL,10,1);
             DELETE FROM `{cert}`.vehicle WHERE id = 5;
             UPDATE `{cert}`.vehicle_type SET name = 'lorry' WHERE id = 10;
             INSERT INTO `{track}`.vehicle_monitor VALUES (103,1,1,5,'x');
             UPDATE `{track}`.vehicle_monitor SET status = 0 WHERE id = 100;
             UPDATE `{cert}`.vehicle SET id = 20 WHERE id = 2;
             INSERT INTO `{team}`.relation_captain_vehicle VALUES (1001,7,78,89,1);
             UPDATE `{team}`.relation_captain_vehicle SET carteam_id = carteam_id WHERE id = 1000;"
        ))
        .await?;

    // Read the binlog from the snapshot position to its end.
    let opts = mysql_async::Opts::from_url(&mysql.mee_url()).map_err(fail)?;
    let physical: Vec<String> = mysql.database_map().values().cloned().collect();
    let server_id = 2_000_000 + std::process::id() % 1_000_000;
    let config = ReaderConfig::new(server_id, StartAt::Position(first.snapshot.clone()))
        .non_blocking()
        .with_filter(TableFilter::schemas(physical));
    let mut reader = BinlogReader::connect(opts, config).await.map_err(fail)?;
    let mut events = Vec::new();
    let mut last = first.snapshot.clone();
    while let Some(event) = reader.next().await.map_err(fail)? {
        match event {
            BinlogEvent::Rows(rows) => events.push(rows),
            BinlogEvent::Commit { position, .. } => last = position,
            _ => {}
        }
    }
    assert!(events.len() >= 8, "{} rows events", events.len());

    let statements = resolve_statements(&veh::Index, &source);
    let mut session = source.session().await.map_err(fail)?;
    let mut writer = BulkWriter::new(es.clone(), BulkConfig::default());
    let logical = logical_names(source.config());
    let target = SyncTarget {
        index: &veh::Index,
        statements: &statements,
        logical: &logical,
        write_to: Arc::from(synced.as_str()),
    };
    let applied = apply_changes(&target, &mut session, &events, &mut writer, last.version())
        .await
        .map_err(fail)?;
    assert!(
        applied.build_failures.is_empty(),
        "{:?}",
        applied.build_failures
    );
    // Vehicle 5 deleted and vehicle 2 moved to 20: two deletes at old placements.
    assert_eq!(applied.deleted, 2, "{applied:?}");

    let fresh = test_es.name("fresh");
    let options = UpdateOptions {
        alias: Some(fresh.clone()),
        ..UpdateOptions::default()
    };
    full_update(
        &veh::Index,
        &source,
        &es,
        &options,
        &mut failures,
        &NoProgress,
    )
    .await
    .map_err(fail)?;
    es.refresh(&first.index).await.map_err(fail)?;
    let synced_docs = test_es.all_docs(&synced).await?;
    let fresh_docs = test_es.all_docs(&fresh).await?;
    let ids: Vec<&str> = fresh_docs.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["vehicle_1", "vehicle_20", "vehicle_7"]);
    assert_eq!(synced_docs, fresh_docs);
    assert_eq!(fresh_docs[0].1["vehicle_type_name"], "lorry");
    let monitors: Vec<i64> = fresh_docs[0].1["vehicle_monitors"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["monitor_id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(monitors, vec![102, 103]);
    mysql.drop_databases().await
}
