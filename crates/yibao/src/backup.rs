//! `yibao backup` and `yibao restore`: an online copy of the embedded database and its restore into a
//! data directory, verified (`yibao_ledger::backup`). PostgreSQL is backed up with `pg_dump` or a
//! base backup (README).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use yibao_ledger::backup;

use crate::verify::print_report;

/// Options of `yibao backup`.
#[derive(Args)]
pub struct BackupArgs {
    /// Directory of the embedded SQLite database (the service may be running on it).
    #[arg(long, default_value = "yibao-data")]
    pub data_dir: PathBuf,
    /// The backup file to write (must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

/// Options of `yibao restore`.
#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file (written by `yibao backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// Directory to restore the embedded database into (no service may be running on it).
    #[arg(long, default_value = "yibao-data")]
    pub data_dir: PathBuf,
    /// Replace a database already in the data directory (it is kept beside it, renamed).
    #[arg(long)]
    pub force: bool,
}

/// Takes the backup and says what it holds.
pub fn run_backup(args: &BackupArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(backup::backup(&args.data_dir, &args.out))?;
    println!(
        "backed up {} to {}: {} bytes, schema version {}, {} ledger entries",
        args.data_dir.display(),
        summary.path.display(),
        summary.bytes,
        summary.schema_version,
        summary.ledger_entries
    );
    Ok(())
}

/// Restores and verifies; `Ok(true)` when the restored ledger verifies.
pub fn run_restore(args: &RestoreArgs) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(backup::restore(&args.from, &args.data_dir, args.force))?;
    if let Some(replaced) = &summary.replaced {
        println!("the database it replaced is kept as {}", replaced.display());
    }
    println!(
        "restored {} (schema version {}) as {}",
        args.from.display(),
        summary.backup_schema_version,
        summary.database.display()
    );
    print_report(&summary.verify, false);
    Ok(summary.verify.is_ok())
}
