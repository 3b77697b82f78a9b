//! Fund supervision (医保基金监管) on settled claims, pure (no I/O, clock or randomness):
//!
//! - the rule base and knowledge base (两库) as data: [`RuleSet`] loads `rules.toml` (rules with
//!   their national attributes and a condition in the rule language [`lang`]), `knowledge.toml`
//!   (tables keyed by code prefix) and `models.toml` (the seven models' thresholds);
//! - per-person history ([`history`]) built once per person, so period frequencies, 分解住院,
//!   挂床, overlapping stays and care after death are window lookups;
//! - the seven big-data models ([`models`]);
//! - [`audit`]: every rule and model over a set of claims, findings in a deterministic order;
//! - [`sanctions`]: agreements, practitioners' points, card suspensions and the credit rating
//!   (`sanctions.toml`).

pub mod case;
pub mod claim;
pub mod eval;
pub mod finding;
pub mod history;
pub mod knowledge;
pub mod lang;
pub mod models;
pub mod realtime;
pub mod rules;
pub mod sanctions;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;

pub use claim::{split_diagnoses, Claim, ClaimLine, Interner, Item, LineLimits, PersonInfo, Text};
pub use eval::{check_claim, Hit};
pub use finding::{Finding, FindingKind};
pub use knowledge::Knowledge;
pub use models::{ModelConfig, MODEL_NAMES};
pub use rules::{Meta, OnHit, Rule, Scope};

/// Why a rule set could not be loaded: the file, the field path and the problem (in Chinese).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("{file}: {path}: {problem}")]
    Data {
        file: String,
        path: String,
        problem: String,
    },
}

pub(crate) fn data_error(file: &str, path: String, problem: String) -> AuditError {
    AuditError::Data {
        file: file.to_string(),
        path,
        problem,
    }
}

/// Deserializes TOML; errors name the field path.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
) -> Result<T, AuditError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        data_error(file, path, inner.message().trim().to_string())
    })
}

/// The rule base, knowledge base and model thresholds of one pooling region.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub meta: Meta,
    pub rules: Vec<Rule>,
    pub knowledge: Knowledge,
    pub models: ModelConfig,
}

/// What a rule's expression reads when its look-back is derived: the columns of one knowledge row
/// (nothing else: fields and functions of a visit read as 0).
struct RowEnv<'a>(Option<&'a knowledge::Row>);

impl lang::Env for RowEnv<'_> {
    fn field(&self, _: lang::Field) -> lang::Val<'_> {
        lang::Val::Num(0)
    }

    fn row(&self, column: &str) -> lang::Val<'_> {
        self.0
            .and_then(|row| row.get(column))
            .map_or(lang::Val::Num(0), |v| v.as_val())
    }

    fn call(&self, _: lang::Func, _: &[lang::Val<'_>]) -> lang::Val<'_> {
        lang::Val::Num(0)
    }
}

/// The three texts of a rule set and the names to report them by.
pub struct RuleSetFiles<'a> {
    pub rules: (&'a str, &'a str),
    pub knowledge: (&'a str, &'a str),
    pub models: (&'a str, &'a str),
}

impl RuleSet {
    /// The longest look-back of the rules that read history, in days before the visit, each
    /// rule's reads evaluated over every row of its knowledge table
    /// ([`lang::Expr::look_back_days`]); 0 when no rule reads history. What the real-time state
    /// warms at start.
    pub fn history_days(&self) -> i64 {
        self.rules
            .iter()
            .filter(|rule| rule.when.reads_history())
            .map(|rule| match rule.table {
                Some(index) => {
                    let table = self.knowledge.by_index(index);
                    (0..table.len())
                        .map(|row| {
                            let row = table.row(u32::try_from(row).unwrap_or(u32::MAX));
                            rule.when.look_back_days(&RowEnv(Some(row)))
                        })
                        .max()
                        .unwrap_or(0)
                }
                None => rule.when.look_back_days(&RowEnv(None)),
            })
            .max()
            .unwrap_or(0)
    }

    /// Parses and checks a rule set (`(text, file name)` each).
    pub fn parse(files: &RuleSetFiles<'_>) -> Result<RuleSet, AuditError> {
        let knowledge = Knowledge::parse(files.knowledge.0, files.knowledge.1)?;
        let (meta, rules) = rules::parse_rules(files.rules.0, files.rules.1, &knowledge)?;
        let models = parse_toml(files.models.0, files.models.1)?;
        Ok(RuleSet {
            meta,
            rules,
            knowledge,
            models,
        })
    }
}

/// Days of history before the audited claims that an audit reads (the longest rule window is a
/// year): the real-time checks and `yibao audit run --month`.
pub const HISTORY_DAYS: i64 = 366;

/// The rule set shipped with yibao: 九江 (`rules/jiujiang/`), compiled into the binary.
pub fn shipped_jiujiang() -> Result<RuleSet, AuditError> {
    RuleSet::parse(&RuleSetFiles {
        rules: (
            include_str!("../../../rules/jiujiang/rules.toml"),
            "rules/jiujiang/rules.toml",
        ),
        knowledge: (
            include_str!("../../../rules/jiujiang/knowledge.toml"),
            "rules/jiujiang/knowledge.toml",
        ),
        models: (
            include_str!("../../../rules/jiujiang/models.toml"),
            "rules/jiujiang/models.toml",
        ),
    })
}

/// The days whose claims are reported (inclusive); earlier claims still serve as history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Period {
    /// Whether a day lies in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|f| date >= f) && self.to.is_none_or(|t| date <= t)
    }
}

/// Runs every rule (per person, over that person's history) and the seven models over the
/// period's claims, persons in parallel. Persons missing from `persons` are audited with what their
/// claims say. The findings' order depends only on the input, not on the claims' order.
pub fn audit<'a>(
    set: &RuleSet,
    claims: impl IntoIterator<Item = &'a Claim>,
    persons: &FxHashMap<String, PersonInfo>,
    period: &Period,
) -> Vec<Finding> {
    audit_where(set, claims, persons, &|c: &Claim| {
        period.contains(c.begin.date())
    })
}

/// [`audit`] with the claims reported chosen by `reported` (e.g. those settled in a month); the
/// others serve as history only.
pub fn audit_where<'a>(
    set: &RuleSet,
    claims: impl IntoIterator<Item = &'a Claim>,
    persons: &FxHashMap<String, PersonInfo>,
    reported: &(dyn Fn(&Claim) -> bool + Sync),
) -> Vec<Finding> {
    use rayon::prelude::*;
    let mut in_period: Vec<&Claim> = Vec::new();
    let mut by_person: FxHashMap<&str, Vec<&Claim>> = FxHashMap::default();
    for claim in claims {
        if reported(claim) {
            in_period.push(claim);
        }
        by_person.entry(&claim.psn_no).or_default().push(claim);
    }
    let peers = eval::Peers::new(in_period.iter().copied());
    let people: Vec<(&str, Vec<&Claim>)> = by_person.into_iter().collect();
    let unknown = PersonInfo::default();
    let (mut findings, model_findings) = rayon::join(
        || {
            people
                .into_par_iter()
                .flat_map_iter(|(psn_no, mine)| {
                    let person = persons.get(psn_no).unwrap_or(&unknown);
                    let hist = history::PersonHistory::new(mine);
                    let mut out = Vec::new();
                    eval::audit_person(set, &peers, person, &hist, reported, &mut out);
                    out
                })
                .collect::<Vec<Finding>>()
        },
        || models::run_models(&set.models, &in_period, persons),
    );
    findings.extend(model_findings);
    findings.par_sort_unstable_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings
}
