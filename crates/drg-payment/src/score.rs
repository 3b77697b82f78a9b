//! Case points: classify each discharge (special review, bed-day, incomplete, high/low multiple,
//! normal), apply the policy's formula, halve earlier stays of same-DRG readmissions, then apply the
//! hospital's coefficient.

use std::collections::BTreeMap;

use serde::Serialize;
use yibao_domain::Ratio;

use crate::case::PayCase;
use crate::policy::{Band, Formula, MultipleKind, Policy};
use crate::scaled::{div_half_up, to_i64, Factor, Points, SCALE};

/// How a case was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Normal,
    HighMultiple,
    LowMultiple,
    Incomplete,
    BedDay,
    /// 特病单议: set aside for case-by-case review, no points.
    SpecialReview,
    /// The DRG has no base points under the policy: set aside, no points.
    NoBasePoints,
}

impl Category {
    /// Whether the case earns points (set-aside cases do not).
    pub fn earns_points(self) -> bool {
        !matches!(self, Category::SpecialReview | Category::NoBasePoints)
    }
}

/// The points of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CasePoints {
    pub id: String,
    pub hospital: String,
    pub drg: String,
    pub category: Category,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_points: Option<Points>,
    /// Case cost ÷ the DRG's standard cost (base points × yuan per point), four decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_ratio: Option<Factor>,
    /// Points before the readmission rule and the coefficient.
    pub formula_points: Points,
    /// The id of the later stay when this stay's points were reduced as the earlier of a readmission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readmitted_as: Option<String>,
    pub coefficient: Factor,
    /// Final points: formula points (× readmission ratio) × coefficient.
    pub points: Points,
}

/// Case cost as an exact fraction of the DRG's standard cost: `numerator / denominator`.
#[derive(Debug, Clone, Copy)]
struct CostRatio {
    numerator: i128,
    denominator: i128,
}

impl CostRatio {
    /// cost_fen ÷ (base/10⁴ × yuan_per_point/10⁴ × 100 fen) = cost_fen × 10⁶ ÷ (base × yuan_per_point).
    fn new(cost_fen: i64, base: Points, yuan_per_point: Factor) -> CostRatio {
        CostRatio {
            numerator: i128::from(cost_fen).saturating_mul(1_000_000),
            denominator: i128::from(base.0) * i128::from(yuan_per_point.0),
        }
    }

    fn at_least(self, threshold: Factor) -> bool {
        self.numerator.saturating_mul(i128::from(SCALE))
            >= i128::from(threshold.0).saturating_mul(self.denominator)
    }

    fn at_most(self, threshold: Factor) -> bool {
        self.numerator.saturating_mul(i128::from(SCALE))
            <= i128::from(threshold.0).saturating_mul(self.denominator)
    }

    fn scaled(self) -> Factor {
        Factor(to_i64(div_half_up(
            self.numerator.saturating_mul(i128::from(SCALE)),
            self.denominator,
        )))
    }
}

/// Scores every case; set-aside cases get zero points.
pub fn score_cases(policy: &Policy, cases: &[PayCase]) -> Vec<CasePoints> {
    let mut scored: Vec<CasePoints> = cases.iter().map(|case| score_case(policy, case)).collect();
    if let Some(rule) = &policy.readmission {
        for (earlier, later) in readmissions(cases, &scored, rule.within_days, rule.same_hospital) {
            let reduced = i128::from(scored[earlier].formula_points.0)
                * i128::from(rule.earlier_stay_ratio.bp());
            scored[earlier].formula_points =
                Points(to_i64(div_half_up(reduced, i128::from(Ratio::ONE.bp()))));
            scored[earlier].readmitted_as = Some(cases[later].id.clone());
        }
    }
    for case in &mut scored {
        let adjusted = i128::from(case.formula_points.0) * i128::from(case.coefficient.0);
        case.points = Points(to_i64(div_half_up(adjusted, i128::from(SCALE))));
    }
    scored
}

