//! Several charge batches (收费批次) under one outpatient registration over real HTTP, on SQLite and
//! on PostgreSQL, sent by the `yibao-his` client: the registration fee and the treatment charged and
//! settled apart (2204 → 2206 → 2207 of each `chrg_bchno`), the second batch seeing the first one's
//! use of the annual cap; a batch deleted by 2205 "0000" while the settled ones stay; one batch's
//! settlement cancelled (2208) while a later one stays live, its lines deleted or settled again;
//! each settlement counted by 3201/3202; a 2207 without `chrg_bchno` settling every unsettled line.
//! Every amount asserted is computed from the policy's figures or is an identity.

use crate::common;

use common::{columns, fen, his_ok, his_refused, setl_id, Backend, Harness, DRUG};
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_his::{steps, FeeLine, Visit};
use yibao_server::config::AuthMode;

/// 一级 institution (hosp_lv 9).
const CLINIC: &str = "H36042300021";
/// 三级 institution.
const HOSPITAL: &str = "H36040200001";
/// 九江 residents' outpatient pooling (门诊统筹, `med_type` 11) at level 1 (`policies/jiujiang.toml`):
/// 65 % of the in-scope amount, no deductible …
const POOL_PERCENT: i64 = 65;
/// … up to 400.00 a year.
const POOL_CAP_FEN: i64 = 40_000;
/// 挂号费, 丙类: fully self-paid.
const REGISTRATION_FEE: &str = "110100001";

/// A registration's charge batch: `lines` of `(feedetl_sn, code, count, unit price in fen)`.
fn batch(base: &Visit, lines: &[(&str, &str, i64, i64)]) -> Visit {
    Visit {
        feedetail: lines
            .iter()
            .map(|(sn, code, cnt, pric)| FeeLine::priced(*sn, *code, *cnt, Fen(*pric)))
            .collect(),
        ..base.clone()
    }
}

/// A `setlinfo` amount of a settlement output, in fen.
fn amount(output: &Value, column: &str) -> i64 {
    fen(&output["setlinfo"][column])
}

/// The basic fund's `setldetail` row of a settlement output.
fn pooling_row(output: &Value) -> &Value {
    output["setldetail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fund_pay_type"] == "390100")
        .unwrap_or_else(|| panic!("no 390100 row: {output}"))
}

/// A 3201 of today's settlements of the clinic's residents' outpatient care, declaring the given
/// totals; returns `stmt_rslt`.
async fn statement(h: &Harness, medfee_fen: i64, fund_fen: i64, count: i64) -> String {
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let out = h
        .ok("3201", CLINIC, json!({ "data": { "insutype": "390", "clr_type": "11", "setl_optins": "360400", "stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": Fen(medfee_fen).to_yuan_string(), "fund_pay_sumamt": Fen(fund_fen).to_yuan_string(), "acct_pay": "0.00", "fixmedins_setl_cnt": count.to_string() } }))
        .await;
    out["stmtinfo"]["stmt_rslt"].as_str().unwrap().to_string()
}

/// The `(feedetl_sn, setl_id)` of a registration's live lines (5204).
async fn live_lines(h: &Harness, mdtrt_id: &str) -> Vec<(String, String)> {
    let out = h
        .ok(
            "5204",
            CLINIC,
            json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0004" } }),
        )
        .await;
    out["feedetail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let text = |key: &str| l[key].as_str().unwrap().to_string();
            (text("feedetl_sn"), text("setl_id"))
        })
        .collect()
}

