//! 3301 目录对照上传 / 3302 目录对照撤销: the institution maps its own item codes
//! (`fixmedins_hilist_id`, in fee lines `medins_list_codg`) to national codes, and fee uploads that
//! name only their own code are resolved through the mapping ([`resolve_codes`]); 1317
//! 医药机构目录匹配信息查询 lists them.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_ledger::mappings::{self, CatalogMapping, StoredMapping};
use yibao_ledger::LedgerView;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::{Ctx, TxOutput};
use crate::envelope::wire_time;
use crate::error::TxError;

/// Most mappings one 3301/3302 may carry.
const MAPPINGS_PER_REQUEST_MAX: usize = 5_000;

#[derive(Deserialize)]
struct MappingRow {
    #[serde(deserialize_with = "lenient::string")]
    fixmedins_hilist_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fixmedins_hilist_name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    list_type: String,
    #[serde(deserialize_with = "lenient::string")]
    med_list_codg: String,
    #[serde(deserialize_with = "lenient::date")]
    begndate: NaiveDate,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    enddate: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct RevokeRow {
    #[serde(deserialize_with = "lenient::string")]
    fixmedins_hilist_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_list_codg: Option<String>,
}

/// The rows of `input.data` (an object or an array), bounded.
fn rows(ctx: &Ctx<'_>) -> Result<Vec<(String, Value)>, TxError> {
    let data = node(&ctx.request.input, "data")?;
    let rows: Vec<(String, Value)> = match data {
        Value::Array(rows) => rows
            .iter()
            .enumerate()
            .map(|(i, row)| (format!("input.data[{i}]"), row.clone()))
            .collect(),
        row => vec![("input.data".to_string(), row.clone())],
    };
    if rows.is_empty() {
        return Err(TxError::new("input.data", "没有目录对照信息"));
    }
    if rows.len() > MAPPINGS_PER_REQUEST_MAX {
        return Err(TxError::new(
            "input.data",
            format!("超过 {MAPPINGS_PER_REQUEST_MAX} 条，请分批上传"),
        ));
    }
    Ok(rows)
}

/// 3301 目录对照上传: maps each `fixmedins_hilist_id` of the institution to a national code of the
/// catalogue (a code the catalogue does not hold is refused naming the row).
pub async fn upload(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let regions = ctx.shared.regions();
    let catalog = regions
        .catalog_for(ctx.institution.admdvs.as_str())
        .ok_or_else(|| TxError::new("fixmedins_code", "本统筹区尚未加载医保目录"))?;
    let mut mappings = Vec::new();
    for (path, raw) in rows(ctx)? {
        let row: MappingRow = parse(&raw, &path)?;
        if catalog.parsed.get(&row.med_list_codg).is_none() {
            return Err(TxError::new(
                format!("{path}.med_list_codg"),
                format!("{} 不在医保目录中", row.med_list_codg),
            ));
        }
        let enddate = row.enddate;
        if enddate.is_some_and(|end| end < row.begndate) {
            return Err(TxError::new(format!("{path}.enddate"), "早于开始日期"));
        }
        mappings.push(CatalogMapping {
            fixmedins_code: ctx.request.fixmedins_code.clone(),
            medins_list_codg: row.fixmedins_hilist_id,
            med_list_codg: row.med_list_codg,
            list_type: row.list_type,
            medins_list_name: row.fixmedins_hilist_name.unwrap_or_default(),
            begndate: row.begndate,
            enddate,
            content: raw.to_string(),
        });
    }
    mappings::upsert(ledger.conn(), &mappings, &wire_time(ctx.now)).await?;
    Ok(TxOutput::read(common::to_output(&json!({}))?))
}

/// 3302 目录对照撤销: revokes the mappings of the named codes; a code without a valid mapping is
/// refused naming the row (nothing is revoked then).
pub async fn revoke(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let mut codes = Vec::new();
    for (path, raw) in rows(ctx)? {
        let row: RevokeRow = parse(&raw, &path)?;
        codes.push((path, row));
    }
    let wanted: Vec<&str> = codes
        .iter()
        .map(|(_, r)| r.fixmedins_hilist_id.as_str())
        .collect();
    let valid =
        mappings::valid_mappings(ledger.conn(), &ctx.request.fixmedins_code, &wanted).await?;
    for (path, row) in &codes {
        let mapped = valid.get(&row.fixmedins_hilist_id).ok_or_else(|| {
            TxError::new(
                format!("{path}.fixmedins_hilist_id"),
                format!("{} 没有有效的目录对照", row.fixmedins_hilist_id),
            )
        })?;
        if let Some(code) = row
            .med_list_codg
            .as_deref()
            .filter(|c| *c != mapped.med_list_codg)
        {
            return Err(TxError::new(
                format!("{path}.med_list_codg"),
                format!(
                    "{} 对照的是 {}，不是 {code}",
                    row.fixmedins_hilist_id, mapped.med_list_codg
                ),
            ));
        }
    }
    let ids: Vec<String> = codes
        .into_iter()
        .map(|(_, r)| r.fixmedins_hilist_id)
        .collect();
    mappings::revoke(
        ledger.conn(),
        &ctx.request.fixmedins_code,
        &ids,
        &wire_time(ctx.now),
    )
    .await?;
    Ok(TxOutput::read(common::to_output(&json!({}))?))
}

#[derive(Deserialize)]
struct MappingQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    query_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    medins_list_codg: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    medins_list_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    list_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_list_codg: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begndate: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    vali_flag: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    updt_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    page_num: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    page_size: Option<String>,
}

