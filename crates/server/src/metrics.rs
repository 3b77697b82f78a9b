//! Prometheus metrics in the text exposition format: requests by `infno` and outcome, latency
//! histograms, settlements and cancellations, fee lines split again at settlement, ledger size, and
//! the write path: ledger commit latency, failed commits and write messages in flight.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, seconds.
const LATENCY_BUCKETS_SECS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS_SECS.len()],
    count: u64,
    sum_micros: u64,
}

/// The bucket a latency falls into: the first whose bound it does not exceed, or one past the last.
fn bucket_of(latency: Duration) -> usize {
    let secs = latency.as_secs_f64();
    LATENCY_BUCKETS_SECS
        .iter()
        .position(|bound| secs <= *bound)
        .unwrap_or(LATENCY_BUCKETS_SECS.len())
}

fn micros_of(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
}

impl Histogram {
    fn observe(&mut self, latency: Duration) {
        for count in &mut self.counts[bucket_of(latency)..] {
            *count += 1;
        }
        self.count += 1;
        self.sum_micros += micros_of(latency);
    }

    /// Writes the histogram's series `name`; `labels` are written before `le` (each followed by a
    /// comma).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (bound, n) in LATENCY_BUCKETS_SECS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", self.count);
        let labels = match labels.trim_end_matches(',') {
            "" => String::new(),
            labels => format!("{{{labels}}}"),
        };
        let _ = writeln!(out, "{name}_sum{labels} {}", self.sum_micros as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{labels} {}", self.count);
    }
}

/// The requests of one `infno` of the transaction table, counted without a lock: by outcome, and
/// their latencies by bucket (one past the last: above every bound).
struct InfnoSeries {
    infno: &'static str,
    ok: AtomicU64,
    error: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS_SECS.len() + 1],
    sum_micros: AtomicU64,
}

impl InfnoSeries {
    fn new(infno: &'static str) -> InfnoSeries {
        InfnoSeries {
            infno,
            ok: AtomicU64::new(0),
            error: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, success: bool, latency: Duration) {
        let outcome = if success { &self.ok } else { &self.error };
        outcome.fetch_add(1, Ordering::Relaxed);
        self.buckets[bucket_of(latency)].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(micros_of(latency), Ordering::Relaxed);
    }

    /// The latencies observed so far as a cumulative histogram.
    fn histogram(&self) -> Histogram {
        let mut histogram = Histogram::default();
        let mut below = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            below += bucket.load(Ordering::Relaxed);
            if let Some(count) = histogram.counts.get_mut(i) {
                *count = below;
            }
        }
        histogram.count = below;
        histogram.sum_micros = self.sum_micros.load(Ordering::Relaxed);
        histogram
    }
}

/// A write message counted in `yibao_writes_in_flight` while this lives.
pub struct WriteInFlight<'a>(&'a AtomicI64);

impl Drop for WriteInFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Service metrics.
pub struct Metrics {
    /// The requests of each `infno` of the transaction table, sorted by `infno`: counted on every
    /// message, so without a lock.
    known: Vec<InfnoSeries>,
    /// The requests of any other `infno` (and of bodies that were not an envelope).
    requests: Mutex<BTreeMap<(String, &'static str), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    settlements: AtomicU64,
    cancellations: AtomicU64,
    resplits: AtomicU64,
    ledger_entries: AtomicI64,
    commits: Mutex<Histogram>,
    commit_failures: AtomicU64,
    writes_in_flight: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut known: Vec<InfnoSeries> = crate::tx::TRANSACTIONS
            .iter()
            .map(|spec| InfnoSeries::new(spec.infno))
            .collect();
        known.sort_by_key(|series| series.infno);
        Metrics {
            known,
            requests: Mutex::default(),
            latency: Mutex::default(),
            settlements: AtomicU64::default(),
            cancellations: AtomicU64::default(),
            resplits: AtomicU64::default(),
            ledger_entries: AtomicI64::default(),
            commits: Mutex::default(),
            commit_failures: AtomicU64::default(),
            writes_in_flight: AtomicI64::default(),
        }
    }
}

