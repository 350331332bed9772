//! Catalog queries: filters, sort orders and cursors for listing workflows.
//!
//! The semantics are defined here once, as plain functions
//! ([`WorkflowQuery::matches`], [`WorkflowSort::compare`]); the in-memory store
//! calls them and the SQL backends translate them, and the conformance suite
//! checks that all agree.
//!
//! * Every sort is descending by its key, then ascending by id, so the order
//!   is total and a cursor (the last item's key and id) resumes exactly.
//! * Ratings sort by their exact fractions (see [`crate::community::rating`]); a
//!   workflow without reviews sorts last.
//! * Text search splits the query into words; a workflow matches when every
//!   word is a prefix of some word of its title, short description,
//!   description or tags, ignoring case (what FTS5 and `tsquery` prefix
//!   matching do).
//! * Filters and cursors come straight from URLs, so [`PriceRange`] and
//!   [`Cursor`] are built only through checked constructors (deserializing
//!   and [`Cursor::decode`] included): their values are ones every store can
//!   compare without overflow, and a store handed one needs no check of its
//!   own.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::wedge::Score;
use crate::catalog::workflow::{Tag, Workflow, WorkflowStatus};
use crate::community::rating::{BayesianPrior, compare_average, compare_bayesian};
use crate::value::MAX_INTEGER;
use crate::value::clock::check_time;
use crate::value::ids::{CategoryId, WorkflowId};
use crate::value::money::{Currency, Money};
use crate::value::tier::PricingTier;
use crate::value::validation::{Reason, ValidationError};

/// How to order a listing (all descending, ties by id ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowSort {
    /// W.E.D.G.E. score.
    WedgeScore,
    /// Exact average rating.
    Rating,
    /// Bayesian (damped) average with the query's prior.
    BayesianRating,
    /// Download count.
    Downloads,
    /// Publication time (creation time for never-published drafts).
    Newest,
}

/// A price range filter, inclusive. Free workflows count as zero; workflows
/// sold only through memberships never match a price range.
///
/// Built by [`PriceRange::new`], which deserializing goes through too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PriceRangeRepr", into = "PriceRangeRepr")]
pub struct PriceRange {
    currency: Currency,
    min: Option<Money>,
    max: Option<Money>,
}

// The serialized shape of `PriceRange`, checked on the way in.
#[derive(Serialize, Deserialize)]
struct PriceRangeRepr {
    currency: Currency,
    min: Option<Decimal>,
    max: Option<Decimal>,
}

impl TryFrom<PriceRangeRepr> for PriceRange {
    type Error = ValidationError;
    fn try_from(r: PriceRangeRepr) -> Result<Self, Self::Error> {
        PriceRange::new(r.currency, r.min, r.max)
    }
}

impl From<PriceRange> for PriceRangeRepr {
    fn from(r: PriceRange) -> Self {
        Self {
            currency: r.currency,
            min: r.min(),
            max: r.max(),
        }
    }
}

impl PriceRange {
    /// Checks each bound is an amount of `currency` as [`Money::new`]
    /// accepts it (no finer than the minor unit, within the range every
    /// store holds), naming `price.min` or `price.max`, and that `min` does
    /// not exceed `max` (naming `price`). Either bound may be absent.
    pub fn new(
        currency: Currency,
        min: Option<Decimal>,
        max: Option<Decimal>,
    ) -> Result<Self, ValidationError> {
        let min = min
            .map(|m| Money::new_field("price.min", m, currency))
            .transpose()?;
        let max = max
            .map(|m| Money::new_field("price.max", m, currency))
            .transpose()?;
        if let (Some(lo), Some(hi)) = (min, max)
            && lo.amount() > hi.amount()
        {
            return Err(ValidationError::new(
                "price",
                Reason::Inconsistent {
                    detail: "the minimum price must not exceed the maximum".into(),
                },
            ));
        }
        Ok(Self { currency, min, max })
    }

    /// Currency the bounds are in; workflows priced in others never match.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Lower bound, inclusive.
    pub fn min(&self) -> Option<Decimal> {
        self.min.map(|m| m.amount())
    }

    /// Upper bound, inclusive.
    pub fn max(&self) -> Option<Decimal> {
        self.max.map(|m| m.amount())
    }

