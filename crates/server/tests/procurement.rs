//! `GET /admin/procurement` over real HTTP on SQLite and PostgreSQL: an institution's procurement
//! prepayment as posted, with what is recovered and outstanding; a bad query refused naming the
//! parameter.

use crate::common;

use common::{Backend, Harness};
use serde_json::Value;
use yibao_domain::{Code, Fen};
use yibao_ledger::procurement::{self, PrepaymentBasis, PrepaymentToPost, StoredPrepayment};
use yibao_provider_payment::procurement::plan_prepayment;
use yibao_provider_payment::{Budget, PaymentPolicy};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

async fn get(h: &Harness, path: &str) -> (u16, Value) {
    let response = h
        .client
        .get(format!("{}{path}", h.base))
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_workbench_reads_the_procurement_of_a_year() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/payment/jiujiang-budget.toml");
    let policy = PaymentPolicy::load(&path).unwrap();
    let budget = Budget {
        fixmedins_code: HOSPITAL.into(),
        insutype: Code::lit("390"),
        year: 2026,
        annual_index: Fen::from_yuan(12_000_000),
        limits: Default::default(),
    };
    let prepayment = plan_prepayment(&policy, &budget, 1, Fen::from_yuan(360_000)).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "procurement").await;
        let (status, reply) = get(&h, "/admin/procurement?year=2026").await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["procurement"], Value::Array(vec![]), "{reply}");
        let to_post = PrepaymentToPost {
            stored: StoredPrepayment {
                fixmedins_code: HOSPITAL.into(),
                insutype: Code::lit("390"),
                year: 2026,
                basis: PrepaymentBasis {
                    name: "entered".into(),
                    amount: Fen::from_yuan(360_000),
                },
                prepayment,
            },
            fund: Code::lit("390100"),
        };
        procurement::post_prepayments(&h.store, &[to_post], "2026-01-01 00:00:00")
            .await
            .unwrap();
        let (status, reply) = get(&h, "/admin/procurement?year=2026").await;
        assert_eq!(status, 200, "{reply}");
        let line = &reply["procurement"][0];
        assert_eq!(line["fixmedins_code"], HOSPITAL, "{reply}");
        assert_eq!(line["prepaid_month"], 1, "{reply}");
        assert_eq!(line["prepaid"], "360000.00", "{reply}");
        assert_eq!(line["recovered"], "0.00", "{reply}");
        assert_eq!(line["outstanding"], "360000.00", "{reply}");
        assert_eq!(line["retained"], Value::Null, "not cleared yet: {reply}");
        let (status, reply) = get(&h, "/admin/procurement?year=20x6").await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply.to_string().contains("year"), "{reply}");
        let (status, reply) = get(&h, "/admin/procurement?year=2026&month=2").await;
        assert_eq!(status, 400, "{reply}");
    }
}
