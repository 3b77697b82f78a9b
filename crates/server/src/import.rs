//! Registry input: person and institution CSV (also their JSON rows on the admin API), policy TOML
//! and catalogue CSV. Every problem names the row and column; nothing is stored unless the whole
//! input is valid.

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_catalog::{Catalog, CodeTable};
use yibao_domain::codes::{Gend, Insutype, PsnType};
use yibao_domain::{Code, Fen};
use yibao_enrolment::InsuStatus;
use yibao_ledger::registry::{self, Document, PersonImport};
use yibao_ledger::{IdentityPeriod, Institution, InsuRow, LedgerError, Person, Store};
use yibao_policy::Policy;
use yibao_wire::lenient::parse_datetime;

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("row {row}, column `{column}`: {problem}")]
    Row {
        row: usize,
        column: String,
        problem: String,
    },
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("policy: {0}")]
    Policy(String),
    #[error("catalogue: {0}")]
    Catalog(String),
    #[error("code table: {0}")]
    CodeTable(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// One person CSV row: a person under one insurance type (`yibao import persons`, `POST
/// /admin/persons`).
///
/// Columns, in national field names: `psn_no, psn_cert_type, certno, psn_name, gend, brdy, insutype,
/// psn_type, psn_insu_stas, psn_insu_date, insuplc_admdvs, cvlserv_flag, balc` and the optional
/// `idet, insu_endtime, benefit_begndate`. The insured period runs from `psn_insu_date` to
/// `insu_endtime` (inclusive; empty or absent: open) with status `psn_insu_stas` (0–4, empty: 1);
/// benefits are payable from `benefit_begndate`, the first day after any waiting period (待遇等待期;
/// empty or absent: from `psn_insu_date`). Files without the optional columns import as before.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct PersonRow {
    pub psn_no: String,
    pub psn_cert_type: String,
    pub certno: String,
    pub psn_name: String,
    pub gend: String,
    pub brdy: String,
    pub insutype: String,
    pub psn_type: String,
    pub psn_insu_stas: String,
    pub psn_insu_date: String,
    pub insuplc_admdvs: String,
    pub cvlserv_flag: String,
    /// Opening account balance, yuan.
    pub balc: String,
    /// `;`-separated identity codes.
    #[serde(default)]
    pub idet: String,
    /// Last day of the insured period, `yyyy-MM-dd`; empty while open.
    #[serde(default)]
    pub insu_endtime: String,
    /// First day benefits are payable (after the waiting period), `yyyy-MM-dd`; empty: from
    /// `psn_insu_date`.
    #[serde(default)]
    pub benefit_begndate: String,
}

fn row_error(row: usize, column: &str, problem: impl Into<String>) -> ImportError {
    ImportError::Row {
        row,
        column: column.to_string(),
        problem: problem.into(),
    }
}

fn require(row: usize, column: &str, value: &str) -> Result<(), ImportError> {
    if value.trim().is_empty() {
        return Err(row_error(row, column, "is empty"));
    }
    Ok(())
}

/// A date column: `None` when empty.
fn date_column(row: usize, column: &str, value: &str) -> Result<Option<NaiveDate>, ImportError> {
    match value.trim() {
        "" => Ok(None),
        text => parse_datetime(text)
            .map(|t| Some(t.date()))
            .ok_or_else(|| row_error(row, column, format!("`{text}` is not a date yyyy-MM-dd"))),
    }
}

/// A date column that must not be empty.
fn required_date(row: usize, column: &str, value: &str) -> Result<NaiveDate, ImportError> {
    date_column(row, column, value)?.ok_or_else(|| row_error(row, column, "is empty"))
}

/// A dictionary code column (`default` when empty).
fn code_column(row: usize, column: &str, value: &str, default: &str) -> Result<Code, ImportError> {
    let text = match value.trim() {
        "" => default,
        text => text,
    };
    Code::new(text).map_err(|e| row_error(row, column, e.to_string()))
}

