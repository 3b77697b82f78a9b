//! Test harness: a real server on an ephemeral port over SQLite (temp dir) or PostgreSQL (a fresh
//! schema per test), loaded with the 九江 policy, the sample catalogue and the fixtures in `tests/data`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};
use sqlx::Connection;
use yibao_ledger::Store;
use yibao_server::app::Running;
use yibao_server::config::{AuthMode, Config};
use yibao_server::import::{self, PersonRow};

/// The admin token of harness servers started without one.
pub const ADMIN_TOKEN: &str = "harness-admin-token";

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// 九江's policy (`policies/jiujiang.toml`) for the pooling region `admdvs` (6 digits, `xxxx00`) of
/// another province: the treating platforms of the tests across platforms (the sources hold no
/// other province's figures).
pub fn jiujiang_rules_at(admdvs: &str) -> String {
    std::fs::read_to_string(repo_root().join("policies/jiujiang.toml"))
        .unwrap()
        .replace("admdvs = \"360400\"", &format!("admdvs = \"{admdvs}\""))
        .replace("[\"3604\"]", &format!("[\"{}\"]", &admdvs[..4]))
        .replace(
            "province_prefixes = [\"36\"]",
            &format!("province_prefixes = [\"{}\"]", &admdvs[..2]),
        )
}

pub fn pg_base_url() -> String {
    std::env::var("YIBAO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn unique(tag: &str) -> String {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000_000;
    format!(
        "{tag}_{}_{nanos}_{}",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    )
}

static JANITOR: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Drops the test schemas (`t_<tag>_<pid>_…`) left by test processes that are no longer running.
async fn drop_stale_schemas(conn: &mut sqlx::AnyConnection) {
    use sqlx::Row;
    let rows = sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't!_%' ESCAPE '!'")
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String, _>("nspname") else {
            continue;
        };
        let pid = name.split('_').nth(2).unwrap_or_default();
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("yibao-{tag}")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PostgreSQL URL whose sessions use `schema`.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// A database URL (and scratch directory) for one test.
pub async fn fresh_database(backend: Backend, tag: &str) -> (String, PathBuf) {
    let dir = scratch_dir(tag);
    match backend {
        Backend::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.join("yibao.db").display()),
            dir,
        ),
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let schema = unique(&format!("t_{tag}")).to_lowercase();
            let mut admin = sqlx::AnyConnection::connect(&pg_base_url())
                .await
                .expect("PostgreSQL is reachable (YIBAO_TEST_PG_URL)");
            JANITOR.get_or_init(|| drop_stale_schemas(&mut admin)).await;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut admin)
                .await
                .unwrap();
            (with_search_path(&pg_base_url(), &schema), dir)
        }
    }
}

