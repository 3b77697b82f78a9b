//! Direct settlement between two platforms (issue 11 §2), black-box over loopback: platform I
//! (九江, 360400) insures the persons of `tests/data`; platform T (440100, another province) treats
//! them at its hospital. T reaches I through a proxy that can drop the call, drop the answer or
//! delay it beyond T's timeout; either platform is stopped and started again between the phases.
//! Every path ends with both ledgers verifying, the day reconciled without a difference and no
//! settlement recorded twice or lost.

use crate::common;

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{
    bed_days, columns, fen, fresh_database, line, repo_root, scratch_dir, setl_id, yuan, Backend,
    Harness,
};
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_server::config::{Config, PeerConfig};
use yibao_server::peer::client::PeerClient;
use yibao_server::peer::reconcile;

const HOSPITAL: &str = "H44010600001";
const DRUG: &str = "XJ01CAA040A001010101791";
const KEY: &str = "t-and-i";
const SECRET: &str = "pair-secret";

/// The day the platforms record the settlements on (the treating platform's time of settlement).
fn today() -> String {
    chrono::Local::now().date_naive().to_string()
}

/// What the proxy does with the next calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Link {
    Pass = 0,
    /// The call never reaches I (answered 503).
    DropCall = 1,
    /// I acts on the call; its answer is lost (503).
    DropAnswer = 2,
    /// The next call waits beyond T's timeout, then reaches I; later calls pass.
    DelayOnce = 3,
}

struct Proxy {
    link: AtomicU8,
    target: Mutex<String>,
    client: reqwest::Client,
    calls: AtomicU64,
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    proxy.calls.fetch_add(1, Ordering::Relaxed);
    let link = proxy.link.load(Ordering::Relaxed);
    if link == Link::DropCall as u8 {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    // Forwarded on a task of its own: a call T gave up on still reaches I.
    let task = tokio::spawn(relay(Arc::clone(&proxy), link, uri, headers, body));
    task.await
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

async fn relay(
    proxy: Arc<Proxy>,
    link: u8,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if link == Link::DelayOnce as u8 {
        proxy.link.store(Link::Pass as u8, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let target = proxy.target.lock().unwrap().clone();
    let mut request = proxy
        .client
        .post(format!("{target}{}", uri.path()))
        .body(body.to_vec());
    for (name, value) in &headers {
        if name.as_str().starts_with("x-peer-") || name == "content-type" {
            request = request.header(name.as_str(), value.to_str().unwrap());
        }
    }
    let Ok(answer) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    if link == Link::DropAnswer as u8 {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    (StatusCode::from_u16(status.as_u16()).unwrap(), text).into_response()
}

async fn start_proxy(target: &str) -> (String, Arc<Proxy>) {
    let proxy = Arc::new(Proxy {
        link: AtomicU8::new(Link::Pass as u8),
        target: Mutex::new(target.to_string()),
        client: reqwest::Client::new(),
        calls: AtomicU64::new(0),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(Arc::clone(&proxy));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), proxy)
}

fn set(proxy: &Proxy, link: Link) {
    proxy.link.store(link as u8, Ordering::Relaxed);
}

fn peer(prefix: &str, url: &str) -> PeerConfig {
    PeerConfig {
        admdvs_prefix: prefix.into(),
        url: url.into(),
        access_key: KEY.into(),
        secret: SECRET.into(),
    }
}

fn insured_config(database: String, dir: std::path::PathBuf) -> Config {
    Config {
        database,
        data_dir: dir,
        platform_admdvs: "360400".into(),
        peers: vec![peer("44", "http://127.0.0.1:9")],
        clearing_policy: clearing_policy_path(),
        ..Config::default()
    }
}

/// The clearing policy both platforms run their months with (and apply a rejected one again with).
fn clearing_policy_path() -> std::path::PathBuf {
    repo_root().join("policies/clearing/jiangxi.toml")
}

fn treating_config(database: String, dir: std::path::PathBuf, proxy: &str) -> Config {
    Config {
        database,
        data_dir: dir,
        platform_admdvs: "440100".into(),
        peers: vec![peer("36", proxy)],
        peer_timeout_ms: 400,
        peer_attempts: 2,
        clearing_policy: clearing_policy_path(),
        ..Config::default()
    }
}

/// T's policy: 九江's numbers for region 440100, with the basic fund's code renamed, so that
/// I's 390100 is a fund T does not know (answered as 910100).
async fn load_treating(t: &Harness) {
    let policy = common::jiujiang_rules_at("440100").replace("390100", "390109");
    t.admin("PUT", "/admin/policy", policy).await;
    let catalog =
        std::fs::read_to_string(repo_root().join("catalogs/jiujiang-sample.csv")).unwrap();
    t.admin("PUT", "/admin/catalog/440100", catalog).await;
    let institutions = json!([{ "fixmedins_code": HOSPITAL, "fixmedins_name": "广州测试医院", "fixmedins_type": "1", "hosp_lv": "3", "admdvs": "440106" }]);
    t.admin("POST", "/admin/institutions", institutions.to_string())
        .await;
}

struct Platforms {
    i: Harness,
    t: Harness,
    proxy: Arc<Proxy>,
    proxy_url: String,
    visits: AtomicU64,
}

impl Platforms {
    /// The databases live outside the harnesses' scratch directories, so that a platform can be
    /// stopped and started again on its database.
    async fn start(i_backend: Backend) -> Platforms {
        Platforms::start_on(i_backend, Backend::Sqlite).await
    }

    /// I on `i_backend`, T on `t_backend`.
    async fn start_on(i_backend: Backend, t_backend: Backend) -> Platforms {
        let (database, _) = fresh_database(i_backend, "peer_i").await;
        let i = Harness::start_with(insured_config(database, scratch_dir("peer_i_data"))).await;
        i.load_fixtures().await;
        let (proxy_url, proxy) = start_proxy(&i.base).await;
        let (database, _) = fresh_database(t_backend, "peer_t").await;
        let t = Harness::start_with(treating_config(
            database,
            scratch_dir("peer_t_data"),
            &proxy_url,
        ))
        .await;
        load_treating(&t).await;
        Platforms {
            i,
            t,
            proxy,
            proxy_url,
            visits: AtomicU64::new(0),
        }
    }

    /// 1101 at T (answered by I), then an admission with one 2,000.00 line; the `mdtrt_id`.
    async fn visit(&self) -> String {
        self.admission(false).await
    }

    /// As [`Platforms::visit`]; `emergency`: admitted as an emergency rescue (`IPT_TYPE` 2).
    async fn admission(&self, emergency: bool) -> String {
        self.person().await;
        let n = self.visits.fetch_add(1, Ordering::Relaxed);
        let mut mdtrtinfo = json!({ "psn_no": "P0001", "insutype": "390", "mdtrt_cert_type": "02", "med_type": "21", "ipt_no": format!("IPT{n}"), "begntime": format!("2026-03-01 08:{:02}:00", n % 60), "dise_codg": "K80.100", "atddr_no": "D1" });
        if emergency {
            mdtrtinfo["exp_content"] = json!("{\"IPT_TYPE\":\"2\"}");
        }
        let out = self
            .t
            .ok("2401", HOSPITAL, json!({ "mdtrtinfo": mdtrtinfo, "diseinfo": [{ "diag_type": "1", "diag_code": "K80.100", "diag_name": "胆囊结石" }] }))
            .await;
        let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap().to_string();
        self.t
            .ok(
                "2301",
                HOSPITAL,
                json!({ "feedetail": [line("1", &mdtrt_id, DRUG, "100", "20.00", "2000.00")] }),
            )
            .await;
        mdtrt_id
    }

    async fn person(&self) {
        let person = self.t.ok("1101", HOSPITAL, person_input()).await;
        assert_eq!(person["baseinfo"]["psn_no"], "P0001", "{person}");
    }

    /// A registration with one 60.00 line; the `mdtrt_id`.
    async fn outpatient_visit(&self) -> String {
        self.person().await;
        let n = self.visits.fetch_add(1, Ordering::Relaxed);
        let out = self
            .t
            .ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": format!("2026-03-01 09:{:02}:00", n % 60), "mdtrt_cert_type": "02", "ipt_otp_no": format!("OTP{n}") } }))
            .await;
        let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
        self.t
            .ok(
                "2204",
                HOSPITAL,
                json!({ "feedetail": [line("1", &mdtrt_id, DRUG, "3", "20.00", "60.00")] }),
            )
            .await;
        mdtrt_id
    }

    fn settle_input(mdtrt_id: &str) -> Value {
        json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "2000.00", "mid_setl_flag": "0", "dscgTime": "2026-03-05 10:00:00" } })
    }

    /// 2304 at T with a given msgid: the reply.
    async fn settle(&self, mdtrt_id: &str, msgid: &str) -> Value {
        self.t
            .call_with("2304", HOSPITAL, msgid, Self::settle_input(mdtrt_id))
            .await
            .1
    }

    fn cancel_input(mdtrt_id: &str, setl_id: &str) -> Value {
        json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "setl_id": setl_id } })
    }

    async fn pending(&self) -> usize {
        let mut conn = self.t.store.pool().acquire().await.unwrap();
        yibao_ledger::peers::pending(&mut conn, None)
            .await
            .unwrap()
            .len()
    }

    fn treating_service(&self) -> &yibao_server::service::Service {
        &self.t.running.as_ref().unwrap().service
    }

    /// Resolves T's open intents now (as its recovery does periodically).
    async fn recover(&self) {
        yibao_server::peer::recover_once(self.treating_service())
            .await
            .unwrap();
        assert_eq!(self.pending().await, 0, "every intent resolved");
    }

    /// Both ledgers verify; the day reconciles from both sides without a difference; I holds as
    /// many live peer settlements as T and no visit is settled twice.
    async fn assert_agree(&self, live_expected: usize) {
        self.assert_agree_on(&today(), live_expected).await;
    }

    /// [`Platforms::assert_agree`] for the settlements of `day`.
    async fn assert_agree_on(&self, day: &str, live_expected: usize) {
        self.t.assert_verifies().await;
        self.i.assert_verifies().await;
        let t_config = treating_config(String::new(), std::path::PathBuf::new(), &self.proxy_url);
        let report = reconcile::with_peer(
            &self.t.store,
            &PeerClient::new(&t_config),
            &t_config.peers[0],
            day,
        )
        .await
        .unwrap();
        assert!(report.differences.is_empty(), "{:#?}", report);
        assert_eq!(report.local, report.remote, "{report:#?}");
        let live = |records: &[yibao_server::peer::wire::PeerSettled]| {
            let settled = records.iter().filter(|r| r.kind == "settle").count();
            settled - records.iter().filter(|r| r.kind == "cancel").count()
        };
        let records = reconcile::local_records(&self.i.store, "44", day)
            .await
            .unwrap();
        assert_eq!(
            live(&records),
            live_expected,
            "live settlements at I: {records:#?}"
        );
    }
}

