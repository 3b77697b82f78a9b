//! The admin JSON API (`/admin/*`): register institutions, gateway keys and persons; load policies and
//! catalogues; list a catalogue; verify the ledger; issue 医保电子凭证 tokens. Guarded by a bearer
//! token; off without one.

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;
use yibao_ledger::{registry, verify, AccessKey, Institution};

use crate::config::Config;
use crate::import::{self, PersonRow};
use crate::routes::{router_of, Endpoint};
use crate::service::Service;

pub(crate) mod clearings;
pub(crate) mod cross_region;
pub mod drg;
pub(crate) mod filings;
pub mod providers;
pub mod reimburse;
pub mod reimbursement_list;
pub mod sanctions;

/// Every admin route, once: the router and the route table are made from it.
pub fn endpoints() -> Vec<Endpoint<Service>> {
    vec![
        Endpoint::post("/admin/institutions", put_institutions),
        Endpoint::post("/admin/keys", put_keys),
        Endpoint::post("/admin/persons", put_persons),
        Endpoint::put("/admin/policy", put_policy),
        Endpoint::put("/admin/catalog/{admdvs}", put_catalog),
        Endpoint::get("/admin/catalog/{admdvs}", get_catalog),
        Endpoint::put("/admin/code-table/{admdvs}/{infno}", put_code_table),
        Endpoint::get("/admin/code-table/{admdvs}/{infno}", get_code_table),
        Endpoint::get("/admin/verify", run_verify),
        Endpoint::post("/admin/evoucher", issue_evoucher),
        Endpoint::post("/admin/deductions", post_deductions),
        Endpoint::get("/admin/filings", filings::list_filings),
        Endpoint::post("/admin/filings", filings::post_filing),
        Endpoint::post(
            "/admin/filings/{trt_dcla_detl_sn}/cancel",
            filings::cancel_filing,
        ),
        Endpoint::get("/admin/providers", providers::get_report),
        Endpoint::get(
            "/admin/providers/{fixmedins_code}/months",
            providers::get_months,
        ),
        Endpoint::get(
            "/admin/providers/{fixmedins_code}/year-end",
            providers::get_year_end,
        ),
        Endpoint::get(
            "/admin/drg/statements/{fixmedins_code}",
            drg::get_statements,
        ),
        Endpoint::get("/admin/drg/reviews", drg::list_reviews),
        Endpoint::post("/admin/drg/reviews/{setl_id}/{action}", drg::act_on_review),
        Endpoint::get("/admin/procurement", providers::get_procurement),
        Endpoint::post("/admin/cases", crate::cases::open_case),
        Endpoint::get("/admin/cases", crate::cases::list_cases),
        Endpoint::get("/admin/cases/{case_id}", crate::cases::show_case),
        Endpoint::post("/admin/cases/{case_id}/{action}", crate::cases::step_case),
        Endpoint::get("/admin/reports/cross-region", cross_region::get_report),
        Endpoint::get("/admin/clearings", clearings::list_clearings),
        Endpoint::post(
            "/admin/clearings/{clr_id}/advance",
            clearings::advance_clearing,
        ),
        Endpoint::post(
            "/admin/clearings/{clr_id}/resubmit",
            clearings::resubmit_clearing,
        ),
        Endpoint::post(
            "/admin/clearings/reserve-releases",
            clearings::release_reserve,
        ),
        Endpoint::post("/admin/reimbursements", reimburse::post_reimbursement),
        Endpoint::post(
            "/admin/reimbursements/{setl_id}/cancel",
            reimburse::cancel_reimbursement,
        ),
        Endpoint::get(
            "/admin/reimbursements",
            reimbursement_list::list_reimbursements,
        ),
        Endpoint::get(
            "/admin/reimbursements/{setl_id}",
            reimbursement_list::show_reimbursement,
        ),
        Endpoint::get("/admin/agreements", sanctions::list_agreements),
        Endpoint::post("/admin/agreements", sanctions::post_agreement),
        Endpoint::get("/admin/practitioners", sanctions::list_practitioners),
        Endpoint::post("/admin/practitioners", sanctions::post_practitioner),
        Endpoint::post(
            "/admin/practitioners/{dr_code}/points",
            sanctions::post_points,
        ),
        Endpoint::get(
            "/admin/persons/{psn_no}/suspensions",
            sanctions::list_suspensions,
        ),
        Endpoint::post(
            "/admin/persons/{psn_no}/suspensions",
            sanctions::post_suspension,
        ),
        Endpoint::get("/admin/credit", sanctions::get_credit),
    ]
}

