//! Outpatient charge batches (收费批次, `chrg_bchno`). A HIS charges one registration in batches —
//! the registration fee first, the treatment later — each uploaded by a 2204 and settled by its own
//! 2206/2207, which names the batch. Each batch's settlement is a settlement of its own under the
//! year's accumulators, so a later batch sees what the earlier ones used of the deductible and the
//! caps. This module decides which lines a settlement of a registration takes, and which batches an
//! upload may still add lines to.

use std::collections::HashMap;
use std::sync::Arc;

use yibao_ledger::{FeeLine, LiveLine, Visit};

use crate::error::TxError;

/// The lines a 2206/2207 of `visit` settles, given the visit's live lines: the unsettled lines of
/// the batch `chrg_bchno`; without a batch, every unsettled line of the visit (as before batches
/// were told apart). A batch that is unknown, or already settled, is refused naming
/// `input.data.chrg_bchno`; nothing left to settle, naming `input.data.mdtrt_id`.
pub fn lines_to_settle(
    visit: &Visit,
    live: &[LiveLine],
    chrg_bchno: Option<&str>,
) -> Result<Vec<Arc<FeeLine>>, TxError> {
    let in_scope = |l: &&LiveLine| chrg_bchno.is_none_or(|batch| l.line.chrg_bchno == batch);
    let chosen: Vec<&LiveLine> = live.iter().filter(in_scope).collect();
    let unsettled: Vec<Arc<FeeLine>> = chosen
        .iter()
        .filter(|l| l.is_unsettled())
        .map(|l| Arc::clone(&l.line))
        .collect();
    if !unsettled.is_empty() {
        return Ok(unsettled);
    }
    let settled_by = chosen.iter().find_map(|l| l.setl_id.as_deref());
    Err(match (chrg_bchno, settled_by) {
        (Some(batch), None) => TxError::new(
            "input.data.chrg_bchno",
            format!(
                "就诊 {} 没有收费批次 {batch} 的费用明细，请先上传（2204）",
                visit.mdtrt_id
            ),
        ),
        (Some(batch), Some(setl_id)) => TxError::new(
            "input.data.chrg_bchno",
            format!("收费批次 {batch} 已结算（结算ID {setl_id}），重新结算须先撤销该结算（2208）"),
        ),
        (None, Some(setl_id)) => TxError::new(
            "input.data.mdtrt_id",
            format!(
                "就诊 {} 的费用明细均已结算（结算ID {setl_id}），新的费用请以新的收费批次上传后结算",
                visit.mdtrt_id
            ),
        ),
        (None, None) => TxError::new(
            "input.data.mdtrt_id",
            format!("就诊 {} 没有未结算的费用明细", visit.mdtrt_id),
        ),
    })
}

/// The batches of a registration that live settlements settled, each with one such settlement: an
/// upload may no longer add lines to them (new fees go in a new batch, or the settlement is
/// cancelled first).
pub fn settled_batches(live: &[LiveLine]) -> HashMap<&str, &str> {
    live.iter()
        .filter_map(|l| Some((l.line.chrg_bchno.as_str(), l.setl_id.as_deref()?)))
        .collect()
}
