//! The `mee` command line.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mee keeps Elasticsearch/OpenSearch in sync with MySQL/MariaDB.
///
/// Pipelines are handler YAML files in `pipelines/`, compiled into this binary with
/// `cargo build --release --features pipeline-NAME`. Table schemas come from
/// `pipelines/schema/<database>.sql`.
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
