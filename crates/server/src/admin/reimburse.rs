//! 零星报销 / 手工报销 (`/admin/reimbursements`, issue 11 §5): care that was not settled directly
//! (unfiled, an institution not networked, paid in cash) entered at the counter from its invoice
//! and settled under the insured place's policy and catalogue, at the rate its filing status gets
//! when reimbursed (`[remote] manual_claims`). The settlement is a normal ledger entry written by
//! the ledger writer — it counts in the accumulators (5206) and the fund's books; the account
//! does not pay — under the counter's code [`COUNTER_CODE`], with the invoice (`psn_no`, `invono`)
//! as its message id, so the same invoice again answers the stored receipt. A cancellation appends
//! the exact negation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use yibao_domain::codes::{ClrType, ClrWay, FixmedinsType, MedType};
use yibao_domain::{Code, Fen, SetlAmounts};
use yibao_ledger::entries::StoredMessage;
use yibao_ledger::{
    Decision, EntryKind, Institution, LedgerView, SettlementHeader, SettlementRecord,
};
use yibao_policy::{FilingStatus, Policy, Region};
use yibao_settlement::{Engine, FeeLine, Settlement};
use yibao_wire::render::{line_results, LineOrigin, LineResult, SetldetailRow, SetlinfoAmounts};

use super::{parse_body, refuse, AdminRefusal, GuardRefusal};
use crate::envelope::{wire_time, Request};
use crate::error::TxError;
use crate::filing_register::{self, StayQuery};
use crate::service::Service;
use crate::state::Shared;
use crate::tx::common;
use crate::tx::settle::{self, IssuedId};
use crate::tx::{Ctx, Effect};
use crate::writer::{WriteJob, WriteOutcome};

/// The counter's code: the `fixmedins_code` of a reimbursement's ledger entry and stored message.
pub const COUNTER_CODE: &str = yibao_ledger::MANUAL_CLAIM_FIXMEDINS_CODE;
/// `infno` of a reimbursement's ledger entry and message.
pub const REIMBURSE_INFNO: &str = "ZXBX01";
/// `infno` of the cancellation of a reimbursement.
pub const CANCEL_INFNO: &str = "ZXBX02";
/// Most invoice lines in one reimbursement.
pub const MAX_LINES: usize = 1000;
/// Longest text fields, in characters.
const ID_MAX: usize = 30;
const INVONO_MAX: usize = 50;
const NAME_MAX: usize = 200;
const CODE_MAX: usize = 50;
/// Largest amount of one invoice line (一亿元), so that no sum of lines can overflow.
const LINE_AMOUNT_MAX: Fen = Fen(10_000_000_000);

/// One invoice line. Amounts are yuan (numbers or text), exact to the fen.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InvoiceLine {
    /// The national code (医保目录编码) when known; absent or unknown: 全自费.
    #[serde(default)]
    pub med_list_codg: String,
    /// The item as the invoice names it.
    pub name: String,
    /// Quantity (≤ 4 decimals, > 0).
    #[serde(deserialize_with = "yibao_wire::lenient::scaled::<_, 4>")]
    #[schema(value_type = String, example = "2")]
    pub cnt: i64,
    /// Unit price (≤ 6 decimals).
    #[serde(deserialize_with = "yibao_wire::lenient::scaled::<_, 6>")]
    #[schema(value_type = String, example = "35.50")]
    pub pric: i64,
    /// Line amount (authoritative; must equal quantity × price within the policy's tolerance).
    #[serde(deserialize_with = "yibao_wire::lenient::yuan")]
    #[schema(value_type = String, example = "71.00")]
    pub det_item_fee_sumamt: Fen,
}

/// A reimbursement as the counter enters it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReimbursementRequest {
    pub psn_no: String,
    pub insutype: String,
    /// Where the care was: the institution's region code (6 digits).
    pub medins_admdvs: String,
    /// The institution's name as on the invoice.
    pub medins_name: String,
    /// Its code, when known.
    #[serde(default)]
    pub medins_code: String,
    /// Its level (`hosp_lv`), as the insured place's policy reads it.
    pub hosp_lv: String,
    pub med_type: String,
    /// Care began / ended, `yyyy-MM-dd HH:mm:ss`.
    pub begntime: String,
    pub endtime: String,
    #[serde(default)]
    pub dise_codg: String,
    /// The invoice number: one reimbursement per person and invoice.
    pub invono: String,
    /// The counter clerk.
    pub operator: String,
    pub lines: Vec<InvoiceLine>,
}

