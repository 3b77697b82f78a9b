//! An admission settled in parts (中途结算, `mid_setl_flag` 1). Every settlement of a stay settles the
//! whole stay — the lines consumed by the stay's live settlements of the same accumulator year, with
//! the splits they were settled with, plus the unsettled lines, refunds netted — against the
//! accumulators and account balance as they were before those settlements, and is recorded as that
//! whole-stay result less what the live settlements already paid: per `setlinfo` column, per
//! `setldetail` row and per accumulator posting. The stay's live settlements therefore always sum to
//! one settlement of the whole stay: a refund after an interim settlement is taken back from what the
//! interim settlement paid, the admission deductible is charged once, and no fund pays less than
//! nothing over the stay.
//!
//! Only the stay's latest live settlement may be cancelled, so that cancelling restores exactly the
//! state the next settlement was computed from.

use std::collections::BTreeMap;

use yibao_domain::Fen;
use yibao_ledger::entries::EntrySummary;
use yibao_ledger::{
    EntryKind, LedgerError, LedgerView, LineRow, SetlAmounts, SettlementHeader, SettlementRecord,
    StoredFundRow, Visit, VisitKind,
};
use yibao_settlement::{AccKey, FundRow, LineSplit, Posting, YearToDate};

use crate::error::TxError;

/// The live settlements a new settlement of a visit is netted against.
#[derive(Debug, Default)]
pub struct Stay {
    /// Live settlements of the stay in the new settlement's accumulator year, in ledger order.
    earlier: Vec<SettlementRecord>,
    /// Deductible charged by live settlements of the stay in other years (a stay across 31
    /// December); it is not charged again.
    deductible_other_years: Fen,
}

impl Stay {
    /// The live settlements of `visit` that a settlement in accumulator year `year` nets against:
    /// none unless the visit is an admission.
    pub async fn of(
        ledger: &mut LedgerView<'_>,
        visit: &Visit,
        year: i64,
    ) -> Result<Stay, TxError> {
        let mut stay = Stay::default();
        if visit.kind != VisitKind::Inpatient {
            return Ok(stay);
        }
        for entry in live_entries(ledger, &visit.mdtrt_id).await? {
            if entry.header.year != year {
                stay.deductible_other_years += entry.amounts.act_pay_dedc;
                continue;
            }
            let record = ledger
                .settlement(&entry.header.setl_id)
                .await?
                .ok_or_else(|| {
                    TxError::storage(&LedgerError::Corrupt {
                        table: "settlements",
                        column: "setl_id",
                        detail: format!(
                            "settlement {} of visit {} is listed but not stored",
                            entry.header.setl_id, visit.mdtrt_id
                        ),
                    })
                })?;
            stay.earlier.push(record);
        }
        Ok(stay)
    }

    /// Whether the new settlement is netted against earlier ones.
    pub fn has_earlier(&self) -> bool {
        !self.earlier.is_empty()
    }

    /// Deductible charged by live settlements of the stay in other years.
    pub fn deductible_other_years(&self) -> Fen {
        self.deductible_other_years
    }

    /// The headers of the earlier settlements, in ledger order.
    pub fn headers(&self) -> impl Iterator<Item = &SettlementHeader> {
        self.earlier.iter().map(|r| &r.header)
    }

    /// Whether fee line `feedetl_sn` was consumed by one of the earlier settlements.
    pub fn consumed(&self, feedetl_sn: &str) -> bool {
        self.settled_split(feedetl_sn).is_some()
    }

    /// The split an earlier settlement consumed line `feedetl_sn` with.
    fn settled_split(&self, feedetl_sn: &str) -> Option<&LineRow> {
        self.earlier
            .iter()
            .flat_map(|r| &r.lines)
            .find(|l| l.feedetl_sn == feedetl_sn)
    }

