//! The generator's parameters as data. The scheme mix comes from a real county report (衡阳县 2021,
//! `clearing-and-budgets.md` §6.1, `[primary]`); the 九江 division codes are the real GB/T 2260
//! codes. Everything else here — pyramid, rates, fee medians, shares, names — is
//! **illustrative**: plausible for a Chinese county, chosen to exercise the engine, not measured.

/// Insured workers in the source county report.
pub const REPORT_WORKERS: u64 = 57_608;
/// Insured residents in the source county report.
pub const REPORT_RESIDENTS: u64 = 950_978;
/// Poor residents (特困, 低保, 返贫致贫 …) among them.
pub const REPORT_POOR_RESIDENTS: u64 = 69_919;
/// In-service workers stated in the report (the rest of the explained workers are retired).
pub const REPORT_WORKERS_IN_SERVICE: u64 = 34_146;
/// Retired workers stated in the report.
pub const REPORT_WORKERS_RETIRED: u64 = 18_611;

/// The pooling region (九江市).
pub const REGION_ADMDVS: &str = "360400";

/// A county-level division of the region: code, name, population weight (≈ ten-thousands of
/// residents, illustrative), and whether it is an urban district hosting the city's 三级 hospitals.
pub struct County {
    pub admdvs: &'static str,
    pub name: &'static str,
    pub weight: u32,
    pub urban: bool,
}

/// 九江's districts, counties and county-level cities.
pub const COUNTIES: [County; 13] = [
    County {
        admdvs: "360402",
        name: "濂溪区",
        weight: 25,
        urban: true,
    },
    County {
        admdvs: "360403",
        name: "浔阳区",
        weight: 30,
        urban: true,
    },
    County {
        admdvs: "360404",
        name: "柴桑区",
        weight: 25,
        urban: false,
    },
    County {
        admdvs: "360423",
        name: "武宁县",
        weight: 35,
        urban: false,
    },
    County {
        admdvs: "360424",
        name: "修水县",
        weight: 75,
        urban: false,
    },
    County {
        admdvs: "360425",
        name: "永修县",
        weight: 35,
        urban: false,
    },
    County {
        admdvs: "360426",
        name: "德安县",
        weight: 18,
        urban: false,
    },
    County {
        admdvs: "360428",
        name: "都昌县",
        weight: 65,
        urban: false,
    },
    County {
        admdvs: "360429",
        name: "湖口县",
        weight: 25,
        urban: false,
    },
    County {
        admdvs: "360430",
        name: "彭泽县",
        weight: 30,
        urban: false,
    },
    County {
        admdvs: "360481",
        name: "瑞昌市",
        weight: 42,
        urban: false,
    },
    County {
        admdvs: "360482",
        name: "共青城市",
        weight: 20,
        urban: false,
    },
    County {
        admdvs: "360483",
        name: "庐山市",
        weight: 25,
        urban: false,
    },
];

/// A hospital outside the region that the region's insured travel to (always generated).
pub struct RemoteHospital {
    pub admdvs: &'static str,
    pub name: &'static str,
    pub hosp_lv: &'static str,
}

/// Out-of-region 三级甲等 hospitals: in-province (南昌) and cross-province.
pub const REMOTE_HOSPITALS: [RemoteHospital; 5] = [
    RemoteHospital {
        admdvs: "360100",
        name: "江西省人民医院",
        hosp_lv: "2",
    },
    RemoteHospital {
        admdvs: "360100",
        name: "南昌大学第一附属医院",
        hosp_lv: "2",
    },
    RemoteHospital {
        admdvs: "360100",
        name: "南昌大学第二附属医院",
        hosp_lv: "2",
    },
    RemoteHospital {
        admdvs: "330100",
        name: "浙江大学医学院附属第一医院",
        hosp_lv: "2",
    },
    RemoteHospital {
        admdvs: "420100",
        name: "华中科技大学同济医学院附属同济医院",
        hosp_lv: "2",
    },
];

