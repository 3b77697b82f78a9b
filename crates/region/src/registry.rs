//! The region's registry in the store, through the service's import API: institutions, persons,
//! the benefit policy and the region's catalogue.

use std::fs::File;
use std::path::Path;

use yibao_ledger::{registry, Store};
use yibao_server::import;

use crate::RegionError;

/// What was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    pub institutions: usize,
    pub persons: usize,
    pub catalog_items: usize,
}

/// Loads `institutions.csv`, `persons.csv` and `catalog.csv` of a generated region and the
/// benefit policy text; `loaded_at` is recorded with the documents.
pub async fn load(
    store: &Store,
    dir: &Path,
    benefit_policy: &str,
    loaded_at: &str,
) -> Result<Registered, RegionError> {
    let institutions = import::read_institutions_csv(open(&dir.join("institutions.csv"))?)?;
    registry::upsert_institutions(store, &institutions).await?;
    let persons = import::read_persons_csv(open(&dir.join("persons.csv"))?)?;
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

fn open(path: &Path) -> Result<File, RegionError> {
    File::open(path).map_err(|e| RegionError::Input {
        what: path.display().to_string(),
        problem: e.to_string(),
    })
}
