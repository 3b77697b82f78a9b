//! `yibao reimburse` against a `yibao serve` child on SQLite: the receipt as text, the same invoice
//! again (the same receipt), `--cancel`, a refusal naming the field, `--show` and `--list`, and
//! `yibao verify` after.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const TOKEN: &str = "cli-test-token";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn yibao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .env("YIBAO_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("yibao runs")
}

fn ok(args: &[&str]) -> String {
    let out = yibao(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "yibao {args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The server child, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(data: &str, listen: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["serve", "--data-dir", data, "--listen", listen])
        .env("YIBAO_ADMIN_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("yibao serve starts");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(listen).is_err() {
        assert!(Instant::now() < deadline, "yibao serve did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

#[test]
fn reimburse_prints_the_receipt_and_cancels() {
    let dir = std::env::temp_dir().join(format!("yibao-reimburse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let data = data.to_str().unwrap();
    let policy = repo("policies/jiujiang.toml");
    let catalog = repo("catalogs/jiujiang-sample.csv");
    let persons = repo("crates/server/tests/data/persons.csv");
    ok(&[
        "import",
        "policy",
        policy.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    ok(&[
        "import",
        "catalog",
        catalog.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    ok(&[
        "import",
        "persons",
        persons.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    let invoice = dir.join("invoice.json");
    std::fs::write(
        &invoice,
        r#"{ "psn_no": "P0001", "insutype": "390", "medins_admdvs": "440106",
        "medins_name": "广州某三甲医院", "hosp_lv": "1", "med_type": "21",
        "begntime": "2026-03-02 08:00:00", "endtime": "2026-03-09 10:00:00",
        "invono": "FP-CLI-1", "operator": "柜员01",
        "lines": [
          { "med_list_codg": "003306000010000", "name": "经皮冠状动脉支架置入术", "cnt": 1,
            "pric": "8000.00", "det_item_fee_sumamt": "8000.00" },
          { "name": "病历复印费", "cnt": 1, "pric": "5.00", "det_item_fee_sumamt": "5.00" } ] }"#,
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{listen}");
    let server = serve(data, &listen);
    let file = invoice.to_str().unwrap();
    // (8000.00 − 800.00) × 40 % = 2880.00; the line without a code is 全自费.
    let receipt = ok(&["reimburse", file, "--url", &url]);
    assert!(receipt.starts_with("零星报销结算单"), "{receipt}");
    assert!(receipt.contains("hifp_pay 2880.00"), "{receipt}");
    assert!(
        receipt.contains("病历复印费 金额 5.00 全自费 5.00"),
        "{receipt}"
    );
    assert_eq!(ok(&["reimburse", file, "--url", &url]), receipt);
    let json = ok(&["reimburse", file, "--url", &url, "--json"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let setl_id = value["setl_id"].as_str().unwrap();
    let cancelled = ok(&["reimburse", "--cancel", setl_id, "--url", &url]);
    assert!(cancelled.contains("hifp_pay -2880.00"), "{cancelled}");
    assert!(
        cancelled.contains(&format!("撤销 {setl_id}")),
        "{cancelled}"
    );
    let again = yibao(&["reimburse", "--cancel", "123", "--url", &url]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("setl_id"));
    assert_eq!(
        ok(&["reimburse", "--show", setl_id, "--url", &url]),
        receipt
    );
    let register = ok(&["reimburse", "--list", "--psn-no", "P0001", "--url", &url]);
    let rows: Vec<&str> = register.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{register}");
    assert!(
        rows[0].starts_with(&format!("{setl_id}\tsettle\tP0001\tFP-CLI-1\t")),
        "{register}"
    );
    assert!(rows[1].contains("\tcancel\tP0001\t"), "{register}");
    assert!(rows[1].ends_with(setl_id), "{register}");
    let refused = yibao(&["reimburse", "--list", "--from", "2026-02-30", "--url", &url]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("参数 from 有误"));
    drop(server);
    ok(&["verify", "--data-dir", data]);
    let _ = std::fs::remove_dir_all(&dir);
}
