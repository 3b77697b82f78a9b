//! Seeded simulation of the write pipeline (group commit) on SQLite and PostgreSQL.
//!
//! A seed drives everything the test decides: the jobs (settlements that post amounts to the
//! accumulators and the personal account, each after uploading the fee line it consumes,
//! cancellations, which release it, jobs whose writes the database refuses,
//! client retries of unanswered or failed messages and repeats of answered ones), their order, how
//! they arrive (groups submitted at once), `max_batch`, injected commit faults (a refusal or a
//! database failure before or after the commit statement) and a crash at the n-th occurrence of a
//! pipeline step: from then on every pipeline task stops at its next step, and the whole runtime
//! (writer, committer, connections, writer lock) is dropped, as if the process had died. A new
//! writer is then started on the same database (several lives per seed, the last one without faults
//! until every message is answered).
//!
//! Checked at the start of every life, after the crash of the one before, and at the end:
//! * `verify` passes (totals, balances and replies re-derived from the stored ledger);
//! * every acknowledged message is stored exactly once, with the effect its reply named, every
//!   unacknowledged one at most once, and a message answered without success is not stored;
//! * the (re)started writer's view of every accumulator and account equals the sums re-derived from
//!   the stored postings and settlements (also at the end of each life, with a warm cache);
//! * no pipeline task stopped unexpectedly (its debug assertions hold).
//!
//! The seed fixes the test's decisions; the database's own threads may still interleave with the
//! pipeline differently from run to run (which batches share a commit), so a seed reproduces the
//! scenario, and nearly always the exact run. A failure prints its seed; `YIBAO_SIM_SEED=<seed>`
//! runs that seed alone, `YIBAO_SIM_SEEDS` / `YIBAO_SIM_PG_SEEDS` set how many seeds run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::{AnyConnection, Connection, Row};
use yibao_domain::codes::{ClrType, ClrWay, Gend, Insutype, MedType, PsnType};
use yibao_domain::{Code, Fen, LineAmounts};
use yibao_ledger::entries::{self, EntryFilter, StoredMessage};
use yibao_ledger::verify::verify;
use yibao_ledger::*;
use yibao_settlement::{AccKey, FundRow, Payer, Posting};

mod support;
use support::upload_consumed_lines;

/// Seeds run on SQLite by default.
const SQLITE_SEEDS: u64 = 2_000;
/// Seeds run on PostgreSQL by default (each creates a schema).
const POSTGRES_SEEDS: u64 = 25;
/// Lives per seed that may crash or see faults; one clean life follows.
const CHAOTIC_LIVES: usize = 2;
const CODE: &str = "H36040200001";
const INSUTYPE: &str = "310";
const YEAR: i64 = 2026;
const PERSONS: usize = 3;
const OPENING_BALC_FEN: i64 = 20_000;
/// The settlement id stored at setup; a job reusing it is refused by the primary key.
const SEED_SETL_ID: &str = "SEED";
/// How long a restarted writer waits for its predecessor's lock (a PostgreSQL session ends a
/// moment after its connection is dropped).
const LOCK_WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The jobs and their handler

#[derive(Debug, Clone)]
struct Job {
    msgid: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// A settlement of `amount_fen`, `acct_fen` of it (at most) paid from the personal account.
    Settle {
        psn: usize,
        amount_fen: i64,
        acct_fen: i64,
    },
    /// Cancels the settlement stored by message `original`.
    Cancel { original: String },
    /// A settlement reusing a stored settlement id: the database refuses it at commit.
    Refused,
    /// Reads the writer's view of every accumulator and account (no writes, no message).
    Snapshot,
}

/// Accumulators and accounts: `"<psn_no> <acc_key>"` or `"<psn_no> account"` → amount.
type State = BTreeMap<String, i64>;

#[derive(Debug, Clone, PartialEq)]
enum Reply {
    /// Stored, with its settlement id.
    Stored(String),
    /// A repeated message: the settlement id its stored reply names.
    Replayed(String),
    /// Refused by the job itself (nothing to cancel, cancelled already).
    Rejected(String),
    /// Not stored: the storage failed.
    StorageFailure(String),
    Snapshot(State),
}

impl Reply {
    /// The settlement id of an acknowledged message.
    fn acknowledged(&self) -> Option<&str> {
        match self {
            Reply::Stored(id) | Reply::Replayed(id) => Some(id),
            _ => None,
        }
    }
}

struct Sim;

impl WriteHandler for Sim {
    type Job = Job;
    type Output = Reply;

