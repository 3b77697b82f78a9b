//! Fee lines over real HTTP, on SQLite and on PostgreSQL: settlements (2207, 2304) settle from the
//! split stored at upload (2204, 2301) — not from the line's JSON, which may be destroyed — and split
//! again only when what the split depended on changed; uploads, cancellations (2205, 2302),
//! re-uploads, settlements, their cancellations and refunds are all kept as events, and `verify`
//! checks the fee-line history against the lines the settlements consumed.

use crate::common;

use common::{bed_days, line, setl_id, yuan, Backend, Harness, AMOUNT_COLUMNS, BED};
use serde_json::{json, Value};
use sqlx::Row;
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";
/// 阿莫西林胶囊: 甲类, no price cap.
const AMOXICILLIN: &str = "XJ01CAA040A001010101791";
/// 注射用头孢曲松钠: 乙类, 先行自付 10 %.
const CEFTRIAXONE: &str = "XJ01DDA063B002010100445";
/// The bed's catalogue row, and the same with a cap of 30.00.
const BED_ROW: &str = "001201000010000,普通病房床位费,201,01,01,0,40.00,";
const BED_ROW_CAPPED_LOWER: &str = "001201000010000,普通病房床位费,201,01,01,0,30.00,";

/// Calls a transaction under a given msgid; it must succeed. Returns `output`.
async fn ok_with(h: &Harness, infno: &str, msgid: &str, input: Value) -> Value {
    let (_, reply) = h.call_with(infno, HOSPITAL, msgid, input).await;
    assert_eq!(reply["infcode"], 0, "{infno} failed: {reply}");
    reply["output"].clone()
}

/// An outpatient visit of P0002 (workers' scheme, account 3,000.00) with its details uploaded.
async fn outpatient_visit(h: &Harness, msgid: &str) -> String {
    let out = ok_with(h, "2201", &format!("{msgid}R"), json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } })).await;
    let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
    ok_with(h, "2203", &format!("{msgid}I"), json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "med_type": "11", "begntime": "2026-03-01 09:00:00", "dise_codg": "J06.900" } })).await;
    mdtrt_id
}

/// A 2206/2207 of P0002's visit with the given `data` fields besides the visit's.
fn settle_input(mdtrt_id: &str, declared: Value) -> Value {
    let mut data = json!({ "psn_no": "P0002", "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "1" });
    for (key, value) in declared.as_object().unwrap() {
        data[key] = value.clone();
    }
    json!({ "data": data })
}

fn amounts(output: &Value) -> Vec<(&'static str, String)> {
    AMOUNT_COLUMNS
        .iter()
        .map(|c| (*c, yuan(&output["setlinfo"][c])))
        .collect()
}

/// The 5204 rows of a visit.
async fn fee_details(h: &Harness, msgid: &str, mdtrt_id: &str) -> Vec<Value> {
    let out = ok_with(
        h,
        "5204",
        msgid,
        json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "P0002" } }),
    )
    .await;
    out["feedetail"].as_array().unwrap().clone()
}

/// `yibao_fee_line_resplits_total` of the server's metrics.
async fn resplits(h: &Harness) -> u64 {
    let text = h.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix("yibao_fee_line_resplits_total "))
        .unwrap_or_else(|| panic!("no resplit counter in {text}"))
        .parse()
        .unwrap()
}

