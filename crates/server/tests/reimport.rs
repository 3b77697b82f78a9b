//! Importing persons again (`POST /admin/persons`) over real HTTP, on SQLite and on PostgreSQL: an
//! insurance row or identity the new import leaves out is ended the day before the import, never
//! deleted, so settlements made under it stay queryable (5203), cancellable (2208, 2305) and
//! verifiable, while care after the import gets no benefits under it.

use crate::common;

use common::{line, yuan, Backend, Harness};
use serde_json::{json, Value};
use yibao_ledger::{registry, Person, Store};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

/// P0002's row under the civil-servant subsidy (320) only: the worker row (310) is left out.
fn p0002_without_310() -> Value {
    json!([{ "psn_no": "P0002", "psn_cert_type": "01", "certno": "360402197502140022", "psn_name": "测试乙", "gend": "1", "brdy": "1975-02-14", "insutype": "320", "psn_type": "11", "psn_insu_stas": "1", "psn_insu_date": "2005-01-01", "insuplc_admdvs": "360400", "cvlserv_flag": "1", "balc": "0", "idet": "" }])
}

/// P0003 (390) without the 低保 identity (DB) the fixtures give.
fn p0003_without_db() -> Value {
    json!([{ "psn_no": "P0003", "psn_cert_type": "01", "certno": "360402195501010033", "psn_name": "测试丙", "gend": "2", "brdy": "1955-01-01", "insutype": "390", "psn_type": "16", "psn_insu_stas": "1", "psn_insu_date": "2010-01-01", "insuplc_admdvs": "360400", "cvlserv_flag": "0", "balc": "0", "idet": "" }])
}

async fn stored_person(h: &Harness, psn_no: &str) -> Person {
    let store = Store::open(&h.database).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let person = registry::person(&mut conn, psn_no).await.unwrap().unwrap();
    drop(conn);
    store.close().await;
    person
}

/// The day before the import (the admin API imports as of the local date).
fn yesterday() -> Option<chrono::NaiveDate> {
    chrono::Local::now().date_naive().pred_opt()
}

/// An outpatient visit of P0002 under 310 with one 100.00 line; `begntime` `None` means now.
async fn worker_visit(h: &Harness, begntime: Option<&str>) -> String {
    let mut data = json!({ "psn_no": "P0002", "insutype": "310", "mdtrt_cert_type": "02" });
    if let Some(begntime) = begntime {
        data["begntime"] = json!(begntime);
    }
    let out = h.ok("2201", HOSPITAL, json!({ "data": data })).await;
    let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok("2204", HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "10", "10.00", "100.00")] })).await;
    mdtrt_id
}

async fn settle_worker_visit(h: &Harness, mdtrt_id: &str) -> Value {
    h.ok("2207", HOSPITAL, json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "100.00", "insutype": "310", "acct_used_flag": "1" } }))
        .await
}

async fn assert_verifies(h: &Harness) {
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
}

/// A settled admission of P0002 under 310; returns `(mdtrt_id, setl_id)`.
async fn worker_stay(h: &Harness) -> (String, String) {
    let out = h
        .ok("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "P0002", "insutype": "310", "med_type": "21", "begntime": "2026-02-01 08:00:00" } }))
        .await;
    let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [line("1", &mdtrt_id, "001201000010000", "30", "40.00", "1200.00")] }),
    )
    .await;
    let settled = h
        .ok("2304", HOSPITAL, json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "1200.00", "mid_setl_flag": "0", "acct_used_flag": "0", "dscgTime": "2026-02-10 10:00:00" } }))
        .await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    (mdtrt_id, setl_id)
}

