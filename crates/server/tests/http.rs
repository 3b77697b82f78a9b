//! Black-box tests over real HTTP, each on SQLite and on PostgreSQL: every transaction, idempotency,
//! 2601, refunds, interim settlement, error cases, access control, concurrent settlements of one person.

use crate::common;

use common::{line, yuan, Backend, Harness};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";
const OTHER_HOSPITAL: &str = "H36040200002";
const CLINIC: &str = "H36042300021";
const PHARMACY: &str = "P36040200031";

/// The same line with amounts as JSON numbers (some clients send them so).
fn numeric(mut line: Value) -> Value {
    for key in ["cnt", "pric", "det_item_fee_sumamt"] {
        let number: serde_json::Number = line[key].as_str().unwrap().parse().unwrap();
        line[key] = Value::Number(number);
    }
    line
}

async fn register(h: &Harness, fixmedins: &str, psn_no: &str, insutype: &str) -> String {
    let out = h
        .ok("2201", fixmedins, json!({ "data": { "psn_no": psn_no, "insutype": insutype, "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "ipt_otp_no": "OTP1" } }))
        .await;
    out["data"]["mdtrt_id"].as_str().unwrap().to_string()
}

async fn outpatient_flow(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "otp").await;
    let person = h.ok("1101", HOSPITAL, json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402197502140022", "psn_cert_type": "01", "certno": "360402197502140022", "psn_name": "测试乙" } })).await;
    assert_eq!(person["baseinfo"]["psn_no"], "P0002");
    assert_eq!(person["insuinfo"].as_array().unwrap().len(), 2);
    assert_eq!(yuan(&person["insuinfo"][0]["balc"]), "3000.00");
    let sign = h
        .ok(
            "9001",
            HOSPITAL,
            json!({ "signIn": { "opter_no": "001", "mac": "", "ip": "" } }),
        )
        .await;
    assert!(!sign["signinoutb"]["sign_no"].as_str().unwrap().is_empty());

    let mdtrt_id = register(&h, HOSPITAL, "P0002", "310").await;
    h.ok("2203", HOSPITAL, json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "med_type": "11", "begntime": "2026-03-01 09:00:00", "dise_codg": "J06.900" }, "diseinfo": [{ "diag_type": "1", "diag_code": "J06.900" }] })).await;
    let split = h
        .ok(
            "2204",
            HOSPITAL,
            json!({ "feedetail": [
            line("1", &mdtrt_id, "XJ01CAA040A001010101791", "10", "10.00", "100.00"),
            numeric(line("2", &mdtrt_id, "XJ01DDA063B002010100445", "2", "50", "100.00")),
            line("3", &mdtrt_id, "XL03AXX127B002010100553", "1", "30.00", "30.00"),
        ] }),
        )
        .await;
    let rows = split["result"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(yuan(&rows[1]["preselfpay_amt"]), "10.00", "{split}");
    assert_eq!(yuan(&rows[2]["fulamt_ownpay_amt"]), "30.00");
    // A second batch, cancelled again.
    let mut extra = line(
        "4",
        &mdtrt_id,
        "XJ01CAA040A001010101791",
        "1",
        "10.00",
        "10.00",
    );
    extra["chrg_bchno"] = json!("B2");
    h.ok("2204", HOSPITAL, json!({ "feedetail": [extra] }))
        .await;
    h.ok(
        "2205",
        HOSPITAL,
        json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "chrg_bchno": "B2" } }),
    )
    .await;

    let pre = h.ok("2206", HOSPITAL, json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": "230.00", "insutype": "310", "acct_used_flag": "1" } })).await;
    assert!(pre["setlinfo"].get("setl_id").is_none());
    assert_eq!(yuan(&pre["setlinfo"]["medfee_sumamt"]), "230.00");

    let settle_input = json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "medfee_sumamt": 230, "fulamt_ownpay_amt": "30.00", "overlmt_selfpay": "0", "preselfpay_amt": "10.00", "inscp_scp_amt": "190.00", "insutype": "310", "acct_used_flag": "1", "mdtrt_cert_type": "02" } });
    let msgid = h.msgid(HOSPITAL);
    let (first_text, first) = h
        .call_with("2207", HOSPITAL, &msgid, settle_input.clone())
        .await;
    assert_eq!(first["infcode"], 0, "{first}");
    let setlinfo = &first["output"]["setlinfo"];
    assert_eq!(setlinfo["medins_setl_id"], msgid);
    assert_eq!(setlinfo["setl_time"].as_str().unwrap().len(), 19);
    let setl_id = setlinfo["setl_id"].as_str().unwrap().to_string();
    // Identities on the wire.
    let amount = |k: &str| (setlinfo[k].as_f64().unwrap() * 100.0).round() as i64;
    assert_eq!(
        amount("medfee_sumamt"),
        amount("fund_pay_sumamt") + amount("psn_part_amt") + amount("hosp_part_amt")
    );
    assert_eq!(
        amount("psn_part_amt"),
        amount("acct_pay") + amount("psn_cash_pay")
    );
    // Same msgid again: same reply, one effect.
    let (again_text, _) = h
        .call_with("2207", HOSPITAL, &msgid, settle_input.clone())
        .await;
    assert_eq!(first_text, again_text);
    let err = h.fails("2207", HOSPITAL, settle_input.clone()).await;
    assert!(
        err.starts_with("参数 input.data.mdtrt_id 有误：") && err.contains(&setl_id),
        "{err}"
    );

    let query = h
        .ok(
            "5203",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "setl_id": setl_id, "mdtrt_id": mdtrt_id } }),
        )
        .await;
    // 5203 repeats the settlement's setlinfo and adds the query's own fields.
    common::assert_query_repeats(&query["setlinfo"], &first["output"]["setlinfo"]);
    assert_eq!(query["setlinfo"]["fixmedins_code"], HOSPITAL);
    assert_eq!(query["setlinfo"]["refd_setl_flag"], "0");
    assert_eq!(query["setlinfo"]["year"], "2026");
    assert_eq!(
        query["setlinfo"]["psn_pay"],
        first["output"]["setlinfo"]["psn_part_amt"]
    );
    assert_eq!(
        query["setlinfo"]["cash_payamt"],
        first["output"]["setlinfo"]["psn_cash_pay"]
    );
    let fees = h
        .ok(
            "5204",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "setl_id": setl_id } }),
        )
        .await;
    assert_eq!(fees["feedetail"].as_array().unwrap().len(), 3);
    assert_eq!(fees["feedetail"][0]["setl_id"], setl_id.as_str());
    let cum = h
        .ok(
            "5206",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "cum_ym": "202603" } }),
        )
        .await;
    let s0000 = cum["cuminfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cum_type_code"] == "S0000")
        .unwrap();
    assert_eq!(yuan(&s0000["cum"]), "230.00");
    let person = h.ok("1101", HOSPITAL, json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "360402197502140022", "psn_cert_type": "01", "certno": "360402197502140022" } })).await;
    let balc_after = yuan(&setlinfo["balc"]);
    assert_eq!(yuan(&person["insuinfo"][0]["balc"]), balc_after);

    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let totals = h.ok("3201", HOSPITAL, json!({ "data": { "insutype": "310", "clr_type": "11", "setl_optins": "360400", "stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": "230.00", "fund_pay_sumamt": setlinfo["fund_pay_sumamt"], "acct_pay": setlinfo["acct_pay"], "fixmedins_setl_cnt": "1" } })).await;
    assert_eq!(totals["stmtinfo"]["stmt_rslt"], "0", "{totals}");
    let detail = h.ok("3202", HOSPITAL, json!({ "data": { "setl_optins": "360400", "stmt_begndate": today, "stmt_enddate": today }, "detail": [{ "setl_id": setl_id, "medfee_sumamt": "230.00", "fund_pay_sumamt": setlinfo["fund_pay_sumamt"], "acct_pay": "0.01" }] })).await;
    assert_eq!(detail["stmt_rslt"], "1");

    let cancel = h
        .ok(
            "2208",
            HOSPITAL,
            json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "P0002" } }),
        )
        .await;
    assert_eq!(yuan(&cancel["setlinfo"]["medfee_sumamt"]), "-230.00");
    assert_eq!(
        yuan(&cancel["setlinfo"]["acct_pay"]),
        format!("-{}", yuan(&setlinfo["acct_pay"]))
            .replace("--", "")
            .replace("-0.00", "0.00")
    );
    assert_eq!(yuan(&cancel["setlinfo"]["balc"]), "3000.00");
    let err = h
        .fails(
            "2208",
            HOSPITAL,
            json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "P0002" } }),
        )
        .await;
    assert!(err.contains("已撤销（撤销结算ID "), "{err}");
    let totals = h.ok("3201", HOSPITAL, json!({ "data": { "stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": "0", "fund_pay_sumamt": "0", "acct_pay": "0", "fixmedins_setl_cnt": "0" } })).await;
    assert_eq!(totals["stmtinfo"]["stmt_rslt"], "0", "{totals}");
    // After the cancel the visit can be settled again.
    h.ok("2207", HOSPITAL, settle_input).await;
    h.ok(
        "9002",
        HOSPITAL,
        json!({ "signOut": { "sign_no": "1", "opter_no": "001" } }),
    )
    .await;
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 3);
}

