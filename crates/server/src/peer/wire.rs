//! The bodies of the inter-platform API (`/peer/v1/*`), in JSON. Amounts are [`Fen`] (yuan text,
//! exact); codes are national codes; times `yyyy-MM-dd HH:mm:ss`. Every list is bounded
//! ([`MAX_LINES`], [`MAX_RECORDS`]) and every body by [`BODY_LIMIT_BYTES`].

use serde::{Deserialize, Serialize};
use yibao_domain::codes::{ChrgitmLv, FixmedinsType, MedChrgitmType};
use yibao_domain::{Code, Fen, LineAmounts, Ratio, SetlAmounts};
use yibao_ledger::{FeeLine, Institution, SettlementRecord, StoredFundRow};
use yibao_settlement::{FundRow, LineRule, LineSplit, Payer};

use crate::error::TxError;
use crate::tx::common;

/// Largest body either platform accepts or reads from the other.
pub const BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;
/// Most fee lines in one settlement request.
pub const MAX_LINES: usize = 10_000;
/// Most records in one day's reconciliation answer.
pub const MAX_RECORDS: usize = 200_000;

/// The hospital of the treating platform where the care happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeerHospital {
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    pub hosp_lv: String,
    /// The hospital's region (6 digits).
    pub admdvs: String,
    /// The pooling region of the treating platform the hospital belongs to (就医地医保区划): the
    /// treating region both platforms clear the settlement under. Empty from a platform that does
    /// not send it; the hospital's `admdvs` then stands for it.
    #[serde(default)]
    pub mdtrtarea_admvs: String,
}

impl PeerHospital {
    /// The hospital as sent by the treating platform, in its pooling region `mdtrtarea_admvs`.
    pub fn of(institution: &Institution, mdtrtarea_admvs: &str) -> PeerHospital {
        PeerHospital {
            fixmedins_code: institution.fixmedins_code.clone(),
            fixmedins_name: institution.fixmedins_name.clone(),
            hosp_lv: institution.hosp_lv.to_string(),
            admdvs: institution.admdvs.to_string(),
            mdtrtarea_admvs: mdtrtarea_admvs.to_string(),
        }
    }

    /// The treating region the insured platform records and clears the settlement under.
    pub fn place_of_treatment(&self) -> &str {
        if self.mdtrtarea_admvs.is_empty() {
            &self.admdvs
        } else {
            &self.mdtrtarea_admvs
        }
    }

    /// The hospital as the insured platform's transactions see it (not registered there); a code
    /// too long for a dictionary code is refused naming the field.
    pub fn institution(&self) -> Result<Institution, TxError> {
        Ok(Institution {
            fixmedins_code: self.fixmedins_code.clone(),
            fixmedins_name: self.fixmedins_name.clone(),
            fixmedins_type: FixmedinsType::MedicalInstitution,
            hosp_lv: common::code("hospital.hosp_lv", &self.hosp_lv)?,
            admdvs: common::code("hospital.admdvs", &self.admdvs)?,
        })
    }
}

/// The visit as the engine of the insured platform reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeerVisit {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub insutype: String,
    pub med_type: String,
    pub begntime: String,
    /// The end of care settled (discharge, or the visit day).
    pub endtime: String,
    pub dise_codg: String,
    pub referred: bool,
    pub mdtrt_cert_type: String,
    /// An emergency admission (`exp_content` `IPT_TYPE` 2 at the treating platform): deemed filed
    /// by the insured platform's register (absent from older peers: not an emergency).
    #[serde(default)]
    pub emergency: bool,
}

