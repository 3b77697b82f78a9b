//! `yibao report fund --year Y [--month M] [--format table|json|csv] [--data-dir DIR | --database URL]`:
//! the fund's books (基金收支) for a year or a month, from a store.
//! `yibao report providers --year Y [--month M] [--format …]`: per institution × scheme, the index
//! and what the posted payment statements claim, deduct, pay and defer, and the year-end.
//! `yibao report cross-region --year Y [--month M] [--format …]`: outbound and inbound cross-region
//! care per region, scheme, partner region and care (`clearing-and-budgets.md` §6.4).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use yibao_books::{render_csv, render_table, Period};
use yibao_provider_payment::summary;
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
    /// Per institution and scheme: annual index, claims, deductions, paid, deferred (超支挂帐),
    /// reserve withheld, year-end payment — from the posted monthly and year-end statements.
    Providers(FundArgs),
    /// Per region: outbound (its insured treated elsewhere) and inbound (others' insured treated at
    /// its institutions) cross-region care per scheme, partner region and care — admissions or
    /// visits, total cost, fund paid, fund share, average cost.
    CrossRegion(FundArgs),
}

/// Output format of a report.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Arguments of `yibao report fund` and `yibao report providers`.
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
    match &args.kind {
        ReportKind::Fund(args) => run_fund(args),
        ReportKind::Providers(args) => run_providers(args),
        ReportKind::CrossRegion(args) => run_cross_region(args),
    }
}

impl FundArgs {
    fn database(&self) -> Database {
        match &self.database {
            Some(url) => Database::Url(url.clone()),
            None => Database::DataDir(self.data_dir.clone()),
        }
    }
}

impl FundArgs {
    /// The month asked for (1–12) and the title of the period.
    fn month_and_title(&self) -> anyhow::Result<(Option<u8>, String)> {
        let month = self
            .month
            .map(|m| {
                u8::try_from(m)
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or_else(|| anyhow::anyhow!("--month {m}: not a month 1–12"))
            })
            .transpose()?;
        let title = match month {
            Some(m) => format!("{}-{m:02}", self.year),
            None => self.year.to_string(),
        };
        Ok((month, title))
    }
}

fn run_cross_region(args: &FundArgs) -> anyhow::Result<()> {
    let (month, title) = args.month_and_title()?;
    if !(1900..=9999).contains(&args.year) {
        anyhow::bail!("--year {}: not a year 1900–9999", args.year);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let lines = runtime
        .block_on(async {
            let store = yibao_region::open(&args.database()).await?;
            let mut conn = store.pool().acquire().await?;
            let lines =
                yibao_ledger::clearing_run::cross_region_report(&mut conn, args.year, month).await;
            drop(conn);
            store.close().await;
            anyhow::Ok(lines?)
        })
        .with_context(|| format!("cross-region report for {title}"))?;
    match args.format {
        Format::Table => print!("{}", yibao_clearing::render_table(&title, &lines)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&lines)?),
        Format::Csv => print!("{}", yibao_clearing::render_csv(&lines)),
    }
    Ok(())
}

fn run_providers(args: &FundArgs) -> anyhow::Result<()> {
    let (month, title) = args.month_and_title()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let lines = runtime
        .block_on(async {
            let store = yibao_region::open(&args.database()).await?;
            let mut conn = store.pool().acquire().await?;
            let lines = yibao_ledger::provider::summaries(&mut conn, args.year, month, None).await;
            drop(conn);
            store.close().await;
            anyhow::Ok(lines?)
        })
        .with_context(|| format!("provider report for {title}"))?;
    if lines.is_empty() {
        anyhow::bail!(
            "no budget is stored for {}; import the year's budgets first (`yibao pay budgets`)",
            args.year
        );
    }
    match args.format {
        Format::Table => print!("{}", summary::render_table(&title, &lines)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&lines)?),
        Format::Csv => print!("{}", summary::render_csv(&lines)),
    }
    Ok(())
}

fn run_fund(args: &FundArgs) -> anyhow::Result<()> {
    let period = match args.month {
        Some(month) => Period::Month(args.year, month),
        None => Period::Year(args.year),
    };
    let database = args.database();
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
