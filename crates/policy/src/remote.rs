//! Remote care (异地就医) as the insured place decides it: what its filing register (备案) says about
//! a stay outside the pooling region, and which rate class that status settles under — the policy's
//! `[remote]` section (`clearing-and-budgets.md` §1.2, `settlement.md` §13). Pure: the service reads
//! the register and passes the filings in.

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_domain::codes::RemoteFilingType;

use crate::{Policy, Region};

/// What the insured platform knows about a stay outside its pooling region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilingStatus {
    /// 异地转诊 filed (2501, or a 2505 of that type); also a hospital's `refl_flag` 1 where the
    /// policy honours it.
    Referral,
    /// Long-term filing: 异地安置退休, 异地长期居住, 常驻异地工作.
    LongTerm,
    /// 异地急诊抢救: filed, or deemed filed (an emergency admission, `exp_content` `IPT_TYPE` 2).
    Emergency,
    /// 其他临时外出 filed.
    Temporary,
    /// Not filed, but in the insured place's province where the policy needs no filing (省内免备案).
    InProvince,
    /// No filing covers the stay.
    Unfiled,
}

impl FilingStatus {
    /// Chinese label, as the trace shows it.
    pub fn label(self) -> &'static str {
        match self {
            FilingStatus::Referral => "转诊备案",
            FilingStatus::LongTerm => "长期异地备案",
            FilingStatus::Emergency => "异地急诊抢救(视同备案)",
            FilingStatus::Temporary => "其他临时外出备案",
            FilingStatus::InProvince => "省内异地免备案",
            FilingStatus::Unfiled => "未备案",
        }
    }

    /// The kind of filing a 备案类别 makes; `None` for a code this version does not know.
    pub fn of_filing_type(fil_type: RemoteFilingType) -> Option<FilingStatus> {
        Some(match fil_type {
            RemoteFilingType::ResettledRetiree
            | RemoteFilingType::LongTermResident
            | RemoteFilingType::WorkingElsewhere => FilingStatus::LongTerm,
            RemoteFilingType::Referral => FilingStatus::Referral,
            RemoteFilingType::EmergencyRescue => FilingStatus::Emergency,
            RemoteFilingType::OtherTemporary => FilingStatus::Temporary,
            RemoteFilingType::Other(_) => return None,
        })
    }

    /// The status a settlement request names (`filing_status` of a visit file), by its snake-case
    /// name.
    pub fn from_name(name: &str) -> Option<FilingStatus> {
        Some(match name {
            "referral" => FilingStatus::Referral,
            "long_term" => FilingStatus::LongTerm,
            "emergency" => FilingStatus::Emergency,
            "temporary" => FilingStatus::Temporary,
            "in_province" => FilingStatus::InProvince,
            "unfiled" => FilingStatus::Unfiled,
            _ => return None,
        })
    }
}

/// Where a visit happened, as the rates read it: the rate class and, outside the pooling region,
/// the filing status that chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub region: Region,
    /// `None` in the pooling region.
    pub filing: Option<FilingStatus>,
}

impl From<Region> for Place {
    fn from(region: Region) -> Place {
        let filing = match region {
            Region::In => None,
            Region::OutReferred => Some(FilingStatus::Referral),
            Region::OutUnreferred => Some(FilingStatus::Unfiled),
        };
        Place { region, filing }
    }
}

/// What a filing status settles under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateClass {
    /// The pooling region's own rates (identical treatment).
    Local,
    /// The `out_referred` rate rows.
    Referred,
    /// The `out_unreferred` rate rows.
    Unreferred,
    /// No direct settlement: the patient pays and claims at home (零星报销).
    Refused,
}

/// The rate class of each filing status.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateClasses {
    #[serde(default = "referred")]
    pub referral: RateClass,
    #[serde(default = "referred")]
    pub long_term: RateClass,
    #[serde(default = "referred")]
    pub emergency: RateClass,
    #[serde(default = "unreferred")]
    pub temporary: RateClass,
    #[serde(default = "unreferred")]
    pub in_province: RateClass,
    #[serde(default = "unreferred")]
    pub unfiled: RateClass,
}

fn referred() -> RateClass {
    RateClass::Referred
}

fn unreferred() -> RateClass {
    RateClass::Unreferred
}

impl Default for RateClasses {
    fn default() -> RateClasses {
        RateClasses {
            referral: referred(),
            long_term: referred(),
            emergency: referred(),
            temporary: unreferred(),
            in_province: unreferred(),
            unfiled: unreferred(),
        }
    }
}

impl RateClasses {
    /// The class of a status.
    pub fn of(&self, status: FilingStatus) -> RateClass {
        match status {
            FilingStatus::Referral => self.referral,
            FilingStatus::LongTerm => self.long_term,
            FilingStatus::Emergency => self.emergency,
            FilingStatus::Temporary => self.temporary,
            FilingStatus::InProvince => self.in_province,
            FilingStatus::Unfiled => self.unfiled,
        }
    }
}

