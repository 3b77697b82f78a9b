//! Authentication between platforms. A call carries `x-peer-key` (the pair's `access_key`),
//! `x-peer-timestamp` (Unix seconds), `x-peer-nonce` and `x-peer-signature` = hex
//! HMAC-SHA256(secret, method + `\n` + path + `\n` + timestamp + `\n` + nonce + `\n` + hex
//! SHA-256(body)). A platform accepts a call only under the key of a peer it lists, within
//! `auth_window_secs`, and each nonce of a key once — durably, through the gateway's
//! [`ReplayGuard`], so a captured call cannot be replayed, not even after a restart. The nonce is
//! claimed in memory before the call is acted on and is durable before it is answered
//! ([`ReplayGuard::claim_deferred`]): its write shares no commit with the call's but overlaps it
//! instead of preceding it. A call whose nonce a crash lost before the answer can be replayed
//! after the restart, and repeats nothing: every writing call is keyed exactly once by the treating
//! platform's key (`docs/peers.md`), and the others only read.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::auth::{header, outside_window, same, AuthError};
use crate::config::{Config, PeerConfig};
use crate::replay::{PendingClaim, ReplayGuard};

pub const KEY: &str = "x-peer-key";
pub const TIMESTAMP: &str = "x-peer-timestamp";
pub const NONCE: &str = "x-peer-nonce";
pub const SIGNATURE: &str = "x-peer-signature";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature of a call.
pub fn signature(
    secret: &str,
    method: &str,
    path: &str,
    timestamp_secs: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let body_digest = hex(&Sha256::digest(body));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{method}\n{path}\n{timestamp_secs}\n{nonce}\n{body_digest}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

static NONCES: AtomicU64 = AtomicU64::new(0);

/// The headers that sign a call to `peer` at `now_secs`; the nonce is unique within the process
/// (time in nanoseconds and a counter), which is all a nonce of one sender must be.
pub fn headers(
    peer: &PeerConfig,
    method: &str,
    path: &str,
    body: &[u8],
    now_secs: i64,
) -> Vec<(&'static str, String)> {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let nonce = format!("{nanos:x}-{:x}", NONCES.fetch_add(1, Ordering::Relaxed));
    let timestamp = now_secs.to_string();
    let signed = signature(&peer.secret, method, path, &timestamp, &nonce, body);
    vec![
        (KEY, peer.access_key.clone()),
        (TIMESTAMP, timestamp),
        (NONCE, nonce),
        (SIGNATURE, signed),
    ]
}

/// Longest accepted nonce.
const NONCE_MAX: usize = 64;

/// Verifies a call's headers against the peers `config` lists and claims its nonce; returns the
/// calling peer and the nonce's durable write, to be awaited before the call is answered.
pub async fn verify<'c>(
    config: &'c Config,
    replay: &ReplayGuard,
    (method, path, headers, body): (&str, &str, &HeaderMap, &[u8]),
    now_secs: i64,
) -> Result<(&'c PeerConfig, PendingClaim), AuthError> {
    let key = header(headers, KEY)?;
    let peer = config
        .peers
        .iter()
        .find(|p| p.access_key == key)
        .ok_or_else(|| AuthError("unknown peer key".into()))?;
    let timestamp = header(headers, TIMESTAMP)?;
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| AuthError(format!("{TIMESTAMP} is not a number")))?;
    if outside_window(now_secs, sent, config.auth_window_secs) {
        return Err(AuthError(format!(
            "{TIMESTAMP} outside the accepted window"
        )));
    }
    let nonce = header(headers, NONCE)?;
    if nonce.len() > NONCE_MAX {
        return Err(AuthError(format!("{NONCE} longer than {NONCE_MAX} bytes")));
    }
    let expected = signature(&peer.secret, method, path, timestamp, nonce, body);
    if !same(expected.as_bytes(), header(headers, SIGNATURE)?.as_bytes()) {
        return Err(AuthError("signature does not match".into()));
    }
    let token = format!("peer:{key}:{nonce}");
    let pending = replay
        .claim_deferred(
            token,
            sent.saturating_add(config.auth_window_secs),
            now_secs,
        )
        .await
        .map_err(|e| AuthError(format!("nonce {e}")))?;
    Ok((peer, pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_method_path_time_nonce_and_body() {
        let base = signature("s", "POST", "/peer/v1/settle", "100", "n", b"{}");
        assert_eq!(base.len(), 64);
        for other in [
            signature("t", "POST", "/peer/v1/settle", "100", "n", b"{}"),
            signature("s", "GET", "/peer/v1/settle", "100", "n", b"{}"),
            signature("s", "POST", "/peer/v1/cancel", "100", "n", b"{}"),
            signature("s", "POST", "/peer/v1/settle", "101", "n", b"{}"),
            signature("s", "POST", "/peer/v1/settle", "100", "m", b"{}"),
            signature("s", "POST", "/peer/v1/settle", "100", "n", b"{ }"),
        ] {
            assert_ne!(base, other);
        }
    }
}
