//! Grouping throughput on a synthetic mix built from the oracle sample.
//!
//! `cargo run --release -p yibao-drg-grouper --example throughput -- bench [N] [SEED] [VERSION]` groups N cases
//! (default 1,000,000) on one thread and prints cases per second;
//! (only the oracle cases of VERSION, e.g. `chs_drg_11`, when given); `… -- gen [N] [SEED] [VERSION]` writes the same N cases as JSON Lines to stdout (input for `yibao drg group`).
//! Cases: every 2nd is an oracle case as is (all three versions), the others keep an oracle case's
//! demographics and version but draw 1–7 diagnoses and 0–4 procedures from the codes the sample uses.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use yibao_drg_grouper::{parse_json_case, Case, GrouperSet, LoadOptions, Patient, Scratch};

/// `shared/chs-drg` (see README "Reference data").
fn shared_chs_drg() -> PathBuf {
    yibao_testdata::expect(yibao_testdata::CHS_DRG)
}

/// xorshift64*: small, seedable, good enough to mix test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn synth_cases(count: usize, seed: u64, version: Option<&str>) -> Vec<Case> {
    let text = std::fs::read_to_string(shared_chs_drg().join("oracle-sample.jsonl"))
        .expect("oracle-sample.jsonl");
    let oracle: Vec<Case> = text
        .lines()
        .enumerate()
        .map(|(i, l)| parse_json_case(l, i + 1).expect("oracle case"))
        .filter(|c| version.is_none() || c.version.as_deref() == version)
        .collect();
    let diagnoses: Vec<String> = oracle
        .iter()
        .flat_map(|c| c.diagnoses.iter().cloned())
        .collect();
    let procedures: Vec<String> = oracle
        .iter()
        .flat_map(|c| c.procedures.iter().cloned())
        .collect();
    let mut rng = Rng(seed.max(1));
    (0..count)
        .map(|i| {
            let mut case = oracle[rng.below(oracle.len())].clone();
            case.id = format!("s{i}");
            if i % 2 == 1 {
                case.diagnoses = (0..1 + rng.below(7))
                    .map(|_| diagnoses[rng.below(diagnoses.len())].clone())
                    .collect();
                case.procedures = (0..rng.below(5))
                    .map(|_| procedures[rng.below(procedures.len())].clone())
                    .collect();
            }
            case
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("bench", String::as_str);
    let count: usize = args
        .get(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = args
        .get(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_240_101);
    let version = args.get(3).map(String::as_str);
    eprintln!(
        "seed {seed}, {count} cases, version {}",
        version.unwrap_or("mixed")
    );
    let cases = synth_cases(count, seed, version);
    match mode {
        "gen" => write_jsonl(&cases),
        _ => bench(&cases),
    }
}

fn write_jsonl(cases: &[Case]) {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for c in cases {
        let line = serde_json::json!({
            "id": c.id, "grouper": c.version, "sex": c.patient.sex.map(|s| s.code()), "age": c.patient.age_years,
            "age_days": c.patient.age_days, "weight_g": c.patient.weight_g, "los": c.los_days,
            "leaving_type": c.leaving_type, "diagnoses": c.diagnoses, "procedures": c.procedures,
        });
        writeln!(out, "{line}").expect("write stdout");
    }
}

/// The cases laid out as a parser would stream them: all code text in one buffer, read in order.
struct Arena {
    text: String,
    spans: Vec<(usize, usize)>,
    /// Per case: index into `groupers`, patient, and the span ranges of its diagnoses and procedures.
    cases: Vec<(
        usize,
        Patient,
        std::ops::Range<usize>,
        std::ops::Range<usize>,
    )>,
}

impl Arena {
    fn new(cases: &[Case], versions: &[&str]) -> Arena {
        let mut arena = Arena {
            text: String::new(),
            spans: Vec::new(),
            cases: Vec::with_capacity(cases.len()),
        };
        for case in cases {
            let version = versions
                .iter()
                .position(|v| Some(*v) == case.version.as_deref())
                .expect("known version");
            let diagnoses = arena.push_codes(&case.diagnoses);
            let procedures = arena.push_codes(&case.procedures);
            arena
                .cases
                .push((version, case.patient, diagnoses, procedures));
        }
        arena
    }

    fn push_codes(&mut self, codes: &[String]) -> std::ops::Range<usize> {
        let start = self.spans.len();
        for code in codes {
            self.spans
                .push((self.text.len(), self.text.len() + code.len()));
            self.text.push_str(code);
        }
        start..self.spans.len()
    }
}

/// Time this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), so a busy shared
/// machine does not count against the grouper; `NaN` elsewhere.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |ns| ns / 1e9)
}

/// Timed passes over the whole set; the best pass is reported (the machine is shared).
const PASSES: usize = 5;

fn bench(cases: &[Case]) {
    let set = GrouperSet::open(&shared_chs_drg(), None, LoadOptions::default()).expect("rules");
    let versions = ["chs_drg_11", "chs_drg_10", "zhejiang_2022"];
    let groupers: Vec<_> = versions
        .iter()
        .map(|v| set.get(Some(v)).expect("version"))
        .collect();
    let arena = Arena::new(cases, &versions);
    let mut scratch = Scratch::default();
    let (mut diagnoses, mut procedures): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let mut best = f64::INFINITY;
    let mut best_cpu = f64::INFINITY;
    let mut with_drg = 0usize;
    for pass in 1..=PASSES {
        with_drg = 0;
        let start = Instant::now();
        let cpu_start = thread_cpu_seconds();
        for (version, patient, diagnosis_spans, procedure_spans) in &arena.cases {
            diagnoses.clear();
            diagnoses.extend(
                arena.spans[diagnosis_spans.clone()]
                    .iter()
                    .map(|&(a, b)| &arena.text[a..b]),
            );
            procedures.clear();
            procedures.extend(
                arena.spans[procedure_spans.clone()]
                    .iter()
                    .map(|&(a, b)| &arena.text[a..b]),
            );
            let got = groupers[*version].group(patient, &diagnoses, &procedures, &mut scratch);
            with_drg += usize::from(got.drg.len() == 4 && got.drg != "0000");
        }
        let seconds = start.elapsed().as_secs_f64();
        let cpu = thread_cpu_seconds() - cpu_start;
        eprintln!("pass {pass}: {seconds:.3} s wall, {cpu:.3} s on-CPU");
        best = best.min(seconds);
        best_cpu = best_cpu.min(cpu);
    }
    println!(
        "grouped {} cases on one thread, best of {PASSES} passes: {:.3} s wall = {:.0} cases/s; {:.3} s on-CPU = {:.0} cases/s ({} with a DRG)",
        cases.len(),
        best,
        cases.len() as f64 / best,
        best_cpu,
        cases.len() as f64 / best_cpu,
        with_drg
    );
}
