//! Fee-line upload (2204, 2301; the lines of 2101/2102) with the per-line split as reply, and its
//! cancellation (2205, 2302). Refund lines (2301) carry a negative `cnt` and `init_feedetl_sn`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use yibao_domain::Fen;
use yibao_ledger::LedgerView;
use yibao_ledger::{FeeLine, LiveLine, StoredSplit, Visit, VisitKind, VisitStatus};
use yibao_settlement::{Engine, LineSplit};
use yibao_wire::render::LineResult;
use yibao_wire::{lenient, WireFeeLine};

use super::common::{self, VisitShape};
use super::{audit, batch, mapping};
use super::{Ctx, TxOutput};
use crate::error::TxError;

/// Most lines accepted in one upload.
const MAX_LINES_PER_UPLOAD: usize = 5_000;
/// Live fee lines one visit may hold: far beyond the longest stay, and small enough that no sum of
/// line amounts (each at most [`MAX_LINE_AMOUNT`]) can overflow.
const MAX_LINES_PER_VISIT: usize = 100_000;
/// Largest line amount accepted (keeps every visit total far from integer overflow).
const MAX_LINE_AMOUNT: Fen = Fen::from_yuan(1_000_000_000);

/// Per-line fields besides what the engine reads.
#[derive(Debug, Deserialize)]
struct LineMeta {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    chrg_bchno: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    init_feedetl_sn: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fee_ocur_time: Option<String>,
    /// 开单医师国家医保代码: checked against the practitioners' register.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    bilg_dr_codg: Option<String>,
}

/// One uploaded line, parsed.
pub struct UploadLine {
    path: String,
    meta: LineMeta,
    wire: WireFeeLine,
    /// The line as sent, JSON text.
    raw: String,
}

/// Parses `input.<node>[]` (a non-empty array; one object is accepted as one line); a line's
/// `fee_ocur_time`, when sent, must be a care time [`common::care_time`] accepts; a line naming only
/// the institution's own code gets its national code from the institution's 目录对照
/// ([`mapping::resolve_codes`]).
pub async fn parse_lines(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    node: &str,
) -> Result<Vec<UploadLine>, TxError> {
    let value = common::node(&ctx.request.input, node)?;
    let rows: Vec<&Value> = match value {
        Value::Array(rows) => rows.iter().collect(),
        Value::Object(_) => vec![value],
        _ => return Err(TxError::new(format!("input.{node}"), "须为费用明细数组")),
    };
    if rows.is_empty() {
        return Err(TxError::new(format!("input.{node}"), "没有费用明细"));
    }
    if rows.len() > MAX_LINES_PER_UPLOAD {
        return Err(TxError::new(
            format!("input.{node}"),
            format!("超过 {MAX_LINES_PER_UPLOAD} 条，请分批上传"),
        ));
    }
    let resolved = mapping::resolve_codes(ctx, ledger, node, &rows).await?;
    let mut seen = HashSet::new();
    let mut lines = Vec::with_capacity(rows.len());
    for (index, raw) in rows.into_iter().enumerate() {
        let path = format!("input.{node}[{index}]");
        let raw = resolved.get(&index).unwrap_or(raw);
        let wire: WireFeeLine = common::parse(raw, &path)?;
        let meta: LineMeta = common::parse(raw, &path)?;
        if let Some(time) = &meta.fee_ocur_time {
            common::care_time(ctx, &format!("{path}.fee_ocur_time"), time)?;
        }
        if wire.det_item_fee_sumamt.fen().abs() > MAX_LINE_AMOUNT.fen() {
            return Err(TxError::new(
                format!("{path}.det_item_fee_sumamt"),
                format!(
                    "{} 超过单条上限 {MAX_LINE_AMOUNT}",
                    wire.det_item_fee_sumamt
                ),
            ));
        }
        if !seen.insert(wire.feedetl_sn.clone()) {
            return Err(TxError::new(
                format!("{path}.feedetl_sn"),
                format!("{} 在本次上传中重复", wire.feedetl_sn),
            ));
        }
        lines.push(UploadLine {
            path,
            meta,
            wire,
            raw: raw.to_string(),
        });
    }
    Ok(lines)
}

