//! Workflows' pages: assets and guides. Each write locks the workflow's row
//! first (`FOR NO KEY UPDATE`), so two writers of one page take turns;
//! then it reads the current order, asks vault-core's rules
//! (`catalog::page`) for the positions, and writes them, all in the
//! transaction that writes the audit entry last. The two tables differ only
//! in their editable columns; [`Table`] holds what the shared functions
//! need of each.

use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;
use vault_core::audit::entry::AuditEntry;
use vault_core::catalog::page::{
    MAX_PER_WORKFLOW, WorkflowAsset, WorkflowDoc, after_removal, append_position, reorder,
};
use vault_core::store::{Entity, PageStore, StoreError, StoreResult};
use vault_core::value::ids::{AssetId, DocId, WorkflowId};

use super::workflow::lock_workflow;
use crate::audit::append_audit;
use crate::codec::*;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

/// One of the two page tables and its statements, written out per table
/// at compile time (sqlx takes only static SQL, and a table name cannot be
/// a parameter).
struct Table {
    entity: Entity,
    ordered: &'static str,
    place: &'static str,
    count: &'static str,
    revision: &'static str,
    workflow_of: &'static str,
    delete: &'static str,
}

macro_rules! table {
    ($name:literal, $entity:expr) => {
        Table {
            entity: $entity,
            ordered: concat!(
                "SELECT id FROM ",
                $name,
                " WHERE workflow_id = $1 ORDER BY position, id"
            ),
            place: concat!(
                "UPDATE ",
                $name,
                " AS t SET position = v.position \
                 FROM unnest($1::uuid[], $2::bigint[]) AS v(id, position) WHERE t.id = v.id"
            ),
            count: concat!("SELECT count(*) FROM ", $name, " WHERE workflow_id = $1"),
            revision: concat!(
                "SELECT revision FROM ",
                $name,
                " WHERE id = $1 FOR NO KEY UPDATE"
            ),
            workflow_of: concat!("SELECT workflow_id FROM ", $name, " WHERE id = $1"),
            delete: concat!("DELETE FROM ", $name, " WHERE id = $1"),
        }
    };
}

const ASSETS: Table = table!("workflow_assets", Entity::Asset);
const DOCS: Table = table!("workflow_docs", Entity::Doc);

macro_rules! asset_cols {
    () => {
        "id, workflow_id, kind, url, alt, position, created_at, updated_at, revision"
    };
}
macro_rules! doc_cols {
    () => {
        "id, workflow_id, title, body, position, created_at, updated_at, revision"
    };
}

