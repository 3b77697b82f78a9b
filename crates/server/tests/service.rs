//! The service's black-box tests, one module per file beside this one, built as one test
//! executable (`cargo test -p yibao-server --test service [module::]`): one link of the service
//! instead of one per file. `logs.rs` (a process-wide log subscriber) and `crash.rs` (re-runs its
//! own executable as the server child) are executables of their own; `every_file_is_built` keeps
//! a new file from being left out.

mod common;

mod audit_cases;
mod audit_realtime;
mod backup;
mod batches;
mod catalogs;
mod clearing;
mod clearing_resubmit;
mod coverage;
mod dates;
mod deductions;
mod export_parquet;
mod fee_history;
mod fields;
mod files;
mod filings;
mod hostile;
mod hostile_cross_region;
mod http;
mod inpatient_order;
mod interface_doc;
mod lookups;
mod mappings;
mod openapi;
mod peers;
mod procurement;
mod providers;
mod reference_cases;
mod region_databases;
mod reimbursements;
mod reimport;
mod reinstate;
mod remote_filings;
mod reversed_reconcile;
mod sanctions;
mod settlement_lists;
mod stays;
mod upgrade;
mod words;
mod writer;

/// Every `tests/*.rs` is a module here or a `[[test]]` of its own in `Cargo.toml`.
#[test]
fn every_file_is_built() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let this = std::fs::read_to_string(dir.join("tests/service.rs")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir.join("tests")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        let declared = this.contains(&format!("\nmod {module};"));
        let target = manifest.contains(&format!("path = \"tests/{name}\""));
        if module != "service" && !declared && !target {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "test files built by nothing: {missing:?}"
    );
}
