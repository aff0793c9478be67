mee_macros::pipeline!("pipelines/dependency_cycle.yml");

fn main() {}
