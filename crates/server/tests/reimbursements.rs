//! 零星报销 over real HTTP on SQLite and PostgreSQL (`/admin/reimbursements`): a 九江 resident's
//! cash-paid stay in another province, unfiled, reimbursed at 九江's rate for it (800 / 40 %) with
//! 九江's catalogue splitting the invoice; the same invoice again; a cancellation; the
//! accumulators (5206) and `verify`; the account never pays; refusals name the field.

use crate::common;

use common::{fen, Backend, Harness};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const JIUJIANG: &str = "H36040200001";

/// A stay at a 广州 三级 hospital, paid in cash, 2026-03-02 to 03-09.
fn invoice(psn_no: &str, insutype: &str, invono: &str) -> Value {
    json!({
        "psn_no": psn_no, "insutype": insutype, "medins_admdvs": "440106",
        "medins_name": "广州某三甲医院", "medins_code": "H44010600001", "hosp_lv": "1",
        "med_type": "21", "begntime": "2026-03-02 08:00:00", "endtime": "2026-03-09 10:00:00",
        "dise_codg": "I21.000", "invono": invono, "operator": "柜员01",
        "lines": [
            { "med_list_codg": "003306000010000", "name": "经皮冠状动脉支架置入术", "cnt": 1,
              "pric": "8000.00", "det_item_fee_sumamt": "8000.00" },
            { "med_list_codg": "001201000010000", "name": "普通病房床位费", "cnt": "10",
              "pric": 40, "det_item_fee_sumamt": 400.00 },
            { "med_list_codg": "XJ01DDA063B002010100445", "name": "注射用头孢曲松钠", "cnt": 10,
              "pric": "12.50", "det_item_fee_sumamt": "125.00" },
            { "med_list_codg": "X99999", "name": "某进口耗材", "cnt": 1, "pric": "300.00",
              "det_item_fee_sumamt": "300.00" },
            { "name": "病历复印费", "cnt": 1, "pric": "5.00", "det_item_fee_sumamt": "5.00" },
        ],
    })
}

/// An admin POST: status and body.
async fn post(h: &Harness, path: &str, body: &Value) -> (u16, Value) {
    h.admin_answer("POST", path, body.to_string()).await
}

/// An admin GET: status and body.
async fn get(h: &Harness, path: &str) -> (u16, Value) {
    h.admin_answer("GET", path, "").await
}

async fn reimburse(h: &Harness, body: &Value) -> Value {
    let (status, receipt) = post(h, "/admin/reimbursements", body).await;
    assert_eq!(status, 200, "{receipt}");
    receipt
}

