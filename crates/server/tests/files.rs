//! The file channel over real HTTP, on SQLite and on PostgreSQL: 9101 文件上传 and 9102 文件下载 on
//! the file routes and through `callService`, per-institution isolation, the size limit and expiry.

mod common;

use base64::Engine;
use common::{fresh_database, Backend, Harness};
use serde_json::{json, Value};
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";
const OTHER_HOSPITAL: &str = "H36040200002";

/// A reply of a file route: status, content type and body.
struct Answer {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
}

impl Answer {
    fn envelope(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "{}",
            self.content_type
        );
        serde_json::from_slice(&self.bytes).unwrap()
    }
}

async fn post(h: &Harness, path: &str, infno: &str, fixmedins: &str, input: Value) -> Answer {
    let msgid = h.msgid(fixmedins);
    let body = serde_json::to_vec(&Harness::envelope(infno, fixmedins, &msgid, input)).unwrap();
    let response = h
        .client
        .post(format!("{}{path}", h.base))
        .header("content-type", "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.bytes().await.unwrap().to_vec();
    Answer {
        status,
        content_type,
        bytes,
    }
}

/// 9101 on the upload route; the reply envelope.
async fn upload(h: &Harness, fixmedins: &str, filename: &str, bytes: &[u8]) -> Value {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let input = json!({ "fsUploadIn": { "in": encoded, "filename": filename, "fixmedins_code": fixmedins } });
    let answer = post(h, "/fsi/api/fileupload/upload", "9101", fixmedins, input).await;
    assert_eq!(answer.status, 200);
    answer.envelope()
}

/// 9102 on the download route.
async fn download(h: &Harness, fixmedins: &str, file_qury_no: &str) -> Answer {
    let input = json!({ "fsDownloadIn": { "file_qury_no": file_qury_no, "filename": "", "fixmedins_code": "plc" } });
    post(h, "/fsi/api/fileupload/download", "9102", fixmedins, input).await
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
        let through_call = post(&h, "/fsi/api/rsfComIfsService/callService", "9102", HOSPITAL, input).await;
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
        let wrong = post(&h, "/fsi/api/fileupload/upload", "9102", HOSPITAL, json!({})).await;
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
