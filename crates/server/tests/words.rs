//! What a cashier reads, over real HTTP on SQLite and PostgreSQL: refusals as `err_msg` in Chinese
//! naming the field path (`参数 input.data.medfee_sumamt 有误：…`), an unreadable body without a
//! field, and the ids yibao issues (`mdtrt_id`, `setl_id`, `inf_refmsgid`) in digits only, as the
//! platform's are. A bureau-side failure's words are checked with the damaged rows of
//! `hostile.rs`.

use crate::common;

use common::{line, Backend, Harness, DRUG};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";
/// The harness's `platform_admdvs` (the default).
const PLATFORM_ADMDVS: &str = "360400";

/// Registers P0002 (residents', 310) at the hospital; the reply's `data.mdtrt_id`.
async fn register(h: &Harness) -> String {
    let out = h
        .ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } }))
        .await;
    out["data"]["mdtrt_id"].as_str().unwrap().to_string()
}

/// An issued id: the platform's region, the kind's digit (1 visit, 2 settlement), a 16-digit
/// serial, digits only.
fn assert_issued(id: &str, kind: char) {
    assert_eq!(id.len(), 23, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert!(id.starts_with(&format!("{PLATFORM_ADMDVS}{kind}")), "{id}");
}

async fn refusals_read_as_intended(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "words").await;
    // A required field absent: named by its own path, not the object holding it.
    let err = h
        .fails("2201", HOSPITAL, json!({ "data": { "insutype": "310" } }))
        .await;
    assert_eq!(err, "参数 input.data.psn_no 有误：缺少必填字段");
    // A field of the wrong type.
    let err = h
        .fails(
            "2201",
            HOSPITAL,
            json!({ "data": { "psn_no": ["P0002"], "insutype": "310" } }),
        )
        .await;
    assert_eq!(
        err,
        "参数 input.data.psn_no 有误：应为文本或数值，收到 [\"P0002\"]"
    );
    let mdtrt_id = register(&h).await;
    // A bad amount on a fee line.
    let err = h
        .fails(
            "2204",
            HOSPITAL,
            json!({ "feedetail": [line("1", &mdtrt_id, DRUG, "1", "12.50", "12.5x")] }),
        )
        .await;
    assert_eq!(
        err,
        "参数 input.feedetail[0].det_item_fee_sumamt 有误：12.5x 不是数值"
    );
    // A declared total that is not the lines' total (25.00 + 12.50).
    h.ok(
        "2204",
        HOSPITAL,
        json!({ "feedetail": [
            line("1", &mdtrt_id, DRUG, "2", "12.50", "25.00"),
            line("2", &mdtrt_id, DRUG, "1", "12.50", "12.50"),
        ] }),
    )
    .await;
    let settle = |total: &str| json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": total, "insutype": "310" } });
    let err = h.fails("2207", HOSPITAL, settle("12.50")).await;
    assert_eq!(
        err,
        "参数 input.data.medfee_sumamt 有误：12.50 与费用明细合计 37.50 不一致"
    );
    // A visit that does not exist (at this institution).
    let unknown = format!("{PLATFORM_ADMDVS}19999999999999999");
    let err = h
        .fails(
            "2207",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "mdtrt_id": unknown, "medfee_sumamt": "37.50" } }),
        )
        .await;
    assert_eq!(
        err,
        format!("参数 input.data.mdtrt_id 有误：定点医药机构 {HOSPITAL} 没有就诊 {unknown}")
    );
    // A settlement cancelled twice names both settlements.
    let settled = h.ok("2207", HOSPITAL, settle("37.50")).await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    let cancel = json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "setl_id": setl_id } });
    let cancelled = h.ok("2208", HOSPITAL, cancel.clone()).await;
    let cancel_id = cancelled["setlinfo"]["setl_id"]
        .as_str()
        .unwrap()
        .to_string();
    let err = h.fails("2208", HOSPITAL, cancel).await;
    assert_eq!(
        err,
        format!("参数 input.data.setl_id 有误：结算 {setl_id} 已撤销（撤销结算ID {cancel_id}）")
    );
    // A body that is not an envelope.
    let (status, text) = h.post(b"{\"infno\": ".to_vec(), &[]).await;
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["infcode"], -1, "{text}");
    assert_eq!(
        reply["err_msg"],
        "请求报文有误：不是有效的 JSON（第 1 行第 10 列）"
    );
    h.assert_verifies().await;
}

#[tokio::test]
async fn refusals_read_as_intended_sqlite() {
    refusals_read_as_intended(Backend::Sqlite).await;
}

#[tokio::test]
async fn refusals_read_as_intended_postgres() {
    refusals_read_as_intended(Backend::Postgres).await;
}

/// Visits, settlements, cancellations and replies get ids of digits only, each one new.
async fn issued_ids_are_digits(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "ids").await;
    let first = register(&h).await;
    let second = register(&h).await;
    assert_issued(&first, '1');
    assert_issued(&second, '1');
    assert_ne!(first, second);
    h.ok(
        "2204",
        HOSPITAL,
        json!({ "feedetail": [line("1", &first, DRUG, "1", "10.00", "10.00")] }),
    )
    .await;
    let (_, reply) = h
        .call_with(
            "2207",
            HOSPITAL,
            &h.msgid(HOSPITAL),
            json!({ "data": { "psn_no": "P0002", "mdtrt_id": first, "medfee_sumamt": "10.00", "insutype": "310" } }),
        )
        .await;
    assert_eq!(reply["infcode"], 0, "{reply}");
    let inf_refmsgid = reply["inf_refmsgid"].as_str().unwrap();
    assert!(inf_refmsgid.starts_with(PLATFORM_ADMDVS), "{inf_refmsgid}");
    assert!(
        inf_refmsgid.bytes().all(|b| b.is_ascii_digit()),
        "{inf_refmsgid}"
    );
    let setl_id = reply["output"]["setlinfo"]["setl_id"].as_str().unwrap();
    assert_issued(setl_id, '2');
    let cancelled = h
        .ok(
            "2208",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "mdtrt_id": first, "setl_id": setl_id } }),
        )
        .await;
    let cancel_id = cancelled["setlinfo"]["setl_id"].as_str().unwrap();
    assert_issued(cancel_id, '2');
    assert_ne!(cancel_id, setl_id);
}

#[tokio::test]
async fn issued_ids_are_digits_sqlite() {
    issued_ids_are_digits(Backend::Sqlite).await;
}

#[tokio::test]
async fn issued_ids_are_digits_postgres() {
    issued_ids_are_digits(Backend::Postgres).await;
}
