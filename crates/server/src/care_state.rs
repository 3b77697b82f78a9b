//! The real-time audit's per-person state (issue 13 §2): for each person held, the visits and live
//! fee lines the two history reads of the ledger (`lookups::person_visits`,
//! `lookups::person_audit_lines`) would give, kept in memory so that 3101/3102 and fee upload read
//! no history from the database. A person is read from the ledger when first asked for, or before,
//! when the service starts ([`warm_in_background`]: the persons of open stays and of care within
//! the rule library's longest look-back, a few persons' rows per read); from then on every batch
//! the ledger writer makes durable updates the state before its replies are released
//! ([`CareState::apply`], called by the writer's `durable` hook), so a reply acknowledged to a HIS
//! is already in the state. At most `audit_state_persons` persons are held (the earliest taken in
//! is dropped first); a person with [`HISTORY_ROWS_MAX`] visits or lines is not held, as the
//! ledger read would be cut there.
//!
//! A read of persons races with commits: a batch may become durable after the read began. While
//! reads are in flight every applied batch's changes are journaled; a read is taken in only after
//! the changes of the batches applied since it began are applied to it (in their order; each
//! change sets a visit's row or a line's presence, so a change the read already saw is applied
//! again harmlessly), so it ends equal to the ledger.
//!
//! Readers never hold a person, only a [`Snapshot`] of their visits (see
//! [`yibao_audit::realtime`]): the writer changes a person in place and never copies one.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{Duration, NaiveDateTime};
use rustc_hash::FxHashMap;

use yibao_audit::realtime::{CareSnapshot, PersonCare};
use yibao_ledger::audit_claims::SettledLine;
use yibao_ledger::lookups::{self, AuditLine, CareWindow, HISTORY_ROWS_MAX};
use yibao_ledger::{AnyConnection, Flush, LedgerError, Store, Visit};

use crate::state::Shared;

/// One person's stored visits and live lines as the audit reads them.
pub type Care = PersonCare<Visit, SettledLine>;

/// A person's visits and lines as a reader holds them.
pub type Snapshot = CareSnapshot<Visit, SettledLine>;

/// Most applied batches journaled for reads in flight; a read that began before the oldest one
/// kept is not taken in.
const JOURNAL_BATCHES: usize = 8_192;

/// Persons read together when the state is warmed: one read of their visits and one of their
/// lines.
const WARM_CHUNK: usize = 256;

/// What one applied batch changed, journaled while reads are in flight.
#[derive(Default)]
struct Changes {
    visits: Vec<Arc<Visit>>,
    lines: Vec<(String, i64, Arc<SettledLine>)>,
    cancels: Vec<(String, i64)>,
}

#[derive(Default)]
struct Inner {
    persons: FxHashMap<String, Care>,
    /// Persons in the order they were taken in (the first is dropped first; a person dropped
    /// earlier, when their history grew too long, may still be listed).
    order: VecDeque<String>,
    /// The person of each held visit.
    owners: FxHashMap<String, String>,
    /// Batches applied so far.
    applied: u64,
    /// Reads in flight by the count of batches applied when each began.
    reads: BTreeMap<u64, usize>,
    /// The changes of the batches applied since the oldest read in flight began, numbered.
    journal: VecDeque<(u64, Changes)>,
    /// The newest batch dropped from the journal while a read still needed it.
    forgotten: u64,
}

/// The persons held, at most `capacity` (0: none, every call reads the ledger).
pub struct CareState {
    capacity: usize,
    inner: Mutex<Inner>,
}

