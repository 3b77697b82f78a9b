//! Institutions' confirmation of inbound cross-region settlements before clearing (3260
//! 提取异地清分明细, 3261 异地清分结果确认, 3262 确认回退; `clearing-and-budgets.md` §3,
//! `migrations/0019_clearing_confirmations.sql`). The rows an institution confirms are its
//! settlements of a month whose insured and treating pooling regions are both this platform's and
//! differ ([`PoolingRegions::needs_confirmation`]); each 3261 is a batch keyed by the institution
//! and its `msgid`, and a 3262 rolls one batch back. A row's state is its flag in the latest batch
//! not rolled back that holds it.
//!
//! A settlement's confirmation is frozen once its pair's clearing of the month stands: the month
//! has been run and the pair (insured region × treating region × scheme) has a clearing of it that
//! is not rejected, or the month has been run and gave the pair no clearing. Then its stored
//! clearing never changes: a batch made before (in time) can no longer be rolled back, and a batch
//! made after (late, `migrations/0025_clearing_late_confirmations.sql`) may only confirm
//! (`cnfm_flag` 1) settlements its clearing did not count; they enter the cycle of the month the
//! late batch is made in (or the first month not yet cleared, when that one is), which is stored
//! with the batch, with the entries of their chains made before it. A late batch can be rolled back
//! until its cycle is cleared (by the same rule, per pair). A pair whose clearings of the month are
//! all rejected (70) is *reopened* until it is applied again: its institutions correct their
//! confirmations as before the run — roll back, confirm or exclude in time — and the resubmission
//! (`clearing_run::resubmit`) reads them; a batch mixing reopened and frozen pairs is refused (the
//! institution sends one per standing). Written on the caller's connection in one transaction per
//! request, outside the settlement writer.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Connection, Row};
use yibao_clearing::{ClearingState, Confirmation, Month, PairKey, PoolingRegions};
use yibao_domain::Fen;

use crate::clearing_run::{
    pooling_regions, settlement_pair, stored_pooling_regions, ClearingRunError, TREATING_ADMDVS,
};
use crate::columns::{code, corrupt};
use crate::sql::values_placeholders;
use crate::LedgerError;

/// Name of the counter ordering confirmation batches.
const BATCH_COUNTER: &str = "clearing_confirm_batch";

/// A settlement an institution is asked to confirm (a 3260 row).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InboundRow {
    /// `setl_sn`: the settlement's `setl_id`.
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub certno: String,
    pub insutype: String,
    /// The insured pooling region.
    pub insu_admdvs: String,
    /// `mdtrt_setl_time`.
    pub setl_time: String,
    pub medfee_sumamt: Fen,
    /// `optins_pay_sumamt`: every fund's payment (`fund_pay_sumamt`).
    pub fund_pay_sumamt: Fen,
    /// The state: `Some(true)` confirmed, `Some(false)` excluded, `None` not confirmed.
    pub cnfm_flag: Option<bool>,
}

/// A settlement's confirmation: by the latest in-time batch standing that holds it, and by a late
/// batch standing (which only confirms), with that batch's cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RootState {
    /// `Some(true)` confirmed, `Some(false)` excluded before its month was cleared.
    pub in_time: Option<bool>,
    /// Confirmed after its month was cleared, entering this cycle.
    pub late_cycle: Option<Month>,
}

impl RootState {
    /// The flag shown to the institution (3260): confirmed in time or late, excluded, or none.
    pub fn flag(self) -> Option<bool> {
        if self.late_cycle.is_some() {
            Some(true)
        } else {
            self.in_time
        }
    }

    /// Whether the settlement (and its chain) enters clearing.
    pub fn confirmation(self) -> Confirmation {
        match self.flag() {
            Some(true) => Confirmation::Confirmed,
            Some(false) => Confirmation::Excluded,
            None => Confirmation::Unconfirmed,
        }
    }
}

/// The settlements confirmed by late batches standing whose cycle is the month `$1`.
pub const LATE_ROOTS_OF_CYCLE: &str = "SELECT c.setl_id FROM clearing_confirmations c \
     JOIN clearing_confirm_batches b ON b.fixmedins_code = c.fixmedins_code AND b.msgid = c.msgid \
     WHERE b.rolled_back_at = '' AND b.cycle_month = $1 AND c.cnfm_flag = '1'";

/// A 3261 batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmBatch {
    pub fixmedins_code: String,
    /// The 3261 message's `msgid` (the `otransid` of its 3262).
    pub msgid: String,
    pub month: Month,
    /// `(setl_id, included)` per row.
    pub rows: Vec<(String, bool)>,
    /// When a 3262 rolled it back; empty while it stands.
    pub rolled_back_at: String,
    /// For a batch made after its month was cleared: the cycle its rows enter.
    pub late_cycle: Option<Month>,
}

