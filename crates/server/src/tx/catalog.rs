//! Catalogue and dictionary exchange: 1301–1306 目录下载 by version (a ZIP of TAB-separated TXT,
//! downloaded with 9102), the paged queries 1312 医保目录信息查询, 1318 限价 and 1319 先自付比例, and
//! 1901 字典表查询. Answers come from the
//! catalogue versions of the institution's pooling region (`catalog_versions`): a row's version is
//! the import in which it last changed, so "changes since version v" are the rows whose version is
//! greater than v; an item a later import left out is answered with `vali_flag` 0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use yibao_catalog::{Catalog, CatalogItem};
use yibao_domain::codes;
use yibao_ledger::registry::{self, CatalogVersion};
use yibao_ledger::LedgerView;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::files;
use super::{Ctx, TxOutput};
use crate::error::TxError;

/// What a cell of a download row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// 医疗目录编码.
    Code,
    /// The item's name.
    Name,
    /// 有效标志: 1, or 0 for an item a later version left out.
    ValiFlag,
    /// 唯一记录号: region, version and code.
    Rid,
    /// 开始日期: the `begndate` of the version the row last changed in.
    Begndate,
    /// 数据创建时间: when the item was first imported.
    CrteTime,
    /// 数据更新时间: when the version the row last changed in was imported.
    UpdtTime,
    /// 版本号: the version the row last changed in.
    Ver,
    /// 版本名称.
    VerName,
    /// A column yibao does not hold: `null`, as the national TXT files write an empty value.
    Blank,
}

/// One catalogue download: its `infno`, the catalogue's `list_type` and the file's columns.
pub struct Download {
    pub infno: &'static str,
    pub list_type: &'static str,
    pub columns: &'static [(&'static str, Cell)],
}

use Cell::{Begndate, Blank, Code, CrteTime, Name, Rid, UpdtTime, ValiFlag, Ver, VerName};

/// The record columns the national files end with, in yibao's short layouts.
const SHORT_LAYOUT: &[(&str, Cell)] = &[
    ("医疗目录编码", Code),
    ("名称", Name),
    ("开始日期", Begndate),
    ("结束日期", Blank),
    ("有效标志", ValiFlag),
    ("唯一记录号", Rid),
    ("数据创建时间", CrteTime),
    ("数据更新时间", UpdtTime),
    ("版本号", Ver),
    ("版本名称", VerName),
];

/// The downloads yibao answers, with their layouts (docs/interface.md §1301–1306).
pub static DOWNLOADS: &[Download] = &[
    Download {
        infno: "1301",
        list_type: "101",
        columns: &[
            ("医疗目录编码", Code),
            ("药品商品名", Name),
            ("通用名编号", Blank),
            ("药品通用名", Name),
            ("化学名称", Blank),
            ("别名", Blank),
            ("英文名称", Blank),
            ("注册名称", Blank),
            ("药监本位码", Blank),
            ("药品剂型", Blank),
            ("药品剂型名称", Blank),
            ("药品类别", Blank),
            ("药品类别名称", Blank),
            ("有效标志", ValiFlag),
            ("唯一记录号", Rid),
            ("数据创建时间", CrteTime),
            ("数据更新时间", UpdtTime),
            ("版本号", Ver),
            ("版本名称", VerName),
        ],
    },
    Download {
        infno: "1302",
        list_type: "102",
        columns: SHORT_LAYOUT,
    },
    Download {
        infno: "1303",
        list_type: "103",
        columns: SHORT_LAYOUT,
    },
    Download {
        infno: "1305",
        list_type: "201",
        columns: &[
            ("医疗目录编码", Code),
            ("计价单位", Blank),
            ("计价单位名称", Blank),
            ("诊疗项目说明", Blank),
            ("诊疗除外内容", Blank),
            ("诊疗项目内涵", Blank),
            ("有效标志", ValiFlag),
            ("备注", Blank),
            ("服务项目类别", Blank),
            ("医疗服务项目名称", Name),
            ("项目说明", Blank),
            ("开始日期", Begndate),
            ("结束日期", Blank),
            ("唯一记录号", Rid),
            ("版本号", Ver),
            ("版本名称", VerName),
        ],
    },
    Download {
        infno: "1306",
        list_type: "301",
        columns: SHORT_LAYOUT,
    },
];

