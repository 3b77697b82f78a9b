//! Generates small regions and checks them: determinism, exact headers, the report's
//! proportions, exact line amounts, ordering and referential integrity of the visits.
//!
//! The seed is printed; set `YIBAO_SYNTH_SEED` to rerun with another one.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use serde_json::Value;
use yibao_domain::codes::{Gend, Insutype, PsnType};
use yibao_domain::decimal::parse_scaled;
use yibao_enrolment::{
    benefit_start, coverage_on, CollectionPolicy, ContributionHistory, Enrolment, Identity,
    InsuStatus, InsuredPeriod, Person, WaitingPolicy,
};
use yibao_synth::output::{CATALOG_HEADER, INSTITUTIONS_HEADER, PERSONS_HEADER};
use yibao_synth::population::{self, check_character, Category, Mix, SynthPerson};
use yibao_synth::tables::{
    POOR_IDENTITIES, REPORT_POOR_RESIDENTS, REPORT_RESIDENTS, REPORT_WORKERS,
    REPORT_WORKERS_IN_SERVICE, REPORT_WORKERS_RETIRED,
};
use yibao_synth::{generate, DiagnosisSource, Silent, Summary, SynthConfig};

const YEAR: i32 = 2025;
const PERSONS: u64 = 3_000;

fn seed() -> u64 {
    std::env::var("YIBAO_SYNTH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_250_101)
}

/// A region generated with diagnoses from the national code list in `icd_dir`.
fn run(name: &str, persons: u64, seed: u64, icd_dir: PathBuf) -> (PathBuf, Summary) {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("synth-{name}-{seed}"));
    let _ = std::fs::remove_dir_all(&out_dir);
    let config = SynthConfig {
        persons,
        seed,
        year: YEAR,
        out_dir: out_dir.clone(),
        diagnoses: DiagnosisSource::Directory(icd_dir),
        fraud: false,
    };
    println!("yibao synth test region `{name}`: seed {seed}, {persons} persons");
    let summary = generate(&config, &mut Silent).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    (out_dir, summary)
}

/// The region most tests read, generated once; `None` without the national code list.
fn region() -> Option<&'static (PathBuf, Summary)> {
    static REGION: OnceLock<(PathBuf, Summary)> = OnceLock::new();
    let icd_dir = yibao_testdata::icd_codes()?;
    Some(REGION.get_or_init(|| run("main", PERSONS, seed(), icd_dir)))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn csv_rows(dir: &Path, name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join(name)).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// The visits of the region in `dir`, parsed once.
