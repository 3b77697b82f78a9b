//! The admin API of sanctions (issue 13 §5): institution agreements (`/admin/agreements`),
//! practitioners and their penalty points (`/admin/practitioners`), card suspensions
//! (`/admin/persons/{psn_no}/suspensions`) and the institutions' credit rating (`/admin/credit`).
//! Requests are checked field by field in `yibao_ledger::sanctions`; after a write the service
//! reloads its copy at once, so the next message sees it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yibao_audit::case::{CaseStatus, ConfirmType};
use yibao_audit::sanctions::{SanctionsPolicy, Standing, Violation};
use yibao_ledger::sanctions::{
    self, AgreementRequest, AgreementRow, PointsRequest, PractitionerRequest, SanctionError,
    SuspensionRequest, SuspensionRow,
};
use yibao_ledger::{registry, LedgerError, Store};

use super::{now_text, parse_body, refuse, AdminQuery, AdminRefusal, GuardRefusal};
use crate::sanctions::{Practitioner, Sanctions};
use crate::service::Service;

/// An agreement step as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementView {
    pub fixmedins_code: String,
    pub event_no: i64,
    pub admdvs: String,
    /// active, suspended, terminated.
    pub status: String,
    /// 正常, 暂停, 解除.
    pub status_name: String,
    pub begndate: String,
    pub reason: String,
    pub doc_no: String,
    pub operator: String,
    pub recorded_at: String,
}

impl AgreementView {
    /// The view of a stored step.
    pub fn of(row: AgreementRow) -> AgreementView {
        AgreementView {
            fixmedins_code: row.fixmedins_code,
            event_no: row.event_no,
            admdvs: row.admdvs,
            status: row.event.status.as_str().to_string(),
            status_name: row.event.status.label().to_string(),
            begndate: row.event.begndate.to_string(),
            reason: row.event.reason,
            doc_no: row.event.doc_no,
            operator: row.operator,
            recorded_at: row.recorded_at,
        }
    }
}

/// Agreement steps.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementList {
    pub ok: bool,
    pub agreements: Vec<AgreementView>,
}

/// Which agreement steps to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AgreementQuery {
    /// One institution's.
    pub fixmedins_code: Option<String>,
    /// One pooling region's.
    pub admdvs: Option<String>,
}

/// A practitioner with the standing on the day asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerView {
    pub dr_code: String,
    pub dr_name: String,
    pub admdvs: String,
    pub fixmedins_code: String,
    /// The natural year's points so far (or those that reached the sanction in force).
    pub points: u32,
    /// good, suspended, terminated.
    pub standing: String,
    /// The sanction's first day and the day it ends (excluded); empty when in good standing.
    pub since: String,
    pub until: String,
    pub registered_at: String,
}

impl PractitionerView {
    /// The view of a practitioner with the standing on `on`.
    pub fn of(
        practitioner: &Practitioner,
        policy: &SanctionsPolicy,
        on: NaiveDate,
    ) -> PractitionerView {
        let row = &practitioner.row;
        let (points, standing, since, until) = match policy.standing(&practitioner.points, on) {
            Standing::Good { points } => (points, "good", String::new(), String::new()),
            Standing::Sanctioned {
                points,
                since,
                until,
                terminated,
            } => (
                points,
                if terminated {
                    "terminated"
                } else {
                    "suspended"
                },
                since.to_string(),
                until.to_string(),
            ),
        };
        PractitionerView {
            dr_code: row.dr_code.clone(),
            dr_name: row.dr_name.clone(),
            admdvs: row.admdvs.clone(),
            fixmedins_code: row.fixmedins_code.clone(),
            points,
            standing: standing.to_string(),
            since,
            until,
            registered_at: row.registered_at.clone(),
        }
    }
}

/// Practitioners.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerList {
    pub ok: bool,
    pub practitioners: Vec<PractitionerView>,
}

