//! `yibao pay`: `budgets`, `deduct`, `month` and `year-end` pay the region's institutions from the
//! ledger (`yibao_region::payment`); `simulate` runs a year of budget payment (总额预算) on files — monthly payment within the
//! quota and year-end clearing — one JSON line per institution × insutype. The rules are
//! `yibao-provider-payment`'s; this module reads the files and writes the lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use yibao_ledger::procurement::Posted;
use yibao_ledger::provider::ProviderKey;
use yibao_provider_payment::input::{
    read_activity, read_budgets, read_claims, read_prepayments, read_savings, read_scores,
    read_simulated_procurement, InputError, SimulatedProcurement,
};
use yibao_provider_payment::procurement::plan_prepayment;
use yibao_provider_payment::Score;
use yibao_provider_payment::{run_year, InstitutionYear, PaymentPolicy, YearEndInput, MONTHS};
use yibao_region::{payment, Database};
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
                       null when the policy's table needs a score that --scores does not give)
With --procurement, the lines of its budgets also carry:
  procurement_offsets  12 amounts: the procurement prepayment recovered from each month's transfer
                       (due by the policy's [procurement] schedule, at most what the month transfers)
  procurement_recovered  what the months left, recovered at the year-end
  procurement_savings, procurement_retained  the year's savings and the share paid at the year-end";

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
    /// Store the year's budgets (the `simulate` budgets file) in the database.
    Budgets(BudgetsArgs),
    /// Post audit and inspection deductions (and prepayment offsets) against a month's payment.
    Deduct(DeductArgs),
    /// Pay a month (一月一拨) to every budgeted institution from the settlement ledger; a month
    /// already paid is shown as posted and nothing is posted twice.
    Month(MonthArgs),
    /// Clear a year (年终清算) whose twelve months are paid; idempotent like `month`.
    YearEnd(YearEndArgs),
    /// Procurement (集采): prepayments (采购周转金) offset in later months, savings (结余留用).
    #[command(subcommand)]
    Procurement(ProcurementCommand),
}

#[derive(Subcommand)]
enum ProcurementCommand {
    /// Pay procurement prepayments and store their offset schedules; a prepayment posted before
    /// is shown as posted and nothing is posted twice.
    Prepay(PrepayArgs),
    /// Store the year's procurement savings from a CSV of procured items.
    Savings(SavingsArgs),
    /// Each institution's prepayment, what the paid months recovered, savings and retained share.
    Status(ProcurementStatusArgs),
}

#[derive(Args)]
struct PrepayArgs {
    /// CSV `fixmedins_code,insutype,year,month` with `procurement_volume` (yuan; the policy's
    /// `prepayment_ratio` of it is prepaid) or `prepayment_amt` (yuan, entered by the bureau).
    file: PathBuf,
    /// Payment policy TOML with a `[procurement]` table.
    #[arg(long)]
    policy: PathBuf,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct SavingsArgs {
    /// CSV `fixmedins_code,insutype,year,item_code,reference_price,bid_price,volume` (prices in
    /// yuan, up to four decimals): savings = Σ (reference − bid) × volume.
    file: PathBuf,
    /// Payment policy TOML (its rounding).
    #[arg(long)]
    policy: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct ProcurementStatusArgs {
    #[arg(long)]
    year: i32,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    #[command(flatten)]
    store: StoreArgs,
}

/// Where the ledger is.
#[derive(Args)]
pub(crate) struct StoreArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "yibao-data")]
    data_dir: PathBuf,
    /// `postgres://…` or `sqlite:…` instead of the embedded database.
    #[arg(long)]
    database: Option<String>,
}

impl StoreArgs {
    fn database(&self) -> Database {
        match &self.database {
            Some(url) => Database::Url(url.clone()),
            None => Database::DataDir(self.data_dir.clone()),
        }
    }
}