/// 2207 after a restart settles from the stored split although the stored JSON of every line was
/// destroyed (the restarted writer has nothing cached: it reads the lines from the database), and
/// equals the 2206 made before; 5204 shows the lines as before. A line stored before splits were
/// kept (migration 0006) is split at settlement. A catalogue reload that changes a line's split
/// makes the next settlement split the lines again: a declared total taken from the old split is
/// refused naming the change, and the settlement follows the new catalogue.
async fn settles_from_stored_split(backend: Backend) {
    let (database, dir) = common::fresh_database(backend, "split").await;
    // The database's directory goes with the second server, which outlives the first.
    let (_, first_scratch) = common::fresh_database(Backend::Sqlite, "splitfirst").await;
    let first = Harness::start_with(Config {
        database: database.clone(),
        data_dir: first_scratch,
        ..Config::default()
    })
    .await;
    first.load_fixtures().await;
    let visit = outpatient_visit(&first, "A1").await;
    let split = ok_with(
        &first,
        "2204",
        "A1U",
        json!({ "feedetail": [
        line("1", &visit, AMOXICILLIN, "10", "10.00", "100.00"),
        line("2", &visit, CEFTRIAXONE, "2", "50.00", "100.00"),
    ] }),
    )
    .await;
    assert_eq!(yuan(&split["result"][1]["preselfpay_amt"]), "10.00");
    let declared = json!({ "medfee_sumamt": "200.00", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00", "preselfpay_amt": "10.00", "inscp_scp_amt": "190.00" });
    let pre = ok_with(
        &first,
        "2206",
        "A1P",
        settle_input(&visit, declared.clone()),
    )
    .await;
    let before = fee_details(&first, "A1Q", &visit).await;
    let mut conn = first.store.pool().acquire().await.unwrap();
    let destroyed = sqlx::query("UPDATE fee_lines SET line = 'not JSON' WHERE mdtrt_id = $1")
        .bind(visit.clone())
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(destroyed.rows_affected(), 2);
    // A line as migration 0006 leaves one stored before: no upload event, no stored split.
    let legacy = outpatient_visit(&first, "A2").await;
    let legacy_line = line("1", &legacy, AMOXICILLIN, "10", "10.00", "100.00");
    sqlx::query(
        "INSERT INTO fee_lines (mdtrt_id, upload_seq, event_seq, feedetl_sn, chrg_bchno, \
         init_feedetl_sn, det_item_fee_sumamt, line, result) VALUES ($1, 1, 0, '1', 'B1', '', 10000, $2, '{}')",
    )
    .bind(legacy.clone())
    .bind(legacy_line.to_string())
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    first.stop().await;

    let h = Harness::start_with(Config {
        database,
        data_dir: dir,
        ..Config::default()
    })
    .await;
    let settled = ok_with(&h, "2207", "B1S", settle_input(&visit, declared)).await;
    assert_eq!(amounts(&settled), amounts(&pre));
    assert_eq!(resplits(&h).await, 0);
    let settled_id = setl_id(&settled);
    let after = fee_details(&h, "B1Q", &visit).await;
    assert_eq!(after.len(), before.len());
    for (mut row, was) in after.into_iter().zip(before) {
        assert_eq!(row["setl_id"], settled_id.as_str());
        row["setl_id"] = was["setl_id"].clone();
        assert_eq!(row, was);
    }
    h.assert_verifies().await;

    // The line stored before splits were kept is split at settlement, from its stored JSON.
    let medfee = json!({ "medfee_sumamt": "100.00", "inscp_scp_amt": "100.00" });
    ok_with(&h, "2207", "B3S", settle_input(&legacy, medfee)).await;
    assert_eq!(resplits(&h).await, 1);
    let rows = fee_details(&h, "B3Q", &legacy).await;
    assert_eq!(rows[0]["med_list_codg"], AMOXICILLIN);
    h.assert_verifies().await;

    // Bed-days split under a cap of 40.00; a catalogue in force for the visit now caps them at 30.00.
    let beds = outpatient_visit(&h, "B2").await;
    let split = ok_with(
        &h,
        "2204",
        "B2U",
        json!({ "feedetail": [line("1", &beds, BED, "2", "40.00", "80.00")] }),
    )
    .await;
    assert_eq!(yuan(&split["result"][0]["overlmt_amt"]), "0.00");
    let catalog =
        std::fs::read_to_string(common::repo_root().join("catalogs/jiujiang-sample.csv")).unwrap();
    assert!(catalog.contains(BED_ROW));
    let lower = catalog.replace(BED_ROW, BED_ROW_CAPPED_LOWER);
    // Effective from before the visit began, so it is the version in force for it.
    h.admin("PUT", "/admin/catalog/360400?begndate=2026-01-01", lower)
        .await;
    let stale =
        json!({ "medfee_sumamt": "80.00", "overlmt_selfpay": "0.00", "inscp_scp_amt": "80.00" });
    let (_, refused) = h
        .call_with("2207", HOSPITAL, "B2S", settle_input(&beds, stale))
        .await;
    let err = refused["err_msg"].as_str().unwrap();
    assert!(
        err.starts_with("参数 input.data.overlmt_selfpay 有误：")
            && err.contains("结算时费用明细已重新分割"),
        "{err}"
    );
    let settled = ok_with(
        &h,
        "2207",
        "B2T",
        settle_input(&beds, json!({ "medfee_sumamt": "80.00" })),
    )
    .await;
    assert_eq!(yuan(&settled["setlinfo"]["overlmt_selfpay"]), "20.00");
    assert_eq!(resplits(&h).await, 3);
    h.assert_verifies().await;
    h.stop().await;
}

#[tokio::test]
async fn settles_from_stored_split_sqlite() {
    settles_from_stored_split(Backend::Sqlite).await;
}

#[tokio::test]
async fn settles_from_stored_split_postgres() {
    settles_from_stored_split(Backend::Postgres).await;
}

/// `(feedetl_sn, det_item_fee_sumamt, upload_seq, event_seq)` of every stored line of a visit.
async fn stored_lines(h: &Harness, mdtrt_id: &str) -> Vec<(String, i64, i64, i64)> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    sqlx::query(
        "SELECT feedetl_sn, det_item_fee_sumamt, upload_seq, event_seq FROM fee_lines \
         WHERE mdtrt_id = $1 ORDER BY upload_seq",
    )
    .bind(mdtrt_id.to_string())
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("feedetl_sn"),
            r.get("det_item_fee_sumamt"),
            r.get("upload_seq"),
            r.get("event_seq"),
        )
    })
    .collect()
}

