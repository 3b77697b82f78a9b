//! A write job that panics (a bug) fails alone: its staged writes are dropped, the jobs batched with
//! it are stored and acknowledged, and the writer goes on.

use std::sync::Arc;

use yibao_ledger::entries::{self, StoredMessage};
use yibao_ledger::{Decision, GroupCommit, LedgerError, LedgerView, Store, WriteHandler};

const CODE: &str = "H36040200001";

/// Stores each job's message; the job named `PANIC` panics after staging its write.
struct Storer;

impl WriteHandler for Storer {
    type Job = String;
    type Output = Result<(), String>;

    fn message_key(&self, msgid: &String) -> Option<(String, String)> {
        Some((CODE.into(), msgid.clone()))
    }

    async fn handle(
        &self,
        ledger: &mut LedgerView<'_>,
        msgid: &String,
    ) -> (Decision, Self::Output) {
        let message = StoredMessage {
            fixmedins_code: CODE.into(),
            msgid: msgid.clone(),
            infno: "2201".into(),
            effect_ref: String::new(),
            reply: format!("reply of {msgid}"),
            created_at: "2026-03-01 10:00:00".into(),
            request_digest: String::new(),
        };
        if let Err(error) = ledger.store_message(message).await {
            return (Decision::Rollback, Err(error.to_string()));
        }
        assert!(msgid != "PANIC", "a bug in one job");
        (Decision::Commit, Ok(()))
    }

    fn storage_failure(&self, error: &LedgerError) -> Self::Output {
        Err(error.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_fails_alone() {
    let dir = std::env::temp_dir().join(format!("yibao-panics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("yibao.db").display());
    let store = Store::open(&url).await.unwrap();
    let writer = GroupCommit::start(store.lock_writer().await.unwrap(), Arc::new(Storer), 64);
    let msgids: Vec<String> = (0..24)
        .map(|n| {
            if n == 11 {
                "PANIC".into()
            } else {
                format!("M{n}")
            }
        })
        .collect();
    let replies = submit_all(&writer, &msgids).await;
    for (msgid, reply) in msgids.iter().zip(&replies) {
        if msgid == "PANIC" {
            let error = reply.clone().unwrap_err();
            assert!(error.contains("unexpectedly"), "{error}");
        } else {
            assert_eq!(reply, &Ok(()), "{msgid}");
        }
    }
    writer.submit("AFTER".into()).await.unwrap().unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    for msgid in msgids.iter().chain(std::iter::once(&"AFTER".to_string())) {
        let stored = entries::stored_message(&mut conn, CODE, msgid)
            .await
            .unwrap();
        assert_eq!(stored.is_some(), msgid != "PANIC", "{msgid}");
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(dir);
}

/// Submits every job at once, so that they share batches; the replies in job order.
async fn submit_all(writer: &GroupCommit<Storer>, msgids: &[String]) -> Vec<Result<(), String>> {
    let tasks: Vec<_> = msgids
        .iter()
        .map(|msgid| {
            let writer = writer.clone();
            let msgid = msgid.clone();
            tokio::spawn(async move { writer.submit(msgid).await.unwrap() })
        })
        .collect();
    let mut replies = Vec::with_capacity(tasks.len());
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}