/// The insurance row of a person row: status, insured period and benefit start checked against
/// each other.
fn insu_row(row: usize, r: &PersonRow, balc: Fen) -> Result<InsuRow, ImportError> {
    let stas = code_column(row, "psn_insu_stas", &r.psn_insu_stas, "1")?;
    let status = InsuStatus::from_code(stas.as_str()).ok_or_else(|| {
        row_error(
            row,
            "psn_insu_stas",
            format!("`{stas}` is not a status 0–4"),
        )
    })?;
    let begin = required_date(row, "psn_insu_date", &r.psn_insu_date)?;
    let on_or_after_begin = |column: &str, value: &str| match date_column(row, column, value)? {
        Some(date) if date < begin => Err(row_error(
            row,
            column,
            format!("is before psn_insu_date {begin}"),
        )),
        date => Ok(date),
    };
    let cvlserv_flag = match r.cvlserv_flag.trim() {
        "1" => true,
        "0" | "" => false,
        other => {
            return Err(row_error(
                row,
                "cvlserv_flag",
                format!("`{other}` is not 0 or 1"),
            ))
        }
    };
    Ok(InsuRow {
        insutype: Insutype::from_code(code_column(row, "insutype", &r.insutype, "")?),
        psn_type: PsnType::from_code(code_column(row, "psn_type", &r.psn_type, "")?),
        psn_insu_stas: status,
        psn_insu_date: begin,
        insu_endtime: on_or_after_begin("insu_endtime", &r.insu_endtime)?,
        benefit_begndate: on_or_after_begin("benefit_begndate", &r.benefit_begndate)?,
        insuplc_admdvs: code_column(row, "insuplc_admdvs", &r.insuplc_admdvs, "")?,
        cvlserv_flag,
        opening_balc: balc,
    })
}

/// The identity codes of a person row (`;`-separated), each held from any date.
fn identities(row: usize, r: &PersonRow) -> Result<Vec<IdentityPeriod>, ImportError> {
    r.idet
        .split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            Ok(IdentityPeriod {
                psn_idet_type: code_column(row, "idet", c, "")?,
                begntime: None,
                endtime: None,
            })
        })
        .collect()
}

/// Groups person rows (numbered from `first_row`) into the import of the persons as the register
/// stands today (the local date where the rows arrive, e.g. `POST /admin/persons`); see
/// [`persons_as_of`].
pub fn persons_from_rows(
    rows: &[PersonRow],
    first_row: usize,
) -> Result<PersonImport, ImportError> {
    persons_as_of(rows, first_row, chrono::Local::now().date_naive())
}

/// Groups person rows (numbered from `first_row`) into persons with one insurance row per insutype,
/// as the register stands on `as_of`: a stored insurance row or identity of a person that the rows
/// leave out ends the day before `as_of` ([`registry::upsert_persons`]).
pub fn persons_as_of(
    rows: &[PersonRow],
    first_row: usize,
    as_of: NaiveDate,
) -> Result<PersonImport, ImportError> {
    Ok(PersonImport {
        persons: group_rows(rows, first_row)?,
        as_of,
    })
}

/// Groups person rows (numbered from `first_row`) into persons with one insurance row per insutype.
fn group_rows(rows: &[PersonRow], first_row: usize) -> Result<Vec<Person>, ImportError> {
    let mut persons: Vec<Person> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (offset, r) in rows.iter().enumerate() {
        let row = first_row + offset;
        for (column, value) in [
            ("psn_no", &r.psn_no),
            ("certno", &r.certno),
            ("insutype", &r.insutype),
            ("insuplc_admdvs", &r.insuplc_admdvs),
        ] {
            require(row, column, value)?;
        }
        let brdy = required_date(row, "brdy", &r.brdy)?;
        let balc = if r.balc.trim().is_empty() {
            Fen::ZERO
        } else {
            Fen::parse_yuan(&r.balc).map_err(|e| row_error(row, "balc", e.to_string()))?
        };
        if balc < Fen::ZERO {
            return Err(row_error(row, "balc", "must not be negative"));
        }
        let insu = insu_row(row, r, balc)?;
        let idet = identities(row, r)?;
        match index.get(r.psn_no.trim()) {
            Some(&at) => merge_row(&mut persons[at], row, (r, brdy), insu, idet)?,
            None => {
                index.insert(r.psn_no.trim().to_string(), persons.len());
                persons.push(Person {
                    psn_no: r.psn_no.trim().into(),
                    psn_cert_type: code_column(row, "psn_cert_type", &r.psn_cert_type, "")?,
                    certno: r.certno.trim().into(),
                    psn_name: r.psn_name.trim().into(),
                    gend: Gend::from_code(code_column(row, "gend", &r.gend, "")?),
                    brdy,
                    insu: vec![insu],
                    idet,
                });
            }
        }
    }
    Ok(persons)
}