/// A practitioner registered or given points.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerDone {
    pub ok: bool,
    pub practitioner: PractitionerView,
}

/// Which practitioners to list, and on which day.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PractitionerQuery {
    /// One pooling region's.
    pub admdvs: Option<String>,
    /// The day of the standing (`yyyy-MM-dd`, default today).
    pub on: Option<String>,
}

/// A card suspension as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspensionView {
    pub psn_no: String,
    pub event_no: i64,
    pub admdvs: String,
    pub begndate: String,
    pub enddate: String,
    pub reason: String,
    pub doc_no: String,
    pub recorded_at: String,
}

impl SuspensionView {
    /// The view of a stored suspension.
    pub fn of(row: SuspensionRow) -> SuspensionView {
        SuspensionView {
            psn_no: row.psn_no,
            event_no: row.event_no,
            admdvs: row.admdvs,
            begndate: row.suspension.begndate.to_string(),
            enddate: row.suspension.enddate.to_string(),
            reason: row.suspension.reason,
            doc_no: row.suspension.doc_no,
            recorded_at: row.recorded_at,
        }
    }
}

/// A person's card suspensions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspensionList {
    pub ok: bool,
    pub suspensions: Vec<SuspensionView>,
}

/// An institution's credit rating (amount in yuan, two decimals).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditView {
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    pub admdvs: String,
    pub score: u32,
    pub grade: String,
    /// Confirmed cases counted.
    pub cases: usize,
    pub confirmed_amount: String,
}

/// Credit ratings.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditList {
    pub ok: bool,
    pub year: i32,
    pub ratings: Vec<CreditView>,
}

/// Which ratings.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CreditQuery {
    /// The year whose confirmed cases count (confirmed in it).
    pub year: i32,
    /// One pooling region's institutions.
    pub admdvs: Option<String>,
}

/// The credit rating of every registered institution (of `admdvs` when not empty) from the cases
/// confirmed in `year`.
pub async fn credit_ratings(
    store: &Store,
    policy: &SanctionsPolicy,
    year: i32,
    admdvs: &str,
) -> Result<Vec<CreditView>, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let institutions = registry::institutions(&mut conn).await?;
    let cases = yibao_ledger::audit_cases::cases(&mut conn, Some(CaseStatus::Confirmed)).await?;
    let year_prefix = format!("{year:04}-");
    let mut ratings = Vec::new();
    for institution in institutions {
        if !admdvs.is_empty() && institution.admdvs.as_str() != admdvs {
            continue;
        }
        let violations: Vec<Violation> = cases
            .iter()
            .filter(|c| c.fixmedins_code == institution.fixmedins_code)
            .filter(|c| c.updated_at.starts_with(&year_prefix))
            .filter_map(|c| {
                c.confirm_type.map(|confirm_type: ConfirmType| Violation {
                    confirm_type,
                    amount: c.confirmed_amount,
                })
            })
            .collect();
        let rating = policy.credit_rating(&violations);
        ratings.push(CreditView {
            fixmedins_code: institution.fixmedins_code,
            fixmedins_name: institution.fixmedins_name,
            admdvs: institution.admdvs.to_string(),
            score: rating.score,
            grade: rating.grade,
            cases: rating.cases,
            confirmed_amount: rating.amount.to_string(),
        });
    }
    Ok(ratings)
}

fn storage(error: &LedgerError) -> Response {
    refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
}

fn refused(error: &SanctionError) -> Response {
    match error {
        SanctionError::Invalid { .. } => refuse(StatusCode::BAD_REQUEST, error.to_string()),
        SanctionError::Ledger(e) => storage(e),
    }
}

/// The day `text` names (`yyyy-MM-dd`), today when absent; `Err`: the refusal's message.
fn day_or_today(text: Option<&str>) -> Result<NaiveDate, String> {
    match text {
        None => Ok(chrono::Local::now().date_naive()),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("参数 on 有误：{text} 不是 yyyy-MM-dd 日期")),
    }
}

