//! The enrolment register: persons, their insured periods per scheme, identity periods,
//! employment, employers and family links for account mutual aid (共济).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use yibao_domain::codes::{Gend, Insutype, PsnType};
use yibao_domain::{Code, Fen};

/// 参保状态 `psn_insu_stas`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InsuStatus {
    /// 0 未参保.
    #[serde(rename = "0")]
    NotInsured,
    /// 1 正常: contributing, benefits payable once the waiting period is over.
    #[serde(rename = "1")]
    Normal,
    /// 2 暂停: contributions interrupted, benefits suspended.
    #[serde(rename = "2")]
    Suspended,
    /// 3 无效.
    #[serde(rename = "3")]
    Invalid,
    /// 4 终止: left the scheme (moved away, died, switched scheme).
    #[serde(rename = "4")]
    Terminated,
}

impl InsuStatus {
    /// Reads a wire code (`"0"` … `"4"`); any other text is not a status.
    pub fn from_code(code: &str) -> Option<InsuStatus> {
        match code {
            "0" => Some(InsuStatus::NotInsured),
            "1" => Some(InsuStatus::Normal),
            "2" => Some(InsuStatus::Suspended),
            "3" => Some(InsuStatus::Invalid),
            "4" => Some(InsuStatus::Terminated),
            _ => None,
        }
    }

    /// The wire code (`"0"` … `"4"`).
    pub fn code(self) -> &'static str {
        match self {
            InsuStatus::NotInsured => "0",
            InsuStatus::Normal => "1",
            InsuStatus::Suspended => "2",
            InsuStatus::Invalid => "3",
            InsuStatus::Terminated => "4",
        }
    }

    /// The dictionary's Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            InsuStatus::NotInsured => "未参保",
            InsuStatus::Normal => "正常",
            InsuStatus::Suspended => "暂停",
            InsuStatus::Invalid => "无效",
            InsuStatus::Terminated => "终止",
        }
    }
}

/// Declares the identity (人员身份) table as an open enum: named variants for the assistance
/// categories the policies name, `Other(Code)` for every local extension.
macro_rules! identity_table {
    ($($(#[$vmeta:meta])* $variant:ident = $code:literal, $label:literal;)*) => {
        /// 人员身份 `psn_idet_type`: assistance and tilt categories (特困, 低保, 返贫致贫 …).
        /// Codes are the short ones yibao uses on the wire (`TK`, `DB`, `FP` …).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Identity {
            $($(#[$vmeta])* $variant,)*
            /// A category not among the named ones, carried as is.
            Other(Code),
        }

        impl Identity {
            /// Reads a code; unknown values become `Other`.
            pub fn from_code(code: Code) -> Identity {
                match code.as_str() {
                    $($code => Identity::$variant,)*
                    _ => Identity::Other(code),
                }
            }

            /// The wire code.
            pub fn code(self) -> Code {
                match self {
                    $(Identity::$variant => Code::lit($code),)*
                    Identity::Other(code) => code,
                }
            }

            /// The category's Chinese name, if it is a named one.
            pub fn label(self) -> Option<&'static str> {
                match self {
                    $(Identity::$variant => Some($label),)*
                    Identity::Other(_) => None,
                }
            }
        }
    };
}

identity_table! {
    /// 特困供养人员.
    ExtremePoverty = "TK", "特困人员";
    /// 孤儿 and 事实无人抚养儿童.
    Orphan = "GE", "孤儿";
    /// 最低生活保障对象.
    MinimumLiving = "DB", "低保对象";
    /// 低保边缘家庭成员.
    MinimumLivingMarginal = "DBBY", "低保边缘";
    /// 返贫致贫人口.
    RelapsedPoverty = "FP", "返贫致贫";
    /// 脱贫不稳定人口.
    UnstableExPoor = "TPBW", "脱贫不稳定";
    /// 边缘易致贫人口.
    AtRiskMarginal = "BYZP", "边缘易致贫";
    /// 重度残疾人.
    SevereDisability = "ZDCJ", "重度残疾";
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code().as_str())
    }
}

impl Serialize for Identity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.code().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Identity, D::Error> {
        Code::deserialize(deserializer).map(Identity::from_code)
    }
}