    /// The lower bound in minor units, for stores that keep amounts as
    /// integers; `None` when there is no lower bound.
    pub fn min_minor(&self) -> Option<i64> {
        self.min.and_then(|m| m.to_minor())
    }

    /// The upper bound in minor units; see [`PriceRange::min_minor`].
    pub fn max_minor(&self) -> Option<i64> {
        self.max.and_then(|m| m.to_minor())
    }

    /// True when zero lies within the range: free workflows match.
    pub fn admits_zero(&self) -> bool {
        self.min().is_none_or(|m| m <= Decimal::ZERO)
            && self.max().is_none_or(|m| m >= Decimal::ZERO)
    }
}

/// A listing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowQuery {
    /// Statuses to include. The service narrows this to what the actor may
    /// see; empty means every status.
    pub statuses: Vec<WorkflowStatus>,
    /// Only this category.
    pub category: Option<CategoryId>,
    /// Only these tiers (empty: all).
    pub tiers: Vec<PricingTier>,
    /// Price range.
    pub price: Option<PriceRange>,
    /// Must carry every one of these tags.
    pub tags: Vec<Tag>,
    /// Full-text words.
    pub text: Option<String>,
    /// Order.
    pub sort: WorkflowSort,
    /// Prior for [`WorkflowSort::BayesianRating`].
    pub prior: BayesianPrior,
    /// Page size, 1-100.
    pub limit: u32,
    /// Resume after this cursor.
    pub cursor: Option<Cursor>,
}

impl Default for WorkflowQuery {
    fn default() -> Self {
        Self {
            statuses: vec![WorkflowStatus::Published],
            category: None,
            tiers: vec![],
            price: None,
            tags: vec![],
            text: None,
            sort: WorkflowSort::Newest,
            prior: BayesianPrior::default(),
            limit: 20,
            cursor: None,
        }
    }
}

/// The words of a text query, lowercased: runs of letters and digits.
pub fn search_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(16)
        .collect()
}

pub(crate) fn words_of(w: &Workflow) -> impl Iterator<Item = String> + '_ {
    let c = &w.content;
    [
        c.title.as_str(),
        c.short_description.as_str(),
        c.description.as_str(),
    ]
    .into_iter()
    .chain(c.tags.iter().map(Tag::as_str))
    .flat_map(search_terms)
}

impl WorkflowQuery {
    /// Checks the page size, the text, and that the cursor belongs to this
    /// sort. (The cursor and price range checked themselves when built.)
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=100).contains(&self.limit) {
            return Err(ValidationError::new(
                "limit",
                Reason::OutOfRange {
                    min: "1".into(),
                    max: "100".into(),
                },
            ));
        }
        if let Some(t) = &self.text
            && t.chars().count() > 200
        {
            return Err(ValidationError::new("text", Reason::TooLong { max: 200 }));
        }
        if let Some(c) = &self.cursor
            && c.sort != self.sort
        {
            return Err(ValidationError::new(
                "cursor",
                Reason::Inconsistent {
                    detail: "the cursor belongs to another sort order".into(),
                },
            ));
        }
        Ok(())
    }

    /// True when `w` passes every filter (not the cursor). A deleted
    /// workflow never does: listings and searches leave it out for every
    /// actor, and the SQL stores say the same with `deleted_at IS NULL`.
    pub fn matches(&self, w: &Workflow) -> bool {
        let c = &w.content;
        if w.is_deleted() {
            return false;
        }
        if !self.statuses.is_empty() && !self.statuses.contains(&w.status) {
            return false;
        }
        if self.category.is_some_and(|cat| cat != c.category_id) {
            return false;
        }
        if !self.tiers.is_empty() && !self.tiers.contains(&c.pricing_tier) {
            return false;
        }
        if let Some(range) = &self.price {
            let amount = match (&c.price, c.pricing_tier) {
                (Some(p), _) if p.currency() == range.currency => p.amount(),
                (None, PricingTier::Free) => Decimal::ZERO,
                _ => return false,
            };
            if range.min().is_some_and(|m| amount < m) || range.max().is_some_and(|m| amount > m) {
                return false;
            }
        }
        if !self.tags.iter().all(|t| c.tags.contains(t)) {
            return false;
        }
        if let Some(text) = &self.text {
            let terms = search_terms(text);
            let words: Vec<String> = words_of(w).collect();
            if !terms
                .iter()
                .all(|t| words.iter().any(|word| word.starts_with(t.as_str())))
            {
                return false;
            }
        }
        true
    }

    /// True when `w` comes after the cursor in this query's order.
    pub fn after_cursor(&self, w: &Workflow) -> bool {
        match &self.cursor {
            None => true,
            Some(c) => {
                self.sort
                    .compare_key(&SortKey::of(w, self.sort), &c.key, &self.prior)
                    .then_with(|| w.id.cmp(&c.id))
                    == Ordering::Greater
            }
        }
    }
}

