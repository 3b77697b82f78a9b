//! Inpatient transactions: 2401–2405 admission, discharge, change and their cancels; 2301/2302 fee
//! upload (with refunds) and cancel; 2303/2304 pre-settlement and settlement (incl. interim
//! settlement, `mid_setl_flag` 1).

use serde::Deserialize;
use serde_json::json;
use yibao_ledger::LedgerView;
use yibao_ledger::{Visit, VisitKind, VisitStatus};
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::fees::{self, Selector};
use super::outpatient::apply_visit_info;
use super::settle::{self, SettleData, SettleRequest};
use super::stay;
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

#[derive(Deserialize)]
struct Admission {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(deserialize_with = "lenient::string")]
    insutype: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begntime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    ipt_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_cert_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dise_codg: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    refl_flag: Option<String>,
}

/// 2401 入院办理: opens an admission.
pub async fn admit(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let raw = common::single(node(&ctx.request.input, "mdtrtinfo")?, "input.mdtrtinfo")?;
    let adm: Admission = parse(raw, "input.mdtrtinfo")?;
    let person = common::registered_person(ledger, "input.mdtrtinfo.psn_no", &adm.psn_no).await?;
    let insu = common::insu_row(&person, "input.mdtrtinfo.insutype", &adm.insutype)?;
    let begntime = match &adm.begntime {
        Some(text) => common::care_time(ctx, "input.mdtrtinfo.begntime", text)?,
        None => ctx.now,
    };
    let field = "input.mdtrtinfo.psn_no";
    common::check_card(ctx, field, &adm.psn_no, begntime.date(), "办理入院")?;
    let mdtrt_id = settle::issue_id(ctx, ledger, settle::IssuedId::Visit).await?;
    let mut visit = Visit {
        mdtrt_id: mdtrt_id.clone(),
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        psn_no: adm.psn_no.clone(),
        insutype: insu.insutype,
        kind: VisitKind::Inpatient,
        med_type: common::request_med_type(
            "input.mdtrtinfo.med_type",
            adm.med_type.as_deref(),
            "21",
        )?,
        begntime,
        endtime: None,
        status: VisitStatus::Open,
        ipt_otp_no: adm.ipt_no.clone().unwrap_or_default(),
        mdtrt_cert_type: common::request_code(
            "input.mdtrtinfo.mdtrt_cert_type",
            adm.mdtrt_cert_type.as_deref(),
            "",
        )?,
        dise_codg: String::new(),
        referred: false,
        info: json!({
            "mdtrt_cert_type": adm.mdtrt_cert_type.clone().unwrap_or_default(),
            "refl_flag": adm.refl_flag.clone().unwrap_or_default(),
        }),
    };
    apply_visit_info(
        &mut visit,
        raw,
        ctx.request.input.get("diseinfo"),
        None,
        adm.dise_codg.as_deref(),
    );
    ledger.insert_visit(&visit);
    let output = json!({ "result": { "mdtrt_id": mdtrt_id, "psn_no": adm.psn_no, "ipt_otp_no": visit.ipt_otp_no } });
    Ok(TxOutput::write(common::to_output(&output)?, mdtrt_id))
}

#[derive(Deserialize)]
struct VisitNode {
    #[serde(deserialize_with = "lenient::string")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    endtime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begntime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dise_codg: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    feedetl_sn: Option<String>,
}

/// An admission of this institution named by `input.<name>`.
async fn admission(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    name: &str,
) -> Result<(Visit, VisitNode, serde_json::Value), TxError> {
    let path = format!("input.{name}");
    let raw = common::single(node(&ctx.request.input, name)?, &path)?.clone();
    let reference: VisitNode = parse(&raw, &path)?;
    let visit = common::owned_visit(
        ctx,
        ledger,
        &format!("{path}.mdtrt_id"),
        &reference.mdtrt_id,
    )
    .await?;
    common::check_visit_person(
        &visit,
        &format!("{path}.psn_no"),
        reference.psn_no.as_deref(),
    )?;
    if visit.kind != VisitKind::Inpatient {
        return Err(TxError::new(
            format!("{path}.mdtrt_id"),
            format!("就诊 {} 不是住院就诊", visit.mdtrt_id),
        ));
    }
    Ok((visit, reference, raw))
}

fn require_status(
    visit: &Visit,
    field: &str,
    allowed: &[VisitStatus],
    action: &str,
) -> Result<(), TxError> {
    if allowed.contains(&visit.status) {
        Ok(())
    } else {
        Err(TxError::new(
            field,
            format!(
                "就诊 {} {}，不能{action}",
                visit.mdtrt_id,
                common::status_text(visit.status)
            ),
        ))
    }
}

