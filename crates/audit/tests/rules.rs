//! One test per rule of the shipped rule set: a claim that triggers it and one just below its
//! threshold (or on the allowed side of its restriction).

mod common;

use common::{flags, flags_with, line, C};
use yibao_audit::PersonInfo;

fn visit(id: &str, begin: &str) -> C {
    C::new(id, "P1", begin)
}

#[test]
fn r01_sex_restriction() {
    let tamsulosin = || line("XG04CAA047B001", "09", "1", "40.45");
    assert!(flags(
        "JJ-R01",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .person("2", "1960-01-01")
            .line(tamsulosin())]
    ));
    assert!(!flags(
        "JJ-R01",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .person("1", "1960-01-01")
            .line(tamsulosin())]
    ));
}

#[test]
fn r02_age_restriction() {
    let drops = || line("XM01AEA035L001", "09", "1", "24.93");
    assert!(flags(
        "JJ-R02",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .person("1", "2018-03-10")
            .line(drops())]
    ));
    assert!(!flags(
        "JJ-R02",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .person("1", "2018-03-11")
            .line(drops())]
    ));
}

#[test]
fn r03_institution_level() {
    let meropenem = || line("XJ01DHA005E001", "09", "1", "5.60");
    assert!(flags(
        "JJ-R03",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .at_inst("H1", 1)
            .line(meropenem())]
    ));
    assert!(!flags(
        "JJ-R03",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .at_inst("H1", 2)
            .line(meropenem())]
    ));
}

#[test]
fn r04_encounter_type() {
    let angong = || line("ZB02AAS0045010202733", "11", "1", "300");
    assert!(flags(
        "JJ-R04",
        "v1",
        vec![visit("v1", "2025-03-10 09:00").line(angong())]
    ));
    assert!(!flags(
        "JJ-R04",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .med_type("13")
            .line(angong())]
    ));
}

#[test]
fn r05_wrong_fund() {
    let oxytocin = || line("XH01BBA048B001", "09", "1", "0.27");
    assert!(flags(
        "JJ-R05",
        "v1",
        vec![visit("v1", "2025-03-10 09:00").line(oxytocin())]
    ));
    assert!(!flags(
        "JJ-R05",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .insutype("510")
            .line(oxytocin())]
    ));
}

#[test]
fn r06_indication() {
    let oseltamivir = || line("XJ05AHA064A001", "09", "1", "1.49");
    assert!(flags(
        "JJ-R06",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .dx(&["J06.900"])
            .line(oseltamivir())]
    ));
    assert!(!flags(
        "JJ-R06",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .dx(&["J10.100"])
            .line(oseltamivir())]
    ));
}

#[test]
fn r07_second_line_without_first_line() {
    let first = |begin| visit("v0", begin).line(line("XJ01DDA003B002", "09", "1", "10"));
    let second = || visit("v1", "2025-03-31 09:00").line(line("XJ01DHA005E001", "09", "1", "5.60"));
    assert!(flags(
        "JJ-R07",
        "v1",
        vec![first("2025-02-28 09:00"), second()]
    ));
    assert!(!flags(
        "JJ-R07",
        "v1",
        vec![first("2025-03-01 09:00"), second()]
    ));
}

#[test]
fn r08_payable_course() {
    let xiyanping = |i: u32| {
        visit(&format!("v{i}"), &format!("2025-03-{:02} 09:00", i)).line(line(
            "ZA04CBL019A001",
            "11",
            "1",
            "30",
        ))
    };
    assert!(flags("JJ-R08", "v8", (1..=8).map(xiyanping).collect()));
    assert!(!flags("JJ-R08", "v7", (1..=7).map(xiyanping).collect()));
}

#[test]
fn r09_per_day_frequency() {
    let acupuncture =
        |cnt| visit("v1", "2025-03-10 09:00").line(line("004101000010000", "05", cnt, "25"));
    assert!(flags("JJ-R09", "v1", vec![acupuncture("2")]));
    assert!(!flags("JJ-R09", "v1", vec![acupuncture("1")]));
    let bed = |cnt| {
        C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-06 09:00").line(line(
            "001201000010000",
            "01",
            cnt,
            "36",
        ))
    };
    assert!(flags("JJ-R09", "s1", vec![bed("6")]));
    assert!(!flags("JJ-R09", "s1", vec![bed("5")]));
}