    fn message_key(&self, job: &Job) -> Option<(String, String)> {
        (!matches!(job.kind, Kind::Snapshot)).then(|| (CODE.to_string(), job.msgid.clone()))
    }

    async fn handle(&self, ledger: &mut LedgerView<'_>, job: &Job) -> (Decision, Reply) {
        match run_job(ledger, job).await {
            Ok(done) => done,
            Err(error) => (Decision::Rollback, Reply::Rejected(error.to_string())),
        }
    }

    fn storage_failure(&self, error: &LedgerError) -> Reply {
        Reply::StorageFailure(error.to_string())
    }
}

fn psn_no(psn: usize) -> String {
    format!("P{psn}")
}

async fn run_job(ledger: &mut LedgerView<'_>, job: &Job) -> Result<(Decision, Reply), LedgerError> {
    if matches!(job.kind, Kind::Snapshot) {
        return Ok((
            Decision::Rollback,
            Reply::Snapshot(view_state(ledger).await?),
        ));
    }
    if let Some(stored) = ledger.stored_message(CODE, &job.msgid).await? {
        return Ok((Decision::Rollback, Reply::Replayed(stored.effect_ref)));
    }
    let record = match &job.kind {
        Kind::Settle {
            psn,
            amount_fen,
            acct_fen,
        } => settle(ledger, &job.msgid, *psn, *amount_fen, *acct_fen).await?,
        Kind::Cancel { original } => match cancel(ledger, &job.msgid, original).await? {
            Some(record) => record,
            None => {
                return Ok((
                    Decision::Rollback,
                    Reply::Rejected("nothing to cancel".into()),
                ))
            }
        },
        Kind::Refused => {
            let balc = Fen(OPENING_BALC_FEN) - ledger.account_paid(&psn_no(0), INSUTYPE).await?;
            settlement(SEED_SETL_ID, &job.msgid, 0, 1_000, 0, balc)
        }
        Kind::Snapshot => unreachable!("answered above"),
    };
    let setl_id = record.header.setl_id.clone();
    if record.header.kind == EntryKind::Settle {
        upload_consumed_lines(ledger, &record).await?;
    }
    ledger.append_settlement(record).await?;
    ledger
        .store_message(StoredMessage {
            fixmedins_code: CODE.into(),
            msgid: job.msgid.clone(),
            infno: "2207".into(),
            effect_ref: setl_id.clone(),
            reply: format!("stored {setl_id}"),
            created_at: "2026-03-01 10:00:00".into(),
            request_digest: String::new(),
        })
        .await?;
    Ok((Decision::Commit, Reply::Stored(setl_id)))
}

async fn settle(
    ledger: &mut LedgerView<'_>,
    msgid: &str,
    psn: usize,
    amount_fen: i64,
    acct_fen: i64,
) -> Result<SettlementRecord, LedgerError> {
    let setl_id = format!("S{}", ledger.next_id("sim_setl").await?);
    let balance = Fen(OPENING_BALC_FEN) - ledger.account_paid(&psn_no(psn), INSUTYPE).await?;
    let acct = acct_fen.min(balance.fen()).min(amount_fen / 2).max(0);
    Ok(settlement(
        &setl_id,
        msgid,
        psn,
        amount_fen,
        acct,
        balance - Fen(acct),
    ))
}

async fn cancel(
    ledger: &mut LedgerView<'_>,
    msgid: &str,
    original: &str,
) -> Result<Option<SettlementRecord>, LedgerError> {
    let Some(stored) = ledger.stored_message(CODE, original).await? else {
        return Ok(None);
    };
    let Some(settled) = ledger.settlement(&stored.effect_ref).await? else {
        return Ok(None);
    };
    let h = &settled.header;
    let paid = ledger.account_paid(&h.psn_no, INSUTYPE).await?;
    let header = SettlementHeader {
        setl_id: format!("S{}", ledger.next_id("sim_setl").await?),
        kind: EntryKind::Cancel,
        orig_setl_id: Some(h.setl_id.clone()),
        infno: Code::lit("2208"),
        msgid: msgid.into(),
        balc: Fen(OPENING_BALC_FEN) - paid + settled.amounts.acct_pay,
        ..h.clone()
    };
    Ok(Some(settled.negated(header)))
}

