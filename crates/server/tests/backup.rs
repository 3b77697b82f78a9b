//! Backups. On SQLite: an online backup taken while HIS clients settle visits restores to a ledger
//! that verifies and holds every settlement acknowledged before the backup started; a restore is
//! refused into a running service's data directory, over a database without `force`, and from a
//! file that is not a yibao database. On PostgreSQL: a service database dumped with `pg_dump` and
//! restored with `pg_restore` into a fresh database verifies and holds every settlement.

use crate::common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    fresh_database, line, pg_base_url, scratch_dir, setl_id, with_search_path, Backend, Harness,
    DRUG,
};
use serde_json::json;
use sqlx::Connection;
use yibao_ledger::backup::{backup, restore};
use yibao_ledger::{LedgerError, Store};
use yibao_server::config::{AuthMode, Config};

const CLINIC: &str = "H36042300021";
const PERSONS: [&str; 3] = ["P0001", "P0003", "P0004"];

/// A settlement and when its reply arrived.
struct Acked {
    setl_id: String,
    at: Instant,
}

/// One outpatient visit of `psn_no` settled (2201 → 2204 → 2207); its `setl_id`.
async fn settle_visit(h: &Harness, psn_no: &str) -> String {
    let registered = h
        .ok(
            "2201",
            CLINIC,
            json!({ "data": { "psn_no": psn_no, "insutype": "390", "begntime": "2026-03-01 09:00:00" } }),
        )
        .await;
    let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_string();
    let fee = line("1", &mdtrt_id, DRUG, "3", "10.00", "30.00");
    h.ok("2204", CLINIC, json!({ "feedetail": [fee] })).await;
    let settled = h
        .ok(
            "2207",
            CLINIC,
            json!({ "data": { "psn_no": psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": "30.00", "insutype": "390" } }),
        )
        .await;
    setl_id(&settled)
}

/// Settles visits until `stop`, recording each acknowledgement.
async fn client_loop(
    h: Arc<Harness>,
    client: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
) {
    for round in 0.. {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let setl_id = settle_visit(&h, PERSONS[(client + round) % PERSONS.len()]).await;
        acked.lock().unwrap().push(Acked {
            setl_id,
            at: Instant::now(),
        });
    }
}

/// The `setl_id`s in a ledger.
async fn stored_settlements(store: &Store) -> HashSet<String> {
    let mut conn = store.pool().acquire().await.unwrap();
    sqlx::query_scalar("SELECT setl_id FROM settlements")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_backup_restores_every_acknowledged_settlement() {
    let (database, data_dir) = fresh_database(Backend::Sqlite, "backup").await;
    let h = Harness::start_with(Config {
        database,
        data_dir: data_dir.clone(),
        auth: AuthMode::None,
        ..Config::default()
    })
    .await;
    h.load_fixtures().await;
    let h = Arc::new(h);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..4)
        .map(|n| {
            let (h, stop, acked) = (Arc::clone(&h), Arc::clone(&stop), Arc::clone(&acked));
            tokio::spawn(client_loop(h, n, stop, acked))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let work = scratch_dir("backup-out");
    let file = work.join("yibao-backup.db");
    let started = Instant::now();
    let summary = backup(&data_dir, &file).await.unwrap();
    let finished = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Release);
    for client in clients {
        client.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let before: Vec<&Acked> = acked.iter().filter(|a| a.at < started).collect();
    let during = acked
        .iter()
        .filter(|a| a.at >= started && a.at <= finished)
        .count();
    println!(
        "{} settlements acknowledged before the backup, {during} while it ran, {} in all; backup {} bytes",
        before.len(),
        acked.len(),
        summary.bytes
    );
    assert!(!before.is_empty(), "no settlement before the backup");
    assert!(
        acked.len() > before.len(),
        "no settlement after the backup started"
    );
    assert_eq!(summary.schema_version, yibao_ledger::schema_version());

    let restored_dir = work.join("restored");
    let restored = restore(&file, &restored_dir, false).await.unwrap();
    assert!(restored.verify.is_ok(), "{:?}", restored.verify.problems);
    assert_eq!(restored.verify.entries as i64, summary.ledger_entries);
    assert_eq!(restored.replaced, None);
    let store = Store::open_data_dir(&restored_dir).await.unwrap();
    let stored = stored_settlements(&store).await;
    store.close().await;
    let missing: Vec<&str> = before
        .iter()
        .map(|a| a.setl_id.as_str())
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing from it: {missing:?}"
    );

    refusals(&file, &data_dir, &restored_dir).await;
    Arc::into_inner(h).unwrap().stop().await;
    let _ = std::fs::remove_dir_all(work);
}

/// What restore refuses, and `force`.
async fn refusals(file: &Path, live_dir: &Path, restored_dir: &Path) {
    let live = restore(file, live_dir, true).await.unwrap_err();
    assert!(matches!(live, LedgerError::WriterLocked { .. }), "{live:?}");
    let exists = restore(file, restored_dir, false).await.unwrap_err();
    assert!(
        matches!(exists, LedgerError::DatabaseExists { .. }),
        "{exists:?}"
    );
    let forced = restore(file, restored_dir, true).await.unwrap();
    let replaced = forced.replaced.expect("the replaced database is kept");
    assert!(replaced.is_file(), "{}", replaced.display());
    assert!(forced.verify.is_ok(), "{:?}", forced.verify.problems);

    let junk = restored_dir.with_file_name("junk.db");
    std::fs::write(&junk, "not a database").unwrap();
    let error = restore(&junk, &restored_dir.with_file_name("from-junk"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LedgerError::NotADatabase { path, .. } if path == &junk.display().to_string()),
        "{error:?}"
    );
    let foreign = restored_dir.with_file_name("foreign.db");
    let mut conn =
        sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=rwc", foreign.display()))
            .await
            .unwrap();
    sqlx::query("CREATE TABLE t (x TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let error = restore(
        &foreign,
        &restored_dir.with_file_name("from-foreign"),
        false,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("no yibao migrations table"),
        "{error}"
    );
    let error = backup(&restored_dir.with_file_name("none"), &junk)
        .await
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::NotADatabase { .. }),
        "{error:?}"
    );
    let error = backup(restored_dir, &junk).await.unwrap_err();
    assert!(
        matches!(error, LedgerError::BackupExists { .. }),
        "{error:?}"
    );
}

/// `postgres://…/<database>` of the test server with another database name.
fn pg_url_of_database(name: &str) -> String {
    let base = pg_base_url();
    let (address, query) = base.split_once('?').unwrap_or((&base, ""));
    let (server, _) = address.rsplit_once('/').unwrap();
    match query {
        "" => format!("{server}/{name}"),
        query => format!("{server}/{name}?{query}"),
    }
}

/// Runs a PostgreSQL client program, which must succeed.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn pg_dump_and_restore_keep_a_service_database() {
    if Command::new("pg_dump").arg("--version").output().is_err() {
        eprintln!("skipped: pg_dump is not installed (PostgreSQL client programs)");
        return;
    }
    let h = Harness::start(Backend::Postgres, AuthMode::None, "pgdump").await;
    let mut settled = HashSet::new();
    for psn_no in PERSONS {
        settled.insert(settle_visit(&h, psn_no).await);
    }
    let cancelled = settled.iter().next().unwrap().clone();
    h.ok("2208", CLINIC, json!({ "data": { "setl_id": cancelled } }))
        .await;
    let source_entries = stored_settlements(&h.store).await;
    assert_eq!(source_entries.len(), PERSONS.len() + 1);
    let schema = h
        .database
        .rsplit("search_path%3D")
        .next()
        .unwrap()
        .to_string();
    h.stop().await;

    let work = scratch_dir("pgdump");
    let dump = work.join("service.dump");
    let dump_path = dump.display().to_string();
    run(
        "pg_dump",
        &[
            "--format=custom",
            "--schema",
            &schema,
            "--file",
            &dump_path,
            &pg_base_url(),
        ],
    );
    let restored = format!("yibao_restore_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(&pg_base_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {restored}"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {restored}"))
        .execute(&mut admin)
        .await
        .unwrap();
    run(
        "pg_restore",
        &[
            "--exit-on-error",
            "--dbname",
            &pg_url_of_database(&restored),
            &dump_path,
        ],
    );

    let url = with_search_path(&pg_url_of_database(&restored), &schema);
    let store = Store::open(&url).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let report = yibao_ledger::verify::verify(&mut conn).await.unwrap();
    drop(conn);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(stored_settlements(&store).await, source_entries);
    store.close().await;
    sqlx::query(&format!("DROP DATABASE {restored}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(work);
}
