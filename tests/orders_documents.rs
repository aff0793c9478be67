//! The shipped `orders` pipeline's documents, read from MariaDB, against hand-written JSON (not
//! against mee's own builder): `DATETIME(3)` with and without a fraction (ISO, `T`, as Mee's full
//! update wrote them; reference §3.3), `DECIMAL(12,2)`, an
//! `ENUM`, NULL text, a `null_value`, a joined row that is missing, a soft-deleted master, and the
//! nested items in their statement's order; after the full update and again after changes arrive
//! through the binlog.
#![cfg(feature = "pipeline-orders")]

mod common;

use common::sync::{apply_binlog, documents};
use mee::generated::orders::orders as pipeline;
use mee_testkit::TestResult;
use serde_json::{Value as Json, json};

fn by_id(docs: Vec<common::sync::Doc>) -> Vec<(String, Json)> {
    let mut out: Vec<(String, Json)> = docs.into_iter().map(|d| (d.id, d.source)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn orders_documents_equal_hand_written_json() -> TestResult {
    let mut mysql = common::databases(&["shop", "crm"]).await?;
    let (shop, crm) = (
        format!("`{}`", mysql.db("shop")),
        format!("`{}`", mysql.db("crm")),
    );
    mysql
        .exec(&format!(
            "INSERT INTO {crm}.customers (id, name, email, tier, country) VALUES
               (7, 'Zoë O''Brien', NULL, 'gold', NULL);
             INSERT INTO {shop}.orders (id, order_no, customer_id, status, amount, currency, note,
                                        deleted, create_time, modify_time) VALUES
               (1, 'A-1', 7, 1, 12.50, 'EUR', NULL, 0, '2024-02-29 23:59:59.123', '2024-03-01 00:00:00'),
               (2, 'A-2', 99, 0, 0.10, 'USD', 'gift', 0, '2024-01-01 08:00:00', '2024-01-01 08:00:00'),
               (3, 'A-3', 7, 0, 1.00, 'EUR', NULL, 1, '2024-01-01 08:00:00', '2024-01-01 08:00:00');
             INSERT INTO {shop}.order_items (id, order_id, sku, title, quantity, unit_price) VALUES
               (11, 1, 'S-2', 'Cup', 1, 5.00), (10, 1, 'S-1', 'Tea', 2, 3.50);"
        ))
        .await?;
    let order_1 = json!({
        "order_id": 1, "order_no": "A-1", "status": 1, "amount": 12.50, "currency": "EUR",
        "note": null, "customer_id": 7,
        "create_time": "2024-02-29T23:59:59.123000", "modify_time": "2024-03-01T00:00:00",
        "items": [
            {"item_id": 10, "sku": "S-1", "title": "Tea", "quantity": 2, "unit_price": 3.50},
            {"item_id": 11, "sku": "S-2", "title": "Cup", "quantity": 1, "unit_price": 5.00}
        ],
        "customer_name": "Zoë O'Brien", "customer_email": null, "customer_tier": "gold",
        "customer_country": "--"
    });
    let order_2 = json!({
        "order_id": 2, "order_no": "A-2", "status": 0, "amount": 0.10, "currency": "USD",
        "note": "gift", "customer_id": 99,
        "create_time": "2024-01-01T08:00:00", "modify_time": "2024-01-01T08:00:00",
        "items": [],
        "customer_name": null, "customer_email": null, "customer_tier": null,
        "customer_country": "--"
    });

    let source = common::source(&mysql).await?;
    let (test_es, es) = common::es().await?;
    let alias = test_es.name("orders");
    let report = common::update_into(&pipeline::Index, &source, &es, &alias).await?;
    assert_eq!(
        by_id(documents(&es, &alias).await?),
        vec![
            ("1".to_string(), order_1),
            ("2".to_string(), order_2.clone())
        ]
    );

    mysql
        .exec(&format!(
            "UPDATE {crm}.customers SET country = 'IE', email = 'z@example.com' WHERE id = 7;
             UPDATE {shop}.orders SET amount = 99.99, modify_time = '2024-03-02 10:00:00.5' WHERE id = 1;
             UPDATE {shop}.order_items SET title = 'Mug' WHERE id = 11;
             UPDATE {shop}.orders SET deleted = 0, modify_time = modify_time WHERE id = 3;"
        ))
        .await?;
    apply_binlog(
        &mysql,
        &source,
        &pipeline::Index,
        &es,
        &report.snapshot,
        &alias,
        common::sync::EACH_TRANSACTION,
    )
    .await?
    .all_written()?;
    let order_1 = json!({
        "order_id": 1, "order_no": "A-1", "status": 1, "amount": 99.99, "currency": "EUR",
        "note": null, "customer_id": 7,
        "create_time": "2024-02-29T23:59:59.123000", "modify_time": "2024-03-02T10:00:00.500000",
        "items": [
            {"item_id": 10, "sku": "S-1", "title": "Tea", "quantity": 2, "unit_price": 3.50},
            {"item_id": 11, "sku": "S-2", "title": "Mug", "quantity": 1, "unit_price": 5.00}
        ],
        "customer_name": "Zoë O'Brien", "customer_email": "z@example.com", "customer_tier": "gold",
        "customer_country": "IE"
    });
    let order_3 = json!({
        "order_id": 3, "order_no": "A-3", "status": 0, "amount": 1.00, "currency": "EUR",
        "note": null, "customer_id": 7,
        "create_time": "2024-01-01T08:00:00", "modify_time": "2024-01-01T08:00:00",
        "items": [],
        "customer_name": "Zoë O'Brien", "customer_email": "z@example.com", "customer_tier": "gold",
        "customer_country": "IE"
    });
    assert_eq!(
        by_id(documents(&es, &alias).await?),
        vec![
            ("1".to_string(), order_1),
            ("2".to_string(), order_2),
            ("3".to_string(), order_3)
        ]
    );
    mysql.drop_databases().await
}
