//! 异地就医备案 and in-province remote care over real HTTP on SQLite and PostgreSQL: 2501/2505 file in
//! the insured platform's register (checked field by field), 2502/2506 and the counter API cancel,
//! and a 九江-insured person treated at a 南昌 hospital on the same platform settles with 南昌's
//! catalogue and 九江's policy and accumulators — at the rate its filing status gives, read from the
//! register at settlement (a referral filed before discharge counts).

use crate::common;

use common::{repo_root, Backend, Harness};
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_his::{medfee_sumamt, steps, Visit};
use yibao_server::config::AuthMode;

const JIUJIANG: &str = "H36040200001";
const NANCHANG: &str = "H36010200001";

/// Loads 南昌's policy and a 南昌 catalogue in which the bed fee is 乙类 with 10 % 先行自付 (九江's
/// sample has it 甲类), and registers a 南昌 二级 hospital.
async fn add_nanchang(h: &Harness) {
    let policy = std::fs::read_to_string(repo_root().join("policies/nanchang.toml")).unwrap();
    h.admin("PUT", "/admin/policy", policy).await;
    let catalog = std::fs::read_to_string(repo_root().join("catalogs/jiujiang-sample.csv"))
        .unwrap()
        .replace(
            "001201000010000,普通病房床位费,201,01,01,0,40.00",
            "001201000010000,普通病房床位费,201,01,02,0.10,40.00",
        );
    h.admin("PUT", "/admin/catalog/360100", catalog).await;
    let hospital = json!([{ "fixmedins_code": NANCHANG, "fixmedins_name": "南昌某医院", "fixmedins_type": "1", "hosp_lv": "5", "admdvs": "360102" }]);
    h.admin("POST", "/admin/institutions", hospital.to_string())
        .await;
}

fn stay(begntime: &str, endtime: &str) -> Visit {
    serde_json::from_value(json!({
        "psn_no": "P0001", "insutype": "390", "med_type": "21", "begntime": begntime,
        "endtime": endtime, "fixmedins_code": NANCHANG, "refl_flag": "0", "dise_codg": "I21.000",
        "feedetail": [
            { "feedetl_sn": "1", "med_list_codg": "003306000010000", "cnt": "1", "pric": "8000.00",
              "det_item_fee_sumamt": "8000.00", "hosp_appr_flag": "1" },
            { "feedetl_sn": "2", "med_list_codg": "001201000010000", "cnt": "10", "pric": "40.00",
              "det_item_fee_sumamt": "400.00", "hosp_appr_flag": "1" },
        ],
    }))
    .unwrap()
}

/// Admits (with `exp_content`, if given) and uploads; then `between` runs (e.g. a filing before
/// discharge); then discharges and settles. The settlement's `setlinfo`, or the refusal's text.
async fn settle_stay(
    h: &Harness,
    visit: &Visit,
    exp_content: Option<&str>,
    between: impl AsyncFnOnce(),
) -> Result<Value, String> {
    let his = h.his();
    let mut admit = steps::admit(visit);
    if let Some(exp_content) = exp_content {
        admit.input["mdtrtinfo"]["exp_content"] = json!(exp_content);
    }
    let admitted = his.send(&admit).await.unwrap();
    let mdtrt_id = steps::admitted_mdtrt_id(&admitted).unwrap();
    his.send(&steps::upload_inpatient_fees(visit, &mdtrt_id))
        .await
        .unwrap();
    between().await;
    his.send(&steps::discharge(visit, &mdtrt_id)).await.unwrap();
    let total: Fen = medfee_sumamt(&visit.feedetail).unwrap();
    let settle = steps::settle_inpatient(visit, &mdtrt_id, total, false);
    let reply = his.send(&settle).await.map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&reply.text).unwrap();
    Ok(value["output"]["setlinfo"].clone())
}

fn referral(area: &str, refl_type: &str, begndate: &str) -> Value {
    json!({ "refmedin": { "psn_no": "P0001", "insutype": "390", "mdtrtarea_admdvs": area,
        "refl_type": refl_type, "begndate": begndate, "dise_codg": "I21.000",
        "reflin_medins_no": NANCHANG, "reflin_medins_name": "南昌某医院" } })
}

