mee_macros::pipeline!("pipelines/misspelled_key.yml");

fn main() {}
