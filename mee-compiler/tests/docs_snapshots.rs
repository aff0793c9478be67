//! Snapshot tests of the generated documentation of every shipped pipeline.
//!
//! The pages are documentation people read, so a change to them should be a reviewed change:
//! run `MEE_BLESS=1 cargo test -p mee-compiler --test docs_snapshots`, then read the diff of
//! `mee-compiler/tests/snapshots/*.md` before committing it.

use mee_compiler::diag::Diagnostics;
use mee_compiler::docs::render_docs;
use mee_compiler::source::{FileLoader, FsLoader, SourceMap};
use std::path::{Path, PathBuf};

const PIPELINES: &[&str] = &["orders", "vehicles", "carteam"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate sits in the workspace")
        .to_path_buf()
}

fn bless() -> bool {
    // A test is not a build step, so there is nothing for cargo to track here; the ban on
    // `std::env::var` exists for code that runs inside build scripts and proc macros.
    #[allow(clippy::disallowed_methods)]
    let v = std::env::var("MEE_BLESS");
    v.is_ok_and(|v| v == "1")
}

fn render(name: &str) -> String {
    let root = workspace();
    let path = root.join("pipelines").join(format!("{name}.yml"));
    // Paths relative to the workspace, as `mee docs` shows them when run from there.
    let mut map = SourceMap::with_root(&root);
    let mut diags = Diagnostics::new();
    let c = mee_compiler::check_pipeline(
        &FsLoader,
        &path,
        &root.join("pipelines/schema"),
        &mut map,
        &mut diags,
    )
    .expect("shipped pipeline loads");
    let ds = diags.finish();
    assert!(ds.iter().all(|d| !d.is_error()), "{name}: {ds:#?}");
    render_docs(&c, &map)
}

/// The first differing line of two texts, with a little context, for a short failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let at = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let mut out = format!("first difference at line {}:\n", at + 1);
    for l in e.iter().skip(at).take(3) {
        out.push_str(&format!("- {l}\n"));
    }
    for l in a.iter().skip(at).take(3) {
        out.push_str(&format!("+ {l}\n"));
    }
    out.push_str(&format!(
        "({} lines expected, {} lines rendered)",
        e.len(),
        a.len()
    ));
    out
}

#[test]
fn docs_match_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut failures = Vec::new();
    for name in PIPELINES {
        let actual = render(name);
        let file = dir.join(format!("{name}.md"));
        if bless() {
            std::fs::write(&file, &actual).expect("snapshot is writable");
            continue;
        }
        match FsLoader.read(&file) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: {}",
                file.display(),
                first_difference(&expected, &actual)
            )),
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "generated docs differ from the snapshots:\n\n{}\n\nIf the change is intended, run `MEE_BLESS=1 cargo test -p mee-compiler --test docs_snapshots` and review the diff of mee-compiler/tests/snapshots/.",
        failures.join("\n\n")
    );
}
