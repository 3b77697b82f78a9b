//! The typed condition AST that rule expressions compile to, and its evaluation over one case.

use crate::case::{Patient, Sex};
use crate::codes::{CodeId, CodeTable, ListId};
use crate::expr::CmpOp;

/// A numeric case attribute a rule can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    AgeYears,
    AgeDays,
    WeightGrams,
    ProcedureCount,
    DiagnosisCount,
}

impl Field {
    /// The field's name in rule descriptions.
    pub fn label(self) -> &'static str {
        match self {
            Field::AgeYears => "年龄",
            Field::AgeDays => "出生天数",
            Field::WeightGrams => "体重(克)",
            Field::ProcedureCount => "手术操作数",
            Field::DiagnosisCount => "诊断数",
        }
    }
}

/// A compiled rule condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Const(bool),
    Not(Box<Cond>),
    All(Box<[Cond]>),
    Any(Box<[Cond]>),
    /// The principal diagnosis is on the list.
    PrincipalIn(ListId),
    /// Some diagnosis (principal included) is on the list.
    AnyDiagnosisIn(ListId),
    /// The first (main) procedure is on the list.
    FirstProcedureIn(ListId),
    /// Some procedure is on the list.
    AnyProcedureIn(ListId),
    /// At least one procedure.
    HasProcedure,
    /// Sex is recorded.
    SexPresent,
    SexIs(Sex),
    Compare(Field, CmpOp, i64),
    /// At least two diagnoses and a secondary MCC not excluded by the principal's table.
    Mcc,
    /// The same with an MCC or a CC.
    MccOrCc,
}

/// Which codes of the case a list bitset describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Principal = 0,
    FirstProcedure = 1,
    AnyDiagnosis = 2,
    AnyProcedure = 3,
}

/// Number of [`Role`] bitsets per case.
pub(crate) const ROLES: usize = 4;

/// Per case, one bitset over all list ids per [`Role`]: bit `l` of the principal bitset is set when
/// the principal diagnosis is on list `l`, and so on. Every list test is then a single bit test.
pub(crate) struct ListBits<'a> {
    pub words_per_role: usize,
    pub words: &'a [u64],
}

impl ListBits<'_> {
    #[inline]
    pub fn test(&self, role: Role, list: ListId) -> bool {
        let bit = list as usize;
        self.words[role as usize * self.words_per_role + bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// Fills the role bitsets for a case; `words` must hold `ROLES * words_per_role` zeroed words.
pub(crate) fn fill_list_bits(
    codes: &CodeTable,
    diagnoses: &[CodeId],
    procedures: &[CodeId],
    words_per_role: usize,
    words: &mut [u64],
) {
    let mut mark = |role: Role, code: CodeId| {
        let base = role as usize * words_per_role;
        for &list in codes.memberships(code) {
            let bit = usize::from(list);
            words[base + bit / 64] |= 1 << (bit % 64);
        }
    };
    if let Some(&principal) = diagnoses.first() {
        mark(Role::Principal, principal);
    }
    if let Some(&first) = procedures.first() {
        mark(Role::FirstProcedure, first);
    }
    diagnoses.iter().for_each(|&d| mark(Role::AnyDiagnosis, d));
    procedures.iter().for_each(|&p| mark(Role::AnyProcedure, p));
}

/// The encoded case a condition is evaluated against.
pub(crate) struct Facts<'a> {
    pub codes: &'a CodeTable,
    pub diagnoses: &'a [CodeId],
    pub procedures: &'a [CodeId],
    pub patient: &'a Patient,
    pub lists: ListBits<'a>,
}

impl Facts<'_> {
    fn field(&self, field: Field) -> Option<i64> {
        match field {
            Field::AgeYears => self.patient.age_years,
            Field::AgeDays => self.patient.age_days,
            Field::WeightGrams => Some(self.patient.weight_g.unwrap_or(0)),
            Field::ProcedureCount => Some(self.procedures.len() as i64),
            Field::DiagnosisCount => Some(self.diagnoses.len() as i64),
        }
    }

    /// The first secondary diagnosis that counts as MCC (or CC when `include_cc`), if any.
    pub fn qualifying_complication(&self, include_cc: bool) -> Option<CodeId> {
        let (&principal, secondaries) = self.diagnoses.split_first()?;
        let exclusion = self.codes.info(principal).exclusion_table();
        let counts = |table: Option<u16>| table.is_some_and(|t| Some(t) != exclusion);
        let mcc = secondaries
            .iter()
            .find(|&&code| counts(self.codes.info(code).mcc_table()));
        let found = match mcc {
            Some(code) => Some(code),
            None if include_cc => secondaries
                .iter()
                .find(|&&code| counts(self.codes.info(code).cc_table())),
            None => None,
        };
        found.copied()
    }
}

impl Cond {
    /// Whether the condition holds for the case.
    pub(crate) fn eval(&self, facts: &Facts<'_>) -> bool {
        match self {
            Cond::Const(value) => *value,
            Cond::Not(inner) => !inner.eval(facts),
            Cond::All(parts) => parts.iter().all(|c| c.eval(facts)),
            Cond::Any(parts) => parts.iter().any(|c| c.eval(facts)),
            Cond::PrincipalIn(list) => facts.lists.test(Role::Principal, *list),
            Cond::AnyDiagnosisIn(list) => facts.lists.test(Role::AnyDiagnosis, *list),
            Cond::FirstProcedureIn(list) => facts.lists.test(Role::FirstProcedure, *list),
            Cond::AnyProcedureIn(list) => facts.lists.test(Role::AnyProcedure, *list),
            Cond::HasProcedure => !facts.procedures.is_empty(),
            Cond::SexPresent => facts.patient.sex.is_some(),
            Cond::SexIs(sex) => facts.patient.sex == Some(*sex),
            Cond::Compare(field, op, value) => {
                facts.field(*field).is_some_and(|v| op.holds(v, *value))
            }
            Cond::Mcc => facts.qualifying_complication(false).is_some(),
            Cond::MccOrCc => facts.qualifying_complication(true).is_some(),
        }
    }

