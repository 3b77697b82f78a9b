//! The clearing policy (`policies/clearing/`): how the prepayment (预付金) is sized and topped up,
//! whether it is offset against a month's claims, the reserve withheld, and the one rounding. Every
//! number of the clearing lives here; the file is validated on load and errors name the field.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use yibao_domain::{Code, Ratio, Rounding};

/// Why a clearing policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read clearing policy {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("clearing policy field `{field}`: {problem}")]
    Invalid { field: String, problem: String },
    #[error("clearing policy {path}: {inner}")]
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

/// How the prepayment an insured region keeps with a treating region is sized and kept up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepaymentRule {
    /// Months of spending the prepayment covers (commonly "about two months").
    pub months_covered: u32,
    /// How many earlier months' fund payments owed the size is averaged over (12: the prior year).
    pub basis_months: u32,
    /// Topped up to its size when the balance after the month's offset is below size × this ratio.
    pub top_up_below_ratio: Ratio,
    /// Whether the month's net claims are first met from the prepayment (deduction 30).
    pub offset_claims: bool,
}

/// A province's (or a pair of regions') clearing rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingPolicy {
    pub name: String,
    pub provenance: String,
    /// The one rounding of every computed amount (prepayment size, reserve).
    pub rounding: Rounding,
    pub prepayment: PrepaymentRule,
    /// Share of each month's net claims withheld as a reserve (deduction 40, 预留金暂扣).
    pub reserve_withheld_ratio: Ratio,
    /// The fund a month's pair-level amounts are posted to in the books when no fund paid anything
    /// in it (only deductions or a prepayment top-up): [`crate::FundShares`].
    pub unattributed_fund: Code,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    policy: RawHeader,
    rounding: Rounding,
    prepayment: RawPrepayment,
    reserve: RawReserve,
    books: RawBooks,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    provenance: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrepayment {
    months_covered: u32,
    basis_months: u32,
    top_up_below_ratio: Ratio,
    offset_claims: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReserve {
    withheld_ratio: Ratio,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBooks {
    unattributed_fund: Code,
}

/// The longest averaging basis accepted (ten years of months).
const BASIS_MONTHS_MAX: u32 = 120;

impl ClearingPolicy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<ClearingPolicy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ClearingPolicy::parse(&text).map_err(|inner| PolicyError::InFile {
            path: path.to_path_buf(),
            inner: Box::new(inner),
        })
    }

    /// Reads and validates a policy from TOML text.
    pub fn parse(text: &str) -> Result<ClearingPolicy, PolicyError> {
        let deserializer = toml::Deserializer::new(text);
        let raw: RawPolicy = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            invalid(field, e.into_inner().message().trim().to_string())
        })?;
        validate(raw)
    }
}

fn validate(raw: RawPolicy) -> Result<ClearingPolicy, PolicyError> {
    if raw.policy.name.trim().is_empty() {
        return Err(invalid("policy.name", "must not be empty"));
    }
    if raw.policy.provenance.trim().is_empty() {
        return Err(invalid(
            "policy.provenance",
            "must say where the numbers come from",
        ));
    }
    if raw.rounding.unit_fen < 1 {
        return Err(invalid("rounding.unit_fen", "must be at least 1 fen"));
    }
    let prepayment = raw.prepayment;
    if prepayment.months_covered > 12 {
        return Err(invalid(
            "prepayment.months_covered",
            format!("{} months is more than a year", prepayment.months_covered),
        ));
    }
    if !(1..=BASIS_MONTHS_MAX).contains(&prepayment.basis_months) {
        return Err(invalid(
            "prepayment.basis_months",
            format!("must be 1..={BASIS_MONTHS_MAX}"),
        ));
    }
    if raw.reserve.withheld_ratio == Ratio::ONE {
        return Err(invalid(
            "reserve.withheld_ratio",
            "withholding the whole month leaves nothing to clear",
        ));
    }
    if raw.books.unattributed_fund.is_empty() {
        return Err(invalid(
            "books.unattributed_fund",
            "must name a fund_pay_type",
        ));
    }
    Ok(ClearingPolicy {
        name: raw.policy.name,
        provenance: raw.policy.provenance,
        rounding: raw.rounding,
        prepayment: PrepaymentRule {
            months_covered: prepayment.months_covered,
            basis_months: prepayment.basis_months,
            top_up_below_ratio: prepayment.top_up_below_ratio,
            offset_claims: prepayment.offset_claims,
        },
        reserve_withheld_ratio: raw.reserve.withheld_ratio,
        unattributed_fund: raw.books.unattributed_fund,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../policies/clearing/jiangxi.toml");

    #[test]
    fn the_shipped_policy_loads() {
        let policy = ClearingPolicy::parse(SHIPPED).unwrap();
        assert_eq!(policy.prepayment.months_covered, 2);
        assert_eq!(policy.prepayment.basis_months, 12);
    }

    fn error_of(from: &str, to: &str) -> String {
        let text = SHIPPED.replacen(from, to, 1);
        assert_ne!(text, SHIPPED, "{from} not in the shipped policy");
        ClearingPolicy::parse(&text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "months_covered = 2",
                "months_covered = 13",
                "prepayment.months_covered",
            ),
            (
                "basis_months = 12",
                "basis_months = 0",
                "prepayment.basis_months",
            ),
            (
                "top_up_below_ratio = \"0.5\"",
                "top_up_below_ratio = \"1.5\"",
                "prepayment.top_up_below_ratio",
            ),
            (
                "withheld_ratio = \"0\"",
                "withheld_ratio = \"1\"",
                "reserve.withheld_ratio",
            ),
            (
                "offset_claims = true",
                "offset_claims = 1",
                "prepayment.offset_claims",
            ),
            ("unit_fen = 1", "unit_fen = 0", "rounding.unit_fen"),
            ("[reserve]", "[reserve]\nextra = 1", "reserve"),
            (
                "unattributed_fund = \"999997\"",
                "unattributed_fund = \"\"",
                "books.unattributed_fund",
            ),
        ];
        for (from, to, field) in cases {
            let message = error_of(from, to);
            assert!(message.contains(field), "{to}: {message}");
        }
    }
}
