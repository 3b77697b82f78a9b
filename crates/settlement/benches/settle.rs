//! Settlement throughput on one core: a 20-line inpatient visit under the reference policy, with
//! the output buffers reused as a service worker would; once from the raw fee lines (split
//! included) and once from the split made at fee upload (what 2207/2304 does in the service).

use std::path::PathBuf;

use chrono::NaiveDate;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use yibao_catalog::Catalog;
use yibao_domain::codes::Gend;
use yibao_domain::{Code, Fen};
use yibao_policy::Policy;
use yibao_settlement::{
    Coverage, Engine, FeeLine, IdentityPeriod, Person, Settlement, Visit, YearToDate,
};

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// Twenty lines drawn round-robin from the sample catalogue (mixed 甲/乙/丙, capped and restricted items).
fn twenty_lines(catalog: &Catalog) -> Vec<FeeLine> {
    let items = catalog.items_sorted();
    (0..20)
        .map(|i| {
            let item = items[i % items.len()];
            let pric_micro_yuan = 12_340_000 + i as i64 * 1_000_000;
            let cnt_e4 = 20_000;
            FeeLine {
                med_list_codg: item.code.clone(),
                cnt_e4,
                pric_micro_yuan,
                amount: Fen(pric_micro_yuan * cnt_e4 / 100_000_000),
                hosp_appr_flag: Code::lit("1"),
            }
        })
        .collect()
}

fn bench_settle(c: &mut Criterion) {
    let policy =
        Policy::load(&repo_file("policies/jiujiang.toml")).expect("reference policy loads");
    let catalog = Catalog::from_path(&repo_file("catalogs/jiujiang-sample.csv"))
        .expect("sample catalogue loads");
    let engine = Engine::new(&policy, &catalog);
    let person = Person {
        insutype: Code::lit("390"),
        psn_type: Code::lit("16"),
        gend: Gend::Female,
        birth_date: NaiveDate::from_ymd_opt(1958, 3, 4).expect("valid date"),
        identities: vec![IdentityPeriod::always(Code::lit("DB"))],
        civil_servant: false,
        coverage: Coverage::Covered,
    };
    let day = |d: u32| {
        NaiveDate::from_ymd_opt(2025, 5, d)
            .and_then(|x| x.and_hms_opt(9, 0, 0))
            .expect("valid time")
    };
    let visit = Visit {
        med_type: Code::lit("21"),
        begin: day(1),
        end: day(9),
        hosp_lv: Code::lit("2"),
        medins_admdvs: Code::lit("360402"),
        referred: false,
        filing: None,
        dise_codg: "K35.800".into(),
        lines: twenty_lines(&catalog),
        use_account: true,
        interim: false,
        episode_deductible_paid: Fen::ZERO,
    };
    let ytd = YearToDate::new();
    let mut out = Settlement::default();
    let mut group = c.benchmark_group("settle");
    group.throughput(Throughput::Elements(1));
    group.bench_function("inpatient_20_lines", |b| {
        b.iter(|| {
            engine
                .settle_into(
                    black_box(&person),
                    black_box(&visit),
                    black_box(&ytd),
                    Fen::ZERO,
                    &mut out,
                )
                .expect("settles");
            black_box(out.totals.fund_pay_sumamt)
        })
    });
    let mut lines = Vec::new();
    engine
        .split_lines(&person, &visit, &mut lines)
        .expect("splits");
    group.bench_function("inpatient_20_lines_presplit", |b| {
        b.iter(|| {
            engine
                .settle_split_into(
                    black_box(&person),
                    black_box(&visit),
                    black_box(&lines),
                    black_box(&ytd),
                    Fen::ZERO,
                    &mut out,
                )
                .expect("settles");
            black_box(out.totals.fund_pay_sumamt)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_settle);
criterion_main!(benches);
