//! Counter-staff 异地就医备案 (`/admin/filings`): list, file and cancel in the insured platform's
//! register, checked like 2501/2505 ([`crate::filing_register`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yibao_ledger::remote_filings::{self, ListFilter, RemoteFiling};
use yibao_ledger::LedgerError;

use super::{now_text, parse_body, refuse, AdminQuery, AdminRefusal, GuardRefusal};
use crate::error::TxError;
use crate::filing_register::{self, FilingRequest};
use crate::service::Service;

/// Default number of filings a list returns.
const LIST_LIMIT_DEFAULT: u32 = 100;
/// Longest filing serial accepted in a path (they are 23 digits).
const SN_MAX_CHARS: usize = 50;

/// A counter filing: the fields of 2505 and who files.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CounterFiling {
    #[serde(flatten)]
    pub filing: FilingRequest,
    /// The counter clerk (工号 or name), recorded with the filing.
    pub operator: String,
}

/// One filing of the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingView {
    pub trt_dcla_detl_sn: String,
    /// The insured pooling region.
    pub insu_admdvs: String,
    pub psn_no: String,
    /// Empty: every scheme.
    pub insutype: String,
    pub fil_type: String,
    pub fil_type_name: String,
    pub mdtrtarea_admdvs: String,
    pub refl_type: String,
    pub reflin_medins_no: String,
    pub dise_codg: String,
    pub begndate: String,
    /// Empty while open.
    pub enddate: String,
    /// `2501`, `2505` or `counter`.
    pub source: String,
    pub fixmedins_code: String,
    pub operator: String,
    pub valid: bool,
    pub created_at: String,
    pub cancelled_at: String,
}

impl FilingView {
    fn of(filing: RemoteFiling) -> FilingView {
        FilingView {
            fil_type: filing.fil_type.code().to_string(),
            fil_type_name: filing.fil_type.label().unwrap_or_default().to_string(),
            trt_dcla_detl_sn: filing.trt_dcla_detl_sn,
            insu_admdvs: filing.insu_admdvs.to_string(),
            psn_no: filing.psn_no,
            insutype: filing.insutype,
            mdtrtarea_admdvs: filing.mdtrtarea_admdvs.to_string(),
            refl_type: filing.refl_type,
            reflin_medins_no: filing.reflin_medins_no,
            dise_codg: filing.dise_codg,
            begndate: filing.begndate.to_string(),
            enddate: filing.enddate.map(|d| d.to_string()).unwrap_or_default(),
            source: filing.source.as_str().to_string(),
            fixmedins_code: filing.fixmedins_code,
            operator: filing.operator,
            valid: filing.valid,
            created_at: filing.created_at,
            cancelled_at: filing.cancelled_at,
        }
    }
}

/// A filing made or cancelled.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingDone {
    pub ok: bool,
    pub filing: FilingView,
}

/// Filings listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingList {
    pub ok: bool,
    pub filings: Vec<FilingView>,
}

/// Which filings to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct FilingQuery {
    /// One person's filings.
    pub psn_no: Option<String>,
    /// One insured pooling region's filings.
    pub insu_admdvs: Option<String>,
    /// Cancelled filings too.
    #[serde(default)]
    pub all: bool,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

fn storage(error: &LedgerError) -> Response {
    refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
}

fn field_refusal(error: &TxError) -> Response {
    if error.field == crate::error::STORAGE {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string());
    }
    refuse(StatusCode::BAD_REQUEST, error.to_string())
}

