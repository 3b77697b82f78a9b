//! Cross-region clearing in the fund's books. A stored clearing row (one region pair × scheme ×
//! month) is posted in batches, each written once, in the transaction of the event it records:
//!
//! * `clearing:<clr_id>`, with the row (dated the month's last day): on the side of the insured
//!   region (one of this platform's regions) each fund's payments owed as `clearing_payable`, less
//!   its share of each deduction — `clearing_payable_audit` (10), `_inspection` (20),
//!   `_prepayment_offset` (30), `_reserve_withheld` (40) — and its share of the prepayment paid in or
//!   topped up, `clearing_prepayment_paid_in`; on the side of the treating region the same as
//!   `clearing_receivable` and `clearing_receivable_*`, `clearing_prepayment_received`, and the
//!   payments owed on to its institutions, `clearing_owed_to_hospitals`;
//! * `clearing:<clr_id>:paid`, with the move to 60 paid (dated that day): the transfer, each fund's
//!   `cleared`, as `clearing_payable_settled` on the insured side and `clearing_receivable_collected`
//!   on the treating side, which pays on to its institutions `clearing_paid_to_hospitals` = the
//!   transfer plus the part met from the prepayment it holds (the reserve withheld stays owed until
//!   it is released);
//! * `clearing:<clr_id>:rejected`, with the move to 70 rejected (dated that day): the negation of
//!   the row's batch, since a rejected clearing moves no money (its resubmission, a new row, posts
//!   its own batch);
//! * `clearing:<clr_id>:reserve-released`, with the release of the pair's reserve of a period that
//!   covers the paid clearing ([`crate::clearing_reserve`], dated that day): each fund's reserve
//!   withheld, as `clearing_payable_reserve_released` on the insured side and
//!   `clearing_receivable_reserve_released` and `clearing_paid_to_hospitals` on the treating side.
//!
//! The per-fund amounts are the row's own [`FundShares`] (apportioned exactly when it was computed),
//! so every batch adds up to the row's amounts to the fen. Between two regions of the platform both
//! sides are posted. Zero amounts are not posted. The flows move neither income, expenditure nor
//! the balance (the settlements are the fund's expenditure).
//!
//! Layouts: a row stored by a yibao before the shares (its `fund_shares` absent) keeps the batch it
//! was posted with — each fund's gross payments owed only (`clearing_payable`,
//! `clearing_receivable`, `clearing_owed_to_hospitals`) — and its state changes post nothing, since
//! its amounts per fund cannot be known without changing the stored row. `yibao verify` re-derives
//! every batch from the stored rows and their transitions ([`check`]), with the platform's pooling
//! regions as stored now.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::{AnyConnection, Row};
use yibao_clearing::{share_problems, ClearingRow, ClearingState, FundShares, PoolingRegions};
use yibao_domain::{Code, Fen};

use crate::books::BookRow;
use crate::clearing::stored_rows;
use crate::columns::corrupt;
use crate::LedgerError;

