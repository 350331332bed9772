//! Categories: their rows, their insert, and the counts a workflow's move
//! between them changes.

use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use vault_core::catalog::category::{Category, count_moves};
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::ids::CategoryId;

use crate::codec::*;

/// The columns a category is read with, from `workflow_categories`
/// unaliased: its download total is a row of its own (migration 0014).
macro_rules! category_cols {
    () => {
        "id, slug, name, description, icon, color, order_index, is_active, workflow_count, \
         (SELECT c.total_downloads FROM workflow_category_download_counts c \
         WHERE c.category_id = workflow_categories.id) AS total_downloads, metadata, created_at, \
         updated_at"
    };
}
pub(crate) use category_cols;

pub(super) fn category_from_row(row: &PgRow) -> StoreResult<Category> {
    decode("workflow_categories", || {
        Ok(Category {
            id: id(row, "id")?,
            slug: slug(row, "slug")?,
            name: get(row, "name")?,
            description: get(row, "description")?,
            icon: get(row, "icon")?,
            color: get(row, "color")?,
            order_index: get(row, "order_index")?,
            is_active: get(row, "is_active")?,
            workflow_count: u64_col(row, "workflow_count")?,
            total_downloads: u64_col(row, "total_downloads")?,
            metadata: get(row, "metadata")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
        })
    })
}

pub(super) async fn insert_category(c: &mut PgConnection, cat: &Category) -> StoreResult<()> {
    let taken: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_categories WHERE id = $1 OR slug = $2")
            .bind(cat.id.as_uuid())
            .bind(cat.slug.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if taken.is_some() {
        return Err(StoreError::exists(Entity::Category, &cat.slug));
    }
    sqlx::query(
        "INSERT INTO workflow_categories (id, slug, name, description, icon, color, order_index, \
         is_active, workflow_count, metadata, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(cat.id.as_uuid())
    .bind(cat.slug.as_str())
    .bind(&cat.name)
    .bind(&cat.description)
    .bind(&cat.icon)
    .bind(&cat.color)
    .bind(cat.order_index)
    .bind(cat.is_active)
    .bind(i64_of(cat.workflow_count)?)
    .bind(&cat.metadata)
    .bind(cat.created_at)
    .bind(cat.updated_at)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Category, &cat.slug))?;
    // The insert's trigger gave the category its count row, at zero.
    if cat.total_downloads > 0 {
        sqlx::query(
            "UPDATE workflow_category_download_counts SET total_downloads = $2 \
             WHERE category_id = $1",
        )
        .bind(cat.id.as_uuid())
        .bind(i64_of(cat.total_downloads)?)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Applies vault-core's category count moves of a workflow going from being
/// counted in `before` to `after` ([`counted_in`]); they come in id order,
/// so concurrent writers lock the category rows in one order.
pub(super) async fn move_category_counts(
    c: &mut PgConnection,
    before: Option<CategoryId>,
    after: Option<CategoryId>,
) -> StoreResult<()> {
    for (cat, delta) in count_moves(before, after) {
        sqlx::query(
            "UPDATE workflow_categories SET workflow_count = GREATEST(workflow_count + $2, 0) \
             WHERE id = $1",
        )
        .bind(cat.as_uuid())
        .bind(delta)
        .execute(&mut *c)
        .await
        .map_err(db)?;
    }
    Ok(())
}

pub(super) async fn require_category(c: &mut PgConnection, id: CategoryId) -> StoreResult<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM workflow_categories WHERE id = $1")
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found(Entity::Category, id))
}
