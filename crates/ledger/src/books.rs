//! The fund's books in storage: book postings (contributions, subsidies, transfers, reserves,
//! balances brought forward) per fund, and the read side of the fund report over the settlement
//! ledger — fund payments per fund and day, settlement totals per scheme and day, insured counts.
//!
//! Settlement payments are never copied into `book_postings`; they are read from
//! `settlement_funds` here. A settlement is dated by its date of care (the visit's end, else its
//! start: the day its accumulator year is taken from), so that a replayed year lands in that year.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::{Fen, SetlAmounts};
use yibao_settlement::Payer;

use crate::sql::{rows_per_insert, values_placeholders};
use crate::{LedgerError, Store};

/// One stored book posting (`flow` is the books' snake-case flow name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookRow {
    pub fund_pay_type: String,
    /// `yyyy-MM-dd`.
    pub posting_date: String,
    pub flow: String,
    pub amount: Fen,
}

/// Fund payments of the settlement ledger summed per fund and day of care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundDay {
    pub fund_pay_type: String,
    /// `yyyy-MM-dd`.
    pub date: String,
    pub amount: Fen,
}

/// Settlement totals summed per scheme and day of care (cancellations count negatively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementDay {
    pub insutype: String,
    /// `yyyy-MM-dd`.
    pub date: String,
    /// Settlements less cancellations.
    pub net_count: i64,
    /// Every `setlinfo` amount summed (cancellations are negative).
    pub amounts: SetlAmounts,
}

/// Day of care of a settlement row `s` joined to its visit `v`.
pub(crate) const CARE_DATE: &str =
    "substr(COALESCE(NULLIF(v.endtime, ''), NULLIF(v.begntime, ''), s.setl_time), 1, 10)";

/// Stores the postings of one batch (e.g. `collection-2025`) in one transaction. A batch is
/// posted once: storing it again fails on the primary key and stores nothing.
pub async fn insert_postings(
    store: &Store,
    batch: &str,
    rows: &[BookRow],
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    insert_rows(&mut tx, batch, rows).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts the postings of one batch, numbered from 1, on `conn` (inside the caller's transaction).
pub(crate) async fn insert_rows(
    conn: &mut AnyConnection,
    batch: &str,
    rows: &[BookRow],
) -> Result<(), LedgerError> {
    let per_insert = rows_per_insert(6);
    for (chunk_no, chunk) in rows.chunks(per_insert).enumerate() {
        let sql = format!(
            "INSERT INTO book_postings (batch, line_no, fund_pay_type, posting_date, flow, amount) VALUES {}",
            values_placeholders(chunk.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for (offset, row) in chunk.iter().enumerate() {
            let line_no = (chunk_no * per_insert + offset + 1) as i64;
            query = query
                .bind(batch.to_string())
                .bind(line_no)
                .bind(row.fund_pay_type.clone())
                .bind(row.posting_date.clone())
                .bind(row.flow.clone())
                .bind(row.amount.fen());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Every book posting on or before `until` (`yyyy-MM-dd`), summed per fund, day and flow.
pub async fn postings_until(
    conn: &mut AnyConnection,
    until: &str,
) -> Result<Vec<BookRow>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fund_pay_type, posting_date, flow, CAST(SUM(amount) AS BIGINT) AS amount FROM book_postings \
         WHERE posting_date <= $1 GROUP BY fund_pay_type, posting_date, flow \
         ORDER BY fund_pay_type, posting_date, flow",
    )
    .bind(until.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(BookRow {
                fund_pay_type: r.try_get("fund_pay_type")?,
                posting_date: r.try_get("posting_date")?,
                flow: r.try_get("flow")?,
                amount: Fen(r.try_get("amount")?),
            })
        })
        .collect()
}

/// Payments of funds and personal accounts (not hospital rows) on or before `until`, per fund and
/// day of care.
pub async fn fund_payments_until(
    conn: &mut AnyConnection,
    until: &str,
) -> Result<Vec<FundDay>, LedgerError> {
    let (fund, account) = (Payer::Fund.code(), Payer::PersonalAccount.code());
    let sql = format!(
        "SELECT f.fund_pay_type AS fund, {CARE_DATE} AS care_date, CAST(SUM(f.fund_payamt) AS BIGINT) AS amount \
         FROM settlement_funds f JOIN settlements s ON s.setl_id = f.setl_id \
         LEFT JOIN visits v ON v.mdtrt_id = s.mdtrt_id \
         WHERE f.payer_class IN ('{fund}', '{account}') AND {CARE_DATE} <= $1 \
         GROUP BY 1, 2 ORDER BY 1, 2"
    );
    let rows = sqlx::query(&sql)
        .bind(until.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(FundDay {
                fund_pay_type: r.try_get("fund")?,
                date: r.try_get("care_date")?,
                amount: Fen(r.try_get("amount")?),
            })
        })
        .collect()
}

/// Settlement totals on or before `until`, per scheme and day of care.
pub async fn settlement_days_until(
    conn: &mut AnyConnection,
    until: &str,
) -> Result<Vec<SettlementDay>, LedgerError> {
    let columns = SetlAmounts::COLUMNS
        .iter()
        .map(|column| format!("CAST(SUM(s.{column}) AS BIGINT) AS {column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT s.insutype AS insutype, {CARE_DATE} AS care_date, \
         CAST(SUM(CASE WHEN s.kind = 'settle' THEN 1 ELSE -1 END) AS BIGINT) AS net_count, {columns} \
         FROM settlements s LEFT JOIN visits v ON v.mdtrt_id = s.mdtrt_id \
         WHERE {CARE_DATE} <= $1 GROUP BY 1, 2 ORDER BY 1, 2"
    );
    let rows = sqlx::query(&sql)
        .bind(until.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(settlement_day_of).collect()
}

fn settlement_day_of(row: &AnyRow) -> Result<SettlementDay, LedgerError> {
    let values = SetlAmounts::COLUMNS
        .iter()
        .map(|column| row.try_get::<i64, _>(*column).map(Fen))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SettlementDay {
        insutype: row.try_get("insutype")?,
        date: row.try_get("care_date")?,
        net_count: row.try_get("net_count")?,
        amounts: SetlAmounts::from_values(&values),
    })
}

/// Registered persons in normal insured status (`psn_insu_stas` 1), per insurance type.
pub async fn insured_counts(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, LedgerError> {
    let rows = sqlx::query(
        "SELECT insutype, COUNT(*) AS n FROM person_insu WHERE psn_insu_stas = '1' \
         GROUP BY insutype ORDER BY insutype",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("insutype")?, r.try_get("n")?)))
        .collect()
}

/// Whether postings of `batch` are stored.
pub async fn batch_exists(store: &Store, batch: &str) -> Result<bool, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM book_postings WHERE batch = $1")
        .bind(batch.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