/// One invoice line of a receipt: what the invoice said and how the catalogue split it (`memo`:
/// why a part is 全自费).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLine {
    pub name: String,
    pub med_list_codg: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub split: LineResult,
}

/// A reimbursement's receipt, or its cancellation's: the settlement's amounts (`setlinfo`, national
/// columns), every fund row with why (`setldetail`), the lines' split, and all of it as text.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub ok: bool,
    pub setl_id: String,
    /// The reimbursement a cancellation cancels; empty on a reimbursement.
    pub orig_setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub insutype: String,
    pub invono: String,
    pub medins_admdvs: String,
    pub medins_name: String,
    /// The filing status at the care dates, and the rates it was settled at.
    pub filing_status: String,
    pub rates: String,
    pub setl_time: String,
    #[schema(value_type = Object)]
    pub setlinfo: SetlinfoAmounts,
    #[schema(value_type = Vec<Object>)]
    pub setldetail: Vec<SetldetailRow>,
    pub lines: Vec<ReceiptLine>,
    /// The settlement's calculation, step by step.
    pub trace: Vec<String>,
    /// The receipt as printed at the counter.
    pub text: String,
}

/// A write of the counter, run by the ledger writer like a message.
pub enum CounterStep {
    /// Settle an invoice (its checked request and the digest it is stored under).
    Reimburse(Box<ReimbursementRequest>, String),
    /// Cancel a reimbursement by its `setl_id`.
    Cancel(String),
}

/// A refusal of the counter's step, as the writer's reply carries it.
#[derive(Serialize, Deserialize)]
struct StepRefusal {
    ok: bool,
    status: u16,
    error: String,
}

/// Reimburse an invoice
///
/// Settles care not settled directly (零星报销) from its invoice, under the insured place's policy
/// and catalogue, at the rate the filing status at the care dates gets when reimbursed; the
/// account does not pay. The same person and invoice again answers the stored receipt; with other
/// content it is refused.
#[utoipa::path(post, path = "/admin/reimbursements", tag = "admin",
    security(("admin_token" = [])),
    request_body(content = ReimbursementRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The receipt", body = Receipt),
        (status = 400, description = "A field is wrong (named, in Chinese)", body = AdminRefusal),
        GuardRefusal,
        (status = 409, description = "The invoice was reimbursed with other content", body = AdminRefusal),
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn post_reimbursement(
    State(service): State<Service>,
    body: axum::body::Bytes,
) -> Response {
    let value: Value = match parse_body(&body) {
        Ok(value) => value,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    let request: ReimbursementRequest = match common::parse(&value, "body") {
        Ok(request) => request,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, error.to_string()),
    };
    if let Err(error) = check(&request) {
        return refuse(StatusCode::BAD_REQUEST, error.to_string());
    }
    let digest = content_digest(value);
    let key = invoice_key(&request.psn_no, &request.invono);
    let step = CounterStep::Reimburse(Box::new(request), digest);
    submit(&service, key, step).await
}

/// Cancel a reimbursement
///
/// Appends the exact negation of a reimbursement (amounts, fund rows, accumulator postings).
/// Cancelling it again answers the stored cancellation.
#[utoipa::path(post, path = "/admin/reimbursements/{setl_id}/cancel", tag = "admin",
    security(("admin_token" = [])),
    params(("setl_id" = String, Path, description = "The reimbursement's settlement id")),
    responses(
        (status = 200, description = "The cancellation's receipt", body = Receipt),
        (status = 400, description = "Not a reimbursement, or already cancelled", body = AdminRefusal),
        GuardRefusal,
        (status = 503, description = "Storage unavailable", body = AdminRefusal),
    ))]
pub(crate) async fn cancel_reimbursement(
    State(service): State<Service>,
    Path(setl_id): Path<String>,
) -> Response {
    if setl_id.is_empty() || setl_id.len() > ID_MAX || !setl_id.bytes().all(|b| b.is_ascii_digit())
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("参数 setl_id 有误：{setl_id} 不是结算ID（不超过 {ID_MAX} 位数字）"),
        );
    }
    let key = format!("cancel|{setl_id}");
    submit(&service, key, CounterStep::Cancel(setl_id)).await
}

