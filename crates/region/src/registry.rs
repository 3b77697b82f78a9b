//! The region's registry in the store, through the service's import API: institutions, persons
//! with their insured periods and benefit starts (waiting periods from `yibao-enrolment`), the
//! benefit policy and the region's catalogue.

use std::fs::File;
use std::path::Path;

use yibao_enrolment::CollectionPolicy;
use yibao_ledger::{registry, Store};
use yibao_server::import::{self, PersonRow};

use crate::collect::{self, PersonRecord};
use crate::RegionError;

/// What was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    pub institutions: usize,
    pub persons: usize,
    pub catalog_items: usize,
}

/// Loads `institutions.csv`, `persons.csv` and `catalog.csv` of a generated region for coverage
/// year `year` and the benefit policy text; `loaded_at` is recorded with the documents. Each
/// person's insured period and benefit start come from their register entry
/// ([`collect::register_entry`], waiting rules of `collection`).
pub async fn load(
    store: &Store,
    dir: &Path,
    benefit_policy: &str,
    collection: &CollectionPolicy,
    year: i32,
    loaded_at: &str,
) -> Result<Registered, RegionError> {
    let institutions = import::read_institutions_csv(open(&dir.join("institutions.csv"))?)?;
    registry::upsert_institutions(store, &institutions).await?;
    let rows = person_rows(dir, collection, year)?;
    let as_of = chrono::NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| RegionError::Input {
        what: "year".into(),
        problem: format!("{year} is not a calendar year"),
    })?;
    let persons = import::persons_as_of(&rows, 2, as_of)?;
    registry::upsert_persons(store, &persons).await?;
    let admdvs = import::import_policy(store, benefit_policy, loaded_at).await?;
    let catalog_path = dir.join("catalog.csv");
    let catalog = std::fs::read_to_string(&catalog_path).map_err(|e| RegionError::Input {
        what: catalog_path.display().to_string(),
        problem: e.to_string(),
    })?;
    let catalog_items = import::import_catalog(store, &admdvs, &catalog, loaded_at).await?;
    Ok(Registered {
        institutions: institutions.len(),
        persons: persons.len(),
        catalog_items,
    })
}

/// The rows of `persons.csv` with `insu_endtime` and `benefit_begndate` of each register entry.
fn person_rows(
    dir: &Path,
    collection: &CollectionPolicy,
    year: i32,
) -> Result<Vec<PersonRow>, RegionError> {
    let path = dir.join("persons.csv");
    let mut rows: Vec<PersonRow> = collect::read_csv(&path)?;
    let records: Vec<PersonRecord> = collect::read_csv(&path)?;
    let waiting = collect::waiting_rules(collection, year)?;
    for (row, record) in rows.iter_mut().zip(&records) {
        let entry = collect::register_entry(record, None, year, waiting)?;
        if let Some(period) = entry.insured_periods.first() {
            row.insu_endtime = period.end.map(|d| d.to_string()).unwrap_or_default();
            row.benefit_begndate = period.benefit_start.to_string();
        }
    }
    Ok(rows)
}

fn open(path: &Path) -> Result<File, RegionError> {
    File::open(path).map_err(|e| RegionError::Input {
        what: path.display().to_string(),
        problem: e.to_string(),
    })
}
