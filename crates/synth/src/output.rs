//! Writers for the generated files. CSV headers are fixed here; visits are written as one JSON
//! object per line with the keys in the `yibao settle` input order. Every value written is a
//! code, a number or a date (names go only to CSV), so the JSON needs no escaping.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use yibao_domain::decimal::write_scaled;

use crate::catalog::{Catalog, Item};
use crate::employers::{Employer, Employment};
use crate::icd::Diagnoses;
use crate::institutions::Institution;
use crate::lines::Line;
use crate::population::SynthPerson;
use crate::tables::COUNTIES;
use crate::visits::VisitHead;
use crate::SynthError;

/// `persons.csv` columns.
pub const PERSONS_HEADER: [&str; 14] = [
    "psn_no",
    "psn_cert_type",
    "certno",
    "psn_name",
    "gend",
    "brdy",
    "insutype",
    "psn_type",
    "psn_insu_stas",
    "psn_insu_date",
    "insuplc_admdvs",
    "cvlserv_flag",
    "balc",
    "idet",
];
/// `institutions.csv` columns.
pub const INSTITUTIONS_HEADER: [&str; 5] = [
    "fixmedins_code",
    "fixmedins_name",
    "fixmedins_type",
    "hosp_lv",
    "admdvs",
];
/// `employers.csv` columns.
pub const EMPLOYERS_HEADER: [&str; 6] = [
    "emp_no",
    "emp_name",
    "emp_type",
    "admdvs",
    "employee_count",
    "avg_monthly_wage",
];
/// `employment.csv` columns.
pub const EMPLOYMENT_HEADER: [&str; 4] = ["psn_no", "emp_no", "kind", "monthly_wage"];
/// `catalog.csv` columns.
pub const CATALOG_HEADER: [&str; 12] = [
    "med_list_codg",
    "med_list_name",
    "list_type",
    "med_chrgitm_type",
    "chrgitm_lv",
    "selfpay_prop",
    "pric_uplmt_amt",
    "lmt_used_flag",
    "lmt_gend",
    "lmt_age_min",
    "lmt_age_max",
    "lmt_hosp_lv",
];

/// A CSV file being written, with its path for messages.
pub struct CsvFile {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl CsvFile {
    /// Creates `dir/name` and writes the header.
    pub fn create(dir: &Path, name: &str, header: &[&str]) -> Result<CsvFile, SynthError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|error| SynthError::Io {
            path: path.clone(),
            error,
        })?;
        let mut csv = CsvFile {
            writer: csv::Writer::from_writer(BufWriter::new(file)),
            path,
        };
        csv.row(header)?;
        Ok(csv)
    }

    /// Writes one record.
    pub fn row<I, T>(&mut self, fields: I) -> Result<(), SynthError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer
            .write_record(fields)
            .map_err(|error| SynthError::Csv {
                path: self.path.clone(),
                error,
            })
    }

    /// Flushes to disk.
    pub fn finish(mut self) -> Result<(), SynthError> {
        self.writer.flush().map_err(|error| SynthError::Io {
            path: self.path.clone(),
            error,
        })
    }
}

/// Yuan text with two decimals.
pub fn yuan(fen: i64) -> String {
    yibao_domain::decimal::format_scaled(fen, 2)
}

/// `scaled / 10^scale` with trailing zeros dropped down to `min_decimals`.
fn push_trimmed(out: &mut String, scaled: i64, scale: u32, min_decimals: usize) {
    let start = out.len();
    write_scaled(out, scaled, scale);
    let point = out[start..].find('.').map(|p| start + p);
    if let Some(point) = point {
        let keep = point + 1 + min_decimals;
        while out.len() > keep && out.ends_with('0') {
            out.pop();
        }
        if out.ends_with('.') {
            out.pop();
        }
    }
}

/// Writes `persons.csv`.
pub fn write_persons(dir: &Path, persons: &[SynthPerson]) -> Result<(), SynthError> {
    let mut csv = CsvFile::create(dir, "persons.csv", &PERSONS_HEADER)?;
    for p in persons {
        let brdy = p.brdy.to_string();
        let insu_date = p.insu_date.to_string();
        let balance = yuan(p.balance_fen);
        let idet = p.identities.join(";");
        csv.row([
            p.psn_no.as_str(),
            "01",
            &p.certno,
            &p.name,
            p.gend(),
            &brdy,
            p.insutype(),
            p.psn_type(),
            p.status.code(),
            &insu_date,
            COUNTIES[p.county].admdvs,
            if p.civil_servant { "1" } else { "0" },
            &balance,
            &idet,
        ])?;
    }
    csv.finish()
}

