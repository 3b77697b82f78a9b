//! Sanctions of fund supervision (`migrations/0023_sanctions.sql`): institutions' agreement
//! history, practitioners (医保医师) and their penalty points, persons' card suspensions, each
//! append-only and keyed by pooling region. Every request is checked field by field here (used by
//! the admin API and `yibao supervise`); every write bumps [`SANCTIONS_VERSION`] in its transaction,
//! so a running service reloads its copy ([`version`]).

use chrono::NaiveDate;
use sqlx::{AnyConnection, Connection, Row};
use yibao_audit::sanctions::{AgreementEvent, AgreementStatus, CardSuspension, PointEntry};

use crate::{registry, LedgerError, Store};

/// The counter every sanctions write bumps.
pub const SANCTIONS_VERSION: &str = "sanctions_version";
/// Longest reason, document number, name or operator accepted.
pub const TEXT_MAX_CHARS: usize = 500;
/// Most points one entry may give.
pub const POINTS_MAX: u32 = 12;

/// Why a sanctions request was refused.
#[derive(Debug, thiserror::Error)]
pub enum SanctionError {
    /// A field is wrong: its name and the problem, in Chinese.
    #[error("参数 {field} 有误：{problem}")]
    Invalid { field: String, problem: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<sqlx::Error> for SanctionError {
    fn from(error: sqlx::Error) -> SanctionError {
        SanctionError::Ledger(error.into())
    }
}

fn invalid(field: &str, problem: impl Into<String>) -> SanctionError {
    SanctionError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// A required text, trimmed, at most [`TEXT_MAX_CHARS`].
fn required_text(field: &str, text: &str) -> Result<String, SanctionError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(field, "不能为空"));
    }
    optional_text(field, text)
}

fn optional_text(field: &str, text: &str) -> Result<String, SanctionError> {
    let text = text.trim();
    if text.chars().count() > TEXT_MAX_CHARS || text.contains('\0') {
        return Err(invalid(
            field,
            format!("超过 {TEXT_MAX_CHARS} 个字符或含 NUL 字符"),
        ));
    }
    Ok(text.to_string())
}

fn date(field: &str, text: &str) -> Result<NaiveDate, SanctionError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=9999).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| invalid(field, format!("{text} 不是 yyyy-MM-dd 日期")))
}

fn stored_date(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<NaiveDate, LedgerError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| LedgerError::Corrupt {
        table,
        column,
        detail: format!("`{text}`: {e}"),
    })
}

/// An agreement step as requested.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgreementRequest {
    pub fixmedins_code: String,
    /// `active` (正常, also lifting a suspension), `suspended` (暂停) or `terminated` (解除).
    pub status: String,
    /// Effective day, `yyyy-MM-dd`.
    pub begndate: String,
    pub reason: String,
    /// The decision's document number (文号).
    pub doc_no: String,
    pub operator: String,
}

/// A stored agreement step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRow {
    pub fixmedins_code: String,
    pub event_no: i64,
    pub admdvs: String,
    pub event: AgreementEvent,
    pub operator: String,
    pub recorded_at: String,
}

/// A practitioner to register.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PractitionerRequest {
    /// National 医保医师代码, as fee lines carry it in `bilg_dr_codg`.
    pub dr_code: String,
    pub dr_name: String,
    /// The institution the practitioner practises at (its region is the practitioner's).
    pub fixmedins_code: String,
    pub operator: String,
}

/// A registered practitioner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PractitionerRow {
    pub dr_code: String,
    pub admdvs: String,
    pub dr_name: String,
    pub fixmedins_code: String,
    pub registered_at: String,
}

/// Penalty points to give.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointsRequest {
    /// 1 to 12.
    pub points: u32,
    /// The day of the violation, `yyyy-MM-dd`.
    pub occurred: String,
    pub reason: String,
    /// The confirmed case the points follow from (empty: given manually).
    #[serde(default)]
    pub case_id: String,
    pub operator: String,
}

/// Stored penalty points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointsRow {
    pub dr_code: String,
    pub event_no: i64,
    pub entry: PointEntry,
    pub reason: String,
    pub case_id: String,
    pub recorded_at: String,
}

