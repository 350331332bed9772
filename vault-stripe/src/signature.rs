//! Verifying the `Stripe-Signature` header, exactly as Stripe specifies.
//!
//! The header is a list of `key=value` pairs: one `t=` timestamp and one or
//! more `v1=` signatures (several during a secret roll). Each `v1` is the
//! hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the endpoint secret
//! (the whole `whsec_…` string as UTF-8 bytes). The payload is accepted when
//! any `v1` matches, compared in constant time, and `t` is within the
//! tolerance of the injected clock's now (older is refused; a timestamp
//! ahead of the clock is skew and accepted, as Stripe's libraries do). `v0`
//! (test-mode legacy) and unknown schemes are ignored.
//!
//! Failures are named as Stripe's official libraries name them, checked in
//! the same order (`tests/signature_parity.rs` compares each case with the
//! Python library):
//! 1. an absent or empty header: [`SignatureError::MissingHeader`];
//! 2. an empty (or all-whitespace) secret: [`SignatureError::EmptySecret`],
//!    a configuration error on our side rather than a bad request;
//! 3. no `t=`, a bad timestamp or no `v1=` at all:
//!    [`SignatureError::MalformedHeader`];
//! 4. no `v1` matches: [`SignatureError::Mismatch`]. A wrong secret and a
//!    tampered body cannot be told apart (both are an HMAC that does not
//!    match), and a `v1` that is truncated or not lowercase hex is just a
//!    signature that does not match;
//! 5. older than the tolerance: [`SignatureError::Stale`].

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

    /// Empty once the whitespace Stripe's libraries strip is taken off: a
    /// secret read from an unset variable, or a blank line in a file.
    fn is_blank(&self) -> bool {
        self.0
            .trim_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c'])
            .is_empty()
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
    const_hex::encode(bytes)
}

