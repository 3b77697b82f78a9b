use std::path::PathBuf;

use yibao_domain::{Code, Fen, Ratio};

use super::*;

fn reference_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/jiujiang.toml")
}

fn reference_text() -> String {
    std::fs::read_to_string(reference_path()).unwrap()
}

#[test]
fn reference_policy_loads() {
    let policy = Policy::load(&reference_path()).unwrap();
    assert_eq!(policy.policy.admdvs, Code::lit("360400"));
    let residents = policy.scheme(Code::lit("390")).unwrap();
    assert_eq!(residents.buckets.len(), 4);
    assert_eq!(
        residents.buckets[0].annual_cap,
        Some(Fen::from_yuan(100_000))
    );
    assert_eq!(residents.buckets[0].rates[2].ratio, Some(Ratio(6000)));
    assert_eq!(policy.level_of(Code::lit("12")).unwrap().level, 3);
    assert_eq!(policy.level_of(Code::lit("6")).unwrap().level, 2);
    assert!(policy.is_in_region("360402"));
    assert!(!policy.is_in_region("360100"));
    assert!(policy
        .scheme(Code::lit("310"))
        .unwrap()
        .large_amount
        .is_some());
}

fn error_of(from: &str, to: &str) -> String {
    let text = reference_text();
    assert!(text.contains(from), "fixture text `{from}` not found");
    Policy::parse(&text.replacen(from, to, 1))
        .unwrap_err()
        .to_string()
}

#[test]
fn errors_name_the_field() {
    let err = error_of(r#"ratio = "0.90" },"#, r#"ratio = "1.90" },"#);
    assert!(err.contains("outside 0..1"), "{err}");
    let err = error_of(r#"buckets = ["inpatient"]"#, r#"buckets = ["inpatiens"]"#);
    assert!(
        err.contains("schemes[0].catastrophic.buckets") && err.contains("inpatiens"),
        "{err}"
    );
    let err = error_of(r#"fund = "390200""#, r#"fund = "399999""#);
    assert!(
        err.contains("schemes[0].catastrophic.fund") && err.contains("399999"),
        "{err}"
    );
    let err = error_of(r#"{ levels = [1], ratio = "0.60" }"#, r#"{ levels = [1] }"#);
    assert!(
        err.contains("schemes[0].buckets[2].rates[0]") && err.contains("either `ratio` or `bands`"),
        "{err}"
    );
    let err = error_of(r#"admdvs = "360400""#, r#"admdvs = "3604""#);
    assert!(err.contains("policy.admdvs"), "{err}");
    let err = error_of(
        r#"annual_cap = "400"             # (i)
deductible_kind = "none"
rates = [{ levels"#,
        r#"annual_cap = "400x"
deductible_kind = "none"
rates = [{ levels"#,
    );
    assert!(err.contains("400x"), "{err}");
    let err = error_of(
        "deductible_kind = \"per_admission\"",
        "deductible_kind = \"per_month\"",
    );
    assert!(err.contains("per_month"), "{err}");
    let err = error_of("name = \"住院\"\nmed_types", "nmae = \"住院\"\nmed_types");
    assert!(err.contains("nmae"), "{err}");
}

#[test]
fn bands_must_ascend_and_end_open() {
    let text = reference_text().replacen(
        r#"rates = [{ ratio = "0.65" }]"#,
        r#"rates = [{ bands = [{ upto = "200", ratio = "0.70" }, { upto = "100", ratio = "0.60" }, { ratio = "0.5" }] }]"#,
        1,
    );
    let err = Policy::parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("schemes[0].buckets[1].rates[0].bands[1].upto") && err.contains("ascending"),
        "{err}"
    );
}

#[test]
fn effective_dates() {
    let policy = Policy::load(&reference_path()).unwrap();
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert!(policy.in_force_on(date("2025-06-01")));
    assert!(!policy.in_force_on(date("2024-12-31")));
}

#[test]
fn the_nanchang_policy_loads_with_its_filing_rules() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/nanchang.toml");
    let policy = Policy::load(&path).unwrap();
    assert_eq!(policy.policy.admdvs, Code::lit("360100"));
    assert!(policy.is_in_region("360102"));
    assert!(policy.remote.is_in_province("360402"));
    let place = policy.place_of("360402", false, Some(FilingStatus::Unfiled));
    assert_eq!(
        place.map(|p| (p.region, p.filing)),
        Ok((Region::In, Some(FilingStatus::InProvince)))
    );
    let refused = policy.place_of("440106", true, Some(FilingStatus::Unfiled));
    assert_eq!(
        refused,
        Err(NoDirectSettlement {
            status: FilingStatus::Unfiled
        })
    );
    let workers = policy.scheme(Code::lit("310")).unwrap();
    assert_eq!(workers.buckets[0].rates[2].deductible, Fen::from_yuan(800));
    let claimed = policy.manual_claim_place("440106", FilingStatus::Unfiled);
    assert_eq!(
        claimed.map(|p| (p.region, p.filing)),
        Ok((Region::In, Some(FilingStatus::Unfiled)))
    );
    let mut none = policy.clone();
    none.remote.manual_claims = None;
    assert!(none
        .manual_claim_place("440106", FilingStatus::Unfiled)
        .is_err());
}

#[test]
fn the_jiujiang_filing_rules_keep_refl_flag_results() {
    let policy = Policy::load(&reference_path()).unwrap();
    let region =
        |medins: &str, flag: bool, filing| policy.place_of(medins, flag, filing).unwrap().region;
    for filing in [None, Some(FilingStatus::Unfiled)] {
        assert_eq!(region("440106", true, filing), Region::OutReferred);
        assert_eq!(region("440106", false, filing), Region::OutUnreferred);
        assert_eq!(region("360102", false, filing), Region::OutUnreferred);
        assert_eq!(region("360402", false, filing), Region::In);
    }
    assert_eq!(
        region("440106", false, Some(FilingStatus::LongTerm)),
        Region::OutReferred
    );
    assert_eq!(
        region("440106", true, Some(FilingStatus::Temporary)),
        Region::OutUnreferred
    );
}

#[test]
fn remote_rules_are_checked_naming_the_field() {
    let text = reference_text();
    let bad = text.replacen(
        "province_prefixes = [\"36\"]",
        "province_prefixes = [\"44\"]",
        1,
    );
    let error = Policy::parse(&bad).unwrap_err().to_string();
    assert!(error.contains("remote.province_prefixes"), "{error}");
    let bad = text.replacen(
        "temporary_validity_days = 180",
        "temporary_validity_days = 0",
        1,
    );
    let error = Policy::parse(&bad).unwrap_err().to_string();
    assert!(error.contains("remote.temporary_validity_days"), "{error}");
    let bad = text.replacen(
        "manual_claims = \"unreferred\"",
        "manual_claims = \"refused\"",
        1,
    );
    let error = Policy::parse(&bad).unwrap_err().to_string();
    assert!(error.contains("remote.manual_claims"), "{error}");
    let bad = text.replacen("unfiled = \"unreferred\"", "unfiled = \"maybe\"", 1);
    let error = Policy::parse(&bad).unwrap_err().to_string();
    assert!(error.contains("maybe"), "{error}");
}
