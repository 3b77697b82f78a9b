//! The writer's cache and the view a transaction works on.
//!
//! One writer task owns the write side of the database (see [`crate::GroupCommit`]), so it can keep
//! what write transactions read — persons, open visits and their fee lines, accumulator totals,
//! account payments, counters — in memory instead of asking the database for it on every message.
//! A transaction works on a [`LedgerView`]: its reads come from its own staged writes, then from the
//! cache (which holds the committed state plus the writes of the batch's earlier transactions), then
//! from the database; its writes are staged in the view. [`LedgerView::keep`] moves them into the
//! cache and the batch's pending writes; dropping the view forgets them, so a failed transaction
//! leaves no trace without a savepoint. At the end of the batch [`LedgerCache::take_flush`] hands every
//! pending change over as a [`Flush`], which the committer writes as a few multi-row statements in the
//! batch's transaction — while the writer already runs the next batch against the cache.
//!
//! So the cache may hold writes of batches that are not committed yet ("in flight"). Every cached
//! value remembers the batch that last wrote it and is never evicted while that batch is in flight,
//! so a key missing from the cache has no unwritten changes and the database's committed state is
//! right for it. If a commit fails, the writer discards the whole cache, and every batch executed on
//! top of the failed one fails as well (see [`crate::GroupCommit`]).
//!
//! The view enforces the uniqueness rules of the schema (one stored reply per `msgid`, one
//! cancellation per settlement, a fee line cancelled at most once) before anything is written, so a
//! flush never fails on them; and the rules of the fee-line history the schema cannot express: one
//! live line per `feedetl_sn` of a visit, only unsettled lines cancelled, a settlement consuming
//! only live unsettled lines.
//!
//! Fee lines are written once, by their upload, and never changed: a cancellation is an event of its
//! own, and which settlement consumed a line is not stored with it but derived — from the lines of the
//! visit's live settlements when a visit's lines are read from the database, and kept up to date in
//! the cache by [`LedgerView::append_settlement`].
//!
//! Persons are written by registry imports outside the writer (even by another process); every import
//! bumps the `registry_version` counter in its own transaction, and the cache drops its persons when
//! that counter has moved at the start of a batch.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use sqlx::{AnyConnection, Row};
use yibao_domain::Fen;
use yibao_settlement::{AccKey, Posting};

use crate::entries::{self, EntryFilter, EntrySummary, StoredMessage};
use crate::flush::{self, posting_sums, AccTotalRow, EntryRows, Script};
use crate::peers::{self, Intent, IntentRow, IntentState};
use crate::{
    registry, EntryKind, EventSource, FeeEventKind, FeeLine, FeeLineEvent, LedgerError, LineCancel,
    LiveLine, Person, SettlementRecord, Visit, VisitStatus,
};

/// Name of the counter that registry imports bump (persons changed).
pub(crate) const REGISTRY_VERSION: &str = "registry_version";
/// Name of the counter of the ledger's order: settlements' `seq` and fee-line events' `event_seq`.
const LEDGER_SEQ: &str = "ledger_seq";
/// Name of the counter of fee uploads; a line's `upload_seq` is the upload's number times
/// [`UPLOAD_SEQ_STRIDE`] plus the line's position in the upload.
const FEE_UPLOAD: &str = "fee_upload";
/// Lines one upload may hold (see [`FEE_UPLOAD`]).
const UPLOAD_SEQ_STRIDE: i64 = 100_000;

/// `(psn_no, insutype, year)`.
type YtdKey = (String, String, i64);
/// `(psn_no, insutype)`.
type AccountKey = (String, String);
/// `(fixmedins_code, msgid)`.
type MessageKey = (String, String);
/// Ledger entries with their ledger sequence numbers.
type Entries = Vec<(i64, SettlementRecord)>;

/// What the cache knows about a message.
#[derive(Clone)]
enum Known {
    /// Not stored when the current batch began.
    Absent,
    /// Stored by the given batch (0: already in the database).
    Stored(StoredMessage, u64),
}

/// What the writer remembers between transactions and batches.
/// Values carry the number of the batch that last wrote them (0: read from the database).
#[derive(Default)]
pub struct LedgerCache {
    /// Cached entries (persons, visits, totals) above which committed entries are dropped.
    capacity: usize,
    /// The batch being executed.
    batch: u64,
    /// Every batch up to this one is committed (as last reported to [`LedgerCache::committed`]).
    committed_upto: u64,
    registry_version: Option<i64>,
    persons: HashMap<String, Option<Person>>,
    visits: HashMap<String, (Visit, u64)>,
    /// The live fee lines of visits, with the settlements that consumed them.
    fee_lines: HashMap<String, (Vec<LiveLine>, u64)>,
    ytd: HashMap<YtdKey, (BTreeMap<AccKey, i64>, u64)>,
    account_paid: HashMap<AccountKey, (Fen, u64)>,
    counters: HashMap<String, i64>,
    messages: HashMap<MessageKey, Known>,
    pending: Pending,
    /// Ledger entries of batches handed to the committer and not yet committed.
    in_flight: VecDeque<(u64, Arc<Entries>)>,
    /// Visits that were settled or cancelled, with the batch that did it, oldest first: forgotten
    /// once that batch is committed.
    finished: VecDeque<(u64, String)>,
}

