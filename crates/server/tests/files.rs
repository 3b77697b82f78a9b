//! The file channel over real HTTP, on SQLite and on PostgreSQL: 9101 文件上传 and 9102 文件下载 on
//! the file routes and through `callService`, per-institution isolation, the size limit and expiry.

use crate::common;

use base64::Engine;
use common::{fresh_database, Backend, Harness, RawReply};
use serde_json::{json, Value};
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";
const OTHER_HOSPITAL: &str = "H36040200002";

/// 9101 on the upload route; the reply envelope.
async fn upload(h: &Harness, fixmedins: &str, filename: &str, bytes: &[u8]) -> Value {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let input = json!({ "fsUploadIn": { "in": encoded, "filename": filename, "fixmedins_code": fixmedins } });
    let answer = h
        .post_raw("/fsi/api/fileupload/upload", "9101", fixmedins, input)
        .await;
    assert_eq!(answer.status, 200);
    answer.envelope()
}

/// 9102 on the download route.
async fn download(h: &Harness, fixmedins: &str, file_qury_no: &str) -> RawReply {
    h.download(fixmedins, &json!(file_qury_no)).await
}

async fn each_backend<F, Fut>(tag: &str, config: fn(Config) -> Config, test: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        eprintln!("on {backend:?}");
        let (database, dir) = fresh_database(backend, tag).await;
        let h = Harness::start_with(config(Config {
            database,
            data_dir: dir,
            auth: AuthMode::None,
            ..Config::default()
        }))
        .await;
        h.load_fixtures().await;
        test(h).await;
    }
}

#[tokio::test]
async fn an_upload_is_downloaded_byte_for_byte_by_its_institution_only() {
    each_backend("files", |c| c, |h| async move {
        // Every byte value, so a text round trip would show.
        let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let reply = upload(&h, HOSPITAL, "明细.zip", &bytes).await;
        assert_eq!(reply["infcode"], 0, "{reply}");
        let output = &reply["output"];
        let file_qury_no = output["file_qury_no"].as_str().unwrap().to_string();
        assert!(file_qury_no.chars().all(|c| c.is_ascii_digit()), "{output}");
        assert!(file_qury_no.len() <= 30, "{output}");
        assert_eq!(output["filename"], "明细.zip");
        assert_eq!(output["fixmedins_code"], HOSPITAL);
        assert_eq!(output["dld_endtime"].as_str().unwrap().len(), 19, "{output}");

        let answer = download(&h, HOSPITAL, &file_qury_no).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "application/octet-stream");
        assert_eq!(answer.bytes, bytes);

        // Through callService, with the upload's bytes named `file` as some clients do.
        let encoded = base64::engine::general_purpose::STANDARD.encode(b"second");
        let second = h
            .ok("9101", HOSPITAL, json!({ "fsUploadIn": { "file": encoded, "filename": "b.txt", "fixmedins_code": HOSPITAL } }))
            .await;
        let second_no = second["file_qury_no"].as_str().unwrap();
        assert_ne!(second_no, file_qury_no);
        let input = json!({ "fsDownloadIn": { "file_qury_no": second_no, "filename": "b.txt", "fixmedins_code": HOSPITAL } });
        let through_call = h
            .post_raw("/fsi/api/rsfComIfsService/callService", "9102", HOSPITAL, input)
            .await;
        assert_eq!(through_call.content_type, "application/octet-stream");
        assert_eq!(through_call.bytes, b"second");

        // Another institution cannot tell the file exists.
        let refused = download(&h, OTHER_HOSPITAL, &file_qury_no).await.envelope();
        assert_eq!(refused["infcode"], -1, "{refused}");
        let err = refused["err_msg"].as_str().unwrap();
        assert!(err.contains("input.fsDownloadIn.file_qury_no") && err.contains("不存在"), "{err}");
        let unknown = download(&h, HOSPITAL, "123").await.envelope();
        assert_eq!(unknown["infcode"], -1, "{unknown}");

        // Missing or undecodable content names the field.
        let empty = h
            .fails("9101", HOSPITAL, json!({ "fsUploadIn": { "filename": "a.zip" } }))
            .await;
        assert!(empty.contains("input.fsUploadIn.in"), "{empty}");
        let garbled = h
            .fails("9101", HOSPITAL, json!({ "fsUploadIn": { "in": "***", "filename": "a.zip" } }))
            .await;
        assert!(garbled.contains("base64"), "{garbled}");
        let nameless = h
            .fails("9101", HOSPITAL, json!({ "fsUploadIn": { "in": "aGk=" } }))
            .await;
        assert!(nameless.contains("input.fsUploadIn.filename"), "{nameless}");
        // The upload route takes 9101 only.
        let wrong = h
            .post_raw("/fsi/api/fileupload/upload", "9102", HOSPITAL, json!({}))
            .await;
        assert_eq!(wrong.envelope()["infcode"], -1);
    })
    .await;
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_and_nothing_is_stored() {
    fn small(config: Config) -> Config {
        Config {
            file_limit_bytes: 1000,
            ..config
        }
    }
    each_backend("filelimit", small, |h| async move {
        let fits = upload(&h, HOSPITAL, "a.bin", &[7u8; 1000]).await;
        assert_eq!(fits["infcode"], 0, "{fits}");
        let over = upload(&h, HOSPITAL, "b.bin", &[7u8; 1001]).await;
        assert_eq!(over["infcode"], -1, "{over}");
        let err = over["err_msg"].as_str().unwrap();
        assert!(
            err.contains("input.fsUploadIn.in") && err.contains("1000"),
            "{err}"
        );
        let mut conn = h.store.pool().acquire().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(count, 1);
    })
    .await;
}