#[tokio::test]
async fn outpatient_flow_sqlite() {
    outpatient_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn outpatient_flow_postgres() {
    outpatient_flow(Backend::Postgres).await;
}

async fn admit(h: &Harness, fixmedins: &str, psn_no: &str, insutype: &str) -> String {
    let out = h
        .ok("2401", fixmedins, json!({ "mdtrtinfo": { "psn_no": psn_no, "insutype": insutype, "mdtrt_cert_type": "02", "med_type": "21", "ipt_no": "IPT1", "begntime": "2026-02-01 08:00:00", "dise_codg": "K80.100", "atddr_no": "D1" }, "diseinfo": [{ "diag_type": "1", "diag_code": "K80.100", "diag_name": "胆囊结石" }] }))
        .await;
    out["result"]["mdtrt_id"].as_str().unwrap().to_string()
}

async fn inpatient_flow(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "ipt").await;
    let mdtrt_id = admit(&h, HOSPITAL, "P0001", "390").await;
    h.ok(
        "2403",
        HOSPITAL,
        json!({ "adminfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0001", "dise_codg": "K80.101" } }),
    )
    .await;
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [
        line("1", &mdtrt_id, "001201000010000", "10", "40.00", "400.00"),
        line("2", &mdtrt_id, "XJ01DDA063B002010100445", "50", "100.00", "5000.00"),
    ] }),
    )
    .await;
    // Refund part of line 2: negative cnt with init_feedetl_sn.
    let mut refund = line(
        "3",
        &mdtrt_id,
        "XJ01DDA063B002010100445",
        "-10",
        "100.00",
        "-1000.00",
    );
    refund["init_feedetl_sn"] = json!("2");
    let split = h
        .ok("2301", HOSPITAL, json!({ "feedetail": [refund.clone()] }))
        .await;
    assert_eq!(yuan(&split["result"][0]["det_item_fee_sumamt"]), "-1000.00");
    // Refunding more than is left is refused.
    let mut over = line(
        "4",
        &mdtrt_id,
        "XJ01DDA063B002010100445",
        "-50",
        "100.00",
        "-5000.00",
    );
    over["init_feedetl_sn"] = json!("2");
    let err = h
        .fails("2301", HOSPITAL, json!({ "feedetail": [over] }))
        .await;
    assert!(
        err.contains("input.feedetail[0].det_item_fee_sumamt"),
        "{err}"
    );
    // Pre-settlement, then an interim settlement of what is uploaded so far.
    let pre = h.ok("2303", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "4400.00", "mid_setl_flag": "1", "insutype": "390" } })).await;
    assert_eq!(yuan(&pre["setlinfo"]["medfee_sumamt"]), "4400.00");
    let interim = h.ok("2304", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "4400.00", "mid_setl_flag": "1", "insutype": "390", "acct_used_flag": "0" } })).await;
    let interim_dedc = yuan(&interim["setlinfo"]["act_pay_dedc"]);
    assert_eq!(interim_dedc, "600.00", "{interim}");
    // Lines consumed by the interim settlement cannot be cancelled.
    let err = h
        .fails(
            "2302",
            HOSPITAL,
            json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0001", "feedetl_sn": "1" } }),
        )
        .await;
    assert!(err.contains("已结算"), "{err}");
    h.ok("2301", HOSPITAL, json!({ "feedetail": [line("5", &mdtrt_id, "001201000010000", "5", "40.00", "200.00"), line("6", &mdtrt_id, "001201000010000", "1", "40.00", "40.00")] })).await;
    h.ok(
        "2302",
        HOSPITAL,
        json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0001", "feedetl_sn": "6" } }),
    )
    .await;
    h.ok("2402", HOSPITAL, json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0001", "insutype": "390", "endtime": "2026-02-10 10:00:00", "dise_codg": "K80.100", "dscg_way": "1" } })).await;
    h.ok(
        "2405",
        HOSPITAL,
        json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0001" } }),
    )
    .await;
    h.ok("2402", HOSPITAL, json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0001", "endtime": "2026-02-10 10:00:00" } })).await;
    let err = h.fails("2304", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "200.00", "mid_setl_flag": "1" } })).await;
    assert!(err.contains("mid_setl_flag"), "{err}");
    let last = h.ok("2304", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "200.00", "mid_setl_flag": "0", "insutype": "390" } })).await;
    // The admission deductible was charged once, by the interim settlement.
    assert_eq!(yuan(&last["setlinfo"]["act_pay_dedc"]), "0.00", "{last}");
    let final_id = last["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    let cum = h
        .ok(
            "5206",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0001", "cum_ym": "202602" } }),
        )
        .await;
    let code = |c: &str| {
        cum["cuminfo"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cum_type_code"] == c)
            .map(|r| yuan(&r["cum"]))
    };
    assert_eq!(code("C0000").as_deref(), Some("1.00"), "{cum}");
    assert_eq!(code("S0000").as_deref(), Some("4600.00"));
    assert_eq!(code("Q0000").as_deref(), Some("600.00"));
    let err = h
        .fails(
            "2404",
            HOSPITAL,
            json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0001" } }),
        )
        .await;
    assert!(err.contains("已结算"), "{err}");
    let cancel = h
        .ok(
            "2305",
            HOSPITAL,
            json!({ "data": { "setl_id": final_id, "mdtrt_id": mdtrt_id, "psn_no": "P0001" } }),
        )
        .await;
    assert_eq!(yuan(&cancel["setlinfo"]["medfee_sumamt"]), "-200.00");
    let err = h
        .fails(
            "2208",
            HOSPITAL,
            json!({ "data": { "setl_id": interim["setlinfo"]["setl_id"], "psn_no": "P0001" } }),
        )
        .await;
    assert!(err.contains("是 2304 交易的结算，2208 不能撤销"), "{err}");
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 3);
    // A second admission, cancelled before anything was settled.
    let second = admit(&h, HOSPITAL, "P0001", "390").await;
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [line("1", &second, "001201000010000", "1", "40.00", "40.00")] }),
    )
    .await;
    h.ok(
        "2404",
        HOSPITAL,
        json!({ "data": { "mdtrt_id": second, "psn_no": "P0001" } }),
    )
    .await;
    let err = h
        .fails(
            "2301",
            HOSPITAL,
            json!({ "feedetail": [line("2", &second, "001201000010000", "1", "40.00", "40.00")] }),
        )
        .await;
    assert!(err.contains("已撤销"), "{err}");
    // 2601 of a 2304 whose reply was lost.
    let third = admit(&h, HOSPITAL, "P0001", "390").await;
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [line("1", &third, "001201000010000", "3", "40.00", "120.00")] }),
    )
    .await;
    let msgid = h.msgid(HOSPITAL);
    let settle = json!({ "data": { "psn_no": "P0001", "mdtrt_id": third, "medfee_sumamt": "120.00", "mid_setl_flag": "0", "dscgTime": "2026-02-20 10:00:00" } });
    let (_, settled) = h.call_with("2304", HOSPITAL, &msgid, settle).await;
    assert_eq!(settled["infcode"], 0, "{settled}");
    h.ok(
        "2601",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0001", "omsgid": msgid, "oinfno": "2304" } }),
    )
    .await;
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 5);
}

