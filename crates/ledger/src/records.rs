//! Plain records stored by the ledger: registry entries, visits, fee lines and settlements.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use yibao_domain::codes::{ClrType, ClrWay, FixmedinsType, Gend, Insutype, MedType, PsnType};
/// The amounts of a stored settlement: the one `setlinfo` amounts type of the domain.
pub use yibao_domain::SetlAmounts;
use yibao_domain::{Code, Fen, LineAmounts};
pub use yibao_enrolment::InsuStatus;
use yibao_settlement::{FundRow, LineSplit, Payer, Posting};

/// A designated medical institution or pharmacy (定点医药机构).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Institution {
    /// 定点医药机构编号 (`H` + 11 digits for hospitals); required.
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    /// 定点医药机构类型 (1 医疗机构, 2 零售药店).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "1"))]
    pub fixmedins_type: FixmedinsType,
    /// 医院等级 (`hosp_lv`, the national code the policies map to a deductible level); required
    /// for a registered institution, empty for a hospital known only by its code (a counter, a
    /// peer platform's hospital in a cancellation).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "3"))]
    pub hosp_lv: Code,
    /// The institution's region (医保区划, 6 digits); required.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "360402"))]
    pub admdvs: Code,
}

/// A gateway key of an institution: CSB access key / secret key, or TIF paasid / token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKey {
    pub access_key: String,
    pub fixmedins_code: String,
    /// `csb` or `tif`.
    pub scheme: String,
    pub secret: String,
}

/// One `insuinfo` row: the person's enrolment in one insurance type, with its insured period and
/// waiting period. The row's `psn_insu_stas` holds for the whole period. Its codes are typed
/// (stored as their text, parsed once by `registry`; a damaged value is
/// [`crate::LedgerError::Corrupt`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuRow {
    pub insutype: Insutype,
    pub psn_type: PsnType,
    /// 参保状态: 0 未参保, 1 正常, 2 暂停, 3 无效, 4 终止.
    pub psn_insu_stas: InsuStatus,
    /// 参保日期: first day of the insured period.
    pub psn_insu_date: NaiveDate,
    /// Last day of the insured period, inclusive; `None` while the period is open.
    pub insu_endtime: Option<NaiveDate>,
    /// First day benefits are payable, after any waiting period (待遇等待期); `None`: from
    /// `psn_insu_date`.
    pub benefit_begndate: Option<NaiveDate>,
    pub insuplc_admdvs: Code,
    /// 公务员标志.
    pub cvlserv_flag: bool,
    /// Personal-account balance when the person was registered (before any settlement).
    pub opening_balc: Fen,
}

/// An identity period (特困, 低保 …); `None` bounds are open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityPeriod {
    pub psn_idet_type: Code,
    pub begntime: Option<NaiveDate>,
    pub endtime: Option<NaiveDate>,
}

impl IdentityPeriod {
    /// Whether the period holds on `date`.
    pub fn holds_on(&self, date: NaiveDate) -> bool {
        self.begntime.is_none_or(|b| b <= date) && self.endtime.is_none_or(|e| date <= e)
    }
}

/// An insured person with every insurance row and identity period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub psn_no: String,
    pub psn_cert_type: Code,
    pub certno: String,
    pub psn_name: String,
    pub gend: Gend,
    pub brdy: NaiveDate,
    pub insu: Vec<InsuRow>,
    pub idet: Vec<IdentityPeriod>,
}

impl Person {
    /// The insurance row of `insutype` (its code as text), if the person has one.
    pub fn insu_row(&self, insutype: &str) -> Option<&InsuRow> {
        self.insu
            .iter()
            .find(|row| row.insutype.as_str() == insutype)
    }
}

/// What kind of visit a `mdtrt_id` denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VisitKind {
    Outpatient,
    Inpatient,
    Pharmacy,
}

impl VisitKind {
    /// Storage code.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "otp",
            VisitKind::Inpatient => "ipt",
            VisitKind::Pharmacy => "pharmacy",
        }
    }

    /// Reads a storage code.
    pub fn parse(text: &str) -> Option<VisitKind> {
        match text {
            "otp" => Some(VisitKind::Outpatient),
            "ipt" => Some(VisitKind::Inpatient),
            "pharmacy" => Some(VisitKind::Pharmacy),
            _ => None,
        }
    }
}

