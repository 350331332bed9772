//! Catalog queries: filters, sort orders and cursors for listing workflows.
//!
//! The semantics are defined here once, as plain functions
//! ([`WorkflowQuery::matches`], [`WorkflowSort::compare`]); the in-memory store
//! calls them and the SQL backends translate them, and the conformance suite
//! checks that all agree.
//!
//! * Every sort is descending by its key, then ascending by id, so the order
//!   is total and a cursor (the last item's key and id) resumes exactly.
//! * Ratings sort by their exact fractions (see [`crate::rating`]); a
//!   workflow without reviews sorts last.
//! * Text search splits the query into words; a workflow matches when every
//!   word is a prefix of some word of its title, short description,
//!   description or tags, ignoring case (what FTS5 and `tsquery` prefix
//!   matching do).

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Reason, ValidationError};
use crate::ids::{CategoryId, WorkflowId};
use crate::money::Currency;
use crate::rating::{BayesianPrior, compare_average, compare_bayesian};
use crate::tier::PricingTier;
use crate::workflow::{Tag, Workflow, WorkflowStatus};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRange {
    /// Currency the bounds are in; workflows priced in others never match.
    pub currency: Currency,
    /// Lower bound.
    pub min: Option<Decimal>,
    /// Upper bound.
    pub max: Option<Decimal>,
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

fn words_of(w: &Workflow) -> impl Iterator<Item = String> + '_ {
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
    /// Checks the page size and text.
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
        // A decoded cursor is client input: its key must be the kind its
        // sort produces, or every comparison with it would tie.
        if let Some(c) = &self.cursor
            && !c.key_matches_sort()
        {
            return Err(ValidationError::new(
                "cursor",
                Reason::Inconsistent {
                    detail: "the cursor's key does not belong to its sort order".into(),
                },
            ));
        }
        if let Some(PriceRange {
            min: Some(min),
            max: Some(max),
            ..
        }) = &self.price
            && min > max
        {
            return Err(ValidationError::new(
                "price",
                Reason::Inconsistent {
                    detail: "the minimum price must not exceed the maximum".into(),
                },
            ));
        }
        Ok(())
    }

    /// True when `w` passes every filter (not the cursor).
    pub fn matches(&self, w: &Workflow) -> bool {
        let c = &w.content;
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
            if range.min.is_some_and(|m| amount < m) || range.max.is_some_and(|m| amount > m) {
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

impl SortKey {
    /// The key of `w` under `sort`.
    pub fn of(w: &Workflow, sort: WorkflowSort) -> Self {
        match sort {
            WorkflowSort::WedgeScore => SortKey::Score(w.content.wedge.score.value()),
            WorkflowSort::Rating | WorkflowSort::BayesianRating => SortKey::Rating {
                sum: w.stats.rating.sum(),
                count: w.stats.rating.count(),
            },
            WorkflowSort::Downloads => SortKey::Downloads(w.stats.download_count),
            WorkflowSort::Newest => SortKey::Time(w.published_at.unwrap_or(w.created_at)),
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

/// Where the next page starts: the sort, and the last item's key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort it belongs to.
    pub sort: WorkflowSort,
    /// The last item's key.
    pub key: SortKey,
    /// The last item's id.
    pub id: WorkflowId,
}

impl Cursor {
    /// The cursor after `w`.
    pub fn after(w: &Workflow, sort: WorkflowSort) -> Self {
        Self {
            sort,
            key: SortKey::of(w, sort),
            id: w.id,
        }
    }

    /// True when the key is the kind [`SortKey::of`] gives for the sort.
    fn key_matches_sort(&self) -> bool {
        matches!(
            (self.sort, self.key),
            (WorkflowSort::WedgeScore, SortKey::Score(_))
                | (
                    WorkflowSort::Rating | WorkflowSort::BayesianRating,
                    SortKey::Rating { .. }
                )
                | (WorkflowSort::Downloads, SortKey::Downloads(_))
                | (WorkflowSort::Newest, SortKey::Time(_))
        )
    }

    /// An opaque token for URLs.
    pub fn encode(&self) -> String {
        serde_json::to_string(self)
            .map(|s| crate::hex::lower(s.as_bytes()))
            .unwrap_or_default()
    }

    /// Reads a token made by [`Cursor::encode`].
    pub fn decode(token: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "cursor",
                Reason::Format {
                    expected: "a cursor returned by a previous page",
                },
            )
        };
        if !token.len().is_multiple_of(2) || token.len() > 2000 {
            return Err(bad());
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
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
        hits.last().map(|w| Cursor::after(w, query.sort))
    } else {
        None
    };
    Page {
        items: hits.into_iter().cloned().collect(),
        next,
    }
}
