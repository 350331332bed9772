//! Workflow updates: their rows and the versions-increase write.

use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use vault_core::catalog::update::WorkflowUpdate;
use vault_core::store::{Entity, StoreError, StoreResult};

use super::workflow::lock_workflow;
use crate::PgStore;
use crate::codec::*;

macro_rules! update_cols {
    () => {
        "id, workflow_id, version, version_major, version_minor, version_patch, changelog, \
         files_added, files_modified, files_removed, release_notes, is_major, released_at"
    };
}
pub(crate) use update_cols;

pub(super) fn update_from_row(row: &PgRow) -> StoreResult<WorkflowUpdate> {
    decode("workflow_updates", || {
        Ok(WorkflowUpdate {
            id: id(row, "id")?,
            workflow_id: id(row, "workflow_id")?,
            version: parse(row, "version")?,
            changelog: json_col(row, "changelog")?,
            files_added: json_col(row, "files_added")?,
            files_modified: json_col(row, "files_modified")?,
            files_removed: json_col(row, "files_removed")?,
            release_notes: get(row, "release_notes")?,
            is_major: get(row, "is_major")?,
            released_at: get(row, "released_at")?,
        })
    })
}

pub(super) async fn insert_update(
    s: &PgStore,
    c: &mut PgConnection,
    u: &WorkflowUpdate,
) -> StoreResult<()> {
    // Locked first: concurrent releases of one workflow compare versions
    // one after the other.
    lock_workflow(c, u.workflow_id).await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_updates WHERE id = $1")
        .bind(u.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Update, u.id));
    }
    let v = u.version;
    let (major, minor, patch) = (
        i64::from(v.major()),
        i64::from(v.minor()),
        i64::from(v.patch()),
    );
    let newer: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM workflow_updates WHERE workflow_id = $1 \
         AND (version_major, version_minor, version_patch) >= ($2, $3, $4) LIMIT 1",
    )
    .bind(u.workflow_id.as_uuid())
    .bind(major)
    .bind(minor)
    .bind(patch)
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?;
    if newer.is_some() {
        return Err(StoreError::conflict(
            Entity::Update,
            u.workflow_id,
            "versions must strictly increase",
        ));
    }
    sqlx::query(concat!(
        "INSERT INTO workflow_updates (",
        update_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(u.id.as_uuid())
    .bind(u.workflow_id.as_uuid())
    .bind(v.to_string())
    .bind(major)
    .bind(minor)
    .bind(patch)
    .bind(json(&u.changelog)?)
    .bind(json(&u.files_added)?)
    .bind(json(&u.files_modified)?)
    .bind(json(&u.files_removed)?)
    .bind(&u.release_notes)
    .bind(u.is_major)
    .bind(u.released_at)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Update, u.id))?;
    s.step(c, "insert_update:after_row").await?;
    sqlx::query("UPDATE workflows SET current_version = $2 WHERE id = $1")
        .bind(u.workflow_id.as_uuid())
        .bind(v.to_string())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    Ok(())
}
