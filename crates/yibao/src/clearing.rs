//! `yibao clearing`: `run` a month's cross-region clearing (异地就医清算) from the ledger, show its
//! `status`, `advance` a clearing through its states, enter review `deduct`ions before a run,
//! `resubmit` a rejected clearing as a new application, and `release` the reserve withheld.
//! The rules are `yibao-clearing`'s, storage `yibao_ledger::clearing`'s.

use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use yibao_clearing::{ClearingPolicy, ClearingState, Month, PairKey, ReservePeriod};
use yibao_domain::{Code, Fen};
use yibao_ledger::clearing::{self, ReviewDeduction, StoredClearing};
use yibao_ledger::clearing_reserve::{self, ReleaseRequest};

use crate::pay::{now_text, print_statements, with_store, StatementFormat, StoreArgs};

#[derive(Args)]
pub struct ClearingArgs {
    #[command(subcommand)]
    command: ClearingCommand,
}

#[derive(Subcommand)]
enum ClearingCommand {
    /// Clear a month that is over: one row per insured region × treating region × scheme, stored in
    /// state 10; a month already run is shown as stored and nothing is stored twice.
    Run(RunArgs),
    /// The stored clearings (of one month with --month).
    Status(StatusArgs),
    /// Move a clearing to its next state (10→20→30→40→50→60; 70 rejects from 10–40); 60 posts the
    /// transfer in the books, 70 undoes the row's postings.
    Advance(AdvanceArgs),
    /// Enter an audit (10) or inspection (20) deduction for a month not yet run (or whose
    /// clearing of the pair was rejected, to be taken by its next application).
    Deduct(DeductArgs),
    /// Apply a rejected (70) clearing again: the pair's row of its month computed from the ledger
    /// now, stored in state 10 under a new id (`<id>-2`, …); the rejected row is kept.
    Resubmit(ResubmitArgs),
    /// Release the reserve withheld (deduction 40) of a pair × scheme over a year or a month, once
    /// every clearing of it holding a reserve is paid (60); each reserve is released once.
    Release(ReleaseArgs),
}