fn assert_ok(reply: &Value) -> Value {
    assert_eq!(reply["infcode"], 0, "{reply}");
    reply["output"].clone()
}

fn assert_refused(reply: &Value, words: &str) {
    assert_eq!(reply["infcode"], -1, "{reply}");
    let message = reply["err_msg"].as_str().unwrap();
    assert!(message.contains(words), "`{words}` not in {message}");
}

/// A person number the treating platform already holds for someone else (another identity
/// document) is not taken over by the insured platform's person of that number: the 1101 is
/// refused naming `psn_no`, and the local person is kept as it was.
#[tokio::test]
async fn a_person_number_held_here_for_someone_else_is_not_overwritten() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let p = Platforms::start_on(backend, backend).await;
        let local = json!([{ "psn_no": "P0001", "psn_cert_type": "01", "certno": "440106199001010033", "psn_name": "本地丙", "gend": "2", "brdy": "1990-01-01", "insutype": "390", "psn_type": "16", "psn_insu_stas": "1", "psn_insu_date": "2020-01-01", "insuplc_admdvs": "440100", "cvlserv_flag": "0", "balc": "0", "idet": "" }]);
        p.t.admin("POST", "/admin/persons", local.to_string()).await;
        let reply =
            p.t.call("1101", HOSPITAL, json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402196005010011", "psn_cert_type": "01", "certno": "360402196005010011" } }))
                .await;
        assert_refused(&reply, "psn_no");
        assert_refused(&reply, "证件不同的另一参保人");
        assert!(!reply.to_string().contains("440106199001010033"), "{reply}");
        let mut conn = p.t.store.pool().acquire().await.unwrap();
        let kept = yibao_ledger::registry::person(&mut conn, "P0001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (kept.certno.as_str(), kept.psn_name.as_str()),
            ("440106199001010033", "本地丙")
        );
        assert_eq!(kept.insu.len(), 1);
        assert_eq!(kept.insu[0].insuplc_admdvs.as_str(), "440100");
        drop(conn);
        p.t.stop().await;
        p.i.stop().await;
    }
}

#[tokio::test]
async fn settled_cancelled_and_reversed_across_platforms() {
    let p = Platforms::start(Backend::Sqlite).await;
    let mdtrt_id = p.visit().await;
    let pre =
        p.t.ok("2303", HOSPITAL, Platforms::settle_input(&mdtrt_id))
            .await;
    let msgid = p.t.msgid(HOSPITAL);
    let (text, reply) =
        p.t.call_with("2304", HOSPITAL, &msgid, Platforms::settle_input(&mdtrt_id))
            .await;
    let settled = assert_ok(&reply);
    assert_eq!(yuan(&settled["setlinfo"]["medfee_sumamt"]), "2000.00");
    assert_eq!(
        settled["setlinfo"]["fund_pay_sumamt"], pre["setlinfo"]["fund_pay_sumamt"],
        "{pre}"
    );
    let fund_paid = yuan(&settled["setlinfo"]["fund_pay_sumamt"]);
    assert_ne!(fund_paid, "0.00", "{settled}");
    let codes: Vec<&str> = settled["setldetail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fund_pay_type"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"910100"),
        "I's 390100 is unknown at T: {codes:?}"
    );
    let (again, _) =
        p.t.call_with("2304", HOSPITAL, &msgid, Platforms::settle_input(&mdtrt_id))
            .await;
    assert_eq!(again, text, "a repeated message gets the stored reply");
    p.assert_agree(1).await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    let cancelled =
        p.t.ok(
            "2305",
            HOSPITAL,
            Platforms::cancel_input(&mdtrt_id, &setl_id),
        )
        .await;
    assert_eq!(
        yuan(&cancelled["setlinfo"]["fund_pay_sumamt"]),
        format!("-{fund_paid}")
    );
    p.assert_agree(0).await;
    let msgid = p.t.msgid(HOSPITAL);
    let again = assert_ok(&p.settle(&mdtrt_id, &msgid).await);
    assert_eq!(
        yuan(&again["setlinfo"]["fund_pay_sumamt"]),
        fund_paid,
        "the cancellation restored I's accumulators"
    );
    p.t.ok(
        "2601",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0001", "omsgid": msgid, "oinfno": "2304" } }),
    )
    .await;
    p.assert_agree(0).await;
    let outpatient = p.outpatient_visit().await;
    let input =
        json!({ "data": { "psn_no": "P0001", "mdtrt_id": outpatient, "medfee_sumamt": "60.00" } });
    p.t.ok("2206", HOSPITAL, input.clone()).await;
    let settled = p.t.ok("2207", HOSPITAL, input).await;
    assert_eq!(yuan(&settled["setlinfo"]["medfee_sumamt"]), "60.00");
    p.assert_agree(1).await;
    p.t.ok(
        "2208",
        HOSPITAL,
        Platforms::cancel_input(
            &outpatient,
            settled["setlinfo"]["setl_id"].as_str().unwrap(),
        ),
    )
    .await;
    p.assert_agree(0).await;
    p.t.stop().await;
    p.i.stop().await;
}

/// The insured platform's remote-care extra 先行自付 (M1) applies to lines split on the treating
/// platform, and an emergency admission there counts as filed in the insured platform's register.
#[tokio::test]
async fn the_insured_policys_extra_preselfpay_applies_to_an_emergency_stay_split_elsewhere() {
    let p = Platforms::start(Backend::Sqlite).await;
    let policy = std::fs::read_to_string(repo_root().join("policies/jiujiang.toml"))
        .unwrap()
        .replace(
            "[[schemes]]\ninsutype = \"310\"",
            "[[schemes.remote_adjustments]]\nregion = \"filed_emergency\"\nextra_preselfpay = \"0.10\"\n\n[[schemes]]\ninsutype = \"310\"",
        );
    assert!(policy.contains("filed_emergency"));
    p.i.admin("PUT", "/admin/policy", policy).await;
    let msgid = p.t.msgid(HOSPITAL);
    let unfiled = assert_ok(&p.settle(&p.visit().await, &msgid).await)["setlinfo"].clone();
    // Settled without `dscgTime` (as on one platform: the message time ends the stay).
    let emergency_stay = p.admission(true).await;
    let mut input = Platforms::settle_input(&emergency_stay);
    input["data"].as_object_mut().unwrap().remove("dscgTime");
    let emergency = p.t.ok("2304", HOSPITAL, input).await["setlinfo"].clone();
    let (pre, inscp) = (
        fen(&unfiled["preselfpay_amt"]),
        fen(&unfiled["inscp_scp_amt"]),
    );
    assert!(inscp > 0, "{unfiled}");
    let moved = (inscp + 5) / 10;
    assert_eq!(
        fen(&emergency["preselfpay_amt"]),
        pre + moved,
        "{emergency}"
    );
    assert_eq!(
        fen(&emergency["inscp_scp_amt"]),
        inscp - moved,
        "{emergency}"
    );
    assert_eq!(
        fen(&emergency["medfee_sumamt"]),
        fen(&unfiled["medfee_sumamt"])
    );
    p.assert_agree(2).await;
    p.t.stop().await;
    p.i.stop().await;
}

