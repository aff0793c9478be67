//! `mee docs`: the generated Markdown documentation of a pipeline.

use clap::{Args, ValueEnum};
use mee_compiler::diag::{self, Diagnostics, RenderOptions};
use mee_compiler::source::{FsLoader, SourceMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Print a pipeline's documentation as Markdown: its indices, source tables, joins, document
/// fields with their types, the derived filter/query/parent_query, the Elasticsearch mapping,
/// and which source changes touch which fields.
///
/// Needs no build and no database: everything comes from the handler file and the DDL in
/// pipelines/schema/. A pipeline with errors prints its diagnostics and exits 1.
///
/// Examples: `mee docs orders` (pipelines/orders.yml to stdout),
/// `mee docs pipelines/orders.yml --out docs/orders.md`, `mee docs --all --out-dir docs/pipelines`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// A pipeline name (`orders` means pipelines/orders.yml) or the path of a handler file
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pipeline: Option<String>,
    /// Write the Markdown to this file instead of stdout
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    out: Option<PathBuf>,
    /// Document every pipelines/*.yml, one NAME.md per pipeline in --out-dir
    #[arg(long, requires = "out_dir")]
    all: bool,
    /// The directory --all writes to (created if missing)
    #[arg(long, value_name = "DIR", requires = "all")]
    out_dir: Option<PathBuf>,
    /// Directory of the `<database>.sql` schema files [default: schema/ next to the pipeline]
    #[arg(long, value_name = "DIR")]
    schema: Option<PathBuf>,
    /// When to colour diagnostics
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

pub fn run(args: &DocsArgs) -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_default();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal(),
    };
    let targets: Vec<(String, PathBuf)> = if args.all {
        match mee_compiler::build::discover_pipelines(Path::new("pipelines")) {
            Ok(found) => found.into_iter().map(|p| (p.name, p.path)).collect(),
            Err(e) => {
                eprintln!(
                    "error: cannot list pipelines/: {e}; run `mee docs --all` from the project directory"
                );
                return ExitCode::from(2);
            }
        }
    } else {
        let Some(arg) = &args.pipeline else {
            // clap enforces `required_unless_present = "all"`.
            return ExitCode::from(2);
        };
        vec![(arg.clone(), pipeline_path(arg))]
    };

    let mut failed = false;
    let mut written = 0;
    if let Some(dir) = &args.out_dir
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, path) in &targets {
        let Some(markdown) = render(&cwd, path, args.schema.as_deref(), color) else {
            failed = true;
            continue;
        };
        let out = match (&args.out, &args.out_dir) {
            (Some(file), _) => Some(file.clone()),
            (None, Some(dir)) => Some(dir.join(format!("{}.md", file_stem(path, name)))),
            (None, None) => None,
        };
        match out {
            Some(file) => match std::fs::write(&file, &markdown) {
                Ok(()) => written += 1,
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", file.display());
                    failed = true;
                }
            },
            None => print!("{markdown}"),
        }
    }
    if written > 0 {
        let noun = if written == 1 { "file" } else { "files" };
        eprintln!("wrote {written} documentation {noun}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A bare name means `pipelines/NAME.yml`; anything that looks like a path is taken as one.
fn pipeline_path(arg: &str) -> PathBuf {
    let p = Path::new(arg);
    let looks_like_path = arg.contains(['/', '\\'])
        || p.extension().is_some_and(|e| e == "yml" || e == "yaml")
        || p.is_file();
    if looks_like_path {
        p.to_path_buf()
    } else {
        Path::new("pipelines").join(format!("{arg}.yml"))
    }
}

fn file_stem(path: &Path, fallback: &str) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(fallback)
        .to_string()
}

/// Compiles one pipeline and renders its docs; diagnostics go to stderr, and `None` means the
/// pipeline has errors (or could not be read).
fn render(cwd: &Path, path: &Path, schema: Option<&Path>, color: bool) -> Option<String> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let schema_dir = schema.map_or_else(
        || mee_compiler::driver::default_schema_dir(&path),
        |s| cwd.join(s),
    );
    let mut map = SourceMap::with_root(cwd);
    let mut diags = Diagnostics::new();
    let compiled =
        mee_compiler::check_pipeline(&FsLoader, &path, &schema_dir, &mut map, &mut diags);
    if let Some(c) = &compiled {
        mee_compiler::types::check_null_values(c, &mut diags);
    }
    let ds = diags.finish();
    eprint!("{}", diag::render_all(&map, &ds, RenderOptions { color }));
    if ds.iter().any(|d| d.is_error()) {
        return None;
    }
    compiled.map(|c| mee_compiler::docs::render_docs(&c, &map))
}
