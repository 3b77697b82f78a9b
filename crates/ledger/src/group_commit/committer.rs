//! The committer task: writes executed batches in order, a group of them per transaction, advances
//! the commit marker in the same transaction, and releases the replies after the durable commit. A
//! batch that is not written hands its jobs back to the writer.

use std::sync::Arc;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection};
use tokio::sync::{mpsc, watch};

use super::{
    fail_held, read_marker, Durable, Executed, Progress, Returned, WriteHandler, COMMIT_GROUP,
    COMMIT_MARKER,
};
use crate::{Backend, Flush, LedgerError, PipelineStep, Store};

/// The committer's state.
pub(super) struct Committer<H: WriteHandler> {
    store: Store,
    handler: Arc<H>,
    conn: Option<PoolConnection<Any>>,
    /// The commit marker's value after the last commit (`None`: not known).
    marker: Option<i64>,
    /// Batches arrive (and leave) in order; the last one that arrived.
    last_arrived: u64,
    progress: watch::Sender<Progress>,
    returns: mpsc::UnboundedSender<Returned<H>>,
}

/// A failed commit, and whether the commit statement itself failed (the transaction may then have
/// committed) rather than an earlier statement (it then certainly rolled back).
struct CommitFailure {
    error: LedgerError,
    at_commit: bool,
}

/// What a failed commit turned out to be.
enum Outcome {
    /// The transaction did commit (the commit statement's error came after it was durable).
    Committed(Durable),
    /// Nothing was stored because the database refused a job's values: the jobs run again alone.
    Refused,
    /// Nothing was stored (or it cannot be told) because the database failed: the jobs fail.
    Failed,
}

/// A generation whose batches a failed commit dooms.
struct Poison {
    generation: u64,
    /// The database failed (rather than refusing a job's values).
    outage: bool,
}

