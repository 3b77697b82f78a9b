//! Rendering of settlement records as `setlinfo` + `setldetail`: one path for settlements,
//! pre-settlements, cancellations and queries, so a stored entry always renders the same way.

use chrono::{Datelike, NaiveDate};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use yibao_domain::Code;
use yibao_ledger::{InsuRow, Person, SettlementRecord, StoredFundRow};
use yibao_wire::lenient::parse_datetime;
use yibao_wire::render::{SetldetailRow, SetlinfoAmounts};

use super::common::to_output;
use crate::error::TxError;

/// Age in years with one decimal, as a JSON number (`34.0`).
#[derive(Debug, Clone, Copy)]
pub struct Age(pub u32);

impl Serialize for Age {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw =
            RawValue::from_string(format!("{}.0", self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// A flag as the interface writes it: `1` or `0`.
pub fn flag_text(flag: bool) -> &'static str {
    if flag {
        "1"
    } else {
        "0"
    }
}

/// A date as the interface writes it (`yyyy-MM-dd`), empty when there is none.
pub fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

/// Whole years from `birth` to `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// `setlinfo`.
#[derive(Serialize)]
pub struct Setlinfo<'a> {
    pub mdtrt_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setl_id: Option<&'a str>,
    pub psn_no: &'a str,
    pub psn_name: &'a str,
    pub psn_cert_type: Code,
    pub certno: &'a str,
    pub gend: Code,
    pub naty: &'static str,
    pub brdy: NaiveDate,
    pub age: Age,
    pub insutype: &'a str,
    pub psn_type: Code,
    pub cvlserv_flag: &'static str,
    pub setl_time: &'a str,
    pub mdtrt_cert_type: &'a str,
    pub med_type: &'a str,
    #[serde(flatten)]
    pub amounts: SetlinfoAmounts,
    pub medins_setl_id: &'a str,
    pub clr_optins: &'a str,
    pub clr_way: &'a str,
    pub clr_type: &'a str,
}

/// `setlinfo` + `setldetail`.
#[derive(Serialize)]
pub struct SettlementOutput<'a> {
    pub setlinfo: Setlinfo<'a>,
    pub setldetail: Vec<SetldetailRow>,
}

fn detail_row(stored: &StoredFundRow) -> SetldetailRow {
    SetldetailRow::new(
        &stored.row,
        stored.fund_pay_type_name.clone(),
        stored.setl_proc_info.clone(),
    )
}

/// Who and what a rendered settlement is about, beyond the record itself.
pub struct RenderContext<'a> {
    pub person: &'a Person,
    pub insu: &'a InsuRow,
    pub mdtrt_cert_type: &'a str,
    /// Pre-settlements carry no `setl_id`.
    pub presettlement: bool,
}

/// The `output` of a settlement, pre-settlement, cancellation or settlement query.
pub fn settlement_output(
    record: &SettlementRecord,
    context: &RenderContext<'_>,
) -> Result<Box<RawValue>, TxError> {
    let h = &record.header;
    let setl_date = parse_datetime(&h.setl_time)
        .map(|t| t.date())
        .unwrap_or_default();
    let person = context.person;
    let setlinfo = Setlinfo {
        mdtrt_id: &h.mdtrt_id,
        setl_id: (!context.presettlement).then_some(h.setl_id.as_str()),
        psn_no: &person.psn_no,
        psn_name: &person.psn_name,
        psn_cert_type: person.psn_cert_type,
        certno: &person.certno,
        gend: person.gend,
        naty: "",
        brdy: person.brdy,
        age: Age(age_on(person.brdy, setl_date)),
        insutype: &h.insutype,
        psn_type: context.insu.psn_type,
        cvlserv_flag: flag_text(context.insu.cvlserv_flag),
        setl_time: &h.setl_time,
        mdtrt_cert_type: context.mdtrt_cert_type,
        med_type: &h.med_type,
        amounts: SetlinfoAmounts {
            amounts: record.amounts,
            balc: h.balc,
        },
        medins_setl_id: &h.msgid,
        clr_optins: &h.clr_optins,
        clr_way: &h.clr_way,
        clr_type: &h.clr_type,
    };
    let output = SettlementOutput {
        setlinfo,
        setldetail: record.funds.iter().map(detail_row).collect(),
    };
    to_output(&output)
}

/// 清算类别 of a medical type.
pub fn clr_type_of(med_type: &str) -> &'static str {
    match med_type {
        "11" => "11",
        "12" => "12",
        "13" => "13",
        "14" => "14",
        "21" => "21",
        "22" => "22",
        "28" => "28",
        "41" => "41",
        "51" => "53",
        _ => "99",
    }
}
