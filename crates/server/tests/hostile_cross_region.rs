//! Hostile input on the cross-region surface (issue 11) seen in a sweep (2026-12-08), each as a
//! regression test over real HTTP: a filing dated beyond what the register can store, the month of
//! 3260/3261/3262, a one-row array at 2502, a `mid_setl_flag` neither 0 nor 1, the admin API's bodies
//! and query strings, a damaged register row at the reimbursement counter, the texts and
//! transaction codes of a peer's calls, and a cross-platform cancellation naming another person.

use crate::common;

use common::{
    fresh_database, jiujiang_rules_at, line, repo_root, scratch_dir, setl_id, Backend, Harness,
    DRUG,
};
use serde_json::{json, Value};
use yibao_server::config::{AuthMode, Config, PeerConfig};

const HOSPITAL: &str = "H36040200001";

/// The refusal text of an admin answer.
fn refusal(answer: &Value) -> &str {
    answer["error"].as_str().unwrap_or_default()
}

fn referral(begndate: &str) -> Value {
    json!({ "refmedin": { "psn_no": "P0001", "insutype": "390", "mdtrtarea_admdvs": "360100",
        "refl_type": "2", "begndate": begndate, "dise_codg": "I21.000" } })
}

fn counter_filing(psn_no: &str, begndate: &str) -> Value {
    json!({ "psn_no": psn_no, "fil_type": "06", "mdtrtarea_admdvs": "440000",
        "begndate": begndate, "operator": "柜员01" })
}

/// A temporary filing starting 9999-12-31 would end in year 10000, which the register cannot read
/// back: it was stored, then broke every later read of the person's filings (their settlements,
/// reimbursements and the list). It is refused, at 2501 and at the counter, and nothing is stored.
async fn far_future_filings(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "xr_future").await;
    let err = h.fails("2501", HOSPITAL, referral("9999-12-31")).await;
    assert_eq!(
        err,
        "参数 input.refmedin.begndate 有误：9999-12-31 晚于可受理的最晚日期 2099-12-31"
    );
    let body = counter_filing("P0001", "9999-12-31").to_string();
    let (status, answer) = h.admin_answer("POST", "/admin/filings", &body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        refusal(&answer).starts_with("参数 body.begndate 有误："),
        "{answer}"
    );
    let (status, listed) = h.admin_answer("GET", "/admin/filings?all=true", "").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["filings"], json!([]), "{listed}");
    let last = h.ok("2501", HOSPITAL, referral("2099-12-31")).await;
    assert_eq!(last["result"]["enddate"], "2100-06-28", "{last}");
    let (status, listed) = h
        .admin_answer("GET", "/admin/filings?psn_no=P0001", "")
        .await;
    assert_eq!(status, 200, "{listed}");
    h.assert_verifies().await;
}

#[tokio::test]
async fn far_future_filings_sqlite() {
    far_future_filings(Backend::Sqlite).await;
}

#[tokio::test]
async fn far_future_filings_postgres() {
    far_future_filings(Backend::Postgres).await;
}

/// The month of 3260/3261/3262 is named field by field (it was read through a flattened struct,
/// whose errors named only `input.data`).
#[tokio::test]
async fn clearing_month_fields_are_named() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "xr_month").await;
    let err = h
        .fails(
            "3260",
            HOSPITAL,
            json!({ "data": { "trt_year": [2026], "trt_month": "03" } }),
        )
        .await;
    assert_eq!(
        err,
        "参数 input.data.trt_year 有误：应为文本或数值，收到 [2026]"
    );
    let err = h
        .fails("3261", HOSPITAL, json!({ "data": { "trt_year": "2026", "trt_month": {}, "detail": [{ "setl_sn": "1", "cnfm_flag": "1" }] } }))
        .await;
    assert_eq!(
        err,
        "参数 input.data.trt_month 有误：应为文本或数值，收到 {}"
    );
    let err = h
        .fails(
            "3262",
            HOSPITAL,
            json!({ "data": { "trt_month": "03", "otransid": "M1" } }),
        )
        .await;
    assert_eq!(err, "参数 input.data.trt_year 有误：缺少必填字段");
    let err = h
        .fails("3261", HOSPITAL, json!({ "data": { "trt_year": "2026", "trt_month": "03", "detail": [{ "setl_sn": "1", "cnfm_flag": "1" }, 7] } }))
        .await;
    assert_eq!(
        err,
        "参数 input.data.detail[1] 有误：类型不符，应为对象，收到整数 7"
    );
}

