//! Opening the database and applying the schema.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, Executor};

use crate::fault::Faults;
use crate::{FaultHook, LedgerError};

/// The one migration set of both backends (`migrations/`). A file named `NNNN_sqlite_….sql` holds a
/// step of SQLite's storage alone (e.g. a table rebuilt `WITHOUT ROWID`): see [`migrations_for`].
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The description sqlx gives a migration file named `NNNN_sqlite_….sql`: a SQLite-only step.
const SQLITE_ONLY_PREFIX: &str = "sqlite ";

/// What a SQLite-only migration runs on PostgreSQL: nothing (a statement without effect).
const NO_OP_SQL: &str = "SELECT 1";

/// File name of the embedded database inside `--data-dir`.
pub const SQLITE_FILE: &str = "yibao.db";

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool with the schema applied.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    lock_target: LockTarget,
    faults: Faults,
    /// This process's queue for the database's write lock, shared by the store's clones
    /// ([`Store::write_turn`]).
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

/// This process's turn at the database's write lock ([`Store::write_turn`]), until dropped.
pub struct WriteTurn {
    _held: tokio::sync::OwnedMutexGuard<()>,
}

/// What the writer lock of a database is taken on (see [`Store::lock_writer`]).
#[derive(Debug, Clone)]
pub(crate) enum LockTarget {
    /// A lock file next to this SQLite database file.
    File(PathBuf),
    /// An in-memory SQLite database lives in this process only: a flag shared by the store's clones.
    Memory(Arc<AtomicBool>),
    /// A PostgreSQL advisory lock on a connection of its own.
    Postgres,
}

impl Store {
    /// Opens (creating if needed) the embedded SQLite database under `data_dir`.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Store, LedgerError> {
        std::fs::create_dir_all(data_dir).map_err(|e| LedgerError::Corrupt {
            table: "-",
            column: "data_dir",
            detail: format!("cannot create {}: {e}", data_dir.display()),
        })?;
        let url = format!("sqlite://{}?mode=rwc", data_dir.join(SQLITE_FILE).display());
        Store::open(&url).await
    }

    /// Opens `sqlite:…` or `postgres://…` and applies the migrations.
    pub async fn open(url: &str) -> Result<Store, LedgerError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let options: AnyConnectOptions = url.parse()?;
        let lock_target = lock_target_of(url, backend)?;
        let pool = pool_options(backend).connect_with(options).await?;
        refuse_newer_schema(&pool, backend).await?;
        migrations_for(backend).await?.run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            lock_target,
            faults: Faults::default(),
            write_gate: Arc::default(),
        })
    }

    /// The same store with a fault hook that its write pipeline asks at each step (tests only).
    pub fn with_fault_hook(self, hook: Arc<dyn FaultHook>) -> Store {
        Store {
            faults: Faults::new(hook),
            ..self
        }
    }

    /// The connection pool (for reads outside the writer).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Waits for this process's turn to write (SQLite, whose database has one write lock): the
    /// writers of one process — the ledger's committer, the gateway's replay store, registry
    /// imports, the WAL restarts — queue here, in order, instead of polling the lock with SQLite's
    /// busy handler, whose sleeps (1, 2, 5, 10, … ms) keep a waiting commit back long after the
    /// lock is free. Take it before the connection and hold it until the write transaction has
    /// ended. `None` on PostgreSQL (row locks, nothing database-wide to queue for). Writers of
    /// other processes still meet the busy handler.
    pub async fn write_turn(&self) -> Option<WriteTurn> {
        match self.backend {
            Backend::Sqlite => Some(WriteTurn {
                _held: Arc::clone(&self.write_gate).lock_owned().await,
            }),
            Backend::Postgres => None,
        }
    }

    /// A connection of the pool.
    pub async fn connection(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, LedgerError> {
        Ok(self.pool.acquire().await?)
    }

    /// The database engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for the checked-out ones).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The fault hook of the write pipeline (none outside tests).
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// What the writer lock is taken on.
    pub(crate) fn lock_target(&self) -> &LockTarget {
        &self.lock_target
    }
}

/// The migrations of `backend`: every migration of [`MIGRATOR`], in order, under its version and
/// checksum; a SQLite-only one ([`SQLITE_ONLY_PREFIX`]) is applied on PostgreSQL as a statement
/// without effect, so both backends record the same versions and checksums and a database of either
/// upgrades through the one set.
async fn migrations_for(backend: Backend) -> Result<sqlx::migrate::Migrator, LedgerError> {
    let migrations = MIGRATOR
        .iter()
        .map(|migration| match backend {
            Backend::Postgres if is_sqlite_only(migration) => sqlx::migrate::Migration {
                sql: std::borrow::Cow::Borrowed(NO_OP_SQL),
                ..migration.clone()
            },
            _ => migration.clone(),
        })
        .collect();
    Ok(sqlx::migrate::Migrator::new(MigrationList(migrations)).await?)
}

