//! Listing reviews across workflows: a user's own (their dashboard) and the
//! moderation queue (by status, oldest first), in cursor pages, with the
//! reference listing every backend is compared against.
//!
//! * Both orders are over (creation time, id), the id breaking ties; the
//!   newest-first order is the oldest-first one reversed, so one index
//!   `(filter, created_at, id)` serves both, read forwards or backwards. A
//!   cursor is the last item's (time, id) and the next page is everything
//!   strictly beyond it: read page by page while nothing is written, a
//!   listing neither skips nor repeats a review. A review moderated while
//!   the queue is walked leaves a `status` filter and is simply not met
//!   again.
//! * The listing does not look at the workflow: reviews of drafts and of
//!   soft-deleted workflows are listed like any other. Who may ask for
//!   what is the service's rule (staff anything, a user only their own),
//!   and both may see those reviews.
//! * A cursor comes straight from a URL, so it is built only through
//!   [`ReviewCursor::new`] (which [`ReviewCursor::decode`] and
//!   deserializing go through): a store handed one needs no check of its
//!   own.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::community::review::{ModerationStatus, Review};
use crate::value::actor::UserId;
use crate::value::clock::check_time;
use crate::value::ids::ReviewId;
use crate::value::keyset::{Page, check_limit};
use crate::value::validation::{Reason, ValidationError};

/// How a review listing is ordered, by creation time then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOrder {
    /// Newest first (a user's own reviews), ties by id descending.
    NewestFirst,
    /// Oldest first (a moderation queue), ties by id ascending.
    OldestFirst,
}

impl ReviewOrder {
    /// Both orders, for tests and pickers.
    pub const ALL: [ReviewOrder; 2] = [ReviewOrder::NewestFirst, ReviewOrder::OldestFirst];

    /// Orders two reviews as the listing does.
    pub fn compare(self, a: &Review, b: &Review) -> Ordering {
        self.compare_keys((a.created_at, a.id), (b.created_at, b.id))
    }

    fn compare_keys(self, a: (DateTime<Utc>, ReviewId), b: (DateTime<Utc>, ReviewId)) -> Ordering {
        match self {
            ReviewOrder::OldestFirst => a.cmp(&b),
            ReviewOrder::NewestFirst => b.cmp(&a),
        }
    }
}

/// Where the next page of reviews starts: the order, and the last item's
/// creation time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CursorRepr")]
pub struct ReviewCursor {
    order: ReviewOrder,
    at: DateTime<Utc>,
    id: ReviewId,
}

// The serialized shape of `ReviewCursor`, checked on the way in.
#[derive(Deserialize)]
struct CursorRepr {
    order: ReviewOrder,
    at: DateTime<Utc>,
    id: ReviewId,
}

impl TryFrom<CursorRepr> for ReviewCursor {
    type Error = ValidationError;
    fn try_from(r: CursorRepr) -> Result<Self, Self::Error> {
        ReviewCursor::new(r.order, r.at, r.id)
    }
}

fn bad_cursor() -> ValidationError {
    ValidationError::new(
        "cursor",
        Reason::Format {
            expected: "a cursor returned by a previous page of reviews",
        },
    )
}

impl ReviewCursor {
    /// A cursor resuming after the review created at `at` with `id`, in
    /// `order`. The time must be within the dates every store holds; the
    /// error names `cursor`.
    pub fn new(
        order: ReviewOrder,
        at: DateTime<Utc>,
        id: ReviewId,
    ) -> Result<Self, ValidationError> {
        check_time("cursor", at)?;
        Ok(Self { order, at, id })
    }

    /// The cursor after `r`. Its time comes from a stored review, not from
    /// a caller, so it is not checked again.
    pub fn after(r: &Review, order: ReviewOrder) -> Self {
        Self {
            order,
            at: r.created_at,
            id: r.id,
        }
    }

    /// The order it belongs to.
    pub fn order(&self) -> ReviewOrder {
        self.order
    }

    /// The last item's creation time.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The last item's id.
    pub fn id(&self) -> ReviewId {
        self.id
    }