/// A settlement of `amount_fen` that meets every identity `verify` checks.
fn settlement(
    setl_id: &str,
    msgid: &str,
    psn: usize,
    amount_fen: i64,
    acct_fen: i64,
    balc: Fen,
) -> SettlementRecord {
    let own = amount_fen / 10;
    let fund = amount_fen / 2;
    let person = amount_fen - fund;
    let amounts = SetlAmounts {
        medfee_sumamt: Fen(amount_fen),
        fulamt_ownpay_amt: Fen(own),
        inscp_scp_amt: Fen(amount_fen - own),
        hifp_pay: Fen(fund),
        fund_pay_sumamt: Fen(fund),
        psn_part_amt: Fen(person),
        acct_pay: Fen(acct_fen),
        psn_cash_pay: Fen(person - acct_fen),
        ..SetlAmounts::default()
    };
    let fund_row = |code: &str, payer: Payer, amount: i64| StoredFundRow {
        row: FundRow {
            fund_pay_type: Code::lit(code),
            payer,
            inscp_scp_amt: Fen(0),
            crt_payb_lmt_amt: None,
            fund_payamt: Fen(amount),
        },
        fund_pay_type_name: code.into(),
        setl_proc_info: String::new(),
    };
    SettlementRecord {
        header: SettlementHeader {
            setl_id: setl_id.into(),
            kind: EntryKind::Settle,
            orig_setl_id: None,
            infno: Code::lit("2207"),
            msgid: msgid.into(),
            fixmedins_code: CODE.into(),
            mdtrt_id: format!("M{msgid}"),
            psn_no: psn_no(psn),
            insutype: Insutype::from_code(Code::lit(INSUTYPE)),
            year: YEAR,
            med_type: MedType::Outpatient,
            mid_setl_flag: false,
            setl_time: chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                .and_then(|day| day.and_hms_opt(10, 0, 0))
                .unwrap(),
            clr_type: ClrType::Outpatient,
            clr_way: ClrWay::ByItem,
            clr_optins: Code::lit("360400"),
            mdtrtarea_admvs: Code::lit("360402"),
            balc,
        },
        amounts,
        funds: vec![
            fund_row("310100", Payer::Fund, fund),
            fund_row("310200", Payer::PersonalAccount, acct_fen),
        ],
        lines: vec![LineRow {
            feedetl_sn: "1".into(),
            amounts: LineAmounts {
                det_item_fee_sumamt: Fen(amount_fen),
                fulamt_ownpay_amt: Fen(own),
                overlmt_amt: Fen(0),
                preselfpay_amt: Fen(0),
                inscp_scp_amt: Fen(amount_fen - own),
            },
        }],
        postings: vec![
            Posting {
                key: AccKey::MedicalExpense,
                amount: amount_fen,
            },
            Posting {
                key: AccKey::FundPaid(Code::lit("310100")),
                amount: fund,
            },
        ],
    }
}

/// The writer's view of every accumulator and account.
async fn view_state(ledger: &mut LedgerView<'_>) -> Result<State, LedgerError> {
    let mut state = State::new();
    for psn in 0..PERSONS {
        let psn_no = psn_no(psn);
        for posting in ledger.year_to_date(&psn_no, INSUTYPE, YEAR).await? {
            state.insert(format!("{psn_no} {}", posting.key), posting.amount);
        }
        let paid = ledger.account_paid(&psn_no, INSUTYPE).await?;
        state.insert(format!("{psn_no} account"), paid.fen());
    }
    Ok(state)
}

/// The same, re-derived from the stored postings and settlements (not the materialised totals).
async fn derived_state(conn: &mut AnyConnection) -> Result<State, LedgerError> {
    let mut state = State::new();
    for psn in 0..PERSONS {
        state.insert(format!("{} account", psn_no(psn)), 0);
    }
    let postings = sqlx::query(
        "SELECT psn_no, acc_key, CAST(SUM(amount) AS BIGINT) AS total FROM postings \
         WHERE insutype = $1 AND year = $2 GROUP BY psn_no, acc_key",
    )
    .bind(INSUTYPE)
    .bind(YEAR)
    .fetch_all(&mut *conn)
    .await?;
    for row in &postings {
        let key = format!(
            "{} {}",
            row.try_get::<String, _>("psn_no")?,
            row.try_get::<String, _>("acc_key")?
        );
        state.insert(key, row.try_get("total")?);
    }
    let accounts = sqlx::query(
        "SELECT psn_no, CAST(SUM(acct_pay) AS BIGINT) AS paid FROM settlements \
         WHERE insutype = $1 GROUP BY psn_no",
    )
    .bind(INSUTYPE)
    .fetch_all(&mut *conn)
    .await?;
    for row in &accounts {
        let key = format!("{} account", row.try_get::<String, _>("psn_no")?);
        state.insert(key, row.try_get("paid")?);
    }
    Ok(state)
}

