//! Procedural macros for mee. Internal to mee and semver-exempt: use `mee::pipeline!`.

use proc_macro::TokenStream;
use std::path::PathBuf;

/// Embeds a pipeline: `mee::pipeline!("pipelines/orders.yml")` expands to the code the build
/// script generates for that file, and reports every problem of the file as a compile error.
///
/// The path is relative to the crate's `Cargo.toml` directory (like `sqlx::migrate!`), or else to
/// the directory of the calling source file (like `include_str!`). Schemas are read from
/// `schema/` next to the pipeline file.
#[proc_macro]
pub fn pipeline(input: TokenStream) -> TokenStream {
    let source_dir = proc_macro::Span::call_site()
        .local_file()
        .and_then(|f| f.parent().map(PathBuf::from));
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    pipeline_inner(input.into(), manifest_dir, source_dir).into()
}

fn pipeline_inner(
    input: proc_macro2::TokenStream,
    manifest_dir: Option<PathBuf>,
    source_dir: Option<PathBuf>,
) -> proc_macro2::TokenStream {
    let lit = match syn::parse2::<syn::LitStr>(input) {
        Ok(lit) => lit,
        Err(e) => return e.to_compile_error(),
    };
    let expansion = mee_compiler::expand::expand_pipeline(
        &lit.value(),
        manifest_dir.as_deref(),
        source_dir.as_deref(),
    );
    match expansion.tokens {
        Some(tokens) => tokens,
        None => {
            let mut errors = expansion
                .errors
                .iter()
                .map(|e| syn::Error::new(lit.span(), e));
            let mut all = errors
                .next()
                .unwrap_or_else(|| syn::Error::new(lit.span(), "pipeline failed"));
            all.extend(errors);
            all.to_compile_error()
        }
    }
}
