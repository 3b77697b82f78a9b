//! Loading a rule directory (`rules.json` + `DATA/`) and compiling it into a [`Grouper`].

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::case::Sex;
use crate::codes::{CodeTableBuilder, ListId, TableKind};
use crate::cond::{Cond, Field, Guarded};
use crate::dat::read_pairs;
use crate::error::LoadError;
use crate::expr::{self, CmpOp, Expr};
use crate::grouper::{Adrg, CodeMap, DrgTable, Grouper, Mdc, Status, Step};

/// Options that change how a rule directory is compiled.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Force the 歧义组 (QY) steps on or off; `None` keeps the `QY:true|false` markers of the data.
    pub ambiguous_groups: Option<bool>,
    /// A folder with `ZD_MAP.dat` and `SS_MAP.dat`: incoming codes are mapped before grouping, and a
    /// code without a map entry ends the case with a not-mapped status (upstream `TRANS_CODE`).
    pub code_map_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct RulesFile {
    mdc_order: Vec<String>,
    mdc: FxHashMap<String, MdcRule>,
    adrg: FxHashMap<String, AdrgRule>,
}

#[derive(Debug, Deserialize)]
struct MdcRule {
    condition: String,
    #[serde(default)]
    mdc_zd: Vec<String>,
    adrg_sequence: Vec<String>,
    #[serde(default)]
    special: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AdrgRule {
    condition: String,
    #[serde(default)]
    adrg_zd: Vec<String>,
    #[serde(default)]
    adrg_zd1: Vec<String>,
    #[serde(default)]
    adrg_ss: Vec<String>,
    #[serde(default)]
    adrg_ss1: Vec<String>,
    drgs: Vec<DrgBranch>,
}

#[derive(Debug, Deserialize)]
struct DrgBranch {
    code: String,
    when: String,
}

const TRAUMA_HEADER_SUFFIX: &str = "创伤";
const MAX_TRAUMA_REGIONS: usize = 32;

impl Grouper {
    /// Loads and compiles the rule version in `dir` (`rules.json` and `DATA/*.dat`).
    pub fn load(dir: &Path, options: &LoadOptions) -> Result<Grouper, LoadError> {
        let rules_path = dir.join("rules.json");
        let text = std::fs::read_to_string(&rules_path).map_err(|source| LoadError::Io {
            path: rules_path.clone(),
            source,
        })?;
        let rules: RulesFile =
            serde_json::from_str(&text).map_err(|source| LoadError::RulesJson {
                path: rules_path,
                source,
            })?;
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Compiler::new(&dir.join("DATA"))?.compile(name, &rules, options)
    }
}

struct Compiler {
    codes: CodeTableBuilder,
    drgs: DrgTable,
    drg_names: FxHashMap<String, String>,
    ss_valid: ListId,
    trauma_mdc: Option<String>,
}

impl Compiler {
    fn new(data_dir: &Path) -> Result<Compiler, LoadError> {
        let mut codes = CodeTableBuilder::new();
        for (file, kind) in [
            ("MCC.dat", TableKind::Mcc),
            ("CC.dat", TableKind::Cc),
            ("CCE.dat", TableKind::Exclusion),
        ] {
            for (code, table) in read_pairs(&data_dir.join(file))? {
                codes.set_table(&code, kind, &table)?;
            }
        }
        let valid = read_pairs(&data_dir.join("SS_VALID.dat"))?;
        let ss_valid = codes.add_list(valid.iter().map(|(code, _)| code.as_str()));
        let drg_names = read_pairs(&data_dir.join("DRG.dat"))?.into_iter().collect();
        Ok(Compiler {
            codes,
            drgs: DrgTable::new(),
            drg_names,
            ss_valid,
            trauma_mdc: None,
        })
    }

