//! Cross-region clearing in storage (`migrations/0018_clearing.sql`): the month's cross-region
//! settlements read from the ledger, the review deductions entered for a month, the prepayment
//! history of each pair, and the stored clearing rows with their state changes. A rejected
//! clearing applied again is a new row of the same month and pair (`resubmits`,
//! `migrations/0028_clearing_resubmit_reserve.sql`): a pair's *standing* clearing of a month is
//! its one row not rejected.
//!
//! A settlement is cross-region when the treating region differs from the insured region
//! (`clr_optins`): the treating region is the place of treatment recorded with the entry
//! (`mdtrtarea_admvs`, `migrations/0019_clearing_confirmations.sql`: the institution's `admdvs`, or
//! — for a settlement made through the API between platforms at a hospital this platform does not
//! register — the pooling region the treating platform names, `docs/peers.md`); for an entry
//! written before it, the institution's `admdvs`. Fund payments are the
//! `fund` rows of `settlement_funds` (negated in cancellations), so a row's `fund_owed` is the sum
//! of its settlements' `fund_pay_sumamt`.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use yibao_clearing::{
    Care, ClearingRow, ClearingState, Confirmation, FundPayment, Month, PairKey, PoolingRegions,
    PrepaymentHistory, ReviewDeductions, SettlementRow, SettlementSums,
};
use yibao_domain::{Code, Fen};
use yibao_settlement::Payer;

use crate::clearing_run::TREATING_ADMDVS;
use crate::columns::corrupt;
use crate::{LedgerError, Store};

/// A stored clearing row and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredClearing {
    /// `yyyyMM-insured-treating-insutype`, with `-<n>` for the n-th application of a month and
    /// pair ([`application_id`]).
    pub clr_id: String,
    pub state: ClearingState,
    pub row: ClearingRow,
    pub run_at: String,
    pub updated_at: String,
    /// The rejected clearing this one applies again; `None` for the month's first application.
    pub resubmits: Option<String>,
    /// The reserve release that paid out this clearing's reserve withheld (40), once one has.
    pub reserve_released_by: Option<String>,
}

/// The id of a month's (first) clearing of a pair.
pub fn clearing_id(month: Month, key: &PairKey) -> String {
    format!(
        "{:04}{:02}-{}-{}-{}",
        month.year, month.month, key.insured_admdvs, key.treating_admdvs, key.insutype
    )
}

/// The id of the `n`-th application (1: the first) of a month's clearing of a pair.
pub fn application_id(month: Month, key: &PairKey, n: u32) -> String {
    let first = clearing_id(month, key);
    if n <= 1 {
        first
    } else {
        format!("{first}-{n}")
    }
}

fn stored_code(
    row: &AnyRow,
    table: &'static str,
    column: &'static str,
) -> Result<Code, LedgerError> {
    crate::columns::code(row, table, column)
}

fn month_of_time(table: &'static str, text: &str) -> Result<Month, LedgerError> {
    text.get(..7)
        .and_then(|m| Month::parse(m).ok())
        .ok_or_else(|| corrupt(table, "setl_time", text))
}