#[tokio::test]
async fn a_lost_call_a_lost_answer_and_a_timeout_settle_once() {
    let p = Platforms::start(Backend::Sqlite).await;
    // The call never arrives: the hospital is told the outcome is unknown; recovery aborts the key.
    let visit = p.visit().await;
    set(&p.proxy, Link::DropCall);
    let msgid = p.t.msgid(HOSPITAL);
    assert_refused(&p.settle(&visit, &msgid).await, "未确认");
    assert_eq!(p.pending().await, 1);
    set(&p.proxy, Link::Pass);
    p.recover().await;
    p.assert_agree(0).await;
    assert_ok(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await);
    p.assert_agree(1).await;
    // I settles, its answer is lost: the same message again gets the settlement I made.
    let visit = p.visit().await;
    set(&p.proxy, Link::DropAnswer);
    let msgid = p.t.msgid(HOSPITAL);
    assert_refused(&p.settle(&visit, &msgid).await, "未确认");
    set(&p.proxy, Link::Pass);
    let settled = assert_ok(&p.settle(&visit, &msgid).await);
    assert_eq!(yuan(&settled["setlinfo"]["medfee_sumamt"]), "2000.00");
    p.assert_agree(2).await;
    // I settles, its answer is lost, the hospital reverses the message (2601): reversed at both.
    let visit = p.visit().await;
    set(&p.proxy, Link::DropAnswer);
    let msgid = p.t.msgid(HOSPITAL);
    assert_refused(&p.settle(&visit, &msgid).await, "未确认");
    set(&p.proxy, Link::Pass);
    p.t.ok(
        "2601",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0001", "omsgid": msgid, "oinfno": "2304" } }),
    )
    .await;
    p.assert_agree(2).await;
    // The first attempt times out and reaches I late: the retry with the same key is answered once.
    let visit = p.visit().await;
    set(&p.proxy, Link::DelayOnce);
    assert_ok(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await);
    tokio::time::sleep(Duration::from_millis(900)).await;
    p.assert_agree(3).await;
    // Cancellation with its answer lost: a new message finds it done.
    set(&p.proxy, Link::DropAnswer);
    let records = reconcile::local_records(&p.t.store, "36", &today())
        .await
        .unwrap();
    let key = records
        .iter()
        .find(|r| r.kind == "settle")
        .unwrap()
        .peer_key
        .clone();
    let mut conn = p.t.store.pool().acquire().await.unwrap();
    let settled_visit = yibao_ledger::entries::settlement(&mut conn, &key)
        .await
        .unwrap()
        .unwrap()
        .header
        .mdtrt_id;
    drop(conn);
    let cancel = Platforms::cancel_input(&settled_visit, &key);
    assert_refused(&p.t.call("2305", HOSPITAL, cancel.clone()).await, "未确认");
    set(&p.proxy, Link::Pass);
    assert_refused(&p.t.call("2305", HOSPITAL, cancel).await, "已撤销");
    p.assert_agree(2).await;
    p.t.stop().await;
    p.i.stop().await;
}