// ---------------------------------------------------------------------------------------------
// Faults and crashes

const STEPS: [PipelineStep; 5] = [
    PipelineStep::BatchTaken,
    PipelineStep::BatchExecuted,
    PipelineStep::BeforeCommit,
    PipelineStep::AfterCommit,
    PipelineStep::Published,
];

/// What the seeds exercised.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    lives: u64,
    crashes: u64,
    refusals_injected: u64,
    failures_injected: u64,
    submissions: u64,
    acknowledged: u64,
    storage_failures: u64,
    unanswered: u64,
}

impl Stats {
    fn add(&mut self, other: Stats) {
        self.lives += other.lives;
        self.crashes += other.crashes;
        self.refusals_injected += other.refusals_injected;
        self.failures_injected += other.failures_injected;
        self.submissions += other.submissions;
        self.acknowledged += other.acknowledged;
        self.storage_failures += other.storage_failures;
        self.unanswered += other.unanswered;
    }

    fn count(&mut self, submissions: &[Submission]) {
        for s in submissions {
            self.submissions += 1;
            match &s.reply {
                None => self.unanswered += 1,
                Some(Reply::StorageFailure(_)) => self.storage_failures += 1,
                Some(reply) if reply.acknowledged().is_some() => self.acknowledged += 1,
                Some(_) => {}
            }
        }
    }
}

/// The seed's faults for one life: commit faults at a rate, and a crash at the n-th occurrence of
/// a step, after which every pipeline task halts at its next step.
struct Chaos {
    rng: Mutex<ChaCha8Rng>,
    armed: AtomicBool,
    fault_per_mille: u32,
    crash_at: Option<(PipelineStep, u32)>,
    seen: Mutex<BTreeMap<PipelineStep, u32>>,
    halted: AtomicBool,
    halt: tokio::sync::Notify,
    /// Refusals and failures injected.
    injected: Mutex<(u64, u64)>,
}

impl FaultHook for Chaos {
    fn at(&self, step: PipelineStep) -> Fault {
        if self.halted.load(Ordering::SeqCst) {
            return Fault::Halt;
        }
        if !self.armed.load(Ordering::SeqCst) {
            return Fault::Proceed;
        }
        let occurrence = {
            let mut seen = self.seen.lock().unwrap();
            let count = seen.entry(step).or_default();
            *count += 1;
            *count
        };
        if self.crash_at == Some((step, occurrence)) {
            self.halted.store(true, Ordering::SeqCst);
            self.halt.notify_one();
            return Fault::Halt;
        }
        if matches!(step, PipelineStep::BeforeCommit | PipelineStep::AfterCommit) {
            let mut rng = self.rng.lock().unwrap();
            if rng.gen_range(0..1000) < self.fault_per_mille {
                let refuse = rng.gen_bool(0.5);
                let mut injected = self.injected.lock().unwrap();
                return if refuse {
                    injected.0 += 1;
                    Fault::Refuse
                } else {
                    injected.1 += 1;
                    Fault::Fail
                };
            }
        }
        Fault::Proceed
    }
}

// ---------------------------------------------------------------------------------------------
// Databases

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One seed's database.
struct Database {
    url: String,
    /// The scratch directory (SQLite) or schema (PostgreSQL), removed when the seed passes.
    place: String,
    backend: Backend,
}

fn pg_base_url() -> String {
    std::env::var("YIBAO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A directory on a RAM disk when there is one (commits are synchronous, which a disk makes slow).
fn scratch_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("yibao-sim-{}", std::process::id()))
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("yibao.db").display())
}

/// Registers the persons and stores the settlement a refused job reuses.
async fn prepare(store: &Store) {
    let persons: Vec<Person> = (0..PERSONS).map(person).collect();
    let import = registry::PersonImport {
        persons,
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    };
    registry::upsert_persons(store, &import).await.unwrap();
    let writer = GroupCommit::start(store.lock_writer().await.unwrap(), Arc::new(Seeder), 1);
    writer.submit(()).await.unwrap();
    let stopped = writer.stopped();
    drop(writer);
    stopped.wait().await;
}

/// Stores the settlement [`SEED_SETL_ID`].
struct Seeder;

impl WriteHandler for Seeder {
    type Job = ();
    type Output = ();

    fn message_key(&self, _: &()) -> Option<(String, String)> {
        None
    }

