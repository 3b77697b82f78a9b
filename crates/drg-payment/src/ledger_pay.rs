//! DRG payment of the settlement ledger's inpatient cases: the monthly prepayment and the
//! year-end clearing per institution × scheme.
//!
//! A case is a stay whose final settlement is live, with what it cost and who paid from its
//! settlements' amounts ([`CaseMoney`]). A case failing 病案校验 is not grouped: it earns nothing
//! and is listed with its problems. The month prepays the policy's prepayment ratio of the fund
//! share (`hifp_pay`) of the month's checked cases. At the year-end the point value is
//! (DRG budget − reserve + what patients and other funds paid for point-earning cases) ÷ the
//! year's points, so an institution's entitlement — its points × point value **less what patients
//! and other funds paid** — is the fund's share, and the entitlements add up to the distributable
//! budget (less rounding, and less any institution whose others' payments exceed its points' worth,
//! which is owed nothing). Set-aside cases (特病单议, DRGs without base points) are paid as the
//! review decided; the clearing is entitlement + reviewed − prepaid.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use yibao_domain::{Fen, Ratio, Rounding, SetlAmounts};

use crate::case::PayCase;
use crate::policy::Policy;
use crate::record_check::RecordProblem;
use crate::scaled::{div_half_up, to_i64, Factor, Points};
use crate::score::{score_cases, Category};

/// What a stay cost and who paid for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMoney {
    /// `medfee_sumamt`.
    pub total_cost: Fen,
    /// The pooled fund's share (`hifp_pay`): what DRG payment owes.
    pub fund_share: Fen,
    /// What the patient (`psn_part_amt`) and the other funds (`fund_pay_sumamt − hifp_pay`) paid.
    pub others_paid: Fen,
}

impl CaseMoney {
    /// The money of a stay from the sum of its live settlements' amounts.
    pub fn of(amounts: &SetlAmounts) -> CaseMoney {
        CaseMoney {
            total_cost: amounts.medfee_sumamt,
            fund_share: amounts.hifp_pay,
            others_paid: amounts.psn_part_amt + (amounts.fund_pay_sumamt - amounts.hifp_pay),
        }
    }
}

/// What became of a case's medical record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// 病案校验 (or the grouper's own input check) failed: not grouped.
    Failed(Vec<RecordProblem>),
    /// Grouped into a DRG, ready to score.
    Grouped(PayCase),
}

/// One case of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCase {
    /// The final settlement's id.
    pub setl_id: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub money: CaseMoney,
    pub outcome: CaseOutcome,
}

/// A case that failed its checks, with the problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedCase {
    pub setl_id: String,
    pub problems: Vec<RecordProblem>,
}

/// A case set aside from the points (特病单议 or no base points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAsideCase {
    pub setl_id: String,
    pub drg: String,
    /// `special_review` or `no_base_points`.
    pub reason: String,
    /// The amount the review approved (`None`: not decided yet, rejected, or approved in points).
    pub approved: Option<Fen>,
    /// The points the review approved instead: they join the point pool like earned points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_points: Option<Points>,
}

/// An institution × scheme's month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrgMonthStatement {
    pub fixmedins_code: String,
    pub insutype: String,
    pub year: i32,
    pub month: u8,
    pub cases: usize,
    /// Cases failing 病案校验, not prepaid.
    pub failed: Vec<FailedCase>,
    /// Cases set aside for review (prepaid like the others).
    pub set_aside: Vec<SetAsideCase>,
    /// Σ fund share of the checked cases.
    pub fund_share: Fen,
    pub prepayment_ratio: Ratio,
    /// round(fund share × prepayment ratio): paid to the institution.
    pub prepayment: Fen,
}

/// An institution × scheme's year-end clearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrgYearEndStatement {
    pub fixmedins_code: String,
    pub insutype: String,
    pub year: i32,
    pub cases: usize,
    pub failed: Vec<FailedCase>,
    pub set_aside: Vec<SetAsideCase>,
    pub points: Points,
    /// Yuan per point, four decimals (display; amounts use the exact fraction).
    pub point_value: Factor,
    /// Points × point value.
    pub gross: Fen,
    /// What patients and other funds paid for the point-earning cases.
    pub others_paid: Fen,
    /// max(0, gross − others paid): the fund's share.
    pub entitlement: Fen,
    /// Σ approved amounts of the set-aside cases.
    pub reviewed: Fen,
    /// Σ of the year's monthly prepayments.
    pub prepaid: Fen,
    /// entitlement + reviewed − prepaid: positive is paid, negative recovered.
    pub clearing: Fen,
}