/// The visit all lines belong to (every line must name the same `mdtrt_id`).
pub fn common_mdtrt_id(lines: &[UploadLine]) -> Result<String, TxError> {
    let first = lines[0]
        .meta
        .mdtrt_id
        .clone()
        .ok_or_else(|| TxError::new(format!("{}.mdtrt_id", lines[0].path), "不能为空"))?;
    for line in &lines[1..] {
        if line.meta.mdtrt_id.as_deref() != Some(first.as_str()) {
            return Err(TxError::new(
                format!("{}.mdtrt_id", line.path),
                format!("与第一条明细的就诊ID {first} 不一致"),
            ));
        }
    }
    Ok(first)
}

/// Checks signs and refunds against the visit's live lines (a `feedetl_sn` cancelled may be uploaded
/// again: 2205/2302 delete unsettled lines from the hospital's point of view).
fn check_lines(
    visit: &Visit,
    existing: &[LiveLine],
    lines: &[UploadLine],
    refunds_allowed: bool,
) -> Result<(), TxError> {
    let mut originals: HashMap<String, (String, Fen)> = HashMap::new();
    for stored in existing.iter().map(|l| &*l.line) {
        let code = common::line_code(stored)?.into_owned();
        let entry = originals.entry(if stored.init_feedetl_sn.is_empty() {
            stored.feedetl_sn.clone()
        } else {
            stored.init_feedetl_sn.clone()
        });
        let slot = entry.or_insert((code, Fen::ZERO));
        slot.1 += stored.det_item_fee_sumamt;
    }
    let known: HashSet<&str> = existing
        .iter()
        .map(|l| l.line.feedetl_sn.as_str())
        .collect();
    for line in lines {
        let sn = &line.wire.feedetl_sn;
        if known.contains(sn.as_str()) {
            return Err(TxError::new(
                format!("{}.feedetl_sn", line.path),
                format!(
                    "{sn} 已在就诊 {} 上传过（重新上传须先撤销）",
                    visit.mdtrt_id
                ),
            ));
        }
        if let Some(meta_psn) = &line.meta.psn_no {
            common::check_visit_person(visit, &format!("{}.psn_no", line.path), Some(meta_psn))?;
        }
        let refund = line.wire.cnt < 0 || line.meta.init_feedetl_sn.is_some();
        if !refund {
            check_forward(line)?;
            originals.insert(
                sn.clone(),
                (
                    line.wire.med_list_codg.clone(),
                    line.wire.det_item_fee_sumamt,
                ),
            );
            continue;
        }
        if !refunds_allowed {
            return Err(TxError::new(
                format!("{}.cnt", line.path),
                "退费明细（数量为负）只能通过 2301 上传",
            ));
        }
        check_refund(line, &mut originals)?;
    }
    Ok(())
}

/// Refuses a line billed by a practitioner whose 医保支付资格 is suspended or terminated on the
/// day the message is handled (the register is the service's copy: no query per line).
fn check_practitioners(ctx: &Ctx<'_>, lines: &[UploadLine]) -> Result<(), TxError> {
    let sanctions = ctx.shared.sanctions();
    let today = ctx.now.date();
    for line in lines {
        let Some(dr_code) = line.meta.bilg_dr_codg.as_deref() else {
            continue;
        };
        if let Some(refusal) =
            sanctions.practitioner_refusal(&ctx.shared.sanctions_policy, &line.path, dr_code, today)
        {
            return Err(refusal);
        }
    }
    Ok(())
}

fn check_forward(line: &UploadLine) -> Result<(), TxError> {
    if line.wire.cnt <= 0 {
        return Err(TxError::new(
            format!("{}.cnt", line.path),
            "须大于 0（退费请通过 2301 上传并填写 init_feedetl_sn）",
        ));
    }
    if line.wire.det_item_fee_sumamt < Fen::ZERO {
        return Err(TxError::new(
            format!("{}.det_item_fee_sumamt", line.path),
            "不能为负数",
        ));
    }
    Ok(())
}

