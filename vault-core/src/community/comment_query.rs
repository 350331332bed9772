//! Listing a workflow's comments: the two orders, the cursor that resumes a
//! page, and the reference listing every backend is compared against.
//!
//! The listing is flat: every level of every thread, in one order, each
//! comment carrying its `parent_id` and `depth` so the app rebuilds the
//! threads. Deleted comments stay in it with an empty body, so replies keep
//! their parent; hidden ones are left out unless the query asks for them
//! (staff do).
//!
//! * Both orders are descending by their key (creation time, like count),
//!   then ascending by id: a total order, so a cursor (the last item's key
//!   and id) resumes exactly, and a listing read page by page while nothing
//!   is written neither skips nor repeats a comment. Likes move between
//!   pages of the most-liked order; a comment whose count changed may then
//!   appear twice or not at all, as on any site that ranks by a live count.
//! * A cursor comes straight from a URL, so it is built only through
//!   [`CommentCursor::new`] (which [`CommentCursor::decode`] and
//!   deserializing go through): a store handed one needs no check of its
//!   own.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::community::comment::Comment;
use crate::value::MAX_INTEGER;
use crate::value::clock::check_time;
use crate::value::ids::{CommentId, WorkflowId};
use crate::value::keyset::Page;
use crate::value::validation::{Reason, ValidationError};

/// The most comments one page holds.
pub const MAX_COMMENT_PAGE: u32 = 100;

/// How a workflow's comments are ordered (both descending, ties by id
/// ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentOrder {
    /// Newest first.
    Newest,
    /// Most liked first.
    MostLiked,
}

impl CommentOrder {
    /// Both orders, for tests and pickers.
    pub const ALL: [CommentOrder; 2] = [CommentOrder::Newest, CommentOrder::MostLiked];

    /// The key of `c` in this order.
    pub fn key(self, c: &Comment) -> CommentKey {
        match self {
            CommentOrder::Newest => CommentKey::Time(c.created_at),
            CommentOrder::MostLiked => CommentKey::Likes(c.like_count),
        }
    }

    /// Orders two comments as the listing does: key descending, id
    /// ascending.
    pub fn compare(self, a: &Comment, b: &Comment) -> Ordering {
        compare_keys(&self.key(a), &self.key(b)).then_with(|| a.id.cmp(&b.id))
    }
}

/// The value a comment is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "key", content = "value", rename_all = "snake_case")]
pub enum CommentKey {
    /// Creation time ([`CommentOrder::Newest`]).
    Time(DateTime<Utc>),
    /// Like count ([`CommentOrder::MostLiked`]).
    Likes(u64),
}

// Listing order of two keys of one kind: the larger first. Keys of two
// kinds never meet: a cursor's kind is checked against its order.
fn compare_keys(a: &CommentKey, b: &CommentKey) -> Ordering {
    match (a, b) {
        (CommentKey::Time(x), CommentKey::Time(y)) => y.cmp(x),
        (CommentKey::Likes(x), CommentKey::Likes(y)) => y.cmp(x),
        _ => Ordering::Equal,
    }
}

/// Where the next page of comments starts: the order, and the last item's
/// key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CursorRepr")]
pub struct CommentCursor {
    order: CommentOrder,
    key: CommentKey,
    id: CommentId,
}

// The serialized shape of `CommentCursor`, checked on the way in.
#[derive(Deserialize)]
struct CursorRepr {
    order: CommentOrder,
    key: CommentKey,
    id: CommentId,
}

impl TryFrom<CursorRepr> for CommentCursor {
    type Error = ValidationError;
    fn try_from(r: CursorRepr) -> Result<Self, Self::Error> {
        CommentCursor::new(r.order, r.key, r.id)
    }
}

impl CommentCursor {
    /// A cursor resuming after the comment with `key` and `id` in `order`.
    /// The key must be the kind [`CommentOrder::key`] gives for the order,
    /// and one a comment can have: a time within the dates every store
    /// holds, a like count up to [`MAX_INTEGER`]. The error names `cursor`.
    pub fn new(
        order: CommentOrder,
        key: CommentKey,
        id: CommentId,
    ) -> Result<Self, ValidationError> {
        match (order, key) {
            (CommentOrder::Newest, CommentKey::Time(t)) => check_time("cursor", t)?,
            (CommentOrder::MostLiked, CommentKey::Likes(n)) => {
                if n > MAX_INTEGER {
                    return Err(ValidationError::new(
                        "cursor",
                        Reason::OutOfRange {
                            min: "0 likes".into(),
                            max: MAX_INTEGER.to_string(),
                        },
                    ));
                }
            }
            // A key of another kind would tie with every comment and
            // resume nowhere in particular.
            _ => {
                return Err(ValidationError::new(
                    "cursor",
                    Reason::Inconsistent {
                        detail: "the cursor's key does not belong to its order".into(),
                    },
                ));
            }
        }
        Ok(Self { order, key, id })
    }

