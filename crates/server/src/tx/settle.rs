//! Settlement on top of the engine: gather the visit's unsettled lines, the person, the
//! year-to-date accumulators and the account balance; settle (an admission with interim settlements
//! as a whole stay less what they paid, see [`super::stay`]); check the hospital's declared totals;
//! persist the ledger entry. Cancellation appends the exact negated mirror.

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime};
use serde::Deserialize;
use serde_json::value::RawValue;
use yibao_domain::codes::{ClrType, ClrWay, Insutype};
use yibao_domain::Fen;
use yibao_ledger::{
    EntryKind, FeeLine, InsuRow, LineRow, LiveLine, Person, SetlAmounts, SettlementHeader,
    SettlementRecord, StoredFundRow, Visit, VisitKind, VisitStatus,
};
use yibao_ledger::{LedgerError, LedgerView};
use yibao_policy::Policy;
use yibao_settlement::{Engine, LineSplit, Settlement, YearToDate};
use yibao_wire::lenient;

use super::common::{self, VisitShape};
use super::render::{self, RenderContext};
use super::stay::{self, Stay};
use super::Ctx;
use crate::error::TxError;

/// The `data` of a settlement or pre-settlement request (2206/2207, 2303/2304, 2101/2102).
#[derive(Debug, Deserialize)]
pub struct SettleData {
    #[serde(deserialize_with = "lenient::string")]
    pub psn_no: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mdtrt_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub insutype: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub med_type: Option<String>,
    /// The outpatient charge batch settled (2206/2207; see [`super::batch`]).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub chrg_bchno: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    pub medfee_sumamt: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    pub fulamt_ownpay_amt: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    pub overlmt_selfpay: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    pub preselfpay_amt: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_yuan")]
    pub inscp_scp_amt: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub acct_used_flag: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_flag")]
    pub mid_setl_flag: Option<bool>,
    #[serde(default, rename = "dscgTime", deserialize_with = "lenient::opt_string")]
    pub dscg_time: Option<String>,
}

impl SettleData {
    /// Interim settlement of an ongoing admission.
    pub fn interim(&self) -> bool {
        self.mid_setl_flag == Some(true)
    }

    /// The personal account pays (unless `acct_used_flag` is 0).
    pub fn use_account(&self) -> bool {
        self.acct_used_flag.as_deref() != Some("0")
    }
}

/// A computed (not yet stored) settlement and what it was computed from.
pub struct Computed {
    /// The engine's settlement of every line in `line_sns` (for an admission settled in parts, the
    /// whole stay; see [`Stay`]).
    pub settlement: Settlement,
    pub policy: Arc<Policy>,
    pub person: Person,
    pub insu: InsuRow,
    /// `feedetl_sn` of each line of `settlement`, by line index.
    pub line_sns: Vec<String>,
    /// The earlier live settlements of the stay this settlement is netted against.
    pub stay: Stay,
}

/// Why the lines were split again at settlement instead of settled from the splits stored at
/// upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resplit {
    /// The basis a stale line was split under at upload (empty: stored before splits were kept).
    pub uploaded: String,
    /// The basis the lines split under now.
    pub now: String,
}

impl std::fmt::Display for Resplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.uploaded.is_empty() {
            write!(
                f,
                "有费用明细上传于保存分割结果之前，已按 {} 重新分割",
                self.now
            )
        } else {
            write!(
                f,
                "上传时按 {} 分割，结算时按 {} 重新分割",
                self.uploaded, self.now
            )
        }
    }
}

/// What a settlement request needs besides the stored visit.
pub struct SettleRequest<'a> {
    pub data: &'a SettleData,
    /// The visit's end (discharge, or the visit day for outpatient care).
    pub end: NaiveDateTime,
    /// Whether the hospital must declare `medfee_sumamt` (final settlements).
    pub require_total: bool,
}

