//! Care dates in the future or before 1900 over real HTTP, on SQLite and on PostgreSQL: a visit dated
//! 2099 or 9999 would settle against that year's untouched caps, so registration, admission,
//! discharge, fee lines and settlement refuse times later than the message's receive time plus
//! `future_tolerance_secs`, naming the field and the limit. Visits stored with such dates (before
//! the check, or under a laxer tolerance) are refused at settlement.

use crate::common;

use common::{line, Backend, Harness, DRUG};
use serde_json::{json, Value};
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";
const PHARMACY: &str = "P36040200031";
const BED: &str = "001201000010000";

/// Times far in the future.
const FUTURE: [&str; 2] = ["2099-01-01 09:00:00", "9999-12-31 23:59:59"];

/// An error names `field`, the refused time and the limit.
fn assert_future_refused(err: &str, field: &str, time: &str) {
    assert!(
        err.starts_with(&format!("参数 {field} 有误："))
            && err.contains(time)
            && err.contains("晚于可受理的最晚时间")
            && err.contains("允许的时钟偏差 1800 秒"),
        "{err}"
    );
}

/// The current local time plus `minutes`, as wire text.
fn in_minutes(minutes: i64) -> String {
    (chrono::Local::now().naive_local() + chrono::TimeDelta::minutes(minutes))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

async fn register(h: &Harness, begntime: &str) -> Value {
    h.call(
        "2201",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": begntime } }),
    )
    .await
}

async fn admit(h: &Harness, begntime: &str) -> Value {
    h.call("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "P0001", "insutype": "390", "med_type": "21", "begntime": begntime } }))
        .await
}

/// The `err_msg` of a reply that must be a refusal.
fn refusal(reply: &Value) -> String {
    assert_eq!(reply["infcode"], -1, "{reply}");
    reply["err_msg"].as_str().unwrap().to_string()
}

fn mdtrt_id(reply: &Value) -> String {
    assert_eq!(reply["infcode"], 0, "{reply}");
    let output = &reply["output"];
    output["data"]["mdtrt_id"]
        .as_str()
        .or(output["result"]["mdtrt_id"].as_str())
        .unwrap()
        .to_string()
}

/// A fee line at `time`.
fn line_at(sn: &str, mdtrt_id: &str, code: &str, time: &str) -> Value {
    let mut line = line(sn, mdtrt_id, code, "1", "40.00", "40.00");
    line["fee_ocur_time"] = json!(time);
    line
}

async fn refuses_future_times(h: &Harness) {
    let visit = mdtrt_id(&register(h, "2026-03-01 09:00:00").await);
    let stay = mdtrt_id(&admit(h, "2026-02-01 08:00:00").await);
    for time in FUTURE {
        let err = refusal(&register(h, time).await);
        assert_future_refused(&err, "input.data.begntime", time);
        let err = refusal(&admit(h, time).await);
        assert_future_refused(&err, "input.mdtrtinfo.begntime", time);
        let err = h
            .fails(
                "2203",
                HOSPITAL,
                json!({ "mdtrtinfo": { "mdtrt_id": visit, "med_type": "11", "begntime": time } }),
            )
            .await;
        assert_future_refused(&err, "input.mdtrtinfo.begntime", time);
        let err = h
            .fails(
                "2403",
                HOSPITAL,
                json!({ "adminfo": { "mdtrt_id": stay, "begntime": time } }),
            )
            .await;
        assert_future_refused(&err, "input.adminfo.begntime", time);
        let err = h
            .fails(
                "2204",
                HOSPITAL,
                json!({ "feedetail": [line_at("1", &visit, DRUG, "2026-03-01 09:10:00"), line_at("2", &visit, DRUG, time)] }),
            )
            .await;
        assert_future_refused(&err, "input.feedetail[1].fee_ocur_time", time);
        let err = h
            .fails(
                "2301",
                HOSPITAL,
                json!({ "feedetail": [line_at("1", &stay, BED, time)] }),
            )
            .await;
        assert_future_refused(&err, "input.feedetail[0].fee_ocur_time", time);
        let err = h
            .fails(
                "2402",
                HOSPITAL,
                json!({ "dscginfo": { "mdtrt_id": stay, "endtime": time } }),
            )
            .await;
        assert_future_refused(&err, "input.dscginfo.endtime", time);
        let err = h
            .fails("2102", PHARMACY, json!({ "data": { "psn_no": "P0001", "insutype": "390", "med_type": "41", "medfee_sumamt": "40.00", "begntime": time }, "feedetail": [line_at("1", "", DRUG, "2026-03-01 09:10:00")] }))
            .await;
        assert_future_refused(&err, "input.data.begntime", time);
    }
    // A discharge time in the future at final settlement.
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [line_at("1", &stay, BED, "2026-02-02 08:00:00")] }),
    )
    .await;
    for time in FUTURE {
        let err = h
            .fails("2304", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": stay, "medfee_sumamt": "40.00", "mid_setl_flag": "0", "dscgTime": time } }))
            .await;
        assert_future_refused(&err, "input.data.dscgTime", time);
    }
    // Before 1900.
    let err = refusal(&register(h, "1899-12-31 23:59:59").await);
    assert!(
        err.starts_with("参数 input.data.begntime 有误：")
            && err.contains("1899-12-31 23:59:59")
            && err.contains("早于可受理的最早日期 1900-01-01"),
        "{err}"
    );
    let err = h
        .fails(
            "2204",
            HOSPITAL,
            json!({ "feedetail": [line_at("1", &visit, DRUG, "0001-01-01 00:00:00")] }),
        )
        .await;
    assert!(
        err.starts_with("参数 input.feedetail[0].fee_ocur_time 有误：")
            && err.contains("早于可受理的最早日期 1900-01-01"),
        "{err}"
    );
    // Within the tolerance, a HIS clock a few minutes ahead is accepted.
    let ahead = mdtrt_id(&register(h, &in_minutes(5)).await);
    h.ok(
        "2204",
        HOSPITAL,
        json!({ "feedetail": [line_at("1", &ahead, DRUG, &in_minutes(6))] }),
    )
    .await;
    h.ok(
        "2207",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0001", "mdtrt_id": ahead, "medfee_sumamt": "40.00" } }),
    )
    .await;
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 1, "{report}");
}

