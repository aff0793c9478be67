mee_macros::pipeline!("pipelines/trailing_limit.yml");

fn main() {}
