mee_macros::pipeline!("pipelines/unknown_column.yml");

fn main() {}
