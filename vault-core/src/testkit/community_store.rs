//! The community's storage trait called directly
//! ([`crate::store::CommunityStore`]): one review per user, guarded edits
//! and deletes that move the rating aggregate by exactly their delta, one
//! vote per user, favorites unique and counted.

use std::sync::Arc;

use super::records::{
    assert_err, catalog, day, delta, failure, favorite, rating, rating_change, review, review_id,
    snapshot, t, user, wf_id,
};
use crate::community::rating::RatingAggregate;
use crate::community::review::{ModerationStatus, Review, Vote};
use crate::store::{Entity, Store, StoreError};
use crate::value::ids::WorkflowId;

pub async fn store_insert_review_is_unique_per_user_and_moves_the_rating(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let ann = review(1, 10, "ann", 5, ModerationStatus::Approved);
    let mut counted = delta(10, 1);
    counted.reviews = 1;
    store
        .insert_review(&ann, &rating_change(None, Some(&ann)), Some(&counted))
        .await
        .unwrap();
    let before = snapshot(&*store).await;

    let refused = [
        // Same id, another author.
        (
            review(1, 10, "bob", 4, ModerationStatus::Approved),
            None,
            ("exists", Entity::Review),
        ),
        // Same author, same workflow.
        (
            review(2, 10, "ann", 4, ModerationStatus::Approved),
            None,
            ("exists", Entity::Review),
        ),
        (
            review(2, 99, "bob", 4, ModerationStatus::Approved),
            None,
            ("not found", Entity::Workflow),
        ),
        (
            review(2, 10, "bob", 4, ModerationStatus::Approved),
            Some(delta(99, 1)),
            ("not found", Entity::Workflow),
        ),
    ];
    for (r, analytics, expected) in &refused {
        let result = store
            .insert_review(r, &rating_change(None, Some(r)), analytics.as_ref())
            .await;
        assert_eq!(failure(&result), Some(*expected), "{result:?}");
    }
    // A delta that removes a review the aggregate never counted.
    let ghost = review(9, 10, "zed", 2, ModerationStatus::Approved);
    let result = store
        .insert_review(
            &review(2, 10, "bob", 4, ModerationStatus::Pending),
            &rating_change(Some(&ghost), None),
            None,
        )
        .await;
    assert!(
        matches!(
            &result,
            Err(StoreError::Conflict {
                entity: Entity::Workflow,
                reason: "rating delta does not match the aggregate",
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(snapshot(&*store).await, before);

    let agg = rating(&*store, 10).await;
    assert_eq!((agg.count(), agg.sum()), (1, 5));
    let rows = store.analytics(wf_id(10), day(1), day(1)).await.unwrap();
    assert_eq!(rows[0].reviews, 1);

    // A pending review is stored but does not count.
    let bob = review(2, 10, "bob", 1, ModerationStatus::Pending);
    store
        .insert_review(&bob, &rating_change(None, Some(&bob)), None)
        .await
        .unwrap();
    assert_eq!(rating(&*store, 10).await, agg);

    assert_eq!(store.review(review_id(1)).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.review(review_id(9)).await.unwrap(), None);
    assert_eq!(
        store.review_by_user(wf_id(10), &user("bob")).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        store.review_by_user(wf_id(11), &user("bob")).await.unwrap(),
        None
    );
    let ids = |rs: Vec<Review>| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.reviews_for_workflow(wf_id(10), &[]).await.unwrap()),
        vec![review_id(1), review_id(2)]
    );
    assert_eq!(
        ids(store
            .reviews_for_workflow(wf_id(10), &[ModerationStatus::Pending])
            .await
            .unwrap()),
        vec![review_id(2)]
    );
    assert!(
        store
            .reviews_for_workflow(wf_id(11), &[])
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn store_update_review_is_guarded_and_keeps_votes(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let pending = review(1, 10, "ann", 4, ModerationStatus::Pending);
    store
        .insert_review(&pending, &rating_change(None, Some(&pending)), None)
        .await
        .unwrap();
    // Votes arrive after the moderator read the review.
    store
        .set_vote(review_id(1), &user("bob"), Some(Vote::Helpful))
        .await
        .unwrap();
    let mut approved = pending.clone();
    approved.status = ModerationStatus::Approved;
    approved.moderated_by = Some(user("mod"));
    approved.revision = 1;
    approved.updated_at = t(3);
    let approve = rating_change(Some(&pending), Some(&approved));
    let before = snapshot(&*store).await;

    assert_err!(
        store
            .update_review(&approved, 5, &approve, None, None)
            .await,
        StoreError::Conflict {
            entity: Entity::Review,
            ..
        }
    );
    let mut missing = approved.clone();
    missing.id = review_id(9);
    assert_err!(
        store.update_review(&missing, 0, &approve, None, None).await,
        StoreError::NotFound {
            entity: Entity::Review,
            ..
        }
    );
    assert_err!(
        store
            .update_review(
                &approved,
                0,
                &rating_change(Some(&approved), None),
                None,
                None
            )
            .await,
        StoreError::Conflict {
            entity: Entity::Workflow,
            reason: "rating delta does not match the aggregate",
            ..
        }
    );
    assert_err!(
        store
            .update_review(&approved, 0, &approve, Some(&delta(99, 3)), None)
            .await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    let mut counted = delta(10, 3);
    counted.reviews = 1;
    // The caller's copy says "no votes" and names another workflow and
    // author; neither is taken.
    let mut write = approved.clone();
    write.workflow_id = wf_id(11);
    write.user_id = user("mallory");
    store
        .update_review(&write, 0, &approve, Some(&counted), None)
        .await
        .unwrap();
    let stored = store.review(review_id(1)).await.unwrap().unwrap();
    assert_eq!(stored.status, ModerationStatus::Approved);
    assert_eq!(stored.updated_at, t(3));
    assert_eq!((stored.helpful_count, stored.not_helpful_count), (1, 0));
    assert_eq!(
        (stored.workflow_id, stored.user_id.clone()),
        (wf_id(10), user("ann"))
    );
    let mut expected = approved.clone();
    expected.helpful_count = 1;
    assert_eq!(stored, expected);
    let agg = rating(&*store, 10).await;
    assert_eq!((agg.count(), agg.sum()), (1, 4));
    assert_eq!(rating(&*store, 11).await, RatingAggregate::default());
    let rows = store.analytics(wf_id(10), day(3), day(3)).await.unwrap();
    assert_eq!(rows[0].reviews, 1);
}

pub async fn store_delete_review_removes_it_with_its_votes(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let r = review(1, 10, "ann", 3, ModerationStatus::Approved);
    store
        .insert_review(&r, &rating_change(None, Some(&r)), None)
        .await
        .unwrap();
    store
        .set_vote(review_id(1), &user("bob"), Some(Vote::NotHelpful))
        .await
        .unwrap();
    let removal = rating_change(Some(&r), None);
    let before = snapshot(&*store).await;
    assert_err!(
        store.delete_review(review_id(1), 1, &removal).await,
        StoreError::Conflict {
            entity: Entity::Review,
            ..
        }
    );
    assert_err!(
        store.delete_review(review_id(9), 0, &removal).await,
        StoreError::NotFound {
            entity: Entity::Review,
            ..
        }
    );
    let wrong = rating_change(
        Some(&review(1, 10, "ann", 5, ModerationStatus::Approved)),
        None,
    );
    assert_err!(
        store.delete_review(review_id(1), 0, &wrong).await,
        StoreError::Conflict {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    store
        .delete_review(review_id(1), 0, &removal)
        .await
        .unwrap();
    assert_eq!(store.review(review_id(1)).await.unwrap(), None);
    assert_eq!(rating(&*store, 10).await, RatingAggregate::default());
    assert_err!(
        store
            .set_vote(review_id(1), &user("bob"), Some(Vote::Helpful))
            .await,
        StoreError::NotFound {
            entity: Entity::Review,
            ..
        }
    );
    // The author may review again.
    let again = review(2, 10, "ann", 4, ModerationStatus::Approved);
    store
        .insert_review(&again, &rating_change(None, Some(&again)), None)
        .await
        .unwrap();
    // Bob's vote went with the review: a new review under the old id finds
    // no vote of his.
    let reused = review(1, 11, "cat", 4, ModerationStatus::Approved);
    store
        .insert_review(&reused, &rating_change(None, Some(&reused)), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .set_vote(review_id(1), &user("bob"), Some(Vote::Helpful))
            .await
            .unwrap(),
        None
    );
    let stored = store.review(review_id(1)).await.unwrap().unwrap();
    assert_eq!((stored.helpful_count, stored.not_helpful_count), (1, 0));
}

pub async fn store_one_vote_per_user_and_review(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let r = review(1, 10, "ann", 3, ModerationStatus::Approved);
    store
        .insert_review(&r, &rating_change(None, Some(&r)), None)
        .await
        .unwrap();
    let bob = user("bob");
    let steps = [
        (&bob, Some(Vote::Helpful), None, (1, 0)),
        (&bob, Some(Vote::Helpful), Some(Vote::Helpful), (1, 0)),
        (&bob, Some(Vote::NotHelpful), Some(Vote::Helpful), (0, 1)),
        (&user("cat"), Some(Vote::Helpful), None, (1, 1)),
        (&bob, None, Some(Vote::NotHelpful), (1, 0)),
        (&bob, None, None, (1, 0)),
    ];
    for (who, vote, previous, after) in steps {
        assert_eq!(
            store.set_vote(review_id(1), who, vote).await.unwrap(),
            previous
        );
        let r = store.review(review_id(1)).await.unwrap().unwrap();
        assert_eq!((r.helpful_count, r.not_helpful_count), after);
    }
    let before = snapshot(&*store).await;
    assert_err!(
        store
            .set_vote(review_id(9), &bob, Some(Vote::Helpful))
            .await,
        StoreError::NotFound {
            entity: Entity::Review,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);
    // Votes are counters: the review's revision and timestamps stay.
    let stored = store.review(review_id(1)).await.unwrap().unwrap();
    assert_eq!((stored.revision, stored.updated_at), (0, t(1)));
}

pub async fn store_favorites_are_unique_and_counted(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let mut counted = delta(10, 1);
    counted.favorites = 1;
    store
        .insert_favorite(&favorite("ann", 10, 1), &counted)
        .await
        .unwrap();
    store
        .insert_favorite(&favorite("ann", 11, 2), &delta(11, 2))
        .await
        .unwrap();
    store
        .insert_favorite(&favorite("bob", 10, 3), &delta(10, 3))
        .await
        .unwrap();
    let before = snapshot(&*store).await;
    assert_err!(
        store
            .insert_favorite(&favorite("ann", 10, 4), &delta(10, 4))
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Favorite,
            ..
        }
    );
    assert_err!(
        store
            .insert_favorite(&favorite("ann", 99, 4), &delta(99, 4))
            .await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_err!(
        store
            .insert_favorite(&favorite("cat", 10, 4), &delta(99, 4))
            .await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    let favorites = |wf: u128| {
        let store = Arc::clone(&store);
        async move {
            store
                .workflow(wf_id(wf))
                .await
                .unwrap()
                .unwrap()
                .stats
                .favorite_count
        }
    };
    assert_eq!(favorites(10).await, 2);
    let rows = store.analytics(wf_id(10), day(1), day(1)).await.unwrap();
    assert_eq!(rows[0].favorites, 1);
    let mine: Vec<WorkflowId> = store
        .favorites_for_user(&user("ann"), None)
        .await
        .unwrap()
        .iter()
        .map(|f| f.workflow_id)
        .collect();
    assert_eq!(mine, vec![wf_id(11), wf_id(10)]);

    assert!(
        store
            .delete_favorite(&user("ann"), wf_id(10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_favorite(&user("ann"), wf_id(10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_favorite(&user("cat"), wf_id(99))
            .await
            .unwrap()
    );
    assert_eq!(favorites(10).await, 1);
    assert!(
        store
            .delete_favorite(&user("bob"), wf_id(10))
            .await
            .unwrap()
    );
    assert_eq!(favorites(10).await, 0);
    // Deleted favorites can be added again.
    store
        .insert_favorite(&favorite("ann", 10, 5), &delta(10, 5))
        .await
        .unwrap();
}