/// The message id of a person's invoice (`psn_no` holds no `|`, checked).
fn invoice_key(psn_no: &str, invono: &str) -> String {
    format!("{psn_no}|{invono}")
}

/// What a repeated submission must match: the request as sent, without who entered it.
fn content_digest(mut value: Value) -> String {
    if let Some(object) = value.as_object_mut() {
        object.remove("operator");
    }
    crate::state::source_digest(&value.to_string())
}

fn counter_request(infno: &str, msgid: String) -> Request {
    Request {
        infno: infno.to_string(),
        msgid,
        mdtrtarea_admvs: String::new(),
        insuplc_admdvs: String::new(),
        fixmedins_code: COUNTER_CODE.to_string(),
        opter: String::new(),
        inf_time: String::new(),
        sign_no: String::new(),
        input: Value::Null,
        received_digest: None,
    }
}

/// Runs a counter step on the writer: the receipt, a refusal (400/409) or a storage failure (503).
async fn submit(service: &Service, key: String, step: CounterStep) -> Response {
    let infno = match step {
        CounterStep::Reimburse(..) => REIMBURSE_INFNO,
        CounterStep::Cancel(_) => CANCEL_INFNO,
    };
    let platform_admdvs =
        match common::code("platform_admdvs", &service.shared.config.platform_admdvs) {
            Ok(code) => code,
            Err(error) => return refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
        };
    let institution = Institution {
        fixmedins_code: COUNTER_CODE.into(),
        fixmedins_name: "零星报销窗口".into(),
        fixmedins_type: FixmedinsType::MedicalInstitution,
        hosp_lv: Code::default(),
        admdvs: platform_admdvs,
    };
    let job = WriteJob {
        request: counter_request(infno, key),
        institution,
        received_at: now(),
        inf_refmsgid: String::new(),
        peer: None,
        counter: Some(step),
    };
    let json = |status: StatusCode, body: String| {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    };
    match service.writer.submit(job).await {
        Ok(outcome) if outcome.success => json(StatusCode::OK, outcome.reply),
        Ok(outcome) => match serde_json::from_str::<StepRefusal>(&outcome.reply) {
            Ok(refusal) => refuse(
                StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST),
                refusal.error,
            ),
            Err(_) => refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                envelope_err_msg(&outcome.reply),
            ),
        },
        Err(error) => refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// The `err_msg` of a reply envelope the writer answered instead of the step (a failure on the
/// bureau's side), not the envelope's JSON.
fn envelope_err_msg(reply: &str) -> String {
    serde_json::from_str::<Value>(reply)
        .ok()
        .and_then(|envelope| envelope["err_msg"].as_str().map(str::to_string))
        .unwrap_or_else(|| reply.to_string())
}

fn now() -> NaiveDateTime {
    chrono::Local::now().naive_local()
}

/// A text field: trimmed, not empty unless `optional`, at most `max` characters, no control
/// characters.
fn text(field: &str, value: &str, max: usize, optional: bool) -> Result<(), TxError> {
    let trimmed = value.trim();
    if trimmed.is_empty() && !optional {
        return Err(TxError::new(field, "不能为空"));
    }
    if trimmed.chars().count() > max {
        return Err(TxError::new(field, format!("超过 {max} 个字符")));
    }
    if trimmed.chars().any(char::is_control) || trimmed != value {
        return Err(TxError::new(field, "含有控制字符或首尾空白"));
    }
    Ok(())
}

