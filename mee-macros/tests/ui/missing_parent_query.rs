mee_macros::pipeline!("pipelines/missing_parent_query.yml");

fn main() {}
