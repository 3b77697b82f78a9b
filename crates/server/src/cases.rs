//! The admin API of cases (案件, issue 13 §4): open a case on a stored finding of a month's audit,
//! list and show cases, and move one along open → assigned → reviewed → confirmed (posting the
//! deduction, and for 追回 the recovery) or dismissed. The steps and their checks are
//! `yibao_ledger::audit_cases`; refused steps are answered 400 (a field), 404 (no such case) or 409
//! (the case's state does not allow it, or the deduction's month is paid).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yibao_audit::case::{CaseAction, CaseStatus, ConfirmType};
use yibao_domain::{Code, Fen};
use yibao_ledger::audit_cases::{self, Case, CaseStepError, Confirmation, Step};

use crate::admin::{now_text, parse_body, refuse, AdminQuery, AdminRefusal, GuardRefusal};
use crate::service::Service;

/// A case to open on a finding.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    /// The audited month (`yyyy-MM`) whose stored findings hold it.
    pub month: String,
    /// The finding's number in the month (1-based, the order of `yibao audit run --month`).
    pub finding_no: i64,
    /// The institution the case is against; needed when the finding names several.
    #[serde(default)]
    pub fixmedins_code: Option<String>,
    pub actor: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub evidence: String,
}

/// A step of a case: who, a note, evidence; `assignee` to assign; the confirmation's fields to
/// confirm.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseStep {
    pub actor: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub evidence: String,
    /// assign: the reviewer.
    #[serde(default)]
    pub assignee: Option<String>,
    /// confirm: 审核扣款, 稽核扣款 or 追回.
    #[serde(default, rename = "type")]
    pub confirm_type: Option<String>,
    /// confirm: yuan, e.g. `"120.50"`.
    #[serde(default)]
    pub amount: Option<String>,
    /// confirm: the scheme of the institution's payment deducted from.
    #[serde(default)]
    pub insutype: Option<String>,
    /// confirm: the payment's year and month (1–12) the deduction is posted against.
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub month: Option<u8>,
    /// confirm 追回: the fund the recovery is credited to.
    #[serde(default)]
    pub fund_pay_type: Option<String>,
}

fn required<T>(value: Option<T>, field: &'static str) -> Result<T, CaseStepError> {
    value.ok_or_else(|| CaseStepError::Invalid {
        field,
        problem: "确认须填写".into(),
    })
}

fn code(field: &'static str, text: &str) -> Result<Code, CaseStepError> {
    Code::new(text).map_err(|e| CaseStepError::Invalid {
        field,
        problem: e.to_string(),
    })
}

impl CaseStep {
    /// The step's actor, note and evidence, now.
    pub fn step(&self, at: String) -> Step {
        Step {
            actor: self.actor.clone(),
            note: self.note.clone(),
            evidence: self.evidence.clone(),
            at,
        }
    }

    /// The confirmation the step's fields describe (with the practitioners' points of its type
    /// under `points`); each missing or bad field is named.
    pub fn confirmation(
        &self,
        points: &yibao_audit::sanctions::PractitionerPolicy,
    ) -> Result<Confirmation, CaseStepError> {
        let type_text = required(self.confirm_type.as_deref(), "type")?;
        let confirm_type = ConfirmType::parse(type_text).ok_or_else(|| CaseStepError::Invalid {
            field: "type",
            problem: format!("`{type_text}` 不是 审核扣款、稽核扣款 或 追回"),
        })?;
        let amount_text = required(self.amount.as_deref(), "amount")?;
        let amount = Fen::parse_yuan(amount_text).map_err(|e| CaseStepError::Invalid {
            field: "amount",
            problem: format!("`{amount_text}` 不是金额（{e}）"),
        })?;
        Ok(Confirmation {
            confirm_type,
            amount,
            insutype: code("insutype", required(self.insutype.as_deref(), "insutype")?)?,
            year: required(self.year, "year")?,
            month: required(self.month, "month")?,
            fund: self
                .fund_pay_type
                .as_deref()
                .map(|f| code("fund_pay_type", f))
                .transpose()?,
            practitioner_points: points.case_points(confirm_type),
        })
    }
}

