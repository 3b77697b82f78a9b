//! Monthly cross-region clearing over real settlements, on SQLite and PostgreSQL: 九江-insured
//! persons treated in 南昌 on one platform (and one at home) settle over HTTP; the month's clearing
//! has one row 360400→360100 per scheme whose fund payments owed are the sum of the remote
//! settlements' `fund_pay_sumamt` less the one cancelled, to the fen; a repeated run stores nothing
//! twice; the states advance only as the machine allows; `verify` holds.
//!
//! Before the run the 南昌 hospital lists its inbound rows (3260), confirms them in batches (3261),
//! rolls a batch back (3262); a settlement it did not confirm is not cleared. Once the month is
//! cleared nothing of it changes: a late 3261 may only confirm the row left out, which enters the
//! next month's cycle, and cannot be rolled back once that cycle is cleared.
//!
//! The books follow the money: the row's postings carry the audit deduction next to the payments
//! owed, the move to 60 paid posts the transfer once, the next month's prepayment is paid in, and
//! a confirmed supervision case on the remote stay becomes a deduction of the pair's next clearing.

use crate::common;

use chrono::NaiveDate;
use common::{repo_root, Backend, Harness};
use serde_json::{json, Value};
use yibao_audit::case::{CaseAction, ConfirmType};
use yibao_clearing::{ClearingPolicy, ClearingState, Month};
use yibao_domain::Fen;
use yibao_his::{medfee_sumamt, steps, Visit};
use yibao_ledger::audit_cases::{self, Confirmation, Step};
use yibao_ledger::audit_claims::{replace_findings, StoredFinding};
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
        let unconfirmed = settle(&h, &stay(NANCHANG, 14, 2)).await;
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
        let confirmed_ids: Vec<&str> = remote
            .iter()
            .map(|s| s["setl_id"].as_str().unwrap())
            .collect();
        confirm_rows(&h, month, &confirmed_ids, &unconfirmed).await;

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

        // Both regions are this platform's: 九江's books owe, 南昌's are owed and owe the hospital,
        // each less the audit deduction.
        let audit = Fen(12_345);
        let books = vec![
            ("clearing_payable", owed),
            ("clearing_payable_audit", audit),
            ("clearing_receivable", owed),
            ("clearing_receivable_audit", audit),
            ("clearing_owed_to_hospitals", owed),
        ];
        assert_eq!(clearing_postings(&h).await, books);

        // Run again: the same rows, nothing stored twice.
        let again = run_month(&h.store, &policy, month, as_of, "t2")
            .await
            .unwrap();
        assert!(!again.stored_now);
        assert_eq!(again.rows, run.rows);
        assert_eq!(clearing_postings(&h).await, books);
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

        assert_report(&h, month, &remote, &unconfirmed).await;

        // The month is cleared: its confirmations are frozen.
        let frozen = h
            .fails(
                "3261",
                NANCHANG,
                confirm_input(month, &[(confirmed_ids[0], "0")]),
            )
            .await;
        assert!(frozen.contains("已清算"), "{frozen}");

        pay_once(&h, &id, &books, row.cleared).await;
        late_row_enters_the_next_cycle(&h, &policy, month, &unconfirmed, &run.rows[0]).await;
        remote_case_is_deducted_next(&h, month, &remote[0], key).await;

        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");

        // verify re-derives the postings: one taken away is found.
        let mut conn = h.store.pool().acquire().await.unwrap();
        sqlx::query("DELETE FROM book_postings WHERE flow = 'clearing_receivable'")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        let report = h.verify().await;
        assert_eq!(report["ok"], false, "{report}");
        assert!(report.to_string().contains("clearing:"), "{report}");
        h.stop().await;
    }
}

