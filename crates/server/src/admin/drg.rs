//! DRG payment for the workbench: an institution's posted DRG monthly prepayment and year-end
//! statements (`yibao drg month` / `yibao drg year-end` post them), and the 特病单议 review items —
//! listed, requested by an institution, approved with an amount or rejected. Amounts are yuan text
//! with two decimals.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yibao_domain::Fen;
use yibao_drg_payment::{Decision, DrgMonthStatement, DrgYearEndStatement, Points};
use yibao_ledger::drg::{self, Review, ReviewError};
use yibao_wire::lenient;

use super::providers::{checked_code, period};
use super::{now_text, parse_body, refuse, AdminRefusal, GuardRefusal};
use crate::service::Service;

/// The longest `setl_id` and note accepted.
const SETL_ID_MAX_CHARS: usize = 40;
const NOTE_MAX_CHARS: usize = 500;

/// An institution's posted DRG statements of a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrgStatements {
    pub ok: bool,
    pub fixmedins_code: String,
    pub year: i32,
    /// Monthly prepayments (oldest first; per scheme): `cases`, `failed` (each `setl_id` with its
    /// 病案校验 `problems`: `field`, `problem`), `set_aside`, `fund_share`, `prepayment_ratio`,
    /// `prepayment`.
    #[schema(value_type = Vec<Object>)]
    pub months: Vec<DrgMonthStatement>,
    /// The year-end clearing once posted (per scheme): `points`, `point_value`, `gross`,
    /// `others_paid`, `entitlement`, `reviewed`, `prepaid`, `clearing`, `failed`, `set_aside`.
    #[schema(value_type = Vec<Object>)]
    pub year_end: Vec<DrgYearEndStatement>,
}

/// The review items of a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrgReviews {
    pub ok: bool,
    pub year: i32,
    pub reviews: Vec<Review>,
}

/// A review item after a request or decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrgReviewReply {
    pub ok: bool,
    pub review: Review,
}

/// A decision or request on a review item.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewRequest {
    /// Approve: the amount paid for the case at the year-end, outside the point pool, yuan text
    /// (`"12000.00"`); or `points` instead.
    #[serde(default)]
    pub amount: Option<String>,
    /// Approve: the points the case earns (`"120.5"`), joining the point pool like earned points.
    #[serde(default)]
    pub points: Option<String>,
    /// Why (at most 500 characters).
    #[serde(default)]
    pub note: String,
}

