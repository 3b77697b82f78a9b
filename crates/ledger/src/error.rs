use thiserror::Error;

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
    /// The batch was executed on top of a batch whose commit failed, so it was not written either.
    #[error("an earlier batch this one depends on failed to commit; nothing of it was stored")]
    EarlierCommitFailed,
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
}
