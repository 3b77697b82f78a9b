//! `yibao`: the thin command-line front of the workspace. Each subcommand lives in its own module and
//! calls into the library crates; no business rule is decided here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod settle;

#[derive(Parser)]
#[command(name = "yibao", version, about = "Basic medical insurance (医保) platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Settle a JSON Lines file of visits with a policy and catalogue (exits 1 if any line failed).
    Settle(settle::SettleArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Settle(args) => Ok(exit_code(settle::run(&args)?)),
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
