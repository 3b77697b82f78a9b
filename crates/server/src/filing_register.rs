//! The insured platform's 异地就医备案 register as the service uses it: one request shape for
//! 2501 (转院备案), 2505 (人员异地备案) and counter filing (`/admin/filings`, `yibao filing add`),
//! checked field by field against the person, the insured region's policy and the place filed; and
//! the filing status of a stay, read at settlement ([`status_of_stay`]).

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use yibao_domain::codes::RemoteFilingType;
use yibao_domain::Code;
use yibao_ledger::records::{InsuRow, Person};
use yibao_ledger::remote_filings::{self, FilingSource, RemoteFiling};
use yibao_ledger::LedgerError;
use yibao_policy::{area_contains, FiledStay, FilingStatus, Policy};
use yibao_wire::lenient;

use crate::error::TxError;
use crate::state::Regions;

/// Longest free text of a filing (names, reasons).
const TEXT_MAX_CHARS: usize = 100;
/// Longest code of a filing (diagnosis, institution).
const CODE_MAX_CHARS: usize = 30;
/// The earliest start of a filing accepted.
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

/// The latest start of a filing accepted (its default end must stay a 4-digit-year date).
const LATEST: NaiveDate = match NaiveDate::from_ymd_opt(2099, 12, 31) {
    Some(day) => day,
    None => NaiveDate::MAX,
};

/// A filing as requested (national field names; 2501 sends it as `refmedin`, 2505 as `data`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct FilingRequest {
    #[serde(deserialize_with = "lenient::string")]
    pub psn_no: String,
    /// The scheme filed for; absent: the person's only scheme, or every scheme.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub insutype: Option<String>,
    /// 备案类别: 01 异地安置退休, 02 异地长期居住, 03 常驻异地工作, 04 异地转诊, 05 异地急诊抢救,
    /// 06 其他临时外出 (2501 is always 04).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub fil_type: Option<String>,
    /// 2505's 业务申请类型 when `fil_type` is absent: 07 异地急诊住院 (→ 05), 08 异地安置 (→ 01).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub biz_appy_type: Option<String>,
    /// 就医地: the province, city or county the filing is for.
    #[serde(deserialize_with = "lenient::string")]
    pub mdtrtarea_admdvs: String,
    /// 2501: 1 市内, 2 省内异地, 3 跨省.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub refl_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub reflin_medins_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub reflin_medins_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub dise_codg: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub dise_name: Option<String>,
    /// First day of validity, `yyyy-MM-dd`.
    #[serde(deserialize_with = "lenient::date")]
    #[schema(value_type = String)]
    pub begndate: NaiveDate,
    /// Last day of validity; absent: open for long-term filings, the policy's
    /// `temporary_validity_days` for temporary ones.
    #[serde(default, deserialize_with = "lenient::opt_date")]
    #[schema(value_type = Option<String>)]
    pub enddate: Option<NaiveDate>,
}

/// Who files, and where the request's fields live (`input.refmedin`, `input.data`, `body`).
pub struct Filer<'a> {
    pub source: FilingSource,
    pub path: &'a str,
    /// The filing institution (empty at the counter).
    pub fixmedins_code: &'a str,
    pub operator: &'a str,
}

