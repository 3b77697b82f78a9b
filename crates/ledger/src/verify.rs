//! `yibao verify`: re-derives the accumulators from the postings and checks every identity of the ledger.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::{AnyConnection, Row};
use yibao_domain::Fen;
use yibao_settlement::{AccKey, Posting};

use crate::entries::{self, acc_total_of, fund_of, line_of, posting_of, EntryFilter, EntrySummary};
use crate::{EntryKind, FeeEventKind, LedgerError, LineRow, SettlementRecord, StoredFundRow};

/// Outcome of a verification run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Ledger entries checked (settlements and cancellations).
    pub entries: usize,
    /// Postings re-summed.
    pub postings: usize,
    /// Materialised accumulator totals compared.
    pub accumulators: usize,
    /// One line per difference found; empty means the ledger is consistent.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether no difference was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// An accumulator total's key: `(psn_no, insutype, year, acc_key)`.
type TotalKey = (String, String, i64, AccKey);

/// Checks the whole ledger: per-entry identities, cancellations as exact negations, accumulator totals
/// against the postings, account balances, stored replies, and the fee-line history against the
/// lines the settlements consumed.
pub async fn verify(conn: &mut AnyConnection) -> Result<VerifyReport, LedgerError> {
    let summaries = entries::entries(conn, &EntryFilter::default()).await?;
    let mut funds = load_funds(conn).await?;
    let mut lines = load_lines(conn).await?;
    let mut postings = load_postings(conn).await?;
    let mut report = VerifyReport {
        entries: summaries.len(),
        ..VerifyReport::default()
    };
    report.postings = postings.values().map(Vec::len).sum();
    let records: Vec<SettlementRecord> = summaries
        .into_iter()
        .map(|s| {
            let id = s.header.setl_id.clone();
            assemble(
                s,
                funds.remove(&id),
                lines.remove(&id),
                postings.remove(&id),
            )
        })
        .collect();
    check_entries(&records, &mut report.problems);
    check_orphans(&funds, &lines, &postings, &mut report.problems);
    report.accumulators = check_totals(conn, &records, &mut report.problems).await?;
    let peer_keys: HashSet<String> = crate::peers::intent_keys(conn).await?.into_iter().collect();
    check_peer_records(&records, &peer_keys, &mut report.problems);
    let own: Vec<SettlementRecord> = records
        .iter()
        .filter(|r| !peer_keys.contains(&r.header.setl_id))
        .cloned()
        .collect();
    check_balances(conn, &own, &mut report.problems).await?;
    check_account_totals(conn, &records, &mut report.problems).await?;
    check_messages(conn, &records, &mut report.problems).await?;
    check_fee_lines(conn, &records, &mut report.problems).await?;
    crate::provider_books::check(conn, &mut report.problems).await?;
    crate::drg::check(conn, &mut report.problems).await?;
    report.problems.extend(crate::clearing::check(conn).await?);
    check_clearing_books(conn, &mut report.problems).await?;
    Ok(report)
}

/// The clearing rows' book postings ([`crate::clearing_books::check`]) under the platform's pooling
/// regions; a stored policy that cannot be read is a problem of its own.
async fn check_clearing_books(
    conn: &mut AnyConnection,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    use crate::clearing_run::ClearingRunError;
    match crate::clearing_run::pooling_regions(conn).await {
        Ok(regions) => crate::clearing_books::check(conn, &regions, problems).await,
        Err(ClearingRunError::Ledger(e)) => Err(e),
        Err(other) => {
            problems.push(format!("clearing book postings not checked: {other}"));
            Ok(())
        }
    }
}

fn assemble(
    summary: EntrySummary,
    funds: Option<Vec<StoredFundRow>>,
    lines: Option<Vec<LineRow>>,
    postings: Option<Vec<Posting>>,
) -> SettlementRecord {
    SettlementRecord {
        header: summary.header,
        amounts: summary.amounts,
        funds: funds.unwrap_or_default(),
        lines: lines.unwrap_or_default(),
        postings: postings.unwrap_or_default(),
    }
}

