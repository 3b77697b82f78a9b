//! One writer per database: the ledger writer holds an exclusive lock on its database for its whole
//! life, so a second writer on the same database (a second `yibao serve`) refuses to start and says
//! who holds it.
//!
//! * SQLite file: an OS advisory lock (`flock`) on `<database file>.writer.lock`, which also records
//!   the holder's pid, host and start time. The kernel drops the lock when the holder closes the file,
//!   which a dying process (even `kill -9`) does, so a restart after a crash finds it free.
//! * PostgreSQL: `pg_try_advisory_lock`, keyed by the database *and* schema, on a connection of its
//!   own (not from the pool) that stays open while the lock is held; its `application_name` names the
//!   holder. The server drops the lock when that session ends, also when the process dies.
//! * In-memory SQLite: the database lives in this process only; a flag shared by its store's clones.
//!
//! Only the writer takes the lock: verification, reports, registry imports and read pools do not.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sqlx::{AnyConnection, Connection, Row};

use crate::store::LockTarget;
use crate::{LedgerError, Store};

/// First key of the PostgreSQL advisory lock ("YBLW"); the second is [`PG_LOCK_KEY`].
const PG_LOCK_CLASS: i32 = 0x5942_4C57;
/// Second key of the PostgreSQL advisory lock: a hash of the database and schema names, since tests
/// (and some deployments) keep several ledgers in schemas of one database.
const PG_LOCK_KEY: &str = "hashtext(current_database() || '.' || current_schema())";

/// The exclusive right to run the ledger writer of one database, held until it is dropped or
/// [released](WriterLock::release).
pub struct WriterLock {
    store: Store,
    held: Held,
}

enum Held {
    /// The locked lock file: closing it releases the lock.
    File(File),
    /// The flag of an in-memory database, cleared when dropped.
    Memory(MemoryFlag),
    /// The session holding the advisory lock.
    Postgres(AnyConnection),
}

impl fmt::Debug for WriterLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("WriterLock");
        match &self.held {
            Held::File(file) => out.field("lock_file", file),
            Held::Memory(flag) => out.field("in_memory", &flag.0.load(Ordering::Acquire)),
            Held::Postgres(_) => out.field("advisory_lock", &PG_LOCK_CLASS),
        };
        out.finish()
    }
}

/// Sets an in-memory database's writer flag for as long as it lives.
struct MemoryFlag(Arc<AtomicBool>);

impl Drop for MemoryFlag {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Store {
    /// Takes the writer lock of this database. Fails with [`LedgerError::WriterLocked`], naming the
    /// holder, when another writer (in this or another process) holds it.
    pub async fn lock_writer(&self) -> Result<WriterLock, LedgerError> {
        let held = match self.lock_target() {
            LockTarget::File(database) => Held::File(lock_file(database)?),
            LockTarget::Memory(flag) => Held::Memory(lock_memory(flag)?),
            LockTarget::Postgres => Held::Postgres(lock_postgres(self).await?),
        };
        Ok(WriterLock {
            store: self.clone(),
            held,
        })
    }
}

impl WriterLock {
    /// The store whose writer lock this is.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Releases the lock at once (on PostgreSQL by unlocking and closing the session cleanly, so a
    /// successor can take it right away; dropping the lock also releases it, a moment later).
    pub async fn release(self) {
        if let Held::Postgres(mut conn) = self.held {
            let unlock = format!("SELECT pg_advisory_unlock({PG_LOCK_CLASS}, {PG_LOCK_KEY})");
            if let Err(error) = sqlx::query(&unlock).execute(&mut conn).await {
                tracing::warn!(error = %error, "releasing the writer lock failed; the session's end releases it");
            }
            if let Err(error) = conn.close().await {
                tracing::warn!(error = %error, "closing the writer lock's session failed");
            }
        }
    }
}

/// Who this process is: `pid=…`, `host=…`, `since=…` lines.
fn holder_record() -> String {
    let since = chrono::Local::now().format("%Y-%m-%d %H:%M:%S %:z");
    format!(
        "pid={}\nhost={}\nsince={since}\n",
        std::process::id(),
        host_name()
    )
}

fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// `<database file>.writer.lock`.
fn lock_file_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".writer.lock");
    PathBuf::from(name)
}

/// Locks the database's lock file (without waiting) and writes this process into it.
pub(crate) fn lock_file(database: &Path) -> Result<File, LedgerError> {
    let path = lock_file_path(database);
    let io_error = |source: std::io::Error| LedgerError::LockFile {
        path: path.display().to_string(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            return Err(LedgerError::WriterLocked {
                database: database.display().to_string(),
                holder: file_holder(&path),
            })
        }
        Err(errno) => return Err(io_error(errno.into())),
    }
    file.set_len(0).map_err(io_error)?;
    file.write_all(holder_record().as_bytes())
        .map_err(io_error)?;
    Ok(file)
}

/// The holder named by a lock file.
fn file_holder(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .filter(|value| !value.is_empty())
            .unwrap_or("?")
            .to_string()
    };
    format!(
        "pid {} on host {} since {} holds {}",
        field("pid"),
        field("host"),
        field("since"),
        path.display()
    )
}

fn lock_memory(flag: &Arc<AtomicBool>) -> Result<MemoryFlag, LedgerError> {
    flag.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .map_err(|_| LedgerError::WriterLocked {
            database: "an in-memory database".into(),
            holder: format!(
                "another writer in this process (pid {})",
                std::process::id()
            ),
        })?;
    Ok(MemoryFlag(Arc::clone(flag)))
}

/// Opens a connection of its own, names it after this process and takes the advisory lock on it.
async fn lock_postgres(store: &Store) -> Result<AnyConnection, LedgerError> {
    let options = store.pool().connect_options();
    let mut conn = AnyConnection::connect_with(&options).await?;
    let application_name = format!(
        "yibao-writer pid={} host={}",
        std::process::id(),
        host_name()
    );
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(application_name)
        .execute(&mut conn)
        .await?;
    let row = sqlx::query(&format!(
        "SELECT pg_try_advisory_lock({PG_LOCK_CLASS}, {PG_LOCK_KEY}) AS locked, \
         current_database() || '.' || current_schema() AS name"
    ))
    .fetch_one(&mut conn)
    .await?;
    if row.try_get::<bool, _>("locked")? {
        return Ok(conn);
    }
    let database = format!("PostgreSQL {}", row.try_get::<String, _>("name")?);
    let holder = postgres_holder(&mut conn).await?;
    if let Err(error) = conn.close().await {
        tracing::warn!(error = %error, "closing a refused writer lock session failed");
    }
    Err(LedgerError::WriterLocked { database, holder })
}

/// The session holding the advisory lock: its backend pid, client address and `application_name`
/// (which names the holder's process and host).
async fn postgres_holder(conn: &mut AnyConnection) -> Result<String, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT l.pid, COALESCE(host(a.client_addr), 'a local socket') AS client_addr, \
         COALESCE(a.application_name, '') AS application_name, \
         COALESCE(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?') AS since \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.classid = ({PG_LOCK_CLASS})::oid AND l.objid = ({PG_LOCK_KEY})::oid"
    ))
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok("a session that has just ended (retry)".into());
    };
    Ok(format!(
        "PostgreSQL backend pid {} from {} (application_name `{}`), connected since {}",
        row.try_get::<i32, _>("pid")?,
        row.try_get::<String, _>("client_addr")?,
        row.try_get::<String, _>("application_name")?,
        row.try_get::<String, _>("since")?
    ))
}
