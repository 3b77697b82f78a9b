//! A visit in the layout of a `yibao settle` input line (national field names), and its
//! conversion into engine inputs.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use yibao_domain::codes::Gend;
use yibao_domain::{Code, Fen};
use yibao_policy::FilingStatus;
use yibao_settlement::{Coverage, FeeLine, IdentityPeriod, Person, Visit, QUANTITY_SCALE_DIGITS};

use crate::lenient;

/// Unit prices carry six decimals on the wire (`16,6`).
const PRICE_DECIMALS: u32 = yibao_catalog::PRICE_SCALE_DIGITS;

/// A visit line as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct WireVisit {
    #[serde(deserialize_with = "lenient::string")]
    pub mdtrt_id: String,
    #[serde(deserialize_with = "lenient::string")]
    pub psn_no: String,
    #[serde(deserialize_with = "lenient::code")]
    pub insutype: Code,
    #[serde(deserialize_with = "lenient::code")]
    pub psn_type: Code,
    #[serde(deserialize_with = "lenient::code")]
    pub gend: Code,
    #[serde(deserialize_with = "lenient::date")]
    pub brdy: NaiveDate,
    #[serde(default, deserialize_with = "lenient::code_list")]
    pub idet: Vec<Code>,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    pub cvlserv_flag: Option<Code>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    pub balc: Option<Fen>,
    #[serde(deserialize_with = "lenient::code")]
    pub med_type: Code,
    #[serde(deserialize_with = "lenient::datetime")]
    pub begntime: NaiveDateTime,
    #[serde(deserialize_with = "lenient::datetime")]
    pub endtime: NaiveDateTime,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub fixmedins_code: Option<String>,
    #[serde(deserialize_with = "lenient::code")]
    pub hosp_lv: Code,
    #[serde(deserialize_with = "lenient::code")]
    pub medins_admdvs: Code,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    pub insuplc_admdvs: Option<Code>,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    pub refl_flag: Option<Code>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub dise_codg: Option<String>,
    /// What the insured platform's filing register says about care outside the region
    /// (`referral`, `long_term`, `emergency`, `temporary`, `in_province`, `unfiled`; yibao's own
    /// field). Absent: the hospital's `refl_flag` alone decides, as before filings were kept.
    #[serde(default, deserialize_with = "filing_status")]
    pub filing_status: Option<FilingStatus>,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    pub acct_used_flag: Option<Code>,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    pub mid_setl_flag: Option<Code>,
    pub feedetail: Vec<WireFeeLine>,
}

/// A fee line as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct WireFeeLine {
    #[serde(deserialize_with = "lenient::string")]
    pub feedetl_sn: String,
    #[serde(deserialize_with = "lenient::string")]
    pub med_list_codg: String,
    #[serde(deserialize_with = "lenient::scaled::<_, QUANTITY_SCALE_DIGITS>")]
    pub cnt: i64,
    #[serde(deserialize_with = "lenient::scaled::<_, PRICE_DECIMALS>")]
    pub pric: i64,
    #[serde(deserialize_with = "lenient::yuan")]
    pub det_item_fee_sumamt: Fen,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    pub hosp_appr_flag: Option<Code>,
    /// 开单医生 (`bilg_dr_codg`), read by the audit only.
    #[serde(default, deserialize_with = "text_or_none")]
    pub bilg_dr_codg: Option<String>,
}

/// Why a line could not be read: names the field path (e.g. `feedetail[2].det_item_fee_sumamt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct WireError {
    pub path: String,
    pub problem: String,
}

fn filing_status<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<FilingStatus>, D::Error> {
    let Some(name) = lenient::opt_string(deserializer)? else {
        return Ok(None);
    };
    FilingStatus::from_name(&name).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown filing status `{name}` (referral, long_term, emergency, temporary, in_province, unfiled)"
        ))
    })
}

/// A string value as sent; any other value is ignored (an optional field no rule of settlement reads).
fn text_or_none<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Some(text),
        _ => None,
    })
}

fn is_flag_set(flag: Option<Code>) -> bool {
    flag.is_some_and(|c| c.as_str() == "1")
}

impl WireVisit {
    /// Parses one JSON object; errors name the field.
    pub fn from_json(value: &serde_json::Value) -> Result<WireVisit, WireError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let problem = e.into_inner().to_string();
            WireError {
                path: if path == "." { "visit".into() } else { path },
                problem,
            }
        })
    }

    /// The person as the engine sees them (identities valid throughout the visit).
    pub fn person(&self) -> Person {
        Person {
            insutype: self.insutype,
            psn_type: self.psn_type,
            gend: Gend::from_code(self.gend),
            birth_date: self.brdy,
            identities: self
                .idet
                .iter()
                .copied()
                .map(IdentityPeriod::always)
                .collect(),
            civil_servant: is_flag_set(self.cvlserv_flag),
            coverage: Coverage::Covered,
        }
    }

    /// The visit as the engine sees it.
    pub fn visit(&self) -> Visit {
        Visit {
            med_type: self.med_type,
            begin: self.begntime,
            end: self.endtime,
            hosp_lv: self.hosp_lv,
            medins_admdvs: self.medins_admdvs,
            referred: is_flag_set(self.refl_flag),
            filing: self.filing_status,
            dise_codg: self.dise_codg.clone().unwrap_or_default(),
            lines: self.feedetail.iter().map(WireFeeLine::fee_line).collect(),
            use_account: self.acct_used_flag.is_none_or(|c| c.as_str() != "0"),
            interim: is_flag_set(self.mid_setl_flag),
            episode_deductible_paid: Fen::ZERO,
        }
    }
}

impl WireFeeLine {
    /// The line as the engine sees it.
    pub fn fee_line(&self) -> FeeLine {
        FeeLine {
            med_list_codg: self.med_list_codg.clone(),
            cnt_e4: self.cnt,
            pric_micro_yuan: self.pric,
            amount: self.det_item_fee_sumamt,
            hosp_appr_flag: self.hosp_appr_flag.unwrap_or_default(),
        }
    }
}
