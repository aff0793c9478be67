//! Snapshot tests of the generated code of every shipped pipeline: `mee expand NAME` must print
//! exactly `tests/snapshots/NAME.rs`. After an intended change, run with `MEE_BLESS=1` to rewrite
//! the snapshots and review the diff like any other code change.

// Tests read and bless snapshot files directly; the compiler's own ban on these is about
// tracking inputs of builds, which does not apply here.
#![allow(clippy::disallowed_methods)]

use mee_compiler::diag::{Diagnostics, RenderOptions, render_all};
use mee_compiler::source::{FsLoader, SourceMap};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check_snapshot(name: &str) {
    let root = root();
    let path = root.join("pipelines").join(format!("{name}.yml"));
    let mut map = SourceMap::with_root(&root);
    let mut diags = Diagnostics::new();
    let code = mee_compiler::expand_file(
        &FsLoader,
        &path,
        &root.join("pipelines/schema"),
        &mut map,
        &mut diags,
    );
    let ds = diags.finish();
    let code =
        code.unwrap_or_else(|| panic!("{}", render_all(&map, &ds, RenderOptions::default())));
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/snapshots/{name}.rs"));
    if std::env::var_os("MEE_BLESS").is_some() {
        std::fs::write(&snapshot, &code).expect("snapshot is writable");
        return;
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    if expected != code {
        let first = expected
            .lines()
            .zip(code.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "generated code of `{name}` differs from {} at line {}:\n  expected: {}\n  actual:   {}\nrun `MEE_BLESS=1 cargo test -p mee-compiler --test codegen_snapshots` and review the diff",
            snapshot.display(),
            first + 1,
            expected.lines().nth(first).unwrap_or("<end of file>"),
            code.lines().nth(first).unwrap_or("<end of file>"),
        );
    }
}

#[test]
fn orders() {
    check_snapshot("orders");
}

#[test]
fn vehicles() {
    check_snapshot("vehicles");
}

#[test]
fn carteam() {
    check_snapshot("carteam");
}
