//! The optional row-level-security policies (`sql/row_level_security.sql`):
//! a role scoped to one user sees only that user's rows, anonymous visitors
//! see published content only, the service role sees everything, and the
//! store itself (the tables' owner) is not restricted.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use sqlx::{PgPool, Postgres, Transaction};
use vault_core::delivery::download::RequestInfo;
use vault_core::store::{CommerceStore, Store};
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::tier::PricingTier;
use vault_core::vault::CheckoutItem;
use vault_store_postgres::install_row_level_security;

/// A transaction acting as `role`, signed in as `user` when given. `SET
/// LOCAL` and `set_config(.., true)` end with the transaction, so the pooled
/// connection goes back clean.
async fn as_role(pool: &PgPool, role: &str, user: Option<&str>) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET LOCAL ROLE {role}")))
        .execute(&mut *tx)
        .await
        .unwrap();
    if let Some(u) = user {
        sqlx::query("SELECT set_config('app.user_id', $1, true)")
            .bind(u)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx
}

async fn users_in(tx: &mut Transaction<'static, Postgres>, table: &str) -> Vec<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT user_id FROM {table} ORDER BY user_id"
    )))
    .fetch_all(&mut **tx)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_scoped_role_sees_only_that_users_rows() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    let f = Fixture::new(Arc::clone(&store) as Arc<dyn Store>).await;
    let (w, _) = f.workflow("shared", PricingTier::Pro, Some(4900)).await;
    let draft = f
        .vault
        .create_workflow(&f.admin, f.content("unreleased", PricingTier::Free, None))
        .await
        .unwrap();
    let (alice, bob) = (Fixture::user("alice"), Fixture::user("bob"));
    for u in [&alice, &bob] {
        f.buy(u, CheckoutItem::Workflow(w.id)).await;
        f.vault
            .download(u, w.id, None, &RequestInfo::default())
            .await
            .unwrap();
    }
    f.vault
        .add_favorite(&alice, w.id, None, vec![])
        .await
        .unwrap();
    f.join(&alice, PricingTier::Basic, None, false).await;

    install_row_level_security(store.pool()).await.unwrap();
    // Idempotent: apps re-run it on every deploy.
    install_row_level_security(store.pool()).await.unwrap();
    let pool = store.pool();

    let mut tx = as_role(pool, "vault_user", Some("alice")).await;
    assert_eq!(users_in(&mut tx, "workflow_purchases").await, ["alice"]);
    assert_eq!(users_in(&mut tx, "workflow_downloads").await, ["alice"]);
    assert_eq!(users_in(&mut tx, "workflow_favorites").await, ["alice"]);
    assert_eq!(users_in(&mut tx, "memberships").await, ["alice"]);
    let visible: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM workflows")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, [w.id.as_uuid()], "drafts are not public");
    tx.rollback().await.unwrap();

    let mut tx = as_role(pool, "vault_user", Some("bob")).await;
    assert_eq!(users_in(&mut tx, "workflow_purchases").await, ["bob"]);
    assert!(users_in(&mut tx, "workflow_favorites").await.is_empty());
    assert!(users_in(&mut tx, "memberships").await.is_empty());
    tx.rollback().await.unwrap();

    // Signed in as nobody: no private row.
    let mut tx = as_role(pool, "vault_user", None).await;
    assert!(users_in(&mut tx, "workflow_purchases").await.is_empty());
    tx.rollback().await.unwrap();

    // Anonymous visitors read the catalog, not purchases or analytics.
    let mut tx = as_role(pool, "vault_anon", None).await;
    let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM workflows")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(listed, 1);
    let categories: i64 = sqlx::query_scalar("SELECT count(*) FROM workflow_categories")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(categories, 9);
    let denied = sqlx::query("SELECT 1 FROM workflow_purchases")
        .fetch_all(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        denied.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501"),
        "{denied}"
    );
    tx.rollback().await.unwrap();

    // The service role sees every row, and the reporting view.
    let mut tx = as_role(pool, "vault_service", None).await;
    assert_eq!(
        users_in(&mut tx, "workflow_purchases").await,
        ["alice", "bob"]
    );
    let drafts: i64 = sqlx::query_scalar("SELECT count(*) FROM workflows WHERE id = $1")
        .bind(draft.id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(drafts, 1);
    let stats: i64 = sqlx::query_scalar("SELECT count(*) FROM workflow_stats")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(stats, 2);
    tx.rollback().await.unwrap();

    // The store connects as the tables' owner: the policies do not apply
    // to it, and it keeps working.
    assert_eq!(
        store
            .purchases_for_user(bob.user_id().unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
    f.vault
        .download(&bob, w.id, None, &RequestInfo::default())
        .await
        .unwrap();
    assert!(
        f.vault
            .workflow_stats(&f.admin, None)
            .await
            .unwrap()
            .iter()
            .any(|r| r.workflow_id == w.id && r.download_count == 3)
    );
    assert!(matches!(
        f.vault
            .purchases_for_user(&Actor::Anonymous, bob.user_id().unwrap())
            .await,
        Err(vault_core::Error::Forbidden { .. })
    ));
}
