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
//! While a pair's clearings of a month are all rejected its institutions correct their
//! confirmations (3262, 3261 in time) and the resubmission reads them; a pair whose clearing stands
//! stays frozen. A month rejected after the pair's next month was run is applied again with the
//! prepayment the later months stand on, the later rows unchanged, and the books' prepayment flows
//! equal to the pairs' balances to the fen.

use crate::common;

use chrono::NaiveDate;
use common::{repo_root, Backend, Harness};
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
    stay_of(("P0001", "390"), day, bed_days)
}

/// A stay of the person and scheme `(psn_no, insutype)` at the 南昌 hospital.
fn stay_of((psn_no, insutype): (&str, &str), day: u32, bed_days: u32) -> Visit {
    let bed = format!("{}.00", 40 * bed_days);
    serde_json::from_value(json!({
        "psn_no": psn_no, "insutype": insutype, "med_type": "21",
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
    let (code, value) = h.admin_answer("POST", path, body.to_string()).await;
    assert_eq!(code, status, "{path}: {value}");
    assert_eq!(value["ok"], false, "{value}");
    value["error"].as_str().unwrap().to_string()
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
        assert_eq!(confirm_month(&h, month, "2026-01-01 08:00:00").await, 2);

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
            h.clearing_flows().await.is_empty(),
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
        assert!(named.contains("参数 period 有误"), "{named}");
        let listed = h.admin("GET", "/admin/clearings", String::new()).await;
        let paid = &listed["clearings"][1];
        assert_eq!(
            paid["reserve_released_by"],
            released["release"]["release_id"]
        );
        assert_eq!(listed["reserve_releases"].as_array().unwrap().len(), 1);

        // The books: only the new application's postings stand; what was withheld is paid out.
        let books = h.clearing_flows().await;
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

/// The pairs of the tests below: 九江's residents (390) and workers (310) treated in 南昌.
fn pair(insutype: &str) -> PairKey {
    PairKey {
        insured_admdvs: Code::lit("360400"),
        treating_admdvs: Code::lit("360100"),
        insutype: Code::lit(insutype),
    }
}

/// The first day after `month`.
fn over(month: Month) -> NaiveDate {
    let next = month.next();
    NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1).unwrap()
}

/// The month of a settlement's `setl_time`.
fn month_of(settled: &Value) -> Month {
    Month::parse(&settled["setl_time"].as_str().unwrap()[..7]).unwrap()
}

/// Every institution confirms all its inbound settlements of `month` at `at` (batch ids `T-…`);
/// how many were confirmed.
async fn confirm_month(h: &Harness, month: Month, at: &str) -> usize {
    let mut conn = h.store.pool().acquire().await.unwrap();
    yibao_ledger::clearing_confirm::confirm_all(&mut conn, month, "T", at)
        .await
        .unwrap()
}

/// The standing clearing of a month and pair.
async fn standing(h: &Harness, month: Month, key: PairKey) -> clearing::StoredClearing {
    let mut conn = h.store.pool().acquire().await.unwrap();
    clearing::stored_rows(&mut conn, Some(month))
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.row.key == key && s.state != ClearingState::Rejected)
        .unwrap()
}

/// A 3261 batch of an institution, stored through the ledger; its refusal's text when refused.
async fn confirm_batch(
    h: &Harness,
    msgid: &str,
    month: Month,
    rows: &[(&str, bool)],
) -> Result<yibao_ledger::clearing_confirm::ConfirmBatch, String> {
    let batch = yibao_ledger::clearing_confirm::ConfirmBatch {
        fixmedins_code: NANCHANG.into(),
        msgid: msgid.into(),
        month,
        rows: rows.iter().map(|(id, f)| (id.to_string(), *f)).collect(),
        rolled_back_at: String::new(),
        late_cycle: None,
    };
    let mut conn = h.store.pool().acquire().await.unwrap();
    let at = format!("{month}-28 09:00:00");
    yibao_ledger::clearing_confirm::confirm(&mut conn, &batch, &at)
        .await
        .map_err(|e| e.to_string())
}

/// A 3262 of a batch through the ledger; its refusal's text when refused.
async fn roll_back(h: &Harness, msgid: &str) -> Result<(), String> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    yibao_ledger::clearing_confirm::roll_back(&mut conn, NANCHANG, msgid, "2026-12-30 09:00:00")
        .await
        .map_err(|e| e.to_string())
}

/// Issue 11 §4: a rejected clearing reopens its pair's confirmations, and only its pair's. Three
/// stays of one month at one hospital — two of residents (390), one of a worker (310) — confirmed in
/// one batch and cleared as two pairs; the 390 clearing is rejected. The batch (both pairs) cannot
/// be rolled back; a 390 batch confirming one stay and excluding the other is in time, can be rolled
/// back and sent again, and the resubmission clears the one stay; the 310 stay, counted by a
/// standing clearing, is not confirmed again; once the 390 month is applied again its batch is
/// frozen and a confirmation of the excluded stay is late (the next cycle).
#[tokio::test]
async fn a_rejected_clearing_reopens_its_pairs_confirmations_only() {
    let policy = ClearingPolicy::load(&fixture_policy()).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = start(backend).await;
        let kept = settle(&h, &stay(2, 5)).await;
        let dropped = settle(&h, &stay(10, 3)).await;
        let worker = settle(&h, &stay_of(("P0002", "310"), 4, 2)).await;
        let month = month_of(&kept);
        let id_of = |s: &Value| s["setl_id"].as_str().unwrap().to_string();
        let (kept_id, dropped_id, worker_id) = (id_of(&kept), id_of(&dropped), id_of(&worker));
        let fund = |s: &Value| Fen(common::fen(&s["fund_pay_sumamt"]));
        assert_eq!(confirm_month(&h, month, "2026-12-01 08:00:00").await, 3);
        let first_batch = format!("T-{:04}{:02}-1", month.year, month.month);
        let run = run_month(&h.store, &policy, month, over(month), "t1")
            .await
            .unwrap();
        assert_eq!(run.rows.len(), 2, "{:?}", run.rows);
        let residents = standing(&h, month, pair("390")).await;
        assert_eq!(residents.row.fund_owed, fund(&kept) + fund(&dropped));
        let frozen = roll_back(&h, &first_batch).await.unwrap_err();
        assert!(frozen.contains("已清算"), "{frozen}");

        clearing::advance(
            &h.store,
            &residents.clr_id,
            ClearingState::Rejected,
            "清算科",
            "2026-12-29 09:00:00",
        )
        .await
        .unwrap();
        let mixed = roll_back(&h, &first_batch).await.unwrap_err();
        assert!(mixed.contains("分批"), "{mixed}");
        let corrected = confirm_batch(&h, "C1", month, &[(&kept_id, true), (&dropped_id, false)])
            .await
            .unwrap();
        assert_eq!(
            corrected.late_cycle, None,
            "a reopened pair confirms in time"
        );
        roll_back(&h, "C1").await.unwrap();
        confirm_batch(&h, "C2", month, &[(&kept_id, true), (&dropped_id, false)])
            .await
            .unwrap();
        let counted = confirm_batch(&h, "W1", month, &[(&worker_id, false)])
            .await
            .unwrap_err();
        assert!(
            counted.contains("已清算"),
            "the 310 clearing stands: {counted}"
        );
        let mixed = confirm_batch(&h, "M1", month, &[(&kept_id, true), (&worker_id, true)])
            .await
            .unwrap_err();
        assert!(mixed.contains("分批"), "{mixed}");

        let again =
            yibao_ledger::clearing_run::resubmit(&h.store, &policy, &residents.clr_id, "t2")
                .await
                .unwrap();
        let row = &again.clearing.row;
        assert_eq!(
            (row.settlements, row.fund_owed),
            (1, fund(&kept)),
            "the resubmission reads the corrected confirmations: {row:?}"
        );
        let frozen = roll_back(&h, "C2").await.unwrap_err();
        assert!(frozen.contains("已清算"), "{frozen}");
        let late = confirm_batch(&h, "L1", month, &[(&dropped_id, true)])
            .await
            .unwrap();
        assert_eq!(late.late_cycle, Some(month.next()));

        let books = h.clearing_flows().await;
        let workers = standing(&h, month, pair("310")).await;
        assert_eq!(
            books.get("clearing_payable").copied(),
            Some(fund(&kept) + workers.row.fund_owed),
            "{books:?}"
        );
        assert_eq!(workers.row.fund_owed, fund(&worker));
        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");
        h.stop().await;
    }
}

