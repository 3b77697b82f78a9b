//! Backup and restore of the embedded SQLite database (`<data dir>/yibao.db`).
//!
//! * [`backup`]: `VACUUM INTO` a new file. It runs as one read transaction, so the copy holds every
//!   commit made before it started and none half; the service goes on writing meanwhile (WAL), and
//!   the writer lock is not needed. The copy is written as `<out>.partial`, synced, then renamed:
//!   a file named `<out>` is always a whole backup.
//! * [`restore`]: copies a backup into a data directory that no writer is running on, after checking
//!   that it is a yibao database (SQLite's integrity check, yibao's migrations table); a database it
//!   replaces (only with `force`) is kept beside it. It then opens the restored database as the
//!   service would (migrating it forward) and runs [`verify`].
//!
//! PostgreSQL databases are backed up with PostgreSQL's own tools (`pg_dump`, or a base backup with
//! WAL archiving).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, Connection};

use crate::store::{applied_schema_version, SQLITE_FILE};
use crate::verify::{verify, VerifyReport};
use crate::writer_lock::lock_file;
use crate::{Backend, LedgerError, Store};

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The backup file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The schema version (highest migration) of the database backed up.
    pub schema_version: i64,
    /// Ledger entries (settlements and cancellations) in the backup.
    pub ledger_entries: i64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The restored database.
    pub database: PathBuf,
    /// Where the database it replaced was moved (`--force`), if there was one.
    pub replaced: Option<PathBuf>,
    /// The schema version of the backup (the restored database is migrated to this binary's).
    pub backup_schema_version: i64,
    /// The verification of the restored ledger.
    pub verify: VerifyReport,
}

/// Writes a consistent copy of the database under `data_dir` to `out` (which must not exist), while
/// the service may be running on it.
pub async fn backup(data_dir: &Path, out: &Path) -> Result<BackupSummary, LedgerError> {
    let database = data_dir.join(SQLITE_FILE);
    if !database.is_file() {
        return Err(not_a_database(&database, "no such file"));
    }
    if out.exists() {
        return Err(LedgerError::BackupExists {
            path: out.display().to_string(),
        });
    }
    let partial = with_suffix(out, ".partial");
    remove_if_present(&partial)?;
    let mut source = connect(&database).await?;
    let schema_version = yibao_schema_version(&mut source, &database).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(partial.display().to_string())
        .execute(&mut source)
        .await?;
    source.close().await?;
    sync_file(&partial)?;
    let ledger_entries = count_entries(&partial).await?;
    rename(&partial, out)?;
    Ok(BackupSummary {
        path: out.to_path_buf(),
        bytes: file_size(out)?,
        schema_version,
        ledger_entries,
    })
}

/// Restores the backup `from` as the database under `data_dir` and verifies it. Refused while a
/// writer (a running service) holds the data directory, and, unless `force`, when it already holds
/// a database.
pub async fn restore(
    from: &Path,
    data_dir: &Path,
    force: bool,
) -> Result<RestoreSummary, LedgerError> {
    if !from.is_file() {
        return Err(not_a_database(from, "no such file"));
    }
    std::fs::create_dir_all(data_dir).map_err(file_error("creating", data_dir))?;
    let database = data_dir.join(SQLITE_FILE);
    let _writer = lock_file(&database)?;
    let existing = existing_files(&database);
    if !existing.is_empty() && !force {
        return Err(LedgerError::DatabaseExists {
            path: database.display().to_string(),
        });
    }
    let incoming = with_suffix(&database, ".restoring");
    copy(from, &incoming)?;
    let backup_schema_version = match check_backup(&incoming, from).await {
        Ok(version) => version,
        Err(error) => {
            remove_if_present(&incoming)?;
            return Err(error);
        }
    };
    let replaced = move_aside(&database, &existing)?;
    rename(&incoming, &database)?;
    Ok(RestoreSummary {
        verify: verify_restored(data_dir).await?,
        database,
        replaced,
        backup_schema_version,
    })
}

/// A connection to the SQLite file at `path` (which must exist), waiting for locks like the service.
async fn connect(path: &Path) -> Result<AnyConnection, LedgerError> {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&format!("sqlite://{}?mode=rw", path.display()))
        .await
        .map_err(|e| not_a_database(path, &e.to_string()))?;
    sqlx::query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// The schema version of a yibao database; a SQLite file without yibao's migrations is refused.