fn check_refund(
    line: &UploadLine,
    originals: &mut HashMap<String, (String, Fen)>,
) -> Result<(), TxError> {
    let field = |name: &str| format!("{}.{name}", line.path);
    let init = line
        .meta
        .init_feedetl_sn
        .as_deref()
        .ok_or_else(|| TxError::new(field("init_feedetl_sn"), "退费明细必填"))?;
    if line.wire.cnt >= 0 || line.wire.det_item_fee_sumamt > Fen::ZERO {
        return Err(TxError::new(
            field("cnt"),
            "退费明细的数量须为负数，金额不能大于 0",
        ));
    }
    let Some((code, remaining)) = originals.get_mut(init) else {
        return Err(TxError::new(
            field("init_feedetl_sn"),
            format!("{init} 不是本次就诊的费用明细"),
        ));
    };
    if *code != line.wire.med_list_codg {
        return Err(TxError::new(
            field("med_list_codg"),
            format!("与被退费明细的医疗目录编码 {code} 不一致"),
        ));
    }
    if *remaining + line.wire.det_item_fee_sumamt < Fen::ZERO {
        return Err(TxError::new(
            field("det_item_fee_sumamt"),
            format!(
                "退费金额 {} 超过明细 {init} 的剩余金额 {remaining}",
                -line.wire.det_item_fee_sumamt
            ),
        ));
    }
    *remaining += line.wire.det_item_fee_sumamt;
    Ok(())
}

/// Whether fee lines may be added to a visit in this state: an open visit, a discharged admission
/// not yet settled, a registration with settled charge batches (a new batch).
fn check_open_for_fees(visit: &Visit) -> Result<(), TxError> {
    match (visit.status, visit.kind) {
        (VisitStatus::Open, _)
        | (VisitStatus::Discharged, VisitKind::Inpatient)
        | (VisitStatus::Settled, VisitKind::Outpatient) => Ok(()),
        (status, _) => Err(TxError::new(
            "mdtrt_id",
            format!(
                "就诊 {} {}，不能再上传费用明细",
                visit.mdtrt_id,
                common::status_text(status)
            ),
        )),
    }
}

/// Refuses lines that would join a charge batch of a registration a live settlement has settled
/// ([`batch::settled_batches`]).
fn check_open_batches(existing: &[LiveLine], lines: &[UploadLine]) -> Result<(), TxError> {
    let settled = batch::settled_batches(existing);
    for line in lines {
        let chrg_bchno = line.meta.chrg_bchno.as_deref().unwrap_or_default();
        if let Some(setl_id) = settled.get(chrg_bchno) {
            return Err(TxError::new(
                format!("{}.chrg_bchno", line.path),
                format!(
                    "收费批次 {chrg_bchno} 已结算（结算ID {setl_id}），新的费用请使用新的收费批次号"
                ),
            ));
        }
    }
    Ok(())
}

/// 2204 / 2301: stores the fee lines of one visit of `kind` and replies with their split.
/// `refunds_allowed` admits refund lines (negative `cnt` with `init_feedetl_sn`, 2301 only);
/// `other` names the visit kind and the transaction to use for it instead.
pub async fn upload_transaction(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    kind: VisitKind,
    refunds_allowed: bool,
    other: &str,
) -> Result<TxOutput, TxError> {
    let lines = parse_lines(ctx, ledger, "feedetail").await?;
    let mdtrt_id = common_mdtrt_id(&lines)?;
    let visit = common::owned_visit(ctx, ledger, "input.feedetail[0].mdtrt_id", &mdtrt_id).await?;
    if visit.kind != kind {
        return Err(TxError::new(
            "input.feedetail[0].mdtrt_id",
            format!("就诊 {mdtrt_id} {other}"),
        ));
    }
    let (output, _) = upload(ctx, ledger, &visit, &lines, refunds_allowed).await?;
    Ok(TxOutput::write(output, mdtrt_id))
}