/// Lowercase hex only, as Stripe sends and as its libraries compare (the
/// hex strings themselves): a hex decoder alone would also take uppercase
/// and a `0x` prefix, which the official libraries refuse.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    const_hex::decode(s).ok()
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The request has no `Stripe-Signature` header, or an empty one: it
    /// was not sent by Stripe (or a proxy dropped the header).
    #[error("no Stripe-Signature header")]
    MissingHeader,
    /// The endpoint's secret is empty or all whitespace: the verifier is
    /// misconfigured (an unset variable?) and can verify nothing. Nothing
    /// is wrong with the request.
    #[error("the webhook secret is empty: configure the endpoint's whsec_ secret")]
    EmptySecret,
    /// The header is there but lacks parts or does not parse (no `t=`, a
    /// bad timestamp, no `v1=` signature at all).
    #[error("malformed Stripe-Signature header: {0}")]
    MalformedHeader(&'static str),
    /// No `v1` signature matches: the body was altered, the secret is not
    /// this endpoint's, or each `v1` is truncated or not lowercase hex.
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

impl SignatureError {
    /// The HTTP status to answer the delivery with: `500` for
    /// [`EmptySecret`](Self::EmptySecret) (our configuration is at fault;
    /// Stripe keeps redelivering while it is fixed), `400` for everything
    /// else (the request is at fault).
    pub fn status_code(&self) -> u16 {
        match self {
            Self::EmptySecret => 500,
            _ => 400,
        }
    }
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
    /// be the exact bytes received, never re-serialized JSON. Pass `""` when
    /// the request has no `Stripe-Signature` header.
    pub fn verify(
        &self,
        payload: &[u8],
        header: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        // The official libraries' order: the header, then the secret, then
        // the header's contents; so the same request gets the same error.
        if header.is_empty() {
            return Err(SignatureError::MissingHeader);
        }
        if self.secret.is_blank() {
            return Err(SignatureError::EmptySecret);
        }
        let mut timestamp: Option<i64> = None;
        let mut any_v1 = false;
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
                // A v1 that is not hex still counts as a v1: it is a
                // signature that cannot match (a mismatch), not a header
                // without signatures.
                "v1" => {
                    any_v1 = true;
                    signatures.extend(unhex(value));
                }
                _ => {}
            }
        }
        let t = timestamp.ok_or(SignatureError::MalformedHeader("no t= timestamp"))?;
        if !any_v1 {
            return Err(SignatureError::MalformedHeader("no v1= signature"));
        }
        let mut mac = self.secret.mac();
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // Constant-time comparison; a wrong length is refused outright.
        let matched = signatures
            .iter()
            .any(|sig| mac.clone().verify_slice(sig).is_ok());
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
    fn an_absent_or_empty_header_is_missing_not_malformed() {
        let s = WebhookSecret::new("whsec_right");
        let v = Verifier::new(s.clone());
        let now = at(1_700_000_000);
        assert_eq!(v.verify(b"{}", "", now), Err(SignatureError::MissingHeader));
        // Blank is not empty: it is a header that does not parse (as in
        // Stripe's libraries).
        assert_eq!(
            v.verify(b"{}", " ", now),
            Err(SignatureError::MalformedHeader("no t= timestamp"))
        );
    }

    #[test]
    fn an_empty_secret_is_its_own_error_after_the_header_check() {
        let h = WebhookSecret::new("whsec_right").header(1_700_000_000, b"{}");
        let now = at(1_700_000_000);
        for blank in ["", " ", "\t\r\n\x0b\x0c "] {
            let v = Verifier::new(WebhookSecret::new(blank));
            assert_eq!(
                v.verify(b"{}", &h, now),
                Err(SignatureError::EmptySecret),
                "{blank:?}"
            );
            assert_eq!(
                v.verify(b"{}", "", now),
                Err(SignatureError::MissingHeader),
                "the header is checked first"
            );
        }
        // A secret around whitespace is still a secret.
        let padded = WebhookSecret::new(" whsec_x ");
        let ok = padded.header(1_700_000_000, b"{}");
        assert!(Verifier::new(padded).verify(b"{}", &ok, now).is_ok());
    }

    #[test]
    fn a_truncated_or_non_hex_v1_is_a_mismatch() {
        let s = WebhookSecret::new("whsec_right");
        let v = Verifier::new(s.clone());
        let now = at(1_700_000_000);
        let good = s.sign(1_700_000_000, b"{}");
        let bad_v1s = [
            good[..63].to_owned(),
            good[..62].to_owned(),
            good[..1].to_owned(),
            String::new(),
            "z".repeat(64),
            format!("{}g", &good[..63]),
            good.to_ascii_uppercase(),
            format!("{good}00"),
            format!("0x{good}"),
            format!("0x{}", &good[2..]),
        ];
        for v1 in bad_v1s {
            let header = format!("t=1700000000,v1={v1}");
            assert_eq!(
                v.verify(b"{}", &header, now),
                Err(SignatureError::Mismatch),
                "{header}"
            );
        }
        // `+f` parses as 0x0f with u8::from_str_radix; it is not hex.
        let (t, sig) = (0..)
            .map(|t| (t, s.sign(t, b"{}")))
            .find(|(_, sig)| sig.starts_with('0'))
            .expect("one in 16 signatures starts with 0");
        let plus = format!("t={t},v1=+{}", &sig[1..]);
        assert_eq!(
            v.verify(b"{}", &plus, at(t)),
            Err(SignatureError::Mismatch),
            "{plus}"
        );
        assert!(v.verify(b"{}", &format!("t={t},v1={sig}"), at(t)).is_ok());
    }

    #[test]
    fn status_codes_blame_the_side_at_fault() {
        assert_eq!(SignatureError::EmptySecret.status_code(), 500);
        for e in [
            SignatureError::MissingHeader,
            SignatureError::MalformedHeader("no t= timestamp"),
            SignatureError::Mismatch,
            SignatureError::Stale {
                signed_at: at(0),
                now: at(1000),
            },
        ] {
            assert_eq!(e.status_code(), 400, "{e:?}");
        }
    }

    proptest::proptest! {
        /// Whatever arrives, verification answers without panicking, and
        /// nothing but the real signature passes.
        #[test]
        fn any_header_and_body_is_an_answer(
            header in ".{0,200}",
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            t in proptest::num::i64::ANY,
        ) {
            let v = Verifier::new(WebhookSecret::new("whsec_prop"));
            proptest::prop_assert!(v.verify(&payload, &header, at(0)).is_err());
            let spliced = format!("t={t},{header},v1=00");
            proptest::prop_assert!(v.verify(&payload, &spliced, at(0)).is_err());
        }
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
