//! Criterion bench: grouping the oracle sample's cases (all three versions), without and with trace.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use yibao_drg_grouper::{parse_json_case, Case, Grouper, GrouperSet, LoadOptions, Scratch};

/// `shared/chs-drg` (see README "Reference data").
fn chs_drg_dir() -> PathBuf {
    yibao_testdata::expect(yibao_testdata::CHS_DRG)
}

fn oracle_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(chs_drg_dir().join("oracle-sample.jsonl"))
        .expect("oracle-sample.jsonl");
    text.lines()
        .enumerate()
        .map(|(i, l)| parse_json_case(l, i + 1).expect("oracle case"))
        .collect()
}

fn bench_group(c: &mut Criterion) {
    let set = GrouperSet::open(&chs_drg_dir(), None, LoadOptions::default()).expect("rules");
    let cases = oracle_cases();
    let work: Vec<(&Grouper, &Case)> = cases
        .iter()
        .map(|case| (set.get(case.version.as_deref()).expect("version"), case))
        .collect();
    let mut group = c.benchmark_group("oracle-sample");
    group.throughput(Throughput::Elements(work.len() as u64));
    group.bench_function("group", |b| {
        let mut scratch = Scratch::default();
        b.iter(|| {
            work.iter()
                .map(|(g, case)| {
                    g.group(
                        &case.patient,
                        &case.diagnoses,
                        &case.procedures,
                        &mut scratch,
                    )
                    .drg
                    .len()
                })
                .sum::<usize>()
        })
    });
    group.bench_function("group_traced", |b| {
        let mut scratch = Scratch::default();
        let mut trace = Vec::new();
        b.iter(|| {
            work.iter()
                .map(|(g, case)| {
                    trace.clear();
                    g.group_traced(
                        &case.patient,
                        &case.diagnoses,
                        &case.procedures,
                        &mut scratch,
                        &mut trace,
                    )
                    .drg
                    .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

fn bench_load(c: &mut Criterion) {
    let dir = chs_drg_dir().join("chs-drg-1.1");
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("chs-drg-1.1", |b| {
        b.iter(|| {
            Grouper::load(&dir, &LoadOptions::default())
                .expect("loads")
                .drg_count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_group, bench_load);
criterion_main!(benches);
