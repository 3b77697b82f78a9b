//! 3101 明细审核事前分析 / 3102 明细审核事中分析 / 3103 事前事中服务反馈: the real-time audit. An
//! analysis runs the rules of its stage (事前 for 3101, 事中 for 3102) of the service's rule set over
//! the encounter sent (`patient_dtos` → `fsi_encounter_dtos` → `fsi_order_dtos`), with the person's
//! history from the ledger (their visits and live fee lines of the last [`HISTORY_DAYS`] days at
//! every institution, two indexed reads); a rule whose `on_hit` is `self_pay` says the line is paid as
//! 全自费, and fee upload (2204/2301, [`self_pay_lines`]) makes it so. 3103 stores the hospital's
//! disposition of each warning.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use yibao_audit::history::PersonHistory;
use yibao_audit::realtime::VisitCare;
use yibao_audit::{
    Claim, ClaimLine, Hit, Interner, Item, OnHit, PersonInfo, Rule, RuleSet, Text, HISTORY_DAYS,
};
use yibao_catalog::Catalog;
use yibao_domain::codes::ChrgitmLv;
use yibao_domain::{Code, Fen};
use yibao_ledger::audit_claims::SettledLine;
use yibao_ledger::audit_feedback::{self, Feedback};
use yibao_ledger::lookups::{self, CareWindow};
use yibao_ledger::{LedgerView, Person, Visit, VisitKind};
use yibao_wire::lenient;
use yibao_wire::render::Yuan;

use super::common::{self, node, parse};
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

/// Most patients, encounters per patient and orders per encounter one analysis accepts.
const MAX_PATIENTS: usize = 20;
const MAX_ENCOUNTERS: usize = 50;
const MAX_ORDERS: usize = 5_000;
/// Most warnings one 3103 answers, and the longest reason and id accepted.
const MAX_WARNS: usize = 1_000;
const MAX_REASON_CHARS: usize = 500;
const MAX_ID_CHARS: usize = 100;

/// The stage an analysis transaction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// 3101 事前: before an order is placed.
    Before,
    /// 3102 事中: at fee upload and (pre-)settlement.
    During,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Before => "事前",
            Stage::During => "事中",
        }
    }

    /// The `trig_scen` values of the stage (supervision.md §1.1).
    fn scenes(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Stage::Before => 1..=5,
            Stage::During => 6..=10,
        }
    }
}

#[derive(Deserialize)]
struct PatientDto {
    #[serde(deserialize_with = "lenient::string")]
    patn_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    curr_mdtrt_id: Option<String>,
    #[serde(default)]
    fsi_encounter_dtos: Value,
}

#[derive(Deserialize)]
struct EncounterDto {
    #[serde(deserialize_with = "lenient::string")]
    mdtrt_id: String,
    #[serde(deserialize_with = "lenient::code")]
    med_type: Code,
    #[serde(default, deserialize_with = "lenient::opt_code")]
    insutype: Option<Code>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    adm_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dscg_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dscg_main_dise_codg: Option<String>,
    #[serde(default)]
    fsi_diagnose_dtos: Value,
    #[serde(default)]
    fsi_order_dtos: Value,
}

#[derive(Deserialize)]
struct DiagnoseDto {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dise_codg: Option<String>,
}

#[derive(Deserialize)]
struct OrderDto {
    #[serde(deserialize_with = "lenient::string")]
    rx_id: String,
    #[serde(deserialize_with = "lenient::string")]
    hilist_code: String,
    #[serde(deserialize_with = "lenient::scaled::<_, 4>")]
    cnt: i64,
    #[serde(default, deserialize_with = "lenient::scaled::<_, 6>")]
    pric: i64,
    #[serde(deserialize_with = "lenient::yuan")]
    sumamt: Fen,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    drord_dr_codg: Option<String>,
}

/// One encounter to analyse: its claim and each line's `rx_id`.
struct Encounter {
    claim: Claim,
    rx_ids: Vec<String>,
}

