//! `POST /admin/deductions` over real HTTP on SQLite and PostgreSQL: supervision's deductions
//! against a month's payment are stored once, refused naming the row and field when malformed, and
//! refused once the month is paid.

use crate::common;

use common::{Backend, Harness};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

async fn post(h: &Harness, body: Value) -> (u16, Value) {
    h.admin_answer("POST", "/admin/deductions", body.to_string())
        .await
}

fn deduction(id: &str, month: u8, amount: &str) -> Value {
    json!({ "deduction_id": id, "fixmedins_code": "H36040200001", "insutype": "390", "year": 2026,
            "month": month, "kind": "10", "amount": amount, "reason": "审核扣款：超标准收费" })
}

#[tokio::test]
async fn deductions_are_posted_once_and_refused_for_a_paid_month() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "deduct").await;
        let (status, reply) = post(&h, json!([deduction("C1", 3, "2500.00")])).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["count"], 1);
        let (status, _) = post(&h, json!([deduction("C1", 3, "2500.00")])).await;
        assert_eq!(status, 200, "the same deduction again is a no-op");
        let (status, reply) = post(&h, json!([deduction("C1", 3, "2600.00")])).await;
        assert_eq!(status, 409, "{reply}");
        let (status, reply) = post(&h, json!([deduction("C2", 13, "1.00")])).await;
        assert_eq!(status, 400);
        assert!(
            reply["error"].as_str().unwrap().contains("row 1, `month`"),
            "{reply}"
        );
        let (status, reply) = post(&h, json!([deduction("C3", 4, "0.001")])).await;
        assert_eq!(status, 400);
        assert!(
            reply["error"].as_str().unwrap().contains("`amount`"),
            "{reply}"
        );

        let mut conn = h.store.pool().acquire().await.unwrap();
        let inputs = yibao_ledger::provider::month_inputs(&mut conn, 2026)
            .await
            .unwrap();
        drop(conn);
        let months = inputs
            .get(&("H36040200001".to_string(), yibao_domain::Code::lit("390")))
            .expect("the deduction's institution and scheme");
        assert_eq!(months[2].deductions, yibao_domain::Fen::from_yuan(2_500));
        h.stop().await;
    }
}
