//! Every visit of `visits.jsonl` settled through [`Service::call`] with the national message flows,
//! as the hospitals' HIS would send them:
//!
//! * inpatient (`med_type` 21): 2401 admission → 2301 fee upload → 2304 settlement at discharge;
//! * pharmacy (41): 2102 purchase and settlement in one message;
//! * every other visit: 2201 registration → 2203 visit details → 2204 fee upload → 2207 settlement.
//!
//! Visits are dealt to concurrent clients by person, so one person's visits are settled in file
//! (time) order while many persons' messages reach the ledger writer together and group commit
//! can batch them.

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use yibao_domain::Fen;
use yibao_server::service::{CallMeta, Service};
use yibao_synth::Progress;

use crate::RegionError;

/// Visits queued per client before the reader waits.
const QUEUE_PER_CLIENT: usize = 64;
/// Error messages kept for the summary.
const ERRORS_KEPT: usize = 5;
/// How often the progress bar is updated while clients finish.
const PROGRESS_TICK: Duration = Duration::from_millis(200);

/// One line of `visits.jsonl` (the fields the messages need).
#[derive(Debug, Clone, Deserialize)]
struct VisitLine {
    psn_no: String,
    insutype: String,
    med_type: String,
    begntime: String,
    endtime: String,
    fixmedins_code: String,
    refl_flag: String,
    dise_codg: String,
    feedetail: Vec<FeeLineIn>,
}

/// One fee line of a visit, as generated.
#[derive(Debug, Clone, Deserialize)]
struct FeeLineIn {
    feedetl_sn: String,
    med_list_codg: String,
    cnt: String,
    pric: String,
    det_item_fee_sumamt: String,
    hosp_appr_flag: String,
}

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

