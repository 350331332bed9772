//! Comments: posting and replying, editing, soft deletes, moderation,
//! likes, and the listing.
//!
//! Who may do what, as for reviews: anyone who may see a workflow reads its
//! comments; signed-in users post, reply and like; only the author edits;
//! the author or staff delete; staff hide and show again. A hidden comment
//! reads as not found to everyone but staff and its author, and is left out
//! of the listing for non-staff. Every write over a stored comment is
//! guarded by its revision and decided again on a `Conflict`, so a racing
//! edit, delete or hide is never lost.

use super::{Vault, retry_conflicts};
use crate::audit::entry::{AuditAction, AuditValue};
use crate::catalog::query::Page;
use crate::community::comment::Comment;
use crate::community::comment_feed::CommentFeedQuery;
use crate::community::comment_query::{CommentCursor, CommentOrder, CommentQuery};
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::{Entity, Error, Result};
use crate::value::ids::{CommentId, WorkflowId};
use crate::vault::authz::{
    require_own_listing, require_self_or_staff, require_staff, require_user,
};

fn not_found(id: CommentId) -> Error {
    Error::NotFound {
        entity: Entity::Comment,
        key: id.to_string(),
    }
}

impl<S: Store + ?Sized> Vault<S> {
    /// A comment the actor may see: on a workflow they may see, and not
    /// hidden unless they are staff or its author. Anything else is
    /// `NotFound`, so a hidden comment's existence does not leak.
    async fn visible_comment(&self, actor: &Actor, id: CommentId) -> Result<Comment> {
        let c = self.store.comment(id).await?.ok_or_else(|| not_found(id))?;
        if c.hidden && !actor.is_privileged() && actor.user_id() != Some(&c.author) {
            return Err(not_found(id));
        }
        self.workflow(actor, c.workflow_id).await?;
        Ok(c)
    }

    /// Reads a comment, lets `change` decide (it authorizes and edits;
    /// `Ok(false)` when nothing changes, which writes nothing), and writes
    /// it over the revision it read, deciding again after a `Conflict`.
    /// Staff changing someone else's comment is moderation: the write
    /// carries a `CommentModerated` entry saying what moved.
    async fn revise_comment(
        &self,
        actor: &Actor,
        id: CommentId,
        change: impl Fn(&mut Comment) -> Result<bool>,
    ) -> Result<Comment> {
        retry_conflicts(self.config.conflict_retries, || async {
            let current = self.visible_comment(actor, id).await?;
            let mut next = current.clone();
            if !change(&mut next)? {
                return Ok(current);
            }
            next.revision = current.revision + 1;
            let moderated = actor.is_privileged()
                && (actor.user_id() != Some(&current.author) || next.hidden != current.hidden);
            let audit = if moderated {
                Some(
                    self.audit(
                        actor,
                        AuditAction::CommentModerated,
                        Entity::Comment,
                        next.id,
                    )?
                    .with("workflow", AuditValue::Id(next.workflow_id.as_uuid()))?
                    .with("hidden", AuditValue::Flag(next.hidden))?
                    .with("deleted", AuditValue::Flag(next.deleted_at.is_some()))?,
                )
            } else {
                None
            };
            self.writes
                .update_comment(&next, current.revision, audit.as_ref())
                .await?;
            Ok(next)
        })
        .await
    }

