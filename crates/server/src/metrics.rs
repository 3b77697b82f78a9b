//! Prometheus metrics in the text exposition format: requests by `infno` and outcome, latency
//! histograms, settlements and cancellations, fee lines split again at settlement, ledger size.

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
                for (bound, n) in LATENCY_BUCKETS_SECS.iter().zip(h.counts) {
                    let _ = writeln!(out, "yibao_request_duration_seconds_bucket{{infno=\"{infno}\",le=\"{bound}\"}} {n}");
                }
                let _ = writeln!(
                    out,
                    "yibao_request_duration_seconds_bucket{{infno=\"{infno}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "yibao_request_duration_seconds_sum{{infno=\"{infno}\"}} {}",
                    h.sum_micros as f64 / 1e6
                );
                let _ = writeln!(
                    out,
                    "yibao_request_duration_seconds_count{{infno=\"{infno}\"}} {}",
                    h.count
                );
            }
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
        let text = metrics.render();
        assert!(text.contains("yibao_requests_total{infno=\"2207\",outcome=\"ok\"} 1"));
        assert!(
            text.contains("yibao_request_duration_seconds_bucket{infno=\"2207\",le=\"0.005\"} 1")
        );
        assert!(text.contains("yibao_request_duration_seconds_count{infno=\"2207\"} 2"));
        assert!(text.contains("yibao_settlements_total 1"));
        assert!(text.contains("yibao_ledger_entries 1"));
    }
}
