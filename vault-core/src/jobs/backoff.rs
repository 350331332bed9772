//! When a failed job runs again: exponential backoff with jitter.
//!
//! Attempt `n` (1 for the first failure) waits `base · 2^(n-1)`, capped,
//! then drawn uniformly from the upper half of that (`[d/2, d]`, "equal
//! jitter"): retries of many jobs that failed together spread out instead
//! of hammering a recovering service at the same instant, and no retry
//! comes sooner than half its step. The jitter comes from the caller's
//! entropy, so a test fixes it.

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// The backoff schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// The first step, in milliseconds.
    pub base_ms: u64,
    /// The longest step, in milliseconds.
    pub cap_ms: u64,
}

impl Default for Backoff {
    /// 10 s, 20 s, 40 s, … up to one hour.
    fn default() -> Self {
        Self {
            base_ms: 10_000,
            cap_ms: 3_600_000,
        }
    }
}

impl Backoff {
    /// The step before jitter for failure `attempt` (1-based): `base ·
    /// 2^(attempt-1)`, at most the cap.
    pub fn step_ms(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(63);
        self.base_ms
            .saturating_mul(1u64 << shift)
            .min(self.cap_ms.max(self.base_ms))
    }

    /// The wait after failure `attempt`, with `jitter` (any value; drawn
    /// from the caller's entropy) choosing a point in `[step/2, step]`.
    pub fn delay(&self, attempt: u32, jitter: u64) -> Duration {
        let step = self.step_ms(attempt);
        let half = step / 2;
        let spread = step - half;
        let ms = half + jitter % (spread + 1);
        Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 1_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_default_schedule_doubles_to_an_hour() {
        let b = Backoff::default();
        let steps: Vec<u64> = (1..=4).map(|n| b.step_ms(n)).collect();
        assert_eq!(steps, [10_000, 20_000, 40_000, 80_000]);
        assert_eq!(b.step_ms(30), 3_600_000);
        assert_eq!(b.delay(1, 0), Duration::seconds(5));
        assert_eq!(b.delay(1, 5_000), Duration::seconds(10));
    }

    proptest! {
        // Every delay lies in [step/2, step], the step never exceeds the cap
        // and never shrinks from one attempt to the next.
        #[test]
        fn delays_stay_in_the_upper_half_of_a_growing_capped_step(
            base in 1u64..100_000,
            cap in 1u64..10_000_000,
            attempt in 1u32..200,
            jitter in any::<u64>(),
        ) {
            let b = Backoff { base_ms: base, cap_ms: cap };
            let step = b.step_ms(attempt);
            prop_assert!(step <= cap.max(base));
            prop_assert!(step <= b.step_ms(attempt + 1));
            let d = b.delay(attempt, jitter).num_milliseconds();
            let d = u64::try_from(d).expect("non-negative");
            prop_assert!(d >= step / 2 && d <= step, "{d} not in [{}, {step}]", step / 2);
        }

        // Jitter spreads: over the whole range of jitter values, both ends of
        // the window are reachable.
        #[test]
        fn jitter_reaches_both_ends(base in 2u64..10_000, attempt in 1u32..10) {
            let b = Backoff { base_ms: base, cap_ms: u64::MAX };
            let step = b.step_ms(attempt);
            let spread = step - step / 2;
            prop_assert_eq!(b.delay(attempt, 0).num_milliseconds() as u64, step / 2);
            prop_assert_eq!(b.delay(attempt, spread).num_milliseconds() as u64, step);
        }
    }
}
