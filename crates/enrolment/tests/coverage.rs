//! `coverage_on`: benefits only inside a normal insured period past its waiting period, and a
//! precise reason otherwise; family links for account mutual aid.

use chrono::NaiveDate;
use yibao_domain::codes::{Gend, Insutype, PsnType};
use yibao_domain::Code;
use yibao_enrolment::person::{mutual_aid_accounts, FamilyLink, Relation};
use yibao_enrolment::{coverage_on, InsuStatus, InsuredPeriod, NotCoveredReason, Person};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn period(
    insutype: Insutype,
    status: InsuStatus,
    begin: &str,
    end: Option<&str>,
    benefit_start: &str,
) -> InsuredPeriod {
    InsuredPeriod {
        insutype,
        psn_type: PsnType::RuralResident,
        status,
        begin: day(begin),
        end: end.map(day),
        benefit_start: day(benefit_start),
        insuplc_admdvs: Code::lit("360424"),
    }
}

/// A resident insured 2021–2022, lapsed in 2023–2024, re-enrolled late on 2025-04-10 with a
/// waiting period to 2025-07-10, suspended from 2025-11-01; never in the workers' scheme.
fn resident() -> Person {
    Person {
        psn_no: "36042400000001".to_string(),
        certno: "360424197001010012".to_string(),
        psn_name: "测试甲".to_string(),
        gend: Gend::Male,
        brdy: day("1970-01-01"),
        civil_servant: false,
        insured_periods: vec![
            period(
                Insutype::Resident,
                InsuStatus::Normal,
                "2021-01-01",
                Some("2022-12-31"),
                "2021-01-01",
            ),
            period(
                Insutype::Resident,
                InsuStatus::Normal,
                "2025-04-10",
                Some("2025-10-31"),
                "2025-07-10",
            ),
            period(
                Insutype::Resident,
                InsuStatus::Suspended,
                "2025-11-01",
                None,
                "2025-07-10",
            ),
        ],
        identities: Vec::new(),
        employment: None,
    }
}

fn reason(date: &str, insutype: Insutype) -> Option<NotCoveredReason> {
    coverage_on(&resident(), insutype, day(date))
        .err()
        .map(|e| e.reason)
}

#[test]
fn covered_inside_a_normal_period_past_the_wait() {
    assert_eq!(reason("2022-06-15", Insutype::Resident), None);
    assert_eq!(reason("2025-07-10", Insutype::Resident), None);
    assert_eq!(reason("2025-10-31", Insutype::Resident), None);
}

#[test]
fn waiting_period_names_the_benefit_start() {
    let error = coverage_on(&resident(), Insutype::Resident, day("2025-07-09")).unwrap_err();
    assert_eq!(
        error.reason,
        NotCoveredReason::WaitingPeriod {
            last_waiting_day: day("2025-07-09"),
            benefit_start: day("2025-07-10")
        }
    );
    assert_eq!(
        error.to_string(),
        "person 36042400000001 has no 390 benefits on 2025-07-09: in the waiting period until 2025-07-09; \
         benefits start 2025-07-10"
    );
}

#[test]
fn lapse_suspension_and_absence_have_their_own_reasons() {
    assert_eq!(
        reason("2024-03-01", Insutype::Resident),
        Some(NotCoveredReason::Lapsed {
            ended: day("2022-12-31")
        })
    );
    assert_eq!(
        reason("2020-12-31", Insutype::Resident),
        Some(NotCoveredReason::NotYetInsured {
            begins: day("2021-01-01")
        })
    );
    assert_eq!(
        reason("2025-12-01", Insutype::Resident),
        Some(NotCoveredReason::Suspended {
            since: day("2025-11-01")
        })
    );
    assert_eq!(
        reason("2025-08-01", Insutype::Worker),
        Some(NotCoveredReason::NeverEnrolled)
    );
}

#[test]
fn terminated_invalid_and_not_insured_statuses_pay_nothing() {
    for (status, expected) in [
        (
            InsuStatus::Terminated,
            NotCoveredReason::Terminated {
                since: day("2024-01-01"),
            },
        ),
        (
            InsuStatus::Invalid,
            NotCoveredReason::Invalid {
                since: day("2024-01-01"),
            },
        ),
        (
            InsuStatus::NotInsured,
            NotCoveredReason::StatusNotInsured {
                since: day("2024-01-01"),
            },
        ),
    ] {
        let mut person = resident();
        person.insured_periods = vec![period(
            Insutype::Resident,
            status,
            "2024-01-01",
            None,
            "2024-01-01",
        )];
        let error = coverage_on(&person, Insutype::Resident, day("2024-05-05")).unwrap_err();
        assert_eq!(error.reason, expected, "status {}", status.code());
    }
}

#[test]
fn status_codes_match_the_dictionary() {
    let codes: Vec<_> = [
        InsuStatus::NotInsured,
        InsuStatus::Normal,
        InsuStatus::Suspended,
        InsuStatus::Invalid,
        InsuStatus::Terminated,
    ]
    .iter()
    .map(|s| format!("{} {}", s.code(), s.label()))
    .collect();
    assert_eq!(codes, ["0 未参保", "1 正常", "2 暂停", "3 无效", "4 终止"]);
}

#[test]
fn mutual_aid_follows_dated_family_links() {
    let links = vec![
        FamilyLink {
            account_holder: "W1".to_string(),
            member: "R1".to_string(),
            relation: Relation::Parent,
            begin: day("2023-01-01"),
            end: None,
        },
        FamilyLink {
            account_holder: "W2".to_string(),
            member: "R1".to_string(),
            relation: Relation::Spouse,
            begin: day("2023-01-01"),
            end: Some(day("2024-06-30")),
        },
    ];
    let on = |date: &str| mutual_aid_accounts(&links, "R1", day(date)).collect::<Vec<_>>();
    assert_eq!(on("2024-01-01"), ["W1", "W2"]);
    assert_eq!(on("2025-01-01"), ["W1"]);
    assert!(on("2022-12-31").is_empty());
    assert!(mutual_aid_accounts(&links, "W1", day("2024-01-01"))
        .next()
        .is_none());
}

#[test]
fn statuses_read_back_from_their_codes() {
    for status in [
        InsuStatus::NotInsured,
        InsuStatus::Normal,
        InsuStatus::Suspended,
        InsuStatus::Invalid,
        InsuStatus::Terminated,
    ] {
        assert_eq!(InsuStatus::from_code(status.code()), Some(status));
    }
    assert_eq!(InsuStatus::from_code("5"), None);
    assert_eq!(InsuStatus::from_code(""), None);
}