/// Every field of a request, bounded and checked before anything is read or written.
fn check(request: &ReimbursementRequest) -> Result<(), TxError> {
    text("body.psn_no", &request.psn_no, ID_MAX, false)?;
    if request.psn_no.contains('|') {
        return Err(TxError::new("body.psn_no", "不能含有 |"));
    }
    text("body.insutype", &request.insutype, 6, false)?;
    if request.medins_admdvs.len() != 6
        || !request.medins_admdvs.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(TxError::new(
            "body.medins_admdvs",
            format!("{} 不是 6 位行政区划代码", request.medins_admdvs),
        ));
    }
    text("body.medins_name", &request.medins_name, NAME_MAX, false)?;
    text("body.medins_code", &request.medins_code, ID_MAX, true)?;
    text("body.hosp_lv", &request.hosp_lv, 6, false)?;
    text("body.med_type", &request.med_type, 6, false)?;
    text("body.dise_codg", &request.dise_codg, CODE_MAX, true)?;
    text("body.invono", &request.invono, INVONO_MAX, false)?;
    text("body.operator", &request.operator, CODE_MAX, false)?;
    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        return Err(TxError::new(
            "body.lines",
            format!("须有 1 至 {MAX_LINES} 条发票明细"),
        ));
    }
    for (i, line) in request.lines.iter().enumerate() {
        let field = |name: &str| format!("body.lines[{i}].{name}");
        text(&field("name"), &line.name, NAME_MAX, false)?;
        text(&field("med_list_codg"), &line.med_list_codg, CODE_MAX, true)?;
        if line.cnt <= 0 {
            return Err(TxError::new(field("cnt"), "数量须大于 0"));
        }
        if line.pric < 0 {
            return Err(TxError::new(field("pric"), "单价不能为负"));
        }
        if line.det_item_fee_sumamt < Fen::ZERO || line.det_item_fee_sumamt > LINE_AMOUNT_MAX {
            return Err(TxError::new(
                field("det_item_fee_sumamt"),
                "金额须在 0 至 100000000.00 元之间",
            ));
        }
    }
    Ok(())
}

/// Runs a counter step on the writer's view.
pub(crate) async fn run(
    shared: &Shared,
    ledger: &mut LedgerView<'_>,
    job: &WriteJob,
    step: &CounterStep,
) -> Result<(Decision, WriteOutcome), TxError> {
    let ctx = Ctx {
        shared,
        request: &job.request,
        institution: &job.institution,
        now: job.received_at,
    };
    let stored = ledger
        .stored_message(COUNTER_CODE, &job.request.msgid)
        .await?;
    let digest = match step {
        CounterStep::Reimburse(_, digest) => digest.clone(),
        CounterStep::Cancel(_) => job.request.msgid.clone(),
    };
    if let Some(stored) = stored {
        if stored.request_digest != digest {
            let problem = format!(
                "参数 body.invono 有误：发票 {} 已报销（结算ID {}），内容与本次不同",
                job.request.msgid, stored.effect_ref
            );
            return Ok(refused(StatusCode::CONFLICT, problem));
        }
        return Ok(answered(stored.reply, Decision::Rollback));
    }
    let done = match step {
        CounterStep::Reimburse(request, _) => reimburse(&ctx, ledger, request).await,
        CounterStep::Cancel(setl_id) => cancel(&ctx, ledger, setl_id).await,
    };
    let (record, receipt) = match done {
        Ok(done) => done,
        Err(error) if error.field == crate::error::STORAGE => return Err(error),
        Err(error) => return Ok(refused(StatusCode::BAD_REQUEST, error.to_string())),
    };
    ledger.append_settlement(record.clone()).await?;
    let reply = serde_json::to_string(&receipt).map_err(|e| common::unencodable(&e))?;
    ledger
        .store_message(StoredMessage {
            fixmedins_code: COUNTER_CODE.to_string(),
            msgid: job.request.msgid.clone(),
            infno: job.request.infno.clone(),
            effect_ref: record.header.setl_id.clone(),
            reply: reply.clone(),
            created_at: wire_time(job.received_at),
            request_digest: digest,
        })
        .await?;
    Ok(answered(reply, Decision::Commit))
}

fn answered(reply: String, decision: Decision) -> (Decision, WriteOutcome) {
    (
        decision,
        WriteOutcome {
            reply,
            success: true,
            effect: Effect::None,
            download: None,
        },
    )
}

fn refused(status: StatusCode, error: String) -> (Decision, WriteOutcome) {
    let refusal = StepRefusal {
        ok: false,
        status: status.as_u16(),
        error,
    };
    (
        Decision::Rollback,
        WriteOutcome {
            reply: serde_json::to_string(&refusal).unwrap_or_default(),
            success: false,
            effect: Effect::None,
            download: None,
        },
    )
}

