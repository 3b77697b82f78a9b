//! The counter's register of 零星报销 (`GET /admin/reimbursements`, `GET
//! /admin/reimbursements/{setl_id}`): reimbursements and their cancellations as the ledger holds
//! them — of a person, of a period — with whether each was cancelled, and a stored receipt again.
//! Read-only, on a pooled connection; amounts are yuan with two decimals.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yibao_ledger::entries::{self, EntryFilter, EntrySummary};
use yibao_ledger::{EntryKind, LedgerError};
use yibao_wire::render::SetlinfoAmounts;

use super::reimburse::COUNTER_CODE;
use super::{refuse, AdminQuery, AdminRefusal, GuardRefusal};

/// Entries listed when the query names no `limit`.
const LIMIT_DEFAULT: u32 = 100;
/// The most entries one page lists.
const LIMIT_MAX: u32 = 1000;
/// The furthest a page may start (page by dates beyond it).
const OFFSET_MAX: u32 = 100_000;
/// Longest `psn_no` / `setl_id` accepted.
const ID_MAX: usize = 30;

/// Which reimbursements to list, in ledger order.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReimbursementQuery {
    /// One person's reimbursements.
    pub psn_no: Option<String>,
    /// Settled on or after this day (`yyyy-MM-dd`).
    pub from: Option<String>,
    /// Settled on or before this day (`yyyy-MM-dd`).
    pub to: Option<String>,
    /// At most this many entries (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Skip this many entries first (at most 100,000).
    pub offset: Option<u32>,
}

/// One reimbursement, or the cancellation of one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReimbursementEntry {
    pub setl_id: String,
    /// `settle` (a reimbursement) or `cancel` (its cancellation).
    pub kind: &'static str,
    /// The reimbursement a cancellation cancels; empty on a reimbursement.
    pub orig_setl_id: String,
    /// The cancellation of a reimbursement, if it was cancelled.
    pub cancelled_by: Option<String>,
    pub psn_no: String,
    pub insutype: String,
    /// The invoice number (a cancellation: empty).
    pub invono: String,
    pub med_type: String,
    pub setl_time: String,
    /// The insured pooling region whose fund paid.
    pub insuplc_admdvs: String,
    /// The national `setlinfo` amounts.
    #[schema(value_type = Object)]
    pub setlinfo: SetlinfoAmounts,
}

/// A page of the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReimbursementList {
    pub ok: bool,
    pub entries: Vec<ReimbursementEntry>,
    /// The `offset` of the next page, when this one was full.
    pub next_offset: Option<u32>,
}

/// List reimbursements
///
/// 零星报销 entries in ledger order: of a person and/or a period of settlement days, with the
/// cancellation of each that was cancelled.
#[utoipa::path(get, path = "/admin/reimbursements", tag = "admin",
    security(("admin_token" = [])),
    params(ReimbursementQuery),
    responses(
        (status = 200, description = "A page of reimbursements", body = ReimbursementList),
        (status = 400, description = "A parameter is wrong (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_reimbursements(
    State(service): State<crate::service::Service>,
    AdminQuery(query): AdminQuery<ReimbursementQuery>,
) -> Response {
    let filter = match filter_of(&query) {
        Ok(filter) => filter,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let listed = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        let summaries = entries::entries(&mut conn, &filter).await?;
        let ids: Vec<String> = summaries
            .iter()
            .filter(|s| s.header.kind == EntryKind::Settle)
            .map(|s| s.header.setl_id.clone())
            .collect();
        let mirrors = entries::mirrors_of(&mut conn, &ids).await?;
        Ok::<_, LedgerError>((summaries, mirrors))
    }
    .await;
    let (summaries, mut mirrors) = match listed {
        Ok(listed) => listed,
        Err(error) => return refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    };
    let limit = filter.limit.unwrap_or(LIMIT_DEFAULT);
    let offset = filter.offset.unwrap_or(0);
    let next_offset = (summaries.len() == limit as usize).then(|| offset.saturating_add(limit));
    let entries = summaries
        .into_iter()
        .map(|s| {
            let cancelled_by = mirrors.remove(&s.header.setl_id);
            entry_of(s, cancelled_by)
        })
        .collect();
    Json(ReimbursementList {
        ok: true,
        entries,
        next_offset,
    })
    .into_response()
}

/// Show a receipt
///
/// The stored receipt of a reimbursement or of its cancellation, as the counter printed it.
#[utoipa::path(get, path = "/admin/reimbursements/{setl_id}", tag = "admin",
    security(("admin_token" = [])),
    params(("setl_id" = String, Path, description = "The reimbursement's or cancellation's settlement id")),
    responses(
        (status = 200, description = "The receipt", body = super::reimburse::Receipt),
        (status = 400, description = "Not a settlement id", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No reimbursement with this id", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn show_reimbursement(
    State(service): State<crate::service::Service>,
    Path(setl_id): Path<String>,
) -> Response {
    if setl_id.is_empty() || setl_id.len() > ID_MAX || !setl_id.bytes().all(|b| b.is_ascii_digit())
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("参数 setl_id 有误：{setl_id} 不是结算ID（不超过 {ID_MAX} 位数字）"),
        );
    }
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        let filter = EntryFilter {
            setl_id: Some(setl_id.clone()),
            fixmedins_code: Some(COUNTER_CODE.to_string()),
            ..EntryFilter::default()
        };
        let Some(entry) = entries::entries(&mut conn, &filter).await?.pop() else {
            return Ok(None);
        };
        entries::stored_message(&mut conn, COUNTER_CODE, &entry.header.msgid).await
    }
    .await;
    match found {
        Ok(Some(message)) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            message.reply,
        )
            .into_response(),
        Ok(None) => refuse(
            StatusCode::NOT_FOUND,
            format!("没有结算ID为 {setl_id} 的零星报销"),
        ),
        Err(error) => refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// The ledger filter of a query, every parameter checked.
