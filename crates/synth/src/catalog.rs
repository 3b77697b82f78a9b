//! The synthetic insurance catalogue: curated base items (real item names, national-style codes,
//! plausible 二级 prices — all illustrative) expanded into manufacturer variants with seeded
//! prices, grades (甲/乙/丙), 先行自付 ratios, price caps and use restrictions.

use crate::rng::{Draw, Stream};
use crate::tables::Spread;

/// Micro-yuan (1e-6 yuan) per fen.
pub const MICRO_PER_FEN: i64 = 10_000;

/// What a visit uses an item for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Registration,
    Consultation,
    InpatientConsultation,
    GeneralService,
    InternetFollowUp,
    Bed,
    Nursing,
    Exam,
    Lab,
    Treatment,
    Surgery,
    Other,
    Material,
    WesternDrug,
    PatentDrug,
    Herbal,
    Antihypertensive,
    Antidiabetic,
}

/// Number of [`Role`]s.
pub const ROLE_COUNT: usize = 18;

/// 甲 / 乙 / 丙.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Grade {
    A,
    B,
    C,
}

impl Grade {
    /// `chrgitm_lv` code.
    pub fn code(self) -> &'static str {
        match self {
            Grade::A => "01",
            Grade::B => "02",
            Grade::C => "03",
        }
    }
}

/// Restrictions written to the catalogue.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// `lmt_gend`: "1" male, "2" female.
    pub gend: Option<&'static str>,
    pub age_max_years: Option<u32>,
    /// Minimum deductible level 1/2/3.
    pub min_level: Option<u8>,
    /// 限制使用: needs hospital approval.
    pub restricted: bool,
}

/// One catalogue entry with the generator's base price.
#[derive(Clone, Debug)]
pub struct Item {
    pub code: String,
    pub name: String,
    /// `list_type`: 101 drugs and patent medicines, 102 decoction pieces, 201 services, 301 materials.
    pub list_type: &'static str,
    /// `med_chrgitm_type` code.
    pub chrgitm_type: &'static str,
    pub grade: Grade,
    pub selfpay_bp: u32,
    /// Unit price at a 二级 hospital, micro-yuan.
    pub price_micro: i64,
    /// `pric_uplmt_amt`, micro-yuan.
    pub cap_micro: Option<i64>,
    pub limits: Limits,
    pub role: Role,
    /// Typical quantity per line (units; herbs in grams).
    pub typical_count: u32,
}

/// The catalogue and its items grouped by role.
pub struct Catalog {
    pub items: Vec<Item>,
    by_role: Vec<Vec<usize>>,
}

impl Catalog {
    /// Items usable for `role` (never empty).
    pub fn role(&self, role: Role) -> &[usize] {
        &self.by_role[role as usize]
    }
}

/// A curated base item: name, code stem, unit price at 二级 (fen), grade, role, restrictions.
struct Base {
    name: &'static str,
    stem: &'static str,
    price_fen: i64,
    grade: Grade,
    role: Role,
    limits: Limits,
}

const fn base(
    name: &'static str,
    stem: &'static str,
    price_fen: i64,
    grade: Grade,
    role: Role,
) -> Base {
    Base {
        name,
        stem,
        price_fen,
        grade,
        role,
        limits: NO_LIMITS,
    }
}

const fn limited(
    name: &'static str,
    stem: &'static str,
    price_fen: i64,
    grade: Grade,
    role: Role,
    limits: Limits,
) -> Base {
    Base {
        name,
        stem,
        price_fen,
        grade,
        role,
        limits,
    }
}

const NO_LIMITS: Limits = Limits {
    gend: None,
    age_max_years: None,
    min_level: None,
    restricted: false,
};
const APPROVAL: Limits = Limits {
    restricted: true,
    ..NO_LIMITS
};
const FEMALE: Limits = Limits {
    gend: Some("2"),
    ..NO_LIMITS
};
const MALE: Limits = Limits {
    gend: Some("1"),
    ..NO_LIMITS
};
const SECOND_LEVEL: Limits = Limits {
    min_level: Some(2),
    ..NO_LIMITS
};
const THIRD_LEVEL: Limits = Limits {
    min_level: Some(3),
    ..NO_LIMITS
};
const SECOND_LEVEL_APPROVAL: Limits = Limits {
    min_level: Some(2),
    restricted: true,
    ..NO_LIMITS
};
const CHILDREN_6: Limits = Limits {
    age_max_years: Some(6),
    ..NO_LIMITS
};
const CHILDREN_14: Limits = Limits {
    age_max_years: Some(14),
    ..NO_LIMITS
};

