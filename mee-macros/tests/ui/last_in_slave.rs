mee_macros::pipeline!("pipelines/last_in_slave.yml");

fn main() {}
