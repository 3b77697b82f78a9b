//! `yibao export settlement-lists`: the stored 医疗保障基金结算清单 of a period as JSON Lines in the
//! 4101 layout, which `yibao drg group` reads. `yibao export parquet`: a year of settlements, fee
//! lines with their split, fund rows and visits as Parquet files (`yibao-export`,
//! `docs/export-parquet.md`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use yibao_region::Database;

#[derive(Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    command: ExportCommand,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Settlement lists (4101/4101A) of the discharges from `--from` to `--to`, one JSON line each.
    SettlementLists(ListArgs),
    /// The settlements made in `--year`, their fee lines with the split, fund rows and visits as
    /// Parquet files in `--out` (schema: docs/export-parquet.md).
    Parquet(ParquetArgs),
}

#[derive(Args)]
struct ParquetArgs {
    /// The year of `setl_time`.
    #[arg(long)]
    year: i32,
    /// Directory to write `settlements.parquet`, `fee_lines.parquet`, `funds.parquet`,
    /// `visits.parquet` into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "yibao-data")]
    data_dir: PathBuf,
    /// `postgres://…` or `sqlite:…` instead of the embedded database.
    #[arg(long)]
    database: Option<String>,
}

#[derive(Args)]
struct ListArgs {
    /// First discharge day (`yyyy-MM-dd`).
    #[arg(long)]
    from: NaiveDate,
    /// Last discharge day (`yyyy-MM-dd`), included.
    #[arg(long)]
    to: NaiveDate,
    /// Write here instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "yibao-data")]
    data_dir: PathBuf,
    /// `postgres://…` or `sqlite:…` instead of the embedded database.
    #[arg(long)]
    database: Option<String>,
}

pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    match &args.command {
        ExportCommand::SettlementLists(args) => settlement_lists(args),
        ExportCommand::Parquet(args) => parquet(args),
    }
}

fn parquet(args: &ParquetArgs) -> anyhow::Result<()> {
    let database = match &args.database {
        Some(url) => Database::Url(url.clone()),
        None => Database::DataDir(args.data_dir.clone()),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summaries = runtime.block_on(async {
        let store = yibao_region::open(&database).await?;
        let written = yibao_export::export_year(&store, args.year, &args.out).await;
        store.close().await;
        anyhow::Ok(written?)
    })?;
    for summary in summaries {
        eprintln!("{}: {} rows", summary.file, summary.rows);
    }
    Ok(())
}

fn settlement_lists(args: &ListArgs) -> anyhow::Result<()> {
    let database = match &args.database {
        Some(url) => Database::Url(url.clone()),
        None => Database::DataDir(args.data_dir.clone()),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let lists = runtime.block_on(async {
        let store = yibao_region::open(&database).await?;
        let mut conn = store.pool().acquire().await?;
        let lists = yibao_ledger::setl_lists::discharged_between(
            &mut conn,
            &args.from.to_string(),
            &args.to.to_string(),
        )
        .await;
        drop(conn);
        store.close().await;
        anyhow::Ok(lists?)
    })?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for list in &lists {
        writeln!(out, "{}", list.content)?;
    }
    out.flush()?;
    eprintln!("{} settlement lists", lists.len());
    Ok(())
}
