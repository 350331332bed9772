//! Comments (the marketplace seed's `comments` and `comment_likes`):
//! threaded discussion on a workflow, edited in the open, deleted without
//! tearing the thread, hidden by moderators, liked once per user.
//!
//! The rules, as pure functions; the storage contract and the service
//! methods come with the accounts work (issue "Accounts, settings, an audit
//! trail, and comments with likes").
//!
//! **Depth.** A thread is at most [`MAX_DEPTH`] levels: a comment (depth 0),
//! a reply, and a reply to a reply. A reply to a comment at the last level
//! is refused rather than silently re-parented, so the app can answer
//! "reply to the parent instead". Three levels keep a thread readable on a
//! phone and bound the work of loading one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::value::actor::UserId;
use crate::value::ids::{CommentId, WorkflowId};
use crate::value::validation::{Reason, ValidationError, check_text};

/// Levels a thread may have: a comment, a reply, a reply to a reply.
pub const MAX_DEPTH: u8 = 3;

/// The longest comment body, in characters.
pub const MAX_BODY: usize = 5_000;

/// A stored comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Id.
    pub id: CommentId,
    /// The workflow discussed.
    pub workflow_id: WorkflowId,
    /// The comment it answers, if any.
    pub parent_id: Option<CommentId>,
    /// 0 for a comment, 1 for a reply, ...; below [`MAX_DEPTH`].
    pub depth: u8,
    /// Who wrote it.
    pub author: UserId,
    /// What they wrote; empty once deleted.
    pub body: String,
    /// Edited after it was posted.
    pub edited: bool,
    /// Hidden by a moderator (still stored, shown to staff).
    pub hidden: bool,
    /// Deleted by its author or staff: the body is gone, the place in the
    /// thread stays so replies keep their parent.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Likes, one per user, kept in the write that likes.
    pub like_count: u64,
    /// Posted.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; writes are guarded by it.
    pub revision: u64,
}

fn check_body(body: &str) -> Result<(), ValidationError> {
    check_text("body", body, true, MAX_BODY)
}

impl Comment {
    /// A new comment on `workflow`, or a reply to `parent` (which must be on
    /// the same workflow, not deleted, and above the last level).
    pub fn new(
        id: CommentId,
        workflow: WorkflowId,
        parent: Option<&Comment>,
        author: UserId,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        check_body(&body)?;
        let depth = match parent {
            None => 0,
            Some(p) => {
                let refuse = |detail: &str| {
                    Err(ValidationError::new(
                        "parent_id",
                        Reason::Inconsistent {
                            detail: detail.into(),
                        },
                    ))
                };
                if p.workflow_id != workflow {
                    return refuse("the parent is on another workflow");
                }
                if p.deleted_at.is_some() {
                    return refuse("the parent was deleted");
                }
                if p.depth + 1 >= MAX_DEPTH {
                    return refuse("the thread is as deep as it goes: reply to the parent");
                }
                p.depth + 1
            }
        };
        Ok(Self {
            id,
            workflow_id: workflow,
            parent_id: parent.map(|p| p.id),
            depth,
            author,
            body,
            edited: false,
            hidden: false,
            deleted_at: None,
            like_count: 0,
            created_at: now,
            updated_at: now,
            revision: 0,
        })
    }

    /// Replaces the body and marks it edited; `Ok(false)` when the body is
    /// the same. A deleted comment cannot be edited.
    pub fn edit(&mut self, body: String, now: DateTime<Utc>) -> Result<bool, ValidationError> {
        if self.deleted_at.is_some() {
            return Err(ValidationError::new(
                "comment",
                Reason::Inconsistent {
                    detail: "a deleted comment cannot be edited".into(),
                },
            ));
        }
        check_body(&body)?;
        if body == self.body {
            return Ok(false);
        }
        self.body = body;
        self.edited = true;
        self.updated_at = now;
        Ok(true)
    }

    /// Deletes it softly: the body goes, the place in the thread (and its
    /// replies) stays. `false` when already deleted.
    pub fn delete(&mut self, now: DateTime<Utc>) -> bool {
        if self.deleted_at.is_some() {
            return false;
        }
        self.body.clear();
        self.deleted_at = Some(now);
        self.updated_at = now;
        true
    }

    /// Hides or shows it again (moderation); `false` when nothing moved.
    pub fn set_hidden(&mut self, hidden: bool, now: DateTime<Utc>) -> bool {
        if self.hidden == hidden {
            return false;
        }
        self.hidden = hidden;
        self.updated_at = now;
        true
    }