/// Rows of a node real clients send as one object or as an array; absent or empty: none.
fn rows<'v>(value: &'v Value, path: &str, max: usize) -> Result<Vec<&'v Value>, TxError> {
    let rows: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => return Err(TxError::new(path, "须为对象或数组")),
    };
    if rows.len() > max {
        return Err(TxError::new(path, format!("超过 {max} 行")));
    }
    Ok(rows)
}

/// `rule_ids`: absent, empty, a comma-separated text or an array of ids; each must be a rule of the set.
fn rule_ids(data: &Value, set: &RuleSet) -> Result<Vec<String>, TxError> {
    let ids: Vec<String> = match data.get("rule_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                _ => Err(TxError::new("input.data.rule_ids", "须为规则编号文本")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(TxError::new("input.data.rule_ids", "须为规则编号数组")),
    };
    if let Some(unknown) = ids
        .iter()
        .find(|id| !set.rules.iter().any(|r| &r.id == *id))
    {
        return Err(TxError::new(
            "input.data.rule_ids",
            format!("规则 {unknown} 不在规则库 {} 中", set.meta.version),
        ));
    }
    Ok(ids)
}

fn check_scene(data: &Value, stage: Stage) -> Result<(), TxError> {
    let scene = match data.get("trig_scen") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(()),
        Some(Value::String(s)) => s.trim().parse::<u8>().ok(),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Some(_) => None,
    };
    match scene {
        Some(s) if stage.scenes().contains(&s) => Ok(()),
        _ => Err(TxError::new(
            "input.data.trig_scen",
            format!(
                "{}分析的触发场景须为 {}–{}",
                stage.name(),
                stage.scenes().start(),
                stage.scenes().end()
            ),
        )),
    }
}

/// 3101 / 3102: analyses each patient's current encounter (`curr_mdtrt_id`, or every encounter
/// sent when it is empty) and answers one `result` row per rule and encounter flagged.
pub async fn analyse(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    stage: Stage,
) -> Result<TxOutput, TxError> {
    let data = node(&ctx.request.input, "data")?;
    check_scene(data, stage)?;
    let set = &ctx.shared.audit;
    let ids = rule_ids(data, set)?;
    let patients = rows(
        data.get("patient_dtos").unwrap_or(&Value::Null),
        "input.data.patient_dtos",
        MAX_PATIENTS,
    )?;
    if patients.is_empty() {
        return Err(TxError::new("input.data.patient_dtos", "缺少参保人信息"));
    }
    let mut result = Vec::new();
    for (pi, raw) in patients.into_iter().enumerate() {
        let path = format!("input.data.patient_dtos[{pi}]");
        let patient: PatientDto = parse(raw, &path)?;
        result.extend(analyse_patient(ctx, ledger, stage, &ids, &patient, &path).await?);
    }
    Ok(TxOutput::read(common::to_output(&serde_json::json!({
        "result": result
    }))?))
}

async fn analyse_patient(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    stage: Stage,
    ids: &[String],
    patient: &PatientDto,
    path: &str,
) -> Result<Vec<ResultRow>, TxError> {
    let person =
        common::registered_person(ledger, &format!("{path}.patn_id"), &patient.patn_id).await?;
    let enc_path = format!("{path}.fsi_encounter_dtos");
    let raw_encounters = rows(&patient.fsi_encounter_dtos, &enc_path, MAX_ENCOUNTERS)?;
    if raw_encounters.is_empty() {
        return Err(TxError::new(enc_path, "缺少就诊信息"));
    }
    let mut encounters = Vec::with_capacity(raw_encounters.len());
    for (ei, raw) in raw_encounters.into_iter().enumerate() {
        let path = format!("{enc_path}[{ei}]");
        encounters.push(encounter(ctx, &person, raw, &path)?);
    }
    let current: Vec<&str> = match patient.curr_mdtrt_id.as_deref() {
        Some(id) => {
            if !encounters.iter().any(|e| &*e.claim.mdtrt_id == id) {
                return Err(TxError::new(
                    format!("{path}.curr_mdtrt_id"),
                    format!("{id} 不在 fsi_encounter_dtos 中"),
                ));
            }
            vec![id]
        }
        None => encounters.iter().map(|e| &*e.claim.mdtrt_id).collect(),
    };
    let sent: Vec<&Claim> = encounters.iter().map(|e| &e.claim).collect();
    let history = history_claims(ctx, ledger, &person, &sent).await?;
    let mut claims: Vec<&Claim> = history.iter().collect();
    claims.extend(sent.iter().copied());
    let hist = PersonHistory::new(claims);
    let info = person_info(&person);
    let mut out = Vec::new();
    for encounter in encounters
        .iter()
        .filter(|e| current.contains(&&*e.claim.mdtrt_id))
    {
        let ci = hist
            .claims
            .iter()
            .position(|c| std::ptr::eq(*c, &encounter.claim))
            .unwrap_or_default() as u32;
        let hits = yibao_audit::check_claim(
            &ctx.shared.audit,
            stage.name(),
            ids,
            |_| true,
            &info,
            &hist,
            ci,
        );
        let enforced = ctx.shared.config.audit_enforce_at_upload;
        out.extend(hits.iter().map(|hit| result_row(hit, encounter, enforced)));
    }
    Ok(out)
}