    fn compile(
        mut self,
        name: String,
        rules: &RulesFile,
        options: &LoadOptions,
    ) -> Result<Grouper, LoadError> {
        let mut adrg_index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut adrgs = Vec::new();
        let mut mdcs = Vec::with_capacity(rules.mdc_order.len());
        for mdc_name in &rules.mdc_order {
            let rule = rules
                .mdc
                .get(mdc_name)
                .ok_or_else(|| LoadError::MissingMdc {
                    mdc: mdc_name.clone(),
                })?;
            let mut steps = Vec::with_capacity(rule.adrg_sequence.len());
            for entry in &rule.adrg_sequence {
                if let Some(marker) = entry.strip_prefix("QY:") {
                    steps.push(self.ambiguous_step(mdc_name, marker, options)?);
                    continue;
                }
                let index = match adrg_index.get(entry.as_str()) {
                    Some(&index) => index,
                    None => {
                        let adrg_rule =
                            rules
                                .adrg
                                .get(entry)
                                .ok_or_else(|| LoadError::MissingAdrg {
                                    mdc: mdc_name.clone(),
                                    adrg: entry.clone(),
                                })?;
                        adrgs.push(self.compile_adrg(entry, adrg_rule)?);
                        let index = (adrgs.len() - 1) as u32;
                        adrg_index.insert(entry, index);
                        index
                    }
                };
                steps.push(Step::Adrg(index));
            }
            mdcs.push(self.compile_mdc(mdc_name, rule, steps)?);
        }
        let codes = self.codes.finish()?;
        let code_map = match &options.code_map_dir {
            Some(dir) => Some(load_code_map(dir, &codes)?),
            None => None,
        };
        Ok(Grouper {
            name,
            codes,
            mdcs: mdcs.into_boxed_slice(),
            adrgs: adrgs.into_boxed_slice(),
            drgs: self.drgs.into_entries(),
            code_map,
        })
    }

    fn ambiguous_step(
        &mut self,
        mdc: &str,
        marker: &str,
        options: &LoadOptions,
    ) -> Result<Step, LoadError> {
        let in_data = match marker {
            "true" => true,
            "false" => false,
            _ => {
                return Err(LoadError::BadQyMarker {
                    mdc: mdc.to_string(),
                    marker: format!("QY:{marker}"),
                })
            }
        };
        let letter = mdc_letter(mdc)?;
        let drg = self
            .drgs
            .intern(&format!("{letter}QY"), Status::Ambiguous, None);
        let test = Cond::all(vec![
            Cond::HasProcedure,
            Cond::AnyProcedureIn(self.ss_valid),
        ]);
        Ok(Step::Ambiguous {
            enabled: options.ambiguous_groups.unwrap_or(in_data),
            test,
            drg,
        })
    }

    fn compile_mdc(
        &mut self,
        name: &str,
        rule: &MdcRule,
        steps: Vec<Step>,
    ) -> Result<Mdc, LoadError> {
        let mut scope = Scope::new(name, &rule.condition);
        scope.raw_lists.push(("mdc_zd", &rule.mdc_zd));
        scope.lists.push(("SS_VALID", self.ss_valid));
        let entry = self.compile_text(&mut scope, &rule.condition)?;
        let region_names = match &rule.special {
            Some(_) => self.register_trauma_regions(name, &rule.mdc_zd)?,
            None => Vec::new(),
        };
        Ok(Mdc {
            name: name.into(),
            entry_text: entry.describe().into(),
            entry: Guarded::new(entry),
            multiple_trauma: rule.special.is_some(),
            region_names: region_names.into_boxed_slice(),
            steps: steps.into_boxed_slice(),
        })
    }

    fn register_trauma_regions(
        &mut self,
        mdc: &str,
        list: &[String],
    ) -> Result<Vec<Box<str>>, LoadError> {
        if let Some(first) = &self.trauma_mdc {
            return Err(LoadError::SecondTraumaMdc {
                mdc: mdc.to_string(),
                first: first.clone(),
            });
        }
        self.trauma_mdc = Some(mdc.to_string());
        let mut regions: Vec<Box<str>> = Vec::new();
        for entry in list {
            if entry.ends_with(TRAUMA_HEADER_SUFFIX) {
                if regions.len() == MAX_TRAUMA_REGIONS {
                    return Err(LoadError::TooManyRegions {
                        mdc: mdc.to_string(),
                        max: MAX_TRAUMA_REGIONS,
                    });
                }
                regions.push(entry.as_str().into());
            } else if !regions.is_empty() {
                self.codes
                    .set_trauma_region(entry, (regions.len() - 1) as u8);
            }
        }
        if regions.is_empty() {
            return Err(LoadError::SpecialWithoutRegions {
                mdc: mdc.to_string(),
            });
        }
        Ok(regions)
    }

