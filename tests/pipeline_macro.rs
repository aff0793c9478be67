//! `mee::pipeline!` embeds a pipeline in another crate's code: the expansion compiles against
//! `mee_runtime` and is the same code the build script generates.

mee::pipeline!("pipelines/vehicles.yml");

#[test]
fn embedded_pipeline_exposes_its_index() {
    use mee_runtime::pipeline::IndexPipeline;
    let index: &dyn IndexPipeline = vehicles::INDEXES[0];
    assert_eq!(index.alias(), "index_vehicle");
    assert_eq!(index.master_table(), ("certify_service", "vehicle"));
    let body: serde_json::Value =
        serde_json::from_str(index.index_body()).expect("the index body is JSON");
    assert_eq!(
        body["mappings"]["properties"]["vehicle_monitors"]["type"],
        "nested"
    );
}

#[cfg(feature = "pipeline-vehicles")]
#[test]
fn embedded_and_built_pipelines_are_the_same_code() {
    let built = mee::generated::vehicles::INDEXES[0];
    assert_eq!(vehicles::INDEXES[0].fingerprint(), built.fingerprint());
}
