//! Cases (案件, `migrations/0016_audit.sql`): a stored finding taken up by supervisors and moved
//! through the states of [`yibao_audit::case`]; every step is an event with its actor, note and
//! evidence. Confirming posts the amount as a provider deduction (`provider::post_deductions`, id
//! `CASE-<case_id>`) and, for 追回, a recovery into the fund's books (batch `case-<case_id>`, flow
//! `other_income`); care of another pooling region also becomes a deduction of that pair's next
//! clearing (`clearing_run::deduct_remote_case`, same id); all are idempotent, so a confirmation
//! interrupted half way is completed by confirming again. Supervision data, written on a pooled connection outside the settlement writer.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use yibao_audit::case::{transition, CaseAction, CaseError, CaseStatus, ConfirmType};
use yibao_domain::{Code, Fen};

use crate::audit_claims;
use crate::books::{self, BookRow};
use crate::columns::corrupt;
use crate::provider::{self, Deduction, DeductionError, DeductionKind};
use crate::{LedgerError, Store};

/// Name of the counter that numbers cases.
const CASE_COUNTER: &str = "audit_case_id";
/// Longest actor, assignee, note and evidence accepted.
pub const TEXT_MAX_CHARS: usize = 2_000;

/// A case and its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub case_id: String,
    pub finding_month: String,
    pub finding_no: i64,
    /// `rule` or `model`, and the rule id or model name.
    pub kind: String,
    pub finding_id: String,
    pub psn_nos: Vec<String>,
    /// The institution the case is against.
    pub fixmedins_code: String,
    pub mdtrt_ids: Vec<String>,
    pub amount_at_issue: Fen,
    pub reason: String,
    pub status: CaseStatus,
    pub assignee: String,
    /// Set once confirmed.
    pub confirm_type: Option<ConfirmType>,
    pub confirmed_amount: Fen,
    pub deduction_id: String,
    pub opened_at: String,
    pub updated_at: String,
    pub events: Vec<CaseEvent>,
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEvent {
    /// `open` or an action name (`assign`, `review`, `confirm`, `dismiss`).
    pub action: String,
    pub actor: String,
    pub note: String,
    pub evidence: String,
    pub at: String,
}