fn visits(dir: &Path) -> &'static [Value] {
    static VISITS: OnceLock<Vec<Value>> = OnceLock::new();
    VISITS.get_or_init(|| {
        read(dir, "visits.jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    })
}

const FILES: [&str; 6] = [
    "persons.csv",
    "employers.csv",
    "employment.csv",
    "institutions.csv",
    "catalog.csv",
    "visits.jsonl",
];

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let seed = seed();
    let Some(icd_dir) = yibao_testdata::icd_codes() else {
        return;
    };
    let (a, _) = run("det-a", 800, seed, icd_dir.clone());
    let (b, _) = run("det-b", 800, seed, icd_dir.clone());
    let (c, _) = run("det-c", 800, seed + 1, icd_dir);
    for file in FILES {
        assert!(
            std::fs::read(a.join(file)).unwrap() == std::fs::read(b.join(file)).unwrap(),
            "{file} differs (seed {seed})"
        );
    }
    for file in ["persons.csv", "visits.jsonl", "catalog.csv"] {
        assert!(
            std::fs::read(a.join(file)).unwrap() != std::fs::read(c.join(file)).unwrap(),
            "{file} same for two seeds"
        );
    }
}

#[test]
fn headers_are_exact() {
    let Some((dir, _)) = region() else {
        return;
    };
    let first_line = |name: &str| {
        read(dir, name)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(first_line("persons.csv"), PERSONS_HEADER.join(","));
    assert_eq!(
        PERSONS_HEADER.join(","),
        "psn_no,psn_cert_type,certno,psn_name,gend,brdy,insutype,psn_type,psn_insu_stas,psn_insu_date,insuplc_admdvs,cvlserv_flag,balc,idet"
    );
    assert_eq!(
        first_line("institutions.csv"),
        INSTITUTIONS_HEADER.join(",")
    );
    assert_eq!(
        INSTITUTIONS_HEADER.join(","),
        "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs"
    );
    assert_eq!(first_line("catalog.csv"), CATALOG_HEADER.join(","));
    assert_eq!(
        CATALOG_HEADER.join(","),
        "med_list_codg,med_list_name,list_type,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,lmt_gend,lmt_age_min,lmt_age_max,lmt_hosp_lv"
    );
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

fn assert_near(name: &str, observed: f64, expected: f64, tolerance: f64) {
    assert!(
        (observed - expected).abs() <= tolerance,
        "{name}: {observed:.4}, expected {expected:.4} ± {tolerance} (seed {})",
        seed()
    );
}

#[test]
fn population_follows_the_county_report() {
    let Some((dir, summary)) = region() else {
        return;
    };
    let persons = csv_rows(dir, "persons.csv");
    assert_eq!(persons.len() as u64, PERSONS);
    let workers = persons.iter().filter(|p| p["insutype"] == "310").count();
    let residents: Vec<_> = persons.iter().filter(|p| p["insutype"] == "390").collect();
    let poor = residents.iter().filter(|p| !p["idet"].is_empty()).count();
    let report_workers = REPORT_WORKERS as f64 / (REPORT_WORKERS + REPORT_RESIDENTS) as f64;
    assert_near(
        "worker share",
        share(workers, persons.len()),
        report_workers,
        0.001,
    );
    assert_near(
        "poor share",
        share(poor, residents.len()),
        REPORT_POOR_RESIDENTS as f64 / REPORT_RESIDENTS as f64,
        0.001,
    );
    assert_eq!(summary.poor_residents as usize, poor);
}

/// Proportions that need a large sample are checked on the population alone (no files).
#[test]
fn large_population_has_a_county_shape() {
    let seed = seed();
    let total = 100_000;
    println!("population of {total}, seed {seed}");
    let persons = population::generate(seed, YEAR, Mix::scaled(total)).unwrap();
    let count =
        |wanted: &dyn Fn(&SynthPerson) -> bool| persons.iter().filter(|p| wanted(p)).count();
    let all = persons.len();
    assert_near("male share", share(count(&|p| p.male), all), 0.51, 0.01);
    assert_near(
        "aged 60 and over",
        share(count(&|p| p.age >= 60), all),
        0.21,
        0.02,
    );
    assert_near(
        "children under 15",
        share(count(&|p| p.age < 15), all),
        0.20,
        0.02,
    );
    let poor = count(&|p| !p.identities.is_empty());
    assert_near(
        "特困 among the poor",
        share(count(&|p| p.identities.contains(&"TK")), poor),
        0.10,
        0.015,
    );
    assert_near(
        "低保 among the poor",
        share(count(&|p| p.identities.contains(&"DB")), poor),
        0.55,
        0.025,
    );
    let retired = count(&|p| p.category == Category::Retired);
    let workers = count(&|p| p.insutype() == "310");
    let report_retired =
        REPORT_WORKERS_RETIRED as f64 / (REPORT_WORKERS_RETIRED + REPORT_WORKERS_IN_SERVICE) as f64;
    assert_near(
        "retired among workers",
        share(retired, workers),
        report_retired,
        0.001,
    );
    let poor_elderly = count(&|p| !p.identities.is_empty() && p.age >= 60);
    assert!(
        share(poor_elderly, poor) > 0.3,
        "the poor are older (seed {seed})"
    );
}

#[test]
fn identity_and_id_numbers_are_well_formed() {
    let Some((dir, _)) = region() else {
        return;
    };
    let persons = csv_rows(dir, "persons.csv");
    let mut certnos = HashSet::new();
    let mut psn_nos = HashSet::new();
    for p in &persons {
        let certno = &p["certno"];
        assert_eq!(certno.len(), 18, "{certno}");
        assert_eq!(
            certno.chars().last(),
            Some(check_character(&certno[..17])),
            "{certno}"
        );
        assert_eq!(&certno[6..14], p["brdy"].replace('-', ""), "{certno}");
        let sequence_odd = certno.as_bytes()[16] % 2 == 1;
        assert_eq!(sequence_odd, p["gend"] == "1", "{certno}");
        assert!(certnos.insert(certno.clone()), "duplicate {certno}");
        assert!(psn_nos.insert(p["psn_no"].clone()), "duplicate psn_no");
        assert!(p["insuplc_admdvs"].starts_with("3604"));
        for code in p["idet"].split(';').filter(|c| !c.is_empty()) {
            let identity = Identity::from_code(code.parse().unwrap());
            assert!(identity.label().is_some(), "unknown identity {code}");
        }
    }
    for (code, _) in POOR_IDENTITIES {
        assert!(
            Identity::from_code(code.parse().unwrap()).label().is_some(),
            "{code}"
        );
    }
}

#[test]
fn visit_rates_are_plausible() {
    let Some((dir, summary)) = region() else {
        return;
    };
    let residents = summary.residents as f64;
    let resident_admissions = visits(dir)
        .iter()
        .filter(|v| v["med_type"] == "21" && v["insutype"] == "390")
        .count();
    assert_near(
        "resident admissions per person-year",
        resident_admissions as f64 / residents,
        0.2,
        0.05,
    );
    let outpatient_per_person = summary.outpatient_visits as f64 / summary.persons as f64;
    assert!(
        (2.0..6.0).contains(&outpatient_per_person),
        "outpatient visits per person {outpatient_per_person}"
    );
    let remote = visits(dir)
        .iter()
        .filter(|v| {
            v["med_type"] == "21" && !v["medins_admdvs"].as_str().unwrap().starts_with("3604")
        })
        .count();
    let admissions = summary.inpatient_visits as f64;
    assert_near(
        "out-of-region share of admissions",
        remote as f64 / admissions,
        0.04,
        0.025,
    );
}

fn scaled(value: &Value, scale: u32) -> i64 {
    parse_scaled(value.as_str().expect("amounts are strings"), scale).unwrap()
}

#[test]
fn every_line_amount_is_price_times_count_exactly() {
    let Some((dir, summary)) = region() else {
        return;
    };
    let mut lines = 0u64;
    let mut total_fen = 0i64;
    for visit in visits(dir) {
        for line in visit["feedetail"].as_array().unwrap() {
            let pric_text = line["pric"].as_str().unwrap();
            let cnt_text = line["cnt"].as_str().unwrap();
            let amount_text = line["det_item_fee_sumamt"].as_str().unwrap();
            assert!(
                pric_text.split('.').nth(1).is_none_or(|d| d.len() <= 6),
                "{pric_text}"
            );
            assert!(
                cnt_text.split('.').nth(1).is_none_or(|d| d.len() <= 4),
                "{cnt_text}"
            );
            assert_eq!(
                amount_text.split('.').nth(1).map(str::len),
                Some(2),
                "{amount_text}"
            );
            let product =
                i128::from(scaled(&line["pric"], 6)) * i128::from(scaled(&line["cnt"], 4));
            let amount = scaled(&line["det_item_fee_sumamt"], 2);
            assert_eq!(
                product,
                i128::from(amount) * 100_000_000,
                "{line} in {}",
                visit["mdtrt_id"]
            );
            assert!(amount > 0);
            lines += 1;
            total_fen += amount;
        }
    }
    assert_eq!(lines, summary.fee_lines);
    assert_eq!(total_fen, summary.total_fee_fen);
}

const VISIT_KEYS: [&str; 19] = [
    "mdtrt_id",
    "psn_no",
    "insutype",
    "psn_type",
    "gend",
    "brdy",
    "idet",
    "cvlserv_flag",
    "balc",
    "med_type",
    "begntime",
    "endtime",
    "fixmedins_code",
    "hosp_lv",
    "medins_admdvs",
    "insuplc_admdvs",
    "refl_flag",
    "dise_codg",
    "feedetail",
];
const LINE_KEYS: [&str; 6] = [
    "feedetl_sn",
    "med_list_codg",
    "cnt",
    "pric",
    "det_item_fee_sumamt",
    "hosp_appr_flag",
];

/// The keys of a JSON object in written order (serde_json without `preserve_order` sorts them).
fn keys_in_order(object_text: &str, keys: &[&str]) -> bool {
    let mut at = 0;
    keys.iter()
        .all(|key| match object_text[at..].find(&format!("\"{key}\":")) {
            Some(found) => {
                at += found + key.len();
                true
            }
            None => false,
        })
}

#[test]
fn visits_are_sorted_complete_and_refer_to_real_records() {
    let Some((dir, _)) = region() else {
        return;
    };
    let persons: HashMap<String, HashMap<String, String>> = csv_rows(dir, "persons.csv")
        .into_iter()
        .map(|p| (p["psn_no"].clone(), p))
        .collect();
    let institutions: HashMap<String, HashMap<String, String>> = csv_rows(dir, "institutions.csv")
        .into_iter()
        .map(|i| (i["fixmedins_code"].clone(), i))
        .collect();
    let catalog: HashSet<String> = csv_rows(dir, "catalog.csv")
        .into_iter()
        .map(|c| c["med_list_codg"].clone())
        .collect();
    let icd_dir = yibao_testdata::icd_codes().expect("found for the region");
    let diagnoses: HashSet<String> = std::fs::read_to_string(icd_dir.join("ZD_INFO.dat"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let text = read(dir, "visits.jsonl");
    let mut previous_end = String::new();
    let mut ids = HashSet::new();
    for line in text.lines() {
        assert!(keys_in_order(line, &VISIT_KEYS), "key order: {line}");
        let visit: Value = serde_json::from_str(line).unwrap();
        assert_eq!(visit.as_object().unwrap().len(), VISIT_KEYS.len());
        let end = visit["endtime"].as_str().unwrap().to_string();
        let begin = visit["begntime"].as_str().unwrap();
        assert!(
            chrono::NaiveDateTime::parse_from_str(&end, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{end}"
        );
        assert!(
            begin <= end.as_str() && end.starts_with("2025-"),
            "{begin} – {end}"
        );
        assert!(previous_end <= end, "not sorted: {previous_end} then {end}");
        previous_end = end;
        assert!(ids.insert(visit["mdtrt_id"].as_str().unwrap().to_string()));
        let person = &persons[visit["psn_no"].as_str().unwrap()];
        for field in [
            "insutype",
            "psn_type",
            "gend",
            "brdy",
            "insuplc_admdvs",
            "cvlserv_flag",
            "balc",
        ] {
            assert_eq!(visit[field].as_str().unwrap(), person[field], "{field}");
        }
        assert_eq!(
            person["psn_insu_stas"], "1",
            "visit of a person not in normal status"
        );
        let place = &institutions[visit["fixmedins_code"].as_str().unwrap()];
        assert_eq!(visit["hosp_lv"].as_str().unwrap(), place["hosp_lv"]);
        assert_eq!(visit["medins_admdvs"].as_str().unwrap(), place["admdvs"]);
        let med_type = visit["med_type"].as_str().unwrap();
        assert!(["11", "14", "21", "41"].contains(&med_type));
        assert_eq!(
            med_type == "41",
            place["fixmedins_type"] == "2",
            "pharmacy purchases happen at pharmacies"
        );
        let dise = visit["dise_codg"].as_str().unwrap();
        assert!(diagnoses.contains(dise), "{dise}");
        if med_type == "14" {
            assert!(dise.starts_with("I10") || dise.starts_with("E11"), "{dise}");
        }
        for (i, fee) in visit["feedetail"].as_array().unwrap().iter().enumerate() {
            assert_eq!(fee.as_object().unwrap().len(), LINE_KEYS.len());
            assert_eq!(fee["feedetl_sn"].as_str().unwrap(), (i + 1).to_string());
            assert!(catalog.contains(fee["med_list_codg"].as_str().unwrap()));
        }
    }
    let first_fee = text.find("{\"feedetl_sn\"").unwrap();
    assert!(keys_in_order(&text[first_fee..], &LINE_KEYS));
}

#[test]
fn catalogue_has_a_grade_mix_and_realistic_codes() {
    let Some((dir, _)) = region() else {
        return;
    };
    let catalog = csv_rows(dir, "catalog.csv");
    let grade = |g: &str| catalog.iter().filter(|c| c["chrgitm_lv"] == g).count();
    let (a, b, c) = (grade("01"), grade("02"), grade("03"));
    assert_eq!(a + b + c, catalog.len());
    assert!(
        a * 5 > catalog.len() && b * 5 > catalog.len() && c > 10,
        "甲 {a} 乙 {b} 丙 {c}"
    );
    for item in &catalog {
        let selfpay = parse_scaled(&item["selfpay_prop"], 4).unwrap();
        match item["chrgitm_lv"].as_str() {
            "01" => assert_eq!(selfpay, 0),
            "02" => assert!((1..10_000).contains(&selfpay)),
            _ => assert_eq!(selfpay, 10_000),
        }
        let code = &item["med_list_codg"];
        let expected_prefix = match item["list_type"].as_str() {
            "101" => ["X", "Z"].iter().any(|p| code.starts_with(p)),
            "102" => code.starts_with('T'),
            "301" => code.starts_with('C') && code.len() == 20,
            _ => code.bytes().all(|b| b.is_ascii_digit()),
        };
        assert!(
            expected_prefix,
            "{code} for list type {}",
            item["list_type"]
        );
    }
    let institutions = csv_rows(dir, "institutions.csv");
    for i in &institutions {
        let code = &i["fixmedins_code"];
        assert_eq!(code.len(), 12, "{code}");
        assert!(code.starts_with(if i["fixmedins_type"] == "2" { 'P' } else { 'H' }));
        assert!(code[1..].bytes().all(|b| b.is_ascii_digit()));
        let lv: u32 = i["hosp_lv"].parse().unwrap();
        assert!((1..=14).contains(&lv));
    }
    assert!(
        institutions.iter().any(|i| i["admdvs"] == "360100")
            && institutions.iter().any(|i| i["admdvs"] == "330100")
    );
}

/// The register `yibao-enrolment` would hold for a generated person: one insured period from
/// `psn_insu_date`, with the benefit start its waiting rules give (九江 2025).
fn enrolled_person(row: &HashMap<String, String>, waiting: &WaitingPolicy) -> Person {
    let day = |text: &str| text.parse::<NaiveDate>().unwrap();
    let insured = day(&row["psn_insu_date"]);
    let in_year = insured.year() == YEAR;
    let enrolment = Enrolment {
        coverage_year: YEAR,
        enrolled_on: if in_year { insured } else { day("2024-12-01") },
        birth_date: day(&row["brdy"]),
        left_worker_scheme_on: None,
        identities: Vec::new(),
    };
    let history = ContributionHistory {
        paid_years: if in_year {
            Default::default()
        } else {
            [YEAR - 1].into_iter().collect()
        },
        repair_years: 0,
    };
    let start = benefit_start(&enrolment, &history, Some(waiting)).unwrap();
    let status = if row["psn_insu_stas"] == "1" {
        InsuStatus::Normal
    } else {
        InsuStatus::Suspended
    };
    Person {
        psn_no: row["psn_no"].clone(),
        certno: row["certno"].clone(),
        psn_name: row["psn_name"].clone(),
        gend: Gend::from_code(row["gend"].parse().unwrap()),
        brdy: day(&row["brdy"]),
        civil_servant: row["cvlserv_flag"] == "1",
        insured_periods: vec![InsuredPeriod {
            insutype: Insutype::from_code(row["insutype"].parse().unwrap()),
            psn_type: PsnType::from_code(row["psn_type"].parse().unwrap()),
            status,
            begin: insured,
            end: None,
            benefit_start: start.date,
            insuplc_admdvs: row["insuplc_admdvs"].parse().unwrap(),
        }],
        identities: Vec::new(),
        employment: None,
    }
}

#[test]
fn every_visit_falls_in_a_benefit_bearing_period() {
    let Some((dir, _)) = region() else {
        return;
    };
    let policy_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/jiujiang-collection.toml");
    let policy =
        CollectionPolicy::from_toml_str(&std::fs::read_to_string(policy_path).unwrap()).unwrap();
    let waiting = policy.year(YEAR).unwrap().waiting.clone().unwrap();
    let persons: HashMap<String, Person> = csv_rows(dir, "persons.csv")
        .iter()
        .map(|row| (row["psn_no"].clone(), enrolled_person(row, &waiting)))
        .collect();
    let late = persons
        .values()
        .filter(|p| p.insured_periods[0].begin.year() == YEAR)
        .count();
    assert!(
        late > 0,
        "no late enrolment in the sample (seed {})",
        seed()
    );
    for visit in visits(dir) {
        let person = &persons[visit["psn_no"].as_str().unwrap()];
        let begin = visit["begntime"].as_str().unwrap()[..10].parse().unwrap();
        let insutype = person.insured_periods[0].insutype;
        if let Err(reason) = coverage_on(person, insutype, begin) {
            panic!("{} (seed {}): {reason}", visit["mdtrt_id"], seed());
        }
    }
}

/// Without the national list, a region is generated from the built-in common diagnoses alone.
#[test]
fn built_in_diagnoses_generate_a_region() {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("synth-built-in");
    let _ = std::fs::remove_dir_all(&out_dir);
    let config = SynthConfig {
        persons: 300,
        seed: 11,
        year: YEAR,
        out_dir: out_dir.clone(),
        diagnoses: DiagnosisSource::BuiltIn,
        fraud: false,
    };
    let summary = generate(&config, &mut Silent).expect("generates from the built-in list");
    assert!(summary.inpatient_visits > 0 && summary.outpatient_visits > 0);
    let known: HashSet<&str> = yibao_synth::icd::BUILT_IN_DIAGNOSES
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    for line in read(&out_dir, "visits.jsonl").lines() {
        let visit: serde_json::Value = serde_json::from_str(line).expect("visit JSON");
        let code = visit["dise_codg"].as_str().expect("dise_codg");
        assert!(known.contains(code), "{code} is not in the built-in list");
    }
}
