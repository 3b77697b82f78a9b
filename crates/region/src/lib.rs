//! A pooling region end to end, on a store the settlement service runs on:
//!
//! 1. [`yibao_synth`] generates the region (persons, employers, institutions, catalogue, a year of
//!    visits);
//! 2. [`registry`]: institutions, persons (with their insured periods and benefit starts after the
//!    waiting periods `yibao-enrolment` computes), the benefit policy and the catalogue are
//!    registered through the service's import API, so the service's settlements honour them;
//! 3. [`collect`]: everyone is enrolled and the year's contributions are posted to the funds'
//!    books (`book_postings`), with the books policy's balances brought forward and allocations;
//! 4. [`replay`]: every visit is settled with the national message flows of [`yibao_his`], sent
//!    to [`yibao_server::service::Service::call`] in process ([`transport::InProcess`]);
//! 5. [`report`]: the fund report ([`yibao_books::Report`]) is built from the store, settlement
//!    expenditure read from the settlement ledger.
//!
//! 6. [`payment`] pays the budgeted institutions month by month and clears their year from the
//!    store (the demo's budgets from [`demo_budgets`]), posting the payments in the fund's books;
//!    the provider report ([`yibao_provider_payment::ProviderSummary`]) is read back.
//!
//! 7. [`cross_region`] (with [`RegionConfig::cross_region`]): the province's other pooling
//!    regions' hospitals (南昌) settle on the same platform, other provinces' hospitals on platforms
//!    of their own started on loopback as peers, and the year is cleared month by month.
//!
//! [`run`] does all of it; [`report::fund_report`] alone reads any store.

pub mod books_policy;
pub mod collect;
pub mod cross_region;
pub mod demo_budgets;
pub mod flows;
pub mod payment;
pub mod registry;
pub mod replay;
pub mod report;
pub mod transport;

use std::path::PathBuf;
use std::time::Instant;

use std::collections::BTreeMap;
use yibao_books::{Period, Report};
use yibao_enrolment::CollectionPolicy;

use chrono::NaiveDate;
use yibao_ledger::provider::{self, ClaimsMonth};
use yibao_ledger::{books, LedgerError, Store};
use yibao_provider_payment::{PaymentPolicy, ProviderSummary, MONTHS};
use yibao_server::config::Config;
use yibao_synth::{Progress, Summary, SynthConfig};

pub use books_policy::BooksPolicy;
pub use collect::Contributors;
pub use cross_region::{CrossRegionConfig, CrossRegionRun};
pub use demo_budgets::DemoBudgets;
pub use replay::Replayed;

/// The reference policies of 九江 (360400), as the repository holds them.
pub mod reference {
    /// Benefit policy (`policies/jiujiang.toml`).
    pub const BENEFIT_POLICY: &str = include_str!("../../../policies/jiujiang.toml");
    /// Collection policy (`policies/jiujiang-collection.toml`).
    pub const COLLECTION_POLICY: &str = include_str!("../../../policies/jiujiang-collection.toml");
    /// Books policy (`policies/jiujiang-books.toml`).
    pub const BOOKS_POLICY: &str = include_str!("../../../policies/jiujiang-books.toml");
    /// Payment policy of institutions (`policies/payment/jiujiang-budget.toml`).
    pub const PAYMENT_POLICY: &str = include_str!("../../../policies/payment/jiujiang-budget.toml");
    /// The demo region's budgets (`policies/payment/jiujiang-demo-budgets.toml`).
    pub const DEMO_BUDGETS: &str =
        include_str!("../../../policies/payment/jiujiang-demo-budgets.toml");
}

