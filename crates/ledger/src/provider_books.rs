//! Paying institutions in the fund's books: a posted month or year-end is also a batch of book
//! postings (fund → institution) on the scheme's pooled fund, written in the same transaction as its
//! statement and only when the statement is new, so paying a month again posts nothing twice.
//!
//! A month posts the claims owed, the deductions, what is paid within the quota, what is deferred
//! (超支挂帐), the reserve withheld and the prepayment recovered, dated the month's last day; a
//! year-end posts its payment, dated 31 December. Procurement (集采): a month also posts the
//! procurement prepayment it recovered, a year-end the retained share of the procurement savings
//! and the prepayment the months left unrecovered; the prepayment itself is a batch of its own
//! (`procurement:<institution>:<insutype>:<yyyy>`, dated the first day of its month), checked
//! against `procurement_prepayments`. Zero amounts are not posted. The flows are the
//! books' provider flows (their storage names below); they move neither income, expenditure nor
//! the balance, whose expenditure is the settlements'. `yibao verify` re-derives every batch from
//! its stored statement ([`check`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::{Code, Fen};
use yibao_provider_payment::procurement::Prepayment;
use yibao_provider_payment::{MonthStatement, YearEndStatement};

use crate::books::BookRow;
use crate::columns::corrupt;
use crate::provider::ProviderKey;
use crate::{LedgerError, Store};

/// Storage name of the claims an institution earned in the month (owed to it).
pub const CLAIMS: &str = "provider_claims";
/// Storage name of the audit and inspection deductions.
pub const DEDUCTIONS: &str = "provider_deductions";
/// Storage name of what is paid within the quota.
pub const PAID: &str = "provider_paid";
/// Storage name of what is deferred to the year-end (超支挂帐).
pub const DEFERRED: &str = "provider_deferred";
/// Storage name of the quality reserve withheld (预留金).
pub const RESERVE_WITHHELD: &str = "provider_reserve_withheld";
/// Storage name of the prepayment recovered (预付金抵扣).
pub const PREPAYMENT_OFFSET: &str = "provider_prepayment_offset";
/// Storage name of the year-end payment.
pub const YEAR_END: &str = "provider_year_end";
/// Storage name of a procurement prepayment paid (采购周转金).
pub const PROCUREMENT_PREPAID: &str = "provider_procurement_prepaid";
/// Storage name of a procurement prepayment recovered (monthly, or what is left at the year-end).
pub const PROCUREMENT_OFFSET: &str = "provider_procurement_offset";
/// Storage name of the retained share of procurement savings paid at the year-end (结余留用).
pub const PROCUREMENT_RETAINED: &str = "provider_procurement_retained";

/// Every provider flow's storage name.
pub const FLOW_NAMES: [&str; 10] = [
    CLAIMS,
    DEDUCTIONS,
    PAID,
    DEFERRED,
    RESERVE_WITHHELD,
    PREPAYMENT_OFFSET,
    YEAR_END,
    PROCUREMENT_PREPAID,
    PROCUREMENT_OFFSET,
    PROCUREMENT_RETAINED,
];

/// Prefix of every provider batch.
const BATCH_PREFIX: &str = "provider:";
/// Prefix of every procurement prepayment batch.
const PREPAYMENT_PREFIX: &str = "procurement:";

/// A statement to post, with the pooled fund of its scheme that pays the institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToPost<T> {
    pub key: ProviderKey,
    /// The scheme's pooled fund (`fund_pay_type`) the postings are made on.
    pub fund: Code,
    pub statement: T,
}

/// The batch of a month's postings: `provider:<fixmedins_code>:<insutype>:<yyyy-mm>`.
pub fn month_batch(key: &ProviderKey, year: i32, month: u8) -> String {
    format!("{BATCH_PREFIX}{}:{}:{year:04}-{month:02}", key.0, key.1)
}

/// The batch of a year-end's postings: `provider:<fixmedins_code>:<insutype>:<yyyy>`.
pub fn year_end_batch(key: &ProviderKey, year: i32) -> String {
    format!("{BATCH_PREFIX}{}:{}:{year:04}", key.0, key.1)
}

/// The batch of a procurement prepayment's posting: `procurement:<fixmedins_code>:<insutype>:<yyyy>`.
pub fn prepayment_batch(key: &ProviderKey, year: i32) -> String {
    format!("{PREPAYMENT_PREFIX}{}:{}:{year:04}", key.0, key.1)
}