/// Writes `institutions.csv`.
pub fn write_institutions(dir: &Path, institutions: &[Institution]) -> Result<(), SynthError> {
    let mut csv = CsvFile::create(dir, "institutions.csv", &INSTITUTIONS_HEADER)?;
    for i in institutions {
        csv.row([i.code.as_str(), &i.name, i.kind, i.hosp_lv, i.admdvs])?;
    }
    csv.finish()
}

/// Writes `employers.csv` and `employment.csv`.
pub fn write_employers(
    dir: &Path,
    employers: &[Employer],
    employment: &[Employment],
    persons: &[SynthPerson],
) -> Result<(), SynthError> {
    let mut csv = CsvFile::create(dir, "employers.csv", &EMPLOYERS_HEADER)?;
    for e in employers {
        let average = if e.employees == 0 {
            0
        } else {
            e.wage_total_fen / i64::from(e.employees)
        };
        let count = e.employees.to_string();
        csv.row([
            e.emp_no.as_str(),
            &e.name,
            e.kind,
            COUNTIES[e.county].admdvs,
            &count,
            &yuan(average),
        ])?;
    }
    csv.finish()?;
    let mut csv = CsvFile::create(dir, "employment.csv", &EMPLOYMENT_HEADER)?;
    for job in employment {
        let wage = yuan(job.monthly_wage_fen);
        csv.row([
            persons[job.person].psn_no.as_str(),
            &employers[job.employer].emp_no,
            job.kind,
            &wage,
        ])?;
    }
    csv.finish()
}

/// Writes `catalog.csv`.
pub fn write_catalog(dir: &Path, catalog: &Catalog) -> Result<(), SynthError> {
    let mut csv = CsvFile::create(dir, "catalog.csv", &CATALOG_HEADER)?;
    for item in &catalog.items {
        csv.row(catalog_row(item))?;
    }
    csv.finish()
}

fn catalog_row(item: &Item) -> [String; 12] {
    let mut selfpay = String::new();
    push_trimmed(&mut selfpay, i64::from(item.selfpay_bp), 4, 0);
    let cap = item
        .cap_micro
        .map(|c| yuan(c / crate::catalog::MICRO_PER_FEN))
        .unwrap_or_default();
    let limits = item.limits;
    [
        item.code.clone(),
        item.name.clone(),
        item.list_type.to_string(),
        item.chrgitm_type.to_string(),
        item.grade.code().to_string(),
        selfpay,
        cap,
        if limits.restricted { "1" } else { "0" }.to_string(),
        limits.gend.unwrap_or_default().to_string(),
        String::new(),
        limits
            .age_max_years
            .map(|a| a.to_string())
            .unwrap_or_default(),
        limits.min_level.map(|l| l.to_string()).unwrap_or_default(),
    ]
}

/// `visits.jsonl`, written visit by visit.
pub struct VisitFile {
    path: PathBuf,
    writer: BufWriter<File>,
    buffer: String,
}

/// Everything one visit line refers to.
pub struct VisitRecord<'a> {
    pub mdtrt_id: &'a str,
    pub head: &'a VisitHead,
    pub person: &'a SynthPerson,
    pub institution: &'a Institution,
    pub lines: &'a [Line],
}

impl VisitFile {
    /// Creates `dir/visits.jsonl`.
    pub fn create(dir: &Path) -> Result<VisitFile, SynthError> {
        let path = dir.join("visits.jsonl");
        let file = File::create(&path).map_err(|error| SynthError::Io {
            path: path.clone(),
            error,
        })?;
        Ok(VisitFile {
            path,
            writer: BufWriter::with_capacity(1 << 20, file),
            buffer: String::with_capacity(4096),
        })
    }

    /// Appends one visit line.
    pub fn write(
        &mut self,
        visit: &VisitRecord<'_>,
        catalog: &Catalog,
        diagnoses: &Diagnoses,
    ) -> Result<(), SynthError> {
        self.buffer.clear();
        format_visit(&mut self.buffer, visit, catalog, diagnoses);
        self.writer
            .write_all(self.buffer.as_bytes())
            .map_err(|error| SynthError::Io {
                path: self.path.clone(),
                error,
            })
    }

    /// Flushes to disk.
    pub fn finish(mut self) -> Result<(), SynthError> {
        self.writer.flush().map_err(|error| SynthError::Io {
            path: self.path.clone(),
            error,
        })
    }
}

