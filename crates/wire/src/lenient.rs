//! Lenient readers for values real clients send in several shapes: amounts as numbers or strings,
//! `"null"` or `""` for absent values, codes as numbers. Money and identity fields stay strict:
//! a value that is present must parse exactly. Their messages are Chinese: the interface shows
//! them to the cashier after the field path (`参数 input.data.psn_no 有误：不能为空`).

use chrono::{NaiveDate, NaiveDateTime};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use yibao_domain::codes::CodeTooLong;
use yibao_domain::{decimal, Code, DecimalError, Fen};

/// The message of a required value that is absent or empty.
const EMPTY: &str = "不能为空";

/// A decimal text that could not be read, as the cashier reads it.
pub fn decimal_problem(error: &DecimalError) -> String {
    match error {
        DecimalError::Empty => EMPTY.to_string(),
        DecimalError::NotANumber { text } => format!("{text} 不是数值"),
        DecimalError::TooPrecise { text, max_decimals } => {
            format!("{text} 的小数超过 {max_decimals} 位")
        }
        DecimalError::OutOfRange { text } => format!("{text} 超出允许的范围"),
        DecimalError::TooLong => format!("数值过长（超过 {} 位数字）", decimal::MAX_DIGITS),
        DecimalError::ExponentOutOfRange { text } => {
            format!("{text} 的指数超出 ±{}", decimal::MAX_EXPONENT)
        }
    }
}

/// A code too long to be a dictionary code, as the cashier reads it.
pub fn code_problem(error: &CodeTooLong) -> String {
    format!(
        "代码 {} 超过 {} 个字节",
        error.0,
        yibao_domain::codes::CODE_CAPACITY
    )
}

/// Text of a scalar: strings as is, numbers as written; `null`, `""` and `"null"` are absent. Read
/// straight from the input (no intermediate JSON value for a scalar).
fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(ScalarText)
}

/// The visitor of [`scalar_text`].
struct ScalarText;

fn present(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty() && trimmed != "null").then(|| trimmed.to_string())
}

impl<'de> serde::de::Visitor<'de> for ScalarText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("文本或数值")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Option<String>, E> {
        Ok(present(text))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Option<String>, E> {
        Ok(present(&n.to_string()))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Option<String>, E> {
        Ok(present(&n.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Option<String>, E> {
        if !n.is_finite() {
            return Ok(None);
        }
        let text = decimal::float_literal_text(n).ok_or_else(|| E::custom("数值无效"))?;
        Ok(present(&text))
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Option<String>, E> {
        Err(E::custom(format!("应为文本或数值，收到布尔值 {b}")))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        let other = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Err(A::Error::custom(format!("应为文本或数值，收到 {other}")))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        let other = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Err(A::Error::custom(format!("应为文本或数值，收到 {other}")))
    }
}

/// Optional free text.
pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    scalar_text(deserializer)
}

/// Required free text.
pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    scalar_text(deserializer)?.ok_or_else(|| D::Error::custom(EMPTY))
}

/// Optional dictionary code.
pub fn opt_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Code>, D::Error> {
    scalar_text(deserializer)?
        .map(|t| Code::new(&t).map_err(|e| D::Error::custom(code_problem(&e))))
        .transpose()
}

/// Required dictionary code.
pub fn code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Code, D::Error> {
    opt_code(deserializer)?.ok_or_else(|| D::Error::custom(EMPTY))
}

/// Required amount in yuan (≤ 2 decimals).
pub fn yuan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Fen, D::Error> {
    opt_yuan(deserializer)?.ok_or_else(|| D::Error::custom(EMPTY))
}

/// Optional amount in yuan.
pub fn opt_yuan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Fen>, D::Error> {
    scalar_text(deserializer)?
        .map(|t| Fen::parse_yuan(&t).map_err(|e| D::Error::custom(decimal_problem(&e))))
        .transpose()
}

/// Required decimal with at most `SCALE` decimals, as a scaled integer.
pub fn scaled<'de, D: Deserializer<'de>, const SCALE: u32>(
    deserializer: D,
) -> Result<i64, D::Error> {
    let text = scalar_text(deserializer)?.ok_or_else(|| D::Error::custom(EMPTY))?;
    decimal::parse_scaled(&text, SCALE).map_err(|e| D::Error::custom(decimal_problem(&e)))
}

/// Optional flag `0`/`1` (`mid_setl_flag`); absent, empty or `null` is `None`, any other value is
/// refused.
pub fn opt_flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match scalar_text(deserializer)?.as_deref() {
        None => Ok(None),
        Some("0") => Ok(Some(false)),
        Some("1") => Ok(Some(true)),
        Some(other) => Err(D::Error::custom(format!(
            "取值 {other} 不是可选值（0 否、1 是）"
        ))),
    }
}

/// Date `yyyy-MM-dd` (a datetime's date part is accepted).
pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    opt_date(deserializer)?.ok_or_else(|| D::Error::custom(EMPTY))
}

/// Optional date `yyyy-MM-dd` (a datetime's date part is accepted); empty or `null` is `None`.
pub fn opt_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NaiveDate>, D::Error> {
    let Some(text) = scalar_text(deserializer)? else {
        return Ok(None);
    };
    let day = text.get(..10).unwrap_or(&text);
    parse_date(day)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("{text} 不是 yyyy-MM-dd 格式的日期")))
}

