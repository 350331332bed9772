//! Who is calling: the app's user id and the actor every service call takes.
//!
//! Authentication belongs to the host app. The vault stores the app's user id
//! as an opaque string and trusts the [`Actor`] the app hands it; what each
//! actor may do is decided in [`crate::vault::authz`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::validation::{Reason, ValidationError, check_text};

/// The host app's identifier for a user: any non-blank string up to 128
/// characters without control characters (a UUID, a number, an email hash).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// Longest id accepted.
    pub const MAX_LEN: usize = 128;

    /// Checks and wraps the app's user id.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        check_text("user_id", s, true, Self::MAX_LEN)?;
        if s.trim() != s || s.contains(['\n', '\r', '\t']) {
            return Err(ValidationError::new(
                "user_id",
                Reason::Format {
                    expected: "no surrounding or embedded whitespace control",
                },
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UserId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<UserId> for String {
    fn from(u: UserId) -> Self {
        u.0
    }
}

/// Why an account may not act: every call by it is refused with
/// [`Error::Refused`](crate::value::error::Error::Refused), and nothing is
/// written. The most final reason wins: erased before deleted before banned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Banned by staff (lifted by unbanning).
    Banned,
    /// Soft-deleted (restorable).
    Deleted,
    /// Personal data erased (final).
    Erased,
}

impl Refusal {
    /// The refusal of an account that is (or is not) banned, deleted and
    /// erased: the most final reason, or `None` when it may act. The one
    /// place the precedence is spelled; stores that read the three flags
    /// alone call it.
    pub fn of(banned: bool, deleted: bool, erased: bool) -> Option<Refusal> {
        if erased {
            Some(Refusal::Erased)
        } else if deleted {
            Some(Refusal::Deleted)
        } else if banned {
            Some(Refusal::Banned)
        } else {
            None
        }
    }

    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Banned => "banned",
            Refusal::Deleted => "deleted",
            Refusal::Erased => "erased",
        }
    }
}

/// Who performs a call. Replaces the seed's row-level security: every service
/// method takes one and refuses, with a typed error and no write, what the
/// actor may not do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "user_id", rename_all = "snake_case")]
pub enum Actor {
    /// A visitor who is not signed in: sees and downloads only public, free
    /// content.
    Anonymous,
    /// A signed-in customer: sees published content and their own records.
    User(UserId),
    /// A staff member: sees everything, moderates reviews, manages the catalog.
    Admin(UserId),
    /// The app itself (webhooks, jobs): full access, like the seed's service role.
    Service,
}

impl Actor {
    /// What kind of actor it is, for logs and traces (never who).
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Anonymous => "anonymous",
            Actor::User(_) => "user",
            Actor::Admin(_) => "admin",
            Actor::Service => "service",
        }
    }

    /// A user actor from the app's user id.
    pub fn user(id: &str) -> Result<Self, ValidationError> {
        UserId::parse(id).map(Actor::User)
    }

    /// An admin actor from the app's user id.
    pub fn admin(id: &str) -> Result<Self, ValidationError> {
        UserId::parse(id).map(Actor::Admin)
    }

    /// The user behind the actor, if there is one.
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Actor::User(u) | Actor::Admin(u) => Some(u),
            Actor::Anonymous | Actor::Service => None,
        }
    }

    /// Admins and the service see and may change everything.
    pub fn is_privileged(&self) -> bool {
        matches!(self, Actor::Admin(_) | Actor::Service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_checks() {
        assert!(UserId::parse("user-42").is_ok());
        for bad in ["", "   ", " padded", "a\u{7}b", &"x".repeat(129)] {
            assert_eq!(UserId::parse(bad).expect_err(bad).field(), "user_id");
        }
    }

    #[test]
    fn actor_user_ids() {
        let u = Actor::user("u1").expect("valid");
        assert_eq!(u.user_id().map(UserId::as_str), Some("u1"));
        assert!(!u.is_privileged());
        assert!(Actor::Service.is_privileged());
        assert_eq!(Actor::Anonymous.user_id(), None);
    }
}
