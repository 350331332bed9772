//! Verifying the `Stripe-Signature` header, exactly as Stripe specifies.
//!
//! The header is a list of `key=value` pairs: one `t=` timestamp and one or
//! more `v1=` signatures (several during a secret roll). Each `v1` is the
//! hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the endpoint secret
//! (the whole `whsec_…` string as UTF-8 bytes). The payload is accepted when
//! any `v1` matches, compared in constant time, and `t` is within the
//! tolerance of the injected clock's now (older is refused; a timestamp
//! ahead of the clock is skew and accepted, as Stripe's libraries do). `v0`
//! (test-mode legacy) and
//! unknown schemes are ignored.
//!
//! A wrong secret and a tampered body cannot be told apart (both are an HMAC
//! that does not match): both are [`SignatureError::Mismatch`]. The other
//! failures each have their own variant.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An endpoint's signing secret (`whsec_…`). Never printed.
#[derive(Clone)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps the secret from the Stripe dashboard or CLI.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    /// The `v1` signature of `payload` at `timestamp` (hex), for tests and
    /// for signing events you send to yourself.
    pub fn sign(&self, timestamp: i64, payload: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        hex(&mac.finalize().into_bytes())
    }

    /// A complete `Stripe-Signature` header value for `payload` at `timestamp`.
    pub fn header(&self, timestamp: i64, payload: &[u8]) -> String {
        format!("t={timestamp},v1={}", self.sign(timestamp, payload))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is missing parts or does not parse (no `t=`, a bad
    /// timestamp, no `v1=` signature at all).
    #[error("malformed Stripe-Signature header: {0}")]
    MalformedHeader(&'static str),
    /// No `v1` signature matches: the body was altered, or the secret is not
    /// this endpoint's.
    #[error("no signature matches the payload (tampered body or wrong secret)")]
    Mismatch,
    /// The signature is valid but older than the tolerance (a replay, or a
    /// clock far behind).
    #[error("timestamp outside the tolerance: signed {signed_at}, now {now}")]
    Stale {
        /// When it was signed.
        signed_at: DateTime<Utc>,
        /// Now, by the injected clock.
        now: DateTime<Utc>,
    },
}

/// Verifies webhook payloads for one endpoint.
#[derive(Debug, Clone)]
pub struct Verifier {
    secret: WebhookSecret,
    tolerance: Duration,
}

impl Verifier {
    /// Stripe's default tolerance: five minutes.
    pub const DEFAULT_TOLERANCE: Duration = Duration::seconds(300);

    /// A verifier for `secret` with the default tolerance.
    pub fn new(secret: WebhookSecret) -> Self {
        Self {
            secret,
            tolerance: Self::DEFAULT_TOLERANCE,
        }
    }

    /// Sets the tolerance.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Checks `header` against the raw request body at `now`. The body must
    /// be the exact bytes received, never re-serialized JSON.
    pub fn verify(
        &self,
        payload: &[u8],
        header: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        let mut timestamp: Option<i64> = None;
        let mut signatures: Vec<Vec<u8>> = Vec::new();
        for part in header.split(',') {
            let Some((key, value)) = part.trim().split_once('=') else {
                continue;
            };
            match key {
                "t" => {
                    timestamp = Some(
                        value
                            .parse()
                            .map_err(|_| SignatureError::MalformedHeader("t= is not a number"))?,
                    );
                }
                // A v1 that is not hex can never match; skip it like Stripe.
                "v1" => signatures.extend(unhex(value)),
                _ => {}
            }
        }
        let t = timestamp.ok_or(SignatureError::MalformedHeader("no t= timestamp"))?;
        if signatures.is_empty() {
            return Err(SignatureError::MalformedHeader("no v1= signature"));
        }
        let matched = signatures.iter().any(|sig| {
            let mut mac = self.secret.mac();
            mac.update(t.to_string().as_bytes());
            mac.update(b".");
            mac.update(payload);
            // Constant-time comparison.
            mac.verify_slice(sig).is_ok()
        });
        if !matched {
            return Err(SignatureError::Mismatch);
        }
        let signed_at = DateTime::from_timestamp(t, 0)
            .ok_or(SignatureError::MalformedHeader("t= is out of range"))?;
        // Like Stripe's own libraries, only age is limited: a timestamp ahead
        // of our clock is skew, not a replay.
        if now - signed_at > self.tolerance {
            return Err(SignatureError::Stale { signed_at, now });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).expect("valid")
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA256("whsec_test", "1700000000.{}") computed independently.
        let s = WebhookSecret::new("whsec_test");
        let v = Verifier::new(s.clone());
        let h = s.header(1_700_000_000, b"{}");
        assert!(v.verify(b"{}", &h, at(1_700_000_000)).is_ok());
        assert_eq!(s.sign(1_700_000_000, b"{}").len(), 64);
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let s = WebhookSecret::new("whsec_right");
        let v = Verifier::new(s.clone());
        let body = br#"{"id":"evt_1"}"#;
        let h = s.header(1_700_000_000, body);
        let now = at(1_700_000_100);
        assert_eq!(
            v.verify(body, "garbage", now),
            Err(SignatureError::MalformedHeader("no t= timestamp"))
        );
        assert_eq!(
            v.verify(body, "t=abc,v1=00", now),
            Err(SignatureError::MalformedHeader("t= is not a number"))
        );
        assert_eq!(
            v.verify(body, "t=1700000000", now),
            Err(SignatureError::MalformedHeader("no v1= signature"))
        );
        assert_eq!(
            v.verify(br#"{"id":"evt_2"}"#, &h, now),
            Err(SignatureError::Mismatch)
        );
        let wrong = Verifier::new(WebhookSecret::new("whsec_wrong"));
        assert_eq!(wrong.verify(body, &h, now), Err(SignatureError::Mismatch));
        assert!(matches!(
            v.verify(body, &h, at(1_700_000_301)),
            Err(SignatureError::Stale { .. })
        ));
        // Ahead of our clock is skew, not staleness (as Stripe's libraries).
        assert!(v.verify(body, &h, at(1_699_999_000)).is_ok());
        assert!(v.verify(body, &h, at(1_700_000_300)).is_ok());
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let s = WebhookSecret::new("whsec_new");
        let v = Verifier::new(s.clone());
        let body = b"payload";
        let good = s.sign(10, body);
        let header = format!("t=10,v0={good},v1=deadbeef,v1={good},scheme=x");
        assert!(v.verify(body, &header, at(10)).is_ok());
        let only_v0 = format!("t=10,v0={good}");
        assert_eq!(
            v.verify(body, &only_v0, at(10)),
            Err(SignatureError::MalformedHeader("no v1= signature"))
        );
    }

    #[test]
    fn secrets_are_not_printed() {
        let s = WebhookSecret::new("whsec_supersecret");
        let v = Verifier::new(s.clone());
        assert!(!format!("{s:?}{v:?}").contains("supersecret"));
    }
}
