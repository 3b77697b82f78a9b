//! 2601 冲正: reverses the effect of an earlier message, as the transaction table says
//! ([`super::TxSpec::reversal`]): a settlement is cancelled by a negated mirror record, an admission
//! is cancelled, a cancellation is undone by the negation of its mirror (the settlement is live
//! again).

use serde::Deserialize;
use yibao_ledger::LedgerView;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::inpatient;
use super::settle::{self, CancelRequest};
use super::{Ctx, Reversal, TxOutput, TRANSACTIONS};
use crate::error::TxError;

/// The transactions a 2601 may reverse, for messages.
fn reversible_infnos() -> String {
    TRANSACTIONS
        .iter()
        .filter(|spec| spec.reversal.is_some())
        .map(|spec| spec.infno)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Deserialize)]
struct ReversalRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    omsgid: String,
    #[serde(deserialize_with = "lenient::string")]
    oinfno: String,
}

/// 2601 冲正: reverses the effect of an earlier message of this institution.
pub async fn reverse(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let data: ReversalRequest = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let original = ledger
        .stored_message(&ctx.request.fixmedins_code, &data.omsgid)
        .await?
        .ok_or_else(|| {
            TxError::new(
                "input.data.omsgid",
                format!("本机构没有报文ID为 {} 且产生了业务数据的报文", data.omsgid),
            )
        })?;
    if original.infno != data.oinfno {
        return Err(TxError::new(
            "input.data.oinfno",
            format!(
                "报文 {} 是 {} 交易，不是 {} 交易",
                data.omsgid, original.infno, data.oinfno
            ),
        ));
    }
    let reversal = super::spec(&original.infno).and_then(|spec| spec.reversal);
    match reversal {
        Some(Reversal::CancelSettlement) => {
            let request = CancelRequest {
                field: "input.data.omsgid",
                setl_id: &original.effect_ref,
                cancels: &[original.infno.as_str()],
                mdtrt_id: None,
                psn_no: data.psn_no.as_deref(),
            };
            let (_, setl_id) = settle::cancel(ctx, ledger, &request).await?;
            Ok(TxOutput {
                effect: super::Effect::Cancelled,
                ..TxOutput::write(common::empty_output()?, setl_id)
            })
        }
        Some(Reversal::CancelAdmission) => {
            let mut visit =
                common::owned_visit(ctx, ledger, "input.data.omsgid", &original.effect_ref).await?;
            common::check_visit_person(&visit, "input.data.psn_no", data.psn_no.as_deref())?;
            inpatient::cancel_admission_of(ctx, ledger, &mut visit, "input.data.omsgid").await?;
            Ok(TxOutput::write(common::empty_output()?, visit.mdtrt_id))
        }
        Some(Reversal::ReinstateSettlement) => {
            let setl_id =
                settle::reinstate(ctx, ledger, &original.effect_ref, data.psn_no.as_deref())
                    .await?;
            Ok(TxOutput {
                effect: super::Effect::Settled,
                ..TxOutput::write(common::empty_output()?, setl_id)
            })
        }
        None => Err(TxError::new(
            "input.data.oinfno",
            format!(
                "{} 交易不能冲正（可冲正的交易：{}）",
                original.infno,
                reversible_infnos()
            ),
        )),
    }
}