/// List filings
///
/// The register's filings, newest first: of a person, of an insured region, or all; valid ones
/// unless `all`.
#[utoipa::path(get, path = "/admin/filings", tag = "admin",
    security(("admin_token" = [])),
    params(FilingQuery),
    responses(
        (status = 200, description = "The filings", body = FilingList),
        (status = 400, description = "`limit` out of range", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_filings(
    State(service): State<Service>,
    AdminQuery(query): AdminQuery<FilingQuery>,
) -> Response {
    let limit = query.limit.unwrap_or(LIST_LIMIT_DEFAULT);
    if limit == 0 || limit > remote_filings::LIST_LIMIT_MAX {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "参数 limit 有误：{limit} 不在 1 至 {} 之间",
                remote_filings::LIST_LIMIT_MAX
            ),
        );
    }
    let filter = ListFilter {
        insu_admdvs: query.insu_admdvs,
        psn_no: query.psn_no,
        include_cancelled: query.all,
    };
    let listed = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        remote_filings::list(&mut conn, &filter, limit).await
    }
    .await;
    match listed {
        Ok(filings) => Json(FilingList {
            ok: true,
            filings: filings.into_iter().map(FilingView::of).collect(),
        })
        .into_response(),
        Err(e) => storage(&e),
    }
}

/// File at the counter
///
/// Files a person's 异地就医备案 (long-term: 01 异地安置退休, 02 异地长期居住, 03 常驻异地工作;
/// temporary: 04 异地转诊, 05 异地急诊抢救, 06 其他临时外出), checked field by field like 2505.
/// Filing the same kind, place and start day again returns the first filing.
#[utoipa::path(post, path = "/admin/filings", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = CounterFiling, content_type = "application/json"),
    responses(
        (status = 200, description = "The filing", body = FilingDone),
        (status = 400, description = "A field is wrong (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn post_filing(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    // The filing's fields first: a flattened struct's errors would not name the field.
    let parsed = parse_body::<FilingRequest>(&body).and_then(|_| parse_body(&body));
    let request: CounterFiling = match parsed {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    if request.operator.trim().is_empty() || request.operator.chars().count() > 50 {
        return refuse(
            StatusCode::BAD_REQUEST,
            "参数 body.operator 有误：须填写经办人（不超过 50 个字符）",
        );
    }
    let content = String::from_utf8_lossy(&body).into_owned();
    let regions = service.shared.regions();
    let filed = filing_register::file_at_counter(
        &service.shared.store,
        &regions,
        &request.filing,
        request.operator.trim(),
        content,
    )
    .await;
    match filed {
        Ok(filing) => Json(FilingDone {
            ok: true,
            filing: FilingView::of(filing),
        })
        .into_response(),
        Err(error) => field_refusal(&error),
    }
}

/// Cancel a filing
///
/// Cancels a valid filing, whoever made it; it stays in the register, no longer valid.
#[utoipa::path(post, path = "/admin/filings/{trt_dcla_detl_sn}/cancel", tag = "admin",
    security(("admin_token" = [])),
    params(("trt_dcla_detl_sn" = String, Path, description = "The filing's serial")),
    responses(
        (status = 200, description = "The filing, cancelled", body = FilingDone),
        (status = 400, description = "Not a filing serial (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No such filing, or the admin API is off", body = AdminRefusal),
        (status = 409, description = "Already cancelled", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn cancel_filing(
    State(service): State<Service>,
    Path(sn): Path<String>,
) -> Response {
    if sn.is_empty() || sn.chars().count() > SN_MAX_CHARS || sn.contains(char::is_control) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("参数 trt_dcla_detl_sn 有误：须为 1 至 {SN_MAX_CHARS} 个字符，不含控制字符"),
        );
    }
    let done = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        let cancelled = remote_filings::cancel(&mut conn, &sn, &now_text()).await?;
        let found = remote_filings::filing(&mut conn, &sn).await?;
        Ok::<_, LedgerError>((cancelled, found))
    }
    .await;
    match done {
        Ok((true, Some(filing))) => Json(FilingDone {
            ok: true,
            filing: FilingView::of(filing),
        })
        .into_response(),
        Ok((false, Some(_))) => refuse(StatusCode::CONFLICT, format!("备案 {sn} 已撤销")),
        Ok((_, None)) => refuse(StatusCode::NOT_FOUND, format!("没有备案 {sn}")),
        Err(e) => storage(&e),
    }
}
