mee_macros::pipeline!("pipelines/yaml_syntax.yml");

fn main() {}