/// Institutions per county: one 二级 per this many persons (at least one per populated county).
pub const PERSONS_PER_SECOND_LEVEL: u64 = 100_000;
/// One township health centre (乡镇卫生院, 一级) per this many persons.
pub const PERSONS_PER_TOWNSHIP_CENTRE: u64 = 25_000;
/// One village clinic (村卫生室, ungraded) per this many persons.
pub const PERSONS_PER_VILLAGE_CLINIC: u64 = 2_000;
/// One designated pharmacy per this many persons.
pub const PERSONS_PER_PHARMACY: u64 = 3_000;
/// One city 三级 hospital per this many persons, beyond the first.
pub const PERSONS_PER_THIRD_LEVEL: u64 = 600_000;

/// Five-year age bands 0–4 … 95–99: relative weight of the whole population and male share in
/// per mille. A county shape with working-age out-migration and a large 45–59 cohort.
pub const AGE_BANDS: [(u32, u32); 20] = [
    (55, 535),
    (68, 535),
    (70, 535),
    (58, 530),
    (45, 520),
    (52, 515),
    (72, 510),
    (62, 510),
    (58, 510),
    (75, 505),
    (85, 505),
    (72, 500),
    (52, 500),
    (55, 495),
    (38, 490),
    (23, 470),
    (14, 440),
    (7, 400),
    (2, 370),
    (1, 330),
];

/// Extra weight (percent) of a band among poor residents: the poor are older.
pub const POOR_AGE_FACTOR_PERCENT: [u32; 20] = [
    120, 120, 120, 100, 60, 60, 60, 70, 80, 100, 110, 120, 150, 180, 220, 250, 260, 260, 260, 260,
];

/// In-service workers are 18–59; retirees 50 and over (women retire earlier).
pub const WORKER_MIN_AGE: u32 = 18;
pub const WORKER_MAX_AGE: u32 = 59;
pub const RETIREE_MIN_AGE_FEMALE: u32 = 50;
pub const RETIREE_MIN_AGE_MALE: u32 = 60;

/// Identity mix of poor residents (per mille): 特困, 低保, 返贫致贫, 脱贫不稳定, 边缘易致贫.
pub const POOR_IDENTITIES: [(&str, u32); 5] = [
    ("TK", 100),
    ("DB", 550),
    ("FP", 100),
    ("TPBW", 150),
    ("BYZP", 100),
];
/// Share of poor residents (per mille) who are also severely disabled (ZDCJ).
pub const POOR_DISABLED_PER_MILLE: u32 = 80;

/// Share of residents registered as urban (15) rather than rural (16), per mille.
pub const URBAN_RESIDENT_PER_MILLE: u32 = 300;
/// Share of residents who enrolled late in the year (with a 3-month wait), per mille.
pub const LATE_ENROLMENT_PER_MILLE: u32 = 15;
/// Share of workers whose insurance is suspended (status 2), per mille.
pub const SUSPENDED_WORKER_PER_MILLE: u32 = 20;
/// Share of in-service workers in flexible employment (virtual employers), per mille.
pub const FLEXIBLE_WORKER_PER_MILLE: u32 = 200;

/// Employer kinds with weights (per mille): enterprise, public institution, government.
pub const EMPLOYER_KINDS: [(&str, u32); 3] = [
    ("enterprise", 800),
    ("public_institution", 120),
    ("government", 80),
];
/// Employer size classes: (min, max) employees and weight (per mille of employers).
pub const EMPLOYER_SIZES: [(u32, u32, u32); 5] = [
    (1, 9, 600),
    (10, 49, 280),
    (50, 199, 90),
    (200, 999, 25),
    (1000, 3000, 5),
];
/// Median monthly wage of an employer, in fen (illustrative: 九江 ≈ 5,500 yuan).
pub const EMPLOYER_MEDIAN_WAGE_FEN: i64 = 550_000;
/// Median personal-account balance: in service, retired (fen).
pub const ACCOUNT_MEDIAN_IN_SERVICE_FEN: i64 = 200_000;
pub const ACCOUNT_MEDIAN_RETIRED_FEN: i64 = 300_000;

