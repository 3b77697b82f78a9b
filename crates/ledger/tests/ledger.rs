//! Ledger round trips on SQLite and PostgreSQL: registry, append-only entries, cancellation mirrors,
//! group commit and verification.

use std::sync::Arc;

use proptest::prelude::*;
use sqlx::AnyConnection;
use yibao_domain::codes::{ClrType, ClrWay, Gend, Insutype, MedType, PsnType};
use yibao_domain::{Code, Fen, LineAmounts};
use yibao_ledger::entries::{self, EntryFilter};
use yibao_ledger::lookups;
use yibao_ledger::registry;
use yibao_ledger::verify::verify;
use yibao_ledger::*;
use yibao_settlement::{AccKey, FundRow, Payer, Posting};

mod support;
use support::{fee_line, source, upload_consumed_lines};

fn pg_base_url() -> String {
    std::env::var("YIBAO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// The URL of a test's PostgreSQL schema.
fn pg_url(schema: &str) -> String {
    let sep = if pg_base_url().contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}options=-c%20search_path%3D{schema}", pg_base_url())
}

/// A fresh PostgreSQL schema for one test, and its name.
async fn fresh_pg(tag: &str) -> (Store, String) {
    sqlx::any::install_default_drivers();
    let schema = format!(
        "ledger_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut admin = <AnyConnection as sqlx::Connection>::connect(&pg_base_url())
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    (Store::open(&pg_url(&schema)).await.unwrap(), schema)
}

async fn fresh_sqlite() -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "yibao-ledger-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    (Store::open_data_dir(&dir).await.unwrap(), dir)
}

/// An import of one person as of 2026-01-01.
fn import(person: Person) -> registry::PersonImport {
    registry::PersonImport {
        persons: vec![person],
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    }
}

fn person() -> Person {
    Person {
        psn_no: "P001".into(),
        psn_cert_type: Code::lit("01"),
        certno: "360402199001010011".into(),
        psn_name: "测试".into(),
        gend: Gend::Male,
        brdy: chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        insu: vec![InsuRow {
            insutype: Insutype::Worker,
            psn_type: PsnType::InService,
            psn_insu_stas: InsuStatus::Normal,
            psn_insu_date: chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap(),
            insu_endtime: Some(chrono::NaiveDate::from_ymd_opt(2030, 12, 31).unwrap()),
            benefit_begndate: Some(chrono::NaiveDate::from_ymd_opt(2015, 4, 1).unwrap()),
            insuplc_admdvs: Code::lit("360400"),
            cvlserv_flag: false,
            opening_balc: Fen(100_000),
        }],
        idet: vec![IdentityPeriod {
            psn_idet_type: Code::lit("DB"),
            begntime: Some(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
            endtime: None,
        }],
    }
}

/// 2026-03-01 10:00:00, when the test's entries are made.
fn march_first_ten() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .and_then(|day| day.and_hms_opt(10, 0, 0))
        .unwrap()
}

fn record(setl_id: &str, msgid: &str, acct: i64, balc_after: i64) -> SettlementRecord {
    let amounts = SetlAmounts {
        medfee_sumamt: Fen(10_000),
        fulamt_ownpay_amt: Fen(1_000),
        inscp_scp_amt: Fen(9_000),
        act_pay_dedc: Fen(2_000),
        hifp_pay: Fen(5_000),
        fund_pay_sumamt: Fen(5_000),
        psn_part_amt: Fen(5_000),
        acct_pay: Fen(acct),
        psn_cash_pay: Fen(5_000 - acct),
        ..SetlAmounts::default()
    };
    SettlementRecord {
        header: SettlementHeader {
            setl_id: setl_id.into(),
            kind: EntryKind::Settle,
            orig_setl_id: None,
            infno: Code::lit("2207"),
            msgid: msgid.into(),
            fixmedins_code: "H36040200001".into(),
            mdtrt_id: format!("M{msgid}"),
            psn_no: "P001".into(),
            insutype: Insutype::Worker,
            year: 2026,
            med_type: MedType::Outpatient,
            mid_setl_flag: false,
            setl_time: march_first_ten(),
            clr_type: ClrType::Outpatient,
            clr_way: ClrWay::ByItem,
            clr_optins: Code::lit("360400"),
            mdtrtarea_admvs: Code::lit("360402"),
            balc: Fen(balc_after),
        },
        amounts,
        funds: vec![
            StoredFundRow {
                row: FundRow {
                    fund_pay_type: Code::lit("310100"),
                    payer: Payer::Fund,
                    inscp_scp_amt: Fen(9_000),
                    crt_payb_lmt_amt: Some(Fen(1_000_000)),
                    fund_payamt: Fen(5_000),
                },
                fund_pay_type_name: "职工基本医疗保险统筹基金".into(),
                setl_proc_info: "C000".into(),
            },
            StoredFundRow {
                row: FundRow {
                    fund_pay_type: Code::lit("310200"),
                    payer: Payer::PersonalAccount,
                    inscp_scp_amt: Fen(0),
                    crt_payb_lmt_amt: None,
                    fund_payamt: Fen(acct),
                },
                fund_pay_type_name: "职工基本医疗保险个人账户基金".into(),
                setl_proc_info: String::new(),
            },
        ],
        lines: vec![LineRow {
            feedetl_sn: "1".into(),
            amounts: LineAmounts {
                det_item_fee_sumamt: Fen(10_000),
                fulamt_ownpay_amt: Fen(1_000),
                overlmt_amt: Fen(0),
                preselfpay_amt: Fen(0),
                inscp_scp_amt: Fen(9_000),
            },
        }],
        postings: vec![
            Posting {
                key: AccKey::MedicalExpense,
                amount: 10_000,
            },
            Posting {
                key: AccKey::Deductible,
                amount: 2_000,
            },
            Posting {
                key: AccKey::FundPaid(Code::lit("310100")),
                amount: 5_000,
            },
        ],
    }
}

fn message(msgid: &str, setl_id: &str) -> entries::StoredMessage {
    entries::StoredMessage {
        fixmedins_code: "H36040200001".into(),
        msgid: msgid.into(),
        infno: "2207".into(),
        effect_ref: setl_id.into(),
        reply: "{}".into(),
        created_at: "2026-03-01 10:00:00".into(),
        request_digest: String::new(),
    }
}

/// Appends a settlement (after uploading the fee lines it consumes) or a cancellation, and its
/// message, in one job; counts how often jobs ran.
#[derive(Default)]
struct Appender {
    runs: std::sync::atomic::AtomicUsize,
}

impl WriteHandler for Appender {
    type Job = (SettlementRecord, entries::StoredMessage);
    type Output = Result<(), String>;

    fn message_key(&self, job: &Self::Job) -> Option<(String, String)> {
        Some((job.1.fixmedins_code.clone(), job.1.msgid.clone()))
    }

    async fn handle(
        &self,
        ledger: &mut LedgerView<'_>,
        job: &Self::Job,
    ) -> (Decision, Self::Output) {
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = async {
            if job.0.header.kind == EntryKind::Settle {
                upload_consumed_lines(ledger, &job.0).await?;
            }
            ledger.append_settlement(job.0.clone()).await?;
            ledger.store_message(job.1.clone()).await
        }
        .await;
        match result {
            Ok(()) => (Decision::Commit, Ok(())),
            Err(e) => (Decision::Rollback, Err(e.to_string())),
        }
    }

    fn storage_failure(&self, error: &LedgerError) -> Self::Output {
        Err(error.to_string())
    }
}

async fn exercise(store: Store) {
    registry::upsert_institutions(
        &store,
        &[Institution {
            fixmedins_code: "H36040200001".into(),
            fixmedins_name: "九江市第一人民医院".into(),
            fixmedins_type: "1".into(),
            hosp_lv: "2".into(),
            admdvs: "360402".into(),
        }],
    )
    .await
    .unwrap();
    registry::upsert_persons(&store, &import(person()))
        .await
        .unwrap();
    registry::upsert_persons(&store, &import(person()))
        .await
        .unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    assert_eq!(
        registry::person(&mut conn, "P001").await.unwrap(),
        Some(person())
    );
    assert_eq!(
        registry::person_by_certno(&mut conn, "360402199001010011")
            .await
            .unwrap()
            .unwrap()
            .psn_no,
        "P001"
    );

    let writer = GroupCommit::start(
        store.lock_writer().await.unwrap(),
        Arc::new(Appender::default()),
        16,
    );
    let first = record("S1", "MSG1", 3_000, 97_000);
    writer
        .submit((first.clone(), message("MSG1", "S1")))
        .await
        .unwrap()
        .unwrap();
    // A duplicate message is rejected and leaves no trace (its staged writes are dropped).
    let duplicate = writer
        .submit((record("S2", "MSG1", 0, 97_000), message("MSG1", "S2")))
        .await
        .unwrap();
    assert!(duplicate.is_err());
    assert_eq!(entries::settlement(&mut conn, "S2").await.unwrap(), None);

    let stored = entries::settlement(&mut conn, "S1").await.unwrap().unwrap();
    assert_eq!(stored.amounts, first.amounts);
    assert_eq!(stored.funds, first.funds);
    let ytd = entries::year_to_date(&mut conn, "P001", "310", 2026)
        .await
        .unwrap();
    assert_eq!(
        ytd.iter()
            .find(|p| p.key == AccKey::MedicalExpense)
            .unwrap()
            .amount,
        10_000
    );
    assert_eq!(
        entries::account_paid(&mut conn, "P001", "310")
            .await
            .unwrap(),
        Fen(3_000)
    );

    let mirror_header = SettlementHeader {
        setl_id: "S3".into(),
        kind: EntryKind::Cancel,
        orig_setl_id: Some("S1".into()),
        msgid: "MSG3".into(),
        infno: Code::lit("2208"),
        balc: Fen(100_000),
        ..first.header.clone()
    };
    let cancel = first.negated(mirror_header.clone());
    writer
        .submit((cancel.clone(), message("MSG3", "S3")))
        .await
        .unwrap()
        .unwrap();
    // A second cancellation of the same settlement violates the unique original.
    let twice = SettlementHeader {
        setl_id: "S4".into(),
        msgid: "MSG4".into(),
        ..mirror_header
    };
    assert!(writer
        .submit((first.negated(twice), message("MSG4", "S4")))
        .await
        .unwrap()
        .is_err());
    assert_eq!(
        entries::cancellation_of(&mut conn, "S1")
            .await
            .unwrap()
            .as_deref(),
        Some("S3")
    );
    let ytd = entries::year_to_date(&mut conn, "P001", "310", 2026)
        .await
        .unwrap();
    assert!(ytd.iter().all(|p| p.amount == 0));
    let listed = entries::entries(
        &mut conn,
        &EntryFilter {
            psn_no: Some("P001".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 2);

    let report = verify(&mut conn).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.entries, 2);

    // Tampering with a materialised total or an amount is detected.
    sqlx::query("UPDATE acc_totals SET amount = amount + 1 WHERE acc_key = 'S0000'")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE settlements SET hifp_pay = hifp_pay + 1 WHERE setl_id = 'S1'")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE account_totals SET paid = paid + 1")
        .execute(&mut *conn)
        .await
        .unwrap();
    let report = verify(&mut conn).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("account P001")),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.contains("S0000")),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.contains("I5")),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.contains("exact negation")),
        "{:?}",
        report.problems
    );
    stored_codes_are_parsed(&mut conn).await;
}

