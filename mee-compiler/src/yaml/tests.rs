//! Loading tests: whole files through [`load_file`], checked through spans and diagnostics.

use super::*;
use crate::diag::{Diagnostic, codes};
use crate::source::{MemLoader, Span};
use serde_json::json;

struct Loaded {
    root: Option<Node>,
    map: SourceMap,
    diags: Vec<Diagnostic>,
}

impl Loaded {
    fn root(&self) -> &Node {
        self.root.as_ref().expect("the file loads")
    }

    /// `file:line:col` of the first diagnostic with `code`, checking there is one.
    fn location_of(&self, code: crate::diag::Code) -> String {
        let d = self
            .diags
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("no {} diagnostic in {:?}", code.as_str(), self.diags));
        self.map
            .location(d.primary_span().expect("a labelled diagnostic"))
    }

    fn codes(&self) -> Vec<&'static str> {
        self.diags.iter().map(|d| d.code.as_str()).collect()
    }

    /// The text and `line:col` a sub-range of a scalar's value maps to.
    fn mapped(&self, scalar: &Scalar, range: std::ops::Range<usize>) -> (String, String) {
        let span = scalar.span_of(range);
        (self.map.slice(span).to_string(), self.map.location(span))
    }
}

fn load_files(files: &[(&str, &str)]) -> Loaded {
    let loader = files
        .iter()
        .fold(MemLoader::new(), |l, (p, t)| l.with(p, *t));
    let mut map = SourceMap::new();
    let mut diags = Diagnostics::new();
    let root = load_file(&loader, Path::new(files[0].0), &mut map, &mut diags);
    Loaded {
        root,
        map,
        diags: diags.finish(),
    }
}

fn load(text: &str) -> Loaded {
    load_files(&[("t.yml", text)])
}

fn scalar<'a>(node: &'a Node, key: &str) -> &'a Scalar {
    node.get(key)
        .and_then(Node::as_scalar)
        .unwrap_or_else(|| panic!("no scalar at `{key}`"))
}

#[test]
fn plain_scalars_map_byte_for_byte_including_multibyte_text() {
    let l = load("k: é中 select x\n");
    let s = scalar(l.root(), "k");
    assert_eq!(s.value, "é中 select x");
    let at = s.value.find("select").expect("present");
    assert_eq!(
        l.mapped(s, at..at + 6),
        ("select".into(), "t.yml:1:7".into())
    );
    assert!(l.diags.is_empty());
}

#[test]
fn double_quoted_escapes_map_to_their_sequences() {
    let l = load("a: 1\nk: \"x\\n\\\"中\\\" \\u00e9 id\"\n");
    let s = scalar(l.root(), "k");
    assert_eq!(s.value, "x\n\"中\" é id");
    // The decoded newline maps to the two-character escape `\n`.
    assert_eq!(l.mapped(s, 1..2), ("\\n".into(), "t.yml:2:6".into()));
    let at = s.value.find('中').expect("present");
    assert_eq!(l.mapped(s, at..at + 3), ("中".into(), "t.yml:2:10".into()));
    let at = s.value.find("id").expect("present");
    assert_eq!(l.mapped(s, at..at + 2), ("id".into(), "t.yml:2:21".into()));
}

#[test]
fn single_quoted_doubled_quotes_map_to_both_quotes() {
    let l = load("k: 'it''s %id'\n");
    let s = scalar(l.root(), "k");
    assert_eq!(s.value, "it's %id");
    assert_eq!(l.mapped(s, 2..3), ("''".into(), "t.yml:1:7".into()));
    assert_eq!(l.mapped(s, 5..8), ("%id".into(), "t.yml:1:11".into()));
}

