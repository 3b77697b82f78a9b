//! Every visit of `visits.jsonl` settled through [`Service::call`] with the national message flows
//! of [`yibao_his`] ([`Client::settle_visit`]), as the hospitals' HIS would send them, each message
//! stamped with its visit's `begntime` as `inf_time`:
//!
//! * inpatient (`med_type` 21): 2401 admission → 2301 fee upload → 2304 settlement at discharge;
//! * pharmacy (41): 2102 purchase and settlement in one message;
//! * every other visit: 2201 registration → 2203 visit details → 2204 fee upload → 2207 settlement.
//!
//! Visits are dealt to concurrent clients by person, so one person's visits are settled in file
//! (time) order while many persons' messages reach the ledger writer together and group commit
//! can batch them.
//!
//! A hospital of another province sends its messages to that province's platform
//! ([`Destinations::with_peer`]), reading the person's card first (1101): the region's persons are
//! insured on the home platform, which settles them when the treating platform asks.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use yibao_his::{Client, Envelope, FlowFailed, InfTime, Settled, Visit};
use yibao_server::service::Service;
use yibao_synth::Progress;

use crate::transport::InProcess;
use crate::RegionError;

/// Visits queued per client before the reader waits.
const QUEUE_PER_CLIENT: usize = 64;
/// Error messages kept for the summary.
const ERRORS_KEPT: usize = 5;
/// How often the progress bar is updated while clients finish.
const PROGRESS_TICK: Duration = Duration::from_millis(200);

/// What the replay did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replayed {
    pub visits: u64,
    /// Visits whose settlement was stored.
    pub settled: u64,
    /// Visits whose flow failed (reply `infcode` −1); their first errors are in `errors`.
    pub failed: u64,
    pub messages: u64,
    pub errors: Vec<String>,
    pub seconds: f64,
}

impl Replayed {
    /// Settlements stored per second of the replay.
    pub fn settlements_per_second(&self) -> f64 {
        self.settled as f64 / self.seconds.max(1e-9)
    }
}

/// Counters shared by the clients.
#[derive(Default)]
struct Counters {
    done: AtomicU64,
    settled: AtomicU64,
    failed: AtomicU64,
    messages: AtomicU64,
    msgid: AtomicU64,
    errors: Mutex<Vec<String>>,
}

/// Where the hospitals send their messages: the home platform, and the platforms of other
/// provinces for their hospitals.
#[derive(Clone)]
pub struct Destinations {
    home: Service,
    /// The pooling region the persons are insured in (`insuplc_admdvs` sent to a peer's hospitals).
    home_region: String,
    peers: Vec<PeerDestination>,
    /// Hospital code → its platform in `peers`.
    by_institution: HashMap<String, usize>,
}

/// Another province's platform and its region.
#[derive(Clone)]
struct PeerDestination {
    service: Service,
    region: String,
}

impl Destinations {
    /// Every hospital on the home platform `home`, whose persons are insured in `home_region`.
    pub fn new(home: Service, home_region: &str) -> Destinations {
        Destinations {
            home,
            home_region: home_region.to_string(),
            peers: Vec::new(),
            by_institution: HashMap::new(),
        }
    }

    /// The hospitals `institutions` send to the platform `service` of `region` instead.
    pub fn with_peer(
        mut self,
        service: Service,
        region: &str,
        institutions: impl IntoIterator<Item = String>,
    ) -> Destinations {
        let index = self.peers.len();
        self.peers.push(PeerDestination {
            service,
            region: region.to_string(),
        });
        self.by_institution
            .extend(institutions.into_iter().map(|code| (code, index)));
        self
    }
}

/// Settles every visit of `dir/visits.jsonl` at its hospital's platform with `clients` concurrent
/// clients.
pub async fn settle_all(
    destinations: &Destinations,
    dir: &Path,
    clients: usize,
    progress: &mut dyn Progress,
) -> Result<Replayed, RegionError> {
    let path = dir.join("visits.jsonl");
    progress.stage("settlements", count_lines(&path)?);
    let started = Instant::now();
    let counters = Arc::new(Counters::default());
    let mut queues = Vec::with_capacity(clients.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (sender, receiver) = mpsc::channel::<Visit>(QUEUE_PER_CLIENT);
        queues.push(sender);
        tasks.spawn(run_client(
            destinations.clone(),
            receiver,
            Arc::clone(&counters),
        ));
    }
    let mut shown = deal(&path, queues, &counters, progress).await?;
    let mut tick = tokio::time::interval(PROGRESS_TICK);
    loop {
        tokio::select! {
            joined = tasks.join_next() => if joined.is_none() { break },
            _ = tick.tick() => shown = show_progress(progress, &counters, shown),
        }
    }
    show_progress(progress, &counters, shown);
    Ok(counters.summary(started.elapsed().as_secs_f64()))
}