/// An item as the latest version holds it (or last held it), and when it last changed.
struct ItemState {
    item: CatalogItem,
    valid: bool,
    ver: i64,
    begndate: String,
    updt_time: String,
    crte_time: String,
}

/// A region's catalogue history: every item ever imported, by code.
struct History {
    region: String,
    latest_ver: i64,
    items: BTreeMap<String, ItemState>,
}

impl History {
    /// Walks the versions in order, recording for each item the version it last changed in.
    fn of(region: &str, versions: &[CatalogVersion]) -> Result<History, TxError> {
        let mut items: BTreeMap<String, ItemState> = BTreeMap::new();
        for version in versions {
            let catalog = Catalog::from_reader(version.source.as_bytes(), b',').map_err(|e| {
                TxError::internal(format!("医保端目录版本 {} 无法读取（{e}）", version.ver))
            })?;
            let changed = |state: &mut ItemState| {
                state.ver = version.ver;
                state.begndate = version.begndate.clone();
                state.updt_time = version.loaded_at.clone();
            };
            for item in catalog.items_sorted() {
                match items.get_mut(&item.code) {
                    Some(state) if state.valid && state.item == *item => {}
                    Some(state) => {
                        state.item = item.clone();
                        state.valid = true;
                        changed(state);
                    }
                    None => {
                        items.insert(
                            item.code.clone(),
                            ItemState {
                                item: item.clone(),
                                valid: true,
                                ver: version.ver,
                                begndate: version.begndate.clone(),
                                updt_time: version.loaded_at.clone(),
                                crte_time: version.loaded_at.clone(),
                            },
                        );
                    }
                }
            }
            for state in items.values_mut() {
                if state.valid && catalog.get(&state.item.code).is_none() {
                    state.valid = false;
                    changed(state);
                }
            }
        }
        Ok(History {
            region: region.to_string(),
            latest_ver: versions.last().map_or(0, |v| v.ver),
            items,
        })
    }

    /// The history of the catalogue of `admdvs`'s pooling region (the institution's when empty).
    async fn load(
        ctx: &Ctx<'_>,
        ledger: &mut LedgerView<'_>,
        field: &str,
        admdvs: Option<&str>,
    ) -> Result<History, TxError> {
        let admdvs = admdvs.unwrap_or(&ctx.institution.admdvs);
        let regions = ctx.shared.regions();
        let region = regions.region_of(admdvs).unwrap_or(admdvs).to_string();
        let versions = registry::catalog_versions(ledger.conn(), &region).await?;
        if versions.is_empty() {
            return Err(TxError::new(field, format!("医保区划 {region} 未加载目录")));
        }
        History::of(&region, &versions)
    }

    fn cell(&self, state: &ItemState, cell: Cell) -> String {
        match cell {
            Code => state.item.code.clone(),
            Name => state.item.name.clone(),
            ValiFlag => flag(state.valid).into(),
            Rid => format!("{}{:06}{}", self.region, state.ver, state.item.code),
            Begndate => state.begndate.clone(),
            CrteTime => state.crte_time.clone(),
            UpdtTime => state.updt_time.clone(),
            Ver => state.ver.to_string(),
            VerName => format!("V{}", state.ver),
            Blank => "null".into(),
        }
    }
}

fn flag(on: bool) -> &'static str {
    if on {
        "1"
    } else {
        "0"
    }
}

#[derive(Deserialize)]
struct VersionIn {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    ver: Option<String>,
}

/// The version number in a client's `ver` (`3`, `V3`, `v0000`: letters before the digits ignored).
fn version_of(text: &str) -> Result<i64, TxError> {
    const FIELD: &str = "input.data.ver";
    let digits = text
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(TxError::new(
            FIELD,
            format!("`{text}` 不是版本号（首次下载传 0）"),
        ));
    }
    digits
        .parse()
        .map_err(|_| TxError::new(FIELD, format!("`{text}` 不是本平台发布的版本号")))
}