/// The value a workflow is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "key", content = "value", rename_all = "snake_case")]
pub enum SortKey {
    /// W.E.D.G.E. score.
    Score(Decimal),
    /// Rating aggregate (both rating sorts).
    Rating {
        /// Sum of stars.
        sum: u64,
        /// Review count.
        count: u64,
    },
    /// Download count.
    Downloads(u64),
    /// Publication time.
    Time(DateTime<Utc>),
}

/// What a listing sorts and pages by, read off a listed item: a whole
/// [`Workflow`] or its [`WorkflowCard`] give the same keys, so a page of
/// either has the same order and cursors.
pub trait Listed {
    /// The workflow's id (the tie-break).
    fn listed_id(&self) -> WorkflowId;
    /// Its W.E.D.G.E. score.
    fn score(&self) -> Score;
    /// Its approved reviews: (sum of stars, count).
    fn rating(&self) -> (u64, u64);
    /// Its recorded downloads.
    fn downloads(&self) -> u64;
    /// When it was first published, if it was.
    fn published_at(&self) -> Option<DateTime<Utc>>;
    /// When it was created.
    fn created_at(&self) -> DateTime<Utc>;
}

impl Listed for Workflow {
    fn listed_id(&self) -> WorkflowId {
        self.id
    }
    fn score(&self) -> Score {
        self.content.wedge.score
    }
    fn rating(&self) -> (u64, u64) {
        (self.stats.rating.sum(), self.stats.rating.count())
    }
    fn downloads(&self) -> u64 {
        self.stats.download_count
    }
    fn published_at(&self) -> Option<DateTime<Utc>> {
        self.published_at
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

impl SortKey {
    /// The key of `w` under `sort`.
    pub fn of(w: &impl Listed, sort: WorkflowSort) -> Self {
        match sort {
            WorkflowSort::WedgeScore => SortKey::Score(w.score().value()),
            WorkflowSort::Rating | WorkflowSort::BayesianRating => {
                let (sum, count) = w.rating();
                SortKey::Rating { sum, count }
            }
            WorkflowSort::Downloads => SortKey::Downloads(w.downloads()),
            // Never published (a draft staff list): its creation.
            WorkflowSort::Newest => SortKey::Time(w.published_at().unwrap_or(w.created_at())),
        }
    }
}

impl WorkflowSort {
    /// Orders two keys *ascending* (the listing is the reverse).
    pub fn compare_key(&self, a: &SortKey, b: &SortKey, prior: &BayesianPrior) -> Ordering {
        // Listing is descending by key, so "greater" in list order means a
        // smaller key: reverse the natural key order.
        let natural = match (a, b) {
            (SortKey::Score(x), SortKey::Score(y)) => x.cmp(y),
            (SortKey::Downloads(x), SortKey::Downloads(y)) => x.cmp(y),
            (SortKey::Time(x), SortKey::Time(y)) => x.cmp(y),
            (SortKey::Rating { sum: s1, count: c1 }, SortKey::Rating { sum: s2, count: c2 }) => {
                if *self == WorkflowSort::BayesianRating {
                    compare_bayesian((*s1, *c1), (*s2, *c2), prior)
                } else {
                    compare_average((*s1, *c1), (*s2, *c2))
                }
            }
            _ => Ordering::Equal,
        };
        natural.reverse()
    }

    /// Orders two workflows as the listing does: key descending, id ascending.
    pub fn compare(&self, a: &Workflow, b: &Workflow, prior: &BayesianPrior) -> Ordering {
        self.compare_key(&SortKey::of(a, *self), &SortKey::of(b, *self), prior)
            .then_with(|| a.id.cmp(&b.id))
    }
}

/// The most reviews a rating key in a [`Cursor`] may count. No workflow
/// gets near it (one review per user), and it keeps every key's side of a
/// store's exact fraction comparisons within 64-bit integers: with at most
/// five stars per review, `100 × sum` and a prior's `weight × mean × 100`
/// stay far below `i64::MAX`.
pub const MAX_KEY_REVIEWS: u64 = u32::MAX as u64;

/// Where the next page starts: the sort, and the last item's key and id.
///
/// Built by [`Cursor::new`] (which [`Cursor::decode`] and deserializing go
/// through) or [`Cursor::after`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CursorRepr")]
pub struct Cursor {
    sort: WorkflowSort,
    key: SortKey,
    id: WorkflowId,
}

// The serialized shape of `Cursor`, checked on the way in.
#[derive(Deserialize)]
struct CursorRepr {
    sort: WorkflowSort,
    key: SortKey,
    id: WorkflowId,
}

impl TryFrom<CursorRepr> for Cursor {
    type Error = ValidationError;
    fn try_from(r: CursorRepr) -> Result<Self, Self::Error> {
        Cursor::new(r.sort, r.key, r.id)
    }
}

impl Cursor {
    /// A cursor resuming after the item with `key` and `id` in `sort`. The
    /// key must be the kind [`SortKey::of`] gives for the sort, and one a
    /// workflow can have: a score as [`Score::new`] accepts it, a download
    /// count up to [`MAX_INTEGER`], a rating of at most [`MAX_KEY_REVIEWS`]
    /// reviews of one to five stars each, a time within the dates every
    /// store holds ([`crate::value::clock::check_time`]). The error names `cursor`.
    pub fn new(sort: WorkflowSort, key: SortKey, id: WorkflowId) -> Result<Self, ValidationError> {
        let out_of_range = |min: &str, max: String| {
            ValidationError::new(
                "cursor",
                Reason::OutOfRange {
                    min: min.into(),
                    max,
                },
            )
        };
        match (sort, key) {
            (WorkflowSort::WedgeScore, SortKey::Score(s)) => {
                Score::new("cursor", s)?;
            }
            (WorkflowSort::Downloads, SortKey::Downloads(n)) => {
                if n > MAX_INTEGER {
                    return Err(out_of_range("0 downloads", MAX_INTEGER.to_string()));
                }
            }
            (
                WorkflowSort::Rating | WorkflowSort::BayesianRating,
                SortKey::Rating { sum, count },
            ) => {
                if count > MAX_KEY_REVIEWS {
                    return Err(out_of_range(
                        "0 reviews",
                        format!("{MAX_KEY_REVIEWS} reviews"),
                    ));
                }
                // Every review gives one to five stars (and `5 × count`
                // cannot overflow below the bound).
                if sum < count || sum > 5 * count {
                    return Err(ValidationError::new(
                        "cursor",
                        Reason::Inconsistent {
                            detail: "the rating sum must be one to five stars per review".into(),
                        },
                    ));
                }
            }
            (WorkflowSort::Newest, SortKey::Time(t)) => check_time("cursor", t)?,
            // A decoded cursor is client input: a key of another kind than
            // its sort produces would tie with every workflow.
            _ => {
                return Err(ValidationError::new(
                    "cursor",
                    Reason::Inconsistent {
                        detail: "the cursor's key does not belong to its sort order".into(),
                    },
                ));
            }
        }
        Ok(Self { sort, key, id })
    }

    /// The cursor after `w` (a workflow or its card). Its key comes from a
    /// stored workflow, not from a caller, so it is not checked again.
    pub fn after(w: &impl Listed, sort: WorkflowSort) -> Self {
        Self {
            sort,
            key: SortKey::of(w, sort),
            id: w.listed_id(),
        }
    }

    /// The sort it belongs to.
    pub fn sort(&self) -> WorkflowSort {
        self.sort
    }

    /// The last item's key.
    pub fn key(&self) -> SortKey {
        self.key
    }

    /// The last item's id.
    pub fn id(&self) -> WorkflowId {
        self.id
    }

    /// An opaque token for URLs.
    pub fn encode(&self) -> String {
        serde_json::to_string(self)
            .map(|s| const_hex::encode(s.as_bytes()))
            .unwrap_or_default()
    }

    /// Reads a token made by [`Cursor::encode`]. A token of the right shape
    /// whose values [`Cursor::new`] refuses gets that error.
    pub fn decode(token: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "cursor",
                Reason::Format {
                    expected: "a cursor returned by a previous page",
                },
            )
        };
        // Only the digits `encode` writes: const_hex alone would also take
        // a `0x` prefix, which no token of ours carries.
        if token.len() > 2000 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let bytes = const_hex::decode(token).map_err(|_| bad())?;
        let r: CursorRepr = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Cursor::new(r.sort, r.key, r.id)
    }
}