#[tokio::test]
async fn in_province_care_settles_with_the_treating_catalogue_and_the_filing_status() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "xregion").await;
        add_nanchang(&h).await;
        // Unfiled, in Jiangxi (省内免备案): 九江's 市外 rate without referral, 800 / 40 %, on 南昌's
        // split: bed fee 400.00 × 10 % = 40.00 先行自付, in scope 8000.00 + 360.00 = 8360.00;
        // (8360.00 − 800.00) × 40 % = 3024.00.
        let unfiled = settle_stay(
            &h,
            &stay("2026-03-02 08:00:00", "2026-03-09 10:00:00"),
            None,
            async || {},
        )
        .await
        .unwrap();
        assert_eq!(unfiled["preselfpay_amt"], json!(40.0), "{unfiled}");
        assert_eq!(unfiled["inscp_scp_amt"], json!(8360.0), "{unfiled}");
        assert_eq!(unfiled["act_pay_dedc"], json!(800.0), "{unfiled}");
        assert_eq!(unfiled["hifp_pay"], json!(3024.0), "{unfiled}");

        // A referral filed during the stay (before discharge): 600 / 50 %:
        // (8360.00 − 600.00) × 50 % = 3880.00.
        let filed = settle_stay(
            &h,
            &stay("2026-04-01 08:00:00", "2026-04-08 10:00:00"),
            None,
            async || {
                let out = h
                    .ok("2501", JIUJIANG, referral("360100", "2", "2026-04-03"))
                    .await;
                assert!(out["result"]["trt_dcla_detl_sn"]
                    .as_str()
                    .unwrap()
                    .starts_with("3604004"));
            },
        )
        .await
        .unwrap();
        assert_eq!(filed["act_pay_dedc"], json!(600.0), "{filed}");
        assert_eq!(filed["hifp_pay"], json!(3880.0), "{filed}");

        // The insured region's accumulators hold both stays (九江's keys, settled in 南昌).
        let cum = h
            .ok(
                "5206",
                JIUJIANG,
                json!({ "data": { "psn_no": "P0001", "cum_ym": "202604" } }),
            )
            .await;
        let admissions = cum["cuminfo"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["cum_type_code"] == "C0000")
            .map(|row| row["cum"].clone());
        assert_eq!(admissions, Some(json!(2.0)), "{cum}");
        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");
        h.stop().await;
    }
}

#[tokio::test]
async fn emergency_admissions_are_deemed_filed_and_unfiled_stays_wait_for_a_filing() {
    const GUANGZHOU: &str = "H44010600045";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "xemerg").await;
        add_nanchang(&h).await;
        let hospital = json!([{ "fixmedins_code": GUANGZHOU, "fixmedins_name": "广州某医院", "fixmedins_type": "1", "hosp_lv": "5", "admdvs": "440106" }]);
        h.admin("POST", "/admin/institutions", hospital.to_string())
            .await;
        let in_guangzhou = |psn_no: &str, begntime: &str, endtime: &str| {
            let mut visit = stay(begntime, endtime);
            visit.fixmedins_code = GUANGZHOU.into();
            visit.psn_no = psn_no.into();
            visit
        };
        // 九江 resident, 急诊抢救 admission (`IPT_TYPE` 2), nothing filed: deemed filed, referred
        // rows 600 / 50 % on 九江's catalogue (广州 has none loaded): (8400.00 − 600.00) × 50 %.
        let visit = in_guangzhou("P0001", "2026-05-02 08:00:00", "2026-05-06 10:00:00");
        let emergency = settle_stay(&h, &visit, Some(r#"{"IPT_TYPE":"2"}"#), async || {})
            .await
            .unwrap();
        assert_eq!(emergency["hifp_pay"], json!(3900.0), "{emergency}");

        // 南昌 resident in 广州, unfiled: fees upload, settlement is refused with the reason.
        let person = json!([{ "psn_no": "N0001", "psn_cert_type": "01", "certno": "360102196501010011",
            "psn_name": "南昌甲", "gend": "2", "brdy": "1965-01-01", "insutype": "390", "psn_type": "16",
            "psn_insu_stas": "1", "psn_insu_date": "2010-01-01", "insuplc_admdvs": "360100",
            "cvlserv_flag": "0", "balc": "0", "idet": "" }]);
        h.admin("POST", "/admin/persons", person.to_string()).await;
        let visit = in_guangzhou("N0001", "2026-05-10 08:00:00", "2026-05-15 10:00:00");
        let err = settle_stay(&h, &visit, None, async || {})
            .await
            .unwrap_err();
        assert!(
            err.contains("fixmedins_code") && err.contains("不能直接结算"),
            "{err}"
        );

        // Filed (其他临时外出) before discharge: settled with 南昌's extra 20 % 先行自付, the lines
        // split again: bed fee 乙类 40.00 先行自付; extra 8000.00 × 20 % + 360.00 × 20 % = 1672.00;
        // in scope 6688.00; (6688.00 − 400.00) × 80 % = 5030.40.
        let visit = in_guangzhou("N0001", "2026-06-01 08:00:00", "2026-06-05 10:00:00");
        let filed = settle_stay(&h, &visit, None, async || {
            h.ok(
                "2505",
                GUANGZHOU,
                json!({ "data": { "psn_no": "N0001", "fil_type": "06",
                "mdtrtarea_admdvs": "440000", "begndate": "2026-06-03" } }),
            )
            .await;
        })
        .await
        .unwrap();
        assert_eq!(filed["preselfpay_amt"], json!(1712.0), "{filed}");
        assert_eq!(filed["hifp_pay"], json!(5030.4), "{filed}");
        let report = h.verify().await;
        assert_eq!(report["ok"], true, "{report}");
        h.stop().await;
    }
}