    /// The cursor after `c`. Its key comes from a stored comment, not from a
    /// caller, so it is not checked again.
    pub fn after(c: &Comment, order: CommentOrder) -> Self {
        Self {
            order,
            key: order.key(c),
            id: c.id,
        }
    }

    /// The order it belongs to.
    pub fn order(&self) -> CommentOrder {
        self.order
    }

    /// The last item's key.
    pub fn key(&self) -> CommentKey {
        self.key
    }

    /// The last item's id.
    pub fn id(&self) -> CommentId {
        self.id
    }

    /// An opaque token for URLs.
    pub fn encode(&self) -> String {
        let repr = serde_json::json!({ "order": self.order, "key": self.key, "id": self.id });
        const_hex::encode(repr.to_string().as_bytes())
    }

    /// Reads a token made by [`CommentCursor::encode`]. Anything else is
    /// `Invalid` naming `cursor`; a token of the right shape whose values
    /// [`CommentCursor::new`] refuses gets that error.
    pub fn decode(token: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "cursor",
                Reason::Format {
                    expected: "a cursor returned by a previous page of comments",
                },
            )
        };
        // Only the digits `encode` writes (no `0x`, no sign, no space).
        if token.len() > 2000 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let bytes = const_hex::decode(token).map_err(|_| bad())?;
        let r: CursorRepr = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        CommentCursor::new(r.order, r.key, r.id)
    }
}

/// A request for one page of a workflow's comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentQuery {
    /// Whose comments.
    pub workflow: WorkflowId,
    /// Order.
    pub order: CommentOrder,
    /// Include hidden comments (staff).
    pub include_hidden: bool,
    /// Page size, 1 to [`MAX_COMMENT_PAGE`].
    pub limit: u32,
    /// Resume after this cursor.
    pub cursor: Option<CommentCursor>,
}

impl CommentQuery {
    /// The first page of `workflow`'s visible comments in `order`, 20 a page.
    pub fn new(workflow: WorkflowId, order: CommentOrder) -> Self {
        Self {
            workflow,
            order,
            include_hidden: false,
            limit: 20,
            cursor: None,
        }
    }

    /// Checks the page size (`limit`) and that the cursor belongs to this
    /// order (`cursor`); the cursor's values checked themselves when built.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=MAX_COMMENT_PAGE).contains(&self.limit) {
            return Err(ValidationError::new(
                "limit",
                Reason::OutOfRange {
                    min: "1".into(),
                    max: MAX_COMMENT_PAGE.to_string(),
                },
            ));
        }
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

    /// True when `c` belongs in the listing (not the cursor): this
    /// workflow's, and not hidden unless hidden ones are asked for.
    pub fn matches(&self, c: &Comment) -> bool {
        c.workflow_id == self.workflow && (self.include_hidden || !c.hidden)
    }

    /// True when `c` comes after the cursor in this query's order.
    pub fn after_cursor(&self, c: &Comment) -> bool {
        self.cursor.is_none_or(|cur| {
            compare_keys(&self.order.key(c), &cur.key).then_with(|| c.id.cmp(&cur.id))
                == Ordering::Greater
        })
    }
}

