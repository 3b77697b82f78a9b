//! Sanctions of fund supervision over HTTP, on SQLite and on PostgreSQL: an institution whose
//! agreement is suspended is refused from the effective day (not before; cancellations and reads
//! still work; restored by an `active` step); a practitioner whose points reach the first tier of
//! `rules/jiujiang/sanctions.toml` has his lines refused naming the line and the practitioner; a
//! person whose card is suspended cannot settle; the credit grade follows the confirmed cases.

use crate::common;

use chrono::{Datelike, Duration, Local};
use common::{each_backend, line, Harness, DRUG};
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_ledger::audit_claims::{replace_findings, StoredFinding};

const HOSPITAL: &str = "H36040200001";
const OTHER: &str = "H36040200002";

fn today() -> String {
    Local::now().date_naive().to_string()
}

fn in_days(days: i64) -> String {
    (Local::now().date_naive() + Duration::days(days)).to_string()
}

/// An admin request; returns the status and the body.
async fn admin(h: &Harness, method: &str, path: &str, body: Value) -> (u16, Value) {
    let url = format!("{}{path}", h.base);
    let request = match method {
        "POST" => h.client.post(url).body(body.to_string()),
        _ => h.client.get(url),
    };
    let response = request
        .bearer_auth(common::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn admin_ok(h: &Harness, method: &str, path: &str, body: Value) -> Value {
    let (status, value) = admin(h, method, path, body).await;
    assert_eq!(status, 200, "{path}: {value}");
    value
}

fn agreement(status: &str, begndate: &str, doc_no: &str) -> Value {
    json!({ "fixmedins_code": HOSPITAL, "status": status, "begndate": begndate,
            "reason": "虚构医疗服务", "doc_no": doc_no, "operator": "稽核科" })
}

fn registration(psn_no: &str) -> Value {
    json!({ "data": { "psn_no": psn_no, "insutype": "390", "begntime": "2026-03-01 09:00:00",
                      "mdtrt_cert_type": "02", "ipt_otp_no": "OTP1" } })
}

fn settlement(psn_no: &str, mdtrt_id: &str, amount: &str) -> Value {
    json!({ "data": { "psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_id": mdtrt_id,
                      "med_type": "11", "medfee_sumamt": amount, "psn_setlway": "01",
                      "insutype": "390", "acct_used_flag": "0" } })
}

/// Registers `psn_no` at the hospital and uploads one drug line; returns the `mdtrt_id`.
async fn visit_with_line(h: &Harness, psn_no: &str, dr_code: Option<&str>) -> String {
    let out = h.ok("2201", HOSPITAL, registration(psn_no)).await;
    let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
    let mut fee = line("1", &mdtrt_id, DRUG, "1", "10.00", "10.00");
    if let Some(dr_code) = dr_code {
        fee["bilg_dr_codg"] = json!(dr_code);
    }
    h.ok("2204", HOSPITAL, json!({ "feedetail": [fee] })).await;
    mdtrt_id
}

#[tokio::test]
async fn a_suspended_agreement_refuses_settling_from_its_effective_day() {
    each_backend("sanction_agreement", |h| async move {
        let step = admin_ok(&h, "POST", "/admin/agreements", agreement("suspended", &in_days(1), "浔医保〔2026〕1号")).await;
        assert_eq!(step["status_name"], "暂停");
        assert_eq!(step["admdvs"], "360402");
        let mdtrt_id = visit_with_line(&h, "P0001", None).await;
        let settled = h.ok("2207", HOSPITAL, settlement("P0001", &mdtrt_id, "10.00")).await;
        let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_string();

        admin_ok(&h, "POST", "/admin/agreements", agreement("suspended", &today(), "浔医保〔2026〕2号")).await;
        let err = h.fails("2201", HOSPITAL, registration("P0001")).await;
        assert!(err.contains(&format!("自 {} 起暂停", today())), "{err}");
        assert!(err.contains("浔医保〔2026〕2号") && err.contains("虚构医疗服务"), "{err}");
        let err = h.fails("2207", HOSPITAL, settlement("P0001", &mdtrt_id, "10.00")).await;
        assert!(err.contains("fixmedins_code"), "{err}");
        // Reads and cancellations still work; another institution is not affected.
        h.ok("5203", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "setl_id": setl_id } })).await;
        h.ok("2208", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "setl_id": setl_id } })).await;
        h.ok("2201", OTHER, registration("P0001")).await;

        admin_ok(&h, "POST", "/admin/agreements", agreement("active", &today(), "浔医保〔2026〕3号")).await;
        h.ok("2201", HOSPITAL, registration("P0001")).await;

        let listed = admin_ok(&h, "GET", &format!("/admin/agreements?fixmedins_code={HOSPITAL}"), json!({})).await;
        let statuses: Vec<&str> = listed["agreements"].as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["suspended", "suspended", "active"]);
        let (status, refused) = admin(&h, "POST", "/admin/agreements", json!({ "fixmedins_code": HOSPITAL, "status": "closed", "begndate": today(), "reason": "x", "doc_no": "d", "operator": "o" })).await;
        assert_eq!(status, 400);
        assert!(refused["error"].as_str().unwrap().contains("status"), "{refused}");
        let (status, _) = admin(&h, "POST", "/admin/agreements", json!({ "fixmedins_code": "H99", "status": "suspended", "begndate": today(), "reason": "x", "doc_no": "d", "operator": "o" })).await;
        assert_eq!(status, 400);
        h.assert_verifies().await;
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_suspended_practitioners_lines_are_refused() {
    each_backend("sanction_practitioner", |h| async move {
        let registered = admin_ok(&h, "POST", "/admin/practitioners", json!({ "dr_code": "D360402000001", "dr_name": "张医生", "fixmedins_code": HOSPITAL, "operator": "稽核科" })).await;
        assert_eq!(registered["practitioner"]["standing"], "good");
        visit_with_line(&h, "P0001", Some("D360402000001")).await;

        let given = admin_ok(&h, "POST", "/admin/practitioners/D360402000001/points", json!({ "points": 8, "occurred": today(), "reason": "超量开药", "operator": "稽核科" })).await;
        assert_eq!(given["practitioner"]["standing"], "good");
        assert_eq!(given["practitioner"]["points"], 8);
        visit_with_line(&h, "P0001", Some("D360402000001")).await;
        let given = admin_ok(&h, "POST", "/admin/practitioners/D360402000001/points", json!({ "points": 1, "occurred": today(), "reason": "串换项目", "operator": "稽核科" })).await;
        assert_eq!(given["practitioner"]["standing"], "suspended");
        assert_eq!(given["practitioner"]["since"], today());

        let out = h.ok("2201", HOSPITAL, registration("P0001")).await;
        let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
        let mut second = line("2", &mdtrt_id, DRUG, "1", "10.00", "10.00");
        second["bilg_dr_codg"] = json!("D360402000001");
        let first = line("1", &mdtrt_id, DRUG, "1", "10.00", "10.00");
        let err = h.fails("2204", HOSPITAL, json!({ "feedetail": [first.clone(), second] })).await;
        assert!(err.contains("input.feedetail[1].bilg_dr_codg"), "{err}");
        assert!(err.contains("D360402000001") && err.contains("9 分") && err.contains("暂停"), "{err}");
        // Lines of other practitioners (or none named) go on.
        let mut other = line("3", &mdtrt_id, DRUG, "1", "10.00", "10.00");
        other["bilg_dr_codg"] = json!("D360402000002");
        h.ok("2204", HOSPITAL, json!({ "feedetail": [first, other] })).await;

        let listed = admin_ok(&h, "GET", "/admin/practitioners?admdvs=360402", json!({})).await;
        assert_eq!(listed["practitioners"][0]["standing"], "suspended");
        let later = admin_ok(&h, "GET", &format!("/admin/practitioners?on={}", in_days(40)), json!({})).await;
        assert_eq!(later["practitioners"][0]["standing"], "good");
        let (status, refused) = admin(&h, "POST", "/admin/practitioners/D360402000001/points", json!({ "points": 13, "occurred": today(), "reason": "x", "operator": "o" })).await;
        assert_eq!(status, 400);
        assert!(refused["error"].as_str().unwrap().contains("points"), "{refused}");
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_suspended_card_cannot_settle() {
    each_backend("sanction_card", |h| async move {
        let mdtrt_id = visit_with_line(&h, "P0001", None).await;
        let suspension = admin_ok(&h, "POST", "/admin/persons/P0001/suspensions", json!({ "begndate": today(), "enddate": in_days(180), "reason": "骗保", "doc_no": "浔医保〔2026〕9号", "operator": "稽核科" })).await;
        assert_eq!(suspension["admdvs"], "360400");
        let err = h.fails("2207", HOSPITAL, settlement("P0001", &mdtrt_id, "10.00")).await;
        assert!(err.contains("暂停联网结算") && err.contains("浔医保〔2026〕9号"), "{err}");
        assert!(err.contains(&in_days(180)), "{err}");
        // Another person settles as before.
        let other = visit_with_line(&h, "P0003", None).await;
        h.ok("2207", HOSPITAL, settlement("P0003", &other, "10.00")).await;
        let listed = admin_ok(&h, "GET", "/admin/persons/P0001/suspensions", json!({})).await;
        assert_eq!(listed["suspensions"].as_array().unwrap().len(), 1);
        let (status, _) = admin(&h, "POST", "/admin/persons/P0001/suspensions", json!({ "begndate": today(), "enddate": in_days(-1), "reason": "x", "doc_no": "d", "operator": "o" })).await;
        assert_eq!(status, 400);
        h.stop().await;
    })
    .await;
}

/// A suspended card is refused at registration (2201) and admission (2401) with the person and the
/// suspension's dates, and 2001 answers that no benefit is enjoyed; care dated before the
/// suspension is still registered.
#[tokio::test]
async fn a_suspended_card_cannot_register_or_be_admitted() {
    each_backend("sanction_card_reg", |h| async move {
        admin_ok(&h, "POST", "/admin/persons/P0001/suspensions", json!({ "begndate": in_days(-1), "enddate": in_days(180), "reason": "骗保", "doc_no": "浔医保〔2026〕9号", "operator": "稽核科" })).await;
        let now = Local::now().naive_local().format("%Y-%m-%d %H:%M:%S").to_string();
        let named = |err: &str, action: &str| {
            assert!(err.contains("人员 P0001") && err.contains(&in_days(-1)) && err.contains(&in_days(180)), "{err}");
            assert!(err.contains("暂停联网结算") && err.contains(action), "{err}");
        };
        let err = h.fails("2201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": now, "mdtrt_cert_type": "02" } })).await;
        assert!(err.starts_with("参数 input.data.psn_no 有误："), "{err}");
        named(&err, "不能挂号");
        let err = h.fails("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "P0001", "insutype": "390", "med_type": "21", "begntime": now, "dise_codg": "K80.100" } })).await;
        assert!(err.starts_with("参数 input.mdtrtinfo.psn_no 有误："), "{err}");
        named(&err, "不能办理入院");
        let check = h.ok("2001", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "390", "med_type": "11", "begntime": now } })).await;
        for row in check["trtinfo"].as_array().unwrap() {
            assert_eq!(row["trt_enjymnt_flag"], "0", "{check}");
            named(row["trt_chk_rslt"].as_str().unwrap(), "暂停联网结算");
        }
        // Care begun before the suspension, and other persons, are registered as before.
        h.ok("2201", HOSPITAL, registration("P0001")).await;
        h.ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0003", "insutype": "390", "begntime": now, "mdtrt_cert_type": "02" } })).await;
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_credit_grade_follows_confirmed_cases() {
    each_backend("sanction_credit", |h| async move {
        {
            let mut conn = h.store.pool().acquire().await.unwrap();
            let finding = StoredFinding {
                kind: "model".into(),
                id: "卡聚集".into(),
                psn_nos: vec!["P0001".into()],
                fixmedins_codes: vec![OTHER.into()],
                mdtrt_ids: vec!["360400100000000001".into()],
                amount: Fen::from_yuan(60_000),
                score: 100,
                reason: "卡聚集".into(),
            };
            replace_findings(&mut conn, "2026-03", &[finding], "2026-04-02 09:00:00").await.unwrap();
        }
        let case = admin_ok(&h, "POST", "/admin/cases", json!({ "month": "2026-03", "finding_no": 1, "actor": "张三" })).await;
        let id = case["case_id"].as_str().unwrap().to_string();
        admin_ok(&h, "POST", &format!("/admin/cases/{id}/assign"), json!({ "actor": "张三", "assignee": "李四" })).await;
        admin_ok(&h, "POST", &format!("/admin/cases/{id}/review"), json!({ "actor": "李四" })).await;
        admin_ok(&h, "POST", &format!("/admin/cases/{id}/confirm"), json!({ "actor": "王科长", "type": "追回", "amount": "60000.00", "insutype": "390", "year": 2026, "month": 4, "fund_pay_type": "390100" })).await;

        let year = Local::now().year();
        let ratings = admin_ok(&h, "GET", &format!("/admin/credit?year={year}&admdvs=360402"), json!({})).await;
        let rating = |code: &str| ratings["ratings"].as_array().unwrap().iter().find(|r| r["fixmedins_code"] == code).cloned().unwrap();
        // 1000 − 50 per 追回 case − 20 × 6 whole 10,000 yuan = 830: grade B.
        assert_eq!(rating(OTHER)["score"], 830);
        assert_eq!(rating(OTHER)["grade"], "B");
        assert_eq!(rating(OTHER)["confirmed_amount"], "60000.00");
        assert_eq!(rating(HOSPITAL)["score"], 1000);
        assert_eq!(rating(HOSPITAL)["grade"], "A");
        let earlier = admin_ok(&h, "GET", &format!("/admin/credit?year={}", year - 1), json!({})).await;
        assert!(earlier["ratings"].as_array().unwrap().iter().all(|r| r["grade"] == "A"));
        h.stop().await;
    })
    .await;
}

/// A confirmed case gives the points of its type (`case_points` of `sanctions.toml`: 追回 6) to each
/// registered practitioner who billed its evidence, recorded with the case id, once; the second
/// case reaches 12 points and the service refuses the practitioner's lines at once.
#[tokio::test]
async fn a_confirmed_case_gives_the_billing_practitioners_points() {
    each_backend("sanction_case_points", |h| async move {
        const DOCTOR: &str = "D360402000009";
        admin_ok(&h, "POST", "/admin/practitioners", json!({ "dr_code": DOCTOR, "dr_name": "李医生", "fixmedins_code": HOSPITAL, "operator": "稽核科" })).await;
        let first = visit_with_line(&h, "P0001", Some(DOCTOR)).await;
        let second = visit_with_line(&h, "P0003", Some("D360402000099")).await;
        let third = visit_with_line(&h, "P0004", Some(DOCTOR)).await;
        {
            let mut conn = h.store.pool().acquire().await.unwrap();
            let finding = |mdtrt_ids: Vec<String>| StoredFinding {
                kind: "rule".into(),
                id: "JJ-R10".into(),
                psn_nos: vec!["P0001".into()],
                fixmedins_codes: vec![HOSPITAL.into()],
                mdtrt_ids,
                amount: Fen::from_yuan(10),
                score: 100,
                reason: "超频次".into(),
            };
            let findings = [finding(vec![first, second]), finding(vec![third])];
            replace_findings(&mut conn, "2026-03", &findings, "2026-04-02 09:00:00").await.unwrap();
        }
        let confirm = |finding_no: i64| {
            let h = &h;
            async move {
                let case = admin_ok(h, "POST", "/admin/cases", json!({ "month": "2026-03", "finding_no": finding_no, "actor": "张三" })).await;
                let id = case["case_id"].as_str().unwrap().to_string();
                admin_ok(h, "POST", &format!("/admin/cases/{id}/assign"), json!({ "actor": "张三", "assignee": "李四" })).await;
                admin_ok(h, "POST", &format!("/admin/cases/{id}/review"), json!({ "actor": "李四" })).await;
                admin_ok(h, "POST", &format!("/admin/cases/{id}/confirm"), json!({ "actor": "王科长", "type": "追回", "amount": "10.00", "insutype": "390", "year": 2026, "month": 4, "fund_pay_type": "390100" })).await;
                id
            }
        };
        let case_id = confirm(1).await;
        let listed = admin_ok(&h, "GET", "/admin/practitioners?admdvs=360402", json!({})).await;
        let practitioner = &listed["practitioners"][0];
        assert_eq!((practitioner["points"].clone(), practitioner["standing"].clone()), (json!(6), json!("good")), "{listed}");
        let stored = {
            let mut conn = h.store.pool().acquire().await.unwrap();
            yibao_ledger::sanctions::load_all(&mut conn).await.unwrap().points
        };
        assert_eq!(stored.len(), 1, "the unregistered D360402000099 gets none: {stored:?}");
        assert_eq!((stored[0].dr_code.as_str(), stored[0].case_id.as_str()), (DOCTOR, case_id.as_str()));
        assert!(stored[0].reason.contains(&case_id) && stored[0].reason.contains("追回"), "{stored:?}");
        // Repeating the case's points adds nothing.
        let entry = stored[0].entry;
        let again = yibao_ledger::sanctions::add_case_points(&h.store, &case_id, &[stored[0].case_id.clone()], entry, ("r", "o", "2026-04-02 09:00:00")).await.unwrap();
        assert!(again.is_empty());
        let mdtrt_ids = {
            let mut conn = h.store.pool().acquire().await.unwrap();
            yibao_ledger::audit_cases::case(&mut conn, &case_id).await.unwrap().unwrap().mdtrt_ids
        };
        let again = yibao_ledger::sanctions::add_case_points(&h.store, &case_id, &mdtrt_ids, entry, ("r", "o", "2026-04-02 09:00:00")).await.unwrap();
        assert!(again.is_empty(), "{again:?}");

        confirm(2).await;
        let out = h.ok("2201", HOSPITAL, registration("P0001")).await;
        let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
        let mut billed = line("1", &mdtrt_id, DRUG, "1", "10.00", "10.00");
        billed["bilg_dr_codg"] = json!(DOCTOR);
        let err = h.fails("2204", HOSPITAL, json!({ "feedetail": [billed] })).await;
        assert!(err.contains(DOCTOR) && err.contains("12 分") && err.contains("终止"), "{err}");
        h.stop().await;
    })
    .await;
}