fn format_visit(
    out: &mut String,
    visit: &VisitRecord<'_>,
    catalog: &Catalog,
    diagnoses: &Diagnoses,
) {
    let (head, person, place) = (visit.head, visit.person, visit.institution);
    out.push('{');
    push_field(out, "mdtrt_id", visit.mdtrt_id);
    push_field(out, "psn_no", &person.psn_no);
    push_field(out, "insutype", person.insutype());
    push_field(out, "psn_type", person.psn_type());
    push_field(out, "gend", person.gend());
    open_field(out, "brdy");
    push_date(out, person.brdy);
    out.push_str("\",\"idet\":[");
    for (i, code) in person.identities.iter().enumerate() {
        out.push_str(if i == 0 { "\"" } else { ",\"" });
        out.push_str(code);
        out.push('"');
    }
    out.push_str("],");
    push_field(out, "cvlserv_flag", flag(person.civil_servant));
    open_field(out, "balc");
    write_scaled(out, person.balance_fen, 2);
    out.push_str("\",");
    push_field(out, "med_type", head.kind.med_type());
    open_field(out, "begntime");
    push_datetime(out, head.begin);
    out.push_str("\",");
    open_field(out, "endtime");
    push_datetime(out, head.end);
    out.push_str("\",");
    push_field(out, "fixmedins_code", &place.code);
    push_field(out, "hosp_lv", place.hosp_lv);
    push_field(out, "medins_admdvs", place.admdvs);
    push_field(out, "insuplc_admdvs", COUNTIES[person.county].admdvs);
    push_field(out, "refl_flag", flag(head.referred));
    push_field(out, "dise_codg", head.diagnosis.code(diagnoses));
    out.push_str("\"feedetail\":[");
    for (i, line) in visit.lines.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        format_line(out, i + 1, line, catalog);
    }
    out.push_str("]}\n");
}

fn flag(set: bool) -> &'static str {
    if set {
        "1"
    } else {
        "0"
    }
}

/// `"key":"` — the value and its closing quote follow.
fn open_field(out: &mut String, key: &str) {
    out.push('"');
    out.push_str(key);
    out.push_str("\":\"");
}

/// `"key":"value",`.
fn push_field(out: &mut String, key: &str, value: &str) {
    open_field(out, key);
    out.push_str(value);
    out.push_str("\",");
}

/// `value` in decimal, left-padded with zeros to `width` digits.
fn push_padded(out: &mut String, value: u32, width: usize) {
    let _ = write!(out, "{value:0width$}");
}

/// `yyyy-MM-dd`.
fn push_date(out: &mut String, date: NaiveDate) {
    push_padded(out, date.year() as u32, 4);
    out.push('-');
    push_padded(out, date.month(), 2);
    out.push('-');
    push_padded(out, date.day(), 2);
}

/// `yyyy-MM-dd HH:mm:ss`.
fn push_datetime(out: &mut String, time: NaiveDateTime) {
    push_date(out, time.date());
    for (separator, value) in [
        (' ', time.hour()),
        (':', time.minute()),
        (':', time.second()),
    ] {
        out.push(separator);
        push_padded(out, value, 2);
    }
}

fn format_line(out: &mut String, serial: usize, line: &Line, catalog: &Catalog) {
    let code = &catalog.items[line.item as usize].code;
    let _ = write!(
        out,
        "{{\"feedetl_sn\":\"{serial}\",\"med_list_codg\":\"{code}\",\"cnt\":\""
    );
    push_trimmed(out, line.cnt_e4, 4, 0);
    out.push_str("\",\"pric\":\"");
    push_trimmed(out, line.pric_micro, 6, 2);
    out.push_str("\",\"det_item_fee_sumamt\":\"");
    write_scaled(out, line.amount_fen, 2);
    let _ = write!(out, "\",\"hosp_appr_flag\":\"{}\"}}", line.approval);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_decimals() {
        let text = |value, scale, min| {
            let mut out = String::new();
            push_trimmed(&mut out, value, scale, min);
            out
        };
        assert_eq!(text(30_000, 4, 0), "3");
        assert_eq!(text(25_000, 4, 0), "2.5");
        assert_eq!(text(12_500_000, 6, 2), "12.50");
        assert_eq!(text(125_000, 6, 2), "0.125");
        assert_eq!(text(1_000, 4, 0), "0.1");
    }
}
