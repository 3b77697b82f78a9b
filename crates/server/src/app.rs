//! The HTTP application: `callService` (with the gateway layer), `/healthz`, `/metrics`,
//! `/openapi.json`, `/admin/*`. Every route is an entry of one of the endpoint lists below
//! ([`route_table`]), and the OpenAPI document describes each of them (`tests/openapi.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use tower_http::timeout::RequestBodyTimeoutLayer;
use yibao_ledger::{GroupCommit, Store};

use crate::auth;
use crate::config::Config;
use crate::envelope::{Reply, Request};
use crate::error::TxError;
use crate::listener::ConnectionLimits;
use crate::replay::ReplayGuard;
use crate::routes::{router_of, table_of, Endpoint};
use crate::service::{CallMeta, Service};
use crate::state::{RegistryError, Shared};
use crate::writer::TxWriter;

/// Path of the national endpoint below the configured prefix.
pub const CALL_SERVICE_PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// Path of 9101 文件上传 below the configured prefix.
pub const FILE_UPLOAD_PATH: &str = "/fsi/api/fileupload/upload";

/// Path of 9102 文件下载 below the configured prefix.
pub const FILE_DOWNLOAD_PATH: &str = "/fsi/api/fileupload/download";

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Ledger(#[from] yibao_ledger::LedgerError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

#[derive(Clone)]
pub(crate) struct AppState {
    service: Service,
}

/// Opens the configured database (migrating it), takes its writer lock (refusing to start beside
/// another writer of the database), loads the registry and starts the ledger writer.
pub async fn start_service(config: Config) -> Result<Service, StartError> {
    let store = if config.database.is_empty() {
        Store::open_data_dir(&config.data_dir).await?
    } else {
        Store::open(&config.database).await?
    };
    let writer_lock = store.lock_writer().await?;
    let max_batch = config.max_batch;
    if config.admin_token.is_empty() && config.admin_open {
        tracing::warn!("{}", crate::admin::access_summary(&config));
    } else {
        tracing::info!("{}", crate::admin::access_summary(&config));
    }
    let replay = ReplayGuard::start(store.clone(), chrono::Utc::now().timestamp()).await?;
    let shared = Arc::new(Shared::load(store.clone(), config).await?);
    let writer = GroupCommit::start(
        writer_lock,
        Arc::new(TxWriter {
            shared: Arc::clone(&shared),
        }),
        max_batch,
    );
    let service = Service {
        shared,
        writer,
        replay,
    };
    crate::peer::recover(&service);
    crate::sanctions::watch(&service.shared);
    crate::care_state::warm_in_background(&service.shared, chrono::Local::now().naive_local());
    Ok(service)
}

/// How long open connections may finish their request after shutdown was asked for.
const DRAIN_TIMEOUT_MS: u64 = 10_000;

/// The listener limits of a configuration.
fn connection_limits(config: &Config) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: config.max_connections,
        header_timeout_ms: config.header_timeout_ms,
        drain_timeout_ms: DRAIN_TIMEOUT_MS,
    }
}

/// The configured gateway prefix of the national routes, without a trailing `/`.
pub fn national_prefix(config: &Config) -> &str {
    config.path_prefix.trim_end_matches('/')
}

/// The national-interface routes below `prefix`.
fn national_endpoints(prefix: &str) -> Vec<Endpoint<AppState>> {
    vec![
        Endpoint::post(format!("{prefix}{CALL_SERVICE_PATH}"), call_service),
        Endpoint::post(format!("{prefix}{CALL_SERVICE_PATH}/"), call_service),
        Endpoint::post(
            format!("{prefix}{CALL_SERVICE_PATH}/{{infno}}"),
            call_service_infno,
        ),
        Endpoint::post(format!("{prefix}{FILE_UPLOAD_PATH}"), file_upload),
        Endpoint::post(format!("{prefix}{FILE_DOWNLOAD_PATH}"), file_download),
    ]
}