/// One fee line: what the engine read of it at the treating platform and the split the treating
/// platform's catalogue gave it (就医地目录).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeerLine {
    pub feedetl_sn: String,
    pub med_list_codg: String,
    /// Quantity × 10,000.
    pub cnt_e4: i64,
    pub pric_micro_yuan: i64,
    pub hosp_appr_flag: String,
    /// The split rule's storage code.
    pub rule: String,
    #[schema(value_type = String)]
    pub det_item_fee_sumamt: Fen,
    #[schema(value_type = String)]
    pub fulamt_ownpay_amt: Fen,
    #[schema(value_type = String)]
    pub overlmt_amt: Fen,
    #[schema(value_type = String)]
    pub preselfpay_amt: Fen,
    #[schema(value_type = String)]
    pub inscp_scp_amt: Fen,
    #[schema(value_type = String)]
    pub remote_extra_preselfpay: Fen,
    pub selfpay_prop_bp: u32,
    pub price_cap_micro_yuan: Option<i64>,
    pub chrgitm_lv: Option<String>,
    pub med_chrgitm_type: Option<String>,
    pub restricted_use: bool,
    pub flat: bool,
}

fn wire_code(field: &str, text: &str) -> Result<Code, TxError> {
    Code::new(text).map_err(|_| TxError::new(field, format!("{text} 超过 15 个字符")))
}

impl PeerLine {
    /// A stored fee line and its split (a line stored before splits were kept has none: refused).
    pub fn of(line: &FeeLine) -> Result<PeerLine, TxError> {
        let stored = line.split.as_ref().ok_or_else(|| {
            TxError::new(
                "feedetl_sn",
                format!(
                    "费用明细 {} 上传于保存分割结果之前，不能异地结算；请撤销后重新上传",
                    line.feedetl_sn
                ),
            )
        })?;
        let (fee, split) = (&stored.fee, &stored.split);
        Ok(PeerLine {
            feedetl_sn: line.feedetl_sn.clone(),
            med_list_codg: fee.med_list_codg.clone(),
            cnt_e4: fee.cnt_e4,
            pric_micro_yuan: fee.pric_micro_yuan,
            hosp_appr_flag: fee.hosp_appr_flag.as_str().to_string(),
            rule: split.rule.code().to_string(),
            det_item_fee_sumamt: split.amounts.det_item_fee_sumamt,
            fulamt_ownpay_amt: split.amounts.fulamt_ownpay_amt,
            overlmt_amt: split.amounts.overlmt_amt,
            preselfpay_amt: split.amounts.preselfpay_amt,
            inscp_scp_amt: split.amounts.inscp_scp_amt,
            remote_extra_preselfpay: split.remote_extra_preselfpay,
            selfpay_prop_bp: split.selfpay_prop.bp(),
            price_cap_micro_yuan: split.price_cap_micro_yuan,
            chrgitm_lv: split.chrgitm_lv.map(|c| c.code().as_str().to_string()),
            med_chrgitm_type: split
                .med_chrgitm_type
                .map(|c| c.code().as_str().to_string()),
            restricted_use: split.restricted_use,
            flat: split.flat,
        })
    }

    /// The line's amount and its four parts.
    pub fn amounts(&self) -> LineAmounts {
        LineAmounts {
            det_item_fee_sumamt: self.det_item_fee_sumamt,
            fulamt_ownpay_amt: self.fulamt_ownpay_amt,
            overlmt_amt: self.overlmt_amt,
            preselfpay_amt: self.preselfpay_amt,
            inscp_scp_amt: self.inscp_scp_amt,
        }
    }