/// The visit's live fee lines not yet consumed by a settlement.
pub async fn unsettled_lines(
    ledger: &mut LedgerView<'_>,
    mdtrt_id: &str,
) -> Result<Vec<Arc<FeeLine>>, TxError> {
    let lines = ledger.fee_lines(mdtrt_id).await?;
    Ok(lines
        .into_iter()
        .filter(LiveLine::is_unsettled)
        .map(|l| l.line)
        .collect())
}

/// Settles `lines` (the visit's unsettled lines) without storing anything, from the splits stored
/// at upload ([`line_splits`]). An admission with live settlements in the same year is settled as a
/// whole stay and netted against them ([`Stay`]); its final settlement may then consume no new line.
pub async fn compute(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &Visit,
    lines: &[Arc<FeeLine>],
    request: &SettleRequest<'_>,
) -> Result<Computed, TxError> {
    let care_began = visit.begntime;
    common::check_care_time(ctx, "begntime", care_began)?;
    common::check_care_time(ctx, "endtime", request.end)?;
    let year = i64::from(request.end.year());
    let stay = Stay::of(ledger, visit, year).await?;
    check_has_lines(visit, lines, &stay, request.data.interim())?;
    if let Some(refusal) = ctx
        .shared
        .sanctions()
        .card_refusal(&visit.psn_no, ctx.now.date())
    {
        return Err(refusal);
    }
    let person = common::registered_person(ledger, "input.data.psn_no", &visit.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", visit.insutype.as_str())?.clone();
    let rules = common::policy_and_catalog(ctx, &insu, care_began.date())?;
    let engine_person = common::engine_person(&person, &insu, care_began.date());
    let (ytd, balance) = starting_point(ledger, &person, &insu, &stay, year).await?;
    let all_lines = stay_lines(ledger, visit, &stay, lines).await?;
    let line_sns: Vec<String> = all_lines.iter().map(|l| l.feedetl_sn.clone()).collect();
    let filing = common::remote_filing(
        ctx,
        ledger,
        &rules.policy,
        visit,
        request.end,
        common::emergency_admission(visit),
    )
    .await?;
    let shape = VisitShape {
        visit,
        end: request.end,
        lines: all_lines
            .iter()
            .map(|l| common::engine_line(l))
            .collect::<Result<Vec<_>, _>>()?,
        use_account: request.data.use_account(),
        interim: request.data.interim(),
        episode_deductible_paid: stay.deductible_other_years(),
        filing,
    };
    let engine_visit = common::engine_visit(ctx, shape)?;
    let (settlement, resplit) = settle_lines(
        &rules,
        (&engine_person, &engine_visit),
        (&stay, &all_lines, &line_sns),
        (&ytd, balance),
    )?;
    if let Some(resplit) = &resplit {
        ctx.shared.metrics.resplit();
        tracing::info!(mdtrt_id = %visit.mdtrt_id, %resplit, "fee lines split again at settlement");
    }
    let computed = Computed {
        settlement,
        policy: rules.policy,
        person,
        insu,
        line_sns,
        stay,
    };
    let amounts = computed.stay.net_amounts(&computed.settlement.totals);
    check_declared(request, &amounts, resplit.as_ref())?;
    Ok(computed)
}

/// Refuses a settlement that would consume no line (`unsettled` empty), unless it is the final
/// settlement of a stay whose earlier settlements consumed them all.
pub fn check_has_lines(
    visit: &Visit,
    unsettled: &[Arc<FeeLine>],
    stay: &Stay,
    interim: bool,
) -> Result<(), TxError> {
    if unsettled.is_empty() && (!stay.has_earlier() || interim) {
        return Err(TxError::new(
            "mdtrt_id",
            format!("就诊 {} 没有未结算的费用明细", visit.mdtrt_id),
        ));
    }
    Ok(())
}

/// Settles the engine visit from its lines' splits ([`line_splits`]; `line_sns[i]` is line `i`'s
/// serial), keeping the splits the stay's earlier settlements consumed their lines with. Says why
/// the lines were split again, if they were.
fn settle_lines(
    rules: &common::Rules,
    (person, visit): (&yibao_settlement::Person, &yibao_settlement::Visit),
    (stay, lines, line_sns): (&Stay, &[Arc<FeeLine>], &[String]),
    (ytd, balance): (&YearToDate, Fen),
) -> Result<(Settlement, Option<Resplit>), TxError> {
    let engine = Engine::new(&rules.policy, &rules.catalog);
    let basis = rules.split_basis(person, visit)?;
    let (mut splits, resplit) = line_splits(&engine, (person, visit), lines, basis)?;
    stay.keep_settled_splits(&mut splits, line_sns);
    let mut settlement = Settlement::default();
    engine
        .settle_split_into(person, visit, &splits, ytd, balance, &mut settlement)
        .map_err(|e| common::engine_error(&e))?;
    Ok((settlement, resplit))
}

/// The split of each line, indexed by its position in `lines`: the splits stored at upload when
/// every line was split under `basis`, the basis the visit splits under now. Otherwise — the visit's
/// details (2203/2403, or the `med_type` of the settlement request), the person, the institution's
/// level or region, the policy or the catalogue changed since a line was uploaded, or a line was
/// stored before splits were kept — every line is split again from what the engine read of it at
/// upload, and the settlement says why ([`Resplit`]): a split is never settled from stale.
fn line_splits(
    engine: &Engine<'_>,
    (person, visit): (&yibao_settlement::Person, &yibao_settlement::Visit),
    lines: &[Arc<FeeLine>],
    basis: String,
) -> Result<(Vec<LineSplit>, Option<Resplit>), TxError> {
    let stale = lines.iter().find_map(|l| match &l.split {
        Some(stored) if *stored.basis == *basis => None,
        Some(stored) => Some(stored.basis.to_string()),
        None => Some(String::new()),
    });
    let Some(uploaded) = stale else {
        let stored = lines
            .iter()
            .zip(0..)
            .filter_map(|(l, line)| l.split.as_ref().map(|s| LineSplit { line, ..s.split }))
            .collect();
        return Ok((stored, None));
    };
    let mut splits = Vec::with_capacity(lines.len());
    engine
        .split_lines(person, visit, &mut splits)
        .map_err(|e| common::engine_error(&e))?;
    Ok((
        splits,
        Some(Resplit {
            uploaded,
            now: basis,
        }),
    ))
}

/// The accumulators and account balance the settlement starts from: the person's, as they were
/// before the stay's earlier settlements.
pub(crate) async fn starting_point(
    ledger: &mut LedgerView<'_>,
    person: &Person,
    insu: &InsuRow,
    stay: &Stay,
    year: i64,
) -> Result<(YearToDate, Fen), TxError> {
    let ytd = year_to_date(ledger, &person.psn_no, insu.insutype.as_str(), year).await?;
    let balance = account_balance(ledger, &person.psn_no, insu).await?;
    Ok((stay.ytd_before(ytd), stay.balance_before(balance)))
}

/// The lines a settlement covers: those the stay's earlier settlements consumed, then `unsettled`.
pub(crate) async fn stay_lines(
    ledger: &mut LedgerView<'_>,
    visit: &Visit,
    stay: &Stay,
    unsettled: &[Arc<FeeLine>],
) -> Result<Vec<Arc<FeeLine>>, TxError> {
    let mut lines = Vec::with_capacity(unsettled.len());
    if stay.has_earlier() {
        lines.extend(
            ledger
                .fee_lines(&visit.mdtrt_id)
                .await?
                .into_iter()
                .filter(|l| stay.consumed(&l.line.feedetl_sn))
                .map(|l| l.line),
        );
    }
    lines.extend_from_slice(unsettled);
    Ok(lines)
}

/// The person's accumulators for one insurance type and year.
pub async fn year_to_date(
    ledger: &mut LedgerView<'_>,
    psn_no: &str,
    insutype: &str,
    year: i64,
) -> Result<YearToDate, TxError> {
    let postings = ledger.year_to_date(psn_no, insutype, year).await?;
    let mut ytd = YearToDate::new();
    ytd.apply(&postings);
    Ok(ytd)
}

/// Current personal-account balance: opening balance less net account payments.
pub async fn account_balance(
    ledger: &mut LedgerView<'_>,
    psn_no: &str,
    insu: &InsuRow,
) -> Result<Fen, TxError> {
    Ok(insu.opening_balc - ledger.account_paid(psn_no, insu.insutype.as_str()).await?)
}

/// The hospital's declared totals must equal ours exactly; a difference after the lines were split
/// again says so.
fn check_declared(
    request: &SettleRequest<'_>,
    totals: &SetlAmounts,
    resplit: Option<&Resplit>,
) -> Result<(), TxError> {
    let data = request.data;
    if request.require_total && data.medfee_sumamt.is_none() {
        return Err(TxError::new("input.data.medfee_sumamt", "不能为空"));
    }
    let declared = [
        (
            "medfee_sumamt",
            "费用明细合计",
            data.medfee_sumamt,
            totals.medfee_sumamt,
        ),
        (
            "fulamt_ownpay_amt",
            "费用明细的全自费金额合计",
            data.fulamt_ownpay_amt,
            totals.fulamt_ownpay_amt,
        ),
        (
            "overlmt_selfpay",
            "费用明细的超限价自费合计",
            data.overlmt_selfpay,
            totals.overlmt_selfpay,
        ),
        (
            "preselfpay_amt",
            "费用明细的先行自付合计",
            data.preselfpay_amt,
            totals.preselfpay_amt,
        ),
        (
            "inscp_scp_amt",
            "费用明细的符合政策范围金额合计",
            data.inscp_scp_amt,
            totals.inscp_scp_amt,
        ),
    ];
    for (field, ours_named, sent, ours) in declared {
        if let Some(sent) = sent {
            if sent != ours {
                let why = resplit.map_or_else(String::new, |r| {
                    format!("（结算时费用明细已重新分割：{r}；撤销后重新上传费用明细即得新的分割）")
                });
                return Err(TxError::new(
                    format!("input.data.{field}"),
                    format!("{sent} 与{ours_named} {ours} 不一致{why}"),
                ));
            }
        }
    }
    Ok(())
}

/// What an issued identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuedId {
    /// `mdtrt_id` (2201, 2401, 2102).
    Visit,
    /// `setl_id` (settlements and their cancellations).
    Settlement,
}