/// 2502 takes `input.data` as one object or an array of one row, as 2501 and 2505 do; an array of
/// more rows is refused naming the node.
#[tokio::test]
async fn filing_cancellation_takes_a_one_row_array() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "xr_single").await;
    let filed = h.ok("2501", HOSPITAL, referral("2026-04-03")).await;
    let sn = filed["result"]["trt_dcla_detl_sn"].as_str().unwrap();
    let row = json!({ "psn_no": "P0001", "trt_dcla_detl_sn": sn });
    let err = h
        .fails("2502", HOSPITAL, json!({ "data": [row, row] }))
        .await;
    assert_eq!(err, "参数 input.data 有误：须只有一行");
    h.ok("2502", HOSPITAL, json!({ "data": [row] })).await;
    let err = h.fails("2502", HOSPITAL, json!({ "data": [row] })).await;
    assert_eq!(
        err,
        format!("参数 input.data.trt_dcla_detl_sn 有误：备案 {sn} 已撤销")
    );
}

/// `mid_setl_flag` other than 0 or 1 is refused naming it (any value but 1 settled the admission
/// finally, closing it, when the hospital may have meant an interim settlement); nothing is settled.
#[tokio::test]
async fn an_unknown_interim_flag_is_refused() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "xr_flag").await;
    let admitted = h
        .ok(
            "2401",
            HOSPITAL,
            json!({ "mdtrtinfo": { "psn_no": "P0001", "insutype": "390",
            "mdtrt_cert_type": "02", "med_type": "21", "ipt_no": "IPT1",
            "begntime": "2026-03-01 08:00:00", "dise_codg": "K80.100", "atddr_no": "D1" },
            "diseinfo": [{ "diag_type": "1", "diag_code": "K80.100", "diag_name": "胆囊结石" }] }),
        )
        .await;
    let mdtrt_id = admitted["result"]["mdtrt_id"].as_str().unwrap();
    let fee = line("1", mdtrt_id, DRUG, "100", "20.00", "2000.00");
    h.ok("2301", HOSPITAL, json!({ "feedetail": [fee] })).await;
    let settle = |flag: &str| {
        json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id, "medfee_sumamt": "2000.00",
            "mid_setl_flag": flag, "dscgTime": "2026-03-05 10:00:00" } })
    };
    let err = h.fails("2304", HOSPITAL, settle("Y")).await;
    assert_eq!(
        err,
        "参数 input.data.mid_setl_flag 有误：取值 Y 不是可选值（0 否、1 是）"
    );
    assert_eq!(h.verify().await["entries"], 0);
    let settled = h.ok("2304", HOSPITAL, settle("1")).await;
    assert_eq!(
        settled["setlinfo"]["medfee_sumamt"],
        json!(2000.0),
        "{settled}"
    );
    h.assert_verifies().await;
}

