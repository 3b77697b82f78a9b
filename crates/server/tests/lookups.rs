//! The routine checks and queries of go-live over real HTTP, on SQLite and on PostgreSQL: 2001
//! 人员待遇享受检查, 5201 就诊信息查询, 5202 诊断信息查询, 5205 人员慢特病用药记录查询, 5303 在院信息查询,
//! 1201 医药机构信息获取; 1101 by 医保电子凭证 token; unknown paths answered with a reply envelope.

use crate::common;

use common::{fresh_database, line, Backend, Harness, BED, DRUG};
use serde_json::{json, Value};
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";
const OTHER_HOSPITAL: &str = "H36040200002";
/// 一级: a township health centre.
const PRIMARY_CARE: &str = "H36042300021";

async fn each_backend<F, Fut>(tag: &str, test: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        eprintln!("on {backend:?}");
        test(Harness::start(backend, AuthMode::None, tag).await).await;
    }
}

fn rows<'v>(output: &'v Value, node: &str) -> &'v Vec<Value> {
    output[node]
        .as_array()
        .unwrap_or_else(|| panic!("`{node}` is an array: {output}"))
}

async fn register(h: &Harness, fixmedins: &str, psn_no: &str, insutype: &str) -> String {
    let out = h
        .ok("2201", fixmedins, json!({ "data": { "psn_no": psn_no, "insutype": insutype, "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "ipt_otp_no": "OTP7" } }))
        .await;
    out["data"]["mdtrt_id"].as_str().unwrap().to_string()
}

async fn visit_info(
    h: &Harness,
    fixmedins: &str,
    mdtrt_id: &str,
    psn_no: &str,
    med_type: &str,
    dise: &str,
) {
    h.ok("2203", fixmedins, json!({
        "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": med_type, "begntime": "2026-03-01 09:00:00", "dise_codg": dise, "dise_name": "原发性高血压", "main_cond_dscr": "头晕" },
        "diseinfo": [
            { "diag_type": "1", "diag_srt_no": "1", "diag_code": dise, "diag_name": "原发性高血压", "diag_dept": "心内科", "dise_dor_no": "D01", "dise_dor_name": "王医生", "diag_time": "2026-03-01 09:10:00", "vali_flag": "1" },
            { "diag_type": "1", "diag_srt_no": "2", "diag_code": "E11.900", "diag_name": "2型糖尿病", "diag_dept": "心内科", "dise_dor_no": "D01", "dise_dor_name": "王医生", "diag_time": "2026-03-01 09:10:00", "vali_flag": "1" }
        ]
    })).await;
}

/// 2001 for each fund the policy pays from for the regime, read from `policies/jiujiang.toml`.
#[tokio::test]
async fn treatment_check_lists_the_funds_of_the_regime_and_why_not() {
    each_backend("trt", |h| async move {
        let check = |psn_no: &'static str, insutype: &'static str, med_type: &'static str| {
            json!({ "data": { "psn_no": psn_no, "insutype": insutype, "med_type": med_type, "begntime": "2026-03-01 09:00:00", "fixmedins_code": HOSPITAL } })
        };
        let funds = |output: &Value| -> Vec<(String, String)> {
            rows(output, "trtinfo")
                .iter()
                .map(|r| (r["fund_pay_type"].as_str().unwrap().to_string(), r["trt_enjymnt_flag"].as_str().unwrap().to_string()))
                .collect()
        };
        let pair = |fund: &str| (fund.to_string(), "1".to_string());
        // Residents' admission: basic (390100) and catastrophic (390200, its default tier).
        let resident = h.ok("2001", HOSPITAL, check("P0001", "390", "21")).await;
        assert_eq!(funds(&resident), vec![pair("390100"), pair("390200")]);
        let row = &rows(&resident, "trtinfo")[0];
        assert_eq!(row["trt_chk_type"], "01");
        assert_eq!(row["begndate"], "2010-01-01");
        assert_eq!(row["trt_chk_rslt"], "");
        // 低保 (DB): assistance (610100) and the backstop (640100) join.
        let poor = h.ok("2001", HOSPITAL, check("P0003", "390", "21")).await;
        assert_eq!(
            funds(&poor),
            vec![pair("390100"), pair("390200"), pair("610100"), pair("640100")]
        );
        // Employees: basic, large amount, then the account.
        let worker = h.ok("2001", HOSPITAL, check("P0002", "310", "21")).await;
        assert_eq!(funds(&worker), vec![pair("310100"), pair("330100"), pair("310200")]);
        // Residents' outpatient pooling (门诊统筹) is paid at primary care only, and is not a regime
        // of the catastrophic layer.
        let outpatient = h.ok("2001", PRIMARY_CARE, check("P0001", "390", "11")).await;
        assert_eq!(funds(&outpatient), vec![pair("390100")]);
        let at_a_hospital = h.ok("2001", HOSPITAL, check("P0001", "390", "11")).await;
        let row = &rows(&at_a_hospital, "trtinfo")[0];
        assert_eq!(row["trt_enjymnt_flag"], "0");
        assert!(row["trt_chk_rslt"].as_str().unwrap().contains("医疗类别 11"), "{row}");
        // A medical type no regime covers.
        let none = h.ok("2001", HOSPITAL, check("P0001", "390", "99")).await;
        let row = &rows(&none, "trtinfo")[0];
        assert_eq!(row["trt_enjymnt_flag"], "0");
        assert!(row["trt_chk_rslt"].as_str().unwrap().contains("医疗类别 99"), "{row}");
        // Not enrolled under the scheme asked for.
        let err = h.fails("2001", HOSPITAL, check("P0001", "310", "21")).await;
        assert!(err.contains("input.data.insutype"), "{err}");
        let err = h.fails("2001", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "390", "med_type": "21" } })).await;
        assert!(err.contains("input.data.begntime"), "{err}");
        h.stop().await;
    })
    .await;
}

