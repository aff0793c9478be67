mee_macros::pipeline!("../pipelines/valid.yml");

fn main() {
    assert_eq!(valid::NAME, "valid");
}