impl IssuedId {
    /// The ledger counter the serial is drawn from.
    fn counter(self) -> &'static str {
        match self {
            IssuedId::Visit => "mdtrt_id",
            IssuedId::Settlement => "setl_id",
        }
    }

    /// The digit after the region code.
    fn digit(self) -> u8 {
        match self {
            IssuedId::Visit => 1,
            IssuedId::Settlement => 2,
        }
    }
}

/// Issues an identifier in digits only, as the platform's are: the pooling region's code
/// (`platform_admdvs`, 6 digits), the kind's digit and a 16-digit serial — 23 characters, within
/// the interface's 30. The ledger's counter makes it unique.
pub async fn issue_id(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    kind: IssuedId,
) -> Result<String, TxError> {
    let serial = ledger.next_id(kind.counter()).await?;
    Ok(format!(
        "{}{}{serial:016}",
        ctx.shared.config.platform_admdvs,
        kind.digit()
    ))
}

/// The ledger entry of a computed settlement (netted against the stay's earlier settlements).
pub fn record_of(computed: &Computed, header: SettlementHeader) -> SettlementRecord {
    let s = &computed.settlement;
    let funds = stored_funds(s, &computed.policy, computed.insu.insutype);
    let lines = s
        .lines
        .iter()
        .map(|l| LineRow {
            feedetl_sn: computed
                .line_sns
                .get(l.line as usize)
                .cloned()
                .unwrap_or_default(),
            amounts: l.amounts,
        })
        .collect();
    computed.stay.net_record(SettlementRecord {
        header,
        amounts: s.totals,
        funds,
        lines,
        postings: s.postings.clone(),
    })
}

