//! Releasing the reserve withheld from cross-region clearings (deduction 40 预留金暂扣;
//! `migrations/0028_clearing_resubmit_reserve.sql`). A release pays out, per insured region ×
//! treating region × scheme × period (`yyyy` or `yyyy-MM`), the whole reserve of every paid
//! clearing of the pair in the period not yet released — the rule is `yibao_clearing`'s
//! ([`plan_release`], `[inferred]`) — and posts each clearing's batch
//! `clearing:<clr_id>:reserve-released` ([`crate::clearing_books`]) in the same transaction. A
//! period is released once (its id is the key; asking again returns the stored release) and a
//! clearing's reserve once (`clearing_reserve_released` is keyed by the clearing), so no more is
//! ever paid out than was withheld.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Connection, Row};
use yibao_clearing::{
    key_text, plan_release, ClearingState, PairKey, ReserveHolder, ReservePeriod,
};
use yibao_domain::Fen;

use crate::clearing::{stored_rows, StoredClearing};
use crate::clearing_books::{day_of, release_batch_of, release_rows_of};
use crate::columns::code;
use crate::{LedgerError, Store};

/// A bureau's decision to release a pair's reserve of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRequest {
    pub period: ReservePeriod,
    pub key: PairKey,
    pub reason: String,
    pub operator: String,
}

/// A stored release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredRelease {
    /// `<period>-<insured>-<treating>-<insutype>` ([`release_id`]).
    pub release_id: String,
    /// `yyyy` or `yyyy-MM`.
    pub period: String,
    pub key: PairKey,
    /// Σ of the reserves it paid out.
    pub amount: Fen,
    pub reason: String,
    pub operator: String,
    pub released_at: String,
    /// `(clr_id, amount)` of each clearing whose reserve it paid out.
    pub clearings: Vec<(String, Fen)>,
}

/// What a release call did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Release {
    /// Whether this call released it (false: the period was released before; that release).
    pub stored_now: bool,
    pub release: StoredRelease,
}

/// The id of the release of a pair's reserve of `period`.
pub fn release_id(period: ReservePeriod, key: &PairKey) -> String {
    format!(
        "{period}-{}-{}-{}",
        key.insured_admdvs, key.treating_admdvs, key.insutype
    )
}