async fn load_funds(
    conn: &mut AnyConnection,
) -> Result<HashMap<String, Vec<StoredFundRow>>, LedgerError> {
    let rows = sqlx::query(
        "SELECT setl_id, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, \
         setl_proc_info FROM settlement_funds ORDER BY setl_id, row_no",
    )
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<String, Vec<StoredFundRow>> = HashMap::new();
    for row in &rows {
        out.entry(row.try_get("setl_id")?)
            .or_default()
            .push(fund_of(row)?);
    }
    Ok(out)
}

async fn load_lines(
    conn: &mut AnyConnection,
) -> Result<HashMap<String, Vec<LineRow>>, LedgerError> {
    let rows = sqlx::query(
        "SELECT setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt \
         FROM settlement_lines ORDER BY setl_id, feedetl_sn",
    )
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<String, Vec<LineRow>> = HashMap::new();
    for row in &rows {
        out.entry(row.try_get("setl_id")?)
            .or_default()
            .push(line_of(row)?);
    }
    Ok(out)
}

async fn load_postings(
    conn: &mut AnyConnection,
) -> Result<HashMap<String, Vec<Posting>>, LedgerError> {
    let rows =
        sqlx::query("SELECT setl_id, acc_key, amount FROM postings ORDER BY setl_id, acc_key")
            .fetch_all(conn)
            .await?;
    let mut out: HashMap<String, Vec<Posting>> = HashMap::new();
    for row in &rows {
        out.entry(row.try_get("setl_id")?)
            .or_default()
            .push(posting_of(row, "postings")?);
    }
    Ok(out)
}

fn check_entries(records: &[SettlementRecord], problems: &mut Vec<String>) {
    let by_id: HashMap<&str, &SettlementRecord> = records
        .iter()
        .map(|r| (r.header.setl_id.as_str(), r))
        .collect();
    for record in records {
        let id = &record.header.setl_id;
        for violation in record.identity_violations() {
            problems.push(format!("settlement {id}: {violation}"));
        }
        let Some(orig_setl_id) = &record.header.orig_setl_id else {
            continue;
        };
        match by_id.get(orig_setl_id.as_str()) {
            Some(original) => check_mirror(original, record, problems),
            None => problems.push(format!(
                "{} {id}: original {orig_setl_id} missing",
                mirror_name(record.header.kind),
            )),
        }
    }
}

/// What an entry naming an original is: a cancellation mirrors a settlement; a settlement naming a
/// cancellation reinstates it (2601 冲正 of a 2208/2305/2103).
fn mirror_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Cancel => "cancellation",
        EntryKind::Settle => "reinstatement",
    }
}

fn check_mirror(
    original: &SettlementRecord,
    mirror_entry: &SettlementRecord,
    problems: &mut Vec<String>,
) {
    let id = &mirror_entry.header.setl_id;
    let name = mirror_name(mirror_entry.header.kind);
    if original.header.kind == mirror_entry.header.kind {
        problems.push(format!(
            "{name} {id}: mirrors {}, an entry of its own kind",
            original.header.setl_id
        ));
        return;
    }
    let o = &original.header;
    let c = &mirror_entry.header;
    if (&o.psn_no, &o.insutype, o.year, &o.mdtrt_id)
        != (&c.psn_no, &c.insutype, c.year, &c.mdtrt_id)
    {
        problems.push(format!(
            "{name} {id}: person, insutype, year or visit differ from {}",
            o.setl_id
        ));
    }
    let mirror = original.negated(mirror_entry.header.clone());
    let parts = [
        ("amounts are", mirror.amounts == mirror_entry.amounts),
        ("fund rows are", mirror.funds == mirror_entry.funds),
        ("line splits are", mirror.lines == mirror_entry.lines),
        (
            "postings are",
            sorted(&mirror.postings) == sorted(&mirror_entry.postings),
        ),
    ];
    for (what, exact) in parts {
        if !exact {
            problems.push(format!(
                "{name} {id}: {what} not the exact negation of {}",
                o.setl_id
            ));
        }
    }
}

