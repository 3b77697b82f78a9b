//! `yibao report cross-region` on an embedded database without cross-region care: CSV is the header
//! alone, JSON an empty list, the table says there is none; a bad month or year is refused. (The
//! lines over real settlements are tested through the same library call in
//! `crates/server/tests/clearing.rs` and `peers.rs`.)

use std::path::Path;
use std::process::{Command, Output};

fn report(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["report", "cross-region", "--data-dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn an_empty_store_reports_no_cross_region_care() {
    let dir = std::env::temp_dir().join(format!("yibao-report-xr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let csv = stdout(&report(&dir, &["--year", "2026", "--format", "csv"]));
    assert_eq!(
        csv,
        "region,direction,insutype,partner,care,count,total_cost,fund_paid,fund_share,average_cost\n"
    );
    let json = stdout(&report(
        &dir,
        &["--year", "2026", "--month", "3", "--format", "json"],
    ));
    assert_eq!(json.trim(), "[]");
    let table = stdout(&report(&dir, &["--year", "2026", "--month", "3"]));
    assert!(table.contains("异地就医直接结算 2026-03"), "{table}");
    assert!(table.contains("没有异地就医结算"), "{table}");
    for bad in [
        ["--year", "2026", "--month", "13"],
        ["--year", "12", "--month", "1"],
    ] {
        let refused = report(&dir, &bad);
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("--month 13") || stderr.contains("--year 12"),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
