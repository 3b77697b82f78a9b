//! Benefit waiting periods (待遇等待期) of the residents' scheme, 国办发〔2024〕38号: a fixed wait for
//! enrolment outside the collection window or after a break, a variable wait per year of break,
//! repaired by paying extra years, and exemptions (newborns, moves from the workers' scheme,
//! listed identities). Every number is policy data ([`WaitingPolicy`]).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Deserializer};

use crate::person::Identity;

/// A day of the year written `"MM-DD"`; a day past the month's end means its last day
/// (`"02-29"` is the end of February in every year).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl MonthDay {
    /// Reads `"MM-DD"` with month 1–12 and day 1–31.
    pub fn parse(text: &str) -> Result<MonthDay, String> {
        let bad = || format!("`{text}` is not a month-day `MM-DD`");
        let (month, day) = text.split_once('-').ok_or_else(bad)?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        let day: u32 = day.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(bad());
        }
        Ok(MonthDay { month, day })
    }

    /// This month-day in `year`, clamped to the month's last day.
    pub fn in_year(self, year: i32) -> NaiveDate {
        (0..4)
            .find_map(|back| NaiveDate::from_ymd_opt(year, self.month, self.day - back))
            .expect("every month has at least 28 days")
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl<'de> Deserialize<'de> for MonthDay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MonthDay, D::Error> {
        let text = String::deserialize(deserializer)?;
        MonthDay::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The collection window (集中参保期) for a coverage year: it opens in the year before and closes
/// either in that year too or, when `closes` comes before `opens` in the calendar, in the
/// coverage year itself (九江: 15 Sep – end of February).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionWindow {
    pub opens: MonthDay,
    pub closes: MonthDay,
}

impl CollectionWindow {
    /// First and last day of the window for `coverage_year`.
    pub fn dates(self, coverage_year: i32) -> (NaiveDate, NaiveDate) {
        let opens = self.opens.in_year(coverage_year - 1);
        let closes_year = if self.closes < self.opens {
            coverage_year
        } else {
            coverage_year - 1
        };
        (opens, self.closes.in_year(closes_year))
    }

    /// Whether `date` is inside the window for `coverage_year`.
    pub fn contains(self, coverage_year: i32, date: NaiveDate) -> bool {
        let (opens, closes) = self.dates(coverage_year);
        opens <= date && date <= closes
    }
}

/// Waiting-period rules of one coverage year.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitingPolicy {
    pub collection_window: CollectionWindow,
    /// Fixed wait for enrolment outside the window or after a break (38号: 3).
    pub fixed_wait_months: u32,
    /// Variable wait added per whole year of break (38号: 1).
    pub months_per_break_year: u32,
    /// Variable wait removed per extra year paid to repair a break (38号: 1).
    pub months_repaired_per_extra_year: u32,
    /// Break years before this year are not counted; `None` counts every year.
    #[serde(default)]
    pub breaks_counted_from_year: Option<i32>,
    /// Newborns enrolled within this many days of birth are covered from birth.
    pub newborn_exempt_days: u32,
    /// Persons leaving the workers' scheme who enrol within this many days have no wait.
    #[serde(default)]
    pub worker_transfer_exempt_days: Option<u32>,
    /// Identities exempt from any wait (e.g. groups enrolled by medical assistance).
    #[serde(default)]
    pub exempt_identities: Vec<Identity>,
}

/// The facts about one enrolment that decide its benefit start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// The insurance (calendar) year paid for.
    pub coverage_year: i32,
    /// Day the contribution was paid and the enrolment registered.
    pub enrolled_on: NaiveDate,
    pub birth_date: NaiveDate,
    /// Last day of membership in the workers' scheme, when the person comes from it.
    pub left_worker_scheme_on: Option<NaiveDate>,
    /// Identities active on `enrolled_on`.
    pub identities: Vec<Identity>,
}

/// Years of basic medical insurance paid before, in either scheme (moves between schemes keep
/// continuity), and extra years paid to repair a break.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContributionHistory {
    pub paid_years: BTreeSet<i32>,
    pub repair_years: u32,
}

/// Why an enrolment has no waiting period.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exemption {
    /// Enrolled within the newborn window; covered from birth.
    Newborn,
    /// Came from the workers' scheme within the transfer window.
    WorkerTransfer,
    /// Holds an exempt identity.
    Identity(Identity),
}

/// The benefit start of one enrolment and how it was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenefitStart {
    /// First day benefits are payable.
    pub date: NaiveDate,
    /// Whole years without contributions immediately before the coverage year (counted ones only).
    pub break_years: u32,
    /// Whether the contribution was paid inside the collection window.
    pub in_window: bool,
    /// Fixed part of the wait, in months.
    pub fixed_wait_months: u32,
    /// Variable part after repair, in months.
    pub variable_wait_months: u32,
    pub exemption: Option<Exemption>,
}

