mee_macros::pipeline!("pipelines/routing_on_slave.yml");

fn main() {}
