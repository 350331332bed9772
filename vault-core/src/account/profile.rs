//! The account record and its life: ban and unban, soft delete and
//! restore, erasure of personal data, role changes. Pure functions over the
//! record; the store writes what they return.
//!
//! What erasure keeps and removes (a GDPR request, Article 17, within what
//! accounting law requires):
//! * removed: email, display name, avatar, bio, website, location, the
//!   credential, the last login time;
//! * kept: the user id (purchases, downloads, reviews and the audit trail
//!   refer to it; it is the app's opaque id, not personal data by itself),
//!   the role, the creation time and the instants of ban, deletion and
//!   erasure (they say why the account cannot act).
//!
//! Purchases and downloads are not the account's to erase: they are the
//! seller's financial record and stay, under the user id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::email::{Credential, Email};
pub use crate::value::actor::Refusal;
use crate::value::actor::UserId;
use crate::value::validation::{Reason, ValidationError, check_text};

/// What an account may do in the marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A buyer.
    User,
    /// Staff: acts as the staff actor.
    Admin,
}

impl Role {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// The role a stored word names.
    pub fn parse(word: &str) -> Option<Role> {
        [Role::User, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == word)
    }
}

/// The public profile: what other users may see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The name shown with reviews and comments, up to 100 characters.
    pub display_name: String,
    /// Avatar image URL, up to 2048 characters.
    pub avatar_url: Option<String>,
    /// A short bio, up to 2000 characters.
    pub bio: Option<String>,
    /// Website URL, up to 2048 characters.
    pub website: Option<String>,
    /// Where they are, up to 100 characters.
    pub location: Option<String>,
}

impl Profile {
    /// Checks every field's length and characters.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("display_name", &self.display_name, true, 100)?;
        for (field, value, max) in [
            ("avatar_url", &self.avatar_url, 2048),
            ("bio", &self.bio, 2000),
            ("website", &self.website, 2048),
            ("location", &self.location, 100),
        ] {
            if let Some(v) = value {
                check_text(field, v, false, max)?;
            }
        }
        Ok(())
    }
}

/// An account: the vault's record of an app user.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The app's user id.
    pub user_id: UserId,
    /// Unique, compared case-insensitively; `None` only once erased.
    pub email: Option<Email>,
    /// The public profile.
    pub profile: Profile,
    /// User or admin.
    pub role: Role,
    /// What the app stores to check a login; never shown.
    pub credential: Option<Credential>,
    /// The last login the app reported.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Banned since, when banned.
    pub banned_at: Option<DateTime<Utc>>,
    /// Why, as staff wrote it (up to 500 characters; no personal data).
    pub ban_reason: Option<String>,
    /// Soft-deleted at, when deleted.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Personal data erased at; final.
    pub erased_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; writes are guarded by it.
    pub revision: u64,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .field("refusal", &self.refusal())
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

/// How an author appears next to their reviews and comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    /// A user without an account: the app shows its own name for them.
    Unknown,
    /// An account that may be shown.
    Named {
        /// The display name.
        display_name: String,
        /// The avatar, if any.
        avatar_url: Option<String>,
    },
    /// A deleted or erased account: "deleted user", nothing else.
    Deleted,
}

/// A change to an account's life, applied with [`Account::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    /// Staff bans it, saying why.
    Ban {
        /// The reason, up to 500 characters.
        reason: Option<String>,
    },
    /// Staff lifts the ban.
    Unban,
    /// The user (or staff) deletes it: hidden and unable to act, restorable.
    Delete,
    /// Brings a deleted account back as it was.
    Restore,
    /// Removes the personal data for good (see the module docs).
    Erase,
    /// Staff changes the role.
    ChangeRole(Role),
}

impl Account {
    /// A new account, checked.
    pub fn new(
        user_id: UserId,
        email: Email,
        profile: Profile,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        profile.validate()?;
        Ok(Self {
            user_id,
            email: Some(email),
            profile,
            role: Role::User,
            credential: None,
            last_login_at: None,
            banned_at: None,
            ban_reason: None,
            deleted_at: None,
            erased_at: None,
            created_at: now,
            updated_at: now,
            revision: 0,
        })
    }