fn sorted(postings: &[Posting]) -> BTreeMap<AccKey, i64> {
    let mut out = BTreeMap::new();
    for p in postings {
        *out.entry(p.key).or_default() += p.amount;
    }
    out
}

fn check_orphans(
    funds: &HashMap<String, Vec<StoredFundRow>>,
    lines: &HashMap<String, Vec<LineRow>>,
    postings: &HashMap<String, Vec<Posting>>,
    problems: &mut Vec<String>,
) {
    let orphans = funds
        .keys()
        .chain(lines.keys())
        .chain(postings.keys())
        .collect::<HashSet<_>>();
    for id in orphans {
        problems.push(format!("detail rows for unknown settlement {id}"));
    }
}

/// Compares the materialised totals with the sums of the postings; returns how many totals exist.
async fn check_totals(
    conn: &mut AnyConnection,
    records: &[SettlementRecord],
    problems: &mut Vec<String>,
) -> Result<usize, LedgerError> {
    let mut derived: BTreeMap<TotalKey, i64> = BTreeMap::new();
    for r in records {
        let h = &r.header;
        for p in &r.postings {
            *derived
                .entry((h.psn_no.clone(), h.insutype.to_string(), h.year, p.key))
                .or_default() += p.amount;
        }
    }
    let rows = sqlx::query("SELECT psn_no, insutype, year, acc_key, amount FROM acc_totals")
        .fetch_all(conn)
        .await?;
    let mut stored: BTreeMap<TotalKey, i64> = BTreeMap::new();
    for row in &rows {
        let t = acc_total_of(row)?;
        stored.insert((t.psn_no, t.insutype, t.year, t.acc_key), t.amount);
    }
    let keys: HashSet<&TotalKey> = derived.keys().chain(stored.keys()).collect();
    for key in keys {
        let d = derived.get(key).copied().unwrap_or(0);
        let s = stored.get(key).copied().unwrap_or(0);
        if d != s {
            problems.push(format!(
                "accumulator {} {} {} {}: stored {s}, postings sum {d}",
                key.0, key.1, key.2, key.3
            ));
        }
    }
    Ok(rows.len())
}

/// A settlement recorded for a person insured on another platform (a committed peer intent) moves
/// no accumulator here: the insured platform holds the postings and the account, so its `balc` is
/// not replayed against this platform's registry.
fn check_peer_records(
    records: &[SettlementRecord],
    peer_keys: &HashSet<String>,
    problems: &mut Vec<String>,
) {
    for record in records {
        if peer_keys.contains(&record.header.setl_id) && !record.postings.is_empty() {
            problems.push(format!(
                "settlement {}: recorded for another platform but carries accumulator postings",
                record.header.setl_id
            ));
        }
    }
}

/// Replays each person's account: opening balance − running `acct_pay` must equal each entry's `balc`
/// and never go negative.
async fn check_balances(
    conn: &mut AnyConnection,
    records: &[SettlementRecord],
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let rows = sqlx::query("SELECT psn_no, insutype, opening_balc FROM person_insu")
        .fetch_all(conn)
        .await?;
    let mut balance: HashMap<(String, String), Fen> = HashMap::new();
    for row in &rows {
        balance.insert(
            (row.try_get("psn_no")?, row.try_get("insutype")?),
            Fen(row.try_get("opening_balc")?),
        );
    }
    for r in records {
        let h = &r.header;
        let Some(current) = balance.get_mut(&(h.psn_no.clone(), h.insutype.to_string())) else {
            problems.push(format!(
                "settlement {}: person {} has no insutype {} row",
                h.setl_id, h.psn_no, h.insutype
            ));
            continue;
        };
        *current -= r.amounts.acct_pay;
        if *current != h.balc {
            problems.push(format!(
                "settlement {}: balc {} but the replayed account is {}",
                h.setl_id, h.balc, current
            ));
        }
        if *current < Fen::ZERO {
            problems.push(format!(
                "settlement {}: account balance negative ({current})",
                h.setl_id
            ));
        }
    }
    Ok(())
}

