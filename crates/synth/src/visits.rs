//! A year of visits. Each person draws their events from their own stream: admissions by month,
//! outpatient visits and pharmacy purchases by week, 两病 prescriptions by month, at rates by age
//! and scheme. A visit is first kept as a small header (sorted by end time); its fee lines are
//! drawn from the visit's own stream when written, so memory stays proportional to the visits.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use yibao_enrolment::InsuStatus;

use crate::icd::Diagnoses;
use crate::institutions::{Institutions, Tier};
use crate::population::{Category, SynthPerson};
use crate::rng::{Draw, Stream};
use crate::tables::{
    Spread, ADMISSIONS_PER_MILLE, ADMISSION_LEVELS, CHAPTERS, CHRONIC_LEVELS, CHRONIC_MEDIAN_FEN,
    CHRONIC_MONTHLY_VISIT_PER_MILLE, INPATIENT_LEVEL_PERCENT, IN_SERVICE_ADMISSION_PERCENT,
    OUTPATIENT_LEVELS, OUTPATIENT_MEDIAN_FEN, OUTPATIENT_PER_MILLE, PHARMACY_MEDIAN_FEN,
    PHARMACY_PER_MILLE, REMOTE_ADMISSION_PER_MILLE, REMOTE_OUTPATIENT_PER_MILLE,
    REMOTE_REFERRED_PER_MILLE, SERIOUS_ADMISSION_LEVELS, SURGERY_PER_MILLE,
    WORKER_OUTPATIENT_PERCENT,
};

/// The kind of visit (`med_type`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// 21 普通住院.
    Inpatient,
    /// 11 普通门诊.
    Outpatient,
    /// 14 门诊慢特病 (两病: I10 / E11).
    Chronic,
    /// 41 定点药店购药.
    Pharmacy,
}

impl Kind {
    /// `med_type` code.
    pub fn med_type(self) -> &'static str {
        match self {
            Kind::Inpatient => "21",
            Kind::Outpatient => "11",
            Kind::Chronic => "14",
            Kind::Pharmacy => "41",
        }
    }
}

/// A visit before its fee lines are drawn.
#[derive(Clone, Debug)]
pub struct VisitHead {
    pub end: NaiveDateTime,
    pub begin: NaiveDateTime,
    pub person: u32,
    /// The person's visit number, which with `person` keys the visit's own stream.
    pub sequence: u32,
    pub kind: Kind,
    pub institution: u32,
    pub diagnosis: Diagnosis,
    pub target_fen: i64,
    pub stay_days: u32,
    pub referred: bool,
    /// Whether the chapter's admissions are often surgical.
    pub surgical: bool,
}

/// The principal diagnosis: chapter and index into its codes, or a 两病 code.
#[derive(Copy, Clone, Debug)]
pub enum Diagnosis {
    Chapter { chapter: u8, code: u32 },
    Hypertension(u32),
    Diabetes(u32),
}

impl Diagnosis {
    /// The diagnosis code.
    pub fn code(self, diagnoses: &Diagnoses) -> &str {
        match self {
            Diagnosis::Chapter { chapter, code } => {
                &diagnoses.by_chapter[usize::from(chapter)][code as usize]
            }
            Diagnosis::Hypertension(code) => &diagnoses.hypertension[code as usize],
            Diagnosis::Diabetes(code) => &diagnoses.diabetes[code as usize],
        }
    }
}

/// What visits are drawn from.
pub struct World<'a> {
    pub seed: u64,
    pub year: i32,
    pub persons: &'a [SynthPerson],
    pub institutions: &'a Institutions,
    pub diagnoses: &'a Diagnoses,
}

/// The visits of person `index` in the year, in no particular order.
pub fn person_visits(world: &World<'_>, index: usize, out: &mut Vec<VisitHead>) {
    let person = &world.persons[index];
    if person.status != InsuStatus::Normal {
        return;
    }
    let mut draw = Draw::new(world.seed, Stream::Visits, index as u64);
    let mut events = Vec::new();
    let rates = Rates::of(person);
    slots(
        &mut draw,
        world.year,
        12,
        rates.admissions,
        Kind::Inpatient,
        &mut events,
    );
    slots(
        &mut draw,
        world.year,
        52,
        rates.outpatient,
        Kind::Outpatient,
        &mut events,
    );
    slots(
        &mut draw,
        world.year,
        52,
        rates.pharmacy,
        Kind::Pharmacy,
        &mut events,
    );
    if person.hypertension || person.diabetes {
        slots(
            &mut draw,
            world.year,
            12,
            CHRONIC_MONTHLY_VISIT_PER_MILLE * 12,
            Kind::Chronic,
            &mut events,
        );
    }
    let first_day = person
        .benefit_from
        .max(NaiveDate::from_ymd_opt(world.year, 1, 1).expect("valid year"));
    for (day, kind) in events.into_iter().filter(|(day, _)| *day >= first_day) {
        let sequence = out.len() as u32;
        let head = match kind {
            Kind::Inpatient => admission(world, &mut draw, index, day, first_day),
            Kind::Outpatient => Some(outpatient(world, &mut draw, index, day)),
            Kind::Chronic => Some(chronic(world, &mut draw, index, day)),
            Kind::Pharmacy => Some(pharmacy(world, &mut draw, index, day)),
        };
        if let Some(mut head) = head {
            head.sequence = sequence;
            out.push(head);
        }
    }
}