/// The insured place's filing rules (`[remote]`). Without the section a policy settles as before
/// filings were kept: the hospital's `refl_flag` decides referred or not, nothing is refused, no
/// filing-free province.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteRules {
    /// The insured place's province: an institution whose `admdvs` starts with one of these is
    /// in-province.
    #[serde(default)]
    pub province_prefixes: Vec<String>,
    /// 省内免备案: an unfiled stay in the province has status [`FilingStatus::InProvince`].
    #[serde(default)]
    pub in_province_filing_free: bool,
    /// When the register has no filing for a stay, a hospital's `refl_flag` 1 counts as a referral
    /// (compatibility with hospitals that file referrals on paper).
    #[serde(default = "yes")]
    pub refl_flag_without_filing: bool,
    /// Validity of a temporary filing (转诊, 急诊抢救, 其他临时外出) given without `enddate`, in
    /// days from its `begndate`.
    #[serde(default)]
    pub temporary_validity_days: Option<u32>,
    #[serde(default)]
    pub classes: RateClasses,
    /// 零星报销: the rate class of care reimbursed at the counter (not settled directly) whose
    /// filing status the policy does not settle directly (class `refused`); `None`: such care is
    /// not reimbursed either. Never `refused` (validated).
    #[serde(default)]
    pub manual_claims: Option<RateClass>,
}

fn yes() -> bool {
    true
}

impl Default for RemoteRules {
    fn default() -> RemoteRules {
        RemoteRules {
            province_prefixes: Vec::new(),
            in_province_filing_free: false,
            refl_flag_without_filing: true,
            temporary_validity_days: None,
            classes: RateClasses::default(),
            manual_claims: None,
        }
    }
}

/// Why a remote stay cannot be settled directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoDirectSettlement {
    pub status: FilingStatus,
}

impl Policy {
    /// Where a visit at an institution of `medins_admdvs` happened, as the rates read it. `filing`
    /// is what the insured platform's register says (`None`: no register was consulted — a visit
    /// file —, then `refl_flag` alone decides, as it always did).
    pub fn place_of(
        &self,
        medins_admdvs: &str,
        refl_flag: bool,
        filing: Option<FilingStatus>,
    ) -> Result<Place, NoDirectSettlement> {
        if self.is_in_region(medins_admdvs) {
            return Ok(Place::from(Region::In));
        }
        let rules = &self.remote;
        let honour_flag = filing.is_none() || rules.refl_flag_without_filing;
        let status = match filing.unwrap_or(FilingStatus::Unfiled) {
            FilingStatus::Unfiled if refl_flag && honour_flag => FilingStatus::Referral,
            FilingStatus::Unfiled
                if rules.in_province_filing_free && rules.is_in_province(medins_admdvs) =>
            {
                FilingStatus::InProvince
            }
            status => status,
        };
        let region = match rules.classes.of(status) {
            RateClass::Local => Region::In,
            RateClass::Referred => Region::OutReferred,
            RateClass::Unreferred => Region::OutUnreferred,
            RateClass::Refused => return Err(NoDirectSettlement { status }),
        };
        Ok(Place {
            region,
            filing: Some(status),
        })
    }
}

impl Policy {
    /// Where care reimbursed at the counter (零星报销) happened, as the rates read it: as
    /// [`Policy::place_of`] says, except that a filing status not settled directly takes the
    /// policy's `remote.manual_claims` class; refused when the policy has none.
    pub fn manual_claim_place(
        &self,
        medins_admdvs: &str,
        filing: FilingStatus,
    ) -> Result<Place, NoDirectSettlement> {
        let refusal = match self.place_of(medins_admdvs, false, Some(filing)) {
            Ok(place) => return Ok(place),
            Err(refusal) => refusal,
        };
        let region = match self.remote.manual_claims {
            Some(RateClass::Local) => Region::In,
            Some(RateClass::Referred) => Region::OutReferred,
            Some(RateClass::Unreferred) => Region::OutUnreferred,
            Some(RateClass::Refused) | None => return Err(refusal),
        };
        Ok(Place {
            region,
            filing: Some(refusal.status),
        })
    }
}

impl RemoteRules {
    /// Whether an institution's `admdvs` lies in the insured place's province.
    pub fn is_in_province(&self, medins_admdvs: &str) -> bool {
        self.province_prefixes
            .iter()
            .any(|p| medins_admdvs.starts_with(p.as_str()))
    }

    /// The last day of a filing that starts on `begndate` and names no end: open for long-term
    /// filings, `temporary_validity_days` for temporary ones.
    pub fn default_enddate(&self, kind: FilingStatus, begndate: NaiveDate) -> Option<NaiveDate> {
        if kind == FilingStatus::LongTerm {
            return None;
        }
        let days = self.temporary_validity_days?;
        begndate.checked_add_days(chrono::Days::new(u64::from(days.max(1) - 1)))
    }
}

