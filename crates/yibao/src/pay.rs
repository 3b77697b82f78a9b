//! `yibao pay simulate`: a year of budget payment (总额预算) on files — monthly payment within the
//! quota and year-end clearing — one JSON line per institution × insutype. The rules are
//! `yibao-provider-payment`'s; this module reads the files and writes the lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use yibao_provider_payment::input::{
    read_activity, read_budgets, read_claims, read_scores, InputError,
};
use yibao_provider_payment::{run_year, InstitutionYear, PaymentPolicy, YearEndInput, MONTHS};
use yibao_wire::render::Yuan;

/// What each output field means (also in the README).
const SIMULATE_OUTPUT: &str = "\
Output: one JSON line per budget row, in the budgets file's order; amounts in yuan as JSON numbers with two decimals.
  fixmedins_code, insutype, year  the budget row
  annual_index         the annual index as given; T = annual_index − index_cut
  monthly_paid         12 amounts: each month's net claims (claim_amt − deduction_amt) paid within the month's quota
                       (negative: deductions exceeding the claims, recovered); the reserve is withheld from these
  deferred             net claims above the quotas, not paid during the year (超支挂帐) = Σ net claims − Σ monthly_paid
  audited_claims       C = Σ net claims − year_end_deductions
  final                the year's entitlement: C + retained when C ≤ T, else T + fund_share
  year_end_payment     final − Σ monthly_paid (negative: recovered from the institution)
  retained             surplus kept: min(T − C, T × surplus_retained_max_ratio) when C ≤ T, else 0
  fund_share           the fund's part of the overspend C − T, band by band; 0 when C ≤ T
  year_end_deductions  the Q4 excess and the control indicators' excesses, as the policy deducts them
  index_cut            quotas of months without claims, cut from the index when the policy says so
  reserve_withheld     Σ of each positive monthly_paid × reserve_withheld_ratio (预留金), not transferred
  reserve_released     the part of it released by the assessment score (all without a release table;
                       null when the policy's table needs a score that --scores does not give)";

#[derive(Args)]
pub struct PayArgs {
    #[command(subcommand)]
    command: PayCommand,
}

#[derive(Subcommand)]
enum PayCommand {
    /// Pay a year of monthly claims under a budget policy and clear it at the year-end.
    #[command(after_help = SIMULATE_OUTPUT)]
    Simulate(SimulateArgs),
}

#[derive(Args)]
struct SimulateArgs {
    /// Payment policy TOML (e.g. `policies/payment/jiujiang-budget.toml`).
    #[arg(long)]
    policy: PathBuf,
    /// CSV `fixmedins_code,insutype,year,annual_index` (yuan), one row per institution and insutype;
    /// optional columns `avg_cost_limit,admissions_limit,self_pay_share_limit` (the institution's own
    /// control limits).
    #[arg(long)]
    budgets: PathBuf,
    /// CSV `fixmedins_code,insutype,month,claim_amt,deduction_amt` (yuan, month 1–12); optional
    /// `prepayment_offset_amt`. Rows of the same institution, insutype and month add up.
    #[arg(long)]
    claims: PathBuf,
    /// CSV `fixmedins_code,insutype,admissions,total_cost,self_pay_amt`: the year's activity, needed
    /// when the policy's control indicators apply.
    #[arg(long)]
    activity: Option<PathBuf>,
    /// CSV `fixmedins_code,insutype,score`: the annual assessment score (0–100) releasing the reserve.
    #[arg(long)]
    scores: Option<PathBuf>,
}

pub fn run(args: &PayArgs) -> anyhow::Result<()> {
    match &args.command {
        PayCommand::Simulate(simulate) => run_simulate(simulate),
    }
}

/// One output line.
#[derive(Serialize)]
struct SimulatedYear<'a> {
    fixmedins_code: &'a str,
    insutype: &'a str,
    year: i32,
    annual_index: Yuan,
    monthly_paid: [Yuan; MONTHS],
    deferred: Yuan,
    audited_claims: Yuan,
    #[serde(rename = "final")]
    final_amount: Yuan,
    year_end_payment: Yuan,
    retained: Yuan,
    fund_share: Yuan,
    year_end_deductions: Yuan,
    index_cut: Yuan,
    reserve_withheld: Yuan,
    reserve_released: Option<Yuan>,
}

impl<'a> SimulatedYear<'a> {
    fn of(year: &'a InstitutionYear) -> SimulatedYear<'a> {
        let end = &year.year_end;
        SimulatedYear {
            fixmedins_code: &year.budget.fixmedins_code,
            insutype: year.budget.insutype.as_str(),
            year: year.budget.year,
            annual_index: Yuan(end.annual_index),
            monthly_paid: year.months.map(|m| Yuan(m.paid)),
            deferred: Yuan(end.deferred),
            audited_claims: Yuan(end.audited_claims),
            final_amount: Yuan(end.final_amount),
            year_end_payment: Yuan(end.year_end_payment),
            retained: Yuan(end.retained),
            fund_share: Yuan(end.fund_share),
            year_end_deductions: Yuan(end.year_end_deductions),
            index_cut: Yuan(end.index_cut),
            reserve_withheld: Yuan(end.reserve_withheld),
            reserve_released: end.reserve_released.map(Yuan),
        }
    }
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads an optional per-budget file, or gives `None` for every budget.
fn read_optional<T>(
    path: Option<&Path>,
    budget_count: usize,
    read: impl Fn(&str, &str) -> Result<Vec<Option<T>>, InputError>,
) -> anyhow::Result<Vec<Option<T>>> {
    match path {
        Some(path) => Ok(read(&read_text(path)?, &path.display().to_string())?),
        None => Ok((0..budget_count).map(|_| None).collect()),
    }
}

/// Computes every year first and writes only when all succeeded, so a bad row leaves no output.
fn run_simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    let policy = PaymentPolicy::load(&args.policy)?;
    let budgets = read_budgets(
        &read_text(&args.budgets)?,
        &args.budgets.display().to_string(),
    )?;
    let claims = read_claims(
        &read_text(&args.claims)?,
        &args.claims.display().to_string(),
        &budgets,
    )?;
    let activity = read_optional(args.activity.as_deref(), budgets.len(), |text, file| {
        read_activity(text, file, &budgets)
    })?;
    let scores = read_optional(args.scores.as_deref(), budgets.len(), |text, file| {
        read_scores(text, file, &budgets)
    })?;
    let years = budgets
        .iter()
        .enumerate()
        .map(|(i, budget)| {
            let year_end = YearEndInput {
                activity: activity[i],
                score: scores[i],
            };
            run_year(&policy, budget, &claims[i], &year_end)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for year in &years {
        serde_json::to_writer(&mut out, &SimulatedYear::of(year))?;
        out.write_all(b"\n")?;
    }
    out.flush().context("writing the results")?;
    Ok(())
}