/// The move to 60 posts the transfer (the row's `cleared`, all on one fund here) once: 九江 settles
/// its payable, 南昌 collects and pays its hospital; a second move is refused and posts nothing.
async fn pay_once(h: &Harness, id: &str, stored: &[(&'static str, Fen)], cleared: Fen) {
    clearing::advance(
        &h.store,
        id,
        ClearingState::Paid,
        "x",
        "2027-01-05 10:00:00",
    )
    .await
    .unwrap();
    let mut books = stored.to_vec();
    books.extend([
        ("clearing_payable_settled", cleared),
        ("clearing_receivable_collected", cleared),
        ("clearing_paid_to_hospitals", cleared),
    ]);
    let order = |flow: &str| {
        yibao_ledger::clearing_books::FLOW_NAMES
            .iter()
            .position(|f| *f == flow)
    };
    books.sort_by_key(|(flow, _)| order(flow));
    assert_eq!(clearing_postings(h).await, books);
    let again = clearing::advance(
        &h.store,
        id,
        ClearingState::Paid,
        "x",
        "2027-01-06 10:00:00",
    )
    .await;
    assert!(again.is_err(), "{again:?}");
    assert_eq!(clearing_postings(h).await, books);
}

/// After the month is cleared the row left unconfirmed is confirmed late: the month's stored row
/// does not change, the next month's clearing counts it as a late entry, and once that month is
/// cleared the late batch cannot be rolled back.
async fn late_row_enters_the_next_cycle(
    h: &Harness,
    policy: &ClearingPolicy,
    month: Month,
    unconfirmed: &Value,
    stored: &clearing::StoredClearing,
) {
    let setl_id = unconfirmed["setl_id"].as_str().unwrap();
    let msgid = h.msgid(NANCHANG);
    let (_, late) = h
        .call_with(
            "3261",
            NANCHANG,
            &msgid,
            confirm_input(month, &[(setl_id, "1")]),
        )
        .await;
    assert_eq!(late["output"]["cnfm_cnt"], 1, "{late}");
    let twice = h
        .fails("3261", NANCHANG, confirm_input(month, &[(setl_id, "1")]))
        .await;
    assert!(twice.contains("已确认"), "{twice}");
    let listed = h
        .ok("3260", NANCHANG, json!({ "data": month_input(month) }))
        .await;
    let row = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["setl_sn"] == setl_id)
        .unwrap();
    assert_eq!(row["cnfm_flag"], "1", "{listed}");

    let next = month.next();
    let over =
        |m: Month| NaiveDate::from_ymd_opt(m.next().year, u32::from(m.next().month), 1).unwrap();
    let again = run_month(&h.store, policy, month, over(month), "t6")
        .await
        .unwrap();
    assert!(!again.stored_now);
    assert_eq!(
        again.rows[0].row, stored.row,
        "the cleared month does not change"
    );
    let run = run_month(&h.store, policy, next, over(next), "t6")
        .await
        .unwrap();
    assert_eq!(run.rows.len(), 1, "{:?}", run.rows);
    let r = &run.rows[0].row;
    let fund = fen(&unconfirmed["fund_pay_sumamt"]);
    assert_eq!(
        (r.settlements, r.late_entries, r.late_fund, r.fund_owed),
        (0, 1, fund, fund)
    );
    assert_eq!(r.prepayment.top_up, r.prepayment.size);
    assert!(r.prepayment.top_up > Fen(0), "{r:?}");
    let postings = clearing_postings(h).await;
    for flow in [
        "clearing_prepayment_paid_in",
        "clearing_prepayment_received",
    ] {
        assert!(
            postings.contains(&(flow, r.prepayment.top_up)),
            "{flow}: {postings:?}"
        );
    }
    let rollback = h
        .fails(
            "3262",
            NANCHANG,
            json!({ "data": { "trt_year": month.year, "trt_month": month.month, "otransid": msgid } }),
        )
        .await;
    assert!(rollback.contains("已清算"), "{rollback}");
}

/// A case confirmed on the remote stay becomes an audit deduction (10) of the pair's next clearing.
async fn remote_case_is_deducted_next(
    h: &Harness,
    month: Month,
    remote: &Value,
    key: yibao_clearing::PairKey,
) {
    let finding = StoredFinding {
        kind: "rule".into(),
        id: "R01".into(),
        psn_nos: vec!["P0001".into()],
        fixmedins_codes: vec![NANCHANG.into()],
        mdtrt_ids: vec![remote["mdtrt_id"].as_str().unwrap().to_string()],
        amount: Fen(5_000),
        score: 100,
        reason: "重复收费".into(),
    };
    let finding_month = month.to_string();
    let mut conn = h.store.pool().acquire().await.unwrap();
    replace_findings(&mut conn, &finding_month, &[finding], "2027-02-03 09:00:00")
        .await
        .unwrap();
    drop(conn);
    let step = Step {
        actor: "王科长".into(),
        note: String::new(),
        evidence: String::new(),
        at: "2027-02-03 10:00:00".into(),
    };
    let case = audit_cases::open(&h.store, &finding_month, 1, None, &step)
        .await
        .unwrap();
    audit_cases::act(
        &h.store,
        &case.case_id,
        CaseAction::Assign,
        Some("李"),
        &step,
    )
    .await
    .unwrap();
    audit_cases::act(&h.store, &case.case_id, CaseAction::Review, None, &step)
        .await
        .unwrap();
    let confirmation = Confirmation {
        confirm_type: ConfirmType::AuditDeduction,
        amount: Fen(4_500),
        insutype: key.insutype,
        year: 2027,
        month: 2,
        fund: None,
        practitioner_points: 0,
    };
    audit_cases::confirm(&h.store, &case.case_id, &confirmation, &step)
        .await
        .unwrap();
    let mut conn = h.store.pool().acquire().await.unwrap();
    let deductions = clearing::month_deductions(&mut conn, month.next().next())
        .await
        .unwrap();
    assert_eq!(
        deductions.get(&key).map(|d| (d.audit, d.inspection)),
        Some((Fen(4_500), Fen(0)))
    );
}

/// `/admin/reports/cross-region` of the month: 九江's outbound inpatient line to 南昌 and 南昌's
/// inbound line from 九江 count every settlement less the cancellation (confirmed or not: the
/// report is of care), with their cost and fund payments to the fen; care at home is not in it.
async fn assert_report(h: &Harness, month: Month, remote: &[Value], unconfirmed: &Value) {
    let path = format!(
        "/admin/reports/cross-region?year={}&month={}",
        month.year, month.month
    );
    let report = h.admin("GET", &path, String::new()).await;
    let lines = report["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{report}");
    let kept = [&remote[0], &remote[1], unconfirmed];
    let total = |field: &str| kept.iter().map(|s| fen(&s[field])).sum::<Fen>();
    for (line, region, direction, partner) in [
        (&lines[0], "360100", "inbound", "360400"),
        (&lines[1], "360400", "outbound", "360100"),
    ] {
        assert_eq!(
            (
                &line["region"],
                &line["direction"],
                &line["partner"],
                &line["care"],
                &line["insutype"]
            ),
            (
                &json!(region),
                &json!(direction),
                &json!(partner),
                &json!("inpatient"),
                &json!("390")
            ),
            "{line}"
        );
        assert_eq!(line["count"], 3);
        assert_eq!(fen(&line["total_cost"]), total("medfee_sumamt"));
        assert_eq!(fen(&line["fund_paid"]), total("fund_pay_sumamt"));
        let average = fen(&line["average_cost"]);
        assert_eq!(average, Fen((total("medfee_sumamt").0 * 2 + 3) / 6));
    }
    let year = h
        .admin(
            "GET",
            &format!("/admin/reports/cross-region?year={}", month.year),
            String::new(),
        )
        .await;
    assert_eq!(year["lines"], report["lines"]);
}

/// The book postings of the clearing flows, summed per flow (in flow-name order).
async fn clearing_postings(h: &Harness) -> Vec<(&'static str, Fen)> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    let rows = yibao_ledger::books::postings_until(&mut conn, "9999-12-31")
        .await
        .unwrap();
    yibao_ledger::clearing_books::FLOW_NAMES
        .iter()
        .map(|flow| {
            let sum = rows
                .iter()
                .filter(|r| r.flow == *flow)
                .map(|r| r.amount)
                .sum();
            (*flow, sum)
        })
        .filter(|(_, sum)| *sum != Fen(0))
        .collect()
}

fn month_input(month: Month) -> Value {
    json!({ "trt_year": month.year.to_string(), "trt_month": month.month.to_string() })
}

fn confirm_input(month: Month, rows: &[(&str, &str)]) -> Value {
    let mut data = month_input(month);
    data["detail"] = rows
        .iter()
        .map(|(setl_sn, flag)| json!({ "setl_sn": setl_sn, "cnfm_flag": flag }))
        .collect();
    json!({ "data": data })
}

/// 3260 lists the four 南昌 settlements of 九江's insured (not the one at home), paged; 3261
/// confirms three of them, a second batch excludes one, 3262 rolls that batch back; one settlement
/// stays unconfirmed.
async fn confirm_rows(h: &Harness, month: Month, confirmed: &[&str], unconfirmed: &Value) {
    let mut data = month_input(month);
    let listed = h
        .ok("3260", NANCHANG, json!({ "data": data.clone() }))
        .await;
    assert_eq!(listed["recordCounts"], 4, "{listed}");
    let rows = listed["data"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["setl_sn"] == unconfirmed["setl_id"])
        .unwrap();
    assert_eq!(row["optins_pay_sumamt"], unconfirmed["fund_pay_sumamt"]);
    assert_eq!(row["medfee_sumamt"], unconfirmed["medfee_sumamt"]);
    assert_eq!(
        (row["insuplc_admdvs"].as_str(), row["cnfm_flag"].as_str()),
        (Some("360400"), Some(""))
    );
    data["startrow"] = json!("4");
    let page = h.ok("3260", NANCHANG, json!({ "data": data })).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1, "{page}");
    let home = h
        .ok("3260", JIUJIANG, json!({ "data": month_input(month) }))
        .await;
    assert_eq!(
        home["recordCounts"], 0,
        "care at home is not cross-region: {home}"
    );

    let all: Vec<(&str, &str)> = confirmed.iter().map(|id| (*id, "1")).collect();
    let batch = h.ok("3261", NANCHANG, confirm_input(month, &all)).await;
    assert_eq!(
        (batch["cnfm_cnt"].as_u64(), batch["uncnfm_cnt"].as_u64()),
        (Some(3), Some(0))
    );
    let msgid = h.msgid(NANCHANG);
    let (_, excluded) = h
        .call_with(
            "3261",
            NANCHANG,
            &msgid,
            confirm_input(month, &[(confirmed[1], "0")]),
        )
        .await;
    assert_eq!(excluded["output"]["otransid"], msgid.as_str(), "{excluded}");
    let listed = h
        .ok("3260", NANCHANG, json!({ "data": month_input(month) }))
        .await;
    let flag_of = |id: &str| {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["setl_sn"] == id)
            .unwrap()["cnfm_flag"]
            .clone()
    };
    assert_eq!(
        (flag_of(confirmed[0]), flag_of(confirmed[1])),
        (json!("1"), json!("0"))
    );
    h.ok(
        "3262",
        NANCHANG,
        json!({ "data": { "trt_year": month.year, "trt_month": month.month, "otransid": msgid } }),
    )
    .await;
    let again = h
        .fails(
            "3262",
            NANCHANG,
            json!({ "data": { "trt_year": month.year, "trt_month": month.month, "otransid": msgid } }),
        )
        .await;
    assert!(again.contains("已回退"), "{again}");

    // Refused: a row of another institution, a flag that is neither 0 nor 1, a row twice.
    let home_id = "00000000";
    for (input, field) in [
        (confirm_input(month, &[(home_id, "1")]), "detail[0].setl_sn"),
        (
            confirm_input(month, &[(confirmed[0], "2")]),
            "detail[0].cnfm_flag",
        ),
        (
            confirm_input(month, &[(confirmed[0], "1"), (confirmed[0], "1")]),
            "detail[1].setl_sn",
        ),
    ] {
        let refused = h.fails("3261", NANCHANG, input).await;
        assert!(refused.contains(field), "{refused}");
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