#[tokio::test]
async fn a_crash_of_either_platform_between_the_phases_is_resolved() {
    let mut p = Platforms::start(Backend::Sqlite).await;
    // T stops with an open intent after I settled; started again, it commits what I holds.
    let visit = p.visit().await;
    set(&p.proxy, Link::DropAnswer);
    let msgid = p.t.msgid(HOSPITAL);
    assert_refused(&p.settle(&visit, &msgid).await, "未确认");
    assert_eq!(p.pending().await, 1);
    let (database, scratch) = (p.t.database.clone(), scratch_dir("peer_t_again"));
    p.t.stop().await;
    set(&p.proxy, Link::Pass);
    p.t = Harness::start_with(treating_config(database, scratch, &p.proxy_url)).await;
    // The new harness numbers its messages from 0 again: past the ones already used.
    (0..100).for_each(|_| drop(p.t.msgid(HOSPITAL)));
    for _ in 0..100 {
        if p.pending().await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(p.pending().await, 0, "recovered at start");
    let settled = assert_ok(&p.settle(&visit, &msgid).await);
    assert_eq!(yuan(&settled["setlinfo"]["medfee_sumamt"]), "2000.00");
    p.assert_agree(1).await;
    // I stops after settling (its answer lost); started again, T's resolution finds the settlement.
    let visit = p.visit().await;
    set(&p.proxy, Link::DropAnswer);
    assert_refused(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await, "未确认");
    let (database, scratch) = (p.i.database.clone(), scratch_dir("peer_i_again"));
    p.i.stop().await;
    set(&p.proxy, Link::Pass);
    p.i = Harness::start_with(insured_config(database, scratch)).await;
    *p.proxy.target.lock().unwrap() = p.i.base.clone();
    p.recover().await;
    p.assert_agree(2).await;
    p.t.stop().await;
    p.i.stop().await;
}

/// A seeded sequence of settlements and cancellations over a link failing at random; prints its
/// seed (`YIBAO_PEER_SEED` reruns one).
#[tokio::test]
async fn random_link_failures_leave_both_sides_agreeing() {
    let seed = yibao_testdata::random_seed("YIBAO_PEER_SEED");
    let mut state = seed | 1;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let p = Platforms::start(Backend::Sqlite).await;
    let links = [
        Link::Pass,
        Link::Pass,
        Link::DropCall,
        Link::DropAnswer,
        Link::DelayOnce,
    ];
    for _ in 0..6 {
        let visit = p.visit().await;
        set(&p.proxy, links[next(links.len() as u64) as usize]);
        let first = p.settle(&visit, &p.t.msgid(HOSPITAL)).await;
        set(&p.proxy, links[next(links.len() as u64) as usize]);
        if first["infcode"] == 0 && next(2) == 0 {
            let setl_id = first["output"]["setlinfo"]["setl_id"].as_str().unwrap();
            p.t.call("2305", HOSPITAL, Platforms::cancel_input(&visit, setl_id))
                .await;
        }
        set(&p.proxy, Link::Pass);
        tokio::time::sleep(Duration::from_millis(800)).await;
        p.recover().await;
    }
    let records = reconcile::local_records(&p.t.store, "36", &today())
        .await
        .unwrap();
    let live = records.iter().filter(|r| r.kind == "settle").count()
        - records.iter().filter(|r| r.kind == "cancel").count();
    p.assert_agree(live).await;
    p.t.stop().await;
    p.i.stop().await;
}

#[tokio::test]
async fn postgres_insured_platform_settles_and_cancels() {
    let p = Platforms::start(Backend::Postgres).await;
    let visit = p.visit().await;
    let settled = assert_ok(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await);
    p.assert_agree(1).await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap();
    p.t.ok("2305", HOSPITAL, Platforms::cancel_input(&visit, setl_id))
        .await;
    p.assert_agree(0).await;
    p.t.stop().await;
    p.i.stop().await;
}

/// The treating platform on PostgreSQL: its intents are recorded and resolved by its ledger
/// writer — committed with the record, aborted after a lost call — and the ledgers agree.
#[tokio::test]
async fn postgres_treating_platform_records_and_resolves_intents() {
    let p = Platforms::start_on(Backend::Sqlite, Backend::Postgres).await;
    let visit = p.visit().await;
    let settled = assert_ok(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await);
    assert_eq!(p.pending().await, 0, "committed with the record");
    p.assert_agree(1).await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap();
    p.t.ok("2305", HOSPITAL, Platforms::cancel_input(&visit, setl_id))
        .await;
    assert_eq!(p.pending().await, 0, "committed with the record");
    p.assert_agree(0).await;
    let visit = p.visit().await;
    set(&p.proxy, Link::DropCall);
    assert_refused(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await, "未确认");
    assert_eq!(p.pending().await, 1);
    set(&p.proxy, Link::Pass);
    p.recover().await;
    assert_ok(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await);
    p.assert_agree(1).await;
    p.t.stop().await;
    p.i.stop().await;
}

/// Both platforms run the month's clearing: the insured platform's outbound row (九江 → the
/// treating platform's pooling region 440100, not the hospital's district nor its own region)
/// equals the treating platform's inbound row to the fen — settlements, cancellations, total cost,
/// fund payments owed, by institution. No confirmation (3261) is needed between platforms. Paid on
/// both, the insured platform's transfer is the treating platform's collection, and both verify.
#[tokio::test]
async fn both_platforms_clear_the_month_alike() {
    let policy =
        yibao_clearing::ClearingPolicy::load(&repo_root().join("policies/clearing/jiangxi.toml"))
            .unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let p = Platforms::start(backend).await;
        let kept = p.visit().await;
        let settled = assert_ok(&p.settle(&kept, &p.t.msgid(HOSPITAL)).await);
        let cancelled = p.visit().await;
        let undone = assert_ok(&p.settle(&cancelled, &p.t.msgid(HOSPITAL)).await);
        let setl_id = undone["setlinfo"]["setl_id"].as_str().unwrap();
        p.t.ok(
            "2305",
            HOSPITAL,
            Platforms::cancel_input(&cancelled, setl_id),
        )
        .await;
        let outpatient = p.outpatient_visit().await;
        let input = json!({ "data": { "psn_no": "P0001", "mdtrt_id": outpatient, "medfee_sumamt": "60.00" } });
        let clinic = p.t.ok("2207", HOSPITAL, input).await;
        p.assert_agree(2).await;

        let setl_time = settled["setlinfo"]["setl_time"].as_str().unwrap();
        let month = yibao_clearing::Month::parse(&setl_time[..7]).unwrap();
        let next = month.next();
        let as_of = chrono::NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1).unwrap();
        let run = |store| yibao_ledger::clearing_run::run_month(store, &policy, month, as_of, "t1");
        let outbound = run(&p.i.store).await.unwrap().rows;
        let inbound = run(&p.t.store).await.unwrap().rows;
        assert_eq!(outbound.len(), 1, "{outbound:#?}");
        assert_eq!(inbound.len(), 1, "{inbound:#?}");
        let (o, i) = (&outbound[0].row, &inbound[0].row);
        assert_eq!(o.key.insured_admdvs.as_str(), "360400");
        assert_eq!(o.key.treating_admdvs.as_str(), "440100");
        assert_eq!(o.key, i.key);
        assert_eq!(outbound[0].clr_id, inbound[0].clr_id);
        let clr_id = outbound[0].clr_id.clone();
        let owed = Fen(common::fen(&settled["setlinfo"]["fund_pay_sumamt"])
            + common::fen(&clinic["setlinfo"]["fund_pay_sumamt"]));
        assert!(owed > Fen(0));
        for row in [o, i] {
            assert_eq!((row.settlements, row.cancellations), (3, 1), "{row:#?}");
            assert_eq!(row.fund_owed, owed);
            assert_eq!(row.by_institution.get(HOSPITAL), Some(&owed));
        }
        assert_eq!(o.total_cost, i.total_cost);
        assert_eq!(o.cleared, i.cleared);
        // The books: I owes (remote-care expenditure payable); T is owed and owes its hospital.
        let flows = |store: &yibao_ledger::Store| {
            let store = store.clone();
            async move {
                let mut conn = store.pool().acquire().await.unwrap();
                let rows = yibao_ledger::books::postings_until(&mut conn, "9999-12-31")
                    .await
                    .unwrap();
                let mut sums = std::collections::BTreeMap::<String, Fen>::new();
                for row in rows {
                    *sums.entry(row.flow).or_default() += row.amount;
                }
                sums.into_iter().collect::<Vec<_>>()
            }
        };
        assert_eq!(
            flows(&p.i.store).await,
            [("clearing_payable".to_string(), owed)]
        );
        assert_eq!(
            flows(&p.t.store).await,
            [
                ("clearing_owed_to_hospitals".to_string(), owed),
                ("clearing_receivable".to_string(), owed)
            ]
        );
        // The cross-region report: I's outbound lines are T's inbound lines, side for side.
        let report = |store: &yibao_ledger::Store| {
            let store = store.clone();
            async move {
                let mut conn = store.pool().acquire().await.unwrap();
                yibao_ledger::clearing_run::cross_region_report(
                    &mut conn,
                    month.year,
                    Some(month.month),
                )
                .await
                .unwrap()
            }
        };
        let (outbound, inbound) = (report(&p.i.store).await, report(&p.t.store).await);
        assert_eq!(outbound.len(), 2, "inpatient and outpatient: {outbound:#?}");
        assert_eq!(inbound.len(), 2, "{inbound:#?}");
        for (o, i) in outbound.iter().zip(&inbound) {
            assert_eq!(
                (o.region.as_str(), o.partner.as_str()),
                ("360400", "440100")
            );
            assert_eq!(
                (i.region.as_str(), i.partner.as_str()),
                ("440100", "360400")
            );
            assert_eq!(
                (o.direction, i.direction),
                (
                    yibao_clearing::Direction::Outbound,
                    yibao_clearing::Direction::Inbound
                )
            );
            assert_eq!(
                (o.care, o.count, o.total_cost, o.fund_paid),
                (i.care, i.count, i.total_cost, i.fund_paid)
            );
        }
        assert_eq!(outbound[0].count, 1, "one admission kept: {outbound:#?}");
        // Both platforms pay the clearing: what I transfers is what T collects and pays on.
        for store in [&p.i.store, &p.t.store] {
            for to in ["20", "30", "40", "50", "60"] {
                let to = yibao_clearing::ClearingState::parse(to).unwrap();
                yibao_ledger::clearing::advance(store, &clr_id, to, "x", "2027-01-05 09:00:00")
                    .await
                    .unwrap();
            }
        }
        let paid = |flow: &str| (flow.to_string(), o.cleared);
        assert_eq!(
            flows(&p.i.store).await,
            [
                ("clearing_payable".to_string(), owed),
                paid("clearing_payable_settled")
            ]
        );
        assert_eq!(
            flows(&p.t.store).await,
            [
                ("clearing_owed_to_hospitals".to_string(), owed),
                paid("clearing_paid_to_hospitals"),
                ("clearing_receivable".to_string(), owed),
                paid("clearing_receivable_collected"),
            ]
        );
        p.t.assert_verifies().await;
        p.i.assert_verifies().await;
        p.t.stop().await;
        p.i.stop().await;
    }
}

/// A worker with a personal account (职工 310): the admission settled in parts.
const WORKER: &str = "P0002";
/// A hospital in the treating platform's district registered on the insured platform itself: the
/// same stay settled there is the one-platform reference of the stay settled across platforms.
const HOME_HOSPITAL: &str = "H44010600009";

/// A 2304 of the worker's admission (interim when `interim`) declaring `medfee`.
fn worker_settle_input(mdtrt_id: &str, medfee: &str, interim: bool) -> Value {
    let flag = if interim { "1" } else { "0" };
    json!({ "data": { "psn_no": WORKER, "mdtrt_id": mdtrt_id, "insutype": "310", "medfee_sumamt": medfee, "mid_setl_flag": flag, "acct_used_flag": "1", "dscgTime": "2026-03-05 10:00:00" } })
}

fn worker_cancel_input(mdtrt_id: &str, settled: &Value) -> Value {
    json!({ "data": { "psn_no": WORKER, "mdtrt_id": mdtrt_id, "setl_id": setl_id(settled) } })
}

/// The worker admitted at `hospital` with 30 bed-days (1,200.00) and a 2,000.00 drug line.
async fn admit_worker(h: &Harness, hospital: &str) -> String {
    let out = h
        .ok("2401", hospital, json!({ "mdtrtinfo": { "psn_no": WORKER, "insutype": "310", "mdtrt_cert_type": "02", "med_type": "21", "ipt_no": "IPT-W", "begntime": "2026-03-01 08:00:00", "dise_codg": "K80.100", "atddr_no": "D1" }, "diseinfo": [{ "diag_type": "1", "diag_code": "K80.100", "diag_name": "胆囊结石" }] }))
        .await;
    let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap().to_string();
    let lines = [
        bed_days("1", &mdtrt_id, 30, None),
        line("2", &mdtrt_id, DRUG, "100", "20.00", "2000.00"),
    ];
    h.ok("2301", hospital, json!({ "feedetail": lines })).await;
    mdtrt_id
}

