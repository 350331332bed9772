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
//! `max(initial_delay, min(initial_delay * 2^(n-1), max_delay) * jitter)`
//! with `jitter` uniform in `[0.5, 1.0]`, as Stripe's official libraries do
//! (`max(0.5, jittered)` seconds). With the defaults that is exactly 0.5 s
//! before the first retry, 0.5–1 s before the second, 1–2 s, … never above
//! 5 s: jitter never takes a retry below the initial delay, so Stripe's side
//! always gets at least that long to recover. The sleep goes through a
//! [`Sleeper`], so tests can record it instead of waiting, and the delays
//! scale with [`RetryPolicy`].

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
    /// (clamped; NaN counts as 1):
    /// `max(floor, min(initial * 2^(n-1), max) * (0.5 + jitter / 2))`, where
    /// `floor` is `initial_delay` (or `max_delay` if that is smaller, so
    /// the cap stays a cap). Never panics, whatever the arguments.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let base = self
            .initial_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        // `clamp` keeps a NaN, and `mul_f64` panics on one.
        let jitter = if jitter.is_nan() {
            1.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let factor = 0.5 * (1.0 + jitter);
        let floor = self.initial_delay.min(self.max_delay);
        base.mul_f64(factor).max(floor)
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
        assert_eq!(ms(p.backoff(1, 0.0)), 500, "never below 0.5 s");
        assert_eq!(ms(p.backoff(2, 1.0)), 1000);
        assert_eq!(ms(p.backoff(2, 0.0)), 500);
        assert_eq!(ms(p.backoff(3, 1.0)), 2000);
        assert_eq!(ms(p.backoff(3, 0.0)), 1000);
        assert_eq!(ms(p.backoff(4, 1.0)), 4000);
        assert_eq!(ms(p.backoff(5, 1.0)), 5000);
        assert_eq!(ms(p.backoff(5, 0.0)), 2500);
        assert_eq!(ms(p.backoff(40, 1.0)), 5000);
        assert_eq!(ms(p.backoff(u32::MAX, 7.0)), 5000, "jitter is clamped");
        assert_eq!(ms(p.backoff(3, f64::NAN)), 2000, "NaN counts as 1");
    }

    /// The cap in milliseconds before jitter, `min(500 * 2^(n-1), 5000)`,
    /// computed apart from `backoff`.
    fn default_cap_ms(retry: u32) -> u128 {
        let mut cap: u128 = 500;
        for _ in 1..retry.min(10) {
            cap *= 2;
        }
        cap.min(5000)
    }

    proptest::proptest! {
        /// Stripe's official clients wait `max(0.5, jittered)` seconds: no
        /// retry comes sooner than 0.5 s, whatever the jitter drew.
        #[test]
        fn default_backoff_is_never_below_half_a_second(
            retry in 1u32..=64,
            jitter in 0.0f64..=1.0,
        ) {
            let d = RetryPolicy::default().backoff(retry, jitter);
            proptest::prop_assert!(d >= Duration::from_millis(500), "{retry} {jitter}: {d:?}");
            proptest::prop_assert!(d <= Duration::from_secs(5), "{retry} {jitter}: {d:?}");
        }

        /// Within the floor, the delay is the jittered `min(0.5 * 2^(n-1), 5)`:
        /// between half the cap and the cap, and growing with the jitter.
        #[test]
        fn default_backoff_is_the_jittered_cap(
            retry in 1u32..=64,
            a in 0.0f64..=1.0,
            b in 0.0f64..=1.0,
        ) {
            let p = RetryPolicy::default();
            let cap = default_cap_ms(retry);
            let (lo, hi) = (a.min(b), a.max(b));
            let (d_lo, d_hi) = (p.backoff(retry, lo), p.backoff(retry, hi));
            proptest::prop_assert!(d_lo <= d_hi);
            for d in [d_lo, d_hi] {
                let ms = d.as_millis();
                proptest::prop_assert!((cap / 2).max(500) <= ms && ms <= cap, "{retry}: {d:?}");
            }
        }

        /// Any policy, any input: no panic, never below the initial delay
        /// (the floor) and never above the larger of the cap and the floor.
        #[test]
        fn any_policy_any_input_stays_in_bounds(
            initial_ms in 0u64..=10_000,
            max_ms in 0u64..=100_000,
            retry in proptest::num::u32::ANY,
            jitter in proptest::num::f64::ANY,
        ) {
            let p = RetryPolicy {
                max_retries: 2,
                initial_delay: Duration::from_millis(initial_ms),
                max_delay: Duration::from_millis(max_ms),
            };
            let d = p.backoff(retry, jitter);
            let floor = p.initial_delay.min(p.max_delay);
            proptest::prop_assert!(d >= floor, "{p:?} {retry} {jitter}: {d:?}");
            proptest::prop_assert!(d <= p.max_delay.max(floor), "{p:?} {retry} {jitter}: {d:?}");
        }
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
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(1), "the floor");
        let upside_down = RetryPolicy {
            max_retries: 1,
            initial_delay: Duration::from_millis(9),
            max_delay: Duration::from_millis(4),
        };
        assert_eq!(
            upside_down.backoff(1, 1.0),
            Duration::from_millis(4),
            "the cap wins over the floor"
        );
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
