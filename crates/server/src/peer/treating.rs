//! The treating platform's side: which messages go to a peer ([`route`]), and the two-phase
//! settlement and cancellation with it.
//!
//! Phase 1: the intent — the key this platform will use as the `setl_id` of its own record and the
//! call — is stored durably (`peer_intents`) before anything is sent, as a job of the ledger writer
//! ([`PeerStep::Record`]), so concurrent settlements' intents share a group commit. Phase 2: the
//! peer acts on the call exactly once by the key (answering it again when it is sent again), and
//! this platform commits its record of the outcome with the hospital's reply and the intent's
//! resolution in one ledger commit. An intent
//! whose outcome is not known (the call or its answer lost, a timeout, a crash of either side) is
//! resolved by asking the peer (`/peer/v1/resolve`): what the peer holds under the key is
//! committed here; a key the peer does not hold is refused there from then on and aborted here.
//! Unresolved intents block further settlement of their visit and are resolved on the next message
//! of the visit, at start and every [`RECOVERY_EVERY`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use yibao_domain::codes::{ClrType, ClrWay, Insutype, MedType};
use yibao_domain::Code;
use yibao_ledger::entries::StoredMessage;
use yibao_ledger::peers::{self, Intent, IntentKind, IntentState};
use yibao_ledger::{
    Decision, EntryKind, Institution, LedgerCache, LedgerError, LedgerView, LineRow,
    SettlementHeader, SettlementRecord, StoredFundRow, VisitKind, VisitStatus,
};

use super::client::CallError;
use super::wire::{
    CancelCall, ForwardCall, Outcome, PeerHospital, PeerLine, PeerSettled, PeerVisit, PersonAnswer,
    ResolveCall, SettleCall,
};
use super::PeerStep;
use crate::config::PeerConfig;
use crate::envelope::{reply_text, wire_time, Request};
use crate::error::TxError;
use crate::service::Service;
use crate::state::Shared;
use crate::tx::common::{self, node, parse};
use crate::tx::render::{self, Detail, RenderContext};
use crate::tx::settle::{self, SettleData};
use crate::tx::stay::{self, Stay};
use crate::tx::{batch, outpatient, Ctx, Effect};
use crate::writer::{WriteJob, WriteOutcome};

/// How often unresolved intents are resolved.
pub const RECOVERY_EVERY: Duration = Duration::from_secs(10);
/// The fund code a fund of the insured platform this platform does not know is answered as.
const OTHER_FUND: &str = "910100";
const OTHER_FUND_NAME: &str = "其他支付(异地就医平台返回)";

/// Where a message is handled.
#[derive(Debug, Clone)]
pub enum Route {
    Local,
    Peer(PeerConfig),
}

/// A field of the insured platform's refusal as the hospital's message names it: the facts of the
/// visit the hospital sent (`psn_no`, `insutype`, `mdtrt_id`, `med_type`) are `input.data.*`; any
/// other names the call between the platforms.
fn hospital_field(field: String) -> String {
    match field.as_str() {
        "psn_no" | "insutype" | "mdtrt_id" | "med_type" => format!("input.data.{field}"),
        _ => field,
    }
}

fn data_text(request: &Request, field: &str) -> String {
    request
        .input
        .pointer(&format!("/data/{field}"))
        .map(|v| crate::envelope::scalar_text(Some(v)))
        .unwrap_or_default()
}

/// Decides whether a message is handled by this platform or with a peer: 1101 by the insured
/// place the envelope names; a settlement by the insured place of the visit's person; a
/// cancellation or reversal by whether it names a settlement made with a peer. An insured place
/// that is neither this platform's nor a listed peer's is refused; fee lines of a visit with an
/// unresolved intent cannot be withdrawn.
pub async fn route(service: &Service, request: &Request) -> Result<Route, TxError> {
    let shared = &service.shared;
    if shared.config.peers.is_empty() {
        return Ok(Route::Local);
    }
    let to_peer = |prefix: &str| {
        super::peer_by_prefix(&shared.config, prefix)
            .cloned()
            .map(Route::Peer)
            .ok_or_else(|| {
                TxError::new("insuplc_admdvs", format!("异地平台 {prefix} 已不在配置中"))
            })
    };
    match request.infno.as_str() {
        "1101" | "2201" | "2401" => {
            insured_place(shared, &request.insuplc_admdvs).map(|peer| {
                match (peer, request.infno.as_str()) {
                    (Some(peer), "1101") => Route::Peer(peer),
                    _ => Route::Local,
                }
            })
        }
        "2206" | "2207" | "2303" | "2304" => {
            let mut conn = shared.store.connection().await?;
            let mdtrt_id = data_text(request, "mdtrt_id");
            let Some(visit) = yibao_ledger::entries::visit(&mut conn, &mdtrt_id).await? else {
                return Ok(Route::Local);
            };
            let Some(person) = yibao_ledger::registry::person(&mut conn, &visit.psn_no).await?
            else {
                return Ok(Route::Local);
            };
            let insured = person
                .insu_row(visit.insutype.as_str())
                .map(|row| row.insuplc_admdvs.to_string())
                .unwrap_or_default();
            Ok(insured_place(shared, &insured)?.map_or(Route::Local, Route::Peer))
        }
        "2208" | "2305" => {
            let mut conn = shared.store.connection().await?;
            match peers::intent(&mut conn, &data_text(request, "setl_id")).await? {
                Some(intent) if intent.kind == IntentKind::Settle => to_peer(&intent.peer_prefix),
                _ => Ok(Route::Local),
            }
        }
        "2601" => {
            let mut conn = shared.store.connection().await?;
            let omsgid = data_text(request, "omsgid");
            let stored =
                yibao_ledger::entries::stored_message(&mut conn, &request.fixmedins_code, &omsgid)
                    .await?;
            let Some(stored) = stored else {
                let open = pending_of_message(&mut conn, &request.fixmedins_code, &omsgid).await?;
                return open
                    .first()
                    .map_or(Ok(Route::Local), |i| to_peer(&i.peer_prefix));
            };
            match peers::intent(&mut conn, &stored.effect_ref).await? {
                Some(intent) if intent.kind == IntentKind::Settle => to_peer(&intent.peer_prefix),
                // A cancellation made with the insured platform is not reinstated across
                // platforms: the stay is settled again instead.
                Some(_) => Err(TxError::new(
                    "input.data.omsgid",
                    format!("{omsgid} 撤销的是参保地平台结算的异地就医费用，不能冲正；请重新结算"),
                )),
                None => Ok(Route::Local),
            }
        }
        "2205" | "2302" => {
            let mut conn = shared.store.connection().await?;
            let mdtrt_id = data_text(request, "mdtrt_id");
            if !mdtrt_id.is_empty() && !open_intents(&mut conn, &mdtrt_id).await?.is_empty() {
                return Err(TxError::new(
                    "input.data.mdtrt_id",
                    format!(
                        "就诊 {mdtrt_id} 有结果未确认的异地结算，暂不能撤销费用明细，请稍后重试"
                    ),
                ));
            }
            Ok(Route::Local)
        }
        _ => Ok(Route::Local),
    }
}

