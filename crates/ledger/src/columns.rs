//! Reading and writing stored column values: every code, date and time the ledger stores as text is
//! parsed here, once, when a row is read; a value that does not parse is [`LedgerError::Corrupt`].

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_domain::Code;

use crate::LedgerError;

/// A stored value that cannot be read back.
pub(crate) fn corrupt(table: &'static str, column: &'static str, value: &str) -> LedgerError {
    LedgerError::Corrupt {
        table,
        column,
        detail: format!("unexpected value `{value}`"),
    }
}

/// A stored dictionary code.
pub(crate) fn code(
    row: &AnyRow,
    table: &'static str,
    column: &'static str,
) -> Result<Code, LedgerError> {
    let text: String = row.try_get(column)?;
    Code::new(&text).map_err(|_| corrupt(table, column, &text))
}

/// A stored date `yyyy-MM-dd` (rows stored before dates were typed may carry a time after it);
/// `None` when empty.
pub(crate) fn date(
    row: &AnyRow,
    table: &'static str,
    column: &'static str,
) -> Result<Option<NaiveDate>, LedgerError> {
    let text: String = row.try_get(column)?;
    match text.trim() {
        "" => Ok(None),
        day => day
            .get(..10)
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
            .map(Some)
            .ok_or_else(|| corrupt(table, column, &text)),
    }
}

/// A stored time `yyyy-MM-dd HH:mm:ss` (a bare date means midnight); `None` when empty.
pub(crate) fn time(
    row: &AnyRow,
    table: &'static str,
    column: &'static str,
) -> Result<Option<NaiveDateTime>, LedgerError> {
    let text: String = row.try_get(column)?;
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d").map(|day| day.and_time(NaiveTime::MIN))
        })
        .map(Some)
        .map_err(|_| corrupt(table, column, &text))
}

/// How a date is stored: `yyyy-MM-dd`, empty for none.
pub(crate) fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

/// How a time is stored: `yyyy-MM-dd HH:mm:ss`, empty for none.
pub(crate) fn time_text(time: Option<NaiveDateTime>) -> String {
    time.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}
