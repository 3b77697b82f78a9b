//! 人员慢特病备案 over real HTTP on SQLite and PostgreSQL: 2503 files a condition (once per person,
//! condition and start day), 5301 lists it at every institution, 2504 cancels it.

use crate::common;

use common::{Backend, Harness};
use serde_json::json;
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";
const OTHER: &str = "H36040200002";

#[tokio::test]
async fn conditions_are_filed_listed_and_cancelled() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "filing").await;
        let filing = json!({ "data": { "psn_no": "P0001", "insutype": "390", "opsp_dise_code": "M03900",
            "opsp_dise_name": "高血压", "begndate": "2026-01-10", "enddate": "", "diag_dr_codg": "D01" } });
        let first = h.ok("2503", HOSPITAL, filing.clone()).await;
        let sn = first["result"]["trt_dcla_detl_sn"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(sn.chars().all(|c| c.is_ascii_digit()), "{sn}");
        let again = h.ok("2503", HOSPITAL, filing).await;
        assert_eq!(
            again["result"]["trt_dcla_detl_sn"],
            sn.as_str(),
            "filed once"
        );

        let listed = h
            .ok("5301", OTHER, json!({ "data": { "psn_no": "P0001" } }))
            .await;
        let rows = listed["feedetail"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["opsp_dise_code"], "M03900");
        assert_eq!(rows[0]["opsp_dise_name"], "高血压");
        assert_eq!(rows[0]["begndate"], "2026-01-10");
        assert_eq!(rows[0]["enddate"], "");

        let err = h
            .fails("2503", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "310", "opsp_dise_code": "M03900", "begndate": "2026-01-10" } }))
            .await;
        assert!(
            err.contains("input.data.insutype"),
            "not insured under 310: {err}"
        );
        let err = h
            .fails("2503", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "390", "opsp_dise_code": "M03900", "begndate": "2026-01-10", "enddate": "2025-12-31" } }))
            .await;
        assert!(err.contains("input.data.enddate"), "{err}");

        let cancel = json!({ "data": { "psn_no": "P0001", "trt_dcla_detl_sn": sn } });
        let err = h.fails("2504", OTHER, cancel.clone()).await;
        assert!(
            err.contains("input.data.trt_dcla_detl_sn"),
            "another institution's filing: {err}"
        );
        h.ok("2504", HOSPITAL, cancel.clone()).await;
        let err = h.fails("2504", HOSPITAL, cancel).await;
        assert!(err.contains("已撤销"), "{err}");
        let listed = h
            .ok("5301", HOSPITAL, json!({ "data": { "psn_no": "P0001" } }))
            .await;
        assert!(
            listed["feedetail"].as_array().unwrap().is_empty(),
            "{listed}"
        );
        h.stop().await;
    }
}
