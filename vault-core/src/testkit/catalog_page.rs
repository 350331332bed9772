//! A workflow's page (assets and setup guides) and the soft delete of
//! workflows, through the service and the page store directly: orders are
//! exact, every staff write leaves exactly one audit entry and a failed one
//! none, a deleted workflow disappears from the storefront but not from
//! the books, and none of it is open to non-staff.

use std::sync::Arc;

use chrono::Duration;

use super::Fixture;
use super::audit::{one_entry, trail};
use super::helpers::{bundle_of_three, no_request, workflow_of};
use super::records::{assert_err, audit};
use crate::audit::entry::AuditAction;
use crate::catalog::page::{AssetKind, NewAsset, NewDoc, WorkflowAsset, WorkflowDoc};
use crate::catalog::query::WorkflowQuery;
use crate::catalog::workflow::Workflow;
use crate::commerce::license::LicenseType;
use crate::store::{Entity, Store, StoreError};
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::ids::{AssetId, DocId, WorkflowId};
use crate::value::tier::PricingTier;
use crate::vault::CheckoutItem;

fn new_asset(workflow: WorkflowId, n: u32) -> NewAsset {
    NewAsset {
        workflow_id: workflow,
        kind: if n == 0 {
            AssetKind::Thumbnail
        } else {
            AssetKind::Image
        },
        url: format!("https://cdn.example/shot-{n}.png"),
        alt: format!("Screenshot {n}"),
    }
}

fn new_doc(workflow: WorkflowId, n: u32) -> NewDoc {
    NewDoc {
        workflow_id: workflow,
        title: format!("Step {n}"),
        body: format!("Connect app {n} first."),
    }
}

fn asset_order(assets: &[WorkflowAsset]) -> Vec<(AssetId, u32)> {
    assets.iter().map(|a| (a.id, a.position)).collect()
}

fn doc_order(docs: &[WorkflowDoc]) -> Vec<(DocId, u32)> {
    docs.iter().map(|d| (d.id, d.position)).collect()
}

fn not_found(r: &crate::value::error::Result<impl std::fmt::Debug>, entity: Entity) -> bool {
    matches!(r, Err(Error::NotFound { entity: e, .. }) if *e == entity)
}

fn forbidden(r: &crate::value::error::Result<impl std::fmt::Debug>) -> bool {
    matches!(r, Err(Error::Forbidden { .. }))
}

