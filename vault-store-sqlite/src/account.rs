//! Accounts and their settings, system settings, and the audit trail
//! (vault-core's `account`, `settings` and `audit` areas).
//!
//! The trail is appended by [`append_audit`], the last statement of every
//! staff write, inside that write's transaction; the table's triggers
//! refuse `UPDATE` and `DELETE`, whoever connects.

use async_trait::async_trait;
use rusqlite::params;
use vault_core::account::email::{Credential, Email};
use vault_core::account::profile::{Account, Profile, Role};
use vault_core::account::settings::{Locale, TimeZone, UserSettings};
use vault_core::audit::entry::{AuditAction, AuditEntry, AuditQuery, AuditRecord};
use vault_core::jobs::job::Job;
use vault_core::settings::system::{Setting, SettingKey};
use vault_core::store::{
    AccountQuery, AccountStore, AuditStore, Entity, Listing, SettingsStore, StoreError, StoreResult,
};
use vault_core::value::actor::{Refusal, UserId};

use crate::codec::*;
use crate::sql::{Id, exists, query_all, query_one};
use crate::{SqliteStore, Tx};

/// Writes `entry` as the last statement of a staff write. An id that is
/// taken is `AlreadyExists`, which rolls the whole write back.
pub(crate) fn append_audit(tx: &Tx<'_>, entry: &AuditEntry) -> StoreResult<()> {
    tx.step("audit:before_entry")?;
    let id = entry.id.to_string();
    if exists(tx, "SELECT 1 FROM audit_logs WHERE id = ?1", [&id])? {
        return Err(StoreError::exists(Entity::AuditEntry, &id));
    }
    tx.prepare_cached(
        "INSERT INTO audit_logs (id, at, actor_kind, actor_id, action, target_type, target_id, changes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(db)?
    .execute(params![
        id,
        ts(&entry.at),
        entry.actor_kind,
        entry.actor_id.as_ref().map(UserId::as_str),
        entry.action.as_str(),
        entry.target.word(),
        entry.target_id,
        json(&entry.changes)?,
    ])
    .map_err(db)?;
    Ok(())
}

/// Appends `entry` when there is one.
pub(crate) fn append_opt(tx: &Tx<'_>, entry: Option<&AuditEntry>) -> StoreResult<()> {
    entry.map_or(Ok(()), |e| append_audit(tx, e))
}

const ACCOUNT_COLS: &str = "user_id, email, email_key, display_name, avatar_url, bio, website, \
     location, role, credential, last_login_at, banned_at, ban_reason, deleted_at, erased_at, \
     created_at, updated_at, revision";

fn account_from_row(row: &Row<'_>) -> StoreResult<Account> {
    decode("accounts", || {
        let role: String = get(row, "role")?;
        let role = Role::parse(&role).ok_or_else(|| corrupt("role", &role))?;
        Ok(Account {
            user_id: parse_with(row, "user_id", UserId::parse)?,
            email: parse_opt_with(row, "email", Email::parse)?,
            profile: Profile {
                display_name: get(row, "display_name")?,
                avatar_url: get(row, "avatar_url")?,
                bio: get(row, "bio")?,
                website: get(row, "website")?,
                location: get(row, "location")?,
            },
            role,
            credential: parse_opt_with(row, "credential", |s: &str| Credential::new(s))?,
            last_login_at: opt_time(row, "last_login_at")?,
            banned_at: opt_time(row, "banned_at")?,
            ban_reason: get(row, "ban_reason")?,
            deleted_at: opt_time(row, "deleted_at")?,
            erased_at: opt_time(row, "erased_at")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

fn email_taken(tx: &Tx<'_>, account: &Account) -> StoreResult<bool> {
    match &account.email {
        None => Ok(false),
        Some(e) => exists(
            tx,
            "SELECT 1 FROM accounts WHERE email_key = ?1 AND user_id <> ?2",
            params![e.key(), Id(&account.user_id)],
        ),
    }
}

fn write_account(tx: &Tx<'_>, a: &Account, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        "INSERT INTO accounts (user_id, email, email_key, display_name, avatar_url, bio, website, \
         location, role, credential, last_login_at, banned_at, ban_reason, deleted_at, erased_at, \
         created_at, updated_at, revision) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    } else {
        "UPDATE accounts SET email = ?2, email_key = ?3, display_name = ?4, avatar_url = ?5, \
         bio = ?6, website = ?7, location = ?8, role = ?9, credential = ?10, last_login_at = ?11, \
         banned_at = ?12, ban_reason = ?13, deleted_at = ?14, erased_at = ?15, created_at = ?16, \
         updated_at = ?17, revision = ?18 WHERE user_id = ?1"
    };
    tx.prepare_cached(sql)
        .map_err(db)?
        .execute(params![
            Id(&a.user_id),
            a.email.as_ref().map(Email::as_str),
            a.email.as_ref().map(Email::key),
            a.profile.display_name,
            a.profile.avatar_url,
            a.profile.bio,
            a.profile.website,
            a.profile.location,
            a.role.as_str(),
            a.credential.as_ref().map(Credential::expose),
            opt_ts(&a.last_login_at),
            opt_ts(&a.banned_at),
            a.ban_reason,
            opt_ts(&a.deleted_at),
            opt_ts(&a.erased_at),
            ts(&a.created_at),
            ts(&a.updated_at),
            i64_of(a.revision)?,
        ])
        .map_err(db)?;
    Ok(())
}

/// The standing of `user` as the access read needs it, through core's
/// precedence ([`Refusal::of`]); `None` without an account.
pub(crate) fn refusal(c: &rusqlite::Connection, user: &UserId) -> StoreResult<Option<Refusal>> {
    Ok(query_one(
        c,
        "SELECT banned_at IS NOT NULL AS banned, deleted_at IS NOT NULL AS deleted, \
         erased_at IS NOT NULL AS erased FROM accounts WHERE user_id = ?1",
        [Id(user)],
        |row| {
            Ok(Refusal::of(
                bool_col(row, "banned")?,
                bool_col(row, "deleted")?,
                bool_col(row, "erased")?,
            ))
        },
    )?
    .flatten())
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn insert_account(&self, account: &Account, outbox: &[Job]) -> StoreResult<()> {
        let a = account.clone();
        let outbox = outbox.to_vec();
        self.write(move |tx| {
            if exists(
                tx,
                "SELECT 1 FROM accounts WHERE user_id = ?1",
                [Id(&a.user_id)],
            )? {
                return Err(StoreError::exists(Entity::Account, &a.user_id));
            }
            if email_taken(tx, &a)? {
                return Err(StoreError::exists(Entity::Account, "email"));
            }
            write_account(tx, &a, true)?;
            // The outbox: its jobs commit with the account or not at all.
            for job in &outbox {
                crate::jobs::enqueue(tx, job)?;
            }
            Ok(())
        })
        .await
    }

    async fn update_account(
        &self,
        account: &Account,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let (a, audit) = (account.clone(), audit.cloned());
        self.write(move |tx| {
            let stored: Option<i64> = query_one(
                tx,
                "SELECT revision FROM accounts WHERE user_id = ?1",
                [Id(&a.user_id)],
                |row| get(row, "revision"),
            )?;
            match stored {
                None => return Err(StoreError::not_found(Entity::Account, &a.user_id)),
                Some(r) if r != i64_of(expected_revision)? => {
                    return Err(StoreError::conflict(
                        Entity::Account,
                        &a.user_id,
                        "the account changed since it was read",
                    ));
                }
                Some(_) => {}
            }
            if email_taken(tx, &a)? {
                return Err(StoreError::exists(Entity::Account, "email"));
            }
            write_account(tx, &a, false)?;
            append_opt(tx, audit.as_ref())
        })
        .await
    }

    async fn account(&self, user: &UserId) -> StoreResult<Option<Account>> {
        let u = user.clone();
        self.read(move |c| {
            query_one(
                c,
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE user_id = ?1"),
                [Id(&u)],
                account_from_row,
            )
        })
        .await
    }

    async fn account_refusal(&self, user: &UserId) -> StoreResult<Option<Refusal>> {
        let u = user.clone();
        self.read(move |c| refusal(c, &u)).await
    }

    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<Account>> {
        let key = email.key().to_owned();
        self.read(move |c| {
            query_one(
                c,
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE email_key = ?1"),
                [key],
                account_from_row,
            )
        })
        .await
    }

    async fn list_accounts(&self, query: &AccountQuery) -> StoreResult<Listing<Account>> {
        query.validate()?;
        let q = query.clone();
        self.read(move |c| {
            // The filters as SQL; the text match is core's rule
            // (`AccountQuery::matches`), applied to the rows SQL narrowed.
            let (after_at, after_key) = match &q.after {
                Some(a) => (Some(ts(&a.at())), Some(a.key().to_owned())),
                None => (None, None),
            };
            let needle = q.needle().map(|n| format!("%{}%", like_escape(&n)));
            let rows = query_all(
                c,
                &format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts \
                     WHERE (?1 OR (deleted_at IS NULL AND erased_at IS NULL)) \
                     AND (?2 IS NULL OR role = ?2) \
                     AND (NOT ?3 OR banned_at IS NOT NULL) \
                     AND (?4 IS NULL OR (created_at, user_id) < (?4, ?5)) \
                     AND (?6 IS NULL OR email_key LIKE ?6 ESCAPE '\\' \
                          OR lower(display_name) LIKE ?6 ESCAPE '\\') \
                     ORDER BY created_at DESC, user_id DESC"
                ),
                params![
                    q.include_deleted,
                    q.role.map(Role::as_str),
                    q.banned_only,
                    after_at,
                    after_key,
                    needle,
                ],
                account_from_row,
            )?;
            let keyed = rows
                .into_iter()
                .filter(|a| q.matches(a))
                .take(q.limit as usize + 1)
                .map(|a| ((a.created_at, a.user_id.as_str().to_owned()), a))
                .collect();
            Ok(Listing::from_sorted(keyed, q.limit))
        })
        .await
    }

    async fn user_settings(&self, user: &UserId) -> StoreResult<Option<UserSettings>> {
        let u = user.clone();
        self.read(move |c| {
            query_one(
                c,
                "SELECT email_notifications, workflow_updates, marketing_emails, locale, timezone \
                 FROM user_settings WHERE user_id = ?1",
                [Id(&u)],
                |row| {
                    decode("user_settings", || {
                        Ok(UserSettings {
                            email_notifications: bool_col(row, "email_notifications")?,
                            workflow_updates: bool_col(row, "workflow_updates")?,
                            marketing_emails: bool_col(row, "marketing_emails")?,
                            locale: parse_with(row, "locale", Locale::parse)?,
                            timezone: parse_with(row, "timezone", TimeZone::parse)?,
                        })
                    })
                },
            )
        })
        .await
    }

    async fn put_user_settings(&self, user: &UserId, settings: &UserSettings) -> StoreResult<()> {
        let (u, s) = (user.clone(), settings.clone());
        self.write(move |tx| {
            if !exists(tx, "SELECT 1 FROM accounts WHERE user_id = ?1", [Id(&u)])? {
                return Err(StoreError::not_found(Entity::Account, &u));
            }
            tx.prepare_cached(
                "INSERT INTO user_settings (user_id, email_notifications, workflow_updates, \
                 marketing_emails, locale, timezone) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (user_id) DO UPDATE SET email_notifications = excluded.email_notifications, \
                 workflow_updates = excluded.workflow_updates, marketing_emails = excluded.marketing_emails, \
                 locale = excluded.locale, timezone = excluded.timezone",
            )
            .map_err(db)?
            .execute(params![
                Id(&u),
                s.email_notifications,
                s.workflow_updates,
                s.marketing_emails,
                s.locale.as_str(),
                s.timezone.name(),
            ])
            .map_err(db)?;
            Ok(())
        })
        .await
    }
}

/// `LIKE` pattern text matching `s` literally.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn audit_from_row(row: &Row<'_>) -> StoreResult<AuditRecord> {
    decode("audit_logs", || {
        let action: String = get(row, "action")?;
        let target: String = get(row, "target_type")?;
        Ok(AuditRecord {
            id: parse(row, "id")?,
            at: time(row, "at")?,
            actor_kind: get(row, "actor_kind")?,
            actor_id: parse_opt_with(row, "actor_id", UserId::parse)?,
            action: AuditAction::parse(&action).ok_or_else(|| corrupt("action", &action))?,
            target: Entity::from_word(&target).ok_or_else(|| corrupt("target_type", &target))?,
            target_id: get(row, "target_id")?,
            changes: json_col(row, "changes")?,
        })
    })
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_log(&self, query: &AuditQuery) -> StoreResult<Listing<AuditRecord>> {
        query.validate()?;
        let q = query.clone();
        self.read(move |c| {
            let (after_at, after_key) = match &q.after {
                Some(a) => (Some(ts(&a.at())), Some(a.key().to_owned())),
                None => (None, None),
            };
            let rows = query_all(
                c,
                "SELECT id, at, actor_kind, actor_id, action, target_type, target_id, changes \
                 FROM audit_logs \
                 WHERE (?1 IS NULL OR actor_id = ?1) \
                 AND (?2 IS NULL OR target_type = ?2) \
                 AND (?3 IS NULL OR target_id = ?3) \
                 AND (?4 IS NULL OR at >= ?4) \
                 AND (?5 IS NULL OR at < ?5) \
                 AND (?6 IS NULL OR (at, id) < (?6, ?7)) \
                 ORDER BY at DESC, id DESC LIMIT ?8",
                params![
                    q.actor.as_ref().map(UserId::as_str),
                    q.target.map(Entity::word),
                    q.target_id,
                    opt_ts(&q.since),
                    opt_ts(&q.until),
                    after_at,
                    after_key,
                    i64::from(q.limit) + 1,
                ],
                audit_from_row,
            )?;
            let keyed = rows
                .into_iter()
                .map(|r| ((r.at, r.id.to_string()), r))
                .collect();
            Ok(Listing::from_sorted(keyed, q.limit))
        })
        .await
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn settings(&self) -> StoreResult<Vec<Setting>> {
        self.read(|c| {
            query_all(
                c,
                "SELECT key, value FROM system_settings ORDER BY key",
                [],
                |row| {
                    decode("system_settings", || {
                        let key: String = get(row, "key")?;
                        let value: String = get(row, "value")?;
                        Setting::from_stored(&key, &value).map_err(|_| corrupt("value", &key))
                    })
                },
            )
        })
        .await
    }

    async fn put_setting(&self, setting: &Setting, audit: &AuditEntry) -> StoreResult<()> {
        let (s, audit) = (setting.clone(), audit.clone());
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO system_settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .map_err(db)?
            .execute(params![s.key().name(), s.stored()])
            .map_err(db)?;
            append_audit(tx, &audit)
        })
        .await
    }

    async fn remove_setting(&self, key: SettingKey, audit: &AuditEntry) -> StoreResult<bool> {
        let audit = audit.clone();
        self.write(move |tx| {
            let n = tx
                .prepare_cached("DELETE FROM system_settings WHERE key = ?1")
                .map_err(db)?
                .execute([key.name()])
                .map_err(db)?;
            if n == 0 {
                return Ok(false);
            }
            append_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }
}
