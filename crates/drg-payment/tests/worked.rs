//! Data-file tests: the worked example in `tests/data/` exercises every payment rule once
//! (complete, incomplete, bed-day, high/low multiple, readmission, special review, year-end point
//! value and clearing); expected values sit next to the inputs.

use std::path::{Path, PathBuf};

use serde_json::Value;
use yibao_drg_payment::{
    parse_case_json, score_cases, settle, Category, PayCase, Points, Policy, PolicyError,
    WeightTable,
};

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

fn worked_cases() -> (Vec<PayCase>, Vec<Value>) {
    let text = std::fs::read_to_string(data("worked-cases.jsonl")).expect("cases file");
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let expected = serde_json::from_str::<Value>(line).expect("JSON")["expected"].clone();
            (parse_case_json(line, i + 1).expect("case parses"), expected)
        })
        .unzip()
}

#[test]
fn every_case_gets_its_worked_points() {
    let policy = Policy::load(&data("worked-policy.toml")).expect("policy loads");
    let (cases, expected) = worked_cases();
    let scores = score_cases(&policy, &cases);
    for (score, want) in scores.iter().zip(&expected) {
        let category = serde_json::to_value(score.category).expect("category serialises");
        assert_eq!(category, want["category"], "{}: {}", score.id, want["note"]);
        assert_eq!(
            score.points.to_string(),
            want["points"].as_str().expect("points"),
            "{}: {}",
            score.id,
            want["note"]
        );
    }
    let readmitted = scores
        .iter()
        .find(|s| s.id == "readmit-a")
        .expect("readmit-a");
    assert_eq!(readmitted.readmitted_as.as_deref(), Some("readmit-b"));
    assert_eq!(readmitted.formula_points, Points::parse("40").unwrap());
    assert!(scores
        .iter()
        .filter(|s| s.id != "readmit-a")
        .all(|s| s.readmitted_as.is_none()));
}

#[test]
fn year_end_point_value_and_clearing() {
    let policy = Policy::load(&data("worked-policy.toml")).expect("policy loads");
    let (cases, _) = worked_cases();
    let scores = score_cases(&policy, &cases);
    let settlement = settle(&policy, &cases, &scores).expect("settles");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(data("worked-expected.json")).expect("expected file"),
    )
    .expect("JSON");
    let mut got = serde_json::to_value(&settlement).expect("serialises");
    got["note"] = expected["note"].clone();
    assert_eq!(got, expected);
}

#[test]
fn unweighted_drgs_are_listed() {
    let policy = Policy::load(&data("worked-policy.toml")).expect("policy loads");
    assert_eq!(
        policy.unweighted.get("AA19").map(String::as_str),
        Some("按项目据实支付")
    );
    assert_eq!(
        policy.base_points.get("GB19"),
        Some(&Points::parse("200").unwrap())
    );
}

#[test]
fn history_weighted_one_two_seven() {
    // Exact values: A = 174.98950…, B = 65.46370…, C = 110.50496… (C has no 2021 cases, so its
    // mean uses weights 2:7); regional mean = (7500 + 2 × 8666.67 + 7 × 7800) / 10.
    let table = WeightTable::from_history(
        &data("history.csv"),
        &[1, 2, 7],
        Points::parse("100").unwrap(),
    )
    .expect("history");
    let points: Vec<String> = ["A", "B", "C"]
        .iter()
        .map(|d| table.points[*d].to_string())
        .collect();
    assert_eq!(points, ["174.9895", "65.4637", "110.5050"]);
    let err = WeightTable::from_history(
        &data("history.csv"),
        &[1, 1, 2, 7],
        Points::parse("100").unwrap(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("history needs 4 years, found 3"),
        "{err}"
    );
}

#[test]
fn policy_errors_name_the_field() {
    let text = std::fs::read_to_string(data("worked-policy.toml")).expect("policy");
    let low_prepayment = text.replace("prepayment_ratio = \"0.90\"", "prepayment_ratio = \"0.80\"");
    let err = Policy::from_toml(&low_prepayment, &data("")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "policy field `settlement.prepayment_ratio`: 80% is below the minimum of 85%"
    );
    let bad_band = text.replace("threshold = \"0.4\"", "threshold = \"1.4\"");
    let err = Policy::from_toml(&bad_band, &data("")).unwrap_err();
    assert!(
        matches!(&err, PolicyError::Invalid { field, .. } if field == "multiples[2].threshold"),
        "{err}"
    );
    let unknown_level = text.replace("level = \"3\"\n", "level = \"9\"\n");
    let err = Policy::from_toml(&unknown_level, &data("")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "policy field `hospitals.H3.level`: no coefficient for level `9`"
    );
    let err = Policy::from_toml(&text.replace("RW\" }", "权重\" }"), &data("")).unwrap_err();
    assert!(err.to_string().contains("no column named 权重"), "{err}");
}

#[test]
fn special_review_category_is_set_aside() {
    assert!(!Category::SpecialReview.earns_points());
    assert!(Category::BedDay.earns_points());
}
