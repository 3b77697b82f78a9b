//! Procurement (集采) paid from the store, on SQLite and PostgreSQL: a procurement prepayment sized
//! by the policy is posted once with its book posting; the monthly payments recover it by its
//! schedule and show the offsets on their statements and in the books; the year-end pays the
//! retained share of the savings; `verify` re-derives every procurement posting and finds one
//! changed behind its back; a prepayment whose first offset month is paid, a second prepayment and
//! savings changed after the year-end are refused.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Connection;
use yibao_books::Period;
use yibao_domain::{Code, Fen, SetlAmounts};
use yibao_ledger::procurement::{self, Posted, ProcurementError};
use yibao_ledger::provider;
use yibao_ledger::registry::{self, Document};
use yibao_ledger::{provider_books, verify, Store};
use yibao_provider_payment::input::{read_prepayments, read_savings};
use yibao_provider_payment::{Budget, PaymentPolicy};
use yibao_region::payment::{self, PaymentRunError};
use yibao_region::report::fund_report;

const HOSPITAL: &str = "H36040200001";
const OTHER: &str = "H36040200002";
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
    let dir = std::env::temp_dir().join(format!("yibao-proc-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = Store::open_data_dir(&dir).await.unwrap();
    let pg_base = std::env::var("YIBAO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("t_proc_{}_{}", std::process::id(), nanos % 1_000_000_000);
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

fn budget(code: &str) -> Budget {
    Budget {
        fixmedins_code: code.into(),
        insutype: Code::lit("390"),
        year: 2025,
        annual_index: Fen::from_yuan(INDEX_YUAN),
        limits: Default::default(),
    }
}

const PREPAYMENTS: &str = "fixmedins_code,insutype,year,month,procurement_volume,prepayment_amt
H36040200001,390,2025,1,1200000.00,
";

const SAVINGS: &str = "fixmedins_code,insutype,year,item_code,reference_price,bid_price,volume
H36040200001,390,2025,XA01,1.2500,0.2500,50000
H36040200001,390,2025,XB02,30.00,10.00,1500
";

#[tokio::test]
async fn a_prepayment_is_offset_monthly_and_savings_retained_at_the_year_end() {
    let policy = policy();
    let rows = read_prepayments(PREPAYMENTS, "prepayments.csv").unwrap();
    let items = read_savings(SAVINGS, "savings.csv").unwrap();
    for (name, store, dir) in stores().await {
        provider::upsert_budgets(
            &store,
            &[budget(HOSPITAL), budget(OTHER)],
            "2025-01-01 00:00:00",
        )
        .await
        .unwrap();
        store_benefit_policy(&store).await;
        // 1,000,000 claimed every month by the hospital (paid within the 1,000,000 quota).
        for month in 1..=12 {
            settle(
                &store,
                month,
                &format!("2025-{month:02}-15 10:00:00"),
                1_000_000,
                false,
            )
            .await;
        }
        // 30 % of a procurement volume of 1,200,000: 360,000 prepaid in January, recovered
        // February–November at 36,000 a month.
        let posted = payment::prepay(&store, &policy, &rows, "t1").await.unwrap();
        assert_eq!(posted.len(), 1, "{name}");
        assert_eq!(posted[0].1, Posted::New, "{name}");
        assert_eq!(
            posted[0].0.prepayment.amount,
            Fen::from_yuan(360_000),
            "{name}"
        );
        let books = book_rows(&store).await;
        let again = payment::prepay(&store, &policy, &rows, "t2").await.unwrap();
        assert_eq!(again[0].1, Posted::AlreadyPosted, "{name}");
        assert_eq!(
            book_rows(&store).await,
            books,
            "{name}: posted nothing twice"
        );
        let mut entered = rows.clone();
        entered[0].procurement_volume = None;
        entered[0].prepayment_amt = Some(Fen::from_yuan(1));
        let second = payment::prepay(&store, &policy, &entered, "t3").await;
        assert!(
            matches!(
                second,
                Err(PaymentRunError::Procurement(
                    ProcurementError::PrepaymentConflict { .. }
                ))
            ),
            "{name}: {second:?}"
        );

        let december = payment::pay_month(&store, &policy, 2025, 12, next_year(), "t4")
            .await
            .unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let months = provider::posted_months(&mut conn, 2025).await.unwrap();
        drop(conn);
        let key = (HOSPITAL.to_string(), Code::lit("390"));
        for month in 1..=12u8 {
            let statement = &months[&(key.clone(), month)];
            let due = if (2..=11).contains(&month) { 36_000 } else { 0 };
            assert_eq!(
                statement.procurement_offset,
                Fen::from_yuan(due),
                "{name} month {month}"
            );
            assert_eq!(
                statement.transfer,
                statement.paid - statement.reserve_withheld - Fen::from_yuan(due),
                "{name} month {month}"
            );
        }
        assert_eq!(
            december[0].statement.procurement_outstanding,
            Fen::ZERO,
            "{name}"
        );
        // The other institution's months are paid: its prepayment would start offsetting in a
        // paid month.
        let mut late = rows.clone();
        late[0].fixmedins_code = OTHER.into();
        let refused = payment::prepay(&store, &policy, &late, "t5").await;
        assert!(
            matches!(
                refused,
                Err(PaymentRunError::Procurement(
                    ProcurementError::MonthPosted { month: 2, .. }
                ))
            ),
            "{name}: {refused:?}"
        );

        // Savings: (1.25 − 0.25) × 50,000 + (30 − 10) × 1,500 = 80,000; half retained.
        let stored = payment::store_savings(&store, &policy, &items, "t6")
            .await
            .unwrap();
        assert_eq!(stored[0].savings, Fen::from_yuan(80_000), "{name}");
        let cleared = payment::clear(&store, &policy, 2025, &BTreeMap::new(), "t7")
            .await
            .unwrap();
        let end = &cleared
            .iter()
            .find(|s| s.fixmedins_code == HOSPITAL)
            .unwrap()
            .statement;
        assert_eq!(end.procurement_retained, Fen::from_yuan(40_000), "{name}");
        assert_eq!(end.procurement_recovered, Fen::ZERO, "{name}");
        let posted = book_rows(&store).await;
        payment::clear(&store, &policy, 2025, &BTreeMap::new(), "t8")
            .await
            .unwrap();
        payment::pay_month(&store, &policy, 2025, 12, next_year(), "t8")
            .await
            .unwrap();
        assert_eq!(
            book_rows(&store).await,
            posted,
            "{name}: posted nothing twice"
        );
        let mut changed = items.clone();
        changed.values_mut().next().unwrap()[0].volume += 1;
        let refused = payment::store_savings(&store, &policy, &changed, "t9").await;
        assert!(
            matches!(
                refused,
                Err(PaymentRunError::Procurement(
                    ProcurementError::YearEndPosted { .. }
                ))
            ),
            "{name}: {refused:?}"
        );

        // The books: prepaid, recovered and retained per scheme; what left the fund adds up.
        let report = fund_report(&store, Period::Year(2025)).await.unwrap();
        let row = &report.providers[0];
        assert_eq!(row.procurement_prepaid, Fen::from_yuan(360_000), "{name}");
        assert_eq!(row.procurement_offset, Fen::from_yuan(360_000), "{name}");
        assert_eq!(row.procurement_retained, Fen::from_yuan(40_000), "{name}");
        assert_eq!(
            row.transferred,
            row.paid - row.reserve_withheld - row.prepayment_offset
                + row.year_end_payment
                + Fen::from_yuan(40_000),
            "{name}"
        );
        let mut conn = store.pool().acquire().await.unwrap();
        let status = procurement::status(&mut conn, 2025).await.unwrap();
        assert_eq!(status.len(), 1, "{name}");
        assert_eq!(status[0].outstanding, Fen::ZERO, "{name}");
        assert_eq!(status[0].recovered, Fen::from_yuan(360_000), "{name}");
        let mut problems = Vec::new();
        provider_books::check(&mut conn, &mut problems)
            .await
            .unwrap();
        assert!(problems.is_empty(), "{name}: {problems:?}");
        sqlx::query("UPDATE book_postings SET amount = amount + 1 WHERE flow = 'provider_procurement_prepaid'")
            .execute(&mut *conn)
            .await
            .unwrap();
        let tampered = verify::verify(&mut conn).await.unwrap();
        assert!(
            tampered
                .problems
                .iter()
                .any(|p| p.contains("procurement:H36040200001:390:2025")),
            "{name}: {:?}",
            tampered.problems
        );
        drop(conn);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