/// A read of persons from the ledger in flight: the batches applied since it began are journaled
/// until it is dropped.
struct Read<'a> {
    state: &'a CareState,
    before: u64,
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

    /// How many persons are held.
    pub fn len(&self) -> usize {
        self.lock().persons.len()
    }

    /// Whether no person is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every person held (each is read again when next asked for).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.persons.clear();
        inner.order.clear();
        inner.owners.clear();
    }

    /// The person's visits and lines when held.
    pub fn held(&self, psn_no: &str) -> Option<Snapshot> {
        self.lock().persons.get(psn_no).map(Care::snapshot)
    }

    /// The person's visits and lines: held, or read from the ledger on `conn` (and then held).
    /// `None` when the state is off or the person has more history than it holds: read the ledger
    /// instead.
    pub async fn care_of(
        &self,
        conn: &mut AnyConnection,
        psn_no: &str,
    ) -> Result<Option<Snapshot>, LedgerError> {
        if !self.enabled() {
            return Ok(None);
        }
        if let Some(care) = self.held(psn_no) {
            return Ok(Some(care));
        }
        let started = std::time::Instant::now();
        let read = self.begin_read();
        let visits = lookups::person_visits(conn, psn_no, CareWindow::default()).await?;
        let lines = lookups::person_audit_lines(conn, psn_no).await?;
        let (visit_count, line_count) = (visits.len(), lines.len());
        read.take_in(cares_of(&[psn_no.to_string()], visits, lines));
        tracing::debug!(
            visits = visit_count,
            lines = line_count,
            elapsed_us = started.elapsed().as_micros() as u64,
            "real-time audit state: person read on first analysis"
        );
        Ok(self.held(psn_no))
    }

    /// Reads the persons `candidates` (in that order, those not yet held) from the ledger, a
    /// chunk at a time, and takes them in; stops when the state is full. Returns the persons
    /// taken in.
    pub async fn warm(&self, store: &Store, candidates: &[String]) -> Result<usize, LedgerError> {
        let mut taken = 0;
        for chunk in candidates.chunks(WARM_CHUNK) {
            let room = self.capacity.saturating_sub(self.len());
            let chunk: Vec<String> = {
                let inner = self.lock();
                chunk
                    .iter()
                    .filter(|p| !inner.persons.contains_key(*p))
                    .take(room)
                    .cloned()
                    .collect()
            };
            if chunk.is_empty() {
                if room == 0 {
                    break;
                }
                continue;
            }
            let pending = {
                let mut conn = store.pool().acquire().await?;
                self.read_persons(&mut conn, &chunk).await?
            };
            taken += pending.take_in();
        }
        Ok(taken)
    }

    /// Reads the persons `psn_nos` from the ledger on `conn` (one read of their visits, one of
    /// their lines), to be taken in later: the batches applied until then are journaled and
    /// applied to them when they are taken in ([`PendingRead::take_in`]).
    pub async fn read_persons(
        &self,
        conn: &mut AnyConnection,
        psn_nos: &[String],
    ) -> Result<PendingRead<'_>, LedgerError> {
        let read = self.begin_read();
        let visits = lookups::persons_visits(conn, psn_nos).await?;
        let lines = lookups::persons_audit_lines(conn, psn_nos).await?;
        Ok(PendingRead {
            read,
            cares: cares_of(psn_nos, visits, lines),
        })
    }

    fn begin_read(&self) -> Read<'_> {
        let mut inner = self.lock();
        let before = inner.applied;
        *inner.reads.entry(before).or_default() += 1;
        Read {
            state: self,
            before,
        }
    }

    /// Applies a durable batch: its visits' rows, new lines and cancellations of held persons (and
    /// journals them while reads are in flight).
    pub fn apply(&self, flush: &Flush) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.lock();
        inner.applied += 1;
        let journaling = !inner.reads.is_empty();
        let mut changes = Changes::default();
        for visit in flush.visits() {
            let held = inner.persons.contains_key(&visit.psn_no);
            if !held && !journaling {
                continue;
            }
            let row = Arc::new(visit.clone());
            if held {
                inner.upsert_visit(Arc::clone(&row));
            }
            if journaling {
                changes.visits.push(row);
            }
        }
        for line in flush.new_lines() {
            let held = inner.owners.contains_key(&line.mdtrt_id);
            if !held && !journaling {
                continue;
            }
            let Some(stored) = SettledLine::of_upload(line) else {
                continue;
            };
            let stored = Arc::new(stored);
            if held {
                let seq = line.upload_seq;
                inner.with_owner(&line.mdtrt_id, |care| {
                    care.add_line(&line.mdtrt_id, seq, Arc::clone(&stored))
                });
            }
            if journaling {
                changes
                    .lines
                    .push((line.mdtrt_id.clone(), line.upload_seq, stored));
            }
        }
        for cancel in flush.line_cancels() {
            inner.with_owner(&cancel.mdtrt_id, |care| {
                care.cancel_line(&cancel.mdtrt_id, cancel.upload_seq)
            });
            if journaling {
                changes
                    .cancels
                    .push((cancel.mdtrt_id.clone(), cancel.upload_seq));
            }
        }
        if journaling {
            let applied = inner.applied;
            inner.journal.push_back((applied, changes));
            while inner.journal.len() > JOURNAL_BATCHES {
                if let Some((n, _)) = inner.journal.pop_front() {
                    inner.forgotten = n;
                }
            }
        }
    }
}

