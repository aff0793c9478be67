mee_macros::pipeline!("pipelines/wrong_arity.yml");

fn main() {}
