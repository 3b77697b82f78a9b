//! Helpers shared by the transactions: typed parsing of `input` nodes with field paths, ownership
//! checks, registry lookups and the conversion of stored records into engine inputs.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use yibao_catalog::Catalog;
use yibao_domain::codes::{Gend, Insutype, PsnType};
use yibao_domain::Code;
use yibao_enrolment::{periods_coverage_on, InsuStatus, InsuredPeriod, NotCoveredReason};
use yibao_ledger::{
    EventSource, FeeLine, InsuRow, LedgerError, LedgerView, Person, Visit, VisitStatus,
};
use yibao_policy::Policy;
use yibao_settlement as engine;
use yibao_wire::lenient::parse_datetime;
use yibao_wire::WireFeeLine;

use super::Ctx;
use crate::envelope::wire_time;
use crate::error::TxError;

/// Deserializes `value` (found at `path`, e.g. `input.data`) into `T`; errors name the field.
pub fn parse<T: DeserializeOwned>(value: &Value, path: &str) -> Result<T, TxError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let field = if inner == "." {
            path.to_string()
        } else {
            format!("{path}.{inner}")
        };
        TxError::new(field, e.into_inner().to_string())
    })
}

/// The node `input.<name>`, which must be present.
pub fn node<'v>(input: &'v Value, name: &str) -> Result<&'v Value, TxError> {
    match input.get(name) {
        Some(Value::Null) | None => Err(TxError::new(format!("input.{name}"), "is required")),
        Some(value) => Ok(value),
    }
}

/// A node that real clients send either as one object or as an array of one.
pub fn single<'v>(value: &'v Value, path: &str) -> Result<&'v Value, TxError> {
    match value {
        Value::Array(items) if items.len() == 1 => Ok(&items[0]),
        Value::Array(_) => Err(TxError::new(path, "must hold exactly one row")),
        other => Ok(other),
    }
}

/// Serializes an `output` node.
pub fn to_output<T: Serialize>(value: &T) -> Result<Box<RawValue>, TxError> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| TxError::new("output", format!("could not be encoded ({e})")))
}

/// The empty `output` object of transactions without output.
pub fn empty_output() -> Result<Box<RawValue>, TxError> {
    to_output(&serde_json::Map::new())
}

/// A visit of the calling institution; another institution's visit is reported as absent.
pub async fn owned_visit(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    field: &str,
    mdtrt_id: &str,
) -> Result<Visit, TxError> {
    match ledger.visit(mdtrt_id).await? {
        Some(visit) if visit.fixmedins_code == ctx.request.fixmedins_code => Ok(visit),
        _ => Err(TxError::new(
            field,
            format!(
                "no visit `{mdtrt_id}` at institution {}",
                ctx.request.fixmedins_code
            ),
        )),
    }
}

/// A visit's state as a cashier reads it in a message (`就诊 … 已结算`).
pub fn status_text(status: VisitStatus) -> &'static str {
    match status {
        VisitStatus::Open => "在诊",
        VisitStatus::Discharged => "已出院",
        VisitStatus::Settled => "已结算",
        VisitStatus::DischargedSettled => "已出院并已结算",
        VisitStatus::Cancelled => "已撤销",
    }
}

/// Checks a `psn_no` sent with a visit against the visit's person.
pub fn check_visit_person(visit: &Visit, field: &str, psn_no: Option<&str>) -> Result<(), TxError> {
    match psn_no {
        Some(psn_no) if psn_no != visit.psn_no => Err(TxError::new(
            field,
            format!("`{psn_no}` is not the person of visit {}", visit.mdtrt_id),
        )),
        _ => Ok(()),
    }
}

/// A registered person.
pub async fn registered_person(
    ledger: &mut LedgerView<'_>,
    field: &str,
    psn_no: &str,
) -> Result<Person, TxError> {
    ledger
        .person(psn_no)
        .await?
        .ok_or_else(|| TxError::new(field, format!("person `{psn_no}` is not registered")))
}

/// The person's row of an insurance type, whatever its status and insured period: a person
/// registered under the type may be registered, admitted and billed; whether any fund pays is
/// decided at settlement ([`engine_person`]).
pub fn insu_row<'p>(
    person: &'p Person,
    field: &str,
    insutype: &str,
) -> Result<&'p InsuRow, TxError> {
    person.insu_row(insutype).ok_or_else(|| {
        let held = person
            .insu
            .iter()
            .map(|row| row.insutype.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        TxError::new(
            field,
            format!(
                "person {} is not insured under insutype {insutype} (insured under: {held})",
                person.psn_no
            ),
        )
    })
}

fn code(field: &str, text: &str) -> Result<Code, TxError> {
    Code::new(text).map_err(|e| TxError::new(field, e.to_string()))
}