/// A resident's registration charged in batches at a level-1 clinic: the registration fee with a
/// first prescription, then a second prescription that meets the annual cap, then batches deleted,
/// cancelled and charged again.
async fn resident_batches(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "batches").await;
    let his = h.his();
    let base = Visit {
        psn_no: "P0004".into(),
        insutype: "390".into(),
        med_type: "11".into(),
        begntime: "2026-03-01 09:00:00".into(),
        fixmedins_code: CLINIC.into(),
        dise_codg: "J06.900".into(),
        ..Visit::default()
    };
    let registered = his_ok(&his, &steps::register(&base)).await;
    let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_string();
    his_ok(&his, &steps::visit_info(&base, &mdtrt_id)).await;

    // Batch 1: the registration fee (1.00, self-paid) and 400.00 of a class-A drug.
    let first = batch(
        &base,
        &[("1", REGISTRATION_FEE, 1, 100), ("2", DRUG, 40, 1_000)],
    );
    let settled = his.outpatient_batch(&first, &mdtrt_id, "1").await.unwrap();
    let first_out = settled.reply.output();
    let fund_first = 40_000 * POOL_PERCENT / 100;
    assert_eq!(amount(&first_out, "hifp_pay"), fund_first, "{first_out}");
    assert_eq!(amount(&first_out, "fulamt_ownpay_amt"), 100);
    assert_eq!(amount(&first_out, "psn_cash_pay"), 40_100 - fund_first);
    let setl_first = settled.setl_id;

    // A settled batch takes no more lines, and is not settled twice.
    let late = batch(&base, &[("9", DRUG, 1, 1_000)]);
    let err = his_refused(&his, &steps::upload_outpatient_batch(&late, &mdtrt_id, "1")).await;
    assert!(
        err.starts_with("参数 input.feedetail[0].chrg_bchno 有误：") && err.contains(&setl_first),
        "{err}"
    );
    let again = steps::settle_outpatient_batch(&first, &mdtrt_id, "1", Fen(40_100));
    let err = his_refused(&his, &again).await;
    assert!(
        err.starts_with("参数 input.data.chrg_bchno 有误：") && err.contains(&setl_first),
        "{err}"
    );

    // Batch 2: 500.00 more, uploaded with batch 3 (10.00) before either is settled. Settling batch
    // 2 takes its lines only; the fund pays what the cap leaves after batch 1, and the
    // pre-settlement says so before the settlement does.
    let second = batch(&base, &[("3", DRUG, 50, 1_000)]);
    his_ok(
        &his,
        &steps::upload_outpatient_batch(&second, &mdtrt_id, "2"),
    )
    .await;
    let third = batch(&base, &[("4", DRUG, 1, 1_000)]);
    his_ok(
        &his,
        &steps::upload_outpatient_batch(&third, &mdtrt_id, "3"),
    )
    .await;
    let unknown = steps::settle_outpatient_batch(&second, &mdtrt_id, "7", Fen(50_000));
    let err = his_refused(&his, &unknown).await;
    assert!(
        err.starts_with("参数 input.data.chrg_bchno 有误："),
        "{err}"
    );
    let presettled = his_ok(
        &his,
        &steps::presettle_outpatient_batch(&second, &mdtrt_id, "2", Fen(50_000)),
    )
    .await;
    let second_out = his_ok(
        &his,
        &steps::settle_outpatient_batch(&second, &mdtrt_id, "2", Fen(50_000)),
    )
    .await;
    let fund_second = (50_000 * POOL_PERCENT / 100).min(POOL_CAP_FEN - fund_first);
    assert_eq!(amount(&second_out, "hifp_pay"), fund_second, "{second_out}");
    assert_eq!(
        fen(&pooling_row(&second_out)["crt_payb_lmt_amt"]),
        POOL_CAP_FEN - fund_first
    );
    assert_eq!(columns(&presettled), columns(&second_out));
    // Settled apart, the two batches pay what one settlement of both would: the whole cap.
    let whole = ((40_000 + 50_000) * POOL_PERCENT / 100).min(POOL_CAP_FEN);
    assert_eq!(fund_first + fund_second, whole);
    let setl_second = setl_id(&second_out);
    let err = h
        .fails(
            "2202",
            CLINIC,
            json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0004" } }),
        )
        .await;
    assert!(err.starts_with("参数 input.data.mdtrt_id 有误："), "{err}");

    // Every unsettled line is deleted: only batch 3's.
    his_ok(
        &his,
        &steps::cancel_outpatient_fees(&base, &mdtrt_id, "0000"),
    )
    .await;
    let expected = [("1", &setl_first), ("2", &setl_first), ("3", &setl_second)]
        .map(|(sn, s)| (sn.to_string(), s.clone()));
    assert_eq!(live_lines(&h, &mdtrt_id).await, expected);
    let err = his_refused(&his, &steps::cancel_outpatient_fees(&base, &mdtrt_id, "1")).await;
    assert!(
        err.starts_with("参数 input.data.chrg_bchno 有误：") && err.contains(&setl_first),
        "{err}"
    );

    // 3201 counts each settlement; 3202 compares each.
    let (medfee, fund) = (40_100 + 50_000, fund_first + fund_second);
    assert_eq!(statement(&h, medfee, fund, 2).await, "0");
    assert_eq!(statement(&h, medfee, fund, 1).await, "1");
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let detail: Vec<Value> = [&first_out, &second_out]
        .iter()
        .map(|o| json!({ "setl_id": setl_id(o), "medfee_sumamt": o["setlinfo"]["medfee_sumamt"], "fund_pay_sumamt": o["setlinfo"]["fund_pay_sumamt"], "acct_pay": o["setlinfo"]["acct_pay"] }))
        .collect();
    let reconciled = h
        .ok("3202", CLINIC, json!({ "data": { "setl_optins": "360400", "stmt_begndate": today, "stmt_enddate": today }, "detail": detail }))
        .await;
    assert_eq!(reconciled["stmt_rslt"], "0", "{reconciled}");
    assert_eq!(reconciled["result"].as_array().unwrap().len(), 2);

    // Batch 1's settlement is cancelled while batch 2's stays: the exact negation.
    let cancelled = his_ok(
        &his,
        &steps::cancel_outpatient_settlement(&base, &mdtrt_id, &setl_first),
    )
    .await;
    for ((column, was), (_, negated)) in columns(&first_out).into_iter().zip(columns(&cancelled)) {
        assert_eq!(negated, -was, "{column}");
    }
    assert_eq!(statement(&h, 50_000, fund_second, 1).await, "0");
    // Its lines are unsettled again: the HIS deletes them and charges a new batch, which the cap
    // batch 1 gave back now covers.
    his_ok(&his, &steps::cancel_outpatient_fees(&base, &mdtrt_id, "1")).await;
    let fourth = batch(
        &base,
        &[("1", REGISTRATION_FEE, 1, 100), ("5", DRUG, 20, 1_000)],
    );
    let settled = his.outpatient_batch(&fourth, &mdtrt_id, "4").await.unwrap();
    let fund_fourth = (20_000 * POOL_PERCENT / 100).min(POOL_CAP_FEN - fund_second);
    assert_eq!(amount(&settled.reply.output(), "hifp_pay"), fund_fourth);
    assert_eq!(
        statement(&h, 50_000 + 20_100, fund_second + fund_fourth, 2).await,
        "0"
    );
    let paid = h.accumulator(CLINIC, "P0004", "202603", "D390100").await;
    assert_eq!(paid, fund_second + fund_fourth);
    h.assert_verifies().await;
}