/// After the interim settlement: 10 of its bed-days refunded, 20 new ones (net 400.00).
async fn refund_and_new_fees(h: &Harness, hospital: &str, mdtrt_id: &str) {
    let lines = [
        bed_days("3", mdtrt_id, -10, Some("1")),
        bed_days("4", mdtrt_id, 20, None),
    ];
    h.ok("2301", hospital, json!({ "feedetail": lines })).await;
}

/// I's record of a settlement: under its own `setl_id`, or under the key T settled it by.
async fn insured_record(i: &Harness, id: &str) -> yibao_ledger::SettlementRecord {
    let mut conn = i.store.pool().acquire().await.unwrap();
    let own = match yibao_ledger::entries::stored_message(&mut conn, HOSPITAL, id)
        .await
        .unwrap()
    {
        Some(message) => message.effect_ref,
        None => id.to_string(),
    };
    yibao_ledger::entries::settlement(&mut conn, &own)
        .await
        .unwrap()
        .unwrap()
}

/// The worker's accumulators of `year` and net account payments at I.
async fn worker_totals(i: &Harness, year: i64) -> (Vec<yibao_settlement::Posting>, Fen) {
    let mut conn = i.store.pool().acquire().await.unwrap();
    let ytd = yibao_ledger::entries::year_to_date(&mut conn, WORKER, "310", year)
        .await
        .unwrap();
    let paid = yibao_ledger::entries::account_paid(&mut conn, WORKER, "310")
        .await
        .unwrap();
    (ytd, paid)
}

/// Two records of I settle alike: amounts, fund rows, accumulator postings, account balance.
fn assert_same_settlement(
    local: &yibao_ledger::SettlementRecord,
    peer: &yibao_ledger::SettlementRecord,
) {
    let rows =
        |r: &yibao_ledger::SettlementRecord| r.funds.iter().map(|f| f.row).collect::<Vec<_>>();
    assert_eq!(local.amounts, peer.amounts);
    assert_eq!(rows(local), rows(peer));
    assert_eq!(local.postings, peer.postings);
    assert_eq!(local.header.balc, peer.header.balc);
    assert_eq!(local.header.mid_setl_flag, peer.header.mid_setl_flag);
}

/// An admission settled in parts across platforms — an interim settlement whose answer is lost
/// and asked again, a refund of lines it settled and new fees, the final settlement — is settled
/// at I exactly as the same stay at a hospital of I: each part's amounts, fund rows, postings and
/// account to the fen. The final settlement is cancelled and settled again, reversed (2601); the
/// interim one cannot be cancelled under it. Both platforms verify and reconcile the day.
async fn stay_in_parts_across_platforms(backend: Backend) {
    let p = Platforms::start(backend).await;
    let home = json!([{ "fixmedins_code": HOME_HOSPITAL, "fixmedins_name": "广州参照医院", "fixmedins_type": "1", "hosp_lv": "3", "admdvs": "440106" }]);
    p.i.admin("POST", "/admin/institutions", home.to_string())
        .await;
    // The reference on one platform, then cancelled latest first (the accumulators restored).
    let stay = admit_worker(&p.i, HOME_HOSPITAL).await;
    let interim_ref =
        p.i.ok(
            "2304",
            HOME_HOSPITAL,
            worker_settle_input(&stay, "3200.00", true),
        )
        .await;
    refund_and_new_fees(&p.i, HOME_HOSPITAL, &stay).await;
    let last_ref =
        p.i.ok(
            "2304",
            HOME_HOSPITAL,
            worker_settle_input(&stay, "400.00", false),
        )
        .await;
    let records_ref = [
        insured_record(&p.i, &setl_id(&interim_ref)).await,
        insured_record(&p.i, &setl_id(&last_ref)).await,
    ];
    let year = records_ref[1].header.year;
    let totals_ref = worker_totals(&p.i, year).await;
    assert_ne!(
        fen(&interim_ref["setlinfo"]["fund_pay_sumamt"]),
        0,
        "{interim_ref}"
    );
    for settled in [&last_ref, &interim_ref] {
        p.i.ok("2305", HOME_HOSPITAL, worker_cancel_input(&stay, settled))
            .await;
    }

    // The same stay at T.
    let person =
        p.t.ok("1101", HOSPITAL, json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402197502140022", "psn_cert_type": "01", "certno": "360402197502140022" } }))
            .await;
    assert_eq!(person["baseinfo"]["psn_no"], WORKER, "{person}");
    let stay = admit_worker(&p.t, HOSPITAL).await;
    let interim_input = worker_settle_input(&stay, "3200.00", true);
    let pre = p.t.ok("2303", HOSPITAL, interim_input.clone()).await;
    assert_eq!(columns(&pre), columns(&interim_ref), "{pre}");
    set(&p.proxy, Link::DropAnswer);
    let msgid = p.t.msgid(HOSPITAL);
    let (_, lost) =
        p.t.call_with("2304", HOSPITAL, &msgid, interim_input.clone())
            .await;
    assert_refused(&lost, "未确认");
    set(&p.proxy, Link::Pass);
    let (_, reply) = p.t.call_with("2304", HOSPITAL, &msgid, interim_input).await;
    let interim = assert_ok(&reply);
    assert_eq!(columns(&interim), columns(&interim_ref), "{interim}");
    p.assert_agree(1).await;
    refund_and_new_fees(&p.t, HOSPITAL, &stay).await;
    let final_input = worker_settle_input(&stay, "400.00", false);
    let last = p.t.ok("2304", HOSPITAL, final_input.clone()).await;
    assert_eq!(columns(&last), columns(&last_ref), "{last}");
    for (reference, settled) in records_ref.iter().zip([&interim, &last]) {
        assert_same_settlement(reference, &insured_record(&p.i, &setl_id(settled)).await);
    }
    assert_eq!(worker_totals(&p.i, year).await, totals_ref);
    p.assert_agree(2).await;

    // Latest first: the interim settlement stays while the final one is live.
    assert_refused(
        &p.t.call("2305", HOSPITAL, worker_cancel_input(&stay, &interim))
            .await,
        &setl_id(&last),
    );
    let undone =
        p.t.ok("2305", HOSPITAL, worker_cancel_input(&stay, &last))
            .await;
    for ((column, was), (_, negated)) in columns(&last).into_iter().zip(columns(&undone)) {
        assert_eq!(negated, -was, "{column}");
    }
    p.assert_agree(1).await;
    let msgid = p.t.msgid(HOSPITAL);
    let (_, reply) =
        p.t.call_with("2304", HOSPITAL, &msgid, final_input.clone())
            .await;
    assert_eq!(columns(&assert_ok(&reply)), columns(&last));
    assert_eq!(worker_totals(&p.i, year).await, totals_ref);
    p.assert_agree(2).await;
    p.t.ok(
        "2601",
        HOSPITAL,
        json!({ "data": { "psn_no": WORKER, "omsgid": msgid, "oinfno": "2304" } }),
    )
    .await;
    p.assert_agree(1).await;
    let again = p.t.ok("2304", HOSPITAL, final_input).await;
    assert_eq!(columns(&again), columns(&last));
    assert_eq!(worker_totals(&p.i, year).await, totals_ref);
    p.assert_agree(2).await;
    p.t.stop().await;
    p.i.stop().await;
}

#[tokio::test]
async fn stay_in_parts_across_platforms_sqlite() {
    stay_in_parts_across_platforms(Backend::Sqlite).await;
}

#[tokio::test]
async fn stay_in_parts_across_platforms_postgres() {
    stay_in_parts_across_platforms(Backend::Postgres).await;
}

/// Issue 11 §4 with interim settlements: the worker's stay settled in parts at T (an interim
/// settlement, a refund and new fees, the final settlement cancelled and settled again), then both
/// platforms run the month's clearing. Each has one row of the pair whose fund payments owed are the
/// sum of the stay's live fund payments (every 2304 less the cancelled one) to the fen; the two
/// rows agree in every amount (the funds' codes aside: T names I's funds as it answered them), the
/// clearing is paid on both sides with the same transfer, and both platforms verify.
async fn a_stay_in_parts_clears_alike(backend: Backend) {
    let policy =
        yibao_clearing::ClearingPolicy::load(&repo_root().join("policies/clearing/jiangxi.toml"))
            .unwrap();
    let p = Platforms::start(backend).await;
    let person =
        p.t.ok("1101", HOSPITAL, json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402197502140022", "psn_cert_type": "01", "certno": "360402197502140022" } }))
            .await;
    assert_eq!(person["baseinfo"]["psn_no"], WORKER, "{person}");
    let stay = admit_worker(&p.t, HOSPITAL).await;
    let interim =
        p.t.ok(
            "2304",
            HOSPITAL,
            worker_settle_input(&stay, "3200.00", true),
        )
        .await;
    refund_and_new_fees(&p.t, HOSPITAL, &stay).await;
    let final_input = worker_settle_input(&stay, "400.00", false);
    let first = p.t.ok("2304", HOSPITAL, final_input.clone()).await;
    let undone =
        p.t.ok("2305", HOSPITAL, worker_cancel_input(&stay, &first))
            .await;
    let last = p.t.ok("2304", HOSPITAL, final_input).await;
    p.assert_agree(2).await;

    let fund = |v: &Value| Fen(fen(&v["setlinfo"]["fund_pay_sumamt"]));
    let cost = |v: &Value| Fen(fen(&v["setlinfo"]["medfee_sumamt"]));
    let owed = fund(&interim) + fund(&last);
    assert!(
        fund(&interim) > Fen(0) && fund(&last) > Fen(0),
        "{interim} {last}"
    );
    assert_eq!(
        fund(&interim) + fund(&first) + fund(&undone) + fund(&last),
        owed
    );
    let setl_time = last["setlinfo"]["setl_time"].as_str().unwrap();
    let month = yibao_clearing::Month::parse(&setl_time[..7]).unwrap();
    let next = month.next();
    let as_of = chrono::NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1).unwrap();
    let run = |store| yibao_ledger::clearing_run::run_month(store, &policy, month, as_of, "t1");
    let outbound = run(&p.i.store).await.unwrap().rows;
    let inbound = run(&p.t.store).await.unwrap().rows;
    assert_eq!(
        (outbound.len(), inbound.len()),
        (1, 1),
        "{outbound:#?} {inbound:#?}"
    );
    assert_eq!(outbound[0].clr_id, inbound[0].clr_id);
    let (o, i) = (&outbound[0].row, &inbound[0].row);
    assert_eq!(o.key, i.key);
    assert_eq!(
        (
            o.key.insured_admdvs.as_str(),
            o.key.treating_admdvs.as_str(),
            o.key.insutype.as_str()
        ),
        ("360400", "440100", "310")
    );
    for row in [o, i] {
        assert_eq!(
            (
                row.settlements,
                row.cancellations,
                row.carried_cancellations
            ),
            (3, 1, 0),
            "{row:#?}"
        );
        assert_eq!(row.fund_owed, owed, "{row:#?}");
        assert_eq!(row.by_fund.values().copied().sum::<Fen>(), owed);
        assert_eq!(row.by_institution.get(HOSPITAL), Some(&owed));
        assert_eq!(row.total_cost, cost(&interim) + cost(&last));
        assert_eq!(row.cleared, row.fund_owed - row.deductions.total());
    }
    assert_eq!(
        (o.total_cost, o.deductions, o.cleared, o.prepayment),
        (i.total_cost, i.deductions, i.cleared, i.prepayment)
    );
    // The cross-region report: one admission (the interim settlement counts none), alike.
    let report = |store: &yibao_ledger::Store| {
        let store = store.clone();
        async move {
            let mut conn = store.pool().acquire().await.unwrap();
            yibao_ledger::clearing_run::cross_region_report(
                &mut conn,
                month.year,
                Some(month.month),
            )
            .await
            .unwrap()
        }
    };
    let (out_lines, in_lines) = (report(&p.i.store).await, report(&p.t.store).await);
    assert_eq!(
        (out_lines.len(), in_lines.len()),
        (1, 1),
        "{out_lines:#?} {in_lines:#?}"
    );
    let (ol, il) = (&out_lines[0], &in_lines[0]);
    assert_eq!(
        (ol.count, ol.total_cost, ol.fund_paid),
        (1, o.total_cost, owed)
    );
    assert_eq!(
        (il.count, il.total_cost, il.fund_paid),
        (ol.count, ol.total_cost, ol.fund_paid)
    );
    let clr_id = outbound[0].clr_id.clone();
    for store in [&p.i.store, &p.t.store] {
        for to in ["20", "30", "40", "50", "60"] {
            let to = yibao_clearing::ClearingState::parse(to).unwrap();
            yibao_ledger::clearing::advance(store, &clr_id, to, "x", "2027-01-05 09:00:00")
                .await
                .unwrap();
        }
    }
    let flow_sum = |store: &yibao_ledger::Store, flow: &'static str| {
        let store = store.clone();
        async move {
            let mut conn = store.pool().acquire().await.unwrap();
            let rows = yibao_ledger::books::postings_until(&mut conn, "9999-12-31")
                .await
                .unwrap();
            rows.iter()
                .filter(|r| r.flow == flow)
                .map(|r| r.amount)
                .sum::<Fen>()
        }
    };
    assert_eq!(flow_sum(&p.i.store, "clearing_payable").await, owed);
    assert_eq!(flow_sum(&p.t.store, "clearing_receivable").await, owed);
    assert_eq!(
        flow_sum(&p.i.store, "clearing_payable_settled").await,
        flow_sum(&p.t.store, "clearing_receivable_collected").await
    );
    assert_eq!(
        flow_sum(&p.i.store, "clearing_payable_settled").await,
        o.cleared
    );
    p.t.assert_verifies().await;
    p.i.assert_verifies().await;
    p.t.stop().await;
    p.i.stop().await;
}

