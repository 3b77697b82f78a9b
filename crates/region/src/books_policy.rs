//! The books policy (`policies/jiujiang-books.toml`): balances brought forward and yearly
//! allocations to the funds, per insured person of a scheme. Validated on load with messages
//! naming the field.

use serde::Deserialize;
use yibao_domain::{Code, Fen};

use crate::RegionError;

/// A region's books parameters.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BooksPolicy {
    pub admdvs: Code,
    pub name: String,
    #[serde(default)]
    pub opening_balances: Vec<OpeningBalance>,
    #[serde(default)]
    pub allocations: Vec<Allocation>,
}

/// 累计结余 brought forward to 1 January, per insured person of a scheme.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningBalance {
    pub fund: Code,
    pub insutype: Code,
    /// Count only civil servants (`cvlserv_flag` 1) of the scheme.
    #[serde(default)]
    pub civil_servants_only: bool,
    pub per_insured: Fen,
}

/// Where an allocation's money comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationSource {
    /// A budget allocation (posted as fiscal subsidy).
    Fiscal,
    /// A premium paid by the person (posted as individual contribution).
    Individual,
    /// A transfer out of `from_fund`.
    Fund,
}

/// Yearly income of a fund per contributing person of a scheme, posted on 1 January.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    pub name: String,
    pub fund: Code,
    pub insutype: Code,
    #[serde(default)]
    pub civil_servants_only: bool,
    pub source: AllocationSource,
    /// The paying fund when `source` is `fund`.
    #[serde(default)]
    pub from_fund: Option<Code>,
    pub per_person: Fen,
}

impl BooksPolicy {
    /// Parses and validates the policy text.
    pub fn from_toml_str(text: &str) -> Result<BooksPolicy, RegionError> {
        let policy: BooksPolicy = toml::from_str(text).map_err(|e| RegionError::BooksPolicy {
            field: "-".into(),
            problem: e.to_string(),
        })?;
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), RegionError> {
        for (index, balance) in self.opening_balances.iter().enumerate() {
            if balance.per_insured < Fen::ZERO {
                return Err(invalid(
                    format!("opening_balances[{index}].per_insured"),
                    "must not be negative",
                ));
            }
        }
        for (index, allocation) in self.allocations.iter().enumerate() {
            let field = |name: &str| format!("allocations[{index}].{name}");
            if allocation.per_person < Fen::ZERO {
                return Err(invalid(field("per_person"), "must not be negative"));
            }
            match (allocation.source, allocation.from_fund) {
                (AllocationSource::Fund, None) => {
                    return Err(invalid(
                        field("from_fund"),
                        "is required when source = \"fund\"",
                    ))
                }
                (AllocationSource::Fund, Some(from)) if from == allocation.fund => {
                    return Err(invalid(field("from_fund"), "must differ from `fund`"))
                }
                (AllocationSource::Fiscal | AllocationSource::Individual, Some(_)) => {
                    return Err(invalid(
                        field("from_fund"),
                        "is only allowed when source = \"fund\"",
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn invalid(field: String, problem: &str) -> RegionError {
    RegionError::BooksPolicy {
        field,
        problem: problem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_file() {
        let text = include_str!("../../../policies/jiujiang-books.toml");
        let policy = BooksPolicy::from_toml_str(text).unwrap();
        assert_eq!(policy.admdvs, Code::lit("360400"));
        assert!(policy
            .allocations
            .iter()
            .any(|a| a.source == AllocationSource::Fund));
    }

    #[test]
    fn names_the_field_of_a_transfer_without_payer() {
        let text =
            "admdvs = \"360400\"\nname = \"x\"\n[[allocations]]\nname = \"a\"\nfund = \"390200\"\n\
                    insutype = \"390\"\nsource = \"fund\"\nper_person = \"1.00\"\n";
        let error = BooksPolicy::from_toml_str(text).unwrap_err().to_string();
        assert!(error.contains("allocations[0].from_fund"), "{error}");
    }
}
