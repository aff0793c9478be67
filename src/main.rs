//! The `mee` command line.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mee keeps Elasticsearch/OpenSearch in sync with MySQL/MariaDB.
///
/// Pipelines are handler YAML files in `pipelines/`, compiled into this binary with
/// `cargo build --release --features pipeline-NAME`. Table schemas come from
/// `pipelines/schema/<database>.sql`.
///
/// Log lines go to stderr; set `MEE_LOG` (e.g. `MEE_LOG=debug`) for more or fewer.
#[derive(Debug, Parser)]
#[command(name = "mee", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(commands::check::CheckArgs),
    Docs(commands::docs::DocsArgs),
    Expand(commands::expand::ExpandArgs),
    Schema(commands::schema::SchemaArgs),
    Update(commands::update::UpdateArgs),
    Run(commands::run::RunArgs),
    Verify(commands::verify::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `mee run` is a long-running service: it says what it does. The other commands show their
    // own progress and only let warnings through (unless `MEE_LOG` asks for more).
    init_logging(match cli.command {
        Command::Run(_) => "warn,mee=info,mee_runtime=info",
        _ => "warn",
    });
    match cli.command {
        Command::Check(args) => commands::check::run(&args),
        Command::Docs(args) => commands::docs::run(&args),
        Command::Expand(args) => commands::expand::run(&args),
        Command::Schema(args) => commands::schema::run(&args),
        Command::Update(args) => commands::update::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
    }
}

/// Log lines go to stderr; `MEE_LOG` overrides the level with `tracing` filter syntax, e.g.
/// `MEE_LOG=debug` or `MEE_LOG=mee_runtime::run=debug`.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
