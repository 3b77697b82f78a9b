//! Hostile input seen against a running service (2026-12-06), each as a regression test over real
//! HTTP: amounts with huge exponents, NUL characters, a reused `msgid` with another body, the admin
//! API without a token or with a huge body, slow and idle connections, and replayed gateway tokens.

use crate::common;

use std::time::{Duration, Instant};

use common::{fresh_database, line, Backend, Harness, DRUG};
use serde_json::json;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";

async fn register(h: &Harness, psn_no: &str, insutype: &str) -> String {
    let out = h
        .ok("2201", HOSPITAL, json!({ "data": { "psn_no": psn_no, "insutype": insutype, "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "ipt_otp_no": "OTP1" } }))
        .await;
    out["data"]["mdtrt_id"].as_str().unwrap().to_string()
}

/// An amount such as `0e2147483647` is refused in microseconds, naming the field; the writer is not
/// held and the visit can go on.
async fn huge_exponents(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "exp").await;
    let mdtrt_id = register(&h, "P0002", "310").await;
    for (field, hostile) in [
        ("det_item_fee_sumamt", "0e2147483647"),
        ("det_item_fee_sumamt", "1e-2147483648"),
        ("cnt", "0E999999999"),
        ("pric", "1".repeat(5_000).as_str()),
    ] {
        let mut fee = line("1", &mdtrt_id, DRUG, "10", "10.00", "100.00");
        fee[field] = json!(hostile);
        let started = Instant::now();
        let err = h
            .fails("2204", HOSPITAL, json!({ "feedetail": [fee] }))
            .await;
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{field}={hostile}: took {:?}",
            started.elapsed()
        );
        assert!(
            err.starts_with(&format!("参数 input.feedetail[0].{field} 有误：")),
            "{err}"
        );
    }
    let fee = line("1", &mdtrt_id, DRUG, "10", "10.00", "100.00");
    h.ok("2204", HOSPITAL, json!({ "feedetail": [fee] })).await;
    assert_eq!(h.verify().await["ok"], true);
}

#[tokio::test]
async fn huge_exponents_sqlite() {
    huge_exponents(Backend::Sqlite).await;
}

#[tokio::test]
async fn huge_exponents_postgres() {
    huge_exponents(Backend::Postgres).await;
}

/// A NUL character in any field is refused at parsing, naming the field, and fails that message
/// alone: the other hospitals' concurrent messages succeed.
async fn nul_characters(backend: Backend) {
    let h = std::sync::Arc::new(Harness::start(backend, AuthMode::None, "nul").await);
    let mdtrt_id = register(&h, "P0002", "310").await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let h = std::sync::Arc::clone(&h);
        let mdtrt_id = mdtrt_id.clone();
        tasks.push(tokio::spawn(async move {
            if i == 12 {
                let mut fee = line("9", &mdtrt_id, DRUG, "1", "10.00", "10.00");
                fee["bilg_dr_name"] = json!("医生\u{0}甲");
                let err = h
                    .fails("2204", HOSPITAL, json!({ "feedetail": [fee] }))
                    .await;
                assert_eq!(
                    err,
                    "参数 input.feedetail[0].bilg_dr_name 有误：含有 NUL 字符（\\u0000），任何字段都不能含有该字符"
                );
            } else {
                register(&h, "P0001", "390").await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let err = h
        .fails("2201", HOSPITAL, json!({ "data": { "psn_no": "P0001\u{0}", "insutype": "390", "begntime": "2026-03-01 09:00:00" } }))
        .await;
    assert!(err.contains("input.data.psn_no"), "{err}");
    assert_eq!(h.verify().await["ok"], true);
}

#[tokio::test]
async fn nul_characters_sqlite() {
    nul_characters(Backend::Sqlite).await;
}

#[tokio::test]
async fn nul_characters_postgres() {
    nul_characters(Backend::Postgres).await;
}

/// The same `msgid` with the same body is a retry (the stored reply); with another body it is
/// refused, and never answered with another message's reply.
async fn reused_msgid(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "msgid").await;
    let msgid = h.msgid(HOSPITAL);
    let first_input = json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } });
    let (first, reply) = h
        .call_with("2201", HOSPITAL, &msgid, first_input.clone())
        .await;
    assert_eq!(reply["infcode"], 0, "{reply}");
    let (again, _) = h.call_with("2201", HOSPITAL, &msgid, first_input).await;
    assert_eq!(first, again);
    let other_input = json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } });
    let (text, reply) = h.call_with("2201", HOSPITAL, &msgid, other_input).await;
    assert_eq!(reply["infcode"], -1, "{text}");
    assert!(reply["output"].is_null(), "{text}");
    let err = reply["err_msg"].as_str().unwrap();
    assert!(
        err.starts_with("参数 msgid 有误：") && err.contains("内容不同"),
        "{err}"
    );
    assert!(!text.contains("P0001"), "{text}");
}