    /// An opaque token for URLs.
    pub fn encode(&self) -> String {
        let repr = serde_json::json!({ "order": self.order, "at": self.at, "id": self.id });
        const_hex::encode(repr.to_string().as_bytes())
    }

    /// Reads a token made by [`ReviewCursor::encode`]. Anything else is
    /// `Invalid` naming `cursor`.
    pub fn decode(token: &str) -> Result<Self, ValidationError> {
        // Only the digits `encode` writes (no `0x`, no sign, no space).
        if token.len() > 2000 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad_cursor());
        }
        let bytes = const_hex::decode(token).map_err(|_| bad_cursor())?;
        let r: CursorRepr = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
        ReviewCursor::new(r.order, r.at, r.id)
    }
}

/// A request for one page of reviews across every workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewQuery {
    /// Only this reviewer's reviews. A user listing must name themselves;
    /// staff may leave it out.
    pub user: Option<UserId>,
    /// Only reviews in this moderation status.
    pub status: Option<ModerationStatus>,
    /// Order.
    pub order: ReviewOrder,
    /// Resume after this cursor (of the same order).
    pub cursor: Option<ReviewCursor>,
    /// Page size, 1 to [`crate::value::keyset::MAX_PAGE`].
    pub limit: u32,
}

impl ReviewQuery {
    /// The first page of `user`'s reviews, newest first, 20 a page: their
    /// dashboard.
    pub fn by_user(user: UserId) -> Self {
        Self {
            user: Some(user),
            status: None,
            order: ReviewOrder::NewestFirst,
            cursor: None,
            limit: 20,
        }
    }

    /// The first page of reviews in `status`, oldest first, 20 a page: a
    /// moderation queue.
    pub fn queue(status: ModerationStatus) -> Self {
        Self {
            user: None,
            status: Some(status),
            order: ReviewOrder::OldestFirst,
            cursor: None,
            limit: 20,
        }
    }

    /// Checks the page size (`limit`) and that the cursor belongs to this
    /// order (`cursor`); the cursor's values were checked when it was built.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_limit(self.limit)?;
        if let Some(c) = &self.cursor
            && c.order != self.order
        {
            return Err(ValidationError::new(
                "cursor",
                Reason::Inconsistent {
                    detail: "the cursor belongs to another order".into(),
                },
            ));
        }
        Ok(())
    }

    /// True when `r` passes the filters (not the cursor): the rule the SQL
    /// stores spell as `WHERE` clauses.
    pub fn matches(&self, r: &Review) -> bool {
        self.user.as_ref().is_none_or(|u| &r.user_id == u)
            && self.status.is_none_or(|s| r.status == s)
    }

    /// True when `r` comes after the cursor in this query's order.
    pub fn after_cursor(&self, r: &Review) -> bool {
        self.cursor.is_none_or(|cur| {
            self.order
                .compare_keys((r.created_at, r.id), (cur.at, cur.id))
                == Ordering::Greater
        })
    }
}

