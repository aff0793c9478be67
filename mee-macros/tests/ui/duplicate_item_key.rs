mee_macros::pipeline!("pipelines/duplicate_item_key.yml");

fn main() {}
