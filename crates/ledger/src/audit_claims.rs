//! What the post-payment audit (事后, `yibao audit run --month`) reads from the ledger and what it
//! stores: the visits with live settlements in a time range (their settled lines and amounts), the
//! registered persons' sex and birth date, and a month's findings (`migrations/0016_audit.sql`).
//! Findings are derived data: auditing a month again replaces its findings.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::codes::{Insutype, MedType};
use yibao_domain::Fen;

use crate::columns::{corrupt, date, table_code, time, KeyedRow};
use crate::LedgerError;

/// One fee line as the audit reads it: a line a live settlement consumed (its amounts as settled),
/// or a live line of a person's history (its split at upload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledLine {
    pub med_list_codg: String,
    pub cnt_e4: i64,
    pub pric_micro_yuan: i64,
    pub amount: Fen,
    pub fulamt_ownpay_amt: Fen,
    /// `med_chrgitm_type` as split (empty when the catalogue did not hold the item).
    pub med_chrgitm_type: String,
    /// 开单医生 (`bilg_dr_codg`) as uploaded, when sent.
    pub doctor: Option<String>,
}

impl SettledLine {
    /// An uploaded line as [`crate::lookups::person_audit_lines`] reads it back (the columns its
    /// split stores); `None` for a line stored without a split, which that read leaves out.
    pub fn of_upload(line: &crate::FeeLine) -> Option<SettledLine> {
        let stored = line.split.as_ref()?;
        Some(SettledLine {
            med_list_codg: stored.fee.med_list_codg.clone(),
            cnt_e4: stored.fee.cnt_e4,
            pric_micro_yuan: stored.fee.pric_micro_yuan,
            amount: line.det_item_fee_sumamt,
            fulamt_ownpay_amt: stored.split.amounts.fulamt_ownpay_amt,
            med_chrgitm_type: stored
                .split
                .med_chrgitm_type
                .map(|c| c.code().to_string())
                .unwrap_or_default(),
            doctor: None,
        })
    }
}

/// A visit with its live settlements (not cancelled) summed: what a claim is to the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledVisit {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub insutype: Insutype,
    pub med_type: MedType,
    pub begntime: NaiveDateTime,
    /// Discharge time, or the latest settlement's time for a visit without one.
    pub endtime: NaiveDateTime,
    /// The latest live settlement's time.
    pub setl_time: NaiveDateTime,
    /// The main diagnosis (`dise_codg`; empty when none was given).
    pub dise_codg: String,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    pub lines: Vec<SettledLine>,
}