/// The settlements of `month` at `fixmedins_code` that need its confirmation, in ledger order,
/// with their state.
pub async fn inbound_rows(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
    month: Month,
) -> Result<Vec<InboundRow>, ClearingRunError> {
    let regions = pooling_regions(conn).await?;
    let rows = sqlx::query(&format!(
        "SELECT s.setl_id, s.mdtrt_id, s.psn_no, s.insutype, s.setl_time, s.clr_optins, s.medfee_sumamt, \
         s.fund_pay_sumamt, {TREATING_ADMDVS}, COALESCE(p.certno, '') AS certno \
         FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code \
         LEFT JOIN persons p ON p.psn_no = s.psn_no \
         WHERE s.fixmedins_code = $1 AND substr(s.setl_time, 1, 7) = $2 AND s.kind = 'settle' ORDER BY s.seq"
    ))
    .bind(fixmedins_code.to_string())
    .bind(month.to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::from)?;
    let states = month_states(conn, month).await?;
    let mut out = Vec::new();
    for row in &rows {
        let insured = code(row, "settlements", "clr_optins")?;
        let treating = code(row, "settlements", "trt_admdvs")?;
        if insured.is_empty()
            || treating.is_empty()
            || !regions.needs_confirmation(insured, treating)
        {
            continue;
        }
        let setl_id: String = row.try_get("setl_id").map_err(LedgerError::from)?;
        out.push(inbound_row(
            row,
            &regions,
            insured,
            states.get(&setl_id).and_then(|s| s.flag()),
        )?);
    }
    Ok(out)
}

fn inbound_row(
    row: &sqlx::any::AnyRow,
    regions: &PoolingRegions,
    insured: yibao_domain::Code,
    cnfm_flag: Option<bool>,
) -> Result<InboundRow, LedgerError> {
    Ok(InboundRow {
        setl_id: row.try_get("setl_id")?,
        mdtrt_id: row.try_get("mdtrt_id")?,
        psn_no: row.try_get("psn_no")?,
        certno: row.try_get("certno")?,
        insutype: row.try_get("insutype")?,
        insu_admdvs: regions.region_of(insured).to_string(),
        setl_time: row.try_get("setl_time")?,
        medfee_sumamt: Fen(row.try_get("medfee_sumamt")?),
        fund_pay_sumamt: Fen(row.try_get("fund_pay_sumamt")?),
        cnfm_flag,
    })
}

/// Every entry made in month `$1` with the settlement its chain starts from (`root`): itself for a
/// settlement, the settlement cancelled for a cancellation, and so on up a chain of cancellations
/// and reinstatements (a reinstatement mirrors a cancellation).
/// `up` walks each chain; its rows with no `orig` hold the roots.
const MONTH_ROOTS: &str = "WITH RECURSIVE up (setl_id, cur, orig) AS ( \
     SELECT s.setl_id, s.setl_id, s.orig_setl_id FROM settlements s WHERE substr(s.setl_time, 1, 7) = $1 \
     UNION ALL SELECT up.setl_id, p.setl_id, p.orig_setl_id FROM up JOIN settlements p ON p.setl_id = up.orig)";

/// The settlement each entry made in `month` stands for when confirmed (see [`MONTH_ROOTS`]).
pub async fn month_roots(
    conn: &mut AnyConnection,
    month: Month,
) -> Result<BTreeMap<String, String>, LedgerError> {
    let rows = sqlx::query(&format!(
        "{MONTH_ROOTS} SELECT up.setl_id, up.cur AS root FROM up WHERE up.orig IS NULL"
    ))
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("setl_id")?, row.try_get("root")?)))
        .collect()
}

/// The confirmation state of the settlement every entry made in `month` stands for (its root);
/// absent when no batch standing holds it.
pub async fn month_states(
    conn: &mut AnyConnection,
    month: Month,
) -> Result<BTreeMap<String, RootState>, LedgerError> {
    let rows = sqlx::query(&format!(
        "{MONTH_ROOTS} SELECT c.setl_id, c.cnfm_flag, b.cycle_month FROM clearing_confirmations c \
         JOIN clearing_confirm_batches b ON b.fixmedins_code = c.fixmedins_code AND b.msgid = c.msgid \
         WHERE b.rolled_back_at = '' AND c.setl_id IN (SELECT up.cur FROM up WHERE up.orig IS NULL) \
         ORDER BY b.seq"
    ))
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    let mut out: BTreeMap<String, RootState> = BTreeMap::new();
    for row in &rows {
        let flag: String = row.try_get("cnfm_flag")?;
        let included = match flag.as_str() {
            "1" => true,
            "0" => false,
            other => return Err(corrupt("clearing_confirmations", "cnfm_flag", other)),
        };
        let state = out.entry(row.try_get("setl_id")?).or_default();
        match stored_cycle(&row.try_get::<String, _>("cycle_month")?)? {
            Some(cycle) => state.late_cycle = Some(cycle),
            None => state.in_time = Some(included),
        }
    }
    Ok(out)
}

