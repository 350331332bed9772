//! The audit trail's one write: an entry appended as the last statement of
//! the staff write it records, in its transaction. Below every area that
//! writes one (accounts, catalog, commerce, community, comments, jobs).

use sqlx::PgConnection;
use vault_core::audit::entry::AuditEntry;
use vault_core::store::StoreResult;
use vault_core::value::actor::UserId;
use vault_core::value::error::Entity;

use crate::PgStore;
use crate::codec::unique;

/// Writes `entry` as the last statement of a staff write. A taken id is
/// `AlreadyExists`, which rolls the whole write back.
pub(crate) async fn append_audit(
    s: &PgStore,
    c: &mut PgConnection,
    entry: &AuditEntry,
) -> StoreResult<()> {
    s.step(c, "audit:before_entry").await?;
    sqlx::query(
        "INSERT INTO audit_logs (id, at, actor_kind, actor_id, action, target_type, target_id, changes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.id.as_uuid())
    .bind(entry.at)
    .bind(entry.actor_kind)
    .bind(entry.actor_id.as_ref().map(UserId::as_str))
    .bind(entry.action.as_str())
    .bind(entry.target.word())
    .bind(&entry.target_id)
    .bind(entry.changes_json())
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::AuditEntry, entry.id))?;
    Ok(())
}

/// Appends `entry` when there is one.
pub(crate) async fn append_opt(
    s: &PgStore,
    c: &mut PgConnection,
    entry: Option<&AuditEntry>,
) -> StoreResult<()> {
    match entry {
        Some(e) => append_audit(s, c, e).await,
        None => Ok(()),
    }
}
