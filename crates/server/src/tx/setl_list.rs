//! 4101/4101A 医疗保障基金结算清单信息上传 and 4103 查询: the settlement list of an inpatient
//! settlement (diagnoses, procedures, newborn weights, discharge way, …), checked field by field
//! against the settlement it belongs to, stored as sent, and readable by the DRG grouper.

use chrono::NaiveDateTime;
use serde_json::{json, Value};
use yibao_ledger::setl_lists::{self, SettlementList};
use yibao_ledger::{EntryKind, LedgerView};
use yibao_wire::lenient;

use super::common::{self, node};
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

/// Most diagnosis or procedure rows a list may carry.
const ROWS_MAX: usize = 100;
/// A newborn's weight in grams that can be real.
const NEWBORN_WEIGHT_G: std::ops::RangeInclusive<i64> = 100..=10_000;

/// A text field of a node; `None` when absent, null or blank.
fn text<'v>(node: &'v Value, field: &str) -> Option<&'v str> {
    node.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A scalar field (number or text) as text.
fn scalar(node: &Value, field: &str) -> Option<String> {
    match node.get(field)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

fn required<'v>(node: &'v Value, path: &str, field: &str) -> Result<&'v str, TxError> {
    text(node, field).ok_or_else(|| TxError::new(format!("{path}.{field}"), "必填"))
}

fn time(node: &Value, path: &str, field: &str) -> Result<Option<NaiveDateTime>, TxError> {
    match text(node, field) {
        None => Ok(None),
        Some(value) => lenient::parse_datetime(value).map(Some).ok_or_else(|| {
            TxError::new(
                format!("{path}.{field}"),
                format!("`{value}` 不是时间 yyyy-MM-dd HH:mm:ss"),
            )
        }),
    }
}

/// Whether a code has the shape of an ICD-10 diagnosis (a letter, two digits, then `.`, digits,
/// letters: `K80.100`, `I10.x00`).
fn is_diagnosis_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() >= 3
        && bytes.len() <= 20
        && bytes[0].is_ascii_alphabetic()
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit()
        && bytes[3..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'/'))
}

/// Whether a code has the shape of an ICD-9-CM-3 procedure (two digits, then `.`, digits, letters:
/// `51.2300`, `47.0900x001`).
fn is_procedure_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() >= 2
        && bytes.len() <= 20
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && bytes[2..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.')
}

/// The rows of an optional array node, bounded.
fn rows<'v>(input: &'v Value, name: &str) -> Result<Vec<&'v Value>, TxError> {
    let rows: Vec<&Value> = match input.get(name) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(rows)) => rows.iter().collect(),
        Some(row @ Value::Object(_)) => vec![row],
        Some(_) => return Err(TxError::new(format!("input.{name}"), "须为数组")),
    };
    if rows.len() > ROWS_MAX {
        return Err(TxError::new(
            format!("input.{name}"),
            format!("超过 {ROWS_MAX} 条"),
        ));
    }
    Ok(rows)
}

/// Checks the diagnoses: each with a code of ICD-10 shape and a known `diag_type`; exactly one
/// western main diagnosis (`maindiag_flag` 1).
fn check_diagnoses(input: &Value) -> Result<(), TxError> {
    let diagnoses = rows(input, "diseinfo")?;
    if diagnoses.is_empty() {
        return Err(TxError::new("input.diseinfo", "至少须有一条诊断"));
    }
    let mut main = 0;
    for (i, row) in diagnoses.iter().enumerate() {
        let path = format!("input.diseinfo[{i}]");
        let code = required(row, &path, "diag_code")?;
        let diag_type = scalar(row, "diag_type").unwrap_or_else(|| "1".into());
        if !matches!(diag_type.as_str(), "1" | "2" | "3") {
            return Err(TxError::new(
                format!("{path}.diag_type"),
                format!("`{diag_type}` 不是 1 西医、2 中医主病或 3 中医主证"),
            ));
        }
        if diag_type == "1" && !is_diagnosis_code(code) {
            return Err(TxError::new(
                format!("{path}.diag_code"),
                format!("`{code}` 不是 ICD-10 诊断编码"),
            ));
        }
        if diag_type == "1" && scalar(row, "maindiag_flag").as_deref() == Some("1") {
            main += 1;
        }
    }
    if main != 1 {
        return Err(TxError::new(
            "input.diseinfo",
            format!("西医主要诊断（maindiag_flag 1）须有且只有一条，现有 {main} 条"),
        ));
    }
    Ok(())
}

/// Checks the procedures: each with a code of ICD-9-CM-3 shape; at most one main procedure; times
/// within the stay.
fn check_procedures(
    input: &Value,
    admitted: NaiveDateTime,
    discharged: NaiveDateTime,
) -> Result<(), TxError> {
    let mut main = 0;
    for (i, row) in rows(input, "oprninfo")?.iter().enumerate() {
        let path = format!("input.oprninfo[{i}]");
        let code = required(row, &path, "oprn_oprt_code")?;
        if !is_procedure_code(code) {
            return Err(TxError::new(
                format!("{path}.oprn_oprt_code"),
                format!("`{code}` 不是 ICD-9-CM-3 手术操作编码"),
            ));
        }
        let flag = scalar(row, "main_oprn_flag").or_else(|| scalar(row, "oprn_oprt_type"));
        if flag.as_deref() == Some("1") {
            main += 1;
        }
        for field in ["oprn_oprt_begntime", "oprn_oprt_endtime"] {
            if let Some(at) = time(row, &path, field)? {
                if at < admitted || at > discharged {
                    return Err(TxError::new(
                        format!("{path}.{field}"),
                        format!(
                            "{} 不在住院期间 {} 至 {}",
                            wire_time(at),
                            wire_time(admitted),
                            wire_time(discharged)
                        ),
                    ));
                }
            }
        }
    }
    if main > 1 {
        return Err(TxError::new(
            "input.oprninfo",
            format!("主手术（main_oprn_flag 1）至多一条，现有 {main} 条"),
        ));
    }
    Ok(())
}