/// The visit's intents whose outcome is not known: pending, and their key not in the ledger (an
/// intent committed here may be marked a moment later).
async fn open_intents(
    conn: &mut yibao_ledger::AnyConnection,
    mdtrt_id: &str,
) -> Result<Vec<Intent>, TxError> {
    let mut open = Vec::new();
    for intent in peers::pending(conn, Some(mdtrt_id)).await? {
        if yibao_ledger::entries::settlement(conn, &intent.peer_key)
            .await?
            .is_none()
        {
            open.push(intent);
        }
    }
    Ok(open)
}

/// The unresolved intents started by a hospital's message.
async fn pending_of_message(
    conn: &mut yibao_ledger::AnyConnection,
    fixmedins_code: &str,
    msgid: &str,
) -> Result<Vec<Intent>, TxError> {
    Ok(peers::pending(conn, None)
        .await?
        .into_iter()
        .filter(|i| i.fixmedins_code == fixmedins_code && i.msgid == msgid)
        .collect())
}

/// The peer hosting an insured place; `None` for this platform's own places (or none named).
fn insured_place(shared: &Shared, insuplc_admdvs: &str) -> Result<Option<PeerConfig>, TxError> {
    let insured = insuplc_admdvs.trim();
    if insured.is_empty() || shared.regions().policy_for(insured).is_some() {
        return Ok(None);
    }
    match super::peer_for(&shared.config, insured) {
        Some(peer) => Ok(Some(peer.clone())),
        None => Err(TxError::new(
            "insuplc_admdvs",
            format!(
                "参保地 {insured} 既不是本平台的统筹区，也不属于已配置的任何异地平台，不能受理"
            ),
        )),
    }
}

/// What an intent keeps besides its key: the hospital's transaction, the digest of its message
/// (its stored reply answers a repeat) and the call sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IntentPayload {
    infno: String,
    request_digest: String,
    call: serde_json::Value,
}

/// What the commit of an intent records.
pub struct Commit {
    intent: Intent,
    settled: PeerSettled,
    request_digest: String,
}

/// An intent before its key is drawn: what [`PeerStep::Record`] stores under the next key.
#[derive(Clone)]
pub struct Draft {
    /// The intent, its key empty.
    intent: Intent,
    /// What it keeps, the call's `peer_key` empty.
    payload: IntentPayload,
}

impl Draft {
    /// The intent under `key`, the key also in the call it keeps.
    fn keyed(&self, key: String) -> Result<Intent, TxError> {
        let mut payload = self.payload.clone();
        if let Some(call) = payload.call.as_object_mut() {
            call.insert("peer_key".into(), key.clone().into());
        }
        Ok(Intent {
            peer_key: key,
            payload: serde_json::to_string(&payload)
                .map_err(|e| TxError::internal(e.to_string()))?,
            ..self.intent.clone()
        })
    }
}

/// The resolution of an intent that no record of this platform's commits ([`PeerStep::Mark`]).
pub struct Mark {
    intent: Intent,
    state: IntentState,
}

/// A message handled with a peer, as the reply to the hospital.
pub async fn handle(
    service: &Service,
    request: Request,
    institution: Institution,
    (received_at, inf_refmsgid): (NaiveDateTime, &str),
    peer: PeerConfig,
) -> WriteOutcome {
    let message = Message {
        service,
        request: &request,
        institution: &institution,
        received_at,
        inf_refmsgid,
        peer: &peer,
    };
    let result = match request.infno.as_str() {
        "1101" => message.forward_person().await,
        "2206" | "2303" => message.presettle().await,
        "2207" | "2304" => message.settle().await,
        _ => message.cancel().await,
    };
    result.unwrap_or_else(|error| failure(inf_refmsgid, received_at, &error))
}

fn failure(inf_refmsgid: &str, received_at: NaiveDateTime, error: &TxError) -> WriteOutcome {
    WriteOutcome {
        reply: reply_text(inf_refmsgid, received_at, now(), Err(error)),
        success: false,
        effect: Effect::None,
        download: None,
    }
}

fn success(message: &Message<'_>, output: &RawValue, effect: Effect) -> WriteOutcome {
    WriteOutcome {
        reply: reply_text(message.inf_refmsgid, message.received_at, now(), Ok(output)),
        success: true,
        effect,
        download: None,
    }
}

fn now() -> NaiveDateTime {
    chrono::Local::now().naive_local()
}

fn unreachable(error: &CallError) -> TxError {
    TxError::new(
        "insuplc_admdvs",
        format!("参保地平台不可用，本笔未办理：{error}"),
    )
}

/// The reply to a call whose outcome is unknown while the peer cannot be asked.
fn unresolved(key: &str) -> TxError {
    TxError::new(
        "insuplc_admdvs",
        format!(
            "参保地平台无应答，本笔结果未确认（异地结算键 {key}）；平台将向参保地确认，\
             请稍后用同一 msgid 重发本交易取得结果"
        ),
    )
}