#[derive(Args)]
struct BudgetsArgs {
    /// CSV `fixmedins_code,insutype,year,annual_index` (yuan) with the optional control limits.
    file: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct DeductArgs {
    /// CSV `deduction_id,fixmedins_code,insutype,year,month,kind,amount,reason` (kind 10 审核扣款,
    /// 20 稽核扣款, 30 预付金抵扣; amount in yuan). A month already paid is refused.
    file: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum StatementFormat {
    Table,
    Csv,
    Json,
}

#[derive(Args)]
struct MonthArgs {
    /// The month, `yyyy-MM`.
    #[arg(long)]
    month: String,
    /// Payment policy TOML.
    #[arg(long)]
    policy: PathBuf,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    /// Today (`yyyy-MM-dd`; default: the clock): a month is paid once it is over.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct YearEndArgs {
    #[arg(long)]
    year: i32,
    /// Payment policy TOML.
    #[arg(long)]
    policy: PathBuf,
    /// CSV `fixmedins_code,insutype,score`: the annual assessment score releasing the reserve.
    #[arg(long)]
    scores: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = StatementFormat::Table)]
    format: StatementFormat,
    #[command(flatten)]
    store: StoreArgs,
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
    /// CSV `fixmedins_code,insutype,prepayment_month,prepayment_amt,savings_amt` (yuan): a
    /// procurement prepayment offset by the policy's `[procurement]` schedule, and the year's
    /// procurement savings. Optional; only its budgets' lines get the procurement fields.
    #[arg(long)]
    procurement: Option<PathBuf>,
}

pub fn run(args: &PayArgs) -> anyhow::Result<()> {
    match &args.command {
        PayCommand::Simulate(simulate) => run_simulate(simulate),
        PayCommand::Budgets(budgets) => run_budgets(budgets),
        PayCommand::Deduct(deduct) => run_deduct(deduct),
        PayCommand::Month(month) => run_month(month),
        PayCommand::YearEnd(year_end) => run_year_end(year_end),
        PayCommand::Procurement(ProcurementCommand::Prepay(prepay)) => run_prepay(prepay),
        PayCommand::Procurement(ProcurementCommand::Savings(savings)) => run_savings(savings),
        PayCommand::Procurement(ProcurementCommand::Status(status)) => {
            run_procurement_status(status)
        }
    }
}

fn run_prepay(args: &PrepayArgs) -> anyhow::Result<()> {
    let policy = PaymentPolicy::load(&args.policy)?;
    let rows = read_prepayments(&read_text(&args.file)?, &args.file.display().to_string())?;
    let posted = with_store(&args.store, async |store| {
        Ok(payment::prepay(store, &policy, &rows, &now_text()).await?)
    })?;
    let table: Vec<Vec<String>> = posted
        .iter()
        .map(|(p, outcome)| {
            let offsets = &p.prepayment.offsets;
            vec![
                p.fixmedins_code.clone(),
                p.insutype.to_string(),
                format!("{}-{:02}", p.year, p.prepayment.month),
                p.basis.name.clone(),
                p.basis.amount.to_string(),
                p.prepayment.amount.to_string(),
                offsets
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                match outcome {
                    Posted::New => "posted",
                    Posted::AlreadyPosted => "already posted",
                }
                .to_string(),
            ]
        })
        .collect();
    const HEADER: [&str; 8] = [
        "fixmedins_code",
        "insutype",
        "month",
        "basis",
        "basis_amount",
        "prepayment",
        "offsets (Jan–Dec)",
        "status",
    ];
    print_statements(args.format, &HEADER, &table, &posted)
}

fn run_savings(args: &SavingsArgs) -> anyhow::Result<()> {
    let policy = PaymentPolicy::load(&args.policy)?;
    let items = read_savings(&read_text(&args.file)?, &args.file.display().to_string())?;
    let stored = with_store(&args.store, async |store| {
        Ok(payment::store_savings(store, &policy, &items, &now_text()).await?)
    })?;
    for s in &stored {
        println!(
            "{} {} {}: {} items, savings {}",
            s.fixmedins_code, s.insutype, s.year, s.items, s.savings
        );
    }
    Ok(())
}

fn run_procurement_status(args: &ProcurementStatusArgs) -> anyhow::Result<()> {
    let status = with_store(&args.store, async |store| {
        let mut conn = store.pool().acquire().await?;
        Ok(yibao_ledger::procurement::status(&mut conn, args.year).await?)
    })?;
    let optional =
        |amount: Option<yibao_domain::Fen>| amount.map(|a| a.to_string()).unwrap_or_default();
    let rows: Vec<Vec<String>> = status
        .iter()
        .map(|s| {
            vec![
                s.fixmedins_code.clone(),
                s.insutype.clone(),
                s.year.to_string(),
                s.prepaid_month.map(|m| m.to_string()).unwrap_or_default(),
                s.prepaid.to_string(),
                s.months_paid.to_string(),
                s.recovered.to_string(),
                optional(s.recovered_at_year_end),
                s.outstanding.to_string(),
                optional(s.savings),
                optional(s.retained),
            ]
        })
        .collect();
    const HEADER: [&str; 11] = [
        "fixmedins_code",
        "insutype",
        "year",
        "prepaid_month",
        "prepaid",
        "months_paid",
        "recovered",
        "recovered_at_year_end",
        "outstanding",
        "savings",
        "retained",
    ];
    print_statements(args.format, &HEADER, &rows, &status)
}

