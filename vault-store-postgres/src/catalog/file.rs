//! Workflow files: their rows, the access read's file lookups and the
//! one-primary-file rule's write.

use sqlx::PgConnection;
use vault_core::catalog::file::{Checksum, FileAccess, WorkflowFile};
use vault_core::store::{Entity, StoreError, StoreResult};

use super::PgQuery;
use super::workflow::lock_workflow;
use crate::codec::*;

/// The columns a file is read with, from `workflow_files` unaliased: its
/// download count is a row of its own (migration 0014), read by key.
macro_rules! file_cols {
    () => {
        "id, workflow_id, file_type, file_name, storage_key, mime_type, version, version_major, \
         version_minor, version_patch, is_primary, access, size_bytes, checksum, created_at, \
         updated_at, (SELECT c.download_count FROM workflow_file_download_counts c \
         WHERE c.file_id = workflow_files.id) AS download_count, revision"
    };
}
pub(crate) use file_cols;

pub(crate) fn file_from_row(row: &impl Cols) -> StoreResult<WorkflowFile> {
    decode("workflow_files", || {
        Ok(WorkflowFile {
            id: id(row, "id")?,
            workflow_id: id(row, "workflow_id")?,
            kind: parse(row, "file_type")?,
            file_name: get(row, "file_name")?,
            storage_key: get(row, "storage_key")?,
            mime_type: get(row, "mime_type")?,
            version: parse(row, "version")?,
            is_primary: get(row, "is_primary")?,
            access: json_col::<FileAccess>(row, "access")?,
            size_bytes: u64_col(row, "size_bytes")?,
            checksum: parse_with(row, "checksum", Checksum::parse)?,
            download_count: u64_col(row, "download_count")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// When the update that carries the file's version was released: one of
/// them, should several carry it. A sub-query of the file's own read, so
/// the access read fetches both in one round trip.
macro_rules! file_released_at {
    () => {
        "(SELECT u.released_at FROM workflow_updates u \
          WHERE u.workflow_id = workflow_files.workflow_id \
          AND u.version_major = workflow_files.version_major \
          AND u.version_minor = workflow_files.version_minor \
          AND u.version_patch = workflow_files.version_patch LIMIT 1) AS file_released_at"
    };
}
pub(crate) use file_released_at;

/// Binds $1..$16 of the file writes (all but the download count).
pub(super) fn bind_file<'q>(q: PgQuery<'q>, f: &WorkflowFile) -> StoreResult<PgQuery<'q>> {
    let v = f.version;
    Ok(q.bind(f.id.as_uuid())
        .bind(f.workflow_id.as_uuid())
        .bind(f.kind.as_str())
        .bind(f.file_name.clone())
        .bind(f.storage_key.clone())
        .bind(f.mime_type.clone())
        .bind(v.to_string())
        .bind(i64::from(v.major()))
        .bind(i64::from(v.minor()))
        .bind(i64::from(v.patch()))
        .bind(f.is_primary)
        .bind(json(&f.access)?)
        .bind(i64_of(f.size_bytes)?)
        .bind(f.checksum.as_str().to_owned())
        .bind(f.created_at)
        .bind(f.updated_at))
}

pub(super) async fn clear_other_primaries(
    c: &mut PgConnection,
    f: &WorkflowFile,
) -> StoreResult<()> {
    if f.is_primary {
        sqlx::query(
            "UPDATE workflow_files SET is_primary = FALSE \
             WHERE workflow_id = $1 AND id <> $2 AND is_primary",
        )
        .bind(f.workflow_id.as_uuid())
        .bind(f.id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    Ok(())
}

pub(super) async fn insert_file(c: &mut PgConnection, f: &WorkflowFile) -> StoreResult<()> {
    // The workflow's lock serializes its file writes, so the one-primary
    // rule holds under concurrency.
    lock_workflow(c, f.workflow_id).await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_files WHERE id = $1")
        .bind(f.id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::File, f.id));
    }
    clear_other_primaries(c, f).await?;
    bind_file(
        sqlx::query(
            "INSERT INTO workflow_files (id, workflow_id, file_type, file_name, storage_key, \
             mime_type, version, version_major, version_minor, version_patch, is_primary, access, \
             size_bytes, checksum, created_at, updated_at, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        ),
        f,
    )?
    .bind(i64_of(f.revision)?)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::File, f.id))?;
    // The insert's trigger gave the file its count row, at zero.
    if f.download_count > 0 {
        sqlx::query(
            "UPDATE workflow_file_download_counts SET download_count = $2 WHERE file_id = $1",
        )
        .bind(f.id.as_uuid())
        .bind(i64_of(f.download_count)?)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    Ok(())
}

pub(super) async fn update_file(
    c: &mut PgConnection,
    f: &WorkflowFile,
    expected_revision: u64,
) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT revision FROM workflow_files WHERE id = $1 FOR NO KEY UPDATE")
            .bind(f.id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    match found {
        None => return Err(StoreError::not_found(Entity::File, f.id)),
        Some(r) if r != i64_of(expected_revision)? => {
            return Err(StoreError::conflict(
                Entity::File,
                f.id,
                "it changed since it was read",
            ));
        }
        Some(_) => {}
    }
    lock_workflow(c, f.workflow_id).await?;
    clear_other_primaries(c, f).await?;
    // download_count is maintained by downloads: not written here.
    let n = bind_file(
        sqlx::query(
            "UPDATE workflow_files SET workflow_id = $2, file_type = $3, file_name = $4, \
             storage_key = $5, mime_type = $6, version = $7, version_major = $8, \
             version_minor = $9, version_patch = $10, is_primary = $11, access = $12, \
             size_bytes = $13, checksum = $14, created_at = $15, updated_at = $16, \
             revision = $17 WHERE id = $1",
        ),
        f,
    )?
    .bind(i64_of(f.revision)?)
    .execute(&mut *c)
    .await
    .map_err(db)?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::not_found(Entity::File, f.id));
    }
    Ok(())
}
