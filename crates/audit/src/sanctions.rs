//! Sanctions of fund supervision (issue 13 §5), pure: an institution's agreement (定点协议) in force
//! on a day, a practitioner's standing (医保医师 penalty points → 暂停 / 终止), a person's card
//! suspension, and the institution credit rating from confirmed violations. Every number comes from
//! [`SanctionsPolicy`] (`rules/jiujiang/sanctions.toml`).

use chrono::{Datelike, Months, NaiveDate};
use serde::Deserialize;
use yibao_domain::Fen;

use crate::case::ConfirmType;
use crate::{data_error, parse_toml, AuditError};

/// Fen in 10,000 yuan (the unit of the credit deduction by amount).
const FEN_PER_10K_YUAN: i64 = 1_000_000;

/// The status an agreement event sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgreementStatus {
    /// 正常: in force (also a suspension lifted).
    Active,
    /// 暂停: settlement refused until an `Active` event.
    Suspended,
    /// 解除: agreement ended; settlement refused.
    Terminated,
}

impl AgreementStatus {
    /// The stored and wire name: `active`, `suspended`, `terminated`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Active => "active",
            AgreementStatus::Suspended => "suspended",
            AgreementStatus::Terminated => "terminated",
        }
    }

    /// The Chinese name a cashier reads.
    pub fn label(self) -> &'static str {
        match self {
            AgreementStatus::Active => "正常",
            AgreementStatus::Suspended => "暂停",
            AgreementStatus::Terminated => "解除",
        }
    }

    /// Reads the stored name.
    pub fn parse(text: &str) -> Option<AgreementStatus> {
        [
            AgreementStatus::Active,
            AgreementStatus::Suspended,
            AgreementStatus::Terminated,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One step of an institution's agreement history (append-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementEvent {
    pub status: AgreementStatus,
    /// The day the status takes effect.
    pub begndate: NaiveDate,
    pub reason: String,
    /// The decision's document number (文号).
    pub doc_no: String,
}

/// The agreement event in force on `on`: of the events effective on or before it, the one with the
/// latest effective day, the later recorded on a tie. `events` are in the order recorded.
pub fn agreement_on(events: &[AgreementEvent], on: NaiveDate) -> Option<&AgreementEvent> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.begndate <= on)
        .max_by_key(|(index, e)| (e.begndate, *index))
        .map(|(_, e)| e)
}

/// A person's card suspension (暂停联网结算) from `begndate` to `enddate`, both included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSuspension {
    pub begndate: NaiveDate,
    pub enddate: NaiveDate,
    pub reason: String,
    pub doc_no: String,
}

/// The suspension in force on `on`, if any (the one ending last).
pub fn card_suspension_on(
    suspensions: &[CardSuspension],
    on: NaiveDate,
) -> Option<&CardSuspension> {
    suspensions
        .iter()
        .filter(|s| s.begndate <= on && on <= s.enddate)
        .max_by_key(|s| s.enddate)
}

/// Penalty points given to a practitioner on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointEntry {
    pub date: NaiveDate,
    pub points: u32,
}

/// A practitioner's standing on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// May prescribe and bill; `points`: this natural year's points so far.
    Good { points: u32 },
    /// 暂停 or 终止 (`terminated`) from `since` to `until` (excluded), reached at `points`.
    Sanctioned {
        points: u32,
        since: NaiveDate,
        until: NaiveDate,
        terminated: bool,
    },
}

/// One tier of the points scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointTier {
    /// Points in one natural year that reach the tier.
    pub points: u32,
    /// Months the sanction lasts from the day they are reached.
    pub months: u32,
    /// 终止 rather than 暂停.
    pub terminate: bool,
}

/// The points a confirmed case of one type gives each practitioner who billed its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasePoints {
    /// 审核扣款, 稽核扣款 or 追回.
    pub confirm_type: String,
    /// 1 to 12.
    pub points: u32,
}

/// The practitioners' points scale.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PractitionerPolicy {
    /// Ascending by points.
    pub tiers: Vec<PointTier>,
    /// Points per confirmed case by its type (a type not listed gives none).
    #[serde(default)]
    pub case_points: Vec<CasePoints>,
}

impl PractitionerPolicy {
    /// The points a confirmed case of `confirm_type` gives (0: none).
    pub fn case_points(&self, confirm_type: ConfirmType) -> u32 {
        self.case_points
            .iter()
            .find(|c| c.confirm_type == confirm_type.as_str())
            .map_or(0, |c| c.points)
    }
}

