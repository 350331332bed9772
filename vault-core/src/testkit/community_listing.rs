//! Reviews and comments across workflows, through the service: a user's own
//! (the dashboard) and the staff's moderation views, filtered, in both
//! orders, paged by cursor over rows that share their creation instant;
//! who may ask for what; and the refusals of malformed cursors and page
//! sizes.

use std::sync::Arc;

use chrono::Duration;

use super::Fixture;
use super::helpers::review_input;
use crate::community::comment::Comment;
use crate::community::comment_feed::CommentFeedQuery;
use crate::community::comment_query::{CommentCursor, CommentOrder};
use crate::community::review::{ModerationStatus, Review};
use crate::community::review_query::{ReviewCursor, ReviewOrder, ReviewQuery};
use crate::store::Store;
use crate::value::actor::{Actor, UserId};
use crate::value::error::{Error, Result, StoreError};
use crate::value::ids::{CommentId, ReviewId, WorkflowId};
use crate::value::keyset::MAX_PAGE;
use crate::value::tier::PricingTier;

fn forbidden<T: std::fmt::Debug>(r: Result<T>) {
    assert!(matches!(r, Err(Error::Forbidden { .. })), "{r:?}");
}

fn invalid_field<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
    match r {
        Err(Error::Invalid(e)) => e.field(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn store_invalid_field<T: std::fmt::Debug>(r: std::result::Result<T, StoreError>) -> &'static str {
    match r {
        Err(StoreError::Invalid(e)) => e.field(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn uid(actor: &Actor) -> UserId {
    actor.user_id().unwrap().clone()
}

/// `n` published workflows named after `prefix`.
async fn workflows(f: &Fixture, prefix: &str, n: usize) -> Vec<WorkflowId> {
    let mut out = Vec::new();
    for i in 0..n {
        let (w, _) = f
            .workflow(&format!("{prefix}-{i}"), PricingTier::Free, None)
            .await;
        out.push(w.id);
    }
    out
}

/// Every review `query` selects as `actor` pages through, the cursor
/// taken through its URL token between pages; asserts each page's size.
async fn walk_reviews(f: &Fixture, actor: &Actor, query: &ReviewQuery) -> Vec<Review> {
    let mut q = query.clone();
    let mut out = Vec::new();
    loop {
        let page = f.vault.list_reviews(actor, &q).await.unwrap();
        assert!(page.items.len() <= q.limit as usize, "{q:?}");
        // A next page is announced only after a full one.
        assert!(
            page.next.is_none() || page.items.len() == q.limit as usize,
            "{q:?}"
        );
        out.extend(page.items);
        match page.next {
            Some(next) => q.cursor = Some(ReviewCursor::decode(&next.encode()).unwrap()),
            None => return out,
        }
    }
}

/// Every comment `query` selects as `actor` pages through, as above.
async fn walk_comments(f: &Fixture, actor: &Actor, query: &CommentFeedQuery) -> Vec<Comment> {
    let mut q = query.clone();
    let mut out = Vec::new();
    loop {
        let page = f.vault.comment_feed(actor, &q).await.unwrap();
        assert!(page.items.len() <= q.limit as usize, "{q:?}");
        assert!(
            page.next.is_none() || page.items.len() == q.limit as usize,
            "{q:?}"
        );
        out.extend(page.items);
        match page.next {
            Some(next) => q.cursor = Some(CommentCursor::decode(&next.encode()).unwrap()),
            None => return out,
        }
    }
}

fn expected_reviews(all: &[Review], query: &ReviewQuery) -> Vec<ReviewId> {
    let mut hits: Vec<&Review> = all.iter().filter(|r| query.matches(r)).collect();
    hits.sort_by(|a, b| query.order.compare(a, b));
    hits.iter().map(|r| r.id).collect()
}

fn expected_comments(all: &[Comment], query: &CommentFeedQuery) -> Vec<CommentId> {
    let mut hits: Vec<&Comment> = all.iter().filter(|c| query.matches(c)).collect();
    hits.sort_by(|a, b| CommentOrder::Newest.compare(a, b));
    hits.iter().map(|c| c.id).collect()
}

/// Reviews by three users over six workflows, two or three written in the
/// same second, in every moderation status, one workflow deleted
/// afterwards: each user's own listing and the staff's (by status, by
/// user, everything) list every matching review exactly once, in both
/// orders and at every page size, as they are stored.
pub async fn reviews_list_across_workflows_by_user_and_status(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let ws = workflows(&f, "rl", 6).await;
    let users = [
        Fixture::user("ann"),
        Fixture::user("bob"),
        Fixture::user("cy"),
    ];
    let mut ids = Vec::new();
    for (i, w) in ws.iter().enumerate() {
        for (j, u) in users.iter().enumerate() {
            // Cy skips every other workflow; the clock moves only on every
            // third review, so instants repeat across users and workflows.
            if j == 2 && i % 2 == 1 {
                continue;
            }
            if ids.len() % 3 == 0 {
                f.advance(Duration::seconds(1));
            }
            let r = f
                .vault
                .submit_review(u, *w, review_input(1 + ((i + j) % 5) as u8))
                .await
                .unwrap();
            ids.push(r.id);
        }
    }
    let statuses = [
        ModerationStatus::Approved,
        ModerationStatus::Rejected,
        ModerationStatus::Flagged,
    ];
    for (k, id) in ids.iter().enumerate().filter(|(k, _)| k % 4 != 0) {
        f.vault
            .moderate_review(&f.admin, *id, statuses[k % 3], None)
            .await
            .unwrap();
    }
    // Reviews of a deleted workflow stay listed: for staff to moderate, and
    // for their authors, whose own they are.
    f.vault.delete_workflow(&f.admin, ws[0]).await.unwrap();
    let mut all = Vec::new();
    for id in &ids {
        all.push(f.store.review(*id).await.unwrap().unwrap());
    }
    assert!(all.iter().any(|r| r.workflow_id == ws[0]));

    let mut views: Vec<(Actor, ReviewQuery)> = Vec::new();
    for u in &users {
        views.push((u.clone(), ReviewQuery::by_user(uid(u))));
        views.push((
            u.clone(),
            ReviewQuery {
                status: Some(ModerationStatus::Approved),
                ..ReviewQuery::by_user(uid(u))
            },
        ));
    }
    for status in ModerationStatus::ALL.iter().copied() {
        views.push((f.admin.clone(), ReviewQuery::queue(status)));
    }
    views.push((
        f.admin.clone(),
        ReviewQuery {
            user: Some(uid(&users[1])),
            ..ReviewQuery::queue(ModerationStatus::Flagged)
        },
    ));
    views.push((
        Actor::Service,
        ReviewQuery {
            user: None,
            ..ReviewQuery::by_user(uid(&users[0]))
        },
    ));
    for (actor, view) in &views {
        for order in ReviewOrder::ALL {
            for limit in [1, 2, 3, 7, MAX_PAGE] {
                let query = ReviewQuery {
                    order,
                    limit,
                    ..view.clone()
                };
                let seen = walk_reviews(&f, actor, &query).await;
                let want = expected_reviews(&all, &query);
                assert_eq!(
                    seen.iter().map(|r| r.id).collect::<Vec<_>>(),
                    want,
                    "{actor:?} {query:?}"
                );
                // Listed as stored, field for field.
                for r in &seen {
                    assert!(all.contains(r), "{r:?}");
                }
            }
        }
    }
    // The filters select something in every view worth checking.
    let pending = expected_reviews(&all, &ReviewQuery::queue(ModerationStatus::Pending));
    assert!(pending.len() > 3);
    assert_eq!(
        expected_reviews(&all, &ReviewQuery::by_user(uid(&users[2]))).len(),
        3
    );
}

/// A moderator working the pending queue page by page, moderating each
/// page before reading the next, meets every pending review exactly once,
/// oldest first, and the queue ends empty.
pub async fn the_pending_queue_is_worked_page_by_page(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let ws = workflows(&f, "rq", 4).await;
    let mut pending = Vec::new();
    for (i, w) in ws.iter().enumerate() {
        for name in ["dee", "eve", "fay"] {
            let r = f
                .vault
                .submit_review(&Fixture::user(name), *w, review_input(4))
                .await
                .unwrap();
            pending.push(r);
        }
        if i % 2 == 0 {
            f.advance(Duration::seconds(1));
        }
    }
    let mut all = pending.clone();
    let queue = ReviewQuery {
        limit: 5,
        ..ReviewQuery::queue(ModerationStatus::Pending)
    };
    let mut q = queue.clone();
    let mut met = Vec::new();
    loop {
        let page = f.vault.list_reviews(&f.admin, &q).await.unwrap();
        for (k, r) in page.items.iter().enumerate() {
            let status = if k % 2 == 0 {
                ModerationStatus::Approved
            } else {
                ModerationStatus::Rejected
            };
            f.vault
                .moderate_review(&f.admin, r.id, status, None)
                .await
                .unwrap();
            met.push(r.id);
        }
        match page.next {
            Some(next) => q.cursor = Some(next),
            None => break,
        }
    }
    all.sort_by(|a, b| ReviewOrder::OldestFirst.compare(a, b));
    assert_eq!(met, all.iter().map(|r| r.id).collect::<Vec<_>>());
    let left = f.vault.list_reviews(&f.admin, &queue).await.unwrap();
    assert!(left.items.is_empty() && left.next.is_none(), "{left:?}");
}

/// Comments by three authors over four workflows, replies among them, many
/// in the same second, some hidden, some deleted, one workflow deleted
/// afterwards: each author's own feed and the staff's (everything, hidden
/// only, visible only, one author's) list every matching comment exactly
/// once, newest first, at every page size, never a deleted one.
pub async fn comment_feed_lists_across_workflows(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let ws = workflows(&f, "cf", 4).await;
    let authors = [
        Fixture::user("ann"),
        Fixture::user("bob"),
        Fixture::user("cy"),
    ];
    let mut ids: Vec<CommentId> = Vec::new();
    for i in 0..24usize {
        if i % 4 == 0 {
            f.advance(Duration::seconds(1));
        }
        let author = &authors[i % 3];
        let w = ws[i % 4];
        // Every fifth answers the comment posted four before it, on the
        // same workflow.
        let parent = (i >= 4 && i % 5 == 0).then(|| ids[i - 4]);
        let c = f
            .vault
            .post_comment(author, w, parent, format!("comment {i}"))
            .await
            .unwrap();
        ids.push(c.id);
    }
    for (k, id) in ids.iter().enumerate() {
        if k % 4 == 1 {
            f.vault.moderate_comment(&f.admin, *id, true).await.unwrap();
        }
        if k % 7 == 3 {
            let author = &authors[k % 3];
            f.vault.delete_comment(author, *id).await.unwrap();
        }
    }
    f.vault.delete_workflow(&f.admin, ws[1]).await.unwrap();
    let mut all = Vec::new();
    for id in &ids {
        all.push(f.store.comment(*id).await.unwrap().unwrap());
    }
    assert!(all.iter().any(|c| c.hidden && c.deleted_at.is_none()));
    assert!(all.iter().any(|c| c.deleted_at.is_some()));

    let mut views: Vec<(Actor, CommentFeedQuery)> = Vec::new();
    for a in &authors {
        views.push((a.clone(), CommentFeedQuery::by_author(uid(a))));
        views.push((
            a.clone(),
            CommentFeedQuery {
                hidden: Some(true),
                ..CommentFeedQuery::by_author(uid(a))
            },
        ));
    }
    for hidden in [None, Some(true), Some(false)] {
        views.push((
            f.admin.clone(),
            CommentFeedQuery {
                hidden,
                ..CommentFeedQuery::recent()
            },
        ));
    }
    views.push((
        Actor::Service,
        CommentFeedQuery::by_author(uid(&authors[2])),
    ));
    for (actor, view) in &views {
        for limit in [1, 2, 3, 7, MAX_PAGE] {
            let query = CommentFeedQuery {
                limit,
                ..view.clone()
            };
            let seen = walk_comments(&f, actor, &query).await;
            assert_eq!(
                seen.iter().map(|c| c.id).collect::<Vec<_>>(),
                expected_comments(&all, &query),
                "{actor:?} {query:?}"
            );
            for c in &seen {
                assert!(c.deleted_at.is_none(), "{c:?}");
                assert!(all.contains(c), "{c:?}");
            }
        }
    }
    // An author's own hidden comments are theirs to see.
    let ann_hidden = CommentFeedQuery {
        hidden: Some(true),
        ..CommentFeedQuery::by_author(uid(&authors[0]))
    };
    assert!(!expected_comments(&all, &ann_hidden).is_empty());
}

/// Staff list anyone's reviews and comments; a user only their own; a
/// user asking for someone else's or for everyone's, and an anonymous
/// caller, are `Forbidden`, whatever else the query says.
pub async fn review_and_comment_listings_are_own_or_staff(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let ws = workflows(&f, "ra", 1).await;
    let ann = Fixture::user("ann");
    let bob = Fixture::user("bob");
    f.vault
        .submit_review(&ann, ws[0], review_input(5))
        .await
        .unwrap();
    f.vault
        .post_comment(&ann, ws[0], None, "mine".into())
        .await
        .unwrap();

    let anns_reviews = ReviewQuery::by_user(uid(&ann));
    let everyones_reviews = ReviewQuery::queue(ModerationStatus::Pending);
    let anns_comments = CommentFeedQuery::by_author(uid(&ann));
    let everyones_comments = CommentFeedQuery::recent();
    forbidden(f.vault.list_reviews(&bob, &anns_reviews).await);
    forbidden(f.vault.list_reviews(&bob, &everyones_reviews).await);
    forbidden(f.vault.list_reviews(&Actor::Anonymous, &anns_reviews).await);
    forbidden(
        f.vault
            .list_reviews(&Actor::Anonymous, &everyones_reviews)
            .await,
    );
    forbidden(f.vault.comment_feed(&bob, &anns_comments).await);
    forbidden(f.vault.comment_feed(&bob, &everyones_comments).await);
    forbidden(
        f.vault
            .comment_feed(&Actor::Anonymous, &anns_comments)
            .await,
    );
    forbidden(
        f.vault
            .comment_feed(&Actor::Anonymous, &everyones_comments)
            .await,
    );
    // Authorization comes before the query's own checks: a refused caller
    // learns nothing from a malformed query either.
    forbidden(
        f.vault
            .list_reviews(
                &bob,
                &ReviewQuery {
                    limit: 0,
                    ..anns_reviews.clone()
                },
            )
            .await,
    );

    assert_eq!(
        f.vault
            .list_reviews(&ann, &anns_reviews)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        f.vault
            .comment_feed(&ann, &anns_comments)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Bob's own listings are his, empty.
    assert!(
        f.vault
            .list_reviews(&bob, &ReviewQuery::by_user(uid(&bob)))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    for staff in [&f.admin, &Actor::Service] {
        for q in [&anns_reviews, &everyones_reviews] {
            assert_eq!(f.vault.list_reviews(staff, q).await.unwrap().items.len(), 1);
        }
        for q in [&anns_comments, &everyones_comments] {
            assert_eq!(f.vault.comment_feed(staff, q).await.unwrap().items.len(), 1);
        }
    }
}

/// Malformed cursors are `Invalid` naming `cursor` (when decoded, and a
/// cursor of another order when used); page sizes of 0 and past
/// [`MAX_PAGE`] are `Invalid` naming `limit`, from the service and from the
/// store alike.
pub async fn listing_cursors_and_limits_are_checked(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let ws = workflows(&f, "rc", 2).await;
    let ann = Fixture::user("ann");
    let mut reviews = Vec::new();
    for w in &ws {
        reviews.push(
            f.vault
                .submit_review(&ann, *w, review_input(3))
                .await
                .unwrap(),
        );
        f.vault
            .post_comment(&ann, *w, None, "hello".into())
            .await
            .unwrap();
    }
    let bad_tokens = [
        "".to_owned(),
        "zz".to_owned(),
        "0x7b7d".to_owned(),
        "7b7d".to_owned(),
        const_hex::encode(r#"{"order":"oldest_first","at":"nonsense","id":"x"}"#),
        const_hex::encode(
            r#"{"order":"sideways","at":"2025-01-01T00:00:00Z","id":"00000000-0000-0000-0000-000000000000"}"#,
        ),
        // A year no store holds.
        const_hex::encode(
            r#"{"order":"oldest_first","at":"+99999-01-01T00:00:00Z","id":"00000000-0000-0000-0000-000000000000"}"#,
        ),
    ];
    for token in &bad_tokens {
        assert_eq!(
            ReviewCursor::decode(token).expect_err(token).field(),
            "cursor"
        );
    }
    // A comment cursor of the most-liked order is a real cursor, not one of
    // the feed's.
    let liked = {
        let c = f
            .vault
            .comment_feed(&ann, &CommentFeedQuery::by_author(uid(&ann)))
            .await
            .unwrap();
        CommentCursor::after(&c.items[0], CommentOrder::MostLiked)
    };
    let feed = CommentFeedQuery {
        cursor: Some(liked),
        ..CommentFeedQuery::by_author(uid(&ann))
    };
    assert_eq!(
        invalid_field(f.vault.comment_feed(&ann, &feed).await),
        "cursor"
    );
    assert_eq!(
        store_invalid_field(f.store.comment_feed(&feed).await),
        "cursor"
    );
    let newest = ReviewCursor::after(&reviews[0], ReviewOrder::NewestFirst);
    let queue = ReviewQuery {
        cursor: Some(newest),
        ..ReviewQuery::queue(ModerationStatus::Pending)
    };
    assert_eq!(
        invalid_field(f.vault.list_reviews(&f.admin, &queue).await),
        "cursor"
    );
    assert_eq!(
        store_invalid_field(f.store.list_reviews(&queue).await),
        "cursor"
    );

    for limit in [0, MAX_PAGE + 1, u32::MAX] {
        let rq = ReviewQuery {
            limit,
            ..ReviewQuery::by_user(uid(&ann))
        };
        assert_eq!(
            invalid_field(f.vault.list_reviews(&ann, &rq).await),
            "limit"
        );
        assert_eq!(
            store_invalid_field(f.store.list_reviews(&rq).await),
            "limit"
        );
        let cq = CommentFeedQuery {
            limit,
            ..CommentFeedQuery::recent()
        };
        assert_eq!(
            invalid_field(f.vault.comment_feed(&f.admin, &cq).await),
            "limit"
        );
        assert_eq!(
            store_invalid_field(f.store.comment_feed(&cq).await),
            "limit"
        );
    }
    // The edges themselves are pages.
    for limit in [1, MAX_PAGE] {
        let rq = ReviewQuery {
            limit,
            ..ReviewQuery::by_user(uid(&ann))
        };
        assert!(f.vault.list_reviews(&ann, &rq).await.is_ok());
    }
}
