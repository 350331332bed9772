//! The catalog in memory: categories, workflows, files, updates, bundles.

use async_trait::async_trait;

use super::{MemoryStore, REVISION_MOVED, State, VERSION_NOT_GREATER};
use crate::audit::entry::AuditEntry;
use crate::catalog::bundle::Bundle;
use crate::catalog::category::Category;
use crate::catalog::file::WorkflowFile;
use crate::catalog::query::{Page, WorkflowQuery, run_query};
use crate::catalog::update::WorkflowUpdate;
use crate::catalog::workflow::Workflow;
use crate::store::CatalogStore;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::{BundleId, CategoryId, FileId, WorkflowId};
use crate::value::slug::Slug;

impl State {
    fn insert_category(&mut self, category: &Category) -> StoreResult<()> {
        if self.categories.contains_key(&category.id) {
            return Err(StoreError::exists(Entity::Category, category.id));
        }
        if self.category_with_slug(&category.slug).is_some() {
            return Err(StoreError::exists(Entity::Category, &category.slug));
        }
        self.put_category(category.clone());
        Ok(())
    }

    fn categories(&self) -> Vec<Category> {
        let mut all: Vec<Category> = self.categories.values().cloned().collect();
        all.sort_by(|a, b| {
            a.order_index
                .cmp(&b.order_index)
                .then_with(|| a.slug.cmp(&b.slug))
        });
        all
    }

    fn insert_workflow(&mut self, workflow: &Workflow) -> StoreResult<()> {
        if self.workflows.contains_key(&workflow.id) {
            return Err(StoreError::exists(Entity::Workflow, workflow.id));
        }
        if self.workflow_with_slug(&workflow.content.slug).is_some() {
            return Err(StoreError::exists(Entity::Workflow, &workflow.content.slug));
        }
        self.category(workflow.content.category_id)?;
        self.move_workflow_counts(None, Some(workflow));
        self.put_workflow(workflow.clone());
        Ok(())
    }

    fn update_workflow(&mut self, workflow: &Workflow, expected_revision: u64) -> StoreResult<()> {
        let stored = self.workflow(workflow.id)?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Workflow,
                workflow.id,
                REVISION_MOVED,
            ));
        }
        if let Some(other) = self.workflow_with_slug(&workflow.content.slug)
            && other.id != workflow.id
        {
            return Err(StoreError::exists(Entity::Workflow, &workflow.content.slug));
        }
        self.category(workflow.content.category_id)?;

        let mut next = workflow.clone();
        next.stats = stored.stats.clone();
        // Owned by insert_update, so an edit from an older read cannot roll
        // the version back.
        next.current_version = stored.current_version;
        let stored = stored.clone();
        self.move_workflow_counts(Some(&stored), Some(&next));
        self.put_workflow(next);
        Ok(())
    }

    fn insert_file(&mut self, file: &WorkflowFile) -> StoreResult<()> {
        if self.files.contains_key(&file.id) {
            return Err(StoreError::exists(Entity::File, file.id));
        }
        self.workflow(file.workflow_id)?;
        self.put_primary_file(file.clone());
        Ok(())
    }

    fn update_file(&mut self, file: &WorkflowFile, expected_revision: u64) -> StoreResult<()> {
        let stored = self
            .files
            .get(&file.id)
            .ok_or_else(|| StoreError::not_found(Entity::File, file.id))?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(Entity::File, file.id, REVISION_MOVED));
        }
        self.workflow(file.workflow_id)?;
        let mut next = file.clone();
        next.download_count = stored.download_count;
        self.put_primary_file(next);
        Ok(())
    }

    /// Stores a checked file, keeping at most one primary file per workflow.
    fn put_primary_file(&mut self, file: WorkflowFile) {
        if file.is_primary {
            let others: Vec<FileId> = self
                .files_of(file.workflow_id)
                .filter(|f| f.id != file.id && f.is_primary)
                .map(|f| f.id)
                .collect();
            // `is_primary` is no index's key: flipped in place.
            for id in others {
                if let Some(other) = self.files.get_mut(&id) {
                    other.is_primary = false;
                }
            }
        }
        self.put_file(file);
    }

    fn files(&self, workflow: WorkflowId) -> Vec<WorkflowFile> {
        let mut files: Vec<WorkflowFile> = self.files_of(workflow).cloned().collect();
        files.sort_by(|a, b| {
            b.is_primary
                .cmp(&a.is_primary)
                .then_with(|| b.version.cmp(&a.version))
                .then_with(|| a.id.cmp(&b.id))
        });
        files
    }

    fn insert_update(&mut self, update: &WorkflowUpdate) -> StoreResult<()> {
        if self.updates.contains_key(&update.id) {
            return Err(StoreError::exists(Entity::Update, update.id));
        }
        self.workflow(update.workflow_id)?;
        if self
            .updates_of(update.workflow_id)
            .any(|u| u.version >= update.version)
        {
            return Err(StoreError::conflict(
                Entity::Update,
                update.id,
                VERSION_NOT_GREATER,
            ));
        }
        if let Some(w) = self.workflows.get_mut(&update.workflow_id) {
            w.current_version = Some(update.version);
        }
        self.put_update(update.clone());
        Ok(())
    }

    fn updates(&self, workflow: WorkflowId) -> Vec<WorkflowUpdate> {
        let mut updates: Vec<WorkflowUpdate> = self.updates_of(workflow).cloned().collect();
        updates.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.id.cmp(&b.id)));
        updates
    }

    fn check_members(&self, bundle: &Bundle) -> StoreResult<()> {
        bundle
            .workflow_ids
            .iter()
            .try_for_each(|id| self.workflow(*id).map(|_| ()))
    }

    fn insert_bundle(&mut self, bundle: &Bundle) -> StoreResult<()> {
        if self.bundles.contains_key(&bundle.id) {
            return Err(StoreError::exists(Entity::Bundle, bundle.id));
        }
        if self.bundle_with_slug(&bundle.slug).is_some() {
            return Err(StoreError::exists(Entity::Bundle, &bundle.slug));
        }
        self.check_members(bundle)?;
        self.put_bundle(bundle.clone());
        Ok(())
    }

    fn update_bundle(&mut self, bundle: &Bundle, expected_revision: u64) -> StoreResult<()> {
        let stored = self
            .bundles
            .get(&bundle.id)
            .ok_or_else(|| StoreError::not_found(Entity::Bundle, bundle.id))?;
        if stored.revision != expected_revision {
            return Err(StoreError::conflict(
                Entity::Bundle,
                bundle.id,
                REVISION_MOVED,
            ));
        }
        if let Some(other) = self.bundle_with_slug(&bundle.slug)
            && other.id != bundle.id
        {
            return Err(StoreError::exists(Entity::Bundle, &bundle.slug));
        }
        self.check_members(bundle)?;
        let mut next = bundle.clone();
        next.purchase_count = stored.purchase_count;
        self.put_bundle(next);
        Ok(())
    }

    fn bundles(&self) -> Vec<Bundle> {
        let mut all: Vec<Bundle> = self.bundles.values().cloned().collect();
        all.sort_by(|a, b| a.slug.cmp(&b.slug).then_with(|| a.id.cmp(&b.id)));
        all
    }
}