/// The person as the rules read them (sex and birth date from the register).
fn person_info(person: &Person) -> PersonInfo {
    PersonInfo {
        psn_no: person.psn_no.clone(),
        gend: person.gend.as_str().to_string(),
        brdy: Some(person.brdy),
        ..PersonInfo::default()
    }
}

/// The person's sex as a claim carries it.
fn gend_code(person: &Person) -> Code {
    Code::new(person.gend.as_str()).unwrap_or_default()
}

/// The institution level (1–3) of the calling institution under the person's policy.
fn institution_level(ctx: &Ctx<'_>, person: &Person, insutype: &str) -> Result<u8, TxError> {
    let insu = common::insu_row(person, "insutype", insutype)?;
    let rules = common::policy_and_catalog(ctx, insu, ctx.now.date())?;
    Ok(level_under(ctx, &rules.policy))
}

/// The calling institution's level (1–3) as a policy maps its `hosp_lv` (1 when it does not).
fn level_under(ctx: &Ctx<'_>, policy: &yibao_policy::Policy) -> u8 {
    policy
        .level_of(ctx.institution.hosp_lv)
        .map_or(1, |l| l.level)
}

fn catalog_for(
    ctx: &Ctx<'_>,
    person: &Person,
    insutype: &str,
) -> Result<std::sync::Arc<Catalog>, TxError> {
    let insu = common::insu_row(person, "insutype", insutype)?;
    Ok(common::policy_and_catalog(ctx, insu, ctx.now.date())?.catalog)
}