/// Splits and stores uploaded lines of an open visit (one upload event); returns the `result` rows
/// and the stored lines.
pub async fn upload(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &Visit,
    lines: &[UploadLine],
    refunds_allowed: bool,
) -> Result<(Box<RawValue>, Vec<Arc<FeeLine>>), TxError> {
    check_open_for_fees(visit)?;
    let existing = ledger.fee_lines(&visit.mdtrt_id).await?;
    if existing.len() + lines.len() > MAX_LINES_PER_VISIT {
        return Err(TxError::new(
            lines
                .first()
                .and_then(|l| l.path.rsplit_once('['))
                .map_or("input", |(node, _)| node),
            format!(
                "就诊 {} 的费用明细将超过 {MAX_LINES_PER_VISIT} 条",
                visit.mdtrt_id
            ),
        ));
    }
    check_lines(visit, &existing, lines, refunds_allowed)?;
    check_practitioners(ctx, lines)?;
    if visit.kind == VisitKind::Outpatient {
        check_open_batches(&existing, lines)?;
    }
    let (results, prepared) = prepare(ctx, ledger, visit, lines).await?;
    let stored = ledger
        .upload_fee_lines(&visit.mdtrt_id, common::event_source(ctx), prepared)
        .await?;
    #[derive(serde::Serialize)]
    struct Output<'a> {
        result: &'a [LineResult],
    }
    Ok((common::to_output(&Output { result: &results })?, stored))
}

/// Splits lines of `visit` and makes them fee-line records (not yet stored) carrying their split and
/// what it depended on; returns them with their `result` rows.
pub async fn prepare(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &Visit,
    lines: &[UploadLine],
) -> Result<(Vec<LineResult>, Vec<FeeLine>), TxError> {
    let split = split(ctx, ledger, visit, lines).await?;
    let mut results = yibao_wire::render::line_results(&split.splits, |i| {
        let index = i as usize;
        yibao_wire::render::LineOrigin {
            feedetl_sn: lines
                .get(index)
                .map(|l| l.wire.feedetl_sn.clone())
                .unwrap_or_default(),
            cnt_e4: split.fees.get(index).map_or(0, |f| f.cnt_e4),
            pric_micro_yuan: split.fees.get(index).map_or(0, |f| f.pric_micro_yuan),
        }
    });
    for (result, line_split) in results.iter_mut().zip(&split.splits) {
        if let Some(memo) = split.audit_memos.get(&line_split.line) {
            result.memo = memo.clone().into();
        }
    }
    let mut prepared = Vec::with_capacity(lines.len());
    let parts = lines.iter().zip(&results).zip(split.fees).zip(split.splits);
    for (((line, result), fee), line_split) in parts {
        prepared.push(FeeLine {
            mdtrt_id: visit.mdtrt_id.clone(),
            feedetl_sn: line.wire.feedetl_sn.clone(),
            upload_seq: 0,
            event_seq: 0,
            chrg_bchno: line.meta.chrg_bchno.clone().unwrap_or_default(),
            init_feedetl_sn: line.meta.init_feedetl_sn.clone().unwrap_or_default(),
            det_item_fee_sumamt: line.wire.det_item_fee_sumamt,
            line: line.raw.clone(),
            result: serde_json::to_string(result).map_err(|e| common::unencodable(&e))?,
            split: Some(StoredSplit {
                basis: Arc::clone(&split.basis),
                fee,
                split: LineSplit {
                    line: 0,
                    ..line_split
                },
            }),
        });
    }
    Ok((results, prepared))
}

/// Lines split by the engine, with what the engine read of them and what the split depended on.
struct Split {
    splits: Vec<LineSplit>,
    fees: Vec<yibao_settlement::FeeLine>,
    basis: Arc<str>,
    /// The real-time audit's reason per line it made 全自费 ([`audit::self_pay_lines`]).
    audit_memos: rustc_hash::FxHashMap<u32, String>,
}