/// Releases the pair's reserve of the period (see the module); `released_at` starts with the day
/// the postings are dated (`yyyy-MM-dd`). Refused, nothing stored, when a clearing of the period
/// holding a reserve is not paid yet or no reserve is left to release.
pub async fn release(
    store: &Store,
    request: &ReleaseRequest,
    released_at: &str,
) -> Result<Release, LedgerError> {
    let id = release_id(request.period, &request.key);
    let day = day_of(released_at).ok_or_else(|| {
        LedgerError::Conflict(format!(
            "预留金返还 {id}: 返还时间 `{released_at}` 应以 yyyy-MM-dd 开头（记账日期）"
        ))
    })?;
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    if let Some(release) = releases_where(&mut tx, Some(&id)).await?.pop() {
        tx.commit().await?;
        return Ok(Release {
            stored_now: false,
            release,
        });
    }
    let pair: Vec<StoredClearing> = stored_rows(&mut tx, None)
        .await?
        .into_iter()
        .filter(|s| s.row.key == request.key)
        .collect();
    let holders: Vec<ReserveHolder> = pair
        .iter()
        .map(|s| ReserveHolder {
            clr_id: s.clr_id.clone(),
            month: s.row.month,
            state: s.state,
            reserve_withheld: s.row.deductions.reserve_withheld,
            released: s.reserve_released_by.is_some(),
        })
        .collect();
    let plan = plan_release(request.period, &holders).map_err(|e| {
        LedgerError::Conflict(format!(
            "预留金返还 {}（{}）: {e}",
            key_text(&request.key),
            request.period
        ))
    })?;
    let stored = StoredRelease {
        release_id: id.clone(),
        period: request.period.to_string(),
        key: request.key,
        amount: plan.amount,
        reason: request.reason.clone(),
        operator: request.operator.clone(),
        released_at: released_at.to_string(),
        clearings: plan.rows,
    };
    let written = write_release(&mut tx, &stored, &pair, &day).await;
    match written {
        Ok(()) => {}
        Err(e) if e.is_refusal() => {
            return Err(LedgerError::Conflict(format!(
                "预留金返还 {id}: 同一清算的预留金正被同时返还，请查询后再试"
            )))
        }
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(Release {
        stored_now: true,
        release: stored,
    })
}

/// Inserts the release, the clearings it pays out and their book batches.
async fn write_release(
    conn: &mut AnyConnection,
    release: &StoredRelease,
    pair: &[StoredClearing],
    day: &str,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO clearing_reserve_releases (release_id, period, insu_admdvs, trt_admdvs, insutype, amount, \
         reason, operator, released_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(release.release_id.clone())
    .bind(release.period.clone())
    .bind(release.key.insured_admdvs.to_string())
    .bind(release.key.treating_admdvs.to_string())
    .bind(release.key.insutype.to_string())
    .bind(release.amount.0)
    .bind(release.reason.clone())
    .bind(release.operator.clone())
    .bind(release.released_at.clone())
    .execute(&mut *conn)
    .await?;
    let regions = crate::clearing_run::stored_pooling_regions(conn).await?;
    for (clr_id, amount) in &release.clearings {
        sqlx::query(
            "INSERT INTO clearing_reserve_released (clr_id, release_id, amount) VALUES ($1, $2, $3)",
        )
        .bind(clr_id.clone())
        .bind(release.release_id.clone())
        .bind(amount.0)
        .execute(&mut *conn)
        .await?;
        let Some(stored) = pair.iter().find(|s| &s.clr_id == clr_id) else {
            continue;
        };
        let rows = release_rows_of(&stored.row, &regions, day);
        if !rows.is_empty() {
            crate::books::insert_rows(conn, &release_batch_of(clr_id), &rows).await?;
        }
    }
    Ok(())
}

/// Every stored release, by id.
pub async fn releases(conn: &mut AnyConnection) -> Result<Vec<StoredRelease>, LedgerError> {
    releases_where(conn, None).await
}

/// The stored releases (only `release_id` when given), by id, with the clearings each paid out.
async fn releases_where(
    conn: &mut AnyConnection,
    release_id: Option<&str>,
) -> Result<Vec<StoredRelease>, LedgerError> {
    let filter = if release_id.is_some() {
        "WHERE release_id = $1"
    } else {
        "WHERE $1 = ''"
    };
    let id = release_id.unwrap_or_default().to_string();
    let heads = sqlx::query(&format!(
        "SELECT release_id, period, insu_admdvs, trt_admdvs, insutype, amount, reason, operator, released_at \
         FROM clearing_reserve_releases {filter} ORDER BY release_id"
    ))
    .bind(id.clone())
    .fetch_all(&mut *conn)
    .await?;
    let parts = sqlx::query(&format!(
        "SELECT release_id, clr_id, amount FROM clearing_reserve_released {filter} ORDER BY clr_id"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut clearings: BTreeMap<String, Vec<(String, Fen)>> = BTreeMap::new();
    for row in &parts {
        clearings
            .entry(row.try_get("release_id")?)
            .or_default()
            .push((row.try_get("clr_id")?, Fen(row.try_get("amount")?)));
    }
    heads
        .iter()
        .map(|row| {
            let release_id: String = row.try_get("release_id")?;
            Ok(StoredRelease {
                clearings: clearings.remove(&release_id).unwrap_or_default(),
                release_id,
                period: row.try_get("period")?,
                key: PairKey {
                    insured_admdvs: code(row, "clearing_reserve_releases", "insu_admdvs")?,
                    treating_admdvs: code(row, "clearing_reserve_releases", "trt_admdvs")?,
                    insutype: code(row, "clearing_reserve_releases", "insutype")?,
                },
                amount: Fen(row.try_get("amount")?),
                reason: row.try_get("reason")?,
                operator: row.try_get("operator")?,
                released_at: row.try_get("released_at")?,
            })
        })
        .collect()
}

/// `yibao verify`'s check of the releases: each pays out the whole reserve withheld of paid
/// clearings of its pair and period, adds up to its amount, is dated, and has a clearing of its
/// own (the clearings' batches are checked with their rows).
pub fn check(rows: &[StoredClearing], releases: &[StoredRelease], problems: &mut Vec<String>) {
    let by_id: BTreeMap<&str, &StoredClearing> =
        rows.iter().map(|s| (s.clr_id.as_str(), s)).collect();
    for release in releases {
        let id = &release.release_id;
        let period = ReservePeriod::parse(&release.period).ok();
        if period.is_none_or(|p| release_id(p, &release.key) != *id) {
            problems.push(format!(
                "reserve release {id}: its id is not its period's and pair's"
            ));
        }
        if day_of(&release.released_at).is_none() {
            problems.push(format!("reserve release {id}: released_at is not a date"));
        }
        let total: Fen = release.clearings.iter().map(|(_, amount)| *amount).sum();
        if total != release.amount || release.clearings.is_empty() {
            problems.push(format!(
                "reserve release {id}: amount {} ≠ Σ of its clearings {total}",
                release.amount
            ));
        }
        for (clr_id, amount) in &release.clearings {
            let fits = by_id.get(clr_id.as_str()).is_some_and(|s| {
                s.state == ClearingState::Paid
                    && s.row.key == release.key
                    && period.is_some_and(|p| p.contains(s.row.month))
                    && s.row.deductions.reserve_withheld == *amount
            });
            if !fits {
                problems.push(format!(
                    "reserve release {id}: clearing {clr_id} ({amount}) is not a paid clearing of its pair and period withholding that reserve"
                ));
            }
        }
    }
}