/// The insured place's policy and its own catalogue in force on the day care began.
fn insured_rules(
    ctx: &Ctx<'_>,
    insured: &str,
    care_date: chrono::NaiveDate,
) -> Result<
    (
        std::sync::Arc<Policy>,
        std::sync::Arc<yibao_catalog::Catalog>,
    ),
    TxError,
> {
    let regions = ctx.shared.regions();
    let policy = regions
        .policy_for(insured)
        .ok_or_else(|| TxError::new("body.psn_no", format!("参保地 {insured} 没有加载医保政策")))?;
    let region = policy.parsed.policy.admdvs.as_str();
    let catalog = regions
        .catalog_on(region, care_date)
        .ok_or_else(|| TxError::new("body.psn_no", format!("参保地 {region} 没有加载医保目录")))?;
    Ok((
        std::sync::Arc::clone(&policy.parsed),
        std::sync::Arc::clone(&catalog.parsed),
    ))
}

/// The engine's lines of an invoice.
fn fee_lines(request: &ReimbursementRequest) -> Vec<FeeLine> {
    request
        .lines
        .iter()
        .map(|line| FeeLine {
            med_list_codg: line.med_list_codg.clone(),
            cnt_e4: line.cnt,
            pric_micro_yuan: line.pric,
            amount: line.det_item_fee_sumamt,
            hosp_appr_flag: Code::lit("0"),
        })
        .collect()
}

/// An engine error as a field of the request (`feedetail[3]…` is `body.lines[3]…`).
fn engine_error(error: &yibao_settlement::SettleError) -> TxError {
    let field = error.field();
    let field = match field.strip_prefix("feedetail") {
        Some(rest) => format!("body.lines{rest}"),
        None => format!("body.{field}"),
    };
    TxError::new(field, error.problem())
}

/// The rate class of care reimbursed at `medins_admdvs` with filing status `filing`, refused when
/// the policy reimburses no such care.
fn rates_for(
    policy: &Policy,
    medins_admdvs: &str,
    filing: Option<FilingStatus>,
) -> Result<(String, String), TxError> {
    let Some(status) = filing else {
        return Ok(("统筹区内".into(), "统筹区内待遇".into()));
    };
    let place = policy
        .manual_claim_place(medins_admdvs, status)
        .map_err(|refusal| {
            TxError::new(
                "body.medins_admdvs",
                format!(
                    "{}（{}）的{}异地就医，参保地政策 remote.manual_claims 未规定报销待遇",
                    policy.policy.name,
                    policy.policy.version,
                    refusal.status.label()
                ),
            )
        })?;
    let rates = match place.region {
        Region::In => "统筹区内待遇",
        Region::OutReferred => "异地转诊待遇",
        Region::OutUnreferred => "异地未转诊待遇",
    };
    Ok((status.label().to_string(), rates.to_string()))
}

