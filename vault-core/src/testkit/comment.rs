//! Comments through the service: threads and their depth limit, edits by
//! the author, soft deletes that keep replies, moderation by staff, likes
//! once per user (also when sixteen arrive at once), and pages in both
//! orders.

use std::sync::Arc;

use chrono::Duration;

use super::comment_store::expected;
use super::{Fixture, NowUtc};
use crate::community::comment::{Comment, MAX_DEPTH};
use crate::community::comment_query::{CommentCursor, CommentOrder, CommentQuery};
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::{Entity, Error, Result};
use crate::value::ids::{CommentId, WorkflowId};
use crate::value::tier::PricingTier;

fn invalid_field<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
    match r {
        Err(Error::Invalid(e)) => e.field(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn forbidden<T: std::fmt::Debug>(r: Result<T>) {
    assert!(matches!(r, Err(Error::Forbidden { .. })), "{r:?}");
}

fn comment_not_found<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(
            r,
            Err(Error::NotFound {
                entity: Entity::Comment,
                ..
            })
        ),
        "{r:?}"
    );
}

/// Every comment of a workflow as `actor` pages through them, 100 a page.
async fn listed(f: &Fixture, actor: &Actor, w: WorkflowId) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = f
            .vault
            .comments(actor, w, CommentOrder::Newest, cursor, 100)
            .await
            .unwrap();
        out.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn ids(cs: &[Comment]) -> Vec<CommentId> {
    cs.iter().map(|c| c.id).collect()
}

async fn post(f: &Fixture, who: &Actor, w: WorkflowId, parent: Option<CommentId>) -> Comment {
    f.advance(Duration::seconds(1));
    f.vault
        .post_comment(who, w, parent, format!("said at {}", f.clock.now_utc()))
        .await
        .unwrap()
}

pub async fn comments_thread_three_deep(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("discussed", PricingTier::Free, None).await;
    let (other, _) = f.workflow("elsewhere", PricingTier::Free, None).await;
    let ann = Fixture::user("ann");
    let bob = Fixture::user("bob");
    let top = post(&f, &ann, w.id, None).await;
    let reply = post(&f, &bob, w.id, Some(top.id)).await;
    let deepest = post(&f, &ann, w.id, Some(reply.id)).await;
    assert_eq!(
        (top.depth, reply.depth, deepest.depth),
        (0, 1, MAX_DEPTH - 1)
    );
    assert_eq!(
        (reply.parent_id, deepest.parent_id),
        (Some(top.id), Some(reply.id))
    );
    assert_eq!(
        f.store.comment(deepest.id).await.unwrap(),
        Some(deepest.clone())
    );
    let before = listed(&f, &f.admin, w.id).await;
    assert_eq!(before.len(), 3);

    // One level too deep: a typed refusal naming the parent, nothing written.
    let too_deep = f
        .vault
        .post_comment(&bob, w.id, Some(deepest.id), "deeper".into())
        .await;
    assert_eq!(invalid_field(too_deep), "parent_id");
    // A parent on another workflow, an empty body.
    let across = f
        .vault
        .post_comment(&bob, other.id, Some(top.id), "across".into())
        .await;
    assert_eq!(invalid_field(across), "parent_id");
    let blank = f.vault.post_comment(&bob, w.id, None, String::new()).await;
    assert_eq!(invalid_field(blank), "body");
    // Signed-in users only; no comments on what one cannot see.
    forbidden(
        f.vault
            .post_comment(&Actor::Anonymous, w.id, None, "hi".into())
            .await,
    );
    let draft = f
        .vault
        .create_workflow(&f.admin, f.content("unreleased", PricingTier::Free, None))
        .await
        .unwrap();
    assert!(matches!(
        f.vault
            .post_comment(&ann, draft.id, None, "hi".into())
            .await,
        Err(Error::NotFound {
            entity: Entity::Workflow,
            ..
        })
    ));
    comment_not_found(
        f.vault
            .post_comment(
                &ann,
                w.id,
                Some(CommentId::from_uuid(uuid::Uuid::nil())),
                "hi".into(),
            )
            .await,
    );
    assert_eq!(
        listed(&f, &f.admin, w.id).await,
        before,
        "refusals wrote nothing"
    );
    assert!(listed(&f, &f.admin, other.id).await.is_empty());
    assert!(listed(&f, &f.admin, draft.id).await.is_empty());
    // Anyone who sees the workflow reads its comments; a draft's are hidden.
    assert_eq!(listed(&f, &Actor::Anonymous, w.id).await, before);
    assert!(matches!(
        f.vault
            .comments(&Actor::Anonymous, draft.id, CommentOrder::Newest, None, 10)
            .await,
        Err(Error::NotFound { .. })
    ));
}

