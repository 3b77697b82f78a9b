//! Engine results in national field names. Amounts serialize as JSON numbers written with exactly
//! two decimals (`32040.00`), produced from integer fen without floating point; that is why the
//! reply types here are typed structs and not `serde_json::Value` (which would re-read them as floats).

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use yibao_domain::{decimal, Code, Fen, Ratio, SetlAmounts};
use yibao_policy::Policy;
use yibao_settlement::{render_step, FundRow, LineSplit, Payer, Settlement};

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

/// A quantity ×10,000 that serializes as a JSON number with four decimals (`cnt`, 16,4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity4(pub i64);

impl Serialize for Quantity4 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        raw_number(decimal::format_scaled(self.0, 4), serializer)
    }
}

/// A unit price in micro-yuan that serializes as a JSON number with six decimals (`pric`, 16,6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price6(pub i64);

impl Serialize for Price6 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        raw_number(decimal::format_scaled(self.0, 6), serializer)
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

/// The `setlinfo` amounts of a settlement with the account balance after it, written in national
/// order as yuan with two decimals (`pool_prop_selfpay` after `hifp_pay`, `balc` after
/// `hosp_part_amt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetlinfoAmounts {
    pub amounts: SetlAmounts,
    pub balc: Fen,
}

impl Serialize for SetlinfoAmounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("setlinfo", SetlAmounts::COLUMNS.len() + 2)?;
        for (column, amount) in self.amounts.columns() {
            out.serialize_field(column, &Yuan(amount))?;
            match column {
                "hifp_pay" => out.serialize_field("pool_prop_selfpay", &Ratio4(Ratio::ZERO))?,
                "hosp_part_amt" => out.serialize_field("balc", &Yuan(self.balc))?,
                _ => {}
            }
        }
        out.end()
    }
}

impl From<&Settlement> for SetlinfoAmounts {
    fn from(settlement: &Settlement) -> SetlinfoAmounts {
        SetlinfoAmounts {
            amounts: settlement.totals,
            balc: settlement.balc,
        }
    }
}

/// One `setldetail` row. `crt_payb_lmt_amt`, non-null in the spec, is 0.00 for a fund without a
/// cap.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SetldetailRow {
    pub fund_pay_type: Code,
    pub fund_pay_type_name: String,
    pub inscp_scp_amt: Yuan,
    pub crt_payb_lmt_amt: Yuan,
    pub fund_payamt: Yuan,
    pub setl_proc_info: String,
}

impl SetldetailRow {
    /// A fund row with its fund's name and the explanation of its calculation.
    pub fn new(row: &FundRow, fund_pay_type_name: String, setl_proc_info: String) -> SetldetailRow {
        SetldetailRow {
            fund_pay_type: row.fund_pay_type,
            fund_pay_type_name,
            inscp_scp_amt: Yuan(row.inscp_scp_amt),
            crt_payb_lmt_amt: Yuan(row.crt_payb_lmt_amt.unwrap_or_default()),
            fund_payamt: Yuan(row.fund_payamt),
            setl_proc_info,
        }
    }
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
        .map(|f| {
            let explanation = settlement
                .trace
                .get(f.trace_step)
                .map(|s| render_step(s, policy, insutype))
                .unwrap_or_default();
            SetldetailRow::new(&f.row, fund_name(policy, insutype, &f.row), explanation)
        })
        .collect()
}

/// One line of the per-line split (`result` of 2204/2301), every field of the spec's table. The
/// catalogue flags yibao does not hold (基本药物, 谈判药品, 儿童用药, 目录特项, 直报) are "0".
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LineResult {
    pub feedetl_sn: String,
    pub det_item_fee_sumamt: Yuan,
    pub cnt: Quantity4,
    pub pric: Price6,
    pub pric_uplmt_amt: PriceCap,
    pub selfpay_prop: Ratio4,
    pub fulamt_ownpay_amt: Yuan,
    pub overlmt_amt: Yuan,
    pub preselfpay_amt: Yuan,
    pub inscp_scp_amt: Yuan,
    pub chrgitm_lv: Option<String>,
    pub med_chrgitm_type: Option<String>,
    pub bas_medn_flag: &'static str,
    pub hi_nego_drug_flag: &'static str,
    pub chld_medc_flag: &'static str,
    pub list_sp_item_flag: &'static str,
    pub lmt_used_flag: &'static str,
    pub drt_reim_flag: &'static str,
    /// Why the line is (partly) self-paid: the engine's rule, or the real-time audit's reason.
    pub memo: std::borrow::Cow<'static, str>,
    pub exp_content: &'static str,
}

/// What a `result` row repeats of the line as uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineOrigin {
    pub feedetl_sn: String,
    /// Quantity ×10,000.
    pub cnt_e4: i64,
    pub pric_micro_yuan: i64,
}

/// The per-line split; `origin` gives the uploaded line of a line index.
pub fn line_results(lines: &[LineSplit], origin: impl Fn(u32) -> LineOrigin) -> Vec<LineResult> {
    lines
        .iter()
        .map(|line| {
            let origin = origin(line.line);
            LineResult {
                feedetl_sn: origin.feedetl_sn,
                det_item_fee_sumamt: Yuan(line.amounts.det_item_fee_sumamt),
                cnt: Quantity4(origin.cnt_e4),
                pric: Price6(origin.pric_micro_yuan),
                pric_uplmt_amt: PriceCap(line.price_cap_micro_yuan),
                selfpay_prop: Ratio4(line.selfpay_prop),
                fulamt_ownpay_amt: Yuan(line.amounts.fulamt_ownpay_amt),
                overlmt_amt: Yuan(line.amounts.overlmt_amt),
                preselfpay_amt: Yuan(line.amounts.preselfpay_amt),
                inscp_scp_amt: Yuan(line.amounts.inscp_scp_amt),
                chrgitm_lv: line.chrgitm_lv.map(|c| c.to_string()),
                med_chrgitm_type: line.med_chrgitm_type.map(|c| c.to_string()),
                bas_medn_flag: "0",
                hi_nego_drug_flag: "0",
                chld_medc_flag: "0",
                list_sp_item_flag: "0",
                lmt_used_flag: if line.restricted_use { "1" } else { "0" },
                drt_reim_flag: "0",
                memo: line.rule.memo().into(),
                exp_content: "",
            }
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
