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
use yibao_domain::codes::MedType;
use yibao_domain::Code;
use yibao_enrolment::{periods_coverage_on, InsuredPeriod, NotCoveredReason};
use yibao_ledger::{
    EventSource, FeeLine, InsuRow, LedgerError, LedgerView, Person, Visit, VisitKind, VisitStatus,
};
use yibao_policy::Policy;
use yibao_settlement as engine;
use yibao_wire::lenient::{self, parse_datetime};
use yibao_wire::WireFeeLine;

use super::Ctx;
use crate::envelope::wire_time;
use crate::error::TxError;

/// Deserializes `value` (found at `path`, e.g. `input.data`) into `T`; errors name the field, a
/// missing one included (`input.data.psn_no`), in the cashier's words ([`serde_problem`]).
pub fn parse<T: DeserializeOwned>(value: &Value, path: &str) -> Result<T, TxError> {
    deserialize_at(value, path)
}

/// Deserializes `T` from any serde input (a JSON value, a query string) found at `path` (empty:
/// the top level), with the errors of [`parse`].
pub fn deserialize_at<'de, T, D>(deserializer: D, path: &str) -> Result<T, TxError>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = field_path(path, &e.path().to_string());
        let message = e.into_inner().to_string();
        match missing_field(&message) {
            Some(name) => TxError::new(field_path(&field, name), "缺少必填字段"),
            None => TxError::new(field, serde_problem(&message)),
        }
    })
}

/// `inner` (a serde path: `.` for the top, `psn_no`, `[0].cnt`) under `path`.
fn field_path(path: &str, inner: &str) -> String {
    match inner {
        "." => path.to_string(),
        _ if path.is_empty() => inner.to_string(),
        _ if inner.starts_with('[') => format!("{path}{inner}"),
        _ => format!("{path}.{inner}"),
    }
}

/// The field a serde `missing field `x`` message names. Serde reports a missing field at the
/// object that lacks it, so the name must be taken from the message to name the field itself.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Serde's own messages (`invalid type: …, expected …`, `unknown variant …`, …) in the cashier's
/// words, keeping the value received; the readers' own messages (`yibao_wire::lenient`, already
/// Chinese) pass through unchanged.
fn serde_problem(message: &str) -> String {
    if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(found_and_expected)
    {
        return format!("类型不符，应为{expected}，收到{found}");
    }
    if let Some((found, expected)) = message
        .strip_prefix("invalid value: ")
        .and_then(found_and_expected)
    {
        return format!("取值不符，应为{expected}，收到{found}");
    }
    if let Some((length, expected)) = message
        .strip_prefix("invalid length ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        return format!("长度 {length} 不符，应为{}", serde_expected(expected));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (variant, allowed) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let allowed = allowed.trim_start_matches("one of ").replace('`', "");
        return format!("取值 {} 不是可选值（{allowed}）", variant.replace('`', ""));
    }
    if let Some(name) = message.strip_prefix("duplicate field ") {
        return format!("字段 {} 重复", name.replace('`', ""));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        // serde_path_to_error names the unknown field in the path.
        let (_, allowed) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let allowed = allowed
            .trim_start_matches("one of ")
            .replace("` or `", "、")
            .replace("`, `", "、")
            .replace('`', "");
        return format!("不能有此字段（可有：{allowed}）");
    }
    text_value_problem(message).map_or_else(|| message.to_string(), str::to_string)
}

/// The messages of the standard library's number and boolean parsers (query strings), in Chinese.
fn text_value_problem(message: &str) -> Option<&'static str> {
    Some(match message {
        "invalid digit found in string" => "不是整数",
        "number too large to fit in target type" | "number too small to fit in target type" => {
            "超出允许的范围"
        }
        "cannot parse integer from empty string" => "不能为空",
        "invalid float literal" => "不是数值",
        "provided string was not `true` or `false`" => "应为 true 或 false",
        _ => return None,
    })
}

/// `<found>, expected <expected>` of a serde message, in Chinese.
fn found_and_expected(rest: &str) -> Option<(String, &str)> {
    let (found, expected) = rest.split_once(", expected ")?;
    Some((serde_found(found), serde_expected(expected)))
}

/// What serde says it received (`string "x"`, `integer `5``, `sequence` …), in Chinese.
fn serde_found(found: &str) -> String {
    const KINDS: [(&str, &str); 6] = [
        ("string ", "文本 "),
        ("integer ", "整数 "),
        ("floating point ", "数值 "),
        ("boolean ", "布尔值 "),
        ("character ", "字符 "),
        ("byte array", "字节串"),
    ];
    let whole = match found {
        "null" | "unit value" | "Option value" => Some("空值"),
        "sequence" => Some("数组"),
        "map" => Some("对象"),
        _ => None,
    };
    if let Some(text) = whole {
        return text.to_string();
    }
    KINDS
        .iter()
        .find_map(|(english, chinese)| {
            found
                .strip_prefix(english)
                .map(|value| format!("{chinese}{}", value.replace('`', "")))
        })
        .unwrap_or_else(|| found.to_string())
}

