//! Behaviour as data: every `crates/settlement/tests/cases/*.toml` file is a scenario (policy,
//! catalogue, visits and cancellations in order, expected `setlinfo` amounts and fund payments),
//! settled through the same path as `yibao settle`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use yibao_catalog::Catalog;
use yibao_domain::Fen;
use yibao_policy::Policy;
use yibao_settlement::Engine;
use yibao_wire::{BatchSettler, Outcome, SettleOutput};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Deserialize)]
struct Case {
    description: String,
    policy: String,
    catalog: String,
    steps: Vec<toml::Table>,
}

/// Checks one step's outcome against its `expect` table; returns the mismatches.
fn check_step(outcome: &Outcome, expect: &toml::Table) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(error) = expect.get("error").and_then(toml::Value::as_str) {
        match outcome {
            Outcome::Error(e) if e.error.contains(error) => {}
            Outcome::Error(e) => {
                problems.push(format!("error `{}` does not contain `{error}`", e.error))
            }
            Outcome::Settled(_) => problems.push(format!(
                "expected an error containing `{error}`, but it settled"
            )),
        }
        return problems;
    }
    let settled = match outcome {
        Outcome::Settled(s) => s,
        Outcome::Error(e) => return vec![format!("expected a settlement, got error: {}", e.error)],
    };
    let setlinfo_text = serde_json::to_string(&settled.setlinfo).expect("setlinfo serializes");
    for (field, expected) in expect {
        if field == "funds" {
            problems.extend(check_funds(settled, expected));
            continue;
        }
        let Some(expected) = expected.as_str() else {
            problems.push(format!("{field}: expectation must be a yuan string"));
            continue;
        };
        match written_value(&setlinfo_text, field) {
            None => problems.push(format!("{field}: not in setlinfo")),
            Some(actual) if actual != expected => {
                problems.push(format!("{field}: expected {expected}, got {actual}"))
            }
            Some(_) => {}
        }
    }
    problems
}

/// The number a field was written as (`"hifp_pay":32040.00` → `32040.00`), exactly as emitted.
fn written_value<'a>(json: &'a str, field: &str) -> Option<&'a str> {
    let key = format!("\"{field}\":");
    let start = json.find(&key)? + key.len();
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Non-zero fund payments (accounts excluded) must be exactly the expected ones.
fn check_funds(settled: &SettleOutput, expected: &toml::Value) -> Vec<String> {
    let Some(expected) = expected.as_table() else {
        return vec!["funds: must be a table".into()];
    };
    let mut actual: BTreeMap<String, Fen> = BTreeMap::new();
    for row in &settled.setldetail {
        if row.fund_pay_type.as_str() == "310200" {
            continue;
        }
        *actual.entry(row.fund_pay_type.to_string()).or_default() += row.fund_payamt.0;
    }
    actual.retain(|_, amount| *amount != Fen::ZERO);
    let expected: BTreeMap<String, Fen> = expected
        .iter()
        .map(|(code, amount)| {
            (
                code.clone(),
                Fen::parse_yuan(amount.as_str().unwrap_or("bad"))
                    .expect("fund amount is yuan text"),
            )
        })
        .collect();
    if actual == expected {
        Vec::new()
    } else {
        vec![format!("funds: expected {expected:?}, got {actual:?}")]
    }
}

fn toml_to_json(value: toml::Value) -> Value {
    serde_json::to_value(value).expect("TOML converts to JSON")
}

fn run_case(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("case file reads");
    let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let root = repo_root();
    let policy = Policy::load(&root.join(&case.policy)).expect("policy loads");
    let catalog = Catalog::from_path(&root.join(&case.catalog)).expect("catalogue loads");
    let mut settler = BatchSettler::new(Engine::new(&policy, &catalog));
    let mut problems = Vec::new();
    for (index, mut step) in case.steps.into_iter().enumerate() {
        let expect = step
            .remove("expect")
            .and_then(|e| e.as_table().cloned())
            .unwrap_or_default();
        let outcome = settler.process_value_numbered(&toml_to_json(toml::Value::Table(step)));
        for problem in check_step(&outcome, &expect) {
            problems.push(format!(
                "{} — step {}: {problem}",
                case.description,
                index + 1
            ));
        }
    }
    problems
}

#[test]
fn every_case_file_settles_as_expected() {
    let dir = repo_root().join("crates/settlement/tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("cases folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected at least 40 case files, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        for problem in run_case(file) {
            failures.push(format!(
                "{}: {problem}",
                file.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems in {} case files:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
