//! When to try a request again, and how long to wait first.
//!
//! The rule is Stripe's own (as in its official libraries):
//! * a `Stripe-Should-Retry` header decides when present: `true` retries
//!   (whatever the status, even a 429 or a 400), `false` never does;
//! * otherwise `409 Conflict` and every `5xx` are retried, and nothing else
//!   — in particular not a plain `429 Too Many Requests`;
//! * a connection failure or timeout (no response at all) is retried.
//!
//! Before retry `n` (1-based) the client sleeps
//! `min(initial_delay * 2^(n-1), max_delay) * jitter` with `jitter` uniform
//! in `[0.5, 1.0]`: 0.25–0.5 s, then 0.5–1 s, … never above 5 s with the
//! defaults. The sleep goes through a [`Sleeper`], so tests can record it
//! instead of waiting, and the delays scale with [`RetryPolicy`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

/// How many times, and how patiently, to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try (so at most `max_retries + 1` requests).
    pub max_retries: u32,
    /// The delay before the first retry, before jitter.
    pub initial_delay: Duration,
    /// The cap on any delay, before jitter.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Default retries after the first try.
    pub const DEFAULT_MAX_RETRIES: u32 = 2;
    /// Default delay before the first retry (0.5 s).
    pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_millis(500);
    /// Default cap on a delay (5 s).
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(5);

    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The delay before retry `n` (1-based) for a `jitter` in `[0, 1]`
    /// (clamped): `min(initial * 2^(n-1), max) * (0.5 + jitter / 2)`.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let base = self
            .initial_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let factor = 0.5 * (1.0 + jitter.clamp(0.0, 1.0));
        base.mul_f64(factor)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: Self::DEFAULT_MAX_RETRIES,
            initial_delay: Self::DEFAULT_INITIAL_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
        }
    }
}

/// Whether a response with this status and `Stripe-Should-Retry` header
/// (if any) may be retried (the attempt budget aside).
pub fn should_retry_status(status: u16, stripe_should_retry: Option<&str>) -> bool {
    match stripe_should_retry.map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => return true,
        Some(v) if v.eq_ignore_ascii_case("false") => return false,
        _ => {}
    }
    status == 409 || (500..=599).contains(&status)
}

/// Waits between retries. Inject one to make tests fast or to observe the
/// delays.
#[async_trait]
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// Waits `duration`.
    async fn sleep(&self, duration: Duration);
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let p = RetryPolicy::default();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(p.backoff(1, 1.0)), 500);
        assert_eq!(ms(p.backoff(1, 0.0)), 250);
        assert_eq!(ms(p.backoff(2, 1.0)), 1000);
        assert_eq!(ms(p.backoff(3, 1.0)), 2000);
        assert_eq!(ms(p.backoff(4, 1.0)), 4000);
        assert_eq!(ms(p.backoff(5, 1.0)), 5000);
        assert_eq!(ms(p.backoff(5, 0.0)), 2500);
        assert_eq!(ms(p.backoff(40, 1.0)), 5000);
        assert_eq!(ms(p.backoff(u32::MAX, 7.0)), 5000, "jitter is clamped");
    }

    #[test]
    fn backoff_scales_with_the_policy() {
        let p = RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(3),
        };
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(1));
        assert_eq!(p.backoff(2, 1.0), Duration::from_millis(2));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(3));
    }

    #[test]
    fn status_rule() {
        assert!(should_retry_status(409, None));
        assert!(should_retry_status(500, None));
        assert!(should_retry_status(503, None));
        assert!(!should_retry_status(400, None));
        assert!(!should_retry_status(402, None));
        assert!(!should_retry_status(429, None));
        assert!(should_retry_status(429, Some("true")));
        assert!(should_retry_status(400, Some(" TRUE ")));
        assert!(!should_retry_status(500, Some("false")));
        assert!(!should_retry_status(409, Some("false")));
        assert!(
            should_retry_status(500, Some("maybe")),
            "unknown values are ignored"
        );
    }
}
