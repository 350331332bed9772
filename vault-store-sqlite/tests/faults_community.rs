//! Atomicity under injected faults: the writes of the community
//! (`src/community.rs`, `src/comment.rs`): reviews, their moderation, votes,
//! favorites and comment likes.
//!
//! Each test goes through `Env::fault` (`common/faults.rs`): arm a step, run
//! the operation through it, check it failed there leaving the whole
//! database exactly as before, then that it succeeds. `faults_steps.rs`
//! checks every step has a test.
#![allow(clippy::unwrap_used)]

mod common;

use vault_core::catalog::workflow::parse_tags;
use vault_core::community::rating::RatingDelta;
use vault_core::community::review::{ModerationStatus, Vote};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::testkit::Fixture;
use vault_core::value::tier::PricingTier;

use crate::common::assert_same;
use crate::common::faults::{Env, assert_injected, review_input};

#[tokio::test(flavor = "multi_thread")]
async fn submitting_and_moderating_reviews_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("reviewed", PricingTier::Free, None).await;
    let stars = "SELECT stars_4 FROM workflows WHERE id = ?1";
    let mut reviews = Vec::new();
    for (i, step) in ["insert_review:after_row", "insert_review:after_rating"]
        .into_iter()
        .enumerate()
    {
        let author = Fixture::user(&format!("author-{i}"));
        reviews.push(
            env.fault(step, async || {
                env.fx
                    .vault
                    .submit_review(&author, w.id, review_input(4))
                    .await
            })
            .await,
        );
    }
    // Approving moves the aggregate and the analytics in the same write.
    for (r, step) in reviews
        .iter()
        .zip(["update_review:after_row", "update_review:after_rating"])
    {
        env.fault(step, async || {
            env.fx
                .vault
                .moderate_review(env.admin(), r.id, ModerationStatus::Approved, None)
                .await
        })
        .await;
    }
    let approve_analytics = reviews.len() as i64;
    assert_eq!(env.scalar(stars, w.id), 2);
    // An edit takes it out of the rating again.
    env.fault("update_review:after_rating", async || {
        env.fx
            .vault
            .edit_review(&Fixture::user("author-0"), reviews[0].id, review_input(2))
            .await
    })
    .await;
    assert_eq!(env.scalar(stars, w.id), 1);
    // Re-approving counts nothing more (a review is new once); a first
    // approval's analytics row and approval row commit with it or not at
    // all: the analytics row's write fails last.
    env.fx
        .vault
        .moderate_review(env.admin(), reviews[0].id, ModerationStatus::Approved, None)
        .await
        .unwrap();
    let third = env
        .fx
        .vault
        .submit_review(&Fixture::user("author-2"), w.id, review_input(2))
        .await
        .unwrap();
    env.fault("apply_delta:after_row", async || {
        env.fx
            .vault
            .moderate_review(env.admin(), third.id, ModerationStatus::Approved, None)
            .await
    })
    .await;
    assert_eq!(
        env.scalar(
            "SELECT SUM(reviews) FROM workflow_analytics WHERE workflow_id = ?1",
            w.id
        ),
        approve_analytics + 1
    );
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM workflow_review_approvals WHERE workflow_id = ?1",
            w.id
        ),
        approve_analytics + 1
    );
    assert_eq!(
        env.scalar(
            "SELECT stars_2 + stars_4 FROM workflows WHERE id = ?1",
            w.id
        ),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn store_insert_of_an_approved_review_is_atomic() {
    // The Vault always inserts pending reviews (a zero delta); the store
    // contract also takes an approved one with its delta and analytics.
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("imported", PricingTier::Free, None).await;
    let pending = env
        .fx
        .vault
        .submit_review(&Fixture::user("someone"), w.id, review_input(5))
        .await
        .unwrap();
    let mut r = pending.clone();
    r.id = vault_core::value::ids::ReviewId::from_uuid(uuid::Uuid::new_v4());
    r.user_id = vault_core::value::actor::UserId::parse("importer").unwrap();
    r.status = ModerationStatus::Approved;
    let delta = RatingDelta::between(None, r.contribution().as_ref());
    assert!(!delta.is_zero());
    let mut analytics = AnalyticsDelta::none(w.id, r.created_at);
    analytics.reviews = 1;
    for step in [
        "insert_review:after_row",
        "insert_review:after_rating",
        "apply_delta:after_row",
    ] {
        let before = env.snapshot();
        env.store.fail_at(step);
        let failed = env
            .fx
            .store
            .insert_review(&r, &delta, Some(&analytics))
            .await
            .map_err(vault_core::Error::from);
        assert_injected(&failed, step);
        assert_same(
            &before,
            &env.snapshot(),
            &format!("a write failed at {step} but it"),
        );
    }
    env.fx
        .store
        .insert_review(&r, &delta, Some(&analytics))
        .await
        .unwrap();
    assert_eq!(
        env.scalar("SELECT stars_5 FROM workflows WHERE id = ?1", w.id),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_review_is_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("reviewed", PricingTier::Free, None).await;
    for (i, step) in ["delete_review:after_votes", "delete_review:after_row"]
        .into_iter()
        .enumerate()
    {
        let author = Fixture::user(&format!("author-{i}"));
        let r = env.approved_review(w.id, &author, 3).await;
        for voter in ["v1", "v2"] {
            env.fx
                .vault
                .vote_review(&Fixture::user(voter), r.id, Some(Vote::Helpful))
                .await
                .unwrap();
        }
        assert_eq!(
            env.scalar("SELECT stars_3 FROM workflows WHERE id = ?1", w.id),
            1
        );
        env.fault(step, async || {
            env.fx.vault.delete_review(&author, r.id).await
        })
        .await;
        assert_eq!(
            env.scalar("SELECT stars_3 FROM workflows WHERE id = ?1", w.id),
            0
        );
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM workflow_review_votes WHERE review_id = ?1",
                r.id
            ),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn votes_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("reviewed", PricingTier::Free, None).await;
    let r = env.approved_review(w.id, &Fixture::user("author"), 5).await;
    let voter = Fixture::user("voter");
    let counts = |env: &Env| {
        (
            env.scalar(
                "SELECT helpful_count FROM workflow_reviews WHERE id = ?1",
                r.id,
            ),
            env.scalar(
                "SELECT not_helpful_count FROM workflow_reviews WHERE id = ?1",
                r.id,
            ),
        )
    };
    // A first vote: the vote row, then the counter.
    env.fault("set_vote:after_row", async || {
        env.fx
            .vault
            .vote_review(&voter, r.id, Some(Vote::Helpful))
            .await
    })
    .await;
    assert_eq!(counts(&env), (1, 0));
    // A changed vote: the old counter down, the row, the new counter up.
    env.fault("set_vote:after_withdraw", async || {
        env.fx
            .vault
            .vote_review(&voter, r.id, Some(Vote::NotHelpful))
            .await
    })
    .await;
    assert_eq!(counts(&env), (0, 1));
    env.fault("set_vote:after_row", async || {
        env.fx
            .vault
            .vote_review(&voter, r.id, Some(Vote::Helpful))
            .await
    })
    .await;
    assert_eq!(counts(&env), (1, 0));
    // A withdrawn vote: the counter down, then the row goes.
    env.fault("set_vote:after_row", async || {
        env.fx.vault.vote_review(&voter, r.id, None).await
    })
    .await;
    assert_eq!(counts(&env), (0, 0));
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM workflow_review_votes WHERE review_id = ?1",
            r.id
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn favorites_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("liked", PricingTier::Free, None).await;
    let favorites = "SELECT favorite_count FROM workflows WHERE id = ?1";
    for (i, step) in [
        "insert_favorite:after_row",
        "insert_favorite:after_counter",
        "apply_delta:after_row",
    ]
    .into_iter()
    .enumerate()
    {
        let fan = Fixture::user(&format!("fan-{i}"));
        env.fault(step, async || {
            env.fx
                .vault
                .add_favorite(
                    &fan,
                    w.id,
                    Some("note".into()),
                    parse_tags(&["later"]).unwrap(),
                )
                .await
        })
        .await;
        assert_eq!(env.scalar(favorites, w.id), i as i64 + 1);
    }
    let removed = env
        .fault("delete_favorite:after_row", async || {
            env.fx
                .vault
                .remove_favorite(&Fixture::user("fan-0"), w.id)
                .await
        })
        .await;
    assert!(removed);
    assert_eq!(env.scalar(favorites, w.id), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn comment_likes_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("discussed", PricingTier::Free, None).await;
    let c = env
        .fx
        .vault
        .post_comment(&Fixture::user("author"), w.id, None, "first".into())
        .await
        .unwrap();
    let fan = Fixture::user("fan");
    let likes = |env: &Env| {
        (
            env.scalar("SELECT likes_count FROM comments WHERE id = ?1", c.id),
            env.scalar(
                "SELECT COUNT(*) FROM comment_likes WHERE comment_id = ?1",
                c.id,
            ),
        )
    };
    // The like row, then the count: neither without the other.
    env.fault("set_comment_like:after_row", async || {
        env.fx.vault.like_comment(&fan, c.id).await
    })
    .await;
    assert_eq!(likes(&env), (1, 1));
    env.fault("set_comment_like:after_row", async || {
        env.fx.vault.unlike_comment(&fan, c.id).await
    })
    .await;
    assert_eq!(likes(&env), (0, 0));
}
