//! An admission's steps in the orders hospitals use, over real HTTP, on SQLite and on PostgreSQL,
//! sent by the `yibao-his` client: settled before the discharge (2304, then 2402), which leaves the
//! settlement as it was; a discharge not cancelled (2405) while the final settlement is live, and
//! cancelled once it is not (2305 first); a settlement cancelled and made again (2305, then
//! 2303/2304); interim settlements (`mid_setl_flag` 1) followed by the final one, before or after
//! the discharge. Every amount asserted is computed from the policy's figures or is an identity.

use crate::common;

use common::{columns, fen, his_ok, his_refused, setl_id, sum, Backend, Harness, BED};
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_his::{steps, Client, FeeLine, HttpTransport, Visit};
use yibao_server::config::AuthMode;

/// 三级 institution.
const HOSPITAL: &str = "H36040200001";
/// 九江 residents' admission at a 三级 hospital in the city (`policies/jiujiang.toml`): deductible
/// 600.00 …
const DEDUCTIBLE_FEN: i64 = 60_000;
/// … then 60 % by the basic fund.
const FUND_PERCENT: i64 = 60;
/// A bed-day (普通病房床位费, 甲类): 40.00.
const BED_DAY_FEN: i64 = 4_000;

/// What the basic fund pays for a whole stay of `total` fen of bed-days.
fn fund_for_stay(total: i64) -> i64 {
    (total - DEDUCTIBLE_FEN).max(0) * FUND_PERCENT / 100
}

/// The admission of resident P0001, with `days` bed-days as line `sn`; the HIS's discharge time is
/// `endtime`.
fn stay(sn: &str, days: i64, endtime: &str) -> Visit {
    Visit {
        psn_no: "P0001".into(),
        insutype: "390".into(),
        med_type: "21".into(),
        begntime: "2026-02-01 08:00:00".into(),
        endtime: Some(endtime.into()),
        fixmedins_code: HOSPITAL.into(),
        dise_codg: "K80.100".into(),
        feedetail: vec![FeeLine::priced(sn, BED, days, Fen(BED_DAY_FEN))],
        ..Visit::default()
    }
}

/// A `setlinfo` amount of a settlement output, in fen.
fn amount(output: &Value, column: &str) -> i64 {
    fen(&output["setlinfo"][column])
}

/// Admits `visit` and uploads its lines; returns the `mdtrt_id`.
async fn admit(his: &Client<'_, HttpTransport>, visit: &Visit) -> String {
    let admitted = his_ok(his, &steps::admit(visit)).await;
    let mdtrt_id = admitted["result"]["mdtrt_id"].as_str().unwrap().to_string();
    his_ok(his, &steps::upload_inpatient_fees(visit, &mdtrt_id)).await;
    mdtrt_id
}

/// A final (or interim) 2304 of the stay declaring `total_fen`; returns `output`.
async fn settle(
    his: &Client<'_, HttpTransport>,
    visit: &Visit,
    mdtrt_id: &str,
    total_fen: i64,
    interim: bool,
) -> Value {
    let message = steps::settle_inpatient(visit, mdtrt_id, Fen(total_fen), interim);
    his_ok(his, &message).await
}

/// 5203 of a settlement.
async fn stored(h: &Harness, mdtrt_id: &str, setl_id: &str) -> Value {
    h.ok(
        "5203",
        HOSPITAL,
        json!({ "data": { "psn_no": "P0001", "setl_id": setl_id, "mdtrt_id": mdtrt_id } }),
    )
    .await
}

/// One accumulator of P0001 in February 2026, in fen (admissions: a count in hundredths).
async fn accumulator(h: &Harness, code: &str) -> i64 {
    h.accumulator(HOSPITAL, "P0001", "202602", code).await
}