/// A running server and an HTTP client for it.
pub struct Harness {
    pub base: String,
    pub client: reqwest::Client,
    /// The running service, when this harness started it (`None` when attached to a server
    /// elsewhere).
    pub running: Option<Running>,
    /// The server's database, for direct reads (opened without a writer).
    pub store: Store,
    pub database: String,
    serial: AtomicU64,
    /// The test's scratch directory (`config.data_dir`), removed with the harness.
    scratch: PathBuf,
    /// Bearer token of the server's admin API.
    admin_token: String,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Harness {
    /// Starts a server with the fixtures loaded.
    pub async fn start(backend: Backend, auth: AuthMode, tag: &str) -> Harness {
        let (database, dir) = fresh_database(backend, tag).await;
        let config = Config {
            database: database.clone(),
            data_dir: dir,
            auth,
            ..Config::default()
        };
        let harness = Harness::start_with(config).await;
        harness.load_fixtures().await;
        harness
    }

    /// The same harness talking to another server (e.g. a restarted child process).
    pub fn with_base(mut self, base: String) -> Harness {
        self.base = base;
        self
    }

    /// Starts a server with a given configuration and no data; `config.data_dir` is the test's
    /// scratch directory and is removed with the harness. Without an admin token in `config` the
    /// server gets [`ADMIN_TOKEN`], which [`Harness::admin`] sends.
    pub async fn start_with(mut config: Config) -> Harness {
        if config.admin_token.is_empty() {
            config.admin_token = ADMIN_TOKEN.into();
        }
        let admin_token = config.admin_token.clone();
        let database = config.database.clone();
        let scratch = config.data_dir.clone();
        let running = yibao_server::app::spawn_stoppable(config)
            .await
            .expect("server starts");
        let store = running.service.shared.store.clone();
        Harness::new(
            format!("http://{}", running.addr),
            Some(running),
            store,
            (database, scratch),
            admin_token,
        )
    }

    /// A harness for a server running elsewhere (e.g. a child process, which holds the database's
    /// writer lock and was given [`ADMIN_TOKEN`]): requests go to `base`, reads to `database` opened
    /// without a writer.
    pub async fn attach(base: String, database: String, scratch: PathBuf) -> Harness {
        let store = Store::open(&database).await.expect("database opens");
        Harness::new(base, None, store, (database, scratch), ADMIN_TOKEN.into())
    }

    fn new(
        base: String,
        running: Option<Running>,
        store: Store,
        (database, scratch): (String, PathBuf),
        admin_token: String,
    ) -> Harness {
        Harness {
            base,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .unwrap(),
            running,
            store,
            database,
            serial: AtomicU64::new(0),
            scratch,
            admin_token,
        }
    }

    pub async fn load_fixtures(&self) {
        let policy = std::fs::read_to_string(repo_root().join("policies/jiujiang.toml")).unwrap();
        self.admin("PUT", "/admin/policy", policy).await;
        let catalog =
            std::fs::read_to_string(repo_root().join("catalogs/jiujiang-sample.csv")).unwrap();
        self.admin("PUT", "/admin/catalog/360400", catalog).await;
        let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let institutions = import::read_institutions_csv(
            std::fs::File::open(data.join("institutions.csv")).unwrap(),
        )
        .unwrap();
        self.admin(
            "POST",
            "/admin/institutions",
            serde_json::to_string(&institutions).unwrap(),
        )
        .await;
        let mut reader = csv::Reader::from_path(data.join("persons.csv")).unwrap();
        let rows: Vec<PersonRow> = reader.deserialize().collect::<Result<_, _>>().unwrap();
        self.admin(
            "POST",
            "/admin/persons",
            serde_json::to_string(&rows).unwrap(),
        )
        .await;
    }

    /// An admin request that must succeed.
    pub async fn admin(&self, method: &str, path: &str, body: String) -> Value {
        let (status, value) = self.admin_answer(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {value}"
        );
        value
    }

    /// The clearing flows of this platform's books, summed per flow, zero sums left out.
    pub async fn clearing_flows(&self) -> std::collections::BTreeMap<String, yibao_domain::Fen> {
        let mut conn = self.store.pool().acquire().await.unwrap();
        let rows = yibao_ledger::books::postings_until(&mut conn, "9999-12-31")
            .await
            .unwrap();
        let mut sums = std::collections::BTreeMap::new();
        for row in rows.into_iter().filter(|r| r.flow.starts_with("clearing_")) {
            *sums.entry(row.flow).or_insert(yibao_domain::Fen(0)) += row.amount;
        }
        sums.retain(|_, sum| *sum != yibao_domain::Fen(0));
        sums
    }

    /// An admin request, whatever its outcome: the HTTP status and the JSON answer.
    pub async fn admin_answer(
        &self,
        method: &str,
        path: &str,
        body: impl Into<String>,
    ) -> (u16, Value) {
        let request = match method {
            "PUT" => self.client.put(format!("{}{path}", self.base)),
            "POST" => self.client.post(format!("{}{path}", self.base)),
            _ => self.client.get(format!("{}{path}", self.base)),
        };
        let response = request
            .body(body.into())
            .bearer_auth(&self.admin_token)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Stops the server this harness started and waits until it has released the database.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// A fresh msgid for an institution.
    pub fn msgid(&self, fixmedins: &str) -> String {
        format!(
            "{fixmedins}20260301100000{:06}",
            self.serial.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The request envelope.
    pub fn envelope(infno: &str, fixmedins: &str, msgid: &str, input: Value) -> Value {
        let envelope = his_envelope();
        serde_json::to_value(envelope.request(infno, msgid, fixmedins, &input)).unwrap()
    }

    /// Posts a body; returns the status and text.
    pub async fn post(&self, body: Vec<u8>, headers: &[(String, String)]) -> (u16, String) {
        let mut request = self
            .client
            .post(format!(
                "{}/fsi/api/rsfComIfsService/callService",
                self.base
            ))
            .header("content-type", "text/plain; charset=utf-8")
            .body(body);
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts a transaction's envelope to a national `path` below the server (the file routes take
    /// 9101/9102); returns the reply as received.
    pub async fn post_raw(
        &self,
        path: &str,
        infno: &str,
        fixmedins: &str,
        input: Value,
    ) -> RawReply {
        let msgid = self.msgid(fixmedins);
        let body = serde_json::to_vec(&Harness::envelope(infno, fixmedins, &msgid, input)).unwrap();
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "text/plain; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = response.bytes().await.unwrap().to_vec();
        RawReply {
            status,
            content_type,
            bytes,
        }
    }

    /// 9102 on the download route: a file downloaded by its `file_qury_no`.
    pub async fn download(&self, fixmedins: &str, file_qury_no: &Value) -> RawReply {
        let input = json!({ "fsDownloadIn": { "file_qury_no": file_qury_no, "filename": "", "fixmedins_code": "plc" } });
        self.post_raw("/fsi/api/fileupload/download", "9102", fixmedins, input)
            .await
    }

    /// Calls a transaction with a given msgid; returns the reply text and parsed value.
    pub async fn call_with(
        &self,
        infno: &str,
        fixmedins: &str,
        msgid: &str,
        input: Value,
    ) -> (String, Value) {
        let body = serde_json::to_vec(&Harness::envelope(infno, fixmedins, msgid, input)).unwrap();
        let (status, text) = self.post(body, &[]).await;
        assert_eq!(status, 200, "{text}");
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("reply is JSON ({e}): {text}"));
        (text, value)
    }

    /// Calls a transaction with a fresh msgid.
    pub async fn call(&self, infno: &str, fixmedins: &str, input: Value) -> Value {
        let msgid = self.msgid(fixmedins);
        self.call_with(infno, fixmedins, &msgid, input).await.1
    }

    /// Calls a transaction that must succeed; returns `output`.
    pub async fn ok(&self, infno: &str, fixmedins: &str, input: Value) -> Value {
        let reply = self.call(infno, fixmedins, input).await;
        assert_eq!(reply["infcode"], 0, "{infno} failed: {reply}");
        reply["output"].clone()
    }

    /// Calls a transaction that must fail; returns `err_msg`.
    pub async fn fails(&self, infno: &str, fixmedins: &str, input: Value) -> String {
        let reply = self.call(infno, fixmedins, input).await;
        assert_eq!(reply["infcode"], -1, "{infno} should fail: {reply}");
        assert!(reply["output"].is_null(), "{reply}");
        reply["err_msg"].as_str().unwrap_or_default().to_string()
    }

    /// A HIS client of this server (`yibao-his`), sending the harness's envelope with fresh msgids.
    pub fn his(&self) -> yibao_his::Client<'_, yibao_his::HttpTransport> {
        yibao_his::Client::new(
            yibao_his::HttpTransport::new(self.client.clone(), &self.base),
            his_envelope(),
        )
        .with_msgids(|fixmedins: &str| self.msgid(fixmedins))
    }

    /// One accumulator of a person in a month (5206 `cum_type_code`), in fen (a count in
    /// hundredths); 0 when 5206 lists none.
    pub async fn accumulator(
        &self,
        fixmedins: &str,
        psn_no: &str,
        cum_ym: &str,
        code: &str,
    ) -> i64 {
        let cum = self
            .ok(
                "5206",
                fixmedins,
                json!({ "data": { "psn_no": psn_no, "cum_ym": cum_ym } }),
            )
            .await;
        cum["cuminfo"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cum_type_code"] == code)
            .map_or(0, |r| fen(&r["cum"]))
    }

    /// Runs the ledger verification through the admin API.
    pub async fn verify(&self) -> Value {
        self.admin("GET", "/admin/verify", String::new()).await
    }

    /// Runs the ledger verification, which must find no problem.
    pub async fn assert_verifies(&self) {
        let report = self.verify().await;
        assert_eq!(report["ok"], true, "{report}");
    }

    /// The server's metrics text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// A reply of a national route as received: status, content type and body.
pub struct RawReply {
    pub status: u16,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl RawReply {
    /// The reply envelope (the reply must be one).
    pub fn envelope(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "{}",
            self.content_type
        );
        serde_json::from_slice(&self.bytes).unwrap()
    }

    /// The text of the one TXT of a downloaded ZIP (the reply must be a file).
    pub fn unzipped(&self) -> String {
        use std::io::Read;
        assert_eq!(self.content_type, "application/octet-stream");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&self.bytes)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut text = String::new();
        archive
            .by_index(0)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }
}

/// The envelope fields of the tests' HIS messages.
pub fn his_envelope() -> yibao_his::Envelope {
    yibao_his::Envelope {
        mdtrtarea_admvs: "360400".into(),
        insuplc_admdvs: "360400".into(),
        recer_sys_code: "MBS_LOCAL".into(),
        opter: "001".into(),
        opter_name: "测试".into(),
        inf_time: yibao_his::InfTime::At("2026-03-01 10:00:00".into()),
        ..yibao_his::Envelope::default()
    }
}

/// A fee line.
pub fn line(sn: &str, mdtrt_id: &str, code: &str, cnt: &str, pric: &str, amount: &str) -> Value {
    json!({
        "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": "", "chrg_bchno": "B1", "med_list_codg": code,
        "medins_list_codg": code, "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric,
        "fee_ocur_time": "2026-03-01 10:00:00", "hosp_appr_flag": "1",
    })
}

/// The `setlinfo` amount columns compared across settlements.
pub const AMOUNT_COLUMNS: &[&str] = &[
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
];

/// Each `setlinfo` amount column summed over settlement outputs, in fen.
pub fn sum(outputs: &[&Value]) -> Vec<(&'static str, i64)> {
    AMOUNT_COLUMNS
        .iter()
        .map(|c| (*c, outputs.iter().map(|o| fen(&o["setlinfo"][c])).sum()))
        .collect()
}

/// The `setlinfo` amount columns, in fen, of one settlement output.
pub fn columns(output: &Value) -> Vec<(&'static str, i64)> {
    sum(&[output])
}

/// The `setl_id` of a settlement output.
pub fn setl_id(output: &Value) -> String {
    output["setlinfo"]["setl_id"].as_str().unwrap().to_string()
}

/// 普通病房床位费, 甲类 and capped at 40.00.
pub const BED: &str = "001201000010000";

/// A class-A drug of the sample catalogue.
pub const DRUG: &str = "XJ01CAA040A001010101791";

/// `days` bed-days (40.00 each) as line `sn`; a negative count refunds line `refunds`.
pub fn bed_days(sn: &str, mdtrt_id: &str, days: i64, refunds: Option<&str>) -> Value {
    let amount = format!("{}.00", days * 40);
    let mut line = line(sn, mdtrt_id, BED, &days.to_string(), "40.00", &amount);
    if let Some(original) = refunds {
        line["init_feedetl_sn"] = json!(original);
    }
    line
}

/// Sends a HIS message that must succeed; returns `output`.
pub async fn his_ok(
    his: &yibao_his::Client<'_, yibao_his::HttpTransport>,
    message: &yibao_his::Message,
) -> Value {
    match his.send(message).await {
        Ok(reply) => reply.output(),
        Err(error) => panic!("{} failed: {error}", message.infno),
    }
}

/// Sends a HIS message that the service must refuse; returns `err_msg`.
pub async fn his_refused(
    his: &yibao_his::Client<'_, yibao_his::HttpTransport>,
    message: &yibao_his::Message,
) -> String {
    match his.send(message).await {
        Err(yibao_his::HisError::Refused { err_msg, .. }) => err_msg,
        other => panic!("{} should be refused: {other:?}", message.infno),
    }
}

/// A reply amount (a number with two decimals, or its text) in fen.
pub fn fen(value: &Value) -> i64 {
    let text = yuan(value);
    let (units, cents) = text.trim_start_matches('-').split_once('.').unwrap();
    let value = units.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap();
    if text.starts_with('-') {
        -value
    } else {
        value
    }
}

/// Yuan text of a reply amount (numbers are written with two decimals).
pub fn yuan(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("{:.2}", n.as_f64().unwrap()),
        Value::String(s) => s.clone(),
        other => panic!("not an amount: {other}"),
    }
}

/// A 5203 `setlinfo` repeats every field of the settlement's own `setlinfo` (and adds the query's
/// fields: institution, dates, `psn_pay`, `cash_payamt`, `refd_setl_flag`, `year` …).
pub fn assert_query_repeats(query: &Value, settled: &Value) {
    for (field, value) in settled.as_object().expect("setlinfo is an object") {
        assert_eq!(&query[field], value, "5203 setlinfo.{field}");
    }
}

/// Runs `test` on a fresh harness (fixtures loaded, no gateway auth) on SQLite, then on PostgreSQL.
pub async fn each_backend<F, Fut>(tag: &str, test: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        eprintln!("on {backend:?}");
        test(Harness::start(backend, AuthMode::None, tag).await).await;
    }
}
