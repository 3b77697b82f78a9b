//! `yibao synth --persons N --seed S --year Y --out DIR [--icd-dir DIR]`: writes a deterministic
//! synthetic pooling region (persons, employers, institutions, catalogue, a year of visits).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use yibao_domain::Fen;
use yibao_synth::{Silent, Summary, SynthConfig};

use crate::bars::Bars;

/// Arguments of `yibao synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of insured persons (a village: a few thousand; a province: tens of millions).
    #[arg(long, default_value_t = 10_000)]
    persons: u64,
    /// Seed of the generator; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Calendar year of the visits.
    #[arg(long, default_value_t = 2025)]
    year: i32,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Directory holding ZD_INFO.dat [default: ../shared/chs-drg/icd-yb2.0 next to the repository,
    /// else a built-in list of common diagnoses].
    #[arg(long)]
    icd_dir: Option<PathBuf>,
    /// Plant documented fraud patterns in March (card clusters, a high-frequency visitor, 分解住院,
    /// pharmacy night bursts, sex restrictions, duplicate charges, exam stays, companions sharing a
    /// phone, added to persons.csv as `tel`; groups grow with the population) and write their
    /// ground truth to fraud.jsonl (`pattern`, `expect`: the rule
    /// id or model `yibao audit run` should report, `psn_nos`, `mdtrt_ids`).
    #[arg(long)]
    fraud: bool,
}

/// Runs the command and prints what was generated.
pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let config = SynthConfig {
        persons: args.persons,
        seed: args.seed,
        year: args.year,
        out_dir: args.out.clone(),
        diagnoses: crate::codelists::diagnosis_source(args.icd_dir.as_deref()),
        fraud: args.fraud,
    };
    let started = Instant::now();
    let summary = if std::io::stderr().is_terminal() {
        yibao_synth::generate(&config, &mut Bars::default())
    } else {
        yibao_synth::generate(&config, &mut Silent)
    }
    .with_context(|| format!("yibao synth into {}", args.out.display()))?;
    print_summary(&summary, &config, started.elapsed().as_secs_f64());
    Ok(())
}

fn print_summary(summary: &Summary, config: &SynthConfig, seconds: f64) {
    let visits = summary.inpatient_visits
        + summary.outpatient_visits
        + summary.chronic_visits
        + summary.pharmacy_visits;
    println!(
        "yibao synth: seed {}, year {}, into {}",
        config.seed,
        config.year,
        config.out_dir.display()
    );
    println!(
        "  persons {} (workers {} in service + {} retired; residents {}, of whom {} poor)",
        summary.persons,
        summary.workers_in_service,
        summary.workers_retired,
        summary.residents,
        summary.poor_residents
    );
    println!(
        "  employers {}, institutions {}, catalogue items {}",
        summary.employers, summary.institutions, summary.catalog_items
    );
    println!(
        "  visits {visits} (inpatient {}, outpatient {}, 两病 {}, pharmacy {}), fee lines {}, total {} yuan",
        summary.inpatient_visits,
        summary.outpatient_visits,
        summary.chronic_visits,
        summary.pharmacy_visits,
        summary.fee_lines,
        Fen(summary.total_fee_fen)
    );
    println!("  in {seconds:.2} s");
}
