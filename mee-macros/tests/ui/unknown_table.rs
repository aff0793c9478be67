mee_macros::pipeline!("pipelines/unknown_table.yml");

fn main() {}
