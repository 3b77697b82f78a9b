//! `yibao filing add|cancel|list`: counter-staff 异地就医备案 in the insured platform's register,
//! on the database directly, checked like the admin API (`yibao_server::filing_register`).

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use yibao_ledger::remote_filings::{self, ListFilter, RemoteFiling};
use yibao_server::filing_register::{self, FilingRequest};
use yibao_server::state::Regions;

use crate::pay::{with_store, StoreArgs};

#[derive(Args)]
pub struct FilingArgs {
    #[command(subcommand)]
    command: FilingCommand,
}

#[derive(Subcommand)]
enum FilingCommand {
    /// File a person's 异地就医备案.
    Add(AddArgs),
    /// Cancel a filing by its serial.
    Cancel(CancelArgs),
    /// List filings, newest first.
    List(ListArgs),
}

#[derive(Args)]
struct AddArgs {
    #[arg(long)]
    psn_no: String,
    /// The scheme (310, 390 …); absent: every scheme of the person.
    #[arg(long)]
    insutype: Option<String>,
    /// 备案类别: 01 异地安置退休, 02 异地长期居住, 03 常驻异地工作, 04 异地转诊, 05 异地急诊抢救,
    /// 06 其他临时外出.
    #[arg(long)]
    fil_type: String,
    /// 就医地: province, city or county code (6 digits).
    #[arg(long)]
    area: String,
    /// First day, `yyyy-MM-dd`.
    #[arg(long)]
    begndate: String,
    /// Last day; absent: open (long-term) or the policy's temporary validity.
    #[arg(long)]
    enddate: Option<String>,
    /// Diagnosis code (referrals).
    #[arg(long)]
    dise_codg: Option<String>,
    /// The counter clerk.
    #[arg(long)]
    operator: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct CancelArgs {
    trt_dcla_detl_sn: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct ListArgs {
    #[arg(long)]
    psn_no: Option<String>,
    /// The insured pooling region.
    #[arg(long)]
    insu_admdvs: Option<String>,
    /// Cancelled filings too.
    #[arg(long)]
    all: bool,
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(args: &FilingArgs) -> anyhow::Result<()> {
    match &args.command {
        FilingCommand::Add(add) => run_add(add),
        FilingCommand::Cancel(cancel) => run_cancel(cancel),
        FilingCommand::List(list) => run_list(list),
    }
}

fn run_add(args: &AddArgs) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "psn_no": args.psn_no, "insutype": args.insutype, "fil_type": args.fil_type,
        "mdtrtarea_admdvs": args.area, "begndate": args.begndate, "enddate": args.enddate,
        "dise_codg": args.dise_codg,
    });
    let request: FilingRequest = serde_json::from_value(body.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("reading the filing")?;
    let filing = with_store(&args.store, async |store| {
        let regions = Regions::load(store).await?;
        let operator = args.operator.trim();
        filing_register::file_at_counter(store, &regions, &request, operator, body.to_string())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    print_filing(&filing);
    Ok(())
}

fn run_cancel(args: &CancelArgs) -> anyhow::Result<()> {
    let sn = args.trt_dcla_detl_sn.as_str();
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let cancelled = with_store(&args.store, async |store| {
        let mut conn = store.pool().acquire().await?;
        let done = remote_filings::cancel(&mut conn, sn, &now).await?;
        Ok((done, remote_filings::filing(&mut conn, sn).await?))
    })?;
    match cancelled {
        (true, Some(filing)) => print_filing(&filing),
        (false, Some(_)) => bail!("备案 {sn} 已撤销"),
        (_, None) => bail!("没有备案 {sn}"),
    }
    Ok(())
}

fn run_list(args: &ListArgs) -> anyhow::Result<()> {
    if args.limit == 0 || args.limit > remote_filings::LIST_LIMIT_MAX {
        bail!(
            "--limit {} is not between 1 and {}",
            args.limit,
            remote_filings::LIST_LIMIT_MAX
        );
    }
    let filter = ListFilter {
        insu_admdvs: args.insu_admdvs.clone(),
        psn_no: args.psn_no.clone(),
        include_cancelled: args.all,
    };
    let filings = with_store(&args.store, async |store| {
        let mut conn = store.pool().acquire().await?;
        Ok(remote_filings::list(&mut conn, &filter, args.limit).await?)
    })?;
    println!("trt_dcla_detl_sn\tinsu_admdvs\tpsn_no\tinsutype\tfil_type\tmdtrtarea_admdvs\tbegndate\tenddate\tsource\tvalid");
    filings.iter().for_each(print_filing);
    Ok(())
}

fn print_filing(f: &RemoteFiling) {
    println!(
        "{}\t{}\t{}\t{}\t{} {}\t{}\t{}\t{}\t{}\t{}",
        f.trt_dcla_detl_sn,
        f.insu_admdvs,
        f.psn_no,
        f.insutype,
        f.fil_type,
        f.fil_type.label().unwrap_or(""),
        f.mdtrtarea_admdvs,
        f.begndate,
        f.enddate.map(|d| d.to_string()).unwrap_or_default(),
        f.source.as_str(),
        if f.valid { "1" } else { "0" }
    );
}
