//! Lenient readers for values real clients send in several shapes: amounts as numbers or strings,
//! `"null"` or `""` for absent values, codes as numbers. Money and identity fields stay strict:
//! a value that is present must parse exactly.

use chrono::{NaiveDate, NaiveDateTime};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use yibao_domain::{decimal, Code, Fen};

/// Text of a scalar: strings as is, numbers as written; `null`, `""` and `"null"` are absent.
fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s,
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => decimal::float_literal_text(f)
                .ok_or_else(|| D::Error::custom("number is not finite"))?,
            _ => return Err(D::Error::custom("unreadable number")),
        },
        Value::Bool(b) => {
            return Err(D::Error::custom(format!(
                "expected a value, found boolean {b}"
            )))
        }
        other => {
            return Err(D::Error::custom(format!(
                "expected a scalar, found {other}"
            )))
        }
    };
    let trimmed = text.trim();
    Ok((!trimmed.is_empty() && trimmed != "null").then(|| trimmed.to_string()))
}

/// Optional free text.
pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    scalar_text(deserializer)
}

/// Required free text.
pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    scalar_text(deserializer)?.ok_or_else(|| D::Error::custom("is empty"))
}

/// Optional dictionary code.
pub fn opt_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Code>, D::Error> {
    scalar_text(deserializer)?
        .map(|t| Code::new(&t).map_err(D::Error::custom))
        .transpose()
}

/// Required dictionary code.
pub fn code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Code, D::Error> {
    opt_code(deserializer)?.ok_or_else(|| D::Error::custom("is empty"))
}

/// Required amount in yuan (≤ 2 decimals).
pub fn yuan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Fen, D::Error> {
    opt_yuan(deserializer)?.ok_or_else(|| D::Error::custom("is empty"))
}

/// Optional amount in yuan.
pub fn opt_yuan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Fen>, D::Error> {
    scalar_text(deserializer)?
        .map(|t| Fen::parse_yuan(&t).map_err(D::Error::custom))
        .transpose()
}

/// Required decimal with at most `SCALE` decimals, as a scaled integer.
pub fn scaled<'de, D: Deserializer<'de>, const SCALE: u32>(
    deserializer: D,
) -> Result<i64, D::Error> {
    let text = scalar_text(deserializer)?.ok_or_else(|| D::Error::custom("is empty"))?;
    decimal::parse_scaled(&text, SCALE).map_err(D::Error::custom)
}

/// Date `yyyy-MM-dd` (a datetime's date part is accepted).
pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    let text = scalar_text(deserializer)?.ok_or_else(|| D::Error::custom("is empty"))?;
    let day = text.get(..10).unwrap_or(&text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| D::Error::custom(format!("`{text}` is not a date yyyy-MM-dd")))
}

/// Datetime `yyyy-MM-dd HH:mm:ss` (a bare date means midnight).
pub fn datetime<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDateTime, D::Error> {
    let text = scalar_text(deserializer)?.ok_or_else(|| D::Error::custom("is empty"))?;
    parse_datetime(&text)
        .ok_or_else(|| D::Error::custom(format!("`{text}` is not a datetime yyyy-MM-dd HH:mm:ss")))
}

/// Reads `yyyy-MM-dd HH:mm:ss`, `yyyy-MM-ddTHH:mm:ss` or `yyyy-MM-dd`.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// A list of codes; `null` or absent is empty; a `;`-separated string is accepted too.
pub fn code_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Code>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let items: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::String(s) => s
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Array(values) => values
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(D::Error::custom(format!("expected a code, found {other}"))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(D::Error::custom(format!(
                "expected a list of codes, found {other}"
            )))
        }
    };
    items
        .iter()
        .map(|t| Code::new(t).map_err(D::Error::custom))
        .collect()
}
