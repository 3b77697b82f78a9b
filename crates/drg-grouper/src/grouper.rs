//! The compiled grouper and the grouping walk: input check, MDCs in order with fall-through,
//! ADRGs in sequence, first DRG branch that holds.

use std::fmt;

use rustc_hash::FxHashMap;

use crate::case::Patient;
use crate::codes::{CodeId, CodeTable};
use crate::cond::{fill_list_bits, Cond, Facts, Guarded, ListBits, ROLES};

/// Index of a result code (a DRG, a bare ADRG, a 歧义组 or `0000`) in the grouper's result table.
pub(crate) type DrgId = u32;

pub(crate) const DRG_UNGROUPABLE: DrgId = 0;
pub(crate) const DRG_CHECK_FAILED: DrgId = 1;
pub(crate) const DRG_DIAGNOSIS_NOT_MAPPED: DrgId = 2;
pub(crate) const DRG_PROCEDURE_NOT_MAPPED: DrgId = 3;

/// Outcome status, with the upstream Chinese wording as its text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `分组成功`
    Success,
    /// `无法入组` (DRG `0000`)
    Ungroupable,
    /// `信息校验不通过` (DRG `0000`)
    CheckFailed,
    /// `歧义病案`: a 歧义组 step was switched on and matched.
    Ambiguous,
    /// `诊断不能转换为分组器支持的编码` (code mapping on, a diagnosis has no map entry)
    DiagnosisNotMapped,
    /// `手术操作不能转换为分组器支持的编码`
    ProcedureNotMapped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "分组成功",
            Status::Ungroupable => "无法入组",
            Status::CheckFailed => "信息校验不通过",
            Status::Ambiguous => "歧义病案",
            Status::DiagnosisNotMapped => "诊断不能转换为分组器支持的编码",
            Status::ProcedureNotMapped => "手术操作不能转换为分组器支持的编码",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A grouping result; the strings borrow from the grouper, so producing one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouped<'g> {
    pub status: Status,
    /// `MDC` + first letter of the DRG, or `0000`.
    pub mdc: &'g str,
    /// First three characters of the DRG, or `00`.
    pub adrg: &'g str,
    pub drg: &'g str,
    /// The DRG's name from `DRG.dat`, when listed there.
    pub drg_name: Option<&'g str>,
}

#[derive(Debug)]
pub(crate) struct DrgEntry {
    pub code: Box<str>,
    pub mdc: Box<str>,
    pub adrg: Box<str>,
    pub status: Status,
    pub name: Option<Box<str>>,
}

/// The result-code table, filled at load.
#[derive(Debug)]
pub(crate) struct DrgTable {
    entries: Vec<DrgEntry>,
    index: FxHashMap<(Box<str>, Status), DrgId>,
}

impl DrgTable {
    pub fn new() -> Self {
        let mut table = DrgTable {
            entries: Vec::new(),
            index: FxHashMap::default(),
        };
        for status in [
            Status::Ungroupable,
            Status::CheckFailed,
            Status::DiagnosisNotMapped,
            Status::ProcedureNotMapped,
        ] {
            table.entries.push(DrgEntry {
                code: "0000".into(),
                mdc: "0000".into(),
                adrg: "00".into(),
                status,
                name: None,
            });
        }
        table
    }

    /// The id of a result code with the given status; `code` must start with the MDC letter and
    /// have at least three ASCII characters.
    pub fn intern(&mut self, code: &str, status: Status, name: Option<&str>) -> DrgId {
        if let Some(&id) = self.index.get(&(code.into(), status)) {
            return id;
        }
        let letter = code.get(..1).unwrap_or("");
        let adrg = code.get(..3).unwrap_or(code);
        self.entries.push(DrgEntry {
            code: code.into(),
            mdc: format!("MDC{letter}").into(),
            adrg: adrg.into(),
            status,
            name: name.map(Into::into),
        });
        let id = (self.entries.len() - 1) as DrgId;
        self.index.insert((code.into(), status), id);
        id
    }