fn asset_from_row(row: &PgRow) -> StoreResult<WorkflowAsset> {
    decode("workflow_assets", || {
        Ok(WorkflowAsset {
            id: id(row, "id")?,
            workflow_id: id(row, "workflow_id")?,
            kind: parse(row, "kind")?,
            url: get(row, "url")?,
            alt: get(row, "alt")?,
            position: u32_col(row, "position")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

fn doc_from_row(row: &PgRow) -> StoreResult<WorkflowDoc> {
    decode("workflow_docs", || {
        Ok(WorkflowDoc {
            id: id(row, "id")?,
            workflow_id: id(row, "workflow_id")?,
            title: get(row, "title")?,
            body: get(row, "body")?,
            position: u32_col(row, "position")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// A workflow's item ids in their order (position, then id).
async fn ordered_ids(c: &mut PgConnection, t: &Table, workflow: Uuid) -> StoreResult<Vec<Uuid>> {
    sqlx::query_scalar(t.ordered)
        .bind(workflow)
        .fetch_all(&mut *c)
        .await
        .map_err(db)
}

/// Writes the positions a rule gave, in one statement.
async fn place(
    s: &PgStore,
    c: &mut PgConnection,
    t: &Table,
    at: &[(Uuid, u32)],
) -> StoreResult<()> {
    let ids: Vec<Uuid> = at.iter().map(|(id, _)| *id).collect();
    let positions: Vec<i64> = at.iter().map(|(_, p)| i64::from(*p)).collect();
    sqlx::query(t.place)
        .bind(ids)
        .bind(positions)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    s.step(c, "page:after_positions").await
}

/// Locks the workflow and returns the position an appended item takes.
async fn next_position(c: &mut PgConnection, t: &Table, workflow: WorkflowId) -> StoreResult<u32> {
    lock_workflow(c, workflow).await?;
    let count: i64 = sqlx::query_scalar(t.count)
        .bind(workflow.as_uuid())
        .fetch_one(&mut *c)
        .await
        .map_err(db)?;
    let count = usize::try_from(count).map_err(|_| corrupt("position", count))?;
    append_position(count).ok_or_else(|| StoreError::LimitReached {
        entity: Entity::Workflow,
        key: workflow.to_string(),
        limit: MAX_PER_WORKFLOW as u32,
    })
}

async fn check_revision(
    c: &mut PgConnection,
    t: &Table,
    item: Uuid,
    expected: u64,
) -> StoreResult<()> {
    let stored: Option<i64> = sqlx::query_scalar(t.revision)
        .bind(item)
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    match stored {
        None => Err(StoreError::not_found(t.entity, item)),
        Some(r) if r != i64_of(expected)? => Err(StoreError::conflict(
            t.entity,
            item,
            "it changed since it was read",
        )),
        Some(_) => Ok(()),
    }
}

async fn remove(s: &PgStore, c: &mut PgConnection, t: &Table, item: Uuid) -> StoreResult<()> {
    let workflow: Option<Uuid> = sqlx::query_scalar(t.workflow_of)
        .bind(item)
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    let workflow = workflow.ok_or_else(|| StoreError::not_found(t.entity, item))?;
    lock_workflow(c, WorkflowId::from_uuid(workflow)).await?;
    let ids = ordered_ids(c, t, workflow).await?;
    let gone = sqlx::query(t.delete)
        .bind(item)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    // Removed by another writer between the read and the lock.
    if gone.rows_affected() == 0 {
        return Err(StoreError::not_found(t.entity, item));
    }
    place(s, c, t, &after_removal(&ids, item)).await
}

async fn reorder_items(
    s: &PgStore,
    c: &mut PgConnection,
    t: &Table,
    workflow: WorkflowId,
    order: &[Uuid],
) -> StoreResult<()> {
    lock_workflow(c, workflow).await?;
    let ids = ordered_ids(c, t, workflow.as_uuid()).await?;
    place(s, c, t, &reorder(&ids, order)?).await
}

async fn insert_asset(c: &mut PgConnection, a: &WorkflowAsset) -> StoreResult<()> {
    let position = next_position(c, &ASSETS, a.workflow_id).await?;
    sqlx::query(concat!(
        "INSERT INTO workflow_assets (",
        asset_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(a.id.as_uuid())
    .bind(a.workflow_id.as_uuid())
    .bind(a.kind.as_str())
    .bind(&a.url)
    .bind(&a.alt)
    .bind(i64::from(position))
    .bind(a.created_at)
    .bind(a.updated_at)
    .bind(i64_of(a.revision)?)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Asset, a.id))?;
    Ok(())
}

async fn insert_doc(c: &mut PgConnection, d: &WorkflowDoc) -> StoreResult<()> {
    let position = next_position(c, &DOCS, d.workflow_id).await?;
    sqlx::query(concat!(
        "INSERT INTO workflow_docs (",
        doc_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(d.id.as_uuid())
    .bind(d.workflow_id.as_uuid())
    .bind(&d.title)
    .bind(&d.body)
    .bind(i64::from(position))
    .bind(d.created_at)
    .bind(d.updated_at)
    .bind(i64_of(d.revision)?)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Doc, d.id))?;
    Ok(())
}

#[async_trait]
impl PageStore for PgStore {
    async fn insert_asset(&self, a: &WorkflowAsset, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            insert_asset(&mut *c, a).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn update_asset(
        &self,
        a: &WorkflowAsset,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        write_tx!(self, |c| async {
            check_revision(&mut *c, &ASSETS, a.id.as_uuid(), expected_revision).await?;
            sqlx::query(
                "UPDATE workflow_assets SET kind = $2, url = $3, alt = $4, updated_at = $5, \
                 revision = $6 WHERE id = $1",
            )
            .bind(a.id.as_uuid())
            .bind(a.kind.as_str())
            .bind(&a.url)
            .bind(&a.alt)
            .bind(a.updated_at)
            .bind(i64_of(a.revision)?)
            .execute(&mut *c)
            .await
            .map_err(db)?;
            append_audit(self, c, audit).await
        })
    }

    async fn remove_asset(&self, id: AssetId, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            remove(self, &mut *c, &ASSETS, id.as_uuid()).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn asset(&self, id: AssetId) -> StoreResult<Option<WorkflowAsset>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            asset_cols!(),
            " FROM workflow_assets WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(asset_from_row)
        .transpose()
    }

    async fn assets(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowAsset>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            asset_cols!(),
            " FROM workflow_assets WHERE workflow_id = $1 ORDER BY position, id"
        ))
        .bind(workflow.as_uuid())
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(asset_from_row)
        .collect()
    }

    async fn reorder_assets(
        &self,
        workflow: WorkflowId,
        order: &[AssetId],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let order: Vec<Uuid> = order.iter().map(AssetId::as_uuid).collect();
        write_tx!(self, |c| async {
            reorder_items(self, &mut *c, &ASSETS, workflow, &order).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn insert_doc(&self, d: &WorkflowDoc, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            insert_doc(&mut *c, d).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn update_doc(
        &self,
        d: &WorkflowDoc,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        write_tx!(self, |c| async {
            check_revision(&mut *c, &DOCS, d.id.as_uuid(), expected_revision).await?;
            sqlx::query(
                "UPDATE workflow_docs SET title = $2, body = $3, updated_at = $4, revision = $5 \
                 WHERE id = $1",
            )
            .bind(d.id.as_uuid())
            .bind(&d.title)
            .bind(&d.body)
            .bind(d.updated_at)
            .bind(i64_of(d.revision)?)
            .execute(&mut *c)
            .await
            .map_err(db)?;
            append_audit(self, c, audit).await
        })
    }

    async fn remove_doc(&self, id: DocId, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            remove(self, &mut *c, &DOCS, id.as_uuid()).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn doc(&self, id: DocId) -> StoreResult<Option<WorkflowDoc>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            doc_cols!(),
            " FROM workflow_docs WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(doc_from_row)
        .transpose()
    }

    async fn docs(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowDoc>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            doc_cols!(),
            " FROM workflow_docs WHERE workflow_id = $1 ORDER BY position, id"
        ))
        .bind(workflow.as_uuid())
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(doc_from_row)
        .collect()
    }

    async fn reorder_docs(
        &self,
        workflow: WorkflowId,
        order: &[DocId],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let order: Vec<Uuid> = order.iter().map(DocId::as_uuid).collect();
        write_tx!(self, |c| async {
            reorder_items(self, &mut *c, &DOCS, workflow, &order).await?;
            append_audit(self, c, audit).await
        })
    }
}
