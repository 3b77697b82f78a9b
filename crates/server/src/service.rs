//! One `callService` message from body to reply text: envelope, gateway identity, institution,
//! dispatch to the read path or the ledger writer, idempotent replay, metrics and a log line that
//! carries no certificate number or name.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDateTime;
use yibao_ledger::{GroupCommit, Institution, LedgerCache};

use crate::auth::GatewayIdentity;
use crate::envelope::{reply_text, Request};
use crate::error::TxError;
use crate::replay::ReplayGuard;
use crate::state::Shared;
use crate::tx::{self, Access, Ctx, Effect};
use crate::writer::{TxWriter, WriteJob, WriteOutcome};

/// What the HTTP layer knows about a message besides its body.
pub struct CallMeta<'a> {
    /// What the gateway key may do, when a gateway scheme is active.
    pub gateway: Option<&'a GatewayIdentity>,
    /// `infno` from a `/callService/{infno}` path.
    pub path_infno: Option<&'a str>,
    /// Set when the body was rejected before parsing (e.g. too large).
    pub body_error: Option<TxError>,
}

/// The service: shared state, the ledger writer and the gateway's replay guard.
#[derive(Clone)]
pub struct Service {
    pub shared: Arc<Shared>,
    pub writer: GroupCommit<TxWriter>,
    pub replay: Arc<ReplayGuard>,
}

impl Service {
    /// Processes one message; returns the reply envelope text.
    pub async fn call(&self, body: &[u8], meta: CallMeta<'_>) -> String {
        self.answer(body, meta).await.reply
    }

    /// Processes one message; returns the reply envelope text and, for a 9102 that succeeded, the
    /// file to answer with instead.
    pub async fn answer(&self, body: &[u8], meta: CallMeta<'_>) -> WriteOutcome {
        let started = Instant::now();
        let received_at = self.shared.now();
        let inf_refmsgid = self.shared.next_refmsgid(received_at);
        let parsed = match meta.body_error.clone() {
            Some(error) => Err(error),
            None => Request::parse(body),
        };
        let (infno, msgid, fixmedins) = match &parsed {
            Ok(r) => (r.infno.clone(), r.msgid.clone(), r.fixmedins_code.clone()),
            Err(_) => (String::new(), Request::sniff_msgid(body), String::new()),
        };
        let outcome = match parsed {
            Ok(request) => {
                self.dispatch(request, &meta, received_at, &inf_refmsgid)
                    .await
            }
            Err(error) => self.failed(&inf_refmsgid, received_at, &error),
        };
        if outcome.success {
            match outcome.effect {
                Effect::Settled => self.shared.metrics.settled(),
                Effect::Cancelled => self.shared.metrics.cancelled(),
                Effect::None => {}
            }
        }
        let latency = started.elapsed();
        self.shared
            .metrics
            .observe_request(&infno, outcome.success, latency);
        tracing::info!(
            infno = %infno,
            msgid = %msgid,
            fixmedins_code = %fixmedins,
            infcode = if outcome.success { 0 } else { -1 },
            latency_us = latency.as_micros() as u64,
            "callService"
        );
        outcome
    }

    /// The reply to a request for a path that is not an interface of this service: a reply
    /// envelope naming the path and the `callService` address, so a HIS shows a readable error.
    pub fn unknown_path(&self, path: &str, prefix: &str) -> String {
        let received_at = self.shared.now();
        let inf_refmsgid = self.shared.next_refmsgid(received_at);
        let shown: String = path.chars().take(200).collect();
        let error = TxError::new(
            crate::error::PATH,
            format!(
                "{shown} 不是本服务的接口地址；交易请发往 {prefix}{}",
                crate::app::CALL_SERVICE_PATH
            ),
        );
        self.failed(&inf_refmsgid, received_at, &error).reply
    }

    fn failed(
        &self,
        inf_refmsgid: &str,
        received_at: NaiveDateTime,
        error: &TxError,
    ) -> WriteOutcome {
        tracing::debug!(field = %error.field, "request rejected");
        let reply = reply_text(
            inf_refmsgid,
            received_at,
            chrono::Local::now().naive_local(),
            Err(error),
        );
        WriteOutcome {
            reply,
            success: false,
            effect: Effect::None,
            download: None,
        }
    }

