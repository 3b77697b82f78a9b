//! Runs `tests/cases/waiting.toml` through `benefit_start`.

mod common;

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_enrolment::waiting::{EnrolmentError, Exemption};
use yibao_enrolment::{
    benefit_start, BenefitStart, ContributionHistory, Enrolment, Identity, WaitingPolicy,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    waiting: WaitingPolicy,
    case: Vec<Case>,
    error: Vec<ErrorCase>,
}

#[derive(Deserialize)]
struct Facts {
    coverage_year: i32,
    enrolled_on: NaiveDate,
    birth_date: NaiveDate,
    #[serde(default)]
    paid_years: Vec<i32>,
    #[serde(default)]
    repair_years: u32,
    #[serde(default)]
    left_worker_scheme_on: Option<NaiveDate>,
    #[serde(default)]
    identities: Vec<Identity>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(flatten)]
    facts: Facts,
    expect: Expect,
}

#[derive(Deserialize)]
struct ErrorCase {
    name: String,
    #[serde(flatten)]
    facts: Facts,
    message: String,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct Expect {
    benefit_start: NaiveDate,
    fixed: u32,
    variable: u32,
    break_years: u32,
    #[serde(default)]
    exemption: Option<String>,
}

impl Facts {
    fn run(&self, policy: &WaitingPolicy) -> Result<BenefitStart, EnrolmentError> {
        let enrolment = Enrolment {
            coverage_year: self.coverage_year,
            enrolled_on: self.enrolled_on,
            birth_date: self.birth_date,
            left_worker_scheme_on: self.left_worker_scheme_on,
            identities: self.identities.clone(),
        };
        let history = ContributionHistory {
            paid_years: self.paid_years.iter().copied().collect(),
            repair_years: self.repair_years,
        };
        benefit_start(&enrolment, &history, Some(policy))
    }
}

fn observed(start: &BenefitStart) -> Expect {
    Expect {
        benefit_start: start.date,
        fixed: start.fixed_wait_months,
        variable: start.variable_wait_months,
        break_years: start.break_years,
        exemption: start.exemption.map(|e| match e {
            Exemption::Newborn => "newborn".to_string(),
            Exemption::WorkerTransfer => "worker_transfer".to_string(),
            Exemption::Identity(_) => "identity".to_string(),
        }),
    }
}

fn load() -> CaseFile {
    toml::from_str(&common::case_file("waiting.toml"))
        .unwrap_or_else(|e| panic!("waiting.toml: {e}"))
}

#[test]
fn waiting_period_cases() {
    let file = load();
    let jiujiang = common::jiujiang_policy();
    let jiujiang_2025 = jiujiang
        .year(2025)
        .unwrap()
        .waiting
        .clone()
        .expect("九江 2025 has waiting rules");
    let mut failures = Vec::new();
    for case in &file.case {
        let policy = match case.policy.as_deref() {
            None => &file.waiting,
            Some("jiujiang-2025") => &jiujiang_2025,
            Some(other) => panic!("{}: unknown policy `{other}`", case.name),
        };
        match case.facts.run(policy) {
            Ok(start) if observed(&start) == case.expect => {}
            outcome => failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expect, outcome
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        file.case.len(),
        failures.join("\n")
    );
}

#[test]
fn waiting_period_errors() {
    let file = load();
    for case in &file.error {
        let message = case.facts.run(&file.waiting).unwrap_err().to_string();
        assert_eq!(message, case.message, "{}", case.name);
    }
}

#[test]
fn without_waiting_rules_benefits_start_at_enrolment() {
    let enrolment = Enrolment {
        coverage_year: 2024,
        enrolled_on: NaiveDate::from_ymd_opt(2024, 6, 3).unwrap(),
        birth_date: NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
        left_worker_scheme_on: None,
        identities: Vec::new(),
    };
    let history = ContributionHistory {
        paid_years: [2018].into_iter().collect(),
        repair_years: 0,
    };
    let start = benefit_start(&enrolment, &history, None).unwrap();
    assert_eq!(start.date, enrolment.enrolled_on);
    assert_eq!(start.fixed_wait_months + start.variable_wait_months, 0);
}