/// Checks the list's own fields: discharge way, newborn weights.
fn check_setlinfo(info: &Value) -> Result<(), TxError> {
    let path = "input.setlinfo";
    let way = required(info, path, "dscg_way")?;
    if !matches!(way, "1" | "2" | "3" | "4" | "5" | "9") {
        return Err(TxError::new(
            format!("{path}.dscg_way"),
            format!("`{way}` 不是离院方式 1–5 或 9"),
        ));
    }
    for field in ["nwb_bir_wt", "nwb_adm_wt", "nwbbirwt", "nwbadmwt"] {
        if let Some(weight) = scalar(info, field) {
            let grams = weight
                .split('.')
                .next()
                .and_then(|g| g.parse::<i64>().ok())
                .filter(|g| NEWBORN_WEIGHT_G.contains(g));
            if grams.is_none() {
                return Err(TxError::new(
                    format!("{path}.{field}"),
                    format!("`{weight}` 不是 100 至 10000 克之间的新生儿体重"),
                ));
            }
        }
    }
    Ok(())
}

/// 4101 / 4101A: checks the list against its settlement (a live settlement of this institution, of
/// the person and visit named) and stores it; `data.setl_list_id` names the stored version.
pub async fn upload(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let input = &ctx.request.input;
    let info = node(input, "setlinfo")?;
    let info = common::single(info, "input.setlinfo")?;
    let path = "input.setlinfo";
    let setl_id = required(info, path, "setl_id")?;
    let record = ledger
        .settlement(setl_id)
        .await?
        .filter(|r| r.header.fixmedins_code == ctx.request.fixmedins_code)
        .filter(|r| r.header.kind == EntryKind::Settle)
        .ok_or_else(|| {
            TxError::new(
                format!("{path}.setl_id"),
                format!("本机构没有结算 {setl_id}"),
            )
        })?;
    let record = super::settle::live_form(ledger, record)
        .await?
        .map_err(|_| TxError::new(format!("{path}.setl_id"), format!("结算 {setl_id} 已撤销")))?;
    for (field, expected) in [
        ("psn_no", record.header.psn_no.as_str()),
        ("mdtrt_id", record.header.mdtrt_id.as_str()),
    ] {
        if let Some(sent) = text(info, field).filter(|sent| *sent != expected) {
            return Err(TxError::new(
                format!("{path}.{field}"),
                format!("{sent} 与结算 {setl_id} 的 {expected} 不一致"),
            ));
        }
    }
    let visit = common::owned_visit(
        ctx,
        ledger,
        "input.setlinfo.mdtrt_id",
        &record.header.mdtrt_id,
    )
    .await?;
    let admitted = time(info, path, "adm_time")?.unwrap_or(visit.begntime);
    let discharged = time(info, path, "dscg_time")?
        .or(visit.endtime)
        .ok_or_else(|| TxError::new(format!("{path}.dscg_time"), "必填（出院时间）"))?;
    if discharged < admitted {
        return Err(TxError::new(
            format!("{path}.dscg_time"),
            format!(
                "{} 早于入院时间 {}",
                wire_time(discharged),
                wire_time(admitted)
            ),
        ));
    }
    check_setlinfo(info)?;
    check_diagnoses(input)?;
    check_procedures(input, admitted, discharged)?;
    let list = SettlementList {
        setl_id: setl_id.to_string(),
        setl_list_id: String::new(),
        fixmedins_code: ctx.request.fixmedins_code.clone(),
        mdtrt_id: record.header.mdtrt_id.clone(),
        psn_no: record.header.psn_no.clone(),
        dscg_time: wire_time(discharged),
        version: 0,
        content: input.to_string(),
    };
    let stored = setl_lists::store(ledger.conn(), &list, &wire_time(ctx.now)).await?;
    Ok(TxOutput::read(common::to_output(
        &json!({ "data": { "setl_list_id": stored.setl_list_id } }),
    )?))
}

/// 4103: the stored list of a settlement of this institution, as uploaded, with its id.
pub async fn query(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let data = node(&ctx.request.input, "data")?;
    let setl_id = required(data, "input.data", "setl_id")?;
    let stored = setl_lists::list(ledger.conn(), setl_id)
        .await?
        .filter(|l| l.fixmedins_code == ctx.request.fixmedins_code)
        .ok_or_else(|| {
            TxError::new(
                "input.data.setl_id",
                format!("结算 {setl_id} 没有上传的结算清单"),
            )
        })?;
    let mut output: Value = serde_json::from_str(&stored.content).map_err(|_| {
        TxError::storage(&yibao_ledger::LedgerError::Corrupt {
            table: "settlement_lists",
            column: "content",
            detail: format!("setl_id {setl_id}: not JSON"),
        })
    })?;
    if let Some(info) = output.get_mut("setlinfo").and_then(Value::as_object_mut) {
        info.insert("setl_list_id".into(), json!(stored.setl_list_id));
    }
    Ok(TxOutput::read(common::to_output(&output)?))
}
