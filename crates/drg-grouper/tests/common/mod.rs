//! Locating the shared reference data: `$YIBAO_SHARED_DIR`, else `../../../shared` from this crate.

use std::path::PathBuf;

/// The `shared/` folder that sits beside the repository.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("YIBAO_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// `shared/chs-drg`.
pub fn chs_drg_dir() -> PathBuf {
    shared_dir().join("chs-drg")
}
