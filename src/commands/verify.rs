//! `mee verify`: compares what a pipeline's aliases serve with a fresh build from MySQL.

use super::connect::{ConnectArgs, runtime};
use super::progress::Reporter;
use super::update::find_pipeline;
use clap::Args;
use mee_runtime::verify::{
    FieldDiff, VerifyOptions, VerifyPhase, VerifyProgress, VerifyReport, verify,
};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Compare what a pipeline's aliases serve with the documents a full update would build from
/// MySQL now, without writing anything.
///
/// Documents are built from one consistent MySQL snapshot, page by page exactly as `mee update`
/// builds them, and each page is compared with the index (`_mget`, as parsed JSON). A scroll over
/// the index then finds the documents MySQL does not build. The report counts documents that are
/// missing from the index, extra (in the index but not built) and different, and shows the
/// first few ids and, for differing documents, the differing fields as paths
/// (`items[1].quantity`). Memory stays bounded by the page size, plus the set of built ids.
///
/// The source may change while verify runs, and `mee run` may apply the change meanwhile: a
/// document that looks wrong is looked at once more after `--recheck-ms`, rebuilt from current
/// MySQL and read again from the index, and reported only if it is still wrong. For an exact
/// answer, run it when the source is quiet and the sync has caught up.
///
/// Exit status: 0 when the index equals what MySQL builds, 1 when it differs, 2 when it could
/// not be compared (a usage error, an unknown pipeline, a missing alias, an unreachable server).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The pipeline (compiled in with `--features pipeline-NAME`)
    pipeline: String,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Verify this index instead of the one the alias points at (a generation being built, or
    /// one of several behind the alias); only for pipelines with one index
    #[arg(long, value_name = "INDEX")]
    index: Option<String>,
    /// Master rows per page: documents per `_mget` and per scroll page
    #[arg(long, default_value_t = 500)]
    page_size: usize,
    /// Wait this long before looking a second time at a document that differs
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    recheck_ms: u64,
    /// Ids (and differing documents) shown per kind of difference
    #[arg(long, value_name = "N", default_value_t = 10)]
    sample: usize,
}

/// Exit status when the index differs.
const DIFFERENT: u8 = 1;
/// Exit status when nothing could be compared.
const TROUBLE: u8 = 2;

pub fn run(args: &VerifyArgs) -> ExitCode {
    let Some(indexes) = find_pipeline(&args.pipeline) else {
        return ExitCode::from(TROUBLE);
    };
    if args.index.is_some() && indexes.len() > 1 {
        eprintln!(
            "error: pipeline `{}` has {} indexes, so `--index` is ambiguous; verify through their aliases instead",
            args.pipeline,
            indexes.len()
        );
        return ExitCode::from(TROUBLE);
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(TROUBLE);
        }
    };
    rt.block_on(async {
        let services = match args.connect.connect().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(TROUBLE);
            }
        };
        let mut status = ExitCode::SUCCESS;
        let mut trouble = false;
        for index in indexes {
            let alias = args.connect.alias(index.alias());
            let options = VerifyOptions {
                page_size: args.page_size,
                alias: Some(alias.clone()),
                index: args.index.clone(),
                recheck_delay: Duration::from_millis(args.recheck_ms),
                sample: args.sample,
                ..VerifyOptions::default()
            };
            let progress = Report::new(&alias);
            match verify(*index, &services.source, &services.es, &options, &progress).await {
                Ok(report) => {
                    print!("{}", render(&report));
                    if !report.is_equal() {
                        status = ExitCode::from(DIFFERENT);
                    }
                }
                Err(e) => {
                    progress.finish();
                    eprintln!("error: cannot verify `{alias}`: {e}");
                    trouble = true;
                }
            }
        }
        if trouble {
            ExitCode::from(TROUBLE)
        } else {
            status
        }
    })
}

