//! `yibao load`: a load generator acting as many HIS clients. It registers its own synthetic
//! institutions and population through the admin API, then runs the complete outpatient
//! (2201 → 2203 → 2204 → 2207) and inpatient (2401 → 2301 → 2304) flows of `yibao-his` over real
//! HTTP and reports settlements per second and the settling messages' latency percentiles.
//!
//! With `--audit`, each client also sends a 3102 事中 analysis of a new 10-line outpatient encounter
//! of a random person after every settlement, and the summary adds 3102's latency percentiles: the
//! real-time audit under a settling load, each analysis reading the person's history (settled by
//! this or an earlier run with the same `--seed`).
//!
//! With `--peer-region`, every settlement crosses platforms: the load starts two platforms on
//! loopback (the home one with `--policy` and `--catalog`, one of the peer region splitting with
//! the same catalogue — `yibao_region::cross_region`), registers its persons on the home platform
//! and its institutions on the peer, and the flows (1101 first) go to the peer's hospitals, which
//! ask the home platform to settle (`docs/peers.md`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use yibao_domain::Fen;
use yibao_his::envelope::{msgid_time, wire_time};
use yibao_his::{ConnectionTransport, Envelope, FeeLine, FlowFailed, Settled, Visit};

/// Options of `yibao load`.
#[derive(Args)]
pub struct LoadArgs {
    /// Base URL of a running `yibao serve` (e.g. http://127.0.0.1:8080).
    #[arg(long, required_unless_present = "peer_region")]
    pub url: Option<String>,
    /// Cross-platform settlements: start the home platform and a platform of this region (another
    /// province, e.g. 330100) on loopback instead of using `--url`, and settle at the latter's
    /// hospitals persons insured on the former.
    #[arg(long, conflicts_with = "url")]
    pub peer_region: Option<String>,
    /// Benefit policy of the home platform (with `--peer-region`).
    #[arg(long, default_value = "policies/jiujiang.toml")]
    pub policy: PathBuf,
    /// Catalogue of both platforms (with `--peer-region`).
    #[arg(long, default_value = "catalogs/jiujiang-sample.csv")]
    pub catalog: PathBuf,
    /// Directory of the two platforms' databases, emptied first (with `--peer-region`)
    /// [default: yibao-load-peers under the system's temporary directory].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Concurrent HIS clients.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// End with one JSON summary line.
    #[arg(long)]
    pub json: bool,
    /// Synthetic persons to register.
    #[arg(long, default_value_t = 1000)]
    pub persons: usize,
    /// Pooling region whose policy and catalogue the server has loaded.
    #[arg(long, default_value = "360400")]
    pub admdvs: String,
    /// Random seed (printed; a run is reproducible given the same server state).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Bearer token of the admin API.
    #[arg(long, env = "YIBAO_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// After each settlement, send a 3102 analysis of a random person's new encounter and report
    /// its latency.
    #[arg(long)]
    pub audit: bool,
}

/// Orders of each 3102 analysis (`--audit`).
const AUDIT_ORDERS: usize = 10;

const INSTITUTIONS: usize = 4;
/// Days of the load's inpatient stays (admitted that many days before their discharge, now).
const STAY_DAYS: i64 = 3;

/// The synthetic world of one run.
struct World {
    /// The platform the persons are insured on (and registered at).
    base: String,
    /// The platform whose institutions treat them (`base` itself unless across platforms) and the
    /// pooling region its institutions are in.
    care_base: String,
    care_admdvs: String,
    /// Whether the persons are insured on another platform than the one treating them.
    across_platforms: bool,
    client: reqwest::Client,
    tag: String,
    persons: usize,
    codes: Vec<String>,
    /// Whether clients also send 3102 analyses.
    audit: bool,
}

/// Counters shared by the clients.
#[derive(Default)]
struct Stats {
    settlements: AtomicU64,
    errors: AtomicU64,
    requests: AtomicU64,
    settle_latency_us: Mutex<Vec<u64>>,
    /// The first few failures, printed with the summary.
    first_errors: Mutex<Vec<String>>,
    audit_errors: AtomicU64,
    audit_latency_us: Mutex<Vec<u64>>,
}