/// Persons read from the ledger and not yet taken in ([`CareState::read_persons`]).
pub struct PendingRead<'a> {
    read: Read<'a>,
    cares: FxHashMap<String, Care>,
}

impl PendingRead<'_> {
    /// Applies the batches made durable since the read began and takes the persons in (not
    /// those held meanwhile, nor those with too long a history, nor any when the journal no
    /// longer holds every batch since). Returns how many were taken in.
    pub fn take_in(self) -> usize {
        self.read.take_in(self.cares)
    }
}

impl Read<'_> {
    /// Brings persons read since this read began up to date with the journaled batches and takes
    /// them in ([`PendingRead::take_in`]).
    fn take_in(self, mut cares: FxHashMap<String, Care>) -> usize {
        let mut inner = self.state.lock();
        if self.before < inner.forgotten {
            return 0;
        }
        let mut owners: FxHashMap<String, String> = FxHashMap::default();
        for (psn_no, care) in &cares {
            for mdtrt_id in care.visit_ids() {
                owners.insert(mdtrt_id.to_string(), psn_no.clone());
            }
        }
        for (_, changes) in inner.journal.iter().filter(|(n, _)| *n > self.before) {
            for row in &changes.visits {
                if let Some(care) = cares.get_mut(&row.psn_no) {
                    care.upsert_visit(&row.mdtrt_id, Arc::clone(row));
                    owners.insert(row.mdtrt_id.clone(), row.psn_no.clone());
                }
            }
            for (mdtrt_id, seq, line) in &changes.lines {
                if let Some(care) = owners.get(mdtrt_id).and_then(|p| cares.get_mut(p)) {
                    care.add_line(mdtrt_id, *seq, Arc::clone(line));
                }
            }
            for (mdtrt_id, seq) in &changes.cancels {
                if let Some(care) = owners.get(mdtrt_id).and_then(|p| cares.get_mut(p)) {
                    care.cancel_line(mdtrt_id, *seq);
                }
            }
        }
        let mut taken = 0;
        for (psn_no, care) in cares {
            if inner.persons.contains_key(&psn_no)
                || care.largest_count() >= HISTORY_ROWS_MAX as usize
            {
                continue;
            }
            for mdtrt_id in care.visit_ids() {
                inner.owners.insert(mdtrt_id.to_string(), psn_no.clone());
            }
            inner.persons.insert(psn_no.clone(), care);
            inner.order.push_back(psn_no);
            taken += 1;
        }
        while inner.persons.len() > self.state.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.drop_person(&oldest);
        }
        taken
    }
}

impl Drop for Read<'_> {
    fn drop(&mut self) {
        let mut inner = self.state.lock();
        if let Some(count) = inner.reads.get_mut(&self.before) {
            *count -= 1;
            if *count == 0 {
                inner.reads.remove(&self.before);
            }
        }
        match inner.reads.keys().next().copied() {
            Some(oldest) => {
                while inner.journal.front().is_some_and(|(n, _)| *n <= oldest) {
                    inner.journal.pop_front();
                }
            }
            None => inner.journal.clear(),
        }
    }
}

