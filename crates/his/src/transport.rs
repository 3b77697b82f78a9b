//! How a request body reaches a service: [`Transport`], and [`HttpTransport`] over HTTP.

use std::future::Future;

/// The path of the national interface's single endpoint (`interface.md` §1).
pub const CALL_SERVICE_PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// Sends one request body and returns the reply's text.
pub trait Transport: Send + Sync {
    /// Sends `body` (a request envelope's JSON text); the reply's text as received.
    fn send(&self, body: String) -> impl Future<Output = Result<String, TransportError>> + Send;
}

/// Why a body did not get a reply.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The HTTP request failed (connection, timeout, body).
    #[error("HTTP request failed")]
    Http(#[from] reqwest::Error),
    /// The service answered with an HTTP status other than success (e.g. a gateway's 401).
    #[error("HTTP status {status}: {body}")]
    Status { status: u16, body: String },
}

/// Posts bodies to `{base}/fsi/api/rsfComIfsService/callService`.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    url: String,
}

impl HttpTransport {
    /// A transport to the service at `base` (e.g. `http://127.0.0.1:8080`) through `client`, whose
    /// connection pool and timeouts it uses.
    pub fn new(client: reqwest::Client, base: &str) -> HttpTransport {
        HttpTransport {
            client,
            url: format!("{}{CALL_SERVICE_PATH}", base.trim_end_matches('/')),
        }
    }
}

impl Transport for HttpTransport {
    async fn send(&self, body: String) -> Result<String, TransportError> {
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(TransportError::Status {
                status: status.as_u16(),
                body: text,
            });
        }
        Ok(text)
    }
}
