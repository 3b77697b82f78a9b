//! Property tests over random persons and visit sequences under the reference policy: the amount
//! identities, caps never exceeded, accumulators equal to the sum of settlements, cancellation
//! as exact negation restoring the accumulators, and pre-settlement changing nothing.
//! proptest prints the failing input (and persists its seed) when a property fails.

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::NaiveDate;
use proptest::prelude::*;
use yibao_catalog::Catalog;
use yibao_domain::codes::Gend;
use yibao_domain::{Code, Fen};
use yibao_policy::{FilingStatus, Policy};
use yibao_settlement::{
    AccKey, Coverage, Engine, FeeLine, IdentityPeriod, NoBenefitReason, Payer, Person, Settlement,
    Visit, YearToDate,
};

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn fixtures() -> &'static (Policy, Catalog) {
    static FIXTURES: OnceLock<(Policy, Catalog)> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let policy =
            Policy::load(&repo_file("policies/jiujiang.toml")).expect("reference policy loads");
        let catalog = Catalog::from_path(&repo_file("catalogs/jiujiang-sample.csv"))
            .expect("sample catalogue loads");
        (policy, catalog)
    })
}

fn codes(catalog: &Catalog) -> Vec<String> {
    let mut codes: Vec<String> = catalog
        .items_sorted()
        .into_iter()
        .map(|i| i.code.clone())
        .collect();
    codes.push("NOT-IN-CATALOGUE-001".into());
    codes
}

/// Mostly covered; sometimes suspended or still waiting.
fn coverage_strategy() -> impl Strategy<Value = Coverage> {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
    prop::sample::select(vec![
        Coverage::Covered,
        Coverage::Covered,
        Coverage::Covered,
        Coverage::NotCovered(NoBenefitReason::Suspended {
            since: day(2024, 12, 1),
        }),
        Coverage::NotCovered(NoBenefitReason::WaitingPeriod {
            benefits_from: day(2026, 1, 1),
        }),
    ])
}

fn person_strategy() -> impl Strategy<Value = Person> {
    (
        prop::bool::ANY,
        prop::sample::subsequence(vec!["TK", "DB", "FP"], 0..=2),
        prop::bool::ANY,
        prop::bool::ANY,
        1940i32..2024,
        coverage_strategy(),
    )
        .prop_map(
            |(worker, identities, civil_servant, retired, birth_year, coverage)| Person {
                insutype: Code::lit(if worker { "310" } else { "390" }),
                psn_type: Code::lit(match (worker, retired) {
                    (true, false) => "11",
                    (true, true) => "12",
                    _ => "16",
                }),
                gend: if birth_year % 2 == 0 {
                    Gend::Male
                } else {
                    Gend::Female
                },
                birth_date: NaiveDate::from_ymd_opt(birth_year, 6, 15).expect("valid date"),
                identities: identities
                    .into_iter()
                    .map(|c| IdentityPeriod::always(Code::lit(c)))
                    .collect(),
                civil_servant: worker && civil_servant,
                coverage,
            },
        )
}

fn line_strategy(codes: Vec<String>) -> impl Strategy<Value = FeeLine> {
    (
        prop::sample::select(codes),
        1i64..=40,
        1i64..=2_000_000,
        prop::sample::select(vec!["0", "1", "1", "2"]),
    )
        .prop_map(|(code, units, price_fen, approval)| {
            let cnt_e4 = units * 5_000;
            let pric_micro_yuan = price_fen * 10_000;
            FeeLine {
                med_list_codg: code,
                cnt_e4,
                pric_micro_yuan,
                amount: Fen(pric_micro_yuan * cnt_e4 / 100_000_000),
                hosp_appr_flag: Code::lit(approval),
            }
        })
}

fn visit_strategy(codes: Vec<String>) -> impl Strategy<Value = Visit> {
    (
        prop::sample::select(vec!["11", "14", "21", "21", "21", "41"]),
        1u32..=14,
        prop::sample::select(vec!["360402", "360421", "360100", "110105"]),
        prop::bool::ANY,
        prop::sample::select(vec!["I10.x00", "E11.900", "K35.800", "J18.900"]),
        prop::collection::vec(line_strategy(codes), 1..=20),
        1u32..=300,
        prop::option::of(prop::sample::select(vec![
            FilingStatus::Referral,
            FilingStatus::LongTerm,
            FilingStatus::Emergency,
            FilingStatus::Temporary,
            FilingStatus::InProvince,
            FilingStatus::Unfiled,
        ])),
    )
        .prop_map(
            |(med_type, hosp_lv, admdvs, referred, dise, lines, day, filing)| {
                let begin = NaiveDate::from_yo_opt(2025, day)
                    .and_then(|d| d.and_hms_opt(8, 0, 0))
                    .expect("valid time");
                Visit {
                    med_type: Code::lit(med_type),
                    begin,
                    end: begin + chrono::Duration::days(3),
                    hosp_lv: Code::new(&hosp_lv.to_string()).expect("short code"),
                    medins_admdvs: Code::lit(admdvs),
                    referred,
                    filing,
                    dise_codg: dise.into(),
                    lines,
                    use_account: true,
                    interim: false,
                    episode_deductible_paid: Fen::ZERO,
                }
            },
        )
}

