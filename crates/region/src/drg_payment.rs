//! DRG payment from the ledger: each month's inpatient cases are checked (病案校验), grouped and
//! prepaid; the year is cleared with the year's point value. Cases come from the settlement
//! ledger (`yibao_ledger::drg::inpatient_cases`): their settlement list (4101) when uploaded,
//! else the diagnoses and procedures the visit holds from 2401/2402; sex and age from the registry.
//! Posting is idempotent: a month or year already run returns its stored statements and posts
//! nothing. The rules are `yibao-drg-payment`'s, the grouping `yibao-drg-grouper`'s.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde_json::Value;
use yibao_domain::Code;
use yibao_drg_grouper::{parse_json_case, Grouper, Patient, Scratch, Sex, Status};
use yibao_drg_payment::record_check::{CodeBook, CodeKind};
use yibao_drg_payment::{
    month_statements, year_end, CaseMoney, CaseOutcome, DrgMonthStatement, DrgYearEndStatement,
    LedgerCase, MedicalRecord, PayCase, Policy, RecordChecks, RecordProblem, YearEndError,
};
use yibao_ledger::drg::{self, DrgToPost, InpatientCase, NewReview};
use yibao_ledger::{LedgerError, Store};

use crate::payment::{pooled_fund, pooled_funds, PaymentRunError};

/// What a DRG run pays with.
pub struct DrgSetup<'a> {
    pub policy: &'a Policy,
    pub checks: &'a RecordChecks,
    pub grouper: &'a Grouper,
}

/// Why a DRG run stopped; nothing was posted.
#[derive(Debug, thiserror::Error)]
pub enum DrgRunError {
    #[error("month {0}: not a month 1–12")]
    BadMonth(u32),
    #[error("the DRG policy is for {policy}, not {year}")]
    PolicyYear { policy: i32, year: i32 },
    #[error("{year}-{month:02} has not ended on {as_of}; a month is paid once it is over")]
    MonthNotOver {
        year: i32,
        month: u32,
        as_of: NaiveDate,
    },
    #[error("{year} 年第 {missing:?} 月的 DRG 月度预付尚未办理，请先逐月办理（yibao drg month）")]
    MonthsMissing { year: i32, missing: Vec<u8> },
    #[error("{year} 年已年终清算，不能再办理月度预付")]
    YearCleared { year: i32 },
    #[error("{year} 年终清算：{source}")]
    YearEnd { year: i32, source: YearEndError },
    #[error(transparent)]
    Payment(#[from] PaymentRunError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// The grouper's tables as 病案校验 reads them.
struct GrouperCodes<'a>(&'a Grouper);

impl CodeBook for GrouperCodes<'_> {
    fn knows(&self, _kind: CodeKind, code: &str) -> bool {
        self.0.knows_code(code)
    }
}

fn check_year(policy: &Policy, year: i32) -> Result<(), DrgRunError> {
    if policy.year == year {
        Ok(())
    } else {
        Err(DrgRunError::PolicyYear {
            policy: policy.year,
            year,
        })
    }
}