/// Failures kept for the summary.
const ERRORS_SHOWN: usize = 3;

impl Stats {
    /// Counts a flow's messages and its settlement (with the settling message's latency) or error.
    fn record(&self, outcome: Result<Settled, FlowFailed>) {
        let messages = match outcome {
            Ok(settled) => {
                self.settlements.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut latencies) = self.settle_latency_us.lock() {
                    let micros = settled.settle_latency.as_micros();
                    latencies.push(u64::try_from(micros).unwrap_or(u64::MAX));
                }
                settled.messages
            }
            Err(failed) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut kept) = self.first_errors.lock() {
                    if kept.len() < ERRORS_SHOWN {
                        kept.push(failed.error.to_string());
                    }
                }
                failed.messages
            }
        };
        self.requests
            .fetch_add(u64::from(messages), Ordering::Relaxed);
    }

    /// Counts a 3102 analysis with its latency, or its failure.
    fn record_audit(&self, outcome: Result<yibao_his::Reply, yibao_his::HisError>, took: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(_) => {
                if let Ok(mut latencies) = self.audit_latency_us.lock() {
                    latencies.push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
                }
            }
            Err(error) => {
                self.audit_errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut kept) = self.first_errors.lock() {
                    if kept.len() < ERRORS_SHOWN {
                        kept.push(error.to_string());
                    }
                }
            }
        }
    }
}

impl World {
    fn institution(&self, index: usize) -> String {
        format!("H9{}{index:04}", self.tag)
    }

    fn person(&self, index: usize) -> (String, &'static str) {
        let insutype = if index.is_multiple_of(2) {
            "390"
        } else {
            "310"
        };
        (format!("L{}{index:07}", self.tag), insutype)
    }

    /// A random visit of a random person at a random institution: 70 % outpatient begun now (1–5
    /// lines), else an inpatient stay of [`STAY_DAYS`] discharged now (3–10 lines).
    fn visit(&self, rng: &mut StdRng) -> Visit {
        let (psn_no, insutype) = self.person(rng.gen_range(0..self.persons));
        let fixmedins_code = self.institution(rng.gen_range(0..INSTITUTIONS));
        let (med_type, dise_codg, lines) = if rng.gen_bool(0.7) {
            ("11", "J06.900", rng.gen_range(1..=5))
        } else {
            ("21", "K80.100", rng.gen_range(3..=10))
        };
        let now = chrono::Local::now().naive_local();
        let begun = if med_type == "21" {
            now - chrono::Duration::days(STAY_DAYS)
        } else {
            now
        };
        Visit {
            psn_no,
            insutype: insutype.into(),
            med_type: med_type.into(),
            begntime: wire_time(begun),
            endtime: (med_type == "21").then(|| wire_time(now)),
            fixmedins_code,
            refl_flag: "0".into(),
            dise_codg: dise_codg.into(),
            feedetail: (1..=lines).map(|sn| self.fee_line(rng, sn)).collect(),
        }
    }

    /// A new outpatient encounter of a random person, begun now, with [`AUDIT_ORDERS`] lines.
    fn encounter(&self, rng: &mut StdRng) -> Visit {
        let (psn_no, insutype) = self.person(rng.gen_range(0..self.persons));
        Visit {
            psn_no,
            insutype: insutype.into(),
            med_type: "11".into(),
            begntime: wire_time(chrono::Local::now().naive_local()),
            endtime: None,
            fixmedins_code: self.institution(rng.gen_range(0..INSTITUTIONS)),
            refl_flag: "0".into(),
            dise_codg: "J06.900".into(),
            feedetail: (1..=AUDIT_ORDERS)
                .map(|sn| self.fee_line(rng, sn))
                .collect(),
        }
    }

