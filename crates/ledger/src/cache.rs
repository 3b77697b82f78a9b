//! The writer's cache and the view a transaction works on.
//!
//! One writer task owns the write side of the database (see [`crate::GroupCommit`]), so it can keep
//! what write transactions read — persons, open visits and their fee lines, accumulator totals,
//! account payments, counters — in memory instead of asking the database for it on every message.
//! A transaction works on a [`LedgerView`]: its reads come from its own staged writes, then from the
//! cache (which holds the committed state plus the writes of the batch's earlier transactions), then
//! from the database; its writes are staged in the view. [`LedgerView::keep`] moves them into the
//! cache and the batch's pending writes; dropping the view forgets them, so a failed transaction
//! leaves no trace without a savepoint. At the end of the batch [`LedgerCache::flush`] writes every
//! pending change as a few multi-row statements, inside the batch's transaction.
//!
//! The view enforces the uniqueness rules of the schema (one stored reply per `msgid`, one
//! cancellation per settlement) before anything is written, so a flush never fails on them.
//!
//! Persons are written by registry imports outside the writer (even by another process); every import
//! bumps the `registry_version` counter in its own transaction, and the cache drops its persons when
//! that counter has moved at the start of a batch.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::{AnyConnection, Row};
use yibao_domain::Fen;

use crate::entries::{self, EntryFilter, EntrySummary, StoredMessage};
use crate::flush::{self, posting_sums, AccTotalRow};
use crate::{
    registry, EntryKind, FeeLine, LedgerError, Person, Posting, SettlementRecord, Visit,
    VisitStatus,
};

/// Name of the counter that registry imports bump (persons changed).
pub(crate) const REGISTRY_VERSION: &str = "registry_version";

/// `(psn_no, insutype, year)`.
type YtdKey = (String, String, i64);
/// `(psn_no, insutype)`.
type AccountKey = (String, String);
/// `(fixmedins_code, msgid)`.
type MessageKey = (String, String);

/// What the writer remembers between transactions and batches.
#[derive(Default)]
pub struct LedgerCache {
    /// Cached entries (persons, visits, totals) above which the cache is emptied after a commit.
    capacity: usize,
    registry_version: Option<i64>,
    persons: HashMap<String, Option<Person>>,
    visits: HashMap<String, Visit>,
    fee_lines: HashMap<String, Vec<FeeLine>>,
    ytd: HashMap<YtdKey, BTreeMap<String, i64>>,
    account_paid: HashMap<AccountKey, Fen>,
    counters: HashMap<String, i64>,
    /// Messages of the current batch known to be stored (`Some`) or not (`None`).
    messages: HashMap<MessageKey, Option<StoredMessage>>,
    pending: Pending,
}

/// Changes kept by the batch's transactions and not yet written.
#[derive(Default)]
struct Pending {
    visits: BTreeSet<String>,
    fee_line_visits: BTreeSet<String>,
    deleted_lines: Vec<(String, String)>,
    ytd: BTreeSet<YtdKey>,
    accounts: BTreeSet<AccountKey>,
    counters: BTreeSet<String>,
    settlements: Vec<(i64, SettlementRecord)>,
    messages: Vec<StoredMessage>,
}

/// Writes of one transaction, held until it is kept or dropped. Collections hold whole new values
/// (a visit's complete list of fee lines, a year's complete totals).
#[derive(Default)]
struct Staged {
    visits: HashMap<String, Visit>,
    fee_lines: HashMap<String, Vec<FeeLine>>,
    deleted_lines: Vec<(String, String)>,
    ytd: HashMap<YtdKey, BTreeMap<String, i64>>,
    accounts: HashMap<AccountKey, Fen>,
    counters: HashMap<String, i64>,
    settlements: Vec<(i64, SettlementRecord)>,
    messages: Vec<StoredMessage>,
}

impl LedgerCache {
    /// An empty cache that keeps at most about `capacity` entries between batches.
    pub fn new(capacity: usize) -> LedgerCache {
        LedgerCache {
            capacity,
            ..LedgerCache::default()
        }
    }