/// The stored insurance row as the enrolment register's insured period. A status outside the
/// dictionary in our own register is a storage fault, not the hospital's.
fn insured_period(person: &Person, row: &InsuRow) -> Result<InsuredPeriod, TxError> {
    let status = InsuStatus::from_code(row.psn_insu_stas.as_str()).ok_or_else(|| {
        TxError::storage(&LedgerError::Corrupt {
            table: "person_insu",
            column: "psn_insu_stas",
            detail: format!(
                "person {} insutype {}: `{}` is not a status 0–4",
                person.psn_no, row.insutype, row.psn_insu_stas
            ),
        })
    })?;
    Ok(InsuredPeriod {
        insutype: Insutype::from_code(row.insutype),
        psn_type: PsnType::from_code(row.psn_type),
        status,
        begin: row.psn_insu_date,
        end: row.insu_endtime,
        benefit_start: row.benefit_begndate.unwrap_or(row.psn_insu_date),
        insuplc_admdvs: row.insuplc_admdvs,
    })
}

/// Whether the person has benefits under `row` on `date` (`yibao-enrolment`'s decision), as the
/// engine is told.
pub fn coverage_on(
    person: &Person,
    row: &InsuRow,
    date: NaiveDate,
) -> Result<engine::Coverage, TxError> {
    let period = insured_period(person, row)?;
    let insutype = period.insutype;
    Ok(
        match periods_coverage_on(&person.psn_no, &[period], insutype, date) {
            Ok(()) => engine::Coverage::Covered,
            Err(not) => engine::Coverage::NotCovered(no_benefit_reason(not.reason)),
        },
    )
}

/// The engine's name for the enrolment's reason.
fn no_benefit_reason(reason: NotCoveredReason) -> engine::NoBenefitReason {
    use engine::NoBenefitReason as No;
    match reason {
        NotCoveredReason::NeverEnrolled => No::NeverEnrolled,
        NotCoveredReason::NotYetInsured { begins } => No::NotYetInsured { begins },
        NotCoveredReason::Lapsed { ended } => No::Lapsed { ended },
        NotCoveredReason::StatusNotInsured { since } => No::NotInsuredStatus { since },
        NotCoveredReason::Suspended { since } => No::Suspended { since },
        NotCoveredReason::Invalid { since } => No::Invalid { since },
        NotCoveredReason::Terminated { since } => No::Terminated { since },
        NotCoveredReason::WaitingPeriod { benefit_start, .. } => No::WaitingPeriod {
            benefits_from: benefit_start,
        },
    }
}

/// The person as the engine sees them under one insurance row, with benefits decided for the day
/// care began (`care_began`: the visit's or admission's `begntime`).
pub fn engine_person(
    person: &Person,
    row: &InsuRow,
    care_began: NaiveDate,
) -> Result<engine::Person, TxError> {
    let identities = person
        .idet
        .iter()
        .map(|p| engine::IdentityPeriod {
            code: p.psn_idet_type,
            begin: p.begntime,
            end: p.endtime,
        })
        .collect();
    Ok(engine::Person {
        insutype: row.insutype,
        psn_type: row.psn_type,
        gend: Gend::from_code(person.gend),
        birth_date: person.brdy,
        identities,
        civil_servant: row.cvlserv_flag,
        coverage: coverage_on(person, row, care_began)?,
    })
}

/// The policy and catalogue a visit is split and settled under, with their versions.
pub struct Rules {
    pub policy: Arc<Policy>,
    pub catalog: Arc<Catalog>,
    /// `policy=<version>;catalogue=<version>` (see [`crate::state::Versioned`]).
    pub versions: String,
}

impl Rules {
    /// What a line split under these rules for `person` and `visit` depends on, as recorded with a
    /// fee upload and compared at settlement: the policy and catalogue versions and the engine's
    /// [`engine::SplitBasis`].
    pub fn split_basis(
        &self,
        person: &engine::Person,
        visit: &engine::Visit,
    ) -> Result<String, TxError> {
        let basis = engine::Engine::new(&self.policy, &self.catalog)
            .split_basis(person, visit)
            .map_err(|e| engine_error(&e))?;
        Ok(format!("{};{basis}", self.versions))
    }
}

/// The policy of the person's insured region and the catalogue of the place of treatment (falling back
/// to the insured region's catalogue).
pub fn policy_and_catalog(ctx: &Ctx<'_>, row: &InsuRow) -> Result<Rules, TxError> {
    let regions = ctx.shared.regions();
    let policy = regions
        .policy_for(row.insuplc_admdvs.as_str())
        .ok_or_else(|| {
            TxError::new(
                "insuplc_admdvs",
                format!(
                    "no policy is loaded for the insured region {}",
                    row.insuplc_admdvs
                ),
            )
        })?;
    let policy_region = policy.parsed.policy.admdvs.as_str();
    let treatment_region = regions
        .region_of(&ctx.institution.admdvs)
        .unwrap_or(policy_region);
    let catalog = regions
        .catalog(treatment_region)
        .or_else(|| regions.catalog(policy_region))
        .ok_or_else(|| {
            TxError::new(
                "fixmedins_code",
                format!("no catalogue is loaded for region {treatment_region}"),
            )
        })?;
    Ok(Rules {
        policy: Arc::clone(&policy.parsed),
        catalog: Arc::clone(&catalog.parsed),
        versions: format!("policy={};catalogue={}", policy.version, catalog.version),
    })
}

