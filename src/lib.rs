//! mee keeps Elasticsearch/OpenSearch in sync with MySQL/MariaDB.
//!
//! Handler YAML files in `pipelines/` are compiled by the build script into the [`generated`]
//! module; the runtime in `mee-runtime` runs them. Other crates can embed a pipeline with
//! [`pipeline!`].

pub use mee_macros::pipeline;
pub use mee_runtime as runtime;

/// Code generated from `pipelines/*.yml` for the enabled `pipeline-NAME` features.
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/mee_pipelines.rs"));
}
