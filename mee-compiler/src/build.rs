//! Helpers for build scripts: pipeline discovery, the `pipeline-NAME` feature contract,
//! tracked environment reads, write-if-changed output and `cargo::error=` rendering.
//!
//! A package that compiles pipelines has a `build.rs` of a few lines:
//!
//! ```no_run
//! // build.rs
//! mee_compiler::build::run_build_script("pipelines");
//! ```

use crate::diag::{self, Diagnostic, Diagnostics, RenderOptions, codes};
use crate::source::{SourceMap, Span};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Reads an environment variable and tells cargo to rerun the build script when it changes.
pub fn tracked_env(name: &str) -> Option<String> {
    println!("cargo::rerun-if-env-changed={name}");
    #[allow(clippy::disallowed_methods)] // This is the tracked wrapper the ban points to.
    std::env::var(name).ok()
}

/// A pipeline file found in the pipelines directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineFile {
    /// The file stem: `orders` for `pipelines/orders.yml`.
    pub name: String,
    pub path: PathBuf,
}

impl PipelineFile {
    /// The cargo feature that compiles this pipeline in.
    pub fn feature(&self) -> String {
        format!("pipeline-{}", self.name)
    }
}

/// Every `*.yml` / `*.yaml` file directly inside `dir`, sorted by name. Files below `dir` (such as
/// `schema/` or included fragments in subdirectories) are not pipelines.
pub fn discover_pipelines(dir: &Path) -> std::io::Result<Vec<PipelineFile>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        );
        if !is_yaml || !path.is_file() {
            continue;
        }
        if let Some(name) = path.file_stem().and_then(|s| s.to_str()) {
            found.push(PipelineFile {
                name: name.to_string(),
                path: path.clone(),
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// A valid pipeline name: lowercase ASCII letters, digits, `_` and `-`, starting with a letter.
/// It becomes part of a cargo feature, an index name and Rust identifiers.
pub fn is_valid_pipeline_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The `pipeline-*` features declared in a Cargo.toml, with the span of each declaration.
pub fn declared_pipeline_features(manifest: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let Ok(doc) = manifest.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(features) = doc.get("features").and_then(|f| f.as_table()) else {
        return Vec::new();
    };
    features
        .keys()
        .filter(|k| k.starts_with("pipeline-"))
        .map(|k| {
            let at = manifest
                .find(&format!("\n{k} "))
                .or_else(|| manifest.find(&format!("\n{k}=")));
            let start = at.map_or(0, |i| i + 1);
            (
                k.clone(),
                start..start + if at.is_some() { k.len() } else { 0 },
            )
        })
        .collect()
}

/// Checks the contract between pipeline files and cargo features: every `pipelines/NAME.yml` has a
/// `pipeline-NAME` feature and every `pipeline-NAME` feature has its file. Both mistakes are
/// errors: a pipeline without its feature could never be deployed, and a feature without its file
/// would build a binary that silently lacks the pipeline.
pub fn check_features(
    files: &[PipelineFile],
    manifest_path: &Path,
    manifest: &str,
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) {
    let declared = declared_pipeline_features(manifest);
    let manifest_file = map.add(manifest_path, manifest.to_string());
    let names: BTreeSet<String> = declared.iter().map(|(f, _)| f.clone()).collect();
    let features_span = manifest
        .find("[features]")
        .map_or(Span::new(manifest_file, 0, 0), |i| {
            Span::new(manifest_file, i, i + "[features]".len())
        });
    for file in files {
        let file_id = map
            .find(&file.path)
            .unwrap_or_else(|| map.add(&file.path, String::new()));
        let whole = Span::new(file_id, 0, 0);
        if !is_valid_pipeline_name(&file.name) {
            diags.push(
                Diagnostic::error(
                    codes::BAD_PIPELINE_NAME,
                    format!("`{}` is not a valid pipeline name", file.name),
                )
                .primary(whole, "this file's name")
                .help("rename the file: lowercase letters, digits, `_` and `-`, starting with a letter"),
            );
            continue;
        }
        let feature = file.feature();
        if !names.contains(&feature) {
            diags.push(
                Diagnostic::error(
                    codes::MISSING_FEATURE,
                    format!("pipeline `{}` has no cargo feature `{feature}`", file.name),
                )
                .primary(whole, "this pipeline")
                .secondary(features_span, "declare it here")
                .help(format!(
                    "add `{feature} = []` under [features] in {}",
                    display(manifest_path)
                )),
            );
        }
    }
    for (feature, range) in &declared {
        let name = &feature["pipeline-".len()..];
        if !files.iter().any(|f| f.name == name) {
            let span = Span::new(manifest_file, range.start, range.end);
            let candidates: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            diags.push(
                Diagnostic::error(
                    codes::MISSING_PIPELINE_FILE,
                    format!("feature `{feature}` has no pipeline file `pipelines/{name}.yml`"),
                )
                .primary(span, "declared here")
                .suggest(name, candidates)
                .note(format!(
                    "either create pipelines/{name}.yml or remove the feature from {}",
                    display(manifest_path)
                )),
            );
        }
    }
}

fn display(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

/// Writes `contents` to `path` only if it differs, so an unchanged output does not make cargo
/// recompile the crate that includes it.
pub fn write_if_changed(path: &Path, contents: &str) -> std::io::Result<()> {
    #[allow(clippy::disallowed_methods)] // Reading our own previous output, not user input.
    let same = std::fs::read_to_string(path).is_ok_and(|old| old == contents);
    if !same {
        std::fs::write(path, contents)?;
    }
    Ok(())
}

/// Renders diagnostics for a build script: every line of an error as `cargo::error=`, of a
/// warning as `cargo::warning=`, so cargo shows the excerpt and the help with the build failure.
pub fn emit_cargo_diagnostics(map: &SourceMap, ds: &[Diagnostic]) {
    for d in ds {
        let prefix = if d.is_error() {
            "cargo::error="
        } else {
            "cargo::warning="
        };
        for line in diag::render(map, d, RenderOptions::default()).lines() {
            println!("{prefix}{line}");
        }
    }
}

/// The enabled pipeline features, from cargo's `CARGO_FEATURE_*` variables.
pub fn enabled_pipelines(files: &[PipelineFile]) -> Vec<PipelineFile> {
    files
        .iter()
        .filter(|f| {
            let var = format!(
                "CARGO_FEATURE_{}",
                f.feature().to_uppercase().replace('-', "_")
            );
            tracked_env(&var).is_some()
        })
        .cloned()
        .collect()
}

/// Everything a build script does: discover pipelines, check the feature contract, compile every
/// pipeline (all are validated; the enabled ones are generated), report diagnostics to cargo and
/// write `OUT_DIR/mee_pipelines.rs`.
///
/// # Panics
///
/// When cargo's own environment (`CARGO_MANIFEST_DIR`, `OUT_DIR`) is missing, which means it is
/// not running inside a build script.
pub fn run_build_script(pipelines_dir: &str) {
    let root = PathBuf::from(
        tracked_env("CARGO_MANIFEST_DIR")
            .expect("CARGO_MANIFEST_DIR is set by cargo for build scripts"),
    );
    let out_dir =
        PathBuf::from(tracked_env("OUT_DIR").expect("OUT_DIR is set by cargo for build scripts"));
    let dir = root.join(pipelines_dir);
    println!("cargo::rerun-if-changed={}", dir.display());
    println!("cargo::rerun-if-changed=Cargo.toml");

    let mut map = SourceMap::with_root(&root);
    let mut diags = Diagnostics::new();
    let files = match discover_pipelines(&dir) {
        Ok(files) => files,
        Err(e) => {
            println!(
                "cargo::error=cannot read the pipelines directory {}: {e}",
                dir.display()
            );
            return;
        }
    };
    let manifest_path = root.join("Cargo.toml");
    #[allow(clippy::disallowed_methods)] // The manifest is tracked by rerun-if-changed above.
    let manifest = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    let enabled = enabled_pipelines(&files);
    // Compile first so the pipeline files are in the source map when the feature check points
    // at them.
    let (generated, docs) =
        crate::compile_for_build(&root, &dir, &files, &enabled, &mut map, &mut diags);
    check_features(&files, &manifest_path, &manifest, &mut map, &mut diags);

    let ds = diags.finish();
    emit_cargo_diagnostics(&map, &ds);
    if ds.iter().any(Diagnostic::is_error) {
        return;
    }
    let target = out_dir.join("mee_pipelines.rs");
    if let Err(e) = write_if_changed(&target, &generated) {
        println!("cargo::error=cannot write {}: {e}", target.display());
    }
    // The documentation of each compiled pipeline (what `mee docs NAME` prints), next to the code.
    let docs_dir = out_dir.join("docs");
    if let Err(e) = std::fs::create_dir_all(&docs_dir) {
        println!("cargo::error=cannot create {}: {e}", docs_dir.display());
        return;
    }
    for (name, markdown) in docs {
        let path = docs_dir.join(format!("{name}.md"));
        if let Err(e) = write_if_changed(&path, &markdown) {
            println!("cargo::error=cannot write {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "[package]\nname = \"x\"\n\n[features]\ndefault = []\npipeline-orders = []\npipeline-ghost = []\n";

    fn file(name: &str) -> PipelineFile {
        PipelineFile {
            name: name.into(),
            path: PathBuf::from(format!("/p/pipelines/{name}.yml")),
        }
    }

    #[test]
    fn features_and_files_must_match_both_ways() {
        let mut map = SourceMap::with_root("/p");
        let mut diags = Diagnostics::new();
        let files = [file("orders"), file("vehicles")];
        check_features(
            &files,
            Path::new("/p/Cargo.toml"),
            MANIFEST,
            &mut map,
            &mut diags,
        );
        let ds = diags.finish();
        let codes: Vec<&str> = ds.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, vec!["E0802", "E0801"], "{ds:#?}");
        let missing_file = &ds[0];
        assert_eq!(
            missing_file.message,
            "feature `pipeline-ghost` has no pipeline file `pipelines/ghost.yml`"
        );
        assert_eq!(
            map.location(missing_file.primary_span().expect("has a span")),
            "Cargo.toml:7:1"
        );
        assert_eq!(
            ds[1].help.as_deref(),
            Some("add `pipeline-vehicles = []` under [features] in Cargo.toml")
        );
    }

    #[test]
    fn pipeline_names_are_checked() {
        assert!(is_valid_pipeline_name("orders"));
        assert!(is_valid_pipeline_name("order-search_2"));
        assert!(!is_valid_pipeline_name("Orders"));
        assert!(!is_valid_pipeline_name("2orders"));
        assert!(!is_valid_pipeline_name(""));
    }
}