/// 1301–1306: the rows of one list type changed since the client's version, as a ZIP of TXT.
pub async fn download(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    download: &Download,
) -> Result<TxOutput, TxError> {
    let input: VersionIn = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let ver_text = input
        .ver
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| TxError::new("input.data.ver", "不能为空（首次下载传 0）"))?;
    let since = version_of(&ver_text)?;
    let history = History::load(ctx, ledger, "fixmedins_code", None).await?;
    if since > history.latest_ver {
        return Err(TxError::new(
            "input.data.ver",
            format!(
                "本平台最新目录版本为 {}，{ver_text} 不是本平台发布的版本；传 0 重新全量下载",
                history.latest_ver
            ),
        ));
    }
    let lines: Vec<String> = history
        .items
        .values()
        .filter(|s| s.ver > since && s.item.list_type.as_str() == download.list_type)
        .map(|state| {
            download
                .columns
                .iter()
                .map(|(_, cell)| history.cell(state, *cell).replace(['\t', '\n'], " "))
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect();
    let stem = format!(
        "{}_{}_{}_{}",
        download.infno, history.region, since, history.latest_ver
    );
    let bytes = files::zip_txt(&format!("{stem}.txt"), &lines)?;
    let info = files::issue(ctx, ledger, format!("{stem}.zip"), bytes).await?;
    #[derive(Serialize)]
    struct Output {
        file_qury_no: String,
        filename: String,
        dld_end_time: String,
        data_cnt: usize,
    }
    Ok(TxOutput::read(common::to_output(&Output {
        file_qury_no: info.file_qury_no,
        filename: info.filename,
        dld_end_time: info.dld_endtime[..10].to_string(),
        data_cnt: lines.len(),
    })?))
}

#[derive(Deserialize)]
struct CatalogQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    query_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    hilist_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    insu_admdvs: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begndate: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    hilist_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_chrgitm_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    chrgitm_lv: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    lmt_used_flag: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    list_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    vali_flag: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    updt_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    page_num: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    page_size: Option<String>,
}

/// Most rows on one page of 1312.
pub const MAX_PAGE_SIZE: usize = 1000;

impl CatalogQuery {
    /// Whether a row passes every filter given (dates compare as text: `updt_time` and
    /// `begndate` from that day on, `query_date` effective on that day).
    fn admits(&self, state: &ItemState) -> bool {
        let item = &state.item;
        let equals = |wanted: &Option<String>, value: &str| {
            wanted.as_deref().is_none_or(|w| w.trim() == value)
        };
        equals(&self.hilist_code, &item.code)
            && equals(
                &self.med_chrgitm_type,
                item.med_chrgitm_type.code().as_str(),
            )
            && equals(&self.chrgitm_lv, item.chrgitm_lv.code().as_str())
            && equals(&self.lmt_used_flag, flag(item.restricted_use))
            && equals(&self.list_type, item.list_type.as_str())
            && equals(&self.vali_flag, flag(state.valid))
            && self
                .hilist_name
                .as_deref()
                .is_none_or(|n| item.name.contains(n.trim()))
            && self
                .updt_time
                .as_deref()
                .is_none_or(|t| state.updt_time.as_str() >= t.trim())
            && self
                .begndate
                .as_deref()
                .is_none_or(|d| state.begndate.as_str() >= d.trim())
            && self
                .query_date
                .as_deref()
                .is_none_or(|d| state.begndate.as_str() <= d.trim())
    }
}

/// A whole number of 1312's paging, at least 1 and at most `max`.
fn page_number(field: &str, text: Option<&str>, max: usize) -> Result<usize, TxError> {
    let text = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TxError::new(field, "不能为空"))?;
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| TxError::new(field, format!("`{text}` 应为 1 到 {max} 的整数")))
}

/// Which catalogue query: the rows it lists and how each is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogQueryKind {
    /// 1312 医保目录信息查询: every item.
    Items,
    /// 1318 医保目录限价信息查询: the items with a price cap.
    PriceCaps,
    /// 1319 医保目录先自付比例信息查询: the items with a 先行自付 ratio above 0.
    SelfpayRatios,
}

