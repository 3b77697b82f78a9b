//! Persons: the county report's scheme mix scaled to the requested size, ages and sexes from the
//! pyramid, synthetic names and ID numbers, counties, poor identities, chronic conditions,
//! insured dates and account balances.

use std::collections::HashMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use yibao_enrolment::InsuStatus;

use crate::rng::{Draw, Stream};
use crate::tables::{
    Spread, ACCOUNT_MEDIAN_IN_SERVICE_FEN, ACCOUNT_MEDIAN_RETIRED_FEN, AGE_BANDS, COUNTIES,
    DIABETES_PER_MILLE, FLEXIBLE_WORKER_PER_MILLE, GIVEN_FEMALE, GIVEN_MALE,
    HYPERTENSION_PER_MILLE, LATE_ENROLMENT_PER_MILLE, POOR_AGE_FACTOR_PERCENT,
    POOR_DISABLED_PER_MILLE, POOR_IDENTITIES, RATE_BAND_UPPER_AGES, REPORT_POOR_RESIDENTS,
    REPORT_RESIDENTS, REPORT_WORKERS, REPORT_WORKERS_IN_SERVICE, REPORT_WORKERS_RETIRED,
    RETIREE_MIN_AGE_FEMALE, RETIREE_MIN_AGE_MALE, SURNAMES, SUSPENDED_WORKER_PER_MILLE,
    URBAN_RESIDENT_PER_MILLE, WORKER_MAX_AGE, WORKER_MIN_AGE,
};
use crate::SynthError;

/// Waiting period of a late enrolment (国办发〔2024〕38号 fixed wait), in months.
pub const LATE_ENROLMENT_WAIT_MONTHS: u32 = 3;
/// Oldest age generated.
const MAX_AGE: u32 = 99;
/// First year of the workers' scheme (国发〔1998〕44号) and of the merged residents' scheme in Jiangxi.
const WORKER_SCHEME_FROM_YEAR: i32 = 1999;
const RESIDENT_SCHEME_FROM_YEAR: i32 = 2016;

/// Which scheme and category a person is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Category {
    InService { flexible: bool },
    Retired,
    Resident { urban: bool },
}

/// One generated person.
#[derive(Clone, Debug)]
pub struct SynthPerson {
    pub psn_no: String,
    pub certno: String,
    pub name: String,
    pub male: bool,
    pub brdy: NaiveDate,
    /// Age on 1 January of the generated year.
    pub age: u32,
    /// Index into [`COUNTIES`].
    pub county: usize,
    pub category: Category,
    pub status: InsuStatus,
    pub insu_date: NaiveDate,
    /// First day benefits are payable in the generated year.
    pub benefit_from: NaiveDate,
    pub civil_servant: bool,
    pub balance_fen: i64,
    pub identities: Vec<&'static str>,
    pub hypertension: bool,
    pub diabetes: bool,
}

impl SynthPerson {
    /// `insutype`.
    pub fn insutype(&self) -> &'static str {
        match self.category {
            Category::Resident { .. } => "390",
            _ => "310",
        }
    }

    /// `psn_type`.
    pub fn psn_type(&self) -> &'static str {
        match self.category {
            Category::InService { .. } => "11",
            Category::Retired => "12",
            Category::Resident { urban: true } => "15",
            Category::Resident { urban: false } => "16",
        }
    }

    /// `gend`.
    pub fn gend(&self) -> &'static str {
        if self.male {
            "1"
        } else {
            "2"
        }
    }

    /// Index of the person's age in the rate tables.
    pub fn rate_band(&self) -> usize {
        rate_band(self.age)
    }
}

/// Index into the per-age rate tables.
pub fn rate_band(age: u32) -> usize {
    RATE_BAND_UPPER_AGES
        .iter()
        .position(|&upper| age <= upper)
        .unwrap_or(RATE_BAND_UPPER_AGES.len() - 1)
}

/// How many persons of each category `total` persons hold, in the report's proportions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    pub in_service: u64,
    pub retired: u64,
    pub poor_residents: u64,
    pub other_residents: u64,
}

impl Mix {
    /// The report's proportions scaled to `total` (rounded half up, remainders to residents).
    pub fn scaled(total: u64) -> Mix {
        let workers = scale(total, REPORT_WORKERS, REPORT_WORKERS + REPORT_RESIDENTS);
        let retired = scale(
            workers,
            REPORT_WORKERS_RETIRED,
            REPORT_WORKERS_IN_SERVICE + REPORT_WORKERS_RETIRED,
        );
        let residents = total - workers;
        let poor_residents = scale(residents, REPORT_POOR_RESIDENTS, REPORT_RESIDENTS);
        Mix {
            in_service: workers - retired,
            retired,
            poor_residents,
            other_residents: residents - poor_residents,
        }
    }

    /// All workers.
    pub fn workers(&self) -> u64 {
        self.in_service + self.retired
    }

    /// All residents.
    pub fn residents(&self) -> u64 {
        self.poor_residents + self.other_residents
    }
}