/// The posting of a procurement prepayment on `fund`, dated the first day of its month.
pub fn prepayment_rows(
    fund: &Code,
    year: i32,
    prepayment: &Prepayment,
) -> Result<Vec<BookRow>, LedgerError> {
    let date = NaiveDate::from_ymd_opt(year, u32::from(prepayment.month), 1)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| {
            corrupt(
                "procurement_prepayments",
                "month",
                &format!("{year}-{}", prepayment.month),
            )
        })?;
    Ok(rows_of(
        fund,
        &date,
        &[(PROCUREMENT_PREPAID, prepayment.amount)],
    ))
}

/// The postings of a month's statement on `fund`.
pub fn month_rows(
    fund: &Code,
    year: i32,
    statement: &MonthStatement,
) -> Result<Vec<BookRow>, LedgerError> {
    let date = month_end("provider_payments", year, statement.month)?;
    let flows = [
        (CLAIMS, statement.claims),
        (DEDUCTIONS, statement.deductions),
        (PAID, statement.paid),
        (DEFERRED, statement.deferred),
        (RESERVE_WITHHELD, statement.reserve_withheld),
        (PREPAYMENT_OFFSET, statement.prepayment_offset),
        (PROCUREMENT_OFFSET, statement.procurement_offset),
    ];
    Ok(rows_of(fund, &date, &flows))
}

/// The postings of a year-end statement on `fund`.
pub fn year_end_rows(fund: &Code, year: i32, statement: &YearEndStatement) -> Vec<BookRow> {
    rows_of(
        fund,
        &format!("{year:04}-12-31"),
        &[
            (YEAR_END, statement.year_end_payment),
            (PROCUREMENT_RETAINED, statement.procurement_retained),
            (PROCUREMENT_OFFSET, statement.procurement_recovered),
        ],
    )
}

/// One book row per non-zero flow of a batch, on one fund and date (provider and DRG batches).
pub(crate) fn rows_of(fund: &Code, date: &str, flows: &[(&str, Fen)]) -> Vec<BookRow> {
    flows
        .iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|(flow, amount)| BookRow {
            fund_pay_type: fund.to_string(),
            posting_date: date.to_string(),
            flow: (*flow).to_string(),
            amount: *amount,
        })
        .collect()
}

/// The last day of a month, `yyyy-MM-dd`; a month that is no date is a damaged row of `table`.
pub(crate) fn month_end(table: &'static str, year: i32, month: u8) -> Result<String, LedgerError> {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, u32::from(month) + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| corrupt(table, "month", &format!("{year}-{month}")))
}

/// Posts the batches of `statements` (posted months and year-ends with their batch names) that
/// have no posting yet, in one transaction: statements posted by a yibao that did not keep their
/// postings get them; a batch already stored is left as it is. Returns how many were posted.
pub async fn post_missing(
    store: &Store,
    batches: &[(String, Vec<BookRow>)],
) -> Result<usize, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let stored = stored_batch_names(&mut conn).await?;
    let missing: Vec<&(String, Vec<BookRow>)> = batches
        .iter()
        .filter(|(batch, rows)| !rows.is_empty() && !stored.contains(batch))
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut tx = conn.begin().await?;
    for (batch, rows) in &missing {
        crate::books::insert_rows(&mut tx, batch, rows).await?;
    }
    tx.commit().await?;
    Ok(missing.len())
}

async fn stored_batch_names(conn: &mut AnyConnection) -> Result<BTreeSet<String>, LedgerError> {
    let rows =
        sqlx::query("SELECT DISTINCT batch FROM book_postings WHERE substr(batch, 1, 9) = $1")
            .bind(BATCH_PREFIX)
            .fetch_all(conn)
            .await?;
    rows.iter().map(|row| Ok(row.try_get("batch")?)).collect()
}

/// A stored provider batch: its postings in line order.
pub(crate) type StoredBatches = BTreeMap<String, Vec<BookRow>>;

/// `yibao verify`'s check: every posted month and year-end has exactly the postings its statement
/// gives (on one fund), and every provider posting belongs to a posted statement.
pub async fn check(
    conn: &mut AnyConnection,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let mut batches = stored_batches(conn).await?;
    for (batch, year, statement) in stored_statements(conn, "provider_payments").await? {
        let month: MonthStatement = serde_json::from_str(&statement)
            .map_err(|e| corrupt("provider_payments", "statement", &e.to_string()))?;
        let stored = batches.remove(&batch).unwrap_or_default();
        let expected = |fund: &Code| month_rows(fund, year, &month);
        compare(&batch, &stored, expected, problems)?;
    }
    for (batch, year, statement) in stored_statements(conn, "provider_year_ends").await? {
        let year_end: YearEndStatement = serde_json::from_str(&statement)
            .map_err(|e| corrupt("provider_year_ends", "statement", &e.to_string()))?;
        let stored = batches.remove(&batch).unwrap_or_default();
        let expected = |fund: &Code| Ok(year_end_rows(fund, year, &year_end));
        compare(&batch, &stored, expected, problems)?;
    }
    for batch in batches.keys() {
        problems.push(format!(
            "book postings {batch}: no posted payment statement is theirs"
        ));
    }
    check_prepayments(conn, problems).await
}