fn encounter(
    ctx: &Ctx<'_>,
    person: &Person,
    raw: &Value,
    path: &str,
) -> Result<Encounter, TxError> {
    let dto: EncounterDto = parse(raw, path)?;
    let insutype = match dto.insutype {
        Some(t) => t,
        None => person
            .insu
            .first()
            .map(|r| r.insutype.code())
            .ok_or_else(|| TxError::new(format!("{path}.insutype"), "人员没有参保险种"))?,
    };
    let time = |field: &str, text: Option<&str>| -> Result<Option<NaiveDateTime>, TxError> {
        text.map(|t| common::care_time(ctx, &format!("{path}.{field}"), t))
            .transpose()
    };
    let begin = time("adm_date", dto.adm_date.as_deref())?.unwrap_or(ctx.now);
    let end = time("dscg_date", dto.dscg_date.as_deref())?.unwrap_or(begin.max(ctx.now));
    let level = institution_level(ctx, person, insutype.as_str()).map_err(|e| TxError {
        field: format!("{path}.{}", e.field),
        ..e
    })?;
    let catalog = catalog_for(ctx, person, insutype.as_str()).map_err(|e| TxError {
        field: format!("{path}.{}", e.field),
        ..e
    })?;
    let mut diagnoses: Vec<String> = dto.dscg_main_dise_codg.into_iter().collect();
    for (di, raw) in rows(
        &dto.fsi_diagnose_dtos,
        &format!("{path}.fsi_diagnose_dtos"),
        100,
    )?
    .into_iter()
    .enumerate()
    {
        let d: DiagnoseDto = parse(raw, &format!("{path}.fsi_diagnose_dtos[{di}]"))?;
        diagnoses.extend(d.dise_codg.filter(|c| !diagnoses.contains(c)));
    }
    let orders_path = format!("{path}.fsi_order_dtos");
    let mut lines = Vec::new();
    let mut rx_ids = Vec::new();
    for (oi, raw) in rows(&dto.fsi_order_dtos, &orders_path, MAX_ORDERS)?
        .into_iter()
        .enumerate()
    {
        let order: OrderDto = parse(raw, &format!("{orders_path}[{oi}]"))?;
        lines.push(order_line(&catalog, &order));
        rx_ids.push(order.rx_id);
    }
    let total = lines.iter().map(|l: &ClaimLine| l.amount).sum();
    Ok(Encounter {
        claim: Claim {
            mdtrt_id: dto.mdtrt_id.into(),
            psn_no: person.psn_no.as_str().into(),
            fixmedins_code: ctx.institution.fixmedins_code.as_str().into(),
            med_type: dto.med_type,
            level,
            insutype,
            gend: gend_code(person),
            brdy: Some(person.brdy),
            diagnoses: diagnoses.into_iter().map(Text::from).collect(),
            begin,
            end,
            lines: lines.into(),
            total,
            fund_pay: Fen::ZERO,
            acct_pay: Fen::ZERO,
        },
        rx_ids,
    })
}

/// An order as a claim line: its category and restrictions from the catalogue; all of it in scope
/// unless the catalogue does not list it or lists it as 丙类.
fn order_line(catalog: &Catalog, order: &OrderDto) -> ClaimLine {
    let item = catalog.get(&order.hilist_code);
    let in_scope = item.is_some_and(|i| i.chrgitm_lv != ChrgitmLv::ClassC);
    ClaimLine {
        item: Item::shared(
            &order.hilist_code,
            item.map(|i| i.med_chrgitm_type.code()).unwrap_or_default(),
            crate::audit::line_limits(catalog, &order.hilist_code),
        ),
        cnt_e4: order.cnt,
        pric_micro_yuan: order.pric,
        amount: order.sumamt,
        inscope: if in_scope { order.sumamt } else { Fen::ZERO },
        doctor: order.drord_dr_codg.as_deref().map(Text::from),
    }
}

/// The person's stored visits of the [`HISTORY_DAYS`] before the encounters sent, with their live
/// fee lines, as claims (visits the request sends are left out: the request's version counts):
/// from the service's per-person state ([`crate::care_state`]), or, when it holds no such
/// state, two indexed reads of the ledger (visits, then the lines' audit columns).
async fn history_claims(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    person: &Person,
    sent: &[&Claim],
) -> Result<Vec<Claim>, TxError> {
    let first = sent.iter().map(|c| c.begin).min().unwrap_or(ctx.now);
    let last = sent.iter().map(|c| c.end).max().unwrap_or(ctx.now);
    let window = CareWindow {
        from: Some(first - Duration::days(HISTORY_DAYS)),
        to: Some(last),
    };
    let catalog = sent
        .first()
        .map(|c| catalog_for(ctx, person, c.insutype.as_str()))
        .transpose()?;
    let catalog = catalog.as_deref();
    let held = ctx
        .shared
        .care
        .care_of(ledger.conn(), &person.psn_no)
        .await?;
    let care = match held {
        Some(care) => care,
        None => {
            let visits = lookups::person_visits(ledger.conn(), &person.psn_no, window).await?;
            let lines = lookups::person_audit_lines(ledger.conn(), &person.psn_no).await?;
            crate::care_state::snapshot_of(visits, lines)
        }
    };
    let visits = care.visits().filter(|v| lookups::visit_in(window, v.row()));
    Ok(claims_of(visits, catalog, sent, ctx.now))
}

