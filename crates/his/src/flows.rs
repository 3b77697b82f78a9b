//! Whole HIS flows of one visit, chosen by `med_type` (a person insured on another platform: 1101
//! first):
//!
//! * inpatient (21): 2401 admission → 2301 fee upload → 2304 final settlement (`dscgTime` = the
//!   visit's `endtime`);
//! * pharmacy (41): 2102 purchase and settlement in one message;
//! * any other: 2201 registration → 2203 visit details → 2204 fee upload → 2207 settlement; a
//!   registration's further charge batches: 2204 → 2207 of each batch.

use std::time::{Duration, Instant};

use crate::client::Client;
use crate::reply::{HisError, Reply};
use crate::steps::{self, Message};
use crate::transport::Transport;
use crate::visit::{medfee_sumamt, Visit};

/// `med_type` of the inpatient flow (普通住院).
const INPATIENT: &str = "21";
/// `med_type` of the pharmacy flow (定点药店购药).
const PHARMACY: &str = "41";

/// What a flow settled.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub mdtrt_id: String,
    pub setl_id: String,
    /// Messages sent, the settling one included.
    pub messages: u32,
    /// From sending the settling message to its parsed reply.
    pub settle_latency: Duration,
    /// The settling message's reply.
    pub reply: Reply,
}

/// A flow that stopped at its first failure.
#[derive(Debug, thiserror::Error)]
#[error("the flow failed after {messages} messages")]
pub struct FlowFailed {
    /// Messages sent, the failed one included.
    pub messages: u32,
    #[source]
    pub error: HisError,
}

impl<T: Transport> Client<'_, T> {
    /// Settles `visit` with the flow its `med_type` takes.
    pub async fn settle_visit(&self, visit: &Visit) -> Result<Settled, FlowFailed> {
        match visit.med_type.as_str() {
            INPATIENT => self.inpatient(visit).await,
            PHARMACY => self.pharmacy(visit).await,
            _ => self.outpatient(visit).await,
        }
    }

    /// 1101 (the card read), then the flow of [`Client::settle_visit`]: a person insured on another
    /// platform, whose platform the treating one asks first.
    pub async fn settle_visit_insured_elsewhere(
        &self,
        visit: &Visit,
    ) -> Result<Settled, FlowFailed> {
        let mut run = Run::new(self);
        run.send(&steps::person_info(visit)).await?;
        let add_card_read = |messages: u32| messages + run.messages;
        match self.settle_visit(visit).await {
            Ok(settled) => Ok(Settled {
                messages: add_card_read(settled.messages),
                ..settled
            }),
            Err(failed) => Err(FlowFailed {
                messages: add_card_read(failed.messages),
                ..failed
            }),
        }
    }

    /// 2201 → 2203 → 2204 → 2207.
    pub async fn outpatient(&self, visit: &Visit) -> Result<Settled, FlowFailed> {
        let mut run = Run::new(self);
        let registered = run.send(&steps::register(visit)).await?;
        let mdtrt_id = run.read(steps::registered_mdtrt_id(&registered))?;
        run.send(&steps::visit_info(visit, &mdtrt_id)).await?;
        run.send(&steps::upload_outpatient_fees(visit, &mdtrt_id))
            .await?;
        let total = run.read(medfee_sumamt(&visit.feedetail))?;
        run.settle(&steps::settle_outpatient(visit, &mdtrt_id, total))
            .await
    }

    /// One charge batch of the registration `mdtrt_id` (already registered and described): 2204 of
    /// `batch`'s lines as `chrg_bchno` → 2207 of that batch.
    pub async fn outpatient_batch(
        &self,
        batch: &Visit,
        mdtrt_id: &str,
        chrg_bchno: &str,
    ) -> Result<Settled, FlowFailed> {
        let mut run = Run::new(self);
        run.send(&steps::upload_outpatient_batch(batch, mdtrt_id, chrg_bchno))
            .await?;
        let total = run.read(medfee_sumamt(&batch.feedetail))?;
        run.settle(&steps::settle_outpatient_batch(
            batch, mdtrt_id, chrg_bchno, total,
        ))
        .await
    }

    /// 2401 → 2301 → 2304 (final).
    pub async fn inpatient(&self, visit: &Visit) -> Result<Settled, FlowFailed> {
        let mut run = Run::new(self);
        let admitted = run.send(&steps::admit(visit)).await?;
        let mdtrt_id = run.read(steps::admitted_mdtrt_id(&admitted))?;
        run.send(&steps::upload_inpatient_fees(visit, &mdtrt_id))
            .await?;
        let total = run.read(medfee_sumamt(&visit.feedetail))?;
        run.settle(&steps::settle_inpatient(visit, &mdtrt_id, total, false))
            .await
    }

    /// 2102.
    pub async fn pharmacy(&self, visit: &Visit) -> Result<Settled, FlowFailed> {
        let run = Run::new(self);
        let total = run.read(medfee_sumamt(&visit.feedetail))?;
        run.settle(&steps::pharmacy(visit, total)).await
    }
}

/// One flow under way: its client and the messages sent so far.
struct Run<'c, 'm, T> {
    client: &'c Client<'m, T>,
    messages: u32,
}

impl<'c, 'm, T: Transport> Run<'c, 'm, T> {
    fn new(client: &'c Client<'m, T>) -> Self {
        Run {
            client,
            messages: 0,
        }
    }

    /// The flow's failure at this point.
    fn read<V>(&self, value: Result<V, HisError>) -> Result<V, FlowFailed> {
        value.map_err(|error| FlowFailed {
            messages: self.messages,
            error,
        })
    }

    async fn send(&mut self, message: &Message) -> Result<Reply, FlowFailed> {
        self.messages += 1;
        let reply = self.client.send(message).await;
        self.read(reply)
    }

    /// Sends the settling message; what it settled.
    async fn settle(mut self, message: &Message) -> Result<Settled, FlowFailed> {
        let started = Instant::now();
        let reply = self.send(message).await?;
        let settle_latency = started.elapsed();
        Ok(Settled {
            mdtrt_id: self.read(steps::settled_mdtrt_id(&reply))?,
            setl_id: self.read(steps::settled_setl_id(&reply))?,
            messages: self.messages,
            settle_latency,
            reply,
        })
    }
}