#[test]
fn r10_per_period_frequency() {
    let hba1c =
        |id: &str, begin| visit(id, begin).line(line("002703000010000", "04", "1", "49.50"));
    assert!(flags(
        "JJ-R10",
        "v2",
        vec![
            hba1c("v1", "2025-03-01 09:00"),
            hba1c("v2", "2025-03-15 09:00")
        ]
    ));
    assert!(!flags(
        "JJ-R10",
        "v2",
        vec![
            hba1c("v1", "2025-03-01 09:00"),
            hba1c("v2", "2025-03-16 09:00")
        ]
    ));
}

#[test]
fn r11_duplicate_charge() {
    let consult = || line("001102000010000", "02", "1", "16.50");
    let general = || line("001103000010000", "12", "1", "9");
    assert!(flags(
        "JJ-R11",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .line(general())
            .line(consult())]
    ));
    assert!(!flags(
        "JJ-R11",
        "v1",
        vec![visit("v1", "2025-03-10 09:00").line(consult())]
    ));
}

#[test]
fn r12_second_operation_at_full_price() {
    let stay = |appendix_price| {
        C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-06 09:00")
            .line(line("003311010010000", "06", "1", "2340"))
            .line(line("003311020010000", "06", "1", appendix_price))
    };
    assert!(flags("JJ-R12", "s1", vec![stay("1200")]));
    assert!(!flags("JJ-R12", "s1", vec![stay("600")]));
}

#[test]
fn r13_decoction_pieces() {
    assert!(flags(
        "JJ-R13",
        "v1",
        vec![visit("v1", "2025-03-10 09:00")
            .line(line("T001100442", "10", "10", "5"))
            .line(line("T000700317", "10", "10", "1"))]
    ));
    let sanqi = || line("T001784669", "10", "10", "2");
    assert!(flags(
        "JJ-R13",
        "v1",
        vec![visit("v1", "2025-03-10 09:00").line(sanqi())]
    ));
    assert!(!flags(
        "JJ-R13",
        "v1",
        vec![visit("v1", "2025-03-10 09:00").line(sanqi()).line(line(
            "T000700317",
            "10",
            "10",
            "1"
        ))]
    ));
}

#[test]
fn r14_excess_quantity() {
    let amlodipine =
        |cnt| visit("v1", "2025-03-10 09:00").line(line("XC08CAA014A001", "09", cnt, "11.98"));
    assert!(flags("JJ-R14", "v1", vec![amlodipine("0.8")]));
    assert!(!flags("JJ-R14", "v1", vec![amlodipine("0.7")]));
}

#[test]
fn r15_duplicate_prescribing() {
    let buy = |id: &str, begin| {
        visit(id, begin)
            .med_type("14")
            .line(line("XC08CAA014A001", "09", "3", "11.98"))
    };
    assert!(flags(
        "JJ-R15",
        "v2",
        vec![buy("v1", "2025-03-01 09:00"), buy("v2", "2025-03-23 09:00")]
    ));
    assert!(!flags(
        "JJ-R15",
        "v2",
        vec![buy("v1", "2025-03-01 09:00"), buy("v2", "2025-03-24 09:00")]
    ));
}

#[test]
fn r16_price_above_standard() {
    let ct =
        |price| visit("v1", "2025-03-10 09:00").line(line("002101000010000", "03", "1", price));
    assert!(flags("JJ-R16", "v1", vec![ct("200.01")]));
    assert!(!flags("JJ-R16", "v1", vec![ct("200")]));
}

#[test]
fn r16b_bed_days_above_stay() {
    let bed = |cnt| {
        C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-06 09:00").line(line(
            "001201000010000",
            "01",
            cnt,
            "36",
        ))
    };
    assert!(flags("JJ-R16B", "s1", vec![bed("7")]));
    assert!(!flags("JJ-R16B", "s1", vec![bed("6")]));
}

#[test]
fn r17_item_without_equipment() {
    let ct = |level| {
        visit("v1", "2025-03-10 09:00")
            .at_inst("H1", level)
            .line(line("002101000010000", "03", "1", "150"))
    };
    assert!(flags("JJ-R17", "v1", vec![ct(1)]));
    assert!(!flags("JJ-R17", "v1", vec![ct(2)]));
}

#[test]
fn r18_repeat_exam() {
    let ct = |id: &str, begin| visit(id, begin).line(line("002101000010000", "03", "1", "150"));
    assert!(flags(
        "JJ-R18",
        "v2",
        vec![ct("v1", "2025-03-01 09:00"), ct("v2", "2025-03-14 09:00")]
    ));
    assert!(!flags(
        "JJ-R18",
        "v2",
        vec![ct("v1", "2025-03-01 09:00"), ct("v2", "2025-03-15 09:00")]
    ));
}

