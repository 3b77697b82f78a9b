//! A code table the platform publishes besides the catalogue: 疾病与诊断 (1307), 手术操作 (1308),
//! 门诊慢特病种 (1309), 按病种付费病种 (1310), 日间手术治疗病种 (1311), 肿瘤形态学 (1313), 中医疾病
//! (1314), 中医证候 (1315). A table is a list of codes with their names, read from delimited text
//! with a header row naming a code column and a name column.

use std::collections::BTreeMap;
use std::io::Read;

use crate::CatalogError;

/// Longest code a table holds, in characters (national codes are at most 30).
pub const MAX_CODE_CHARS: usize = 50;
/// Longest name a table holds, in characters.
pub const MAX_NAME_CHARS: usize = 500;

/// Header names accepted for the code column (the national field names of the tables included).
const CODE_COLUMNS: &[&str] = &[
    "code",
    "编码",
    "dise_codg",
    "diag_code",
    "oprn_oprt_codg",
    "opsp_dise_code",
    "tumr_code",
    "tcm_dise_code",
    "tcm_syndrome_code",
];
/// Header names accepted for the name column.
const NAME_COLUMNS: &[&str] = &[
    "name",
    "名称",
    "dise_name",
    "diag_name",
    "oprn_oprt_name",
    "opsp_dise_name",
    "tumr_name",
    "tcm_dise_name",
    "tcm_syndrome_name",
];

/// A code table: name by code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeTable {
    rows: BTreeMap<String, String>,
}

impl CodeTable {
    /// The name of `code`, if the table holds it.
    pub fn get(&self, code: &str) -> Option<&str> {
        self.rows.get(code).map(String::as_str)
    }

    /// Every (code, name), ordered by code.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rows.iter().map(|(c, n)| (c.as_str(), n.as_str()))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Reads delimited text with a header row; other columns are ignored. A row without a code, a
    /// code or name too long, or a code listed twice is refused, naming the row.
    pub fn from_reader(reader: impl Read, delimiter: u8) -> Result<CodeTable, CatalogError> {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let header = csv.headers()?.clone();
        let find = |names: &[&str], canonical: &'static str| {
            header
                .iter()
                .position(|h| {
                    let h = h.trim_start_matches('\u{feff}');
                    names.iter().any(|n| h.eq_ignore_ascii_case(n))
                })
                .ok_or(CatalogError::MissingColumn(canonical))
        };
        let (code_at, name_at) = (find(CODE_COLUMNS, "code")?, find(NAME_COLUMNS, "name")?);
        let mut table = CodeTable::default();
        let mut first_rows: BTreeMap<String, usize> = BTreeMap::new();
        for (index, record) in csv.records().enumerate() {
            let record = record?;
            let row = index + 2;
            let cell = |at: usize| record.get(at).unwrap_or("");
            let code = bounded(cell(code_at), row, "code", MAX_CODE_CHARS)?;
            if code.is_empty() {
                return Err(bad(row, "code", "empty".into()));
            }
            let name = bounded(cell(name_at), row, "name", MAX_NAME_CHARS)?;
            if let Some(&first_row) = first_rows.get(&code) {
                return Err(CatalogError::Duplicate {
                    row,
                    code,
                    first_row,
                });
            }
            first_rows.insert(code.clone(), row);
            table.rows.insert(code, name);
        }
        Ok(table)
    }
}

fn bounded(
    text: &str,
    row: usize,
    column: &'static str,
    max_chars: usize,
) -> Result<String, CatalogError> {
    if text.chars().count() > max_chars {
        return Err(bad(
            row,
            column,
            format!("longer than {max_chars} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(bad(row, column, "holds a control character".into()));
    }
    Ok(text.to_string())
}

fn bad(row: usize, column: &'static str, problem: String) -> CatalogError {
    CatalogError::BadValue {
        row,
        column,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_and_names_under_national_or_plain_headers() {
        let table = CodeTable::from_reader(
            "dise_codg,dise_name,extra\nI10.x00,高血压,x\nA00.000,霍乱,\n".as_bytes(),
            b',',
        )
        .unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table.get("I10.x00"), Some("高血压"));
        let rows: Vec<_> = table.rows().collect();
        assert_eq!(rows[0], ("A00.000", "霍乱"));
        let table = CodeTable::from_reader(
            "\u{feff}编码\t名称\nM80000/0\t肿瘤，良性\n".as_bytes(),
            b'\t',
        )
        .unwrap();
        assert_eq!(table.get("M80000/0"), Some("肿瘤，良性"));
    }

    #[test]
    fn names_the_row_and_column_of_a_bad_value() {
        let error = CodeTable::from_reader("code\nX\n".as_bytes(), b',').unwrap_err();
        assert!(error.to_string().contains("`name`"), "{error}");
        let error = CodeTable::from_reader("code,name\nA,x\n,y\n".as_bytes(), b',').unwrap_err();
        assert!(
            error.to_string().contains("row 3") && error.to_string().contains("`code`"),
            "{error}"
        );
        let error = CodeTable::from_reader("code,name\nA,x\nA,y\n".as_bytes(), b',').unwrap_err();
        assert!(error.to_string().contains("twice"), "{error}");
        let long = format!("code,name\n{},x\n", "9".repeat(MAX_CODE_CHARS + 1));
        let error = CodeTable::from_reader(long.as_bytes(), b',').unwrap_err();
        assert!(error.to_string().contains("longer than"), "{error}");
    }
}
