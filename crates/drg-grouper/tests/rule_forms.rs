//! One test per rule form, on a small synthetic rule folder written to a temp dir.

use std::path::{Path, PathBuf};

use serde_json::json;
use yibao_drg_grouper::{Grouper, LoadError, LoadOptions, Patient, Scratch, Sex, Status};

fn rules() -> serde_json::Value {
    json!({
        "mdc_order": ["MDCA", "MDCP", "MDCZ", "MDCM", "MDCN", "MDCB", "MDCX"],
        "mdc": {
            "MDCA": {"condition": "true && record.ssList && SS_VALID.includes(record.ssList[0])", "mdc_zd": [],
                     "adrg_sequence": ["AA1", "QY:false"], "special": null},
            "MDCP": {"condition": "true && mdc_zd.includes(record.zdList[0]) && record.age==0", "mdc_zd": ["P07.100", "P22.000"],
                     "adrg_sequence": ["PS1", "PS2"], "special": null},
            "MDCZ": {"condition": "true && mdc_zd.includes(record.zdList[0])",
                     "mdc_zd": ["头部创伤", "S06.000", "S02.100", "下肢创伤", "S72.000", "S82.000"],
                     "adrg_sequence": ["ZZ1"], "special": "MDCZ: >=2 distinct trauma body regions"},
            "MDCM": {"condition": "true && mdc_zd.includes(record.zdList[0]) && record.gender && record.gender==\"1\"",
                     "mdc_zd": ["N40.x00"], "adrg_sequence": ["MA1"], "special": null},
            "MDCN": {"condition": "true && mdc_zd.includes(record.zdList[0]) && record.gender && record.gender==\"2\"",
                     "mdc_zd": ["N40.x00"], "adrg_sequence": ["NR1"], "special": null},
            "MDCB": {"condition": "true && mdc_zd.includes(record.zdList[0])", "mdc_zd": ["I63.900", "G40.900"],
                     "adrg_sequence": ["BB1", "QY:false", "BR1", "BX1"], "special": null},
            "MDCX": {"condition": "true && intersect(record.zdList,mdc_zd)", "mdc_zd": ["Z51.100", "N40.x00"],
                     "adrg_sequence": ["XJ1", "XR1"], "special": null}
        },
        "adrg": {
            "AA1": adrg("MDCA", "true && record.ssList && adrg_ss.includes(record.ssList[0])", &[], &["37.5100"], &[], &[("AA19", "true")]),
            "PS1": adrg("MDCP", "true && intersect(record.zdList,adrg_zd) && record.weight>0 && record.weight<1500 && record.ageDay<=28",
                        &["P07.100"], &[], &[], &[("PS11", "MCC"), ("PS15", "true")]),
            "PS2": adrg("MDCP", "true && record.weight>0 && record.weight>=1500 && record.ageDay<=28", &[], &[], &[], &[("PS29", "true")]),
            "ZZ1": adrg("MDCZ", "true && !intersect(record.ssList,SS_VALID)", &[], &[], &[], &[("ZZ11", "MCC"), ("ZZ13", "MCC_OR_CC")]),
            "MA1": adrg("MDCM", "true && adrg_zd.includes(record.zdList[0]) && record.ssList && adrg_ss.includes(record.ssList[0])",
                        &["N40.x00"], &["60.2900"], &[], &[("MA19", "true")]),
            "NR1": adrg("MDCN", "true && adrg_zd.includes(record.zdList[0])", &["N40.x00"], &[], &[], &[("NR19", "true")]),
            "BB1": adrg("MDCB", "true && record.ssList && intersect(record.ssList,adrg_ss)", &[], &["01.2400"], &[], &[("BB19", "true")]),
            "BR1": adrg("MDCB", "true && adrg_zd.includes(record.zdList[0])", &["I63.900"], &[], &[],
                        &[("BR11", "MCC"), ("BR13", "MCC_OR_CC"), ("BR15", "true")]),
            "BX1": adrg("MDCB", "true", &[], &[], &[], &[("BX19", "record.age<17")]),
            "XJ1": adrg("MDCX", "true && (ss_matched.includes(\"1\") || (ss_matched.includes(\"2\") && ss_matched.includes(\"3\")))",
                        &[], &["85.1", "85.2", "85.3"], &["1", "2", "3"], &[("XJ19", "true")]),
            "XR1": adrg("MDCX", "true", &[], &[], &[],
                        &[("XR19", "record.ssList.length>1 && record.ssList.includes(\"96.7201\")"), ("XR15", "true")])
        }
    })
}

