//! The community through the service: reviews and their moderation, votes,
//! ratings, favorites.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::Fixture;
use super::helpers::{review_input, workflow_of};
use crate::catalog::workflow::parse_tags;
use crate::community::rating::{Rating, RatingAggregate};
use crate::community::review::{ModerationStatus, Vote};
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::Entity;
use crate::value::error::Error;
use crate::value::tier::PricingTier;
use crate::vault::CheckoutItem;

pub async fn reviews_moderation_and_aggregate(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("reviewed", PricingTier::Pro, Some(4900)).await;
    let buyer = Fixture::user("verified");
    f.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    let mut input = review_input(4);
    input.dimensions.set(
        crate::community::rating::Dimension::Efficiency,
        Some(Rating::new(5).unwrap()),
    );
    let r = f.vault.submit_review(&buyer, w.id, input).await.unwrap();
    assert!(r.verified_purchase);
    assert_eq!(r.status, ModerationStatus::Pending);
    assert_eq!(
        workflow_of(&f, w.id).await.stats.rating.count(),
        0,
        "pending reviews do not count"
    );
    let dup = f.vault.submit_review(&buyer, w.id, review_input(1)).await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                entity: Entity::Review,
                ..
            })
        ),
        "{dup:?}"
    );
    assert!(matches!(
        f.vault
            .moderate_review(&buyer, r.id, ModerationStatus::Approved, None)
            .await,
        Err(Error::Forbidden { .. })
    ));
    // A pending review is shown to its author and staff only, and only
    // they may delete it; nobody can vote on it yet.
    let stranger = Fixture::user("stranger");
    for (who, seen) in [
        (&Actor::Anonymous, 0),
        (&stranger, 0),
        (&buyer, 1),
        (&f.admin, 1),
    ] {
        assert_eq!(f.vault.reviews(who, w.id).await.unwrap().len(), seen);
    }
    assert!(matches!(
        f.vault.delete_review(&stranger, r.id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault
            .vote_review(&stranger, r.id, Some(Vote::Helpful))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(f.store.review(r.id).await.unwrap().is_some());
    f.vault
        .moderate_review(
            &f.admin,
            r.id,
            ModerationStatus::Approved,
            Some("ok".into()),
        )
        .await
        .unwrap();
    let other = Fixture::user("unverified");
    let r2 = f
        .vault
        .submit_review(&other, w.id, review_input(2))
        .await
        .unwrap();
    assert!(!r2.verified_purchase);
    f.vault
        .moderate_review(&f.admin, r2.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    let summary = f
        .vault
        .rating_summary(&Actor::Anonymous, w.id)
        .await
        .unwrap();
    assert_eq!(summary.count, 2);
    assert_eq!(summary.average, Some(Decimal::from(3)));
    assert_eq!(summary.distribution, [0, 1, 0, 1, 0]);
    assert_eq!(
        summary.dimensions.get("efficiency"),
        Some(&Decimal::from(5))
    );
    // Editing sends it back to moderation: it stops counting.
    f.vault
        .edit_review(&other, r2.id, review_input(5))
        .await
        .unwrap();
    assert_eq!(workflow_of(&f, w.id).await.stats.rating.count(), 1);
    assert!(matches!(
        f.vault.edit_review(&buyer, r2.id, review_input(1)).await,
        Err(Error::Forbidden { .. })
    ));
    // Rejecting and deleting take reviews out.
    f.vault
        .moderate_review(&f.admin, r.id, ModerationStatus::Rejected, None)
        .await
        .unwrap();
    assert_eq!(workflow_of(&f, w.id).await.stats.rating.count(), 0);
    f.vault
        .moderate_review(&f.admin, r2.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    f.vault.delete_review(&other, r2.id).await.unwrap();
    assert_eq!(
        workflow_of(&f, w.id).await.stats.rating,
        RatingAggregate::default()
    );
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].reviews,
        2,
        "a review is new once: approved again after an edit, it counts nothing more"
    );
    // Deleted, it is still counted on the day it was first approved.
    assert_eq!(
        f.vault.check_analytics(&f.admin, day).await.unwrap(),
        vec![]
    );
}

pub async fn review_votes_one_per_user(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("voted", PricingTier::Free, None).await;
    let author = Fixture::user("author");
    let r = f
        .vault
        .submit_review(&author, w.id, review_input(5))
        .await
        .unwrap();
    f.vault
        .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    let v = Fixture::user("voter");
    f.vault
        .vote_review(&v, r.id, Some(Vote::Helpful))
        .await
        .unwrap();
    let after = f
        .vault
        .vote_review(&v, r.id, Some(Vote::Helpful))
        .await
        .unwrap();
    assert_eq!(
        (after.helpful_count, after.not_helpful_count),
        (1, 0),
        "one vote per user"
    );
    let after = f
        .vault
        .vote_review(&v, r.id, Some(Vote::NotHelpful))
        .await
        .unwrap();
    assert_eq!(
        (after.helpful_count, after.not_helpful_count),
        (0, 1),
        "changing a vote moves it"
    );
    f.vault
        .vote_review(&Fixture::user("v2"), r.id, Some(Vote::Helpful))
        .await
        .unwrap();
    let after = f.vault.vote_review(&v, r.id, None).await.unwrap();
    assert_eq!((after.helpful_count, after.not_helpful_count), (1, 0));
    assert!(matches!(
        f.vault
            .vote_review(&author, r.id, Some(Vote::Helpful))
            .await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault
            .vote_review(&Actor::Anonymous, r.id, Some(Vote::Helpful))
            .await,
        Err(Error::Forbidden { .. })
    ));
    // Most helpful first.
    let r2 = f
        .vault
        .submit_review(&Fixture::user("author2"), w.id, review_input(3))
        .await
        .unwrap();
    f.vault
        .moderate_review(&f.admin, r2.id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    for i in 0..5 {
        f.vault
            .vote_review(
                &Fixture::user(&format!("fan{i}")),
                r2.id,
                Some(Vote::Helpful),
            )
            .await
            .unwrap();
    }
    let order: Vec<_> = f
        .vault
        .reviews(&Actor::Anonymous, w.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(order, vec![r2.id, r.id]);
}

pub async fn rating_matches_recompute(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("churned", PricingTier::Free, None).await;
    // A fixed pseudo-random walk of submits, edits, moderations and deletes.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for step in 0..60 {
        let user = Fixture::user(&format!("rater{}", next(8)));
        let existing = f
            .store
            .review_by_user(w.id, user.user_id().unwrap())
            .await
            .unwrap();
        match (existing, next(4)) {
            (None, _) => {
                let r = f
                    .vault
                    .submit_review(&user, w.id, review_input((next(5) + 1) as u8))
                    .await
                    .unwrap();
                if next(2) == 0 {
                    f.vault
                        .moderate_review(&f.admin, r.id, ModerationStatus::Approved, None)
                        .await
                        .unwrap();
                }
            }
            (Some(r), 0) => {
                f.vault
                    .edit_review(&user, r.id, review_input((next(5) + 1) as u8))
                    .await
                    .unwrap();
            }
            (Some(r), 1) => f.vault.delete_review(&user, r.id).await.unwrap(),
            (Some(r), _) => {
                let s = [
                    ModerationStatus::Approved,
                    ModerationStatus::Rejected,
                    ModerationStatus::Flagged,
                ][next(3) as usize];
                f.vault
                    .moderate_review(&f.admin, r.id, s, None)
                    .await
                    .unwrap();
            }
        }
        let approved = f
            .store
            .reviews_for_workflow(w.id, &[ModerationStatus::Approved])
            .await
            .unwrap();
        let contributions: Vec<_> = approved.iter().filter_map(|r| r.contribution()).collect();
        let fresh = RatingAggregate::recompute(&contributions);
        assert_eq!(
            workflow_of(&f, w.id).await.stats.rating,
            fresh,
            "step {step}"
        );
    }
}

pub async fn favorites_unique_and_counted(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("liked", PricingTier::Free, None).await;
    let user = Fixture::user("fan");
    let fav = f
        .vault
        .add_favorite(
            &user,
            w.id,
            Some("try on Monday".into()),
            parse_tags(&["later"]).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(workflow_of(&f, w.id).await.stats.favorite_count, 1);
    let dup = f.vault.add_favorite(&user, w.id, None, vec![]).await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                entity: Entity::Favorite,
                ..
            })
        ),
        "{dup:?}"
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.favorite_count, 1);
    assert_eq!(
        f.vault
            .favorites(&user, user.user_id().unwrap())
            .await
            .unwrap(),
        vec![fav]
    );
    assert!(f.vault.remove_favorite(&user, w.id).await.unwrap());
    assert!(!f.vault.remove_favorite(&user, w.id).await.unwrap());
    assert_eq!(workflow_of(&f, w.id).await.stats.favorite_count, 0);
    assert!(matches!(
        f.vault
            .add_favorite(&Actor::Anonymous, w.id, None, vec![])
            .await,
        Err(Error::Forbidden { .. })
    ));
}

