//! Whether a person has benefits in a scheme on a date, and if not, exactly why. The settlement
//! engine pays nothing outside an insured, benefit-bearing period and returns this reason.

use chrono::NaiveDate;
use yibao_domain::codes::Insutype;

use crate::person::{InsuStatus, InsuredPeriod, Person};

/// A person without benefits in `insutype` on `date`, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("person {psn_no} has no {insutype} benefits on {date}: {reason}")]
pub struct NotCovered {
    pub psn_no: String,
    pub insutype: Insutype,
    pub date: NaiveDate,
    pub reason: NotCoveredReason,
}

/// Why there are no benefits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCoveredReason {
    #[error("never enrolled in this scheme")]
    NeverEnrolled,
    #[error("not yet insured: the next insured period begins {begins}")]
    NotYetInsured { begins: NaiveDate },
    #[error("not insured since the insured period ended {ended}")]
    Lapsed { ended: NaiveDate },
    #[error("insured status 0 未参保 since {since}")]
    StatusNotInsured { since: NaiveDate },
    #[error("insurance suspended (status 2 暂停) since {since}")]
    Suspended { since: NaiveDate },
    #[error("insurance invalid (status 3 无效) since {since}")]
    Invalid { since: NaiveDate },
    #[error("insurance terminated (status 4 终止) since {since}")]
    Terminated { since: NaiveDate },
    #[error("in the waiting period until {last_waiting_day}; benefits start {benefit_start}")]
    WaitingPeriod {
        last_waiting_day: NaiveDate,
        benefit_start: NaiveDate,
    },
}

/// `Ok` when `person` is in a normal insured period of `insutype` on `date` and past its waiting
/// period; otherwise the precise reason.
pub fn coverage_on(person: &Person, insutype: Insutype, date: NaiveDate) -> Result<(), NotCovered> {
    periods_coverage_on(&person.psn_no, &person.insured_periods, insutype, date)
}

/// [`coverage_on`] for a person known by number and insured periods only (as a store of
/// `insuinfo` rows keeps them).
pub fn periods_coverage_on(
    psn_no: &str,
    periods: &[InsuredPeriod],
    insutype: Insutype,
    date: NaiveDate,
) -> Result<(), NotCovered> {
    let not_covered = |reason| NotCovered {
        psn_no: psn_no.to_string(),
        insutype,
        date,
        reason,
    };
    match periods
        .iter()
        .find(|p| p.insutype == insutype && p.contains(date))
    {
        Some(period) => {
            period_reason(period, date).map_or(Ok(()), |reason| Err(not_covered(reason)))
        }
        None => Err(not_covered(outside_reason(periods, insutype, date))),
    }
}

fn period_reason(period: &InsuredPeriod, date: NaiveDate) -> Option<NotCoveredReason> {
    let since = period.begin;
    match period.status {
        InsuStatus::NotInsured => Some(NotCoveredReason::StatusNotInsured { since }),
        InsuStatus::Suspended => Some(NotCoveredReason::Suspended { since }),
        InsuStatus::Invalid => Some(NotCoveredReason::Invalid { since }),
        InsuStatus::Terminated => Some(NotCoveredReason::Terminated { since }),
        InsuStatus::Normal if date < period.benefit_start => {
            Some(NotCoveredReason::WaitingPeriod {
                last_waiting_day: period
                    .benefit_start
                    .pred_opt()
                    .unwrap_or(period.benefit_start),
                benefit_start: period.benefit_start,
            })
        }
        InsuStatus::Normal => None,
    }
}

/// Reason when no period of the scheme contains `date`: the last period to have ended before it,
/// else the next one to begin.
fn outside_reason(
    periods: &[InsuredPeriod],
    insutype: Insutype,
    date: NaiveDate,
) -> NotCoveredReason {
    let periods = || periods.iter().filter(|p| p.insutype == insutype);
    if let Some(ended) = periods()
        .filter_map(|p| p.end)
        .filter(|&end| end < date)
        .max()
    {
        return NotCoveredReason::Lapsed { ended };
    }
    match periods().filter(|p| p.begin > date).map(|p| p.begin).min() {
        Some(begins) => NotCoveredReason::NotYetInsured { begins },
        None => NotCoveredReason::NeverEnrolled,
    }
}
