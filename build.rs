//! Compiles `pipelines/*.yml` into `OUT_DIR/mee_pipelines.rs`; see `mee_compiler::build`.

fn main() {
    mee_compiler::build::run_build_script("pipelines");
}