/// DRG statements of an institution
///
/// The institution's posted DRG monthly prepayments of `year` (or of `month`), each listing the
/// cases that failed 病案校验 with their reasons, and its year-end clearing once posted.
#[utoipa::path(get, path = "/admin/drg/statements/{fixmedins_code}", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("fixmedins_code" = String, Path, description = "The institution"),
        ("year" = i32, Query, description = "Year"),
        ("month" = Option<u8>, Query, description = "One month 1–12 only"),
    ),
    responses(
        (status = 200, description = "The posted statements (empty before any is posted)", body = DrgStatements),
        (status = 400, description = "A bad `year`, `month` or code (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_statements(
    State(service): State<Service>,
    Path(fixmedins_code): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (year, month) = match checked_code(&fixmedins_code).and_then(|()| period(&params)) {
        Ok(period) => period,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        drg::institution_statements(&mut conn, year, &fixmedins_code).await
    }
    .await;
    match found {
        Ok((months, year_end)) => Json(DrgStatements {
            ok: true,
            months: months
                .into_iter()
                .filter(|m| month.is_none_or(|wanted| m.month == wanted))
                .collect(),
            year_end,
            fixmedins_code,
            year,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// DRG review items
///
/// The 特病单议 review items of `year` (cases the policy sets aside, DRGs without base points,
/// and cases institutions asked to have reviewed), with their decisions.
#[utoipa::path(get, path = "/admin/drg/reviews", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("year" = i32, Query, description = "Year"),
        ("fixmedins_code" = Option<String>, Query, description = "One institution's items only"),
    ),
    responses(
        (status = 200, description = "The items, by `setl_id`", body = DrgReviews),
        (status = 400, description = "A bad `year` or code (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_reviews(
    State(service): State<Service>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let code = params.get("fixmedins_code").cloned();
    let checked = period(&params).and_then(|(year, _)| {
        code.as_deref().map(checked_code).transpose()?;
        Ok(year)
    });
    let year = match checked {
        Ok(year) => year,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        drg::reviews(&mut conn, year, code.as_deref()).await
    }
    .await;
    match found {
        Ok(reviews) => Json(DrgReviews {
            ok: true,
            year,
            reviews,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Decide or request a DRG review
///
/// `approve` (with `amount`, paid for the case at the year-end, or `points` it earns), `reject`, or `request` (an
/// institution asks for its settled admission to be reviewed 特病单议; it is set aside from the
/// points when its month is run). Refused once the case's year is cleared.
#[utoipa::path(post, path = "/admin/drg/reviews/{setl_id}/{action}", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("setl_id" = String, Path, description = "The final settlement of the admission"),
        ("action" = String, Path, description = "`approve`, `reject` or `request`"),
    ),
    request_body(content = ReviewRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The item as it now stands", body = DrgReviewReply),
        (status = 400, description = "A bad action, amount, note or id (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No such review item, or no such settled admission", body = AdminRefusal),
        (status = 409, description = "The case's year is already cleared", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn act_on_review(
    State(service): State<Service>,
    Path((setl_id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let request: ReviewRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    if let Err(problem) = checked_request(&setl_id, &request) {
        return refuse(StatusCode::BAD_REQUEST, problem);
    }
    let store = &service.shared.store;
    let note = request.note.as_str();
    let done = match action.as_str() {
        "approve" => match approval(&request) {
            Ok(decision) => drg::decide(store, &setl_id, decision, note, &now_text()).await,
            Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
        },
        "reject" => drg::decide(store, &setl_id, Decision::Rejected, note, &now_text()).await,
        "request" => drg::request(store, &setl_id, note, &now_text()).await,
        other => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("path `action`: `{other}` is not approve, reject or request"),
            )
        }
    };
    match done {
        Ok(review) => Json(DrgReviewReply { ok: true, review }).into_response(),
        Err(e @ (ReviewError::NotListed(_) | ReviewError::NoCase(_))) => {
            refuse(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e @ ReviewError::YearCleared { .. }) => refuse(StatusCode::CONFLICT, e.to_string()),
        Err(ReviewError::Ledger(e)) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

fn checked_request(setl_id: &str, request: &ReviewRequest) -> Result<(), String> {
    let chars = setl_id.chars().count();
    if chars == 0 || chars > SETL_ID_MAX_CHARS || setl_id.chars().any(char::is_control) {
        return Err(format!(
            "参数 setl_id 有误：须为 1 至 {SETL_ID_MAX_CHARS} 个字符，不含控制字符"
        ));
    }
    if request.note.chars().count() > NOTE_MAX_CHARS || request.note.contains('\0') {
        return Err(format!(
            "参数 note 有误：至多 {NOTE_MAX_CHARS} 个字符，不含 NUL 字符"
        ));
    }
    Ok(())
}

fn approval(request: &ReviewRequest) -> Result<Decision, String> {
    match (request.amount.as_deref(), request.points.as_deref()) {
        (Some(_), Some(_)) => Err("参数 amount、points 有误：只能给出其中之一".into()),
        (None, Some(text)) => {
            let points = Points::parse(text)
                .map_err(|e| format!("参数 points 有误：{}", lenient::decimal_problem(&e)))?;
            if points.0 < 0 {
                return Err("参数 points 有误：不能为负数".into());
            }
            Ok(Decision::ApprovedPoints(points))
        }
        (Some(text), None) => {
            let amount = Fen::parse_yuan(text)
                .map_err(|e| format!("参数 amount 有误：{}", lenient::decimal_problem(&e)))?;
            if amount.fen() < 0 {
                return Err("参数 amount 有误：不能为负数".into());
            }
            Ok(Decision::Approved(amount))
        }
        (None, None) => {
            Err("参数 amount、points 有误：核准须给出其中之一（例如 \"12000.00\"）".into())
        }
    }
}
