//! 2601 冲正 of a cancellation (2208, 2305, 2103): the settlement is live again under its own
//! `setl_id` — cancellable, reconciled as the HIS sees it — and the accumulators are as if it had
//! never been cancelled; refused once anything the settlement depended on changed. Over real HTTP
//! on SQLite and PostgreSQL.

use crate::common;

use common::{line, setl_id, Backend, Harness, BED, DRUG};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

async fn each_backend<F, Fut>(tag: &str, test: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        eprintln!("on {backend:?}");
        let h = Harness::start(backend, AuthMode::None, tag).await;
        test(h).await;
    }
}

/// A registration of P0002 with one drug line of 30.00, settled; returns (mdtrt_id, the 2207 output).
async fn settled_visit(h: &Harness) -> (String, Value) {
    let out = h
        .ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } }))
        .await;
    let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok(
        "2204",
        HOSPITAL,
        json!({ "feedetail": [line("1", &mdtrt_id, DRUG, "3", "10.00", "30.00")] }),
    )
    .await;
    let settled = h
        .ok("2207", HOSPITAL, json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "30.00", "insutype": "310", "acct_used_flag": "1" } }))
        .await;
    (mdtrt_id, settled)
}

/// Sends `infno` with a fresh `msgid`; returns the msgid and the output.
async fn sent(h: &Harness, infno: &str, input: Value) -> (String, Value) {
    let msgid = h.msgid(HOSPITAL);
    let (_, reply) = h.call_with(infno, HOSPITAL, &msgid, input).await;
    assert_eq!(reply["infcode"], 0, "{infno}: {reply}");
    (msgid, reply["output"].clone())
}

fn reversal(omsgid: &str, oinfno: &str) -> Value {
    json!({ "data": { "psn_no": "P0002", "omsgid": omsgid, "oinfno": oinfno } })
}

