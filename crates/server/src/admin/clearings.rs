//! Cross-region clearing over the admin API (issue 11 §4): the stored clearings with their states
//! and the reserve releases (`GET /admin/clearings`), a clearing moved to its next state, a
//! rejected clearing applied again as a new application, and the reserve withheld of a pair ×
//! scheme × period released. The rules are `yibao-clearing`'s and the storage
//! `yibao_ledger::clearing`'s, as for `yibao clearing`; amounts are yuan text with two decimals.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yibao_clearing::{ClearingPolicy, ClearingState, Month, PairKey, ReservePeriod};
use yibao_domain::Code;
use yibao_ledger::clearing::{self, StoredClearing};
use yibao_ledger::clearing_reserve::{self, ReleaseRequest, StoredRelease};
use yibao_ledger::clearing_run::{self, ClearingRunError};
use yibao_ledger::LedgerError;

use super::{now_text, parse_body, refuse, AdminRefusal, GuardRefusal};
use crate::service::Service;

/// The longest clearing id, operator and reason accepted.
const CLR_ID_MAX_CHARS: usize = 60;
const OPERATOR_MAX_CHARS: usize = 100;
const REASON_MAX_CHARS: usize = 500;

/// The stored clearings and the reserve releases.
#[derive(Debug, Serialize, ToSchema)]
pub struct Clearings {
    pub ok: bool,
    /// Each clearing (of the month asked, or all): `clr_id`, `state` (`Applied` … `Paid`,
    /// `Rejected`), `row` (the computed row: counts, `fund_owed`, `deductions` — `audit`,
    /// `inspection`, `prepayment_offset`, `reserve_withheld` — `cleared`, `prepayment`,
    /// `by_fund`, `by_institution`, `fund_shares`), `run_at`, `updated_at`, `resubmits` (the
    /// rejected clearing it applies again) and `reserve_released_by` (the release that paid out
    /// its reserve).
    #[schema(value_type = Vec<Object>)]
    pub clearings: Vec<StoredClearing>,
    /// Every reserve release: `release_id`, `period`, `key`, `amount`, `reason`, `operator`,
    /// `released_at`, `clearings` (each `[clr_id, amount]`).
    #[schema(value_type = Vec<Object>)]
    pub reserve_releases: Vec<StoredRelease>,
}

/// One clearing after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClearingReply {
    pub ok: bool,
    /// Whether this call stored it (a resubmission asked again answers the stored one: false).
    pub stored_now: bool,
    /// The clearing as stored (see `GET /admin/clearings`).
    #[schema(value_type = Object)]
    pub clearing: StoredClearing,
}

/// A release after the call.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseReply {
    pub ok: bool,
    /// Whether this call released it (false: the period was released before; that release).
    pub stored_now: bool,
    /// The release (see `GET /admin/clearings`).
    #[schema(value_type = Object)]
    pub release: StoredRelease,
}

/// A move of a clearing to its next state.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRequest {
    /// `20`, `30`, `40`, `50`, `60` (one step forward) or `70` (reject, from 10–40).
    pub to: String,
    /// Who makes the change.
    pub operator: String,
}

/// Who applies a rejected clearing again.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResubmitRequest {
    #[serde(default)]
    pub operator: String,
}

/// A bureau's release of the reserve withheld.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// `yyyy` (the year's clearings, at the year-end) or `yyyy-MM` (one month's).
    pub period: String,
    /// Insured region (6 digits).
    pub insured: String,
    /// Treating region (6 digits).
    pub treating: String,
    /// Scheme (`insutype`).
    pub insutype: String,
    #[serde(default)]
    pub reason: String,
    pub operator: String,
}

