//! `yibao verify`: re-derives the accumulators from the ledger's postings and checks every identity;
//! exits non-zero on any difference.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use yibao_ledger::verify::{verify, VerifyReport};

use crate::import::open_store;

/// Options of `yibao verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "yibao-data")]
    pub data_dir: PathBuf,
    /// `postgres://…` instead of the embedded database.
    #[arg(long)]
    pub database: Option<String>,
    /// Print the report as one JSON line.
    #[arg(long)]
    pub json: bool,
}

/// Verifies the ledger; `Ok(true)` when it is consistent.
pub fn run(args: &VerifyArgs) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let store = open_store(args.database.as_deref(), &args.data_dir).await?;
        let mut conn = store.pool().acquire().await?;
        let report = verify(&mut conn).await?;
        drop(conn);
        store.close().await;
        anyhow::Ok(report)
    })?;
    print_report(&report, args.json);
    Ok(report.is_ok())
}

/// Prints a verification report: its problems and a summary line, or one JSON line.
pub fn print_report(report: &VerifyReport, json: bool) {
    if json {
        let line = serde_json::json!({
            "ok": report.is_ok(), "entries": report.entries, "postings": report.postings,
            "accumulators": report.accumulators, "problems": report.problems,
        });
        println!("{line}");
    } else {
        for problem in &report.problems {
            println!("{problem}");
        }
        println!(
            "{}: {} ledger entries, {} postings, {} accumulator totals, {} problems",
            if report.is_ok() { "ok" } else { "FAILED" },
            report.entries,
            report.postings,
            report.accumulators,
            report.problems.len()
        );
    }
}
