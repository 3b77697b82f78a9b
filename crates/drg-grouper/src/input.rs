//! Input readers: JSON Lines in the `oracle-sample.jsonl` layout, the same JSON wrapped as a
//! settlement list (结算清单, 4101: `setlinfo` + `diseinfo[]` + `oprninfo[]`), and CSV with a header.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::case::{Case, Patient, Sex};

/// Why one input record could not be read. `line` is 1-based (for CSV: the record number + 1 for
/// the header, i.e. the line in a file without embedded newlines).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("line {line}: not a valid JSON object: {message}")]
    Json { line: usize, message: String },
    #[error("line {line}: field `{field}`: {problem}")]
    Field {
        line: usize,
        field: String,
        problem: String,
    },
    #[error("line {line}: CSV: {message}")]
    Csv { line: usize, message: String },
    #[error("CSV header: {message}")]
    CsvHeader { message: String },
}

impl InputError {
    /// The 1-based input line the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            InputError::Json { line, .. }
            | InputError::Field { line, .. }
            | InputError::Csv { line, .. } => Some(*line),
            InputError::CsvHeader { .. } => None,
        }
    }
}

/// A JSON scalar as senders write it: numbers, numeric strings, booleans (`null` is `None` outside).
#[derive(Debug, Clone)]
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a string or a boolean")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
}

/// A code list: a JSON array (nulls and blanks skipped), or one string separated by `|`, `;` or `,`.
#[derive(Debug, Clone, Default)]
struct CodeList(Vec<String>);

impl<'de> Deserialize<'de> for CodeList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CodeList, D::Error> {
        deserializer.deserialize_any(CodeListVisitor)
    }
}

struct CodeListVisitor;

