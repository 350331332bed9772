//! Comments across every workflow, newest first: a user's own (their
//! dashboard) and the staff's view of recent or hidden comments, in cursor
//! pages, with the reference listing every backend is compared against.
//!
//! * The order is a workflow listing's [`CommentOrder::Newest`] (creation
//!   time descending, ties by id ascending), so a feed's cursor is a
//!   [`CommentCursor`] of that order, checked the same way.
//! * Deleted comments are left out for everyone. A workflow's listing keeps
//!   them so replies keep their parent; a flat feed has no thread to keep,
//!   and a deleted comment has no words left to show or moderate. A
//!   user's own feed is what they still have on the site.
//! * Hidden comments are in the feed unless the query filters them: staff
//!   look for them, and an author sees their own (as they do one by one).
//! * The feed does not look at the workflow: comments on drafts and on
//!   soft-deleted workflows are listed like any other, since only staff
//!   and a comment's own author may ask for them.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::community::comment::Comment;
use crate::community::comment_query::{CommentCursor, CommentKey, CommentOrder};
use crate::value::actor::UserId;
use crate::value::keyset::{Page, check_limit};
use crate::value::validation::{Reason, ValidationError};

/// A request for one page of comments across every workflow, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentFeedQuery {
    /// Only this author's comments. A user must name themselves; staff may
    /// leave it out.
    pub author: Option<UserId>,
    /// Only hidden comments (`Some(true)`) or only visible ones
    /// (`Some(false)`).
    pub hidden: Option<bool>,
    /// Resume after this cursor (of [`CommentOrder::Newest`]).
    pub cursor: Option<CommentCursor>,
    /// Page size, 1 to [`crate::value::keyset::MAX_PAGE`].
    pub limit: u32,
}

impl CommentFeedQuery {
    /// The first page of `author`'s comments, 20 a page: their dashboard.
    pub fn by_author(author: UserId) -> Self {
        Self {
            author: Some(author),
            ..Self::recent()
        }
    }

    /// The first page of everyone's comments, 20 a page: what staff read.
    pub fn recent() -> Self {
        Self {
            author: None,
            hidden: None,
            cursor: None,
            limit: 20,
        }
    }

    /// Checks the page size (`limit`) and that the cursor is of the newest
    /// order (`cursor`); the cursor's values were checked when it was built.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_limit(self.limit)?;
        if let Some(c) = &self.cursor
            && c.order() != CommentOrder::Newest
        {
            return Err(ValidationError::new(
                "cursor",
                Reason::Inconsistent {
                    detail: "the feed is newest first: the cursor belongs to another order".into(),
                },
            ));
        }
        Ok(())
    }

    /// True when `c` belongs in the feed (not the cursor): not deleted, and
    /// passing the filters.
    pub fn matches(&self, c: &Comment) -> bool {
        c.deleted_at.is_none()
            && self.author.as_ref().is_none_or(|a| &c.author == a)
            && self.hidden.is_none_or(|h| c.hidden == h)
    }

    /// True when `c` comes after the cursor: older, or as old with a
    /// larger id.
    pub fn after_cursor(&self, c: &Comment) -> bool {
        self.cursor.is_none_or(|cur| match cur.key() {
            CommentKey::Time(t) => {
                c.created_at.cmp(&t).reverse().then(c.id.cmp(&cur.id())) == Ordering::Greater
            }
            // `validate` refuses cursors of the other order.
            CommentKey::Likes(_) => false,
        })
    }
}

/// Runs `query` over `all` with the shared semantics: filter, order, resume
/// after the cursor, take a page. The in-memory store uses it; it is the
/// reference the SQL backends are tested against. The query is assumed
/// valid ([`CommentFeedQuery::validate`]).
pub fn run_comment_feed<'a, I>(query: &CommentFeedQuery, all: I) -> Page<Comment, CommentCursor>
where
    I: IntoIterator<Item = &'a Comment>,
{
    let order = CommentOrder::Newest;
    let mut hits: Vec<&Comment> = all
        .into_iter()
        .filter(|c| query.matches(c) && query.after_cursor(c))
        .collect();
    hits.sort_by(|a, b| order.compare(a, b));
    let limit = query.limit as usize;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = if more {
        hits.last().map(|c| CommentCursor::after(c, order))
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
    use crate::value::ids::{CommentId, WorkflowId};
    use crate::value::keyset::MAX_PAGE;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    fn comment(n: u128, secs: i64, author: usize, hidden: bool, deleted: bool) -> Comment {
        let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(secs);
        let mut c = Comment::new(
            CommentId::from_uuid(uuid::Uuid::from_u128(n)),
            WorkflowId::from_uuid(uuid::Uuid::from_u128(n % 3)),
            None,
            UserId::parse(&format!("user-{author}")).expect("user"),
            format!("comment {n}"),
            at,
        )
        .expect("comment");
        c.hidden = hidden;
        if deleted {
            assert!(c.delete(at));
        }
        c
    }

    #[test]
    fn a_feed_checks_its_limit_and_cursor_order() {
        let mut q = CommentFeedQuery::recent();
        assert_eq!(q.validate(), Ok(()));
        for limit in [0, MAX_PAGE + 1] {
            q.limit = limit;
            assert_eq!(q.validate().expect_err("limit").field(), "limit");
        }
        q.limit = 5;
        q.cursor = Some(CommentCursor::after(
            &comment(1, 0, 0, false, false),
            CommentOrder::MostLiked,
        ));
        assert_eq!(q.validate().expect_err("order").field(), "cursor");
    }

    proptest! {
        /// Page after page, the feed lists every matching comment exactly
        /// once, newest first, whatever the ties on time; never a deleted one.
        #[test]
        fn pages_neither_skip_nor_repeat(
            rows in proptest::collection::vec((0i64..4, 0usize..3, any::<bool>(), any::<bool>()), 0..30),
            limit in 1u32..6,
            author in proptest::option::of(0usize..3),
            hidden in proptest::option::of(any::<bool>()),
        ) {
            let all: Vec<Comment> = rows
                .iter()
                .enumerate()
                .map(|(i, (t, a, h, d))| comment(i as u128 + 1, *t, *a, *h, *d))
                .collect();
            let mut q = CommentFeedQuery {
                author: author.map(|a| UserId::parse(&format!("user-{a}")).expect("user")),
                hidden,
                limit,
                ..CommentFeedQuery::recent()
            };
            let mut seen = Vec::new();
            loop {
                let page = run_comment_feed(&q, &all);
                prop_assert!(page.items.len() <= limit as usize);
                prop_assert!(page.items.iter().all(|c| c.deleted_at.is_none()));
                seen.extend(page.items.iter().map(|c| c.id));
                match page.next {
                    Some(next) => q.cursor = Some(next),
                    None => break,
                }
            }
            let mut expected: Vec<&Comment> = all.iter().filter(|c| q.matches(c)).collect();
            expected.sort_by(|a, b| CommentOrder::Newest.compare(a, b));
            let expected: Vec<CommentId> = expected.iter().map(|c| c.id).collect();
            prop_assert_eq!(seen, expected);
        }
    }
}
