//! The comments' storage trait called directly
//! ([`crate::store::CommentStore`]): replies checked against their parent
//! as stored, guarded updates that keep a comment's place and likes, one
//! like per user with the count moved in the same write (also under
//! contention), and listings that page without gaps or repeats.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use uuid::Uuid;

use super::records::{assert_err, catalog, failure, t, user, wf_id};
use crate::community::comment::{Comment, MAX_DEPTH};
use crate::community::comment_query::{CommentCursor, CommentOrder, CommentQuery};
use crate::store::{Entity, Store, StoreError, StoreResult};
use crate::value::actor::UserId;
use crate::value::ids::{CommentId, WorkflowId};

pub(super) fn comment_id(n: u128) -> CommentId {
    CommentId::from_uuid(Uuid::from_u128(n))
}

/// Comment `n` by `who` on `workflow`, posted on `day`, replying to
/// `parent` when given.
fn comment(n: u128, workflow: u128, parent: Option<&Comment>, who: &str, day: i64) -> Comment {
    Comment::new(
        comment_id(n),
        wf_id(workflow),
        parent,
        user(who),
        format!("comment {n}"),
        t(day),
    )
    .unwrap()
}

/// Every comment of workflows 10 and 11 (hidden ones too) with its likers:
/// equal before and after a refused call.
async fn comments_snapshot(store: &dyn Store) -> Vec<(Comment, Vec<UserId>)> {
    let mut out = Vec::new();
    for w in [10, 11] {
        for c in every_page(store, listing(wf_id(w), CommentOrder::Newest, true, 100)).await {
            let likers = store.comment_likers(c.id).await.unwrap();
            out.push((c, likers));
        }
    }
    out
}

fn listing(workflow: WorkflowId, order: CommentOrder, hidden: bool, limit: u32) -> CommentQuery {
    CommentQuery {
        include_hidden: hidden,
        limit,
        ..CommentQuery::new(workflow, order)
    }
}

/// Every page of `query`, followed by its cursors, concatenated. Checks
/// each page's size and that the last page says there is no next one.
pub(super) async fn every_page(store: &dyn Store, mut query: CommentQuery) -> Vec<Comment> {
    let mut all = Vec::new();
    for _ in 0..1000 {
        let page = store.list_comments(&query).await.unwrap();
        assert!(page.items.len() <= query.limit as usize);
        if page.next.is_some() {
            assert_eq!(
                page.items.len(),
                query.limit as usize,
                "a short page with a next"
            );
        }
        all.extend(page.items);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return all,
        }
    }
    panic!("the listing never ended");
}

/// The reference listing: `all` filtered and ordered as the query says.
pub(super) fn expected(all: &[Comment], query: &CommentQuery) -> Vec<CommentId> {
    let mut hits: Vec<&Comment> = all.iter().filter(|c| query.matches(c)).collect();
    hits.sort_by(|a, b| query.order.compare(a, b));
    hits.iter().map(|c| c.id).collect()
}

