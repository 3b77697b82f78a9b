//! The rule base (规则库): rules with their national attributes and a condition in the rule
//! language, loaded from `rules.toml` and checked against the knowledge tables.

use serde::Deserialize;

use crate::knowledge::{Knowledge, Table};
use crate::lang::{self, Expr, RowSchema, Ty};
use crate::AuditError;

/// Where a rule's condition is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Once per fee line (with its knowledge row when the rule names a table).
    Line,
    /// Once per visit.
    Visit,
}

/// What a real-time check (3101/3102, fee upload) does with a line a rule flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHit {
    /// Warn: the reply names the violation, the line is paid as the split says.
    #[default]
    Warn,
    /// The flagged line becomes 全自费 (the fund pays nothing of it); the reply says why.
    SelfPay,
}

/// Stages of supervision (监管环节).
pub const STAGES: [&str; 3] = ["事前", "事中", "事后"];
/// Time windows of the national rule attributes.
pub const WINDOWS: [&str; 9] = [
    "当次",
    "当次门诊",
    "当次住院",
    "单日",
    "自然日",
    "自然月",
    "每季度",
    "自然年",
    "周期",
];

/// A rule as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    no: u32,
    name: String,
    violation: String,
    stage: Vec<String>,
    sev_deg: u8,
    window: String,
    scenario: Vec<String>,
    #[serde(default)]
    med_types: Vec<String>,
    #[serde(default)]
    levels: Vec<u8>,
    #[serde(default)]
    insutypes: Vec<String>,
    #[serde(default)]
    table: Option<String>,
    scope: Scope,
    #[serde(default)]
    on_hit: OnHit,
    when: String,
    reason: String,
    provenance: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    meta: Meta,
    rule: Vec<RawRule>,
}

/// Which region and version a rule set is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub region: String,
    pub version: String,
    pub source: String,
}

/// A loaded, checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// Row of supervision.md §3.
    pub no: u32,
    pub name: String,
    /// Violation type (重复收费, 超医保支付范围 …).
    pub violation: String,
    pub stage: Vec<String>,
    /// 1 明确违规, 2 高度可疑, 3 轻度可疑.
    pub sev_deg: u8,
    pub window: String,
    pub scenario: Vec<String>,
    /// `med_type`s the rule applies to (empty: all).
    pub med_types: Vec<String>,
    /// Institution levels 1–3 (empty: all).
    pub levels: Vec<u8>,
    pub insutypes: Vec<String>,
    /// Index of the knowledge table whose row a line must have.
    pub table: Option<usize>,
    pub scope: Scope,
    /// What a real-time check does with a flagged line.
    pub on_hit: OnHit,
    pub when: Expr,
    pub reason: String,
    pub provenance: String,
}

impl Rule {
    /// Whether the rule runs at a stage (事前, 事中, 事后).
    pub fn runs_at(&self, stage: &str) -> bool {
        self.stage.iter().any(|s| s == stage)
    }
}

impl RowSchema for Table {
    fn column_type(&self, column: &str) -> Option<Ty> {
        Table::column_type(self, column)
    }
}

/// Parses `rules.toml` against the knowledge tables; every problem names the rule and field.
pub fn parse_rules(
    text: &str,
    file: &str,
    knowledge: &Knowledge,
) -> Result<(Meta, Vec<Rule>), AuditError> {
    let raw: RawRules = crate::parse_toml(text, file)?;
    let mut rules: Vec<Rule> = Vec::with_capacity(raw.rule.len());
    for (i, r) in raw.rule.into_iter().enumerate() {
        let rule = check_rule(r, &format!("rule[{i}]"), file, knowledge)?;
        if let Some(first) = rules.iter().position(|x| x.id == rule.id) {
            return Err(crate::data_error(
                file,
                format!("rule[{i}].id"),
                format!("规则编号 `{}` 与 rule[{first}] 重复", rule.id),
            ));
        }
        rules.push(rule);
    }
    Ok((raw.meta, rules))
}

fn check_rule(
    r: RawRule,
    path: &str,
    file: &str,
    knowledge: &Knowledge,
) -> Result<Rule, AuditError> {
    let fail =
        |field: &str, problem: String| crate::data_error(file, format!("{path}.{field}"), problem);
    if r.id.trim().is_empty() {
        return Err(fail("id", "不能为空".into()));
    }
    if !(1..=3).contains(&r.sev_deg) {
        return Err(fail(
            "sev_deg",
            format!(
                "{} 不是 1（明确违规）、2（高度可疑）或 3（轻度可疑）",
                r.sev_deg
            ),
        ));
    }
    if let Some(bad) = r.stage.iter().find(|s| !STAGES.contains(&s.as_str())) {
        return Err(fail("stage", format!("`{bad}` 不是 事前、事中 或 事后")));
    }
    if !WINDOWS.contains(&r.window.as_str()) {
        return Err(fail(
            "window",
            format!("`{}` 不是已知的时间区间 {WINDOWS:?}", r.window),
        ));
    }
    if let Some(bad) = r.levels.iter().find(|l| !(1..=3).contains(*l)) {
        return Err(fail("levels", format!("{bad} 不是 1–3 级")));
    }
    if r.reason.trim().is_empty() {
        return Err(fail("reason", "不能为空".into()));
    }
    let table = match &r.table {
        Some(name) => Some(
            knowledge
                .table(name)
                .ok_or_else(|| fail("table", format!("没有知识表 `{name}`")))?,
        ),
        None => None,
    };
    let schema = table.map(|(_, t)| t as &dyn RowSchema);
    let when = lang::parse_condition(&r.when, schema, &format!("{path}.when"), file)?;
    if r.scope == Scope::Visit && (table.is_some() || when.reads_line()) {
        return Err(fail(
            "scope",
            "visit 级规则不能读取费用明细（line.*、row.*、按项目的 hist 函数）或指定 table".into(),
        ));
    }
    if r.on_hit == OnHit::SelfPay && r.scope != Scope::Line {
        return Err(fail(
            "on_hit",
            "self_pay（按全自费处理）只适用于 line 级规则".into(),
        ));
    }
    Ok(Rule {
        id: r.id,
        no: r.no,
        name: r.name,
        violation: r.violation,
        stage: r.stage,
        sev_deg: r.sev_deg,
        window: r.window,
        scenario: r.scenario,
        med_types: r.med_types,
        levels: r.levels,
        insutypes: r.insutypes,
        table: table.map(|(i, _)| i),
        scope: r.scope,
        on_hit: r.on_hit,
        when,
        reason: r.reason,
        provenance: r.provenance,
    })
}
