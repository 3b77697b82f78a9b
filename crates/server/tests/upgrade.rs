//! Upgrades keep data. A database of the last released state (commit ce5e56f): its migrations as
//! they were (`tests/data/schema-ce5e56f/`, applied and recorded by sqlx as that release did) and the
//! rows its service wrote (`tests/data/release-ce5e56f.sql`). This service starts on it, migrating it
//! forward, and then: the ledger verifies; every settlement answers 5203 repeating the `setlinfo` it was
//! acknowledged with; an acknowledged `msgid` still answers its stored reply; an old settlement is
//! cancelled and a visit left open with uploaded fee lines is settled, as split at upload. On SQLite
//! and PostgreSQL.

use crate::common;

use std::path::PathBuf;

use common::{assert_query_repeats, fresh_database, yuan, Backend, Harness};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use yibao_server::config::{AuthMode, Config};

const HOSPITAL: &str = "H36040200001";
const CLINIC: &str = "H36042300021";

/// Ledger entries in the released database.
const RELEASED_ENTRIES: u64 = 13;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A database as the released service left it: its migrations applied by sqlx, then its rows.
async fn released_database(backend: Backend) -> (String, PathBuf) {
    let (database, dir) = fresh_database(backend, "upgrade").await;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&database).await.unwrap();
    let migrator = sqlx::migrate::Migrator::new(fixture("schema-ce5e56f"))
        .await
        .unwrap();
    migrator.run(&mut conn).await.unwrap();
    let rows = std::fs::read_to_string(fixture("release-ce5e56f.sql")).unwrap();
    sqlx::raw_sql(&rows).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    (database, dir)
}

/// Every settlement and cancellation with the reply that acknowledged it.
async fn acknowledged(h: &Harness) -> Vec<(String, String, Value)> {
    let mut conn = h.store.pool().acquire().await.unwrap();
    let rows = sqlx::query(
        "SELECT s.setl_id, s.fixmedins_code, m.reply FROM settlements s \
         JOIN messages m ON m.fixmedins_code = s.fixmedins_code AND m.msgid = s.msgid ORDER BY s.seq",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.iter()
        .map(|row| {
            let reply: String = row.get("reply");
            (
                row.get("setl_id"),
                row.get("fixmedins_code"),
                serde_json::from_str(&reply).unwrap(),
            )
        })
        .collect()
}

/// The open visit of P0004 at the clinic and the split replied when its lines were uploaded.
async fn open_visit(h: &Harness) -> (String, Vec<Value>) {
    let mut conn = h.store.pool().acquire().await.unwrap();
    let mdtrt_id: String = sqlx::query_scalar(
        "SELECT mdtrt_id FROM visits WHERE psn_no = 'P0004' AND fixmedins_code = $1 AND status = 'open'",
    )
    .bind(CLINIC)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let results: Vec<String> =
        sqlx::query_scalar("SELECT result FROM fee_lines WHERE mdtrt_id = $1 ORDER BY feedetl_sn")
            .bind(&mdtrt_id)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let split = results
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    (mdtrt_id, split)
}

/// The sum of one amount over the split rows, in yuan text.
fn split_sum(split: &[Value], key: &str) -> String {
    let fen: i64 = split
        .iter()
        .map(|row| yuan(&row[key]).replace('.', "").parse::<i64>().unwrap())
        .sum();
    format!("{}.{:02}", fen / 100, fen % 100)
}

async fn upgrade_keeps_data(backend: Backend) {
    let (database, dir) = released_database(backend).await;
    let h = Harness::start_with(Config {
        database,
        data_dir: dir,
        auth: AuthMode::None,
        ..Config::default()
    })
    .await;
    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], RELEASED_ENTRIES, "{report}");

    let acknowledged = acknowledged(&h).await;
    assert_eq!(acknowledged.len() as u64, RELEASED_ENTRIES);
    let mut queried = 0;
    for (setl_id, fixmedins, reply) in &acknowledged {
        // A 2601 reversal replies without the cancellation's `setlinfo`.
        let Some(setlinfo) = reply["output"].get("setlinfo") else {
            continue;
        };
        let query = h
            .ok("5203", fixmedins, json!({ "data": { "setl_id": setl_id } }))
            .await;
        assert_query_repeats(&query["setlinfo"], setlinfo);
        queried += 1;
    }
    assert_eq!(
        queried,
        RELEASED_ENTRIES - 2,
        "the entries not made by a 2601"
    );

    let (live, live_fixmedins, live_reply) = acknowledged
        .iter()
        .find(|(_, fixmedins, _)| fixmedins == CLINIC)
        .unwrap();
    let mut conn = h.store.pool().acquire().await.unwrap();
    let (msgid, mdtrt_id): (String, String) =
        sqlx::query_as("SELECT msgid, mdtrt_id FROM settlements WHERE setl_id = $1")
            .bind(live)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    drop(conn);
    let settle_again = json!({ "data": { "psn_no": "P0003", "mdtrt_id": mdtrt_id, "medfee_sumamt": "80.00", "insutype": "390" } });
    let (_, replayed) = h
        .call_with("2207", live_fixmedins, &msgid, settle_again)
        .await;
    assert_eq!(&replayed, live_reply, "the acknowledged msgid {msgid}");
    let cancel = h
        .ok(
            "2208",
            CLINIC,
            json!({ "data": { "setl_id": live, "mdtrt_id": mdtrt_id, "psn_no": "P0003" } }),
        )
        .await;
    assert_eq!(yuan(&cancel["setlinfo"]["medfee_sumamt"]), "-80.00");

    let (open, split) = open_visit(&h).await;
    let settled = h.ok("2207", CLINIC, json!({ "data": { "psn_no": "P0004", "mdtrt_id": open, "medfee_sumamt": "70.00", "insutype": "390" } })).await;
    for key in ["fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt"] {
        assert_eq!(
            yuan(&settled["setlinfo"][key]),
            split_sum(&split, key),
            "{key} of the lines uploaded before the upgrade"
        );
    }
    let cumulative = h
        .ok(
            "5206",
            HOSPITAL,
            json!({ "data": { "psn_no": "P0002", "cum_ym": "202603" } }),
        )
        .await;
    let spent = cumulative["cuminfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["cum_type_code"] == "S0000")
        .map(|row| yuan(&row["cum"]));
    assert_eq!(spent.as_deref(), Some("230.00"), "{cumulative}");

    let report = h.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], RELEASED_ENTRIES + 2, "{report}");
    h.stop().await;
}

#[tokio::test]
async fn released_database_upgrades_sqlite() {
    upgrade_keeps_data(Backend::Sqlite).await;
}

#[tokio::test]
async fn released_database_upgrades_postgres() {
    upgrade_keeps_data(Backend::Postgres).await;
}

/// The released migrations are byte for byte today's 0001–0003: sqlx compares checksums
/// (SHA-384 of the file), so a changed released migration would stop every released database
/// from starting.
#[test]
fn released_migrations_are_unchanged() {
    let current = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ledger/migrations");
    let released: Vec<_> = std::fs::read_dir(fixture("schema-ce5e56f"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(released.len(), 3);
    for name in released {
        assert_eq!(
            std::fs::read(fixture("schema-ce5e56f").join(&name)).unwrap(),
            std::fs::read(current.join(&name)).unwrap(),
            "{name:?} differs from the released migration"
        );
    }
}
