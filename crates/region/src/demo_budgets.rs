//! The demo region's budgets (`policies/payment/jiujiang-demo-budgets.toml`): each institution ×
//! scheme's annual index is its claims of the year times one of the file's ratios, institutions
//! taking them in turn by code, so the demo's year-end shows surplus, the overspend bands and
//! 超支拒付 alike. Pure: the claims are given.

use std::collections::BTreeMap;

use serde::Deserialize;
use yibao_domain::{decimal, Fen, Rounding, BP_PER_ONE};
use yibao_ledger::provider::ProviderKey;
use yibao_provider_payment::{Budget, ControlLimits};

use crate::RegionError;

/// The largest index ratio accepted, in basis points (5 × the claims).
const MAX_RATIO_BP: i64 = 5 * BP_PER_ONE as i64;

/// The demo's budget rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoBudgets {
    /// Where the ratios come from.
    pub provenance: String,
    /// Index ÷ claims, in basis points, taken in turn.
    pub index_ratios_bp: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    demo_budgets: Section,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    provenance: String,
    index_ratios: Vec<String>,
}

fn refuse(field: String, problem: impl Into<String>) -> RegionError {
    RegionError::Input {
        what: format!("demo budgets, field `{field}`"),
        problem: problem.into(),
    }
}

impl DemoBudgets {
    /// Reads and checks the file's text.
    pub fn from_toml_str(text: &str) -> Result<DemoBudgets, RegionError> {
        let file: File = toml::from_str(text).map_err(|e| RegionError::Input {
            what: "demo budgets".into(),
            problem: e.to_string(),
        })?;
        let ratios = &file.demo_budgets.index_ratios;
        if ratios.is_empty() {
            return Err(refuse(
                "demo_budgets.index_ratios".into(),
                "at least one ratio",
            ));
        }
        let index_ratios_bp = ratios
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let field = format!("demo_budgets.index_ratios[{i}]");
                let bp = decimal::parse_scaled(text, 4)
                    .map_err(|e| refuse(field.clone(), format!("`{text}`: {e}")))?;
                if bp <= 0 || bp > MAX_RATIO_BP {
                    return Err(refuse(
                        field,
                        format!("`{text}` is not above 0 and at most 5"),
                    ));
                }
                Ok(bp)
            })
            .collect::<Result<_, _>>()?;
        Ok(DemoBudgets {
            provenance: file.demo_budgets.provenance,
            index_ratios_bp,
        })
    }

    /// The budgets of `year`: one per institution × scheme with positive claims, the index its
    /// claims × the ratio of its institution's turn, rounded by `rounding`.
    pub fn budgets(
        &self,
        year: i32,
        claims: &BTreeMap<ProviderKey, Fen>,
        rounding: Rounding,
    ) -> Vec<Budget> {
        let mut institutions: Vec<&str> = claims.keys().map(|(code, _)| code.as_str()).collect();
        institutions.dedup();
        claims
            .iter()
            .filter(|(_, claims)| claims.fen() > 0)
            .map(|((code, insutype), claims)| {
                let turn = institutions.binary_search(&code.as_str()).unwrap_or(0);
                let ratio_bp = self.index_ratios_bp[turn % self.index_ratios_bp.len()];
                Budget {
                    fixmedins_code: code.clone(),
                    insutype: *insutype,
                    year,
                    annual_index: rounding.div(
                        i128::from(claims.fen()) * i128::from(ratio_bp),
                        i128::from(BP_PER_ONE),
                    ),
                    limits: ControlLimits::default(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yibao_domain::Code;

    #[test]
    fn institutions_take_the_ratios_in_turn() {
        let rule = DemoBudgets::from_toml_str(crate::reference::DEMO_BUDGETS).unwrap();
        assert_eq!(rule.index_ratios_bp, [11_000, 10_000, 9_700, 9_300, 8_500]);
        let claims: BTreeMap<ProviderKey, Fen> = [
            (("H1".to_string(), Code::lit("310")), Fen(1_000_001)),
            (("H1".to_string(), Code::lit("390")), Fen(200)),
            (("H2".to_string(), Code::lit("390")), Fen(300)),
            (("H3".to_string(), Code::lit("390")), Fen(0)),
        ]
        .into_iter()
        .collect();
        let budgets = rule.budgets(2025, &claims, Rounding::default());
        let indices: Vec<(&str, i64)> = budgets
            .iter()
            .map(|b| (b.fixmedins_code.as_str(), b.annual_index.fen()))
            .collect();
        assert_eq!(indices, [("H1", 1_100_001), ("H1", 220), ("H2", 300)]);
    }

    #[test]
    fn a_bad_ratio_is_named() {
        let text = "[demo_budgets]\nprovenance = \"x\"\nindex_ratios = [\"1\", \"6\"]\n";
        let error = DemoBudgets::from_toml_str(text).unwrap_err().to_string();
        assert!(error.contains("demo_budgets.index_ratios[1]"), "{error}");
        let empty = "[demo_budgets]\nprovenance = \"x\"\nindex_ratios = []\n";
        assert!(DemoBudgets::from_toml_str(empty).is_err());
    }
}