pub async fn comments_are_edited_by_their_author_only(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("edited", PricingTier::Free, None).await;
    let ann = Fixture::user("ann");
    let c = post(&f, &ann, w.id, None).await;
    assert!(!c.edited);
    for who in [&Fixture::user("bob"), &f.admin, &Actor::Anonymous] {
        forbidden(f.vault.edit_comment(who, c.id, "mine now".into()).await);
    }
    forbidden(
        f.vault
            .edit_comment(&Actor::Service, c.id, "x".into())
            .await,
    );
    f.advance(Duration::minutes(5));
    let edited = f
        .vault
        .edit_comment(&ann, c.id, "second thoughts".into())
        .await
        .unwrap();
    assert!(edited.edited);
    assert_eq!(edited.body, "second thoughts");
    assert_eq!(edited.revision, c.revision + 1);
    assert_eq!(edited.updated_at, f.clock.now_utc());
    assert_eq!(edited.created_at, c.created_at);
    assert_eq!(f.store.comment(c.id).await.unwrap(), Some(edited.clone()));
    // The same body again writes nothing.
    let same = f
        .vault
        .edit_comment(&ann, c.id, "second thoughts".into())
        .await
        .unwrap();
    assert_eq!(same, edited);
    assert_eq!(
        invalid_field(f.vault.edit_comment(&ann, c.id, String::new()).await),
        "body"
    );
    f.vault.delete_comment(&ann, c.id).await.unwrap();
    assert_eq!(
        invalid_field(f.vault.edit_comment(&ann, c.id, "back".into()).await),
        "comment"
    );
    comment_not_found(
        f.vault
            .edit_comment(&ann, CommentId::from_uuid(uuid::Uuid::nil()), "x".into())
            .await,
    );
}

pub async fn deleted_comments_keep_their_replies(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("deleted", PricingTier::Free, None).await;
    let ann = Fixture::user("ann");
    let bob = Fixture::user("bob");
    let top = post(&f, &ann, w.id, None).await;
    let reply = post(&f, &bob, w.id, Some(top.id)).await;
    let deeper = post(&f, &ann, w.id, Some(reply.id)).await;
    forbidden(f.vault.delete_comment(&bob, top.id).await);
    forbidden(f.vault.delete_comment(&Actor::Anonymous, top.id).await);
    f.advance(Duration::seconds(30));
    let gone = f.vault.delete_comment(&ann, top.id).await.unwrap();
    assert!(gone.body.is_empty());
    assert_eq!(gone.deleted_at, Some(f.clock.now_utc()));
    // Deleting twice changes nothing.
    assert_eq!(f.vault.delete_comment(&ann, top.id).await.unwrap(), gone);
    // Staff delete anyone's.
    let reply_gone = f.vault.delete_comment(&f.admin, reply.id).await.unwrap();
    assert!(reply_gone.body.is_empty());

    let all = listed(&f, &Fixture::user("reader"), w.id).await;
    assert_eq!(
        ids(&all),
        vec![deeper.id, reply.id, top.id],
        "every place stays"
    );
    let by_id = |id: CommentId| all.iter().find(|c| c.id == id).unwrap().clone();
    assert_eq!(by_id(top.id), gone);
    assert!(by_id(reply.id).body.is_empty() && by_id(reply.id).parent_id == Some(top.id));
    assert_eq!(by_id(deeper.id), deeper, "the reply below is untouched");
    // No new replies under a deleted comment.
    let late = f
        .vault
        .post_comment(&bob, w.id, Some(top.id), "late".into())
        .await;
    assert_eq!(invalid_field(late), "parent_id");
    assert_eq!(listed(&f, &f.admin, w.id).await.len(), 3);
}