    fn compile_adrg(&mut self, key: &str, rule: &AdrgRule) -> Result<Adrg, LoadError> {
        let mut scope = Scope::new(key, &rule.condition);
        scope.raw_lists.extend([
            ("adrg_zd", rule.adrg_zd.as_slice()),
            ("adrg_zd1", rule.adrg_zd1.as_slice()),
            ("adrg_ss", rule.adrg_ss.as_slice()),
            ("adrg_ss1", rule.adrg_ss1.as_slice()),
        ]);
        scope.lists.push(("SS_VALID", self.ss_valid));
        scope.labelled = Some((&rule.adrg_ss, &rule.adrg_ss1));
        let entry = self.compile_text(&mut scope, &rule.condition)?;
        let mut branches = Vec::with_capacity(rule.drgs.len());
        for branch in &rule.drgs {
            let rule_name = format!("{key} {}", branch.code);
            let mut branch_scope = Scope::new(&rule_name, &branch.when);
            branch_scope.lists = scope.lists.clone();
            branch_scope.raw_lists = scope.raw_lists.clone();
            let when = self.compile_text(&mut branch_scope, &branch.when)?;
            if branch.code.len() < 4 || !branch.code.is_ascii() {
                return Err(LoadError::BadDrgCode {
                    adrg: key.to_string(),
                    code: branch.code.clone(),
                });
            }
            let name = self.drg_names.get(&branch.code).map(String::as_str);
            branches.push((when, self.drgs.intern(&branch.code, Status::Success, name)));
        }
        let bare = key
            .get(..3)
            .filter(|k| k.is_ascii())
            .ok_or_else(|| LoadError::BadDrgCode {
                adrg: key.to_string(),
                code: key.to_string(),
            })?;
        let fallback = self.drgs.intern(bare, Status::Success, None);
        let reads_complications = branches.iter().any(|(when, _)| when.uses_complications());
        Ok(Adrg {
            key: key.into(),
            entry_text: entry.describe().into(),
            entry: Guarded::new(entry),
            branches: branches.into_boxed_slice(),
            fallback,
            reads_complications,
        })
    }

    fn compile_text(&mut self, scope: &mut Scope<'_>, text: &str) -> Result<Cond, LoadError> {
        let parsed = expr::parse(text).map_err(|source| LoadError::Syntax {
            rule: scope.rule.clone(),
            text: text.to_string(),
            source,
        })?;
        self.compile_expr(scope, &parsed)
    }

    fn compile_expr(&mut self, scope: &mut Scope<'_>, e: &Expr) -> Result<Cond, LoadError> {
        Ok(match e {
            Expr::Bool(value) => Cond::Const(*value),
            Expr::And(a, b) => Cond::all(vec![
                self.compile_expr(scope, a)?,
                self.compile_expr(scope, b)?,
            ]),
            Expr::Or(a, b) => any_of(self.compile_expr(scope, a)?, self.compile_expr(scope, b)?),
            Expr::Not(inner) => Cond::Not(Box::new(self.compile_expr(scope, inner)?)),
            Expr::Ident(name) if name == "MCC" => Cond::Mcc,
            Expr::Ident(name) if name == "MCC_OR_CC" => Cond::MccOrCc,
            Expr::Member(target, field) if is_record(target) => {
                truthiness(field).ok_or_else(|| scope.unsupported(e))?
            }
            Expr::Call(callee, args) => self.compile_call(scope, e, callee, args)?,
            Expr::Cmp(op, left, right) => {
                compile_comparison(*op, left, right).ok_or_else(|| scope.unsupported(e))?
            }
            _ => return Err(scope.unsupported(e)),
        })
    }

