//! Routine checks and queries a HIS makes around a visit: 2001 人员待遇享受检查, 5201 就诊信息查询,
//! 5202 诊断信息查询, 5205 人员慢特病用药记录查询, 5303 在院信息查询 and 1201 医药机构信息获取.
//! Rows carry the spec's fields; what yibao does not hold is an empty string, never left out.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use yibao_domain::codes::{MedChrgitmType, MedType};
use yibao_domain::Code;
use yibao_ledger::lookups::{self, CareWindow, HistoryLine};
use yibao_ledger::{registry, Institution, LedgerView, Person, Visit, VisitKind, VisitStatus};
use yibao_policy::{Entitlement, Region};
use yibao_settlement as engine;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::render::{age_on, date_text, flag_text};
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

/// A read's `output`: one node of rows.
fn rows_output(node: &str, rows: Vec<Value>) -> Result<TxOutput, TxError> {
    let mut output = Map::new();
    output.insert(node.into(), Value::Array(rows));
    Ok(TxOutput::read(common::to_output(&output)?))
}

/// The registered institutions by code.
async fn institutions_by_code(
    ledger: &mut LedgerView<'_>,
) -> Result<HashMap<String, Institution>, TxError> {
    Ok(registry::institutions(ledger.conn())
        .await?
        .into_iter()
        .map(|i| (i.fixmedins_code.clone(), i))
        .collect())
}

/// The most institutions one 1201 answer lists.
const INSTITUTION_ROWS_MAX: usize = 1_000;

#[derive(Deserialize)]
struct TreatmentQuery {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(deserialize_with = "lenient::string")]
    insutype: String,
    #[serde(deserialize_with = "lenient::string")]
    med_type: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begntime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    dise_codg: Option<String>,
}

/// 2001 人员待遇享受检查: for each fund that may pay for care of `med_type` from `begntime`, whether
/// the person enjoys benefits (`trt_enjymnt_flag`) and, when not, why (`trt_chk_rslt`).
pub async fn treatment_check(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let query: TreatmentQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let person = common::registered_person(ledger, "input.data.psn_no", &query.psn_no).await?;
    let row = common::insu_row(&person, "input.data.insutype", &query.insutype)?;
    let med_type = common::request_code("input.data.med_type", Some(&query.med_type), "")?;
    let begntime = query
        .begntime
        .as_deref()
        .ok_or_else(|| TxError::new("input.data.begntime", "不能为空（待遇检查的开始时间）"))?;
    let begins = common::datetime("input.data.begntime", begntime)?.date();
    let rules = common::policy_and_catalog(ctx, row, begins)?;
    let policy = &rules.policy;
    let scheme = policy.scheme(row.insutype.code()).ok_or_else(|| {
        TxError::new(
            "input.data.insutype",
            format!(
                "参保地政策 {} 没有险种 {} 的待遇",
                policy.policy.name, row.insutype
            ),
        )
    })?;
    let level = policy
        .level_of(ctx.institution.hosp_lv)
        .map_or(0, |l| l.level);
    let region = if policy.is_in_region(ctx.institution.admdvs.as_str()) {
        Region::In
    } else {
        Region::OutUnreferred
    };
    let dise_codg = query.dise_codg.as_deref().unwrap_or("");
    let coverage = common::coverage_on(&person, row, begins);
    let holds_identity = |code: Code| {
        person
            .idet
            .iter()
            .any(|p| p.psn_idet_type == code && p.holds_on(begins))
    };
    let entitlement = Entitlement {
        civil_servant: row.cvlserv_flag,
        holds_identity: &holds_identity,
    };
    let (funds, refusal) = match scheme.bucket_for(med_type, dise_codg, level, region.into()) {
        Some(bucket) => (
            scheme.funds_for(bucket, &entitlement),
            match coverage {
                engine::Coverage::Covered => None,
                engine::Coverage::NotCovered(reason) => Some(reason.to_string()),
            },
        ),
        None => (
            scheme
                .buckets
                .first()
                .map(|b| vec![b.fund])
                .unwrap_or_default(),
            Some(format!(
                "医疗类别 {med_type} 在{}医疗机构不在{}的待遇范围内（参保地政策 {}）",
                policy.level_name(level),
                scheme.name,
                policy.policy.name
            )),
        ),
    };
    let card = ctx.shared.sanctions().card_refusal_of(
        "input.data.psn_no",
        &person.psn_no,
        begins,
        "就医结算",
    );
    let refusal = card.map(|e| e.problem).or(refusal);
    let trtinfo: Vec<Value> = funds
        .iter()
        .map(|fund| {
            json!({
                "psn_no": person.psn_no,
                "trt_chk_type": "01",
                "fund_pay_type": fund,
                "trt_enjymnt_flag": flag_text(refusal.is_none()),
                "begndate": row.benefit_begndate.unwrap_or(row.psn_insu_date),
                "enddate": date_text(row.insu_endtime),
                "trt_chk_rslt": refusal.clone().unwrap_or_default(),
            })
        })
        .collect();
    rows_output("trtinfo", trtinfo)
}