async fn insurance_row_left_out(h: &Harness) {
    let (stay, stay_setl_id) = worker_stay(h).await;
    let mdtrt_id = worker_visit(h, Some("2026-03-01 09:00:00")).await;
    let settled = settle_worker_visit(h, &mdtrt_id).await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    assert_ne!(yuan(&settled["setlinfo"]["acct_pay"]), "0.00", "{settled}");
    h.admin("POST", "/admin/persons", p0002_without_310().to_string())
        .await;
    let person = stored_person(h, "P0002").await;
    let worker = person.insu_row("310").expect("the 310 row is kept");
    assert_eq!(worker.insu_endtime, yesterday());
    assert_eq!(person.insu_row("320").unwrap().insu_endtime, None);
    assert_verifies(h).await;
    // The settlement stays queryable and cancellable; the account is credited back.
    let query = h
        .ok(
            "5203",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "setl_id": setl_id, "mdtrt_id": mdtrt_id } }),
        )
        .await;
    common::assert_query_repeats(&query["setlinfo"], &settled["setlinfo"]);
    let cancel = h
        .ok(
            "2208",
            HOSPITAL,
            json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "P0002" } }),
        )
        .await;
    assert_eq!(yuan(&cancel["setlinfo"]["balc"]), "3000.00", "{cancel}");
    h.ok(
        "2305",
        HOSPITAL,
        json!({ "data": { "setl_id": stay_setl_id, "mdtrt_id": stay, "psn_no": "P0002" } }),
    )
    .await;
    assert_verifies(h).await;
    // Care begun after the insured period ended: registered and billed, but no fund and no account
    // pays, and the reply says why.
    let lapsed = worker_visit(h, None).await;
    let output = settle_worker_visit(h, &lapsed).await;
    let info = &output["setlinfo"];
    for column in ["fund_pay_sumamt", "hifp_pay", "acct_pay"] {
        assert_eq!(yuan(&info[column]), "0.00", "{column}: {output}");
    }
    assert_eq!(yuan(&info["psn_cash_pay"]), "100.00", "{output}");
    let reason = format!("参保期已于 {} 结束", yesterday().unwrap());
    assert!(
        output["setldetail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["setl_proc_info"].as_str().unwrap().contains(&reason)),
        "no setl_proc_info states `{reason}`: {output}"
    );
    assert_verifies(h).await;
}

/// A stay of P0003 with 1,200.00 of bed-days; returns the final settlement.
async fn stay_of_p0003(h: &Harness, admitted: &str, discharged: &str) -> Value {
    let out = h
        .ok("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "P0003", "insutype": "390", "med_type": "21", "begntime": admitted } }))
        .await;
    let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [line("1", &mdtrt_id, "001201000010000", "30", "40.00", "1200.00")] }),
    )
    .await;
    h.ok("2304", HOSPITAL, json!({ "data": { "psn_no": "P0003", "mdtrt_id": mdtrt_id, "medfee_sumamt": "1200.00", "mid_setl_flag": "0", "dscgTime": discharged } }))
        .await
}

async fn identity_left_out(h: &Harness) {
    let before = stay_of_p0003(h, "2026-02-01 08:00:00", "2026-02-10 10:00:00").await;
    assert_ne!(yuan(&before["setlinfo"]["maf_pay"]), "0.00", "{before}");
    h.admin("POST", "/admin/persons", p0003_without_db().to_string())
        .await;
    let person = stored_person(h, "P0003").await;
    assert_eq!(person.idet.len(), 1, "{person:?}");
    assert_eq!(person.idet[0].psn_idet_type.as_str(), "DB");
    assert_eq!(person.idet[0].endtime, yesterday());
    // A stay that ended while the identity held is still assisted.
    let later = stay_of_p0003(h, "2026-03-01 08:00:00", "2026-03-05 10:00:00").await;
    assert_ne!(yuan(&later["setlinfo"]["maf_pay"]), "0.00", "{later}");
    assert_verifies(h).await;
}

async fn reimport(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "reimp").await;
    insurance_row_left_out(&h).await;
    identity_left_out(&h).await;
}

#[tokio::test]
async fn reimport_sqlite() {
    reimport(Backend::Sqlite).await;
}

#[tokio::test]
async fn reimport_postgres() {
    reimport(Backend::Postgres).await;
}