#[tokio::test]
async fn a_reversed_outpatient_cancellation_leaves_the_settlement_live() {
    each_backend("reinst_otp", |h| async move {
        let (_, settled) = settled_visit(&h).await;
        let setl_id = setl_id(&settled);
        let balance_settled = settled["setlinfo"]["balc"].clone();
        let cancel = json!({ "data": { "setl_id": setl_id, "psn_no": "P0002" } });
        let (cancel_msgid, _) = sent(&h, "2208", cancel.clone()).await;
        h.ok("2601", HOSPITAL, reversal(&cancel_msgid, "2208")).await;
        let err = h.fails("2601", HOSPITAL, reversal(&cancel_msgid, "2208")).await;
        assert!(err.contains("已冲正"), "{err}");

        // The settlement is the HIS's again: queried, reconciled and cancellable by its own id.
        let queried = h.ok("5203", HOSPITAL, json!({ "data": { "setl_id": setl_id, "psn_no": "P0002" } })).await;
        assert_eq!(queried["setlinfo"]["medfee_sumamt"], settled["setlinfo"]["medfee_sumamt"]);
        let today = chrono::Local::now().format("%Y-%m-%d").to_string();
        let detail = json!([{ "setl_id": setl_id, "mdtrt_id": settled["setlinfo"]["mdtrt_id"], "psn_no": "P0002",
            "medfee_sumamt": settled["setlinfo"]["medfee_sumamt"], "fund_pay_sumamt": settled["setlinfo"]["fund_pay_sumamt"],
            "acct_pay": settled["setlinfo"]["acct_pay"], "refd_setl_flag": "0" }]);
        let reconciled = h
            .ok("3202", HOSPITAL, json!({ "data": { "setl_optins": "360400", "stmt_begndate": today, "stmt_enddate": today }, "detail": detail }))
            .await;
        assert_eq!(reconciled["stmt_rslt"], "0", "{reconciled}");
        let (second_cancel, recancelled) = sent(&h, "2208", cancel.clone()).await;
        assert_eq!(
            recancelled["setlinfo"]["medfee_sumamt"].as_f64(),
            settled["setlinfo"]["medfee_sumamt"].as_f64().map(|v| -v),
            "{recancelled}"
        );
        let err = h.fails("2208", HOSPITAL, cancel.clone()).await;
        assert!(err.contains("已撤销"), "{err}");
        // Undone a second time, the account is where the settlement left it.
        h.ok("2601", HOSPITAL, reversal(&second_cancel, "2208")).await;
        let person = h.ok("1101", HOSPITAL, json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402197502140022", "psn_cert_type": "01", "certno": "360402197502140022" } })).await;
        let row = person["insuinfo"].as_array().unwrap().iter().find(|r| r["insutype"] == "310").unwrap();
        assert_eq!(row["balc"], balance_settled, "{person}");
        h.assert_verifies().await;
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_cancellation_is_not_reversed_once_the_visit_or_the_person_moved_on() {
    each_backend("reinst_refused", |h| async move {
        // Settled again after the cancellation: the new settlement is the person's latest entry.
        let (mdtrt_id, settled) = settled_visit(&h).await;
        let cancel = json!({ "data": { "setl_id": setl_id(&settled), "psn_no": "P0002" } });
        let (cancel_msgid, _) = sent(&h, "2208", cancel).await;
        h.ok("2207", HOSPITAL, json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "30.00", "insutype": "310", "acct_used_flag": "1" } }))
            .await;
        let err = h.fails("2601", HOSPITAL, reversal(&cancel_msgid, "2208")).await;
        assert!(err.contains("input.data.omsgid") && err.contains("请重新结算"), "{err}");

        // The lines deleted after the cancellation (2205): nothing to settle again.
        let (mdtrt_id, settled) = settled_visit(&h).await;
        let cancel = json!({ "data": { "setl_id": setl_id(&settled), "psn_no": "P0002" } });
        let (cancel_msgid, _) = sent(&h, "2208", cancel).await;
        h.ok("2205", HOSPITAL, json!({ "data": { "mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": "P0002" } }))
            .await;
        let err = h.fails("2601", HOSPITAL, reversal(&cancel_msgid, "2208")).await;
        assert!(err.contains("费用明细 1"), "{err}");
        let err = h.fails("2601", HOSPITAL, json!({ "data": { "psn_no": "P0001", "omsgid": cancel_msgid, "oinfno": "2208" } })).await;
        assert!(err.contains("input.data.psn_no"), "{err}");
        h.assert_verifies().await;
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reversed_inpatient_cancellation_restores_the_stay_as_settled() {
    each_backend("reinst_ipt", |h| async move {
        let admit = |begntime: &str| json!({ "mdtrtinfo": { "psn_no": "P0002", "insutype": "310", "med_type": "21", "begntime": begntime } });
        let (_, admitted) = sent(&h, "2401", admit("2026-02-01 08:00:00")).await;
        let mdtrt_id = admitted["result"]["mdtrt_id"].as_str().unwrap().to_string();
        h.ok("2301", HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, BED, "3", "40.00", "120.00")] }))
            .await;
        h.ok("2402", HOSPITAL, json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "endtime": "2026-02-04 10:00:00", "dscg_way": "1" } }))
            .await;
        let settle = json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "120.00", "mid_setl_flag": "0" } });
        let settled = h.ok("2304", HOSPITAL, settle).await;
        let cancel = json!({ "data": { "setl_id": setl_id(&settled), "mdtrt_id": mdtrt_id, "psn_no": "P0002" } });
        let (cancel_msgid, _) = sent(&h, "2305", cancel.clone()).await;
        h.ok("2601", HOSPITAL, reversal(&cancel_msgid, "2305")).await;
        // Discharged and settled again: no further fees, no discharge cancellation; cancellable.
        let err = h
            .fails("2301", HOSPITAL, json!({ "feedetail": [line("2", &mdtrt_id, BED, "1", "40.00", "40.00")] }))
            .await;
        assert!(err.contains(&mdtrt_id), "{err}");
        let err = h.fails("2405", HOSPITAL, json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0002" } })).await;
        assert!(err.contains(&mdtrt_id), "{err}");
        let recancelled = h.ok("2305", HOSPITAL, cancel).await;
        assert_eq!(recancelled["setlinfo"]["enddate"], "2026-02-04", "{recancelled}");

        // Settled before the discharge, the cancellation reopened the stay: settle it again instead.
        let (_, admitted) = sent(&h, "2401", admit("2026-03-01 08:00:00")).await;
        let open_stay = admitted["result"]["mdtrt_id"].as_str().unwrap().to_string();
        h.ok("2301", HOSPITAL, json!({ "feedetail": [line("1", &open_stay, BED, "1", "40.00", "40.00")] }))
            .await;
        let settled = h
            .ok("2304", HOSPITAL, json!({ "data": { "psn_no": "P0002", "mdtrt_id": open_stay, "medfee_sumamt": "40.00", "mid_setl_flag": "0", "dscgTime": "2026-03-02 10:00:00" } }))
            .await;
        let (cancel_msgid, _) = sent(&h, "2305", json!({ "data": { "setl_id": setl_id(&settled), "mdtrt_id": open_stay, "psn_no": "P0002" } })).await;
        let err = h.fails("2601", HOSPITAL, reversal(&cancel_msgid, "2305")).await;
        assert!(err.contains("2304"), "{err}");
        h.assert_verifies().await;
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reversed_pharmacy_cancellation_leaves_the_purchase_live() {
    const PHARMACY: &str = "P36040200031";
    each_backend("reinst_rx", |h| async move {
        let lines = json!([line("1", "", DRUG, "2", "10.00", "20.00")]);
        let input = json!({ "data": { "psn_no": "P0002", "insutype": "310", "med_type": "41", "medfee_sumamt": "20.00", "acct_used_flag": "1" }, "drugdetail": lines });
        let bought = h.ok("2102", PHARMACY, input).await;
        let cancel = json!({ "data": { "setl_id": setl_id(&bought), "psn_no": "P0002" } });
        let msgid = h.msgid(PHARMACY);
        let (_, reply) = h.call_with("2103", PHARMACY, &msgid, cancel.clone()).await;
        assert_eq!(reply["infcode"], 0, "{reply}");
        h.ok("2601", PHARMACY, reversal(&msgid, "2103")).await;
        let recancelled = h.ok("2103", PHARMACY, cancel).await;
        assert_eq!(recancelled["setlinfo"]["medfee_sumamt"], json!(-20.0), "{recancelled}");
        h.assert_verifies().await;
        h.stop().await;
    })
    .await;
}
