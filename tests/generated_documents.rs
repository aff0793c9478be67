//! The generated document code of the shipped pipelines builds exactly the documents of the
//! handler reference's full-update cases (T13 for VEH, T14 for CT), from rows given in memory.
//! (Reading those rows from MySQL is the full update's job and is tested there.)
#![cfg(all(feature = "pipeline-vehicles", feature = "pipeline-carteam"))]

use mee::generated::{carteam::index_carteam_user as ct, vehicles::index_vehicle as veh};
use mee_runtime::__private::{ToJson, Value};
use serde_json::{Value as Json, json};

/// A row in a struct's column order, from `(column, value)` pairs (missing columns are NULL).
fn row(columns: &[&str], values: &[(&str, Value)]) -> Vec<Value> {
    columns
        .iter()
        .map(|c| {
            values
                .iter()
                .find(|(n, _)| n == c)
                .map_or(Value::Null, |(_, v)| v.clone())
        })
        .collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn doc_json(doc: &impl ToJson) -> Json {
    serde_json::from_slice(&doc.to_json_bytes()).expect("documents are valid JSON")
}

#[test]
fn t13_vehicle_documents() {
    let vehicle = |id: i64, type_id: Option<i64>, status: i64| {
        veh::VehicleRow::from_row(row(
            veh::VehicleRow::COLUMNS,
            &[
                ("id", Value::Int(id)),
                ("created_at", text("2018-01-01 00:00:00")),
                ("updated_at", text("2018-01-02 00:00:00")),
                ("vehicle_type_id", type_id.map_or(Value::Null, Value::Int)),
                ("status", Value::Int(status)),
            ],
        ))
        .expect("vehicle row converts")
    };
    let monitor = |id: i64, status: i64, kind: &str| {
        let r = veh::VehicleMonitorRow::from_row(row(
            veh::VehicleMonitorRow::COLUMNS,
            &[
                ("id", Value::Int(id)),
                ("car_id", Value::Int(1)),
                ("status", Value::Int(1)),
                ("monitor_status", Value::Int(status)),
                ("monitor_type", text(kind)),
            ],
        ))
        .expect("monitor row converts");
        veh::build_vehicle_monitors_element(&r).expect("element builds")
    };
    let truck = veh::VehicleTypeRow::from_row(row(
        veh::VehicleTypeRow::COLUMNS,
        &[("id", Value::Int(10)), ("name", text("truck"))],
    ))
    .expect("type row converts");
    let captain = veh::RelationCaptainVehicleRow::from_row(row(
        veh::RelationCaptainVehicleRow::COLUMNS,
        &[
            ("id", Value::Int(1000)),
            ("vehicle_id", Value::Int(1)),
            ("captain_id", Value::Int(77)),
            ("carteam_id", Value::Int(88)),
            ("status", Value::Int(1)),
        ],
    ))
    .expect("relation row converts");

    let v1 = vehicle(1, Some(10), 1);
    let doc = veh::build_doc(
        &v1,
        vec![monitor(100, 7, "gps"), monitor(102, 9, "cam")],
        Some(&truck),
        Some(&captain),
    )
    .expect("document builds");
    assert_eq!(veh::document_id(&v1), "vehicle_1");
    assert_eq!(veh::routing(&v1), None);
    assert_eq!(
        doc_json(&doc),
        json!({"vehicle_id": 1, "created_at": "2018-01-01 00:00:00", "updated_at": "2018-01-02 00:00:00",
            "vehicle_type_id": 10, "vehicle_status": 1, "vehicle_type_name": "truck",
            "captain_id": 77, "carteam_id": 88,
            "vehicle_monitors": [{"monitor_id": 100, "monitor_status": 7, "monitor_type": "gps"},
                                 {"monitor_id": 102, "monitor_status": 9, "monitor_type": "cam"}]})
    );

    // Vehicle 5: no type row (11 does not exist), no captain, no monitors.
    let v5 = vehicle(5, Some(11), 0);
    let doc = veh::build_doc(&v5, vec![], None, None).expect("document builds");
    assert_eq!(
        doc_json(&doc),
        json!({"vehicle_id": 5, "created_at": "2018-01-01 00:00:00", "updated_at": "2018-01-02 00:00:00",
            "vehicle_type_id": 11, "vehicle_status": 0, "vehicle_type_name": null,
            "captain_id": null, "carteam_id": null, "vehicle_monitors": []})
    );
    // Decision 1 (T17a): a NULL key is not an error; the joined fields are null.
    let v2 = vehicle(2, None, 0);
    assert!(veh::build_doc(&v2, vec![], None, None).is_ok());
}

#[test]
fn t14_carteam_documents_with_functions_and_null_values() {
    let user = |id: i64, name: &str, mobile: Option<&str>| {
        ct::UsersRow::from_row(row(
            ct::UsersRow::COLUMNS,
            &[
                ("id", Value::Int(id)),
                ("created_at", text("2018-01-01 00:00:00")),
                ("updated_at", text("2018-01-02 00:00:00")),
                ("name", text(name)),
                ("mobile", mobile.map_or(Value::Null, text)),
                ("role_id", Value::Int(1)),
            ],
        ))
        .expect("user row converts")
    };
    let relation = |role: i64, auditor: i64, op: i64| {
        row(
            ct::Relations1Row::COLUMNS,
            &[
                ("id", Value::Int(10 + role)),
                ("user_id", Value::Int(1)),
                ("auditor_id", Value::Int(auditor)),
                ("op_id", Value::Int(op)),
                ("status", Value::Int(1)),
                ("role", Value::Int(role)),
            ],
        )
    };
    let r1 = ct::Relations1Row::from_row(relation(1, 500, 600)).expect("converts");
    let r2 = ct::Relations2Row::from_row(relation(2, 501, 601)).expect("converts");
    let admin = ct::AdminUsersRow::from_row(row(
        ct::AdminUsersRow::COLUMNS,
        &[
            ("id", Value::Int(500)),
            ("name", text("aud1")),
            ("phone", text("999")),
        ],
    ))
    .expect("converts");
    let credit = |user: i64, reward: i64| {
        ct::CreditRow::from_row(row(
            ct::CreditRow::COLUMNS,
            &[
                ("id", Value::Int(20)),
                ("user_id", Value::Int(user)),
                ("credit_line", Value::Int(1000)),
                ("reward_line", Value::Int(reward)),
                ("event_line", Value::Int(400)),
                ("loan_amount", Value::Int(200)),
                ("status", Value::Int(0)),
            ],
        ))
        .expect("converts")
    };
    let loan = ct::LoanBaseRow::from_row(row(
        ct::LoanBaseRow::COLUMNS,
        &[
            ("id", Value::Int(30)),
            ("user_id", Value::Int(1)),
            ("status", Value::Int(100)),
        ],
    ))
    .expect("converts");

    let alice = user(1, "alice", Some("111"));
    let c1 = credit(1, 300);
    let doc = ct::build_doc(
        &alice,
        Some(&r1),
        Some(&r2),
        Some(&admin),
        Some(&c1),
        Some(&loan),
        Some(Value::Int(2)),
        Some(Value::Int(1)),
    )
    .expect("document builds");
    assert_eq!(
        (ct::document_id(&alice), ct::routing(&alice)),
        ("carteam_user_1".to_string(), Some("1".to_string()))
    );
    assert_eq!(
        doc_json(&doc),
        json!({"user_id": 1, "created_at": "2018-01-01 00:00:00", "updated_at": "2018-01-02 00:00:00",
            "user_name": "alice", "user_mobile": "111", "rco_id": 500, "rco_op_id": 600,
            "auditor_name": "aud1", "auditor_mobile": "999", "rcm_id": 501, "rcm_op_id": 601,
            "credit_line": 1000, "loanable_amount": 500, "loan_count": 2, "unrepaid_loan_count": 1})
    );

    // Carol: no relations, no admin user, her own credit row, no loans (executeSQL not run).
    let carol = user(3, "carol", None);
    let c3 = credit(3, 0);
    let doc = ct::build_doc(&carol, None, None, None, Some(&c3), None, None, None)
        .expect("document builds");
    assert_eq!(
        doc_json(&doc),
        json!({"user_id": 3, "created_at": "2018-01-01 00:00:00", "updated_at": "2018-01-02 00:00:00",
            "user_name": "carol", "user_mobile": null, "rco_id": null, "rco_op_id": null,
            "auditor_name": null, "auditor_mobile": null, "rcm_id": null, "rcm_op_id": null,
            "credit_line": 1000, "loanable_amount": 200, "loan_count": 0, "unrepaid_loan_count": 0})
    );

    // T17(b): `sum` over a NULL fails that one document, with the field named.
    let broken = ct::CreditRow::from_row(row(
        ct::CreditRow::COLUMNS,
        &[
            ("id", Value::Int(21)),
            ("user_id", Value::Int(3)),
            ("credit_line", Value::Int(1000)),
            ("event_line", Value::Int(400)),
            ("loan_amount", Value::Int(200)),
            ("status", Value::Int(0)),
        ],
    ))
    .expect("converts");
    let err = ct::build_doc(&carol, None, None, None, Some(&broken), None, None, None)
        .expect_err("sum over NULL");
    assert!(
        err.to_string().starts_with("field `loanable_amount`"),
        "{err}"
    );
}

/// The build writes each compiled pipeline's documentation next to its code, identical to the
/// checked-in docs snapshot (what `mee docs` prints).
#[test]
fn build_output_carries_each_pipelines_docs() {
    let docs = mee::generated::DOCS
        .iter()
        .find(|(n, _)| *n == "vehicles")
        .map(|(_, d)| *d);
    let snapshot = include_str!("../mee-compiler/tests/snapshots/vehicles.md");
    assert_eq!(docs, Some(snapshot));
}