    /// The engine's line and split (line index `index`), each field checked.
    pub fn engine(&self, index: u32) -> Result<(yibao_settlement::FeeLine, LineSplit), TxError> {
        let field = |name: &str| format!("lines[{index}].{name}");
        let rule = LineRule::from_code(&self.rule).ok_or_else(|| {
            TxError::new(field("rule"), format!("{} 不是分割规则代码", self.rule))
        })?;
        let amounts = self.amounts();
        let parts = amounts.parts_sum();
        if parts != amounts.det_item_fee_sumamt {
            return Err(TxError::new(
                field("det_item_fee_sumamt"),
                format!("{} 不等于分割的四项之和 {parts}", self.det_item_fee_sumamt),
            ));
        }
        let selfpay_prop = Ratio::from_bp_checked(i64::from(self.selfpay_prop_bp))
            .map_err(|e| TxError::new(field("selfpay_prop_bp"), e.to_string()))?;
        let optional = |name: &str, text: &Option<String>| -> Result<Option<Code>, TxError> {
            text.as_deref()
                .map(|t| wire_code(&field(name), t))
                .transpose()
        };
        let fee = yibao_settlement::FeeLine {
            med_list_codg: self.med_list_codg.clone(),
            cnt_e4: self.cnt_e4,
            pric_micro_yuan: self.pric_micro_yuan,
            amount: self.det_item_fee_sumamt,
            hosp_appr_flag: wire_code(&field("hosp_appr_flag"), &self.hosp_appr_flag)?,
        };
        let split = LineSplit {
            line: index,
            rule,
            amounts,
            remote_extra_preselfpay: self.remote_extra_preselfpay,
            selfpay_prop,
            price_cap_micro_yuan: self.price_cap_micro_yuan,
            chrgitm_lv: optional("chrgitm_lv", &self.chrgitm_lv)?.map(ChrgitmLv::from_code),
            med_chrgitm_type: optional("med_chrgitm_type", &self.med_chrgitm_type)?
                .map(MedChrgitmType::from_code),
            restricted_use: self.restricted_use,
            flat: self.flat,
        };
        Ok((fee, split))
    }
}

/// Settle (or compute, `presettle`) a visit at the insured platform (`POST /peer/v1/settle`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SettleCall {
    /// The treating platform's `setl_id` of the settlement: the idempotency key. Empty for a
    /// pre-settlement, which stores nothing.
    pub peer_key: String,
    /// The hospital's transaction (2206, 2207, 2303, 2304).
    pub infno: String,
    pub presettle: bool,
    pub hospital: PeerHospital,
    pub visit: PeerVisit,
    /// The lines settled. For an admission with earlier live settlements (`earlier_keys`): the
    /// whole stay's — those the earlier settlements consumed, with the splits they consumed them
    /// with, then the new ones — which the insured platform settles as a whole and nets against
    /// what the earlier settlements paid.
    pub lines: Vec<PeerLine>,
    pub use_account: bool,
    /// The settlement time the treating platform records; the insured platform records the same.
    pub setl_time: String,
    /// An interim settlement of an ongoing admission (中途结算, `mid_setl_flag` 1). Absent from
    /// older peers: a final settlement.
    #[serde(default)]
    pub interim: bool,
    /// The keys of the admission's live settlements of the same accumulator year this one is
    /// netted against (its interim settlements), in the order they were made; the insured platform
    /// must hold exactly these. Absent from older peers: none.
    #[serde(default)]
    pub earlier_keys: Vec<String>,
}

/// Cancel a settlement made through the API (`POST /peer/v1/cancel`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CancelCall {
    /// The treating platform's `setl_id` of the cancellation: the idempotency key.
    pub peer_key: String,
    /// The hospital whose message asks for it.
    pub fixmedins_code: String,
    /// The key of the settlement cancelled.
    pub orig_key: String,
    pub infno: String,
    pub setl_time: String,
}

/// Ask how an operation ended, settling the question (`POST /peer/v1/resolve`): an operation the
/// insured platform holds is answered; one it does not hold is refused from now on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ResolveCall {
    pub peer_key: String,
    /// The hospital whose message started it.
    pub fixmedins_code: String,
}

/// One `setldetail` row as the insured platform computed it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeerFund {
    pub fund_pay_type: String,
    pub fund_pay_type_name: String,
    /// `fund`, `account` or `hospital`.
    pub payer: String,
    #[schema(value_type = String)]
    pub inscp_scp_amt: Fen,
    #[schema(value_type = Option<String>)]
    pub crt_payb_lmt_amt: Option<Fen>,
    #[schema(value_type = String)]
    pub fund_payamt: Fen,
    pub setl_proc_info: String,
}

impl PeerFund {
    /// A stored fund row.
    pub fn of(row: &StoredFundRow) -> PeerFund {
        PeerFund {
            fund_pay_type: row.row.fund_pay_type.as_str().to_string(),
            fund_pay_type_name: row.fund_pay_type_name.clone(),
            payer: row.row.payer.code().to_string(),
            inscp_scp_amt: row.row.inscp_scp_amt,
            crt_payb_lmt_amt: row.row.crt_payb_lmt_amt,
            fund_payamt: row.row.fund_payamt,
            setl_proc_info: row.setl_proc_info.clone(),
        }
    }