pub async fn favorites_are_edited_and_listed_by_tag(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (a, _) = f.workflow("crm-sync", PricingTier::Free, None).await;
    let (b, _) = f.workflow("invoice-sync", PricingTier::Free, None).await;
    let (c, _) = f.workflow("lead-router", PricingTier::Free, None).await;
    let fan = Fixture::user("fan");
    let tags = |t: &[&str]| parse_tags(t).unwrap();
    for (w, t) in [
        (a.id, tags(&["crm"])),
        (b.id, tags(&["later"])),
        (c.id, tags(&[])),
    ] {
        f.vault.add_favorite(&fan, w, None, t).await.unwrap();
        f.advance(chrono::Duration::seconds(1));
    }
    let before = workflow_of(&f, b.id).await.stats.favorite_count;
    let edited = f
        .vault
        .edit_favorite(
            &fan,
            b.id,
            Some("for the CRM move".into()),
            tags(&["crm", "later", "crm"]),
        )
        .await
        .unwrap();
    assert_eq!(edited.tags, tags(&["crm", "later"]));
    assert_eq!(
        workflow_of(&f, b.id).await.stats.favorite_count,
        before,
        "an edit counts nothing"
    );
    let me = fan.user_id().unwrap();
    let all = f.vault.favorites(&fan, me).await.unwrap();
    let ids: Vec<_> = all.iter().map(|x| x.workflow_id).collect();
    assert_eq!(
        ids,
        [c.id, b.id, a.id],
        "newest first, the edit moves nothing"
    );
    let stored = all.iter().find(|x| x.workflow_id == b.id).unwrap();
    assert_eq!(
        stored, &edited,
        "the note and tags are stored, the creation time kept"
    );
    let crm = f
        .vault
        .favorites_tagged(&fan, me, &tags(&["crm"])[0])
        .await
        .unwrap();
    let ids: Vec<_> = crm.iter().map(|x| x.workflow_id).collect();
    assert_eq!(ids, [b.id, a.id]);
    let later = f
        .vault
        .favorites_tagged(&fan, me, &tags(&["later"])[0])
        .await
        .unwrap();
    assert_eq!(later, std::slice::from_ref(&edited));
    assert!(
        f.vault
            .favorites_tagged(&fan, me, &tags(&["nothing"])[0])
            .await
            .unwrap()
            .is_empty()
    );
    // Another user's tags never show: the filter is per user.
    let other = Fixture::user("other");
    f.vault
        .add_favorite(&other, c.id, None, tags(&["crm"]))
        .await
        .unwrap();
    assert_eq!(
        f.vault
            .favorites_tagged(&fan, me, &tags(&["crm"])[0])
            .await
            .unwrap()
            .len(),
        2
    );
    // Clearing the tags takes the favorite out of every tag's list.
    f.vault
        .edit_favorite(&fan, a.id, None, vec![])
        .await
        .unwrap();
    assert_eq!(
        f.vault
            .favorites_tagged(&fan, me, &tags(&["crm"])[0])
            .await
            .unwrap(),
        [edited]
    );
    // Refused edits write nothing and say why.
    let missing = f.vault.edit_favorite(&other, a.id, None, vec![]).await;
    assert!(
        matches!(
            missing,
            Err(Error::NotFound {
                entity: Entity::Favorite,
                ..
            })
        ),
        "{missing:?}"
    );
    let long = f
        .vault
        .edit_favorite(&fan, b.id, Some("x".repeat(2001)), vec![])
        .await;
    assert!(
        matches!(&long, Err(Error::Invalid(e)) if e.field() == "note"),
        "{long:?}"
    );
    assert!(matches!(
        f.vault
            .edit_favorite(&Actor::Anonymous, b.id, None, vec![])
            .await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault
            .favorites_tagged(&other, me, &tags(&["crm"])[0])
            .await,
        Err(Error::Forbidden { .. })
    ));
    let kept = f.vault.favorites(&fan, me).await.unwrap();
    assert_eq!(
        kept.iter()
            .find(|x| x.workflow_id == b.id)
            .unwrap()
            .note
            .as_deref(),
        Some("for the CRM move")
    );
}