struct Message<'a> {
    service: &'a Service,
    request: &'a Request,
    institution: &'a Institution,
    received_at: NaiveDateTime,
    inf_refmsgid: &'a str,
    peer: &'a PeerConfig,
}

impl Message<'_> {
    /// The hospital as the insured platform is told of it, with the pooling region it belongs to
    /// here (the treating region both platforms clear the settlement under).
    fn hospital(&self) -> PeerHospital {
        let admdvs = self.institution.admdvs.as_str();
        let regions = self.shared().regions();
        PeerHospital::of(
            self.institution,
            regions.region_of(admdvs).unwrap_or(admdvs),
        )
    }

    fn shared(&self) -> &Shared {
        &self.service.shared
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            shared: self.shared(),
            request: self.request,
            institution: self.institution,
            now: self.received_at,
        }
    }

    async fn call<B: Serialize, A: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<A, CallError> {
        self.shared().peers.client.call(self.peer, path, body).await
    }

    /// 1101 answered by the insured platform; the person's registry rows are kept here.
    async fn forward_person(&self) -> Result<WriteOutcome, TxError> {
        let call = ForwardCall {
            hospital: self.hospital(),
            request: envelope_json(self.request),
        };
        let answer: PersonAnswer = self
            .call("/peer/v1/person", &call)
            .await
            .map_err(|e| unreachable(&e))?;
        let (output, rows) = match answer {
            PersonAnswer::Found { output, rows } => (output, rows),
            PersonAnswer::Refused { field, problem } => return Err(TxError::new(field, problem)),
        };
        let import = crate::import::persons_from_rows(&rows, 1).map_err(|e| {
            TxError::new("insuplc_admdvs", format!("参保地平台的人员信息有误：{e}"))
        })?;
        yibao_ledger::registry::upsert_changed_persons(&self.shared().store, &import)
            .await
            .map_err(|error| match error {
                LedgerError::Conflict(problem) => TxError::new("psn_no", problem),
                other => other.into(),
            })?;
        let output = common::to_output(&output)?;
        Ok(success(self, &output, Effect::None))
    }

    /// The call settling the message's visit (its key empty), read on a pooled connection.
    async fn settle_call(&self) -> Result<SettleCall, TxError> {
        let mut conn = self.shared().store.connection().await?;
        let mut cache = LedgerCache::new(0);
        let mut ledger = cache.view(&mut conn);
        let ctx = self.ctx();
        let data: SettleData = parse(node(&self.request.input, "data")?, "input.data")?;
        let inpatient = matches!(self.request.infno.as_str(), "2303" | "2304");
        let ToSettle {
            visit,
            end,
            lines,
            stay,
        } = if inpatient {
            inpatient_lines(&ctx, &mut ledger, &data).await?
        } else {
            let mut visit = outpatient::settleable_visit(&ctx, &mut ledger, &data).await?;
            if let Some(med_type) = &data.med_type {
                visit.med_type =
                    common::request_med_type("input.data.med_type", Some(med_type), "")?;
            }
            let live = ledger.fee_lines(&visit.mdtrt_id).await?;
            let lines = batch::lines_to_settle(&visit, &live, data.chrg_bchno.as_deref())?;
            let stay = Stay::default();
            settle::check_has_lines(&visit, &lines, &stay, false)?;
            let end = visit.begntime;
            ToSettle {
                visit,
                end,
                lines,
                stay,
            }
        };
        let lines = lines
            .iter()
            .map(|l| PeerLine::of(l))
            .collect::<Result<Vec<_>, _>>()?;
        let total: yibao_domain::Fen = lines
            .iter()
            .filter(|l| !stay.consumed(&l.feedetl_sn))
            .map(|l| l.det_item_fee_sumamt)
            .sum();
        match data.medfee_sumamt {
            Some(sent) if sent != total => {
                return Err(TxError::new(
                    "input.data.medfee_sumamt",
                    format!("{sent} 与费用明细合计 {total} 不一致"),
                ))
            }
            None if matches!(self.request.infno.as_str(), "2207" | "2304") => {
                return Err(TxError::new("input.data.medfee_sumamt", "不能为空"))
            }
            _ => {}
        }
        Ok(SettleCall {
            peer_key: String::new(),
            infno: self.request.infno.clone(),
            presettle: matches!(self.request.infno.as_str(), "2206" | "2303"),
            hospital: self.hospital(),
            visit: PeerVisit {
                mdtrt_id: visit.mdtrt_id.clone(),
                psn_no: visit.psn_no.clone(),
                insutype: visit.insutype.to_string(),
                med_type: visit.med_type.to_string(),
                begntime: wire_time(visit.begntime),
                endtime: wire_time(end),
                dise_codg: visit.dise_codg.clone(),
                referred: visit.referred,
                mdtrt_cert_type: visit.mdtrt_cert_type.to_string(),
                emergency: common::emergency_admission(&visit),
            },
            lines,
            use_account: data.use_account(),
            setl_time: wire_time(self.received_at),
            interim: data.interim(),
            earlier_keys: stay.headers().map(|h| h.setl_id.clone()).collect(),
        })
    }

    /// 2206/2303: computed by the insured platform, nothing stored.
    async fn presettle(&self) -> Result<WriteOutcome, TxError> {
        let call = self.settle_call().await?;
        let outcome: Outcome = self
            .call("/peer/v1/settle", &call)
            .await
            .map_err(|e| unreachable(&e))?;
        let settled = match outcome {
            Outcome::Computed { settled } => settled,
            Outcome::Refused { field, problem } => {
                return Err(TxError::new(hospital_field(field), problem))
            }
            _ => return Err(TxError::internal("参保地平台的预结算应答有误")),
        };
        let mut conn = self.shared().store.connection().await?;
        let mut cache = LedgerCache::new(0);
        let mut ledger = cache.view(&mut conn);
        let record = settle_record(
            self.shared(),
            (&call, &Stay::default()),
            &settled,
            (String::new(), &self.request.msgid),
        )?;
        let output =
            render_settlement(&mut ledger, &record, &call.visit.mdtrt_cert_type, true).await?;
        Ok(success(self, &output, Effect::None))
    }

    /// A repeated message gets its stored reply.
    async fn replayed(&self) -> Result<Option<WriteOutcome>, TxError> {
        let mut conn = self.shared().store.connection().await?;
        let stored = yibao_ledger::entries::stored_message(
            &mut conn,
            &self.request.fixmedins_code,
            &self.request.msgid,
        )
        .await?;
        stored
            .map(|s| crate::writer::replay(&s, self.request, &self.request.digest()))
            .transpose()
    }

    /// Resolves the visit's unresolved intents before it is settled or cancelled again.
    async fn settle_earlier(&self, mdtrt_id: &str) -> Result<(), TxError> {
        let pending = {
            let mut conn = self.shared().store.connection().await?;
            peers::pending(&mut conn, Some(mdtrt_id)).await?
        };
        for intent in pending {
            if !resolve_intent(self.service, &intent).await? {
                return Err(TxError::new(
                    "input.data.mdtrt_id",
                    format!(
                        "就诊 {mdtrt_id} 上一笔异地结算（键 {}）的结果尚未确认，请稍后重试",
                        intent.peer_key
                    ),
                ));
            }
        }
        Ok(())
    }

    /// 2207/2304: the two phases.
    async fn settle(&self) -> Result<WriteOutcome, TxError> {
        let mdtrt_id = data_text(self.request, "mdtrt_id");
        let _busy = self.claim(&mdtrt_id)?;
        if let Some(replayed) = self.replayed().await? {
            return Ok(replayed);
        }
        self.settle_earlier(&mdtrt_id).await?;
        if let Some(replayed) = self.replayed().await? {
            return Ok(replayed);
        }
        let mut call = self.settle_call().await?;
        let intent = match self
            .record_intent(IntentKind::Settle, "", json(&call)?)
            .await?
        {
            Ok(intent) => intent,
            Err(refused) => return Ok(refused),
        };
        call.peer_key = intent.peer_key.clone();
        let first = self.call("/peer/v1/settle", &call).await;
        self.conclude(&intent, first).await
    }

    /// 2208/2305/2601 of a settlement made with the peer: the two phases.
    async fn cancel(&self) -> Result<WriteOutcome, TxError> {
        if let Some(replayed) = self.replayed().await? {
            return Ok(replayed);
        }
        if self.request.infno == "2601" {
            self.settle_reversed().await?;
        }
        let (field, original) = self.original().await?;
        let _busy = self.claim(&original.header.mdtrt_id)?;
        self.settle_earlier(&original.header.mdtrt_id).await?;
        if let Some(replayed) = self.replayed().await? {
            return Ok(replayed);
        }
        let mut conn = self.shared().store.connection().await?;
        if let Some(done) =
            yibao_ledger::entries::cancellation_of(&mut conn, &original.header.setl_id).await?
        {
            return Err(TxError::new(
                field,
                format!(
                    "结算 {} 已撤销（撤销结算ID {done}）",
                    original.header.setl_id
                ),
            ));
        }
        if original.header.infno.as_str() == "2304" {
            let mut cache = LedgerCache::new(0);
            stay::check_latest(&mut cache.view(&mut conn), &original, field).await?;
        }
        drop(conn);
        let mut call = CancelCall {
            peer_key: String::new(),
            fixmedins_code: self.request.fixmedins_code.clone(),
            orig_key: original.header.setl_id.clone(),
            infno: self.request.infno.clone(),
            setl_time: wire_time(self.received_at),
        };
        let intent = match self
            .record_intent(IntentKind::Cancel, &call.orig_key, json(&call)?)
            .await?
        {
            Ok(intent) => intent,
            Err(refused) => return Ok(refused),
        };
        call.peer_key = intent.peer_key.clone();
        let first = self.call("/peer/v1/cancel", &call).await;
        self.conclude(&intent, first).await
    }

    /// A 2601 of a message whose settlement is not yet resolved (its answer was lost, as a 2601
    /// after a timeout expects): resolved first, so that what it settled, if anything, is reversed.
    async fn settle_reversed(&self) -> Result<(), TxError> {
        let omsgid = data_text(self.request, "omsgid");
        let open = {
            let mut conn = self.shared().store.connection().await?;
            pending_of_message(&mut conn, &self.request.fixmedins_code, &omsgid).await?
        };
        for intent in open {
            let _busy = self.claim(&intent.mdtrt_id)?;
            if !resolve_intent(self.service, &intent).await? {
                return Err(unresolved(&intent.peer_key));
            }
        }
        Ok(())
    }

    /// The settlement a 2208/2305 (`setl_id`) or 2601 (`omsgid`) cancels, of this hospital.
    async fn original(&self) -> Result<(&'static str, SettlementRecord), TxError> {
        let mut conn = self.shared().store.connection().await?;
        let (field, setl_id) = if self.request.infno == "2601" {
            let omsgid = data_text(self.request, "omsgid");
            let stored = yibao_ledger::entries::stored_message(
                &mut conn,
                &self.request.fixmedins_code,
                &omsgid,
            )
            .await?;
            (
                "input.data.omsgid",
                stored.map(|m| m.effect_ref).unwrap_or_default(),
            )
        } else {
            ("input.data.setl_id", data_text(self.request, "setl_id"))
        };
        let record = yibao_ledger::entries::settlement(&mut conn, &setl_id)
            .await?
            .filter(|r| {
                r.header.fixmedins_code == self.request.fixmedins_code
                    && r.header.kind == EntryKind::Settle
            })
            .ok_or_else(|| {
                TxError::new(
                    field,
                    format!(
                        "定点医药机构 {} 没有结算 {setl_id}",
                        self.request.fixmedins_code
                    ),
                )
            })?;
        let mdtrt_id = data_text(self.request, "mdtrt_id");
        if !mdtrt_id.is_empty() && mdtrt_id != record.header.mdtrt_id {
            return Err(TxError::new(
                "input.data.mdtrt_id",
                format!("结算 {setl_id} 属于就诊 {}", record.header.mdtrt_id),
            ));
        }
        // As on one platform (`settle::cancel`): the person named must be the settlement's.
        let psn_no = data_text(self.request, "psn_no");
        if !psn_no.is_empty() && psn_no != record.header.psn_no {
            return Err(TxError::new(
                "input.data.psn_no",
                format!("{psn_no} 不是结算 {setl_id} 的参保人"),
            ));
        }
        Ok((field, record))
    }

    fn claim(&self, mdtrt_id: &str) -> Result<super::VisitGuard<'_>, TxError> {
        self.shared().peers.claim(mdtrt_id).ok_or_else(|| {
            TxError::new(
                "input.data.mdtrt_id",
                format!("就诊 {mdtrt_id} 正在与参保地平台办理结算，请稍后重试"),
            )
        })
    }

    /// Phase 1: stores the intent of `call` (its key empty) under a new key, as a job of the
    /// ledger writer: the intent is durable when this returns it. The writer's reply instead when
    /// it could not store it (to be answered to the hospital).
    async fn record_intent(
        &self,
        kind: IntentKind,
        orig_key: &str,
        call: serde_json::Value,
    ) -> Result<Result<Intent, WriteOutcome>, TxError> {
        let named = data_text(self.request, "mdtrt_id");
        let visit_named = if named.is_empty() && !orig_key.is_empty() {
            self.mdtrt_of(orig_key).await?
        } else {
            named
        };
        let mdtrt_id = call
            .pointer("/visit/mdtrt_id")
            .and_then(|v| v.as_str())
            .map_or(visit_named, str::to_string);
        let draft = Draft {
            intent: Intent {
                peer_key: String::new(),
                kind,
                peer_prefix: self.peer.admdvs_prefix.clone(),
                fixmedins_code: self.request.fixmedins_code.clone(),
                msgid: self.request.msgid.clone(),
                mdtrt_id,
                orig_key: orig_key.to_string(),
                payload: String::new(),
                state: IntentState::Pending,
                created_at: wire_time(self.received_at),
            },
            payload: IntentPayload {
                infno: self.request.infno.clone(),
                request_digest: self.request.digest(),
                call,
            },
        };
        let job = WriteJob {
            request: self.request.clone(),
            institution: self.institution.clone(),
            received_at: self.received_at,
            inf_refmsgid: self.inf_refmsgid.to_string(),
            peer: Some(PeerStep::Record(Box::new(draft.clone()))),
            counter: None,
        };
        let outcome = self
            .service
            .writer
            .submit(job)
            .await
            .map_err(|e| TxError::storage(&e))?;
        if !outcome.success {
            return Ok(Err(outcome));
        }
        draft.keyed(outcome.reply).map(Ok)
    }

    async fn mdtrt_of(&self, setl_id: &str) -> Result<String, TxError> {
        let mut conn = self.shared().store.connection().await?;
        Ok(yibao_ledger::entries::settlement(&mut conn, setl_id)
            .await?
            .map(|r| r.header.mdtrt_id)
            .unwrap_or_default())
    }

    /// Phase 2 from the peer's first answer: commit what the peer did; otherwise resolve the key.
    async fn conclude(
        &self,
        intent: &Intent,
        first: Result<Outcome, CallError>,
    ) -> Result<WriteOutcome, TxError> {
        let refusal = match first {
            Ok(Outcome::Done { settled }) => {
                return commit(self.service, intent, settled, Some(self)).await;
            }
            Ok(Outcome::Refused { field, problem }) => {
                Some(TxError::new(hospital_field(field), problem))
            }
            _ => None,
        };
        match ask(self.service, intent).await {
            Ok(Outcome::Done { settled }) => {
                commit(self.service, intent, settled, Some(self)).await
            }
            Ok(Outcome::Aborted) => {
                mark(self.service, intent, IntentState::Aborted).await?;
                Err(refusal.unwrap_or_else(|| {
                    TxError::new("insuplc_admdvs", "参保地平台无应答，本笔未办理，请重新发起")
                }))
            }
            _ => Err(unresolved(&intent.peer_key)),
        }
    }
}

