//! `yibao settle --policy P --catalog C FILE`: settles a JSON Lines file of visits and
//! cancellations in order and prints one JSON object (or, with `--explain`, a receipt) per line.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use yibao_catalog::Catalog;
use yibao_policy::Policy;
use yibao_settlement::Engine;
use yibao_wire::{receipt, BatchSettler, Outcome};

/// Arguments of `yibao settle`.
#[derive(Debug, Args)]
pub struct SettleArgs {
    /// Policy file (TOML), e.g. policies/jiujiang.toml.
    #[arg(long)]
    policy: PathBuf,
    /// Catalogue of the place of treatment (CSV, or TAB-separated .txt/.tsv).
    #[arg(long)]
    catalog: PathBuf,
    /// Print a human-readable receipt per line instead of JSON.
    #[arg(long)]
    explain: bool,
    /// JSON Lines file of visits (`-` for standard input).
    file: PathBuf,
}

/// Runs the command; returns whether every line settled.
pub fn run(args: &SettleArgs) -> anyhow::Result<bool> {
    let policy = Policy::load(&args.policy)?;
    let catalog = Catalog::from_path(&args.catalog)?;
    let mut settler = BatchSettler::new(Engine::new(&policy, &catalog));
    let input: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        Box::new(BufReader::new(file))
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match settle_lines(&mut settler, input, args, &mut out) {
        Err(e) if is_broken_pipe(&e) => Ok(true),
        other => other,
    }
}

/// A reader that stopped listening (`| head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn settle_lines(
    settler: &mut BatchSettler,
    input: Box<dyn BufRead>,
    args: &SettleArgs,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let mut all_settled = true;
    for line in input.lines() {
        let line = line.with_context(|| format!("cannot read {}", args.file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let outcome = settler.process_line(&line);
        all_settled &= matches!(outcome, Outcome::Settled(_));
        if args.explain {
            writeln!(out, "{}", receipt(&outcome))?;
        } else {
            serde_json::to_writer(&mut *out, &outcome).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(all_settled)
}
