//! The insured platform's side of the inter-platform API (`/peer/v1/*`): every call authenticated
//! ([`super::auth`]); settlement and cancellation run as jobs of the ledger writer, exactly once by
//! the treating platform's key, which is stored as the message id (`messages`, keyed by the
//! treating hospital's code and the key) in the same commit as the ledger entry. A key resolved
//! without an operation is stored as refused ([`PEER_ABORT`]), so a late copy of the call does
//! nothing.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::Datelike;
use serde::de::DeserializeOwned;
use yibao_domain::codes::{ClrType, ClrWay, FixmedinsType, MedType};
use yibao_domain::Code;
use yibao_ledger::entries::StoredMessage;
use yibao_ledger::{
    registry, Decision, EntryKind, LedgerCache, LedgerView, Person, SettlementHeader,
    SettlementRecord, Visit, VisitKind, VisitStatus,
};
use yibao_settlement::{Engine, Settlement};

use super::wire::{
    CancelCall, DayAnswer, DayCall, ForwardCall, Outcome, PeerSettled, PersonAnswer, ResolveCall,
    SettleCall, BODY_LIMIT_BYTES, MAX_LINES,
};
use super::PeerStep;
use crate::config::PeerConfig;
use crate::envelope::{wire_time, Request};
use crate::error::TxError;
use crate::replay::PendingClaim;
use crate::routes::{router_of, Endpoint};
use crate::service::Service;
use crate::state::Shared;
use crate::tx::common::{self, VisitShape};
use crate::tx::settle::{self, IssuedId};
use crate::tx::stay::{self, Stay};
use crate::tx::{self as txs, Ctx};
use crate::writer::{WriteJob, WriteOutcome};

/// `infno` of the message a key refused by [`resolve`] is stored under.
pub const PEER_ABORT: &str = "PABORT";
/// The prefix of the `infno` under which a peer's settlement or cancellation is stored (`P2207`).
pub const PEER_INFNO: &str = "P";
/// Longest accepted key.
const KEY_MAX: usize = 40;

/// The inter-platform routes.
pub fn endpoints() -> Vec<Endpoint<Service>> {
    vec![
        Endpoint::post("/peer/v1/person", person),
        Endpoint::post("/peer/v1/settle", settle_call),
        Endpoint::post("/peer/v1/cancel", cancel_call),
        Endpoint::post("/peer/v1/resolve", resolve_call),
        Endpoint::post("/peer/v1/day", day),
    ]
}

/// The router of [`endpoints`], bodies bounded by [`BODY_LIMIT_BYTES`].
pub fn routes() -> Router<Service> {
    router_of(endpoints()).layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
}

fn refuse(status: StatusCode, problem: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "problem": problem.into() })),
    )
        .into_response()
}

/// Authenticates a call and reads its body; the call's nonce is durable once the returned
/// [`PendingClaim`] is ([`after_nonce`]).
async fn admit<T: DeserializeOwned>(
    service: &Service,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(PeerConfig, T, PendingClaim), Response> {
    let now = chrono::Utc::now().timestamp();
    let (peer, nonce) = super::auth::verify(
        &service.shared.config,
        &service.replay,
        ("POST", path, headers, body),
        now,
    )
    .await
    .map_err(|e| refuse(StatusCode::UNAUTHORIZED, e.0))?;
    let call = read_call(body).map_err(|problem| refuse(StatusCode::BAD_REQUEST, problem))?;
    Ok((peer.clone(), call, nonce))
}

/// A call's body as `T`, every text bounded as at the national interface (no NUL character, no
/// field longer than its limit) and a refusal naming the field (`body.visit.mdtrt_id`).
fn read_call<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("body: {e}"))?;
    crate::envelope::refuse_bad_text_at(&value, "body").map_err(|e| e.to_string())?;
    common::parse(&value, "body").map_err(|e| e.to_string())
}