/// Two earlier months of a pair, stored as a run stores them (each with one synthetic remote
/// settlement of `fund_fen` paid by `fund_pay_type`), so that the month after them has a
/// prepayment to offset and top up.
async fn seed_earlier_months(
    h: &Harness,
    policy: &ClearingPolicy,
    month: Month,
    key: PairKey,
    fund: (&str, i64),
) {
    seed_months(h, policy, &[month.minus(2), month.minus(1)], key, fund).await;
}

/// Months of a pair stored as a run stores them, each with one synthetic remote settlement.
async fn seed_months(
    h: &Harness,
    policy: &ClearingPolicy,
    months: &[Month],
    key: PairKey,
    (fund_pay_type, fund_fen): (&str, i64),
) {
    let regions = {
        let mut conn = h.store.pool().acquire().await.unwrap();
        yibao_ledger::clearing_run::pooling_regions(&mut conn)
            .await
            .unwrap()
    };
    for &earlier in months {
        let mut conn = h.store.pool().acquire().await.unwrap();
        let history = clearing::prepayment_histories(&mut conn, earlier, 12)
            .await
            .unwrap();
        drop(conn);
        let settlement = yibao_clearing::SettlementRow {
            setl_id: format!("SEED-{earlier}-{}", key.insutype),
            key,
            fixmedins_code: NANCHANG.into(),
            made_in: earlier,
            cancels: None,
            medfee_sumamt: Fen(fund_fen * 2),
            fund_payments: vec![yibao_clearing::FundPayment {
                fund_pay_type: Code::new(fund_pay_type).unwrap(),
                amount: Fen(fund_fen),
            }],
            confirmation: yibao_clearing::Confirmation::NotRequired,
            late_cycle: None,
        };
        let inputs = yibao_clearing::MonthInputs {
            rows: vec![settlement],
            deductions: Default::default(),
            prepayments: history,
        };
        let rows = yibao_clearing::clear_month(policy, earlier, &inputs).unwrap();
        clearing::store_rows(&h.store, &rows, &regions, "seed")
            .await
            .unwrap();
    }
}