/// Prepays month `month` of `year` to every institution with inpatient cases in it and lists
/// its set-aside cases for review; returns the month's statements (as stored when run before).
pub async fn pay_month(
    store: &Store,
    setup: &DrgSetup<'_>,
    (year, month): (i32, u32),
    as_of: NaiveDate,
    posted_at: &str,
) -> Result<Vec<DrgMonthStatement>, DrgRunError> {
    check_year(setup.policy, year)?;
    let month_no = u8::try_from(month)
        .ok()
        .filter(|m| (1..=12).contains(m))
        .ok_or(DrgRunError::BadMonth(month))?;
    let over = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
        .is_some_and(|next| as_of >= next);
    if !over {
        return Err(DrgRunError::MonthNotOver { year, month, as_of });
    }
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    if drg::was_run(&mut conn, year, month_no).await? {
        return Ok(drg::posted_months(&mut conn, year, Some(month_no)).await?);
    }
    if drg::was_run(&mut conn, year, 0).await? {
        return Err(DrgRunError::YearCleared { year });
    }
    let found = drg::inpatient_cases(&mut conn, &format!("{year:04}-{month:02}")).await?;
    let requested: BTreeSet<String> = drg::requested(&mut conn, year).await?.into_iter().collect();
    let funds = pooled_funds(&mut conn).await?;
    drop(conn);
    let cases = ledger_cases(setup, &found, &requested);
    let statements = month_statements(setup.policy, year, month_no, &cases);
    let to_post = statements
        .iter()
        .map(|statement| {
            Ok(DrgToPost {
                fund: fund_of(&funds, &statement.insutype)?,
                statement: statement.clone(),
            })
        })
        .collect::<Result<Vec<_>, DrgRunError>>()?;
    let reviews: Vec<NewReview> = statements
        .iter()
        .flat_map(|s| {
            s.set_aside.iter().map(|case| NewReview {
                setl_id: case.setl_id.clone(),
                fixmedins_code: s.fixmedins_code.clone(),
                insutype: s.insutype.clone(),
                year,
                drg: case.drg.clone(),
                reason: case.reason.clone(),
            })
        })
        .collect();
    drg::post_month(store, (year, month_no), &to_post, &reviews, posted_at).await?;
    let drgs: Vec<(String, String)> = reviews
        .iter()
        .filter(|r| requested.contains(&r.setl_id))
        .map(|r| (r.setl_id.clone(), r.drg.clone()))
        .collect();
    drg::set_review_drgs(store, &drgs).await?;
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    Ok(drg::posted_months(&mut conn, year, Some(month_no)).await?)
}

/// Clears `year` once its twelve months are run: every case of the year scored together, the
/// year's point value, each institution × scheme's entitlement and reviewed amounts less its
/// prepayments; returns the statements (as stored when run before).
pub async fn clear_year(
    store: &Store,
    setup: &DrgSetup<'_>,
    year: i32,
    posted_at: &str,
) -> Result<Vec<DrgYearEndStatement>, DrgRunError> {
    check_year(setup.policy, year)?;
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    if drg::was_run(&mut conn, year, 0).await? {
        return Ok(drg::posted_year_ends(&mut conn, year).await?);
    }
    let run = drg::run_months(&mut conn, year).await?;
    let missing: Vec<u8> = (1..=12).filter(|m| !run.contains(m)).collect();
    if !missing.is_empty() {
        return Err(DrgRunError::MonthsMissing { year, missing });
    }
    let found = drg::inpatient_cases(&mut conn, &format!("{year:04}")).await?;
    let requested: BTreeSet<String> = drg::requested(&mut conn, year).await?.into_iter().collect();
    let mut prepaid = BTreeMap::new();
    for month in drg::posted_months(&mut conn, year, None).await? {
        *prepaid
            .entry((month.fixmedins_code, month.insutype))
            .or_default() += month.prepayment;
    }
    let decisions = drg::decisions(&mut conn, year).await?;
    let funds = pooled_funds(&mut conn).await?;
    drop(conn);
    let cases = ledger_cases(setup, &found, &requested);
    let cleared = year_end(setup.policy, year, &cases, &prepaid, &decisions)
        .map_err(|source| DrgRunError::YearEnd { year, source })?;
    let to_post = cleared
        .statements
        .iter()
        .map(|statement| {
            Ok(DrgToPost {
                fund: fund_of(&funds, &statement.insutype)?,
                statement: statement.clone(),
            })
        })
        .collect::<Result<Vec<_>, DrgRunError>>()?;
    drg::post_year_end(store, year, &to_post, posted_at).await?;
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    Ok(drg::posted_year_ends(&mut conn, year).await?)
}

/// The pooled fund paying a scheme's institutions.
fn fund_of(funds: &BTreeMap<Code, Code>, insutype: &str) -> Result<Code, PaymentRunError> {
    match funds.keys().find(|code| code.as_str() == insutype) {
        Some(code) => pooled_fund(funds, *code),
        None => Err(PaymentRunError::NoPooledFund {
            insutype: insutype.to_string(),
        }),
    }
}

/// Checks and groups every case (one scratch for all).
fn ledger_cases(
    setup: &DrgSetup<'_>,
    found: &[InpatientCase],
    requested: &BTreeSet<String>,
) -> Vec<LedgerCase> {
    let mut scratch = Scratch::default();
    found
        .iter()
        .map(|case| LedgerCase {
            setl_id: case.setl_id.clone(),
            fixmedins_code: case.fixmedins_code.clone(),
            insutype: case.insutype.to_string(),
            money: CaseMoney::of(&case.amounts),
            outcome: outcome(setup, case, requested.contains(&case.setl_id), &mut scratch),
        })
        .collect()
}

