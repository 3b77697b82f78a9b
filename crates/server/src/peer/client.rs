//! Calls to another platform: signed ([`super::auth`]), each attempt bounded by `peer_timeout_ms`,
//! at most `peer_attempts` attempts while the peer cannot be reached, answers bounded by
//! [`BODY_LIMIT_BYTES`]. Every operation of the API is idempotent by its key, so an attempt sent
//! again after a lost reply does nothing twice.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::BODY_LIMIT_BYTES;
use crate::config::{Config, PeerConfig};

/// Why a call has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No answer (connection refused or dropped, timeout, a 5xx): the peer may or may not have
    /// acted on the call.
    #[error("异地平台 {url} 无应答：{problem}")]
    Unreachable { url: String, problem: String },
    /// The peer refused the call itself (authentication, a malformed body): it did nothing.
    #[error("异地平台 {url} 拒绝了请求（HTTP {status}）：{problem}")]
    Rejected {
        url: String,
        status: u16,
        problem: String,
    },
}

/// An HTTP client for the peers of one platform.
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    attempts: u32,
}

impl PeerClient {
    /// A client with the configured timeout and attempts.
    pub fn new(config: &Config) -> PeerClient {
        let timeout = Duration::from_millis(config.peer_timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        PeerClient {
            http,
            attempts: config.peer_attempts,
        }
    }

    /// Posts `body` to `path` of `peer`, sending it again (the same body, newly signed) while the
    /// peer cannot be reached, up to the configured attempts.
    pub async fn call<B: Serialize, A: DeserializeOwned>(
        &self,
        peer: &PeerConfig,
        path: &str,
        body: &B,
    ) -> Result<A, CallError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CallError::Rejected {
            url: peer.url.clone(),
            status: 0,
            problem: e.to_string(),
        })?;
        let mut last = None;
        for _ in 0..self.attempts {
            match self.attempt(peer, path, &bytes).await {
                Err(error @ CallError::Unreachable { .. }) => last = Some(error),
                done => return done,
            }
        }
        Err(last.unwrap_or_else(|| CallError::Unreachable {
            url: peer.url.clone(),
            problem: "no attempt made".into(),
        }))
    }

    async fn attempt<A: DeserializeOwned>(
        &self,
        peer: &PeerConfig,
        path: &str,
        bytes: &[u8],
    ) -> Result<A, CallError> {
        let url = format!("{}{path}", peer.url.trim_end_matches('/'));
        let unreachable = |problem: String| CallError::Unreachable {
            url: url.clone(),
            problem,
        };
        let now = chrono::Utc::now().timestamp();
        let mut request = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(bytes.to_vec());
        for (name, value) in super::auth::headers(peer, "POST", path, bytes, now) {
            request = request.header(name, value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unreachable(e.to_string()))?
        {
            if body.len() + chunk.len() > BODY_LIMIT_BYTES {
                return Err(unreachable(format!(
                    "answer longer than {BODY_LIMIT_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_server_error() {
            return Err(unreachable(format!(
                "HTTP {}: {}",
                status.as_u16(),
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )));
        }
        if !status.is_success() {
            return Err(CallError::Rejected {
                url,
                status: status.as_u16(),
                problem: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| unreachable(format!("malformed answer: {e}")))
    }
}