pub async fn hidden_comments_are_for_staff(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("moderated", PricingTier::Free, None).await;
    let ann = Fixture::user("ann");
    let bob = Fixture::user("bob");
    let c = post(&f, &ann, w.id, None).await;
    let other = post(&f, &bob, w.id, None).await;
    for who in [&ann, &bob, &Actor::Anonymous] {
        forbidden(f.vault.moderate_comment(who, c.id, true).await);
    }
    assert!(!f.store.comment(c.id).await.unwrap().unwrap().hidden);

    let hidden = f
        .vault
        .moderate_comment(&f.admin, c.id, true)
        .await
        .unwrap();
    assert!(hidden.hidden);
    assert_eq!(hidden.body, c.body, "hiding keeps the body for staff");
    assert_eq!(
        f.vault
            .moderate_comment(&Actor::Service, c.id, true)
            .await
            .unwrap(),
        hidden,
        "hiding twice changes nothing"
    );
    for who in [&bob, &Actor::Anonymous] {
        assert_eq!(ids(&listed(&f, who, w.id).await), vec![other.id]);
    }
    // To others it is not there at all; its author still reaches it.
    comment_not_found(f.vault.like_comment(&bob, c.id).await);
    comment_not_found(f.vault.delete_comment(&bob, c.id).await);
    assert_eq!(
        f.vault.like_comment(&ann, c.id).await.unwrap().like_count,
        1
    );
    assert_eq!(
        f.vault.unlike_comment(&ann, c.id).await.unwrap().like_count,
        0
    );
    comment_not_found(
        f.vault
            .post_comment(&bob, w.id, Some(c.id), "re".into())
            .await,
    );
    assert_eq!(ids(&listed(&f, &f.admin, w.id).await), vec![other.id, c.id]);
    assert_eq!(f.store.comment(c.id).await.unwrap().unwrap().like_count, 0);

    let shown = f
        .vault
        .moderate_comment(&f.admin, c.id, false)
        .await
        .unwrap();
    assert!(!shown.hidden);
    assert_eq!(shown.revision, c.revision + 2);
    assert_eq!(ids(&listed(&f, &bob, w.id).await), vec![other.id, c.id]);
    assert_eq!(
        f.vault.like_comment(&bob, c.id).await.unwrap().like_count,
        1
    );
}

pub async fn comment_likes_count_each_user_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("liked", PricingTier::Free, None).await;
    let c = post(&f, &Fixture::user("ann"), w.id, None).await;
    let id = c.id;
    let race = |who: Vec<Actor>| {
        let tasks: Vec<_> = who
            .into_iter()
            .map(|actor| {
                let vault = f.vault.clone();
                super::tokio::spawn(async move { vault.like_comment(&actor, id).await })
            })
            .collect();
        async move {
            for task in tasks {
                task.await.unwrap().unwrap();
            }
        }
    };
    // Sixteen likes by one user at once: one like, one row.
    race(vec![Fixture::user("bob"); 16]).await;
    let after = f.store.comment(c.id).await.unwrap().unwrap();
    assert_eq!(after.like_count, 1);
    assert_eq!(f.store.comment_likers(c.id).await.unwrap().len(), 1);
    // Sixteen users at once: sixteen.
    let fans: Vec<Actor> = (0..16)
        .map(|n| Fixture::user(&format!("fan-{n:02}")))
        .collect();
    race(fans).await;
    let after = f.store.comment(c.id).await.unwrap().unwrap();
    assert_eq!(after.like_count, 17);
    assert_eq!(f.store.comment_likers(c.id).await.unwrap().len(), 17);
    assert_eq!(after.revision, c.revision, "likes are not edits");

    let bob = Fixture::user("bob");
    assert_eq!(
        f.vault.unlike_comment(&bob, c.id).await.unwrap().like_count,
        16
    );
    assert_eq!(
        f.vault.unlike_comment(&bob, c.id).await.unwrap().like_count,
        16
    );
    forbidden(f.vault.like_comment(&Actor::Anonymous, c.id).await);
    forbidden(f.vault.unlike_comment(&Actor::Service, c.id).await);
    // A deleted comment takes no new likes; old ones may be withdrawn.
    f.vault.delete_comment(&f.admin, c.id).await.unwrap();
    assert!(matches!(
        f.vault.like_comment(&bob, c.id).await,
        Err(Error::InvalidTransition {
            entity: Entity::Comment,
            ..
        })
    ));
    let fan = Fixture::user("fan-00");
    assert_eq!(
        f.vault.unlike_comment(&fan, c.id).await.unwrap().like_count,
        15
    );
    assert_eq!(f.store.comment_likers(c.id).await.unwrap().len(), 15);
}