/// A stored fee line as the engine reads it: the facts stored with its split, or, for a line stored
/// before splits were kept (migration 0006), its uploaded JSON read again.
pub fn engine_line(stored: &FeeLine) -> Result<engine::FeeLine, TxError> {
    match &stored.split {
        Some(split) => Ok(split.fee.clone()),
        None => {
            let field = format!("feedetail[{}]", stored.feedetl_sn);
            let value: Value = serde_json::from_str(&stored.line)
                .map_err(|e| TxError::new(field.as_str(), e.to_string()))?;
            let wire: WireFeeLine = parse(&value, &field)?;
            Ok(wire.fee_line())
        }
    }
}

/// The national code (`med_list_codg`) of a stored fee line.
pub fn line_code(stored: &FeeLine) -> Result<Cow<'_, str>, TxError> {
    Ok(match &stored.split {
        Some(split) => Cow::Borrowed(split.fee.med_list_codg.as_str()),
        None => Cow::Owned(engine_line(stored)?.med_list_codg),
    })
}

/// The message as the source of fee-line events.
pub fn event_source(ctx: &Ctx<'_>) -> EventSource {
    EventSource {
        infno: ctx.request.infno.clone(),
        msgid: ctx.request.msgid.clone(),
        time: wire_time(ctx.now),
    }
}

/// Reads a datetime text of a stored visit or a request.
pub fn datetime(field: &str, text: &str) -> Result<NaiveDateTime, TxError> {
    parse_datetime(text).ok_or_else(|| {
        TxError::new(
            field,
            format!("`{text}` is not a datetime yyyy-MM-dd HH:mm:ss"),
        )
    })
}

/// The earliest care or settlement date accepted.
const EARLIEST_CARE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// Reads a care time of the request (`begntime`, `endtime`, `dscgTime`, `fee_ocur_time`) and checks
/// it with [`check_care_time`].
pub fn care_time(ctx: &Ctx<'_>, field: &str, text: &str) -> Result<NaiveDateTime, TxError> {
    let time = datetime(field, text)?;
    check_care_time(ctx, field, time)?;
    Ok(time)
}

/// Refuses a care or settlement time before 1900 or later than the message's receive time plus
/// `future_tolerance_secs`: care cannot have happened after the message about it, and a date in a
/// later year would settle against that year's untouched caps.
pub fn check_care_time(ctx: &Ctx<'_>, field: &str, time: NaiveDateTime) -> Result<(), TxError> {
    if time.date() < EARLIEST_CARE_DATE {
        return Err(TxError::new(
            field,
            format!(
                "`{}` is before {EARLIEST_CARE_DATE}, the earliest date accepted",
                wire_time(time)
            ),
        ));
    }
    let tolerance = ctx.shared.config.future_tolerance_secs;
    let latest = i64::try_from(tolerance)
        .ok()
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|delta| ctx.now.checked_add_signed(delta));
    match latest {
        Some(latest) if time > latest => Err(TxError::new(
            field,
            format!(
                "`{}` is later than {}, the latest time accepted (the message was received at {} \
                 and future_tolerance_secs is {tolerance})",
                wire_time(time),
                wire_time(latest),
                wire_time(ctx.now)
            ),
        )),
        _ => Ok(()),
    }
}

/// The engine's view of a visit with the given lines.
pub struct VisitShape<'a> {
    pub visit: &'a Visit,
    pub end: NaiveDateTime,
    pub lines: Vec<engine::FeeLine>,
    pub use_account: bool,
    pub interim: bool,
    pub episode_deductible_paid: yibao_domain::Fen,
}

/// Builds the engine visit.
pub fn engine_visit(ctx: &Ctx<'_>, shape: VisitShape<'_>) -> Result<engine::Visit, TxError> {
    let visit = shape.visit;
    Ok(engine::Visit {
        med_type: visit.med_type,
        begin: visit.begntime,
        end: shape.end,
        hosp_lv: code("hosp_lv", &ctx.institution.hosp_lv)?,
        medins_admdvs: code("admdvs", &ctx.institution.admdvs)?,
        referred: visit.referred,
        dise_codg: visit.dise_codg.clone(),
        lines: shape.lines,
        use_account: shape.use_account,
        interim: shape.interim,
        episode_deductible_paid: shape.episode_deductible_paid,
    })
}

/// An engine error as a field error (field and problem as the engine names them).
pub fn engine_error(error: &engine::SettleError) -> TxError {
    TxError::new(error.field(), error.problem())
}

/// A dictionary code sent in a request (`default` when absent), refused naming the field when it
/// cannot be a code.
pub fn request_code(field: &str, text: Option<&str>, default: &str) -> Result<Code, TxError> {
    code(field, text.unwrap_or(default))
}
