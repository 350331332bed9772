//! Bundles: their rows and their item table.

use rusqlite::params;
use rusqlite::types::Value;
use vault_core::catalog::bundle::Bundle;
use vault_core::store::StoreResult;

use super::workflow::require_workflow;
use crate::Tx;
use crate::codec::*;
use crate::sql::Id;

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! bundle_cols {
    () => {
        "id, slug, name, description, workflow_ids, currency, price_minor, \
    original_minor, valid_from, valid_until, seo, is_active, purchase_count, created_at, updated_at, \
    revision"
    };
}
pub(crate) use bundle_cols;

pub(super) fn bundle_from_row(row: &Row<'_>) -> StoreResult<Bundle> {
    decode("workflow_bundles", || {
        let currency: String = get(row, "currency")?;
        Ok(Bundle {
            id: parse(row, "id")?,
            slug: slug(row, "slug")?,
            name: get(row, "name")?,
            description: get(row, "description")?,
            workflow_ids: json_col(row, "workflow_ids")?,
            price: money(get(row, "price_minor")?, &currency)?,
            original_price: money(get(row, "original_minor")?, &currency)?,
            valid_from: opt_time(row, "valid_from")?,
            valid_until: opt_time(row, "valid_until")?,
            seo: json_col(row, "seo")?,
            is_active: bool_col(row, "is_active")?,
            purchase_count: u64_col(row, "purchase_count")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            revision: u64_col(row, "revision")?,
        })
    })
}

pub(super) fn write_bundle_items(tx: &Tx<'_>, b: &Bundle) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM workflow_bundle_items WHERE bundle_id = ?1")
        .map_err(db)?
        .execute([Id(&b.id)])
        .map_err(db)?;
    tx.step("bundle_items:after_clear")?;
    for (i, w) in b.workflow_ids.iter().enumerate() {
        require_workflow(tx, *w)?;
        tx.prepare_cached("INSERT INTO workflow_bundle_items (bundle_id, workflow_id, position) VALUES (?1, ?2, ?3)")
            .map_err(db)?
            .execute(params![Id(&b.id), w.to_string(), i as i64])
            .map_err(db)?;
        tx.step("bundle_items:after_item")?;
    }
    Ok(())
}

pub(super) fn bundle_values(b: &Bundle) -> StoreResult<[Value; 14]> {
    let (price, currency) = money_parts(&b.price)?;
    let (original, _) = money_parts(&b.original_price)?;
    Ok([
        Value::Text(b.id.to_string()),
        Value::Text(b.slug.to_string()),
        Value::Text(b.name.clone()),
        Value::Text(b.description.clone()),
        Value::Text(json(&b.workflow_ids)?),
        Value::Text(currency),
        Value::Integer(price),
        Value::Integer(original),
        opt_ts(&b.valid_from).map_or(Value::Null, Value::Text),
        opt_ts(&b.valid_until).map_or(Value::Null, Value::Text),
        Value::Text(json(&b.seo)?),
        Value::Integer(i64::from(b.is_active)),
        Value::Text(ts(&b.created_at)),
        Value::Text(ts(&b.updated_at)),
    ])
}