/// The materialised account payments equal the sums of `acct_pay`.
async fn check_account_totals(
    conn: &mut AnyConnection,
    records: &[SettlementRecord],
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let mut derived: BTreeMap<(String, String), Fen> = BTreeMap::new();
    for r in records {
        *derived
            .entry((r.header.psn_no.clone(), r.header.insutype.to_string()))
            .or_default() += r.amounts.acct_pay;
    }
    let rows = sqlx::query("SELECT psn_no, insutype, paid FROM account_totals")
        .fetch_all(conn)
        .await?;
    let mut stored: BTreeMap<(String, String), Fen> = BTreeMap::new();
    for row in &rows {
        stored.insert(
            (row.try_get("psn_no")?, row.try_get("insutype")?),
            Fen(row.try_get("paid")?),
        );
    }
    let keys: HashSet<&(String, String)> = derived.keys().chain(stored.keys()).collect();
    for key in keys {
        let d = derived.get(key).copied().unwrap_or_default();
        let s = stored.get(key).copied().unwrap_or_default();
        if d != s {
            problems.push(format!(
                "account {} {}: stored payments {s}, settlements sum {d}",
                key.0, key.1
            ));
        }
    }
    Ok(())
}

/// Every ledger entry was created by a message whose reply is stored (written in the same transaction).
async fn check_messages(
    conn: &mut AnyConnection,
    records: &[SettlementRecord],
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let rows = sqlx::query("SELECT fixmedins_code, msgid FROM messages")
        .fetch_all(conn)
        .await?;
    let mut stored = HashSet::new();
    for row in &rows {
        stored.insert((
            row.try_get::<String, _>("fixmedins_code")?,
            row.try_get::<String, _>("msgid")?,
        ));
    }
    for r in records {
        let h = &r.header;
        if !stored.contains(&(h.fixmedins_code.clone(), h.msgid.clone())) {
            problems.push(format!(
                "settlement {}: no stored reply for message {}",
                h.setl_id, h.msgid
            ));
        }
    }
    Ok(())
}

/// `(mdtrt_id, feedetl_sn)`.
type LineKey = (String, String);

/// One upload of a fee line, with when (in ledger order) it was cancelled.
struct Upload {
    upload_seq: i64,
    event_seq: i64,
    cancelled: Option<i64>,
    amount: Fen,
}

impl Upload {
    /// Whether the line was live just before ledger position `seq`.
    fn live_at(&self, seq: i64) -> bool {
        self.event_seq < seq && self.cancelled.is_none_or(|at| at > seq)
    }
}

/// The fee-line history: every upload of every line, oldest first.
struct FeeHistory {
    uploads: HashMap<LineKey, Vec<Upload>>,
    /// The last ledger `seq` stored before fee-line events were kept (migration 0006).
    history_from: i64,
}

/// Checks the fee-line history (append-only events: uploads and cancellations) and the lines the
/// settlements consumed: every settled line was uploaded and not cancelled before its settlement,
/// nor cancelled while the settlement was live, and no line is consumed by two live settlements.
async fn check_fee_lines(
    conn: &mut AnyConnection,
    records: &[SettlementRecord],
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let history = load_fee_history(conn, problems).await?;
    let rows = sqlx::query("SELECT setl_id, seq FROM settlements")
        .fetch_all(conn)
        .await?;
    let mut seqs: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for row in &rows {
        seqs.insert(row.try_get("setl_id")?, row.try_get("seq")?);
    }
    check_settled_lines(&history, records, &seqs, problems);
    Ok(())
}