fn scenario() -> impl Strategy<Value = (Person, Fen, Vec<Visit>)> {
    let codes = codes(&fixtures().1);
    (
        person_strategy(),
        0i64..=500_000,
        prop::collection::vec(visit_strategy(codes), 1..=8),
    )
        .prop_map(|(person, balance, visits)| (person, Fen(balance), visits))
}

/// Checks the bounds of one forward settlement.
fn check_bounds(s: &Settlement, balance_before: Fen) -> Result<(), TestCaseError> {
    let t = &s.totals;
    prop_assert!(
        t.identity_violations().is_empty(),
        "{:?}",
        t.identity_violations()
    );
    for (name, amount) in [
        ("fulamt", t.fulamt_ownpay_amt),
        ("overlmt", t.overlmt_selfpay),
        ("preselfpay", t.preselfpay_amt),
        ("inscp", t.inscp_scp_amt),
        ("dedc", t.act_pay_dedc),
        ("fund", t.fund_pay_sumamt),
        ("acct", t.acct_pay),
        ("cash", t.psn_cash_pay),
    ] {
        prop_assert!(amount >= Fen::ZERO, "{} is negative: {}", name, amount);
    }
    prop_assert!(t.act_pay_dedc <= t.inscp_scp_amt);
    prop_assert!(
        t.fund_pay_sumamt <= t.inscp_scp_amt,
        "funds pay more than the in-scope amount"
    );
    prop_assert!(t.acct_pay <= balance_before.max(Fen::ZERO));
    let fund_rows: Fen = s
        .funds
        .iter()
        .filter(|f| f.row.payer == Payer::Fund)
        .map(|f| f.row.fund_payamt)
        .sum();
    prop_assert_eq!(fund_rows, t.fund_pay_sumamt);
    for row in s.funds.iter().map(|f| &f.row) {
        if let Some(available) = row.crt_payb_lmt_amt {
            prop_assert!(
                row.fund_payamt <= available,
                "fund {} paid {} over its available {}",
                row.fund_pay_type,
                row.fund_payamt,
                available
            );
        }
        prop_assert!(row.fund_payamt >= Fen::ZERO);
    }
    for line in &s.lines {
        let a = &line.amounts;
        prop_assert_eq!(
            a.det_item_fee_sumamt,
            a.fulamt_ownpay_amt + a.overlmt_amt + a.preselfpay_amt + a.inscp_scp_amt
        );
        prop_assert_eq!(a.parts_sum(), a.det_item_fee_sumamt);
    }
    Ok(())
}