/// List clearings
///
/// The stored cross-region clearings (of `month`, or all) with their states, the application each
/// resubmission replaces, the release of each reserve, and every reserve release.
#[utoipa::path(get, path = "/admin/clearings", tag = "admin",
    security(("admin_token" = [])),
    params(("month" = Option<String>, Query, description = "`yyyy-MM`: only this month's clearings")),
    responses(
        (status = 200, description = "The clearings and releases", body = Clearings),
        (status = 400, description = "A bad `month` (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_clearings(
    State(service): State<Service>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let month = match params.get("month").map(|m| Month::parse(m)).transpose() {
        Ok(month) => month,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("参数 month 有误：{e}")),
    };
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        let clearings = clearing::stored_rows(&mut conn, month).await?;
        let reserve_releases = clearing_reserve::releases(&mut conn).await?;
        Ok::<_, LedgerError>((clearings, reserve_releases))
    }
    .await;
    match found {
        Ok((clearings, reserve_releases)) => Json(Clearings {
            ok: true,
            clearings,
            reserve_releases,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Move a clearing
///
/// One step forward (10→20→30→40→50→60) or rejected (70, from 10–40). The move to 60 posts the
/// transfer in the books, the move to 70 undoes the row's postings.
#[utoipa::path(post, path = "/admin/clearings/{clr_id}/advance", tag = "admin",
    security(("admin_token" = [])),
    params(("clr_id" = String, Path, description = "The clearing id")),
    request_body(content = AdvanceRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The clearing in its new state", body = ClearingReply),
        (status = 400, description = "A bad state, operator or id (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No such clearing", body = AdminRefusal),
        (status = 409, description = "The state machine does not allow the move", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn advance_clearing(
    State(service): State<Service>,
    Path(clr_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let request: AdvanceRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let Some(to) = ClearingState::parse(&request.to) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "参数 to 有误：{} 不是清算状态（20、30、40、50、60、70）",
                short(&request.to)
            ),
        );
    };
    if let Err(problem) = checked_id(&clr_id).and(checked_text(
        "operator",
        &request.operator,
        OPERATOR_MAX_CHARS,
    )) {
        return refuse(StatusCode::BAD_REQUEST, problem);
    }
    if let Some(response) = unknown_clearing(&service, &clr_id).await {
        return response;
    }
    let store = &service.shared.store;
    match clearing::advance(store, &clr_id, to, &request.operator, &now_text()).await {
        Ok(clearing) => Json(ClearingReply {
            ok: true,
            stored_now: true,
            clearing,
        })
        .into_response(),
        Err(e) => ledger_refusal(e),
    }
}

/// Apply a rejected clearing again
///
/// The pair's row of the rejected clearing's month computed from the ledger now (the review
/// deductions entered since and the institutions' corrected confirmations included), stored in
/// state 10 under a new id (`<id>-2`, …) with its book postings; the rejected clearing is kept.
/// After a later month of the pair was run, the month takes the prepayment the later months stand
/// on and they keep their rows. Asked again, the stored application is answered. Uses the clearing
/// policy of `clearing_policy`.
#[utoipa::path(post, path = "/admin/clearings/{clr_id}/resubmit", tag = "admin",
    security(("admin_token" = [])),
    params(("clr_id" = String, Path, description = "The rejected (70) clearing")),
    request_body(content = Option<ResubmitRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "The new application", body = ClearingReply),
        (status = 400, description = "A bad id or body (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No such clearing", body = AdminRefusal),
        (status = 409, description = "Not rejected, or nothing left to clear", body = AdminRefusal),
        (status = 503, description = "Storage unavailable, or the clearing policy cannot be read", body = AdminRefusal),
    ))]
