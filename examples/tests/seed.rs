//! The examples' catalog seeding is idempotent on a SQLite file: running the
//! quickstart again must not duplicate anything.

use vault_core::store::Store;
use vault_core::value::actor::Actor;
use vault_examples::{open_sqlite_vault, seed_catalog};

async fn counts(
    store: &dyn Store,
    ids: &[vault_core::value::ids::WorkflowId],
) -> (usize, usize, usize, usize) {
    let mut files = 0;
    for id in ids {
        files += store.files(*id).await.expect("files").len();
    }
    (
        store.categories().await.expect("categories").len(),
        ids.len(),
        store.bundles().await.expect("bundles").len(),
        files,
    )
}

#[tokio::test]
async fn seeding_twice_adds_nothing() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("seed-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("vault.db");
    let admin = Actor::admin("staff").expect("valid");
    let first = {
        let vault = open_sqlite_vault(&path).await.expect("open");
        let catalog = seed_catalog(&vault, &admin).await.expect("seed");
        let ids: Vec<_> = catalog.iter().map(|w| w.id).collect();
        (counts(vault.store().as_ref(), &ids).await, ids)
    };
    assert_eq!(first.0, (9, 6, 1, 13), "the showcase's 1.1.0 file too");
    // A second process run: reopen the file and seed again.
    let vault = open_sqlite_vault(&path).await.expect("reopen");
    let catalog = seed_catalog(&vault, &admin).await.expect("seed again");
    let ids: Vec<_> = catalog.iter().map(|w| w.id).collect();
    assert_eq!(ids, first.1, "the same workflows, not new ones");
    assert_eq!(counts(vault.store().as_ref(), &ids).await, first.0);
    // The showcase's page, once.
    let showcase = catalog
        .iter()
        .find(|w| w.content.slug.as_str() == vault_examples::demo::SHOWCASE)
        .expect("the showcase");
    let s = Actor::Service;
    assert_eq!(vault.updates(&s, showcase.id).await.unwrap().len(), 1);
    assert_eq!(vault.assets(&s, showcase.id).await.unwrap().len(), 2);
    assert_eq!(vault.docs(&s, showcase.id).await.unwrap().len(), 1);
    let reviews = vault.reviews(&s, showcase.id).await.unwrap();
    assert_eq!(reviews.len(), 2);
    assert!(
        reviews
            .iter()
            .all(|r| r.status == vault_core::community::review::ModerationStatus::Approved)
    );
    let all = vault
        .store()
        .list_workflows(&vault_core::catalog::query::WorkflowQuery {
            statuses: vec![],
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(all.items.len(), 6);
    std::fs::remove_dir_all(&dir).ok();
}
