//! Where the commands find the national code lists: the `shared/` folder next to the repository
//! (from the working directory, or from this crate's source), else the built-in common codes.

use std::path::{Path, PathBuf};

use yibao_synth::icd::DIAGNOSIS_FILE;
use yibao_synth::DiagnosisSource;

/// The code lists relative to the repository root, and relative to this crate's source.
const ICD_DIR_FROM_REPO: &str = "../shared/chs-drg/icd-yb2.0";
const ICD_DIR_FROM_CRATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/chs-drg/icd-yb2.0"
);

/// The diagnosis list to generate from: `given` when set, else the shared national list if it
/// is next to the repository, else the built-in common diagnoses (said on standard error).
pub fn diagnosis_source(given: Option<&Path>) -> DiagnosisSource {
    if let Some(dir) = given {
        return DiagnosisSource::Directory(dir.to_path_buf());
    }
    match [ICD_DIR_FROM_REPO, ICD_DIR_FROM_CRATE]
        .iter()
        .map(PathBuf::from)
        .find(|dir| dir.join(DIAGNOSIS_FILE).is_file())
    {
        Some(dir) => DiagnosisSource::Directory(dir),
        None => {
            eprintln!("no {DIAGNOSIS_FILE} in {ICD_DIR_FROM_REPO}: generating from the built-in list of common diagnoses (pass --icd-dir for the full list)");
            DiagnosisSource::BuiltIn
        }
    }
}