/// Every posted procurement prepayment has exactly its posting, and every procurement posting
/// belongs to a posted prepayment.
async fn check_prepayments(
    conn: &mut AnyConnection,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let mut batches = stored_batches_with(conn, PREPAYMENT_PREFIX).await?;
    for stored in crate::procurement::prepayments(conn, None).await? {
        let batch = prepayment_batch(&stored.key(), stored.year);
        let rows = batches.remove(&batch).unwrap_or_default();
        let expected = |fund: &Code| prepayment_rows(fund, stored.year, &stored.prepayment);
        compare(&batch, &rows, expected, problems)?;
    }
    for batch in batches.keys() {
        problems.push(format!(
            "book postings {batch}: no posted procurement prepayment is theirs"
        ));
    }
    Ok(())
}

/// Compares a batch's stored postings with those its statement gives on the fund they are on.
fn compare(
    batch: &str,
    stored: &[BookRow],
    expected: impl Fn(&Code) -> Result<Vec<BookRow>, LedgerError>,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let Some(first) = stored.first() else {
        let want = expected(&Code::lit("0"))?;
        if !want.is_empty() {
            let flows: Vec<&str> = want.iter().map(|r| r.flow.as_str()).collect();
            problems.push(format!(
                "book postings {batch}: none stored, but its statement gives {}",
                flows.join(", ")
            ));
        }
        return Ok(());
    };
    let fund = Code::new(&first.fund_pay_type)
        .map_err(|_| corrupt("book_postings", "fund_pay_type", &first.fund_pay_type))?;
    let mut want = expected(&fund)?;
    let mut have = stored.to_vec();
    want.sort_by(|a, b| a.flow.cmp(&b.flow));
    have.sort_by(|a, b| a.flow.cmp(&b.flow));
    if have != want {
        problems.push(format!(
            "book postings {batch}: {} stored, but its statement gives {}",
            describe(&have),
            describe(&want)
        ));
    }
    Ok(())
}

fn describe(rows: &[BookRow]) -> String {
    if rows.is_empty() {
        return "none".into();
    }
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {} on {}",
                r.flow, r.amount, r.posting_date, r.fund_pay_type
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every posted statement of `table` with the batch its postings are in.
async fn stored_statements(
    conn: &mut AnyConnection,
    table: &'static str,
) -> Result<Vec<(String, i32, String)>, LedgerError> {
    let month_column = if table == "provider_payments" {
        "month"
    } else {
        "0 AS month"
    };
    let rows = sqlx::query(&format!(
        "SELECT fixmedins_code, insutype, year, {month_column}, statement FROM {table} \
         ORDER BY fixmedins_code, insutype, year"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let key: ProviderKey = (
                row.try_get("fixmedins_code")?,
                crate::columns::code(row, table, "insutype")?,
            );
            let year_value: i64 = row.try_get("year")?;
            let year = i32::try_from(year_value)
                .map_err(|_| corrupt(table, "year", &year_value.to_string()))?;
            let month_value: i64 = row.try_get("month")?;
            let batch = match (table, u8::try_from(month_value)) {
                ("provider_year_ends", _) => year_end_batch(&key, year),
                (_, Ok(month @ 1..=12)) => month_batch(&key, year, month),
                _ => return Err(corrupt(table, "month", &month_value.to_string())),
            };
            Ok((batch, year, row.try_get("statement")?))
        })
        .collect()
}

/// The stored postings of every provider batch.
async fn stored_batches(conn: &mut AnyConnection) -> Result<StoredBatches, LedgerError> {
    stored_batches_with(conn, BATCH_PREFIX).await
}

/// The stored postings of every batch whose name starts with `prefix` (provider, DRG and clearing
/// batches), by batch in posting order.
pub(crate) async fn stored_batches_with(
    conn: &mut AnyConnection,
    prefix: &str,
) -> Result<StoredBatches, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT batch, fund_pay_type, posting_date, flow, amount FROM book_postings \
         WHERE substr(batch, 1, {}) = $1 ORDER BY batch, line_no",
        prefix.len()
    ))
    .bind(prefix.to_string())
    .fetch_all(conn)
    .await?;
    let mut batches = StoredBatches::new();
    for row in &rows {
        batches
            .entry(row.try_get("batch")?)
            .or_default()
            .push(BookRow {
                fund_pay_type: row.try_get("fund_pay_type")?,
                posting_date: row.try_get("posting_date")?,
                flow: row.try_get("flow")?,
                amount: Fen(row.try_get("amount")?),
            });
    }
    Ok(batches)
}
