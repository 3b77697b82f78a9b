//! `yibao report providers` on an embedded database holding a budget and three posted months: the
//! year and one month as CSV, JSON and a table, exact to the fen; a bad month is refused.

use std::path::Path;
use std::process::{Command, Output};

use yibao_domain::{Code, Fen};
use yibao_ledger::provider;
use yibao_ledger::provider_books::ToPost;
use yibao_ledger::Store;
use yibao_provider_payment::{pay_year, Budget, MonthInput, PaymentPolicy, MONTHS};

const HOSPITAL: &str = "H36040200001";

fn report(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["report", "providers", "--year", "2025", "--data-dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A budget of 12,000,000 with months 1–3 posted: 1,075,000 claimed a month, 25,000 deducted in
/// March.
async fn fill(dir: &Path) {
    let store = Store::open_data_dir(dir).await.unwrap();
    let budget = Budget {
        fixmedins_code: HOSPITAL.into(),
        insutype: Code::lit("390"),
        year: 2025,
        annual_index: Fen::from_yuan(12_000_000),
        limits: Default::default(),
    };
    provider::upsert_budgets(&store, std::slice::from_ref(&budget), "2025-01-01 00:00:00")
        .await
        .unwrap();
    let mut inputs = [MonthInput {
        claims: Fen::from_yuan(1_075_000),
        ..MonthInput::default()
    }; MONTHS];
    inputs[2].deductions = Fen::from_yuan(25_000);
    let policy = PaymentPolicy::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/payment/jiujiang-budget.toml"),
    )
    .unwrap();
    let statements = pay_year(&policy, &budget, &inputs).unwrap();
    let to_post: Vec<_> = statements[..3]
        .iter()
        .map(|statement| ToPost {
            key: (HOSPITAL.to_string(), Code::lit("390")),
            fund: Code::lit("390100"),
            statement: *statement,
        })
        .collect();
    provider::post_months(&store, 2025, &to_post, "2025-04-01 00:00:00")
        .await
        .unwrap();
    store.close().await;
}

#[test]
fn the_provider_report_reads_the_posted_statements() {
    let dir = std::env::temp_dir().join(format!("yibao-report-providers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(fill(&dir));

    let csv = stdout(&report(&dir, &["--format", "csv"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "fixmedins_code,insutype,year,month,annual_index,months_paid,claims,deductions,paid,deferred,reserve_withheld,prepayment_offset,transfer,year_end_payment,final"
    );
    let fields: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&fields[..4], [HOSPITAL, "390", "2025", ""]);
    assert_eq!(fields[4], "12000000.00");
    assert_eq!(fields[5], "3");
    assert_eq!(fields[6], "3225000.00", "claims");
    assert_eq!(fields[7], "25000.00", "deductions");
    assert_eq!(fields[8], "3000000.00", "paid within the quotas");
    assert_eq!(fields[9], "200000.00", "deferred");
    assert_eq!(&fields[13..], ["", ""], "not cleared");
    assert_eq!(lines.next(), None);

    let json: serde_json::Value = serde_json::from_str(&stdout(&report(
        &dir,
        &["--month", "3", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json[0]["month"], 3);
    assert_eq!(json[0]["claims"], "1075000.00");
    assert_eq!(json[0]["deductions"], "25000.00");
    assert_eq!(json[0]["paid"], "1000000.00");
    assert_eq!(json[0]["deferred"], "50000.00");

    let table = stdout(&report(&dir, &[]));
    assert!(table.contains("医疗机构拨付 2025"), "{table}");
    assert!(table.contains("合计"), "{table}");
    assert!(table.contains("3225000.00"), "{table}");

    let refused = report(&dir, &["--month", "13"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--month 13"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
