//! The writer task: takes batches of jobs from the queue, runs them on its cache and hands their
//! writes to the committer; after a failed commit it starts over from the database and runs the
//! returned jobs again, each alone.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use sqlx::pool::PoolConnection;
use sqlx::Any;
use tokio::sync::{mpsc, watch, Mutex};

use super::{fail_all, fail_held, Envelope, Executed, HeldJob, Progress, Returned, WriteHandler};
use crate::{Decision, Flush, LedgerCache, LedgerError, PipelineStep, Store};

/// The writer's ends of the channels to and from the committer.
pub(super) struct Pipeline<H: WriteHandler> {
    pub(super) to_committer: mpsc::Sender<Executed<H>>,
    pub(super) progress: watch::Receiver<Progress>,
    pub(super) returned: mpsc::UnboundedReceiver<Returned<H>>,
}

/// The committer has stopped; so does the writer.
struct CommitterGone;

/// How a job run alone ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alone {
    /// Committed, or refused by the database (the job alone fails).
    Done,
    /// The database failed: the jobs still to run alone fail at once.
    DatabaseFailing,
}

/// The writer's state.
pub(super) struct Writer<H: WriteHandler> {
    store: Store,
    handler: Arc<H>,
    conn: Option<PoolConnection<Any>>,
    cache: LedgerCache,
    /// The cache generation: it grows each time the writer starts over from the database.
    generation: u64,
    /// The last batch handed to the committer.
    sent_upto: u64,
    /// The committer's progress as last seen.
    seen: Progress,
    pipeline: Pipeline<H>,
}

/// Runs the writer until the queue closes (every [`super::GroupCommit`] dropped) or the committer
/// stops.
pub(super) async fn run<H: WriteHandler>(
    mut writer: Writer<H>,
    receiver: Arc<Mutex<mpsc::Receiver<Envelope<H>>>>,
    max_batch: usize,
) {
    let mut receiver = receiver.lock().await;
    loop {
        let step = tokio::select! {
            biased;
            Some(first) = writer.pipeline.returned.recv() => writer.recover(vec![first]).await,
            next = receiver.recv() => match next {
                Some(first) => {
                    let batch = take_batch::<H>(first, &mut receiver, max_batch);
                    step(&writer.store, PipelineStep::BatchTaken).await;
                    writer.run_batch(batch).await
                }
                None => return,
            },
        };
        if step.is_err() {
            return;
        }
    }
}

/// Asks the store's fault hook at a step of the writer (where only halting applies).
async fn step(store: &Store, step: PipelineStep) {
    if let Err(error) = store.faults().at(step).await {
        tracing::debug!(error = %error, "injected fault ignored: the writer has no commit to fail");
    }
}