/// 1312, 1318, 1319: catalogue rows by filters, one page at a time (`data[]` with the page's
/// counts).
pub async fn query(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    kind: CatalogQueryKind,
) -> Result<TxOutput, TxError> {
    let query: CatalogQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let page_num = page_number("input.data.page_num", query.page_num.as_deref(), usize::MAX)?;
    let page_size = page_number(
        "input.data.page_size",
        query.page_size.as_deref(),
        MAX_PAGE_SIZE,
    )?;
    let admdvs = query
        .insu_admdvs
        .as_deref()
        .filter(|a| !a.trim().is_empty());
    let history = History::load(ctx, ledger, "input.data.insu_admdvs", admdvs).await?;
    let listed = |state: &ItemState| match kind {
        CatalogQueryKind::Items => true,
        CatalogQueryKind::PriceCaps => state.item.price_cap_micro_yuan.is_some(),
        CatalogQueryKind::SelfpayRatios => state.item.selfpay_prop.bp() > 0,
    };
    let matching: Vec<&ItemState> = history
        .items
        .values()
        .filter(|s| listed(s) && query.admits(s))
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(page_size);
    let start = (page_num - 1).saturating_mul(page_size).min(total);
    let rows: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|state| match kind {
            CatalogQueryKind::Items => list_row(&history, state),
            CatalogQueryKind::PriceCaps => price_cap_row(&history, state),
            CatalogQueryKind::SelfpayRatios => selfpay_row(&history, state),
        })
        .collect();
    let size = rows.len();
    let output = serde_json::json!({
        "data": rows,
        "recordCounts": total,
        "pages": pages,
        "pageNum": page_num,
        "pageSize": page_size,
        "size": size,
        "startRow": if size == 0 { 0 } else { start + 1 },
        "endRow": start + size,
        "firstPage": 1,
        "lastPage": pages.max(1),
        "isFirstPage": page_num == 1,
        "isLastPage": page_num >= pages,
        "hasPreviousPage": page_num > 1,
        "hasNextPage": page_num < pages,
    });
    Ok(TxOutput::read(common::to_output(&output)?))
}

/// The columns every catalogue query row ends with: validity, record id, times, region; those
/// yibao does not hold as "".
fn record_columns(history: &History, state: &ItemState, row: &mut Map<String, Value>) {
    let mut put = |name: &str, value: String| {
        row.insert(name.to_string(), Value::String(value));
    };
    put("insu_admdvs", history.region.clone());
    put("begndate", state.begndate.clone());
    put("enddate", String::new());
    put("vali_flag", flag(state.valid).into());
    put("rid", history.cell(state, Rid));
    put("updt_time", state.updt_time.clone());
    put("crte_time", state.crte_time.clone());
    for blank in [
        "crter_id",
        "crter_name",
        "crte_optins_no",
        "opter_id",
        "opter_name",
        "opt_time",
        "optins_no",
    ] {
        put(blank, String::new());
    }
    put("poolarea_no", history.region.clone());
    put("ver", state.ver.to_string());
}

/// A 1318 row: the price cap in yuan (`16,6`); the cap type and how an excess is handled are not held.
fn price_cap_row(history: &History, state: &ItemState) -> Value {
    let cap = state.item.price_cap_micro_yuan.unwrap_or_default();
    let scale = 10_i64.pow(yibao_catalog::PRICE_SCALE_DIGITS);
    let mut row = Map::new();
    row.insert("hilist_code".into(), Value::from(state.item.code.clone()));
    row.insert("hilist_lmtpric_type".into(), Value::from(""));
    row.insert("overlmt_dspo_way".into(), Value::from(""));
    row.insert(
        "hilist_pric_uplmt_amt".into(),
        Value::from(format!("{}.{:06}", cap / scale, (cap % scale).abs())),
    );
    record_columns(history, state, &mut row);
    Value::Object(row)
}

/// A 1319 row: the 先行自付 ratio (`5,4`); the person and ratio types are not held.
fn selfpay_row(history: &History, state: &ItemState) -> Value {
    let bp = state.item.selfpay_prop.bp();
    let one = yibao_domain::BP_PER_ONE;
    let mut row = Map::new();
    row.insert("hilist_code".into(), Value::from(state.item.code.clone()));
    row.insert("selfpay_prop_psn_type".into(), Value::from(""));
    row.insert("selfpay_prop_type".into(), Value::from(""));
    row.insert(
        "selfpay_prop".into(),
        Value::from(format!("{}.{:04}", bp / one, bp % one)),
    );
    record_columns(history, state, &mut row);
    Value::Object(row)
}

