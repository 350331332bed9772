//! The one-call read paths against the calls they replace.

use std::sync::Arc;

use chrono::Duration;

use super::Fixture;
use crate::catalog::file::FileAccess;
use crate::catalog::update::{ChangeKind, ChangelogEntry, NewUpdate};
use crate::delivery::download::RequestInfo;
use crate::store::{AccessQuery, FileWanted, Store, compose_access_read};
use crate::value::actor::Actor;
use crate::value::ids::{FileId, WorkflowId};
use crate::value::tier::PricingTier;
use crate::value::version::Version;
use crate::vault::CheckoutItem;

/// [`crate::store::DeliveryStore::access_read`] returns exactly what the
/// separate calls return, for every shape of query: a file by id (its own,
/// another workflow's, none), the primary file (present or not), with and
/// without a user, with and without entitlements, archived and missing
/// workflows. Plus the facts themselves, so a backend cannot pass by
/// getting both paths wrong the same way.
pub async fn access_read_matches_separate_reads(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let (w, primary) = f.workflow("reads-main", PricingTier::Pro, Some(2900)).await;
    f.advance(Duration::days(3));
    let newer = f
        .add_file(w.id, Version::new(1, 1, 0), FileAccess::Standard, false)
        .await;
    f.advance(Duration::days(1));
    let announced = f
        .vault
        .publish_update(
            &f.admin,
            NewUpdate {
                workflow_id: w.id,
                version: Version::new(1, 1, 0),
                changelog: vec![ChangelogEntry {
                    kind: ChangeKind::Added,
                    text: "a newer file".into(),
                }],
                files_added: vec![],
                files_modified: vec![],
                files_removed: vec![],
                release_notes: String::new(),
            },
        )
        .await
        .unwrap();
    let (other, other_file) = f.workflow("reads-other", PricingTier::Pro, Some(900)).await;
    let (retired, _) = f
        .workflow("reads-retired", PricingTier::Pro, Some(900))
        .await;
    // A draft whose only file is not primary.
    let bare = f
        .vault
        .create_workflow(&f.admin, f.content("reads-bare", PricingTier::Free, None))
        .await
        .unwrap();
    let bare_file = f
        .add_file(bare.id, Version::new(0, 1, 0), FileAccess::Public, false)
        .await;

    let buyer = Fixture::user("reads-buyer");
    let purchase = f.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    f.buy(&buyer, CheckoutItem::Workflow(retired.id)).await;
    let membership = f.join(&buyer, PricingTier::Basic, Some(3), false).await;
    f.vault
        .download(&buyer, w.id, None, &RequestInfo::default())
        .await
        .unwrap();
    f.vault
        .download(&buyer, retired.id, None, &RequestInfo::default())
        .await
        .unwrap();
    f.vault
        .archive_workflow(&f.admin, retired.id)
        .await
        .unwrap();
    let stranger = Fixture::user("reads-stranger");
    let nobody = FileId::from_uuid(uuid::Uuid::from_u128(0xdead));
    let missing = WorkflowId::from_uuid(uuid::Uuid::from_u128(0xbeef));

    let workflows = [w.id, other.id, retired.id, bare.id, missing];
    let files = [
        FileWanted::None,
        FileWanted::Primary,
        FileWanted::Id(primary.id),
        FileWanted::Id(newer.id),
        FileWanted::Id(other_file.id),
        FileWanted::Id(bare_file.id),
        FileWanted::Id(nobody),
    ];
    let users = [None, buyer.user_id(), stranger.user_id()];
    for &workflow in &workflows {
        for &file in &files {
            for &user in &users {
                let q = AccessQuery {
                    workflow,
                    file,
                    user,
                };
                let one = store.access_read(&q).await.unwrap();
                let separate = compose_access_read(&*store, &q).await.unwrap();
                assert_eq!(one, separate, "{q:?}");
            }
        }
    }

    let read = |workflow, file, user: &Actor| {
        let store = Arc::clone(&store);
        let user = user.user_id().cloned();
        async move {
            store
                .access_read(&AccessQuery {
                    workflow,
                    file,
                    user: user.as_ref(),
                })
                .await
                .unwrap()
        }
    };
    let r = read(w.id, FileWanted::Id(newer.id), &buyer).await.unwrap();
    assert_eq!(r.workflow.id, w.id);
    assert_eq!(r.file.as_ref().map(|x| x.id), Some(newer.id));
    assert_eq!(r.file_released_at, Some(announced.released_at));
    assert_eq!(
        r.purchases.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![purchase.id],
        "only the purchase covering this workflow"
    );
    assert_eq!(
        r.memberships.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![membership.id]
    );
    assert!(r.downloaded_before);

    let r = read(w.id, FileWanted::Primary, &buyer).await.unwrap();
    assert_eq!(r.file.as_ref().map(|x| x.id), Some(primary.id));
    assert_eq!(r.file_released_at, None, "1.0.0 was never announced");

    let r = read(w.id, FileWanted::Id(other_file.id), &stranger)
        .await
        .unwrap();
    assert_eq!(r.file, None, "another workflow's file is not this one's");
    assert!(r.purchases.is_empty() && r.memberships.is_empty());
    assert!(!r.downloaded_before);

    let r = read(bare.id, FileWanted::Primary, &buyer).await.unwrap();
    assert_eq!(r.file, None, "no primary file");
    assert!(r.purchases.is_empty());
    assert_eq!(r.memberships.len(), 1, "memberships are per user");

    let r = read(retired.id, FileWanted::None, &buyer).await.unwrap();
    assert!(r.downloaded_before && r.file.is_none());

    let r = read(w.id, FileWanted::Primary, &Actor::Anonymous)
        .await
        .unwrap();
    assert!(r.purchases.is_empty() && r.memberships.is_empty() && !r.downloaded_before);

    assert_eq!(read(missing, FileWanted::Primary, &buyer).await, None);
}