/// A confirmed violation's deduction from the credit score.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditDeduction {
    /// 审核扣款, 稽核扣款 or 追回.
    pub confirm_type: String,
    pub points_per_case: u32,
    /// Per whole 10,000 yuan of the confirmed amount.
    pub points_per_10k_yuan: u32,
}

/// A grade and the lowest score that earns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditGrade {
    pub grade: String,
    pub min_score: u32,
}

/// The credit rating's scale.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditPolicy {
    pub base_score: u32,
    pub deductions: Vec<CreditDeduction>,
    /// Highest first; the last starts at 0.
    pub grades: Vec<CreditGrade>,
}

/// `sanctions.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanctionsPolicy {
    pub practitioner: PractitionerPolicy,
    pub credit: CreditPolicy,
}

/// A confirmed violation of an institution, as the credit rating reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    pub confirm_type: ConfirmType,
    pub amount: Fen,
}

/// An institution's credit rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRating {
    pub score: u32,
    pub grade: String,
    pub cases: usize,
    pub amount: Fen,
}

impl SanctionsPolicy {
    /// Parses and validates `sanctions.toml`; errors name the file and field.
    pub fn parse(text: &str, file: &str) -> Result<SanctionsPolicy, AuditError> {
        let policy: SanctionsPolicy = parse_toml(text, file)?;
        policy.validate(file)?;
        Ok(policy)
    }

    fn validate(&self, file: &str) -> Result<(), AuditError> {
        let fail = |path: String, problem: &str| Err(data_error(file, path, problem.to_string()));
        let tiers = &self.practitioner.tiers;
        if tiers.is_empty() {
            return fail("practitioner.tiers".into(), "至少须有一档");
        }
        for (i, tier) in tiers.iter().enumerate() {
            if tier.points == 0 {
                return fail(format!("practitioner.tiers[{i}].points"), "须大于 0");
            }
            if tier.months == 0 || tier.months > 120 {
                return fail(
                    format!("practitioner.tiers[{i}].months"),
                    "须在 1 到 120 之间",
                );
            }
            if i > 0 && tier.points <= tiers[i - 1].points {
                return fail(format!("practitioner.tiers[{i}].points"), "须按分值递增");
            }
        }
        for (i, c) in self.practitioner.case_points.iter().enumerate() {
            if ConfirmType::parse(&c.confirm_type).is_none() {
                return fail(
                    format!("practitioner.case_points[{i}].confirm_type"),
                    "须为 审核扣款、稽核扣款 或 追回",
                );
            }
            let earlier = &self.practitioner.case_points[..i];
            if earlier.iter().any(|e| e.confirm_type == c.confirm_type) {
                return fail(
                    format!("practitioner.case_points[{i}].confirm_type"),
                    "重复",
                );
            }
            if c.points == 0 || c.points > 12 {
                return fail(
                    format!("practitioner.case_points[{i}].points"),
                    "须在 1 到 12 之间",
                );
            }
        }
        let credit = &self.credit;
        if credit.base_score == 0 {
            return fail("credit.base_score".into(), "须大于 0");
        }
        for (i, d) in credit.deductions.iter().enumerate() {
            if ConfirmType::parse(&d.confirm_type).is_none() {
                return fail(
                    format!("credit.deductions[{i}].confirm_type"),
                    "须为 审核扣款、稽核扣款 或 追回",
                );
            }
            let earlier = &credit.deductions[..i];
            if earlier.iter().any(|e| e.confirm_type == d.confirm_type) {
                return fail(format!("credit.deductions[{i}].confirm_type"), "重复");
            }
        }
        let grades = &credit.grades;
        for (i, g) in grades.iter().enumerate() {
            if g.grade.trim().is_empty() {
                return fail(format!("credit.grades[{i}].grade"), "不能为空");
            }
            if i > 0 && g.min_score >= grades[i - 1].min_score {
                return fail(format!("credit.grades[{i}].min_score"), "须按分值递减");
            }
        }
        match grades.last() {
            Some(last) if last.min_score == 0 => Ok(()),
            _ => fail("credit.grades".into(), "最后一档的 min_score 须为 0"),
        }
    }