    fn compile_call(
        &mut self,
        scope: &mut Scope<'_>,
        whole: &Expr,
        callee: &Expr,
        args: &[Expr],
    ) -> Result<Cond, LoadError> {
        match (callee, args) {
            (Expr::Ident(name), [a, b]) if name == "intersect" => {
                let (side, list_expr) = match (record_list(a), record_list(b)) {
                    (Some(side), None) => (side, b),
                    (None, Some(side)) => (side, a),
                    _ => return Err(scope.unsupported(whole)),
                };
                let list = self.list_operand(scope, list_expr)?;
                Ok(side.any_in(list))
            }
            (Expr::Member(target, method), [arg]) if method == "includes" => {
                self.compile_includes(scope, whole, target, arg)
            }
            _ => Err(scope.unsupported(whole)),
        }
    }

    fn compile_includes(
        &mut self,
        scope: &mut Scope<'_>,
        whole: &Expr,
        target: &Expr,
        arg: &Expr,
    ) -> Result<Cond, LoadError> {
        if let Some(side) = record_list(target) {
            let Expr::Str(code) = arg else {
                return Err(scope.unsupported(whole));
            };
            let list = self.codes.add_list([code.as_str()]);
            return Ok(side.any_in(list));
        }
        if let (Expr::Ident(name), Expr::Str(label)) = (target, arg) {
            if name == "ss_matched" {
                return Ok(Cond::AnyProcedureIn(self.label_list(scope, label)?));
            }
        }
        let list = self.list_operand(scope, target)?;
        match first_of_record(arg) {
            Some(RecordList::Diagnoses) => Ok(Cond::PrincipalIn(list)),
            Some(RecordList::Procedures) => Ok(Cond::FirstProcedureIn(list)),
            None => Err(scope.unsupported(whole)),
        }
    }

    fn list_operand(&mut self, scope: &mut Scope<'_>, e: &Expr) -> Result<ListId, LoadError> {
        match e {
            Expr::Ident(name) => {
                if let Some((_, id)) = scope.lists.iter().find(|(n, _)| n == name) {
                    return Ok(*id);
                }
                let (key, codes) =
                    *scope
                        .raw_lists
                        .iter()
                        .find(|(n, _)| n == name)
                        .ok_or_else(|| LoadError::UnknownList {
                            rule: scope.rule.clone(),
                            name: name.clone(),
                        })?;
                let id = self.codes.add_list(codes.iter().map(String::as_str));
                scope.lists.push((key, id));
                Ok(id)
            }
            Expr::Array(items) => {
                let codes: Option<Vec<&str>> = items
                    .iter()
                    .map(|i| {
                        if let Expr::Str(s) = i {
                            Some(s.as_str())
                        } else {
                            None
                        }
                    })
                    .collect();
                let codes = codes.ok_or_else(|| scope.unsupported(e))?;
                Ok(self.codes.add_list(codes))
            }
            _ => Err(scope.unsupported(e)),
        }
    }

    /// The list of procedures whose first entry in `adrg_ss` carries `label` in `adrg_ss1`
    /// (upstream: `adrg_ss1[adrg_ss.indexOf(x)]`).
    fn label_list(&mut self, scope: &mut Scope<'_>, label: &str) -> Result<ListId, LoadError> {
        let Some((ss, ss1)) = scope.labelled else {
            return Err(LoadError::UnknownList {
                rule: scope.rule.clone(),
                name: "ss_matched".into(),
            });
        };
        if ss.len() != ss1.len() {
            return Err(LoadError::LabelsNotParallel {
                adrg: scope.rule.clone(),
                label: label.to_string(),
                ss: ss.len(),
                ss1: ss1.len(),
            });
        }
        let mut seen = rustc_hash::FxHashSet::default();
        let codes: Vec<&str> = ss
            .iter()
            .zip(ss1)
            .filter(|(code, _)| seen.insert(code.as_str()))
            .filter(|(_, l)| l.as_str() == label)
            .map(|(code, _)| code.as_str())
            .collect();
        Ok(self.codes.add_list(codes))
    }
}

/// Names and lists visible while compiling one rule.
struct Scope<'r> {
    rule: String,
    text: String,
    /// Lists already registered (on first use, so unused lists cost nothing at grouping time).
    lists: Vec<(&'static str, ListId)>,
    raw_lists: Vec<(&'static str, &'r [String])>,
    labelled: Option<(&'r [String], &'r [String])>,
}

impl<'r> Scope<'r> {
    fn new(rule: &str, text: &str) -> Scope<'r> {
        Scope {
            rule: rule.to_string(),
            text: text.to_string(),
            lists: Vec::new(),
            raw_lists: Vec::new(),
            labelled: None,
        }
    }

