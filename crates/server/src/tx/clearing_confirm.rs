//! 3260 提取异地清分明细 / 3261 异地清分结果确认 / 3262 确认回退 (`clearing-and-budgets.md` §3): the
//! treating institution lists its inbound 省内异地 settlements of a month, confirms (`cnfm_flag` 1)
//! or excludes (0) them in batches of at most 100, and rolls a batch back by its `otransid` (the
//! 3261 message's `msgid`). Only confirmed settlements enter the month's clearing
//! (`yibao_ledger::clearing_confirm`); once the pair's clearing of the month stands a batch can no
//! longer be rolled back, and a new batch may only confirm rows its clearing did not count: they
//! enter the next cycle (the month of the confirmation), and the stored clearing never changes.
//! While the pair's clearings of the month are all rejected (70), its batches are in time again.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use yibao_clearing::Month;
use yibao_ledger::clearing_confirm::{self, ConfirmBatch, InboundRow};
use yibao_ledger::clearing_run::ClearingRunError;
use yibao_ledger::{LedgerError, LedgerView};
use yibao_wire::lenient;
use yibao_wire::render::Yuan;

use super::common::{self, node, parse};
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

/// Most rows answered by one 3260 or confirmed by one 3261.
pub const MAX_ROWS: usize = 100;

/// The month of `input.data` (`trt_year`, `trt_month`), read on its own so that a refusal names
/// the field (a flattened struct's would not).
fn month_of(data: &serde_json::Value) -> Result<Month, TxError> {
    parse::<MonthRequest>(data, "input.data")?.month()
}

#[derive(Deserialize)]
struct MonthRequest {
    #[serde(deserialize_with = "lenient::string")]
    trt_year: String,
    #[serde(deserialize_with = "lenient::string")]
    trt_month: String,
}

impl MonthRequest {
    /// The month named, each field checked.
    fn month(&self) -> Result<Month, TxError> {
        let year = self.trt_year.trim();
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TxError::new(
                "input.data.trt_year",
                format!("{} 不是四位年份", self.trt_year),
            ));
        }
        let month = self.trt_month.trim();
        let padded = match month.len() {
            1 => format!("0{month}"),
            _ => month.to_string(),
        };
        Month::parse(&format!("{year}-{padded}")).map_err(|_| {
            TxError::new(
                "input.data.trt_month",
                format!("{} 不是 1–12 的月份", self.trt_month),
            )
        })
    }
}

#[derive(Deserialize)]
struct ListRequest {
    /// The first row answered, from 1.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    startrow: Option<String>,
}

/// One 3260 row.
#[derive(Serialize)]
struct ListedRow<'r> {
    setl_sn: &'r str,
    mdtrt_id: &'r str,
    psn_no: &'r str,
    certno: &'r str,
    insutype: &'r str,
    insuplc_admdvs: &'r str,
    mdtrt_setl_time: &'r str,
    medfee_sumamt: Yuan,
    optins_pay_sumamt: Yuan,
    /// Directly settled rows are never 全额垫付.
    fulamt_advpay_flag: &'static str,
    /// `1` confirmed, `0` excluded, empty not confirmed.
    cnfm_flag: &'static str,
}

impl<'r> ListedRow<'r> {
    fn of(row: &'r InboundRow) -> ListedRow<'r> {
        ListedRow {
            setl_sn: &row.setl_id,
            mdtrt_id: &row.mdtrt_id,
            psn_no: &row.psn_no,
            certno: &row.certno,
            insutype: &row.insutype,
            insuplc_admdvs: &row.insu_admdvs,
            mdtrt_setl_time: &row.setl_time,
            medfee_sumamt: Yuan(row.medfee_sumamt),
            optins_pay_sumamt: Yuan(row.fund_pay_sumamt),
            fulamt_advpay_flag: "0",
            cnfm_flag: match row.cnfm_flag {
                Some(true) => "1",
                Some(false) => "0",
                None => "",
            },
        }
    }
}

fn run_error(error: ClearingRunError) -> TxError {
    match error {
        ClearingRunError::Ledger(e) => e.into(),
        other => TxError::internal(other.to_string()),
    }
}

fn conflict(field: &str, error: LedgerError) -> TxError {
    match error {
        LedgerError::Conflict(problem) => TxError::new(field, problem),
        other => other.into(),
    }
}

async fn inbound(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    month: Month,
) -> Result<Vec<InboundRow>, TxError> {
    clearing_confirm::inbound_rows(ledger.conn(), &ctx.request.fixmedins_code, month)
        .await
        .map_err(run_error)
}

/// 3260: the institution's inbound 省内异地 settlements of the month, at most [`MAX_ROWS`] from
/// `startrow`, with the total and each row's confirmation state.
pub async fn list(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let data = node(&ctx.request.input, "data")?;
    let month = month_of(data)?;
    let request: ListRequest = parse(data, "input.data")?;
    let start = match request.startrow.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| TxError::new("input.data.startrow", format!("{text} 不是正整数")))?,
    };
    let rows = inbound(ctx, ledger, month).await?;
    let page: Vec<ListedRow> = rows
        .iter()
        .skip(start - 1)
        .take(MAX_ROWS)
        .map(ListedRow::of)
        .collect();
    Ok(TxOutput::read(common::to_output(&serde_json::json!({
        "recordCounts": rows.len(),
        "startrow": start,
        "data": page,
    }))?))
}

