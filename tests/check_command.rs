//! `mee check` on a deliberately broken copy of a shipped pipeline: every error at once, each at
//! its `file:line:col`, and a non-zero exit; the intact pipelines pass.

use std::path::Path;
use std::process::Command;

fn mee() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mee"))
}

#[test]
fn broken_copy_reports_every_error_with_its_location() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("mee-check-{}", std::process::id()));
    let pipelines = dir.join("pipelines");
    std::fs::create_dir_all(&pipelines).expect("temp dir");
    let original = std::fs::read_to_string(root.join("pipelines/orders.yml")).expect("orders.yml");
    let broken = original
        .replace("        - order_no\n", "        - order_nr\n")
        .replace("%__master.customer_id", "%__master.customerid")
        .replace(
            "- quantity\n",
            "- {db_field: \"sum(sku, quantity)\", es_field: total}\n",
        )
        .replace("deleted = 0\"", "deleted = 0 limit 5\"");
    assert_ne!(broken, original);
    std::fs::write(pipelines.join("orders.yml"), broken).expect("write copy");
    let out = mee()
        .args(["check", "pipelines/orders.yml", "--schema"])
        .arg(root.join("pipelines/schema"))
        .arg("--color=never")
        .current_dir(&dir)
        .output()
        .expect("mee runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let located: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("pipelines/orders.yml:"))
        .collect();
    let expect = [
        ("error[E0701]", "`sum` needs a number, but `sku`"),
        ("error[E0503]", "can not end with a `LIMIT`"),
        ("error[E0403]", "unknown column `order_nr`"),
        ("error[E0403]", "unknown column `customerid`"),
    ];
    for (code, text) in expect {
        assert!(
            located.iter().any(|l| l.contains(code) && l.contains(text)),
            "missing {code} {text} in:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("help: did you mean `order_no`?"),
        "{stderr}"
    );
    assert!(stderr.contains("4 errors found"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn shipped_pipelines_pass() {
    let out = mee()
        .arg("check")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("mee runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