    fn unsupported(&self, form: &Expr) -> LoadError {
        LoadError::Unsupported {
            rule: self.rule.clone(),
            form: format!("{form:?}"),
            text: self.text.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum RecordList {
    Diagnoses,
    Procedures,
}

impl RecordList {
    fn any_in(self, list: ListId) -> Cond {
        match self {
            RecordList::Diagnoses => Cond::AnyDiagnosisIn(list),
            RecordList::Procedures => Cond::AnyProcedureIn(list),
        }
    }
}

fn is_record(e: &Expr) -> bool {
    matches!(e, Expr::Ident(name) if name == "record")
}

fn record_list(e: &Expr) -> Option<RecordList> {
    match e {
        Expr::Member(target, field) if is_record(target) => match field.as_str() {
            "zdList" => Some(RecordList::Diagnoses),
            "ssList" => Some(RecordList::Procedures),
            _ => None,
        },
        _ => None,
    }
}

fn first_of_record(e: &Expr) -> Option<RecordList> {
    match e {
        Expr::Index(target, index) if **index == Expr::Int(0) => record_list(target),
        _ => None,
    }
}

fn truthiness(field: &str) -> Option<Cond> {
    match field {
        "ssList" => Some(Cond::HasProcedure),
        "zdList" => Some(Cond::Compare(Field::DiagnosisCount, CmpOp::Gt, 0)),
        "gender" => Some(Cond::SexPresent),
        _ => None,
    }
}

fn compile_comparison(op: CmpOp, left: &Expr, right: &Expr) -> Option<Cond> {
    let field = match left {
        Expr::Member(target, name) if is_record(target) => name.as_str(),
        Expr::Member(target, name) if name == "length" => {
            let count = match record_list(target)? {
                RecordList::Diagnoses => Field::DiagnosisCount,
                RecordList::Procedures => Field::ProcedureCount,
            };
            let Expr::Int(value) = right else { return None };
            return Some(Cond::Compare(count, op, *value));
        }
        _ => return None,
    };
    match (field, right) {
        ("gender", Expr::Str(code)) => {
            let sex = Sex::parse(code)?;
            match op {
                CmpOp::Eq => Some(Cond::SexIs(sex)),
                CmpOp::Ne => Some(Cond::Not(Box::new(Cond::SexIs(sex)))),
                _ => None,
            }
        }
        ("age", Expr::Int(v)) => Some(Cond::Compare(Field::AgeYears, op, *v)),
        ("ageDay", Expr::Int(v)) => Some(Cond::Compare(Field::AgeDays, op, *v)),
        ("weight", Expr::Int(v)) => Some(Cond::Compare(Field::WeightGrams, op, *v)),
        _ => None,
    }
}

fn any_of(a: Cond, b: Cond) -> Cond {
    let mut parts = Vec::new();
    for part in [a, b] {
        match part {
            Cond::Any(inner) => parts.extend(inner.into_vec()),
            other => parts.push(other),
        }
    }
    Cond::Any(parts.into_boxed_slice())
}

fn mdc_letter(mdc: &str) -> Result<&str, LoadError> {
    mdc.strip_prefix("MDC")
        .filter(|l| l.len() == 1 && l.is_ascii())
        .ok_or_else(|| LoadError::Unsupported {
            rule: mdc.to_string(),
            form: "MDC name".into(),
            text: mdc.to_string(),
        })
}

fn load_code_map(dir: &Path, codes: &crate::codes::CodeTable) -> Result<CodeMap, LoadError> {
    let read = |file: &str| -> Result<FxHashMap<Box<str>, u32>, LoadError> {
        Ok(read_pairs(&dir.join(file))?
            .into_iter()
            .map(|(from, to)| (from.into_boxed_str(), codes.lookup(&to)))
            .collect())
    };
    Ok(CodeMap {
        diagnoses: read("ZD_MAP.dat")?,
        procedures: read("SS_MAP.dat")?,
    })
}
