mee_macros::pipeline!("pipelines/missing_include.yml");

fn main() {}
