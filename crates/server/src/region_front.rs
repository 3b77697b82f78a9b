//! One front for a province's pooling regions, each in a database of its own (`[[regions]]` of the
//! config; `docs/operations.md`, sharding). Every region runs as a service of its own — its own
//! writer, writer lock, registry, policies and ledger — on a loopback port; the front answers the
//! national routes (`callService`, the file channel) and sends each message to the service of the
//! region its insured place lies in (the envelope's `insuplc_admdvs`, else `mdtrtarea_admvs`;
//! neither in a listed region: the first one, whose service answers it). Admin, metrics and the
//! inter-platform API are each region service's own, on its port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::app::{spawn_stoppable, Running, StartError};
use crate::config::{Config, RegionDatabase};

/// Headers not forwarded: the front's own connection to the region's service sets them.
const HOP_HEADERS: [&str; 4] = ["host", "content-length", "connection", "transfer-encoding"];

/// The digits of a pooling region code that its places begin with (`360100` → `3601`).
pub fn region_prefix(admdvs: &str) -> &str {
    let mut prefix = admdvs;
    while prefix.len() > 2 && prefix.ends_with("00") {
        prefix = &prefix[..prefix.len() - 2];
    }
    prefix
}

/// The region (index into `regions`) a national message goes to: the one its insured place
/// (`insuplc_admdvs`) lies in, else the one of the place of treatment (`mdtrtarea_admvs`), else
/// the first.
pub fn region_of_message(regions: &[RegionDatabase], body: &[u8]) -> usize {
    let envelope: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    ["insuplc_admdvs", "mdtrtarea_admvs"]
        .iter()
        .filter_map(|field| envelope.get(field).and_then(|v| v.as_str()))
        .find_map(|place| {
            let place = place.trim();
            regions
                .iter()
                .position(|r| !place.is_empty() && place.starts_with(region_prefix(&r.admdvs)))
        })
        .unwrap_or(0)
}

/// The region services behind a front.
struct Regions {
    listed: Vec<RegionDatabase>,
    running: Vec<Running>,
    client: reqwest::Client,
    body_limit_bytes: usize,
}

/// A front and its region services, started by [`spawn_front`].
pub struct RunningFront {
    pub addr: SocketAddr,
    regions: Arc<Regions>,
    stop: Arc<tokio::sync::Notify>,
    listener: tokio::task::JoinHandle<()>,
}

impl RunningFront {
    /// `http://` address of a region's own service (its admin API, metrics), by region code.
    pub fn region_url(&self, admdvs: &str) -> Option<String> {
        let index = self
            .regions
            .listed
            .iter()
            .position(|r| r.admdvs == admdvs)?;
        Some(format!("http://{}", self.regions.running[index].addr))
    }

    /// Stops the front, then every region service (each releases its database).
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.listener.await;
        if let Ok(regions) = Arc::try_unwrap(self.regions) {
            for running in regions.running {
                running.stop().await;
            }
        }
    }
}

/// Starts a service per `[[regions]]` entry on a loopback port: the front's settings with the
/// region's database and the region as its platform.
async fn start_regions(config: &Config) -> Result<Regions, StartError> {
    let mut running = Vec::new();
    for region in &config.regions {
        let region_config = Config {
            database: region.database_url.clone(),
            platform_admdvs: region.admdvs.clone(),
            regions: Vec::new(),
            ..config.clone()
        };
        let started = spawn_stoppable(region_config).await?;
        tracing::info!(admdvs = %region.admdvs, addr = %started.addr, "region service");
        running.push(started);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(config.body_timeout_ms.max(1)).saturating_mul(4))
        .build()
        .map_err(|e| StartError::Listen {
            addr: "region services".into(),
            source: std::io::Error::other(e),
        })?;
    Ok(Regions {
        listed: config.regions.clone(),
        running,
        client,
        body_limit_bytes: config
            .body_limit_bytes
            .max(config.file_limit_bytes.saturating_mul(2)),
    })
}

/// Forwards one request to its region's service and answers what it answered.
async fn forward(
    State(regions): State<Arc<Regions>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, regions.body_limit_bytes).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let index = region_of_message(&regions.listed, &bytes);
    let target = format!(
        "http://{}{}",
        regions.running[index].addr,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = regions.client.request(method, target).body(bytes);
    for (name, value) in &headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => relay(answer).await,
        Err(error) => {
            tracing::warn!(%error, "region service unreachable");
            (StatusCode::BAD_GATEWAY, "region service unreachable").into_response()
        }
    }
}

async fn relay(answer: reqwest::Response) -> Response {
    let status = answer.status();
    let content_type = answer.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    let body: Bytes = answer.bytes().await.unwrap_or_default();
    let mut response = (status, body).into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(reqwest::header::CONTENT_TYPE, content_type);
    }
    response
}

fn front_router(regions: Arc<Regions>) -> Router {
    Router::new().fallback(forward).with_state(regions)
}

/// Starts the region services and the front on `listener` in the background until
/// [`RunningFront::stop`].
pub async fn spawn_front(
    listener: tokio::net::TcpListener,
    config: &Config,
) -> Result<RunningFront, StartError> {
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen.clone(),
        source,
    })?;
    let regions = Arc::new(start_regions(config).await?);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopping = Arc::clone(&stop);
    let app = front_router(Arc::clone(&regions));
    let listener = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopping.notified().await })
            .await;
    });
    Ok(RunningFront {
        addr,
        regions,
        stop,
        listener,
    })
}

/// `yibao serve` with `[[regions]]`: binds `config.listen`, serves the front until `shutdown`
/// resolves, then stops the region services.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let front = spawn_front(listener, &config).await?;
    tracing::info!(listen = %config.listen, regions = config.regions.len(), "yibao front serving");
    shutdown.await;
    front.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Vec<RegionDatabase> {
        ["360400", "360100"]
            .iter()
            .map(|admdvs| RegionDatabase {
                admdvs: (*admdvs).into(),
                database_url: format!("postgres://db/{admdvs}"),
            })
            .collect()
    }

    #[test]
    fn a_region_prefix_drops_the_trailing_zero_pairs() {
        assert_eq!(region_prefix("360100"), "3601");
        assert_eq!(region_prefix("110000"), "11");
        assert_eq!(region_prefix("360402"), "360402");
    }

    #[test]
    fn a_message_goes_to_its_insured_region_else_its_place_of_treatment_else_the_first() {
        let regions = regions();
        let to = |body: &str| region_of_message(&regions, body.as_bytes());
        assert_eq!(
            to(r#"{"insuplc_admdvs":"360102","mdtrtarea_admvs":"360400"}"#),
            1
        );
        assert_eq!(
            to(r#"{"insuplc_admdvs":"360402","mdtrtarea_admvs":"360100"}"#),
            0
        );
        assert_eq!(to(r#"{"insuplc_admdvs":"","mdtrtarea_admvs":"360103"}"#), 1);
        assert_eq!(
            to(r#"{"insuplc_admdvs":"440100","mdtrtarea_admvs":"360100"}"#),
            1
        );
        assert_eq!(to(r#"{"insuplc_admdvs":"440100"}"#), 0);
        assert_eq!(to("not json"), 0);
    }
}