/// One valid filing of the register, as settlement reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledStay {
    /// [`FilingStatus::Referral`], `LongTerm`, `Emergency` or `Temporary`.
    pub kind: FilingStatus,
    /// The place of treatment filed (`mdtrtarea_admdvs`): a province (`440000`), a city
    /// (`440100`) or a county; trailing `00` pairs widen it.
    pub area: String,
    pub begndate: NaiveDate,
    pub enddate: Option<NaiveDate>,
}

impl FiledStay {
    /// Whether the filing covers care at `medins_admdvs` from `begin` to `end`: the place lies in
    /// the filed area and the filing's period overlaps the care (a stay may be filed before
    /// discharge).
    pub fn covers(&self, medins_admdvs: &str, begin: NaiveDate, end: NaiveDate) -> bool {
        area_contains(&self.area, medins_admdvs)
            && self.begndate <= end
            && self.enddate.is_none_or(|last| begin <= last)
    }
}

/// Whether region code `area` contains `admdvs` (`440000` contains `440106`; `440100` too).
pub fn area_contains(area: &str, admdvs: &str) -> bool {
    let mut prefix = area;
    while prefix.len() > 2 && prefix.ends_with("00") {
        prefix = &prefix[..prefix.len() - 2];
    }
    !prefix.is_empty() && admdvs.starts_with(prefix)
}

/// What the register says about care at `medins_admdvs` from `begin` to `end`: the most favourable
/// covering filing (referral, long-term, emergency, temporary), else emergency when the admission
/// was an emergency rescue (视同备案), else unfiled.
pub fn filing_status(
    filings: &[FiledStay],
    medins_admdvs: &str,
    begin: NaiveDate,
    end: NaiveDate,
    emergency_admission: bool,
) -> FilingStatus {
    const PREFERENCE: [FilingStatus; 4] = [
        FilingStatus::Referral,
        FilingStatus::LongTerm,
        FilingStatus::Emergency,
        FilingStatus::Temporary,
    ];
    let covering: Vec<FilingStatus> = filings
        .iter()
        .filter(|f| f.covers(medins_admdvs, begin, end))
        .map(|f| f.kind)
        .collect();
    PREFERENCE
        .into_iter()
        .find(|kind| covering.contains(kind))
        .unwrap_or(if emergency_admission {
            FilingStatus::Emergency
        } else {
            FilingStatus::Unfiled
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn stay(kind: FilingStatus, area: &str, from: &str, to: Option<&str>) -> FiledStay {
        FiledStay {
            kind,
            area: area.into(),
            begndate: day(from),
            enddate: to.map(day),
        }
    }

    #[test]
    fn areas_widen_by_trailing_zero_pairs() {
        assert!(area_contains("440000", "440106"));
        assert!(area_contains("440100", "440106"));
        assert!(area_contains("440106", "440106"));
        assert!(!area_contains("440100", "440206"));
        assert!(!area_contains("", "440206"));
    }

    #[test]
    fn a_filing_made_during_the_stay_covers_it_and_the_best_filing_wins() {
        let (begin, end) = (day("2025-03-01"), day("2025-03-20"));
        let during = stay(FilingStatus::Temporary, "440000", "2025-03-10", None);
        assert!(during.covers("440106", begin, end));
        let after = stay(FilingStatus::Referral, "440000", "2025-03-21", None);
        assert!(!after.covers("440106", begin, end));
        let expired = stay(
            FilingStatus::Referral,
            "440000",
            "2024-01-01",
            Some("2025-02-28"),
        );
        assert!(!expired.covers("440106", begin, end));
        let elsewhere = stay(FilingStatus::LongTerm, "110000", "2020-01-01", None);
        let filings = [during, after, expired, elsewhere];
        assert_eq!(
            filing_status(&filings, "440106", begin, end, false),
            FilingStatus::Temporary
        );
        let long_term = stay(FilingStatus::LongTerm, "440100", "2020-01-01", None);
        let filings = [filings[0].clone(), long_term];
        assert_eq!(
            filing_status(&filings, "440106", begin, end, true),
            FilingStatus::LongTerm
        );
        assert_eq!(
            filing_status(&[], "440106", begin, end, true),
            FilingStatus::Emergency
        );
        assert_eq!(
            filing_status(&[], "440106", begin, end, false),
            FilingStatus::Unfiled
        );
    }

    #[test]
    fn temporary_filings_without_end_last_the_policy_days() {
        let rules = RemoteRules {
            temporary_validity_days: Some(180),
            ..RemoteRules::default()
        };
        let begin = day("2025-01-01");
        assert_eq!(
            rules.default_enddate(FilingStatus::Temporary, begin),
            Some(day("2025-06-29"))
        );
        assert_eq!(rules.default_enddate(FilingStatus::LongTerm, begin), None);
        assert_eq!(
            RemoteRules::default().default_enddate(FilingStatus::Referral, begin),
            None
        );
    }
}
