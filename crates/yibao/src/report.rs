//! `yibao report fund --year Y [--month M] [--format table|json|csv] [--data-dir DIR | --database URL]`:
//! the fund's books (基金收支) for a year or a month, from a store.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use yibao_books::{render_csv, render_table, Period};
use yibao_region::Database;

/// Arguments of `yibao report`.
#[derive(Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    kind: ReportKind,
}

/// Which report.
#[derive(Subcommand)]
enum ReportKind {
    /// Per scheme and fund: insured, income, expenditure, 当期结余, 累计结余, 可支付月数, and the
    /// one-stop breakdown of settlements.
    Fund(FundArgs),
}

/// Output format of a report.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Arguments of `yibao report fund`.
#[derive(Args)]
struct FundArgs {
    /// Calendar year of the report.
    #[arg(long)]
    year: i32,
    /// A month of that year (1–12) instead of the whole year.
    #[arg(long)]
    month: Option<u32>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "yibao-data")]
    data_dir: PathBuf,
    /// `postgres://…` or `sqlite:…` instead of the embedded database.
    #[arg(long)]
    database: Option<String>,
}

/// Prints the report.
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let ReportKind::Fund(args) = &args.kind;
    let period = match args.month {
        Some(month) => Period::Month(args.year, month),
        None => Period::Year(args.year),
    };
    let database = match &args.database {
        Some(url) => Database::Url(url.clone()),
        None => Database::DataDir(args.data_dir.clone()),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime
        .block_on(async {
            let store = yibao_region::open(&database).await?;
            let report = yibao_region::report::fund_report(&store, period).await;
            store.close().await;
            report
        })
        .with_context(|| format!("fund report for {}", period.label()))?;
    match args.format {
        Format::Table => print!("{}", render_table(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print!("{}", render_csv(&report)),
    }
    Ok(())
}
