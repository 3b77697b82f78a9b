//! The CSV inputs of a simulation (amounts in yuan): budgets, monthly claims, the year's activity
//! and assessment scores; the procurement files (prepayments, savings items, and the optional
//! procurement of a simulation). Every problem names the file, the line and the column.

use std::collections::HashMap;
use std::fmt;

use yibao_domain::{decimal, Code, Fen, Ratio};

use crate::budget::{Budget, ControlLimits, MAX_ADMISSIONS, MAX_AMOUNT_FEN};
use crate::month::{MonthInput, MONTHS};
use crate::policy::Score;
use crate::procurement::{SavingsItem, MAX_VOLUME, PRICE_DECIMALS};
use crate::year_end::Activity;

/// Longest `fixmedins_code` (the national interface's length).
pub const MAX_FIXMEDINS_CODE_CHARS: usize = 30;
/// Longest `insutype` (the national interface's length).
pub const MAX_INSUTYPE_CHARS: usize = 6;

/// Columns of `budgets.csv` (the last three optional: the institution's own control limits).
pub const BUDGET_COLUMNS: [&str; 7] = [
    "fixmedins_code",
    "insutype",
    "year",
    "annual_index",
    "avg_cost_limit",
    "admissions_limit",
    "self_pay_share_limit",
];
/// Columns of `claims.csv` (the last optional).
pub const CLAIM_COLUMNS: [&str; 6] = [
    "fixmedins_code",
    "insutype",
    "month",
    "claim_amt",
    "deduction_amt",
    "prepayment_offset_amt",
];
/// Columns of the activity file.
pub const ACTIVITY_COLUMNS: [&str; 5] = [
    "fixmedins_code",
    "insutype",
    "admissions",
    "total_cost",
    "self_pay_amt",
];
/// Columns of the scores file.
pub const SCORE_COLUMNS: [&str; 3] = ["fixmedins_code", "insutype", "score"];

/// A problem in an input file: where (line 0 = the file as a whole) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub file: String,
    pub line: u64,
    pub column: Option<String>,
    pub problem: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// A CSV file with a header, its columns found by name.
struct Table<'a> {
    file: &'a str,
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

/// One data row of a [`Table`].
struct Row<'t> {
    table: &'t Table<'t>,
    line: u64,
    record: &'t csv::StringRecord,
}

impl<'a> Table<'a> {
    /// Reads `text`; the first `required` columns must be present, the rest of `known` may be;
    /// other columns (an analyst's notes, a region's extra fields) are carried in the file and not
    /// read.
    fn read(
        text: &str,
        file: &'a str,
        known: &[&str],
        required: usize,
    ) -> Result<Table<'a>, InputError> {
        let whole = |problem: String| InputError {
            file: file.to_string(),
            line: 0,
            column: None,
            problem,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| whole(format!("unreadable header: {e}")))?
            .clone();
        if header.iter().all(str::is_empty) {
            return Err(whole("is empty: no header line".into()));
        }
        let mut columns = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            if !known.contains(&name) {
                continue;
            }
            if columns.insert(name.to_string(), i).is_some() {
                return Err(InputError {
                    line: 1,
                    column: Some(name.to_string()),
                    ..whole("the column appears twice".into())
                });
            }
        }
        if let Some(missing) = known[..required]
            .iter()
            .find(|c| !columns.contains_key(**c))
        {
            return Err(InputError {
                line: 1,
                column: Some(missing.to_string()),
                ..whole("required column is missing from the header".into())
            });
        }
        let mut lines = LineCounter::new(text);
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| InputError {
                line: lines.line_at(e.position()),
                ..whole(unreadable(&e))
            })?;
            rows.push((lines.line_at(record.position()), record));
        }
        Ok(Table {
            file,
            columns,
            rows,
        })
    }

    fn rows<'s>(&'s self) -> impl Iterator<Item = Row<'s>> {
        let table: &'s Table<'s> = self;
        self.rows.iter().map(move |(line, record)| Row {
            table,
            line: *line,
            record,
        })
    }
}

