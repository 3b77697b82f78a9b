//! The budget payment policy (总额预算) of a pooling region, read from TOML (see `policies/payment/`).
//! Every number of the payment rules lives here; nothing in the calculation is a constant.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use yibao_domain::{decimal, Fen, Ratio, Rounding};

use crate::month::MONTHS;
use crate::procurement::{OffsetSplit, PrepaymentBasis, ProcurementRules};

/// Why a payment policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read payment policy {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("payment policy syntax (line {line}): {message}")]
    Syntax { line: usize, message: String },
    #[error("payment policy field `{field}`: {problem}")]
    Invalid { field: String, problem: String },
    #[error("payment policy {path}: {inner}")]
    InFile {
        path: PathBuf,
        inner: Box<PolicyError>,
    },
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// An exact decimal written as a TOML string or number, held as an integer scaled by `10^DECIMALS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Scaled<const DECIMALS: u32>(pub i64);

impl<'de, const DECIMALS: u32> Deserialize<'de> for Scaled<DECIMALS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScaledVisitor::<DECIMALS>)
    }
}

struct ScaledVisitor<const DECIMALS: u32>;

impl<const DECIMALS: u32> Visitor<'_> for ScaledVisitor<DECIMALS> {
    type Value = Scaled<DECIMALS>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a decimal number with at most {DECIMALS} decimals")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        decimal::parse_scaled(v, DECIMALS)
            .map(Scaled)
            .map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        let text =
            decimal::float_literal_text(v).ok_or_else(|| E::custom("not a finite number"))?;
        self.visit_str(&text)
    }
}

/// An assessment score (考核得分) on the 100-point scale, in hundredths of a point (`Score(9050)`
/// is 90.5 points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(pub u32);

/// Hundredths of a point in a full score of 100 points.
pub const FULL_SCORE: u32 = 10_000;

impl Score {
    /// Reads `"90"`, `"87.5"`: at most two decimals, between 0 and 100.
    pub fn parse(text: &str) -> Result<Score, String> {
        let hundredths = decimal::parse_scaled(text, 2).map_err(|e| e.to_string())?;
        Score::from_hundredths(hundredths)
    }

    fn from_hundredths(hundredths: i64) -> Result<Score, String> {
        if (0..=i64::from(FULL_SCORE)).contains(&hundredths) {
            Ok(Score(hundredths as u32))
        } else {
            Err(format!(
                "score {} is outside 0..100",
                decimal::format_scaled(hundredths, 2)
            ))
        }
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&decimal::format_scaled(i64::from(self.0), 2))
    }
}

/// How the annual index is split into monthly quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonthlySplit {
    /// One twelfth each (Harbin agreement: "split evenly over 12 months").
    Even,
    /// In proportion to twelve non-negative weights (four decimals, scaled by 10,000).
    Weights([u64; MONTHS]),
}

/// What a month's quota covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaMode {
    /// Each month stands alone: paid = min(net claims, quota); the excess is deferred to the
    /// year-end (超支挂帐) and an unused quota lapses (the §4.4 formula).
    #[default]
    PerMonth,
    /// Quotas accumulate: paid to date = min(net claims to date, quotas to date), so an earlier
    /// deferral is released in a later month with room (the "mid-year releases" of §4.4).
    Cumulative,
}

/// One overspend band: the part of the overspend between the previous band's bound and
/// `up_to` × index, of which the fund bears `fund_share`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverspendBand {
    pub up_to: Ratio,
    pub fund_share: Ratio,
}

/// The share of the withheld reserve that a score band releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleasedShare {
    Fixed(Ratio),
    /// score ÷ 100 (按得分比例返还).
    ByScore,
}

/// From `min_score` up (to the next step), the reserve is released by `share`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseStep {
    pub min_score: Score,
    pub share: ReleasedShare,
}

/// The Q4 deviation limit: Q4 net claims above (1 + `max_deviation`) × the Q1–Q3 quarterly average
/// are excess, of which `excess_deducted` is deducted at the year-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Q4Rule {
    pub max_deviation: Ratio,
    pub excess_deducted: Ratio,
}