    /// A practitioner's standing on `on` from the points given (any order). Points count per
    /// natural year; each tier starts on the day that year's points first reach it and lasts its
    /// months, so a sanction reached in December runs into the next year. Of the sanctions in
    /// force on `on`, a termination comes first, then the one ending last (a shorter sanction of a
    /// later year never lifts a longer one).
    pub fn standing(&self, entries: &[PointEntry], on: NaiveDate) -> Standing {
        let mut sorted: Vec<PointEntry> =
            entries.iter().copied().filter(|e| e.date <= on).collect();
        sorted.sort_by_key(|e| e.date);
        let mut in_force: Option<(u32, NaiveDate, NaiveDate, bool)> = None;
        let mut year_points = 0u32;
        let mut year = None;
        for entry in &sorted {
            if year != Some(entry.date.year()) {
                year = Some(entry.date.year());
                year_points = 0;
            }
            let before = year_points;
            year_points = year_points.saturating_add(entry.points);
            for tier in &self.practitioner.tiers {
                if before < tier.points && tier.points <= year_points {
                    let until = entry
                        .date
                        .checked_add_months(Months::new(tier.months))
                        .unwrap_or(NaiveDate::MAX);
                    let sanction = (year_points, entry.date, until, tier.terminate);
                    let outranks = |held: &(u32, NaiveDate, NaiveDate, bool)| {
                        (sanction.3, sanction.2) >= (held.3, held.2)
                    };
                    if on < until && in_force.as_ref().is_none_or(outranks) {
                        in_force = Some(sanction);
                    }
                }
            }
        }
        let points = if year == Some(on.year()) {
            year_points
        } else {
            0
        };
        match in_force {
            Some((reached, since, until, terminated)) => Standing::Sanctioned {
                points: reached,
                since,
                until,
                terminated,
            },
            _ => Standing::Good { points },
        }
    }

    /// The credit rating from an institution's confirmed violations: the base score less each
    /// case's points and its points per whole 10,000 yuan (floor), not below 0; the grade is the
    /// first whose `min_score` the score reaches.
    pub fn credit_rating(&self, violations: &[Violation]) -> CreditRating {
        let credit = &self.credit;
        let mut deducted: u64 = 0;
        let mut amount = Fen::ZERO;
        for v in violations {
            amount += v.amount;
            let Some(rule) = credit
                .deductions
                .iter()
                .find(|d| d.confirm_type == v.confirm_type.as_str())
            else {
                continue;
            };
            let whole_10k = u64::try_from(v.amount.fen() / FEN_PER_10K_YUAN).unwrap_or(0);
            deducted = deducted
                .saturating_add(u64::from(rule.points_per_case))
                .saturating_add(whole_10k.saturating_mul(u64::from(rule.points_per_10k_yuan)));
        }
        let score = u64::from(credit.base_score).saturating_sub(deducted);
        let score = u32::try_from(score).unwrap_or(0);
        let grade = credit
            .grades
            .iter()
            .find(|g| score >= g.min_score)
            .map(|g| g.grade.clone())
            .unwrap_or_default();
        CreditRating {
            score,
            grade,
            cases: violations.len(),
            amount,
        }
    }
}