/// Finds the 1-based line where each record starts (the reader's own line count skips blank
/// lines), counting newlines once as the records advance through the text.
struct LineCounter<'t> {
    bytes: &'t [u8],
    offset: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> LineCounter<'t> {
        LineCounter {
            bytes: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record read from `position`, past any blank lines before it.
    fn line_at(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else {
            return 0;
        };
        let bytes = self.bytes;
        let mut start =
            usize::try_from(position.byte()).map_or(bytes.len(), |o| o.min(bytes.len()));
        while bytes.get(start).is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            start += 1;
        }
        let from = self.offset.min(start);
        self.line += bytes[from..start].iter().filter(|b| **b == b'\n').count() as u64;
        self.offset = start;
        self.line
    }
}

fn unreadable(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields, the header {expected_len}"),
        _ => format!("unreadable row: {error}"),
    }
}

impl Row<'_> {
    fn error(&self, column: Option<&str>, problem: impl Into<String>) -> InputError {
        InputError {
            file: self.table.file.to_string(),
            line: self.line,
            column: column.map(str::to_string),
            problem: problem.into(),
        }
    }

    /// The cell of `column`, `None` when the column is absent or the cell empty.
    fn optional(&self, column: &str) -> Option<&str> {
        let index = *self.table.columns.get(column)?;
        self.record.get(index).filter(|cell| !cell.is_empty())
    }

    fn required(&self, column: &str) -> Result<&str, InputError> {
        self.optional(column)
            .ok_or_else(|| self.error(Some(column), "is empty"))
    }

    fn parse<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, InputError> {
        self.optional(column)
            .map(|cell| parse(cell).map_err(|problem| self.error(Some(column), problem)))
            .transpose()
    }

    fn parse_required<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, InputError> {
        self.required(column)?;
        Ok(self.parse(column, parse)?.expect("the cell is not empty"))
    }

    fn amount(&self, column: &str) -> Result<Fen, InputError> {
        self.parse_required(column, parse_amount)
    }

    fn optional_amount(&self, column: &str) -> Result<Fen, InputError> {
        Ok(self.parse(column, parse_amount)?.unwrap_or_default())
    }

    /// The institution × scheme the row is about.
    fn key(&self) -> Result<Key, InputError> {
        let code = self.required("fixmedins_code")?;
        if code.chars().count() > MAX_FIXMEDINS_CODE_CHARS {
            return Err(self.error(
                Some("fixmedins_code"),
                format!("is longer than {MAX_FIXMEDINS_CODE_CHARS} characters"),
            ));
        }
        let insutype = self.required("insutype")?;
        if insutype.len() > MAX_INSUTYPE_CHARS
            || !insutype.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(self.error(
                Some("insutype"),
                format!(
                    "`{insutype}` is not an insutype code (up to {MAX_INSUTYPE_CHARS} letters or digits)"
                ),
            ));
        }
        Ok((code.to_string(), Code::lit(insutype)))
    }
}

type Key = (String, Code);

/// Yuan with at most two decimals, not negative, within [`MAX_AMOUNT_FEN`].
fn parse_amount(text: &str) -> Result<Fen, String> {
    let amount = Fen::parse_yuan(text).map_err(|e| e.to_string())?;
    if amount.fen() < 0 {
        return Err(format!("{amount} is negative"));
    }
    if amount.fen() > MAX_AMOUNT_FEN {
        return Err(format!(
            "{amount} exceeds the largest amount, 99999999999999.99"
        ));
    }
    Ok(amount)
}

fn parse_whole(text: &str, min: i64, max: i64) -> Result<i64, String> {
    let value: i64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number"))?;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is outside {min}..={max}"))
    }
}

