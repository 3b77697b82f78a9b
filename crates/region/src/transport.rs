//! The in-process transport: the HIS messages of [`yibao_his`] handed to [`Service::call`], without
//! HTTP or gateway authentication.

use yibao_his::{Transport, TransportError};
use yibao_server::service::{CallMeta, Service};

/// Sends request bodies to a service in this process.
#[derive(Clone)]
pub struct InProcess {
    service: Service,
}

impl InProcess {
    /// A transport to `service`.
    pub fn new(service: Service) -> InProcess {
        InProcess { service }
    }
}

impl Transport for InProcess {
    async fn send(&self, body: String) -> Result<String, TransportError> {
        let meta = CallMeta {
            gateway: None,
            path_infno: None,
            body_error: None,
        };
        Ok(self.service.call(body.as_bytes(), meta).await)
    }
}