/// The filing a request makes, checked field by field; `content` is the request as sent.
pub fn check(
    regions: &Regions,
    person: &Person,
    request: &FilingRequest,
    filer: &Filer<'_>,
    content: String,
    now: &str,
) -> Result<RemoteFiling, TxError> {
    let field = |name: &str| format!("{}.{name}", filer.path);
    let insu = insu_row(person, request, &field("insutype"))?;
    let (policy, insu_admdvs) = insured_policy(regions, insu, &field("psn_no"))?;
    let fil_type = filing_type(request, filer, &field)?;
    let kind = FilingStatus::of_filing_type(fil_type)
        .ok_or_else(|| TxError::new(field("fil_type"), unknown_type_problem(fil_type)))?;
    let area = region_code(&field("mdtrtarea_admdvs"), &request.mdtrtarea_admdvs)?;
    check_area(policy, area, &field("mdtrtarea_admdvs"))?;
    let refl_type = referral_type(policy, request, filer, area, &field("refl_type"))?;
    if request.begndate < EARLIEST {
        return Err(TxError::new(
            field("begndate"),
            format!("{} 早于可受理的最早日期 {EARLIEST}", request.begndate),
        ));
    }
    if request.begndate > LATEST {
        return Err(TxError::new(
            field("begndate"),
            format!("{} 晚于可受理的最晚日期 {LATEST}", request.begndate),
        ));
    }
    let enddate = match request.enddate {
        Some(end) if end < request.begndate => {
            return Err(TxError::new(field("enddate"), "早于开始日期 begndate"))
        }
        Some(end) => Some(end),
        None => policy.remote.default_enddate(kind, request.begndate),
    };
    Ok(RemoteFiling {
        trt_dcla_detl_sn: String::new(),
        insu_admdvs,
        psn_no: request.psn_no.clone(),
        insutype: request.insutype.clone().unwrap_or_default(),
        fil_type,
        mdtrtarea_admdvs: area,
        refl_type,
        reflin_medins_no: bounded(
            &field("reflin_medins_no"),
            &request.reflin_medins_no,
            CODE_MAX_CHARS,
        )?,
        reflin_medins_name: bounded(
            &field("reflin_medins_name"),
            &request.reflin_medins_name,
            TEXT_MAX_CHARS,
        )?,
        dise_codg: bounded(&field("dise_codg"), &request.dise_codg, CODE_MAX_CHARS)?,
        dise_name: bounded(&field("dise_name"), &request.dise_name, TEXT_MAX_CHARS)?,
        begndate: request.begndate,
        enddate,
        source: filer.source,
        fixmedins_code: filer.fixmedins_code.to_string(),
        operator: filer.operator.to_string(),
        valid: true,
        created_at: now.to_string(),
        cancelled_at: String::new(),
        content,
    })
}

/// Files at the counter (`operator`: the clerk) on a store: the admin API and `yibao filing add`.
pub async fn file_at_counter(
    store: &yibao_ledger::Store,
    regions: &Regions,
    request: &FilingRequest,
    operator: &str,
    content: String,
) -> Result<RemoteFiling, TxError> {
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let psn_no = &request.psn_no;
    let person = yibao_ledger::registry::person(&mut conn, psn_no)
        .await?
        .ok_or_else(|| TxError::new("body.psn_no", format!("人员 {psn_no} 未登记")))?;
    let filer = Filer {
        source: FilingSource::Counter,
        path: "body",
        fixmedins_code: "",
        operator,
    };
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let filing = check(regions, &person, request, &filer, content, &now)?;
    Ok(remote_filings::file(&mut conn, &filing).await?)
}

fn insu_row<'p>(
    person: &'p Person,
    request: &FilingRequest,
    field: &str,
) -> Result<&'p InsuRow, TxError> {
    match &request.insutype {
        Some(insutype) => crate::tx::insu_row(person, field, insutype),
        None => person
            .insu
            .first()
            .ok_or_else(|| TxError::new(field, format!("人员 {} 未参加任何险种", person.psn_no))),
    }
}

/// The insured region's policy and pooling region code.
fn insured_policy<'r>(
    regions: &'r Regions,
    insu: &InsuRow,
    field: &str,
) -> Result<(&'r Policy, Code), TxError> {
    let policy = regions
        .policy_for(insu.insuplc_admdvs.as_str())
        .map(|p| p.parsed.as_ref())
        .ok_or_else(|| {
            TxError::new(
                field,
                format!("参保地 {} 没有加载医保政策", insu.insuplc_admdvs),
            )
        })?;
    Ok((policy, policy.policy.admdvs))
}

fn filing_type(
    request: &FilingRequest,
    filer: &Filer<'_>,
    field: &dyn Fn(&str) -> String,
) -> Result<RemoteFilingType, TxError> {
    if filer.source == FilingSource::Referral {
        return Ok(RemoteFilingType::Referral);
    }
    let code_text = match (&request.fil_type, request.biz_appy_type.as_deref()) {
        (Some(code), _) => code.clone(),
        (None, Some("07")) => "05".into(),
        (None, Some("08")) => "01".into(),
        (None, Some(other)) => {
            return Err(TxError::new(
                field("biz_appy_type"),
                format!("业务申请类型 {other} 不是异地备案（07 异地急诊住院、08 异地安置），请填写备案类别 fil_type"),
            ))
        }
        (None, None) => return Err(TxError::new(field("fil_type"), "缺少必填字段")),
    };
    let code = Code::new(&code_text)
        .map_err(|_| TxError::new(field("fil_type"), format!("{code_text} 不是备案类别代码")))?;
    Ok(RemoteFilingType::from_code(code))
}