/// Reads `budgets.csv`; an institution and insutype may appear once (the claims carry no year).
pub fn read_budgets(text: &str, file: &str) -> Result<Vec<Budget>, InputError> {
    let table = Table::read(text, file, &BUDGET_COLUMNS, 4)?;
    let mut seen: HashMap<Key, u64> = HashMap::new();
    let mut budgets = Vec::with_capacity(table.rows.len());
    for row in table.rows() {
        let (fixmedins_code, insutype) = row.key()?;
        if let Some(first) = seen.insert((fixmedins_code.clone(), insutype), row.line) {
            return Err(row.error(
                None,
                format!(
                    "{fixmedins_code} {insutype} already has a budget on line {first}; the claims carry no year, so give one budget per institution and insutype"
                ),
            ));
        }
        let annual_index = row.amount("annual_index")?;
        if annual_index.is_zero() {
            return Err(row.error(Some("annual_index"), "must be positive"));
        }
        budgets.push(Budget {
            fixmedins_code,
            insutype,
            year: row.parse_required("year", |t| parse_whole(t, 1900, 9999))? as i32,
            annual_index,
            limits: ControlLimits {
                avg_cost_per_admission: row.parse("avg_cost_limit", parse_amount)?,
                admissions: row
                    .parse("admissions_limit", |t| {
                        parse_whole(t, 0, MAX_ADMISSIONS as i64)
                    })?
                    .map(|n| n as u64),
                self_pay_share: row.parse("self_pay_share_limit", |t| {
                    Ratio::parse(t).map_err(|e| e.to_string())
                })?,
            },
        });
    }
    Ok(budgets)
}

/// Index of each budget by institution and insutype.
fn budget_index(budgets: &[Budget]) -> HashMap<Key, usize> {
    budgets
        .iter()
        .enumerate()
        .map(|(i, b)| ((b.fixmedins_code.clone(), b.insutype), i))
        .collect()
}

fn budget_of(row: &Row<'_>, index: &HashMap<Key, usize>) -> Result<usize, InputError> {
    let key = row.key()?;
    index.get(&key).copied().ok_or_else(|| {
        row.error(
            None,
            format!("no budget for {} {} in the budgets file", key.0, key.1),
        )
    })
}

/// Reads `claims.csv` into the twelve months of each budget (same order as `budgets`). Rows of the
/// same institution, insutype and month (e.g. one per clearing type) are added up.
pub fn read_claims(
    text: &str,
    file: &str,
    budgets: &[Budget],
) -> Result<Vec<[MonthInput; MONTHS]>, InputError> {
    let table = Table::read(text, file, &CLAIM_COLUMNS, 5)?;
    let index = budget_index(budgets);
    let mut months = vec![[MonthInput::default(); MONTHS]; budgets.len()];
    for row in table.rows() {
        let budget = budget_of(&row, &index)?;
        let month = row.parse_required("month", |t| parse_whole(t, 1, MONTHS as i64))?;
        let slot = &mut months[budget][month as usize - 1];
        let add = |total: &mut Fen, amount: Fen, column: &str| -> Result<(), InputError> {
            *total += amount;
            if total.fen() > MAX_AMOUNT_FEN {
                return Err(row.error(
                    Some(column),
                    format!(
                        "the month's total {total} exceeds the largest amount, 99999999999999.99"
                    ),
                ));
            }
            Ok(())
        };
        add(&mut slot.claims, row.amount("claim_amt")?, "claim_amt")?;
        add(
            &mut slot.deductions,
            row.amount("deduction_amt")?,
            "deduction_amt",
        )?;
        add(
            &mut slot.prepayment_offset,
            row.optional_amount("prepayment_offset_amt")?,
            "prepayment_offset_amt",
        )?;
    }
    Ok(months)
}

/// Reads the year's activity per budget: `admissions, total_cost, self_pay_amt`.
pub fn read_activity(
    text: &str,
    file: &str,
    budgets: &[Budget],
) -> Result<Vec<Option<Activity>>, InputError> {
    read_once(text, file, budgets, &ACTIVITY_COLUMNS, |row| {
        let activity = Activity {
            admissions: row
                .parse_required("admissions", |t| parse_whole(t, 0, MAX_ADMISSIONS as i64))?
                as u64,
            total_cost: row.amount("total_cost")?,
            self_pay: row.amount("self_pay_amt")?,
        };
        if activity.self_pay > activity.total_cost {
            return Err(row.error(Some("self_pay_amt"), "exceeds total_cost"));
        }
        Ok(activity)
    })
}