/// Reads the fee-line history and checks it on its own: each line's upload event exists, each
/// cancellation follows its line's upload, a line's split adds up to its amount, and a
/// `feedetl_sn` is uploaded again only after its earlier upload was cancelled.
async fn load_fee_history(
    conn: &mut AnyConnection,
    problems: &mut Vec<String>,
) -> Result<FeeHistory, LedgerError> {
    let events = load_fee_events(conn).await?;
    let cancels = load_line_cancels(conn, &events, problems).await?;
    let rows = sqlx::query(
        "SELECT mdtrt_id, upload_seq, event_seq, feedetl_sn, det_item_fee_sumamt, split_rule, fulamt_ownpay_amt, \
         overlmt_amt, preselfpay_amt, inscp_scp_amt FROM fee_lines ORDER BY mdtrt_id, event_seq, upload_seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut uploads: HashMap<LineKey, Vec<Upload>> = HashMap::new();
    for row in &rows {
        let mdtrt_id: String = row.try_get("mdtrt_id")?;
        let sn: String = row.try_get("feedetl_sn")?;
        let upload = Upload {
            upload_seq: row.try_get("upload_seq")?,
            event_seq: row.try_get("event_seq")?,
            cancelled: cancels
                .get(&(mdtrt_id.clone(), row.try_get("upload_seq")?))
                .copied(),
            amount: Fen(row.try_get("det_item_fee_sumamt")?),
        };
        let line = format!(
            "fee line {sn} (upload {}) of visit {mdtrt_id}",
            upload.upload_seq
        );
        check_upload_event(&events, &mdtrt_id, &upload, &line, problems);
        if let Some(cancelled) = upload.cancelled.filter(|at| *at <= upload.event_seq) {
            problems.push(format!(
                "{line}: cancelled by event {cancelled} before its upload"
            ));
        }
        check_stored_split(row, &line, problems)?;
        let earlier = uploads.entry((mdtrt_id, sn)).or_default();
        if let Some(before) = earlier.last() {
            if before.cancelled.is_none_or(|at| at > upload.event_seq) {
                problems.push(format!(
                    "{line}: uploaded while upload {} of the same feedetl_sn was live",
                    before.upload_seq
                ));
            }
        }
        earlier.push(upload);
    }
    let from = sqlx::query("SELECT value FROM id_counters WHERE name = 'fee_history_from'")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(FeeHistory {
        uploads,
        history_from: from.map(|r| r.try_get("value")).transpose()?.unwrap_or(0),
    })
}

/// `event_seq` → `(mdtrt_id, kind)` of every fee-line event.
async fn load_fee_events(
    conn: &mut AnyConnection,
) -> Result<HashMap<i64, (String, String)>, LedgerError> {
    let rows = sqlx::query("SELECT event_seq, mdtrt_id, kind FROM fee_line_events")
        .fetch_all(conn)
        .await?;
    let mut events = HashMap::with_capacity(rows.len());
    for row in &rows {
        events.insert(
            row.try_get("event_seq")?,
            (row.try_get("mdtrt_id")?, row.try_get("kind")?),
        );
    }
    Ok(events)
}

/// `(mdtrt_id, upload_seq)` → the cancellation event of every cancelled line, each checked to be a
/// cancellation event of the line's visit.
async fn load_line_cancels(
    conn: &mut AnyConnection,
    events: &HashMap<i64, (String, String)>,
    problems: &mut Vec<String>,
) -> Result<HashMap<(String, i64), i64>, LedgerError> {
    let rows = sqlx::query("SELECT mdtrt_id, upload_seq, event_seq FROM fee_line_cancels")
        .fetch_all(conn)
        .await?;
    let mut cancels = HashMap::with_capacity(rows.len());
    for row in &rows {
        let mdtrt_id: String = row.try_get("mdtrt_id")?;
        let upload_seq: i64 = row.try_get("upload_seq")?;
        let event_seq: i64 = row.try_get("event_seq")?;
        if events.get(&event_seq)
            != Some(&(mdtrt_id.clone(), FeeEventKind::Cancel.as_str().to_string()))
        {
            problems.push(format!(
                "cancellation of fee line upload {upload_seq} of visit {mdtrt_id}: event {event_seq} \
                 is not a cancellation of that visit"
            ));
        }
        cancels.insert((mdtrt_id, upload_seq), event_seq);
    }
    Ok(cancels)
}

/// A line stored since fee-line events were kept names an upload event of its visit.
fn check_upload_event(
    events: &HashMap<i64, (String, String)>,
    mdtrt_id: &str,
    upload: &Upload,
    line: &str,
    problems: &mut Vec<String>,
) {
    if upload.event_seq == 0 {
        return;
    }
    let found = events.get(&upload.event_seq);
    if found.is_none_or(|(visit, kind)| visit != mdtrt_id || kind != FeeEventKind::Upload.as_str())
    {
        problems.push(format!(
            "{line}: event {} is not an upload of that visit",
            upload.event_seq
        ));
    }
}

/// A stored split adds up to its line's amount.
fn check_stored_split(
    row: &sqlx::any::AnyRow,
    line: &str,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    if row.try_get::<Option<String>, _>("split_rule")?.is_none() {
        return Ok(());
    }
    let amounts = crate::entries::line_amounts_of(row)?;
    let parts = amounts.parts_sum();
    if parts != amounts.det_item_fee_sumamt {
        problems.push(format!(
            "{line}: stored split sums to {parts}, not its amount {}",
            amounts.det_item_fee_sumamt
        ));
    }
    Ok(())
}

/// Each settlement's lines against the fee-line history (cancelled settlements stored before the
/// history was kept are skipped: their lines may have been deleted since).
fn check_settled_lines(
    history: &FeeHistory,
    records: &[SettlementRecord],
    seqs: &HashMap<String, i64>,
    problems: &mut Vec<String>,
) {
    let cancelled_at: HashMap<&str, i64> = records
        .iter()
        .filter(|r| r.header.kind == EntryKind::Cancel)
        .filter_map(|r| {
            let seq = seqs.get(&r.header.setl_id).copied().unwrap_or(i64::MAX);
            Some((r.header.orig_setl_id.as_deref()?, seq))
        })
        .collect();
    let mut consumed_by_live: HashMap<(&str, i64), &str> = HashMap::new();
    for record in records
        .iter()
        .filter(|r| r.header.kind == EntryKind::Settle)
    {
        let h = &record.header;
        let seq = seqs.get(&h.setl_id).copied().unwrap_or_default();
        let cancelled = cancelled_at.get(h.setl_id.as_str()).copied();
        if cancelled.is_some() && seq <= history.history_from {
            continue;
        }
        for row in &record.lines {
            let key = (h.mdtrt_id.clone(), row.feedetl_sn.clone());
            let upload = history
                .uploads
                .get(&key)
                .and_then(|uploads| uploads.iter().find(|u| u.live_at(seq)));
            let Some(upload) = upload else {
                problems.push(format!(
                    "settlement {}: fee line {} of visit {} was not uploaded, or was cancelled, before it",
                    h.setl_id, row.feedetl_sn, h.mdtrt_id
                ));
                continue;
            };
            if upload.amount != row.amounts.det_item_fee_sumamt {
                problems.push(format!(
                    "settlement {}: fee line {} settled as {} but uploaded as {}",
                    h.setl_id, row.feedetl_sn, row.amounts.det_item_fee_sumamt, upload.amount
                ));
            }
            if let Some(at) = upload
                .cancelled
                .filter(|at| cancelled.is_none_or(|c| c > *at))
            {
                problems.push(format!(
                    "settlement {}: fee line {} of visit {} was cancelled (event {at}) while the \
                     settlement was live",
                    h.setl_id, row.feedetl_sn, h.mdtrt_id
                ));
            }
            if cancelled.is_none() {
                let slot = (h.mdtrt_id.as_str(), upload.upload_seq);
                if let Some(other) = consumed_by_live.insert(slot, h.setl_id.as_str()) {
                    problems.push(format!(
                        "fee line {} (upload {}) of visit {} is consumed by live settlements {other} \
                         and {}",
                        row.feedetl_sn, upload.upload_seq, h.mdtrt_id, h.setl_id
                    ));
                }
            }
        }
    }
}