/// One step of a case as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventView {
    pub action: String,
    pub actor: String,
    pub note: String,
    pub evidence: String,
    pub at: String,
}

/// A case as answered (amounts in yuan, two decimals).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub case_id: String,
    pub finding_month: String,
    pub finding_no: i64,
    pub kind: String,
    pub finding_id: String,
    pub psn_nos: Vec<String>,
    pub fixmedins_code: String,
    pub mdtrt_ids: Vec<String>,
    pub amount_at_issue: String,
    pub reason: String,
    /// open, assigned, reviewed, confirmed, dismissed.
    pub status: String,
    pub status_name: String,
    pub assignee: String,
    /// 审核扣款, 稽核扣款 or 追回 once confirmed; empty before.
    pub confirm_type: String,
    pub confirmed_amount: String,
    /// The provider deduction posted on confirmation.
    pub deduction_id: String,
    pub opened_at: String,
    pub updated_at: String,
    pub events: Vec<CaseEventView>,
}

impl CaseView {
    /// The view of a stored case.
    pub fn of(case: Case) -> CaseView {
        CaseView {
            case_id: case.case_id,
            finding_month: case.finding_month,
            finding_no: case.finding_no,
            kind: case.kind,
            finding_id: case.finding_id,
            psn_nos: case.psn_nos,
            fixmedins_code: case.fixmedins_code,
            mdtrt_ids: case.mdtrt_ids,
            amount_at_issue: case.amount_at_issue.to_string(),
            reason: case.reason,
            status: case.status.as_str().to_string(),
            status_name: case.status.label().to_string(),
            assignee: case.assignee,
            confirm_type: case
                .confirm_type
                .map_or("", ConfirmType::as_str)
                .to_string(),
            confirmed_amount: case.confirmed_amount.to_string(),
            deduction_id: case.deduction_id,
            opened_at: case.opened_at,
            updated_at: case.updated_at,
            events: case
                .events
                .into_iter()
                .map(|e| CaseEventView {
                    action: e.action,
                    actor: e.actor,
                    note: e.note,
                    evidence: e.evidence,
                    at: e.at,
                })
                .collect(),
        }
    }
}

