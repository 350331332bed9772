//! Accounts' part of the storage contract (see [`crate::store`]).

use std::fmt::Debug;

use async_trait::async_trait;

use crate::account::email::Email;
use crate::account::profile::{Account, Role};
use crate::account::settings::UserSettings;
use crate::audit::entry::AuditEntry;
use crate::jobs::job::Job;
use crate::value::actor::{Refusal, UserId};
use crate::value::error::StoreResult;
use crate::value::keyset::{After, Listing, check_limit};
use crate::value::validation::{ValidationError, check_text};

/// Which accounts to list: newest first, in cursor pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountQuery {
    /// Only accounts whose email or display name contains this text,
    /// compared case-insensitively (ASCII), up to 100 characters.
    pub text: Option<String>,
    /// Only accounts with this role.
    pub role: Option<Role>,
    /// Only banned accounts.
    pub banned_only: bool,
    /// Also deleted and erased accounts (staff views of the whole list).
    pub include_deleted: bool,
    /// Where the page starts (created at, user id).
    pub after: Option<After>,
    /// At most this many.
    pub limit: u32,
}

impl Default for AccountQuery {
    fn default() -> Self {
        Self {
            text: None,
            role: None,
            banned_only: false,
            include_deleted: false,
            after: None,
            limit: 50,
        }
    }
}

impl AccountQuery {
    /// Checks the page size and the text.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_limit(self.limit)?;
        if let Some(t) = &self.text {
            check_text("text", t, true, 100)?;
        }
        Ok(())
    }

    /// The search text as stores compare it (ASCII-lowercased).
    pub fn needle(&self) -> Option<String> {
        self.text.as_ref().map(|t| t.to_ascii_lowercase())
    }

    /// True when `a` passes the filters (not the cursor): the rule the SQL
    /// stores spell as `WHERE` clauses.
    pub fn matches(&self, a: &Account) -> bool {
        let listed = self.include_deleted || (a.deleted_at.is_none() && a.erased_at.is_none());
        let text = self.needle().is_none_or(|n| {
            a.email
                .as_ref()
                .is_some_and(|e| e.key().contains(n.as_str()))
                || a.profile
                    .display_name
                    .to_ascii_lowercase()
                    .contains(n.as_str())
        });
        listed
            && text
            && self.role.is_none_or(|r| a.role == r)
            && (!self.banned_only || a.banned_at.is_some())
    }
}

/// Accounts and their settings.
#[async_trait]
pub trait AccountStore: Send + Sync + Debug {
    /// Inserts an account, with the jobs of `outbox` enqueued in the same
    /// transaction (a welcome mail exists if and only if the account
    /// does). `AlreadyExists` when the user id or the email (compared by
    /// [`Email::key`]) is taken, however many sign up at once, or an outbox
    /// job's id is.
    async fn insert_account(&self, account: &Account, outbox: &[Job]) -> StoreResult<()>;
    /// Replaces an account if its stored revision is `expected_revision`
    /// (`Conflict` otherwise; `NotFound` when there is none), writing
    /// `audit` last in the same transaction. `AlreadyExists` when the new
    /// email is another account's.
    async fn update_account(
        &self,
        account: &Account,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// One account.
    async fn account(&self, user: &UserId) -> StoreResult<Option<Account>>;
    /// Why `user`'s account may not act, if it may not; `None` too without
    /// an account. What [`crate::store::DeliveryStore::access_read`]'s
    /// default reads; a store with a cheaper way than reading the whole
    /// account overrides it.
    async fn account_refusal(&self, user: &UserId) -> StoreResult<Option<Refusal>> {
        Ok(self.account(user).await?.and_then(|a| a.refusal()))
    }
    /// The account with this email (compared by [`Email::key`]).
    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<Account>>;
    /// Accounts `query` selects, newest first (by creation, then user id).
    async fn list_accounts(&self, query: &AccountQuery) -> StoreResult<Listing<Account>>;
    /// A user's settings; `None` when never saved (the defaults apply).
    async fn user_settings(&self, user: &UserId) -> StoreResult<Option<UserSettings>>;
    /// Saves a user's settings. `NotFound` when the user has no account.
    async fn put_user_settings(&self, user: &UserId, settings: &UserSettings) -> StoreResult<()>;
}