/// A call as JSON.
fn json<T: Serialize>(call: &T) -> Result<serde_json::Value, TxError> {
    serde_json::to_value(call).map_err(|e| TxError::internal(e.to_string()))
}

/// The hospital's envelope as JSON in national field names.
fn envelope_json(request: &Request) -> serde_json::Value {
    serde_json::json!({
        "infno": request.infno,
        "msgid": request.msgid,
        "mdtrtarea_admvs": request.mdtrtarea_admvs,
        "insuplc_admdvs": request.insuplc_admdvs,
        "fixmedins_code": request.fixmedins_code,
        "opter": request.opter,
        "inf_time": request.inf_time,
        "sign_no": request.sign_no,
        "input": request.input,
    })
}

/// What a settlement call settles: the visit, the end of care settled, the lines sent and the
/// stay's earlier live settlements they are netted against (none but an admission's).
struct ToSettle {
    visit: yibao_ledger::Visit,
    end: NaiveDateTime,
    lines: Vec<Arc<yibao_ledger::FeeLine>>,
    stay: Stay,
}

/// An admission settled across platforms, finally (discharged, or with its discharge time in the
/// request) or in part (`mid_setl_flag` 1, not yet discharged), as on one platform: the lines are
/// the whole stay's ([`settle::stay_lines`]), netted by the insured platform against the stay's
/// earlier live settlements.
async fn inpatient_lines(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    data: &SettleData,
) -> Result<ToSettle, TxError> {
    let mdtrt_id = data
        .mdtrt_id
        .as_deref()
        .ok_or_else(|| TxError::new("input.data.mdtrt_id", "不能为空"))?;
    let visit = common::owned_visit(ctx, ledger, "input.data.mdtrt_id", mdtrt_id).await?;
    common::check_visit_person(&visit, "input.data.psn_no", Some(&data.psn_no))?;
    if visit.kind != VisitKind::Inpatient {
        return Err(TxError::new(
            "input.data.mdtrt_id",
            format!("就诊 {mdtrt_id} 不是住院就诊"),
        ));
    }
    if !matches!(visit.status, VisitStatus::Open | VisitStatus::Discharged) {
        return Err(TxError::new(
            "input.data.mdtrt_id",
            format!(
                "就诊 {mdtrt_id} {}，不能结算",
                common::status_text(visit.status)
            ),
        ));
    }
    let interim = data.interim();
    crate::tx::inpatient::check_interim(&visit, interim)?;
    let end = crate::tx::inpatient::settlement_end(ctx, &visit, data, interim)?;
    let stay = Stay::of(ledger, &visit, i64::from(end.year())).await?;
    let unsettled = settle::unsettled_lines(ledger, mdtrt_id).await?;
    settle::check_has_lines(&visit, &unsettled, &stay, interim)?;
    let lines = settle::stay_lines(ledger, &visit, &stay, &unsettled).await?;
    Ok(ToSettle {
        visit,
        end,
        lines,
        stay,
    })
}