#[derive(Args)]
struct ResubmitArgs {
    /// The rejected clearing's id as `status` shows it.
    #[arg(long)]
    id: String,
    /// Clearing policy TOML (`policies/clearing/`): the one the month was run with.
    #[arg(long, default_value = "policies/clearing/jiangxi.toml")]
    policy: PathBuf,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct ReleaseArgs {
    /// The period: a year `yyyy` (year-end) or a month `yyyy-MM`.
    #[arg(long)]
    period: String,
    /// Insured region (6 digits).
    #[arg(long)]
    insured: String,
    /// Treating region (6 digits).
    #[arg(long)]
    treating: String,
    /// Scheme (insutype, e.g. 310, 390).
    #[arg(long)]
    insutype: String,
    /// Why (the bureau's decision).
    #[arg(long, default_value = "")]
    reason: String,
    /// Who releases it (recorded with it).
    #[arg(long, default_value = "cli")]
    operator: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct RunArgs {
    /// The month, `yyyy-MM`.
    #[arg(long)]
    month: String,
    /// Clearing policy TOML (`policies/clearing/`).
    #[arg(long, default_value = "policies/clearing/jiangxi.toml")]
    policy: PathBuf,
    /// Today (`yyyy-MM-dd`; default: the clock): a month is cleared once it is over.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct StatusArgs {
    /// Only this month, `yyyy-MM`.
    #[arg(long)]
    month: Option<String>,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct AdvanceArgs {
    /// The clearing id as `status` shows it (`yyyyMM-insured-treating-insutype`).
    #[arg(long)]
    id: String,
    /// The state to move to: 20, 30, 40, 50, 60 or 70.
    #[arg(long)]
    to: String,
    /// Who makes the change (recorded with it).
    #[arg(long, default_value = "cli")]
    operator: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct DeductArgs {
    /// Your id of the deduction: entering the same id again stores it once.
    #[arg(long)]
    id: String,
    /// The month it is taken from, `yyyy-MM` (not yet run).
    #[arg(long)]
    month: String,
    /// Insured region (6 digits).
    #[arg(long)]
    insured: String,
    /// Treating region (6 digits).
    #[arg(long)]
    treating: String,
    /// Scheme (insutype, e.g. 310, 390).
    #[arg(long)]
    insutype: String,
    /// 10 审核扣款 or 20 稽核扣款.
    #[arg(long)]
    kind: String,
    /// Amount in yuan (positive, at most two decimals).
    #[arg(long)]
    amount: String,
    #[arg(long, default_value = "")]
    reason: String,
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs a `yibao clearing` command.
pub fn run(args: &ClearingArgs) -> anyhow::Result<()> {
    match &args.command {
        ClearingCommand::Run(a) => run_month(a),
        ClearingCommand::Status(a) => status(a),
        ClearingCommand::Advance(a) => advance(a),
        ClearingCommand::Deduct(a) => deduct(a),
        ClearingCommand::Resubmit(a) => resubmit(a),
        ClearingCommand::Release(a) => release(a),
    }
}

fn resubmit(args: &ResubmitArgs) -> anyhow::Result<()> {
    let policy = ClearingPolicy::load(&args.policy)?;
    let done = with_store(&args.store, async |store| {
        Ok(yibao_ledger::clearing_run::resubmit(store, &policy, &args.id, &now_text()).await?)
    })?;
    eprintln!(
        "{}: {} {}",
        args.id,
        if done.stored_now {
            "applied again as"
        } else {
            "already applied again as"
        },
        done.clearing.clr_id
    );
    print_rows(args.format, std::slice::from_ref(&done.clearing))
}

fn release(args: &ReleaseArgs) -> anyhow::Result<()> {
    let request = ReleaseRequest {
        period: ReservePeriod::parse(&args.period).with_context(|| "--period".to_string())?,
        key: PairKey {
            insured_admdvs: region_arg("insured", &args.insured)?,
            treating_admdvs: region_arg("treating", &args.treating)?,
            insutype: code_arg("insutype", &args.insutype)?,
        },
        reason: args.reason.clone(),
        operator: args.operator.clone(),
    };
    let done = with_store(&args.store, async |store| {
        Ok(clearing_reserve::release(store, &request, &now_text()).await?)
    })?;
    let r = &done.release;
    println!(
        "reserve release {}{}: {} yuan",
        r.release_id,
        if done.stored_now {
            ""
        } else {
            " (released before)"
        },
        r.amount.to_yuan_string()
    );
    for (clr_id, amount) in &r.clearings {
        println!("  {clr_id}\t{}", amount.to_yuan_string());
    }
    Ok(())
}

fn month_arg(text: &str) -> anyhow::Result<Month> {
    Month::parse(text).with_context(|| "--month".to_string())
}

fn run_month(args: &RunArgs) -> anyhow::Result<()> {
    let month = month_arg(&args.month)?;
    let policy = ClearingPolicy::load(&args.policy)?;
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let run = with_store(&args.store, async |store| {
        Ok(
            yibao_ledger::clearing_run::run_month(store, &policy, month, as_of, &now_text())
                .await?,
        )
    })?;
    eprintln!(
        "{month}: {} clearing rows {}",
        run.rows.len(),
        if run.stored_now {
            "stored"
        } else {
            "already stored (nothing stored again)"
        }
    );
    print_rows(args.format, &run.rows)
}

fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let month = args.month.as_deref().map(month_arg).transpose()?;
    let rows = with_store(&args.store, async |store| {
        let mut conn = store.pool().acquire().await?;
        Ok(clearing::stored_rows(&mut conn, month).await?)
    })?;
    print_rows(args.format, &rows)
}

fn advance(args: &AdvanceArgs) -> anyhow::Result<()> {
    let Some(to) = ClearingState::parse(&args.to) else {
        bail!(
            "--to: `{}` is not a clearing state (20, 30, 40, 50, 60, 70)",
            args.to
        );
    };
    let stored = with_store(&args.store, async |store| {
        Ok(clearing::advance(store, &args.id, to, &args.operator, &now_text()).await?)
    })?;
    println!("{}: {}", stored.clr_id, stored.state);
    Ok(())
}

fn code_arg(flag: &str, text: &str) -> anyhow::Result<Code> {
    match Code::new(text) {
        Ok(code) if !code.is_empty() => Ok(code),
        _ => bail!("--{flag}: `{text}` is not a code"),
    }
}

fn region_arg(flag: &str, text: &str) -> anyhow::Result<Code> {
    yibao_ledger::clearing_run::region_code(text)
        .with_context(|| format!("--{flag}: `{text}` is not a 6-digit region code"))
}

fn deduct(args: &DeductArgs) -> anyhow::Result<()> {
    let inspection = match args.kind.as_str() {
        "10" => false,
        "20" => true,
        other => bail!("--kind: `{other}` is not 10 (审核扣款) or 20 (稽核扣款)"),
    };
    let amount = Fen::parse_yuan(&args.amount).with_context(|| "--amount".to_string())?;
    let deduction = ReviewDeduction {
        deduction_id: args.id.clone(),
        month: month_arg(&args.month)?,
        key: PairKey {
            insured_admdvs: region_arg("insured", &args.insured)?,
            treating_admdvs: region_arg("treating", &args.treating)?,
            insutype: code_arg("insutype", &args.insutype)?,
        },
        inspection,
        amount,
        reason: args.reason.clone(),
    };
    with_store(&args.store, async |store| {
        Ok(clearing::add_deductions(store, &[deduction], &now_text()).await?)
    })?;
    println!("deduction {} entered", args.id);
    Ok(())
}

const HEADER: [&str; 18] = [
    "clr_id",
    "state",
    "settlements",
    "cancellations",
    "carried",
    "late",
    "total_cost",
    "fund_owed",
    "audit",
    "inspection",
    "prepay_offset",
    "reserve",
    "cleared",
    "prepay_size",
    "prepay_top_up",
    "prepay_balance",
    "resubmits",
    "reserve_released_by",
];

fn print_rows(format: StatementFormat, rows: &[StoredClearing]) -> anyhow::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            let r = &s.row;
            let d = &r.deductions;
            vec![
                s.clr_id.clone(),
                s.state.code().to_string(),
                r.settlements.to_string(),
                r.cancellations.to_string(),
                r.carried_cancellations.to_string(),
                r.late_entries.to_string(),
                r.total_cost.to_string(),
                r.fund_owed.to_string(),
                d.audit.to_string(),
                d.inspection.to_string(),
                d.prepayment_offset.to_string(),
                d.reserve_withheld.to_string(),
                r.cleared.to_string(),
                r.prepayment.size.to_string(),
                r.prepayment.top_up.to_string(),
                r.prepayment.balance_after.to_string(),
                s.resubmits.clone().unwrap_or_default(),
                s.reserve_released_by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_statements(format, &HEADER, &cells, &rows)
}
