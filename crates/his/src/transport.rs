//! How a request body reaches a service: [`Transport`], and over HTTP either [`HttpTransport`]
//! (a `reqwest` client and its connection pool) or [`ConnectionTransport`] (one keep-alive
//! connection of its own, as a HIS terminal holds: what `yibao load` uses, for less CPU per message).

use std::future::Future;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

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
    /// The service's address is not an `http://host:port` URL.
    #[error("{url} is not an http:// URL with a host")]
    Url { url: String },
    /// The connection to the service could not be opened.
    #[error("connecting to {addr}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The request failed on the connection (closed, reset, malformed reply).
    #[error("HTTP exchange failed")]
    Exchange(#[from] hyper::Error),
    /// No reply within the transport's timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
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

/// How long [`ConnectionTransport`] waits for a reply.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Posts bodies to `{base}/fsi/api/rsfComIfsService/callService` over one HTTP/1.1 keep-alive
/// connection of its own, one message at a time (a HIS terminal waits for each reply before the
/// next message). The connection is opened on first use and again after the service closed it (an
/// idle timeout) or an exchange on it failed. Without a pool, URL parsing or charset detection per
/// message it costs the sender less CPU than [`HttpTransport`].
pub struct ConnectionTransport {
    /// `host:port` to connect to.
    addr: String,
    /// The `Host` header.
    host: hyper::header::HeaderValue,
    /// The request target: the base URL's path and the endpoint's.
    path: hyper::Uri,
    connection: tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl ConnectionTransport {
    /// A transport to the service at `base` (`http://host:port`, optionally with a path prefix).
    pub fn new(base: &str) -> Result<ConnectionTransport, TransportError> {
        let bad = || TransportError::Url { url: base.into() };
        let url = reqwest::Url::parse(base).map_err(|_| bad())?;
        let host = url
            .host_str()
            .filter(|_| url.scheme() == "http")
            .ok_or_else(bad)?;
        let port = url.port_or_known_default().ok_or_else(bad)?;
        let addr = format!("{host}:{port}");
        let path = format!("{}{CALL_SERVICE_PATH}", url.path().trim_end_matches('/'));
        Ok(ConnectionTransport {
            host: hyper::header::HeaderValue::from_str(&addr).map_err(|_| bad())?,
            path: path.parse().map_err(|_| bad())?,
            addr,
            connection: tokio::sync::Mutex::new(None),
        })
    }

    /// A new connection, its I/O driven by a task of its own until either side closes it.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let connect_error = |source| TransportError::Connect {
            addr: self.addr.clone(),
            source,
        };
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(connect_error)?;
        stream.set_nodelay(true).map_err(connect_error)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Sends `body` on `sender`; the reply's status and text.
    async fn exchange(
        &self,
        sender: &mut SendRequest<Full<Bytes>>,
        body: String,
    ) -> Result<(u16, String), TransportError> {
        let request = hyper::Request::post(self.path.clone())
            .header(hyper::header::HOST, self.host.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| TransportError::Url {
                url: self.path.to_string(),
            })?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        let text = match String::from_utf8(Vec::from(bytes)) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        };
        Ok((status, text))
    }
}

impl Transport for ConnectionTransport {
    async fn send(&self, body: String) -> Result<String, TransportError> {
        let mut slot = self.connection.lock().await;
        let open = match slot.take() {
            Some(mut open) => open.ready().await.is_ok().then_some(open),
            None => None,
        };
        let mut sender = match open {
            Some(open) => open,
            None => self.connect().await?,
        };
        let (status, text) =
            tokio::time::timeout(CONNECTION_TIMEOUT, self.exchange(&mut sender, body))
                .await
                .map_err(|_| TransportError::Timeout(CONNECTION_TIMEOUT))??;
        *slot = Some(sender);
        if !(200..300).contains(&status) {
            return Err(TransportError::Status { status, body: text });
        }
        Ok(text)
    }
}