/// Changes kept by the batch's transactions and not yet written.
#[derive(Default)]
struct Pending {
    visits: BTreeSet<String>,
    fee_events: Vec<FeeLineEvent>,
    new_lines: Vec<Arc<FeeLine>>,
    line_cancels: Vec<LineCancel>,
    /// Accumulator totals changed, by person-year and key.
    ytd: BTreeSet<(YtdKey, AccKey)>,
    accounts: BTreeSet<AccountKey>,
    counters: BTreeSet<String>,
    settlements: Entries,
    messages: Vec<StoredMessage>,
    /// Intents recorded or resolved, by key ([`merge_intent`]).
    intents: BTreeMap<String, IntentRow>,
}

/// The writes of one batch, owned, ready to be written in the batch's transaction.
pub struct Flush {
    /// The batch the writes belong to.
    pub batch: u64,
    visits: Vec<Visit>,
    fee_events: Vec<FeeLineEvent>,
    new_lines: Vec<Arc<FeeLine>>,
    line_cancels: Vec<LineCancel>,
    settlements: Arc<Entries>,
    acc_totals: Vec<AccTotalRow>,
    accounts: Vec<(String, String, Fen)>,
    counters: Vec<(String, i64)>,
    messages: Vec<StoredMessage>,
    intents: Vec<IntentRow>,
}

impl Flush {
    /// Whether the batch wrote nothing (every job rolled back).
    pub fn is_empty(&self) -> bool {
        self.visits.is_empty()
            && self.fee_events.is_empty()
            && self.new_lines.is_empty()
            && self.line_cancels.is_empty()
            && self.settlements.is_empty()
            && self.acc_totals.is_empty()
            && self.accounts.is_empty()
            && self.counters.is_empty()
            && self.messages.is_empty()
            && self.intents.is_empty()
    }

    /// The visits the batch wrote, each as its current row.
    pub fn visits(&self) -> &[Visit] {
        &self.visits
    }

    /// The fee lines the batch uploaded.
    pub fn new_lines(&self) -> &[Arc<FeeLine>] {
        &self.new_lines
    }

    /// The fee lines the batch cancelled.
    pub fn line_cancels(&self) -> &[LineCancel] {
        &self.line_cancels
    }

    /// Writes everything on `conn` inside the batch's transaction: a few multi-row statements, sent
    /// as one query on SQLite. On SQLite the first statement takes the write lock, so a concurrent
    /// registry import can delay the batch but never make it fail on a read-to-write lock upgrade.
    pub async fn write(&self, conn: &mut AnyConnection) -> Result<(), LedgerError> {
        let entry_rows = EntryRows::of(&self.settlements);
        let header_head = flush::header_insert_head();
        let mut script = Script::new(conn);
        if script.is_single_query() {
            script.statement("UPDATE id_counters SET value = value WHERE name = ''");
        }
        flush::upsert_visits(&mut script, &self.visits);
        flush::insert_fee_line_events(&mut script, &self.fee_events);
        flush::insert_fee_lines(&mut script, &self.new_lines);
        flush::insert_line_cancels(&mut script, &self.line_cancels);
        flush::insert_settlements(&mut script, &self.settlements, &entry_rows, &header_head);
        flush::upsert_acc_totals(&mut script, &self.acc_totals);
        flush::upsert_account_totals(&mut script, &self.accounts);
        flush::upsert_counters(&mut script, &self.counters);
        flush::insert_messages(&mut script, &self.messages);
        flush::upsert_intents(&mut script, &self.intents);
        script.run(conn).await
    }
}

/// Writes of one transaction, held until it is kept or dropped. Collections hold whole new values
/// (a visit's complete list of fee lines, a year's complete totals).
#[derive(Default)]
struct Staged {
    visits: HashMap<String, Visit>,
    fee_lines: HashMap<String, Vec<LiveLine>>,
    fee_events: Vec<FeeLineEvent>,
    new_lines: Vec<Arc<FeeLine>>,
    line_cancels: Vec<LineCancel>,
    ytd: HashMap<YtdKey, BTreeMap<AccKey, i64>>,
    ytd_keys: BTreeSet<(YtdKey, AccKey)>,
    accounts: HashMap<AccountKey, Fen>,
    counters: HashMap<String, i64>,
    settlements: Entries,
    messages: Vec<StoredMessage>,
    intents: Vec<IntentRow>,
}