#[tokio::test]
async fn a_stay_in_parts_clears_alike_sqlite() {
    a_stay_in_parts_clears_alike(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_stay_in_parts_clears_alike_postgres() {
    a_stay_in_parts_clears_alike(Backend::Postgres).await;
}

/// The month `back` months before this one, and the seconds from now to the same time of day on
/// its 15th: the clock offset of a platform settling in that month.
fn month_back(back: u32) -> (yibao_clearing::Month, i64) {
    use chrono::Datelike;
    let now = chrono::Local::now().naive_local();
    let day = now
        .date()
        .with_day(15)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(back)))
        .unwrap();
    let month = yibao_clearing::Month::parse(&day.format("%Y-%m").to_string()).unwrap();
    (month, (day.and_time(now.time()) - now).num_seconds())
}

/// T stopped and started again on its database with its clock `offset_secs` from the system's (its
/// settlements are made at that time); its message ids go on after the ones it used.
async fn with_treating_clock(mut p: Platforms, offset_secs: i64) -> Platforms {
    let last = p.t.msgid(HOSPITAL);
    let used: usize = last[last.len() - 6..].parse().unwrap();
    let database = p.t.database.clone();
    p.t.stop().await;
    let config = Config {
        clock_offset_secs: offset_secs,
        ..treating_config(database, scratch_dir("peer_t_clock"), &p.proxy_url)
    };
    p.t = Harness::start_with(config).await;
    (0..=used).for_each(|_| drop(p.t.msgid(HOSPITAL)));
    p
}

/// A visit of P0001 settled at T: the settlement's `setlinfo`.
async fn settled_visit(p: &Platforms) -> (String, Value) {
    let visit = p.visit().await;
    let settled = assert_ok(&p.settle(&visit, &p.t.msgid(HOSPITAL)).await);
    (visit, settled["setlinfo"].clone())
}

/// A clearing row as both platforms can hold it alike: the funds' codes aside (T names I's funds
/// as it answered them), their sum kept.
fn alike(row: &yibao_clearing::ClearingRow) -> (yibao_clearing::ClearingRow, Fen) {
    let fund_sum = row.by_fund.values().copied().sum();
    let amounts = yibao_clearing::ClearingRow {
        by_fund: Default::default(),
        fund_shares: None,
        ..row.clone()
    };
    (amounts, fund_sum)
}

/// The standing (not rejected) clearings of a platform, by month.
async fn standing_clearings(h: &Harness) -> Vec<yibao_ledger::clearing::StoredClearing> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    yibao_ledger::clearing::stored_rows(&mut conn, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.state != yibao_clearing::ClearingState::Rejected)
        .collect()
}