use Grade::{A, B, C};
use Role::*;

/// Western drugs: stem is the ATC level-4 code; price per dispensing unit (box, vial).
const WESTERN: [Base; 70] = [
    base("阿莫西林胶囊", "J01CA", 1250, A, WesternDrug),
    base("头孢呋辛酯片", "J01DC", 2680, B, WesternDrug),
    base("注射用头孢曲松钠", "J01DD", 850, B, WesternDrug),
    base("左氧氟沙星片", "J01MA", 1890, A, WesternDrug),
    limited(
        "注射用美罗培南",
        "J01DH",
        9800,
        B,
        WesternDrug,
        SECOND_LEVEL_APPROVAL,
    ),
    base("阿奇霉素片", "J01FA", 1560, A, WesternDrug),
    limited(
        "注射用哌拉西林他唑巴坦",
        "J01CR",
        3200,
        B,
        WesternDrug,
        APPROVAL,
    ),
    base("奥美拉唑肠溶胶囊", "A02BC", 1420, A, WesternDrug),
    limited("注射用泮托拉唑钠", "A02BC", 1580, B, WesternDrug, APPROVAL),
    base("铝碳酸镁咀嚼片", "A02AD", 1850, B, WesternDrug),
    base("多潘立酮片", "A03FA", 1320, B, WesternDrug),
    base("蒙脱石散", "A07BC", 1560, A, WesternDrug),
    base("硝苯地平控释片", "C08CA", 3250, B, Antihypertensive),
    base("苯磺酸氨氯地平片", "C08CA", 1180, A, Antihypertensive),
    base("缬沙坦胶囊", "C09CA", 2450, B, Antihypertensive),
    base("厄贝沙坦片", "C09CA", 1960, B, Antihypertensive),
    base("酒石酸美托洛尔缓释片", "C07AB", 2280, B, Antihypertensive),
    base("氢氯噻嗪片", "C03AA", 350, A, Antihypertensive),
    base("阿托伐他汀钙片", "C10AA", 1650, B, WesternDrug),
    base("瑞舒伐他汀钙片", "C10AA", 1480, B, WesternDrug),
    base("阿司匹林肠溶片", "B01AC", 1550, A, WesternDrug),
    base("硫酸氢氯吡格雷片", "B01AC", 2860, B, WesternDrug),
    base("盐酸二甲双胍片", "A10BA", 980, A, Antidiabetic),
    base("格列美脲片", "A10BB", 1560, B, Antidiabetic),
    base("阿卡波糖片", "A10BF", 3180, B, Antidiabetic),
    base("甘精胰岛素注射液", "A10AE", 7560, B, Antidiabetic),
    base("门冬胰岛素注射液", "A10AB", 4680, B, Antidiabetic),
    limited("磷酸西格列汀片", "A10BH", 3980, B, Antidiabetic, APPROVAL),
    base("氯化钠注射液", "B05XA", 320, A, WesternDrug),
    base("葡萄糖注射液", "B05BA", 350, A, WesternDrug),
    base("复方氨基酸注射液(18AA)", "B05BA", 2860, B, WesternDrug),
    limited("人血白蛋白注射液", "B05AA", 38000, B, WesternDrug, APPROVAL),
    base("低分子量肝素钙注射液", "B01AB", 2450, B, WesternDrug),
    base("布洛芬缓释胶囊", "M01AE", 1260, A, WesternDrug),
    limited("布洛芬混悬滴剂", "M01AE", 1880, B, WesternDrug, CHILDREN_6),
    base("双氯芬酸钠缓释片", "M01AB", 1150, A, WesternDrug),
    base("塞来昔布胶囊", "M01AH", 2980, B, WesternDrug),
    base("盐酸氨溴索口服溶液", "R05CB", 1680, B, WesternDrug),
    base("复方甘草片", "R05FA", 420, A, WesternDrug),
    base("氯雷他定片", "R06AX", 1380, B, WesternDrug),
    base("孟鲁司特钠咀嚼片", "R03DC", 4280, B, WesternDrug),
    base("硫酸沙丁胺醇吸入气雾剂", "R03AC", 2350, A, WesternDrug),
    limited(
        "吸入用布地奈德混悬液",
        "R03BA",
        3680,
        B,
        WesternDrug,
        APPROVAL,
    ),
    base("地塞米松磷酸钠注射液", "H02AB", 120, A, WesternDrug),
    base("甲泼尼龙片", "H02AB", 2650, B, WesternDrug),
    limited("黄体酮注射液", "G03DA", 560, B, WesternDrug, FEMALE),
    limited("盐酸坦索罗辛缓释胶囊", "G04CA", 3260, B, WesternDrug, MALE),
    limited("缩宫素注射液", "H01BB", 450, A, WesternDrug, FEMALE),
    base("艾司唑仑片", "N05CD", 480, A, WesternDrug),
    base("酒石酸唑吡坦片", "N05CF", 2860, C, WesternDrug),
    base("盐酸舍曲林片", "N06AB", 4580, B, WesternDrug),
    base("奥氮平片", "N05AH", 3860, B, WesternDrug),
    base("丙戊酸钠缓释片", "N03AG", 3250, B, WesternDrug),
    base("甲钴胺片", "B03BA", 1860, B, WesternDrug),
    base("维生素B6片", "A11HA", 180, A, WesternDrug),
    base("注射用胸腺法新", "L03AX", 12500, C, WesternDrug),
    limited(
        "注射用紫杉醇",
        "L01CD",
        32000,
        B,
        WesternDrug,
        SECOND_LEVEL_APPROVAL,
    ),
    base("顺铂注射液", "L01XA", 2850, A, WesternDrug),
    limited(
        "利妥昔单抗注射液",
        "L01FA",
        198000,
        B,
        WesternDrug,
        THIRD_LEVEL,
    ),
    base("呋塞米注射液", "C03CA", 160, A, WesternDrug),
    base("硝酸甘油注射液", "C01DA", 520, A, WesternDrug),
    base("单硝酸异山梨酯缓释片", "C01DA", 2350, B, WesternDrug),
    base("盐酸胺碘酮片", "C01BD", 2560, A, WesternDrug),
    base("磷酸奥司他韦胶囊", "J05AH", 3680, B, WesternDrug),
    base("阿昔洛韦乳膏", "D06BB", 650, A, WesternDrug),
    base("莫匹罗星软膏", "D06AX", 1580, B, WesternDrug),
    base("左甲状腺素钠片", "H03AA", 2180, A, WesternDrug),
    base("雷贝拉唑钠肠溶片", "A02BC", 3180, B, WesternDrug),
    base("琥珀酸亚铁片", "B03AA", 1680, B, WesternDrug),
    base("氨甲环酸注射液", "B02AA", 380, A, WesternDrug),
];