#[test]
fn block_literal_lines_skip_their_indentation() {
    let text = "items:\n  - statement: |\n      select *\n        from t\n      where id = %id\n";
    let l = load(text);
    let item = &l.root().get("items").and_then(Node::as_seq).expect("list")[0];
    let s = scalar(item, "statement");
    assert_eq!(s.value, "select *\n  from t\nwhere id = %id\n");
    let at = s.value.find("from").expect("present");
    assert_eq!(l.mapped(s, at..at + 4), ("from".into(), "t.yml:4:9".into()));
    let at = s.value.find("%id").expect("present");
    assert_eq!(l.mapped(s, at..at + 3), ("%id".into(), "t.yml:5:18".into()));
    // A range across a line break covers the break and the next line's indentation.
    let (text, loc) = l.mapped(s, 0..s.value.find("from").expect("present") + 4);
    assert_eq!(loc, "t.yml:3:7");
    assert_eq!(text, "select *\n        from");
}

#[test]
fn block_strip_folded_and_indentation_indicator() {
    let text = "a: |-\n  keep\nb: >\n  one\n  two\n\n  three\nc: |2\n    lead\n  x\n";
    let l = load(text);
    let a = scalar(l.root(), "a");
    assert_eq!(a.value, "keep");
    let b = scalar(l.root(), "b");
    assert_eq!(b.value, "one two\nthree\n");
    let at = b.value.find("two").expect("present");
    assert_eq!(l.mapped(b, at..at + 3), ("two".into(), "t.yml:5:3".into()));
    // The folding space maps to the line break it replaces.
    assert_eq!(l.mapped(b, 3..4), ("\n".into(), "t.yml:4:6".into()));
    let at = b.value.find("three").expect("present");
    assert_eq!(
        l.mapped(b, at..at + 5),
        ("three".into(), "t.yml:7:3".into())
    );
    let c = scalar(l.root(), "c");
    assert_eq!(c.value, "  lead\nx\n");
    assert_eq!(l.mapped(c, 2..6), ("lead".into(), "t.yml:9:5".into()));
    assert!(a.offsets.is_exact() && b.offsets.is_exact() && c.offsets.is_exact());
}

#[test]
fn multi_line_plain_and_quoted_scalars_fold() {
    let l = load("p: select *\n  from t\n\n  where x\nq: \"a  \n   b\\\n   c\"\n");
    let p = scalar(l.root(), "p");
    assert_eq!(p.value, "select * from t\nwhere x");
    let at = p.value.find("where").expect("present");
    assert_eq!(
        l.mapped(p, at..at + 5),
        ("where".into(), "t.yml:4:3".into())
    );
    let q = scalar(l.root(), "q");
    assert_eq!(q.value, "a bc");
    assert_eq!(l.mapped(q, 3..4), ("c".into(), "t.yml:7:4".into()));
}

#[test]
fn crlf_line_breaks_are_mapped() {
    let l = load("a: |\r\n  l1\r\n  l2\r\nb: x\r\n");
    let a = scalar(l.root(), "a");
    assert_eq!(a.value, "l1\nl2\n");
    assert_eq!(l.mapped(a, 3..5), ("l2".into(), "t.yml:3:3".into()));
    assert_eq!(l.mapped(a, 2..3), ("\r\n".into(), "t.yml:2:5".into()));
}

/// The fallback (everything maps to the token) must be rare: every scalar style we expect in
/// handler files re-lexes exactly.
#[test]
fn relexing_reproduces_the_parser_for_every_style() {
    let cases = [
        "plain",
        "plain with  inner  spaces # comment",
        "é中 multi-byte",
        "multi\n  line\n\n  plain",
        "\"dq \\n \\\" \\\\ \\t \\x41 \\u00e9 \\U0001F600 \\/ \\0\"",
        "\"dq\n   folded\n\n   twice  \"",
        "\"escaped \\\n   break\"",
        "'sq ''quoted'' é'",
        "'sq\n   folded\n\n   twice'",
        "|\n  lit\n    more\n\n  end\n",
        "|-\n  strip\n\n",
        "|+\n  keep\n\n",
        "|2\n    two\n  base\n",
        "|1-\n  one\n",
        ">\n  fold\n  this\n\n  para\n    more\n  back\n",
        ">-\n  fold strip\n",
        "|\n\n  leading blank\n",
        "| # comment | with bar\n  after comment\n",
        "&anchor |\n  anchored\n",
        "|\n",
        ">+\n",
        "\"\"",
        "''",
    ];
    for case in cases {
        let text = format!("k: {case}\nz: end\n");
        let l = load(&text);
        let node = l
            .root()
            .get("k")
            .unwrap_or_else(|| panic!("no k in {case:?}"));
        match &node.kind {
            NodeKind::Scalar(s) => assert!(
                s.offsets.is_exact(),
                "inexact offsets for {case:?}: {:?}",
                s.value
            ),
            other => panic!("{case:?} gave {other:?}"),
        }
        assert!(l.diags.is_empty(), "{case:?}: {:?}", l.diags);
    }
}

