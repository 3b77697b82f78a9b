//! The file channel's storage (`migrations/0008_files_catalog_versions.sql`): files an institution
//! uploaded with 9101 and files issued to it (3202 results, 1301–1319 catalogue downloads), each
//! readable by that institution only, until it expires. Written on a pooled connection, outside the
//! ledger writer: a file is not part of the ledger.

use sqlx::{AnyConnection, Row};

use crate::LedgerError;

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The handle the HIS downloads it by.
    pub file_qury_no: String,
    /// The institution that uploaded it or to which it was issued.
    pub fixmedins_code: String,
    pub filename: String,
    pub bytes: Vec<u8>,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub created_at: String,
    /// `yyyy-MM-dd HH:mm:ss`: the reply's `dld_endtime`; the file is refused and pruned after it.
    pub expires_at: String,
}

/// Stores a new file.
pub async fn put_file(conn: &mut AnyConnection, file: &StoredFile) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO files (file_qury_no, fixmedins_code, filename, bytes, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(file.file_qury_no.clone())
    .bind(file.fixmedins_code.clone())
    .bind(file.filename.clone())
    .bind(file.bytes.clone())
    .bind(file.created_at.clone())
    .bind(file.expires_at.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored file by its handle, expired or not.
pub async fn file(
    conn: &mut AnyConnection,
    file_qury_no: &str,
) -> Result<Option<StoredFile>, LedgerError> {
    let row = sqlx::query(
        "SELECT file_qury_no, fixmedins_code, filename, bytes, created_at, expires_at \
         FROM files WHERE file_qury_no = $1",
    )
    .bind(file_qury_no.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(StoredFile {
            file_qury_no: row.try_get("file_qury_no")?,
            fixmedins_code: row.try_get("fixmedins_code")?,
            filename: row.try_get("filename")?,
            bytes: row.try_get("bytes")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Deletes the files that expired before `now` (`yyyy-MM-dd HH:mm:ss`); returns how many.
pub async fn prune_expired(conn: &mut AnyConnection, now: &str) -> Result<u64, LedgerError> {
    let done = sqlx::query("DELETE FROM files WHERE expires_at < $1")
        .bind(now.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