fn invalid_field<T: std::fmt::Debug>(r: StoreResult<T>) -> &'static str {
    match r {
        Err(StoreError::Invalid(e)) => e.field(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

pub async fn store_insert_comment_checks_workflow_parent_and_depth(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let top = comment(1, 10, None, "ann", 1);
    let reply = comment(2, 10, Some(&top), "bob", 2);
    let deepest = comment(3, 10, Some(&reply), "ann", 3);
    let mut liked = top.clone();
    liked.like_count = 5;
    store.insert_comment(&liked).await.unwrap();
    store.insert_comment(&reply).await.unwrap();
    store.insert_comment(&deepest).await.unwrap();
    assert_eq!(
        store.comment(top.id).await.unwrap(),
        Some(top.clone()),
        "likes start at 0"
    );
    assert_eq!(
        store.comment(deepest.id).await.unwrap(),
        Some(deepest.clone())
    );
    assert_eq!(deepest.depth, MAX_DEPTH - 1);
    let before = comments_snapshot(&*store).await;

    // A reply to the last level, as a caller skipping `Comment::new`
    // would build it.
    let mut too_deep = comment(4, 10, None, "bob", 4);
    too_deep.parent_id = Some(deepest.id);
    too_deep.depth = MAX_DEPTH;
    assert_eq!(
        invalid_field(store.insert_comment(&too_deep).await),
        "parent_id"
    );
    let mut skipping = comment(4, 10, Some(&top), "bob", 4);
    skipping.depth = 2;
    assert_eq!(
        invalid_field(store.insert_comment(&skipping).await),
        "depth"
    );
    let other_top = comment(5, 11, None, "cat", 1);
    let mut elsewhere = comment(4, 11, Some(&other_top), "bob", 4);
    elsewhere.parent_id = Some(top.id);
    assert_eq!(
        invalid_field(store.insert_comment(&elsewhere).await),
        "parent_id"
    );

    let mut orphan = comment(4, 10, Some(&top), "bob", 4);
    orphan.parent_id = Some(comment_id(99));
    let refused = [
        (
            comment(4, 99, None, "bob", 4),
            ("not found", Entity::Workflow),
        ),
        (orphan, ("not found", Entity::Comment)),
        (comment(1, 10, None, "bob", 4), ("exists", Entity::Comment)),
    ];
    for (c, expected) in &refused {
        let result = store.insert_comment(c).await;
        assert_eq!(failure(&result), Some(*expected), "{result:?}");
    }
    assert_eq!(
        comments_snapshot(&*store).await,
        before,
        "refusals wrote nothing"
    );
    assert_eq!(store.comment(comment_id(4)).await.unwrap(), None);

    // A parent deleted after the reply was decided: the state moved.
    let mut gone = top.clone();
    gone.delete(t(5));
    gone.revision = 1;
    store.update_comment(&gone, 0, None).await.unwrap();
    assert_err!(
        store
            .insert_comment(&comment(6, 10, Some(&top), "bob", 6))
            .await,
        StoreError::Conflict {
            entity: Entity::Comment,
            ..
        }
    );
    assert_eq!(store.comment(comment_id(6)).await.unwrap(), None);
}

pub async fn store_update_comment_is_guarded_and_keeps_place_and_likes(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let top = comment(1, 10, None, "ann", 1);
    let reply = comment(2, 10, Some(&top), "bob", 2);
    store.insert_comment(&top).await.unwrap();
    store.insert_comment(&reply).await.unwrap();
    // A like arrives after the editor read the reply.
    assert!(
        store
            .set_comment_like(reply.id, &user("cat"), true, t(3))
            .await
            .unwrap()
    );

    let mut edited = reply.clone();
    assert!(edited.edit("better".into(), t(4)).unwrap());
    edited.revision = 1;
    let before = comments_snapshot(&*store).await;
    assert_err!(
        store.update_comment(&edited, 7, None).await,
        StoreError::Conflict {
            entity: Entity::Comment,
            ..
        }
    );
    let mut missing = edited.clone();
    missing.id = comment_id(99);
    assert_err!(
        store.update_comment(&missing, 0, None).await,
        StoreError::NotFound {
            entity: Entity::Comment,
            ..
        }
    );
    assert_eq!(comments_snapshot(&*store).await, before);

    // Where it sits, who wrote it and its likes are the store's.
    let mut moved = edited.clone();
    moved.workflow_id = wf_id(11);
    moved.parent_id = None;
    moved.depth = 0;
    moved.author = user("mallory");
    moved.created_at = t(9);
    moved.like_count = 40;
    store.update_comment(&moved, 0, None).await.unwrap();
    let stored = store.comment(reply.id).await.unwrap().unwrap();
    let mut want = edited.clone();
    want.like_count = 1;
    assert_eq!(stored, want);
    assert!(stored.edited && stored.body == "better");

    // The revision it wrote is the one the next write is guarded by.
    assert_err!(
        store.update_comment(&edited, 0, None).await,
        StoreError::Conflict { .. }
    );
    let mut hidden = stored.clone();
    hidden.set_hidden(true, t(5));
    hidden.revision = 2;
    store.update_comment(&hidden, 1, None).await.unwrap();
    let mut deleted = hidden.clone();
    deleted.delete(t(6));
    deleted.revision = 3;
    store.update_comment(&deleted, 2, None).await.unwrap();
    let stored = store.comment(reply.id).await.unwrap().unwrap();
    assert_eq!(stored, deleted);
    assert!(stored.hidden && stored.body.is_empty() && stored.deleted_at == Some(t(6)));
}

pub async fn store_comment_likes_are_one_per_user_and_counted(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let c = comment(1, 10, None, "ann", 1);
    store.insert_comment(&c).await.unwrap();
    let id = c.id;
    let like = |who: &'static str, liked: bool| {
        let store = Arc::clone(&store);
        async move {
            store
                .set_comment_like(id, &user(who), liked, t(2))
                .await
                .unwrap()
        }
    };
    let count = || {
        let store = Arc::clone(&store);
        async move { store.comment(id).await.unwrap().unwrap().like_count }
    };
    assert!(like("bob", true).await);
    assert!(!like("bob", true).await, "liking twice is one like");
    assert_eq!(count().await, 1);
    assert!(like("ann", true).await);
    assert!(!like("zed", false).await, "no like to withdraw");
    assert_eq!(count().await, 2);
    assert_eq!(
        store.comment_likers(c.id).await.unwrap(),
        vec![user("ann"), user("bob")]
    );
    assert!(like("bob", false).await);
    assert!(!like("bob", false).await);
    assert_eq!(count().await, 1);
    assert_eq!(store.comment_likers(c.id).await.unwrap(), vec![user("ann")]);
    assert_err!(
        store
            .set_comment_like(comment_id(99), &user("bob"), true, t(2))
            .await,
        StoreError::NotFound {
            entity: Entity::Comment,
            ..
        }
    );
    assert!(
        store
            .comment_likers(comment_id(99))
            .await
            .unwrap()
            .is_empty()
    );
    // Likes move nothing but the count: not the revision, not updated_at.
    let stored = store.comment(c.id).await.unwrap().unwrap();
    assert_eq!((stored.revision, stored.updated_at), (0, c.updated_at));
}

/// Random like and unlike sequences by a few users, each on a fresh
/// comment: afterwards the count equals the like rows, and both equal the
/// users whose last move was a like.
pub async fn store_comment_like_count_matches_like_rows(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let users = ["ann", "bob", "cat", "mallory", "zed"];
    let next = AtomicU64::new(1);
    let handle = tokio::runtime::Handle::current();
    let strategy = proptest::collection::vec((0..users.len(), any::<bool>()), 0..24);
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases: 24,
            failure_persistence: None,
            ..Config::default()
        });
        let outcome = runner.run(&strategy, |moves| {
            handle.block_on(async {
                let n = u128::from(next.fetch_add(1, Ordering::Relaxed));
                let c = comment(n, 10, None, "ann", 1);
                store.insert_comment(&c).await.unwrap();
                let mut model = [false; 5];
                for (who, liked) in moves {
                    let changed = store
                        .set_comment_like(c.id, &user(users[who]), liked, t(2))
                        .await
                        .unwrap();
                    prop_assert_eq!(changed, model[who] != liked);
                    model[who] = liked;
                }
                let likers = store.comment_likers(c.id).await.unwrap();
                let want: Vec<UserId> = users
                    .iter()
                    .zip(model)
                    .filter(|(_, liked)| *liked)
                    .map(|(u, _)| user(u))
                    .collect();
                prop_assert_eq!(&likers, &want);
                let count = store.comment(c.id).await.unwrap().unwrap().like_count;
                prop_assert_eq!(count, likers.len() as u64);
                Ok::<(), TestCaseError>(())
            })
        });
        if let Err(e) = outcome {
            panic!("like count against like rows: {e}");
        }
    });
}

