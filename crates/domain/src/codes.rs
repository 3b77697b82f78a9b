//! National dictionary codes as open enums. Provinces extend every table, so a code we do not know
//! is carried as [`Code`] inside the `Other` variant, never rejected.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest dictionary code carried inline (fund codes have up to 8 digits, provincial `med_type`s 6).
pub const CODE_CAPACITY: usize = 15;

/// A short dictionary code (`"390100"`, `"21"`, `"TK"`), stored inline without allocation so that
/// codes can be compared and copied freely on the hot path: byte 0 holds the length, the rest the
/// text, zero-padded, so equality is one 16-byte comparison.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Code {
    raw: [u8; CODE_CAPACITY + 1],
}

/// A code longer than [`CODE_CAPACITY`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("code `{0}` is longer than 15 bytes")]
pub struct CodeTooLong(pub String);

impl Code {
    /// Copies `text` (trimmed) into a code.
    pub fn new(text: &str) -> Result<Code, CodeTooLong> {
        let text = text.trim();
        if text.len() > CODE_CAPACITY {
            return Err(CodeTooLong(text.to_string()));
        }
        let mut raw = [0u8; CODE_CAPACITY + 1];
        raw[0] = text.len() as u8;
        raw[1..=text.len()].copy_from_slice(text.as_bytes());
        Ok(Code { raw })
    }

    /// For literals known to fit; panics otherwise (only used with constant dictionary values).
    pub fn lit(text: &str) -> Code {
        Code::new(text).expect("dictionary literal fits in a Code")
    }

    pub fn as_str(&self) -> &str {
        // Built only from whole &str values, so the bytes are valid UTF-8.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The code's bytes (cheaper than [`Code::as_str`] for comparisons on the hot path).
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw[1..=usize::from(self.raw[0])]
    }

    pub fn is_empty(&self) -> bool {
        self.raw[0] == 0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Code {
    type Err = CodeTooLong;
    fn from_str(s: &str) -> Result<Code, CodeTooLong> {
        Code::new(s)
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Code, D::Error> {
        let value = CodeText::deserialize(deserializer)?;
        Code::new(&value.0).map_err(serde::de::Error::custom)
    }
}

/// Accepts a code written as a string or a bare integer (`"21"` or `21`).
struct CodeText(String);

impl<'de> Deserialize<'de> for CodeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CodeText, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
        }
        Ok(CodeText(match Raw::deserialize(deserializer)? {
            Raw::Text(t) => t,
            Raw::Int(i) => i.to_string(),
        }))
    }
}

/// Declares an open enum over a national code table: named variants for the core values, and
/// `Other(Code)` for every extension.
macro_rules! open_code_table {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value not among the core ones (provincial extension), carried as is.
            Other(Code),
        }

        impl $name {
            /// The core values as `(code, label)`, in the dictionary's order.
            pub const VALUES: &'static [(&'static str, &'static str)] = &[$(($code, $label),)*];

            /// Reads a code; unknown values become `Other`.
            pub fn from_code(code: Code) -> $name {
                match code.as_str() {
                    $($code => $name::$variant,)*
                    _ => $name::Other(code),
                }
            }

            /// The wire code.
            pub fn code(self) -> Code {
                match self {
                    $($name::$variant => Code::lit($code),)*
                    $name::Other(code) => code,
                }
            }

            /// The wire code as text.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $code,)*
                    $name::Other(code) => code.as_str(),
                }
            }

            /// The dictionary's Chinese name, if this is a core value.
            pub fn label(self) -> Option<&'static str> {
                match self {
                    $($name::$variant => Some($label),)*
                    $name::Other(_) => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code().as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.code().serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                Code::deserialize(deserializer).map($name::from_code)
            }
        }
    };
}

open_code_table! {
    /// 险种 `insutype`.
    Insutype {
        Worker = "310", "职工基本医疗保险";
        CivilServant = "320", "公务员医疗补助";
        LargeAmount = "330", "大额医疗费用补助";
        RetiredCadre = "340", "离休人员医疗保障";
        DisabledServicemen = "350", "一至六级残废军人医疗补助";
        RedArmyVeteran = "360", "老红军医疗保障";
        EnterpriseSupplementary = "370", "企业补充医疗保险";
        NewRuralCooperative = "380", "新型农村合作医疗";
        Resident = "390", "城乡居民基本医疗保险";
        UrbanResident = "391", "城镇居民基本医疗保险";
        ResidentCatastrophic = "392", "城乡居民大病医疗保险";
        OtherSpecial = "399", "其他特殊人员医疗保障";
        LongTermCare = "410", "长期照护保险";
        Maternity = "510", "生育保险";
    }
}