/// One page of the catalog's listing ([`crate::value::keyset::Page`] with
/// the catalog's cursor by default).
pub type Page<T, C = Cursor> = crate::value::keyset::Page<T, C>;

impl WorkflowSort {
    /// Every order, as a storefront offers them.
    pub const ALL: [WorkflowSort; 5] = [
        WorkflowSort::WedgeScore,
        WorkflowSort::Rating,
        WorkflowSort::BayesianRating,
        WorkflowSort::Downloads,
        WorkflowSort::Newest,
    ];

    /// The order a word names (as [`fmt::Display`] writes it: `newest`,
    /// `downloads`, ...). The error names `sort`.
    pub fn parse(word: &str) -> Result<Self, ValidationError> {
        WorkflowSort::ALL
            .into_iter()
            .find(|s| s.to_string() == word)
            .ok_or_else(|| {
                ValidationError::new(
                    "sort",
                    Reason::Unknown {
                        allowed: "wedge_score, rating, bayesian_rating, downloads, newest",
                    },
                )
            })
    }
}

impl fmt::Display for WorkflowSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkflowSort::WedgeScore => "wedge_score",
            WorkflowSort::Rating => "rating",
            WorkflowSort::BayesianRating => "bayesian_rating",
            WorkflowSort::Downloads => "downloads",
            WorkflowSort::Newest => "newest",
        })
    }
}