    /// A random line of a usable item: 1–5 units at 1.00–200.00 yuan.
    fn fee_line(&self, rng: &mut StdRng, feedetl_sn: usize) -> FeeLine {
        let code = &self.codes[rng.gen_range(0..self.codes.len())];
        let cnt: i64 = rng.gen_range(1..=5);
        let pric = Fen(rng.gen_range(100..=20_000));
        FeeLine::priced(feedetl_sn.to_string(), code.as_str(), cnt, pric)
    }

    fn admin_request(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{base}{path}"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

async fn admin_send(request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
    let response = request
        .send()
        .await
        .with_context(|| format!("{what}: request failed"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("{what}: reply is not JSON"))?;
    if !status.is_success() {
        bail!("{what}: {status} {body}");
    }
    Ok(body)
}

/// Codes of unrestricted, uncapped 甲/乙 items of the server's catalogue.
async fn usable_codes(
    world: &World,
    admdvs: &str,
    token: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let body = admin_send(
        world.admin_request(
            &world.care_base,
            reqwest::Method::GET,
            &format!("/admin/catalog/{admdvs}"),
            token,
        ),
        "catalogue",
    )
    .await?;
    let codes: Vec<String> = body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| {
                    matches!(i["chrgitm_lv"].as_str(), Some("01" | "02"))
                        && i["restricted"] == false
                        && i["has_price_cap"] == false
                })
                .filter_map(|i| i["med_list_codg"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if codes.is_empty() {
        bail!("the catalogue of {admdvs} has no unrestricted items to bill");
    }
    Ok(codes)
}

/// The institutions on the treating platform, in its region; the persons, insured in `admdvs`, on
/// the insuring one.
async fn register_world(world: &World, admdvs: &str, token: Option<&str>) -> anyhow::Result<()> {
    let care = &world.care_admdvs;
    let county = format!("{}02", &care[..4.min(care.len())]);
    let levels = ["3", "5", "9", "2"];
    let institutions: Vec<Value> = (0..INSTITUTIONS)
        .map(|i| json!({ "fixmedins_code": world.institution(i), "fixmedins_name": format!("压测医院{i}"), "fixmedins_type": "1", "hosp_lv": levels[i % levels.len()], "admdvs": county }))
        .collect();
    admin_send(
        world
            .admin_request(
                &world.care_base,
                reqwest::Method::POST,
                "/admin/institutions",
                token,
            )
            .json(&institutions),
        "institutions",
    )
    .await?;
    for chunk in (0..world.persons).collect::<Vec<_>>().chunks(2000) {
        let rows: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                let (psn_no, insutype) = world.person(i);
                json!({
                    "psn_no": psn_no, "psn_cert_type": "01", "certno": format!("3604{}{i:08}", world.tag), "psn_name": "压测",
                    "gend": if i % 3 == 0 { "2" } else { "1" }, "brdy": format!("19{:02}-0{}-1{}", 40 + i % 60, 1 + i % 9, i % 10),
                    "insutype": insutype, "psn_type": if insutype == "310" { "11" } else { "16" }, "psn_insu_stas": "1",
                    "psn_insu_date": "2010-01-01", "insuplc_admdvs": admdvs, "cvlserv_flag": "0",
                    "balc": if insutype == "310" { "2000.00" } else { "0" }, "idet": if i % 17 == 0 { "DB" } else { "" },
                })
            })
            .collect();
        admin_send(
            world
                .admin_request(&world.base, reqwest::Method::POST, "/admin/persons", token)
                .json(&rows),
            "persons",
        )
        .await?;
    }
    Ok(())
}

/// One HIS client, on a keep-alive connection of its own: visits drawn from the world and settled
/// until `deadline`.
async fn run_client(
    world: &World,
    transport: ConnectionTransport,
    insured_admdvs: &str,
    stats: &Stats,
    seed: u64,
    client_no: usize,
    deadline: Instant,
) {
    let serial = AtomicU64::new(0);
    let msgids = move |fixmedins: &str| {
        let serial = serial.fetch_add(1, Ordering::Relaxed) + 1;
        let now = chrono::Local::now().naive_local();
        format!(
            "{fixmedins}{}{:03}{serial:07}",
            msgid_time(now),
            client_no % 1000
        )
    };
    let envelope = envelope(&world.care_admdvs, insured_admdvs);
    let his = yibao_his::Client::new(transport, envelope).with_msgids(msgids);
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(client_no as u64));
    let mut analyses = 0u64;
    while Instant::now() < deadline {
        let visit = world.visit(&mut rng);
        let outcome = if world.across_platforms {
            his.settle_visit_insured_elsewhere(&visit).await
        } else {
            his.settle_visit(&visit).await
        };
        stats.record(outcome);
        if world.audit {
            analyses += 1;
            let encounter = world.encounter(&mut rng);
            let message = yibao_his::steps::during_analysis(
                &encounter,
                &format!("HIS{client_no}-{analyses}"),
            );
            let started = Instant::now();
            let outcome = his.send(&message).await;
            stats.record_audit(outcome, started.elapsed());
        }
    }
}

/// The envelope of the load's messages: care in `care_admdvs` of persons insured in
/// `insured_admdvs`.
fn envelope(care_admdvs: &str, insured_admdvs: &str) -> Envelope {
    Envelope {
        mdtrtarea_admvs: care_admdvs.into(),
        insuplc_admdvs: insured_admdvs.into(),
        recer_sys_code: "MBS_LOCAL".into(),
        opter: "load".into(),
        opter_name: "load".into(),
        ..Envelope::default()
    }
}

fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted_us.len() - 1) as f64).round() as usize;
    sorted_us[rank.min(sorted_us.len() - 1)] as f64 / 1000.0
}

