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

/// Mints a time-ordered (version 7) UUID for `at` from the caller's
/// entropy: for rows written at a high rate into a table keyed by id (the
/// job queue), where random keys would land all over the primary key's
/// B-tree and dirty a page per insert. Ids minted at later microseconds
/// sort after earlier ones (RFC 9562's method 3: the 12 bits after the
/// milliseconds carry the sub-millisecond fraction); ids of the same
/// microsecond differ in 62 random bits. The id reveals when it was
/// minted, so it is for rows whose creation time is no secret. Instants
/// before 1970 mint as 1970.
pub(crate) fn time_ordered_uuid(entropy: &dyn Entropy, at: DateTime<Utc>) -> uuid::Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    // 0..=999 µs scaled onto 0..=4091: a step of 4.096, so distinct
    // microseconds stay distinct and ordered.
    let fraction = (at.timestamp_subsec_micros() % 1000) * 4096 / 1000;
    let random = entropy.bytes16();
    let mut bytes = [0u8; 10];
    bytes[..2].copy_from_slice(&(fraction as u16).to_be_bytes());
    bytes[2..].copy_from_slice(&random[..8]);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
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

    proptest::proptest! {
        #[test]
        fn time_ordered_ids_sort_by_their_microsecond(
            a in 0i64..4_102_444_800_000_000,
            b in 0i64..4_102_444_800_000_000,
            seed: u64,
        ) {
            let entropy = SeededEntropy::new(seed);
            let at = |us| DateTime::from_timestamp_micros(us).expect("in range");
            let (x, y) = (time_ordered_uuid(&entropy, at(a)), time_ordered_uuid(&entropy, at(b)));
            for id in [x, y] {
                proptest::prop_assert_eq!(id.get_version(), Some(uuid::Version::SortRand));
                proptest::prop_assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            }
            let (secs, nanos) = x.get_timestamp().expect("a v7 id has one").to_unix();
            proptest::prop_assert_eq!(secs * 1000 + u64::from(nanos / 1_000_000), a.unsigned_abs() / 1000);
            if a != b {
                proptest::prop_assert_eq!(x < y, a < b);
            } else {
                proptest::prop_assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn time_ordered_ids_before_1970_mint_as_1970() {
        let id = time_ordered_uuid(&SeededEntropy::new(1), DateTime::<Utc>::MIN_UTC);
        assert_eq!(id.get_timestamp().map(|t| t.to_unix().0), Some(0));
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
