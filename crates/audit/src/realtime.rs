//! Precomputed per-person state of the real-time audit (issue 13 §2): one person's stored visits
//! and live fee lines, updated from what the ledger made durable (a visit's current row, a new
//! line, a line's cancellation), so that 3101/3102 and fee upload read the person's history from
//! memory instead of the ledger. Generic over the visit and line records (the service keeps the
//! ledger's own), so this crate stays free of storage types.
//!
//! Readers never hold the person: they take a [`CareSnapshot`], the person's visits as shared
//! pointers ([`VisitCare`]), each visit's row and line map shared too. So a change never copies a
//! whole person: a visit's new row replaces one pointer, and a new or cancelled line copies the
//! line map of its own visit only, and only while a reader still holds that map.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

/// One visit as the state holds it: its current row and its live lines by upload order.
#[derive(Debug)]
pub struct VisitCare<V, L> {
    row: Arc<V>,
    lines: Arc<BTreeMap<i64, Arc<L>>>,
}

impl<V, L> Clone for VisitCare<V, L> {
    fn clone(&self) -> Self {
        VisitCare {
            row: Arc::clone(&self.row),
            lines: Arc::clone(&self.lines),
        }
    }
}

impl<V, L> VisitCare<V, L> {
    /// The visit's current row.
    pub fn row(&self) -> &V {
        &self.row
    }

    /// The live lines with their upload order, in upload order.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = (i64, &L)> {
        self.lines.iter().map(|(seq, line)| (*seq, &**line))
    }
}

/// One person's visits (by `mdtrt_id`), each with its live lines: what the state changes in place.
#[derive(Debug)]
pub struct PersonCare<V, L> {
    visits: FxHashMap<String, Arc<VisitCare<V, L>>>,
    /// Live lines over all visits.
    line_count: usize,
}

impl<V, L> Default for PersonCare<V, L> {
    fn default() -> Self {
        PersonCare {
            visits: FxHashMap::default(),
            line_count: 0,
        }
    }
}

impl<V, L> PersonCare<V, L> {
    /// Records a visit's current row (new, or replacing its earlier row; its lines stay).
    pub fn upsert_visit(&mut self, mdtrt_id: &str, row: Arc<V>) {
        match self.visits.get_mut(mdtrt_id) {
            Some(visit) => {
                let lines = Arc::clone(&visit.lines);
                *visit = Arc::new(VisitCare { row, lines });
            }
            None => {
                let visit = VisitCare {
                    row,
                    lines: Arc::default(),
                };
                self.visits.insert(mdtrt_id.to_string(), Arc::new(visit));
            }
        }
    }

    /// Whether the person has this visit.
    pub fn has_visit(&self, mdtrt_id: &str) -> bool {
        self.visits.contains_key(mdtrt_id)
    }

    /// Records a new live line of one of the person's visits (`upload_seq`: its upload order);
    /// nothing when the visit is not held (the ledger's read joins lines to their visits).
    pub fn add_line(&mut self, mdtrt_id: &str, upload_seq: i64, line: Arc<L>) {
        let Some(visit) = self.visits.get_mut(mdtrt_id) else {
            return;
        };
        let lines = Arc::make_mut(&mut Arc::make_mut(visit).lines);
        if lines.insert(upload_seq, line).is_none() {
            self.line_count += 1;
        }
    }

    /// Forgets a cancelled line (nothing when it is not held).
    pub fn cancel_line(&mut self, mdtrt_id: &str, upload_seq: i64) {
        let Some(visit) = self.visits.get_mut(mdtrt_id) else {
            return;
        };
        if !visit.lines.contains_key(&upload_seq) {
            return;
        }
        let lines = Arc::make_mut(&mut Arc::make_mut(visit).lines);
        if lines.remove(&upload_seq).is_some() {
            self.line_count -= 1;
        }
    }

    /// The visits' ids, in no order.
    pub fn visit_ids(&self) -> impl Iterator<Item = &str> {
        self.visits.keys().map(String::as_str)
    }