/// Whether `migration` is a step of SQLite's storage alone.
fn is_sqlite_only(migration: &sqlx::migrate::Migration) -> bool {
    migration.description.starts_with(SQLITE_ONLY_PREFIX)
}

/// Migrations already resolved, as a source for [`sqlx::migrate::Migrator::new`].
#[derive(Debug)]
struct MigrationList(Vec<sqlx::migrate::Migration>);

impl<'s> sqlx::migrate::MigrationSource<'s> for MigrationList {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<
        's,
        Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
    > {
        Box::pin(async move { Ok(self.0) })
    }
}

/// The schema version this binary migrates databases to (its highest migration).
pub fn schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The highest migration applied to the database of `conn` (`None` for a new database).
pub(crate) async fn applied_schema_version(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<Option<i64>, LedgerError> {
    let table_exists = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename = '_sqlx_migrations'"
        }
    };
    let tables: i64 = sqlx::query_scalar(table_exists)
        .fetch_one(&mut *conn)
        .await?;
    if tables == 0 {
        return Ok(None);
    }
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(conn)
        .await?;
    Ok(version)
}

/// Refuses a database that a newer yibao has migrated past this binary's schema: migrating it
/// (or writing to it) with this binary's queries could lose or damage data.
async fn refuse_newer_schema(pool: &AnyPool, backend: Backend) -> Result<(), LedgerError> {
    let mut conn = pool.acquire().await?;
    let binary_version = schema_version();
    match applied_schema_version(&mut conn, backend).await? {
        Some(database_version) if database_version > binary_version => {
            Err(LedgerError::SchemaNewer {
                database_version,
                binary_version,
            })
        }
        _ => Ok(()),
    }
}

/// The writer lock of a database: a file next to a SQLite file, a flag for an in-memory database,
/// an advisory lock on PostgreSQL.
fn lock_target_of(url: &str, backend: Backend) -> Result<LockTarget, LedgerError> {
    if backend == Backend::Postgres {
        return Ok(LockTarget::Postgres);
    }
    let options = SqliteConnectOptions::from_str(url)?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    Ok(if in_memory {
        LockTarget::Memory(Arc::new(AtomicBool::new(false)))
    } else {
        LockTarget::File(options.get_filename().to_path_buf())
    })
}

fn backend_of(url: &str) -> Result<Backend, LedgerError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(LedgerError::UnsupportedUrl(url.to_string()))
    }
}

fn pool_options(backend: Backend) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
    match backend {
        Backend::Postgres => options.max_connections(8),
        Backend::Sqlite => options.max_connections(5).after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the writer; FULL makes every acknowledged commit durable.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                // 64 MiB of page cache (the default is 2 MiB): the indexes a batch updates at
                // places spread over the file (by person, by visit) stay in memory as the ledger grows.
                conn.execute("PRAGMA cache_size = -65536").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                Ok(())
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_only_migrations_are_recorded_but_not_run_on_postgres() {
        let sqlite = migrations_for(Backend::Sqlite).await.unwrap();
        let postgres = migrations_for(Backend::Postgres).await.unwrap();
        let sqlite_only: Vec<i64> = MIGRATOR
            .iter()
            .filter(|m| is_sqlite_only(m))
            .map(|m| m.version)
            .collect();
        assert!(sqlite_only.contains(&30), "{sqlite_only:?}");
        for ((file, on_sqlite), on_postgres) in
            MIGRATOR.iter().zip(sqlite.iter()).zip(postgres.iter())
        {
            assert_eq!(file.version, on_sqlite.version);
            assert_eq!(file.version, on_postgres.version);
            assert_eq!(file.checksum, on_sqlite.checksum);
            assert_eq!(file.checksum, on_postgres.checksum);
            assert_eq!(file.sql, on_sqlite.sql);
            let expected = if sqlite_only.contains(&file.version) {
                NO_OP_SQL
            } else {
                &*file.sql
            };
            assert_eq!(on_postgres.sql, expected, "migration {}", file.version);
        }
        assert_eq!(MIGRATOR.iter().count(), postgres.iter().count());
    }
}
