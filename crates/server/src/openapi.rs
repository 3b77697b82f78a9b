//! The OpenAPI document of the service's HTTP routes, generated from the handlers' `utoipa::path`
//! annotations and the types they read and answer with, and served at `GET /openapi.json`. The
//! national paths carry the configured gateway prefix, as the router does.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::config::Config;
use crate::service::Service;
use crate::{admin, app};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The first segment of every path of the national interface (below the gateway prefix).
const NATIONAL_ROOT: &str = "/fsi/";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "yibao",
        description = "The yibao settlement service: the national 定点医药机构接口 (`callService`, \
        documented in docs/interface.md), operations (health, metrics, this document) and the admin \
        API that loads the registry, policies and catalogues (docs/operations.md). Any other path is \
        answered with a reply envelope (`infcode` −1) naming the path and the `callService` address."
    ),
    paths(
        app::call_service,
        app::call_service_infno,
        app::file_upload,
        app::file_download,
        app::healthz,
        app::metrics,
        openapi_json,
        admin::put_institutions,
        admin::put_keys,
        admin::put_persons,
        admin::put_policy,
        admin::put_catalog,
        admin::get_catalog,
        admin::put_code_table,
        admin::get_code_table,
        admin::run_verify,
        admin::issue_evoucher,
        admin::post_deductions,
        admin::filings::list_filings,
        admin::filings::post_filing,
        admin::filings::cancel_filing,
        admin::reimburse::post_reimbursement,
        admin::reimburse::cancel_reimbursement,
        admin::reimbursement_list::list_reimbursements,
        admin::reimbursement_list::show_reimbursement,
        crate::peer::insured::person,
        crate::peer::insured::settle_call,
        crate::peer::insured::cancel_call,
        crate::peer::insured::resolve_call,
        crate::peer::insured::day,
        admin::providers::get_report,
        admin::providers::get_months,
        admin::providers::get_year_end,
        admin::drg::get_statements,
        admin::drg::list_reviews,
        admin::drg::act_on_review,
        admin::providers::get_procurement,
        admin::cross_region::get_report,
        admin::clearings::list_clearings,
        admin::clearings::advance_clearing,
        admin::clearings::resubmit_clearing,
        admin::clearings::release_reserve,
        crate::cases::open_case,
        crate::cases::list_cases,
        crate::cases::show_case,
        crate::cases::step_case,
        admin::sanctions::list_agreements,
        admin::sanctions::post_agreement,
        admin::sanctions::list_practitioners,
        admin::sanctions::post_practitioner,
        admin::sanctions::post_points,
        admin::sanctions::list_suspensions,
        admin::sanctions::post_suspension,
        admin::sanctions::get_credit,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "national", description = "The national interface a HIS calls (docs/interface.md)"),
        (name = "operations", description = "Health, metrics and this document; no authentication"),
        (name = "peer", description = "The inter-platform API (direct settlement between \
        platforms, docs/peers.md): HMAC-SHA256 signed by a peer listed in `[[peers]]`"),
        (name = "admin", description = "Registry, policies, catalogues, verification: bearer \
        `admin_token`; off (404) when no token is configured, unless `admin_open`"),
    )
)]
struct ApiDoc;

/// The security schemes the annotations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let admin = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "`Authorization: Bearer <admin_token>` (`YIBAO_ADMIN_TOKEN`).",
            ))
            .build();
        components.add_security_scheme("admin_token", SecurityScheme::Http(admin));
        components.add_security_scheme(
            "csb",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "_api_access_key",
                "CSB gateway (`auth = \"csb\"`): `_api_name` (= infno), `_api_version`, \
                 `_api_timestamp` (ms), `_api_access_key`, and `_api_signature` = \
                 Base64(HMAC-SHA1(secret, the other four as k=v sorted, joined by &)).",
            ))),
        );
        components.add_security_scheme(
            "peer",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-peer-key",
                "Another platform (`[[peers]]`): `x-peer-key` (the pair's access_key), \
                 `x-peer-timestamp` (s), `x-peer-nonce` (once per key), and `x-peer-signature` = \
                 hex HMAC-SHA256(secret, method \\n path \\n timestamp \\n nonce \\n hex SHA-256(body)).",
            ))),
        );
        components.add_security_scheme(
            "tif",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-tif-paasid",
                "TIF gateway (`auth = \"tif\"`): `x-tif-paasid`, `x-tif-timestamp` (s), \
                 `x-tif-nonce`, and `x-tif-signature` = hex SHA-256(timestamp + token + nonce + \
                 timestamp).",
            ))),
        );
    }
}

/// The document of a service with `config`: the national paths below its `path_prefix`, and
/// `callService` also with a trailing `/`, which the router sends to the same handler.
pub fn document(config: &Config) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    add_trailing_slash(&mut doc, app::CALL_SERVICE_PATH);
    let prefix = app::national_prefix(config);
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| {
            if path.starts_with(NATIONAL_ROOT) {
                (format!("{prefix}{path}"), item)
            } else {
                (path, item)
            }
        })
        .collect();
    doc
}

/// Describes `path` + `/` as the operation of `path` (with its own operation id).
fn add_trailing_slash(doc: &mut utoipa::openapi::OpenApi, path: &str) {
    let Some(mut item) = doc.paths.paths.get(path).cloned() else {
        return;
    };
    if let Some(operation) = item.post.as_mut() {
        operation.operation_id = operation
            .operation_id
            .as_ref()
            .map(|id| format!("{id}_slash"));
        operation.summary = Some("Call a transaction (the address with a trailing `/`)".into());
    }
    doc.paths.paths.insert(format!("{path}/"), item);
}

/// OpenAPI document
///
/// This document, for this server's configuration.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub(crate) async fn openapi_json(State(service): State<Service>) -> Response {
    Json(document(&service.shared.config)).into_response()
}
