//! Two pooling regions of a province in two PostgreSQL databases behind one front (issue 11 §1,
//! `[[regions]]`): 九江 (360400) and 南昌 (360100), each database created by the test and dropped
//! afterwards. Hospitals send every message to the front over HTTP; each is stored in the database
//! of the person's insured region — 九江's insured at a 南昌 hospital too (in-province care: 南昌's
//! catalogue, 九江's policy, 九江's ledger) — with ids issued by that region, and each database
//! verifies and knows only its own insured.

use crate::common;

use common::{pg_base_url, repo_root};
use serde_json::{json, Value};
use sqlx::Connection;
use yibao_domain::Fen;
use yibao_his::{Envelope, FeeLine, HttpTransport, Visit};
use yibao_ledger::Store;
use yibao_server::config::{Config, RegionDatabase};
use yibao_server::region_front::{spawn_front, RunningFront};

const JJ_HOSPITAL: &str = "H36040200001";
const NC_HOSPITAL: &str = "H36010200001";
const DRUG: &str = "XJ01CAA040A001010101791";

/// Databases created for the test on the PostgreSQL server of `YIBAO_TEST_PG_URL`.
struct Databases {
    admin: sqlx::AnyConnection,
    names: Vec<String>,
}

impl Databases {
    async fn connect() -> Databases {
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyConnection::connect(&pg_base_url())
            .await
            .expect("PostgreSQL is reachable (YIBAO_TEST_PG_URL)");
        Databases {
            admin,
            names: Vec::new(),
        }
    }

    /// A new empty database; its URL.
    async fn create(&mut self, tag: &str) -> String {
        let name = format!("yibao_t_{tag}_{}", std::process::id());
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        sqlx::query(&drop).execute(&mut self.admin).await.unwrap();
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(&create).execute(&mut self.admin).await.unwrap();
        self.names.push(name.clone());
        let base = pg_base_url();
        let (server, _) = base.rsplit_once('/').expect("a URL with a database");
        format!("{server}/{name}")
    }

    async fn drop_all(mut self) {
        for name in &self.names {
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::query(&drop).execute(&mut self.admin).await.unwrap();
        }
    }
}

async fn admin(client: &reqwest::Client, url: &str, method: &str, path: &str, body: String) {
    let request = match method {
        "PUT" => client.put(format!("{url}{path}")),
        _ => client.post(format!("{url}{path}")),
    };
    let response = request
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
}

fn institution(code: &str, name: &str, admdvs: &str) -> Value {
    json!({ "fixmedins_code": code, "fixmedins_name": name, "fixmedins_type": "1", "hosp_lv": "3", "admdvs": admdvs })
}

fn person(psn_no: &str, certno: &str, insuplc_admdvs: &str) -> Value {
    json!({
        "psn_no": psn_no, "psn_cert_type": "01", "certno": certno, "psn_name": "测试",
        "gend": "1", "brdy": "1960-05-01", "insutype": "390", "psn_type": "16", "psn_insu_stas": "1",
        "psn_insu_date": "2010-01-01", "insuplc_admdvs": insuplc_admdvs, "cvlserv_flag": "0",
        "balc": "0", "idet": "",
    })
}

/// Each region's policy, catalogue, hospitals and insured, through its own service's admin API;
/// 九江's database also holds 南昌's hospital and catalogue (its insured are treated there).
async fn register(front: &RunningFront) {
    let client = reqwest::Client::new();
    let read = |path: &str| std::fs::read_to_string(repo_root().join(path)).unwrap();
    let catalog = read("catalogs/jiujiang-sample.csv");
    let jiujiang = front.region_url("360400").unwrap();
    admin(
        &client,
        &jiujiang,
        "PUT",
        "/admin/policy",
        read("policies/jiujiang.toml"),
    )
    .await;
    for region in ["360400", "360100"] {
        let path = format!("/admin/catalog/{region}");
        admin(&client, &jiujiang, "PUT", &path, catalog.clone()).await;
    }
    let both = json!([
        institution(JJ_HOSPITAL, "九江测试医院", "360402"),
        institution(NC_HOSPITAL, "南昌测试医院", "360102")
    ]);
    admin(
        &client,
        &jiujiang,
        "POST",
        "/admin/institutions",
        both.to_string(),
    )
    .await;
    let insured = json!([person("PJJ0001", "360402196005010011", "360402")]);
    admin(
        &client,
        &jiujiang,
        "POST",
        "/admin/persons",
        insured.to_string(),
    )
    .await;
    let nanchang = front.region_url("360100").unwrap();
    admin(
        &client,
        &nanchang,
        "PUT",
        "/admin/policy",
        read("policies/nanchang.toml"),
    )
    .await;
    admin(&client, &nanchang, "PUT", "/admin/catalog/360100", catalog).await;
    let own = json!([institution(NC_HOSPITAL, "南昌测试医院", "360102")]);
    admin(
        &client,
        &nanchang,
        "POST",
        "/admin/institutions",
        own.to_string(),
    )
    .await;
    let insured = json!([person("PNC0001", "360102196005010022", "360102")]);
    admin(
        &client,
        &nanchang,
        "POST",
        "/admin/persons",
        insured.to_string(),
    )
    .await;
}