/// A person in the waiting period (待遇等待期) is told when benefits start.
#[tokio::test]
async fn treatment_check_names_the_waiting_period() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "trtwait").await;
        let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut reader = csv::Reader::from_path(data.join("persons-periods.csv")).unwrap();
        let persons: Vec<yibao_server::import::PersonRow> =
            reader.deserialize().collect::<Result<_, _>>().unwrap();
        h.admin(
            "POST",
            "/admin/persons",
            serde_json::to_string(&persons).unwrap(),
        )
        .await;
        let out = h
            .ok("2001", HOSPITAL, json!({ "data": { "psn_no": "W0001", "insutype": "390", "med_type": "21", "begntime": "2026-03-01 09:00:00" } }))
            .await;
        for row in rows(&out, "trtinfo") {
            assert_eq!(row["trt_enjymnt_flag"], "0", "{row}");
            assert_eq!(row["begndate"], "2026-04-20", "{row}");
            let reason = row["trt_chk_rslt"].as_str().unwrap();
            assert!(
                reason.contains("等待期") && reason.contains("2026-04-20"),
                "{reason}"
            );
        }
        h.stop().await;
    }
}

/// 5201 lists this institution's visits of the person; 5202 the diagnoses uploaded with one.
#[tokio::test]
async fn visit_and_diagnosis_history() {
    each_backend("hist", |h| async move {
        let here = register(&h, HOSPITAL, "P0001", "390").await;
        visit_info(&h, HOSPITAL, &here, "P0001", "11", "I10.x00").await;
        let elsewhere = register(&h, OTHER_HOSPITAL, "P0001", "390").await;
        let cancelled = register(&h, HOSPITAL, "P0001", "390").await;
        h.ok("2202", HOSPITAL, json!({ "data": { "psn_no": "P0001", "mdtrt_id": cancelled, "ipt_otp_no": "OTP7" } })).await;

        let query = json!({ "data": { "psn_no": "P0001", "begntime": "2026-03-01", "endtime": "2026-03-01" } });
        let out = h.ok("5201", HOSPITAL, query).await;
        let visits = rows(&out, "mdtrtinfo");
        assert_eq!(visits.len(), 1, "only this institution's live visit: {out}");
        let visit = &visits[0];
        assert_eq!(visit["mdtrt_id"], here.as_str());
        assert_eq!(visit["psn_name"], "测试甲");
        assert_eq!(visit["certno"], "360402196005010011");
        assert_eq!(visit["med_type"], "11");
        assert_eq!(visit["dise_codg"], "I10.x00");
        assert_eq!(visit["main_cond_dscr"], "头晕");
        assert_eq!(visit["ipt_otp_no"], "OTP7");
        assert_eq!(visit["begntime"], "2026-03-01 09:00:00");
        for field in ["tel", "medrcdno", "dscg_way", "memo", "insu_optins"] {
            assert!(visit.get(field).is_some_and(|v| !v.is_null()), "{field} present: {visit}");
        }
        let other = h.ok("5201", OTHER_HOSPITAL, json!({ "data": { "psn_no": "P0001" } })).await;
        assert_eq!(rows(&other, "mdtrtinfo")[0]["mdtrt_id"], elsewhere.as_str());
        let none = h.ok("5201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "begntime": "2026-03-02 00:00:00" } })).await;
        assert!(rows(&none, "mdtrtinfo").is_empty(), "{none}");
        let by_type = h.ok("5201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "med_type": "14" } })).await;
        assert!(rows(&by_type, "mdtrtinfo").is_empty(), "{by_type}");
        let err = h.fails("5201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "begntime": "2026-03-05", "endtime": "2026-03-01" } })).await;
        assert!(err.contains("input.data.endtime"), "{err}");
        let err = h.fails("5201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "begntime": "yesterday" } })).await;
        assert!(err.contains("input.data.begntime"), "{err}");

        let out = h.ok("5202", HOSPITAL, json!({ "data": { "mdtrt_id": here, "psn_no": "P0001" } })).await;
        let diagnoses = rows(&out, "diseinfo");
        assert_eq!(diagnoses.len(), 2);
        assert_eq!(diagnoses[0]["diag_code"], "I10.x00");
        assert_eq!(diagnoses[1]["diag_name"], "2型糖尿病");
        assert_eq!(diagnoses[0]["dise_dor_name"], "王医生");
        assert_ne!(diagnoses[0]["diag_info_id"], diagnoses[1]["diag_info_id"]);
        let err = h.fails("5202", OTHER_HOSPITAL, json!({ "data": { "mdtrt_id": here } })).await;
        assert!(err.contains("input.data.mdtrt_id"), "another institution's visit: {err}");
        h.stop().await;
    })
    .await;
}

/// 5303 shows an admission not yet discharged to any institution; discharge ends it.
#[tokio::test]
async fn in_hospital_stays_across_institutions() {
    each_backend("inhosp", |h| async move {
        let empty = h.ok("5303", OTHER_HOSPITAL, json!({ "data": { "psn_no": "P0003" } })).await;
        assert!(rows(&empty, "data").is_empty());
        let out = h
            .ok("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "P0003", "insutype": "390", "mdtrt_cert_type": "02", "med_type": "21", "begntime": "2026-02-20 08:00:00", "dise_codg": "K80.100", "ipt_no": "ZY001" } }))
            .await;
        let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap().to_string();
        let stays = h.ok("5303", OTHER_HOSPITAL, json!({ "data": { "psn_no": "P0003" } })).await;
        let stay = &rows(&stays, "data")[0];
        assert_eq!(stay["mdtrt_id"], mdtrt_id.as_str());
        assert_eq!(stay["fixmedins_code"], HOSPITAL);
        assert_eq!(stay["begndate"], "2026-02-20");
        assert_eq!(stay["med_type"], "21");
        assert_eq!(stay["out_flag"], "0");
        assert_eq!(stay["psn_name"], "测试丙");
        let visits = h.ok("5201", HOSPITAL, json!({ "data": { "psn_no": "P0003" } })).await;
        let visit = &rows(&visits, "mdtrtinfo")[0];
        assert_eq!(visit["inhosp_stas"], "1");
        assert_eq!(visit["ipt_otp_no"], "ZY001");
        h.ok("2402", HOSPITAL, json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0003", "insutype": "390", "endtime": "2026-02-25 10:00:00", "dise_codg": "K80.100", "dscg_way": "1" } })).await;
        let after = h.ok("5303", OTHER_HOSPITAL, json!({ "data": { "psn_no": "P0003" } })).await;
        assert!(rows(&after, "data").is_empty(), "{after}");
        let visits = h.ok("5201", HOSPITAL, json!({ "data": { "psn_no": "P0003" } })).await;
        let visit = &rows(&visits, "mdtrtinfo")[0];
        assert_eq!(visit["inhosp_stas"], "0");
        assert_eq!(visit["ipt_days"], 5);
        assert_eq!(visit["endtime"], "2026-02-25 10:00:00");
        assert_eq!(visit["dscg_way"], "1");
        h.stop().await;
    })
    .await;
}

/// 5205 shows the drugs of 门诊慢特病 visits at every institution, and not cancelled lines.
#[tokio::test]
async fn chronic_drug_records_across_institutions() {
    each_backend("chronic", |h| async move {
        let chronic = register(&h, HOSPITAL, "P0001", "390").await;
        visit_info(&h, HOSPITAL, &chronic, "P0001", "14", "I10.x00").await;
        h.ok("2204", HOSPITAL, json!({ "feedetail": [
            line("1", &chronic, DRUG, "2", "0.50", "1.00"),
            line("2", &chronic, BED, "1", "40.00", "40.00"),
        ] })).await;
        let ordinary = register(&h, HOSPITAL, "P0001", "390").await;
        visit_info(&h, HOSPITAL, &ordinary, "P0001", "11", "J06.900").await;
        h.ok("2204", HOSPITAL, json!({ "feedetail": [line("1", &ordinary, DRUG, "1", "0.50", "0.50")] })).await;

        let out = h.ok("5205", OTHER_HOSPITAL, json!({ "data": { "psn_no": "P0001", "begntime": "2026-01-01", "endtime": "2026-12-31" } })).await;
        let drugs = rows(&out, "feedetail");
        assert_eq!(drugs.len(), 1, "only the chronic visit's drug: {out}");
        let drug = &drugs[0];
        assert_eq!(drug["fixmedins_code"], HOSPITAL);
        assert_eq!(drug["fixmedins_name"], "九江市第一人民医院");
        assert_eq!(drug["hilist_code"], DRUG);
        assert_eq!(drug["hilist_name"], "阿莫西林胶囊");
        assert_eq!(drug["med_type"], "14");
        assert_eq!(drug["fee_ocur_time"], "2026-03-01 10:00:00");
        assert_eq!(drug["psn_no"], "P0001");
        assert_eq!(drug["med_chrgitm_type"], "09");
        for field in ["rx_drord_no", "prodname", "spec", "bas_medn_flag", "matn_fee_flag"] {
            assert!(drug.get(field).is_some_and(|v| !v.is_null()), "{field} present: {drug}");
        }
        h.ok("2205", HOSPITAL, json!({ "data": { "mdtrt_id": chronic, "chrg_bchno": "0000", "psn_no": "P0001" } })).await;
        let after = h.ok("5205", OTHER_HOSPITAL, json!({ "data": { "psn_no": "P0001" } })).await;
        assert!(rows(&after, "feedetail").is_empty(), "{after}");
        let err = h.fails("5205", HOSPITAL, json!({ "data": { "psn_no": "NOBODY" } })).await;
        assert!(err.contains("input.data.psn_no"), "{err}");
        h.stop().await;
    })
    .await;
}

/// 1201 finds registered institutions by code, type and part of the name.
#[tokio::test]
async fn institutions_by_code_type_and_name() {
    each_backend("medins", |h| async move {
        let by_name = h
            .ok(
                "1201",
                HOSPITAL,
                json!({ "medinsinfo": { "fixmedins_name": "第二" } }),
            )
            .await;
        let found = rows(&by_name, "medinsinfo");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["fixmedins_code"], OTHER_HOSPITAL);
        assert_eq!(found[0]["hosp_lv"], "5");
        assert_eq!(found[0]["uscc"], "");
        let pharmacies = h
            .ok(
                "1201",
                HOSPITAL,
                json!({ "data": { "fixmedins_type": "2" } }),
            )
            .await;
        assert_eq!(
            rows(&pharmacies, "medinsinfo")[0]["fixmedins_code"],
            "P36040200031"
        );
        let all = h.ok("1201", HOSPITAL, json!({})).await;
        assert_eq!(rows(&all, "medinsinfo").len(), 4);
        h.stop().await;
    })
    .await;
}

async fn voucher_harness(backend: Backend, secret: &str) -> Harness {
    let (database, dir) = fresh_database(backend, "voucher").await;
    let harness = Harness::start_with(Config {
        database,
        data_dir: dir,
        evoucher_secret: secret.into(),
        ..Config::default()
    })
    .await;
    harness.load_fixtures().await;
    harness
}

async fn issue(h: &Harness, psn_no: &str) -> String {
    let voucher = h
        .admin(
            "POST",
            "/admin/evoucher",
            json!({ "psn_no": psn_no }).to_string(),
        )
        .await;
    voucher["mdtrt_cert_no"].as_str().unwrap().to_string()
}

/// 1101 resolves an e-voucher token alone; a wrong name, a forged token or no key is refused.
#[tokio::test]
async fn person_by_evoucher_token() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = voucher_harness(backend, "bureau-voucher-secret").await;
        let token = issue(&h, "P0002").await;
        let query = |token: &str, name: Option<&str>| {
            let mut data = json!({ "mdtrt_cert_type": "01", "mdtrt_cert_no": token, "psn_cert_type": "", "certno": "" });
            if let Some(name) = name {
                data["psn_name"] = json!(name);
            }
            json!({ "data": data })
        };
        let out = h.ok("1101", HOSPITAL, query(&token, Some("测试乙"))).await;
        assert_eq!(out["baseinfo"]["psn_no"], "P0002");
        assert_eq!(rows(&out, "insuinfo").len(), 2);
        let err = h
            .fails("1101", HOSPITAL, query(&token, Some("测试甲")))
            .await;
        assert!(
            err.contains("input.data.psn_name") && err.contains("不符"),
            "{err}"
        );
        let (payload, tag) = token.split_once('.').unwrap();
        let forged = format!("{payload}.{}", tag.chars().rev().collect::<String>());
        let err = h.fails("1101", HOSPITAL, query(&forged, None)).await;
        assert!(
            err.contains("input.data.mdtrt_cert_no") && err.contains("电子凭证"),
            "{err}"
        );
        let err = h
            .fails("1101", HOSPITAL, query("360402197502140022", None))
            .await;
        assert!(
            err.contains("input.data.mdtrt_cert_no"),
            "an ID number is not a token: {err}"
        );
        let mut wrong_certno = query(&token, None);
        wrong_certno["data"]["certno"] = json!("360402196005010011");
        let err = h.fails("1101", HOSPITAL, wrong_certno).await;
        assert!(err.contains("input.data.certno"), "{err}");
        h.stop().await;

        let keyless = voucher_harness(backend, "").await;
        let response = keyless
            .client
            .post(format!("{}/admin/evoucher", keyless.base))
            .bearer_auth(common::ADMIN_TOKEN)
            .body(json!({ "psn_no": "P0002" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let err = keyless.fails("1101", HOSPITAL, query(&token, None)).await;
        assert!(err.contains("evoucher_secret"), "{err}");
        keyless.stop().await;
    }
}

/// Unknown paths get a reply envelope naming the path; a trailing slash reaches callService.
#[tokio::test]
async fn unknown_paths_are_answered_with_an_envelope() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "paths").await;
    let body = serde_json::to_vec(&Harness::envelope(
        "9001",
        HOSPITAL,
        &h.msgid(HOSPITAL),
        json!({ "signIn": { "opter_no": "001", "mac": "", "ip": "" } }),
    ))
    .unwrap();
    for path in [
        "/fsi/api/rsfComIfsService/callServic",
        "/fsi/api/other",
        "/",
    ] {
        let response = h
            .client
            .post(format!("{}{path}", h.base))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let reply: Value = response.json().await.unwrap();
        assert_eq!(reply["infcode"], -1, "{path}: {reply}");
        let err = reply["err_msg"].as_str().unwrap();
        assert!(
            err.contains(path) && err.contains("/fsi/api/rsfComIfsService/callService"),
            "{err}"
        );
    }
    let response = h
        .client
        .post(format!("{}/fsi/api/rsfComIfsService/callService/", h.base))
        .body(body)
        .send()
        .await
        .unwrap();
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["infcode"], 0, "{reply}");
    h.stop().await;
}
