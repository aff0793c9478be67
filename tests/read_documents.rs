//! The generated read plan against a real MariaDB: the reference's base data (VEH, CT) is loaded
//! into this test's own databases, read through one consistent snapshot in pages, and every
//! document must equal the reference's full-update documents (T13, T14), with one query per
//! joined item per page (no N+1).
#![cfg(all(feature = "pipeline-vehicles", feature = "pipeline-carteam"))]

use mee::generated::{carteam::index_carteam_user as ct, vehicles::index_vehicle as veh};
use mee_runtime::mysql::Source;
use mee_runtime::pipeline::{IndexPipeline, resolve_statements};
use mee_testkit::{TestFailure, TestResult};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

mod common;

use common::{databases, source};

/// Every document of an index, read in pages of `limit` through one snapshot, by `_id`.
async fn read_all(
    index: &dyn IndexPipeline,
    source: &Source,
    limit: usize,
) -> TestResult<(BTreeMap<String, (Option<String>, Json)>, usize)> {
    let statements = resolve_statements(index, source);
    let (mut snapshot, _position) = source
        .snapshot()
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    let mut docs = BTreeMap::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = index
            .read_page(snapshot.session(), &statements, after.clone(), limit)
            .await
            .map_err(|e| TestFailure::new(e.to_string()))?;
        if page.master_rows == 0 {
            break;
        }
        pages += 1;
        for doc in page.docs {
            let source = doc
                .source
                .map_err(|e| TestFailure::new(format!("document {}: {e}", doc.id)))?;
            docs.insert(doc.id, (doc.routing, serde_json::from_slice(&source)?));
        }
        after = page.last_key;
    }
    snapshot
        .finish()
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    Ok((docs, pages))
}

#[tokio::test]
async fn t13_vehicle_documents_from_mariadb() -> TestResult {
    let mysql = common::vehicles().await?;
    let source = source(&mysql).await?;
    // One row per page exercises the keyset paging across pages.
    let (docs, pages) = read_all(&veh::Index, &source, 1).await?;
    assert_eq!(pages, 3);
    let dates = json!({"created_at": "2018-01-01 00:00:00", "updated_at": "2018-01-02 00:00:00"});
    let with_dates = |mut v: Json| {
        v.as_object_mut()
            .expect("object")
            .extend(dates.as_object().expect("object").clone());
        v
    };
    assert_eq!(
        docs.get("vehicle_1"),
        Some(&(
            None,
            with_dates(
                json!({"vehicle_id": 1, "vehicle_type_id": 10, "vehicle_status": 1,
            "vehicle_type_name": "truck", "captain_id": 77, "carteam_id": 88,
            "vehicle_monitors": [{"monitor_id": 100, "monitor_status": 7, "monitor_type": "gps"},
                                 {"monitor_id": 102, "monitor_status": 9, "monitor_type": "cam"}]})
            )
        ))
    );
    assert_eq!(
        docs.get("vehicle_5"),
        Some(&(
            None,
            with_dates(
                json!({"vehicle_id": 5, "vehicle_type_id": 11, "vehicle_status": 0,
            "vehicle_type_name": null, "captain_id": null, "carteam_id": null, "vehicle_monitors": []})
            )
        ))
    );
    // T17(a) with Decision 1: a NULL key gives empty joined fields, not a failed run.
    assert_eq!(
        docs.get("vehicle_2")
            .map(|d| d.1["vehicle_type_name"].clone()),
        Some(Json::Null)
    );
    assert_eq!(docs.len(), 3);
    mysql.drop_databases().await
}

