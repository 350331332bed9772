//! Accounts and their settings, system settings, and the audit trail
//! (vault-core's `account`, `settings` and `audit` areas).
//!
//! The trail is appended by [`append_audit`](crate::audit::append_audit), the last statement of every
//! staff write, inside that write's transaction; the table's triggers
//! refuse `UPDATE`, `DELETE` and `TRUNCATE` for every role.

use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
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
use vault_core::value::validation::{Reason, ValidationError};

use crate::audit::{append_audit, append_opt};
use crate::codec::*;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

macro_rules! account_cols {
    () => {
        "user_id, email, email_key, display_name, avatar_url, bio, website, location, role, \
         credential, last_login_at, banned_at, ban_reason, deleted_at, erased_at, created_at, \
         updated_at, revision"
    };
}

fn account_from_row(row: &PgRow) -> StoreResult<Account> {
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
            last_login_at: get(row, "last_login_at")?,
            banned_at: get(row, "banned_at")?,
            ban_reason: get(row, "ban_reason")?,
            deleted_at: get(row, "deleted_at")?,
            erased_at: get(row, "erased_at")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

// A unique violation on the email's index is the email's clash; any other
// (the primary key) is the account's.
fn account_clash(user: &UserId) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| {
        let on_email = e
            .as_database_error()
            .and_then(|d| d.constraint())
            .is_some_and(|c| c == "accounts_email_key");
        if on_email {
            unique(Entity::Account, "email")(e)
        } else {
            unique(Entity::Account, user)(e)
        }
    }
}

const INSERT_ACCOUNT: &str = "INSERT INTO accounts (user_id, email, email_key, display_name, \
     avatar_url, bio, website, location, role, credential, last_login_at, banned_at, ban_reason, \
     deleted_at, erased_at, created_at, updated_at, revision) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

const UPDATE_ACCOUNT: &str = "UPDATE accounts SET email = $2, email_key = $3, display_name = $4, \
     avatar_url = $5, bio = $6, website = $7, location = $8, role = $9, credential = $10, \
     last_login_at = $11, banned_at = $12, ban_reason = $13, deleted_at = $14, erased_at = $15, \
     created_at = $16, updated_at = $17, revision = $18 WHERE user_id = $1";

/// Writes every column of `a` with `sql` ([`INSERT_ACCOUNT`] or
/// [`UPDATE_ACCOUNT`]: the same eighteen parameters in the same order).
async fn write_row(c: &mut PgConnection, a: &Account, sql: &'static str) -> StoreResult<()> {
    sqlx::query(sql)
        .bind(a.user_id.as_str())
        .bind(a.email.as_ref().map(Email::as_str))
        .bind(a.email.as_ref().map(Email::key))
        .bind(&a.profile.display_name)
        .bind(&a.profile.avatar_url)
        .bind(&a.profile.bio)
        .bind(&a.profile.website)
        .bind(&a.profile.location)
        .bind(a.role.as_str())
        .bind(a.credential.as_ref().map(Credential::expose))
        .bind(a.last_login_at)
        .bind(a.banned_at)
        .bind(&a.ban_reason)
        .bind(a.deleted_at)
        .bind(a.erased_at)
        .bind(a.created_at)
        .bind(a.updated_at)
        .bind(i64_of(a.revision)?)
        .execute(&mut *c)
        .await
        .map_err(account_clash(&a.user_id))?;
    Ok(())
}

async fn insert_account(c: &mut PgConnection, a: &Account, outbox: &[Job]) -> StoreResult<()> {
    write_row(c, a, INSERT_ACCOUNT).await?;
    // The outbox: its jobs commit with the account or not at all.
    for job in outbox {
        crate::jobs::enqueue(c, job).await?;
    }
    Ok(())
}

