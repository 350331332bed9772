//! Reviews, helpfulness votes and favorites.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Vault;
use crate::audit::entry::{AuditAction, AuditValue};
use crate::catalog::workflow::Tag;
use crate::community::favorite::Favorite;
use crate::community::rating::{Dimension, RatingAggregate, RatingDelta};
use crate::community::review::{ModerationStatus, Review, ReviewInput, Vote};
use crate::community::review_query::{ReviewCursor, ReviewQuery};
use crate::insight::analytics::AnalyticsDelta;
use crate::store::Store;
use crate::value::actor::{Actor, UserId};
use crate::value::error::{Entity, Error, Result};
use crate::value::ids::{ReviewId, WorkflowId};
use crate::value::keyset::Page;
use crate::value::validation::check_text;
use crate::vault::authz::{require_own_listing, require_self_or_staff, require_user};

/// A workflow's rating, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingSummary {
    /// The raw aggregate.
    pub aggregate: RatingAggregate,
    /// Approved reviews.
    pub count: u64,
    /// Mean, two places (`None` without reviews).
    pub average: Option<Decimal>,
    /// Bayesian mean with the vault's prior, two places.
    pub bayesian: Option<Decimal>,
    /// Reviews per star, one to five.
    pub distribution: [u64; 5],
    /// Mean per W.E.D.G.E. dimension, two places.
    pub dimensions: BTreeMap<String, Decimal>,
}