/// Reads the visits and deals each to its person's client; returns the progress shown so far.
async fn deal(
    path: &Path,
    queues: Vec<mpsc::Sender<Visit>>,
    counters: &Counters,
    progress: &mut dyn Progress,
) -> Result<u64, RegionError> {
    let mut shown = 0;
    for (index, line) in BufReader::new(open(path)?).lines().enumerate() {
        let line = line.map_err(|e| input_error(path, format!("line {}: {e}", index + 1)))?;
        let visit: Visit = serde_json::from_str(&line)
            .map_err(|e| input_error(path, format!("line {}: {e}", index + 1)))?;
        let queue = &queues[client_of(&visit.psn_no, queues.len())];
        if queue.send(visit).await.is_err() {
            break;
        }
        shown = show_progress(progress, counters, shown);
    }
    Ok(shown)
}

impl Counters {
    /// Counts the messages of one visit's flow, settled or not.
    fn count_messages(&self, messages: u32) {
        self.messages
            .fetch_add(u64::from(messages), Ordering::Relaxed);
    }

    /// Keeps one of the first [`ERRORS_KEPT`] errors.
    fn keep_error(&self, error: String) {
        if let Ok(mut kept) = self.errors.lock() {
            if kept.len() < ERRORS_KEPT {
                kept.push(error);
            }
        }
    }

    /// Counts one visit's flow.
    fn record(&self, visit: &Visit, outcome: Result<Settled, FlowFailed>) {
        match outcome {
            Ok(settled) => {
                self.count_messages(settled.messages);
                self.settled.fetch_add(1, Ordering::Relaxed);
            }
            Err(failed) => {
                self.count_messages(failed.messages);
                self.keep_error(format!(
                    "{} at {}: {}",
                    visit.psn_no, visit.fixmedins_code, failed.error
                ));
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    fn summary(&self, seconds: f64) -> Replayed {
        Replayed {
            visits: self.done.load(Ordering::Relaxed),
            settled: self.settled.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
            seconds,
        }
    }
}

fn show_progress(progress: &mut dyn Progress, counters: &Counters, shown: u64) -> u64 {
    let done = counters.done.load(Ordering::Relaxed);
    if done > shown {
        progress.advance(done - shown);
    }
    done.max(shown)
}

fn client_of(psn_no: &str, clients: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    psn_no.hash(&mut hasher);
    (hasher.finish() % clients as u64) as usize
}

fn open(path: &Path) -> Result<File, RegionError> {
    File::open(path).map_err(|e| input_error(path, e.to_string()))
}

fn input_error(path: &Path, problem: String) -> RegionError {
    RegionError::Input {
        what: path.display().to_string(),
        problem,
    }
}

fn count_lines(path: &Path) -> Result<u64, RegionError> {
    let mut count = 0;
    for line in BufReader::new(open(path)?).lines() {
        line.map_err(|e| input_error(path, e.to_string()))?;
        count += 1;
    }
    Ok(count)
}

async fn run_client(
    destinations: Destinations,
    mut visits: mpsc::Receiver<Visit>,
    counters: Arc<Counters>,
) {
    let mut home = his_client(&destinations.home, envelope(), &counters);
    let mut peers: Vec<_> = destinations
        .peers
        .iter()
        .map(|peer| {
            let envelope = Envelope {
                mdtrtarea_admvs: peer.region.clone(),
                insuplc_admdvs: destinations.home_region.clone(),
                ..envelope()
            };
            his_client(&peer.service, envelope, &counters)
        })
        .collect();
    while let Some(visit) = visits.recv().await {
        let inf_time = InfTime::At(visit.begntime.clone());
        let outcome = match destinations.by_institution.get(&visit.fixmedins_code) {
            Some(&peer) => {
                let his = &mut peers[peer];
                his.envelope_mut().inf_time = inf_time;
                his.settle_visit_insured_elsewhere(&visit).await
            }
            None => {
                home.envelope_mut().inf_time = inf_time;
                home.settle_visit(&visit).await
            }
        };
        counters.record(&visit, outcome);
    }
}

/// A HIS client sending to `service` in `envelope`, its msgids from the shared counter.
fn his_client(
    service: &Service,
    envelope: Envelope,
    counters: &Arc<Counters>,
) -> Client<'static, InProcess> {
    let serials = Arc::clone(counters);
    let msgids = move |_: &str| {
        let serial = serials.msgid.fetch_add(1, Ordering::Relaxed);
        format!("YBREGION{serial:022}")
    };
    Client::new(InProcess::new(service.clone()), envelope).with_msgids(msgids)
}

/// The envelope of the region's messages: local care, sent as the region's own system.
fn envelope() -> Envelope {
    Envelope {
        recer_sys_code: "YBREGION".into(),
        opter: "region".into(),
        opter_name: "region".into(),
        ..Envelope::default()
    }
}