/// The operations routes: health, metrics, the OpenAPI document.
fn ops_endpoints() -> Vec<Endpoint<Service>> {
    vec![
        Endpoint::get("/healthz", healthz),
        Endpoint::get("/metrics", metrics),
        Endpoint::get(crate::openapi::OPENAPI_PATH, crate::openapi::openapi_json),
    ]
}

/// Every `(method, path)` the router of a service with `config` answers, from the same endpoint
/// lists [`router`] is built from.
pub fn route_table(config: &Config) -> Vec<(Method, String)> {
    let mut table = table_of(&national_endpoints(national_prefix(config)));
    table.extend(table_of(&ops_endpoints()));
    table.extend(table_of(&crate::admin::endpoints()));
    table.extend(table_of(&crate::peer::endpoints()));
    table
}

/// The router of a started service; a request body must arrive within `body_timeout_ms`.
pub fn router(service: Service) -> Router {
    let config = &service.shared.config;
    let body_timeout = Duration::from_millis(config.body_timeout_ms.max(1));
    let prefix = national_prefix(config).to_string();
    let state = AppState {
        service: service.clone(),
    };
    let service_for_fallback = service.clone();
    let call = router_of(national_endpoints(&prefix))
        .layer(DefaultBodyLimit::disable())
        .with_state(state);
    let ops = router_of(ops_endpoints())
        .merge(crate::admin::routes(&service))
        .merge(crate::peer::routes())
        .with_state(service);
    call.merge(ops)
        .fallback(move |uri: axum::http::Uri| {
            let service = service_for_fallback.clone();
            async move { json_reply(service.unknown_path(uri.path(), &prefix)) }
        })
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
}

/// Binds `config.listen` and serves until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let listen = config.listen.clone();
    let limits = connection_limits(&config);
    let service = start_service(config).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: listen.clone(),
            source,
        })?;
    tracing::info!(listen = %listen, "yibao serving");
    crate::listener::serve(listener, router(service), limits, shutdown).await;
    Ok(())
}

/// Starts the service on an ephemeral local port in the background for the rest of the process
/// (tests, embedding); [`spawn_stoppable`] gives a server that can be stopped.
pub async fn spawn(config: Config) -> Result<(SocketAddr, Service), StartError> {
    let running = spawn_stoppable(config).await?;
    Ok((running.addr, running.service.clone()))
}

/// A service listening on a local port, started by [`spawn_stoppable`].
pub struct Running {
    pub addr: SocketAddr,
    pub service: Service,
    stop: Arc<tokio::sync::Notify>,
    listener: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops listening, lets open requests finish, and waits until the ledger writer has stopped
    /// and released the database (another service may then open it). Every other clone of the
    /// [`Service`] must be dropped first, or the writer keeps running.
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.listener.await;
        let stopped = self.service.writer.stopped();
        drop(self.service);
        stopped.wait().await;
    }
}

/// Starts the service on an ephemeral local port in the background until [`Running::stop`].
pub async fn spawn_stoppable(config: Config) -> Result<Running, StartError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| StartError::Listen {
            addr: "127.0.0.1:0".into(),
            source,
        })?;
    spawn_on(listener, config).await
}

/// Starts the service on a listener bound beforehand, in the background until [`Running::stop`]
/// (platforms that list each other as peers know both addresses before either starts).
pub async fn spawn_on(
    listener: tokio::net::TcpListener,
    config: Config,
) -> Result<Running, StartError> {
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: "127.0.0.1:0".into(),
        source,
    })?;
    let limits = connection_limits(&config);
    let service = start_service(config).await?;
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopping = Arc::clone(&stop);
    let listener = tokio::spawn(crate::listener::serve(
        listener,
        router(service.clone()),
        limits,
        async move { stopping.notified().await },
    ));
    Ok(Running {
        addr,
        service,
        stop,
        listener,
    })
}

fn json_reply(text: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
        .into_response()
}

/// A request refused by the gateway (HTTP 401): not a reply envelope, as the national gateway does.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GatewayRefusal {
    /// Always 401.
    pub code: u16,
    /// Which header is missing or wrong (`bad _api_signature`, `x-tif-nonce was already used …`, …).
    pub message: String,
}

