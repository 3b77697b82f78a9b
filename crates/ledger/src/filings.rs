//! 人员慢特病备案 (`migrations/0011_opsp_filings.sql`): a person's certified chronic or special
//! outpatient conditions, filed (2503) and cancelled (2504) by an institution and queried (5301).
//! Written on the caller's connection in one transaction per request, outside the settlement
//! writer; filing the same condition from the same day again returns the filing already made.

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};

use crate::columns::{corrupt, date, date_text};
use crate::LedgerError;

/// Name of the counter that numbers filings (`trt_dcla_detl_sn`).
const FILING_COUNTER: &str = "trt_dcla_detl_sn";

/// One filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpspFiling {
    /// 待遇申报明细流水号, issued by [`file`].
    pub trt_dcla_detl_sn: String,
    pub psn_no: String,
    pub insutype: String,
    /// 门慢门特病种目录代码.
    pub opsp_dise_code: String,
    pub opsp_dise_name: String,
    pub begndate: NaiveDate,
    pub enddate: Option<NaiveDate>,
    /// The filing institution.
    pub fixmedins_code: String,
    pub valid: bool,
    /// The request's row as sent, JSON text.
    pub content: String,
}

const COLUMNS: &str =
    "trt_dcla_detl_sn, psn_no, insutype, opsp_dise_code, opsp_dise_name, begndate, \
    enddate, fixmedins_code, vali_flag, content";

fn filing_of(row: &AnyRow) -> Result<OpspFiling, LedgerError> {
    const TABLE: &str = "opsp_filings";
    let flag: String = row.try_get("vali_flag")?;
    Ok(OpspFiling {
        trt_dcla_detl_sn: row.try_get("trt_dcla_detl_sn")?,
        psn_no: row.try_get("psn_no")?,
        insutype: row.try_get("insutype")?,
        opsp_dise_code: row.try_get("opsp_dise_code")?,
        opsp_dise_name: row.try_get("opsp_dise_name")?,
        begndate: date(row, TABLE, "begndate")?.ok_or_else(|| corrupt(TABLE, "begndate", ""))?,
        enddate: date(row, TABLE, "enddate")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        valid: match flag.as_str() {
            "1" => true,
            "0" => false,
            other => return Err(corrupt(TABLE, "vali_flag", other)),
        },
        content: row.try_get("content")?,
    })
}

/// Files a condition; `sn_prefix` starts the issued serial (the platform's region code). A valid
/// filing of the same person, condition and start day is returned instead of a second one.
pub async fn file(
    conn: &mut AnyConnection,
    filing: &OpspFiling,
    sn_prefix: &str,
    created_at: &str,
) -> Result<OpspFiling, LedgerError> {
    let mut tx = conn.begin().await?;
    let existing = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM opsp_filings WHERE psn_no = $1 AND opsp_dise_code = $2 AND begndate = $3 \
         AND vali_flag = '1'"
    ))
    .bind(filing.psn_no.clone())
    .bind(filing.opsp_dise_code.clone())
    .bind(date_text(Some(filing.begndate)))
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        let found = filing_of(&row)?;
        tx.commit().await?;
        return Ok(found);
    }
    let serial = crate::sql::next_counter(&mut tx, FILING_COUNTER).await?;
    let stored = OpspFiling {
        trt_dcla_detl_sn: format!("{sn_prefix}3{serial:016}"),
        valid: true,
        ..filing.clone()
    };
    sqlx::query(&format!(
        "INSERT INTO opsp_filings ({COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '1', $9, $10)"
    ))
    .bind(stored.trt_dcla_detl_sn.clone())
    .bind(stored.psn_no.clone())
    .bind(stored.insutype.clone())
    .bind(stored.opsp_dise_code.clone())
    .bind(stored.opsp_dise_name.clone())
    .bind(date_text(Some(stored.begndate)))
    .bind(date_text(stored.enddate))
    .bind(stored.fixmedins_code.clone())
    .bind(stored.content.clone())
    .bind(created_at.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stored)
}

/// The next value of an `id_counters` counter, in the caller's transaction.
pub(crate) async fn next_serial(
    conn: &mut AnyConnection,
    counter: &str,
) -> Result<i64, LedgerError> {
    Ok(sqlx::query(
        "INSERT INTO id_counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = id_counters.value + 1 RETURNING value",
    )
    .bind(counter.to_string())
    .fetch_one(conn)
    .await?
    .try_get("value")?)
}

/// A filing by its serial.
pub async fn filing(
    conn: &mut AnyConnection,
    trt_dcla_detl_sn: &str,
) -> Result<Option<OpspFiling>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM opsp_filings WHERE trt_dcla_detl_sn = $1"
    ))
    .bind(trt_dcla_detl_sn.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(filing_of).transpose()
}

/// Cancels a filing (it stays stored, no longer valid).
pub async fn cancel(conn: &mut AnyConnection, trt_dcla_detl_sn: &str) -> Result<(), LedgerError> {
    sqlx::query("UPDATE opsp_filings SET vali_flag = '0' WHERE trt_dcla_detl_sn = $1")
        .bind(trt_dcla_detl_sn.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The person's valid filings, oldest first.
pub async fn valid_filings(
    conn: &mut AnyConnection,
    psn_no: &str,
) -> Result<Vec<OpspFiling>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM opsp_filings WHERE psn_no = $1 AND vali_flag = '1' \
         ORDER BY begndate, trt_dcla_detl_sn"
    ))
    .bind(psn_no.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(filing_of).collect()
}
