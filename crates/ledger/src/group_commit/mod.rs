//! Group commit: one writer task runs every state-changing job. Jobs that arrive while a batch is
//! running form the next batch; a batch is one database transaction with one durable commit. Each
//! job works on a [`LedgerView`] whose writes are staged, so a failed job leaves no trace; the kept
//! writes of the whole batch are written as a few multi-row statements in the batch's transaction.
//!
//! The work is pipelined over two tasks: the writer executes batch *n + 1* against its cache while the
//! committer writes and commits batch *n* on its own connection. Every reply is released only after
//! its batch and every batch before it committed, so an acknowledged job is durable — also the reply
//! of a job that rolled back, which may rest on writes of earlier jobs (a replayed reply). Batches
//! commit in order.
//!
//! **A job's storage failure fails that job alone.** If a commit fails, nothing of its batches is
//! stored, and every batch executed on top of them (same cache *generation*) is not written either.
//! When the database refused a job's values ([`LedgerError::is_refusal`]: a constraint or data
//! error), the committer hands the jobs of all these batches back to the writer. Once every batch
//! sent so far has left the committer, the writer starts over from the database (empty cache, next
//! generation) and runs the returned jobs again in their original order, each alone in its own batch
//! and commit, waiting for each commit before the next job. Only a job whose own writes cannot be
//! stored gets the storage-failure reply; every other job is answered normally, exactly once. When
//! the database itself fails (connection, timeout, lock), running jobs one by one would only repeat
//! the failure: the jobs of the failed and doomed batches get the storage-failure reply at once, as
//! do the rest of the returned jobs if the database starts failing while they run alone.
//!
//! **Exactly once.** A job runs again only if its batch certainly did not commit: an error before the
//! commit statement rolls the transaction back. When the commit statement itself fails, the outcome is
//! read back from the *commit marker*, a counter (`ledger_commits` in `id_counters`) that every commit
//! advances in its own transaction, guarded by its expected value (which also refuses the commit if
//! another writer has committed meanwhile). If even that cannot be read, the jobs get the
//! storage-failure reply and are not run again (a client's retry with the same `msgid` then finds
//! the stored reply if the commit did happen).
//!
//! Invariants checked in code (debug assertions; they hold by construction): generations only grow
//! and a new one is never doomed; the committer's progress (`done_upto`, the poisoned generation)
//! only grows and batches reach and leave it in order; a batch of a poisoned generation is never
//! committed; replies are released only under a [`Durable`] proof covering their batch; an isolated
//! batch is committed alone; the cache's eviction never drops entries written by batches not yet
//! committed ([`LedgerCache::committed`]). Another writer's commit is a runtime condition: the
//! commit marker's guard turns it into [`LedgerError::CommitMarkerMoved`].
//!
//! Because one writer runs the jobs one after another, jobs never race: a job reads the state left by
//! every job before it (including the uncommitted ones), which serializes settlements of one person
//! without locks. The writer must be the only one writing visits and the ledger of its database, since
//! it trusts its cache: it runs only with the database's [`WriterLock`], held until it stops.

mod committer;
mod writer;

use std::future::Future;
use std::sync::Arc;

use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use crate::cache::counter_value;
use crate::{Backend, Flush, LedgerError, LedgerView, Store, WriterLock};

/// Cached entries the writer keeps between batches (persons, open visits, totals).
const CACHE_CAPACITY: usize = 1_000_000;
/// Executed batches that may wait for the committer; the writer runs at most this far ahead.
const COMMIT_QUEUE: usize = 8;
/// Executed batches written in one transaction at most.
const COMMIT_GROUP: usize = 8;
/// How often the write-ahead log is checkpointed (SQLite).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// One checkpoint in this many restarts the log.
const RESTART_EVERY: u64 = 8;
/// The counter every commit advances (see the module documentation).
const COMMIT_MARKER: &str = "ledger_commits";

/// What to do with a job's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Keep the writes; reply after the batch commits.
    Commit,
    /// Drop the job's staged writes; reply when the batch leaves the committer (the reply may rest
    /// on earlier jobs' writes, which must be durable first).
    Rollback,
}

