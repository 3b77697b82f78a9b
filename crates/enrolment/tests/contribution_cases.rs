//! Runs `tests/cases/contributions.toml` against `policies/jiujiang-collection.toml`.

mod common;

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_domain::codes::{Gend, Insutype, PsnType};
use yibao_domain::{Code, Fen};
use yibao_enrolment::contribution::{ResidentContribution, WorkerContribution};
use yibao_enrolment::person::{Employment, EmploymentKind};
use yibao_enrolment::{contribution, Identity, IdentityPeriod, InsuStatus, InsuredPeriod, Person};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
    error: Vec<ErrorCase>,
}

#[derive(Deserialize)]
struct Subject {
    year: i32,
    scheme: Insutype,
    psn_type: PsnType,
    #[serde(default)]
    joined: Option<NaiveDate>,
    #[serde(default)]
    left: Option<NaiveDate>,
    #[serde(default)]
    identities: Vec<IdentityRow>,
    #[serde(default)]
    employment: Option<EmploymentRow>,
    #[serde(default)]
    civil_servant: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityRow {
    code: Identity,
    begin: NaiveDate,
    #[serde(default)]
    end: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmploymentRow {
    kind: EmploymentKind,
    monthly_wage: Fen,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(flatten)]
    subject: Subject,
    #[serde(default)]
    resident: Option<ResidentExpect>,
    #[serde(default)]
    worker: Option<WorkerExpect>,
}

#[derive(Deserialize)]
struct ErrorCase {
    name: String,
    #[serde(flatten)]
    subject: Subject,
    message: String,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct ResidentExpect {
    identity_subsidy: Fen,
    individual_due: Fen,
    #[serde(default)]
    identity_rule: Option<String>,
    fiscal_total: Fen,
    central: Fen,
    province: Fen,
    city_county: Fen,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct WorkerExpect {
    months: u32,
    wage_base_monthly: Fen,
    employer_monthly: Fen,
    individual_monthly: Fen,
    employer_year: Fen,
    individual_year: Fen,
    account_monthly: Fen,
    account_year: Fen,
}

impl Subject {
    fn person(&self) -> Person {
        let begin = self
            .joined
            .unwrap_or(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
        Person {
            psn_no: "T0001".to_string(),
            certno: "360402198001010011".to_string(),
            psn_name: "测试".to_string(),
            gend: Gend::Male,
            brdy: NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            civil_servant: self.civil_servant,
            insured_periods: vec![InsuredPeriod {
                insutype: self.scheme,
                psn_type: self.psn_type,
                status: InsuStatus::Normal,
                begin,
                end: self.left,
                benefit_start: begin,
                insuplc_admdvs: Code::lit("360402"),
            }],
            identities: self
                .identities
                .iter()
                .map(|r| IdentityPeriod {
                    identity: r.code,
                    begin: r.begin,
                    end: r.end,
                })
                .collect(),
            employment: self.employment.as_ref().map(|e| Employment {
                emp_no: "E001".to_string(),
                kind: e.kind,
                monthly_wage: e.monthly_wage,
            }),
        }
    }
}

fn resident_observed(c: &ResidentContribution) -> ResidentExpect {
    assert_eq!(c.individual_due + c.identity_subsidy, c.standard_individual);
    ResidentExpect {
        identity_subsidy: c.identity_subsidy,
        individual_due: c.individual_due,
        identity_rule: c.identity_rule.clone(),
        fiscal_total: c.fiscal_subsidy.total,
        central: c.fiscal_subsidy.central,
        province: c.fiscal_subsidy.province,
        city_county: c.fiscal_subsidy.city_county,
    }
}

fn worker_observed(c: &WorkerContribution) -> WorkerExpect {
    WorkerExpect {
        months: c.months,
        wage_base_monthly: c.wage_base_monthly,
        employer_monthly: c.employer_monthly,
        individual_monthly: c.individual_monthly,
        employer_year: c.employer_year,
        individual_year: c.individual_year,
        account_monthly: c.account_credit.monthly,
        account_year: c.account_credit.year,
    }
}

fn load() -> CaseFile {
    toml::from_str(&common::case_file("contributions.toml"))
        .unwrap_or_else(|e| panic!("contributions.toml: {e}"))
}

#[test]
fn contribution_cases() {
    let file = load();
    let policy = common::jiujiang_policy();
    let mut failures = Vec::new();
    for case in &file.case {
        let result = contribution(&case.subject.person(), case.subject.year, &policy)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let resident = result.resident.as_ref().map(resident_observed);
        let worker = result.worker.as_ref().map(worker_observed);
        if resident != case.resident || worker != case.worker {
            failures.push(format!(
                "{}:\n  expected {:?} / {:?}\n  got      {:?} / {:?}",
                case.name, case.resident, case.worker, resident, worker
            ));
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
fn contribution_errors() {
    let file = load();
    let policy = common::jiujiang_policy();
    for case in &file.error {
        let error = contribution(&case.subject.person(), case.subject.year, &policy).unwrap_err();
        assert_eq!(error.to_string(), case.message, "{}", case.name);
    }
}

#[test]
fn resident_fund_income_is_individual_plus_subsidy() {
    let file = load();
    let policy = common::jiujiang_policy();
    let case = file
        .case
        .iter()
        .find(|c| {
            c.subject
                .identities
                .iter()
                .any(|i| i.code == Identity::MinimumLiving)
        })
        .unwrap();
    let resident = contribution(&case.subject.person(), 2025, &policy)
        .unwrap()
        .resident
        .unwrap();
    assert_eq!(resident.fund_income(), Fen::from_yuan(1070));
}
