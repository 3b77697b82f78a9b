//! Catalogue and dictionary exchange over real HTTP, on SQLite and on PostgreSQL: 1301/1305
//! downloads by version (only the rows changed since, fetched with 9102), catalogue versions kept
//! with their effective dates, 1312 paging and filters, 1901 dictionary rows.

use crate::common;

use common::{Backend, Harness};
use serde_json::{json, Value};
use yibao_server::config::AuthMode;

const HOSPITAL: &str = "H36040200001";

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

/// The rows of a 1301–1306 download: its reply, then the file through 9102, unpacked and split.
async fn download(h: &Harness, infno: &str, ver: &str) -> (Value, Vec<Vec<String>>) {
    let out = h
        .ok(infno, HOSPITAL, json!({ "data": { "ver": ver } }))
        .await;
    let text = h.download(HOSPITAL, &out["file_qury_no"]).await.unzipped();
    let rows = text
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    (out, rows)
}

fn sample_catalog() -> String {
    std::fs::read_to_string(common::repo_root().join("catalogs/jiujiang-sample.csv")).unwrap()
}

/// The sample catalogue with 阿莫西林 regraded, 左氧氟沙星 left out, a new drug and a service renamed.
fn second_catalog() -> String {
    let mut text = String::new();
    for line in sample_catalog().lines() {
        let line = if line.starts_with("XJ01CAA040A001010101791,") {
            line.replace(",101,09,01,0,", ",101,09,02,0.10,")
        } else if line.starts_with("XJ01MAL011A001010101567,") {
            continue;
        } else if line.starts_with("001201000010000,") {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells[1] = "普通病房床位费（调整）";
            cells.join(",")
        } else {
            line.to_string()
        };
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str("XNEW0001,新增药品片,101,09,01,0,,0,,,,\n");
    text
}

#[tokio::test]
async fn a_download_by_version_holds_only_the_changes_since() {
    each_backend("cat_ver", |h| async move {
        // Everything: the 101 items of the sample catalogue, all of version 1.
        let (out, rows) = download(&h, "1301", "v0000").await;
        assert_eq!(out["data_cnt"], rows.len(), "{out}");
        assert_eq!(rows.len(), 23, "{rows:?}");
        // The national layout: 92 columns, 有效标志 the 79th, 版本号 the 83rd.
        assert!(rows.iter().all(|r| r.len() == 92), "{rows:?}");
        assert!(
            rows.iter().all(|r| r[82] == "1" && r[78] == "1"),
            "{rows:?}"
        );
        assert!(
            rows.iter().all(|r| r[57] == "0" || r[57] == "1"),
            "限制使用标志: {rows:?}"
        );
        assert_eq!(out["dld_end_time"].as_str().unwrap().len(), 10, "{out}");
        assert!(out["filename"].as_str().unwrap().ends_with(".zip"), "{out}");

        let loaded = h
            .admin(
                "PUT",
                "/admin/catalog/360400?begndate=2026-07-01",
                second_catalog(),
            )
            .await;
        assert_eq!(loaded["ver"], 2, "{loaded}");
        // The same text again is no new version.
        let again = h
            .admin(
                "PUT",
                "/admin/catalog/360400?begndate=2026-08-01",
                second_catalog(),
            )
            .await;
        assert_eq!(again["ver"], 2, "{again}");

        let (out, rows) = download(&h, "1301", "1").await;
        assert_eq!(out["data_cnt"], 3, "{out} {rows:?}");
        let row = |code: &str| {
            rows.iter()
                .find(|r| r[0] == code)
                .unwrap_or_else(|| panic!("{code}: {rows:?}"))
        };
        assert_eq!(row("XJ01CAA040A001010101791")[78], "1");
        assert_eq!(
            row("XJ01MAL011A001010101567")[78],
            "0",
            "left out: not valid"
        );
        assert_eq!(row("XNEW0001")[1], "新增药品片");
        assert!(
            rows.iter().all(|r| r[82] == "2" && r[83] == "V2"),
            "{rows:?}"
        );
        assert!(
            rows.iter().all(|r| r[2] == "null"),
            "a column yibao does not hold"
        );

        let (_, services) = download(&h, "1305", "V1").await;
        assert_eq!(services.len(), 1, "{services:?}");
        assert_eq!(services[0][0], "001201000010000");
        assert_eq!(services[0][9], "普通病房床位费（调整）");
        assert_eq!(services[0][11], "2026-07-01", "begndate of version 2");

        let (out, rows) = download(&h, "1301", "2").await;
        assert_eq!((out["data_cnt"].clone(), rows.len()), (json!(0), 0));
        let err = h
            .fails("1301", HOSPITAL, json!({ "data": { "ver": "9" } }))
            .await;
        assert!(err.contains("input.data.ver") && err.contains('2'), "{err}");
        let err = h
            .fails("1301", HOSPITAL, json!({ "data": { "ver": "" } }))
            .await;
        assert!(err.contains("input.data.ver"), "{err}");
        let err = h
            .fails("1301", HOSPITAL, json!({ "data": { "ver": "abc" } }))
            .await;
        assert!(err.contains("input.data.ver"), "{err}");

        // Both versions are kept, each with the day it takes effect.
        let mut conn = h.store.pool().acquire().await.unwrap();
        let versions = yibao_ledger::registry::catalog_versions(&mut conn, "360400")
            .await
            .unwrap();
        let dates: Vec<(i64, &str)> = versions
            .iter()
            .map(|v| (v.ver, v.begndate.as_str()))
            .collect();
        assert_eq!(dates[1], (2, "2026-07-01"), "{dates:?}");
        assert_eq!(versions.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn the_catalogue_query_pages_and_filters() {
    each_backend("cat_page", |h| async move {
        let page = |num: usize, size: usize| {
            json!({ "data": { "updt_time": "2000-01-01", "page_num": num, "page_size": size } })
        };
        let first = h.ok("1312", HOSPITAL, page(1, 10)).await;
        let total = first["recordCounts"].as_u64().unwrap() as usize;
        assert_eq!(total, 53, "{first}");
        assert_eq!(first["pages"], 6);
        assert_eq!(first["data"].as_array().unwrap().len(), 10);
        let last = h.ok("1312", HOSPITAL, page(6, 10)).await;
        assert_eq!(last["data"].as_array().unwrap().len(), 3, "{last}");
        assert_eq!(last["hasNextPage"], false);
        let second = h.ok("1312", HOSPITAL, page(2, 10)).await;
        assert_ne!(second["data"][0]["hilist_code"], first["data"][0]["hilist_code"]);
        let beyond = h.ok("1312", HOSPITAL, page(7, 10)).await;
        assert_eq!(beyond["data"].as_array().unwrap().len(), 0);

        let one = h
            .ok("1312", HOSPITAL, json!({ "data": { "hilist_code": "XJ01DDA063B002010100445", "updt_time": "2000-01-01", "page_num": "1", "page_size": "50" } }))
            .await;
        assert_eq!(one["recordCounts"], 1, "{one}");
        let row = &one["data"][0];
        assert_eq!(row["chrgitm_lv"], "02");
        assert_eq!(row["insu_admdvs"], "360400");
        assert_eq!(row["vali_flag"], "1");
        let services = h
            .ok("1312", HOSPITAL, json!({ "data": { "list_type": "201", "updt_time": "2000-01-01", "page_num": 1, "page_size": 100 } }))
            .await;
        assert_eq!(services["recordCounts"], 21, "{services}");
        let none = h
            .ok("1312", HOSPITAL, json!({ "data": { "updt_time": "2999-01-01", "page_num": 1, "page_size": 100 } }))
            .await;
        assert_eq!(none["recordCounts"], 0);
        let err = h
            .fails("1312", HOSPITAL, json!({ "data": { "updt_time": "2000-01-01", "page_num": 1, "page_size": 0 } }))
            .await;
        assert!(err.contains("input.data.page_size"), "{err}");
        let err = h
            .fails("1312", HOSPITAL, json!({ "data": { "updt_time": "2000-01-01", "page_size": 10 } }))
            .await;
        assert!(err.contains("input.data.page_num"), "{err}");
    })
    .await;
}

/// 1318 lists the items with a price cap, 1319 those with a 先行自付 ratio, each as the sample
/// catalogue's columns say.
#[tokio::test]
async fn price_caps_and_selfpay_ratios_are_queried_like_the_catalogue() {
    each_backend("cat_caps", |h| async move {
        let text = sample_catalog();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        let capped: Vec<&Vec<&str>> = rows.iter().filter(|r| !r[6].is_empty()).collect();
        let with_ratio = rows
            .iter()
            .filter(|r| !r[5].trim_start_matches(['0', '.']).is_empty())
            .count();
        let query =
            json!({ "data": { "updt_time": "2000-01-01", "page_num": 1, "page_size": 100 } });
        let caps = h.ok("1318", HOSPITAL, query.clone()).await;
        assert_eq!(caps["recordCounts"], capped.len(), "{caps}");
        let first = capped.iter().min_by_key(|r| r[0]).unwrap();
        let row = &caps["data"][0];
        assert_eq!(row["hilist_code"], first[0]);
        let cap = row["hilist_pric_uplmt_amt"].as_str().unwrap();
        assert_eq!(
            cap.trim_end_matches('0').trim_end_matches('.'),
            first[6].trim_end_matches('0').trim_end_matches('.'),
            "{row}"
        );
        let ratios = h.ok("1319", HOSPITAL, query).await;
        assert_eq!(ratios["recordCounts"], with_ratio, "{ratios}");
        assert_eq!(
            ratios["data"][0]["selfpay_prop"].as_str().unwrap().len(),
            6,
            "{ratios}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_dictionary_answers_the_national_code_tables() {
    each_backend("dict", |h| async move {
        let out = h
            .ok("1901", HOSPITAL, json!({ "data": { "type": "med_type", "parent_value": "", "admdvs": "360400", "date": "2026-03-01", "Vali_Flag": "1" } }))
            .await;
        let list = out["list"].as_array().unwrap();
        assert_eq!(list[0]["value"], "11");
        assert_eq!(list[0]["label"], "普通门诊");
        assert_eq!(list[0]["sort"], 1);
        assert!(list.iter().any(|r| r["value"] == "21" && r["label"] == "普通住院"));
        for row in list {
            for field in ["type", "label", "value", "parentValue", "sort", "valiFlag", "createUser", "createDate", "version"] {
                assert!(!row[field].is_null(), "{field}: {row}");
            }
        }
        let insutypes = h.ok("1901", HOSPITAL, json!({ "data": { "type": "INSUTYPE" } })).await;
        assert_eq!(insutypes["list"].as_array().unwrap().len(), 14, "{insutypes}");
        let err = h.fails("1901", HOSPITAL, json!({ "data": { "type": "no_such" } })).await;
        assert!(err.contains("input.data.type") && err.contains("med_type"), "{err}");
    })
    .await;
}

/// A fee line's split basis records the catalogue's digest; the admin listing names the version
/// each digest is, so a settlement's catalogue can be traced.
#[tokio::test]
async fn the_catalogue_version_of_a_split_can_be_traced() {
    each_backend("cat_trace", |h| async move {
        h.admin("PUT", "/admin/catalog/360400?begndate=2026-07-01", second_catalog())
            .await;
        let listing = h.admin("GET", "/admin/catalog/360400", String::new()).await;
        let versions = listing["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 2, "{listing}");
        assert_eq!(versions[1]["ver"], 2);
        assert_eq!(versions[1]["begndate"], "2026-07-01");
        assert_ne!(versions[0]["digest"], versions[1]["digest"]);
        let registered = h
            .ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "ipt_otp_no": "OTP1" } }))
            .await;
        let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap();
        h.ok("2203", HOSPITAL, json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "med_type": "11", "begntime": "2026-03-01 09:00:00", "dise_codg": "I10.x00" } }))
            .await;
        h.ok("2204", HOSPITAL, json!({ "feedetail": [common::line("1", mdtrt_id, "XNEW0001", "1", "1.00", "1.00")] }))
            .await;
        let mut conn = h.store.pool().acquire().await.unwrap();
        let basis: String = sqlx::query_scalar("SELECT split_basis FROM fee_line_events WHERE mdtrt_id = $1")
            .bind(mdtrt_id.to_string())
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let digest = versions[1]["digest"].as_str().unwrap();
        assert!(basis.contains(&format!("catalogue={digest}")), "{basis} {listing}");
    })
    .await;
}

/// Fee lines split with the catalogue version in force on the day the visit began: 阿莫西林 is 甲
/// in the sample catalogue and 乙 with 10 % self-pay in the second, effective 2026-07-01 until the
/// sample is imported again effective 2026-10-01.
#[tokio::test]
async fn a_visit_splits_with_the_catalogue_in_force_on_its_first_day() {
    each_backend("cat_by_date", |h| async move {
        h.admin("PUT", "/admin/catalog/360400?begndate=2026-07-01", second_catalog())
            .await;
        let reloaded = h
            .admin("PUT", "/admin/catalog/360400?begndate=2026-10-01", sample_catalog())
            .await;
        assert_eq!(reloaded["ver"], 3, "{reloaded}");
        for (begntime, preselfpay) in [("2026-08-01 09:00:00", 1.0), ("2026-11-01 09:00:00", 0.0)] {
            let registered = h
                .ok("2201", HOSPITAL, json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": begntime, "mdtrt_cert_type": "02", "ipt_otp_no": begntime } }))
                .await;
            let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap();
            h.ok("2203", HOSPITAL, json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "med_type": "11", "begntime": begntime, "dise_codg": "I10.x00" } }))
                .await;
            let mut line = common::line("1", mdtrt_id, "XJ01CAA040A001010101791", "1", "10.00", "10.00");
            line["fee_ocur_time"] = json!(begntime);
            let split = h.ok("2204", HOSPITAL, json!({ "feedetail": [line] })).await;
            assert_eq!(split["result"][0]["preselfpay_amt"], json!(preselfpay), "care from {begntime}: {split}");
        }
    })
    .await;
}

