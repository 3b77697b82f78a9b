//! 目录对照 over real HTTP on SQLite and PostgreSQL: 3301 maps the institution's own codes to national
//! codes, fee lines naming only their own code are resolved through it, 3302 revokes it.

use crate::common;

use common::{line, Backend, Harness, DRUG};
use serde_json::json;
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

#[tokio::test]
async fn own_codes_resolve_through_the_mapping_until_it_is_revoked() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "mapping").await;
        let mapping = json!({ "data": [{ "fixmedins_hilist_id": "HIS-AMX-001", "fixmedins_hilist_name": "阿莫西林胶囊0.25g",
            "list_type": "101", "med_list_codg": DRUG, "begndate": "2026-01-01", "enddate": "", "spec": "0.25g*24粒" }] });
        h.ok("3301", HOSPITAL, mapping.clone()).await;
        h.ok("3301", HOSPITAL, mapping).await;
        let err = h
            .fails("3301", HOSPITAL, json!({ "data": { "fixmedins_hilist_id": "X", "list_type": "101", "med_list_codg": "NOT-IN-CATALOGUE", "begndate": "2026-01-01" } }))
            .await;
        assert!(
            err.contains("input.data.med_list_codg") && err.contains("不在医保目录"),
            "{err}"
        );

        let out = h
            .ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02" } }))
            .await;
        let mdtrt_id = out["data"]["mdtrt_id"].as_str().unwrap().to_string();
        let mut own = line("1", &mdtrt_id, "", "2", "0.50", "1.00");
        own["medins_list_codg"] = json!("HIS-AMX-001");
        let split = h
            .ok("2204", HOSPITAL, json!({ "feedetail": [own.clone()] }))
            .await;
        let row = &split["result"][0];
        assert_eq!(row["chrgitm_lv"], "01", "the mapped drug is 甲类: {split}");
        assert_eq!(row["med_chrgitm_type"], "09");
        let fees = h
            .ok(
                "5204",
                HOSPITAL,
                json!({ "data": { "mdtrt_id": mdtrt_id } }),
            )
            .await;
        assert_eq!(fees["feedetail"][0]["med_list_codg"], DRUG);

        let mut unmapped = line("2", &mdtrt_id, "", "1", "1.00", "1.00");
        unmapped["medins_list_codg"] = json!("HIS-UNKNOWN");
        let err = h
            .fails("2204", HOSPITAL, json!({ "feedetail": [unmapped] }))
            .await;
        assert!(
            err.contains("input.feedetail[0].med_list_codg") && err.contains("HIS-UNKNOWN"),
            "{err}"
        );

        let err = h
            .fails("3302", HOSPITAL, json!({ "data": { "fixmedins_hilist_id": "HIS-AMX-001", "med_list_codg": "OTHER" } }))
            .await;
        assert!(err.contains("input.data.med_list_codg"), "{err}");
        h.ok(
            "3302",
            HOSPITAL,
            json!({ "data": { "fixmedins_hilist_id": "HIS-AMX-001" } }),
        )
        .await;
        let err = h
            .fails(
                "3302",
                HOSPITAL,
                json!({ "data": { "fixmedins_hilist_id": "HIS-AMX-001" } }),
            )
            .await;
        assert!(err.contains("没有有效的目录对照"), "{err}");
        own["feedetl_sn"] = json!("3");
        let err = h
            .fails("2204", HOSPITAL, json!({ "feedetail": [own] }))
            .await;
        assert!(err.contains("HIS-AMX-001"), "revoked: {err}");
        // Another institution's mapping is not this one's.
        let err = h
            .fails(
                "3302",
                "H36040200002",
                json!({ "data": { "fixmedins_hilist_id": "HIS-AMX-001" } }),
            )
            .await;
        assert!(err.contains("input.data.fixmedins_hilist_id"), "{err}");
        h.stop().await;
    }
}

/// 1317 lists the institution's own mappings, revoked ones with `vali_flag` 0, by filters and pages;
/// another institution sees none of them.
#[tokio::test]
async fn mappings_are_listed_by_1317() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "mapping_query").await;
        let rows: Vec<_> = (1..=3)
            .map(|i| json!({ "fixmedins_hilist_id": format!("HIS-{i}"), "fixmedins_hilist_name": format!("院内药品{i}"),
                "list_type": "101", "med_list_codg": DRUG, "begndate": "2026-01-01", "enddate": "", "spec": "0.25g*24粒" }))
            .collect();
        h.ok("3301", HOSPITAL, json!({ "data": rows })).await;
        h.ok(
            "3302",
            HOSPITAL,
            json!({ "data": { "fixmedins_hilist_id": "HIS-2" } }),
        )
        .await;
        let page = |filters: serde_json::Value| {
            let mut data = json!({ "page_num": "1", "page_size": "2" });
            data.as_object_mut()
                .unwrap()
                .extend(filters.as_object().unwrap().clone());
            json!({ "data": data })
        };
        let out = h.ok("1317", HOSPITAL, page(json!({}))).await;
        assert_eq!(
            (out["recordCounts"].clone(), out["pages"].clone()),
            (json!(3), json!(2)),
            "{out}"
        );
        let first = &out["data"][0];
        assert_eq!(
            (
                first["medins_list_codg"].as_str(),
                first["med_list_codg"].as_str(),
                first["spec"].as_str()
            ),
            (Some("HIS-1"), Some(DRUG), Some("0.25g*24粒")),
            "{out}"
        );
        assert_eq!(out["data"][1]["vali_flag"], "0", "HIS-2 was revoked: {out}");
        let valid = h
            .ok("1317", HOSPITAL, page(json!({ "vali_flag": "1" })))
            .await;
        assert_eq!(valid["recordCounts"], 2, "{valid}");
        let named = h
            .ok(
                "1317",
                HOSPITAL,
                page(json!({ "medins_list_codg": "HIS-3", "query_date": "2026-03-01" })),
            )
            .await;
        assert_eq!(named["recordCounts"], 1, "{named}");
        let before = h
            .ok(
                "1317",
                HOSPITAL,
                page(json!({ "query_date": "2025-12-31" })),
            )
            .await;
        assert_eq!(before["recordCounts"], 0, "not yet in force: {before}");
        let other = h.ok("1317", "H36040200002", page(json!({}))).await;
        assert_eq!(other["recordCounts"], 0, "{other}");
        let err = h
            .fails(
                "1317",
                HOSPITAL,
                page(json!({ "query_date": "2026-13-01" })),
            )
            .await;
        assert!(err.contains("input.data.query_date"), "{err}");
        let err = h
            .fails(
                "1317",
                HOSPITAL,
                json!({ "data": { "page_num": "1", "page_size": "5000" } }),
            )
            .await;
        assert!(err.contains("input.data.page_size"), "{err}");

        let matched = h
            .ok("1316", HOSPITAL, page(json!({ "med_list_codg": DRUG })))
            .await;
        assert_eq!(matched["recordCounts"], 1, "{matched}");
        assert_eq!(matched["data"][0]["hilist_code"], DRUG);
        h.stop().await;
    }
}
