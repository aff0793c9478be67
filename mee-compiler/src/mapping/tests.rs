//! Index bodies of the shipped pipelines.

use super::*;
use crate::diag::Diagnostics;
use crate::source::{MemLoader, SourceMap};
use std::path::Path;

/// Compiles a shipped pipeline (`orders`, `vehicles`, `carteam`) from the in-memory copies of
/// `pipelines/`; it must compile without errors. Shared with the docs tests.
pub(crate) fn shipped(name: &str) -> (CompiledPipeline, SourceMap) {
    let loader = MemLoader::new()
        .with(
            "pipelines/schema/shop.sql",
            include_str!("../../../pipelines/schema/shop.sql"),
        )
        .with(
            "pipelines/schema/crm.sql",
            include_str!("../../../pipelines/schema/crm.sql"),
        )
        .with(
            "pipelines/schema/certify_service.sql",
            include_str!("../../../pipelines/schema/certify_service.sql"),
        )
        .with(
            "pipelines/schema/carteam_service.sql",
            include_str!("../../../pipelines/schema/carteam_service.sql"),
        )
        .with(
            "pipelines/schema/track_service.sql",
            include_str!("../../../pipelines/schema/track_service.sql"),
        )
        .with(
            "pipelines/schema/admin_service.sql",
            include_str!("../../../pipelines/schema/admin_service.sql"),
        )
        .with(
            "pipelines/orders.yml",
            include_str!("../../../pipelines/orders.yml"),
        )
        .with(
            "pipelines/vehicles.yml",
            include_str!("../../../pipelines/vehicles.yml"),
        )
        .with(
            "pipelines/carteam.yml",
            include_str!("../../../pipelines/carteam.yml"),
        );
    let mut map = SourceMap::new();
    let mut diags = Diagnostics::new();
    let c = crate::check_pipeline(
        &loader,
        &Path::new("pipelines").join(format!("{name}.yml")),
        Path::new("pipelines/schema"),
        &mut map,
        &mut diags,
    )
    .expect("shipped pipeline loads");
    crate::types::check_null_values(&c, &mut diags);
    let ds = diags.finish();
    assert!(ds.is_empty(), "{name}: {ds:#?}");
    (c, map)
}

fn mappings(name: &str) -> Vec<IndexBody> {
    index_bodies(&shipped(name).0)
}

#[test]
fn orders_mapping_types_every_field_with_nested_items() {
    let bodies = mappings("orders");
    assert_eq!(bodies.len(), 1);
    let b = &bodies[0];
    assert_eq!((b.alias.as_str(), b.es_type.as_str()), ("orders", "order"));
    assert!(b.unmapped.is_empty(), "{:?}", b.unmapped);
    let p = &b.mappings["properties"];
    let keys: Vec<&str> = p
        .as_object()
        .expect("properties is an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "order_id",
            "order_no",
            "status",
            "amount",
            "currency",
            "note",
            "customer_id",
            "create_time",
            "modify_time",
            "items",
            "customer_name",
            "customer_email",
            "customer_tier",
            "customer_country",
        ],
        "document order"
    );
    // `BIGINT UNSIGNED`: ids up to 2^64-1, which `long` rejects.
    assert_eq!(p["order_id"], json!({"type": "unsigned_long"}));
    assert_eq!(p["customer_id"], json!({"type": "unsigned_long"}));
    assert_eq!(
        p["amount"],
        json!({"type": "scaled_float", "scaling_factor": 100})
    );
    assert_eq!(p["customer_tier"], json!({"type": "keyword"}));
    assert_eq!(p["create_time"]["format"], json!(ES_DATE_FORMAT_FRACTION));
    assert_eq!(p["items"]["type"], "nested");
    assert_eq!(
        p["items"]["properties"]["unit_price"],
        json!({"type": "scaled_float", "scaling_factor": 100})
    );
    assert_eq!(b.mappings["dynamic"], json!(false));
    assert_eq!(b.body()["settings"], json!({}));
}

#[test]
fn carteam_types_computed_fields_and_counts() {
    let b = &mappings("carteam")[0];
    let p = &b.mappings["properties"];
    // sum(min(int, sum(int, int)), -int) stays an integer.
    assert_eq!(p["loanable_amount"], json!({"type": "long"}));
    // `select count(*) ...` is an integer whatever the data.
    assert_eq!(p["loan_count"], json!({"type": "long"}));
    assert_eq!(p["unrepaid_loan_count"], json!({"type": "long"}));
    assert_eq!(p["user_mobile"], json!({"type": "keyword"}));
    assert!(b.unmapped.is_empty(), "{:?}", b.unmapped);
}

#[test]
fn vehicles_nested_monitors_and_text_dates() {
    let b = &mappings("vehicles")[0];
    let p = &b.mappings["properties"];
    // The fixture keeps its dates in VARCHAR columns, so they are keywords, not dates.
    assert_eq!(p["created_at"], json!({"type": "keyword"}));
    assert_eq!(
        p["vehicle_monitors"]["properties"]["monitor_type"],
        json!({"type": "keyword"})
    );
    assert_eq!(b.mappings["_meta"]["alias"], "index_vehicle");
}

#[test]
fn mapping_is_deterministic() {
    let a = serde_json::to_string(&mappings("orders")[0].body()).expect("serialises");
    let b = serde_json::to_string(&mappings("orders")[0].body()).expect("serialises");
    assert_eq!(a, b);
}

#[test]
fn dynamic_fields_are_left_out_with_a_reason() {
    assert!(field_mapping(&FieldType::Dynamic { reason: "x".into() }).is_err());
    assert_eq!(
        field_mapping(&FieldType::Number(NumKind::Decimal { scale: 12 })),
        Ok(Some(json!({"type": "double"})))
    );
    assert_eq!(
        field_mapping(&FieldType::Number(NumKind::Decimal { scale: 3 })),
        Ok(Some(
            json!({"type": "scaled_float", "scaling_factor": 1000})
        ))
    );
    assert_eq!(
        field_mapping(&FieldType::Bool),
        Ok(Some(json!({"type": "boolean"})))
    );
}