    /// Builds a conjunction, dropping `true` parts, flattening nested conjunctions, and dropping
    /// `HasProcedure` / `SexPresent` where a procedure-list or sex test already implies them.
    pub fn all(parts: Vec<Cond>) -> Cond {
        let mut flat = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                Cond::Const(true) => {}
                Cond::All(inner) => flat.extend(inner.into_vec()),
                other => flat.push(other),
            }
        }
        let has_procedure_test = flat
            .iter()
            .any(|c| matches!(c, Cond::FirstProcedureIn(_) | Cond::AnyProcedureIn(_)));
        let has_sex_test = flat.iter().any(|c| matches!(c, Cond::SexIs(_)));
        flat.retain(|c| {
            !(matches!(c, Cond::HasProcedure) && has_procedure_test
                || matches!(c, Cond::SexPresent) && has_sex_test)
        });
        match flat.len() {
            0 => Cond::Const(true),
            1 => flat.pop().unwrap_or(Cond::Const(true)),
            _ => Cond::All(flat.into_boxed_slice()),
        }
    }

    /// A list test the condition cannot hold without, if it has one at its top level.
    fn gate(&self) -> Option<(Role, ListId)> {
        match self {
            Cond::PrincipalIn(list) => Some((Role::Principal, *list)),
            Cond::FirstProcedureIn(list) => Some((Role::FirstProcedure, *list)),
            Cond::AnyDiagnosisIn(list) => Some((Role::AnyDiagnosis, *list)),
            Cond::AnyProcedureIn(list) => Some((Role::AnyProcedure, *list)),
            Cond::All(parts) => parts.iter().find_map(Cond::gate),
            _ => None,
        }
    }

    /// Whether the condition reads the CC/MCC state of the case.
    pub fn uses_complications(&self) -> bool {
        match self {
            Cond::Mcc | Cond::MccOrCc => true,
            Cond::Not(inner) => inner.uses_complications(),
            Cond::All(parts) | Cond::Any(parts) => parts.iter().any(Cond::uses_complications),
            _ => false,
        }
    }

    /// A short Chinese description of the matching rule, in the style of upstream trace messages
    /// (`主诊断匹配、主手术匹配`).
    pub fn describe(&self) -> String {
        let mut phrases = Vec::new();
        self.collect_phrases(&mut phrases);
        phrases.dedup();
        phrases.join("、")
    }

    fn collect_phrases(&self, out: &mut Vec<String>) {
        let phrase = match self {
            Cond::All(parts) => return parts.iter().for_each(|p| p.collect_phrases(out)),
            Cond::Any(_) => "多手术处理".to_string(),
            Cond::Not(inner) if matches!(**inner, Cond::AnyProcedureIn(_)) => {
                "无有效手术".to_string()
            }
            Cond::Not(_) => "否定条件".to_string(),
            Cond::PrincipalIn(_) => "主诊断匹配".to_string(),
            Cond::AnyDiagnosisIn(_) => "某一诊断匹配".to_string(),
            Cond::FirstProcedureIn(_) => "主手术匹配".to_string(),
            Cond::AnyProcedureIn(_) => "某一手术匹配".to_string(),
            Cond::SexIs(Sex::Male) => "男性".to_string(),
            Cond::SexIs(Sex::Female) => "女性".to_string(),
            Cond::Compare(Field::AgeYears, CmpOp::Eq, 0) => "婴儿".to_string(),
            Cond::Compare(Field::AgeDays, _, _) => "新生儿".to_string(),
            Cond::Compare(field, op, value) => format!("{}{}{value}", field.label(), op.symbol()),
            Cond::Mcc => "伴严重并发症或合并症".to_string(),
            Cond::MccOrCc => "伴并发症或合并症".to_string(),
            Cond::Const(_) | Cond::HasProcedure | Cond::SexPresent | Cond::SexIs(Sex::Unstated) => {
                return
            }
        };
        out.push(phrase);
    }
}

/// A condition with its cheapest necessary list test pulled out, so a rule walk rejects most steps
/// with one bit test and no call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Guarded {
    gate: Option<(Role, ListId)>,
    /// `None` when the gate is the whole condition.
    rest: Option<Cond>,
}

impl Guarded {
    pub fn new(cond: Cond) -> Guarded {
        let gate = cond.gate();
        let gate_is_whole = gate.is_some() && !matches!(cond, Cond::All(_));
        Guarded {
            gate,
            rest: if gate_is_whole { None } else { Some(cond) },
        }
    }

    /// Whether the condition holds.
    #[inline(always)]
    pub fn holds(&self, facts: &Facts<'_>) -> bool {
        if let Some((role, list)) = self.gate {
            if !facts.lists.test(role, list) {
                return false;
            }
        }
        self.rest.as_ref().is_none_or(|cond| cond.eval(facts))
    }
}
