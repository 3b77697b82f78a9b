//! Monthly cross-region clearing (异地就医清算, `clearing-and-budgets.md` §2): per insured region ×
//! treating region × scheme, the fund payments the insured region owes for a month's settlements,
//! the deductions taken from them (10 audit, 20 inspection, 30 prepayment offset, 40 reserve
//! withheld), the prepayment (预付金) sized by policy and topped up, and the state machine of a
//! clearing. Pure: the caller reads the settlements and the history and stores the result.
//!
//! Each settlement and cancellation enters the cycle of the month it was made, so it is counted in
//! exactly one cycle and a month's clearing never changes once the month is over; a cancellation of
//! a settlement of an earlier (possibly already cleared) month enters the next cycle, as a negative
//! amount ("carried"). Likewise a settlement confirmed (3261) only after its month was cleared
//! enters the cycle of the month the confirmation was made in, with the entries of its chain made
//! before it ("late", [`SettlementRow::late_cycle`]).
//!
//! A settlement between two pooling regions of the same platform (省内异地) is cleared only once the
//! treating institution has confirmed it (3260/3261/3262, `clearing-and-budgets.md` §3); an excluded
//! or unconfirmed one stays out, and a cancellation follows the settlement it cancels. A settlement
//! with another platform's region is settled once between the platforms and reconciled daily: it
//! needs no confirmation ([`Confirmation`]).
//!
//! Identity of every row: `cleared = fund_owed − (audit + inspection + prepayment_offset +
//! reserve_withheld)`, with `fund_owed` the sum of the month's fund payments, each exact to the fen.
//! The reserve withheld (40) is paid out later by a release of the pair's period
//! ([`plan_release`], `[inferred]`); a rejected clearing (70) is applied again as a new clearing of
//! the same month and pair — after the pair's later months were run, with the prepayment they
//! stand on ([`reapply_with_prepayment`], `[inferred]`).

mod month;
mod policy;
mod regions;
mod report;
mod reserve;
mod shares;
mod state;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use yibao_domain::{Code, Fen};

pub use month::{Month, MonthError};
pub use policy::{ClearingPolicy, PolicyError, PrepaymentRule};
pub use regions::PoolingRegions;
pub use report::{
    cross_region_lines, render_csv, render_table, Care, CrossRegionLine, Direction, SettlementSums,
};
pub use reserve::{plan_release, ReleaseError, ReleasePlan, ReserveHolder, ReservePeriod};
pub use shares::{fund_shares, share_problems, FundShares};
pub use state::{ClearingState, TransitionError};

/// The parties and scheme of one clearing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PairKey {
    /// The insured region (参保地, the settlement's `clr_optins`): it owes.
    pub insured_admdvs: Code,
    /// The treating region (就医地, the institution's region): it is owed.
    pub treating_admdvs: Code,
    /// The scheme (`insutype`).
    pub insutype: Code,
}

/// One fund's payment in a settlement (negated in a cancellation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundPayment {
    pub fund_pay_type: Code,
    pub amount: Fen,
}

/// Whether a settlement (or, for a cancellation, the settlement it cancels) enters clearing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// A settlement with another platform's region: cleared without confirmation.
    #[default]
    NotRequired,
    /// Confirmed by the treating institution (3261 `cnfm_flag` 1).
    Confirmed,
    /// Excluded or disputed by the treating institution (3261 `cnfm_flag` 0).
    Excluded,
    /// Not (or no longer, after a 3262) confirmed.
    Unconfirmed,
}

impl Confirmation {
    /// Whether the row is cleared.
    pub fn counts(self) -> bool {
        matches!(self, Confirmation::NotRequired | Confirmation::Confirmed)
    }
}

