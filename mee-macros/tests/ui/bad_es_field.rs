mee_macros::pipeline!("pipelines/bad_es_field.yml");

fn main() {}