/// Runs jobs of one type on the writer's view of the ledger.
///
/// A job may run more than once: after a failed commit it runs again on the committed state (see
/// the module documentation). Its effect is stored at most once all the same, as it only runs again
/// when nothing of its earlier run was stored.
pub trait WriteHandler: Send + Sync + 'static {
    /// A unit of work, kept beside its reply until its batch is committed.
    type Job: Send + Sync + 'static;
    /// The reply to a job.
    type Output: Send + 'static;

    /// Runs one job on its view of the ledger.
    fn handle<'c>(
        &'c self,
        ledger: &'c mut LedgerView<'_>,
        job: &'c Self::Job,
    ) -> impl Future<Output = (Decision, Self::Output)> + Send + 'c;

    /// The `(fixmedins_code, msgid)` under which the job's reply will be stored, if any; the writer
    /// reads which of a batch's messages are already stored in one query.
    fn message_key(&self, job: &Self::Job) -> Option<(String, String)>;

    /// The reply for a job whose writes were lost because storage failed.
    fn storage_failure(&self, error: &LedgerError) -> Self::Output;

    /// Called once a batch's writes are durable, before its replies are released (a service's
    /// in-memory state that follows the ledger updates itself here). The default does nothing.
    fn durable(&self, _flush: &Flush) {}

    /// Called after each transaction the committer tried: how long it took from its start to the
    /// durable commit (or the failure), how many jobs' replies waited on it, and whether it committed.
    /// For metrics; the default does nothing.
    fn commit_observed(&self, _elapsed: std::time::Duration, _jobs: usize, _committed: bool) {}
}

/// A queued job and where its reply goes.
type Envelope<H> = (
    <H as WriteHandler>::Job,
    oneshot::Sender<<H as WriteHandler>::Output>,
);

/// Handle to the writer task; cheap to clone. The writer stops once every handle is dropped and
/// the jobs already queued are done.
pub struct GroupCommit<H: WriteHandler> {
    sender: mpsc::Sender<Envelope<H>>,
    stopped: watch::Receiver<bool>,
}

impl<H: WriteHandler> Clone for GroupCommit<H> {
    fn clone(&self) -> Self {
        GroupCommit {
            sender: self.sender.clone(),
            stopped: self.stopped.clone(),
        }
    }
}

/// A handle to the writer that does not keep it running ([`GroupCommit::downgrade`]).
pub struct WeakGroupCommit<H: WriteHandler> {
    sender: mpsc::WeakSender<Envelope<H>>,
    stopped: watch::Receiver<bool>,
}

impl<H: WriteHandler> WeakGroupCommit<H> {
    /// The handle, while the writer still has another one.
    pub fn upgrade(&self) -> Option<GroupCommit<H>> {
        Some(GroupCommit {
            sender: self.sender.upgrade()?,
            stopped: self.stopped.clone(),
        })
    }
}

/// Resolves once the writer has stopped and released its [`WriterLock`] (see
/// [`GroupCommit::stopped`]).
pub struct Stopped(watch::Receiver<bool>);