/// Settles an invoice: the ledger entry and its receipt.
async fn reimburse(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    request: &ReimbursementRequest,
) -> Result<(SettlementRecord, Receipt), TxError> {
    let person = common::registered_person(ledger, "body.psn_no", &request.psn_no).await?;
    let insu = common::insu_row(&person, "body.insutype", &request.insutype)?.clone();
    let begin = common::datetime("body.begntime", &request.begntime)?;
    let end = common::datetime("body.endtime", &request.endtime)?;
    common::check_care_time(ctx, "body.begntime", begin)?;
    common::check_care_time(ctx, "body.endtime", end)?;
    if end < begin {
        return Err(TxError::new("body.endtime", "结束时间早于开始时间"));
    }
    let (policy, catalog) = insured_rules(ctx, insu.insuplc_admdvs.as_str(), begin.date())?;
    let stay = StayQuery {
        psn_no: &person.psn_no,
        insutype: insu.insutype.as_str(),
        medins_admdvs: &request.medins_admdvs,
        begin: begin.date(),
        end: end.date(),
        emergency: false,
    };
    let filing = filing_register::status_of_stay(ledger.conn(), &policy, stay).await?;
    let (filing_status, rates) = rates_for(&policy, &request.medins_admdvs, filing)?;
    let visit = yibao_settlement::Visit {
        med_type: common::request_code("body.med_type", Some(&request.med_type), "")?,
        begin,
        end,
        hosp_lv: common::request_code("body.hosp_lv", Some(&request.hosp_lv), "")?,
        medins_admdvs: common::request_code(
            "body.medins_admdvs",
            Some(&request.medins_admdvs),
            "",
        )?,
        referred: false,
        filing,
        dise_codg: request.dise_codg.clone(),
        lines: fee_lines(request),
        use_account: false,
        interim: false,
        episode_deductible_paid: Fen::ZERO,
    };
    let engine_person = common::engine_person(&person, &insu, begin.date());
    let year = i64::from(end.year());
    let ytd = settle::year_to_date(ledger, &person.psn_no, insu.insutype.as_str(), year).await?;
    let balance = settle::account_balance(ledger, &person.psn_no, &insu).await?;
    let mut settlement = Settlement::default();
    Engine::new(&policy, &catalog)
        .settle_manual_claim_into(&engine_person, &visit, &ytd, balance, &mut settlement)
        .map_err(|e| engine_error(&e))?;
    let med_type = MedType::from_code(visit.med_type);
    let header = SettlementHeader {
        setl_id: settle::issue_id(ctx, ledger, IssuedId::Settlement).await?,
        kind: EntryKind::Settle,
        orig_setl_id: None,
        infno: Code::lit(REIMBURSE_INFNO),
        msgid: ctx.request.msgid.clone(),
        fixmedins_code: COUNTER_CODE.into(),
        mdtrt_id: settle::issue_id(ctx, ledger, IssuedId::Visit).await?,
        psn_no: person.psn_no.clone(),
        insutype: insu.insutype,
        year: i64::from(settlement.year),
        med_type,
        mid_setl_flag: false,
        setl_time: ctx.setl_time(),
        clr_type: ClrType::of_med_type(med_type),
        clr_way: ClrWay::ByItem,
        clr_optins: insu.insuplc_admdvs,
        mdtrtarea_admvs: common::code("medins_admdvs", &request.medins_admdvs)?,
        balc: settlement.balc,
    };
    let record = settle::unlined_record(header, &settlement, &policy)?;
    let lines = line_results(&settlement.lines, |index| LineOrigin {
        feedetl_sn: (index + 1).to_string(),
        cnt_e4: request.lines[index as usize].cnt,
        pric_micro_yuan: request.lines[index as usize].pric,
    })
    .into_iter()
    .zip(&request.lines)
    .map(|(split, line)| ReceiptLine {
        name: line.name.clone(),
        med_list_codg: line.med_list_codg.clone(),
        split,
    })
    .collect();
    let receipt = receipt(
        &record,
        ReceiptFacts {
            invono: request.invono.clone(),
            medins_admdvs: request.medins_admdvs.clone(),
            medins_name: request.medins_name.clone(),
            filing_status,
            rates,
            lines,
            trace: yibao_wire::render::trace_lines(&settlement, &policy, insu.insutype.code()),
        },
    );
    Ok((record, receipt))
}

/// What a receipt says besides the ledger entry.
struct ReceiptFacts {
    invono: String,
    medins_admdvs: String,
    medins_name: String,
    filing_status: String,
    rates: String,
    lines: Vec<ReceiptLine>,
    trace: Vec<String>,
}

/// The receipt of a ledger entry.
fn receipt(record: &SettlementRecord, facts: ReceiptFacts) -> Receipt {
    let h = &record.header;
    let setldetail = record
        .funds
        .iter()
        .map(|f| {
            SetldetailRow::new(
                &f.row,
                f.fund_pay_type_name.clone(),
                f.setl_proc_info.clone(),
            )
        })
        .collect();
    let mut receipt = Receipt {
        ok: true,
        setl_id: h.setl_id.clone(),
        orig_setl_id: h.orig_setl_id.clone().unwrap_or_default(),
        mdtrt_id: h.mdtrt_id.clone(),
        psn_no: h.psn_no.clone(),
        insutype: h.insutype.to_string(),
        invono: facts.invono,
        medins_admdvs: facts.medins_admdvs,
        medins_name: facts.medins_name,
        filing_status: facts.filing_status,
        rates: facts.rates,
        setl_time: h.setl_time_text(),
        setlinfo: SetlinfoAmounts {
            amounts: record.amounts,
            balc: h.balc,
        },
        setldetail,
        lines: facts.lines,
        trace: facts.trace,
        text: String::new(),
    };
    receipt.text = receipt_text(&receipt, &record.amounts);
    receipt
}

