//! Year-end clearing (年终清算) of one institution × scheme, by the generalised formula of
//! `clearing-and-budgets.md` §4.4:
//!
//! ```text
//! T = index (less the quotas of months without claims, if the policy says so)
//! C = Σ net claims − year-end deductions (Q4 excess, control excesses)
//! C ≤ T:  retained = min(T − C, T × surplus_retained_max);  final = C + retained
//! C > T:  fund_share = Σ over bands of (overspend in band × band share);  final = T + fund_share
//! year_end_payment = final − Σ paid       (negative: recovered from the institution)
//! ```
//!
//! The withheld reserve is settled beside it: released by the assessment score, the rest forfeited.

use serde::{Deserialize, Serialize};
use yibao_domain::{Fen, Ratio, Rounding, BP_PER_ONE};

use crate::budget::{check_amount, Budget, PaymentError, MAX_ADMISSIONS};
use crate::month::{MonthStatement, MONTHS};
use crate::policy::{
    Control, OverspendBand, PaymentPolicy, Q4Rule, ReleasedShare, Score, FULL_SCORE,
};

const BP: i128 = BP_PER_ONE as i128;

/// The year's inpatient activity of the institution under the scheme, read by the controls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub admissions: u64,
    /// Total medical cost of the admissions (医疗费总额).
    pub total_cost: Fen,
    /// What patients paid themselves of it (自费).
    pub self_pay: Fen,
}

/// What the year-end needs besides the monthly statements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct YearEndInput {
    /// Needed when a control indicator applies to the budget.
    pub activity: Option<Activity>,
    /// The annual assessment score that releases the reserve.
    pub score: Option<Score>,
    /// The year's procurement savings (集采节约), of which the policy's share is retained.
    pub procurement_savings: Fen,
}

/// The Q4 deviation check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Q4Check {
    /// Net claims of months 1–9.
    pub q1_q3_net_claims: Fen,
    /// Net claims of months 10–12.
    pub q4_net_claims: Fen,
    /// Excess above (1 + limit) × the Q1–Q3 quarterly average × the deducted share; zero when
    /// months 1–9 have no positive net claims (no average to compare with).
    pub deduction: Fen,
    /// Q4 fell below (1 − limit) × the Q1–Q3 quarterly average (reported, no money effect).
    pub below_lower_limit: bool,
}

/// Year-end deductions of the control indicators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlDeductions {
    /// (total cost − limit × admissions)⁺ × deducted share.
    pub avg_cost_per_admission: Fen,
    /// Net claims ÷ admissions × (admissions − limit)⁺ × deducted share.
    pub admissions: Fen,
    /// (self pay − limit × total cost)⁺ × deducted share.
    pub self_pay_share: Fen,
}

impl ControlDeductions {
    fn total(&self) -> Fen {
        self.avg_cost_per_admission + self.admissions + self.self_pay_share
    }
}

/// The year-end statement of one institution × scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearEndStatement {
    pub annual_index: Fen,
    /// Quotas of months without claims, cut from the index when the policy says so.
    pub index_cut: Fen,
    /// `T`: annual index − index cut.
    pub index: Fen,
    /// Σ (claims − deductions) of the months.
    pub net_claims: Fen,
    pub q4: Option<Q4Check>,
    pub controls: ControlDeductions,
    /// Q4 deduction + control deductions.
    pub year_end_deductions: Fen,
    /// `C`: net claims − year-end deductions.
    pub audited_claims: Fen,
    /// (T − C)⁺.
    pub surplus: Fen,
    /// The part of the surplus the institution keeps (结余留用).
    pub retained: Fen,
    /// (C − T)⁺.
    pub overspend: Fen,
    /// The part of the overspend the fund bears (合理超支分担).
    pub fund_share: Fen,
    /// Overspend − fund share: borne by the institution (超支拒付).
    pub refused: Fen,
    /// C + retained, or T + fund share: the institution's entitlement for the year.
    #[serde(rename = "final")]
    pub final_amount: Fen,
    /// Σ paid of the months.
    pub paid: Fen,
    /// Net claims − paid: deferred during the year and not paid.
    pub deferred: Fen,
    /// Final − paid: paid at the year-end, or recovered when negative.
    pub year_end_payment: Fen,
    /// Σ reserve withheld of the months.
    pub reserve_withheld: Fen,
    /// Released by the score; `None` while the score the policy's release table needs is missing.
    pub reserve_released: Option<Fen>,
    /// Withheld − released.
    pub reserve_forfeited: Option<Fen>,
    /// The year's procurement savings (集采节约).
    #[serde(default)]
    pub procurement_savings: Fen,
    /// The part of them the institution keeps (结余留用), paid with the year-end.
    #[serde(default)]
    pub procurement_retained: Fen,
    /// Procurement prepayment the months did not recover (December's outstanding), recovered now.
    #[serde(default)]
    pub procurement_recovered: Fen,
}

