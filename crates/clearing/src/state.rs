//! The clearing state machine (`clearing-and-budgets.md` §2.2): 10 applied → 20 accepted → 30 under
//! review → 40 reviewed → 50 cleared → 60 paid, forward one step at a time; 70 rejected from 10–40.
//! A rejected clearing is final: the bureau resubmits the month × pair × scheme as a new application
//! under a new clearing id (`clearing-and-budgets.md` §2.2, "a rejected application is resubmitted
//! as a new application"), the rejected one kept for the record; 60 is final.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a month's clearing of one insured region × treating region × scheme stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClearingState {
    /// 10 申请.
    Applied,
    /// 20 受理.
    Accepted,
    /// 30 审核中.
    UnderReview,
    /// 40 审核完成.
    Reviewed,
    /// 50 已清算.
    Cleared,
    /// 60 已拨付.
    Paid,
    /// 70 拒绝.
    Rejected,
}

/// A state change the machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("清算状态不能从 {from} 变为 {to}")]
pub struct TransitionError {
    pub from: ClearingState,
    pub to: ClearingState,
}

const ALL: [ClearingState; 7] = [
    ClearingState::Applied,
    ClearingState::Accepted,
    ClearingState::UnderReview,
    ClearingState::Reviewed,
    ClearingState::Cleared,
    ClearingState::Paid,
    ClearingState::Rejected,
];

impl ClearingState {
    /// The stored code (`"10"` … `"70"`).
    pub fn code(self) -> &'static str {
        match self {
            ClearingState::Applied => "10",
            ClearingState::Accepted => "20",
            ClearingState::UnderReview => "30",
            ClearingState::Reviewed => "40",
            ClearingState::Cleared => "50",
            ClearingState::Paid => "60",
            ClearingState::Rejected => "70",
        }
    }

    /// The state of a code, if it is one.
    pub fn parse(code: &str) -> Option<ClearingState> {
        ALL.into_iter().find(|state| state.code() == code)
    }

    /// The Chinese name of the state.
    pub fn label(self) -> &'static str {
        match self {
            ClearingState::Applied => "申请",
            ClearingState::Accepted => "受理",
            ClearingState::UnderReview => "审核中",
            ClearingState::Reviewed => "审核完成",
            ClearingState::Cleared => "已清算",
            ClearingState::Paid => "已拨付",
            ClearingState::Rejected => "拒绝",
        }
    }

    /// Whether the month's amounts are settled between the regions (50 or 60): a cancellation of a
    /// settlement of such a month can only enter a later cycle.
    pub fn is_cleared(self) -> bool {
        matches!(self, ClearingState::Cleared | ClearingState::Paid)
    }

    /// The next state, if `to` is allowed from `self`.
    pub fn advance(self, to: ClearingState) -> Result<ClearingState, TransitionError> {
        let next = match self {
            ClearingState::Applied => Some(ClearingState::Accepted),
            ClearingState::Accepted => Some(ClearingState::UnderReview),
            ClearingState::UnderReview => Some(ClearingState::Reviewed),
            ClearingState::Reviewed => Some(ClearingState::Cleared),
            ClearingState::Cleared => Some(ClearingState::Paid),
            ClearingState::Paid | ClearingState::Rejected => None,
        };
        let may_reject = self <= ClearingState::Reviewed;
        if Some(to) == next || (to == ClearingState::Rejected && may_reject) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for ClearingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_one_step_and_reject_until_reviewed() {
        let mut allowed = Vec::new();
        for from in ALL {
            for to in ALL {
                if from.advance(to).is_ok() {
                    allowed.push((from.code(), to.code()));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                ("10", "20"),
                ("10", "70"),
                ("20", "30"),
                ("20", "70"),
                ("30", "40"),
                ("30", "70"),
                ("40", "50"),
                ("40", "70"),
                ("50", "60"),
            ]
        );
    }

    #[test]
    fn codes_round_trip() {
        for state in ALL {
            assert_eq!(ClearingState::parse(state.code()), Some(state));
        }
        assert_eq!(ClearingState::parse("15"), None);
    }
}