/// A filter's value, if one was given.
fn wanted(filter: &Option<String>) -> Option<&str> {
    filter.as_deref().map(str::trim).filter(|f| !f.is_empty())
}

impl MappingQuery {
    /// Whether a mapping passes every filter given (dates compare as text: `begndate` and
    /// `updt_time` from that day on, `query_date` a day the mapping holds on).
    fn admits(&self, stored: &StoredMapping) -> bool {
        let m = &stored.mapping;
        let equals =
            |filter: &Option<String>, value: &str| wanted(filter).is_none_or(|f| f == value);
        let begndate = m.begndate.to_string();
        equals(&self.medins_list_codg, &m.medins_list_codg)
            && equals(&self.list_type, &m.list_type)
            && equals(&self.med_list_codg, &m.med_list_codg)
            && equals(&self.vali_flag, if stored.valid { "1" } else { "0" })
            && wanted(&self.medins_list_name).is_none_or(|n| m.medins_list_name.contains(n))
            && wanted(&self.begndate).is_none_or(|d| begndate.as_str() >= d)
            && wanted(&self.updt_time).is_none_or(|t| stored.updated_at.as_str() >= t)
            && wanted(&self.query_date).is_none_or(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok_and(|day| m.holds_on(day))
            })
    }
}

/// 1317 医药机构目录匹配信息查询: the institution's own mappings (3301/3302), revoked ones with
/// `vali_flag` 0, by filters, one page at a time.
pub async fn query(ctx: &Ctx<'_>, ledger: &mut LedgerView<'_>) -> Result<TxOutput, TxError> {
    let query: MappingQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    if let Some(day) = query.query_date.as_deref().filter(|d| !d.trim().is_empty()) {
        NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| {
            TxError::new(
                "input.data.query_date",
                format!("`{day}` 不是日期（yyyy-MM-dd）"),
            )
        })?;
    }
    let page = super::catalog::Page::read(query.page_num.as_deref(), query.page_size.as_deref())?;
    let stored = mappings::institution_mappings(ledger.conn(), &ctx.request.fixmedins_code).await?;
    let matching: Vec<&StoredMapping> = stored.iter().filter(|m| query.admits(m)).collect();
    let region = ctx
        .shared
        .regions()
        .region_of(ctx.institution.admdvs.as_str())
        .unwrap_or(ctx.institution.admdvs.as_str())
        .to_string();
    let output = page.answer(&matching, |stored| mapping_row(stored, &region));
    Ok(TxOutput::read(common::to_output(&output)?))
}

