//! Group commit: one writer task runs every state-changing job. Jobs that arrive while a batch is
//! committing form the next batch; a batch is one database transaction with one durable commit, each
//! job inside its own savepoint so that a failed job leaves no trace. Replies of successful jobs are
//! released only after the batch's commit succeeded, so an acknowledged job is durable.
//!
//! Because one writer runs the jobs one after another, jobs never race: a job reads the state left by
//! every job before it (including the uncommitted ones of its own batch), which serializes settlements
//! of one person without locks.

use std::future::Future;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::{Backend, LedgerError, Store};

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

    /// Runs one job on the batch's connection.
    fn handle<'c>(
        &'c self,
        conn: &'c mut AnyConnection,
        job: Self::Job,
    ) -> impl Future<Output = (Decision, Self::Output)> + Send + 'c;

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
            if let Err(e) = run_batch(&*handler, active, batch, store.backend()).await {
                tracing::error!(error = %e, "ledger batch failed; reconnecting");
                conn = None;
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
/// failure reply, and the error is returned so that the writer drops the connection.
async fn run_batch<H: WriteHandler>(
    handler: &H,
    conn: &mut AnyConnection,
    batch: Vec<Envelope<H>>,
    backend: Backend,
) -> Result<(), LedgerError> {
    let mut tx = match begin_batch(conn, backend).await {
        Ok(tx) => tx,
        Err(error) => {
            fail_all(handler, batch, &error);
            return Err(error);
        }
    };
    let mut held = Vec::with_capacity(batch.len());
    let mut failure: Option<LedgerError> = None;
    for (job, reply) in batch {
        if let Some(error) = &failure {
            let _ = reply.send(handler.storage_failure(error));
            continue;
        }
        match run_job(handler, &mut tx, job).await {
            Ok((Decision::Commit, output)) => held.push((reply, output)),
            Ok((Decision::Rollback, output)) => {
                let _ = reply.send(output);
            }
            Err(error) => {
                let _ = reply.send(handler.storage_failure(&error));
                failure = Some(error);
            }
        }
    }
    if let Some(error) = failure {
        for (reply, _) in held {
            let _ = reply.send(handler.storage_failure(&error));
        }
        return Err(error);
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, output) in held {
                let _ = reply.send(output);
            }
            Ok(())
        }
        Err(e) => {
            let error = LedgerError::from(e);
            for (reply, _) in held {
                let _ = reply.send(handler.storage_failure(&error));
            }
            Err(error)
        }
    }
}

/// Opens the batch transaction. On SQLite it takes the database's write lock at once (a write as
/// the first statement waits on the busy timeout), so that a concurrent registry import can delay the
/// batch but never make it fail on a read-to-write lock upgrade.
async fn begin_batch(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<sqlx::Transaction<'_, Any>, LedgerError> {
    let mut tx = conn.begin().await?;
    if backend == Backend::Sqlite {
        sqlx::query("UPDATE id_counters SET value = value WHERE name = ''")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// Runs one job inside a savepoint; an `Err` means the savepoint itself failed (the batch is lost).
async fn run_job<H: WriteHandler>(
    handler: &H,
    conn: &mut AnyConnection,
    job: H::Job,
) -> Result<(Decision, H::Output), LedgerError> {
    let mut savepoint = conn.begin().await?;
    let (decision, output) = handler.handle(&mut savepoint, job).await;
    match decision {
        Decision::Commit => savepoint.commit().await?,
        Decision::Rollback => savepoint.rollback().await?,
    }
    Ok((decision, output))
}