/// Storage name of what the insured region owes through clearing.
pub const PAYABLE: &str = "clearing_payable";
/// Insured side: audit deductions (10) taken from what it owes.
pub const PAYABLE_AUDIT: &str = "clearing_payable_audit";
/// Insured side: inspection deductions (20).
pub const PAYABLE_INSPECTION: &str = "clearing_payable_inspection";
/// Insured side: met from the prepayment (30).
pub const PAYABLE_PREPAYMENT_OFFSET: &str = "clearing_payable_prepayment_offset";
/// Insured side: withheld as a reserve (40).
pub const PAYABLE_RESERVE_WITHHELD: &str = "clearing_payable_reserve_withheld";
/// Insured side: prepayment paid in or topped up.
pub const PREPAYMENT_PAID_IN: &str = "clearing_prepayment_paid_in";
/// Insured side: transferred when the clearing is paid.
pub const PAYABLE_SETTLED: &str = "clearing_payable_settled";
/// Storage name of what the treating region is owed through clearing.
pub const RECEIVABLE: &str = "clearing_receivable";
/// Treating side: audit deductions (10) taken from what it is owed.
pub const RECEIVABLE_AUDIT: &str = "clearing_receivable_audit";
/// Treating side: inspection deductions (20).
pub const RECEIVABLE_INSPECTION: &str = "clearing_receivable_inspection";
/// Treating side: met from the prepayment it holds (30).
pub const RECEIVABLE_PREPAYMENT_OFFSET: &str = "clearing_receivable_prepayment_offset";
/// Treating side: withheld by the insured region (40).
pub const RECEIVABLE_RESERVE_WITHHELD: &str = "clearing_receivable_reserve_withheld";
/// Treating side: prepayment received.
pub const PREPAYMENT_RECEIVED: &str = "clearing_prepayment_received";
/// Treating side: collected when the clearing is paid.
pub const RECEIVABLE_COLLECTED: &str = "clearing_receivable_collected";
/// Storage name of what the treating region owes its institutions.
pub const OWED_TO_HOSPITALS: &str = "clearing_owed_to_hospitals";
/// Treating side: paid on to its institutions when the clearing is paid, and when its reserve is
/// released.
pub const PAID_TO_HOSPITALS: &str = "clearing_paid_to_hospitals";
/// Insured side: the reserve withheld (40), paid out by a release.
pub const PAYABLE_RESERVE_RELEASED: &str = "clearing_payable_reserve_released";
/// Treating side: the reserve withheld (40), collected at its release.
pub const RECEIVABLE_RESERVE_RELEASED: &str = "clearing_receivable_reserve_released";
/// Every clearing flow's storage name.
pub const FLOW_NAMES: [&str; 18] = [
    PAYABLE,
    PAYABLE_AUDIT,
    PAYABLE_INSPECTION,
    PAYABLE_PREPAYMENT_OFFSET,
    PAYABLE_RESERVE_WITHHELD,
    PREPAYMENT_PAID_IN,
    PAYABLE_SETTLED,
    RECEIVABLE,
    RECEIVABLE_AUDIT,
    RECEIVABLE_INSPECTION,
    RECEIVABLE_PREPAYMENT_OFFSET,
    RECEIVABLE_RESERVE_WITHHELD,
    PREPAYMENT_RECEIVED,
    RECEIVABLE_COLLECTED,
    OWED_TO_HOSPITALS,
    PAID_TO_HOSPITALS,
    PAYABLE_RESERVE_RELEASED,
    RECEIVABLE_RESERVE_RELEASED,
];

/// Prefix of every clearing batch.
const BATCH_PREFIX: &str = "clearing:";

