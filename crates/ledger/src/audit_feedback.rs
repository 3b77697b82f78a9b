//! The hospital's feedback on real-time audit warnings (3103, `migrations/0016_audit.sql`): per
//! warning, whether it went on (`dspo_way` 1, with a reason) or changed the order (2). Registry data
//! of the institution, written on the caller's connection in one transaction, outside the writer.

use sqlx::{AnyConnection, Connection, Row};

use crate::LedgerError;

/// One disposition of a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub fixmedins_code: String,
    /// `1` 事前 (3101), `2` 事中 (3102).
    pub warn_type: String,
    /// The warning's `jr_id`.
    pub warn_rslt_id: String,
    /// `1` 继续执行, `2` 返回修改.
    pub dspo_way: String,
    pub dspo_way_rea: String,
    pub msgid: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub received_at: String,
}

/// Stores the dispositions (one transaction); a disposition of a warning already answered replaces it.
pub async fn record(conn: &mut AnyConnection, rows: &[Feedback]) -> Result<(), LedgerError> {
    let mut tx = conn.begin().await?;
    for row in rows {
        sqlx::query(
            "INSERT INTO audit_feedback (fixmedins_code, warn_type, warn_rslt_id, dspo_way, \
             dspo_way_rea, msgid, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (fixmedins_code, warn_type, warn_rslt_id) DO UPDATE SET \
             dspo_way = excluded.dspo_way, dspo_way_rea = excluded.dspo_way_rea, \
             msgid = excluded.msgid, received_at = excluded.received_at",
        )
        .bind(row.fixmedins_code.clone())
        .bind(row.warn_type.clone())
        .bind(row.warn_rslt_id.clone())
        .bind(row.dspo_way.clone())
        .bind(row.dspo_way_rea.clone())
        .bind(row.msgid.clone())
        .bind(row.received_at.clone())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The institution's dispositions, by warning stage and id.
pub async fn of_institution(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
) -> Result<Vec<Feedback>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, warn_type, warn_rslt_id, dspo_way, dspo_way_rea, msgid, received_at \
         FROM audit_feedback WHERE fixmedins_code = $1 ORDER BY warn_type, warn_rslt_id",
    )
    .bind(fixmedins_code.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Feedback {
                fixmedins_code: row.try_get("fixmedins_code")?,
                warn_type: row.try_get("warn_type")?,
                warn_rslt_id: row.try_get("warn_rslt_id")?,
                dspo_way: row.try_get("dspo_way")?,
                dspo_way_rea: row.try_get("dspo_way_rea")?,
                msgid: row.try_get("msgid")?,
                received_at: row.try_get("received_at")?,
            })
        })
        .collect()
}