#[async_trait]
impl CatalogStore for MemoryStore {
    async fn insert_category(&self, category: &Category, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.insert_category(category))
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        Ok(self.lock().categories())
    }

    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>> {
        Ok(self.lock().categories.get(&id).cloned())
    }

    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        Ok(self.lock().category_with_slug(slug).cloned())
    }

    async fn insert_workflow(&self, workflow: &Workflow, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.insert_workflow(workflow))
    }

    async fn update_workflow(
        &self,
        workflow: &Workflow,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.audited(Some(audit), |s| {
            s.update_workflow(workflow, expected_revision)
        })
    }

    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
        Ok(self.lock().workflows.get(&id).cloned())
    }

    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>> {
        Ok(self.lock().workflow_with_slug(slug).cloned())
    }

    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
        query.validate()?;
        let state = self.lock();
        // The index narrows the text search to the workflows with the
        // words; `run_query` applies every rule of the query to them.
        match query.text.as_deref().and_then(|t| state.text_candidates(t)) {
            Some(candidates) => Ok(run_query(query, candidates)),
            None => Ok(run_query(query, state.workflows.values())),
        }
    }

    async fn insert_file(&self, file: &WorkflowFile, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.insert_file(file))
    }

    async fn update_file(
        &self,
        file: &WorkflowFile,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.update_file(file, expected_revision))
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>> {
        Ok(self.lock().files.get(&id).cloned())
    }

    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>> {
        Ok(self.lock().files(workflow))
    }

    async fn insert_update(&self, update: &WorkflowUpdate, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.insert_update(update))
    }

    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>> {
        Ok(self.lock().updates(workflow))
    }

    async fn insert_bundle(&self, bundle: &Bundle, audit: &AuditEntry) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.insert_bundle(bundle))
    }

    async fn update_bundle(
        &self,
        bundle: &Bundle,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.audited(Some(audit), |s| s.update_bundle(bundle, expected_revision))
    }

    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>> {
        Ok(self.lock().bundles.get(&id).cloned())
    }

    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>> {
        Ok(self.lock().bundle_with_slug(slug).cloned())
    }

    async fn bundles(&self) -> StoreResult<Vec<Bundle>> {
        Ok(self.lock().bundles())
    }
}
