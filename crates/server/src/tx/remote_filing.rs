//! 2501 转院备案 / 2502 转院备案撤销 / 2505 人员异地备案 / 2506 人员异地备案撤销: filings of the
//! insured platform's 异地就医 register ([`crate::filing_register`]), made by an institution.

use serde::Deserialize;
use serde_json::json;
use yibao_ledger::remote_filings::{self, FilingSource};
use yibao_ledger::LedgerView;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;
use crate::filing_register::{self, Filer, FilingRequest};

/// 2501 (`input.refmedin`) or 2505 (`input.data`): files; the reply's `result.trt_dcla_detl_sn`
/// names the filing.
pub async fn file(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    source: FilingSource,
) -> Result<TxOutput, TxError> {
    let name = match source {
        FilingSource::Referral => "refmedin",
        _ => "data",
    };
    let path = format!("input.{name}");
    let raw = common::single(node(&ctx.request.input, name)?, &path)?;
    let request: FilingRequest = parse(raw, &path)?;
    let person =
        common::registered_person(ledger, &format!("{path}.psn_no"), &request.psn_no).await?;
    let filer = Filer {
        source,
        path: &path,
        fixmedins_code: &ctx.request.fixmedins_code,
        operator: "",
    };
    let now = wire_time(ctx.now);
    let regions = ctx.shared.regions();
    let filing =
        filing_register::check(&regions, &person, &request, &filer, raw.to_string(), &now)?;
    let stored = remote_filings::file(ledger.conn(), &filing).await?;
    Ok(TxOutput::read(common::to_output(&json!({
        "result": {
            "trt_dcla_detl_sn": stored.trt_dcla_detl_sn,
            "begndate": stored.begndate.to_string(),
            "enddate": stored.enddate.map(|d| d.to_string()).unwrap_or_default(),
        }
    }))?))
}

#[derive(Deserialize)]
struct CancelRequest {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(deserialize_with = "lenient::string")]
    trt_dcla_detl_sn: String,
}

/// 2502 / 2506: cancels a filing this institution made (of the kind the transaction files).
pub async fn cancel(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    source: FilingSource,
) -> Result<TxOutput, TxError> {
    const FIELD: &str = "input.data.trt_dcla_detl_sn";
    let raw = common::single(node(&ctx.request.input, "data")?, "input.data")?;
    let request: CancelRequest = parse(raw, "input.data")?;
    let found = remote_filings::filing(ledger.conn(), &request.trt_dcla_detl_sn)
        .await?
        .filter(|f| f.fixmedins_code == ctx.request.fixmedins_code && f.source == source)
        .ok_or_else(|| {
            TxError::new(
                FIELD,
                format!("本机构没有此类备案 {}", request.trt_dcla_detl_sn),
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
    if !remote_filings::cancel(ledger.conn(), &found.trt_dcla_detl_sn, &wire_time(ctx.now)).await? {
        return Err(TxError::new(
            FIELD,
            format!("备案 {} 已撤销", found.trt_dcla_detl_sn),
        ));
    }
    Ok(TxOutput::read(common::empty_output()?))
}
