//! The DRG payment policy of one region and year, read from TOML (see `policies/drg/`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use yibao_domain::{decimal, Fen, Ratio, Rounding};

use crate::scaled::{Factor, Points};
use crate::weights::{Conflict, WeightError, WeightTable};

/// The smallest monthly prepayment ratio the issue allows (85 %).
pub const MIN_PREPAYMENT_RATIO: Ratio = Ratio(8_500);

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("policy field `{field}`: {problem}")]
    Invalid { field: String, problem: String },
    #[error(transparent)]
    Weights(#[from] WeightError),
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// A decimal written as a TOML string or number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum DecimalText {
    Text(String),
    Int(i64),
    Float(f64),
}

impl DecimalText {
    fn text(&self) -> String {
        match self {
            DecimalText::Text(t) => t.clone(),
            DecimalText::Int(n) => n.to_string(),
            DecimalText::Float(f) => {
                decimal::float_literal_text(*f).unwrap_or_else(|| "NaN".into())
            }
        }
    }

    fn scaled(&self, field: &str) -> Result<i64, PolicyError> {
        decimal::parse_scaled(&self.text(), 4).map_err(|e| invalid(field, e.to_string()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    region: String,
    year: i32,
    #[serde(default)]
    rounding: Rounding,
    base_points: RawBasePoints,
    standard_cost: RawStandardCost,
    #[serde(default)]
    coefficients: RawCoefficients,
    #[serde(default)]
    hospitals: Vec<RawHospital>,
    #[serde(default)]
    incomplete: RawIncomplete,
    #[serde(default)]
    bed_day: RawBedDay,
    #[serde(default)]
    multiples: Vec<RawMultiple>,
    readmission: Option<RawReadmission>,
    #[serde(default)]
    special_review: RawSpecialReview,
    settlement: RawSettlement,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasePoints {
    points_per_weight: DecimalText,
    weights: Option<RawWeightFile>,
    history: Option<RawHistory>,
    #[serde(default)]
    overrides: BTreeMap<String, DecimalText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeightFile {
    file: PathBuf,
    code_column: Option<String>,
    weight_column: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    file: PathBuf,
    #[serde(default = "default_year_weights")]
    year_weights: Vec<i64>,
}

fn default_year_weights() -> Vec<i64> {
    vec![1, 2, 7]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandardCost {
    yuan_per_point: DecimalText,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoefficients {
    default: Option<DecimalText>,
    #[serde(default)]
    levels: BTreeMap<String, DecimalText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHospital {
    id: String,
    name: Option<String>,
    level: Option<String>,
    coefficient: Option<DecimalText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncomplete {
    #[serde(default)]
    leaving_types: Vec<String>,
    max_los_days: Option<i64>,
    formula: Option<RawFormula>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBedDay {
    #[serde(default)]
    daily_points: BTreeMap<String, DecimalText>,
    max_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct RawMultiple {
    kind: MultipleKind,
    max_base_points: Option<DecimalText>,
    threshold: DecimalText,
    formula: RawFormula,
    excess_rate: Option<DecimalText>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawFormula {
    Base,
    CostRatio,
    CostRatioCapped,
    BasePlusExcess,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReadmission {
    within_days: i64,
    earlier_stay_ratio: Ratio,
    #[serde(default = "yes")]
    same_hospital: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpecialReview {
    #[serde(default)]
    drgs: Vec<String>,
    #[serde(default = "yes")]
    honour_case_flag: bool,
}

impl Default for RawSpecialReview {
    fn default() -> Self {
        RawSpecialReview {
            drgs: Vec::new(),
            honour_case_flag: true,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettlement {
    drg_budget: Fen,
    reserve_ratio: Ratio,
    prepayment_ratio: Ratio,
}

/// High (cost ratio ≥ threshold) or low (cost ratio ≤ threshold) multiple cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultipleKind {
    High,
    Low,
}

/// How a case's points follow from the DRG's base points `B` and the cost ratio `r` (case cost ÷
/// the DRG's standard cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formula {
    /// `B`
    Base,
    /// `B × r`
    CostRatio,
    /// `B × min(r, 1)`
    CostRatioCapped,
    /// `B + B × (r − threshold) × excess_rate`
    BasePlusExcess { excess_rate: Factor },
}

/// One piece of a piecewise multiple rule: applies to DRGs with base points up to
/// `max_base_points` (the first matching band wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    pub kind: MultipleKind,
    pub max_base_points: Option<Points>,
    pub threshold: Factor,
    pub formula: Formula,
}

/// A hospital under the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hospital {
    pub id: String,
    pub name: Option<String>,
    pub level: Option<String>,
    pub coefficient: Factor,
}

/// Same-DRG readmission rule: the earlier stay's points × `earlier_stay_ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readmission {
    pub within_days: i64,
    pub earlier_stay_ratio: Ratio,
    pub same_hospital: bool,
}

/// A compiled DRG payment policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub region: String,
    pub year: i32,
    pub rounding: Rounding,
    pub base_points: BTreeMap<String, Points>,
    /// DRGs the weight table lists without a weight (paid outside points).
    pub unweighted: BTreeMap<String, String>,
    pub weight_conflicts: Vec<Conflict>,
    /// Yuan per point used to turn base points into a DRG's standard cost, with four decimals.
    pub yuan_per_point: Factor,
    pub default_coefficient: Factor,
    pub level_coefficients: BTreeMap<String, Factor>,
    pub hospitals: BTreeMap<String, Hospital>,
    pub incomplete_leaving_types: BTreeSet<String>,
    pub incomplete_max_los_days: Option<i64>,
    pub incomplete_formula: Formula,
    pub bed_day_points: BTreeMap<String, Points>,
    pub bed_day_max_days: Option<i64>,
    pub bands: Vec<Band>,
    pub readmission: Option<Readmission>,
    pub special_review_drgs: BTreeSet<String>,
    pub honour_special_review_flag: bool,
    pub drg_budget: Fen,
    pub reserve_ratio: Ratio,
    pub prepayment_ratio: Ratio,
}

impl Policy {
    /// Reads a policy file; relative data paths are resolved against the file's folder.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Policy::from_toml(&text, base).map_err(|e| match e {
            PolicyError::Toml { source, .. } => PolicyError::Toml {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })
    }

    /// Parses policy TOML; relative data paths are resolved against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Toml {
            path: PathBuf::from("<policy>"),
            source: Box::new(e),
        })?;
        compile(raw, base_dir)
    }

    /// The 差异系数 of a hospital: its own, else its level's, else the default.
    pub fn coefficient(&self, hospital: &str) -> Factor {
        self.hospitals
            .get(hospital)
            .map_or(self.default_coefficient, |h| h.coefficient)
    }
}

fn compile(raw: RawPolicy, base_dir: &Path) -> Result<Policy, PolicyError> {
    let table = base_point_table(&raw.base_points, base_dir)?;
    let default_coefficient = match &raw.coefficients.default {
        Some(d) => Factor(d.scaled("coefficients.default")?),
        None => Factor::ONE,
    };
    let level_coefficients = scaled_map(&raw.coefficients.levels, "coefficients.levels", Factor)?;
    let hospitals = compile_hospitals(&raw.hospitals, default_coefficient, &level_coefficients)?;
    let settlement = &raw.settlement;
    if settlement.prepayment_ratio < MIN_PREPAYMENT_RATIO {
        return Err(invalid(
            "settlement.prepayment_ratio",
            format!(
                "{} is below the minimum of 85%",
                settlement.prepayment_ratio
            ),
        ));
    }
    if settlement.drg_budget.fen() <= 0 {
        return Err(invalid("settlement.drg_budget", "must be positive"));
    }
    let yuan_per_point = Factor(
        raw.standard_cost
            .yuan_per_point
            .scaled("standard_cost.yuan_per_point")?,
    );
    if yuan_per_point.0 <= 0 {
        return Err(invalid("standard_cost.yuan_per_point", "must be positive"));
    }
    Ok(Policy {
        region: raw.region,
        year: raw.year,
        rounding: raw.rounding,
        base_points: table.points,
        unweighted: table.unweighted,
        weight_conflicts: table.conflicts,
        yuan_per_point,
        default_coefficient,
        level_coefficients,
        hospitals,
        incomplete_leaving_types: raw.incomplete.leaving_types.iter().cloned().collect(),
        incomplete_max_los_days: raw.incomplete.max_los_days,
        incomplete_formula: formula(
            raw.incomplete
                .formula
                .unwrap_or(RawFormula::CostRatioCapped),
            None,
            "incomplete.formula",
        )?,
        bed_day_points: scaled_map(&raw.bed_day.daily_points, "bed_day.daily_points", Points)?,
        bed_day_max_days: raw.bed_day.max_days,
        bands: compile_bands(&raw.multiples)?,
        readmission: raw.readmission.map(|r| Readmission {
            within_days: r.within_days,
            earlier_stay_ratio: r.earlier_stay_ratio,
            same_hospital: r.same_hospital,
        }),
        special_review_drgs: raw.special_review.drgs.into_iter().collect(),
        honour_special_review_flag: raw.special_review.honour_case_flag,
        drg_budget: settlement.drg_budget,
        reserve_ratio: settlement.reserve_ratio,
        prepayment_ratio: settlement.prepayment_ratio,
    })
}

fn base_point_table(raw: &RawBasePoints, base_dir: &Path) -> Result<WeightTable, PolicyError> {
    let per_weight = Points(
        raw.points_per_weight
            .scaled("base_points.points_per_weight")?,
    );
    let mut table = match (&raw.weights, &raw.history) {
        (Some(w), None) => WeightTable::from_csv(
            &base_dir.join(&w.file),
            w.code_column.as_deref(),
            w.weight_column.as_deref(),
            per_weight,
        )?,
        (None, Some(h)) => {
            WeightTable::from_history(&base_dir.join(&h.file), &h.year_weights, per_weight)?
        }
        (None, None) => WeightTable::default(),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "base_points",
                "give either `weights` or `history`, not both",
            ))
        }
    };
    for (drg, points) in scaled_map(&raw.overrides, "base_points.overrides", Points)? {
        table.unweighted.remove(&drg);
        table.points.insert(drg, points);
    }
    if table.points.is_empty() {
        return Err(invalid("base_points", "no DRG has base points"));
    }
    Ok(table)
}

fn scaled_map<T>(
    raw: &BTreeMap<String, DecimalText>,
    field: &str,
    wrap: fn(i64) -> T,
) -> Result<BTreeMap<String, T>, PolicyError> {
    raw.iter()
        .map(|(key, value)| Ok((key.clone(), wrap(value.scaled(&format!("{field}.{key}"))?))))
        .collect()
}

fn compile_hospitals(
    raw: &[RawHospital],
    default: Factor,
    levels: &BTreeMap<String, Factor>,
) -> Result<BTreeMap<String, Hospital>, PolicyError> {
    let mut hospitals = BTreeMap::new();
    for h in raw {
        let coefficient = match (&h.coefficient, &h.level) {
            (Some(c), _) => Factor(c.scaled(&format!("hospitals.{}.coefficient", h.id))?),
            (None, Some(level)) => *levels.get(level).ok_or_else(|| {
                invalid(
                    format!("hospitals.{}.level", h.id),
                    format!("no coefficient for level `{level}`"),
                )
            })?,
            (None, None) => default,
        };
        let hospital = Hospital {
            id: h.id.clone(),
            name: h.name.clone(),
            level: h.level.clone(),
            coefficient,
        };
        if hospitals.insert(h.id.clone(), hospital).is_some() {
            return Err(invalid(
                "hospitals",
                format!("hospital `{}` is listed twice", h.id),
            ));
        }
    }
    Ok(hospitals)
}

fn compile_bands(raw: &[RawMultiple]) -> Result<Vec<Band>, PolicyError> {
    raw.iter()
        .enumerate()
        .map(|(i, m)| {
            let field = |name: &str| format!("multiples[{i}].{name}");
            let threshold = Factor(m.threshold.scaled(&field("threshold"))?);
            let valid = match m.kind {
                MultipleKind::High => threshold > Factor::ONE,
                MultipleKind::Low => threshold.0 > 0 && threshold < Factor::ONE,
            };
            if !valid {
                return Err(invalid(
                    field("threshold"),
                    format!("{threshold} is not a valid {:?} multiple", m.kind),
                ));
            }
            let max_base_points = m
                .max_base_points
                .as_ref()
                .map(|p| p.scaled(&field("max_base_points")).map(Points))
                .transpose()?;
            let formula = formula(m.formula, m.excess_rate.as_ref(), &field("excess_rate"))?;
            Ok(Band {
                kind: m.kind,
                max_base_points,
                threshold,
                formula,
            })
        })
        .collect()
}

fn formula(
    raw: RawFormula,
    excess_rate: Option<&DecimalText>,
    field: &str,
) -> Result<Formula, PolicyError> {
    Ok(match raw {
        RawFormula::Base => Formula::Base,
        RawFormula::CostRatio => Formula::CostRatio,
        RawFormula::CostRatioCapped => Formula::CostRatioCapped,
        RawFormula::BasePlusExcess => {
            let rate = excess_rate
                .ok_or_else(|| invalid(field, "base_plus_excess needs `excess_rate`"))?;
            Formula::BasePlusExcess {
                excess_rate: Factor(rate.scaled(field)?),
            }
        }
    })
}
