//! Categories: their rows, and the counts a workflow's move between them
//! changes.

use rusqlite::{Connection, params};
use vault_core::catalog::category::{Category, count_moves};
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::ids::CategoryId;

use crate::Tx;
use crate::codec::*;
use crate::sql::{Id, exists};

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! category_cols {
    () => {
        "id, slug, name, description, icon, color, order_index, is_active, \
    workflow_count, total_downloads, metadata, created_at, updated_at"
    };
}
pub(crate) use category_cols;
pub(super) const CATEGORY_COLS: &str = category_cols!();

pub(super) fn category_from_row(row: &Row<'_>) -> StoreResult<Category> {
    decode("workflow_categories", || {
        Ok(Category {
            id: parse(row, "id")?,
            slug: slug(row, "slug")?,
            name: get(row, "name")?,
            description: get(row, "description")?,
            icon: get(row, "icon")?,
            color: get(row, "color")?,
            order_index: get(row, "order_index")?,
            is_active: bool_col(row, "is_active")?,
            workflow_count: u64_col(row, "workflow_count")?,
            total_downloads: u64_col(row, "total_downloads")?,
            metadata: json_col(row, "metadata")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
        })
    })
}

/// Applies vault-core's category count moves of a workflow going from being
/// counted in `before` to `after` ([`counted_in`]).
pub(super) fn move_category_counts(
    tx: &Tx<'_>,
    before: Option<CategoryId>,
    after: Option<CategoryId>,
) -> StoreResult<()> {
    for (category, delta) in count_moves(before, after) {
        tx.prepare_cached(
            "UPDATE workflow_categories SET workflow_count = MAX(workflow_count + ?2, 0) WHERE id = ?1",
        )
        .map_err(db)?
        .execute(params![Id(&category), delta])
        .map_err(db)?;
    }
    Ok(())
}

pub(super) fn require_category(conn: &Connection, id: CategoryId) -> StoreResult<()> {
    if exists(
        conn,
        "SELECT 1 FROM workflow_categories WHERE id = ?1",
        [Id(&id)],
    )? {
        Ok(())
    } else {
        Err(StoreError::not_found(Entity::Category, id))
    }
}
