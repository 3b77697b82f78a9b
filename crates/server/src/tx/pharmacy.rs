//! Pharmacy purchases: 2101 pre-settlement, 2102 settlement (creates the visit and its lines in the
//! same message), 2103 cancel.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use yibao_ledger::LedgerView;
use yibao_ledger::{FeeLine, Visit, VisitKind, VisitStatus};
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::fees::{self, UploadLine};
use super::settle::{self, SettleData, SettleRequest};
use super::{Ctx, TxOutput};
use crate::error::TxError;

#[derive(Deserialize)]
struct PurchaseExtra {
    #[serde(deserialize_with = "lenient::string")]
    insutype: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begntime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_cert_type: Option<String>,
}

/// The purchase's lines: `feedetail[]`, or `drugdetail[]` as some provinces name it.
async fn purchase_lines(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<Vec<UploadLine>, TxError> {
    let input = &ctx.request.input;
    if input.get("feedetail").is_none() && input.get("drugdetail").is_some() {
        fees::parse_lines(ctx, ledger, "drugdetail").await
    } else {
        fees::parse_lines(ctx, ledger, "feedetail").await
    }
}

/// An unsaved pharmacy visit of the current message.
async fn purchase_visit(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    data: &SettleData,
    extra: &PurchaseExtra,
    mdtrt_id: String,
) -> Result<Visit, TxError> {
    let person = common::registered_person(ledger, "input.data.psn_no", &data.psn_no).await?;
    let insu = common::insu_row(&person, "input.data.insutype", &extra.insutype)?;
    let begntime = match &extra.begntime {
        Some(text) => common::care_time(ctx, "input.data.begntime", text)?,
        None => ctx.now,
    };
    Ok(Visit {
        mdtrt_id,
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        psn_no: data.psn_no.clone(),
        insutype: insu.insutype,
        kind: VisitKind::Pharmacy,
        med_type: common::request_med_type("input.data.med_type", data.med_type.as_deref(), "41")?,
        begntime,
        endtime: None,
        status: VisitStatus::Open,
        ipt_otp_no: String::new(),
        mdtrt_cert_type: common::request_code(
            "input.data.mdtrt_cert_type",
            extra.mdtrt_cert_type.as_deref(),
            "",
        )?,
        dise_codg: String::new(),
        referred: false,
        info: json!({ "mdtrt_cert_type": extra.mdtrt_cert_type.clone().unwrap_or_default() }),
    })
}

/// 2101 药店预结算 (nothing stored) / 2102 药店结算.
pub async fn settle(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    store: bool,
) -> Result<TxOutput, TxError> {
    let raw = node(&ctx.request.input, "data")?;
    let data: SettleData = parse(raw, "input.data")?;
    let extra: PurchaseExtra = parse(raw, "input.data")?;
    let lines = purchase_lines(ctx, ledger).await?;
    if !store {
        let visit = purchase_visit(ctx, ledger, &data, &extra, String::new()).await?;
        let (_, prepared) = fees::prepare(ctx, ledger, &visit, &lines).await?;
        let transient: Vec<Arc<FeeLine>> = prepared.into_iter().map(Arc::new).collect();
        let end = visit.begntime;
        let computed = settle::compute(
            ctx,
            ledger,
            &visit,
            &transient,
            &SettleRequest {
                data: &data,
                end,
                require_total: false,
            },
        )
        .await?;
        return Ok(TxOutput::read(settle::presettlement_output(
            ctx, &visit, &computed,
        )?));
    }
    let mdtrt_id = settle::issue_id(ctx, ledger, settle::IssuedId::Visit).await?;
    let mut visit = purchase_visit(ctx, ledger, &data, &extra, mdtrt_id).await?;
    ledger.insert_visit(&visit);
    let (_, stored) = fees::upload(ctx, ledger, &visit, &lines, false).await?;
    let end = visit.begntime;
    let computed = settle::compute(
        ctx,
        ledger,
        &visit,
        &stored,
        &SettleRequest {
            data: &data,
            end,
            require_total: true,
        },
    )
    .await?;
    let (output, setl_id) = settle::store(ctx, ledger, &mut visit, &computed, false).await?;
    Ok(TxOutput::settled(output, setl_id))
}
