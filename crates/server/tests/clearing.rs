//! Monthly cross-region clearing over real settlements, on SQLite and PostgreSQL: 九江-insured
//! persons treated in 南昌 on one platform (and one at home) settle over HTTP; the month's clearing
//! has one row 360400→360100 per scheme whose fund payments owed are the sum of the remote
//! settlements' `fund_pay_sumamt` less the one cancelled, to the fen; a repeated run stores nothing
//! twice; the states advance only as the machine allows; `verify` holds.

mod common;

use chrono::NaiveDate;
use common::{repo_root, Backend, Harness};
use serde_json::{json, Value};
use yibao_clearing::{ClearingPolicy, ClearingState, Month};
use yibao_domain::Fen;
use yibao_his::{medfee_sumamt, steps, Visit};
use yibao_ledger::clearing::{self, ReviewDeduction};
use yibao_ledger::clearing_run::{run_month, ClearingRunError};
use yibao_server::config::AuthMode;

const JIUJIANG: &str = "H36040200001";
const NANCHANG: &str = "H36010200001";

async fn add_nanchang(h: &Harness) {
    let policy = std::fs::read_to_string(repo_root().join("policies/nanchang.toml")).unwrap();
    h.admin("PUT", "/admin/policy", policy).await;
    let catalog =
        std::fs::read_to_string(repo_root().join("catalogs/jiujiang-sample.csv")).unwrap();
    h.admin("PUT", "/admin/catalog/360100", catalog).await;
    let hospital = json!([{ "fixmedins_code": NANCHANG, "fixmedins_name": "南昌某医院", "fixmedins_type": "1", "hosp_lv": "5", "admdvs": "360102" }]);
    h.admin("POST", "/admin/institutions", hospital.to_string())
        .await;
}

fn stay(fixmedins_code: &str, day: u32, bed_days: u32) -> Visit {
    let bed = format!("{}.00", 40 * bed_days);
    serde_json::from_value(json!({
        "psn_no": "P0001", "insutype": "390", "med_type": "21",
        "begntime": format!("2026-03-{day:02} 08:00:00"), "endtime": format!("2026-03-{:02} 10:00:00", day + bed_days),
        "fixmedins_code": fixmedins_code, "refl_flag": "0", "dise_codg": "I21.000",
        "feedetail": [
            { "feedetl_sn": "1", "med_list_codg": "003306000010000", "cnt": "1", "pric": "8000.00",
              "det_item_fee_sumamt": "8000.00", "hosp_appr_flag": "1" },
            { "feedetl_sn": "2", "med_list_codg": "001201000010000", "cnt": bed_days.to_string(), "pric": "40.00",
              "det_item_fee_sumamt": bed, "hosp_appr_flag": "1" },
        ],
    }))
    .unwrap()
}

/// Admits, uploads, discharges and settles; the settlement's `setlinfo`.
async fn settle(h: &Harness, visit: &Visit) -> Value {
    let his = h.his();
    let admitted = his.send(&steps::admit(visit)).await.unwrap();
    let mdtrt_id = steps::admitted_mdtrt_id(&admitted).unwrap();
    his.send(&steps::upload_inpatient_fees(visit, &mdtrt_id))
        .await
        .unwrap();
    his.send(&steps::discharge(visit, &mdtrt_id)).await.unwrap();
    let total: Fen = medfee_sumamt(&visit.feedetail).unwrap();
    let reply = his
        .send(&steps::settle_inpatient(visit, &mdtrt_id, total, false))
        .await
        .unwrap();
    let value: Value = serde_json::from_str(&reply.text).unwrap();
    value["output"]["setlinfo"].clone()
}

fn fen(value: &Value) -> Fen {
    Fen(common::fen(value))
}

