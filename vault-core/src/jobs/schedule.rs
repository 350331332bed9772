//! Recurring jobs without a scheduler process: each run is enqueued with a
//! unique key naming its period (`vault.memberships:2026-12-04T10`), so
//! however many workers and processes ask in that period, it is enqueued
//! once, and a worker that was down catches up with one run, not many.

use chrono::{DateTime, Timelike, Utc};

use crate::jobs::job::{JobKind, NewJob};

/// How often a recurring job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Once per hour (UTC).
    Hourly,
    /// Once per day (UTC).
    Daily,
}

/// A job enqueued once per period of its cadence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurring {
    /// What it runs (its payload is empty: a recurring job reads what it
    /// works on from the store when it runs).
    pub kind: JobKind,
    /// How often.
    pub cadence: Cadence,
}

impl Recurring {
    /// A recurring job of `kind` at `cadence`.
    pub fn new(kind: JobKind, cadence: Cadence) -> Self {
        Self { kind, cadence }
    }

    /// The unique key of the run for the period holding `now`:
    /// `{kind}:{YYYY-MM-DDTHH}` hourly, `{kind}:{YYYY-MM-DD}` daily.
    pub fn key(&self, now: DateTime<Utc>) -> String {
        match self.cadence {
            Cadence::Hourly => format!("{}:{}", self.kind, now.format("%Y-%m-%dT%H")),
            Cadence::Daily => format!("{}:{}", self.kind, now.format("%Y-%m-%d")),
        }
    }

    /// The start of the period holding `now`.
    pub fn period_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let hour = now
            .with_nanosecond(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_minute(0))
            .unwrap_or(now);
        match self.cadence {
            Cadence::Hourly => hour,
            Cadence::Daily => hour.with_hour(0).unwrap_or(hour),
        }
    }

    /// The job for the period holding `now` (three attempts, low priority:
    /// maintenance yields to work users wait for).
    pub fn job(&self, now: DateTime<Utc>) -> NewJob {
        NewJob {
            kind: self.kind.clone(),
            payload: serde_json::json!({ "period": self.period_start(now) }),
            priority: -10,
            run_at: None,
            max_attempts: 3,
            unique_key: Some(self.key(now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    fn rec(c: Cadence) -> Recurring {
        Recurring::new(JobKind::parse("vault.memberships").unwrap(), c)
    }

    #[test]
    fn keys_name_the_period() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T10:59:59.9Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            rec(Cadence::Hourly).key(at),
            "vault.memberships:2026-12-04T10"
        );
        assert_eq!(rec(Cadence::Daily).key(at), "vault.memberships:2026-12-04");
        assert!(rec(Cadence::Hourly).job(at).check().is_ok());
    }

    proptest! {
        /// Two instants share a key exactly when they share a period, and
        /// the period starts at or before both.
        #[test]
        fn one_key_per_period(a in 0i64..10_000_000, b in 0i64..10_000_000, daily in any::<bool>()) {
            let base = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
            let (x, y) = (base + Duration::seconds(a), base + Duration::seconds(b));
            let r = rec(if daily { Cadence::Daily } else { Cadence::Hourly });
            prop_assert_eq!(r.key(x) == r.key(y), r.period_start(x) == r.period_start(y));
            prop_assert!(r.period_start(x) <= x);
            let len = if daily { Duration::days(1) } else { Duration::hours(1) };
            prop_assert!(x - r.period_start(x) < len);
        }
    }
}