fn scale(value: u64, numerator: u64, denominator: u64) -> u64 {
    ((u128::from(value) * u128::from(numerator) * 2 + u128::from(denominator))
        / (u128::from(denominator) * 2)) as u64
}

/// Generates the population of `mix` for `year`, in the order in-service, retired, poor residents,
/// other residents.
pub fn generate(seed: u64, year: i32, mix: Mix) -> Result<Vec<SynthPerson>, SynthError> {
    let mut draw = Draw::new(seed, Stream::Population, 0);
    let mut ids = IdNumbers::default();
    let total = mix.workers() + mix.residents();
    let mut persons = Vec::with_capacity(total as usize);
    let plan = [
        (mix.in_service, Kind::InService),
        (mix.retired, Kind::Retired),
        (mix.poor_residents, Kind::PoorResident),
        (mix.other_residents, Kind::Resident),
    ];
    for (count, kind) in plan {
        for _ in 0..count {
            let serial = persons.len() as u64 + 1;
            persons.push(person(&mut draw, &mut ids, year, kind, serial)?);
        }
    }
    Ok(persons)
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Kind {
    InService,
    Retired,
    PoorResident,
    Resident,
}

fn person(
    draw: &mut Draw,
    ids: &mut IdNumbers,
    year: i32,
    kind: Kind,
    serial: u64,
) -> Result<SynthPerson, SynthError> {
    let (male, age) = sex_and_age(draw, kind);
    let brdy = birth_date(draw, year, age);
    let county = draw.weighted(COUNTIES.iter().map(|c| c.weight));
    let category = category(draw, kind);
    let certno = ids.next(COUNTIES[county].admdvs, brdy, male)?;
    let (insu_date, benefit_from) = insured_dates(draw, year, brdy, category);
    let status = if matches!(category, Category::InService { .. })
        && draw.per_mille(SUSPENDED_WORKER_PER_MILLE)
    {
        InsuStatus::Suspended
    } else {
        InsuStatus::Normal
    };
    let band = rate_band(age);
    Ok(SynthPerson {
        psn_no: format!("{}{serial:010}", COUNTIES[county].admdvs),
        certno,
        name: name(draw, male),
        male,
        brdy,
        age,
        county,
        category,
        status,
        insu_date,
        benefit_from,
        civil_servant: false,
        balance_fen: balance(draw, category),
        identities: if kind == Kind::PoorResident {
            poor_identities(draw)
        } else {
            Vec::new()
        },
        hypertension: draw.per_mille(HYPERTENSION_PER_MILLE[band]),
        diabetes: draw.per_mille(DIABETES_PER_MILLE[band]),
    })
}

fn sex_and_age(draw: &mut Draw, kind: Kind) -> (bool, u32) {
    match kind {
        Kind::InService => {
            let male = draw.per_mille(550);
            let max = if male {
                WORKER_MAX_AGE
            } else {
                RETIREE_MIN_AGE_FEMALE + 4
            };
            (male, age_between(draw, WORKER_MIN_AGE, max, None))
        }
        Kind::Retired => {
            let male = draw.per_mille(500);
            let min = if male {
                RETIREE_MIN_AGE_MALE
            } else {
                RETIREE_MIN_AGE_FEMALE
            };
            (male, age_between(draw, min, MAX_AGE, None))
        }
        Kind::PoorResident | Kind::Resident => {
            let factor = (kind == Kind::PoorResident).then_some(&POOR_AGE_FACTOR_PERCENT);
            let age = age_between(draw, 0, MAX_AGE, factor);
            (draw.per_mille(AGE_BANDS[(age / 5) as usize].1), age)
        }
    }
}

/// An age in `min..=max` following the pyramid (optionally re-weighted per band).
fn age_between(draw: &mut Draw, min: u32, max: u32, factor_percent: Option<&[u32; 20]>) -> u32 {
    let overlap = |band: usize| {
        let (low, high) = (band as u32 * 5, band as u32 * 5 + 4);
        (high.min(max) + 1).saturating_sub(low.max(min))
    };
    let weights = (0..AGE_BANDS.len()).map(|band| {
        let factor = factor_percent.map_or(100, |f| f[band]);
        AGE_BANDS[band].0 * overlap(band) * factor
    });
    let band = draw.weighted(weights);
    let low = (band as u32 * 5).max(min);
    low + draw.below(u64::from(overlap(band))) as u32
}

/// A birth date such that the person is `age` on 1 January of `year`.
fn birth_date(draw: &mut Draw, year: i32, age: u32) -> NaiveDate {
    let earliest = NaiveDate::from_ymd_opt(year - age as i32 - 1, 1, 2).expect("valid year");
    earliest + Days::new(draw.below(365))
}

fn category(draw: &mut Draw, kind: Kind) -> Category {
    match kind {
        Kind::InService => Category::InService {
            flexible: draw.per_mille(FLEXIBLE_WORKER_PER_MILLE),
        },
        Kind::Retired => Category::Retired,
        Kind::PoorResident | Kind::Resident => Category::Resident {
            urban: draw.per_mille(URBAN_RESIDENT_PER_MILLE),
        },
    }
}

/// First insured date and the first day of benefits in `year`: workers since starting work,
/// residents since the merged scheme or birth; a few residents enrol late in the year and wait.
fn insured_dates(
    draw: &mut Draw,
    year: i32,
    brdy: NaiveDate,
    category: Category,
) -> (NaiveDate, NaiveDate) {
    let year_start = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
    if matches!(category, Category::Resident { .. }) && draw.per_mille(LATE_ENROLMENT_PER_MILLE) {
        let enrolled =
            NaiveDate::from_ymd_opt(year, 3, 1).expect("valid date") + Days::new(draw.below(214));
        let benefit = enrolled
            .checked_add_months(Months::new(LATE_ENROLMENT_WAIT_MONTHS))
            .expect("valid date");
        return (enrolled, benefit);
    }
    let (scheme_from, adult_age) = match category {
        Category::Resident { .. } => (RESIDENT_SCHEME_FROM_YEAR, 0),
        _ => (WORKER_SCHEME_FROM_YEAR, 18),
    };
    let first_year = (brdy.year() + adult_age).max(scheme_from).min(year - 1);
    let span_days = (NaiveDate::from_ymd_opt(year - 1, 12, 31).expect("valid date")
        - NaiveDate::from_ymd_opt(first_year, 1, 1).expect("valid date"))
    .num_days()
    .max(1);
    let insured = NaiveDate::from_ymd_opt(first_year, 1, 1).expect("valid date")
        + Days::new(draw.below(span_days as u64));
    (insured.max(brdy), year_start)
}

fn balance(draw: &mut Draw, category: Category) -> i64 {
    match category {
        Category::InService { .. } => {
            draw.lognormal(ACCOUNT_MEDIAN_IN_SERVICE_FEN, Spread::VeryWide, 0)
        }
        Category::Retired => draw.lognormal(ACCOUNT_MEDIAN_RETIRED_FEN, Spread::VeryWide, 0),
        Category::Resident { .. } => 0,
    }
}

fn poor_identities(draw: &mut Draw) -> Vec<&'static str> {
    let main = POOR_IDENTITIES[draw.weighted(POOR_IDENTITIES.iter().map(|(_, w)| *w))].0;
    let mut identities = vec![main];
    if draw.per_mille(POOR_DISABLED_PER_MILLE) {
        identities.push("ZDCJ");
    }
    identities
}

