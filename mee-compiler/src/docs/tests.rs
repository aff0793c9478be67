//! Facts the generated docs must state; the full pages are snapshot-tested in
//! `tests/docs_snapshots.rs`.

use super::*;
use crate::mapping::tests::shipped;

fn docs(name: &str) -> String {
    let (c, map) = shipped(name);
    render_docs(&c, &map)
}

#[test]
fn orders_docs_name_tables_links_and_paths() {
    let d = docs("orders");
    assert!(
        d.contains("| `shop.orders` | master | `id` | `order` | pipelines/orders.yml:22 |"),
        "{d}"
    );
    assert!(
        d.contains("linked by `customer.id = order.customer_id`"),
        "{d}"
    );
    assert!(
        d.contains("Affected documents: `crm.customers.id` → master rows with `shop.orders.customer_id` where `deleted = 0` → their key `id`."),
        "{d}"
    );
    assert!(
        d.contains("`\"--\"` when `country` is NULL or there is no `customer` row"),
        "{d}"
    );
    assert!(d.contains("```json\n{\n  \"settings\": {},"), "{d}");
}

#[test]
fn carteam_docs_follow_chains_and_defaults() {
    let d = docs("carteam");
    assert!(
        d.contains("Affected documents: `admin_service.users.id` → `relations_1` rows with `carteam_service.auditor_relations.auditor_id` where `status = 1 and role = 1` → its `user_id` → master key `carteam_service.users.id`."),
        "{d}"
    );
    assert!(d.contains("(`0` when `relations_1` has no row)"), "{d}");
    assert!(
        d.contains("a NULL in `reward_line`, `event_line`, `loan_amount` fails the document"),
        "{d}"
    );
}

#[test]
fn docs_are_deterministic() {
    assert_eq!(docs("vehicles"), docs("vehicles"));
}