/// Lifecycle of a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VisitStatus {
    /// Registered or admitted; fees may be uploaded.
    Open,
    /// Inpatient discharged (2402); may still be settled.
    Discharged,
    /// Settled and not discharged: an outpatient visit with a live settlement of one of its charge
    /// batches (further batches may still be uploaded and settled), or an admission finally settled
    /// before its discharge (2402 may follow). Open again once its last live settlement is
    /// cancelled.
    Settled,
    /// An admission discharged (2402) and finally settled, in either order; discharged again once
    /// the settlement is cancelled (2305), which must come before a cancelled discharge (2405).
    DischargedSettled,
    /// Registration or admission cancelled (2202, 2404, 2601).
    Cancelled,
}

impl VisitStatus {
    /// Whether a live (final) settlement holds the visit: [`VisitStatus::Settled`] or
    /// [`VisitStatus::DischargedSettled`].
    pub fn is_settled(self) -> bool {
        matches!(self, VisitStatus::Settled | VisitStatus::DischargedSettled)
    }

    /// Storage code.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Open => "open",
            VisitStatus::Discharged => "discharged",
            VisitStatus::Settled => "settled",
            VisitStatus::DischargedSettled => "discharged_settled",
            VisitStatus::Cancelled => "cancelled",
        }
    }

    /// Reads a storage code.
    pub fn parse(text: &str) -> Option<VisitStatus> {
        match text {
            "open" => Some(VisitStatus::Open),
            "discharged" => Some(VisitStatus::Discharged),
            "settled" => Some(VisitStatus::Settled),
            "discharged_settled" => Some(VisitStatus::DischargedSettled),
            "cancelled" => Some(VisitStatus::Cancelled),
            _ => None,
        }
    }
}

/// A registration (2201), admission (2401) or pharmacy purchase (2102). Its codes and times are
/// typed: stored as the same text as ever (`flush`), parsed once when the row is read
/// (`entries::visit_of`), a damaged value being [`crate::LedgerError::Corrupt`] naming the column
/// and the visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub mdtrt_id: String,
    pub fixmedins_code: String,
    pub psn_no: String,
    pub insutype: Insutype,
    pub kind: VisitKind,
    pub med_type: MedType,
    pub begntime: NaiveDateTime,
    /// Discharge time; `None` while the visit is open.
    pub endtime: Option<NaiveDateTime>,
    pub status: VisitStatus,
    pub ipt_otp_no: String,
    /// 就诊凭证类型 of the visit (empty when not given).
    pub mdtrt_cert_type: Code,
    /// The main diagnosis (`dise_codg`; empty until given).
    pub dise_codg: String,
    /// Whether the patient was referred (`refl_flag` 1), which remote-care rules read.
    pub referred: bool,
    /// Visit details as uploaded (registration, 2203 `mdtrtinfo` + `diseinfo`, admission/discharge info).
    pub info: serde_json::Value,
}

/// One upload of a fee line (2204, 2301, the lines of a 2102): stored by its upload event and never
/// changed. Its cancellation (2205, 2302, a cancelled visit) is a later event of its own; after it,
/// the same `feedetl_sn` may be uploaded again as a new line.
#[derive(Debug, Clone, PartialEq)]
pub struct FeeLine {
    pub mdtrt_id: String,
    pub feedetl_sn: String,
    /// Upload order within the ledger (preserves the hospital's order); with `mdtrt_id` the key of
    /// the line. Issued by [`crate::LedgerView::upload_fee_lines`].
    pub upload_seq: i64,
    /// The upload event that stored the line ([`FeeLineEvent::event_seq`]); 0 for lines stored before
    /// fee-line events were kept (migration 0006). Issued by [`crate::LedgerView::upload_fee_lines`].
    pub event_seq: i64,
    pub chrg_bchno: String,
    /// For a refund line: the line it refunds; empty otherwise.
    pub init_feedetl_sn: String,
    pub det_item_fee_sumamt: Fen,
    /// The line as uploaded (national field names), JSON text.
    pub line: String,
    /// The per-line split returned to the hospital (`result` row), JSON text as sent.
    pub result: String,
    /// The split made at upload; `None` for lines stored before migration 0006.
    pub split: Option<StoredSplit>,
}