/// The region's year-end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrgYearEnd {
    pub drg_budget: Fen,
    pub reserve: Fen,
    pub distributable: Fen,
    /// Σ what patients and other funds paid for point-earning cases (added to the pool).
    pub others_paid: Fen,
    pub total_points: Points,
    pub point_value: Factor,
    pub statements: Vec<DrgYearEndStatement>,
}

/// A review's decision on a set-aside case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Paid this amount at the year-end, outside the point pool.
    Approved(Fen),
    /// Earns these points (case points, coefficient applied by the reviewer), paid from the pool
    /// like any case: less what patients and other funds paid for it.
    ApprovedPoints(Points),
    Rejected,
}

/// Why a year cannot be cleared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YearEndError {
    #[error("没有获得点数的病例，无法计算点值")]
    NoPoints,
    #[error("特病单议病例尚未审核：{}", .0.join("、"))]
    Undecided(Vec<String>),
}

/// The year's point value as an exact fraction: `pool_fen / total_points` fen per point unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointValue {
    pool_fen: i128,
    total_points: i128,
}

impl PointValue {
    /// (distributable + others paid) ÷ total points; `None` without points.
    pub fn new(distributable: Fen, others_paid: Fen, total_points: Points) -> Option<PointValue> {
        (total_points.0 > 0).then(|| PointValue {
            pool_fen: i128::from(distributable.fen()) + i128::from(others_paid.fen()),
            total_points: i128::from(total_points.0),
        })
    }

    /// `points` × the point value, rounded.
    pub fn worth(&self, points: Points, rounding: Rounding) -> Fen {
        rounding.div(
            self.pool_fen.saturating_mul(i128::from(points.0)),
            self.total_points,
        )
    }

    /// Yuan per point, four decimals.
    pub fn per_point(&self) -> Factor {
        Factor(to_i64(div_half_up(
            self.pool_fen.saturating_mul(1_000_000),
            self.total_points,
        )))
    }
}

/// An entitlement: what the points are worth, what others paid, what the fund owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entitlement {
    pub gross: Fen,
    pub others_paid: Fen,
    /// max(0, gross − others paid).
    pub fund_owed: Fen,
}

/// Points × point value less what patients and other funds paid (never below zero).
pub fn entitlement(
    points: Points,
    others_paid: Fen,
    value: &PointValue,
    rounding: Rounding,
) -> Entitlement {
    let gross = value.worth(points, rounding);
    Entitlement {
        gross,
        others_paid,
        fund_owed: (gross - others_paid).max(Fen::ZERO),
    }
}

type Key = (String, String);

fn key_of(case: &LedgerCase) -> Key {
    (case.fixmedins_code.clone(), case.insutype.clone())
}

fn failed_of(case: &LedgerCase) -> Option<FailedCase> {
    match &case.outcome {
        CaseOutcome::Failed(problems) => Some(FailedCase {
            setl_id: case.setl_id.clone(),
            problems: problems.clone(),
        }),
        CaseOutcome::Grouped(_) => None,
    }
}

fn reason_of(category: Category) -> Option<&'static str> {
    match category {
        Category::SpecialReview => Some("special_review"),
        Category::NoBasePoints => Some("no_base_points"),
        _ => None,
    }
}

/// Scores the grouped cases; gives each case's index with its points and category.
fn scored(policy: &Policy, cases: &[LedgerCase]) -> BTreeMap<usize, (Points, Category, String)> {
    let (indices, grouped): (Vec<usize>, Vec<PayCase>) = cases
        .iter()
        .enumerate()
        .filter_map(|(i, case)| match &case.outcome {
            CaseOutcome::Grouped(pay) => Some((i, pay.clone())),
            CaseOutcome::Failed(_) => None,
        })
        .unzip();
    let scores = score_cases(policy, &grouped);
    indices
        .into_iter()
        .zip(scores)
        .map(|(i, s)| (i, (s.points, s.category, s.drg)))
        .collect()
}

