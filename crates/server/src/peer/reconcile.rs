//! Daily reconciliation between platforms (`yibao peers reconcile`): each platform lists, by key,
//! the settlements and cancellations it recorded with a peer on a day — as the insured platform
//! (its own settlements under the peer's keys) and as the treating platform (its records of what
//! the peer settled) — and the two lists must hold the same keys with the same kind, person,
//! amounts and fund payments by payer class.

use std::collections::BTreeMap;

use serde::Serialize;
use yibao_domain::Fen;
use yibao_ledger::entries::{self, EntryFilter};
use yibao_ledger::{peers, LedgerError, SettlementRecord, Store};

use super::client::{CallError, PeerClient};
use super::insured::{PEER_ABORT, PEER_INFNO};
use super::wire::{DayAnswer, DayCall, PeerSettled, MAX_RECORDS};
use crate::config::{Config, PeerConfig};

/// Why a reconciliation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Peer(#[from] CallError),
    #[error("date `{0}` is not yyyy-MM-dd")]
    Date(String),
}

/// One platform's view of a day with a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Side {
    /// Settlements and cancellations.
    pub count: usize,
    /// Σ `fund_pay_sumamt` (cancellations negative).
    pub fund_pay_sumamt: Fen,
    /// Σ `acct_pay`.
    pub acct_pay: Fen,
    /// Σ `medfee_sumamt`.
    pub medfee_sumamt: Fen,
}

/// The reconciliation of a day with one peer.
#[derive(Debug, Clone, Serialize)]
pub struct DayReport {
    pub peer: String,
    pub date: String,
    pub local: Side,
    pub remote: Side,
    /// Every difference, one line each (empty: the platforms agree).
    pub differences: Vec<String>,
}

/// Whether `text` is a day written `yyyy-MM-dd` (zero-padded: it bounds settlement times as text).
pub fn is_day(text: &str) -> bool {
    text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// The records of a day (setl_time on `date`) this platform holds with the peer of `prefix`.
pub async fn local_records(
    store: &Store,
    prefix: &str,
    date: &str,
) -> Result<Vec<PeerSettled>, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let filter = EntryFilter {
        setl_time_from: Some(format!("{date} 00:00:00")),
        setl_time_to: Some(format!("{date} 23:59:59")),
        ..EntryFilter::default()
    };
    let treated: std::collections::HashSet<String> = peers::made_on(&mut conn, prefix, date)
        .await?
        .into_iter()
        .map(|i| i.peer_key)
        .collect();
    let mut records = Vec::new();
    for summary in entries::entries(&mut conn, &filter).await? {
        let h = &summary.header;
        let infno = h.infno.as_str();
        let insured =
            infno.starts_with(PEER_INFNO) && infno != PEER_ABORT && h.msgid.starts_with(prefix);
        let key = if insured {
            h.msgid.clone()
        } else if treated.contains(&h.setl_id) {
            h.setl_id.clone()
        } else {
            continue;
        };
        if records.len() == MAX_RECORDS {
            break;
        }
        let record = SettlementRecord {
            funds: entries::funds_of(&mut conn, &h.setl_id).await?,
            header: summary.header,
            amounts: summary.amounts,
            lines: Vec::new(),
            postings: Vec::new(),
        };
        records.push(PeerSettled::of(&record, &key));
    }
    Ok(records)
}

fn side(records: &[PeerSettled]) -> Side {
    Side {
        count: records.len(),
        fund_pay_sumamt: records.iter().map(|r| r.amounts.fund_pay_sumamt).sum(),
        acct_pay: records.iter().map(|r| r.amounts.acct_pay).sum(),
        medfee_sumamt: records.iter().map(|r| r.amounts.medfee_sumamt).sum(),
    }
}

/// Fund payments by payer class (fund codes differ: the treating side answers unknown ones as
/// 910100).
fn by_payer(record: &PeerSettled) -> BTreeMap<String, Fen> {
    let mut sums = BTreeMap::new();
    for fund in &record.setldetail {
        *sums.entry(fund.payer.clone()).or_default() += fund.fund_payamt;
    }
    sums
}