open_code_table! {
    /// 医疗类别 `med_type`.
    MedType {
        Outpatient = "11", "普通门诊";
        Registration = "12", "门诊挂号";
        Emergency = "13", "急诊";
        ChronicSpecialOutpatient = "14", "门诊慢特病";
        Inpatient = "21", "普通住院";
        InjuryInpatient = "22", "外伤住院";
        DaySurgery = "28", "日间手术";
        PharmacyPurchase = "41", "定点药店购药";
        MaternityOutpatient = "51", "生育门诊";
        MaternityInpatient = "52", "生育住院";
    }
}

open_code_table! {
    /// 基金支付类型 `fund_pay_type`.
    FundPayType {
        WorkerPooling = "310100", "职工基本医疗保险统筹基金";
        WorkerAccount = "310200", "职工基本医疗保险个人账户基金";
        CivilServant = "320100", "公务员医疗补助资金";
        LargeAmount = "330100", "职工大额医疗费用补助基金";
        RetiredCadre = "340100", "离休人员医疗保障基金";
        DisabledServicemen = "350100", "一至六级残废军人医疗补助基金";
        EnterpriseSupplementary = "370100", "企业补充医疗保险基金";
        ResidentPooling = "390100", "城乡居民基本医疗保险基金";
        ResidentCatastrophic = "390200", "城乡居民大病医疗保险基金";
        Maternity = "510100", "生育基金";
        MedicalAssistance = "610100", "医疗救助基金";
        HospitalAdvance = "999996", "医院垫付";
        OtherFund = "999997", "其他基金";
    }
}

open_code_table! {
    /// 收费项目等级 `chrgitm_lv`.
    ChrgitmLv {
        ClassA = "01", "甲类";
        ClassB = "02", "乙类";
        ClassC = "03", "丙类";
    }
}

open_code_table! {
    /// 医疗收费项目类别 `med_chrgitm_type`.
    MedChrgitmType {
        Bed = "01", "床位费";
        Consultation = "02", "诊察费";
        Examination = "03", "检查费";
        Laboratory = "04", "化验费";
        Treatment = "05", "治疗费";
        Surgery = "06", "手术费";
        Nursing = "07", "护理费";
        Materials = "08", "卫生材料费";
        WesternMedicine = "09", "西药费";
        HerbalPieces = "10", "中药饮片费";
        ChinesePatentMedicine = "11", "中成药费";
        GeneralService = "12", "一般诊疗费";
        RegistrationFee = "13", "挂号费";
        OtherFee = "14", "其他费";
    }
}

open_code_table! {
    /// 医院等级 `hosp_lv`.
    HospLv {
        ThirdSpecial = "1", "三级特等";
        ThirdA = "2", "三级甲等";
        ThirdB = "3", "三级乙等";
        ThirdC = "4", "三级丙等";
        SecondA = "5", "二级甲等";
        SecondB = "6", "二级乙等";
        SecondC = "7", "二级丙等";
        FirstA = "8", "一级甲等";
        FirstB = "9", "一级乙等";
        FirstC = "10", "一级丙等";
        Ungraded = "11", "无等级";
        ThirdUnrated = "12", "三级无等";
        SecondUnrated = "13", "二级无等";
        FirstUnrated = "14", "一级无等";
    }
}

open_code_table! {
    /// 定点医药机构类型 `fixmedins_type`.
    FixmedinsType {
        MedicalInstitution = "1", "定点医疗机构";
        RetailPharmacy = "2", "定点零售药店";
    }
}

open_code_table! {
    /// 人员类别 `psn_type` (strongly regional; these are the common national values).
    PsnType {
        InService = "11", "在职";
        Retired = "12", "退休";
        RetiredCadre = "13", "离休";
        UrbanResident = "15", "城镇居民";
        RuralResident = "16", "农村居民";
    }
}