/// The month's statements, one per institution × scheme with cases, in key order.
pub fn month_statements(
    policy: &Policy,
    year: i32,
    month: u8,
    cases: &[LedgerCase],
) -> Vec<DrgMonthStatement> {
    let scores = scored(policy, cases);
    let mut statements: BTreeMap<Key, DrgMonthStatement> = BTreeMap::new();
    for (index, case) in cases.iter().enumerate() {
        let (fixmedins_code, insutype) = key_of(case);
        let statement = statements
            .entry((fixmedins_code.clone(), insutype.clone()))
            .or_insert_with(|| DrgMonthStatement {
                fixmedins_code,
                insutype,
                year,
                month,
                cases: 0,
                failed: Vec::new(),
                set_aside: Vec::new(),
                fund_share: Fen::ZERO,
                prepayment_ratio: policy.prepayment_ratio,
                prepayment: Fen::ZERO,
            });
        statement.cases += 1;
        match failed_of(case) {
            Some(failed) => statement.failed.push(failed),
            None => statement.fund_share += case.money.fund_share,
        }
        if let Some((_, category, drg)) = scores.get(&index) {
            if let Some(reason) = reason_of(*category) {
                statement.set_aside.push(SetAsideCase {
                    setl_id: case.setl_id.clone(),
                    drg: drg.clone(),
                    reason: reason.into(),
                    approved: None,
                    approved_points: None,
                });
            }
        }
    }
    statements
        .into_values()
        .map(|mut s| {
            s.prepayment = policy.rounding.apply(s.fund_share, s.prepayment_ratio);
            s
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    cases: usize,
    failed: Vec<FailedCase>,
    set_aside: Vec<SetAsideCase>,
    points: i128,
    others_paid: Fen,
    reviewed: Fen,
}

/// The year-end of `cases` (the year's), with each institution × scheme's prepayments and the
/// review decisions of set-aside cases (by `setl_id`; a set-aside case without one is refused).
pub fn year_end(
    policy: &Policy,
    year: i32,
    cases: &[LedgerCase],
    prepaid: &BTreeMap<Key, Fen>,
    decisions: &BTreeMap<String, Decision>,
) -> Result<DrgYearEnd, YearEndError> {
    let scores = scored(policy, cases);
    let mut tallies: BTreeMap<Key, Tally> = prepaid
        .keys()
        .map(|key| (key.clone(), Tally::default()))
        .collect();
    let mut undecided = BTreeSet::new();
    for (index, case) in cases.iter().enumerate() {
        let tally = tallies.entry(key_of(case)).or_default();
        tally.cases += 1;
        if let Some(failed) = failed_of(case) {
            tally.failed.push(failed);
        }
        let Some((points, category, drg)) = scores.get(&index) else {
            continue;
        };
        match reason_of(*category) {
            None => {
                tally.points += i128::from(points.0);
                tally.others_paid += case.money.others_paid;
            }
            Some(reason) => {
                let (approved, approved_points) = match decisions.get(&case.setl_id) {
                    Some(Decision::Approved(amount)) => (Some(*amount), None),
                    Some(Decision::ApprovedPoints(points)) => (None, Some(*points)),
                    Some(Decision::Rejected) => (None, None),
                    None => {
                        undecided.insert(case.setl_id.clone());
                        (None, None)
                    }
                };
                tally.reviewed += approved.unwrap_or(Fen::ZERO);
                if let Some(points) = approved_points {
                    tally.points += i128::from(points.0);
                    tally.others_paid += case.money.others_paid;
                }
                tally.set_aside.push(SetAsideCase {
                    setl_id: case.setl_id.clone(),
                    drg: drg.clone(),
                    reason: reason.into(),
                    approved,
                    approved_points,
                });
            }
        }
    }
    if !undecided.is_empty() {
        return Err(YearEndError::Undecided(undecided.into_iter().collect()));
    }
    let reserve = policy
        .rounding
        .apply(policy.drg_budget, policy.reserve_ratio);
    let distributable = policy.drg_budget - reserve;
    let total_points = Points(to_i64(tallies.values().map(|t| t.points).sum()));
    let others_paid: Fen = tallies.values().map(|t| t.others_paid).sum();
    let value =
        PointValue::new(distributable, others_paid, total_points).ok_or(YearEndError::NoPoints)?;
    let statements = tallies
        .into_iter()
        .map(|((fixmedins_code, insutype), tally)| {
            let points = Points(to_i64(tally.points));
            let owed = entitlement(points, tally.others_paid, &value, policy.rounding);
            let paid = prepaid
                .get(&(fixmedins_code.clone(), insutype.clone()))
                .copied()
                .unwrap_or(Fen::ZERO);
            DrgYearEndStatement {
                fixmedins_code,
                insutype,
                year,
                cases: tally.cases,
                failed: tally.failed,
                set_aside: tally.set_aside,
                points,
                point_value: value.per_point(),
                gross: owed.gross,
                others_paid: owed.others_paid,
                entitlement: owed.fund_owed,
                reviewed: tally.reviewed,
                prepaid: paid,
                clearing: owed.fund_owed + tally.reviewed - paid,
            }
        })
        .collect();
    Ok(DrgYearEnd {
        drg_budget: policy.drg_budget,
        reserve,
        distributable,
        others_paid,
        total_points,
        point_value: value.per_point(),
        statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    const POLICY: &str = r#"
region = "测试"
year = 2025
[base_points]
points_per_weight = "100"
overrides = { ES31 = "100", GB29 = "200" }
[standard_cost]
yuan_per_point = "100"
[bed_day]
daily_points = { TR19 = "3" }
[special_review]
drgs = ["AA19"]
[settlement]
drg_budget = "100000.00"
reserve_ratio = "0.10"
prepayment_ratio = "0.90"
"#;

    fn policy() -> Policy {
        Policy::from_toml(POLICY, std::path::Path::new(".")).unwrap()
    }

    fn case(id: &str, hospital: &str, drg: &str, cost: i64, fund: i64) -> LedgerCase {
        LedgerCase {
            setl_id: id.into(),
            fixmedins_code: hospital.into(),
            insutype: "310".into(),
            money: CaseMoney {
                total_cost: Fen(cost),
                fund_share: Fen(fund),
                others_paid: Fen(cost - fund),
            },
            outcome: CaseOutcome::Grouped(PayCase {
                id: id.into(),
                hospital: hospital.into(),
                drg: drg.into(),
                los_days: 10,
                total_cost: Fen(cost),
                leaving_type: Some("1".into()),
                patient_id: Some(format!("P{id}")),
                admission_date: None,
                discharge_date: NaiveDate::from_ymd_opt(2025, 3, 10).unwrap(),
                special_review: false,
                claim: Fen(fund),
            }),
        }
    }

    fn failed(id: &str, hospital: &str, fund: i64) -> LedgerCase {
        LedgerCase {
            outcome: CaseOutcome::Failed(vec![RecordProblem {
                field: "setlinfo.gend".into(),
                problem: "缺少性别".into(),
            }]),
            ..case(id, hospital, "ES31", fund, fund)
        }
    }

    #[test]
    fn month_prepays_the_checked_fund_share() {
        let cases = [
            case("1", "H1", "ES31", 1_000_000, 700_000),
            failed("2", "H1", 300_000),
            case("3", "H2", "AA19", 5_000_000, 4_000_000),
        ];
        let months = month_statements(&policy(), 2025, 3, &cases);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].fund_share, Fen(700_000));
        assert_eq!(months[0].prepayment, Fen(630_000));
        assert_eq!(months[0].failed[0].setl_id, "2");
        assert_eq!(months[1].set_aside[0].reason, "special_review");
        assert_eq!(months[1].prepayment, Fen(3_600_000));
    }

    #[test]
    fn year_end_pays_points_less_others_and_reviews() {
        let cases = [
            case("1", "H1", "ES31", 1_000_000, 700_000),
            case("2", "H2", "GB29", 2_000_000, 1_500_000),
            case("3", "H2", "AA19", 5_000_000, 4_000_000),
        ];
        let prepaid = BTreeMap::from([
            (("H1".to_string(), "310".to_string()), Fen(630_000)),
            (("H2".to_string(), "310".to_string()), Fen(4_950_000)),
        ]);
        let undecided = year_end(&policy(), 2025, &cases, &prepaid, &BTreeMap::new());
        assert_eq!(
            undecided.unwrap_err(),
            YearEndError::Undecided(vec!["3".into()])
        );
        let decisions = BTreeMap::from([("3".to_string(), Decision::Approved(Fen(3_800_000)))]);
        let end = year_end(&policy(), 2025, &cases, &prepaid, &decisions).unwrap();
        // pool = 9,000,000 distributable + 300,000 + 500,000 others over 300 points.
        assert_eq!(end.distributable, Fen(9_000_000));
        assert_eq!(end.point_value.to_string(), "326.6667");
        let h1 = &end.statements[0];
        assert_eq!(h1.gross, Fen(3_266_667));
        assert_eq!(h1.entitlement, Fen(2_966_667));
        assert_eq!(h1.clearing, Fen(2_966_667 - 630_000));
        let h2 = &end.statements[1];
        assert_eq!(h2.gross, Fen(6_533_333));
        assert_eq!(h2.entitlement, Fen(6_033_333));
        assert_eq!(h2.reviewed, Fen(3_800_000));
        assert_eq!(h2.clearing, Fen(6_033_333 + 3_800_000 - 4_950_000));
        assert_eq!(
            h1.entitlement + h2.entitlement,
            end.distributable,
            "entitlements share the distributable budget"
        );
    }

    #[test]
    fn failed_cases_earn_nothing_and_prepaid_only_institutions_are_cleared() {
        let cases = [
            case("1", "H1", "ES31", 1_000_000, 700_000),
            failed("2", "H2", 500_000),
        ];
        let prepaid = BTreeMap::from([
            (("H2".to_string(), "310".to_string()), Fen(450_000)),
            (("H3".to_string(), "390".to_string()), Fen(100)),
        ]);
        let end = year_end(&policy(), 2025, &cases, &prepaid, &BTreeMap::new()).unwrap();
        let h2 = &end.statements[1];
        assert_eq!((h2.points, h2.entitlement), (Points::ZERO, Fen::ZERO));
        assert_eq!(h2.clearing, Fen(-450_000));
        assert_eq!(h2.failed.len(), 1);
        assert_eq!(end.statements[2].clearing, Fen(-100));
        let none = year_end(&policy(), 2025, &cases[1..], &prepaid, &BTreeMap::new());
        assert_eq!(none.unwrap_err(), YearEndError::NoPoints);
    }

    #[test]
    fn points_approved_by_review_join_the_pool() {
        let cases = [
            case("1", "H1", "ES31", 1_000_000, 700_000),
            case("3", "H2", "AA19", 5_000_000, 4_000_000),
        ];
        let decisions =
            BTreeMap::from([("3".to_string(), Decision::ApprovedPoints(Points(2_000_000)))]);
        let end = year_end(&policy(), 2025, &cases, &BTreeMap::new(), &decisions).unwrap();
        assert_eq!(end.total_points, Points(3_000_000));
        let h2 = &end.statements[1];
        assert_eq!(h2.points, Points(2_000_000));
        assert_eq!(h2.others_paid, Fen(1_000_000));
        assert_eq!(h2.reviewed, Fen::ZERO);
        assert_eq!(h2.set_aside[0].approved_points, Some(Points(2_000_000)));
        assert_eq!(h2.entitlement + h2.others_paid, h2.gross);
    }

    #[test]
    fn bed_day_cases_earn_daily_points() {
        let cases = [case("1", "H1", "TR19", 1_000_000, 800_000)];
        let end = year_end(&policy(), 2025, &cases, &BTreeMap::new(), &BTreeMap::new()).unwrap();
        assert_eq!(end.statements[0].points, Points(300_000));
    }

    proptest! {
        #[test]
        fn entitlement_and_others_make_the_points_worth(
            points in 0i64..10_000_000_000,
            others in 0i64..1_000_000_000,
            pool in 1i64..100_000_000_000,
            total in 1i64..100_000_000_000,
        ) {
            let value = PointValue::new(Fen(pool), Fen::ZERO, Points(total)).unwrap();
            let owed = entitlement(Points(points), Fen(others), &value, Rounding::default());
            prop_assert!(owed.fund_owed >= Fen::ZERO);
            if owed.gross >= owed.others_paid {
                prop_assert_eq!(owed.fund_owed + owed.others_paid, owed.gross);
            } else {
                prop_assert_eq!(owed.fund_owed, Fen::ZERO);
            }
        }

        #[test]
        fn clearing_is_entitlement_plus_reviews_less_prepaid(
            funds in proptest::collection::vec((1i64..5_000_000, 0i64..100, 0usize..3), 1..12),
            prepaid in 0i64..10_000_000,
        ) {
            let cases: Vec<LedgerCase> = funds
                .iter()
                .enumerate()
                .map(|(i, (fund, extra, hospital))| {
                    let drg = if i % 2 == 0 { "ES31" } else { "GB29" };
                    case(&i.to_string(), &format!("H{hospital}"), drg, fund + extra * 1_000, *fund)
                })
                .collect();
            let prepaid = BTreeMap::from([(("H0".to_string(), "310".to_string()), Fen(prepaid))]);
            let end = year_end(&policy(), 2025, &cases, &prepaid, &BTreeMap::new()).unwrap();
            let mut entitled = Fen::ZERO;
            for s in &end.statements {
                prop_assert_eq!(s.clearing, s.entitlement + s.reviewed - s.prepaid);
                entitled += s.entitlement;
            }
            let slack = Fen(end.statements.len() as i64);
            prop_assert!(entitled <= end.distributable + slack);
            let months = month_statements(&policy(), 2025, 3, &cases);
            let share: Fen = months.iter().map(|m| m.fund_share).sum();
            prop_assert_eq!(share, cases.iter().map(|c| c.money.fund_share).sum::<Fen>());
        }
    }
}
