//! The insurance catalogue (三目录) of a place of treatment: for every national code, its grade
//! (甲/乙/丙), 先行自付 ratio, price cap and use restrictions. The line split reads it per fee line,
//! so lookups are a single hash probe with a borrowed `&str` key.
//!
//! Two layouts load: a CSV with a header row (`med_list_codg, med_list_name, list_type,
//! med_chrgitm_type, chrgitm_lv, selfpay_prop, pric_uplmt_amt, lmt_used_flag` and the optional
//! restriction columns `lmt_gend, lmt_age_min, lmt_age_max, lmt_hosp_lv`), and the same as
//! TAB-separated text, where the national download names (`hilist_code`, `hilist_name`,
//! `chrgitm_lv`, `selfpay_prop`, `hilist_pric_uplmt_amt`, `lmt_used_flag`, …) are accepted as
//! aliases of the columns above.

mod code_table;

use std::io::Read;
use std::path::Path;

use rustc_hash::FxHashMap;
use yibao_domain::codes::{ChrgitmLv, Gend, MedChrgitmType};
use yibao_domain::{decimal, Code, Ratio};

pub use code_table::CodeTable;

/// Unit prices and price caps are held in micro-yuan (1e-6 yuan), the precision of the wire's
/// `pric` (`16,6`).
pub const PRICE_SCALE_DIGITS: u32 = 6;

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub code: String,
    pub name: String,
    pub list_type: Code,
    pub med_chrgitm_type: MedChrgitmType,
    pub chrgitm_lv: ChrgitmLv,
    /// 先行自付 ratio; 甲类 0, 丙类 1.
    pub selfpay_prop: Ratio,
    /// 限价 in micro-yuan per unit; `None` = no cap.
    pub price_cap_micro_yuan: Option<i64>,
    /// 限制使用: reimbursable only with hospital approval (`hosp_appr_flag` = 1).
    pub restricted_use: bool,
    pub restriction: Restriction,
}

/// Who and where an item may be reimbursed; failing any is 全自费.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restriction {
    pub gend: Option<Gend>,
    pub age_min_years: Option<u32>,
    pub age_max_years: Option<u32>,
    /// Minimum deductible level (1 一级 / 2 二级 / 3 三级).
    pub min_level: Option<u8>,
}

/// A loaded catalogue.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    items: FxHashMap<String, CatalogItem>,
}

