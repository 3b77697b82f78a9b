//! One institution's budget for one scheme and year (总额预算指标) and its monthly quotas.

use serde::Serialize;
use yibao_domain::{Code, Fen, Ratio, Rounding};

use crate::month::MONTHS;
use crate::policy::MonthlySplit;

/// Largest amount accepted anywhere in a budget calculation: the national interface's 16,2 (below
/// 10^14 yuan), so that sums over a year and exact products stay far inside 64 and 128 bits.
pub const MAX_AMOUNT_FEN: i64 = 9_999_999_999_999_999;

/// Most admissions a year's activity may state.
pub const MAX_ADMISSIONS: u64 = 1_000_000_000;

/// An institution's own control limits; a limit left out falls back to the policy's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ControlLimits {
    pub avg_cost_per_admission: Option<Fen>,
    pub admissions: Option<u64>,
    pub self_pay_share: Option<Ratio>,
}

/// The annual index (总控指标) of one institution × scheme × year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub fixmedins_code: String,
    pub insutype: Code,
    pub year: i32,
    pub annual_index: Fen,
    pub limits: ControlLimits,
}

/// Why a budget calculation was refused: an input outside its bounds or missing, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{fixmedins_code} {insutype} {year}: `{field}` {problem}")]
pub struct PaymentError {
    pub fixmedins_code: String,
    pub insutype: Code,
    pub year: i32,
    pub field: String,
    pub problem: String,
}

impl Budget {
    /// An error about this budget's `field`.
    pub fn error(&self, field: impl Into<String>, problem: impl Into<String>) -> PaymentError {
        PaymentError {
            fixmedins_code: self.fixmedins_code.clone(),
            insutype: self.insutype,
            year: self.year,
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// Checks that the index is positive and within [`MAX_AMOUNT_FEN`].
    pub fn check(&self) -> Result<(), PaymentError> {
        check_amount(self, "annual_index", self.annual_index)?;
        if self.annual_index.fen() <= 0 {
            return Err(self.error("annual_index", "must be positive"));
        }
        Ok(())
    }
}

/// Checks `0 <= amount <= MAX_AMOUNT_FEN`.
pub(crate) fn check_amount(budget: &Budget, field: &str, amount: Fen) -> Result<(), PaymentError> {
    if amount.fen() < 0 {
        return Err(budget.error(field, format!("{amount} is negative")));
    }
    if amount.fen() > MAX_AMOUNT_FEN {
        return Err(budget.error(
            field,
            format!("{amount} exceeds the largest amount, 99999999999999.99"),
        ));
    }
    Ok(())
}

impl MonthlySplit {
    /// The twelve monthly quotas of `index`. Quotas to date are rounded (the last one is the index
    /// itself), each month's quota is the difference, so the quotas add up to the index exactly
    /// (even split of 100.00: 8.33, 8.34, 8.33, …).
    pub fn quotas(&self, index: Fen, rounding: Rounding) -> [Fen; MONTHS] {
        let weights = match self {
            MonthlySplit::Even => [1; MONTHS],
            MonthlySplit::Weights(weights) => *weights,
        };
        let total: u64 = weights.iter().sum();
        let mut quotas = [Fen::ZERO; MONTHS];
        let mut weight_to_date = 0u64;
        let mut quota_to_date = Fen::ZERO;
        for (quota, weight) in quotas.iter_mut().zip(weights) {
            weight_to_date += weight;
            let through = if weight_to_date == total {
                index
            } else {
                rounding.div(
                    i128::from(index.fen()) * i128::from(weight_to_date),
                    i128::from(total),
                )
            };
            *quota = through - quota_to_date;
            quota_to_date = through;
        }
        quotas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_quotas_add_up_to_the_index() {
        let quotas = MonthlySplit::Even.quotas(Fen(10_000), Rounding::default());
        assert_eq!(
            quotas.map(|q| q.fen()),
            [833, 834, 833, 833, 834, 833, 833, 834, 833, 833, 834, 833]
        );
        let quotas = MonthlySplit::Even.quotas(Fen::from_yuan(12_000_000), Rounding::default());
        assert!(quotas.iter().all(|q| *q == Fen::from_yuan(1_000_000)));
    }

    #[test]
    fn weighted_quotas() {
        let mut weights = [10_000u64; MONTHS];
        weights[11] = 20_000;
        let quotas = MonthlySplit::Weights(weights).quotas(Fen(1_300), Rounding::default());
        assert_eq!(quotas[0], Fen(100));
        assert_eq!(quotas[11], Fen(200));
        assert_eq!(quotas.iter().copied().sum::<Fen>(), Fen(1_300));
    }
}
