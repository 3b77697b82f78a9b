//! An admission settled in parts over real HTTP, on SQLite and on PostgreSQL: interim settlements
//! (中途结算), refunds of lines they settled (2301 with negative `cnt`), the final settlement, and
//! their cancellations. The stay's live settlements must always sum to the settlement of the whole
//! stay, whatever was refunded after an interim settlement.

use crate::common;

use common::{bed_days, columns, setl_id, sum, yuan, Backend, Harness};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

/// 三级 hospital: residents' admission deductible 600, basic fund 60 %.
const HOSPITAL: &str = "H36040200001";

async fn admit(h: &Harness, psn_no: &str) -> String {
    let out = h
        .ok("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": psn_no, "insutype": "390", "mdtrt_cert_type": "02", "med_type": "21", "begntime": "2026-02-01 08:00:00", "dise_codg": "K80.100" } }))
        .await;
    out["result"]["mdtrt_id"].as_str().unwrap().to_string()
}

async fn upload(h: &Harness, lines: Vec<Value>) {
    h.ok("2301", HOSPITAL, json!({ "feedetail": lines })).await;
}

/// A 2304 (interim when `interim`) declaring `medfee`; returns `output`.
async fn settle(h: &Harness, psn_no: &str, mdtrt_id: &str, medfee: &str, interim: bool) -> Value {
    let flag = if interim { "1" } else { "0" };
    h.ok("2304", HOSPITAL, json!({ "data": { "psn_no": psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": medfee, "mid_setl_flag": flag, "insutype": "390", "acct_used_flag": "0", "dscgTime": "2026-02-10 10:00:00" } }))
        .await
}

async fn cancel(h: &Harness, psn_no: &str, mdtrt_id: &str, setl_id: &str) -> Value {
    h.ok(
        "2305",
        HOSPITAL,
        json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no } }),
    )
    .await
}

/// The fund rows of an output as `(fund_pay_type, fund_payamt in fen)`.
fn fund_rows(output: &Value) -> Vec<(String, String)> {
    output["setldetail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["fund_pay_type"].as_str().unwrap().to_string(),
                yuan(&r["fund_payamt"]),
            )
        })
        .collect()
}

/// One accumulator of 5206 (February 2026), as yuan text.
async fn accumulator(h: &Harness, psn_no: &str, code: &str) -> String {
    let value = h.accumulator(HOSPITAL, psn_no, "202602", code).await;
    yibao_domain::Fen(value).to_yuan_string()
}

/// The reported case: 1,200.00 of bed-days settled in an interim settlement (deductible 600, fund
/// 360), then refunded in full, then the final settlement. The stay nets to zero, so over the stay
/// every fund and the patient pay nothing; the final settlement takes back exactly what the
/// interim one paid.
async fn refund_after_interim(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "stay").await;
    let mdtrt_id = admit(&h, "P0001").await;
    upload(&h, vec![bed_days("1", &mdtrt_id, 30, None)]).await;
    let interim = settle(&h, "P0001", &mdtrt_id, "1200.00", true).await;
    assert_eq!(yuan(&interim["setlinfo"]["act_pay_dedc"]), "600.00");
    assert_eq!(yuan(&interim["setlinfo"]["hifp_pay"]), "360.00");
    assert_eq!(yuan(&interim["setlinfo"]["psn_cash_pay"]), "840.00");
    upload(&h, vec![bed_days("2", &mdtrt_id, -30, Some("1"))]).await;
    let last = settle(&h, "P0001", &mdtrt_id, "-1200.00", false).await;
    let info = &last["setlinfo"];
    assert_eq!(yuan(&info["hifp_pay"]), "-360.00", "{last}");
    assert_eq!(yuan(&info["act_pay_dedc"]), "-600.00", "{last}");
    assert_eq!(yuan(&info["psn_cash_pay"]), "-840.00", "{last}");
    assert_eq!(
        fund_rows(&last),
        [("390100", "-360.00"), ("390200", "0.00")].map(|(f, a)| (f.to_string(), a.to_string()))
    );
    for (column, total) in sum(&[&interim, &last]) {
        assert_eq!(total, 0, "{column} over the stay: {interim} {last}");
    }
    // The reply is what 5203 shows.
    let query = h
        .ok(
            "5203",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0001", "setl_id": setl_id(&last), "mdtrt_id": mdtrt_id } }),
        )
        .await;
    common::assert_query_repeats(&query["setlinfo"], &last["setlinfo"]);
    // The accumulators hold the whole stay: one admission, nothing spent or paid.
    for (code, value) in [
        ("C0000", "1.00"),
        ("S0000", "0.00"),
        ("Q0000", "0.00"),
        ("D390100", "0.00"),
    ] {
        assert_eq!(accumulator(&h, "P0001", code).await, value, "{code}");
    }
    h.assert_verifies().await;

    // The interim settlement cannot be cancelled under a live final settlement …
    let err = h
        .fails(
            "2305",
            HOSPITAL,
            json!({ "data": { "setl_id": setl_id(&interim), "mdtrt_id": mdtrt_id, "psn_no": "P0001" } }),
        )
        .await;
    assert!(
        err.starts_with("参数 input.data.setl_id 有误：") && err.contains(&setl_id(&last)),
        "{err}"
    );
    // … the final one can, exactly, and settling again gives the same final settlement.
    let undone = cancel(&h, "P0001", &mdtrt_id, &setl_id(&last)).await;
    for ((column, was), (_, negated)) in columns(&last).into_iter().zip(columns(&undone)) {
        assert_eq!(negated, -was, "{column}");
    }
    let again = settle(&h, "P0001", &mdtrt_id, "-1200.00", false).await;
    assert_eq!(columns(&again), columns(&last));
    // Cancelling both leaves the stay open; one final settlement of the whole stay pays nothing.
    cancel(&h, "P0001", &mdtrt_id, &setl_id(&again)).await;
    cancel(&h, "P0001", &mdtrt_id, &setl_id(&interim)).await;
    assert_eq!(accumulator(&h, "P0001", "Q0000").await, "0.00");
    let whole = settle(&h, "P0001", &mdtrt_id, "0.00", false).await;
    for (column, total) in columns(&whole) {
        assert_eq!(total, 0, "{column}: {whole}");
    }
    assert_eq!(accumulator(&h, "P0001", "C0000").await, "1.00");
    h.assert_verifies().await;
}