fn unknown_type_problem(fil_type: RemoteFilingType) -> String {
    let known: Vec<String> = RemoteFilingType::VALUES
        .iter()
        .map(|(code, label)| format!("{code} {label}"))
        .collect();
    format!("备案类别 {fil_type} 不是可选值（{}）", known.join("、"))
}

fn region_code(field: &str, text: &str) -> Result<Code, TxError> {
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TxError::new(field, format!("{text} 不是 6 位行政区划代码")));
    }
    Code::new(text).map_err(|_| TxError::new(field, format!("{text} 不是 6 位行政区划代码")))
}

/// A place inside the insured pooling region needs no filing.
fn check_area(policy: &Policy, area: Code, field: &str) -> Result<(), TxError> {
    let region = policy.policy.admdvs;
    if policy.is_in_region(area.as_str()) || area_contains(area.as_str(), region.as_str()) {
        return Err(TxError::new(
            field,
            format!("就医地 {area} 含参保统筹区 {region}，统筹区内就医无需异地备案"),
        ));
    }
    Ok(())
}

/// 2501's `refl_type`, checked against the place: 2 in the province, 3 outside it (1 市内 is not a
/// remote referral).
fn referral_type(
    policy: &Policy,
    request: &FilingRequest,
    filer: &Filer<'_>,
    area: Code,
    field: &str,
) -> Result<String, TxError> {
    let Some(refl_type) = request.refl_type.clone() else {
        return match filer.source {
            FilingSource::Referral => Err(TxError::new(field, "缺少必填字段")),
            _ => Ok(String::new()),
        };
    };
    let same_province = policy.policy.admdvs.as_str().get(..2) == area.as_str().get(..2);
    let expected = if same_province { "2" } else { "3" };
    match refl_type.as_str() {
        "2" | "3" if refl_type == expected => Ok(refl_type),
        "2" | "3" => Err(TxError::new(
            field,
            format!(
                "转诊类型 {refl_type} 与就医地 {area} 不符（{}）",
                if same_province {
                    "省内异地应为 2"
                } else {
                    "跨省应为 3"
                }
            ),
        )),
        "1" => Err(TxError::new(
            field,
            "转诊类型 1（市内转诊）不是异地转院，无需转院备案",
        )),
        other => Err(TxError::new(
            field,
            format!("取值 {other} 不是可选值（2 省内异地、3 跨省）"),
        )),
    }
}

fn bounded(field: &str, text: &Option<String>, max_chars: usize) -> Result<String, TxError> {
    let text = text.clone().unwrap_or_default();
    if text.chars().count() > max_chars {
        return Err(TxError::new(field, format!("超过 {max_chars} 个字符")));
    }
    Ok(text)
}

/// The filing status of a stay of `psn_no` under `insu` at an institution of `medins_admdvs` from
/// `begin` to `end`, from the register of the insured region (`emergency`: the admission was an
/// emergency rescue, deemed filed). `None` in the insured pooling region or without its policy.
pub async fn status_of_stay(
    conn: &mut yibao_ledger::AnyConnection,
    policy: &Policy,
    stay: StayQuery<'_>,
) -> Result<Option<FilingStatus>, LedgerError> {
    if policy.is_in_region(stay.medins_admdvs) {
        return Ok(None);
    }
    let region = policy.policy.admdvs.as_str();
    let filings: Vec<FiledStay> = remote_filings::valid_filings(conn, region, stay.psn_no)
        .await?
        .into_iter()
        .filter(|f| f.insutype.is_empty() || f.insutype == stay.insutype)
        .filter_map(|f| {
            Some(FiledStay {
                kind: FilingStatus::of_filing_type(f.fil_type)?,
                area: f.mdtrtarea_admdvs.to_string(),
                begndate: f.begndate,
                enddate: f.enddate,
            })
        })
        .collect();
    Ok(Some(yibao_policy::filing_status(
        &filings,
        stay.medins_admdvs,
        stay.begin,
        stay.end,
        stay.emergency,
    )))
}

/// The stay [`status_of_stay`] looks up.
pub struct StayQuery<'a> {
    pub psn_no: &'a str,
    pub insutype: &'a str,
    pub medins_admdvs: &'a str,
    pub begin: NaiveDate,
    pub end: NaiveDate,
    pub emergency: bool,
}
