//! `mee schema pull`: writes the checked-in DDL of logical databases from a live server.

use clap::{Args, Subcommand};
use mee_runtime::mysql::{MysqlError, Source, SourceConfig, pull_schema};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Work with the table schemas pipelines are compiled against.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    #[command(subcommand)]
    command: SchemaCommand,
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    Pull(PullArgs),
}

/// Write `<dir>/<database>.sql` for each logical database from the live server: `DROP TABLE IF
/// EXISTS` + `CREATE TABLE` per table, sorted by name, without `AUTO_INCREMENT=n`, after a header
/// saying when and from where. Pipelines are compiled against these files; run this after a
/// schema change, review the diff, and rebuild.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Logical database names (as pipelines write them)
    #[arg(required = true, value_name = "DATABASE")]
    databases: Vec<String>,
    /// The server: mysql://user:password@host:port
    #[arg(
        long,
        env = "MEE_MYSQL_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    mysql: String,
    /// Read a logical database from another physical one (repeatable)
    #[arg(long = "database", value_name = "LOGICAL=PHYSICAL")]
    database_overrides: Vec<String>,
    /// Only these tables (repeatable; needs exactly one DATABASE) [default: every table]
    #[arg(long = "table", value_name = "NAME")]
    tables: Vec<String>,
    /// Where the schema files go
    #[arg(long, default_value = "pipelines/schema")]
    dir: PathBuf,
}

pub fn run(args: &SchemaArgs) -> ExitCode {
    match &args.command {
        SchemaCommand::Pull(pull) => run_pull(pull),
    }
}

fn run_pull(args: &PullArgs) -> ExitCode {
    if !args.tables.is_empty() && args.databases.len() != 1 {
        eprintln!(
            "error: --table needs exactly one DATABASE, got {}",
            args.databases.len()
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(pull(args)) {
        Ok(written) => {
            for (path, tables) in written {
                let noun = if tables == 1 { "table" } else { "tables" };
                println!("wrote {} ({tables} {noun})", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Pulls every database first and writes the files only when all succeeded, so a failure never
/// leaves a half-updated set of schema files.
async fn pull(args: &PullArgs) -> Result<Vec<(PathBuf, usize)>, MysqlError> {
    let mut config =
        SourceConfig::new(args.mysql.clone()).with_overrides(&args.database_overrides)?;
    config.pool_min = 0;
    config.pool_max = 1;
    let source = Source::connect(config).await?;
    let mut files = Vec::with_capacity(args.databases.len());
    for logical in &args.databases {
        let text = pull_schema(&source, logical, &args.tables).await?;
        files.push((args.dir.join(format!("{logical}.sql")), text));
    }
    if let Err(e) = source.disconnect().await {
        tracing::debug!(error = %e, "closing the MySQL connection failed");
    }
    let mut written = Vec::with_capacity(files.len());
    for (path, text) in files {
        write_file(&path, &text)?;
        let tables = text
            .lines()
            .filter(|l| l.starts_with("CREATE TABLE"))
            .count();
        written.push((path, tables));
    }
    Ok(written)
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
fn write_file(path: &Path, text: &str) -> Result<(), MysqlError> {
    let io = |source| MysqlError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("sql.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
