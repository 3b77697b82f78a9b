//! Rendering of settlement records as `setlinfo` + `setldetail`: one path for settlements,
//! pre-settlements, cancellations and queries, so a stored entry always renders the same way.

use chrono::{Datelike, NaiveDate};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use yibao_domain::codes::{ClrType, ClrWay, Gend, Insutype, MedType, PsnType};
use yibao_domain::Code;
use yibao_ledger::{
    EntryKind, Institution, InsuRow, Person, SettlementRecord, StoredFundRow, Visit,
};
use yibao_wire::render::{SetldetailRow, SetlinfoAmounts, Yuan};

use super::common::to_output;
use crate::envelope::WireTime;
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
    pub gend: Gend,
    pub naty: &'static str,
    pub brdy: NaiveDate,
    pub age: Age,
    pub insutype: Insutype,
    pub psn_type: PsnType,
    pub cvlserv_flag: &'static str,
    pub setl_time: WireTime,
    pub mdtrt_cert_type: &'a str,
    pub med_type: MedType,
    #[serde(flatten)]
    pub amounts: SetlinfoAmounts,
    pub medins_setl_id: &'a str,
    pub clr_optins: Code,
    pub clr_way: ClrWay,
    pub clr_type: ClrType,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<CancellationFields<'a>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub query: Option<QueryFields<'a>>,
}

/// The `setlinfo` fields of a cancellation (2208, 2305, 2103) beyond a settlement's.
#[derive(Serialize)]
pub struct CancellationFields<'a> {
    /// The Hunan table's name of the cash column (real replies use `psn_cash_pay`; both are sent).
    pub pdn_cash_pay: Yuan,
    /// 人员参保关系ID: the person's insurance row (`psn_no` + `insutype`).
    pub psn_insu_rlts_id: String,
    pub insu_admdvs: Code,
    pub begndate: NaiveDate,
    pub enddate: String,
    pub mdtrt_cert_no: &'a str,
    pub setl_type: &'static str,
    /// 本次起付线: the deductible the cancelled settlement applied, negated.
    pub crt_dedc: Yuan,
    pub invono: &'a str,
    pub exp_content: &'static str,
}

/// The `setlinfo` fields of a settlement query (5203) beyond a settlement's.
#[derive(Serialize)]
pub struct QueryFields<'a> {
    pub flxempe_flag: &'static str,
    pub nwb_flag: &'static str,
    pub insu_optins: Code,
    pub emp_name: &'static str,
    /// 支付地点类别: 2, settled at the designated institution.
    pub pay_loc: &'static str,
    pub fixmedins_code: &'a str,
    pub fixmedins_name: &'a str,
    pub hosp_lv: &'a str,
    pub fixmedins_poolarea: &'a str,
    pub lmtpric_hosp_lv: &'a str,
    pub dedc_hosp_lv: &'static str,
    pub begndate: NaiveDate,
    pub enddate: NaiveDate,
    pub psn_pay: Yuan,
    pub cash_payamt: Yuan,
    /// 1 for a cancellation (退费结算), 0 for a settlement.
    pub refd_setl_flag: &'static str,
    pub year: String,
    pub dise_codg: &'a str,
    pub dise_name: &'a str,
    pub invono: &'a str,
    pub opter_id: &'static str,
    pub opter_name: &'static str,
    pub opt_time: &'static str,
}

/// What a rendering adds to a settlement's `setlinfo`.
pub enum Detail<'a> {
    /// A settlement or pre-settlement as made.
    Settlement,
    /// A cancellation of a settlement of `visit`.
    Cancellation { visit: &'a Visit },
    /// A stored entry queried (5203): the visit and the institution that settled it.
    Query {
        visit: &'a Visit,
        institution: &'a Institution,
    },
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
    pub detail: Detail<'a>,
}