async fn split(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &Visit,
    lines: &[UploadLine],
) -> Result<Split, TxError> {
    let person = common::registered_person(ledger, "psn_no", &visit.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", visit.insutype.as_str())?;
    let rules = common::split_rules(ctx, insu, visit.begntime.date())?;
    let begin = visit.begntime;
    let engine_person = common::engine_person(&person, insu, begin.date());
    let filing = common::remote_filing(
        ctx,
        ledger,
        &rules.policy,
        visit,
        ctx.now,
        common::emergency_admission(visit),
    )
    .await?;
    let mut fee_lines: Vec<_> = lines.iter().map(|l| l.wire.fee_line()).collect();
    let upload = audit::Upload {
        person: &person,
        visit,
        policy: &rules.policy,
        catalog: &rules.catalog,
    };
    let audit_memos = audit::self_pay_lines(ctx, ledger, upload, &mut fee_lines).await?;
    let shape = VisitShape {
        visit,
        end: begin,
        lines: fee_lines,
        use_account: true,
        interim: false,
        episode_deductible_paid: Fen::ZERO,
        filing,
    };
    let engine_visit = common::engine_visit(ctx, shape)?;
    let mut splits = Vec::with_capacity(lines.len());
    Engine::new(&rules.policy, &rules.catalog)
        .split_lines(&engine_person, &engine_visit, &mut splits)
        .map_err(|e| common::engine_error(&e))?;
    let basis = rules.split_basis(&engine_person, &engine_visit)?;
    Ok(Split {
        splits,
        fees: engine_visit.lines,
        basis: Arc::from(basis),
        audit_memos,
    })
}

/// Which unsettled lines a cancellation removes.
pub enum Selector<'a> {
    /// Every unsettled line (`"0000"`).
    All,
    /// One charge batch (2205 `chrg_bchno`).
    Batch(&'a str),
    /// One line (2302 `feedetl_sn`).
    Line(&'a str),
}

/// Cancels unsettled lines of a visit (a cancellation event; the lines stay stored); lines already
/// settled cannot be cancelled.
pub async fn cancel(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &Visit,
    field: &str,
    selector: Selector<'_>,
) -> Result<(), TxError> {
    let lines = ledger.fee_lines(&visit.mdtrt_id).await?;
    let chosen: Vec<&LiveLine> = lines
        .iter()
        .filter(|l| match selector {
            Selector::All => l.is_unsettled(),
            Selector::Batch(batch) => l.line.chrg_bchno == batch,
            Selector::Line(sn) => l.line.feedetl_sn == sn,
        })
        .collect();
    if chosen.is_empty() {
        return Err(TxError::new(
            field,
            format!("就诊 {} 没有可撤销的费用明细", visit.mdtrt_id),
        ));
    }
    refuse_settled(&chosen, field)?;
    if let Selector::Line(sn) = selector {
        if let Some(refund) = lines.iter().find(|l| l.line.init_feedetl_sn == sn) {
            return Err(TxError::new(
                field,
                format!(
                    "明细 {sn} 有退费明细 {}，须先撤销该退费明细",
                    refund.line.feedetl_sn
                ),
            ));
        }
    }
    let seqs: Vec<i64> = chosen.iter().map(|l| l.line.upload_seq).collect();
    ledger
        .cancel_fee_lines(&visit.mdtrt_id, common::event_source(ctx), &seqs)
        .await?;
    Ok(())
}

/// Cancels every unsettled line of a visit being cancelled; fails if any line is settled.
pub async fn discard_unsettled(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &Visit,
    field: &str,
) -> Result<(), TxError> {
    let lines = ledger.fee_lines(&visit.mdtrt_id).await?;
    refuse_settled(&lines.iter().collect::<Vec<_>>(), field)?;
    let seqs: Vec<i64> = lines.iter().map(|l| l.line.upload_seq).collect();
    if !seqs.is_empty() {
        ledger
            .cancel_fee_lines(&visit.mdtrt_id, common::event_source(ctx), &seqs)
            .await?;
    }
    Ok(())
}

/// Refuses to cancel lines a live settlement consumed.
fn refuse_settled(lines: &[&LiveLine], field: &str) -> Result<(), TxError> {
    match lines.iter().find_map(|l| Some((l, l.setl_id.as_deref()?))) {
        Some((settled, setl_id)) => Err(TxError::new(
            field,
            format!(
                "费用明细 {} 已结算（结算ID {setl_id}），须先撤销该结算",
                settled.line.feedetl_sn
            ),
        )),
        None => Ok(()),
    }
}
