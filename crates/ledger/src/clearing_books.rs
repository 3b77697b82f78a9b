//! Cross-region clearing in the fund's books: a stored clearing row (one region pair × scheme ×
//! month) is also a batch `clearing:<clr_id>` of book postings, written in the same transaction as
//! the row and only when the row is new, so a repeated run posts nothing twice. On the side of the
//! insured region (one of this platform's regions) each fund's payments owed are posted as
//! `clearing_payable` (remote-care expenditure payable to the treating region); on the side of the
//! treating region as `clearing_receivable` (owed by the insured region) and
//! `clearing_owed_to_hospitals` (owed on to its institutions). Between two regions of the platform
//! both sides are posted. Dated the month's last day; zero amounts are not posted. The flows move
//! neither income, expenditure nor the balance (the settlements are the fund's expenditure).
//! `yibao verify` re-derives every batch from its stored row ([`check`]), with the platform's
//! pooling regions as stored now.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::AnyConnection;
use yibao_clearing::{ClearingRow, PoolingRegions};
use yibao_domain::Fen;

use crate::books::BookRow;
use crate::clearing::{clearing_id, stored_rows};
use crate::columns::corrupt;
use crate::LedgerError;

/// Storage name of what the insured region owes through clearing.
pub const PAYABLE: &str = "clearing_payable";
/// Storage name of what the treating region is owed through clearing.
pub const RECEIVABLE: &str = "clearing_receivable";
/// Storage name of what the treating region owes its institutions.
pub const OWED_TO_HOSPITALS: &str = "clearing_owed_to_hospitals";
/// Every clearing flow's storage name.
pub const FLOW_NAMES: [&str; 3] = [PAYABLE, RECEIVABLE, OWED_TO_HOSPITALS];

/// Prefix of every clearing batch.
const BATCH_PREFIX: &str = "clearing:";

/// The batch of a clearing row's postings.
pub fn batch_of(clr_id: &str) -> String {
    format!("{BATCH_PREFIX}{clr_id}")
}

/// The postings of a clearing row: the insured side's if `regions` knows its insured region, the
/// treating side's if it knows its treating region.
pub fn rows_of(row: &ClearingRow, regions: &PoolingRegions) -> Result<Vec<BookRow>, LedgerError> {
    let date = month_end(row)?;
    let mut flows = Vec::new();
    if regions.knows(row.key.insured_admdvs) {
        flows.push(PAYABLE);
    }
    if regions.knows(row.key.treating_admdvs) {
        flows.extend([RECEIVABLE, OWED_TO_HOSPITALS]);
    }
    let mut out = Vec::new();
    for flow in flows {
        for (fund, amount) in row.by_fund.iter().filter(|(_, a)| !a.is_zero()) {
            out.push(BookRow {
                fund_pay_type: fund.to_string(),
                posting_date: date.clone(),
                flow: flow.to_string(),
                amount: *amount,
            });
        }
    }
    Ok(out)
}

fn month_end(row: &ClearingRow) -> Result<String, LedgerError> {
    let next = row.month.next();
    NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| corrupt("clearing_rows", "month", &row.month.to_string()))
}

/// `yibao verify`'s check: every stored clearing row has exactly the postings it gives, and every
/// clearing posting belongs to a stored row.
pub async fn check(
    conn: &mut AnyConnection,
    regions: &PoolingRegions,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let mut batches = stored_batches(conn).await?;
    for stored in stored_rows(conn, None).await? {
        let batch = batch_of(&clearing_id(stored.row.month, &stored.row.key));
        let mut have = batches.remove(&batch).unwrap_or_default();
        let mut want = rows_of(&stored.row, regions)?;
        let order = |a: &BookRow, b: &BookRow| {
            (&a.flow, &a.fund_pay_type).cmp(&(&b.flow, &b.fund_pay_type))
        };
        have.sort_by(order);
        want.sort_by(order);
        if have != want {
            problems.push(format!(
                "book postings {batch}: {} stored, but its clearing row gives {}",
                describe(&have),
                describe(&want)
            ));
        }
    }
    for batch in batches.keys() {
        problems.push(format!(
            "book postings {batch}: no stored clearing row is theirs"
        ));
    }
    Ok(())
}

fn describe(rows: &[BookRow]) -> String {
    if rows.is_empty() {
        return "none".into();
    }
    let total: Fen = rows.iter().map(|r| r.amount).sum();
    format!("{} rows (Σ {total})", rows.len())
}

async fn stored_batches(
    conn: &mut AnyConnection,
) -> Result<BTreeMap<String, Vec<BookRow>>, LedgerError> {
    crate::provider_books::stored_batches_with(conn, BATCH_PREFIX).await
}
