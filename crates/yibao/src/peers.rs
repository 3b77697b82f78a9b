//! `yibao peers reconcile`: compares this platform's records of a day with every peer's
//! (`[[peers]]` of the server's config file); exits 1 on any difference.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use yibao_server::config::Config;
use yibao_server::peer::reconcile::{self, DayReport};

use crate::import::open_store;

/// Options of `yibao peers`.
#[derive(Args)]
pub struct PeersArgs {
    #[command(subcommand)]
    pub command: PeersCommand,
}

/// What `yibao peers` does.
#[derive(Subcommand)]
pub enum PeersCommand {
    /// Compare a day's settlements and cancellations with every peer, by key.
    Reconcile(ReconcileArgs),
}

/// Options of `yibao peers reconcile`.
#[derive(Args)]
pub struct ReconcileArgs {
    /// The server's TOML configuration file (its `[[peers]]`, `data_dir` or `database`).
    #[arg(long)]
    pub config: PathBuf,
    /// The day, `yyyy-MM-dd` (settlement time as the treating platform recorded it).
    #[arg(long)]
    pub date: String,
    /// Directory of the embedded SQLite database (overrides the config file).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` instead of the embedded database (overrides the config file).
    #[arg(long)]
    pub database: Option<String>,
    /// Print one JSON line per peer.
    #[arg(long)]
    pub json: bool,
}

/// Runs `yibao peers`; `Ok(true)` when every peer agrees.
pub fn run(args: &PeersArgs) -> anyhow::Result<bool> {
    match &args.command {
        PeersCommand::Reconcile(args) => reconcile_day(args),
    }
}

fn reconcile_day(args: &ReconcileArgs) -> anyhow::Result<bool> {
    let config = Config::load(Some(&args.config), std::env::vars())?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.clone());
    let database = args
        .database
        .clone()
        .or_else(|| (!config.database.is_empty()).then(|| config.database.clone()));
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let reports = runtime.block_on(async {
        let store = open_store(database.as_deref(), &data_dir).await?;
        let reports = reconcile::all(&config, &store, &args.date).await;
        store.close().await;
        anyhow::Ok(reports?)
    })?;
    for report in &reports {
        print_report(report, args.json)?;
    }
    Ok(reports.iter().all(|r| r.differences.is_empty()))
}

fn print_report(report: &DayReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(());
    }
    for difference in &report.differences {
        println!("{difference}");
    }
    println!(
        "{} peer {} {}: here {} records, fund {} account {}; there {} records, fund {} account {}; {} differences",
        if report.differences.is_empty() { "ok" } else { "DIFFERENT" },
        report.peer,
        report.date,
        report.local.count,
        report.local.fund_pay_sumamt,
        report.local.acct_pay,
        report.remote.count,
        report.remote.fund_pay_sumamt,
        report.remote.acct_pay,
        report.differences.len()
    );
    Ok(())
}