    pub fn into_entries(self) -> Box<[DrgEntry]> {
        self.entries.into_boxed_slice()
    }
}

/// One step of an MDC's ADRG sequence.
#[derive(Debug)]
pub(crate) enum Step {
    Adrg(u32),
    /// A 歧义组 test: any valid (SS_VALID) procedure gives the MDC's `xQY` group when enabled.
    Ambiguous {
        enabled: bool,
        test: Cond,
        drg: DrgId,
    },
}

#[derive(Debug)]
pub(crate) struct Mdc {
    pub name: Box<str>,
    pub entry: Guarded,
    pub entry_text: Box<str>,
    /// MDCZ: the diagnoses must touch at least two trauma regions.
    pub multiple_trauma: bool,
    pub region_names: Box<[Box<str>]>,
    pub steps: Box<[Step]>,
}

#[derive(Debug)]
pub(crate) struct Adrg {
    pub key: Box<str>,
    pub entry: Guarded,
    pub entry_text: Box<str>,
    pub branches: Box<[(Cond, DrgId)]>,
    /// The bare ADRG code, used when no branch holds.
    pub fallback: DrgId,
    pub reads_complications: bool,
}

/// Maps incoming codes to the codes the grouper supports (`icd-yb2.0/*_MAP.dat`).
#[derive(Debug, Default)]
pub(crate) struct CodeMap {
    pub diagnoses: FxHashMap<Box<str>, CodeId>,
    pub procedures: FxHashMap<Box<str>, CodeId>,
}

/// Reusable per-thread buffers for grouping, so a case costs no allocation.
#[derive(Debug, Default)]
pub struct Scratch {
    diagnoses: Vec<CodeId>,
    procedures: Vec<CodeId>,
    keys: Vec<Option<([u64; 2], usize)>>,
    list_bits: Vec<u64>,
}

/// Receives trace messages; the no-op implementation compiles away.
pub(crate) trait Trace {
    const ON: bool;
    fn note(&mut self, message: String);
}

pub(crate) struct NoTrace;

impl Trace for NoTrace {
    const ON: bool = false;
    fn note(&mut self, _message: String) {}
}

impl Trace for Vec<String> {
    const ON: bool = true;
    fn note(&mut self, message: String) {
        self.push(message);
    }
}

/// A compiled rule version, ready to group.
#[derive(Debug)]
pub struct Grouper {
    pub(crate) name: String,
    pub(crate) codes: CodeTable,
    pub(crate) mdcs: Box<[Mdc]>,
    pub(crate) adrgs: Box<[Adrg]>,
    pub(crate) drgs: Box<[DrgEntry]>,
    pub(crate) code_map: Option<CodeMap>,
}

impl Grouper {
    /// The rule version's name (its folder name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of distinct DRG codes the rules can produce.
    pub fn drg_count(&self) -> usize {
        self.drgs
            .iter()
            .filter(|d| d.status == Status::Success && d.code.len() == 4)
            .count()
    }

    /// Whether the rules name `code` (a diagnosis or procedure of their tables); with a code
    /// map, a code the map translates counts as known.
    pub fn knows_code(&self, code: &str) -> bool {
        self.codes.is_known(code)
            || self.code_map.as_ref().is_some_and(|map| {
                map.diagnoses.contains_key(code) || map.procedures.contains_key(code)
            })
    }