    async fn handle(&self, ledger: &mut LedgerView<'_>, _: &()) -> (Decision, ()) {
        let record = settlement(SEED_SETL_ID, "SEEDMSG", 0, 1_000, 0, Fen(OPENING_BALC_FEN));
        upload_consumed_lines(ledger, &record).await.unwrap();
        ledger.append_settlement(record).await.unwrap();
        ledger
            .store_message(StoredMessage {
                fixmedins_code: CODE.into(),
                msgid: "SEEDMSG".into(),
                infno: "2207".into(),
                effect_ref: SEED_SETL_ID.into(),
                reply: format!("stored {SEED_SETL_ID}"),
                created_at: "2026-03-01 10:00:00".into(),
                request_digest: String::new(),
            })
            .await
            .unwrap();
        (Decision::Commit, ())
    }

    fn storage_failure(&self, error: &LedgerError) {
        panic!("seeding failed: {error}");
    }
}

fn person(psn: usize) -> Person {
    Person {
        psn_no: psn_no(psn),
        psn_cert_type: Code::lit("01"),
        certno: format!("36040219900101{psn:04}"),
        psn_name: format!("模拟{psn}"),
        gend: Gend::Male,
        brdy: chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        insu: vec![InsuRow {
            insutype: Insutype::from_code(Code::lit(INSUTYPE)),
            psn_type: PsnType::InService,
            psn_insu_stas: InsuStatus::Normal,
            psn_insu_date: chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap(),
            insu_endtime: None,
            benefit_begndate: Some(chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap()),
            insuplc_admdvs: Code::lit("360400"),
            cvlserv_flag: false,
            opening_balc: Fen(OPENING_BALC_FEN),
        }],
        idet: Vec::new(),
    }
}

