//! Workflows' pages: assets and guides. Each write reads the workflow's
//! current order inside its transaction, asks vault-core's rules
//! (`catalog::page`) for the positions, and writes them, so positions stay
//! `0..n` whatever writers race (writers take the database lock first).
//! The two tables differ only in their editable columns; [`Table`] holds
//! what the shared functions need of each.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use vault_core::audit::entry::AuditEntry;
use vault_core::catalog::page::{
    MAX_PER_WORKFLOW, WorkflowAsset, WorkflowDoc, after_removal, append_position, reorder,
};
use vault_core::store::{Entity, PageStore, StoreError, StoreResult};
use vault_core::value::ids::{AssetId, DocId, WorkflowId};

use super::check_revision;
use super::workflow::require_workflow;
use crate::codec::*;
use crate::sql::{Id, query_all, query_one};
use crate::{SqliteStore, Tx};

/// One of the two page tables.
struct Table {
    name: &'static str,
    entity: Entity,
}

const ASSETS: Table = Table {
    name: "workflow_assets",
    entity: Entity::Asset,
};
const DOCS: Table = Table {
    name: "workflow_docs",
    entity: Entity::Doc,
};

const ASSET_COLS: &str =
    "id, workflow_id, kind, url, alt, position, created_at, updated_at, revision";
const DOC_COLS: &str = "id, workflow_id, title, body, position, created_at, updated_at, revision";

