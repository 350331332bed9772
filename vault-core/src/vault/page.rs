//! A workflow's page (its assets and setup guides) and its soft delete:
//! staff writes, each audited in its own transaction, and the reads a
//! storefront makes of a page it may show.

use super::Vault;
use crate::audit::entry::{AuditAction, AuditEntry, AuditValue, revision_number};
use crate::catalog::page::{NewAsset, NewDoc, WorkflowAsset, WorkflowDoc};
use crate::catalog::workflow::Workflow;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::{Entity, Error, Result};
use crate::value::ids::{AssetId, DocId, WorkflowId};
use crate::value::validation::{Reason, ValidationError};
use crate::vault::authz::require_staff;

// An edit names its workflow again; moving an item to another page is not
// an edit (remove it and add it there), so the trail never has to say so.
fn same_workflow(stored: WorkflowId, named: WorkflowId) -> Result<()> {
    if stored == named {
        return Ok(());
    }
    Err(ValidationError::new(
        "workflow_id",
        Reason::Inconsistent {
            detail: "an item cannot move to another workflow".into(),
        },
    )
    .into())
}

impl<S: Store + ?Sized> Vault<S> {
    /// Deletes a workflow softly (staff): it leaves listings and search,
    /// its category's count, the storefront (non-staff read it as not
    /// found, by id and by slug), checkout and downloads. Its purchases and
    /// downloads stay and read back. Deleting a deleted workflow writes
    /// nothing.
    pub async fn delete_workflow(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow> {
        let span = tracing::info_span!("vault.delete_workflow", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "delete_workflow")?;
            let current = self.load_workflow(id).await?;
            if current.is_deleted() {
                return Ok(current);
            }
            let now = self.now();
            self.write_workflow(actor, AuditAction::WorkflowDeleted, current, |w| {
                w.deleted_at = Some(now);
            })
            .await
        })
        .await
    }

    /// Restores a deleted workflow (staff) as it was before the delete.
    /// Restoring a live workflow writes nothing.
    pub async fn restore_workflow(&self, actor: &Actor, id: WorkflowId) -> Result<Workflow> {
        let span = tracing::info_span!("vault.restore_workflow", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "restore_workflow")?;
            let current = self.load_workflow(id).await?;
            if !current.is_deleted() {
                return Ok(current);
            }
            self.write_workflow(actor, AuditAction::WorkflowRestored, current, |w| {
                w.deleted_at = None;
            })
            .await
        })
        .await
    }

    // The entry of a page write about one item of `workflow`.
    fn page_audit(
        &self,
        actor: &Actor,
        target: Entity,
        id: impl std::fmt::Display,
        workflow: WorkflowId,
    ) -> Result<AuditEntry> {
        Ok(self
            .audit(actor, AuditAction::PageChanged, target, id)?
            .with("workflow", AuditValue::Id(workflow.as_uuid()))?)
    }

    /// Adds an asset at the end of a workflow's page (staff).
    pub async fn add_asset(&self, actor: &Actor, new: NewAsset) -> Result<WorkflowAsset> {
        let span = tracing::info_span!("vault.add_asset", actor = actor.kind(), workflow = %new.workflow_id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "add_asset")?;
            self.load_workflow(new.workflow_id).await?;
            let asset = new.build(AssetId::from_uuid(self.uuid()), self.now())?;
            let audit = self
                .page_audit(actor, Entity::Asset, asset.id, asset.workflow_id)?
                .with("added", AuditValue::Flag(true))?;
            self.writes.insert_asset(&asset, &audit).await?;
            // The store appended it: read back the place it took.
            self.load_asset(asset.id).await
        })
        .await
    }

    /// Replaces an asset's kind, URL and alt text (staff); its place stays.
    pub async fn edit_asset(
        &self,
        actor: &Actor,
        id: AssetId,
        new: NewAsset,
    ) -> Result<WorkflowAsset> {
        let span = tracing::info_span!("vault.edit_asset", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "edit_asset")?;
            let current = self.load_asset(id).await?;
            same_workflow(current.workflow_id, new.workflow_id)?;
            let mut asset = new.build(id, current.created_at)?;
            asset.position = current.position;
            asset.updated_at = self.now();
            asset.revision = current.revision + 1;
            let audit = self
                .page_audit(actor, Entity::Asset, id, asset.workflow_id)?
                .with(
                    "revision",
                    AuditValue::Number(revision_number(asset.revision)),
                )?;
            self.writes
                .update_asset(&asset, current.revision, &audit)
                .await?;
            Ok(asset)
        })
        .await
    }

    /// Removes an asset (staff); the ones after it move up.
    pub async fn remove_asset(&self, actor: &Actor, id: AssetId) -> Result<()> {
        let span = tracing::info_span!("vault.remove_asset", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "remove_asset")?;
            let current = self.load_asset(id).await?;
            let audit = self
                .page_audit(actor, Entity::Asset, id, current.workflow_id)?
                .with("removed", AuditValue::Flag(true))?;
            Ok(self.writes.remove_asset(id, &audit).await?)
        })
        .await
    }

    /// Puts a workflow's assets in `order`, which names each exactly once
    /// (staff; an order from a stale page is refused whole).
    pub async fn reorder_assets(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        order: &[AssetId],
    ) -> Result<Vec<WorkflowAsset>> {
        let span = tracing::info_span!("vault.reorder_assets", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "reorder_assets")?;
            self.load_workflow(workflow).await?;
            let audit = self.reorder_audit(actor, workflow, "assets", order.len())?;
            self.writes.reorder_assets(workflow, order, &audit).await?;
            Ok(self.store.assets(workflow).await?)
        })
        .await
    }

    /// A workflow's assets in order, for anyone who may see the workflow.
    pub async fn assets(&self, actor: &Actor, workflow: WorkflowId) -> Result<Vec<WorkflowAsset>> {
        let span = tracing::info_span!("vault.assets", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.workflow(actor, workflow).await?;
            Ok(self.store.assets(workflow).await?)
        })
        .await
    }

    async fn load_asset(&self, id: AssetId) -> Result<WorkflowAsset> {
        self.store.asset(id).await?.ok_or_else(|| Error::NotFound {
            entity: Entity::Asset,
            key: id.to_string(),
        })
    }

    fn reorder_audit(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        what: &'static str,
        count: usize,
    ) -> Result<AuditEntry> {
        Ok(self
            .audit(actor, AuditAction::PageChanged, Entity::Workflow, workflow)?
            .with("reordered", AuditValue::Word(what))?
            .with(
                "count",
                AuditValue::Number(i64::try_from(count).unwrap_or(i64::MAX)),
            )?)
    }

    /// Adds a setup guide at the end of a workflow's page (staff).
    pub async fn add_doc(&self, actor: &Actor, new: NewDoc) -> Result<WorkflowDoc> {
        let span = tracing::info_span!("vault.add_doc", actor = actor.kind(), workflow = %new.workflow_id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "add_doc")?;
            self.load_workflow(new.workflow_id).await?;
            let doc = new.build(DocId::from_uuid(self.uuid()), self.now())?;
            let audit = self
                .page_audit(actor, Entity::Doc, doc.id, doc.workflow_id)?
                .with("added", AuditValue::Flag(true))?;
            self.writes.insert_doc(&doc, &audit).await?;
            self.load_doc(doc.id).await
        })
        .await
    }

    /// Replaces a guide's title and body (staff); its place stays.
    pub async fn edit_doc(&self, actor: &Actor, id: DocId, new: NewDoc) -> Result<WorkflowDoc> {
        let span = tracing::info_span!("vault.edit_doc", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "edit_doc")?;
            let current = self.load_doc(id).await?;
            same_workflow(current.workflow_id, new.workflow_id)?;
            let mut doc = new.build(id, current.created_at)?;
            doc.position = current.position;
            doc.updated_at = self.now();
            doc.revision = current.revision + 1;
            let audit = self
                .page_audit(actor, Entity::Doc, id, doc.workflow_id)?
                .with(
                    "revision",
                    AuditValue::Number(revision_number(doc.revision)),
                )?;
            self.writes
                .update_doc(&doc, current.revision, &audit)
                .await?;
            Ok(doc)
        })
        .await
    }

    /// Removes a guide (staff); the ones after it move up.
    pub async fn remove_doc(&self, actor: &Actor, id: DocId) -> Result<()> {
        let span = tracing::info_span!("vault.remove_doc", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "remove_doc")?;
            let current = self.load_doc(id).await?;
            let audit = self
                .page_audit(actor, Entity::Doc, id, current.workflow_id)?
                .with("removed", AuditValue::Flag(true))?;
            Ok(self.writes.remove_doc(id, &audit).await?)
        })
        .await
    }

    /// Puts a workflow's guides in `order`, as
    /// [`Vault::reorder_assets`] does its assets (staff).
    pub async fn reorder_docs(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        order: &[DocId],
    ) -> Result<Vec<WorkflowDoc>> {
        let span = tracing::info_span!("vault.reorder_docs", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "reorder_docs")?;
            self.load_workflow(workflow).await?;
            let audit = self.reorder_audit(actor, workflow, "docs", order.len())?;
            self.writes.reorder_docs(workflow, order, &audit).await?;
            Ok(self.store.docs(workflow).await?)
        })
        .await
    }

    /// A workflow's guides in order, for anyone who may see the workflow.
    pub async fn docs(&self, actor: &Actor, workflow: WorkflowId) -> Result<Vec<WorkflowDoc>> {
        let span = tracing::info_span!("vault.docs", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.workflow(actor, workflow).await?;
            Ok(self.store.docs(workflow).await?)
        })
        .await
    }

    async fn load_doc(&self, id: DocId) -> Result<WorkflowDoc> {
        self.store.doc(id).await?.ok_or_else(|| Error::NotFound {
            entity: Entity::Doc,
            key: id.to_string(),
        })
    }
}
