//! Checks a parsed policy for consistency; every error names the field path.

use std::collections::HashSet;

use yibao_domain::{Code, Fen};

use crate::model::*;

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("policy syntax: {0}")]
    Syntax(String),
    #[error("policy field `{field}`: {problem}")]
    Invalid { field: String, problem: String },
    #[error("policy {path}: {inner}")]
    InFile {
        path: String,
        inner: Box<PolicyError>,
    },
}

impl PolicyError {
    pub(crate) fn in_file(self, path: &std::path::Path) -> PolicyError {
        PolicyError::InFile {
            path: path.display().to_string(),
            inner: Box::new(self),
        }
    }
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

pub(crate) fn validate(policy: &Policy) -> Result<(), PolicyError> {
    validate_header(&policy.policy)?;
    validate_remote(&policy.remote, &policy.policy)?;
    let levels = validate_levels(&policy.levels)?;
    let funds = validate_funds(&policy.funds)?;
    let ctx = Ctx {
        levels: &levels,
        funds: &funds,
    };
    let mut seen = HashSet::new();
    for (i, scheme) in policy.schemes.iter().enumerate() {
        let path = format!("schemes[{i}]");
        if !seen.insert(scheme.insutype) {
            return Err(invalid(
                format!("{path}.insutype"),
                format!("scheme {} is defined twice", scheme.insutype),
            ));
        }
        validate_scheme(&ctx, scheme, &path)?;
    }
    if policy.schemes.is_empty() {
        return Err(invalid("schemes", "at least one scheme is required"));
    }
    Ok(())
}

struct Ctx<'a> {
    levels: &'a HashSet<u8>,
    funds: &'a HashSet<Code>,
}

impl Ctx<'_> {
    fn fund(&self, code: Code, field: String) -> Result<(), PolicyError> {
        if self.funds.contains(&code) {
            Ok(())
        } else {
            Err(invalid(
                field,
                format!("fund {code} is not declared in [[funds]]"),
            ))
        }
    }

    fn levels(&self, levels: &[u8], field: String) -> Result<(), PolicyError> {
        match levels.iter().find(|l| !self.levels.contains(l)) {
            Some(l) => Err(invalid(
                field,
                format!("level {l} is not declared in [[levels]]"),
            )),
            None => Ok(()),
        }
    }
}

/// Longest validity a temporary filing may be given by default (ten years).
const MAX_TEMPORARY_VALIDITY_DAYS: u32 = 3660;

fn validate_remote(remote: &crate::RemoteRules, header: &Header) -> Result<(), PolicyError> {
    for (i, prefix) in remote.province_prefixes.iter().enumerate() {
        if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                format!("remote.province_prefixes[{i}]"),
                format!("`{prefix}` is not a prefix of a region code (1–6 digits)"),
            ));
        }
    }
    if !remote.province_prefixes.is_empty() && !remote.is_in_province(header.admdvs.as_str()) {
        return Err(invalid(
            "remote.province_prefixes",
            format!(
                "the pooling region {} is not in the province",
                header.admdvs
            ),
        ));
    }
    if remote.in_province_filing_free && remote.province_prefixes.is_empty() {
        return Err(invalid(
            "remote.in_province_filing_free",
            "needs remote.province_prefixes to say which places are in the province",
        ));
    }
    if remote.manual_claims == Some(crate::RateClass::Refused) {
        return Err(invalid(
            "remote.manual_claims",
            "is the rate class of care reimbursed at the counter: `local`, `referred` or `unreferred`, not `refused`",
        ));
    }
    if let Some(days) = remote.temporary_validity_days {
        if days == 0 || days > MAX_TEMPORARY_VALIDITY_DAYS {
            return Err(invalid(
                "remote.temporary_validity_days",
                format!("{days} is not between 1 and {MAX_TEMPORARY_VALIDITY_DAYS}"),
            ));
        }
    }
    Ok(())
}

fn validate_header(header: &Header) -> Result<(), PolicyError> {
    let admdvs = header.admdvs.as_str();
    if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "policy.admdvs",
            format!("`{admdvs}` is not a 6-digit region code"),
        ));
    }
    if header.in_region_prefixes.is_empty()
        || header.in_region_prefixes.iter().any(|p| p.is_empty())
    {
        return Err(invalid(
            "policy.in_region_prefixes",
            "give at least one non-empty prefix",
        ));
    }
    if let Some(to) = header.effective_to {
        if to < header.effective_from {
            return Err(invalid("policy.effective_to", "is before effective_from"));
        }
    }
    if header.line_amount_tolerance < Fen::ZERO {
        return Err(invalid(
            "policy.line_amount_tolerance",
            "must not be negative",
        ));
    }
    Ok(())
}