/// Per-age-band yearly event rates in per mille of a person-year, for bands
/// 0–4, 5–14, 15–44, 45–59, 60–69, 70–79, 80+.
pub const RATE_BAND_UPPER_AGES: [u32; 7] = [4, 14, 44, 59, 69, 79, u32::MAX];
/// Inpatient admissions (residents ≈ 0.2 a year overall, rising with age).
pub const ADMISSIONS_PER_MILLE: [u32; 7] = [210, 70, 110, 200, 360, 500, 600];
/// Ordinary outpatient visits (med_type 11).
pub const OUTPATIENT_PER_MILLE: [u32; 7] = [5_000, 2_500, 2_000, 3_000, 5_000, 6_000, 6_500];
/// Pharmacy purchases (med_type 41) of workers; residents buy at a tenth of this rate.
pub const PHARMACY_PER_MILLE: [u32; 7] = [1_000, 1_500, 4_000, 5_000, 6_000, 6_000, 5_000];
/// Prevalence of registered hypertension (两病, I10) and diabetes (E11), per mille.
pub const HYPERTENSION_PER_MILLE: [u32; 7] = [0, 0, 30, 120, 220, 260, 260];
pub const DIABETES_PER_MILLE: [u32; 7] = [0, 0, 10, 50, 80, 90, 80];
/// Monthly chance (per mille) that a registered 两病 patient collects medicines.
pub const CHRONIC_MONTHLY_VISIT_PER_MILLE: u32 = 700;
/// In-service workers are admitted at this percentage of the residents' rate.
pub const IN_SERVICE_ADMISSION_PERCENT: u32 = 70;
/// Workers settle more outpatient visits through insurance (percent of the residents' rate).
pub const WORKER_OUTPATIENT_PERCENT: u32 = 150;

/// Share of admissions treated outside the region (per mille) and, of those, referred.
pub const REMOTE_ADMISSION_PER_MILLE: u32 = 40;
pub const REMOTE_REFERRED_PER_MILLE: u32 = 500;
/// Share of outpatient visits outside the region (per mille).
pub const REMOTE_OUTPATIENT_PER_MILLE: u32 = 10;
/// Where ordinary admissions go (per mille): 三级, 二级, 一级; serious chapters use the second row.
pub const ADMISSION_LEVELS: [u32; 3] = [250, 500, 250];
pub const SERIOUS_ADMISSION_LEVELS: [u32; 3] = [450, 450, 100];
/// Where outpatient visits go (per mille): 三级, 二级, township 一级, village clinic.
pub const OUTPATIENT_LEVELS: [u32; 4] = [70, 180, 300, 450];
/// Where 两病 visits go (per mille): 二级, township 一级.
pub const CHRONIC_LEVELS: [u32; 2] = [400, 600];

/// A diagnosis chapter (ICD-10 code range) and how its visits look.
pub struct Chapter {
    /// First and last three-character category of the range.
    pub from: &'static str,
    pub to: &'static str,
    /// Sampling weights for admissions, outpatient visits and pharmacy purchases.
    pub inpatient_weight: u32,
    pub outpatient_weight: u32,
    pub pharmacy_weight: u32,
    /// Median inpatient bill before the setting factor [`INPATIENT_LEVEL_PERCENT`].
    pub inpatient_median_fen: i64,
    pub stay_median_days: u32,
    /// Whether the chapter's admissions often involve an operation.
    pub surgical: bool,
    /// Outpatient bill factor in percent of the setting's median.
    pub outpatient_percent: u32,
}

/// The chapters yibao samples from (V–Z external causes and factors are left out).
pub const CHAPTERS: [Chapter; 17] = [
    chapter("A00", "B99", 3, 3, 0, 450_000, 7, false, 100),
    chapter("C00", "D48", 7, 1, 0, 1_400_000, 11, true, 250),
    chapter("D50", "D89", 1, 1, 0, 550_000, 8, false, 120),
    chapter("E00", "E90", 4, 4, 10, 550_000, 8, false, 120),
    chapter("F00", "F99", 1, 1, 0, 700_000, 20, false, 130),
    chapter("G00", "G99", 3, 3, 0, 800_000, 10, false, 110),
    chapter("H00", "H95", 3, 5, 0, 500_000, 4, true, 100),
    chapter("I00", "I99", 16, 8, 20, 900_000, 9, false, 110),
    chapter("J00", "J99", 18, 30, 30, 450_000, 7, false, 100),
    chapter("K00", "K93", 11, 12, 15, 650_000, 7, true, 100),
    chapter("L00", "L99", 1, 6, 0, 350_000, 7, false, 90),
    chapter("M00", "M99", 7, 10, 15, 750_000, 9, true, 100),
    chapter("N00", "N99", 6, 5, 0, 600_000, 7, true, 100),
    chapter("O00", "O99", 8, 0, 0, 450_000, 4, true, 100),
    chapter("Q00", "Q99", 1, 0, 0, 800_000, 8, true, 100),
    chapter("R00", "R99", 3, 8, 10, 350_000, 5, false, 90),
    chapter("S00", "T98", 9, 5, 0, 900_000, 10, true, 100),
];