/// `response`, once the call's nonce is stored durably (its write overlapping the call's work,
/// `peer::auth`); 503 when it could not be stored — the call may have been recorded, and its retry
/// under the same key answers what was.
async fn after_nonce(nonce: PendingClaim, response: Response) -> Response {
    match nonce.stored().await {
        Ok(()) => response,
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, format!("nonce {e}")),
    }
}

/// A key of the calling peer: its region prefix begins it.
fn check_key(peer: &PeerConfig, field: &str, key: &str) -> Result<(), String> {
    let theirs = !key.is_empty() && key.len() <= KEY_MAX && key.starts_with(&peer.admdvs_prefix);
    if theirs {
        return Ok(());
    }
    Err(format!(
        "{field} `{key}` is not a key of the platform of {} (1–{KEY_MAX} characters)",
        peer.admdvs_prefix
    ))
}

/// Runs a writing call, whose `keys` must be the calling peer's, as a job of the writer.
async fn run_call(
    service: &Service,
    peer: &PeerConfig,
    keys: &[(&str, String)],
    (request, hospital, step): (Request, yibao_ledger::Institution, PeerStep),
) -> Response {
    for (field, key) in keys {
        if let Err(problem) = check_key(peer, field, key) {
            return refuse(StatusCode::BAD_REQUEST, problem);
        }
    }
    submit(service, request, hospital, step).await
}

/// A message standing for a peer's operation: its key (or the hospital's message id) as the
/// message id, no input.
pub(super) fn peer_request(infno: &str, key: &str, fixmedins_code: &str) -> Request {
    Request {
        infno: infno.to_string(),
        msgid: key.to_string(),
        mdtrtarea_admvs: String::new(),
        insuplc_admdvs: String::new(),
        fixmedins_code: fixmedins_code.to_string(),
        opter: String::new(),
        inf_time: String::new(),
        sign_no: String::new(),
        input: serde_json::Value::Null,
        received_digest: None,
    }
}

/// Runs a peer step on the writer; the answer is the [`Outcome`] JSON, a storage failure 503.
async fn submit(
    service: &Service,
    request: Request,
    hospital: yibao_ledger::Institution,
    step: PeerStep,
) -> Response {
    let job = WriteJob {
        request,
        institution: hospital,
        received_at: service.shared.now(),
        inf_refmsgid: String::new(),
        peer: Some(step),
        counter: None,
    };
    match service.writer.submit(job).await {
        Ok(outcome) if outcome.success => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            outcome.reply,
        )
            .into_response(),
        Ok(outcome) => refuse(StatusCode::SERVICE_UNAVAILABLE, outcome.reply),
        Err(error) => refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// Answer a person (1101) for another platform
///
/// Runs the hospital's 1101 against this platform's register and answers its `output` with the
/// person's registry rows.
#[utoipa::path(post, path = "/peer/v1/person", tag = "peer",
    security(("peer" = [])),
    request_body(content = ForwardCall, content_type = "application/json"),
    responses(
        (status = 200, description = "The person, or the refusal for the hospital", body = PersonAnswer),
        (status = 400, description = "The body is not a call"),
        (status = 401, description = "Not a listed peer, a bad signature or a replayed nonce"),
    ))]
pub(crate) async fn person(
    State(service): State<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, call, nonce): (_, ForwardCall, _) =
        match admit(&service, "/peer/v1/person", &headers, &body).await {
            Ok(admitted) => admitted,
            Err(response) => return response,
        };
    let answer = match answer_person(&service.shared, &call).await {
        Ok(answer) => answer,
        Err(error) => PersonAnswer::Refused {
            field: error.field,
            problem: error.problem,
        },
    };
    after_nonce(nonce, Json(answer).into_response()).await
}