/// A damaged payer, fund code or accumulator key of a stored settlement is
/// `LedgerError::Corrupt` naming its column, on every read of it.
async fn stored_codes_are_parsed(conn: &mut AnyConnection) {
    let damages = [
        (
            "UPDATE settlement_funds SET payer_class = 'nobody' WHERE setl_id = 'S1' AND row_no = 0",
            "UPDATE settlement_funds SET payer_class = 'fund' WHERE setl_id = 'S1' AND row_no = 0",
            "payer_class",
        ),
        (
            "UPDATE settlement_funds SET fund_pay_type = '' WHERE setl_id = 'S1' AND row_no = 0",
            "UPDATE settlement_funds SET fund_pay_type = '310100' WHERE setl_id = 'S1' AND row_no = 0",
            "fund_pay_type",
        ),
        (
            "UPDATE postings SET acc_key = 'X1' WHERE setl_id = 'S1' AND acc_key = 'Q0000'",
            "UPDATE postings SET acc_key = 'Q0000' WHERE setl_id = 'S1' AND acc_key = 'X1'",
            "acc_key",
        ),
    ];
    for (damage, repair, column) in damages {
        sqlx::query(damage).execute(&mut *conn).await.unwrap();
        let read = entries::settlement(&mut *conn, "S1").await;
        assert!(
            matches!(read, Err(LedgerError::Corrupt { column: c, .. }) if c == column),
            "{column}: {read:?}"
        );
        let checked = verify(&mut *conn).await;
        assert!(
            matches!(checked, Err(LedgerError::Corrupt { column: c, .. }) if c == column),
            "{column}: {checked:?}"
        );
        sqlx::query(repair).execute(&mut *conn).await.unwrap();
    }
    stored_header_is_parsed(&mut *conn).await;
    sqlx::query("UPDATE acc_totals SET acc_key = 'X1' WHERE acc_key = 'Q0000'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let totals = entries::year_to_date(&mut *conn, "P001", "310", 2026).await;
    assert!(
        matches!(
            totals,
            Err(LedgerError::Corrupt {
                column: "acc_key",
                ..
            })
        ),
        "{totals:?}"
    );
}

/// A damaged time, code or flag of a stored settlement header is `LedgerError::Corrupt` naming the
/// table, the entry and the column, on every read of it.
async fn stored_header_is_parsed(conn: &mut AnyConnection) {
    let damages = [
        ("setl_time", "2026-03-01 25:00:00", "2026-03-01 10:00:00"),
        ("setl_time", "", "2026-03-01 10:00:00"),
        ("insutype", "", "310"),
        ("insutype", "0123456789abcdefg", "310"),
        ("clr_type", "", "11"),
        ("clr_type", "clearing-type-of-20", "11"),
        ("med_type", "", "11"),
        ("mid_setl_flag", "Y", "0"),
        ("infno", "", "2207"),
        ("clr_optins", "0123456789abcdefg", "360400"),
    ];
    for (column, damaged, repaired) in damages {
        let set = |value: &str| {
            format!("UPDATE settlements SET {column} = '{value}' WHERE setl_id = 'S1'")
        };
        sqlx::query(&set(damaged))
            .execute(&mut *conn)
            .await
            .unwrap();
        let read = entries::settlement(&mut *conn, "S1").await;
        assert!(
            matches!(&read, Err(LedgerError::Corrupt { table: "settlements", column: c, detail })
                if *c == column && detail.contains("`S1`")),
            "{column} = {damaged:?}: {read:?}"
        );
        let checked = verify(&mut *conn).await;
        assert!(
            matches!(&checked, Err(LedgerError::Corrupt { column: c, .. }) if *c == column),
            "{column} = {damaged:?}: {checked:?}"
        );
        sqlx::query(&set(repaired))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let repaired = entries::settlement(&mut *conn, "S1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(repaired.header, record("S1", "MSG1", 3_000, 97_000).header);
}

/// A stored code: a core value of the table (`values`) or any other code of 1–15 characters.
fn any_code(values: &'static [(&'static str, &'static str)]) -> BoxedStrategy<Code> {
    prop_oneof![
        proptest::sample::select(values).prop_map(|(code, _)| Code::lit(code)),
        "[0-9A-Z]{1,15}".prop_map(|text| Code::lit(&text)),
    ]
    .boxed()
}

/// Any settlement header as the ledger may hold it: codes of the national tables and beyond,
/// regions possibly empty (rows stored before the column existed), times to the second from 1900
/// to 9999. Its identity (`setl_id`, `msgid`, `orig_setl_id`) is set by the test.
fn any_header() -> impl Strategy<Value = SettlementHeader> {
    let codes = (
        any_code(Insutype::VALUES),
        any_code(MedType::VALUES),
        any_code(ClrType::VALUES),
        any_code(ClrWay::VALUES),
        "[0-9A-Z]{1,8}",
        "[0-9]{0,15}",
        "[0-9]{0,15}",
    );
    let setl_time = (1900i32..=9999, 1u32..=365, 0u32..86_400).prop_map(|(year, day, second)| {
        chrono::NaiveDate::from_yo_opt(year, day)
            .unwrap()
            .and_time(chrono::NaiveTime::from_num_seconds_from_midnight_opt(second, 0).unwrap())
    });
    let facts = (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        1900i64..=9999,
        -1_000_000_000i64..1_000_000_000,
    );
    (codes, setl_time, facts).prop_map(
        |((insutype, med_type, clr_type, clr_way, infno, clr_optins, place), setl_time, facts)| {
            let (cancel, mirror, interim, year, balc_fen) = facts;
            SettlementHeader {
                setl_id: String::new(),
                kind: if cancel {
                    EntryKind::Cancel
                } else {
                    EntryKind::Settle
                },
                orig_setl_id: (cancel || mirror).then(String::new),
                infno: Code::lit(&infno),
                msgid: String::new(),
                fixmedins_code: "H36040200001".into(),
                mdtrt_id: "HV1".into(),
                psn_no: "P001".into(),
                insutype: Insutype::from_code(insutype),
                year,
                med_type: MedType::from_code(med_type),
                mid_setl_flag: interim,
                setl_time,
                clr_type: ClrType::from_code(clr_type),
                clr_way: ClrWay::from_code(clr_way),
                clr_optins: Code::lit(&clr_optins),
                mdtrtarea_admvs: Code::lit(&place),
                balc: Fen(balc_fen),
            }
        },
    )
}

/// Header → stored text → header: every header the ledger writes reads back equal.
#[test]
fn stored_headers_read_back_equal() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (store, dir) = runtime.block_on(fresh_sqlite());
    let config = proptest::test_runner::Config {
        cases: 64,
        ..proptest::test_runner::Config::default()
    };
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    let next = std::sync::atomic::AtomicU64::new(0);
    let result = runner.run(&any_header(), |header| {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let header = SettlementHeader {
            setl_id: format!("H{n}"),
            msgid: format!("HM{n}"),
            orig_setl_id: header.orig_setl_id.map(|_| format!("O{n}")),
            ..header
        };
        let read = runtime.block_on(async {
            let mut cache = LedgerCache::new(10);
            let record = SettlementRecord {
                header: header.clone(),
                amounts: SetlAmounts::default(),
                funds: Vec::new(),
                lines: Vec::new(),
                postings: Vec::new(),
            };
            commit_job(&store, &mut cache, |view| {
                Box::pin(async move { view.append_settlement(record).await.unwrap() })
            })
            .await;
            let mut conn = store.pool().acquire().await.unwrap();
            entries::settlement(&mut conn, &header.setl_id).await
        });
        prop_assert_eq!(read.unwrap().map(|r| r.header), Some(header));
        Ok(())
    });
    let _ = std::fs::remove_dir_all(dir);
    result.unwrap();
}

/// A time to the second from 1900 to 9999, as the ledger stores visit and settlement times.
fn any_time() -> impl Strategy<Value = chrono::NaiveDateTime> {
    (1900i32..=9999, 1u32..=365, 0u32..86_400).prop_map(|(year, day, second)| {
        chrono::NaiveDate::from_yo_opt(year, day)
            .unwrap()
            .and_time(chrono::NaiveTime::from_num_seconds_from_midnight_opt(second, 0).unwrap())
    })
}

/// Any visit as the ledger may hold it: codes of the national tables and beyond, every kind and
/// status, times to the second, an open or ended stay, facts given or not. Its `mdtrt_id` is set
/// by the test; its details are empty (the facts are read from their columns).
fn any_visit() -> impl Strategy<Value = Visit> {
    let codes = (
        any_code(Insutype::VALUES),
        any_code(MedType::VALUES),
        "[0-9]{0,2}",
        "[A-Z0-9.]{0,12}",
    );
    let kinds = (
        proptest::sample::select(vec![
            VisitKind::Outpatient,
            VisitKind::Inpatient,
            VisitKind::Pharmacy,
        ]),
        proptest::sample::select(vec![
            VisitStatus::Open,
            VisitStatus::Discharged,
            VisitStatus::Settled,
            VisitStatus::DischargedSettled,
            VisitStatus::Cancelled,
        ]),
        any::<bool>(),
    );
    let times = (
        any_time(),
        proptest::option::of(any_time()),
        "[A-Z0-9]{0,10}",
    );
    (codes, kinds, times).prop_map(
        |((insutype, med_type, cert, dise), (kind, status, referred), (begin, end, no))| Visit {
            mdtrt_id: String::new(),
            fixmedins_code: "H36040200001".into(),
            psn_no: "P001".into(),
            insutype: Insutype::from_code(insutype),
            kind,
            med_type: MedType::from_code(med_type),
            begntime: begin,
            endtime: end,
            status,
            ipt_otp_no: no,
            mdtrt_cert_type: Code::lit(&cert),
            dise_codg: dise,
            referred,
            info: serde_json::json!({}),
        },
    )
}

/// Visit → cache → flush → stored text → visit: every visit the writer stores reads back equal,
/// and so does every insurance row a registry import stores.
#[test]
fn stored_visits_and_insurance_rows_read_back_equal() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (store, dir) = runtime.block_on(fresh_sqlite());
    let config = proptest::test_runner::Config {
        cases: 64,
        ..proptest::test_runner::Config::default()
    };
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config.clone(), rng);
    let next = std::sync::atomic::AtomicU64::new(0);
    let visits = runner.run(&any_visit(), |visit| {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let visit = Visit {
            mdtrt_id: format!("V{n}"),
            ..visit
        };
        let read = runtime.block_on(async {
            let mut cache = LedgerCache::new(10);
            let stored = visit.clone();
            commit_job(&store, &mut cache, |view| {
                Box::pin(async move { view.insert_visit(&stored) })
            })
            .await;
            let mut conn = store.pool().acquire().await.unwrap();
            entries::visit(&mut conn, &visit.mdtrt_id).await
        });
        prop_assert_eq!(read.unwrap(), Some(visit));
        Ok(())
    });
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    let rows = runner.run(&any_insu_row(), |row| {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let person = Person {
            psn_no: format!("Q{n}"),
            certno: format!("C{n}"),
            insu: vec![row],
            ..person()
        };
        let read = runtime.block_on(async {
            registry::upsert_persons(&store, &import(person.clone()))
                .await
                .unwrap();
            let mut conn = store.pool().acquire().await.unwrap();
            registry::person(&mut conn, &person.psn_no).await
        });
        prop_assert_eq!(read.unwrap(), Some(person));
        Ok(())
    });
    let _ = std::fs::remove_dir_all(dir);
    visits.unwrap();
    rows.unwrap();
}

