//! `full_update` against the real MariaDB and osmem: a new generation behind the alias, versioned
//! with the snapshot position; a failure in the middle leaves the old generation serving and no
//! orphan index.
#![cfg(feature = "pipeline-vehicles")]

mod common;

use mee::generated::vehicles::index_vehicle as veh;
use mee_runtime::update::{CollectFailures, NoProgress, UpdateOptions, full_update};
use mee_testkit::{TestFailure, TestResult};

#[tokio::test]
async fn full_update_builds_a_generation_and_moves_the_alias() -> TestResult {
    let mut mysql = common::vehicles().await?;
    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let alias = test_es.name("index_vehicle");
    let options = UpdateOptions {
        alias: Some(alias.clone()),
        page_size: 2,
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
    .map_err(|e| TestFailure::new(e.to_string()))?;
    assert_eq!((first.master_rows, first.written), (3, 3));
    assert!(failures.0.is_empty(), "{:?}", failures.0);
    assert_eq!(
        es.alias_targets(&alias)
            .await
            .map_err(|e| TestFailure::new(e.to_string()))?,
        vec![first.index.clone()]
    );
    let docs = test_es.all_docs(&alias).await?;
    let ids: Vec<&str> = docs.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["vehicle_1", "vehicle_2", "vehicle_5"]);
    assert_eq!(
        docs[0].1["vehicle_monitors"].as_array().map(Vec::len),
        Some(2)
    );
    // Writes carry the snapshot position as their external version.
    let fetched = es
        .get_doc(&first.index, "vehicle_1", None)
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?
        .ok_or_else(|| TestFailure::new("vehicle_1 missing"))?;
    assert_eq!(fetched.version, Some(first.snapshot.version()));
    // The mapping came from the compiled pipeline: nested monitors are searchable as nested.
    let nested = serde_json::json!({"nested": {"path": "vehicle_monitors",
        "query": {"term": {"vehicle_monitors.monitor_id": 102}}}});
    assert_eq!(
        es.count(&alias, Some(&nested))
            .await
            .map_err(|e| TestFailure::new(e.to_string()))?,
        1
    );

    // A second run replaces the first; with keep_generations 1 the first stays as the previous one.
    let second = full_update(
        &veh::Index,
        &source,
        &es,
        &options,
        &mut failures,
        &NoProgress,
    )
    .await
    .map_err(|e| TestFailure::new(e.to_string()))?;
    assert_eq!(second.previous, vec![first.index.clone()]);
    assert_eq!(
        es.alias_targets(&alias)
            .await
            .map_err(|e| TestFailure::new(e.to_string()))?,
        vec![second.index.clone()]
    );

    // A failure in the middle (a joined table vanished): error, alias untouched, no orphan.
    let cert = mysql.db("certify_service").to_string();
    mysql
        .exec(&format!("DROP TABLE `{cert}`.vehicle_type"))
        .await?;
    let failed = full_update(
        &veh::Index,
        &source,
        &es,
        &options,
        &mut failures,
        &NoProgress,
    )
    .await;
    let err = failed
        .expect_err("the update cannot read vehicle_type")
        .to_string();
    assert!(err.contains("vehicle_type"), "{err}");
    assert_eq!(
        es.alias_targets(&alias)
            .await
            .map_err(|e| TestFailure::new(e.to_string()))?,
        vec![second.index.clone()]
    );
    let mut left: Vec<String> = es
        .list_indices(&format!("{alias}_*"))
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?
        .into_iter()
        .map(|i| i.name)
        .collect();
    left.sort();
    assert_eq!(left, vec![first.index, second.index]);
    assert_eq!(test_es.all_docs(&alias).await?.len(), 3);
    mysql.drop_databases().await
}

/// Several readers split the key span; pages that cross a range's end must not write a document
/// twice (the engine's count check would fail) nor miss one.
#[tokio::test]
async fn parallel_readers_cover_every_key_exactly_once() -> TestResult {
    let mut mysql =
        common::databases(&["certify_service", "carteam_service", "track_service"]).await?;
    let cert = mysql.db("certify_service").to_string();
    mysql
        .exec(&format!(
            "INSERT INTO `{cert}`.vehicle SELECT seq, '2018-01-01 00:00:00', NULL, NULL, seq % 2 FROM seq_1_to_4001"
        ))
        .await?;
    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let options = UpdateOptions {
        alias: Some(test_es.name("index_vehicle")),
        page_size: 7,
        readers: 3,
        ..UpdateOptions::default()
    };
    let mut failures = CollectFailures::default();
    let report = full_update(
        &veh::Index,
        &source,
        &es,
        &options,
        &mut failures,
        &NoProgress,
    )
    .await
    .map_err(|e| TestFailure::new(e.to_string()))?;
    assert_eq!((report.master_rows, report.written), (4001, 4001));
    mysql.drop_databases().await
}