/// One 1317 row: the mapping, the uploaded row's descriptive fields where it had them, "" for what
/// yibao does not hold.
fn mapping_row(stored: &StoredMapping, region: &str) -> Value {
    let m = &stored.mapping;
    let uploaded: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
    let described = |field: &str| {
        uploaded
            .get(field)
            .map(|v| crate::envelope::scalar_text(Some(v)))
            .unwrap_or_default()
    };
    let mut row = serde_json::Map::new();
    let mut put = |name: &str, value: String| {
        row.insert(name.to_string(), Value::String(value));
    };
    put("fixmedins_code", m.fixmedins_code.clone());
    put("medins_list_codg", m.medins_list_codg.clone());
    put("medins_list_name", m.medins_list_name.clone());
    put("insu_admdvs", region.to_string());
    put("list_type", m.list_type.clone());
    put("med_list_codg", m.med_list_codg.clone());
    put("begndate", m.begndate.to_string());
    put(
        "enddate",
        m.enddate.map(|d| d.to_string()).unwrap_or_default(),
    );
    for field in [
        "aprvno",
        "dosform",
        "exct_cont",
        "item_cont",
        "prcunt",
        "spec",
        "pacspec",
        "memo",
    ] {
        put(field, described(field));
    }
    put("vali_flag", if stored.valid { "1" } else { "0" }.into());
    put("rid", format!("{}{}", m.fixmedins_code, m.medins_list_codg));
    put("updt_time", stored.updated_at.clone());
    for blank in [
        "crter_id",
        "crter_name",
        "crte_time",
        "crte_optins_no",
        "opter_id",
        "opter_name",
        "opt_time",
        "optins_no",
    ] {
        put(blank, String::new());
    }
    put("poolarea_no", region.to_string());
    Value::Object(row)
}

/// The uploaded lines (`input.<node>[i]`) that name only the institution's own code
/// (`medins_list_codg`, with `med_list_codg` empty or absent), each copied with the national code of
/// its valid mapping, by index; every other line is left as sent (and not copied). One query per
/// upload. A line with neither a national code nor a mapped own code is refused naming the line.
pub async fn resolve_codes(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    node: &str,
    rows: &[&Value],
) -> Result<HashMap<usize, Value>, TxError> {
    let own_code = |row: &Value| -> Option<String> {
        let unmapped = row
            .get("med_list_codg")
            .is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()));
        row.get("medins_list_codg")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| unmapped && !c.is_empty())
            .map(str::to_string)
    };
    let wanted: Vec<(usize, String)> = rows
        .iter()
        .enumerate()
        .filter_map(|(index, row)| Some((index, own_code(row)?)))
        .collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let codes: BTreeSet<&str> = wanted.iter().map(|(_, code)| code.as_str()).collect();
    let codes: Vec<&str> = codes.into_iter().collect();
    let valid =
        mappings::valid_mappings(ledger.conn(), &ctx.request.fixmedins_code, &codes).await?;
    let mut resolved = HashMap::with_capacity(wanted.len());
    for (index, code) in wanted {
        let row = rows[index];
        let day = row
            .get("fee_ocur_time")
            .and_then(Value::as_str)
            .and_then(lenient::parse_datetime)
            .map_or(ctx.now.date(), |t| t.date());
        let mapping = valid
            .get(&code)
            .filter(|m| m.holds_on(day))
            .ok_or_else(|| {
                TxError::new(
                    format!("input.{node}[{index}].med_list_codg"),
                    format!("为空，且本机构目录编号 {code} 在 {day} 没有有效的目录对照（3301）"),
                )
            })?;
        let mut copy = row.clone();
        if let Value::Object(map) = &mut copy {
            map.insert("med_list_codg".into(), json!(mapping.med_list_codg));
        }
        resolved.insert(index, copy);
    }
    Ok(resolved)
}