/// The visits with a live settlement whose `setl_time` lies in `[from, to]`, each with all its live
/// settlements summed and the lines they consumed, ordered by `mdtrt_id`.
pub async fn settled_visits(
    conn: &mut AnyConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<SettledVisit>, LedgerError> {
    let live = "s.kind = 'settle' AND NOT EXISTS \
                (SELECT 1 FROM settlements c WHERE c.orig_setl_id = s.setl_id)";
    let in_range = "s.setl_time >= $1 AND s.setl_time <= $2";
    let (from, to) = (
        crate::columns::time_text(Some(from)),
        crate::columns::time_text(Some(to)),
    );
    let headers = sqlx::query(&format!(
        "SELECT s.mdtrt_id, s.psn_no, s.fixmedins_code, s.insutype, s.med_type, s.setl_time, \
         s.medfee_sumamt, s.fund_pay_sumamt, s.acct_pay, v.begntime, v.endtime, v.dise_codg \
         FROM settlements s JOIN visits v ON v.mdtrt_id = s.mdtrt_id \
         WHERE {live} AND {in_range} ORDER BY s.seq"
    ))
    .bind(from.clone())
    .bind(to.clone())
    .fetch_all(&mut *conn)
    .await?;
    let mut visits: BTreeMap<String, SettledVisit> = BTreeMap::new();
    for row in &headers {
        add_settlement(&mut visits, row)?;
    }
    let lines = sqlx::query(&format!(
        "SELECT s.mdtrt_id, s.seq, sl.feedetl_sn, f.upload_seq, f.event_seq, f.med_list_codg, f.cnt_e4, \
         f.pric_micro_yuan, sl.det_item_fee_sumamt, sl.fulamt_ownpay_amt, f.med_chrgitm_type, f.line \
         FROM settlements s JOIN settlement_lines sl ON sl.setl_id = s.setl_id \
         JOIN fee_lines f ON f.mdtrt_id = s.mdtrt_id AND f.feedetl_sn = sl.feedetl_sn \
         WHERE {live} AND {in_range} AND f.event_seq <= s.seq \
         ORDER BY s.seq, sl.feedetl_sn, f.upload_seq"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    add_lines(&mut visits, &lines)?;
    Ok(visits.into_values().collect())
}

fn add_settlement(
    visits: &mut BTreeMap<String, SettledVisit>,
    row: &sqlx::any::AnyRow,
) -> Result<(), LedgerError> {
    const TABLE: &str = "settlements";
    let mdtrt_id: String = row.try_get("mdtrt_id")?;
    let setl_time =
        time(row, TABLE, "setl_time")?.ok_or_else(|| corrupt(TABLE, "setl_time", ""))?;
    let begntime =
        time(row, "visits", "begntime")?.ok_or_else(|| corrupt("visits", "begntime", ""))?;
    let endtime = time(row, "visits", "endtime")?;
    let (total, fund, acct) = (
        Fen(row.try_get("medfee_sumamt")?),
        Fen(row.try_get("fund_pay_sumamt")?),
        Fen(row.try_get("acct_pay")?),
    );
    if let Some(visit) = visits.get_mut(&mdtrt_id) {
        visit.medfee_sumamt += total;
        visit.fund_pay_sumamt += fund;
        visit.acct_pay += acct;
        visit.setl_time = visit.setl_time.max(setl_time);
        visit.endtime = endtime.unwrap_or(visit.setl_time.max(visit.begntime));
        return Ok(());
    }
    let stored = KeyedRow::new(row, TABLE, "mdtrt_id")?;
    let visit = SettledVisit {
        mdtrt_id: mdtrt_id.clone(),
        psn_no: row.try_get("psn_no")?,
        fixmedins_code: row.try_get("fixmedins_code")?,
        insutype: stored.parsed("insutype", table_code(Insutype::from_code))?,
        med_type: stored.parsed("med_type", table_code(MedType::from_code))?,
        begntime,
        endtime: endtime.unwrap_or(setl_time.max(begntime)),
        setl_time,
        dise_codg: row.try_get("dise_codg")?,
        medfee_sumamt: total,
        fund_pay_sumamt: fund,
        acct_pay: acct,
        lines: Vec::new(),
    };
    visits.insert(mdtrt_id, visit);
    Ok(())
}

/// Adds each settled line once: of the uploads of its `feedetl_sn` made before the settlement, the
/// latest is the one it consumed (rows come ordered by settlement, line and upload).
fn add_lines(
    visits: &mut BTreeMap<String, SettledVisit>,
    rows: &[sqlx::any::AnyRow],
) -> Result<(), LedgerError> {
    let key = |row: &sqlx::any::AnyRow| -> Result<(i64, String), LedgerError> {
        Ok((row.try_get("seq")?, row.try_get("feedetl_sn")?))
    };
    for (i, row) in rows.iter().enumerate() {
        let this = key(row)?;
        if let Some(next) = rows.get(i + 1) {
            if key(next)? == this {
                continue;
            }
        }
        let mdtrt_id: String = row.try_get("mdtrt_id")?;
        let Some(visit) = visits.get_mut(&mdtrt_id) else {
            continue;
        };
        if row.try_get::<Option<String>, _>("med_list_codg")?.is_none() {
            continue;
        }
        let line: String = row.try_get("line")?;
        visit.lines.push(settled_line(row, doctor_of(&line))?);
    }
    Ok(())
}

/// The practitioner who billed a line (`bilg_dr_codg` of the line as uploaded), when named.
pub(crate) fn doctor_of(line_json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ordered {
        #[serde(default)]
        bilg_dr_codg: Option<serde_json::Value>,
    }
    serde_json::from_str::<Ordered>(line_json)
        .ok()
        .and_then(|o| o.bilg_dr_codg)
        .and_then(|v| match v {
            serde_json::Value::String(s) if !s.is_empty() => Some(s),
            _ => None,
        })
}

/// A fee line's audit columns (`med_list_codg`, `cnt_e4`, `pric_micro_yuan`, `det_item_fee_sumamt`,
/// `fulamt_ownpay_amt`, `med_chrgitm_type`) as a settled line.
pub(crate) fn settled_line(
    row: &sqlx::any::AnyRow,
    doctor: Option<String>,
) -> Result<SettledLine, LedgerError> {
    Ok(SettledLine {
        med_list_codg: row
            .try_get::<Option<String>, _>("med_list_codg")?
            .unwrap_or_default(),
        cnt_e4: row.try_get::<Option<i64>, _>("cnt_e4")?.unwrap_or(0),
        pric_micro_yuan: row
            .try_get::<Option<i64>, _>("pric_micro_yuan")?
            .unwrap_or(0),
        amount: Fen(row.try_get("det_item_fee_sumamt")?),
        fulamt_ownpay_amt: Fen(row
            .try_get::<Option<i64>, _>("fulamt_ownpay_amt")?
            .unwrap_or(0)),
        med_chrgitm_type: row
            .try_get::<Option<String>, _>("med_chrgitm_type")?
            .unwrap_or_default(),
        doctor,
    })
}

/// Every registered person's sex and birth date.
pub async fn person_facts(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String, Option<NaiveDate>)>, LedgerError> {
    let rows = sqlx::query("SELECT psn_no, gend, brdy FROM persons")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("psn_no")?,
                row.try_get("gend")?,
                date(row, "persons", "brdy")?,
            ))
        })
        .collect()
}

