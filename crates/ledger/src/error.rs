use sqlx::error::ErrorKind;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;
use thiserror::Error;

/// SQLite primary result codes of values refused: `SQLITE_TOOBIG`, `SQLITE_CONSTRAINT`,
/// `SQLITE_MISMATCH`, `SQLITE_RANGE`.
const SQLITE_REFUSALS: [i32; 4] = [18, 19, 20, 25];

/// A storage failure.
#[derive(Debug, Error)]
pub enum LedgerError {
    /// The database rejected or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (corrupt or foreign data).
    #[error("corrupt stored value in {table}.{column}: {detail}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        detail: String,
    },
    /// The database URL is not SQLite or PostgreSQL.
    #[error("unsupported database URL `{0}` (expected sqlite:… or postgres://…)")]
    UnsupportedUrl(String),
    /// A write would break a uniqueness rule of the ledger (a repeated `msgid`, a second cancellation).
    #[error("{0}")]
    Conflict(String),
    /// The batch was executed on top of a batch whose commit failed because the database failed
    /// (not because it refused a job's values), so it was not written either.
    #[error("an earlier batch this one depends on failed to commit; nothing of it was stored")]
    EarlierCommitFailed,
    /// A fault injected by a test's [`crate::FaultHook`].
    #[error("injected {} at {step:?}", if *refusal { "refusal" } else { "failure" })]
    InjectedFault {
        /// Where it was injected.
        step: crate::PipelineStep,
        /// As if the database had refused the values written (else: as if it were failing).
        refusal: bool,
    },
    /// The commit marker no longer had the value this writer left: another writer has committed to
    /// the database, so this commit was refused (nothing of it was stored).
    #[error("the ledger's commit marker moved from {expected}: another writer has committed to this database")]
    CommitMarkerMoved {
        /// The value this writer expected.
        expected: i64,
    },
    /// A write job panicked (a bug); its writes were dropped and the other jobs went on.
    #[error("the transaction failed unexpectedly; nothing of it was stored")]
    JobPanicked,
    /// The group-commit writer has stopped.
    #[error("the ledger writer has stopped")]
    WriterStopped,
    /// Another ledger writer holds the database's writer lock (one writer per database).
    #[error("another ledger writer is running on {database}: {holder}")]
    WriterLocked {
        /// The database (SQLite file or PostgreSQL database and schema).
        database: String,
        /// Who holds the lock, as far as it can be told.
        holder: String,
    },
    /// The writer lock file could not be created, locked or written.
    #[error("writer lock file {path}: {source}")]
    LockFile {
        path: String,
        source: std::io::Error,
    },
    /// The database was migrated by a newer yibao: this binary does not know its schema.
    #[error(
        "the database's schema is at version {database_version}, newer than this yibao knows \
         (schema version {binary_version}): a newer release has upgraded it; run that release, or \
         restore a backup taken before the upgrade"
    )]
    SchemaNewer {
        /// The highest migration applied to the database.
        database_version: i64,
        /// The highest migration of this binary.
        binary_version: i64,
    },
    /// A file of a backup or restore could not be read, written or moved.
    #[error("{action} {path}: {source}")]
    File {
        /// What was being done (`reading`, `creating`, …).
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// A file given as a yibao database is not one (not SQLite, damaged, or without yibao's schema).
    #[error("{path} is not a yibao database: {detail}")]
    NotADatabase { path: String, detail: String },
    /// The restore target already holds a database (replacing it needs `--force`).
    #[error(
        "{path} already holds a database; pass --force to replace it (it is then kept beside it)"
    )]
    DatabaseExists { path: String },
    /// The backup file already exists (a backup never overwrites one).
    #[error("{path} already exists; choose another backup file")]
    BackupExists { path: String },
}

impl LedgerError {
    /// Whether the database refused the values written (a constraint or data error, such as a
    /// duplicate key or a NUL character in PostgreSQL text): the same work without them can still be
    /// stored. Any other failure (connection, timeout, lock, I/O) is the database's, not the data's.
    pub fn is_refusal(&self) -> bool {
        let error = match self {
            LedgerError::Database(sqlx::Error::Database(error)) => error,
            LedgerError::InjectedFault { refusal, .. } => return *refusal,
            _ => return false,
        };
        if error.kind() != ErrorKind::Other {
            return true;
        }
        let code = error.code().unwrap_or_default();
        if error.try_downcast_ref::<PgDatabaseError>().is_some() {
            // SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation).
            code.starts_with("22") || code.starts_with("23")
        } else if error.try_downcast_ref::<SqliteError>().is_some() {
            // The primary result code is the low byte of the extended one.
            code.parse::<i32>()
                .is_ok_and(|extended| SQLITE_REFUSALS.contains(&(extended & 0xff)))
        } else {
            false
        }
    }
}
