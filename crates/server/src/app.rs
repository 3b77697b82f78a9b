//! The HTTP application: `callService` (with the gateway layer), `/healthz`, `/metrics`, `/admin/*`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use yibao_ledger::{GroupCommit, Store};

use crate::auth::{self, NonceCache};
use crate::config::Config;
use crate::error::TxError;
use crate::service::{CallMeta, Service};
use crate::state::{RegistryError, Shared};
use crate::writer::TxWriter;

/// Path of the national endpoint below the configured prefix.
pub const CALL_SERVICE_PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// Largest admin request (bulk person registration, catalogues).
const ADMIN_BODY_LIMIT_BYTES: usize = 256 * 1024 * 1024;

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
    nonces: Arc<NonceCache>,
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
    let shared = Arc::new(Shared::load(store.clone(), config).await?);
    let writer = GroupCommit::start(
        writer_lock,
        Arc::new(TxWriter {
            shared: Arc::clone(&shared),
        }),
        max_batch,
    );
    Ok(Service { shared, writer })
}

/// The router of a started service.
pub fn router(service: Service) -> Router {
    let prefix = service
        .shared
        .config
        .path_prefix
        .trim_end_matches('/')
        .to_string();
    let state = AppState {
        service: service.clone(),
        nonces: Arc::new(NonceCache::default()),
    };
    let call = Router::new()
        .route(&format!("{prefix}{CALL_SERVICE_PATH}"), post(call_service))
        .route(
            &format!("{prefix}{CALL_SERVICE_PATH}/{{infno}}"),
            post(call_service_infno),
        )
        .layer(DefaultBodyLimit::disable())
        .with_state(state);
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(crate::admin::routes())
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT_BYTES))
        .with_state(service);
    call.merge(ops)
}

/// Binds `config.listen` and serves until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let listen = config.listen.clone();
    let service = start_service(config).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: listen.clone(),
            source,
        })?;
    tracing::info!(listen = %listen, "yibao serving");
    axum::serve(listener, router(service))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| StartError::Listen {
            addr: listen,
            source,
        })
}

/// Starts the service on an ephemeral local port in the background (tests, embedding).
pub async fn spawn(config: Config) -> Result<(SocketAddr, Service), StartError> {
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
    let app = router(service.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, service))
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
    let gateway = match auth::verify(&state.service.shared, &state.nonces, &headers, now_ms).await {
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
        Err(_) => (
            Default::default(),
            Some(TxError::new(
                "body",
                format!("is larger than the limit of {limit} bytes"),
            )),
        ),
    };
    let meta = CallMeta {
        gateway_institution: gateway.as_ref().map(|g| g.0.as_str()),
        path_infno: path_infno.as_deref(),
        body_error,
    };
    json_reply(state.service.call(&bytes, meta).await)
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
