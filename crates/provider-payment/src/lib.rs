//! Paying institutions under a total budget (总额预算): the budget as policy data, the monthly
//! payment and the year-end clearing, as pure functions (no I/O, no clock, no randomness).
//!
//! * [`PaymentPolicy`] (TOML, `policies/payment/`): the monthly split, overspend bands, surplus
//!   retention, the quality reserve and its release by score, the Q4 deviation limit and the control
//!   indicators, validated with the path of any bad field.
//! * [`pay_month`] / [`pay_year`]: the month's claims less deductions, paid within the quota and
//!   deferred above it (超支挂帐), less the withheld reserve and prepayment offsets.
//! * [`clear_year`]: the year-end formula of `clearing-and-budgets.md` §4.4.
//! * [`procurement`]: the procurement prepayment (采购周转金) with its offsets in later months, and
//!   the retained share of procurement savings (结余留用) paid at the year-end.
//! * [`input`]: the CSV files of `yibao pay simulate`.
//!
//! Money is [`yibao_domain::Fen`]. The policy's ratios are basis points ([`yibao_domain::Ratio`]),
//! exact for every ratio a budget states; the monthly split, which is not (1/12), is an exact
//! fraction of integer weights. Every amount that is not a sum or difference is rounded once, by
//! the policy's [`yibao_domain::Rounding`].

mod budget;
pub mod input;
mod month;
mod policy;
pub mod procurement;
pub mod summary;
mod year_end;

pub use budget::{Budget, ControlLimits, PaymentError, MAX_ADMISSIONS, MAX_AMOUNT_FEN};
pub use month::{pay_month, pay_year, MonthInput, MonthStatement, MONTHS};
pub use policy::{
    BudgetRules, Control, Controls, MonthlySplit, OverspendBand, PaymentPolicy, PolicyError,
    Q4Rule, QuotaMode, ReleaseStep, ReleasedShare, Score, FULL_SCORE,
};
pub use summary::{summarize, ProviderSummary};
pub use year_end::{
    clear_year, Activity, ControlDeductions, Q4Check, YearEndInput, YearEndStatement,
};

use serde::Serialize;

/// One institution × scheme's year: its budget, the twelve monthly statements and the year-end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstitutionYear {
    pub budget: Budget,
    pub months: [MonthStatement; MONTHS],
    pub year_end: YearEndStatement,
}

/// Pays the twelve months of `budget` and clears its year.
pub fn run_year(
    policy: &PaymentPolicy,
    budget: &Budget,
    months: &[MonthInput; MONTHS],
    year_end: &YearEndInput,
) -> Result<InstitutionYear, PaymentError> {
    let statements = pay_year(policy, budget, months)?;
    let year_end = clear_year(policy, budget, &statements, year_end)?;
    Ok(InstitutionYear {
        budget: budget.clone(),
        months: statements,
        year_end,
    })
}
