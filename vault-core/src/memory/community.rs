//! The community in memory: reviews, votes, favorites.

use async_trait::async_trait;

use super::{MemoryStore, RATING_MISMATCH, REVISION_MOVED, State, newest_first};
use crate::audit::entry::AuditEntry;
use crate::community::favorite::Favorite;
use crate::community::rating::{RatingAggregate, RatingDelta};
use crate::community::review::{ModerationStatus, Review, Vote};
use crate::community::review_query::{ReviewCursor, ReviewQuery, run_review_query};
use crate::insight::analytics::AnalyticsDelta;
use crate::store::CommunityStore;
use crate::value::actor::UserId;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{ReviewId, WorkflowId};
use crate::value::keyset::Page;
use crate::value::tag::Tag;

/// The count a vote adds to.
fn vote_count(review: &mut Review, vote: Vote) -> &mut u64 {
    match vote {
        Vote::Helpful => &mut review.helpful_count,
        Vote::NotHelpful => &mut review.not_helpful_count,
    }
}

impl State {
    fn review(&self, id: ReviewId) -> StoreResult<&Review> {
        self.reviews
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Review, id))
    }

    /// The workflow's rating after `delta`; `Conflict` when the delta was
    /// computed against review states the aggregate does not contain.
    fn rated(&self, workflow: WorkflowId, delta: &RatingDelta) -> StoreResult<RatingAggregate> {
        self.workflow(workflow)?
            .stats
            .rating
            .apply(delta)
            .map_err(|_| StoreError::conflict(Entity::Workflow, workflow, RATING_MISMATCH))
    }

    fn set_rating(&mut self, workflow: WorkflowId, rating: RatingAggregate) {
        if let Some(w) = self.workflows.get_mut(&workflow) {
            w.stats.rating = rating;
        }
    }

    fn insert_review(
        &mut self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        if self.reviews.contains_key(&review.id) {
            return Err(StoreError::exists(Entity::Review, review.id));
        }
        self.workflow(review.workflow_id)?;
        if self
            .review_by(review.workflow_id, &review.user_id)
            .is_some()
        {
            return Err(StoreError::exists(
                Entity::Review,
                format!("{}/{}", review.workflow_id, review.user_id),
            ));
        }
        let rating = self.rated(review.workflow_id, delta)?;
        self.check_analytics(analytics)?;

        self.set_rating(review.workflow_id, rating);
        self.put_review(review.clone());
        if let Some(d) = analytics {
            self.apply_analytics(d)?;
        }
        Ok(())
    }

    fn update_review(
        &mut self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        let stored = self.review(review.id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Review,
                review.id,
                REVISION_MOVED,
            ));
        }
        let rating = self.rated(stored.workflow_id, delta)?;
        self.check_analytics(analytics)?;

        let mut next = review.clone();
        // Its workflow and author are what the review is; one delta cannot
        // move it between two aggregates.
        next.workflow_id = stored.workflow_id;
        next.user_id = stored.user_id.clone();
        next.helpful_count = stored.helpful_count;
        next.not_helpful_count = stored.not_helpful_count;
        self.set_rating(next.workflow_id, rating);
        self.put_review(next);
        if let Some(d) = analytics {
            self.apply_analytics(d)?;
        }
        Ok(())
    }

    fn delete_review(
        &mut self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()> {
        let stored = self.review(id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(Entity::Review, id, REVISION_MOVED));
        }
        let workflow = stored.workflow_id;
        let rating = self.rated(workflow, delta)?;

        self.set_rating(workflow, rating);
        self.remove_review(id);
        self.votes.retain(|(review, _), _| *review != id);
        Ok(())
    }

    fn set_vote(
        &mut self,
        review: ReviewId,
        user: &UserId,
        vote: Option<Vote>,
    ) -> StoreResult<Option<Vote>> {
        self.review(review)?;
        let key = (review, user.clone());
        let previous = match vote {
            Some(v) => self.votes.insert(key, v),
            None => self.votes.remove(&key),
        };
        if let Some(r) = self.reviews.get_mut(&review) {
            if let Some(p) = previous {
                let count = vote_count(r, p);
                *count = count.saturating_sub(1);
            }
            if let Some(v) = vote {
                let count = vote_count(r, v);
                *count = count.saturating_add(1);
            }
        }
        Ok(previous)
    }

    fn insert_favorite(
        &mut self,
        favorite: &Favorite,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        self.workflow(favorite.workflow_id)?;
        let key = (favorite.user_id.clone(), favorite.workflow_id);
        if self.favorites.contains_key(&key) {
            return Err(StoreError::exists(
                Entity::Favorite,
                format!("{}/{}", favorite.user_id, favorite.workflow_id),
            ));
        }
        self.check_analytics([analytics])?;

        self.favorites.insert(key, favorite.clone());
        self.favorite_adds
            .push((favorite.workflow_id, favorite.created_at));
        if let Some(w) = self.workflows.get_mut(&favorite.workflow_id) {
            w.stats.favorite_count = w.stats.favorite_count.saturating_add(1);
        }
        self.apply_analytics(analytics)?;
        Ok(())
    }

    fn delete_favorite(&mut self, user: &UserId, workflow: WorkflowId) -> bool {
        if self.favorites.remove(&(user.clone(), workflow)).is_none() {
            return false;
        }
        if let Some(w) = self.workflows.get_mut(&workflow) {
            w.stats.favorite_count = w.stats.favorite_count.saturating_sub(1);
        }
        true
    }

    fn update_favorite(&mut self, favorite: &Favorite) -> StoreResult<()> {
        let key = (favorite.user_id.clone(), favorite.workflow_id);
        let stored = self.favorites.get_mut(&key).ok_or_else(|| {
            StoreError::not_found(
                Entity::Favorite,
                format!("{}/{}", favorite.user_id, favorite.workflow_id),
            )
        })?;
        stored.note.clone_from(&favorite.note);
        stored.tags.clone_from(&favorite.tags);
        Ok(())
    }

    fn favorites_for_user(&self, user: &UserId, tag: Option<&Tag>) -> Vec<Favorite> {
        let mut found: Vec<&Favorite> = self
            .favorites
            .values()
            .filter(|f| f.user_id == *user && tag.is_none_or(|t| f.carries(t)))
            .collect();
        found.sort_by(|a, b| {
            newest_first((a.created_at, a.workflow_id), (b.created_at, b.workflow_id))
        });
        found.into_iter().cloned().collect()
    }
}

