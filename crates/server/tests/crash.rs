//! Crash tests. A server process is killed with SIGKILL in the middle of a settlement load, restarted
//! on the same database, and the ledger must verify, with every acknowledged settlement present
//! exactly once and its `msgid` still answered with the acknowledged reply. And one writer per
//! database across processes: while a server runs, a second one on its database refuses to start,
//! naming the first one's process; once that is killed, a new one starts.
//!
//! The server runs in a child process: this test binary re-invoked to run the ignored
//! `crash_child_server` test, which serves until it is killed. The test process itself only reads
//! the database (it holds no writer lock).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{fresh_database, Backend, Harness};
use serde_json::json;
use yibao_domain::Fen;
use yibao_his::{medfee_sumamt, steps, Client, FeeLine, HttpTransport, Message, Visit};
use yibao_server::app::{start_service, StartError};
use yibao_server::config::Config;

const DB_VAR: &str = "YIBAO_CRASH_CHILD_DATABASE";
const ADDR_VAR: &str = "YIBAO_CRASH_CHILD_ADDR_FILE";

/// Runs only as the child: serves `YIBAO_CRASH_CHILD_DATABASE` and writes its address to a file.
#[test]
#[ignore = "child process of the crash test"]
fn crash_child_server() {
    let (Ok(database), Ok(addr_file)) = (std::env::var(DB_VAR), std::env::var(ADDR_VAR)) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let dir = PathBuf::from(&addr_file).with_extension("dir");
        let config = Config {
            database,
            data_dir: dir,
            max_batch: 64,
            admin_token: common::ADMIN_TOKEN.into(),
            ..Config::default()
        };
        let (addr, _service) = spawn_when_free(config).await;
        std::fs::write(&addr_file, addr.to_string()).unwrap();
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

/// Starts the child's server, retrying while the writer lock is held, as a process manager
/// restarting it would: the PostgreSQL session of a killed predecessor ends a moment after it.
async fn spawn_when_free(config: Config) -> (std::net::SocketAddr, yibao_server::service::Service) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match yibao_server::app::spawn(config.clone()).await {
            Ok(started) => return started,
            Err(StartError::Ledger(yibao_ledger::LedgerError::WriterLocked { .. }))
                if Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("child server does not start: {error}"),
        }
    }
}

/// The child server process; killed (SIGKILL) and reaped when dropped.
struct ChildServer(Child);

impl ChildServer {
    /// `kill -9` and reap.
    fn kill_9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill_9();
    }
}