fn validate_levels(levels: &[LevelMap]) -> Result<HashSet<u8>, PolicyError> {
    let mut ids = HashSet::new();
    let mut codes = HashSet::new();
    for (i, level) in levels.iter().enumerate() {
        if !(1..=9).contains(&level.level) || !ids.insert(level.level) {
            return Err(invalid(
                format!("levels[{i}].level"),
                format!("{} is out of 1..9 or repeated", level.level),
            ));
        }
        if let Some(code) = level.hosp_lv.iter().find(|c| !codes.insert(**c)) {
            return Err(invalid(
                format!("levels[{i}].hosp_lv"),
                format!("hosp_lv {code} is mapped twice"),
            ));
        }
    }
    if ids.is_empty() {
        return Err(invalid("levels", "at least one level is required"));
    }
    Ok(ids)
}

fn validate_funds(funds: &[Fund]) -> Result<HashSet<Code>, PolicyError> {
    let mut codes = HashSet::new();
    for (i, fund) in funds.iter().enumerate() {
        if !codes.insert(fund.code) {
            return Err(invalid(
                format!("funds[{i}].code"),
                format!("fund {} is declared twice", fund.code),
            ));
        }
    }
    Ok(codes)
}

fn validate_scheme(ctx: &Ctx, scheme: &Scheme, path: &str) -> Result<(), PolicyError> {
    if let Some(account) = &scheme.account {
        if account.fund.is_empty() {
            return Err(invalid(format!("{path}.account.fund"), "is empty"));
        }
    }
    for (i, flat) in scheme.flat_items.iter().enumerate() {
        let p = format!("{path}.flat_items[{i}]");
        ctx.fund(flat.fund, format!("{p}.fund"))?;
        for (j, amount) in flat.amounts.iter().enumerate() {
            ctx.levels(&[amount.level], format!("{p}.amounts[{j}].level"))?;
            non_negative(amount.amount, format!("{p}.amounts[{j}].amount"))?;
        }
    }
    let bucket_ids = validate_buckets(ctx, &scheme.buckets, path)?;
    let known_buckets =
        |list: &[Code], field: String| match list.iter().find(|b| !bucket_ids.contains(b)) {
            Some(b) => Err(invalid(
                field,
                format!("bucket `{b}` is not defined in this scheme"),
            )),
            None => Ok(()),
        };
    for (i, adj) in scheme.remote_adjustments.iter().enumerate() {
        let p = format!("{path}.remote_adjustments[{i}]");
        known_buckets(&adj.buckets, format!("{p}.buckets"))?;
        if adj.region == RegionFilter::In || adj.region == RegionFilter::Any {
            return Err(invalid(
                format!("{p}.region"),
                "a remote adjustment must name an out-of-region filter",
            ));
        }
        if adj.extra_preselfpay.is_none() && adj.ratio_minus.is_none() && adj.ratio_factor.is_none()
        {
            return Err(invalid(
                p,
                "give at least one of extra_preselfpay, ratio_minus, ratio_factor",
            ));
        }
    }
    if let Some(layer) = &scheme.large_amount {
        ctx.fund(layer.fund, format!("{path}.large_amount.fund"))?;
        known_buckets(&layer.buckets, format!("{path}.large_amount.buckets"))?;
        optional_cap(layer.annual_cap, format!("{path}.large_amount.annual_cap"))?;
    }
    if let Some(layer) = &scheme.catastrophic {
        ctx.fund(layer.fund, format!("{path}.catastrophic.fund"))?;
        known_buckets(&layer.buckets, format!("{path}.catastrophic.buckets"))?;
        validate_tiers(&layer.tiers, &format!("{path}.catastrophic.tiers"))?;
    }
    if let Some(layer) = &scheme.civil_servant {
        ctx.fund(layer.fund, format!("{path}.civil_servant.fund"))?;
        known_buckets(&layer.buckets, format!("{path}.civil_servant.buckets"))?;
        if layer.ratios.is_empty() {
            return Err(invalid(
                format!("{path}.civil_servant.ratios"),
                "at least one ratio is required",
            ));
        }
    }
    if let Some(layer) = &scheme.assistance {
        ctx.fund(layer.fund, format!("{path}.assistance.fund"))?;
        known_buckets(&layer.buckets, format!("{path}.assistance.buckets"))?;
        validate_tiers(&layer.tiers, &format!("{path}.assistance.tiers"))?;
    }
    if let Some(layer) = &scheme.backstop {
        let p = format!("{path}.backstop");
        ctx.fund(layer.fund, format!("{p}.fund"))?;
        known_buckets(&layer.buckets, format!("{p}.buckets"))?;
        if layer.identities.is_empty() || layer.caps.is_empty() {
            return Err(invalid(
                p,
                "give the identities it covers and at least one cap",
            ));
        }
        for (i, cap) in layer.caps.iter().enumerate() {
            ctx.levels(&cap.levels, format!("{p}.caps[{i}].levels"))?;
            non_negative(cap.oop_cap, format!("{p}.caps[{i}].oop_cap"))?;
        }
    }
    Ok(())
}