/// The settlements and cancellations made in `month` whose place of treatment (see the module)
/// is not the insured region's code, manual reimbursements left out ([`crate::MANUAL_CLAIM_FIXMEDINS_CODE`]),
/// in ledger order, each with the treating institution's confirmation of it (of the settlement a
/// cancellation cancels; `Unconfirmed` when none); the caller maps `admdvs` codes to pooling
/// regions, keeps the cross-region ones and keeps the confirmation only where it is needed.
///
/// Then the entries of earlier months carried into `month` by a late confirmation (a 3261 made after
/// their month was cleared, [`crate::clearing_confirm`]): each confirmed settlement of a late batch
/// whose cycle is `month`, and the entries of its chain, made before `month`.
pub async fn month_settlements(
    conn: &mut AnyConnection,
    month: Month,
) -> Result<Vec<SettlementRow>, LedgerError> {
    let mut out = entries(conn, "", "substr(s.setl_time, 1, 7) = $1", month).await?;
    let states = crate::clearing_confirm::month_states(conn, month).await?;
    let roots = crate::clearing_confirm::month_roots(conn, month).await?;
    for row in &mut out {
        let root = roots.get(&row.setl_id).unwrap_or(&row.setl_id);
        let state = states.get(root).copied().unwrap_or_default();
        row.confirmation = state.confirmation();
        row.late_cycle = state.late_cycle.filter(|_| state.in_time != Some(true));
    }
    let late = format!(
        "WITH RECURSIVE late (setl_id) AS ({} \
         UNION ALL SELECT e.setl_id FROM settlements e JOIN late ON e.orig_setl_id = late.setl_id) ",
        crate::clearing_confirm::LATE_ROOTS_OF_CYCLE
    );
    let carried = entries(
        conn,
        &late,
        "s.setl_id IN (SELECT setl_id FROM late) AND substr(s.setl_time, 1, 7) < $1",
        month,
    )
    .await?;
    out.extend(carried.into_iter().map(|row| SettlementRow {
        confirmation: Confirmation::Confirmed,
        late_cycle: Some(month),
        ..row
    }));
    Ok(out)
}

/// The cross-region entries `filter` selects (after the common table expressions `with`; `$1` is
/// `month`), with their fund payments, not yet marked with a confirmation (`Unconfirmed`).
async fn entries(
    conn: &mut AnyConnection,
    with: &str,
    filter: &str,
    month: Month,
) -> Result<Vec<SettlementRow>, LedgerError> {
    let rows = sqlx::query(&format!(
        "{with}SELECT s.setl_id, s.kind, s.insutype, s.fixmedins_code, s.setl_time, s.clr_optins, s.medfee_sumamt, \
         {TREATING_ADMDVS}, COALESCE(o.setl_time, '') AS orig_time \
         FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code \
         LEFT JOIN settlements o ON o.setl_id = s.orig_setl_id \
         WHERE {filter} AND s.fixmedins_code <> $2 ORDER BY s.seq"
    ))
    .bind(month.to_string())
    .bind(crate::MANUAL_CLAIM_FIXMEDINS_CODE)
    .fetch_all(&mut *conn)
    .await?;
    let mut funds = entry_funds(conn, with, filter, month).await?;
    let mut out = Vec::new();
    for row in &rows {
        let insured = stored_code(row, "settlements", "clr_optins")?;
        let treating = stored_code(row, "institutions", "trt_admdvs")?;
        if insured.is_empty() || treating.is_empty() || insured == treating {
            continue;
        }
        let setl_id: String = row.try_get("setl_id")?;
        let kind: String = row.try_get("kind")?;
        let cancels = match kind.as_str() {
            "settle" => None,
            "cancel" => Some(month_of_time(
                "settlements",
                &row.try_get::<String, _>("orig_time")?,
            )?),
            _ => return Err(corrupt("settlements", "kind", &kind)),
        };
        out.push(SettlementRow {
            fund_payments: funds.remove(&setl_id).unwrap_or_default(),
            setl_id,
            key: PairKey {
                insured_admdvs: insured,
                treating_admdvs: treating,
                insutype: stored_code(row, "settlements", "insutype")?,
            },
            fixmedins_code: row.try_get("fixmedins_code")?,
            made_in: month_of_time("settlements", &row.try_get::<String, _>("setl_time")?)?,
            cancels,
            medfee_sumamt: Fen(row.try_get("medfee_sumamt")?),
            confirmation: Confirmation::Unconfirmed,
            late_cycle: None,
        });
    }
    Ok(out)
}