#[derive(Deserialize)]
struct ConfirmRow {
    #[serde(deserialize_with = "lenient::string")]
    setl_sn: String,
    #[serde(deserialize_with = "lenient::string")]
    cnfm_flag: String,
}

#[derive(Deserialize)]
struct ConfirmRequest {
    detail: Vec<ConfirmRow>,
}

/// 3261: confirms (`cnfm_flag` 1) or excludes (0) rows 3260 lists, as one batch named by the
/// message's `msgid`; the same `msgid` again answers the stored batch.
pub async fn confirm(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let data = node(&ctx.request.input, "data")?;
    let month = month_of(data)?;
    let request: ConfirmRequest = parse(data, "input.data")?;
    if request.detail.is_empty() || request.detail.len() > MAX_ROWS {
        return Err(TxError::new(
            "input.data.detail",
            format!("须有 1 至 {MAX_ROWS} 条确认明细"),
        ));
    }
    let fixmedins_code = &ctx.request.fixmedins_code;
    if let Some(stored) =
        clearing_confirm::batch(ledger.conn(), fixmedins_code, &ctx.request.msgid).await?
    {
        return answer(&stored);
    }
    let listed: BTreeSet<String> = inbound(ctx, ledger, month)
        .await?
        .into_iter()
        .map(|r| r.setl_id)
        .collect();
    let mut rows = Vec::with_capacity(request.detail.len());
    let mut seen = BTreeSet::new();
    for (index, row) in request.detail.iter().enumerate() {
        let field = |name: &str| format!("input.data.detail[{index}].{name}");
        if !listed.contains(&row.setl_sn) {
            return Err(TxError::new(
                field("setl_sn"),
                format!("{} 不是本机构 {month} 的异地清分明细", row.setl_sn),
            ));
        }
        if !seen.insert(row.setl_sn.as_str()) {
            return Err(TxError::new(
                field("setl_sn"),
                format!("{} 在本批次中重复", row.setl_sn),
            ));
        }
        let included = match row.cnfm_flag.trim() {
            "1" => true,
            "0" => false,
            other => {
                return Err(TxError::new(
                    field("cnfm_flag"),
                    format!("{other} 应为 1（确认）或 0（不确认）"),
                ))
            }
        };
        rows.push((row.setl_sn.clone(), included));
    }
    let batch = ConfirmBatch {
        fixmedins_code: fixmedins_code.clone(),
        msgid: ctx.request.msgid.clone(),
        month,
        rows,
        rolled_back_at: String::new(),
        late_cycle: None,
    };
    let stored = clearing_confirm::confirm(ledger.conn(), &batch, &wire_time(ctx.now))
        .await
        .map_err(|e| conflict("input.data.detail", e))?;
    answer(&stored)
}

fn answer(batch: &ConfirmBatch) -> Result<TxOutput, TxError> {
    let confirmed = batch.rows.iter().filter(|(_, included)| *included).count();
    Ok(TxOutput::read(common::to_output(&serde_json::json!({
        "otransid": batch.msgid,
        "trt_year": batch.month.year,
        "trt_month": batch.month.month,
        "cnfm_cnt": confirmed,
        "uncnfm_cnt": batch.rows.len() - confirmed,
    }))?))
}

#[derive(Deserialize)]
struct RollbackRequest {
    #[serde(deserialize_with = "lenient::string")]
    otransid: String,
}

/// 3262: rolls back the institution's 3261 batch `otransid` of the month.
pub async fn roll_back(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    const FIELD: &str = "input.data.otransid";
    let data = node(&ctx.request.input, "data")?;
    let month = month_of(data)?;
    let request: RollbackRequest = parse(data, "input.data")?;
    let fixmedins_code = &ctx.request.fixmedins_code;
    let stored = clearing_confirm::batch(ledger.conn(), fixmedins_code, &request.otransid)
        .await?
        .filter(|b| b.month == month)
        .ok_or_else(|| {
            TxError::new(
                FIELD,
                format!("本机构 {month} 没有确认批次 {}", request.otransid),
            )
        })?;
    clearing_confirm::roll_back(
        ledger.conn(),
        fixmedins_code,
        &stored.msgid,
        &wire_time(ctx.now),
    )
    .await
    .map_err(|e| conflict(FIELD, e))?;
    Ok(TxOutput::read(common::empty_output()?))
}