/// A fee line's split made at upload, what the engine read of the line, and what the split
/// depended on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSplit {
    /// What the split depended on (catalogue and policy versions and the engine's
    /// [`yibao_settlement::SplitBasis`]), as recorded with the upload event.
    pub basis: Arc<str>,
    /// The line as the engine read it (`amount` is `det_item_fee_sumamt`).
    pub fee: yibao_settlement::FeeLine,
    /// The engine's split; its `line` index is the line's position in its upload.
    pub split: LineSplit,
}

/// A fee line uploaded and not cancelled, with the live settlement that consumed it. Which
/// settlement consumed a line is not stored with the line: it is derived from the ledger (the lines
/// of settlements not cancelled).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveLine {
    pub line: Arc<FeeLine>,
    /// The live settlement that consumed the line; `None` while unsettled.
    pub setl_id: Option<Arc<str>>,
}

impl LiveLine {
    /// Whether no live settlement consumed the line.
    pub fn is_unsettled(&self) -> bool {
        self.setl_id.is_none()
    }
}

/// What a fee-line event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeEventKind {
    /// Fee lines uploaded (2204, 2301, the lines of a 2102).
    Upload,
    /// Fee lines cancelled (2205, 2302, or with their visit: 2202, 2404, a 2601 of a 2401).
    Cancel,
}

impl FeeEventKind {
    /// Storage code.
    pub fn as_str(self) -> &'static str {
        match self {
            FeeEventKind::Upload => "upload",
            FeeEventKind::Cancel => "cancel",
        }
    }

    /// Reads a storage code.
    pub fn parse(text: &str) -> Option<FeeEventKind> {
        match text {
            "upload" => Some(FeeEventKind::Upload),
            "cancel" => Some(FeeEventKind::Cancel),
            _ => None,
        }
    }
}

/// The message behind a fee-line event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSource {
    pub infno: String,
    pub msgid: String,
    /// When the message was received, `yyyy-MM-dd HH:mm:ss`.
    pub time: String,
}

/// A fee-line event as stored: one per upload or cancellation message and visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLineEvent {
    /// Position in the ledger's order, which the settlements' `seq` shares.
    pub event_seq: i64,
    pub mdtrt_id: String,
    pub kind: FeeEventKind,
    pub source: EventSource,
    /// An upload's split basis ([`StoredSplit::basis`]); empty for a cancellation.
    pub split_basis: String,
}

/// A fee line cancelled by a cancellation event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCancel {
    pub mdtrt_id: String,
    pub upload_seq: i64,
    /// The cancellation event ([`FeeLineEvent::event_seq`]).
    pub event_seq: i64,
}

/// One `setldetail` row as stored: the engine's row with its fund's name and the explanation of
/// its calculation as rendered when it was settled. The payer is stored as its class
/// ([`Payer::code`]); the summary column a fund pays into is the policy's, not the row's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFundRow {
    pub row: FundRow,
    pub fund_pay_type_name: String,
    pub setl_proc_info: String,
}

impl StoredFundRow {
    /// The row of a cancellation mirror ([`FundRow::negated`]), with the same name and explanation.
    pub fn negated(&self) -> StoredFundRow {
        StoredFundRow {
            row: self.row.negated(),
            ..self.clone()
        }
    }
}

/// One fee line's split as settled: its serial and the amounts of its split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRow {
    pub feedetl_sn: String,
    #[serde(flatten)]
    pub amounts: LineAmounts,
}

impl LineRow {
    /// The line of a cancellation mirror: every amount negated.
    pub fn negated(&self) -> LineRow {
        LineRow {
            feedetl_sn: self.feedetl_sn.clone(),
            amounts: self.amounts.negated(),
        }
    }
}

/// Whether a ledger entry is a settlement or the cancellation mirror of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    Settle,
    Cancel,
}

impl EntryKind {
    /// Storage code.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Settle => "settle",
            EntryKind::Cancel => "cancel",
        }
    }

    /// Reads a storage code.
    pub fn parse(text: &str) -> Option<EntryKind> {
        match text {
            "settle" => Some(EntryKind::Settle),
            "cancel" => Some(EntryKind::Cancel),
            _ => None,
        }
    }
}

