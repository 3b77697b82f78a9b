//! Discharges to be paid: JSON Lines or CSV with `id, hospital, drg, los, total_cost, leaving_type,
//! patient_id, admission_date, discharge_date, special_review, claim`.

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_domain::Fen;

/// Longest stay accepted (100 years), so date arithmetic cannot overflow.
const MAX_LOS_DAYS: i64 = 36_525;

/// One discharge as the payment side sees it (already grouped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayCase {
    pub id: String,
    pub hospital: String,
    pub drg: String,
    pub los_days: i64,
    /// Total medical cost of the stay.
    pub total_cost: Fen,
    pub leaving_type: Option<String>,
    pub patient_id: Option<String>,
    pub admission_date: Option<NaiveDate>,
    pub discharge_date: NaiveDate,
    /// The hospital asked for 特病单议 (review case by case).
    pub special_review: bool,
    /// What the hospital claimed from the fund for the stay (basis of the monthly prepayment).
    pub claim: Fen,
}

impl PayCase {
    /// Admission date, or discharge date − length of stay when not given.
    pub fn admitted(&self) -> NaiveDate {
        let from_stay = chrono::TimeDelta::try_days(self.los_days)
            .and_then(|stay| self.discharge_date.checked_sub_signed(stay));
        self.admission_date
            .or(from_stay)
            .unwrap_or(self.discharge_date)
    }
}

/// Why a case line could not be read (`line` is 1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cases line {line}: {message}")]
pub struct CaseError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Text {
    Int(i64),
    Str(String),
    Bool(bool),
}

impl Text {
    fn into_string(self) -> String {
        match self {
            Text::Int(n) => n.to_string(),
            Text::Str(s) => s.trim().to_string(),
            Text::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawCase {
    id: Text,
    hospital: Text,
    drg: String,
    los: Text,
    total_cost: Fen,
    leaving_type: Option<Text>,
    patient_id: Option<Text>,
    admission_date: Option<String>,
    discharge_date: String,
    special_review: Option<Text>,
    claim: Option<Fen>,
}

/// Reads one JSON line.
pub fn parse_case_json(text: &str, line: usize) -> Result<PayCase, CaseError> {
    let raw: RawCase = serde_json::from_str(text).map_err(|e| CaseError {
        line,
        message: e.to_string(),
    })?;
    build(raw, line)
}

fn build(raw: RawCase, line: usize) -> Result<PayCase, CaseError> {
    let error = |message: String| CaseError { line, message };
    let los_text = raw.los.into_string();
    let los_days: i64 = los_text.parse().map_err(|_| {
        error(format!(
            "field `los`: `{los_text}` is not a whole number of days"
        ))
    })?;
    if !(0..=MAX_LOS_DAYS).contains(&los_days) {
        return Err(error(format!(
            "field `los`: {los_days} is outside 0..={MAX_LOS_DAYS} days"
        )));
    }
    if raw.total_cost.fen() < 0 {
        return Err(error(format!(
            "field `total_cost`: {} is negative",
            raw.total_cost
        )));
    }
    let date = |field: &str, text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            error(format!(
                "field `{field}`: `{text}` is not a date (YYYY-MM-DD)"
            ))
        })
    };
    let admission_date = match raw
        .admission_date
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        Some(text) => Some(date("admission_date", text)?),
        None => None,
    };
    let special_review = match raw.special_review.map(Text::into_string) {
        None => false,
        Some(flag) => match flag.as_str() {
            "" | "false" | "0" | "否" => false,
            "true" | "1" | "是" => true,
            other => {
                return Err(error(format!(
                    "field `special_review`: `{other}` is not true/false"
                )))
            }
        },
    };
    Ok(PayCase {
        id: raw.id.into_string(),
        hospital: raw.hospital.into_string(),
        drg: raw.drg.trim().to_string(),
        los_days,
        total_cost: raw.total_cost,
        leaving_type: raw
            .leaving_type
            .map(Text::into_string)
            .filter(|t| !t.is_empty()),
        patient_id: raw
            .patient_id
            .map(Text::into_string)
            .filter(|t| !t.is_empty()),
        admission_date,
        discharge_date: date("discharge_date", &raw.discharge_date)?,
        special_review,
        claim: raw.claim.unwrap_or(Fen::ZERO),
    })
}

/// Reads CSV with a header naming the same fields as the JSON layout.
pub fn parse_cases_csv(reader: impl std::io::Read) -> Vec<Result<PayCase, CaseError>> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header: Vec<String> = match csv.headers() {
        Ok(h) => h
            .iter()
            .map(|c| c.trim_start_matches('\u{feff}').to_string())
            .collect(),
        Err(e) => {
            return vec![Err(CaseError {
                line: 1,
                message: format!("header: {e}"),
            })]
        }
    };
    csv.records()
        .enumerate()
        .map(|(index, record)| {
            let line = index + 2;
            let record = record.map_err(|e| CaseError {
                line,
                message: e.to_string(),
            })?;
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(record.iter())
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.clone(), serde_json::Value::String(value.to_string())))
                .collect();
            let raw: RawCase =
                serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| {
                    CaseError {
                        line,
                        message: e.to_string(),
                    }
                })?;
            build(raw, line)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_csv_alike() {
        let json = r#"{"id":"c1","hospital":"H1","drg":"GZ13","los":5,"total_cost":"8000.50","leaving_type":1,"patient_id":"P1","discharge_date":"2024-03-05","claim":6000}"#;
        let a = parse_case_json(json, 1).unwrap();
        let csv = "id,hospital,drg,los,total_cost,leaving_type,patient_id,discharge_date,claim\nc1,H1,GZ13,5,8000.50,1,P1,2024-03-05,6000\n";
        let b = parse_cases_csv(csv.as_bytes()).remove(0).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.total_cost, Fen(800_050));
        assert_eq!(a.admitted(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
    }

    #[test]
    fn names_the_bad_field() {
        let err = parse_case_json(r#"{"id":1,"hospital":"H","drg":"A","los":"x","total_cost":1,"discharge_date":"2024-01-01"}"#, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cases line 4: field `los`: `x` is not a whole number of days"
        );
        let err = parse_case_json(r#"{"id":1,"hospital":"H","drg":"A","los":1,"total_cost":1,"discharge_date":"2024-13-01"}"#, 2).unwrap_err();
        assert!(err.message.contains("`discharge_date`"), "{err}");
        assert!(parse_case_json("{", 1).is_err());
        let huge = r#"{"id":1,"hospital":"H","drg":"A","los":1000000000000,"total_cost":1,"discharge_date":"2024-01-01"}"#;
        assert!(parse_case_json(huge, 3)
            .unwrap_err()
            .message
            .contains("outside 0..=36525 days"));
    }
}
