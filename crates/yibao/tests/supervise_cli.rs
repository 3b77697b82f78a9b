//! `yibao supervise`: agreements, practitioners and card suspensions recorded by the command on the
//! ledger of a running service (another process's view of the same database) are seen by the
//! service within its refresh interval; bad fields are refused naming them; lists and the credit
//! rating print one JSON line per item.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use yibao_server::config::Config;
use yibao_server::service::{CallMeta, Service};

const HOSPITAL: &str = "H36040200001";
const DRUG: &str = "XJ01CAA040A001010101791";

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

fn ok_lines(args: &[&str]) -> Vec<Value> {
    let out = yibao(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn import(dir: &str, kind: &str, file: &str, extra: &[&str]) {
    let path = repo(file);
    let mut args = vec!["import", kind, path.to_str().unwrap(), "--data-dir", dir];
    args.extend_from_slice(extra);
    let out = yibao(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn call(service: &Service, serial: &mut u32, infno: &str, input: Value) -> Value {
    *serial += 1;
    let body = json!({ "infno": infno, "msgid": format!("{HOSPITAL}20260301100000{:06}", serial),
                       "fixmedins_code": HOSPITAL, "insuplc_admdvs": "360400", "mdtrtarea_admvs": "360400",
                       "input": input });
    let meta = CallMeta {
        gateway: None,
        path_infno: None,
        body_error: None,
    };
    serde_json::from_str(&service.call(body.to_string().as_bytes(), meta).await).unwrap()
}

fn registration() -> Value {
    json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": "2026-03-01 09:00:00",
                      "mdtrt_cert_type": "02", "ipt_otp_no": "OTP" } })
}

/// Calls until the reply's `infcode` is `infcode` (the service reloads within seconds); `input`
/// makes each attempt's message.
async fn until(
    service: &Service,
    serial: &mut u32,
    infno: &str,
    input: impl Fn(u32) -> Value,
    infcode: i64,
) -> Value {
    let started = Instant::now();
    loop {
        let reply = call(service, serial, infno, input(*serial)).await;
        if reply["infcode"] == infcode || started.elapsed() > Duration::from_secs(10) {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn the_service_sees_what_the_command_records() {
    let dir = std::env::temp_dir().join(format!("yibao-supervise-{}", std::process::id()));
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
    let today = chrono::Local::now().date_naive().to_string();
    let supervise = |args: &[&str]| {
        let mut all = vec!["supervise"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", &data_dir]);
        ok_lines(&all)
    };

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = Config {
            data_dir: data.clone(),
            ..Config::default()
        };
        let running = yibao_server::app::spawn_stoppable(config).await.unwrap();
        let service = running.service.clone();
        let mut serial = 0;
        let registered = call(&service, &mut serial, "2201", registration()).await;
        assert_eq!(registered["infcode"], 0, "{registered}");
        let mdtrt_id = registered["output"]["data"]["mdtrt_id"].as_str().unwrap().to_string();

        let added = supervise(&["practitioner", "add", "--dr-code", "D001", "--dr-name", "张医生", "--fixmedins-code", HOSPITAL, "--operator", "稽核科"]);
        assert_eq!(added[0]["standing"], "good");
        let given = supervise(&["practitioner", "points", "D001", "--points", "12", "--occurred", &today, "--reason", "虚构项目", "--operator", "稽核科"]);
        assert_eq!(given[0]["standing"], "terminated");
        let fee = |attempt: u32| json!({ "feedetail": [{ "feedetl_sn": attempt.to_string(), "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "med_list_codg": DRUG,
            "det_item_fee_sumamt": "10.00", "cnt": "1", "pric": "10.00", "bilg_dr_codg": "D001" }] });
        let refused = until(&service, &mut serial, "2204", fee, -1).await;
        let err = refused["err_msg"].as_str().unwrap();
        assert!(err.contains("input.feedetail[0].bilg_dr_codg") && err.contains("已终止"), "{err}");

        supervise(&["agreement", "add", "--fixmedins-code", HOSPITAL, "--status", "terminated", "--begndate", &today, "--reason", "骗保", "--doc-no", "浔医保〔2026〕5号", "--operator", "稽核科"]);
        let refused = until(&service, &mut serial, "2201", |_| registration(), -1).await;
        let err = refused["err_msg"].as_str().unwrap();
        assert!(err.contains("起解除") && err.contains("浔医保〔2026〕5号"), "{err}");
        drop(service);
        running.stop().await;
    });

    let listed = supervise(&["agreement", "list"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status_name"], "解除");
    let card = supervise(&[
        "card",
        "suspend",
        "P0001",
        "--begndate",
        &today,
        "--enddate",
        &today,
        "--reason",
        "骗保",
        "--doc-no",
        "D9",
        "--operator",
        "稽核科",
    ]);
    assert_eq!(card[0]["enddate"], today.as_str());
    assert_eq!(supervise(&["card", "list", "P0001"]).len(), 1);
    let ratings = supervise(&["credit", "--year", "2026", "--admdvs", "360402"]);
    assert_eq!(ratings.len(), 3);
    assert!(ratings
        .iter()
        .all(|r| r["grade"] == "A" && r["score"] == 1000));

    let bad = yibao(&[
        "supervise",
        "agreement",
        "add",
        "--fixmedins-code",
        HOSPITAL,
        "--status",
        "suspended",
        "--begndate",
        "2026-13-01",
        "--reason",
        "r",
        "--doc-no",
        "d",
        "--operator",
        "o",
        "--data-dir",
        &data_dir,
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("begndate"));
    let _ = std::fs::remove_dir_all(&dir);
}