/// The bureau's code tables (1307–1311, 1313–1315) are downloaded by version like the catalogue:
/// the rows changed since the client's version, a code left out sent with 有效标志 0.
#[tokio::test]
async fn code_tables_are_downloaded_by_version() {
    each_backend("code_tables", |h| async move {
        let err = h
            .fails("1307", HOSPITAL, json!({ "data": { "ver": "0" } }))
            .await;
        assert!(err.contains("1307"), "not published yet: {err}");
        let first = "dise_codg,dise_name\nI10.x00,原发性高血压\nE11.900,2型糖尿病\nJ18.900,肺炎\n";
        let loaded = h
            .admin(
                "PUT",
                "/admin/code-table/360400/1307?begndate=2026-01-01",
                first.into(),
            )
            .await;
        assert_eq!(
            (loaded["count"].clone(), loaded["ver"].clone()),
            (json!(3), json!(1)),
            "{loaded}"
        );
        let second = "code,name\nI10.x00,原发性高血压\nE11.900,2型糖尿病（不伴有并发症）\n";
        let loaded = h
            .admin(
                "PUT",
                "/admin/code-table/360400/1307?begndate=2026-07-01",
                second.into(),
            )
            .await;
        assert_eq!(loaded["ver"], 2, "{loaded}");

        let (out, rows) = download(&h, "1307", "0").await;
        assert_eq!(out["data_cnt"], 3, "{out}");
        assert!(rows.iter().all(|r| r.len() == 24), "{rows:?}");
        let (_, rows) = download(&h, "1307", "V1").await;
        let row = |code: &str| {
            rows.iter()
                .find(|r| r[0] == code)
                .unwrap_or_else(|| panic!("{code}: {rows:?}"))
                .clone()
        };
        assert_eq!(rows.len(), 2, "{rows:?}");
        // The national 1307 layout: 诊断代码 the 11th column, 诊断名称 the 12th, 有效标志 the 19th,
        // 版本号 the 23rd.
        let e11 = row("E11.900");
        assert_eq!(
            (
                e11[10].as_str(),
                e11[11].as_str(),
                e11[18].as_str(),
                e11[22].as_str()
            ),
            ("E11.900", "2型糖尿病（不伴有并发症）", "1", "2")
        );
        let j18 = row("J18.900");
        assert_eq!((j18[18].as_str(), j18[22].as_str()), ("0", "2"), "left out");
        let (out, _) = download(&h, "1307", "2").await;
        assert_eq!(out["data_cnt"], 0, "{out}");
        let err = h
            .fails("1307", HOSPITAL, json!({ "data": { "ver": "3" } }))
            .await;
        assert!(err.contains("input.data.ver"), "{err}");

        let listing = h
            .admin("GET", "/admin/code-table/360400/1307", String::new())
            .await;
        assert_eq!(
            listing["versions"].as_array().unwrap().len(),
            2,
            "{listing}"
        );
        // 1304 pages the catalogue's 民族药 (list type 104): none in the sample.
        let out = h
            .ok(
                "1304",
                HOSPITAL,
                json!({ "data": { "page_num": "1", "page_size": "10" } }),
            )
            .await;
        assert_eq!(out["recordCounts"], 0, "{out}");
    })
    .await;
}

#[tokio::test]
async fn a_bad_code_table_is_refused_naming_what_is_wrong() {
    let h = Harness::start(Backend::Sqlite, AuthMode::None, "code_table_bad").await;
    let client = reqwest::Client::new();
    for (path, body, expected) in [
        ("/admin/code-table/360400/1312", "code,name\nA,x\n", "1312"),
        ("/admin/code-table/3604/1307", "code,name\nA,x\n", "3604"),
        ("/admin/code-table/360400/1307", "code\nA\n", "`name`"),
        (
            "/admin/code-table/360400/1307",
            "code,name\nA,x\nA,y\n",
            "twice",
        ),
        (
            "/admin/code-table/360400/1307?begndate=2026-13-01",
            "code,name\nA,x\n",
            "begndate",
        ),
    ] {
        let response = client
            .put(format!("{}{path}", h.base))
            .bearer_auth(common::ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains(expected), "{path}: {text}");
    }
    h.stop().await;
}
