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
    let text: &str = row.try_get(column)?;
    parse_optional_date(text).ok_or_else(|| corrupt(table, column, text))
}

/// Parses a stored date that must not be empty: see [`parse_optional_date`].
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    parse_optional_date(text).flatten()
}

/// Parses a stored date `yyyy-MM-dd` (rows stored before dates were typed may carry a time after
/// it); `Some(None)` when empty.
pub(crate) fn parse_optional_date(text: &str) -> Option<Option<NaiveDate>> {
    match text.trim() {
        "" => Some(None),
        day => day
            .get(..10)
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
            .map(Some),
    }
}

/// A stored time `yyyy-MM-dd HH:mm:ss` (a bare date means midnight); `None` when empty.
pub(crate) fn time(
    row: &AnyRow,
    table: &'static str,
    column: &'static str,
) -> Result<Option<NaiveDateTime>, LedgerError> {
    let text: &str = row.try_get(column)?;
    if text.is_empty() {
        return Ok(None);
    }
    parse_time(text)
        .map(Some)
        .ok_or_else(|| corrupt(table, column, text))
}

/// Parses a stored time: `yyyy-MM-dd HH:mm:ss`; a bare date means midnight; the `T` separator
/// of ISO 8601 is read too (a peer platform's time stored as it sent it).
pub(crate) fn parse_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|day| day.and_time(NaiveTime::MIN))
        })
        .ok()
}

/// Parses a stored time that may be empty (`None`): see [`parse_time`].
pub(crate) fn parse_optional_time(text: &str) -> Option<Option<NaiveDateTime>> {
    if text.is_empty() {
        Some(None)
    } else {
        parse_time(text).map(Some)
    }
}

/// Parses a stored code that must not be empty.
pub(crate) fn parse_required_code(text: &str) -> Option<Code> {
    Code::new(text).ok().filter(|code| !code.is_empty())
}

/// A parser of a stored code of an open code table (`Insutype::from_code`, …), which must not be
/// empty.
pub(crate) fn table_code<T>(from_code: fn(Code) -> T) -> impl Fn(&str) -> Option<T> {
    move |text| parse_required_code(text).map(from_code)
}

/// Parses a stored code that may be empty (a column added with an empty default).
pub(crate) fn parse_code(text: &str) -> Option<Code> {
    Code::new(text).ok()
}

/// Parses a stored flag: `1` set, `0` not.
pub(crate) fn parse_flag(text: &str) -> Option<bool> {
    match text {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// Parses a stored flag of a column added with an empty default: `1` set, `0` or empty not.
pub(crate) fn parse_optional_flag(text: &str) -> Option<bool> {
    match text {
        "" => Some(false),
        text => parse_flag(text),
    }
}

/// How a flag is stored: `1` or `0`.
pub(crate) fn flag_text(flag: bool) -> &'static str {
    if flag {
        "1"
    } else {
        "0"
    }
}

/// The text columns of one stored row, read and parsed with the row's key at hand, so that a
/// value that does not parse is [`LedgerError::Corrupt`] naming the table, the row and the column.
pub(crate) struct KeyedRow<'r> {
    row: &'r AnyRow,
    table: &'static str,
    /// The row's key (`setl_id` of a settlement, `mdtrt_id` of a visit, `psn_no` of a person).
    key: &'r str,
}

impl<'r> KeyedRow<'r> {
    /// `row` of `table`, its key read from `key_column`.
    pub(crate) fn new(
        row: &'r AnyRow,
        table: &'static str,
        key_column: &'static str,
    ) -> Result<KeyedRow<'r>, LedgerError> {
        Ok(KeyedRow {
            row,
            table,
            key: row.try_get(key_column)?,
        })
    }

    /// The text of `column` parsed by `parse`.
    pub(crate) fn parsed<T>(
        &self,
        column: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, LedgerError> {
        let text: &str = self.row.try_get(column)?;
        self.checked(column, text, parse)
    }

    /// `text`, the value of `column` (read from the row or, for rows stored before the column
    /// existed, from elsewhere in it), parsed by `parse`.
    pub(crate) fn checked<T>(
        &self,
        column: &'static str,
        text: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, LedgerError> {
        parse(text).ok_or_else(|| LedgerError::Corrupt {
            table: self.table,
            column,
            detail: format!("row `{}`: unexpected value `{text}`", self.key),
        })
    }
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
