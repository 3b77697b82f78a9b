//! DRG paid from the ledger, black-box, on SQLite and PostgreSQL: four inpatient stays settled
//! through the real service over HTTP (2401 with diagnoses → 2301 → 2304 → 2402), then
//! `yibao drg review request`, `yibao drg month` for the twelve months, the year-end refused while a
//! review is pending, the review approved through the admin API, `yibao drg year-end`; statements
//! checked (病案校验 failure listed with its reason, prepayment, bed-day points, entitlement +
//! others' payments = points × point value, clearing), re-runs identical and posting nothing twice,
//! the admin API showing the posted statements, `yibao verify` passing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde_json::{json, Value};
use sqlx::Connection;
use yibao_domain::Fen;
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";
const ADMIN_TOKEN: &str = "drg-ledger-admin";
/// A bed-day of the sample catalogue (40.00 each).
const BED: &str = "001201000010000";
/// A class-A drug of the sample catalogue (no price cap).
const DRUG: &str = "XJ01CAA040A001010101791";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pg_base_url() -> String {
    std::env::var("YIBAO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// A fresh database URL, scratch directory and (PostgreSQL) schema.
async fn fresh_database(postgres: bool) -> (String, PathBuf, Option<String>) {
    let dir = std::env::temp_dir().join(unique("yibao-drg-ledger"));
    std::fs::create_dir_all(&dir).unwrap();
    if !postgres {
        let url = format!("sqlite://{}?mode=rwc", dir.join("yibao.db").display());
        return (url, dir, None);
    }
    sqlx::any::install_default_drivers();
    let schema = unique("t_drg_ledger");
    let mut admin = sqlx::AnyConnection::connect(&pg_base_url())
        .await
        .expect("PostgreSQL is reachable (YIBAO_TEST_PG_URL)");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = pg_base_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    (
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        dir,
        Some(schema),
    )
}

struct Server {
    running: yibao_server::app::Running,
    base: String,
    client: reqwest::Client,
    serial: std::cell::Cell<u64>,
}

impl Server {
    async fn start(database: &str, dir: &Path) -> Server {
        let config = Config {
            database: database.to_string(),
            data_dir: dir.to_path_buf(),
            auth: AuthMode::None,
            admin_token: ADMIN_TOKEN.into(),
            ..Config::default()
        };
        let running = yibao_server::app::spawn_stoppable(config)
            .await
            .expect("server starts");
        let server = Server {
            base: format!("http://{}", running.addr),
            running,
            client: reqwest::Client::new(),
            serial: std::cell::Cell::new(0),
        };
        server.load_fixtures().await;
        server
    }

    async fn admin(&self, method: &str, path: &str, body: String) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "PUT" => self.client.put(url),
            "POST" => self.client.post(url),
            _ => self.client.get(url),
        };
        let response = request
            .body(body)
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn admin_ok(&self, method: &str, path: &str, body: String) -> Value {
        let (status, reply) = self.admin(method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {reply}");
        reply
    }

    async fn load_fixtures(&self) {
        let read = |path: &str| std::fs::read_to_string(repo_root().join(path)).unwrap();
        self.admin_ok("PUT", "/admin/policy", read("policies/jiujiang.toml"))
            .await;
        self.admin_ok(
            "PUT",
            "/admin/catalog/360400",
            read("catalogs/jiujiang-sample.csv"),
        )
        .await;
        let data = repo_root().join("crates/server/tests/data");
        let institutions = yibao_server::import::read_institutions_csv(
            std::fs::File::open(data.join("institutions.csv")).unwrap(),
        )
        .unwrap();
        self.admin_ok(
            "POST",
            "/admin/institutions",
            serde_json::to_string(&institutions).unwrap(),
        )
        .await;
        let mut reader = csv::Reader::from_path(data.join("persons.csv")).unwrap();
        let rows: Vec<yibao_server::import::PersonRow> =
            reader.deserialize().collect::<Result<_, _>>().unwrap();
        self.admin_ok(
            "POST",
            "/admin/persons",
            serde_json::to_string(&rows).unwrap(),
        )
        .await;
    }

    /// A national transaction that must succeed; returns `output`.
    async fn ok(&self, infno: &str, input: Value) -> Value {
        self.serial.set(self.serial.get() + 1);
        let msgid = format!("{HOSPITAL}{:017}", self.serial.get());
        let envelope = yibao_his::Envelope {
            mdtrtarea_admvs: "360400".into(),
            insuplc_admdvs: "360400".into(),
            recer_sys_code: "MBS_LOCAL".into(),
            opter: "001".into(),
            opter_name: "测试".into(),
            ..yibao_his::Envelope::default()
        };
        let body = serde_json::to_vec(&envelope.request(infno, &msgid, HOSPITAL, &input)).unwrap();
        let reply: Value = self
            .client
            .post(format!(
                "{}/fsi/api/rsfComIfsService/callService",
                self.base
            ))
            .header("content-type", "text/plain; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reply["infcode"], 0, "{infno} failed: {reply}");
        reply["output"].clone()
    }
}

/// One stay to settle.
struct Stay {
    psn_no: &'static str,
    insutype: &'static str,
    diagnosis: &'static str,
    bed_days: i64,
}

fn wire(time: NaiveDateTime) -> String {
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Admits, charges `bed_days` bed-days, settles and discharges; returns the final settlement's
/// `setl_id` and `hifp_pay` in fen.
async fn settle_stay(server: &Server, stay: &Stay, today: NaiveDate) -> (String, i64) {
    let begin = (today - Duration::days(stay.bed_days))
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let end = today.and_hms_opt(0, 0, 0).unwrap();
    let admitted = server
        .ok(
            "2401",
            json!({
                "mdtrtinfo": { "psn_no": stay.psn_no, "insutype": stay.insutype, "mdtrt_cert_type": "02",
                    "med_type": "21", "begntime": wire(begin), "dise_codg": stay.diagnosis },
                "diseinfo": [{ "psn_no": stay.psn_no, "diag_type": "1", "maindiag_flag": "1",
                    "diag_srt_no": "1", "diag_code": stay.diagnosis, "diag_name": "诊断" }],
            }),
        )
        .await;
    let mdtrt_id = admitted["result"]["mdtrt_id"].as_str().unwrap().to_string();
    let beds = format!("{}.00", stay.bed_days * 40);
    let fee_time = wire(begin + Duration::hours(1));
    server
        .ok(
            "2301",
            json!({ "feedetail": [
                fee_line("1", &mdtrt_id, stay.psn_no, BED, &stay.bed_days.to_string(), "40.00", &beds, &fee_time),
                fee_line("2", &mdtrt_id, stay.psn_no, DRUG, "10", "500.00", "5000.00", &fee_time),
            ] }),
        )
        .await;
    let amount = format!("{}.00", stay.bed_days * 40 + 5_000);
    let settled = server
        .ok(
            "2304",
            json!({ "data": { "psn_no": stay.psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": amount,
                "mid_setl_flag": "0", "insutype": stay.insutype, "acct_used_flag": "0",
                "dscgTime": wire(end) } }),
        )
        .await;
    server
        .ok(
            "2402",
            json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": stay.psn_no, "endtime": wire(end),
                "dise_codg": stay.diagnosis, "dscg_way": "1" } }),
        )
        .await;
    let setlinfo = &settled["setlinfo"];
    let hifp = Fen::parse_yuan(&yuan_text(&setlinfo["hifp_pay"])).unwrap();
    (
        setlinfo["setl_id"].as_str().unwrap().to_string(),
        hifp.fen(),
    )
}

#[allow(clippy::too_many_arguments)]
fn fee_line(
    sn: &str,
    mdtrt_id: &str,
    psn_no: &str,
    code: &str,
    cnt: &str,
    pric: &str,
    amount: &str,
    time: &str,
) -> Value {
    json!({
        "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1",
        "med_list_codg": code, "medins_list_codg": code, "det_item_fee_sumamt": amount,
        "cnt": cnt, "pric": pric, "fee_ocur_time": time, "hosp_appr_flag": "1",
    })
}

fn yuan_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn yibao(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .current_dir(repo_root())
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

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The test's DRG policy: base points for the stays' DRGs, 3.2 points a bed-day for TR19.
fn write_policy(dir: &Path, year: i32) -> PathBuf {
    let path = dir.join("drg-policy.toml");
    let text = format!(
        "region = \"测试\"\nyear = {year}\n[base_points]\npoints_per_weight = \"100\"\n\
         overrides = {{ ES35 = \"80\", BR25 = \"150\" }}\n[standard_cost]\nyuan_per_point = \"10\"\n\
         [bed_day]\ndaily_points = {{ TR19 = \"3.2\" }}\n\
         [settlement]\ndrg_budget = \"100000.00\"\nreserve_ratio = \"0.05\"\nprepayment_ratio = \"0.90\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

async fn book_rows(database: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(database).await.unwrap();
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM book_postings")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

fn fen(value: &Value) -> i64 {
    Fen::parse_yuan(value.as_str().unwrap()).unwrap().fen()
}

async fn drg_from_the_ledger(postgres: bool, rules: &Path) {
    sqlx::any::install_default_drivers();
    let (database, dir, schema) = fresh_database(postgres).await;
    let server = Server::start(&database, &dir).await;
    let today = chrono::Local::now().date_naive();
    let (year, month) = (today.year(), today.month());
    let stays = [
        Stay {
            psn_no: "P0001",
            insutype: "390",
            diagnosis: "J18.900",
            bed_days: 8,
        },
        Stay {
            psn_no: "P0003",
            insutype: "390",
            diagnosis: "I63.900",
            bed_days: 6,
        },
        Stay {
            psn_no: "P0005",
            insutype: "390",
            diagnosis: "F20.000",
            bed_days: 8,
        },
        Stay {
            psn_no: "P0002",
            insutype: "310",
            diagnosis: "O80.000",
            bed_days: 3,
        },
    ];
    let mut settled = Vec::new();
    for stay in &stays {
        settled.push(settle_stay(&server, stay, today).await);
    }
    let policy = write_policy(&dir, year);
    let setup = |extra: &[&str]| {
        let mut args = strings(extra);
        args.extend(strings(&["--policy"]));
        args.push(policy.display().to_string());
        args.extend(strings(&["--rules"]));
        args.push(rules.display().to_string());
        args.extend(strings(&[
            "--version",
            "chs_drg_11",
            "--format",
            "json",
            "--database",
        ]));
        args.push(database.clone());
        args
    };
    let as_of = format!("{}-01-01", year + 1);

    let requested = stdout(&yibao(
        &[
            strings(&[
                "drg",
                "review",
                "request",
                "--setl-id",
                &settled[1].0,
                "--note",
                "多病种",
                "--database",
            ]),
            vec![database.clone()],
        ]
        .concat(),
    ));
    assert!(
        requested.contains("\"reason\":\"requested\""),
        "{requested}"
    );

    let month_text = format!("{year}-{month:02}");
    let mut month_output = String::new();
    for m in 1..=12 {
        let text = format!("{year}-{m:02}");
        let output = stdout(&yibao(&setup(&[
            "drg", "month", "--month", &text, "--as-of", &as_of,
        ])));
        if text == month_text {
            month_output = output;
        }
    }
    let months: Value = serde_json::from_str(&month_output).unwrap();
    let months = months.as_array().unwrap();
    assert_eq!(months.len(), 2, "{month_output}");
    let (workers, residents) = (&months[0], &months[1]);
    assert_eq!(workers["insutype"], "310");
    assert_eq!(workers["cases"], 1);
    let failed = &workers["failed"][0];
    assert_eq!(failed["setl_id"], settled[3].0.as_str());
    assert_eq!(failed["problems"][0]["field"], "diseinfo[0].diag_code");
    assert!(
        failed["problems"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("仅适用于女性"),
        "{failed}"
    );
    assert_eq!(
        fen(&workers["prepayment"]),
        0,
        "a failed case is not prepaid"
    );
    assert_eq!(residents["cases"], 3);
    assert_eq!(residents["set_aside"][0]["setl_id"], settled[1].0.as_str());
    let fund_share: i64 = settled[..3].iter().map(|(_, hifp)| hifp).sum();
    assert!(fund_share > 0, "the stays cost more than the deductible");
    assert_eq!(fen(&residents["fund_share"]), fund_share);
    let prepayment = (fund_share * 9 + 5) / 10;
    assert_eq!(fen(&residents["prepayment"]), prepayment);

    let books = book_rows(&database).await;
    let again = stdout(&yibao(&setup(&[
        "drg",
        "month",
        "--month",
        &month_text,
        "--as-of",
        &as_of,
    ])));
    assert_eq!(
        again, month_output,
        "a month run again gives the same statements"
    );
    assert_eq!(book_rows(&database).await, books, "and posts nothing twice");

    let year_text = year.to_string();
    let refused = yibao(&setup(&["drg", "year-end", "--year", &year_text]));
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("尚未审核") && message.contains(&settled[1].0),
        "{message}"
    );

    let (status, reply) = server
        .admin(
            "POST",
            &format!("/admin/drg/reviews/{}/approve", settled[1].0),
            json!({ "amount": "500.00", "points": "10" }).to_string(),
        )
        .await;
    assert_eq!(status, 400, "an amount or points, not both: {reply}");
    let approved = server
        .admin_ok(
            "POST",
            &format!("/admin/drg/reviews/{}/approve", settled[1].0),
            json!({ "amount": "500.00", "note": "同意" }).to_string(),
        )
        .await;
    assert_eq!(approved["review"]["status"], "approved");
    let (status, reply) = server
        .admin(
            "POST",
            "/admin/drg/reviews/nope/approve",
            json!({ "amount": "1" }).to_string(),
        )
        .await;
    assert_eq!(status, 404, "{reply}");

    let listed = stdout(&yibao(
        &[
            strings(&["drg", "review", "list", "--year", &year_text, "--database"]),
            vec![database.clone()],
        ]
        .concat(),
    ));
    let items: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        items[0]["drg"], "BR25",
        "a requested item gets its DRG when its month is run"
    );
    assert_eq!(items[0]["amount"], "500.00");

    let end_output = stdout(&yibao(&setup(&["drg", "year-end", "--year", &year_text])));
    let ends: Value = serde_json::from_str(&end_output).unwrap();
    let resident_end = &ends[1];
    assert_eq!(
        resident_end["points"], "105.6000",
        "ES35 80 + TR19 8 days × 3.2"
    );
    assert_eq!(fen(&resident_end["reviewed"]), 50_000);
    assert_eq!(fen(&resident_end["prepaid"]), prepayment);
    let (gross, others, entitled) = (
        fen(&resident_end["gross"]),
        fen(&resident_end["others_paid"]),
        fen(&resident_end["entitlement"]),
    );
    assert!(gross > others);
    assert_eq!(entitled + others, gross);
    assert_eq!(
        entitled, 9_500_000,
        "one institution × scheme earns all the distributable budget"
    );
    assert_eq!(
        fen(&resident_end["clearing"]),
        entitled + 50_000 - prepayment
    );
    assert_eq!(fen(&ends[0]["clearing"]), 0);
    let books = book_rows(&database).await;
    let again = stdout(&yibao(&setup(&["drg", "year-end", "--year", &year_text])));
    assert_eq!(again, end_output);
    assert_eq!(book_rows(&database).await, books);

    let (status, reply) = server
        .admin(
            "POST",
            &format!("/admin/drg/reviews/{}/reject", settled[1].0),
            "{}".into(),
        )
        .await;
    assert_eq!(status, 409, "a cleared year takes no decision: {reply}");
    let shown = server
        .admin_ok(
            "GET",
            &format!("/admin/drg/statements/{HOSPITAL}?year={year}"),
            String::new(),
        )
        .await;
    assert_eq!(
        shown["year_end"], ends,
        "the workbench shows the posted year-end"
    );
    assert_eq!(shown["months"][0], months[0]);
    let verified = yibao(&[strings(&["verify", "--database"]), vec![database.clone()]].concat());
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let mut conn = sqlx::AnyConnection::connect(&database).await.unwrap();
    sqlx::query(
        "DELETE FROM book_postings WHERE substr(batch, 1, 4) = 'drg:' AND flow = 'provider_paid'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let tampered = yibao(&[strings(&["verify", "--database"]), vec![database.clone()]].concat());
    let report = String::from_utf8_lossy(&tampered.stdout);
    assert!(!tampered.status.success(), "{report}");
    assert!(
        report.contains(&format!("drg:{HOSPITAL}:390:{month_text}")),
        "verify names the batch: {report}"
    );
    server.running.stop().await;
    if let Some(schema) = schema {
        let mut admin = sqlx::AnyConnection::connect(&pg_base_url()).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn drg_is_paid_from_the_ledger_on_sqlite() {
    let Some(rules) = yibao_testdata::chs_drg() else {
        return;
    };
    drg_from_the_ledger(false, &rules).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drg_is_paid_from_the_ledger_on_postgres() {
    let Some(rules) = yibao_testdata::chs_drg() else {
        return;
    };
    drg_from_the_ledger(true, &rules).await;
}
