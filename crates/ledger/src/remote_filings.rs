//! 异地就医备案 (`migrations/0013_remote_filings.sql`): the insured platform's filing register —
//! referral filings (2501/2502), person filings (2505/2506) and counter filings (admin API,
//! `yibao filing`) — keyed with the insured pooling region. Written on the caller's connection in
//! one transaction per request, outside the settlement writer; settlement reads a person's valid
//! filings to decide the remote rate. Filing the same kind, place and start day again returns the
//! filing already made.

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::codes::RemoteFilingType;
use yibao_domain::Code;

use crate::columns::{code, corrupt, date, date_text};
use crate::filings::next_serial;
use crate::LedgerError;

/// Name of the counter that numbers remote filings.
const COUNTER: &str = "remote_filing_sn";

/// Most filings a list returns.
pub const LIST_LIMIT_MAX: u32 = 1000;

/// Where a filing came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilingSource {
    /// 2501 转院备案 by the referring institution.
    Referral,
    /// 2505 人员异地备案 by an institution.
    Institution,
    /// Counter staff (admin API or `yibao filing`).
    Counter,
}

impl FilingSource {
    /// `2501`, `2505` or `counter`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FilingSource::Referral => "2501",
            FilingSource::Institution => "2505",
            FilingSource::Counter => "counter",
        }
    }

    fn parse(text: &str) -> Option<FilingSource> {
        Some(match text {
            "2501" => FilingSource::Referral,
            "2505" => FilingSource::Institution,
            "counter" => FilingSource::Counter,
            _ => return None,
        })
    }
}

/// One filing of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFiling {
    /// 待遇申报明细流水号, issued by [`file`].
    pub trt_dcla_detl_sn: String,
    /// The insured pooling region (参保地), the register's key.
    pub insu_admdvs: Code,
    pub psn_no: String,
    /// The scheme filed for; empty: every scheme of the person.
    pub insutype: String,
    pub fil_type: RemoteFilingType,
    /// The place of treatment filed (就医地): a province, city or county code.
    pub mdtrtarea_admdvs: Code,
    /// 转诊类型 (2501: 1 市内, 2 省内异地, 3 跨省); empty otherwise.
    pub refl_type: String,
    pub reflin_medins_no: String,
    pub reflin_medins_name: String,
    pub dise_codg: String,
    pub dise_name: String,
    pub begndate: NaiveDate,
    /// Last day of validity; `None`: open.
    pub enddate: Option<NaiveDate>,
    pub source: FilingSource,
    /// The filing institution (empty for counter filings).
    pub fixmedins_code: String,
    /// Who filed at the counter (empty for institutions).
    pub operator: String,
    pub valid: bool,
    pub created_at: String,
    pub cancelled_at: String,
    /// The request as sent, JSON text.
    pub content: String,
}

const TABLE: &str = "remote_filings";

const COLUMNS: &str =
    "insu_admdvs, trt_dcla_detl_sn, psn_no, insutype, fil_type, mdtrtarea_admdvs, \
    refl_type, reflin_medins_no, reflin_medins_name, dise_codg, dise_name, begndate, enddate, \
    source, fixmedins_code, operator, vali_flag, created_at, cancelled_at, content";