/// A migrated and prepared SQLite database, copied for every seed.
fn sqlite_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = scratch_root().join("template");
        std::fs::create_dir_all(&dir).unwrap();
        runtime().block_on(async {
            let store = Store::open(&sqlite_url(&dir)).await.unwrap();
            prepare(&store).await;
            // Everything into the database file before it is copied: a connection still closing
            // could keep the write-ahead log from being checkpointed at close.
            let mut conn = store.pool().acquire().await.unwrap();
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await
                .unwrap();
            drop(conn);
            store.close().await;
        });
        dir.join("yibao.db")
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn fresh_database(backend: Backend, seed: u64) -> Database {
    match backend {
        Backend::Sqlite => {
            let template = sqlite_template();
            let dir = scratch_root().join(format!("seed-{seed}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(template, dir.join("yibao.db")).unwrap();
            Database {
                url: sqlite_url(&dir),
                place: dir.display().to_string(),
                backend,
            }
        }
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let schema = format!("sim_{}_{seed}", std::process::id());
            let sep = if pg_base_url().contains('?') {
                '&'
            } else {
                '?'
            };
            let url = format!("{}{sep}options=-c%20search_path%3D{schema}", pg_base_url());
            runtime().block_on(async {
                let mut admin = AnyConnection::connect(&pg_base_url()).await.unwrap();
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let store = Store::open(&url).await.unwrap();
                prepare(&store).await;
                store.close().await;
            });
            Database {
                url,
                place: schema,
                backend,
            }
        }
    }
}

impl Database {
    fn remove(self) {
        match self.backend {
            Backend::Sqlite => {
                let _ = std::fs::remove_dir_all(&self.place);
            }
            Backend::Postgres => runtime().block_on(async {
                let mut admin = AnyConnection::connect(&pg_base_url()).await.unwrap();
                let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.place))
                    .execute(&mut admin)
                    .await;
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One seed

/// A message as submitted once, and its reply (`None`: none before the crash).
#[derive(Debug)]
struct Submission {
    job: Job,
    reply: Option<Reply>,
}

/// One life's plan.
struct Life {
    max_batch: usize,
    /// Sizes of the groups of jobs submitted at once.
    group_sizes: Vec<usize>,
    fault_per_mille: u32,
    crash_at: Option<(PipelineStep, u32)>,
}

fn plan_life(rng: &mut ChaCha8Rng, chaotic: bool) -> Life {
    let max_batch = *[1, 2, 3, 5, 8, 16].choose(rng).unwrap();
    let group_sizes = (0..rng.gen_range(2..6))
        .map(|_| rng.gen_range(1..10))
        .collect();
    let fault_per_mille = if chaotic {
        *[0, 50, 150, 300].choose(rng).unwrap()
    } else {
        0
    };
    let crash_at =
        (chaotic && rng.gen_bool(0.8)).then(|| (*STEPS.choose(rng).unwrap(), rng.gen_range(1..7)));
    Life {
        max_batch,
        group_sizes,
        fault_per_mille,
        crash_at,
    }
}

/// What the clients send in a life: new messages, retries of every message not acknowledged (not
/// answered, or answered with a storage failure) and repeats of some acknowledged ones, shuffled.
fn jobs_for_life(
    rng: &mut ChaCha8Rng,
    history: &[Submission],
    serial: &mut u32,
    count: usize,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    let outcome = message_outcomes(history);
    for (msgid, o) in &outcome {
        if o.acknowledged.is_none() && (o.unanswered || o.storage_failed) {
            jobs.push(o.job.clone());
        } else if o.acknowledged.is_some() && rng.gen_bool(0.1) {
            jobs.push(Job {
                msgid: msgid.clone(),
                kind: o.job.kind.clone(),
            });
        }
    }
    let stored: Vec<&String> = outcome
        .iter()
        .filter(|(_, o)| matches!(o.job.kind, Kind::Settle { .. }))
        .map(|(msgid, _)| msgid)
        .collect();
    for _ in 0..count {
        *serial += 1;
        let msgid = format!("MSG{serial:05}");
        let roll = rng.gen_range(0..100);
        let kind = if roll < 8 {
            Kind::Refused
        } else if roll < 25 && !stored.is_empty() {
            Kind::Cancel {
                original: (*stored.choose(rng).unwrap()).clone(),
            }
        } else {
            Kind::Settle {
                psn: rng.gen_range(0..PERSONS),
                amount_fen: rng.gen_range(1..200) * 100,
                acct_fen: rng.gen_range(0..3) * 2_500,
            }
        };
        jobs.push(Job { msgid, kind });
    }
    jobs.shuffle(rng);
    jobs
}

/// All submissions of one message.
struct MessageOutcome {
    job: Job,
    /// The settlement id an acknowledgement named.
    acknowledged: Option<String>,
    /// Acknowledgements naming a different settlement id than the first.
    conflicting: Vec<String>,
    unanswered: bool,
    storage_failed: bool,
}

fn message_outcomes(history: &[Submission]) -> BTreeMap<String, MessageOutcome> {
    let mut out: BTreeMap<String, MessageOutcome> = BTreeMap::new();
    for s in history {
        let o = out
            .entry(s.job.msgid.clone())
            .or_insert_with(|| MessageOutcome {
                job: s.job.clone(),
                acknowledged: None,
                conflicting: Vec::new(),
                unanswered: false,
                storage_failed: false,
            });
        match &s.reply {
            None => o.unanswered = true,
            Some(Reply::StorageFailure(_)) => o.storage_failed = true,
            Some(reply) => {
                if let Some(id) = reply.acknowledged() {
                    match &o.acknowledged {
                        None => o.acknowledged = Some(id.to_string()),
                        Some(first) if first != id => o.conflicting.push(id.to_string()),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    out
}

/// Checks the stored ledger against everything the clients were told (see the module docs).
async fn check_ledger(conn: &mut AnyConnection, history: &[Submission]) -> Result<(), String> {
    let report = verify(conn).await.map_err(|e| e.to_string())?;
    if !report.is_ok() {
        return Err(format!("verify: {:?}", report.problems));
    }
    let stored = entries::entries(conn, &EntryFilter::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut by_msgid: HashMap<&str, Vec<&str>> = HashMap::new();
    for entry in &stored {
        by_msgid
            .entry(entry.header.msgid.as_str())
            .or_default()
            .push(entry.header.setl_id.as_str());
    }
    for (msgid, o) in message_outcomes(history) {
        let found = by_msgid.get(msgid.as_str()).cloned().unwrap_or_default();
        if found.len() > 1 {
            return Err(format!(
                "{msgid} is stored {} times: {found:?}",
                found.len()
            ));
        }
        if !o.conflicting.is_empty() {
            return Err(format!(
                "{msgid} was acknowledged as {:?} and as {:?}",
                o.acknowledged, o.conflicting
            ));
        }
        match (&o.acknowledged, found.first()) {
            (Some(acked), Some(id)) if acked == id => {}
            (Some(acked), other) => {
                return Err(format!(
                    "{msgid} acknowledged as {acked} but stored as {other:?}"
                ));
            }
            (None, Some(id)) if !o.unanswered => {
                return Err(format!(
                    "{msgid} was never acknowledged but is stored as {id}"
                ));
            }
            (None, _) => {}
        }
    }
    Ok(())
}

/// Takes the writer lock, waiting for a crashed predecessor's to be released, then waits for any
/// transaction of its connections still writing (SQLite: they may outlive its runtime briefly).
async fn lock_when_free(store: &Store) -> WriterLock {
    let deadline = Instant::now() + LOCK_WAIT;
    let lock = loop {
        match store.lock_writer().await {
            Ok(lock) => break lock,
            Err(LedgerError::WriterLocked { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(error) => panic!("writer lock: {error}"),
        }
    };
    let mut conn = store.pool().acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("UPDATE id_counters SET value = value WHERE name = 'sim_barrier'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    lock
}

/// Asks the writer for its view and compares it with the stored postings.
async fn check_state(writer: &GroupCommit<Sim>, store: &Store, when: &str) -> Result<(), String> {
    let snapshot = Job {
        msgid: String::new(),
        kind: Kind::Snapshot,
    };
    let view = match writer.submit(snapshot).await {
        Ok(Reply::Snapshot(state)) => state,
        other => return Err(format!("snapshot {when}: {other:?}")),
    };
    let mut conn = store.pool().acquire().await.map_err(|e| e.to_string())?;
    let derived = derived_state(&mut conn).await.map_err(|e| e.to_string())?;
    if view != derived {
        return Err(format!(
            "the writer's state {when} differs from the postings:\n  writer  {view:?}\n  derived {derived:?}"
        ));
    }
    Ok(())
}

/// Runs one life on its own runtime, dropped at the end (also after a crash).
fn run_life(
    database: &Database,
    seed: u64,
    life: &Life,
    jobs: Vec<Job>,
    history: &[Submission],
    stats: &mut Stats,
) -> Result<Vec<Submission>, String> {
    let chaos = Arc::new(Chaos {
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fa17)),
        armed: AtomicBool::new(false),
        fault_per_mille: life.fault_per_mille,
        crash_at: life.crash_at,
        seen: Mutex::new(BTreeMap::new()),
        halted: AtomicBool::new(false),
        halt: tokio::sync::Notify::new(),
        injected: Mutex::new((0, 0)),
    });
    let rt = runtime();
    let result = rt.block_on(async {
        let store = Store::open(&database.url)
            .await
            .map_err(|e| e.to_string())?
            .with_fault_hook(Arc::clone(&chaos) as Arc<dyn FaultHook>);
        let lock = lock_when_free(&store).await;
        let restart = !history.is_empty();
        if restart {
            let mut conn = store.pool().acquire().await.map_err(|e| e.to_string())?;
            check_ledger(&mut conn, history)
                .await
                .map_err(|e| format!("after a restart: {e}"))?;
        }
        let writer = GroupCommit::start(lock, Arc::new(Sim), life.max_batch);
        if restart {
            check_state(&writer, &store, "after a restart").await?;
        }
        chaos.armed.store(true, Ordering::SeqCst);
        let submissions = submit_all(&writer, &chaos, life, jobs).await?;
        if !chaos.halted.load(Ordering::SeqCst) {
            chaos.armed.store(false, Ordering::SeqCst);
            check_state(&writer, &store, "at the end of a life").await?;
            let stopped = writer.stopped();
            drop(writer);
            stopped.wait().await;
            store.close().await;
        }
        Ok(submissions)
    });
    drop(rt);
    let (refusals, failures) = *chaos.injected.lock().unwrap();
    stats.lives += 1;
    stats.crashes += u64::from(chaos.halted.load(Ordering::SeqCst));
    stats.refusals_injected += refusals;
    stats.failures_injected += failures;
    if let Ok(submissions) = &result {
        stats.count(submissions);
    }
    result
}

/// Submits the jobs in groups (each group at once, the next once it is answered) until all are
/// answered or the pipeline halts (the jobs not yet submitted then never are).
async fn submit_all(
    writer: &GroupCommit<Sim>,
    chaos: &Chaos,
    life: &Life,
    jobs: Vec<Job>,
) -> Result<Vec<Submission>, String> {
    let mut submissions = Vec::new();
    let mut jobs = jobs.into_iter();
    for size in life.group_sizes.iter().cycle() {
        let group: Vec<Job> = jobs.by_ref().take(*size).collect();
        if group.is_empty() || chaos.halted.load(Ordering::SeqCst) {
            break;
        }
        let mut tasks: Vec<_> = group
            .iter()
            .map(|job| {
                let writer = writer.clone();
                let job = job.clone();
                tokio::spawn(async move { writer.submit(job).await })
            })
            .collect();
        let mut replies: Vec<Option<Result<Reply, LedgerError>>> =
            (0..tasks.len()).map(|_| None).collect();
        let all = async {
            for (task, reply) in tasks.iter_mut().zip(replies.iter_mut()) {
                *reply = Some(
                    task.await
                        .map_err(|_| LedgerError::WriterStopped)
                        .and_then(|r| r),
                );
            }
        };
        tokio::select! {
            () = all => {}
            () = chaos.halt.notified() => {}
        }
        for ((job, task), reply) in group.into_iter().zip(tasks).zip(replies) {
            task.abort();
            let reply = match reply {
                Some(Ok(reply)) => Some(reply),
                None => None,
                Some(Err(_)) if chaos.halted.load(Ordering::SeqCst) => None,
                Some(Err(error)) => {
                    return Err(format!("the writer stopped unexpectedly: {error}"))
                }
            };
            submissions.push(Submission { job, reply });
        }
    }
    Ok(submissions)
}

/// Runs one seed: chaotic lives, then a clean one in which every message must be acknowledged.
fn run_seed(backend: Backend, seed: u64) -> Result<Stats, String> {
    let mut stats = Stats::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let database = fresh_database(backend, seed);
    let mut history: Vec<Submission> = Vec::new();
    let mut serial = 0;
    for life_no in 0..=CHAOTIC_LIVES {
        let chaotic = life_no < CHAOTIC_LIVES;
        let life = plan_life(&mut rng, chaotic);
        let new_jobs = if chaotic { rng.gen_range(3..17) } else { 0 };
        let jobs = jobs_for_life(&mut rng, &history, &mut serial, new_jobs);
        let submissions = run_life(&database, seed, &life, jobs, &history, &mut stats)
            .map_err(|e| format!("life {life_no}: {e} (database kept: {})", database.place))?;
        history.extend(submissions);
    }
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&database.url)
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = store.pool().acquire().await.map_err(|e| e.to_string())?;
        check_ledger(&mut conn, &history)
            .await
            .map_err(|e| format!("at the end: {e} (database kept: {})", database.place))?;
        drop(conn);
        store.close().await;
        Ok::<_, String>(())
    })?;
    drop(rt);
    for (msgid, o) in message_outcomes(&history) {
        let must_settle = matches!(o.job.kind, Kind::Settle { .. });
        if must_settle && o.acknowledged.is_none() {
            return Err(format!(
                "{msgid} was never acknowledged, even in the clean life"
            ));
        }
    }
    database.remove();
    Ok(stats)
}

/// Runs seeds on a few threads; panics naming the first failing seed.
fn simulate(backend: Backend, default_seeds: u64, count_var: &str) {
    let seeds: Vec<u64> = match std::env::var("YIBAO_SIM_SEED") {
        Ok(one) => vec![one.parse().expect("YIBAO_SIM_SEED is a number")],
        Err(_) => {
            let count = std::env::var(count_var)
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(default_seeds);
            (0..count).collect()
        }
    };
    // A seed mostly waits for the database's threads, so a few run per core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() * 2);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failure: Mutex<Option<(u64, String)>> = Mutex::new(None);
    let total = Mutex::new(Stats::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(&seed) = seeds.get(index) else {
                    return;
                };
                if failure.lock().unwrap().is_some() {
                    return;
                }
                let outcome =
                    std::panic::catch_unwind(|| run_seed(backend, seed)).unwrap_or_else(|panic| {
                        let text = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        Err(format!("panicked: {text}"))
                    });
                match outcome {
                    Ok(stats) => total.lock().unwrap().add(stats),
                    Err(error) => {
                        let mut first = failure.lock().unwrap();
                        if first.is_none() {
                            *first = Some((seed, error));
                        }
                    }
                }
            });
        }
    });
    if let Some((seed, error)) = failure.into_inner().unwrap() {
        panic!(
            "simulation failed on {backend:?} for seed {seed}: {error}\n\
             reproduce: YIBAO_SIM_SEED={seed} cargo test -p yibao-ledger --test simulation {}",
            match backend {
                Backend::Sqlite => "simulate_sqlite",
                Backend::Postgres => "simulate_postgres",
            }
        );
    }
    println!(
        "{} seeds on {backend:?} in {:.1} s: {:?}",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        total.into_inner().unwrap()
    );
    if backend == Backend::Sqlite {
        let _ = std::fs::remove_dir_all(scratch_root());
    }
}

#[test]
fn simulate_sqlite() {
    simulate(Backend::Sqlite, SQLITE_SEEDS, "YIBAO_SIM_SEEDS");
}

#[test]
fn simulate_postgres() {
    simulate(Backend::Postgres, POSTGRES_SEEDS, "YIBAO_SIM_PG_SEEDS");
}
