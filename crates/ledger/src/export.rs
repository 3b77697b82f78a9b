//! Pages of a year's ledger for the columnar export (`yibao-export`): the settlements made in the
//! year (`setl_time`), their fund rows, their line splits with the facts of the uploaded line, and
//! the visits they settled. Each page is one query in a stable order, resumed after the last key of
//! the page before, so an export holds at most one page in memory.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::entries::EntrySummary;
use crate::entries::{fund_of, line_of, settlement_columns, summary_of, visit_of, VISIT_COLUMNS};
use crate::{LedgerError, LineRow, StoredFundRow, Visit};

/// The `setl_time` bounds of a year: `[from, to)`.
fn year_bounds(year: i32) -> (String, String) {
    (format!("{year:04}-01-01"), format!("{:04}-01-01", year + 1))
}

/// A settlement with its place in the ledger's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqEntry {
    pub seq: i64,
    pub entry: EntrySummary,
}

/// Settlements (and cancellations) made in `year` after ledger `seq` `after`, in ledger order.
pub async fn settlements_page(
    conn: &mut AnyConnection,
    year: i32,
    after: i64,
    limit: u32,
) -> Result<Vec<SeqEntry>, LedgerError> {
    let (from, to) = year_bounds(year);
    let sql = format!(
        "SELECT {} FROM settlements WHERE seq > $1 AND setl_time >= $2 AND setl_time < $3 \
         ORDER BY seq LIMIT {limit}",
        settlement_columns()
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SeqEntry {
                seq: row.try_get("seq")?,
                entry: summary_of(row)?,
            })
        })
        .collect()
}

/// A fund row (`setldetail`) of a settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementFund {
    pub seq: i64,
    pub setl_id: String,
    pub row_no: i64,
    pub fund: StoredFundRow,
}

/// Fund rows of the settlements made in `year`, after `(seq, row_no)`, in ledger order.
pub async fn funds_page(
    conn: &mut AnyConnection,
    year: i32,
    after: (i64, i64),
    limit: u32,
) -> Result<Vec<SettlementFund>, LedgerError> {
    let (from, to) = year_bounds(year);
    let sql = format!(
        "SELECT s.seq, f.setl_id, f.row_no, f.fund_pay_type, f.fund_pay_type_name, f.payer_class, \
         f.inscp_scp_amt, f.crt_payb_lmt_amt, f.fund_payamt, f.setl_proc_info \
         FROM settlements s JOIN settlement_funds f ON f.setl_id = s.setl_id \
         WHERE (s.seq > $1 OR (s.seq = $1 AND f.row_no > $2)) AND s.setl_time >= $3 AND s.setl_time < $4 \
         ORDER BY s.seq, f.row_no LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(after.0)
        .bind(after.1)
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SettlementFund {
                seq: row.try_get("seq")?,
                setl_id: row.try_get("setl_id")?,
                row_no: row.try_get("row_no")?,
                fund: fund_of(row)?,
            })
        })
        .collect()
}

/// What the uploaded line said, as stored with it (absent for lines stored before migration 0006
/// and for a line the ledger no longer holds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineFacts {
    pub chrg_bchno: String,
    pub med_list_codg: Option<String>,
    /// Quantity × 10,000.
    pub cnt_e4: Option<i64>,
    /// Unit price in millionths of a yuan.
    pub pric_micro_yuan: Option<i64>,
    pub chrgitm_lv: Option<String>,
    pub med_chrgitm_type: Option<String>,
}

/// A settled line's split with the line's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledLine {
    pub seq: i64,
    pub setl_id: String,
    pub mdtrt_id: String,
    pub split: LineRow,
    pub facts: LineFacts,
}

/// The line splits of the settlements made in `year`, after `(seq, feedetl_sn)`, in ledger order;
/// each with the upload of its `feedetl_sn` that was live when it was settled (the latest upload
/// before the settlement: a `feedetl_sn` is uploaded again only after a cancellation).
pub async fn lines_page(
    conn: &mut AnyConnection,
    year: i32,
    after: (i64, &str),
    limit: u32,
) -> Result<Vec<SettledLine>, LedgerError> {
    let (from, to) = year_bounds(year);
    let sql = format!(
        "SELECT s.seq, s.setl_id, s.mdtrt_id, l.feedetl_sn, l.det_item_fee_sumamt, l.fulamt_ownpay_amt, \
         l.overlmt_amt, l.preselfpay_amt, l.inscp_scp_amt, f.chrg_bchno, f.med_list_codg, f.cnt_e4, \
         f.pric_micro_yuan, f.chrgitm_lv, f.med_chrgitm_type \
         FROM settlements s JOIN settlement_lines l ON l.setl_id = s.setl_id \
         LEFT JOIN fee_lines f ON f.mdtrt_id = s.mdtrt_id AND f.feedetl_sn = l.feedetl_sn \
           AND f.upload_seq = (SELECT MAX(x.upload_seq) FROM fee_lines x \
             WHERE x.mdtrt_id = s.mdtrt_id AND x.feedetl_sn = l.feedetl_sn AND x.event_seq < s.seq) \
         WHERE (s.seq > $1 OR (s.seq = $1 AND l.feedetl_sn > $2)) AND s.setl_time >= $3 AND s.setl_time < $4 \
         ORDER BY s.seq, l.feedetl_sn LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(after.0)
        .bind(after.1.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?;
    rows.iter().map(settled_line_of).collect()
}

fn settled_line_of(row: &AnyRow) -> Result<SettledLine, LedgerError> {
    Ok(SettledLine {
        seq: row.try_get("seq")?,
        setl_id: row.try_get("setl_id")?,
        mdtrt_id: row.try_get("mdtrt_id")?,
        split: line_of(row)?,
        facts: LineFacts {
            chrg_bchno: row
                .try_get::<Option<String>, _>("chrg_bchno")?
                .unwrap_or_default(),
            med_list_codg: row.try_get("med_list_codg")?,
            cnt_e4: row.try_get("cnt_e4")?,
            pric_micro_yuan: row.try_get("pric_micro_yuan")?,
            chrgitm_lv: row.try_get("chrgitm_lv")?,
            med_chrgitm_type: row.try_get("med_chrgitm_type")?,
        },
    })
}

/// The visits with a settlement made in `year`, after `mdtrt_id` `after`, by `mdtrt_id`.
pub async fn visits_page(
    conn: &mut AnyConnection,
    year: i32,
    after: &str,
    limit: u32,
) -> Result<Vec<Visit>, LedgerError> {
    let (from, to) = year_bounds(year);
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM visits v WHERE v.mdtrt_id > $1 AND EXISTS (SELECT 1 FROM \
         settlements s WHERE s.mdtrt_id = v.mdtrt_id AND s.setl_time >= $2 AND s.setl_time < $3) \
         ORDER BY v.mdtrt_id LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(after.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?;
    rows.iter().map(visit_of).collect()
}