/// Chinese patent medicines: stem is the national TCM classification prefix.
const PATENT: [Base; 20] = [
    base("连花清瘟胶囊", "A04BA", 1580, A, PatentDrug),
    base("复方丹参滴丸", "A12BA", 2680, B, PatentDrug),
    base("血塞通注射液", "A06BA", 1850, B, PatentDrug),
    base("安宫牛黄丸", "B02AA", 38000, C, PatentDrug),
    base("蒲地蓝消炎口服液", "A04CA", 3280, B, PatentDrug),
    limited(
        "小儿豉翘清热颗粒",
        "A04AB",
        2860,
        B,
        PatentDrug,
        CHILDREN_14,
    ),
    base("丹参注射液", "A12BA", 960, B, PatentDrug),
    base("银杏叶片", "A12BB", 2480, B, PatentDrug),
    base("六味地黄丸", "A08AA", 1680, A, PatentDrug),
    base("藿香正气水", "A02AA", 880, A, PatentDrug),
    base("云南白药胶囊", "A12CA", 2980, A, PatentDrug),
    base("通心络胶囊", "A12BA", 4280, B, PatentDrug),
    base("参麦注射液", "A07AA", 2150, B, PatentDrug),
    base("感冒灵颗粒", "A01AA", 1280, A, PatentDrug),
    base("板蓝根颗粒", "A04BA", 980, A, PatentDrug),
    base("脑心通胶囊", "A12BA", 3860, B, PatentDrug),
    base("麝香保心丸", "A12BB", 4680, A, PatentDrug),
    base("金水宝胶囊", "A08BA", 5280, B, PatentDrug),
    limited("痰热清注射液", "A04CB", 4860, B, PatentDrug, APPROVAL),
    limited("喜炎平注射液", "A04CB", 3680, B, PatentDrug, APPROVAL),
];

