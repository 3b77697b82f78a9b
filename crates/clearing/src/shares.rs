//! How a clearing row's amounts fall on the funds, for the fund's books: the fund payments owed are
//! already per fund (`by_fund`); the pair-level amounts — each deduction type, the prepayment top-up
//! — are apportioned over the funds in proportion to each fund's positive payments owed, exactly
//! (largest remainder: each share rounded down to the fen, then one fen each to the largest
//! remainders, ties to the lower fund code), so every amount's shares add up to it to the fen and
//! none is negative. A month with no positive fund payment puts them on the policy's
//! `unattributed_fund`. What each fund transfers (`cleared`) is its owed less its deductions, taken
//! by subtraction, so the funds' transfers add up to the row's `cleared`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use yibao_domain::{Code, Fen};

use crate::{ClearingRow, Deductions};

/// Where one pair-level amount goes in a fund's shares.
type ShareField = fn(&mut FundShares) -> &mut Fen;

/// One fund's part of a clearing row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundShares {
    /// The fund's payments owed (`by_fund`; 0 for the unattributed fund when it paid nothing).
    pub owed: Fen,
    pub deductions: Deductions,
    /// The fund's part of the prepayment top-up.
    pub top_up: Fen,
    /// `owed − deductions.total()`: what the fund transfers when the clearing is paid.
    pub cleared: Fen,
}

/// The row's amounts per fund (see the module); `unattributed` takes the pair-level amounts of a
/// month in which no fund paid anything.
pub fn fund_shares(row: &ClearingRow, unattributed: Code) -> BTreeMap<Code, FundShares> {
    let mut weights: Vec<(Code, i64)> = row
        .by_fund
        .iter()
        .filter(|(_, amount)| **amount > Fen(0))
        .map(|(fund, amount)| (*fund, amount.0))
        .collect();
    if weights.is_empty() {
        weights.push((unattributed, 1));
    }
    let mut out: BTreeMap<Code, FundShares> = row
        .by_fund
        .iter()
        .map(|(fund, owed)| {
            (
                *fund,
                FundShares {
                    owed: *owed,
                    ..FundShares::default()
                },
            )
        })
        .collect();
    let d = row.deductions;
    let parts: [(Fen, ShareField); 5] = [
        (d.audit, |s| &mut s.deductions.audit),
        (d.inspection, |s| &mut s.deductions.inspection),
        (d.prepayment_offset, |s| &mut s.deductions.prepayment_offset),
        (d.reserve_withheld, |s| &mut s.deductions.reserve_withheld),
        (row.prepayment.top_up, |s| &mut s.top_up),
    ];
    for (amount, field) in parts {
        if amount.is_zero() {
            continue;
        }
        for (fund, share) in apportion(amount, &weights) {
            *field(out.entry(fund).or_default()) += share;
        }
    }
    for shares in out.values_mut() {
        shares.cleared = shares.owed - shares.deductions.total();
    }
    out
}

/// `amount` (≥ 0) split over positive `weights` exactly by largest remainder.
fn apportion(amount: Fen, weights: &[(Code, i64)]) -> Vec<(Code, Fen)> {
    let total: i128 = weights.iter().map(|(_, w)| i128::from(*w)).sum();
    let mut shares: Vec<(Code, i128, i128)> = weights
        .iter()
        .map(|(fund, weight)| {
            let exact = i128::from(amount.0) * i128::from(*weight);
            (*fund, exact / total, exact % total)
        })
        .collect();
    let given: i128 = shares.iter().map(|(_, share, _)| share).sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| {
        shares[*b]
            .2
            .cmp(&shares[*a].2)
            .then(shares[*a].0.cmp(&shares[*b].0))
    });
    for index in order
        .into_iter()
        .take((i128::from(amount.0) - given) as usize)
    {
        shares[index].1 += 1;
    }
    shares
        .into_iter()
        .map(|(fund, share, _)| (fund, Fen(share as i64)))
        .collect()
}

/// Problems of a row's stored shares: each amount's shares must add up to the row's, each fund's
/// `owed` be its `by_fund`, and its `cleared` its owed less its deductions.
pub fn share_problems(row: &ClearingRow, shares: &BTreeMap<Code, FundShares>) -> Vec<String> {
    let mut problems = Vec::new();
    let sum = |f: fn(&FundShares) -> Fen| shares.values().map(f).sum::<Fen>();
    let d = row.deductions;
    let totals = [
        ("owed", sum(|s| s.owed), row.fund_owed),
        ("audit", sum(|s| s.deductions.audit), d.audit),
        ("inspection", sum(|s| s.deductions.inspection), d.inspection),
        (
            "prepayment_offset",
            sum(|s| s.deductions.prepayment_offset),
            d.prepayment_offset,
        ),
        (
            "reserve_withheld",
            sum(|s| s.deductions.reserve_withheld),
            d.reserve_withheld,
        ),
        ("top_up", sum(|s| s.top_up), row.prepayment.top_up),
        ("cleared", sum(|s| s.cleared), row.cleared),
    ];
    for (field, funds, whole) in totals {
        if funds != whole {
            problems.push(format!("Σ funds' {field} {funds} ≠ the row's {whole}"));
        }
    }
    for (fund, s) in shares {
        let by_fund = row.by_fund.get(fund).copied().unwrap_or_default();
        if s.owed != by_fund || s.cleared != s.owed - s.deductions.total() {
            problems.push(format!(
                "fund {fund}: owed {} / cleared {} do not follow by_fund {by_fund} and its deductions",
                s.owed, s.cleared
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportions_exactly_by_largest_remainder() {
        let a = Code::lit("310100");
        let b = Code::lit("310200");
        let c = Code::lit("330100");
        let split = apportion(Fen(100), &[(a, 1), (b, 1), (c, 1)]);
        assert_eq!(split, vec![(a, Fen(34)), (b, Fen(33)), (c, Fen(33))]);
        let split = apportion(Fen(2), &[(a, 1), (b, 1), (c, 1)]);
        assert_eq!(split, vec![(a, Fen(1)), (b, Fen(1)), (c, Fen(0))]);
        let split = apportion(Fen(1_000), &[(a, 7), (b, 3)]);
        assert_eq!(split, vec![(a, Fen(700)), (b, Fen(300))]);
        let split = apportion(Fen(10), &[(a, 1), (b, 2)]);
        assert_eq!(split, vec![(a, Fen(3)), (b, Fen(7))]);
    }
}