fn adrg(
    mdc: &str,
    condition: &str,
    zd: &[&str],
    ss: &[&str],
    ss1: &[&str],
    drgs: &[(&str, &str)],
) -> serde_json::Value {
    let drgs: Vec<_> = drgs
        .iter()
        .map(|(code, when)| json!({"code": code, "when": when}))
        .collect();
    json!({"mdc": mdc, "condition": condition, "adrg_zd": zd, "adrg_zd1": [], "adrg_ss": ss, "adrg_ss1": ss1, "drgs": drgs})
}

const DATA: [(&str, &str); 5] = [
    ("MCC.dat", "J96.000 5\nS06.000 9"),
    ("CC.dat", "E11.900 5\nK59.000 7"),
    ("CCE.dat", "I63.900 5\nG40.900 7"),
    ("SS_VALID.dat", "37.5100 a\n01.2400 b\n01.2400 b\n47.0901 c"),
    (
        "DRG.dat",
        "BR11 脑缺血性疾患，伴严重并发症或合并症\nBR15 脑缺血性疾患，不伴并发症或合并症",
    ),
];

/// Writes a rule folder (with `rules` as rules.json) to a fresh temp dir.
fn write_rules(name: &str, rules: &serde_json::Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yibao-drg-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("DATA")).unwrap();
    std::fs::write(dir.join("rules.json"), rules.to_string()).unwrap();
    for (file, text) in DATA {
        std::fs::write(dir.join("DATA").join(file), text).unwrap();
    }
    dir
}

/// Writes `rules` to a temp folder, loads it (the grouper keeps nothing on disk) and removes it.
fn try_load(
    name: &str,
    rules: &serde_json::Value,
    options: &LoadOptions,
) -> Result<Grouper, LoadError> {
    let dir = write_rules(name, rules);
    let loaded = Grouper::load(&dir, options);
    let _ = std::fs::remove_dir_all(&dir);
    loaded
}

fn load(name: &str, options: &LoadOptions) -> Grouper {
    try_load(name, &rules(), options).expect("synthetic rules load")
}

fn adult(sex: Sex) -> Patient {
    Patient {
        sex: Some(sex),
        age_years: Some(50),
        age_days: Some(18_300),
        weight_g: None,
    }
}

fn drg(g: &Grouper, patient: Patient, diagnoses: &[&str], procedures: &[&str]) -> (Status, String) {
    let got = g.group(&patient, diagnoses, procedures, &mut Scratch::default());
    (got.status, got.drg.to_string())
}

fn ok(code: &str) -> (Status, String) {
    (Status::Success, code.to_string())
}

#[test]
fn first_procedure_decides_mdca_entry() {
    let g = load("mdca", &LoadOptions::default());
    assert_eq!(
        drg(&g, adult(Sex::Male), &["I63.900"], &["37.5100", "01.2400"]),
        ok("AA19")
    );
    // 37.5100 second: MDCA needs the *first* procedure; BB1 takes any procedure.
    assert_eq!(
        drg(&g, adult(Sex::Male), &["I63.900"], &["01.2400", "37.5100"]),
        ok("BB19")
    );
    assert_eq!(
        drg(&g, adult(Sex::Male), &["I63.900"], &["99.9999", "01.2400"]),
        ok("BB19")
    );
}

#[test]
fn mcc_and_cc_respect_the_principal_exclusion_table() {
    let g = load("cc", &LoadOptions::default());
    let p = adult(Sex::Female);
    assert_eq!(drg(&g, p, &["I63.900"], &[]), ok("BR15"));
    assert_eq!(
        drg(&g, p, &["I63.900", "J96.000"], &[]),
        ok("BR15"),
        "MCC in the principal's own table is excluded"
    );
    assert_eq!(
        drg(&g, p, &["I63.900", "E11.900"], &[]),
        ok("BR15"),
        "CC in the principal's own table is excluded"
    );
    assert_eq!(drg(&g, p, &["I63.900", "K59.000"], &[]), ok("BR13"));
    assert_eq!(
        drg(&g, p, &["I63.900", "K59.000", "S06.000"], &[]),
        ok("BR11")
    );
    assert_eq!(
        drg(&g, p, &["I63.900", "I63.900"], &[]),
        ok("BR15"),
        "a repeated principal is no complication"
    );
}

#[test]
fn branch_order_and_bare_adrg_fallback() {
    let g = load("branches", &LoadOptions::default());
    let child = Patient {
        age_years: Some(10),
        ..adult(Sex::Male)
    };
    assert_eq!(drg(&g, child, &["G40.900"], &[]), ok("BX19"));
    assert_eq!(
        drg(&g, adult(Sex::Male), &["G40.900"], &[]),
        ok("BX1"),
        "no branch holds: bare ADRG"
    );
    let got = g.group(
        &adult(Sex::Male),
        &["G40.900"],
        &[] as &[&str],
        &mut Scratch::default(),
    );
    assert_eq!((got.mdc, got.adrg), ("MDCB", "BX1"));
}