fn merge_row(
    person: &mut Person,
    row: usize,
    (r, brdy): (&PersonRow, NaiveDate),
    insu: InsuRow,
    idet: Vec<IdentityPeriod>,
) -> Result<(), ImportError> {
    let same = [
        ("certno", person.certno.as_str() == r.certno.trim()),
        ("psn_name", person.psn_name.as_str() == r.psn_name.trim()),
        ("brdy", person.brdy == brdy),
    ];
    for (column, same) in same {
        if !same {
            return Err(row_error(
                row,
                column,
                format!("differs from an earlier row of person {}", person.psn_no),
            ));
        }
    }
    if person.insu_row(insu.insutype.as_str()).is_some() {
        return Err(row_error(
            row,
            "insutype",
            format!(
                "person {} already has a row for insutype {}",
                person.psn_no, insu.insutype
            ),
        ));
    }
    person.insu.push(insu);
    for period in idet {
        if !person
            .idet
            .iter()
            .any(|p| p.psn_idet_type == period.psn_idet_type)
        {
            person.idet.push(period);
        }
    }
    Ok(())
}

/// Reads a person CSV (header row required) describing the register on `as_of`.
pub fn read_persons_csv(reader: impl Read, as_of: NaiveDate) -> Result<PersonImport, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let rows = csv
        .deserialize::<PersonRow>()
        .collect::<Result<Vec<_>, _>>()?;
    persons_as_of(&rows, 2, as_of)
}

/// Checks institution rows (numbered from `first_row`).
pub fn check_institutions(
    institutions: &[Institution],
    first_row: usize,
) -> Result<(), ImportError> {
    for (offset, i) in institutions.iter().enumerate() {
        let row = first_row + offset;
        for (column, value) in [
            ("fixmedins_code", i.fixmedins_code.as_str()),
            ("hosp_lv", i.hosp_lv.as_str()),
            ("admdvs", i.admdvs.as_str()),
        ] {
            require(row, column, value)?;
        }
        let admdvs = i.admdvs.as_str();
        if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(row_error(row, "admdvs", "is not a 6-digit region code"));
        }
    }
    Ok(())
}

/// Reads an institution CSV (`fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs`).
pub fn read_institutions_csv(reader: impl Read) -> Result<Vec<Institution>, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let institutions = csv
        .deserialize::<Institution>()
        .collect::<Result<Vec<_>, _>>()?;
    check_institutions(&institutions, 2)?;
    Ok(institutions)
}

/// Validates and stores a policy; returns its pooling region.
pub async fn import_policy(
    store: &Store,
    text: &str,
    loaded_at: &str,
) -> Result<String, ImportError> {
    let policy = Policy::parse(text).map_err(|e| ImportError::Policy(e.to_string()))?;
    let admdvs = policy.policy.admdvs.to_string();
    registry::put_document(store, Document::Policy, &admdvs, text, loaded_at).await?;
    Ok(admdvs)
}

/// Validates and stores a catalogue (CSV) for a pooling region as its next version, effective from
/// the day it is loaded; returns its item count.
pub async fn import_catalog(
    store: &Store,
    admdvs: &str,
    text: &str,
    loaded_at: &str,
) -> Result<usize, ImportError> {
    let begndate = loaded_at.get(..10).unwrap_or(loaded_at);
    import_catalog_version(store, admdvs, text, begndate, loaded_at)
        .await
        .map(|(count, _)| count)
}