/// A cross-region settlement or cancellation as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRow {
    pub setl_id: String,
    pub key: PairKey,
    pub fixmedins_code: String,
    /// The month it was made (`setl_time`): its cycle.
    pub made_in: Month,
    /// For a cancellation, the month of the settlement it cancels.
    pub cancels: Option<Month>,
    /// Total cost (`medfee_sumamt`), negated in a cancellation.
    pub medfee_sumamt: Fen,
    /// Fund payments by fund, negated in a cancellation.
    pub fund_payments: Vec<FundPayment>,
    /// Whether it enters clearing (a cancellation: whether the settlement it cancels does).
    #[serde(default)]
    pub confirmation: Confirmation,
    /// For an entry whose settlement was confirmed after the settlement's month was cleared: the
    /// cycle the confirmation was made in, which the entry enters if it was made before it.
    #[serde(default)]
    pub late_cycle: Option<Month>,
}

impl SettlementRow {
    /// The clearing cycle the entry enters: the month it was made, or a later cycle its late
    /// confirmation carries it into.
    pub fn cycle(&self) -> Month {
        self.late_cycle
            .map_or(self.made_in, |late| late.max(self.made_in))
    }
}

/// Audit (10) and inspection (20) deductions taken from a month's clearing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDeductions {
    pub audit: Fen,
    pub inspection: Fen,
}

/// What a pair's prepayment looked like before the month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaymentHistory {
    /// The balance held after the last cleared month.
    pub balance: Fen,
    /// Fund payments owed over the policy's `basis_months` before the month.
    pub basis_fund_owed: Fen,
}

/// Everything a month's clearing is computed from.
#[derive(Debug, Clone, Default)]
pub struct MonthInputs {
    /// Settlements and cancellations; those not made in the month are not in its cycle.
    pub rows: Vec<SettlementRow>,
    pub deductions: BTreeMap<PairKey, ReviewDeductions>,
    pub prepayments: BTreeMap<PairKey, PrepaymentHistory>,
}

/// The deductions of one clearing, by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deductions {
    /// 10 审核扣款.
    pub audit: Fen,
    /// 20 稽核扣款.
    pub inspection: Fen,
    /// 30 预付金抵扣: the part of the month met from the prepayment.
    pub prepayment_offset: Fen,
    /// 40 预留金暂扣.
    pub reserve_withheld: Fen,
}

impl Deductions {
    /// The sum of the four types.
    pub fn total(&self) -> Fen {
        self.audit + self.inspection + self.prepayment_offset + self.reserve_withheld
    }
}

/// The prepayment of a pair through the month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepayment {
    /// `basis_fund_owed × months_covered ÷ basis_months`, rounded.
    pub size: Fen,
    pub balance_before: Fen,
    /// The month's offset (also deduction 30).
    pub offset: Fen,
    /// Paid in by the insured region to bring the balance back to its size.
    pub top_up: Fen,
    pub balance_after: Fen,
}

/// One month's clearing of an insured region × treating region × scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingRow {
    pub month: Month,
    pub key: PairKey,
    /// Settlements made in the month.
    pub settlements: u64,
    /// Cancellations made in the month of settlements of the same month.
    pub cancellations: u64,
    /// Cancellations made in the month of settlements of earlier months (carried into this cycle).
    pub carried_cancellations: u64,
    /// Fund payments of the carried cancellations (negative).
    pub carried_fund: Fen,
    /// Entries of earlier months carried into this cycle by a confirmation made after their month
    /// was cleared (a late 3261: the settlement and the entries of its chain made before it).
    #[serde(default)]
    pub late_entries: u64,
    /// Fund payments of the late entries.
    #[serde(default)]
    pub late_fund: Fen,
    /// Σ `medfee_sumamt`.
    pub total_cost: Fen,
    /// Σ fund payments: what the insured region owes before deductions.
    pub fund_owed: Fen,
    pub by_fund: BTreeMap<Code, Fen>,
    /// Fund payments by treating institution: what the treating region owes its hospitals.
    pub by_institution: BTreeMap<String, Fen>,
    pub deductions: Deductions,
    /// `fund_owed − deductions.total()`: transferred when the clearing is paid (negative: recovered).
    pub cleared: Fen,
    pub prepayment: Prepayment,
    /// The amounts per fund, for the fund's books ([`fund_shares`]); `None` in a row stored before
    /// yibao apportioned them (its books carry the gross payments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_shares: Option<BTreeMap<Code, FundShares>>,
}