#[tokio::test]
async fn inpatient_flow_sqlite() {
    inpatient_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn inpatient_flow_postgres() {
    inpatient_flow(Backend::Postgres).await;
}

async fn pharmacy_and_reversal(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "rx").await;
    let lines = json!([
        line("1", "", "XJ01CAA040A001010101791", "2", "10.00", "20.00"),
        line("2", "", "ZA04BAL0093010103741", "1", "25.50", "25.50")
    ]);
    let pre = h.ok("2101", PHARMACY, json!({ "data": { "psn_no": "P0002", "insutype": "310", "med_type": "41", "medfee_sumamt": "45.50", "acct_used_flag": "1" }, "feedetail": lines })).await;
    assert_eq!(yuan(&pre["setlinfo"]["medfee_sumamt"]), "45.50");
    let msgid = h.msgid(PHARMACY);
    let input = json!({ "data": { "psn_no": "P0002", "insutype": "310", "med_type": "41", "medfee_sumamt": "45.50", "acct_used_flag": "1" }, "drugdetail": lines });
    let (_, bought) = h.call_with("2102", PHARMACY, &msgid, input).await;
    assert_eq!(bought["infcode"], 0, "{bought}");
    let setl_id = bought["output"]["setlinfo"]["setl_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cancel = h
        .ok(
            "2103",
            PHARMACY,
            json!({ "data": { "setl_id": setl_id, "psn_no": "P0002" } }),
        )
        .await;
    assert_eq!(yuan(&cancel["setlinfo"]["medfee_sumamt"]), "-45.50");
    let err = h
        .fails(
            "2601",
            PHARMACY,
            json!({ "data": { "psn_no": "P0002", "omsgid": msgid, "oinfno": "2102" } }),
        )
        .await;
    assert!(err.contains("已撤销（撤销结算ID "), "{err}");

    // 2601 of an outpatient settlement whose reply the hospital never saw.
    let mdtrt_id = register(&h, HOSPITAL, "P0004", "390").await;
    h.ok("2204", HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "3", "10.00", "30.00")] })).await;
    let msgid = h.msgid(HOSPITAL);
    let (_, settled) = h.call_with("2207", HOSPITAL, &msgid, json!({ "data": { "psn_no": "P0004", "mdtrt_id": mdtrt_id, "medfee_sumamt": "30.00" } })).await;
    assert_eq!(settled["infcode"], 0, "{settled}");
    let err = h
        .fails(
            "2601",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0004", "omsgid": msgid, "oinfno": "2204" } }),
        )
        .await;
    assert!(err.contains("input.data.oinfno"), "{err}");
    let err = h
        .fails(
            "2601",
            OTHER_HOSPITAL,
            json!({ "data": { "psn_no": "P0004", "omsgid": msgid, "oinfno": "2207" } }),
        )
        .await;
    assert!(err.contains("input.data.omsgid"), "{err}");
    h.ok(
        "2601",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0004", "omsgid": msgid, "oinfno": "2207" } }),
    )
    .await;
    let setl_id = settled["output"]["setlinfo"]["setl_id"].clone();
    let err = h
        .fails(
            "2208",
            HOSPITAL,
            json!({ "data": { "setl_id": setl_id, "psn_no": "P0004" } }),
        )
        .await;
    assert!(err.contains("已撤销（撤销结算ID "), "{err}");
    // 2601 of an admission.
    let msgid = h.msgid(HOSPITAL);
    let (_, admitted) = h.call_with("2401", HOSPITAL, &msgid, json!({ "mdtrtinfo": { "psn_no": "P0004", "insutype": "390", "med_type": "21", "begntime": "2026-02-01 08:00:00" } })).await;
    assert_eq!(admitted["infcode"], 0);
    h.ok(
        "2601",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0004", "omsgid": msgid, "oinfno": "2401" } }),
    )
    .await;
    let ipt = admitted["output"]["result"]["mdtrt_id"].as_str().unwrap();
    let err = h
        .fails(
            "2402",
            HOSPITAL,
            json!({ "dscginfo": { "mdtrt_id": ipt, "endtime": "2026-02-02 08:00:00" } }),
        )
        .await;
    assert!(err.contains("已撤销"), "{err}");
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
}