/// One control indicator: a default limit (a budget may set its own) and the share of the excess
/// deducted at the year-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control<L> {
    pub limit: Option<L>,
    pub excess_deducted: Ratio,
}

/// The control indicators (考核指标) of the budget; each is off unless configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Controls {
    /// Average total medical cost per admission (次均费用), in fen.
    pub avg_cost_per_admission: Option<Control<Fen>>,
    /// Admissions in the year (住院人次).
    pub admissions: Option<Control<u64>>,
    /// Patients' self-paid share of the total medical cost (自费比例).
    pub self_pay_share: Option<Control<Ratio>>,
}

/// The year's budget rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetRules {
    pub monthly_split: MonthlySplit,
    pub monthly_quota: QuotaMode,
    /// Share of the index up to which a surplus is retained (1 = all of it).
    pub surplus_retained_max: Ratio,
    /// Increasing `up_to`; beyond the last band the fund bears nothing (超支拒付).
    pub overspend_bands: Vec<OverspendBand>,
    /// Share of each month's paid amount withheld as the quality reserve (预留金).
    pub reserve_withheld: Ratio,
    /// Decreasing `min_score`; empty releases the whole reserve without an assessment.
    pub reserve_release: Vec<ReleaseStep>,
    pub q4: Option<Q4Rule>,
    pub controls: Controls,
    /// Each month without any claim cuts that month's quota from the index (Harbin agreement).
    pub cut_index_for_months_without_claims: bool,
}

