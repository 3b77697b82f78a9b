//! A case (案件): a finding taken up by the fund's supervisors. Its life: open → assigned →
//! reviewed → confirmed (with an amount and a type: 审核扣款, 稽核扣款 or 追回) or dismissed; only the
//! transitions of [`transition`] exist.

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Assigned,
    Reviewed,
    Confirmed,
    Dismissed,
}

impl CaseStatus {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Assigned => "assigned",
            CaseStatus::Reviewed => "reviewed",
            CaseStatus::Confirmed => "confirmed",
            CaseStatus::Dismissed => "dismissed",
        }
    }

    /// Reads a storage name.
    pub fn parse(text: &str) -> Option<CaseStatus> {
        [
            CaseStatus::Open,
            CaseStatus::Assigned,
            CaseStatus::Reviewed,
            CaseStatus::Confirmed,
            CaseStatus::Dismissed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Open => "已立案",
            CaseStatus::Assigned => "已分派",
            CaseStatus::Reviewed => "已审查",
            CaseStatus::Confirmed => "已确认",
            CaseStatus::Dismissed => "已撤销",
        }
    }
}

/// What is done to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    /// To a reviewer (again, while not yet reviewed).
    Assign,
    Review,
    Confirm,
    Dismiss,
}

impl CaseAction {
    /// Wire name (`assign`, `review`, `confirm`, `dismiss`).
    pub fn as_str(self) -> &'static str {
        match self {
            CaseAction::Assign => "assign",
            CaseAction::Review => "review",
            CaseAction::Confirm => "confirm",
            CaseAction::Dismiss => "dismiss",
        }
    }

    /// Reads a wire name.
    pub fn parse(text: &str) -> Option<CaseAction> {
        [
            CaseAction::Assign,
            CaseAction::Review,
            CaseAction::Confirm,
            CaseAction::Dismiss,
        ]
        .into_iter()
        .find(|a| a.as_str() == text)
    }

    fn label(self) -> &'static str {
        match self {
            CaseAction::Assign => "分派",
            CaseAction::Review => "审查",
            CaseAction::Confirm => "确认",
            CaseAction::Dismiss => "撤销",
        }
    }
}

/// How a confirmed amount is taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmType {
    /// 审核扣款: deducted from the institution's payment.
    AuditDeduction,
    /// 稽核扣款: deducted from the institution's payment after an inspection.
    InspectionDeduction,
    /// 追回: money already paid, deducted from the institution and credited back to the fund.
    Recovery,
}

impl ConfirmType {
    /// The Chinese name, as written on the wire and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmType::AuditDeduction => "审核扣款",
            ConfirmType::InspectionDeduction => "稽核扣款",
            ConfirmType::Recovery => "追回",
        }
    }

    /// Reads the Chinese name.
    pub fn parse(text: &str) -> Option<ConfirmType> {
        [
            ConfirmType::AuditDeduction,
            ConfirmType::InspectionDeduction,
            ConfirmType::Recovery,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

/// A transition the case's state does not allow, in the supervisor's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("案件状态为{}，不能{}（{}）", .from.label(), .action.label(), allowed(*.from))]
pub struct CaseError {
    pub from: CaseStatus,
    pub action: CaseAction,
}

fn allowed(from: CaseStatus) -> String {
    let next: Vec<&str> = [
        CaseAction::Assign,
        CaseAction::Review,
        CaseAction::Confirm,
        CaseAction::Dismiss,
    ]
    .into_iter()
    .filter(|a| transition(from, *a).is_ok())
    .map(CaseAction::label)
    .collect();
    if next.is_empty() {
        "案件已结束".to_string()
    } else {
        format!("可以：{}", next.join("、"))
    }
}

/// The state after `action`: open → assigned (assigning again keeps it assigned) → reviewed →
/// confirmed; dismissed from any state before confirmation.
pub fn transition(from: CaseStatus, action: CaseAction) -> Result<CaseStatus, CaseError> {
    use CaseAction as A;
    use CaseStatus as S;
    match (from, action) {
        (S::Open | S::Assigned, A::Assign) => Ok(S::Assigned),
        (S::Assigned, A::Review) => Ok(S::Reviewed),
        (S::Reviewed, A::Confirm) => Ok(S::Confirmed),
        (S::Open | S::Assigned | S::Reviewed, A::Dismiss) => Ok(S::Dismissed),
        _ => Err(CaseError { from, action }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_exist() {
        use CaseAction as A;
        use CaseStatus as S;
        let allowed = [
            (S::Open, A::Assign, S::Assigned),
            (S::Assigned, A::Assign, S::Assigned),
            (S::Assigned, A::Review, S::Reviewed),
            (S::Reviewed, A::Confirm, S::Confirmed),
            (S::Open, A::Dismiss, S::Dismissed),
            (S::Assigned, A::Dismiss, S::Dismissed),
            (S::Reviewed, A::Dismiss, S::Dismissed),
        ];
        for from in [
            S::Open,
            S::Assigned,
            S::Reviewed,
            S::Confirmed,
            S::Dismissed,
        ] {
            assert_eq!(CaseStatus::parse(from.as_str()), Some(from));
            for action in [A::Assign, A::Review, A::Confirm, A::Dismiss] {
                assert_eq!(CaseAction::parse(action.as_str()), Some(action));
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    transition(from, action).ok(),
                    expected,
                    "{from:?} {action:?}"
                );
            }
        }
        let refused = transition(S::Open, A::Confirm).unwrap_err().to_string();
        assert_eq!(refused, "案件状态为已立案，不能确认（可以：分派、撤销）");
        let closed = transition(S::Confirmed, A::Dismiss)
            .unwrap_err()
            .to_string();
        assert_eq!(closed, "案件状态为已确认，不能撤销（案件已结束）");
        assert_eq!(ConfirmType::parse("追回"), Some(ConfirmType::Recovery));
        assert_eq!(ConfirmType::parse("罚款"), None);
    }
}
