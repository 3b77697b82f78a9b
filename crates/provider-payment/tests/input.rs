//! The CSV inputs of `yibao pay simulate`: what is read, and every refusal naming file, line and
//! column.

use yibao_domain::{Code, Fen, Ratio};
use yibao_provider_payment::input::{read_activity, read_budgets, read_claims, read_scores};
use yibao_provider_payment::{Budget, PaymentPolicy, Score};

const BUDGETS: &str = "fixmedins_code,insutype,year,annual_index
H1,390,2025,12000000
H2,310,2025,1200000.50
";

fn budgets() -> Vec<Budget> {
    read_budgets(BUDGETS, "budgets.csv").expect("budgets read")
}

#[test]
fn budgets_are_read_in_file_order() {
    let budgets = budgets();
    assert_eq!(budgets.len(), 2);
    assert_eq!(budgets[0].fixmedins_code, "H1");
    assert_eq!(budgets[0].insutype, Code::lit("390"));
    assert_eq!(budgets[0].annual_index, Fen::from_yuan(12_000_000));
    assert_eq!(budgets[1].annual_index, Fen(120_000_050));
    assert_eq!(budgets[1].year, 2025);
    assert_eq!(budgets[1].limits, Default::default());
}

#[test]
fn budgets_may_carry_their_own_limits() {
    let text = "insutype,fixmedins_code,annual_index,year,admissions_limit,self_pay_share_limit,avg_cost_limit
390, H1 ,100,2025,1000,0.1,
";
    let budgets = read_budgets(text, "b.csv").unwrap();
    assert_eq!(budgets[0].fixmedins_code, "H1");
    assert_eq!(budgets[0].limits.admissions, Some(1000));
    assert_eq!(budgets[0].limits.self_pay_share, Some(Ratio(1000)));
    assert_eq!(budgets[0].limits.avg_cost_per_admission, None);
}

#[test]
fn claims_are_added_up_per_month() {
    let text = "fixmedins_code,insutype,month,claim_amt,deduction_amt
H1,390,1,100.10,0
H1,390,1,200,5.5
H2,310,12,7,0
";
    let months = read_claims(text, "claims.csv", &budgets()).unwrap();
    assert_eq!(months[0][0].claims, Fen(30_010));
    assert_eq!(months[0][0].deductions, Fen(550));
    assert_eq!(months[0][1].claims, Fen::ZERO);
    assert_eq!(months[1][11].claims, Fen(700));
    assert_eq!(months[1][11].prepayment_offset, Fen::ZERO);
}

#[test]
fn activity_and_scores_attach_to_their_budget() {
    let activity = read_activity(
        "fixmedins_code,insutype,admissions,total_cost,self_pay_amt\nH2,310,10,5000,400\n",
        "activity.csv",
        &budgets(),
    )
    .unwrap();
    assert!(activity[0].is_none());
    assert_eq!(activity[1].unwrap().admissions, 10);
    let scores = read_scores(
        "fixmedins_code,insutype,score\nH1,390,88.25\n",
        "scores.csv",
        &budgets(),
    )
    .unwrap();
    assert_eq!(scores[0], Some(Score(8825)));
}

fn budget_error(text: &str) -> String {
    read_budgets(text, "budgets.csv").unwrap_err().to_string()
}