/// The prepayment flows of the books per pair side (insured: paid in less offset) must equal the
/// pair's balance after its last standing clearing.
async fn assert_prepayment_agrees(h: &Harness, key: PairKey) {
    let mut conn = h.store.pool().acquire().await.unwrap();
    let mut rows: Vec<_> = clearing::stored_rows(&mut conn, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.row.key == key && s.state != ClearingState::Rejected)
        .collect();
    rows.sort_by_key(|s| s.row.month);
    let moved: Fen = rows
        .iter()
        .map(|s| s.row.prepayment.top_up - s.row.prepayment.offset)
        .sum();
    assert_eq!(
        moved,
        rows.last().unwrap().row.prepayment.balance_after,
        "{key:?}: the standing rows' top-ups less offsets are the balance"
    );
    for pair in rows.windows(2) {
        assert_eq!(
            pair[0].row.prepayment.balance_after, pair[1].row.prepayment.balance_before,
            "{key:?}: the chain of balances"
        );
    }
}

/// Issue 11 §4: a month rejected after the pair's next month was run is applied again. The 390
/// clearing is rejected after the next month ran on the balance it left: applied again, it takes
/// its own prepayment (the next month stands on it). The 310 clearing is rejected before the next
/// month ran (which then started from the balance before it): applied again, it draws nothing from
/// the prepayment. The later rows are unchanged, every standing chain of balances holds, the books'
/// prepayment flows are the balances to the fen, and `verify` finds nothing.
#[tokio::test]
async fn a_month_rejected_after_the_next_was_run_is_applied_again() {
    let policy = ClearingPolicy::load(&fixture_policy()).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = start(backend).await;
        let resident = settle(&h, &stay(2, 5)).await;
        settle(&h, &stay_of(("P0002", "310"), 4, 2)).await;
        let month = month_of(&resident);
        seed_earlier_months(&h, &policy, month, pair("390"), ("390100", 900_000)).await;
        seed_earlier_months(&h, &policy, month, pair("310"), ("310100", 600_000)).await;
        confirm_month(&h, month, "2026-12-01 08:00:00").await;
        run_month(&h.store, &policy, month, over(month), "t1")
            .await
            .unwrap();
        let (residents, workers) = (
            standing(&h, month, pair("390")).await,
            standing(&h, month, pair("310")).await,
        );
        for stored in [&residents, &workers] {
            let p = stored.row.prepayment;
            assert!(
                p.offset > Fen(0) && p.balance_after != p.balance_before,
                "{p:?}"
            );
        }
        clearing::advance(
            &h.store,
            &workers.clr_id,
            ClearingState::Rejected,
            "x",
            "2026-12-30 09:00:00",
        )
        .await
        .unwrap();
        let next = month.next();
        clearing::add_deductions(
            &h.store,
            &[
                deduction("N390", next, pair("390"), Fen(500)),
                deduction("N310", next, pair("310"), Fen(700)),
            ],
            "t",
        )
        .await
        .unwrap();
        run_month(&h.store, &policy, next, over(next), "t2")
            .await
            .unwrap();
        let later = [
            standing(&h, next, pair("390")).await,
            standing(&h, next, pair("310")).await,
        ];
        assert_eq!(
            later[0].row.prepayment.balance_before,
            residents.row.prepayment.balance_after
        );
        assert_eq!(
            later[1].row.prepayment.balance_before, workers.row.prepayment.balance_before,
            "the next month ran without the rejected 310 clearing"
        );
        clearing::advance(
            &h.store,
            &residents.clr_id,
            ClearingState::Rejected,
            "x",
            "2026-12-31 09:00:00",
        )
        .await
        .unwrap();

        let again =
            yibao_ledger::clearing_run::resubmit(&h.store, &policy, &residents.clr_id, "t3")
                .await
                .unwrap();
        assert!(again.stored_now);
        assert_eq!(again.clearing.clr_id, format!("{}-2", residents.clr_id));
        assert_eq!(
            again.clearing.row, residents.row,
            "nothing changed in the month: the same row, on the same prepayment"
        );
        let again = yibao_ledger::clearing_run::resubmit(&h.store, &policy, &workers.clr_id, "t3")
            .await
            .unwrap();
        let row = &again.clearing.row;
        let balance = later[1].row.prepayment.balance_before;
        assert_eq!(
            (row.prepayment.offset, row.prepayment.top_up),
            (Fen(0), Fen(0)),
            "{row:?}"
        );
        assert_eq!(
            (row.prepayment.balance_before, row.prepayment.balance_after),
            (balance, balance)
        );
        assert_eq!(row.fund_owed, workers.row.fund_owed);
        assert_eq!(
            row.cleared,
            row.fund_owed - row.deductions.reserve_withheld,
            "paid in full less the reserve"
        );
        assert_eq!(standing(&h, next, pair("390")).await, later[0]);
        assert_eq!(standing(&h, next, pair("310")).await, later[1]);
        for key in [pair("390"), pair("310")] {
            assert_prepayment_agrees(&h, key).await;
        }
        let books = h.clearing_flows().await;
        let mut conn = h.store.pool().acquire().await.unwrap();
        let standing_rows: Vec<_> = clearing::stored_rows(&mut conn, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.state != ClearingState::Rejected)
            .collect();
        drop(conn);
        let sum =
            |f: fn(&clearing::StoredClearing) -> Fen| standing_rows.iter().map(f).sum::<Fen>();
        let flow = |name: &str| books.get(name).copied().unwrap_or(Fen(0));
        assert_eq!(
            flow("clearing_prepayment_paid_in"),
            sum(|s| s.row.prepayment.top_up),
            "{books:?}"
        );
        assert_eq!(
            flow("clearing_payable_prepayment_offset"),
            sum(|s| s.row.prepayment.offset)
        );
        assert_eq!(flow("clearing_payable"), sum(|s| s.row.fund_owed));
        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");
        h.stop().await;
    }
}