/// Settles every visit of `dir/visits.jsonl` through `service` with `clients` concurrent clients.
pub async fn settle_all(
    service: &Service,
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
        let (sender, receiver) = mpsc::channel::<VisitLine>(QUEUE_PER_CLIENT);
        queues.push(sender);
        tasks.spawn(run_client(service.clone(), receiver, Arc::clone(&counters)));
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
    queues: Vec<mpsc::Sender<VisitLine>>,
    counters: &Counters,
    progress: &mut dyn Progress,
) -> Result<u64, RegionError> {
    let mut shown = 0;
    for (index, line) in BufReader::new(open(path)?).lines().enumerate() {
        let line = line.map_err(|e| input_error(path, format!("line {}: {e}", index + 1)))?;
        let visit: VisitLine = serde_json::from_str(&line)
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
    service: Service,
    mut visits: mpsc::Receiver<VisitLine>,
    counters: Arc<Counters>,
) {
    while let Some(visit) = visits.recv().await {
        let client = Client {
            service: &service,
            counters: &counters,
            visit: &visit,
        };
        match client.settle().await {
            Ok(()) => counters.settled.fetch_add(1, Ordering::Relaxed),
            Err(error) => {
                if let Ok(mut kept) = counters.errors.lock() {
                    if kept.len() < ERRORS_KEPT {
                        kept.push(error);
                    }
                }
                counters.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
        counters.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// One visit's message flow.
struct Client<'a> {
    service: &'a Service,
    counters: &'a Counters,
    visit: &'a VisitLine,
}

impl Client<'_> {
    async fn settle(&self) -> Result<(), String> {
        match self.visit.med_type.as_str() {
            "21" => self.inpatient().await,
            "41" => self.pharmacy().await,
            _ => self.outpatient().await,
        }
    }

    /// Sends one message; the reply's `output`, or the error naming the visit and `infno`.
    async fn call(&self, infno: &str, input: Value) -> Result<Value, String> {
        let serial = self.counters.msgid.fetch_add(1, Ordering::Relaxed);
        let v = self.visit;
        let envelope = json!({
            "infno": infno, "msgid": format!("YBREGION{serial:022}"), "mdtrtarea_admvs": "",
            "insuplc_admdvs": "", "recer_sys_code": "YBREGION", "infver": "V1.0", "opter_type": "1",
            "opter": "region", "opter_name": "region", "inf_time": v.begntime,
            "fixmedins_code": v.fixmedins_code, "fixmedins_name": "", "sign_no": "", "input": input,
        });
        self.counters.messages.fetch_add(1, Ordering::Relaxed);
        let body = envelope.to_string();
        let meta = CallMeta {
            gateway: None,
            path_infno: None,
            body_error: None,
        };
        let reply = self.service.call(body.as_bytes(), meta).await;
        let mut reply: Value = serde_json::from_str(&reply)
            .map_err(|e| format!("{infno} for {}: reply is not JSON: {e}", v.psn_no))?;
        if reply["infcode"] == 0 {
            Ok(reply["output"].take())
        } else {
            Err(format!(
                "{infno} for {} at {}: {}",
                v.psn_no, v.fixmedins_code, reply["err_msg"]
            ))
        }
    }

    /// The visit's fee lines as uploaded (naming the visit once it has an id), and their total.
    fn fee_lines(&self, mdtrt_id: Option<&str>) -> Result<(Vec<Value>, Fen), String> {
        let v = self.visit;
        let mut total = Fen::ZERO;
        let mut lines = Vec::with_capacity(v.feedetail.len());
        for line in &v.feedetail {
            total += Fen::parse_yuan(&line.det_item_fee_sumamt)
                .map_err(|e| format!("{}: det_item_fee_sumamt: {e}", v.psn_no))?;
            let mut uploaded = json!({
                "feedetl_sn": line.feedetl_sn, "psn_no": v.psn_no, "chrg_bchno": "1",
                "med_list_codg": line.med_list_codg, "cnt": line.cnt, "pric": line.pric,
                "det_item_fee_sumamt": line.det_item_fee_sumamt, "hosp_appr_flag": line.hosp_appr_flag,
                "fee_ocur_time": v.begntime,
            });
            if let Some(mdtrt_id) = mdtrt_id {
                uploaded["mdtrt_id"] = json!(mdtrt_id);
            }
            lines.push(uploaded);
        }
        Ok((lines, total))
    }

    async fn outpatient(&self) -> Result<(), String> {
        let v = self.visit;
        let registration = self
            .call(
                "2201",
                json!({ "data": { "psn_no": v.psn_no, "insutype": v.insutype, "begntime": v.begntime,
                        "mdtrt_cert_type": "02", "med_type": v.med_type } }),
            )
            .await?;
        let mdtrt_id = text(&registration["data"]["mdtrt_id"], "2201 data.mdtrt_id")?;
        self.call(
            "2203",
            json!({ "mdtrtinfo": { "mdtrt_id": mdtrt_id, "psn_no": v.psn_no, "med_type": v.med_type,
                    "begntime": v.begntime, "dise_codg": v.dise_codg, "refl_flag": v.refl_flag },
                    "diseinfo": [{ "diag_type": "1", "diag_srt_no": "1", "diag_code": v.dise_codg }] }),
        )
        .await?;
        let (lines, total) = self.fee_lines(Some(&mdtrt_id))?;
        self.call("2204", json!({ "feedetail": lines })).await?;
        self.call(
            "2207",
            json!({ "data": { "psn_no": v.psn_no, "mdtrt_id": mdtrt_id, "insutype": v.insutype,
                    "med_type": v.med_type, "medfee_sumamt": total.to_yuan_string(), "acct_used_flag": "1" } }),
        )
        .await?;
        Ok(())
    }

    async fn inpatient(&self) -> Result<(), String> {
        let v = self.visit;
        let admission = self
            .call(
                "2401",
                json!({ "mdtrtinfo": { "psn_no": v.psn_no, "insutype": v.insutype, "med_type": v.med_type,
                        "begntime": v.begntime, "dise_codg": v.dise_codg, "refl_flag": v.refl_flag,
                        "mdtrt_cert_type": "02" },
                        "diseinfo": [{ "diag_type": "1", "diag_srt_no": "1", "diag_code": v.dise_codg }] }),
            )
            .await?;
        let mdtrt_id = text(&admission["result"]["mdtrt_id"], "2401 result.mdtrt_id")?;
        let (lines, total) = self.fee_lines(Some(&mdtrt_id))?;
        self.call("2301", json!({ "feedetail": lines })).await?;
        self.call(
            "2304",
            json!({ "data": { "psn_no": v.psn_no, "mdtrt_id": mdtrt_id, "insutype": v.insutype,
                    "medfee_sumamt": total.to_yuan_string(), "mid_setl_flag": "0", "acct_used_flag": "1",
                    "dscgTime": v.endtime } }),
        )
        .await?;
        Ok(())
    }

    async fn pharmacy(&self) -> Result<(), String> {
        let v = self.visit;
        let (lines, total) = self.fee_lines(None)?;
        self.call(
            "2102",
            json!({ "data": { "psn_no": v.psn_no, "insutype": v.insutype, "med_type": v.med_type,
                    "begntime": v.begntime, "mdtrt_cert_type": "02", "medfee_sumamt": total.to_yuan_string(),
                    "acct_used_flag": "1" },
                    "feedetail": lines }),
        )
        .await?;
        Ok(())
    }
}

fn text(value: &Value, what: &str) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what} missing from the reply"))
}
