//! Categories, workflows, files, updates and bundles, one file each as in
//! vault-core's `catalog/`; listing and search in `query.rs`. This file is
//! the `CatalogStore` impl over them.

mod bundle;
mod category;
mod file;
mod page;
mod query;
pub(crate) mod search;
mod update;
mod workflow;

pub(crate) use self::file::{file_at, file_cols, file_from_row};
pub(crate) use self::workflow::{
    WORKFLOW_COLS, gate_at, gate_cols, load_workflow, require_workflow, workflow_from_row,
};

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};
use vault_core::audit::entry::AuditEntry;
use vault_core::catalog::bundle::Bundle;
use vault_core::catalog::card::WorkflowCard;
use vault_core::catalog::category::Category;
use vault_core::catalog::file::WorkflowFile;
use vault_core::catalog::query::{Page, WorkflowQuery};
use vault_core::catalog::update::WorkflowUpdate;
use vault_core::catalog::workflow::Workflow;
use vault_core::store::{CatalogStore, Entity, StoreError, StoreResult};
use vault_core::value::actor::{Refusal, UserId};
use vault_core::value::ids::{BundleId, CategoryId, FileId, WorkflowId};
use vault_core::value::slug::Slug;

use self::bundle::{bundle_cols, bundle_from_row, bundle_values, write_bundle_items};
use self::category::{CATEGORY_COLS, category_cols, category_from_row};
use self::file::{clear_other_primaries, file_values};
use self::query::{Projection, list_workflows};
use self::update::{update_cols, update_from_row};
use self::workflow::{insert_workflow, update_workflow, workflow_cols};
use crate::codec::*;
use crate::sql::{Id, SqlId, exists, query_all, query_one};
use crate::{Reads, SqliteStore, Tx};

/// The guard of an edit: the row exists (`NotFound`) and its stored
/// revision is the one the edit was made from (`Conflict`).
fn check_revision(
    tx: &Tx<'_>,
    table: &'static str,
    entity: Entity,
    id: &(impl SqlId + std::fmt::Display),
    expected: u64,
) -> StoreResult<()> {
    let stored: Option<i64> = tx
        .prepare_cached(&format!("SELECT revision FROM {table} WHERE id = ?1"))
        .map_err(db)?
        .query_row([Id(id)], |r| r.get(0))
        .optional()
        .map_err(db)?;
    match stored {
        None => Err(StoreError::not_found(entity, id)),
        Some(r) if r != i64_of(expected)? => Err(StoreError::conflict(
            entity,
            id,
            "it changed since it was read",
        )),
        Some(_) => Ok(()),
    }
}

/// A file's edit, but for its workflow (see `update_file`): `?1` the id,
/// `?2` the workflow (bound, not set), `?3`... the rest in `file_values`'
/// order, `?17` the revision.
pub(crate) const UPDATE_FILE_SQL: &str = "UPDATE workflow_files SET file_type = ?3, file_name = ?4, \
     storage_key = ?5, mime_type = ?6, version = ?7, version_major = ?8, version_minor = ?9, \
     version_patch = ?10, is_primary = ?11, access = ?12, size_bytes = ?13, checksum = ?14, \
     created_at = ?15, updated_at = ?16, revision = ?17 WHERE id = ?1";