/// Runs `query` over `all` with the shared semantics: filter, sort, resume
/// after the cursor, take a page. The in-memory store uses it; it is the
/// reference the SQL backends are tested against.
pub fn run_query<'a, I>(query: &WorkflowQuery, all: I) -> Page<Workflow>
where
    I: IntoIterator<Item = &'a Workflow>,
{
    let mut hits: Vec<&Workflow> = all
        .into_iter()
        .filter(|w| query.matches(w) && query.after_cursor(w))
        .collect();
    hits.sort_by(|a, b| query.sort.compare(a, b, &query.prior));
    let limit = query.limit as usize;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = if more {
        hits.last().map(|w| Cursor::after(*w, query.sort))
    } else {
        None
    };
    Page {
        items: hits.into_iter().cloned().collect(),
        next,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn sort_words_parse_back_and_others_name_the_field() {
        for sort in WorkflowSort::ALL {
            assert_eq!(WorkflowSort::parse(&sort.to_string()), Ok(sort));
        }
        for bad in ["", "Newest", "price", "newest "] {
            assert_eq!(WorkflowSort::parse(bad).expect_err(bad).field(), "sort");
        }
    }
    use crate::value::clock::{MAX_DATE, MIN_DATE};
    use crate::value::money::{MAX_MINOR, MIN_MINOR};

    fn id() -> WorkflowId {
        WorkflowId::from_uuid(uuid::Uuid::nil())
    }

    fn field<T: fmt::Debug>(r: Result<T, ValidationError>) -> &'static str {
        r.expect_err("refused").field()
    }

    #[test]
    fn price_bounds_are_amounts_every_store_holds() {
        let usd = Currency::USD;
        assert_eq!(
            field(PriceRange::new(usd, None, Some(Decimal::MAX))),
            "price.max"
        );
        assert_eq!(
            field(PriceRange::new(usd, Some(Decimal::MIN), None)),
            "price.min"
        );
        assert_eq!(
            field(PriceRange::new(usd, Some(Decimal::new(19_999, 3)), None)),
            "price.min"
        );
        assert_eq!(
            field(PriceRange::new(usd, Some(Decimal::TEN), Some(Decimal::ONE))),
            "price"
        );
        let widest = PriceRange::new(
            usd,
            Some(Decimal::new(MIN_MINOR, 2)),
            Some(Decimal::new(MAX_MINOR, 2)),
        )
        .expect("the ends of the range");
        assert_eq!(
            (widest.min_minor(), widest.max_minor()),
            (Some(MIN_MINOR), Some(MAX_MINOR))
        );
        assert!(widest.admits_zero());
        let open = PriceRange::new(usd, None, None).expect("no bounds");
        assert_eq!((open.min_minor(), open.max_minor()), (None, None));
        let above = PriceRange::new(usd, Some(Decimal::new(1, 2)), None).expect("a cent");
        assert!(!above.admits_zero());
        // Serde goes through the constructor, and round-trips.
        let json = r#"{"currency":"USD","min":"79228162514264337593543950335","max":null}"#;
        assert!(serde_json::from_str::<PriceRange>(json).is_err());
        let back: PriceRange =
            serde_json::from_str(&serde_json::to_string(&widest).expect("ser")).expect("de");
        assert_eq!(back, widest);
    }

    #[test]
    fn cursor_keys_are_bounded_by_what_stores_compare() {
        let new = |sort, key| Cursor::new(sort, key, id());
        let refused = [
            (WorkflowSort::WedgeScore, SortKey::Score(Decimal::MIN)),
            (
                WorkflowSort::WedgeScore,
                SortKey::Score(Decimal::new(75, 2)),
            ),
            (WorkflowSort::Downloads, SortKey::Downloads(MAX_INTEGER + 1)),
            (
                WorkflowSort::Rating,
                SortKey::Rating {
                    sum: MAX_KEY_REVIEWS + 1,
                    count: MAX_KEY_REVIEWS + 1,
                },
            ),
            (
                WorkflowSort::BayesianRating,
                SortKey::Rating {
                    sum: i64::MAX as u64,
                    count: 1,
                },
            ),
            (WorkflowSort::Rating, SortKey::Rating { sum: 1, count: 0 }),
            (WorkflowSort::Rating, SortKey::Rating { sum: 2, count: 3 }),
            (
                WorkflowSort::Newest,
                SortKey::Time(DateTime::<Utc>::MAX_UTC),
            ),
            (
                WorkflowSort::Newest,
                SortKey::Time(
                    MIN_DATE.and_hms_opt(0, 0, 0).expect("t").and_utc() - Duration::nanoseconds(1),
                ),
            ),
            (WorkflowSort::Newest, SortKey::Downloads(1)),
        ];
        for (sort, key) in refused {
            assert_eq!(field(new(sort, key)), "cursor", "{sort} {key:?}");
            let token = const_hex::encode(
                serde_json::json!({ "sort": sort, "key": key, "id": id() })
                    .to_string()
                    .as_bytes(),
            );
            assert_eq!(field(Cursor::decode(&token)), "cursor", "{sort} {key:?}");
        }
        let accepted = [
            (WorkflowSort::WedgeScore, SortKey::Score(Decimal::TEN)),
            (WorkflowSort::Downloads, SortKey::Downloads(MAX_INTEGER)),
            (
                WorkflowSort::BayesianRating,
                SortKey::Rating {
                    sum: 5 * MAX_KEY_REVIEWS,
                    count: MAX_KEY_REVIEWS,
                },
            ),
            (WorkflowSort::Rating, SortKey::Rating { sum: 0, count: 0 }),
            (
                WorkflowSort::Newest,
                SortKey::Time(MAX_DATE.and_hms_opt(23, 59, 59).expect("t").and_utc()),
            ),
        ];
        for (sort, key) in accepted {
            let c = new(sort, key).expect("accepted");
            assert_eq!((c.sort(), c.key(), c.id()), (sort, key, id()));
            assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }
    }

    #[test]
    fn a_token_is_only_the_hex_digits_encode_writes() {
        let c = Cursor::new(WorkflowSort::Downloads, SortKey::Downloads(7), id()).expect("cursor");
        let token = c.encode();
        assert_eq!(Cursor::decode(&token.to_uppercase()), Ok(c));
        // `u8::from_str_radix` took "+7" as a byte; a hex crate takes "0x".
        let plus = format!("+{}", &token[1..]);
        for bad in [
            format!("0x{token}"),
            plus,
            token[1..].to_owned(),
            format!("{token} "),
            "zz".repeat(8),
            "ab".repeat(1001),
        ] {
            let err = Cursor::decode(&bad).expect_err(&bad);
            assert_eq!(err.field(), "cursor");
        }
    }
}