/// Assets and guides keep the order they were added in, take exactly the
/// order a reorder names, close the gap a removal leaves, and keep their
/// place through an edit; a stale reorder or edit changes nothing.
pub async fn page_items_keep_an_exact_order(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let admin = f.admin.clone();
    let (w, _) = f.workflow("paged", PricingTier::Pro, Some(4900)).await;
    let mut added = Vec::new();
    for n in 0..4 {
        let a = f.vault.add_asset(&admin, new_asset(w.id, n)).await.unwrap();
        assert_eq!(a.position, n, "an asset is appended");
        added.push(a.id);
    }
    let listed = f.vault.assets(&Actor::Anonymous, w.id).await.unwrap();
    assert_eq!(
        asset_order(&listed),
        vec![(added[0], 0), (added[1], 1), (added[2], 2), (added[3], 3)]
    );
    assert_eq!(listed[0].kind, AssetKind::Thumbnail);
    assert_eq!(listed[2].url, "https://cdn.example/shot-2.png");

    let order = [added[2], added[0], added[3], added[1]];
    let reordered = f.vault.reorder_assets(&admin, w.id, &order).await.unwrap();
    assert_eq!(
        asset_order(&reordered),
        vec![(added[2], 0), (added[0], 1), (added[3], 2), (added[1], 3)]
    );
    // An order from a stale page: one missing, one doubled, one unknown.
    for bad in [
        vec![added[0], added[1], added[2]],
        vec![added[0], added[0], added[1], added[2]],
        vec![
            added[0],
            added[1],
            added[2],
            AssetId::from_uuid(uuid::Uuid::nil()),
        ],
    ] {
        let r = f.vault.reorder_assets(&admin, w.id, &bad).await;
        assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    }
    assert_eq!(
        asset_order(&f.vault.assets(&admin, w.id).await.unwrap()),
        asset_order(&reordered),
        "a refused reorder changes nothing"
    );

    // An edit keeps the place; an edit from an older read conflicts.
    let edited = f
        .vault
        .edit_asset(
            &admin,
            added[3],
            NewAsset {
                alt: "Renamed".into(),
                ..new_asset(w.id, 3)
            },
        )
        .await
        .unwrap();
    assert_eq!((edited.position, edited.revision), (2, 1));
    let stored = f.store.asset(added[3]).await.unwrap().unwrap();
    assert_eq!((stored.alt.as_str(), stored.position), ("Renamed", 2));
    let mut stale = stored.clone();
    stale.alt = "Lost".into();
    stale.revision = 2;
    assert_err!(
        f.store.update_asset(&stale, 0, &audit()).await,
        StoreError::Conflict { .. }
    );
    assert_eq!(
        f.store.asset(added[3]).await.unwrap().unwrap().alt,
        "Renamed"
    );

    // Removing the first closes the gap; the rest keep their order.
    f.vault.remove_asset(&admin, added[2]).await.unwrap();
    assert_eq!(
        asset_order(&f.vault.assets(&admin, w.id).await.unwrap()),
        vec![(added[0], 0), (added[3], 1), (added[1], 2)]
    );
    assert!(f.store.asset(added[2]).await.unwrap().is_none());
    assert!(not_found(
        &f.vault.remove_asset(&admin, added[2]).await,
        Entity::Asset
    ));

    // Guides follow the same rules.
    let mut docs = Vec::new();
    for n in 0..3 {
        docs.push(f.vault.add_doc(&admin, new_doc(w.id, n)).await.unwrap().id);
    }
    let reordered = f
        .vault
        .reorder_docs(&admin, w.id, &[docs[1], docs[2], docs[0]])
        .await
        .unwrap();
    assert_eq!(
        doc_order(&reordered),
        vec![(docs[1], 0), (docs[2], 1), (docs[0], 2)]
    );
    let edited = f
        .vault
        .edit_doc(
            &admin,
            docs[0],
            NewDoc {
                body: "Then map the fields.".into(),
                ..new_doc(w.id, 0)
            },
        )
        .await
        .unwrap();
    assert_eq!((edited.position, edited.revision), (2, 1));
    f.vault.remove_doc(&admin, docs[1]).await.unwrap();
    let listed = f.vault.docs(&Fixture::user("alice"), w.id).await.unwrap();
    assert_eq!(doc_order(&listed), vec![(docs[2], 0), (docs[0], 1)]);
    assert_eq!(listed[1].body, "Then map the fields.");
    assert!(matches!(
        f.vault.reorder_docs(&admin, w.id, &[docs[2]]).await,
        Err(Error::Invalid(_))
    ));

    // Another workflow's page is its own; a missing workflow has none.
    let (other, _) = f.workflow("other-page", PricingTier::Pro, Some(4900)).await;
    let theirs = f
        .vault
        .add_asset(&admin, new_asset(other.id, 9))
        .await
        .unwrap();
    assert_eq!(theirs.position, 0);
    assert!(matches!(
        f.vault.reorder_assets(&admin, w.id, &[theirs.id]).await,
        Err(Error::Invalid(_))
    ));
    let missing = WorkflowId::from_uuid(uuid::Uuid::from_u128(0xdead));
    assert!(not_found(
        &f.vault.add_asset(&admin, new_asset(missing, 0)).await,
        Entity::Workflow
    ));
    assert!(not_found(
        &f.vault.reorder_docs(&admin, missing, &[]).await,
        Entity::Workflow
    ));
    let mut orphan = new_asset(missing, 0)
        .build(AssetId::from_uuid(uuid::Uuid::from_u128(0xbeef)), f_now(&f))
        .unwrap();
    orphan.position = 0;
    assert_err!(
        f.store.insert_asset(&orphan, &audit()).await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_err!(
        f.store.reorder_assets(missing, &[], &audit()).await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    // A draft's page is as hidden as the draft.
    let draft = f
        .vault
        .create_workflow(
            &admin,
            f.content("draft-page", PricingTier::Pro, Some(4900)),
        )
        .await
        .unwrap();
    f.vault.add_doc(&admin, new_doc(draft.id, 0)).await.unwrap();
    assert!(not_found(
        &f.vault.docs(&Fixture::user("alice"), draft.id).await,
        Entity::Workflow
    ));
    assert_eq!(f.vault.docs(&admin, draft.id).await.unwrap().len(), 1);
}

fn f_now(f: &Fixture) -> chrono::DateTime<chrono::Utc> {
    crate::value::clock::Clock::now(f.clock.as_ref())
}

/// A page allows fifty assets and refuses the fifty-first whole.
pub async fn page_items_stop_at_their_limit(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("full-page", PricingTier::Pro, Some(4900)).await;
    for n in 0..50 {
        f.vault.add_doc(&f.admin, new_doc(w.id, n)).await.unwrap();
    }
    let before = trail(&f).await.len();
    let r = f.vault.add_doc(&f.admin, new_doc(w.id, 50)).await;
    assert!(
        matches!(
            r,
            Err(Error::Store(StoreError::LimitReached { limit: 50, .. }))
        ),
        "{r:?}"
    );
    assert_eq!(f.store.docs(w.id).await.unwrap().len(), 50);
    assert_eq!(
        trail(&f).await.len(),
        before,
        "a refused write leaves no entry"
    );
}

/// Every staff write of a page, and every delete and restore, leaves
/// exactly one entry; a write that fails leaves none, and neither does a
/// write whose entry cannot be stored (the change rolls back with it).
pub async fn page_writes_and_deletes_audit_one_entry_each(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let admin = f.admin.clone();
    let (w, _) = f
        .workflow("audited-page", PricingTier::Pro, Some(4900))
        .await;
    let a = one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Asset,
        f.vault.add_asset(&admin, new_asset(w.id, 0)),
    )
    .await;
    let b = one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Asset,
        f.vault.add_asset(&admin, new_asset(w.id, 1)),
    )
    .await;
    let newest = &trail(&f).await[0];
    assert_eq!(newest.target_id, b.id.to_string());
    assert_eq!(newest.changes["workflow"], w.id.to_string().as_str());
    assert_eq!(newest.changes["added"], true);
    one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Asset,
        f.vault.edit_asset(&admin, a.id, new_asset(w.id, 5)),
    )
    .await;
    one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Workflow,
        f.vault.reorder_assets(&admin, w.id, &[b.id, a.id]),
    )
    .await;
    let newest = &trail(&f).await[0];
    assert_eq!(newest.target_id, w.id.to_string());
    assert_eq!(newest.changes["reordered"], "assets");
    one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Asset,
        f.vault.remove_asset(&admin, a.id),
    )
    .await;
    let d = one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Doc,
        f.vault.add_doc(&admin, new_doc(w.id, 0)),
    )
    .await;
    one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Doc,
        f.vault.edit_doc(&admin, d.id, new_doc(w.id, 1)),
    )
    .await;
    one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Workflow,
        f.vault.reorder_docs(&admin, w.id, &[d.id]),
    )
    .await;
    one_entry(
        &f,
        AuditAction::PageChanged,
        Entity::Doc,
        f.vault.remove_doc(&admin, d.id),
    )
    .await;
    let deleted = one_entry(
        &f,
        AuditAction::WorkflowDeleted,
        Entity::Workflow,
        f.vault.delete_workflow(&admin, w.id),
    )
    .await;
    assert!(deleted.is_deleted());
    let restored = one_entry(
        &f,
        AuditAction::WorkflowRestored,
        Entity::Workflow,
        f.vault.restore_workflow(&admin, w.id),
    )
    .await;
    assert_eq!(restored.deleted_at, None);
    assert_eq!(restored.revision, deleted.revision + 1);

    // Failures leave nothing: a stale revision, a refused reorder, a
    // restore of a live workflow (nothing to do), an entry id that clashes.
    let before = trail(&f).await.len();
    let stored = f.store.asset(b.id).await.unwrap().unwrap();
    assert_err!(
        f.store
            .update_asset(&stored, stored.revision + 1, &audit())
            .await,
        StoreError::Conflict { .. }
    );
    assert!(f.vault.reorder_assets(&admin, w.id, &[]).await.is_err());
    assert_eq!(
        f.vault.restore_workflow(&admin, w.id).await.unwrap(),
        restored
    );
    let entry = audit();
    let doc = new_doc(w.id, 7)
        .build(DocId::from_uuid(uuid::Uuid::from_u128(0xd0c)), f_now(&f))
        .unwrap();
    f.store.insert_doc(&doc, &entry).await.unwrap();
    let after_insert = trail(&f).await.len();
    assert_eq!(after_insert, before + 1);
    let twin = new_doc(w.id, 8)
        .build(DocId::from_uuid(uuid::Uuid::from_u128(0xd0d)), f_now(&f))
        .unwrap();
    assert_err!(
        f.store.insert_doc(&twin, &entry).await,
        StoreError::AlreadyExists {
            entity: Entity::AuditEntry,
            ..
        }
    );
    assert!(f.store.doc(twin.id).await.unwrap().is_none());
    assert_err!(
        f.store.remove_doc(doc.id, &entry).await,
        StoreError::AlreadyExists { .. }
    );
    assert!(f.store.doc(doc.id).await.unwrap().is_some(), "rolled back");
    assert_eq!(trail(&f).await.len(), after_insert);
}