/// Yearly rates (per mille of a person-year) for one person.
struct Rates {
    admissions: u32,
    outpatient: u32,
    pharmacy: u32,
}

impl Rates {
    fn of(person: &SynthPerson) -> Rates {
        let band = person.rate_band();
        let admissions = ADMISSIONS_PER_MILLE[band];
        let outpatient = OUTPATIENT_PER_MILLE[band];
        let pharmacy = PHARMACY_PER_MILLE[band];
        match person.category {
            Category::InService { .. } => Rates {
                admissions: admissions * IN_SERVICE_ADMISSION_PERCENT / 100,
                outpatient: outpatient * WORKER_OUTPATIENT_PERCENT / 100,
                pharmacy,
            },
            Category::Retired => Rates {
                admissions,
                outpatient: outpatient * WORKER_OUTPATIENT_PERCENT / 100,
                pharmacy,
            },
            Category::Resident { .. } => Rates {
                admissions,
                outpatient,
                pharmacy: pharmacy / 10,
            },
        }
    }
}

/// Splits the year into `count` slots; each holds an event with probability
/// `per_mille_year / count / 1000`, on a uniform day of the slot.
fn slots(
    draw: &mut Draw,
    year: i32,
    count: u32,
    per_mille_year: u32,
    kind: Kind,
    out: &mut Vec<(NaiveDate, Kind)>,
) {
    let per_million = u64::from(per_mille_year) * 1000 / u64::from(count);
    let year_start = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
    let year_days = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366
    } else {
        365
    };
    for slot in 0..u64::from(count) {
        if draw.per_million(per_million) {
            let first = slot * year_days / u64::from(count);
            let last = (slot + 1) * year_days / u64::from(count);
            out.push((
                year_start + Days::new(first + draw.below(last - first)),
                kind,
            ));
        }
    }
}

fn at(day: NaiveDate, first_hour: i64, last_hour: i64, draw: &mut Draw) -> NaiveDateTime {
    let seconds = draw.between(first_hour * 3600, last_hour * 3600 + 3599) as u32;
    day.and_time(NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).expect("valid time"))
}

/// Chapter weights for a setting, adjusted by age and sex.
fn chapter_weight(index: usize, base: u32, person: &SynthPerson) -> u32 {
    let chapter = &CHAPTERS[index];
    let age = person.age;
    match chapter.from {
        "O00" if person.male || !(18..=45).contains(&age) => 0,
        "O00" if (20..=39).contains(&age) => base * 3,
        "C00" | "I00" if age < 40 => base / 4,
        "I00" if age >= 60 => base * 2,
        "J00" if age < 15 => base * 3,
        _ => base,
    }
}

fn pick_diagnosis(
    draw: &mut Draw,
    world: &World<'_>,
    person: &SynthPerson,
    weight: fn(usize) -> u32,
) -> (usize, Diagnosis) {
    let chapter = draw.weighted((0..CHAPTERS.len()).map(|i| chapter_weight(i, weight(i), person)));
    let codes = &world.diagnoses.by_chapter[chapter];
    let code = draw.below(codes.len() as u64) as u32;
    (
        chapter,
        Diagnosis::Chapter {
            chapter: chapter as u8,
            code,
        },
    )
}

fn institution(world: &World<'_>, draw: &mut Draw, tier: Tier, county: usize) -> u32 {
    *draw.pick(world.institutions.choices(tier, county))
}

fn head(
    kind: Kind,
    person: usize,
    institution: u32,
    diagnosis: Diagnosis,
    times: (NaiveDateTime, NaiveDateTime),
) -> VisitHead {
    VisitHead {
        end: times.1,
        begin: times.0,
        person: person as u32,
        sequence: 0,
        kind,
        institution,
        diagnosis,
        target_fen: 0,
        stay_days: 0,
        referred: false,
        surgical: false,
    }
}

