//! `yibao audit run --month` over the ledger: visits settled through the service (in process) are
//! audited with their history, a cancelled settlement is not, the findings are written as in file
//! mode and stored (a second run replaces them), and a bad month is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use yibao_server::config::Config;
use yibao_server::service::{CallMeta, Service};

const HOSPITAL: &str = "H36040200001";
const CERVICAL: &str = "003105000010000";
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

    /// Registers, uploads one line and settles an outpatient visit begun `begntime`; returns
    /// `(mdtrt_id, setl_id, setl_time)`.
    async fn visit(
        &mut self,
        psn_no: &str,
        insutype: &str,
        begntime: &str,
        code: &str,
    ) -> (String, String, String) {
        let registered = self
            .call("2201", json!({ "data": { "psn_no": psn_no, "insutype": insutype, "begntime": begntime, "mdtrt_cert_type": "02", "ipt_otp_no": "OTP" } }))
            .await;
        let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_string();
        self.call("2204", json!({ "feedetail": [{ "feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": psn_no,
            "chrg_bchno": "B1", "med_list_codg": code, "medins_list_codg": code, "det_item_fee_sumamt": "40.00",
            "cnt": "1", "pric": "40.00", "fee_ocur_time": begntime, "hosp_appr_flag": "1", "bilg_dr_codg": "D001" }] }))
            .await;
        let settled = self
            .call("2207", json!({ "data": { "psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_id": mdtrt_id, "med_type": "11",
                "medfee_sumamt": "40.00", "psn_setlway": "01", "insutype": insutype, "acct_used_flag": "0" } }))
            .await;
        let setlinfo = &settled["setlinfo"];
        (
            mdtrt_id,
            setlinfo["setl_id"].as_str().unwrap().to_string(),
            setlinfo["setl_time"].as_str().unwrap().to_string(),
        )
    }
}

fn findings(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn flagged(findings: &[Value], id: &str, mdtrt_id: &str) -> bool {
    findings.iter().any(|f| {
        f["id"] == id
            && f["mdtrt_ids"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == mdtrt_id)
    })
}

/// A fresh ledger in `dir/data` holding the shipped policy, the sample catalogue and the test
/// institutions and persons: its directory, as a path and as text.
fn registered_ledger(dir: &Path) -> (PathBuf, String) {
    let _ = std::fs::remove_dir_all(dir);
    let data = dir.join("data");
    let data_dir = data.to_str().unwrap().to_string();
    import(&data_dir, "policy", "policies/jiujiang.toml", &[]);
    let as_of = ["--as-of", "2020-01-01"];
    import(&data_dir, "catalog", "catalogs/jiujiang-sample.csv", &as_of);
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
        &as_of,
    );
    (data, data_dir)
}