impl LedgerCache {
    /// An empty cache that keeps at most about `capacity` entries between batches.
    pub fn new(capacity: usize) -> LedgerCache {
        LedgerCache {
            capacity,
            ..LedgerCache::default()
        }
    }

    /// Starts the next batch and returns its number: drops cached persons if the registry changed,
    /// and reads in one query which of the batch's messages (`(fixmedins_code, msgid)`) are stored.
    /// `conn` may be any connection (the committed state is all it needs to see).
    pub async fn begin_batch(
        &mut self,
        conn: &mut AnyConnection,
        message_keys: Vec<(String, String)>,
    ) -> Result<u64, LedgerError> {
        self.batch += 1;
        let version = counter_value(conn, REGISTRY_VERSION).await?;
        if self.registry_version != Some(version) {
            self.persons.clear();
            self.registry_version = Some(version);
        }
        self.messages
            .retain(|_, known| matches!(known, Known::Stored(_, batch) if *batch > 0));
        let found = entries::stored_messages(conn, &message_keys).await?;
        for key in message_keys {
            self.messages.entry(key).or_insert(Known::Absent);
        }
        for message in found {
            let key = (message.fixmedins_code.clone(), message.msgid.clone());
            self.messages.insert(key, Known::Stored(message, 0));
        }
        Ok(self.batch)
    }

    /// A view for one transaction, reading what is not cached on `conn`.
    pub fn view<'a>(&'a mut self, conn: &'a mut AnyConnection) -> LedgerView<'a> {
        LedgerView {
            conn,
            cache: self,
            staged: Staged::default(),
        }
    }

    /// Hands the current batch's writes over for writing; they stay readable (in flight) until
    /// [`committed`](Self::committed) reports the batch.
    pub fn take_flush(&mut self) -> Flush {
        let pending = std::mem::take(&mut self.pending);
        let settlements = Arc::new(pending.settlements);
        self.in_flight
            .push_back((self.batch, Arc::clone(&settlements)));
        Flush {
            batch: self.batch,
            visits: pending
                .visits
                .iter()
                .filter_map(|id| self.visits.get(id).map(|(v, _)| v.clone()))
                .collect(),
            fee_events: pending.fee_events,
            new_lines: pending.new_lines,
            line_cancels: pending.line_cancels,
            settlements,
            acc_totals: pending
                .ytd
                .iter()
                .filter_map(|(key, acc_key)| {
                    let amount = self.ytd.get(key)?.0.get(acc_key)?;
                    Some((key.0.clone(), key.1.clone(), key.2, *acc_key, *amount))
                })
                .collect(),
            accounts: pending
                .accounts
                .iter()
                .filter_map(|key| {
                    self.account_paid
                        .get(key)
                        .map(|(paid, _)| (key.0.clone(), key.1.clone(), *paid))
                })
                .collect(),
            counters: pending
                .counters
                .iter()
                .filter_map(|name| self.counters.get(name).map(|v| (name.clone(), *v)))
                .collect(),
            messages: pending.messages,
            intents: pending.intents.into_values().collect(),
        }
    }

    /// Every batch up to `batch` is committed: its entries leave the in-flight list, finished
    /// visits are forgotten, and if the cache is over capacity every committed entry is dropped.
    /// Entries written by later batches (not committed yet) are never dropped. `batch` only grows and
    /// is never beyond the last batch begun.
    pub fn committed(&mut self, batch: u64) {
        debug_assert!(
            batch <= self.batch,
            "batch {batch} reported committed, but only {} began",
            self.batch
        );
        debug_assert!(
            batch >= self.committed_upto,
            "committed batches went back from {} to {batch}",
            self.committed_upto
        );
        self.committed_upto = self.committed_upto.max(batch);
        let unwritten = cfg!(debug_assertions).then(|| self.unwritten_entries(batch));
        self.evict_committed(batch);
        debug_assert_eq!(
            unwritten.map(|_| self.unwritten_entries(batch)),
            unwritten,
            "eviction dropped entries of batches after {batch}, which are not committed"
        );
    }

    /// How many cached entries hold writes of batches after `batch`.
    fn unwritten_entries(&self, batch: u64) -> usize {
        let after = |written: &u64| *written > batch;
        self.visits.values().filter(|(_, w)| after(w)).count()
            + self.fee_lines.values().filter(|(_, w)| after(w)).count()
            + self.ytd.values().filter(|(_, w)| after(w)).count()
            + self.account_paid.values().filter(|(_, w)| after(w)).count()
            + self
                .messages
                .values()
                .filter(|known| matches!(known, Known::Stored(_, w) if after(w)))
                .count()
            + self.in_flight.iter().filter(|(b, _)| after(b)).count()
    }