#[tokio::test]
async fn filings_are_checked_field_by_field_and_cancelled_by_their_filer() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "rfiling").await;
        add_nanchang(&h).await;
        let err = h
            .fails("2501", JIUJIANG, referral("360100", "3", "2026-04-03"))
            .await;
        assert!(
            err.contains("input.refmedin.refl_type") && err.contains("省内异地应为 2"),
            "{err}"
        );
        let err = h
            .fails("2501", JIUJIANG, referral("360400", "2", "2026-04-03"))
            .await;
        assert!(
            err.contains("input.refmedin.mdtrtarea_admdvs") && err.contains("无需异地备案"),
            "{err}"
        );
        let err = h
            .fails("2501", JIUJIANG, referral("3601", "2", "2026-04-03"))
            .await;
        assert!(err.contains("6 位行政区划代码"), "{err}");
        let person = |fil_type: &str, enddate: &str| {
            json!({ "data": { "psn_no": "P0002", "insutype": "310",
            "fil_type": fil_type, "mdtrtarea_admdvs": "440100", "begndate": "2026-01-01", "enddate": enddate } })
        };
        let err = h.fails("2505", JIUJIANG, person("99", "")).await;
        assert!(
            err.contains("input.data.fil_type") && err.contains("02 异地长期居住"),
            "{err}"
        );
        let err = h.fails("2505", JIUJIANG, person("02", "2025-12-31")).await;
        assert!(err.contains("input.data.enddate"), "{err}");
        let err = h
            .fails(
                "2505",
                JIUJIANG,
                json!({ "data": { "psn_no": "P0001", "insutype": "310",
            "fil_type": "02", "mdtrtarea_admdvs": "440100", "begndate": "2026-01-01" } }),
            )
            .await;
        assert!(err.contains("input.data.insutype"), "{err}");

        // A temporary filing without an end lasts the policy's 180 days; the same filing again is
        // the same filing.
        let temporary = h.ok("2505", JIUJIANG, person("06", "")).await;
        assert_eq!(temporary["result"]["enddate"], "2026-06-29");
        let sn = temporary["result"]["trt_dcla_detl_sn"]
            .as_str()
            .unwrap()
            .to_string();
        let again = h.ok("2505", JIUJIANG, person("06", "")).await;
        assert_eq!(again["result"]["trt_dcla_detl_sn"], sn.as_str());
        let long_term = h
            .ok(
                "2505",
                JIUJIANG,
                json!({ "data": { "psn_no": "P0002",
            "biz_appy_type": "08", "mdtrtarea_admdvs": "440100", "begndate": "2026-01-01" } }),
            )
            .await;
        assert_eq!(
            long_term["result"]["enddate"], "",
            "long-term filings stay open"
        );

        let cancel = json!({ "data": { "psn_no": "P0002", "trt_dcla_detl_sn": sn } });
        let err = h.fails("2506", NANCHANG, cancel.clone()).await;
        assert!(
            err.contains("input.data.trt_dcla_detl_sn"),
            "another institution: {err}"
        );
        let err = h.fails("2502", JIUJIANG, cancel.clone()).await;
        assert!(
            err.contains("本机构没有此类备案"),
            "2502 cancels referrals only: {err}"
        );
        h.ok("2506", JIUJIANG, cancel.clone()).await;
        let err = h.fails("2506", JIUJIANG, cancel).await;
        assert!(err.contains("已撤销"), "{err}");

        // The counter: file, list, cancel.
        let counter = h
            .admin(
                "POST",
                "/admin/filings",
                json!({ "psn_no": "P0003", "fil_type": "01",
            "mdtrtarea_admdvs": "110000", "begndate": "2026-02-01", "operator": "柜员01" })
                .to_string(),
            )
            .await;
        assert_eq!(counter["filing"]["source"], "counter");
        assert_eq!(counter["filing"]["insu_admdvs"], "360400");
        let counter_sn = counter["filing"]["trt_dcla_detl_sn"]
            .as_str()
            .unwrap()
            .to_string();
        let listed = h
            .admin("GET", "/admin/filings?insu_admdvs=360400", String::new())
            .await;
        assert_eq!(listed["filings"].as_array().unwrap().len(), 2, "{listed}");
        let cancelled = h
            .admin(
                "POST",
                &format!("/admin/filings/{counter_sn}/cancel"),
                String::new(),
            )
            .await;
        assert_eq!(cancelled["filing"]["valid"], false);
        let all = h
            .admin("GET", "/admin/filings?psn_no=P0003&all=true", String::new())
            .await;
        assert_eq!(all["filings"].as_array().unwrap().len(), 1, "{all}");
        let valid = h
            .admin("GET", "/admin/filings?psn_no=P0003", String::new())
            .await;
        assert!(valid["filings"].as_array().unwrap().is_empty(), "{valid}");
        h.stop().await;
    }
}