/// One 1312 row: the national columns, those yibao does not hold as "".
fn list_row(history: &History, state: &ItemState) -> Value {
    let item = &state.item;
    let mut row = Map::new();
    let mut put = |name: &str, value: String| {
        row.insert(name.to_string(), Value::String(value));
    };
    put("hilist_code", item.code.clone());
    put("hilist_name", item.name.clone());
    put("med_chrgitm_type", item.med_chrgitm_type.code().to_string());
    put("chrgitm_lv", item.chrgitm_lv.code().to_string());
    put("lmt_used_flag", flag(item.restricted_use).into());
    put("list_type", item.list_type.to_string());
    for blank in [
        "med_use_flag",
        "matn_used_flag",
        "hilist_use_type",
        "lmt_cpnd_type",
        "wubi",
        "pinyin",
        "memo",
    ] {
        put(blank, String::new());
    }
    record_columns(history, state, &mut row);
    Value::Object(row)
}

#[derive(Deserialize)]
struct DictionaryQuery {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    dict_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    parent_value: Option<String>,
    #[serde(default, alias = "Vali_Flag", deserialize_with = "lenient::opt_string")]
    vali_flag: Option<String>,
}

/// yibao's dictionaries are not versioned: every row is of version 1.
const DICTIONARY_VERSION: i64 = 1;

/// 1901: the values of one national code table yibao knows (`yibao_domain::codes::DICTIONARY`).
pub async fn dictionary(ctx: &Ctx<'_>) -> Result<TxOutput, TxError> {
    let query: DictionaryQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let dict_type = query
        .dict_type
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| TxError::new("input.data.type", "不能为空"))?;
    let values = codes::dictionary(&dict_type).ok_or_else(|| {
        let known: Vec<&str> = codes::DICTIONARY.iter().map(|(name, _)| *name).collect();
        TxError::new(
            "input.data.type",
            format!(
                "字典类型 {dict_type} 本平台未维护；可查询：{}",
                known.join("、")
            ),
        )
    })?;
    // The tables are flat (no parent values), and every value is valid.
    let flat = query
        .parent_value
        .as_deref()
        .is_none_or(|p| p.trim().is_empty());
    let wants_valid = query.vali_flag.as_deref().is_none_or(|f| f.trim() != "0");
    let list: Vec<Value> = values
        .iter()
        .enumerate()
        .filter(|_| flat && wants_valid)
        .map(|(index, (value, label))| {
            serde_json::json!({
                "type": dict_type.trim().to_ascii_lowercase(),
                "label": label,
                "value": value,
                "parentValue": "",
                "sort": index + 1,
                "valiFlag": "1",
                "createUser": "",
                "createDate": "",
                "version": DICTIONARY_VERSION,
            })
        })
        .collect();
    Ok(TxOutput::read(common::to_output(
        &serde_json::json!({ "list": list }),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(ver: i64, source: &str) -> CatalogVersion {
        CatalogVersion {
            ver,
            begndate: format!("2026-0{ver}-01"),
            loaded_at: format!("2026-0{ver}-01 08:00:00"),
            source: format!("med_list_codg,med_list_name,list_type,chrgitm_lv\n{source}"),
        }
    }

    #[test]
    fn a_row_carries_the_version_it_last_changed_in() {
        let versions = [
            version(1, "A,甲药,101,01\nB,乙药,101,02\nC,丙药,101,03\n"),
            version(2, "A,甲药,101,01\nB,乙药,101,01\n"),
            version(3, "A,甲药,101,01\nB,乙药,101,01\nC,丙药,101,03\n"),
        ];
        let history = History::of("360400", &versions).unwrap();
        let ver = |code: &str| {
            let state = &history.items[code];
            (state.ver, state.valid, state.crte_time.as_str())
        };
        assert_eq!(ver("A"), (1, true, "2026-01-01 08:00:00"));
        assert_eq!(ver("B"), (2, true, "2026-01-01 08:00:00"));
        assert_eq!(ver("C"), (3, true, "2026-01-01 08:00:00"));
        let up_to_two = History::of("360400", &versions[..2]).unwrap();
        assert_eq!(
            (up_to_two.items["C"].ver, up_to_two.items["C"].valid),
            (2, false)
        );
        assert_eq!(history.latest_ver, 3);
    }

    #[test]
    fn versions_are_read_with_or_without_a_letter() {
        assert_eq!(version_of("v0000").unwrap(), 0);
        assert_eq!(version_of("V12").unwrap(), 12);
        assert_eq!(version_of("7").unwrap(), 7);
        assert!(version_of("abc").is_err());
        assert!(version_of("1.2").is_err());
    }
}