fn admission(
    world: &World<'_>,
    draw: &mut Draw,
    index: usize,
    day: NaiveDate,
    first_day: NaiveDate,
) -> Option<VisitHead> {
    let person = &world.persons[index];
    let (chapter, diagnosis) =
        pick_diagnosis(draw, world, person, |i| CHAPTERS[i].inpatient_weight);
    let info = &CHAPTERS[chapter];
    let (tier, level_slot) = if draw.per_mille(REMOTE_ADMISSION_PER_MILLE) {
        (Tier::Remote, 3)
    } else {
        let serious = matches!(info.from, "C00" | "I00");
        let levels = if serious {
            SERIOUS_ADMISSION_LEVELS
        } else {
            ADMISSION_LEVELS
        };
        match draw.weighted(levels.iter().copied()) {
            0 => (Tier::Third, 2),
            1 => (Tier::Second, 1),
            _ => (Tier::Township, 0),
        }
    };
    let stay_days = (i64::from(info.stay_median_days) * draw.lognormal_bp(Spread::Moderate)
        / 10_000)
        .max(1) as u32;
    let year_end = NaiveDate::from_ymd_opt(world.year, 12, 31).expect("valid year");
    let admitted = day.min(year_end - Days::new(u64::from(stay_days)));
    if admitted < first_day {
        return None;
    }
    let times = (
        at(admitted, 0, 23, draw),
        at(admitted + Days::new(u64::from(stay_days)), 8, 11, draw),
    );
    let target = info.inpatient_median_fen * i64::from(INPATIENT_LEVEL_PERCENT[level_slot]) / 100;
    let mut visit = head(
        Kind::Inpatient,
        index,
        institution(world, draw, tier, person.county),
        diagnosis,
        times,
    );
    visit.target_fen = draw.lognormal(target, Spread::Wide, 30_000);
    visit.stay_days = stay_days;
    visit.referred = tier == Tier::Remote && draw.per_mille(REMOTE_REFERRED_PER_MILLE);
    visit.surgical = info.surgical && draw.per_mille(SURGERY_PER_MILLE[level_slot]);
    Some(visit)
}

fn outpatient(world: &World<'_>, draw: &mut Draw, index: usize, day: NaiveDate) -> VisitHead {
    let person = &world.persons[index];
    let (chapter, diagnosis) =
        pick_diagnosis(draw, world, person, |i| CHAPTERS[i].outpatient_weight);
    let (tier, median_slot) = if draw.per_mille(REMOTE_OUTPATIENT_PER_MILLE) {
        (Tier::Remote, 4)
    } else {
        match draw.weighted(OUTPATIENT_LEVELS.iter().copied()) {
            0 => (Tier::Third, 3),
            1 => (Tier::Second, 2),
            2 => (Tier::Township, 1),
            _ => (Tier::Village, 0),
        }
    };
    let begin = at(day, 8, 16, draw);
    let end = begin + chrono::Duration::minutes(draw.between(10, 90));
    let median =
        OUTPATIENT_MEDIAN_FEN[median_slot] * i64::from(CHAPTERS[chapter].outpatient_percent) / 100;
    let mut visit = head(
        Kind::Outpatient,
        index,
        institution(world, draw, tier, person.county),
        diagnosis,
        (begin, end),
    );
    visit.target_fen = draw.lognormal(median, Spread::Wide, 500);
    visit
}

fn chronic(world: &World<'_>, draw: &mut Draw, index: usize, day: NaiveDate) -> VisitHead {
    let person = &world.persons[index];
    let hypertension = person.hypertension && (!person.diabetes || draw.per_mille(500));
    let diagnosis = if hypertension {
        Diagnosis::Hypertension(draw.below(world.diagnoses.hypertension.len() as u64) as u32)
    } else {
        Diagnosis::Diabetes(draw.below(world.diagnoses.diabetes.len() as u64) as u32)
    };
    let tier = if draw.weighted(CHRONIC_LEVELS.iter().copied()) == 0 {
        Tier::Second
    } else {
        Tier::Township
    };
    let begin = at(day, 8, 16, draw);
    let end = begin + chrono::Duration::minutes(draw.between(5, 40));
    let mut visit = head(
        Kind::Chronic,
        index,
        institution(world, draw, tier, person.county),
        diagnosis,
        (begin, end),
    );
    visit.target_fen = draw.lognormal(CHRONIC_MEDIAN_FEN, Spread::Narrow, 1_000);
    visit
}

fn pharmacy(world: &World<'_>, draw: &mut Draw, index: usize, day: NaiveDate) -> VisitHead {
    let person = &world.persons[index];
    let (_, diagnosis) = pick_diagnosis(draw, world, person, |i| CHAPTERS[i].pharmacy_weight);
    let begin = at(day, 8, 20, draw);
    let end = begin + chrono::Duration::minutes(draw.between(3, 20));
    let place = institution(world, draw, Tier::Pharmacy, person.county);
    let mut visit = head(Kind::Pharmacy, index, place, diagnosis, (begin, end));
    visit.target_fen = draw.lognormal(PHARMACY_MEDIAN_FEN, Spread::Wide, 500);
    visit
}