/// A card suspension to record.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuspensionRequest {
    /// First day, `yyyy-MM-dd`.
    pub begndate: String,
    /// Last day (included), `yyyy-MM-dd`.
    pub enddate: String,
    pub reason: String,
    pub doc_no: String,
    pub operator: String,
}

/// A stored card suspension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspensionRow {
    pub psn_no: String,
    pub event_no: i64,
    pub admdvs: String,
    pub suspension: CardSuspension,
    pub recorded_at: String,
}

/// Everything stored, as a service keeps it.
#[derive(Debug, Clone, Default)]
pub struct AllSanctions {
    /// The [`SANCTIONS_VERSION`] read with them.
    pub version: i64,
    pub agreements: Vec<AgreementRow>,
    pub practitioners: Vec<PractitionerRow>,
    pub points: Vec<PointsRow>,
    pub suspensions: Vec<SuspensionRow>,
}

/// The current [`SANCTIONS_VERSION`].
pub async fn version(conn: &mut AnyConnection) -> Result<i64, LedgerError> {
    crate::cache::counter_value(conn, SANCTIONS_VERSION).await
}

async fn bump_version(conn: &mut AnyConnection) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO id_counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = id_counters.value + 1",
    )
    .bind(SANCTIONS_VERSION)
    .execute(conn)
    .await?;
    Ok(())
}

async fn next_event_no(
    conn: &mut AnyConnection,
    table: &str,
    key_column: &str,
    key: &str,
) -> Result<i64, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT COALESCE(MAX(event_no), 0) AS n FROM {table} WHERE {key_column} = $1"
    ))
    .bind(key.to_string())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? + 1)
}