/// A case's record as read from its settlement list, or from its visit.
struct Read {
    record: MedicalRecord,
    weight_g: Option<i64>,
}

fn outcome(
    setup: &DrgSetup<'_>,
    case: &InpatientCase,
    requested: bool,
    scratch: &mut Scratch,
) -> CaseOutcome {
    let read = match read_record(case) {
        Ok(read) => read,
        Err(problem) => return CaseOutcome::Failed(vec![problem]),
    };
    let problems = setup
        .checks
        .check(&read.record, &GrouperCodes(setup.grouper));
    if !problems.is_empty() {
        return CaseOutcome::Failed(problems);
    }
    let record = &read.record;
    let age_days = match (case.brdy, record.admitted) {
        (Some(born), Some(admitted)) if record.age_years == Some(0) => {
            Some((admitted - born).num_days())
        }
        _ => None,
    };
    let patient = Patient {
        sex: record.sex.as_deref().and_then(Sex::parse),
        age_years: record.age_years,
        age_days,
        weight_g: read.weight_g,
    };
    let grouped = setup
        .grouper
        .group(&patient, &record.diagnoses, &record.procedures, scratch);
    if !matches!(grouped.status, Status::Success | Status::Ambiguous) {
        return CaseOutcome::Failed(vec![RecordProblem {
            field: "drg".into(),
            problem: format!("分组器：{}", grouped.status),
        }]);
    }
    let discharged = record.discharged.unwrap_or(case.setl_time.date());
    CaseOutcome::Grouped(PayCase {
        id: case.setl_id.clone(),
        hospital: case.fixmedins_code.clone(),
        drg: grouped.drg.to_string(),
        los_days: record.los_days.unwrap_or(0),
        total_cost: case.amounts.medfee_sumamt,
        leaving_type: record.leaving_type.clone(),
        patient_id: Some(case.psn_no.clone()),
        admission_date: record.admitted,
        discharge_date: discharged,
        special_review: requested,
        claim: case.amounts.hifp_pay,
    })
}

/// The record of a case: codes, stay and leaving type from its settlement list when there is
/// one, else from the visit; sex and age from the registry.
fn read_record(case: &InpatientCase) -> Result<Read, RecordProblem> {
    let admitted = case.begntime.map(|t| t.date());
    let discharged = case.endtime.map(|t| t.date());
    let age_years = match (case.brdy, admitted) {
        (Some(born), Some(on)) => Some(whole_years(born, on)),
        _ => None,
    };
    let mut record = MedicalRecord {
        sex: case.gend.clone().filter(|g| !g.trim().is_empty()),
        age_years,
        admitted,
        discharged,
        los_days: stay_days(admitted, discharged),
        ..MedicalRecord::default()
    };
    match &case.settlement_list {
        Some(list) => {
            let grouped = parse_json_case(list, 1).map_err(|e| RecordProblem {
                field: "settlement_list".into(),
                problem: format!("结算清单无法读取：{e}"),
            })?;
            record.diagnoses = grouped.diagnoses;
            record.procedures = grouped.procedures;
            record.leaving_type = grouped.leaving_type;
            record.los_days = grouped.los_days.or(record.los_days);
            Ok(Read {
                record,
                weight_g: grouped.patient.weight_g,
            })
        }
        None => {
            let info: Value = serde_json::from_str(&case.visit_info).unwrap_or(Value::Null);
            record.diagnoses = visit_codes(&info, "diseinfo", "diag_code", &case.dise_codg);
            record.procedures = visit_codes(&info, "oprninfo", "oprn_oprt_code", "");
            record.leaving_type = info
                .get("dscginfo")
                .and_then(|d| d.get("dscg_way"))
                .map(text_of)
                .filter(|t| !t.is_empty());
            Ok(Read {
                record,
                weight_g: None,
            })
        }
    }
}