/// The admin API's bodies and query strings are refused naming the field, in Chinese (they were
/// serde's English, `body: missing field …`), and a NUL character never reaches the database
/// (PostgreSQL refused it: a 503 for a clerk's typo).
async fn admin_input_names_the_field(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "xr_admin").await;
    let cases = [
        (
            json!({ "fil_type": "06", "operator": "柜员01" }).to_string(),
            "参数 body.psn_no 有误：缺少必填字段",
        ),
        (
            counter_filing("P0001\u{0}", "2026-07-01").to_string(),
            "参数 body.psn_no 有误：含有 NUL 字符（\\u0000），任何字段都不能含有该字符",
        ),
        (
            counter_filing("P0001", "2025-02-30").to_string(),
            "参数 body.begndate 有误：2025-02-30 不是 yyyy-MM-dd 格式的日期",
        ),
        (
            json!({ "psn_no": "P0001", "fil_type": "06", "mdtrtarea_admdvs": "440000",
                "begndate": "2026-07-01", "operator": 7 })
            .to_string(),
            "参数 body.operator 有误：类型不符，应为文本，收到整数 7",
        ),
        (
            "{".to_string(),
            "参数 body 有误：不是有效的 JSON（第 1 行第 1 列）",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = h.admin_answer("POST", "/admin/filings", &body).await;
        assert_eq!((status, refusal(&answer)), (400, expected), "{body}");
    }
    let queries = [
        ("/admin/filings?limit=abc", "参数 limit 有误：不是整数"),
        (
            "/admin/filings?limit=0",
            "参数 limit 有误：0 不在 1 至 1000 之间",
        ),
        (
            "/admin/filings?all=maybe",
            "参数 all 有误：应为 true 或 false",
        ),
        (
            "/admin/filings?psn_no=P%00",
            "参数 psn_no 有误：含有 NUL 字符（\\u0000），任何字段都不能含有该字符",
        ),
        (
            "/admin/reimbursements?offset=99999999999",
            "参数 offset 有误：超出允许的范围",
        ),
        (
            "/admin/reports/cross-region",
            "参数 year 有误：缺少必填字段（例如 year=2025）",
        ),
        (
            "/admin/reports/cross-region?year=abc",
            "参数 year 有误：abc 不是 1900–9999 之间的年度",
        ),
        (
            "/admin/reports/cross-region?year=2026&month=13",
            "参数 month 有误：13 不是 1–12 之间的月份",
        ),
    ];
    for (path, expected) in queries {
        let (status, answer) = h.admin_answer("GET", path, "").await;
        assert_eq!((status, refusal(&answer)), (400, expected), "{path}");
    }
    let (status, answer) = h
        .admin_answer("POST", "/admin/clearings/C1/advance", r#"{"state":"20"}"#)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        refusal(&answer),
        "参数 body.state 有误：不能有此字段（可有：to、operator）"
    );
    for sn in ["P%00", &"9".repeat(51)] {
        let path = format!("/admin/filings/{sn}/cancel");
        let (status, answer) = h.admin_answer("POST", &path, "").await;
        assert_eq!(
            (status, refusal(&answer)),
            (
                400,
                "参数 trt_dcla_detl_sn 有误：须为 1 至 50 个字符，不含控制字符"
            ),
            "{path}"
        );
    }
    let (_, listed) = h.admin_answer("GET", "/admin/filings?all=true", "").await;
    assert_eq!(listed["filings"], json!([]), "{listed}");
}

#[tokio::test]
async fn admin_input_names_the_field_sqlite() {
    admin_input_names_the_field(Backend::Sqlite).await;
}

#[tokio::test]
async fn admin_input_names_the_field_postgres() {
    admin_input_names_the_field(Backend::Postgres).await;
}