    /// The stored row, each field checked.
    pub fn stored(&self, index: usize) -> Result<StoredFundRow, TxError> {
        let field = |name: &str| format!("setldetail[{index}].{name}");
        let payer = Payer::from_code(&self.payer).ok_or_else(|| {
            TxError::new(field("payer"), format!("{} 不是支付方代码", self.payer))
        })?;
        Ok(StoredFundRow {
            row: FundRow {
                fund_pay_type: wire_code(&field("fund_pay_type"), &self.fund_pay_type)?,
                payer,
                inscp_scp_amt: self.inscp_scp_amt,
                crt_payb_lmt_amt: self.crt_payb_lmt_amt,
                fund_payamt: self.fund_payamt,
            },
            fund_pay_type_name: self.fund_pay_type_name.clone(),
            setl_proc_info: self.setl_proc_info.clone(),
        })
    }
}

/// A settlement or cancellation the insured platform holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeerSettled {
    pub peer_key: String,
    /// The insured platform's own `setl_id` of it.
    pub setl_id: String,
    /// `settle` or `cancel`.
    pub kind: String,
    pub psn_no: String,
    pub insutype: String,
    pub year: i64,
    pub setl_time: String,
    /// The insured place (清算经办机构 `clr_optins`).
    pub clr_optins: String,
    /// Personal-account balance after it.
    #[schema(value_type = String)]
    pub balc: Fen,
    #[schema(value_type = Object)]
    pub amounts: SetlAmounts,
    pub setldetail: Vec<PeerFund>,
    /// An interim settlement of an admission (中途结算) or its cancellation. Absent from older
    /// platforms, which settle none: not one.
    #[serde(default)]
    pub interim: bool,
}

impl PeerSettled {
    /// The answer for a stored record known by `peer_key`.
    pub fn of(record: &SettlementRecord, peer_key: &str) -> PeerSettled {
        let h = &record.header;
        PeerSettled {
            peer_key: peer_key.to_string(),
            setl_id: h.setl_id.clone(),
            kind: h.kind.as_str().to_string(),
            psn_no: h.psn_no.clone(),
            insutype: h.insutype.to_string(),
            year: h.year,
            setl_time: h.setl_time_text(),
            clr_optins: h.clr_optins.to_string(),
            balc: h.balc,
            amounts: record.amounts,
            setldetail: record.funds.iter().map(PeerFund::of).collect(),
            interim: h.mid_setl_flag,
        }
    }
}

/// How an operation stands at the insured platform.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Held (settled or cancelled), with what was recorded.
    Done { settled: PeerSettled },
    /// A pre-settlement: computed, nothing stored.
    Computed { settled: PeerSettled },
    /// Not held, and refused from now on.
    Aborted,
    /// Refused for a reason the hospital can read (`field` and Chinese `problem`); nothing stored.
    Refused { field: String, problem: String },
}

/// The person answered by `POST /peer/v1/person`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PersonAnswer {
    /// The 1101 `output` of the insured platform and the registry rows (account balance 0: the
    /// account stays with the insured platform) the treating platform keeps to register and admit
    /// the person.
    Found {
        #[schema(value_type = Object)]
        output: serde_json::Value,
        rows: Vec<crate::import::PersonRow>,
    },
    /// The insured platform's refusal, for the hospital.
    Refused { field: String, problem: String },
}

/// Forward a read message (1101) to the insured platform.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ForwardCall {
    pub hospital: PeerHospital,
    /// The hospital's request envelope (national field names).
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
}

/// The operations a platform recorded with one peer on one day (`POST /peer/v1/day`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DayCall {
    /// `yyyy-MM-dd`.
    pub date: String,
}

/// The answer to [`DayCall`]: every settlement and cancellation of that day by key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DayAnswer {
    pub date: String,
    pub records: Vec<PeerSettled>,
}