fn claims_error(text: &str) -> String {
    read_claims(text, "claims.csv", &budgets())
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_budget_rows_are_named() {
    let header = "fixmedins_code,insutype,year,annual_index\n";
    let cases = [
        (
            "H1,390,2025,12000000.001\n",
            "budgets.csv line 2, column `annual_index`: `12000000.001` has more than 2 decimal places",
        ),
        (
            "H1,390,2025,0\n",
            "budgets.csv line 2, column `annual_index`: must be positive",
        ),
        (
            "H1,390,2025,-5\n",
            "budgets.csv line 2, column `annual_index`: -5.00 is negative",
        ),
        (
            "H1,390,2025,100000000000000\n",
            "budgets.csv line 2, column `annual_index`: 100000000000000.00 exceeds the largest amount, 99999999999999.99",
        ),
        (
            "H1,390,2025,1e400\n",
            "budgets.csv line 2, column `annual_index`: `1e400` has an exponent beyond ±30",
        ),
        (
            "H1,390,二〇二五,1\n",
            "budgets.csv line 2, column `year`: `二〇二五` is not a whole number",
        ),
        (
            "H1,390,1800,1\n",
            "budgets.csv line 2, column `year`: 1800 is outside 1900..=9999",
        ),
        (
            "H1,3900000,2025,1\n",
            "budgets.csv line 2, column `insutype`: `3900000` is not an insutype code (up to 6 letters or digits)",
        ),
        (
            ",390,2025,1\n",
            "budgets.csv line 2, column `fixmedins_code`: is empty",
        ),
        (
            "H1,390,2025,1\n\nH1,390,2026,2\n",
            "budgets.csv line 4: H1 390 already has a budget on line 2; the claims carry no year, so give one budget per institution and insutype",
        ),
        (
            "H1,390,2025\n",
            "budgets.csv line 2: the row has 3 fields, the header 4",
        ),
    ];
    for (row, want) in cases {
        assert_eq!(budget_error(&format!("{header}{row}")), want, "{row}");
    }
    let long = "H".repeat(31);
    assert_eq!(
        budget_error(&format!("{header}{long},390,2025,1\n")),
        "budgets.csv line 2, column `fixmedins_code`: is longer than 30 characters"
    );
}

#[test]
fn columns_yibao_does_not_read_are_left_alone() {
    let text = "note,fixmedins_code,insutype,year,annual_index\nfirst year,H1,390,2025,100\n";
    let budgets = read_budgets(text, "b.csv").unwrap();
    assert_eq!(budgets[0].fixmedins_code, "H1");
    assert_eq!(budgets[0].annual_index, Fen::from_yuan(100));
}

#[test]
fn bad_headers_are_named() {
    assert_eq!(budget_error(""), "budgets.csv: is empty: no header line");
    assert_eq!(
        budget_error("fixmedins_code,insutype,year\nH1,390,2025\n"),
        "budgets.csv line 1, column `annual_index`: required column is missing from the header"
    );
    assert_eq!(
        budget_error("fixmedins_code,insutype,year,annual_index,year\n"),
        "budgets.csv line 1, column `year`: the column appears twice"
    );
}

#[test]
fn bad_claim_rows_are_named() {
    let header = "fixmedins_code,insutype,month,claim_amt,deduction_amt\n";
    let cases = [
        (
            "H1,390,13,1,0\n",
            "claims.csv line 2, column `month`: 13 is outside 1..=12",
        ),
        (
            "H1,390,1,1,\n",
            "claims.csv line 2, column `deduction_amt`: is empty",
        ),
        (
            "H1,390,1,1,abc\n",
            "claims.csv line 2, column `deduction_amt`: `abc` is not a decimal number",
        ),
        (
            "H9,390,1,1,0\n",
            "claims.csv line 2: no budget for H9 390 in the budgets file",
        ),
        (
            "H1,390,1,99999999999999.99,0\nH1,390,1,0.01,0\n",
            "claims.csv line 3, column `claim_amt`: the month's total 100000000000000.00 exceeds the largest amount, 99999999999999.99",
        ),
    ];
    for (row, want) in cases {
        assert_eq!(claims_error(&format!("{header}{row}")), want, "{row}");
    }
}

#[test]
fn repeated_rows_of_once_files_are_refused() {
    let error = read_scores(
        "fixmedins_code,insutype,score\nH1,390,80\nH1,390,90\n",
        "scores.csv",
        &budgets(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "scores.csv line 3: repeats the institution and insutype of line 2"
    );
    let error = read_scores(
        "fixmedins_code,insutype,score\nH1,390,100.5\n",
        "scores.csv",
        &budgets(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "scores.csv line 2, column `score`: score 100.50 is outside 0..100"
    );
    let error = read_activity(
        "fixmedins_code,insutype,admissions,total_cost,self_pay_amt\nH1,390,10,100,101\n",
        "activity.csv",
        &budgets(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "activity.csv line 2, column `self_pay_amt`: exceeds total_cost"
    );
}

#[test]
fn the_jiujiang_policy_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/payment/jiujiang-budget.toml");
    let policy = PaymentPolicy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.region.as_deref(), Some("360400"));
    assert_eq!(policy.budget.overspend_bands.len(), 2);
    assert_eq!(policy.budget.reserve_release.len(), 3);
    assert!(policy.budget.q4.is_some());
    assert!(policy.budget.controls.admissions.is_some());
}