/// Asks the peer what it holds under an intent's key (refusing the key if nothing).
async fn ask(service: &Service, intent: &Intent) -> Result<Outcome, CallError> {
    let Some(peer) = super::peer_by_prefix(&service.shared.config, &intent.peer_prefix) else {
        return Err(CallError::Unreachable {
            url: intent.peer_prefix.clone(),
            problem: "the peer is no longer configured".into(),
        });
    };
    let call = ResolveCall {
        peer_key: intent.peer_key.clone(),
        fixmedins_code: intent.fixmedins_code.clone(),
    };
    service
        .shared
        .peers
        .client
        .call(peer, "/peer/v1/resolve", &call)
        .await
}

/// Resolves an intent no record of this platform's commits, as a job of the ledger writer.
async fn mark(service: &Service, intent: &Intent, state: IntentState) -> Result<(), TxError> {
    let job = WriteJob {
        request: super::insured::peer_request("", &intent.msgid, &intent.fixmedins_code),
        institution: super::insured::hospital_named(&intent.fixmedins_code),
        received_at: service.shared.now(),
        inf_refmsgid: String::new(),
        peer: Some(PeerStep::Mark(Box::new(Mark {
            intent: intent.clone(),
            state,
        }))),
        counter: None,
    };
    let outcome = service
        .writer
        .submit(job)
        .await
        .map_err(|e| TxError::storage(&e))?;
    if !outcome.success {
        return Err(TxError::internal(format!(
            "异地结算键 {} 的结果未能记录",
            intent.peer_key
        )));
    }
    Ok(())
}

