//! The file channel: 9101 文件上传 and 9102 文件下载 (on the file routes or through `callService`),
//! and the files other transactions issue (3202 results, 1301–1319 downloads). Files are kept in the
//! `files` table per institution until `dld_endtime`; bulk exchange is a ZIP of UTF-8 TXT, one
//! record per line, TAB-separated.

use std::io::{Cursor, Read, Write};

use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use yibao_ledger::files::{self, StoredFile};
use yibao_ledger::LedgerView;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::{Ctx, TxOutput};
use crate::error::TxError;

/// A file a transaction hands back as raw bytes (9102).
#[derive(Debug, Clone)]
pub struct Download {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// The handle of a stored file, as 9101 and 3202 answer it.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub file_qury_no: String,
    pub filename: String,
    /// `yyyy-MM-dd HH:mm:ss`: downloads are refused after it.
    pub dld_endtime: String,
}

#[derive(Deserialize)]
struct UploadIn {
    /// The file's bytes: base64 text (some clients name it `file`), or an array of byte values.
    #[serde(default, alias = "file")]
    r#in: Value,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    filename: Option<String>,
}

#[derive(Deserialize)]
struct DownloadIn {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    file_qury_no: Option<String>,
}

/// 9101: stores the uploaded file for this institution and answers its `file_qury_no`.
pub async fn upload(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let upload: UploadIn = parse(node(&ctx.request.input, "fsUploadIn")?, "input.fsUploadIn")?;
    let filename = upload
        .filename
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| TxError::new("input.fsUploadIn.filename", "不能为空"))?;
    if filename.chars().count() > 200 {
        return Err(TxError::new("input.fsUploadIn.filename", "超过 200 个字符"));
    }
    let bytes = file_bytes(&upload.r#in, ctx.shared.config.file_limit_bytes)?;
    let info = issue(ctx, ledger, filename, bytes).await?;
    #[derive(Serialize)]
    struct Output {
        file_qury_no: String,
        filename: String,
        fixmedins_code: String,
        dld_endtime: String,
    }
    Ok(TxOutput::read(common::to_output(&Output {
        file_qury_no: info.file_qury_no,
        filename: info.filename,
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        dld_endtime: info.dld_endtime,
    })?))
}

/// The bytes of `fsUploadIn.in`: base64 text or an array of byte values (0–255, or Java's signed
/// −128–127), at most `limit_bytes`.
fn file_bytes(value: &Value, limit_bytes: usize) -> Result<Vec<u8>, TxError> {
    const FIELD: &str = "input.fsUploadIn.in";
    let bytes = match value {
        Value::String(text) => {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.len() / 4 * 3 > limit_bytes + 3 {
                return Err(too_large(limit_bytes));
            }
            base64::engine::general_purpose::STANDARD
                .decode(compact.trim_end_matches('=').to_string() + padding(&compact))
                .map_err(|e| TxError::new(FIELD, format!("不是有效的 base64 编码（{e}）")))?
        }
        Value::Array(items) => {
            if items.len() > limit_bytes {
                return Err(too_large(limit_bytes));
            }
            items
                .iter()
                .map(|item| {
                    item.as_i64()
                        .filter(|b| (-128..=255).contains(b))
                        .map(|b| b as u8)
                        .ok_or_else(|| TxError::new(FIELD, format!("`{item}` 不是字节值")))
                })
                .collect::<Result<Vec<u8>, _>>()?
        }
        Value::Null => return Err(TxError::new(FIELD, "不能为空（文件内容 base64）")),
        other => {
            return Err(TxError::new(
                FIELD,
                format!("应为 base64 文本或字节数组，收到 {other}"),
            ))
        }
    };
    if bytes.is_empty() {
        return Err(TxError::new(FIELD, "文件为空"));
    }
    if bytes.len() > limit_bytes {
        return Err(too_large(limit_bytes));
    }
    Ok(bytes)
}

/// The `=` padding unpadded base64 text needs (some clients drop it).
fn padding(text: &str) -> &'static str {
    match text.trim_end_matches('=').len() % 4 {
        2 => "==",
        3 => "=",
        _ => "",
    }
}

fn too_large(limit_bytes: usize) -> TxError {
    TxError::new(
        "input.fsUploadIn.in",
        format!("文件超过 {limit_bytes} 字节的上限"),
    )
}

/// 9102: the bytes of a file this institution uploaded or was issued, before its `dld_endtime`.
pub async fn download(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let wanted: DownloadIn = parse(
        node(&ctx.request.input, "fsDownloadIn")?,
        "input.fsDownloadIn",
    )?;
    let file_qury_no = wanted
        .file_qury_no
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| TxError::new("input.fsDownloadIn.file_qury_no", "不能为空"))?;
    let file = owned_file(
        ctx,
        ledger,
        "input.fsDownloadIn.file_qury_no",
        &file_qury_no,
    )
    .await?;
    #[derive(Serialize)]
    struct Output<'a> {
        file_qury_no: &'a str,
        filename: &'a str,
        file_size: usize,
    }
    let output = common::to_output(&Output {
        file_qury_no: &file.file_qury_no,
        filename: &file.filename,
        file_size: file.bytes.len(),
    })?;
    Ok(TxOutput::read(output).with_download(Download {
        filename: file.filename,
        bytes: file.bytes,
    }))
}