fn spawn_child(database: &str, addr_file: &Path) -> (ChildServer, String) {
    let _ = std::fs::remove_file(addr_file);
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child_server", "--ignored", "--nocapture"])
        .env(DB_VAR, database)
        .env(ADDR_VAR, addr_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = ChildServer(child);
    let started = Instant::now();
    loop {
        if let Ok(addr) = std::fs::read_to_string(addr_file) {
            if !addr.is_empty() {
                return (child, format!("http://{addr}"));
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An acknowledged settlement: its message, msgid and reply.
struct Acked {
    message: Message,
    msgid: String,
    reply: String,
}

/// A HIS client of the server at `base`.
fn his(client: reqwest::Client, base: &str) -> Client<'static, HttpTransport> {
    Client::new(HttpTransport::new(client, base), common::his_envelope())
}

/// One HIS client running outpatient flows (2201 → 2204 → 2207) until the server disappears.
async fn client_loop(base: String, client_no: usize, acked: Arc<Mutex<Vec<Acked>>>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let his = his(client, &base);
    let fixmedins = ["H36040200001", "H36042300021"][client_no % 2];
    let persons = ["P0001", "P0003", "P0004"];
    for round in 0.. {
        let msg = |step: &str| format!("{fixmedins}{client_no:03}{round:07}{step}");
        let visit = Visit {
            psn_no: persons[(client_no + round) % persons.len()].into(),
            insutype: "390".into(),
            med_type: "11".into(),
            begntime: "2026-03-01 09:00:00".into(),
            fixmedins_code: fixmedins.into(),
            feedetail: vec![
                FeeLine::priced("1", "XJ01CAA040A001010101791", 3, Fen(1_000)),
                FeeLine::priced("2", "001201000010000", 1, Fen(4_000)),
            ],
            ..Visit::default()
        };
        let Ok(registered) = his.send_as(&steps::register(&visit), &msg("1")).await else {
            return;
        };
        let mdtrt_id = steps::registered_mdtrt_id(&registered).unwrap();
        let fees = steps::upload_outpatient_fees(&visit, &mdtrt_id);
        if his.send_as(&fees, &msg("2")).await.is_err() {
            return;
        }
        let total = medfee_sumamt(&visit.feedetail).unwrap();
        let settle = steps::settle_outpatient(&visit, &mdtrt_id, total);
        let Ok(settled) = his.send_as(&settle, &msg("3")).await else {
            return;
        };
        acked.lock().unwrap().push(Acked {
            message: settle,
            msgid: settled.msgid,
            reply: settled.text,
        });
    }
}

async fn crash_and_recover(backend: Backend) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let kill_after_ms = 800 + seed % 1200;
    println!("crash test seed {seed}: kill -9 after {kill_after_ms} ms of load");
    let (database, dir) = fresh_database(backend, "crash").await;
    let addr_file = dir.join("addr");
    let (mut child, base) = spawn_child(&database, &addr_file);
    let setup = Harness::attach(base.clone(), database.clone(), dir.clone()).await;
    setup.load_fixtures().await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..8)
        .map(|n| tokio::spawn(client_loop(base.clone(), n, Arc::clone(&acked))))
        .collect();
    tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
    child.kill_9();
    for client in clients {
        client.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        !acked.is_empty(),
        "no settlement was acknowledged before the kill"
    );

    let (mut child, base) = spawn_child(&database, &addr_file);
    let restarted = setup.with_base(base.clone());
    let report = restarted.verify().await;
    assert_eq!(report["ok"], true, "{report}");
    let his = his(reqwest::Client::new(), &base);
    for a in &acked {
        let again = his
            .send_as(&a.message, &a.msgid)
            .await
            .expect("acknowledged msgid still answers");
        assert_eq!(
            again.text, a.reply,
            "msgid {} answered differently after the restart",
            a.msgid
        );
        let setl_id = steps::settled_setl_id(&again).unwrap();
        let query = restarted
            .ok(
                "5203",
                &a.message.fixmedins_code,
                json!({ "data": { "setl_id": setl_id } }),
            )
            .await;
        assert_eq!(query["setlinfo"]["setl_id"], setl_id);
    }
    let mut conn = restarted.store.pool().acquire().await.unwrap();
    let entries = yibao_ledger::entries::entries(&mut conn, &Default::default())
        .await
        .unwrap();
    for a in &acked {
        let count = entries
            .iter()
            .filter(|e| {
                e.header.msgid == a.msgid && e.header.fixmedins_code == a.message.fixmedins_code
            })
            .count();
        assert_eq!(
            count, 1,
            "acknowledged settlement {} is stored {count} times",
            a.msgid
        );
    }
    println!(
        "{} acknowledged settlements survived; ledger holds {}",
        acked.len(),
        entries.len()
    );
    child.kill_9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_load_sqlite() {
    crash_and_recover(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_load_postgres() {
    crash_and_recover(Backend::Postgres).await;
}

async fn second_server_refused(backend: Backend) {
    let (database, dir) = fresh_database(backend, "lock").await;
    let (mut child, _base) = spawn_child(&database, &dir.join("addr"));
    let pid = child.0.id();
    let config = Config {
        database,
        data_dir: dir.clone(),
        ..Config::default()
    };
    let refused = start_service(config.clone())
        .await
        .err()
        .expect("a second writer on the database is refused");
    assert!(
        matches!(
            refused,
            StartError::Ledger(yibao_ledger::LedgerError::WriterLocked { .. })
        ),
        "{refused}"
    );
    let message = refused.to_string();
    assert!(
        message.contains(&format!("pid {pid} ")) || message.contains(&format!("pid={pid} ")),
        "the refusal names the holder's process {pid}: {message}"
    );
    child.kill_9();
    let restarted = spawn_when_free(config).await;
    drop(restarted);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_server_refused_until_first_killed_sqlite() {
    second_server_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_server_refused_until_first_killed_postgres() {
    second_server_refused(Backend::Postgres).await;
}
