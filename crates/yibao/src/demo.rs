//! `yibao demo [--persons N] [--seed S] [--year Y] [--data-dir DIR] [--json]`: a whole pooling
//! region on the embedded database — generated, registered, enrolled, contributions collected,
//! every visit settled through the service's national message flows, the institutions paid month
//! by month under their budgets and the year cleared — and its fund and provider reports. Its
//! inpatients treated outside the region (the generator's share) go to 南昌's hospitals on the same
//! platform and to other provinces' hospitals on platforms the demo starts on loopback as peers;
//! every month is cleared and the cross-region lines are printed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use yibao_books::render_table;
use yibao_domain::Fen;
use yibao_provider_payment::summary;
use yibao_region::cross_region::{CrossRegionConfig, CrossRegionRun, Direction, Totals};
use yibao_region::{Database, RegionConfig, RegionRun};
use yibao_synth::{Silent, SynthConfig};

use crate::bars::Bars;

/// Arguments of `yibao demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Insured persons of the region (50,000 give about 257,000 visits and 920,000 messages,
    /// settled in about two minutes on 2 cores; see BENCHMARKS.md).
    #[arg(long, default_value_t = 50_000)]
    persons: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Calendar year of the visits and of the books.
    #[arg(long, default_value_t = 2025)]
    year: i32,
    /// Directory for the generated files and the database; it must not hold a database yet
    /// [default: yibao-demo under the system's temporary directory, emptied first].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Concurrent HIS clients settling visits (a county's hospitals, clinics and pharmacies have
    /// about as many terminals; more clients let group commit gather bigger batches).
    #[arg(long, default_value_t = 1024)]
    clients: usize,
    /// Directory holding ZD_INFO.dat [default: ../shared/chs-drg/icd-yb2.0 next to the repository,
    /// else a built-in list of common diagnoses].
    #[arg(long)]
    icd_dir: Option<PathBuf>,
    /// Print the reports as JSON (`{"report": …, "providers": […]}`) instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs the demo; `false` when a visit could not be settled.
pub fn run(args: &DemoArgs) -> anyhow::Result<bool> {
    let data_dir = data_dir(args.data_dir.as_deref())?;
    let synth = SynthConfig {
        persons: args.persons,
        seed: args.seed,
        year: args.year,
        out_dir: data_dir.join("region"),
        diagnoses: crate::codelists::diagnosis_source(args.icd_dir.as_deref()),
        fraud: false,
    };
    let config = RegionConfig {
        cross_region: Some(CrossRegionConfig::jiangxi()),
        ..RegionConfig::reference(synth, Database::DataDir(data_dir.join("db")), args.clients)
    };
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let region = if std::io::stderr().is_terminal() {
        runtime.block_on(yibao_region::run(&config, &mut Bars::default()))
    } else {
        runtime.block_on(yibao_region::run(&config, &mut Silent))
    }
    .with_context(|| format!("yibao demo in {}", data_dir.display()))?;
    if args.json {
        let both = serde_json::json!({ "report": region.report, "providers": region.providers, "cross_region": region.cross_region });
        println!("{}", serde_json::to_string_pretty(&both)?);
    } else {
        print!("{}", render_table(&region.report));
        println!();
        print!(
            "{}",
            summary::render_table(&config.synth.year.to_string(), &region.providers)
        );
        if let Some(cross) = &region.cross_region {
            println!();
            print!("{}", render_cross_region(cross, config.synth.year));
        }
    }
    print_summary(&region, &config, started.elapsed().as_secs_f64());
    Ok(region.replayed.failed == 0)
}

/// The given directory (which must not hold a database), or the default one, emptied.
fn data_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    match given {
        Some(dir) => {
            if dir.join("db").exists() {
                anyhow::bail!(
                    "--data-dir {} already holds a demo database; choose another directory",
                    dir.display()
                );
            }
            Ok(dir.to_path_buf())
        }
        None => {
            let dir = std::env::temp_dir().join("yibao-demo");
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("emptying {}", dir.display()))?;
            }
            Ok(dir)
        }
    }
}