async fn update_account(
    s: &PgStore,
    c: &mut PgConnection,
    a: &Account,
    expected_revision: u64,
    audit: Option<&AuditEntry>,
) -> StoreResult<()> {
    // The row is locked for the rest of the write, so the guard holds at
    // commit.
    let stored: Option<i64> =
        sqlx::query_scalar("SELECT revision FROM accounts WHERE user_id = $1 FOR UPDATE")
            .bind(a.user_id.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
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
    write_row(c, a, UPDATE_ACCOUNT).await?;
    append_opt(s, c, audit).await
}

/// `LIKE` pattern text matching `s` literally.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[async_trait]
impl AccountStore for PgStore {
    async fn insert_account(&self, account: &Account, outbox: &[Job]) -> StoreResult<()> {
        write_tx!(self, |c| insert_account(c, account, outbox))
    }

    async fn update_account(
        &self,
        account: &Account,
        expected_revision: u64,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        write_tx!(self, |c| update_account(
            self,
            c,
            account,
            expected_revision,
            audit
        ))
    }

    async fn account(&self, user: &UserId) -> StoreResult<Option<Account>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE user_id = $1"
        ))
        .bind(user.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(account_from_row)
        .transpose()
    }

    async fn account_refusal(&self, user: &UserId) -> StoreResult<Option<Refusal>> {
        let row = on_conn!(self, |c| sqlx::query(
            "SELECT banned_at IS NOT NULL AS banned, deleted_at IS NOT NULL AS deleted, \
             erased_at IS NOT NULL AS erased FROM accounts WHERE user_id = $1"
        )
        .bind(user.as_str())
        .fetch_optional(c))
        .map_err(db)?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Refusal::of(
                get(&r, "banned")?,
                get(&r, "deleted")?,
                get(&r, "erased")?,
            )),
        }
    }

    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<Account>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE email_key = $1"
        ))
        .bind(email.key())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(account_from_row)
        .transpose()
    }

    async fn list_accounts(&self, query: &AccountQuery) -> StoreResult<Listing<Account>> {
        query.validate()?;
        let needle = query.needle().map(|n| format!("%{}%", like_escape(&n)));
        let (after_at, after_key) = match &query.after {
            Some(a) => (Some(a.at()), Some(a.key().to_owned())),
            None => (None, None),
        };
        // The filters as SQL; core's rule (`AccountQuery::matches`) decides
        // on the rows SQL narrowed.
        let sql = concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts \
             WHERE ($1 OR (deleted_at IS NULL AND erased_at IS NULL)) \
             AND ($2::text IS NULL OR role = $2) \
             AND (NOT $3 OR banned_at IS NOT NULL) \
             AND ($4::timestamptz IS NULL OR (created_at, user_id COLLATE \"C\") < ($4, $5::text COLLATE \"C\")) \
             AND ($6::text IS NULL OR email_key LIKE $6 OR lower(display_name) LIKE $6) \
             ORDER BY created_at DESC, user_id COLLATE \"C\" DESC"
        );
        let rows = on_conn!(self, |c| sqlx::query(sql)
            .bind(query.include_deleted)
            .bind(query.role.map(Role::as_str))
            .bind(query.banned_only)
            .bind(after_at)
            .bind(after_key)
            .bind(needle)
            .fetch_all(c))
        .map_err(db)?;
        let mut keyed = Vec::new();
        for row in &rows {
            let a = account_from_row(row)?;
            if query.matches(&a) {
                keyed.push(((a.created_at, a.user_id.as_str().to_owned()), a));
                if keyed.len() > query.limit as usize {
                    break;
                }
            }
        }
        Ok(Listing::from_sorted(keyed, query.limit))
    }

    async fn user_settings(&self, user: &UserId) -> StoreResult<Option<UserSettings>> {
        let row = on_conn!(self, |c| sqlx::query(
            "SELECT email_notifications, workflow_updates, marketing_emails, locale, timezone \
             FROM user_settings WHERE user_id = $1"
        )
        .bind(user.as_str())
        .fetch_optional(c))
        .map_err(db)?;
        row.as_ref()
            .map(|row| {
                decode("user_settings", || {
                    Ok(UserSettings {
                        email_notifications: get(row, "email_notifications")?,
                        workflow_updates: get(row, "workflow_updates")?,
                        marketing_emails: get(row, "marketing_emails")?,
                        locale: parse_with(row, "locale", Locale::parse)?,
                        timezone: parse_with(row, "timezone", TimeZone::parse)?,
                    })
                })
            })
            .transpose()
    }

    async fn put_user_settings(&self, user: &UserId, settings: &UserSettings) -> StoreResult<()> {
        write_tx!(self, |c| async {
            sqlx::query(
                "INSERT INTO user_settings (user_id, email_notifications, workflow_updates, \
                 marketing_emails, locale, timezone) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id) DO UPDATE SET email_notifications = EXCLUDED.email_notifications, \
                 workflow_updates = EXCLUDED.workflow_updates, marketing_emails = EXCLUDED.marketing_emails, \
                 locale = EXCLUDED.locale, timezone = EXCLUDED.timezone",
            )
            .bind(user.as_str())
            .bind(settings.email_notifications)
            .bind(settings.workflow_updates)
            .bind(settings.marketing_emails)
            .bind(settings.locale.as_str())
            .bind(settings.timezone.name())
            .execute(&mut *c)
            .await
            .map_err(unique_or_parent(
                Entity::Account,
                user,
                Entity::Account,
                user,
            ))?;
            Ok(())
        })
    }
}