/// What serde says it expected (`a string`, `u32`, `struct X`, `a sequence` …), in Chinese.
fn serde_expected(expected: &str) -> &str {
    match expected {
        e if e.contains("string") => "文本",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "整数",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "非负整数",
        "f32" | "f64" => "数值",
        "a boolean" => "布尔值",
        e if e.starts_with("a sequence") || e.starts_with("a tuple") => "数组",
        e if e.starts_with("struct ") || e == "a map" => "对象",
        e if e.starts_with("an amount") => "金额",
        e => e,
    }
}

/// The node `input.<name>`, which must be present.
pub fn node<'v>(input: &'v Value, name: &str) -> Result<&'v Value, TxError> {
    match input.get(name) {
        Some(Value::Null) | None => Err(TxError::new(format!("input.{name}"), "缺少必填节点")),
        Some(value) => Ok(value),
    }
}

/// A node that real clients send either as one object or as an array of one.
pub fn single<'v>(value: &'v Value, path: &str) -> Result<&'v Value, TxError> {
    match value {
        Value::Array(items) if items.len() == 1 => Ok(&items[0]),
        Value::Array(_) => Err(TxError::new(path, "须只有一行")),
        other => Ok(other),
    }
}

/// Serializes an `output` node.
pub fn to_output<T: Serialize>(value: &T) -> Result<Box<RawValue>, TxError> {
    serde_json::value::to_raw_value(value).map_err(|e| unencodable(&e))
}

/// A reply part that could not be encoded: the service's failure, not the message's.
pub fn unencodable(error: &serde_json::Error) -> TxError {
    TxError::internal(format!("输出无法编码（{error}）"))
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
                "定点医药机构 {} 没有就诊 {mdtrt_id}",
                ctx.request.fixmedins_code
            ),
        )),
    }
}

/// The refusal of a `setl_id` that names no settlement of the calling institution (another
/// institution's settlement is reported as absent).
pub fn unknown_settlement(ctx: &Ctx<'_>, field: &str, setl_id: &str) -> TxError {
    TxError::new(
        field,
        format!(
            "定点医药机构 {} 没有结算 {setl_id}",
            ctx.request.fixmedins_code
        ),
    )
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

/// A kind of visit as a cashier reads it in a message (`不是门诊就诊`).
pub fn kind_text(kind: VisitKind) -> &'static str {
    match kind {
        VisitKind::Outpatient => "门诊",
        VisitKind::Inpatient => "住院",
        VisitKind::Pharmacy => "药店购药",
    }
}

/// Checks a `psn_no` sent with a visit against the visit's person.
pub fn check_visit_person(visit: &Visit, field: &str, psn_no: Option<&str>) -> Result<(), TxError> {
    match psn_no {
        Some(psn_no) if psn_no != visit.psn_no => Err(TxError::new(
            field,
            format!("{psn_no} 不是就诊 {} 的参保人", visit.mdtrt_id),
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
        .ok_or_else(|| TxError::new(field, format!("人员 {psn_no} 未登记")))
}

/// Refuses new care (`action`, e.g. 挂号) of a person whose card is suspended on `day`, naming
/// `field`.
pub fn check_card(
    ctx: &Ctx<'_>,
    field: &str,
    psn_no: &str,
    day: NaiveDate,
    action: &str,
) -> Result<(), TxError> {
    match ctx
        .shared
        .sanctions()
        .card_refusal_of(field, psn_no, day, action)
    {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
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
                "人员 {} 未参加险种 {insutype}（已参加：{held}）",
                person.psn_no
            ),
        )
    })
}

/// A code of the request or of the registry, refused naming `field` when longer than a code.
pub(crate) fn code(field: &str, text: &str) -> Result<Code, TxError> {
    Code::new(text).map_err(|e| TxError::new(field, lenient::code_problem(&e)))
}

/// The stored insurance row as the enrolment register's insured period.
fn insured_period(row: &InsuRow) -> InsuredPeriod {
    InsuredPeriod {
        insutype: row.insutype,
        psn_type: row.psn_type,
        status: row.psn_insu_stas,
        begin: row.psn_insu_date,
        end: row.insu_endtime,
        benefit_start: row.benefit_begndate.unwrap_or(row.psn_insu_date),
        insuplc_admdvs: row.insuplc_admdvs,
    }
}