/// A flow and the amount of a fund's shares it posts.
type Part = (&'static str, fn(&FundShares) -> Fen);

const INSURED_STORED: [Part; 6] = [
    (PAYABLE, |s| s.owed),
    (PAYABLE_AUDIT, |s| s.deductions.audit),
    (PAYABLE_INSPECTION, |s| s.deductions.inspection),
    (PAYABLE_PREPAYMENT_OFFSET, |s| {
        s.deductions.prepayment_offset
    }),
    (PAYABLE_RESERVE_WITHHELD, |s| s.deductions.reserve_withheld),
    (PREPAYMENT_PAID_IN, |s| s.top_up),
];
const TREATING_STORED: [Part; 7] = [
    (RECEIVABLE, |s| s.owed),
    (RECEIVABLE_AUDIT, |s| s.deductions.audit),
    (RECEIVABLE_INSPECTION, |s| s.deductions.inspection),
    (RECEIVABLE_PREPAYMENT_OFFSET, |s| {
        s.deductions.prepayment_offset
    }),
    (RECEIVABLE_RESERVE_WITHHELD, |s| {
        s.deductions.reserve_withheld
    }),
    (PREPAYMENT_RECEIVED, |s| s.top_up),
    (OWED_TO_HOSPITALS, |s| s.owed),
];
const INSURED_PAID: [Part; 1] = [(PAYABLE_SETTLED, |s| s.cleared)];
const INSURED_RELEASED: [Part; 1] = [(PAYABLE_RESERVE_RELEASED, |s| s.deductions.reserve_withheld)];
const TREATING_RELEASED: [Part; 2] = [
    (RECEIVABLE_RESERVE_RELEASED, |s| {
        s.deductions.reserve_withheld
    }),
    (PAID_TO_HOSPITALS, |s| s.deductions.reserve_withheld),
];
const TREATING_PAID: [Part; 2] = [
    (RECEIVABLE_COLLECTED, |s| s.cleared),
    (PAID_TO_HOSPITALS, |s| {
        s.cleared + s.deductions.prepayment_offset
    }),
];

/// The batch of a clearing row's postings made with the row.
pub fn batch_of(clr_id: &str) -> String {
    format!("{BATCH_PREFIX}{clr_id}")
}

/// The batch posted when the clearing moves to `state` (60 paid, 70 rejected), if that move posts.
pub fn transition_batch_of(clr_id: &str, state: ClearingState) -> Option<String> {
    let suffix = match state {
        ClearingState::Paid => "paid",
        ClearingState::Rejected => "rejected",
        _ => return None,
    };
    Some(format!("{BATCH_PREFIX}{clr_id}:{suffix}"))
}

/// The batch posted when a release pays out the clearing's reserve withheld.
pub fn release_batch_of(clr_id: &str) -> String {
    format!("{BATCH_PREFIX}{clr_id}:reserve-released")
}

/// The postings of a release paying out the clearing's reserve withheld on `date` (see the
/// module); none for a row without shares.
pub fn release_rows_of(row: &ClearingRow, regions: &PoolingRegions, date: &str) -> Vec<BookRow> {
    match &row.fund_shares {
        Some(shares) => side_rows(
            row,
            regions,
            shares,
            date,
            &INSURED_RELEASED,
            &TREATING_RELEASED,
        ),
        None => Vec::new(),
    }
}

/// The postings made with a clearing row: the insured side's if `regions` knows its insured region,
/// the treating side's if it knows its treating region (see the module for both layouts).
pub fn rows_of(row: &ClearingRow, regions: &PoolingRegions) -> Result<Vec<BookRow>, LedgerError> {
    let date = month_end(row)?;
    let Some(shares) = &row.fund_shares else {
        return Ok(gross_rows(row, regions, &date));
    };
    Ok(side_rows(
        row,
        regions,
        shares,
        &date,
        &INSURED_STORED,
        &TREATING_STORED,
    ))
}

/// The postings made when the clearing moves to `state` on `date` (`yyyy-MM-dd`): the transfer on
/// 60, the negation of the row's postings on 70; none for other states or a row without shares.
pub fn transition_rows_of(
    row: &ClearingRow,
    regions: &PoolingRegions,
    state: ClearingState,
    date: &str,
) -> Result<Vec<BookRow>, LedgerError> {
    let Some(shares) = &row.fund_shares else {
        return Ok(Vec::new());
    };
    Ok(match state {
        ClearingState::Paid => side_rows(row, regions, shares, date, &INSURED_PAID, &TREATING_PAID),
        ClearingState::Rejected => rows_of(row, regions)?
            .into_iter()
            .map(|r| BookRow {
                posting_date: date.to_string(),
                amount: -r.amount,
                ..r
            })
            .collect(),
        _ => Vec::new(),
    })
}

fn side_rows(
    row: &ClearingRow,
    regions: &PoolingRegions,
    shares: &BTreeMap<Code, FundShares>,
    date: &str,
    insured: &[Part],
    treating: &[Part],
) -> Vec<BookRow> {
    let mut parts: Vec<&Part> = Vec::new();
    if regions.knows(row.key.insured_admdvs) {
        parts.extend(insured);
    }
    if regions.knows(row.key.treating_admdvs) {
        parts.extend(treating);
    }
    let mut out = Vec::new();
    for (flow, amount_of) in parts {
        for (fund, share) in shares {
            let amount = amount_of(share);
            if !amount.is_zero() {
                out.push(book_row(fund, date, flow, amount));
            }
        }
    }
    out
}

/// The batch of a row stored before the shares: each fund's gross payments owed.
fn gross_rows(row: &ClearingRow, regions: &PoolingRegions, date: &str) -> Vec<BookRow> {
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
            out.push(book_row(fund, date, flow, *amount));
        }
    }
    out
}

fn book_row(fund: &Code, date: &str, flow: &str, amount: Fen) -> BookRow {
    BookRow {
        fund_pay_type: fund.to_string(),
        posting_date: date.to_string(),
        flow: flow.to_string(),
        amount,
    }
}

fn month_end(row: &ClearingRow) -> Result<String, LedgerError> {
    let next = row.month.next();
    NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| corrupt("clearing_rows", "month", &row.month.to_string()))
}