/// Settled on 10 February, discharged on 11 February: the discharge leaves the settlement as it
/// was; 2405 is refused until the settlement is cancelled; after 2305 and 2405 the stay is open
/// again (more fees, an interim settlement), and is discharged and settled again.
async fn settle_then_discharge(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "order").await;
    let his = h.his();
    let visit = stay("1", 30, "2026-02-10 10:00:00");
    let mdtrt_id = admit(&his, &visit).await;
    let total = 30 * BED_DAY_FEN;
    let settled = settle(&his, &visit, &mdtrt_id, total, false).await;
    assert_eq!(amount(&settled, "act_pay_dedc"), DEDUCTIBLE_FEN);
    assert_eq!(amount(&settled, "hifp_pay"), fund_for_stay(total));
    assert_eq!(
        amount(&settled, "psn_cash_pay"),
        total - fund_for_stay(total)
    );
    let setl = setl_id(&settled);

    let discharged = Visit {
        endtime: Some("2026-02-11 09:00:00".into()),
        ..visit.clone()
    };
    let before = stored(&h, &mdtrt_id, &setl).await;
    assert_eq!(
        before["setlinfo"]["setl_id"],
        settled["setlinfo"]["setl_id"]
    );
    assert_eq!(columns(&before), columns(&settled));
    his_ok(&his, &steps::discharge(&discharged, &mdtrt_id)).await;
    assert_eq!(stored(&h, &mdtrt_id, &setl).await, before);
    let err = his_refused(&his, &steps::discharge(&discharged, &mdtrt_id)).await;
    assert!(
        err.starts_with("参数 input.dscginfo.mdtrt_id 有误："),
        "{err}"
    );
    let more = stay("2", 10, "2026-02-11 09:00:00");
    let err = his_refused(&his, &steps::upload_inpatient_fees(&more, &mdtrt_id)).await;
    assert!(err.contains("已结算"), "{err}");
    let err = his_refused(&his, &steps::cancel_discharge(&visit, &mdtrt_id)).await;
    assert!(
        err.starts_with("参数 input.data.mdtrt_id 有误：")
            && err.contains(&setl)
            && err.contains("2305"),
        "{err}"
    );

    // 2305, then 2405: the stay is open again, takes fees and an interim settlement.
    let cancelled = his_ok(
        &his,
        &steps::cancel_inpatient_settlement(&visit, &mdtrt_id, &setl),
    )
    .await;
    for (column, total) in sum(&[&settled, &cancelled]) {
        assert_eq!(total, 0, "{column}");
    }
    his_ok(&his, &steps::cancel_discharge(&visit, &mdtrt_id)).await;
    let err = his_refused(&his, &steps::cancel_discharge(&visit, &mdtrt_id)).await;
    assert!(err.starts_with("参数 input.data.mdtrt_id 有误："), "{err}");
    his_ok(&his, &steps::upload_inpatient_fees(&more, &mdtrt_id)).await;
    let interim = settle(&his, &visit, &mdtrt_id, total + 10 * BED_DAY_FEN, true).await;
    let so_far = 40 * BED_DAY_FEN;
    assert_eq!(amount(&interim, "hifp_pay"), fund_for_stay(so_far));

    // Discharged again, and settled finally with no new line: the final settlement pays nothing
    // more, and the stay counts one admission.
    his_ok(&his, &steps::discharge(&discharged, &mdtrt_id)).await;
    let last = settle(&his, &discharged, &mdtrt_id, 0, false).await;
    for (column, value) in columns(&last) {
        assert_eq!(value, 0, "{column}: {last}");
    }
    assert_eq!(accumulator(&h, "C0000").await, 100);
    assert_eq!(accumulator(&h, "D390100").await, fund_for_stay(so_far));
    h.assert_verifies().await;
}

#[tokio::test]
async fn settle_then_discharge_sqlite() {
    settle_then_discharge(Backend::Sqlite).await;
}

#[tokio::test]
async fn settle_then_discharge_postgres() {
    settle_then_discharge(Backend::Postgres).await;
}

