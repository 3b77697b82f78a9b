//! Every case of `shared/chs-drg/oracle-sample.jsonl` must group to the expected status, MDC, ADRG
//! and DRG (for `zhejiang_2022`, the rows where the upstream implementations agree).

use std::collections::BTreeMap;

use serde::Deserialize;
use yibao_drg_grouper::{parse_json_case, GrouperSet, LoadOptions, Scratch};

#[derive(Deserialize)]
struct OracleRow {
    id: String,
    grouper: String,
    implementations_agree: bool,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    status: String,
    mdc: String,
    adrg: String,
    drg: String,
}

#[test]
fn oracle_sample_groups_exactly() {
    let Some(dir) = yibao_testdata::chs_drg() else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("oracle-sample.jsonl"))
        .expect("oracle-sample.jsonl readable");
    let set = GrouperSet::open(&dir, None, LoadOptions::default()).expect("rule folder opens");
    let mut scratch = Scratch::default();
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let row: OracleRow = serde_json::from_str(line).expect("oracle row");
        if row.grouper == "zhejiang_2022" && !row.implementations_agree {
            continue;
        }
        let case = parse_json_case(line, index + 1).expect("oracle case parses");
        let grouper = set.get(case.version.as_deref()).expect("version loads");
        let got = grouper.group(
            &case.patient,
            &case.diagnoses,
            &case.procedures,
            &mut scratch,
        );
        let want = &row.expected;
        let actual = (got.status.as_str(), got.mdc, got.adrg, got.drg);
        if actual
            != (
                want.status.as_str(),
                want.mdc.as_str(),
                want.adrg.as_str(),
                want.drg.as_str(),
            )
        {
            failures.push(format!(
                "{}: got {actual:?}, want {} {} {} {}",
                row.id, want.status, want.mdc, want.adrg, want.drg
            ));
        }
        *checked.entry(row.grouper).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked.get("chs_drg_11"), Some(&1690));
    assert_eq!(checked.get("chs_drg_10"), Some(&577));
    assert_eq!(checked.get("zhejiang_2022"), Some(&773));
}