fn name(draw: &mut Draw, male: bool) -> String {
    let surname = SURNAMES[draw.weighted(SURNAMES.iter().map(|(_, w)| *w))].0;
    let given: Vec<char> = if male { GIVEN_MALE } else { GIVEN_FEMALE }
        .chars()
        .collect();
    let mut name = String::from(surname);
    name.push(*draw.pick(&given));
    if draw.per_mille(600) {
        name.push(*draw.pick(&given));
    }
    name
}

/// Synthetic 18-digit resident ID numbers (GB 11643): address code, birth date, a sequence code
/// (odd for men, even for women) unique per address and birth date, and the ISO 7064 MOD 11-2
/// check character. They follow the format only; they identify no one.
#[derive(Default)]
pub struct IdNumbers {
    used: HashMap<(&'static str, NaiveDate, bool), u32>,
}

impl IdNumbers {
    /// The next free number for a person of `address`, `brdy` and sex.
    pub fn next(
        &mut self,
        address: &'static str,
        brdy: NaiveDate,
        male: bool,
    ) -> Result<String, SynthError> {
        let used = self.used.entry((address, brdy, male)).or_insert(0);
        let sequence = *used * 2 + if male { 1 } else { 2 };
        if sequence > 999 {
            return Err(SynthError::IdNumbersExhausted {
                address: address.to_string(),
                brdy,
            });
        }
        *used += 1;
        let body = format!("{address}{}{sequence:03}", brdy.format("%Y%m%d"));
        Ok(format!("{body}{}", check_character(&body)))
    }
}

/// ISO 7064 MOD 11-2 check character of the first 17 digits.
pub fn check_character(body: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_character_matches_the_standard_example() {
        // GB 11643-1999 appendix example.
        assert_eq!(check_character("11010519491231002"), 'X');
        assert_eq!(check_character("44052418800101001"), '4');
    }

    #[test]
    fn mix_follows_the_report() {
        let mix = Mix::scaled(REPORT_WORKERS + REPORT_RESIDENTS);
        assert_eq!(mix.workers(), REPORT_WORKERS);
        assert_eq!(mix.residents(), REPORT_RESIDENTS);
        assert_eq!(mix.poor_residents, REPORT_POOR_RESIDENTS);
        let small = Mix::scaled(1_000);
        assert_eq!(small.workers() + small.residents(), 1_000);
        assert_eq!(small.workers(), 57);
    }
}
