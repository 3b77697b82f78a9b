//! What the engine is given: the person, the visit and its fee lines. Built by the edges (wire
//! parsing, the service's registry); the engine never reads files, clocks or databases.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use yibao_domain::codes::Gend;
use yibao_domain::{Code, Fen};

/// Quantities (`cnt`) are held in 1/10,000 units, the wire's precision (`16,4`).
pub const QUANTITY_SCALE_DIGITS: u32 = 4;

/// The insured person as of the visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub insutype: Code,
    pub psn_type: Code,
    pub gend: Gend,
    pub birth_date: NaiveDate,
    pub identities: Vec<IdentityPeriod>,
    /// 公务员 (`cvlserv_flag` = 1).
    pub civil_servant: bool,
    /// Whether the person has benefits on the visit date (decided by enrolment, outside the engine).
    pub coverage: Coverage,
}

/// Whether a person is in an insured, benefit-bearing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coverage {
    #[default]
    Covered,
    /// No fund pays; the reason is stated in the trace.
    NotCovered(NoBenefitReason),
}

/// Why a person has no benefits on the visit date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBenefitReason {
    NeverEnrolled,
    NotYetInsured {
        begins: NaiveDate,
    },
    Lapsed {
        ended: NaiveDate,
    },
    /// `psn_insu_stas` 0 未参保.
    NotInsuredStatus {
        since: NaiveDate,
    },
    /// `psn_insu_stas` 2 暂停.
    Suspended {
        since: NaiveDate,
    },
    /// `psn_insu_stas` 3 无效.
    Invalid {
        since: NaiveDate,
    },
    /// `psn_insu_stas` 4 终止.
    Terminated {
        since: NaiveDate,
    },
    /// In the waiting period (待遇等待期); benefits start on `benefits_from`.
    WaitingPeriod {
        benefits_from: NaiveDate,
    },
}

impl std::fmt::Display for NoBenefitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoBenefitReason::NeverEnrolled => write!(f, "未参加该险种"),
            NoBenefitReason::NotYetInsured { begins } => {
                write!(f, "参保期尚未开始 (自 {begins} 起)")
            }
            NoBenefitReason::Lapsed { ended } => write!(f, "参保期已于 {ended} 结束"),
            NoBenefitReason::NotInsuredStatus { since } => write!(f, "自 {since} 起未参保"),
            NoBenefitReason::Suspended { since } => write!(f, "自 {since} 起暂停参保"),
            NoBenefitReason::Invalid { since } => write!(f, "自 {since} 起参保无效"),
            NoBenefitReason::Terminated { since } => write!(f, "自 {since} 起终止参保"),
            NoBenefitReason::WaitingPeriod { benefits_from } => {
                write!(f, "处于待遇等待期, {benefits_from} 起享受待遇")
            }
        }
    }
}

/// An identity (特困, 低保 …) with the period it is valid; open ends are unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityPeriod {
    pub code: Code,
    pub begin: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl IdentityPeriod {
    /// An identity valid at all times.
    pub fn always(code: Code) -> IdentityPeriod {
        IdentityPeriod {
            code,
            begin: None,
            end: None,
        }
    }

    pub fn active_on(&self, date: NaiveDate) -> bool {
        self.begin.is_none_or(|b| b <= date) && self.end.is_none_or(|e| date <= e)
    }
}

impl Person {
    /// Whether the person holds `code` on `date`.
    pub fn has_identity(&self, code: Code, date: NaiveDate) -> bool {
        self.identities
            .iter()
            .any(|p| p.code == code && p.active_on(date))
    }

    /// Age in whole years on `date`.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let mut years = date.year() - self.birth_date.year();
        if (date.month(), date.day()) < (self.birth_date.month(), self.birth_date.day()) {
            years -= 1;
        }
        years.max(0) as u32
    }
}

/// One visit (outpatient visit, admission or pharmacy purchase) to settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub med_type: Code,
    pub begin: NaiveDateTime,
    pub end: NaiveDateTime,
    pub hosp_lv: Code,
    pub medins_admdvs: Code,
    /// The hospital's `refl_flag` (referred): read for care outside the region when `filing` is
    /// `None`, or when the register has no filing and the policy honours the flag.
    pub referred: bool,
    /// What the insured platform's filing register says about care outside the region (resolved
    /// by the service, [`yibao_policy::filing_status`]); `None` when no register was consulted.
    pub filing: Option<yibao_policy::FilingStatus>,
    pub dise_codg: String,
    pub lines: Vec<FeeLine>,
    /// Whether the personal account may pay (`acct_used_flag` ≠ 0).
    pub use_account: bool,
    /// Interim settlement of an ongoing admission (`mid_setl_flag` = 1).
    pub interim: bool,
    /// Deductible already charged to earlier (interim) settlements of this admission.
    pub episode_deductible_paid: Fen,
}

impl Visit {
    /// The date the settlement belongs to (its accumulator year is this date's year).
    pub fn settlement_date(&self) -> NaiveDate {
        self.end.date()
    }
}

/// One fee line as the hospital sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLine {
    pub med_list_codg: String,
    /// Quantity × 10,000 (negative on refund lines).
    pub cnt_e4: i64,
    /// Unit price in micro-yuan.
    pub pric_micro_yuan: i64,
    /// `det_item_fee_sumamt`: authoritative line amount.
    pub amount: Fen,
    pub hosp_appr_flag: Code,
}