impl SqliteStore {
    /// A listing page of whole workflows or cards, with a `viewer`'s
    /// standing read in the same read: one trip off the runtime, one
    /// snapshot, where reading the standing apart took a second of each.
    async fn listing<T: Projection + Send + 'static>(
        &self,
        query: &WorkflowQuery,
        viewer: Option<&UserId>,
    ) -> StoreResult<(Page<T>, Option<Option<Refusal>>)> {
        query.validate()?;
        let (q, viewer) = (query.clone(), viewer.cloned());
        let window = self.inner.search_window;
        // Without text (a search may walk its window and fall back) and
        // without a viewer's standing, the listing is one statement.
        let reads = if q.text.is_none() && viewer.is_none() {
            Reads::One
        } else {
            Reads::Several
        };
        self.read_as(reads, move |c| {
            let page = list_workflows(c, &q, window)?;
            let standing = viewer.map(|v| crate::account::refusal(c, &v)).transpose()?;
            Ok((page, standing))
        })
        .await
    }
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn insert_category(&self, c: &Category, audit: &AuditEntry) -> StoreResult<()> {
        let c = c.clone();
        self.audited(audit, move |tx| {
            if exists(tx, "SELECT 1 FROM workflow_categories WHERE id = ?1 OR slug = ?2", params![Id(&c.id), c.slug.as_str()])? {
                return Err(StoreError::exists(Entity::Category, &c.slug));
            }
            tx.prepare_cached(&format!(
                "INSERT INTO workflow_categories ({CATEGORY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))
            .map_err(db)?
            .execute(params![
                Id(&c.id),
                c.slug.as_str(),
                c.name,
                c.description,
                c.icon,
                c.color,
                c.order_index,
                c.is_active,
                i64_of(c.workflow_count)?,
                i64_of(c.total_downloads)?,
                json(&c.metadata)?,
                ts(&c.created_at),
                ts(&c.updated_at),
            ])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        self.read(|c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    category_cols!(),
                    " FROM workflow_categories ORDER BY order_index, slug"
                ),
                [],
                category_from_row,
            )
        })
        .await
    }

    async fn category(&self, id: CategoryId) -> StoreResult<Option<Category>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    category_cols!(),
                    " FROM workflow_categories WHERE id = ?1"
                ),
                [Id(&id)],
                category_from_row,
            )
        })
        .await
    }

    async fn category_by_slug(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        let slug = slug.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    category_cols!(),
                    " FROM workflow_categories WHERE slug = ?1"
                ),
                [slug],
                category_from_row,
            )
        })
        .await
    }

    async fn insert_workflow(&self, w: &Workflow, audit: &AuditEntry) -> StoreResult<()> {
        let w = w.clone();
        self.audited(audit, move |tx| insert_workflow(tx, &w)).await
    }

    async fn update_workflow(
        &self,
        w: &Workflow,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let w = w.clone();
        self.audited(audit, move |tx| update_workflow(tx, &w, expected_revision))
            .await
    }

    async fn workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
        self.read(move |c| load_workflow(c, id)).await
    }

    async fn workflow_by_slug(&self, slug: &Slug) -> StoreResult<Option<Workflow>> {
        let slug = slug.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    workflow_cols!(),
                    " FROM workflows WHERE slug = ?1"
                ),
                [slug],
                workflow_from_row,
            )
        })
        .await
    }

    async fn list_workflows(&self, query: &WorkflowQuery) -> StoreResult<Page<Workflow>> {
        Ok(self.listing(query, None).await?.0)
    }

    async fn list_workflows_viewed(
        &self,
        query: &WorkflowQuery,
        viewer: &UserId,
    ) -> StoreResult<(Page<Workflow>, Option<Option<Refusal>>)> {
        self.listing(query, Some(viewer)).await
    }

    async fn list_cards(
        &self,
        query: &WorkflowQuery,
        viewer: Option<&UserId>,
    ) -> StoreResult<(Page<WorkflowCard>, Option<Option<Refusal>>)> {
        self.listing(query, viewer).await
    }

    async fn insert_file(&self, f: &WorkflowFile, audit: &AuditEntry) -> StoreResult<()> {
        let f = f.clone();
        self.audited(audit, move |tx| {
            require_workflow(tx, f.workflow_id)?;
            if exists(tx, "SELECT 1 FROM workflow_files WHERE id = ?1", [Id(&f.id)])? {
                return Err(StoreError::exists(Entity::File, f.id));
            }
            clear_other_primaries(tx, &f)?;
            tx.step("insert_file:after_clear_primaries")?;
            let mut vals = file_values(&f)?.to_vec();
            vals.push(Value::Integer(i64_of(f.download_count)?));
            vals.push(Value::Integer(i64_of(f.revision)?));
            tx.prepare_cached(
                "INSERT INTO workflow_files (id, workflow_id, file_type, file_name, storage_key, mime_type, version, \
                 version_major, version_minor, version_patch, is_primary, access, size_bytes, checksum, created_at, \
                 updated_at, download_count, revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )
            .map_err(db)?
            .execute(params_from_iter(vals))
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn update_file(
        &self,
        f: &WorkflowFile,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let f = f.clone();
        self.audited(audit, move |tx| {
            check_revision(tx, "workflow_files", Entity::File, &f.id, expected_revision)?;
            require_workflow(tx, f.workflow_id)?;
            clear_other_primaries(tx, &f)?;
            tx.step("update_file:after_clear_primaries")?;
            // download_count is maintained by downloads: not written here.
            // The workflow is set by a statement of its own, only when it
            // changes: it is half of the download rows' key to the file
            // (migration 0019), and SQLite walks the workflow's downloads
            // whenever an `UPDATE` sets it, even to its own value. (`?2`,
            // the workflow, is bound with the row's values, named below.)
            tx.prepare_cached(UPDATE_FILE_SQL)
            .map_err(db)?
            .execute(params_from_iter(
                file_values(&f)?
                    .into_iter()
                    .chain([Value::Integer(i64_of(f.revision)?)]),
            ))
            .map_err(db)?;
            tx.prepare_cached(
                "UPDATE workflow_files SET workflow_id = ?2 WHERE id = ?1 AND workflow_id IS NOT ?2",
            )
            .map_err(db)?
            .execute(params![Id(&f.id), Id(&f.workflow_id)])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<WorkflowFile>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    file_cols!(),
                    " FROM workflow_files WHERE id = ?1"
                ),
                [Id(&id)],
                file_from_row,
            )
        })
        .await
    }

    async fn files(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowFile>> {
        self.read(move |c| {
            query_all(
                c,
                concat!("SELECT ", file_cols!(), " FROM workflow_files WHERE workflow_id = ?1 \
                     ORDER BY is_primary DESC, version_major DESC, version_minor DESC, version_patch DESC, id"),
                [Id(&workflow)],
                file_from_row,
            )
        })
        .await
    }

    async fn insert_update(&self, u: &WorkflowUpdate, audit: &AuditEntry) -> StoreResult<()> {
        let u = u.clone();
        self.audited(audit, move |tx| {
            require_workflow(tx, u.workflow_id)?;
            if exists(tx, "SELECT 1 FROM workflow_updates WHERE id = ?1", [Id(&u.id)])? {
                return Err(StoreError::exists(Entity::Update, u.id));
            }
            let v = u.version;
            let newer_exists = exists(
                tx,
                "SELECT 1 FROM workflow_updates WHERE workflow_id = ?1 AND \
                 (version_major, version_minor, version_patch) >= (?2, ?3, ?4)",
                params![Id(&u.workflow_id), v.major(), v.minor(), v.patch()],
            )?;
            if newer_exists {
                return Err(StoreError::conflict(Entity::Update, u.workflow_id, "versions must strictly increase"));
            }
            tx.prepare_cached(
                "INSERT INTO workflow_updates (id, workflow_id, version, version_major, version_minor, version_patch, \
                 changelog, files_added, files_modified, files_removed, release_notes, is_major, released_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .map_err(db)?
            .execute(params![
                Id(&u.id),
                Id(&u.workflow_id),
                v.to_string(),
                v.major(),
                v.minor(),
                v.patch(),
                json(&u.changelog)?,
                json(&u.files_added)?,
                json(&u.files_modified)?,
                json(&u.files_removed)?,
                u.release_notes,
                u.is_major,
                ts(&u.released_at),
            ])
            .map_err(db)?;
            tx.step("insert_update:after_row")?;
            tx.prepare_cached("UPDATE workflows SET current_version = ?2 WHERE id = ?1")
                .map_err(db)?
                .execute(params![Id(&u.workflow_id), v.to_string()])
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn updates(&self, workflow: WorkflowId) -> StoreResult<Vec<WorkflowUpdate>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    update_cols!(),
                    " FROM workflow_updates WHERE workflow_id = ?1 \
                     ORDER BY version_major, version_minor, version_patch"
                ),
                [Id(&workflow)],
                update_from_row,
            )
        })
        .await
    }

    async fn insert_bundle(&self, b: &Bundle, audit: &AuditEntry) -> StoreResult<()> {
        let b = b.clone();
        self.audited(audit, move |tx| {
            if exists(tx, "SELECT 1 FROM workflow_bundles WHERE id = ?1 OR slug = ?2", params![Id(&b.id), b.slug.as_str()])? {
                return Err(StoreError::exists(Entity::Bundle, &b.slug));
            }
            let mut vals = bundle_values(&b)?.to_vec();
            vals.push(Value::Integer(i64_of(b.purchase_count)?));
            vals.push(Value::Integer(i64_of(b.revision)?));
            tx.prepare_cached(
                "INSERT INTO workflow_bundles (id, slug, name, description, workflow_ids, currency, price_minor, \
                 original_minor, valid_from, valid_until, seo, is_active, created_at, updated_at, purchase_count, \
                 revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .map_err(db)?
            .execute(params_from_iter(vals))
            .map_err(db)?;
            tx.step("insert_bundle:after_row")?;
            write_bundle_items(tx, &b)
        })
        .await
    }

    async fn update_bundle(
        &self,
        b: &Bundle,
        expected_revision: u64,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let b = b.clone();
        self.audited(audit, move |tx| {
            check_revision(tx, "workflow_bundles", Entity::Bundle, &b.id, expected_revision)?;
            if exists(tx, "SELECT 1 FROM workflow_bundles WHERE slug = ?1 AND id <> ?2", params![b.slug.as_str(), Id(&b.id)])? {
                return Err(StoreError::exists(Entity::Bundle, &b.slug));
            }
            tx.prepare_cached(
                "UPDATE workflow_bundles SET slug = ?2, name = ?3, description = ?4, workflow_ids = ?5, currency = ?6, \
                 price_minor = ?7, original_minor = ?8, valid_from = ?9, valid_until = ?10, seo = ?11, is_active = ?12, \
                 created_at = ?13, updated_at = ?14, revision = ?15 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params_from_iter(
                bundle_values(&b)?
                    .into_iter()
                    .chain([Value::Integer(i64_of(b.revision)?)]),
            ))
            .map_err(db)?;
            tx.step("update_bundle:after_row")?;
            write_bundle_items(tx, &b)
        })
        .await
    }

    async fn bundle(&self, id: BundleId) -> StoreResult<Option<Bundle>> {
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    bundle_cols!(),
                    " FROM workflow_bundles WHERE id = ?1"
                ),
                [Id(&id)],
                bundle_from_row,
            )
        })
        .await
    }

    async fn bundle_by_slug(&self, slug: &Slug) -> StoreResult<Option<Bundle>> {
        let slug = slug.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    bundle_cols!(),
                    " FROM workflow_bundles WHERE slug = ?1"
                ),
                [slug],
                bundle_from_row,
            )
        })
        .await
    }

    async fn bundles(&self) -> StoreResult<Vec<Bundle>> {
        self.read(|c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    bundle_cols!(),
                    " FROM workflow_bundles ORDER BY slug"
                ),
                [],
                bundle_from_row,
            )
        })
        .await
    }
}