/// The day (`yyyy-MM-dd`) of a state change's time, if it starts with one.
pub fn day_of(changed_at: &str) -> Option<String> {
    let day = changed_at.get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .map(|_| day.to_string())
}

/// `yibao verify`'s check: every stored clearing row's shares add up to its amounts, it has
/// exactly the postings it, its moves to 60 or 70 and the release of its reserve give, every
/// release pays out exactly the reserves of the clearings it covers
/// ([`crate::clearing_reserve::check`]), and every clearing posting belongs to a stored row.
pub async fn check(
    conn: &mut AnyConnection,
    regions: &PoolingRegions,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let mut batches = stored_batches(conn).await?;
    let moves = final_moves(conn).await?;
    let rows = stored_rows(conn, None).await?;
    let releases = crate::clearing_reserve::releases(conn).await?;
    crate::clearing_reserve::check(&rows, &releases, problems);
    let released_on: BTreeMap<&str, Option<String>> = releases
        .iter()
        .map(|r| (r.release_id.as_str(), day_of(&r.released_at)))
        .collect();
    for stored in rows {
        let clr_id = stored.clr_id.clone();
        let batch = release_batch_of(&clr_id);
        let want = match stored
            .reserve_released_by
            .as_deref()
            .map(|id| released_on.get(id))
        {
            Some(Some(Some(day))) => release_rows_of(&stored.row, regions, day),
            Some(None) => {
                problems.push(format!(
                    "clearing {clr_id}: released by {}, which is not a stored release",
                    stored.reserve_released_by.as_deref().unwrap_or_default()
                ));
                Vec::new()
            }
            _ => Vec::new(),
        };
        compare(
            &batch,
            batches.remove(&batch).unwrap_or_default(),
            want,
            problems,
        );
        if let Some(shares) = &stored.row.fund_shares {
            for problem in share_problems(&stored.row, shares) {
                problems.push(format!("clearing {clr_id}: {problem}"));
            }
        }
        let batch = batch_of(&clr_id);
        let want = rows_of(&stored.row, regions)?;
        compare(
            &batch,
            batches.remove(&batch).unwrap_or_default(),
            want,
            problems,
        );
        for state in [ClearingState::Paid, ClearingState::Rejected] {
            let Some(batch) = transition_batch_of(&clr_id, state) else {
                continue;
            };
            let want = match moves.get(&(clr_id.clone(), state.code())) {
                _ if stored.state != state => Vec::new(),
                Some(Some(day)) => transition_rows_of(&stored.row, regions, state, day)?,
                _ if stored.row.fund_shares.is_none() => Vec::new(),
                _ => {
                    problems.push(format!(
                        "clearing {clr_id}: in state {} without a dated move to it",
                        state.code()
                    ));
                    Vec::new()
                }
            };
            compare(
                &batch,
                batches.remove(&batch).unwrap_or_default(),
                want,
                problems,
            );
        }
    }
    for batch in batches.keys() {
        problems.push(format!(
            "book postings {batch}: no stored clearing row is theirs"
        ));
    }
    Ok(())
}

fn compare(
    batch: &str,
    mut have: Vec<BookRow>,
    mut want: Vec<BookRow>,
    problems: &mut Vec<String>,
) {
    let order =
        |a: &BookRow, b: &BookRow| (&a.flow, &a.fund_pay_type).cmp(&(&b.flow, &b.fund_pay_type));
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

/// The day of each clearing's move to 60 or 70 (`None`: its time is not a date), by clearing id
/// and state code.
async fn final_moves(
    conn: &mut AnyConnection,
) -> Result<BTreeMap<(String, &'static str), Option<String>>, LedgerError> {
    let rows = sqlx::query(
        "SELECT clr_id, to_state, changed_at FROM clearing_transitions WHERE to_state IN ($1, $2)",
    )
    .bind(ClearingState::Paid.code())
    .bind(ClearingState::Rejected.code())
    .fetch_all(conn)
    .await?;
    let mut out = BTreeMap::new();
    for row in &rows {
        let to: String = row.try_get("to_state")?;
        let state = ClearingState::parse(&to)
            .ok_or_else(|| corrupt("clearing_transitions", "to_state", &to))?;
        let changed_at: String = row.try_get("changed_at")?;
        out.insert((row.try_get("clr_id")?, state.code()), day_of(&changed_at));
    }
    Ok(out)
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
