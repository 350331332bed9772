//! The comments' part of the storage contract (see [`crate::store`] for
//! what every backend guarantees): threaded comments and their likes.
//!
//! As with webhooks, core decides and a backend reads and writes: before
//! inserting a reply a backend reads its parent inside the write's
//! transaction and hands both to [`check_reply`], so every backend refuses
//! the same replies for the same reasons.

use crate::audit::entry::AuditEntry;
use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::community::comment::{Comment, MAX_DEPTH};
use crate::community::comment_feed::CommentFeedQuery;
use crate::community::comment_query::{CommentCursor, CommentQuery};
use crate::value::actor::UserId;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::CommentId;
use crate::value::keyset::Page;
use crate::value::validation::{Reason, ValidationError};

/// Comments and likes.
///
/// * A comment's workflow, parent, depth, author, creation time and like
///   count are what it is and where it sits: [`CommentStore::update_comment`]
///   keeps the stored ones and writes the rest (body, edited, hidden,
///   deleted, `updated_at`, revision).
/// * `like_count` is the store's: it moves only with
///   [`CommentStore::set_comment_like`], in the same transaction as the like
///   row, so it always equals the comment's like rows.
#[async_trait]
pub trait CommentStore: Send + Sync + Debug {
    /// Inserts a comment (its `like_count` is stored as 0). `NotFound` for
    /// a missing workflow or parent; a reply is checked against its parent
    /// as read inside the write ([`check_reply`]); `AlreadyExists` for a
    /// taken id. Nothing is written on any refusal.
    async fn insert_comment(&self, comment: &Comment) -> StoreResult<()>;

    /// Replaces a comment if its stored revision is `expected_revision`
    /// (`Conflict` otherwise, `NotFound` for a missing comment): edits, soft
    /// deletes, hiding and showing again. A moderation carries its `audit`
    /// entry, written last in the same transaction.
    async fn update_comment(
        &self,
        comment: &Comment,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;

    /// One comment, whatever its state.
    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>>;

    /// One page of a workflow's comments, as
    /// [`run_comment_query`](crate::community::comment_query::run_comment_query)
    /// defines it. `Invalid` for a query [`CommentQuery::validate`] refuses.
    async fn list_comments(
        &self,
        query: &CommentQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>>;

    /// One page of comments across every workflow, newest first, as
    /// [`run_comment_feed`](crate::community::comment_feed::run_comment_feed)
    /// defines it. `Invalid` for a query [`CommentFeedQuery::validate`]
    /// refuses.
    async fn comment_feed(
        &self,
        query: &CommentFeedQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>>;

    /// Sets (`liked`) or clears `user`'s like of a comment, moving its
    /// `like_count` by [`like_delta`](crate::community::comment::like_delta)
    /// in the same transaction. Idempotent: returns whether anything
    /// changed (liking twice is one like). `now` is the like's time.
    /// `NotFound` for a missing comment.
    async fn set_comment_like(
        &self,
        comment: CommentId,
        user: &UserId,
        liked: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// The users who like a comment, by user id (empty for a missing one).
    async fn comment_likers(&self, comment: CommentId) -> StoreResult<Vec<UserId>>;
}

/// Whether `comment` may be stored under `parent`, the parent as read
/// inside the write (`None` when its `parent_id` names no stored comment).
///
/// * A top-level comment has depth 0 (`Invalid`, field `depth`).
/// * A reply's parent must exist (`NotFound`), be on the same workflow
///   (`Invalid`, field `parent_id`), be above the last level (`Invalid`,
///   `parent_id`) and be one level above it (`Invalid`, `depth`): the same
///   refusals as [`Comment::new`], for callers that skip it.
/// * A parent deleted since the service read it is a `Conflict`: that is
///   state that moved, and the service, reading again, refuses the reply
///   itself.
pub fn check_reply(comment: &Comment, parent: Option<&Comment>) -> StoreResult<()> {
    let invalid = |field: &'static str, detail: &str| {
        StoreError::Invalid(ValidationError::new(
            field,
            Reason::Inconsistent {
                detail: detail.into(),
            },
        ))
    };
    let Some(parent_id) = comment.parent_id else {
        return if comment.depth == 0 {
            Ok(())
        } else {
            Err(invalid("depth", "a comment without a parent is at depth 0"))
        };
    };
    let parent = parent.ok_or_else(|| StoreError::not_found(Entity::Comment, parent_id))?;
    if parent.workflow_id != comment.workflow_id {
        return Err(invalid("parent_id", "the parent is on another workflow"));
    }
    if parent.depth + 1 >= MAX_DEPTH {
        return Err(invalid(
            "parent_id",
            "the thread is as deep as it goes: reply to the parent",
        ));
    }
    if comment.depth != parent.depth + 1 {
        return Err(invalid("depth", "a reply is one level below its parent"));
    }
    if parent.deleted_at.is_some() {
        return Err(StoreError::conflict(
            Entity::Comment,
            parent_id,
            "the parent was deleted",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ids::WorkflowId;

    fn at() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn say(n: u128, workflow: u128, parent: Option<&Comment>) -> Comment {
        Comment::new(
            CommentId::from_uuid(uuid::Uuid::from_u128(n)),
            WorkflowId::from_uuid(uuid::Uuid::from_u128(workflow)),
            parent,
            UserId::parse("ann").expect("user"),
            "hello".into(),
            at(),
        )
        .expect("comment")
    }

    fn field(r: StoreResult<()>) -> &'static str {
        match r {
            Err(StoreError::Invalid(e)) => e.field(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn replies_are_checked_against_their_parent_as_stored() {
        let top = say(1, 1, None);
        let reply = say(2, 1, Some(&top));
        let deepest = say(3, 1, Some(&reply));
        assert!(check_reply(&top, None).is_ok());
        assert!(check_reply(&reply, Some(&top)).is_ok());
        assert!(check_reply(&deepest, Some(&reply)).is_ok());
        assert!(matches!(
            check_reply(&reply, None),
            Err(StoreError::NotFound {
                entity: Entity::Comment,
                ..
            })
        ));
        let mut elsewhere = top.clone();
        elsewhere.workflow_id = WorkflowId::from_uuid(uuid::Uuid::from_u128(2));
        assert_eq!(field(check_reply(&reply, Some(&elsewhere))), "parent_id");
        let mut too_deep = deepest.clone();
        too_deep.parent_id = Some(deepest.id);
        assert_eq!(field(check_reply(&too_deep, Some(&deepest))), "parent_id");
        let mut skipped = reply.clone();
        skipped.depth = 2;
        assert_eq!(field(check_reply(&skipped, Some(&top))), "depth");
        let mut floating = top.clone();
        floating.depth = 1;
        assert_eq!(field(check_reply(&floating, None)), "depth");
        let mut gone = top.clone();
        assert!(gone.delete(at()));
        assert!(matches!(
            check_reply(&reply, Some(&gone)),
            Err(StoreError::Conflict {
                entity: Entity::Comment,
                ..
            })
        ));
    }
}