/// The history's claims: the visits (not cancelled, not sent) with their lines in upload order.
fn claims_of<'a>(
    visits: impl Iterator<Item = &'a VisitCare<Visit, SettledLine>>,
    catalog: Option<&Catalog>,
    sent: &[&Claim],
    now: NaiveDateTime,
) -> Vec<Claim> {
    let mut interner = Interner::default();
    let mut claims: Vec<Claim> = visits
        .filter(|v| !sent.iter().any(|c| *c.mdtrt_id == *v.row().mdtrt_id))
        .filter(|v| v.row().status != yibao_ledger::VisitStatus::Cancelled)
        .map(|v| {
            let lines = v
                .lines()
                .map(|(_, line)| crate::audit::claim_line(line, catalog, &mut interner))
                .collect();
            stored_claim(v.row(), lines, now)
        })
        .collect();
    claims.sort_by(|a, b| (a.begin, &a.mdtrt_id).cmp(&(b.begin, &b.mdtrt_id)));
    claims
}

/// A stored visit as a claim of the history: an open stay lasts until now; its level and amounts
/// are not read by the rules of history (they read codes, times, institutions and stays).
fn stored_claim(visit: &Visit, lines: Vec<ClaimLine>, now: NaiveDateTime) -> Claim {
    let end = match (visit.endtime, visit.kind) {
        (Some(end), _) => end,
        (None, VisitKind::Inpatient) => now.max(visit.begntime),
        (None, _) => visit.begntime,
    };
    Claim {
        mdtrt_id: visit.mdtrt_id.as_str().into(),
        psn_no: visit.psn_no.as_str().into(),
        fixmedins_code: visit.fixmedins_code.as_str().into(),
        med_type: visit.med_type.code(),
        level: 0,
        insutype: visit.insutype.code(),
        gend: Code::default(),
        brdy: None::<NaiveDate>,
        diagnoses: (!visit.dise_codg.is_empty())
            .then(|| Text::from(visit.dise_codg.as_str()))
            .into_iter()
            .collect(),
        begin: visit.begntime,
        end,
        total: lines.iter().map(|l| l.amount).sum(),
        lines: lines.into(),
        fund_pay: Fen::ZERO,
        acct_pay: Fen::ZERO,
    }
}

/// The 事中 rules whose `on_hit` is `self_pay` over the lines of a fee upload (2204/2301, the lines
/// of 2101/2102): each flagged line is marked self-paid (`hosp_appr_flag` 2 in the engine's reading
/// of it, so the split — and any later re-split — makes it 全自费); returns the reply's `memo` per
/// flagged line index. Runs only with `audit_enforce_at_upload`; builds nothing when the rule set has
/// no such rule, and reads the person's history only when one of them needs it.
pub async fn self_pay_lines(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    upload: Upload<'_>,
    lines: &mut [yibao_settlement::FeeLine],
) -> Result<FxHashMap<u32, String>, TxError> {
    let set = &ctx.shared.audit;
    let applies = |r: &Rule| r.on_hit == OnHit::SelfPay && r.runs_at(Stage::During.name());
    if !ctx.shared.config.audit_enforce_at_upload || !set.rules.iter().any(applies) {
        return Ok(FxHashMap::default());
    }
    let claim = upload_claim(ctx, &upload, lines);
    let history = if set
        .rules
        .iter()
        .any(|r| applies(r) && r.when.reads_history())
    {
        history_claims(ctx, ledger, upload.person, &[&claim]).await?
    } else {
        Vec::new()
    };
    let mut claims: Vec<&Claim> = history.iter().collect();
    claims.push(&claim);
    let hist = PersonHistory::new(claims);
    let ci = hist
        .claims
        .iter()
        .position(|c| std::ptr::eq(*c, &claim))
        .unwrap_or_default() as u32;
    let info = person_info(upload.person);
    let hits = yibao_audit::check_claim(set, Stage::During.name(), &[], applies, &info, &hist, ci);
    let mut memos = FxHashMap::default();
    for hit in &hits {
        for &(li, _) in &hit.lines {
            lines[li as usize].hosp_appr_flag = yibao_domain::Code::lit("2");
            memos.entry(li).or_insert_with(|| {
                format!("智能审核 {}：{}，全自费", hit.rule.id, hit.rule.reason)
            });
        }
    }
    Ok(memos)
}