/// Clears the year of `budget` from its twelve monthly statements.
pub fn clear_year(
    policy: &PaymentPolicy,
    budget: &Budget,
    months: &[MonthStatement; MONTHS],
    input: &YearEndInput,
) -> Result<YearEndStatement, PaymentError> {
    budget.check()?;
    if let Some((i, m)) = (1..).zip(months).find(|(i, m)| m.month != *i) {
        return Err(budget.error("month", format!("statement {i} is for month {}", m.month)));
    }
    let rules = &policy.budget;
    let index_cut: Fen = if rules.cut_index_for_months_without_claims {
        months
            .iter()
            .filter(|m| m.claims.is_zero())
            .map(|m| m.quota)
            .sum()
    } else {
        Fen::ZERO
    };
    let index = budget.annual_index - index_cut;
    let net_claims: Fen = months.iter().map(|m| m.net_claims).sum();
    let paid: Fen = months.iter().map(|m| m.paid).sum();
    let q4 = rules.q4.map(|rule| q4_check(rule, months, policy.rounding));
    let controls = control_deductions(policy, budget, net_claims, input.activity)?;
    let year_end_deductions = q4.map_or(Fen::ZERO, |q| q.deduction) + controls.total();
    let audited_claims = net_claims - year_end_deductions;
    let surplus = (index - audited_claims).clamp_non_negative();
    let overspend = (audited_claims - index).clamp_non_negative();
    let retained = surplus.min(policy.rounding.apply(index, rules.surplus_retained_max));
    let fund_share =
        overspend_fund_share(index, overspend, &rules.overspend_bands, policy.rounding);
    let final_amount = if overspend.is_zero() {
        audited_claims + retained
    } else {
        index + fund_share
    };
    let reserve_withheld: Fen = months.iter().map(|m| m.reserve_withheld).sum();
    let reserve_released = released_reserve(policy, reserve_withheld, input.score);
    check_amount(budget, "procurement_savings", input.procurement_savings)?;
    Ok(YearEndStatement {
        annual_index: budget.annual_index,
        index_cut,
        index,
        net_claims,
        q4,
        controls,
        year_end_deductions,
        audited_claims,
        surplus,
        retained,
        overspend,
        fund_share,
        refused: overspend - fund_share,
        final_amount,
        paid,
        deferred: net_claims - paid,
        year_end_payment: final_amount - paid,
        reserve_withheld,
        reserve_released,
        reserve_forfeited: reserve_released.map(|released| reserve_withheld - released),
        procurement_savings: input.procurement_savings,
        procurement_retained: crate::procurement::retained_savings(
            policy,
            input.procurement_savings,
        ),
        procurement_recovered: months[MONTHS - 1].procurement_outstanding,
    })
}

/// Σ over bands of the overspend inside the band × the band's share, computed exactly in units
/// of fen × bp × bp and rounded once.
fn overspend_fund_share(
    index: Fen,
    overspend: Fen,
    bands: &[OverspendBand],
    rounding: Rounding,
) -> Fen {
    let overspend_bp = i128::from(overspend.fen()) * BP;
    let mut lower_bp = 0i128;
    let mut share = 0i128;
    for band in bands {
        let upper_bp = i128::from(index.fen()) * i128::from(band.up_to.bp());
        let in_band = overspend_bp.min(upper_bp) - lower_bp;
        if in_band <= 0 {
            break;
        }
        share += in_band * i128::from(band.fund_share.bp());
        lower_bp = upper_bp;
    }
    rounding.div(share, BP * BP)
}

fn q4_check(rule: Q4Rule, months: &[MonthStatement; MONTHS], rounding: Rounding) -> Q4Check {
    let q1_q3: Fen = months[..9].iter().map(|m| m.net_claims).sum();
    let q4: Fen = months[9..].iter().map(|m| m.net_claims).sum();
    // Compared as q4 × 3 against q1_q3 × (1 ± limit), in units of fen × bp.
    let q4_scaled = i128::from(q4.fen()) * 3 * BP;
    let deviation_bp = i128::from(rule.max_deviation.bp());
    let upper = i128::from(q1_q3.fen()) * (BP + deviation_bp);
    let lower = i128::from(q1_q3.fen()) * (BP - deviation_bp);
    let comparable = q1_q3.fen() > 0;
    let excess = if comparable {
        (q4_scaled - upper).max(0)
    } else {
        0
    };
    Q4Check {
        q1_q3_net_claims: q1_q3,
        q4_net_claims: q4,
        deduction: rounding.div(excess * i128::from(rule.excess_deducted.bp()), 3 * BP * BP),
        below_lower_limit: comparable && q4_scaled < lower,
    }
}