/// Any insurance row a registry import may store: codes of the national tables and beyond (a
/// person type possibly empty), every status, open or ended periods.
fn any_insu_row() -> impl Strategy<Value = InsuRow> {
    let day = (1900i32..=9999, 1u32..=365)
        .prop_map(|(year, day)| chrono::NaiveDate::from_yo_opt(year, day).unwrap());
    let codes = (
        any_code(Insutype::VALUES),
        prop_oneof![any_code(PsnType::VALUES), Just(Code::default()).boxed()],
        proptest::sample::select(vec![
            InsuStatus::NotInsured,
            InsuStatus::Normal,
            InsuStatus::Suspended,
            InsuStatus::Invalid,
            InsuStatus::Terminated,
        ]),
        "[0-9]{6}",
    );
    let periods = (
        day.clone(),
        proptest::option::of(day.clone()),
        proptest::option::of(day),
        any::<bool>(),
        0i64..1_000_000_000,
    );
    (codes, periods).prop_map(
        |((insutype, psn_type, status, region), (begin, end, benefits, civil, balc))| InsuRow {
            insutype: Insutype::from_code(insutype),
            psn_type: PsnType::from_code(psn_type),
            psn_insu_stas: status,
            psn_insu_date: begin,
            insu_endtime: end,
            benefit_begndate: benefits,
            insuplc_admdvs: Code::lit(&region),
            cvlserv_flag: civil,
            opening_balc: Fen(balc),
        },
    )
}

