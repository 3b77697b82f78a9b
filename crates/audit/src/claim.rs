//! What the audit reads: settled claims (a visit with its fee lines and fund amounts) and persons.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_domain::Fen;

/// One fee line of a settled claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLine {
    /// National item code (`med_list_codg`).
    pub code: String,
    /// Charge category (`med_chrgitm_type`, e.g. `03` 检查费, `09` 西药费); empty when unknown.
    pub chrgitm_type: String,
    /// Quantity ×10,000.
    pub cnt_e4: i64,
    /// Unit price in micro-yuan.
    pub pric_micro_yuan: i64,
    pub amount: Fen,
    /// The part inside the insurance scope (amount − 全自费), the money a violation puts at issue.
    pub inscope: Fen,
    /// Ordering practitioner (`bilg_dr_codg`), when sent.
    pub doctor: Option<String>,
    /// The catalogue's own restrictions of the item.
    pub limits: LineLimits,
}

/// What the catalogue restricts an item to (`lmt_gend`, `lmt_age_min`, `lmt_age_max`,
/// `lmt_hosp_lv`); empty when it does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineLimits {
    /// `1` male, `2` female; empty: either.
    pub gend: String,
    pub age_min_years: Option<u32>,
    pub age_max_years: Option<u32>,
    /// Minimum institution level 1–3.
    pub min_level: Option<u8>,
}

/// One settled visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub med_type: String,
    /// Institution level 1–3 as the policy maps `hosp_lv`.
    pub level: u8,
    pub insutype: String,
    /// The person's sex and birth date as the visit sent them (the person file, when given, wins).
    pub gend: String,
    pub brdy: Option<NaiveDate>,
    /// Diagnosis codes (`dise_codg`, `;`-separated on the wire).
    pub diagnoses: Vec<String>,
    pub begin: NaiveDateTime,
    pub end: NaiveDateTime,
    pub lines: Vec<ClaimLine>,
    /// 医疗费总额.
    pub total: Fen,
    /// 基金支付总额.
    pub fund_pay: Fen,
    /// 个人账户支付.
    pub acct_pay: Fen,
}

impl Claim {
    /// An inpatient stay (`med_type` 2x).
    pub fn is_inpatient(&self) -> bool {
        self.med_type.starts_with('2')
    }

    /// Length of stay in days (at least 1 for a stay; 0 for same-day care).
    pub fn los_days(&self) -> i64 {
        let days = (self.end.date() - self.begin.date()).num_days();
        if self.is_inpatient() {
            days.max(1)
        } else {
            days.max(0)
        }
    }
}

/// A person as the person file gives them; `tel`, `addr`, `emp_name` and `death_date` are optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonInfo {
    pub psn_no: String,
    /// `gend`: 1 male, 2 female.
    pub gend: String,
    pub brdy: Option<NaiveDate>,
    pub death_date: Option<NaiveDate>,
    pub tel: String,
    pub addr: String,
    pub emp_name: String,
}

/// Whole years of age on a date.
pub fn age_years(brdy: NaiveDate, on: NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut years = i64::from(on.year() - brdy.year());
    if (on.month(), on.day()) < (brdy.month(), brdy.day()) {
        years -= 1;
    }
    years
}