/// `(kind, infno, msgid)` of every fee-line event of a visit, in ledger order.
async fn events(h: &Harness, mdtrt_id: &str) -> Vec<(String, String, String)> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    sqlx::query(
        "SELECT kind, infno, msgid FROM fee_line_events WHERE mdtrt_id = $1 ORDER BY event_seq",
    )
    .bind(mdtrt_id.to_string())
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("kind"), r.get("infno"), r.get("msgid")))
    .collect()
}

/// `upload_seq` of every cancelled line of a visit.
async fn cancelled(h: &Harness, mdtrt_id: &str) -> Vec<i64> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    sqlx::query("SELECT upload_seq FROM fee_line_cancels WHERE mdtrt_id = $1 ORDER BY upload_seq")
        .bind(mdtrt_id.to_string())
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("upload_seq"))
        .collect()
}

/// `(setl_id, kind, [(feedetl_sn, amount)])` of every ledger entry of a visit, in ledger order.
async fn entries(h: &Harness, mdtrt_id: &str) -> Vec<(String, String, Vec<(String, i64)>)> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    let headers =
        sqlx::query("SELECT setl_id, kind FROM settlements WHERE mdtrt_id = $1 ORDER BY seq")
            .bind(mdtrt_id.to_string())
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let mut out = Vec::new();
    for header in headers {
        let setl_id: String = header.get("setl_id");
        let lines = sqlx::query(
            "SELECT feedetl_sn, det_item_fee_sumamt FROM settlement_lines WHERE setl_id = $1 \
             ORDER BY feedetl_sn",
        )
        .bind(setl_id.clone())
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("feedetl_sn"), r.get("det_item_fee_sumamt")))
        .collect();
        out.push((setl_id, header.get("kind"), lines));
    }
    out
}

fn event(kind: &str, infno: &str, msgid: &str) -> (String, String, String) {
    (kind.into(), infno.into(), msgid.into())
}

fn lines_of(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs
        .iter()
        .map(|(sn, fen)| (sn.to_string(), *fen))
        .collect()
}

