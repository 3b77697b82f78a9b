//! Procurement (集采): the procurement prepayment (采购周转金) paid to an institution and recovered
//! from its later monthly payments, and the retained share of its procurement savings (结余留用)
//! paid at the year-end. The rules are the payment policy's `[procurement]` table.
//!
//! A prepayment made in month `p` is recovered over the policy's offset period: from month
//! `p + offset_start_after_months` on, for `offset_months` months (evenly, or by the listed
//! shares), each month's offset to date rounded so that the offsets add up to the prepayment
//! exactly. A month recovers at most what it transfers; the rest is carried to the next month and,
//! after December, recovered at the year-end ([`crate::YearEndStatement::procurement_recovered`]).
//!
//! Savings of an item = (reference price − bid price) × volume, prices in 1/10,000 yuan, summed
//! over the items of an institution × scheme × year and rounded once.

use serde::{Deserialize, Serialize};
use yibao_domain::{Fen, Ratio, Rounding};

use crate::budget::{check_amount, Budget, PaymentError, MAX_AMOUNT_FEN};
use crate::month::MONTHS;
use crate::policy::PaymentPolicy;

/// Decimals of a price in a savings row (drug unit prices go below the fen).
pub const PRICE_DECIMALS: u32 = 4;

/// Most units of one item in a savings row.
pub const MAX_VOLUME: u64 = 1_000_000_000_000;

/// What the prepayment is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrepaymentBasis {
    /// The institution's procurement amount (its previous year's, or the agreed annual volume).
    ProcurementVolume,
    /// The institution's annual index (总额预算指标) of the year.
    AnnualIndex,
}

impl PrepaymentBasis {
    /// The stored and configured name.
    pub fn name(self) -> &'static str {
        match self {
            PrepaymentBasis::ProcurementVolume => "procurement_volume",
            PrepaymentBasis::AnnualIndex => "annual_index",
        }
    }
}

/// How a prepayment is spread over its offset months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetSplit {
    /// Evenly over this many months (1–12).
    Even(u8),
    /// Each month of the offset period its share (basis points, adding up to 1).
    Shares(Vec<Ratio>),
}

impl OffsetSplit {
    /// Months in the offset period.
    pub fn months(&self) -> usize {
        match self {
            OffsetSplit::Even(months) => usize::from(*months),
            OffsetSplit::Shares(shares) => shares.len(),
        }
    }

    fn weights(&self) -> Vec<u64> {
        match self {
            OffsetSplit::Even(months) => vec![1; usize::from(*months)],
            OffsetSplit::Shares(shares) => shares.iter().map(|s| u64::from(s.bp())).collect(),
        }
    }
}

/// The `[procurement]` rules of a payment policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcurementRules {
    pub prepayment_basis: PrepaymentBasis,
    /// Share of the basis prepaid.
    pub prepayment_ratio: Ratio,
    /// Months between the prepayment's month and its first offset (0: the same month).
    pub offset_start_after_months: u8,
    pub offset_split: OffsetSplit,
    /// Share of the procurement savings the institution keeps (结余留用), paid at the year-end.
    pub savings_retained: Ratio,
}

/// A procurement prepayment with its offset schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepayment {
    /// The month (1–12) it is paid in.
    pub month: u8,
    pub amount: Fen,
    /// The offset due in each month of the year; they add up to `amount`.
    pub offsets: [Fen; MONTHS],
}

impl Prepayment {
    /// The offsets add up to the amount and none falls before the prepayment's month.
    pub fn is_consistent(&self) -> bool {
        let total: Fen = self.offsets.iter().copied().sum();
        total == self.amount
            && self.offsets[..usize::from(self.month.saturating_sub(1))]
                .iter()
                .all(|o| o.is_zero())
            && self.offsets.iter().all(|o| o.fen() >= 0)
    }
}

fn rules<'p>(
    policy: &'p PaymentPolicy,
    budget: &Budget,
) -> Result<&'p ProcurementRules, PaymentError> {
    policy.procurement.as_ref().ok_or_else(|| {
        budget.error(
            "procurement",
            "the payment policy has no [procurement] table",
        )
    })
}

/// The prepayment the policy gives for `basis_amount` (the procurement volume or the annual index,
/// as the policy's basis says).
pub fn prepayment_amount(
    policy: &PaymentPolicy,
    budget: &Budget,
    basis_amount: Fen,
) -> Result<Fen, PaymentError> {
    let rules = rules(policy, budget)?;
    check_amount(budget, rules.prepayment_basis.name(), basis_amount)?;
    Ok(policy.rounding.apply(basis_amount, rules.prepayment_ratio))
}