/// Where the load sends: the home (insuring) platform, the treating one and its region.
struct Target {
    home: String,
    care: String,
    care_admdvs: String,
}

async fn run_load(args: &LoadArgs, target: Target, seed: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(1) * 2)
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut world = World {
        across_platforms: target.home != target.care,
        base: target.home,
        care_base: target.care,
        care_admdvs: target.care_admdvs,
        client,
        tag: format!("{:06}", seed % 1_000_000),
        persons: args.persons.max(1),
        codes: Vec::new(),
        audit: args.audit,
    };
    world.codes = usable_codes(&world, &world.care_admdvs, args.admin_token.as_deref()).await?;
    register_world(&world, &args.admdvs, args.admin_token.as_deref()).await?;
    let world = Arc::new(world);
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut tasks = tokio::task::JoinSet::new();
    for client_no in 0..args.concurrency.max(1) {
        let (world, stats) = (Arc::clone(&world), Arc::clone(&stats));
        let insured = args.admdvs.clone();
        let transport = ConnectionTransport::new(&world.care_base)
            .with_context(|| format!("--url {}", world.care_base))?;
        tasks.spawn(async move {
            run_client(
                &world, transport, &insured, &stats, seed, client_no, deadline,
            )
            .await
        });
    }
    while tasks.join_next().await.is_some() {}
    report(args, &stats, started.elapsed());
    Ok(())
}

/// Starts the home platform and one of `peer_region` on loopback in `dir` (emptied first), runs
/// the load across them and stops them.
async fn run_across_platforms(
    args: &LoadArgs,
    peer_region: &str,
    dir: &std::path::Path,
    seed: u64,
) -> anyhow::Result<()> {
    use yibao_region::cross_region;
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let (policy, catalog) = (read(&args.policy)?, read(&args.catalog)?);
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    let loaded_at = wire_time(chrono::Local::now().naive_local());
    cross_region::prepare_home(&dir.join("home"), &policy, &catalog, &loaded_at).await?;
    let home = yibao_server::config::Config {
        data_dir: dir.join("home"),
        admin_open: true,
        ..yibao_server::config::Config::default()
    };
    let peers = vec![(dir.join("peer"), peer_region.to_string(), Vec::new())];
    let platforms =
        cross_region::start_with_peers(home, &policy, &catalog, peers, &loaded_at).await?;
    let (care_admdvs, care) = platforms
        .peer_urls()
        .into_iter()
        .next()
        .context("the peer platform did not start")?;
    eprintln!(
        "yibao load: home platform {} at {}, peer platform {care_admdvs} at {care} (data in {})",
        args.admdvs,
        platforms.home_url(),
        dir.display()
    );
    let target = Target {
        home: platforms.home_url(),
        care,
        care_admdvs,
    };
    let outcome = run_load(args, target, seed).await;
    platforms.stop().await;
    outcome
}

