//! Group commit: one writer task runs every state-changing job. Jobs that arrive while a batch is
//! committing form the next batch; a batch is one database transaction with one durable commit. Each
//! job works on a [`LedgerView`] whose writes are staged, so a failed job leaves no trace; the kept
//! writes of the whole batch are flushed as a few multi-row statements just before the commit. Replies
//! of successful jobs are released only after the batch's commit succeeded, so an acknowledged job is
//! durable.
//!
//! Because one writer runs the jobs one after another, jobs never race: a job reads the state left by
//! every job before it (including the uncommitted ones of its own batch), which serializes settlements
//! of one person without locks. The writer must be the only one writing visits and the ledger of its
//! database (one service process per database), since it trusts its cache.

use std::future::Future;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::{Backend, LedgerCache, LedgerError, LedgerView, Store};

/// Cached entries the writer keeps between batches (persons, open visits, totals).
const CACHE_CAPACITY: usize = 1_000_000;

/// What to do with a job's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Keep the writes; reply after the batch commits.
    Commit,
    /// Undo the writes (rollback to the job's savepoint); reply at once.
    Rollback,
}

/// Runs jobs of one type inside the writer's transaction.
pub trait WriteHandler: Send + Sync + 'static {
    /// A unit of work.
    type Job: Send + 'static;
    /// The reply to a job.
    type Output: Send + 'static;

    /// Runs one job on its view of the ledger.
    fn handle<'c>(
        &'c self,
        ledger: &'c mut LedgerView<'_>,
        job: Self::Job,
    ) -> impl Future<Output = (Decision, Self::Output)> + Send + 'c;

    /// The `(fixmedins_code, msgid)` under which the job's reply will be stored, if any; the writer
    /// reads which of a batch's messages are already stored in one query.
    fn message_key(&self, job: &Self::Job) -> Option<(String, String)>;

    /// The reply for a job whose writes were lost because storage failed.
    fn storage_failure(&self, error: &LedgerError) -> Self::Output;
}

type Envelope<H> = (
    <H as WriteHandler>::Job,
    oneshot::Sender<<H as WriteHandler>::Output>,
);

/// Handle to the writer task; cheap to clone.
pub struct GroupCommit<H: WriteHandler> {
    sender: mpsc::Sender<Envelope<H>>,
}

impl<H: WriteHandler> Clone for GroupCommit<H> {
    fn clone(&self) -> Self {
        GroupCommit {
            sender: self.sender.clone(),
        }
    }
}

impl<H: WriteHandler> GroupCommit<H> {
    /// Starts the writer task; at most `max_batch` jobs share one commit.
    pub fn start(store: Store, handler: Arc<H>, max_batch: usize) -> GroupCommit<H> {
        let (sender, receiver) = mpsc::channel(max_batch.max(1) * 4);
        tokio::spawn(supervise(
            store,
            handler,
            Arc::new(Mutex::new(receiver)),
            max_batch.max(1),
        ));
        GroupCommit { sender }
    }

    /// Queues a job and waits for its reply (after the commit, for committed jobs).
    pub async fn submit(&self, job: H::Job) -> Result<H::Output, LedgerError> {
        let (reply, receive) = oneshot::channel();
        self.sender
            .send((job, reply))
            .await
            .map_err(|_| LedgerError::WriterStopped)?;
        receive.await.map_err(|_| LedgerError::WriterStopped)
    }
}

/// Restarts the writer if a job panics: the panicking batch's open transaction is rolled back and its
/// waiting callers get [`LedgerError::WriterStopped`]; later jobs run on a fresh writer.
async fn supervise<H: WriteHandler>(
    store: Store,
    handler: Arc<H>,
    receiver: Arc<Mutex<mpsc::Receiver<Envelope<H>>>>,
    max_batch: usize,
) {
    loop {
        let writer = tokio::spawn(run_writer(
            store.clone(),
            Arc::clone(&handler),
            Arc::clone(&receiver),
            max_batch,
        ));
        match writer.await {
            Ok(()) => return,
            Err(error) => tracing::error!(error = %error, "ledger writer panicked; restarting it"),
        }
    }
}

async fn run_writer<H: WriteHandler>(
    store: Store,
    handler: Arc<H>,
    receiver: Arc<Mutex<mpsc::Receiver<Envelope<H>>>>,
    max_batch: usize,
) {
    let mut receiver = receiver.lock().await;
    let mut conn: Option<PoolConnection<Any>> = None;
    let mut cache = LedgerCache::new(CACHE_CAPACITY);
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match store.pool().acquire().await {
                Ok(acquired) => conn = Some(acquired),
                Err(e) => {
                    fail_all(&*handler, batch, &LedgerError::from(e));
                    continue;
                }
            }
        }
        if let Some(active) = conn.as_mut() {
            match run_batch(&*handler, active, &mut cache, batch, store.backend()).await {
                Ok(()) => cache.committed(),
                Err(e) => {
                    tracing::error!(error = %e, "ledger batch failed; reconnecting");
                    cache.discard();
                    conn = None;
                }
            }
        }
    }
}

fn fail_all<H: WriteHandler>(handler: &H, batch: Vec<Envelope<H>>, error: &LedgerError) {
    for (_, reply) in batch {
        let _ = reply.send(handler.storage_failure(error));
    }
}

/// Runs a batch in one transaction. On a storage error every job that has not replied gets the storage
/// failure reply, and the error is returned so that the writer drops the connection and its cache.
async fn run_batch<H: WriteHandler>(
    handler: &H,
    conn: &mut AnyConnection,
    cache: &mut LedgerCache,
    batch: Vec<Envelope<H>>,
    backend: Backend,
) -> Result<(), LedgerError> {
    let keys = batch
        .iter()
        .filter_map(|(job, _)| handler.message_key(job))
        .collect();
    let mut tx = match begin_batch(conn, cache, keys, backend).await {
        Ok(tx) => tx,
        Err(error) => {
            fail_all(handler, batch, &error);
            return Err(error);
        }
    };
    let mut held = Vec::with_capacity(batch.len());
    for (job, reply) in batch {
        let mut view = cache.view(&mut tx);
        match handler.handle(&mut view, job).await {
            (Decision::Commit, output) => {
                view.keep();
                held.push((reply, output));
            }
            (Decision::Rollback, output) => {
                let _ = reply.send(output);
            }
        }
    }
    let written = match cache.flush(&mut tx).await {
        Ok(()) => tx.commit().await.map_err(LedgerError::from),
        Err(error) => Err(error),
    };
    match written {
        Ok(()) => {
            for (reply, output) in held {
                let _ = reply.send(output);
            }
            Ok(())
        }
        Err(error) => {
            for (reply, _) in held {
                let _ = reply.send(handler.storage_failure(&error));
            }
            Err(error)
        }
    }
}

/// Opens the batch transaction. On SQLite it takes the database's write lock at once (a write as
/// the first statement waits on the busy timeout), so that a concurrent registry import can delay the
/// batch but never make it fail on a read-to-write lock upgrade. Then it prepares the cache for the
/// batch's messages (`message_keys`).
async fn begin_batch<'c>(
    conn: &'c mut AnyConnection,
    cache: &mut LedgerCache,
    message_keys: Vec<(String, String)>,
    backend: Backend,
) -> Result<sqlx::Transaction<'c, Any>, LedgerError> {
    let mut tx = conn.begin().await?;
    if backend == Backend::Sqlite {
        sqlx::query("UPDATE id_counters SET value = value WHERE name = ''")
            .execute(&mut *tx)
            .await?;
    }
    cache.begin_batch(&mut tx, message_keys).await?;
    Ok(tx)
}