/// A compiled budget payment policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPolicy {
    pub name: Option<String>,
    pub region: Option<String>,
    pub provenance: Option<String>,
    /// The one rounding of every computed amount (quotas, reserve, shares, deductions).
    pub rounding: Rounding,
    pub budget: BudgetRules,
    /// The procurement prepayment and savings rules (集采), if the region has them.
    pub procurement: Option<ProcurementRules>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    policy: RawInfo,
    #[serde(default)]
    rounding: Rounding,
    budget: RawBudget,
    procurement: Option<RawProcurement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcurement {
    prepayment_basis: PrepaymentBasis,
    prepayment_ratio: Ratio,
    #[serde(default)]
    offset_start_after_months: u8,
    offset_months: Option<u8>,
    offset_month_shares: Option<Vec<Ratio>>,
    savings_retained_ratio: Ratio,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInfo {
    name: Option<String>,
    region: Option<String>,
    provenance: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    monthly_split: RawSplit,
    monthly_weights: Option<Vec<Scaled<4>>>,
    #[serde(default)]
    monthly_quota: QuotaMode,
    surplus_retained_max_ratio: Ratio,
    reserve_withheld_ratio: Ratio,
    #[serde(default)]
    overspend_bands: Vec<RawBand>,
    #[serde(default)]
    reserve_release: Vec<RawRelease>,
    q4_deviation_max_ratio: Option<Ratio>,
    q4_excess_deducted_ratio: Option<Ratio>,
    #[serde(default)]
    cut_index_for_months_without_claims: bool,
    #[serde(default)]
    controls: RawControls,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawSplit {
    Even,
    Weights,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    up_to_ratio: Ratio,
    fund_share: Ratio,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    min_score: Scaled<2>,
    released_share: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControls {
    avg_cost_per_admission: Option<RawControl<Fen>>,
    admissions: Option<RawControl<u64>>,
    self_pay_share: Option<RawControl<Ratio>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl<L> {
    limit: Option<L>,
    #[serde(default = "all")]
    excess_deducted_ratio: Ratio,
}

/// The whole excess: the default share deducted by a control or the Q4 limit.
fn all() -> Ratio {
    Ratio::ONE
}

impl PaymentPolicy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<PaymentPolicy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        PaymentPolicy::parse(&text).map_err(|inner| PolicyError::InFile {
            path: path.to_path_buf(),
            inner: Box::new(inner),
        })
    }

    /// Parses and validates policy text; a problem names the field's path.
    pub fn parse(text: &str) -> Result<PaymentPolicy, PolicyError> {
        let raw: RawPolicy = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| syntax_or_field(text, e))?;
        compile(raw)
    }
}

fn syntax_or_field(text: &str, error: serde_path_to_error::Error<toml::de::Error>) -> PolicyError {
    let field = error.path().to_string();
    let inner = error.into_inner();
    let line = inner.span().map_or(0, |span| {
        text[..span.start.min(text.len())].lines().count().max(1)
    });
    if field == "." {
        PolicyError::Syntax {
            line,
            message: inner.message().to_string(),
        }
    } else {
        invalid(field, format!("{} (line {line})", inner.message()))
    }
}

fn compile(raw: RawPolicy) -> Result<PaymentPolicy, PolicyError> {
    if raw.rounding.unit_fen < 1 {
        return Err(invalid("rounding.unit_fen", "must be at least 1 fen"));
    }
    let budget = raw.budget;
    let q4 = match (
        budget.q4_deviation_max_ratio,
        budget.q4_excess_deducted_ratio,
    ) {
        (Some(max_deviation), deducted) => Some(Q4Rule {
            max_deviation,
            excess_deducted: deducted.unwrap_or_else(all),
        }),
        (None, Some(_)) => {
            return Err(invalid(
                "budget.q4_excess_deducted_ratio",
                "is given without `q4_deviation_max_ratio`",
            ))
        }
        (None, None) => None,
    };
    Ok(PaymentPolicy {
        name: raw.policy.name,
        region: raw.policy.region,
        provenance: raw.policy.provenance,
        rounding: raw.rounding,
        budget: BudgetRules {
            monthly_split: monthly_split(budget.monthly_split, budget.monthly_weights)?,
            monthly_quota: budget.monthly_quota,
            surplus_retained_max: budget.surplus_retained_max_ratio,
            overspend_bands: overspend_bands(&budget.overspend_bands)?,
            reserve_withheld: budget.reserve_withheld_ratio,
            reserve_release: reserve_release(&budget.reserve_release)?,
            q4,
            controls: controls(budget.controls)?,
            cut_index_for_months_without_claims: budget.cut_index_for_months_without_claims,
        },
        procurement: raw.procurement.map(procurement).transpose()?,
    })
}

fn procurement(raw: RawProcurement) -> Result<ProcurementRules, PolicyError> {
    const FIELD: &str = "procurement";
    for (name, ratio) in [
        ("prepayment_ratio", raw.prepayment_ratio),
        ("savings_retained_ratio", raw.savings_retained_ratio),
    ] {
        if ratio > Ratio::ONE {
            return Err(invalid(
                format!("{FIELD}.{name}"),
                format!("{ratio} is above 1"),
            ));
        }
    }
    if usize::from(raw.offset_start_after_months) >= MONTHS {
        return Err(invalid(
            format!("{FIELD}.offset_start_after_months"),
            format!(
                "{} leaves no month of the year",
                raw.offset_start_after_months
            ),
        ));
    }
    let offset_split = match (raw.offset_months, raw.offset_month_shares) {
        (Some(months), None) if (1..=MONTHS as u8).contains(&months) => OffsetSplit::Even(months),
        (Some(months), None) => {
            return Err(invalid(
                format!("{FIELD}.offset_months"),
                format!("{months} is not 1–12"),
            ))
        }
        (None, Some(shares)) => offset_shares(shares)?,
        (Some(_), Some(_)) => {
            return Err(invalid(
                format!("{FIELD}.offset_month_shares"),
                "is given with `offset_months`: give one of them",
            ))
        }
        (None, None) => {
            return Err(invalid(
                format!("{FIELD}.offset_months"),
                "or `offset_month_shares` is required",
            ))
        }
    };
    if usize::from(raw.offset_start_after_months) + offset_split.months() > MONTHS {
        return Err(invalid(
            format!("{FIELD}.offset_start_after_months"),
            "with the offset months it runs past December even for a prepayment in January",
        ));
    }
    Ok(ProcurementRules {
        prepayment_basis: raw.prepayment_basis,
        prepayment_ratio: raw.prepayment_ratio,
        offset_start_after_months: raw.offset_start_after_months,
        offset_split,
        savings_retained: raw.savings_retained_ratio,
    })
}

fn offset_shares(shares: Vec<Ratio>) -> Result<OffsetSplit, PolicyError> {
    const FIELD: &str = "procurement.offset_month_shares";
    if shares.is_empty() || shares.len() > MONTHS {
        return Err(invalid(
            FIELD,
            format!("needs 1 to 12 shares, not {}", shares.len()),
        ));
    }
    let total: u32 = shares.iter().map(|s| s.bp()).sum();
    if total != Ratio::ONE.bp() {
        return Err(invalid(
            FIELD,
            format!("the shares add up to {}, not 1", Ratio(total)),
        ));
    }
    Ok(OffsetSplit::Shares(shares))
}

fn monthly_split(
    split: RawSplit,
    weights: Option<Vec<Scaled<4>>>,
) -> Result<MonthlySplit, PolicyError> {
    const FIELD: &str = "budget.monthly_weights";
    let weights = match (split, weights) {
        (RawSplit::Even, None) => return Ok(MonthlySplit::Even),
        (RawSplit::Even, Some(_)) => {
            return Err(invalid(
                FIELD,
                "is given but `monthly_split` is \"even\" (use \"weights\")",
            ))
        }
        (RawSplit::Weights, None) => {
            return Err(invalid(
                FIELD,
                "is required when `monthly_split` is \"weights\"",
            ))
        }
        (RawSplit::Weights, Some(weights)) => weights,
    };
    let weights: [Scaled<4>; MONTHS] = weights.try_into().map_err(|w: Vec<_>| {
        invalid(
            FIELD,
            format!("needs 12 weights, one per month, not {}", w.len()),
        )
    })?;
    let mut out = [0u64; MONTHS];
    for (month, (slot, weight)) in out.iter_mut().zip(weights).enumerate() {
        *slot = u64::try_from(weight.0)
            .map_err(|_| invalid(format!("{FIELD}[{month}]"), "must not be negative"))?;
    }
    if out.iter().all(|w| *w == 0) {
        return Err(invalid(FIELD, "at least one weight must be positive"));
    }
    Ok(MonthlySplit::Weights(out))
}

fn overspend_bands(raw: &[RawBand]) -> Result<Vec<OverspendBand>, PolicyError> {
    let mut previous = Ratio::ZERO;
    raw.iter()
        .enumerate()
        .map(|(i, band)| {
            if band.up_to_ratio <= previous {
                return Err(invalid(
                    format!("budget.overspend_bands[{i}].up_to_ratio"),
                    format!(
                        "{} must be above the previous band's bound {}",
                        band.up_to_ratio, previous
                    ),
                ));
            }
            previous = band.up_to_ratio;
            Ok(OverspendBand {
                up_to: band.up_to_ratio,
                fund_share: band.fund_share,
            })
        })
        .collect()
}

fn reserve_release(raw: &[RawRelease]) -> Result<Vec<ReleaseStep>, PolicyError> {
    let mut steps = raw
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let field = |name: &str| format!("budget.reserve_release[{i}].{name}");
            let min_score = Score::from_hundredths(step.min_score.0)
                .map_err(|p| invalid(field("min_score"), p))?;
            let share = match step.released_share.trim() {
                "by_score" => ReleasedShare::ByScore,
                text => ReleasedShare::Fixed(Ratio::parse(text).map_err(|e| {
                    invalid(
                        field("released_share"),
                        format!("{e} (a ratio such as \"0.8\", or \"by_score\")"),
                    )
                })?),
            };
            Ok(ReleaseStep { min_score, share })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
    steps.sort_by_key(|step| std::cmp::Reverse(step.min_score));
    if let Some(pair) = steps.windows(2).find(|w| w[0].min_score == w[1].min_score) {
        return Err(invalid(
            "budget.reserve_release",
            format!("min_score {} is listed twice", pair[0].min_score),
        ));
    }
    Ok(steps)
}

fn controls(raw: RawControls) -> Result<Controls, PolicyError> {
    if let Some(limit) = raw.avg_cost_per_admission.as_ref().and_then(|c| c.limit) {
        if limit.fen() <= 0 {
            return Err(invalid(
                "budget.controls.avg_cost_per_admission.limit",
                "must be positive",
            ));
        }
    }
    Ok(Controls {
        avg_cost_per_admission: raw.avg_cost_per_admission.map(control),
        admissions: raw.admissions.map(control),
        self_pay_share: raw.self_pay_share.map(control),
    })
}

fn control<L>(raw: RawControl<L>) -> Control<L> {
    Control {
        limit: raw.limit,
        excess_deducted: raw.excess_deducted_ratio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy of issue 12, verbatim.
    const ISSUE_EXAMPLE: &str = include_str!("../tests/policies/issue-example.toml");

    #[test]
    fn the_issue_example_loads() {
        let policy = PaymentPolicy::parse(ISSUE_EXAMPLE).unwrap();
        let budget = &policy.budget;
        assert_eq!(budget.monthly_split, MonthlySplit::Even);
        assert_eq!(budget.monthly_quota, QuotaMode::PerMonth);
        assert_eq!(budget.surplus_retained_max, Ratio(500));
        assert_eq!(budget.reserve_withheld, Ratio(500));
        assert_eq!(
            budget.overspend_bands,
            vec![
                OverspendBand {
                    up_to: Ratio(500),
                    fund_share: Ratio(7000)
                },
                OverspendBand {
                    up_to: Ratio(1000),
                    fund_share: Ratio(5000)
                },
            ]
        );
        assert_eq!(policy.rounding, Rounding::default());
    }

    fn problem(text: &str) -> String {
        PaymentPolicy::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        let bad_share = ISSUE_EXAMPLE.replace("\"0.50\"", "\"1.5\"");
        assert!(
            problem(&bad_share).starts_with(
                "payment policy field `budget.overspend_bands[1].fund_share`: ratio 1.5000 is outside 0..1"
            ),
            "{}",
            problem(&bad_share)
        );
        let unordered = ISSUE_EXAMPLE.replace("\"0.10\"", "\"0.05\"");
        assert_eq!(
            problem(&unordered),
            "payment policy field `budget.overspend_bands[1].up_to_ratio`: 5% must be above the previous band's bound 5%"
        );
        let unknown = ISSUE_EXAMPLE.replace("reserve_withheld_ratio", "reserve_ratio");
        assert!(problem(&unknown).contains("unknown field `reserve_ratio`"));
        let missing = ISSUE_EXAMPLE.replace("monthly_split = \"even\"\n", "");
        assert!(problem(&missing).contains("missing field `monthly_split`"));
        let weights = ISSUE_EXAMPLE.replace("\"even\"", "\"weights\"\nmonthly_weights = [1, 2]");
        assert_eq!(
            problem(&weights),
            "payment policy field `budget.monthly_weights`: needs 12 weights, one per month, not 2"
        );
    }

    #[test]
    fn release_steps_and_q4() {
        let text = format!(
            "{ISSUE_EXAMPLE}
[budget.controls.admissions]
limit = 1200
[[budget.reserve_release]]
min_score = 80
released_share = \"by_score\"
[[budget.reserve_release]]
min_score = \"90\"
released_share = \"1\"
"
        )
        .replace(
            "reserve_withheld_ratio = \"0.05\"\n",
            "reserve_withheld_ratio = \"0.05\"\nq4_deviation_max_ratio = \"0.15\"\n",
        );
        let policy = PaymentPolicy::parse(&text).unwrap();
        assert_eq!(
            policy.budget.reserve_release,
            vec![
                ReleaseStep {
                    min_score: Score(9000),
                    share: ReleasedShare::Fixed(Ratio::ONE)
                },
                ReleaseStep {
                    min_score: Score(8000),
                    share: ReleasedShare::ByScore
                },
            ]
        );
        assert_eq!(
            policy.budget.q4,
            Some(Q4Rule {
                max_deviation: Ratio(1500),
                excess_deducted: Ratio::ONE
            })
        );
        assert_eq!(
            policy.budget.controls.admissions,
            Some(Control {
                limit: Some(1200),
                excess_deducted: Ratio::ONE
            })
        );
    }
}
