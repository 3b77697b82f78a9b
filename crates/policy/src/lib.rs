//! Benefit policy as data. A policy file (TOML) holds one version of one pooling region's rules
//! for all its schemes: levels, funds, benefit regimes (buckets) with deductibles, ratio tables
//! and caps, remote-care reductions, and the later layers (large-amount, catastrophic, civil
//! servant, assistance, backstop, account). [`Policy::load`] parses and validates it; every
//! problem is reported with the path of the offending field. No policy number lives in Rust code.

mod model;
mod regimes;
mod remote;
mod validate;

use std::path::Path;

use chrono::NaiveDate;
pub use model::*;
pub use regimes::Entitlement;
pub use remote::{
    area_contains, filing_status, FiledStay, FilingStatus, NoDirectSettlement, Place, RateClass,
    RateClasses, RemoteRules,
};
pub use validate::PolicyError;
use yibao_domain::Code;

/// Where a visit happened relative to the pooling region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    In,
    OutReferred,
    OutUnreferred,
}

impl RegionFilter {
    /// Whether a visit at `place` matches this filter: `in`/`out`/`out_referred`/`out_unreferred`
    /// read the rate class, the others the filing status of care outside the region.
    pub fn matches(self, place: Place) -> bool {
        let region = place.region;
        let status = |wanted: FilingStatus| place.filing == Some(wanted);
        match self {
            RegionFilter::Any => true,
            RegionFilter::In => region == Region::In,
            RegionFilter::Out => region != Region::In,
            RegionFilter::OutReferred => region == Region::OutReferred,
            RegionFilter::OutUnreferred => region == Region::OutUnreferred,
            RegionFilter::FiledReferral => status(FilingStatus::Referral),
            RegionFilter::FiledLongTerm => status(FilingStatus::LongTerm),
            RegionFilter::FiledEmergency => status(FilingStatus::Emergency),
            RegionFilter::FiledTemporary => status(FilingStatus::Temporary),
            RegionFilter::InProvince => status(FilingStatus::InProvince),
            RegionFilter::Unfiled => status(FilingStatus::Unfiled),
        }
    }
}

/// True when `list` is empty (no restriction) or contains `value`.
pub fn open_match<T: PartialEq>(list: &[T], value: &T) -> bool {
    list.is_empty() || list.contains(value)
}

impl Policy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Policy::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parses and validates policy text.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy =
            toml::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        validate::validate(&policy)?;
        Ok(policy)
    }

    /// The scheme for an `insutype`.
    pub fn scheme(&self, insutype: Code) -> Option<&Scheme> {
        self.schemes.iter().find(|s| s.insutype == insutype)
    }

    /// The deductible level of a national `hosp_lv`.
    pub fn level_of(&self, hosp_lv: Code) -> Option<&LevelMap> {
        self.levels.iter().find(|l| l.hosp_lv.contains(&hosp_lv))
    }

    /// Name of a deductible level (一级及以下 …).
    pub fn level_name(&self, level: u8) -> &str {
        self.levels
            .iter()
            .find(|l| l.level == level)
            .map_or("", |l| l.name.as_str())
    }

    /// A fund by `fund_pay_type`.
    pub fn fund(&self, code: Code) -> Option<&Fund> {
        self.funds.iter().find(|f| f.code == code)
    }

    /// Whether an institution's `admdvs` lies in this pooling region.
    pub fn is_in_region(&self, medins_admdvs: &str) -> bool {
        self.is_in_region_bytes(medins_admdvs.as_bytes())
    }

    /// [`Policy::is_in_region`] on raw bytes (a [`Code`]'s, on the hot path).
    pub fn is_in_region_bytes(&self, medins_admdvs: &[u8]) -> bool {
        self.policy
            .in_region_prefixes
            .iter()
            .any(|p| medins_admdvs.starts_with(p.as_bytes()))
    }

    /// Whether this version is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        date >= self.policy.effective_from && self.policy.effective_to.is_none_or(|to| date <= to)
    }
}

#[cfg(test)]
mod tests;
