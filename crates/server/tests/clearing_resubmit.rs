//! Issue 11 §4, the clearing's remaining gaps, over the admin API on SQLite and PostgreSQL, with a
//! clearing policy that withholds a 5 % reserve (`tests/data/clearing-reserve.toml`):
//!
//! * a rejected clearing (70) is applied again under a new id, the rejected row kept: the review
//!   deduction entered after the rejection is taken, the books hold only the new row's postings
//!   (the rejection undid the first's), a repeated request answers the same application, a
//!   clearing not rejected cannot be resubmitted, and the month run again still agrees;
//! * the reserve withheld (40) is released once the clearing is paid: all of it, once, with its
//!   postings on both sides; a release before the payment or a second one is refused;
//! * `verify` re-derives every batch and finds a release's postings taken away.
//!
//! A month is applied again only before the pair's next month has a clearing not rejected.

mod common;

use chrono::NaiveDate;
use common::{repo_root, Backend, Harness, ADMIN_TOKEN};
use serde_json::{json, Value};
use yibao_clearing::{ClearingPolicy, ClearingState, Month, PairKey};
use yibao_domain::{Code, Fen};
use yibao_his::{medfee_sumamt, steps, Visit};
use yibao_ledger::clearing::{self, ReviewDeduction};
use yibao_ledger::clearing_run::run_month;
use yibao_server::config::Config;

const NANCHANG: &str = "H36010200001";

fn fixture_policy() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/clearing-reserve.toml")
}

async fn start(backend: Backend) -> Harness {
    let (database, dir) = common::fresh_database(backend, "clearing_resubmit").await;
    let h = Harness::start_with(Config {
        database,
        data_dir: dir,
        clearing_policy: fixture_policy(),
        ..Config::default()
    })
    .await;
    h.load_fixtures().await;
    let policy = std::fs::read_to_string(repo_root().join("policies/nanchang.toml")).unwrap();
    h.admin("PUT", "/admin/policy", policy).await;
    let catalog =
        std::fs::read_to_string(repo_root().join("catalogs/jiujiang-sample.csv")).unwrap();
    h.admin("PUT", "/admin/catalog/360100", catalog).await;
    let hospital = json!([{ "fixmedins_code": NANCHANG, "fixmedins_name": "南昌某医院", "fixmedins_type": "1", "hosp_lv": "5", "admdvs": "360102" }]);
    h.admin("POST", "/admin/institutions", hospital.to_string())
        .await;
    h
}

