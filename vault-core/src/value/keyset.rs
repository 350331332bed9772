//! Cursor pages of the newest-first listings (the audit trail, accounts):
//! the cursor is the last item's instant and key, and the next page is
//! everything strictly before it in (instant, key) order, so a page never
//! skips or repeats an item however many are written meanwhile.
//!
//! Keys compare as bytes on every store (PostgreSQL compares them with
//! `COLLATE "C"`), as Rust's `str` ordering does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::clock::check_time;
use crate::value::validation::{Reason, ValidationError};

/// The most items one page holds.
pub const MAX_PAGE: u32 = 100;

/// Where the next page of a newest-first listing starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AfterRepr")]
pub struct After {
    at: DateTime<Utc>,
    key: String,
}

#[derive(Deserialize)]
struct AfterRepr {
    at: DateTime<Utc>,
    key: String,
}

impl TryFrom<AfterRepr> for After {
    type Error = ValidationError;
    fn try_from(r: AfterRepr) -> Result<Self, Self::Error> {
        After::new(r.at, r.key)
    }
}

impl After {
    /// The cursor after the item at `at` keyed `key` (1-255 characters, no
    /// control characters). The error names `cursor`.
    pub fn new(at: DateTime<Utc>, key: impl Into<String>) -> Result<Self, ValidationError> {
        check_time("cursor", at)?;
        let key = key.into();
        if key.is_empty() || key.len() > 255 || key.chars().any(char::is_control) {
            return Err(bad());
        }
        Ok(Self { at, key })
    }

    /// The last item's instant.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The last item's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// An opaque token for URLs.
    pub fn encode(&self) -> String {
        serde_json::to_string(self)
            .map(|s| const_hex::encode(s.as_bytes()))
            .unwrap_or_default()
    }

    /// Reads a token made by [`After::encode`].
    pub fn decode(token: &str) -> Result<Self, ValidationError> {
        if token.len() > 2000 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let bytes = const_hex::decode(token).map_err(|_| bad())?;
        let r: AfterRepr = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        After::new(r.at, r.key)
    }

    /// True when an item at `at` keyed `key` comes after this cursor
    /// (newest first: strictly older, or as old with a smaller key).
    pub fn admits(&self, at: DateTime<Utc>, key: &str) -> bool {
        (at, key) < (self.at, self.key.as_str())
    }
}

fn bad() -> ValidationError {
    ValidationError::new(
        "cursor",
        Reason::Format {
            expected: "a cursor returned by a previous page",
        },
    )
}

/// Checks a page size: 1 to [`MAX_PAGE`]. The error names `limit`.
pub fn check_limit(limit: u32) -> Result<(), ValidationError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(ValidationError::new(
            "limit",
            Reason::OutOfRange {
                min: "1".into(),
                max: MAX_PAGE.to_string(),
            },
        ))
    }
}

/// One page of results with the listing's own cursor `C` (the catalog's,
/// the comments'): here, below every area, so each listing can use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T, C> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, when there is one.
    pub next: Option<C>,
}

impl<T, C> Default for Page<T, C> {
    /// The empty last page.
    fn default() -> Self {
        Self {
            items: Vec::new(),
            next: None,
        }
    }
}

/// One page of a newest-first listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Where the next page starts, when there is one.
    pub next: Option<After>,
}

impl<T> Listing<T> {
    /// The page of `items` (in any order) after `after`, at most `limit`
    /// long, ordered newest first by `key`: what every store must return,
    /// and what the memory store returns.
    pub fn of(
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> (DateTime<Utc>, String),
        after: Option<&After>,
        limit: u32,
    ) -> Self {
        let mut keyed: Vec<((DateTime<Utc>, String), T)> = items
            .into_iter()
            .map(|t| (key(&t), t))
            .filter(|((at, k), _)| after.is_none_or(|a| a.admits(*at, k)))
            .collect();
        keyed.sort_by(|a, b| b.0.cmp(&a.0));
        Listing::from_sorted(keyed, limit)
    }

    /// The page from items already in order and keyed, one more than
    /// `limit` fetched to tell whether a next page exists: what the SQL
    /// stores return from `LIMIT limit + 1`.
    pub fn from_sorted(mut keyed: Vec<((DateTime<Utc>, String), T)>, limit: u32) -> Self {
        let limit = limit as usize;
        let more = keyed.len() > limit;
        keyed.truncate(limit);
        let next = if more {
            keyed.last().map(|((at, k), _)| After {
                at: *at,
                key: k.clone(),
            })
        } else {
            None
        };
        Listing {
            items: keyed.into_iter().map(|(_, t)| t).collect(),
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_700_000_000 + s, 0).expect("time")
    }

    #[test]
    fn tokens_round_trip_and_bad_ones_name_the_cursor() {
        let a = After::new(t(5), "u-1").expect("valid");
        assert_eq!(After::decode(&a.encode()).expect("round trip"), a);
        for bad in ["", "zz", "0x12", &"a".repeat(2002)] {
            assert_eq!(After::decode(bad).expect_err(bad).field(), "cursor");
        }
        assert!(After::new(t(0), "").is_err());
        assert!(After::new(t(0), "a\u{0}").is_err());
        assert_eq!(check_limit(0).expect_err("0").field(), "limit");
        assert!(check_limit(MAX_PAGE + 1).is_err());
        assert!(check_limit(1).is_ok() && check_limit(MAX_PAGE).is_ok());
    }

    proptest! {
        // Walking the pages yields every item once, newest first, whatever
        // the page size and however many items share an instant.
        #[test]
        fn pages_cover_every_item_once_in_order(
            items in proptest::collection::btree_set((0i64..6, "[a-d]{1,2}"), 0..30),
            limit in 1u32..7,
        ) {
            let all: Vec<(i64, String)> = items.into_iter().collect();
            let key = |i: &(i64, String)| (t(i.0), i.1.clone());
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = Listing::of(all.clone(), key, after.as_ref(), limit);
                prop_assert!(page.items.len() <= limit as usize);
                seen.extend(page.items);
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            let mut want = all.clone();
            want.sort_by(|a, b| b.cmp(a));
            prop_assert_eq!(seen, want);
        }
    }
}
