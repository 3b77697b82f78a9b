//! The rule set (两库) the real-time audit (3101/3102, fee upload) runs: the shipped 九江 set, or the
//! three files of a folder (`audit_rules_dir`), loaded and checked once at start.

use std::path::Path;

use yibao_audit::{AuditError, ClaimLine, Interner, LineLimits, RuleSet, RuleSetFiles};
use yibao_catalog::Catalog;
use yibao_domain::codes::Gend;
use yibao_domain::Code;
use yibao_ledger::audit_claims::SettledLine;

/// Why a rule set could not be loaded: a file unreadable, or its data refused (file, field, problem).
#[derive(Debug, thiserror::Error)]
pub enum RuleSetLoadError {
    #[error("cannot read {path}: {problem}")]
    Read { path: String, problem: String },
    #[error(transparent)]
    Data(#[from] AuditError),
}

/// The rule set of `dir` (`rules.toml`, `knowledge.toml`, `models.toml`), or the shipped one.
pub fn load_rule_set(dir: Option<&Path>) -> Result<RuleSet, RuleSetLoadError> {
    let Some(dir) = dir else {
        return Ok(yibao_audit::shipped_jiujiang()?);
    };
    let read = |name: &str| -> Result<(String, String), RuleSetLoadError> {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| RuleSetLoadError::Read {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        Ok((text, path.display().to_string()))
    };
    let (rules, knowledge, models) = (
        read("rules.toml")?,
        read("knowledge.toml")?,
        read("models.toml")?,
    );
    Ok(RuleSet::parse(&RuleSetFiles {
        rules: (&rules.0, &rules.1),
        knowledge: (&knowledge.0, &knowledge.1),
        models: (&models.0, &models.1),
    })?)
}

/// The sanctions policy (`sanctions.toml`: practitioners' points scale, credit rating) of `dir`
/// when it holds one, else the shipped 九江 one.
pub fn load_sanctions_policy(
    dir: Option<&Path>,
) -> Result<yibao_audit::sanctions::SanctionsPolicy, RuleSetLoadError> {
    let Some(path) = dir.map(|d| d.join("sanctions.toml")).filter(|p| p.exists()) else {
        return Ok(yibao_audit::sanctions::shipped_jiujiang()?);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| RuleSetLoadError::Read {
        path: path.display().to_string(),
        problem: e.to_string(),
    })?;
    Ok(yibao_audit::sanctions::SanctionsPolicy::parse(
        &text,
        &path.display().to_string(),
    )?)
}

/// The catalogue's restrictions of an item (`lmt_gend`, ages, minimum level), as the rules read them.
pub fn line_limits(catalog: &Catalog, code: &str) -> LineLimits {
    let Some(item) = catalog.get(code) else {
        return LineLimits::default();
    };
    let r = &item.restriction;
    LineLimits {
        gend: match r.gend {
            Some(Gend::Male) => "1".into(),
            Some(Gend::Female) => "2".into(),
            _ => String::new(),
        },
        age_min_years: r.age_min_years,
        age_max_years: r.age_max_years,
        min_level: r.min_level,
    }
}

/// A stored line as a claim line: in scope what was not 全自费, restrictions from the catalogue;
/// items and practitioners shared through `interner` (one per catalogue).
pub fn claim_line(
    line: &SettledLine,
    catalog: Option<&Catalog>,
    interner: &mut Interner,
) -> ClaimLine {
    let chrgitm_type = Code::new(&line.med_chrgitm_type).unwrap_or_default();
    ClaimLine {
        item: interner.item(&line.med_list_codg, chrgitm_type, |code| {
            catalog.map(|c| line_limits(c, code)).unwrap_or_default()
        }),
        cnt_e4: line.cnt_e4,
        pric_micro_yuan: line.pric_micro_yuan,
        amount: line.amount,
        inscope: line.amount - line.fulamt_ownpay_amt,
        doctor: line.doctor.as_deref().map(|d| interner.text(d)),
    }
}
