//! Helpers shared by the ledger's tests: fee lines uploaded before the settlements that consume them.

use std::sync::Arc;

use yibao_domain::Fen;
use yibao_ledger::{EventSource, FeeLine, LedgerError, LedgerView, SettlementRecord};

/// An uploaded fee line of `amount` (without a stored split).
pub fn fee_line(mdtrt_id: &str, sn: &str, amount: Fen) -> FeeLine {
    FeeLine {
        mdtrt_id: mdtrt_id.into(),
        feedetl_sn: sn.into(),
        upload_seq: 0,
        event_seq: 0,
        chrg_bchno: "B1".into(),
        init_feedetl_sn: String::new(),
        det_item_fee_sumamt: amount,
        line: format!("{{\"feedetl_sn\":\"{sn}\"}}"),
        result: "{}".into(),
        split: None,
    }
}

/// The message `msgid` (a 2204) as the source of a fee-line event.
pub fn source(msgid: &str) -> EventSource {
    EventSource {
        infno: "2204".into(),
        msgid: msgid.into(),
        time: "2026-03-01 09:30:00".into(),
    }
}

/// Uploads the fee lines a settlement consumes (one upload event of its visit), as the hospital
/// does before settling.
pub async fn upload_consumed_lines(
    ledger: &mut LedgerView<'_>,
    record: &SettlementRecord,
) -> Result<Vec<Arc<FeeLine>>, LedgerError> {
    let h = &record.header;
    let lines = record
        .lines
        .iter()
        .map(|l| fee_line(&h.mdtrt_id, &l.feedetl_sn, l.amounts.det_item_fee_sumamt))
        .collect();
    ledger
        .upload_fee_lines(&h.mdtrt_id, source(&h.msgid), lines)
        .await
}