#[test]
fn entered_mdc_without_adrg_falls_through_to_the_next() {
    let g = load("fallthrough", &LoadOptions::default());
    // Male with N40.x00 enters MDCM, whose only ADRG needs 60.2900 first: falls through to MDCX.
    assert_eq!(drg(&g, adult(Sex::Male), &["N40.x00"], &[]), ok("XR15"));
    assert_eq!(
        drg(&g, adult(Sex::Male), &["N40.x00"], &["60.2900"]),
        ok("MA19")
    );
    assert_eq!(drg(&g, adult(Sex::Female), &["N40.x00"], &[]), ok("NR19"));
    let none = g.group(
        &adult(Sex::Male),
        &["A00.000"],
        &[] as &[&str],
        &mut Scratch::default(),
    );
    assert_eq!(
        (none.status, none.mdc, none.adrg, none.drg),
        (Status::Ungroupable, "0000", "00", "0000")
    );
}

#[test]
fn sex_rules_skip_unstated_sex() {
    let g = load("sex", &LoadOptions::default());
    assert_eq!(drg(&g, adult(Sex::Unstated), &["N40.x00"], &[]), ok("XR15"));
}

#[test]
fn newborn_rules_use_age_days_and_weight() {
    let g = load("newborn", &LoadOptions::default());
    let newborn = |days, weight| Patient {
        sex: Some(Sex::Female),
        age_years: Some(0),
        age_days: Some(days),
        weight_g: Some(weight),
    };
    assert_eq!(drg(&g, newborn(3, 1400), &["P07.100"], &[]), ok("PS15"));
    assert_eq!(
        drg(&g, newborn(3, 1400), &["P07.100", "J96.000"], &[]),
        ok("PS11")
    );
    assert_eq!(drg(&g, newborn(28, 1500), &["P22.000"], &[]), ok("PS29"));
    // 29 days: no newborn ADRG holds, MDCP falls through; nothing else takes P22.000.
    assert_eq!(
        drg(&g, newborn(29, 1500), &["P22.000"], &[]).0,
        Status::Ungroupable
    );
    // One year old: MDCP is not entered at all.
    let infant = Patient {
        age_years: Some(1),
        ..newborn(400, 3000)
    };
    assert_eq!(drg(&g, infant, &["P22.000"], &[]).0, Status::Ungroupable);
}

#[test]
fn multiple_trauma_needs_two_distinct_regions() {
    let g = load("trauma", &LoadOptions::default());
    let p = adult(Sex::Male);
    assert_eq!(
        drg(&g, p, &["S06.000", "S72.000"], &[]),
        ok("ZZ1"),
        "two regions, no MCC/CC branch holds"
    );
    assert_eq!(
        drg(&g, p, &["S72.000", "S06.000"], &[]),
        ok("ZZ11"),
        "S06.000 is an MCC as a secondary"
    );
    assert_eq!(
        drg(&g, p, &["S06.000", "S02.100"], &[]).0,
        Status::Ungroupable,
        "same region twice is one region"
    );
    assert_eq!(drg(&g, p, &["S06.000"], &[]).0, Status::Ungroupable);
    assert_eq!(
        drg(&g, p, &["S06.000", "S72.000"], &["01.2400"]).0,
        Status::Ungroupable,
        "ZZ1 needs no valid procedure"
    );
}

#[test]
fn procedure_labels_and_counts() {
    let g = load("labels", &LoadOptions::default());
    let p = adult(Sex::Female);
    assert_eq!(drg(&g, p, &["Z51.100"], &["85.1"]), ok("XJ19"));
    assert_eq!(drg(&g, p, &["Z51.100"], &["85.2", "85.3"]), ok("XJ19"));
    assert_eq!(drg(&g, p, &["Z51.100"], &["85.2"]), ok("XR15"));
    assert_eq!(drg(&g, p, &["Z51.100"], &["96.7201", "85.2"]), ok("XR19"));
    assert_eq!(
        drg(&g, p, &["Z51.100"], &["96.7201"]),
        ok("XR15"),
        "length>1 fails with one procedure"
    );
}

#[test]
fn ambiguous_groups_are_a_switch() {
    let off = load("qy-off", &LoadOptions::default());
    let on = load(
        "qy-on",
        &LoadOptions {
            ambiguous_groups: Some(true),
            ..LoadOptions::default()
        },
    );
    let p = adult(Sex::Male);
    // A valid procedure that is not first: MDCA is not entered, MDCB's QY step sees it.
    assert_eq!(
        drg(&off, p, &["I63.900"], &["99.9999", "47.0901"]),
        ok("BR15")
    );
    let got = on.group(
        &p,
        &["I63.900"],
        &["99.9999", "47.0901"],
        &mut Scratch::default(),
    );
    assert_eq!(
        (got.status, got.mdc, got.adrg, got.drg),
        (Status::Ambiguous, "MDCB", "BQY", "BQY")
    );
    assert_eq!(
        drg(&on, p, &["I63.900"], &[]),
        ok("BR15"),
        "no valid procedure: QY step passes"
    );
    assert_eq!(
        drg(&on, p, &["I63.900"], &["47.0901"]),
        (Status::Ambiguous, "AQY".to_string()),
        "MDCA entered, AA1 fails"
    );
}