/// Non-amount fields of a settlement header, typed: codes as codes, the time as a time. Stored
/// as text (see `entries::header_of` and `flush`); a stored value that does not parse is
/// [`crate::LedgerError::Corrupt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementHeader {
    pub setl_id: String,
    pub kind: EntryKind,
    /// For a cancellation, the settlement it cancels; for a reinstatement, the cancellation it
    /// mirrors; `None` for a settlement.
    pub orig_setl_id: Option<String>,
    pub infno: Code,
    pub msgid: String,
    pub fixmedins_code: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub insutype: Insutype,
    /// Accumulator year (calendar year of the visit's end).
    pub year: i64,
    pub med_type: MedType,
    /// An interim settlement of an ongoing admission (中途结算, `mid_setl_flag` 1).
    pub mid_setl_flag: bool,
    /// When the entry was made, to the second (stored `yyyy-MM-dd HH:mm:ss`).
    pub setl_time: NaiveDateTime,
    pub clr_type: ClrType,
    pub clr_way: ClrWay,
    /// The clearing agency (清算经办机构): the insured's pooling region.
    pub clr_optins: Code,
    /// The place of treatment (就医地医保区划): the institution's `admdvs`, or for a settlement
    /// made for another platform's hospital the pooling region that platform names.
    pub mdtrtarea_admvs: Code,
    /// Personal-account balance after this entry.
    pub balc: Fen,
}

impl SettlementHeader {
    /// `setl_time` as stored and answered: `yyyy-MM-dd HH:mm:ss`.
    pub fn setl_time_text(&self) -> String {
        crate::columns::time_text(Some(self.setl_time))
    }

    /// `mid_setl_flag` as stored and answered: `1` or `0`.
    pub fn mid_setl_flag_text(&self) -> &'static str {
        crate::columns::flag_text(self.mid_setl_flag)
    }
}

/// A complete ledger entry: header, amounts, fund rows, line splits and accumulator postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRecord {
    pub header: SettlementHeader,
    pub amounts: SetlAmounts,
    pub funds: Vec<StoredFundRow>,
    pub lines: Vec<LineRow>,
    pub postings: Vec<Posting>,
}

impl SettlementRecord {
    /// The mirror of an entry (a cancellation of a settlement, or the reinstatement of a
    /// cancellation): every amount, fund row, line and posting negated. The caller sets the mirror's
    /// identity (`setl_id`, kind, message, time, balance after).
    pub fn negated(&self, mirror: SettlementHeader) -> SettlementRecord {
        SettlementRecord {
            header: mirror,
            amounts: self.amounts.negated(),
            funds: self.funds.iter().map(StoredFundRow::negated).collect(),
            lines: self.lines.iter().map(LineRow::negated).collect(),
            postings: self.postings.iter().map(Posting::negated).collect(),
        }
    }

    /// Every identity this record must satisfy on its own (I1–I5 and the line totals).
    pub fn identity_violations(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .amounts
            .identity_violations()
            .iter()
            .map(ToString::to_string)
            .collect();
        let sum_class = |payer: Payer| -> Fen {
            self.funds
                .iter()
                .filter(|f| f.row.payer == payer)
                .map(|f| f.row.fund_payamt)
                .sum()
        };
        let a = &self.amounts;
        if sum_class(Payer::Fund) != a.fund_pay_sumamt {
            out.push(format!(
                "I4: fund rows sum {} != fund_pay_sumamt {}",
                sum_class(Payer::Fund),
                a.fund_pay_sumamt
            ));
        }
        if sum_class(Payer::PersonalAccount) != a.acct_pay {
            out.push(format!(
                "I4: account rows sum {} != acct_pay {}",
                sum_class(Payer::PersonalAccount),
                a.acct_pay
            ));
        }
        let hospital = sum_class(Payer::Hospital);
        if hospital != Fen::ZERO && hospital != a.hosp_part_amt {
            out.push(format!(
                "I4: hospital rows sum {hospital} != hosp_part_amt {}",
                a.hosp_part_amt
            ));
        }
        if !self.lines.is_empty() {
            let lines_total: Fen = self
                .lines
                .iter()
                .map(|l| l.amounts.det_item_fee_sumamt)
                .sum();
            if lines_total != a.medfee_sumamt {
                out.push(format!(
                    "lines total {lines_total} != medfee_sumamt {}",
                    a.medfee_sumamt
                ));
            }
        }
        out
    }
}
