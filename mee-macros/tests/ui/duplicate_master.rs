mee_macros::pipeline!("pipelines/duplicate_master.yml");

fn main() {}