#[allow(clippy::too_many_arguments)]
const fn chapter(
    from: &'static str,
    to: &'static str,
    inpatient_weight: u32,
    outpatient_weight: u32,
    pharmacy_weight: u32,
    inpatient_median_fen: i64,
    stay_median_days: u32,
    surgical: bool,
    outpatient_percent: u32,
) -> Chapter {
    Chapter {
        from,
        to,
        inpatient_weight,
        outpatient_weight,
        pharmacy_weight,
        inpatient_median_fen,
        stay_median_days,
        surgical,
        outpatient_percent,
    }
}

/// Inpatient bill factor by setting (percent of the chapter median): 一级, 二级, 三级, out of
/// region. With the fixed items (bed, nursing, tests, operations) the mean bills come to about
/// 2,200 / 5,800 / 10,500 yuan, and ≈ 20,000 out of region (九江's outbound average was 22,826 in
/// 2019, `clearing-and-budgets.md` §6.4, `[primary]`).
pub const INPATIENT_LEVEL_PERCENT: [u32; 4] = [25, 70, 130, 320];
/// Chance (per mille) that an admission of a surgical chapter has an operation, by setting.
pub const SURGERY_PER_MILLE: [u32; 4] = [150, 500, 700, 750];
/// Median outpatient bill (fen) by setting: village clinic, township, 二级, 三级, out of region.
pub const OUTPATIENT_MEDIAN_FEN: [i64; 5] = [4_500, 8_000, 18_000, 32_000, 45_000];
/// Median pharmacy purchase and 两病 monthly prescription (fen).
pub const PHARMACY_MEDIAN_FEN: i64 = 8_500;
pub const CHRONIC_MEDIAN_FEN: i64 = 12_000;

/// Shares (percent) of the variable part of an inpatient bill: western drugs, patent medicines,
/// examinations, laboratory, treatment, materials, surgery (surgical chapters only; otherwise
/// added to treatment).
pub const INPATIENT_SHARES_PERCENT: [u32; 7] = [33, 8, 14, 14, 12, 10, 9];

/// Discretised log-normal multipliers (basis points of the median) at 64 equiprobable
/// quantiles, for σ = 0.3, 0.5, 0.7 and 0.9: `exp(σ·Φ⁻¹((i + ½) / 64))`. Integer tables keep the
/// output identical on every platform.
pub const LOGNORMAL_BP: [[u32; 64]; 4] = [
    [
        4842, 5509, 5895, 6186, 6427, 6637, 6826, 6999, 7161, 7313, 7457, 7596, 7729, 7859, 7985,
        8108, 8228, 8347, 8463, 8579, 8693, 8807, 8920, 9032, 9145, 9257, 9369, 9482, 9596, 9710,
        9825, 9941, 10059, 10178, 10299, 10421, 10546, 10673, 10803, 10936, 11072, 11211, 11355,
        11503, 11657, 11816, 11981, 12153, 12334, 12524, 12725, 12938, 13165, 13409, 13674, 13965,
        14287, 14649, 15066, 15559, 16166, 16964, 18153, 20653,
    ],
    [
        2986, 3702, 4144, 4491, 4787, 5050, 5292, 5518, 5732, 5936, 6133, 6324, 6510, 6693, 6872,
        7049, 7225, 7399, 7572, 7745, 7918, 8091, 8265, 8440, 8615, 8792, 8971, 9152, 9336, 9521,
        9710, 9903, 10098, 10298, 10503, 10712, 10926, 11147, 11373, 11607, 11849, 12099, 12359,
        12629, 12911, 13206, 13515, 13841, 14186, 14551, 14942, 15361, 15813, 16306, 16847, 17447,
        18123, 18896, 19800, 20891, 22267, 24129, 27012, 33494,
    ],
    [
        1841, 2488, 2914, 3260, 3565, 3843, 4103, 4350, 4588, 4818, 5043, 5265, 5483, 5699, 5915,
        6129, 6344, 6559, 6775, 6993, 7212, 7434, 7658, 7886, 8117, 8351, 8590, 8834, 9082, 9337,
        9597, 9864, 10138, 10420, 10711, 11010, 11320, 11641, 11974, 12320, 12681, 13057, 13451,
        13865, 14300, 14759, 15246, 15763, 16315, 16907, 17546, 18238, 18995, 19828, 20755, 21798,
        22989, 24373, 26022, 28051, 30670, 34321, 40197, 54319,
    ],
    [
        1135, 1672, 2048, 2367, 2655, 2924, 3181, 3429, 3672, 3911, 4147, 4383, 4618, 4854, 5091,
        5329, 5571, 5815, 6062, 6314, 6570, 6830, 7096, 7368, 7647, 7932, 8225, 8526, 8836, 9155,
        9485, 9825, 10178, 10543, 10923, 11317, 11729, 12158, 12607, 13077, 13571, 14092, 14641,
        15222, 15839, 16496, 17198, 17952, 18764, 19644, 20603, 21655, 22817, 24112, 25570, 27234,
        29161, 31438, 34198, 37664, 42245, 48817, 59816, 88093,
    ],
];

