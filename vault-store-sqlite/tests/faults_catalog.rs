//! Atomicity under injected faults: the writes of the catalog
//! (`src/catalog/`): workflows, files, updates and bundles.
//!
//! Each test goes through `Env::fault` (`common/faults.rs`): arm a step, run
//! the operation through it, check it failed there leaving the whole
//! database exactly as before, then that it succeeds. `faults_steps.rs`
//! checks every step has a test.
#![allow(clippy::unwrap_used)]

mod common;

use rusqlite::Connection;
use vault_core::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use vault_core::catalog::workflow::parse_tags;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;

use crate::common::faults::Env;

#[tokio::test(flavor = "multi_thread")]
async fn create_workflow_is_atomic() {
    let env = Env::new().await;
    for (slug, step) in [
        ("flow-one", "insert_workflow:after_row"),
        ("flow-two", "insert_workflow:after_search"),
    ] {
        let c = env.fx.content(slug, PricingTier::Free, None);
        let w = env
            .fault(step, async || {
                env.fx.vault.create_workflow(env.admin(), c.clone()).await
            })
            .await;
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM workflow_tags WHERE workflow_id = ?1",
                w.id
            ),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn edit_and_publish_workflow_are_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("editable", PricingTier::Free, None).await;
    let (from, to) = (env.fx.categories[0].id, env.fx.categories[1].id);
    // An edit that moves category and retags: row, tags, FTS and both
    // categories' counts change together or not at all.
    let mut content = w.content.clone();
    content.title = "Edited title".into();
    content.category_id = to;
    content.tags = parse_tags(&["edited", "moved"]).unwrap();
    let edited = env
        .fault("update_workflow:after_row", async || {
            env.fx
                .vault
                .edit_workflow(env.admin(), w.id, content.clone())
                .await
        })
        .await;
    assert_eq!(edited.revision, w.revision + 1);
    let count = "SELECT workflow_count FROM workflow_categories WHERE id = ?1";
    assert_eq!((env.scalar(count, from), env.scalar(count, to)), (0, 1));

    let mut content = edited.content.clone();
    content.category_id = from;
    content.description = "searchable words".into();
    env.fault("update_workflow:after_search", async || {
        env.fx
            .vault
            .edit_workflow(env.admin(), w.id, content.clone())
            .await
    })
    .await;
    assert_eq!((env.scalar(count, from), env.scalar(count, to)), (1, 0));

    // Publishing a draft goes through the same write.
    let draft = env
        .fx
        .vault
        .create_workflow(
            env.admin(),
            env.fx.content("draft", PricingTier::Free, None),
        )
        .await
        .unwrap();
    env.fault("update_workflow:after_search", async || {
        env.fx.vault.publish_workflow(env.admin(), draft.id).await
    })
    .await;
    assert_eq!(env.scalar(count, from), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn files_keep_one_primary_atomically() {
    let env = Env::new().await;
    let (w, first) = env.fx.workflow("files", PricingTier::Free, None).await;
    let primaries = "SELECT COUNT(*) FROM workflow_files WHERE workflow_id = ?1 AND is_primary = 1";
    let second = env
        .fault("insert_file:after_clear_primaries", async || {
            env.fx
                .vault
                .add_file(
                    env.admin(),
                    Env::new_file(w.id, Version::new(1, 1, 0), true),
                )
                .await
        })
        .await;
    assert_eq!(env.scalar(primaries, w.id), 1);
    assert!(second.is_primary);
    // Making the first file primary again clears the second.
    let again = env
        .fault("update_file:after_clear_primaries", async || {
            env.fx
                .vault
                .edit_file(
                    env.admin(),
                    first.id,
                    Env::new_file(w.id, Version::new(1, 0, 1), true),
                )
                .await
        })
        .await;
    assert!(again.is_primary);
    assert_eq!(env.scalar(primaries, w.id), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_update_is_atomic() {
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("versioned", PricingTier::Free, None).await;
    let update = NewUpdate {
        workflow_id: w.id,
        version: Version::new(1, 1, 0),
        changelog: vec![ChangelogEntry {
            kind: ChangeKind::Added,
            text: "more".into(),
        }],
        files_added: vec![],
        files_modified: vec![],
        files_removed: vec![],
        release_notes: "notes".into(),
    };
    env.fault("insert_update:after_row", async || {
        env.fx
            .vault
            .publish_update(env.admin(), update.clone())
            .await
    })
    .await;
    let w = env.fx.store.workflow(w.id).await.unwrap().unwrap();
    assert_eq!(w.current_version, Some(Version::new(1, 1, 0)));
}

#[tokio::test(flavor = "multi_thread")]
async fn create_bundle_is_atomic() {
    let env = Env::new().await;
    let members = env.three().await;
    for (i, step) in [
        "insert_bundle:after_row",
        "bundle_items:after_clear",
        "bundle_items:after_item",
    ]
    .into_iter()
    .enumerate()
    {
        let new = Env::new_bundle(&format!("pack-{i}"), members.clone(), 8000);
        let b = env
            .fault(step, async || {
                env.fx.vault.create_bundle(env.admin(), new.clone()).await
            })
            .await;
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM workflow_bundle_items WHERE bundle_id = ?1",
                b.id
            ),
            3
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn update_bundle_is_atomic() {
    // Not exposed by the Vault: through the store.
    let env = Env::new().await;
    let members = env.three().await;
    let b = env
        .fx
        .vault
        .create_bundle(env.admin(), Env::new_bundle("pack", members.clone(), 8000))
        .await
        .unwrap();
    let items = "SELECT group_concat(workflow_id, ',') FROM \
                 (SELECT workflow_id FROM workflow_bundle_items WHERE bundle_id = ?1 ORDER BY position)";
    let [a, b2, c] = [members[0], members[1], members[2]];
    for (i, (step, ids)) in [
        ("update_bundle:after_row", vec![c, a]),
        ("bundle_items:after_clear", vec![b2, c, a]),
        ("bundle_items:after_item", vec![a, b2]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut next = env.fx.store.bundle(b.id).await.unwrap().unwrap();
        next.name = format!("renamed {i}");
        next.workflow_ids = ids;
        let expected = next.revision;
        env.fault(step, async || {
            Ok(env
                .fx
                .store
                .update_bundle(&next, expected, &vault_core::testkit::audit())
                .await?)
        })
        .await;
        let conn = Connection::open(&env.path).unwrap();
        let stored: String = conn
            .query_row(items, [b.id.to_string()], |r| r.get(0))
            .unwrap();
        let want: Vec<String> = next.workflow_ids.iter().map(|w| w.to_string()).collect();
        assert_eq!(stored, want.join(","));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn page_reorders_and_removals_are_atomic() {
    use vault_core::catalog::page::NewDoc;
    let env = Env::new().await;
    let (w, _) = env.fx.workflow("paged", PricingTier::Free, None).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let doc = NewDoc {
            workflow_id: w.id,
            title: format!("Step {n}"),
            body: String::new(),
        };
        ids.push(env.fx.vault.add_doc(env.admin(), doc).await.unwrap().id);
    }
    // A reorder's positions and its audit entry commit together.
    let order = [ids[2], ids[0], ids[1]];
    let docs = env
        .fault("page:after_positions", async || {
            env.fx.vault.reorder_docs(env.admin(), w.id, &order).await
        })
        .await;
    assert_eq!(docs.iter().map(|d| d.id).collect::<Vec<_>>(), order);
    // A removal: the row goes, the others close the gap, with its entry.
    env.fault("page:after_positions", async || {
        env.fx.vault.remove_doc(env.admin(), ids[2]).await
    })
    .await;
    let positions = "SELECT SUM(position) FROM workflow_docs WHERE workflow_id = ?1";
    assert_eq!(env.scalar(positions, w.id), 1, "positions 0 and 1");
}
