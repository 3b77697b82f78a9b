//! Engine results in national field names. Amounts serialize as JSON numbers written with exactly
//! two decimals (`32040.00`), produced from integer fen without floating point; that is why the
//! reply types here are typed structs and not `serde_json::Value` (which would re-read them as floats).

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use yibao_domain::{decimal, Code, Fen, Ratio};
use yibao_policy::Policy;
use yibao_settlement::{render_step, FundRow, LineSplit, Payer, Settlement, Totals};

/// An amount that serializes as a JSON number with two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuan(pub Fen);

impl Serialize for Yuan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        raw_number(decimal::format_scaled(self.0.fen(), 2), serializer)
    }
}

/// A ratio that serializes as a JSON number with four decimals (`0.1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio4(pub Ratio);

impl Serialize for Ratio4 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        raw_number(
            decimal::format_scaled(i64::from(self.0.bp()), 4),
            serializer,
        )
    }
}

/// A unit price cap in micro-yuan; `None` is written as the platform's 999999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceCap(pub Option<i64>);

impl Serialize for PriceCap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(micro) => raw_number(
                decimal::format_scaled(micro, yibao_catalog::PRICE_SCALE_DIGITS),
                serializer,
            ),
            None => raw_number("999999".into(), serializer),
        }
    }
}

fn raw_number<S: Serializer>(text: String, serializer: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

/// The `setlinfo` amounts of a settlement, in national order.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct SetlinfoAmounts {
    pub medfee_sumamt: Yuan,
    pub fulamt_ownpay_amt: Yuan,
    pub overlmt_selfpay: Yuan,
    pub preselfpay_amt: Yuan,
    pub inscp_scp_amt: Yuan,
    pub act_pay_dedc: Yuan,
    pub hifp_pay: Yuan,
    pub pool_prop_selfpay: Ratio4,
    pub cvlserv_pay: Yuan,
    pub hifes_pay: Yuan,
    pub hifmi_pay: Yuan,
    pub hifob_pay: Yuan,
    pub maf_pay: Yuan,
    pub oth_pay: Yuan,
    pub fund_pay_sumamt: Yuan,
    pub psn_part_amt: Yuan,
    pub acct_pay: Yuan,
    pub acct_mulaid_pay: Yuan,
    pub psn_cash_pay: Yuan,
    pub hosp_part_amt: Yuan,
    pub balc: Yuan,
}

impl From<&Totals> for SetlinfoAmounts {
    fn from(t: &Totals) -> SetlinfoAmounts {
        SetlinfoAmounts {
            medfee_sumamt: Yuan(t.medfee_sumamt),
            fulamt_ownpay_amt: Yuan(t.fulamt_ownpay_amt),
            overlmt_selfpay: Yuan(t.overlmt_selfpay),
            preselfpay_amt: Yuan(t.preselfpay_amt),
            inscp_scp_amt: Yuan(t.inscp_scp_amt),
            act_pay_dedc: Yuan(t.act_pay_dedc),
            hifp_pay: Yuan(t.hifp_pay),
            pool_prop_selfpay: Ratio4(Ratio::ZERO),
            cvlserv_pay: Yuan(t.cvlserv_pay),
            hifes_pay: Yuan(t.hifes_pay),
            hifmi_pay: Yuan(t.hifmi_pay),
            hifob_pay: Yuan(t.hifob_pay),
            maf_pay: Yuan(t.maf_pay),
            oth_pay: Yuan(t.oth_pay),
            fund_pay_sumamt: Yuan(t.fund_pay_sumamt),
            psn_part_amt: Yuan(t.psn_part_amt),
            acct_pay: Yuan(t.acct_pay),
            acct_mulaid_pay: Yuan(t.acct_mulaid_pay),
            psn_cash_pay: Yuan(t.psn_cash_pay),
            hosp_part_amt: Yuan(t.hosp_part_amt),
            balc: Yuan(t.balc),
        }
    }
}

/// One `setldetail` row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SetldetailRow {
    pub fund_pay_type: Code,
    pub fund_pay_type_name: String,
    pub inscp_scp_amt: Yuan,
    pub crt_payb_lmt_amt: Option<Yuan>,
    pub fund_payamt: Yuan,
    pub setl_proc_info: String,
}

/// Name of a row's fund or account.
fn fund_name(policy: &Policy, insutype: Code, row: &FundRow) -> String {
    match row.payer {
        Payer::PersonalAccount => policy
            .scheme(insutype)
            .and_then(|s| s.account.as_ref())
            .map_or_else(String::new, |a| a.name.clone()),
        _ => policy
            .fund(row.fund_pay_type)
            .map_or_else(String::new, |f| f.name.clone()),
    }
}

/// The `setldetail` rows, each with the cap still available and the calculation that produced it.
pub fn setldetail(settlement: &Settlement, policy: &Policy, insutype: Code) -> Vec<SetldetailRow> {
    settlement
        .funds
        .iter()
        .map(|row| SetldetailRow {
            fund_pay_type: row.fund_pay_type,
            fund_pay_type_name: fund_name(policy, insutype, row),
            inscp_scp_amt: Yuan(row.inscp_scp_amt),
            crt_payb_lmt_amt: row.crt_payb_lmt_amt.map(Yuan),
            fund_payamt: Yuan(row.fund_payamt),
            setl_proc_info: settlement
                .trace
                .get(row.trace_step)
                .map(|s| render_step(s, policy, insutype))
                .unwrap_or_default(),
        })
        .collect()
}

/// One line of the per-line split (`result` of 2204/2301).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LineResult {
    pub feedetl_sn: String,
    pub det_item_fee_sumamt: Yuan,
    pub pric_uplmt_amt: PriceCap,
    pub selfpay_prop: Ratio4,
    pub fulamt_ownpay_amt: Yuan,
    pub overlmt_amt: Yuan,
    pub preselfpay_amt: Yuan,
    pub inscp_scp_amt: Yuan,
    pub chrgitm_lv: Option<String>,
    pub med_chrgitm_type: Option<String>,
    pub lmt_used_flag: &'static str,
    pub memo: &'static str,
}

/// The per-line split; `feedetl_sn` gives the hospital's serial of a line index.
pub fn line_results(lines: &[LineSplit], feedetl_sn: impl Fn(u32) -> String) -> Vec<LineResult> {
    lines
        .iter()
        .map(|line| LineResult {
            feedetl_sn: feedetl_sn(line.line),
            det_item_fee_sumamt: Yuan(line.amount),
            pric_uplmt_amt: PriceCap(line.price_cap_micro_yuan),
            selfpay_prop: Ratio4(line.selfpay_prop),
            fulamt_ownpay_amt: Yuan(line.fulamt_ownpay_amt),
            overlmt_amt: Yuan(line.overlmt_amt),
            preselfpay_amt: Yuan(line.preselfpay_amt),
            inscp_scp_amt: Yuan(line.inscp_scp_amt),
            chrgitm_lv: line.chrgitm_lv.map(|c| c.to_string()),
            med_chrgitm_type: line.med_chrgitm_type.map(|c| c.to_string()),
            lmt_used_flag: if line.restricted_use { "1" } else { "0" },
            memo: line.rule.memo(),
        })
        .collect()
}

/// The trace rendered as text, one line per step.
pub fn trace_lines(settlement: &Settlement, policy: &Policy, insutype: Code) -> Vec<String> {
    settlement
        .trace
        .iter()
        .map(|step| render_step(step, policy, insutype))
        .collect()
}
