mee_macros::pipeline!("pipelines/bad_default_literal.yml");

fn main() {}