#[test]
fn flow_collections_and_sequences_keep_spans() {
    let l = load("mapping: [{db_field: id, es_field: vehicle_id}, \"x\"]\n");
    let seq = l.root().get("mapping").expect("mapping");
    assert_eq!(l.map.location(seq.span), "t.yml:1:10");
    assert_eq!(
        l.map.slice(seq.span),
        "[{db_field: id, es_field: vehicle_id}, \"x\"]"
    );
    let entry = &seq.as_seq().expect("list")[0];
    assert_eq!(
        l.map.slice(entry.span),
        "{db_field: id, es_field: vehicle_id}"
    );
    assert_eq!(
        l.map.slice(entry.get("es_field").expect("es_field").span),
        "vehicle_id"
    );
}

#[test]
fn block_mapping_span_covers_its_entries() {
    let l = load("a:\n  b: 1\n  c: two\nd: 3\n");
    let a = l.root().get("a").expect("a");
    assert_eq!(l.map.slice(a.span), "b: 1\n  c: two");
}

#[test]
fn typed_views_follow_yaml_1_1() {
    let l = load("a: yes\nb: 'yes'\nc: 12\nd: ~\ne:\nf: 0x10\ng: -2e3\nh: text\n");
    let r = l.root();
    assert_eq!(r.get("a").and_then(Node::as_bool), Some(true));
    assert_eq!(r.get("b").and_then(Node::as_str), Some("yes"));
    assert_eq!(r.get("c").and_then(Node::as_i64), Some(12));
    assert_eq!(r.get("c").and_then(Node::as_text), Some("12"));
    assert!(r.get("d").is_some_and(Node::is_null));
    assert!(r.get("e").is_some_and(Node::is_null));
    assert_eq!(r.get("c").map(Node::describe_kind), Some("a number"));
    assert_eq!(r.get("a").map(Node::describe_kind), Some("a boolean"));
    assert_eq!(r.describe_kind(), "a mapping");
    assert_eq!(
        r.to_json(),
        json!({"a": true, "b": "yes", "c": 12, "d": null, "e": null, "f": 16, "g": -2000.0, "h": "text"})
    );
}

#[test]
fn aliases_clone_the_anchored_node_with_its_spans() {
    let l = load("__x: &x\n  - key: m\nuse: {db_field: *x}\n");
    let anchored = &l.root().get("__x").and_then(Node::as_seq).expect("list")[0];
    let aliased = &l
        .root()
        .get("use")
        .and_then(|u| u.get("db_field"))
        .and_then(Node::as_seq)
        .expect("list")[0];
    assert_eq!(anchored, aliased);
    assert_eq!(l.map.location(aliased.span), "t.yml:2:5");
}

#[test]
fn merge_keys_fill_in_missing_entries() {
    let l = load("base: &b {database: d, table: t}\nitem:\n  <<: *b\n  table: own\n");
    let item = l.root().get("item").expect("item");
    assert_eq!(item.to_json(), json!({"database": "d", "table": "own"}));
    assert!(l.diags.is_empty());
    let bad = load("item:\n  <<: 1\n");
    assert_eq!(bad.codes(), ["E0201"]);
}

