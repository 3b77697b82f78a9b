//! The collection policy file is validated on load, with messages naming the field.

use yibao_enrolment::CollectionPolicy;

fn jiujiang_text() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policies/jiujiang-collection.toml"
    );
    std::fs::read_to_string(path).unwrap()
}

fn error_after(from: &str, to: &str) -> String {
    let text = jiujiang_text();
    assert!(text.contains(from), "fixture text `{from}` not found");
    CollectionPolicy::from_toml_str(&text.replacen(from, to, 1))
        .unwrap_err()
        .to_string()
}

#[test]
fn jiujiang_file_loads() {
    let policy = CollectionPolicy::from_toml_str(&jiujiang_text()).unwrap();
    assert_eq!(policy.admdvs.as_str(), "360400");
    assert_eq!(
        policy.years.iter().map(|y| y.year).collect::<Vec<_>>(),
        [2024, 2025]
    );
    assert!(policy.year(2024).unwrap().waiting.is_none());
}

#[test]
fn subsidy_shares_must_sum_to_one() {
    assert_eq!(
        error_after("central = \"0.60\"", "central = \"0.50\""),
        "years[2024].resident.subsidy_shares: shares sum to 0.9000, must be 1"
    );
}

#[test]
fn fixed_subsidy_cannot_exceed_the_individual_contribution() {
    assert_eq!(
        error_after("amount = \"320.00\"", "amount = \"420.00\""),
        "years[2024].resident.identity_subsidies[1].subsidy.amount: 420.00 exceeds the individual contribution 400.00"
    );
}

#[test]
fn an_identity_is_subsidised_once() {
    assert_eq!(
        error_after("identities = [\"DB\", \"FP\"", "identities = [\"TK\", \"FP\""),
        "years[2024].resident.identity_subsidies[1].identities: TK is already subsidised by identity_subsidies[0]"
    );
}

#[test]
fn floor_above_ceiling_is_rejected() {
    assert_eq!(
        error_after("base_floor_percent = 60", "base_floor_percent = 400"),
        "years[2024].worker.base_floor_percent: 400 must be positive and at most base_ceiling_percent 300"
    );
}

#[test]
fn duplicate_years_are_rejected() {
    assert_eq!(
        error_after("year = 2025", "year = 2024"),
        "years[1].year: 2024 appears twice"
    );
}

#[test]
fn bad_values_name_the_key() {
    let message = error_after("employer_rate = \"0.09\"", "employer_rate = \"9\"");
    assert!(
        message.contains("employer_rate") && message.contains("outside 0..1"),
        "{message}"
    );
    let message = error_after("opens = \"09-15\"", "opens = \"13-15\"");
    assert!(message.contains("`13-15` is not a month-day"), "{message}");
    let message = error_after("fixed_wait_months = 3", "fixed_wait_month = 3");
    assert!(message.contains("fixed_wait_month"), "{message}");
}
