//! The transactions behind `callService`, dispatched on `infno`. Every transaction works on a
//! [`LedgerView`]: read transactions on a view over a pooled connection; write transactions on the
//! ledger writer's view (see [`crate::writer`]), whose writes are kept only if the transaction
//! succeeds, so each is all-or-nothing and settlements of one person never interleave.

mod common;
mod fees;
mod inpatient;
mod outpatient;
mod pharmacy;
mod query;
mod render;
mod session;
mod settle;
mod stay;

use chrono::NaiveDateTime;
use serde_json::value::RawValue;
use yibao_ledger::{Institution, LedgerView};

use crate::envelope::Request;
use crate::error::TxError;
use crate::state::Shared;

/// Everything a transaction may read about its message.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub request: &'a Request,
    /// The registered institution named by `fixmedins_code`.
    pub institution: &'a Institution,
    /// When the message was received (settlement times, issued ids).
    pub now: NaiveDateTime,
}

/// What a transaction did besides its reply, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    Settled,
    Cancelled,
}

/// A successful transaction: its `output` and, for writes, what it created or changed.
pub struct TxOutput {
    pub output: Box<RawValue>,
    /// The `mdtrt_id` or `setl_id` affected (what a 2601 of this message reverses); empty for reads.
    pub effect_ref: String,
    pub effect: Effect,
}

impl TxOutput {
    fn read(output: Box<RawValue>) -> TxOutput {
        TxOutput {
            output,
            effect_ref: String::new(),
            effect: Effect::None,
        }
    }

    fn write(output: Box<RawValue>, effect_ref: String) -> TxOutput {
        TxOutput {
            output,
            effect_ref,
            effect: Effect::None,
        }
    }

    fn settled(output: Box<RawValue>, setl_id: String) -> TxOutput {
        TxOutput {
            output,
            effect_ref: setl_id,
            effect: Effect::Settled,
        }
    }

    fn cancelled(output: Box<RawValue>, setl_id: String) -> TxOutput {
        TxOutput {
            output,
            effect_ref: setl_id,
            effect: Effect::Cancelled,
        }
    }
}

/// Whether a transaction only reads or changes state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The access of a known `infno`; `None` for transactions this service does not implement.
pub fn access(infno: &str) -> Option<Access> {
    match infno {
        "9001" | "9002" | "1101" | "2206" | "2303" | "2101" | "5203" | "5204" | "5206" | "3201"
        | "3202" => Some(Access::Read),
        "2201" | "2202" | "2203" | "2204" | "2205" | "2207" | "2208" | "2401" | "2402" | "2403"
        | "2404" | "2405" | "2301" | "2302" | "2304" | "2305" | "2102" | "2103" | "2601" => {
            Some(Access::Write)
        }
        _ => None,
    }
}

/// Runs the transaction named by the message's `infno`.
pub async fn run(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    match ctx.request.infno.as_str() {
        "9001" => session::sign_in(ctx).await,
        "9002" => session::sign_out(ctx).await,
        "1101" => session::person_info(ctx, ledger).await,
        "5206" => session::accumulators(ctx, ledger).await,
        "2201" => outpatient::register(ctx, ledger).await,
        "2202" => outpatient::cancel_registration(ctx, ledger).await,
        "2203" => outpatient::visit_info(ctx, ledger).await,
        "2204" => outpatient::upload_fees(ctx, ledger).await,
        "2205" => outpatient::cancel_fees(ctx, ledger).await,
        "2206" => outpatient::settle(ctx, ledger, false).await,
        "2207" => outpatient::settle(ctx, ledger, true).await,
        "2208" => outpatient::cancel_settlement(ctx, ledger, &["2207"]).await,
        "2401" => inpatient::admit(ctx, ledger).await,
        "2402" => inpatient::discharge(ctx, ledger).await,
        "2403" => inpatient::change(ctx, ledger).await,
        "2404" => inpatient::cancel_admission(ctx, ledger).await,
        "2405" => inpatient::cancel_discharge(ctx, ledger).await,
        "2301" => inpatient::upload_fees(ctx, ledger).await,
        "2302" => inpatient::cancel_fees(ctx, ledger).await,
        "2303" => inpatient::settle(ctx, ledger, false).await,
        "2304" => inpatient::settle(ctx, ledger, true).await,
        "2305" => outpatient::cancel_settlement(ctx, ledger, &["2304"]).await,
        "2101" => pharmacy::settle(ctx, ledger, false).await,
        "2102" => pharmacy::settle(ctx, ledger, true).await,
        "2103" => outpatient::cancel_settlement(ctx, ledger, &["2102"]).await,
        "2601" => query::reverse(ctx, ledger).await,
        "5203" => query::settlement_info(ctx, ledger).await,
        "5204" => query::fee_details(ctx, ledger).await,
        "3201" => query::reconcile_totals(ctx, ledger).await,
        "3202" => query::reconcile_detail(ctx, ledger).await,
        other => Err(TxError::new(
            "infno",
            format!("`{other}` is not a transaction this service implements"),
        )),
    }
}
