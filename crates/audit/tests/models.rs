//! The seven models on small planted datasets: the planted pattern is found (with its evidence),
//! and an ordinary population beside it yields no finding of that model.

mod common;

use common::{line, run, C};
use yibao_audit::{Finding, PersonInfo};

fn of<'a>(findings: &'a [Finding], model: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.id == model).collect()
}

fn small(id: String, psn: String, begin: &str, price: &str) -> C {
    C::new(&id, &psn, begin).line(line("001103000010000", "12", "1", price))
}

#[test]
fn outpatient_identical_small_totals_paid_paid_from_accounts() {
    let planted = |persons: usize| {
        let mut claims: Vec<C> = (0..persons)
            .map(|i| {
                small(
                    format!("a{i}"),
                    format!("A{i}"),
                    &format!("2025-03-10 {:02}:00", 8 + i),
                    "30",
                )
                .paid_from_account()
            })
            .collect();
        claims.extend((0..6).map(|i| {
            small(
                format!("n{i}"),
                format!("N{i}"),
                "2025-03-10 15:00",
                &format!("{}", 40 + i),
            )
        }));
        claims
    };
    let found = run(planted(5), &[]);
    let hits = of(&found, "门诊异常");
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!(hits[0].psn_nos.len(), 5);
    assert_eq!(hits[0].amount.to_yuan_string(), "150.00");
    assert!(of(&run(planted(4), &[]), "门诊异常").is_empty());
}

#[test]
fn pharmacy_night_burst_and_day_after_day_buyer() {
    let buy = |id: String, psn: String, begin: &str| {
        C::new(&id, &psn, begin)
            .med_type("41")
            .at_inst("YD1", 1)
            .line(line("XJ01CAA001B001", "09", "1", "7.90"))
    };
    let night: Vec<C> = (0..4)
        .map(|i| {
            buy(
                format!("x{i}"),
                format!("X{i}"),
                &format!("2025-03-10 23:{:02}", i * 10),
            )
        })
        .collect();
    let found = run(night, &[]);
    assert_eq!(of(&found, "异常购药").len(), 1, "{found:#?}");
    let daily: Vec<C> = (1..=3)
        .map(|d| {
            buy(
                format!("d{d}"),
                "D1".into(),
                &format!("2025-03-{d:02} 10:00"),
            )
        })
        .collect();
    let found = run(daily, &[]);
    let hits = of(&found, "异常购药");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].psn_nos, vec!["D1".to_string()]);
    let ordinary: Vec<C> = (0..9)
        .map(|i| {
            buy(
                format!("o{i}"),
                format!("O{i}"),
                &format!("2025-03-{:02} {:02}:00", 1 + 2 * i, 9 + i),
            )
        })
        .collect();
    assert!(of(&run(ordinary, &[]), "异常购药").is_empty());
}

/// Four cards that settle one after another at two clinics on three days.
fn cluster(gap_minutes: u32) -> Vec<C> {
    let mut claims = Vec::new();
    for day in 1..=3 {
        for p in 0..4 {
            let minute = p * gap_minutes;
            let begin = format!(
                "2025-03-{:02} {:02}:{:02}",
                day * 3,
                9 + minute / 60,
                minute % 60
            );
            let inst = if day == 2 { "H2" } else { "H1" };
            claims
                .push(small(format!("c{day}{p}"), format!("K{p}"), &begin, "50").at_inst(inst, 1));
        }
    }
    claims
}

#[test]
fn card_cluster_found_and_scored() {
    let found = run(cluster(2), &[]);
    let hits = of(&found, "卡聚集");
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!(hits[0].psn_nos, vec!["K0", "K1", "K2", "K3"]);
    assert_eq!(hits[0].fixmedins_codes, vec!["H1", "H2"]);
    assert_eq!(hits[0].mdtrt_ids.len(), 12);
    assert!((60..=100).contains(&hits[0].score));
    assert!(of(&run(cluster(20), &[]), "卡聚集").is_empty());
}

