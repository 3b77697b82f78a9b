//! `docs/interface.md` lists exactly the transactions of the service's table (`TRANSACTIONS`), each
//! with its name, access, what a 2601 does to it and its kind of care.

use std::collections::BTreeMap;
use std::path::PathBuf;

use yibao_server::tx::{Access, Clearing, Reversal, TxSpec, TRANSACTIONS};

/// The heading of the section whose table lists the transactions.
const SECTION: &str = "## Transactions implemented";

/// The row `docs/interface.md` must have for a transaction (without the `infno` cell).
fn expected_row(spec: &TxSpec) -> [&'static str; 4] {
    let access = match spec.access {
        Access::Read => "read",
        Access::Write => "write",
        Access::Registry => "registry",
    };
    let reversal = match spec.reversal {
        Some(Reversal::CancelSettlement) => "cancels the settlement",
        Some(Reversal::CancelAdmission) => "cancels the admission",
        Some(Reversal::ReinstateSettlement) => "reinstates the settlement",
        None => "—",
    };
    let clearing = match spec.clearing {
        Some(Clearing::Outpatient) => "outpatient",
        Some(Clearing::Inpatient) => "inpatient",
        Some(Clearing::Pharmacy) => "pharmacy",
        None => "—",
    };
    [spec.name, access, reversal, clearing]
}

/// The transaction rows of the section's table, by `infno`.
fn documented_rows(text: &str) -> BTreeMap<String, Vec<String>> {
    let section = text
        .split_once(SECTION)
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .unwrap_or_else(|| panic!("docs/interface.md has no section `{SECTION}`"));
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_string())
            .collect();
        let is_infno = cells
            .first()
            .is_some_and(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
            && cells[0] != "infno";
        if is_infno {
            let infno = cells[0].clone();
            assert!(
                rows.insert(infno.clone(), cells[1..].to_vec()).is_none(),
                "{infno} is listed twice"
            );
        }
    }
    rows
}

#[test]
fn interface_doc_lists_every_transaction() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/interface.md");
    let text = std::fs::read_to_string(&path).expect("docs/interface.md exists");
    let mut documented = documented_rows(&text);
    for spec in TRANSACTIONS {
        let row = documented.remove(spec.infno).unwrap_or_else(|| {
            panic!(
                "docs/interface.md does not list {} {}",
                spec.infno, spec.name
            )
        });
        assert_eq!(
            row,
            expected_row(spec),
            "docs/interface.md describes {} differently from TRANSACTIONS",
            spec.infno
        );
    }
    assert!(
        documented.is_empty(),
        "docs/interface.md lists transactions the service does not implement: {:?}",
        documented.keys().collect::<Vec<_>>()
    );
}
