mee_macros::pipeline!("pipelines/master_without_paging.yml");

fn main() {}
