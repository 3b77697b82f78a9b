//! Collection policy as data: per-year contribution rates and amounts, subsidies and waiting
//! rules of one pooling region, read from TOML (`policies/jiujiang-collection.toml`) and validated
//! on load with messages naming the field.

use serde::Deserialize;
use yibao_domain::{Code, Fen, Ratio, Rounding};

use crate::person::Identity;
use crate::waiting::WaitingPolicy;

/// A region's collection policy for several years.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionPolicy {
    pub admdvs: Code,
    pub name: String,
    #[serde(default)]
    pub rounding: Rounding,
    pub years: Vec<YearPolicy>,
}

/// Everything that applies to one calendar (insurance) year.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearPolicy {
    pub year: i32,
    /// Where the year's figures come from.
    pub provenance: String,
    /// Waiting rules for residents' enrolments; `None`: benefits from enrolment.
    #[serde(default)]
    pub waiting: Option<WaitingPolicy>,
    pub resident: ResidentPolicy,
    pub worker: WorkerPolicy,
}

/// Residents' (390) per-person financing.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentPolicy {
    /// Individual contribution per person and year.
    pub individual: Fen,
    /// Fiscal subsidy per person and year.
    pub fiscal_subsidy: Fen,
    pub subsidy_shares: SubsidyShares,
    /// Subsidies of the individual contribution for poor groups; a person holding several
    /// identities gets the most generous one.
    #[serde(default)]
    pub identity_subsidies: Vec<IdentitySubsidy>,
}

/// How the fiscal subsidy is split between levels of government; the shares sum to 1 and the
/// city-county share takes the rounding remainder.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsidyShares {
    pub central: Ratio,
    pub province: Ratio,
    pub city_county: Ratio,
}

/// A subsidy of the individual contribution for listed identities (资助参保, paid by medical
/// assistance).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySubsidy {
    pub name: String,
    pub identities: Vec<Identity>,
    pub subsidy: SubsidyAmount,
}

/// Size of an identity subsidy.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SubsidyAmount {
    /// The whole individual contribution (特困: 全额资助).
    Full,
    /// A fixed amount (定额资助), at most the individual contribution.
    Fixed { amount: Fen },
    /// A share of the individual contribution (e.g. ≥ 60 % in Hebei).
    Share { share: Ratio },
}

/// Workers' (310) contribution and account rules.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerPolicy {
    /// Prior-year all-urban average monthly wage, the reference for floor, ceiling and
    /// flexible employment.
    pub average_monthly_wage: Fen,
    /// Wage-base floor in percent of the average wage (commonly 60).
    pub base_floor_percent: u32,
    /// Wage-base ceiling in percent of the average wage (commonly 300).
    pub base_ceiling_percent: u32,
    pub employer_rate: Ratio,
    pub individual_rate: Ratio,
    /// Flexible employment: whole rate paid by the person.
    pub flexible_rate: Ratio,
    /// Flexible employment base in percent of the average wage.
    pub flexible_base_percent: u32,
    /// Share of the flexible base credited to the personal account.
    pub flexible_account_rate: Ratio,
    /// Fixed monthly personal-account credit of a retiree, from the pooling fund.
    pub retiree_monthly_credit: Fen,
    /// Extra monthly account credits of civil servants, from the civil-servant subsidy.
    #[serde(default)]
    pub civil_servant: Option<CivilServantCredits>,
}

/// Civil servants' monthly personal-account credits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CivilServantCredits {
    pub in_service_monthly: Fen,
    pub retired_monthly: Fen,
}

/// A policy file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("collection policy is not valid: {0}")]
    Toml(String),
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("no collection policy for year {year} (the file has {available})")]
    NoYear { year: i32, available: String },
}

