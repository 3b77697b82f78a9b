//! `yibao pay procurement` on SQLite and PostgreSQL: a prepayment posted twice is posted once, the
//! months without claims cannot recover it so the year-end does, the retained savings are paid,
//! the status says so and `yibao verify` passes; `yibao pay simulate --procurement` adds the
//! procurement fields to its lines and changes none of the others.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::Connection;

const BUDGETS: &str = "fixmedins_code,insutype,year,annual_index
H36040200001,390,2025,12000000
";

const PREPAYMENTS: &str = "fixmedins_code,insutype,year,month,procurement_volume
H36040200001,390,2025,1,1200000.00
";

const SAVINGS: &str = "fixmedins_code,insutype,year,item_code,reference_price,bid_price,volume
H36040200001,390,2025,XA01,1.2500,0.2500,50000
H36040200001,390,2025,XB02,30.00,10.00,1500
";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn yibao(args: &[&str], store: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .args(store)
        .output()
        .unwrap()
}

fn stdout(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A fresh PostgreSQL schema as a `--database` URL.
async fn postgres_url() -> String {
    let base = std::env::var("YIBAO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let nanos = chrono::Local::now()
        .timestamp_nanos_opt()
        .unwrap_or_default();
    let schema = format!("t_pcli_{}_{}", std::process::id(), nanos % 1_000_000_000);
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

fn run_year(name: &str, dir: &Path, store: &[String]) {
    let file = |file: &str, text: &str| {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let budgets = file("budgets.csv", BUDGETS);
    let prepayments = file("prepayments.csv", PREPAYMENTS);
    let savings = file("savings.csv", SAVINGS);
    let policy = repo("policies/payment/jiujiang-budget.toml")
        .display()
        .to_string();
    let benefits = repo("policies/jiujiang.toml").display().to_string();
    stdout(yibao(&["import", "policy", &benefits], store));
    stdout(yibao(&["pay", "budgets", &budgets], store));
    let prepay = [
        "pay",
        "procurement",
        "prepay",
        &prepayments,
        "--policy",
        &policy,
    ];
    let first = stdout(yibao(&prepay, store));
    assert!(
        first.contains("360000.00") && first.contains(" posted"),
        "{name}: {first}"
    );
    let again = stdout(yibao(&prepay, store));
    assert!(again.contains("already posted"), "{name}: {again}");
    let month = stdout(yibao(
        &[
            "pay",
            "month",
            "--month",
            "2025-12",
            "--as-of",
            "2026-01-05",
            "--policy",
            &policy,
            "--format",
            "csv",
        ],
        store,
    ));
    assert!(
        month.lines().next().unwrap().contains("procurement_offset"),
        "{name}: {month}"
    );
    stdout(yibao(
        &[
            "pay",
            "procurement",
            "savings",
            &savings,
            "--policy",
            &policy,
        ],
        store,
    ));
    let year_end = stdout(yibao(
        &[
            "pay", "year-end", "--year", "2025", "--policy", &policy, "--format", "json",
        ],
        store,
    ));
    let statements: serde_json::Value = serde_json::from_str(&year_end).unwrap();
    let statement = &statements[0]["statement"];
    assert_eq!(statement["procurement_retained"], "40000.00", "{name}");
    assert_eq!(statement["procurement_recovered"], "360000.00", "{name}");
    let status = stdout(yibao(
        &[
            "pay",
            "procurement",
            "status",
            "--year",
            "2025",
            "--format",
            "csv",
        ],
        store,
    ));
    assert_eq!(
        status,
        "fixmedins_code,insutype,year,prepaid_month,prepaid,months_paid,recovered,recovered_at_year_end,outstanding,savings,retained\n\
         H36040200001,390,2025,1,360000.00,12,0.00,360000.00,0.00,80000.00,40000.00\n",
        "{name}"
    );
    let verified = stdout(yibao(&["verify", "--json"], store));
    let report: serde_json::Value = serde_json::from_str(verified.trim()).unwrap();
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "{name}: {verified}"
    );
}

#[tokio::test]
async fn prepay_pay_clear_and_verify_on_both_backends() {
    let dir = std::env::temp_dir().join(format!(
        "yibao-pay-procurement-{}-{}",
        std::process::id(),
        chrono::Local::now()
            .timestamp_nanos_opt()
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(dir.join("db")).unwrap();
    let sqlite = vec![
        "--data-dir".to_string(),
        dir.join("db").display().to_string(),
    ];
    run_year("sqlite", &dir, &sqlite);
    let postgres = vec!["--database".to_string(), postgres_url().await];
    run_year("postgres", &dir, &postgres);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_adds_the_procurement_fields_only_where_asked() {
    let dir = std::env::temp_dir().join(format!("yibao-sim-procurement-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |file: &str, text: &str| {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let budgets = write(
        "budgets.csv",
        "fixmedins_code,insutype,year,annual_index\nH1,390,2025,12000000\nH2,390,2025,1200\n",
    );
    let mut claims = String::from("fixmedins_code,insutype,month,claim_amt,deduction_amt\n");
    for month in 1..=12 {
        claims += &format!("H1,390,{month},1000000,0\nH2,390,{month},100,0\n");
    }
    let claims = write("claims.csv", &claims);
    let procurement = write(
        "procurement.csv",
        "fixmedins_code,insutype,prepayment_month,prepayment_amt,savings_amt\nH1,390,1,360000,80000\n",
    );
    let policy = repo("policies/payment/jiujiang-budget.toml")
        .display()
        .to_string();
    let simulate = |extra: &[&str]| {
        let mut args = vec![
            "pay",
            "simulate",
            "--policy",
            &policy,
            "--budgets",
            &budgets,
            "--claims",
            &claims,
        ];
        args.extend_from_slice(extra);
        stdout(yibao(&args, &[]))
    };
    let plain = simulate(&[]);
    let with = simulate(&["--procurement", &procurement]);
    let plain: Vec<serde_json::Value> = plain
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let with: Vec<serde_json::Value> = with
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(plain[1], with[1], "H2 has no procurement: the same line");
    let mut h1 = with[0].as_object().unwrap().clone();
    let offsets = h1.remove("procurement_offsets").unwrap();
    let mut expected = vec![serde_json::json!(36000.0); 12];
    expected[0] = serde_json::json!(0.0);
    expected[11] = serde_json::json!(0.0);
    assert_eq!(offsets, serde_json::Value::Array(expected));
    assert_eq!(
        h1.remove("procurement_recovered").unwrap(),
        serde_json::json!(0.0)
    );
    assert_eq!(
        h1.remove("procurement_savings").unwrap(),
        serde_json::json!(80000.0)
    );
    assert_eq!(
        h1.remove("procurement_retained").unwrap(),
        serde_json::json!(40000.0)
    );
    assert_eq!(
        serde_json::Value::Object(h1),
        plain[0],
        "the other fields unchanged"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