fn score_case(policy: &Policy, case: &PayCase) -> CasePoints {
    let mut scored = CasePoints {
        id: case.id.clone(),
        hospital: case.hospital.clone(),
        drg: case.drg.clone(),
        category: Category::Normal,
        base_points: None,
        cost_ratio: None,
        formula_points: Points::ZERO,
        readmitted_as: None,
        coefficient: policy.coefficient(&case.hospital),
        points: Points::ZERO,
    };
    if (policy.honour_special_review_flag && case.special_review)
        || policy.special_review_drgs.contains(&case.drg)
    {
        scored.category = Category::SpecialReview;
        return scored;
    }
    if let Some(daily) = policy.bed_day_points.get(&case.drg) {
        let days = policy
            .bed_day_max_days
            .map_or(case.los_days, |max| case.los_days.min(max));
        scored.category = Category::BedDay;
        scored.formula_points = Points(to_i64(i128::from(daily.0) * i128::from(days)));
        return scored;
    }
    let Some(&base) = policy.base_points.get(&case.drg).filter(|b| b.0 > 0) else {
        scored.category = Category::NoBasePoints;
        return scored;
    };
    let ratio = CostRatio::new(case.total_cost.fen(), base, policy.yuan_per_point);
    let (category, formula, threshold) = classify(policy, case, base, ratio);
    scored.category = category;
    scored.base_points = Some(base);
    scored.cost_ratio = Some(ratio.scaled());
    scored.formula_points = apply(formula, base, ratio, threshold);
    scored
}

/// The category, formula and (for multiples) threshold that apply to a case with base points.
fn classify(
    policy: &Policy,
    case: &PayCase,
    base: Points,
    ratio: CostRatio,
) -> (Category, Formula, Factor) {
    let short_stay = policy
        .incomplete_max_los_days
        .is_some_and(|max| case.los_days <= max);
    let left_early = case
        .leaving_type
        .as_ref()
        .is_some_and(|t| policy.incomplete_leaving_types.contains(t));
    if short_stay || left_early {
        return (Category::Incomplete, policy.incomplete_formula, Factor::ONE);
    }
    if let Some(band) =
        band_for(&policy.bands, MultipleKind::High, base).filter(|b| ratio.at_least(b.threshold))
    {
        return (Category::HighMultiple, band.formula, band.threshold);
    }
    if let Some(band) =
        band_for(&policy.bands, MultipleKind::Low, base).filter(|b| ratio.at_most(b.threshold))
    {
        return (Category::LowMultiple, band.formula, band.threshold);
    }
    (Category::Normal, Formula::Base, Factor::ONE)
}

/// The first band of `kind` whose `max_base_points` covers `base`.
fn band_for(bands: &[Band], kind: MultipleKind, base: Points) -> Option<&Band> {
    bands
        .iter()
        .find(|b| b.kind == kind && b.max_base_points.is_none_or(|max| base <= max))
}

fn apply(formula: Formula, base: Points, ratio: CostRatio, threshold: Factor) -> Points {
    let b = i128::from(base.0);
    let value = match formula {
        Formula::Base => b,
        Formula::CostRatio => div_half_up(b.saturating_mul(ratio.numerator), ratio.denominator),
        Formula::CostRatioCapped => {
            div_half_up(b.saturating_mul(ratio.numerator), ratio.denominator).min(b)
        }
        Formula::BasePlusExcess { excess_rate } => {
            let excess = ratio.numerator.saturating_mul(i128::from(SCALE))
                - i128::from(threshold.0).saturating_mul(ratio.denominator);
            let scale = ratio.denominator.saturating_mul(i128::from(SCALE * SCALE));
            b.saturating_add(div_half_up(
                b.saturating_mul(i128::from(excess_rate.0))
                    .saturating_mul(excess),
                scale,
            ))
        }
    };
    Points(to_i64(value))
}

/// Pairs `(earlier, later)` of point-earning stays of one patient (and hospital, when required)
/// in the same DRG where the later admission is at most `within_days` after the earlier discharge.
fn readmissions(
    cases: &[PayCase],
    scored: &[CasePoints],
    within_days: i64,
    same_hospital: bool,
) -> Vec<(usize, usize)> {
    let mut stays: BTreeMap<(&str, &str, &str), Vec<usize>> = BTreeMap::new();
    for (index, case) in cases.iter().enumerate() {
        let Some(patient) = case.patient_id.as_deref() else {
            continue;
        };
        if scored[index].category.earns_points() {
            let hospital = if same_hospital {
                case.hospital.as_str()
            } else {
                ""
            };
            stays
                .entry((patient, hospital, case.drg.as_str()))
                .or_default()
                .push(index);
        }
    }
    let mut pairs = Vec::new();
    for indices in stays.values_mut() {
        indices.sort_by_key(|&i| (cases[i].discharge_date, cases[i].id.as_str()));
        for window in indices.windows(2) {
            let (earlier, later) = (&cases[window[0]], &cases[window[1]]);
            let gap_days = (later.admitted() - earlier.discharge_date).num_days();
            if (0..=within_days).contains(&gap_days) {
                pairs.push((window[0], window[1]));
            }
        }
    }
    pairs
}