async fn answer_person(shared: &Shared, call: &ForwardCall) -> Result<PersonAnswer, TxError> {
    let bytes =
        serde_json::to_vec(&call.request).map_err(|e| TxError::new("request", e.to_string()))?;
    let request = Request::parse(&bytes)?;
    if request.infno != "1101" {
        return Err(TxError::new(
            "infno",
            format!("{} 不能转发到参保地平台", request.infno),
        ));
    }
    let institution = call.hospital.institution()?;
    let ctx = Ctx {
        shared,
        request: &request,
        institution: &institution,
        now: shared.now(),
    };
    let mut conn = shared.store.connection().await?;
    let mut cache = LedgerCache::new(0);
    let done = txs::run(&ctx, &mut cache.view(&mut conn)).await?;
    let output: serde_json::Value =
        serde_json::from_str(done.output.get()).map_err(|e| TxError::internal(e.to_string()))?;
    let psn_no = output
        .pointer("/baseinfo/psn_no")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let person = registry::person(&mut conn, &psn_no)
        .await?
        .ok_or_else(|| TxError::new("psn_no", format!("参保地平台没有人员 {psn_no}")))?;
    if let Some(refusal) =
        shared
            .sanctions()
            .card_refusal_of("psn_no", &psn_no, ctx.now.date(), "在异地就医")
    {
        return Err(refusal);
    }
    Ok(PersonAnswer::Found {
        output,
        rows: person_rows(&person),
    })
}

/// The registry rows of a person as the treating platform imports them: every insurance row, the
/// account balance 0 (the account stays here).
fn person_rows(person: &Person) -> Vec<crate::import::PersonRow> {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let idet: Vec<&str> = person
        .idet
        .iter()
        .map(|i| i.psn_idet_type.as_str())
        .collect();
    person
        .insu
        .iter()
        .map(|row| crate::import::PersonRow {
            psn_no: person.psn_no.clone(),
            psn_cert_type: person.psn_cert_type.as_str().to_string(),
            certno: person.certno.clone(),
            psn_name: person.psn_name.clone(),
            gend: person.gend.as_str().to_string(),
            brdy: person.brdy.to_string(),
            insutype: row.insutype.as_str().to_string(),
            psn_type: row.psn_type.as_str().to_string(),
            psn_insu_stas: row.psn_insu_stas.code().to_string(),
            psn_insu_date: row.psn_insu_date.to_string(),
            insuplc_admdvs: row.insuplc_admdvs.as_str().to_string(),
            cvlserv_flag: if row.cvlserv_flag { "1" } else { "0" }.into(),
            balc: "0".into(),
            idet: idet.join(";"),
            insu_endtime: date(row.insu_endtime),
            benefit_begndate: date(row.benefit_begndate),
        })
        .collect()
}

/// Settle a visit for another platform
///
/// Settles (or, with `presettle`, computes) the treating platform's split lines with this
/// platform's policy, the person's accumulators and account — exactly once per `peer_key`: a call
/// again with the same key and body answers what was recorded; a key refused by
/// `/peer/v1/resolve` stays refused.
#[utoipa::path(post, path = "/peer/v1/settle", tag = "peer",
    security(("peer" = [])),
    request_body(content = SettleCall, content_type = "application/json"),
    responses(
        (status = 200, description = "Settled, computed, refused (for the hospital) or aborted", body = Outcome),
        (status = 400, description = "The body is not a call, or its key is not the peer's"),
        (status = 401, description = "Not a listed peer, a bad signature or a replayed nonce"),
        (status = 503, description = "Storage unavailable: nothing recorded; or the nonce could not be stored after the call was recorded (its retry under the same key answers it)"),
    ))]
pub(crate) async fn settle_call(
    State(service): State<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (peer, call, nonce): (_, SettleCall, _) =
        match admit(&service, "/peer/v1/settle", &headers, &body).await {
            Ok(admitted) => admitted,
            Err(response) => return response,
        };
    if call.presettle {
        let computed = Json(presettle(&service.shared, &call).await).into_response();
        return after_nonce(nonce, computed).await;
    }
    let institution = match call.hospital.institution() {
        Ok(institution) => institution,
        Err(error) => {
            let refused = refuse(StatusCode::BAD_REQUEST, error.to_string());
            return after_nonce(nonce, refused).await;
        }
    };
    let keys = [("peer_key", call.peer_key.clone())];
    let request = peer_request(&call.infno, &call.peer_key, &call.hospital.fixmedins_code);
    let job = (request, institution, PeerStep::Settle(Box::new(call)));
    after_nonce(nonce, run_call(&service, &peer, &keys, job).await).await
}