/// Decoction pieces: price per gram in tenths of a fen (stem unused).
const HERBAL: [Base; 18] = [
    base("黄芪", "", 12, A, Herbal),
    base("当归", "", 35, A, Herbal),
    base("党参", "", 48, A, Herbal),
    base("白术", "", 28, A, Herbal),
    base("茯苓", "", 16, A, Herbal),
    base("甘草", "", 10, A, Herbal),
    base("川芎", "", 22, A, Herbal),
    base("白芍", "", 18, A, Herbal),
    base("熟地黄", "", 14, A, Herbal),
    base("陈皮", "", 8, A, Herbal),
    base("法半夏", "", 45, A, Herbal),
    base("丹参", "", 12, A, Herbal),
    base("红花", "", 120, B, Herbal),
    base("枸杞子", "", 42, A, Herbal),
    base("川贝母", "", 1200, B, Herbal),
    base("西洋参", "", 280, C, Herbal),
    base("三七粉", "", 320, B, Herbal),
    base("金银花", "", 68, A, Herbal),
];

/// Medical services: stem is the full national-style code; price per unit at 二级.
const SERVICES: [Base; 50] = [
    base("挂号费", "001101000010000", 100, C, Registration),
    base("普通门诊诊察费", "001102000010000", 1500, A, Consultation),
    base(
        "副主任医师门诊诊察费",
        "001102000030000",
        2500,
        B,
        Consultation,
    ),
    base(
        "住院诊察费",
        "001102000040000",
        2000,
        A,
        InpatientConsultation,
    ),
    base("互联网复诊", "1110200002", 2000, A, InternetFollowUp),
    base("一般诊疗费", "001103000010000", 1000, A, GeneralService),
    base("普通病房床位费", "001201000010000", 3000, A, Bed),
    base("单人间病房床位费", "001201000020000", 12000, C, Bed),
    base("一级护理", "001204000010000", 2800, A, Nursing),
    base("二级护理", "001204000020000", 1600, A, Nursing),
    base("三级护理", "001204000030000", 900, A, Nursing),
    base("X线计算机体层(CT)平扫", "002101000010000", 18000, B, Exam),
    base("磁共振平扫", "002101000020000", 45000, B, Exam),
    base("胸部数字化X线摄影(DR)", "002103000010000", 6500, A, Exam),
    base("常规心电图检查", "002201000010000", 2500, A, Exam),
    base("动态心电图", "002201000020000", 12000, B, Exam),
    base("彩色多普勒超声常规检查", "002202000010000", 12000, A, Exam),
    limited(
        "电子胃镜检查",
        "002203000010000",
        28000,
        B,
        Exam,
        SECOND_LEVEL,
    ),
    base("血细胞分析(血常规)", "002702000010000", 1800, A, Lab),
    base("尿液分析(尿常规)", "002702000020000", 1000, A, Lab),
    base("糖化血红蛋白测定", "002703000010000", 4500, A, Lab),
    base("肝功能检查", "002703000020000", 6500, A, Lab),
    base("肾功能检查", "002703000030000", 4500, A, Lab),
    base("血清葡萄糖测定", "002703000040000", 500, A, Lab),
    base("血脂四项", "002703000050000", 3200, A, Lab),
    base("C反应蛋白测定", "002703000060000", 2500, A, Lab),
    base("电解质测定", "002703000070000", 3000, A, Lab),
    base("凝血功能检查", "002704000010000", 6000, A, Lab),
    limited("宫颈细胞学检查", "003105000010000", 8000, A, Lab, FEMALE),
    base("静脉输液", "003101000010000", 800, A, Treatment),
    base("肌肉注射", "003101000020000", 300, A, Treatment),
    base("换药", "003102000010000", 1500, A, Treatment),
    base("清创缝合术", "003102000020000", 8000, A, Treatment),
    base("雾化吸入", "003103000010000", 1000, A, Treatment),
    base("氧气吸入", "003104000010000", 300, A, Treatment),
    base("导尿", "003106000010000", 2000, A, Treatment),
    base("普通针刺", "004101000010000", 2500, B, Treatment),
    base("康复训练", "004201000010000", 3500, B, Treatment),
    limited(
        "血液透析",
        "003105000020000",
        40000,
        A,
        Treatment,
        SECOND_LEVEL,
    ),
    base("阑尾切除术", "003311020010000", 120000, A, Surgery),
    base("腹腔镜下胆囊切除术", "003311010010000", 260000, A, Surgery),
    limited(
        "经皮冠状动脉支架置入术",
        "003306000010000",
        450000,
        A,
        Surgery,
        THIRD_LEVEL,
    ),
    limited("剖宫产术", "003313000010000", 150000, A, Surgery, FEMALE),
    limited("经阴道分娩", "003313000020000", 60000, A, Surgery, FEMALE),
    base(
        "白内障超声乳化摘除术",
        "003309000010000",
        180000,
        A,
        Surgery,
    ),
    base(
        "骨折切开复位内固定术",
        "003315000010000",
        220000,
        A,
        Surgery,
    ),
    base("腹股沟疝修补术", "003311030010000", 110000, A, Surgery),
    limited(
        "人工全髋关节置换术",
        "003315000020000",
        480000,
        A,
        Surgery,
        SECOND_LEVEL,
    ),
    limited(
        "经尿道前列腺电切术",
        "003312000010000",
        250000,
        A,
        Surgery,
        MALE,
    ),
    base("院内会诊", "001401000010000", 3000, A, Other),
];