fn control_deductions(
    policy: &PaymentPolicy,
    budget: &Budget,
    net_claims: Fen,
    activity: Option<Activity>,
) -> Result<ControlDeductions, PaymentError> {
    let controls = &policy.budget.controls;
    let limits = &budget.limits;
    let avg_cost = effective(
        budget,
        "avg_cost_per_admission",
        controls.avg_cost_per_admission,
        limits.avg_cost_per_admission,
    )?;
    let admissions = effective(budget, "admissions", controls.admissions, limits.admissions)?;
    let self_pay = effective(
        budget,
        "self_pay_share",
        controls.self_pay_share,
        limits.self_pay_share,
    )?;
    if avg_cost.is_none() && admissions.is_none() && self_pay.is_none() {
        return Ok(ControlDeductions::default());
    }
    let activity = activity.ok_or_else(|| {
        budget.error(
            "activity",
            "is needed by the control indicators (admissions, total cost, self pay)",
        )
    })?;
    check_activity(budget, &activity)?;
    let admitted = i128::from(activity.admissions);
    let total_cost = i128::from(activity.total_cost.fen());
    let rounding = policy.rounding;
    let deduct = |excess_bp: i128, share: Ratio, denominator: i128| {
        rounding.div(
            excess_bp.max(0) * i128::from(share.bp()),
            denominator * BP * BP,
        )
    };
    Ok(ControlDeductions {
        avg_cost_per_admission: avg_cost.map_or(Fen::ZERO, |(limit, share)| {
            deduct(
                (total_cost - i128::from(limit.fen()) * admitted) * BP,
                share,
                1,
            )
        }),
        admissions: admissions.map_or(Fen::ZERO, |(limit, share)| {
            let excess = admitted - i128::from(limit);
            if excess <= 0 {
                return Fen::ZERO;
            }
            let claims = i128::from(net_claims.clamp_non_negative().fen());
            deduct(claims * excess * BP, share, admitted)
        }),
        self_pay_share: self_pay.map_or(Fen::ZERO, |(limit, share)| {
            let excess_bp =
                i128::from(activity.self_pay.fen()) * BP - i128::from(limit.bp()) * total_cost;
            deduct(excess_bp, share, 1)
        }),
    })
}

/// The limit and deducted share of a control for this budget, if it applies.
fn effective<L: Copy>(
    budget: &Budget,
    name: &str,
    control: Option<Control<L>>,
    own_limit: Option<L>,
) -> Result<Option<(L, Ratio)>, PaymentError> {
    match control {
        Some(control) => Ok(own_limit
            .or(control.limit)
            .map(|limit| (limit, control.excess_deducted))),
        None if own_limit.is_some() => Err(budget.error(
            format!("limits.{name}"),
            format!("is set but the policy has no `budget.controls.{name}`"),
        )),
        None => Ok(None),
    }
}

fn check_activity(budget: &Budget, activity: &Activity) -> Result<(), PaymentError> {
    check_amount(budget, "activity.total_cost", activity.total_cost)?;
    check_amount(budget, "activity.self_pay", activity.self_pay)?;
    if activity.admissions > MAX_ADMISSIONS {
        return Err(budget.error(
            "activity.admissions",
            format!("{} exceeds {MAX_ADMISSIONS}", activity.admissions),
        ));
    }
    if activity.self_pay > activity.total_cost {
        return Err(budget.error(
            "activity.self_pay",
            format!(
                "{} exceeds the total cost {}",
                activity.self_pay, activity.total_cost
            ),
        ));
    }
    if activity.admissions == 0 && !activity.total_cost.is_zero() {
        return Err(budget.error("activity.admissions", "is 0 while the total cost is not"));
    }
    Ok(())
}

/// The reserve released: all of it without a release table; by the score's step otherwise
/// (nothing below the lowest step); `None` when the table needs a score that is missing.
fn released_reserve(policy: &PaymentPolicy, withheld: Fen, score: Option<Score>) -> Option<Fen> {
    let steps = &policy.budget.reserve_release;
    if steps.is_empty() {
        return Some(withheld);
    }
    let score = score?;
    let step = steps.iter().find(|step| step.min_score <= score);
    Some(match step.map(|s| s.share) {
        None => Fen::ZERO,
        Some(ReleasedShare::Fixed(share)) => policy.rounding.apply(withheld, share),
        Some(ReleasedShare::ByScore) => policy.rounding.div(
            i128::from(withheld.fen()) * i128::from(score.0),
            i128::from(FULL_SCORE),
        ),
    })
}