/// The `output` of a settlement, pre-settlement, cancellation or settlement query.
pub fn settlement_output(
    record: &SettlementRecord,
    context: &RenderContext<'_>,
) -> Result<Box<RawValue>, TxError> {
    let h = &record.header;
    let setl_date = h.setl_time.date();
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
        insutype: h.insutype,
        psn_type: context.insu.psn_type,
        cvlserv_flag: flag_text(context.insu.cvlserv_flag),
        setl_time: WireTime(h.setl_time),
        mdtrt_cert_type: context.mdtrt_cert_type,
        med_type: h.med_type,
        amounts: SetlinfoAmounts {
            amounts: record.amounts,
            balc: h.balc,
        },
        medins_setl_id: &h.msgid,
        clr_optins: h.clr_optins,
        clr_way: h.clr_way,
        clr_type: h.clr_type,
        cancellation: None,
        query: None,
    };
    let setlinfo = match &context.detail {
        Detail::Settlement => setlinfo,
        Detail::Cancellation { visit } => Setlinfo {
            cancellation: Some(cancellation_fields(record, context, visit)),
            ..setlinfo
        },
        Detail::Query { visit, institution } => Setlinfo {
            query: Some(query_fields(record, context, visit, institution, setl_date)),
            ..setlinfo
        },
    };
    let output = SettlementOutput {
        setlinfo,
        setldetail: record.funds.iter().map(detail_row).collect(),
    };
    to_output(&output)
}

fn cancellation_fields<'a>(
    record: &SettlementRecord,
    context: &RenderContext<'a>,
    visit: &'a Visit,
) -> CancellationFields<'a> {
    CancellationFields {
        pdn_cash_pay: Yuan(record.amounts.psn_cash_pay),
        psn_insu_rlts_id: format!("{}{}", context.person.psn_no, context.insu.insutype),
        insu_admdvs: context.insu.insuplc_admdvs,
        begndate: visit.begntime.date(),
        enddate: visit
            .endtime
            .map(|t| t.date().to_string())
            .unwrap_or_default(),
        mdtrt_cert_no: uploaded_text(visit, "mdtrt_cert_no"),
        setl_type: "",
        crt_dedc: Yuan(record.amounts.act_pay_dedc),
        invono: "",
        exp_content: "",
    }
}

fn query_fields<'a>(
    record: &SettlementRecord,
    context: &RenderContext<'a>,
    visit: &'a Visit,
    institution: &'a Institution,
    setl_date: NaiveDate,
) -> QueryFields<'a> {
    QueryFields {
        flxempe_flag: "",
        nwb_flag: "",
        insu_optins: context.insu.insuplc_admdvs,
        emp_name: "",
        pay_loc: "2",
        fixmedins_code: &institution.fixmedins_code,
        fixmedins_name: &institution.fixmedins_name,
        hosp_lv: institution.hosp_lv.as_str(),
        fixmedins_poolarea: institution.admdvs.as_str(),
        lmtpric_hosp_lv: institution.hosp_lv.as_str(),
        dedc_hosp_lv: "",
        begndate: visit.begntime.date(),
        enddate: visit.endtime.map_or(setl_date, |t| t.date()),
        psn_pay: Yuan(record.amounts.psn_part_amt),
        cash_payamt: Yuan(record.amounts.psn_cash_pay),
        refd_setl_flag: flag_text(record.header.kind == EntryKind::Cancel),
        year: record.header.year.to_string(),
        dise_codg: &visit.dise_codg,
        dise_name: uploaded_text(visit, "dise_name"),
        invono: "",
        opter_id: "",
        opter_name: "",
        opt_time: "",
    }
}

/// A text the hospital uploaded with the visit (registration, 2203/2401 `mdtrtinfo`); empty when
/// it sent none.
fn uploaded_text<'a>(visit: &'a Visit, field: &str) -> &'a str {
    visit
        .info
        .get("mdtrtinfo")
        .and_then(|node| node.get(field))
        .or_else(|| visit.info.get(field))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}
