//! Catalogue and dictionary exchange: 1301–1303, 1305–1311 and 1313–1315 目录下载 by version (a ZIP of
//! TAB-separated TXT, downloaded with 9102), the paged queries 1312 医保目录信息查询, 1316 医疗目录与
//! 医保目录匹配信息, 1318 限价 and 1319 先自付比例, and 1901 字典表查询. Answers come from the catalogue versions of the
//! institution's pooling region (`catalog_versions`) or, for 1307–1311 and 1313–1315, the versions
//! of the code table the bureau imported (`code_table_versions`): a row's version is the import in
//! which it last changed, so "changes since version v" are the rows whose version is greater than v;
//! a row a later import left out is answered with `vali_flag` 0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use yibao_catalog::{Catalog, CatalogItem, CodeTable};
use yibao_domain::codes;
use yibao_ledger::registry::{self, CatalogVersion};
use yibao_ledger::LedgerView;
use yibao_wire::lenient;

use super::common::{self, node, parse};
use super::files;
use super::{Ctx, TxOutput};
use crate::error::TxError;

mod layouts;

pub use layouts::{Cell, Download, DOWNLOADS};
use Cell::{
    Begndate, Blank, Code, CrteTime, LmtUsedFlag, Name, Region, Rid, UpdtTime, ValiFlag, Ver,
    VerName,
};

/// What a download lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The catalogue's items of one `list_type`.
    Catalog { list_type: &'static str },
    /// The code table the bureau imported under the download's `infno`.
    CodeTable,
}

/// A row a download lists: a catalogue item or a code of a code table.
trait Listed: Clone + PartialEq {
    fn code(&self) -> &str;
    fn name(&self) -> &str;
    /// 限制使用标志, for a row that has one.
    fn restricted(&self) -> Option<bool> {
        None
    }
}

impl Listed for CatalogItem {
    fn code(&self) -> &str {
        &self.code
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn restricted(&self) -> Option<bool> {
        Some(self.restricted_use)
    }
}

/// One code of a code table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CodeRow {
    code: String,
    name: String,
}

