mee_macros::pipeline!("pipelines/sum_over_text.yml");

fn main() {}
