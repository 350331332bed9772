//! The catalog's storage trait called directly ([`crate::store::CatalogStore`]):
//! uniqueness, references, guarded edits, the counters the store keeps, the
//! primary-file rule and the order of every listing.

use std::sync::Arc;

use super::records::{
    assert_err, audit, bundle, bundle_id, cat_id, catalog, category, delta, download, favorite,
    file, file_id, of_bundle, sell, slug, snapshot, t, update, wf_id, workflow, workflow_count,
};
use crate::catalog::file::WorkflowFile;
use crate::catalog::query::{Cursor, WorkflowQuery, WorkflowSort};
use crate::catalog::workflow::WorkflowStatus;
use crate::store::{Charge, Entity, Store, StoreError};
use crate::value::ids::{CategoryId, WorkflowId};
use crate::value::version::Version;

pub async fn store_categories_are_unique_and_ordered(store: Arc<dyn Store>) {
    // A store may start with categories of its own (PostgreSQL's first
    // migration seeds the nine core ones, as the seed does): only the ones
    // written here are counted.
    let seeded = store.categories().await.unwrap().len();
    store
        .insert_category(&category(1, "b", 2), &audit())
        .await
        .unwrap();
    // The store is usable as a shared trait object from the first write.
    assert_eq!(store.categories().await.unwrap().len(), seeded + 1);
    store
        .insert_category(&category(2, "z", 1), &audit())
        .await
        .unwrap();
    store
        .insert_category(&category(3, "a", 2), &audit())
        .await
        .unwrap();
    let before = snapshot(&*store).await;
    assert_err!(
        store
            .insert_category(&category(1, "other", 0), &audit())
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Category,
            ..
        }
    );
    assert_err!(
        store.insert_category(&category(4, "a", 0), &audit()).await,
        StoreError::AlreadyExists {
            entity: Entity::Category,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    let mine = [cat_id(1), cat_id(2), cat_id(3)];
    let order: Vec<CategoryId> = store
        .categories()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .filter(|id| mine.contains(id))
        .collect();
    assert_eq!(order, vec![cat_id(2), cat_id(3), cat_id(1)]);
    assert_eq!(
        store.category_by_slug(&slug("z")).await.unwrap(),
        Some(category(2, "z", 1))
    );
    assert_eq!(store.category(cat_id(9)).await.unwrap(), None);
    assert_eq!(store.category_by_slug(&slug("nope")).await.unwrap(), None);
}

pub async fn store_insert_workflow_checks_uniqueness_and_category_and_counts_published(
    store: Arc<dyn Store>,
) {
    catalog(&*store).await;
    assert_eq!(workflow_count(&*store, 1).await, 1);
    let before = snapshot(&*store).await;
    assert_err!(
        store
            .insert_workflow(
                &workflow(10, "fresh", 1, WorkflowStatus::Published),
                &audit()
            )
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_err!(
        store
            .insert_workflow(
                &workflow(12, "lead-capture", 1, WorkflowStatus::Published),
                &audit()
            )
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_err!(
        store
            .insert_workflow(
                &workflow(12, "fresh", 9, WorkflowStatus::Published),
                &audit()
            )
            .await,
        StoreError::NotFound {
            entity: Entity::Category,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    let mut counted = workflow(12, "fresh", 2, WorkflowStatus::Published);
    counted.stats.download_count = 7;
    store.insert_workflow(&counted, &audit()).await.unwrap();
    store
        .insert_workflow(
            &workflow(13, "soon", 2, WorkflowStatus::ComingSoon),
            &audit(),
        )
        .await
        .unwrap();
    assert_eq!(workflow_count(&*store, 2).await, 1);
    assert_eq!(
        store.workflow(wf_id(12)).await.unwrap(),
        Some(counted.clone())
    );
    assert_eq!(
        store.workflow_by_slug(&slug("fresh")).await.unwrap(),
        Some(counted)
    );
    assert_eq!(store.workflow(wf_id(99)).await.unwrap(), None);
}

pub async fn store_update_workflow_is_guarded_and_keeps_counters(store: Arc<dyn Store>) {
    catalog(&*store).await;
    store
        .insert_workflow(&workflow(12, "taken", 2, WorkflowStatus::Draft), &audit())
        .await
        .unwrap();
    // Counters moved by other writes since the editor's read: five
    // downloads and two favorites.
    store
        .insert_file(&file(1, 10, Version::new(1, 0, 0), true), &audit())
        .await
        .unwrap();
    for n in 1..=5 {
        store
            .record_download(
                &download(n, Some("ann"), 10, 1, 1),
                &Charge::Nothing,
                &delta(10, 1),
            )
            .await
            .unwrap();
    }
    for who in ["ann", "bob"] {
        store
            .insert_favorite(&favorite(who, 10, 1), &delta(10, 1))
            .await
            .unwrap();
    }
    let before = snapshot(&*store).await;

    let mut edit = workflow(10, "lead-capture", 1, WorkflowStatus::Published);
    edit.content.title = "Lead capture v2".into();
    edit.revision = 1;
    edit.updated_at = t(5);
    assert_err!(
        store.update_workflow(&edit, 3, &audit()).await,
        StoreError::Conflict {
            entity: Entity::Workflow,
            ..
        }
    );
    let mut missing = edit.clone();
    missing.id = wf_id(99);
    missing.content.slug = slug("missing");
    assert_err!(
        store.update_workflow(&missing, 0, &audit()).await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    let mut clash = edit.clone();
    clash.content.slug = slug("taken");
    assert_err!(
        store.update_workflow(&clash, 0, &audit()).await,
        StoreError::AlreadyExists {
            entity: Entity::Workflow,
            ..
        }
    );
    let mut orphan = edit.clone();
    orphan.content.category_id = cat_id(9);
    assert_err!(
        store.update_workflow(&orphan, 0, &audit()).await,
        StoreError::NotFound {
            entity: Entity::Category,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    store.update_workflow(&edit, 0, &audit()).await.unwrap();
    let stored = store.workflow(wf_id(10)).await.unwrap().unwrap();
    assert_eq!(stored.content.title, "Lead capture v2");
    assert_eq!(stored.revision, 1);
    assert_eq!(stored.updated_at, t(5));
    assert_eq!(stored.stats.download_count, 5);
    assert_eq!(stored.stats.favorite_count, 2);
    // The old revision no longer matches.
    assert_err!(
        store.update_workflow(&edit, 0, &audit()).await,
        StoreError::Conflict { .. }
    );
}

pub async fn store_update_workflow_maintains_both_category_counts(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let counts = || async {
        (
            workflow_count(&*store, 1).await,
            workflow_count(&*store, 2).await,
        )
    };
    assert_eq!(counts().await, (1, 0));
    // Publish the draft: +1 in its category.
    let mut w11 = store.workflow(wf_id(11)).await.unwrap().unwrap();
    w11.status = WorkflowStatus::Published;
    w11.revision = 1;
    store.update_workflow(&w11, 0, &audit()).await.unwrap();
    assert_eq!(workflow_count(&*store, 1).await, 2);
    // Move it, published, to category 2: -1 there, +1 here.
    w11.content.category_id = cat_id(2);
    w11.revision = 2;
    store.update_workflow(&w11, 1, &audit()).await.unwrap();
    assert_eq!(counts().await, (1, 1));
    // Archive and move back at once: only category 2 loses one.
    w11.content.category_id = cat_id(1);
    w11.status = WorkflowStatus::Archived;
    w11.revision = 3;
    store.update_workflow(&w11, 2, &audit()).await.unwrap();
    assert_eq!(counts().await, (1, 0));
    // An edit that changes neither leaves counts alone.
    let mut w10 = store.workflow(wf_id(10)).await.unwrap().unwrap();
    w10.content.title = "Renamed".into();
    w10.revision = 1;
    store.update_workflow(&w10, 0, &audit()).await.unwrap();
    assert_eq!(workflow_count(&*store, 1).await, 1);
}

pub async fn store_list_workflows_follows_query_semantics(store: Arc<dyn Store>) {
    catalog(&*store).await;
    for n in 12..=14 {
        let mut w = workflow(n, &format!("wf-{n}"), 2, WorkflowStatus::Published);
        w.stats.download_count = n as u64;
        store.insert_workflow(&w, &audit()).await.unwrap();
    }
    let query = WorkflowQuery {
        sort: WorkflowSort::Downloads,
        limit: 2,
        ..WorkflowQuery::default()
    };
    let page = store.list_workflows(&query).await.unwrap();
    let ids: Vec<WorkflowId> = page.items.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![wf_id(14), wf_id(13)]);
    let next = page.next.unwrap();
    assert_eq!(next, Cursor::after(&page.items[1], WorkflowSort::Downloads));
    let page = store
        .list_workflows(&WorkflowQuery {
            cursor: Some(next),
            ..query
        })
        .await
        .unwrap();
    let ids: Vec<WorkflowId> = page.items.iter().map(|w| w.id).collect();
    // The draft (11) is not listed.
    assert_eq!(ids, vec![wf_id(12), wf_id(10)]);
    assert_eq!(page.next, None);
}

pub async fn store_files_keep_one_primary_and_their_download_count(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let v1 = Version::new(1, 0, 0);
    let v2 = Version::new(2, 0, 0);
    store
        .insert_file(&file(1, 10, v1, true), &audit())
        .await
        .unwrap();
    store
        .insert_file(&file(2, 10, v2, false), &audit())
        .await
        .unwrap();
    store
        .insert_file(&file(3, 10, v2, false), &audit())
        .await
        .unwrap();
    store
        .insert_file(&file(4, 11, v1, true), &audit())
        .await
        .unwrap();
    let before = snapshot(&*store).await;
    assert_err!(
        store.insert_file(&file(1, 10, v2, false), &audit()).await,
        StoreError::AlreadyExists {
            entity: Entity::File,
            ..
        }
    );
    assert_err!(
        store.insert_file(&file(5, 99, v1, true), &audit()).await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_err!(
        store.update_file(&file(5, 10, v1, true), 0, &audit()).await,
        StoreError::NotFound {
            entity: Entity::File,
            ..
        }
    );
    assert_err!(
        store.update_file(&file(2, 99, v1, true), 0, &audit()).await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    let ids = |files: Vec<WorkflowFile>| files.iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.files(wf_id(10)).await.unwrap()),
        vec![file_id(1), file_id(2), file_id(3)]
    );

    // A new primary demotes the old one, in this workflow only.
    store
        .insert_file(&file(6, 10, v1, true), &audit())
        .await
        .unwrap();
    assert!(!store.file(file_id(1)).await.unwrap().unwrap().is_primary);
    assert!(store.file(file_id(4)).await.unwrap().unwrap().is_primary);
    assert_eq!(
        ids(store.files(wf_id(10)).await.unwrap()),
        vec![file_id(6), file_id(2), file_id(3), file_id(1)]
    );

    // Updating keeps the stored download count (four downloads of file 3)
    // and applies the rule.
    for n in 1..=4 {
        store
            .record_download(
                &download(n, Some("ann"), 10, 3, 1),
                &Charge::Nothing,
                &delta(10, 1),
            )
            .await
            .unwrap();
    }
    let mut edit = file(3, 10, v2, true);
    edit.file_name = "renamed.json".into();
    edit.download_count = 0;
    edit.revision = 1;
    store.update_file(&edit, 0, &audit()).await.unwrap();
    let stored = store.file(file_id(3)).await.unwrap().unwrap();
    assert_eq!(stored.file_name, "renamed.json");
    assert_eq!(stored.revision, 1);
    // An edit made from the revision before is refused whole.
    let mut stale = edit.clone();
    stale.file_name = "stale.json".into();
    stale.is_primary = false;
    assert_err!(
        store.update_file(&stale, 0, &audit()).await,
        StoreError::Conflict {
            entity: Entity::File,
            ..
        }
    );
    assert_eq!(store.file(file_id(3)).await.unwrap().unwrap(), stored);
    assert_eq!(stored.download_count, 4);
    assert!(!store.file(file_id(6)).await.unwrap().unwrap().is_primary);
    let primaries = store
        .files(wf_id(10))
        .await
        .unwrap()
        .iter()
        .filter(|f| f.is_primary)
        .count();
    assert_eq!(primaries, 1);
    assert_eq!(store.file(file_id(99)).await.unwrap(), None);
}

pub async fn store_updates_only_move_forward_and_set_the_current_version(store: Arc<dyn Store>) {
    catalog(&*store).await;
    store
        .insert_update(&update(1, 10, Version::new(1, 0, 0)), &audit())
        .await
        .unwrap();
    store
        .insert_update(&update(2, 10, Version::new(1, 2, 0)), &audit())
        .await
        .unwrap();
    // Another workflow's history is separate.
    store
        .insert_update(&update(3, 11, Version::new(1, 0, 0)), &audit())
        .await
        .unwrap();
    let before = snapshot(&*store).await;
    for (n, v) in [(4, Version::new(1, 2, 0)), (5, Version::new(1, 1, 0))] {
        assert_err!(
            store.insert_update(&update(n, 10, v), &audit()).await,
            StoreError::Conflict {
                entity: Entity::Update,
                ..
            }
        );
    }
    assert_err!(
        store
            .insert_update(&update(1, 10, Version::new(3, 0, 0)), &audit())
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Update,
            ..
        }
    );
    assert_err!(
        store
            .insert_update(&update(6, 99, Version::new(1, 0, 0)), &audit())
            .await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    store
        .insert_update(&update(7, 10, Version::new(1, 10, 0)), &audit())
        .await
        .unwrap();
    let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
    assert_eq!(w.current_version, Some(Version::new(1, 10, 0)));
    let versions: Vec<Version> = store
        .updates(wf_id(10))
        .await
        .unwrap()
        .iter()
        .map(|u| u.version)
        .collect();
    assert_eq!(
        versions,
        vec![
            Version::new(1, 0, 0),
            Version::new(1, 2, 0),
            Version::new(1, 10, 0)
        ]
    );
}

pub async fn store_bundles_check_members_and_keep_purchase_count(store: Arc<dyn Store>) {
    catalog(&*store).await;
    store
        .insert_bundle(&bundle(1, "starter", &[10, 11]), &audit())
        .await
        .unwrap();
    store
        .insert_bundle(&bundle(2, "agency", &[10, 11]), &audit())
        .await
        .unwrap();
    let before = snapshot(&*store).await;
    assert_err!(
        store
            .insert_bundle(&bundle(1, "other", &[10, 11]), &audit())
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Bundle,
            ..
        }
    );
    assert_err!(
        store
            .insert_bundle(&bundle(3, "starter", &[10, 11]), &audit())
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Bundle,
            ..
        }
    );
    assert_err!(
        store
            .insert_bundle(&bundle(3, "third", &[10, 99]), &audit())
            .await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_err!(
        store
            .update_bundle(&bundle(3, "third", &[10, 11]), 0, &audit())
            .await,
        StoreError::NotFound {
            entity: Entity::Bundle,
            ..
        }
    );
    assert_err!(
        store
            .update_bundle(&bundle(1, "agency", &[10, 11]), 0, &audit())
            .await,
        StoreError::AlreadyExists {
            entity: Entity::Bundle,
            ..
        }
    );
    assert_err!(
        store
            .update_bundle(&bundle(1, "starter", &[10, 99]), 0, &audit())
            .await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    // Three sales of bundle 1 since the editor's read.
    for (n, who) in [(1, "ann"), (2, "bob"), (3, "cat")] {
        sell(&*store, n, who, of_bundle(1, &[10, 11])).await;
    }
    let mut edit = bundle(1, "starter-kit", &[11, 10]);
    edit.is_active = false;
    edit.revision = 1;
    store.update_bundle(&edit, 0, &audit()).await.unwrap();
    let stored = store.bundle(bundle_id(1)).await.unwrap().unwrap();
    assert_eq!(stored.purchase_count, 3);
    assert_eq!(stored.revision, 1);
    // An edit made from the revision before is refused whole.
    let mut stale = bundle(1, "stale", &[10, 11]);
    stale.revision = 1;
    assert_err!(
        store.update_bundle(&stale, 0, &audit()).await,
        StoreError::Conflict {
            entity: Entity::Bundle,
            ..
        }
    );
    assert_eq!(store.bundle(bundle_id(1)).await.unwrap().unwrap(), stored);
    assert!(!stored.is_active);
    assert_eq!(stored.workflow_ids, vec![wf_id(11), wf_id(10)]);
    assert_eq!(
        store.bundle_by_slug(&slug("starter-kit")).await.unwrap(),
        Some(stored)
    );
    assert_eq!(store.bundle_by_slug(&slug("starter")).await.unwrap(), None);
    let slugs: Vec<String> = store
        .bundles()
        .await
        .unwrap()
        .iter()
        .map(|b| b.slug.to_string())
        .collect();
    assert_eq!(slugs, vec!["agency", "starter-kit"]);
}

/// Sixteen editors that all read revision 0: exactly one write goes through.
pub async fn store_concurrent_edits_of_one_revision_let_exactly_one_through(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = Arc::clone(&store);
            super::tokio::spawn(async move {
                let mut edit = workflow(10, "lead-capture", 1, WorkflowStatus::Published);
                edit.content.title = format!("Edit {n}");
                edit.revision = 1;
                store.update_workflow(&edit, 0, &audit()).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        store.workflow(wf_id(10)).await.unwrap().unwrap().revision,
        1
    );
}

/// A listing for a signed-in viewer is the listing, with the viewer's
/// standing when the store read it in the same round trip: then exactly
/// what `account_refusal` answers (none without an account, the refusal of
/// a banned one).
pub async fn store_a_viewed_listing_is_the_listing_with_its_standing(store: Arc<dyn Store>) {
    let f = super::Fixture::new(Arc::clone(&store)).await;
    for n in 0..3 {
        f.workflow(
            &format!("viewed-{n}"),
            crate::value::tier::PricingTier::Pro,
            Some(900),
        )
        .await;
    }
    let stranger = super::Fixture::user("no-account");
    let banned = f.banned("banned").await;
    let banned_id = banned.user_id().unwrap().clone();
    let everything = WorkflowQuery {
        limit: 2,
        ..WorkflowQuery::default()
    };
    let nothing = WorkflowQuery {
        text: Some("zzzz-no-such-term".into()),
        ..WorkflowQuery::default()
    };
    for viewer in [&stranger, &banned] {
        let user = viewer.user_id().unwrap();
        for query in [&everything, &nothing] {
            let (page, standing) = store.list_workflows_viewed(query, user).await.unwrap();
            assert_eq!(page, store.list_workflows(query).await.unwrap(), "{user}");
            if let Some(standing) = standing {
                assert_eq!(
                    standing,
                    store.account_refusal(user).await.unwrap(),
                    "{user}"
                );
            }
        }
    }
    assert_eq!(
        store.account_refusal(&banned_id).await.unwrap(),
        Some(crate::value::actor::Refusal::Banned),
        "the case's banned viewer is refused"
    );
}