    /// Posts the actor's comment on a workflow, or with `parent` a reply
    /// (at most [`MAX_DEPTH`](crate::community::comment::MAX_DEPTH) levels:
    /// a reply to the last level is `Invalid`, field `parent_id`, and
    /// nothing is written).
    pub async fn post_comment(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        parent: Option<CommentId>,
        body: String,
    ) -> Result<Comment> {
        let span = tracing::info_span!("vault.post_comment", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "post_comment")?;
            self.workflow(actor, workflow).await?;
            // A parent deleted between the read and the write is a
            // Conflict; read again, the rule refuses the reply itself.
            retry_conflicts(self.config.conflict_retries, || async {
                let parent = match parent {
                    Some(p) => Some(self.visible_comment(actor, p).await?),
                    None => None,
                };
                let comment = Comment::new(
                    CommentId::from_uuid(self.uuid()),
                    workflow,
                    parent.as_ref(),
                    user.clone(),
                    body.clone(),
                    self.now(),
                )?;
                self.writes.insert_comment(&comment).await?;
                Ok(comment)
            })
            .await
        })
        .await
    }

    /// Replaces the body of the actor's own comment and marks it edited
    /// (only its author may; a deleted comment cannot be edited).
    pub async fn edit_comment(
        &self,
        actor: &Actor,
        id: CommentId,
        body: String,
    ) -> Result<Comment> {
        let span = tracing::info_span!("vault.edit_comment", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.revise_comment(actor, id, |c| {
                if actor.user_id() != Some(&c.author) {
                    return Err(Error::Forbidden {
                        action: "edit_comment",
                        reason: "only the author may edit a comment",
                    });
                }
                Ok(c.edit(body.clone(), self.now())?)
            })
            .await
        })
        .await
    }

    /// Deletes a comment softly (its author or staff): the body goes, its
    /// place in the thread stays so its replies keep their parent. Deleting
    /// twice changes nothing.
    pub async fn delete_comment(&self, actor: &Actor, id: CommentId) -> Result<Comment> {
        let span = tracing::info_span!("vault.delete_comment", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.revise_comment(actor, id, |c| {
                require_self_or_staff(actor, &c.author, "delete_comment")?;
                Ok(c.delete(self.now()))
            })
            .await
        })
        .await
    }

    /// Hides a comment (`hidden`) or shows it again (staff).
    pub async fn moderate_comment(
        &self,
        actor: &Actor,
        id: CommentId,
        hidden: bool,
    ) -> Result<Comment> {
        let span = tracing::info_span!("vault.moderate_comment", actor = actor.kind(), id = %id, hidden, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "moderate_comment")?;
            self.revise_comment(actor, id, |c| Ok(c.set_hidden(hidden, self.now())))
                .await
        })
        .await
    }

    /// Likes a comment for the actor (once: liking again changes nothing).
    /// A deleted comment cannot be liked. Returns the comment as stored
    /// after the like.
    pub async fn like_comment(&self, actor: &Actor, id: CommentId) -> Result<Comment> {
        let span = tracing::info_span!("vault.like_comment", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "like_comment")?;
            let c = self.visible_comment(actor, id).await?;
            if c.deleted_at.is_some() {
                return Err(Error::InvalidTransition {
                    entity: Entity::Comment,
                    state: "deleted",
                    event: "like",
                });
            }
            self.writes
                .set_comment_like(id, user, true, self.now())
                .await?;
            self.store.comment(id).await?.ok_or_else(|| not_found(id))
        })
        .await
    }

    /// Withdraws the actor's like (nothing changes when there was none),
    /// also of a comment deleted since. Returns the comment as stored after.
    pub async fn unlike_comment(&self, actor: &Actor, id: CommentId) -> Result<Comment> {
        let span = tracing::info_span!("vault.unlike_comment", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let user = require_user(actor, "unlike_comment")?;
            self.visible_comment(actor, id).await?;
            self.writes
                .set_comment_like(id, user, false, self.now())
                .await?;
            self.store.comment(id).await?.ok_or_else(|| not_found(id))
        })
        .await
    }

    /// One page of a workflow's comments in `order`, resuming after
    /// `cursor` (a [`CommentCursor`] decoded from the previous page's
    /// token), `limit` a page (1 to 100). Staff see hidden comments too;
    /// deleted ones are listed with an empty body so threads keep their
    /// shape.
    pub async fn comments(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        order: CommentOrder,
        cursor: Option<CommentCursor>,
        limit: u32,
    ) -> Result<Page<Comment, CommentCursor>> {
        let span = tracing::info_span!("vault.comments", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let query = CommentQuery {
                workflow,
                order,
                include_hidden: actor.is_privileged(),
                limit,
                cursor,
            };
            query.validate()?;
            self.workflow(actor, workflow).await?;
            Ok(self.store.list_comments(&query).await?)
        })
        .await
    }

    /// One page of comments across every workflow, newest first: a user's
    /// own (their dashboard, `query.author` naming them) or, for staff,
    /// anyone's, e.g. only hidden ones. A user asking for someone else's,
    /// or for everyone's, and an anonymous caller are `Forbidden`. Deleted
    /// comments are left out; hidden ones are in unless filtered (they are
    /// the author's own, or the staff's to see).
    pub async fn comment_feed(
        &self,
        actor: &Actor,
        query: &CommentFeedQuery,
    ) -> Result<Page<Comment, CommentCursor>> {
        let span = tracing::info_span!(
            "vault.comment_feed",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_own_listing(actor, query.author.as_ref(), "comment_feed")?;
            query.validate()?;
            Ok(self.store.comment_feed(query).await?)
        })
        .await
    }
}
