//! Outpatient transactions: 2201/2202 registration and its cancel, 2203 visit details, 2204/2205 fee
//! upload and cancel, 2206/2207/2208 pre-settlement, settlement and settlement cancel.

use serde::Deserialize;
use serde_json::{json, Value};
use yibao_domain::codes::MedType;
use yibao_ledger::LedgerView;
use yibao_ledger::{Visit, VisitKind, VisitStatus};
use yibao_wire::lenient;

use super::batch;
use super::common::{self, node, parse};
use super::fees::{self, Selector};
use super::settle::{self, CancelRequest, SettleData, SettleRequest};
use super::{Ctx, TxOutput};
use crate::error::TxError;

#[derive(Deserialize)]
struct Registration {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(deserialize_with = "lenient::string")]
    insutype: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begntime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_cert_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    ipt_otp_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_type: Option<String>,
}

/// 2201 门诊挂号: opens an outpatient visit.
pub async fn register(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let data = node(&ctx.request.input, "data")?;
    let reg: Registration = parse(data, "input.data")?;
    let person = common::registered_person(ledger, "input.data.psn_no", &reg.psn_no).await?;
    let insu = common::insu_row(&person, "input.data.insutype", &reg.insutype)?;
    let begntime = match &reg.begntime {
        Some(text) => common::care_time(ctx, "input.data.begntime", text)?,
        None => ctx.now,
    };
    common::check_card(
        ctx,
        "input.data.psn_no",
        &reg.psn_no,
        begntime.date(),
        "挂号",
    )?;
    let mdtrt_id = settle::issue_id(ctx, ledger, settle::IssuedId::Visit).await?;
    let visit = Visit {
        mdtrt_id: mdtrt_id.clone(),
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        psn_no: reg.psn_no.clone(),
        insutype: insu.insutype,
        kind: VisitKind::Outpatient,
        med_type: common::request_med_type("input.data.med_type", reg.med_type.as_deref(), "11")?,
        begntime,
        endtime: None,
        status: VisitStatus::Open,
        ipt_otp_no: reg.ipt_otp_no.clone().unwrap_or_default(),
        mdtrt_cert_type: common::request_code(
            "input.data.mdtrt_cert_type",
            reg.mdtrt_cert_type.as_deref(),
            "",
        )?,
        dise_codg: String::new(),
        referred: false,
        info: json!({ "mdtrt_cert_type": reg.mdtrt_cert_type.clone().unwrap_or_default() }),
    };
    ledger.insert_visit(&visit);
    let output = json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": reg.psn_no, "ipt_otp_no": visit.ipt_otp_no, "exp_content": "" } });
    Ok(TxOutput::write(common::to_output(&output)?, mdtrt_id))
}

#[derive(Deserialize)]
struct VisitRef {
    #[serde(deserialize_with = "lenient::string")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    chrg_bchno: Option<String>,
}

/// A visit of this institution named by `input.data`, with its person checked.
async fn referenced_visit(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    kind: VisitKind,
) -> Result<(Visit, VisitRef), TxError> {
    let reference: VisitRef = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let visit =
        common::owned_visit(ctx, ledger, "input.data.mdtrt_id", &reference.mdtrt_id).await?;
    common::check_visit_person(&visit, "input.data.psn_no", reference.psn_no.as_deref())?;
    if visit.kind != kind {
        return Err(TxError::new(
            "input.data.mdtrt_id",
            format!(
                "就诊 {} 不是{}就诊",
                visit.mdtrt_id,
                common::kind_text(kind)
            ),
        ));
    }
    Ok((visit, reference))
}