/// What a fee upload's audit reads besides its lines.
pub struct Upload<'a> {
    pub person: &'a Person,
    pub visit: &'a Visit,
    pub policy: &'a yibao_policy::Policy,
    pub catalog: &'a Catalog,
}

fn upload_claim(ctx: &Ctx<'_>, upload: &Upload<'_>, lines: &[yibao_settlement::FeeLine]) -> Claim {
    let visit = upload.visit;
    let catalog = upload.catalog;
    let claim_lines: Vec<ClaimLine> = lines
        .iter()
        .map(|l| ClaimLine {
            item: Item::shared(
                &l.med_list_codg,
                catalog
                    .get(&l.med_list_codg)
                    .map(|i| i.med_chrgitm_type.code())
                    .unwrap_or_default(),
                crate::audit::line_limits(catalog, &l.med_list_codg),
            ),
            cnt_e4: l.cnt_e4,
            pric_micro_yuan: l.pric_micro_yuan,
            amount: l.amount,
            inscope: l.amount,
            doctor: None,
        })
        .collect();
    Claim {
        level: level_under(ctx, upload.policy),
        gend: gend_code(upload.person),
        brdy: Some(upload.person.brdy),
        ..stored_claim(visit, claim_lines, ctx.now)
    }
}

/// One line a rule flagged.
#[derive(Serialize)]
struct DetailRow {
    jr_id: String,
    patn_id: String,
    mdtrt_id: String,
    rx_id: String,
    /// The line's charge category (`med_chrgitm_type`).
    vola_item_type: String,
    vola_amt: Yuan,
}

/// One `result` row: a rule flagged on an encounter.
#[derive(Serialize)]
struct ResultRow {
    jr_id: String,
    rule_id: String,
    rule_name: String,
    vola_cont: String,
    patn_id: String,
    mdtrt_id: String,
    judge_result_detail_dtos: Vec<DetailRow>,
    vola_amt: Yuan,
    sev_deg: String,
    vola_evid: String,
    /// `1` the encounter as a whole, `2` items.
    vola_bhvr_type: String,
}

/// The warning id (`jr_id`) of a rule on an encounter: `<rule_id>@<mdtrt_id>`; 3103 names it.
fn warning_id(rule: &Rule, mdtrt_id: &str) -> String {
    format!("{}@{mdtrt_id}", rule.id)
}

/// What the reply says happens to the flagged lines (`enforced`: fee upload makes them 全自费).
fn disposal(rule: &Rule, enforced: bool) -> &'static str {
    match (rule.on_hit, enforced) {
        (OnHit::Warn, _) => "（提醒）",
        (OnHit::SelfPay, true) => "（医保基金不予支付，该项目按全自费处理）",
        (OnHit::SelfPay, false) => "（明确违规，应按全自费处理）",
    }
}

fn result_row(hit: &Hit<'_>, encounter: &Encounter, enforced: bool) -> ResultRow {
    let claim = &encounter.claim;
    let jr_id = warning_id(hit.rule, &claim.mdtrt_id);
    let details: Vec<DetailRow> = hit
        .lines
        .iter()
        .map(|&(li, amount)| DetailRow {
            jr_id: jr_id.clone(),
            patn_id: claim.psn_no.to_string(),
            mdtrt_id: claim.mdtrt_id.to_string(),
            rx_id: encounter.rx_ids[li as usize].clone(),
            vola_item_type: claim.lines[li as usize].chrgitm_type().to_string(),
            vola_amt: Yuan(amount),
        })
        .collect();
    let items: Vec<&str> = hit
        .lines
        .iter()
        .map(|&(li, _)| claim.lines[li as usize].code())
        .collect();
    let concerned = if items.is_empty() {
        String::new()
    } else {
        format!("，涉及项目 {}", items.join("、"))
    };
    ResultRow {
        vola_cont: format!(
            "{}（{}）{concerned}{}",
            hit.rule.reason,
            hit.rule.name,
            disposal(hit.rule, enforced)
        ),
        rule_id: hit.rule.id.clone(),
        rule_name: hit.rule.name.clone(),
        patn_id: claim.psn_no.to_string(),
        mdtrt_id: claim.mdtrt_id.to_string(),
        vola_bhvr_type: if details.is_empty() { "1" } else { "2" }.to_string(),
        judge_result_detail_dtos: details,
        vola_amt: Yuan(hit.amount),
        sev_deg: hit.rule.sev_deg.to_string(),
        vola_evid: format!("{}；{}", hit.rule.violation, hit.rule.provenance),
        jr_id,
    }
}