/// The report as text lines.
fn render(r: &VerifyReport) -> String {
    let mut out = format!(
        "{}: index {} compared with MySQL snapshot {} in {:.1}s\n",
        r.alias,
        r.index,
        r.snapshot,
        r.elapsed.as_secs_f64()
    );
    out.push_str(&format!(
        "  {:<18}{} documents{}\n",
        "built from MySQL:",
        r.built,
        if r.build_failures > 0 {
            format!(
                " ({} master rows failed to build; the retry table holds them)",
                r.build_failures
            )
        } else {
            String::new()
        }
    ));
    out.push_str(&format!(
        "  {:<18}{} documents\n",
        "in the index:", r.indexed
    ));
    for (label, finding) in [
        ("missing:", &r.missing),
        ("extra:", &r.extra),
        ("different:", &r.different),
    ] {
        out.push_str(&format!("  {label:<18}{}", finding.count));
        if !finding.sample.is_empty() {
            let more = if finding.count > finding.sample.len() as u64 {
                ", ..."
            } else {
                ""
            };
            out.push_str(&format!(" (ids {}{more})", finding.sample.join(", ")));
        }
        out.push('\n');
    }
    for diff in &r.diffs {
        let fields: Vec<String> = diff.fields.iter().map(render_field).collect();
        out.push_str(&format!("    id {}: {}", diff.id, fields.join("; ")));
        if diff.more_fields > 0 {
            out.push_str(&format!("; and {} more fields", diff.more_fields));
        }
        out.push('\n');
    }
    if r.settled > 0 {
        out.push_str(&format!(
            "  {} documents changed while verifying and were equal on a second look\n",
            r.settled
        ));
    }
    if r.is_equal() {
        out.push_str(&format!("{}: equal\n", r.alias));
    } else {
        out.push_str(&format!(
            "{}: different ({} missing, {} extra, {} different)\n",
            r.alias, r.missing.count, r.extra.count, r.different.count
        ));
    }
    out
}

fn render_field(f: &FieldDiff) -> String {
    let value = |v: &Option<serde_json::Value>| match v {
        None => "(absent)".to_string(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 60 {
                format!("{}...", text.chars().take(60).collect::<String>())
            } else {
                text
            }
        }
    };
    let path = if f.path.is_empty() {
        "(document)"
    } else {
        &f.path
    };
    format!(
        "{path}: MySQL builds {}, the index has {}",
        value(&f.expected),
        value(&f.found)
    )
}

/// Documents compared and differences found, per phase: on a bar, or in a line with the rate.
struct Report {
    reporter: Reporter,
    alias: String,
    phase: Mutex<(VerifyPhase, Instant)>,
}

impl Report {
    fn new(alias: &str) -> Self {
        Report {
            reporter: Reporter::new("documents"),
            alias: alias.to_string(),
            phase: Mutex::new((VerifyPhase::Compare, Instant::now())),
        }
    }

    fn phase_name(phase: VerifyPhase) -> &'static str {
        match phase {
            VerifyPhase::Compare => "comparing",
            VerifyPhase::Extras => "scanning for extras",
        }
    }
}

impl VerifyProgress for Report {
    fn start(&self, phase: VerifyPhase, total: Option<u64>) {
        if let Ok(mut p) = self.phase.lock() {
            *p = (phase, Instant::now());
        }
        if let Some(bar) = self.reporter.bar() {
            bar.set_prefix(format!("{} {}", self.alias, Self::phase_name(phase)));
            bar.set_length(total.unwrap_or(0));
            bar.reset();
        }
    }

    fn update(&self, done: u64, differences: u64) {
        self.reporter.advance(
            done,
            || format!("{differences} differences"),
            || {
                let (phase, since) = self
                    .phase
                    .lock()
                    .map(|p| *p)
                    .unwrap_or((VerifyPhase::Compare, Instant::now()));
                let rate = done as f64 / since.elapsed().as_secs_f64().max(0.001);
                format!(
                    "{}: {}: {done} documents, {rate:.0}/s, {differences} differences so far",
                    self.alias,
                    Self::phase_name(phase)
                )
            },
        );
    }

    fn finish(&self) {
        self.reporter.finish();
    }
}