pub(crate) async fn resubmit_clearing(
    State(service): State<Service>,
    Path(clr_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let request: ResubmitRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResubmitRequest::default()
    } else {
        match parse_body(&body) {
            Ok(request) => request,
            Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
        }
    };
    if let Err(problem) = checked_id(&clr_id).and(checked_text(
        "operator",
        &request.operator,
        OPERATOR_MAX_CHARS,
    )) {
        return refuse(StatusCode::BAD_REQUEST, problem);
    }
    if let Some(response) = unknown_clearing(&service, &clr_id).await {
        return response;
    }
    let policy = match ClearingPolicy::load(&service.shared.config.clearing_policy) {
        Ok(policy) => policy,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let store = &service.shared.store;
    match clearing_run::resubmit(store, &policy, &clr_id, &now_text()).await {
        Ok(done) => Json(ClearingReply {
            ok: true,
            stored_now: done.stored_now,
            clearing: done.clearing,
        })
        .into_response(),
        Err(ClearingRunError::Ledger(e)) => ledger_refusal(e),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Release a withheld reserve
///
/// Pays out the reserve withheld (deduction 40) of every paid clearing of the pair × scheme in the
/// period not yet released, with its book postings; refused while a clearing of the period
/// holding a reserve is not paid, or when nothing is left to release. A period is released once:
/// asked again, the stored release is answered.
#[utoipa::path(post, path = "/admin/clearings/reserve-releases", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = ReleaseBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The release", body = ReleaseReply),
        (status = 400, description = "A bad period, region, scheme, reason or operator (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 409, description = "A clearing of the period not paid yet, or nothing to release", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn release_reserve(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    let body: ReleaseBody = match parse_body(&body) {
        Ok(body) => body,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let request = match release_request(body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let store = &service.shared.store;
    match clearing_reserve::release(store, &request, &now_text()).await {
        Ok(done) => Json(ReleaseReply {
            ok: true,
            stored_now: done.stored_now,
            release: done.release,
        })
        .into_response(),
        Err(e) => ledger_refusal(e),
    }
}

fn release_request(body: ReleaseBody) -> Result<ReleaseRequest, String> {
    let period = ReservePeriod::parse(&body.period)
        .map_err(|e| format!("参数 period 有误：{e}（或 yyyy）"))?;
    let region = |field: &str, text: &str| {
        clearing_run::region_code(text)
            .ok_or_else(|| format!("参数 {field} 有误：{} 不是 6 位统筹区代码", short(text)))
    };
    let insutype = match Code::new(&body.insutype) {
        Ok(code) if !code.is_empty() => code,
        _ => {
            return Err(format!(
                "参数 insutype 有误：{} 不是险种代码",
                short(&body.insutype)
            ))
        }
    };
    checked_text("reason", &body.reason, REASON_MAX_CHARS)?;
    checked_text("operator", &body.operator, OPERATOR_MAX_CHARS)?;
    Ok(ReleaseRequest {
        period,
        key: PairKey {
            insured_admdvs: region("insured", &body.insured)?,
            treating_admdvs: region("treating", &body.treating)?,
            insutype,
        },
        reason: body.reason,
        operator: body.operator,
    })
}

/// 404 naming the clearing when it is not stored (or the storage error).
async fn unknown_clearing(service: &Service, clr_id: &str) -> Option<Response> {
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        clearing::stored_row(&mut conn, clr_id).await
    }
    .await;
    match found {
        Ok(Some(_)) => None,
        Ok(None) => Some(refuse(
            StatusCode::NOT_FOUND,
            format!("清算 {clr_id} 不存在"),
        )),
        Err(e) => Some(refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    }
}

fn ledger_refusal(e: LedgerError) -> Response {
    match e {
        LedgerError::Conflict(problem) => refuse(StatusCode::CONFLICT, problem),
        other => refuse(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    }
}

fn checked_id(clr_id: &str) -> Result<(), String> {
    let chars = clr_id.chars().count();
    if chars == 0 || chars > CLR_ID_MAX_CHARS || clr_id.chars().any(char::is_control) {
        return Err(format!(
            "路径参数 `clr_id`: 须为 1 至 {CLR_ID_MAX_CHARS} 个可打印字符"
        ));
    }
    Ok(())
}

fn checked_text(field: &str, text: &str, max: usize) -> Result<(), String> {
    if text.chars().count() > max || text.contains('\0') {
        return Err(format!(
            "`{field}`: 不能超过 {max} 个字符，不能含有 NUL 字符"
        ));
    }
    Ok(())
}

/// At most 20 characters of a refused value, for the message.
fn short(text: &str) -> String {
    text.chars().take(20).collect()
}