/// A damaged row of the register at the reimbursement counter is the bureau's failure, said in
/// the clerk's words (it was the JSON text of a national reply envelope), and nothing is recorded.
async fn damaged_register_at_the_counter(backend: Backend) {
    let h = Harness::start(backend, AuthMode::None, "xr_counter").await;
    h.ok("2501", HOSPITAL, referral("2026-03-01")).await;
    let mut conn = h.store.pool().acquire().await.unwrap();
    sqlx::query("UPDATE remote_filings SET enddate = 'soon' WHERE psn_no = 'P0001'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let invoice = json!({
        "psn_no": "P0001", "insutype": "390", "medins_admdvs": "440106",
        "medins_name": "广州某三甲医院", "hosp_lv": "1", "med_type": "21",
        "begntime": "2026-03-02 08:00:00", "endtime": "2026-03-09 10:00:00",
        "invono": "INV-1", "operator": "柜员01",
        "lines": [{ "name": "床位费", "cnt": 1, "pric": "40.00", "det_item_fee_sumamt": "40.00" }],
    });
    let (status, answer) = h
        .admin_answer("POST", "/admin/reimbursements", &invoice.to_string())
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(
        refusal(&answer),
        "医保端处理失败：本交易所需的医保端存储记录已损坏（医保端数据异常），未记录任何数据，须由医保经办机构修复"
    );
    let (_, listed) = h.admin_answer("GET", "/admin/reimbursements", "").await;
    assert_eq!(listed["entries"], json!([]), "{listed}");
}

#[tokio::test]
async fn damaged_register_at_the_counter_sqlite() {
    damaged_register_at_the_counter(Backend::Sqlite).await;
}

#[tokio::test]
async fn damaged_register_at_the_counter_postgres() {
    damaged_register_at_the_counter(Backend::Postgres).await;
}

fn treating_peer() -> PeerConfig {
    PeerConfig {
        admdvs_prefix: "44".into(),
        url: "http://127.0.0.1:9".into(),
        access_key: "t-and-i".into(),
        secret: "pair-secret".into(),
    }
}

/// A settle call as the treating platform sends it: one covered 2,000.00 line of P0002.
fn settle_call(peer_key: &str, infno: &str, mdtrt_id: &str) -> Value {
    json!({
        "peer_key": peer_key, "infno": infno, "presettle": false,
        "hospital": { "fixmedins_code": "H44010600001", "fixmedins_name": "广州测试医院",
            "hosp_lv": "3", "admdvs": "440106", "mdtrtarea_admvs": "440100" },
        "visit": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "insutype": "310", "med_type": "21",
            "begntime": "2026-03-01 08:00:00", "endtime": "2026-03-05 10:00:00",
            "dise_codg": "K80.100", "referred": false, "mdtrt_cert_type": "02" },
        "lines": [{ "feedetl_sn": "1", "med_list_codg": "XJ01CAA040A001010101791",
            "cnt_e4": 1_000_000, "pric_micro_yuan": 20_000_000, "hosp_appr_flag": "1",
            "rule": "covered", "det_item_fee_sumamt": "2000.00", "fulamt_ownpay_amt": "0.00",
            "overlmt_amt": "0.00", "preselfpay_amt": "0.00", "inscp_scp_amt": "2000.00",
            "remote_extra_preselfpay": "0.00", "selfpay_prop_bp": 0,
            "price_cap_micro_yuan": null, "chrgitm_lv": "01", "med_chrgitm_type": "09",
            "restricted_use": false, "flat": false }],
        "use_account": false, "setl_time": "2026-03-05 10:00:00",
    })
}