fn answer(result: Result<Case, CaseStepError>) -> Response {
    match result {
        Ok(case) => Json(CaseView::of(case)).into_response(),
        Err(CaseStepError::Invalid {
            field: "case_id",
            problem,
        }) => refuse(StatusCode::NOT_FOUND, problem),
        Err(e @ CaseStepError::Invalid { .. }) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e @ (CaseStepError::Transition(_) | CaseStepError::Deduction(_))) => {
            refuse(StatusCode::CONFLICT, e.to_string())
        }
        Err(CaseStepError::Ledger(e)) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Open a case on a stored finding (one case per finding).
#[utoipa::path(post, path = "/admin/cases", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = OpenCase, content_type = "application/json"),
    responses(
        (status = 200, description = "The case opened", body = CaseView),
        (status = 400, description = "No such finding, an institution it does not name, or already a case", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn open_case(State(service): State<Service>, body: axum::body::Bytes) -> Response {
    let request: OpenCase = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let step = Step {
        actor: request.actor,
        note: request.note,
        evidence: request.evidence,
        at: now_text(),
    };
    answer(
        audit_cases::open(
            &service.shared.store,
            &request.month,
            request.finding_no,
            request.fixmedins_code.as_deref(),
            &step,
        )
        .await,
    )
}

/// Which cases to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CaseFilter {
    /// Only cases in this state (open, assigned, reviewed, confirmed, dismissed).
    pub status: Option<String>,
}

/// List cases (without their steps), in the order opened.
#[utoipa::path(get, path = "/admin/cases", tag = "admin",
    security(("admin_token" = [])),
    params(CaseFilter),
    responses(
        (status = 200, description = "The cases", body = Vec<CaseView>),
        (status = 400, description = "An unknown state", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn list_cases(
    State(service): State<Service>,
    AdminQuery(filter): AdminQuery<CaseFilter>,
) -> Response {
    let status = match filter.status.as_deref() {
        None | Some("") => None,
        Some(text) => match CaseStatus::parse(text) {
            Some(status) => Some(status),
            None => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "status：`{text}` 不是 open、assigned、reviewed、confirmed 或 dismissed"
                    ),
                )
            }
        },
    };
    let listed = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        audit_cases::cases(&mut conn, status).await
    }
    .await;
    match listed {
        Ok(cases) => Json(cases.into_iter().map(CaseView::of).collect::<Vec<_>>()).into_response(),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Show a case with its steps.
#[utoipa::path(get, path = "/admin/cases/{case_id}", tag = "admin",
    security(("admin_token" = [])),
    params(("case_id" = String, Path, description = "The case (C + 8 digits)")),
    responses(
        (status = 200, description = "The case and its steps", body = CaseView),
        GuardRefusal,
        (status = 404, description = "No such case, or the admin API is off", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn show_case(
    State(service): State<Service>,
    Path(case_id): Path<String>,
) -> Response {
    let found = async {
        let mut conn = service.shared.store.pool().acquire().await?;
        audit_cases::case(&mut conn, &case_id).await
    }
    .await;
    match found {
        Ok(Some(case)) => Json(CaseView::of(case)).into_response(),
        Ok(None) => refuse(StatusCode::NOT_FOUND, format!("没有案件 {case_id}")),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Move a case: `assign` (with `assignee`), `review`, `confirm` (with `type`, `amount`, `insutype`,
/// `year`, `month`, and `fund_pay_type` for 追回) or `dismiss`.
#[utoipa::path(post, path = "/admin/cases/{case_id}/{action}", tag = "admin",
    security(("admin_token" = [])),
    params(
        ("case_id" = String, Path, description = "The case"),
        ("action" = String, Path, description = "assign, review, confirm or dismiss"),
    ),
    request_body(content = CaseStep, content_type = "application/json"),
    responses(
        (status = 200, description = "The case after the step", body = CaseView),
        (status = 400, description = "An unknown action or a missing or bad field (named)", body = AdminRefusal),
        GuardRefusal,
        (status = 404, description = "No such case, or the admin API is off", body = AdminRefusal),
        (status = 409, description = "The case's state does not allow the step, or the deduction's month is paid", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn step_case(
    State(service): State<Service>,
    Path((case_id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let Some(action) = CaseAction::parse(&action) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("`{action}` 不是 assign、review、confirm 或 dismiss"),
        );
    };
    let request: CaseStep = match parse_body(&body) {
        Ok(request) => request,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let taken = take_step(
        &service.shared.store,
        &service.shared.sanctions_policy.practitioner,
        &case_id,
        action,
        &request,
        now_text(),
    )
    .await;
    if action == CaseAction::Confirm && taken.is_ok() {
        if let Err(error) = service.shared.reload_sanctions().await {
            tracing::warn!(%error, "reloading sanctions after a confirmed case");
        }
    }
    answer(taken)
}

/// Takes one step of a case (the admin API and `yibao case` share it); a confirmation gives the
/// practitioners' points of `points`.
pub async fn take_step(
    store: &yibao_ledger::Store,
    points: &yibao_audit::sanctions::PractitionerPolicy,
    case_id: &str,
    action: CaseAction,
    request: &CaseStep,
    at: String,
) -> Result<Case, CaseStepError> {
    let step = request.step(at);
    match action {
        CaseAction::Confirm => {
            let confirmation = request.confirmation(points)?;
            audit_cases::confirm(store, case_id, &confirmation, &step).await
        }
        _ => audit_cases::act(store, case_id, action, request.assignee.as_deref(), &step).await,
    }
}
