//! Paying institutions from the store, on SQLite and PostgreSQL: the month's claims are the fund
//! payments of the ledger's settlements by month (a cancellation negative in its own month), less
//! the posted deductions; paying a month twice posts nothing twice; a deduction into a paid month is
//! refused; the year-end needs every month and equals the same calculation on the same inputs.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::Connection;
use yibao_books::Period;
use yibao_domain::{Code, Fen, SetlAmounts};
use yibao_ledger::provider::{self, Deduction, DeductionError, DeductionKind};
use yibao_ledger::registry::{self, Document};
use yibao_ledger::{provider_books, verify, Store};
use yibao_provider_payment::{
    run_year, Activity, Budget, InstitutionYear, MonthInput, MonthStatement, PaymentPolicy,
    YearEndInput, MONTHS,
};
use yibao_region::payment::{self, PaymentRunError};
use yibao_region::report::fund_report;

const HOSPITAL: &str = "H36040200001";
/// The worked example of clearing-and-budgets.md §4.4: index 12,000,000.
const INDEX_YUAN: i64 = 12_000_000;

fn policy() -> PaymentPolicy {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/payment/jiujiang-budget.toml");
    PaymentPolicy::load(&path).expect("the shipped payment policy loads")
}

async fn stores() -> Vec<(String, Store, std::path::PathBuf)> {
    let nanos = chrono::Local::now()
        .timestamp_nanos_opt()
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("yibao-pay-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = Store::open_data_dir(&dir).await.unwrap();
    let pg_base = std::env::var("YIBAO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("t_pay_{}_{}", std::process::id(), nanos % 1_000_000_000);
    let mut conn = sqlx::AnyConnection::connect(&pg_base).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let sep = if pg_base.contains('?') { '&' } else { '?' };
    let postgres = Store::open(&format!(
        "{pg_base}{sep}options=-c%20search_path%3D{schema}"
    ))
    .await
    .unwrap();
    vec![
        ("sqlite".into(), sqlite, dir.clone()),
        (schema, postgres, dir),
    ]
}

/// A settlement (or, with `cancel`, a cancellation) of `fund_yuan` from the pooled funds.
async fn settle(store: &Store, seq: i64, setl_time: &str, fund_yuan: i64, cancel: bool) {
    let mut amounts = SetlAmounts::default();
    let sign = if cancel { -1 } else { 1 };
    amounts.fund_pay_sumamt = Fen::from_yuan(sign * fund_yuan);
    amounts.hifp_pay = amounts.fund_pay_sumamt;
    amounts.medfee_sumamt = Fen::from_yuan(sign * fund_yuan * 2);
    let columns = [
        "setl_id",
        "seq",
        "kind",
        "orig_setl_id",
        "infno",
        "msgid",
        "fixmedins_code",
        "mdtrt_id",
        "psn_no",
        "insutype",
        "year",
        "med_type",
        "mid_setl_flag",
        "setl_time",
        "clr_type",
        "clr_way",
        "clr_optins",
        "balc",
    ];
    let all: Vec<&str> = columns
        .iter()
        .copied()
        .chain(SetlAmounts::COLUMNS.iter().copied())
        .collect();
    let placeholders: Vec<String> = (1..=all.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO settlements ({}) VALUES ({})",
        all.join(", "),
        placeholders.join(", ")
    );
    let setl_id = format!("S{seq}");
    let mut query = sqlx::query(&sql)
        .bind(setl_id.clone())
        .bind(seq)
        .bind(if cancel { "cancel" } else { "settle" })
        .bind(if cancel {
            Some(format!("S{}", seq - 1))
        } else {
            None
        })
        .bind("2304")
        .bind(format!("M{seq}"))
        .bind(HOSPITAL)
        .bind(format!("V{seq}"))
        .bind("P0001")
        .bind("390")
        .bind(2025_i64)
        .bind("21")
        .bind("0")
        .bind(setl_time)
        .bind("21")
        .bind("1")
        .bind("360400")
        .bind(0_i64);
    for (_, amount) in amounts.columns() {
        query = query.bind(amount.fen());
    }
    let mut conn = store.pool().acquire().await.unwrap();
    query.execute(&mut *conn).await.unwrap();
}

fn next_year() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

async fn store_benefit_policy(store: &Store) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/jiujiang.toml");
    let text = std::fs::read_to_string(path).unwrap();
    registry::put_document(
        store,
        Document::Policy,
        "360400",
        &text,
        "2025-01-01 00:00:00",
    )
    .await
    .unwrap();
}

/// Every stored book posting: batch, line, fund, date, flow, amount.
async fn book_rows(store: &Store) -> Vec<(String, i64, String, String, String, i64)> {
    let mut conn = store.pool().acquire().await.unwrap();
    sqlx::query_as(
        "SELECT batch, line_no, fund_pay_type, posting_date, flow, amount FROM book_postings \
         ORDER BY batch, line_no",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

/// The payments are in the fund's books: the fund report shows per scheme what the year's
/// statements owe and pay, the fund's balance is untouched (its expenditure is the settlements'),
/// `verify` agrees, and a posting changed behind the statements' back is found.
async fn check_books(name: &str, store: &Store, expected: &InstitutionYear) {
    let report = fund_report(store, Period::Year(2025)).await.unwrap();
    let [row] = report.providers.as_slice() else {
        panic!("{name}: one scheme paid: {:?}", report.providers);
    };
    let sum = |f: fn(&MonthStatement) -> Fen| expected.months.iter().map(f).sum::<Fen>();
    assert_eq!(row.insutype, Code::lit("390"), "{name}");
    assert_eq!(row.claims, sum(|m| m.claims), "{name}");
    assert_eq!(row.deductions, Fen::from_yuan(25_000), "{name}");
    assert_eq!(row.paid, sum(|m| m.paid), "{name}");
    assert_eq!(row.deferred, sum(|m| m.deferred), "{name}");
    assert_eq!(row.paid + row.deferred, row.owed, "{name}");
    assert_eq!(
        row.year_end_payment, expected.year_end.year_end_payment,
        "{name}"
    );
    assert_eq!(
        row.paid + row.year_end_payment,
        expected.year_end.final_amount,
        "{name}: paid in the months and at the year-end = the year's entitlement"
    );
    let fund = report
        .funds
        .iter()
        .find(|f| f.fund == Code::lit("390100"))
        .unwrap();
    assert_eq!(fund.accumulated_balance, Fen::ZERO, "{name}");
    assert_eq!(fund.expenditure, Fen::ZERO, "{name}");

    let mut conn = store.pool().acquire().await.unwrap();
    // The test's settlements are bare rows (verify finds them incomplete): only the books' check.
    let mut problems = Vec::new();
    provider_books::check(&mut conn, &mut problems)
        .await
        .unwrap();
    assert!(problems.is_empty(), "{name}: {problems:?}");
    sqlx::query("UPDATE book_postings SET amount = amount + 1 WHERE flow = 'provider_paid' AND posting_date = '2025-05-31'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let tampered = verify::verify(&mut conn).await.unwrap();
    assert!(
        tampered
            .problems
            .iter()
            .any(|p| p.contains("provider:H36040200001:390:2025-05")),
        "{name}: {:?}",
        tampered.problems
    );
}

fn budget() -> Budget {
    Budget {
        fixmedins_code: HOSPITAL.into(),
        insutype: Code::lit("390"),
        year: 2025,
        annual_index: Fen::from_yuan(INDEX_YUAN),
        limits: Default::default(),
    }
}

#[tokio::test]
async fn months_and_the_year_end_are_paid_from_the_ledger() {
    let policy = policy();
    for (name, store, dir) in stores().await {
        provider::upsert_budgets(&store, &[budget()], "2025-01-01 00:00:00")
            .await
            .unwrap();
        let nowhere = payment::pay_month(&store, &policy, 2025, 1, next_year(), "t").await;
        assert!(
            matches!(nowhere, Err(PaymentRunError::NoPooledFund { .. })),
            "{name}: without a benefit policy no fund pays the institution: {nowhere:?}"
        );
        store_benefit_policy(&store).await;
        // 1,075,000 a month (12,900,000 a year, the worked example's audited claims), settled on
        // the 15th; January also has a 100,000 settlement cancelled in February.
        let mut seq = 0;
        for month in 1..=12 {
            seq += 1;
            settle(
                &store,
                seq,
                &format!("2025-{month:02}-15 10:00:00"),
                1_075_000,
                false,
            )
            .await;
        }
        seq += 1;
        settle(&store, seq, "2025-01-20 10:00:00", 100_000, false).await;
        seq += 1;
        settle(&store, seq, "2025-02-03 10:00:00", 100_000, true).await;
        let march_audit = Deduction {
            deduction_id: "CASE-1".into(),
            fixmedins_code: HOSPITAL.into(),
            insutype: Code::lit("390"),
            year: 2025,
            month: 3,
            kind: DeductionKind::Audit,
            amount: Fen::from_yuan(25_000),
            reason: "审核扣款：重复收费".into(),
        };
        provider::post_deductions(
            &store,
            std::slice::from_ref(&march_audit),
            "2025-03-20 00:00:00",
        )
        .await
        .unwrap();

        let early = payment::pay_month(
            &store,
            &policy,
            2025,
            3,
            NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
            "t",
        )
        .await;
        assert!(
            matches!(early, Err(PaymentRunError::MonthNotOver { .. })),
            "{name}: {early:?}"
        );
        let april = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
        let march = payment::pay_month(&store, &policy, 2025, 3, april, "t1")
            .await
            .unwrap();
        let statement = &march[0].statement;
        assert_eq!(statement.claims, Fen::from_yuan(1_075_000), "{name}");
        assert_eq!(statement.deductions, Fen::from_yuan(25_000), "{name}");
        // Paying it again posts nothing and answers the same.
        let posted = book_rows(&store).await;
        let again = payment::pay_month(&store, &policy, 2025, 3, april, "t2")
            .await
            .unwrap();
        assert_eq!(march, again, "{name}");
        assert_eq!(
            book_rows(&store).await,
            posted,
            "{name}: posted nothing twice"
        );
        // A deduction into a paid month is refused; posting the same deduction again is a no-op.
        let late = Deduction {
            deduction_id: "CASE-2".into(),
            ..march_audit.clone()
        };
        let refused = provider::post_deductions(&store, &[late], "t").await;
        assert!(
            matches!(refused, Err(DeductionError::MonthPosted { month: 3, .. })),
            "{name}: {refused:?}"
        );
        provider::post_deductions(&store, std::slice::from_ref(&march_audit), "t")
            .await
            .unwrap();
        let changed = Deduction {
            amount: Fen::from_yuan(1),
            ..march_audit
        };
        let conflicting = provider::post_deductions(&store, &[changed], "t").await;
        assert!(
            matches!(conflicting, Err(DeductionError::Conflicting(_))),
            "{name}"
        );

        let missing = payment::clear(&store, &policy, 2025, &BTreeMap::new(), "t").await;
        assert!(
            matches!(missing, Err(PaymentRunError::MonthsMissing { .. })),
            "{name}: {missing:?}"
        );
        let december = payment::pay_month(&store, &policy, 2025, 12, next_year(), "t3")
            .await
            .unwrap();
        assert_eq!(december[0].statement.month, 12);
        let cleared = payment::clear(&store, &policy, 2025, &BTreeMap::new(), "t4")
            .await
            .unwrap();

        // The same year computed from the same inputs, independently of the store.
        let mut inputs = [MonthInput::default(); MONTHS];
        for (i, input) in inputs.iter_mut().enumerate() {
            input.claims = Fen::from_yuan(1_075_000);
            if i == 0 {
                input.claims += Fen::from_yuan(100_000);
            }
            if i == 1 {
                input.claims -= Fen::from_yuan(100_000);
            }
            if i == 2 {
                input.deductions = Fen::from_yuan(25_000);
            }
        }
        let activity = Activity {
            admissions: 12,
            total_cost: Fen::from_yuan(2 * 1_075_000 * 12),
            self_pay: Fen(0),
        };
        let expected = run_year(
            &policy,
            &budget(),
            &inputs,
            &YearEndInput {
                activity: Some(activity),
                score: None,
                procurement_savings: Fen::ZERO,
            },
        )
        .unwrap();
        assert_eq!(cleared[0].statement, expected.year_end, "{name}");
        // Audited claims 12,875,000 against the index 12,000,000: 875,000 over (7.29 %); the fund
        // bears 70 % of the first 5 % of the index (600,000 × 0.70 = 420,000) and 50 % of the rest,
        // which is within 10 % (275,000 × 0.50 = 137,500).
        assert_eq!(
            cleared[0].statement.audited_claims,
            Fen::from_yuan(12_875_000),
            "{name}"
        );
        assert_eq!(
            cleared[0].statement.fund_share,
            Fen::from_yuan(420_000 + 137_500),
            "{name}"
        );
        let posted = book_rows(&store).await;
        let again = payment::clear(&store, &policy, 2025, &BTreeMap::new(), "t5")
            .await
            .unwrap();
        assert_eq!(cleared, again, "{name}");
        assert_eq!(
            book_rows(&store).await,
            posted,
            "{name}: posted nothing twice"
        );
        // A database paid by a yibao that kept no book postings gets them when paid again.
        let mut conn = store.pool().acquire().await.unwrap();
        sqlx::query("DELETE FROM book_postings")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        payment::pay_month(&store, &policy, 2025, 12, next_year(), "t6")
            .await
            .unwrap();
        payment::clear(&store, &policy, 2025, &BTreeMap::new(), "t6")
            .await
            .unwrap();
        assert_eq!(
            book_rows(&store).await,
            posted,
            "{name}: the same postings again"
        );
        check_books(&name, &store, &expected).await;
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Seeded property: months paid in any order, again and again, post each month's statement and
/// postings once; at the end the books' paid + deferred equal the claims less the deductions, the
/// year-end pays the final amount less what the months paid, and `verify` finds the batches whole.
/// A failure prints its seed; `YIBAO_PAY_SEED` reruns it.
#[tokio::test]
async fn months_paid_in_any_order_and_again_post_once() {
    let seed: u64 = std::env::var("YIBAO_PAY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| chrono::Local::now().timestamp_nanos_opt().unwrap_or(1) as u64);
    println!("seed {seed} (YIBAO_PAY_SEED={seed} reruns it)");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let policy = policy();
    for (name, store, dir) in stores().await {
        provider::upsert_budgets(&store, &[budget()], "2025-01-01 00:00:00")
            .await
            .unwrap();
        store_benefit_policy(&store).await;
        let mut seq = 0;
        for month in 1..=12 {
            for _ in 0..rng.gen_range(0..3) {
                seq += 1;
                let yuan = rng.gen_range(1..2_000_000);
                settle(
                    &store,
                    seq,
                    &format!("2025-{month:02}-10 09:00:00"),
                    yuan,
                    false,
                )
                .await;
            }
            if rng.gen_bool(0.3) {
                let deduction = Deduction {
                    deduction_id: format!("D{month}"),
                    fixmedins_code: HOSPITAL.into(),
                    insutype: Code::lit("390"),
                    year: 2025,
                    month,
                    kind: DeductionKind::Audit,
                    amount: Fen(rng.gen_range(1..50_000_000)),
                    reason: "审核扣款".into(),
                };
                provider::post_deductions(&store, &[deduction], "t")
                    .await
                    .unwrap();
            }
        }
        let mut paid_upto = 0;
        for call in 0..16 {
            let month = rng.gen_range(1..=12u32);
            let before = book_rows(&store).await;
            payment::pay_month(&store, &policy, 2025, month, next_year(), "t")
                .await
                .unwrap();
            if month <= paid_upto {
                assert_eq!(
                    book_rows(&store).await,
                    before,
                    "{name}, seed {seed}, call {call}: month {month} was paid before"
                );
            }
            paid_upto = paid_upto.max(month);
        }
        let months = payment::pay_month(&store, &policy, 2025, 12, next_year(), "t")
            .await
            .unwrap();
        let cleared = payment::clear(&store, &policy, 2025, &BTreeMap::new(), "t")
            .await
            .unwrap();
        let report = fund_report(&store, Period::Year(2025)).await.unwrap();
        let row = &report.providers[0];
        let mut conn = store.pool().acquire().await.unwrap();
        let inputs = provider::month_inputs(&mut conn, 2025).await.unwrap();
        let input = &inputs[&(HOSPITAL.to_string(), Code::lit("390"))];
        let claims: Fen = input.iter().map(|m| m.claims).sum();
        let deductions: Fen = input.iter().map(|m| m.deductions).sum();
        assert_eq!(row.claims, claims, "{name}, seed {seed}");
        assert_eq!(
            row.paid + row.deferred,
            claims - deductions,
            "{name}, seed {seed}"
        );
        let year_end = &cleared[0].statement;
        assert_eq!(
            row.paid, months[0].statement.paid_to_date,
            "{name}, seed {seed}"
        );
        assert_eq!(
            row.year_end_payment,
            year_end.final_amount - row.paid,
            "{name}, seed {seed}"
        );
        let mut problems = Vec::new();
        provider_books::check(&mut conn, &mut problems)
            .await
            .unwrap();
        assert!(problems.is_empty(), "{name}, seed {seed}: {problems:?}");
        drop(conn);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