#[test]
fn a_month_of_the_ledger_is_audited_and_its_findings_stored() {
    let dir = std::env::temp_dir().join(format!("yibao-audit-month-{}", std::process::id()));
    let (data, data_dir) = registered_ledger(&dir);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (man, cancelled, first, second, month) = runtime.block_on(async {
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
        let at = |hours: i64| (now - chrono::Duration::hours(hours)).format("%Y-%m-%d %H:%M:%S").to_string();
        let man = ledger.visit("P0001", "390", &at(3), CERVICAL).await;
        let cancelled = ledger.visit("P0002", "310", &at(3), CERVICAL).await;
        ledger
            .call("2208", json!({ "data": { "setl_id": cancelled.1, "mdtrt_id": cancelled.0, "psn_no": "P0002" } }))
            .await;
        let first = ledger.visit("P0004", "390", &at(48), HBA1C).await;
        let second = ledger.visit("P0004", "390", &at(2), HBA1C).await;
        drop(ledger);
        running.stop().await;
        let month = second.2[..7].to_string();
        (man.0, cancelled.0, first.0, second.0, month)
    });

    let out = dir.join("findings.jsonl");
    let audit_month = [
        "audit",
        "run",
        "--month",
        &month,
        "--data-dir",
        &data_dir,
        "--out",
        out.to_str().unwrap(),
    ];
    let run = yibao(&audit_month);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let found = findings(&out);
    assert!(flagged(&found, "JJ-R01C", &man), "{found:?}");
    assert!(
        !found.iter().any(|f| f["mdtrt_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == &cancelled)),
        "{found:?}"
    );
    assert!(flagged(&found, "JJ-R10", &second), "{found:?}");
    assert!(!flagged(&found, "JJ-R10", &first), "{found:?}");
    let row = found.iter().find(|f| f["id"] == "JJ-R01C").unwrap();
    assert_eq!(row["kind"], "rule");
    assert_eq!(row["psn_nos"], json!(["P0001"]));
    assert_eq!(row["fixmedins_codes"], json!([HOSPITAL]));
    assert!(row["reason"].as_str().unwrap().contains("性别"), "{row}");

    let stored = runtime.block_on(async {
        let store = yibao_ledger::Store::open_data_dir(&data).await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let stored = yibao_ledger::audit_claims::findings(&mut conn, &month)
            .await
            .unwrap();
        drop(conn);
        store.close().await;
        stored
    });
    assert_eq!(stored.len(), found.len());
    assert!(stored
        .iter()
        .any(|f| f.id == "JJ-R10" && f.mdtrt_ids == vec![second.clone()]));

    // Again: the same findings, stored once.
    let again = yibao(&audit_month);
    assert!(again.status.success());
    assert_eq!(findings(&out), found);
    // A month without settlements has no findings; a bad month is refused.
    let empty = yibao(&[
        "audit",
        "run",
        "--month",
        "2001-01",
        "--data-dir",
        &data_dir,
    ]);
    assert!(empty.status.success());
    assert!(empty.stdout.is_empty());
    let bad = yibao(&[
        "audit",
        "run",
        "--month",
        "2025-13",
        "--data-dir",
        &data_dir,
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--month 2025-13"));
    let mixed = yibao(&["audit", "run", "--month", &month, "--visits", "v.jsonl"]);
    assert!(!mixed.status.success());

    // The JJ-R10 finding becomes a case, confirmed as a deduction from the institution's payment.
    let finding_no = found.iter().position(|f| f["id"] == "JJ-R10").unwrap() + 1;
    let case = |args: &[&str]| -> Output {
        let mut all = vec!["case"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", &data_dir]);
        yibao(&all)
    };
    let json_of = |out: &Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let opened = json_of(&case(&[
        "open",
        "--month",
        &month,
        "--finding",
        &finding_no.to_string(),
        "--actor",
        "张三",
    ]));
    assert_eq!(opened["finding_id"], "JJ-R10");
    assert_eq!(opened["status"], "open");
    let id = opened["case_id"].as_str().unwrap().to_string();
    let confirm: Vec<&str> = vec![
        "confirm",
        &id,
        "--type",
        "审核扣款",
        "--amount",
        "40.00",
        "--insutype",
        "390",
        "--year",
        "2026",
        "--month",
        "12",
        "--actor",
        "王科长",
    ];
    let early = case(&confirm);
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("案件状态为已立案，不能确认"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    json_of(&case(&[
        "assign",
        &id,
        "--assignee",
        "李四",
        "--actor",
        "张三",
    ]));
    json_of(&case(&[
        "review",
        &id,
        "--actor",
        "李四",
        "--note",
        "15 日内重复检查",
        "--evidence",
        "检验报告两份",
    ]));
    let confirmed = json_of(&case(&confirm));
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["deduction_id"], format!("CASE-{id}"));
    let shown = json_of(&case(&["show", &id]));
    assert_eq!(shown["events"].as_array().unwrap().len(), 4);
    let listed = case(&["list", "--status", "confirmed"]);
    assert!(listed.status.success());
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file line of a visit the service settled (outpatient at `HOSPITAL`, one line of `code` at 40
/// yuan, no account payment), for `yibao audit run --visits`; `end` is the settlement time, the
/// end the ledger gives a visit without a discharge.
fn file_visit(person: &[&str], mdtrt_id: &str, begin: &str, end: &str, code: &str) -> String {
    let [psn_no, gend, brdy, insutype, psn_type] = person else {
        panic!("psn_no, gend, brdy, insutype, psn_type");
    };
    json!({ "mdtrt_id": mdtrt_id, "psn_no": psn_no, "insutype": insutype, "psn_type": psn_type,
            "gend": gend, "brdy": brdy, "idet": [], "cvlserv_flag": "0", "med_type": "11",
            "begntime": begin, "endtime": end, "fixmedins_code": HOSPITAL, "hosp_lv": "3",
            "medins_admdvs": "360402", "insuplc_admdvs": "360400", "acct_used_flag": "0",
            "feedetail": [{ "feedetl_sn": "1", "med_list_codg": code, "cnt": "1", "pric": "40.00",
                            "det_item_fee_sumamt": "40.00", "hosp_appr_flag": "1", "bilg_dr_codg": "D001" }] })
    .to_string()
}

#[test]
fn the_file_mode_finds_what_the_month_mode_finds_for_the_same_visits() {
    let dir = std::env::temp_dir().join(format!("yibao-audit-modes-{}", std::process::id()));
    let (data, data_dir) = registered_ledger(&dir);
    let man = ["P0001", "1", "1960-05-01", "390", "16"];
    let woman = ["P0004", "2", "1988-08-08", "390", "16"];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lines = runtime.block_on(async {
        let running = yibao_server::app::spawn_stoppable(Config {
            data_dir: data.clone(),
            ..Config::default()
        })
        .await
        .unwrap();
        let mut ledger = Ledger {
            service: running.service.clone(),
            serial: 0,
        };
        let now = chrono::Local::now().naive_local();
        let at = |minutes: i64| {
            (now - chrono::Duration::minutes(minutes))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        let mut lines = Vec::new();
        for (person, minutes, code) in [
            (&man, 50, CERVICAL),
            (&woman, 40, HBA1C),
            (&woman, 30, HBA1C),
            (&woman, 20, CERVICAL),
        ] {
            let begin = at(minutes);
            let (mdtrt_id, _, setl_time) = ledger.visit(person[0], person[3], &begin, code).await;
            let line = file_visit(person, &mdtrt_id, &begin, &setl_time, code);
            lines.push((begin, line));
        }
        drop(ledger);
        running.stop().await;
        lines
    });
    let (first_begin, last_begin) = (&lines[0].0[..10], &lines[3].0[..10]);
    let month = &first_begin[..7];
    if &last_begin[..7] != month {
        eprintln!("the visits straddle a month boundary; compared at the next run");
        return;
    }
    let visits = dir.join("visits.jsonl");
    let text: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    std::fs::write(&visits, text.join("\n") + "\n").unwrap();
    let from = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").unwrap();
    let to = from + chrono::Months::new(1) - chrono::Duration::days(1);
    let (from, to) = (from.to_string(), to.to_string());
    let by_month = dir.join("by-month.jsonl");
    let by_file = dir.join("by-file.jsonl");
    let month_run = yibao(&[
        "audit",
        "run",
        "--month",
        month,
        "--data-dir",
        &data_dir,
        "--out",
        by_month.to_str().unwrap(),
    ]);
    assert!(
        month_run.status.success(),
        "{}",
        String::from_utf8_lossy(&month_run.stderr)
    );
    let persons = repo("crates/server/tests/data/persons.csv");
    let (policy, catalog) = (
        repo("policies/jiujiang.toml"),
        repo("catalogs/jiujiang-sample.csv"),
    );
    let file_run = yibao(&[
        "audit",
        "run",
        "--visits",
        visits.to_str().unwrap(),
        "--persons",
        persons.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        by_file.to_str().unwrap(),
    ]);
    assert!(
        file_run.status.success(),
        "{}",
        String::from_utf8_lossy(&file_run.stderr)
    );
    let found = findings(&by_month);
    assert!(found.len() >= 2, "{found:?}");
    assert_eq!(findings(&by_file), found);
    let _ = std::fs::remove_dir_all(&dir);
}
