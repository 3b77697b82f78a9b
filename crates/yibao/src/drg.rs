//! `yibao drg group` (CHS-DRG grouping of discharges) and `yibao drg pay` (DRG point-value
//! payment: per-case points and the per-hospital year-end settlement).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use yibao_drg_grouper::{
    group_json_lines, group_records, parse_csv_cases, BatchOptions, GrouperSet, LoadOptions,
};
use yibao_drg_payment::{
    parse_case_json, parse_cases_csv, score_cases, settle, CaseError, PayCase, Policy,
};

/// Lines grouped per block, so a large file is never held twice in memory as output.
const LINES_PER_BLOCK: usize = 1 << 18;

#[derive(Args)]
pub struct DrgArgs {
    #[command(subcommand)]
    command: DrgCommand,
}

#[derive(Subcommand)]
enum DrgCommand {
    /// Group discharges with CHS-DRG rule data; prints one JSON result per input line.
    Group(GroupArgs),
    /// Score grouped discharges with a point-value policy; prints case points and the settlement.
    Pay(PayArgs),
    /// Prepay a month's inpatient cases from the ledger (病案校验, grouping, prepayment ratio of
    /// the fund share); a month already run is shown as posted and nothing is posted twice.
    Month(crate::drg_ledger::MonthArgs),
    /// Clear a year from the ledger once its twelve months are run: points × the year's point
    /// value less what patients and other funds paid, reviewed cases, less the prepayments.
    YearEnd(crate::drg_ledger::YearEndArgs),
    /// 特病单议 review items: list, approve, reject, request.
    Review(crate::drg_ledger::ReviewArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum InputFormat {
    /// JSON Lines: flat cases (`oracle-sample.jsonl` layout) or 4101 settlement lists.
    Jsonl,
    /// CSV with a header (`id,sex,age,age_days,weight_g,los,leaving_type,diagnoses,procedures[,grouper]`).
    Csv,
}

#[derive(Args)]
struct GroupArgs {
    /// Folder holding the rule versions (`chs-drg-1.1/`, …), or one version folder.
    #[arg(long)]
    rules: PathBuf,
    /// Version for cases without a `grouper` field (`chs_drg_11`, `chs_drg_10`, `zhejiang_2022` or a folder name).
    #[arg(long)]
    version: Option<String>,
    /// Add the rule messages that led to each result.
    #[arg(long)]
    trace: bool,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Input format (default: from the file extension, `.csv` or else JSON Lines).
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    /// Switch the 歧义组 (QY) steps on for this version (repeatable; `all` for every version).
    /// Without it each version keeps the `QY:true|false` markers of its rule data.
    #[arg(long, value_name = "VERSION")]
    qy: Vec<String>,
    /// Map incoming codes through `ZD_MAP.dat`/`SS_MAP.dat` in this folder (e.g. `icd-yb2.0`).
    #[arg(long)]
    map_codes: Option<PathBuf>,
    /// Write results here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Input file (`-` for standard input).
    file: PathBuf,
}

#[derive(Args)]
struct PayArgs {
    /// Policy TOML (see `policies/drg/example-2024.toml`).
    #[arg(long)]
    policy: PathBuf,
    /// Discharges (JSON Lines or `.csv`): id, hospital, drg, los, total_cost, leaving_type,
    /// patient_id, admission_date, discharge_date, special_review, claim.
    #[arg(long)]
    cases: PathBuf,
    /// Print only the per-hospital settlement and the summary, not every case.
    #[arg(long)]
    summary_only: bool,
}

pub fn run(args: &DrgArgs) -> anyhow::Result<()> {
    match &args.command {
        DrgCommand::Group(group) => run_group(group),
        DrgCommand::Pay(pay) => run_pay(pay),
        DrgCommand::Month(month) => crate::drg_ledger::run_month(month),
        DrgCommand::YearEnd(year_end) => crate::drg_ledger::run_year_end(year_end),
        DrgCommand::Review(review) => crate::drg_ledger::run_review(review),
    }
}

fn read_input(file: &Path) -> anyhow::Result<String> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
    } else {
        text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(text)
}

fn output_writer(output: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn is_csv(file: &Path, format: Option<InputFormat>) -> bool {
    match format {
        Some(InputFormat::Csv) => true,
        Some(InputFormat::Jsonl) => false,
        None => file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv")),
    }
}

fn run_group(args: &GroupArgs) -> anyhow::Result<()> {
    let base = LoadOptions {
        ambiguous_groups: None,
        code_map_dir: args.map_codes.clone(),
    };
    let with_qy = LoadOptions {
        ambiguous_groups: Some(true),
        ..base.clone()
    };
    let all_qy = args.qy.iter().any(|v| v == "all");
    let options = if all_qy { with_qy.clone() } else { base };
    let mut set = GrouperSet::open(&args.rules, args.version.as_deref(), options)
        .with_context(|| format!("opening rule folder {}", args.rules.display()))?;
    for version in args.qy.iter().filter(|v| *v != "all") {
        set.configure(version, with_qy.clone())?;
    }
    if let Some(version) = &args.version {
        set.get(Some(version))?;
    }
    let batch = BatchOptions {
        trace: args.trace,
        threads: args.threads,
    };
    let text = read_input(&args.file)?;
    let mut out = output_writer(args.output.as_deref())?;
    if is_csv(&args.file, args.format) {
        let records: Vec<_> = parse_csv_cases(text.as_bytes())?.collect();
        out.write_all(&group_records(&set, &records, batch))?;
    } else {
        let lines: Vec<&str> = text.lines().collect();
        for (block, chunk) in lines.chunks(LINES_PER_BLOCK).enumerate() {
            out.write_all(&group_json_lines(
                &set,
                chunk,
                block * LINES_PER_BLOCK + 1,
                batch,
            ))?;
        }
    }
    out.flush().context("writing results")?;
    Ok(())
}

#[derive(Serialize)]
enum PayLine<'a> {
    #[serde(rename = "case")]
    Case(&'a yibao_drg_payment::CasePoints),
    #[serde(rename = "hospital")]
    Hospital(&'a yibao_drg_payment::HospitalSettlement),
    #[serde(rename = "error")]
    Error(String),
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    settlement: Summary<'a>,
}

#[derive(Serialize)]
struct Summary<'a> {
    region: &'a str,
    year: i32,
    cases: usize,
    rejected_lines: usize,
    drg_budget: String,
    reserve: String,
    distributable: String,
    total_points: String,
    point_value: String,
    rounding_residue: String,
}

fn run_pay(args: &PayArgs) -> anyhow::Result<()> {
    let policy = Policy::load(&args.policy)?;
    for conflict in &policy.weight_conflicts {
        eprintln!(
            "warning: weight table lists {} twice with different weights (lines {} and {}); the first is used",
            conflict.code, conflict.kept_line, conflict.ignored_line
        );
    }
    let text = read_input(&args.cases)?;
    let parsed: Vec<Result<PayCase, CaseError>> = if is_csv(&args.cases, None) {
        parse_cases_csv(text.as_bytes())
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| parse_case_json(l, i + 1))
            .collect()
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut cases = Vec::with_capacity(parsed.len());
    let mut rejected = 0;
    for record in parsed {
        match record {
            Ok(case) => cases.push(case),
            Err(error) => {
                rejected += 1;
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&PayLine::Error(error.to_string()))?
                )?;
            }
        }
    }
    if cases.is_empty() {
        bail!("no readable cases in {}", args.cases.display());
    }
    let scores = score_cases(&policy, &cases);
    if !args.summary_only {
        for score in &scores {
            writeln!(out, "{}", serde_json::to_string(&PayLine::Case(score))?)?;
        }
    }
    let settlement = settle(&policy, &cases, &scores)?;
    for hospital in &settlement.hospitals {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&PayLine::Hospital(hospital))?
        )?;
    }
    let summary = Summary {
        region: &policy.region,
        year: policy.year,
        cases: cases.len(),
        rejected_lines: rejected,
        drg_budget: settlement.drg_budget.to_string(),
        reserve: settlement.reserve.to_string(),
        distributable: settlement.distributable.to_string(),
        total_points: settlement.total_points.to_string(),
        point_value: settlement.point_value.to_string(),
        rounding_residue: settlement.rounding_residue.to_string(),
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string(&SummaryLine {
            settlement: summary
        })?
    )?;
    out.flush()?;
    Ok(())
}