/// Cancel a settlement for another platform
///
/// Appends the exact negation of the settlement recorded under `orig_key`, exactly once per
/// `peer_key`.
#[utoipa::path(post, path = "/peer/v1/cancel", tag = "peer",
    security(("peer" = [])),
    request_body(content = CancelCall, content_type = "application/json"),
    responses(
        (status = 200, description = "Cancelled, refused (for the hospital) or aborted", body = Outcome),
        (status = 400, description = "The body is not a call, or its key is not the peer's"),
        (status = 401, description = "Not a listed peer, a bad signature or a replayed nonce"),
        (status = 503, description = "Storage unavailable: nothing recorded; or the nonce could not be stored after the call was recorded (its retry under the same key answers it)"),
    ))]
pub(crate) async fn cancel_call(
    State(service): State<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (peer, call, nonce): (_, CancelCall, _) =
        match admit(&service, "/peer/v1/cancel", &headers, &body).await {
            Ok(admitted) => admitted,
            Err(response) => return response,
        };
    let keys = [
        ("peer_key", call.peer_key.clone()),
        ("orig_key", call.orig_key.clone()),
    ];
    let request = peer_request(&call.infno, &call.peer_key, &call.fixmedins_code);
    let job = (
        request,
        hospital_named(&call.fixmedins_code),
        PeerStep::Cancel(call),
    );
    after_nonce(nonce, run_call(&service, &peer, &keys, job).await).await
}

/// Resolve an operation of another platform
///
/// Answers the settlement or cancellation recorded under `peer_key`; when there is none, refuses
/// the key from now on and answers `aborted`.
#[utoipa::path(post, path = "/peer/v1/resolve", tag = "peer",
    security(("peer" = [])),
    request_body(content = ResolveCall, content_type = "application/json"),
    responses(
        (status = 200, description = "Done (what is recorded) or aborted", body = Outcome),
        (status = 400, description = "The body is not a call, or its key is not the peer's"),
        (status = 401, description = "Not a listed peer, a bad signature or a replayed nonce"),
        (status = 503, description = "Storage unavailable: nothing recorded; or the nonce could not be stored after the call was recorded (its retry under the same key answers it)"),
    ))]
pub(crate) async fn resolve_call(
    State(service): State<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (peer, call, nonce): (_, ResolveCall, _) =
        match admit(&service, "/peer/v1/resolve", &headers, &body).await {
            Ok(admitted) => admitted,
            Err(response) => return response,
        };
    let keys = [("peer_key", call.peer_key.clone())];
    let request = peer_request(PEER_ABORT, &call.peer_key, &call.fixmedins_code);
    let job = (
        request,
        hospital_named(&call.fixmedins_code),
        PeerStep::Resolve(call),
    );
    after_nonce(nonce, run_call(&service, &peer, &keys, job).await).await
}

/// A day's operations with another platform
///
/// Every settlement and cancellation this platform recorded with the calling platform whose
/// settlement time falls on `date` — as the insured platform and as the treating platform — by key.
#[utoipa::path(post, path = "/peer/v1/day", tag = "peer",
    security(("peer" = [])),
    request_body(content = DayCall, content_type = "application/json"),
    responses(
        (status = 200, description = "The day's records", body = DayAnswer),
        (status = 400, description = "The body is not a call or the date is not yyyy-MM-dd"),
        (status = 401, description = "Not a listed peer, a bad signature or a replayed nonce"),
        (status = 503, description = "Storage unavailable"),
    ))]
pub(crate) async fn day(
    State(service): State<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (peer, call, nonce): (_, DayCall, _) =
        match admit(&service, "/peer/v1/day", &headers, &body).await {
            Ok(admitted) => admitted,
            Err(response) => return response,
        };
    after_nonce(nonce, day_records(&service, &peer, call).await).await
}