/// Settlements and cancellations made from month `from` to month `to` (by `setl_time`), summed per
/// insured place, place of treatment (see the module), scheme and care (`med_type` 2x or 52:
/// inpatient) in one grouped read; manual reimbursements left out. A cancellation counts −1, an
/// interim settlement of a stay (and its cancellation) 0.
pub async fn settlement_sums(
    conn: &mut AnyConnection,
    from: Month,
    to: Month,
) -> Result<Vec<SettlementSums>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT s.clr_optins AS insu_admdvs, {TREATING_ADMDVS}, \
         s.insutype AS insutype, \
         CASE WHEN substr(s.med_type, 1, 1) = '2' OR s.med_type = '52' THEN 'inpatient' ELSE 'outpatient' END AS care, \
         CAST(SUM(CASE WHEN s.mid_setl_flag = '1' THEN 0 WHEN s.kind = 'settle' THEN 1 ELSE -1 END) AS BIGINT) AS n, \
         CAST(SUM(s.medfee_sumamt) AS BIGINT) AS total_cost, CAST(SUM(s.fund_pay_sumamt) AS BIGINT) AS fund_paid \
         FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code \
         WHERE substr(s.setl_time, 1, 7) >= $1 AND substr(s.setl_time, 1, 7) <= $2 AND s.fixmedins_code <> $3 \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(crate::MANUAL_CLAIM_FIXMEDINS_CODE)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::new();
    for row in &rows {
        let insured = stored_code(row, "settlements", "insu_admdvs")?;
        let treating = stored_code(row, "settlements", "trt_admdvs")?;
        if insured.is_empty() || treating.is_empty() {
            continue;
        }
        let care: String = row.try_get("care")?;
        out.push(SettlementSums {
            insured_admdvs: insured,
            treating_admdvs: treating,
            insutype: stored_code(row, "settlements", "insutype")?,
            care: if care == "inpatient" {
                Care::Inpatient
            } else {
                Care::Outpatient
            },
            count: row.try_get("n")?,
            total_cost: Fen(row.try_get("total_cost")?),
            fund_paid: Fen(row.try_get("fund_paid")?),
        });
    }
    Ok(out)
}

/// The fund payments of the entries [`entries`] reads, by entry.
async fn entry_funds(
    conn: &mut AnyConnection,
    with: &str,
    filter: &str,
    month: Month,
) -> Result<BTreeMap<String, Vec<FundPayment>>, LedgerError> {
    let rows = sqlx::query(&format!(
        "{with}SELECT f.setl_id, f.fund_pay_type, f.fund_payamt FROM settlement_funds f \
         JOIN settlements s ON s.setl_id = f.setl_id \
         WHERE {filter} AND f.payer_class = $2 ORDER BY f.setl_id, f.row_no"
    ))
    .bind(month.to_string())
    .bind(Payer::Fund.code())
    .fetch_all(conn)
    .await?;
    let mut out: BTreeMap<String, Vec<FundPayment>> = BTreeMap::new();
    for row in &rows {
        out.entry(row.try_get("setl_id")?)
            .or_default()
            .push(FundPayment {
                fund_pay_type: stored_code(row, "settlement_funds", "fund_pay_type")?,
                amount: Fen(row.try_get("fund_payamt")?),
            });
    }
    Ok(out)
}

fn pair_of(row: &AnyRow, table: &'static str) -> Result<PairKey, LedgerError> {
    Ok(PairKey {
        insured_admdvs: stored_code(row, table, "insu_admdvs")?,
        treating_admdvs: stored_code(row, table, "trt_admdvs")?,
        insutype: stored_code(row, table, "insutype")?,
    })
}

/// A review deduction entered for a month's clearing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDeduction {
    pub deduction_id: String,
    pub month: Month,
    pub key: PairKey,
    /// `true` for 20 稽核扣款 (inspection), `false` for 10 审核扣款 (audit).
    pub inspection: bool,
    pub amount: Fen,
    pub reason: String,
}

