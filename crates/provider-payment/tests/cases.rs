//! Data-file tests of the monthly payment and the year-end formula: every `tests/cases/*.toml` names
//! a policy under `tests/policies/`, gives an index and twelve months, and the amounts expected, worked
//! out by hand in the file's comments. Expected keys are fields of the year-end statement (dotted for
//! nested ones: `q4.deduction`) or monthly series (`monthly_paid`, `monthly_deferred`, `quotas`,
//! `transfers`, `prepayment_offsets`, `prepayment_outstanding`).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};
use yibao_domain::{Code, Fen, Ratio};
use yibao_provider_payment::{
    run_year, Activity, Budget, ControlLimits, InstitutionYear, MonthInput, MonthStatement,
    PaymentPolicy, Score, YearEndInput, MONTHS,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    policy: String,
    annual_index: Fen,
    claims: [Fen; MONTHS],
    #[serde(default)]
    deductions: [Fen; MONTHS],
    #[serde(default)]
    prepayment_offsets: [Fen; MONTHS],
    #[serde(default)]
    limits: Limits,
    activity: Option<CaseActivity>,
    score: Option<toml::Value>,
    expected: toml::Table,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    avg_cost_per_admission: Option<Fen>,
    admissions: Option<u64>,
    self_pay_share: Option<Ratio>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseActivity {
    admissions: u64,
    total_cost: Fen,
    self_pay: Fen,
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn run(case: &Case) -> InstitutionYear {
    let policy = PaymentPolicy::load(&tests_dir().join("policies").join(&case.policy))
        .unwrap_or_else(|e| panic!("{e}"));
    let budget = Budget {
        fixmedins_code: "H36040000001".into(),
        insutype: Code::lit("390"),
        year: 2025,
        annual_index: case.annual_index,
        limits: ControlLimits {
            avg_cost_per_admission: case.limits.avg_cost_per_admission,
            admissions: case.limits.admissions,
            self_pay_share: case.limits.self_pay_share,
        },
    };
    let months: Vec<MonthInput> = (0..MONTHS)
        .map(|m| MonthInput {
            claims: case.claims[m],
            deductions: case.deductions[m],
            prepayment_offset: case.prepayment_offsets[m],
            procurement_offset: Fen::ZERO,
        })
        .collect();
    let score = case.score.as_ref().map(|value| {
        let text = match value {
            toml::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        Score::parse(&text).expect("score")
    });
    let year_end = YearEndInput {
        activity: case.activity.as_ref().map(|a| Activity {
            admissions: a.admissions,
            total_cost: a.total_cost,
            self_pay: a.self_pay,
        }),
        score,
        procurement_savings: Fen::ZERO,
    };
    run_year(
        &policy,
        &budget,
        &months.try_into().expect("twelve months"),
        &year_end,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The year-end statement with the monthly series beside it, as JSON.
fn actual(year: &InstitutionYear) -> Value {
    let series = |amount: fn(&MonthStatement) -> Fen| -> Value {
        year.months
            .iter()
            .map(|m| Value::String(amount(m).to_string()))
            .collect()
    };
    let mut value = serde_json::to_value(year.year_end).expect("statement serialises");
    value["monthly_paid"] = series(|m| m.paid);
    value["monthly_deferred"] = series(|m| m.deferred);
    value["quotas"] = series(|m| m.quota);
    value["transfers"] = series(|m| m.transfer);
    value["prepayment_offsets"] = series(|m| m.prepayment_offset);
    value["prepayment_outstanding"] = series(|m| m.prepayment_outstanding);
    value
}

/// Amounts written as yuan numbers or strings become canonical yuan text; `"none"` is null.
fn canonical(value: Value) -> Value {
    match value {
        Value::String(text) if text == "none" => Value::Null,
        Value::String(text) => match Fen::parse_yuan(&text) {
            Ok(amount) => json!(amount.to_string()),
            Err(_) => Value::String(text),
        },
        Value::Number(n) => {
            let amount = Fen::parse_yuan(&n.to_string()).expect("an amount in yuan");
            json!(amount.to_string())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

#[test]
fn every_case_comes_out_exactly() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tests_dir().join("cases"))
        .expect("cases dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 22, "only {} case files", files.len());
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        let text = std::fs::read_to_string(file).expect("case file");
        let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!case.expected.is_empty(), "{name}: nothing expected");
        let got = actual(&run(&case));
        for (key, want) in &case.expected {
            let pointer = format!("/{}", key.replace('.', "/"));
            let got = got
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("{name}: no field `{key}`"));
            let want = serde_json::to_value(want).expect("TOML to JSON");
            assert_eq!(canonical(got.clone()), canonical(want), "{name}: `{key}`");
        }
    }
}
