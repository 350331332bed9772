//! A row that does not decode is reported as `StoreError::Corrupt`, naming
//! the table and the column, rather than entering the domain unchecked.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use rusqlite::Connection;
use vault_core::RequestInfo;
use vault_core::store::{AccessQuery, CatalogStore, DeliveryStore, FileWanted, Store, StoreError};
use vault_core::testkit::Fixture;
use vault_core::value::tier::PricingTier;
use vault_core::vault::CheckoutItem;
use vault_store_sqlite::{SqliteOptions, SqliteStore};

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

/// The access read is one compound statement, whose columns bear its
/// first arm's names; a corrupt purchase or membership row it returns is
/// still named by its own table and column.
#[tokio::test(flavor = "multi_thread")]
async fn the_access_read_names_a_corrupt_purchase_or_membership_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let fx = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let (w, _) = fx.workflow("planted", PricingTier::Pro, Some(900)).await;
    let buyer = Fixture::user("planted-buyer");
    let purchase = fx.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    let membership = fx.join(&buyer, PricingTier::Basic, Some(3), false).await;
    let query = AccessQuery {
        workflow: w.id,
        file: FileWanted::None,
        user: buyer.user_id(),
        before_download: false,
    };
    let read = || store.access_read(&query);
    assert!(read().await.unwrap().is_some());

    let raw = Connection::open(&path).unwrap();
    raw.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    let plant = |table: &str, column: &str, id: String| {
        raw.execute(
            &format!("UPDATE {table} SET {column} = 'exploded' WHERE id = ?1"),
            [id],
        )
        .unwrap();
    };
    plant("memberships", "status", membership.id.to_string());
    match read().await {
        Err(StoreError::Corrupt { table, column, .. }) => {
            assert_eq!((table, column.as_str()), ("memberships", "status"));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    raw.execute(
        "UPDATE memberships SET status = 'active' WHERE id = ?1",
        [membership.id.to_string()],
    )
    .unwrap();
    plant(
        "workflow_purchases",
        "payment_status",
        purchase.id.to_string(),
    );
    match read().await {
        Err(StoreError::Corrupt { table, column, .. }) => {
            assert_eq!(
                (table, column.as_str()),
                ("workflow_purchases", "payment_status")
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Every read runs in one read transaction; one that fails halfway must
/// still end it, or its pooled connection would refuse the next `BEGIN`
/// (or, worse, keep reading an old snapshot).
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_read_leaves_its_connection_reading_the_present() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    // One reader, so every read below goes through the same connection.
    let options = SqliteOptions {
        readers: 1,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open_with(&path, options).await.unwrap());
    let fx = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let (bad, _) = fx.workflow("planted", PricingTier::Free, None).await;
    let raw = Connection::open(&path).unwrap();
    raw.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    raw.execute(
        "UPDATE workflows SET status = 'exploded' WHERE id = ?1",
        [bad.id.to_string()],
    )
    .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            store.workflow(bad.id).await,
            Err(StoreError::Corrupt { .. })
        ));
    }
    // A write after the failures is what the reader sees next.
    let (good, _) = fx.workflow("written-after", PricingTier::Free, None).await;
    let read = store.workflow(good.id).await.unwrap();
    assert_eq!(read.map(|w| w.id), Some(good.id));
}

/// A download's charge is one guarded `UPDATE` comparing the stored text
/// of the membership's period start with the one the decision saw. A row
/// whose instant is written in another RFC 3339 form (another program, an
/// offset instead of `Z`) decodes to the same instant, so the guard's miss
/// is not a refusal: the download is charged once, by id.
#[tokio::test(flavor = "multi_thread")]
async fn a_period_start_in_another_form_is_charged_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let fx = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let (w, _) = fx.workflow("members", PricingTier::Pro, Some(900)).await;
    let member = Fixture::user("member");
    let m = fx.join(&member, PricingTier::Pro, Some(3), false).await;

    let raw = Connection::open(&path).unwrap();
    let stored: String = raw
        .query_row(
            "SELECT current_period_start FROM memberships WHERE id = ?1",
            [m.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    let other = stored.replace('Z', "+00:00");
    assert_ne!(other, stored, "the store writes instants with a Z");
    raw.execute(
        "UPDATE memberships SET current_period_start = ?2 WHERE id = ?1",
        [m.id.to_string(), other],
    )
    .unwrap();

    fx.vault
        .download(&member, w.id, None, &RequestInfo::default())
        .await
        .unwrap();
    let used: i64 = raw
        .query_row(
            "SELECT period_downloads_used FROM memberships WHERE id = ?1",
            [m.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(used, 1);
}