/// Runs [`PeerStep::Record`] on the writer's view: the intent under the next key; the reply is
/// the key.
pub(crate) async fn run_record(
    shared: &Shared,
    ledger: &mut LedgerView<'_>,
    draft: &Draft,
) -> Result<(Decision, WriteOutcome), TxError> {
    let platform = &shared.config.platform_admdvs;
    let intent = ledger
        .record_intent(platform, |key| draft.keyed(key))
        .await?;
    Ok((Decision::Commit, step_done(intent.peer_key)))
}

/// Runs [`PeerStep::Mark`] on the writer's view.
pub(crate) fn run_mark(ledger: &mut LedgerView<'_>, mark: &Mark) -> (Decision, WriteOutcome) {
    ledger.resolve_intent(&mark.intent, mark.state, &wire_time(now()));
    (Decision::Commit, step_done(String::new()))
}

fn step_done(reply: String) -> WriteOutcome {
    WriteOutcome {
        reply,
        success: true,
        effect: Effect::None,
        download: None,
    }
}

/// Resolves an intent: committed when this ledger holds its key; otherwise by the peer's answer
/// (committed or aborted). False when the peer could not be asked.
pub async fn resolve_intent(service: &Service, intent: &Intent) -> Result<bool, TxError> {
    let held = {
        let mut conn = service.shared.store.connection().await?;
        yibao_ledger::entries::settlement(&mut conn, &intent.peer_key)
            .await?
            .is_some()
    };
    if held {
        mark(service, intent, IntentState::Committed).await?;
        return Ok(true);
    }
    match ask(service, intent).await {
        Ok(Outcome::Done { settled }) => {
            commit(service, intent, settled, None).await?;
            Ok(true)
        }
        Ok(Outcome::Aborted) => {
            mark(service, intent, IntentState::Aborted).await?;
            Ok(true)
        }
        Ok(other) => {
            tracing::error!(key = %intent.peer_key, outcome = ?other, "peer answered a resolution with neither done nor aborted");
            Ok(false)
        }
        Err(error) => {
            tracing::warn!(key = %intent.peer_key, %error, "peer intent not resolved");
            Ok(false)
        }
    }
}

/// Resolves every unresolved intent now and every [`RECOVERY_EVERY`] while the service runs.
pub fn recover(service: &Service) {
    if service.shared.config.peers.is_empty() {
        return;
    }
    let shared = Arc::downgrade(&service.shared);
    let writer = service.writer.downgrade();
    let replay = Arc::downgrade(&service.replay);
    tokio::spawn(async move {
        loop {
            let (Some(shared), Some(writer), Some(replay)) =
                (shared.upgrade(), writer.upgrade(), replay.upgrade())
            else {
                return;
            };
            let service = Service {
                shared,
                writer,
                replay,
            };
            if let Err(error) = recover_once(&service).await {
                tracing::warn!(%error, "peer recovery");
            }
            drop(service);
            tokio::time::sleep(RECOVERY_EVERY).await;
        }
    });
}