    /// Groups one discharge.
    pub fn group<S: AsRef<str>>(
        &self,
        patient: &Patient,
        diagnoses: &[S],
        procedures: &[S],
        scratch: &mut Scratch,
    ) -> Grouped<'_> {
        let drg = self.run(patient, diagnoses, procedures, scratch, &mut NoTrace);
        self.result(drg)
    }

    /// Groups one discharge and appends the rule messages that led to the result to `trace`.
    pub fn group_traced<S: AsRef<str>>(
        &self,
        patient: &Patient,
        diagnoses: &[S],
        procedures: &[S],
        scratch: &mut Scratch,
        trace: &mut Vec<String>,
    ) -> Grouped<'_> {
        let drg = self.run(patient, diagnoses, procedures, scratch, trace);
        self.result(drg)
    }

    fn result(&self, drg: DrgId) -> Grouped<'_> {
        let entry = &self.drgs[drg as usize];
        Grouped {
            status: entry.status,
            mdc: &entry.mdc,
            adrg: &entry.adrg,
            drg: &entry.code,
            drg_name: entry.name.as_deref(),
        }
    }

    fn run<S: AsRef<str>, T: Trace>(
        &self,
        patient: &Patient,
        diagnoses: &[S],
        procedures: &[S],
        scratch: &mut Scratch,
        trace: &mut T,
    ) -> DrgId {
        if let Some(failed) = check_input(patient, diagnoses.len(), trace) {
            return failed;
        }
        if let Err(not_mapped) = self.encode(diagnoses, procedures, scratch, trace) {
            return not_mapped;
        }
        let words_per_role = self.codes.list_count().div_ceil(64);
        let words = &mut scratch.list_bits;
        words.clear();
        words.resize(ROLES * words_per_role, 0);
        fill_list_bits(
            &self.codes,
            &scratch.diagnoses,
            &scratch.procedures,
            words_per_role,
            words,
        );
        let lists = ListBits {
            words_per_role,
            words,
        };
        let facts = Facts {
            codes: &self.codes,
            diagnoses: &scratch.diagnoses,
            procedures: &scratch.procedures,
            patient,
            lists,
        };
        self.walk(&facts, trace)
    }

    fn encode<S: AsRef<str>, T: Trace>(
        &self,
        diagnoses: &[S],
        procedures: &[S],
        scratch: &mut Scratch,
        trace: &mut T,
    ) -> Result<(), DrgId> {
        scratch.diagnoses.clear();
        scratch.procedures.clear();
        match &self.code_map {
            None => {
                let keys = &mut scratch.keys;
                self.codes
                    .lookup_all(diagnoses, keys, &mut scratch.diagnoses);
                self.codes
                    .lookup_all(procedures, keys, &mut scratch.procedures);
                Ok(())
            }
            Some(map) => {
                map_codes(
                    &map.diagnoses,
                    diagnoses,
                    &mut scratch.diagnoses,
                    "诊断",
                    trace,
                )
                .map_err(|_| DRG_DIAGNOSIS_NOT_MAPPED)?;
                map_codes(
                    &map.procedures,
                    procedures,
                    &mut scratch.procedures,
                    "手术操作",
                    trace,
                )
                .map_err(|_| DRG_PROCEDURE_NOT_MAPPED)
            }
        }
    }

    fn walk<T: Trace>(&self, facts: &Facts<'_>, trace: &mut T) -> DrgId {
        for mdc in self.mdcs.iter() {
            if !mdc.entry.holds(facts)
                || (mdc.multiple_trauma && !self.touches_two_regions(mdc, facts, trace))
            {
                continue;
            }
            if T::ON {
                trace.note(format!(
                    "符合{}入组条件，匹配规则：{}",
                    mdc.name, mdc.entry_text
                ));
            }
            if let Some(drg) = self.walk_steps(mdc, facts, trace) {
                return drg;
            }
            if T::ON {
                trace.note(format!("不符合{}的ADRG入组条件", mdc.name));
            }
        }
        if T::ON {
            trace.note("不符合所有MDC的入组条件，无法入组".to_string());
        }
        DRG_UNGROUPABLE
    }

    fn walk_steps<T: Trace>(&self, mdc: &Mdc, facts: &Facts<'_>, trace: &mut T) -> Option<DrgId> {
        for step in mdc.steps.iter() {
            match step {
                Step::Adrg(index) => {
                    let adrg = &self.adrgs[*index as usize];
                    if adrg.entry.holds(facts) {
                        return Some(self.choose_branch(adrg, facts, trace));
                    }
                }
                Step::Ambiguous {
                    enabled: true,
                    test,
                    drg,
                } if test.eval(facts) => {
                    if T::ON {
                        trace.note(format!(
                            "符合{}入组条件，存在有效手术操作",
                            self.drgs[*drg as usize].code
                        ));
                    }
                    return Some(*drg);
                }
                Step::Ambiguous { .. } => {}
            }
        }
        None
    }

    fn choose_branch<T: Trace>(&self, adrg: &Adrg, facts: &Facts<'_>, trace: &mut T) -> DrgId {
        if T::ON {
            trace.note(format!(
                "符合{}入组条件，匹配规则：{}",
                adrg.key, adrg.entry_text
            ));
            if adrg.reads_complications {
                self.trace_complications(facts, trace);
            }
        }
        let drg = adrg
            .branches
            .iter()
            .find(|(when, _)| when.eval(facts))
            .map_or(adrg.fallback, |(_, drg)| *drg);
        if T::ON {
            let entry = &self.drgs[drg as usize];
            trace.note(format!(
                "***{} {}***",
                entry.code,
                entry.name.as_deref().unwrap_or("")
            ));
        }
        drg
    }

    fn touches_two_regions<T: Trace>(&self, mdc: &Mdc, facts: &Facts<'_>, trace: &mut T) -> bool {
        let mask = facts
            .diagnoses
            .iter()
            .filter_map(|&d| self.codes.info(d).trauma_region())
            .fold(0u32, |mask, region| mask | (1 << region));
        let enough = mask.count_ones() >= 2;
        if T::ON {
            let regions: Vec<&str> = (0..32)
                .filter(|r| mask & (1 << r) != 0)
                .filter_map(|r| mdc.region_names.get(r).map(|n| &**n))
                .collect();
            trace.note(format!("诊断匹配{}部位：{}", mdc.name, regions.join(",")));
            if !enough {
                trace.note(format!("诊断匹配部位数量不符合{}要求", mdc.name));
            }
        }
        enough
    }

    fn trace_complications<T: Trace>(&self, facts: &Facts<'_>, trace: &mut T) {
        let Some((&principal, secondaries)) = facts.diagnoses.split_first() else {
            return;
        };
        if let Some(table) = self.codes.info(principal).exclusion_table() {
            trace.note(format!(
                "主诊断{}排除表{}",
                self.codes.name(principal),
                self.codes.table_name(table)
            ));
        }
        for &code in secondaries {
            let info = self.codes.info(code);
            for (kind, table) in [("MCC", info.mcc_table()), ("CC", info.cc_table())] {
                if let Some(table) = table {
                    trace.note(format!(
                        "诊断{}属于{kind}，排除表{}",
                        self.codes.name(code),
                        self.codes.table_name(table)
                    ));
                }
            }
        }
    }
}

fn check_input<T: Trace>(
    patient: &Patient,
    diagnosis_count: usize,
    trace: &mut T,
) -> Option<DrgId> {
    let newborn = patient.age_years == Some(0) && patient.age_days.is_some_and(|d| d <= 28);
    let problem = if patient.sex.is_none() {
        "病人性别为空"
    } else if newborn && patient.weight_g.unwrap_or(0) <= 0 {
        "新生儿的出生体重必须有值"
    } else if diagnosis_count == 0 {
        "诊断信息为空"
    } else {
        return None;
    };
    if T::ON {
        trace.note(problem.to_string());
    }
    Some(DRG_CHECK_FAILED)
}

fn map_codes<S: AsRef<str>, T: Trace>(
    map: &FxHashMap<Box<str>, CodeId>,
    codes: &[S],
    out: &mut Vec<CodeId>,
    kind: &str,
    trace: &mut T,
) -> Result<(), ()> {
    for code in codes {
        match map.get(code.as_ref()) {
            Some(&id) => out.push(id),
            None => {
                if T::ON {
                    trace.note(format!("{kind}{}无法转换为分组器支持的编码", code.as_ref()));
                }
                return Err(());
            }
        }
    }
    Ok(())
}
