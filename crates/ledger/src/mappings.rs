//! 目录对照 (`migrations/0010_catalog_mappings.sql`): an institution's own item codes mapped to
//! national codes, uploaded (3301) and revoked (3302) by the institution and read when its fee lines
//! name only their own code. Written on the caller's connection in one transaction per request,
//! outside the settlement writer: a mapping is registry data, and writing the same mapping again
//! leaves the same state.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};

use crate::columns::{date, date_text};
use crate::LedgerError;

/// One mapping of an institution's code to a national code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogMapping {
    pub fixmedins_code: String,
    /// 定点医药机构目录编号 (`fixmedins_hilist_id` / `medins_list_codg`).
    pub medins_list_codg: String,
    pub med_list_codg: String,
    /// 目录类别 (101 西药 …).
    pub list_type: String,
    pub medins_list_name: String,
    pub begndate: NaiveDate,
    /// Last day, inclusive; `None` while open.
    pub enddate: Option<NaiveDate>,
    /// The row as uploaded, JSON text.
    pub content: String,
}

impl CatalogMapping {
    /// Whether the mapping holds on `day`.
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.begndate <= day && self.enddate.is_none_or(|end| day <= end)
    }
}

/// Stores mappings (replacing an earlier mapping of the same code, revoked or not).
pub async fn upsert(
    conn: &mut AnyConnection,
    mappings: &[CatalogMapping],
    updated_at: &str,
) -> Result<(), LedgerError> {
    let mut tx = conn.begin().await?;
    for mapping in mappings {
        sqlx::query(
            "INSERT INTO catalog_mappings (fixmedins_code, medins_list_codg, med_list_codg, list_type, \
             medins_list_name, begndate, enddate, vali_flag, updated_at, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, '1', $8, $9) \
             ON CONFLICT (fixmedins_code, medins_list_codg) DO UPDATE SET med_list_codg = excluded.med_list_codg, \
             list_type = excluded.list_type, medins_list_name = excluded.medins_list_name, \
             begndate = excluded.begndate, enddate = excluded.enddate, vali_flag = '1', \
             updated_at = excluded.updated_at, content = excluded.content",
        )
        .bind(mapping.fixmedins_code.clone())
        .bind(mapping.medins_list_codg.clone())
        .bind(mapping.med_list_codg.clone())
        .bind(mapping.list_type.clone())
        .bind(mapping.medins_list_name.clone())
        .bind(date_text(Some(mapping.begndate)))
        .bind(date_text(mapping.enddate))
        .bind(updated_at.to_string())
        .bind(mapping.content.clone())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Revokes the mappings of these codes of an institution; returns how many were valid.
pub async fn revoke(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
    medins_list_codgs: &[String],
    updated_at: &str,
) -> Result<u64, LedgerError> {
    let mut tx = conn.begin().await?;
    let mut revoked = 0;
    for code in medins_list_codgs {
        let done = sqlx::query(
            "UPDATE catalog_mappings SET vali_flag = '0', updated_at = $3 \
             WHERE fixmedins_code = $1 AND medins_list_codg = $2 AND vali_flag = '1'",
        )
        .bind(fixmedins_code.to_string())
        .bind(code.clone())
        .bind(updated_at.to_string())
        .execute(&mut *tx)
        .await?;
        revoked += done.rows_affected();
    }
    tx.commit().await?;
    Ok(revoked)
}

/// The valid mappings of these codes of an institution, in one query.
pub async fn valid_mappings(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
    medins_list_codgs: &[&str],
) -> Result<HashMap<String, CatalogMapping>, LedgerError> {
    if medins_list_codgs.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (0..medins_list_codgs.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "SELECT fixmedins_code, medins_list_codg, med_list_codg, list_type, medins_list_name, begndate, \
         enddate, content FROM catalog_mappings WHERE fixmedins_code = $1 AND vali_flag = '1' \
         AND medins_list_codg IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(fixmedins_code.to_string());
    for code in medins_list_codgs {
        query = query.bind(code.to_string());
    }
    let rows = query.fetch_all(conn).await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let mapping = mapping_of_row(row)?;
        found.insert(mapping.medins_list_codg.clone(), mapping);
    }
    Ok(found)
}

/// A stored mapping with its validity and when it was last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMapping {
    pub mapping: CatalogMapping,
    /// `false` once revoked (3302).
    pub valid: bool,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub updated_at: String,
}

/// Every mapping of an institution, revoked ones included, ordered by its own code.
pub async fn institution_mappings(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
) -> Result<Vec<StoredMapping>, LedgerError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, medins_list_codg, med_list_codg, list_type, medins_list_name, begndate, \
         enddate, content, vali_flag, updated_at FROM catalog_mappings WHERE fixmedins_code = $1 \
         ORDER BY medins_list_codg",
    )
    .bind(fixmedins_code.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let vali_flag: String = row.try_get("vali_flag")?;
            Ok(StoredMapping {
                mapping: mapping_of_row(row)?,
                valid: vali_flag == "1",
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}

fn mapping_of_row(row: &AnyRow) -> Result<CatalogMapping, LedgerError> {
    const TABLE: &str = "catalog_mappings";
    Ok(CatalogMapping {
        fixmedins_code: row.try_get("fixmedins_code")?,
        medins_list_codg: row.try_get("medins_list_codg")?,
        med_list_codg: row.try_get("med_list_codg")?,
        list_type: row.try_get("list_type")?,
        medins_list_name: row.try_get("medins_list_name")?,
        begndate: date(row, TABLE, "begndate")?
            .ok_or_else(|| crate::columns::corrupt(TABLE, "begndate", ""))?,
        enddate: date(row, TABLE, "enddate")?,
        content: row.try_get("content")?,
    })
}
