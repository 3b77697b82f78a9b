//! `yibao`: the thin command-line front of the workspace. Each subcommand lives in its own module and
//! calls into the library crates; no business rule is decided here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit;
mod backup;
mod bars;
mod case;
mod clearing;
mod codelists;
mod demo;
mod drg;
mod drg_ledger;
mod export;
mod filing;
mod import;
mod load;
mod pay;
mod peers;
mod reimburse;
mod report;
mod serve;
mod settle;
mod supervise;
mod synth;
mod verify;

/// The service allocates many short-lived strings and JSON values per message; mimalloc serves them
/// markedly faster than the system allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "yibao",
    version,
    about = "Basic medical insurance (医保) platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the settlement service (national-interface callService over the ledger).
    Serve(serve::ServeArgs),
    /// Load persons, institutions, a catalogue or a policy into the database.
    Import(import::ImportArgs),
    /// Re-derive the accumulators and check every ledger identity (exits 1 on any difference).
    Verify(verify::VerifyArgs),
    /// Drive a running service with synthetic HIS clients and report settlements/s.
    Load(load::LoadArgs),
    /// Settle a JSON Lines file of visits with a policy and catalogue (exits 1 if any line failed).
    Settle(settle::SettleArgs),
    /// Generate a deterministic synthetic pooling region (persons, institutions, catalogue, a year of visits).
    Synth(synth::SynthArgs),
    /// CHS-DRG grouping of discharges and DRG point-value payment.
    Drg(drg::DrgArgs),
    /// A whole region on the embedded database: generated, enrolled, contributions collected, every
    /// visit settled through the service, and the fund report.
    Demo(demo::DemoArgs),
    /// Reports from a store: `fund` (the fund's books).
    Report(report::ReportArgs),
    /// Paying institutions under a total budget: `simulate` on files; `budgets`, `deduct`, `month`,
    /// `year-end` from the ledger.
    Pay(pay::PayArgs),
    /// Copy the embedded database to a file while the service runs (consistent online backup).
    Backup(backup::BackupArgs),
    /// Restore a backup into a data directory and verify it (exits 1 if verification fails).
    Restore(backup::RestoreArgs),
    /// Export stored records: `settlement-lists` (4101, for `yibao drg group`).
    Export(export::ExportArgs),
    /// Fund supervision: `run` the rule base and the seven big-data models over a file of visits.
    Audit(audit::AuditArgs),
    /// 异地就医备案 at the counter: `add`, `cancel`, `list` in the insured platform's register.
    Filing(filing::FilingArgs),
    /// Other platforms: `reconcile` a day's cross-platform settlements (exits 1 on any difference).
    Peers(peers::PeersArgs),
    /// Fund supervision cases: `list`, `show`, `open` a case on a finding, `assign`, `review`,
    /// `confirm` (a deduction; 追回 also a recovery), `dismiss`.
    Case(case::CaseArgs),
    /// 零星报销 at the counter through the admin API: a FILE.json invoice, or `--cancel SETL_ID`;
    /// prints the receipt.
    Reimburse(reimburse::ReimburseArgs),
    /// Cross-region clearing (异地就医清算): `run` a month, `status`, `advance` a clearing, `deduct`.
    Clearing(clearing::ClearingArgs),
    /// Sanctions of fund supervision: `agreement` (定点协议 add|list), `practitioner` (医保医师
    /// add|points|list), `card` (暂停联网结算 suspend|list), `credit` (institutions' rating).
    Supervise(supervise::SuperviseArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Import(args) => import::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Verify(args) => Ok(exit_code(verify::run(&args)?)),
        Command::Load(args) => load::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Settle(args) => Ok(exit_code(settle::run(&args)?)),
        Command::Synth(args) => synth::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Drg(args) => drg::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Demo(args) => Ok(exit_code(demo::run(&args)?)),
        Command::Report(args) => report::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Pay(args) => pay::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Backup(args) => backup::run_backup(&args).map(|()| ExitCode::SUCCESS),
        Command::Restore(args) => Ok(exit_code(backup::run_restore(&args)?)),
        Command::Export(args) => export::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Audit(args) => Ok(exit_code(audit::run(&args)?)),
        Command::Filing(args) => filing::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Peers(args) => Ok(exit_code(peers::run(&args)?)),
        Command::Case(args) => case::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Reimburse(args) => reimburse::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Clearing(args) => clearing::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Supervise(args) => supervise::run(&args).map(|()| ExitCode::SUCCESS),
    }
}

/// Success when every item of the run succeeded, 1 otherwise.
fn exit_code(all_ok: bool) -> ExitCode {
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