open_code_table! {
    /// 性别 `gend`.
    Gend {
        Unknown = "0", "未知的性别";
        Male = "1", "男";
        Female = "2", "女";
        Unspecified = "9", "未说明的性别";
    }
}

open_code_table! {
    /// 异地就医备案类别 `fil_type` (yibao's field name): 01–04 as a production client's 异地就医人员类别
    /// table numbers them, 05–06 ours for the other temporary kinds of `clearing-and-budgets.md`
    /// §1.2.
    RemoteFilingType {
        ResettledRetiree = "01", "异地安置退休";
        LongTermResident = "02", "异地长期居住";
        WorkingElsewhere = "03", "常驻异地工作";
        Referral = "04", "异地转诊";
        EmergencyRescue = "05", "异地急诊抢救";
        OtherTemporary = "06", "其他临时外出";
    }
}

/// 就诊凭证类型 `mdtrt_cert_type`.
const MDTRT_CERT_TYPE: &[(&str, &str)] = &[
    ("01", "医保电子凭证"),
    ("02", "居民身份证"),
    ("03", "社会保障卡"),
];

/// 人员证件类型 `psn_cert_type`.
const PSN_CERT_TYPE: &[(&str, &str)] = &[
    ("01", "居民身份证（户口簿）"),
    ("02", "中国人民解放军军官证"),
    ("03", "中国人民武装警察警官证"),
    ("04", "香港特区护照/港澳居民来往内地通行证"),
    ("05", "澳门特区护照/港澳居民来往内地通行证"),
    ("06", "台湾居民来往大陆通行证"),
    ("07", "外国人永久居留证"),
    ("08", "外国人护照"),
    ("09", "残疾人证"),
    ("10", "军烈属证明"),
    ("11", "外国人就业证"),
    ("12", "外国专家证"),
    ("13", "外国人常驻记者证"),
    ("14", "台港澳人员就业证"),
    ("15", "回国（来华）定居专家证"),
    ("16", "中国护照"),
    ("17", "港澳台居民居住证"),
    ("90", "社会保障卡"),
    ("99", "其他身份证件"),
];

open_code_table! {
    /// 清算类别 `clr_type` (many 99xx/999xx provincial values are carried as `Other`).
    ClrType {
        Outpatient = "11", "门诊";
        Registration = "12", "门诊挂号";
        Emergency = "13", "急诊";
        ChronicSpecialOutpatient = "14", "门诊慢特病";
        TwoDiseasesOutpatient = "15", "两病门诊";
        Inpatient = "21", "住院";
        InjuryInpatient = "22", "意外伤害住院";
        DaySurgery = "28", "日间手术";
        PharmacyPurchase = "41", "药店购药";
        Deferred = "51", "暂缓结算";
        MaternityOutpatient = "53", "生育门诊";
        OtherCategory = "99", "其他";
    }
}

impl ClrType {
    /// The clearing category of a settlement of `med_type`: the same code for the national
    /// categories that have one, 53 for 生育门诊 (`med_type` 51), 99 for every other.
    pub fn of_med_type(med_type: MedType) -> ClrType {
        match med_type {
            MedType::Outpatient => ClrType::Outpatient,
            MedType::Registration => ClrType::Registration,
            MedType::Emergency => ClrType::Emergency,
            MedType::ChronicSpecialOutpatient => ClrType::ChronicSpecialOutpatient,
            MedType::Inpatient => ClrType::Inpatient,
            MedType::InjuryInpatient => ClrType::InjuryInpatient,
            MedType::DaySurgery => ClrType::DaySurgery,
            MedType::PharmacyPurchase => ClrType::PharmacyPurchase,
            MedType::MaternityOutpatient => ClrType::MaternityOutpatient,
            _ => ClrType::OtherCategory,
        }
    }
}

open_code_table! {
    /// 清算方式 `clr_way`, as Hunan numbers it (`interface.md` §8). Provinces differ — a Hebei core
    /// system uses 20 单病种, 30 DIP, 40 DRG, 50 按床日, 60 按人头 — so only the code is relied on,
    /// never the label of a value outside 1 按项目.
    ClrWay {
        ByItem = "1", "按项目";
        SingleDisease = "2", "单病种";
        ByBedDay = "3", "按床日";
        PerCapita = "4", "按人头";
        MonthlyQuota = "8", "月定额";
        OtherWay = "9", "其他";
        Drg = "40", "DRG";
        Dip = "50", "DIP";
        DayWard = "902", "日间病床";
        GlobalPrepaid = "903", "总额预付";
        QuotaPostpaid = "904", "定额后付";
        Prepaid = "905", "预付";
        PerVisitQuota = "915", "次均定额";
    }
}

