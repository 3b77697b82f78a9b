//! `yibao synth --fraud` then `yibao audit run` over March: every planted group is found by the
//! rule or model its ground truth names (recall ≥ 0.95 per pattern), and ≥ 90 % of each planted
//! model's findings are planted groups (the ordinary synthetic population stays quiet). The run
//! names only visits, persons and the period, as an analyst's files would: the shipped policy and
//! the catalogue `yibao synth` wrote beside the visits are the defaults.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn yibao(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .output()
        .expect("run yibao");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn ids(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect()
}

fn finds(finding: &Value, planted: &Value) -> bool {
    let evidence = ids(&finding["mdtrt_ids"]);
    finding["id"] == planted["expect"]
        && ids(&planted["mdtrt_ids"])
            .iter()
            .any(|m| evidence.contains(m))
}

#[test]
fn planted_fraud_is_found_and_little_else() {
    let dir = std::env::temp_dir().join(format!("yibao-audit-fraud-{}", std::process::id()));
    let dir_text = dir.to_str().expect("path");
    yibao(&[
        "synth",
        "--persons",
        "3000",
        "--seed",
        "7",
        "--fraud",
        "--out",
        dir_text,
    ]);
    let out = dir.join("findings.jsonl");
    yibao(&[
        "audit",
        "run",
        "--visits",
        dir.join("visits.jsonl").to_str().expect("path"),
        "--persons",
        dir.join("persons.csv").to_str().expect("path"),
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--out",
        out.to_str().expect("path"),
    ]);
    let truth = json_lines(&dir.join("fraud.jsonl"));
    let found = json_lines(&out);
    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for planted in &truth {
        let entry = recall
            .entry(planted["pattern"].as_str().expect("pattern").into())
            .or_default();
        entry.1 += 1;
        entry.0 += usize::from(found.iter().any(|f| finds(f, planted)));
    }
    assert!(recall.len() >= 7, "{recall:?}");
    for (pattern, (hit, all)) in &recall {
        assert!(hit * 100 >= all * 95, "{pattern}: recall {hit}/{all}");
    }
    let models: Vec<&Value> = truth
        .iter()
        .filter(|t| {
            found
                .iter()
                .any(|f| f["kind"] == "model" && f["id"] == t["expect"])
        })
        .collect();
    for model in models.iter().map(|t| t["expect"].as_str().expect("id")) {
        let of_model: Vec<&Value> = found.iter().filter(|f| f["id"] == model).collect();
        let planted = of_model
            .iter()
            .filter(|f| truth.iter().any(|t| finds(f, t)))
            .count();
        assert!(
            planted * 100 >= of_model.len() * 90,
            "{model}: precision {planted}/{}",
            of_model.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