/// Validates and stores a catalogue (CSV) for a pooling region as its next version, effective from
/// `begndate` (`yyyy-MM-dd`); returns its item count and version.
pub async fn import_catalog_version(
    store: &Store,
    admdvs: &str,
    text: &str,
    begndate: &str,
    loaded_at: &str,
) -> Result<(usize, i64), ImportError> {
    if admdvs.trim().is_empty() {
        return Err(ImportError::Catalog(
            "the pooling region (admdvs) is required".into(),
        ));
    }
    if NaiveDate::parse_from_str(begndate, "%Y-%m-%d").is_err() {
        return Err(ImportError::Catalog(format!(
            "begndate `{begndate}` is not a date (yyyy-MM-dd)"
        )));
    }
    let catalog = Catalog::from_reader(text.as_bytes(), b',')
        .map_err(|e| ImportError::Catalog(e.to_string()))?;
    let ver = registry::put_catalog(store, admdvs, text, begndate, loaded_at).await?;
    Ok((catalog.len(), ver))
}

/// The code tables a bureau imports (1307–1311, 1313–1315): the downloads that list one.
pub fn code_table_infnos() -> impl Iterator<Item = &'static str> {
    crate::tx::catalog::DOWNLOADS
        .iter()
        .filter(|d| d.source == crate::tx::catalog::Source::CodeTable)
        .map(|d| d.infno)
}

/// Validates and stores a code table (CSV with `code` and `name` columns, or the national column
/// names) of a pooling region as its next version, effective from `begndate`; returns its row count
/// and version.
pub async fn import_code_table(
    store: &Store,
    admdvs: &str,
    infno: &str,
    text: &str,
    begndate: &str,
    loaded_at: &str,
) -> Result<(usize, i64), ImportError> {
    let refuse = |problem: String| ImportError::CodeTable(problem);
    if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse(format!(
            "the pooling region `{admdvs}` is not 6 digits"
        )));
    }
    if !code_table_infnos().any(|known| known == infno) {
        let known: Vec<&str> = code_table_infnos().collect();
        return Err(refuse(format!(
            "`{infno}` is not a code table (one of {})",
            known.join(", ")
        )));
    }
    if NaiveDate::parse_from_str(begndate, "%Y-%m-%d").is_err() {
        return Err(refuse(format!(
            "begndate `{begndate}` is not a date (yyyy-MM-dd)"
        )));
    }
    let table = CodeTable::from_reader(text.as_bytes(), b',').map_err(|e| refuse(e.to_string()))?;
    let ver = registry::put_code_table(store, admdvs, infno, text, begndate, loaded_at).await?;
    Ok((table.len(), ver))
}

#[cfg(test)]
mod tests {
    use super::*;
    use yibao_domain::codes::FixmedinsType;

    const AS_OF: NaiveDate = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();

    const HEADER: &str = "psn_no,psn_cert_type,certno,psn_name,gend,brdy,insutype,psn_type,psn_insu_stas,psn_insu_date,insuplc_admdvs,cvlserv_flag,balc,idet\n";

    #[test]
    fn groups_rows_per_person() {
        let text = format!(
            "{HEADER}P1,01,360402199001010011,甲,1,1990-01-01,310,11,1,2015-01-01,360400,0,1000.50,DB;TK\n\
             P1,01,360402199001010011,甲,1,1990-01-01,320,11,1,2015-01-01,360400,1,0,\n\
             P2,01,360402199001010022,乙,2,1985-05-05,390,16,1,2020-01-01,360400,0,,\n"
        );
        let persons = read_persons_csv(text.as_bytes(), AS_OF).unwrap().persons;
        assert_eq!(persons.len(), 2);
        assert_eq!(persons[0].insu.len(), 2);
        assert_eq!(persons[0].insu[0].opening_balc, Fen(100_050));
        assert_eq!(persons[0].idet.len(), 2);
        // A file without the period columns: open periods, benefits from `psn_insu_date`.
        assert_eq!(persons[1].insu[0].insu_endtime, None);
        assert_eq!(persons[1].insu[0].benefit_begndate, None);
    }

