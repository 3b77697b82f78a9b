//! Insured periods and waiting periods over real HTTP, on SQLite and on PostgreSQL: persons imported
//! with `insu_endtime` / `benefit_begndate` (the `yibao import persons` path) are registered and
//! billed like anyone insured, but a visit outside a benefit-bearing period settles with every fund
//! at 0, the patient paying everything and `setl_proc_info` stating why.

use crate::common;

use common::{line, yuan, Backend, Harness};
use serde_json::{json, Value};
use yibao_ledger::{registry, Store};
use yibao_server::config::AuthMode;
use yibao_server::import;

const HOSPITAL: &str = "H36040200001";
const CLINIC: &str = "H36042300021";
const PHARMACY: &str = "P36040200031";

/// Imports `tests/data/persons-periods.csv` as `yibao import persons` does: W0001 (390) enrolled
/// 2026-01-20 with benefits from 2026-04-20, S0001 (310) suspended, L0001 (390) insured until
/// 2025-12-31.
async fn import_persons(h: &Harness) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/persons-periods.csv");
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let persons = import::read_persons_csv(std::fs::File::open(path).unwrap(), as_of).unwrap();
    let store = Store::open(&h.database).await.unwrap();
    registry::upsert_persons(&store, &persons).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let stored = registry::person(&mut conn, "W0001").await.unwrap().unwrap();
    assert_eq!(
        stored.insu[0].benefit_begndate,
        Some(chrono::NaiveDate::from_ymd_opt(2026, 4, 20).unwrap())
    );
    assert_eq!(stored.insu[0].insu_endtime, None);
    let stored = registry::person(&mut conn, "L0001").await.unwrap().unwrap();
    assert_eq!(
        stored.insu[0].insu_endtime,
        Some(chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap())
    );
    drop(conn);
    store.close().await;
}

/// An outpatient visit begun on `day` with one 100.00 line; returns its `mdtrt_id`.
async fn outpatient_visit(h: &Harness, psn_no: &str, insutype: &str, day: &str) -> String {
    let out = h
        .ok("2201", CLINIC, json!({ "data": { "psn_no": psn_no, "insutype": insutype, "begntime": format!("{day} 09:00:00"), "mdtrt_cert_type": "02" } }))
        .await;
    let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok("2204", CLINIC, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "10", "10.00", "100.00")] })).await;
    mdtrt_id
}

/// A settlement output in which no fund and no account paid, the patient paid `total` in cash and
/// a `setldetail` row states `reason`.
fn assert_no_benefits(output: &Value, total: &str, reason: &str) {
    let setlinfo = &output["setlinfo"];
    for column in [
        "fund_pay_sumamt",
        "hifp_pay",
        "hifmi_pay",
        "maf_pay",
        "oth_pay",
        "acct_pay",
    ] {
        assert_eq!(yuan(&setlinfo[column]), "0.00", "{column}: {output}");
    }
    assert_eq!(yuan(&setlinfo["medfee_sumamt"]), total, "{output}");
    assert_eq!(yuan(&setlinfo["psn_part_amt"]), total, "{output}");
    assert_eq!(yuan(&setlinfo["psn_cash_pay"]), total, "{output}");
    let rows = output["setldetail"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| yuan(&r["fund_payamt"]) == "0.00"),
        "{output}"
    );
    assert!(
        rows.iter()
            .any(|r| r["setl_proc_info"].as_str().unwrap().contains(reason)),
        "no setl_proc_info states `{reason}`: {output}"
    );
}