/// Medical consumables: stem is the 4-digit class of the national consumable code.
const MATERIALS: [Base; 14] = [
    base("一次性使用输液器", "0101", 350, A, Material),
    base("一次性使用静脉留置针", "0102", 2500, A, Material),
    base("一次性使用无菌注射器", "0103", 80, A, Material),
    base("可吸收缝合线", "0201", 18000, B, Material),
    base("一次性使用管型吻合器", "0202", 280000, B, Material),
    base("冠状动脉药物洗脱支架", "1304", 75000, A, Material),
    base("人工髋关节假体", "1401", 1200000, B, Material),
    base("骨科接骨板", "1402", 450000, B, Material),
    base("人工晶状体", "1601", 180000, B, Material),
    base("可吸收止血纱布", "9901", 60000, C, Material),
    base("一次性使用导尿包", "0301", 1500, A, Material),
    base("医用敷料", "0401", 800, A, Material),
    base("一次性使用引流管", "0302", 3500, A, Material),
    base("医用干式胶片", "0501", 2500, A, Material),
];

/// Builds the catalogue from `seed` (its own stream: the catalogue does not change with the
/// number of persons).
pub fn build(seed: u64) -> Catalog {
    let mut draw = Draw::new(seed, Stream::Catalog, 0);
    let mut items = Vec::with_capacity(600);
    for (index, b) in WESTERN.iter().enumerate() {
        for variant in 0..variant_count(&mut draw) {
            items.push(western(&mut draw, b, index, variant));
        }
    }
    for (index, b) in PATENT.iter().enumerate() {
        for variant in 0..variant_count(&mut draw) {
            items.push(patent(&mut draw, b, index, variant));
        }
    }
    for (index, b) in HERBAL.iter().enumerate() {
        items.push(herbal(&mut draw, b, index));
    }
    for b in &SERVICES {
        items.push(service(&mut draw, b));
    }
    for (index, b) in MATERIALS.iter().enumerate() {
        for variant in 0..2 {
            items.push(material(&mut draw, b, index, variant));
        }
    }
    let mut by_role = vec![Vec::new(); ROLE_COUNT];
    for (index, item) in items.iter().enumerate() {
        by_role[item.role as usize].push(index);
    }
    Catalog { items, by_role }
}

fn variant_count(draw: &mut Draw) -> u32 {
    draw.between(2, 5) as u32
}

/// 乙类 先行自付 ratios in use (bp).
const CLASS_B_SELFPAY_BP: [u32; 4] = [500, 1000, 1500, 2000];

/// Grade of a variant: most keep the base grade; one in ten brands is outside the list (丙).
fn variant_grade(draw: &mut Draw, base: Grade, variant: u32) -> Grade {
    if variant > 0 && draw.per_mille(100) {
        Grade::C
    } else {
        base
    }
}

fn selfpay_bp(draw: &mut Draw, grade: Grade) -> u32 {
    match grade {
        Grade::A => 0,
        Grade::B => *draw.pick(&CLASS_B_SELFPAY_BP),
        Grade::C => 10_000,
    }
}