#[derive(Deserialize)]
struct FeedbackRequest {
    #[serde(deserialize_with = "lenient::string")]
    warn_type: String,
    #[serde(default)]
    warns: Value,
}

#[derive(Deserialize)]
struct Warn {
    #[serde(deserialize_with = "lenient::string")]
    warn_rslt_id: String,
    #[serde(deserialize_with = "lenient::string")]
    dspo_way: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dspo_way_rea: Option<String>,
}

/// 3103: stores the hospital's disposition of each warning: `dspo_way` 1 goes on (a reason is
/// required), 2 returns to modify the order.
pub async fn feedback(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let data = node(&ctx.request.input, "data")?;
    let request: FeedbackRequest = parse(data, "input.data")?;
    if !matches!(request.warn_type.as_str(), "1" | "2") {
        return Err(TxError::new(
            "input.data.warn_type",
            format!("{} 不是 1（事前）或 2（事中）", request.warn_type),
        ));
    }
    let warns = rows(&request.warns, "input.data.warns", MAX_WARNS)?;
    if warns.is_empty() {
        return Err(TxError::new("input.data.warns", "没有反馈的预警"));
    }
    let mut stored = Vec::with_capacity(warns.len());
    for (wi, raw) in warns.into_iter().enumerate() {
        let path = format!("input.data.warns[{wi}]");
        let warn: Warn = parse(raw, &path)?;
        stored.push(check_warn(ctx, warn, &request.warn_type, &path)?);
    }
    audit_feedback::record(ledger.conn(), &stored).await?;
    Ok(TxOutput::read(common::empty_output()?))
}

fn check_warn(ctx: &Ctx<'_>, warn: Warn, warn_type: &str, path: &str) -> Result<Feedback, TxError> {
    let id = warn.warn_rslt_id.trim();
    let rule_known = id.split_once('@').is_some_and(|(rule, visit)| {
        !visit.is_empty() && ctx.shared.audit.rules.iter().any(|r| r.id == rule)
    });
    if id.chars().count() > MAX_ID_CHARS || !rule_known {
        return Err(TxError::new(
            format!("{path}.warn_rslt_id"),
            format!("{id} 不是本服务答复的预警编号（规则编号@就诊ID）"),
        ));
    }
    let reason = warn.dspo_way_rea.unwrap_or_default();
    match warn.dspo_way.as_str() {
        "1" if reason.trim().is_empty() => {
            return Err(TxError::new(
                format!("{path}.dspo_way_rea"),
                "继续执行（dspo_way 1）须填写理由",
            ))
        }
        "1" | "2" => {}
        other => {
            return Err(TxError::new(
                format!("{path}.dspo_way"),
                format!("{other} 不是 1（继续执行）或 2（返回修改）"),
            ))
        }
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(TxError::new(
            format!("{path}.dspo_way_rea"),
            format!("超过 {MAX_REASON_CHARS} 个字符"),
        ));
    }
    Ok(Feedback {
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        warn_type: warn_type.to_string(),
        warn_rslt_id: id.to_string(),
        dspo_way: warn.dspo_way,
        dspo_way_rea: reason,
        msgid: ctx.request.msgid.clone(),
        received_at: wire_time(ctx.now),
    })
}