impl<'de> Visitor<'de> for CodeListVisitor {
    type Value = CodeList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of codes or a string of codes separated by | ; or ,")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<CodeList, E> {
        Ok(CodeList(split_codes(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CodeList, A::Error> {
        let mut codes = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(code) = seq.next_element::<Option<String>>()? {
            let Some(code) = code else { continue };
            let trimmed = code.trim();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed.len() == code.len() {
                codes.push(code);
            } else {
                codes.push(trimmed.to_string());
            }
        }
        Ok(CodeList(codes))
    }
}

#[derive(Debug, Default, Deserialize)]
struct FlatCase {
    id: Option<Scalar>,
    sex: Option<Scalar>,
    age: Option<Scalar>,
    age_days: Option<Scalar>,
    weight_g: Option<Scalar>,
    los: Option<Scalar>,
    leaving_type: Option<Scalar>,
    diagnoses: Option<CodeList>,
    procedures: Option<CodeList>,
    grouper: Option<String>,
    version: Option<String>,
    setlinfo: Option<SetlInfo>,
    #[serde(default)]
    diseinfo: Vec<DiseInfo>,
    #[serde(default)]
    oprninfo: Vec<OprnInfo>,
    input: Option<Box<FlatCase>>,
}

/// The 4101 结算清单 fields grouping needs.
#[derive(Debug, Default, Deserialize)]
struct SetlInfo {
    setl_id: Option<Scalar>,
    mdtrt_id: Option<Scalar>,
    gend: Option<Scalar>,
    age: Option<Scalar>,
    nwb_age: Option<Scalar>,
    nwb_bir_wt: Option<Scalar>,
    act_ipt_days: Option<Scalar>,
    dscg_way: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
struct DiseInfo {
    diag_type: Option<Scalar>,
    diag_code: Option<String>,
    maindiag_flag: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
struct OprnInfo {
    oprn_oprt_code: Option<String>,
    main_oprn_flag: Option<Scalar>,
    oprn_oprt_type: Option<Scalar>,
}

/// Reads one JSON line (flat layout or 4101 settlement list). `line` is used in error messages.
pub fn parse_json_case(text: &str, line: usize) -> Result<Case, InputError> {
    let raw: FlatCase = serde_json::from_str(text).map_err(|e| InputError::Json {
        line,
        message: e.to_string(),
    })?;
    let raw = match raw.input {
        Some(inner) if inner.setlinfo.is_some() => *inner,
        _ => raw,
    };
    match raw.setlinfo {
        Some(ref info) => settlement_list_case(info, &raw, line),
        None => flat_case(raw, line),
    }
}

fn flat_case(raw: FlatCase, line: usize) -> Result<Case, InputError> {
    let field = FieldReader { line };
    Ok(Case {
        id: raw.id.as_ref().map(scalar_text).unwrap_or_default(),
        patient: Patient {
            sex: field.sex("sex", raw.sex.as_ref())?,
            age_years: field.int("age", raw.age.as_ref())?,
            age_days: field.int("age_days", raw.age_days.as_ref())?,
            weight_g: field.int("weight_g", raw.weight_g.as_ref())?,
        },
        los_days: field.int("los", raw.los.as_ref())?,
        leaving_type: raw
            .leaving_type
            .as_ref()
            .map(scalar_text)
            .filter(|t| !t.is_empty()),
        diagnoses: raw.diagnoses.map(|l| l.0).unwrap_or_default(),
        procedures: raw.procedures.map(|l| l.0).unwrap_or_default(),
        version: raw.grouper.or(raw.version),
    })
}

fn settlement_list_case(info: &SetlInfo, raw: &FlatCase, line: usize) -> Result<Case, InputError> {
    let field = FieldReader { line };
    let id = info
        .setl_id
        .as_ref()
        .or(info.mdtrt_id.as_ref())
        .map(scalar_text)
        .unwrap_or_default();
    Ok(Case {
        id,
        patient: Patient {
            sex: field.sex("setlinfo.gend", info.gend.as_ref())?,
            age_years: field.int("setlinfo.age", info.age.as_ref())?,
            age_days: field.int("setlinfo.nwb_age", info.nwb_age.as_ref())?,
            weight_g: field.int("setlinfo.nwb_bir_wt", info.nwb_bir_wt.as_ref())?,
        },
        los_days: field.int("setlinfo.act_ipt_days", info.act_ipt_days.as_ref())?,
        leaving_type: info
            .dscg_way
            .as_ref()
            .map(scalar_text)
            .filter(|t| !t.is_empty()),
        diagnoses: settlement_diagnoses(&raw.diseinfo),
        procedures: settlement_procedures(&raw.oprninfo),
        version: raw.grouper.clone().or_else(|| raw.version.clone()),
    })
}

/// Western-medicine diagnoses (`diag_type` 1 or absent), the one flagged `maindiag_flag = 1` first.
fn settlement_diagnoses(rows: &[DiseInfo]) -> Vec<String> {
    let western = rows.iter().filter(|r| {
        r.diag_type
            .as_ref()
            .is_none_or(|t| matches!(scalar_text(t).as_str(), "" | "1"))
    });
    main_first(western.filter_map(|r| {
        Some((
            is_flag_set(r.maindiag_flag.as_ref()),
            r.diag_code.as_deref()?,
        ))
    }))
}

/// Procedures, the one flagged `main_oprn_flag = 1` (or `oprn_oprt_type = 1`) first.
fn settlement_procedures(rows: &[OprnInfo]) -> Vec<String> {
    main_first(rows.iter().filter_map(|r| {
        let main = is_flag_set(r.main_oprn_flag.as_ref()) || is_flag_set(r.oprn_oprt_type.as_ref());
        Some((main, r.oprn_oprt_code.as_deref()?))
    }))
}

fn main_first<'a>(rows: impl Iterator<Item = (bool, &'a str)>) -> Vec<String> {
    let mut codes: Vec<(bool, String)> = rows
        .map(|(main, code)| (main, code.trim().to_string()))
        .filter(|(_, code)| !code.is_empty())
        .collect();
    if let Some(position) = codes.iter().position(|(main, _)| *main) {
        let main = codes.remove(position);
        codes.insert(0, main);
    }
    codes.into_iter().map(|(_, code)| code).collect()
}

fn is_flag_set(flag: Option<&Scalar>) -> bool {
    flag.is_some_and(|f| scalar_text(f) == "1")
}

fn scalar_text(value: &Scalar) -> String {
    match value {
        Scalar::Int(n) => n.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Text(s) => s.trim().to_string(),
        Scalar::Bool(b) => b.to_string(),
    }
}

/// Splits `A|B`, `A;B` or `A,B` into trimmed, non-empty codes.
pub fn split_codes(text: &str) -> Vec<String> {
    text.split(['|', ';', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

/// Converts field values, naming the line and field on failure.
struct FieldReader {
    line: usize,
}

impl FieldReader {
    fn error(&self, field: &str, problem: String) -> InputError {
        InputError::Field {
            line: self.line,
            field: field.to_string(),
            problem,
        }
    }

    fn sex(&self, field: &str, value: Option<&Scalar>) -> Result<Option<Sex>, InputError> {
        let Some(value) = value else { return Ok(None) };
        let text = scalar_text(value);
        if text.is_empty() {
            return Ok(None);
        }
        Sex::parse(&text).map(Some).ok_or_else(|| {
            self.error(
                field,
                format!("`{text}` is not a sex code (1 male, 2 female, 0/9 unknown)"),
            )
        })
    }

    fn int(&self, field: &str, value: Option<&Scalar>) -> Result<Option<i64>, InputError> {
        match value {
            None => Ok(None),
            Some(Scalar::Int(n)) => Ok(Some(*n)),
            Some(Scalar::Float(f)) => whole_number(*f)
                .map(Some)
                .ok_or_else(|| self.error(field, format!("{f} is not a finite number"))),
            Some(Scalar::Text(text)) => self.int_text(field, text),
            Some(Scalar::Bool(b)) => {
                Err(self.error(field, format!("expected a number, found {b}")))
            }
        }
    }

    fn int_text(&self, field: &str, text: &str) -> Result<Option<i64>, InputError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if let Ok(n) = trimmed.parse::<i64>() {
            return Ok(Some(n));
        }
        let parsed: Option<f64> = trimmed.parse().ok();
        parsed
            .and_then(whole_number)
            .map(Some)
            .ok_or_else(|| self.error(field, format!("`{trimmed}` is not a number")))
    }
}

/// The whole part of a finite number (ages like `45.0`, weights like `2500.00`).
fn whole_number(value: f64) -> Option<i64> {
    (value.is_finite() && value.abs() < 1e15).then(|| value.trunc() as i64)
}

/// Reads CSV with a header naming the flat JSON fields (`id,sex,age,age_days,weight_g,los,
/// leaving_type,diagnoses,procedures[,grouper]`); code lists are separated by `|`, `;` or `,`.
pub fn parse_csv_cases(
    reader: impl std::io::Read,
) -> Result<impl Iterator<Item = Result<Case, InputError>>, InputError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| InputError::CsvHeader {
            message: e.to_string(),
        })?
        .clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    let columns = CsvColumns {
        id: column("id"),
        sex: column("sex"),
        age: column("age"),
        age_days: column("age_days"),
        weight_g: column("weight_g"),
        los: column("los"),
        leaving_type: column("leaving_type"),
        diagnoses: column("diagnoses").ok_or_else(|| InputError::CsvHeader {
            message: "no `diagnoses` column".into(),
        })?,
        procedures: column("procedures"),
        grouper: column("grouper").or_else(|| column("version")),
    };
    Ok(csv.into_records().enumerate().map(move |(index, record)| {
        let line = index + 2;
        let record = record.map_err(|e| InputError::Csv {
            line,
            message: e.to_string(),
        })?;
        columns.case(&record, line)
    }))
}

struct CsvColumns {
    id: Option<usize>,
    sex: Option<usize>,
    age: Option<usize>,
    age_days: Option<usize>,
    weight_g: Option<usize>,
    los: Option<usize>,
    leaving_type: Option<usize>,
    diagnoses: usize,
    procedures: Option<usize>,
    grouper: Option<usize>,
}

impl CsvColumns {
    fn case(&self, record: &csv::StringRecord, line: usize) -> Result<Case, InputError> {
        let cell =
            |column: Option<usize>| column.and_then(|c| record.get(c)).filter(|v| !v.is_empty());
        let scalar = |column: Option<usize>| cell(column).map(|v| Scalar::Text(v.to_string()));
        let field = FieldReader { line };
        Ok(Case {
            id: cell(self.id).unwrap_or_default().to_string(),
            patient: Patient {
                sex: field.sex("sex", scalar(self.sex).as_ref())?,
                age_years: field.int("age", scalar(self.age).as_ref())?,
                age_days: field.int("age_days", scalar(self.age_days).as_ref())?,
                weight_g: field.int("weight_g", scalar(self.weight_g).as_ref())?,
            },
            los_days: field.int("los", scalar(self.los).as_ref())?,
            leaving_type: cell(self.leaving_type).map(String::from),
            diagnoses: cell(Some(self.diagnoses))
                .map(split_codes)
                .unwrap_or_default(),
            procedures: cell(self.procedures).map(split_codes).unwrap_or_default(),
            version: cell(self.grouper).map(String::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flat_json() {
        let case = parse_json_case(
            r#"{"id":"c1","grouper":"chs_drg_11","sex":2,"age":"70","age_days":25600,"weight_g":0,"los":6,"leaving_type":1,"diagnoses":["I48.900x003"," J96.000",""],"procedures":[]}"#,
            1,
        )
        .unwrap();
        assert_eq!(case.id, "c1");
        assert_eq!(case.patient.sex, Some(Sex::Female));
        assert_eq!(case.patient.age_years, Some(70));
        assert_eq!(case.diagnoses, vec!["I48.900x003", "J96.000"]);
        assert!(case.procedures.is_empty());
        assert_eq!(case.version.as_deref(), Some("chs_drg_11"));
        assert_eq!(case.leaving_type.as_deref(), Some("1"));
    }

    #[test]
    fn reads_joined_lists_and_missing_sex() {
        let case = parse_json_case(
            r#"{"id":7,"age":45.0,"diagnoses":"K35.800|K59.000","procedures":"47.0901"}"#,
            3,
        )
        .unwrap();
        assert_eq!(case.id, "7");
        assert_eq!(case.patient.sex, None);
        assert_eq!(case.patient.age_years, Some(45));
        assert_eq!(case.diagnoses, vec!["K35.800", "K59.000"]);
        assert_eq!(case.procedures, vec!["47.0901"]);
    }

    #[test]
    fn reports_line_and_field() {
        let err = parse_json_case(r#"{"sex":"X","diagnoses":[]}"#, 12).unwrap_err();
        assert_eq!(err.line(), Some(12));
        assert!(err.to_string().contains("field `sex`"), "{err}");
        let err = parse_json_case(r#"{"age":"forty"}"#, 2).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 2: field `age`: `forty` is not a number"),
            "{err}"
        );
        let err = parse_json_case("{not json", 5).unwrap_err();
        assert!(matches!(err, InputError::Json { line: 5, .. }));
    }

    #[test]
    fn reads_settlement_list_4101() {
        let text = r#"{"input":{"setlinfo":{"setl_id":"S1","gend":"1","age":0,"nwb_age":20,"nwb_bir_wt":"2600.00","act_ipt_days":5,"dscg_way":"1"},
            "diseinfo":[{"diag_type":"1","diag_code":"P22.000","maindiag_flag":"0"},{"diag_type":"2","diag_code":"BNW010","maindiag_flag":"0"},{"diag_type":"1","diag_code":"P07.300","maindiag_flag":"1"}],
            "oprninfo":[{"oprn_oprt_code":"96.0400","main_oprn_flag":"0"},{"oprn_oprt_code":"96.7201","main_oprn_flag":"1"}]}}"#;
        let case = parse_json_case(text, 1).unwrap();
        assert_eq!(case.id, "S1");
        assert_eq!(
            case.patient,
            Patient {
                sex: Some(Sex::Male),
                age_years: Some(0),
                age_days: Some(20),
                weight_g: Some(2600)
            }
        );
        assert_eq!(case.diagnoses, vec!["P07.300", "P22.000"]);
        assert_eq!(case.procedures, vec!["96.7201", "96.0400"]);
        assert_eq!(case.los_days, Some(5));
    }

    #[test]
    fn reads_csv() {
        let text = "id,sex,age,age_days,weight_g,los,leaving_type,diagnoses,procedures,grouper\n\
                    a,1,30,,,3,1,\"K35.800,K59.000\",47.0901,chs_drg_11\n\
                    b,Z,30,,,3,1,K35.800,,\n";
        let rows: Vec<_> = parse_csv_cases(text.as_bytes()).unwrap().collect();
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.diagnoses, vec!["K35.800", "K59.000"]);
        assert_eq!(first.patient.age_days, None);
        assert_eq!(first.version.as_deref(), Some("chs_drg_11"));
        assert_eq!(rows[1].as_ref().unwrap_err().line(), Some(3));
        assert!(parse_csv_cases("id,sex\n".as_bytes()).is_err());
    }
}
