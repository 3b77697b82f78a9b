//! Replay protection of the gateway: a CSB signature or a TIF nonce is accepted once. An accepted
//! token is kept until its request's timestamp leaves the accepted window (after that the timestamp
//! alone refuses the request), in memory and durably: it is written (batched, one transaction per
//! batch) before the request is acted on, and the service loads the live tokens when it starts, so a
//! captured request cannot be replayed even after a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use yibao_ledger::{gateway, LedgerError, Store};

/// Tokens written in one transaction at most.
const MAX_BATCH: usize = 512;
/// Claims that may wait for the durable write.
const QUEUE: usize = 4096;
/// How often expired tokens are dropped from storage.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("was already used (a replayed request)")]
    Replayed,
    #[error("could not be recorded (replay store unavailable)")]
    Unavailable,
}

struct Claim {
    token: String,
    expires_at_secs: i64,
    done: oneshot::Sender<bool>,
}

/// A token accepted in memory whose durable write is under way ([`ReplayGuard::claim_deferred`]).
pub struct PendingClaim(oneshot::Receiver<bool>);

impl PendingClaim {
    /// Waits until the token is stored durably.
    pub async fn stored(self) -> Result<(), ReplayError> {
        match self.0.await {
            Ok(true) => Ok(()),
            _ => Err(ReplayError::Unavailable),
        }
    }
}

/// The live accepted tokens (token → expiry, Unix seconds).
struct Seen {
    tokens: HashMap<String, i64>,
    /// Size after the last pruning; pruned again when it has doubled.
    pruned_len: usize,
}

/// The accepted tokens, in memory and in storage.
pub struct ReplayGuard {
    seen: Mutex<Seen>,
    durable: mpsc::Sender<Claim>,
}

impl ReplayGuard {
    /// Loads the tokens still live at `now_secs` and starts the durable writer.
    pub async fn start(store: Store, now_secs: i64) -> Result<Arc<ReplayGuard>, LedgerError> {
        let mut conn = store.pool().acquire().await?;
        let tokens: HashMap<String, i64> = gateway::live_tokens(&mut conn, now_secs)
            .await?
            .into_iter()
            .collect();
        drop(conn);
        let (durable, claims) = mpsc::channel(QUEUE);
        tokio::spawn(write_claims(store, claims));
        Ok(Arc::new(ReplayGuard {
            seen: Mutex::new(Seen {
                pruned_len: tokens.len(),
                tokens,
            }),
            durable,
        }))
    }

    /// Accepts `token` once: refuses a live token, and returns only after the token is stored
    /// durably. `expires_at_secs` is the request's timestamp plus the accepted window.
    pub async fn claim(
        &self,
        token: String,
        expires_at_secs: i64,
        now_secs: i64,
    ) -> Result<(), ReplayError> {
        self.claim_deferred(token, expires_at_secs, now_secs)
            .await?
            .stored()
            .await
    }

    /// Accepts `token` once in memory (a live token is refused at once) and queues its durable
    /// write without waiting for it: the caller may act on the request meanwhile and awaits
    /// [`PendingClaim::stored`] before it answers. Only for requests whose effect is keyed exactly
    /// once by their own id, so that a replay after a crash that lost the token repeats nothing.
    pub async fn claim_deferred(
        &self,
        token: String,
        expires_at_secs: i64,
        now_secs: i64,
    ) -> Result<PendingClaim, ReplayError> {
        self.remember(&token, expires_at_secs, now_secs)?;
        let (done, stored) = oneshot::channel();
        let claim = Claim {
            token,
            expires_at_secs,
            done,
        };
        self.durable
            .send(claim)
            .await
            .map_err(|_| ReplayError::Unavailable)?;
        Ok(PendingClaim(stored))
    }

    /// Records the token in memory; a token that is still live is a replay.
    fn remember(
        &self,
        token: &str,
        expires_at_secs: i64,
        now_secs: i64,
    ) -> Result<(), ReplayError> {
        let mut seen = self.seen.lock().map_err(|_| ReplayError::Unavailable)?;
        if seen
            .tokens
            .get(token)
            .is_some_and(|expiry| *expiry >= now_secs)
        {
            return Err(ReplayError::Replayed);
        }
        seen.tokens.insert(token.to_string(), expires_at_secs);
        if seen.tokens.len() > (seen.pruned_len * 2).max(1024) {
            seen.tokens.retain(|_, expiry| *expiry >= now_secs);
            seen.pruned_len = seen.tokens.len();
        }
        Ok(())
    }
}

/// Writes claimed tokens in batches and answers each claim after its batch committed; drops expired
/// tokens now and then.
async fn write_claims(store: Store, mut claims: mpsc::Receiver<Claim>) {
    let mut last_prune = tokio::time::Instant::now();
    while let Some(first) = claims.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match claims.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let tokens: Vec<(String, i64)> = batch
            .iter()
            .map(|c| (c.token.clone(), c.expires_at_secs))
            .collect();
        let stored = match store_tokens(&store, &tokens).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(error = %error, "gateway replay tokens could not be stored");
                false
            }
        };
        for claim in batch {
            let _ = claim.done.send(stored);
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            prune(&store, chrono::Utc::now().timestamp()).await;
        }
    }
}

async fn store_tokens(store: &Store, tokens: &[(String, i64)]) -> Result<(), LedgerError> {
    let _turn = store.write_turn().await;
    let mut conn = store.pool().acquire().await?;
    gateway::insert_tokens(&mut conn, tokens).await
}

async fn prune(store: &Store, now_secs: i64) {
    let _turn = store.write_turn().await;
    let outcome = match store.pool().acquire().await {
        Ok(mut conn) => gateway::forget_expired_tokens(&mut conn, now_secs).await,
        Err(error) => Err(error.into()),
    };
    if let Err(error) = outcome {
        tracing::warn!(error = %error, "expired gateway replay tokens could not be dropped");
    }
}