pub(crate) fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Runs `work` on the store.
pub(crate) fn with_store<T>(
    store: &StoreArgs,
    work: impl AsyncFnOnce(&yibao_ledger::Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let opened = yibao_region::open(&store.database()).await?;
        let result = work(&opened).await;
        opened.close().await;
        result
    })
}

fn run_budgets(args: &BudgetsArgs) -> anyhow::Result<()> {
    let budgets = read_budgets(&read_text(&args.file)?, &args.file.display().to_string())?;
    with_store(&args.store, async |store| {
        yibao_ledger::provider::upsert_budgets(store, &budgets, &now_text()).await?;
        Ok(())
    })?;
    println!("{} budgets stored", budgets.len());
    Ok(())
}

fn run_deduct(args: &DeductArgs) -> anyhow::Result<()> {
    let deductions =
        payment::read_deductions(&read_text(&args.file)?, &args.file.display().to_string())?;
    with_store(&args.store, async |store| {
        yibao_ledger::provider::post_deductions(store, &deductions, &now_text()).await?;
        Ok(())
    })?;
    println!("{} deductions posted", deductions.len());
    Ok(())
}

/// `yyyy-MM` → (year, month).
pub(crate) fn year_month(text: &str) -> anyhow::Result<(i32, u32)> {
    let parsed = text
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)));
    match parsed {
        Some((year, month)) if (1..=12).contains(&month) && (1900..=9999).contains(&year) => {
            Ok((year, month))
        }
        _ => bail!("--month: `{text}` is not a month yyyy-MM"),
    }
}

fn run_month(args: &MonthArgs) -> anyhow::Result<()> {
    let (year, month) = year_month(&args.month)?;
    let policy = PaymentPolicy::load(&args.policy)?;
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let statements = with_store(&args.store, async |store| {
        Ok(payment::pay_month(store, &policy, year, month, as_of, &now_text()).await?)
    })?;
    let rows: Vec<Vec<String>> = statements
        .iter()
        .map(|s| {
            let m = &s.statement;
            vec![
                s.fixmedins_code.clone(),
                s.insutype.clone(),
                format!("{year}-{month:02}"),
                m.claims.to_string(),
                m.deductions.to_string(),
                m.net_claims.to_string(),
                m.quota.to_string(),
                m.paid.to_string(),
                m.deferred.to_string(),
                m.reserve_withheld.to_string(),
                m.prepayment_offset.to_string(),
                m.procurement_offset.to_string(),
                m.transfer.to_string(),
                m.deferred_to_date.to_string(),
            ]
        })
        .collect();
    const HEADER: [&str; 14] = [
        "fixmedins_code",
        "insutype",
        "month",
        "claims",
        "deductions",
        "net_claims",
        "quota",
        "paid",
        "deferred",
        "reserve_withheld",
        "prepayment_offset",
        "procurement_offset",
        "transfer",
        "deferred_to_date",
    ];
    print_statements(args.format, &HEADER, &rows, &statements)
}

fn run_year_end(args: &YearEndArgs) -> anyhow::Result<()> {
    let policy = PaymentPolicy::load(&args.policy)?;
    let scores = match &args.scores {
        Some(path) => read_score_file(path)?,
        None => BTreeMap::new(),
    };
    let statements = with_store(&args.store, async |store| {
        Ok(payment::clear(store, &policy, args.year, &scores, &now_text()).await?)
    })?;
    let rows: Vec<Vec<String>> = statements
        .iter()
        .map(|s| {
            let e = &s.statement;
            vec![
                s.fixmedins_code.clone(),
                s.insutype.clone(),
                s.year.to_string(),
                e.index.to_string(),
                e.audited_claims.to_string(),
                e.retained.to_string(),
                e.fund_share.to_string(),
                e.refused.to_string(),
                e.final_amount.to_string(),
                e.paid.to_string(),
                e.year_end_payment.to_string(),
                e.reserve_released
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
                e.procurement_retained.to_string(),
                e.procurement_recovered.to_string(),
            ]
        })
        .collect();
    const HEADER: [&str; 14] = [
        "fixmedins_code",
        "insutype",
        "year",
        "index",
        "audited_claims",
        "retained",
        "fund_share",
        "refused",
        "final",
        "paid",
        "year_end_payment",
        "reserve_released",
        "procurement_retained",
        "procurement_recovered",
    ];
    print_statements(args.format, &HEADER, &rows, &statements)
}