    /// Whether a reader sees its body: not hidden (staff see hidden ones),
    /// not deleted. A deleted or hidden comment still holds its place.
    pub fn body_visible(&self, staff: bool) -> bool {
        self.deleted_at.is_none() && (!self.hidden || staff)
    }
}

/// How a comment's like count moves when `user`'s like goes from `before`
/// to `after` (liked or not): +1, -1 or 0. One like per user per comment:
/// liking twice moves nothing.
pub fn like_delta(before: bool, after: bool) -> i64 {
    i64::from(after) - i64::from(before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s)
    }

    fn wf(n: u128) -> WorkflowId {
        WorkflowId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn say(n: u128, parent: Option<&Comment>) -> Result<Comment, ValidationError> {
        Comment::new(
            CommentId::from_uuid(uuid::Uuid::from_u128(n)),
            wf(1),
            parent,
            UserId::parse("ann").expect("user"),
            format!("comment {n}"),
            t(0),
        )
    }

    #[test]
    fn threads_stop_at_the_last_level() {
        let top = say(1, None).expect("top");
        let reply = say(2, Some(&top)).expect("reply");
        let deeper = say(3, Some(&reply)).expect("reply to a reply");
        assert_eq!((top.depth, reply.depth, deeper.depth), (0, 1, 2));
        assert_eq!(deeper.parent_id, Some(reply.id));
        assert_eq!(
            say(4, Some(&deeper)).expect_err("too deep").field(),
            "parent_id"
        );
    }

    #[test]
    fn a_reply_needs_a_live_parent_on_the_same_workflow() {
        let mut top = say(1, None).expect("top");
        let mut other = top.clone();
        other.workflow_id = wf(2);
        assert_eq!(
            say(2, Some(&other)).expect_err("elsewhere").field(),
            "parent_id"
        );
        assert!(top.delete(t(1)));
        assert_eq!(
            say(3, Some(&top)).expect_err("deleted").field(),
            "parent_id"
        );
    }

    #[test]
    fn edits_deletes_and_hiding() {
        let mut c = say(1, None).expect("top");
        assert!(!c.edit("comment 1".into(), t(1)).expect("same"));
        assert!(!c.edited);
        assert!(c.edit("better".into(), t(2)).expect("edits"));
        assert!(c.edited && c.updated_at == t(2));
        assert_eq!(
            c.edit(String::new(), t(3)).expect_err("blank").field(),
            "body"
        );
        assert_eq!(
            c.edit("x".repeat(MAX_BODY + 1), t(3))
                .expect_err("long")
                .field(),
            "body"
        );
        assert!(c.set_hidden(true, t(4)) && !c.set_hidden(true, t(5)));
        assert!(!c.body_visible(false) && c.body_visible(true));
        assert!(c.delete(t(6)) && !c.delete(t(7)));
        assert!(c.body.is_empty() && !c.body_visible(true));
        assert_eq!(
            c.edit("back".into(), t(8)).expect_err("deleted").field(),
            "comment"
        );
    }

    #[test]
    fn likes_move_by_one_per_user() {
        assert_eq!(like_delta(false, true), 1);
        assert_eq!(like_delta(true, false), -1);
        assert_eq!(like_delta(true, true), 0);
        assert_eq!(like_delta(false, false), 0);
    }

    proptest! {
        #[test]
        fn any_toggling_leaves_the_count_at_the_likers(toggles in proptest::collection::vec((0usize..5, any::<bool>()), 0..50)) {
            let mut liked = [false; 5];
            let mut count: i64 = 0;
            for (user, like) in toggles {
                count += like_delta(liked[user], like);
                liked[user] = like;
                prop_assert!(count >= 0);
            }
            prop_assert_eq!(count, liked.iter().filter(|l| **l).count() as i64);
        }

        #[test]
        fn depth_never_reaches_the_limit(chain in 1usize..8) {
            let mut parent = say(0, None).expect("top");
            for n in 1..chain {
                match say(n as u128, Some(&parent)) {
                    Ok(c) => {
                        prop_assert!(c.depth < MAX_DEPTH);
                        prop_assert_eq!(c.depth, parent.depth + 1);
                        parent = c;
                    }
                    Err(e) => {
                        prop_assert_eq!(parent.depth + 1, MAX_DEPTH);
                        prop_assert_eq!(e.field(), "parent_id");
                        break;
                    }
                }
            }
        }
    }
}