#[tokio::test]
async fn an_expired_file_is_refused_and_pruned() {
    fn short_lived(config: Config) -> Config {
        Config {
            file_ttl_secs: 1,
            ..config
        }
    }
    each_backend("fileexp", short_lived, |h| async move {
        let reply = upload(&h, HOSPITAL, "a.zip", b"soon gone").await;
        let file_qury_no = reply["output"]["file_qury_no"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            download(&h, HOSPITAL, &file_qury_no).await.bytes,
            b"soon gone"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let refused = download(&h, HOSPITAL, &file_qury_no).await.envelope();
        assert_eq!(refused["infcode"], -1, "{refused}");
        assert!(
            refused["err_msg"].as_str().unwrap().contains("过期"),
            "{refused}"
        );
        let mut conn = h.store.pool().acquire().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(count, 0, "the expired file is pruned");
    })
    .await;
}

/// An outpatient visit of P0002 at `fixmedins` with 41.00 of lines, settled by 2207; its output.
async fn settled_visit(h: &Harness, fixmedins: &str) -> Value {
    let registered = h
        .ok("2201", fixmedins, json!({ "data": { "psn_no": "P0002", "insutype": "310", "begntime": "2026-03-01 09:00:00", "mdtrt_cert_type": "02", "ipt_otp_no": "OTP1" } }))
        .await;
    let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_string();
    h.ok("2203", fixmedins, json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": "P0002", "med_type": "11", "begntime": "2026-03-01 09:00:00", "dise_codg": "I10.x00", "dise_name": "原发性高血压" } }))
        .await;
    h.ok(
        "2204",
        fixmedins,
        json!({ "feedetail": [
        common::line("1", &mdtrt_id, common::DRUG, "2", "0.50", "1.00"),
        common::line("2", &mdtrt_id, common::BED, "1", "40.00", "40.00"),
    ] }),
    )
    .await;
    h.ok("2207", fixmedins, json!({ "data": { "psn_no": "P0002", "mdtrt_id": mdtrt_id, "insutype": "310", "medfee_sumamt": "41.00", "acct_used_flag": "1", "mdtrt_cert_type": "02" } }))
        .await
}

/// A detail file row: setl_id, mdtrt_id, psn_no, the three amounts of `setlinfo`, refd_setl_flag.
fn detail_row(setlinfo: &Value, setl_id: &str, refund: bool) -> String {
    [
        setl_id.to_string(),
        setlinfo["mdtrt_id"].as_str().unwrap().to_string(),
        "P0002".to_string(),
        common::yuan(&setlinfo["medfee_sumamt"]),
        common::yuan(&setlinfo["fund_pay_sumamt"]),
        common::yuan(&setlinfo["acct_pay"]),
        if refund { "1" } else { "0" }.to_string(),
    ]
    .join("\t")
}

fn zip_of(entry: &str, text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(entry, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(text.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// 3202 in the spec's form: the detail uploaded with 9101, the result file downloaded with 9102,
/// one row per settlement with its `stmt_rslt` and `msgid`; a refund row may name the original.
#[tokio::test]
async fn reconciliation_by_detail_file_finds_the_mismatch() {
    each_backend("recon", |c| c, |h| async move {
        let kept = settled_visit(&h, HOSPITAL).await;
        let cancelled = settled_visit(&h, HOSPITAL).await;
        let kept_id = common::setl_id(&kept);
        let cancelled_id = common::setl_id(&cancelled);
        let cancel = h
            .ok("2208", HOSPITAL, json!({ "data": { "setl_id": cancelled_id, "mdtrt_id": cancelled["setlinfo"]["mdtrt_id"], "psn_no": "P0002" } }))
            .await;
        // The kept settlement with its account payment one fen off, the cancelled one and its
        // refund (named by the original settlement, as some HIS do), and a settlement yibao lacks.
        let mut wrong = kept["setlinfo"].clone();
        let acct_pay_fen = common::fen(&wrong["acct_pay"]) + 1;
        wrong["acct_pay"] = json!(format!("{}.{:02}", acct_pay_fen / 100, acct_pay_fen % 100));
        let text = [
            detail_row(&wrong, &kept_id, false),
            detail_row(&cancelled["setlinfo"], &cancelled_id, false),
            detail_row(&cancel["setlinfo"], &cancelled_id, true),
            format!("X999\t{}\tP0002\t10.00\t0.00\t0.00\tnull", kept["setlinfo"]["mdtrt_id"].as_str().unwrap()),
        ]
        .join("\n");
        let uploaded = upload(&h, HOSPITAL, "detail.zip", &zip_of("detail.txt", &text)).await;
        let file_qury_no = uploaded["output"]["file_qury_no"].as_str().unwrap().to_string();
        let today = chrono::Local::now().format("%Y-%m-%d").to_string();
        let data = json!({ "data": { "setl_optins": "360400", "file_qury_no": file_qury_no, "stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": "92.00", "fund_pay_sumamt": "0", "cash_payamt": "0", "fixmedins_setl_cnt": "1", "clr_type": "11", "fixmedins_refd_setl_flag": "0" } });
        let out = h.ok("3202", HOSPITAL, data.clone()).await;
        let fileinfo = &out["fileinfo"];
        assert_eq!(fileinfo["dld_endtime"].as_str().unwrap().len(), 19, "{out}");
        assert!(fileinfo["filename"].as_str().unwrap().ends_with(".zip"), "{out}");
        let text = h.download(HOSPITAL, &fileinfo["file_qury_no"]).await.unzipped();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 4, "{text}");
        assert!(rows.iter().all(|r| r.len() == 10), "{text}");
        let row = |setl_id: &str| rows.iter().find(|r| r[0] == setl_id).unwrap_or_else(|| panic!("{setl_id} in {text}"));
        let kept_row = row(&kept_id);
        assert_eq!(kept_row[4], "1", "{text}");
        assert!(kept_row[6].contains("个人账户支付"), "{text}");
        assert!(kept_row[3].starts_with(HOSPITAL), "msgid for 2601: {text}");
        assert_eq!(row(&cancelled_id)[4], "0", "{text}");
        let refund_row = row(&common::setl_id(&cancel));
        assert_eq!((refund_row[4], refund_row[5]), ("0", "1"), "{text}");
        assert_eq!(refund_row[7], "-41.00", "{text}");
        let unknown = row("X999");
        assert_eq!(unknown[4], "1", "{text}");
        assert!(unknown[6].contains("医保端无此结算"), "{text}");

        // Another institution cannot reconcile with this file; a 3202 without a file or rows is refused.
        let err = h.fails("3202", OTHER_HOSPITAL, data).await;
        assert!(err.contains("input.data.file_qury_no"), "{err}");
        let err = h
            .fails("3202", HOSPITAL, json!({ "data": { "setl_optins": "360400", "stmt_begndate": today, "stmt_enddate": today } }))
            .await;
        assert!(err.contains("input.data.file_qury_no"), "{err}");
    })
    .await;
}