fn filing_of(row: &AnyRow) -> Result<RemoteFiling, LedgerError> {
    let flag: String = row.try_get("vali_flag")?;
    let source: String = row.try_get("source")?;
    Ok(RemoteFiling {
        trt_dcla_detl_sn: row.try_get("trt_dcla_detl_sn")?,
        insu_admdvs: code(row, TABLE, "insu_admdvs")?,
        psn_no: row.try_get("psn_no")?,
        insutype: row.try_get("insutype")?,
        fil_type: RemoteFilingType::from_code(code(row, TABLE, "fil_type")?),
        mdtrtarea_admdvs: code(row, TABLE, "mdtrtarea_admdvs")?,
        refl_type: row.try_get("refl_type")?,
        reflin_medins_no: row.try_get("reflin_medins_no")?,
        reflin_medins_name: row.try_get("reflin_medins_name")?,
        dise_codg: row.try_get("dise_codg")?,
        dise_name: row.try_get("dise_name")?,
        begndate: date(row, TABLE, "begndate")?.ok_or_else(|| corrupt(TABLE, "begndate", ""))?,
        enddate: date(row, TABLE, "enddate")?,
        source: FilingSource::parse(&source).ok_or_else(|| corrupt(TABLE, "source", &source))?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        operator: row.try_get("operator")?,
        valid: match flag.as_str() {
            "1" => true,
            "0" => false,
            other => return Err(corrupt(TABLE, "vali_flag", other)),
        },
        created_at: row.try_get("created_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        content: row.try_get("content")?,
    })
}

/// Files; the issued serial starts with the insured pooling region's code. A valid filing of the
/// same person, kind, place and start day is returned instead of a second one.
pub async fn file(
    conn: &mut AnyConnection,
    filing: &RemoteFiling,
) -> Result<RemoteFiling, LedgerError> {
    let mut tx = conn.begin().await?;
    let existing = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM remote_filings WHERE insu_admdvs = $1 AND psn_no = $2 \
         AND fil_type = $3 AND mdtrtarea_admdvs = $4 AND begndate = $5 AND vali_flag = '1'"
    ))
    .bind(filing.insu_admdvs.to_string())
    .bind(filing.psn_no.clone())
    .bind(filing.fil_type.code().to_string())
    .bind(filing.mdtrtarea_admdvs.to_string())
    .bind(date_text(Some(filing.begndate)))
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        let found = filing_of(&row)?;
        tx.commit().await?;
        return Ok(found);
    }
    let serial = next_serial(&mut tx, COUNTER).await?;
    let stored = RemoteFiling {
        trt_dcla_detl_sn: format!("{}4{serial:016}", filing.insu_admdvs),
        valid: true,
        cancelled_at: String::new(),
        ..filing.clone()
    };
    sqlx::query(&format!(
        "INSERT INTO remote_filings ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, '1', $17, '', $18)"
    ))
    .bind(stored.insu_admdvs.to_string())
    .bind(stored.trt_dcla_detl_sn.clone())
    .bind(stored.psn_no.clone())
    .bind(stored.insutype.clone())
    .bind(stored.fil_type.code().to_string())
    .bind(stored.mdtrtarea_admdvs.to_string())
    .bind(stored.refl_type.clone())
    .bind(stored.reflin_medins_no.clone())
    .bind(stored.reflin_medins_name.clone())
    .bind(stored.dise_codg.clone())
    .bind(stored.dise_name.clone())
    .bind(date_text(Some(stored.begndate)))
    .bind(date_text(stored.enddate))
    .bind(stored.source.as_str())
    .bind(stored.fixmedins_code.clone())
    .bind(stored.operator.clone())
    .bind(stored.created_at.clone())
    .bind(stored.content.clone())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stored)
}

/// A filing by its serial.
pub async fn filing(
    conn: &mut AnyConnection,
    trt_dcla_detl_sn: &str,
) -> Result<Option<RemoteFiling>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM remote_filings WHERE trt_dcla_detl_sn = $1"
    ))
    .bind(trt_dcla_detl_sn.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(filing_of).transpose()
}

/// Cancels a valid filing (it stays stored, no longer valid); `false` when it was not valid.
pub async fn cancel(
    conn: &mut AnyConnection,
    trt_dcla_detl_sn: &str,
    cancelled_at: &str,
) -> Result<bool, LedgerError> {
    let done = sqlx::query(
        "UPDATE remote_filings SET vali_flag = '0', cancelled_at = $1 \
         WHERE trt_dcla_detl_sn = $2 AND vali_flag = '1'",
    )
    .bind(cancelled_at.to_string())
    .bind(trt_dcla_detl_sn.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The person's valid filings in the insured region, oldest first (what settlement reads).
pub async fn valid_filings(
    conn: &mut AnyConnection,
    insu_admdvs: &str,
    psn_no: &str,
) -> Result<Vec<RemoteFiling>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM remote_filings WHERE insu_admdvs = $1 AND psn_no = $2 \
         AND vali_flag = '1' ORDER BY begndate, trt_dcla_detl_sn"
    ))
    .bind(insu_admdvs.to_string())
    .bind(psn_no.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(filing_of).collect()
}

/// Which filings a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub insu_admdvs: Option<String>,
    pub psn_no: Option<String>,
    /// Cancelled filings too.
    pub include_cancelled: bool,
}

/// Filings matching `filter`, newest serial first, at most `limit` (≤ [`LIST_LIMIT_MAX`]).
pub async fn list(
    conn: &mut AnyConnection,
    filter: &ListFilter,
    limit: u32,
) -> Result<Vec<RemoteFiling>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM remote_filings WHERE ($1 = '' OR insu_admdvs = $1) \
         AND ($2 = '' OR psn_no = $2) AND ($3 = '1' OR vali_flag = '1') \
         ORDER BY trt_dcla_detl_sn DESC LIMIT $4"
    ))
    .bind(filter.insu_admdvs.clone().unwrap_or_default())
    .bind(filter.psn_no.clone().unwrap_or_default())
    .bind(if filter.include_cancelled { "1" } else { "0" })
    .bind(i64::from(limit.min(LIST_LIMIT_MAX)))
    .fetch_all(conn)
    .await?;
    rows.iter().map(filing_of).collect()
}