/// Visits stored with future dates by a server without an upper limit are refused at settlement
/// (2207, 2304) by one with the default tolerance, on the same database.
async fn refuses_stored_future_visits(backend: Backend) {
    let (database, dir) = common::fresh_database(backend, "laxdt").await;
    // The database's directory goes with the second server, which outlives the first.
    let (_, lax_scratch) = common::fresh_database(Backend::Sqlite, "laxscratch").await;
    let lax = Harness::start_with(Config {
        database: database.clone(),
        data_dir: lax_scratch,
        future_tolerance_secs: u64::MAX,
        ..Config::default()
    })
    .await;
    lax.load_fixtures().await;
    let mut stored = Vec::new();
    for time in FUTURE {
        let visit = mdtrt_id(&register(&lax, time).await);
        lax.ok(
            "2204",
            HOSPITAL,
            json!({ "feedetail": [line_at("1", &visit, DRUG, time)] }),
        )
        .await;
        let stay = mdtrt_id(&admit(&lax, time).await);
        lax.ok(
            "2301",
            HOSPITAL,
            json!({ "feedetail": [line_at("1", &stay, BED, time)] }),
        )
        .await;
        stored.push((time, visit, stay));
    }
    lax.stop().await;
    let strict = Harness::start_with(Config {
        database,
        data_dir: dir,
        ..Config::default()
    })
    .await;
    // The second server numbers its msgids from where the first began: give it its own.
    for (n, (time, visit, stay)) in stored.into_iter().enumerate() {
        let (_, reply) = strict
            .call_with("2207", HOSPITAL, &format!("STRICT2207{n}"), json!({ "data": { "psn_no": "P0001", "mdtrt_id": visit, "medfee_sumamt": "40.00" } }))
            .await;
        assert_future_refused(&refusal(&reply), "begntime", time);
        let (_, reply) = strict
            .call_with("2304", HOSPITAL, &format!("STRICT2304{n}"), json!({ "data": { "psn_no": "P0001", "mdtrt_id": stay, "medfee_sumamt": "40.00", "mid_setl_flag": "0", "dscgTime": "2026-03-01 10:00:00" } }))
            .await;
        assert_future_refused(&refusal(&reply), "begntime", time);
    }
    let report = strict.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 0, "{report}");
}

async fn future_dates(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "dates").await;
    refuses_future_times(&h).await;
    refuses_stored_future_visits(backend).await;
}

#[tokio::test]
async fn future_dates_sqlite() {
    future_dates(Backend::Sqlite).await;
}

#[tokio::test]
async fn future_dates_postgres() {
    future_dates(Backend::Postgres).await;
}