/// 2204, 2205 of the whole charge batch, the same `feedetl_sn`s uploaded again, 2207, 2208, 2207
/// again: every upload, cancellation and settlement is still stored, the second settlement consumed
/// the re-uploaded lines, and `verify` passes — and finds a line cancelled under a live settlement.
async fn history_is_kept(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "feehist").await;
    let visit = outpatient_visit(&h, "H1").await;
    let batch = |amoxicillin: &str, amount: &str| {
        json!({ "feedetail": [
            line("1", &visit, AMOXICILLIN, amoxicillin, "10.00", amount),
            line("2", &visit, CEFTRIAXONE, "1", "50.00", "50.00"),
        ] })
    };
    ok_with(&h, "2204", "H1U1", batch("1", "10.00")).await;
    let err = h.fails("2204", HOSPITAL, batch("1", "10.00")).await;
    assert!(
        err.starts_with("参数 input.feedetail[0].feedetl_sn 有误：") && err.contains("1 已在就诊"),
        "{err}"
    );
    ok_with(
        &h,
        "2205",
        "H1C1",
        json!({ "data": { "mdtrt_id": visit, "psn_no": "P0002", "chrg_bchno": "B1" } }),
    )
    .await;
    ok_with(&h, "2204", "H1U2", batch("2", "20.00")).await;
    let declared = json!({ "medfee_sumamt": "70.00" });
    let first = ok_with(&h, "2207", "H1S1", settle_input(&visit, declared.clone())).await;
    let first_id = setl_id(&first);
    let undone = ok_with(
        &h,
        "2208",
        "H1X1",
        json!({ "data": { "setl_id": first_id, "mdtrt_id": visit, "psn_no": "P0002" } }),
    )
    .await;
    let undone_id = setl_id(&undone);
    let again = ok_with(&h, "2207", "H1S2", settle_input(&visit, declared)).await;
    let again_id = setl_id(&again);
    assert_eq!(amounts(&again), amounts(&first));

    let stored = stored_lines(&h, &visit).await;
    let summary: Vec<(&str, i64)> = stored.iter().map(|l| (l.0.as_str(), l.1)).collect();
    assert_eq!(
        summary,
        [("1", 1_000), ("2", 5_000), ("1", 2_000), ("2", 5_000)]
    );
    assert_eq!(
        events(&h, &visit).await,
        [
            event("upload", "2204", "H1U1"),
            event("cancel", "2205", "H1C1"),
            event("upload", "2204", "H1U2"),
        ]
    );
    assert_eq!(cancelled(&h, &visit).await, [stored[0].2, stored[1].2]);
    let consumed = lines_of(&[("1", 2_000), ("2", 5_000)]);
    let released = lines_of(&[("1", -2_000), ("2", -5_000)]);
    assert_eq!(
        entries(&h, &visit).await,
        [
            (first_id, "settle".to_string(), consumed.clone()),
            (undone_id, "cancel".to_string(), released),
            (again_id.clone(), "settle".to_string(), consumed),
        ]
    );
    let details = fee_details(&h, "H1Q", &visit).await;
    assert_eq!(details.len(), 2);
    assert!(details
        .iter()
        .all(|row| row["setl_id"] == again_id.as_str()));
    assert_eq!(yuan(&details[0]["det_item_fee_sumamt"]), "20.00");
    h.assert_verifies().await;

    // A cancellation of a line the live settlement consumed, written behind the service's back.
    let mut conn = h.store.pool().acquire().await.unwrap();
    sqlx::query("INSERT INTO fee_line_events (event_seq, mdtrt_id, kind, infno, msgid, event_time, split_basis) VALUES (999999, $1, 'cancel', '2205', 'FORGED', '2026-03-01 12:00:00', '')")
        .bind(visit.clone())
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO fee_line_cancels (mdtrt_id, upload_seq, event_seq) VALUES ($1, $2, 999999)",
    )
    .bind(visit.clone())
    .bind(stored[2].2)
    .execute(&mut *conn)
    .await
    .unwrap();
    let report = h.verify().await;
    let problems = report["problems"].to_string();
    assert!(
        report["ok"] == false && problems.contains("while the settlement was live"),
        "{report}"
    );
}

#[tokio::test]
async fn history_is_kept_sqlite() {
    history_is_kept(Backend::Sqlite).await;
}

#[tokio::test]
async fn history_is_kept_postgres() {
    history_is_kept(Backend::Postgres).await;
}

/// A 2304 of P0001's admission declaring `medfee`.
fn inpatient_settlement(mdtrt_id: &str, medfee: &str, interim: bool) -> Value {
    let flag = if interim { "1" } else { "0" };
    json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": medfee, "mid_setl_flag": flag, "insutype": "390", "acct_used_flag": "0", "dscgTime": "2026-02-10 10:00:00" } })
}

