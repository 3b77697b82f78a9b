//! Year-end settlement: point value = (DRG budget − reserve) ÷ total points; each hospital is
//! entitled to its points × point value; minus its monthly prepayments, that is its year-end clearing.

use std::collections::BTreeMap;

use chrono::Datelike;
use serde::Serialize;
use yibao_domain::Fen;

use crate::case::PayCase;
use crate::policy::Policy;
use crate::scaled::{div_half_up, to_i64, Factor, Points};
use crate::score::CasePoints;

/// Why a settlement cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    #[error("no case earns points, so there is no point value")]
    NoPoints,
    #[error("{cases} cases but {scores} scores: score the same cases you settle")]
    Mismatch { cases: usize, scores: usize },
}

/// One hospital's year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HospitalSettlement {
    pub hospital: String,
    pub cases: usize,
    /// Cases set aside (特病单议, no base points): paid outside the point pool.
    pub set_aside: usize,
    pub points: Points,
    /// Points × point value.
    pub entitlement: Fen,
    /// Σ over discharge months of round(month's claims × prepayment ratio).
    pub prepaid: Fen,
    /// Entitlement − prepaid: positive is paid to the hospital, negative is recovered.
    pub clearing: Fen,
}

/// The region's year-end result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settlement {
    pub drg_budget: Fen,
    pub reserve: Fen,
    /// Budget − reserve: what the points share.
    pub distributable: Fen,
    pub total_points: Points,
    /// Yuan per point, four decimals (display; entitlements are computed from the exact fraction).
    pub point_value: Factor,
    pub hospitals: Vec<HospitalSettlement>,
    /// Distributable − Σ entitlements, left by rounding each hospital to the fen.
    pub rounding_residue: Fen,
}

/// Settles the year for `cases` and their `scores` (from [`crate::score_cases`], same order).
pub fn settle(
    policy: &Policy,
    cases: &[PayCase],
    scores: &[CasePoints],
) -> Result<Settlement, SettleError> {
    if cases.len() != scores.len() {
        return Err(SettleError::Mismatch {
            cases: cases.len(),
            scores: scores.len(),
        });
    }
    let total_points: i128 = scores.iter().map(|s| i128::from(s.points.0)).sum();
    if total_points <= 0 {
        return Err(SettleError::NoPoints);
    }
    let reserve = policy
        .rounding
        .apply(policy.drg_budget, policy.reserve_ratio);
    let distributable = policy.drg_budget - reserve;
    let mut hospitals: BTreeMap<&str, HospitalTally> = BTreeMap::new();
    for (case, score) in cases.iter().zip(scores) {
        hospitals
            .entry(case.hospital.as_str())
            .or_default()
            .add(case, score);
    }
    let rows: Vec<HospitalSettlement> = hospitals
        .into_iter()
        .map(|(hospital, tally)| {
            let entitlement = policy.rounding.div(
                i128::from(distributable.fen()).saturating_mul(tally.points),
                total_points,
            );
            let prepaid: Fen = tally
                .claims_by_month
                .values()
                .map(|claims| policy.rounding.apply(*claims, policy.prepayment_ratio))
                .sum();
            HospitalSettlement {
                hospital: hospital.to_string(),
                cases: tally.cases,
                set_aside: tally.set_aside,
                points: Points(to_i64(tally.points)),
                entitlement,
                prepaid,
                clearing: entitlement - prepaid,
            }
        })
        .collect();
    let entitled: Fen = rows.iter().map(|r| r.entitlement).sum();
    Ok(Settlement {
        drg_budget: policy.drg_budget,
        reserve,
        distributable,
        total_points: Points(to_i64(total_points)),
        point_value: Factor(to_i64(div_half_up(
            i128::from(distributable.fen()) * 1_000_000,
            total_points,
        ))),
        hospitals: rows,
        rounding_residue: distributable - entitled,
    })
}

#[derive(Debug, Default)]
struct HospitalTally {
    cases: usize,
    set_aside: usize,
    points: i128,
    claims_by_month: BTreeMap<(i32, u32), Fen>,
}

impl HospitalTally {
    fn add(&mut self, case: &PayCase, score: &CasePoints) {
        self.cases += 1;
        self.set_aside += usize::from(!score.category.earns_points());
        self.points += i128::from(score.points.0);
        let month = (case.discharge_date.year(), case.discharge_date.month());
        *self.claims_by_month.entry(month).or_default() += case.claim;
    }
}