fn asset_from_row(row: &Row<'_>) -> StoreResult<WorkflowAsset> {
    decode(ASSETS.name, || {
        Ok(WorkflowAsset {
            id: parse(row, "id")?,
            workflow_id: parse(row, "workflow_id")?,
            kind: parse(row, "kind")?,
            url: get(row, "url")?,
            alt: get(row, "alt")?,
            position: u32_of(row, "position")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

fn doc_from_row(row: &Row<'_>) -> StoreResult<WorkflowDoc> {
    decode(DOCS.name, || {
        Ok(WorkflowDoc {
            id: parse(row, "id")?,
            workflow_id: parse(row, "workflow_id")?,
            title: get(row, "title")?,
            body: get(row, "body")?,
            position: u32_of(row, "position")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

fn u32_of(row: &Row<'_>, col: &str) -> StoreResult<u32> {
    let v: i64 = get(row, col)?;
    u32::try_from(v).map_err(|_| corrupt(col, v))
}

/// A workflow's item ids in their order (position, then id).
fn ordered_ids(conn: &Connection, t: &Table, workflow: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT id FROM {} WHERE workflow_id = ?1 ORDER BY position, id",
            t.name
        ))
        .map_err(db)?;
    let ids = stmt
        .query_map([workflow], |r| r.get::<_, String>(0))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(ids)
}

/// Writes the positions a rule gave.
fn place(tx: &Tx<'_>, t: &Table, positions: &[(&str, u32)]) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "UPDATE {} SET position = ?1 WHERE id = ?2",
            t.name
        ))
        .map_err(db)?;
    for (id, position) in positions {
        stmt.execute(params![position, id]).map_err(db)?;
    }
    tx.step("page:after_positions")?;
    Ok(())
}

/// The position an item appended to `workflow`'s page takes.
fn next_position(tx: &Tx<'_>, t: &Table, workflow: WorkflowId) -> StoreResult<u32> {
    require_workflow(tx, workflow)?;
    let count: i64 = tx
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM {} WHERE workflow_id = ?1",
            t.name
        ))
        .map_err(db)?
        .query_row([Id(&workflow)], |r| r.get(0))
        .map_err(db)?;
    let count = usize::try_from(count).map_err(|_| corrupt("position", count))?;
    append_position(count).ok_or_else(|| StoreError::LimitReached {
        entity: Entity::Workflow,
        key: workflow.to_string(),
        limit: MAX_PER_WORKFLOW as u32,
    })
}

fn refuse_taken(tx: &Tx<'_>, t: &Table, id: &str) -> StoreResult<()> {
    let taken = tx
        .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", t.name))
        .map_err(db)?
        .query_row([id], |_| Ok(()))
        .optional()
        .map_err(db)?;
    match taken {
        Some(()) => Err(StoreError::exists(t.entity, id)),
        None => Ok(()),
    }
}

fn remove(tx: &Tx<'_>, t: &Table, id: &str) -> StoreResult<()> {
    let workflow: Option<String> = tx
        .prepare_cached(&format!("SELECT workflow_id FROM {} WHERE id = ?1", t.name))
        .map_err(db)?
        .query_row([id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    let workflow = workflow.ok_or_else(|| StoreError::not_found(t.entity, id))?;
    let ids = ordered_ids(tx, t, &workflow)?;
    tx.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", t.name))
        .map_err(db)?
        .execute([id])
        .map_err(db)?;
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    place(tx, t, &after_removal(&refs, id))
}

fn reorder_items(
    tx: &Tx<'_>,
    t: &Table,
    workflow: WorkflowId,
    order: &[String],
) -> StoreResult<()> {
    require_workflow(tx, workflow)?;
    let ids = ordered_ids(tx, t, &workflow.to_string())?;
    let current: Vec<&str> = ids.iter().map(String::as_str).collect();
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    place(tx, t, &reorder(&current, &order)?)
}

fn list<T: Send + 'static>(
    conn: &Connection,
    t: &Table,
    cols: &str,
    workflow: WorkflowId,
    map: fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    query_all(
        conn,
        &format!(
            "SELECT {cols} FROM {} WHERE workflow_id = ?1 ORDER BY position, id",
            t.name
        ),
        [Id(&workflow)],
        map,
    )
}

fn one<T: Send + 'static>(
    conn: &Connection,
    t: &Table,
    cols: &str,
    id: String,
    map: fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    query_one(
        conn,
        &format!("SELECT {cols} FROM {} WHERE id = ?1", t.name),
        [id],
        map,
    )
}

#[async_trait]
impl PageStore for SqliteStore {
    async fn insert_asset(&self, a: &WorkflowAsset, audit: &AuditEntry) -> StoreResult<()> {
        let a = a.clone();
        self.audited(audit, move |tx| {
            refuse_taken(tx, &ASSETS, &a.id.to_string())?;
            let position = next_position(tx, &ASSETS, a.workflow_id)?;
            tx.prepare_cached(&format!(
                "INSERT INTO workflow_assets ({ASSET_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .map_err(db)?
            .execute(params![
                Id(&a.id),
                Id(&a.workflow_id),
                a.kind.as_str(),
                a.url,
                a.alt,
                position,
                ts(&a.created_at),
                ts(&a.updated_at),
                i64_of(a.revision)?,
            ])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn update_asset(
        &self,
        a: &WorkflowAsset,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let a = a.clone();
        self.audited(audit, move |tx| {
            check_revision(tx, ASSETS.name, Entity::Asset, &a.id, expected_revision)?;
            tx.prepare_cached(
                "UPDATE workflow_assets SET kind = ?1, url = ?2, alt = ?3, updated_at = ?4, \
                 revision = ?5 WHERE id = ?6",
            )
            .map_err(db)?
            .execute(params![
                a.kind.as_str(),
                a.url,
                a.alt,
                ts(&a.updated_at),
                i64_of(a.revision)?,
                Id(&a.id),
            ])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn remove_asset(&self, id: AssetId, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(audit, move |tx| remove(tx, &ASSETS, &id.to_string()))
            .await
    }

    async fn asset(&self, id: AssetId) -> StoreResult<Option<WorkflowAsset>> {
        self.read(move |c| one(c, &ASSETS, ASSET_COLS, id.to_string(), asset_from_row))
            .await
    }

    async fn assets(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowAsset>> {
        self.read(move |c| list(c, &ASSETS, ASSET_COLS, workflow, asset_from_row))
            .await
    }

    async fn reorder_assets(
        &self,
        workflow: WorkflowId,
        order: &[AssetId],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let order: Vec<String> = order.iter().map(ToString::to_string).collect();
        self.audited(audit, move |tx| {
            reorder_items(tx, &ASSETS, workflow, &order)
        })
        .await
    }

    async fn insert_doc(&self, d: &WorkflowDoc, audit: &AuditEntry) -> StoreResult<()> {
        let d = d.clone();
        self.audited(audit, move |tx| {
            refuse_taken(tx, &DOCS, &d.id.to_string())?;
            let position = next_position(tx, &DOCS, d.workflow_id)?;
            tx.prepare_cached(&format!(
                "INSERT INTO workflow_docs ({DOC_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))
            .map_err(db)?
            .execute(params![
                Id(&d.id),
                Id(&d.workflow_id),
                d.title,
                d.body,
                position,
                ts(&d.created_at),
                ts(&d.updated_at),
                i64_of(d.revision)?,
            ])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn update_doc(
        &self,
        d: &WorkflowDoc,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let d = d.clone();
        self.audited(audit, move |tx| {
            check_revision(tx, DOCS.name, Entity::Doc, &d.id, expected_revision)?;
            tx.prepare_cached(
                "UPDATE workflow_docs SET title = ?1, body = ?2, updated_at = ?3, \
                 revision = ?4 WHERE id = ?5",
            )
            .map_err(db)?
            .execute(params![
                d.title,
                d.body,
                ts(&d.updated_at),
                i64_of(d.revision)?,
                Id(&d.id),
            ])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn remove_doc(&self, id: DocId, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(audit, move |tx| remove(tx, &DOCS, &id.to_string()))
            .await
    }

    async fn doc(&self, id: DocId) -> StoreResult<Option<WorkflowDoc>> {
        self.read(move |c| one(c, &DOCS, DOC_COLS, id.to_string(), doc_from_row))
            .await
    }

    async fn docs(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowDoc>> {
        self.read(move |c| list(c, &DOCS, DOC_COLS, workflow, doc_from_row))
            .await
    }

    async fn reorder_docs(
        &self,
        workflow: WorkflowId,
        order: &[DocId],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let order: Vec<String> = order.iter().map(ToString::to_string).collect();
        self.audited(audit, move |tx| reorder_items(tx, &DOCS, workflow, &order))
            .await
    }
}