/// Index into [`LOGNORMAL_BP`] by spread.
#[derive(Copy, Clone, Debug)]
pub enum Spread {
    Narrow = 0,
    Moderate = 1,
    Wide = 2,
    VeryWide = 3,
}

/// Common surnames (weighted by rough frequency in Jiangxi; illustrative).
pub const SURNAMES: [(&str, u32); 30] = [
    ("刘", 80),
    ("陈", 75),
    ("王", 70),
    ("李", 65),
    ("张", 60),
    ("胡", 45),
    ("黄", 45),
    ("吴", 40),
    ("徐", 38),
    ("周", 36),
    ("熊", 30),
    ("杨", 30),
    ("罗", 28),
    ("朱", 26),
    ("曹", 20),
    ("余", 20),
    ("邓", 18),
    ("万", 16),
    ("彭", 16),
    ("涂", 14),
    ("肖", 14),
    ("汪", 12),
    ("程", 12),
    ("邹", 12),
    ("蔡", 10),
    ("袁", 10),
    ("钟", 10),
    ("付", 10),
    ("章", 8),
    ("喻", 8),
];
/// Given-name characters by sex.
pub const GIVEN_MALE: &str = "伟强军勇杰涛明超辉刚平俊峰磊鹏华建国志文斌海波宇浩龙飞林斌晨阳";
pub const GIVEN_FEMALE: &str = "芳娟敏静丽艳娜霞燕玲婷红梅兰琴秀英慧萍莉雪洁颖倩琳欣怡佳悦";

/// Syllables for synthetic place names (townships, villages) and firm names.
pub const PLACE_SYLLABLES: &str =
    "安白宝昌城丰港高和河湖华黄吉江金景乐林龙梅南平桥青泉山石太桃田湾溪新阳源云樟";
pub const FIRM_WORDS: [&str; 12] = [
    "恒通", "华兴", "鑫源", "博远", "长江", "庐山", "浔阳", "赣北", "瑞丰", "宏达", "永安", "德润",
];
pub const FIRM_TRADES: [&str; 10] = [
    "建材", "纺织", "物流", "食品", "化工", "机械", "电子", "商贸", "建筑", "医药",
];
pub const GOVERNMENT_OFFICES: [&str; 8] = [
    "财政局",
    "教育局",
    "人民法院",
    "公安局",
    "税务局",
    "自然资源局",
    "卫生健康委员会",
    "人民政府办公室",
];
pub const PUBLIC_INSTITUTIONS: [&str; 5] = [
    "第一中学",
    "实验小学",
    "疾病预防控制中心",
    "广播电视台",
    "水利工程管理站",
];
pub const PHARMACY_BRANDS: [&str; 5] = ["黄庆仁栈", "华润", "老百姓", "益丰", "九州通"];