/// The `--json` summary line, fields in the documented order.
#[derive(serde::Serialize)]
struct Summary {
    settlements: u64,
    errors: u64,
    settlements_per_s: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    /// With `--audit`: the 3102 analyses.
    #[serde(skip_serializing_if = "Option::is_none")]
    audit: Option<AuditSummary>,
}

/// The 3102 analyses of a `--audit` run.
#[derive(serde::Serialize)]
struct AuditSummary {
    analyses: usize,
    errors: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
}

impl AuditSummary {
    fn of(stats: &Stats) -> AuditSummary {
        let latencies = sorted(&stats.audit_latency_us);
        let (p50_ms, p95_ms, p99_ms) = percentiles_ms(&latencies);
        AuditSummary {
            analyses: latencies.len(),
            errors: stats.audit_errors.load(Ordering::Relaxed),
            p50_ms,
            p95_ms,
            p99_ms,
        }
    }
}

/// The latencies recorded, sorted.
fn sorted(latencies_us: &Mutex<Vec<u64>>) -> Vec<u64> {
    let mut sorted = latencies_us.lock().map(|l| l.clone()).unwrap_or_default();
    sorted.sort_unstable();
    sorted
}

/// p50, p95 and p99 of sorted latencies, ms.
fn percentiles_ms(sorted_us: &[u64]) -> (f64, f64, f64) {
    (
        percentile_ms(sorted_us, 50.0),
        percentile_ms(sorted_us, 95.0),
        percentile_ms(sorted_us, 99.0),
    )
}

fn report(args: &LoadArgs, stats: &Stats, elapsed: Duration) {
    let latencies = sorted(&stats.settle_latency_us);
    let settlements = stats.settlements.load(Ordering::Relaxed);
    let errors = stats.errors.load(Ordering::Relaxed);
    let per_s = settlements as f64 / elapsed.as_secs_f64().max(1e-9);
    let (p50, p95, p99) = percentiles_ms(&latencies);
    println!(
        "{settlements} settlements in {:.1} s ({per_s:.1}/s), {} requests, {errors} errors; settlement latency p50 {p50:.2} ms, p95 {p95:.2} ms, p99 {p99:.2} ms",
        elapsed.as_secs_f64(),
        stats.requests.load(Ordering::Relaxed)
    );
    let audit = args.audit.then(|| AuditSummary::of(stats));
    if let Some(a) = &audit {
        println!(
            "{} 3102 analyses, {} errors; latency p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            a.analyses, a.errors, a.p50_ms, a.p95_ms, a.p99_ms
        );
    }
    for error in stats
        .first_errors
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default()
    {
        eprintln!("  failed: {error}");
    }
    if args.json {
        let summary = Summary {
            settlements,
            errors,
            settlements_per_s: (per_s * 10.0).round() / 10.0,
            p50_ms: p50,
            p95_ms: p95,
            p99_ms: p99,
            audit,
        };
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    }
}

/// Runs the load; fails when the setup fails (errors during the run are counted, not fatal).
pub fn run(args: &LoadArgs) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(|| {
        chrono::Utc::now()
            .timestamp_nanos_opt()
            .unwrap_or_default()
            .unsigned_abs()
    });
    eprintln!("yibao load: seed {seed}");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match (&args.peer_region, &args.url) {
        (Some(region), _) => {
            let dir = args
                .data_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("yibao-load-peers"));
            runtime.block_on(run_across_platforms(args, region, &dir, seed))
        }
        (None, Some(url)) => {
            let base = url.trim_end_matches('/').to_string();
            let target = Target {
                home: base.clone(),
                care: base,
                care_admdvs: args.admdvs.clone(),
            };
            runtime.block_on(run_load(args, target, seed))
        }
        (None, None) => bail!("--url or --peer-region is required"),
    }
}
