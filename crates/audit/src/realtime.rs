//! Precomputed per-person state of the real-time audit (issue 13 §2): one person's stored visits
//! and live fee lines, updated from what the ledger made durable (a visit's current row, a new
//! line, a line's cancellation), so that 3101/3102 and fee upload read the person's history from
//! memory instead of the ledger. Generic over the visit and line records (the service keeps the
//! ledger's own), so this crate stays free of storage types.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

/// One person's visits (by `mdtrt_id`) and live lines (by upload order, then `mdtrt_id`).
#[derive(Debug, Clone)]
pub struct PersonCare<V, L> {
    visits: FxHashMap<String, V>,
    lines: BTreeMap<(i64, String), L>,
}

impl<V, L> Default for PersonCare<V, L> {
    fn default() -> Self {
        PersonCare {
            visits: FxHashMap::default(),
            lines: BTreeMap::new(),
        }
    }
}

impl<V, L> PersonCare<V, L> {
    /// Records a visit's current row (new, or replacing its earlier row).
    pub fn upsert_visit(&mut self, mdtrt_id: &str, visit: V) {
        self.visits.insert(mdtrt_id.to_string(), visit);
    }

    /// Records a new live line of one of the person's visits (`upload_seq`: its upload order).
    pub fn add_line(&mut self, mdtrt_id: &str, upload_seq: i64, line: L) {
        self.lines.insert((upload_seq, mdtrt_id.to_string()), line);
    }

    /// Forgets a cancelled line (nothing when it is not held).
    pub fn cancel_line(&mut self, mdtrt_id: &str, upload_seq: i64) {
        self.lines.remove(&(upload_seq, mdtrt_id.to_string()));
    }

    /// The visits, in no order.
    pub fn visits(&self) -> impl Iterator<Item = &V> {
        self.visits.values()
    }

    /// The visits' ids, in no order.
    pub fn visit_ids(&self) -> impl Iterator<Item = &str> {
        self.visits.keys().map(String::as_str)
    }

    /// The live lines with their visit's id, the latest upload first.
    pub fn lines_newest_first(&self) -> impl Iterator<Item = (&str, &L)> {
        self.lines
            .iter()
            .rev()
            .map(|((_, mdtrt_id), line)| (mdtrt_id.as_str(), line))
    }

    /// The most visits or lines held (what bounds the state of one person).
    pub fn largest_count(&self) -> usize {
        self.visits.len().max(self.lines.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_latest_first_and_a_cancellation_removes_only_its_line() {
        let mut care: PersonCare<u8, &str> = PersonCare::default();
        care.upsert_visit("V1", 1);
        care.upsert_visit("V1", 2);
        care.add_line("V1", 7, "b");
        care.add_line("V1", 3, "a");
        care.add_line("V2", 9, "c");
        care.cancel_line("V1", 3);
        care.cancel_line("V1", 9);
        let lines: Vec<_> = care.lines_newest_first().collect();
        assert_eq!(lines, vec![("V2", &"c"), ("V1", &"b")]);
        assert_eq!(care.visits().copied().collect::<Vec<_>>(), vec![2]);
        assert_eq!(care.visit_ids().collect::<Vec<_>>(), vec!["V1"]);
        assert_eq!(care.largest_count(), 2);
    }
}