fn stay(day: u32, bed_days: u32) -> Visit {
    let bed = format!("{}.00", 40 * bed_days);
    serde_json::from_value(json!({
        "psn_no": "P0001", "insutype": "390", "med_type": "21",
        "begntime": format!("2026-03-{day:02} 08:00:00"), "endtime": format!("2026-03-{:02} 10:00:00", day + bed_days),
        "fixmedins_code": NANCHANG, "refl_flag": "0", "dise_codg": "I21.000",
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

/// An admin request expected to be refused with `status`: its message.
async fn refused(h: &Harness, path: &str, body: Value, status: u16) -> String {
    let response = h
        .client
        .post(format!("{}{path}", h.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let code = response.status().as_u16();
    let value: Value = response.json().await.unwrap();
    assert_eq!(code, status, "{path}: {value}");
    assert_eq!(value["ok"], false, "{value}");
    value["error"].as_str().unwrap().to_string()
}

/// The clearing flows' postings summed per flow.
async fn flows(h: &Harness) -> std::collections::BTreeMap<String, Fen> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    let rows = yibao_ledger::books::postings_until(&mut conn, "9999-12-31")
        .await
        .unwrap();
    let mut sums = std::collections::BTreeMap::new();
    for row in rows.into_iter().filter(|r| r.flow.starts_with("clearing_")) {
        *sums.entry(row.flow).or_insert(Fen(0)) += row.amount;
    }
    sums.retain(|_, sum| *sum != Fen(0));
    sums
}

/// An amount as the admin API answers it (yuan text with two decimals).
fn fen_of(value: &Value) -> Fen {
    Fen::parse_yuan(value.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_rejected_clearing_is_applied_again_and_its_reserve_released() {
    let policy = ClearingPolicy::load(&fixture_policy()).unwrap();
    assert_ne!(policy.reserve_withheld_ratio, yibao_domain::Ratio::ZERO);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = start(backend).await;
        let settled = [
            settle(&h, &stay(2, 5)).await,
            settle(&h, &stay(10, 3)).await,
        ];
        let owed: Fen = settled
            .iter()
            .map(|s| Fen(common::fen(&s["fund_pay_sumamt"])))
            .sum();
        assert!(owed > Fen(0));
        let setl_time = settled[0]["setl_time"].as_str().unwrap();
        let month = Month::parse(&setl_time[..7]).unwrap();
        let next = month.next();
        let as_of = NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1).unwrap();
        let mut conn = h.store.pool().acquire().await.unwrap();
        let confirmed = yibao_ledger::clearing_confirm::confirm_all(
            &mut conn,
            month,
            "T",
            "2026-01-01 08:00:00",
        )
        .await
        .unwrap();
        assert_eq!(confirmed, 2);
        drop(conn);

        // The month's first application, rejected.
        let run = run_month(&h.store, &policy, month, as_of, "2027-01-02 09:00:00")
            .await
            .unwrap();
        assert_eq!(run.rows.len(), 1, "{:?}", run.rows);
        let first = run.rows[0].clone();
        let reserve = first.row.deductions.reserve_withheld;
        assert_eq!(first.row.fund_owed, owed);
        assert_eq!(
            reserve,
            policy.rounding.apply(owed, policy.reserve_withheld_ratio)
        );
        assert!(reserve > Fen(0), "{first:?}");
        let id = first.clr_id.clone();
        let advance = |to: &str| json!({ "to": to, "operator": "清算科" });
        let rejected = h
            .admin(
                "POST",
                &format!("/admin/clearings/{id}/advance"),
                advance("70").to_string(),
            )
            .await;
        assert_eq!(rejected["clearing"]["state"], "Rejected", "{rejected}");
        assert!(
            flows(&h).await.is_empty(),
            "the rejection undoes the row's postings"
        );
        let early = refused(
            &h,
            &format!("/admin/clearings/{id}/advance"),
            advance("20"),
            409,
        )
        .await;
        assert!(early.contains("70"), "{early}");

        // An audit deduction entered after the rejection is taken by the next application.
        let key = first.row.key;
        let audit = Fen(10_000);
        clearing::add_deductions(&h.store, &[deduction("D1", month, key, audit)], "t")
            .await
            .unwrap();
        let other = PairKey {
            insutype: Code::lit("310"),
            ..key
        };
        assert!(
            clearing::add_deductions(&h.store, &[deduction("D2", month, other, audit)], "t")
                .await
                .is_err(),
            "a pair without a rejected clearing of a run month takes no deduction"
        );
        let again = h
            .admin(
                "POST",
                &format!("/admin/clearings/{id}/resubmit"),
                String::new(),
            )
            .await;
        assert_eq!(again["stored_now"], true, "{again}");
        let new_id = format!("{id}-2");
        let clearing = &again["clearing"];
        assert_eq!(clearing["clr_id"], new_id.as_str());
        assert_eq!(clearing["state"], "Applied");
        assert_eq!(clearing["resubmits"], id.as_str());
        let row = &clearing["row"];
        assert_eq!(fen_of(&row["fund_owed"]), owed);
        assert_eq!(fen_of(&row["deductions"]["audit"]), audit);
        let new_reserve = policy
            .rounding
            .apply(owed - audit, policy.reserve_withheld_ratio);
        assert_eq!(fen_of(&row["deductions"]["reserve_withheld"]), new_reserve);
        let cleared = owed - audit - new_reserve;
        assert_eq!(fen_of(&row["cleared"]), cleared);
        let repeated = h
            .admin(
                "POST",
                &format!("/admin/clearings/{id}/resubmit"),
                "{}".into(),
            )
            .await;
        assert_eq!(repeated["stored_now"], false);
        assert_eq!(repeated["clearing"], again["clearing"]);
        let standing = refused(
            &h,
            &format!("/admin/clearings/{new_id}/resubmit"),
            json!({}),
            409,
        )
        .await;
        assert!(standing.contains("70"), "{standing}");
        refused(&h, "/admin/clearings/nope/resubmit", json!({}), 404).await;

        // The month run again agrees with what is stored; both applications are listed.
        let rerun = run_month(&h.store, &policy, month, as_of, "t9")
            .await
            .unwrap();
        assert!(!rerun.stored_now);
        assert_eq!(rerun.rows.len(), 2);
        let listed = h
            .admin(
                "GET",
                &format!("/admin/clearings?month={month}"),
                String::new(),
            )
            .await;
        let states: Vec<(&str, &str)> = listed["clearings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["clr_id"].as_str().unwrap(), c["state"].as_str().unwrap()))
            .collect();
        assert_eq!(
            states,
            [(id.as_str(), "Rejected"), (new_id.as_str(), "Applied")]
        );

        // The reserve is released once the clearing is paid, all of it, once.
        let release = json!({ "period": month.year.to_string(), "insured": "360400", "treating": "360100", "insutype": "390", "reason": "年度清算", "operator": "清算科" });
        let unpaid = refused(
            &h,
            "/admin/clearings/reserve-releases",
            release.clone(),
            409,
        )
        .await;
        assert!(
            unpaid.contains(&new_id) && unpaid.contains("60"),
            "{unpaid}"
        );
        for to in ["20", "30", "40", "50", "60"] {
            h.admin(
                "POST",
                &format!("/admin/clearings/{new_id}/advance"),
                advance(to).to_string(),
            )
            .await;
        }
        let released = h
            .admin(
                "POST",
                "/admin/clearings/reserve-releases",
                release.to_string(),
            )
            .await;
        assert_eq!(released["stored_now"], true, "{released}");
        assert_eq!(fen_of(&released["release"]["amount"]), new_reserve);
        assert_eq!(
            released["release"]["clearings"],
            json!([[new_id, new_reserve.to_string()]])
        );
        let twice = h
            .admin(
                "POST",
                "/admin/clearings/reserve-releases",
                release.to_string(),
            )
            .await;
        assert_eq!(twice["stored_now"], false);
        assert_eq!(twice["release"], released["release"]);
        let monthly = json!({ "period": month.to_string(), "insured": "360400", "treating": "360100", "insutype": "390", "operator": "x" });
        let nothing = refused(&h, "/admin/clearings/reserve-releases", monthly, 409).await;
        assert!(nothing.contains("没有待返还"), "{nothing}");
        let bad = json!({ "period": "2026-3", "insured": "360400", "treating": "360100", "insutype": "390", "operator": "x" });
        let named = refused(&h, "/admin/clearings/reserve-releases", bad, 400).await;
        assert!(named.contains("`period`"), "{named}");
        let listed = h.admin("GET", "/admin/clearings", String::new()).await;
        let paid = &listed["clearings"][1];
        assert_eq!(
            paid["reserve_released_by"],
            released["release"]["release_id"]
        );
        assert_eq!(listed["reserve_releases"].as_array().unwrap().len(), 1);

        // The books: only the new application's postings stand; what was withheld is paid out.
        let books = flows(&h).await;
        let flow = |name: &str| books.get(name).copied().unwrap_or(Fen(0));
        assert_eq!(flow("clearing_payable"), owed, "{books:?}");
        assert_eq!(flow("clearing_payable_audit"), audit);
        assert_eq!(flow("clearing_payable_reserve_withheld"), new_reserve);
        assert_eq!(flow("clearing_payable_settled"), cleared);
        assert_eq!(flow("clearing_payable_reserve_released"), new_reserve);
        assert_eq!(flow("clearing_receivable"), owed);
        assert_eq!(flow("clearing_receivable_collected"), cleared);
        assert_eq!(flow("clearing_receivable_reserve_released"), new_reserve);
        assert_eq!(flow("clearing_paid_to_hospitals"), owed - audit);
        assert_eq!(flow("clearing_owed_to_hospitals"), owed);

        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");
        let mut conn = h.store.pool().acquire().await.unwrap();
        sqlx::query("DELETE FROM book_postings WHERE flow = 'clearing_payable_reserve_released'")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        let report = h.verify().await;
        assert_eq!(report["ok"], false, "{report}");
        assert!(report.to_string().contains("reserve-released"), "{report}");
        let moved = clearing::advance(&h.store, &id, ClearingState::Accepted, "x", "t").await;
        assert!(moved.is_err(), "a rejected clearing stays rejected");
        h.stop().await;
    }
}

fn deduction(id: &str, month: Month, key: PairKey, amount: Fen) -> ReviewDeduction {
    ReviewDeduction {
        deduction_id: id.into(),
        month,
        key,
        inspection: false,
        amount,
        reason: "审核扣款".into(),
    }
}

/// A month is applied again before the pair's next month: once the next month of the pair has a
/// clearing not rejected, a rejected clearing of the month cannot be resubmitted (the prepayment is
/// carried month to month). Rows of review deductions alone, on SQLite.
#[tokio::test]
async fn a_month_is_applied_again_only_before_the_pairs_next_month() {
    let policy = ClearingPolicy::load(&fixture_policy()).unwrap();
    let h = start(Backend::Sqlite).await;
    let key = PairKey {
        insured_admdvs: Code::lit("360400"),
        treating_admdvs: Code::lit("360100"),
        insutype: Code::lit("390"),
    };
    let january = Month::parse("2026-01").unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    clearing::add_deductions(&h.store, &[deduction("J1", january, key, Fen(500))], "t")
        .await
        .unwrap();
    let run = run_month(&h.store, &policy, january, as_of, "t1")
        .await
        .unwrap();
    let id = run.rows[0].clr_id.clone();
    clearing::advance(
        &h.store,
        &id,
        ClearingState::Rejected,
        "x",
        "2026-03-02 09:00:00",
    )
    .await
    .unwrap();
    let again = yibao_ledger::clearing_run::resubmit(&h.store, &policy, &id, "t2")
        .await
        .unwrap();
    let second = again.clearing.clr_id.clone();
    assert_eq!(second, format!("{id}-2"));
    clearing::add_deductions(
        &h.store,
        &[deduction("F1", january.next(), key, Fen(700))],
        "t",
    )
    .await
    .unwrap();
    run_month(&h.store, &policy, january.next(), as_of, "t3")
        .await
        .unwrap();
    clearing::advance(
        &h.store,
        &second,
        ClearingState::Rejected,
        "x",
        "2026-03-03 09:00:00",
    )
    .await
    .unwrap();
    let later = yibao_ledger::clearing_run::resubmit(&h.store, &policy, &second, "t4").await;
    assert!(
        matches!(
            later,
            Err(yibao_ledger::clearing_run::ClearingRunError::LaterApplication { .. })
        ),
        "{later:?}"
    );
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    h.stop().await;
}