    const PERIOD_HEADER: &str = "psn_no,psn_cert_type,certno,psn_name,gend,brdy,insutype,psn_type,psn_insu_stas,psn_insu_date,insuplc_admdvs,cvlserv_flag,balc,idet,insu_endtime,benefit_begndate\n";

    #[test]
    fn reads_insured_period_and_benefit_start() {
        let text = format!(
            "{PERIOD_HEADER}P1,01,1,甲,1,1990-01-01,390,16,1,2026-01-20,360400,0,0,,2026-12-31,2026-04-20 00:00:00\n\
             P2,01,2,乙,2,1985-05-05,390,16,2,2025-07-01,360400,0,0,,,\n"
        );
        let persons = read_persons_csv(text.as_bytes(), AS_OF).unwrap().persons;
        let waiting = &persons[0].insu[0];
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        assert_eq!(
            (waiting.insu_endtime, waiting.benefit_begndate),
            (day("2026-12-31"), day("2026-04-20"))
        );
        let suspended = &persons[1].insu[0];
        assert_eq!(suspended.psn_insu_stas.code(), "2");
        assert_eq!(
            (suspended.insu_endtime, suspended.benefit_begndate),
            (None, None)
        );
    }

    #[test]
    fn refuses_impossible_periods() {
        let cases = [
            (
                "9,2026-01-20,360400,0,0,,,",
                "psn_insu_stas",
                "not a status",
            ),
            ("1,,360400,0,0,,,", "psn_insu_date", "is empty"),
            (
                "1,2026-01-20,360400,0,0,,soon,",
                "insu_endtime",
                "not a date",
            ),
            (
                "1,2026-01-20,360400,0,0,,2025-12-31,",
                "insu_endtime",
                "before psn_insu_date",
            ),
            (
                "1,2026-01-20,360400,0,0,,,2026-01-19",
                "benefit_begndate",
                "before psn_insu_date",
            ),
        ];
        for (tail, column, problem) in cases {
            let text = format!("{PERIOD_HEADER}P1,01,1,甲,1,1990-01-01,390,16,{tail}\n");
            let error = read_persons_csv(text.as_bytes(), AS_OF)
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!("row 2, column `{column}`")) && error.contains(problem),
                "{tail}: {error}"
            );
        }
    }

    #[test]
    fn names_row_and_column() {
        let text = format!("{HEADER}P1,01,360402199001010011,甲,1,1990-01-01,310,11,1,2015-01-01,360400,0,1.234,\n");
        let error = read_persons_csv(text.as_bytes(), AS_OF)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("row 2, column `balc`"), "{error}");
        let text = format!(
            "{HEADER}P1,01,1,甲,1,1990-01-01,310,11,1,2015-01-01,360400,0,0,\nP1,01,1,甲,1,1990-01-01,310,11,1,2015-01-01,360400,0,0,\n"
        );
        let error = read_persons_csv(text.as_bytes(), AS_OF)
            .unwrap_err()
            .to_string();
        assert!(error.contains("row 3, column `insutype`"), "{error}");
    }

    #[test]
    fn institutions_read_typed_and_refuse_a_bad_region_naming_the_row() {
        let csv = "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs\n\
                   H36040200001,九江市第一人民医院,1,2,360402\n\
                   P36040200002,某药店,2,11,360402\n";
        let rows = read_institutions_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows[0].hosp_lv, Code::lit("2"));
        assert_eq!(rows[1].fixmedins_type, FixmedinsType::RetailPharmacy);
        assert_eq!(rows[1].admdvs, Code::lit("360402"));
        for (admdvs, problem) in [
            ("36040", "6-digit"),
            ("", "is empty"),
            ("3604021234567890", "longer"),
        ] {
            let bad = format!(
                "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs\nH1,甲医院,1,2,{admdvs}\n"
            );
            let error = read_institutions_csv(bad.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(error.contains(problem), "{admdvs}: {error}");
        }
    }
}
