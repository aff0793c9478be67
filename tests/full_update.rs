//! `full_update` against the real MariaDB and osmem: a new generation behind the alias, versioned
//! with the snapshot position; a failure in the middle leaves the old generation serving and no
//! orphan index; documents that fail to build are recorded page by page and do not stop it.
#![cfg(all(feature = "pipeline-vehicles", feature = "pipeline-carteam"))]

mod common;

use mee::generated::{carteam::index_carteam_user as ct, vehicles::index_vehicle as veh};
use mee_runtime::pipeline::BoxFuture;
use mee_runtime::update::{
    CollectFailures, Failure, FailureSink, NoProgress, UpdateOptions, full_update,
};
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

/// Every call the full update made to its failure sink.
#[derive(Default)]
struct RecordedCalls(Vec<Vec<Failure>>);

impl FailureSink for RecordedCalls {
    fn record(&mut self, failures: Vec<Failure>) -> BoxFuture<'_, Result<(), String>> {
        self.0.push(failures);
        Box::pin(async { Ok(()) })
    }
}

/// Decision 7 / T17b in a full update: a document whose `sum` meets a NULL fails alone; the run
/// goes on, writes the others, and hands each failure to the sink with the page it was read in
/// (not all at the end, so a table of bad rows does not pile up in memory).
#[tokio::test]
async fn documents_that_fail_to_build_are_recorded_page_by_page_and_the_rest_is_written()
-> TestResult {
    let mut mysql = common::carteam().await?;
    let team = mysql.db("carteam_service").to_string();
    mysql
        .exec(&format!(
            "UPDATE `{team}`.credit SET reward_line = NULL;
             INSERT INTO `{team}`.users VALUES (4,'2018-01-01 00:00:00','2018-01-02 00:00:00','dave','444',1);"
        ))
        .await?;
    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let alias = test_es.name("index_carteam_user");
    let options = UpdateOptions {
        alias: Some(alias.clone()),
        page_size: 1,
        readers: 1,
        ..UpdateOptions::default()
    };
    let mut calls = RecordedCalls::default();
    let report = full_update(&ct::Index, &source, &es, &options, &mut calls, &NoProgress)
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    assert_eq!(
        (report.master_rows, report.written, report.build_failures),
        (3, 1, 2),
        "{report:?}"
    );
    // Users 1 and 3 are on different pages of one row: two calls, one failure each.
    let failed: Vec<Vec<(String, bool)>> = calls
        .0
        .iter()
        .map(|call| {
            call.iter()
                .map(|f| match f {
                    Failure::Build { id, error, .. } => {
                        (id.clone(), error.starts_with("field `loanable_amount`"))
                    }
                    Failure::Rejected { failure: r, .. } => (format!("rejected: {r:?}"), false),
                })
                .collect()
        })
        .collect();
    assert_eq!(
        failed,
        vec![
            vec![("carteam_user_1".to_string(), true)],
            vec![("carteam_user_3".to_string(), true)]
        ]
    );
    let docs = test_es.all_docs(&alias).await?;
    let ids: Vec<&str> = docs.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["carteam_user_4"]);
    mysql.drop_databases().await
}