fn validate_buckets(
    ctx: &Ctx,
    buckets: &[Bucket],
    path: &str,
) -> Result<HashSet<Code>, PolicyError> {
    let mut ids = HashSet::new();
    let mut caps: Vec<(Code, Option<Fen>)> = Vec::new();
    for (i, bucket) in buckets.iter().enumerate() {
        let p = format!("{path}.buckets[{i}]");
        if bucket.id.is_empty() || !ids.insert(bucket.id) {
            return Err(invalid(
                format!("{p}.id"),
                format!("`{}` is empty or repeated", bucket.id),
            ));
        }
        if bucket.med_types.is_empty() {
            return Err(invalid(
                format!("{p}.med_types"),
                "at least one med_type is required",
            ));
        }
        ctx.levels(&bucket.levels, format!("{p}.levels"))?;
        ctx.fund(bucket.fund, format!("{p}.fund"))?;
        optional_cap(bucket.annual_cap, format!("{p}.annual_cap"))?;
        let group = bucket.cap_group();
        match caps.iter().find(|(g, _)| *g == group) {
            Some((_, cap)) if *cap != bucket.annual_cap => {
                return Err(invalid(
                    format!("{p}.annual_cap"),
                    format!("differs from another bucket of cap group `{group}`"),
                ));
            }
            Some(_) => {}
            None => caps.push((group, bucket.annual_cap)),
        }
        if bucket.rates.is_empty() {
            return Err(invalid(
                format!("{p}.rates"),
                "at least one rate is required",
            ));
        }
        for (j, rate) in bucket.rates.iter().enumerate() {
            let r = format!("{p}.rates[{j}]");
            ctx.levels(&rate.levels, format!("{r}.levels"))?;
            non_negative(rate.deductible, format!("{r}.deductible"))?;
            validate_schedule(rate.ratio.is_some(), &rate.bands, &r)?;
        }
    }
    if ids.is_empty() {
        return Err(invalid(
            format!("{path}.buckets"),
            "at least one bucket is required",
        ));
    }
    Ok(ids)
}

fn validate_tiers(tiers: &[Tier], path: &str) -> Result<(), PolicyError> {
    if tiers.is_empty() {
        return Err(invalid(path, "at least one tier is required"));
    }
    for (i, tier) in tiers.iter().enumerate() {
        let p = format!("{path}[{i}]");
        non_negative(tier.deductible, format!("{p}.deductible"))?;
        optional_cap(tier.annual_cap, format!("{p}.annual_cap"))?;
        validate_schedule(tier.ratio.is_some(), &tier.bands, &p)?;
    }
    Ok(())
}

/// Exactly one of `ratio` and `bands`; bands strictly ascending, only the last one open.
fn validate_schedule(has_ratio: bool, bands: &[Band], path: &str) -> Result<(), PolicyError> {
    if has_ratio != bands.is_empty() {
        return Err(invalid(
            path,
            "give either `ratio` or `bands`, not both or neither",
        ));
    }
    let mut previous = Fen::ZERO;
    for (i, band) in bands.iter().enumerate() {
        let last = i + 1 == bands.len();
        match band.upto {
            None if !last => {
                return Err(invalid(
                    format!("{path}.bands[{i}].upto"),
                    "only the last band may be open-ended",
                ))
            }
            Some(_) if last => {
                return Err(invalid(
                    format!("{path}.bands[{i}].upto"),
                    "the last band must be open-ended (no `upto`)",
                ))
            }
            Some(upto) if upto <= previous => {
                return Err(invalid(
                    format!("{path}.bands[{i}].upto"),
                    "bands must be strictly ascending",
                ));
            }
            Some(upto) => previous = upto,
            None => {}
        }
    }
    Ok(())
}

fn non_negative(amount: Fen, field: String) -> Result<(), PolicyError> {
    if amount < Fen::ZERO {
        Err(invalid(field, "must not be negative"))
    } else {
        Ok(())
    }
}

fn optional_cap(cap: Option<Fen>, field: String) -> Result<(), PolicyError> {
    cap.map_or(Ok(()), |c| non_negative(c, field))
}