#[tokio::test]
async fn t14_carteam_documents_from_mariadb_with_execute_sql() -> TestResult {
    let mysql = common::carteam().await?;
    let source = source(&mysql).await?;
    let (docs, _) = read_all(&ct::Index, &source, 100).await?;
    let common = json!({"created_at": "2018-01-01 00:00:00", "updated_at": "2018-01-02 00:00:00"});
    let mut alice = json!({"user_id": 1, "user_name": "alice", "user_mobile": "111", "rco_id": 500,
        "rco_op_id": 600, "auditor_name": "aud1", "auditor_mobile": "999", "rcm_id": 501, "rcm_op_id": 601,
        "credit_line": 1000, "loanable_amount": 500, "loan_count": 2, "unrepaid_loan_count": 1});
    let mut carol = json!({"user_id": 3, "user_name": "carol", "user_mobile": null, "rco_id": null,
        "rco_op_id": null, "auditor_name": null, "auditor_mobile": null, "rcm_id": null, "rcm_op_id": null,
        "credit_line": 1000, "loanable_amount": 200, "loan_count": 0, "unrepaid_loan_count": 0});
    for v in [&mut alice, &mut carol] {
        v.as_object_mut()
            .expect("object")
            .extend(common.as_object().expect("object").clone());
    }
    assert_eq!(
        docs.get("carteam_user_1"),
        Some(&(Some("1".to_string()), alice))
    );
    assert_eq!(
        docs.get("carteam_user_3"),
        Some(&(Some("3".to_string()), carol))
    );
    // User 2 has role 2: the master statement's `role_id = 1` leaves it out.
    assert_eq!(docs.len(), 2, "{:?}", docs.keys().collect::<Vec<_>>());
    mysql.drop_databases().await
}

/// The generated reverse map finds, through MySQL, the master keys of the documents a changed
/// row affects: directly, through one hop, and through a chain of two items.
#[tokio::test]
async fn reverse_paths_find_the_affected_documents() -> TestResult {
    use mee_runtime::pipeline::affected_keys;
    use mee_runtime::value::Value;
    let mysql = common::vehicles().await?;
    let veh_source = common::source(&mysql).await?;
    let stmts = resolve_statements(&veh::Index, &veh_source);
    let mut session = veh_source
        .session()
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    let by_item = |item: &str| {
        veh::Index
            .sources()
            .iter()
            .find(|s| s.item == item)
            .ok_or_else(|| TestFailure::new(format!("no source {item}")))
    };
    // vehicle_type 10 is used by vehicle 1 (a hop through `vehicle.vehicle_type_id`).
    let keys = affected_keys(
        &mut session,
        &stmts,
        by_item("vehicle_type")?,
        vec![Value::Int(10)],
    )
    .await
    .map_err(|e| TestFailure::new(e.to_string()))?;
    assert_eq!(keys, vec![Value::Int(1)]);
    // A monitor row's car_id is the master key itself (through `%__parent.id`): no query.
    let monitor = by_item("vehicle_monitor")?;
    assert_eq!(monitor.start, "car_id");
    assert!(monitor.path.iter().all(|s| s.statement.is_none()));
    // Only the columns the pipeline uses matter for the master table.
    assert_eq!(
        by_item("vehicle")?.columns,
        [
            "id",
            "created_at",
            "updated_at",
            "vehicle_type_id",
            "status"
        ]
    );
    drop(session);

    // CT: an admin user's change reaches users through auditor_relations (two hops).
    let mut mysql = databases(&["carteam_service", "admin_service"]).await?;
    let team = mysql.db("carteam_service").to_string();
    mysql.exec(&format!("INSERT INTO `{team}`.auditor_relations VALUES (10,1,500,600,1,1),(11,7,500,601,1,2),(12,3,501,0,1,1)")).await?;
    let ct_source = common::source(&mysql).await?;
    let stmts = resolve_statements(&ct::Index, &ct_source);
    let mut session = ct_source
        .session()
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    let admin = ct::Index
        .sources()
        .iter()
        .find(|s| s.item == "admin_users")
        .ok_or_else(|| TestFailure::new("no admin_users"))?;
    let mut keys = affected_keys(&mut session, &stmts, admin, vec![Value::Int(500)])
        .await
        .map_err(|e| TestFailure::new(e.to_string()))?;
    keys.sort_by_key(|v| v.as_i64());
    // Users 1 and 7 have auditor 500 (7 through role 2: a superset is harmless, a rebuild of an
    // unaffected document writes the same document).
    assert_eq!(keys, vec![Value::Int(1), Value::Int(7)]);
    Ok(())
}