/// Reads a date as chrono's `%Y-%m-%d` does: the canonical `yyyy-MM-dd` by hand, anything else
/// (one-digit fields, signs, leading spaces) through chrono.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    match canonical_date(text.as_bytes()) {
        Some(date) => Some(date),
        None => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
    }
}

/// The value of `N` ASCII digits, or `None` when one is not a digit.
fn digits<const N: usize>(bytes: &[u8]) -> Option<u32> {
    let field: &[u8; N] = bytes.get(..N)?.try_into().ok()?;
    field.iter().try_fold(0, |value, &b| {
        b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
    })
}

/// Exactly `yyyy-MM-dd`, a valid day; `None` for any other text (which chrono then reads).
fn canonical_date(bytes: &[u8]) -> Option<NaiveDate> {
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits::<4>(bytes)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits::<2>(&bytes[5..])?, digits::<2>(&bytes[8..])?)
}

/// Exactly `yyyy-MM-dd HH:mm:ss` or `yyyy-MM-ddTHH:mm:ss`, a valid day and time (no leap second);
/// `None` for any other text (which chrono then reads).
fn canonical_datetime(bytes: &[u8]) -> Option<NaiveDateTime> {
    if bytes.len() != 19
        || !matches!(bytes[10], b' ' | b'T')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    canonical_date(&bytes[..10])?.and_hms_opt(
        digits::<2>(&bytes[11..])?,
        digits::<2>(&bytes[14..])?,
        digits::<2>(&bytes[17..])?,
    )
}

/// Datetime `yyyy-MM-dd HH:mm:ss` (a bare date means midnight).
pub fn datetime<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDateTime, D::Error> {
    let text = scalar_text(deserializer)?.ok_or_else(|| D::Error::custom(EMPTY))?;
    parse_datetime(&text)
        .ok_or_else(|| D::Error::custom(format!("{text} 不是 yyyy-MM-dd HH:mm:ss 格式的时间")))
}

/// Reads `yyyy-MM-dd HH:mm:ss`, `yyyy-MM-ddTHH:mm:ss` or `yyyy-MM-dd`.
/// The canonical forms are read by hand (a timestamp per visit adds up over a city's year);
/// any other text goes through chrono, so what is accepted is exactly what chrono accepts.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    if let Some(time) = canonical_datetime(text.as_bytes()) {
        return Some(time);
    }
    if let Some(date) = canonical_date(text.as_bytes()) {
        return date.and_hms_opt(0, 0, 0);
    }
    chrono_datetime(text)
}