/// Commits executed batches until the writer closes the inbox.
pub(super) async fn run<H: WriteHandler>(
    mut committer: Committer<H>,
    mut inbox: mpsc::Receiver<Executed<H>>,
) {
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
    /// A committer that expects the commit marker at `marker`.
    pub(super) fn new(
        store: Store,
        handler: Arc<H>,
        marker: Option<i64>,
        progress: watch::Sender<Progress>,
        returns: mpsc::UnboundedSender<Returned<H>>,
    ) -> Committer<H> {
        Committer {
            store,
            handler,
            conn: None,
            marker,
            last_arrived: 0,
            progress,
            returns,
        }
    }

    /// Commits a group of batches (those of a poisoned generation are handed back unwritten) and
    /// publishes that they have left.
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
            debug_assert!(
                !executed.isolated,
                "an isolated batch runs on a generation no failure dooms"
            );
            if before.outage {
                fail_held(
                    &*self.handler,
                    executed.held,
                    &LedgerError::EarlierCommitFailed,
                );
            } else {
                self.hand_back(executed);
            }
        }
        let next = match self.commit_live(live).await {
            Some(poison) => Progress {
                done_upto: self.last_arrived,
                poisoned: Some(poison.generation),
                outage: poison.outage,
            },
            None => Progress {
                done_upto: self.last_arrived,
                ..before
            },
        };
        self.publish(next);
        if let Err(error) = self.store.faults().at(PipelineStep::Published).await {
            tracing::debug!(error = %error, "injected fault ignored: the group has left");
        }
    }

    /// Commits batches of live generations in one transaction and releases their replies; returns
    /// the generation to poison if nothing of them was stored.
    async fn commit_live(&mut self, live: Vec<Executed<H>>) -> Option<Poison> {
        let upto = live.iter().map(|e| e.flush.batch).max()?;
        debug_assert!(
            live.iter()
                .all(|e| !self.progress.borrow().dooms(e.generation)),
            "a batch of a poisoned generation is about to be committed"
        );
        debug_assert!(
            live.len() == 1 || live.iter().all(|e| !e.isolated),
            "an isolated batch is committed alone"
        );
        let written: Vec<&Flush> = live
            .iter()
            .map(|e| &e.flush)
            .filter(|f| !f.is_empty())
            .collect();
        let outcome = if written.is_empty() {
            Ok(Durable { upto })
        } else {
            let started = Instant::now();
            let outcome = self.commit(&written, upto).await;
            let jobs = live.iter().map(|e| e.held.len()).sum();
            self.handler
                .commit_observed(started.elapsed(), jobs, outcome.is_ok());
            outcome
        };
        let failure = match outcome {
            Ok(durable) => return self.release_all(live, &durable),
            Err(failure) => failure,
        };
        tracing::error!(error = %failure.error, batch = upto, "ledger commit failed");
        let outcome = self.outcome_of(&failure, upto).await;
        let generation = live.iter().map(|e| e.generation).max()?;
        match outcome {
            Outcome::Committed(durable) => self.release_all(live, &durable),
            Outcome::Refused => {
                for executed in live {
                    if executed.isolated {
                        fail_held(&*self.handler, executed.held, &failure.error);
                    } else {
                        self.hand_back(executed);
                    }
                }
                Some(Poison {
                    generation,
                    outage: false,
                })
            }
            Outcome::Failed => {
                for executed in live {
                    fail_held(&*self.handler, executed.held, &failure.error);
                }
                Some(Poison {
                    generation,
                    outage: true,
                })
            }
        }
    }

    /// Releases the replies of committed batches; nothing to poison.
    fn release_all(&self, live: Vec<Executed<H>>, durable: &Durable) -> Option<Poison> {
        for executed in live {
            self.handler.durable(&executed.flush);
            release(executed, durable);
        }
        None
    }

    /// Hands the jobs of a batch that was not written back to the writer, to run again.
    fn hand_back(&self, executed: Executed<H>) {
        let jobs = executed
            .held
            .into_iter()
            .map(|held| (held.job, held.reply))
            .collect();
        let returned = Returned {
            batch: executed.flush.batch,
            jobs,
        };
        if let Err(lost) = self.returns.send(returned) {
            for (_, reply) in lost.0.jobs {
                let _ = reply.send(self.handler.storage_failure(&LedgerError::WriterStopped));
            }
        }
    }

    /// One transaction for a group of executed batches, advancing the commit marker.
    async fn commit(&mut self, group: &[&Flush], upto: u64) -> Result<Durable, CommitFailure> {
        let before_commit = |error: LedgerError| CommitFailure {
            error,
            at_commit: false,
        };
        let expected = self.marker;
        let faults = self.store.faults().clone();
        let _turn = self.store.write_turn().await;
        let conn = self.connection().await.map_err(before_commit)?;
        let mut tx = conn.begin().await.map_err(|e| before_commit(e.into()))?;
        let next = advance_marker(&mut tx, expected)
            .await
            .map_err(before_commit)?;
        for flush in group {
            flush.write(&mut tx).await.map_err(before_commit)?;
        }
        faults
            .at(PipelineStep::BeforeCommit)
            .await
            .map_err(before_commit)?;
        let at_commit = |error: LedgerError| CommitFailure {
            error,
            at_commit: true,
        };
        tx.commit().await.map_err(|e| at_commit(e.into()))?;
        faults
            .at(PipelineStep::AfterCommit)
            .await
            .map_err(at_commit)?;
        self.marker = Some(next);
        Ok(Durable { upto })
    }

    /// What became of a failed commit. The connection is dropped (it may be broken); if the commit
    /// statement itself failed, the marker is read back on a fresh connection.
    async fn outcome_of(&mut self, failure: &CommitFailure, upto: u64) -> Outcome {
        self.conn = None;
        let refused_or_failed = if failure.error.is_refusal() {
            Outcome::Refused
        } else {
            Outcome::Failed
        };
        if matches!(failure.error, LedgerError::CommitMarkerMoved { .. }) {
            // Another writer has committed: go on from its marker (the writer starts over).
            self.marker = stored_marker(&self.store).await.ok();
            return Outcome::Failed;
        }
        if !failure.at_commit {
            return refused_or_failed;
        }
        let (Some(expected), Ok(found)) = (self.marker, stored_marker(&self.store).await) else {
            self.marker = None;
            return Outcome::Failed;
        };
        if found == expected + 1 {
            tracing::warn!(batch = upto, "the failed commit is durable after all");
            self.marker = Some(found);
            Outcome::Committed(Durable { upto })
        } else if found == expected {
            refused_or_failed
        } else {
            self.marker = None;
            Outcome::Failed
        }
    }

    /// The committer's connection (acquired when there is none).
    async fn connection(&mut self) -> Result<&mut PoolConnection<Any>, LedgerError> {
        if self.conn.is_none() {
            let mut acquired = self.store.pool().acquire().await?;
            if self.store.backend() == Backend::Sqlite {
                // Checkpoints run beside the commits (see `checkpoint_wal`), not inside them.
                sqlx::query("PRAGMA wal_autocheckpoint = 0")
                    .execute(&mut *acquired)
                    .await?;
                // Never hand a connection without automatic checkpoints back to the pool.
                acquired.close_on_drop();
            }
            self.conn = Some(acquired);
        }
        self.conn.as_mut().ok_or(LedgerError::WriterStopped)
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

/// The commit marker as stored now (on a connection of the pool).
async fn stored_marker(store: &Store) -> Result<i64, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    read_marker(&mut conn).await
}

/// Advances the commit marker inside the commit's transaction: from its expected value, which must
/// still be stored (else another writer has committed: [`LedgerError::CommitMarkerMoved`]), or,
/// when it is not known, from whatever is stored. On SQLite this first statement takes the write
/// lock. Returns the new value.
async fn advance_marker(
    conn: &mut AnyConnection,
    expected: Option<i64>,
) -> Result<i64, LedgerError> {
    let Some(current) = expected else {
        sqlx::query(
            "INSERT INTO id_counters (name, value) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET value = id_counters.value + 1",
        )
        .bind(COMMIT_MARKER)
        .execute(&mut *conn)
        .await?;
        return read_marker(conn).await;
    };
    let done = sqlx::query("UPDATE id_counters SET value = $1 WHERE name = $2 AND value = $3")
        .bind(current + 1)
        .bind(COMMIT_MARKER)
        .bind(current)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(LedgerError::CommitMarkerMoved { expected: current });
    }
    Ok(current + 1)
}

/// Releases the held replies of a batch covered by `durable`.
fn release<H: WriteHandler>(executed: Executed<H>, durable: &Durable) {
    debug_assert!(
        executed.flush.batch <= durable.upto,
        "replies of batch {} released before it was committed (committed up to {})",
        executed.flush.batch,
        durable.upto
    );
    for held in executed.held {
        let _ = held.reply.send(held.output);
    }
}
