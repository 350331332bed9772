//! A row that does not decode is reported as `StoreError::Corrupt`, naming
//! the table and the column, rather than entering the domain unchecked.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use rusqlite::Connection;
use vault_core::store::{CatalogStore, Store, StoreError};
use vault_core::testkit::Fixture;
use vault_core::value::tier::PricingTier;
use vault_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_status_is_corrupt_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let fx = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let (w, _) = fx.workflow("planted", PricingTier::Free, None).await;

    // Another program writes what no vault-core constructor accepts.
    let raw = Connection::open(&path).unwrap();
    raw.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    raw.execute(
        "UPDATE workflows SET status = 'exploded' WHERE id = ?1",
        [w.id.to_string()],
    )
    .unwrap();

    match store.workflow(w.id).await {
        Err(StoreError::Corrupt {
            table,
            column,
            value,
        }) => {
            assert_eq!((table, column.as_str()), ("workflows", "status"));
            assert_eq!(value, "exploded");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let e = vault_core::Error::from(store.workflow(w.id).await.unwrap_err());
    assert_eq!(e.kind(), "corrupt");
}
