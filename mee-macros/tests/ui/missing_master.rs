mee_macros::pipeline!("pipelines/missing_master.yml");

fn main() {}