/// Appends an agreement step of a registered institution; returns it as stored.
pub async fn add_agreement(
    store: &Store,
    request: &AgreementRequest,
    now: &str,
) -> Result<AgreementRow, SanctionError> {
    let status = AgreementStatus::parse(request.status.trim()).ok_or_else(|| {
        invalid(
            "status",
            "须为 active（正常）、suspended（暂停）或 terminated（解除）",
        )
    })?;
    let event = AgreementEvent {
        status,
        begndate: date("begndate", &request.begndate)?,
        reason: required_text("reason", &request.reason)?,
        doc_no: required_text("doc_no", &request.doc_no)?,
    };
    let operator = required_text("operator", &request.operator)?;
    let mut conn = store.pool().acquire().await?;
    let code = request.fixmedins_code.trim();
    let institution = registry::institution(&mut conn, code)
        .await?
        .ok_or_else(|| invalid("fixmedins_code", format!("定点医药机构 {code} 未登记")))?;
    let mut tx = conn.begin().await?;
    let event_no = next_event_no(&mut tx, "agreement_events", "fixmedins_code", code).await?;
    sqlx::query(
        "INSERT INTO agreement_events (fixmedins_code, event_no, admdvs, status, begndate, reason, \
         doc_no, operator, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(code.to_string())
    .bind(event_no)
    .bind(institution.admdvs.to_string())
    .bind(status.as_str())
    .bind(event.begndate.to_string())
    .bind(event.reason.clone())
    .bind(event.doc_no.clone())
    .bind(operator.clone())
    .bind(now.to_string())
    .execute(&mut *tx)
    .await?;
    bump_version(&mut tx).await?;
    tx.commit().await?;
    Ok(AgreementRow {
        fixmedins_code: code.to_string(),
        event_no,
        admdvs: institution.admdvs.to_string(),
        event,
        operator,
        recorded_at: now.to_string(),
    })
}

/// Registers a practitioner at a registered institution (registering the same code again is
/// refused: the register keeps the first).
pub async fn add_practitioner(
    store: &Store,
    request: &PractitionerRequest,
    now: &str,
) -> Result<PractitionerRow, SanctionError> {
    let dr_code = required_text("dr_code", &request.dr_code)?;
    if dr_code.chars().count() > 30 {
        return Err(invalid("dr_code", "超过 30 个字符"));
    }
    let dr_name = required_text("dr_name", &request.dr_name)?;
    let operator = required_text("operator", &request.operator)?;
    let mut conn = store.pool().acquire().await?;
    let code = request.fixmedins_code.trim();
    let institution = registry::institution(&mut conn, code)
        .await?
        .ok_or_else(|| invalid("fixmedins_code", format!("定点医药机构 {code} 未登记")))?;
    if practitioner(&mut conn, &dr_code).await?.is_some() {
        return Err(invalid("dr_code", format!("医保医师 {dr_code} 已登记")));
    }
    let mut tx = conn.begin().await?;
    sqlx::query(
        "INSERT INTO practitioners (dr_code, admdvs, dr_name, fixmedins_code, operator, registered_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(dr_code.clone())
    .bind(institution.admdvs.to_string())
    .bind(dr_name.clone())
    .bind(code.to_string())
    .bind(operator)
    .bind(now.to_string())
    .execute(&mut *tx)
    .await?;
    bump_version(&mut tx).await?;
    tx.commit().await?;
    Ok(PractitionerRow {
        dr_code,
        admdvs: institution.admdvs.to_string(),
        dr_name,
        fixmedins_code: code.to_string(),
        registered_at: now.to_string(),
    })
}

/// Gives a registered practitioner penalty points; a `case_id` must name a confirmed case.
pub async fn add_points(
    store: &Store,
    dr_code: &str,
    request: &PointsRequest,
    now: &str,
) -> Result<PointsRow, SanctionError> {
    if request.points == 0 || request.points > POINTS_MAX {
        return Err(invalid("points", format!("须在 1 到 {POINTS_MAX} 之间")));
    }
    let entry = PointEntry {
        date: date("occurred", &request.occurred)?,
        points: request.points,
    };
    let reason = required_text("reason", &request.reason)?;
    let case_id = optional_text("case_id", &request.case_id)?;
    let operator = required_text("operator", &request.operator)?;
    let mut conn = store.pool().acquire().await?;
    let registered = practitioner(&mut conn, dr_code)
        .await?
        .ok_or_else(|| invalid("dr_code", format!("医保医师 {dr_code} 未登记")))?;
    if !case_id.is_empty() {
        let case = crate::audit_cases::case(&mut conn, &case_id)
            .await?
            .ok_or_else(|| invalid("case_id", format!("案件 {case_id} 不存在")))?;
        if case.confirm_type.is_none() {
            return Err(invalid("case_id", format!("案件 {case_id} 尚未确认")));
        }
    }
    let mut tx = conn.begin().await?;
    let given = Given {
        entry,
        reason: &reason,
        case_id: &case_id,
        operator: &operator,
        now,
    };
    let row = insert_points(&mut tx, &registered, &given).await?;
    bump_version(&mut tx).await?;
    tx.commit().await?;
    Ok(row)
}

/// Points to record, with why, by whom and when.
struct Given<'a> {
    entry: PointEntry,
    reason: &'a str,
    case_id: &'a str,
    operator: &'a str,
    now: &'a str,
}

async fn insert_points(
    conn: &mut AnyConnection,
    registered: &PractitionerRow,
    given: &Given<'_>,
) -> Result<PointsRow, LedgerError> {
    let dr_code = registered.dr_code.as_str();
    let event_no = next_event_no(conn, "practitioner_points", "dr_code", dr_code).await?;
    sqlx::query(
        "INSERT INTO practitioner_points (dr_code, event_no, admdvs, points, occurred, reason, \
         case_id, operator, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(dr_code.to_string())
    .bind(event_no)
    .bind(registered.admdvs.clone())
    .bind(i64::from(given.entry.points))
    .bind(given.entry.date.to_string())
    .bind(given.reason.to_string())
    .bind(given.case_id.to_string())
    .bind(given.operator.to_string())
    .bind(given.now.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(PointsRow {
        dr_code: dr_code.to_string(),
        event_no,
        entry: given.entry,
        reason: given.reason.to_string(),
        case_id: given.case_id.to_string(),
        recorded_at: given.now.to_string(),
    })
}

/// A confirmed case's points: `points` on `occurred` for each registered practitioner who billed
/// a live line of the case's visits (`bilg_dr_codg`), recorded with the case id. Once per case and
/// practitioner: one who already holds points of the case gets none again, so a repeated
/// confirmation step adds nothing. Returns the points given now.
pub async fn add_case_points(
    store: &Store,
    case_id: &str,
    mdtrt_ids: &[String],
    entry: PointEntry,
    (reason, operator, now): (&str, &str, &str),
) -> Result<Vec<PointsRow>, LedgerError> {
    let mut conn = store.pool().acquire().await?;
    let billers = evidence_practitioners(&mut conn, mdtrt_ids).await?;
    let mut tx = conn.begin().await?;
    let given = Given {
        entry,
        reason,
        case_id,
        operator,
        now,
    };
    let mut rows = Vec::new();
    for dr_code in billers {
        let Some(registered) = practitioner(&mut tx, &dr_code).await? else {
            continue;
        };
        let held = sqlx::query(
            "SELECT 1 AS one FROM practitioner_points WHERE dr_code = $1 AND case_id = $2",
        )
        .bind(dr_code.clone())
        .bind(case_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_none() {
            rows.push(insert_points(&mut tx, &registered, &given).await?);
        }
    }
    if !rows.is_empty() {
        bump_version(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(rows)
}

/// The practitioners named on the live lines of the visits, once each, by code.
async fn evidence_practitioners(
    conn: &mut AnyConnection,
    mdtrt_ids: &[String],
) -> Result<std::collections::BTreeSet<String>, LedgerError> {
    let mut found = std::collections::BTreeSet::new();
    for mdtrt_id in mdtrt_ids {
        let rows = sqlx::query(
            "SELECT f.line FROM fee_lines f WHERE f.mdtrt_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM fee_line_cancels c WHERE c.mdtrt_id = f.mdtrt_id AND c.upload_seq = f.upload_seq)",
        )
        .bind(mdtrt_id.clone())
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let line: String = row.try_get("line")?;
            found.extend(crate::audit_claims::doctor_of(&line));
        }
    }
    Ok(found)
}

/// Records a registered person's card suspension (its region: the person's first insured place).
pub async fn add_suspension(
    store: &Store,
    psn_no: &str,
    request: &SuspensionRequest,
    now: &str,
) -> Result<SuspensionRow, SanctionError> {
    let suspension = CardSuspension {
        begndate: date("begndate", &request.begndate)?,
        enddate: date("enddate", &request.enddate)?,
        reason: required_text("reason", &request.reason)?,
        doc_no: required_text("doc_no", &request.doc_no)?,
    };
    if suspension.enddate < suspension.begndate {
        return Err(invalid("enddate", "早于 begndate"));
    }
    let operator = required_text("operator", &request.operator)?;
    let mut conn = store.pool().acquire().await?;
    let person = registry::person(&mut conn, psn_no)
        .await?
        .ok_or_else(|| invalid("psn_no", format!("人员 {psn_no} 未登记")))?;
    let admdvs = person
        .insu
        .first()
        .map(|row| row.insuplc_admdvs.to_string())
        .unwrap_or_default();
    let mut tx = conn.begin().await?;
    let event_no = next_event_no(&mut tx, "card_suspensions", "psn_no", psn_no).await?;
    sqlx::query(
        "INSERT INTO card_suspensions (psn_no, event_no, admdvs, begndate, enddate, reason, doc_no, \
         operator, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(psn_no.to_string())
    .bind(event_no)
    .bind(admdvs.clone())
    .bind(suspension.begndate.to_string())
    .bind(suspension.enddate.to_string())
    .bind(suspension.reason.clone())
    .bind(suspension.doc_no.clone())
    .bind(operator)
    .bind(now.to_string())
    .execute(&mut *tx)
    .await?;
    bump_version(&mut tx).await?;
    tx.commit().await?;
    Ok(SuspensionRow {
        psn_no: psn_no.to_string(),
        event_no,
        admdvs,
        suspension,
        recorded_at: now.to_string(),
    })
}

/// A practitioner by code.
pub async fn practitioner(
    conn: &mut AnyConnection,
    dr_code: &str,
) -> Result<Option<PractitionerRow>, LedgerError> {
    let row = sqlx::query(
        "SELECT dr_code, admdvs, dr_name, fixmedins_code, registered_at FROM practitioners \
         WHERE dr_code = $1",
    )
    .bind(dr_code.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| practitioner_of(&r)).transpose()
}

fn practitioner_of(r: &sqlx::any::AnyRow) -> Result<PractitionerRow, LedgerError> {
    Ok(PractitionerRow {
        dr_code: r.try_get("dr_code")?,
        admdvs: r.try_get("admdvs")?,
        dr_name: r.try_get("dr_name")?,
        fixmedins_code: r.try_get("fixmedins_code")?,
        registered_at: r.try_get("registered_at")?,
    })
}

/// Everything stored, with the version read first (a write after it is seen at the next reload).
pub async fn load_all(conn: &mut AnyConnection) -> Result<AllSanctions, LedgerError> {
    let version = version(conn).await?;
    let agreements = sqlx::query(
        "SELECT fixmedins_code, event_no, admdvs, status, begndate, reason, doc_no, operator, \
         recorded_at FROM agreement_events ORDER BY fixmedins_code, event_no",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(agreement_of)
    .collect::<Result<_, _>>()?;
    let practitioners = sqlx::query(
        "SELECT dr_code, admdvs, dr_name, fixmedins_code, registered_at FROM practitioners \
         ORDER BY dr_code",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(practitioner_of)
    .collect::<Result<_, _>>()?;
    let points = sqlx::query(
        "SELECT dr_code, event_no, points, occurred, reason, case_id, recorded_at \
         FROM practitioner_points ORDER BY dr_code, event_no",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(points_of)
    .collect::<Result<_, _>>()?;
    let suspensions = sqlx::query(
        "SELECT psn_no, event_no, admdvs, begndate, enddate, reason, doc_no, recorded_at \
         FROM card_suspensions ORDER BY psn_no, event_no",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(suspension_of)
    .collect::<Result<_, _>>()?;
    Ok(AllSanctions {
        version,
        agreements,
        practitioners,
        points,
        suspensions,
    })
}

fn agreement_of(r: &sqlx::any::AnyRow) -> Result<AgreementRow, LedgerError> {
    let status_text: String = r.try_get("status")?;
    let status = AgreementStatus::parse(&status_text).ok_or_else(|| LedgerError::Corrupt {
        table: "agreement_events",
        column: "status",
        detail: status_text.clone(),
    })?;
    let begndate: String = r.try_get("begndate")?;
    Ok(AgreementRow {
        fixmedins_code: r.try_get("fixmedins_code")?,
        event_no: r.try_get("event_no")?,
        admdvs: r.try_get("admdvs")?,
        event: AgreementEvent {
            status,
            begndate: stored_date("agreement_events", "begndate", &begndate)?,
            reason: r.try_get("reason")?,
            doc_no: r.try_get("doc_no")?,
        },
        operator: r.try_get("operator")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

fn points_of(r: &sqlx::any::AnyRow) -> Result<PointsRow, LedgerError> {
    let occurred: String = r.try_get("occurred")?;
    let points: i64 = r.try_get("points")?;
    let points = u32::try_from(points).map_err(|_| LedgerError::Corrupt {
        table: "practitioner_points",
        column: "points",
        detail: points.to_string(),
    })?;
    Ok(PointsRow {
        dr_code: r.try_get("dr_code")?,
        event_no: r.try_get("event_no")?,
        entry: PointEntry {
            date: stored_date("practitioner_points", "occurred", &occurred)?,
            points,
        },
        reason: r.try_get("reason")?,
        case_id: r.try_get("case_id")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

fn suspension_of(r: &sqlx::any::AnyRow) -> Result<SuspensionRow, LedgerError> {
    let begndate: String = r.try_get("begndate")?;
    let enddate: String = r.try_get("enddate")?;
    Ok(SuspensionRow {
        psn_no: r.try_get("psn_no")?,
        event_no: r.try_get("event_no")?,
        admdvs: r.try_get("admdvs")?,
        suspension: CardSuspension {
            begndate: stored_date("card_suspensions", "begndate", &begndate)?,
            enddate: stored_date("card_suspensions", "enddate", &enddate)?,
            reason: r.try_get("reason")?,
            doc_no: r.try_get("doc_no")?,
        },
        recorded_at: r.try_get("recorded_at")?,
    })
}
