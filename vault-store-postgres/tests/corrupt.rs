//! A row that does not decode is reported as `StoreError::Corrupt`, naming
//! the table and the column, rather than entering the domain unchecked.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use vault_core::store::{CatalogStore, Store, StoreError};
use vault_core::testkit::Fixture;
use vault_core::value::tier::PricingTier;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_status_is_corrupt_and_named() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let (w, _) = fx.workflow("planted", PricingTier::Free, None).await;

    // Another program writes what no vault-core constructor accepts; the
    // schema's CHECK would refuse it, so that goes first.
    sqlx::raw_sql("ALTER TABLE workflows DROP CONSTRAINT workflows_status_check")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE workflows SET status = 'exploded' WHERE id = $1")
        .bind(w.id.as_uuid())
        .execute(store.pool())
        .await
        .unwrap();

    assert_eq!(
        corrupt_workflow_column(&store, w.id, "status").await,
        "exploded"
    );
    let e = vault_core::Error::from(store.workflow(w.id).await.unwrap_err());
    assert_eq!(e.kind(), "corrupt");
}

/// A JSONB column the domain type refuses is reported with the value it
/// holds, though it is decoded straight from the column's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_column_of_the_wrong_shape_is_corrupt_and_named() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let (w, _) = fx.workflow("planted-json", PricingTier::Free, None).await;
    // An array (the schema's CHECK), but not of strings.
    sqlx::query("UPDATE workflows SET features = '[7, \"a list\"]'::jsonb WHERE id = $1")
        .bind(w.id.as_uuid())
        .execute(store.pool())
        .await
        .unwrap();
    let value = corrupt_workflow_column(&store, w.id, "features").await;
    assert!(value.contains("a list"), "{value}");
}

/// Reads workflow `id`, expects `StoreError::Corrupt` naming `workflows`
/// and `column`, and returns the value it reports.
async fn corrupt_workflow_column(
    store: &vault_store_postgres::PgStore,
    id: vault_core::value::ids::WorkflowId,
    column: &str,
) -> String {
    match store.workflow(id).await {
        Err(StoreError::Corrupt {
            table,
            column: named,
            value,
        }) => {
            assert_eq!((table, named.as_str()), ("workflows", column));
            value
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
