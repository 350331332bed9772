//! Authorization: what each [`Actor`] may do. Replaces the seed's row-level
//! security policies:
//!
//! * public reads of published (and announced) content; drafts and deleted
//!   workflows are invisible to everyone but staff, and an invisible record reads as *not found* so
//!   its existence does not leak;
//! * users read and change only their own purchases, downloads, favorites,
//!   memberships and reviews;
//! * catalog management and settling payments are for staff (admins and the
//!   service); moderation is for admins (and the service).
//!
//! Every refusal is [`Error::Forbidden`] and happens before anything is
//! written.

use crate::catalog::workflow::WorkflowStatus;
use crate::value::actor::{Actor, UserId};
use crate::value::error::{Entity, Error, Result};
use crate::value::ids::WorkflowId;

/// Staff only (admins and the service).
pub fn require_staff(actor: &Actor, action: &'static str) -> Result<()> {
    if actor.is_privileged() {
        Ok(())
    } else {
        Err(Error::Forbidden {
            action,
            reason: "only staff may do this",
        })
    }
}

/// A signed-in user (or admin) acting as themselves.
pub fn require_user<'a>(actor: &'a Actor, action: &'static str) -> Result<&'a UserId> {
    actor.user_id().ok_or(Error::Forbidden {
        action,
        reason: "sign in first",
    })
}

/// The user themselves, or staff.
pub fn require_self_or_staff(actor: &Actor, user: &UserId, action: &'static str) -> Result<()> {
    if actor.is_privileged() || actor.user_id() == Some(user) {
        Ok(())
    } else {
        Err(Error::Forbidden {
            action,
            reason: "users may only act on their own records",
        })
    }
}

/// A listing filtered by `owner`, or across everyone's records: staff may
/// ask for any; a signed-in user only for their own (`owner` naming them),
/// so leaving `owner` out is asking for everyone's, which is refused.
pub fn require_own_listing(
    actor: &Actor,
    owner: Option<&UserId>,
    action: &'static str,
) -> Result<()> {
    if actor.is_privileged() {
        return Ok(());
    }
    let user = require_user(actor, action)?;
    if owner == Some(user) {
        Ok(())
    } else {
        Err(Error::Forbidden {
            action,
            reason: "users may only list their own records",
        })
    }
}

/// Whether `actor` may see a workflow in `status`, `deleted` or not: staff
/// see everything; others see published, coming-soon and archived (by
/// direct link, so earlier buyers can still reach what they own) but never
/// drafts nor deleted workflows (a soft delete takes it off the storefront
/// entirely; its purchases and downloads stay readable as records).
pub fn can_see(actor: &Actor, status: WorkflowStatus, deleted: bool) -> bool {
    actor.is_privileged() || (status != WorkflowStatus::Draft && !deleted)
}

/// `NotFound` for a workflow the actor may not see.
pub(crate) fn hidden(id: WorkflowId) -> Error {
    Error::NotFound {
        entity: Entity::Workflow,
        key: id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        let user = Actor::user("u1").expect("valid");
        let other = UserId::parse("u2").expect("valid");
        assert!(require_staff(&user, "x").is_err());
        assert!(require_staff(&Actor::Service, "x").is_ok());
        assert!(require_user(&Actor::Anonymous, "x").is_err());
        assert!(require_self_or_staff(&user, &other, "x").is_err());
        assert!(require_self_or_staff(&Actor::admin("a").expect("valid"), &other, "x").is_ok());
        let me = user.user_id().cloned();
        assert!(require_own_listing(&user, me.as_ref(), "x").is_ok());
        assert!(require_own_listing(&user, Some(&other), "x").is_err());
        assert!(require_own_listing(&user, None, "x").is_err());
        assert!(require_own_listing(&Actor::Anonymous, None, "x").is_err());
        assert!(require_own_listing(&Actor::Anonymous, Some(&other), "x").is_err());
        assert!(require_own_listing(&Actor::Service, None, "x").is_ok());
        assert!(!can_see(&user, WorkflowStatus::Draft, false));
        assert!(can_see(&user, WorkflowStatus::Archived, false));
        assert!(!can_see(&user, WorkflowStatus::Published, true));
        assert!(can_see(&Actor::Service, WorkflowStatus::Draft, false));
        assert!(can_see(&Actor::Service, WorkflowStatus::Published, true));
    }
}