/// The day's records of [`day`].
async fn day_records(service: &Service, peer: &PeerConfig, call: DayCall) -> Response {
    if !super::reconcile::is_day(&call.date) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("date `{}` is not yyyy-MM-dd", call.date),
        );
    }
    match super::reconcile::local_records(&service.shared.store, &peer.admdvs_prefix, &call.date)
        .await
    {
        Ok(records) => Json(DayAnswer {
            date: call.date,
            records,
        })
        .into_response(),
        Err(error) => refuse(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// The treating hospital as far as a cancellation or resolution needs it.
pub(super) fn hospital_named(fixmedins_code: &str) -> yibao_ledger::Institution {
    yibao_ledger::Institution {
        fixmedins_code: fixmedins_code.to_string(),
        fixmedins_name: String::new(),
        fixmedins_type: FixmedinsType::MedicalInstitution,
        hosp_lv: Code::default(),
        admdvs: Code::default(),
    }
}

/// A pre-settlement: computed on a pooled connection, nothing stored.
async fn presettle(shared: &Shared, call: &SettleCall) -> Outcome {
    let computed = async {
        let mut conn = shared.store.connection().await?;
        let mut cache = LedgerCache::new(0);
        let mut ledger = cache.view(&mut conn);
        let request = peer_request(&call.infno, "", &call.hospital.fixmedins_code);
        let institution = call.hospital.institution()?;
        let ctx = Ctx {
            shared,
            request: &request,
            institution: &institution,
            now: shared.now(),
        };
        compute(&ctx, &mut ledger, call, String::new()).await
    };
    match computed.await {
        Ok(record) => Outcome::Computed {
            settled: PeerSettled::of(&record, ""),
        },
        Err(error) => Outcome::Refused {
            field: error.field,
            problem: error.problem,
        },
    }
}

/// Settles a call with this platform's policy, accumulators and account; the record (no line rows:
/// the lines are the treating platform's) under `setl_id`.
async fn compute(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    call: &SettleCall,
    setl_id: String,
) -> Result<SettlementRecord, TxError> {
    check_infno(call)?;
    if call.lines.is_empty() || call.lines.len() > MAX_LINES {
        return Err(TxError::new(
            "lines",
            format!("须有 1 至 {MAX_LINES} 条费用明细"),
        ));
    }
    let place = call.hospital.place_of_treatment();
    if place.len() != 6 || !place.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TxError::new(
            "hospital.mdtrtarea_admvs",
            format!("{place} 不是 6 位医保区划代码"),
        ));
    }
    let v = &call.visit;
    if let Some(refusal) = ctx
        .shared
        .sanctions()
        .card_refusal(&v.psn_no, ctx.now.date())
    {
        return Err(refusal);
    }
    let person = common::registered_person(ledger, "psn_no", &v.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", &v.insutype)?.clone();
    let begin = common::datetime("begntime", &v.begntime)?;
    let rules = common::policy_and_catalog(ctx, &insu, begin.date())?;
    let end = common::datetime("endtime", &v.endtime)?;
    common::check_care_time(ctx, "begntime", begin)?;
    common::check_care_time(ctx, "endtime", end)?;
    let setl_time = common::datetime("setl_time", &call.setl_time)?;
    let mut fees = Vec::with_capacity(call.lines.len());
    let mut splits = Vec::with_capacity(call.lines.len());
    for (index, line) in (0u32..).zip(&call.lines) {
        let (fee, split) = line.engine(index)?;
        fees.push(fee);
        splits.push(split);
    }
    let visit = Visit {
        mdtrt_id: v.mdtrt_id.clone(),
        fixmedins_code: call.hospital.fixmedins_code.clone(),
        psn_no: v.psn_no.clone(),
        insutype: insu.insutype,
        kind: if matches!(call.infno.as_str(), "2303" | "2304") {
            VisitKind::Inpatient
        } else {
            VisitKind::Outpatient
        },
        med_type: peer_med_type(&v.med_type)?,
        begntime: begin,
        endtime: Some(end),
        status: VisitStatus::Open,
        ipt_otp_no: String::new(),
        mdtrt_cert_type: common::request_code("mdtrt_cert_type", Some(&v.mdtrt_cert_type), "")?,
        dise_codg: v.dise_codg.clone(),
        referred: v.referred,
        info: serde_json::Value::Null,
    };
    if call.interim && visit.kind != VisitKind::Inpatient {
        return Err(TxError::new("interim", "只有住院可以中途结算"));
    }
    let year = i64::from(end.year());
    let stay = Stay::of(ledger, &visit, year).await?;
    check_earlier(&stay, call)?;
    let (ytd, balance) = settle::starting_point(ledger, &person, &insu, &stay, year).await?;
    let engine_person = common::engine_person(&person, &insu, begin.date());
    // The insured platform decides the remote rate from its own filing register.
    let filing =
        common::remote_filing(ctx, ledger, &rules.policy, &visit, end, v.emergency).await?;
    let engine_visit = common::engine_visit(
        ctx,
        VisitShape {
            visit: &visit,
            end,
            lines: fees,
            use_account: call.use_account,
            interim: call.interim,
            episode_deductible_paid: stay.deductible_other_years(),
            filing,
        },
    )?;
    let mut settlement = Settlement::default();
    Engine::new(&rules.policy, &rules.catalog)
        .settle_peer_split_into(
            &engine_person,
            &engine_visit,
            &splits,
            &ytd,
            balance,
            &mut settlement,
        )
        .map_err(|e| common::engine_error(&e))?;
    let med_type = visit.med_type;
    let header = SettlementHeader {
        setl_id,
        kind: EntryKind::Settle,
        orig_setl_id: None,
        infno: common::code("infno", &format!("{PEER_INFNO}{}", call.infno))?,
        msgid: call.peer_key.clone(),
        fixmedins_code: call.hospital.fixmedins_code.clone(),
        mdtrt_id: v.mdtrt_id.clone(),
        psn_no: v.psn_no.clone(),
        insutype: insu.insutype,
        year: i64::from(settlement.year),
        med_type,
        mid_setl_flag: call.interim,
        setl_time,
        clr_type: ClrType::of_med_type(med_type),
        clr_way: ClrWay::ByItem,
        clr_optins: insu.insuplc_admdvs,
        mdtrtarea_admvs: common::code(
            "hospital.mdtrtarea_admvs",
            call.hospital.place_of_treatment(),
        )?,
        balc: settlement.balc,
    };
    let whole = settle::unlined_record(header, &settlement, &rules.policy)?;
    let record = stay.net_record(whole);
    settle::check_identities(&record)?;
    Ok(record)
}

/// A settle call names the hospital's message: 2207 or 2304, or with `presettle` 2206 or 2303.
fn check_infno(call: &SettleCall) -> Result<(), TxError> {
    let allowed: [&str; 2] = if call.presettle {
        ["2206", "2303"]
    } else {
        ["2207", "2304"]
    };
    if allowed.contains(&call.infno.as_str()) {
        return Ok(());
    }
    Err(TxError::new(
        "infno",
        format!(
            "{} 不是{}的交易编号（{}）",
            call.infno,
            if call.presettle {
                "预结算"
            } else {
                "结算"
            },
            allowed.join("、")
        ),
    ))
}

/// The admission's live settlements here must be the ones the treating platform nets the call
/// against (`earlier_keys`): the same keys, whatever their order.
fn check_earlier(stay: &Stay, call: &SettleCall) -> Result<(), TxError> {
    let mut held: Vec<&str> = stay.headers().map(|h| h.msgid.as_str()).collect();
    let mut sent: Vec<&str> = call.earlier_keys.iter().map(String::as_str).collect();
    held.sort_unstable();
    sent.sort_unstable();
    if held == sent {
        return Ok(());
    }
    Err(TxError::new(
        "earlier_keys",
        format!(
            "就诊 {} 在参保地平台的未撤销结算为 [{}]，与就医地平台所列 [{}] 不一致",
            call.visit.mdtrt_id,
            held.join(", "),
            sent.join(", ")
        ),
    ))
}

fn outcome_text(outcome: &Outcome) -> String {
    serde_json::to_string(outcome).unwrap_or_default()
}

fn answered(outcome: &Outcome, decision: Decision) -> (Decision, WriteOutcome) {
    (
        decision,
        WriteOutcome {
            reply: outcome_text(outcome),
            success: true,
            effect: txs::Effect::None,
            download: None,
        },
    )
}

fn refused(error: TxError) -> (Decision, WriteOutcome) {
    let outcome = Outcome::Refused {
        field: error.field,
        problem: error.problem,
    };
    answered(&outcome, Decision::Rollback)
}

/// What a stored message under a key says: the recorded outcome (a settlement or cancellation of
/// the peer, or a refused key), or a refusal when the key was used otherwise.
fn recorded(stored: &StoredMessage, digest: Option<&str>) -> Outcome {
    if stored.infno == PEER_ABORT {
        return Outcome::Aborted;
    }
    let same_call = digest.is_none_or(|d| d == stored.request_digest);
    match serde_json::from_str::<Outcome>(&stored.reply) {
        Ok(outcome) if stored.infno.starts_with(PEER_INFNO) && same_call => outcome,
        _ => Outcome::Refused {
            field: "peer_key".into(),
            problem: format!("键 {} 已被另一笔内容不同的请求使用", stored.msgid),
        },
    }
}

fn store(
    job: &WriteJob,
    (infno, effect_ref): (&str, &str),
    outcome: &Outcome,
    digest: String,
) -> StoredMessage {
    StoredMessage {
        fixmedins_code: job.request.fixmedins_code.clone(),
        msgid: job.request.msgid.clone(),
        infno: infno.to_string(),
        effect_ref: effect_ref.to_string(),
        reply: outcome_text(outcome),
        created_at: wire_time(job.received_at),
        request_digest: digest,
    }
}

fn digest_of<T: serde::Serialize>(call: &T) -> String {
    crate::state::source_digest(&serde_json::to_string(call).unwrap_or_default())
}

/// Runs a step of the insured platform on the writer's view.
pub(crate) async fn run_insured(
    shared: &Shared,
    ledger: &mut LedgerView<'_>,
    job: &WriteJob,
    step: &PeerStep,
) -> Result<(Decision, WriteOutcome), TxError> {
    let ctx = Ctx {
        shared,
        request: &job.request,
        institution: &job.institution,
        now: job.received_at,
    };
    let stored = ledger
        .stored_message(&job.request.fixmedins_code, &job.request.msgid)
        .await?;
    match step {
        PeerStep::Settle(call) => {
            let digest = digest_of(call);
            if let Some(stored) = stored {
                return Ok(answered(
                    &recorded(&stored, Some(&digest)),
                    Decision::Rollback,
                ));
            }
            let setl_id = settle::issue_id(&ctx, ledger, IssuedId::Settlement).await?;
            let record = match compute(&ctx, ledger, call, setl_id.clone()).await {
                Ok(record) => record,
                Err(error) => return Ok(refused(error)),
            };
            ledger.append_settlement(record.clone()).await?;
            let outcome = Outcome::Done {
                settled: PeerSettled::of(&record, &call.peer_key),
            };
            let message = store(
                job,
                (record.header.infno.as_str(), &setl_id),
                &outcome,
                digest,
            );
            ledger.store_message(message).await?;
            Ok(answered(&outcome, Decision::Commit))
        }
        PeerStep::Cancel(call) => {
            let digest = digest_of(call);
            if let Some(stored) = stored {
                return Ok(answered(
                    &recorded(&stored, Some(&digest)),
                    Decision::Rollback,
                ));
            }
            let record = match cancel(&ctx, ledger, call).await {
                Ok(record) => record,
                Err(error) => return Ok(refused(error)),
            };
            ledger.append_settlement(record.clone()).await?;
            let outcome = Outcome::Done {
                settled: PeerSettled::of(&record, &call.peer_key),
            };
            let message = store(
                job,
                (record.header.infno.as_str(), &record.header.setl_id),
                &outcome,
                digest,
            );
            ledger.store_message(message).await?;
            Ok(answered(&outcome, Decision::Commit))
        }
        PeerStep::Resolve(call) => {
            if let Some(stored) = stored {
                return Ok(answered(&recorded(&stored, None), Decision::Rollback));
            }
            let outcome = Outcome::Aborted;
            let message = store(job, (PEER_ABORT, ""), &outcome, digest_of(call));
            ledger.store_message(message).await?;
            Ok(answered(&outcome, Decision::Commit))
        }
        PeerStep::Commit(_) | PeerStep::Record(_) | PeerStep::Mark(_) => {
            Err(TxError::internal("not a step of the insured platform"))
        }
    }
}

/// The exact negation of the settlement recorded under `call.orig_key`.
async fn cancel(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    call: &CancelCall,
) -> Result<SettlementRecord, TxError> {
    const CANCEL_INFNOS: [&str; 3] = ["2208", "2305", "2601"];
    if !CANCEL_INFNOS.contains(&call.infno.as_str()) {
        return Err(TxError::new(
            "infno",
            format!(
                "{} 不是撤销结算的交易编号（{}）",
                call.infno,
                CANCEL_INFNOS.join("、")
            ),
        ));
    }
    let unknown = || {
        TxError::new(
            "orig_key",
            format!("参保地平台没有键为 {} 的结算", call.orig_key),
        )
    };
    let orig = ledger
        .stored_message(&call.fixmedins_code, &call.orig_key)
        .await?
        .filter(|m| m.infno.starts_with(PEER_INFNO) && m.infno != PEER_ABORT)
        .ok_or_else(unknown)?;
    let original = ledger
        .settlement(&orig.effect_ref)
        .await?
        .ok_or_else(unknown)?;
    if original.header.kind != EntryKind::Settle {
        return Err(TxError::new(
            "orig_key",
            format!("{} 本身是一笔撤销结算", call.orig_key),
        ));
    }
    if let Some(done) = ledger.cancellation_of(&original.header.setl_id).await? {
        return Err(TxError::new(
            "orig_key",
            format!("结算 {} 已撤销（参保地撤销结算ID {done}）", call.orig_key),
        ));
    }
    if original.header.infno.as_str() == format!("{PEER_INFNO}2304") {
        stay::check_latest(ledger, &original, "orig_key").await?;
    }
    let setl_time = common::datetime("setl_time", &call.setl_time)?;
    let person = common::registered_person(ledger, "psn_no", &original.header.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", original.header.insutype.as_str())?.clone();
    let balance = settle::account_balance(ledger, &person.psn_no, &insu).await?;
    let setl_id = settle::issue_id(ctx, ledger, IssuedId::Settlement).await?;
    let mirror = SettlementHeader {
        setl_id,
        kind: EntryKind::Cancel,
        orig_setl_id: Some(original.header.setl_id.clone()),
        infno: common::code("infno", &format!("{PEER_INFNO}{}", call.infno))?,
        msgid: call.peer_key.clone(),
        setl_time,
        balc: balance + original.amounts.acct_pay,
        ..original.header.clone()
    };
    Ok(original.negated(mirror))
}

/// The visit's `med_type` of a peer call: required, since the stored settlement is keyed by it.
fn peer_med_type(text: &str) -> Result<MedType, TxError> {
    if text.trim().is_empty() {
        return Err(TxError::new("med_type", "缺少必填字段"));
    }
    common::request_med_type("med_type", Some(text), "")
}

#[cfg(test)]
mod tests {
    use super::peer_med_type;

    #[test]
    fn a_peer_call_without_med_type_is_refused_naming_the_field() {
        for text in ["", "  "] {
            let error = peer_med_type(text).unwrap_err();
            assert_eq!(error.field, "med_type");
        }
        assert_eq!(peer_med_type("21").unwrap().to_string(), "21");
    }
}
