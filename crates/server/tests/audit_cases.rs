//! Cases over the admin API, on SQLite and on PostgreSQL: a stored finding becomes a case and goes
//! open → assigned → reviewed → confirmed (the amount posted as a provider deduction; 追回 also
//! credited to the fund's books) or dismissed; steps the state does not allow are refused (409) with
//! the allowed ones named, bad fields (400) named.

use crate::common;

use common::{each_backend, Harness};
use serde_json::{json, Value};
use sqlx::Row;
use yibao_domain::Fen;
use yibao_ledger::audit_claims::{replace_findings, StoredFinding};

const HOSPITAL: &str = "H36040200001";
const OTHER: &str = "H36040200002";
const MONTH: &str = "2026-03";

fn finding(id: &str, institutions: &[&str], amount_fen: i64) -> StoredFinding {
    StoredFinding {
        kind: "rule".into(),
        id: id.into(),
        psn_nos: vec!["P0001".into()],
        fixmedins_codes: institutions.iter().map(|s| s.to_string()).collect(),
        mdtrt_ids: vec!["360400100000000001".into()],
        amount: Fen(amount_fen),
        score: 100,
        reason: "患者性别与目录限定的性别不符（限性别用药/诊疗（目录限定））".into(),
    }
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

async fn step(h: &Harness, case_id: &str, action: &str, body: Value) -> Value {
    let (status, value) = admin(h, "POST", &format!("/admin/cases/{case_id}/{action}"), body).await;
    assert_eq!(status, 200, "{action}: {value}");
    value
}

async fn refused(h: &Harness, case_id: &str, action: &str, body: Value, status: u16) -> String {
    let (got, value) = admin(h, "POST", &format!("/admin/cases/{case_id}/{action}"), body).await;
    assert_eq!(got, status, "{action}: {value}");
    value["error"].as_str().unwrap().to_string()
}

fn confirm(kind: &str, amount: &str) -> Value {
    json!({ "actor": "王科长", "note": "经核实", "type": kind, "amount": amount, "insutype": "390",
            "year": 2026, "month": 4, "fund_pay_type": "390100" })
}

#[tokio::test]
async fn a_finding_becomes_a_case_and_a_confirmed_amount_a_deduction() {
    each_backend("cases", |h| async move {
        {
            let mut conn = h.store.pool().acquire().await.unwrap();
            let findings = [
                finding("JJ-R01C", &[HOSPITAL], 4550),
                finding("卡聚集", &[HOSPITAL, OTHER], 12000),
                finding("JJ-R10", &[OTHER], 4000),
            ];
            replace_findings(&mut conn, MONTH, &findings, "2026-04-02 09:00:00").await.unwrap();
        }
        let open = |no: i64, institution: Option<&str>| {
            json!({ "month": MONTH, "finding_no": no, "fixmedins_code": institution, "actor": "张三", "note": "立案" })
        };
        let (status, case) = admin(&h, "POST", "/admin/cases", open(1, None)).await;
        assert_eq!(status, 200, "{case}");
        let id = case["case_id"].as_str().unwrap().to_string();
        assert_eq!(case["status"], "open");
        assert_eq!(case["finding_id"], "JJ-R01C");
        assert_eq!(case["fixmedins_code"], HOSPITAL);
        assert_eq!(case["amount_at_issue"], "45.50");

        let err = refused(&h, &id, "confirm", confirm("审核扣款", "45.50"), 409).await;
        assert_eq!(err, "案件状态为已立案，不能确认（可以：分派、撤销）");
        let err = refused(&h, &id, "assign", json!({ "actor": "张三" }), 400).await;
        assert!(err.contains("assignee"), "{err}");
        let err = refused(&h, &id, "close", json!({ "actor": "张三" }), 400).await;
        assert!(err.contains("close"), "{err}");
        step(&h, &id, "assign", json!({ "actor": "张三", "assignee": "李四" })).await;
        let reviewed = step(&h, &id, "review", json!({ "actor": "李四", "note": "病历为男性", "evidence": "病案首页 p.1" })).await;
        assert_eq!(reviewed["status"], "reviewed");
        assert_eq!(reviewed["assignee"], "李四");
        let err = refused(&h, &id, "confirm", json!({ "actor": "王科长", "type": "审核扣款", "insutype": "390", "year": 2026, "month": 4 }), 400).await;
        assert!(err.contains("amount"), "{err}");
        let err = refused(&h, &id, "confirm", confirm("罚款", "45.50"), 400).await;
        assert!(err.contains("type"), "{err}");
        let confirmed = step(&h, &id, "confirm", confirm("审核扣款", "45.50")).await;
        assert_eq!(confirmed["status"], "confirmed");
        assert_eq!(confirmed["confirm_type"], "审核扣款");
        assert_eq!(confirmed["confirmed_amount"], "45.50");
        assert_eq!(confirmed["deduction_id"], format!("CASE-{id}"));
        let actions: Vec<&str> = confirmed["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["open", "assign", "review", "confirm"]);
        assert_eq!(confirmed["events"][2]["evidence"], "病案首页 p.1");
        let err = refused(&h, &id, "dismiss", json!({ "actor": "张三" }), 409).await;
        assert!(err.contains("案件已结束"), "{err}");

        let mut conn = h.store.pool().acquire().await.unwrap();
        let deduction = sqlx::query("SELECT fixmedins_code, kind, amount, year, month FROM provider_deductions WHERE deduction_id = $1")
            .bind(format!("CASE-{id}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(deduction.try_get::<String, _>("fixmedins_code").unwrap(), HOSPITAL);
        assert_eq!(deduction.try_get::<String, _>("kind").unwrap(), "10");
        assert_eq!(deduction.try_get::<i64, _>("amount").unwrap(), 4550);
        assert_eq!(deduction.try_get::<i64, _>("month").unwrap(), 4);
        drop(conn);

        // One case per finding; a finding of two institutions names the one the case is against.
        let (status, again) = admin(&h, "POST", "/admin/cases", open(1, None)).await;
        assert_eq!(status, 400, "{again}");
        assert!(again["error"].as_str().unwrap().contains(&id), "{again}");
        let (status, many) = admin(&h, "POST", "/admin/cases", open(2, None)).await;
        assert_eq!(status, 400, "{many}");
        assert!(many["error"].as_str().unwrap().contains("fixmedins_code"), "{many}");
        let (status, other) = admin(&h, "POST", "/admin/cases", open(2, Some(OTHER))).await;
        assert_eq!(status, 200, "{other}");
        let other_id = other["case_id"].as_str().unwrap().to_string();
        let dismissed = step(&h, &other_id, "dismiss", json!({ "actor": "张三", "note": "同住家属，非聚集" })).await;
        assert_eq!(dismissed["status"], "dismissed");
        refused(&h, &other_id, "review", json!({ "actor": "李四" }), 409).await;
        let (status, missing) = admin(&h, "POST", "/admin/cases", open(9, None)).await;
        assert_eq!(status, 400, "{missing}");

        // 追回: a deduction and a recovery in the fund's books.
        let (_, third) = admin(&h, "POST", "/admin/cases", open(3, None)).await;
        let third_id = third["case_id"].as_str().unwrap().to_string();
        step(&h, &third_id, "assign", json!({ "actor": "张三", "assignee": "李四" })).await;
        step(&h, &third_id, "review", json!({ "actor": "李四" })).await;
        let mut no_fund = confirm("追回", "40.00");
        no_fund["fund_pay_type"] = Value::Null;
        let err = refused(&h, &third_id, "confirm", no_fund, 400).await;
        assert!(err.contains("fund_pay_type"), "{err}");
        step(&h, &third_id, "confirm", confirm("追回", "40.00")).await;
        let mut conn = h.store.pool().acquire().await.unwrap();
        let booked = sqlx::query("SELECT fund_pay_type, flow, amount FROM book_postings WHERE batch = $1")
            .bind(format!("case-{third_id}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(booked.try_get::<String, _>("fund_pay_type").unwrap(), "390100");
        assert_eq!(booked.try_get::<String, _>("flow").unwrap(), "other_income");
        assert_eq!(booked.try_get::<i64, _>("amount").unwrap(), 4000);
        let kind: String = sqlx::query("SELECT kind FROM provider_deductions WHERE deduction_id = $1")
            .bind(format!("CASE-{third_id}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .try_get("kind")
            .unwrap();
        assert_eq!(kind, "20");
        drop(conn);

        let (_, confirmed) = admin(&h, "GET", "/admin/cases?status=confirmed", Value::Null).await;
        let ids: Vec<&str> = confirmed.as_array().unwrap().iter().map(|c| c["case_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [id.as_str(), third_id.as_str()]);
        let (status, _) = admin(&h, "GET", "/admin/cases?status=closed", Value::Null).await;
        assert_eq!(status, 400);
        let (status, shown) = admin(&h, "GET", &format!("/admin/cases/{id}"), Value::Null).await;
        assert_eq!(status, 200);
        assert_eq!(shown["events"].as_array().unwrap().len(), 4);
        let (status, _) = admin(&h, "GET", "/admin/cases/C99999999", Value::Null).await;
        assert_eq!(status, 404);
        let err = refused(&h, "C99999999", "review", json!({ "actor": "李四" }), 404).await;
        assert!(err.contains("C99999999"), "{err}");
        h.assert_verifies().await;
    })
    .await;
}