/// A damaged code, time or flag of a stored visit, insurance row, identity period or person is
/// `LedgerError::Corrupt` naming the table, the row and the column, on every read of it.
async fn stored_visit_and_person_are_parsed(store: Store) {
    registry::upsert_persons(&store, &import(person()))
        .await
        .unwrap();
    let visit = Visit {
        mdtrt_id: "V1".into(),
        fixmedins_code: "H36040200001".into(),
        psn_no: "P001".into(),
        insutype: Insutype::Worker,
        kind: VisitKind::Inpatient,
        med_type: MedType::Inpatient,
        begntime: march_first_ten(),
        endtime: None,
        status: VisitStatus::Open,
        ipt_otp_no: "I1".into(),
        mdtrt_cert_type: Code::lit("02"),
        dise_codg: "K80.100".into(),
        referred: true,
        info: serde_json::json!({}),
    };
    let mut cache = LedgerCache::new(10);
    let stored = visit.clone();
    commit_job(&store, &mut cache, |view| {
        Box::pin(async move { view.insert_visit(&stored) })
    })
    .await;
    let mut conn = store.pool().acquire().await.unwrap();
    let visit_damages = [
        ("insutype", "", "310"),
        ("insutype", "0123456789abcdefg", "310"),
        ("med_type", "", "21"),
        ("med_type", "0123456789abcdefg", "21"),
        ("kind", "outpatient", "ipt"),
        ("status", "closed", "open"),
        ("begntime", "2026-03-01 25:00:00", "2026-03-01 10:00:00"),
        ("begntime", "", "2026-03-01 10:00:00"),
        ("endtime", "yesterday", ""),
        ("mdtrt_cert_type", "0123456789abcdefg", "02"),
        ("refl_flag", "Y", "1"),
    ];
    for (column, damaged, repaired) in visit_damages {
        let set =
            |value: &str| format!("UPDATE visits SET {column} = '{value}' WHERE mdtrt_id = 'V1'");
        sqlx::query(&set(damaged))
            .execute(&mut *conn)
            .await
            .unwrap();
        let read = entries::visit(&mut conn, "V1").await;
        assert!(
            matches!(&read, Err(LedgerError::Corrupt { table: "visits", column: c, detail })
                if *c == column && detail.contains("`V1`")),
            "{column} = {damaged:?}: {read:?}"
        );
        let history =
            lookups::person_visits(&mut conn, "P001", lookups::CareWindow::default()).await;
        assert!(
            matches!(&history, Err(LedgerError::Corrupt { column: c, .. }) if *c == column),
            "{column} = {damaged:?}: {history:?}"
        );
        sqlx::query(&set(repaired))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    assert_eq!(entries::visit(&mut conn, "V1").await.unwrap(), Some(visit));
    split_line_is_parsed(&store, &mut cache, &mut conn).await;
    let person_damages = [
        ("person_insu", "insutype", "", "310"),
        ("person_insu", "psn_type", "0123456789abcdefg", "11"),
        ("person_insu", "psn_insu_stas", "5", "1"),
        ("person_insu", "psn_insu_stas", "", "1"),
        ("person_insu", "psn_insu_date", "", "2015-01-01"),
        ("person_insu", "insu_endtime", "2030-13-01", "2030-12-31"),
        ("person_insu", "benefit_begndate", "soon", "2015-04-01"),
        (
            "person_insu",
            "insuplc_admdvs",
            "0123456789abcdefg",
            "360400",
        ),
        ("person_insu", "cvlserv_flag", "Y", "0"),
        ("person_idet", "begntime", "2020-02-30", "2020-01-01"),
        ("persons", "gend", "0123456789abcdefg", "1"),
        ("persons", "brdy", "", "1990-01-01"),
    ];
    for (table, column, damaged, repaired) in person_damages {
        let set =
            |value: &str| format!("UPDATE {table} SET {column} = '{value}' WHERE psn_no = 'P001'");
        sqlx::query(&set(damaged))
            .execute(&mut *conn)
            .await
            .unwrap();
        let read = registry::person(&mut conn, "P001").await;
        assert!(
            matches!(&read, Err(LedgerError::Corrupt { table: t, column: c, detail })
                if *t == table && *c == column && detail.contains("`P001`")),
            "{table}.{column} = {damaged:?}: {read:?}"
        );
        sqlx::query(&set(repaired))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    assert_eq!(
        registry::person(&mut conn, "P001").await.unwrap(),
        Some(person())
    );
}

/// A fee line of visit `V1` uploaded with its split reads back equal; a split without the
/// `hosp_appr_flag` the engine read is `LedgerError::Corrupt` naming the column.
async fn split_line_is_parsed(store: &Store, cache: &mut LedgerCache, conn: &mut AnyConnection) {
    let amount = Fen(1_000);
    let split = StoredSplit {
        basis: Arc::from("policy=1;catalogue=1;b"),
        fee: yibao_settlement::FeeLine {
            med_list_codg: "X01".into(),
            cnt_e4: 10_000,
            pric_micro_yuan: 10_000_000,
            amount,
            hosp_appr_flag: Code::lit("1"),
        },
        split: yibao_settlement::LineSplit {
            line: 0,
            rule: yibao_settlement::LineRule::Covered,
            amounts: LineAmounts {
                det_item_fee_sumamt: amount,
                fulamt_ownpay_amt: Fen::ZERO,
                overlmt_amt: Fen::ZERO,
                preselfpay_amt: Fen(100),
                inscp_scp_amt: Fen(900),
            },
            remote_extra_preselfpay: Fen::ZERO,
            selfpay_prop: yibao_domain::Ratio(1_000),
            price_cap_micro_yuan: None,
            chrgitm_lv: Some(yibao_domain::codes::ChrgitmLv::ClassB),
            med_chrgitm_type: Some(yibao_domain::codes::MedChrgitmType::WesternMedicine),
            restricted_use: false,
            flat: false,
        },
    };
    let line = FeeLine {
        split: Some(split.clone()),
        ..fee_line("V1", "1", amount)
    };
    commit_job(store, cache, |view| {
        Box::pin(async move {
            view.upload_fee_lines("V1", source("U1"), vec![line])
                .await
                .unwrap();
        })
    })
    .await;
    let read = entries::live_fee_lines(&mut *conn, "V1").await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].line.split.as_ref(), Some(&split));
    let set = |value: &str| {
        format!("UPDATE fee_lines SET hosp_appr_flag = {value} WHERE mdtrt_id = 'V1'")
    };
    sqlx::query(&set("NULL")).execute(&mut *conn).await.unwrap();
    let read = entries::live_fee_lines(&mut *conn, "V1").await;
    assert!(
        matches!(
            &read,
            Err(LedgerError::Corrupt {
                table: "fee_lines",
                column: "hosp_appr_flag",
                ..
            })
        ),
        "{read:?}"
    );
    sqlx::query(&set("'1'")).execute(&mut *conn).await.unwrap();
}