/// A batch's stored `cycle_month`: none (empty) for an in-time batch.
fn stored_cycle(text: &str) -> Result<Option<Month>, LedgerError> {
    if text.is_empty() {
        return Ok(None);
    }
    Month::parse(text)
        .map(Some)
        .map_err(|_| corrupt("clearing_confirm_batches", "cycle_month", text))
}

/// The last month with stored clearing rows.
pub(crate) async fn last_cleared(conn: &mut AnyConnection) -> Result<Option<Month>, LedgerError> {
    let row = sqlx::query("SELECT MAX(month) AS month FROM clearing_rows")
        .fetch_one(conn)
        .await?;
    row.try_get::<Option<String>, _>("month")?
        .map(|m| Month::parse(&m).map_err(|_| corrupt("clearing_rows", "month", &m)))
        .transpose()
}

/// Where a month's clearing stands for the confirmations of its settlements (see the module).
#[derive(Debug, Default)]
struct MonthClearing {
    /// Whether the month has been run (it has clearing rows).
    run: bool,
    /// The pairs whose clearings of the month are all rejected (70), awaiting their next
    /// application.
    reopened: BTreeSet<PairKey>,
}

impl MonthClearing {
    /// Whether the confirmations of the pair's settlements of the month are frozen.
    fn frozen(&self, key: &PairKey) -> bool {
        self.run && !self.reopened.contains(key)
    }
}

async fn month_clearing(
    conn: &mut AnyConnection,
    month: Month,
) -> Result<MonthClearing, LedgerError> {
    let rows = crate::clearing::stored_rows(conn, Some(month)).await?;
    let standing: BTreeSet<PairKey> = rows
        .iter()
        .filter(|s| s.state != ClearingState::Rejected)
        .map(|s| s.row.key)
        .collect();
    Ok(MonthClearing {
        run: !rows.is_empty(),
        reopened: rows
            .iter()
            .map(|s| s.row.key)
            .filter(|key| !standing.contains(key))
            .collect(),
    })
}

