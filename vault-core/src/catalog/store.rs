//! The catalog's part of the storage contract (see [`crate::store`] for
//! what every backend guarantees).

use std::fmt::Debug;

use async_trait::async_trait;

use crate::audit::entry::AuditEntry;
use crate::catalog::bundle::Bundle;
use crate::catalog::card::WorkflowCard;
use crate::catalog::category::Category;
use crate::catalog::file::WorkflowFile;
use crate::catalog::query::{Page, WorkflowQuery};
use crate::catalog::update::WorkflowUpdate;
use crate::catalog::workflow::Workflow;
use crate::value::actor::{Refusal, UserId};
use crate::value::error::StoreResult;
use crate::value::ids::{BundleId, CategoryId, FileId, WorkflowId};
use crate::value::slug::Slug;

/// Categories, workflows, files, updates and bundles.
///
/// Every write here is a staff write: it takes the [`AuditEntry`] that
/// records it and writes it last, in the same transaction (see
/// [`crate::audit::store`]).
#[async_trait]
pub trait CatalogStore: Send + Sync + Debug {
    /// Inserts a category. `AlreadyExists` on id or slug.
    async fn insert_category(&self, category: &Category, audit: &AuditEntry) -> StoreResult<()>;
    /// All categories, by `order_index` then slug.
    async fn categories(&self) -> StoreResult<Vec<Category>>;
    /// One category.
    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>>;
    /// One category by slug.
    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>>;

    /// Inserts a workflow (its counters as given, normally zero).
    /// `AlreadyExists` on id or slug; `NotFound` for a missing category.
    /// Maintains the category's `workflow_count` (published workflows).
    async fn insert_workflow(&self, workflow: &Workflow, audit: &AuditEntry) -> StoreResult<()>;
    /// Replaces a workflow's content, status and lifecycle fields, never its
    /// counters nor `current_version` (owned by
    /// [`CatalogStore::insert_update`]), if the stored revision is
    /// `expected_revision`.
    /// Maintains both categories' `workflow_count` when status or category
    /// changes. `AlreadyExists` when the new slug is taken.
    async fn update_workflow(
        &self,
        workflow: &Workflow,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// One workflow.
    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>>;
    /// One workflow by slug.
    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>>;
    /// A page of workflows, with [`crate::catalog::query`] semantics. `Invalid` when
    /// the query fails [`WorkflowQuery::validate`] (the service checks it
    /// first; a direct caller may not have).
    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>>;
    /// [`list_workflows`](Self::list_workflows) for a signed-in `viewer`,
    /// with their account's standing when the store reads it in the same
    /// round trip: `Some(refusal)` as `AccountStore::account_refusal`
    /// answers it, `None` when not read (the service then reads it on its
    /// own). Where every statement is a round trip, this saves the one a
    /// listing would pay for the standing. The default reads the page alone.
    async fn list_workflows_viewed(
        &self,
        query: &WorkflowQuery,
        viewer: &UserId,
    ) -> StoreResult<(Page<Workflow>, Option<Option<Refusal>>)> {
        let _ = viewer;
        Ok((self.list_workflows(query).await?, None))
    }
    /// The page [`list_workflows`](Self::list_workflows) answers (with a
    /// `viewer`, [`list_workflows_viewed`](Self::list_workflows_viewed)
    /// and its standing), as cards: the same workflows in the same order
    /// with the same cursor, each [`WorkflowCard::of`] its workflow. A SQL
    /// store reads only the card's columns; the default reads whole
    /// workflows and shortens them.
    async fn list_cards(
        &self,
        query: &WorkflowQuery,
        viewer: Option<&UserId>,
    ) -> StoreResult<(Page<WorkflowCard>, Option<Option<Refusal>>)> {
        let (page, standing) = match viewer {
            Some(viewer) => self.list_workflows_viewed(query, viewer).await?,
            None => (self.list_workflows(query).await?, None),
        };
        let cards = Page {
            items: page.items.iter().map(WorkflowCard::of).collect(),
            next: page.next,
        };
        Ok((cards, standing))
    }

    /// Inserts a file. `NotFound` for a missing workflow. A primary file makes
    /// the workflow's other files non-primary in the same transaction.
    async fn insert_file(&self, file: &WorkflowFile, audit: &AuditEntry) -> StoreResult<()>;
    /// Replaces a file's editable fields (not its download count), with the
    /// same primary rule, if its stored revision is `expected_revision`
    /// (`Conflict` otherwise; nothing is written). `NotFound` when missing.
    async fn update_file(
        &self,
        file: &WorkflowFile,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// One file.
    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>>;
    /// A workflow's files: primary first, then by version descending, then id.
    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>>;

    /// Inserts an update if its version is greater than every stored version
    /// of the workflow (else `Conflict`), and sets the workflow's
    /// `current_version` in the same transaction.
    async fn insert_update(&self, update: &WorkflowUpdate, audit: &AuditEntry) -> StoreResult<()>;
    /// A workflow's updates, oldest version first.
    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>>;

    /// Inserts a bundle. `AlreadyExists` on id or slug; `NotFound` when a
    /// member workflow is missing.
    async fn insert_bundle(&self, bundle: &Bundle, audit: &AuditEntry) -> StoreResult<()>;
    /// Replaces a bundle's editable fields (not `purchase_count`) if its
    /// stored revision is `expected_revision` (`Conflict` otherwise;
    /// nothing is written).
    async fn update_bundle(
        &self,
        bundle: &Bundle,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// One bundle.
    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>>;
    /// One bundle by slug.
    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>>;
    /// All bundles, by slug.
    async fn bundles(&self) -> StoreResult<Vec<Bundle>>;
}