/// The header of a new settlement of `visit` by the current message.
pub fn settlement_header(
    ctx: &Ctx<'_>,
    visit: &Visit,
    computed: &Computed,
    setl_id: String,
    interim: bool,
) -> Result<SettlementHeader, TxError> {
    let med_type = visit.med_type;
    Ok(SettlementHeader {
        setl_id,
        kind: EntryKind::Settle,
        orig_setl_id: None,
        infno: ctx.infno()?,
        msgid: ctx.request.msgid.clone(),
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        mdtrt_id: visit.mdtrt_id.clone(),
        psn_no: visit.psn_no.clone(),
        insutype: visit.insutype,
        year: i64::from(computed.settlement.year),
        med_type,
        mid_setl_flag: interim,
        setl_time: ctx.setl_time(),
        clr_type: ClrType::of_med_type(med_type),
        clr_way: ClrWay::ByItem,
        clr_optins: computed.insu.insuplc_admdvs,
        mdtrtarea_admvs: ctx.institution.admdvs,
        balc: computed.settlement.balc,
    })
}

/// Renders a computed settlement that is not stored (pre-settlement).
pub fn presettlement_output(
    ctx: &Ctx<'_>,
    visit: &Visit,
    computed: &Computed,
) -> Result<Box<RawValue>, TxError> {
    let header = settlement_header(ctx, visit, computed, String::new(), false)?;
    let record = record_of(computed, header);
    let context = RenderContext {
        person: &computed.person,
        insu: &computed.insu,
        mdtrt_cert_type: visit.mdtrt_cert_type.as_str(),
        presettlement: true,
        detail: render::Detail::Settlement,
    };
    render::settlement_output(&record, &context)
}

