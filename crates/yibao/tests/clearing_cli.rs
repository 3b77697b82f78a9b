//! `yibao clearing status|resubmit|release` on an embedded database without clearings: the status
//! lists the columns of a resubmission and of a reserve release; an unknown clearing cannot be
//! applied again; a release names a bad period and finds nothing withheld to release. (Over real
//! settlements the same library calls are tested in `crates/server/tests/clearing_resubmit.rs`.)

use std::path::Path;
use std::process::{Command, Output};

fn clearing(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .arg("clearing")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

fn refused(output: &Output) -> String {
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_empty_store_has_nothing_to_resubmit_or_release() {
    let dir = std::env::temp_dir().join(format!("yibao-clearing-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let status = clearing(&dir, &["status", "--format", "csv"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let header = String::from_utf8(status.stdout).unwrap();
    assert!(
        header.trim_end().ends_with("resubmits,reserve_released_by"),
        "{header}"
    );
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/clearing/jiangxi.toml");
    let policy = policy.to_str().unwrap();
    let unknown = refused(&clearing(
        &dir,
        &[
            "resubmit",
            "--id",
            "202603-360400-360100-390",
            "--policy",
            policy,
        ],
    ));
    assert!(unknown.contains("不存在"), "{unknown}");
    let pair = [
        "--insured",
        "360400",
        "--treating",
        "360100",
        "--insutype",
        "390",
    ];
    let bad = refused(&clearing(
        &dir,
        &[&["release", "--period", "2026-3"][..], &pair].concat(),
    ));
    assert!(bad.contains("--period"), "{bad}");
    let nothing = refused(&clearing(
        &dir,
        &[&["release", "--period", "2026"][..], &pair].concat(),
    ));
    assert!(nothing.contains("没有待返还"), "{nothing}");
    let _ = std::fs::remove_dir_all(&dir);
}
