//! `yibao drg month|year-end|review`: DRG payment from the ledger (`yibao_region::drg_payment`) —
//! the monthly prepayment, the year-end clearing and the 特病单议 review items. Flags only; the
//! rules are `yibao-drg-payment`'s.

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use yibao_domain::Fen;
use yibao_drg_grouper::{GrouperSet, LoadOptions};
use yibao_drg_payment::{
    Decision, DrgMonthStatement, DrgYearEndStatement, FailedCase, Points, Policy, RecordChecks,
};
use yibao_region::drg_payment::{self, DrgSetup};

use crate::pay::{now_text, print_statements, with_store, year_month, StatementFormat, StoreArgs};

/// What a ledger run pays with.
#[derive(Args)]
pub struct SetupArgs {
    /// DRG payment policy TOML (e.g. `policies/drg/example-2024.toml`), of the year paid.
    #[arg(long)]
    policy: PathBuf,
    /// CHS-DRG rule folder holding the versions (`chs-drg-1.1/`, …), or one version folder.
    #[arg(long)]
    rules: PathBuf,
    /// Rule version (`chs_drg_11`, a folder name); default: the folder's only or default version.
    #[arg(long)]
    version: Option<String>,
    /// 病案校验 rules TOML.
    #[arg(long, default_value = "policies/drg/record-checks.toml")]
    checks: PathBuf,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
pub struct MonthArgs {
    /// The month, `yyyy-MM`.
    #[arg(long)]
    month: String,
    /// Today (`yyyy-MM-dd`; default: the clock): a month is paid once it is over.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    #[command(flatten)]
    setup: SetupArgs,
}

#[derive(Args)]
pub struct YearEndArgs {
    #[arg(long)]
    year: i32,
    #[command(flatten)]
    setup: SetupArgs,
}

#[derive(Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    command: ReviewCommand,
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// List the year's review items (JSON lines).
    List {
        #[arg(long)]
        year: i32,
        /// Only this institution's items.
        #[arg(long)]
        institution: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Approve an item: the amount (yuan) paid for it at the year-end, or the points it earns.
    Approve {
        #[arg(long)]
        setl_id: String,
        /// Yuan, at most two decimals: paid outside the point pool.
        #[arg(long, conflicts_with = "points", required_unless_present = "points")]
        amount: Option<String>,
        /// Points, at most four decimals: joining the pool like earned points.
        #[arg(long)]
        points: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Reject an item: nothing is paid for it.
    Reject {
        #[arg(long)]
        setl_id: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a settled admission for review at its institution's request.
    Request {
        #[arg(long)]
        setl_id: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Loads the policy, the checks and the grouper, then runs `work` with them.
fn with_setup<T>(
    args: &SetupArgs,
    work: impl FnOnce(&DrgSetup<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let policy = Policy::load(&args.policy)?;
    let checks = RecordChecks::load(&args.checks)?;
    let options = LoadOptions {
        ambiguous_groups: None,
        code_map_dir: None,
    };
    let set = GrouperSet::open(&args.rules, args.version.as_deref(), options)
        .with_context(|| format!("opening rule folder {}", args.rules.display()))?;
    let grouper = set.get(args.version.as_deref())?;
    work(&DrgSetup {
        policy: &policy,
        checks: &checks,
        grouper,
    })
}

pub fn run_month(args: &MonthArgs) -> anyhow::Result<()> {
    let (year, month) = year_month(&args.month)?;
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let statements = with_setup(&args.setup, |setup| {
        with_store(&args.setup.store, async |store| {
            Ok(drg_payment::pay_month(store, setup, (year, month), as_of, &now_text()).await?)
        })
    })?;
    let rows: Vec<Vec<String>> = statements.iter().map(month_row).collect();
    const HEADER: [&str; 8] = [
        "fixmedins_code",
        "insutype",
        "month",
        "cases",
        "failed",
        "set_aside",
        "fund_share",
        "prepayment",
    ];
    print_statements(args.setup.format, &HEADER, &rows, &statements)?;
    let failed: Vec<&FailedCase> = statements.iter().flat_map(|s| &s.failed).collect();
    print_failed(args.setup.format, &failed);
    Ok(())
}

fn month_row(s: &DrgMonthStatement) -> Vec<String> {
    vec![
        s.fixmedins_code.clone(),
        s.insutype.clone(),
        format!("{}-{:02}", s.year, s.month),
        s.cases.to_string(),
        s.failed.len().to_string(),
        s.set_aside.len().to_string(),
        s.fund_share.to_string(),
        s.prepayment.to_string(),
    ]
}

pub fn run_year_end(args: &YearEndArgs) -> anyhow::Result<()> {
    let statements = with_setup(&args.setup, |setup| {
        with_store(&args.setup.store, async |store| {
            Ok(drg_payment::clear_year(store, setup, args.year, &now_text()).await?)
        })
    })?;
    let rows: Vec<Vec<String>> = statements.iter().map(year_end_row).collect();
    const HEADER: [&str; 13] = [
        "fixmedins_code",
        "insutype",
        "year",
        "cases",
        "failed",
        "points",
        "point_value",
        "gross",
        "others_paid",
        "entitlement",
        "reviewed",
        "prepaid",
        "clearing",
    ];
    print_statements(args.setup.format, &HEADER, &rows, &statements)?;
    let failed: Vec<&FailedCase> = statements.iter().flat_map(|s| &s.failed).collect();
    print_failed(args.setup.format, &failed);
    Ok(())
}

fn year_end_row(s: &DrgYearEndStatement) -> Vec<String> {
    vec![
        s.fixmedins_code.clone(),
        s.insutype.clone(),
        s.year.to_string(),
        s.cases.to_string(),
        s.failed.len().to_string(),
        s.points.to_string(),
        s.point_value.to_string(),
        s.gross.to_string(),
        s.others_paid.to_string(),
        s.entitlement.to_string(),
        s.reviewed.to_string(),
        s.prepaid.to_string(),
        s.clearing.to_string(),
    ]
}

/// Under a table, the cases that failed 病案校验 and why (CSV and JSON carry them otherwise).
fn print_failed(format: StatementFormat, failed: &[&FailedCase]) {
    if !matches!(format, StatementFormat::Table) || failed.is_empty() {
        return;
    }
    println!("\n未通过病案校验的病例（未分组）：");
    for case in failed {
        let reasons: Vec<String> = case.problems.iter().map(ToString::to_string).collect();
        println!("  {}  {}", case.setl_id, reasons.join("；"));
    }
}

pub fn run_review(args: &ReviewArgs) -> anyhow::Result<()> {
    match &args.command {
        ReviewCommand::List {
            year,
            institution,
            store,
        } => {
            let items = with_store(store, async |store| {
                let mut conn = store.pool().acquire().await?;
                Ok(yibao_ledger::drg::reviews(&mut conn, *year, institution.as_deref()).await?)
            })?;
            for item in &items {
                println!("{}", serde_json::to_string(item)?);
            }
        }
        ReviewCommand::Approve {
            setl_id,
            amount,
            points,
            note,
            store,
        } => {
            let decision = approval(amount.as_deref(), points.as_deref())?;
            decide(store, setl_id, decision, note)?;
        }
        ReviewCommand::Reject {
            setl_id,
            note,
            store,
        } => decide(store, setl_id, Decision::Rejected, note)?,
        ReviewCommand::Request {
            setl_id,
            note,
            store,
        } => {
            let item = with_store(store, async |store| {
                Ok(yibao_ledger::drg::request(store, setl_id, note, &now_text()).await?)
            })?;
            println!("{}", serde_json::to_string(&item)?);
        }
    }
    Ok(())
}

/// The approval `--amount` or `--points` give.
fn approval(amount: Option<&str>, points: Option<&str>) -> anyhow::Result<Decision> {
    if let Some(text) = points {
        let points = Points::parse(text).map_err(|e| anyhow::anyhow!("--points: {e}"))?;
        if points.0 < 0 {
            anyhow::bail!("--points: must not be negative");
        }
        return Ok(Decision::ApprovedPoints(points));
    }
    let amount = Fen::parse_yuan(amount.unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
    if amount.fen() < 0 {
        anyhow::bail!("--amount: must not be negative");
    }
    Ok(Decision::Approved(amount))
}

fn decide(store: &StoreArgs, setl_id: &str, decision: Decision, note: &str) -> anyhow::Result<()> {
    let item = with_store(store, async |store| {
        Ok(yibao_ledger::drg::decide(store, setl_id, decision, note, &now_text()).await?)
    })?;
    println!("{}", serde_json::to_string(&item)?);
    Ok(())
}