/// Runs `query` over `all` with the shared semantics: filter, order, resume
/// after the cursor, take a page. The in-memory store uses it; it is the
/// reference the SQL backends are tested against. The query is assumed
/// valid ([`CommentQuery::validate`]).
pub fn run_comment_query<'a, I>(query: &CommentQuery, all: I) -> Page<Comment, CommentCursor>
where
    I: IntoIterator<Item = &'a Comment>,
{
    let mut hits: Vec<&Comment> = all
        .into_iter()
        .filter(|c| query.matches(c) && query.after_cursor(c))
        .collect();
    hits.sort_by(|a, b| query.order.compare(a, b));
    let limit = query.limit as usize;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = if more {
        hits.last().map(|c| CommentCursor::after(c, query.order))
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
    use crate::value::actor::UserId;
    use crate::value::clock::MAX_DATE;
    use proptest::prelude::*;

    fn cid(n: u128) -> CommentId {
        CommentId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn comment(n: u128, secs: i64, likes: u64, hidden: bool) -> Comment {
        let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(secs);
        let mut c = Comment::new(
            cid(n),
            WorkflowId::from_uuid(uuid::Uuid::from_u128(1)),
            None,
            UserId::parse("ann").expect("user"),
            format!("comment {n}"),
            at,
        )
        .expect("comment");
        c.like_count = likes;
        c.hidden = hidden;
        c
    }

    #[test]
    fn cursors_are_checked_where_they_are_built() {
        let refused = [
            (CommentOrder::Newest, CommentKey::Likes(1)),
            (
                CommentOrder::MostLiked,
                CommentKey::Time(DateTime::UNIX_EPOCH),
            ),
            (CommentOrder::MostLiked, CommentKey::Likes(MAX_INTEGER + 1)),
            (
                CommentOrder::Newest,
                CommentKey::Time(DateTime::<Utc>::MAX_UTC),
            ),
        ];
        for (order, key) in refused {
            let err = CommentCursor::new(order, key, cid(1)).expect_err("refused");
            assert_eq!(err.field(), "cursor", "{order:?} {key:?}");
            let token = const_hex::encode(
                serde_json::json!({ "order": order, "key": key, "id": cid(1) })
                    .to_string()
                    .as_bytes(),
            );
            assert_eq!(
                CommentCursor::decode(&token).expect_err("refused").field(),
                "cursor"
            );
        }
        let last = MAX_DATE.and_hms_opt(23, 59, 59).expect("t").and_utc();
        for (order, key) in [
            (CommentOrder::Newest, CommentKey::Time(last)),
            (CommentOrder::MostLiked, CommentKey::Likes(MAX_INTEGER)),
        ] {
            let c = CommentCursor::new(order, key, cid(7)).expect("accepted");
            assert_eq!((c.order(), c.key(), c.id()), (order, key, cid(7)));
            assert_eq!(CommentCursor::decode(&c.encode()), Ok(c));
            let json = serde_json::to_string(&c).expect("ser");
            assert_eq!(serde_json::from_str::<CommentCursor>(&json).expect("de"), c);
        }
        for bad in ["", "0x00", "zz", "+1", "ab ", &"ab".repeat(1001)] {
            assert_eq!(CommentCursor::decode(bad).expect_err(bad).field(), "cursor");
        }
    }

    #[test]
    fn a_query_checks_its_limit_and_cursor_order() {
        let mut q = CommentQuery::new(
            WorkflowId::from_uuid(uuid::Uuid::nil()),
            CommentOrder::Newest,
        );
        assert_eq!(q.validate(), Ok(()));
        for limit in [0, MAX_COMMENT_PAGE + 1] {
            q.limit = limit;
            assert_eq!(q.validate().expect_err("limit").field(), "limit");
        }
        q.limit = 5;
        q.cursor = Some(CommentCursor::after(
            &comment(1, 0, 0, false),
            CommentOrder::MostLiked,
        ));
        assert_eq!(q.validate().expect_err("order").field(), "cursor");
    }

    proptest! {
        /// Page after page, each order lists every matching comment exactly
        /// once, in order, whatever the ties.
        #[test]
        fn pages_neither_skip_nor_repeat(
            rows in proptest::collection::vec((0i64..4, 0u64..3, any::<bool>()), 0..30),
            limit in 1u32..6,
            include_hidden in any::<bool>(),
        ) {
            let all: Vec<Comment> = rows
                .iter()
                .enumerate()
                .map(|(i, (t, l, h))| comment(i as u128 + 1, *t, *l, *h))
                .collect();
            for order in CommentOrder::ALL {
                let mut q = CommentQuery::new(all.first().map_or(WorkflowId::from_uuid(uuid::Uuid::from_u128(1)), |c| c.workflow_id), order);
                q.limit = limit;
                q.include_hidden = include_hidden;
                let mut seen = Vec::new();
                loop {
                    let page = run_comment_query(&q, &all);
                    prop_assert!(page.items.len() <= limit as usize);
                    seen.extend(page.items.iter().map(|c| c.id));
                    match page.next {
                        Some(next) => q.cursor = Some(next),
                        None => break,
                    }
                }
                let mut expected: Vec<&Comment> =
                    all.iter().filter(|c| include_hidden || !c.hidden).collect();
                expected.sort_by(|a, b| order.compare(a, b));
                let expected: Vec<CommentId> = expected.iter().map(|c| c.id).collect();
                prop_assert_eq!(seen, expected);
            }
        }
    }
}
