mee_macros::pipeline!("pipelines/unknown_database.yml");

fn main() {}