#[test]
fn exam_dominated_short_stay() {
    let stay = |exam_price: &str| {
        C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-03 09:00")
            .line(line("002101000010000", "03", "1", exam_price))
            .line(line("XJ01DDA003B002", "09", "1", "100"))
    };
    assert_eq!(of(&run(vec![stay("400")], &[]), "体检住院").len(), 1);
    assert!(of(&run(vec![stay("399")], &[]), "体检住院").is_empty());
}

#[test]
fn chronic_patient_at_three_institutions() {
    let refill = |id: &str, day: u32, inst: &str| {
        C::new(id, "M1", &format!("2025-03-{day:02} 09:00"))
            .med_type("14")
            .at_inst(inst, 1)
            .line(line("XC08CAA014A001", "09", "1", "11.98"))
    };
    let found = run(
        vec![
            refill("m1", 1, "H1"),
            refill("m2", 10, "H2"),
            refill("m3", 20, "H3"),
        ],
        &[],
    );
    assert_eq!(of(&found, "慢特病人群分析").len(), 1);
    let ordinary = run(
        vec![
            refill("m1", 1, "H1"),
            refill("m2", 15, "H2"),
            refill("m3", 29, "H1"),
        ],
        &[],
    );
    assert!(of(&ordinary, "慢特病人群分析").is_empty());
}

#[test]
fn high_frequency_visitor() {
    let visits = |n: u32| -> Vec<C> {
        (1..=n)
            .map(|d| {
                small(
                    format!("h{d}"),
                    "F1".into(),
                    &format!("2025-03-{:02} 09:00", d * 2),
                    "60",
                )
            })
            .collect()
    };
    let hits = run(visits(9), &[]);
    let hits = of(&hits, "高频就诊人群分析");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].mdtrt_ids.len(), 9);
    assert!(of(&run(visits(8), &[]), "高频就诊人群分析").is_empty());
}

#[test]
fn companions_sharing_a_phone_admitted_together() {
    let person = |psn: &str, tel: &str| PersonInfo {
        psn_no: psn.into(),
        tel: tel.into(),
        ..PersonInfo::default()
    };
    let stay = |id: &str, psn: &str, day: u32| {
        C::stay(
            id,
            psn,
            &format!("2025-03-{day:02} 09:00"),
            &format!("2025-03-{:02} 09:00", day + 5),
        )
        .dx(&["M54.500"])
        .line(line("XJ01DDA003B002", "09", "10", "100"))
    };
    let claims = || {
        vec![
            stay("s1", "T1", 1),
            stay("s2", "T2", 2),
            stay("s3", "T3", 4),
        ]
    };
    let persons = [
        person("T1", "13900000000"),
        person("T2", "13900000000"),
        person("T3", "13900000000"),
    ];
    let found = run(claims(), &persons);
    let hits = of(&found, "住院异常");
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!(hits[0].psn_nos, vec!["T1", "T2", "T3"]);
    let big_employer: Vec<PersonInfo> = (0..25)
        .map(|i| PersonInfo {
            psn_no: if i < 3 {
                format!("T{}", i + 1)
            } else {
                format!("W{i}")
            },
            emp_name: "九江某大型企业".into(),
            ..PersonInfo::default()
        })
        .collect();
    assert!(
        of(&run(claims(), &big_employer), "住院异常").is_empty(),
        "a large employer links too many"
    );
    let apart = [
        person("T1", "13900000000"),
        person("T2", "13900000000"),
        person("T3", "13911111111"),
    ];
    assert!(of(&run(claims(), &apart), "住院异常").is_empty());
}

#[test]
fn findings_come_in_a_deterministic_order() {
    let first = run(cluster(2), &[]);
    let mut shuffled = cluster(2);
    shuffled.reverse();
    assert_eq!(first, run(shuffled, &[]));
}