/// The differences between two lists of a day, by key.
pub fn compare(local: &[PeerSettled], remote: &[PeerSettled]) -> Vec<String> {
    let by_key = |records: &[PeerSettled]| -> BTreeMap<String, PeerSettled> {
        records
            .iter()
            .map(|r| (r.peer_key.clone(), r.clone()))
            .collect()
    };
    let (ours, theirs) = (by_key(local), by_key(remote));
    let mut differences = Vec::new();
    for (key, mine) in &ours {
        let Some(other) = theirs.get(key) else {
            differences.push(format!(
                "{key}: only here ({} {})",
                mine.kind, mine.amounts.fund_pay_sumamt
            ));
            continue;
        };
        let facts = |r: &PeerSettled| {
            (
                r.kind.clone(),
                r.psn_no.clone(),
                r.insutype.clone(),
                r.setl_time.clone(),
                r.interim,
            )
        };
        if facts(mine) != facts(other) {
            differences.push(format!(
                "{key}: kind, person, scheme, time or interim flag differ ({:?} here, {:?} there)",
                facts(mine),
                facts(other)
            ));
        }
        for (column, here) in mine.amounts.columns() {
            let there = other
                .amounts
                .columns()
                .into_iter()
                .find(|(c, _)| *c == column)
                .map(|(_, v)| v);
            if Some(here) != there {
                differences.push(format!(
                    "{key}: {column} {here} here, {} there",
                    there.unwrap_or_default()
                ));
            }
        }
        if by_payer(mine) != by_payer(other) {
            differences.push(format!(
                "{key}: fund payments by payer {:?} here, {:?} there",
                by_payer(mine),
                by_payer(other)
            ));
        }
    }
    for (key, other) in &theirs {
        if !ours.contains_key(key) {
            differences.push(format!(
                "{key}: only at the peer ({} {})",
                other.kind, other.amounts.fund_pay_sumamt
            ));
        }
    }
    differences
}

/// Reconciles a day with one peer.
pub async fn with_peer(
    store: &Store,
    client: &PeerClient,
    peer: &PeerConfig,
    date: &str,
) -> Result<DayReport, ReconcileError> {
    if !is_day(date) {
        return Err(ReconcileError::Date(date.to_string()));
    }
    let local = local_records(store, &peer.admdvs_prefix, date).await?;
    let answer: DayAnswer = client
        .call(
            peer,
            "/peer/v1/day",
            &DayCall {
                date: date.to_string(),
            },
        )
        .await?;
    Ok(DayReport {
        peer: peer.admdvs_prefix.clone(),
        date: date.to_string(),
        local: side(&local),
        remote: side(&answer.records),
        differences: compare(&local, &answer.records),
    })
}

/// Reconciles a day with every peer `config` lists.
pub async fn all(
    config: &Config,
    store: &Store,
    date: &str,
) -> Result<Vec<DayReport>, ReconcileError> {
    let client = PeerClient::new(config);
    let mut reports = Vec::with_capacity(config.peers.len());
    for peer in &config.peers {
        reports.push(with_peer(store, &client, peer, date).await?);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::PeerFund;

    fn record(key: &str, fund_fen: i64) -> PeerSettled {
        let amounts = yibao_domain::SetlAmounts {
            medfee_sumamt: Fen(10_000),
            inscp_scp_amt: Fen(10_000),
            fund_pay_sumamt: Fen(fund_fen),
            psn_part_amt: Fen(10_000 - fund_fen),
            psn_cash_pay: Fen(10_000 - fund_fen),
            ..Default::default()
        };
        PeerSettled {
            peer_key: key.into(),
            setl_id: format!("own-{key}"),
            kind: "settle".into(),
            psn_no: "P0001".into(),
            insutype: "390".into(),
            year: 2026,
            setl_time: "2026-03-01 10:00:00".into(),
            clr_optins: "360400".into(),
            balc: Fen(0),
            amounts,
            setldetail: vec![PeerFund {
                fund_pay_type: "390100".into(),
                fund_pay_type_name: "基本医疗保险统筹基金".into(),
                payer: "fund".into(),
                inscp_scp_amt: Fen(10_000),
                crt_payb_lmt_amt: None,
                fund_payamt: Fen(fund_fen),
                setl_proc_info: String::new(),
            }],
            interim: false,
        }
    }

    #[test]
    fn fund_codes_may_differ_but_nothing_else() {
        let mut mapped = record("K1", 6_000);
        mapped.setldetail[0].fund_pay_type = "910100".into();
        mapped.setl_id = "theirs".into();
        assert!(compare(&[record("K1", 6_000)], &[mapped]).is_empty());
        let differences = compare(
            &[record("K1", 6_000), record("K2", 5_000)],
            &[record("K1", 6_001), record("K3", 5_000)],
        );
        let has = |words: &str| differences.iter().any(|d| d.contains(words));
        assert!(
            has("K1: fund_pay_sumamt 60.00 here, 60.01 there"),
            "{differences:?}"
        );
        assert!(has("K1: fund payments by payer"), "{differences:?}");
        assert!(has("K2: only here"), "{differences:?}");
        assert!(has("K3: only at the peer"), "{differences:?}");
        assert!(is_day("2026-03-01") && !is_day("2026-3-1") && !is_day("2026-02-30"));
        let mut cancelled = record("K1", 6_000);
        cancelled.kind = "cancel".into();
        assert!(!compare(&[record("K1", 6_000)], &[cancelled]).is_empty());
        let mut interim = record("K1", 6_000);
        interim.interim = true;
        let differences = compare(&[record("K1", 6_000)], &[interim]);
        assert!(
            differences
                .iter()
                .any(|d| d.contains("interim flag differ")),
            "{differences:?}"
        );
    }
}