/// Why a region could not be built, settled or reported.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    #[error("{what}: {problem}")]
    Input { what: String, problem: String },
    #[error("stored {what}: {problem}")]
    Stored { what: String, problem: String },
    #[error("books policy, field `{field}`: {problem}")]
    BooksPolicy { field: String, problem: String },
    #[error("collection policy: {0}")]
    CollectionPolicy(String),
    #[error("stored benefit policy of {admdvs}: {problem}")]
    StoredPolicy { admdvs: String, problem: String },
    #[error("the store holds no benefit policy; import one first")]
    NoPolicy,
    #[error("contributions of person {psn_no}: {problem}")]
    Contribution { psn_no: String, problem: String },
    #[error("the store already holds book postings of batch `{0}`; use an empty database")]
    AlreadyPosted(String),
    #[error(transparent)]
    Synth(#[from] yibao_synth::SynthError),
    #[error(transparent)]
    Import(#[from] yibao_server::import::ImportError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Start(#[from] yibao_server::app::StartError),
    #[error(transparent)]
    Books(#[from] yibao_books::BooksError),
    #[error("payment policy: {0}")]
    PaymentPolicy(String),
    #[error(transparent)]
    Payment(#[from] payment::PaymentRunError),
}

/// Where the region is stored.
#[derive(Debug, Clone)]
pub enum Database {
    /// The embedded SQLite database under a directory.
    DataDir(PathBuf),
    /// `sqlite:…` or `postgres://…`.
    Url(String),
}

/// What to build and how to settle it.
#[derive(Debug, Clone)]
pub struct RegionConfig {
    /// The region to generate (its `out_dir` receives the generated files).
    pub synth: SynthConfig,
    pub database: Database,
    /// Benefit policy text (TOML).
    pub benefit_policy: String,
    pub collection_policy: String,
    pub books_policy: String,
    /// Payment policy of institutions (TOML).
    pub payment_policy: String,
    /// The budgets rule of the demo (TOML, [`demo_budgets`]).
    pub demo_budgets: String,
    /// Concurrent HIS clients of the replay.
    pub clients: usize,
    /// Most write jobs per durable commit of the ledger writer.
    pub max_batch: usize,
    /// Cross-region care ([`cross_region`]); none: every hospital on the home platform, no
    /// clearing.
    pub cross_region: Option<CrossRegionConfig>,
}

impl RegionConfig {
    /// The 九江 reference policies, `clients` concurrent clients, batches of up to 256 jobs.
    pub fn reference(synth: SynthConfig, database: Database, clients: usize) -> RegionConfig {
        RegionConfig {
            synth,
            database,
            benefit_policy: reference::BENEFIT_POLICY.to_string(),
            collection_policy: reference::COLLECTION_POLICY.to_string(),
            books_policy: reference::BOOKS_POLICY.to_string(),
            payment_policy: reference::PAYMENT_POLICY.to_string(),
            demo_budgets: reference::DEMO_BUDGETS.to_string(),
            clients,
            max_batch: Config::default().max_batch,
            cross_region: None,
        }
    }
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    pub generate: f64,
    pub register: f64,
    pub collect: f64,
    pub settle: f64,
    /// Paying the institutions month by month and clearing the year.
    pub pay: f64,
    /// The cross-region clearing of the months the replay settled in.
    pub clearing: f64,
    pub report: f64,
}

/// A region built, collected, settled and reported.
#[derive(Debug, Clone)]
pub struct RegionRun {
    pub generated: Summary,
    pub registered: registry::Registered,
    pub contributors: Contributors,
    pub replayed: Replayed,
    pub report: Report,
    /// The year's provider report: per institution × scheme, index, claims, paid, deferred, year-end.
    pub providers: Vec<ProviderSummary>,
    /// The year's cross-region care, when [`RegionConfig::cross_region`] asked for it.
    pub cross_region: Option<CrossRegionRun>,
    pub timings: Timings,
}

/// Book-posting batch of a year's collection.
pub fn collection_batch(year: i32) -> String {
    format!("collection-{year}")
}

/// Generates, registers, collects, settles and reports the region of `config`.
pub async fn run(
    config: &RegionConfig,
    progress: &mut dyn Progress,
) -> Result<RegionRun, RegionError> {
    let collection = CollectionPolicy::from_toml_str(&config.collection_policy)
        .map_err(|e| RegionError::CollectionPolicy(e.to_string()))?;
    let books_policy = BooksPolicy::from_toml_str(&config.books_policy)?;
    let payment_policy = PaymentPolicy::parse(&config.payment_policy)
        .map_err(|e| RegionError::PaymentPolicy(e.to_string()))?;
    let demo_budgets = DemoBudgets::from_toml_str(&config.demo_budgets)?;
    let store = open(&config.database).await?;
    let batch = collection_batch(config.synth.year);
    if books::batch_exists(&store, &batch).await? {
        return Err(RegionError::AlreadyPosted(batch));
    }
    let mut timings = Timings::default();
    let clock = Instant::now();
    let generated = yibao_synth::generate(&config.synth, progress)?;
    timings.generate = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let registered = register(&store, config, &collection, progress).await?;
    timings.register = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    progress.stage("contributions", 1);
    let collected = collect::collect(
        &config.synth.out_dir,
        config.synth.year,
        &collection,
        &books_policy,
    )?;
    let rows: Vec<books::BookRow> = collected.postings.iter().map(collect::stored).collect();
    books::insert_postings(&store, &batch, &rows).await?;
    progress.advance(1);
    timings.collect = clock.elapsed().as_secs_f64();

    let home_region = cross_region::policy_region(&config.benefit_policy)?;
    let replay_began = chrono::Local::now().date_naive();
    let (replayed, peers) = settle(config, &home_region, progress).await?;
    let settled_in = cross_region::months_between(replay_began, chrono::Local::now().date_naive());
    timings.settle = replayed.seconds;

    let clock = Instant::now();
    progress.stage("payment", MONTHS as u64 + 2);
    let providers = pay_the_year(
        &store,
        &payment_policy,
        &demo_budgets,
        config.synth.year,
        progress,
    )
    .await?;
    timings.pay = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let cross_region = match &config.cross_region {
        Some(cross) => Some(
            cross_region::clear_months(
                &store,
                cross,
                &home_region,
                &settled_in,
                &peers,
                &now_text(),
            )
            .await?,
        ),
        None => None,
    };
    timings.clearing = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let report = report::fund_report(&store, Period::Year(config.synth.year)).await?;
    timings.report = clock.elapsed().as_secs_f64();
    store.close().await;
    Ok(RegionRun {
        generated,
        registered,
        contributors: collected.contributors,
        replayed,
        report,
        providers,
        cross_region,
        timings,
    })
}

/// Settles every visit: on the home service alone, or — with cross-region care — on the home and
/// peer platforms listening on loopback, stopped afterwards (the peers' sites returned).
async fn settle(
    config: &RegionConfig,
    home_region: &str,
    progress: &mut dyn Progress,
) -> Result<(Replayed, Vec<cross_region::PeerSite>), RegionError> {
    let dir = &config.synth.out_dir;
    if config.cross_region.is_none() {
        let service = yibao_server::app::start_service(service_config(config)).await?;
        let destinations = replay::Destinations::new(service, home_region);
        let replayed = replay::settle_all(&destinations, dir, config.clients, progress).await?;
        return Ok((replayed, Vec::new()));
    }
    let platforms = cross_region::start_platforms(
        service_config(config),
        dir,
        &config.benefit_policy,
        &now_text(),
    )
    .await?;
    let destinations = platforms.destinations();
    let replayed = replay::settle_all(&destinations, dir, config.clients, progress).await;
    drop(destinations);
    let peers = platforms.stop().await;
    Ok((replayed?, peers))
}

/// Sets the demo's budgets from the year's claims, pays the twelve months in turn, each once it
/// is over, clears the year and returns the provider report. The year is replayed after the fact,
/// so its claims are dated by day of care ([`ClaimsMonth::Care`]), as the fund report dates them.
async fn pay_the_year(
    store: &Store,
    policy: &PaymentPolicy,
    demo_budgets: &DemoBudgets,
    year: i32,
    progress: &mut dyn Progress,
) -> Result<Vec<ProviderSummary>, RegionError> {
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let claims = provider::month_inputs_by(&mut conn, year, ClaimsMonth::Care)
        .await?
        .into_iter()
        .map(|(key, months)| (key, months.iter().map(|m| m.claims).sum()))
        .collect();
    drop(conn);
    let posted_at = now_text();
    let budgets = demo_budgets.budgets(year, &claims, policy.rounding);
    provider::upsert_budgets(store, &budgets, &posted_at).await?;
    progress.advance(1);
    for month in 1..=MONTHS as u32 {
        let over = month_after(year, month)?;
        let basis = ClaimsMonth::Care;
        payment::pay_month_by(store, policy, (year, month), over, &posted_at, basis).await?;
        progress.advance(1);
    }
    payment::clear(store, policy, year, &BTreeMap::new(), &posted_at).await?;
    progress.advance(1);
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    Ok(provider::summaries(&mut conn, year, None, None).await?)
}

/// The first day after `month` of `year`.
fn month_after(year: i32, month: u32) -> Result<NaiveDate, RegionError> {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1).ok_or_else(|| RegionError::Input {
        what: "year".into(),
        problem: format!("{year} has no month {month}"),
    })
}

fn now_text() -> String {
    chrono::Local::now()
        .naive_local()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Registers the generated region, stamped with the current time.
async fn register(
    store: &Store,
    config: &RegionConfig,
    collection: &CollectionPolicy,
    progress: &mut dyn Progress,
) -> Result<registry::Registered, RegionError> {
    progress.stage("registry", 1);
    let loaded_at = now_text();
    let registered = registry::load(
        store,
        &config.synth.out_dir,
        &config.benefit_policy,
        collection,
        config.synth.year,
        &loaded_at,
    )
    .await?;
    if let Some(cross) = &config.cross_region {
        cross_region::register_province(
            store,
            &config.synth.out_dir,
            &cross.province_policies,
            &loaded_at,
        )
        .await?;
    }
    progress.advance(1);
    Ok(registered)
}

/// Opens the region's store (applying the migrations).
pub async fn open(database: &Database) -> Result<Store, RegionError> {
    Ok(match database {
        Database::DataDir(dir) => Store::open_data_dir(dir).await?,
        Database::Url(url) => Store::open(url).await?,
    })
}

fn service_config(config: &RegionConfig) -> Config {
    let mut service = Config {
        max_batch: config.max_batch,
        ..Config::default()
    };
    match &config.database {
        Database::DataDir(dir) => service.data_dir = dir.clone(),
        Database::Url(url) => service.database = url.clone(),
    }
    service
}