    async fn dispatch(
        &self,
        request: Request,
        meta: &CallMeta<'_>,
        received_at: NaiveDateTime,
        inf_refmsgid: &str,
    ) -> WriteOutcome {
        let admitted = self.admit(&request, meta).await;
        if let Ok((institution, _)) = &admitted {
            match crate::peer::route(self, &request).await {
                Ok(crate::peer::Route::Local) => {}
                Ok(crate::peer::Route::Peer(peer)) => {
                    let at = (received_at, inf_refmsgid);
                    return crate::peer::handle(self, request, institution.clone(), at, peer).await;
                }
                Err(error) => return self.failed(inf_refmsgid, received_at, &error),
            }
        }
        match admitted {
            Ok((institution, Access::Read | Access::Registry)) => {
                self.read(request, institution, received_at, inf_refmsgid)
                    .await
            }
            Ok((institution, Access::Write)) => {
                self.write(request, institution, received_at, inf_refmsgid)
                    .await
            }
            Err(error) => self.failed(inf_refmsgid, received_at, &error),
        }
    }

    /// Checks the gateway identity, the institution and the `infno`.
    async fn admit(
        &self,
        request: &Request,
        meta: &CallMeta<'_>,
    ) -> Result<(Institution, Access), TxError> {
        if let Some(path_infno) = meta.path_infno {
            if path_infno != request.infno {
                return Err(TxError::new(
                    "infno",
                    format!(
                        "{} 与接口地址中的交易编号 {path_infno} 不一致",
                        request.infno
                    ),
                ));
            }
        }
        if let Some(gateway) = meta.gateway {
            if gateway.institution != request.fixmedins_code {
                return Err(TxError::new(
                    "fixmedins_code",
                    "与网关密钥所属的定点医药机构不一致",
                ));
            }
            if let Some(signed) = &gateway.signed_infno {
                if *signed != request.infno {
                    return Err(TxError::new(
                        "infno",
                        format!(
                            "{} 不是网关签名所针对的交易（_api_name {signed}）",
                            request.infno
                        ),
                    ));
                }
            }
        }
        let institution = self
            .shared
            .institution(&request.fixmedins_code)
            .await?
            .ok_or_else(|| {
                TxError::new(
                    "fixmedins_code",
                    format!("定点医药机构 {} 未登记", request.fixmedins_code),
                )
            })?;
        let spec = tx::spec(&request.infno).ok_or_else(|| tx::not_implemented(&request.infno))?;
        if spec.needs_agreement() {
            let today = self.shared.now().date();
            let sanctions = self.shared.sanctions();
            if let Some(refusal) = sanctions.institution_refusal(&institution.fixmedins_code, today)
            {
                return Err(refusal);
            }
        }
        Ok((institution, spec.access))
    }

    /// Runs a read transaction on its own task, so that even a bug that panics yields an error reply.
    async fn read(
        &self,
        request: Request,
        institution: Institution,
        received_at: NaiveDateTime,
        inf_refmsgid: &str,
    ) -> WriteOutcome {
        let shared = Arc::clone(&self.shared);
        let task = tokio::spawn(async move {
            let mut conn = shared
                .store
                .pool()
                .acquire()
                .await
                .map_err(|e| TxError::storage(&e.into()))?;
            let ctx = Ctx {
                shared: &shared,
                request: &request,
                institution: &institution,
                now: received_at,
            };
            let mut cache = LedgerCache::new(0);
            tx::run(&ctx, &mut cache.view(&mut conn)).await
        });
        let result = task.await.unwrap_or_else(|error| {
            tracing::error!(error = %error, "read transaction panicked");
            Err(TxError::internal(
                "交易意外中止（内部错误），未记录任何数据",
            ))
        });
        match result {
            Ok(done) => {
                let reply = reply_text(
                    inf_refmsgid,
                    received_at,
                    chrono::Local::now().naive_local(),
                    Ok(&done.output),
                );
                WriteOutcome {
                    reply,
                    success: true,
                    effect: Effect::None,
                    download: done.download,
                }
            }
            Err(error) => self.failed(inf_refmsgid, received_at, &error),
        }
    }

    async fn write(
        &self,
        request: Request,
        institution: Institution,
        received_at: NaiveDateTime,
        inf_refmsgid: &str,
    ) -> WriteOutcome {
        let job = WriteJob {
            request,
            institution,
            received_at,
            inf_refmsgid: inf_refmsgid.to_string(),
            peer: None,
            counter: None,
        };
        let _in_flight = self.shared.metrics.write_in_flight();
        match self.writer.submit(job).await {
            Ok(outcome) => outcome,
            Err(error) => self.failed(inf_refmsgid, received_at, &TxError::storage(&error)),
        }
    }
}