/// The sanctions policy shipped with yibao: 九江 (`rules/jiujiang/sanctions.toml`).
pub fn shipped_jiujiang() -> Result<SanctionsPolicy, AuditError> {
    SanctionsPolicy::parse(
        include_str!("../../../rules/jiujiang/sanctions.toml"),
        "rules/jiujiang/sanctions.toml",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn event(status: AgreementStatus, begndate: &str) -> AgreementEvent {
        AgreementEvent {
            status,
            begndate: day(begndate),
            reason: "r".into(),
            doc_no: "d".into(),
        }
    }

    #[test]
    fn the_agreement_in_force_is_the_latest_effective_one() {
        let events = [
            event(AgreementStatus::Suspended, "2025-03-01"),
            event(AgreementStatus::Active, "2025-06-01"),
            event(AgreementStatus::Terminated, "2025-05-01"),
        ];
        assert_eq!(agreement_on(&events, day("2025-02-28")), None);
        let on = |d| agreement_on(&events, day(d)).map(|e| e.status);
        assert_eq!(on("2025-03-01"), Some(AgreementStatus::Suspended));
        assert_eq!(on("2025-05-31"), Some(AgreementStatus::Terminated));
        assert_eq!(on("2025-06-01"), Some(AgreementStatus::Active));
    }

    #[test]
    fn a_card_is_suspended_between_both_days_included() {
        let s = [CardSuspension {
            begndate: day("2025-03-01"),
            enddate: day("2025-03-31"),
            reason: "骗保".into(),
            doc_no: "d".into(),
        }];
        assert!(card_suspension_on(&s, day("2025-02-28")).is_none());
        assert!(card_suspension_on(&s, day("2025-03-01")).is_some());
        assert!(card_suspension_on(&s, day("2025-03-31")).is_some());
        assert!(card_suspension_on(&s, day("2025-04-01")).is_none());
    }

    #[test]
    fn points_reaching_a_tier_suspend_for_its_months() {
        let policy = shipped_jiujiang().unwrap();
        let entries = [
            PointEntry {
                date: day("2025-02-10"),
                points: 6,
            },
            PointEntry {
                date: day("2025-04-15"),
                points: 3,
            },
        ];
        assert_eq!(
            policy.standing(&entries, day("2025-04-14")),
            Standing::Good { points: 6 }
        );
        assert_eq!(
            policy.standing(&entries, day("2025-04-15")),
            Standing::Sanctioned {
                points: 9,
                since: day("2025-04-15"),
                until: day("2025-05-15"),
                terminated: false
            }
        );
        assert_eq!(
            policy.standing(&entries, day("2025-05-15")),
            Standing::Good { points: 9 }
        );
        assert_eq!(
            policy.standing(&entries, day("2026-01-02")),
            Standing::Good { points: 0 }
        );
    }

    #[test]
    fn twelve_points_terminate_for_a_year_across_the_year_end() {
        let policy = shipped_jiujiang().unwrap();
        let entries = [PointEntry {
            date: day("2025-12-01"),
            points: 12,
        }];
        let standing = policy.standing(&entries, day("2026-06-01"));
        assert!(matches!(
            standing,
            Standing::Sanctioned {
                terminated: true,
                points: 12,
                ..
            }
        ));
        assert_eq!(
            policy.standing(&entries, day("2026-12-01")),
            Standing::Good { points: 0 }
        );
    }

    #[test]
    fn a_short_sanction_of_a_later_year_does_not_lift_a_termination() {
        let policy = shipped_jiujiang().unwrap();
        let entries = [
            PointEntry {
                date: day("2025-12-01"),
                points: 12,
            },
            PointEntry {
                date: day("2026-02-01"),
                points: 9,
            },
        ];
        assert!(matches!(
            policy.standing(&entries, day("2026-06-01")),
            Standing::Sanctioned {
                terminated: true,
                ..
            }
        ));
    }

    #[test]
    fn credit_deducts_per_case_and_per_whole_10k_yuan() {
        let policy = shipped_jiujiang().unwrap();
        assert_eq!(policy.credit_rating(&[]).grade, "A");
        let rating = policy.credit_rating(&[
            Violation {
                confirm_type: ConfirmType::Recovery,
                amount: Fen::from_yuan(25_000),
            },
            Violation {
                confirm_type: ConfirmType::AuditDeduction,
                amount: Fen(999_999),
            },
        ]);
        // 1000 − (50 + 2 × 20) − (10 + 0 × 5)
        assert_eq!(rating.score, 900);
        assert_eq!(rating.grade, "A");
        let heavy = policy.credit_rating(&[Violation {
            confirm_type: ConfirmType::InspectionDeduction,
            amount: Fen::from_yuan(1_000_000),
        }]);
        assert_eq!((heavy.score, heavy.grade.as_str()), (0, "D"));
    }

    #[test]
    fn validation_names_the_field() {
        let shipped = include_str!("../../../rules/jiujiang/sanctions.toml");
        let broken = [
            (
                "points = 10\n",
                "points = 8\n",
                "practitioner.tiers[1].points",
            ),
            ("min_score = 0", "min_score = 100", "credit.grades"),
            (
                "confirm_type = \"追回\"\npoints = 6",
                "confirm_type = \"追回\"\npoints = 13",
                "practitioner.case_points[2].points",
            ),
            (
                "confirm_type = \"稽核扣款\"\npoints = 3",
                "confirm_type = \"罚款\"\npoints = 3",
                "practitioner.case_points[1].confirm_type",
            ),
        ];
        for (from, to, field) in broken {
            assert!(shipped.contains(from), "{from}");
            let error = SanctionsPolicy::parse(&shipped.replace(from, to), "s.toml").unwrap_err();
            assert!(error.to_string().contains(field), "{field}: {error}");
        }
    }

    #[test]
    fn a_case_gives_the_points_of_its_type() {
        let policy = shipped_jiujiang().unwrap().practitioner;
        assert_eq!(policy.case_points(ConfirmType::AuditDeduction), 1);
        assert_eq!(policy.case_points(ConfirmType::InspectionDeduction), 3);
        assert_eq!(policy.case_points(ConfirmType::Recovery), 6);
    }
}
