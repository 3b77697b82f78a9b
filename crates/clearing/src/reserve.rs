//! Releasing the reserve withheld from clearings (deduction 40 预留金暂扣). `[inferred]`: no source
//! at hand says when a withheld clearing reserve is paid out; "暂扣" (withheld for the time being)
//! says it is, so a bureau releases it per pair × scheme × period — a year (at the year-end
//! clearing) or one month (on a decision after review) — once every clearing of the pair in the
//! period holding a reserve is paid (60), each clearing's reserve released exactly once, in full,
//! never more than was withheld. A rejected clearing (70) withheld nothing (its postings were
//! undone); its resubmission withholds its own. Pure: the caller reads the pair's clearings and
//! stores the release.

use std::fmt;

use serde::{Deserialize, Serialize};
use yibao_domain::Fen;

use crate::{ClearingState, Month, MonthError};

/// The clearing months a release covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReservePeriod {
    /// Every month of a year (`yyyy`).
    Year(i32),
    /// One month (`yyyy-MM`).
    Month(Month),
}

impl ReservePeriod {
    /// Reads `yyyy` or `yyyy-MM`.
    pub fn parse(text: &str) -> Result<ReservePeriod, MonthError> {
        if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            let year: i32 = text.parse().map_err(|_| MonthError(text.into()))?;
            if year >= 1900 {
                return Ok(ReservePeriod::Year(year));
            }
            return Err(MonthError(text.into()));
        }
        Month::parse(text).map(ReservePeriod::Month)
    }

    /// Whether `month` is in the period.
    pub fn contains(self, month: Month) -> bool {
        match self {
            ReservePeriod::Year(year) => month.year == year,
            ReservePeriod::Month(m) => m == month,
        }
    }
}

impl fmt::Display for ReservePeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReservePeriod::Year(year) => write!(f, "{year:04}"),
            ReservePeriod::Month(month) => write!(f, "{month}"),
        }
    }
}

/// One clearing of the pair as the release sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveHolder {
    pub clr_id: String,
    pub month: Month,
    pub state: ClearingState,
    /// Its deduction 40.
    pub reserve_withheld: Fen,
    /// Whether an earlier release paid it out.
    pub released: bool,
}

/// Why a reserve cannot be released.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    #[error("清算 {clr_id} 状态为 {state}：预留金须在该期间的清算全部拨付（60）后返还")]
    NotPaid {
        clr_id: String,
        state: ClearingState,
    },
    #[error("{period} 没有待返还的预留金（暂扣金额为 0 或已返还）")]
    NothingWithheld { period: ReservePeriod },
}

/// The clearings a release pays out, with the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePlan {
    /// `(clr_id, amount)`: each clearing's whole reserve, in the order given.
    pub rows: Vec<(String, Fen)>,
    pub amount: Fen,
}

/// The release of the pair's reserve in `period` from its clearings `holders` (see the module):
/// refused while a clearing of the period holding a reserve is not paid, or when nothing withheld
/// is left to release.
pub fn plan_release(
    period: ReservePeriod,
    holders: &[ReserveHolder],
) -> Result<ReleasePlan, ReleaseError> {
    let holding = holders.iter().filter(|h| {
        period.contains(h.month)
            && h.state != ClearingState::Rejected
            && h.reserve_withheld > Fen(0)
    });
    let mut rows = Vec::new();
    for holder in holding {
        if holder.state != ClearingState::Paid {
            return Err(ReleaseError::NotPaid {
                clr_id: holder.clr_id.clone(),
                state: holder.state,
            });
        }
        if !holder.released {
            rows.push((holder.clr_id.clone(), holder.reserve_withheld));
        }
    }
    if rows.is_empty() {
        return Err(ReleaseError::NothingWithheld { period });
    }
    let amount = rows.iter().map(|(_, amount)| *amount).sum();
    Ok(ReleasePlan { rows, amount })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(
        clr_id: &str,
        month: &str,
        state: &str,
        reserve: i64,
        released: bool,
    ) -> ReserveHolder {
        ReserveHolder {
            clr_id: clr_id.into(),
            month: Month::parse(month).unwrap(),
            state: ClearingState::parse(state).unwrap(),
            reserve_withheld: Fen(reserve),
            released,
        }
    }

    #[test]
    fn periods_read_and_contain() {
        let march = Month::parse("2026-03").unwrap();
        assert_eq!(
            ReservePeriod::parse("2026").unwrap(),
            ReservePeriod::Year(2026)
        );
        assert_eq!(
            ReservePeriod::parse("2026-03").unwrap(),
            ReservePeriod::Month(march)
        );
        for bad in ["26", "1899", "2026-3", "2026-13", "", "二〇二六"] {
            assert!(ReservePeriod::parse(bad).is_err(), "{bad}");
        }
        assert!(ReservePeriod::Year(2026).contains(march));
        assert!(!ReservePeriod::Year(2025).contains(march));
        assert!(!ReservePeriod::Month(march.next()).contains(march));
        assert_eq!(ReservePeriod::Year(2026).to_string(), "2026");
        assert_eq!(ReservePeriod::Month(march).to_string(), "2026-03");
    }

    #[test]
    fn releases_each_paid_reserve_once_and_in_full() {
        let holders = [
            holder("a", "2026-01", "60", 100, false),
            holder("b", "2026-02", "70", 50, false),
            holder("b-2", "2026-02", "60", 40, false),
            holder("c", "2026-03", "60", 30, true),
            holder("d", "2026-04", "10", 0, false),
            holder("e", "2027-01", "10", 70, false),
        ];
        let plan = plan_release(ReservePeriod::Year(2026), &holders).unwrap();
        assert_eq!(
            plan.rows,
            vec![("a".into(), Fen(100)), ("b-2".into(), Fen(40))]
        );
        assert_eq!(plan.amount, Fen(140));
        let march = ReservePeriod::parse("2026-03").unwrap();
        assert_eq!(
            plan_release(march, &holders),
            Err(ReleaseError::NothingWithheld { period: march })
        );
        let pending = plan_release(ReservePeriod::Year(2027), &holders).unwrap_err();
        assert!(pending.to_string().contains("清算 e"), "{pending}");
    }
}