    /// Why this account may not act, if it may not: erased before deleted
    /// before banned (the most final reason wins).
    pub fn refusal(&self) -> Option<Refusal> {
        Refusal::of(
            self.banned_at.is_some(),
            self.deleted_at.is_some(),
            self.erased_at.is_some(),
        )
    }

    /// How this account appears as an author: deleted and erased accounts
    /// as [`Author::Deleted`] (restoring brings the name back); a banned one
    /// keeps its name on what it wrote before.
    pub fn as_author(&self) -> Author {
        match self.refusal() {
            Some(Refusal::Deleted | Refusal::Erased) => Author::Deleted,
            Some(Refusal::Banned) | None => Author::Named {
                display_name: self.profile.display_name.clone(),
                avatar_url: self.profile.avatar_url.clone(),
            },
        }
    }

    /// Applies `event` at `now`: `Ok(false)` when it changes nothing (a
    /// repeat), `Ok(true)` when it moved (and `updated_at` is `now`). An
    /// erased account takes no event but a repeated erase; restoring needs a
    /// deleted account. On error the account is unchanged.
    pub fn apply(
        &mut self,
        event: &AccountEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, ValidationError> {
        if self.erased_at.is_some() && *event != AccountEvent::Erase {
            return Err(ValidationError::new(
                "account",
                Reason::Inconsistent {
                    detail: "an erased account takes no further change".into(),
                },
            ));
        }
        let changed = match event {
            AccountEvent::Ban { reason } => {
                if let Some(r) = reason {
                    check_text("ban_reason", r, false, 500)?;
                }
                let moved = self.banned_at.is_none() || self.ban_reason != *reason;
                self.banned_at.get_or_insert(now);
                self.ban_reason.clone_from(reason);
                moved
            }
            AccountEvent::Unban => {
                let moved = self.banned_at.is_some();
                self.banned_at = None;
                self.ban_reason = None;
                moved
            }
            AccountEvent::Delete => {
                let moved = self.deleted_at.is_none();
                self.deleted_at.get_or_insert(now);
                moved
            }
            AccountEvent::Restore => {
                if self.deleted_at.is_none() {
                    return Err(ValidationError::new(
                        "account",
                        Reason::Inconsistent {
                            detail: "only a deleted account can be restored".into(),
                        },
                    ));
                }
                self.deleted_at = None;
                true
            }
            AccountEvent::Erase => {
                let moved = self.erased_at.is_none();
                if moved {
                    self.email = None;
                    self.profile = Profile::default();
                    self.credential = None;
                    self.last_login_at = None;
                    self.ban_reason = None;
                    self.erased_at = Some(now);
                }
                moved
            }
            AccountEvent::ChangeRole(role) => {
                let moved = self.role != *role;
                self.role = *role;
                moved
            }
        };
        if changed {
            self.updated_at = now;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_back_from_their_words() {
        for r in [Role::User, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Admin"), None);
    }
    use proptest::prelude::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s)
    }

    fn ada() -> Account {
        let mut a = Account::new(
            UserId::parse("ada").expect("user"),
            Email::parse("ada@example.com").expect("email"),
            Profile {
                display_name: "Ada".into(),
                bio: Some("Automates invoices".into()),
                ..Profile::default()
            },
            t(0),
        )
        .expect("account");
        a.credential = Some(Credential::new("$argon2id$secret").expect("credential"));
        a
    }

    #[test]
    fn a_deleted_account_is_restored_as_it_was() {
        let mut a = ada();
        let before = a.clone();
        assert!(a.apply(&AccountEvent::Delete, t(5)).expect("deletes"));
        assert_eq!(a.refusal(), Some(Refusal::Deleted));
        assert!(!a.apply(&AccountEvent::Delete, t(6)).expect("repeat"));
        assert!(a.apply(&AccountEvent::Restore, t(7)).expect("restores"));
        assert_eq!(a.refusal(), None);
        assert_eq!(
            (&a.email, &a.profile, &a.credential),
            (&before.email, &before.profile, &before.credential)
        );
        assert_eq!(a.updated_at, t(7));
    }

    #[test]
    fn erasure_removes_the_personal_data_and_is_final() {
        let mut a = ada();
        a.last_login_at = Some(t(3));
        a.apply(
            &AccountEvent::Ban {
                reason: Some("spam".into()),
            },
            t(4),
        )
        .expect("bans");
        assert!(a.apply(&AccountEvent::Erase, t(5)).expect("erases"));
        assert_eq!(a.email, None);
        assert_eq!(a.profile, Profile::default());
        assert_eq!(
            (
                a.credential.is_none(),
                a.last_login_at,
                a.ban_reason.as_deref()
            ),
            (true, None, None)
        );
        assert_eq!(
            (a.user_id.as_str(), a.created_at, a.banned_at),
            ("ada", t(0), Some(t(4)))
        );
        assert_eq!(a.refusal(), Some(Refusal::Erased));
        assert!(!a.apply(&AccountEvent::Erase, t(6)).expect("repeat"));
        for e in [
            AccountEvent::Restore,
            AccountEvent::Unban,
            AccountEvent::ChangeRole(Role::Admin),
        ] {
            assert_eq!(a.apply(&e, t(7)).expect_err("final").field(), "account");
        }
    }

    #[test]
    fn debug_shows_neither_the_credential_nor_the_address() {
        let text = format!("{:?}", ada());
        assert!(!text.contains("secret") && !text.contains("ada@"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        let mut a = ada();
        let long = AccountEvent::Ban {
            reason: Some("x".repeat(501)),
        };
        assert_eq!(
            a.apply(&long, t(1)).expect_err("long").field(),
            "ban_reason"
        );
        assert_eq!(a.refusal(), None, "a refused ban bans nothing");
        assert_eq!(
            a.apply(&AccountEvent::Restore, t(1))
                .expect_err("not deleted")
                .field(),
            "account"
        );
        let empty = Profile::default();
        assert_eq!(empty.validate().expect_err("blank").field(), "display_name");
    }

    fn event() -> impl Strategy<Value = AccountEvent> {
        prop_oneof![
            proptest::option::of("[a-z]{0,8}").prop_map(|reason| AccountEvent::Ban { reason }),
            Just(AccountEvent::Unban),
            Just(AccountEvent::Delete),
            Just(AccountEvent::Restore),
            Just(AccountEvent::Erase),
            prop_oneof![Just(Role::User), Just(Role::Admin)].prop_map(AccountEvent::ChangeRole),
        ]
    }

    proptest! {
        #[test]
        fn the_refusal_follows_the_events(events in proptest::collection::vec(event(), 0..20)) {
            let mut a = ada();
            let (mut banned, mut deleted, mut erased) = (false, false, false);
            for (i, e) in events.iter().enumerate() {
                let before = a.clone();
                match a.apply(e, t(i as i64 + 1)) {
                    Ok(changed) => {
                        prop_assert_eq!(changed, a != before);
                        match e {
                            AccountEvent::Ban { .. } => banned = true,
                            AccountEvent::Unban => banned = false,
                            AccountEvent::Delete => deleted = true,
                            AccountEvent::Restore => deleted = false,
                            AccountEvent::Erase => erased = true,
                            AccountEvent::ChangeRole(_) => {}
                        }
                    }
                    Err(_) => prop_assert_eq!(&a, &before, "a refused event changes nothing"),
                }
                let expected = if erased {
                    Some(Refusal::Erased)
                } else if deleted {
                    Some(Refusal::Deleted)
                } else if banned {
                    Some(Refusal::Banned)
                } else {
                    None
                };
                prop_assert_eq!(a.refusal(), expected);
                if erased {
                    prop_assert!(a.email.is_none() && a.credential.is_none());
                } else {
                    prop_assert!(a.email.is_some());
                }
            }
        }
    }
}