/// Both platforms run `month` (over on the first day after it): one row each, the same.
async fn run_on_both(
    p: &Platforms,
    policy: &yibao_clearing::ClearingPolicy,
    month: yibao_clearing::Month,
) {
    let next = month.next();
    let as_of = chrono::NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1).unwrap();
    let run = |store| yibao_ledger::clearing_run::run_month(store, policy, month, as_of, "t1");
    let outbound = run(&p.i.store).await.unwrap().rows;
    let inbound = run(&p.t.store).await.unwrap().rows;
    assert_eq!((outbound.len(), inbound.len()), (1, 1), "{month}");
    assert_eq!(outbound[0].clr_id, inbound[0].clr_id);
    assert_eq!(alike(&outbound[0].row), alike(&inbound[0].row), "{month}");
}

/// The clearing `clr_id` rejected (70) on both platforms.
async fn reject_on_both(p: &Platforms, clr_id: &str) {
    let body = json!({ "to": "70", "operator": "清算科" });
    let (i, t) = on_both(p, &format!("/admin/clearings/{clr_id}/advance"), body).await;
    assert_eq!(i["clearing"]["state"], "Rejected", "{i}");
    assert_eq!(t["clearing"]["state"], "Rejected", "{t}");
}

/// An admin POST on a clearing of both platforms (I's reply, T's reply).
async fn on_both(p: &Platforms, path: &str, body: Value) -> (Value, Value) {
    (
        p.i.admin("POST", path, body.to_string()).await,
        p.t.admin("POST", path, body.to_string()).await,
    )
}

/// Issue 11 §4 across platforms: a month both platforms rejected (70) is applied again alike once
/// the pair's next month was run. T settles (its clock moved, as of the 15th) in the three months
/// before this one and in this one: the second prepays, the third (month A) is met from the
/// prepayment, and this month (B) cancels one of A's settlements (carried). Both platforms run the
/// four months; A is rejected on both after B was run (`rejected_before_b`: before, so B starts from
/// the balance before A), the same audit deduction is entered on both, and both apply A again: the
/// same new id, the same rows to the fen (A takes the prepayment B stands on, B keeps its row), the
/// insured side's clearing flows equal to the treating side's, the chain of prepayment balances
/// the same on both, the transfer paid on both alike; every day reconciles and both verify.
async fn a_rejected_month_clears_alike(backend: Backend, rejected_before_b: bool) {
    use yibao_clearing::{ClearingState, Month};
    use yibao_ledger::clearing::{self, ReviewDeduction};
    let policy = yibao_clearing::ClearingPolicy::load(&clearing_policy_path()).unwrap();
    let mut p = Platforms::start_on(backend, backend).await;
    let mut months: Vec<Month> = Vec::new();
    let mut days: Vec<(String, usize)> = Vec::new();
    let mut in_a = Vec::new();
    for back in [3, 2, 1] {
        let (month, offset) = month_back(back);
        p = with_treating_clock(p, offset).await;
        let count = if back == 1 { 2 } else { 1 };
        for _ in 0..count {
            let (visit, settled) = settled_visit(&p).await;
            let setl_time = settled["setl_time"].as_str().unwrap();
            assert_eq!(&setl_time[..7], month.to_string(), "T's clock: {settled}");
            if back == 1 {
                in_a.push((visit, settled.clone()));
            }
        }
        months.push(month);
        days.push((format!("{month}-15"), count));
    }
    p = with_treating_clock(p, 0).await;
    let (month_b, _) = month_back(0);
    let (_, in_b) = settled_visit(&p).await;
    let (cancelled_visit, cancelled) = &in_a[0];
    let undone =
        p.t.ok(
            "2305",
            HOSPITAL,
            Platforms::cancel_input(cancelled_visit, cancelled["setl_id"].as_str().unwrap()),
        )
        .await;
    months.push(month_b);
    let fund = |v: &Value| Fen(fen(&v["fund_pay_sumamt"]));
    assert_eq!(fund(&undone["setlinfo"]), Fen(0) - fund(cancelled));
    for (day, live) in &days {
        p.assert_agree_on(day, *live).await;
    }
    p.assert_agree(0).await;

    // Both platforms run the months in order, with the same rows; A is rejected on both after B
    // was run (or, `rejected_before_b`, before).
    for &month in &months[..3] {
        run_on_both(&p, &policy, month).await;
    }
    let earlier = standing_clearings(&p.i).await;
    let a = earlier[2].clone();
    assert!(a.row.prepayment.offset > Fen(0), "{:?}", a.row.prepayment);
    assert_eq!(a.row.settlements, 2);
    let id = a.clr_id.clone();
    if rejected_before_b {
        reject_on_both(&p, &id).await;
    }
    run_on_both(&p, &policy, month_b).await;
    if !rejected_before_b {
        reject_on_both(&p, &id).await;
    }
    let b = standing_clearings(&p.i).await.pop().unwrap();
    assert_eq!(b.row.month, month_b);
    assert_eq!(
        (b.row.settlements, b.row.carried_cancellations),
        (1, 1),
        "{b:?}"
    );
    assert_eq!(b.row.fund_owed, fund(&in_b) - fund(cancelled));
    let stood_on = if rejected_before_b { &earlier[1] } else { &a };
    assert_eq!(
        b.row.prepayment.balance_before,
        stood_on.row.prepayment.balance_after
    );

    // The same audit deduction entered on both, A applied again on both.
    let audit = Fen(5_000);
    let deduction = ReviewDeduction {
        deduction_id: "D-A".into(),
        month: a.row.month,
        key: a.row.key,
        inspection: false,
        amount: audit,
        reason: "审核扣款".into(),
    };
    for h in [&p.i, &p.t] {
        clearing::add_deductions(&h.store, std::slice::from_ref(&deduction), "t2")
            .await
            .unwrap();
    }
    let (i_again, t_again) =
        on_both(&p, &format!("/admin/clearings/{id}/resubmit"), json!({})).await;
    let new_id = format!("{id}-2");
    for again in [&i_again, &t_again] {
        assert_eq!(again["stored_now"], true, "{again}");
        assert_eq!(again["clearing"]["clr_id"], new_id.as_str(), "{again}");
        assert_eq!(again["clearing"]["resubmits"], id.as_str());
    }
    let (i_rows, t_rows) = (
        standing_clearings(&p.i).await,
        standing_clearings(&p.t).await,
    );
    assert_eq!(i_rows.len(), 4);
    let alike_rows = |rows: &[clearing::StoredClearing]| {
        rows.iter()
            .map(|s| (s.clr_id.clone(), alike(&s.row)))
            .collect::<Vec<_>>()
    };
    assert_eq!(alike_rows(&i_rows), alike_rows(&t_rows));
    let again = &i_rows[2];
    assert_eq!(again.clr_id, new_id);
    let row = &again.row;
    let carried = if rejected_before_b {
        yibao_clearing::Prepayment {
            size: a.row.prepayment.size,
            balance_before: b.row.prepayment.balance_before,
            offset: Fen(0),
            top_up: Fen(0),
            balance_after: b.row.prepayment.balance_before,
        }
    } else {
        a.row.prepayment
    };
    assert_eq!(
        row.prepayment, carried,
        "A takes the prepayment B stands on: its own, or none when B was run without it"
    );
    assert_eq!((row.settlements, row.fund_owed), (2, a.row.fund_owed));
    assert_eq!(row.deductions.audit, audit);
    assert_eq!(
        row.cleared,
        row.fund_owed - audit - row.prepayment.offset - row.deductions.reserve_withheld
    );
    assert_eq!(i_rows[3], b, "B keeps its row");
    for rows in [&i_rows, &t_rows] {
        let moved: Fen = rows
            .iter()
            .map(|s| s.row.prepayment.top_up - s.row.prepayment.offset)
            .sum();
        assert_eq!(moved, rows[3].row.prepayment.balance_after);
        for pair in rows.windows(2) {
            assert_eq!(
                pair[0].row.prepayment.balance_after,
                pair[1].row.prepayment.balance_before
            );
        }
    }

    // The books: what I owes through clearing is what T is owed, flow for flow.
    let sum = |f: fn(&clearing::StoredClearing) -> Fen| i_rows.iter().map(f).sum::<Fen>();
    let (i_books, t_books) = (p.i.clearing_flows().await, p.t.clearing_flows().await);
    let flow = |books: &std::collections::BTreeMap<String, Fen>, name: &str| {
        books.get(name).copied().unwrap_or(Fen(0))
    };
    for (insured, treating, expected) in [
        (
            "clearing_payable",
            "clearing_receivable",
            sum(|s| s.row.fund_owed),
        ),
        ("clearing_payable_audit", "clearing_receivable_audit", audit),
        (
            "clearing_payable_prepayment_offset",
            "clearing_receivable_prepayment_offset",
            sum(|s| s.row.prepayment.offset),
        ),
        (
            "clearing_prepayment_paid_in",
            "clearing_prepayment_received",
            sum(|s| s.row.prepayment.top_up),
        ),
    ] {
        assert_eq!(flow(&i_books, insured), expected, "{insured}: {i_books:?}");
        assert_eq!(
            flow(&t_books, treating),
            expected,
            "{treating}: {t_books:?}"
        );
    }
    assert_eq!(
        flow(&t_books, "clearing_owed_to_hospitals"),
        sum(|s| s.row.fund_owed)
    );

    // Paid on both: I's transfer is T's collection.
    for to in ["20", "30", "40", "50", "60"] {
        let advance = json!({ "to": to, "operator": "清算科" });
        on_both(&p, &format!("/admin/clearings/{new_id}/advance"), advance).await;
    }
    let (i_books, t_books) = (p.i.clearing_flows().await, p.t.clearing_flows().await);
    assert_eq!(flow(&i_books, "clearing_payable_settled"), row.cleared);
    assert_eq!(flow(&t_books, "clearing_receivable_collected"), row.cleared);
    assert_eq!(
        flow(&t_books, "clearing_paid_to_hospitals"),
        row.cleared + row.prepayment.offset
    );
    let states =
        |rows: &[clearing::StoredClearing]| rows.iter().map(|s| s.state).collect::<Vec<_>>();
    let standing = standing_clearings(&p.t).await;
    assert_eq!(states(&standing)[2], ClearingState::Paid);
    assert_eq!(states(&standing_clearings(&p.i).await), states(&standing));
    p.t.assert_verifies().await;
    p.i.assert_verifies().await;
    p.t.stop().await;
    p.i.stop().await;
}

