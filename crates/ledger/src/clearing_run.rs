//! Running a month's cross-region clearing from the store: the month's cross-region settlements,
//! review deductions and prepayment history are read, `yibao-clearing` computes the rows, and they
//! are stored in state 10. A month already run is recomputed and compared: the stored rows are
//! returned and nothing is stored twice; a difference (the month's inputs changed after it was run)
//! is reported, never silently recomputed. A rejected clearing (70) is applied again by
//! [`resubmit`]: the pair's row of the month computed as a run would now, under a new id.

use chrono::NaiveDate;

use crate::clearing::{self, StoredClearing};
use crate::registry::{self, Document};
use crate::{AnyConnection, LedgerError, Store};
use sqlx::Connection;
use yibao_clearing::{
    carried_prepayment, clear_month, cross_region_lines, reapply_with_prepayment, ClearingError,
    ClearingPolicy, ClearingRow, ClearingState, Confirmation, CrossRegionLine, Month, MonthInputs,
    PairKey, PoolingRegions, SettlementRow,
};
use yibao_domain::{Code, Rounding};

/// Why a clearing run stopped; nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum ClearingRunError {
    #[error("{month} 尚未结束（今天 {as_of}）：月份结束后才能清算")]
    MonthNotOver { month: Month, as_of: NaiveDate },
    #[error("{later} 已清算：{month} 须在其后的月份之前清算（预付金按月结转）")]
    LaterMonthRun { month: Month, later: Month },
    #[error("{clr_id}: 已存的清算与现在按账本计算的不同（{month} 的结算或扣款在清算后有变化）")]
    StoredChanged { clr_id: String, month: Month },
    #[error("stored policy of {admdvs}: {problem}")]
    StoredPolicy { admdvs: String, problem: String },
    #[error(transparent)]
    Clearing(#[from] ClearingError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClearingRun {
    /// Whether this run stored the rows (false: the month was run before).
    pub stored_now: bool,
    pub rows: Vec<StoredClearing>,
}

/// The first day after a month.
fn month_over_on(month: Month) -> Option<NaiveDate> {
    let next = month.next();
    NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1)
}

/// Clears `month` (over on `as_of`) under `policy`.
pub async fn run_month(
    store: &Store,
    policy: &ClearingPolicy,
    month: Month,
    as_of: NaiveDate,
    run_at: &str,
) -> Result<ClearingRun, ClearingRunError> {
    if month_over_on(month).is_none_or(|over| as_of < over) {
        return Err(ClearingRunError::MonthNotOver { month, as_of });
    }
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let all = clearing::stored_rows(&mut conn, None).await?;
    if let Some(later) = all.iter().map(|s| s.row.month).find(|m| *m > month) {
        return Err(ClearingRunError::LaterMonthRun { month, later });
    }
    let inputs = month_inputs(&mut conn, policy, month).await?;
    let computed = clear_month(policy, month, &inputs)?;
    let stored: Vec<StoredClearing> = all.into_iter().filter(|s| s.row.month == month).collect();
    drop(conn);
    if !stored.is_empty() {
        if let Some(clr_id) = changed_since_stored(&stored, &computed) {
            return Err(ClearingRunError::StoredChanged { clr_id, month });
        }
        return Ok(ClearingRun {
            stored_now: false,
            rows: stored,
        });
    }
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let regions = pooling_regions(&mut conn).await?;
    drop(conn);
    clearing::store_rows(store, &computed, &regions, run_at).await?;
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    Ok(ClearingRun {
        stored_now: true,
        rows: clearing::stored_rows(&mut conn, Some(month)).await?,
    })
}

/// The first clearing of a run month that the rows computed now do not give, if any: each pair's
/// latest application is compared with the pair's computed row, the pairs must be the same, and a
/// pair whose latest application was rejected (70) is not compared (its next application, if the
/// bureau makes one, is computed then).
/// What a month's clearing is computed from: the month's cross-region settlements, its review
/// deductions and the pairs' prepayment histories.
async fn month_inputs(
    conn: &mut AnyConnection,
    policy: &ClearingPolicy,
    month: Month,
) -> Result<MonthInputs, ClearingRunError> {
    Ok(MonthInputs {
        rows: cross_region(conn, month).await?,
        deductions: clearing::month_deductions(conn, month).await?,
        prepayments: clearing::prepayment_histories(conn, month, policy.prepayment.basis_months)
            .await?,
    })
}

