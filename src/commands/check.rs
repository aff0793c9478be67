//! `mee check`: validates pipelines without building them.

use clap::{Args, ValueEnum};
use mee_compiler::diag::{self, Diagnostics, RenderOptions};
use mee_compiler::source::{FsLoader, SourceMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Validate pipelines: YAML, structure, placeholders, expressions, and every table and column
/// against the checked-in DDL. Reports all problems at once; exits 1 when there are errors
/// (or warnings, with --deny-warnings). Needs no build and no database.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Pipeline files to check [default: every pipelines/*.yml]
    paths: Vec<PathBuf>,
    /// Directory of the `<database>.sql` schema files [default: schema/ next to each pipeline]
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Treat warnings as errors
    #[arg(long)]
    deny_warnings: bool,
    /// When to colour the output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

pub fn run(args: &CheckArgs) -> ExitCode {
    let paths = if args.paths.is_empty() {
        match mee_compiler::build::discover_pipelines(std::path::Path::new("pipelines")) {
            Ok(found) => found.into_iter().map(|p| p.path).collect(),
            Err(e) => {
                eprintln!("error: cannot list pipelines/: {e}; pass the pipeline files to check");
                return ExitCode::from(2);
            }
        }
    } else {
        args.paths.clone()
    };
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal(),
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut map = SourceMap::with_root(&cwd);
    let mut diags = Diagnostics::new();
    for path in &paths {
        let path = if path.is_absolute() {
            path.clone()
        } else {
            cwd.join(path)
        };
        let schema_dir = args.schema.clone().map_or_else(
            || mee_compiler::driver::default_schema_dir(&path),
            |s| cwd.join(s),
        );
        mee_compiler::check_pipeline(&FsLoader, &path, &schema_dir, &mut map, &mut diags);
    }
    let ds = diags.finish();
    let errors = ds.iter().filter(|d| d.is_error()).count();
    let warnings = ds.len() - errors;
    eprint!("{}", diag::render_all(&map, &ds, RenderOptions { color }));
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    if !failed {
        let noun = if paths.len() == 1 {
            "pipeline"
        } else {
            "pipelines"
        };
        eprintln!("checked {} {noun}: ok", paths.len());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