#[tokio::test]
async fn reused_msgid_sqlite() {
    reused_msgid(Backend::Sqlite).await;
}

#[tokio::test]
async fn reused_msgid_postgres() {
    reused_msgid(Backend::Postgres).await;
}

async fn scratch_config(tag: &str) -> Config {
    let (database, dir) = fresh_database(Backend::Sqlite, tag).await;
    Config {
        database,
        data_dir: dir,
        ..Config::default()
    }
}

/// Sends raw bytes and reads what comes back within `wait` (the text, and whether the server
/// closed the connection).
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8], wait: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&received).into(), true),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into(), false),
        }
    }
}

/// Without a token the admin API is off (unless `admin_open`); with one, the token is checked before
/// the body is read, and a body over the limit is refused.
#[tokio::test]
async fn admin_api_guard() {
    let config = scratch_config("admin").await;
    let dir = config.data_dir.clone();
    let (addr, _service) = yibao_server::app::spawn(config).await.unwrap();
    let client = reqwest::Client::new();
    let off = client
        .get(format!("http://{addr}/admin/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 404);
    assert!(off.text().await.unwrap().contains("admin API is off"));
    let _ = std::fs::remove_dir_all(dir);

    let mut config = scratch_config("admin-open").await;
    config.admin_open = true;
    let dir = config.data_dir.clone();
    let (addr, _service) = yibao_server::app::spawn(config).await.unwrap();
    let open = client
        .get(format!("http://{addr}/admin/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let _ = std::fs::remove_dir_all(dir);

    let mut config = scratch_config("admin-token").await;
    config.admin_token = "s3cret".into();
    config.admin_body_limit_bytes = 1024;
    let dir = config.data_dir.clone();
    let (addr, _service) = yibao_server::app::spawn(config).await.unwrap();
    // 250 MB announced, a few bytes sent: refused at once, nothing waits for the rest.
    let head = b"POST /admin/persons HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 262144000\r\n\r\n[{";
    let started = Instant::now();
    let (reply, _) = raw_exchange(addr, head, Duration::from_secs(3)).await;
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let too_large = client
        .post(format!("http://{addr}/admin/persons"))
        .bearer_auth("s3cret")
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), 413);
    let _ = std::fs::remove_dir_all(dir);
}

/// A client that sends its headers or body too slowly is cut off; connections beyond the limit wait
/// until others close.
#[tokio::test]
async fn slow_and_excess_connections() {
    let mut config = scratch_config("conn").await;
    config.header_timeout_ms = 400;
    config.body_timeout_ms = 400;
    config.max_connections = 4;
    let dir = config.data_dir.clone();
    let (addr, _service) = yibao_server::app::spawn(config).await.unwrap();

    let started = Instant::now();
    let (_, closed) = raw_exchange(
        addr,
        b"POST /fsi/api/rsfComIfsService/callService HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(closed, "a half-sent header keeps the connection");
    assert!(started.elapsed() < Duration::from_secs(2));

    let (reply, _) = raw_exchange(
        addr,
        b"POST /fsi/api/rsfComIfsService/callService HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"infno\"",
        Duration::from_secs(3),
    )
    .await;
    assert!(
        reply.contains("请求报文有误：未在 400 毫秒内完整接收"),
        "{reply}"
    );

    let idle: Vec<TcpStream> = futures_connect(addr, 4).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let refused = client.get(format!("http://{addr}/healthz")).send().await;
    assert!(refused.is_err(), "a fifth connection was served at once");
    drop(idle);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let served = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let _ = std::fs::remove_dir_all(dir);
}

async fn futures_connect(addr: std::net::SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        streams.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the listener accept them all.
    tokio::time::sleep(Duration::from_millis(50)).await;
    streams
}

/// A gateway token is accepted once, and still refused after a restart.
async fn replay_tokens_survive_restarts(backend: Backend) {
    let (database, dir) = fresh_database(backend, "replay").await;
    let store = yibao_ledger::Store::open(&database).await.unwrap();
    let now = 1_790_000_000;
    let guard = yibao_server::replay::ReplayGuard::start(store.clone(), now)
        .await
        .unwrap();
    guard
        .claim("csb/AK/sig1".into(), now + 60, now)
        .await
        .unwrap();
    assert_eq!(
        guard.claim("csb/AK/sig1".into(), now + 60, now + 1).await,
        Err(yibao_server::replay::ReplayError::Replayed)
    );
    let restarted = yibao_server::replay::ReplayGuard::start(store.clone(), now + 2)
        .await
        .unwrap();
    assert_eq!(
        restarted
            .claim("csb/AK/sig1".into(), now + 60, now + 2)
            .await,
        Err(yibao_server::replay::ReplayError::Replayed)
    );
    restarted
        .claim("csb/AK/sig2".into(), now + 60, now + 2)
        .await
        .unwrap();
    // Once the request's timestamp is out of the window the token is no longer kept.
    let later = yibao_server::replay::ReplayGuard::start(store, now + 61)
        .await
        .unwrap();
    later
        .claim("csb/AK/sig1".into(), now + 121, now + 61)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn replay_tokens_survive_restarts_sqlite() {
    replay_tokens_survive_restarts(Backend::Sqlite).await;
}

#[tokio::test]
async fn replay_tokens_survive_restarts_postgres() {
    replay_tokens_survive_restarts(Backend::Postgres).await;
}

/// A damaged row in our own register is a storage error, never a field error of the hospital, and
/// the message changes nothing.
async fn damaged_register_row(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "corrupt").await;
    let mut conn = h.store.pool().acquire().await.unwrap();
    sqlx::query("UPDATE person_insu SET psn_insu_date = 'soon' WHERE psn_no = 'P0001'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let err = h
        .fails("2201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } }))
        .await;
    assert_eq!(
        err,
        "医保端处理失败：本交易所需的医保端存储记录已损坏（医保端数据异常），未记录任何数据，须由医保经办机构修复"
    );
    let report = h.verify().await;
    assert_eq!(report["entries"], 0, "{report}");
}

#[tokio::test]
async fn damaged_register_row_sqlite() {
    damaged_register_row(Backend::Sqlite).await;
}

#[tokio::test]
async fn damaged_register_row_postgres() {
    damaged_register_row(Backend::Postgres).await;
}

/// Over-long texts are refused naming the field, never stored and echoed.
#[tokio::test]
async fn over_long_texts_are_refused() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "long").await;
    let err = h
        .fails("2201", HOSPITAL, json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "ipt_otp_no": "X".repeat(200_000) } }))
        .await;
    assert!(
        err.starts_with("参数 input.data.ipt_otp_no 有误："),
        "{err}"
    );
    let mdtrt_id = register(&h, "P0002", "310").await;
    let mut fee = line("1", &mdtrt_id, DRUG, "1", "10.00", "10.00");
    fee["bilg_dr_name"] = json!("Y".repeat(500_000));
    let err = h
        .fails("2204", HOSPITAL, json!({ "feedetail": [fee] }))
        .await;
    assert!(
        err.starts_with("参数 input.feedetail[0].bilg_dr_name 有误："),
        "{err}"
    );
    assert_eq!(h.verify().await["ok"], true);
}

