//! `yibao export parquet` over a ledger filled through the service (in process): the four files are
//! read back with the `parquet` crate's reader, and their row counts and money sums equal the
//! ledger's; a cancellation is exported as its own negated entry; another year is empty.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};
use yibao_ledger::entries::{self, EntryFilter};
use yibao_server::config::Config;
use yibao_server::service::{CallMeta, Service};

const HOSPITAL: &str = "H36040200001";
const DRUG: &str = "XJ01CAA040A001010101791";
const HBA1C: &str = "002703000010000";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn yibao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .output()
        .expect("yibao runs")
}

fn succeed(args: &[&str]) -> String {
    let out = yibao(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    stderr
}

fn import(dir: &str, kind: &str, file: &str, extra: &[&str]) {
    let path = repo(file);
    let mut args = vec!["import", kind, path.to_str().unwrap(), "--data-dir", dir];
    args.extend_from_slice(extra);
    succeed(&args);
}

struct Ledger {
    service: Service,
    serial: u32,
}

impl Ledger {
    async fn call(&mut self, infno: &str, input: Value) -> Value {
        self.serial += 1;
        let body = json!({ "infno": infno, "msgid": format!("{HOSPITAL}20260301100000{:06}", self.serial),
                           "fixmedins_code": HOSPITAL, "insuplc_admdvs": "360400", "mdtrtarea_admvs": "360400",
                           "input": input });
        let meta = CallMeta {
            gateway: None,
            path_infno: None,
            body_error: None,
        };
        let reply: Value =
            serde_json::from_str(&self.service.call(body.to_string().as_bytes(), meta).await)
                .unwrap();
        assert_eq!(reply["infcode"], 0, "{infno}: {reply}");
        reply["output"].clone()
    }

    /// Registers, uploads two lines and settles an outpatient visit; returns `(mdtrt_id, setl_id)`.
    async fn visit(&mut self, psn_no: &str, insutype: &str, begntime: &str) -> (String, String) {
        let registered = self
            .call("2201", json!({ "data": { "psn_no": psn_no, "insutype": insutype, "begntime": begntime, "mdtrt_cert_type": "02", "ipt_otp_no": "OTP" } }))
            .await;
        let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_string();
        let line = |sn: &str, code: &str, amount: &str| {
            json!({ "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "chrg_bchno": "B1",
            "med_list_codg": code, "det_item_fee_sumamt": amount, "cnt": "1", "pric": amount, "fee_ocur_time": begntime })
        };
        self.call(
            "2204",
            json!({ "feedetail": [line("1", HBA1C, "40.00"), line("2", DRUG, "12.50")] }),
        )
        .await;
        let settled = self
            .call("2207", json!({ "data": { "psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_id": mdtrt_id, "med_type": "11",
                "medfee_sumamt": "52.50", "psn_setlway": "01", "insutype": insutype, "acct_used_flag": "0" } }))
            .await;
        (
            mdtrt_id,
            settled["setlinfo"]["setl_id"].as_str().unwrap().to_string(),
        )
    }
}

fn batches(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn sum(batches: &[RecordBatch], column: &str) -> i64 {
    batches
        .iter()
        .map(|b| {
            let values = b.column_by_name(column).unwrap();
            let values = values.as_any().downcast_ref::<Int64Array>().unwrap();
            values.iter().map(Option::unwrap).sum::<i64>()
        })
        .sum()
}

fn texts(batches: &[RecordBatch], column: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let values = b.column_by_name(column).unwrap();
            let values = values.as_any().downcast_ref::<StringArray>().unwrap();
            (0..values.len())
                .map(|i| values.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_year_of_the_ledger_is_exported_as_parquet() {
    let dir = std::env::temp_dir().join(format!("yibao-export-parquet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let data_dir = data.to_str().unwrap().to_string();
    import(&data_dir, "policy", "policies/jiujiang.toml", &[]);
    import(
        &data_dir,
        "catalog",
        "catalogs/jiujiang-sample.csv",
        &["--as-of", "2020-01-01"],
    );
    import(
        &data_dir,
        "institutions",
        "crates/server/tests/data/institutions.csv",
        &[],
    );
    import(
        &data_dir,
        "persons",
        "crates/server/tests/data/persons.csv",
        &["--as-of", "2020-01-01"],
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let year = runtime.block_on(async {
        let config = Config {
            data_dir: data.clone(),
            ..Config::default()
        };
        let running = yibao_server::app::spawn_stoppable(config).await.unwrap();
        let mut ledger = Ledger {
            service: running.service.clone(),
            serial: 0,
        };
        let now = chrono::Local::now().naive_local();
        let begntime = (now - chrono::Duration::hours(2))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        ledger.visit("P0001", "390", &begntime).await;
        ledger.visit("P0004", "390", &begntime).await;
        let (mdtrt_id, setl_id) = ledger.visit("P0002", "310", &begntime).await;
        ledger
            .call(
                "2208",
                json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "P0002" } }),
            )
            .await;
        drop(ledger);
        running.stop().await;
        chrono::Datelike::year(&now)
    });

    let out = dir.join("parquet");
    let year_text = year.to_string();
    let stderr = succeed(&[
        "export",
        "parquet",
        "--year",
        &year_text,
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        &data_dir,
    ]);
    assert!(stderr.contains("settlements.parquet: 4 rows"), "{stderr}");

    // What the ledger holds.
    let (entries, funds, lines) = runtime.block_on(async {
        let store = yibao_ledger::Store::open_data_dir(&data).await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let entries = entries::entries(&mut conn, &EntryFilter::default())
            .await
            .unwrap();
        let mut funds = Vec::new();
        let mut lines = Vec::new();
        for entry in &entries {
            funds.extend(
                entries::funds_of(&mut conn, &entry.header.setl_id)
                    .await
                    .unwrap(),
            );
            lines.extend(
                entries::lines_of(&mut conn, &entry.header.setl_id)
                    .await
                    .unwrap(),
            );
        }
        drop(conn);
        store.close().await;
        (entries, funds, lines)
    });
    assert_eq!(entries.len(), 4);

    let settlements = batches(&out.join("settlements.parquet"));
    assert_eq!(rows(&settlements), entries.len());
    let medfee: i64 = entries.iter().map(|e| e.amounts.medfee_sumamt.fen()).sum();
    let fund_pay: i64 = entries
        .iter()
        .map(|e| e.amounts.fund_pay_sumamt.fen())
        .sum();
    assert_eq!(sum(&settlements, "medfee_sumamt_fen"), medfee);
    assert_eq!(sum(&settlements, "fund_pay_sumamt_fen"), fund_pay);
    // The cancelled visit's settlement and its mirror: 52.50 × 3 live visits, the fourth netted.
    assert_eq!(medfee, 3 * 5_250 - 5_250);
    let kinds = texts(&settlements, "kind");
    assert_eq!(
        kinds.iter().filter(|k| *k == "settle").count(),
        3,
        "{kinds:?}"
    );

    let fund_rows = batches(&out.join("funds.parquet"));
    assert_eq!(rows(&fund_rows), funds.len());
    let fund_paid: i64 = funds.iter().map(|f| f.row.fund_payamt.fen()).sum();
    assert_eq!(sum(&fund_rows, "fund_payamt_fen"), fund_paid);
    assert_eq!(fund_paid, fund_pay);

    let fee_lines = batches(&out.join("fee_lines.parquet"));
    assert_eq!(rows(&fee_lines), lines.len());
    assert_eq!(lines.len(), 8);
    let line_total: i64 = lines
        .iter()
        .map(|l| l.amounts.det_item_fee_sumamt.fen())
        .sum();
    assert_eq!(sum(&fee_lines, "det_item_fee_sumamt_fen"), line_total);
    let inscp: i64 = lines.iter().map(|l| l.amounts.inscp_scp_amt.fen()).sum();
    assert_eq!(sum(&fee_lines, "inscp_scp_amt_fen"), inscp);
    let codes = texts(&fee_lines, "med_list_codg");
    assert_eq!(codes.iter().filter(|c| *c == DRUG).count(), 4, "{codes:?}");

    let visits = batches(&out.join("visits.parquet"));
    assert_eq!(rows(&visits), 3);

    let empty = dir.join("empty");
    let earlier = (year - 1).to_string();
    let stderr = succeed(&[
        "export",
        "parquet",
        "--year",
        &earlier,
        "--out",
        empty.to_str().unwrap(),
        "--data-dir",
        &data_dir,
    ]);
    assert!(stderr.contains("settlements.parquet: 0 rows"), "{stderr}");
    assert_eq!(rows(&batches(&empty.join("visits.parquet"))), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