/// Stores review deductions in one transaction; refused (nothing stored) when an amount is not
/// positive or the month is already run — unless the pair's clearings of the month were all
/// rejected (70): the deduction is then taken by the pair's next application of the month
/// ([`crate::clearing_run::resubmit`]). An id already stored is kept as it was.
pub async fn add_deductions(
    store: &Store,
    deductions: &[ReviewDeduction],
    created_at: &str,
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for d in deductions {
        if d.amount <= Fen(0) {
            return Err(LedgerError::Conflict(format!(
                "扣款 {}: 金额 amount 应大于 0（{}）",
                d.deduction_id, d.amount
            )));
        }
        let month_rows = stored_rows(&mut tx, Some(d.month)).await?;
        let pair_rows: Vec<&StoredClearing> =
            month_rows.iter().filter(|s| s.row.key == d.key).collect();
        let awaits_resubmission =
            !pair_rows.is_empty() && pair_rows.iter().all(|s| s.state == ClearingState::Rejected);
        if !month_rows.is_empty() && !awaits_resubmission {
            return Err(LedgerError::Conflict(format!(
                "扣款 {}: {} 已清算，扣款只能计入未运行的月份或已拒绝（70）待重新申请的清算",
                d.deduction_id, d.month
            )));
        }
        sqlx::query(
            "INSERT INTO clearing_deductions (deduction_id, month, insu_admdvs, trt_admdvs, insutype, kind, amount, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (deduction_id) DO NOTHING",
        )
        .bind(d.deduction_id.clone())
        .bind(d.month.to_string())
        .bind(d.key.insured_admdvs.to_string())
        .bind(d.key.treating_admdvs.to_string())
        .bind(d.key.insutype.to_string())
        .bind(if d.inspection { "20" } else { "10" })
        .bind(d.amount.0)
        .bind(d.reason.clone())
        .bind(created_at.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The review deductions entered for `month`, by pair.
pub async fn month_deductions(
    conn: &mut AnyConnection,
    month: Month,
) -> Result<BTreeMap<PairKey, ReviewDeductions>, LedgerError> {
    let rows = sqlx::query(
        "SELECT insu_admdvs, trt_admdvs, insutype, kind, CAST(SUM(amount) AS BIGINT) AS amount \
         FROM clearing_deductions WHERE month = $1 GROUP BY insu_admdvs, trt_admdvs, insutype, kind",
    )
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    let mut out: BTreeMap<PairKey, ReviewDeductions> = BTreeMap::new();
    for row in &rows {
        let entry = out.entry(pair_of(row, "clearing_deductions")?).or_default();
        let amount = Fen(row.try_get("amount")?);
        let kind: String = row.try_get("kind")?;
        match kind.as_str() {
            "10" => entry.audit += amount,
            "20" => entry.inspection += amount,
            _ => return Err(corrupt("clearing_deductions", "kind", &kind)),
        }
    }
    Ok(out)
}

/// Each pair's prepayment before `month`: the balance after its last stored month before it, and
/// the fund payments owed over the `basis_months` before it, both of its clearings not rejected (a
/// rejection undoes a row's prepayment offset and top-up in the books, so the balance is the one
/// before it; its resubmission, when there is one, counts instead).
pub async fn prepayment_histories(
    conn: &mut AnyConnection,
    month: Month,
    basis_months: u32,
) -> Result<BTreeMap<PairKey, PrepaymentHistory>, LedgerError> {
    let rows = sqlx::query(
        "SELECT insu_admdvs, trt_admdvs, insutype, month, fund_owed, prepayment_balc FROM clearing_rows \
         WHERE month < $1 AND state <> $2 ORDER BY month",
    )
    .bind(month.to_string())
    .bind(ClearingState::Rejected.code())
    .fetch_all(conn)
    .await?;
    let basis_from = month.minus(basis_months).to_string();
    let mut out: BTreeMap<PairKey, PrepaymentHistory> = BTreeMap::new();
    for row in &rows {
        let entry = out.entry(pair_of(row, "clearing_rows")?).or_default();
        entry.balance = Fen(row.try_get("prepayment_balc")?);
        let stored_month: String = row.try_get("month")?;
        if stored_month >= basis_from {
            entry.basis_fund_owed += Fen(row.try_get("fund_owed")?);
        }
    }
    Ok(out)
}

/// The columns [`stored_of`] reads, from [`ROWS_FROM`].
const ROW_COLUMNS: &str = "c.clr_id, c.state, c.detail, c.run_at, c.updated_at, c.resubmits, \
     COALESCE(r.release_id, '') AS released_by";

/// The clearing rows with the release of their reserve, if any.
const ROWS_FROM: &str =
    "clearing_rows c LEFT JOIN clearing_reserve_released r ON r.clr_id = c.clr_id";

fn stored_of(row: &AnyRow) -> Result<StoredClearing, LedgerError> {
    let state: String = row.try_get("state")?;
    let detail: String = row.try_get("detail")?;
    let resubmits: String = row.try_get("resubmits")?;
    let released_by: String = row.try_get("released_by")?;
    Ok(StoredClearing {
        clr_id: row.try_get("clr_id")?,
        state: ClearingState::parse(&state)
            .ok_or_else(|| corrupt("clearing_rows", "state", &state))?,
        row: serde_json::from_str(&detail)
            .map_err(|e| corrupt("clearing_rows", "detail", &e.to_string()))?,
        run_at: row.try_get("run_at")?,
        updated_at: row.try_get("updated_at")?,
        resubmits: (!resubmits.is_empty()).then_some(resubmits),
        reserve_released_by: (!released_by.is_empty()).then_some(released_by),
    })
}

/// One stored clearing by id.
pub async fn stored_row(
    conn: &mut AnyConnection,
    clr_id: &str,
) -> Result<Option<StoredClearing>, LedgerError> {
    sqlx::query(&format!(
        "SELECT {ROW_COLUMNS} FROM {ROWS_FROM} WHERE c.clr_id = $1"
    ))
    .bind(clr_id.to_string())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(stored_of)
    .transpose()
}

/// The stored clearing rows of `month` (every month when `None`), by month and id.
pub async fn stored_rows(
    conn: &mut AnyConnection,
    month: Option<Month>,
) -> Result<Vec<StoredClearing>, LedgerError> {
    let rows = match month {
        Some(month) => {
            sqlx::query(&format!(
                "SELECT {ROW_COLUMNS} FROM {ROWS_FROM} WHERE c.month = $1 ORDER BY c.clr_id"
            ))
            .bind(month.to_string())
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {ROW_COLUMNS} FROM {ROWS_FROM} ORDER BY c.month, c.clr_id"
            ))
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter().map(stored_of).collect()
}

/// Stores a month's computed rows in state 10, each with its book postings
/// ([`crate::clearing_books`], the sides `regions` knows), in one transaction; a row already stored
/// keeps what it holds and posts nothing (so a run repeated stores nothing twice).
pub async fn store_rows(
    store: &Store,
    rows: &[ClearingRow],
    regions: &PoolingRegions,
    run_at: &str,
) -> Result<(), LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for row in rows {
        let clr_id = clearing_id(row.month, &row.key);
        insert_row(&mut tx, &clr_id, row, "", regions, run_at).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts one clearing row in state 10 under `clr_id` (replacing the rejected clearing
/// `resubmits`, empty for none) with its book postings; returns whether it was inserted (a row
/// already stored under the id keeps what it holds and posts nothing).
pub(crate) async fn insert_row(
    conn: &mut AnyConnection,
    clr_id: &str,
    row: &ClearingRow,
    resubmits: &str,
    regions: &PoolingRegions,
    run_at: &str,
) -> Result<bool, LedgerError> {
    let detail = serde_json::to_string(row)
        .map_err(|e| corrupt("clearing_rows", "detail", &e.to_string()))?;
    let inserted = sqlx::query(
        "INSERT INTO clearing_rows (clr_id, month, insu_admdvs, trt_admdvs, insutype, state, fund_owed, deductions, \
         cleared, prepayment_balc, detail, run_at, updated_at, resubmits) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) ON CONFLICT (clr_id) DO NOTHING",
    )
    .bind(clr_id.to_string())
    .bind(row.month.to_string())
    .bind(row.key.insured_admdvs.to_string())
    .bind(row.key.treating_admdvs.to_string())
    .bind(row.key.insutype.to_string())
    .bind(ClearingState::Applied.code())
    .bind(row.fund_owed.0)
    .bind(row.deductions.total().0)
    .bind(row.cleared.0)
    .bind(row.prepayment.balance_after.0)
    .bind(detail)
    .bind(run_at.to_string())
    .bind(resubmits.to_string())
    .execute(&mut *conn)
    .await?;
    let postings = crate::clearing_books::rows_of(row, regions)?;
    let inserted = inserted.rows_affected() == 1;
    if inserted && !postings.is_empty() {
        let batch = crate::clearing_books::batch_of(clr_id);
        crate::books::insert_rows(conn, &batch, &postings).await?;
    }
    Ok(inserted)
}

/// Moves a clearing row to `to`, recording the change and, for 60 paid or 70 rejected, posting
/// the move's book batch ([`crate::clearing_books::transition_rows_of`]) in the same transaction;
/// refused (nothing changed) when the row is unknown, the state machine does not allow it, or a
/// move that posts has no date (`changed_at` starting `yyyy-MM-dd`).
pub async fn advance(
    store: &Store,
    clr_id: &str,
    to: ClearingState,
    operator: &str,
    changed_at: &str,
) -> Result<StoredClearing, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let mut stored = stored_row(&mut tx, clr_id)
        .await?
        .ok_or_else(|| LedgerError::Conflict(format!("清算 {clr_id} 不存在")))?;
    let from = stored.state;
    from.advance(to)
        .map_err(|e| LedgerError::Conflict(format!("清算 {clr_id}: {e}")))?;
    let updated = sqlx::query(
        "UPDATE clearing_rows SET state = $1, updated_at = $2 WHERE clr_id = $3 AND state = $4",
    )
    .bind(to.code())
    .bind(changed_at.to_string())
    .bind(clr_id.to_string())
    .bind(from.code())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(LedgerError::Conflict(format!(
            "清算 {clr_id} 的状态已被同时修改"
        )));
    }
    sqlx::query(
        "INSERT INTO clearing_transitions (clr_id, seq, from_state, to_state, operator, changed_at) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM clearing_transitions WHERE clr_id = $1",
    )
    .bind(clr_id.to_string())
    .bind(from.code())
    .bind(to.code())
    .bind(operator.to_string())
    .bind(changed_at.to_string())
    .execute(&mut *tx)
    .await?;
    post_move(&mut tx, &stored, to, changed_at).await?;
    tx.commit().await?;
    stored.state = to;
    stored.updated_at = changed_at.to_string();
    Ok(stored)
}

/// Posts the book batch of a clearing's move to `to`, once (a batch already there is kept).
async fn post_move(
    conn: &mut AnyConnection,
    stored: &StoredClearing,
    to: ClearingState,
    changed_at: &str,
) -> Result<(), LedgerError> {
    use crate::clearing_books::{day_of, transition_batch_of, transition_rows_of};
    let Some(batch) = transition_batch_of(&stored.clr_id, to) else {
        return Ok(());
    };
    if stored.row.fund_shares.is_none() {
        return Ok(());
    }
    let day = day_of(changed_at).ok_or_else(|| {
        LedgerError::Conflict(format!(
            "清算 {}: 变更时间 `{changed_at}` 应以 yyyy-MM-dd 开头（记账日期）",
            stored.clr_id
        ))
    })?;
    let regions = crate::clearing_run::stored_pooling_regions(conn).await?;
    let rows = transition_rows_of(&stored.row, &regions, to, &day)?;
    let present = sqlx::query("SELECT COUNT(*) AS n FROM book_postings WHERE batch = $1")
        .bind(batch.clone())
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?
        > 0;
    if !present && !rows.is_empty() {
        crate::books::insert_rows(conn, &batch, &rows).await?;
    }
    Ok(())
}

/// Problems of the stored clearing rows: the amounts repeated in columns must be those of the
/// computed row, and `cleared = fund_owed − deductions`; each row's id is its month's and pair's
/// application id, a resubmission replacing a rejected clearing of the same month and pair, and
/// a pair has at most one standing clearing of a month.
pub async fn check(conn: &mut AnyConnection) -> Result<Vec<String>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {ROW_COLUMNS}, c.fund_owed, c.deductions, c.cleared, c.prepayment_balc FROM {ROWS_FROM}"
    ))
    .fetch_all(conn)
    .await?;
    let all: Vec<StoredClearing> = rows.iter().map(stored_of).collect::<Result<_, _>>()?;
    let by_id: BTreeMap<&str, &StoredClearing> =
        all.iter().map(|s| (s.clr_id.as_str(), s)).collect();
    let mut standing: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (row, stored) in rows.iter().zip(&all) {
        if stored.state != ClearingState::Rejected {
            standing
                .entry(clearing_id(stored.row.month, &stored.row.key))
                .or_default()
                .push(&stored.clr_id);
        }
        problems.extend(application_problems(stored, &by_id));
        let r = &stored.row;
        let columns = [
            Fen(row.try_get("fund_owed")?),
            Fen(row.try_get("deductions")?),
            Fen(row.try_get("cleared")?),
            Fen(row.try_get("prepayment_balc")?),
        ];
        let computed = [
            r.fund_owed,
            r.deductions.total(),
            r.cleared,
            r.prepayment.balance_after,
        ];
        if columns != computed || r.cleared != r.fund_owed - r.deductions.total() {
            problems.push(format!(
                "clearing {}: stored amounts {columns:?} differ from its row {computed:?} or cleared ≠ fund_owed − deductions",
                stored.clr_id
            ));
        }
    }
    for (first, ids) in standing {
        if ids.len() > 1 {
            problems.push(format!(
                "clearing {first}: {} applications standing at once ({})",
                ids.len(),
                ids.join(", ")
            ));
        }
    }
    Ok(problems)
}

/// A clearing's id must be its month's and pair's: the first application's, or — replacing a
/// rejected clearing of the same month and pair — a later one's.
fn application_problems(
    stored: &StoredClearing,
    by_id: &BTreeMap<&str, &StoredClearing>,
) -> Vec<String> {
    let r = &stored.row;
    let first = clearing_id(r.month, &r.key);
    let Some(replaced) = &stored.resubmits else {
        return if stored.clr_id == first {
            Vec::new()
        } else {
            vec![format!(
                "clearing {}: its row is of another month or pair",
                stored.clr_id
            )]
        };
    };
    let numbered = stored
        .clr_id
        .strip_prefix(&format!("{first}-"))
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 2));
    let replaces = by_id.get(replaced.as_str()).is_some_and(|old| {
        old.state == ClearingState::Rejected && old.row.month == r.month && old.row.key == r.key
    });
    let mut problems = Vec::new();
    if !numbered {
        problems.push(format!(
            "clearing {}: its row is of another month or pair",
            stored.clr_id
        ));
    }
    if !replaces {
        problems.push(format!(
            "clearing {}: resubmits {replaced}, which is not a rejected clearing of its month and pair",
            stored.clr_id
        ));
    }
    problems
}
