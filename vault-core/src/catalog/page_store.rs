//! The storage contract of a workflow's page: its assets and setup guides
//! (see [`crate::store`] for what every backend guarantees).
//!
//! Positions are the store's: an insert appends, a removal closes the gap,
//! a reorder writes the order [`crate::catalog::page::reorder`] accepts,
//! each read and written in one transaction, so two writers never leave a
//! gap or a double. An edit replaces the editable fields only (not the
//! position), guarded by revision as [`CatalogStore::update_file`] is.
//!
//! [`CatalogStore::update_file`]: crate::catalog::store::CatalogStore::update_file

use std::fmt::Debug;

use async_trait::async_trait;

use crate::audit::entry::AuditEntry;
use crate::catalog::page::{WorkflowAsset, WorkflowDoc};
use crate::value::error::StoreResult;
use crate::value::ids::{AssetId, DocId, WorkflowId};

/// Assets and guides of workflows' pages.
///
/// Every write here is a staff write: it takes the [`AuditEntry`] that
/// records it and writes it last, in the same transaction. A write naming
/// a missing workflow is `NotFound` (a deleted workflow is not missing:
/// staff may still edit its page).
#[async_trait]
pub trait PageStore: Send + Sync + Debug {
    /// Appends an asset to its workflow's: the stored position is the
    /// number of assets it had ([`crate::catalog::page::append_position`];
    /// the record's own is ignored). `AlreadyExists` on id, `NotFound` for
    /// a missing workflow, `LimitReached` past
    /// [`crate::catalog::page::MAX_PER_WORKFLOW`].
    async fn insert_asset(&self, asset: &WorkflowAsset, audit: &AuditEntry) -> StoreResult<()>;
    /// Replaces an asset's kind, URL, alt text, `updated_at` and revision
    /// (never its workflow, position or creation time) if its stored
    /// revision is `expected_revision` (`Conflict` otherwise; nothing is
    /// written). `NotFound` when missing.
    async fn update_asset(
        &self,
        asset: &WorkflowAsset,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// Removes an asset; the workflow's others close the gap
    /// ([`crate::catalog::page::after_removal`]). `NotFound` when missing.
    async fn remove_asset(&self, id: AssetId, audit: &AuditEntry) -> StoreResult<()>;
    /// One asset.
    async fn asset(&self, id: AssetId) -> StoreResult<Option<WorkflowAsset>>;
    /// A workflow's assets by position (then id).
    async fn assets(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowAsset>>;
    /// Puts a workflow's assets in `order`, which must name each of them
    /// exactly once ([`crate::catalog::page::reorder`], checked against
    /// the stored assets inside the write: `Invalid` otherwise, nothing
    /// written). `NotFound` for a missing workflow.
    async fn reorder_assets(
        &self,
        workflow: WorkflowId,
        order: &[AssetId],
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Appends a guide, as [`PageStore::insert_asset`] appends an asset.
    async fn insert_doc(&self, doc: &WorkflowDoc, audit: &AuditEntry) -> StoreResult<()>;
    /// Replaces a guide's title, body, `updated_at` and revision, as
    /// [`PageStore::update_asset`] does.
    async fn update_doc(
        &self,
        doc: &WorkflowDoc,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// Removes a guide, as [`PageStore::remove_asset`] removes an asset.
    async fn remove_doc(&self, id: DocId, audit: &AuditEntry) -> StoreResult<()>;
    /// One guide.
    async fn doc(&self, id: DocId) -> StoreResult<Option<WorkflowDoc>>;
    /// A workflow's guides by position (then id).
    async fn docs(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowDoc>>;
    /// Puts a workflow's guides in `order`, as
    /// [`PageStore::reorder_assets`] does.
    async fn reorder_docs(
        &self,
        workflow: WorkflowId,
        order: &[DocId],
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}
