//! The real-time audit's per-person state (issue 13 §2): for each person held, the visits and live
//! fee lines the two history reads of the ledger (`lookups::person_visits`,
//! `lookups::person_audit_lines`) would give, kept in memory so that 3101/3102 and fee upload read
//! no history from the database. A person is read from the ledger once, when first asked for; from
//! then on every batch the ledger writer makes durable updates the state before its replies are
//! released ([`CareState::apply`], called by the writer's `durable` hook), so a reply acknowledged
//! to a HIS is already in the state. At most `audit_state_persons` persons are held (the earliest
//! taken in is dropped first); a person with [`HISTORY_ROWS_MAX`] visits or lines is not held, as
//! the ledger read would be cut there.
//!
//! A read of a person races with commits: a batch may become durable after the read began. Each
//! applied batch is numbered and its persons and visits remembered for a while ([`RECENT_BATCHES`]);
//! a read is kept only when no batch applied meanwhile touched the person or one of their visits.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use rustc_hash::{FxHashMap, FxHashSet};

use yibao_audit::realtime::PersonCare;
use yibao_ledger::audit_claims::SettledLine;
use yibao_ledger::lookups::{self, CareWindow, HISTORY_ROWS_MAX};
use yibao_ledger::{AnyConnection, Flush, LedgerError, Visit};

/// One person's stored visits and live lines as the audit reads them.
pub type Care = PersonCare<Visit, SettledLine>;

/// Applied batches remembered for reads in flight.
const RECENT_BATCHES: usize = 1_024;

/// What one applied batch wrote: the persons of its visits and the visits of its lines.
#[derive(Default)]
struct Touched {
    persons: FxHashSet<String>,
    visits: FxHashSet<String>,
}

#[derive(Default)]
struct Inner {
    persons: FxHashMap<String, Arc<Care>>,
    /// Persons in the order they were taken in (the first is dropped first; a person dropped
    /// earlier, when their history grew too long, may still be listed).
    order: VecDeque<String>,
    /// The person of each held visit.
    owners: FxHashMap<String, String>,
    /// Batches applied so far.
    applied: u64,
    /// The last [`RECENT_BATCHES`] applied batches, numbered.
    recent: VecDeque<(u64, Touched)>,
}

/// The persons held, at most `capacity` (0: none, every call reads the ledger).
pub struct CareState {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl CareState {
    /// An empty state holding at most `capacity` persons.
    pub fn new(capacity: usize) -> CareState {
        CareState {
            capacity,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether persons are held at all.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The person's state when held.
    pub fn held(&self, psn_no: &str) -> Option<Arc<Care>> {
        self.lock().persons.get(psn_no).cloned()
    }

    /// The person's state: held, or read from the ledger on `conn` (and then held when nothing
    /// written meanwhile touched them). `None` when the state is off or the person has more
    /// history than it holds: read the ledger instead.
    pub async fn care_of(
        &self,
        conn: &mut AnyConnection,
        psn_no: &str,
    ) -> Result<Option<Arc<Care>>, LedgerError> {
        if !self.enabled() {
            return Ok(None);
        }
        if let Some(care) = self.held(psn_no) {
            return Ok(Some(care));
        }
        let before = self.lock().applied;
        let visits = lookups::person_visits(conn, psn_no, CareWindow::default()).await?;
        let lines = lookups::person_audit_lines(conn, psn_no).await?;
        let mut care = Care::default();
        for visit in visits {
            care.upsert_visit(&visit.mdtrt_id.clone(), visit);
        }
        for (mdtrt_id, upload_seq, line) in lines {
            care.add_line(&mdtrt_id, upload_seq, line);
        }
        if care.largest_count() >= HISTORY_ROWS_MAX as usize {
            return Ok(None);
        }
        let care = Arc::new(care);
        self.keep(psn_no, &care, before);
        Ok(Some(care))
    }

    /// Holds a person read when `before` batches were applied, unless a batch applied since touched
    /// them (or is no longer remembered).
    fn keep(&self, psn_no: &str, care: &Arc<Care>, before: u64) {
        let mut inner = self.lock();
        if inner.persons.contains_key(psn_no) {
            return;
        }
        let forgotten = inner.recent.front().map_or(inner.applied, |(n, _)| n - 1);
        if before < forgotten {
            return;
        }
        let touched = inner
            .recent
            .iter()
            .filter(|(n, _)| *n > before)
            .any(|(_, t)| {
                t.persons.contains(psn_no) || care.visit_ids().any(|v| t.visits.contains(v))
            });
        if touched {
            return;
        }
        for mdtrt_id in care.visit_ids() {
            inner
                .owners
                .insert(mdtrt_id.to_string(), psn_no.to_string());
        }
        inner.persons.insert(psn_no.to_string(), Arc::clone(care));
        inner.order.push_back(psn_no.to_string());
        while inner.persons.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.drop_person(&oldest);
        }
    }

    /// Applies a durable batch: its visits' rows, new lines and cancellations of held persons.
    pub fn apply(&self, flush: &Flush) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.lock();
        inner.applied += 1;
        let mut touched = Touched::default();
        for visit in flush.visits() {
            touched.persons.insert(visit.psn_no.clone());
            inner.upsert_visit(visit);
        }
        for line in flush.new_lines() {
            touched.visits.insert(line.mdtrt_id.clone());
            if let Some(stored) = SettledLine::of_upload(line) {
                inner.with_owner(&line.mdtrt_id, |care| {
                    care.add_line(&line.mdtrt_id, line.upload_seq, stored)
                });
            }
        }
        for cancel in flush.line_cancels() {
            touched.visits.insert(cancel.mdtrt_id.clone());
            inner.with_owner(&cancel.mdtrt_id, |care| {
                care.cancel_line(&cancel.mdtrt_id, cancel.upload_seq)
            });
        }
        let applied = inner.applied;
        inner.recent.push_back((applied, touched));
        if inner.recent.len() > RECENT_BATCHES {
            inner.recent.pop_front();
        }
    }
}

impl Inner {
    fn upsert_visit(&mut self, visit: &Visit) {
        let Some(care) = self.persons.get_mut(&visit.psn_no) else {
            return;
        };
        Arc::make_mut(care).upsert_visit(&visit.mdtrt_id, visit.clone());
        let full = care.largest_count() >= HISTORY_ROWS_MAX as usize;
        self.owners
            .insert(visit.mdtrt_id.clone(), visit.psn_no.clone());
        if full {
            self.drop_person(&visit.psn_no);
        }
    }

    /// Changes the state of the person holding a visit, if any.
    fn with_owner(&mut self, mdtrt_id: &str, change: impl FnOnce(&mut Care)) {
        let Some(psn_no) = self.owners.get(mdtrt_id).cloned() else {
            return;
        };
        let Some(care) = self.persons.get_mut(&psn_no) else {
            return;
        };
        let care = Arc::make_mut(care);
        change(care);
        if care.largest_count() >= HISTORY_ROWS_MAX as usize {
            self.drop_person(&psn_no);
        }
    }

    fn drop_person(&mut self, psn_no: &str) {
        if let Some(care) = self.persons.remove(psn_no) {
            for mdtrt_id in care.visit_ids() {
                self.owners.remove(mdtrt_id);
            }
        }
    }
}