pub async fn store_concurrent_comment_likes_count_each_user_once(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let one = comment(1, 10, None, "ann", 1);
    let many = comment(2, 10, None, "ann", 1);
    store.insert_comment(&one).await.unwrap();
    store.insert_comment(&many).await.unwrap();
    let race = |id: CommentId, who: fn(usize) -> String| {
        let tasks: Vec<_> = (0..16)
            .map(|n| {
                let store = Arc::clone(&store);
                super::tokio::spawn(async move {
                    store.set_comment_like(id, &user(&who(n)), true, t(2)).await
                })
            })
            .collect();
        async move {
            let mut changed = 0;
            for task in tasks {
                if task.await.unwrap().unwrap() {
                    changed += 1;
                }
            }
            changed
        }
    };
    // The same user sixteen times at once: one like.
    assert_eq!(race(one.id, |_| "bob".into()).await, 1);
    assert_eq!(store.comment(one.id).await.unwrap().unwrap().like_count, 1);
    assert_eq!(
        store.comment_likers(one.id).await.unwrap(),
        vec![user("bob")]
    );
    // Sixteen users at once: sixteen likes.
    assert_eq!(race(many.id, |n| format!("fan-{n:02}")).await, 16);
    assert_eq!(
        store.comment(many.id).await.unwrap().unwrap().like_count,
        16
    );
    assert_eq!(store.comment_likers(many.id).await.unwrap().len(), 16);
}