fn filter_of(query: &ReimbursementQuery) -> Result<EntryFilter, String> {
    let limit = query.limit.unwrap_or(LIMIT_DEFAULT);
    if limit == 0 || limit > LIMIT_MAX {
        return Err(format!(
            "参数 limit 有误：{limit} 不在 1 至 {LIMIT_MAX} 之间"
        ));
    }
    let offset = query.offset.unwrap_or(0);
    if offset > OFFSET_MAX {
        return Err(format!(
            "参数 offset 有误：{offset} 超过 {OFFSET_MAX}，请按日期缩小范围"
        ));
    }
    if let Some(psn_no) = &query.psn_no {
        if psn_no.is_empty() || psn_no.chars().count() > ID_MAX || psn_no.contains(char::is_control)
        {
            return Err(format!(
                "参数 psn_no 有误：须为 1 至 {ID_MAX} 个字符，不含控制字符"
            ));
        }
    }
    let from = query.from.as_deref().map(|d| day("from", d)).transpose()?;
    let to = query.to.as_deref().map(|d| day("to", d)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(format!("参数 from 有误：{from} 晚于 to {to}"));
        }
    }
    Ok(EntryFilter {
        fixmedins_code: Some(COUNTER_CODE.to_string()),
        psn_no: query.psn_no.clone(),
        setl_time_from: from.map(|d| format!("{d} 00:00:00")),
        setl_time_to: to.map(|d| format!("{d} 23:59:59")),
        limit: Some(limit),
        offset: Some(offset),
        ..EntryFilter::default()
    })
}

/// A day parameter (`yyyy-MM-dd`, years 1900–9999).
fn day(field: &str, text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=9999).contains(&chrono::Datelike::year(d)) && text.len() == 10)
        .ok_or_else(|| format!("参数 {field} 有误：{text} 不是 yyyy-MM-dd 格式的日期"))
}

/// A ledger entry of the counter as a register row.
fn entry_of(summary: EntrySummary, cancelled_by: Option<String>) -> ReimbursementEntry {
    let header = summary.header;
    let invono = match header.kind {
        EntryKind::Settle => header
            .msgid
            .split_once('|')
            .map(|(_, invono)| invono.to_string())
            .unwrap_or_default(),
        EntryKind::Cancel => String::new(),
    };
    let setl_time_text = header.setl_time_text();
    ReimbursementEntry {
        kind: match header.kind {
            EntryKind::Settle => "settle",
            EntryKind::Cancel => "cancel",
        },
        setl_id: header.setl_id,
        orig_setl_id: header.orig_setl_id.unwrap_or_default(),
        cancelled_by,
        psn_no: header.psn_no,
        insutype: header.insutype.to_string(),
        invono,
        med_type: header.med_type.to_string(),
        setl_time: setl_time_text,
        insuplc_admdvs: header.clr_optins.to_string(),
        setlinfo: SetlinfoAmounts {
            amounts: summary.amounts,
            balc: header.balc,
        },
    }
}