/// A signed call to `path` (`/peer/v1/settle`): its status and answer.
async fn signed(h: &Harness, path: &str, call: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(call).unwrap();
    let headers = yibao_server::peer::auth::headers(
        &treating_peer(),
        "POST",
        path,
        &body,
        chrono::Utc::now().timestamp(),
    );
    let mut request = h
        .client
        .post(format!("{}{path}", h.base))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in &headers {
        request = request.header(*name, value.as_str());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A peer's call is bounded as a hospital's message is (a NUL character or an over-long id was
/// stored, and PostgreSQL refused the NUL: a 503 the treating platform retried), and settles and
/// cancels only under a settlement's or a cancellation's transaction code (any text was stored as
/// the message's `infno`).
async fn peer_calls_are_bounded(backend: Backend) {
    let (database, _) = fresh_database(backend, "xr_peer").await;
    let h = Harness::start_with(Config {
        database,
        data_dir: scratch_dir("xr_peer_data"),
        platform_admdvs: "360400".into(),
        peers: vec![treating_peer()],
        ..Config::default()
    })
    .await;
    h.load_fixtures().await;
    let (status, answer) = signed(
        &h,
        "/peer/v1/settle",
        &settle_call("44010050000000000000001", "2304", "M\u{0}1"),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["problem"],
        "参数 body.visit.mdtrt_id 有误：含有 NUL 字符（\\u0000），任何字段都不能含有该字符"
    );
    let long_id = "M".repeat(51);
    let (status, answer) = signed(
        &h,
        "/peer/v1/settle",
        &settle_call("44010050000000000000002", "2304", &long_id),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["problem"],
        "参数 body.visit.mdtrt_id 有误：超过字段长度 50 个字符"
    );
    let (status, answer) = signed(
        &h,
        "/peer/v1/settle",
        &settle_call("44010050000000000000003", "1e9", "M1"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "refused", "{answer}");
    assert_eq!(answer["field"], "infno", "{answer}");
    assert_eq!(answer["problem"], "1e9 不是结算的交易编号（2207、2304）");
    let (status, answer) = signed(
        &h,
        "/peer/v1/settle",
        &settle_call("44010050000000000000004", "2304", "M1"),
    )
    .await;
    assert_eq!(
        (status, &answer["outcome"]),
        (200, &json!("done")),
        "{answer}"
    );
    let cancel = json!({ "peer_key": "44010050000000000000005", "fixmedins_code": "H44010600001",
        "orig_key": "44010050000000000000004", "infno": "2207", "setl_time": "2026-03-06 10:00:00" });
    let (status, answer) = signed(&h, "/peer/v1/cancel", &cancel).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["problem"],
        "2207 不是撤销结算的交易编号（2208、2305、2601）"
    );
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 1, "{report}");
}

#[tokio::test]
async fn peer_calls_are_bounded_sqlite() {
    peer_calls_are_bounded(Backend::Sqlite).await;
}

#[tokio::test]
async fn peer_calls_are_bounded_postgres() {
    peer_calls_are_bounded(Backend::Postgres).await;
}

/// The insured platform (`backend`) and a treating platform 440100 (SQLite) listing it as the peer of
/// `36`, with 九江's rules under its own code and one 广州 hospital.
async fn two_platforms(backend: Backend) -> (Harness, Harness) {
    let (database, _) = fresh_database(backend, "xr_pair_i").await;
    let i = Harness::start_with(Config {
        database,
        data_dir: scratch_dir("xr_pair_i_data"),
        platform_admdvs: "360400".into(),
        peers: vec![treating_peer()],
        ..Config::default()
    })
    .await;
    i.load_fixtures().await;
    let (database, _) = fresh_database(Backend::Sqlite, "xr_pair_t").await;
    let t = Harness::start_with(Config {
        database,
        data_dir: scratch_dir("xr_pair_t_data"),
        platform_admdvs: "440100".into(),
        peers: vec![PeerConfig {
            admdvs_prefix: "36".into(),
            url: i.base.clone(),
            ..treating_peer()
        }],
        ..Config::default()
    })
    .await;
    t.admin("PUT", "/admin/policy", jiujiang_rules_at("440100"))
        .await;
    let catalog =
        std::fs::read_to_string(repo_root().join("catalogs/jiujiang-sample.csv")).unwrap();
    t.admin("PUT", "/admin/catalog/440100", catalog).await;
    let hospital = json!([{ "fixmedins_code": GUANGZHOU, "fixmedins_name": "广州测试医院",
        "fixmedins_type": "1", "hosp_lv": "3", "admdvs": "440106" }]);
    t.admin("POST", "/admin/institutions", hospital.to_string())
        .await;
    (i, t)
}

const GUANGZHOU: &str = "H44010600001";

/// A 2305 at the treating platform naming another person than the settlement's is refused there,
/// as on one platform (it cancelled the settlement at both platforms); the right person's goes on.
/// The insured platform's refusal names the hospital's field (it was the call's `psn_no`), and an
/// envelope region that is no text is refused (it was read as absent).
async fn a_peer_cancellation_names_the_settlements_person(backend: Backend) {
    let (i, t) = two_platforms(backend).await;
    t.ok(
        "1101",
        GUANGZHOU,
        json!({ "data": { "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "360402196005010011", "psn_cert_type": "01",
        "certno": "360402196005010011" } }),
    )
    .await;
    let admitted = t
        .ok(
            "2401",
            GUANGZHOU,
            json!({ "mdtrtinfo": { "psn_no": "P0001", "insutype": "390",
            "mdtrt_cert_type": "02", "med_type": "21", "ipt_no": "IPT1",
            "begntime": "2026-03-01 08:00:00", "dise_codg": "K80.100", "atddr_no": "D1" },
            "diseinfo": [{ "diag_type": "1", "diag_code": "K80.100", "diag_name": "胆囊结石" }] }),
        )
        .await;
    let mdtrt_id = admitted["result"]["mdtrt_id"].as_str().unwrap();
    let fee = line("1", mdtrt_id, DRUG, "100", "20.00", "2000.00");
    t.ok("2301", GUANGZHOU, json!({ "feedetail": [fee] })).await;
    let settled = t
        .ok("2304", GUANGZHOU, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id,
            "medfee_sumamt": "2000.00", "mid_setl_flag": "0", "dscgTime": "2026-03-05 10:00:00" } }))
        .await;
    let setl_id = setl_id(&settled);
    let cancel = |psn_no: &str| json!({ "data": { "psn_no": psn_no, "mdtrt_id": mdtrt_id, "setl_id": setl_id } });
    let mut envelope = Harness::envelope("2305", GUANGZHOU, &t.msgid(GUANGZHOU), cancel("P0001"));
    envelope["insuplc_admdvs"] = json!({ "admdvs": "360400" });
    let (_, text) = t.post(serde_json::to_vec(&envelope).unwrap(), &[]).await;
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        reply["err_msg"],
        "参数 insuplc_admdvs 有误：类型不符，应为文本，收到对象"
    );
    let err = t.fails("2305", GUANGZHOU, cancel("P0002")).await;
    assert_eq!(
        err,
        format!("参数 input.data.psn_no 有误：P0002 不是结算 {setl_id} 的参保人")
    );
    assert_eq!(i.verify().await["entries"], 1);
    t.ok("2305", GUANGZHOU, cancel("P0001")).await;
    assert_eq!(i.verify().await["entries"], 2);
    // A refusal of the insured platform names the hospital's field.
    let today = chrono::Local::now().date_naive();
    let suspension = json!({ "begndate": today.to_string(),
        "enddate": (today + chrono::Duration::days(30)).to_string(), "reason": "骗保",
        "doc_no": "X1", "operator": "稽核科" });
    i.admin(
        "POST",
        "/admin/persons/P0001/suspensions",
        suspension.to_string(),
    )
    .await;
    let err = t
        .fails("2304", GUANGZHOU, json!({ "data": { "psn_no": "P0001", "mdtrt_id": mdtrt_id,
            "medfee_sumamt": "2000.00", "mid_setl_flag": "0", "dscgTime": "2026-03-05 10:00:00" } }))
        .await;
    assert!(
        err.starts_with("参数 input.data.psn_no 有误：人员 P0001 自 "),
        "{err}"
    );
    i.assert_verifies().await;
    t.assert_verifies().await;
}

#[tokio::test]
async fn a_peer_cancellation_names_the_settlements_person_sqlite() {
    a_peer_cancellation_names_the_settlements_person(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_peer_cancellation_names_the_settlements_person_postgres() {
    a_peer_cancellation_names_the_settlements_person(Backend::Postgres).await;
}