/// The receipt as printed at the counter.
fn receipt_text(receipt: &Receipt, amounts: &SetlAmounts) -> String {
    let title = if receipt.orig_setl_id.is_empty() {
        "零星报销结算单".to_string()
    } else {
        format!("零星报销撤销单（撤销 {}）", receipt.orig_setl_id)
    };
    let mut out = format!(
        "{title}\n结算ID {}  人员 {}  险种 {}  发票号 {}\n就医机构 {}（{}）  {}，按{}\n结算时间 {}\n",
        receipt.setl_id,
        receipt.psn_no,
        receipt.insutype,
        receipt.invono,
        receipt.medins_name,
        receipt.medins_admdvs,
        receipt.filing_status,
        receipt.rates,
        receipt.setl_time
    );
    for line in &receipt.lines {
        out.push_str(&format!(
            "  {} {} 金额 {} 全自费 {} 超限价 {} 先行自付 {} 符合范围 {} {}\n",
            line.split.feedetl_sn,
            line.name,
            yuan(line.split.det_item_fee_sumamt.0),
            yuan(line.split.fulamt_ownpay_amt.0),
            yuan(line.split.overlmt_amt.0),
            yuan(line.split.preselfpay_amt.0),
            yuan(line.split.inscp_scp_amt.0),
            line.split.memo
        ));
    }
    for (column, amount) in amounts.columns() {
        if amount != Fen::ZERO || column == "medfee_sumamt" || column == "psn_cash_pay" {
            out.push_str(&format!("  {column} {}\n", yuan(amount)));
        }
    }
    for row in &receipt.setldetail {
        out.push_str(&format!(
            "  基金 {} {} 支付 {}：{}\n",
            row.fund_pay_type,
            row.fund_pay_type_name,
            yuan(row.fund_payamt.0),
            row.setl_proc_info
        ));
    }
    out
}

fn yuan(amount: Fen) -> String {
    yibao_domain::decimal::format_scaled(amount.0, 2)
}

/// The exact negation of a live reimbursement, and its receipt.
async fn cancel(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    setl_id: &str,
) -> Result<(SettlementRecord, Receipt), TxError> {
    let original = ledger
        .settlement(setl_id)
        .await?
        .filter(|r| {
            r.header.infno.as_str() == REIMBURSE_INFNO && r.header.kind == EntryKind::Settle
        })
        .ok_or_else(|| TxError::new("setl_id", format!("没有结算ID为 {setl_id} 的零星报销")))?;
    if let Some(done) = ledger.cancellation_of(setl_id).await? {
        return Err(TxError::new(
            "setl_id",
            format!("零星报销 {setl_id} 已撤销（撤销结算ID {done}）"),
        ));
    }
    let stored = ledger
        .stored_message(COUNTER_CODE, &original.header.msgid)
        .await?;
    let person = common::registered_person(ledger, "setl_id", &original.header.psn_no).await?;
    let insu = common::insu_row(&person, "setl_id", original.header.insutype.as_str())?.clone();
    let balance = settle::account_balance(ledger, &person.psn_no, &insu).await?;
    let mirror = SettlementHeader {
        setl_id: settle::issue_id(ctx, ledger, IssuedId::Settlement).await?,
        kind: EntryKind::Cancel,
        orig_setl_id: Some(original.header.setl_id.clone()),
        infno: Code::lit(CANCEL_INFNO),
        msgid: ctx.request.msgid.clone(),
        setl_time: ctx.setl_time(),
        balc: balance + original.amounts.acct_pay,
        ..original.header.clone()
    };
    let record = original.negated(mirror);
    let facts = original_facts(stored.as_ref().map(|m| m.reply.as_str()));
    Ok((record.clone(), receipt(&record, facts)))
}

/// The invoice facts of a reimbursement, read back from its stored receipt.
fn original_facts(reply: Option<&str>) -> ReceiptFacts {
    let value: Value = reply
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null);
    let field = |name: &str| value[name].as_str().unwrap_or_default().to_string();
    ReceiptFacts {
        invono: field("invono"),
        medins_admdvs: field("medins_admdvs"),
        medins_name: field("medins_name"),
        filing_status: field("filing_status"),
        rates: field("rates"),
        lines: Vec::new(),
        trace: Vec::new(),
    }
}
