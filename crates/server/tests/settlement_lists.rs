//! 医疗保障基金结算清单 over real HTTP on SQLite and PostgreSQL: 4101/4101A are checked field by
//! field against the settlement, stored, returned by 4103, and read by the DRG grouper.

use crate::common;

use common::{bed_days, setl_id, Backend, Harness};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

/// An admission settled after its discharge; returns (mdtrt_id, setl_id).
async fn settled_stay(h: &Harness) -> (String, String) {
    let out = h
        .ok("2401", HOSPITAL, json!({ "mdtrtinfo": { "psn_no": "P0003", "insutype": "390", "mdtrt_cert_type": "02", "med_type": "21", "begntime": "2026-02-20 08:00:00", "dise_codg": "K80.100" } }))
        .await;
    let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok(
        "2301",
        HOSPITAL,
        json!({ "feedetail": [bed_days("1", &mdtrt_id, 5, None)] }),
    )
    .await;
    h.ok("2402", HOSPITAL, json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0003", "insutype": "390", "endtime": "2026-02-25 10:00:00", "dise_codg": "K80.100", "dscg_way": "1" } })).await;
    let settled = h
        .ok("2304", HOSPITAL, json!({ "data": { "psn_no": "P0003", "mdtrt_id": mdtrt_id, "medfee_sumamt": "200.00", "mid_setl_flag": "0", "insutype": "390", "acct_used_flag": "0", "mdtrt_cert_type": "02" } }))
        .await;
    (mdtrt_id, setl_id(&settled))
}

fn list(setl_id: &str, mdtrt_id: &str) -> Value {
    json!({
        "setlinfo": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "P0003", "gend": "2", "age": 71,
                      "adm_time": "2026-02-20 08:00:00", "dscg_time": "2026-02-25 10:00:00", "act_ipt_days": 5,
                      "dscg_way": "1", "medcasno": "BA001" },
        "diseinfo": [
            { "diag_type": "1", "diag_code": "I10.x00", "diag_name": "高血压", "maindiag_flag": "0" },
            { "diag_type": "1", "diag_code": "K80.100", "diag_name": "胆囊结石伴急性胆囊炎", "maindiag_flag": "1", "adm_cond_type": "1" }
        ],
        "oprninfo": [
            { "oprn_oprt_type": "1", "oprn_oprt_code": "51.2300", "oprn_oprt_name": "腹腔镜下胆囊切除术", "main_oprn_flag": "1",
              "oprn_oprt_begntime": "2026-02-21 09:00:00", "oprn_oprt_endtime": "2026-02-21 10:30:00" }
        ],
        "payinfo": [], "iteminfo": [], "icuinfo": [], "bldinfo": []
    })
}

#[tokio::test]
async fn lists_are_checked_stored_queried_and_grouped() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let h = Harness::start(backend, AuthMode::None, "setllist").await;
        let (mdtrt_id, setl_id) = settled_stay(&h).await;
        let good = list(&setl_id, &mdtrt_id);
        let stored = h.ok("4101A", HOSPITAL, good.clone()).await;
        assert_eq!(stored["data"]["setl_list_id"], format!("{setl_id}01"));
        let again = h.ok("4101", HOSPITAL, good.clone()).await;
        assert_eq!(
            again["data"]["setl_list_id"],
            format!("{setl_id}02"),
            "a correction replaces it"
        );

        let queried = h
            .ok("4103", HOSPITAL, json!({ "data": { "setl_id": setl_id } }))
            .await;
        assert_eq!(queried["setlinfo"]["setl_list_id"], format!("{setl_id}02"));
        assert_eq!(queried["diseinfo"][1]["diag_code"], "K80.100");
        // The DRG grouper reads the stored list: main diagnosis first, the main procedure.
        let mut conn = h.store.pool().acquire().await.unwrap();
        let lists =
            yibao_ledger::setl_lists::discharged_between(&mut conn, "2026-02-01", "2026-02-28")
                .await
                .unwrap();
        drop(conn);
        assert_eq!(lists.len(), 1);
        let case = yibao_drg_grouper::parse_json_case(&lists[0].content, 1).unwrap();
        assert_eq!(
            case.diagnoses,
            vec!["K80.100".to_string(), "I10.x00".to_string()]
        );
        assert_eq!(case.procedures, vec!["51.2300".to_string()]);
        assert_eq!(case.los_days, Some(5));

        let refuse = |mutate: &dyn Fn(&mut Value), field: &'static str| {
            let mut bad = good.clone();
            mutate(&mut bad);
            (bad, field)
        };
        let cases = [
            refuse(
                &|v| v["diseinfo"][1]["maindiag_flag"] = json!("0"),
                "input.diseinfo",
            ),
            refuse(
                &|v| v["diseinfo"][0]["diag_code"] = json!("高血压"),
                "input.diseinfo[0].diag_code",
            ),
            refuse(
                &|v| v["setlinfo"]["dscg_way"] = json!("7"),
                "input.setlinfo.dscg_way",
            ),
            refuse(
                &|v| v["setlinfo"]["nwb_bir_wt"] = json!(50),
                "input.setlinfo.nwb_bir_wt",
            ),
            refuse(
                &|v| v["oprninfo"][0]["oprn_oprt_begntime"] = json!("2026-03-01 09:00:00"),
                "input.oprninfo[0].oprn_oprt_begntime",
            ),
            refuse(
                &|v| v["oprninfo"][0]["oprn_oprt_code"] = json!("X1"),
                "input.oprninfo[0].oprn_oprt_code",
            ),
            refuse(
                &|v| v["setlinfo"]["psn_no"] = json!("P0001"),
                "input.setlinfo.psn_no",
            ),
            refuse(
                &|v| v["setlinfo"]["setl_id"] = json!("999"),
                "input.setlinfo.setl_id",
            ),
        ];
        for (bad, field) in cases {
            let err = h.fails("4101", HOSPITAL, bad).await;
            assert!(err.contains(field), "{field}: {err}");
        }
        let err = h.fails("4101", "H36040200002", good.clone()).await;
        assert!(
            err.contains("input.setlinfo.setl_id"),
            "another institution's settlement: {err}"
        );
        h.ok(
            "2305",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0003", "setl_id": setl_id, "mdtrt_id": mdtrt_id } }),
        )
        .await;
        let err = h.fails("4101", HOSPITAL, good).await;
        assert!(err.contains("已撤销"), "{err}");
        h.stop().await;
    }
}