/// A deleted workflow leaves the storefront (lists, search, by id and by
/// slug, downloads, checkout, bundle quotes, its category's count) for
/// everyone but staff; its purchases and downloads stay on the books; a
/// restore brings all of it back.
pub async fn deleted_workflows_are_hidden_but_keep_their_records(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let admin = f.admin.clone();
    let alice = Fixture::user("alice");
    let bob = Fixture::user("bob");
    let (bundle, members) = bundle_of_three(&f).await;
    let (w, _) = f
        .workflow("vanishing-flow", PricingTier::Pro, Some(4900))
        .await;
    let category = w.content.category_id;
    let count = |f: &Fixture| {
        let store = Arc::clone(&f.store);
        async move {
            store
                .category(category)
                .await
                .unwrap()
                .unwrap()
                .workflow_count
        }
    };
    let counted = count(&f).await;
    let purchase = f.buy(&alice, CheckoutItem::Workflow(w.id)).await;
    let ticket = f
        .vault
        .download(&alice, w.id, None, &no_request())
        .await
        .unwrap();
    let ids = |page: crate::catalog::query::Page<Workflow>| {
        page.items.into_iter().map(|w| w.id).collect::<Vec<_>>()
    };
    let search = WorkflowQuery {
        text: Some("vanishing".into()),
        ..WorkflowQuery::default()
    };
    let everything = WorkflowQuery {
        statuses: vec![],
        limit: 100,
        ..WorkflowQuery::default()
    };
    assert_eq!(
        ids(f.vault.list_workflows(&bob, search.clone()).await.unwrap()),
        [w.id]
    );

    f.advance(Duration::seconds(1));
    let deleted = f.vault.delete_workflow(&admin, w.id).await.unwrap();
    assert_eq!(deleted.deleted_at, Some(f_now(&f)));
    assert_eq!(workflow_of(&f, w.id).await.deleted_at, deleted.deleted_at);
    assert_eq!(count(&f).await, counted - 1, "no longer counted");
    // Deleting again changes nothing.
    assert_eq!(
        f.vault.delete_workflow(&admin, w.id).await.unwrap(),
        deleted
    );
    assert_eq!(count(&f).await, counted - 1);

    for actor in [&Actor::Anonymous, &alice, &bob, &admin] {
        let listed = ids(f
            .vault
            .list_workflows(actor, everything.clone())
            .await
            .unwrap());
        assert!(!listed.contains(&w.id), "listed for {actor:?}");
        assert!(listed.contains(&members[0]), "the others stay");
        let found = ids(f.vault.list_workflows(actor, search.clone()).await.unwrap());
        assert!(found.is_empty(), "searched for {actor:?}: {found:?}");
    }
    assert!(
        ids(f.store.list_workflows(&search).await.unwrap()).is_empty(),
        "the store's own search leaves it out"
    );
    for actor in [&Actor::Anonymous, &alice, &bob] {
        assert!(not_found(
            &f.vault.workflow(actor, w.id).await,
            Entity::Workflow
        ));
        assert!(not_found(
            &f.vault.workflow_by_slug(actor, w.slug()).await,
            Entity::Workflow
        ));
        assert!(not_found(
            &f.vault.files(actor, w.id).await,
            Entity::Workflow
        ));
        assert!(not_found(
            &f.vault.assets(actor, w.id).await,
            Entity::Workflow
        ));
    }
    assert_eq!(f.vault.workflow(&admin, w.id).await.unwrap(), deleted);
    assert_eq!(
        f.vault.workflow_by_slug(&admin, w.slug()).await.unwrap().id,
        w.id
    );
    // Its buyer can no longer download it; nobody can buy it.
    assert!(not_found(
        &f.vault.download(&alice, w.id, None, &no_request()).await,
        Entity::Workflow
    ));
    assert!(not_found(
        &f.checkout(&bob, CheckoutItem::Workflow(w.id), LicenseType::Personal)
            .await,
        Entity::Workflow
    ));
    // The books keep what happened.
    let bought = f
        .vault
        .purchases_for_user(&alice, &purchase.user_id)
        .await
        .unwrap();
    assert_eq!(
        bought.iter().map(|p| p.id).collect::<Vec<_>>(),
        [purchase.id]
    );
    let downloads = f
        .vault
        .downloads_for_user(&alice, &purchase.user_id, 10)
        .await
        .unwrap();
    assert_eq!(downloads.len(), 1);
    assert_eq!(downloads[0].id, ticket.download.id);
    assert_eq!(workflow_of(&f, w.id).await.stats.download_count, 1);

    // A deleted bundle member takes the bundle off sale and out of quotes.
    f.vault.delete_workflow(&admin, members[1]).await.unwrap();
    assert!(not_found(
        &f.vault
            .quote_bundle(&bob, bundle.id, LicenseType::Personal)
            .await,
        Entity::Workflow
    ));
    assert!(not_found(
        &f.checkout(&bob, CheckoutItem::Bundle(bundle.id), LicenseType::Personal)
            .await,
        Entity::Workflow
    ));
    f.vault.restore_workflow(&admin, members[1]).await.unwrap();
    let quote = f
        .vault
        .quote_bundle(&bob, bundle.id, LicenseType::Personal)
        .await
        .unwrap();
    assert_eq!(quote.price, bundle.price);

    // Restored: listed, searched, counted, readable, downloadable, for sale.
    let restored = f.vault.restore_workflow(&admin, w.id).await.unwrap();
    assert_eq!(restored.deleted_at, None);
    assert_eq!(count(&f).await, counted);
    assert_eq!(
        ids(f.vault.list_workflows(&bob, search.clone()).await.unwrap()),
        [w.id]
    );
    assert_eq!(f.vault.workflow(&bob, w.id).await.unwrap().id, w.id);
    assert_eq!(
        f.vault.workflow_by_slug(&bob, w.slug()).await.unwrap().id,
        w.id
    );
    f.vault
        .download(&alice, w.id, None, &no_request())
        .await
        .unwrap();
    f.checkout(&bob, CheckoutItem::Workflow(w.id), LicenseType::Personal)
        .await
        .unwrap();
}

