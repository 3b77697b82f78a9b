//! The HTTP application: `callService` (with the gateway layer), `/healthz`, `/metrics`, `/admin/*`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::timeout::RequestBodyTimeoutLayer;
use yibao_ledger::{GroupCommit, Store};

use crate::auth;
use crate::config::Config;
use crate::error::TxError;
use crate::listener::ConnectionLimits;
use crate::replay::ReplayGuard;
use crate::service::{CallMeta, Service};
use crate::state::{RegistryError, Shared};
use crate::writer::TxWriter;

/// Path of the national endpoint below the configured prefix.
pub const CALL_SERVICE_PATH: &str = "/fsi/api/rsfComIfsService/callService";

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
struct AppState {
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
    Ok(Service {
        shared,
        writer,
        replay,
    })
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

/// The router of a started service; a request body must arrive within `body_timeout_ms`.
pub fn router(service: Service) -> Router {
    let body_timeout = Duration::from_millis(service.shared.config.body_timeout_ms.max(1));
    let prefix = service
        .shared
        .config
        .path_prefix
        .trim_end_matches('/')
        .to_string();
    let state = AppState {
        service: service.clone(),
    };
    let service_for_fallback = service.clone();
    let call = Router::new()
        .route(&format!("{prefix}{CALL_SERVICE_PATH}"), post(call_service))
        .route(&format!("{prefix}{CALL_SERVICE_PATH}/"), post(call_service))
        .route(
            &format!("{prefix}{CALL_SERVICE_PATH}/{{infno}}"),
            post(call_service_infno),
        )
        .layer(DefaultBodyLimit::disable())
        .with_state(state);
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(crate::admin::routes(&service))
        .with_state(service);
    let fallback_service = service_for_fallback;
    call.merge(ops)
        .fallback(move |uri: axum::http::Uri| {
            let service = fallback_service.clone();
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
    let limits = connection_limits(&config);
    let service = start_service(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| StartError::Listen {
            addr: "127.0.0.1:0".into(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: "127.0.0.1:0".into(),
        source,
    })?;
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

async fn call_service(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle_call(state, headers, None, body).await
}

async fn call_service_infno(
    State(state): State<AppState>,
    Path(infno): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle_call(state, headers, Some(infno), body).await
}

async fn handle_call(
    state: AppState,
    headers: HeaderMap,
    path_infno: Option<String>,
    body: Body,
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
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "code": 401, "message": error.to_string() })),
            )
                .into_response();
        }
    };
    let limit = state.service.shared.config.body_limit_bytes;
    let (bytes, body_error) = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => (bytes, None),
        Err(error) => (Default::default(), Some(body_refusal(&state, error))),
    };
    let meta = CallMeta {
        gateway: gateway.as_ref(),
        path_infno: path_infno.as_deref(),
        body_error,
    };
    json_reply(state.service.call(&bytes, meta).await)
}

/// Why a request body could not be read: too large, or too slow.
fn body_refusal(state: &AppState, error: axum::Error) -> TxError {
    let config = &state.service.shared.config;
    let inner = error.into_inner();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return TxError::new(
                "body",
                format!(
                    "is larger than the limit of {} bytes",
                    config.body_limit_bytes
                ),
            );
        }
        source = cause.source();
    }
    TxError::new(
        "body",
        format!(
            "was not received completely within {} ms",
            config.body_timeout_ms
        ),
    )
}

async fn healthz(State(service): State<Service>) -> Response {
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

async fn metrics(State(service): State<Service>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        service.shared.metrics.render(),
    )
        .into_response()
}
