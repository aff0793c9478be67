//! Statement analysis on the shipped pipelines (derivations) and on broken variants (errors).

use crate::diag::{Diagnostic, Diagnostics};
use crate::source::{MemLoader, SourceMap};
use std::path::Path;

fn loader() -> MemLoader {
    MemLoader::new()
        .with(
            "pipelines/schema/shop.sql",
            include_str!("../../../../pipelines/schema/shop.sql"),
        )
        .with(
            "pipelines/schema/crm.sql",
            include_str!("../../../../pipelines/schema/crm.sql"),
        )
        .with(
            "pipelines/schema/certify_service.sql",
            include_str!("../../../../pipelines/schema/certify_service.sql"),
        )
        .with(
            "pipelines/schema/carteam_service.sql",
            include_str!("../../../../pipelines/schema/carteam_service.sql"),
        )
        .with(
            "pipelines/schema/track_service.sql",
            include_str!("../../../../pipelines/schema/track_service.sql"),
        )
        .with(
            "pipelines/schema/admin_service.sql",
            include_str!("../../../../pipelines/schema/admin_service.sql"),
        )
}

const ORDERS: &str = include_str!("../../../../pipelines/orders.yml");
const VEHICLES: &str = include_str!("../../../../pipelines/vehicles.yml");
const CARTEAM: &str = include_str!("../../../../pipelines/carteam.yml");

fn compile(text: &str) -> (crate::CompiledPipeline, Vec<String>) {
    let loader = loader().with("pipelines/p.yml", text);
    let mut map = SourceMap::new();
    let mut diags = Diagnostics::new();
    let c = crate::check_pipeline(
        &loader,
        Path::new("pipelines/p.yml"),
        Path::new("pipelines/schema"),
        &mut map,
        &mut diags,
    )
    .expect("pipeline loads");
    let errors = diags
        .finish()
        .iter()
        .filter(|d| d.is_error())
        .map(|d: &Diagnostic| {
            format!(
                "{} {} {}",
                d.code.as_str(),
                d.primary_span()
                    .map(|s| map.location(s))
                    .unwrap_or_default(),
                d.message
            )
        })
        .collect();
    (c, errors)
}

fn info<'a>(c: &'a crate::CompiledPipeline, key: &str) -> &'a super::StatementInfo {
    let id = c
        .model
        .items
        .iter()
        .position(|i| i.key.value == key)
        .expect("item exists");
    c.statements[id].as_ref().expect("statement analysed")
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

#[test]
fn shipped_pipelines_derive_links_queries_and_filters() {
    let (c, errors) = compile(ORDERS);
    assert_eq!(errors, Vec::<String>::new());
    let order = info(&c, "order");
    assert!(
        order.paging.is_some(),
        "the master pages by `id > %__last.id`"
    );
    assert_eq!(order.filter.len(), 1, "deleted = 0");
    let customer = info(&c, "customer");
    assert_eq!(pairs(&customer.query), [("customer_id", "id")]);
    assert_eq!(customer.links.len(), 1);
    assert_eq!(
        (
            customer.links[0].column.as_str(),
            customer.links[0].target_column.as_str()
        ),
        ("id", "customer_id")
    );
    assert!(customer.batchable);
    let item = info(&c, "item");
    assert_eq!(pairs(&item.query), [("item_id", "id")]);
    assert_eq!(pairs(&item.parent_query), [("order_id", "order_id")]);

    let (c, errors) = compile(CARTEAM);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(pairs(&info(&c, "admin_users").query), [("rco_id", "id")]);
    let admin_link = &info(&c, "admin_users").links[0];
    assert_eq!(
        admin_link.default,
        Some(crate::expr::literal::Literal::Int(0))
    );
    assert_eq!(info(&c, "loan_base").filter[0].values.len(), 3);

    let (c, errors) = compile(VEHICLES);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        pairs(&info(&c, "vehicle_monitor").parent_query),
        [("vehicle_id", "car_id")]
    );
}

#[test]
fn author_filter_and_query_must_agree_with_the_statement() {
    let (_, errors) = compile(&VEHICLES.replace(
        "filter: {status: 1}\n      mapping: [captain_id",
        "filter: {status: 2}\n      mapping: [captain_id",
    ));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("E0315") && e.contains("`filter` on `status`")),
        "{errors:#?}"
    );
    let (_, errors) = compile(&VEHICLES.replace(
        "query: {vehicle_type_id: \"%id\"}",
        "query: {vehicle_type_id: \"%name\"}",
    ));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("E0315") && e.contains("`query` of `vehicle_type`")),
        "{errors:#?}"
    );
}

#[test]
fn statement_shape_errors() {
    let wrong_table = ORDERS.replace(
        "select * from customers where",
        "select * from orders where",
    );
    assert!(
        compile(&wrong_table)
            .1
            .iter()
            .any(|e| e.starts_with("E0504")),
        "{:#?}",
        compile(&wrong_table).1
    );
    let bad_paging = ORDERS.replace(
        "where id > %__last.id:(0) and deleted = 0",
        "where status > %__last.status:(0) and deleted = 0",
    );
    assert!(
        compile(&bad_paging)
            .1
            .iter()
            .any(|e| e.starts_with("E0308")),
        "{:#?}",
        compile(&bad_paging).1
    );
    let no_equality = ORDERS.replace(
        "where id = %__master.customer_id",
        "where id > %__master.customer_id",
    );
    assert!(
        compile(&no_equality)
            .1
            .iter()
            .any(|e| e.starts_with("E0602")),
        "{:#?}",
        compile(&no_equality).1
    );
    let bad_sql = ORDERS.replace(
        "select * from customers where id",
        "select * fron customers where id",
    );
    assert!(
        compile(&bad_sql).1.iter().any(|e| e.starts_with("E0501")),
        "{:#?}",
        compile(&bad_sql).1
    );
    let where_column = ORDERS.replace("deleted = 0", "deletd = 0");
    assert!(
        compile(&where_column)
            .1
            .iter()
            .any(|e| e.starts_with("E0403") && e.contains("deletd")),
        "{:#?}",
        compile(&where_column).1
    );
}

#[test]
fn underivable_query_says_what_to_write() {
    let text = ORDERS.replace("        - customer_id\n", "");
    let (_, errors) = compile(&text);
    assert!(errors.iter().any(|e| e.starts_with("E0210")), "{errors:#?}");
}
