//! Reads of a person's history across institutions, for the interface's routine queries (5201 就诊信息,
//! 5202 诊断信息, 5205 慢特病用药记录, 5303 在院信息): the person's visits and the live fee lines of
//! their visits of one medical type. Each read is bounded by [`HISTORY_ROWS_MAX`].

use chrono::NaiveDateTime;
use sqlx::{AnyConnection, Row};
use yibao_domain::codes::MedType;

use crate::audit_claims::{settled_line, SettledLine};
use crate::columns::{self, KeyedRow};
use crate::entries::{fee_line_of, visit_of, FEE_LINE_COLUMNS, VISIT_COLUMNS};
use crate::{FeeLine, LedgerError, Visit, VisitKind};

/// The most rows one history read returns; a longer history is cut at the newest rows.
pub const HISTORY_ROWS_MAX: i64 = 5_000;

/// A window of care time: visits that began no later than `to` and were open at or after `from`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CareWindow {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

impl CareWindow {
    /// Whether a visit from `begin` to `end` (open while `None`) shares a moment with the window.
    pub fn overlaps(&self, begin: NaiveDateTime, end: Option<NaiveDateTime>) -> bool {
        self.to.is_none_or(|to| begin <= to)
            && self
                .from
                .is_none_or(|from| end.is_none_or(|end| end >= from))
    }
}

/// Whether a stored visit shares a moment with `window` (as [`person_visits`] selects them).
pub fn visit_in(window: CareWindow, visit: &Visit) -> bool {
    window.overlaps(
        visit.begntime,
        care_end(visit.kind, visit.begntime, visit.endtime),
    )
}

/// When a visit's care ended, for windows: its end time; an outpatient visit without one is care of
/// the moment it began; an admission without one is still going on.
fn care_end(
    kind: VisitKind,
    begin: NaiveDateTime,
    end: Option<NaiveDateTime>,
) -> Option<NaiveDateTime> {
    match (end, kind) {
        (Some(end), _) => Some(end),
        (None, VisitKind::Inpatient) => None,
        (None, _) => Some(begin),
    }
}

/// The person's visits at every institution that share a moment with `window`, newest first
/// (at most [`HISTORY_ROWS_MAX`]).
pub async fn person_visits(
    conn: &mut AnyConnection,
    psn_no: &str,
    window: CareWindow,
) -> Result<Vec<Visit>, LedgerError> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM visits WHERE psn_no = $1 \
         ORDER BY begntime DESC, mdtrt_id DESC LIMIT {HISTORY_ROWS_MAX}"
    );
    let rows = sqlx::query(&sql)
        .bind(psn_no.to_string())
        .fetch_all(conn)
        .await?;
    let mut visits = Vec::with_capacity(rows.len());
    for row in &rows {
        let visit = visit_of(row)?;
        if visit_in(window, &visit) {
            visits.push(visit);
        }
    }
    Ok(visits)
}

/// A live fee line with the visit facts a history row shows.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryLine {
    pub fixmedins_code: String,
    pub med_type: MedType,
    pub line: FeeLine,
}

/// The live (uploaded, not cancelled) fee lines of the person's visits of `med_type` at every
/// institution that share a moment with `window`, newest first (at most [`HISTORY_ROWS_MAX`]).
pub async fn person_fee_lines(
    conn: &mut AnyConnection,
    psn_no: &str,
    med_type: MedType,
    window: CareWindow,
) -> Result<Vec<HistoryLine>, LedgerError> {
    let sql = format!(
        "SELECT {FEE_LINE_COLUMNS}, v.fixmedins_code AS visit_fixmedins_code, v.med_type AS visit_med_type, \
         v.begntime AS visit_begntime, v.endtime AS visit_endtime, v.kind AS visit_kind \
         FROM fee_lines f JOIN visits v ON v.mdtrt_id = f.mdtrt_id \
         LEFT JOIN fee_line_events e ON e.event_seq = f.event_seq \
         WHERE v.psn_no = $1 AND v.med_type = $2 \
         AND NOT EXISTS (SELECT 1 FROM fee_line_cancels c WHERE c.mdtrt_id = f.mdtrt_id AND c.upload_seq = f.upload_seq) \
         ORDER BY f.upload_seq DESC LIMIT {HISTORY_ROWS_MAX}"
    );
    let rows = sqlx::query(&sql)
        .bind(psn_no.to_string())
        .bind(med_type.as_str().to_string())
        .fetch_all(conn)
        .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let visit = KeyedRow::new(row, "visits", "mdtrt_id")?;
        // The visit's columns under their `visit_` aliases, a damage named by the column.
        let column = |name: &str| row.try_get::<&str, _>(format!("visit_{name}").as_str());
        let begin = visit.checked("begntime", column("begntime")?, columns::parse_time)?;
        let kind = visit.checked("kind", column("kind")?, VisitKind::parse)?;
        let end = visit.checked("endtime", column("endtime")?, columns::parse_optional_time)?;
        if !window.overlaps(begin, care_end(kind, begin, end)) {
            continue;
        }
        lines.push(HistoryLine {
            fixmedins_code: row.try_get("visit_fixmedins_code")?,
            med_type: visit.checked(
                "med_type",
                column("med_type")?,
                columns::table_code(MedType::from_code),
            )?,
            line: fee_line_of(row)?,
        });
    }
    Ok(lines)
}

/// A live line of a person's history: its visit, upload order and the columns the audit reads.
pub type AuditLine = (String, i64, SettledLine);

/// The live fee lines of all the person's visits with their `mdtrt_id` and `upload_seq`, newest first (at most
/// [`HISTORY_ROWS_MAX`]), in the few columns the audit reads (the split stored at upload; lines
/// stored before migration 0006 have none and are left out): one indexed read, no line JSON.
pub async fn person_audit_lines(
    conn: &mut AnyConnection,
    psn_no: &str,
) -> Result<Vec<AuditLine>, LedgerError> {
    let sql = format!(
        "SELECT f.mdtrt_id, f.upload_seq, f.med_list_codg, f.cnt_e4, f.pric_micro_yuan, f.det_item_fee_sumamt, \
         f.fulamt_ownpay_amt, f.med_chrgitm_type \
         FROM visits v JOIN fee_lines f ON f.mdtrt_id = v.mdtrt_id \
         WHERE v.psn_no = $1 AND f.med_list_codg IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM fee_line_cancels c WHERE c.mdtrt_id = f.mdtrt_id AND c.upload_seq = f.upload_seq) \
         ORDER BY f.upload_seq DESC LIMIT {HISTORY_ROWS_MAX}"
    );
    let rows = sqlx::query(&sql)
        .bind(psn_no.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("mdtrt_id")?,
                row.try_get("upload_seq")?,
                settled_line(row, None)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn a_window_holds_visits_that_share_a_moment_with_it() {
        let window = CareWindow {
            from: Some(at("2025-03-01 00:00:00")),
            to: Some(at("2025-03-31 23:59:59")),
        };
        assert!(window.overlaps(at("2025-02-20 08:00:00"), None));
        assert!(window.overlaps(at("2025-02-20 08:00:00"), Some(at("2025-03-01 00:00:00"))));
        assert!(!window.overlaps(at("2025-02-20 08:00:00"), Some(at("2025-02-28 23:59:59"))));
        assert!(!window.overlaps(at("2025-04-01 00:00:00"), None));
        assert!(CareWindow::default().overlaps(at("1999-01-01 00:00:00"), None));
    }
}
