//! Designated institutions: the city's 三级 hospitals in the urban districts, 二级 county
//! hospitals, township health centres (一级), village clinics (ungraded), pharmacies — in
//! proportion to each county's generated population — and a fixed set of out-of-region hospitals.

use crate::rng::{Draw, Stream};
use crate::tables::{
    COUNTIES, PERSONS_PER_PHARMACY, PERSONS_PER_SECOND_LEVEL, PERSONS_PER_THIRD_LEVEL,
    PERSONS_PER_TOWNSHIP_CENTRE, PERSONS_PER_VILLAGE_CLINIC, PHARMACY_BRANDS, PLACE_SYLLABLES,
    REMOTE_HOSPITALS,
};

/// Kind of institution, which decides where visits go and the price level.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    Third,
    Second,
    Township,
    Village,
    Pharmacy,
    /// A 三级 hospital outside the region.
    Remote,
}

/// One institution.
#[derive(Clone, Debug)]
pub struct Institution {
    pub code: String,
    pub name: String,
    /// `fixmedins_type`: 1 医疗机构, 2 零售药店.
    pub kind: &'static str,
    pub hosp_lv: &'static str,
    pub admdvs: &'static str,
    pub tier: Tier,
}

/// The institutions and indexes for choosing one.
pub struct Institutions {
    pub list: Vec<Institution>,
    /// `local[county][tier]` for Second, Township, Village, Pharmacy.
    local: Vec<[Vec<u32>; 4]>,
    third: Vec<u32>,
    remote: Vec<u32>,
}

impl Institutions {
    /// Institutions of `tier` for a person of `county`: local ones for county tiers (any county's
    /// when the person's has none), the city's for 三级, the remote list for remote care.
    pub fn choices(&self, tier: Tier, county: usize) -> &[u32] {
        let slot = match tier {
            Tier::Third => return &self.third,
            Tier::Remote => return &self.remote,
            Tier::Second => 0,
            Tier::Township => 1,
            Tier::Village => 2,
            Tier::Pharmacy => 3,
        };
        let own = &self.local[county][slot];
        if !own.is_empty() {
            return own;
        }
        self.local
            .iter()
            .map(|c| &c[slot])
            .find(|l| !l.is_empty())
            .map_or(&self.third, |l| l)
    }
}

/// Second-level hospital names and grades in a county, in order of founding.
const SECOND_LEVEL: [(&str, &str); 4] = [
    ("人民医院", "5"),
    ("中医院", "5"),
    ("妇幼保健院", "6"),
    ("第二人民医院", "13"),
];
/// The city's 三级 hospitals, in order.
const THIRD_LEVEL: [(&str, &str); 6] = [
    ("九江市第一人民医院", "2"),
    ("九江学院附属医院", "2"),
    ("九江市中医医院", "2"),
    ("九江市妇幼保健院", "3"),
    ("九江市第三人民医院", "3"),
    ("九江市第五人民医院", "12"),
];
/// Township health centre grades: 一级甲等, 一级乙等, 一级无等.
const TOWNSHIP_GRADES: [(&str, u32); 3] = [("8", 40), ("9", 30), ("14", 30)];

/// Builds the institutions for `persons_per_county` (generated persons in each county).
pub fn build(seed: u64, persons_per_county: &[u64]) -> Institutions {
    let mut draw = Draw::new(seed, Stream::Institutions, 0);
    let mut builder = Builder {
        list: Vec::new(),
        serials: vec![[0u32; 2]; COUNTIES.len()],
        remote_serials: Vec::new(),
    };
    let total: u64 = persons_per_county.iter().sum();
    let third = (0..1 + total / PERSONS_PER_THIRD_LEVEL)
        .map(|n| builder.third_level(n as usize))
        .collect();
    let local = persons_per_county
        .iter()
        .enumerate()
        .map(|(c, &n)| builder.county(&mut draw, c, n))
        .collect();
    let remote = REMOTE_HOSPITALS
        .iter()
        .map(|h| builder.remote(h.admdvs, h.name, h.hosp_lv))
        .collect();
    Institutions {
        list: builder.list,
        local,
        third,
        remote,
    }
}

struct Builder {
    list: Vec<Institution>,
    /// Next hospital and pharmacy serial per county.
    serials: Vec<[u32; 2]>,
    remote_serials: Vec<(&'static str, u32)>,
}

impl Builder {
    fn push(&mut self, institution: Institution) -> u32 {
        self.list.push(institution);
        (self.list.len() - 1) as u32
    }