/// A drug price: the base scaled per manufacturer, in whole fen; one variant in five is priced
/// per tablet (a quarter-fen multiple) to exercise six-decimal unit prices.
fn drug_price_micro(draw: &mut Draw, price_fen: i64) -> (i64, u32) {
    let box_fen = draw.lognormal(price_fen, Spread::Narrow, 1);
    if draw.per_mille(200) {
        let per_tablet_micro = (box_fen * MICRO_PER_FEN / 24 / 2_500).max(1) * 2_500;
        (per_tablet_micro, 24)
    } else {
        (box_fen * MICRO_PER_FEN, 2)
    }
}

fn western(draw: &mut Draw, b: &Base, index: usize, variant: u32) -> Item {
    let grade = variant_grade(draw, b.grade, variant);
    let (price_micro, typical_count) = drug_price_micro(draw, b.price_fen);
    let capped = draw.per_mille(100);
    let form = *draw.pick(&["A", "B", "E", "L"]);
    Item {
        code: format!(
            "X{}A{:03}{form}{:03}0101{:05}",
            b.stem,
            index + 1,
            variant + 1,
            draw.below(100_000)
        ),
        name: b.name.to_string(),
        list_type: "101",
        chrgitm_type: "09",
        grade,
        selfpay_bp: selfpay_bp(draw, grade),
        price_micro,
        cap_micro: capped.then_some(price_micro),
        limits: b.limits,
        role: b.role,
        typical_count,
    }
}

fn patent(draw: &mut Draw, b: &Base, index: usize, variant: u32) -> Item {
    let grade = variant_grade(draw, b.grade, variant);
    let (price_micro, typical_count) = drug_price_micro(draw, b.price_fen);
    Item {
        code: format!(
            "Z{}L{:04}0101{:05}",
            b.stem,
            index * 10 + variant as usize + 1,
            draw.below(100_000)
        ),
        name: b.name.to_string(),
        list_type: "101",
        chrgitm_type: "11",
        grade,
        selfpay_bp: selfpay_bp(draw, grade),
        price_micro,
        cap_micro: None,
        limits: b.limits,
        role: b.role,
        typical_count,
    }
}

/// Herb prices are tenths of a fen per gram, so quantities in even grams come to whole fen.
fn herbal(draw: &mut Draw, b: &Base, index: usize) -> Item {
    Item {
        code: format!("T{:06}{:03}", (index + 1) * 100 + 84, draw.below(1000)),
        name: b.name.to_string(),
        list_type: "102",
        chrgitm_type: "10",
        grade: b.grade,
        selfpay_bp: selfpay_bp(draw, b.grade),
        price_micro: b.price_fen * MICRO_PER_FEN / 10,
        cap_micro: None,
        limits: b.limits,
        role: b.role,
        typical_count: 12,
    }
}

/// Services are government-priced: half carry a cap equal to the 二级 price.
fn service(draw: &mut Draw, b: &Base) -> Item {
    let price_micro = b.price_fen * MICRO_PER_FEN;
    Item {
        code: b.stem.to_string(),
        name: b.name.to_string(),
        list_type: "201",
        chrgitm_type: service_type(b.role),
        grade: b.grade,
        selfpay_bp: selfpay_bp(draw, b.grade),
        price_micro,
        cap_micro: draw.per_mille(500).then_some(price_micro),
        limits: b.limits,
        role: b.role,
        typical_count: 1,
    }
}

fn service_type(role: Role) -> &'static str {
    match role {
        Registration => "13",
        Consultation | InpatientConsultation | InternetFollowUp => "02",
        GeneralService => "12",
        Bed => "01",
        Nursing => "07",
        Exam => "03",
        Lab => "04",
        Treatment => "05",
        Surgery => "06",
        _ => "14",
    }
}

/// Consumables: six in ten carry a cap at the base price.
fn material(draw: &mut Draw, b: &Base, index: usize, variant: u32) -> Item {
    let grade = variant_grade(draw, b.grade, variant);
    let price_micro = draw.lognormal(b.price_fen, Spread::Narrow, 1) * MICRO_PER_FEN;
    Item {
        code: format!(
            "C{}{:07}{:08}",
            b.stem,
            index * 10 + variant as usize + 1,
            draw.below(100_000_000)
        ),
        name: b.name.to_string(),
        list_type: "301",
        chrgitm_type: "08",
        grade,
        selfpay_bp: selfpay_bp(draw, grade),
        price_micro,
        cap_micro: draw.per_mille(600).then_some(price_micro),
        limits: b.limits,
        role: b.role,
        typical_count: 1,
    }
}
