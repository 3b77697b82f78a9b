//! Precision and recall of the seven models on a seeded population of ordinary care with planted
//! patterns beside it (supervision.md §4): every model finds ≥ 95 % of its planted groups and
//! ≥ 90 % of its findings are planted ones.

mod common;

use common::{line, run, C};
use rustc_hash::FxHashSet;
use yibao_audit::{Finding, PersonInfo, MODEL_NAMES};

/// A small deterministic generator (xorshift), so the population is the same on every run.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const DRUGS: [&str; 6] = [
    "XJ01CAA001B001",
    "XC08CAA014A001",
    "XR06AXA040A001",
    "XA02BCA008A001",
    "XM01AEA034A001",
    "XR05CBA038A001",
];

/// Ordinary care in March: outpatient visits, pharmacy purchases, monthly chronic refills at one
/// institution and a few stays, at varied times and amounts.
fn ordinary(rng: &mut Seeded, persons: u32) -> Vec<C> {
    let mut claims = Vec::new();
    for p in 0..persons {
        let psn = format!("N{p:04}");
        for v in 0..(1 + rng.below(3)) {
            let begin = format!(
                "2025-03-{:02} {:02}:{:02}",
                1 + rng.below(28),
                8 + rng.below(9),
                rng.below(60)
            );
            let inst = format!("H{:02}", rng.below(20));
            let drug = DRUGS[rng.below(6) as usize];
            let cnt = format!("{}", 1 + rng.below(3));
            let price = format!("{}.{:02}", 5 + rng.below(60), rng.below(100));
            claims.push(
                C::new(&format!("{psn}o{v}"), &psn, &begin)
                    .at_inst(&inst, 1)
                    .line(line("001103000010000", "12", "1", "9"))
                    .line(line(drug, "09", &cnt, &price)),
            );
        }
        if rng.below(3) == 0 {
            let begin = format!(
                "2025-03-{:02} {:02}:{:02}",
                1 + rng.below(28),
                9 + rng.below(10),
                rng.below(60)
            );
            let price = format!("{}.{:02}", 8 + rng.below(40), rng.below(100));
            claims.push(
                C::new(&format!("{psn}y"), &psn, &begin)
                    .med_type("41")
                    .at_inst(&format!("Y{}", rng.below(5)), 1)
                    .line(line(DRUGS[rng.below(6) as usize], "09", "1", &price)),
            );
        }
        if rng.below(5) == 0 {
            let begin = format!("2025-03-{:02} 09:{:02}", 1 + rng.below(28), rng.below(60));
            claims.push(
                C::new(&format!("{psn}c"), &psn, &begin)
                    .med_type("14")
                    .at_inst(&format!("H{:02}", p % 20), 1)
                    .line(line("XC08CAA014A001", "09", "2", "11.98")),
            );
        }
        if rng.below(25) == 0 {
            let day = 1 + rng.below(20);
            let los = 4 + rng.below(6);
            let stay = C::stay(
                &format!("{psn}s"),
                &psn,
                &format!("2025-03-{day:02} 10:00"),
                &format!("2025-03-{:02} 10:00", day + los),
            )
            .at_inst(&format!("H{:02}", rng.below(4)), 3)
            .dx(&[["K80.100", "J18.900", "I63.900", "M54.500"][rng.below(4) as usize]])
            .line(line("001201000010000", "01", &los.to_string(), "36"))
            .line(line(
                "XJ01DDA003B002",
                "09",
                &(los * 2).to_string(),
                "12.50",
            ))
            .line(line("002702000010000", "04", "2", "25"));
            claims.push(stay);
        }
    }
    claims
}

/// One planted group: the model that should find it and its persons.
struct Planted {
    model: &'static str,
    persons: Vec<String>,
}