#[test]
fn bom_is_skipped_in_offsets() {
    let l = load("\u{feff}k: é x\n");
    let s = scalar(l.root(), "k");
    assert_eq!(l.mapped(s, 3..4), ("x".into(), "t.yml:1:7".into()));
}

#[test]
fn syntax_errors_point_at_the_parser_position() {
    let l = load("a: 1\nb: [1, 2\nc: 3\n");
    assert!(l.root.is_none());
    assert_eq!(l.codes(), ["E0102"]);
    let d = &l.diags[0];
    assert!(d.message.starts_with("invalid YAML: "), "{}", d.message);
    assert!(!d.message.contains("while "), "{}", d.message);
    assert_eq!(l.location_of(codes::YAML_SYNTAX), "t.yml:3:2");
}

#[test]
fn multi_byte_text_before_a_syntax_error_does_not_shift_it() {
    let l = load("a: 中中中\nb: 'unterminated\n");
    assert_eq!(l.codes(), ["E0102"]);
    let span = l.diags[0].primary_span().expect("labelled");
    assert!(l.map.slice(span).len() <= 1);
}

#[test]
fn undefined_alias_is_reported_at_the_alias() {
    let l = load("a: 1\nb: [x, *nope]\n");
    assert_eq!(l.codes(), ["E0106"]);
    assert_eq!(l.location_of(codes::UNDEFINED_ALIAS), "t.yml:2:8");
    assert!(
        l.diags[0].message.contains("`*nope`"),
        "{}",
        l.diags[0].message
    );
}

#[test]
fn duplicate_keys_point_at_the_second_with_the_first_as_context() {
    let l = load("a: 1\nb: 2\na: 3\n");
    assert_eq!(l.codes(), ["E0204"]);
    let d = &l.diags[0];
    assert_eq!(l.map.location(d.primary_span().expect("span")), "t.yml:3:1");
    let secondary = d
        .labels
        .iter()
        .find(|x| !x.primary)
        .expect("secondary label");
    assert_eq!(l.map.location(secondary.span), "t.yml:1:1");
    assert_eq!(l.root().to_json(), json!({"a": 3, "b": 2}));
}

#[test]
fn unknown_tags_are_errors_but_the_value_is_kept() {
    let l = load("a: !foo bar\nb: !!str 1\n");
    assert_eq!(l.codes(), ["E0104", "E0104"]);
    assert_eq!(l.location_of(codes::UNKNOWN_TAG), "t.yml:1:4");
    assert_eq!(l.root().get("a").and_then(Node::as_str), Some("bar"));
}

#[test]
fn a_second_document_is_an_error() {
    let l = load("a: 1\n---\nb: 2\n");
    assert_eq!(l.codes(), ["E0102"]);
    assert_eq!(l.location_of(codes::YAML_SYNTAX), "t.yml:2:1");
}

#[test]
fn empty_file_is_null() {
    let l = load("# nothing\n");
    assert!(l.root().is_null());
}

#[test]
fn includes_resolve_relative_to_the_including_file() {
    let l = load_files(&[
        (
            "h/main.yml",
            "- !include sub/a.yml\n- !include sub/b.json\n",
        ),
        (
            "h/sub/a.yml",
            "idx_a:\n  t:\n    - statement: !include q.sql\n      more: !include ../c.txt\n",
        ),
        ("h/sub/q.sql", "select * from m where id > %__last.id:(0)\n"),
        ("h/c.txt", "text"),
        (
            "h/sub/b.json",
            "{\"idx_b\": {\"t\": [{\"statement\": \"select \\\"x\\\" from é\"}]}}",
        ),
    ]);
    assert!(l.diags.is_empty(), "{:?}", l.diags);
    let root = l.root().as_seq().expect("list");
    let item = &root[0]
        .get("idx_a")
        .and_then(|t| t.get("t"))
        .and_then(Node::as_seq)
        .expect("items")[0];
    let sql = scalar(item, "statement");
    assert_eq!(sql.value, "select * from m where id > %__last.id:(0)\n");
    let at = sql.value.find("%__last").expect("present");
    assert_eq!(
        l.mapped(sql, at..at + 7),
        ("%__last".into(), "h/sub/q.sql:1:28".into())
    );
    assert_eq!(item.get("more").and_then(Node::as_str), Some("text"));

    let json_item = &root[1]
        .get("idx_b")
        .and_then(|t| t.get("t"))
        .and_then(Node::as_seq)
        .expect("items")[0];
    let s = scalar(json_item, "statement");
    assert_eq!(s.value, "select \"x\" from é");
    assert_eq!(
        l.mapped(s, 7..8),
        ("\\\"".into(), "h/sub/b.json:1:40".into())
    );
    let at = s.value.find('é').expect("present");
    assert_eq!(
        l.mapped(s, at..at + 2),
        ("é".into(), "h/sub/b.json:1:51".into())
    );
}