/// Why a catalogue could not be loaded; names the row and column.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalogue {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("catalogue: {0}")]
    Csv(#[from] csv::Error),
    #[error("catalogue: required column `{0}` is missing from the header")]
    MissingColumn(&'static str),
    #[error("catalogue row {row}, column `{column}`: {problem}")]
    BadValue {
        row: usize,
        column: &'static str,
        problem: String,
    },
    #[error("catalogue row {row}: code `{code}` appears twice (first at row {first_row})")]
    Duplicate {
        row: usize,
        code: String,
        first_row: usize,
    },
}

impl Catalog {
    /// Looks an item up by national code.
    pub fn get(&self, med_list_codg: &str) -> Option<&CatalogItem> {
        self.items.get(med_list_codg)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items in code order (for listings and exports).
    pub fn items_sorted(&self) -> Vec<&CatalogItem> {
        let mut items: Vec<&CatalogItem> = self.items.values().collect();
        items.sort_by(|a, b| a.code.cmp(&b.code));
        items
    }

    /// Loads a file: TAB-separated when the name ends in `.txt` or `.tsv`, CSV otherwise.
    pub fn from_path(path: &Path) -> Result<Catalog, CatalogError> {
        let file = std::fs::File::open(path).map_err(|source| CatalogError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let tab = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("txt" | "tsv")
        );
        Catalog::from_reader(file, if tab { b'\t' } else { b',' })
    }

    /// Reads delimited text with a header row.
    pub fn from_reader(reader: impl Read, delimiter: u8) -> Result<Catalog, CatalogError> {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let columns = Columns::locate(csv.headers()?)?;
        let mut catalog = Catalog::default();
        let mut rows: FxHashMap<String, usize> = FxHashMap::default();
        for (index, record) in csv.records().enumerate() {
            let record = record?;
            let row = index + 2;
            let item = columns.parse(&record, row)?;
            catalog.insert(item, row, &mut rows)?;
        }
        Ok(catalog)
    }

    fn insert(
        &mut self,
        item: CatalogItem,
        row: usize,
        rows: &mut FxHashMap<String, usize>,
    ) -> Result<(), CatalogError> {
        if let Some(&first_row) = rows.get(&item.code) {
            return Err(CatalogError::Duplicate {
                row,
                code: item.code,
                first_row,
            });
        }
        rows.insert(item.code.clone(), row);
        self.items.insert(item.code.clone(), item);
        Ok(())
    }
}

/// Column positions found in the header.
struct Columns {
    code: usize,
    name: Option<usize>,
    list_type: Option<usize>,
    med_chrgitm_type: Option<usize>,
    chrgitm_lv: usize,
    selfpay_prop: Option<usize>,
    price_cap: Option<usize>,
    restricted_use: Option<usize>,
    gend: Option<usize>,
    age_min: Option<usize>,
    age_max: Option<usize>,
    min_level: Option<usize>,
}

impl Columns {
    fn locate(header: &csv::StringRecord) -> Result<Columns, CatalogError> {
        let find = |names: &[&str]| {
            header.iter().position(|h| {
                names
                    .iter()
                    .any(|n| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(n))
            })
        };
        let required = |names: &[&str], canonical: &'static str| {
            find(names).ok_or(CatalogError::MissingColumn(canonical))
        };
        Ok(Columns {
            code: required(&["med_list_codg", "hilist_code"], "med_list_codg")?,
            name: find(&["med_list_name", "hilist_name"]),
            list_type: find(&["list_type"]),
            med_chrgitm_type: find(&["med_chrgitm_type"]),
            chrgitm_lv: required(&["chrgitm_lv"], "chrgitm_lv")?,
            selfpay_prop: find(&["selfpay_prop"]),
            price_cap: find(&["pric_uplmt_amt", "hilist_pric_uplmt_amt"]),
            restricted_use: find(&["lmt_used_flag"]),
            gend: find(&["lmt_gend"]),
            age_min: find(&["lmt_age_min"]),
            age_max: find(&["lmt_age_max"]),
            min_level: find(&["lmt_hosp_lv"]),
        })
    }

    fn parse(&self, record: &csv::StringRecord, row: usize) -> Result<CatalogItem, CatalogError> {
        let text = |pos: Option<usize>| {
            pos.and_then(|p| record.get(p))
                .map(str::trim)
                .filter(|t| !t.is_empty() && *t != "null")
        };
        let bad = |column: &'static str, problem: String| CatalogError::BadValue {
            row,
            column,
            problem,
        };
        let code = text(Some(self.code))
            .ok_or_else(|| bad("med_list_codg", "is empty".into()))?
            .to_string();
        let chrgitm_lv = parse_code(text(Some(self.chrgitm_lv)), "chrgitm_lv", row)?
            .map(normalise_grade)
            .ok_or_else(|| bad("chrgitm_lv", "is empty".into()))?;
        let selfpay_prop = match text(self.selfpay_prop) {
            Some(t) => Ratio::parse(t).map_err(|e| bad("selfpay_prop", e.to_string()))?,
            None if chrgitm_lv == ChrgitmLv::ClassC => Ratio::ONE,
            None => Ratio::ZERO,
        };
        let price_cap_micro_yuan = match text(self.price_cap) {
            Some(t) => parse_price_cap(t).map_err(|e| bad("pric_uplmt_amt", e))?,
            None => None,
        };
        Ok(CatalogItem {
            name: text(self.name).unwrap_or_default().to_string(),
            list_type: parse_code(text(self.list_type), "list_type", row)?.unwrap_or_default(),
            med_chrgitm_type: parse_code(text(self.med_chrgitm_type), "med_chrgitm_type", row)?
                .map(MedChrgitmType::from_code)
                .unwrap_or(MedChrgitmType::OtherFee),
            chrgitm_lv,
            selfpay_prop,
            price_cap_micro_yuan,
            restricted_use: parse_flag(text(self.restricted_use), "lmt_used_flag", row)?,
            restriction: Restriction {
                gend: parse_code(text(self.gend), "lmt_gend", row)?.map(Gend::from_code),
                age_min_years: parse_whole(text(self.age_min), "lmt_age_min", row)?,
                age_max_years: parse_whole(text(self.age_max), "lmt_age_max", row)?,
                min_level: parse_level(text(self.min_level), row)?,
            },
            code,
        })
    }
}

/// Older dictionaries write grades as `1/2/3`.
fn normalise_grade(code: Code) -> ChrgitmLv {
    match code.as_str() {
        "1" => ChrgitmLv::ClassA,
        "2" => ChrgitmLv::ClassB,
        "3" => ChrgitmLv::ClassC,
        _ => ChrgitmLv::from_code(code),
    }
}

/// Real national replies write `999999` for "no cap".
const NO_CAP_SENTINEL_MICRO_YUAN: i64 = 999_999 * 1_000_000;

