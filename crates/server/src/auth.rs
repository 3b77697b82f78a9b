//! Gateway authentication in front of `callService` (`interface.md` §1.1): CSB (`_api_*` headers,
//! Base64 HMAC-SHA1) or TIF (`x-tif-*` headers, hex SHA-256), each with per-institution keys. A signature (CSB) or nonce (TIF)
//! is accepted once ([`ReplayGuard`]), and a CSB signature covers its `_api_name`, which must be the
//! message's `infno`. A
//! rejected request gets HTTP 401 with `{"code":401,"message":…}`, not an envelope. The
//! institution bound to the key is passed on; the dispatcher requires it to equal `fixmedins_code`.

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::config::AuthMode;
use crate::replay::ReplayGuard;
use crate::state::Shared;

/// Why a request was refused at the gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// What a verified gateway request is allowed to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    /// The institution the key belongs to; the message's `fixmedins_code` must be it.
    pub institution: String,
    /// The transaction the signature covers (CSB `_api_name`); the message's `infno` must be it.
    pub signed_infno: Option<String>,
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, AuthError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AuthError(format!("missing header {name}")))
}

/// The string a CSB signature covers: the four `_api_*` headers as `k=v`, sorted, joined by `&`.
pub fn csb_canonical(access_key: &str, name: &str, timestamp_ms: &str, version: &str) -> String {
    format!("_api_access_key={access_key}&_api_name={name}&_api_timestamp={timestamp_ms}&_api_version={version}")
}