/// Codes of an array node of the visit, `main` (when given) first, each once.
fn visit_codes(info: &Value, node: &str, column: &str, main: &str) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    let main = main.trim();
    if !main.is_empty() {
        codes.push(main.to_string());
    }
    let rows = match info.get(node) {
        Some(Value::Array(rows)) => rows.as_slice(),
        Some(row @ Value::Object(_)) => std::slice::from_ref(row),
        _ => &[],
    };
    for row in rows {
        if let Some(code) = row.get(column).map(text_of).filter(|c| !c.is_empty()) {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    codes
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Days between admission and discharge (a same-day stay counts one day).
fn stay_days(admitted: Option<NaiveDate>, discharged: Option<NaiveDate>) -> Option<i64> {
    let (admitted, discharged) = (admitted?, discharged?);
    Some((discharged - admitted).num_days().max(1))
}

fn whole_years(born: NaiveDate, on: NaiveDate) -> i64 {
    let mut years = i64::from(on.year() - born.year());
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visit_codes_put_the_main_diagnosis_first_once() {
        let info =
            serde_json::json!({"diseinfo": [{"diag_code": "I10.x00"}, {"diag_code": "J18.900"}]});
        assert_eq!(
            visit_codes(&info, "diseinfo", "diag_code", "J18.900"),
            ["J18.900", "I10.x00"]
        );
        assert!(visit_codes(&info, "oprninfo", "oprn_oprt_code", "").is_empty());
    }

    fn stay(list: Option<&str>) -> InpatientCase {
        let time = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        InpatientCase {
            setl_id: "S1".into(),
            mdtrt_id: "M1".into(),
            fixmedins_code: "H1".into(),
            insutype: Code::lit("390"),
            psn_no: "P1".into(),
            setl_time: time("2025-03-09 10:00:00"),
            begntime: Some(time("2025-03-01 08:00:00")),
            endtime: Some(time("2025-03-09 09:00:00")),
            dise_codg: "J18.900".into(),
            visit_info: r#"{"diseinfo":[{"diag_code":"I10.x00"}],"dscginfo":{"dscg_way":"1"}}"#
                .into(),
            gend: Some("2".into()),
            brdy: NaiveDate::from_ymd_opt(1980, 3, 2),
            settlement_list: list.map(str::to_string),
            amounts: yibao_domain::SetlAmounts::default(),
        }
    }

    #[test]
    fn the_settlement_list_is_read_before_the_visit() {
        let from_visit = read_record(&stay(None)).unwrap().record;
        assert_eq!(from_visit.diagnoses, ["J18.900", "I10.x00"]);
        assert_eq!(from_visit.leaving_type.as_deref(), Some("1"));
        assert_eq!(from_visit.los_days, Some(8));
        assert_eq!(
            (from_visit.sex.as_deref(), from_visit.age_years),
            (Some("2"), Some(44))
        );
        let list = r#"{"setlinfo":{"setl_id":"S1","gend":"1","age":30,"act_ipt_days":7,"dscg_way":"5"},
            "diseinfo":[{"diag_type":"1","maindiag_flag":"0","diag_code":"E11.900"},
                        {"diag_type":"1","maindiag_flag":"1","diag_code":"I21.000"}],
            "oprninfo":[{"oprn_oprt_code":"36.0601","main_oprn_flag":"1"}]}"#;
        let from_list = read_record(&stay(Some(list))).unwrap().record;
        assert_eq!(from_list.diagnoses, ["I21.000", "E11.900"]);
        assert_eq!(from_list.procedures, ["36.0601"]);
        assert_eq!(from_list.leaving_type.as_deref(), Some("5"));
        assert_eq!(from_list.los_days, Some(7));
        assert_eq!(
            (from_list.sex.as_deref(), from_list.age_years),
            (Some("2"), Some(44)),
            "sex and age come from the registry"
        );
        let broken = read_record(&stay(Some("{"))).err().unwrap();
        assert_eq!(broken.field, "settlement_list");
    }

    #[test]
    fn ages_and_stays() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(whole_years(day("1980-03-02"), day("2025-03-01")), 44);
        assert_eq!(whole_years(day("1980-03-01"), day("2025-03-01")), 45);
        assert_eq!(
            stay_days(Some(day("2025-03-01")), Some(day("2025-03-01"))),
            Some(1)
        );
        assert_eq!(
            stay_days(Some(day("2025-03-01")), Some(day("2025-03-08"))),
            Some(7)
        );
    }
}