/// Reloads the service's copy after a write; a failure is logged (the periodic refresh retries).
async fn reload(service: &Service) {
    if let Err(error) = service.shared.reload_sanctions().await {
        tracing::warn!(%error, "reloading sanctions");
    }
}

async fn all_stored(service: &Service) -> Result<sanctions::AllSanctions, LedgerError> {
    let mut conn = service.shared.store.pool().acquire().await?;
    sanctions::load_all(&mut conn).await
}

/// List agreement steps
///
/// Every recorded step of the institutions' agreements (定点协议), in the order recorded per
/// institution.
#[utoipa::path(get, path = "/admin/agreements", tag = "admin",
    security(("admin_token" = [])),
    params(AgreementQuery),
    responses(
        (status = 200, description = "The steps", body = AgreementList),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_agreements(
    State(service): State<Service>,
    AdminQuery(query): AdminQuery<AgreementQuery>,
) -> Response {
    match all_stored(&service).await {
        Ok(all) => Json(AgreementList {
            ok: true,
            agreements: all
                .agreements
                .into_iter()
                .filter(|r| {
                    query
                        .fixmedins_code
                        .as_ref()
                        .is_none_or(|c| *c == r.fixmedins_code)
                })
                .filter(|r| query.admdvs.as_ref().is_none_or(|a| *a == r.admdvs))
                .map(AgreementView::of)
                .collect(),
        })
        .into_response(),
        Err(e) => storage(&e),
    }
}

/// Record an agreement step
///
/// Suspends (暂停), terminates (解除) or restores (正常) an institution's agreement from
/// `begndate`, with the reason and document number. From that day every message of the
/// institution that registers, uploads fees or settles is refused naming them; cancellations and
/// reads still work.
#[utoipa::path(post, path = "/admin/agreements", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = AgreementRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The step recorded", body = AgreementView),
        (status = 400, description = "A field is wrong (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn post_agreement(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    let request: AgreementRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    match sanctions::add_agreement(&service.shared.store, &request, &now_text()).await {
        Ok(row) => {
            reload(&service).await;
            Json(AgreementView::of(row)).into_response()
        }
        Err(e) => refused(&e),
    }
}