/// `first` and the jobs already queued behind it, `max_batch` at most.
fn take_batch<H: WriteHandler>(
    first: Envelope<H>,
    receiver: &mut mpsc::Receiver<Envelope<H>>,
    max_batch: usize,
) -> Vec<Envelope<H>> {
    let mut batch = vec![first];
    while batch.len() < max_batch {
        match receiver.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    batch
}

impl<H: WriteHandler> Writer<H> {
    /// A writer with an empty cache of `cache_capacity` entries.
    pub(super) fn new(
        store: Store,
        handler: Arc<H>,
        cache_capacity: usize,
        pipeline: Pipeline<H>,
    ) -> Writer<H> {
        Writer {
            store,
            handler,
            conn: None,
            cache: LedgerCache::new(cache_capacity),
            generation: 0,
            sent_upto: 0,
            seen: Progress::default(),
            pipeline,
        }
    }

    /// Runs a batch from the queue (after recovering from a failed commit it learns of first).
    async fn run_batch(&mut self, batch: Vec<Envelope<H>>) -> Result<(), CommitterGone> {
        if self.observe().dooms(self.generation) {
            self.recover(Vec::new()).await?;
        }
        self.cache.committed(self.seen.done_upto);
        self.execute_and_send(batch, false).await.map(|_| ())
    }

    /// After a failed commit: waits until every batch sent so far has left the committer (so every
    /// job to run again has come back), starts over from the database and runs the returned jobs
    /// again in their original order, each alone.
    async fn recover(&mut self, mut returned: Vec<Returned<H>>) -> Result<(), CommitterGone> {
        self.wait_done(self.sent_upto).await?;
        while let Ok(more) = self.pipeline.returned.try_recv() {
            returned.push(more);
        }
        returned.sort_by_key(|r| r.batch);
        self.start_over();
        let mut jobs = returned.into_iter().flat_map(|r| r.jobs);
        while let Some(job) = jobs.next() {
            if self.run_alone(job).await? == Alone::DatabaseFailing {
                fail_all(
                    &*self.handler,
                    jobs.collect(),
                    &LedgerError::EarlierCommitFailed,
                );
                break;
            }
        }
        Ok(())
    }

    /// Runs one job alone on a cache that holds only committed state and waits for its commit; if
    /// that fails, the job has had its storage-failure reply and the writer starts over again.
    async fn run_alone(&mut self, job: Envelope<H>) -> Result<Alone, CommitterGone> {
        let Some(batch) = self.execute_and_send(vec![job], true).await? else {
            return Ok(Alone::DatabaseFailing);
        };
        self.wait_done(batch).await?;
        if !self.seen.dooms(self.generation) {
            self.cache.committed(self.seen.done_upto);
            return Ok(Alone::Done);
        }
        self.start_over();
        Ok(if self.seen.outage {
            Alone::DatabaseFailing
        } else {
            Alone::Done
        })
    }

    /// Forgets the cache (it may hold writes that were not stored) and begins the next generation.
    fn start_over(&mut self) {
        self.cache.discard();
        self.generation += 1;
        debug_assert!(
            !self.seen.dooms(self.generation),
            "a new generation {} is doomed already ({:?})",
            self.generation,
            self.seen
        );
    }

    /// Takes the committer's latest progress, which only grows.
    fn observe(&mut self) -> Progress {
        let now = *self.pipeline.progress.borrow_and_update();
        debug_assert!(
            now.done_upto >= self.seen.done_upto && now.poisoned >= self.seen.poisoned,
            "the committer's progress went back: {:?} then {now:?}",
            self.seen
        );
        self.seen = now;
        now
    }

    /// Waits until every batch up to `batch` has left the committer.
    async fn wait_done(&mut self, batch: u64) -> Result<(), CommitterGone> {
        self.pipeline
            .progress
            .wait_for(|p| p.done_upto >= batch)
            .await
            .map_err(|_| CommitterGone)?;
        self.observe();
        Ok(())
    }

    /// Executes a batch and hands it to the committer; returns its number (`None` if it could not
    /// start: its jobs then have the storage-failure reply).
    async fn execute_and_send(
        &mut self,
        batch: Vec<Envelope<H>>,
        isolated: bool,
    ) -> Result<Option<u64>, CommitterGone> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => match self.store.pool().acquire().await {
                Ok(conn) => conn,
                Err(error) => {
                    fail_all(&*self.handler, batch, &error.into());
                    return Ok(None);
                }
            },
        };
        let (flush, held) =
            match execute_batch(&*self.handler, &mut conn, &mut self.cache, batch).await {
                Ok(done) => done,
                Err(error) => {
                    // No job ran and the cache is still right; the connection may be broken.
                    tracing::error!(error = %error, "ledger batch could not start; reconnecting");
                    return Ok(None);
                }
            };
        self.conn = Some(conn);
        step(&self.store, PipelineStep::BatchExecuted).await;
        let number = flush.batch;
        let executed = Executed {
            generation: self.generation,
            isolated,
            flush,
            held,
        };
        if let Err(lost) = self.pipeline.to_committer.send(executed).await {
            fail_held(&*self.handler, lost.0.held, &LedgerError::WriterStopped);
            return Err(CommitterGone);
        }
        self.sent_upto = number;
        Ok(Some(number))
    }
}

/// Runs a batch's jobs on the cache, reading what is not cached on `conn`; returns the batch's
/// writes and every job with its reply, to be released once the batch (and every batch before it)
/// is committed. Even a job that rolls back waits, since its reply may rest on writes of earlier jobs
/// that are not committed yet (a replayed reply, a visit registered just before). On a storage error
/// (the batch could not start) every job gets the storage failure reply and the error is returned.
async fn execute_batch<H: WriteHandler>(
    handler: &H,
    conn: &mut sqlx::AnyConnection,
    cache: &mut LedgerCache,
    batch: Vec<Envelope<H>>,
) -> Result<(Flush, Vec<HeldJob<H>>), LedgerError> {
    let keys = batch
        .iter()
        .filter_map(|(job, _)| handler.message_key(job))
        .collect();
    if let Err(error) = cache.begin_batch(conn, keys).await {
        fail_all(handler, batch, &error);
        return Err(error);
    }
    let mut held = Vec::with_capacity(batch.len());
    for (job, reply) in batch {
        let mut view = cache.view(conn);
        let output = match AssertUnwindSafe(handler.handle(&mut view, &job))
            .catch_unwind()
            .await
        {
            Ok((Decision::Commit, output)) => {
                view.keep();
                output
            }
            Ok((Decision::Rollback, output)) => output,
            // A bug in one job: its staged writes are dropped with its view, the others go on.
            Err(_) => {
                tracing::error!("a ledger write job panicked; its writes were dropped");
                handler.storage_failure(&LedgerError::JobPanicked)
            }
        };
        held.push(HeldJob { job, reply, output });
    }
    Ok((cache.take_flush(), held))
}