#[test]
fn input_check_comes_first() {
    let g = load("check", &LoadOptions::default());
    let no_sex = Patient {
        sex: None,
        ..adult(Sex::Male)
    };
    let mut trace = Vec::new();
    let got = g.group_traced(
        &no_sex,
        &["I63.900"],
        &[] as &[&str],
        &mut Scratch::default(),
        &mut trace,
    );
    assert_eq!(
        (got.status, got.mdc, got.adrg, got.drg),
        (Status::CheckFailed, "0000", "00", "0000")
    );
    assert_eq!(trace, vec!["病人性别为空"]);
    assert_eq!(drg(&g, adult(Sex::Male), &[], &[]).0, Status::CheckFailed);
    let newborn_no_weight = Patient {
        sex: Some(Sex::Male),
        age_years: Some(0),
        age_days: Some(10),
        weight_g: Some(0),
    };
    assert_eq!(
        drg(&g, newborn_no_weight, &["P07.100"], &[]).0,
        Status::CheckFailed
    );
    let infant_no_weight = Patient {
        age_days: Some(29),
        ..newborn_no_weight
    };
    assert_eq!(
        drg(&g, infant_no_weight, &["P07.100"], &[]).0,
        Status::Ungroupable
    );
}

#[test]
fn trace_explains_the_path() {
    let g = load("trace", &LoadOptions::default());
    let mut trace = Vec::new();
    let got = g.group_traced(
        &adult(Sex::Male),
        &["I63.900", "K59.000"],
        &[] as &[&str],
        &mut Scratch::default(),
        &mut trace,
    );
    assert_eq!(got.drg, "BR13");
    assert_eq!(got.drg_name, None);
    assert_eq!(
        trace,
        vec![
            "符合MDCB入组条件，匹配规则：主诊断匹配",
            "符合BR1入组条件，匹配规则：主诊断匹配",
            "主诊断I63.900排除表5",
            "诊断K59.000属于CC，排除表7",
            "***BR13 ***",
        ]
    );
}

#[test]
fn code_mapping_translates_or_rejects() {
    let map_dir = std::env::temp_dir().join(format!("yibao-drg-map-{}", std::process::id()));
    std::fs::create_dir_all(&map_dir).unwrap();
    std::fs::write(
        map_dir.join("ZD_MAP.dat"),
        "I63.901 I63.900\nK59.000 K59.000\nI63.900 I63.900",
    )
    .unwrap();
    std::fs::write(map_dir.join("SS_MAP.dat"), "01.2401 01.2400").unwrap();
    let g = load(
        "mapped",
        &LoadOptions {
            code_map_dir: Some(map_dir.clone()),
            ..LoadOptions::default()
        },
    );
    let _ = std::fs::remove_dir_all(&map_dir);
    let p = adult(Sex::Male);
    assert_eq!(drg(&g, p, &["I63.901", "K59.000"], &[]), ok("BR13"));
    assert_eq!(drg(&g, p, &["I63.901"], &["01.2401"]), ok("BB19"));
    assert_eq!(drg(&g, p, &["I63.999"], &[]).0, Status::DiagnosisNotMapped);
    assert_eq!(
        drg(&g, p, &["I63.901"], &["01.9999"]).0,
        Status::ProcedureNotMapped
    );
}

#[test]
fn unsupported_rule_forms_are_named_at_load() {
    let mut bad = rules();
    bad["adrg"]["BX1"]["condition"] = json!("record.height>3");
    let err = try_load("bad-form", &bad, &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(&err, LoadError::Unsupported { rule, .. } if rule == "BX1"),
        "{err}"
    );
    let mut bad = rules();
    bad["mdc"]["MDCB"]["condition"] = json!("mdc_zd.includes(");
    let err = try_load("bad-syntax", &bad, &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("MDCB: cannot parse"), "{err}");
    let mut bad = rules();
    bad["mdc"]["MDCB"]["adrg_sequence"] = json!(["BR9"]);
    let err = try_load("bad-seq", &bad, &LoadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "MDCB: adrg_sequence names BR9, which has no entry under `adrg`"
    );
    let err = Grouper::load(Path::new("/nonexistent/rules"), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/rules/rules.json"),
        "{err}"
    );
}
