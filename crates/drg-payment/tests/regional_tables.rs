//! The regional weight tables in `shared/chs-drg/payment/` load as base-point sources, and the
//! example policy under `policies/drg/` loads against them.

use std::path::PathBuf;

use yibao_drg_payment::{Points, Policy, WeightTable};

#[test]
fn every_regional_table_loads() {
    let Some(dir) = yibao_testdata::drg_payment() else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("payment dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 27);
    for path in &files {
        let table = WeightTable::from_csv(path, None, None, Points::parse("100").unwrap())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            table.points.len() > 500,
            "{}: only {} weighted DRGs",
            path.display(),
            table.points.len()
        );
    }
    let beijing = WeightTable::from_csv(
        &dir.join("beijing-2022.csv"),
        None,
        None,
        Points::parse("100").unwrap(),
    )
    .unwrap();
    assert_eq!(beijing.points["AE19"], Points::parse("580").unwrap());
    assert_eq!(
        beijing.unweighted.values().next().map(String::as_str),
        Some("按项目据实支付")
    );
    let urumqi = WeightTable::from_csv(
        &dir.join("urumqi-2022.csv"),
        None,
        None,
        Points::parse("100").unwrap(),
    )
    .unwrap();
    assert_eq!(
        urumqi.conflicts.len(),
        1,
        "DR13 is listed twice with different weights"
    );
    assert_eq!(
        urumqi.points["DR13"],
        Points::parse("145.47").unwrap(),
        "the first row is kept"
    );
    let yinchuan = WeightTable::from_csv(
        &dir.join("yinchuan-2023.csv"),
        None,
        Some("标准分值"),
        Points::parse("1").unwrap(),
    )
    .unwrap();
    assert_eq!(yinchuan.points["AH11"], Points::parse("77361.96").unwrap());
}

/// The example policy takes its base points from `shared/chs-drg/payment/beijing-2022.csv`.
#[test]
fn example_policy_loads() {
    if yibao_testdata::drg_payment().is_none() {
        return;
    }
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/drg/example-2024.toml");
    let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.year, 2024);
    assert!(policy.base_points.len() > 600);
    assert!(!policy.bands.is_empty());
}