/// Runs `query` over `all` with the shared semantics: filter, order, resume
/// after the cursor, take a page. The in-memory store uses it; it is the
/// reference the SQL backends are tested against. The query is assumed
/// valid ([`ReviewQuery::validate`]).
pub fn run_review_query<'a, I>(query: &ReviewQuery, all: I) -> Page<Review, ReviewCursor>
where
    I: IntoIterator<Item = &'a Review>,
{
    let mut hits: Vec<&Review> = all
        .into_iter()
        .filter(|r| query.matches(r) && query.after_cursor(r))
        .collect();
    hits.sort_by(|a, b| query.order.compare(a, b));
    let limit = query.limit as usize;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = if more {
        hits.last().map(|r| ReviewCursor::after(r, query.order))
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
    use super::*;
    use crate::community::rating::{DimensionRatings, Rating};
    use crate::community::review::ReviewInput;
    use crate::value::clock::MAX_DATE;
    use crate::value::ids::WorkflowId;
    use crate::value::keyset::MAX_PAGE;
    use proptest::prelude::*;

    fn rid(n: u128) -> ReviewId {
        ReviewId::from_uuid(uuid::Uuid::from_u128(n))
    }

    const STATUSES: [ModerationStatus; 4] = [
        ModerationStatus::Pending,
        ModerationStatus::Approved,
        ModerationStatus::Rejected,
        ModerationStatus::Flagged,
    ];

    fn review(n: u128, secs: i64, user: usize, status: usize) -> Review {
        let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(secs);
        let input = ReviewInput {
            rating: Rating::new(4).expect("rating"),
            dimensions: DimensionRatings::default(),
            title: "t".into(),
            body: String::new(),
        };
        let user = UserId::parse(&format!("user-{user}")).expect("user");
        Review {
            status: STATUSES[status % 4],
            ..Review::submitted(
                rid(n),
                WorkflowId::from_uuid(uuid::Uuid::from_u128(n)),
                user,
                input,
                false,
                at,
            )
        }
    }

    #[test]
    fn cursors_are_checked_where_they_are_built() {
        let err = ReviewCursor::new(ReviewOrder::OldestFirst, DateTime::<Utc>::MAX_UTC, rid(1))
            .expect_err("out of range");
        assert_eq!(err.field(), "cursor");
        let last = MAX_DATE.and_hms_opt(23, 59, 59).expect("t").and_utc();
        for order in ReviewOrder::ALL {
            let c = ReviewCursor::new(order, last, rid(7)).expect("accepted");
            assert_eq!((c.order(), c.at(), c.id()), (order, last, rid(7)));
            assert_eq!(ReviewCursor::decode(&c.encode()), Ok(c));
            let json = serde_json::to_string(&c).expect("ser");
            assert_eq!(serde_json::from_str::<ReviewCursor>(&json).expect("de"), c);
        }
        let far = const_hex::encode(
            serde_json::json!({ "order": "newest_first", "at": DateTime::<Utc>::MAX_UTC, "id": rid(1) })
                .to_string()
                .as_bytes(),
        );
        for bad in ["", "0x00", "zz", "+1", "7b7d", &far, &"ab".repeat(1001)] {
            assert_eq!(ReviewCursor::decode(bad).expect_err(bad).field(), "cursor");
        }
    }

    #[test]
    fn a_query_checks_its_limit_and_cursor_order() {
        let mut q = ReviewQuery::queue(ModerationStatus::Pending);
        assert_eq!(q.validate(), Ok(()));
        for limit in [0, MAX_PAGE + 1] {
            q.limit = limit;
            assert_eq!(q.validate().expect_err("limit").field(), "limit");
        }
        q.limit = 5;
        q.cursor = Some(ReviewCursor::after(
            &review(1, 0, 0, 0),
            ReviewOrder::NewestFirst,
        ));
        assert_eq!(q.validate().expect_err("order").field(), "cursor");
    }

    proptest! {
        /// Page after page, each order lists every matching review exactly
        /// once, in order, whatever the ties on time.
        #[test]
        fn pages_neither_skip_nor_repeat(
            rows in proptest::collection::vec((0i64..4, 0usize..3, 0usize..4), 0..30),
            limit in 1u32..6,
            user in proptest::option::of(0usize..3),
            status in proptest::option::of(0usize..4),
        ) {
            let all: Vec<Review> = rows
                .iter()
                .enumerate()
                .map(|(i, (t, u, s))| review(i as u128 + 1, *t, *u, *s))
                .collect();
            for order in ReviewOrder::ALL {
                let mut q = ReviewQuery {
                    user: user.map(|u| UserId::parse(&format!("user-{u}")).expect("user")),
                    status: status.map(|s| STATUSES[s]),
                    order,
                    cursor: None,
                    limit,
                };
                let mut seen = Vec::new();
                loop {
                    let page = run_review_query(&q, &all);
                    prop_assert!(page.items.len() <= limit as usize);
                    seen.extend(page.items.iter().map(|r| r.id));
                    match page.next {
                        Some(next) => q.cursor = Some(next),
                        None => break,
                    }
                }
                let mut expected: Vec<&Review> = all.iter().filter(|r| q.matches(r)).collect();
                expected.sort_by(|a, b| order.compare(a, b));
                let expected: Vec<ReviewId> = expected.iter().map(|r| r.id).collect();
                prop_assert_eq!(seen, expected);
            }
        }
    }
}