/// What chrono reads of the three forms: the fallback of [`parse_datetime`] and its reference.
fn chrono_datetime(text: &str) -> Option<NaiveDateTime> {
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
                other => Err(D::Error::custom(format!("应为代码，收到 {other}"))),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(D::Error::custom(format!("应为代码列表，收到 {other}"))),
    };
    items
        .iter()
        .map(|t| Code::new(t).map_err(|e| D::Error::custom(code_problem(&e))))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        #[serde(deserialize_with = "yuan")]
        amount: Fen,
        #[serde(deserialize_with = "code")]
        kind: Code,
        #[serde(deserialize_with = "date")]
        day: NaiveDate,
    }

    fn problem(value: serde_json::Value) -> String {
        serde_json::from_value::<Line>(value)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn problems_read_in_chinese_with_the_value_sent() {
        let fine = json!({ "amount": "12.50", "kind": "11", "day": "2026-03-01" });
        assert!(serde_json::from_value::<Line>(fine).is_ok());
        let cases = [
            (
                json!({ "amount": "10.001", "kind": "11", "day": "2026-03-01" }),
                "10.001 的小数超过 2 位",
            ),
            (
                json!({ "amount": "12.5x", "kind": "11", "day": "2026-03-01" }),
                "12.5x 不是数值",
            ),
            (
                json!({ "amount": "null", "kind": "11", "day": "2026-03-01" }),
                "不能为空",
            ),
            (
                json!({ "amount": true, "kind": "11", "day": "2026-03-01" }),
                "应为文本或数值，收到布尔值 true",
            ),
            (
                json!({ "amount": "1", "kind": "1234567890123456", "day": "2026-03-01" }),
                "代码 1234567890123456 超过 15 个字节",
            ),
            (
                json!({ "amount": "1", "kind": "11", "day": "2026-13-01" }),
                "2026-13-01 不是 yyyy-MM-dd 格式的日期",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(problem(value), expected);
        }
    }

    /// Texts near the accepted forms: digits in every place (out-of-range fields, 30 February,
    /// second 60), one-digit fields, signs, spaces, other separators, cut or extended.
    fn near_timestamp() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let field = "[0-9]{1,2}|[0-9]{2}|[+ ][0-9]";
        let day = (
            "[0-9]{4}|[0-9]{3}|[+-][0-9]{4,5}| [0-9]{4}",
            "[-/]",
            field,
            "[-/]",
            field,
        );
        let time = (
            "[ T]{0,2}|x",
            field,
            "[:]",
            field,
            "[:.]",
            "[0-6][0-9]|[0-9]",
            "|[0-9]|\\.0| ",
        );
        (day, time, 0usize..24).prop_map(
            |((y, s1, m, s2, d), (sep, h, c1, mi, c2, sec, tail), cut)| {
                let full = format!("{y}{s1}{m}{s2}{d}{sep}{h}{c1}{mi}{c2}{sec}{tail}");
                match full.get(..cut) {
                    Some(short) if cut % 3 == 0 => short.to_string(),
                    _ => full,
                }
            },
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn timestamps_read_as_chrono_reads_them(text in near_timestamp()) {
            proptest::prop_assert_eq!(parse_datetime(&text), chrono_datetime(&text), "{:?}", text);
            proptest::prop_assert_eq!(
                parse_date(&text),
                NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok(),
                "{:?}",
                text
            );
        }

        #[test]
        fn canonical_timestamps_read_as_chrono_reads_them(
            y in 0u32..10_000, mo in 0u32..14, d in 0u32..33, h in 0u32..25, mi in 0u32..61, s in 0u32..62,
            t in proptest::bool::ANY,
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}{}{h:02}:{mi:02}:{s:02}", if t { 'T' } else { ' ' });
            proptest::prop_assert_eq!(parse_datetime(&text), chrono_datetime(&text), "{}", text);
            let day = &text[..10];
            proptest::prop_assert_eq!(parse_datetime(day), chrono_datetime(day), "{}", day);
            proptest::prop_assert_eq!(parse_date(day), NaiveDate::parse_from_str(day, "%Y-%m-%d").ok(), "{}", day);
        }
    }
}
