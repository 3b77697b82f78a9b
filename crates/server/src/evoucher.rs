//! 医保电子凭证 (medical-insurance e-voucher, `mdtrt_cert_type` 01): short-lived tokens that stand
//! for an insured person, the payload of the QR code a patient shows at the counter. A token is
//! `base64url(expiry ‖ psn_no) "." base64url(HMAC-SHA256(secret, expiry ‖ psn_no))`: the service
//! keeps nothing per token, and tokens outlive a restart as long as `evoucher_secret` is unchanged.
//! Time is passed in, so issuing and resolving are pure.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The longest `psn_no` a token carries (the interface's length of `psn_no`).
const PSN_NO_MAX_BYTES: usize = 30;
/// Bytes of the MAC kept in a token.
const MAC_BYTES: usize = 16;

/// Why a token was not issued or not accepted; the texts are read by a cashier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherError {
    #[error("本服务未配置医保电子凭证密钥 (evoucher_secret)，不能签发或识别电子凭证")]
    NotConfigured,
    #[error("人员编号长度应为 1 至 {PSN_NO_MAX_BYTES} 字节")]
    BadPsnNo,
    #[error("不是有效的医保电子凭证（格式或签名不符）")]
    Invalid,
    #[error("医保电子凭证已于 {expired_at_secs}（Unix 秒）过期，请患者刷新二维码")]
    Expired { expired_at_secs: i64 },
}

/// An issued token and when it stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub token: String,
    pub expires_at_secs: i64,
}

/// The key and lifetime of e-vouchers.
#[derive(Clone)]
pub struct VoucherKey {
    secret: Vec<u8>,
    ttl_secs: i64,
}

impl VoucherKey {
    /// A key from the configured secret (empty: e-vouchers are off) and lifetime in seconds.
    pub fn new(secret: &str, ttl_secs: u64) -> VoucherKey {
        VoucherKey {
            secret: secret.as_bytes().to_vec(),
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX),
        }
    }

    fn mac(&self, payload: &[u8]) -> Result<Hmac<Sha256>, VoucherError> {
        if self.secret.is_empty() {
            return Err(VoucherError::NotConfigured);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .map_err(|_| VoucherError::NotConfigured)?;
        mac.update(payload);
        Ok(mac)
    }

    /// Issues a token for `psn_no`, valid until `now_secs` plus the lifetime.
    pub fn issue(&self, psn_no: &str, now_secs: i64) -> Result<Voucher, VoucherError> {
        if psn_no.is_empty() || psn_no.len() > PSN_NO_MAX_BYTES {
            return Err(VoucherError::BadPsnNo);
        }
        let expires_at_secs = now_secs.saturating_add(self.ttl_secs);
        let mut payload = expires_at_secs.to_be_bytes().to_vec();
        payload.extend_from_slice(psn_no.as_bytes());
        let tag = self.mac(&payload)?.finalize().into_bytes();
        let token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(&tag[..MAC_BYTES])
        );
        Ok(Voucher {
            token,
            expires_at_secs,
        })
    }

    /// The `psn_no` a token stands for, if it was issued with this key and has not expired.
    pub fn resolve(&self, token: &str, now_secs: i64) -> Result<String, VoucherError> {
        let (payload_text, tag_text) = token.trim().split_once('.').ok_or(VoucherError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_text)
            .map_err(|_| VoucherError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag_text)
            .map_err(|_| VoucherError::Invalid)?;
        if payload.len() <= 8 || payload.len() > 8 + PSN_NO_MAX_BYTES || tag.len() != MAC_BYTES {
            return Err(VoucherError::Invalid);
        }
        self.mac(&payload)?
            .verify_truncated_left(&tag)
            .map_err(|_| VoucherError::Invalid)?;
        let (expiry, psn_no) = payload.split_at(8);
        let expired_at_secs =
            i64::from_be_bytes(expiry.try_into().map_err(|_| VoucherError::Invalid)?);
        if now_secs > expired_at_secs {
            return Err(VoucherError::Expired { expired_at_secs });
        }
        String::from_utf8(psn_no.to_vec()).map_err(|_| VoucherError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    #[test]
    fn a_token_resolves_to_its_person_until_it_expires() {
        let key = VoucherKey::new("bureau-secret", 300);
        let voucher = key.issue("36040000000000000001", NOW).unwrap();
        assert_eq!(voucher.expires_at_secs, NOW + 300);
        assert!(voucher.token.len() <= 100, "fits mdtrt_cert_no");
        assert_eq!(
            key.resolve(&voucher.token, NOW + 300).unwrap(),
            "36040000000000000001"
        );
        assert_eq!(
            key.resolve(&voucher.token, NOW + 301),
            Err(VoucherError::Expired {
                expired_at_secs: NOW + 300
            })
        );
    }

    #[test]
    fn a_token_of_another_key_or_altered_is_refused() {
        let key = VoucherKey::new("bureau-secret", 300);
        let other = VoucherKey::new("another-secret", 300);
        let voucher = key.issue("P1", NOW).unwrap();
        assert_eq!(
            other.resolve(&voucher.token, NOW),
            Err(VoucherError::Invalid)
        );
        let (payload, tag) = voucher.token.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode([&i64::MAX.to_be_bytes()[..], b"P1"].concat());
        assert_eq!(
            key.resolve(&format!("{forged_payload}.{tag}"), NOW),
            Err(VoucherError::Invalid)
        );
        assert_eq!(key.resolve(payload, NOW), Err(VoucherError::Invalid));
        assert_eq!(key.resolve("", NOW), Err(VoucherError::Invalid));
        assert_eq!(key.resolve("!!.??", NOW), Err(VoucherError::Invalid));
    }

    #[test]
    fn without_a_secret_nothing_is_issued_or_accepted() {
        let key = VoucherKey::new("", 300);
        assert_eq!(key.issue("P1", NOW), Err(VoucherError::NotConfigured));
        let issued = VoucherKey::new("s", 300).issue("P1", NOW).unwrap();
        assert_eq!(
            key.resolve(&issued.token, NOW),
            Err(VoucherError::NotConfigured)
        );
        assert_eq!(
            VoucherKey::new("s", 300).issue(&"9".repeat(31), NOW),
            Err(VoucherError::BadPsnNo)
        );
    }
}