#[tokio::test]
async fn a_month_rejected_after_the_next_clears_alike_sqlite() {
    a_rejected_month_clears_alike(Backend::Sqlite, false).await;
}

#[tokio::test]
async fn a_month_rejected_after_the_next_clears_alike_postgres() {
    a_rejected_month_clears_alike(Backend::Postgres, false).await;
}

#[tokio::test]
async fn a_month_rejected_before_the_next_clears_alike_sqlite() {
    a_rejected_month_clears_alike(Backend::Sqlite, true).await;
}

#[tokio::test]
async fn a_month_rejected_before_the_next_clears_alike_postgres() {
    a_rejected_month_clears_alike(Backend::Postgres, true).await;
}

/// P0001's 1101 at T (forwarded to I).
fn person_input() -> Value {
    json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402196005010011", "psn_cert_type": "01", "certno": "360402196005010011" } })
}

/// A person as a platform's register holds them, the personal account's opening balance aside
/// (T keeps a remote person's account at 0).
async fn registered(h: &Harness, psn_no: &str) -> yibao_ledger::Person {
    let mut conn = h.store.pool().acquire().await.unwrap();
    let mut person = yibao_ledger::registry::person(&mut conn, psn_no)
        .await
        .unwrap()
        .unwrap();
    for row in &mut person.insu {
        row.opening_balc = Fen(0);
    }
    person
}

/// Issue 11 §2: a person's first 1101s at T, eight at once (desks of the hospital asking for the
/// same newly arrived person), forwarded to I: each is answered alike, and T's register holds the
/// person once, with the rows I answered — what one 1101 leaves; a visit then settles.
async fn first_person_queries_at_once(backend: Backend) {
    let mut p = Platforms::start_on(Backend::Sqlite, backend).await;
    let t = Arc::new(p.t);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let t = Arc::clone(&t);
        tasks.spawn(async move { t.call("1101", HOSPITAL, person_input()).await });
    }
    let replies: Vec<Value> = tasks.join_all().await;
    p.t = Arc::try_unwrap(t).ok().unwrap();
    for reply in &replies {
        assert_ok(reply);
        assert_eq!(reply["output"], replies[0]["output"]);
    }
    assert_eq!(replies[0]["output"]["baseinfo"]["psn_no"], "P0001");
    let kept = registered(&p.t, "P0001").await;
    assert_eq!(kept, registered(&p.i, "P0001").await);
    let mut conn = p.t.store.pool().acquire().await.unwrap();
    let rows: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM person_insu WHERE psn_no = 'P0001'")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        "n",
    );
    drop(conn);
    assert_eq!(rows, kept.insu.len() as i64);
    assert_ok(&p.settle(&p.visit().await, &p.t.msgid(HOSPITAL)).await);
    assert_eq!(registered(&p.t, "P0001").await, kept);
    p.assert_agree(1).await;
    p.t.stop().await;
    p.i.stop().await;
}

#[tokio::test]
async fn first_person_queries_at_once_sqlite() {
    first_person_queries_at_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn first_person_queries_at_once_postgres() {
    first_person_queries_at_once(Backend::Postgres).await;
}

#[tokio::test]
async fn the_peer_api_refuses_unsigned_and_replayed_calls() {
    let p = Platforms::start(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let url = format!("{}/peer/v1/day", p.i.base);
    let body = br#"{"date":"2026-03-01"}"#.to_vec();
    let unsigned = client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let headers = yibao_server::peer::auth::headers(
        &peer("44", ""),
        "POST",
        "/peer/v1/day",
        &body,
        chrono::Utc::now().timestamp(),
    );
    let send = || {
        let mut request = client.post(&url).body(body.clone());
        for (name, value) in &headers {
            request = request.header(*name, value.as_str());
        }
        request.send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    let nonce = &headers
        .iter()
        .find(|(name, _)| *name == "x-peer-nonce")
        .unwrap()
        .1;
    let mut conn = p.i.store.pool().acquire().await.unwrap();
    let stored = yibao_ledger::gateway::live_tokens(&mut conn, chrono::Utc::now().timestamp())
        .await
        .unwrap();
    drop(conn);
    let token = format!("peer:{}:{nonce}", peer("44", "").access_key);
    assert!(
        stored.iter().any(|(t, _)| *t == token),
        "the nonce is durable once the call is answered"
    );
    assert_eq!(
        send().await.unwrap().status(),
        401,
        "a nonce is accepted once"
    );
    let stranger = PeerConfig {
        access_key: "other".into(),
        ..peer("44", "")
    };
    let forged = yibao_server::peer::auth::headers(
        &stranger,
        "POST",
        "/peer/v1/day",
        &body,
        chrono::Utc::now().timestamp(),
    );
    let mut request = client.post(&url).body(body.clone());
    for (name, value) in &forged {
        request = request.header(*name, value.as_str());
    }
    assert_eq!(request.send().await.unwrap().status(), 401);
    let mut envelope = Harness::envelope(
        "1101",
        HOSPITAL,
        &p.t.msgid(HOSPITAL),
        json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402196005010011" } }),
    );
    envelope["insuplc_admdvs"] = json!("510100");
    let (_, text) = p.t.post(serde_json::to_vec(&envelope).unwrap(), &[]).await;
    let refused: Value = serde_json::from_str(&text).unwrap();
    assert_refused(&refused, "既不是本平台的统筹区");
    let missing =
        p.t.call(
            "1101",
            HOSPITAL,
            json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "1" } }),
        )
        .await;
    assert_eq!(
        missing["infcode"], -1,
        "I's refusal reaches the hospital: {missing}"
    );
    p.t.stop().await;
    p.i.stop().await;
}

/// A person whose card the insured platform suspended is refused there when another platform's
/// hospital asks for them (1101, before registering a visit), naming the person and the dates.
#[tokio::test]
async fn a_suspended_card_is_refused_at_the_insured_platform() {
    let p = Platforms::start(Backend::Sqlite).await;
    p.person().await;
    let today = chrono::Local::now().date_naive();
    let until = today + chrono::Duration::days(90);
    let suspension = json!({ "begndate": today.to_string(), "enddate": until.to_string(), "reason": "骗保", "doc_no": "浔医保〔2026〕11号", "operator": "稽核科" });
    p.i.admin(
        "POST",
        "/admin/persons/P0001/suspensions",
        suspension.to_string(),
    )
    .await;
    let refused =
        p.t.fails(
            "1101",
            HOSPITAL,
            json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402196005010011", "psn_cert_type": "01", "certno": "360402196005010011" } }),
        )
        .await;
    assert!(
        refused.contains("人员 P0001")
            && refused.contains("暂停联网结算")
            && refused.contains(&until.to_string())
            && refused.contains("不能在异地就医"),
        "{refused}"
    );
    p.t.stop().await;
    p.i.stop().await;
}
