//! The policy model: what a policy file says, field by field. Deserialized from TOML with unknown
//! fields rejected, then checked by [`crate::validate`].

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_domain::{Code, Fen, Ratio, Rounding};

/// One version of one pooling region's benefit policy (all its schemes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub policy: Header,
    #[serde(default)]
    pub rounding: Rounding,
    /// `hosp_lv` → deductible level (1 一级及以下, 2 二级, 3 三级).
    pub levels: Vec<LevelMap>,
    /// Every fund a layer may pay from, with the `setlinfo` column it is summed into.
    pub funds: Vec<Fund>,
    pub schemes: Vec<Scheme>,
    /// Filing rules for care outside the region (`[remote]`, see [`crate::RemoteRules`]).
    #[serde(default)]
    pub remote: crate::RemoteRules,
}

/// Identification and validity of a policy version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Pooling region (统筹区) code, 6 digits.
    pub admdvs: Code,
    pub name: String,
    pub version: String,
    pub effective_from: NaiveDate,
    #[serde(default)]
    pub effective_to: Option<NaiveDate>,
    /// Where the figures come from (source documents; illustrative values say so).
    #[serde(default)]
    pub provenance: String,
    /// An institution is in the region when its `medins_admdvs` starts with one of these.
    pub in_region_prefixes: Vec<String>,
    /// Largest accepted difference between a line's amount and `pric × cnt`.
    #[serde(default = "one_fen")]
    pub line_amount_tolerance: Fen,
}

fn one_fen() -> Fen {
    Fen(1)
}

/// Which national `hosp_lv` codes count as one deductible level.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelMap {
    pub level: u8,
    pub name: String,
    pub hosp_lv: Vec<Code>,
}

/// The `setlinfo` summary column a fund's payments are added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SummaryColumn {
    HifpPay,
    CvlservPay,
    HifesPay,
    HifmiPay,
    HifobPay,
    MafPay,
    OthPay,
}

/// A fund (`fund_pay_type`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fund {
    pub code: Code,
    pub name: String,
    pub column: SummaryColumn,
}

/// The benefits of one scheme (`insutype`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    pub insutype: Code,
    pub name: String,
    #[serde(default)]
    pub account: Option<Account>,
    #[serde(default)]
    pub flat_items: Vec<FlatItem>,
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub remote_adjustments: Vec<RemoteAdjustment>,
    #[serde(default)]
    pub large_amount: Option<LargeAmount>,
    #[serde(default)]
    pub catastrophic: Option<Catastrophic>,
    #[serde(default)]
    pub civil_servant: Option<CivilServant>,
    #[serde(default)]
    pub assistance: Option<Assistance>,
    #[serde(default)]
    pub backstop: Option<Backstop>,
}

/// Personal account (个人账户) use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// `fund_pay_type` of the account row in `setldetail` (310200).
    pub fund: Code,
    pub name: String,
    pub covers: AccountCovers,
}

/// Which part of the patient's share the account may pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountCovers {
    /// Everything the patient owes, 全自费 included.
    AllPersonal,
    /// Only the in-scope part of the patient's share.
    InScope,
}

/// A flat fund payment per item line (互联网复诊).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatItem {
    pub med_list_codg: String,
    pub name: String,
    pub fund: Code,
    /// Amount per line by deductible level; a level not listed gets nothing.
    pub amounts: Vec<LevelAmount>,
}

/// An amount for one deductible level.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelAmount {
    pub level: u8,
    pub amount: Fen,
}

/// Where a visit took place relative to the pooling region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RegionFilter {
    #[default]
    Any,
    In,
    Out,
    OutReferred,
    OutUnreferred,
    /// Outside the region with this filing status (whatever rate class it settles under).
    FiledReferral,
    FiledLongTerm,
    FiledEmergency,
    FiledTemporary,
    InProvince,
    Unfiled,
}

/// How the deductible is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeductibleKind {
    /// Once per admission (interim and final settlements of one admission share it).
    PerAdmission,
    /// Once per calendar year across this bucket's settlements.
    PerYear,
    /// On every settlement.
    PerVisit,
    None,
}

/// Over what amount bands are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BandBasis {
    /// This settlement's amount above the deductible.
    #[default]
    Visit,
    /// The year's accumulated amount above the deductible (difference form).
    Year,
}