/// An admission of `psn_no` at `hospital`, two days long, ended an hour ago: 10 × 20.00.
fn stay(psn_no: &str, hospital: &str, serial: u32) -> Visit {
    let now = chrono::Local::now().naive_local();
    let time = |at: chrono::NaiveDateTime| at.format("%Y-%m-%d %H:%M:%S").to_string();
    Visit {
        psn_no: psn_no.into(),
        insutype: "390".into(),
        med_type: "21".into(),
        begntime: time(now - chrono::Duration::days(2) + chrono::Duration::minutes(serial.into())),
        endtime: Some(time(now - chrono::Duration::hours(1))),
        fixmedins_code: hospital.into(),
        refl_flag: "0".into(),
        dise_codg: "K80.100".into(),
        feedetail: vec![FeeLine::priced("1", DRUG, 10, Fen(2_000))],
    }
}

/// Settles `visit` through the front as its hospital's HIS, the envelope naming the insured place
/// and the place of treatment; the `setl_id`.
async fn settle_through_front(front: &str, visit: &Visit, insured: &str, treating: &str) -> String {
    let envelope = Envelope {
        mdtrtarea_admvs: treating.into(),
        insuplc_admdvs: insured.into(),
        recer_sys_code: "MBS_LOCAL".into(),
        opter: "001".into(),
        opter_name: "测试".into(),
        ..Envelope::default()
    };
    let transport = HttpTransport::new(reqwest::Client::new(), front);
    let his = yibao_his::Client::new(transport, envelope);
    match his.settle_visit(visit).await {
        Ok(settled) => settled.setl_id,
        Err(failed) => panic!(
            "{} at {}: {}",
            visit.psn_no, visit.fixmedins_code, failed.error
        ),
    }
}

/// What one region's database holds: its ledger entries, whether it knows each person, and its
/// verification.
async fn holdings(url: &str, persons: &[&str]) -> (i64, Vec<bool>) {
    let store = Store::open(url).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let report = yibao_ledger::verify::verify(&mut conn).await.unwrap();
    assert!(report.problems.is_empty(), "{url}: {:#?}", report.problems);
    let entries = yibao_ledger::entries::entry_count(&mut conn).await.unwrap();
    let mut known = Vec::new();
    for psn_no in persons {
        let found = yibao_ledger::registry::person(&mut conn, psn_no)
            .await
            .unwrap();
        known.push(found.is_some());
    }
    drop(conn);
    store.close().await;
    (entries, known)
}

#[tokio::test]
async fn each_message_is_stored_in_its_insured_regions_database() {
    let mut databases = Databases::connect().await;
    let jiujiang_db = databases.create("jiujiang").await;
    let nanchang_db = databases.create("nanchang").await;
    let config = Config {
        admin_open: true,
        regions: vec![
            RegionDatabase {
                admdvs: "360400".into(),
                database_url: jiujiang_db.clone(),
            },
            RegionDatabase {
                admdvs: "360100".into(),
                database_url: nanchang_db.clone(),
            },
        ],
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = spawn_front(listener, &config).await.unwrap();
    register(&front).await;
    let url = format!("http://{}", front.addr);

    let at_home =
        settle_through_front(&url, &stay("PJJ0001", JJ_HOSPITAL, 0), "360402", "360402").await;
    let in_nanchang =
        settle_through_front(&url, &stay("PNC0001", NC_HOSPITAL, 1), "360102", "360102").await;
    let jj_in_nanchang =
        settle_through_front(&url, &stay("PJJ0001", NC_HOSPITAL, 2), "360402", "360102").await;
    assert!(at_home.starts_with("360400"), "issued by 九江: {at_home}");
    assert!(
        jj_in_nanchang.starts_with("360400"),
        "issued by 九江: {jj_in_nanchang}"
    );
    assert!(
        in_nanchang.starts_with("360100"),
        "issued by 南昌: {in_nanchang}"
    );
    front.stop().await;

    let persons = ["PJJ0001", "PNC0001"];
    assert_eq!(
        holdings(&jiujiang_db, &persons).await,
        (2, vec![true, false])
    );
    assert_eq!(
        holdings(&nanchang_db, &persons).await,
        (1, vec![false, true])
    );
    databases.drop_all().await;
}