impl Inner {
    fn upsert_visit(&mut self, row: Arc<Visit>) {
        let Some(care) = self.persons.get_mut(&row.psn_no) else {
            return;
        };
        care.upsert_visit(&row.mdtrt_id, Arc::clone(&row));
        let full = care.largest_count() >= HISTORY_ROWS_MAX as usize;
        self.owners.insert(row.mdtrt_id.clone(), row.psn_no.clone());
        if full {
            self.drop_person(&row.psn_no);
        }
    }

    /// Changes the state of the person holding a visit, if any.
    fn with_owner(&mut self, mdtrt_id: &str, change: impl FnOnce(&mut Care)) {
        let Some(psn_no) = self.owners.get(mdtrt_id) else {
            return;
        };
        let Some(care) = self.persons.get_mut(psn_no) else {
            return;
        };
        change(care);
        if care.largest_count() >= HISTORY_ROWS_MAX as usize {
            let psn_no = psn_no.clone();
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

/// The states of the persons `psn_nos` built from their visits and live lines as read.
fn cares_of(
    psn_nos: &[String],
    visits: Vec<Visit>,
    lines: Vec<AuditLine>,
) -> FxHashMap<String, Care> {
    let mut cares: FxHashMap<String, Care> = psn_nos
        .iter()
        .map(|p| (p.clone(), Care::default()))
        .collect();
    let mut owners: FxHashMap<String, String> = FxHashMap::default();
    for visit in visits {
        owners.insert(visit.mdtrt_id.clone(), visit.psn_no.clone());
        let care = cares.entry(visit.psn_no.clone()).or_default();
        care.upsert_visit(&visit.mdtrt_id.clone(), Arc::new(visit));
    }
    for (mdtrt_id, upload_seq, line) in lines {
        if let Some(care) = owners.get(&mdtrt_id).and_then(|p| cares.get_mut(p)) {
            care.add_line(&mdtrt_id, upload_seq, Arc::new(line));
        }
    }
    cares
}

/// One person's visits and lines as read from the ledger, as a reader holds them (when the state
/// does not hold the person).
pub fn snapshot_of(visits: Vec<Visit>, lines: Vec<AuditLine>) -> Snapshot {
    cares_of(&[], visits, lines)
        .into_values()
        .next()
        .map_or_else(|| Care::default().snapshot(), |care| care.snapshot())
}

/// Warms the state in the background when the service starts: the persons of open stays and of
/// visits sharing a moment with the rule library's longest look-back before `now` (derived from
/// the loaded rules, [`yibao_audit::RuleSet::history_days`]), open stays first, then the latest
/// care, at most `audit_state_persons` (not with `audit_state_warm` off). The service answers
/// meanwhile; a call for a person not yet
/// read reads them itself. Logs how many persons were read and how long it took.
pub fn warm_in_background(shared: &Arc<Shared>, now: NaiveDateTime) {
    if !shared.care.enabled() || !shared.config.audit_state_warm {
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let days = shared.audit.history_days();
        let from = now - Duration::days(days);
        let candidates = match shared.store.pool().acquire().await {
            Ok(mut conn) => {
                lookups::persons_with_recent_care(&mut conn, from, shared.care.capacity).await
            }
            Err(error) => Err(error.into()),
        };
        let warmed = match candidates {
            Ok(candidates) => shared
                .care
                .warm(&shared.store, &candidates)
                .await
                .map(|taken| (candidates.len(), taken)),
            Err(error) => Err(error),
        };
        match warmed {
            Ok((candidates, taken)) => tracing::info!(
                look_back_days = days,
                candidates,
                taken,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "real-time audit state warmed"
            ),
            Err(error) => tracing::warn!(%error, "warming the real-time audit state"),
        }
    });
}