impl CollectionPolicy {
    /// Parses and validates a policy from TOML text.
    pub fn from_toml_str(text: &str) -> Result<CollectionPolicy, PolicyError> {
        let policy: CollectionPolicy =
            toml::from_str(text).map_err(|e| PolicyError::Toml(e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The rules of `year`.
    pub fn year(&self, year: i32) -> Result<&YearPolicy, PolicyError> {
        self.years
            .iter()
            .find(|y| y.year == year)
            .ok_or_else(|| PolicyError::NoYear {
                year,
                available: self
                    .years
                    .iter()
                    .map(|y| y.year.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn validate(&self) -> Result<(), PolicyError> {
        if self.admdvs.as_str().len() != 6
            || !self.admdvs.as_str().bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid(
                "admdvs",
                format!("`{}` is not a 6-digit division code", self.admdvs),
            ));
        }
        if self.years.is_empty() {
            return Err(invalid("years", "at least one year is required"));
        }
        for (index, year) in self.years.iter().enumerate() {
            if self.years[..index].iter().any(|y| y.year == year.year) {
                return Err(invalid(
                    format!("years[{index}].year"),
                    format!("{} appears twice", year.year),
                ));
            }
            year.validate(&format!("years[{}]", year.year))?;
        }
        Ok(())
    }
}

impl YearPolicy {
    fn validate(&self, at: &str) -> Result<(), PolicyError> {
        if let Some(waiting) = &self.waiting {
            validate_waiting(waiting, &format!("{at}.waiting"))?;
        }
        self.resident.validate(&format!("{at}.resident"))?;
        self.worker.validate(&format!("{at}.worker"))
    }
}

fn validate_waiting(waiting: &WaitingPolicy, at: &str) -> Result<(), PolicyError> {
    if waiting.collection_window.opens == waiting.collection_window.closes {
        return Err(invalid(
            format!("{at}.collection_window"),
            "opens and closes on the same day",
        ));
    }
    if waiting.fixed_wait_months > 12 {
        return Err(invalid(
            format!("{at}.fixed_wait_months"),
            "more than 12 months",
        ));
    }
    Ok(())
}

impl ResidentPolicy {
    fn validate(&self, at: &str) -> Result<(), PolicyError> {
        non_negative(self.individual, &format!("{at}.individual"))?;
        non_negative(self.fiscal_subsidy, &format!("{at}.fiscal_subsidy"))?;
        let shares = self.subsidy_shares;
        let sum_bp = shares.central.bp() + shares.province.bp() + shares.city_county.bp();
        if sum_bp != Ratio::ONE.bp() {
            let sum = yibao_domain::decimal::format_scaled(i64::from(sum_bp), 4);
            return Err(invalid(
                format!("{at}.subsidy_shares"),
                format!("shares sum to {sum}, must be 1"),
            ));
        }
        for (index, rule) in self.identity_subsidies.iter().enumerate() {
            self.validate_identity_subsidy(
                index,
                rule,
                &format!("{at}.identity_subsidies[{index}]"),
            )?;
        }
        Ok(())
    }

    fn validate_identity_subsidy(
        &self,
        index: usize,
        rule: &IdentitySubsidy,
        at: &str,
    ) -> Result<(), PolicyError> {
        if rule.identities.is_empty() {
            return Err(invalid(format!("{at}.identities"), "lists no identity"));
        }
        for identity in &rule.identities {
            if let Some(earlier) = self.identity_subsidies[..index]
                .iter()
                .position(|r| r.identities.contains(identity))
            {
                return Err(invalid(
                    format!("{at}.identities"),
                    format!("{identity} is already subsidised by identity_subsidies[{earlier}]"),
                ));
            }
        }
        if let SubsidyAmount::Fixed { amount } = rule.subsidy {
            non_negative(amount, &format!("{at}.subsidy.amount"))?;
            if amount > self.individual {
                return Err(invalid(
                    format!("{at}.subsidy.amount"),
                    format!(
                        "{amount} exceeds the individual contribution {}",
                        self.individual
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl WorkerPolicy {
    fn validate(&self, at: &str) -> Result<(), PolicyError> {
        if self.average_monthly_wage <= Fen::ZERO {
            return Err(invalid(
                format!("{at}.average_monthly_wage"),
                "must be positive",
            ));
        }
        if self.base_floor_percent == 0 || self.base_floor_percent > self.base_ceiling_percent {
            return Err(invalid(
                format!("{at}.base_floor_percent"),
                format!(
                    "{} must be positive and at most base_ceiling_percent {}",
                    self.base_floor_percent, self.base_ceiling_percent
                ),
            ));
        }
        if self.flexible_base_percent == 0 {
            return Err(invalid(
                format!("{at}.flexible_base_percent"),
                "must be positive",
            ));
        }
        non_negative(
            self.retiree_monthly_credit,
            &format!("{at}.retiree_monthly_credit"),
        )?;
        if let Some(credits) = self.civil_servant {
            non_negative(
                credits.in_service_monthly,
                &format!("{at}.civil_servant.in_service_monthly"),
            )?;
            non_negative(
                credits.retired_monthly,
                &format!("{at}.civil_servant.retired_monthly"),
            )?;
        }
        Ok(())
    }
}

fn non_negative(amount: Fen, field: &str) -> Result<(), PolicyError> {
    if amount < Fen::ZERO {
        return Err(invalid(field, format!("{amount} is negative")));
    }
    Ok(())
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}