/// The admin routes, behind the token check (which runs before any body is read) and the
/// configured body limit. Without a token the API is off unless `admin_open` says otherwise.
pub fn routes(service: &Service) -> Router<Service> {
    let limit = service.shared.config.admin_body_limit_bytes;
    router_of(endpoints())
        .layer(DefaultBodyLimit::max(limit))
        .route_layer(middleware::from_fn_with_state(service.clone(), guard))
}

/// Whether the admin API is served, and how; logged at start.
pub fn access_summary(config: &Config) -> &'static str {
    if !config.admin_token.is_empty() {
        "admin API on, bearer token required"
    } else if config.admin_open {
        "admin API OPEN without a token (admin_open: local development only)"
    } else {
        "admin API off: no admin token configured (set YIBAO_ADMIN_TOKEN)"
    }
}

/// Refuses an admin request before its body is read: 404 when the API is off, 401 without the token.
async fn guard(State(service): State<Service>, request: Request, next: Next) -> Response {
    let config = &service.shared.config;
    if config.admin_token.is_empty() {
        if config.admin_open {
            return next.run(request).await;
        }
        return GuardRefusal::Off(AdminRefusal::new(
            "the admin API is off: no admin token is configured (YIBAO_ADMIN_TOKEN)",
        ))
        .into_response();
    }
    let sent = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match sent {
        Some(sent) if crate::auth::same(sent.as_bytes(), config.admin_token.as_bytes()) => {
            next.run(request).await
        }
        _ => GuardRefusal::Unauthorized(AdminRefusal::new("admin token required")).into_response(),
    }
}

/// What the token check answers instead of running an admin route.
#[derive(Debug, utoipa::IntoResponses)]
pub enum GuardRefusal {
    #[response(status = 401, description = "No bearer token, or a wrong one")]
    Unauthorized(AdminRefusal),
    #[response(
        status = 404,
        description = "The admin API is off: no `admin_token` is configured"
    )]
    Off(AdminRefusal),
}

impl IntoResponse for GuardRefusal {
    fn into_response(self) -> Response {
        let (status, refusal) = match self {
            GuardRefusal::Unauthorized(refusal) => (StatusCode::UNAUTHORIZED, refusal),
            GuardRefusal::Off(refusal) => (StatusCode::NOT_FOUND, refusal),
        };
        (status, Json(refusal)).into_response()
    }
}

/// A refused admin request: 400 (the body names the row and column), 401 (no or a wrong token),
/// 404 (the API is off, or no such catalogue), 503 (storage unavailable).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminRefusal {
    /// Always `false`.
    pub ok: bool,
    /// What is wrong, naming the row and field where there is one.
    pub error: String,
}

/// Rows accepted by a registry upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub ok: bool,
    /// Rows stored.
    pub count: usize,
}

/// A policy stored and loaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyLoaded {
    pub ok: bool,
    /// The pooling region the policy is for (its `admdvs`).
    pub admdvs: String,
}

/// A catalogue stored and loaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogLoaded {
    pub ok: bool,
    pub admdvs: String,
    /// Catalogue items read.
    pub count: usize,
    /// The catalogue version this import is (1, 2, … per region; the same text again is no new
    /// version), which 1301–1319 downloads name in their `ver` column.
    pub ver: i64,
}

/// When an imported catalogue takes effect.
#[derive(Debug, serde::Deserialize)]
pub struct CatalogParams {
    /// `yyyy-MM-dd`; the import date when absent.
    pub begndate: Option<String>,
}

/// One item of a loaded catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntry<'a> {
    /// National code (医保目录编码).
    pub med_list_codg: &'a str,
    pub med_list_name: &'a str,
    /// 收费项目等级: 01 甲类, 02 乙类, 03 丙类.
    pub chrgitm_lv: String,
    /// 医疗收费项目类别.
    pub med_chrgitm_type: String,
    /// 限制使用: reimbursable only with `hosp_appr_flag` 1.
    pub restricted: bool,
    /// Whether the item has a price cap (超限价 applies).
    pub has_price_cap: bool,
}

