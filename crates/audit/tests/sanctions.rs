//! Properties of the sanctions rules over the shipped scale (`rules/jiujiang/sanctions.toml`): more
//! confirmed violations never raise an institution's credit score nor its grade; a sanction is in
//! force only from a day points were given, and the day a year's points reach the first tier starts
//! one.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use yibao_audit::case::ConfirmType;
use yibao_audit::sanctions::{shipped_jiujiang, PointEntry, Standing, Violation};
use yibao_domain::Fen;

fn violation() -> impl Strategy<Value = Violation> {
    (0..3usize, 0..50_000_000i64).prop_map(|(kind, fen)| Violation {
        confirm_type: [
            ConfirmType::AuditDeduction,
            ConfirmType::InspectionDeduction,
            ConfirmType::Recovery,
        ][kind],
        amount: Fen(fen),
    })
}

fn entry() -> impl Strategy<Value = PointEntry> {
    (0..730i64, 1..=12u32).prop_map(|(day, points)| PointEntry {
        date: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Duration::days(day),
        points,
    })
}

fn grade_rank(grade: &str) -> usize {
    ["A", "B", "C", "D"]
        .iter()
        .position(|g| *g == grade)
        .unwrap()
}

proptest! {
    #[test]
    fn another_violation_never_raises_the_score(
        violations in prop::collection::vec(violation(), 0..20),
        extra in violation(),
    ) {
        let policy = shipped_jiujiang().unwrap();
        let before = policy.credit_rating(&violations);
        let mut more = violations.clone();
        more.push(extra);
        let after = policy.credit_rating(&more);
        prop_assert!(after.score <= before.score);
        prop_assert!(grade_rank(&after.grade) >= grade_rank(&before.grade));
        prop_assert!(before.score <= policy.credit.base_score);
    }

    #[test]
    fn a_sanction_starts_on_a_day_points_were_given(
        entries in prop::collection::vec(entry(), 0..12),
        day in 0..900i64,
    ) {
        let policy = shipped_jiujiang().unwrap();
        let on = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Duration::days(day);
        if let Standing::Sanctioned { since, until, .. } = policy.standing(&entries, on) {
            prop_assert!(since <= on && on < until);
            prop_assert!(entries.iter().any(|e| e.date == since));
        }
    }

    #[test]
    fn reaching_the_first_tier_sanctions_that_day(
        entries in prop::collection::vec(entry(), 0..12),
        day in 0..730i64,
    ) {
        let policy = shipped_jiujiang().unwrap();
        let on = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Duration::days(day);
        let year_points = |until_excluded: bool| -> u32 {
            entries
                .iter()
                .filter(|e| e.date.year() == on.year())
                .filter(|e| if until_excluded { e.date < on } else { e.date <= on })
                .map(|e| e.points)
                .sum()
        };
        let first = policy.practitioner.tiers[0].points;
        if year_points(true) < first && first <= year_points(false) {
            let sanctioned = matches!(policy.standing(&entries, on), Standing::Sanctioned { since, .. } if since == on);
            prop_assert!(sanctioned);
        }
    }
}
