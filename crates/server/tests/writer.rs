//! The service's ledger writer: one writer per database (a second service on the same database
//! refuses to start and names the holder; once the first has stopped, a new one starts; reading and
//! verifying the database beside the writer takes no lock), and a message whose writes the database
//! refuses fails alone, while the messages batched with it are answered and stored.

use crate::common;

use std::sync::Arc;

use common::{fresh_database, Backend, Harness};
use serde_json::json;
use yibao_ledger::verify::verify;
use yibao_ledger::{LedgerError, Store};
use yibao_server::app::{start_service, StartError};
use yibao_server::config::AuthMode;
use yibao_server::config::Config;

async fn one_service_per_database(backend: Backend) {
    let (database, dir) = fresh_database(backend, "onewriter").await;
    let config = Config {
        database,
        data_dir: dir.clone(),
        ..Config::default()
    };
    let first = start_service(config.clone())
        .await
        .expect("first service starts");
    let refused = start_service(config.clone())
        .await
        .err()
        .expect("a second service on the database is refused");
    assert!(
        matches!(
            refused,
            StartError::Ledger(LedgerError::WriterLocked { .. })
        ),
        "{refused}"
    );
    let message = refused.to_string();
    let pid = std::process::id();
    assert!(
        message.contains(&format!("pid {pid} ")) || message.contains(&format!("pid={pid} ")),
        "the refusal names this process: {message}"
    );
    let reader = Store::open(&config.database).await.unwrap();
    let mut conn = reader.pool().acquire().await.unwrap();
    assert!(verify(&mut conn).await.unwrap().is_ok());
    drop(conn);
    reader.close().await;
    let stopped = first.writer.stopped();
    drop(first);
    stopped.wait().await;
    let second = start_service(config)
        .await
        .expect("a new service starts once the first has stopped");
    drop(second);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn one_service_per_database_sqlite() {
    one_service_per_database(Backend::Sqlite).await;
}

#[tokio::test]
async fn one_service_per_database_postgres() {
    one_service_per_database(Backend::Postgres).await;
}

/// Thirty registrations at once, one with a NUL character in `ipt_otp_no` (which PostgreSQL could not
/// store; the envelope refuses it, naming the field): only that one fails; the others are answered
/// and stored. (Isolation of a job whose writes the database refuses is tested in the ledger.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_message_fails_alone_postgres() {
    const MESSAGES: usize = 30;
    const BAD: usize = 13;
    let h = Arc::new(Harness::start(Backend::Postgres, AuthMode::None, "alone").await);
    let calls: Vec<_> = (0..MESSAGES)
        .map(|n| {
            let h = Arc::clone(&h);
            let ipt_otp_no = if n == BAD { "O\u{0}13".to_string() } else { format!("O{n}") };
            let input = json!({ "data": { "psn_no": "P0001", "insutype": "390", "begntime": "2026-03-01 09:00:00", "ipt_otp_no": ipt_otp_no } });
            tokio::spawn(async move { h.call("2201", "H36040200001", input).await })
        })
        .collect();
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.unwrap());
    }
    for (n, reply) in replies.iter().enumerate() {
        if n == BAD {
            assert_eq!(reply["infcode"], -1, "{reply}");
            let err_msg = reply["err_msg"].as_str().unwrap_or_default();
            assert!(
                err_msg.starts_with("参数 input.data.ipt_otp_no 有误："),
                "{reply}"
            );
        } else {
            assert_eq!(reply["infcode"], 0, "message {n}: {reply}");
        }
    }
    let mut conn = h.store.pool().acquire().await.unwrap();
    for (n, reply) in replies.iter().enumerate().filter(|(n, _)| *n != BAD) {
        let mdtrt_id = reply["output"]["data"]["mdtrt_id"].as_str().unwrap();
        let visit = yibao_ledger::entries::visit(&mut conn, mdtrt_id)
            .await
            .unwrap();
        assert_eq!(visit.map(|v| v.ipt_otp_no), Some(format!("O{n}")));
    }
    drop(conn);
    assert_eq!(h.verify().await["ok"], true);
}
