//! 2503 人员慢特病备案 / 2504 人员慢特病备案撤销 / 5301 人员慢特病备案查询: a person's certified
//! chronic or special outpatient conditions (门慢门特), filed by the diagnosing institution.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_ledger::filings::{self, OpspFiling};
use yibao_ledger::LedgerView;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::render::date_text;
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

/// Longest 门慢门特病种目录代码 accepted.
const DISE_CODE_MAX_CHARS: usize = 30;

#[derive(Deserialize)]
struct FilingRequest {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(deserialize_with = "lenient::string")]
    insutype: String,
    #[serde(deserialize_with = "lenient::string")]
    opsp_dise_code: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    opsp_dise_name: Option<String>,
    #[serde(deserialize_with = "lenient::date")]
    begndate: NaiveDate,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    enddate: Option<NaiveDate>,
}

/// 2503: files the condition; the reply's `result.trt_dcla_detl_sn` names the filing.
pub async fn file(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let raw = node(&ctx.request.input, "data")?;
    let request: FilingRequest = parse(raw, "input.data")?;
    let person = common::registered_person(ledger, "input.data.psn_no", &request.psn_no).await?;
    common::insu_row(&person, "input.data.insutype", &request.insutype)?;
    if request.opsp_dise_code.chars().count() > DISE_CODE_MAX_CHARS {
        return Err(TxError::new(
            "input.data.opsp_dise_code",
            format!("超过 {DISE_CODE_MAX_CHARS} 个字符"),
        ));
    }
    let enddate = request.enddate;
    if enddate.is_some_and(|end| end < request.begndate) {
        return Err(TxError::new("input.data.enddate", "早于开始日期 begndate"));
    }
    let filing = OpspFiling {
        trt_dcla_detl_sn: String::new(),
        psn_no: request.psn_no,
        insutype: request.insutype,
        opsp_dise_code: request.opsp_dise_code,
        opsp_dise_name: request.opsp_dise_name.unwrap_or_default(),
        begndate: request.begndate,
        enddate,
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        valid: true,
        content: raw.to_string(),
    };
    let prefix = &ctx.shared.config.platform_admdvs;
    let stored = filings::file(ledger.conn(), &filing, prefix, &wire_time(ctx.now)).await?;
    Ok(TxOutput::read(common::to_output(
        &json!({ "result": { "trt_dcla_detl_sn": stored.trt_dcla_detl_sn } }),
    )?))
}

#[derive(Deserialize)]
struct CancelRequest {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(deserialize_with = "lenient::string")]
    trt_dcla_detl_sn: String,
}

/// 2504: cancels a filing this institution made.
pub async fn cancel(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    const FIELD: &str = "input.data.trt_dcla_detl_sn";
    let request: CancelRequest = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let found = filings::filing(ledger.conn(), &request.trt_dcla_detl_sn)
        .await?
        .filter(|f| f.fixmedins_code == ctx.request.fixmedins_code)
        .ok_or_else(|| {
            TxError::new(
                FIELD,
                format!("本机构没有备案 {}", request.trt_dcla_detl_sn),
            )
        })?;
    if found.psn_no != request.psn_no {
        return Err(TxError::new(
            "input.data.psn_no",
            format!(
                "{} 不是备案 {} 的参保人",
                request.psn_no, found.trt_dcla_detl_sn
            ),
        ));
    }
    if !found.valid {
        return Err(TxError::new(
            FIELD,
            format!("备案 {} 已撤销", found.trt_dcla_detl_sn),
        ));
    }
    filings::cancel(ledger.conn(), &found.trt_dcla_detl_sn).await?;
    Ok(TxOutput::read(common::empty_output()?))
}

#[derive(Deserialize)]
struct FilingQuery {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
}

/// 5301: the person's valid filings (at any institution).
pub async fn query(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let request: FilingQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    common::registered_person(ledger, "input.data.psn_no", &request.psn_no).await?;
    let rows: Vec<Value> = filings::valid_filings(ledger.conn(), &request.psn_no)
        .await?
        .into_iter()
        .map(|f| {
            json!({
                "opsp_dise_code": f.opsp_dise_code, "opsp_dise_name": f.opsp_dise_name,
                "begndate": f.begndate, "enddate": date_text(f.enddate),
                "trt_dcla_detl_sn": f.trt_dcla_detl_sn, "insutype": f.insutype,
                "fixmedins_code": f.fixmedins_code,
            })
        })
        .collect();
    Ok(TxOutput::read(common::to_output(
        &json!({ "feedetail": rows }),
    )?))
}
