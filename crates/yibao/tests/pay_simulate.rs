//! `yibao pay simulate` on small files: the worked example of clearing-and-budgets.md §4.4 and a
//! surplus beside it come out exact to the fen in the documented JSON, and a bad row is refused
//! naming file, line and column with nothing written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::value::RawValue;

/// The policy of issue 12, verbatim (its example tiers), as the payment crate's tests use it.
fn issue_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../provider-payment/tests/policies/issue-example.toml")
}

const BUDGETS: &str = "fixmedins_code,insutype,year,annual_index
H36040000001,310,2025,12000000
H36040000002,390,2025,1000.00
";

/// H1, the worked example: net claims 950,000 in months 1–6 and 1,200,000 in months 7–12, each month
/// in two rows, one with a deduction of 10,000.50. H2: 80.00 a month less 5.00 in March, nothing in
/// December.
fn claims() -> String {
    let mut text = String::from("fixmedins_code,insutype,month,claim_amt,deduction_amt\n");
    for month in 1..=12 {
        let (first, second) = if month <= 6 {
            ("600000", "360000.50")
        } else {
            ("700000", "510000.50")
        };
        text += &format!("H36040000001,310,{month},{first},0\n");
        text += &format!("H36040000001,310,{month},{second},10000.50\n");
    }
    for month in 1..=11 {
        let deduction = if month == 3 { "5" } else { "0" };
        text += &format!("H36040000002,390,{month},80,{deduction}\n");
    }
    text
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(name: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("yibao-pay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Files { dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A JSON line's fields as the text written (amounts keep their two decimals).
fn fields(line: &str) -> HashMap<String, String> {
    let raw: HashMap<String, Box<RawValue>> = serde_json::from_str(line).expect("a JSON object");
    raw.into_iter()
        .map(|(key, value)| (key, value.get().to_string()))
        .collect()
}

/// The twelve `monthly_paid` amounts as written.
fn monthly_paid(fields: &HashMap<String, String>) -> Vec<String> {
    let raw: Vec<Box<RawValue>> = serde_json::from_str(&fields["monthly_paid"]).expect("an array");
    raw.iter().map(|v| v.get().to_string()).collect()
}

fn simulate(policy: &Path, budgets: &Path, claims: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["pay", "simulate", "--policy"])
        .arg(policy)
        .arg("--budgets")
        .arg(budgets)
        .arg("--claims")
        .arg(claims)
        .output()
        .expect("yibao runs")
}

#[test]
fn the_worked_example_and_a_surplus_come_out_exactly() {
    let files = Files::new("worked");
    let output = simulate(
        &issue_policy(),
        &files.write("budgets.csv", BUDGETS),
        &files.write("claims.csv", &claims()),
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    // Yuan are JSON numbers with two decimals, as everywhere at the interface.
    let worked = fields(lines[0]);
    assert_eq!(worked["fixmedins_code"], r#""H36040000001""#);
    assert_eq!(worked["insutype"], r#""310""#);
    assert_eq!(worked["year"], "2025");
    let mut want = vec!["950000.00".to_string(); 6];
    want.extend(vec!["1000000.00".to_string(); 6]);
    assert_eq!(monthly_paid(&worked), want);
    // T = 12,000,000: paid 11,700,000, deferred 1,200,000, C = 12,900,000, fund share
    // 600,000 × 70 % + 300,000 × 50 % = 570,000, final 12,570,000, year-end payment 870,000.
    for (key, want) in [
        ("deferred", "1200000.00"),
        ("audited_claims", "12900000.00"),
        ("final", "12570000.00"),
        ("year_end_payment", "870000.00"),
        ("retained", "0.00"),
        ("fund_share", "570000.00"),
    ] {
        assert_eq!(worked[key], want, "{key}");
    }
    let small = fields(lines[1]);
    // T = 1,000.00, quotas 83.33/83.34; claims 80.00 (75.00 in March), none in December:
    // Σ net = 875.00, all paid, C = 875.00, surplus 125.00, retained 5 % = 50.00, final 925.00,
    // year-end payment 50.00; reserve 5 % of 80.00 = 4.00 × 10 + 3.75 = 43.75.
    for (key, want) in [
        ("deferred", "0.00"),
        ("audited_claims", "875.00"),
        ("final", "925.00"),
        ("year_end_payment", "50.00"),
        ("retained", "50.00"),
        ("fund_share", "0.00"),
        ("reserve_withheld", "43.75"),
        ("reserve_released", "43.75"),
    ] {
        assert_eq!(small[key], want, "{key}");
    }
    let paid = monthly_paid(&small);
    assert_eq!(paid[2], "75.00");
    assert_eq!(paid[11], "0.00");
}

#[test]
fn a_bad_row_is_named_and_nothing_is_written() {
    let files = Files::new("bad");
    let claims = format!("{}H36040000002,390,13,80,0\n", claims());
    let output = simulate(
        &issue_policy(),
        &files.write("budgets.csv", BUDGETS),
        &files.write("claims.csv", &claims),
    );
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("claims.csv line 37, column `month`: 13 is outside 1..=12"),
        "{stderr}"
    );
}