/// 2402 出院办理: records the discharge, before or after the final settlement. After it, the end of
/// care stays the one the settlement was made with (`dscgTime`), so the settlement — its 5203, its
/// day in the fund report — stays as it is; the discharge's details are kept as uploaded.
pub async fn discharge(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let (mut visit, reference, raw) = admission(ctx, ledger, "dscginfo").await?;
    let discharged = match visit.status {
        VisitStatus::Open => VisitStatus::Discharged,
        VisitStatus::Settled => VisitStatus::DischargedSettled,
        status => {
            return Err(TxError::new(
                "input.dscginfo.mdtrt_id",
                format!(
                    "就诊 {} {}，不能办理出院",
                    visit.mdtrt_id,
                    common::status_text(status)
                ),
            ))
        }
    };
    let endtime = reference
        .endtime
        .ok_or_else(|| TxError::new("input.dscginfo.endtime", "不能为空"))?;
    let end = common::care_time(ctx, "input.dscginfo.endtime", &endtime)?;
    if end < visit.begntime {
        return Err(TxError::new(
            "input.dscginfo.endtime",
            format!("{endtime} 早于入院时间 {}", wire_time(visit.begntime)),
        ));
    }
    if discharged == VisitStatus::Discharged {
        visit.endtime = Some(end);
    }
    visit.status = discharged;
    if let Some(dise) = reference.dise_codg {
        visit.dise_codg = dise;
    }
    if let serde_json::Value::Object(map) = &mut visit.info {
        map.insert("dscginfo".into(), raw);
    }
    ledger.update_visit(&visit);
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

/// 2403 入院信息变更: updates the admission's details.
pub async fn change(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let (mut visit, reference, raw) = admission(ctx, ledger, "adminfo").await?;
    require_status(
        &visit,
        "input.adminfo.mdtrt_id",
        &[VisitStatus::Open, VisitStatus::Discharged],
        "变更入院信息",
    )?;
    if let Some(begntime) = reference.begntime {
        visit.begntime = common::care_time(ctx, "input.adminfo.begntime", &begntime)?;
    }
    let med_type = match reference.med_type.as_deref() {
        Some(text) => Some(common::request_med_type(
            "input.adminfo.med_type",
            Some(text),
            "",
        )?),
        None => None,
    };
    apply_visit_info(
        &mut visit,
        &raw,
        ctx.request.input.get("diseinfo"),
        med_type,
        reference.dise_codg.as_deref(),
    );
    ledger.update_visit(&visit);
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

/// Cancels an admission with no live settlement (2404, and 2601 of a 2401).
pub async fn cancel_admission_of(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &mut Visit,
    field: &str,
) -> Result<(), TxError> {
    require_status(
        visit,
        field,
        &[VisitStatus::Open, VisitStatus::Discharged],
        "撤销入院",
    )?;
    fees::discard_unsettled(ctx, ledger, visit, field).await?;
    visit.status = VisitStatus::Cancelled;
    ledger.update_visit(visit);
    Ok(())
}

/// 2404 入院撤销.
pub async fn cancel_admission(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let (mut visit, _, _) = admission(ctx, ledger, "data").await?;
    cancel_admission_of(ctx, ledger, &mut visit, "input.data.mdtrt_id").await?;
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

/// 2405 出院撤销: back to an open admission. A discharged admission whose final settlement is live
/// is refused: the platform requires the settlement cancelled (2305) first.
pub async fn cancel_discharge(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let (mut visit, _, _) = admission(ctx, ledger, "data").await?;
    match visit.status {
        VisitStatus::Discharged => {}
        VisitStatus::DischargedSettled => {
            let setl_id = final_settlement(ledger, &visit).await?;
            return Err(TxError::new(
                "input.data.mdtrt_id",
                format!(
                    "就诊 {} 已结算（结算ID {setl_id}），须先撤销结算（2305）再撤销出院",
                    visit.mdtrt_id
                ),
            ));
        }
        status => {
            return Err(TxError::new(
                "input.data.mdtrt_id",
                format!(
                    "就诊 {} 未办理出院（{}），没有可撤销的出院",
                    visit.mdtrt_id,
                    common::status_text(status)
                ),
            ))
        }
    }
    visit.endtime = None;
    visit.status = VisitStatus::Open;
    ledger.update_visit(&visit);
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

/// The `setl_id` of the live final settlement of an admission (empty if there is none).
async fn final_settlement(ledger: &mut LedgerView<'_>, visit: &Visit) -> Result<String, TxError> {
    let live = stay::live_entries(ledger, &visit.mdtrt_id).await?;
    Ok(live
        .into_iter()
        .rev()
        .find(|e| !e.header.mid_setl_flag)
        .map(|e| e.header.setl_id)
        .unwrap_or_default())
}

/// 2301 住院费用明细上传 (refund lines allowed).
pub async fn upload_fees(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    fees::upload_transaction(
        ctx,
        ledger,
        VisitKind::Inpatient,
        true,
        "不是住院就诊（门诊费用请用 2204 上传）",
    )
    .await
}

/// 2302 住院费用明细撤销: `feedetl_sn` "0000" cancels every unsettled line.
pub async fn cancel_fees(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let (visit, reference, _) = admission(ctx, ledger, "data").await?;
    let sn = reference
        .feedetl_sn
        .ok_or_else(|| TxError::new("input.data.feedetl_sn", "不能为空（\"0000\" 表示全部）"))?;
    let selector = if sn == "0000" {
        Selector::All
    } else {
        Selector::Line(&sn)
    };
    fees::cancel(ctx, ledger, &visit, "input.data.feedetl_sn", selector).await?;
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

/// 2303 住院预结算 / 2304 住院结算. A final settlement without a prior 2402 takes `dscgTime` (or the
/// message time) as the discharge.
pub async fn settle(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    store: bool,
) -> Result<TxOutput, TxError> {
    let data: SettleData = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let mdtrt_id = data
        .mdtrt_id
        .clone()
        .ok_or_else(|| TxError::new("input.data.mdtrt_id", "不能为空"))?;
    let mut visit = common::owned_visit(ctx, ledger, "input.data.mdtrt_id", &mdtrt_id).await?;
    common::check_visit_person(&visit, "input.data.psn_no", Some(&data.psn_no))?;
    if visit.kind != VisitKind::Inpatient {
        return Err(TxError::new(
            "input.data.mdtrt_id",
            format!("就诊 {mdtrt_id} 不是住院就诊（门诊请用 2207 结算）"),
        ));
    }
    if visit.status.is_settled() {
        let setl_id = final_settlement(ledger, &visit).await?;
        return Err(TxError::new(
            "input.data.mdtrt_id",
            format!("就诊 {mdtrt_id} 已结算（结算ID {setl_id}），重新结算须先撤销结算（2305）"),
        ));
    }
    require_status(
        &visit,
        "input.data.mdtrt_id",
        &[VisitStatus::Open, VisitStatus::Discharged],
        "结算",
    )?;
    let interim = data.interim();
    check_interim(&visit, interim)?;
    let end = settlement_end(ctx, &visit, &data, interim)?;
    let lines = settle::unsettled_lines(ledger, &visit.mdtrt_id).await?;
    let request = SettleRequest {
        data: &data,
        end,
        require_total: store,
    };
    let computed = settle::compute(ctx, ledger, &visit, &lines, &request).await?;
    if !store {
        return Ok(TxOutput::read(settle::presettlement_output(
            ctx, &visit, &computed,
        )?));
    }
    if !interim && visit.endtime.is_none() {
        visit.endtime = Some(end);
    }
    let (output, setl_id) = settle::store(ctx, ledger, &mut visit, &computed, interim).await?;
    Ok(TxOutput::settled(output, setl_id))
}

/// An interim settlement needs an admission not yet discharged.
pub(crate) fn check_interim(visit: &Visit, interim: bool) -> Result<(), TxError> {
    if interim && visit.status == VisitStatus::Discharged {
        return Err(TxError::new(
            "input.data.mid_setl_flag",
            "患者已出院，须办理出院结算（mid_setl_flag 0）",
        ));
    }
    Ok(())
}

/// The end of the settled period: the discharge, else `dscgTime`, else the message time.
pub(crate) fn settlement_end(
    ctx: &Ctx<'_>,
    visit: &Visit,
    data: &SettleData,
    interim: bool,
) -> Result<chrono::NaiveDateTime, TxError> {
    let end = if let Some(endtime) = visit.endtime {
        endtime
    } else if let (false, Some(dscg)) = (interim, &data.dscg_time) {
        common::care_time(ctx, "input.data.dscgTime", dscg)?
    } else {
        ctx.now
    };
    Ok(end.max(visit.begntime))
}
