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

#[derive(Default)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS_SECS.len()],
    count: u64,
    sum_micros: u64,
}

impl Histogram {
    fn observe(&mut self, latency: Duration) {
        let secs = latency.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS_SECS.iter().enumerate() {
            if secs <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum_micros += u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
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

/// A write message counted in `yibao_writes_in_flight` while this lives.
pub struct WriteInFlight<'a>(&'a AtomicI64);

impl Drop for WriteInFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Service metrics.
#[derive(Default)]
pub struct Metrics {
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

impl Metrics {
    /// Records one `callService` request.
    pub fn observe_request(&self, infno: &str, success: bool, latency: Duration) {
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

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP yibao_requests_total callService requests by infno and outcome.\n");
        out.push_str("# TYPE yibao_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((infno, outcome), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "yibao_requests_total{{infno=\"{infno}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP yibao_request_duration_seconds callService latency by infno.\n");
        out.push_str("# TYPE yibao_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (infno, h) in latency.iter() {
                h.render(
                    &mut out,
                    "yibao_request_duration_seconds",
                    &format!("infno=\"{infno}\","),
                );
            }
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
}
