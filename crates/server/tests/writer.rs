//! The service's ledger writer: one writer per database (a second service on the same database
//! refuses to start and names the holder; once the first has stopped, a new one starts; reading and
//! verifying the database beside the writer takes no lock).

mod common;

use common::{fresh_database, Backend};
use yibao_ledger::verify::verify;
use yibao_ledger::{LedgerError, Store};
use yibao_server::app::{start_service, StartError};
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
