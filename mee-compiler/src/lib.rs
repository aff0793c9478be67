//! The mee pipeline compiler. Internal to mee and semver-exempt: use the `mee` crate.
//!
//! It turns handler YAML files (`pipelines/*.yml`) and checked-in DDL (`pipelines/schema/*.sql`)
//! into a validated model and then into readable Rust that the `mee-runtime` crate executes.
//! It is a plain library: `build.rs`, the `mee-macros` proc macro and the `mee check` command are
//! thin shells over it. It performs no network I/O and reads files only through a [`source::FileLoader`].

pub mod build;
pub mod check;
pub mod codegen;
pub mod diag;
pub mod docs;
pub mod expr;
pub mod join;
pub mod mapping;
pub mod model;
pub mod source;
pub mod sql;
pub mod syntax;
pub mod types;
pub mod yaml;

pub mod driver;
pub mod expand;

pub use driver::{CompiledPipeline, check_pipeline, compile_for_build, expand_file};
