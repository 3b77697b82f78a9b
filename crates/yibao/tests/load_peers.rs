//! `yibao load --peer-region`: two platforms on loopback, every settlement made at a hospital of
//! one for a person insured on the other; the run settles without an error, reports its latency
//! percentiles, and both platforms' ledgers verify and hold every settlement once.

use std::path::PathBuf;
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn every_settlement_crosses_platforms_without_an_error() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("load-peers");
    let output = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["load", "--peer-region", "330100", "--duration", "3"])
        .args([
            "--concurrency",
            "2",
            "--persons",
            "50",
            "--seed",
            "7",
            "--json",
        ])
        .arg("--policy")
        .arg(repo("policies/jiujiang.toml"))
        .arg("--catalog")
        .arg(repo("catalogs/jiujiang-sample.csv"))
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["errors"], 0, "{stdout}\n{stderr}");
    assert!(summary["settlements"].as_u64().unwrap() > 0, "{summary}");
    let (p50, p95, p99) = (
        summary["p50_ms"].as_f64().unwrap(),
        summary["p95_ms"].as_f64().unwrap(),
        summary["p99_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p95 && p95 <= p99, "{summary}");
    let settlements = summary["settlements"].as_u64().unwrap();
    for platform in ["home", "peer"] {
        let report = verify(&dir.join(platform));
        assert_eq!(
            report["entries"].as_u64(),
            Some(settlements),
            "{platform} holds every settlement once: {report}"
        );
    }
}

/// `yibao verify --json` of a platform's database; it must pass.
fn verify(data_dir: &std::path::Path) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["verify", "--json", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}: {stdout}", data_dir.display());
    serde_json::from_str(&stdout).unwrap()
}