/// A stored finding of a month's audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    /// `rule` or `model`.
    pub kind: String,
    /// The rule id or the model's name.
    pub id: String,
    pub psn_nos: Vec<String>,
    pub fixmedins_codes: Vec<String>,
    pub mdtrt_ids: Vec<String>,
    pub amount: Fen,
    pub score: i64,
    pub reason: String,
}

/// Replaces the findings of `month` (`yyyy-MM`) by `findings`, numbered in their order, in one
/// transaction.
pub async fn replace_findings(
    conn: &mut AnyConnection,
    month: &str,
    findings: &[StoredFinding],
    found_at: &str,
) -> Result<(), LedgerError> {
    let mut tx = conn.begin().await?;
    sqlx::query("DELETE FROM audit_findings WHERE month = $1")
        .bind(month.to_string())
        .execute(&mut *tx)
        .await?;
    for (no, f) in findings.iter().enumerate() {
        sqlx::query(
            "INSERT INTO audit_findings (month, finding_no, kind, id, psn_nos, fixmedins_codes, \
             mdtrt_ids, amount, score, reason, found_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(month.to_string())
        .bind(no as i64 + 1)
        .bind(f.kind.clone())
        .bind(f.id.clone())
        .bind(f.psn_nos.join(","))
        .bind(f.fixmedins_codes.join(","))
        .bind(f.mdtrt_ids.join(","))
        .bind(f.amount.fen())
        .bind(f.score)
        .bind(f.reason.clone())
        .bind(found_at.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The stored findings of `month`, in their order.
pub async fn findings(
    conn: &mut AnyConnection,
    month: &str,
) -> Result<Vec<StoredFinding>, LedgerError> {
    let rows = sqlx::query(
        "SELECT kind, id, psn_nos, fixmedins_codes, mdtrt_ids, amount, score, reason \
         FROM audit_findings WHERE month = $1 ORDER BY finding_no",
    )
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    let list = |text: String| -> Vec<String> {
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    rows.iter()
        .map(|row| {
            Ok(StoredFinding {
                kind: row.try_get("kind")?,
                id: row.try_get("id")?,
                psn_nos: list(row.try_get("psn_nos")?),
                fixmedins_codes: list(row.try_get("fixmedins_codes")?),
                mdtrt_ids: list(row.try_get("mdtrt_ids")?),
                amount: Fen(row.try_get("amount")?),
                score: row.try_get("score")?,
                reason: row.try_get("reason")?,
            })
        })
        .collect()
}
