//! `GET /admin/providers`, `/admin/providers/{fixmedins_code}/months` and `/year-end` over real HTTP
//! on SQLite and PostgreSQL: the provider report of a year or month and an institution's posted
//! statements, exactly as posted; bad queries refused naming the parameter; an institution without
//! a budget is not found.

use crate::common;

use common::{Backend, Harness};
use serde_json::Value;
use yibao_domain::{Code, Fen};
use yibao_ledger::provider::{self};
use yibao_ledger::provider_books::ToPost;
use yibao_provider_payment::{
    clear_year, pay_year, Budget, MonthInput, PaymentPolicy, YearEndInput, MONTHS,
};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";
const YEAR: i32 = 2026;

fn policy() -> PaymentPolicy {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/payment/jiujiang-budget.toml");
    PaymentPolicy::load(&path).expect("the shipped payment policy loads")
}

fn budget() -> Budget {
    Budget {
        fixmedins_code: HOSPITAL.into(),
        insutype: Code::lit("390"),
        year: YEAR,
        annual_index: Fen::from_yuan(12_000_000),
        limits: Default::default(),
    }
}

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

/// Posts months `1..=upto` of a year claiming 1,075,000 a month (the fund `390100` pays).
async fn post_months(h: &Harness, upto: usize) -> [yibao_provider_payment::MonthStatement; MONTHS] {
    let inputs = [MonthInput {
        claims: Fen::from_yuan(1_075_000),
        ..MonthInput::default()
    }; MONTHS];
    let statements = pay_year(&policy(), &budget(), &inputs).unwrap();
    let to_post: Vec<_> = statements[..upto]
        .iter()
        .map(|statement| ToPost {
            key: (HOSPITAL.to_string(), Code::lit("390")),
            fund: Code::lit("390100"),
            statement: *statement,
        })
        .collect();
    provider::post_months(&h.store, YEAR, &to_post, "2026-04-01 00:00:00")
        .await
        .unwrap();
    statements
}

#[tokio::test]
async fn the_workbench_reads_the_provider_report_and_statements() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "providers").await;
        let (status, reply) = get(&h, "/admin/providers?year=2026").await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["providers"], Value::Array(vec![]), "{reply}");
        let (status, reply) =
            get(&h, &format!("/admin/providers/{HOSPITAL}/months?year=2026")).await;
        assert_eq!(status, 404, "no budget yet: {reply}");

        provider::upsert_budgets(&h.store, &[budget()], "2026-01-01 00:00:00")
            .await
            .unwrap();
        post_months(&h, 3).await;
        let (status, reply) = get(&h, "/admin/providers?year=2026").await;
        assert_eq!(status, 200, "{reply}");
        let line = &reply["providers"][0];
        assert_eq!(line["fixmedins_code"], HOSPITAL, "{reply}");
        assert_eq!(line["months_paid"], 3);
        assert_eq!(line["annual_index"], "12000000.00");
        assert_eq!(line["claims"], "3225000.00");
        assert_eq!(line["paid"], "3000000.00");
        assert_eq!(line["deferred"], "225000.00");
        assert_eq!(line["year_end_payment"], Value::Null);
        let (_, reply) = get(&h, "/admin/providers?year=2026&month=2").await;
        assert_eq!(reply["providers"][0]["months_paid"], 1, "{reply}");
        assert_eq!(reply["providers"][0]["claims"], "1075000.00");

        let (status, reply) =
            get(&h, &format!("/admin/providers/{HOSPITAL}/months?year=2026")).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["statements"].as_array().unwrap().len(), 3, "{reply}");
        let (_, reply) = get(
            &h,
            &format!("/admin/providers/{HOSPITAL}/months?year=2026&month=3"),
        )
        .await;
        let march = &reply["statements"][0];
        assert_eq!(march["insutype"], "390", "{reply}");
        assert_eq!(march["statement"]["month"], 3);
        assert_eq!(march["statement"]["paid_to_date"], "3000000.00");
        assert_eq!(march["statement"]["deferred_to_date"], "225000.00");
        let (status, reply) = get(
            &h,
            &format!("/admin/providers/{HOSPITAL}/year-end?year=2026"),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["statements"], Value::Array(vec![]), "not cleared yet");

        let months = post_months(&h, MONTHS).await;
        let year_end = clear_year(&policy(), &budget(), &months, &YearEndInput::default()).unwrap();
        let to_post = [ToPost {
            key: (HOSPITAL.to_string(), Code::lit("390")),
            fund: Code::lit("390100"),
            statement: year_end,
        }];
        provider::post_year_ends(&h.store, YEAR, &to_post, "2027-01-05 00:00:00")
            .await
            .unwrap();
        let (_, reply) = get(
            &h,
            &format!("/admin/providers/{HOSPITAL}/year-end?year=2026"),
        )
        .await;
        let cleared = &reply["statements"][0]["statement"];
        assert_eq!(
            cleared["year_end_payment"],
            year_end.year_end_payment.to_yuan_string(),
            "{reply}"
        );
        assert_eq!(cleared["final"], year_end.final_amount.to_yuan_string());
        let (_, reply) = get(&h, "/admin/providers?year=2026").await;
        let line = &reply["providers"][0];
        assert_eq!(line["months_paid"], 12, "{reply}");
        assert_eq!(
            line["year_end_payment"],
            year_end.year_end_payment.to_yuan_string()
        );

        for (path, named) in [
            ("/admin/providers", "参数 year 有误"),
            ("/admin/providers?year=20x6", "参数 year 有误"),
            ("/admin/providers?year=2026&month=13", "参数 month 有误"),
            ("/admin/providers/H1/months?year=1800", "参数 year 有误"),
        ] {
            let (status, reply) = get(&h, path).await;
            assert_eq!(status, 400, "{path}: {reply}");
            assert!(
                reply["error"].as_str().unwrap().contains(named),
                "{path}: {reply}"
            );
        }
        let (status, _) = get(&h, "/admin/providers/H9/year-end?year=2026").await;
        assert_eq!(status, 404);
        let unauthorised = h
            .client
            .get(format!("{}/admin/providers?year=2026", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(unauthorised.status().as_u16(), 401);
        h.stop().await;
    }
}
