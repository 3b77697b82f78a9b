//! `yibao verify`: re-derives the accumulators from the postings and checks every identity of the ledger.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::{AnyConnection, Row};
use yibao_domain::Fen;

use crate::entries::{self, acc_total_of, fund_of, line_of, EntryFilter, EntrySummary};
use crate::{EntryKind, FundRow, LedgerError, LineRow, Posting, SettlementRecord};

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

type AccKey = (String, String, i64, String);

/// Checks the whole ledger: per-entry identities, cancellations as exact negations, accumulator totals
/// against the postings, account balances, stored replies, and fee lines pointing at live settlements.
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
    check_balances(conn, &records, &mut report.problems).await?;
    check_account_totals(conn, &records, &mut report.problems).await?;
    check_messages(conn, &records, &mut report.problems).await?;
    check_fee_lines(conn, &records, &mut report.problems).await?;
    Ok(report)
}

fn assemble(
    summary: EntrySummary,
    funds: Option<Vec<FundRow>>,
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
) -> Result<HashMap<String, Vec<FundRow>>, LedgerError> {
    let rows = sqlx::query(
        "SELECT setl_id, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, \
         setl_proc_info FROM settlement_funds ORDER BY setl_id, row_no",
    )
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<String, Vec<FundRow>> = HashMap::new();
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
            .push(Posting {
                acc_key: row.try_get("acc_key")?,
                amount: row.try_get("amount")?,
            });
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
        if record.header.kind == EntryKind::Cancel {
            match by_id.get(record.header.orig_setl_id.as_str()) {
                Some(original) => check_mirror(original, record, problems),
                None => problems.push(format!(
                    "cancellation {id}: original {} missing",
                    record.header.orig_setl_id
                )),
            }
        }
    }
}

fn check_mirror(
    original: &SettlementRecord,
    cancel: &SettlementRecord,
    problems: &mut Vec<String>,
) {
    let id = &cancel.header.setl_id;
    if original.header.kind != EntryKind::Settle {
        problems.push(format!("cancellation {id}: cancels another cancellation"));
        return;
    }
    let o = &original.header;
    let c = &cancel.header;
    if (&o.psn_no, &o.insutype, o.year, &o.mdtrt_id)
        != (&c.psn_no, &c.insutype, c.year, &c.mdtrt_id)
    {
        problems.push(format!(
            "cancellation {id}: person, insutype, year or visit differ from {}",
            o.setl_id
        ));
    }
    let mirror = original.negated(cancel.header.clone());
    if mirror.amounts != cancel.amounts {
        problems.push(format!(
            "cancellation {id}: amounts are not the exact negation of {}",
            o.setl_id
        ));
    }
    if mirror.funds != cancel.funds {
        problems.push(format!(
            "cancellation {id}: fund rows are not the exact negation of {}",
            o.setl_id
        ));
    }
    if mirror.lines != cancel.lines {
        problems.push(format!(
            "cancellation {id}: line splits are not the exact negation of {}",
            o.setl_id
        ));
    }
    if sorted(&mirror.postings) != sorted(&cancel.postings) {
        problems.push(format!(
            "cancellation {id}: postings are not the exact negation of {}",
            o.setl_id
        ));
    }
}

fn sorted(postings: &[Posting]) -> BTreeMap<&str, i64> {
    let mut out = BTreeMap::new();
    for p in postings {
        *out.entry(p.acc_key.as_str()).or_default() += p.amount;
    }
    out
}

fn check_orphans(
    funds: &HashMap<String, Vec<FundRow>>,
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
    let mut derived: BTreeMap<AccKey, i64> = BTreeMap::new();
    for r in records {
        let h = &r.header;
        for p in &r.postings {
            *derived
                .entry((
                    h.psn_no.clone(),
                    h.insutype.clone(),
                    h.year,
                    p.acc_key.clone(),
                ))
                .or_default() += p.amount;
        }
    }
    let rows = sqlx::query("SELECT psn_no, insutype, year, acc_key, amount FROM acc_totals")
        .fetch_all(conn)
        .await?;
    let mut stored: BTreeMap<AccKey, i64> = BTreeMap::new();
    for row in &rows {
        let t = acc_total_of(row)?;
        stored.insert((t.psn_no, t.insutype, t.year, t.acc_key), t.amount);
    }
    let keys: HashSet<&AccKey> = derived.keys().chain(stored.keys()).collect();
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
        let Some(current) = balance.get_mut(&(h.psn_no.clone(), h.insutype.clone())) else {
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
            .entry((r.header.psn_no.clone(), r.header.insutype.clone()))
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

/// Fee lines marked as settled point at a settlement that exists and is not cancelled.
async fn check_fee_lines(
    conn: &mut AnyConnection,
    records: &[SettlementRecord],
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let cancelled: HashSet<&str> = records
        .iter()
        .filter(|r| r.header.kind == EntryKind::Cancel)
        .map(|r| r.header.orig_setl_id.as_str())
        .collect();
    let live: HashSet<&str> = records
        .iter()
        .filter(|r| {
            r.header.kind == EntryKind::Settle && !cancelled.contains(r.header.setl_id.as_str())
        })
        .map(|r| r.header.setl_id.as_str())
        .collect();
    let rows = sqlx::query("SELECT DISTINCT setl_id FROM fee_lines WHERE setl_id <> ''")
        .fetch_all(conn)
        .await?;
    for row in &rows {
        let id: String = row.try_get("setl_id")?;
        if !live.contains(id.as_str()) {
            problems.push(format!(
                "fee lines consumed by {id}, which is not a live settlement"
            ));
        }
    }
    Ok(())
}