/// Resolves the unresolved intents whose visit is not being settled right now.
pub async fn recover_once(service: &Service) -> Result<usize, TxError> {
    let pending = {
        let mut conn = service.shared.store.connection().await?;
        peers::pending(&mut conn, None).await?
    };
    let mut resolved = 0;
    for intent in pending {
        let Some(_busy) = service.shared.peers.claim(&intent.mdtrt_id) else {
            continue;
        };
        if resolve_intent(service, &intent).await? {
            resolved += 1;
        }
    }
    Ok(resolved)
}

/// Phase 2: records what the peer did; the writer commits it with the hospital's reply and the
/// intent's resolution. A message already answered (its reply stored by an earlier commit) only
/// marks the intent committed.
async fn commit(
    service: &Service,
    intent: &Intent,
    settled: PeerSettled,
    message: Option<&Message<'_>>,
) -> Result<WriteOutcome, TxError> {
    let payload: IntentPayload = serde_json::from_str(&intent.payload)
        .map_err(|e| TxError::internal(format!("peer intent {}: {e}", intent.peer_key)))?;
    let (request, institution, received_at, inf_refmsgid) = match message {
        Some(m) => (
            m.request.clone(),
            m.institution.clone(),
            m.received_at,
            m.inf_refmsgid.to_string(),
        ),
        None => {
            let institution = service
                .shared
                .institution(&intent.fixmedins_code)
                .await?
                .ok_or_else(|| {
                    TxError::internal(format!("定点医药机构 {} 未登记", intent.fixmedins_code))
                })?;
            let at = service.shared.now();
            let request =
                super::insured::peer_request(&payload.infno, &intent.msgid, &intent.fixmedins_code);
            (request, institution, at, service.shared.next_refmsgid(at))
        }
    };
    let job = WriteJob {
        request,
        institution,
        received_at,
        inf_refmsgid,
        peer: Some(PeerStep::Commit(Box::new(Commit {
            intent: intent.clone(),
            settled,
            request_digest: payload.request_digest,
        }))),
        counter: None,
    };
    let outcome = service
        .writer
        .submit(job)
        .await
        .map_err(|e| TxError::storage(&e))?;
    if outcome.success && outcome.effect == Effect::None {
        mark(service, intent, IntentState::Committed).await?;
    }
    Ok(outcome)
}

/// The fund rows as this platform answers them: a fund code none of its policies knows becomes
/// 910100, rows of one code and payer summed.
fn answered_funds(shared: &Shared, settled: &PeerSettled) -> Result<Vec<StoredFundRow>, TxError> {
    let regions = shared.regions();
    let mut rows: Vec<StoredFundRow> = Vec::with_capacity(settled.setldetail.len());
    for (index, fund) in settled.setldetail.iter().enumerate() {
        let mut row = fund.stored(index)?;
        if !regions.knows_fund(row.row.fund_pay_type.as_str()) {
            row.row.fund_pay_type = Code::lit(OTHER_FUND);
            row.fund_pay_type_name = OTHER_FUND_NAME.into();
        }
        match rows
            .iter_mut()
            .find(|r| r.row.fund_pay_type == row.row.fund_pay_type && r.row.payer == row.row.payer)
        {
            Some(same) => {
                same.row.inscp_scp_amt += row.row.inscp_scp_amt;
                same.row.fund_payamt += row.row.fund_payamt;
                same.row.crt_payb_lmt_amt = None;
                same.setl_proc_info = format!("{}；{}", same.setl_proc_info, row.setl_proc_info);
            }
            None => rows.push(row),
        }
    }
    Ok(rows)
}

/// This platform's record of a settlement the peer made: its amounts and fund rows (as answered),
/// this platform's splits of the lines it consumes (the call's less those the stay's earlier
/// settlements consumed), no accumulator postings (they are the peer's).
fn settle_record(
    shared: &Shared,
    (call, stay): (&SettleCall, &Stay),
    settled: &PeerSettled,
    (setl_id, msgid): (String, &str),
) -> Result<SettlementRecord, TxError> {
    let v = &call.visit;
    if settled.interim != call.interim {
        tracing::error!(key = %settled.peer_key, interim = call.interim, "the peer did not settle the call as asked (interim or final): a platform older than interim settlements? the daily reconciliation shows it");
    }
    let med_type = MedType::from_code(common::code("med_type", &v.med_type)?);
    let header = SettlementHeader {
        setl_id,
        kind: EntryKind::Settle,
        orig_setl_id: None,
        infno: common::code("infno", &call.infno)?,
        msgid: msgid.to_string(),
        fixmedins_code: call.hospital.fixmedins_code.clone(),
        mdtrt_id: v.mdtrt_id.clone(),
        psn_no: v.psn_no.clone(),
        insutype: Insutype::from_code(common::code("insutype", &v.insutype)?),
        year: settled.year,
        med_type,
        mid_setl_flag: call.interim,
        setl_time: common::datetime("setl_time", &call.setl_time)?,
        clr_type: ClrType::of_med_type(med_type),
        clr_way: ClrWay::ByItem,
        clr_optins: common::code("clr_optins", &settled.clr_optins)?,
        mdtrtarea_admvs: common::code("admdvs", &call.hospital.admdvs)?,
        balc: settled.balc,
    };
    let lines = call
        .lines
        .iter()
        .filter(|l| !stay.consumed(&l.feedetl_sn))
        .map(|l| LineRow {
            feedetl_sn: l.feedetl_sn.clone(),
            amounts: l.amounts(),
        })
        .collect();
    let record = SettlementRecord {
        header,
        amounts: settled.amounts,
        funds: answered_funds(shared, settled)?,
        lines,
        postings: Vec::new(),
    };
    if let Some(problem) = record.identity_violations().into_iter().next() {
        tracing::error!(%problem, "peer answer fails the settlement identities");
        return Err(TxError::new(
            "insuplc_admdvs",
            format!("参保地平台的结算结果不平衡：{problem}"),
        ));
    }
    Ok(record)
}

