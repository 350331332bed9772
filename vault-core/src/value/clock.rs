//! Time and randomness come from the caller.
//!
//! vault-core never reads the system clock or a random source: decisions are
//! reproducible given their inputs, and tests fix both. An app passes a
//! [`Clock`] that reads real time and an [`Entropy`] backed by the OS: with
//! the `std-sources` feature, `SystemClock` and `OsEntropy` are both here.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::value::validation::{Reason, ValidationError};

/// The first day the vault accepts, in a date or in an instant's UTC date.
///
/// With [`MAX_DATE`] it spans the four-digit years, the one range every
/// store keeps and orders alike: SQLite stores instants as fixed-width text
/// (`YYYY-MM-DDTHH:MM:SS.fffffffffZ`), while PostgreSQL (4713 BC to 294276
/// AD) and chrono (±262143) each reach further than the other can follow.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(d) => d,
    None => panic!("0001-01-01 is a date"),
};

/// The last day the vault accepts; see [`MIN_DATE`].
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => panic!("9999-12-31 is a date"),
};

/// Checks that `date` lies within [`MIN_DATE`]..=[`MAX_DATE`]; the error
/// names `field`.
pub fn check_date(field: &'static str, date: NaiveDate) -> Result<(), ValidationError> {
    if (MIN_DATE..=MAX_DATE).contains(&date) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            Reason::OutOfRange {
                min: MIN_DATE.to_string(),
                max: MAX_DATE.to_string(),
            },
        ))
    }
}

/// Checks that the UTC date of `at` lies within
/// [`MIN_DATE`]..=[`MAX_DATE`]; the error names `field`.
pub fn check_time(field: &'static str, at: DateTime<Utc>) -> Result<(), ValidationError> {
    check_date(field, at.date_naive())
}

/// Tells the current time. The app implements it over the system clock.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// A clock that only moves when told to; for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward (or back, with a negative duration). A move
    /// past the representable range stops at its end instead of panicking.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now
            .checked_add_signed(by)
            .unwrap_or(if by < Duration::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            });
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The system's clock, in UTC (feature `std-sources`).
#[cfg(feature = "std-sources")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(feature = "std-sources")]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The operating system's randomness (feature `std-sources`, through the
/// `getrandom` crate): what license keys and ids should be minted from.
#[cfg(feature = "std-sources")]
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

#[cfg(feature = "std-sources")]
impl Entropy for OsEntropy {
    /// # Panics
    /// When the operating system has no randomness to give (`getrandom`
    /// failed), as `uuid`'s v4 and `rand`'s `OsRng` do: minting a license
    /// key from anything weaker would make it guessable.
    fn bytes16(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        if let Err(e) = getrandom::fill(&mut out) {
            panic!("the operating system gave no randomness: {e}");
        }
        out
    }
}

/// A source of unpredictable bytes for ids and license keys.
///
/// Production apps use `OsEntropy` (feature `std-sources`) or their own
/// source backed by the OS; tests use [`SeededEntropy`].
pub trait Entropy: Send + Sync + fmt::Debug {
    /// Sixteen fresh bytes. Must not repeat in practice.
    fn bytes16(&self) -> [u8; 16];
}

/// Deterministic entropy from a seed (SplitMix64). For tests only: the
/// sequence is predictable, so license keys minted from it are guessable.
#[derive(Debug)]
pub struct SeededEntropy {
    state: AtomicU64,
}

impl SeededEntropy {
    /// A sequence starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    fn next_u64(&self) -> u64 {
        // SplitMix64: each call claims a distinct counter value, so concurrent
        // callers never see the same output.
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Entropy for SeededEntropy {
    fn bytes16(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        out
    }
}

/// Mints a random (version 4) UUID from the caller's entropy.
pub(crate) fn new_uuid(entropy: &dyn Entropy) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(entropy.bytes16()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_range_is_the_four_digit_years() {
        assert_eq!(MIN_DATE.to_string(), "0001-01-01");
        assert_eq!(MAX_DATE.to_string(), "9999-12-31");
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        for ok in [MIN_DATE, MAX_DATE, day(2025, 2, 13)] {
            assert_eq!(check_date("from", ok), Ok(()));
        }
        let last = MAX_DATE
            .and_hms_nano_opt(23, 59, 59, 999_999_999)
            .expect("time")
            .and_utc();
        assert_eq!(check_time("at", last), Ok(()));
        for (out, field) in [
            (NaiveDate::MIN, "from"),
            (NaiveDate::MAX, "to"),
            (day(0, 12, 31), "from"),
            (day(10_000, 1, 1), "to"),
        ] {
            let e = check_date(field, out).expect_err("out of range");
            assert_eq!(e.field(), field);
            assert!(matches!(e.reason(), Reason::OutOfRange { .. }), "{out}");
        }
        for at in [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            last + Duration::nanoseconds(1),
        ] {
            assert_eq!(check_time("at", at).expect_err("out").field(), "at");
        }
    }

    #[test]
    fn seeded_entropy_is_reproducible_and_distinct() {
        let a = SeededEntropy::new(7);
        let b = SeededEntropy::new(7);
        let first = a.bytes16();
        assert_eq!(first, b.bytes16());
        assert_ne!(first, a.bytes16());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::days(1));
        assert_eq!(clock.now(), start + Duration::days(1));
    }

    #[test]
    fn manual_clock_stops_at_the_ends_of_time() {
        let clock = ManualClock::new(DateTime::<Utc>::UNIX_EPOCH);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
        clock.set(DateTime::<Utc>::UNIX_EPOCH);
        clock.advance(Duration::MIN);
        assert_eq!(clock.now(), DateTime::<Utc>::MIN_UTC);
    }
}
