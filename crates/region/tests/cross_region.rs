//! The region with cross-region care (issue 11 §7), as `yibao demo` runs it: its persons treated at
//! 南昌's hospitals settle on the home platform (南昌's catalogue, 九江's policy), those treated at
//! other provinces' hospitals on peer platforms started on loopback, which ask the home platform
//! to settle; every month is cleared. The clearing's outbound lines hold that care to the fen, each
//! peer platform's ledger agrees with the home platform's clearing, and every ledger verifies.

use std::path::{Path, PathBuf};

use yibao_domain::Fen;
use yibao_ledger::Store;
use yibao_region::cross_region::{CrossRegionConfig, Direction};
use yibao_region::{Database, RegionConfig, RegionRun};
use yibao_synth::{DiagnosisSource, Silent, SynthConfig};

/// Enough persons for a few dozen visits outside the region (the generator sends 4 % of the
/// admissions and 1 % of the outpatient visits to remote hospitals, two of its five in other
/// provinces).
const PERSONS: u64 = 600;
const SEED: u64 = 20_251_107;
const YEAR: i32 = 2025;
const CLIENTS: usize = 8;

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cross-region-{SEED}"))
}

fn run_region() -> RegionRun {
    let dir = work_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let synth = SynthConfig {
        persons: PERSONS,
        seed: SEED,
        year: YEAR,
        out_dir: dir.join("synth"),
        diagnoses: DiagnosisSource::BuiltIn,
        fraud: false,
    };
    let config = RegionConfig {
        cross_region: Some(CrossRegionConfig::jiangxi()),
        ..RegionConfig::reference(synth, Database::DataDir(dir.join("db")), CLIENTS)
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(yibao_region::run(&config, &mut Silent))
        .unwrap()
}

async fn assert_verifies(dir: &Path) {
    let store = Store::open_data_dir(dir).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let report = yibao_ledger::verify::verify(&mut conn).await.unwrap();
    assert!(
        report.problems.is_empty(),
        "{}: {:#?}",
        dir.display(),
        report.problems
    );
    assert!(report.entries > 0, "{}: no entries", dir.display());
    drop(conn);
    store.close().await;
}

#[test]
fn remote_care_is_settled_on_the_right_platform_and_cleared() {
    let run = run_region();
    assert_eq!(run.replayed.failed, 0, "{:?}", run.replayed.errors);
    let cross = run
        .cross_region
        .as_ref()
        .expect("cross-region care asked for");
    assert_eq!(cross.home_region, "360400");
    let nanchang = cross
        .outbound_to("360100")
        .expect("an outbound line to 南昌");
    assert!(!nanchang.peer_platform);
    assert!(nanchang.totals.settlements > 0, "{nanchang:?}");
    assert!(nanchang.totals.fund_paid > Fen::ZERO, "{nanchang:?}");
    let admissions: i64 = cross.lines.iter().map(|l| l.totals.admissions).sum();
    assert!(admissions > 0, "remote admissions: {:?}", cross.lines);
    assert!(!cross.peer_views.is_empty(), "other provinces' platforms");
    for view in &cross.peer_views {
        let line = cross
            .outbound_to(&view.region)
            .unwrap_or_else(|| panic!("an outbound line to {}", view.region));
        assert!(line.peer_platform, "{line:?}");
        assert!(view.totals.settlements > 0, "{view:?}");
        assert!(
            view.totals.admissions <= view.totals.settlements,
            "{view:?}"
        );
        assert_eq!(
            line.totals, view.totals,
            "the peer's ledger and the clearing"
        );
    }
    assert!(
        cross
            .lines
            .iter()
            .all(|l| l.direction == Direction::Outbound),
        "the region's hospitals treat no one insured elsewhere: {:?}",
        cross.lines
    );
    let cleared: Fen = cross.clearings.iter().map(|c| c.row.fund_owed).sum();
    let lines: Fen = cross.lines.iter().map(|l| l.totals.fund_paid).sum();
    assert_eq!(cleared, lines, "every clearing row is in a line");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        assert_verifies(&work_dir().join("db")).await;
        for view in &cross.peer_views {
            assert_verifies(&work_dir().join("synth/peers").join(&view.region)).await;
        }
    });
}
