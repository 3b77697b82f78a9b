//! Group commit: one writer task runs every state-changing job. Jobs that arrive while a batch is
//! running form the next batch; a batch is one database transaction with one durable commit. Each
//! job works on a [`LedgerView`] whose writes are staged, so a failed job leaves no trace; the kept
//! writes of the whole batch are written as a few multi-row statements in the batch's transaction.
//!
//! The work is pipelined over two tasks: the writer executes batch *n + 1* against its cache while the
//! committer writes and commits batch *n* on its own connection. Every reply is released only after
//! its batch and every batch before it committed, so an acknowledged job is durable — also the reply
//! of a job that rolled back, which may rest on writes of earlier jobs (a replayed reply). Batches
//! commit in order; if one fails, every batch executed on top of it (same cache generation) fails
//! too and the writer starts over from the database with an empty cache.
//!
//! Invariants checked in code (debug assertions; they hold by construction): generations only grow
//! and a new one is never doomed; the committer's progress (`done_upto`, the poisoned generation)
//! only grows and batches reach and leave it in order; a batch of a poisoned generation is never
//! committed; replies are released only under a [`Durable`] proof covering their batch; the cache's
//! eviction never drops entries written by batches not yet committed ([`LedgerCache::committed`]).
//!
//! Because one writer runs the jobs one after another, jobs never race: a job reads the state left by
//! every job before it (including the uncommitted ones), which serializes settlements of one person
//! without locks. The writer must be the only one writing visits and the ledger of its database, since
//! it trusts its cache: it runs only with the database's [`WriterLock`], held until it stops.

use std::future::Future;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use crate::{Backend, Flush, LedgerCache, LedgerError, LedgerView, Store, WriterLock};

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
        let (progress, progress_view) = watch::channel(Progress::default());
        let (to_committer, committer_inbox) = mpsc::channel(COMMIT_QUEUE);
        let committer = tokio::spawn(run_committer(
            store.clone(),
            Arc::clone(&handler),
            committer_inbox,
            progress,
        ));
        let writer = tokio::spawn(run_writer(
            store.clone(),
            Arc::clone(&handler),
            Arc::clone(&receiver),
            max_batch,
            Pipeline {
                to_committer,
                progress: progress_view,
            },
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

/// Copies the SQLite write-ahead log into the database file in the background, so that commits only
/// append to the log. Passive checkpoints never block the committer; under a steady stream of commits
/// they never let the log start over either, so every [`RESTART_EVERY`]th checkpoint briefly holds
/// the committer back to finish the (by then small) rest and restart the log, which keeps it bounded.
async fn checkpoint_wal(store: Store) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    for round in 1u64.. {
        tick.tick().await;
        let Ok(mut conn) = store.pool().acquire().await else {
            return;
        };
        let sql = if round % RESTART_EVERY == 0 {
            "PRAGMA wal_checkpoint(RESTART)"
        } else {
            "PRAGMA wal_checkpoint(PASSIVE)"
        };
        if let Err(error) = sqlx::query(sql).execute(&mut *conn).await {
            tracing::warn!(error = %error, "WAL checkpoint failed; retrying");
        }
    }
}

/// The writer's end of the pipeline to the committer.
struct Pipeline<H: WriteHandler> {
    to_committer: mpsc::Sender<Executed<H>>,
    progress: watch::Receiver<Progress>,
}

/// A batch executed by the writer, waiting for the committer.
struct Executed<H: WriteHandler> {
    /// The cache generation it was executed on.
    generation: u64,
    flush: Flush,
    /// Replies of the batch's jobs, released after the commit.
    held: Held<H>,
}

/// What the committer tells the writer, published as one snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    /// Every batch up to this number has left the committer (committed or failed); only grows.
    done_upto: u64,
    /// The newest cache generation a batch of which failed to commit (`None`: none); only grows.
    /// No batch of this or an older generation is ever committed after the failure.
    poisoned: Option<u64>,
}

impl Progress {
    /// Whether batches of `generation` are doomed by a failed commit.
    fn dooms(&self, generation: u64) -> bool {
        self.poisoned.is_some_and(|poisoned| generation <= poisoned)
    }
}