fn parse_price_cap(text: &str) -> Result<Option<i64>, String> {
    let micro = decimal::parse_scaled(text, PRICE_SCALE_DIGITS).map_err(|e| e.to_string())?;
    if micro < 0 {
        return Err(format!("`{text}` is negative"));
    }
    Ok((micro < NO_CAP_SENTINEL_MICRO_YUAN).then_some(micro))
}

fn parse_code(
    text: Option<&str>,
    column: &'static str,
    row: usize,
) -> Result<Option<Code>, CatalogError> {
    text.map(|t| {
        Code::new(t).map_err(|e| CatalogError::BadValue {
            row,
            column,
            problem: e.to_string(),
        })
    })
    .transpose()
}

fn parse_flag(text: Option<&str>, column: &'static str, row: usize) -> Result<bool, CatalogError> {
    match text {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(CatalogError::BadValue {
            row,
            column,
            problem: format!("`{other}` is not 0 or 1"),
        }),
    }
}

fn parse_whole(
    text: Option<&str>,
    column: &'static str,
    row: usize,
) -> Result<Option<u32>, CatalogError> {
    text.map(|t| {
        t.parse::<u32>().map_err(|_| CatalogError::BadValue {
            row,
            column,
            problem: format!("`{t}` is not a whole number of years"),
        })
    })
    .transpose()
}

fn parse_level(text: Option<&str>, row: usize) -> Result<Option<u8>, CatalogError> {
    match text {
        None => Ok(None),
        Some(t @ ("1" | "2" | "3")) => Ok(t.parse().ok()),
        Some(other) => Err(CatalogError::BadValue {
            row,
            column: "lmt_hosp_lv",
            problem: format!("`{other}` is not a level 1, 2 or 3"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "med_list_codg,med_list_name,list_type,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,lmt_gend,lmt_age_min,lmt_age_max,lmt_hosp_lv\n\
        XJ01CAA040A001010101791,阿莫西林胶囊,101,09,02,0.10,,0,,,,\n\
        C14010101001000000000,人工髋关节,301,08,01,0,4000.00,1,,,,2\n\
        T001700643,黄芪,102,10,03,,,0,2,18,60,\n";

    #[test]
    fn loads_csv() {
        let catalog = Catalog::from_reader(SAMPLE.as_bytes(), b',').unwrap();
        assert_eq!(catalog.len(), 3);
        let drug = catalog.get("XJ01CAA040A001010101791").unwrap();
        assert_eq!(drug.chrgitm_lv, ChrgitmLv::ClassB);
        assert_eq!(drug.selfpay_prop, Ratio(1000));
        assert_eq!(drug.price_cap_micro_yuan, None);
        let implant = catalog.get("C14010101001000000000").unwrap();
        assert_eq!(implant.price_cap_micro_yuan, Some(4_000_000_000));
        assert!(implant.restricted_use);
        assert_eq!(implant.restriction.min_level, Some(2));
        let herb = catalog.get("T001700643").unwrap();
        assert_eq!(herb.selfpay_prop, Ratio::ONE);
        assert_eq!(herb.restriction.gend, Some(Gend::Female));
        assert_eq!(herb.restriction.age_max_years, Some(60));
    }

    #[test]
    fn loads_tab_separated_national_names() {
        let text = "hilist_code\thilist_name\tchrgitm_lv\tselfpay_prop\thilist_pric_uplmt_amt\tlmt_used_flag\n\
            001102000010000\t诊查费\t1\t0\t999999\t0\n";
        let catalog = Catalog::from_reader(text.as_bytes(), b'\t').unwrap();
        let item = catalog.get("001102000010000").unwrap();
        assert_eq!(item.chrgitm_lv, ChrgitmLv::ClassA);
        assert_eq!(item.price_cap_micro_yuan, None);
    }

    #[test]
    fn reports_row_and_column() {
        let text = "med_list_codg,chrgitm_lv,selfpay_prop\nA,02,1.5\n";
        let err = Catalog::from_reader(text.as_bytes(), b',')
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 2") && err.contains("selfpay_prop"),
            "{err}"
        );
        let dup = "med_list_codg,chrgitm_lv\nA,01\nA,02\n";
        let err = Catalog::from_reader(dup.as_bytes(), b',')
            .unwrap_err()
            .to_string();
        assert!(err.contains("appears twice"), "{err}");
        let missing = "code,chrgitm_lv\nA,01\n";
        let err = Catalog::from_reader(missing.as_bytes(), b',')
            .unwrap_err()
            .to_string();
        assert!(err.contains("med_list_codg"), "{err}");
    }
}