/// Reads the annual assessment score per budget (0–100, two decimals).
pub fn read_scores(
    text: &str,
    file: &str,
    budgets: &[Budget],
) -> Result<Vec<Option<Score>>, InputError> {
    read_once(text, file, budgets, &SCORE_COLUMNS, |row| {
        row.parse_required("score", Score::parse)
    })
}

/// Reads a file with at most one row per budget, all columns required.
fn read_once<T>(
    text: &str,
    file: &str,
    budgets: &[Budget],
    columns: &[&str],
    read: impl Fn(&Row<'_>) -> Result<T, InputError>,
) -> Result<Vec<Option<T>>, InputError> {
    read_once_with(text, file, budgets, columns, columns.len(), read)
}

/// Reads a file with at most one row per budget, the first `required` columns required.
fn read_once_with<T>(
    text: &str,
    file: &str,
    budgets: &[Budget],
    columns: &[&str],
    required: usize,
    read: impl Fn(&Row<'_>) -> Result<T, InputError>,
) -> Result<Vec<Option<T>>, InputError> {
    let table = Table::read(text, file, columns, required)?;
    let index = budget_index(budgets);
    let mut values: Vec<Option<T>> = budgets.iter().map(|_| None).collect();
    let mut lines = vec![0u64; budgets.len()];
    for row in table.rows() {
        let budget = budget_of(&row, &index)?;
        if lines[budget] > 0 {
            return Err(row.error(
                None,
                format!(
                    "repeats the institution and insutype of line {}",
                    lines[budget]
                ),
            ));
        }
        lines[budget] = row.line;
        values[budget] = Some(read(&row)?);
    }
    Ok(values)
}

/// Columns of a procurement prepayments file (`yibao pay procurement prepay`): the prepayment's
/// month, and the institution's procurement volume (the policy's basis) or an entered amount.
pub const PREPAYMENT_COLUMNS: [&str; 6] = [
    "fixmedins_code",
    "insutype",
    "year",
    "month",
    "procurement_volume",
    "prepayment_amt",
];

/// Columns of a procurement savings file: one row per procured item, prices in yuan with up to
/// four decimals, volume in units.
pub const SAVINGS_COLUMNS: [&str; 7] = [
    "fixmedins_code",
    "insutype",
    "year",
    "item_code",
    "reference_price",
    "bid_price",
    "volume",
];

/// Columns of the optional procurement file of `yibao pay simulate`.
pub const SIMULATED_PROCUREMENT_COLUMNS: [&str; 5] = [
    "fixmedins_code",
    "insutype",
    "prepayment_month",
    "prepayment_amt",
    "savings_amt",
];

/// Longest `item_code` of a savings row.
pub const MAX_ITEM_CODE_CHARS: usize = 50;

/// One row of a prepayments file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepaymentRow {
    pub line: u64,
    pub fixmedins_code: String,
    pub insutype: Code,
    pub year: i32,
    pub month: u8,
    /// The basis when the policy's is the procurement volume.
    pub procurement_volume: Option<Fen>,
    /// An amount entered by the bureau instead of the policy's.
    pub prepayment_amt: Option<Fen>,
}

/// Reads a prepayments file; an institution × scheme × year may appear once.
pub fn read_prepayments(text: &str, file: &str) -> Result<Vec<PrepaymentRow>, InputError> {
    let table = Table::read(text, file, &PREPAYMENT_COLUMNS, 4)?;
    let mut seen: HashMap<(Key, i64), u64> = HashMap::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in table.rows() {
        let (fixmedins_code, insutype) = row.key()?;
        let year = row.parse_required("year", |t| parse_whole(t, 1900, 9999))?;
        if let Some(first) = seen.insert(((fixmedins_code.clone(), insutype), year), row.line) {
            return Err(row.error(
                None,
                format!("repeats the institution, insutype and year of line {first}"),
            ));
        }
        let procurement_volume = row.parse("procurement_volume", parse_amount)?;
        let prepayment_amt = row.parse("prepayment_amt", parse_amount)?;
        if procurement_volume.is_some() && prepayment_amt.is_some() {
            return Err(row.error(
                Some("prepayment_amt"),
                "give the procurement volume (the policy sizes the prepayment) or the amount, not both",
            ));
        }
        rows.push(PrepaymentRow {
            line: row.line,
            fixmedins_code,
            insutype,
            year: year as i32,
            month: row.parse_required("month", |t| parse_whole(t, 1, MONTHS as i64))? as u8,
            procurement_volume,
            prepayment_amt,
        });
    }
    Ok(rows)
}

/// The procured items of each institution × scheme × year.
pub type SavingsItems = std::collections::BTreeMap<(String, Code, i32), Vec<SavingsItem>>;

/// Reads a savings file into the items of each institution × scheme × year.
pub fn read_savings(text: &str, file: &str) -> Result<SavingsItems, InputError> {
    let table = Table::read(text, file, &SAVINGS_COLUMNS, SAVINGS_COLUMNS.len())?;
    let mut items = SavingsItems::new();
    for row in table.rows() {
        let (fixmedins_code, insutype) = row.key()?;
        let year = row.parse_required("year", |t| parse_whole(t, 1900, 9999))? as i32;
        let item_code = row.required("item_code")?;
        if item_code.chars().count() > MAX_ITEM_CODE_CHARS {
            return Err(row.error(
                Some("item_code"),
                format!("is longer than {MAX_ITEM_CODE_CHARS} characters"),
            ));
        }
        let reference_price = row.parse_required("reference_price", parse_price)?;
        let bid_price = row.parse_required("bid_price", parse_price)?;
        if bid_price > reference_price {
            return Err(row.error(Some("bid_price"), "is above the reference price"));
        }
        let volume = row.parse_required("volume", |t| parse_whole(t, 0, MAX_VOLUME as i64))? as u64;
        items
            .entry((fixmedins_code, insutype, year))
            .or_default()
            .push(SavingsItem {
                item_code: item_code.to_string(),
                reference_price,
                bid_price,
                volume,
            });
    }
    Ok(items)
}

/// A unit price: yuan with at most four decimals, not negative, at most 10^8 yuan.
fn parse_price(text: &str) -> Result<i64, String> {
    const MAX_PRICE: i64 = 100_000_000 * 10_000;
    let price = decimal::parse_scaled(text, PRICE_DECIMALS).map_err(|e| e.to_string())?;
    if !(0..=MAX_PRICE).contains(&price) {
        return Err(format!("{text} is outside 0..=100000000 yuan"));
    }
    Ok(price)
}

/// The optional procurement of a simulated budget: a prepayment (its month and amount) and the
/// year's savings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedProcurement {
    pub prepayment: Option<(u8, Fen)>,
    pub savings: Fen,
}

/// Reads the optional procurement file of `yibao pay simulate` per budget.
pub fn read_simulated_procurement(
    text: &str,
    file: &str,
    budgets: &[Budget],
) -> Result<Vec<Option<SimulatedProcurement>>, InputError> {
    let table_columns = &SIMULATED_PROCUREMENT_COLUMNS;
    read_once_with(text, file, budgets, table_columns, 2, |row| {
        let month = row.parse("prepayment_month", |t| parse_whole(t, 1, MONTHS as i64))?;
        let amount = row.parse("prepayment_amt", parse_amount)?;
        let prepayment = match (month, amount) {
            (Some(month), Some(amount)) => Some((month as u8, amount)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(row.error(
                    Some("prepayment_amt"),
                    "is empty while prepayment_month is given",
                ))
            }
            (None, Some(_)) => {
                return Err(row.error(
                    Some("prepayment_month"),
                    "is empty while prepayment_amt is given",
                ))
            }
        };
        Ok(SimulatedProcurement {
            prepayment,
            savings: row.optional_amount("savings_amt")?,
        })
    })
}
