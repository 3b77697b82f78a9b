//! 医疗保障基金结算清单 (`migrations/0012_settlement_lists.sql`): the settlement list an institution
//! uploads for a settlement (4101/4101A), stored as sent with the facts it is found by, queried
//! (4103) and read by the DRG grouper. Written on the caller's connection in one transaction, outside
//! the settlement writer: uploading a list again replaces it.

use sqlx::{AnyConnection, Connection, Row};

use crate::LedgerError;

/// A stored settlement list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementList {
    pub setl_id: String,
    /// 清单流水号: the settlement's id with the upload's version.
    pub setl_list_id: String,
    pub fixmedins_code: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub dscg_time: String,
    /// 1 for the first upload, then one more per correction.
    pub version: i64,
    /// The request's `input` as sent, JSON text (the 4101 layout the grouper reads).
    pub content: String,
}

const COLUMNS: &str =
    "setl_id, setl_list_id, fixmedins_code, mdtrt_id, psn_no, dscg_time, version, content";

fn list_of(row: &sqlx::any::AnyRow) -> Result<SettlementList, LedgerError> {
    Ok(SettlementList {
        setl_id: row.try_get("setl_id")?,
        setl_list_id: row.try_get("setl_list_id")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        mdtrt_id: row.try_get("mdtrt_id")?,
        psn_no: row.try_get("psn_no")?,
        dscg_time: row.try_get("dscg_time")?,
        version: row.try_get("version")?,
        content: row.try_get("content")?,
    })
}

/// Stores a list (replacing an earlier one of the same settlement); returns it with its id and
/// version.
pub async fn store(
    conn: &mut AnyConnection,
    list: &SettlementList,
    uploaded_at: &str,
) -> Result<SettlementList, LedgerError> {
    let mut tx = conn.begin().await?;
    let previous: Option<i64> =
        sqlx::query("SELECT version FROM settlement_lists WHERE setl_id = $1")
            .bind(list.setl_id.clone())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("version"))
            .transpose()?;
    let version = previous.unwrap_or(0) + 1;
    let stored = SettlementList {
        setl_list_id: format!("{}{version:02}", list.setl_id),
        version,
        ..list.clone()
    };
    sqlx::query(&format!(
        "INSERT INTO settlement_lists ({COLUMNS}, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (setl_id) DO UPDATE SET setl_list_id = excluded.setl_list_id, dscg_time = excluded.dscg_time, \
         version = excluded.version, content = excluded.content, uploaded_at = excluded.uploaded_at"
    ))
    .bind(stored.setl_id.clone())
    .bind(stored.setl_list_id.clone())
    .bind(stored.fixmedins_code.clone())
    .bind(stored.mdtrt_id.clone())
    .bind(stored.psn_no.clone())
    .bind(stored.dscg_time.clone())
    .bind(stored.version)
    .bind(stored.content.clone())
    .bind(uploaded_at.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stored)
}

/// The list of a settlement.
pub async fn list(
    conn: &mut AnyConnection,
    setl_id: &str,
) -> Result<Option<SettlementList>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM settlement_lists WHERE setl_id = $1"
    ))
    .bind(setl_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(list_of).transpose()
}

/// The lists of discharges from `from` to `to` (`yyyy-MM-dd`, both days included), in discharge
/// order.
pub async fn discharged_between(
    conn: &mut AnyConnection,
    from: &str,
    to: &str,
) -> Result<Vec<SettlementList>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM settlement_lists WHERE substr(dscg_time, 1, 10) >= $1 \
         AND substr(dscg_time, 1, 10) <= $2 ORDER BY dscg_time, setl_id"
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(list_of).collect()
}