impl Listed for CodeRow {
    fn code(&self) -> &str {
        &self.code
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// A row as the latest version holds it (or last held it), and when it last changed.
struct ItemState<T> {
    item: T,
    valid: bool,
    ver: i64,
    begndate: String,
    updt_time: String,
    crte_time: String,
}

/// A region's history of a catalogue or code table: every row ever imported, by code.
struct History<T> {
    region: String,
    latest_ver: i64,
    items: BTreeMap<String, ItemState<T>>,
}

/// The rows of one stored version, by code.
fn catalog_rows(version: &CatalogVersion) -> Result<BTreeMap<String, CatalogItem>, TxError> {
    let catalog = Catalog::from_reader(version.source.as_bytes(), b',').map_err(|e| {
        TxError::internal(format!("医保端目录版本 {} 无法读取（{e}）", version.ver))
    })?;
    Ok(catalog
        .items_sorted()
        .into_iter()
        .map(|item| (item.code.clone(), item.clone()))
        .collect())
}

/// The codes of one stored version of a code table, by code.
fn code_rows(version: &CatalogVersion) -> Result<BTreeMap<String, CodeRow>, TxError> {
    let table = CodeTable::from_reader(version.source.as_bytes(), b',').map_err(|e| {
        TxError::internal(format!("医保端代码表版本 {} 无法读取（{e}）", version.ver))
    })?;
    Ok(table
        .rows()
        .map(|(code, name)| {
            let row = CodeRow {
                code: code.to_string(),
                name: name.to_string(),
            };
            (row.code.clone(), row)
        })
        .collect())
}

impl<T: Listed> History<T> {
    /// Walks the versions in order, recording for each row the version it last changed in.
    fn of(
        region: &str,
        versions: &[CatalogVersion],
        rows_of: impl Fn(&CatalogVersion) -> Result<BTreeMap<String, T>, TxError>,
    ) -> Result<History<T>, TxError> {
        let mut items: BTreeMap<String, ItemState<T>> = BTreeMap::new();
        for version in versions {
            let rows = rows_of(version)?;
            let changed = |state: &mut ItemState<T>| {
                state.ver = version.ver;
                state.begndate = version.begndate.clone();
                state.updt_time = version.loaded_at.clone();
            };
            for (code, item) in &rows {
                match items.get_mut(code) {
                    Some(state) if state.valid && state.item == *item => {}
                    Some(state) => {
                        state.item = item.clone();
                        state.valid = true;
                        changed(state);
                    }
                    None => {
                        items.insert(
                            code.clone(),
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
            for (code, state) in items.iter_mut() {
                if state.valid && !rows.contains_key(code) {
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

    fn cell(&self, state: &ItemState<T>, cell: Cell) -> String {
        match cell {
            Code => state.item.code().to_string(),
            Name => state.item.name().to_string(),
            ValiFlag => flag(state.valid).into(),
            Rid => format!("{}{:06}{}", self.region, state.ver, state.item.code()),
            Begndate => state.begndate.clone(),
            CrteTime => state.crte_time.clone(),
            UpdtTime => state.updt_time.clone(),
            Ver => state.ver.to_string(),
            VerName => format!("V{}", state.ver),
            LmtUsedFlag => state
                .item
                .restricted()
                .map_or_else(|| "null".into(), |r| flag(r).into()),
            Region => self.region.clone(),
            Blank => "null".into(),
        }
    }
}

/// The pooling region of `admdvs` (the institution's when absent).
fn region_of(ctx: &Ctx<'_>, admdvs: Option<&str>) -> String {
    let admdvs = admdvs.unwrap_or(ctx.institution.admdvs.as_str());
    let regions = ctx.shared.regions();
    regions.region_of(admdvs).unwrap_or(admdvs).to_string()
}

/// The history of the catalogue of `admdvs`'s pooling region (the institution's when absent).
async fn catalog_history(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    field: &str,
    admdvs: Option<&str>,
) -> Result<History<CatalogItem>, TxError> {
    let region = region_of(ctx, admdvs);
    let versions = registry::catalog_versions(ledger.conn(), &region).await?;
    if versions.is_empty() {
        return Err(TxError::new(field, format!("医保区划 {region} 未加载目录")));
    }
    History::of(&region, &versions, catalog_rows)
}

/// The history of the code table `infno` of the institution's pooling region.
async fn code_table_history(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    infno: &str,
) -> Result<History<CodeRow>, TxError> {
    let region = region_of(ctx, None);
    let versions = registry::code_table_versions(ledger.conn(), &region, infno).await?;
    if versions.is_empty() {
        return Err(TxError::new(
            "infno",
            format!("医保区划 {region} 未发布 {infno} 代码表"),
        ));
    }
    History::of(&region, &versions, code_rows)
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

/// 1301–1303, 1305–1311, 1313–1315: the rows changed since the client's version, as a ZIP of TXT.
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
    match download.source {
        Source::Catalog { list_type } => {
            let history = catalog_history(ctx, ledger, "fixmedins_code", None).await?;
            let rows = changed_rows(&history, download, since, &ver_text, |item| {
                item.list_type.as_str() == list_type
            })?;
            issue_download(ctx, ledger, download, &history, since, rows).await
        }
        Source::CodeTable => {
            let history = code_table_history(ctx, ledger, download.infno).await?;
            let rows = changed_rows(&history, download, since, &ver_text, |_| true)?;
            issue_download(ctx, ledger, download, &history, since, rows).await
        }
    }
}

/// The TXT lines of the rows `listed` admits that changed after version `since`.
fn changed_rows<T: Listed>(
    history: &History<T>,
    download: &Download,
    since: i64,
    ver_text: &str,
    listed: impl Fn(&T) -> bool,
) -> Result<Vec<String>, TxError> {
    if since > history.latest_ver {
        return Err(TxError::new(
            "input.data.ver",
            format!(
                "本平台最新版本为 {}，{ver_text} 不是本平台发布的版本；传 0 重新全量下载",
                history.latest_ver
            ),
        ));
    }
    Ok(history
        .items
        .values()
        .filter(|s| s.ver > since && listed(&s.item))
        .map(|state| {
            download
                .cells()
                .map(|cell| history.cell(state, cell).replace(['\t', '\n'], " "))
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect())
}

/// Zips the lines as one TXT, issues it to the institution (9102) and answers with its number.
async fn issue_download<T>(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    download: &Download,
    history: &History<T>,
    since: i64,
    lines: Vec<String>,
) -> Result<TxOutput, TxError> {
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
    /// 1316: the 医疗目录编码 (the same code as `hilist_code` in yibao).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    med_list_codg: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    insu_admdvs: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    begndate: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    hilist_name: Option<String>,
    /// 1304: names the drug's name contains.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    drug_prodname: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    drug_genname: Option<String>,
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
    fn admits(&self, state: &ItemState<CatalogItem>) -> bool {
        let item = &state.item;
        let equals = |wanted: &Option<String>, value: &str| {
            wanted.as_deref().is_none_or(|w| w.trim() == value)
        };
        equals(&self.hilist_code, &item.code)
            && equals(&self.med_list_codg, &item.code)
            && equals(
                &self.med_chrgitm_type,
                item.med_chrgitm_type.code().as_str(),
            )
            && equals(&self.chrgitm_lv, item.chrgitm_lv.code().as_str())
            && equals(&self.lmt_used_flag, flag(item.restricted_use))
            && equals(&self.list_type, item.list_type.as_str())
            && equals(&self.vali_flag, flag(state.valid))
            && [&self.hilist_name, &self.drug_prodname, &self.drug_genname]
                .iter()
                .all(|wanted| {
                    wanted
                        .as_deref()
                        .is_none_or(|n| item.name.contains(n.trim()))
                })
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

/// One page of a paged query (`page_num` from 1, `page_size` at most [`MAX_PAGE_SIZE`]).
pub(super) struct Page {
    num: usize,
    size: usize,
}

impl Page {
    /// Reads `input.data.page_num` and `input.data.page_size`.
    pub(super) fn read(page_num: Option<&str>, page_size: Option<&str>) -> Result<Page, TxError> {
        Ok(Page {
            num: page_number("input.data.page_num", page_num, usize::MAX)?,
            size: page_number("input.data.page_size", page_size, MAX_PAGE_SIZE)?,
        })
    }

    /// The page's rows of `matching` as `data[]`, with the counts the national paging answers.
    pub(super) fn answer<T>(&self, matching: &[T], row: impl Fn(&T) -> Value) -> Value {
        let total = matching.len();
        let pages = total.div_ceil(self.size);
        let start = (self.num - 1).saturating_mul(self.size).min(total);
        let rows: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(self.size)
            .map(row)
            .collect();
        let size = rows.len();
        serde_json::json!({
            "data": rows,
            "recordCounts": total,
            "pages": pages,
            "pageNum": self.num,
            "pageSize": self.size,
            "size": size,
            "startRow": if size == 0 { 0 } else { start + 1 },
            "endRow": start + size,
            "firstPage": 1,
            "lastPage": pages.max(1),
            "isFirstPage": self.num == 1,
            "isLastPage": self.num >= pages,
            "hasPreviousPage": self.num > 1,
            "hasNextPage": self.num < pages,
        })
    }
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
    /// 1316 医疗目录与医保目录匹配信息查询: each item's 医疗目录编码 with its 医保目录编码.
    Matches,
    /// 1304 民族药品目录查询: the catalogue's 民族药 (list type 104).
    EthnicDrugs,
}

/// 1312, 1318, 1319: catalogue rows by filters, one page at a time (`data[]` with the page's
/// counts).
pub async fn query(
    ctx: &Ctx<'_>,
    ledger: &mut LedgerView<'_>,
    kind: CatalogQueryKind,
) -> Result<TxOutput, TxError> {
    let query: CatalogQuery = parse(node(&ctx.request.input, "data")?, "input.data")?;
    let page = Page::read(query.page_num.as_deref(), query.page_size.as_deref())?;
    let admdvs = query
        .insu_admdvs
        .as_deref()
        .filter(|a| !a.trim().is_empty());
    let history = catalog_history(ctx, ledger, "input.data.insu_admdvs", admdvs).await?;
    let listed = |state: &ItemState<CatalogItem>| match kind {
        CatalogQueryKind::Items => true,
        CatalogQueryKind::PriceCaps => state.item.price_cap_micro_yuan.is_some(),
        CatalogQueryKind::SelfpayRatios => state.item.selfpay_prop.bp() > 0,
        CatalogQueryKind::Matches => true,
        CatalogQueryKind::EthnicDrugs => state.item.list_type.as_str() == ETHNIC_DRUG_LIST_TYPE,
    };
    let matching: Vec<&ItemState<CatalogItem>> = history
        .items
        .values()
        .filter(|s| listed(s) && query.admits(s))
        .collect();
    let output = page.answer(&matching, |state| match kind {
        CatalogQueryKind::Items => list_row(&history, state),
        CatalogQueryKind::PriceCaps => price_cap_row(&history, state),
        CatalogQueryKind::SelfpayRatios => selfpay_row(&history, state),
        CatalogQueryKind::Matches => match_row(&history, state),
        CatalogQueryKind::EthnicDrugs => ethnic_drug_row(&history, state),
    });
    Ok(TxOutput::read(common::to_output(&output)?))
}

/// The columns every catalogue query row ends with: validity, record id, times, region; those
/// yibao does not hold as "".
fn record_columns(
    history: &History<CatalogItem>,
    state: &ItemState<CatalogItem>,
    row: &mut Map<String, Value>,
) {
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
fn price_cap_row(history: &History<CatalogItem>, state: &ItemState<CatalogItem>) -> Value {
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
fn selfpay_row(history: &History<CatalogItem>, state: &ItemState<CatalogItem>) -> Value {
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

/// A 1316 row: the 医疗目录编码 and the 医保目录编码 it is matched to — one code in yibao, whose
/// catalogue is keyed by the national code.
fn match_row(history: &History<CatalogItem>, state: &ItemState<CatalogItem>) -> Value {
    let mut row = Map::new();
    row.insert("med_list_codg".into(), Value::from(state.item.code.clone()));
    row.insert("hilist_code".into(), Value::from(state.item.code.clone()));
    row.insert(
        "list_type".into(),
        Value::from(state.item.list_type.to_string()),
    );
    row.insert("memo".into(), Value::from(""));
    record_columns(history, state, &mut row);
    Value::Object(row)
}

/// The national list type of 民族药.
const ETHNIC_DRUG_LIST_TYPE: &str = "104";

/// The fields of a 1304 row the catalogue does not hold, sent as "".
const ETHNIC_DRUG_BLANKS: &[&str] = &[
    "genname_codg",
    "ethdrug_type",
    "chemname",
    "alis",
    "eng_name",
    "dosform",
    "each_dos",
    "used_frqu",
    "nat_drug_no",
    "used_mtd",
    "ing",
    "chrt",
    "defs",
    "tabo",
    "mnan",
    "stog",
    "drug_spec",
    "prcunt_type",
    "otc_flag",
    "pacmatl",
    "pacspec",
    "min_useunt",
    "min_salunt",
    "manl",
    "rute",
    "pham_type",
    "memo",
    "pac_cnt",
    "min_unt",
    "min_pac_cnt",
    "min_pacunt",
    "min_prepunt",
    "drug_expy",
    "efcc_atd",
    "min_prcunt",
    "wubi",
    "pinyin",
];

/// A 1304 row: the 民族药's code and name (as 商品名 and 通用名), the record columns, "" for
/// what the catalogue does not hold.
fn ethnic_drug_row(history: &History<CatalogItem>, state: &ItemState<CatalogItem>) -> Value {
    let mut row = Map::new();
    row.insert("med_list_codg".into(), Value::from(state.item.code.clone()));
    row.insert("drug_prodname".into(), Value::from(state.item.name.clone()));
    row.insert("drug_genname".into(), Value::from(state.item.name.clone()));
    for blank in ETHNIC_DRUG_BLANKS {
        row.insert((*blank).into(), Value::from(""));
    }
    record_columns(history, state, &mut row);
    Value::Object(row)
}

/// One 1312 row: the national columns, those yibao does not hold as "".
fn list_row(history: &History<CatalogItem>, state: &ItemState<CatalogItem>) -> Value {
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
        let history = History::of("360400", &versions, catalog_rows).unwrap();
        let ver = |code: &str| {
            let state = &history.items[code];
            (state.ver, state.valid, state.crte_time.as_str())
        };
        assert_eq!(ver("A"), (1, true, "2026-01-01 08:00:00"));
        assert_eq!(ver("B"), (2, true, "2026-01-01 08:00:00"));
        assert_eq!(ver("C"), (3, true, "2026-01-01 08:00:00"));
        let up_to_two = History::of("360400", &versions[..2], catalog_rows).unwrap();
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