#[test]
fn an_error_in_an_included_file_points_into_that_file() {
    let l = load_files(&[
        ("main.yml", "- !include sub/a.yml\n"),
        ("sub/a.yml", "idx:\n  t:\n    - key: a\n      key: b\n"),
    ]);
    assert_eq!(l.codes(), ["E0204"]);
    assert_eq!(l.location_of(codes::DUPLICATE_YAML_KEY), "sub/a.yml:4:7");
}

#[test]
fn missing_include_names_the_resolved_path() {
    let l = load_files(&[("h/main.yml", "a: !include sub/none.sql\n")]);
    assert_eq!(l.codes(), ["E0101"]);
    assert!(
        l.diags[0].message.contains("h/sub/none.sql"),
        "{}",
        l.diags[0].message
    );
    assert_eq!(l.location_of(codes::FILE_UNREADABLE), "h/main.yml:1:4");
    assert!(l.root().get("a").is_some_and(Node::is_invalid));
}

#[test]
fn include_cycles_are_reported_once() {
    let l = load_files(&[
        ("main.yml", "- !include a.yml\n"),
        ("a.yml", "x: !include b.yml\n"),
        ("b.yml", "y: !include a.yml\n"),
    ]);
    assert_eq!(l.codes(), ["E0105"]);
    assert_eq!(l.location_of(codes::INCLUDE_CYCLE), "b.yml:1:4");
    assert!(
        l.diags[0].notes[0].contains("a.yml -> b.yml -> a.yml"),
        "{:?}",
        l.diags[0].notes
    );
}

#[test]
fn json_includes_are_strict_and_take_no_tags() {
    let l = load_files(&[
        ("main.yml", "a: !include b.json\n"),
        ("b.json", "{\"a\": 1,}\n"),
    ]);
    assert_eq!(l.codes(), ["E0103"]);
    assert_eq!(l.location_of(codes::JSON_SYNTAX), "b.json:1:9");
}

#[test]
fn a_json_root_file_loads_with_spans() {
    let l = load_files(&[(
        "h.json",
        "{\n\t\"idx\": {\"t\": [{\"key\": \"m\", \"n\": 1.5}]}\n}\n",
    )]);
    assert!(l.diags.is_empty(), "{:?}", l.diags);
    assert_eq!(
        l.root().to_json(),
        json!({"idx": {"t": [{"key": "m", "n": 1.5}]}})
    );
    let item = &l
        .root()
        .get("idx")
        .and_then(|t| t.get("t"))
        .and_then(Node::as_seq)
        .expect("items")[0];
    assert_eq!(
        l.map.location(item.get("key").expect("key").span),
        "h.json:2:24"
    );
}

#[test]
fn spans_never_panic_on_odd_ranges() {
    let l = load("k: \"a\\tb\"\n");
    let s = scalar(l.root(), "k");
    for start in 0..6 {
        for end in 0..6 {
            let span = s.span_of(start..end);
            assert!(span.start <= span.end);
            assert!(span.end as usize <= l.map.file(span.file).text.len());
        }
    }
    assert_eq!(s.span_of(1..2), Span::new(s.offsets.file(), 5, 7));
}
