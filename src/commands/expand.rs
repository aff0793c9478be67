//! `mee expand`: prints the Rust generated for a pipeline.

use clap::Args;
use mee_compiler::diag::{self, Diagnostics, RenderOptions};
use mee_compiler::source::{FsLoader, SourceMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print the Rust code generated for a pipeline: typed rows, documents and build functions,
/// exactly as `cargo build --features pipeline-NAME` compiles them.
#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// A pipeline name (`orders` for pipelines/orders.yml) or a path to a pipeline file
    pipeline: String,
    /// Directory of the `<database>.sql` schema files [default: schema/ next to the pipeline]
    #[arg(long)]
    schema: Option<PathBuf>,
}

/// `orders` -> `pipelines/orders.yml`; a path is used as given.
pub fn pipeline_path(name: &str) -> PathBuf {
    let p = PathBuf::from(name);
    if p.extension().is_some() || name.contains('/') {
        p
    } else {
        PathBuf::from("pipelines").join(format!("{name}.yml"))
    }
}

pub fn run(args: &ExpandArgs) -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = cwd.join(pipeline_path(&args.pipeline));
    let schema_dir = args.schema.clone().map_or_else(
        || mee_compiler::driver::default_schema_dir(&path),
        |s| cwd.join(s),
    );
    let mut map = SourceMap::with_root(&cwd);
    let mut diags = Diagnostics::new();
    let out = mee_compiler::expand_file(&FsLoader, &path, &schema_dir, &mut map, &mut diags);
    let ds = diags.finish();
    let color = std::io::stderr().is_terminal();
    eprint!("{}", diag::render_all(&map, &ds, RenderOptions { color }));
    match out {
        Some(code) => {
            print!("{code}");
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}
