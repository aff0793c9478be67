//! Runs the stages on one pipeline file: load -> syntax -> model -> schema checks. The build
//! script, the proc macro and `mee check` all go through here, so they report the same
//! diagnostics for the same file.

use crate::build::PipelineFile;
use crate::diag::Diagnostics;
use crate::model::{self, Pipeline};
use crate::source::{FileLoader, SourceMap};
use crate::sql::ddl::load_schema;
use crate::sql::schema::Schema;
use std::path::Path;

/// A pipeline that went through every stage (it may still have reported errors).
#[derive(Debug)]
pub struct CompiledPipeline {
    pub model: Pipeline,
    pub schema: Schema,
    /// What each item's statement says, indexed like `model.items` (`None` where it failed).
    pub statements: Vec<Option<crate::check::StatementInfo>>,
}

/// The schema directory of a pipeline file: `schema/` next to it.
pub fn default_schema_dir(pipeline_path: &Path) -> std::path::PathBuf {
    pipeline_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("schema")
}

/// Loads and checks one pipeline. `None` when the file could not be read or parsed at all.
pub fn check_pipeline(
    loader: &dyn FileLoader,
    path: &Path,
    schema_dir: &Path,
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Option<CompiledPipeline> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("pipeline")
        .to_string();
    let handler = crate::syntax::load_handler(loader, path, map, diags)?;
    let file = map.find(path)?;
    let model = model::lower(&name, file, &handler, diags);
    let databases: Vec<&str> = model
        .items
        .iter()
        .map(|i| i.database.value.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    let schema = load_schema(loader, schema_dir, databases, map, diags);
    crate::check::check_columns(&model, &schema, diags);
    let statements = crate::check::check_statements(&model, &schema, diags);
    let compiled = CompiledPipeline {
        model,
        schema,
        statements,
    };
    crate::types::check_null_values(&compiled, diags);
    Some(compiled)
}

/// Compiles the pipelines of a package for its build script: every file is checked (so a broken
/// pipeline fails every build, not only the builds that enable it), the `enabled` ones are
/// generated. Returns the Rust source of `OUT_DIR/mee_pipelines.rs` and, for every enabled
/// pipeline, its name and Markdown documentation.
pub fn compile_for_build(
    _root: &Path,
    pipelines_dir: &Path,
    all: &[PipelineFile],
    enabled: &[PipelineFile],
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) -> (String, Vec<(String, String)>) {
    let schema_dir = pipelines_dir.join("schema");
    let mut modules = Vec::new();
    let mut docs = Vec::new();
    for file in all {
        let compiled = check_pipeline(
            &crate::source::FsLoader,
            &file.path,
            &schema_dir,
            map,
            diags,
        );
        if let Some(c) = compiled.filter(|_| enabled.contains(file)) {
            modules.push(crate::codegen::generate(&c, map));
            docs.push((file.name.clone(), crate::docs::render_docs(&c, map)));
        }
    }
    let names: Vec<&str> = enabled.iter().map(|p| p.name.as_str()).collect();
    let idents: Vec<syn::Ident> = enabled
        .iter()
        .map(|p| syn::Ident::new(&p.name.replace('-', "_"), proc_macro2::Span::call_site()))
        .collect();
    let tokens = quote::quote! {
        /// The pipelines compiled into this build (one per enabled `pipeline-NAME` feature), by
        /// name, with their indexes.
        pub static PIPELINES: &[(&str, &[&dyn ::mee_runtime::__private::IndexPipeline])] =
            &[#((#names, #idents::INDEXES)),*];
        /// The documentation of each compiled pipeline (`OUT_DIR/docs/NAME.md`, as `mee docs` prints it).
        pub static DOCS: &[(&str, &str)] =
            &[#((#names, include_str!(concat!(env!("OUT_DIR"), "/docs/", #names, ".md")))),*];
        #(#modules)*
    };
    (crate::codegen::render_file(tokens, "pipelines/*.yml"), docs)
}

/// The generated Rust of one pipeline file, formatted (what `mee expand` prints).
pub fn expand_file(
    loader: &dyn FileLoader,
    path: &Path,
    schema_dir: &Path,
    map: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Option<String> {
    let c = check_pipeline(loader, path, schema_dir, map, diags)?;
    if diags.has_errors() {
        return None;
    }
    let file = map
        .find(path)
        .map(|f| map.file(f).display_path.clone())
        .unwrap_or_default();
    Some(crate::codegen::render_file(
        crate::codegen::generate(&c, map),
        &file,
    ))
}