/// Plans a prepayment of `amount` paid in `month`: its offsets by the policy's offset period,
/// which must end by December.
pub fn plan_prepayment(
    policy: &PaymentPolicy,
    budget: &Budget,
    month: u8,
    amount: Fen,
) -> Result<Prepayment, PaymentError> {
    let rules = rules(policy, budget)?;
    if !(1..=MONTHS as u8).contains(&month) {
        return Err(budget.error("procurement.month", format!("{month} is not 1–12")));
    }
    check_amount(budget, "procurement.amount", amount)?;
    if amount.fen() <= 0 {
        return Err(budget.error("procurement.amount", "must be positive"));
    }
    let first = usize::from(month) + usize::from(rules.offset_start_after_months);
    let last = first + rules.offset_split.months() - 1;
    if last > MONTHS {
        return Err(budget.error(
            "procurement.month",
            format!(
                "a prepayment in month {month} would be offset until month {last}: the offset period must end by December"
            ),
        ));
    }
    let mut offsets = [Fen::ZERO; MONTHS];
    let spread = spread(amount, &rules.offset_split.weights(), policy.rounding);
    offsets[first - 1..last].copy_from_slice(&spread);
    Ok(Prepayment {
        month,
        amount,
        offsets,
    })
}

/// `amount` in proportion to `weights`: amounts to date rounded, the last the whole amount.
fn spread(amount: Fen, weights: &[u64], rounding: Rounding) -> Vec<Fen> {
    let total: u64 = weights.iter().sum();
    let mut weight_to_date = 0u64;
    let mut before = Fen::ZERO;
    weights
        .iter()
        .map(|weight| {
            weight_to_date += weight;
            let through = if weight_to_date == total {
                amount
            } else {
                rounding.div(
                    i128::from(amount.fen()) * i128::from(weight_to_date),
                    i128::from(total),
                )
            };
            let part = through - before;
            before = through;
            part
        })
        .collect()
}

/// One procured item of an institution: its reference price (the price before the procurement,
/// or the one the region sets), the bid price and the volume used in the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavingsItem {
    pub item_code: String,
    /// 1/10,000 yuan per unit.
    pub reference_price: i64,
    /// 1/10,000 yuan per unit; at most the reference price.
    pub bid_price: i64,
    pub volume: u64,
}

/// Σ (reference price − bid price) × volume over `items`, rounded once to the fen; `None` when the
/// total exceeds the largest amount.
pub fn savings(items: &[SavingsItem], rounding: Rounding) -> Option<Fen> {
    let hundredths_of_fen: i128 = items
        .iter()
        .map(|item| i128::from(item.reference_price - item.bid_price) * i128::from(item.volume))
        .sum();
    let total = rounding.div(hundredths_of_fen, 100);
    (total.fen() <= MAX_AMOUNT_FEN).then_some(total)
}

/// The part of `savings` the institution keeps: `savings × savings_retained_ratio`, rounded; zero
/// without a `[procurement]` table.
pub fn retained_savings(policy: &PaymentPolicy, savings: Fen) -> Fen {
    policy.procurement.as_ref().map_or(Fen::ZERO, |rules| {
        policy
            .rounding
            .apply(savings.clamp_non_negative(), rules.savings_retained)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_adds_up() {
        let parts = spread(Fen(1_000), &[1, 1, 1], Rounding::default());
        assert_eq!(parts, vec![Fen(333), Fen(334), Fen(333)]);
        let parts = spread(Fen(1_000), &[5_000, 3_000, 2_000], Rounding::default());
        assert_eq!(parts, vec![Fen(500), Fen(300), Fen(200)]);
    }

    #[test]
    fn savings_are_rounded_once() {
        let item = |reference: i64, bid: i64, volume: u64| SavingsItem {
            item_code: "X".into(),
            reference_price: reference,
            bid_price: bid,
            volume,
        };
        // (1.2345 − 0.2345) × 3 = 3.0000 yuan; (0.0001 − 0) × 50 = 0.005 yuan → 0.01 half up.
        let items = [item(12_345, 2_345, 3), item(1, 0, 50)];
        assert_eq!(savings(&items, Rounding::default()), Some(Fen(301)));
    }
}