/// What the operations of the national endpoint say in the OpenAPI document.
const CALL_SERVICE_DESCRIPTION: &str = "The national 定点医药机构接口: one endpoint for every \
transaction, selected by the envelope's `infno`. The body is the request envelope as JSON (sent as \
`text/plain` or `application/json`); the reply is always HTTP 200 with a reply envelope, `infcode` 0 \
with `output`, or −1 with `err_msg` naming the field. The transactions, their `input` and `output` \
nodes and yibao's limits are documented in docs/interface.md. When the gateway scheme (`auth`) is \
`csb` or `tif`, the request carries its signature headers (docs/interface.md §Gateway); a refused \
request gets HTTP 401 with `{code, message}`. The path is below the configured `path_prefix`.";

/// Call a transaction
#[utoipa::path(post, path = "/fsi/api/rsfComIfsService/callService", tag = "national",
    description = CALL_SERVICE_DESCRIPTION,
    security((), ("csb" = []), ("tif" = [])),
    request_body(content(
        (Request = "text/plain"),
        (Request = "application/json"),
    )),
    responses(
        (status = 200, description = "A reply envelope: `infcode` 0 with `output`, or −1 with `err_msg` (also for a body too large or too slow)", body = Reply),
        (status = 401, description = "Refused by the gateway layer", body = GatewayRefusal),
    ))]
pub(crate) async fn call_service(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = state.service.shared.config.body_limit_bytes;
    handle_call(state, headers, None, body, limit).await
}

/// Call a transaction named in the path
///
/// As `callService`; some clients append the `infno`, which must then equal the envelope's.
#[utoipa::path(post, path = "/fsi/api/rsfComIfsService/callService/{infno}", tag = "national",
    description = CALL_SERVICE_DESCRIPTION,
    security((), ("csb" = []), ("tif" = [])),
    params(("infno" = String, Path, description = "The transaction code; must equal the envelope's `infno`")),
    request_body(content(
        (Request = "text/plain"),
        (Request = "application/json"),
    )),
    responses(
        (status = 200, description = "A reply envelope: `infcode` 0 with `output`, or −1 with `err_msg`", body = Reply),
        (status = 401, description = "Refused by the gateway layer", body = GatewayRefusal),
    ))]
pub(crate) async fn call_service_infno(
    State(state): State<AppState>,
    Path(infno): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = state.service.shared.config.body_limit_bytes;
    handle_call(state, headers, Some(infno), body, limit).await
}

/// Upload a file (9101 文件上传)
///
/// The request envelope of 9101 (`infno` 9101, `input.fsUploadIn` {`in`: the file's bytes as base64,
/// also named `file`; `filename`; `fixmedins_code`}). The reply envelope's `output` holds
/// `file_qury_no`, `filename`, `fixmedins_code` and `dld_endtime`. The file may be at most
/// `file_limit_bytes`; it can be downloaded by this institution only, until `dld_endtime`.
#[utoipa::path(post, path = "/fsi/api/fileupload/upload", tag = "national",
    security((), ("csb" = []), ("tif" = [])),
    request_body(content(
        (Request = "text/plain"),
        (Request = "application/json"),
    )),
    responses(
        (status = 200, description = "A reply envelope: `infcode` 0 with `output` {file_qury_no, filename, fixmedins_code, dld_endtime}, or −1 with `err_msg`", body = Reply),
        (status = 401, description = "Refused by the gateway layer", body = GatewayRefusal),
    ))]
pub(crate) async fn file_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = file_body_limit(&state.service.shared.config);
    handle_call(state, headers, Some("9101".into()), body, limit).await
}

