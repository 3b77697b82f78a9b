//! The write path: every state-changing message runs as a [`GroupCommit`](yibao_ledger::GroupCommit)
//! job. The job checks the idempotency table (read for the whole batch at once), runs the transaction,
//! and stores the reply with the effect, so "same `msgid` ⇒ same reply, one effect" holds even for
//! duplicates that arrive in the same batch.

use std::sync::Arc;

use chrono::NaiveDateTime;
use yibao_ledger::entries::StoredMessage;
use yibao_ledger::{Decision, Institution, LedgerError, LedgerView, WriteHandler};

use crate::envelope::{reply_text, wire_time, Request};
use crate::error::TxError;
use crate::state::Shared;
use crate::tx::files::Download;
use crate::tx::{self, Ctx, Effect};

/// One state-changing message.
pub struct WriteJob {
    pub request: Request,
    pub institution: Institution,
    pub received_at: NaiveDateTime,
    pub inf_refmsgid: String,
    /// A write of the inter-platform protocol instead of a national transaction.
    pub peer: Option<crate::peer::PeerStep>,
    /// A write of the counter (零星报销) instead of a national transaction.
    pub counter: Option<crate::admin::reimburse::CounterStep>,
}

/// The reply of a write job.
pub struct WriteOutcome {
    pub reply: String,
    pub success: bool,
    /// What was committed (`None` for replays and failures).
    pub effect: Effect,
    /// A file answered as raw bytes instead of `reply` (9102, a read).
    pub download: Option<Download>,
}

/// Runs write transactions for the group-commit writer.
pub struct TxWriter {
    pub shared: Arc<Shared>,
}

impl TxWriter {
    fn failure(&self, job: &WriteJob, error: &TxError) -> WriteOutcome {
        let reply = reply_text(&job.inf_refmsgid, job.received_at, now(), Err(error));
        WriteOutcome {
            reply,
            success: false,
            effect: Effect::None,
            download: None,
        }
    }

    async fn run(
        &self,
        ledger: &mut LedgerView<'_>,
        job: &WriteJob,
    ) -> Result<(Decision, WriteOutcome), TxError> {
        match &job.peer {
            Some(crate::peer::PeerStep::Commit(commit)) => {
                return crate::peer::run_commit(&self.shared, ledger, job, commit).await
            }
            Some(crate::peer::PeerStep::Record(draft)) => {
                return crate::peer::run_record(&self.shared, ledger, draft).await
            }
            Some(crate::peer::PeerStep::Mark(mark)) => {
                return Ok(crate::peer::run_mark(ledger, mark))
            }
            Some(step) => return crate::peer::run_insured(&self.shared, ledger, job, step).await,
            None => {}
        }
        if let Some(step) = &job.counter {
            return crate::admin::reimburse::run(&self.shared, ledger, job, step).await;
        }
        let request = &job.request;
        let request_digest = request.digest();
        if let Some(stored) = ledger
            .stored_message(&request.fixmedins_code, &request.msgid)
            .await?
        {
            return replay(&stored, request, &request_digest)
                .map(|outcome| (Decision::Rollback, outcome));
        }
        let ctx = Ctx {
            shared: &self.shared,
            request,
            institution: &job.institution,
            now: job.received_at,
        };
        let done = tx::run(&ctx, ledger).await?;
        let reply = reply_text(&job.inf_refmsgid, job.received_at, now(), Ok(&done.output));
        let message = StoredMessage {
            fixmedins_code: request.fixmedins_code.clone(),
            msgid: request.msgid.clone(),
            infno: request.infno.clone(),
            effect_ref: done.effect_ref,
            reply: reply.clone(),
            created_at: wire_time(job.received_at),
            request_digest,
        };
        ledger.store_message(message).await?;
        Ok((
            Decision::Commit,
            WriteOutcome {
                reply,
                success: true,
                effect: done.effect,
                download: None,
            },
        ))
    }
}

/// The stored reply of a repeated `msgid`. The same `msgid` with another request (another `infno`,
/// or the same `infno` with different content) is refused: it is a new message under a used id.
pub fn replay(
    stored: &StoredMessage,
    request: &Request,
    request_digest: &str,
) -> Result<WriteOutcome, TxError> {
    if stored.infno != request.infno {
        return Err(TxError::new(
            "msgid",
            format!(
                "报文ID {} 已被一笔 {} 交易使用，新的报文须使用新的 msgid",
                request.msgid, stored.infno
            ),
        ));
    }
    if !stored.request_digest.is_empty() && stored.request_digest != request_digest {
        return Err(TxError::new(
            "msgid",
            format!(
                "报文ID {} 已被另一笔内容不同的 {} 交易使用；重试须原样重发同一报文，新的报文须使用新的 msgid",
                request.msgid, stored.infno
            ),
        ));
    }
    Ok(WriteOutcome {
        reply: stored.reply.clone(),
        success: true,
        effect: Effect::None,
        download: None,
    })
}

fn now() -> NaiveDateTime {
    chrono::Local::now().naive_local()
}

impl WriteHandler for TxWriter {
    type Job = WriteJob;
    type Output = WriteOutcome;

    fn message_key(&self, job: &WriteJob) -> Option<(String, String)> {
        Some((
            job.request.fixmedins_code.clone(),
            job.request.msgid.clone(),
        ))
    }

    async fn handle(
        &self,
        ledger: &mut LedgerView<'_>,
        job: &WriteJob,
    ) -> (Decision, WriteOutcome) {
        match self.run(ledger, job).await {
            Ok(done) => done,
            Err(error) => (Decision::Rollback, self.failure(job, &error)),
        }
    }

    fn durable(&self, flush: &yibao_ledger::Flush) {
        self.shared.care.apply(flush);
    }

    fn commit_observed(&self, elapsed: std::time::Duration, _jobs: usize, committed: bool) {
        self.shared.metrics.observe_commit(elapsed, committed);
    }

    fn storage_failure(&self, error: &LedgerError) -> WriteOutcome {
        let at = now();
        let reply = reply_text(
            &self.shared.next_refmsgid(at),
            at,
            at,
            Err(&TxError::storage(error)),
        );
        WriteOutcome {
            reply,
            success: false,
            effect: Effect::None,
            download: None,
        }
    }
}