/// Extreme but parseable prices and quantities never overflow: each is refused or settles exactly.
#[tokio::test]
async fn extreme_prices_and_quantities() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "extreme").await;
    let mdtrt_id = register(&h, "P0002", "310").await;
    for (n, (cnt, pric, amount)) in [
        ("0", "9223372036854", "0"),
        ("0", "-9223372036854", "0"),
        ("922337203685", "9223372036854", "100.00"),
        ("-922337203685", "-9223372036854", "-100.00"),
        ("1", "0.000001", "0.00"),
    ]
    .into_iter()
    .enumerate()
    {
        let fee = line(&format!("{}", n + 1), &mdtrt_id, DRUG, cnt, pric, amount);
        let reply = h
            .call("2204", HOSPITAL, json!({ "feedetail": [fee] }))
            .await;
        assert!(
            reply["infcode"] == 0 || reply["infcode"] == -1,
            "{cnt} × {pric}: {reply}"
        );
    }
    let pre = h
        .call(
            "2206",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "insutype": "310" } }),
        )
        .await;
    let text = pre.to_string();
    assert!(!text.contains("医保端处理失败"), "{text}");
    assert_eq!(h.verify().await["ok"], true);
}

/// A visit's stored facts are read once, at the ledger's edge: a damaged stored time is a storage
/// error; a visit stored before its facts had columns is read from its details.
#[tokio::test]
async fn stored_visit_rows_are_parsed_at_the_edge() {
    let (database, dir) = fresh_database(Backend::Sqlite, "visitrow").await;
    let (_, first_scratch) = fresh_database(Backend::Sqlite, "visitrow1").await;
    let h = Harness::start_with(Config {
        database: database.clone(),
        data_dir: first_scratch,
        ..Config::default()
    })
    .await;
    h.load_fixtures().await;
    let damaged = register(&h, "P0002", "310").await;
    let legacy = register(&h, "P0002", "310").await;
    let restarted = {
        h.stop().await;
        let mut conn = sqlx::AnyConnection::connect(&database).await.unwrap();
        sqlx::query("UPDATE visits SET begntime = 'soon' WHERE mdtrt_id = $1")
            .bind(damaged.clone())
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE visits SET mdtrt_cert_type = '', dise_codg = '', refl_flag = '', \
             info = '{\"mdtrt_cert_type\":\"03\",\"refl_flag\":\"1\",\"dise_codg\":\"J06.900\"}' \
             WHERE mdtrt_id = $1",
        )
        .bind(legacy.clone())
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);
        Harness::start_with(Config {
            database,
            data_dir: dir,
            ..Config::default()
        })
        .await
    };
    let fee = |visit: &str| json!({ "feedetail": [line("1", visit, DRUG, "1", "10.00", "10.00")] });
    // The restarted harness numbers its msgids from where the first began: give them its own.
    let (_, reply) = restarted
        .call_with("2204", HOSPITAL, "RESTARTED2204A", fee(&damaged))
        .await;
    let err = reply["err_msg"].as_str().unwrap_or_default();
    assert!(
        err.starts_with("医保端处理失败：") && err.contains("已损坏"),
        "{reply}"
    );
    let (_, reply) = restarted
        .call_with("2204", HOSPITAL, "RESTARTED2204B", fee(&legacy))
        .await;
    assert_eq!(reply["infcode"], 0, "{reply}");
    let (_, settled) = restarted
        .call_with(
            "2207",
            HOSPITAL,
            "RESTARTED2207",
            json!({ "data": { "psn_no": "P0002", "mdtrt_id": legacy, "medfee_sumamt": "10.00" } }),
        )
        .await;
    assert_eq!(
        settled["output"]["setlinfo"]["mdtrt_cert_type"], "03",
        "{settled}"
    );
}