/// Why a month could not be cleared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClearingError {
    #[error("{key}: 扣款 `{field}` 不能为负（{amount}）")]
    NegativeDeduction {
        key: String,
        field: &'static str,
        amount: Fen,
    },
    #[error("结算 {setl_id}: 撤销所在月份 {cancels} 晚于撤销发生月份 {made_in}")]
    CancelsLater {
        setl_id: String,
        cancels: Month,
        made_in: Month,
    },
}

/// Clears `month`: one row per pair with settlements made in the month that count
/// ([`Confirmation::counts`]) or deductions taken from it.
pub fn clear_month(
    policy: &ClearingPolicy,
    month: Month,
    inputs: &MonthInputs,
) -> Result<Vec<ClearingRow>, ClearingError> {
    let mut rows: BTreeMap<PairKey, ClearingRow> = BTreeMap::new();
    let counted = inputs
        .rows
        .iter()
        .filter(|row| row.cycle() == month && row.confirmation.counts());
    for row in counted {
        add_settlement(
            rows.entry(row.key).or_insert_with(|| empty(month, row.key)),
            row,
        )?;
    }
    for key in inputs.deductions.keys() {
        rows.entry(*key).or_insert_with(|| empty(month, *key));
    }
    for (key, row) in &mut rows {
        let review = inputs.deductions.get(key).copied().unwrap_or_default();
        check_review(key, &review)?;
        let history = inputs.prepayments.get(key).copied().unwrap_or_default();
        settle_deductions(policy, row, review, history);
        row.fund_shares = Some(fund_shares(row, policy.unattributed_fund));
    }
    Ok(rows.into_values().collect())
}

/// A pair's clearing of a month applied again after the pair's later months were run
/// (`[inferred]`: the domain says only that a rejected application is resubmitted as a new one,
/// `clearing-and-budgets.md` §2.2). `computed` is the pair's row as [`clear_month`] gives it now —
/// the month's settlements with the confirmations as corrected, the review deductions entered for
/// the month, the reserve (40) on what remains after them — and `carried` the prepayment the later
/// months stand on ([`carried_prepayment`]). The later months keep their rows; the row takes
/// `carried` as its prepayment, its offset (30) and top-up fixed, so the pair's prepayment balance
/// and the books stay those the later months hold; whatever the month now owes beyond or short of
/// that offset is in `cleared` (negative: the treating region returns it when the clearing is paid).
/// A month that no longer gives the pair settlements or deductions (`computed` none) is an empty
/// row of `month` and `key` carrying the prepayment alone.
pub fn reapply_with_prepayment(
    policy: &ClearingPolicy,
    (month, key): (Month, PairKey),
    computed: Option<&ClearingRow>,
    carried: Prepayment,
) -> ClearingRow {
    let mut row = computed.cloned().unwrap_or_else(|| empty(month, key));
    row.deductions.prepayment_offset = carried.offset;
    row.cleared = row.fund_owed - row.deductions.total();
    row.prepayment = carried;
    row.fund_shares = Some(fund_shares(&row, policy.unattributed_fund));
    row
}

/// The prepayment a rejected clearing's month is applied again with once a later month of the pair
/// stands (`[inferred]`, see [`reapply_with_prepayment`]): the rejected row's own — its offset and
/// top-up — when the pair's first later standing application was computed on the balance it left
/// (`later_balance_before` is its `balance_after`: the later months carry it), else none — the
/// later months were computed without it, so the month draws nothing from the prepayment and
/// leaves the balance they started from.
pub fn carried_prepayment(rejected: &Prepayment, later_balance_before: Fen) -> Prepayment {
    if later_balance_before == rejected.balance_after {
        *rejected
    } else {
        Prepayment {
            size: rejected.size,
            balance_before: later_balance_before,
            offset: Fen(0),
            top_up: Fen(0),
            balance_after: later_balance_before,
        }
    }
}

