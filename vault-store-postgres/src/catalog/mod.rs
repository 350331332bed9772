//! Categories, workflows, files, updates and bundles, one file each as in
//! vault-core's `catalog/`; listing and search in `query.rs`. This file is
//! the `CatalogStore` impl over them.

mod bundle;
mod category;
mod file;
mod page;
mod query;
mod search;
mod update;
mod workflow;

pub(crate) use self::file::{file_cols, file_from_row, file_released_at};
pub(crate) use self::workflow::{
    gate_cols, gate_from_row, load_workflow, require_workflow, workflow_cols, workflow_from_row,
    workflows_with_counts,
};

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use vault_core::audit::entry::AuditEntry;
use vault_core::catalog::bundle::Bundle;
use vault_core::catalog::card::WorkflowCard;
use vault_core::catalog::category::Category;
use vault_core::catalog::file::WorkflowFile;
use vault_core::catalog::query::{Page, WorkflowQuery};
use vault_core::catalog::update::WorkflowUpdate;
use vault_core::catalog::workflow::Workflow;
use vault_core::store::{CatalogStore, StoreResult};
use vault_core::value::actor::{Refusal, UserId};
use vault_core::value::ids::{BundleId, CategoryId, FileId, WorkflowId};
use vault_core::value::slug::Slug;

use self::bundle::{bundle_cols, bundle_from_row, insert_bundle, update_bundle};
use self::category::{category_cols, category_from_row, insert_category};
use self::file::{insert_file, update_file};
use self::query::list_workflows;
use self::update::{insert_update, update_cols, update_from_row};
use self::workflow::{insert_workflow, update_workflow};
use crate::audit::append_audit;
use crate::codec::*;
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

pub(crate) type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

#[async_trait]
impl CatalogStore for PgStore {
    async fn insert_category(&self, category: &Category, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            insert_category(&mut *c, category).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            category_cols!(),
            " FROM workflow_categories ORDER BY order_index, slug"
        ))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(category_from_row)
        .collect()
    }

    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            category_cols!(),
            " FROM workflow_categories WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(category_from_row)
        .transpose()
    }

    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            category_cols!(),
            " FROM workflow_categories WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(category_from_row)
        .transpose()
    }

    async fn insert_workflow(&self, workflow: &Workflow, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            insert_workflow(self, &mut *c, workflow).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn update_workflow(
        &self,
        workflow: &Workflow,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        write_tx!(self, |c| async {
            update_workflow(self, &mut *c, workflow, expected_revision).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
        on_conn!(self, |c| load_workflow(c, id))
    }

    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            workflow_cols!(),
            " FROM ",
            workflows_with_counts!(),
            " WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(workflow_from_row)
        .transpose()
    }

    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
        query.validate()?;
        Ok(on_conn!(self, |c| list_workflows(c, query, None, self.search_window))?.0)
    }

    async fn list_workflows_viewed(
        &self,
        query: &WorkflowQuery,
        viewer: &UserId,
    ) -> StoreResult<(Page<Workflow>, Option<Option<Refusal>>)> {
        query.validate()?;
        on_conn!(self, |c| list_workflows(
            c,
            query,
            Some(viewer),
            self.search_window
        ))
    }

    async fn list_cards(
        &self,
        query: &WorkflowQuery,
        viewer: Option<&UserId>,
    ) -> StoreResult<(Page<WorkflowCard>, Option<Option<Refusal>>)> {
        query.validate()?;
        on_conn!(self, |c| list_workflows(
            c,
            query,
            viewer,
            self.search_window
        ))
    }

    async fn insert_file(&self, file: &WorkflowFile, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            insert_file(&mut *c, file).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn update_file(
        &self,
        file: &WorkflowFile,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        write_tx!(self, |c| async {
            update_file(&mut *c, file, expected_revision).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            " FROM workflow_files WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(file_from_row)
        .transpose()
    }

    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            " FROM workflow_files WHERE workflow_id = $1 ORDER BY is_primary DESC, \
             version_major DESC, version_minor DESC, version_patch DESC, id"
        ))
        .bind(workflow.as_uuid())
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(file_from_row)
        .collect()
    }

    async fn insert_update(&self, update: &WorkflowUpdate, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            insert_update(self, &mut *c, update).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            update_cols!(),
            " FROM workflow_updates WHERE workflow_id = $1 \
             ORDER BY version_major, version_minor, version_patch"
        ))
        .bind(workflow.as_uuid())
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(update_from_row)
        .collect()
    }

    async fn insert_bundle(&self, bundle: &Bundle, audit: &AuditEntry) -> StoreResult<()> {
        write_tx!(self, |c| async {
            insert_bundle(&mut *c, bundle).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn update_bundle(
        &self,
        bundle: &Bundle,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        write_tx!(self, |c| async {
            update_bundle(&mut *c, bundle, expected_revision).await?;
            append_audit(self, c, audit).await
        })
    }

    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            bundle_cols!(),
            " FROM workflow_bundles WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(bundle_from_row)
        .transpose()
    }

    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            bundle_cols!(),
            " FROM workflow_bundles WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(bundle_from_row)
        .transpose()
    }

    async fn bundles(&self) -> StoreResult<Vec<Bundle>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            bundle_cols!(),
            " FROM workflow_bundles ORDER BY slug"
        ))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(bundle_from_row)
        .collect()
    }
}