    fn code(&mut self, county: usize, pharmacy: bool) -> String {
        let slot = &mut self.serials[county][usize::from(pharmacy)];
        *slot += 1;
        format!(
            "{}{}{:05}",
            if pharmacy { "P" } else { "H" },
            COUNTIES[county].admdvs,
            slot
        )
    }

    /// The city's n-th 三级 hospital, alternately in 浔阳 and 濂溪.
    fn third_level(&mut self, n: usize) -> u32 {
        let county = COUNTIES
            .iter()
            .enumerate()
            .filter(|(_, c)| c.urban)
            .map(|(i, _)| i)
            .nth(n % 2)
            .unwrap_or(0);
        let (name, hosp_lv) = match THIRD_LEVEL.get(n) {
            Some(&(name, lv)) => (name.to_string(), lv),
            None => (format!("九江市第{}医院", n + 1), "12"),
        };
        let code = self.code(county, false);
        self.push(Institution {
            code,
            name,
            kind: "1",
            hosp_lv,
            admdvs: COUNTIES[county].admdvs,
            tier: Tier::Third,
        })
    }

    fn county(&mut self, draw: &mut Draw, county: usize, persons: u64) -> [Vec<u32>; 4] {
        if persons == 0 {
            return Default::default();
        }
        let place = COUNTIES[county].name;
        let second = (0..persons.div_ceil(PERSONS_PER_SECOND_LEVEL))
            .map(|n| {
                let (name, hosp_lv) = match SECOND_LEVEL.get(n as usize) {
                    Some(&(suffix, lv)) => (format!("{place}{suffix}"), lv),
                    None => (format!("{place}第{}人民医院", n + 1), "13"),
                };
                self.hospital(county, name, hosp_lv, Tier::Second)
            })
            .collect();
        let township = (0..persons.div_ceil(PERSONS_PER_TOWNSHIP_CENTRE))
            .map(|_| {
                let hosp_lv = TOWNSHIP_GRADES[draw.weighted(TOWNSHIP_GRADES.iter().map(|g| g.1))].0;
                let name = format!("{place}{}镇卫生院", place_name(draw));
                self.hospital(county, name, hosp_lv, Tier::Township)
            })
            .collect();
        let village = (0..persons.div_ceil(PERSONS_PER_VILLAGE_CLINIC))
            .map(|_| {
                let name = format!("{place}{}村卫生室", place_name(draw));
                self.hospital(county, name, "11", Tier::Village)
            })
            .collect();
        let pharmacy = (0..persons.div_ceil(PERSONS_PER_PHARMACY))
            .map(|n| self.pharmacy(draw, county, n))
            .collect();
        [second, township, village, pharmacy]
    }

    fn hospital(&mut self, county: usize, name: String, hosp_lv: &'static str, tier: Tier) -> u32 {
        let code = self.code(county, false);
        self.push(Institution {
            code,
            name,
            kind: "1",
            hosp_lv,
            admdvs: COUNTIES[county].admdvs,
            tier,
        })
    }

    fn pharmacy(&mut self, draw: &mut Draw, county: usize, n: u64) -> u32 {
        let name = format!(
            "{}大药房{}{}店",
            draw.pick(&PHARMACY_BRANDS),
            COUNTIES[county].name,
            n + 1
        );
        let code = self.code(county, true);
        self.push(Institution {
            code,
            name,
            kind: "2",
            hosp_lv: "11",
            admdvs: COUNTIES[county].admdvs,
            tier: Tier::Pharmacy,
        })
    }

    fn remote(&mut self, admdvs: &'static str, name: &str, hosp_lv: &'static str) -> u32 {
        let serial = match self.remote_serials.iter_mut().find(|(a, _)| *a == admdvs) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.remote_serials.push((admdvs, 1));
                1
            }
        };
        let code = format!("H{admdvs}{serial:05}");
        self.push(Institution {
            code,
            name: name.to_string(),
            kind: "1",
            hosp_lv,
            admdvs,
            tier: Tier::Remote,
        })
    }
}

/// A two-syllable synthetic place name.
fn place_name(draw: &mut Draw) -> String {
    let syllables: Vec<char> = PLACE_SYLLABLES.chars().collect();
    [*draw.pick(&syllables), *draw.pick(&syllables)]
        .iter()
        .collect()
}