fn treated(c: C) -> C {
    c.line(line("XJ01DDA003B002", "09", "5", "10"))
}

#[test]
fn r19_split_admission() {
    let first =
        || treated(C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-05 09:00").dx(&["K80.100"]));
    let again = |begin, end| treated(C::stay("s2", "P1", begin, end).dx(&["K80.200"]));
    assert!(flags(
        "JJ-R19",
        "s2",
        vec![first(), again("2025-03-20 09:00", "2025-03-25 09:00")]
    ));
    assert!(!flags(
        "JJ-R19",
        "s2",
        vec![first(), again("2025-03-21 09:00", "2025-03-25 09:00")]
    ));
}

#[test]
fn r20_bed_blocking_and_r25_card_used_elsewhere() {
    let stay = || treated(C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-10 09:00"));
    let outside = |begin| {
        visit("v1", begin)
            .at_inst("H2", 2)
            .line(line("001103000010000", "12", "1", "9"))
    };
    assert!(flags(
        "JJ-R20",
        "s1",
        vec![stay(), outside("2025-03-05 09:00")]
    ));
    assert!(flags(
        "JJ-R25",
        "v1",
        vec![stay(), outside("2025-03-05 09:00")]
    ));
    assert!(!flags(
        "JJ-R20",
        "s1",
        vec![stay(), outside("2025-03-11 09:00")]
    ));
    assert!(!flags(
        "JJ-R25",
        "v1",
        vec![stay(), outside("2025-03-11 09:00")]
    ));
    let idle = |days: &str| {
        C::stay("s1", "P1", "2025-03-01 09:00", days).line(line("001201000010000", "01", "2", "36"))
    };
    assert!(flags("JJ-R20", "s1", vec![idle("2025-03-04 09:00")]));
    assert!(!flags("JJ-R20", "s1", vec![idle("2025-03-03 09:00")]));
}

#[test]
fn r21_low_standard_admission() {
    let stay = |exams: usize| {
        let mut c = C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-03 09:00");
        for i in 0..exams {
            c = c.line(line(&format!("00270{i}"), "04", "1", "50"));
        }
        c
    };
    assert!(flags("JJ-R21", "s1", vec![stay(4)]));
    assert!(!flags("JJ-R21", "s1", vec![stay(3)]));
}

#[test]
fn r22_stay_far_above_peers() {
    let peers = || {
        (0..20).map(|i| {
            treated(
                C::stay(
                    &format!("p{i}"),
                    &format!("Q{i}"),
                    "2025-03-01 09:00",
                    "2025-03-05 09:00",
                )
                .dx(&["K80.100"]),
            )
        })
    };
    let long = |end| treated(C::stay("s1", "P1", "2025-03-01 09:00", end).dx(&["K80.100"]));
    assert!(flags(
        "JJ-R22",
        "s1",
        peers().chain([long("2025-03-10 09:00")]).collect()
    ));
    assert!(!flags(
        "JJ-R22",
        "s1",
        peers().chain([long("2025-03-09 09:00")]).collect()
    ));
}

#[test]
fn r23_overlapping_stays() {
    let a = || treated(C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-10 09:00"));
    let b = |begin, end| treated(C::stay("s2", "P1", begin, end).at_inst("H2", 2));
    assert!(flags(
        "JJ-R23",
        "s2",
        vec![a(), b("2025-03-05 09:00", "2025-03-08 09:00")]
    ));
    assert!(!flags(
        "JJ-R23",
        "s2",
        vec![a(), b("2025-03-10 09:00", "2025-03-12 09:00")]
    ));
}

#[test]
fn r24_care_after_death() {
    let dead = PersonInfo {
        psn_no: "P1".into(),
        death_date: Some(common::date("2025-03-01")),
        ..PersonInfo::default()
    };
    let v = |begin| visit("v1", begin).line(line("001103000010000", "12", "1", "9"));
    assert!(flags_with(
        "JJ-R24",
        "v1",
        vec![v("2025-03-02 09:00")],
        std::slice::from_ref(&dead)
    ));
    assert!(!flags_with(
        "JJ-R24",
        "v1",
        vec![v("2025-03-01 09:00")],
        &[dead]
    ));
}

#[test]
fn r26_settlement_list_without_diagnosis() {
    let stay =
        |dx: &[&str]| treated(C::stay("s1", "P1", "2025-03-01 09:00", "2025-03-05 09:00").dx(dx));
    assert!(flags("JJ-R26", "s1", vec![stay(&[])]));
    assert!(!flags("JJ-R26", "s1", vec![stay(&["K80.100"])]));
}

#[test]
fn r27_cost_far_above_peers() {
    let peers = || {
        (0..30).map(|i| {
            C::new(&format!("p{i}"), &format!("Q{i}"), "2025-03-01 09:00")
                .line(line("X", "09", "1", "100"))
        })
    };
    let costly = |price| C::new("v1", "P1", "2025-03-01 10:00").line(line("X", "09", "1", price));
    assert!(flags(
        "JJ-R27",
        "v1",
        peers().chain([costly("200.01")]).collect()
    ));
    assert!(!flags(
        "JJ-R27",
        "v1",
        peers().chain([costly("200")]).collect()
    ));
}

#[test]
fn r28_exam_shifted_into_the_stay() {
    let before = || visit("v1", "2025-03-01 09:00").line(line("002101000010000", "03", "1", "150"));
    let stay = |begin| {
        treated(C::stay("s1", "P1", begin, "2025-03-09 09:00")).line(line(
            "002101000010000",
            "03",
            "1",
            "150",
        ))
    };
    assert!(flags(
        "JJ-R28",
        "s1",
        vec![before(), stay("2025-03-03 09:00")]
    ));
    assert!(!flags(
        "JJ-R28",
        "s1",
        vec![before(), stay("2025-03-04 09:00")]
    ));
}

#[test]
fn r29_suspended_practitioner() {
    let ordered_by = |doctor: &str| {
        let mut l = line("001103000010000", "12", "1", "9");
        l.doctor = Some(doctor.into());
        visit("v1", "2025-03-10 09:00").line(l)
    };
    assert!(flags("JJ-R29", "v1", vec![ordered_by("D360402000099")]));
    assert!(!flags("JJ-R29", "v1", vec![ordered_by("D360402000100")]));
}

#[test]
fn every_rule_of_the_catalogue_is_shipped() {
    let set = common::shipped();
    for no in 1..=29 {
        assert!(
            set.rules.iter().any(|r| r.no == no),
            "supervision.md §3 rule {no} has no rule"
        );
    }
}

fn limited(code: &str, limits: yibao_audit::LineLimits) -> yibao_audit::ClaimLine {
    let mut l = line(code, "09", "1", "10");
    l.item = yibao_audit::Item::shared(code, l.item.chrgitm_type, limits);
    l
}

#[test]
fn r01c_r02c_r03c_catalogue_restrictions() {
    use yibao_audit::LineLimits;
    let women = || LineLimits {
        gend: "2".into(),
        ..LineLimits::default()
    };
    let v = |gend| {
        visit("v1", "2025-03-10 09:00")
            .person(gend, "1980-01-01")
            .line(limited("XZZ", women()))
    };
    assert!(flags("JJ-R01C", "v1", vec![v("1")]));
    assert!(!flags("JJ-R01C", "v1", vec![v("2")]));
    let children = || LineLimits {
        age_max_years: Some(6),
        ..LineLimits::default()
    };
    let child = |brdy| {
        visit("v1", "2025-03-10 09:00")
            .person("1", brdy)
            .line(limited("XZZ", children()))
    };
    assert!(flags("JJ-R02C", "v1", vec![child("2018-03-10")]));
    assert!(!flags("JJ-R02C", "v1", vec![child("2018-03-11")]));
    let level = || LineLimits {
        min_level: Some(3),
        ..LineLimits::default()
    };
    let at = |lv| {
        visit("v1", "2025-03-10 09:00")
            .at_inst("H1", lv)
            .line(limited("XZZ", level()))
    };
    assert!(flags("JJ-R03C", "v1", vec![at(2)]));
    assert!(!flags("JJ-R03C", "v1", vec![at(3)]));
}

#[test]
fn a_knowledge_point_the_catalogue_already_restricts_is_reported_once() {
    use yibao_audit::LineLimits;
    let men = LineLimits {
        gend: "1".into(),
        ..LineLimits::default()
    };
    let claim = || {
        visit("v1", "2025-03-10 09:00")
            .person("2", "1960-01-01")
            .line(limited("XG04CAA047B001", men.clone()))
    };
    assert!(flags("JJ-R01C", "v1", vec![claim()]));
    assert!(!flags("JJ-R01", "v1", vec![claim()]));
}