/// Whether the person has benefits under `row` on `date` (`yibao-enrolment`'s decision), as the
/// engine is told.
pub fn coverage_on(person: &Person, row: &InsuRow, date: NaiveDate) -> engine::Coverage {
    match periods_coverage_on(&person.psn_no, &[insured_period(row)], row.insutype, date) {
        Ok(()) => engine::Coverage::Covered,
        Err(not) => engine::Coverage::NotCovered(no_benefit_reason(not.reason)),
    }
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
pub fn engine_person(person: &Person, row: &InsuRow, care_began: NaiveDate) -> engine::Person {
    let identities = person
        .idet
        .iter()
        .map(|p| engine::IdentityPeriod {
            code: p.psn_idet_type,
            begin: p.begntime,
            end: p.endtime,
        })
        .collect();
    engine::Person {
        insutype: row.insutype.code(),
        psn_type: row.psn_type.code(),
        gend: person.gend,
        birth_date: person.brdy,
        identities,
        civil_servant: row.cvlserv_flag,
        coverage: coverage_on(person, row, care_began),
    }
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

/// The policy of the person's insured region and the catalogue of the place of treatment
/// ([`crate::state::Regions::catalog_for_on`]; the insured region's when the place has none loaded)
/// in force on the day care began.
pub fn policy_and_catalog(
    ctx: &Ctx<'_>,
    row: &InsuRow,
    care_date: NaiveDate,
) -> Result<Rules, TxError> {
    let regions = ctx.shared.regions();
    let policy = regions
        .policy_for(row.insuplc_admdvs.as_str())
        .ok_or_else(|| {
            TxError::new(
                "insuplc_admdvs",
                format!("参保地 {} 没有加载医保政策", row.insuplc_admdvs),
            )
        })?;
    let policy_region = policy.parsed.policy.admdvs.as_str();
    let catalog = regions
        .catalog_for_on(ctx.institution.admdvs.as_str(), care_date)
        .or_else(|| regions.catalog_on(policy_region, care_date))
        .ok_or_else(|| {
            TxError::new(
                "fixmedins_code",
                format!("就医地 {} 没有加载医保目录", ctx.institution.admdvs),
            )
        })?;
    Ok(Rules {
        policy: Arc::clone(&policy.parsed),
        catalog: Arc::clone(&catalog.parsed),
        versions: format!("policy={};catalogue={}", policy.version, catalog.version),
    })
}

/// The rules a visit's lines are split under at upload: [`policy_and_catalog`], except for a person
/// insured on another platform ([`crate::peer`]), whose lines are split under the treating region's
/// policy and catalogue (就医地目录); the insured platform settles from that split with its own
/// policy. Settlement itself never falls back: a peer's person is settled only by its platform.
pub fn split_rules(ctx: &Ctx<'_>, row: &InsuRow, care_date: NaiveDate) -> Result<Rules, TxError> {
    let insured = row.insuplc_admdvs.as_str();
    let hosted = ctx.shared.regions().policy_for(insured).is_some();
    if !hosted && crate::peer::peer_for(&ctx.shared.config, insured).is_some() {
        let treating = InsuRow {
            insuplc_admdvs: ctx.institution.admdvs,
            ..row.clone()
        };
        return policy_and_catalog(ctx, &treating, care_date);
    }
    policy_and_catalog(ctx, row, care_date)
}

/// A stored fee line as the engine reads it: the facts stored with its split, or, for a line stored
/// before splits were kept (migration 0006), its uploaded JSON read again.
pub fn engine_line(stored: &FeeLine) -> Result<engine::FeeLine, TxError> {
    match &stored.split {
        Some(split) => Ok(split.fee.clone()),
        None => {
            let field = format!("feedetail[{}]", stored.feedetl_sn);
            let value: Value = serde_json::from_str(&stored.line).map_err(|e| {
                TxError::storage(&LedgerError::Corrupt {
                    table: "fee_lines",
                    column: "line",
                    detail: format!("{field}: {e}"),
                })
            })?;
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
    parse_datetime(text)
        .ok_or_else(|| TxError::new(field, format!("{text} 不是 yyyy-MM-dd HH:mm:ss 格式的时间")))
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
                "{} 早于可受理的最早日期 {EARLIEST_CARE_DATE}",
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
                "{} 晚于可受理的最晚时间 {}（报文接收时间 {}，允许的时钟偏差 {tolerance} 秒）",
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
    /// What the insured platform's register says about care outside the pooling region
    /// ([`remote_filing`]).
    pub filing: Option<yibao_policy::FilingStatus>,
}

/// Builds the engine visit.
pub fn engine_visit(ctx: &Ctx<'_>, shape: VisitShape<'_>) -> Result<engine::Visit, TxError> {
    let visit = shape.visit;
    Ok(engine::Visit {
        med_type: visit.med_type.code(),
        begin: visit.begntime,
        end: shape.end,
        hosp_lv: ctx.institution.hosp_lv,
        medins_admdvs: ctx.institution.admdvs,
        referred: visit.referred,
        filing: shape.filing,
        dise_codg: visit.dise_codg.clone(),
        lines: shape.lines,
        use_account: shape.use_account,
        interim: shape.interim,
        episode_deductible_paid: shape.episode_deductible_paid,
    })
}

/// The filing status of the visit's care from its beginning to `end`, read from the insured
/// region's register at the time of the message (a stay filed before discharge counts; an
/// `emergency` admission is deemed filed); `None` in the pooling region.
pub async fn remote_filing(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    policy: &Policy,
    visit: &Visit,
    end: NaiveDateTime,
    emergency: bool,
) -> Result<Option<yibao_policy::FilingStatus>, TxError> {
    let stay = crate::filing_register::StayQuery {
        psn_no: &visit.psn_no,
        insutype: visit.insutype.as_str(),
        medins_admdvs: ctx.institution.admdvs.as_str(),
        begin: visit.begntime.date(),
        end: end.date().max(visit.begntime.date()),
        emergency,
    };
    Ok(crate::filing_register::status_of_stay(ledger.conn(), policy, stay).await?)
}

/// Whether the admission was an emergency rescue (`exp_content` `IPT_TYPE` 2 of 2401/2403),
/// which counts as filed (视同备案).
pub fn emergency_admission(visit: &Visit) -> bool {
    let Some(exp_content) = visit.info.pointer("/mdtrtinfo/exp_content") else {
        return false;
    };
    let parsed = match exp_content {
        Value::String(text) => serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
        other => other.clone(),
    };
    parsed
        .get("IPT_TYPE")
        .is_some_and(|t| crate::envelope::scalar_text(Some(t)) == "2")
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

/// The `med_type` of the request ([`request_code`]) as its code table reads it.
pub fn request_med_type(
    field: &str,
    text: Option<&str>,
    default: &str,
) -> Result<MedType, TxError> {
    request_code(field, text, default).map(MedType::from_code)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Data {
        psn_no: String,
        cnt: u32,
        flag: bool,
        lines: Vec<String>,
    }

    fn problem(value: Value) -> String {
        parse::<Data>(&value, "input.data").unwrap_err().to_string()
    }

    #[test]
    fn a_missing_field_is_named_by_its_own_path() {
        assert_eq!(missing_field("missing field `psn_no`"), Some("psn_no"));
        assert_eq!(missing_field("invalid type: null, expected a string"), None);
        assert_eq!(
            problem(json!({"cnt": 1, "flag": true, "lines": []})),
            "参数 input.data.psn_no 有误：缺少必填字段"
        );
    }

    #[test]
    fn serde_messages_read_in_chinese_with_the_value_received() {
        assert_eq!(
            problem(json!({"psn_no": "P1", "cnt": "x", "flag": true, "lines": []})),
            "参数 input.data.cnt 有误：类型不符，应为非负整数，收到文本 \"x\""
        );
        assert_eq!(
            problem(json!({"psn_no": "P1", "cnt": 1, "flag": 1, "lines": []})),
            "参数 input.data.flag 有误：类型不符，应为布尔值，收到整数 1"
        );
        assert_eq!(
            problem(json!({"psn_no": ["P1"], "cnt": 1, "flag": true, "lines": []})),
            "参数 input.data.psn_no 有误：类型不符，应为文本，收到数组"
        );
        assert_eq!(
            problem(json!({"psn_no": "P1", "cnt": 1, "flag": true, "lines": {}})),
            "参数 input.data.lines 有误：类型不符，应为数组，收到对象"
        );
        assert_eq!(
            problem(json!({"psn_no": "P1", "cnt": -1, "flag": true, "lines": []})),
            "参数 input.data.cnt 有误：取值不符，应为非负整数，收到整数 -1"
        );
        assert_eq!(
            serde_problem("unknown variant `9`, expected one of `1`, `2`"),
            "取值 9 不是可选值（1, 2）"
        );
        assert_eq!(serde_problem("不能为空"), "不能为空");
        assert_eq!(
            serde_problem("unknown field `state`, expected `to` or `operator`"),
            "不能有此字段（可有：to、operator）"
        );
        assert_eq!(serde_problem("invalid digit found in string"), "不是整数");
    }

    #[test]
    fn field_paths_join_without_a_dot_before_an_index() {
        assert_eq!(field_path("input.data", "[0]"), "input.data[0]");
        assert_eq!(field_path("input.data", "[0].cnt"), "input.data[0].cnt");
        assert_eq!(field_path("input.data", "psn_no"), "input.data.psn_no");
        assert_eq!(field_path("input.data", "."), "input.data");
        assert_eq!(field_path("", "limit"), "limit");
    }
}
