//! Accounts, their settings, system settings and the audit trail.

use async_trait::async_trait;

use super::{MemoryStore, REVISION_MOVED, State};
use crate::account::email::Email;
use crate::account::profile::Account;
use crate::account::settings::UserSettings;
use crate::account::store::{AccountQuery, AccountStore};
use crate::audit::entry::{AuditEntry, AuditQuery, AuditRecord};
use crate::audit::store::AuditStore;
use crate::jobs::job::Job;
use crate::settings::store::SettingsStore;
use crate::settings::system::{Setting, SettingKey};
use crate::value::actor::{Refusal, UserId};
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::keyset::Listing;

impl State {
    // The only writer of `accounts` and `emails`.
    fn put_account(&mut self, account: &Account) {
        if let Some(old) = self.accounts.get(&account.user_id)
            && let Some(e) = &old.email
        {
            self.emails.remove(e.key());
        }
        if let Some(e) = &account.email {
            self.emails
                .insert(e.key().to_owned(), account.user_id.clone());
        }
        self.accounts
            .insert(account.user_id.clone(), account.clone());
    }

    fn check_email_free(&self, account: &Account) -> StoreResult<()> {
        if let Some(e) = &account.email
            && let Some(holder) = self.emails.get(e.key())
            && *holder != account.user_id
        {
            return Err(StoreError::exists(Entity::Account, "email"));
        }
        Ok(())
    }

    fn insert_account(&mut self, account: &Account, outbox: &[Job]) -> StoreResult<()> {
        if self.accounts.contains_key(&account.user_id) {
            return Err(StoreError::exists(Entity::Account, &account.user_id));
        }
        self.check_email_free(account)?;
        self.jobs.check_outbox(outbox)?;
        self.put_account(account);
        for job in outbox {
            self.jobs.enqueue(job)?;
        }
        Ok(())
    }

    fn update_account(&mut self, account: &Account, expected_revision: u64) -> StoreResult<()> {
        let stored = self
            .accounts
            .get(&account.user_id)
            .ok_or_else(|| StoreError::not_found(Entity::Account, &account.user_id))?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Account,
                &account.user_id,
                REVISION_MOVED,
            ));
        }
        self.check_email_free(account)?;
        self.put_account(account);
        Ok(())
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn insert_account(&self, account: &Account, outbox: &[Job]) -> StoreResult<()> {
        self.write(|s| s.insert_account(account, outbox))
    }

    async fn update_account(
        &self,
        account: &Account,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        self.audited(audit, |s| s.update_account(account, expected_revision))
    }

    async fn account(&self, user: &UserId) -> StoreResult<Option<Account>> {
        Ok(self.lock().accounts.get(user).cloned())
    }

    // The access read's: no clone of the account.
    async fn account_refusal(&self, user: &UserId) -> StoreResult<Option<Refusal>> {
        Ok(self.lock().accounts.get(user).and_then(Account::refusal))
    }

    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<Account>> {
        let s = self.lock();
        Ok(s.emails
            .get(email.key())
            .and_then(|u| s.accounts.get(u))
            .cloned())
    }

    async fn list_accounts(&self, query: &AccountQuery) -> StoreResult<Listing<Account>> {
        query.validate()?;
        let s = self.lock();
        Ok(Listing::of(
            s.accounts.values().filter(|a| query.matches(a)).cloned(),
            |a| (a.created_at, a.user_id.as_str().to_owned()),
            query.after.as_ref(),
            query.limit,
        ))
    }

    async fn user_settings(&self, user: &UserId) -> StoreResult<Option<UserSettings>> {
        Ok(self.lock().user_settings.get(user).cloned())
    }

    async fn put_user_settings(&self, user: &UserId, settings: &UserSettings) -> StoreResult<()> {
        self.write(|s| {
            if !s.accounts.contains_key(user) {
                return Err(StoreError::not_found(Entity::Account, user));
            }
            s.user_settings.insert(user.clone(), settings.clone());
            Ok(())
        })
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn audit_log(&self, query: &AuditQuery) -> StoreResult<Listing<AuditRecord>> {
        query.validate()?;
        let s = self.lock();
        Ok(Listing::of(
            s.audit.values().filter(|r| query.matches(r)).cloned(),
            |r| (r.at, r.id.to_string()),
            query.after.as_ref(),
            query.limit,
        ))
    }
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn settings(&self) -> StoreResult<Vec<Setting>> {
        Ok(self.lock().settings.values().cloned().collect())
    }

    async fn put_setting(&self, setting: &Setting, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| {
            s.settings.insert(setting.key().name(), setting.clone());
            Ok(())
        })
    }

    async fn remove_setting(&self, key: SettingKey, audit: &AuditEntry) -> StoreResult<bool> {
        // Absent: no change, so no entry either.
        let removed = self.audited(Some(audit), |s| {
            s.settings
                .remove(key.name())
                .map(|_| ())
                .ok_or_else(|| StoreError::not_found(Entity::Setting, key.name()))
        });
        match removed {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