async fn yibao_schema_version(conn: &mut AnyConnection, path: &Path) -> Result<i64, LedgerError> {
    applied_schema_version(conn, Backend::Sqlite)
        .await
        .map_err(|e| not_a_database(path, &e.to_string()))?
        .ok_or_else(|| not_a_database(path, "it has no yibao migrations table"))
}

/// Checks the copy `incoming` of the backup `from`: SQLite's integrity check passes and it is a
/// yibao database; returns its schema version.
async fn check_backup(incoming: &Path, from: &Path) -> Result<i64, LedgerError> {
    let mut conn = connect(incoming)
        .await
        .map_err(|_| not_a_database(from, "not a SQLite database"))?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| not_a_database(from, &e.to_string()))?;
    if problems != ["ok"] {
        return Err(not_a_database(
            from,
            &format!("integrity check failed: {}", problems.join("; ")),
        ));
    }
    let version = yibao_schema_version(&mut conn, from).await?;
    conn.close().await?;
    Ok(version)
}

/// Ledger entries in the SQLite database at `path`.
async fn count_entries(path: &Path) -> Result<i64, LedgerError> {
    let mut conn = connect(path).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settlements")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(count)
}

/// Opens the restored database as the service would and verifies its ledger.
async fn verify_restored(data_dir: &Path) -> Result<VerifyReport, LedgerError> {
    let store = Store::open_data_dir(data_dir).await?;
    let mut conn = store.pool().acquire().await?;
    let report = verify(&mut conn).await?;
    drop(conn);
    store.close().await;
    Ok(report)
}

/// The suffixes of a SQLite database's files: the file, its write-ahead log and its index.
const DATABASE_FILES: [&str; 3] = ["", "-wal", "-shm"];

/// Which files of the database at `database` exist (their [`DATABASE_FILES`] suffixes). A
/// write-ahead log counts: left beside another database file, it would be replayed into it.
fn existing_files(database: &Path) -> Vec<&'static str> {
    DATABASE_FILES
        .into_iter()
        .filter(|suffix| with_suffix(database, suffix).exists())
        .collect()
}

/// Renames the `existing` files of `database` to `<database>.replaced-<time>…`; returns the new
/// name of the database file.
fn move_aside(database: &Path, existing: &[&str]) -> Result<Option<PathBuf>, LedgerError> {
    if existing.is_empty() {
        return Ok(None);
    }
    let stamp = chrono::Local::now()
        .format(".replaced-%Y%m%d-%H%M%S")
        .to_string();
    let aside = with_suffix(database, &stamp);
    for suffix in existing {
        rename(&with_suffix(database, suffix), &with_suffix(&aside, suffix))?;
    }
    Ok(Some(aside))
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn not_a_database(path: &Path, detail: &str) -> LedgerError {
    LedgerError::NotADatabase {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

fn file_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError {
    let path = path.display().to_string();
    move |source| LedgerError::File {
        action,
        path,
        source,
    }
}

fn remove_if_present(path: &Path) -> Result<(), LedgerError> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(file_error("removing", path)(error))
        }
        _ => Ok(()),
    }
}

/// Copies `from` to `to` and makes the copy durable.
fn copy(from: &Path, to: &Path) -> Result<(), LedgerError> {
    std::fs::copy(from, to).map_err(file_error("copying to", to))?;
    sync_file(to)
}

/// Renames `from` to `to` durably (the directory entry is synced too).
fn rename(from: &Path, to: &Path) -> Result<(), LedgerError> {
    std::fs::rename(from, to).map_err(file_error("renaming", from))?;
    let parent = to.parent().filter(|p| !p.as_os_str().is_empty());
    sync_file(parent.unwrap_or(Path::new(".")))
}

/// Flushes a file (or directory) to disk.
fn sync_file(path: &Path) -> Result<(), LedgerError> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(file_error("syncing", path))
}

fn file_size(path: &Path) -> Result<u64, LedgerError> {
    Ok(std::fs::metadata(path)
        .map_err(file_error("reading", path))?
        .len())
}
