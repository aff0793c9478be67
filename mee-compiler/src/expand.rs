//! What `mee::pipeline!("path")` expands to. The proc macro in `mee-macros` only converts
//! tokens; the work happens here so it can be tested as a normal function.

use crate::diag::{self, Diagnostics, RenderOptions};
use crate::source::{FsLoader, SourceMap};
use proc_macro2::TokenStream;
use quote::quote;
use std::path::{Path, PathBuf};

/// The result of expanding one `mee::pipeline!` call.
#[derive(Debug)]
pub struct Expansion {
    /// The generated items, or `None` when there were errors.
    pub tokens: Option<TokenStream>,
    /// Every error and warning, rendered as plain text (one string each).
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Resolves `path` like the build does: relative to the crate's manifest directory when the file
/// is there, else relative to the directory of the source file that calls the macro (as
/// `include_str!` does).
pub fn resolve(
    path: &str,
    manifest_dir: Option<&Path>,
    source_dir: Option<&Path>,
) -> (PathBuf, PathBuf) {
    let p = Path::new(path);
    if p.is_absolute() {
        return (
            p.to_path_buf(),
            p.parent().unwrap_or(Path::new("/")).to_path_buf(),
        );
    }
    for base in [manifest_dir, source_dir].into_iter().flatten() {
        if base.join(p).is_file() {
            return (base.join(p), base.to_path_buf());
        }
    }
    let base = manifest_dir.or(source_dir).unwrap_or(Path::new("."));
    (base.join(p), base.to_path_buf())
}

/// Checks the pipeline at `path` and generates its items.
pub fn expand_pipeline(
    path: &str,
    manifest_dir: Option<&Path>,
    source_dir: Option<&Path>,
) -> Expansion {
    let (file, base) = resolve(path, manifest_dir, source_dir);
    let mut map = SourceMap::with_root(&base);
    let mut diags = Diagnostics::new();
    let schema_dir = crate::driver::default_schema_dir(&file);
    let compiled = crate::check_pipeline(&FsLoader, &file, &schema_dir, &mut map, &mut diags);
    if compiled.is_none() && !diags.has_errors() {
        diags.push(
            diag::Diagnostic::error(
                diag::codes::FILE_UNREADABLE,
                format!("cannot read pipeline `{}`", file.display()),
            )
            .help("the path is relative to the crate's Cargo.toml directory"),
        );
    }
    let ds = diags.finish();
    let render = |d: &diag::Diagnostic| {
        diag::render(&map, d, RenderOptions::default())
            .trim_end()
            .to_string()
    };
    let errors: Vec<String> = ds.iter().filter(|d| d.is_error()).map(render).collect();
    let warnings: Vec<String> = ds.iter().filter(|d| !d.is_error()).map(render).collect();
    let tokens = match compiled {
        Some(c) if errors.is_empty() => Some(module(&c, &map)),
        _ => None,
    };
    Expansion {
        tokens,
        errors,
        warnings,
    }
}

/// The module of one pipeline. Every file the compiler read is `include_str!`ed so that editing
/// the YAML, an included file or a schema file recompiles the crate.
fn module(c: &crate::CompiledPipeline, map: &SourceMap) -> TokenStream {
    let files: Vec<String> = map
        .files()
        .map(|(_, f)| f.path.display().to_string())
        .collect();
    let generated = crate::codegen::generate(c, map);
    quote! {
        #( const _: &str = include_str!(#files); )*
        #generated
    }
}
