//! Accounts, their settings, system settings and the audit trail, as a
//! storefront calls them.
//!
//! Who may do what: a user reads and changes their own account and
//! settings and may delete it; staff (admins and the service) do the rest:
//! list, ban, unban, change roles, restore, erase, and every system setting.
//! Every staff change of an account, and every setting change, is audited
//! in the same write. Self-service changes (a profile, a login, a user's own
//! deletion) are the user's, not staff writes, and are not.

use crate::account::email::{Credential, Email};
use crate::account::profile::{Account, AccountEvent, Author, Profile, Role};
use crate::account::settings::UserSettings;
use crate::account::store::AccountQuery;
use crate::audit::entry::{AuditAction, AuditEntry, AuditQuery, AuditRecord, AuditValue};
use crate::settings::system::{Setting, SettingKey};
use crate::store::Store;
use crate::value::actor::{Actor, UserId};
use crate::value::error::{Entity, Error, Result};
use crate::value::keyset::{Listing, check_limit};
use crate::vault::authz::{require_self_or_staff, require_staff};
use crate::vault::{Vault, retry_conflicts};

// One life event of an account: its name for the span, the event, and the
// audit action with its actor when staff made it.
struct Change<'a> {
    action: &'static str,
    event: AccountEvent,
    audited: Option<(AuditAction, &'a Actor)>,
}