#[tokio::test]
async fn pharmacy_and_reversal_sqlite() {
    pharmacy_and_reversal(Backend::Sqlite).await;
}

#[tokio::test]
async fn pharmacy_and_reversal_postgres() {
    pharmacy_and_reversal(Backend::Postgres).await;
}

async fn bad_input(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "err").await;
    let reply = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
    // Malformed JSON, not an object, missing msgid.
    let (status, text) = h.post(b"{\"infno\": \"2207\", ".to_vec(), &[]).await;
    assert_eq!(status, 200);
    let r = reply(&text);
    assert_eq!(r["infcode"], -1);
    assert!(
        r["err_msg"].as_str().unwrap().starts_with("请求报文有误："),
        "{r}"
    );
    assert!(r["inf_refmsgid"].as_str().unwrap().len() >= 30);
    let (_, text) = h.post(b"[1,2]".to_vec(), &[]).await;
    assert!(reply(&text)["err_msg"]
        .as_str()
        .unwrap()
        .starts_with("请求报文有误："));
    let (_, text) = h
        .post(
            br#"{"infno":"2201","fixmedins_code":"H36040200001","input":{}}"#.to_vec(),
            &[],
        )
        .await;
    assert_eq!(reply(&text)["err_msg"], "参数 msgid 有误：不能为空");
    // Body over the limit.
    let big = serde_json::to_vec(&Harness::envelope(
        "2204",
        HOSPITAL,
        "M1",
        json!({ "pad": "x".repeat(5 * 1024 * 1024) }),
    ))
    .unwrap();
    let (status, text) = h.post(big, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        reply(&text)["err_msg"],
        "请求报文有误：超过 4194304 字节的上限",
        "{text}"
    );
    // Unknown infno and institution.
    let err = h.fails("9999", HOSPITAL, json!({})).await;
    assert!(err.starts_with("参数 infno 有误："), "{err}");
    let err = h
        .fails(
            "2201",
            "H99999999999",
            json!({ "data": { "psn_no": "P0001", "insutype": "390" } }),
        )
        .await;
    assert!(err.starts_with("参数 fixmedins_code 有误："), "{err}");
    // Unknown person, wrong insutype, missing field.
    let err = h
        .fails(
            "2201",
            HOSPITAL,
            json!({ "data": { "psn_no": "NOPE", "insutype": "390" } }),
        )
        .await;
    assert!(err.starts_with("参数 input.data.psn_no 有误："), "{err}");
    let err = h
        .fails(
            "2201",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0001", "insutype": "310" } }),
        )
        .await;
    assert!(
        err.starts_with("参数 input.data.insutype 有误：")
            && err.contains("未参加险种 310（已参加：390）"),
        "{err}"
    );
    // Insurance not in force (P0005 terminated): registration is accepted, benefits are decided
    // at settlement (tests/coverage.rs).
    h.ok(
        "2201",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0005", "insutype": "390" } }),
    )
    .await;
    let err = h
        .fails("2201", HOSPITAL, json!({ "data": { "insutype": "390" } }))
        .await;
    assert_eq!(err, "参数 input.data.psn_no 有误：缺少必填字段");
    let err = h
        .fails(
            "1101",
            HOSPITAL,
            json!({ "data": { "certno": "360402196005010011", "psn_name": "别人" } }),
        )
        .await;
    assert!(
        err.starts_with("参数 input.data.psn_name 有误：") && !err.contains("测试"),
        "{err}"
    );
    // Settling a visit with no fees; touching another institution's visit.
    let mdtrt_id = register(&h, HOSPITAL, "P0001", "390").await;
    let err = h
        .fails(
            "2207",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "0" } }),
        )
        .await;
    assert!(
        err.starts_with("参数 input.data.mdtrt_id 有误：") && err.contains("没有未结算的费用明细"),
        "{err}"
    );
    let err = h.fails("2204", OTHER_HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.00")] })).await;
    assert!(
        err.starts_with("参数 input.feedetail[0].mdtrt_id 有误："),
        "{err}"
    );
    let err = h
        .fails(
            "2202",
            OTHER_HOSPITAL,
            json!({ "data": { "mdtrt_id": mdtrt_id } }),
        )
        .await;
    assert!(err.starts_with("参数 input.data.mdtrt_id 有误："), "{err}");
    // Bad amounts: too many decimals, price × count mismatch, totals that do not add up.
    let err = h.fails("2204", HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.001")] })).await;
    assert_eq!(
        err,
        "参数 input.feedetail[0].det_item_fee_sumamt 有误：10.001 的小数超过 2 位"
    );
    let err = h.fails("2204", HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "2", "10.00", "30.00")] })).await;
    assert!(
        err.contains("det_item_fee_sumamt 有误：30.00 与单价 × 数量 = 20"),
        "{err}"
    );
    let err = h.fails("2204", HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.00"), line("1", &mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.00")] })).await;
    assert_eq!(
        err,
        "参数 input.feedetail[1].feedetl_sn 有误：1 在本次上传中重复"
    );
    h.ok("2204", HOSPITAL, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.00")] })).await;
    let err = h.fails("2207", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "11.00" } })).await;
    assert_eq!(
        err,
        "参数 input.data.medfee_sumamt 有误：11.00 与费用明细合计 10.00 不一致"
    );
    let err = h
        .fails(
            "2207",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id } }),
        )
        .await;
    assert_eq!(err, "参数 input.data.medfee_sumamt 有误：不能为空");
    let err = h.fails("2207", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "10.00", "inscp_scp_amt": "1.00" } })).await;
    assert!(
        err.starts_with("参数 input.data.inscp_scp_amt 有误："),
        "{err}"
    );
    let err = h.fails("2207", HOSPITAL, json!({ "data": { "psn_no": "P0003", "mdtrt_id": mdtrt_id, "medfee_sumamt": "10.00" } })).await;
    assert!(err.starts_with("参数 input.data.psn_no 有误："), "{err}");
    // Same msgid reused for another transaction.
    let msgid = h.msgid(HOSPITAL);
    let (_, first) = h.call_with("2207", HOSPITAL, &msgid, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "10.00" } })).await;
    assert_eq!(first["infcode"], 0, "{first}");
    let (_, reused) = h
        .call_with(
            "2208",
            HOSPITAL,
            &msgid,
            json!({ "data": { "setl_id": first["output"]["setlinfo"]["setl_id"] } }),
        )
        .await;
    assert!(
        reused["err_msg"]
            .as_str()
            .unwrap()
            .starts_with("参数 msgid 有误："),
        "{reused}"
    );
    // Nothing half-written: the ledger holds exactly the one settlement and verifies.
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 1);
}