    /// The setl_ids of the earlier settlements, for explanations.
    fn earlier_ids(&self) -> String {
        self.earlier
            .iter()
            .map(|r| r.header.setl_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The accumulators before the earlier settlements: `ytd` less their postings.
    pub fn ytd_before(&self, mut ytd: YearToDate) -> YearToDate {
        for posting in self.earlier.iter().flat_map(|r| &r.postings) {
            ytd.apply(&[posting.negated()]);
        }
        ytd
    }

    /// The account balance before the earlier settlements.
    pub fn balance_before(&self, balance: Fen) -> Fen {
        balance + self.earlier.iter().map(|r| r.amounts.acct_pay).sum::<Fen>()
    }

    /// Puts back the splits the earlier settlements consumed their lines with (the catalogue may
    /// have changed since); `line_sns[i]` is the `feedetl_sn` of the whole stay's line `i`.
    pub fn keep_settled_splits(&self, splits: &mut [LineSplit], line_sns: &[String]) {
        for split in splits.iter_mut() {
            let stored = line_sns
                .get(split.line as usize)
                .and_then(|sn| self.settled_split(sn));
            if let Some(row) = stored {
                split.amounts = row.amounts;
            }
        }
    }

    /// The whole stay's amounts less the earlier settlements'.
    pub fn net_amounts(&self, whole: &SetlAmounts) -> SetlAmounts {
        *whole - self.earlier.iter().map(|record| record.amounts).sum()
    }

    /// The record of the new settlement: the whole stay's record less the earlier settlements, with
    /// only the lines the new settlement consumes.
    pub fn net_record(&self, whole: SettlementRecord) -> SettlementRecord {
        if !self.has_earlier() {
            return whole;
        }
        SettlementRecord {
            amounts: self.net_amounts(&whole.amounts),
            funds: self.net_funds(whole.funds),
            lines: whole
                .lines
                .into_iter()
                .filter(|l| !self.consumed(&l.feedetl_sn))
                .collect(),
            postings: self.net_postings(&whole.postings),
            header: whole.header,
        }
    }

    /// Each `setldetail` row of the whole stay less the same payer's rows of the earlier settlements;
    /// a payer only the earlier settlements had gets its payments back as a negative row.
    fn net_funds(&self, whole: Vec<StoredFundRow>) -> Vec<StoredFundRow> {
        let mut paid = self.earlier_funds();
        let mut rows: Vec<StoredFundRow> = whole
            .into_iter()
            .map(|f| match paid.remove(&payer_key(&f.row)) {
                Some(before) => self.less_earlier(f, &before),
                None => f,
            })
            .collect();
        for before in paid.into_values() {
            let returned = before.row.negated();
            rows.push(StoredFundRow {
                row: FundRow {
                    crt_payb_lmt_amt: None,
                    ..returned
                },
                setl_proc_info: format!(
                    "{}: 中途结算 {} 已付 {}, 全程结算不再支付, 本次冲回 {}",
                    before.fund_pay_type_name,
                    self.earlier_ids(),
                    before.row.fund_payamt,
                    returned.fund_payamt
                ),
                ..before
            });
        }
        rows
    }

    /// The earlier settlements' rows summed per payer (`fund_pay_type` and payer class).
    fn earlier_funds(&self) -> BTreeMap<(String, &'static str), StoredFundRow> {
        let mut paid: BTreeMap<(String, &'static str), StoredFundRow> = BTreeMap::new();
        for f in self.earlier.iter().flat_map(|r| &r.funds) {
            paid.entry(payer_key(&f.row))
                .and_modify(|sum| {
                    sum.row.inscp_scp_amt += f.row.inscp_scp_amt;
                    sum.row.fund_payamt += f.row.fund_payamt;
                })
                .or_insert_with(|| f.clone());
        }
        paid
    }

    /// A whole-stay row less what the earlier settlements paid through the same payer; the cap still
    /// available before the new settlement is the whole stay's less that payment.
    fn less_earlier(&self, whole: StoredFundRow, before: &StoredFundRow) -> StoredFundRow {
        let (row, paid) = (whole.row, before.row);
        let net = row.fund_payamt - paid.fund_payamt;
        StoredFundRow {
            row: FundRow {
                inscp_scp_amt: row.inscp_scp_amt - paid.inscp_scp_amt,
                crt_payb_lmt_amt: row.crt_payb_lmt_amt.map(|a| a - paid.fund_payamt),
                fund_payamt: net,
                ..row
            },
            setl_proc_info: format!(
                "{}; 本次住院全程应付 {}, 减中途结算 {} 已付 {}, 本次支付 {net}",
                whole.setl_proc_info,
                row.fund_payamt,
                self.earlier_ids(),
                paid.fund_payamt
            ),
            ..whole
        }
    }

    /// The whole stay's postings less the earlier settlements', per key; zero net postings dropped.
    fn net_postings(&self, whole: &[Posting]) -> Vec<Posting> {
        let earlier = self.earlier.iter().flat_map(|r| &r.postings);
        let mut net: BTreeMap<AccKey, i64> = BTreeMap::new();
        for p in whole.iter().copied().chain(earlier.map(Posting::negated)) {
            *net.entry(p.key).or_default() += p.amount;
        }
        net.into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|(key, amount)| Posting { key, amount })
            .collect()
    }
}

/// Which payer a row is paid by, ordered as the stored codes are: `(fund_pay_type, payer class)`.
fn payer_key(row: &FundRow) -> (String, &'static str) {
    (row.fund_pay_type.to_string(), row.payer.code())
}

/// The settlements of a visit not cancelled, in ledger order.
pub async fn live_entries(
    ledger: &mut LedgerView<'_>,
    mdtrt_id: &str,
) -> Result<Vec<EntrySummary>, TxError> {
    let entries = ledger.visit_entries(mdtrt_id).await?;
    let cancelled: Vec<String> = entries
        .iter()
        .filter(|e| e.header.kind == EntryKind::Cancel)
        .filter_map(|e| e.header.orig_setl_id.clone())
        .collect();
    Ok(entries
        .into_iter()
        .filter(|e| e.header.kind == EntryKind::Settle && !cancelled.contains(&e.header.setl_id))
        .collect())
}

/// Refuses to cancel `original` while a later settlement of its visit is live: cancellations undo a
/// stay's settlements latest first. `field` names the settlement in the request.
pub async fn check_latest(
    ledger: &mut LedgerView<'_>,
    original: &SettlementRecord,
    field: &str,
) -> Result<(), TxError> {
    let live = live_entries(ledger, &original.header.mdtrt_id).await?;
    let later = live
        .iter()
        .skip_while(|e| e.header.setl_id != original.header.setl_id)
        .nth(1);
    match later {
        Some(later) => Err(TxError::new(
            field,
            format!(
                "就诊 {1} 的结算 {0} 之后还有未撤销的结算 {2}，须先撤销该结算",
                original.header.setl_id, original.header.mdtrt_id, later.header.setl_id
            ),
        )),
        None => Ok(()),
    }
}