/// Non-staff can neither change a page nor delete or restore a workflow:
/// each is `Forbidden` and writes nothing.
pub async fn page_and_delete_are_staff_only(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let admin = f.admin.clone();
    let (w, _) = f
        .workflow("guarded-page", PricingTier::Pro, Some(4900))
        .await;
    let a = f.vault.add_asset(&admin, new_asset(w.id, 0)).await.unwrap();
    let d = f.vault.add_doc(&admin, new_doc(w.id, 0)).await.unwrap();
    let before_trail = trail(&f).await.len();
    let before = (
        f.store.assets(w.id).await.unwrap(),
        f.store.docs(w.id).await.unwrap(),
        workflow_of(&f, w.id).await,
    );
    for actor in [Fixture::user("mallory"), Actor::Anonymous] {
        let v = &f.vault;
        assert!(forbidden(&v.add_asset(&actor, new_asset(w.id, 1)).await));
        assert!(forbidden(
            &v.edit_asset(&actor, a.id, new_asset(w.id, 2)).await
        ));
        assert!(forbidden(&v.remove_asset(&actor, a.id).await));
        assert!(forbidden(&v.reorder_assets(&actor, w.id, &[a.id]).await));
        assert!(forbidden(&v.add_doc(&actor, new_doc(w.id, 1)).await));
        assert!(forbidden(&v.edit_doc(&actor, d.id, new_doc(w.id, 2)).await));
        assert!(forbidden(&v.remove_doc(&actor, d.id).await));
        assert!(forbidden(&v.reorder_docs(&actor, w.id, &[d.id]).await));
        assert!(forbidden(&v.delete_workflow(&actor, w.id).await));
        assert!(forbidden(&v.restore_workflow(&actor, w.id).await));
    }
    let after = (
        f.store.assets(w.id).await.unwrap(),
        f.store.docs(w.id).await.unwrap(),
        workflow_of(&f, w.id).await,
    );
    assert_eq!(after, before);
    assert_eq!(trail(&f).await.len(), before_trail);
}
