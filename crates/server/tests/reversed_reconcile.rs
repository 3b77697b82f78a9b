//! 3202 and 冲正: a settlement the HIS reversed with 2601 (its reply was lost) is listed by neither
//! side's detail, so the pair balances; a live settlement the HIS does not list still does not.
//! Over real HTTP on SQLite and PostgreSQL.

use crate::common;

use common::{line, Backend, Harness, DRUG};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

/// A registration with one drug line, settled by a 2207 sent with `msgid`.
async fn settle(h: &Harness, msgid: &str) {
    let out = h
        .ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } }))
        .await;
    let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok(
        "2204",
        HOSPITAL,
        json!({ "feedetail": [line("1", &mdtrt_id, DRUG, "2", "0.50", "1.00")] }),
    )
    .await;
    let input = json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "1.00", "insutype": "310", "acct_used_flag": "0", "chrg_bchno": "B1" } });
    let (_, reply) = h.call_with("2207", HOSPITAL, msgid, input).await;
    assert_eq!(reply["infcode"], 0, "{reply}");
}

async fn reconcile(h: &Harness, detail: Value) -> Value {
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    h.ok("3202", HOSPITAL, json!({ "data": { "setl_optins": "360400", "stmt_begndate": today, "stmt_enddate": today }, "detail": detail }))
        .await
}

#[tokio::test]
async fn a_reversed_pair_balances_when_neither_side_lists_it() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "reversal").await;
        let lost = h.msgid(HOSPITAL);
        settle(&h, &lost).await;
        h.ok(
            "2601",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "omsgid": lost, "oinfno": "2207" } }),
        )
        .await;
        let out = reconcile(&h, json!([])).await;
        assert_eq!(out["stmt_rslt"], "0", "the reversed pair balances: {out}");
        assert_eq!(out["result"].as_array().unwrap().len(), 2, "{out}");

        let kept = h.msgid(HOSPITAL);
        settle(&h, &kept).await;
        let out = reconcile(&h, json!([])).await;
        assert_eq!(
            out["stmt_rslt"], "1",
            "a live settlement the HIS does not list: {out}"
        );
        let unbalanced: Vec<&Value> = out["result"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["stmt_rslt"] == "1")
            .collect();
        assert_eq!(unbalanced.len(), 1, "{out}");
        assert_eq!(unbalanced[0]["msgid"], kept.as_str());
        h.stop().await;
    }
}