    /// The most visits or lines held (what bounds the state of one person).
    pub fn largest_count(&self) -> usize {
        self.visits.len().max(self.line_count)
    }

    /// What a reader holds: the visits as they are now (pointers only, nothing copied).
    pub fn snapshot(&self) -> CareSnapshot<V, L> {
        CareSnapshot {
            visits: self.visits.values().cloned().collect(),
        }
    }
}

/// A person's visits and live lines as they were when taken; later changes do not reach it.
#[derive(Debug)]
pub struct CareSnapshot<V, L> {
    visits: Vec<Arc<VisitCare<V, L>>>,
}

impl<V, L> CareSnapshot<V, L> {
    /// The visits with their live lines, in no order.
    pub fn visits(&self) -> impl Iterator<Item = &VisitCare<V, L>> {
        self.visits.iter().map(|v| &**v)
    }

    /// The live lines of every visit with their visit's id, the latest upload first (`id`: a
    /// visit's id).
    pub fn lines_newest_first<'a>(
        &'a self,
        id: impl Fn(&'a V) -> &'a str,
    ) -> Vec<(&'a str, &'a L)> {
        let mut lines: Vec<(i64, &str, &L)> = self
            .visits
            .iter()
            .flat_map(|v| {
                let mdtrt_id = id(&v.row);
                v.lines().map(move |(seq, line)| (seq, mdtrt_id, line))
            })
            .collect();
        lines.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)));
        lines
            .into_iter()
            .map(|(_, mdtrt_id, line)| (mdtrt_id, line))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Care = PersonCare<(&'static str, u8), &'static str>;

    fn visit(care: &mut Care, id: &'static str, version: u8) {
        care.upsert_visit(id, Arc::new((id, version)));
    }

    #[test]
    fn lines_come_latest_first_and_a_cancellation_removes_only_its_line() {
        let mut care = Care::default();
        visit(&mut care, "V1", 1);
        visit(&mut care, "V2", 1);
        care.add_line("V1", 7, Arc::new("b"));
        care.add_line("V1", 3, Arc::new("a"));
        visit(&mut care, "V1", 2);
        care.add_line("V2", 9, Arc::new("c"));
        care.add_line("V3", 10, Arc::new("not held"));
        care.cancel_line("V1", 3);
        care.cancel_line("V1", 9);
        let snapshot = care.snapshot();
        let lines = snapshot.lines_newest_first(|v| v.0);
        assert_eq!(lines, vec![("V2", &"c"), ("V1", &"b")]);
        let mut rows: Vec<_> = snapshot.visits().map(|v| *v.row()).collect();
        rows.sort();
        assert_eq!(rows, vec![("V1", 2), ("V2", 1)]);
        assert_eq!(care.largest_count(), 2);
    }

    #[test]
    fn a_snapshot_keeps_what_it_saw_and_shares_what_did_not_change() {
        let mut care = Care::default();
        visit(&mut care, "V1", 1);
        visit(&mut care, "V2", 1);
        care.add_line("V1", 1, Arc::new("a"));
        care.add_line("V2", 2, Arc::new("b"));
        let before = care.snapshot();
        care.add_line("V1", 3, Arc::new("c"));
        care.cancel_line("V2", 2);
        visit(&mut care, "V2", 2);
        let after = care.snapshot();
        assert_eq!(
            before.lines_newest_first(|v| v.0),
            vec![("V2", &"b"), ("V1", &"a")]
        );
        assert_eq!(
            after.lines_newest_first(|v| v.0),
            vec![("V1", &"c"), ("V1", &"a")]
        );
        let line_of = |s: &CareSnapshot<(&'static str, u8), &'static str>, id: &str| {
            s.visits()
                .find(|v| v.row().0 == id)
                .and_then(|v| v.lines().next().map(|(_, l)| l as *const _))
        };
        assert_eq!(
            line_of(&before, "V1"),
            line_of(&after, "V1"),
            "a line is shared, not copied"
        );
        assert_eq!(care.largest_count(), 2);
    }
}