/// A live file of this institution; another institution's file is reported as absent, an expired
/// one is refused and every expired file pruned.
pub async fn owned_file(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    field: &str,
    file_qury_no: &str,
) -> Result<StoredFile, TxError> {
    let file = files::file(ledger.conn(), file_qury_no)
        .await?
        .filter(|f| f.fixmedins_code == ctx.request.fixmedins_code)
        .ok_or_else(|| {
            TxError::new(
                field,
                format!(
                    "文件查询号 {file_qury_no} 不存在（本机构 {} 未上传或未获发此文件）",
                    ctx.request.fixmedins_code
                ),
            )
        })?;
    let now = wire_time(ctx.now);
    if file.expires_at < now {
        files::prune_expired(ledger.conn(), &now).await?;
        return Err(TxError::new(
            field,
            format!(
                "文件 {file_qury_no} 已于 {} 过期，请重新上传或重新获取",
                file.expires_at
            ),
        ));
    }
    Ok(file)
}

/// Stores a file for this institution (pruning expired files first) and returns its handle.
pub async fn issue(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    filename: String,
    bytes: Vec<u8>,
) -> Result<FileInfo, TxError> {
    let now = wire_time(ctx.now);
    files::prune_expired(ledger.conn(), &now).await?;
    let ttl = Duration::seconds(i64::try_from(ctx.shared.config.file_ttl_secs).unwrap_or(i64::MAX));
    let expires = ctx
        .now
        .checked_add_signed(ttl)
        .unwrap_or(NaiveDateTime::MAX);
    let file = StoredFile {
        file_qury_no: new_file_qury_no(ctx),
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        filename,
        bytes,
        created_at: now,
        expires_at: wire_time(expires),
    };
    files::put_file(ledger.conn(), &file).await?;
    Ok(FileInfo {
        file_qury_no: file.file_qury_no,
        filename: file.filename,
        dld_endtime: file.expires_at,
    })
}

/// A new numeric handle: nanoseconds since the epoch and a serial of this process (23 digits).
fn new_file_qury_no(ctx: &Ctx<'_>) -> String {
    let nanos = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap_or_default()
        .unsigned_abs();
    format!("{nanos:019}{:04}", ctx.shared.next_serial() % 10_000)
}

fn wire_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A ZIP holding one deflated TXT entry named `entry` of `lines`, each ended by `\n`.
pub fn zip_txt(entry: &str, lines: &[String]) -> Result<Vec<u8>, TxError> {
    let fail = |e: &dyn std::fmt::Display| TxError::internal(format!("文件打包失败（{e}）"));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(entry, options).map_err(|e| fail(&e))?;
    for line in lines {
        zip.write_all(line.as_bytes()).map_err(|e| fail(&e))?;
        zip.write_all(b"\n").map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

/// The text of every TXT entry of a ZIP, in order, at most `limit_bytes` unpacked in all.
pub fn unzip_txt(field: &str, bytes: &[u8], limit_bytes: usize) -> Result<String, TxError> {
    let bad = |problem: String| TxError::new(field, problem);
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("不是有效的 ZIP 文件（{e}）")))?;
    let mut text = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| bad(format!("ZIP 第 {} 个条目无法读取（{e}）", index + 1)))?;
        if !entry.is_file() {
            continue;
        }
        let room = (limit_bytes + 1).saturating_sub(text.len());
        (&mut entry)
            .take(room as u64)
            .read_to_end(&mut text)
            .map_err(|e| bad(format!("ZIP 第 {} 个条目无法解压（{e}）", index + 1)))?;
        if text.len() > limit_bytes {
            return Err(bad(format!("解压后超过 {limit_bytes} 字节的上限")));
        }
        if !text.ends_with(b"\n") && !text.is_empty() {
            text.push(b'\n');
        }
    }
    String::from_utf8(text).map_err(|_| bad("文件内容不是 UTF-8 文本".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_round_trip_and_limit() {
        let lines = vec!["a\tb".to_string(), "c\td".to_string()];
        let bytes = zip_txt("x.txt", &lines).unwrap();
        assert_eq!(unzip_txt("f", &bytes, 1000).unwrap(), "a\tb\nc\td\n");
        let error = unzip_txt("f", &bytes, 5).unwrap_err();
        assert!(error.problem.contains("上限"), "{error:?}");
        assert!(unzip_txt("f", b"not a zip", 1000).is_err());
    }

    #[test]
    fn bytes_come_as_base64_with_or_without_padding_or_as_an_array() {
        let padded = Value::String("aGk=".into());
        assert_eq!(file_bytes(&padded, 10).unwrap(), b"hi");
        let unpadded = Value::String("aGk".into());
        assert_eq!(file_bytes(&unpadded, 10).unwrap(), b"hi");
        let signed = serde_json::json!([104, -1]);
        assert_eq!(file_bytes(&signed, 10).unwrap(), [104, 255]);
        assert!(file_bytes(&Value::String("aGVsbG8=".into()), 4).is_err());
        assert!(file_bytes(&serde_json::json!([300]), 10).is_err());
    }
}
