//! 病案校验: the checks a discharge's medical record must pass before it is grouped — required
//! fields, code shapes and (when a grouper's tables are at hand) codes the grouper knows, sex and
//! age conflicts of diagnoses, and a length of stay that agrees with the dates. The lists and
//! limits are data (`policies/drg/record-checks.toml`); each problem names the field and says in
//! Chinese what is wrong.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The longest code checked (longer is refused as a shape error).
const MAX_CODE_CHARS: usize = 20;

/// A discharge's medical record as the checks read it (codes with the main one first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MedicalRecord {
    /// Sex code from the registry (GB/T 2261.1: `1` male, `2` female).
    pub sex: Option<String>,
    /// Age in whole years on the day of admission.
    pub age_years: Option<i64>,
    pub admitted: Option<NaiveDate>,
    pub discharged: Option<NaiveDate>,
    /// 实际住院天数 as recorded.
    pub los_days: Option<i64>,
    /// 离院方式.
    pub leaving_type: Option<String>,
    /// Western-medicine diagnoses, the main diagnosis first.
    pub diagnoses: Vec<String>,
    /// Procedures, the main procedure first.
    pub procedures: Vec<String>,
}

/// Which code list a code is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Diagnosis,
    Procedure,
}

/// The codes a grouper's tables name; [`AnyCode`] when no tables are at hand.
pub trait CodeBook {
    /// Whether `code` is known as a code of `kind`.
    fn knows(&self, kind: CodeKind, code: &str) -> bool;
}

/// Accepts every code of the right shape (no grouper tables).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyCode;

impl CodeBook for AnyCode {
    fn knows(&self, _kind: CodeKind, _code: &str) -> bool {
        true
    }
}

/// One failed check: the record field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordProblem {
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}：{}", self.field, self.problem)
    }
}

/// Why a checks file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RecordChecksError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("record checks: {0}")]
    Toml(Box<toml::de::Error>),
    #[error("record checks field `{field}`: {problem}")]
    Invalid { field: String, problem: String },
}

/// A field a record must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredField {
    Sex,
    Age,
    AdmissionDate,
    DischargeDate,
    LosDays,
    LeavingType,
    MainDiagnosis,
}

impl RequiredField {
    /// The 4101 field name and its Chinese label.
    fn name(self) -> (&'static str, &'static str) {
        match self {
            RequiredField::Sex => ("setlinfo.gend", "性别"),
            RequiredField::Age => ("setlinfo.age", "年龄"),
            RequiredField::AdmissionDate => ("setlinfo.adm_time", "入院时间"),
            RequiredField::DischargeDate => ("setlinfo.dscg_time", "出院时间"),
            RequiredField::LosDays => ("setlinfo.act_ipt_days", "实际住院天数"),
            RequiredField::LeavingType => ("setlinfo.dscg_way", "离院方式"),
            RequiredField::MainDiagnosis => ("diseinfo.diag_code", "主要诊断"),
        }
    }

    fn present(self, record: &MedicalRecord) -> bool {
        match self {
            RequiredField::Sex => record.sex.as_deref().is_some_and(|s| !s.trim().is_empty()),
            RequiredField::Age => record.age_years.is_some(),
            RequiredField::AdmissionDate => record.admitted.is_some(),
            RequiredField::DischargeDate => record.discharged.is_some(),
            RequiredField::LosDays => record.los_days.is_some(),
            RequiredField::LeavingType => record
                .leaving_type
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty()),
            RequiredField::MainDiagnosis => !record.diagnoses.is_empty(),
        }
    }
}

/// A range of ICD-10 categories (the first three characters, both ends included).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CategoryRange {
    from: String,
    to: String,
}

impl CategoryRange {
    fn contains(&self, code: &str) -> bool {
        let category: String = code.chars().take(3).collect::<String>().to_uppercase();
        category.len() == 3 && self.from <= category && category <= self.to
    }
}