#[tokio::test]
async fn stored_visit_and_person_are_parsed_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    stored_visit_and_person_are_parsed(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn stored_visit_and_person_are_parsed_postgres() {
    let (store, schema) = fresh_pg("visitcodes").await;
    stored_visit_and_person_are_parsed(store.clone()).await;
    drop_pg(store, &schema).await;
}

/// Closes a test's PostgreSQL store and drops its schema.
async fn drop_pg(store: Store, schema: &str) {
    store.close().await;
    let mut admin = <AnyConnection as sqlx::Connection>::connect(&pg_base_url())
        .await
        .unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn ledger_round_trip_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    exercise(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn ledger_round_trip_postgres() {
    let (store, schema) = fresh_pg("roundtrip").await;
    exercise(store.clone()).await;
    drop_pg(store, &schema).await;
}

/// A job whose writes the database refuses (a reused settlement id, which the cache does not check)
/// fails alone: the jobs batched with it are run again alone and stored, each acknowledged exactly
/// when stored, and the writer goes on.
async fn recover_from_failed_commit(store: Store) {
    registry::upsert_persons(&store, &import(person()))
        .await
        .unwrap();
    let writer = GroupCommit::start(
        store.lock_writer().await.unwrap(),
        Arc::new(Appender::default()),
        16,
    );
    let job =
        |setl_id: &str, msgid: &str| (record(setl_id, msgid, 0, 100_000), message(msgid, setl_id));
    writer.submit(job("S1", "MSG1")).await.unwrap().unwrap();
    let (clash, second, third) = tokio::join!(
        writer.submit(job("S1", "MSG2")),
        writer.submit(job("S2", "MSG3")),
        writer.submit(job("S3", "MSG4")),
    );
    assert!(clash.unwrap().is_err());
    let after = writer.submit(job("S4", "MSG5")).await.unwrap();
    assert!(after.is_ok(), "{after:?}");
    let mut conn = store.pool().acquire().await.unwrap();
    let code = "H36040200001";
    assert_eq!(
        entries::stored_message(&mut conn, code, "MSG2")
            .await
            .unwrap(),
        None
    );
    for (outcome, setl_id, msgid) in [
        (second.unwrap(), "S2", "MSG3"),
        (third.unwrap(), "S3", "MSG4"),
    ] {
        assert!(outcome.is_ok(), "{setl_id}: {outcome:?}");
        let found = entries::settlement(&mut conn, setl_id).await.unwrap();
        assert!(found.is_some(), "{setl_id} is stored");
        let message = entries::stored_message(&mut conn, code, msgid)
            .await
            .unwrap();
        assert!(message.is_some(), "{msgid}");
    }
    let ytd = entries::year_to_date(&mut conn, "P001", "310", 2026)
        .await
        .unwrap();
    let base = ytd
        .iter()
        .find(|p| p.key == AccKey::MedicalExpense)
        .unwrap()
        .amount;
    assert_eq!(base, 10_000 * 4);
    let report = verify(&mut conn).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.entries, 4);
}

#[tokio::test]
async fn failed_commit_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    recover_from_failed_commit(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn failed_commit_postgres() {
    let (store, schema) = fresh_pg("failedcommit").await;
    recover_from_failed_commit(store.clone()).await;
    drop_pg(store, &schema).await;
}

/// Stored replies are kept Snappy-compressed (`reply_packed`, 0026) and read back as sent; a reply
/// stored as text before 0026 still reads; a damaged packed reply is `Corrupt`, not a wrong reply.
async fn replies_packed_and_old_text(store: Store) {
    registry::upsert_persons(&store, &import(person()))
        .await
        .unwrap();
    let writer = GroupCommit::start(
        store.lock_writer().await.unwrap(),
        Arc::new(Appender::default()),
        16,
    );
    let reply = format!(
        "{{\"infcode\":0,\"output\":{{\"setlinfo\":{{\"psn_name\":\"张三\",\"memo\":\"{}\"}}}}}}",
        "x".repeat(300)
    );
    let mut job = (record("S1", "MSG1", 0, 100_000), message("MSG1", "S1"));
    job.1.reply = reply.clone();
    writer.submit(job).await.unwrap().unwrap();
    let code = "H36040200001";
    let mut conn = store.pool().acquire().await.unwrap();
    let (text, packed): (String, Option<Vec<u8>>) =
        sqlx::query_as("SELECT reply, reply_packed FROM messages WHERE msgid = 'MSG1'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(text, "");
    assert!(packed.is_some_and(|p| p.len() < reply.len() / 2));
    let stored = entries::stored_message(&mut conn, code, "MSG1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.reply, reply);
    sqlx::query(
        "INSERT INTO messages (fixmedins_code, msgid, infno, effect_ref, reply, created_at) \
         VALUES ($1, 'OLD1', '2201', 'M1', '{\"infcode\":0}', '2026-03-01 10:00:00')",
    )
    .bind(code)
    .execute(&mut *conn)
    .await
    .unwrap();
    let keys = vec![
        (code.to_string(), "OLD1".to_string()),
        (code.to_string(), "MSG1".to_string()),
    ];
    let mut both = entries::stored_messages(&mut conn, &keys).await.unwrap();
    both.sort_by(|a, b| a.msgid.cmp(&b.msgid));
    assert_eq!(both[0].reply, reply);
    assert_eq!(both[1].reply, "{\"infcode\":0}");
    sqlx::query("UPDATE messages SET reply_packed = $1 WHERE msgid = 'OLD1'")
        .bind(vec![0xffu8, 0xff, 0xff])
        .execute(&mut *conn)
        .await
        .unwrap();
    let damaged = entries::stored_message(&mut conn, code, "OLD1").await;
    assert!(
        matches!(
            damaged,
            Err(LedgerError::Corrupt {
                column: "reply_packed",
                ..
            })
        ),
        "{damaged:?}"
    );
}

#[tokio::test]
async fn replies_packed_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    replies_packed_and_old_text(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn replies_packed_postgres() {
    let (store, schema) = fresh_pg("packed").await;
    replies_packed_and_old_text(store.clone()).await;
    drop_pg(store, &schema).await;
}

/// Text that an array literal must quote and escape (PostgreSQL writes a flush's rows as arrays):
/// quotes, backslashes, braces, commas, the word NULL, blanks at the ends, control characters and
/// CJK, in keys, in text columns and in the packed reply; each reads back as written.
async fn awkward_text_round_trips(store: Store) {
    registry::upsert_persons(&store, &import(person()))
        .await
        .unwrap();
    let writer = GroupCommit::start(
        store.lock_writer().await.unwrap(),
        Arc::new(Appender::default()),
        16,
    );
    let awkward = [
        "NULL",
        " {a,b} ",
        "say \"hi\", C:\\dir\\",
        "\\\"",
        "tab\tline\nend",
        "",
        "张三,李四}{",
    ];
    let mut keys = Vec::new();
    for (i, text) in awkward.iter().enumerate() {
        let msgid = format!("A{i}{text}");
        let mut job = (
            record(&format!("S{i}"), &msgid, 0, 100_000),
            message(&msgid, text),
        );
        job.1.reply = format!("{{\"memo\":{text:?},\"raw\":\"{text}\"}}");
        job.1.created_at = (*text).to_string();
        writer.submit(job).await.unwrap().unwrap();
        keys.push(("H36040200001".to_string(), msgid));
    }
    let mut conn = store.pool().acquire().await.unwrap();
    let mut stored = entries::stored_messages(&mut conn, &keys).await.unwrap();
    stored.sort_by_key(|m| keys.iter().position(|k| k.1 == m.msgid));
    assert_eq!(stored.len(), awkward.len());
    for ((text, key), message) in awkward.iter().zip(&keys).zip(&stored) {
        assert_eq!(message.msgid, key.1);
        assert_eq!(message.effect_ref, *text);
        assert_eq!(message.created_at, *text);
        assert_eq!(
            message.reply,
            format!("{{\"memo\":{text:?},\"raw\":\"{text}\"}}")
        );
    }
    let visits: Vec<(String,)> = sqlx::query_as("SELECT mdtrt_id FROM settlements ORDER BY seq")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let expected: Vec<(String,)> = keys.iter().map(|k| (format!("M{}", k.1),)).collect();
    assert_eq!(visits, expected);
}

#[tokio::test]
async fn awkward_text_round_trips_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    awkward_text_round_trips(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn awkward_text_round_trips_postgres() {
    let (store, schema) = fresh_pg("awkward").await;
    awkward_text_round_trips(store.clone()).await;
    drop_pg(store, &schema).await;
}

/// Writes a batch's flush in one committed transaction, as the committer does.
async fn commit_flush(store: &Store, flush: &Flush) {
    use sqlx::Connection;
    let mut conn = store.pool().acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    flush.write(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn ids_are_issued_in_sequence_across_pipelined_batches_and_restarts() {
    let (store, dir) = fresh_sqlite().await;
    let mut cache = LedgerCache::new(10);
    let mut conn = store.pool().acquire().await.unwrap();
    assert_eq!(cache.begin_batch(&mut conn, Vec::new()).await.unwrap(), 1);
    let mut dropped = cache.view(&mut conn);
    assert_eq!(dropped.next_id("mdtrt").await.unwrap(), 1);
    assert_eq!(dropped.next_id("setl").await.unwrap(), 1);
    drop(dropped);
    let mut kept = cache.view(&mut conn);
    assert_eq!(kept.next_id("mdtrt").await.unwrap(), 1);
    assert_eq!(kept.next_id("mdtrt").await.unwrap(), 2);
    kept.keep();
    let first = cache.take_flush();
    // The next batch runs before the first is committed and continues from its cached counters.
    assert_eq!(cache.begin_batch(&mut conn, Vec::new()).await.unwrap(), 2);
    let mut view = cache.view(&mut conn);
    assert_eq!(view.next_id("mdtrt").await.unwrap(), 3);
    view.keep();
    let second = cache.take_flush();
    commit_flush(&store, &first).await;
    cache.committed(first.batch);
    commit_flush(&store, &second).await;
    cache.committed(second.batch);
    // A new writer (after a restart) continues from the stored counters.
    let mut restarted = LedgerCache::new(10);
    let mut view = restarted.view(&mut conn);
    assert_eq!(view.next_id("mdtrt").await.unwrap(), 4);
    assert_eq!(view.next_id("setl").await.unwrap(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs one kept job on `cache` and commits its batch, as the writer and committer do.
async fn commit_job<F>(store: &Store, cache: &mut LedgerCache, job: F)
where
    F: for<'v> FnOnce(
        &'v mut LedgerView<'_>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'v>>,
{
    let mut conn = store.pool().acquire().await.unwrap();
    cache.begin_batch(&mut conn, Vec::new()).await.unwrap();
    let mut view = cache.view(&mut conn);
    job(&mut view).await;
    view.keep();
    let flush = cache.take_flush();
    commit_flush(store, &flush).await;
    cache.committed(flush.batch);
}

/// `(feedetl_sn, setl_id)` of a visit's live fee lines as stored.
async fn live_lines(conn: &mut AnyConnection, mdtrt_id: &str) -> Vec<(String, String)> {
    entries::live_fee_lines(conn, mdtrt_id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| {
            let setl_id = l.setl_id.as_deref().unwrap_or_default().to_string();
            (l.line.feedetl_sn.clone(), setl_id)
        })
        .collect()
}

/// Counts the rows of a table.
async fn count(conn: &mut AnyConnection, table: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(conn)
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// Fee-line events reach the database as inserts only: uploads, a settlement consuming a line (no
/// write to the line), a cancellation event, a cancelled line uploaded again; which line is settled
/// is derived from the live settlements, also after a restart of the cache.
#[tokio::test]
async fn fee_line_events_are_appended() {
    let (store, dir) = fresh_sqlite().await;
    let mut cache = LedgerCache::new(10);
    let visit = Visit {
        mdtrt_id: "MMSG1".into(),
        fixmedins_code: "H36040200001".into(),
        psn_no: "P001".into(),
        insutype: Insutype::Worker,
        kind: VisitKind::Outpatient,
        med_type: MedType::Outpatient,
        begntime: chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        endtime: None,
        status: VisitStatus::Open,
        ipt_otp_no: "O1".into(),
        mdtrt_cert_type: Code::lit("02"),
        dise_codg: String::new(),
        referred: false,
        info: serde_json::json!({}),
    };
    let settled = record("S1", "MSG1", 0, 100_000);
    let consumed = settled.clone();
    commit_job(&store, &mut cache, |view| {
        Box::pin(async move {
            view.insert_visit(&visit);
            let lines = vec![
                fee_line("MMSG1", "1", Fen(10_000)),
                fee_line("MMSG1", "2", Fen(500)),
            ];
            view.upload_fee_lines("MMSG1", source("U1"), lines)
                .await
                .unwrap();
        })
    })
    .await;
    commit_job(&store, &mut cache, |view| {
        Box::pin(async move {
            view.append_settlement(consumed).await.unwrap();
            let lines = view.fee_lines("MMSG1").await.unwrap();
            let second = lines[1].line.upload_seq;
            assert!(view
                .cancel_fee_lines("MMSG1", source("C1"), &[lines[0].line.upload_seq])
                .await
                .is_err());
            view.cancel_fee_lines("MMSG1", source("C2"), &[second])
                .await
                .unwrap();
            view.upload_fee_lines(
                "MMSG1",
                source("U2"),
                vec![fee_line("MMSG1", "3", Fen(700))],
            )
            .await
            .unwrap();
        })
    })
    .await;
    let mut conn = store.pool().acquire().await.unwrap();
    let pair = |sn: &str, setl_id: &str| (sn.to_string(), setl_id.to_string());
    assert_eq!(
        live_lines(&mut conn, "MMSG1").await,
        [pair("1", "S1"), pair("3", "")]
    );
    let mirror = settled.negated(SettlementHeader {
        setl_id: "S2".into(),
        kind: EntryKind::Cancel,
        orig_setl_id: Some("S1".into()),
        msgid: "MSG2".into(),
        ..settled.header.clone()
    });
    commit_job(&store, &mut cache, |view| {
        Box::pin(async move {
            view.append_settlement(mirror).await.unwrap();
            let again = vec![fee_line("MMSG1", "2", Fen(600))];
            view.upload_fee_lines("MMSG1", source("U3"), again)
                .await
                .unwrap();
        })
    })
    .await;
    assert_eq!(
        live_lines(&mut conn, "MMSG1").await,
        [pair("1", ""), pair("3", ""), pair("2", "")]
    );
    assert_eq!(count(&mut conn, "fee_lines").await, 4);
    assert_eq!(count(&mut conn, "fee_line_cancels").await, 1);
    assert_eq!(count(&mut conn, "fee_line_events").await, 4);
    let _ = std::fs::remove_dir_all(dir);
}

/// One writer per database: while a writer runs, a second lock on the database (from another store
/// of it) is refused naming the holder; opening, importing into and verifying the database take no
/// lock; once the writer has stopped, the lock can be taken again (returned, held by `store`).
async fn one_writer_per_database(store: Store, second: Store, holder: &str) -> WriterLock {
    let writer = GroupCommit::start(
        store.lock_writer().await.unwrap(),
        Arc::new(Appender::default()),
        4,
    );
    let refused = second.lock_writer().await.unwrap_err();
    assert!(
        matches!(refused, LedgerError::WriterLocked { .. }),
        "{refused}"
    );
    let text = refused.to_string();
    assert!(text.contains(holder), "{text}");
    registry::upsert_persons(&second, &import(person()))
        .await
        .unwrap();
    writer
        .submit((record("S1", "MSG1", 0, 100_000), message("MSG1", "S1")))
        .await
        .unwrap()
        .unwrap();
    let mut conn = second.pool().acquire().await.unwrap();
    let report = verify(&mut conn).await.unwrap();
    assert!(report.is_ok() && report.entries == 1, "{report:?}");
    drop(conn);
    let stopped = writer.stopped();
    drop(writer);
    stopped.wait().await;
    let again = second.lock_writer().await.unwrap();
    assert!(matches!(
        store.lock_writer().await,
        Err(LedgerError::WriterLocked { .. })
    ));
    again.release().await;
    store.lock_writer().await.unwrap()
}

#[tokio::test]
async fn one_writer_per_database_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    let second = Store::open_data_dir(&dir).await.unwrap();
    let holder = format!("pid {} on host ", std::process::id());
    drop(one_writer_per_database(store, second, &holder).await);
    let record = std::fs::read_to_string(dir.join("yibao.db.writer.lock")).unwrap();
    assert!(
        record.contains(&format!("pid={}\n", std::process::id()))
            && record.contains("host=")
            && record.contains("since="),
        "{record}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn one_writer_per_database_postgres() {
    let (store, schema) = fresh_pg("onewriter").await;
    let second = Store::open(&pg_url(&schema)).await.unwrap();
    let holder = format!(
        "application_name `yibao-writer pid={} host=",
        std::process::id()
    );
    let held = one_writer_per_database(store.clone(), second.clone(), &holder).await;
    // The lock is per schema: another ledger in the same database has its own writer.
    let (other, other_schema) = fresh_pg("otherledger").await;
    let other_lock = other.lock_writer().await.unwrap();
    assert!(matches!(
        second.lock_writer().await,
        Err(LedgerError::WriterLocked { .. })
    ));
    other_lock.release().await;
    held.release().await;
    drop_pg(other, &other_schema).await;
    second.close().await;
    drop_pg(store, &schema).await;
}

/// Many good jobs around one bad job (its writes are refused at commit) and a second job with the
/// bad job's `msgid`: only the bad job fails; every other job is acknowledged and stored exactly once
/// (the duplicate, first answered as a repeat of a message that was then not stored, is run again
/// and stored).
async fn bad_job_fails_alone(store: Store, bad: (SettlementRecord, entries::StoredMessage)) {
    const GOOD: usize = 40;
    registry::upsert_persons(&store, &import(person()))
        .await
        .unwrap();
    let appender = Arc::new(Appender::default());
    let writer = GroupCommit::start(
        store.lock_writer().await.unwrap(),
        Arc::clone(&appender),
        64,
    );
    let job =
        |setl_id: &str, msgid: &str| (record(setl_id, msgid, 0, 100_000), message(msgid, setl_id));
    writer.submit(job("S0", "MSG0")).await.unwrap().unwrap();
    let bad_msgid = bad.1.msgid.clone();
    let mut jobs: Vec<_> = (1..=GOOD)
        .map(|n| job(&format!("S{n}"), &format!("MSG{n}")))
        .collect();
    jobs.insert(GOOD / 2, bad);
    jobs.insert(GOOD / 2 + 1, job("SDUP", &bad_msgid));
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.submit(job).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    let failed: Vec<usize> = (0..outcomes.len())
        .filter(|n| outcomes[*n].is_err())
        .collect();
    assert_eq!(failed, [GOOD / 2], "only the bad job fails: {outcomes:?}");
    let runs = appender.runs.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        runs > 1 + outcomes.len(),
        "the jobs batched with the bad one ran again ({runs} runs)"
    );
    let mut conn = store.pool().acquire().await.unwrap();
    let report = verify(&mut conn).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.entries, 1 + GOOD + 1);
    let stored = entries::entries(&mut conn, &EntryFilter::default())
        .await
        .unwrap();
    for n in 1..=GOOD {
        let msgid = format!("MSG{n}");
        let times = stored.iter().filter(|e| e.header.msgid == msgid).count();
        assert_eq!(times, 1, "{msgid} is stored once");
    }
    let duplicate = stored.iter().find(|e| e.header.msgid == bad_msgid);
    assert_eq!(duplicate.map(|e| e.header.setl_id.as_str()), Some("SDUP"));
}

#[tokio::test]
async fn bad_job_fails_alone_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    // A settlement id already stored: the primary key refuses it at commit.
    let bad = (record("S0", "MSGBAD", 0, 100_000), message("MSGBAD", "S0"));
    bad_job_fails_alone(store, bad).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn bad_job_fails_alone_postgres() {
    let (store, schema) = fresh_pg("badjob").await;
    // PostgreSQL refuses a NUL character in text.
    let bad = (
        record("S\u{0}BAD", "MSGBAD", 0, 100_000),
        message("MSGBAD", "S\u{0}BAD"),
    );
    bad_job_fails_alone(store.clone(), bad).await;
    drop_pg(store, &schema).await;
}

/// A database that a newer yibao has migrated (a migration this binary lacks is recorded) is
/// refused at opening, naming both schema versions.
async fn newer_schema_is_refused(store: Store, reopen: &str) {
    let newer = yibao_ledger::schema_version() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from a newer yibao', TRUE, $2, 0)",
    )
    .bind(newer)
    .bind(vec![0_u8; 48])
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    let error = Store::open(reopen).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            error,
            LedgerError::SchemaNewer { database_version, binary_version }
                if database_version == newer && binary_version == newer - 1
        ),
        "{error:?}"
    );
    assert!(
        message.contains(&format!("version {newer}"))
            && message.contains(&format!("schema version {}", newer - 1)),
        "{message}"
    );
}

#[tokio::test]
async fn newer_schema_is_refused_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    let url = format!("sqlite://{}?mode=rw", dir.join("yibao.db").display());
    newer_schema_is_refused(store, &url).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn newer_schema_is_refused_postgres() {
    let (store, schema) = fresh_pg("newer").await;
    newer_schema_is_refused(store.clone(), &pg_url(&schema)).await;
    drop_pg(store, &schema).await;
}

/// One remote settlement of `insutype` made in `month`, paid by two funds.
fn remote_settlement(
    id: &str,
    insutype: &str,
    month: u8,
    fund_fen: i64,
) -> yibao_clearing::SettlementRow {
    use yibao_clearing::{FundPayment, Month, PairKey, SettlementRow};
    let fund = |code: &str, amount| FundPayment {
        fund_pay_type: Code::lit(code),
        amount: Fen(amount),
    };
    SettlementRow {
        setl_id: id.into(),
        key: PairKey {
            insured_admdvs: Code::lit("360400"),
            treating_admdvs: Code::lit("360100"),
            insutype: Code::lit(insutype),
        },
        fixmedins_code: "H36010200001".into(),
        made_in: Month { year: 2026, month },
        cancels: None,
        medfee_sumamt: Fen(fund_fen * 2),
        fund_payments: vec![
            fund(&format!("{insutype}100"), fund_fen - fund_fen / 3),
            fund(&format!("{insutype}200"), fund_fen / 3),
        ],
        confirmation: yibao_clearing::Confirmation::NotRequired,
        late_cycle: None,
    }
}

/// The clearing postings of a batch, summed per flow.
async fn clearing_batch(store: &Store, batch: &str) -> Vec<(String, i64)> {
    use sqlx::Row;
    let mut conn = store.pool().acquire().await.unwrap();
    let rows = sqlx::query(
        "SELECT flow, CAST(SUM(amount) AS BIGINT) AS amount FROM book_postings WHERE batch = $1 GROUP BY flow ORDER BY flow",
    )
    .bind(batch.to_string())
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.iter()
        .map(|r| (r.get::<String, _>("flow"), r.get::<i64, _>("amount")))
        .collect()
}

/// Clearing in the books: a row stored as the previous yibao stored it (no fund shares: gross
/// postings only, nothing on its moves) and rows with shares — one paid, one rejected — verify with
/// no problem; the paid row's payable is discharged to the fen, the rejected row's postings are
/// undone; a transfer taken away is found.
async fn clearing_books_verify(store: Store) {
    use yibao_clearing::{clear_month, ClearingPolicy, ClearingState, Month, MonthInputs};
    use yibao_ledger::clearing::{self, clearing_id};
    use yibao_ledger::clearing_books::{self, batch_of, transition_batch_of};
    for (admdvs, source) in [
        ("360400", include_str!("../../../policies/jiujiang.toml")),
        ("360100", include_str!("../../../policies/nanchang.toml")),
    ] {
        registry::put_document(&store, registry::Document::Policy, admdvs, source, "t")
            .await
            .unwrap();
    }
    let mut conn = store.pool().acquire().await.unwrap();
    let regions = clearing_run::pooling_regions(&mut conn).await.unwrap();
    drop(conn);
    let policy =
        ClearingPolicy::parse(include_str!("../../../policies/clearing/jiangxi.toml")).unwrap();
    let (feb, march) = (
        Month {
            year: 2026,
            month: 2,
        },
        Month {
            year: 2026,
            month: 3,
        },
    );
    let inputs = |month: Month| MonthInputs {
        rows: vec![
            remote_settlement("S1", "390", 2, 700_001),
            remote_settlement("S2", "310", 3, 123_457),
            remote_settlement("S3", "390", 3, 399_999),
        ],
        deductions: [(
            remote_settlement("S3", "390", 3, 0).key,
            yibao_clearing::ReviewDeductions {
                audit: Fen(1_001),
                inspection: Fen(333),
            },
        )]
        .into_iter()
        .filter(|_| month == march)
        .collect(),
        prepayments: [(
            remote_settlement("S1", "390", 2, 0).key,
            yibao_clearing::PrepaymentHistory {
                balance: Fen(0),
                basis_fund_owed: Fen(1_200_000),
            },
        )]
        .into_iter()
        .filter(|_| month == feb)
        .collect(),
    };
    let mut old = clear_month(&policy, feb, &inputs(feb)).unwrap();
    old[0].fund_shares = None;
    clearing::store_rows(&store, &old, &regions, "t")
        .await
        .unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let history = clearing::prepayment_histories(&mut conn, march, 12)
        .await
        .unwrap();
    drop(conn);
    let rows = clear_month(
        &policy,
        march,
        &MonthInputs {
            prepayments: history,
            ..inputs(march)
        },
    )
    .unwrap();
    clearing::store_rows(&store, &rows, &regions, "t")
        .await
        .unwrap();
    let ids: Vec<String> = old
        .iter()
        .chain(&rows)
        .map(|r| clearing_id(r.month, &r.key))
        .collect();
    let (old_id, rejected_id, paid_id) = (&ids[0], &ids[1], &ids[2]);
    let forward = [
        ClearingState::Accepted,
        ClearingState::UnderReview,
        ClearingState::Reviewed,
        ClearingState::Cleared,
        ClearingState::Paid,
    ];
    for id in [old_id, paid_id] {
        for to in forward {
            clearing::advance(&store, id, to, "x", "2026-04-10 09:00:00")
                .await
                .unwrap();
        }
    }
    let undated = clearing::advance(&store, rejected_id, ClearingState::Rejected, "x", "t").await;
    assert!(
        undated.is_err(),
        "a move that posts needs a date: {undated:?}"
    );
    clearing::advance(
        &store,
        rejected_id,
        ClearingState::Rejected,
        "x",
        "2026-04-11 09:00:00",
    )
    .await
    .unwrap();

    let paid = transition_batch_of(paid_id, ClearingState::Paid).unwrap();
    assert!(clearing_batch(
        &store,
        &transition_batch_of(old_id, ClearingState::Paid).unwrap()
    )
    .await
    .is_empty());
    let old_flows: Vec<String> = clearing_batch(&store, &batch_of(old_id))
        .await
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        old_flows,
        [
            "clearing_owed_to_hospitals",
            "clearing_payable",
            "clearing_receivable"
        ]
    );
    let march_row = &rows[1];
    let stored = clearing_batch(&store, &batch_of(paid_id)).await;
    let transfer = clearing_batch(&store, &paid).await;
    let amount = |batch: &[(String, i64)], flow: &str| {
        batch.iter().find(|(f, _)| f == flow).map_or(0, |(_, a)| *a)
    };
    let d = march_row.deductions;
    assert_eq!(amount(&stored, "clearing_payable"), march_row.fund_owed.0);
    assert_eq!(amount(&stored, "clearing_payable_audit"), d.audit.0);
    assert_eq!(
        amount(&stored, "clearing_receivable_inspection"),
        d.inspection.0
    );
    assert_eq!(
        amount(&stored, "clearing_payable_prepayment_offset"),
        d.prepayment_offset.0
    );
    assert_eq!(
        amount(&stored, "clearing_prepayment_paid_in"),
        march_row.prepayment.top_up.0
    );
    assert!(
        d.prepayment_offset > Fen(0) && march_row.prepayment.top_up > Fen(0),
        "{march_row:?}"
    );
    let outstanding = amount(&stored, "clearing_payable")
        - amount(&stored, "clearing_payable_audit")
        - amount(&stored, "clearing_payable_inspection")
        - amount(&stored, "clearing_payable_prepayment_offset")
        - amount(&stored, "clearing_payable_reserve_withheld")
        - amount(&transfer, "clearing_payable_settled");
    assert_eq!(outstanding, d.reserve_withheld.0);
    assert_eq!(
        amount(&transfer, "clearing_receivable_collected"),
        march_row.cleared.0
    );
    assert_eq!(
        amount(&transfer, "clearing_paid_to_hospitals"),
        (march_row.cleared + d.prepayment_offset).0
    );
    let rejected = clearing_batch(&store, &batch_of(rejected_id)).await;
    let undone = clearing_batch(
        &store,
        &transition_batch_of(rejected_id, ClearingState::Rejected).unwrap(),
    )
    .await;
    assert!(!rejected.is_empty());
    assert_eq!(
        undone,
        rejected
            .iter()
            .map(|(f, a)| (f.clone(), -a))
            .collect::<Vec<_>>()
    );

    let mut conn = store.pool().acquire().await.unwrap();
    let mut problems = Vec::new();
    clearing_books::check(&mut conn, &regions, &mut problems)
        .await
        .unwrap();
    assert_eq!(problems, Vec::<String>::new());
    let report = verify(&mut conn).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    sqlx::query("DELETE FROM book_postings WHERE batch = $1")
        .bind(paid.clone())
        .execute(&mut *conn)
        .await
        .unwrap();
    clearing_books::check(&mut conn, &regions, &mut problems)
        .await
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains(&paid), "{problems:?}");
}

#[tokio::test]
async fn clearing_books_verify_sqlite() {
    let (store, dir) = fresh_sqlite().await;
    clearing_books_verify(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn clearing_books_verify_postgres() {
    let (store, schema) = fresh_pg("clearingbooks").await;
    clearing_books_verify(store.clone()).await;
    drop_pg(store, &schema).await;
}