pub async fn store_comment_listings_page_without_gaps_or_repeats(store: Arc<dyn Store>) {
    catalog(&*store).await;
    // Ties on both keys: four days, like counts 0 to 3, ids in no
    // particular relation to either.
    let mut all = Vec::new();
    for i in 0..23u128 {
        let n = (i * 7919) % 1000 + 1;
        let parent = (i % 4 == 3)
            .then(|| all.last())
            .flatten()
            .filter(|p: &&Comment| p.depth == 0);
        let c = comment(n, 10, parent, "ann", (i % 4) as i64);
        store.insert_comment(&c).await.unwrap();
        for fan in 0..(i % 4) {
            store
                .set_comment_like(c.id, &user(&format!("fan-{fan}")), true, t(5))
                .await
                .unwrap();
        }
        all.push(c);
    }
    // One on another workflow, some hidden, some deleted.
    store
        .insert_comment(&comment(5000, 11, None, "bob", 1))
        .await
        .unwrap();
    for (k, c) in all.iter_mut().enumerate() {
        let mut next = store.comment(c.id).await.unwrap().unwrap();
        let changed = match k % 5 {
            1 => next.set_hidden(true, t(6)),
            2 => next.delete(t(6)),
            _ => false,
        };
        if changed {
            next.revision = 1;
            store.update_comment(&next, 0, None).await.unwrap();
        }
        *c = store.comment(c.id).await.unwrap().unwrap();
    }
    assert!(
        all.iter()
            .any(|c| c.deleted_at.is_some() && c.body.is_empty())
    );
    for order in CommentOrder::ALL {
        for hidden in [false, true] {
            for limit in [1, 2, 3, 5, 7, 23, 100] {
                let q = listing(wf_id(10), order, hidden, limit);
                let listed = every_page(&*store, q.clone()).await;
                let ids: Vec<CommentId> = listed.iter().map(|c| c.id).collect();
                assert_eq!(
                    ids,
                    expected(&all, &q),
                    "{order:?} hidden={hidden} limit={limit}"
                );
                for c in &listed {
                    assert_eq!(Some(c), all.iter().find(|a| a.id == c.id));
                }
            }
        }
    }
    // Refused queries: Invalid naming the field, from the store itself.
    let mut q = listing(wf_id(10), CommentOrder::Newest, false, 0);
    assert_eq!(invalid_field(store.list_comments(&q).await), "limit");
    q.limit = 101;
    assert_eq!(invalid_field(store.list_comments(&q).await), "limit");
    q.limit = 5;
    q.cursor = Some(CommentCursor::after(&all[0], CommentOrder::MostLiked));
    assert_eq!(invalid_field(store.list_comments(&q).await), "cursor");
    // A workflow without comments, or none at all.
    let none = listing(wf_id(99), CommentOrder::MostLiked, true, 10);
    assert!(store.list_comments(&none).await.unwrap().items.is_empty());
}