/// Diagnoses only one sex can have.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SexRule {
    label: String,
    range: CategoryRange,
    sex: String,
}

/// Diagnoses only an age band can have.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AgeRule {
    label: String,
    range: CategoryRange,
    min_age_years: Option<i64>,
    max_age_years: Option<i64>,
}

/// The compiled checks.
#[derive(Debug, Clone)]
pub struct RecordChecks {
    /// Where the lists and limits come from.
    pub provenance: String,
    required: Vec<RequiredField>,
    los_tolerance_days: i64,
    max_los_days: i64,
    check_known_codes: bool,
    sex_rules: Vec<SexRule>,
    age_rules: Vec<AgeRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    provenance: String,
    required: Vec<RequiredField>,
    los: RawLos,
    #[serde(default)]
    check_known_codes: bool,
    #[serde(default)]
    sex_rules: Vec<RawSexRule>,
    #[serde(default)]
    age_rules: Vec<RawAgeRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLos {
    tolerance_days: i64,
    max_days: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSexRule {
    label: String,
    from: String,
    to: String,
    sex: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgeRule {
    label: String,
    from: String,
    to: String,
    min_age_years: Option<i64>,
    max_age_years: Option<i64>,
}

fn invalid(field: String, problem: &str) -> RecordChecksError {
    RecordChecksError::Invalid {
        field,
        problem: problem.to_string(),
    }
}

fn range(field: &str, from: &str, to: &str) -> Result<CategoryRange, RecordChecksError> {
    let category = |end: &str, text: &str| {
        let upper = text.trim().to_uppercase();
        let bytes = upper.as_bytes();
        let shaped = bytes.len() == 3
            && bytes[0].is_ascii_uppercase()
            && bytes[1].is_ascii_digit()
            && bytes[2].is_ascii_alphanumeric();
        if shaped {
            Ok(upper)
        } else {
            Err(invalid(
                format!("{field}.{end}"),
                "must be an ICD-10 category: a letter and two characters (`O00`, `O9A`)",
            ))
        }
    };
    let range = CategoryRange {
        from: category("from", from)?,
        to: category("to", to)?,
    };
    if range.from > range.to {
        return Err(invalid(
            format!("{field}.to"),
            "must not come before `from`",
        ));
    }
    Ok(range)
}

impl RecordChecks {
    /// Reads a checks file.
    pub fn load(path: &Path) -> Result<RecordChecks, RecordChecksError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecordChecksError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        RecordChecks::from_toml_str(&text)
    }

    /// Parses and validates checks TOML.
    pub fn from_toml_str(text: &str) -> Result<RecordChecks, RecordChecksError> {
        let raw: RawChecks =
            toml::from_str(text).map_err(|e| RecordChecksError::Toml(Box::new(e)))?;
        if !(0..=30).contains(&raw.los.tolerance_days) {
            return Err(invalid("los.tolerance_days".into(), "must be 0–30 days"));
        }
        if !(1..=36_525).contains(&raw.los.max_days) {
            return Err(invalid("los.max_days".into(), "must be 1–36525 days"));
        }
        let sex_rules = raw
            .sex_rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let field = format!("sex_rules[{i}]");
                if !matches!(rule.sex.as_str(), "1" | "2") {
                    return Err(invalid(format!("{field}.sex"), "must be `1` or `2`"));
                }
                Ok(SexRule {
                    label: rule.label.clone(),
                    range: range(&field, &rule.from, &rule.to)?,
                    sex: rule.sex.clone(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let age_rules = raw
            .age_rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let field = format!("age_rules[{i}]");
                let in_range = |age: Option<i64>| age.is_none_or(|a| (0..=150).contains(&a));
                if !in_range(rule.min_age_years) || !in_range(rule.max_age_years) {
                    return Err(invalid(field, "ages must be 0–150 years"));
                }
                if rule.min_age_years.is_none() && rule.max_age_years.is_none() {
                    return Err(invalid(field, "needs `min_age_years` or `max_age_years`"));
                }
                Ok(AgeRule {
                    label: rule.label.clone(),
                    range: range(&field, &rule.from, &rule.to)?,
                    min_age_years: rule.min_age_years,
                    max_age_years: rule.max_age_years,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if raw.provenance.trim().is_empty() {
            return Err(invalid(
                "provenance".into(),
                "must say where the rules come from",
            ));
        }
        Ok(RecordChecks {
            provenance: raw.provenance,
            required: raw.required,
            los_tolerance_days: raw.los.tolerance_days,
            max_los_days: raw.los.max_days,
            check_known_codes: raw.check_known_codes,
            sex_rules,
            age_rules,
        })
    }

    /// Every problem of `record` (empty when it passes).
    pub fn check(&self, record: &MedicalRecord, codes: &dyn CodeBook) -> Vec<RecordProblem> {
        let mut problems = Vec::new();
        for field in &self.required {
            if !field.present(record) {
                let (name, label) = field.name();
                problems.push(problem(name.to_string(), format!("缺少{label}")));
            }
        }
        self.check_codes(record, codes, &mut problems);
        self.check_sex(record, &mut problems);
        self.check_age(record, &mut problems);
        self.check_stay(record, &mut problems);
        problems
    }

    fn check_codes(
        &self,
        record: &MedicalRecord,
        codes: &dyn CodeBook,
        problems: &mut Vec<RecordProblem>,
    ) {
        let lists = [
            (
                CodeKind::Diagnosis,
                "diseinfo",
                "diag_code",
                &record.diagnoses,
            ),
            (
                CodeKind::Procedure,
                "oprninfo",
                "oprn_oprt_code",
                &record.procedures,
            ),
        ];
        for (kind, node, column, list) in lists {
            for (index, code) in list.iter().enumerate() {
                let field = format!("{node}[{index}].{column}");
                let (shaped, shape) = match kind {
                    CodeKind::Diagnosis => (is_diagnosis_code(code), "ICD-10 诊断编码"),
                    CodeKind::Procedure => (is_procedure_code(code), "ICD-9-CM-3 手术操作编码"),
                };
                if !shaped {
                    problems.push(problem(field, format!("{code} 不是{shape}的格式")));
                } else if self.check_known_codes && !codes.knows(kind, code) {
                    problems.push(problem(field, format!("{code} 不在分组器编码库中")));
                }
            }
        }
    }

    fn check_sex(&self, record: &MedicalRecord, problems: &mut Vec<RecordProblem>) {
        let Some(sex) = record.sex.as_deref().map(str::trim) else {
            return;
        };
        if !matches!(sex, "1" | "2") {
            return;
        }
        for (index, code) in record.diagnoses.iter().enumerate() {
            if let Some(rule) = self
                .sex_rules
                .iter()
                .find(|r| r.sex != sex && r.range.contains(code))
            {
                let only = if rule.sex == "1" { "男性" } else { "女性" };
                let own = if sex == "1" { "男性" } else { "女性" };
                problems.push(problem(
                    format!("diseinfo[{index}].diag_code"),
                    format!(
                        "{code} 属于{}，仅适用于{only}，与性别（{own}）冲突",
                        rule.label
                    ),
                ));
            }
        }
    }

    fn check_age(&self, record: &MedicalRecord, problems: &mut Vec<RecordProblem>) {
        let Some(age) = record.age_years else {
            return;
        };
        for (index, code) in record.diagnoses.iter().enumerate() {
            let conflict = self.age_rules.iter().find(|r| {
                r.range.contains(code)
                    && (r.min_age_years.is_some_and(|min| age < min)
                        || r.max_age_years.is_some_and(|max| age > max))
            });
            if let Some(rule) = conflict {
                problems.push(problem(
                    format!("diseinfo[{index}].diag_code"),
                    format!(
                        "{code} 属于{}，适用年龄{}，与年龄 {age} 岁冲突",
                        rule.label,
                        age_band(rule.min_age_years, rule.max_age_years)
                    ),
                ));
            }
        }
    }

    fn check_stay(&self, record: &MedicalRecord, problems: &mut Vec<RecordProblem>) {
        if let Some(los) = record.los_days {
            if !(0..=self.max_los_days).contains(&los) {
                problems.push(problem(
                    "setlinfo.act_ipt_days".into(),
                    format!("{los} 天不在 0–{} 天之内", self.max_los_days),
                ));
                return;
            }
        }
        let (Some(admitted), Some(discharged)) = (record.admitted, record.discharged) else {
            return;
        };
        let days = (discharged - admitted).num_days();
        if days < 0 {
            problems.push(problem(
                "setlinfo.dscg_time".into(),
                format!("出院日期 {discharged} 早于入院日期 {admitted}"),
            ));
            return;
        }
        if let Some(los) = record.los_days {
            if (los - days).abs() > self.los_tolerance_days {
                problems.push(problem(
                    "setlinfo.act_ipt_days".into(),
                    format!(
                        "实际住院天数 {los} 与入出院日期之差 {days} 天不符（允许相差 {} 天）",
                        self.los_tolerance_days
                    ),
                ));
            }
        }
    }
}

fn problem(field: String, problem: String) -> RecordProblem {
    RecordProblem { field, problem }
}

fn age_band(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!(" {min}–{max} 岁"),
        (Some(min), None) => format!(" {min} 岁及以上"),
        (None, Some(0)) => "不满 1 岁".to_string(),
        (None, Some(max)) => format!(" {max} 岁及以下"),
        (None, None) => String::new(),
    }
}

/// Whether a code has the shape of an ICD-10 diagnosis (a letter, two digits, then digits,
/// letters, `.`, `+` or `/`: `K80.100`, `I10.x00`).
pub fn is_diagnosis_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() >= 3
        && code.chars().count() <= MAX_CODE_CHARS
        && bytes[0].is_ascii_alphabetic()
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_alphanumeric()
        && bytes[3..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'/'))
}

/// Whether a code has the shape of an ICD-9-CM-3 procedure (two digits, then digits, letters or
/// `.`: `51.2300`, `47.0900x001`).
pub fn is_procedure_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() >= 2
        && code.chars().count() <= MAX_CODE_CHARS
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && bytes[2..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn checks() -> RecordChecks {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/drg/record-checks.toml");
        RecordChecks::load(&path).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn record() -> MedicalRecord {
        MedicalRecord {
            sex: Some("1".into()),
            age_years: Some(45),
            admitted: Some(date("2025-03-01")),
            discharged: Some(date("2025-03-08")),
            los_days: Some(7),
            leaving_type: Some("1".into()),
            diagnoses: vec!["J18.900".into(), "I10.x00".into()],
            procedures: vec!["96.0400".into()],
        }
    }

    #[test]
    fn a_complete_record_passes() {
        assert_eq!(checks().check(&record(), &AnyCode), vec![]);
    }

    #[test]
    fn missing_fields_are_named() {
        let empty = MedicalRecord::default();
        let problems = checks().check(&empty, &AnyCode);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"setlinfo.gend"), "{problems:?}");
        assert!(fields.contains(&"diseinfo.diag_code"), "{problems:?}");
        let main = problems
            .iter()
            .find(|p| p.field == "diseinfo.diag_code")
            .unwrap();
        assert_eq!(main.to_string(), "diseinfo.diag_code：缺少主要诊断");
    }

    #[test]
    fn obstetric_diagnosis_of_a_man_conflicts() {
        let mut man = record();
        man.diagnoses = vec!["O80.000".into()];
        let problems = checks().check(&man, &AnyCode);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "diseinfo[0].diag_code");
        assert!(problems[0].problem.contains("仅适用于女性"), "{problems:?}");
        let mut woman = man.clone();
        woman.sex = Some("2".into());
        assert_eq!(checks().check(&woman, &AnyCode), vec![]);
    }

    #[test]
    fn male_only_chapter_for_a_woman_conflicts() {
        let mut woman = record();
        woman.sex = Some("2".into());
        woman.diagnoses = vec!["J18.900".into(), "N40.x00".into()];
        let problems = checks().check(&woman, &AnyCode);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "diseinfo[1].diag_code");
        assert!(problems[0].problem.contains("仅适用于男性"));
    }

    #[test]
    fn perinatal_codes_beyond_infancy_conflict() {
        let mut adult = record();
        adult.diagnoses = vec!["P07.300".into()];
        let problems = checks().check(&adult, &AnyCode);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].problem.contains("与年龄 45 岁冲突"));
        adult.age_years = Some(0);
        assert_eq!(checks().check(&adult, &AnyCode), vec![]);
    }

    #[test]
    fn stay_must_agree_with_the_dates() {
        let mut stay = record();
        stay.los_days = Some(12);
        let problems = checks().check(&stay, &AnyCode);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "setlinfo.act_ipt_days");
        stay.los_days = Some(8);
        assert_eq!(checks().check(&stay, &AnyCode), vec![], "within tolerance");
        stay.discharged = Some(date("2025-02-27"));
        stay.los_days = None;
        let problems = checks().check(&stay, &AnyCode);
        assert!(
            problems.iter().any(|p| p.field == "setlinfo.dscg_time"),
            "{problems:?}"
        );
    }

    struct Known;
    impl CodeBook for Known {
        fn knows(&self, _kind: CodeKind, code: &str) -> bool {
            code != "J99.999"
        }
    }

    #[test]
    fn code_shapes_and_unknown_codes() {
        let mut bad = record();
        bad.diagnoses = vec!["18.900".into(), "J99.999".into()];
        bad.procedures = vec!["A1".into()];
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/drg/record-checks.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let with_tables = text.replace("check_known_codes = false", "check_known_codes = true");
        let problems = RecordChecks::from_toml_str(&with_tables)
            .unwrap()
            .check(&bad, &Known);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "diseinfo[0].diag_code",
                "diseinfo[1].diag_code",
                "oprninfo[0].oprn_oprt_code"
            ]
        );
        assert!(problems[1].problem.contains("不在分组器编码库中"));
    }

    #[test]
    fn invalid_files_name_the_field() {
        let text = "provenance = \"x\"\nrequired = []\n[los]\ntolerance_days = 1\nmax_days = 10\n\
                    [[sex_rules]]\nlabel = \"x\"\nfrom = \"O99\"\nto = \"O00\"\nsex = \"2\"\n";
        let err = RecordChecks::from_toml_str(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record checks field `sex_rules[0].to`: must not come before `from`"
        );
        let err =
            RecordChecks::from_toml_str(&text.replace("sex = \"2\"", "sex = \"3\"")).unwrap_err();
        assert!(err.to_string().contains("sex_rules[0].sex"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics_and_problems_name_fields(
            sex in proptest::option::of("[0-9男]{0,2}"),
            age in proptest::option::of(-5i64..200),
            los in proptest::option::of(-5i64..40_000),
            codes in proptest::collection::vec("[A-Z0-9.x]{0,9}", 0..4),
            start in 0i64..800,
            length in -10i64..400,
        ) {
            let admitted = date("2024-01-01") + chrono::Duration::days(start);
            let record = MedicalRecord {
                sex,
                age_years: age,
                admitted: Some(admitted),
                discharged: Some(admitted + chrono::Duration::days(length)),
                los_days: los,
                leaving_type: None,
                diagnoses: codes.clone(),
                procedures: codes,
            };
            for found in checks().check(&record, &AnyCode) {
                prop_assert!(!found.field.is_empty() && !found.problem.is_empty());
            }
        }
    }
}