fn audit_from_row(row: &PgRow) -> StoreResult<AuditRecord> {
    decode("audit_logs", || {
        let action: String = get(row, "action")?;
        let target: String = get(row, "target_type")?;
        Ok(AuditRecord {
            id: id(row, "id")?,
            at: get(row, "at")?,
            actor_kind: get(row, "actor_kind")?,
            actor_id: parse_opt_with(row, "actor_id", UserId::parse)?,
            action: AuditAction::parse(&action).ok_or_else(|| corrupt("action", &action))?,
            target: Entity::from_word(&target).ok_or_else(|| corrupt("target_type", &target))?,
            target_id: get(row, "target_id")?,
            changes: get(row, "changes")?,
        })
    })
}

#[async_trait]
impl AuditStore for PgStore {
    async fn audit_log(&self, query: &AuditQuery) -> StoreResult<Listing<AuditRecord>> {
        query.validate()?;
        let (after_at, after_id) = match &query.after {
            Some(a) => (
                Some(a.at()),
                Some(uuid::Uuid::parse_str(a.key()).map_err(|_| {
                    StoreError::Invalid(ValidationError::new(
                        "cursor",
                        Reason::Format {
                            expected: "a cursor returned by a previous page of the trail",
                        },
                    ))
                })?),
            ),
            None => (None, None),
        };
        let rows = on_conn!(self, |c| sqlx::query(
            "SELECT id, at, actor_kind, actor_id, action, target_type, target_id, changes \
             FROM audit_logs \
             WHERE ($1::text IS NULL OR actor_id = $1) \
             AND ($2::text IS NULL OR target_type = $2) \
             AND ($3::text IS NULL OR target_id = $3) \
             AND ($4::timestamptz IS NULL OR at >= $4) \
             AND ($5::timestamptz IS NULL OR at < $5) \
             AND ($6::timestamptz IS NULL OR (at, id) < ($6, $7::uuid)) \
             ORDER BY at DESC, id DESC LIMIT $8"
        )
        .bind(query.actor.as_ref().map(UserId::as_str))
        .bind(query.target.map(Entity::word))
        .bind(query.target_id.as_deref())
        .bind(query.since)
        .bind(query.until)
        .bind(after_at)
        .bind(after_id)
        .bind(i64::from(query.limit) + 1)
        .fetch_all(c))
        .map_err(db)?;
        let keyed = rows
            .iter()
            .map(|row| audit_from_row(row).map(|r| ((r.at, r.id.to_string()), r)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Listing::from_sorted(keyed, query.limit))
    }
}

#[async_trait]
impl SettingsStore for PgStore {
    async fn settings(&self) -> StoreResult<Vec<Setting>> {
        let rows = on_conn!(self, |c| sqlx::query(
            "SELECT key, value FROM system_settings ORDER BY key COLLATE \"C\""
        )
        .fetch_all(c))
        .map_err(db)?;
        rows.iter()
            .map(|row| {
                decode("system_settings", || {
                    let key: String = get(row, "key")?;
                    let value: String = get(row, "value")?;
                    Setting::from_stored(&key, &value).map_err(|_| corrupt("value", &key))
                })
            })
            .collect()
    }

    async fn put_setting(&self, setting: &Setting, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            sqlx::query(
                "INSERT INTO system_settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            )
            .bind(setting.key().name())
            .bind(setting.stored())
            .execute(&mut *c)
            .await
            .map_err(db)?;
            append_audit(self, c, audit).await
        })
    }

    async fn remove_setting(&self, key: SettingKey, audit: &AuditEntry) -> StoreResult<bool> {
        write_tx!(self, |c| async {
            let n = sqlx::query("DELETE FROM system_settings WHERE key = $1")
                .bind(key.name())
                .execute(&mut *c)
                .await
                .map_err(db)?
                .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            append_audit(self, c, audit).await?;
            Ok(true)
        })
    }
}
