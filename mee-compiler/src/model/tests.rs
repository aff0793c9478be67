//! The structural rules of reference §1.4/§1.5 (test case T02) and the shape of the model of the
//! reference's VEH fixture (T01).

use super::*;
use crate::diag::{Diagnostic, Diagnostics};
use crate::source::{MemLoader, SourceMap};
use std::path::Path;

fn lower_text(text: &str) -> (Pipeline, Vec<Diagnostic>, SourceMap) {
    let mut map = SourceMap::new();
    let mut diags = Diagnostics::new();
    let node = crate::yaml::load_str(
        &MemLoader::new(),
        Path::new("p.yml"),
        text,
        &mut map,
        &mut diags,
    )
    .expect("test YAML parses");
    let handler = crate::syntax::parse_handler(&node, &mut diags);
    let file = map.find(Path::new("p.yml")).expect("file registered");
    let pipeline = lower("p", file, &handler, &mut diags);
    (pipeline, diags.finish(), map)
}

/// Codes of the errors (warnings left out), in source order.
fn errors(text: &str) -> Vec<String> {
    let (_, ds, map) = lower_text(text);
    ds.iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let at = d
                .primary_span()
                .map(|s| map.location(s))
                .unwrap_or_default();
            format!("{} {at} {}", d.code.as_str(), d.message)
        })
        .collect()
}