/// A settlement's fund rows as stored: the engine's rows with each fund's name and explanation as
/// rendered under `policy`.
pub fn stored_funds(
    settlement: &Settlement,
    policy: &Policy,
    insutype: Insutype,
) -> Vec<StoredFundRow> {
    let rendered = yibao_wire::render::setldetail(settlement, policy, insutype.code());
    settlement
        .funds
        .iter()
        .zip(rendered)
        .map(|(f, text)| StoredFundRow {
            row: f.row,
            fund_pay_type_name: text.fund_pay_type_name,
            setl_proc_info: text.setl_proc_info,
        })
        .collect()
}

/// The ledger entry of a settlement that records no line rows (its lines are another platform's,
/// or an invoice's), checked against the identities it must hold.
pub fn unlined_record(
    header: SettlementHeader,
    settlement: &Settlement,
    policy: &Policy,
) -> Result<SettlementRecord, TxError> {
    let record = SettlementRecord {
        funds: stored_funds(settlement, policy, header.insutype),
        header,
        amounts: settlement.totals,
        lines: Vec::new(),
        postings: settlement.postings.clone(),
    };
    check_identities(&record)?;
    Ok(record)
}

/// Refuses a record that breaks an identity (an internal error: nothing is stored).
pub fn check_identities(record: &SettlementRecord) -> Result<(), TxError> {
    match record.identity_violations().into_iter().next() {
        Some(problem) => {
            tracing::error!(%problem, setl_id = %record.header.setl_id, "settlement identity check failed");
            Err(TxError::internal(
                "结算数据自检未通过（内部错误），未记录任何数据",
            ))
        }
        None => Ok(()),
    }
}

/// Stores a computed settlement of `visit`: the ledger entry (whose line rows name the fee lines it
/// consumes) and the visit's new status. Returns the rendered output and the new `setl_id`.
pub async fn store(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    visit: &mut Visit,
    computed: &Computed,
    interim: bool,
) -> Result<(Box<RawValue>, String), TxError> {
    let setl_id = issue_id(ctx, ledger, IssuedId::Settlement).await?;
    let header = settlement_header(ctx, visit, computed, setl_id.clone(), interim)?;
    let record = record_of(computed, header);
    check_identities(&record)?;
    ledger.append_settlement(record.clone()).await?;
    if !interim {
        visit.status = match visit.status {
            VisitStatus::Discharged => VisitStatus::DischargedSettled,
            _ => VisitStatus::Settled,
        };
        ledger.update_visit(visit);
    }
    let context = RenderContext {
        person: &computed.person,
        insu: &computed.insu,
        mdtrt_cert_type: visit.mdtrt_cert_type.as_str(),
        presettlement: false,
        detail: render::Detail::Settlement,
    };
    Ok((render::settlement_output(&record, &context)?, setl_id))
}