/// 2202 门诊挂号撤销: cancels an unsettled registration.
pub async fn cancel_registration(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let (mut visit, _) = referenced_visit(ctx, ledger, VisitKind::Outpatient).await?;
    if visit.status != VisitStatus::Open {
        return Err(TxError::new(
            "input.data.mdtrt_id",
            format!(
                "就诊 {} {}，只有在诊的挂号可以撤销",
                visit.mdtrt_id,
                common::status_text(visit.status)
            ),
        ));
    }
    fees::discard_unsettled(ctx, ledger, &visit, "input.data.mdtrt_id").await?;
    visit.status = VisitStatus::Cancelled;
    ledger.update_visit(&visit);
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

#[derive(Deserialize)]
struct MdtrtInfo {
    #[serde(deserialize_with = "lenient::string")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    med_type: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begntime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dise_codg: Option<String>,
}

/// Records `mdtrtinfo` + `diseinfo` on a visit (2203; also the admission change 2403): the facts
/// settlement reads (`med_type`, `dise_codg`, `refl_flag`) and the details as uploaded.
pub fn apply_visit_info(
    visit: &mut Visit,
    info: &Value,
    diseinfo: Option<&Value>,
    med_type: Option<MedType>,
    dise_codg: Option<&str>,
) {
    if let Some(med_type) = med_type {
        visit.med_type = med_type;
    }
    if let Some(refl_flag) = info.get("refl_flag") {
        visit.referred = crate::envelope::scalar_text(Some(refl_flag)) == "1";
    }
    if let Some(dise) = dise_codg {
        visit.dise_codg = dise.to_string();
    }
    if let Value::Object(map) = &mut visit.info {
        map.insert("mdtrtinfo".into(), info.clone());
        if let Some(dise) = dise_codg {
            map.insert("dise_codg".into(), Value::String(dise.to_string()));
        }
        if let Some(diseinfo) = diseinfo {
            map.insert("diseinfo".into(), diseinfo.clone());
        }
    }
}

/// 2203 门诊就诊信息上传: medical type, diagnoses.
pub async fn visit_info(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let raw = common::single(node(&ctx.request.input, "mdtrtinfo")?, "input.mdtrtinfo")?;
    let info: MdtrtInfo = parse(raw, "input.mdtrtinfo")?;
    let mut visit =
        common::owned_visit(ctx, ledger, "input.mdtrtinfo.mdtrt_id", &info.mdtrt_id).await?;
    common::check_visit_person(&visit, "input.mdtrtinfo.psn_no", info.psn_no.as_deref())?;
    let open = matches!(visit.status, VisitStatus::Open | VisitStatus::Settled);
    if visit.kind != VisitKind::Outpatient || !open {
        return Err(TxError::new(
            "input.mdtrtinfo.mdtrt_id",
            format!(
                "就诊 {} 不是可上传就诊信息的门诊就诊（{}）",
                visit.mdtrt_id,
                common::status_text(visit.status)
            ),
        ));
    }
    if let Some(begntime) = &info.begntime {
        visit.begntime = common::care_time(ctx, "input.mdtrtinfo.begntime", begntime)?;
    }
    let med_type = common::request_med_type("input.mdtrtinfo.med_type", Some(&info.med_type), "")?;
    apply_visit_info(
        &mut visit,
        raw,
        ctx.request.input.get("diseinfo"),
        Some(med_type),
        info.dise_codg.as_deref(),
    );
    ledger.update_visit(&visit);
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

/// 2204 门诊费用明细上传: stores the lines and replies with their split.
pub async fn upload_fees(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    fees::upload_transaction(
        ctx,
        ledger,
        VisitKind::Outpatient,
        false,
        "不是门诊就诊（住院费用请用 2301 上传）",
    )
    .await
}

/// 2205 门诊费用明细撤销: `chrg_bchno` "0000" cancels every unsettled line.
pub async fn cancel_fees(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let (visit, reference) = referenced_visit(ctx, ledger, VisitKind::Outpatient).await?;
    let batch = reference
        .chrg_bchno
        .as_deref()
        .ok_or_else(|| TxError::new("input.data.chrg_bchno", "不能为空（\"0000\" 表示全部）"))?;
    let selector = if batch == "0000" {
        Selector::All
    } else {
        Selector::Batch(batch)
    };
    fees::cancel(ctx, ledger, &visit, "input.data.chrg_bchno", selector).await?;
    Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
}

/// The registration a settlement request names: open, or with charge batches settled already
/// (another batch may be settled).
pub(crate) async fn settleable_visit(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    data: &SettleData,
) -> Result<Visit, TxError> {
    let mdtrt_id = data
        .mdtrt_id
        .as_deref()
        .ok_or_else(|| TxError::new("input.data.mdtrt_id", "不能为空"))?;
    let visit = common::owned_visit(ctx, ledger, "input.data.mdtrt_id", mdtrt_id).await?;
    common::check_visit_person(&visit, "input.data.psn_no", Some(&data.psn_no))?;
    if visit.kind != VisitKind::Outpatient {
        return Err(TxError::new(
            "input.data.mdtrt_id",
            format!("就诊 {mdtrt_id} 不是门诊就诊"),
        ));
    }
    if let Some(insutype) = &data.insutype {
        if insutype.as_str() != visit.insutype.as_str() {
            return Err(TxError::new(
                "input.data.insutype",
                format!("{insutype} 与就诊的险种 {} 不一致", visit.insutype),
            ));
        }
    }
    match visit.status {
        VisitStatus::Open | VisitStatus::Settled => Ok(visit),
        status => Err(TxError::new(
            "input.data.mdtrt_id",
            format!("就诊 {mdtrt_id} {}，不能结算", common::status_text(status)),
        )),
    }
}

/// 2206 门诊预结算 / 2207 门诊结算 of one charge batch (`chrg_bchno`), or of every unsettled line
/// without one ([`batch::lines_to_settle`]).
pub async fn settle(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    store: bool,
) -> Result<TxOutput, TxError> {
    let data: SettleData = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let mut visit = settleable_visit(ctx, ledger, &data).await?;
    if let Some(med_type) = &data.med_type {
        visit.med_type = common::request_med_type("input.data.med_type", Some(med_type), "")?;
    }
    let end = visit.begntime;
    let live = ledger.fee_lines(&visit.mdtrt_id).await?;
    let lines = batch::lines_to_settle(&visit, &live, data.chrg_bchno.as_deref())?;
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
    let (output, setl_id) = settle::store(ctx, ledger, &mut visit, &computed, false).await?;
    Ok(TxOutput::settled(output, setl_id))
}

#[derive(Deserialize)]
struct CancelData {
    #[serde(deserialize_with = "lenient::string")]
    setl_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
}

/// 2208 门诊结算撤销, 2305 住院结算撤销, 2103 药店结算撤销: the negated mirror of a settlement.
pub async fn cancel_settlement(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    cancels: &[&str],
) -> Result<TxOutput, TxError> {
    let data: CancelData = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let request = CancelRequest {
        field: "input.data.setl_id",
        setl_id: &data.setl_id,
        cancels,
        mdtrt_id: data.mdtrt_id.as_deref(),
        psn_no: data.psn_no.as_deref(),
    };
    let (output, setl_id) = settle::cancel(ctx, ledger, &request).await?;
    Ok(TxOutput::cancelled(output, setl_id))
}