pub async fn comment_pages_follow_both_orders(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("paged", PricingTier::Free, None).await;
    let ann = Fixture::user("ann");
    // Every third comment in the same second as the one before: ties on
    // time; like counts 0 to 2: ties on likes.
    let mut posted = Vec::new();
    for i in 0..14usize {
        if i % 3 != 0 {
            f.advance(Duration::seconds(1));
        }
        let c = f
            .vault
            .post_comment(&ann, w.id, None, format!("comment {i}"))
            .await
            .unwrap();
        for fan in 0..(i % 3) {
            f.vault
                .like_comment(&Fixture::user(&format!("fan-{fan}")), c.id)
                .await
                .unwrap();
        }
        posted.push(c.id);
    }
    f.vault
        .moderate_comment(&f.admin, posted[4], true)
        .await
        .unwrap();
    f.vault.delete_comment(&ann, posted[5]).await.unwrap();
    let mut all = Vec::new();
    for id in &posted {
        all.push(f.store.comment(*id).await.unwrap().unwrap());
    }
    for order in CommentOrder::ALL {
        for (actor, staff) in [(&Actor::Anonymous, false), (&f.admin, true)] {
            for limit in [1, 2, 3, 4, 14, 15] {
                let mut seen = Vec::new();
                let mut cursor = None;
                loop {
                    let page = f
                        .vault
                        .comments(actor, w.id, order, cursor, limit)
                        .await
                        .unwrap();
                    seen.extend(page.items.iter().map(|c| c.id));
                    // Tokens survive the trip through a URL.
                    match page.next {
                        Some(next) => cursor = Some(CommentCursor::decode(&next.encode()).unwrap()),
                        None => break,
                    }
                }
                let query = CommentQuery {
                    include_hidden: staff,
                    ..CommentQuery::new(w.id, order)
                };
                assert_eq!(
                    seen,
                    expected(&all, &query),
                    "{order:?} staff={staff} limit={limit}"
                );
            }
        }
    }
    // Malformed cursors and page sizes: Invalid naming the field.
    for token in [
        "",
        "zz",
        "0x7b7d",
        "7b7d",
        &const_hex::encode(
            r#"{"order":"newest","key":{"key":"likes","value":1},"id":"00000000-0000-0000-0000-000000000000"}"#,
        ),
    ] {
        assert_eq!(
            CommentCursor::decode(token).expect_err(token).field(),
            "cursor"
        );
    }
    let liked = CommentCursor::after(&all[0], CommentOrder::MostLiked);
    let wrong_order = f
        .vault
        .comments(&ann, w.id, CommentOrder::Newest, Some(liked), 10)
        .await;
    assert_eq!(invalid_field(wrong_order), "cursor");
    for limit in [0, 101] {
        let r = f
            .vault
            .comments(&ann, w.id, CommentOrder::Newest, None, limit)
            .await;
        assert_eq!(invalid_field(r), "limit");
    }
}