fn changed_since_stored(stored: &[StoredClearing], computed: &[ClearingRow]) -> Option<String> {
    let mut latest: std::collections::BTreeMap<PairKey, &StoredClearing> = Default::default();
    for s in stored {
        let replaced = latest
            .get(&s.row.key)
            .is_none_or(|held| s.resubmits.as_deref() == Some(held.clr_id.as_str()));
        if replaced {
            latest.insert(s.row.key, s);
        }
    }
    let computed: std::collections::BTreeMap<PairKey, &ClearingRow> =
        computed.iter().map(|c| (c.key, c)).collect();
    for (key, s) in &latest {
        let same = match computed.get(key) {
            _ if s.state == ClearingState::Rejected => true,
            Some(c) => same_row(&s.row, c),
            None => false,
        };
        if !same {
            return Some(s.clr_id.clone());
        }
    }
    computed
        .keys()
        .find(|key| !latest.contains_key(key))
        .map(|key| clearing::clearing_id(stored[0].row.month, key))
}

/// What a resubmission did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resubmission {
    /// Whether this call stored the new application (false: the rejected clearing was already
    /// applied again, and that application is returned).
    pub stored_now: bool,
    pub clearing: StoredClearing,
}

/// Applies the rejected (70) clearing `clr_id` again (`clearing-and-budgets.md` §2.2): the pair's
/// row of its month computed from the ledger as a run would now — the month's settlements with the
/// confirmations as the institutions corrected them while the pair was rejected
/// ([`crate::clearing_confirm`]), the review deductions entered for the month (including any
/// entered after the rejection), the prepayment before the month without rejected clearings — is
/// stored in state 10 under the next application id (`<first id>-<n>`) with its book postings,
/// the rejected row kept as it was. When a later month of the pair has a clearing not rejected,
/// the later months keep their rows and the month takes the prepayment they stand on
/// (`yibao_clearing::reapply_with_prepayment`, `[inferred]`): the rejected row's own when the
/// pair's next month's current application (`next_application`) started from the balance it
/// left, none otherwise. Applying the same rejected clearing
/// again returns the stored application. Refused when the clearing is not rejected, or when the
/// month no longer gives the pair a row (and, after later months, moves no prepayment).
pub async fn resubmit(
    store: &Store,
    policy: &ClearingPolicy,
    clr_id: &str,
    run_at: &str,
) -> Result<Resubmission, ClearingRunError> {
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let rejected = clearing::stored_row(&mut conn, clr_id)
        .await?
        .ok_or_else(|| LedgerError::Conflict(format!("清算 {clr_id} 不存在")))?;
    if rejected.state != ClearingState::Rejected {
        return Err(LedgerError::Conflict(format!(
            "清算 {clr_id} 状态为 {}：只有已拒绝（70）的清算可以重新申请",
            rejected.state
        ))
        .into());
    }
    let (month, key) = (rejected.row.month, rejected.row.key);
    let all = clearing::stored_rows(&mut conn, None).await?;
    if let Some(again) = all.iter().find(|s| s.resubmits.as_deref() == Some(clr_id)) {
        return Ok(Resubmission {
            stored_now: false,
            clearing: again.clone(),
        });
    }
    let later_standing = all
        .iter()
        .any(|s| s.row.key == key && s.row.month > month && s.state != ClearingState::Rejected);
    let later = next_application(&all, key, month).filter(|_| later_standing);
    let applications = all
        .iter()
        .filter(|s| s.row.key == key && s.row.month == month)
        .count();
    let inputs = month_inputs(&mut conn, policy, month).await?;
    let computed = clear_month(policy, month, &inputs)?
        .into_iter()
        .find(|row| row.key == key);
    let row = match later {
        Some(later) => Some(reapply_with_prepayment(
            policy,
            (month, key),
            computed.as_ref(),
            carried_prepayment(
                &rejected.row.prepayment,
                later.row.prepayment.balance_before,
            ),
        ))
        .filter(|row| {
            computed.is_some()
                || !row.prepayment.offset.is_zero()
                || !row.prepayment.top_up.is_zero()
        }),
        None => computed,
    };
    let row = row.ok_or_else(|| {
        LedgerError::Conflict(format!(
            "清算 {clr_id}: {month} 已没有该统筹区对与险种的可清算结算，无需重新申请"
        ))
    })?;
    let regions = pooling_regions(&mut conn).await?;
    let new_id = clearing::application_id(month, &key, applications as u32 + 1);
    let mut tx = conn.begin().await.map_err(LedgerError::from)?;
    let inserted = clearing::insert_row(&mut tx, &new_id, &row, clr_id, &regions, run_at).await;
    match inserted {
        Ok(true) => {}
        Ok(false) => {
            return Err(LedgerError::Conflict(format!(
                "清算 {new_id} 已存在：清算 {clr_id} 正被同时重新申请，请查询后再试"
            ))
            .into())
        }
        Err(e) if e.is_refusal() => {
            return Err(LedgerError::Conflict(format!(
                "清算 {clr_id} 正被同时重新申请，请查询后再试"
            ))
            .into())
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await.map_err(LedgerError::from)?;
    let clearing = clearing::stored_row(&mut conn, &new_id)
        .await?
        .ok_or_else(|| LedgerError::Conflict(format!("清算 {new_id} 不存在")))?;
    Ok(Resubmission {
        stored_now: true,
        clearing,
    })
}

/// The pair's application of its first month after `month` that no resubmission replaces: the one
/// the pair's later prepayment balances go on from (standing, or rejected and to be applied again
/// on the balance it started from).
fn next_application(all: &[StoredClearing], key: PairKey, month: Month) -> Option<&StoredClearing> {
    let next = all
        .iter()
        .filter(|s| s.row.key == key && s.row.month > month)
        .map(|s| s.row.month)
        .min()?;
    all.iter()
        .filter(|s| s.row.key == key && s.row.month == next)
        .find(|s| {
            !all.iter()
                .any(|o| o.resubmits.as_deref() == Some(s.clr_id.as_str()))
        })
}

/// Whether a stored row is the one computed now; a row stored before the fund shares
/// (`fund_shares` absent) is compared without them.
fn same_row(stored: &ClearingRow, computed: &ClearingRow) -> bool {
    match stored.fund_shares {
        Some(_) => stored == computed,
        None => {
            *stored
                == ClearingRow {
                    fund_shares: None,
                    ..computed.clone()
                }
        }
    }
}

/// [`pooling_regions`] as a ledger error (a stored policy that does not parse: a conflict naming it).
/// A settlement `s`'s treating region as selected into `trt_admdvs`: its `mdtrtarea_admvs`, else
/// its institution's region (the query joins `institutions i` on `s.fixmedins_code`).
pub(crate) const TREATING_ADMDVS: &str =
    "COALESCE(NULLIF(s.mdtrtarea_admvs, ''), i.admdvs, '') AS trt_admdvs";

/// A settlement row's stored insured and treating regions (`clr_optins`, [`TREATING_ADMDVS`]) and
/// the pair of pooling regions and scheme it is cleared under.
pub(crate) fn settlement_pair(
    row: &sqlx::any::AnyRow,
    regions: &PoolingRegions,
) -> Result<(Code, Code, PairKey), LedgerError> {
    let insured = crate::columns::code(row, "settlements", "clr_optins")?;
    let treating = crate::columns::code(row, "settlements", "trt_admdvs")?;
    let key = PairKey {
        insured_admdvs: regions.region_of(insured),
        treating_admdvs: regions.region_of(treating),
        insutype: crate::columns::code(row, "settlements", "insutype")?,
    };
    Ok((insured, treating, key))
}

pub(crate) async fn stored_pooling_regions(
    conn: &mut AnyConnection,
) -> Result<PoolingRegions, LedgerError> {
    pooling_regions(conn).await.map_err(|e| match e {
        ClearingRunError::Ledger(e) => e,
        other => LedgerError::Conflict(other.to_string()),
    })
}

/// The platform's pooling regions, from the benefit policies stored in it.
pub async fn pooling_regions(conn: &mut AnyConnection) -> Result<PoolingRegions, ClearingRunError> {
    let mut regions = Vec::new();
    for (admdvs, source) in registry::documents(conn, Document::Policy).await? {
        let policy =
            yibao_policy::Policy::parse(&source).map_err(|e| ClearingRunError::StoredPolicy {
                admdvs: admdvs.clone(),
                problem: e.to_string(),
            })?;
        regions.push((
            policy.policy.admdvs,
            policy.policy.in_region_prefixes.clone(),
        ));
    }
    Ok(PoolingRegions::new(regions))
}

/// The month's settlements whose treating pooling region is not the insured one, both regions
/// mapped to pooling-region codes; a settlement with another platform's region needs no
/// confirmation ([`PoolingRegions::needs_confirmation`]).
pub async fn cross_region(
    conn: &mut AnyConnection,
    month: Month,
) -> Result<Vec<SettlementRow>, ClearingRunError> {
    let regions = pooling_regions(conn).await?;
    let mut rows = clearing::month_settlements(conn, month).await?;
    for row in &mut rows {
        if !regions.needs_confirmation(row.key.insured_admdvs, row.key.treating_admdvs) {
            row.confirmation = Confirmation::NotRequired;
        }
        row.key.insured_admdvs = regions.region_of(row.key.insured_admdvs);
        row.key.treating_admdvs = regions.region_of(row.key.treating_admdvs);
    }
    rows.retain(|row| row.key.insured_admdvs != row.key.treating_admdvs);
    Ok(rows)
}

/// The cross-region report (`clearing-and-budgets.md` §6.4) of `year`, or of one `month` of it, by
/// settlement time (the clearing cycle): one grouped read of the ledger; shares and averages
/// rounded half up (a report's display, not money moved).
pub async fn cross_region_report(
    conn: &mut AnyConnection,
    year: i32,
    month: Option<u8>,
) -> Result<Vec<CrossRegionLine>, ClearingRunError> {
    let (from, to) = match month {
        Some(month) => (Month { year, month }, Month { year, month }),
        None => (Month { year, month: 1 }, Month { year, month: 12 }),
    };
    let regions = pooling_regions(conn).await?;
    let sums = clearing::settlement_sums(conn, from, to).await?;
    Ok(cross_region_lines(&regions, &sums, Rounding::default()))
}

/// The ids of the admissions among the settlements and cancellations made in `month`: final
/// (`mid_setl_flag` not 1) settlements of a stay (`med_type` 2x 住院, or 52 生育住院) and their
/// cancellations — what a cross-region report counts as admissions.
pub async fn month_admission_ids(
    conn: &mut AnyConnection,
    month: Month,
) -> Result<std::collections::BTreeSet<String>, ClearingRunError> {
    let rows = sqlx::query(
        "SELECT setl_id FROM settlements WHERE substr(setl_time, 1, 7) = $1 \
         AND mid_setl_flag <> '1' AND (med_type LIKE '2%' OR med_type = '52')",
    )
    .bind(month.to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::from)?;
    rows.iter()
        .map(|row| sqlx::Row::try_get::<String, _>(row, "setl_id"))
        .collect::<Result<_, _>>()
        .map_err(|e| ClearingRunError::Ledger(LedgerError::from(e)))
}

/// Issue 13 §4: a confirmed supervision case whose care was remote — the first of its visits'
/// settlements (in ledger order) whose treating pooling region is not the insured one — becomes a
/// review deduction (`deduction.kind`: 10 audit, else 20 inspection) of that pair's next clearing:
/// the month after the last month cleared, or the month of `at` when none is. Stored under the
/// provider deduction's id, so confirming again enters nothing twice. Returns the deduction entered
/// (none for care at home).
pub async fn deduct_remote_case(
    store: &Store,
    deduction: &crate::provider::Deduction,
    mdtrt_ids: &[String],
    at: &str,
) -> Result<Option<clearing::ReviewDeduction>, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let regions = stored_pooling_regions(&mut conn).await?;
    let mut remote: Option<(i64, PairKey)> = None;
    for mdtrt_id in mdtrt_ids {
        let rows = sqlx::query(&format!(
            "SELECT s.seq, s.clr_optins, s.insutype, {TREATING_ADMDVS} \
             FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code \
             WHERE s.mdtrt_id = $1 AND s.kind = 'settle' ORDER BY s.seq"
        ))
        .bind(mdtrt_id.clone())
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let (insured, treating, key) = settlement_pair(row, &regions)?;
            let seq: i64 = sqlx::Row::try_get(row, "seq")?;
            let is_remote = !insured.is_empty()
                && !treating.is_empty()
                && key.insured_admdvs != key.treating_admdvs;
            if is_remote && remote.is_none_or(|(first, _)| seq < first) {
                remote = Some((seq, key));
            }
        }
    }
    let Some((_, key)) = remote else {
        return Ok(None);
    };
    let month = match crate::clearing_confirm::last_cleared(&mut conn).await? {
        Some(last) => last.next(),
        None => at
            .get(..7)
            .and_then(|m| Month::parse(m).ok())
            .ok_or_else(|| LedgerError::Conflict(format!("确认时间 `{at}` 应以 yyyy-MM 开头")))?,
    };
    drop(conn);
    let entered = clearing::ReviewDeduction {
        deduction_id: deduction.deduction_id.clone(),
        month,
        key,
        inspection: deduction.kind != crate::provider::DeductionKind::Audit,
        amount: deduction.amount,
        reason: deduction.reason.clone(),
    };
    clearing::add_deductions(store, std::slice::from_ref(&entered), at).await?;
    Ok(Some(entered))
}

/// A region code given by a user (6 digits).
pub fn region_code(text: &str) -> Option<Code> {
    (text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Code::new(text).ok())
        .flatten()
}