/// Reads `fixmedins_code,insutype,score`.
fn read_score_file(path: &Path) -> anyhow::Result<BTreeMap<ProviderKey, Score>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut scores = BTreeMap::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.with_context(|| format!("{} line {line}", path.display()))?;
        let field = |i: usize| record.get(i).unwrap_or_default();
        let insutype = yibao_domain::Code::new(field(1))
            .map_err(|e| anyhow::anyhow!("{} line {line}, `insutype`: {e}", path.display()))?;
        let score = Score::parse(field(2))
            .map_err(|e| anyhow::anyhow!("{} line {line}, `score`: {e}", path.display()))?;
        scores.insert((field(0).to_string(), insutype), score);
    }
    Ok(scores)
}

/// Prints statements as an aligned table, CSV, or JSON (the full statements, amounts in yuan).
pub(crate) fn print_statements<T: Serialize>(
    format: StatementFormat,
    header: &[&str],
    rows: &[Vec<String>],
    full: &T,
) -> anyhow::Result<()> {
    match format {
        StatementFormat::Json => println!("{}", serde_json::to_string_pretty(full)?),
        StatementFormat::Csv => {
            let mut out = csv::Writer::from_writer(std::io::stdout().lock());
            out.write_record(header)?;
            for row in rows {
                out.write_record(row)?;
            }
            out.flush()?;
        }
        StatementFormat::Table => {
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([header[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: Vec<&str>| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:>w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            println!("{}", line(header.to_vec()));
            for row in rows {
                println!("{}", line(row.iter().map(String::as_str).collect()));
            }
        }
    }
    Ok(())
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
    /// Only for a budget of the `--procurement` file.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    procurement: Option<SimulatedProcurementOut>,
}

/// The procurement fields of a simulated year (`--procurement`).
#[derive(Serialize)]
struct SimulatedProcurementOut {
    /// The prepayment recovered from each month's transfer.
    procurement_offsets: [Yuan; MONTHS],
    /// The prepayment the months left, recovered at the year-end.
    procurement_recovered: Yuan,
    procurement_savings: Yuan,
    /// savings × `savings_retained_ratio`, paid at the year-end.
    procurement_retained: Yuan,
}

impl<'a> SimulatedYear<'a> {
    fn of(
        year: &'a InstitutionYear,
        procurement: Option<&SimulatedProcurement>,
    ) -> SimulatedYear<'a> {
        let end = &year.year_end;
        SimulatedYear {
            procurement: procurement.map(|_| SimulatedProcurementOut {
                procurement_offsets: year.months.map(|m| Yuan(m.procurement_offset)),
                procurement_recovered: Yuan(end.procurement_recovered),
                procurement_savings: Yuan(end.procurement_savings),
                procurement_retained: Yuan(end.procurement_retained),
            }),
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
    let procurement = read_optional(args.procurement.as_deref(), budgets.len(), |text, file| {
        read_simulated_procurement(text, file, &budgets)
    })?;
    let years = budgets
        .iter()
        .enumerate()
        .map(|(i, budget)| {
            let mut months = claims[i];
            if let Some((month, amount)) = procurement[i].and_then(|p| p.prepayment) {
                let plan = plan_prepayment(&policy, budget, month, amount)?;
                for (input, due) in months.iter_mut().zip(plan.offsets) {
                    input.procurement_offset = due;
                }
            }
            let year_end = YearEndInput {
                activity: activity[i],
                score: scores[i],
                procurement_savings: procurement[i].map_or_else(Default::default, |p| p.savings),
            };
            run_year(&policy, budget, &months, &year_end)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (year, procurement) in years.iter().zip(&procurement) {
        serde_json::to_writer(&mut out, &SimulatedYear::of(year, procurement.as_ref()))?;
        out.write_all(b"\n")?;
    }
    out.flush().context("writing the results")?;
    Ok(())
}