fn print_summary(region: &RegionRun, config: &RegionConfig, seconds: f64) {
    let replayed = &region.replayed;
    let t = &region.timings;
    println!();
    println!(
        "yibao demo: {} persons ({} institutions), seed {}, year {}",
        region.generated.persons,
        region.registered.institutions,
        config.synth.seed,
        config.synth.year
    );
    println!(
        "  settled {} of {} visits ({} messages, {} failed) in {:.1} s: {:.0} settlements/s",
        replayed.settled,
        replayed.visits,
        replayed.messages,
        replayed.failed,
        replayed.seconds,
        replayed.settlements_per_second()
    );
    for error in &replayed.errors {
        println!("  failed: {error}");
    }
    println!(
        "  stages: generate {:.1} s, register {:.1} s, contributions {:.1} s, settle {:.1} s, pay {:.1} s, clearing {:.1} s, report {:.1} s; total {seconds:.1} s",
        t.generate, t.register, t.collect, t.settle, t.pay, t.clearing, t.report
    );
    if let Database::DataDir(dir) = &config.database {
        println!(
            "  database in {0}: yibao report fund --year {1} --data-dir {0}",
            dir.display(),
            config.synth.year
        );
        println!(
            "  institutions paid: yibao report providers --year {1} --data-dir {0}",
            dir.display(),
            config.synth.year
        );
        println!(
            "  cross-region clearing: yibao clearing status --data-dir {0}",
            dir.display()
        );
    }
}

/// The cross-region lines (from the stored clearing rows) and each peer platform's view of the same
/// care (from its ledger).
fn render_cross_region(cross: &CrossRegionRun, year: i32) -> String {
    let months: Vec<String> = cross.months.iter().map(ToString::to_string).collect();
    let mut out = format!(
        "异地就医: care of {year} of pooling region {}, settled and cleared in {} ({} clearing rows)\n",
        cross.home_region,
        months.join(", "),
        cross.clearings.len()
    );
    out.push_str(&format!(
        "{:<9} {:<8} {:<9} {:>11} {:>10} {:>16} {:>16} {:>10}\n",
        "direction",
        "partner",
        "platform",
        "settlements",
        "admissions",
        "total cost",
        "fund paid",
        "fund share"
    ));
    for line in &cross.lines {
        let direction = match line.direction {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        };
        let platform = if line.peer_platform { "peer" } else { "this" };
        out.push_str(&format!(
            "{direction:<9} {:<8} {platform:<9} {}\n",
            line.partner,
            totals_columns(&line.totals)
        ));
    }
    for view in &cross.peer_views {
        let agrees = cross
            .outbound_to(&view.region)
            .is_some_and(|line| line.totals == view.totals);
        out.push_str(&format!(
            "peer {:<13} {:<9} {}  {}\n",
            view.region,
            "ledger",
            totals_columns(&view.totals),
            if agrees {
                "agrees with the clearing"
            } else {
                "DIFFERS from the clearing"
            }
        ));
    }
    out
}

/// Settlements, admissions, total cost, fund paid and the fund's share of the cost.
fn totals_columns(totals: &Totals) -> String {
    format!(
        "{:>11} {:>10} {:>16} {:>16} {:>10}",
        totals.settlements,
        totals.admissions,
        totals.total_cost.to_yuan_string(),
        totals.fund_paid.to_yuan_string(),
        percent_of(totals.fund_paid, totals.total_cost)
    )
}

/// `part / whole` as a percentage with two decimals, rounded down (integer arithmetic).
fn percent_of(part: Fen, whole: Fen) -> String {
    if whole.fen() == 0 {
        return "-".into();
    }
    let basis_points = i128::from(part.fen()) * 10_000 / i128::from(whole.fen());
    format!("{}.{:02}%", basis_points / 100, (basis_points % 100).abs())
}