#[tokio::test]
async fn bad_input_sqlite() {
    bad_input(Backend::Sqlite).await;
}

#[tokio::test]
async fn bad_input_postgres() {
    bad_input(Backend::Postgres).await;
}

async fn gateway(backend: Backend) {
    for auth in [AuthMode::Csb, AuthMode::Tif] {
        let h = Harness::start(backend, auth, "auth").await;
        h.admin("POST", "/admin/keys", json!([
            { "access_key": "AK1", "fixmedins_code": HOSPITAL, "scheme": "csb", "secret": "SK1" },
            { "access_key": "PAAS1", "fixmedins_code": HOSPITAL, "scheme": "tif", "secret": "TOKEN1" },
        ]).to_string()).await;
        let now_ms = chrono::Utc::now().timestamp_millis();
        // Each CSB request is signed at its own millisecond, as a client signs each call.
        let serial = std::cell::Cell::new(0);
        let signed = |infno: &str, nonce: &str| {
            serial.set(serial.get() + 1);
            match auth {
                AuthMode::Csb => {
                    yibao_server::auth::csb_headers("AK1", "SK1", infno, now_ms + serial.get())
                }
                _ => yibao_server::auth::tif_headers("PAAS1", "TOKEN1", nonce, now_ms / 1000),
            }
        };
        let body = |fixmedins: &str| {
            serde_json::to_vec(&Harness::envelope(
                "9001",
                fixmedins,
                &h.msgid(fixmedins),
                json!({ "signIn": {} }),
            ))
            .unwrap()
        };
        let (status, text) = h.post(body(HOSPITAL), &[]).await;
        assert_eq!(status, 401, "{text}");
        assert!(text.contains("\"code\":401"), "{text}");
        let first = signed("9001", "n1");
        let (status, text) = h.post(body(HOSPITAL), &first).await;
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("\"infcode\":0"), "{text}");
        // The same signed headers again, even with another message: a replay.
        let (status, text) = h.post(body(HOSPITAL), &first).await;
        assert_eq!(status, 401, "replay: {text}");
        assert!(text.contains("already used"), "{text}");
        // The key of one institution cannot act for another.
        let (status, text) = h.post(body(OTHER_HOSPITAL), &signed("9001", "n2")).await;
        assert_eq!(status, 200);
        assert!(
            text.contains("参数 fixmedins_code 有误：与网关密钥所属的定点医药机构不一致"),
            "{text}"
        );
        // Tampered signature, stale timestamp, unknown key.
        let mut tampered = signed("9001", "n3");
        let last = tampered.len() - 1;
        tampered[last].1 = tampered[last]
            .1
            .replace(|c: char| c.is_ascii_alphanumeric(), "A");
        let (status, _) = h.post(body(HOSPITAL), &tampered).await;
        assert_eq!(status, 401);
        let stale = match auth {
            AuthMode::Csb => {
                yibao_server::auth::csb_headers("AK1", "SK1", "9001", now_ms - 31 * 60 * 1000)
            }
            _ => yibao_server::auth::tif_headers("PAAS1", "TOKEN1", "n4", now_ms / 1000 - 31 * 60),
        };
        let (status, text) = h.post(body(HOSPITAL), &stale).await;
        assert_eq!(status, 401, "{text}");
        let unknown = match auth {
            AuthMode::Csb => yibao_server::auth::csb_headers("AK9", "SK1", "9001", now_ms),
            _ => yibao_server::auth::tif_headers("PAAS9", "TOKEN1", "n5", now_ms / 1000),
        };
        let (status, _) = h.post(body(HOSPITAL), &unknown).await;
        assert_eq!(status, 401);
        if auth == AuthMode::Tif {
            let (status, text) = h.post(body(HOSPITAL), &signed("9001", "n1")).await;
            assert_eq!(status, 401, "nonce replay: {text}");
        } else {
            // A CSB signature covers its `_api_name`: it cannot carry another transaction.
            let (status, text) = h.post(body(HOSPITAL), &signed("1101", "")).await;
            assert_eq!(status, 200, "{text}");
            assert!(
                text.contains("\"infcode\":-1")
                    && text.contains(
                        "参数 infno 有误：9001 不是网关签名所针对的交易（_api_name 1101）"
                    ),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn gateway_sqlite() {
    gateway(Backend::Sqlite).await;
}

#[tokio::test]
async fn gateway_postgres() {
    gateway(Backend::Postgres).await;
}

/// 120 settlements of one person in parallel at a 一级 clinic: the resident outpatient pool
/// (65 %, 400 yuan a year) must pay exactly its cap in total, never more, whatever the order.
async fn parallel_settlements_respect_caps(backend: Backend) {
    const VISITS: usize = 120;
    let h = Harness::start(backend, AuthMode::None, "par").await;
    let mut visits = Vec::with_capacity(VISITS);
    for _ in 0..VISITS {
        let mdtrt_id = register(&h, CLINIC, "P0004", "390").await;
        h.ok("2204", CLINIC, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "10", "10.00", "100.00")] })).await;
        visits.push(mdtrt_id);
    }
    let h = std::sync::Arc::new(h);
    let mut tasks = tokio::task::JoinSet::new();
    for mdtrt_id in visits {
        let h = std::sync::Arc::clone(&h);
        tasks.spawn(async move { h.ok("2207", CLINIC, json!({ "data": { "psn_no": "P0004", "mdtrt_id": mdtrt_id, "medfee_sumamt": "100.00" } })).await });
    }
    let outputs: Vec<Value> = tasks.join_all().await;
    let fen = |v: &Value| (v.as_f64().unwrap() * 100.0).round() as i64;
    let paid: i64 = outputs
        .iter()
        .map(|o| fen(&o["setlinfo"]["hifp_pay"]))
        .sum();
    assert_eq!(
        paid, 40_000,
        "the 400-yuan cap is paid exactly once in total"
    );
    for o in &outputs {
        for row in o["setldetail"].as_array().unwrap() {
            // 0.00: a fund without a cap.
            let cap = row["crt_payb_lmt_amt"].as_f64().unwrap();
            if cap > 0.0 {
                assert!(
                    fen(&row["fund_payamt"]) <= (cap * 100.0).round() as i64,
                    "{row}"
                );
            }
        }
    }
    let cum = h
        .ok(
            "5206",
            CLINIC,
            json!({ "data": { "psn_no": "P0004", "cum_ym": "202603" } }),
        )
        .await;
    let d = cum["cuminfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cum_type_code"] == "D390100")
        .unwrap();
    assert_eq!(yuan(&d["cum"]), "400.00");
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], VISITS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_settlements_respect_caps_sqlite() {
    parallel_settlements_respect_caps(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_settlements_respect_caps_postgres() {
    parallel_settlements_respect_caps(Backend::Postgres).await;
}

/// `/healthz`, `/metrics`, the admin token, and the gateway prefix of the configuration.
#[tokio::test]
async fn operations_endpoints() {
    let (database, dir) = common::fresh_database(Backend::Sqlite, "ops").await;
    let config = yibao_server::config::Config {
        database,
        data_dir: dir,
        admin_token: "secret".into(),
        path_prefix: "/ebus/mbs_fsi_auth".into(),
        ..Default::default()
    };
    let h = Harness::start_with(config).await;
    let health = h
        .client
        .get(format!("{}/healthz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let refused = h
        .client
        .get(format!("{}/admin/verify", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let verified = h
        .client
        .get(format!("{}/admin/verify", h.base))
        .bearer_auth("secret")
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let body = serde_json::to_vec(&Harness::envelope("9001", HOSPITAL, "M1", json!({}))).unwrap();
    let url = format!(
        "{}/ebus/mbs_fsi_auth/fsi/api/rsfComIfsService/callService/9001",
        h.base
    );
    let reply: Value = h
        .client
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        reply["err_msg"]
            .as_str()
            .unwrap()
            .starts_with("参数 fixmedins_code 有误："),
        "{reply}"
    );
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("yibao_requests_total{infno=\"9001\",outcome=\"error\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("yibao_request_duration_seconds_count{infno=\"9001\"} 1"));
    assert!(metrics.contains("yibao_ledger_entries 0"));
}

/// Registry writes through the admin API while settlements run never fail a settlement (SQLite has
/// one writer lock; the ledger writer must wait for it, not give up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_writes_during_settlements_sqlite() {
    let h = std::sync::Arc::new(Harness::start(Backend::Sqlite, AuthMode::None, "mix").await);
    let admin = {
        let h = std::sync::Arc::clone(&h);
        tokio::spawn(async move {
            for round in 0..20 {
                let rows: Vec<Value> = (0..200)
                    .map(|i| json!({ "psn_no": format!("X{round:02}{i:04}"), "psn_cert_type": "01", "certno": format!("C{round}{i}"), "psn_name": "批量", "gend": "1", "brdy": "1980-01-01", "insutype": "390", "psn_type": "16", "psn_insu_stas": "1", "psn_insu_date": "2010-01-01", "insuplc_admdvs": "360400", "cvlserv_flag": "0", "balc": "0", "idet": "" }))
                    .collect();
                h.admin("POST", "/admin/persons", Value::Array(rows).to_string())
                    .await;
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..8 {
        let h = std::sync::Arc::clone(&h);
        tasks.spawn(async move {
            for _ in 0..10 {
                let psn_no = ["P0001", "P0003", "P0004"][client % 3];
                let mdtrt_id = register(&h, CLINIC, psn_no, "390").await;
                h.ok("2204", CLINIC, json!({ "feedetail": [line("1", &mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.00")] })).await;
                h.ok("2207", CLINIC, json!({ "data": { "psn_no": psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": "10.00" } })).await;
            }
        });
    }
    tasks.join_all().await;
    admin.await.unwrap();
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 80);
}