/// The pair (pooling regions and scheme) each of the settlements `setl_ids` is cleared under.
async fn pairs_of(
    conn: &mut AnyConnection,
    setl_ids: &[&str],
) -> Result<BTreeMap<String, PairKey>, LedgerError> {
    let mut out = BTreeMap::new();
    if setl_ids.is_empty() {
        return Ok(out);
    }
    let regions = stored_pooling_regions(conn).await?;
    let sql = format!(
        "SELECT s.setl_id, s.clr_optins, s.insutype, {TREATING_ADMDVS} \
         FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code \
         WHERE s.setl_id IN {}",
        values_placeholders(1, setl_ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in setl_ids {
        query = query.bind(id.to_string());
    }
    for row in &query.fetch_all(&mut *conn).await? {
        let (_, _, key) = settlement_pair(row, &regions)?;
        out.insert(row.try_get("setl_id")?, key);
    }
    Ok(out)
}

/// Whether the settlements `setl_ids` of `month` are frozen (see the module): `Some(true)` all of
/// them, `Some(false)` none (the month not run, or every pair reopened), `None` some but not all.
async fn frozen_rows(
    conn: &mut AnyConnection,
    month: Month,
    setl_ids: &[&str],
) -> Result<Option<bool>, LedgerError> {
    let clearing = month_clearing(conn, month).await?;
    if !clearing.run {
        return Ok(Some(false));
    }
    let pairs = pairs_of(conn, setl_ids).await?;
    let frozen: BTreeSet<bool> = setl_ids
        .iter()
        .map(|id| pairs.get(*id).is_none_or(|key| clearing.frozen(key)))
        .collect();
    Ok(match (frozen.contains(&true), frozen.contains(&false)) {
        (true, true) => None,
        (frozen, _) => Some(frozen),
    })
}

fn frozen(month: Month) -> LedgerError {
    LedgerError::Conflict(format!("{month} 已清算，其确认批次不能再回退"))
}

fn mixed(month: Month) -> LedgerError {
    LedgerError::Conflict(format!(
        "{month} 的清算中，本批次既有已拒绝（70）待重新申请的统筹区对与险种，也有清算仍有效的：请分批确认"
    ))
}

/// The batch an institution sent under `msgid`.
pub async fn batch(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
    msgid: &str,
) -> Result<Option<ConfirmBatch>, LedgerError> {
    let Some(head) = sqlx::query(
        "SELECT trt_month, rolled_back_at, cycle_month FROM clearing_confirm_batches WHERE fixmedins_code = $1 AND msgid = $2",
    )
    .bind(fixmedins_code.to_string())
    .bind(msgid.to_string())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let month_text: String = head.try_get("trt_month")?;
    let month = Month::parse(&month_text)
        .map_err(|_| corrupt("clearing_confirm_batches", "trt_month", &month_text))?;
    let rows = sqlx::query(
        "SELECT setl_id, cnfm_flag FROM clearing_confirmations WHERE fixmedins_code = $1 AND msgid = $2 \
         ORDER BY setl_id",
    )
    .bind(fixmedins_code.to_string())
    .bind(msgid.to_string())
    .fetch_all(conn)
    .await?;
    let rows = rows
        .iter()
        .map(|r| {
            let flag: String = r.try_get("cnfm_flag")?;
            Ok((r.try_get("setl_id")?, flag == "1"))
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    Ok(Some(ConfirmBatch {
        fixmedins_code: fixmedins_code.to_string(),
        msgid: msgid.to_string(),
        month,
        rows,
        rolled_back_at: head.try_get("rolled_back_at")?,
        late_cycle: stored_cycle(&head.try_get::<String, _>("cycle_month")?)?,
    }))
}

/// Stores a 3261 batch (its rows already checked by the caller) in one transaction. When its month
/// is cleared the batch is late (see the module): refused unless every row confirms a settlement
/// not yet counted, and stored with its cycle. A batch already stored under the institution's
/// `msgid` is returned as it is and nothing is stored (a repeated message).
pub async fn confirm(
    conn: &mut AnyConnection,
    batch_in: &ConfirmBatch,
    confirmed_at: &str,
) -> Result<ConfirmBatch, LedgerError> {
    let mut tx = conn.begin().await?;
    if let Some(stored) = batch(&mut tx, &batch_in.fixmedins_code, &batch_in.msgid).await? {
        tx.commit().await?;
        return Ok(stored);
    }
    let ids: Vec<&str> = batch_in.rows.iter().map(|(id, _)| id.as_str()).collect();
    let late_cycle = match frozen_rows(&mut tx, batch_in.month, &ids).await? {
        Some(true) => Some(late_cycle_of(&mut tx, batch_in, confirmed_at).await?),
        Some(false) => {
            not_confirmed_late(&mut tx, batch_in).await?;
            None
        }
        None => return Err(mixed(batch_in.month)),
    };
    let seq = crate::sql::next_counter(&mut tx, BATCH_COUNTER).await?;
    sqlx::query(
        "INSERT INTO clearing_confirm_batches (fixmedins_code, msgid, seq, trt_month, confirmed_at, cycle_month) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(batch_in.fixmedins_code.clone())
    .bind(batch_in.msgid.clone())
    .bind(seq)
    .bind(batch_in.month.to_string())
    .bind(confirmed_at.to_string())
    .bind(late_cycle.map_or_else(String::new, |m| m.to_string()))
    .execute(&mut *tx)
    .await?;
    if !batch_in.rows.is_empty() {
        let sql = format!(
            "INSERT INTO clearing_confirmations (fixmedins_code, msgid, setl_id, cnfm_flag) VALUES {}",
            values_placeholders(batch_in.rows.len(), 4)
        );
        let mut query = sqlx::query(&sql);
        for (setl_id, included) in &batch_in.rows {
            query = query
                .bind(batch_in.fixmedins_code.clone())
                .bind(batch_in.msgid.clone())
                .bind(setl_id.clone())
                .bind(if *included { "1" } else { "0" });
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(ConfirmBatch {
        rolled_back_at: String::new(),
        late_cycle,
        ..batch_in.clone()
    })
}

/// Refuses an in-time batch holding a settlement a late batch standing confirms (the late batch
/// carries it into a later cycle; it is rolled back first while that cycle is open).
async fn not_confirmed_late(
    conn: &mut AnyConnection,
    batch_in: &ConfirmBatch,
) -> Result<(), LedgerError> {
    let states = month_states(conn, batch_in.month).await?;
    for (setl_id, _) in &batch_in.rows {
        if let Some(cycle) = states.get(setl_id).and_then(|s| s.late_cycle) {
            return Err(LedgerError::Conflict(format!(
                "结算 {setl_id} 已由补充确认批次计入 {cycle} 的清算：先回退该批次"
            )));
        }
    }
    Ok(())
}

/// The cycle a late batch's rows enter — the month of `confirmed_at`, or the first month not yet
/// cleared when that one is — after checking that every row confirms a settlement its month's
/// clearing did not count and no late batch confirms yet.
async fn late_cycle_of(
    conn: &mut AnyConnection,
    batch_in: &ConfirmBatch,
    confirmed_at: &str,
) -> Result<Month, LedgerError> {
    let month = batch_in.month;
    let states = month_states(conn, month).await?;
    for (setl_id, included) in &batch_in.rows {
        let state = states.get(setl_id).copied().unwrap_or_default();
        if !included {
            return Err(LedgerError::Conflict(format!(
                "{month} 已清算：结算 {setl_id} 只能补充确认（cnfm_flag 1），不能再排除"
            )));
        }
        if state.flag() == Some(true) {
            return Err(LedgerError::Conflict(format!(
                "{month} 已清算：结算 {setl_id} 已确认并计入清算"
            )));
        }
    }
    let made_in = confirmed_at
        .get(..7)
        .and_then(|m| Month::parse(m).ok())
        .ok_or_else(|| {
            LedgerError::Conflict(format!("确认时间 `{confirmed_at}` 应以 yyyy-MM 开头"))
        })?;
    let first_open = last_cleared(conn).await?.map_or(made_in, Month::next);
    Ok(made_in.max(first_open))
}

/// Confirms (`cnfm_flag` 1) every inbound row of `month` not yet confirmed or excluded, for every
/// registered institution, in batches of at most 100 named `<msgid_prefix>-<yyyyMM>-<n>` — what
/// the hospitals do with 3260/3261 before the run, done at once (the demo's hospitals). Returns
/// how many rows it confirmed (none once the month is cleared).
pub async fn confirm_all(
    conn: &mut AnyConnection,
    month: Month,
    msgid_prefix: &str,
    confirmed_at: &str,
) -> Result<usize, ClearingRunError> {
    let mut confirmed = 0;
    if month_clearing(conn, month).await?.run {
        return Ok(confirmed);
    }
    for institution in crate::registry::institutions(conn).await? {
        let open: Vec<String> = inbound_rows(conn, &institution.fixmedins_code, month)
            .await?
            .into_iter()
            .filter(|r| r.cnfm_flag.is_none())
            .map(|r| r.setl_id)
            .collect();
        for (n, chunk) in open.chunks(100).enumerate() {
            let batch = ConfirmBatch {
                fixmedins_code: institution.fixmedins_code.clone(),
                msgid: format!(
                    "{msgid_prefix}-{:04}{:02}-{}",
                    month.year,
                    month.month,
                    n + 1
                ),
                month,
                rows: chunk.iter().map(|id| (id.clone(), true)).collect(),
                rolled_back_at: String::new(),
                late_cycle: None,
            };
            confirm(conn, &batch, confirmed_at).await?;
            confirmed += chunk.len();
        }
    }
    Ok(confirmed)
}

/// Rolls back the standing batch `msgid` of an institution (3262); refused when it is unknown or
/// already rolled back, or its rows are frozen (see the module) in the month they were counted in:
/// the batch's month for an in-time batch, its cycle for a late one.
pub async fn roll_back(
    conn: &mut AnyConnection,
    fixmedins_code: &str,
    msgid: &str,
    rolled_back_at: &str,
) -> Result<(), LedgerError> {
    let mut tx = conn.begin().await?;
    let stored = batch(&mut tx, fixmedins_code, msgid)
        .await?
        .ok_or_else(|| LedgerError::Conflict(format!("本机构没有确认批次 {msgid}")))?;
    let counted_in = stored.late_cycle.unwrap_or(stored.month);
    let ids: Vec<&str> = stored.rows.iter().map(|(id, _)| id.as_str()).collect();
    match frozen_rows(&mut tx, counted_in, &ids).await? {
        Some(false) => {}
        Some(true) => return Err(frozen(counted_in)),
        None => return Err(mixed(counted_in)),
    }
    let updated = sqlx::query(
        "UPDATE clearing_confirm_batches SET rolled_back_at = $1 \
         WHERE fixmedins_code = $2 AND msgid = $3 AND rolled_back_at = ''",
    )
    .bind(rolled_back_at.to_string())
    .bind(fixmedins_code.to_string())
    .bind(msgid.to_string())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(LedgerError::Conflict(format!("确认批次 {msgid} 已回退")));
    }
    tx.commit().await?;
    Ok(())
}