#[tokio::test]
async fn refund_after_interim_sqlite() {
    refund_after_interim(Backend::Sqlite).await;
}

#[tokio::test]
async fn refund_after_interim_postgres() {
    refund_after_interim(Backend::Postgres).await;
}

/// A partial refund and new fees after an interim settlement: the final settlement pays the whole
/// stay (1,600.00: deductible 600, fund 60 % of 1,000) less the interim settlement's 360.00, and the
/// two settlements together equal one settlement of the whole stay.
async fn partial_refund_and_new_fees(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "stay2").await;
    let mdtrt_id = admit(&h, "P0004").await;
    upload(&h, vec![bed_days("1", &mdtrt_id, 30, None)]).await;
    let interim = settle(&h, "P0004", &mdtrt_id, "1200.00", true).await;
    upload(
        &h,
        vec![
            bed_days("2", &mdtrt_id, -10, Some("1")),
            bed_days("3", &mdtrt_id, 20, None),
        ],
    )
    .await;
    let last = settle(&h, "P0004", &mdtrt_id, "400.00", false).await;
    assert_eq!(yuan(&last["setlinfo"]["hifp_pay"]), "240.00", "{last}");
    assert_eq!(yuan(&last["setlinfo"]["act_pay_dedc"]), "0.00", "{last}");
    assert_eq!(yuan(&last["setlinfo"]["psn_cash_pay"]), "160.00", "{last}");
    let stay = sum(&[&interim, &last]);
    // Settled at once, the same stay gives the same totals.
    cancel(&h, "P0004", &mdtrt_id, &setl_id(&last)).await;
    cancel(&h, "P0004", &mdtrt_id, &setl_id(&interim)).await;
    let whole = settle(&h, "P0004", &mdtrt_id, "1600.00", false).await;
    assert_eq!(columns(&whole), stay);
    assert_eq!(yuan(&whole["setlinfo"]["hifp_pay"]), "600.00");
    // An admission whose interim settlement consumed every line closes with a final settlement of
    // no new line: nothing more is paid, and the admission is counted.
    let second = admit(&h, "P0004").await;
    upload(&h, vec![bed_days("1", &second, 5, None)]).await;
    settle(&h, "P0004", &second, "200.00", true).await;
    let err = h.fails("2304", HOSPITAL, json!({ "data": { "psn_no": "P0004", "mdtrt_id": second, "medfee_sumamt": "0.00", "mid_setl_flag": "1" } })).await;
    assert!(err.contains("没有未结算的费用明细"), "{err}");
    let closing = settle(&h, "P0004", &second, "0.00", false).await;
    for (column, total) in columns(&closing) {
        assert_eq!(total, 0, "{column}: {closing}");
    }
    assert_eq!(accumulator(&h, "P0004", "C0000").await, "2.00");
    h.assert_verifies().await;
}

#[tokio::test]
async fn partial_refund_and_new_fees_sqlite() {
    partial_refund_and_new_fees(Backend::Sqlite).await;
}

#[tokio::test]
async fn partial_refund_and_new_fees_postgres() {
    partial_refund_and_new_fees(Backend::Postgres).await;
}