#[derive(Deserialize)]
struct HistoryQuery {
    #[serde(deserialize_with = "lenient::string")]
    psn_no: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begntime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    endtime: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mdtrt_id: Option<String>,
}

impl HistoryQuery {
    /// The window of `begntime`..`endtime`; a bare date covers the whole day.
    fn window(&self) -> Result<CareWindow, TxError> {
        let from = bound("input.data.begntime", self.begntime.as_deref(), false)?;
        let to = bound("input.data.endtime", self.endtime.as_deref(), true)?;
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                return Err(TxError::new(
                    "input.data.endtime",
                    format!(
                        "结束时间 {} 早于开始时间 {}",
                        wire_time(to),
                        wire_time(from)
                    ),
                ));
            }
        }
        Ok(CareWindow { from, to })
    }
}

/// A query bound: a datetime, or a bare date meaning its first (`end_of_day` false) or last second.
fn bound(
    field: &str,
    text: Option<&str>,
    end_of_day: bool,
) -> Result<Option<NaiveDateTime>, TxError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = if end_of_day {
            day.and_hms_opt(23, 59, 59)
        } else {
            day.and_hms_opt(0, 0, 0)
        };
        return Ok(time);
    }
    lenient::parse_datetime(text).map(Some).ok_or_else(|| {
        TxError::new(
            field,
            format!("{text} 不是 yyyy-MM-dd 格式的日期或 yyyy-MM-dd HH:mm:ss 格式的时间"),
        )
    })
}

/// The person's fields every history row repeats.
fn person_fields(person: &Person, on: NaiveDate) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("psn_no".into(), json!(person.psn_no));
    row.insert("psn_cert_type".into(), json!(person.psn_cert_type));
    row.insert("certno".into(), json!(person.certno));
    row.insert("psn_name".into(), json!(person.psn_name));
    row.insert("gend".into(), json!(person.gend));
    row.insert("naty".into(), json!(""));
    row.insert("brdy".into(), json!(person.brdy));
    row.insert("age".into(), json!(age_on(person.brdy, on)));
    row
}

/// 5201 output fields the visit's uploaded details (`mdtrtinfo`, `dscginfo`) may fill.
const VISIT_DETAIL_FIELDS: &[&str] = &[
    "coner_name",
    "tel",
    "ars_year_ipt_flag",
    "pre_pay_flag",
    "medrcdno",
    "atddr_no",
    "chfpdr_name",
    "adm_dept_codg",
    "adm_dept_name",
    "adm_bed",
    "dscg_maindiag_code",
    "dscg_maindiag_name",
    "dscg_dept_codg",
    "dscg_dept_name",
    "dscg_bed",
    "dscg_way",
    "main_cond_dscr",
    "dise_codg",
    "dise_name",
    "oprn_oprt_code",
    "oprn_oprt_name",
    "otp_diag_info",
    "die_date",
    "fpsc_no",
    "matn_type",
    "birctrl_type",
    "latechb_flag",
    "geso_val",
    "fetts",
    "fetus_cnt",
    "pret_flag",
    "birctrl_matn_date",
    "cop_flag",
    "memo",
];

/// The value of `field` in one of the visit's uploaded detail nodes, as the client sent it.
fn uploaded(visit: &Visit, field: &str) -> Option<Value> {
    ["dscginfo", "mdtrtinfo"]
        .iter()
        .filter_map(|node| visit.info.get(node))
        .find_map(|node| node.get(field).filter(|v| !v.is_null()).cloned())
}

/// Whole days of an inpatient stay up to its end, or up to `now` while the patient is in hospital.
fn stay_days(visit: &Visit, now: NaiveDateTime) -> i64 {
    let end = visit.endtime.unwrap_or(now).date();
    (end - visit.begntime.date()).num_days().max(1)
}

/// Whether an admission is open: not cancelled and not discharged.
fn in_hospital(visit: &Visit) -> bool {
    visit.kind == VisitKind::Inpatient
        && visit.status != VisitStatus::Cancelled
        && visit.endtime.is_none()
}