    /// Drops what batches up to `batch` wrote and no longer needs caching (see [`Self::committed`]).
    fn evict_committed(&mut self, batch: u64) {
        self.in_flight.retain(|(b, _)| *b > batch);
        let unflushed = |written: &u64| *written > batch;
        self.messages.retain(|_, known| match known {
            Known::Stored(_, written) => unflushed(written),
            Known::Absent => true,
        });
        while let Some((written, id)) = self.finished.front() {
            if unflushed(written) {
                break;
            }
            let still_finished = self.visits.get(id).is_some_and(|(v, w)| {
                !unflushed(w) && (v.status.is_settled() || v.status == VisitStatus::Cancelled)
            });
            if still_finished {
                self.visits.remove(id);
                if self.fee_lines.get(id).is_some_and(|(_, w)| !unflushed(w)) {
                    self.fee_lines.remove(id);
                }
            }
            self.finished.pop_front();
        }
        let size =
            self.persons.len() + self.visits.len() + self.ytd.len() + self.account_paid.len();
        if size > self.capacity {
            self.persons.clear();
            self.visits.retain(|_, (_, w)| unflushed(w));
            self.fee_lines.retain(|_, (_, w)| unflushed(w));
            self.ytd.retain(|_, (_, w)| unflushed(w));
            self.account_paid.retain(|_, (_, w)| unflushed(w));
        }
    }

    /// After a failed batch: everything cached may include its lost writes, so all is forgotten
    /// (batch numbers go on).
    pub fn discard(&mut self) {
        *self = LedgerCache {
            batch: self.batch,
            committed_upto: self.committed_upto,
            ..LedgerCache::new(self.capacity)
        };
    }

    /// Ledger entries kept in this batch or in flight, newest batch last.
    fn unflushed_entries(&self) -> impl Iterator<Item = &SettlementRecord> {
        self.in_flight
            .iter()
            .flat_map(|(_, entries)| entries.iter())
            .chain(&self.pending.settlements)
            .map(|(_, r)| r)
    }
}

/// The ledger as one transaction sees it (see the module documentation).
pub struct LedgerView<'a> {
    conn: &'a mut AnyConnection,
    cache: &'a mut LedgerCache,
    staged: Staged,
}