/// One imported version of a region's catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogVersionEntry {
    /// 1, 2, … in import order; the `ver` of 1301–1306.
    pub ver: i64,
    /// The day it takes effect.
    pub begndate: String,
    /// When it was imported.
    pub loaded_at: String,
    /// The catalogue version a fee line's split basis records (`sha256:` + 16 hex digits).
    pub digest: String,
}

/// The items of a region's catalogue, sorted by code, and its versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogListing<'a> {
    pub ok: bool,
    pub items: Vec<CatalogEntry<'a>>,
    /// Every imported version, oldest first; the last is the one in use.
    pub versions: Vec<CatalogVersionEntry>,
}

/// The outcome of `yibao verify` on the service's database.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    /// Whether no difference was found.
    pub ok: bool,
    /// Ledger entries checked (settlements and cancellations).
    pub entries: usize,
    /// Postings re-summed.
    pub postings: usize,
    /// Materialised accumulator totals compared.
    pub accumulators: usize,
    /// One line per difference found.
    pub problems: Vec<String>,
}

impl AdminRefusal {
    fn new(message: impl Into<String>) -> AdminRefusal {
        AdminRefusal {
            ok: false,
            error: message.into(),
        }
    }
}

pub(crate) fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(AdminRefusal::new(message))).into_response()
}

fn accepted(count: usize) -> Response {
    Json(Accepted { ok: true, count }).into_response()
}

pub(crate) fn now_text() -> String {
    chrono::Local::now()
        .naive_local()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An admin request's JSON body as `T`; a refusal names the field in Chinese, as the national
/// interface does (`参数 body.psn_no 有误：缺少必填字段`), and any text with a NUL character or longer
/// than its field's limit is refused before anything reads it.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "参数 body 有误：不是有效的 JSON（第 {} 行第 {} 列）",
            e.line(),
            e.column()
        )
    })?;
    crate::envelope::refuse_bad_text_at(&value, "body").map_err(|e| e.to_string())?;
    crate::tx::common::parse(&value, "body").map_err(|e| e.to_string())
}

/// An admin route's query string as `T`: like axum's `Query`, but a bad parameter is refused with
/// a 400 naming it in Chinese (`参数 limit 有误：不是整数`), a NUL character or an over-long value
/// as in a body.
pub(crate) struct AdminQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for AdminQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let texts: serde_json::Map<String, serde_json::Value> =
            form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned().into()))
                .collect();
        crate::envelope::refuse_bad_text_at(&texts.into(), "")
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, e.to_string()))?;
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        crate::tx::common::deserialize_at(pairs, "")
            .map(AdminQuery)
            .map_err(|e| refuse(StatusCode::BAD_REQUEST, e.to_string()))
    }
}