impl<S: Store + ?Sized> Vault<S> {
    /// Opens an account for the app's user `user` (sign-up): the user
    /// themselves or staff. `AlreadyExists` when the user has one or the
    /// email (compared case-insensitively) is taken, also when many sign up
    /// with it at once.
    pub async fn open_account(
        &self,
        actor: &Actor,
        user: &UserId,
        email: Email,
        profile: Profile,
    ) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.open_account",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "open_account")?;
            let account = Account::new(user.clone(), email, profile, self.now())?;
            let outbox = self.account_outbox(&account)?;
            self.writes.insert_account(&account, &outbox).await?;
            Ok(account)
        })
        .await
    }

    /// Opens an account with its credential in the same write (sign-up
    /// with a password): there is never an account that cannot sign in
    /// because the second of two writes failed. Otherwise as
    /// [`Vault::open_account`].
    pub async fn open_account_with_credential(
        &self,
        actor: &Actor,
        user: &UserId,
        email: Email,
        profile: Profile,
        credential: Credential,
    ) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.open_account",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "open_account")?;
            let mut account = Account::new(user.clone(), email, profile, self.now())?;
            account.credential = Some(credential);
            let outbox = self.account_outbox(&account)?;
            self.writes.insert_account(&account, &outbox).await?;
            Ok(account)
        })
        .await
    }

    /// The actor an app should use for `user`, from their account: the
    /// staff actor for an admin, the user actor otherwise (also without an
    /// account). `Refused` when the account may not act.
    pub async fn actor_for(&self, user: &UserId) -> Result<Actor> {
        match self.store.account(user).await? {
            None => Ok(Actor::User(user.clone())),
            Some(a) => {
                if let Some(refusal) = a.refusal() {
                    return Err(Error::Refused { refusal });
                }
                Ok(match a.role {
                    Role::Admin => Actor::Admin(user.clone()),
                    Role::User => Actor::User(user.clone()),
                })
            }
        }
    }

    /// A user's account: themselves or staff (a user asking for another's
    /// is `Forbidden`).
    pub async fn account(&self, actor: &Actor, user: &UserId) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.account",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "account")?;
            self.load_account(user).await
        })
        .await
    }

    /// The account with this email (staff and the service: a sign-in looks
    /// the user up by email before it has an actor).
    pub async fn account_by_email(&self, actor: &Actor, email: &Email) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.account_by_email",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "account_by_email")?;
            self.store
                .account_by_email(email)
                .await?
                .ok_or_else(|| Error::NotFound {
                    entity: Entity::Account,
                    key: "email".into(),
                })
        })
        .await
    }

    async fn load_account(&self, user: &UserId) -> Result<Account> {
        self.store
            .account(user)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Account,
                key: user.to_string(),
            })
    }

    // Reads, changes and writes an account guarded by its revision, again
    // on a conflict. `edit` returns false when nothing changed (nothing is
    // written then, and no entry).
    async fn write_account(
        &self,
        user: &UserId,
        audited: Option<(AuditAction, &Actor)>,
        edit: impl Fn(&mut Account) -> Result<bool>,
    ) -> Result<Account> {
        retry_conflicts(self.config.conflict_retries, || async {
            let current = self.load_account(user).await?;
            let mut next = current.clone();
            if !edit(&mut next)? {
                return Ok(current);
            }
            next.updated_at = self.now();
            next.revision = current.revision + 1;
            let audit = match audited {
                Some((action, actor)) => Some(self.account_entry(actor, action, &next)?),
                None => None,
            };
            self.writes
                .update_account(&next, current.revision, audit.as_ref())
                .await?;
            Ok(next)
        })
        .await
    }

    // What an account's entry records: the role and the standing, words
    // only; never the email, the name or the credential.
    fn account_entry(
        &self,
        actor: &Actor,
        action: AuditAction,
        account: &Account,
    ) -> Result<AuditEntry> {
        let role = account.role.as_str();
        let standing = account.refusal().map_or("active", |r| r.as_str());
        Ok(self
            .audit(actor, action, Entity::Account, &account.user_id)?
            .with("role", AuditValue::Word(role))?
            .with("standing", AuditValue::Word(standing))?)
    }

    async fn change(&self, actor: &Actor, user: &UserId, change: Change<'_>) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.account_change",
            action = change.action,
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            let now = self.now();
            self.write_account(user, change.audited, |a| Ok(a.apply(&change.event, now)?))
                .await
        })
        .await
    }

    /// Replaces the public profile: the user or staff.
    pub async fn update_profile(
        &self,
        actor: &Actor,
        user: &UserId,
        profile: Profile,
    ) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.update_profile",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "update_profile")?;
            profile.validate()?;
            self.write_account(user, None, |a| {
                let moved = a.profile != profile;
                a.profile = profile.clone();
                Ok(moved)
            })
            .await
        })
        .await
    }

    /// Changes the email: the user or staff. `AlreadyExists` when another
    /// account has it.
    pub async fn change_email(
        &self,
        actor: &Actor,
        user: &UserId,
        email: Email,
    ) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.change_email",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "change_email")?;
            self.write_account(user, None, |a| {
                let moved = a.email.as_ref().map(Email::as_str) != Some(email.as_str());
                a.email = Some(email.clone());
                Ok(moved)
            })
            .await
        })
        .await
    }

    /// Stores (or with `None` clears) the opaque credential the app checks
    /// logins with: the user or staff. It is never shown in `Debug`, spans,
    /// listings or the trail.
    pub async fn set_credential(
        &self,
        actor: &Actor,
        user: &UserId,
        credential: Option<Credential>,
    ) -> Result<()> {
        let span = tracing::info_span!(
            "vault.set_credential",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "set_credential")?;
            self.write_account(user, None, |a| {
                let moved = a.credential != credential;
                a.credential = credential.clone();
                Ok(moved)
            })
            .await?;
            Ok(())
        })
        .await
    }

    /// The stored credential, for the app's login check (the service only).
    /// A refused account has none to check: `Refused`.
    pub async fn credential(&self, actor: &Actor, user: &UserId) -> Result<Option<Credential>> {
        let span = tracing::info_span!(
            "vault.credential",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            if *actor != Actor::Service {
                return Err(Error::Forbidden {
                    action: "credential",
                    reason: "only the app's service reads credentials",
                });
            }
            let a = self.load_account(user).await?;
            if let Some(refusal) = a.refusal() {
                return Err(Error::Refused { refusal });
            }
            Ok(a.credential)
        })
        .await
    }

    /// Records a login the app accepted (the user or the service).
    pub async fn record_login(&self, actor: &Actor, user: &UserId) -> Result<Account> {
        let span = tracing::info_span!(
            "vault.record_login",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "record_login")?;
            let now = self.now();
            let a = self
                .write_account(user, None, |a| {
                    a.last_login_at = Some(now);
                    Ok(true)
                })
                .await?;
            if let Some(refusal) = a.refusal() {
                return Err(Error::Refused { refusal });
            }
            Ok(a)
        })
        .await
    }

    /// How each of `users` appears next to their reviews and comments,
    /// in the order given (anyone may ask: it shows only what a profile
    /// shows). At most 100 at once, a page of a listing.
    pub async fn authors(&self, actor: &Actor, users: &[UserId]) -> Result<Vec<Author>> {
        let span = tracing::info_span!(
            "vault.authors",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            check_limit(u32::try_from(users.len()).unwrap_or(u32::MAX).max(1))?;
            let mut out = Vec::with_capacity(users.len());
            for u in users {
                out.push(
                    self.store
                        .account(u)
                        .await?
                        .map_or(Author::Unknown, |a| a.as_author()),
                );
            }
            Ok(out)
        })
        .await
    }

    /// Bans an account (staff, audited): every call it makes is refused.
    pub async fn ban_account(
        &self,
        actor: &Actor,
        user: &UserId,
        reason: Option<String>,
    ) -> Result<Account> {
        require_staff(actor, "ban_account")?;
        let change = Change {
            action: "ban",
            event: AccountEvent::Ban { reason },
            audited: Some((AuditAction::AccountBanned, actor)),
        };
        self.change(actor, user, change).await
    }

    /// Lifts a ban (staff, audited).
    pub async fn unban_account(&self, actor: &Actor, user: &UserId) -> Result<Account> {
        require_staff(actor, "unban_account")?;
        let change = Change {
            action: "unban",
            event: AccountEvent::Unban,
            audited: Some((AuditAction::AccountUnbanned, actor)),
        };
        self.change(actor, user, change).await
    }

    /// Changes the role (staff, audited). An admin account acts as staff
    /// through [`Vault::actor_for`].
    pub async fn set_role(&self, actor: &Actor, user: &UserId, role: Role) -> Result<Account> {
        require_staff(actor, "set_role")?;
        let change = Change {
            action: "set_role",
            event: AccountEvent::ChangeRole(role),
            audited: Some((AuditAction::RoleChanged, actor)),
        };
        self.change(actor, user, change).await
    }

    /// Deletes an account softly: the user themselves or staff (audited
    /// when staff). It leaves listings and can no longer act; its purchases
    /// and downloads stay; [`Vault::restore_account`] brings it back.
    pub async fn delete_account(&self, actor: &Actor, user: &UserId) -> Result<Account> {
        require_self_or_staff(actor, user, "delete_account")?;
        let staff = actor.is_privileged() && actor.user_id() != Some(user);
        let change = Change {
            action: "delete",
            event: AccountEvent::Delete,
            audited: staff.then_some((AuditAction::AccountDeleted, actor)),
        };
        self.change(actor, user, change).await
    }

    /// Restores a deleted account (staff, audited).
    pub async fn restore_account(&self, actor: &Actor, user: &UserId) -> Result<Account> {
        require_staff(actor, "restore_account")?;
        let change = Change {
            action: "restore",
            event: AccountEvent::Restore,
            audited: Some((AuditAction::AccountRestored, actor)),
        };
        self.change(actor, user, change).await
    }

    /// Erases an account's personal data for good (staff, audited; see
    /// [`crate::account::profile`] for what goes and what stays).
    pub async fn erase_account(&self, actor: &Actor, user: &UserId) -> Result<Account> {
        require_staff(actor, "erase_account")?;
        let change = Change {
            action: "erase",
            event: AccountEvent::Erase,
            audited: Some((AuditAction::AccountErased, actor)),
        };
        self.change(actor, user, change).await
    }

    /// Accounts, newest first, in cursor pages (staff).
    pub async fn accounts(&self, actor: &Actor, query: &AccountQuery) -> Result<Listing<Account>> {
        let span = tracing::info_span!(
            "vault.accounts",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "accounts")?;
            query.validate()?;
            Ok(self.store.list_accounts(query).await?)
        })
        .await
    }

    /// A user's settings (the defaults when never saved): the user or staff.
    pub async fn user_settings(&self, actor: &Actor, user: &UserId) -> Result<UserSettings> {
        let span = tracing::info_span!(
            "vault.user_settings",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "user_settings")?;
            Ok(self.store.user_settings(user).await?.unwrap_or_default())
        })
        .await
    }

    /// Saves a user's settings: the user or staff. `NotFound` without an
    /// account.
    pub async fn save_user_settings(
        &self,
        actor: &Actor,
        user: &UserId,
        settings: UserSettings,
    ) -> Result<UserSettings> {
        let span = tracing::info_span!(
            "vault.save_user_settings",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "save_user_settings")?;
            self.writes.put_user_settings(user, &settings).await?;
            Ok(settings)
        })
        .await
    }

    /// Every system setting that is set (staff). A secret shows only that
    /// it is set, in `Debug` and [`crate::settings::system::SettingValue::shown`].
    pub async fn settings(&self, actor: &Actor) -> Result<Vec<Setting>> {
        let span = tracing::info_span!(
            "vault.settings",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "settings")?;
            Ok(self.store.settings().await?)
        })
        .await
    }

    /// Sets a system setting (staff, audited: the entry names the key and
    /// its type, never the value, which may be a secret or personal data).
    pub async fn set_setting(&self, actor: &Actor, setting: Setting) -> Result<Setting> {
        let span = tracing::info_span!(
            "vault.set_setting",
            actor = actor.kind(),
            key = setting.key().name(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "set_setting")?;
            let audit = self
                .audit(
                    actor,
                    AuditAction::SettingChanged,
                    Entity::Setting,
                    setting.key().name(),
                )?
                .with("set", AuditValue::Flag(true))?;
            self.writes.put_setting(&setting, &audit).await?;
            Ok(setting)
        })
        .await
    }

    /// Unsets a system setting (staff, audited when it was set); false when
    /// it was not set.
    pub async fn remove_setting(&self, actor: &Actor, key: SettingKey) -> Result<bool> {
        let span = tracing::info_span!(
            "vault.remove_setting",
            actor = actor.kind(),
            key = key.name(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "remove_setting")?;
            let audit = self
                .audit(
                    actor,
                    AuditAction::SettingChanged,
                    Entity::Setting,
                    key.name(),
                )?
                .with("set", AuditValue::Flag(false))?;
            Ok(self.writes.remove_setting(key, &audit).await?)
        })
        .await
    }

    /// The audit trail, newest first, filtered and in cursor pages (staff).
    pub async fn audit_log(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<Listing<AuditRecord>> {
        let span = tracing::info_span!(
            "vault.audit_log",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "audit_log")?;
            query.validate()?;
            Ok(self.store.audit_log(query).await?)
        })
        .await
    }
}