impl LedgerView<'_> {
    /// The connection, for reads of tables the writer does not cache (registry lookups, ledger
    /// queries). It shows committed data only, not the writes of this batch.
    pub fn conn(&mut self) -> &mut AnyConnection {
        self.conn
    }

    /// Keeps the transaction's writes: they join the batch's pending writes.
    pub fn keep(self) {
        let LedgerView { cache, staged, .. } = self;
        let batch = cache.batch;
        let pending = &mut cache.pending;
        for (id, visit) in staged.visits {
            if visit.status.is_settled() || visit.status == VisitStatus::Cancelled {
                cache.finished.push_back((batch, id.clone()));
            }
            pending.visits.insert(id.clone());
            cache.visits.insert(id, (visit, batch));
        }
        for (id, lines) in staged.fee_lines {
            cache.fee_lines.insert(id, (lines, batch));
        }
        pending.fee_events.extend(staged.fee_events);
        pending.new_lines.extend(staged.new_lines);
        pending.line_cancels.extend(staged.line_cancels);
        for (key, sums) in staged.ytd {
            cache.ytd.insert(key, (sums, batch));
        }
        pending.ytd.extend(staged.ytd_keys);
        for (key, paid) in staged.accounts {
            pending.accounts.insert(key.clone());
            cache.account_paid.insert(key, (paid, batch));
        }
        for (name, value) in staged.counters {
            pending.counters.insert(name.clone());
            cache.counters.insert(name, value);
        }
        pending.settlements.extend(staged.settlements);
        for message in staged.messages {
            let key = (message.fixmedins_code.clone(), message.msgid.clone());
            cache
                .messages
                .insert(key, Known::Stored(message.clone(), batch));
            pending.messages.push(message);
        }
        for row in staged.intents {
            merge_intent(&mut pending.intents, row);
        }
    }

    /// A registered person.
    pub async fn person(&mut self, psn_no: &str) -> Result<Option<Person>, LedgerError> {
        if let Some(known) = self.cache.persons.get(psn_no) {
            return Ok(known.clone());
        }
        let found = registry::person(self.conn, psn_no).await?;
        self.cache.persons.insert(psn_no.to_string(), found.clone());
        Ok(found)
    }

    /// Issues the next value of a named counter (1, 2, 3 …).
    pub async fn next_id(&mut self, name: &str) -> Result<i64, LedgerError> {
        let current = match self.staged.counters.get(name) {
            Some(value) => *value,
            None => match self.cache.counters.get(name) {
                Some(value) => *value,
                None => {
                    let stored = counter_value(self.conn, name).await?;
                    self.cache.counters.insert(name.to_string(), stored);
                    stored
                }
            },
        };
        self.staged.counters.insert(name.to_string(), current + 1);
        Ok(current + 1)
    }

    /// The stored message `msgid` of an institution.
    pub async fn stored_message(
        &mut self,
        fixmedins_code: &str,
        msgid: &str,
    ) -> Result<Option<StoredMessage>, LedgerError> {
        let staged = self
            .staged
            .messages
            .iter()
            .find(|m| m.fixmedins_code == fixmedins_code && m.msgid == msgid);
        if let Some(message) = staged {
            return Ok(Some(message.clone()));
        }
        let key = (fixmedins_code.to_string(), msgid.to_string());
        match self.cache.messages.get(&key) {
            Some(Known::Stored(message, _)) => Ok(Some(message.clone())),
            Some(Known::Absent) => Ok(None),
            None => entries::stored_message(self.conn, fixmedins_code, msgid).await,
        }
    }

    /// Records a message and its reply; a `msgid` already stored is a conflict.
    pub async fn store_message(&mut self, message: StoredMessage) -> Result<(), LedgerError> {
        if self
            .stored_message(&message.fixmedins_code, &message.msgid)
            .await?
            .is_some()
        {
            return Err(LedgerError::Conflict(format!(
                "message {} of {} is already stored",
                message.msgid, message.fixmedins_code
            )));
        }
        self.staged.messages.push(message);
        Ok(())
    }

    /// Records a pending intent of direct settlement between platforms under a new key: the next
    /// serial of [`peers::INTENT_COUNTER`] after `key_prefix` ([`peers::key_of`]); `intent_of`
    /// makes the intent of the key. Stored with the batch, so the intent is durable when the job's
    /// reply is released.
    pub async fn record_intent<E: From<LedgerError>>(
        &mut self,
        key_prefix: &str,
        intent_of: impl FnOnce(String) -> Result<Intent, E>,
    ) -> Result<Intent, E> {
        let serial = self.next_id(peers::INTENT_COUNTER).await?;
        let intent = Intent {
            state: IntentState::Pending,
            ..intent_of(peers::key_of(key_prefix, serial))?
        };
        self.staged.intents.push(IntentRow {
            intent: intent.clone(),
            resolved_at: String::new(),
        });
        Ok(intent)
    }

    /// Resolves a recorded intent (`state` committed or aborted) at `resolved_at`, with the batch:
    /// a settlement committed under its key and its resolution are one commit. An intent resolved
    /// already keeps its first resolution.
    pub fn resolve_intent(&mut self, intent: &Intent, state: IntentState, resolved_at: &str) {
        self.staged.intents.push(IntentRow {
            intent: Intent {
                state,
                ..intent.clone()
            },
            resolved_at: resolved_at.to_string(),
        });
    }

    /// One visit.
    pub async fn visit(&mut self, mdtrt_id: &str) -> Result<Option<Visit>, LedgerError> {
        if let Some(visit) = self.staged.visits.get(mdtrt_id) {
            return Ok(Some(visit.clone()));
        }
        if let Some((visit, _)) = self.cache.visits.get(mdtrt_id) {
            return Ok(Some(visit.clone()));
        }
        let found = entries::visit(self.conn, mdtrt_id).await?;
        if let Some(visit) = &found {
            self.cache
                .visits
                .insert(mdtrt_id.to_string(), (visit.clone(), 0));
        }
        Ok(found)
    }

    /// Adds a new visit (its `mdtrt_id` is freshly issued); it has no fee lines yet.
    pub fn insert_visit(&mut self, visit: &Visit) {
        self.staged
            .fee_lines
            .insert(visit.mdtrt_id.clone(), Vec::new());
        self.update_visit(visit);
    }

    /// Replaces the stored state of a visit (status, medical type, times, details).
    pub fn update_visit(&mut self, visit: &Visit) {
        self.staged
            .visits
            .insert(visit.mdtrt_id.clone(), visit.clone());
    }

    /// The live fee lines of a visit (uploaded and not cancelled), in upload order, each with the
    /// live settlement that consumed it.
    pub async fn fee_lines(&mut self, mdtrt_id: &str) -> Result<Vec<LiveLine>, LedgerError> {
        Ok(self.lines_mut(mdtrt_id).await?.clone())
    }

    /// Records an upload of fee lines to a visit: one upload event (from `source`, with the split
    /// basis the lines carry) and the lines, whose `upload_seq` and `event_seq` are issued here. No
    /// `feedetl_sn` may be live on the visit or appear twice in the upload. Returns the stored lines.
    pub async fn upload_fee_lines(
        &mut self,
        mdtrt_id: &str,
        source: EventSource,
        lines: Vec<FeeLine>,
    ) -> Result<Vec<Arc<FeeLine>>, LedgerError> {
        if lines.len() as i64 >= UPLOAD_SEQ_STRIDE {
            return Err(LedgerError::Conflict(format!(
                "an upload holds at most {} lines",
                UPLOAD_SEQ_STRIDE - 1
            )));
        }
        let live = self.lines_mut(mdtrt_id).await?;
        let mut taken: BTreeSet<&str> = live.iter().map(|l| l.line.feedetl_sn.as_str()).collect();
        if let Some(repeated) = lines.iter().find(|l| !taken.insert(&l.feedetl_sn)) {
            return Err(LedgerError::Conflict(format!(
                "fee line {} of visit {mdtrt_id} is already stored",
                repeated.feedetl_sn
            )));
        }
        let event_seq = self.next_id(LEDGER_SEQ).await?;
        let first_seq = self.next_id(FEE_UPLOAD).await? * UPLOAD_SEQ_STRIDE;
        let split_basis = lines
            .iter()
            .find_map(|l| l.split.as_ref())
            .map(|s| s.basis.to_string())
            .unwrap_or_default();
        let stored: Vec<Arc<FeeLine>> = (first_seq..)
            .zip(lines)
            .map(|(upload_seq, line)| {
                debug_assert_eq!(line.mdtrt_id, mdtrt_id, "a line of another visit");
                Arc::new(FeeLine {
                    upload_seq,
                    event_seq,
                    ..line
                })
            })
            .collect();
        self.staged.fee_events.push(FeeLineEvent {
            event_seq,
            mdtrt_id: mdtrt_id.to_string(),
            kind: FeeEventKind::Upload,
            source,
            split_basis,
        });
        self.staged.new_lines.extend(stored.iter().cloned());
        self.lines_mut(mdtrt_id)
            .await?
            .extend(stored.iter().map(|line| LiveLine {
                line: Arc::clone(line),
                setl_id: None,
            }));
        Ok(stored)
    }

    /// Records the cancellation of live, unsettled fee lines of a visit (named by `upload_seq`): one
    /// cancellation event from `source`. The lines stay stored; they are no longer live.
    pub async fn cancel_fee_lines(
        &mut self,
        mdtrt_id: &str,
        source: EventSource,
        upload_seqs: &[i64],
    ) -> Result<(), LedgerError> {
        let live = self.lines_mut(mdtrt_id).await?;
        let mut seen = BTreeSet::new();
        for seq in upload_seqs {
            if !seen.insert(seq) {
                return Err(LedgerError::Conflict(format!(
                    "fee line upload {seq} of visit {mdtrt_id} is cancelled twice"
                )));
            }
            match live.iter().find(|l| l.line.upload_seq == *seq) {
                Some(l) if l.is_unsettled() => {}
                Some(l) => {
                    return Err(LedgerError::Conflict(format!(
                        "fee line {} of visit {mdtrt_id} is consumed by settlement {}",
                        l.line.feedetl_sn,
                        l.setl_id.as_deref().unwrap_or_default()
                    )))
                }
                None => {
                    return Err(LedgerError::Conflict(format!(
                        "fee line upload {seq} of visit {mdtrt_id} is not live"
                    )))
                }
            }
        }
        let event_seq = self.next_id(LEDGER_SEQ).await?;
        self.lines_mut(mdtrt_id)
            .await?
            .retain(|l| !upload_seqs.contains(&l.line.upload_seq));
        self.staged.fee_events.push(FeeLineEvent {
            event_seq,
            mdtrt_id: mdtrt_id.to_string(),
            kind: FeeEventKind::Cancel,
            source,
            split_basis: String::new(),
        });
        self.staged
            .line_cancels
            .extend(upload_seqs.iter().map(|&upload_seq| LineCancel {
                mdtrt_id: mdtrt_id.to_string(),
                upload_seq,
                event_seq,
            }));
        Ok(())
    }

    /// A settlement consumes the visit's live, unsettled lines its line rows name (by `feedetl_sn`,
    /// with the line's amount).
    async fn consume_lines(&mut self, record: &SettlementRecord) -> Result<(), LedgerError> {
        let h = &record.header;
        let setl_id: Arc<str> = Arc::from(h.setl_id.as_str());
        let live = self.lines_mut(&h.mdtrt_id).await?;
        for row in &record.lines {
            let line = live
                .iter_mut()
                .find(|l| l.line.feedetl_sn == row.feedetl_sn)
                .filter(|l| l.is_unsettled() && l.line.det_item_fee_sumamt == row.amounts.det_item_fee_sumamt)
                .ok_or_else(|| {
                    LedgerError::Conflict(format!(
                        "settlement {} consumes fee line {} of visit {}, which is not a live unsettled \
                         line of amount {}",
                        h.setl_id, row.feedetl_sn, h.mdtrt_id, row.amounts.det_item_fee_sumamt
                    ))
                })?;
            line.setl_id = Some(Arc::clone(&setl_id));
        }
        Ok(())
    }

    /// A cancellation releases the lines its original settlement consumed.
    async fn release_lines(&mut self, cancel: &SettlementRecord) -> Result<(), LedgerError> {
        let h = &cancel.header;
        for line in self.lines_mut(&h.mdtrt_id).await?.iter_mut() {
            if line.setl_id.as_deref() == h.orig_setl_id.as_deref() {
                line.setl_id = None;
            }
        }
        Ok(())
    }

    async fn lines_mut(&mut self, mdtrt_id: &str) -> Result<&mut Vec<LiveLine>, LedgerError> {
        if !self.staged.fee_lines.contains_key(mdtrt_id) {
            let lines = match self.cache.fee_lines.get(mdtrt_id) {
                Some((lines, _)) => lines.clone(),
                None => {
                    let stored = entries::live_fee_lines(self.conn, mdtrt_id).await?;
                    self.cache
                        .fee_lines
                        .insert(mdtrt_id.to_string(), (stored.clone(), 0));
                    stored
                }
            };
            self.staged.fee_lines.insert(mdtrt_id.to_string(), lines);
        }
        Ok(self
            .staged
            .fee_lines
            .get_mut(mdtrt_id)
            .expect("inserted above"))
    }

    /// The accumulator totals of a person, insurance type and year, ordered by key.
    pub async fn year_to_date(
        &mut self,
        psn_no: &str,
        insutype: &str,
        year: i64,
    ) -> Result<Vec<Posting>, LedgerError> {
        let key = (psn_no.to_string(), insutype.to_string(), year);
        let sums = self.ytd_mut(key).await?;
        Ok(sums
            .iter()
            .map(|(key, amount)| Posting {
                key: *key,
                amount: *amount,
            })
            .collect())
    }

    async fn ytd_mut(&mut self, key: YtdKey) -> Result<&mut BTreeMap<AccKey, i64>, LedgerError> {
        if !self.staged.ytd.contains_key(&key) {
            let sums = match self.cache.ytd.get(&key) {
                Some((sums, _)) => sums.clone(),
                None => {
                    let stored: BTreeMap<AccKey, i64> =
                        entries::year_to_date(self.conn, &key.0, &key.1, key.2)
                            .await?
                            .into_iter()
                            .map(|p| (p.key, p.amount))
                            .collect();
                    self.cache.ytd.insert(key.clone(), (stored.clone(), 0));
                    stored
                }
            };
            self.staged.ytd.insert(key.clone(), sums);
        }
        Ok(self.staged.ytd.get_mut(&key).expect("inserted above"))
    }

    /// Net personal-account payments of a person and insurance type over the whole ledger.
    pub async fn account_paid(&mut self, psn_no: &str, insutype: &str) -> Result<Fen, LedgerError> {
        let key = (psn_no.to_string(), insutype.to_string());
        if let Some(paid) = self.staged.accounts.get(&key) {
            return Ok(*paid);
        }
        if let Some((paid, _)) = self.cache.account_paid.get(&key) {
            return Ok(*paid);
        }
        let paid = entries::account_paid(self.conn, psn_no, insutype).await?;
        self.cache.account_paid.insert(key, (paid, 0));
        Ok(paid)
    }

    /// Appends a ledger entry and applies it to the accumulator and account totals and to the
    /// visit's live fee lines: a settlement (or the reinstatement of a cancelled one) consumes the
    /// lines its line rows name, which must be live and unsettled; a cancellation releases them. A
    /// second cancellation of one settlement, or a second reinstatement of one cancellation, is a
    /// conflict.
    pub async fn append_settlement(&mut self, record: SettlementRecord) -> Result<(), LedgerError> {
        let h = &record.header;
        if let Some(orig_setl_id) = &h.orig_setl_id {
            if let Some(done) = self.mirror_of(orig_setl_id, h.kind).await? {
                return Err(LedgerError::Conflict(format!(
                    "entry {orig_setl_id} is already mirrored by {done}"
                )));
            }
        }
        if !record.lines.is_empty() {
            match h.kind {
                EntryKind::Settle => self.consume_lines(&record).await?,
                EntryKind::Cancel => self.release_lines(&record).await?,
            }
        }
        let seq = self.next_id(LEDGER_SEQ).await?;
        let key = (h.psn_no.clone(), h.insutype.to_string(), h.year);
        let sums = self.ytd_mut(key.clone()).await?;
        let posted = posting_sums(&record);
        for (acc_key, amount) in &posted {
            *sums.entry(*acc_key).or_default() += amount;
        }
        self.staged
            .ytd_keys
            .extend(posted.into_keys().map(|acc_key| (key.clone(), acc_key)));
        if !record.amounts.acct_pay.is_zero() {
            let paid = self.account_paid(&h.psn_no, h.insutype.as_str()).await?;
            self.staged.accounts.insert(
                (h.psn_no.clone(), h.insutype.to_string()),
                paid + record.amounts.acct_pay,
            );
        }
        self.staged.settlements.push((seq, record));
        Ok(())
    }

    /// One complete ledger entry.
    pub async fn settlement(
        &mut self,
        setl_id: &str,
    ) -> Result<Option<SettlementRecord>, LedgerError> {
        let staged = self
            .staged
            .settlements
            .iter()
            .map(|(_, r)| r)
            .find(|r| r.header.setl_id == setl_id);
        let unflushed = || {
            self.cache
                .unflushed_entries()
                .find(|r| r.header.setl_id == setl_id)
        };
        if let Some(record) = staged.or_else(unflushed) {
            return Ok(Some(record.clone()));
        }
        entries::settlement(self.conn, setl_id).await
    }

    /// The cancellation of `setl_id`, if one exists.
    pub async fn cancellation_of(&mut self, setl_id: &str) -> Result<Option<String>, LedgerError> {
        self.mirror_of(setl_id, EntryKind::Cancel).await
    }

    /// The reinstatement of the cancellation `setl_id` (its 2601 冲正), if one exists.
    pub async fn reinstatement_of(&mut self, setl_id: &str) -> Result<Option<String>, LedgerError> {
        self.mirror_of(setl_id, EntryKind::Settle).await
    }

    /// The entry of `kind` that mirrors `setl_id` (names it as `orig_setl_id`).
    async fn mirror_of(
        &mut self,
        setl_id: &str,
        kind: EntryKind,
    ) -> Result<Option<String>, LedgerError> {
        let unflushed = self
            .cache
            .unflushed_entries()
            .chain(self.staged.settlements.iter().map(|(_, r)| r))
            .map(|r| &r.header)
            .find(|h| h.kind == kind && h.orig_setl_id.as_deref() == Some(setl_id));
        if let Some(header) = unflushed {
            return Ok(Some(header.setl_id.clone()));
        }
        match kind {
            EntryKind::Cancel => entries::cancellation_of(self.conn, setl_id).await,
            EntryKind::Settle => entries::reinstatement_of(self.conn, setl_id).await,
        }
    }

    /// The `setl_id` of a person's latest ledger entry under an insurance type, staged and
    /// unflushed entries included.
    pub async fn latest_entry_of(
        &mut self,
        psn_no: &str,
        insutype: &str,
    ) -> Result<Option<String>, LedgerError> {
        let latest = self
            .cache
            .unflushed_entries()
            .chain(self.staged.settlements.iter().map(|(_, r)| r))
            .map(|r| &r.header)
            .filter(|h| h.psn_no == psn_no && h.insutype.as_str() == insutype)
            .last();
        if let Some(header) = latest {
            return Ok(Some(header.setl_id.clone()));
        }
        entries::latest_entry_of(self.conn, psn_no, insutype).await
    }

    /// The ledger entries of a visit, in ledger order.
    pub async fn visit_entries(
        &mut self,
        mdtrt_id: &str,
    ) -> Result<Vec<EntrySummary>, LedgerError> {
        let filter = EntryFilter {
            mdtrt_id: Some(mdtrt_id.to_string()),
            ..EntryFilter::default()
        };
        let mut found = entries::entries(self.conn, &filter).await?;
        // An in-flight batch may have committed since: its entries are then in both.
        let unflushed: Vec<EntrySummary> = self
            .cache
            .unflushed_entries()
            .chain(self.staged.settlements.iter().map(|(_, r)| r))
            .filter(|r| r.header.mdtrt_id == mdtrt_id)
            .filter(|r| !found.iter().any(|f| f.header.setl_id == r.header.setl_id))
            .map(|r| EntrySummary {
                header: r.header.clone(),
                amounts: r.amounts,
            })
            .collect();
        found.extend(unflushed);
        Ok(found)
    }
}

/// Adds an intent row to a batch's: a row replaces the one of its key only while that one is
/// pending (a resolution replaces the record; a second resolution does not replace the first).
fn merge_intent(intents: &mut BTreeMap<String, IntentRow>, row: IntentRow) {
    match intents.get(&row.intent.peer_key) {
        Some(kept) if kept.intent.state != IntentState::Pending => {}
        _ => {
            intents.insert(row.intent.peer_key.clone(), row);
        }
    }
}

/// The stored value of a counter (0 when it was never used).
pub(crate) async fn counter_value(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<i64, LedgerError> {
    let row = sqlx::query("SELECT value FROM id_counters WHERE name = $1")
        .bind(name.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?.unwrap_or(0))
}