fn visit_row(ctx: &Ctx<'_>, person: &Person, visit: &Visit) -> Value {
    let mut row = person_fields(person, visit.begntime.date());
    let insu = person.insu_row(visit.insutype.as_str());
    row.insert("mdtrt_id".into(), json!(visit.mdtrt_id));
    row.insert("insutype".into(), json!(visit.insutype));
    row.insert("psn_type".into(), json!(insu.map(|r| r.psn_type)));
    row.insert(
        "cvlserv_flag".into(),
        json!(flag_text(insu.is_some_and(|r| r.cvlserv_flag))),
    );
    for field in [
        "maf_psn_flag",
        "flxempe_flag",
        "nwb_flag",
        "emp_name",
        "opter_id",
        "opter_name",
        "opt_time",
    ] {
        row.insert(field.into(), json!(""));
    }
    row.insert("insu_optins".into(), json!(insu.map(|r| r.insuplc_admdvs)));
    row.insert("begntime".into(), json!(wire_time(visit.begntime)));
    row.insert(
        "endtime".into(),
        json!(visit.endtime.map(wire_time).unwrap_or_default()),
    );
    row.insert("mdtrt_cert_type".into(), json!(visit.mdtrt_cert_type));
    row.insert("med_type".into(), json!(visit.med_type));
    row.insert("ipt_otp_no".into(), json!(visit.ipt_otp_no));
    for field in VISIT_DETAIL_FIELDS {
        row.insert(
            (*field).into(),
            uploaded(visit, field).unwrap_or_else(|| json!("")),
        );
    }
    if visit.kind == VisitKind::Inpatient {
        row.insert("inhosp_stas".into(), json!(flag_text(in_hospital(visit))));
        row.insert("ipt_days".into(), json!(stay_days(visit, ctx.now)));
    } else {
        row.insert("inhosp_stas".into(), json!(""));
        row.insert("ipt_days".into(), json!(0));
    }
    Value::Object(row)
}

/// 5201 就诊信息查询: the person's visits at this institution in the window, newest first
/// (cancelled registrations and admissions are left out).
pub async fn visits(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let query: HistoryQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let window = query.window()?;
    let person = common::registered_person(ledger, "input.data.psn_no", &query.psn_no).await?;
    let visits = lookups::person_visits(ledger.conn(), &person.psn_no, window).await?;
    let mdtrtinfo: Vec<Value> = visits
        .iter()
        .filter(|v| v.fixmedins_code == ctx.request.fixmedins_code)
        .filter(|v| v.status != VisitStatus::Cancelled)
        .filter(|v| {
            query
                .med_type
                .as_deref()
                .is_none_or(|m| v.med_type.as_str() == m)
        })
        .filter(|v| query.mdtrt_id.as_deref().is_none_or(|id| v.mdtrt_id == id))
        .map(|v| visit_row(ctx, &person, v))
        .collect();
    rows_output("mdtrtinfo", mdtrtinfo)
}

#[derive(Deserialize)]
struct DiagnosisQuery {
    #[serde(deserialize_with = "lenient::string")]
    mdtrt_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    psn_no: Option<String>,
}

/// 5202 output fields a diagnosis row as uploaded (2203/2401/2402 `diseinfo`) may fill.
const DIAGNOSIS_FIELDS: &[&str] = &[
    "inout_diag_type",
    "diag_type",
    "maindiag_flag",
    "diag_srt_no",
    "diag_code",
    "diag_name",
    "adm_cond",
    "diag_dept",
    "dise_dor_no",
    "dise_dor_name",
    "diag_time",
];

/// 5202 诊断信息查询: the diagnoses uploaded for a visit of this institution.
pub async fn diagnoses(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let query: DiagnosisQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let visit = common::owned_visit(ctx, ledger, "input.data.mdtrt_id", &query.mdtrt_id).await?;
    common::check_visit_person(&visit, "input.data.psn_no", query.psn_no.as_deref())?;
    let uploaded_rows = match visit.info.get("diseinfo") {
        Some(Value::Array(rows)) => rows.iter().collect(),
        Some(row @ Value::Object(_)) => vec![row],
        _ => Vec::new(),
    };
    let diseinfo: Vec<Value> = uploaded_rows
        .into_iter()
        .enumerate()
        .map(|(index, uploaded_row)| {
            let mut row = Map::new();
            row.insert(
                "diag_info_id".into(),
                json!(format!("{}{:03}", visit.mdtrt_id, index + 1)),
            );
            row.insert("mdtrt_id".into(), json!(visit.mdtrt_id));
            row.insert("psn_no".into(), json!(visit.psn_no));
            for field in DIAGNOSIS_FIELDS {
                let value = uploaded_row.get(*field).filter(|v| !v.is_null());
                row.insert((*field).into(), value.cloned().unwrap_or_else(|| json!("")));
            }
            for field in ["opter_id", "opter_name", "opt_time"] {
                row.insert(field.into(), json!(""));
            }
            Value::Object(row)
        })
        .collect();
    rows_output("diseinfo", diseinfo)
}

