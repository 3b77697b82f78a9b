//! The admin JSON API (`/admin/*`): register institutions, gateway keys and persons; load policies and
//! catalogues; list a catalogue; verify the ledger; issue 医保电子凭证 tokens. Guarded by a bearer
//! token; off without one.

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use yibao_ledger::{registry, verify, AccessKey, Institution};

use crate::config::Config;
use crate::import::{self, PersonRow};
use crate::service::Service;

/// The admin routes, behind the token check (which runs before any body is read) and the
/// configured body limit. Without a token the API is off unless `admin_open` says otherwise.
pub fn routes(service: &Service) -> Router<Service> {
    let limit = service.shared.config.admin_body_limit_bytes;
    Router::new()
        .route("/admin/institutions", post(put_institutions))
        .route("/admin/keys", post(put_keys))
        .route("/admin/persons", post(put_persons))
        .route("/admin/policy", put(put_policy))
        .route("/admin/catalog/{admdvs}", put(put_catalog).get(get_catalog))
        .route("/admin/verify", get(run_verify))
        .route("/admin/evoucher", post(issue_evoucher))
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
        return refuse(
            StatusCode::NOT_FOUND,
            "the admin API is off: no admin token is configured (YIBAO_ADMIN_TOKEN)",
        );
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
        _ => refuse(StatusCode::UNAUTHORIZED, "admin token required"),
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "ok": false, "error": message.into() })),
    )
        .into_response()
}

fn accepted(count: usize) -> Response {
    Json(json!({ "ok": true, "count": count })).into_response()
}

fn now_text() -> String {
    chrono::Local::now()
        .naive_local()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("body: {e}"))
}

async fn put_institutions(State(service): State<Service>, body: axum::body::Bytes) -> Response {
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

async fn put_keys(State(service): State<Service>, body: axum::body::Bytes) -> Response {
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

async fn put_persons(State(service): State<Service>, body: axum::body::Bytes) -> Response {
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

async fn put_policy(State(service): State<Service>, body: String) -> Response {
    match import::import_policy(&service.shared.store, &body, &now_text()).await {
        Ok(admdvs) => reload(&service, json!({ "ok": true, "admdvs": admdvs })).await,
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn put_catalog(
    State(service): State<Service>,
    Path(admdvs): Path<String>,
    body: String,
) -> Response {
    match import::import_catalog(&service.shared.store, &admdvs, &body, &now_text()).await {
        Ok(count) => {
            reload(
                &service,
                json!({ "ok": true, "admdvs": admdvs, "count": count }),
            )
            .await
        }
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct VoucherRequest {
    psn_no: String,
}

/// Issues a 医保电子凭证 token for a registered person (the QR payload their app shows), accepted
/// by 1101 with `mdtrt_cert_type` 01 until it expires.
async fn issue_evoucher(State(service): State<Service>, body: axum::body::Bytes) -> Response {
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
                format!("`psn_no`: person `{}` is not registered", request.psn_no),
            )
        }
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
    let now_secs = chrono::Utc::now().timestamp();
    match service.shared.vouchers.issue(&request.psn_no, now_secs) {
        Ok(voucher) => Json(json!({
            "ok": true,
            "mdtrt_cert_type": "01",
            "mdtrt_cert_no": voucher.token,
            "expires_at_secs": voucher.expires_at_secs,
        }))
        .into_response(),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn reload(service: &Service, body: serde_json::Value) -> Response {
    match service.shared.reload_regions().await {
        Ok(()) => Json(body).into_response(),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Serialize)]
struct CatalogEntry<'a> {
    med_list_codg: &'a str,
    med_list_name: &'a str,
    chrgitm_lv: String,
    med_chrgitm_type: String,
    restricted: bool,
    has_price_cap: bool,
}

async fn get_catalog(State(service): State<Service>, Path(admdvs): Path<String>) -> Response {
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
    Json(json!({ "ok": true, "items": items })).into_response()
}

async fn run_verify(State(service): State<Service>) -> Response {
    let result = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        verify::verify(&mut conn).await
    }
    .await;
    match result {
        Ok(report) => Json(json!({
            "ok": report.is_ok(), "entries": report.entries, "postings": report.postings,
            "accumulators": report.accumulators, "problems": report.problems,
        }))
        .into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