/// An enrolment the rules cannot place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    #[error("enrolled_on {enrolled_on} is after the end of coverage year {coverage_year}")]
    AfterCoverageYear {
        enrolled_on: NaiveDate,
        coverage_year: i32,
    },
    #[error("enrolled_on {enrolled_on} is before the collection window for {coverage_year} opens on {opens}")]
    BeforeWindow {
        enrolled_on: NaiveDate,
        coverage_year: i32,
        opens: NaiveDate,
    },
    #[error("paid_years contains {year}, which is not before coverage year {coverage_year}")]
    HistoryNotBefore { year: i32, coverage_year: i32 },
    #[error("the waiting period ends beyond the calendar")]
    DateOutOfRange,
}

/// First day of benefits for `enrolment`, given the person's contribution history and the
/// coverage year's waiting rules (`None`: no waiting rules that year, benefits from enrolment).
///
/// Benefits never start before the coverage year or before enrolment (`earliest`), except that
/// exempt newborns are covered from birth within the year. A wait counts whole months from
/// `earliest` (chrono month arithmetic: 31 May + 3 months = 31 Aug, 30 Nov + 3 = 28/29 Feb).
pub fn benefit_start(
    enrolment: &Enrolment,
    history: &ContributionHistory,
    policy: Option<&WaitingPolicy>,
) -> Result<BenefitStart, EnrolmentError> {
    let year = enrolment.coverage_year;
    check_history(history, year)?;
    let year_start = first_day(year);
    if enrolment.enrolled_on > last_day(year) {
        return Err(EnrolmentError::AfterCoverageYear {
            enrolled_on: enrolment.enrolled_on,
            coverage_year: year,
        });
    }
    let earliest = year_start.max(enrolment.enrolled_on);
    let Some(policy) = policy else {
        return Ok(no_wait(earliest, 0, true, None));
    };
    let (opens, _) = policy.collection_window.dates(year);
    if enrolment.enrolled_on < opens {
        return Err(EnrolmentError::BeforeWindow {
            enrolled_on: enrolment.enrolled_on,
            coverage_year: year,
            opens,
        });
    }
    let in_window = policy
        .collection_window
        .contains(year, enrolment.enrolled_on);
    let break_years = break_years(history, year, policy.breaks_counted_from_year);
    if let Some(exemption) = exemption(enrolment, policy) {
        let date = match exemption {
            Exemption::Newborn => year_start.max(enrolment.birth_date),
            Exemption::WorkerTransfer | Exemption::Identity(_) => earliest,
        };
        return Ok(no_wait(date, break_years, in_window, Some(exemption)));
    }
    if in_window && break_years == 0 {
        return Ok(no_wait(earliest, 0, true, None));
    }
    let variable = (break_years * policy.months_per_break_year)
        .saturating_sub(history.repair_years * policy.months_repaired_per_extra_year);
    let wait_months = policy.fixed_wait_months + variable;
    let date = earliest
        .checked_add_months(Months::new(wait_months))
        .ok_or(EnrolmentError::DateOutOfRange)?;
    Ok(BenefitStart {
        date,
        break_years,
        in_window,
        fixed_wait_months: policy.fixed_wait_months,
        variable_wait_months: variable,
        exemption: None,
    })
}

fn check_history(history: &ContributionHistory, coverage_year: i32) -> Result<(), EnrolmentError> {
    match history.paid_years.range(coverage_year..).next() {
        Some(&year) => Err(EnrolmentError::HistoryNotBefore {
            year,
            coverage_year,
        }),
        None => Ok(()),
    }
}

fn no_wait(
    date: NaiveDate,
    break_years: u32,
    in_window: bool,
    exemption: Option<Exemption>,
) -> BenefitStart {
    BenefitStart {
        date,
        break_years,
        in_window,
        fixed_wait_months: 0,
        variable_wait_months: 0,
        exemption,
    }
}

/// Unpaid years between the last paid year and `coverage_year` (none for a first enrolment).
fn break_years(
    history: &ContributionHistory,
    coverage_year: i32,
    counted_from: Option<i32>,
) -> u32 {
    let Some(&last_paid) = history.paid_years.last() else {
        return 0;
    };
    let first_gap_year = (last_paid + 1).max(counted_from.unwrap_or(i32::MIN));
    u32::try_from(coverage_year - first_gap_year).unwrap_or(0)
}

fn exemption(enrolment: &Enrolment, policy: &WaitingPolicy) -> Option<Exemption> {
    let within =
        |from: NaiveDate, days: u32| enrolment.enrolled_on <= from + Days::new(u64::from(days));
    if within(enrolment.birth_date, policy.newborn_exempt_days) {
        return Some(Exemption::Newborn);
    }
    if let (Some(left), Some(days)) = (
        enrolment.left_worker_scheme_on,
        policy.worker_transfer_exempt_days,
    ) {
        if within(left, days) {
            return Some(Exemption::WorkerTransfer);
        }
    }
    enrolment
        .identities
        .iter()
        .find(|i| policy.exempt_identities.contains(i))
        .map(|&i| Exemption::Identity(i))
}

/// 1 January of `year`.
pub fn first_day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year")
}

/// 31 December of `year`.
pub fn last_day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).expect("valid year")
}