impl Metrics {
    /// Records one `callService` request.
    pub fn observe_request(&self, infno: &str, success: bool, latency: Duration) {
        if let Ok(index) = self
            .known
            .binary_search_by_key(&infno, |series| series.infno)
        {
            self.known[index].observe(success, latency);
            return;
        }
        let infno = if infno.is_empty() { "unparsed" } else { infno };
        let outcome = if success { "ok" } else { "error" };
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((infno.to_string(), outcome)).or_default() += 1;
        }
        if let Ok(mut latency_map) = self.latency.lock() {
            latency_map
                .entry(infno.to_string())
                .or_default()
                .observe(latency);
        }
    }

    /// Counts a committed settlement.
    pub fn settled(&self) {
        self.settlements.fetch_add(1, Ordering::Relaxed);
        self.ledger_entries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a committed cancellation.
    pub fn cancelled(&self) {
        self.cancellations.fetch_add(1, Ordering::Relaxed);
        self.ledger_entries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a settlement or pre-settlement whose fee lines were split again because what their
    /// stored split depended on changed since upload.
    pub fn resplit(&self) {
        self.resplits.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one transaction of the ledger's committer: its time to the durable commit, or a
    /// failure.
    pub fn observe_commit(&self, elapsed: Duration, committed: bool) {
        if !committed {
            self.commit_failures.fetch_add(1, Ordering::Relaxed);
        } else if let Ok(mut commits) = self.commits.lock() {
            commits.observe(elapsed);
        }
    }

    /// Counts a write message handed to the ledger writer until the returned guard is dropped
    /// (its reply came back, or its caller went away).
    pub fn write_in_flight(&self) -> WriteInFlight<'_> {
        self.writes_in_flight.fetch_add(1, Ordering::Relaxed);
        WriteInFlight(&self.writes_in_flight)
    }

    /// Sets the ledger size read at start-up.
    pub fn set_ledger_entries(&self, entries: i64) {
        self.ledger_entries.store(entries, Ordering::Relaxed);
    }

    /// The request counts by `infno` and outcome and the latency histograms by `infno`, of every
    /// `infno` seen, in `infno` order.
    #[allow(clippy::type_complexity)]
    fn request_series(
        &self,
    ) -> (
        BTreeMap<(String, &'static str), u64>,
        BTreeMap<String, Histogram>,
    ) {
        let mut requests = self.requests.lock().map(|r| r.clone()).unwrap_or_default();
        let mut latency = BTreeMap::new();
        if let Ok(others) = self.latency.lock() {
            for (infno, h) in others.iter() {
                latency.insert(infno.clone(), h.clone());
            }
        }
        for series in &self.known {
            for (outcome, n) in [("ok", &series.ok), ("error", &series.error)] {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    requests.insert((series.infno.to_string(), outcome), n);
                }
            }
            let histogram = series.histogram();
            if histogram.count > 0 {
                latency.insert(series.infno.to_string(), histogram);
            }
        }
        (requests, latency)
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (requests, latency) = self.request_series();
        out.push_str("# HELP yibao_requests_total callService requests by infno and outcome.\n");
        out.push_str("# TYPE yibao_requests_total counter\n");
        for ((infno, outcome), n) in &requests {
            let _ = writeln!(
                out,
                "yibao_requests_total{{infno=\"{infno}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP yibao_request_duration_seconds callService latency by infno.\n");
        out.push_str("# TYPE yibao_request_duration_seconds histogram\n");
        for (infno, h) in &latency {
            h.render(
                &mut out,
                "yibao_request_duration_seconds",
                &format!("infno=\"{infno}\","),
            );
        }
        out.push_str(
            "# HELP yibao_commit_duration_seconds Ledger commits: time from the start of the \
             transaction to its durable commit.\n# TYPE yibao_commit_duration_seconds histogram\n",
        );
        if let Ok(commits) = self.commits.lock() {
            commits.render(&mut out, "yibao_commit_duration_seconds", "");
        }
        let counters = [
            (
                "yibao_settlements_total",
                "Settlements committed since start.",
                self.settlements.load(Ordering::Relaxed) as i64,
            ),
            (
                "yibao_cancellations_total",
                "Cancellations committed since start.",
                self.cancellations.load(Ordering::Relaxed) as i64,
            ),
            (
                "yibao_commit_failures_total",
                "Ledger commits that failed (their messages were answered with a storage error or run again).",
                self.commit_failures.load(Ordering::Relaxed) as i64,
            ),
            (
                "yibao_fee_line_resplits_total",
                "Settlements and pre-settlements (committed or not) whose fee lines were split again \
                 because their split basis changed since upload.",
                self.resplits.load(Ordering::Relaxed) as i64,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let in_flight = self.writes_in_flight.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP yibao_writes_in_flight Write messages handed to the ledger writer and not yet answered (queued, running or waiting for their commit).\n# TYPE yibao_writes_in_flight gauge\nyibao_writes_in_flight {in_flight}"
        );
        let entries = self.ledger_entries.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP yibao_ledger_entries Ledger entries (settlements and cancellations).\n# TYPE yibao_ledger_entries gauge\nyibao_ledger_entries {entries}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.observe_request("2207", true, Duration::from_millis(3));
        metrics.observe_request("2207", false, Duration::from_millis(30));
        metrics.settled();
        metrics.observe_commit(Duration::from_millis(2), true);
        metrics.observe_commit(Duration::from_millis(9), false);
        let in_flight = metrics.write_in_flight();
        let text = metrics.render();
        assert!(text.contains("yibao_requests_total{infno=\"2207\",outcome=\"ok\"} 1"));
        assert!(
            text.contains("yibao_request_duration_seconds_bucket{infno=\"2207\",le=\"0.005\"} 1")
        );
        assert!(text.contains("yibao_request_duration_seconds_count{infno=\"2207\"} 2"));
        assert!(text.contains("yibao_settlements_total 1"));
        assert!(text.contains("yibao_ledger_entries 1"));
        assert!(text.contains("yibao_commit_duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("yibao_commit_duration_seconds_count 1"));
        assert!(text.contains("yibao_commit_failures_total 1"));
        assert!(text.contains("yibao_writes_in_flight 1"));
        drop(in_flight);
        assert!(metrics.render().contains("yibao_writes_in_flight 0"));
    }

    #[test]
    fn infnos_outside_the_table_render_as_those_in_it() {
        let metrics = Metrics::default();
        for infno in ["2207", "9999", ""] {
            metrics.observe_request(infno, true, Duration::from_millis(3));
            metrics.observe_request(infno, false, Duration::from_secs(9));
        }
        let text = metrics.render();
        for infno in ["2207", "9999", "unparsed"] {
            for line in [
                format!("yibao_requests_total{{infno=\"{infno}\",outcome=\"ok\"}} 1"),
                format!("yibao_requests_total{{infno=\"{infno}\",outcome=\"error\"}} 1"),
                format!(
                    "yibao_request_duration_seconds_bucket{{infno=\"{infno}\",le=\"0.0025\"}} 0"
                ),
                format!(
                    "yibao_request_duration_seconds_bucket{{infno=\"{infno}\",le=\"0.005\"}} 1"
                ),
                format!("yibao_request_duration_seconds_bucket{{infno=\"{infno}\",le=\"5\"}} 1"),
                format!("yibao_request_duration_seconds_bucket{{infno=\"{infno}\",le=\"+Inf\"}} 2"),
                format!("yibao_request_duration_seconds_sum{{infno=\"{infno}\"}} 9.003"),
            ] {
                assert!(text.contains(&line), "{line} in {text}");
            }
        }
        let order: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("yibao_requests_total{"))
            .collect();
        assert_eq!(order.len(), 6);
        assert!(
            order[0].contains("2207") && order[2].contains("9999") && order[4].contains("unparsed")
        );
        assert!(!text.contains("infno=\"2201\""));
    }
}