#[async_trait]
impl CommunityStore for MemoryStore {
    async fn insert_review(
        &self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()> {
        self.write(|s| s.insert_review(review, delta, analytics))
    }

    async fn update_review(
        &self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        self.audited(audit, |s| {
            s.update_review(review, expected_revision, delta, analytics)
        })
    }

    async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()> {
        self.write(|s| s.delete_review(id, expected_revision, delta))
    }

    async fn review(&self, id: ReviewId) -> StoreResult<Option<Review>> {
        Ok(self.lock().reviews.get(&id).cloned())
    }

    async fn review_by_user(
        &self,
        workflow: WorkflowId,
        user: &UserId,
    ) -> StoreResult<Option<Review>> {
        Ok(self.lock().review_by(workflow, user).cloned())
    }

    async fn reviews_for_workflow(
        &self,
        workflow: WorkflowId,
        statuses: &[ModerationStatus],
    ) -> StoreResult<Vec<Review>> {
        Ok(self
            .lock()
            .reviews_of(workflow)
            .filter(|r| statuses.is_empty() || statuses.contains(&r.status))
            .cloned()
            .collect())
    }

    // Every review is read: the memory store keeps no index by author or
    // status, and a test's few hundred reviews do not need one.
    async fn list_reviews(&self, query: &ReviewQuery) -> StoreResult<Page<Review, ReviewCursor>> {
        query.validate()?;
        Ok(run_review_query(query, self.lock().reviews.values()))
    }

    async fn set_vote(
        &self,
        review: ReviewId,
        user: &UserId,
        vote: Option<Vote>,
    ) -> StoreResult<Option<Vote>> {
        self.write(|s| s.set_vote(review, user, vote))
    }

    async fn insert_favorite(
        &self,
        favorite: &Favorite,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        self.write(|s| s.insert_favorite(favorite, analytics))
    }

    async fn delete_favorite(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        Ok(self.write(|s| s.delete_favorite(user, workflow)))
    }

    async fn update_favorite(&self, favorite: &Favorite) -> StoreResult<()> {
        self.write(|s| s.update_favorite(favorite))
    }

    async fn favorites_for_user(
        &self,
        user: &UserId,
        tag: Option<&Tag>,
    ) -> StoreResult<Vec<Favorite>> {
        Ok(self.lock().favorites_for_user(user, tag))
    }
}