/// Which settlements a cancellation transaction may cancel, and the identity it was given.
pub struct CancelRequest<'a> {
    /// The field naming the settlement (`input.data.setl_id`, or `input.data.omsgid` for 2601).
    pub field: &'a str,
    pub setl_id: &'a str,
    /// Transactions whose settlements this cancellation accepts (2208 cancels 2207 …).
    pub cancels: &'a [&'a str],
    pub mdtrt_id: Option<&'a str>,
    pub psn_no: Option<&'a str>,
}

/// Appends the exact negation of a settlement (which releases the fee lines it consumed) and reopens
/// the visit ([`reopen_visit`]). An admission's settlements are cancelled latest first
/// ([`stay::check_latest`]); a registration's charge batches in any order, each settlement being
/// one of its own. Returns the mirror, rendered with the visit as it was settled, and its `setl_id`.
pub async fn cancel(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    request: &CancelRequest<'_>,
) -> Result<(Box<RawValue>, String), TxError> {
    let original = owned_settlement(ctx, ledger, request).await?;
    let mut visit = common::owned_visit(
        ctx,
        ledger,
        "input.data.mdtrt_id",
        &original.header.mdtrt_id,
    )
    .await?;
    if visit.kind == VisitKind::Inpatient {
        stay::check_latest(ledger, &original, request.field).await?;
    }
    let person =
        common::registered_person(ledger, "input.data.psn_no", &original.header.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", original.header.insutype.as_str())?.clone();
    let balance = account_balance(ledger, &person.psn_no, &insu).await?;
    let setl_id = issue_id(ctx, ledger, IssuedId::Settlement).await?;
    let mirror = SettlementHeader {
        setl_id: setl_id.clone(),
        kind: EntryKind::Cancel,
        orig_setl_id: Some(original.header.setl_id.clone()),
        infno: ctx.infno()?,
        msgid: ctx.request.msgid.clone(),
        setl_time: ctx.setl_time(),
        balc: balance + original.amounts.acct_pay,
        ..original.header.clone()
    };
    let record = original.negated(mirror);
    ledger.append_settlement(record.clone()).await?;
    let context = RenderContext {
        person: &person,
        insu: &insu,
        mdtrt_cert_type: visit.mdtrt_cert_type.as_str(),
        presettlement: false,
        detail: render::Detail::Cancellation { visit: &visit },
    };
    let output = render::settlement_output(&record, &context)?;
    reopen_visit(ledger, &mut visit, &original).await?;
    Ok((output, setl_id))
}

async fn owned_settlement(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    request: &CancelRequest<'_>,
) -> Result<SettlementRecord, TxError> {
    let field = request.field;
    let not_found = || common::unknown_settlement(ctx, field, request.setl_id);
    let original = ledger
        .settlement(request.setl_id)
        .await?
        .ok_or_else(not_found)?;
    let h = &original.header;
    if h.fixmedins_code != ctx.request.fixmedins_code {
        return Err(not_found());
    }
    if h.kind != EntryKind::Settle {
        return Err(TxError::new(
            field,
            format!("{} 本身是一笔撤销结算", h.setl_id),
        ));
    }
    if !request.cancels.contains(&h.infno.as_str()) {
        return Err(TxError::new(
            field,
            format!(
                "{} 是 {} 交易的结算，{} 不能撤销",
                h.setl_id, h.infno, ctx.request.infno
            ),
        ));
    }
    let original = live_form(ledger, original).await?.map_err(|done| {
        TxError::new(
            field,
            format!("结算 {} 已撤销（撤销结算ID {done}）", request.setl_id),
        )
    })?;
    let h = &original.header;
    if let Some(mdtrt_id) = request.mdtrt_id {
        if mdtrt_id != h.mdtrt_id {
            return Err(TxError::new(
                "input.data.mdtrt_id",
                format!("结算 {} 属于就诊 {}", h.setl_id, h.mdtrt_id),
            ));
        }
    }
    if let Some(psn_no) = request.psn_no {
        if psn_no != h.psn_no {
            return Err(TxError::new(
                "input.data.psn_no",
                format!("{psn_no} 不是结算 {} 的参保人", h.setl_id),
            ));
        }
    }
    Ok(original)
}

/// The live form of a settlement a HIS names: the settlement itself, or — when a 2601 冲正 undid its
/// cancellation — the entry that reinstated it, which a later cancellation mirrors. `Err` holds the
/// `setl_id` of the cancellation that stands.
pub async fn live_form(
    ledger: &mut LedgerView<'_>,
    settlement: SettlementRecord,
) -> Result<Result<SettlementRecord, String>, TxError> {
    let mut current = settlement;
    while let Some(cancel_id) = ledger.cancellation_of(&current.header.setl_id).await? {
        let Some(reinstated) = ledger.reinstatement_of(&cancel_id).await? else {
            return Ok(Err(cancel_id));
        };
        current = stored_entry(ledger, &reinstated).await?;
    }
    Ok(Ok(current))
}

/// A ledger entry another entry names; its absence is damage to the ledger.
/// The entry a cancellation mirrors: stored with every cancellation, so its absence is a damaged row.
fn mirrored_id(cancel: &SettlementHeader) -> Result<&str, TxError> {
    cancel.orig_setl_id.as_deref().ok_or_else(|| {
        TxError::storage(&LedgerError::Corrupt {
            table: "settlements",
            column: "orig_setl_id",
            detail: format!(
                "row `{}`: a cancellation names no settlement",
                cancel.setl_id
            ),
        })
    })
}

async fn stored_entry(
    ledger: &mut LedgerView<'_>,
    setl_id: &str,
) -> Result<SettlementRecord, TxError> {
    ledger.settlement(setl_id).await?.ok_or_else(|| {
        TxError::storage(&LedgerError::Corrupt {
            table: "settlements",
            column: "setl_id",
            detail: format!("{setl_id}: another entry names it, but it does not exist"),
        })
    })
}

/// 2601 冲正 of a cancellation (2208/2305/2103): appends the exact negation of the cancellation — a
/// settlement entry naming it — which consumes the settlement's lines again and restores the visit
/// as the settlement left it; the settlement's `setl_id` is live again (through
/// [`live_form`]). Only while nothing its amounts depend on has happened since: the cancellation
/// must be the person's latest ledger entry under the insurance type, and every line the settlement
/// consumed must still be live and unsettled. Returns the reinstating entry's `setl_id`.
pub async fn reinstate(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    cancel_id: &str,
    psn_no: Option<&str>,
) -> Result<String, TxError> {
    const FIELD: &str = "input.data.omsgid";
    let cancel = stored_entry(ledger, cancel_id).await?;
    let h = &cancel.header;
    if h.kind != EntryKind::Cancel || h.fixmedins_code != ctx.request.fixmedins_code {
        return Err(common::unknown_settlement(ctx, FIELD, cancel_id));
    }
    if let Some(done) = ledger.reinstatement_of(cancel_id).await? {
        return Err(TxError::new(
            FIELD,
            format!("撤销结算 {cancel_id} 已冲正（恢复结算ID {done}）"),
        ));
    }
    if let Some(psn_no) = psn_no.filter(|p| *p != h.psn_no) {
        return Err(TxError::new(
            "input.data.psn_no",
            format!("{psn_no} 不是撤销结算 {cancel_id} 的参保人"),
        ));
    }
    let latest = ledger
        .latest_entry_of(&h.psn_no, h.insutype.as_str())
        .await?;
    if latest.as_deref() != Some(cancel_id) {
        return Err(TxError::new(
            FIELD,
            format!(
                "撤销结算 {cancel_id} 之后该参保人已有结算或撤销（{}），不能冲正；请重新结算",
                latest.unwrap_or_default()
            ),
        ));
    }
    let original = stored_entry(ledger, mirrored_id(h)?).await?;
    check_lines_unsettled(ledger, &original).await?;
    let mut visit = common::owned_visit(ctx, ledger, FIELD, &h.mdtrt_id).await?;
    let person = common::registered_person(ledger, "input.data.psn_no", &h.psn_no).await?;
    let insu = common::insu_row(&person, "insutype", h.insutype.as_str())?.clone();
    let balance = account_balance(ledger, &person.psn_no, &insu).await?;
    let setl_id = issue_id(ctx, ledger, IssuedId::Settlement).await?;
    let header = SettlementHeader {
        setl_id: setl_id.clone(),
        kind: EntryKind::Settle,
        orig_setl_id: Some(cancel_id.to_string()),
        infno: ctx.infno()?,
        msgid: ctx.request.msgid.clone(),
        setl_time: ctx.setl_time(),
        balc: balance - original.amounts.acct_pay,
        ..original.header.clone()
    };
    ledger.append_settlement(cancel.negated(header)).await?;
    settle_visit_again(ledger, &mut visit, &original)?;
    Ok(setl_id)
}

/// Every line a cancelled settlement consumed is still live, unsettled and of the same amount.
async fn check_lines_unsettled(
    ledger: &mut LedgerView<'_>,
    original: &SettlementRecord,
) -> Result<(), TxError> {
    let live = ledger.fee_lines(&original.header.mdtrt_id).await?;
    for row in &original.lines {
        let unchanged = live.iter().any(|l| {
            l.is_unsettled()
                && l.line.feedetl_sn == row.feedetl_sn
                && l.line.det_item_fee_sumamt == row.amounts.det_item_fee_sumamt
        });
        if !unchanged {
            return Err(TxError::new(
                "input.data.omsgid",
                format!(
                    "费用明细 {} 在撤销结算后已删除、变更或再次结算，不能冲正；请重新结算",
                    row.feedetl_sn
                ),
            ));
        }
    }
    Ok(())
}

/// The visit as a reinstated settlement left it: the reverse of [`reopen_visit`]. An admission the
/// cancellation reopened (settled before its discharge) lost the end of care it was settled with,
/// so it is settled again (2304) rather than reinstated.
fn settle_visit_again(
    ledger: &mut LedgerView<'_>,
    visit: &mut Visit,
    original: &SettlementRecord,
) -> Result<(), TxError> {
    if original.header.mid_setl_flag {
        return Ok(());
    }
    visit.status = match (visit.kind, visit.status) {
        (VisitKind::Inpatient, VisitStatus::Discharged) => VisitStatus::DischargedSettled,
        (VisitKind::Inpatient, _) => {
            return Err(TxError::new(
                "input.data.omsgid",
                format!(
                    "住院 {} 撤销结算后已恢复为在院，不能冲正；请重新办理住院结算（2304）",
                    visit.mdtrt_id
                ),
            ))
        }
        _ => VisitStatus::Settled,
    };
    ledger.update_visit(visit);
    Ok(())
}

/// After a cancellation: a pharmacy purchase is void; a registration is open again once none of
/// its charge batches is settled; a finally settled admission is discharged again if it was
/// discharged (2402), else open again without the end its settlement gave it. Interim
/// cancellations leave the visit as it is.
pub(crate) async fn reopen_visit(
    ledger: &mut LedgerView<'_>,
    visit: &mut Visit,
    original: &SettlementRecord,
) -> Result<(), TxError> {
    if original.header.mid_setl_flag {
        return Ok(());
    }
    visit.status = match visit.kind {
        VisitKind::Pharmacy => VisitStatus::Cancelled,
        VisitKind::Outpatient => {
            if stay::live_entries(ledger, &visit.mdtrt_id)
                .await?
                .is_empty()
            {
                VisitStatus::Open
            } else {
                VisitStatus::Settled
            }
        }
        VisitKind::Inpatient if visit.status == VisitStatus::DischargedSettled => {
            VisitStatus::Discharged
        }
        VisitKind::Inpatient => {
            visit.endtime = None;
            VisitStatus::Open
        }
    };
    ledger.update_visit(visit);
    Ok(())
}
