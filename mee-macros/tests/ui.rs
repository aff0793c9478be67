//! Compile-fail tests of `mee::pipeline!`: each broken pipeline in `tests/ui/pipelines/` must fail
//! to compile with exactly the messages pinned in the `.stderr` file next to its `.rs` file
//! (`file:line:col`, code, excerpt, help). Refresh with `TRYBUILD=overwrite` and review the diff.

#[test]
fn broken_pipelines_fail_with_pinned_messages() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