async fn render_settlement(
    ledger: &mut LedgerView<'_>,
    record: &SettlementRecord,
    mdtrt_cert_type: &str,
    presettlement: bool,
) -> Result<Box<RawValue>, TxError> {
    let person = common::registered_person(ledger, "psn_no", &record.header.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", record.header.insutype.as_str())?.clone();
    let context = RenderContext {
        person: &person,
        insu: &insu,
        mdtrt_cert_type,
        presettlement,
        detail: Detail::Settlement,
    };
    render::settlement_output(record, &context)
}

/// Runs a commit on the writer's view: the hospital's reply is stored with the record, so a repeat
/// of the message gets it.
pub(crate) async fn run_commit(
    shared: &Shared,
    ledger: &mut LedgerView<'_>,
    job: &WriteJob,
    commit: &Commit,
) -> Result<(Decision, WriteOutcome), TxError> {
    let request = &job.request;
    if let Some(stored) = ledger
        .stored_message(&request.fixmedins_code, &request.msgid)
        .await?
    {
        let outcome = crate::writer::replay(&stored, request, &commit.request_digest)?;
        return Ok((Decision::Rollback, outcome));
    }
    let payload: IntentPayload = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(&commit.intent.payload)
            .map_err(|e| TxError::internal(e.to_string()))?,
    )
    .map_err(|e| TxError::internal(e.to_string()))?;
    let (output, effect) = match commit.intent.kind {
        IntentKind::Settle => commit_settlement(shared, ledger, &payload, commit).await?,
        IntentKind::Cancel => commit_cancellation(ledger, &payload, commit).await?,
    };
    let reply = reply_text(&job.inf_refmsgid, job.received_at, now(), Ok(&output));
    ledger
        .store_message(StoredMessage {
            fixmedins_code: request.fixmedins_code.clone(),
            msgid: request.msgid.clone(),
            infno: payload.infno.clone(),
            effect_ref: commit.intent.peer_key.clone(),
            reply: reply.clone(),
            created_at: wire_time(job.received_at),
            request_digest: commit.request_digest.clone(),
        })
        .await?;
    ledger.resolve_intent(&commit.intent, IntentState::Committed, &wire_time(now()));
    Ok((
        Decision::Commit,
        WriteOutcome {
            reply,
            success: true,
            effect,
            download: None,
        },
    ))
}

async fn commit_settlement(
    shared: &Shared,
    ledger: &mut LedgerView<'_>,
    payload: &IntentPayload,
    commit: &Commit,
) -> Result<(Box<RawValue>, Effect), TxError> {
    let call: SettleCall = serde_json::from_value(payload.call.clone())
        .map_err(|e| TxError::internal(e.to_string()))?;
    let mut visit = ledger
        .visit(&call.visit.mdtrt_id)
        .await?
        .ok_or_else(|| TxError::internal(format!("就诊 {} 不在账中", call.visit.mdtrt_id)))?;
    let stay = Stay::of(ledger, &visit, commit.settled.year).await?;
    let record = settle_record(
        shared,
        (&call, &stay),
        &commit.settled,
        (commit.intent.peer_key.clone(), &commit.intent.msgid),
    )?;
    ledger.append_settlement(record.clone()).await?;
    if !call.interim {
        visit.status = match visit.status {
            VisitStatus::Discharged => VisitStatus::DischargedSettled,
            _ => VisitStatus::Settled,
        };
        if visit.kind == VisitKind::Inpatient && visit.endtime.is_none() {
            visit.endtime = common::datetime("endtime", &call.visit.endtime).ok();
        }
        ledger.update_visit(&visit);
    }
    let output = render_settlement(ledger, &record, &call.visit.mdtrt_cert_type, false).await?;
    Ok((output, Effect::Settled))
}

async fn commit_cancellation(
    ledger: &mut LedgerView<'_>,
    payload: &IntentPayload,
    commit: &Commit,
) -> Result<(Box<RawValue>, Effect), TxError> {
    let call: CancelCall = serde_json::from_value(payload.call.clone())
        .map_err(|e| TxError::internal(e.to_string()))?;
    let original = ledger
        .settlement(&call.orig_key)
        .await?
        .ok_or_else(|| TxError::internal(format!("结算 {} 不在账中", call.orig_key)))?;
    let mirror = SettlementHeader {
        setl_id: commit.intent.peer_key.clone(),
        kind: EntryKind::Cancel,
        orig_setl_id: Some(original.header.setl_id.clone()),
        infno: common::code("infno", &payload.infno)?,
        msgid: commit.intent.msgid.clone(),
        setl_time: common::datetime("setl_time", &call.setl_time)?,
        balc: commit.settled.balc,
        ..original.header.clone()
    };
    let record = original.negated(mirror);
    if record.amounts != commit.settled.amounts {
        tracing::error!(key = %commit.intent.peer_key, "the peer's cancellation differs from the negation of the settlement");
    }
    ledger.append_settlement(record.clone()).await?;
    let mut visit = ledger
        .visit(&original.header.mdtrt_id)
        .await?
        .ok_or_else(|| TxError::internal(format!("就诊 {} 不在账中", original.header.mdtrt_id)))?;
    let settled_visit = visit.clone();
    settle::reopen_visit(ledger, &mut visit, &original).await?;
    if payload.infno == "2601" {
        return Ok((common::empty_output()?, Effect::Cancelled));
    }
    let person = common::registered_person(ledger, "psn_no", &record.header.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", record.header.insutype.as_str())?.clone();
    let context = RenderContext {
        person: &person,
        insu: &insu,
        mdtrt_cert_type: settled_visit.mdtrt_cert_type.as_str(),
        presettlement: false,
        detail: Detail::Cancellation {
            visit: &settled_visit,
        },
    };
    Ok((
        render::settlement_output(&record, &context)?,
        Effect::Cancelled,
    ))
}
