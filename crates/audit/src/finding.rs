//! A finding: what a rule or a model flags, with its evidence.

use yibao_domain::Fen;

/// Whether a rule or a model produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    Rule,
    Model,
}

impl FindingKind {
    /// `rule` or `model`, as written in the output.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Rule => "rule",
            FindingKind::Model => "model",
        }
    }
}

/// One finding. `amount` is the money at issue: the flagged lines' in-scope amount for a line
/// rule, the fund's payment for a visit rule or model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The rule id, or the model's name (门诊异常 …).
    pub id: String,
    pub psn_nos: Vec<String>,
    pub fixmedins_codes: Vec<String>,
    pub mdtrt_ids: Vec<String>,
    pub amount: Fen,
    /// 0–100; higher is more suspicious.
    pub score: u32,
    /// A sentence in Chinese.
    pub reason: String,
}

impl Finding {
    /// The deterministic output order: kind, id, the evidence, then the reason.
    pub fn sort_key(&self) -> (FindingKind, &str, &[String], &[String], &str) {
        (
            self.kind,
            &self.id,
            &self.mdtrt_ids,
            &self.psn_nos,
            &self.reason,
        )
    }
}