/// 5205 output fields taken from the line as the hospital uploaded it.
const UPLOADED_LINE_FIELDS: &[(&str, &str)] = &[
    ("rx_drord_no", "rxno"),
    ("fee_ocur_time", "fee_ocur_time"),
    ("medins_list_codg", "medins_list_codg"),
    ("medins_list_name", "medins_list_name"),
    ("hosp_appr_flag", "hosp_appr_flag"),
    ("tcmdrug_used_way", "tcmdrug_used_way"),
    ("etip_flag", "etip_flag"),
    ("etip_hosp_code", "etip_hosp_code"),
    ("dscg_tkdrug_flag", "dscg_tkdrug_flag"),
    ("matn_fee_flag", "matn_fee_flag"),
];

/// 5205 output fields taken from the line's split as 2204 answered it.
const SPLIT_FIELDS: &[&str] = &[
    "cnt",
    "pric",
    "chrgitm_lv",
    "med_chrgitm_type",
    "lmt_used_flag",
    "bas_medn_flag",
    "hi_nego_drug_flag",
    "chld_medc_flag",
    "list_sp_item_flag",
];

/// 5205 output fields yibao does not hold (the national drug catalogue's product details).
const UNHELD_DRUG_FIELDS: &[&str] = &[
    "prodname",
    "spec",
    "dosform_name",
    "hosp_prep_flag",
    "prodplac_type",
];

/// Whether a stored line is a drug (西药, 中药饮片, 中成药).
fn is_drug(line: &HistoryLine) -> bool {
    line.line.split.as_ref().is_some_and(|s| {
        matches!(
            s.split.med_chrgitm_type,
            Some(
                MedChrgitmType::WesternMedicine
                    | MedChrgitmType::HerbalPieces
                    | MedChrgitmType::ChinesePatentMedicine
            )
        )
    })
}

fn drug_row(
    ctx: &Ctx<'_>,
    person: &Person,
    line: &HistoryLine,
    institutions: &HashMap<String, Institution>,
) -> Result<Value, TxError> {
    let stored = &line.line;
    let uploaded: Value = serde_json::from_str(&stored.line).unwrap_or(Value::Null);
    let split: Value = serde_json::from_str(&stored.result).unwrap_or(Value::Null);
    let code = common::line_code(stored)?;
    let regions = ctx.shared.regions();
    let item = institutions
        .get(&line.fixmedins_code)
        .and_then(|i| regions.catalog_for(i.admdvs.as_str()))
        .and_then(|catalog| catalog.parsed.get(&code).cloned());
    let mut row = Map::new();
    row.insert("feedetl_sn".into(), json!(stored.feedetl_sn));
    row.insert("fixmedins_code".into(), json!(line.fixmedins_code));
    row.insert(
        "fixmedins_name".into(),
        json!(institutions
            .get(&line.fixmedins_code)
            .map_or("", |i| i.fixmedins_name.as_str())),
    );
    row.insert("psn_no".into(), json!(person.psn_no));
    row.insert("med_type".into(), json!(line.med_type));
    row.insert("hilist_code".into(), json!(code));
    row.insert("med_list_codg".into(), json!(code));
    row.insert(
        "hilist_name".into(),
        json!(item.as_ref().map_or("", |i| i.name.as_str())),
    );
    row.insert(
        "list_type".into(),
        json!(item.as_ref().map(|i| i.list_type)),
    );
    for (field, source) in UPLOADED_LINE_FIELDS {
        row.insert((*field).into(), text_of(&uploaded, source));
    }
    for field in SPLIT_FIELDS {
        let value = split.get(*field).filter(|v| !v.is_null()).cloned();
        row.insert((*field).into(), value.unwrap_or_else(|| json!("")));
    }
    for field in UNHELD_DRUG_FIELDS {
        row.insert((*field).into(), json!(""));
    }
    Ok(Value::Object(row))
}

/// A field of an uploaded line as text (`""` when absent).
fn text_of(uploaded: &Value, field: &str) -> Value {
    match uploaded.get(field) {
        Some(Value::Null) | None => json!(""),
        Some(value) => value.clone(),
    }
}