/// Every cap of the reference policy, checked against the year's accumulators.
fn check_caps(policy: &Policy, person: &Person, ytd: &YearToDate) -> Result<(), TestCaseError> {
    let scheme = policy.scheme(person.insutype).expect("scheme");
    for bucket in &scheme.buckets {
        if let Some(cap) = bucket.annual_cap {
            prop_assert!(
                ytd.get(AccKey::CapUsed(bucket.cap_group())) <= cap.fen(),
                "cap of {} exceeded",
                bucket.id
            );
        }
    }
    if let Some(layer) = &scheme.large_amount {
        if let Some(cap) = layer.annual_cap {
            prop_assert!(ytd.get(AccKey::FundPaid(layer.fund)) <= cap.fen());
        }
    }
    let capped_tiers = scheme
        .catastrophic
        .iter()
        .flat_map(|l| l.tiers.iter().map(move |t| (l.fund, t)))
        .chain(
            scheme
                .assistance
                .iter()
                .flat_map(|l| l.tiers.iter().map(move |t| (l.fund, t))),
        );
    let max_cap = capped_tiers
        .filter_map(|(fund, t)| t.annual_cap.map(|c| (fund, c)))
        .fold(Vec::<(Code, Fen)>::new(), |mut acc, (fund, cap)| {
            match acc.iter_mut().find(|(f, _)| *f == fund) {
                Some(entry) => entry.1 = entry.1.max(cap),
                None => acc.push((fund, cap)),
            }
            acc
        });
    let uncapped_tier_applies = !person.identities.is_empty();
    if !uncapped_tier_applies {
        for (fund, cap) in max_cap {
            prop_assert!(
                ytd.get(AccKey::FundPaid(fund)) <= cap.fen(),
                "fund {} exceeded its cap",
                fund
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn identities_bounds_caps_and_accumulators((person, balance, visits) in scenario()) {
        let (policy, catalog) = fixtures();
        let engine = Engine::new(policy, catalog);
        let mut ytd = YearToDate::new();
        let mut balance_now = balance;
        let mut settled: Vec<Settlement> = Vec::new();
        for visit in &visits {
            let before = ytd.clone();
            let pre = engine.settle(&person, visit, &ytd, balance_now).expect("random visits settle");
            prop_assert_eq!(&ytd, &before, "pre-settlement changed the accumulators");
            let again = engine.settle(&person, visit, &ytd, balance_now).expect("settles");
            prop_assert_eq!(&pre, &again, "the same inputs gave different results");
            let mut lines = Vec::new();
            engine.split_lines(&person, visit, &mut lines).expect("splits");
            let mut from_split = Settlement::default();
            engine.settle_split_into(&person, visit, &lines, &ytd, balance_now, &mut from_split).expect("settles from the split");
            prop_assert_eq!(&pre, &from_split, "settling from the upload-time split differs");
            check_bounds(&pre, balance_now)?;
            if person.coverage != Coverage::Covered {
                prop_assert_eq!(pre.totals.fund_pay_sumamt, Fen::ZERO, "a person without benefits got fund payments");
                prop_assert_eq!(pre.totals.acct_pay, Fen::ZERO);
                let explained = pre.trace.iter().any(|s| matches!(s, yibao_settlement::TraceStep::NotCovered { .. }));
                prop_assert!(explained, "no reason given for the missing benefits");
                let has_account = policy.scheme(person.insutype).is_some_and(|s| s.account.is_some());
                if pre.bucket.is_some() || has_account {
                    let in_detail = pre.funds.iter().any(|r| matches!(pre.trace[r.trace_step], yibao_settlement::TraceStep::NotCovered { .. }));
                    prop_assert!(in_detail, "no setldetail row states the reason");
                }
            }
            ytd.apply(&pre.postings);
            balance_now = pre.balc;
            check_caps(policy, &person, &ytd)?;
            settled.push(pre);
        }
        let fund_sum = |code: Code| settled.iter().flat_map(|s| s.funds.iter()).filter(|f| f.row.fund_pay_type == code).map(|f| f.row.fund_payamt.fen()).sum::<i64>();
        for code in ["390100", "390200", "310100", "330100", "320100", "610100", "640100", "310200"] {
            prop_assert_eq!(ytd.get(AccKey::FundPaid(Code::lit(code))), fund_sum(Code::lit(code)));
        }
        prop_assert_eq!(ytd.get(AccKey::MedicalExpense), settled.iter().map(|s| s.totals.medfee_sumamt.fen()).sum::<i64>());
        prop_assert_eq!(ytd.get(AccKey::Deductible), settled.iter().map(|s| s.totals.act_pay_dedc.fen()).sum::<i64>());
        prop_assert_eq!(balance - balance_now, settled.iter().map(|s| s.totals.acct_pay).sum::<Fen>());
    }

    #[test]
    fn cancellation_is_exact_negation((person, balance, visits) in scenario()) {
        let (policy, catalog) = fixtures();
        let engine = Engine::new(policy, catalog);
        let mut ytd = YearToDate::new();
        let mut balance_now = balance;
        for visit in &visits {
            let before = ytd.entries();
            let balance_before = balance_now;
            let settlement = engine.settle(&person, visit, &ytd, balance_now).expect("settles");
            ytd.apply(&settlement.postings);
            balance_now = settlement.balc;
            let mirror = settlement.negated(balance_now);
            prop_assert!(mirror.totals.identity_violations().is_empty());
            prop_assert_eq!(mirror.totals.medfee_sumamt, -settlement.totals.medfee_sumamt);
            prop_assert_eq!(mirror.totals.fund_pay_sumamt, -settlement.totals.fund_pay_sumamt);
            prop_assert_eq!(mirror.totals.negated().negated(), mirror.totals);
            for (row, original) in mirror.funds.iter().zip(&settlement.funds) {
                prop_assert_eq!(row.row.fund_payamt, -original.row.fund_payamt);
            }
            let mut undone = ytd.clone();
            undone.apply(&mirror.postings);
            prop_assert_eq!(undone.entries(), before, "cancellation did not restore the accumulators");
            prop_assert_eq!(mirror.balc, balance_before);
        }
    }
}