/// Refunds after settlement keep history: an interim settlement, a refund line, the final
/// settlement, its cancellation, the refund line cancelled and uploaded again (smaller), the final
/// settlement again. Every line, cancellation and settlement stays stored; the live settlements
/// consumed the original line and the second refund.
async fn refunds_keep_history(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "feerefund").await;
    let admitted = ok_with(&h, "2401", "R1A", json!({ "mdtrtinfo": { "psn_no": "P0001", "insutype": "390", "mdtrt_cert_type": "02", "med_type": "21", "begntime": "2026-02-01 08:00:00", "dise_codg": "K80.100" } })).await;
    let stay = admitted["result"]["mdtrt_id"].as_str().unwrap().to_string();
    ok_with(
        &h,
        "2301",
        "R1U1",
        json!({ "feedetail": [bed_days("1", &stay, 5, None)] }),
    )
    .await;
    let interim = ok_with(
        &h,
        "2304",
        "R1S1",
        inpatient_settlement(&stay, "200.00", true),
    )
    .await;
    let refund = json!({ "feedetail": [bed_days("2", &stay, -2, Some("1"))] });
    ok_with(&h, "2301", "R1U2", refund).await;
    let last = ok_with(
        &h,
        "2304",
        "R1S2",
        inpatient_settlement(&stay, "-80.00", false),
    )
    .await;
    let last_id = setl_id(&last);
    ok_with(
        &h,
        "2305",
        "R1X2",
        json!({ "data": { "setl_id": last_id, "mdtrt_id": stay, "psn_no": "P0001" } }),
    )
    .await;
    ok_with(
        &h,
        "2302",
        "R1C2",
        json!({ "data": { "mdtrt_id": stay, "psn_no": "P0001", "feedetl_sn": "2" } }),
    )
    .await;
    let smaller = json!({ "feedetail": [bed_days("2", &stay, -1, Some("1"))] });
    ok_with(&h, "2301", "R1U3", smaller).await;
    let closing = ok_with(
        &h,
        "2304",
        "R1S3",
        inpatient_settlement(&stay, "-40.00", false),
    )
    .await;

    let stored = stored_lines(&h, &stay).await;
    let summary: Vec<(&str, i64)> = stored.iter().map(|l| (l.0.as_str(), l.1)).collect();
    assert_eq!(summary, [("1", 20_000), ("2", -8_000), ("2", -4_000)]);
    assert_eq!(
        events(&h, &stay).await,
        [
            event("upload", "2301", "R1U1"),
            event("upload", "2301", "R1U2"),
            event("cancel", "2302", "R1C2"),
            event("upload", "2301", "R1U3"),
        ]
    );
    assert_eq!(cancelled(&h, &stay).await, [stored[1].2]);
    let kinds: Vec<(String, Vec<(String, i64)>)> = entries(&h, &stay)
        .await
        .into_iter()
        .map(|(_, kind, lines)| (kind, lines))
        .collect();
    assert_eq!(
        kinds,
        [
            ("settle".to_string(), lines_of(&[("1", 20_000)])),
            ("settle".to_string(), lines_of(&[("2", -8_000)])),
            ("cancel".to_string(), lines_of(&[("2", 8_000)])),
            ("settle".to_string(), lines_of(&[("2", -4_000)])),
        ]
    );
    let details = ok_with(
        &h,
        "5204",
        "R1Q",
        json!({ "data": { "mdtrt_id": stay, "psn_no": "P0001" } }),
    )
    .await;
    let rows: Vec<(String, String, String)> = details["feedetail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["feedetl_sn"].as_str().unwrap().to_string(),
                r["setl_id"].as_str().unwrap().to_string(),
                yuan(&r["det_item_fee_sumamt"]),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("1".to_string(), setl_id(&interim), "200.00".to_string()),
            ("2".to_string(), setl_id(&closing), "-40.00".to_string()),
        ]
    );
    h.assert_verifies().await;
}

#[tokio::test]
async fn refunds_keep_history_sqlite() {
    refunds_keep_history(Backend::Sqlite).await;
}

#[tokio::test]
async fn refunds_keep_history_postgres() {
    refunds_keep_history(Backend::Postgres).await;
}