/// 5205 人员慢特病用药记录查询: the drugs of the person's 门诊慢特病 visits (med_type 14) at every
/// institution in the window, newest first, so a prescriber sees what was dispensed elsewhere.
pub async fn chronic_drugs(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let query: HistoryQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let window = query.window()?;
    let person = common::registered_person(ledger, "input.data.psn_no", &query.psn_no).await?;
    let chronic = MedType::ChronicSpecialOutpatient;
    let lines = lookups::person_fee_lines(ledger.conn(), &person.psn_no, chronic, window).await?;
    let institutions = institutions_by_code(ledger).await?;
    let feedetail = lines
        .iter()
        .filter(|line| is_drug(line))
        .map(|line| drug_row(ctx, &person, line, &institutions))
        .collect::<Result<Vec<Value>, TxError>>()?;
    rows_output("feedetail", feedetail)
}

/// 5303 在院信息查询: the person's open admissions at every institution (to find a stay not yet
/// discharged before admitting again), with `out_flag` 1 where the hospital is outside the
/// person's insured region.
pub async fn in_hospital_stays(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
) -> Result<TxOutput, TxError> {
    let query: HistoryQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let window = query.window()?;
    let person = common::registered_person(ledger, "input.data.psn_no", &query.psn_no).await?;
    let visits = lookups::person_visits(ledger.conn(), &person.psn_no, window).await?;
    let institutions = institutions_by_code(ledger).await?;
    let regions = ctx.shared.regions();
    let data: Vec<Value> = visits
        .iter()
        .filter(|v| in_hospital(v))
        .map(|visit| {
            let mut row = person_fields(&person, ctx.now.date());
            let institution = institutions.get(&visit.fixmedins_code);
            let insured_region = person
                .insu_row(visit.insutype.as_str())
                .map(|r| r.insuplc_admdvs);
            let treating_region = institution.and_then(|i| regions.region_of(i.admdvs.as_str()));
            let remote =
                insured_region.is_some_and(|r| regions.region_of(r.as_str()) != treating_region);
            row.insert("mdtrt_id".into(), json!(visit.mdtrt_id));
            row.insert("insutype".into(), json!(visit.insutype));
            row.insert("begndate".into(), json!(visit.begntime.date()));
            row.insert("med_type".into(), json!(visit.med_type));
            row.insert("ipt_otp_no".into(), json!(visit.ipt_otp_no));
            row.insert("out_flag".into(), json!(flag_text(remote)));
            row.insert("fixmedins_code".into(), json!(visit.fixmedins_code));
            row.insert(
                "fixmedins_name".into(),
                json!(institution.map_or("", |i| i.fixmedins_name.as_str())),
            );
            Value::Object(row)
        })
        .collect();
    rows_output("data", data)
}

#[derive(Deserialize, Default)]
struct InstitutionQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fixmedins_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fixmedins_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fixmedins_code: Option<String>,
}

/// 1201 医药机构信息获取: registered institutions by code, type and part of the name (input node
/// `medinsinfo`, or `data` as some clients send it), at most [`INSTITUTION_ROWS_MAX`].
pub async fn institutions(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let input = &ctx.request.input;
    let (raw, path) = match (input.get("medinsinfo"), input.get("data")) {
        (Some(raw), _) if !raw.is_null() => (raw, "input.medinsinfo"),
        (_, Some(raw)) if !raw.is_null() => (raw, "input.data"),
        _ => (&Value::Null, "input.medinsinfo"),
    };
    let query: InstitutionQuery = if raw.is_null() {
        InstitutionQuery::default()
    } else {
        parse(common::single(raw, path)?, path)?
    };
    let medinsinfo: Vec<Value> = registry::institutions(ledger.conn())
        .await?
        .into_iter()
        .filter(|i| {
            query
                .fixmedins_code
                .as_deref()
                .is_none_or(|c| i.fixmedins_code == c)
        })
        .filter(|i| {
            query
                .fixmedins_type
                .as_deref()
                .is_none_or(|t| i.fixmedins_type.as_str() == t)
        })
        .filter(|i| {
            query
                .fixmedins_name
                .as_deref()
                .is_none_or(|n| i.fixmedins_name.contains(n))
        })
        .take(INSTITUTION_ROWS_MAX)
        .map(|i| {
            json!({
                "fixmedins_code": i.fixmedins_code, "fixmedins_name": i.fixmedins_name, "uscc": "",
                "fixmedins_type": i.fixmedins_type, "hosp_lv": i.hosp_lv,
            })
        })
        .collect();
    rows_output("medinsinfo", medinsinfo)
}