async fn run_writer<H: WriteHandler>(
    store: Store,
    handler: Arc<H>,
    receiver: Arc<Mutex<mpsc::Receiver<Envelope<H>>>>,
    max_batch: usize,
    pipeline: Pipeline<H>,
) {
    let Pipeline {
        to_committer,
        mut progress,
    } = pipeline;
    let mut receiver = receiver.lock().await;
    let mut conn: Option<PoolConnection<Any>> = None;
    let mut cache = LedgerCache::new(CACHE_CAPACITY);
    let mut generation = 0;
    let mut seen = Progress::default();
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let now = *progress.borrow_and_update();
        debug_assert!(
            now.done_upto >= seen.done_upto && now.poisoned >= seen.poisoned,
            "the committer's progress went back: {seen:?} then {now:?}"
        );
        seen = now;
        if now.dooms(generation) {
            cache.discard();
            generation += 1;
            debug_assert!(!now.dooms(generation), "a new generation is never doomed");
        }
        cache.committed(now.done_upto);
        if conn.is_none() {
            match store.pool().acquire().await {
                Ok(acquired) => conn = Some(acquired),
                Err(e) => {
                    fail_all(&*handler, batch, &LedgerError::from(e));
                    continue;
                }
            }
        }
        let Some(active) = conn.as_mut() else {
            continue;
        };
        match execute_batch(&*handler, active, &mut cache, batch).await {
            Ok((flush, held)) => {
                let executed = Executed {
                    generation,
                    flush,
                    held,
                };
                if let Err(lost) = to_committer.send(executed).await {
                    fail_held(&*handler, lost.0.held, &LedgerError::WriterStopped);
                    return;
                }
            }
            Err(e) => {
                // The batch failed before any job ran; the cache is still right.
                tracing::error!(error = %e, "ledger batch could not start; reconnecting");
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

fn fail_held<H: WriteHandler>(handler: &H, held: Held<H>, error: &LedgerError) {
    for (reply, _) in held {
        let _ = reply.send(handler.storage_failure(error));
    }
}

/// Replies held until their batch has left the committer.
type Held<H> = Vec<(
    oneshot::Sender<<H as WriteHandler>::Output>,
    <H as WriteHandler>::Output,
)>;

/// Runs a batch's jobs on the cache, reading what is not cached on `conn`; returns the batch's
/// writes and every job's reply, to be released once the batch (and every batch before it) is
/// committed. Even a job that rolls back waits, since its reply may rest on writes of earlier jobs
/// that are not committed yet (a replayed reply, a visit registered just before). On a storage error
/// (the batch could not start) every job gets the storage failure reply and the error is returned.
async fn execute_batch<H: WriteHandler>(
    handler: &H,
    conn: &mut AnyConnection,
    cache: &mut LedgerCache,
    batch: Vec<Envelope<H>>,
) -> Result<(Flush, Held<H>), LedgerError> {
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
        let (decision, output) = handler.handle(&mut view, job).await;
        if decision == Decision::Commit {
            view.keep();
        }
        held.push((reply, output));
    }
    Ok((cache.take_flush(), held))
}

/// Proof that every batch up to `upto` is committed (or had nothing to write and every batch before
/// it is committed): the only way replies are released.
struct Durable {
    upto: u64,
}

/// Releases the held replies of a batch covered by `durable`.
fn release<H: WriteHandler>(executed: Executed<H>, durable: &Durable) {
    debug_assert!(
        executed.flush.batch <= durable.upto,
        "replies of batch {} released before it was committed (committed up to {})",
        executed.flush.batch,
        durable.upto
    );
    for (reply, output) in executed.held {
        let _ = reply.send(output);
    }
}

/// The committer's state.
struct Committer<H: WriteHandler> {
    store: Store,
    handler: Arc<H>,
    conn: Option<PoolConnection<Any>>,
    /// Batches leave in the order they arrive; the last one that arrived.
    last_arrived: u64,
    progress: watch::Sender<Progress>,
}

/// Writes and commits executed batches in order, then releases their replies. Batches that queued
/// up while a commit was running share the next transaction (one durable commit for all of them).
async fn run_committer<H: WriteHandler>(
    store: Store,
    handler: Arc<H>,
    mut inbox: mpsc::Receiver<Executed<H>>,
    progress: watch::Sender<Progress>,
) {
    let mut committer = Committer {
        store,
        handler,
        conn: None,
        last_arrived: 0,
        progress,
    };
    while let Some(first) = inbox.recv().await {
        let mut group = vec![first];
        while group.len() < COMMIT_GROUP {
            match inbox.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        committer.handle_group(group).await;
    }
}

impl<H: WriteHandler> Committer<H> {
    /// Commits a group of batches (those of a poisoned generation fail unwritten) and publishes
    /// that they have left.
    async fn handle_group(&mut self, group: Vec<Executed<H>>) {
        for executed in &group {
            debug_assert!(
                executed.flush.batch > self.last_arrived,
                "batch {} reached the committer after batch {}",
                executed.flush.batch,
                self.last_arrived
            );
            self.last_arrived = executed.flush.batch;
        }
        let before = *self.progress.borrow();
        let (doomed, live): (Vec<_>, Vec<_>) =
            group.into_iter().partition(|e| before.dooms(e.generation));
        for executed in doomed {
            fail_held(
                &*self.handler,
                executed.held,
                &LedgerError::EarlierCommitFailed,
            );
        }
        let poisoned = self.commit_live(live).await;
        self.publish(Progress {
            done_upto: self.last_arrived,
            poisoned: poisoned.max(before.poisoned),
        });
    }

    /// Commits batches of live generations in one transaction and releases their replies; returns
    /// the generation to poison if the commit failed.
    async fn commit_live(&mut self, live: Vec<Executed<H>>) -> Option<u64> {
        let upto = live.iter().map(|e| e.flush.batch).max()?;
        debug_assert!(
            live.iter()
                .all(|e| !self.progress.borrow().dooms(e.generation)),
            "a batch of a poisoned generation is about to be committed"
        );
        let written: Vec<&Flush> = live
            .iter()
            .map(|e| &e.flush)
            .filter(|f| !f.is_empty())
            .collect();
        let outcome = if written.is_empty() {
            Ok(Durable { upto })
        } else {
            commit(&self.store, &mut self.conn, &written).await
        };
        match outcome {
            Ok(durable) => {
                for executed in live {
                    release(executed, &durable);
                }
                None
            }
            Err(error) => {
                tracing::error!(error = %error, batch = upto, "ledger commit failed");
                self.conn = None;
                let generation = live.iter().map(|e| e.generation).max();
                for executed in live {
                    fail_held(&*self.handler, executed.held, &error);
                }
                generation
            }
        }
    }

    /// Tells the writer how far the batches have got; progress only grows.
    fn publish(&self, next: Progress) {
        let before = *self.progress.borrow();
        debug_assert!(
            next.done_upto >= before.done_upto && next.poisoned >= before.poisoned,
            "the committer's progress would go back: {before:?} then {next:?}"
        );
        self.progress.send_replace(next);
    }
}

/// One transaction for a group of executed batches on the committer's connection (acquired when
/// there is none).
async fn commit(
    store: &Store,
    conn: &mut Option<PoolConnection<Any>>,
    group: &[&Flush],
) -> Result<Durable, LedgerError> {
    if conn.is_none() {
        let mut acquired = store.pool().acquire().await?;
        if store.backend() == Backend::Sqlite {
            // Checkpoints run beside the commits (see `checkpoint_wal`), not inside them.
            sqlx::query("PRAGMA wal_autocheckpoint = 0")
                .execute(&mut *acquired)
                .await?;
            // Never hand a connection without automatic checkpoints back to the pool.
            acquired.close_on_drop();
        }
        *conn = Some(acquired);
    }
    let Some(active) = conn.as_mut() else {
        return Err(LedgerError::WriterStopped);
    };
    let mut tx = active.begin().await?;
    for flush in group {
        flush.write(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(Durable {
        upto: group.iter().map(|f| f.batch).max().unwrap_or(0),
    })
}
