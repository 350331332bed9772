//! Races the conformance suite does not stage, at READ COMMITTED: writers
//! lined up by a barrier insert the same unique key, bump the same counter,
//! create the same analytics row, or lock the same rows in opposite orders.
//! Every unique clash is `AlreadyExists`, no increment is lost, nothing
//! deadlocks through to the caller.
#![allow(clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Barrier;
use vault_core::catalog::bundle::NewBundle;
use vault_core::catalog::file::FileAccess;
use vault_core::community::rating::{DimensionRatings, Rating};
use vault_core::community::review::{ReviewInput, Vote};
use vault_core::delivery::download::RequestInfo;
use vault_core::store::{Entity, Store};
use vault_core::testkit::{Fixture, epoch};
use vault_core::value::actor::Actor;
use vault_core::value::error::Error;
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;
use vault_core::vault::CheckoutItem;

async fn fixture() -> Option<Fixture> {
    let store = common::fresh_store().await?;
    Some(Fixture::new(Arc::new(store) as Arc<dyn Store>).await)
}

/// Runs `n` tasks that all start together; returns their results in order.
async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let fut = task(i);
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn review(stars: u8) -> ReviewInput {
    ReviewInput {
        rating: Rating::new(stars).unwrap(),
        dimensions: DimensionRatings::default(),
        title: "raced".into(),
        body: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_inserts_race_to_one_winner() {
    let Some(f) = fixture().await else { return };
    let (w, _) = f.workflow("contested", PricingTier::Free, None).await;
    let fan = Fixture::user("fan");

    let favs = race(16, |_| {
        let (vault, fan) = (f.vault.clone(), fan.clone());
        async move { vault.add_favorite(&fan, w.id, None, vec![]).await }
    })
    .await;
    assert_eq!(favs.iter().filter(|r| r.is_ok()).count(), 1);
    for r in &favs {
        assert!(
            r.is_ok()
                || matches!(
                    r,
                    Err(Error::AlreadyExists {
                        entity: Entity::Favorite,
                        ..
                    })
                ),
            "{r:?}"
        );
    }
    let stored = f.store.workflow(w.id).await.unwrap().unwrap();
    assert_eq!(stored.stats.favorite_count, 1);

    let reviews = race(8, |i| {
        let (vault, fan) = (f.vault.clone(), fan.clone());
        async move {
            vault
                .submit_review(&fan, w.id, review(i as u8 % 5 + 1))
                .await
        }
    })
    .await;
    assert_eq!(reviews.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(reviews.iter().all(|r| r.is_ok()
        || matches!(
            r,
            Err(Error::AlreadyExists {
                entity: Entity::Review,
                ..
            })
        )));

    let created = race(8, |_| {
        let (vault, admin) = (f.vault.clone(), f.admin.clone());
        let content = f.content("same-slug", PricingTier::Free, None);
        async move { vault.create_workflow(&admin, content).await }
    })
    .await;
    assert_eq!(created.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(created.iter().all(|r| r.is_ok()
        || matches!(
            r,
            Err(Error::AlreadyExists {
                entity: Entity::Workflow,
                ..
            })
        )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_counters_lose_no_increment() {
    let Some(f) = fixture().await else { return };
    // Twelve drafts published at once into one category.
    let mut drafts = Vec::new();
    for i in 0..12 {
        let d = f
            .vault
            .create_workflow(
                &f.admin,
                f.content(&format!("d-{i}"), PricingTier::Free, None),
            )
            .await
            .unwrap();
        f.add_file(d.id, Version::new(1, 0, 0), FileAccess::Standard, true)
            .await;
        drafts.push(d.id);
    }
    let published = race(12, |i| {
        let (vault, admin, id) = (f.vault.clone(), f.admin.clone(), drafts[i]);
        async move { vault.publish_workflow(&admin, id).await }
    })
    .await;
    assert!(published.iter().all(Result::is_ok), "{published:?}");
    let cat = f.store.category(f.categories[0].id).await.unwrap().unwrap();
    assert_eq!(cat.workflow_count, 12);

    // Views from 24 visitors, on a day with no analytics row yet, and one
    // visitor eight times at once.
    let w = drafts[0];
    let views = race(24, |i| {
        let vault = f.vault.clone();
        async move {
            let req = RequestInfo {
                ip: Some(format!("198.51.100.{i}").parse().unwrap()),
                ..RequestInfo::default()
            };
            vault.record_view(&Actor::Anonymous, w, &req).await
        }
    })
    .await;
    assert!(views.iter().all(Result::is_ok), "{views:?}");
    let again = race(8, |_| {
        let vault = f.vault.clone();
        async move {
            vault
                .record_view(&Fixture::user("regular"), w, &RequestInfo::default())
                .await
        }
    })
    .await;
    assert!(again.iter().all(Result::is_ok), "{again:?}");
    let day = epoch().date_naive();
    let row = f.store.analytics(w, day, day).await.unwrap().remove(0);
    assert_eq!((row.views, row.unique_visitors), (32, 25));
    let stored = f.store.workflow(w).await.unwrap().unwrap();
    assert_eq!(stored.stats.view_count, 32);

    // Helpful votes from 16 users on one review.
    let author = Fixture::user("author");
    let r = f.vault.submit_review(&author, w, review(4)).await.unwrap();
    f.vault
        .moderate_review(
            &f.admin,
            r.id,
            vault_core::community::review::ModerationStatus::Approved,
            None,
        )
        .await
        .unwrap();
    let votes = race(16, |i| {
        let vault = f.vault.clone();
        async move {
            vault
                .vote_review(
                    &Fixture::user(&format!("voter{i}")),
                    r.id,
                    Some(Vote::Helpful),
                )
                .await
        }
    })
    .await;
    assert!(votes.iter().all(Result::is_ok), "{votes:?}");
    let stored = f.store.review(r.id).await.unwrap().unwrap();
    assert_eq!((stored.helpful_count, stored.not_helpful_count), (16, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_primary_file_whatever_the_interleaving() {
    let Some(f) = fixture().await else { return };
    let (w, _) = f.workflow("many-files", PricingTier::Free, None).await;
    let files = race(8, |i| {
        let (vault, admin) = (f.vault.clone(), f.admin.clone());
        let new = vault_core::catalog::file::NewFile {
            workflow_id: w.id,
            kind: vault_core::catalog::file::FileKind::Make,
            file_name: format!("v{i}.json"),
            storage_key: format!("files/{i}.json"),
            mime_type: "application/json".into(),
            version: Version::new(1, i as u32 + 1, 0),
            is_primary: true,
            access: FileAccess::Standard,
            size_bytes: 10,
            checksum: vault_core::catalog::file::Checksum::of(&[i as u8]),
        };
        async move { vault.add_file(&admin, new).await }
    })
    .await;
    assert!(files.iter().all(Result::is_ok), "{files:?}");
    let stored = f.store.files(w.id).await.unwrap();
    assert_eq!(stored.len(), 9);
    assert_eq!(stored.iter().filter(|f| f.is_primary).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bundles_sharing_members_in_opposite_orders_do_not_deadlock() {
    let Some(f) = fixture().await else { return };
    let (a, _) = f.workflow("member-a", PricingTier::Pro, Some(3000)).await;
    let (b, _) = f.workflow("member-b", PricingTier::Pro, Some(2000)).await;
    let mut bundles = Vec::new();
    for (slug, members) in [
        ("a-then-b", vec![a.id, b.id]),
        ("b-then-a", vec![b.id, a.id]),
    ] {
        let bundle = f
            .vault
            .create_bundle(
                &f.admin,
                NewBundle {
                    slug: Slug::parse(slug).unwrap(),
                    name: slug.into(),
                    description: String::new(),
                    workflow_ids: members,
                    price: Money::from_minor(4000, Currency::USD),
                    valid_from: None,
                    valid_until: None,
                    seo: Default::default(),
                },
            )
            .await
            .unwrap();
        bundles.push(bundle.id);
    }
    let bought = race(16, |i| {
        let buyer = Fixture::user(&format!("buyer{i}"));
        let bundle = bundles[i % 2];
        let vault = f.vault.clone();
        async move {
            let p = vault
                .start_purchase(
                    &buyer,
                    vault_core::vault::StartPurchase {
                        user_id: buyer.user_id().unwrap().clone(),
                        item: CheckoutItem::Bundle(bundle),
                        license_type: vault_core::commerce::license::LicenseType::Personal,
                        tax: None,
                        license_expires_at: None,
                        provider: Default::default(),
                    },
                )
                .await?;
            vault
                .complete_purchase(
                    &Actor::Service,
                    p.id,
                    vault_core::commerce::purchase::PaymentRef::parse(&format!("pi_{i}")).unwrap(),
                )
                .await
        }
    })
    .await;
    assert!(bought.iter().all(Result::is_ok), "{bought:?}");
    for id in [a.id, b.id] {
        let w = f.store.workflow(id).await.unwrap().unwrap();
        assert_eq!(w.stats.purchase_count, 16);
    }
    for id in &bundles {
        assert_eq!(
            f.store.bundle(*id).await.unwrap().unwrap().purchase_count,
            8
        );
    }
}
