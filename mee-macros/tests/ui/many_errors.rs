mee_macros::pipeline!("pipelines/many_errors.yml");

fn main() {}
