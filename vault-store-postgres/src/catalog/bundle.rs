//! Bundles: their rows and their item table.

use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;
use vault_core::catalog::bundle::Bundle;
use vault_core::store::{Entity, StoreError, StoreResult};
use vault_core::value::ids::WorkflowId;
use vault_core::value::validation::Reason;

use super::PgQuery;
use super::workflow::require_workflow;
use crate::codec::*;

macro_rules! bundle_cols {
    () => {
        "id, slug, name, description, workflow_ids, currency, price, original_price, valid_from, \
         valid_until, seo, is_active, created_at, updated_at, purchase_count, revision"
    };
}
pub(crate) use bundle_cols;

pub(super) fn bundle_from_row(row: &PgRow) -> StoreResult<Bundle> {
    decode("workflow_bundles", || {
        Ok(Bundle {
            id: id(row, "id")?,
            slug: slug(row, "slug")?,
            name: get(row, "name")?,
            description: get(row, "description")?,
            workflow_ids: get::<Vec<Uuid>>(row, "workflow_ids")?
                .into_iter()
                .map(WorkflowId::from_uuid)
                .collect(),
            price: money_col(row, "price", "currency")?,
            original_price: money_col(row, "original_price", "currency")?,
            valid_from: get(row, "valid_from")?,
            valid_until: get(row, "valid_until")?,
            seo: json_col(row, "seo")?,
            is_active: get(row, "is_active")?,
            purchase_count: u64_col(row, "purchase_count")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

/// Binds $1..$14 of the bundle writes (all but the purchase count).
pub(super) fn bind_bundle<'q>(q: PgQuery<'q>, b: &Bundle) -> StoreResult<PgQuery<'q>> {
    if b.original_price.currency() != b.price.currency() {
        return Err(unfit(
            "currency",
            Reason::Inconsistent {
                detail: "a bundle's prices must share a currency".into(),
            },
        ));
    }
    let members: Vec<Uuid> = b.workflow_ids.iter().map(|w| w.as_uuid()).collect();
    Ok(q.bind(b.id.as_uuid())
        .bind(b.slug.as_str().to_owned())
        .bind(b.name.clone())
        .bind(b.description.clone())
        .bind(members)
        .bind(b.price.currency().code().to_owned())
        .bind(b.price.amount())
        .bind(b.original_price.amount())
        .bind(b.valid_from)
        .bind(b.valid_until)
        .bind(json(&b.seo)?)
        .bind(b.is_active)
        .bind(b.created_at)
        .bind(b.updated_at))
}

pub(super) async fn write_bundle_items(c: &mut PgConnection, b: &Bundle) -> StoreResult<()> {
    sqlx::query("DELETE FROM workflow_bundle_items WHERE bundle_id = $1")
        .bind(b.id.as_uuid())
        .execute(&mut *c)
        .await
        .map_err(db)?;
    for (i, w) in b.workflow_ids.iter().enumerate() {
        require_workflow(c, *w).await?;
        sqlx::query(
            "INSERT INTO workflow_bundle_items (bundle_id, workflow_id, position) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(b.id.as_uuid())
        .bind(w.as_uuid())
        .bind(i32::try_from(i).map_err(|_| unfit("workflow_ids", past_i64()))?)
        .execute(&mut *c)
        .await
        .map_err(unique_or_parent(Entity::Bundle, b.id, Entity::Workflow, w))?;
    }
    Ok(())
}

pub(super) async fn insert_bundle(c: &mut PgConnection, b: &Bundle) -> StoreResult<()> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_bundles WHERE id = $1 OR slug = $2")
            .bind(b.id.as_uuid())
            .bind(b.slug.as_str())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if found.is_some() {
        return Err(StoreError::exists(Entity::Bundle, &b.slug));
    }
    bind_bundle(
        sqlx::query(concat!(
            "INSERT INTO workflow_bundles (",
            bundle_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )),
        b,
    )?
    .bind(i64_of(b.purchase_count)?)
    .bind(i64_of(b.revision)?)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Bundle, &b.slug))?;
    write_bundle_items(c, b).await
}

pub(super) async fn update_bundle(
    c: &mut PgConnection,
    b: &Bundle,
    expected_revision: u64,
) -> StoreResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT revision FROM workflow_bundles WHERE id = $1 FOR NO KEY UPDATE")
            .bind(b.id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    match found {
        None => return Err(StoreError::not_found(Entity::Bundle, b.id)),
        Some(r) if r != i64_of(expected_revision)? => {
            return Err(StoreError::conflict(
                Entity::Bundle,
                b.id,
                "it changed since it was read",
            ));
        }
        Some(_) => {}
    }
    let taken: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM workflow_bundles WHERE slug = $1 AND id <> $2")
            .bind(b.slug.as_str())
            .bind(b.id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
    if taken.is_some() {
        return Err(StoreError::exists(Entity::Bundle, &b.slug));
    }
    bind_bundle(
        sqlx::query(
            "UPDATE workflow_bundles SET slug = $2, name = $3, description = $4, \
             workflow_ids = $5, currency = $6, price = $7, original_price = $8, valid_from = $9, \
             valid_until = $10, seo = $11, is_active = $12, created_at = $13, updated_at = $14, \
             revision = $15 WHERE id = $1",
        ),
        b,
    )?
    .bind(i64_of(b.revision)?)
    .execute(&mut *c)
    .await
    .map_err(unique(Entity::Bundle, &b.slug))?;
    write_bundle_items(c, b).await
}