/// Download a file (9102 文件下载)
///
/// The request envelope of 9102 (`infno` 9102, `input.fsDownloadIn` {`file_qury_no`, `filename`,
/// `fixmedins_code` — `plc` for catalogue files is accepted}). The reply is the file's bytes; a
/// refusal (unknown, another institution's or expired file) is a reply envelope.
#[utoipa::path(post, path = "/fsi/api/fileupload/download", tag = "national",
    security((), ("csb" = []), ("tif" = [])),
    request_body(content(
        (Request = "text/plain"),
        (Request = "application/json"),
    )),
    responses(
        (status = 200, description = "The file's bytes (`application/octet-stream`), or on failure a reply envelope (`application/json`) with `infcode` −1 and `err_msg`", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 401, description = "Refused by the gateway layer", body = GatewayRefusal),
    ))]
pub(crate) async fn file_download(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = state.service.shared.config.body_limit_bytes;
    handle_call(state, headers, Some("9102".into()), body, limit).await
}

/// The body limit of the file routes: a file of `file_limit_bytes` in base64 plus its envelope.
fn file_body_limit(config: &Config) -> usize {
    let base64_bytes = config.file_limit_bytes.div_ceil(3).saturating_mul(4);
    config
        .body_limit_bytes
        .max(base64_bytes.saturating_add(64 * 1024))
}

async fn handle_call(
    state: AppState,
    headers: HeaderMap,
    path_infno: Option<String>,
    body: Body,
    limit: usize,
) -> Response {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let gateway = match auth::verify(
        &state.service.shared,
        &state.service.replay,
        &headers,
        now_ms,
    )
    .await
    {
        Ok(gateway) => gateway,
        Err(error) => {
            tracing::info!(reason = %error, "gateway refused");
            let refusal = GatewayRefusal {
                code: StatusCode::UNAUTHORIZED.as_u16(),
                message: error.to_string(),
            };
            return (StatusCode::UNAUTHORIZED, Json(refusal)).into_response();
        }
    };
    let (bytes, body_error) = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => (bytes, None),
        Err(error) => (Default::default(), Some(body_refusal(&state, error, limit))),
    };
    let meta = CallMeta {
        gateway: gateway.as_ref(),
        path_infno: path_infno.as_deref(),
        body_error,
    };
    let outcome = state.service.answer(&bytes, meta).await;
    match outcome.download {
        Some(download) => file_reply(download),
        None => json_reply(outcome.reply),
    }
}

/// A downloaded file: its bytes as `application/octet-stream`, named in `Content-Disposition`.
fn file_reply(download: crate::tx::files::Download) -> Response {
    let encoded: String = download
        .filename
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{encoded}"),
            ),
        ],
        download.bytes,
    )
        .into_response()
}

/// Why a request body could not be read: larger than `limit`, or too slow.
fn body_refusal(state: &AppState, error: axum::Error, limit: usize) -> TxError {
    let config = &state.service.shared.config;
    let inner = error.into_inner();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return TxError::new(crate::error::BODY, format!("超过 {limit} 字节的上限"));
        }
        source = cause.source();
    }
    TxError::new(
        crate::error::BODY,
        format!("未在 {} 毫秒内完整接收", config.body_timeout_ms),
    )
}

/// Health
///
/// Whether the ledger database answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "`ok`", body = String, content_type = "text/plain"),
        (status = 503, description = "`ledger unavailable: …`", body = String, content_type = "text/plain"),
    ))]
pub(crate) async fn healthz(State(service): State<Service>) -> Response {
    match sqlx_ping(&service).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("ledger unavailable: {e}\n"),
        )
            .into_response(),
    }
}

async fn sqlx_ping(service: &Service) -> Result<(), yibao_ledger::LedgerError> {
    let mut conn = service.shared.store.pool().acquire().await?;
    yibao_ledger::entries::entry_count(&mut conn)
        .await
        .map(|_| ())
}

/// Metrics
///
/// Prometheus text exposition: requests by `infno` and outcome, latency histograms, ledger
/// commits, write messages in flight, settlements and cancellations (docs/operations.md).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Metrics in the Prometheus text format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
    ))]
pub(crate) async fn metrics(State(service): State<Service>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        service.shared.metrics.render(),
    )
        .into_response()
}