fn empty(month: Month, key: PairKey) -> ClearingRow {
    ClearingRow {
        month,
        key,
        settlements: 0,
        cancellations: 0,
        carried_cancellations: 0,
        carried_fund: Fen(0),
        late_entries: 0,
        late_fund: Fen(0),
        total_cost: Fen(0),
        fund_owed: Fen(0),
        by_fund: BTreeMap::new(),
        by_institution: BTreeMap::new(),
        deductions: Deductions::default(),
        cleared: Fen(0),
        prepayment: Prepayment::default(),
        fund_shares: None,
    }
}

fn add_settlement(clearing: &mut ClearingRow, row: &SettlementRow) -> Result<(), ClearingError> {
    let fund: Fen = row.fund_payments.iter().map(|p| p.amount).sum();
    match row.cancels {
        Some(cancels) if cancels > row.made_in => {
            return Err(ClearingError::CancelsLater {
                setl_id: row.setl_id.clone(),
                cancels,
                made_in: row.made_in,
            })
        }
        _ if row.cycle() > row.made_in => {
            clearing.late_entries += 1;
            clearing.late_fund += fund;
        }
        None => clearing.settlements += 1,
        Some(cancels) if cancels == row.made_in => clearing.cancellations += 1,
        Some(_) => {
            clearing.carried_cancellations += 1;
            clearing.carried_fund += fund;
        }
    }
    clearing.total_cost += row.medfee_sumamt;
    clearing.fund_owed += fund;
    for payment in &row.fund_payments {
        *clearing.by_fund.entry(payment.fund_pay_type).or_default() += payment.amount;
    }
    *clearing
        .by_institution
        .entry(row.fixmedins_code.clone())
        .or_default() += fund;
    Ok(())
}

fn check_review(key: &PairKey, review: &ReviewDeductions) -> Result<(), ClearingError> {
    for (field, amount) in [("audit", review.audit), ("inspection", review.inspection)] {
        if amount < Fen(0) {
            return Err(ClearingError::NegativeDeduction {
                key: key_text(key),
                field,
                amount,
            });
        }
    }
    Ok(())
}

/// `insured→treating/insutype`, as messages and ids show a pair.
pub fn key_text(key: &PairKey) -> String {
    format!(
        "{}→{}/{}",
        key.insured_admdvs, key.treating_admdvs, key.insutype
    )
}

/// Deductions in order: review (10, 20), the reserve (40) on what remains, then the prepayment
/// offset (30) of what is still owed; then the prepayment is topped up.
fn settle_deductions(
    policy: &ClearingPolicy,
    row: &mut ClearingRow,
    review: ReviewDeductions,
    history: PrepaymentHistory,
) {
    let after_review = row.fund_owed - review.audit - review.inspection;
    let reserve = policy.rounding.apply(
        after_review.clamp_non_negative(),
        policy.reserve_withheld_ratio,
    );
    let rule = policy.prepayment;
    let offset = if rule.offset_claims {
        (after_review - reserve)
            .clamp_non_negative()
            .min(history.balance.clamp_non_negative())
    } else {
        Fen(0)
    };
    row.deductions = Deductions {
        audit: review.audit,
        inspection: review.inspection,
        prepayment_offset: offset,
        reserve_withheld: reserve,
    };
    row.cleared = row.fund_owed - row.deductions.total();
    row.prepayment = top_up(policy, history, offset);
}

fn top_up(policy: &ClearingPolicy, history: PrepaymentHistory, offset: Fen) -> Prepayment {
    let rule = policy.prepayment;
    let size = policy.rounding.div(
        i128::from(history.basis_fund_owed.clamp_non_negative().0)
            * i128::from(rule.months_covered),
        i128::from(rule.basis_months),
    );
    let remaining = history.balance - offset;
    let trigger = policy.rounding.apply(size, rule.top_up_below_ratio);
    let top_up = if remaining < trigger || remaining < Fen(0) {
        (size - remaining).clamp_non_negative()
    } else {
        Fen(0)
    };
    Prepayment {
        size,
        balance_before: history.balance,
        offset,
        top_up,
        balance_after: remaining + top_up,
    }
}