/// Register institutions
///
/// Inserts or replaces institutions by `fixmedins_code`; the service uses them at once.
#[utoipa::path(post, path = "/admin/institutions", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = Vec<Institution>, content_type = "application/json"),
    responses(
        (status = 200, description = "Rows stored", body = Accepted),
        (status = 400, description = "Not a JSON array of institutions, or a required column empty", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn put_institutions(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    let institutions: Vec<Institution> = match parse_body(&body) {
        Ok(rows) => rows,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    if let Err(e) = import::check_institutions(&institutions, 1) {
        return refuse(StatusCode::BAD_REQUEST, e.to_string());
    }
    if let Err(e) = registry::upsert_institutions(&service.shared.store, &institutions).await {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    }
    match service.shared.reload_institutions().await {
        Ok(()) => accepted(institutions.len()),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Register gateway keys
///
/// Inserts or replaces gateway keys by `access_key`: CSB access key and secret, or TIF `paasid` and
/// token, each bound to a registered institution.
#[utoipa::path(post, path = "/admin/keys", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = Vec<AccessKey>, content_type = "application/json"),
    responses(
        (status = 200, description = "Rows stored", body = Accepted),
        (status = 400, description = "A scheme other than csb or tif, an empty key or secret, or an unregistered institution (the row is named)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn put_keys(State(service): State<Service>, body: axum::body::Bytes) -> Response {
    let keys: Vec<AccessKey> = match parse_body(&body) {
        Ok(rows) => rows,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    for (row, key) in keys.iter().enumerate() {
        if key.scheme != "csb" && key.scheme != "tif" {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("row {}, `scheme`: must be csb or tif", row + 1),
            );
        }
        if key.access_key.is_empty() || key.secret.is_empty() {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("row {}: access_key and secret are required", row + 1),
            );
        }
        match service.shared.institution(&key.fixmedins_code).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "row {}, `fixmedins_code`: institution is not registered",
                        row + 1
                    ),
                )
            }
            Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }
    if let Err(e) = registry::upsert_access_keys(&service.shared.store, &keys).await {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    }
    match service.shared.reload_institutions().await {
        Ok(()) => accepted(keys.len()),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Register persons
///
/// One row per person and insurance type, the columns of `yibao import persons`. Importing a
/// person again replaces their rows; an insurance row or identity left out is ended the day before
/// today, never deleted.
#[utoipa::path(post, path = "/admin/persons", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = Vec<PersonRow>, content_type = "application/json"),
    responses(
        (status = 200, description = "Persons stored", body = Accepted),
        (status = 400, description = "A row or column is wrong (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn put_persons(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    let rows: Vec<PersonRow> = match parse_body(&body) {
        Ok(rows) => rows,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let persons = match import::persons_from_rows(&rows, 1) {
        Ok(persons) => persons,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match registry::upsert_persons(&service.shared.store, &persons).await {
        Ok(()) => accepted(persons.len()),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Load a policy
///
/// Validates a pooling region's policy (the TOML of `policies/`), stores it and settles with it
/// from now on.
#[utoipa::path(put, path = "/admin/policy", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = String, content_type = "application/toml", description = "Policy TOML"),
    responses(
        (status = 200, description = "Stored and loaded", body = PolicyLoaded),
        (status = 400, description = "The policy is invalid (the field path is named)", body = AdminRefusal),
        GuardRefusal,
    ))]
pub(crate) async fn put_policy(State(service): State<Service>, body: String) -> Response {
    match import::import_policy(&service.shared.store, &body, &now_text()).await {
        Ok(admdvs) => reload(&service, PolicyLoaded { ok: true, admdvs }).await,
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Load a catalogue
///
/// Stores the 三目录 of a place of treatment (CSV, or the national TAB-separated layout) as the
/// region's next catalogue version and splits fee lines with it from now on.
#[utoipa::path(put, path = "/admin/catalog/{admdvs}", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("admdvs" = String, Path, description = "Region code (6 digits) the catalogue is for"),
        ("begndate" = Option<String>, Query, description = "The day this version takes effect (`yyyy-MM-dd`); the import date when absent"),
    ),
    request_body(content = String, content_type = "text/csv", description = "Catalogue text"),
    responses(
        (status = 200, description = "Stored and loaded", body = CatalogLoaded),
        (status = 400, description = "The catalogue is invalid (the line and column are named)", body = AdminRefusal),
        GuardRefusal,
    ))]
pub(crate) async fn put_catalog(
    State(service): State<Service>,
    Path(admdvs): Path<String>,
    AdminQuery(params): AdminQuery<CatalogParams>,
    body: String,
) -> Response {
    let loaded_at = now_text();
    let begndate = params
        .begndate
        .unwrap_or_else(|| loaded_at[..10].to_string());
    let stored = import::import_catalog_version(
        &service.shared.store,
        &admdvs,
        &body,
        &begndate,
        &loaded_at,
    )
    .await;
    match stored {
        Ok((count, ver)) => {
            let loaded = CatalogLoaded {
                ok: true,
                admdvs,
                count,
                ver,
            };
            reload(&service, loaded).await
        }
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// A code table stored as a region's next version.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeTableLoaded {
    pub ok: bool,
    pub admdvs: String,
    /// The download that publishes the table (1307–1311, 1313–1315).
    pub infno: String,
    /// Codes read.
    pub count: usize,
    /// The table's version (1, 2, … per region and table; the same text again is no new version),
    /// which the download names in its `ver` column.
    pub ver: i64,
}

/// Load a code table
///
/// Stores a code table a HIS downloads besides the catalogue — 1307 疾病与诊断, 1308 手术操作, 1309
/// 门诊慢特病种, 1310 按病种付费病种, 1311 日间手术治疗病种, 1313 肿瘤形态学, 1314 中医疾病, 1315 中医证候 —
/// as the region's next version of it. CSV with a header naming a code column (`code`, `编码` or
/// the national name such as `dise_codg`) and a name column (`name`, `名称`, `dise_name` …).
#[utoipa::path(put, path = "/admin/code-table/{admdvs}/{infno}", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("admdvs" = String, Path, description = "Region code (6 digits) the table is published in"),
        ("infno" = String, Path, description = "The download that publishes it: 1307–1311, 1313–1315"),
        ("begndate" = Option<String>, Query, description = "The day this version takes effect (`yyyy-MM-dd`); the import date when absent"),
    ),
    request_body(content = String, content_type = "text/csv", description = "Code table text"),
    responses(
        (status = 200, description = "Stored", body = CodeTableLoaded),
        (status = 400, description = "The table is invalid (the row and column are named), or the region or infno is unknown", body = AdminRefusal),
        GuardRefusal,
    ))]
pub(crate) async fn put_code_table(
    State(service): State<Service>,
    Path((admdvs, infno)): Path<(String, String)>,
    AdminQuery(params): AdminQuery<CatalogParams>,
    body: String,
) -> Response {
    let loaded_at = now_text();
    let begndate = params
        .begndate
        .unwrap_or_else(|| loaded_at[..10].to_string());
    let stored = import::import_code_table(
        &service.shared.store,
        &admdvs,
        &infno,
        &body,
        &begndate,
        &loaded_at,
    )
    .await;
    match stored {
        Ok((count, ver)) => Json(CodeTableLoaded {
            ok: true,
            admdvs,
            infno,
            count,
            ver,
        })
        .into_response(),
        Err(import::ImportError::Ledger(e)) => {
            refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// The versions of one code table of a region.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeTableListing {
    pub ok: bool,
    pub versions: Vec<CatalogVersionEntry>,
}

/// List a code table's versions
#[utoipa::path(get, path = "/admin/code-table/{admdvs}/{infno}", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("admdvs" = String, Path, description = "Region code (6 digits)"),
        ("infno" = String, Path, description = "The download that publishes the table"),
    ),
    responses(
        (status = 200, description = "The table's versions, oldest first", body = CodeTableListing),
        GuardRefusal,
        (status = 404, description = "No such table in this region, or the admin API is off", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_code_table(
    State(service): State<Service>,
    Path((admdvs, infno)): Path<(String, String)>,
) -> Response {
    let versions = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        registry::code_table_versions(&mut conn, &admdvs, &infno).await
    };
    match versions.await {
        Ok(versions) if versions.is_empty() => refuse(
            StatusCode::NOT_FOUND,
            format!("no code table {infno} for {admdvs}"),
        ),
        Ok(versions) => Json(CodeTableListing {
            ok: true,
            versions: versions.into_iter().map(version_entry).collect(),
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

fn version_entry(v: registry::CatalogVersion) -> CatalogVersionEntry {
    CatalogVersionEntry {
        ver: v.ver,
        digest: crate::state::source_digest(&v.source),
        begndate: v.begndate,
        loaded_at: v.loaded_at,
    }
}

/// Posts audit and inspection deductions (and prepayment offsets) against months of institutions'
/// payments, all or none.
#[utoipa::path(post, path = "/admin/deductions", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = Vec<yibao_ledger::provider::DeductionRow>, content_type = "application/json"),
    responses(
        (status = 200, description = "Deductions posted (or already posted as they are)", body = Accepted),
        (status = 400, description = "A row is not a deduction (row and field named)", body = AdminRefusal),
        GuardRefusal,
        (status = 409, description = "A month already paid, or an id posted with other content", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn post_deductions(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    use yibao_ledger::provider::DeductionError;
    let rows: Vec<yibao_ledger::provider::DeductionRow> = match parse_body(&body) {
        Ok(rows) => rows,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let count = rows.len();
    let deductions = match rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| row.deduction().map_err(|e| format!("row {}, {e}", i + 1)))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(deductions) => deductions,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    match yibao_ledger::provider::post_deductions(&service.shared.store, &deductions, &now_text())
        .await
    {
        Ok(()) => accepted(count),
        Err(DeductionError::Ledger(e)) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => refuse(StatusCode::CONFLICT, e.to_string()),
    }
}

/// Whom a 医保电子凭证 token is issued for.
#[derive(serde::Deserialize, ToSchema)]
pub struct VoucherRequest {
    /// A registered person.
    pub psn_no: String,
}

/// An issued 医保电子凭证 token.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherIssued {
    pub ok: bool,
    /// Always `01` (医保电子凭证).
    pub mdtrt_cert_type: &'static str,
    /// The token: what 1101 takes as `mdtrt_cert_no` with `mdtrt_cert_type` 01.
    pub mdtrt_cert_no: String,
    /// When the token stops being accepted, Unix seconds.
    pub expires_at_secs: i64,
}

/// Issue an e-voucher token
///
/// Issues a 医保电子凭证 token for a registered person (the QR payload their app shows), accepted
/// by 1101 with `mdtrt_cert_type` 01 until it expires.
#[utoipa::path(post, path = "/admin/evoucher", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = VoucherRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The token", body = VoucherIssued),
        (status = 400, description = "Not a JSON object with `psn_no`, or the person is not registered", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn issue_evoucher(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    let request: VoucherRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let registered = match service.shared.store.pool().acquire().await {
        Ok(mut conn) => registry::person(&mut conn, &request.psn_no).await,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    match registered {
        Ok(Some(_)) => {}
        Ok(None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("参数 psn_no 有误：人员 {} 未登记", request.psn_no),
            )
        }
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
    let now_secs = chrono::Utc::now().timestamp();
    match service.shared.vouchers.issue(&request.psn_no, now_secs) {
        Ok(voucher) => Json(VoucherIssued {
            ok: true,
            mdtrt_cert_type: "01",
            mdtrt_cert_no: voucher.token,
            expires_at_secs: voucher.expires_at_secs,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn reload(service: &Service, body: impl Serialize) -> Response {
    match service.shared.reload_regions().await {
        Ok(()) => Json(body).into_response(),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// List a catalogue
///
/// The items of the catalogue loaded for a region, sorted by national code, and every imported
/// version with its effective date and the digest a fee line's split basis records.
#[utoipa::path(get, path = "/admin/catalog/{admdvs}", tag = "admin",
    security(("admin_token" = [])),
    params(("admdvs" = String, Path, description = "Region code (6 digits)")),
    responses(
        (status = 200, description = "The catalogue's items and versions", body = CatalogListing),
        GuardRefusal,
        (status = 404, description = "No catalogue for this region, or the admin API is off", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn get_catalog(
    State(service): State<Service>,
    Path(admdvs): Path<String>,
) -> Response {
    let regions = service.shared.regions();
    let Some(catalog) = regions.catalog(&admdvs) else {
        return refuse(StatusCode::NOT_FOUND, format!("no catalogue for {admdvs}"));
    };
    let items: Vec<CatalogEntry<'_>> = catalog
        .parsed
        .items_sorted()
        .into_iter()
        .map(|i| CatalogEntry {
            med_list_codg: &i.code,
            med_list_name: &i.name,
            chrgitm_lv: i.chrgitm_lv.to_string(),
            med_chrgitm_type: i.med_chrgitm_type.to_string(),
            restricted: i.restricted_use,
            has_price_cap: i.price_cap_micro_yuan.is_some(),
        })
        .collect();
    let versions = match catalog_versions(&service, &admdvs).await {
        Ok(versions) => versions,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    Json(CatalogListing {
        ok: true,
        items,
        versions,
    })
    .into_response()
}

/// The versions of a region's catalogue with the digest each is recorded by.
async fn catalog_versions(
    service: &Service,
    admdvs: &str,
) -> Result<Vec<CatalogVersionEntry>, yibao_ledger::LedgerError> {
    let mut conn = service.shared.store.pool().acquire().await?;
    let versions = registry::catalog_versions(&mut conn, admdvs).await?;
    Ok(versions.into_iter().map(version_entry).collect())
}

/// Verify the ledger
///
/// Runs `yibao verify` on the service's database: re-derives the accumulators and balances from
/// the postings and checks every ledger identity and the fee-line history.
#[utoipa::path(get, path = "/admin/verify", tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The verification ran; `ok` says whether it found no difference", body = VerifyResult),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn run_verify(State(service): State<Service>) -> Response {
    let result = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        verify::verify(&mut conn).await
    }
    .await;
    match result {
        Ok(report) => Json(VerifyResult {
            ok: report.is_ok(),
            entries: report.entries,
            postings: report.postings,
            accumulators: report.accumulators,
            problems: report.problems,
        })
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