/// 人员参保状态 `psn_insu_stas`.
const PSN_INSU_STAS: &[(&str, &str)] = &[
    ("0", "未参保"),
    ("1", "正常参保"),
    ("2", "暂停参保"),
    ("3", "无效"),
    ("4", "终止参保"),
];

/// 对账结果 `stmt_rslt`.
const STMT_RSLT: &[(&str, &str)] = &[("0", "平"), ("1", "不平")];

/// The national code tables yibao knows, by dictionary type (the `type` of 1901 字典表查询), each
/// as `(code, label)` in the dictionary's order. Provinces extend every table; these are the core
/// values.
pub static DICTIONARY: &[(&str, &[(&str, &str)])] = &[
    ("insutype", Insutype::VALUES),
    ("med_type", MedType::VALUES),
    ("fund_pay_type", FundPayType::VALUES),
    ("chrgitm_lv", ChrgitmLv::VALUES),
    ("med_chrgitm_type", MedChrgitmType::VALUES),
    ("hosp_lv", HospLv::VALUES),
    ("fixmedins_type", FixmedinsType::VALUES),
    ("psn_type", PsnType::VALUES),
    ("gend", Gend::VALUES),
    ("fil_type", RemoteFilingType::VALUES),
    ("mdtrt_cert_type", MDTRT_CERT_TYPE),
    ("psn_cert_type", PSN_CERT_TYPE),
    ("clr_type", ClrType::VALUES),
    ("psn_insu_stas", PSN_INSU_STAS),
    ("stmt_rslt", STMT_RSLT),
];

/// The values of one dictionary type (case-insensitive, as clients spell it `MED_TYPE` too).
pub fn dictionary(dict_type: &str) -> Option<&'static [(&'static str, &'static str)]> {
    DICTIONARY
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(dict_type.trim()))
        .map(|(_, values)| *values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_enums_carry_unknown_codes() {
        assert_eq!(MedType::from_code(Code::lit("21")), MedType::Inpatient);
        let local = MedType::from_code(Code::lit("9901"));
        assert_eq!(local, MedType::Other(Code::lit("9901")));
        assert_eq!(local.code().as_str(), "9901");
        assert_eq!(
            FundPayType::ResidentPooling.label(),
            Some("城乡居民基本医疗保险基金")
        );
        let parsed: Insutype = serde_json::from_str("390").unwrap();
        assert_eq!(parsed, Insutype::Resident);
        assert!(Code::new("0123456789abcdef").is_err());
    }

    #[test]
    fn the_clearing_category_follows_the_medical_type() {
        let cases = [
            ("11", "11"),
            ("12", "12"),
            ("13", "13"),
            ("14", "14"),
            ("21", "21"),
            ("22", "22"),
            ("28", "28"),
            ("41", "41"),
            ("51", "53"),
            ("52", "99"),
            ("9901", "99"),
        ];
        for (med_type, clr_type) in cases {
            let med_type = MedType::from_code(Code::lit(med_type));
            assert_eq!(ClrType::of_med_type(med_type).code().as_str(), clr_type);
        }
        assert_eq!(ClrWay::from_code(Code::lit("1")), ClrWay::ByItem);
        assert_eq!(
            ClrWay::from_code(Code::lit("60")),
            ClrWay::Other(Code::lit("60"))
        );
    }

    #[test]
    fn the_dictionary_lists_each_table_once_with_unique_codes() {
        for (index, (name, values)) in DICTIONARY.iter().enumerate() {
            assert!(DICTIONARY[..index].iter().all(|(n, _)| n != name), "{name}");
            for (at, (code, _)) in values.iter().enumerate() {
                assert!(values[..at].iter().all(|(c, _)| c != code), "{name} {code}");
            }
        }
        assert_eq!(dictionary("MED_TYPE"), Some(MedType::VALUES));
        assert_eq!(MedType::VALUES[0], ("11", "普通门诊"));
        assert!(dictionary("no_such_table").is_none());
    }
}
