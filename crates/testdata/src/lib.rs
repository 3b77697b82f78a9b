//! The national reference data that some tests, benches and examples read: the CHS-DRG rule tables,
//! the oracle cases, the 医保版 ICD code lists and the interface's field tables. They are not part of
//! the repository; they sit in `shared/` beside it (or in `$YIBAO_SHARED_DIR`), see README
//! "Reference data".
//!
//! A test asks for what it needs and returns early when it is missing:
//!
//! ```no_run
//! let Some(dir) = yibao_testdata::chs_drg() else { return };
//! ```
//!
//! Missing data is then said in one line on standard error (`skipped: …`), written past the test
//! harness's output capture so that `cargo test` shows it. With `YIBAO_REQUIRE_SHARED=1` (CI)
//! missing data fails the test instead.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable naming the reference data folder (default: `shared/` beside the repository).
pub const SHARED_DIR_VAR: &str = "YIBAO_SHARED_DIR";

/// Environment variable that turns missing reference data into a failure when set to `1`.
pub const REQUIRE_VAR: &str = "YIBAO_REQUIRE_SHARED";

/// One kind of reference data (a folder or a file): where it lies under the shared folder and what
/// it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataset {
    /// Path under the shared folder.
    pub relative: &'static str,
    /// What it is, for the skip line.
    pub what: &'static str,
}

/// `chs-drg/`: the CHS-DRG rule versions (`chs-drg-1.1/`, …) and `oracle-sample.jsonl`.
pub const CHS_DRG: Dataset = Dataset {
    relative: "chs-drg",
    what: "the national CHS-DRG rule tables and oracle cases",
};

/// `chs-drg/icd-yb2.0/`: the 医保版 2.0 diagnosis and procedure code lists (`ZD_INFO.dat`, …).
pub const ICD_CODES: Dataset = Dataset {
    relative: "chs-drg/icd-yb2.0",
    what: "the national 医保版 2.0 ICD code lists",
};

/// `chs-drg/payment/`: regional DRG weight tables.
pub const DRG_PAYMENT: Dataset = Dataset {
    relative: "chs-drg/payment",
    what: "the regional DRG weight tables",
};

/// `domain/interface-fields.json`: the field tables of the national interface specification.
pub const INTERFACE_FIELDS: Dataset = Dataset {
    relative: "domain/interface-fields.json",
    what: "the national interface's field tables",
};

/// The shared reference data folder: `$YIBAO_SHARED_DIR`, else `shared/` beside the repository.
fn shared_dir() -> PathBuf {
    match std::env::var_os(SHARED_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => beside_repository(),
    }
}

/// `shared/` next to the repository root (this crate is `<root>/crates/testdata`).
fn beside_repository() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let outside = crate_dir.ancestors().nth(3).unwrap_or(crate_dir);
    outside.join("shared")
}

/// The path of `dataset` when it is there. When it is not: `None` after one `skipped:` line on
/// standard error, or a panic when `YIBAO_REQUIRE_SHARED=1`.
pub fn find(dataset: Dataset) -> Option<PathBuf> {
    match locate(dataset) {
        Ok(dir) => Some(dir),
        Err(missing) if required() => panic!("{missing}, and {REQUIRE_VAR}=1"),
        Err(missing) => {
            say_skipped(&missing);
            None
        }
    }
}

/// [`CHS_DRG`], if present.
pub fn chs_drg() -> Option<PathBuf> {
    find(CHS_DRG)
}

/// [`ICD_CODES`], if present.
pub fn icd_codes() -> Option<PathBuf> {
    find(ICD_CODES)
}

/// [`DRG_PAYMENT`], if present.
pub fn drg_payment() -> Option<PathBuf> {
    find(DRG_PAYMENT)
}

/// [`INTERFACE_FIELDS`], if present.
pub fn interface_fields() -> Option<PathBuf> {
    find(INTERFACE_FIELDS)
}

/// The path of `dataset`, for benches and examples that cannot run without it (panics naming
/// what is missing).
pub fn expect(dataset: Dataset) -> PathBuf {
    locate(dataset).unwrap_or_else(|missing| panic!("{missing}"))
}

/// The path of `dataset`, or a sentence saying what is missing where.
fn locate(dataset: Dataset) -> Result<PathBuf, String> {
    let path = shared_dir().join(dataset.relative);
    if path.exists() {
        return Ok(path);
    }
    Err(format!(
        "{} not found ({}; see README \"Reference data\", or set {SHARED_DIR_VAR})",
        path.display(),
        dataset.what
    ))
}

/// Whether missing reference data is a failure (`YIBAO_REQUIRE_SHARED=1`).
fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|value| value == "1")
}

/// Writes the skip line straight to standard error (the test harness captures only `eprintln!`),
/// naming the test when it runs on a thread of its own.
fn say_skipped(missing: &str) {
    let thread = std::thread::current();
    let test = thread
        .name()
        .filter(|name| *name != "main")
        .map(|name| format!("{name}: "))
        .unwrap_or_default();
    let _ = writeln!(std::io::stderr().lock(), "skipped: {test}{missing}");
}

/// The seed of a randomized test: the number in the environment variable `var`, else one from the
/// clock; printed as `var=seed` so that a failing run can be replayed.
pub fn random_seed(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("{var}={seed}");
    eprintln!("{var}={seed}");
    seed
}