impl Stopped {
    /// Waits until the writer has stopped.
    pub async fn wait(mut self) {
        // An error means the writer's task is gone (its runtime shut down), which also released it.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}

impl<H: WriteHandler> GroupCommit<H> {
    /// Starts the writer task, which holds `lock` (and so is the only writer of its store's database)
    /// until it stops; at most `max_batch` jobs share one commit.
    pub fn start(lock: WriterLock, handler: Arc<H>, max_batch: usize) -> GroupCommit<H> {
        let (sender, receiver) = mpsc::channel(max_batch.max(1) * 4);
        let (stopped_sender, stopped) = watch::channel(false);
        tokio::spawn(async move {
            supervise(
                lock.store().clone(),
                handler,
                Arc::new(Mutex::new(receiver)),
                max_batch.max(1),
            )
            .await;
            lock.release().await;
            let _ = stopped_sender.send(true);
        });
        GroupCommit { sender, stopped }
    }

    /// A future that resolves once the writer has stopped (every handle dropped, queued jobs done)
    /// and released the database's writer lock. It does not keep the writer running.
    pub fn stopped(&self) -> Stopped {
        Stopped(self.stopped.clone())
    }

    /// A handle for a background task that must not keep the writer running.
    pub fn downgrade(&self) -> WeakGroupCommit<H> {
        WeakGroupCommit {
            sender: self.sender.downgrade(),
            stopped: self.stopped.clone(),
        }
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

/// Restarts the writer if a job panics: the callers waiting on the panicking batch get
/// [`LedgerError::WriterStopped`], batches executed before it are still committed, and a fresh writer
/// (with an empty cache) starts once the committer has finished them.
async fn supervise<H: WriteHandler>(
    store: Store,
    handler: Arc<H>,
    receiver: Arc<Mutex<mpsc::Receiver<Envelope<H>>>>,
    max_batch: usize,
) {
    let checkpoints =
        (store.backend() == Backend::Sqlite).then(|| tokio::spawn(checkpoint_wal(store.clone())));
    loop {
        let marker = initial_marker(&store).await;
        let (progress, progress_view) = watch::channel(Progress::default());
        let (to_committer, committer_inbox) = mpsc::channel(COMMIT_QUEUE);
        let (returns, returned) = mpsc::unbounded_channel();
        let committer = tokio::spawn(committer::run(
            committer::Committer::new(
                store.clone(),
                Arc::clone(&handler),
                marker,
                progress,
                returns,
            ),
            committer_inbox,
        ));
        let writer = tokio::spawn(writer::run(
            writer::Writer::new(
                store.clone(),
                Arc::clone(&handler),
                CACHE_CAPACITY,
                writer::Pipeline {
                    to_committer,
                    progress: progress_view,
                    returned,
                },
            ),
            Arc::clone(&receiver),
            max_batch,
        ));
        let outcome = writer.await;
        // The writer's end (or panic) closed the committer's inbox; it drains what was sent.
        let _ = committer.await;
        match outcome {
            Ok(()) => break,
            Err(error) => tracing::error!(error = %error, "ledger writer panicked; restarting it"),
        }
    }
    if let Some(task) = checkpoints {
        task.abort();
    }
}

/// Reads the commit marker before the writer reads anything, in a write transaction: on SQLite it
/// waits for any transaction still writing (of a predecessor's connection) to end, so the writer
/// starts from a state no earlier commit can still change. `None` if the database cannot be read
/// (the first commit then reads it).
async fn initial_marker(store: &Store) -> Option<i64> {
    let read = async {
        let _turn = store.write_turn().await;
        let mut conn = store.pool().acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO id_counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(COMMIT_MARKER)
        .execute(&mut *tx)
        .await?;
        let value = counter_value(&mut tx, COMMIT_MARKER).await?;
        tx.commit().await?;
        Ok::<_, LedgerError>(value)
    };
    match read.await {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(error = %error, "the commit marker could not be read; the first commit reads it");
            None
        }
    }
}

/// Copies the SQLite write-ahead log into the database file in the background, so that commits only
/// append to the log. Passive checkpoints never block the committer; under a steady stream of commits
/// they never let the log start over either, so every [`RESTART_EVERY`]th checkpoint briefly holds
/// the committer back to finish the (by then small) rest and restart the log, which keeps it bounded.
async fn checkpoint_wal(store: Store) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    for round in 1u64.. {
        tick.tick().await;
        let restart = round % RESTART_EVERY == 0;
        // A restart waits for the writers; it queues with them for its turn (a passive
        // checkpoint runs beside them).
        let _turn = if restart {
            store.write_turn().await
        } else {
            None
        };
        let Ok(mut conn) = store.pool().acquire().await else {
            return;
        };
        let sql = if restart {
            "PRAGMA wal_checkpoint(RESTART)"
        } else {
            "PRAGMA wal_checkpoint(PASSIVE)"
        };
        if let Err(error) = sqlx::query(sql).execute(&mut *conn).await {
            tracing::warn!(error = %error, "WAL checkpoint failed; retrying");
        }
    }
}

/// A batch executed by the writer, waiting for the committer.
struct Executed<H: WriteHandler> {
    /// The cache generation it was executed on.
    generation: u64,
    /// A single job run again after a failed commit (its failure is final).
    isolated: bool,
    flush: Flush,
    /// The batch's jobs with their replies, released after the commit.
    held: Vec<HeldJob<H>>,
}

/// A job whose reply waits for its batch's commit; the job is kept to run again if that fails.
struct HeldJob<H: WriteHandler> {
    job: H::Job,
    reply: oneshot::Sender<H::Output>,
    output: H::Output,
}

/// The jobs of a batch that was not written, handed back to the writer to run again.
struct Returned<H: WriteHandler> {
    /// The batch they were executed in (returned jobs run again in batch order).
    batch: u64,
    jobs: Vec<Envelope<H>>,
}

/// What the committer tells the writer, published as one snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    /// Every batch up to this number has left the committer (committed, failed or returned); only
    /// grows.
    done_upto: u64,
    /// The newest cache generation a batch of which failed to commit (`None`: none); only grows.
    /// No batch of this or an older generation is ever committed after the failure.
    poisoned: Option<u64>,
    /// The failure that poisoned it was the database's, not a refusal of a job's values: the jobs of
    /// the doomed batches fail rather than run again.
    outage: bool,
}

impl Progress {
    /// Whether batches of `generation` are doomed by a failed commit.
    fn dooms(&self, generation: u64) -> bool {
        self.poisoned.is_some_and(|poisoned| generation <= poisoned)
    }
}

/// Proof that every batch up to `upto` is committed (or had nothing to write and every batch before
/// it is committed): the only way replies are released.
struct Durable {
    upto: u64,
}

/// Answers every job of a batch that could not run with the storage-failure reply.
fn fail_all<H: WriteHandler>(handler: &H, batch: Vec<Envelope<H>>, error: &LedgerError) {
    for (_, reply) in batch {
        let _ = reply.send(handler.storage_failure(error));
    }
}

/// Answers held jobs with the storage-failure reply.
fn fail_held<H: WriteHandler>(handler: &H, held: Vec<HeldJob<H>>, error: &LedgerError) {
    for job in held {
        let _ = job.reply.send(handler.storage_failure(error));
    }
}

/// The stored value of the commit marker on `conn`.
async fn read_marker(conn: &mut AnyConnection) -> Result<i64, LedgerError> {
    counter_value(conn, COMMIT_MARKER).await
}