#[tokio::test]
async fn a_month_of_remote_stays_clears_to_the_fen_once() {
    let policy = ClearingPolicy::load(&repo_root().join("policies/clearing/jiangxi.toml")).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "clearing").await;
        add_nanchang(&h).await;
        let mut remote = Vec::new();
        for (day, days) in [(2, 5), (10, 3), (20, 7)] {
            remote.push(settle(&h, &stay(NANCHANG, day, days)).await);
        }
        let _home = settle(&h, &stay(JIUJIANG, 25, 2)).await;
        let cancelled = &remote[2];
        let visit = stay(NANCHANG, 20, 7);
        h.his()
            .send(&steps::cancel_inpatient_settlement(
                &visit,
                cancelled["mdtrt_id"].as_str().unwrap(),
                cancelled["setl_id"].as_str().unwrap(),
            ))
            .await
            .unwrap();
        let setl_time = remote[0]["setl_time"].as_str().unwrap();
        let month = Month::parse(&setl_time[..7]).unwrap();
        let as_of =
            NaiveDate::from_ymd_opt(month.next().year, u32::from(month.next().month), 1).unwrap();

        // A month not over is refused; a review deduction is entered before the run.
        let early = run_month(&h.store, &policy, month, as_of.pred_opt().unwrap(), "t0").await;
        assert!(
            matches!(early, Err(ClearingRunError::MonthNotOver { .. })),
            "{early:?}"
        );
        let key = yibao_clearing::PairKey {
            insured_admdvs: yibao_domain::Code::lit("360400"),
            treating_admdvs: yibao_domain::Code::lit("360100"),
            insutype: yibao_domain::Code::lit("390"),
        };
        let audit = ReviewDeduction {
            deduction_id: "D1".into(),
            month,
            key,
            inspection: false,
            amount: Fen(12_345),
            reason: "审核扣款".into(),
        };
        clearing::add_deductions(&h.store, &[audit.clone(), audit], "t0")
            .await
            .unwrap();

        let run = run_month(&h.store, &policy, month, as_of, "t1")
            .await
            .unwrap();
        assert!(run.stored_now);
        assert_eq!(run.rows.len(), 1, "{:?}", run.rows);
        let row = &run.rows[0].row;
        assert_eq!(row.key, key);
        assert_eq!(
            (
                row.settlements,
                row.cancellations,
                row.carried_cancellations
            ),
            (3, 1, 0)
        );
        let owed = fen(&remote[0]["fund_pay_sumamt"]) + fen(&remote[1]["fund_pay_sumamt"]);
        assert!(owed > Fen(0));
        assert_eq!(row.fund_owed, owed);
        let cost = fen(&remote[0]["medfee_sumamt"]) + fen(&remote[1]["medfee_sumamt"]);
        assert_eq!(row.total_cost, cost);
        assert_eq!(row.by_institution.get(NANCHANG), Some(&owed));
        assert_eq!(row.deductions.audit, Fen(12_345));
        assert_eq!(row.cleared, row.fund_owed - row.deductions.total());
        assert_eq!(run.rows[0].state, ClearingState::Applied);

        // Run again: the same rows, nothing stored twice.
        let again = run_month(&h.store, &policy, month, as_of, "t2")
            .await
            .unwrap();
        assert!(!again.stored_now);
        assert_eq!(again.rows, run.rows);
        let late = ReviewDeduction {
            deduction_id: "D2".into(),
            ..audit_of(month, key)
        };
        assert!(clearing::add_deductions(&h.store, &[late], "t3")
            .await
            .is_err());

        // States: one step at a time, 70 only before 50.
        let id = run.rows[0].clr_id.clone();
        assert!(
            clearing::advance(&h.store, &id, ClearingState::Cleared, "x", "t4")
                .await
                .is_err()
        );
        for to in [
            ClearingState::Accepted,
            ClearingState::UnderReview,
            ClearingState::Reviewed,
            ClearingState::Cleared,
        ] {
            let stored = clearing::advance(&h.store, &id, to, "x", "t4")
                .await
                .unwrap();
            assert_eq!(stored.state, to);
        }
        assert!(
            clearing::advance(&h.store, &id, ClearingState::Rejected, "x", "t5")
                .await
                .is_err()
        );
        assert!(
            clearing::advance(&h.store, "nope", ClearingState::Accepted, "x", "t5")
                .await
                .is_err()
        );

        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");
        h.stop().await;
    }
}

fn audit_of(month: Month, key: yibao_clearing::PairKey) -> ReviewDeduction {
    ReviewDeduction {
        deduction_id: String::new(),
        month,
        key,
        inspection: true,
        amount: Fen(1),
        reason: String::new(),
    }
}
