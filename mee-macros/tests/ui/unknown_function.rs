mee_macros::pipeline!("pipelines/unknown_function.yml");

fn main() {}
