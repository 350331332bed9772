//! Comments and their likes in memory.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemoryStore, REVISION_MOVED, State};
use crate::audit::entry::AuditEntry;
use crate::catalog::query::Page;
use crate::community::comment::{Comment, like_delta};
use crate::community::comment_feed::{CommentFeedQuery, run_comment_feed};
use crate::community::comment_query::{CommentCursor, CommentQuery, run_comment_query};
use crate::store::{CommentStore, check_reply};
use crate::value::actor::UserId;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{CommentId, WorkflowId};

/// Every comment, each workflow's comment ids (so a listing walks one
/// workflow's comments, not all), and the likes.
#[derive(Default)]
#[cfg_attr(test, derive(Debug, Clone, PartialEq))]
pub(super) struct Comments {
    by_id: BTreeMap<CommentId, Comment>,
    by_workflow: BTreeMap<WorkflowId, BTreeSet<CommentId>>,
    likes: BTreeMap<CommentId, BTreeSet<UserId>>,
}

impl State {
    fn stored_comment(&self, id: CommentId) -> StoreResult<&Comment> {
        self.comments
            .by_id
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Comment, id))
    }

    fn insert_comment(&mut self, comment: &Comment) -> StoreResult<()> {
        self.workflow(comment.workflow_id)?;
        let parent = comment.parent_id.and_then(|p| self.comments.by_id.get(&p));
        check_reply(comment, parent)?;
        if self.comments.by_id.contains_key(&comment.id) {
            return Err(StoreError::exists(Entity::Comment, comment.id));
        }

        let mut stored = comment.clone();
        stored.like_count = 0;
        self.comments
            .by_workflow
            .entry(stored.workflow_id)
            .or_default()
            .insert(stored.id);
        self.comments.by_id.insert(stored.id, stored);
        Ok(())
    }

    fn update_comment(&mut self, comment: &Comment, expected_revision: u64) -> StoreResult<()> {
        let stored = self.stored_comment(comment.id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Comment,
                comment.id,
                REVISION_MOVED,
            ));
        }
        // Where it sits and its likes are the store's.
        let next = Comment {
            workflow_id: stored.workflow_id,
            parent_id: stored.parent_id,
            depth: stored.depth,
            author: stored.author.clone(),
            created_at: stored.created_at,
            like_count: stored.like_count,
            ..comment.clone()
        };
        self.comments.by_id.insert(next.id, next);
        Ok(())
    }

    fn set_comment_like(&mut self, id: CommentId, user: &UserId, liked: bool) -> StoreResult<bool> {
        self.stored_comment(id)?;
        let before = self
            .comments
            .likes
            .get(&id)
            .is_some_and(|users| users.contains(user));
        let delta = like_delta(before, liked);
        if delta == 0 {
            return Ok(false);
        }
        let users = self.comments.likes.entry(id).or_default();
        if liked {
            users.insert(user.clone());
        } else {
            users.remove(user);
        }
        if let Some(c) = self.comments.by_id.get_mut(&id) {
            c.like_count = c.like_count.saturating_add_signed(delta);
        }
        Ok(true)
    }

    fn list_comments(&self, query: &CommentQuery) -> Page<Comment, CommentCursor> {
        let ids = self.comments.by_workflow.get(&query.workflow);
        let all = ids
            .into_iter()
            .flatten()
            .filter_map(|id| self.comments.by_id.get(id));
        run_comment_query(query, all)
    }
}

#[async_trait]
impl CommentStore for MemoryStore {
    async fn insert_comment(&self, comment: &Comment) -> StoreResult<()> {
        self.write(|s| s.insert_comment(comment))
    }

    async fn update_comment(
        &self,
        comment: &Comment,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        self.audited(audit, |s| s.update_comment(comment, expected_revision))
    }

    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        Ok(self.lock().comments.by_id.get(&id).cloned())
    }

    async fn list_comments(
        &self,
        query: &CommentQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>> {
        query.validate()?;
        Ok(self.lock().list_comments(query))
    }

    // Every comment is read: the memory store keeps no index by author, and
    // a test's few hundred comments do not need one.
    async fn comment_feed(
        &self,
        query: &CommentFeedQuery,
    ) -> StoreResult<Page<Comment, CommentCursor>> {
        query.validate()?;
        Ok(run_comment_feed(query, self.lock().comments.by_id.values()))
    }

    // The memory store keeps no time for a like: nothing reads it back.
    async fn set_comment_like(
        &self,
        comment: CommentId,
        user: &UserId,
        liked: bool,
        _now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(|s| s.set_comment_like(comment, user, liked))
    }

    async fn comment_likers(&self, comment: CommentId) -> StoreResult<Vec<UserId>> {
        Ok(self
            .lock()
            .comments
            .likes
            .get(&comment)
            .map(|users| users.iter().cloned().collect())
            .unwrap_or_default())
    }
}
