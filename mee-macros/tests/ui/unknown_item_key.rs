mee_macros::pipeline!("pipelines/unknown_item_key.yml");

fn main() {}