async fn refused(h: &Harness, path: &str, body: &Value) -> (u16, String) {
    let (status, answer) = post(h, path, body).await;
    assert_eq!(answer["ok"], false, "{answer}");
    (status, answer["error"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn an_unfiled_stay_paid_in_cash_is_reimbursed_at_the_unfiled_rate() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "reimburse").await;
        // 九江's catalogue splits the invoice: 8000.00 + 400.00 甲类; the 乙类 drug 125.00 with
        // 10 % 先行自付 = 12.50; the unknown code 300.00 and the line without a code 5.00 全自费.
        // In scope 8000.00 + 400.00 + 112.50 = 8512.50. Unfiled in another province: 九江's
        // self-referred rate for residents, 800 / 40 %: (8512.50 − 800.00) × 40 % = 3085.00.
        // The patient: 8830.00 − 3085.00 = 5745.00, all in cash.
        let receipt = reimburse(&h, &invoice("P0001", "390", "FP-2026-0001")).await;
        let s = &receipt["setlinfo"];
        assert_eq!(fen(&s["medfee_sumamt"]), 883_000, "{receipt}");
        assert_eq!(fen(&s["fulamt_ownpay_amt"]), 30_500);
        assert_eq!(fen(&s["preselfpay_amt"]), 1_250);
        assert_eq!(fen(&s["inscp_scp_amt"]), 851_250);
        assert_eq!(fen(&s["act_pay_dedc"]), 80_000);
        assert_eq!(fen(&s["hifp_pay"]), 308_500);
        assert_eq!(fen(&s["fund_pay_sumamt"]), 308_500);
        assert_eq!(fen(&s["acct_pay"]), 0);
        assert_eq!(fen(&s["psn_cash_pay"]), 574_500);
        assert_eq!(receipt["filing_status"], "未备案");
        assert_eq!(receipt["rates"], "异地未转诊待遇");
        let rows = receipt["setldetail"].as_array().unwrap();
        // Every fund row with why: the pooled fund, and 大病 below its 17,000.00 deductible.
        assert_eq!(rows.len(), 2, "{receipt}");
        assert_eq!(rows[0]["fund_pay_type"], "390100");
        assert_eq!(fen(&rows[0]["fund_payamt"]), 308_500);
        assert!(rows[0]["setl_proc_info"]
            .as_str()
            .unwrap()
            .contains("(7712.50 起付后) × 40% = 3085.00"));
        assert_eq!(rows[1]["fund_pay_type"], "390200");
        assert_eq!(fen(&rows[1]["fund_payamt"]), 0);
        let lines = receipt["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 5);
        assert_eq!(fen(&lines[3]["fulamt_ownpay_amt"]), 30_000);
        assert_eq!(lines[3]["memo"], "目录外项目，全自费", "{receipt}");
        assert_eq!(fen(&lines[4]["fulamt_ownpay_amt"]), 500);
        assert!(receipt["text"].as_str().unwrap().contains("FP-2026-0001"));
        let setl_id = receipt["setl_id"].as_str().unwrap().to_string();
        assert!(setl_id.starts_with("3604002"), "{setl_id}");

        // The same invoice again, entered by another clerk: the stored receipt, nothing new.
        let mut again = invoice("P0001", "390", "FP-2026-0001");
        again["operator"] = json!("柜员02");
        assert_eq!(reimburse(&h, &again).await, receipt);
        // With other content: refused, naming the invoice.
        let mut changed = invoice("P0001", "390", "FP-2026-0001");
        changed["lines"][4]["det_item_fee_sumamt"] = json!("6.00");
        changed["lines"][4]["pric"] = json!("6.00");
        let (status, error) = refused(&h, "/admin/reimbursements", &changed).await;
        assert_eq!(status, 409, "{error}");
        assert!(
            error.contains("invono") && error.contains(&setl_id),
            "{error}"
        );

        // It counts in the accumulators: one admission, 800.00 of deductible paid.
        assert_eq!(
            h.accumulator(JIUJIANG, "P0001", "202603", "C0000").await,
            100
        );
        h.assert_verifies().await;

        // A worker with 3000.00 on the account: cash-paid care, the account does not pay.
        // 800 / 60 %: (8512.50 − 800.00) × 60 % = 4627.50.
        let worker = reimburse(&h, &invoice("P0002", "310", "FP-2026-0001")).await;
        assert_eq!(fen(&worker["setlinfo"]["hifp_pay"]), 462_750, "{worker}");
        assert_eq!(fen(&worker["setlinfo"]["acct_pay"]), 0);
        assert_eq!(fen(&worker["setlinfo"]["balc"]), 300_000);

        // The cancellation: the exact negation; again: the stored one; the accumulators go back.
        let path = format!("/admin/reimbursements/{setl_id}/cancel");
        let (status, cancelled) = post(&h, &path, &json!({})).await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(cancelled["orig_setl_id"], json!(setl_id));
        assert_eq!(fen(&cancelled["setlinfo"]["hifp_pay"]), -308_500);
        assert_eq!(fen(&cancelled["setlinfo"]["medfee_sumamt"]), -883_000);
        assert_eq!(fen(&cancelled["setldetail"][0]["fund_payamt"]), -308_500);
        assert_eq!(cancelled["invono"], "FP-2026-0001");
        let (_, repeated) = post(&h, &path, &json!({})).await;
        assert_eq!(repeated, cancelled);
        assert_eq!(h.accumulator(JIUJIANG, "P0001", "202603", "C0000").await, 0);
        let cancel_id = cancelled["setl_id"].as_str().unwrap();
        let (status, error) = refused(
            &h,
            &format!("/admin/reimbursements/{cancel_id}/cancel"),
            &json!({}),
        )
        .await;
        assert_eq!(status, 400);
        assert!(error.contains("setl_id"), "{error}");

        // The register: a person's entries with the cancellation named; pages; a receipt again.
        let (status, listed) = get(&h, "/admin/reimbursements?psn_no=P0001").await;
        assert_eq!(status, 200, "{listed}");
        let entries = listed["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{listed}");
        assert_eq!(entries[0]["setl_id"], json!(setl_id));
        assert_eq!(entries[0]["kind"], "settle");
        assert_eq!(entries[0]["invono"], "FP-2026-0001");
        assert_eq!(entries[0]["cancelled_by"], json!(cancel_id));
        assert_eq!(entries[0]["insuplc_admdvs"], "360400");
        assert_eq!(fen(&entries[0]["setlinfo"]["hifp_pay"]), 308_500);
        assert_eq!(entries[1]["kind"], "cancel");
        assert_eq!(entries[1]["orig_setl_id"], json!(setl_id));
        assert_eq!(listed["next_offset"], Value::Null);
        let (_, page) = get(&h, "/admin/reimbursements?limit=2").await;
        assert_eq!(page["entries"].as_array().unwrap().len(), 2, "{page}");
        assert_eq!(page["next_offset"], 2);
        let (_, rest) = get(&h, "/admin/reimbursements?limit=2&offset=2").await;
        let rest = rest["entries"].as_array().unwrap().clone();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0]["setl_id"], json!(cancel_id));
        assert_eq!(page["entries"][1]["psn_no"], "P0002");
        assert_eq!(page["entries"][1]["cancelled_by"], Value::Null);
        let (_, outside) = get(&h, "/admin/reimbursements?from=2020-01-01&to=2020-12-31").await;
        assert_eq!(outside["entries"], json!([]), "{outside}");
        let (status, shown) = get(&h, &format!("/admin/reimbursements/{setl_id}")).await;
        assert_eq!(status, 200);
        assert_eq!(shown, receipt);
        let (_, shown) = get(&h, &format!("/admin/reimbursements/{cancel_id}")).await;
        assert_eq!(shown, cancelled);
        let (status, _) = get(&h, "/admin/reimbursements/999999").await;
        assert_eq!(status, 404);
        for (query, field) in [
            ("from=2026-13-01", "from"),
            ("from=2026-03-02&to=2026-03-01", "from"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("offset=100001", "offset"),
            ("psn_no=", "psn_no"),
        ] {
            let (status, answer) = get(&h, &format!("/admin/reimbursements?{query}")).await;
            assert_eq!(status, 400, "{query}: {answer}");
            let error = answer["error"].as_str().unwrap();
            assert!(
                error.contains(&format!("参数 {field} 有误")),
                "{query}: {error}"
            );
        }
        h.assert_verifies().await;
        h.stop().await;
    }
}