/// Base64(HMAC-SHA1(secret, canonical)).
pub fn csb_signature(secret: &str, canonical: &str) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(canonical.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The headers a CSB client sends.
pub fn csb_headers(
    access_key: &str,
    secret: &str,
    infno: &str,
    timestamp_ms: i64,
) -> Vec<(String, String)> {
    let timestamp = timestamp_ms.to_string();
    let signature = csb_signature(
        secret,
        &csb_canonical(access_key, infno, &timestamp, "1.0.0"),
    );
    vec![
        ("_api_name".into(), infno.into()),
        ("_api_version".into(), "1.0.0".into()),
        ("_api_timestamp".into(), timestamp),
        ("_api_access_key".into(), access_key.into()),
        ("_api_signature".into(), signature),
    ]
}

/// Lowercase hex SHA-256 of `timestamp + token + nonce + timestamp`.
pub fn tif_signature(timestamp_secs: &str, token: &str, nonce: &str) -> String {
    let digest =
        Sha256::digest(format!("{timestamp_secs}{token}{nonce}{timestamp_secs}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The headers a TIF client sends.
pub fn tif_headers(
    paasid: &str,
    token: &str,
    nonce: &str,
    timestamp_secs: i64,
) -> Vec<(String, String)> {
    let timestamp = timestamp_secs.to_string();
    vec![
        ("x-tif-paasid".into(), paasid.into()),
        ("x-tif-timestamp".into(), timestamp.clone()),
        ("x-tif-nonce".into(), nonce.into()),
        (
            "x-tif-signature".into(),
            tif_signature(&timestamp, token, nonce),
        ),
    ]
}

/// Whether a sent timestamp is further than `window` from now (in the same unit); any `i64` a
/// client sends is compared without overflow.
pub(crate) fn outside_window(now: i64, sent: i64, window: i64) -> bool {
    now.abs_diff(sent) > window.unsigned_abs()
}

/// Equal-time comparison of two signatures.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies a request's gateway headers and claims its signature (CSB) or nonce (TIF) against
/// replay; returns what the key may do (`None` when auth is off).
pub async fn verify(
    shared: &Shared,
    replay: &ReplayGuard,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<Option<GatewayIdentity>, AuthError> {
    match shared.config.auth {
        AuthMode::None => Ok(None),
        AuthMode::Csb => verify_csb(shared, replay, headers, now_ms).await.map(Some),
        AuthMode::Tif => verify_tif(shared, replay, headers, now_ms).await.map(Some),
    }
}

/// Accepts a signature or nonce once (see [`ReplayGuard`]).
pub(crate) async fn claim_once(
    replay: &ReplayGuard,
    what: &str,
    token: String,
    sent_secs: i64,
    window_secs: i64,
    now_ms: i64,
) -> Result<(), AuthError> {
    replay
        .claim(
            token,
            sent_secs.saturating_add(window_secs),
            now_ms.div_euclid(1000),
        )
        .await
        .map_err(|e| AuthError(format!("{what} {e}")))
}

async fn key_secret(
    shared: &Shared,
    access_key: &str,
    scheme: &str,
) -> Result<(String, String), AuthError> {
    let key = shared
        .access_key(access_key)
        .await
        .map_err(|_| AuthError("key store unavailable".into()))?
        .filter(|k| k.scheme == scheme)
        .ok_or_else(|| AuthError("unknown access key".into()))?;
    Ok((key.fixmedins_code, key.secret))
}

async fn verify_csb(
    shared: &Shared,
    replay: &ReplayGuard,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<GatewayIdentity, AuthError> {
    let name = header(headers, "_api_name")?;
    let version = header(headers, "_api_version")?;
    let timestamp = header(headers, "_api_timestamp")?;
    let access_key = header(headers, "_api_access_key")?;
    let signature = header(headers, "_api_signature")?;
    let sent_ms: i64 = timestamp
        .parse()
        .map_err(|_| AuthError("_api_timestamp is not milliseconds".into()))?;
    if outside_window(
        now_ms,
        sent_ms,
        shared.config.auth_window_secs.saturating_mul(1000),
    ) {
        return Err(AuthError(
            "_api_timestamp is outside the accepted window".into(),
        ));
    }
    let (institution, secret) = key_secret(shared, access_key, "csb").await?;
    let expected = csb_signature(
        &secret,
        &csb_canonical(access_key, name, timestamp, version),
    );
    if !same(expected.as_bytes(), signature.as_bytes()) {
        return Err(AuthError("bad _api_signature".into()));
    }
    let window_secs = shared.config.auth_window_secs;
    let token = format!("csb/{access_key}/{signature}");
    claim_once(
        replay,
        "_api_signature",
        token,
        sent_ms.div_euclid(1000),
        window_secs,
        now_ms,
    )
    .await?;
    Ok(GatewayIdentity {
        institution,
        signed_infno: Some(name.to_string()),
    })
}

async fn verify_tif(
    shared: &Shared,
    replay: &ReplayGuard,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<GatewayIdentity, AuthError> {
    let paasid = header(headers, "x-tif-paasid")?;
    let timestamp = header(headers, "x-tif-timestamp")?;
    let nonce = header(headers, "x-tif-nonce")?;
    let signature = header(headers, "x-tif-signature")?;
    let sent_secs: i64 = timestamp
        .parse()
        .map_err(|_| AuthError("x-tif-timestamp is not Unix seconds".into()))?;
    let window = shared.config.auth_window_secs;
    if outside_window(now_ms.div_euclid(1000), sent_secs, window) {
        return Err(AuthError(
            "x-tif-timestamp is outside the accepted window".into(),
        ));
    }
    let (institution, token) = key_secret(shared, paasid, "tif").await?;
    let expected = tif_signature(timestamp, &token, nonce);
    if !same(
        expected.as_bytes(),
        signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(AuthError("bad x-tif-signature".into()));
    }
    let token = format!("tif/{paasid}/{nonce}");
    claim_once(replay, "x-tif-nonce", token, sent_secs, window, now_ms).await?;
    Ok(GatewayIdentity {
        institution,
        signed_infno: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_timestamps_are_outside_the_window() {
        assert!(outside_window(1_700_000_000, i64::MIN, 1800));
        assert!(outside_window(1_700_000_000, i64::MAX, 1800));
        assert!(!outside_window(1_700_000_000, 1_700_000_100, 1800));
    }

    #[test]
    fn signatures_are_stable() {
        let canonical = csb_canonical("AK", "2207", "1700000000000", "1.0.0");
        assert_eq!(
            canonical,
            "_api_access_key=AK&_api_name=2207&_api_timestamp=1700000000000&_api_version=1.0.0"
        );
        assert_eq!(csb_signature("SK", &canonical).len(), 28);
        assert_eq!(tif_signature("1700000000", "token", "n1").len(), 64);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
    }
}