    /// Prepares a batch: drops cached persons if the registry changed, and reads in one query which of
    /// the batch's messages (`(fixmedins_code, msgid)`) are already stored.
    pub async fn begin_batch(
        &mut self,
        conn: &mut AnyConnection,
        message_keys: Vec<(String, String)>,
    ) -> Result<(), LedgerError> {
        let version = counter_value(conn, REGISTRY_VERSION).await?;
        if self.registry_version != Some(version) {
            self.persons.clear();
            self.registry_version = Some(version);
        }
        let found = entries::stored_messages(conn, &message_keys).await?;
        for key in message_keys {
            self.messages.insert(key, None);
        }
        for message in found {
            let key = (message.fixmedins_code.clone(), message.msgid.clone());
            self.messages.insert(key, Some(message));
        }
        Ok(())
    }

    /// A view for one transaction on `conn`.
    pub fn view<'a>(&'a mut self, conn: &'a mut AnyConnection) -> LedgerView<'a> {
        LedgerView {
            conn,
            cache: self,
            staged: Staged::default(),
        }
    }

    /// Writes every pending change on `conn` (inside the batch's transaction).
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), LedgerError> {
        let pending = std::mem::take(&mut self.pending);
        if !pending.deleted_lines.is_empty() {
            flush::delete_fee_lines(conn, &pending.deleted_lines).await?;
        }
        let visits: Vec<&Visit> = pending
            .visits
            .iter()
            .filter_map(|id| self.visits.get(id))
            .collect();
        flush::upsert_visits(conn, &visits).await?;
        let lines: Vec<&FeeLine> = pending
            .fee_line_visits
            .iter()
            .filter_map(|id| self.fee_lines.get(id))
            .flatten()
            .collect();
        flush::upsert_fee_lines(conn, &lines).await?;
        flush::insert_settlements(conn, &pending.settlements).await?;
        let totals: Vec<AccTotalRow<'_>> = pending
            .ytd
            .iter()
            .filter_map(|key| self.ytd.get(key).map(|sums| (key, sums)))
            .flat_map(|((psn_no, insutype, year), sums)| {
                sums.iter().map(move |(acc_key, amount)| {
                    (
                        psn_no.as_str(),
                        insutype.as_str(),
                        *year,
                        acc_key.as_str(),
                        *amount,
                    )
                })
            })
            .collect();
        flush::upsert_acc_totals(conn, &totals).await?;
        let accounts: Vec<(&str, &str, Fen)> = pending
            .accounts
            .iter()
            .filter_map(|key| {
                self.account_paid
                    .get(key)
                    .map(|paid| (key.0.as_str(), key.1.as_str(), *paid))
            })
            .collect();
        flush::upsert_account_totals(conn, &accounts).await?;
        let counters: Vec<(&str, i64)> = pending
            .counters
            .iter()
            .filter_map(|name| self.counters.get(name).map(|v| (name.as_str(), *v)))
            .collect();
        flush::upsert_counters(conn, &counters).await?;
        flush::insert_messages(conn, &pending.messages).await
    }

    /// After the batch committed: forgets finished visits, and everything if the cache is over capacity.
    pub fn committed(&mut self) {
        self.messages.clear();
        let finished: Vec<String> = self
            .visits
            .iter()
            .filter(|(_, v)| matches!(v.status, VisitStatus::Settled | VisitStatus::Cancelled))
            .map(|(id, _)| id.clone())
            .collect();
        for id in finished {
            self.visits.remove(&id);
            self.fee_lines.remove(&id);
        }
        let size =
            self.persons.len() + self.visits.len() + self.ytd.len() + self.account_paid.len();
        if size > self.capacity {
            self.persons.clear();
            self.visits.clear();
            self.fee_lines.clear();
            self.ytd.clear();
            self.account_paid.clear();
        }
    }

    /// After the batch failed: everything cached may include its lost writes, so all is forgotten.
    pub fn discard(&mut self) {
        *self = LedgerCache::new(self.capacity);
    }

    fn settlement_pending(&self, setl_id: &str) -> Option<&SettlementRecord> {
        self.pending
            .settlements
            .iter()
            .map(|(_, r)| r)
            .find(|r| r.header.setl_id == setl_id)
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
        let pending = &mut cache.pending;
        for (id, visit) in staged.visits {
            pending.visits.insert(id.clone());
            cache.visits.insert(id, visit);
        }
        for (id, lines) in staged.fee_lines {
            pending.fee_line_visits.insert(id.clone());
            cache.fee_lines.insert(id, lines);
        }
        pending.deleted_lines.extend(staged.deleted_lines);
        for (key, sums) in staged.ytd {
            pending.ytd.insert(key.clone());
            cache.ytd.insert(key, sums);
        }
        for (key, paid) in staged.accounts {
            pending.accounts.insert(key.clone());
            cache.account_paid.insert(key, paid);
        }
        for (name, value) in staged.counters {
            pending.counters.insert(name.clone());
            cache.counters.insert(name, value);
        }
        pending.settlements.extend(staged.settlements);
        for message in staged.messages {
            let key = (message.fixmedins_code.clone(), message.msgid.clone());
            cache.messages.insert(key, Some(message.clone()));
            pending.messages.push(message);
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
            Some(known) => Ok(known.clone()),
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

    /// One visit.
    pub async fn visit(&mut self, mdtrt_id: &str) -> Result<Option<Visit>, LedgerError> {
        if let Some(visit) = self.staged.visits.get(mdtrt_id) {
            return Ok(Some(visit.clone()));
        }
        if let Some(visit) = self.cache.visits.get(mdtrt_id) {
            return Ok(Some(visit.clone()));
        }
        let found = entries::visit(self.conn, mdtrt_id).await?;
        if let Some(visit) = &found {
            self.cache
                .visits
                .insert(mdtrt_id.to_string(), visit.clone());
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

    /// Every fee line of a visit, in upload order.
    pub async fn fee_lines(&mut self, mdtrt_id: &str) -> Result<Vec<FeeLine>, LedgerError> {
        Ok(self.lines_mut(mdtrt_id).await?.clone())
    }

    /// Appends uploaded fee lines to a visit (their `feedetl_sn` must be new within the visit).
    pub async fn add_fee_lines(
        &mut self,
        mdtrt_id: &str,
        lines: Vec<FeeLine>,
    ) -> Result<(), LedgerError> {
        let current = self.lines_mut(mdtrt_id).await?;
        if let Some(repeated) = lines
            .iter()
            .find(|l| current.iter().any(|c| c.feedetl_sn == l.feedetl_sn))
        {
            return Err(LedgerError::Conflict(format!(
                "fee line {} of visit {mdtrt_id} is already stored",
                repeated.feedetl_sn
            )));
        }
        current.extend(lines);
        Ok(())
    }

    /// Deletes the named unsettled fee lines of a visit; returns how many were deleted.
    pub async fn delete_fee_lines(
        &mut self,
        mdtrt_id: &str,
        sns: &[String],
    ) -> Result<u64, LedgerError> {
        let current = self.lines_mut(mdtrt_id).await?;
        let (deleted, kept): (Vec<FeeLine>, Vec<FeeLine>) = std::mem::take(current)
            .into_iter()
            .partition(|l| l.setl_id.is_empty() && sns.contains(&l.feedetl_sn));
        *current = kept;
        let count = deleted.len() as u64;
        self.staged
            .deleted_lines
            .extend(deleted.into_iter().map(|l| (l.mdtrt_id, l.feedetl_sn)));
        Ok(count)
    }

    /// Marks the named fee lines of a visit as consumed by `setl_id`.
    pub async fn assign_fee_lines(
        &mut self,
        mdtrt_id: &str,
        sns: &[String],
        setl_id: &str,
    ) -> Result<(), LedgerError> {
        for line in self.lines_mut(mdtrt_id).await?.iter_mut() {
            if sns.contains(&line.feedetl_sn) {
                line.setl_id = setl_id.to_string();
            }
        }
        Ok(())
    }

    /// Releases the fee lines of a visit consumed by `setl_id` (after that settlement is cancelled).
    pub async fn release_fee_lines(
        &mut self,
        mdtrt_id: &str,
        setl_id: &str,
    ) -> Result<(), LedgerError> {
        for line in self.lines_mut(mdtrt_id).await?.iter_mut() {
            if line.setl_id == setl_id {
                line.setl_id.clear();
            }
        }
        Ok(())
    }

    async fn lines_mut(&mut self, mdtrt_id: &str) -> Result<&mut Vec<FeeLine>, LedgerError> {
        if !self.staged.fee_lines.contains_key(mdtrt_id) {
            let lines = match self.cache.fee_lines.get(mdtrt_id) {
                Some(lines) => lines.clone(),
                None => {
                    let stored = entries::fee_lines(self.conn, mdtrt_id).await?;
                    self.cache
                        .fee_lines
                        .insert(mdtrt_id.to_string(), stored.clone());
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
            .map(|(acc_key, amount)| Posting {
                acc_key: acc_key.clone(),
                amount: *amount,
            })
            .collect())
    }

    async fn ytd_mut(&mut self, key: YtdKey) -> Result<&mut BTreeMap<String, i64>, LedgerError> {
        if !self.staged.ytd.contains_key(&key) {
            let sums = match self.cache.ytd.get(&key) {
                Some(sums) => sums.clone(),
                None => {
                    let stored: BTreeMap<String, i64> =
                        entries::year_to_date(self.conn, &key.0, &key.1, key.2)
                            .await?
                            .into_iter()
                            .map(|p| (p.acc_key, p.amount))
                            .collect();
                    self.cache.ytd.insert(key.clone(), stored.clone());
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
        if let Some(paid) = self.cache.account_paid.get(&key) {
            return Ok(*paid);
        }
        let paid = entries::account_paid(self.conn, psn_no, insutype).await?;
        self.cache.account_paid.insert(key, paid);
        Ok(paid)
    }

    /// Appends a ledger entry and applies it to the accumulator and account totals. A second
    /// cancellation of one settlement is a conflict.
    pub async fn append_settlement(&mut self, record: SettlementRecord) -> Result<(), LedgerError> {
        let h = &record.header;
        if h.kind == EntryKind::Cancel {
            if let Some(done) = self.cancellation_of(&h.orig_setl_id).await? {
                return Err(LedgerError::Conflict(format!(
                    "settlement {} is already cancelled by {done}",
                    h.orig_setl_id
                )));
            }
        }
        let seq = self.next_id("ledger_seq").await?;
        let key = (h.psn_no.clone(), h.insutype.clone(), h.year);
        let sums = self.ytd_mut(key).await?;
        for (acc_key, amount) in posting_sums(&record) {
            *sums.entry(acc_key.to_string()).or_default() += amount;
        }
        if !record.amounts.acct_pay.is_zero() {
            let paid = self.account_paid(&h.psn_no, &h.insutype).await?;
            self.staged.accounts.insert(
                (h.psn_no.clone(), h.insutype.clone()),
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
        if let Some(record) = staged.or_else(|| self.cache.settlement_pending(setl_id)) {
            return Ok(Some(record.clone()));
        }
        entries::settlement(self.conn, setl_id).await
    }

    /// The cancellation of `setl_id`, if one exists.
    pub async fn cancellation_of(&mut self, setl_id: &str) -> Result<Option<String>, LedgerError> {
        let unflushed = self
            .staged
            .settlements
            .iter()
            .chain(&self.cache.pending.settlements)
            .map(|(_, r)| &r.header)
            .find(|h| h.kind == EntryKind::Cancel && h.orig_setl_id == setl_id);
        if let Some(header) = unflushed {
            return Ok(Some(header.setl_id.clone()));
        }
        entries::cancellation_of(self.conn, setl_id).await
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
        found.extend(
            self.cache
                .pending
                .settlements
                .iter()
                .chain(&self.staged.settlements)
                .map(|(_, r)| r)
                .filter(|r| r.header.mdtrt_id == mdtrt_id)
                .map(|r| EntrySummary {
                    header: r.header.clone(),
                    amounts: r.amounts,
                }),
        );
        Ok(found)
    }
}

/// The stored value of a counter (0 when it was never used).
async fn counter_value(conn: &mut AnyConnection, name: &str) -> Result<i64, LedgerError> {
    let row = sqlx::query("SELECT value FROM id_counters WHERE name = $1")
        .bind(name.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?.unwrap_or(0))
}
