//! The sync core on real MariaDB and osmem: after a full update, changes to the master, to a
//! joined table (fan-out), to the nested table (insert, soft delete) and a key change are read
//! from the binlog from the snapshot position and applied; the index must then equal what a fresh
//! full update builds from the current MySQL state (the correctness contract).
#![cfg(feature = "pipeline-vehicles")]

mod common;

use common::sync::{ONE_BATCH, apply_binlog, assert_equals_fresh};
use mee::generated::vehicles::index_vehicle as veh;
use mee_runtime::update::{CollectFailures, NoProgress, UpdateOptions, full_update};
use mee_testkit::{TestResult, fail};

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

    // Everything from the snapshot position to the end of the binlog, as one batch.
    let applied = apply_binlog(
        &mysql,
        &source,
        &veh::Index,
        &es,
        &first.snapshot,
        &synced,
        ONE_BATCH,
    )
    .await?;
    assert_eq!(applied.batches, 1, "{applied:?}");
    assert!(applied.relevant_rows >= 8, "{applied:?}");
    applied.all_written()?;
    // Vehicle 5 deleted and vehicle 2 moved to 20: two deletes at old placements.
    assert_eq!(applied.deleted, 2, "{applied:?}");

    let docs = assert_equals_fresh(&veh::Index, &source, &es, &test_es, &synced).await?;
    let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["vehicle_1", "vehicle_20", "vehicle_7"]);
    assert_eq!(docs[0].source["vehicle_type_name"], "lorry");
    let monitors: Vec<i64> = docs[0].source["vehicle_monitors"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["monitor_id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(monitors, vec![102, 103]);
    mysql.drop_databases().await
}