/// List practitioners
///
/// The registered 医保医师 with their points and standing on `on` (default today).
#[utoipa::path(get, path = "/admin/practitioners", tag = "admin",
    security(("admin_token" = [])),
    params(PractitionerQuery),
    responses(
        (status = 200, description = "The practitioners", body = PractitionerList),
        (status = 400, description = "`on` is not a date", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_practitioners(
    State(service): State<Service>,
    AdminQuery(query): AdminQuery<PractitionerQuery>,
) -> Response {
    let on = match day_or_today(query.on.as_deref()) {
        Ok(on) => on,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let all = match all_stored(&service).await {
        Ok(all) => Sanctions::of(all),
        Err(e) => return storage(&e),
    };
    let policy = &service.shared.sanctions_policy;
    Json(PractitionerList {
        ok: true,
        practitioners: all
            .practitioners(query.admdvs.as_deref().unwrap_or_default())
            .into_iter()
            .map(|p| PractitionerView::of(p, policy, on))
            .collect(),
    })
    .into_response()
}

/// Register a practitioner
///
/// Registers a 医保医师 by national code (as fee lines carry it in `bilg_dr_codg`) at a registered
/// institution.
#[utoipa::path(post, path = "/admin/practitioners", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = PractitionerRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The practitioner", body = PractitionerDone),
        (status = 400, description = "A field is wrong (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn post_practitioner(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    let request: PractitionerRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    match sanctions::add_practitioner(&service.shared.store, &request, &now_text()).await {
        Ok(row) => {
            reload(&service).await;
            practitioner_answer(&service, &row.dr_code)
        }
        Err(e) => refused(&e),
    }
}

fn practitioner_answer(service: &Service, dr_code: &str) -> Response {
    let sanctions = service.shared.sanctions();
    match sanctions.practitioner(dr_code) {
        Some(p) => Json(PractitionerDone {
            ok: true,
            practitioner: PractitionerView::of(
                p,
                &service.shared.sanctions_policy,
                chrono::Local::now().date_naive(),
            ),
        })
        .into_response(),
        None => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "已记录，但服务尚未重新载入医保医师名单",
        ),
    }
}

/// Give penalty points
///
/// Gives a practitioner penalty points (记分) for a violation on `occurred`, manually or for a
/// confirmed case (`case_id`). When the natural year's points reach a tier of `sanctions.toml`,
/// the practitioner's lines are refused from that day for the tier's months.
#[utoipa::path(post, path = "/admin/practitioners/{dr_code}/points", tag = "admin",
    security(("admin_token" = [])),
    params(("dr_code" = String, Path, description = "The practitioner's national code")),
    request_body(content = PointsRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The practitioner with the new standing", body = PractitionerDone),
        (status = 400, description = "A field is wrong (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn post_points(
    State(service): State<Service>,
    Path(dr_code): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let request: PointsRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    match sanctions::add_points(&service.shared.store, &dr_code, &request, &now_text()).await {
        Ok(_) => {
            reload(&service).await;
            practitioner_answer(&service, &dr_code)
        }
        Err(e) => refused(&e),
    }
}

/// List a person's card suspensions
#[utoipa::path(get, path = "/admin/persons/{psn_no}/suspensions", tag = "admin",
    security(("admin_token" = [])),
    params(("psn_no" = String, Path, description = "The person")),
    responses(
        (status = 200, description = "The suspensions, in the order recorded", body = SuspensionList),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_suspensions(
    State(service): State<Service>,
    Path(psn_no): Path<String>,
) -> Response {
    match all_stored(&service).await {
        Ok(all) => Json(SuspensionList {
            ok: true,
            suspensions: all
                .suspensions
                .into_iter()
                .filter(|s| s.psn_no == psn_no)
                .map(SuspensionView::of)
                .collect(),
        })
        .into_response(),
        Err(e) => storage(&e),
    }
}

/// Suspend a person's card
///
/// 暂停联网结算 from `begndate` to `enddate` (both included), e.g. after 骗保: every settlement of
/// the person in that period is refused naming the period, reason and document number.
#[utoipa::path(post, path = "/admin/persons/{psn_no}/suspensions", tag = "admin",
    security(("admin_token" = [])),
    params(("psn_no" = String, Path, description = "The person")),
    request_body(content = SuspensionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The suspension recorded", body = SuspensionView),
        (status = 400, description = "A field is wrong (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn post_suspension(
    State(service): State<Service>,
    Path(psn_no): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let request: SuspensionRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    match sanctions::add_suspension(&service.shared.store, &psn_no, &request, &now_text()).await {
        Ok(row) => {
            reload(&service).await;
            Json(SuspensionView::of(row)).into_response()
        }
        Err(e) => refused(&e),
    }
}

/// Institutions' credit rating
///
/// The credit score and grade of every registered institution (of `admdvs`) from the cases
/// confirmed in `year`, by the deductions and grade limits of `sanctions.toml`.
#[utoipa::path(get, path = "/admin/credit", tag = "admin",
    security(("admin_token" = [])),
    params(CreditQuery),
    responses(
        (status = 200, description = "The ratings", body = CreditList),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_credit(
    State(service): State<Service>,
    AdminQuery(query): AdminQuery<CreditQuery>,
) -> Response {
    let admdvs = query.admdvs.as_deref().unwrap_or_default();
    let policy = &service.shared.sanctions_policy;
    match credit_ratings(&service.shared.store, policy, query.year, admdvs).await {
        Ok(ratings) => Json(CreditList {
            ok: true,
            year: query.year,
            ratings,
        })
        .into_response(),
        Err(e) => storage(&e),
    }
}