fn two_places(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

impl<S: Store + ?Sized> Vault<S> {
    /// Submits the actor's review of a workflow, pending moderation. One per
    /// user per workflow; `verified_purchase` is set when the reviewer has a
    /// paid purchase covering it.
    pub async fn submit_review(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        input: ReviewInput,
    ) -> Result<Review> {
        let span = tracing::info_span!("vault.submit_review", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "submit_review")?.clone();
            input.validate()?;
            self.workflow(actor, workflow).await?;
            let verified = self
                .store
                .purchases_covering(&user, workflow)
                .await?
                .iter()
                .any(|p| p.status.is_paid());
            let now = self.now();
            let review = Review::submitted(
                ReviewId::from_uuid(self.uuid()),
                workflow,
                user,
                input,
                verified,
                now,
            );
            self.writes
                .insert_review(&review, &RatingDelta::default(), None)
                .await?;
            Ok(review)
        })
        .await
    }

    async fn load_review(&self, id: ReviewId) -> Result<Review> {
        self.store.review(id).await?.ok_or_else(|| Error::NotFound {
            entity: Entity::Review,
            key: id.to_string(),
        })
    }

    /// Edits the actor's own review. The edit goes back to moderation, so an
    /// approved review stops counting until approved again.
    pub async fn edit_review(
        &self,
        actor: &Actor,
        id: ReviewId,
        input: ReviewInput,
    ) -> Result<Review> {
        let span = tracing::info_span!("vault.edit_review", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            input.validate()?;
            let current = self.load_review(id).await?;
            if actor.user_id() != Some(&current.user_id) {
                return Err(Error::Forbidden {
                    action: "edit_review",
                    reason: "only the author may edit a review",
                });
            }
            let mut next = current.clone();
            next.input = input;
            next.status = ModerationStatus::Pending;
            next.updated_at = self.now();
            next.revision = current.revision + 1;
            let delta = RatingDelta::between(
                current.contribution().as_ref(),
                next.contribution().as_ref(),
            );
            self.writes
                .update_review(&next, current.revision, &delta, None, None)
                .await?;
            Ok(next)
        })
        .await
    }

    /// Deletes a review (its author or staff), taking it out of the rating.
    pub async fn delete_review(&self, actor: &Actor, id: ReviewId) -> Result<()> {
        let span = tracing::info_span!(
            "vault.delete_review",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            let current = self.load_review(id).await?;
            require_self_or_staff(actor, &current.user_id, "delete_review")?;
            let delta = RatingDelta::between(current.contribution().as_ref(), None);
            self.writes
                .delete_review(id, current.revision, &delta)
                .await?;
            Ok(())
        })
        .await
    }

    /// Moderates a review (admins and the service). Approving makes it count
    /// toward the rating; any other status takes it out. The aggregate
    /// changes in the same write.
    pub async fn moderate_review(
        &self,
        actor: &Actor,
        id: ReviewId,
        status: ModerationStatus,
        note: Option<String>,
    ) -> Result<Review> {
        let span = tracing::info_span!("vault.moderate_review", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            if !actor.is_privileged() {
                return Err(Error::Forbidden {
                    action: "moderate_review",
                    reason: "moderation is for admins",
                });
            }
            if let Some(n) = &note {
                check_text("moderation_note", n, false, 2000)?;
            }
            let current = self.load_review(id).await?;
            let now = self.now();
            let (next, first_approval) =
                current.moderated(status, actor.user_id().cloned(), note, now);
            let delta = RatingDelta::between(
                current.contribution().as_ref(),
                next.contribution().as_ref(),
            );
            let analytics = first_approval.then(|| {
                let mut d = AnalyticsDelta::none(current.workflow_id, now);
                d.reviews = 1;
                d
            });
            let audit = self
                .audit(actor, AuditAction::ReviewModerated, Entity::Review, next.id)?
                .with("status", AuditValue::Word(status.as_str()))?
                .with("workflow", AuditValue::Id(next.workflow_id.as_uuid()))?;
            self.writes
                .update_review(
                    &next,
                    current.revision,
                    &delta,
                    analytics.as_ref(),
                    Some(&audit),
                )
                .await?;
            Ok(next)
        })
        .await
    }

    /// Votes a review helpful or not (`None` withdraws the vote). One vote
    /// per user; voting on one's own review is refused.
    pub async fn vote_review(
        &self,
        actor: &Actor,
        id: ReviewId,
        vote: Option<Vote>,
    ) -> Result<Review> {
        let span = tracing::info_span!("vault.vote_review", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "vote_review")?;
            let review = self.load_review(id).await?;
            if &review.user_id == user {
                return Err(Error::Forbidden {
                    action: "vote_review",
                    reason: "authors cannot vote on their own review",
                });
            }
            if review.status != ModerationStatus::Approved {
                return Err(Error::NotFound {
                    entity: Entity::Review,
                    key: id.to_string(),
                });
            }
            self.writes.set_vote(id, user, vote).await?;
            self.load_review(id).await
        })
        .await
    }

    /// One page of reviews across every workflow: a user's own (their
    /// dashboard, `query.user` naming them) or, for staff, anyone's, e.g.
    /// the moderation queue ([`ReviewQuery::queue`]). A user asking for
    /// someone else's, or for everyone's, and an anonymous caller are
    /// `Forbidden`. Reviews of drafts and deleted workflows are listed too:
    /// staff moderate them, and they are the user's own.
    pub async fn list_reviews(
        &self,
        actor: &Actor,
        query: &ReviewQuery,
    ) -> Result<Page<Review, ReviewCursor>> {
        let span = tracing::info_span!(
            "vault.list_reviews",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_own_listing(actor, query.user.as_ref(), "list_reviews")?;
            query.validate()?;
            Ok(self.store.list_reviews(query).await?)
        })
        .await
    }

    /// A workflow's reviews, most helpful first (Wilson lower bound, then
    /// newest). Non-staff see approved reviews plus their own.
    pub async fn reviews(&self, actor: &Actor, workflow: WorkflowId) -> Result<Vec<Review>> {
        let span = tracing::info_span!("vault.reviews", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.workflow(actor, workflow).await?;
            let mut all = self.store.reviews_for_workflow(workflow, &[]).await?;
            all.retain(|r| {
                actor.is_privileged()
                    || r.status == ModerationStatus::Approved
                    || actor.user_id() == Some(&r.user_id)
            });
            all.sort_by(|a, b| {
                b.helpfulness()
                    .cmp(&a.helpfulness())
                    .then(b.created_at.cmp(&a.created_at))
                    .then(a.id.cmp(&b.id))
            });
            Ok(all)
        })
        .await
    }

    /// A workflow's rating summary.
    pub async fn rating_summary(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
    ) -> Result<RatingSummary> {
        let span = tracing::info_span!("vault.rating_summary", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let w = self.workflow(actor, workflow).await?;
            let agg = w.stats.rating;
            let dimensions = Dimension::ALL
                .iter()
                .filter_map(|d| {
                    agg.dimension_average(*d).map(|avg| {
                        let name = serde_json::to_value(d)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default();
                        (name, two_places(avg))
                    })
                })
                .collect();
            Ok(RatingSummary {
                aggregate: agg,
                count: agg.count(),
                average: agg.average_display(),
                bayesian: agg.bayesian(&self.config.rating_prior).map(two_places),
                distribution: agg.distribution(),
                dimensions,
            })
        })
        .await
    }

    /// Bookmarks a workflow for the actor, with a private note and tags.
    pub async fn add_favorite(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        note: Option<String>,
        tags: Vec<Tag>,
    ) -> Result<Favorite> {
        let span = tracing::info_span!("vault.add_favorite", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "add_favorite")?.clone();
            self.workflow(actor, workflow).await?;
            let now = self.now();
            let fav = Favorite {
                user_id: user,
                workflow_id: workflow,
                note,
                tags,
                created_at: now,
            };
            fav.validate()?;
            let mut d = AnalyticsDelta::none(workflow, now);
            d.favorites = 1;
            self.writes.insert_favorite(&fav, &d).await?;
            Ok(fav)
        })
        .await
    }

    /// Removes the actor's bookmark; false when there was none.
    pub async fn remove_favorite(&self, actor: &Actor, workflow: WorkflowId) -> Result<bool> {
        let span = tracing::info_span!("vault.remove_favorite", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "remove_favorite")?;
            Ok(self.writes.delete_favorite(user, workflow).await?)
        })
        .await
    }

    /// Replaces the note and tags of the actor's bookmark of `workflow`
    /// (each tag kept once); `NotFound` when the actor has not bookmarked it.
    pub async fn edit_favorite(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        note: Option<String>,
        tags: Vec<Tag>,
    ) -> Result<Favorite> {
        let span = tracing::info_span!("vault.edit_favorite", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "edit_favorite")?;
            let current = self
                .store
                .favorites_for_user(user, None)
                .await?
                .into_iter()
                .find(|f| f.workflow_id == workflow)
                .ok_or_else(|| Error::NotFound {
                    entity: Entity::Favorite,
                    key: format!("{user}/{workflow}"),
                })?;
            let next = current.edited(note, tags)?;
            self.writes.update_favorite(&next).await?;
            Ok(next)
        })
        .await
    }

    /// A user's favorites, newest first (the user or staff).
    pub async fn favorites(&self, actor: &Actor, user: &UserId) -> Result<Vec<Favorite>> {
        let span = tracing::info_span!("vault.favorites", actor = actor.kind(), user = %user, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "favorites")?;
            Ok(self.store.favorites_for_user(user, None).await?)
        })
        .await
    }

    /// A user's favorites that carry `tag`, newest first (the user or staff).
    pub async fn favorites_tagged(
        &self,
        actor: &Actor,
        user: &UserId,
        tag: &Tag,
    ) -> Result<Vec<Favorite>> {
        let span = tracing::info_span!("vault.favorites_tagged", actor = actor.kind(), user = %user, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "favorites_tagged")?;
            Ok(self.store.favorites_for_user(user, Some(tag)).await?)
        })
        .await
    }
}