#[tokio::test]
async fn resident_batches_sqlite() {
    resident_batches(Backend::Sqlite).await;
}

#[tokio::test]
async fn resident_batches_postgres() {
    resident_batches(Backend::Postgres).await;
}

/// A worker's registration (no pooling for outpatient care: the personal account pays) charged in
/// two batches, the second settled by a 2207 without `chrg_bchno`, which settles every unsettled
/// line: the account balance after each settlement is the opening 3,000.00 less what the live
/// settlements charged.
async fn worker_account_batches(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "batches_acct").await;
    let his = h.his();
    let base = Visit {
        psn_no: "P0002".into(),
        insutype: "310".into(),
        med_type: "11".into(),
        begntime: "2026-03-01 09:00:00".into(),
        fixmedins_code: HOSPITAL.into(),
        dise_codg: "J06.900".into(),
        ..Visit::default()
    };
    let opening = 300_000;
    let registered = his_ok(&his, &steps::register(&base)).await;
    let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_string();
    let first = batch(&base, &[("1", DRUG, 10, 1_000)]);
    let first_out = his
        .outpatient_batch(&first, &mdtrt_id, "A")
        .await
        .unwrap()
        .reply
        .output();
    assert_eq!(amount(&first_out, "acct_pay"), 10_000);
    assert_eq!(amount(&first_out, "balc"), opening - 10_000);
    let second = batch(&base, &[("2", DRUG, 5, 1_000)]);
    his_ok(
        &his,
        &steps::upload_outpatient_batch(&second, &mdtrt_id, "B"),
    )
    .await;
    let every_unsettled = json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "insutype": "310", "medfee_sumamt": "50.00", "acct_used_flag": "1" } });
    let second_out = h.ok("2207", HOSPITAL, every_unsettled.clone()).await;
    assert_eq!(amount(&second_out, "medfee_sumamt"), 5_000);
    assert_eq!(amount(&second_out, "balc"), opening - 15_000);
    let err = h.fails("2207", HOSPITAL, every_unsettled).await;
    assert!(
        err.starts_with("参数 input.data.mdtrt_id 有误：") && err.contains("已结算"),
        "{err}"
    );
    // Cancelling batch A gives its 100.00 back; settling it again takes it once more.
    let cancelled = his_ok(
        &his,
        &steps::cancel_outpatient_settlement(&base, &mdtrt_id, &setl_id(&first_out)),
    )
    .await;
    assert_eq!(amount(&cancelled, "balc"), opening - 5_000);
    let again = h.ok("2207", HOSPITAL, json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "insutype": "310", "medfee_sumamt": "100.00", "acct_used_flag": "1" } })).await;
    assert_eq!(columns(&again), columns(&first_out));
    assert_eq!(amount(&again, "balc"), opening - 15_000);
    h.assert_verifies().await;
}

#[tokio::test]
async fn worker_account_batches_sqlite() {
    worker_account_batches(Backend::Sqlite).await;
}

#[tokio::test]
async fn worker_account_batches_postgres() {
    worker_account_batches(Backend::Postgres).await;
}