/// Issue 11 §4: two consecutive months rejected after the month after them was run are applied
/// again, the earlier first. The earlier one's next month is rejected too: its prepayment is
/// carried because that next month (rejected, to be applied again) started from the balance it left;
/// the next month, which no longer gives the pair settlements of the ledger (its row was stored from
/// a synthetic settlement), is applied again as a row carrying its prepayment alone. The chain of
/// balances and the books' prepayment flows agree, and `verify` finds nothing.
#[tokio::test]
async fn consecutive_months_rejected_after_a_later_run_are_applied_again() {
    let policy = ClearingPolicy::load(&fixture_policy()).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = start(backend).await;
        let resident = settle(&h, &stay(2, 5)).await;
        let month = month_of(&resident);
        let key = pair("390");
        seed_earlier_months(&h, &policy, month, key, ("390100", 900_000)).await;
        confirm_month(&h, month, "2026-12-01 08:00:00").await;
        run_month(&h.store, &policy, month, over(month), "t1")
            .await
            .unwrap();
        let first = standing(&h, month, key).await;
        let next = month.next();
        seed_months(&h, &policy, &[next], key, ("390100", 600_000)).await;
        let second = standing(&h, next, key).await;
        assert!(second.row.prepayment.offset > Fen(0), "{second:?}");
        assert_eq!(
            second.row.prepayment.balance_before,
            first.row.prepayment.balance_after
        );
        let third_month = next.next();
        clearing::add_deductions(
            &h.store,
            &[deduction("T390", third_month, key, Fen(500))],
            "t",
        )
        .await
        .unwrap();
        run_month(&h.store, &policy, third_month, over(third_month), "t2")
            .await
            .unwrap();
        let third = standing(&h, third_month, key).await;
        for stored in [&second, &first] {
            clearing::advance(
                &h.store,
                &stored.clr_id,
                ClearingState::Rejected,
                "x",
                "2027-03-02 09:00:00",
            )
            .await
            .unwrap();
        }

        let again = yibao_ledger::clearing_run::resubmit(&h.store, &policy, &first.clr_id, "t3")
            .await
            .unwrap();
        assert_eq!(
            again.clearing.row, first.row,
            "the rejected next month stood on this month's balance: its prepayment is carried"
        );
        let again = yibao_ledger::clearing_run::resubmit(&h.store, &policy, &second.clr_id, "t3")
            .await
            .unwrap();
        let row = &again.clearing.row;
        assert_eq!(row.prepayment, second.row.prepayment);
        assert_eq!(
            (row.fund_owed, row.cleared),
            (Fen(0), Fen(0) - second.row.prepayment.offset),
            "{row:?}"
        );
        assert_eq!(standing(&h, third_month, key).await, third);
        assert_prepayment_agrees(&h, key).await;
        let books = h.clearing_flows().await;
        let mut conn = h.store.pool().acquire().await.unwrap();
        let rows: Vec<_> = clearing::stored_rows(&mut conn, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.state != ClearingState::Rejected)
            .collect();
        drop(conn);
        let flow = |name: &str| books.get(name).copied().unwrap_or(Fen(0));
        assert_eq!(
            flow("clearing_prepayment_paid_in") - flow("clearing_payable_prepayment_offset"),
            rows.iter()
                .map(|s| s.row.prepayment.top_up - s.row.prepayment.offset)
                .sum::<Fen>(),
            "{books:?}"
        );
        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");
        h.stop().await;
    }
}