async fn waiting_period(h: &Harness) {
    let reason = "处于待遇等待期, 2026-04-20 起享受待遇";
    let waiting = outpatient_visit(h, "W0001", "390", "2026-03-01").await;
    let settle = json!({ "data": { "psn_no": "W0001", "mdtrt_id": waiting, "medfee_sumamt": "100.00", "insutype": "390" } });
    let pre = h.ok("2206", CLINIC, settle.clone()).await;
    assert_no_benefits(&pre, "100.00", reason);
    let settled = h.ok("2207", CLINIC, settle).await;
    assert_no_benefits(&settled, "100.00", reason);
    // The last waiting day is still waiting; the benefit start is paid.
    let last_day = outpatient_visit(h, "W0001", "390", "2026-04-19").await;
    let settled = h.ok("2207", CLINIC, json!({ "data": { "psn_no": "W0001", "mdtrt_id": last_day, "medfee_sumamt": "100.00" } })).await;
    assert_no_benefits(&settled, "100.00", reason);
    let paid = outpatient_visit(h, "W0001", "390", "2026-04-20").await;
    let settled = h
        .ok(
            "2207",
            CLINIC,
            json!({ "data": { "psn_no": "W0001", "mdtrt_id": paid, "medfee_sumamt": "100.00" } }),
        )
        .await;
    let setlinfo = &settled["setlinfo"];
    assert_ne!(yuan(&setlinfo["hifp_pay"]), "0.00", "{settled}");
    assert_eq!(
        setlinfo["fund_pay_sumamt"], setlinfo["hifp_pay"],
        "{settled}"
    );
    assert!(!settled.to_string().contains("待遇等待期"), "{settled}");
    // Not insured under the insutype at all: still an error, naming what the person holds.
    let err = h
        .fails(
            "2201",
            CLINIC,
            json!({ "data": { "psn_no": "W0001", "insutype": "310" } }),
        )
        .await;
    assert_eq!(
        err,
        "参数 input.data.insutype 有误：人员 W0001 未参加险种 310（已参加：390）"
    );
}

async fn suspended(h: &Harness) {
    let reason = "自 2025-07-01 起暂停参保";
    // Registration is accepted: benefits are decided at settlement.
    h.ok("2201", HOSPITAL, json!({ "data": { "psn_no": "S0001", "insutype": "310", "begntime": "2026-03-01 09:00:00" } })).await;
    let lines = json!([
        line("1", "", "XJ01CAA040A001010101791", "2", "10.00", "20.00"),
        line("2", "", "ZA04BAL0093010103741", "1", "25.50", "25.50")
    ]);
    let data = json!({ "psn_no": "S0001", "insutype": "310", "med_type": "41", "medfee_sumamt": "45.50", "acct_used_flag": "1", "begntime": "2026-03-01 10:00:00" });
    let pre = h
        .ok(
            "2101",
            PHARMACY,
            json!({ "data": data, "feedetail": lines }),
        )
        .await;
    assert_no_benefits(&pre, "45.50", reason);
    let bought = h
        .ok(
            "2102",
            PHARMACY,
            json!({ "data": data, "drugdetail": lines }),
        )
        .await;
    assert_no_benefits(&bought, "45.50", reason);
    // The personal account is untouched.
    assert_eq!(yuan(&bought["setlinfo"]["balc"]), "1000.00", "{bought}");
}

async fn lapsed(h: &Harness) {
    let reason = "参保期已于 2025-12-31 结束";
    let admitted = h.ok("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "L0001", "insutype": "390", "med_type": "21", "begntime": "2026-02-01 08:00:00", "dise_codg": "K80.101" } })).await;
    let mdtrt_id = admitted["result"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [line("1", &mdtrt_id, "001201000010000", "5", "40.00", "200.00")] }),
    )
    .await;
    let pre = h.ok("2303", HOSPITAL, json!({ "data": { "psn_no": "L0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "200.00", "mid_setl_flag": "0", "insutype": "390", "dscgTime": "2026-02-05 10:00:00" } })).await;
    assert_no_benefits(&pre, "200.00", reason);
    let settled = h.ok("2304", HOSPITAL, json!({ "data": { "psn_no": "L0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "200.00", "mid_setl_flag": "0", "insutype": "390", "dscgTime": "2026-02-05 10:00:00" } })).await;
    assert_no_benefits(&settled, "200.00", reason);
}

async fn coverage(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "cov").await;
    import_persons(&h).await;
    waiting_period(&h).await;
    suspended(&h).await;
    lapsed(&h).await;
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
}

#[tokio::test]
async fn coverage_sqlite() {
    coverage(Backend::Sqlite).await;
}

#[tokio::test]
async fn coverage_postgres() {
    coverage(Backend::Postgres).await;
}