/// A final settlement made before any discharge and cancelled leaves an admission that was never
/// discharged: 2405 has nothing to cancel, interim settlements are possible again, and the final
/// settlement after them pays the whole stay less what they paid.
async fn cancel_before_discharge(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "order2").await;
    let his = h.his();
    let visit = stay("1", 20, "2026-02-10 10:00:00");
    let mdtrt_id = admit(&his, &visit).await;
    let first = 20 * BED_DAY_FEN;
    let settled = settle(&his, &visit, &mdtrt_id, first, false).await;
    let cancelled = his_ok(
        &his,
        &steps::cancel_inpatient_settlement(&visit, &mdtrt_id, &setl_id(&settled)),
    )
    .await;
    // The cancellation names the stay as it was settled: up to the settlement's dscgTime.
    assert_eq!(
        cancelled["setlinfo"]["enddate"], "2026-02-10",
        "{cancelled}"
    );
    let err = his_refused(&his, &steps::cancel_discharge(&visit, &mdtrt_id)).await;
    assert!(
        err.starts_with("参数 input.data.mdtrt_id 有误：") && err.contains("未办理出院"),
        "{err}"
    );
    let interim = settle(&his, &visit, &mdtrt_id, first, true).await;
    assert_eq!(columns(&interim), columns(&settled));
    let more = stay("2", 10, "2026-02-10 10:00:00");
    his_ok(&his, &steps::upload_inpatient_fees(&more, &mdtrt_id)).await;
    let second = settle(&his, &visit, &mdtrt_id, 10 * BED_DAY_FEN, true).await;
    let more_still = stay("3", 5, "2026-02-10 10:00:00");
    his_ok(&his, &steps::upload_inpatient_fees(&more_still, &mdtrt_id)).await;
    let last = settle(&his, &visit, &mdtrt_id, 5 * BED_DAY_FEN, false).await;
    let whole = 35 * BED_DAY_FEN;
    let paid_before = fund_for_stay(30 * BED_DAY_FEN);
    assert_eq!(
        amount(&last, "hifp_pay"),
        fund_for_stay(whole) - paid_before
    );
    let parts = sum(&[&interim, &second, &last]);
    let fund_over_stay = parts.iter().find(|(c, _)| *c == "hifp_pay").unwrap().1;
    assert_eq!(fund_over_stay, fund_for_stay(whole));
    his_ok(&his, &steps::discharge(&visit, &mdtrt_id)).await;

    // Cancelled latest first, the whole stay settled at once gives the same totals as its parts.
    for part in [&last, &second, &interim] {
        his_ok(
            &his,
            &steps::cancel_inpatient_settlement(&visit, &mdtrt_id, &setl_id(part)),
        )
        .await;
    }
    let once = settle(&his, &visit, &mdtrt_id, whole, false).await;
    assert_eq!(columns(&once), parts);
    h.assert_verifies().await;
}

#[tokio::test]
async fn cancel_before_discharge_sqlite() {
    cancel_before_discharge(Backend::Sqlite).await;
}

#[tokio::test]
async fn cancel_before_discharge_postgres() {
    cancel_before_discharge(Backend::Postgres).await;
}

/// Discharged, interim-settled before the discharge, finally settled; the final settlement
/// cancelled and made again: the pre-settlement and the new settlement equal the cancelled one.
async fn settle_again(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "order3").await;
    let his = h.his();
    let visit = stay("1", 25, "2026-02-10 10:00:00");
    let mdtrt_id = admit(&his, &visit).await;
    let interim = settle(&his, &visit, &mdtrt_id, 25 * BED_DAY_FEN, true).await;
    let more = stay("2", 10, "2026-02-10 10:00:00");
    his_ok(&his, &steps::upload_inpatient_fees(&more, &mdtrt_id)).await;
    his_ok(&his, &steps::discharge(&visit, &mdtrt_id)).await;
    let err = his_refused(
        &his,
        &steps::settle_inpatient(&visit, &mdtrt_id, Fen(10 * BED_DAY_FEN), true),
    )
    .await;
    assert!(
        err.starts_with("参数 input.data.mid_setl_flag 有误："),
        "{err}"
    );
    let last = settle(&his, &visit, &mdtrt_id, 10 * BED_DAY_FEN, false).await;
    let whole = 35 * BED_DAY_FEN;
    assert_eq!(
        amount(&interim, "hifp_pay") + amount(&last, "hifp_pay"),
        fund_for_stay(whole)
    );
    let err = his_refused(
        &his,
        &steps::settle_inpatient(&visit, &mdtrt_id, Fen(0), false),
    )
    .await;
    assert!(
        err.starts_with("参数 input.data.mdtrt_id 有误：") && err.contains(&setl_id(&last)),
        "{err}"
    );
    his_ok(
        &his,
        &steps::cancel_inpatient_settlement(&visit, &mdtrt_id, &setl_id(&last)),
    )
    .await;
    let presettled = his_ok(
        &his,
        &steps::presettle_inpatient(&visit, &mdtrt_id, Fen(10 * BED_DAY_FEN), false),
    )
    .await;
    assert_eq!(columns(&presettled), columns(&last));
    let again = settle(&his, &visit, &mdtrt_id, 10 * BED_DAY_FEN, false).await;
    assert_eq!(columns(&again), columns(&last));
    let err = his_refused(&his, &steps::cancel_discharge(&visit, &mdtrt_id)).await;
    assert!(err.contains(&setl_id(&again)), "{err}");
    assert_eq!(accumulator(&h, "C0000").await, 100);
    h.assert_verifies().await;
}

#[tokio::test]
async fn settle_again_sqlite() {
    settle_again(Backend::Sqlite).await;
}

#[tokio::test]
async fn settle_again_postgres() {
    settle_again(Backend::Postgres).await;
}