/// Why a case step was refused.
#[derive(Debug, thiserror::Error)]
pub enum CaseStepError {
    /// The request names something that is not there or not allowed (field, problem).
    #[error("{field}：{problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    /// The case's state does not allow the step.
    #[error(transparent)]
    Transition(#[from] CaseError),
    /// The deduction could not be posted (its month is paid, or its id conflicts).
    #[error("扣款未能记入：{0}")]
    Deduction(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<sqlx::Error> for CaseStepError {
    fn from(error: sqlx::Error) -> CaseStepError {
        CaseStepError::Ledger(error.into())
    }
}

fn invalid(field: &'static str, problem: impl Into<String>) -> CaseStepError {
    CaseStepError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// Who does a step, with the note and evidence given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    pub actor: String,
    pub note: String,
    pub evidence: String,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub at: String,
}

impl Step {
    fn check(&self) -> Result<(), CaseStepError> {
        if self.actor.trim().is_empty() {
            return Err(invalid("actor", "不能为空"));
        }
        for (field, text) in [
            ("actor", &self.actor),
            ("note", &self.note),
            ("evidence", &self.evidence),
        ] {
            if text.chars().count() > TEXT_MAX_CHARS {
                return Err(invalid(field, format!("超过 {TEXT_MAX_CHARS} 个字符")));
            }
        }
        Ok(())
    }
}

/// How a confirmed amount is taken back, and from which payment month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub confirm_type: ConfirmType,
    pub amount: Fen,
    /// The scheme and month of the institution's payment the deduction is posted against.
    pub insutype: Code,
    pub year: i32,
    pub month: u8,
    /// For 追回: the fund the recovery is credited to (`fund_pay_type`).
    pub fund: Option<Code>,
    /// Penalty points for each registered practitioner who billed the evidence (the sanctions
    /// policy's `case_points` of the type; 0: none).
    pub practitioner_points: u32,
}

const COLUMNS: &str = "case_id, finding_month, finding_no, kind, finding_id, psn_nos, fixmedins_code, \
    mdtrt_ids, amount_at_issue, reason, status, assignee, confirm_type, confirmed_amount, deduction_id, \
    opened_at, updated_at";

fn list(text: String) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn case_of(row: &AnyRow) -> Result<Case, LedgerError> {
    const TABLE: &str = "audit_cases";
    let status: String = row.try_get("status")?;
    let confirm_type: String = row.try_get("confirm_type")?;
    Ok(Case {
        case_id: row.try_get("case_id")?,
        finding_month: row.try_get("finding_month")?,
        finding_no: row.try_get("finding_no")?,
        kind: row.try_get("kind")?,
        finding_id: row.try_get("finding_id")?,
        psn_nos: list(row.try_get("psn_nos")?),
        fixmedins_code: row.try_get("fixmedins_code")?,
        mdtrt_ids: list(row.try_get("mdtrt_ids")?),
        amount_at_issue: Fen(row.try_get("amount_at_issue")?),
        reason: row.try_get("reason")?,
        status: CaseStatus::parse(&status).ok_or_else(|| corrupt(TABLE, "status", &status))?,
        assignee: row.try_get("assignee")?,
        confirm_type: match confirm_type.as_str() {
            "" => None,
            text => {
                Some(ConfirmType::parse(text).ok_or_else(|| corrupt(TABLE, "confirm_type", text))?)
            }
        },
        confirmed_amount: Fen(row.try_get("confirmed_amount")?),
        deduction_id: row.try_get("deduction_id")?,
        opened_at: row.try_get("opened_at")?,
        updated_at: row.try_get("updated_at")?,
        events: Vec::new(),
    })
}

/// Opens a case on finding `finding_no` of `month`'s stored findings, against `fixmedins_code` (one
/// of the finding's institutions; may be omitted when it names one). A finding has one case.
pub async fn open(
    store: &Store,
    month: &str,
    finding_no: i64,
    fixmedins_code: Option<&str>,
    step: &Step,
) -> Result<Case, CaseStepError> {
    step.check()?;
    let mut conn = store.pool().acquire().await?;
    let findings = audit_claims::findings(&mut conn, month).await?;
    let finding = usize::try_from(finding_no)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| findings.get(i))
        .ok_or_else(|| {
            invalid(
                "finding_no",
                format!(
                    "{month} 没有第 {finding_no} 条发现（共 {} 条）",
                    findings.len()
                ),
            )
        })?;
    let institution = match fixmedins_code {
        Some(code) if finding.fixmedins_codes.iter().any(|c| c == code) => code.to_string(),
        Some(code) => {
            return Err(invalid(
                "fixmedins_code",
                format!(
                    "{code} 不是该发现涉及的机构（{}）",
                    finding.fixmedins_codes.join("、")
                ),
            ))
        }
        None => match finding.fixmedins_codes.as_slice() {
            [only] => only.clone(),
            many => {
                return Err(invalid(
                    "fixmedins_code",
                    format!("该发现涉及多家机构（{}），须指明立案对象", many.join("、")),
                ))
            }
        },
    };
    let mut tx = conn.begin().await?;
    let existing =
        sqlx::query("SELECT case_id FROM audit_cases WHERE finding_month = $1 AND finding_no = $2")
            .bind(month.to_string())
            .bind(finding_no)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(row) = existing {
        let id: String = row.try_get("case_id")?;
        return Err(invalid("finding_no", format!("该发现已立案（案件 {id}）")));
    }
    let serial = crate::sql::next_counter(&mut tx, CASE_COUNTER).await?;
    let case_id = format!("C{serial:08}");
    sqlx::query(&format!(
        "INSERT INTO audit_cases ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', '', '', 0, '', $11, $11)"
    ))
    .bind(case_id.clone())
    .bind(month.to_string())
    .bind(finding_no)
    .bind(finding.kind.clone())
    .bind(finding.id.clone())
    .bind(finding.psn_nos.join(","))
    .bind(institution)
    .bind(finding.mdtrt_ids.join(","))
    .bind(finding.amount.fen())
    .bind(finding.reason.clone())
    .bind(step.at.clone())
    .execute(&mut *tx)
    .await?;
    add_event(&mut tx, &case_id, "open", step).await?;
    tx.commit().await?;
    let mut conn = store.pool().acquire().await?;
    Ok(case(&mut conn, &case_id)
        .await?
        .ok_or_else(|| corrupt("audit_cases", "case_id", &case_id))?)
}

async fn add_event(
    conn: &mut AnyConnection,
    case_id: &str,
    action: &str,
    step: &Step,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO audit_case_events (case_id, event_no, action, actor, note, evidence, at) \
         SELECT $1, COALESCE(MAX(event_no), 0) + 1, $2, $3, $4, $5, $6 FROM audit_case_events WHERE case_id = $1",
    )
    .bind(case_id.to_string())
    .bind(action.to_string())
    .bind(step.actor.clone())
    .bind(step.note.clone())
    .bind(step.evidence.clone())
    .bind(step.at.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// A case with its steps.
pub async fn case(conn: &mut AnyConnection, case_id: &str) -> Result<Option<Case>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_cases WHERE case_id = $1"
    ))
    .bind(case_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut found = case_of(&row)?;
    let events = sqlx::query(
        "SELECT action, actor, note, evidence, at FROM audit_case_events WHERE case_id = $1 ORDER BY event_no",
    )
    .bind(case_id.to_string())
    .fetch_all(conn)
    .await?;
    found.events = events
        .iter()
        .map(|r| {
            Ok(CaseEvent {
                action: r.try_get("action")?,
                actor: r.try_get("actor")?,
                note: r.try_get("note")?,
                evidence: r.try_get("evidence")?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<_, LedgerError>>()?;
    Ok(Some(found))
}

/// The cases (without their steps), in the order opened; only those of `status` when given.
pub async fn cases(
    conn: &mut AnyConnection,
    status: Option<CaseStatus>,
) -> Result<Vec<Case>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_cases WHERE $1 = '' OR status = $1 ORDER BY case_id"
    ))
    .bind(status.map_or("", CaseStatus::as_str).to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(case_of).collect()
}

/// Assigns, reviews or dismisses a case (confirmation is [`confirm`]); `assignee` is required to
/// assign.
pub async fn act(
    store: &Store,
    case_id: &str,
    action: CaseAction,
    assignee: Option<&str>,
    step: &Step,
) -> Result<Case, CaseStepError> {
    step.check()?;
    if action == CaseAction::Confirm {
        return Err(invalid("action", "确认须给出金额与类型"));
    }
    let assignee = match (action, assignee.map(str::trim)) {
        (CaseAction::Assign, Some(a)) if !a.is_empty() && a.chars().count() <= TEXT_MAX_CHARS => {
            Some(a.to_string())
        }
        (CaseAction::Assign, _) => return Err(invalid("assignee", "分派须指明审查人")),
        _ => None,
    };
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let current = status_of(&mut tx, case_id).await?;
    let next = transition(current, action)?;
    sqlx::query(
        "UPDATE audit_cases SET status = $2, assignee = COALESCE($3, assignee), updated_at = $4 \
         WHERE case_id = $1 AND status = $5",
    )
    .bind(case_id.to_string())
    .bind(next.as_str())
    .bind(assignee)
    .bind(step.at.clone())
    .bind(current.as_str())
    .execute(&mut *tx)
    .await?;
    add_event(&mut tx, case_id, action.as_str(), step).await?;
    tx.commit().await?;
    reread(store, case_id).await
}

async fn status_of(conn: &mut AnyConnection, case_id: &str) -> Result<CaseStatus, CaseStepError> {
    let row = sqlx::query("SELECT status FROM audit_cases WHERE case_id = $1")
        .bind(case_id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| invalid("case_id", format!("没有案件 {case_id}")))?;
    let status: String = row.try_get("status")?;
    Ok(CaseStatus::parse(&status).ok_or_else(|| corrupt("audit_cases", "status", &status))?)
}

async fn reread(store: &Store, case_id: &str) -> Result<Case, CaseStepError> {
    let mut conn = store.pool().acquire().await?;
    Ok(case(&mut conn, case_id)
        .await?
        .ok_or_else(|| corrupt("audit_cases", "case_id", case_id))?)
}

/// Confirms a reviewed case: posts the amount as a deduction from the institution's payment of the
/// named month (审核扣款 as kind 10; 稽核扣款 and 追回 as kind 20) and, for 追回, credits it to the fund's
/// books; gives the practitioners who billed the evidence their points
/// ([`crate::sanctions::add_case_points`], dated the day of confirmation); then marks the case
/// confirmed. Each posting is idempotent, so a confirmation interrupted midway can be repeated.
pub async fn confirm(
    store: &Store,
    case_id: &str,
    confirmation: &Confirmation,
    step: &Step,
) -> Result<Case, CaseStepError> {
    step.check()?;
    if confirmation.amount.fen() <= 0 {
        return Err(invalid("amount", "须为正数"));
    }
    if !(1..=12).contains(&confirmation.month) {
        return Err(invalid(
            "month",
            format!("{} 不是 1–12 月", confirmation.month),
        ));
    }
    let fund = match (confirmation.confirm_type, confirmation.fund) {
        (ConfirmType::Recovery, None) => {
            return Err(invalid("fund_pay_type", "追回须指明记入的基金"))
        }
        (_, fund) => fund,
    };
    let mut conn = store.pool().acquire().await?;
    let found = case(&mut conn, case_id)
        .await?
        .ok_or_else(|| invalid("case_id", format!("没有案件 {case_id}")))?;
    drop(conn);
    transition(found.status, CaseAction::Confirm)?;
    let deduction_id = format!("CASE-{case_id}");
    let deduction = Deduction {
        deduction_id: deduction_id.clone(),
        fixmedins_code: found.fixmedins_code.clone(),
        insutype: confirmation.insutype,
        year: confirmation.year,
        month: confirmation.month,
        kind: match confirmation.confirm_type {
            ConfirmType::AuditDeduction => DeductionKind::Audit,
            ConfirmType::InspectionDeduction | ConfirmType::Recovery => DeductionKind::Inspection,
        },
        amount: confirmation.amount,
        reason: format!(
            "案件 {case_id}（{}）{}：{}",
            found.finding_id,
            confirmation.confirm_type.as_str(),
            found.reason
        ),
    };
    provider::post_deductions(store, std::slice::from_ref(&deduction), &step.at)
        .await
        .map_err(|e| match e {
            DeductionError::Ledger(e) => CaseStepError::Ledger(e),
            other => CaseStepError::Deduction(other.to_string()),
        })?;
    crate::clearing_run::deduct_remote_case(store, &deduction, &found.mdtrt_ids, &step.at).await?;
    if let Some(fund) = fund.filter(|_| confirmation.confirm_type == ConfirmType::Recovery) {
        let batch = format!("case-{case_id}");
        if !books::batch_exists(store, &batch).await? {
            let row = BookRow {
                fund_pay_type: fund.as_str().to_string(),
                posting_date: step.at.get(..10).unwrap_or_default().to_string(),
                flow: "other_income".into(),
                amount: confirmation.amount,
            };
            books::insert_postings(store, &batch, &[row]).await?;
        }
    }
    if confirmation.practitioner_points > 0 {
        let day = step.at.get(..10).unwrap_or_default();
        let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| invalid("at", format!("{} 不是 yyyy-MM-dd 开头的时间", step.at)))?;
        let entry = yibao_audit::sanctions::PointEntry {
            date,
            points: confirmation.practitioner_points,
        };
        let reason = format!(
            "案件 {case_id}（{}）{}：{}",
            found.finding_id,
            confirmation.confirm_type.as_str(),
            found.reason
        );
        crate::sanctions::add_case_points(
            store,
            case_id,
            &found.mdtrt_ids,
            entry,
            (&reason, &step.actor, &step.at),
        )
        .await?;
    }
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query(
        "UPDATE audit_cases SET status = 'confirmed', confirm_type = $2, confirmed_amount = $3, \
         deduction_id = $4, updated_at = $5 WHERE case_id = $1 AND status = 'reviewed'",
    )
    .bind(case_id.to_string())
    .bind(confirmation.confirm_type.as_str())
    .bind(confirmation.amount.fen())
    .bind(deduction_id)
    .bind(step.at.clone())
    .execute(&mut *tx)
    .await?;
    add_event(&mut tx, case_id, CaseAction::Confirm.as_str(), step).await?;
    tx.commit().await?;
    reread(store, case_id).await
}
