//! A person's care in time order, built once per person: every fee line as a timed event and the
//! inpatient stays, so that history questions are binary searches over a window, not scans of
//! everyone's claims.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::claim::Claim;
use crate::knowledge::Table;
use crate::lang::NUM_SCALE;

/// "No such earlier or later stay": a gap larger than any window.
pub const NO_GAP_DAYS: i64 = 99_999;

#[derive(Debug, Clone, Copy)]
struct Event<'a> {
    time: NaiveDateTime,
    claim: u32,
    line: u32,
    code: &'a str,
    cnt_e4: i64,
}

/// Days before a visit whose purchases [`PersonHistory::remaining_supply_days`] counts.
pub const SUPPLY_LOOK_BACK_DAYS: i64 = 366;

/// One person's claims (sorted by begin time), line events and stays.
#[derive(Debug)]
pub struct PersonHistory<'a> {
    pub claims: Vec<&'a Claim>,
    events: Vec<Event<'a>>,
    stays: Vec<u32>,
}

impl<'a> PersonHistory<'a> {
    /// Sorts the claims by begin time (then `mdtrt_id`) and indexes their lines and stays.
    pub fn new(mut claims: Vec<&'a Claim>) -> PersonHistory<'a> {
        claims.sort_by(|a, b| (a.begin, &a.mdtrt_id).cmp(&(b.begin, &b.mdtrt_id)));
        let mut events = Vec::new();
        let mut stays = Vec::new();
        for (ci, claim) in claims.iter().enumerate() {
            if claim.is_inpatient() {
                stays.push(ci as u32);
            }
            for (li, line) in claim.lines.iter().enumerate() {
                events.push(Event {
                    time: claim.begin,
                    claim: ci as u32,
                    line: li as u32,
                    code: line.code(),
                    cnt_e4: line.cnt_e4,
                });
            }
        }
        PersonHistory {
            claims,
            events,
            stays,
        }
    }

    fn between(&self, from: NaiveDateTime, to: NaiveDateTime) -> &[Event<'a>] {
        let start = self.events.partition_point(|e| e.time < from);
        let end = self.events.partition_point(|e| e.time <= to);
        &self.events[start..end.max(start)]
    }

    fn day_window(&self, ci: u32, days: i64) -> &[Event<'a>] {
        let claim = self.claims[ci as usize];
        let from = (claim.begin.date() - Duration::days((days - 1).max(0)))
            .and_hms_opt(0, 0, 0)
            .unwrap_or(claim.begin);
        self.between(from, claim.begin)
    }

    /// Units of the row's items billed on the claim's calendar day (all visits that day).
    pub fn same_day_qty(&self, ci: u32, table: &Table, row: u32) -> i64 {
        self.day_window(ci, 1)
            .iter()
            .chain(self.later_same_day(ci))
            .filter(|e| table.row_of(e.code) == Some(row))
            .map(|e| e.cnt_e4)
            .sum()
    }

    fn later_same_day(&self, ci: u32) -> &[Event<'a>] {
        let at = self.claims[ci as usize].begin;
        let end_of_day = at.date().and_hms_opt(23, 59, 59).unwrap_or(at);
        let start = self.events.partition_point(|e| e.time <= at);
        let end = self.events.partition_point(|e| e.time <= end_of_day);
        &self.events[start..end.max(start)]
    }

    /// Visits billing the row's items in the `days` calendar days ending with this visit.
    pub fn count_within(&self, ci: u32, days: i64, table: &Table, row: u32) -> i64 {
        let mut claims: Vec<u32> = self
            .day_window(ci, days)
            .iter()
            .filter(|e| table.row_of(e.code) == Some(row))
            .map(|e| e.claim)
            .collect();
        claims.dedup();
        claims.len() as i64
    }

    /// Distinct days the row's items were billed in the `days` calendar days ending with this visit.
    pub fn days_within(&self, ci: u32, days: i64, table: &Table, row: u32) -> i64 {
        let mut dates: Vec<NaiveDate> = self
            .day_window(ci, days)
            .iter()
            .filter(|e| table.row_of(e.code) == Some(row))
            .map(|e| e.time.date())
            .collect();
        dates.dedup();
        dates.len() as i64
    }

    /// Lines of earlier visits in the `days` before this one whose code starts with a prefix.
    pub fn prior_any(&self, ci: u32, prefixes: &[String], days: i64) -> i64 {
        let claim = self.claims[ci as usize];
        let from = claim.begin - Duration::days(days);
        self.between(from, claim.begin)
            .iter()
            .filter(|e| e.claim < ci && starts_with_any(e.code, prefixes))
            .count() as i64
    }

    /// Whether another line (this visit or another) with a listed prefix lies within ±hours.
    pub fn any_within_hours(&self, ci: u32, li: u32, prefixes: &[String], hours: i64) -> bool {
        let at = self.claims[ci as usize].begin;
        let span = Duration::hours(hours);
        self.between(at - span, at + span)
            .iter()
            .any(|e| (e.claim, e.line) != (ci, li) && starts_with_any(e.code, prefixes))
    }

    /// Days' supply of the row's items still running at this visit from earlier visits
    /// (`units_per_day_e4`: the daily dose in units ×10,000), ×10,000.
    pub fn remaining_supply_days(
        &self,
        ci: u32,
        table: &Table,
        row: u32,
        units_per_day_e4: i64,
    ) -> i64 {
        if units_per_day_e4 <= 0 {
            return 0;
        }
        let now = self.claims[ci as usize].begin;
        let from = now - Duration::days(SUPPLY_LOOK_BACK_DAYS);
        self.between(from, now)
            .iter()
            .filter(|e| e.claim < ci && table.row_of(e.code) == Some(row))
            .map(|e| {
                let supply_e4 = e.cnt_e4 * NUM_SCALE / units_per_day_e4;
                let elapsed_e4 = (now.date() - e.time.date()).num_days() * NUM_SCALE;
                supply_e4 - elapsed_e4
            })
            .max()
            .unwrap_or(0)
            .max(0)
    }

    fn stays(&self) -> impl Iterator<Item = (u32, &'a Claim)> + '_ {
        self.stays.iter().map(|&i| (i, self.claims[i as usize]))
    }

    /// The latest earlier stay at the same institution: days from its discharge to this admission
    /// and whether it shares the first diagnosis's category (3 characters).
    pub fn readmission(&self, ci: u32) -> (i64, bool) {
        let claim = self.claims[ci as usize];
        self.stays()
            .filter(|(i, s)| {
                *i < ci && s.fixmedins_code == claim.fixmedins_code && s.end <= claim.begin
            })
            .max_by_key(|(_, s)| s.end)
            .map_or((NO_GAP_DAYS, false), |(_, prev)| {
                let gap = (claim.begin.date() - prev.end.date()).num_days();
                (gap, same_category(prev, claim))
            })
    }

    /// Another stay at another institution overlaps this one.
    pub fn overlapping_stay_elsewhere(&self, ci: u32) -> bool {
        let claim = self.claims[ci as usize];
        self.stays().any(|(i, s)| {
            i != ci
                && s.fixmedins_code != claim.fixmedins_code
                && s.begin < claim.end
                && claim.begin < s.end
        })
    }

    /// Non-inpatient visits at other institutions begun during this stay.
    pub fn visits_elsewhere_during_stay(&self, ci: u32) -> i64 {
        let stay = self.claims[ci as usize];
        let start = self.claims.partition_point(|c| c.begin <= stay.begin);
        self.claims[start..]
            .iter()
            .take_while(|c| c.begin < stay.end)
            .filter(|c| !c.is_inpatient() && c.fixmedins_code != stay.fixmedins_code)
            .count() as i64
    }

    /// This visit began while the person was an inpatient at another institution.
    pub fn inpatient_elsewhere(&self, ci: u32) -> bool {
        let claim = self.claims[ci as usize];
        self.stays().any(|(i, s)| {
            i != ci
                && s.fixmedins_code != claim.fixmedins_code
                && s.begin < claim.begin
                && claim.begin < s.end
        })
    }

    /// Days from this visit to the next admission at the same institution.
    pub fn days_to_admission_same_inst(&self, ci: u32) -> i64 {
        let claim = self.claims[ci as usize];
        self.stays()
            .filter(|(i, s)| {
                *i != ci && s.fixmedins_code == claim.fixmedins_code && s.begin >= claim.begin
            })
            .map(|(_, s)| (s.begin.date() - claim.begin.date()).num_days())
            .min()
            .unwrap_or(NO_GAP_DAYS)
    }
}

/// Whether `code` starts with one of the prefixes.
pub fn starts_with_any(code: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| code.starts_with(p.as_str()))
}

fn same_category(a: &Claim, b: &Claim) -> bool {
    match (a.diagnoses.first(), b.diagnoses.first()) {
        (Some(x), Some(y)) => x.get(..3).is_some() && x.get(..3) == y.get(..3),
        _ => false,
    }
}
