//! Shared helpers of the data-file tests: locating files and loading the 九江 collection policy.

use std::path::PathBuf;

use yibao_enrolment::CollectionPolicy;

/// A file under `tests/cases/`.
pub fn case_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `policies/jiujiang-collection.toml` at the workspace root, parsed and validated.
pub fn jiujiang_policy() -> CollectionPolicy {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/jiujiang-collection.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    CollectionPolicy::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