fn plant(claims: &mut Vec<C>, persons: &mut Vec<PersonInfo>) -> Vec<Planted> {
    let mut truth = Vec::new();
    let mut group =
        |model: &'static str, persons: Vec<String>| truth.push(Planted { model, persons });
    for g in 0..3 {
        let members: Vec<String> = (0..6).map(|i| format!("E{g}{i}")).collect();
        for (i, psn) in members.iter().enumerate() {
            claims.push(
                C::new(
                    &format!("{psn}e"),
                    psn,
                    &format!("2025-03-{:02} {:02}:10", 5 + g, 8 + i),
                )
                .at_inst(&format!("V{g}"), 1)
                .line(line("001103000010000", "12", "1", "25"))
                .paid_from_account(),
            );
        }
        group("门诊异常", members);
    }
    for g in 0..3 {
        let members: Vec<String> = (0..5).map(|i| format!("B{g}{i}")).collect();
        for (i, psn) in members.iter().enumerate() {
            claims.push(
                C::new(
                    &format!("{psn}b"),
                    psn,
                    &format!("2025-03-{:02} 23:{:02}", 10 + g, i * 9),
                )
                .med_type("41")
                .at_inst(&format!("Y{g}"), 1)
                .line(line("XJ01CAA001B001", "09", &format!("{}", 1 + i), "7.90")),
            );
        }
        group("异常购药", members);
    }
    for g in 0..3 {
        let psn = format!("D{g}");
        for (d, drug) in DRUGS.iter().take(4).enumerate() {
            claims.push(
                C::new(
                    &format!("{psn}d{d}"),
                    &psn,
                    &format!("2025-03-{:02} 10:{:02}", 14 + d, 10 * g),
                )
                .med_type("41")
                .at_inst(&format!("Y{}", 3 + g % 2), 1)
                .line(line(drug, "09", "1", "20")),
            );
        }
        group("异常购药", vec![psn]);
    }
    for g in 0..3 {
        let members: Vec<String> = (0..(4 + g)).map(|i| format!("K{g}{i}")).collect();
        for day in 0..4 {
            for (i, psn) in members.iter().enumerate() {
                let begin = format!("2025-03-{:02} {:02}:{:02}", 3 + day * 6 + g, 14 + g, i * 2);
                let price = format!("{}", 30 + 7 * i + day);
                claims.push(
                    C::new(&format!("{psn}k{day}"), psn, &begin)
                        .at_inst(&format!("H{:02}", (day + g) % 2), 1)
                        .line(line("XR06AXA040A001", "09", "1", &price)),
                );
            }
        }
        group("卡聚集", members);
    }
    for g in 0..5 {
        let psn = format!("X{g}");
        let stay = C::stay(
            &format!("{psn}x"),
            &psn,
            &format!("2025-03-{:02} 09:00", 2 + g * 4),
            &format!("2025-03-{:02} 09:00", 4 + g * 4),
        )
        .at_inst("H01", 3)
        .line(line("002101000010000", "03", "1", "150"))
        .line(line("002201000010000", "03", "1", "120"))
        .line(line("002702000010000", "04", "3", "25"))
        .line(line("XJ01DDA003B002", "09", "2", "12.50"));
        claims.push(stay);
        group("体检住院", vec![psn]);
    }
    for g in 0..4 {
        let psn = format!("M{g}");
        for (i, day) in [2, 9, 16, 23].iter().enumerate() {
            claims.push(
                C::new(
                    &format!("{psn}m{i}"),
                    &psn,
                    &format!("2025-03-{day:02} 09:00"),
                )
                .med_type("14")
                .at_inst(&format!("H{:02}", i + g), 1)
                .line(line("XC08CAA014A001", "09", "2", "11.98")),
            );
        }
        group("慢特病人群分析", vec![psn]);
    }
    for g in 0..4 {
        let psn = format!("F{g}");
        for d in 0..14 {
            let price = format!("{}", 40 + d);
            claims.push(
                C::new(
                    &format!("{psn}f{d}"),
                    &psn,
                    &format!("2025-03-{:02} {:02}:00", 1 + 2 * d, 8 + g),
                )
                .at_inst(&format!("H{:02}", 10 + d % 3), 1)
                .line(line("XR05CBA038A001", "09", "1", &price)),
            );
        }
        group("高频就诊人群分析", vec![psn]);
    }
    for g in 0..3 {
        let members: Vec<String> = (0..3).map(|i| format!("T{g}{i}")).collect();
        for (i, psn) in members.iter().enumerate() {
            persons.push(PersonInfo {
                psn_no: psn.clone(),
                tel: format!("1390000000{g}"),
                ..PersonInfo::default()
            });
            let day = 5 + 7 * g + i;
            claims.push(
                C::stay(
                    &format!("{psn}t"),
                    psn,
                    &format!("2025-03-{day:02} 10:00"),
                    &format!("2025-03-{:02} 10:00", day + 6),
                )
                .at_inst(&format!("H{:02}", 5 + g), 2)
                .dx(&["M54.500"])
                .line(line("001201000010000", "01", "6", "36"))
                .line(line("004101000010000", "05", "6", "25")),
            );
        }
        group("住院异常", members);
    }
    truth
}

/// A finding matches a planted group of its model when it names most of the group's persons.
fn matches(finding: &Finding, planted: &Planted) -> bool {
    let named: FxHashSet<&String> = finding.psn_nos.iter().collect();
    let hits = planted.persons.iter().filter(|p| named.contains(p)).count();
    finding.id == planted.model && 2 * hits > planted.persons.len()
}

#[test]
fn every_model_finds_its_planted_groups_and_little_else() {
    let mut rng = Seeded(0x9E37_79B9_7F4A_7C15);
    let mut claims = ordinary(&mut rng, 1500);
    let mut persons: Vec<PersonInfo> = (0..1500)
        .map(|p| PersonInfo {
            psn_no: format!("N{p:04}"),
            tel: format!("1380000{p:04}"),
            ..PersonInfo::default()
        })
        .collect();
    let truth = plant(&mut claims, &mut persons);
    let findings = run(claims, &persons);
    for model in MODEL_NAMES {
        let planted: Vec<&Planted> = truth.iter().filter(|t| t.model == model).collect();
        let found: Vec<&Finding> = findings.iter().filter(|f| f.id == model).collect();
        let recalled = planted
            .iter()
            .filter(|t| found.iter().any(|f| matches(f, t)))
            .count();
        let true_findings = found
            .iter()
            .filter(|f| planted.iter().any(|t| matches(f, t)))
            .count();
        assert!(!planted.is_empty(), "{model}: nothing planted");
        assert!(
            recalled * 100 >= planted.len() * 95,
            "{model}: recall {recalled}/{}; findings {found:#?}",
            planted.len()
        );
        assert!(
            true_findings * 100 >= found.len() * 90,
            "{model}: precision {true_findings}/{}; findings {found:#?}",
            found.len()
        );
    }
}
