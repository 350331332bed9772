//! The community's part of the storage contract (see [`crate::store`] for
//! what every backend guarantees): reviews, votes and favorites.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::audit::entry::AuditEntry;
use crate::community::favorite::Favorite;
use crate::community::rating::RatingDelta;
use crate::community::review::{ModerationStatus, Review, Vote};
use crate::community::review_query::{ReviewCursor, ReviewQuery};
use crate::value::actor::UserId;
use crate::value::delta::AnalyticsDelta;
use crate::value::error::StoreResult;
use crate::value::ids::{ReviewId, WorkflowId};
use crate::value::keyset::Page;
use crate::value::tag::Tag;

/// Reviews, votes and favorites.
#[async_trait]
pub trait CommunityStore: Send + Sync + Debug {
    /// Inserts a review and applies `delta` to the workflow's rating
    /// aggregate. `AlreadyExists` for a second review by the same user.
    async fn insert_review(
        &self,
        review: &Review,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
    ) -> StoreResult<()>;
    /// Replaces a review if its stored revision is `expected_revision`, and
    /// applies `delta` to the aggregate (not the vote counts, which are
    /// maintained by [`CommunityStore::set_vote`]). A moderation carries its
    /// `audit` entry, written last in the same transaction.
    async fn update_review(
        &self,
        review: &Review,
        expected_revision: u64,
        delta: &RatingDelta,
        analytics: Option<&AnalyticsDelta>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// Deletes a review (and its votes) if its revision is
    /// `expected_revision`, applying `delta`.
    async fn delete_review(
        &self,
        id: ReviewId,
        expected_revision: u64,
        delta: &RatingDelta,
    ) -> StoreResult<()>;
    /// One review.
    async fn review(&self, id: ReviewId) -> StoreResult<Option<Review>>;
    /// A user's review of a workflow.
    async fn review_by_user(
        &self,
        workflow: WorkflowId,
        user: &UserId,
    ) -> StoreResult<Option<Review>>;
    /// A workflow's reviews in any of `statuses` (empty: all), by id.
    async fn reviews_for_workflow(
        &self,
        workflow: WorkflowId,
        statuses: &[ModerationStatus],
    ) -> StoreResult<Vec<Review>>;
    /// One page of reviews across every workflow, as
    /// [`run_review_query`](crate::community::review_query::run_review_query)
    /// defines it. `Invalid` for a query [`ReviewQuery::validate`] refuses.
    async fn list_reviews(&self, query: &ReviewQuery) -> StoreResult<Page<Review, ReviewCursor>>;
    /// Sets (or with `None` clears) `user`'s vote on a review, adjusting the
    /// review's helpful counts in the same transaction. Returns the previous
    /// vote. `NotFound` for a missing review.
    async fn set_vote(
        &self,
        review: ReviewId,
        user: &UserId,
        vote: Option<Vote>,
    ) -> StoreResult<Option<Vote>>;

    /// Adds a favorite, the workflow's `favorite_count` and `analytics`.
    /// `AlreadyExists` when already favorited.
    async fn insert_favorite(
        &self,
        favorite: &Favorite,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()>;
    /// Removes a favorite and decrements the count; false when there was none.
    async fn delete_favorite(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool>;
    /// Replaces the note and tags of the favorite of `favorite.user_id` on
    /// `favorite.workflow_id`, keeping its creation time; `NotFound` when
    /// there is none. Counters do not move.
    async fn update_favorite(&self, favorite: &Favorite) -> StoreResult<()>;
    /// A user's favorites, newest first; with a `tag`, only those that
    /// carry it.
    async fn favorites_for_user(
        &self,
        user: &UserId,
        tag: Option<&Tag>,
    ) -> StoreResult<Vec<Favorite>>;
}