/// A benefit regime (门诊统筹, 住院, 两病 …) with its own deductible, ratios and cap.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// Short id (≤ 15 bytes), used in accumulator keys and traces.
    pub id: Code,
    pub name: String,
    pub med_types: Vec<Code>,
    /// When set, `dise_codg` must start with one of these.
    #[serde(default)]
    pub dise_prefixes: Vec<String>,
    #[serde(default)]
    pub region: RegionFilter,
    /// When set, the visit's deductible level must be one of these.
    #[serde(default)]
    pub levels: Vec<u8>,
    pub fund: Code,
    /// Buckets sharing a cap group share one annual cap; defaults to the bucket id.
    #[serde(default)]
    pub cap_group: Option<Code>,
    #[serde(default)]
    pub annual_cap: Option<Fen>,
    pub deductible_kind: DeductibleKind,
    #[serde(default)]
    pub band_basis: BandBasis,
    pub rates: Vec<Rate>,
}

impl Bucket {
    /// The cap group this bucket's payments count against.
    pub fn cap_group(&self) -> Code {
        self.cap_group.unwrap_or(self.id)
    }
}

/// One row of a ratio table: the first row matching the visit applies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    #[serde(default)]
    pub region: RegionFilter,
    #[serde(default)]
    pub levels: Vec<u8>,
    #[serde(default)]
    pub psn_types: Vec<Code>,
    /// Tilt rows: only for persons holding one of these identities (empty = anyone).
    #[serde(default)]
    pub identities: Vec<Code>,
    #[serde(default)]
    pub deductible: Fen,
    #[serde(default)]
    pub ratio: Option<Ratio>,
    #[serde(default)]
    pub bands: Vec<Band>,
}

/// An amount band: `ratio` applies to the part of the amount up to `upto` (the last band has none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    #[serde(default)]
    pub upto: Option<Fen>,
    pub ratio: Ratio,
}

/// Reduced benefits for care outside the region (mechanisms M1–M3 of settlement.md §13; M4 is the
/// rate table's `region` rows).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteAdjustment {
    pub region: RegionFilter,
    /// Buckets it applies to; empty = all.
    #[serde(default)]
    pub buckets: Vec<Code>,
    /// M1: extra 先行自付 share of each line's in-scope amount.
    #[serde(default)]
    pub extra_preselfpay: Option<Ratio>,
    /// M2: ratio points taken off.
    #[serde(default)]
    pub ratio_minus: Option<Ratio>,
    /// M3: ratio multiplied by this.
    #[serde(default)]
    pub ratio_factor: Option<Ratio>,
}

/// Workers' large-amount layer above the basic cap (大额, 330100).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LargeAmount {
    pub fund: Code,
    pub buckets: Vec<Code>,
    pub ratio: Ratio,
    #[serde(default)]
    pub annual_cap: Option<Fen>,
}

/// Residents' catastrophic insurance on the year's accumulated in-scope self-pay (大病, 390200).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catastrophic {
    pub fund: Code,
    pub buckets: Vec<Code>,
    /// First tier whose identities the person has; a tier without identities is the default.
    pub tiers: Vec<Tier>,
}

/// A deductible/ratio/cap set for a group of persons.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub name: String,
    #[serde(default)]
    pub identities: Vec<Code>,
    #[serde(default)]
    pub deductible: Fen,
    #[serde(default)]
    pub ratio: Option<Ratio>,
    #[serde(default)]
    pub bands: Vec<Band>,
    #[serde(default)]
    pub annual_cap: Option<Fen>,
}

/// Civil-servant medical subsidy (公务员医疗补助, 320100).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CivilServant {
    pub fund: Code,
    pub buckets: Vec<Code>,
    pub ratios: Vec<PsnTypeRatio>,
}

/// A ratio for some person types (empty = any).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsnTypeRatio {
    #[serde(default)]
    pub psn_types: Vec<Code>,
    pub ratio: Ratio,
}

/// Medical assistance (医疗救助, 610100) by identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assistance {
    pub fund: Code,
    pub buckets: Vec<Code>,
    pub tiers: Vec<Tier>,
}

/// Annual out-of-pocket backstop (兜底).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backstop {
    pub fund: Code,
    pub buckets: Vec<Code>,
    pub identities: Vec<Code>,
    pub caps: Vec<BackstopCap>,
}

/// The out-of-pocket cap of one tier (region × level).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackstopCap {
    #[serde(default)]
    pub region: RegionFilter,
    #[serde(default)]
    pub levels: Vec<u8>,
    pub oop_cap: Fen,
}
