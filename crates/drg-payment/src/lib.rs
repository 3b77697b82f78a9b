//! DRG point-value payment (点数法) as policy data.
//!
//! A [`Policy`] (TOML, one region and year) gives base points per DRG (from a regional weight table
//! or three years of history weighted 1:2:7), hospital coefficients (差异系数), the incomplete-stay,
//! bed-day and high/low-multiple rules as piecewise bands with their formulas, the 特病单议 and
//! same-DRG readmission rules, the DRG budget, reserve and monthly prepayment ratio.
//! [`score_cases`] turns discharges into points; [`settle`] computes the year-end point value, each
//! hospital's entitlement and its clearing against the prepayments. Money is [`yibao_domain::Fen`];
//! points and factors are exact four-decimal integers. [`record_check`] is 病案校验 before grouping;
//! [`month_statements`] and [`year_end`] pay the settlement ledger's inpatient cases: a monthly
//! prepayment and a year-end entitlement of points × point value less what patients and other
//! funds paid.

mod case;
mod ledger_pay;
mod policy;
pub mod record_check;
mod scaled;
mod score;
mod settle;
mod weights;

pub use case::{parse_case_json, parse_cases_csv, CaseError, PayCase};
pub use ledger_pay::{
    entitlement, month_statements, year_end, CaseMoney, CaseOutcome, Decision, DrgMonthStatement,
    DrgYearEnd, DrgYearEndStatement, Entitlement, FailedCase, LedgerCase, PointValue, SetAsideCase,
    YearEndError,
};
pub use policy::{
    Band, Formula, Hospital, MultipleKind, Policy, PolicyError, Readmission, MIN_PREPAYMENT_RATIO,
};
pub use record_check::{MedicalRecord, RecordChecks, RecordChecksError, RecordProblem};
pub use scaled::{Factor, Points};
pub use score::{score_cases, CasePoints, Category};
pub use settle::{settle, HospitalSettlement, SettleError, Settlement};
pub use weights::{Conflict, WeightError, WeightTable, WEIGHT_COLUMNS};