/// A dated identity (`psn_idet_type` with `begntime`–`endtime`); both ends inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityPeriod {
    pub identity: Identity,
    pub begin: NaiveDate,
    /// Last day of the identity; `None` while open.
    pub end: Option<NaiveDate>,
}

impl IdentityPeriod {
    /// Whether the identity holds on `date`.
    pub fn active_on(&self, date: NaiveDate) -> bool {
        self.begin <= date && self.end.is_none_or(|end| date <= end)
    }
}

/// One stretch of membership in one scheme with one status. A suspension or termination is a new
/// period with that status, so the register is a history, never overwritten.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuredPeriod {
    pub insutype: Insutype,
    pub psn_type: PsnType,
    pub status: InsuStatus,
    /// First day of this period (`psn_insu_date` for the first normal period).
    pub begin: NaiveDate,
    /// Last day, inclusive; `None` while open.
    pub end: Option<NaiveDate>,
    /// First day benefits are payable (after any waiting period), from [`crate::benefit_start`].
    pub benefit_start: NaiveDate,
    /// 参保地 `insuplc_admdvs`.
    pub insuplc_admdvs: Code,
}

impl InsuredPeriod {
    /// Whether `date` falls inside the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.begin <= date && self.end.is_none_or(|end| date <= end)
    }

    /// Whether the period shares at least one day with `first..=last`.
    pub fn overlaps(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.begin <= last && self.end.is_none_or(|end| first <= end)
    }
}

/// How a worker is attached to the workers' scheme.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentKind {
    /// Employee of a real employer: employer and individual contributions on the wage base.
    Employee,
    /// 灵活就业: a member of a virtual employer who pays the whole flexible-employment rate.
    Flexible,
}

/// A worker's link to an employer (real or virtual) and the declared wage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employment {
    /// 单位编号 of the employer.
    pub emp_no: String,
    pub kind: EmploymentKind,
    /// Declared monthly wage before the floor and ceiling are applied.
    pub monthly_wage: Fen,
}

/// Kind of employer, as production core systems model it (flexible workers, land-expropriated
/// farmers and 离休 staff belong to virtual employers).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmployerKind {
    Enterprise,
    /// 事业单位.
    PublicInstitution,
    /// 机关: its staff are civil servants (`cvlserv_flag`).
    Government,
    /// 虚拟单位 for flexible employment.
    VirtualFlexible,
}

/// A contributing employer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employer {
    pub emp_no: String,
    pub emp_name: String,
    pub kind: EmployerKind,
    /// Where the employer is registered.
    pub admdvs: Code,
}

/// A person in the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub psn_no: String,
    pub certno: String,
    pub psn_name: String,
    pub gend: Gend,
    pub brdy: NaiveDate,
    /// 公务员 (civil servant) flag, for the civil-servant subsidy and its account credit.
    pub civil_servant: bool,
    pub insured_periods: Vec<InsuredPeriod>,
    pub identities: Vec<IdentityPeriod>,
    pub employment: Option<Employment>,
}

impl Person {
    /// Identities active on `date`, in register order.
    pub fn identities_on(&self, date: NaiveDate) -> impl Iterator<Item = Identity> + '_ {
        self.identities
            .iter()
            .filter(move |p| p.active_on(date))
            .map(|p| p.identity)
    }
}

/// Relation of a family member to the account holder, for 共济.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Spouse,
    Parent,
    Child,
}

/// A dated authorisation for `member` to pay from `account_holder`'s personal account (家庭共济).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyLink {
    pub account_holder: String,
    pub member: String,
    pub relation: Relation,
    pub begin: NaiveDate,
    /// Last day, inclusive; `None` while open.
    pub end: Option<NaiveDate>,
}

impl FamilyLink {
    /// Whether the link is in force on `date`.
    pub fn active_on(&self, date: NaiveDate) -> bool {
        self.begin <= date && self.end.is_none_or(|end| date <= end)
    }
}

/// Account holders whose personal account `member` may draw on for care on `date`.
pub fn mutual_aid_accounts<'a>(
    links: &'a [FamilyLink],
    member: &'a str,
    date: NaiveDate,
) -> impl Iterator<Item = &'a str> + 'a {
    links
        .iter()
        .filter(move |l| l.member == member && l.active_on(date))
        .map(|l| l.account_holder.as_str())
}