/// A minimal valid list: master `m` + slave `s`, with `{MASTER}`/`{SLAVE}` extra lines.
fn minimal(master_extra: &str, slave_extra: &str) -> String {
    format!(
        "idx:
  doc:
    - key: m
      database: d
      table: m
      document_id: \"%id\"
      statement: \"select * from m where id > %__last.id:(0)\"
      mapping: [id]
{master_extra}
    - key: s
      database: d
      table: s
      statement: \"select * from s where m_id = %__master.id\"
      query: {{m_id: \"%m_id\"}}
      mapping: [name]
{slave_extra}"
    )
}

#[test]
fn minimal_list_is_valid() {
    assert_eq!(errors(&minimal("", "")), Vec::<String>::new());
}

#[test]
fn t02_structural_errors() {
    let cases: &[(&str, String, &str)] = &[
        ("a", minimal("", "      document_id: \"%id\""), "E0208"),
        (
            "b",
            minimal("", "").replace("      document_id: \"%id\"\n", ""),
            "E0209",
        ),
        ("c", minimal("", "").replace("key: s", "key: m"), "E0207"),
        ("e", minimal("", "      routing: \"%id\""), "E0211"),
        (
            "f",
            minimal("      parent_query: {x: \"%id\"}", ""),
            "E0212",
        ),
        (
            "g",
            minimal("", "").replace("m_id = %__master.id\"", "m_id = %__master.id limit 10\""),
            "E0503",
        ),
        (
            "h",
            minimal("", "").replace(
                "mapping: [name]",
                "mapping: [{db_field: name, es_field: a.b}]",
            ),
            "E0206",
        ),
        (
            "h2",
            minimal("", "").replace(
                "mapping: [name]",
                "mapping: [{db_field: name, es_field: 1abc}]",
            ),
            "E0206",
        ),
        (
            "j",
            minimal("", "").replace("query: {m_id: \"%m_id\"}", "query: {m_id: \"%m.id\"}"),
            "E0303",
        ),
        (
            "j2",
            minimal("", "").replace(
                "query: {m_id: \"%m_id\"}",
                "query: {m_id: \"%__master.id\"}",
            ),
            "E0303",
        ),
        (
            "k",
            minimal("", "").replace(
                "m_id = %__master.id",
                "m_id = %__master.id and id > %__last.id",
            ),
            "E0304",
        ),
        (
            "l",
            minimal("", "").replace(
                "id > %__last.id:(0)\"",
                "id > %__last.id:(0) and x = %__parent.id\"",
            ),
            "E0305",
        ),
    ];
    for (name, text, code) in cases {
        let errs = errors(text);
        assert!(
            errs.iter().any(|e| e.starts_with(code)),
            "T02({name}) expected {code}, got {errs:#?}"
        );
    }
}

#[test]
fn t02_m_two_dependencies() {
    let text = minimal(
        "",
        "    - key: t
      database: d
      table: t
      statement: \"select * from t where a = %m.id and b = %s.x\"
      query: {a: \"%a\"}
      mapping: [z]",
    );
    let errs = errors(&text);
    assert!(errs.iter().any(|e| e.starts_with("E0306")), "{errs:#?}");
}

#[test]
fn t02_n_cycle_through_the_master_and_self_dependency() {
    let text = minimal("", "").replace(
        "select * from m where id > %__last.id:(0)",
        "select * from m where id > %__last.id:(0) and x = %s.y",
    );
    let errs = errors(&text);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("E0307") && e.contains("`m` -> `s` -> `m`")),
        "{errs:#?}"
    );

    let own = minimal("", "").replace(
        "select * from m where id > %__last.id:(0)",
        "select * from m where id > %__last.id:(0) and x = %__master.y",
    );
    assert!(
        errors(&own)
            .iter()
            .any(|e| e.starts_with("E0307") && e.contains("itself"))
    );
}

#[test]
fn t02_s_one_letter_keys_are_not_a_false_loop() {
    let text = minimal("", "")
        .replace("key: m", "key: ms")
        .replace("%m.id", "%ms.id");
    assert_eq!(errors(&text), Vec::<String>::new());
}

#[test]
fn t02_nested_rules() {
    let nested = |items: &str, extra_entry: &str| {
        minimal("", "").replace(
            "      mapping: [id]\n",
            &format!("      mapping:\n        - id\n        - {{db_field: {items}, es_field: arr, type: nested}}\n{extra_entry}"),
        )
    };
    let nm = "[{key: n, database: d, table: n, document_id: \"%id\", statement: \"select * from n where id > %__last.id:(0) and m_id = %__parent.id\", query: {nid: \"%id\"}, parent_query: {id: \"%m_id\"}, mapping: [{db_field: id, es_field: nid}]}]";
    assert_eq!(errors(&nested(nm, "")), Vec::<String>::new());
    // (p) two nested entries with one es_field.
    let dup = nested(
        nm,
        &format!("        - {{db_field: {nm}, es_field: arr, type: nested}}\n"),
    );
    assert!(
        errors(&dup).iter().any(|e| e.starts_with("E0214")),
        "{:#?}",
        errors(&dup)
    );
    // (q) a nested list without a master.
    let no_master = nested(&nm.replace("document_id: \"%id\", ", ""), "");
    assert!(errors(&no_master).iter().any(|e| e.starts_with("E0209")));
    // (o) a nested list inside a nested list.
    let inner = nm.replace(
        "mapping: [{db_field: id, es_field: nid}]",
        &format!("mapping: [{{db_field: id, es_field: nid}}, {{db_field: {nm}, es_field: deeper, type: nested}}]"),
    );
    let deep = nested(&inner, "");
    assert!(
        errors(&deep).iter().any(|e| e.starts_with("E0213")),
        "{:#?}",
        errors(&deep)
    );
}

#[test]
fn unknown_item_keys_get_a_suggestion() {
    let text = minimal("", "").replace("%__master.id", "%mm.id");
    let (_, ds, _) = lower_text(&text);
    let d = ds
        .iter()
        .find(|d| d.code.as_str() == "E0302")
        .expect("unknown key reported");
    assert_eq!(d.help.as_deref(), Some("did you mean `m`?"));
}

#[test]
fn unreachable_items_are_errors() {
    let text = minimal("", "").replace("where m_id = %__master.id", "where id = 1");
    assert!(
        errors(&text).iter().any(|e| e.starts_with("E0601")),
        "{:#?}",
        errors(&text)
    );
}

#[test]
fn master_without_paging_is_an_error() {
    let text = minimal("", "").replace(" where id > %__last.id:(0)", "");
    assert!(errors(&text).iter().any(|e| e.starts_with("E0308")));
}

#[test]
fn duplicate_es_fields_point_at_both_entries() {
    let text = minimal("", "").replace(
        "mapping: [name]",
        "mapping: [{db_field: name, es_field: id}]",
    );
    let errs = errors(&text);
    assert!(
        errs.iter().any(|e| e.starts_with("E0215 p.yml:15:")),
        "{errs:#?}"
    );
}

#[test]
fn t01_vehicle_fixture_model() {
    let text = std::include_str!("../../../pipelines/vehicles.yml");
    let (p, ds, _) = lower_text(text);
    assert!(ds.iter().all(|d| !d.is_error()), "{ds:#?}");
    let top: Vec<_> = p.top_lists().collect();
    assert_eq!(top.len(), 1);
    assert_eq!(
        (top[0].alias.value.as_str(), top[0].es_type.value.as_str()),
        ("index_vehicle", "vehicle")
    );
    let keys: Vec<&str> = p
        .items_of(top[0].id)
        .map(|i| i.key.value.as_str())
        .collect();
    assert_eq!(
        keys,
        ["vehicle", "vehicle_type", "relation_captain_vehicle"]
    );
    let master = p.master_of(top[0].id).expect("master");
    assert_eq!(master.key.value, "vehicle");
    let nested = p
        .lists
        .iter()
        .find(|l| l.parent.is_some())
        .expect("nested list");
    assert_eq!(
        nested.parent.as_ref().map(|n| n.field.value.as_str()),
        Some("vehicle_monitors")
    );
    let nm = p.master_of(nested.id).expect("nested master");
    assert_eq!(nm.key.value, "vehicle_monitor");
    // Dependencies of §1.6: vehicle_type and relation_captain_vehicle read the master, the
    // monitors read their parent (the master row) through `%__parent`.
    let dep = |key: &str| {
        p.items
            .iter()
            .find(|i| i.key.value == key)
            .and_then(|i| i.depends_on.clone())
    };
    assert_eq!(dep("vehicle_type").map(|d| d.item), Some(master.id));
    assert_eq!(
        dep("relation_captain_vehicle").map(|d| d.item),
        Some(master.id)
    );
    let d = dep("vehicle_monitor").expect("nested master depends on its parent");
    assert!(d.via_parent && d.item == master.id);
}