#[tokio::test]
async fn a_reimbursement_is_checked_field_by_field() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "reimburse-fields").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("medins_admdvs", json!("4401"), "body.medins_admdvs"),
        ("invono", Value::Null, "body.invono"),
        ("psn_no", json!("P9999"), "body.psn_no"),
        ("insutype", json!("310"), "body.insutype"),
        ("hosp_lv", json!("99"), "body.hosp_lv"),
        ("endtime", json!("2026-03-01 08:00:00"), "body.endtime"),
        ("begntime", json!("2099-03-01 08:00:00"), "body.begntime"),
        ("medins_name", json!("医院\u{0}"), "body.medins_name"),
        ("lines", json!([]), "body.lines"),
    ];
    for (field, value, named) in cases {
        let mut body = invoice("P0001", "390", "FP-X");
        match value {
            Value::Null => {
                body.as_object_mut().unwrap().remove(field);
            }
            value => body[field] = value,
        }
        let (status, error) = refused(&h, "/admin/reimbursements", &body).await;
        assert_eq!(status, 400, "{field}: {error}");
        assert!(error.contains(named), "{field}: {error}");
    }
    let mut body = invoice("P0001", "390", "FP-X");
    body["lines"][1]["det_item_fee_sumamt"] = json!("401.00");
    let (_, error) = refused(&h, "/admin/reimbursements", &body).await;
    assert!(
        error.contains("body.lines[1].det_item_fee_sumamt"),
        "{error}"
    );
    body["lines"][1]["det_item_fee_sumamt"] = json!("100000000.01");
    let (_, error) = refused(&h, "/admin/reimbursements", &body).await;
    assert!(
        error.contains("body.lines[1].det_item_fee_sumamt"),
        "{error}"
    );
    body["lines"][1]["cnt"] = json!("abc");
    let (_, error) = refused(&h, "/admin/reimbursements", &body).await;
    assert!(error.contains("body.lines[1].cnt"), "{error}");
    // Nothing was written.
    h.assert_verifies().await;
    assert_eq!(h.accumulator(JIUJIANG, "P0001", "202603", "C0000").await, 0);
    h.stop().await;
}
