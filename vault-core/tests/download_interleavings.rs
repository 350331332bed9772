//! Property: recorded downloads never exceed a license's limit, under any
//! interleaving of deciding and committing.
//!
//! Each simulated request does what `Vault::download` does in two steps:
//! decide with the pure access rule on the state it read, then commit a
//! guarded write carrying the decision's charge. A random schedule interleaves
//! the steps of many requests; whatever the order, the store never records
//! more downloads than the limit, its counters agree with its rows, and a
//! request that read a quota with room was granted.

#![allow(clippy::unwrap_used)] // test setup code outside #[test] functions

use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use vault_core::MemoryStore;
use vault_core::catalog::category::core_systems;
use vault_core::catalog::file::{Checksum, FileAccess, FileKind, NewFile};
use vault_core::catalog::workflow::{Workflow, WorkflowContent, WorkflowStatus};
use vault_core::commerce::license::{LicenseKey, LicenseType};
use vault_core::commerce::purchase::{
    NewPurchase, PaymentRef, ProviderRefs, Purchase, PurchaseItem,
};
use vault_core::delivery::access::{AccessPolicy, Entitlements, Target, decide};
use vault_core::delivery::download::{Download, DownloadSource};
use vault_core::insight::analytics::AnalyticsDelta;
use vault_core::store::{CatalogStore, Charge, CommerceStore, DeliveryStore, StoreError};
use vault_core::value::actor::Actor;
use vault_core::value::clock::SeededEntropy;
use vault_core::value::ids::{CategoryId, DownloadId, FileId, PurchaseId, WorkflowId};
use vault_core::value::money::{Currency, Money};
use vault_core::value::slug::Slug;
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000)
}

struct World {
    store: Arc<MemoryStore>,
    workflow: Workflow,
    file: FileId,
    purchase: PurchaseId,
}

async fn world(limit: u32) -> World {
    let store = Arc::new(MemoryStore::new());
    let cat = core_systems()
        .remove(0)
        .build(CategoryId::from_uuid(uuid::Uuid::from_u128(1)), now())
        .unwrap();
    store
        .insert_category(&cat, &vault_core::testkit::audit())
        .await
        .unwrap();
    let content = WorkflowContent {
        slug: Slug::parse("raced").unwrap(),
        title: "Raced".into(),
        short_description: String::new(),
        description: String::new(),
        category_id: cat.id,
        wedge: Default::default(),
        pricing_tier: PricingTier::Pro,
        price: Some(Money::from_minor(1000, Currency::USD)),
        media: Default::default(),
        features: vec![],
        requirements: vec![],
        includes: vec![],
        tags: vec![],
        seo: Default::default(),
        update_months: None,
        download_limit: Some(limit),
    };
    let mut workflow = Workflow::new_draft(
        WorkflowId::from_uuid(uuid::Uuid::from_u128(2)),
        content,
        now(),
    )
    .unwrap();
    workflow.status = WorkflowStatus::Published;
    store
        .insert_workflow(&workflow, &vault_core::testkit::audit())
        .await
        .unwrap();
    let file = NewFile {
        workflow_id: workflow.id,
        kind: FileKind::Json,
        file_name: "raced.json".into(),
        storage_key: "raced.json".into(),
        mime_type: "application/json".into(),
        version: Version::new(1, 0, 0),
        is_primary: true,
        access: FileAccess::Standard,
        size_bytes: 1,
        checksum: Checksum::of(b"x"),
    }
    .build(FileId::from_uuid(uuid::Uuid::from_u128(3)), now())
    .unwrap();
    store
        .insert_file(&file, &vault_core::testkit::audit())
        .await
        .unwrap();
    let mut purchase = NewPurchase {
        user_id: vault_core::value::actor::UserId::parse("buyer").unwrap(),
        item: PurchaseItem::Workflow {
            workflow_id: workflow.id,
        },
        license_type: LicenseType::Personal,
        amount: Money::from_minor(1000, Currency::USD),
        tax: Money::zero(Currency::USD),
        download_limit: Some(limit),
        license_expires_at: None,
        update_months: None,
        provider: ProviderRefs::default(),
    }
    .build(
        PurchaseId::from_uuid(uuid::Uuid::from_u128(4)),
        LicenseKey::generate(&SeededEntropy::new(1)).hash(),
        now(),
    )
    .unwrap();
    purchase
        .complete(PaymentRef::parse("pi_1").unwrap(), now())
        .unwrap();
    store.insert_purchase(&purchase).await.unwrap();
    World {
        store,
        workflow,
        file: file.id,
        purchase: purchase.id,
    }
}

/// One request's state between its two steps.
enum Step {
    Fresh,
    Decided(Option<Charge>),
    Done,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn downloads_never_exceed_the_limit(
        limit in 1u32..6,
        requests in 1usize..14,
        schedule in proptest::collection::vec(any::<prop::sample::Index>(), 0..60),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let w = world(limit).await;
            let actor = Actor::user("buyer").unwrap();
            let mut steps: Vec<Step> = (0..requests).map(|_| Step::Fresh).collect();
            let mut granted_with_room = 0usize;
            let mut ok = 0u32;
            // Run the random schedule, then finish every request in order.
            let order = schedule
                .iter()
                .map(|i| i.index(requests))
                .chain((0..requests).flat_map(|i| [i, i]));
            for (n, i) in order.enumerate() {
                match &steps[i] {
                    Step::Fresh => {
                        let purchases = w.store.purchases_covering(actor.user_id().unwrap(), w.workflow.id).await.unwrap();
                        let room = purchases[0].quota.has_room();
                        let decision = decide(
                            &actor,
                            &Target::new(&w.workflow, None),
                            &Entitlements { purchases: purchases.iter().map(Purchase::terms).collect(), ..Default::default() },
                            now(),
                            &AccessPolicy::default(),
                        );
                        prop_assert_eq!(decision.is_granted(), room, "granted exactly when the read quota had room");
                        if room {
                            granted_with_room += 1;
                        }
                        let charge = decision.grant.map(|g| match g.source {
                            DownloadSource::Purchase(id) => Charge::Purchase {
                                id,
                                expected_status: g.purchase_status.unwrap(),
                                limit: g.quota.and_then(|q| q.limit),
                            },
                            other => panic!("unexpected source {other:?}"),
                        });
                        steps[i] = Step::Decided(charge);
                    }
                    Step::Decided(charge) => {
                        if let Some(charge) = charge {
                            let d = Download {
                                id: DownloadId::from_uuid(uuid::Uuid::from_u128(1000 + n as u128)),
                                user_id: actor.user_id().cloned(),
                                workflow_id: w.workflow.id,
                                file_id: w.file,
                                file_version: Version::new(1, 0, 0),
                                kind: vault_core::delivery::download::DownloadKind::Purchased,
                                source: DownloadSource::Purchase(w.purchase),
                                request: Default::default(),
                                downloaded_at: now(),
                            };
                            match w.store.record_download(&d, charge, &AnalyticsDelta::none(w.workflow.id, now())).await {
                                Ok(()) => ok += 1,
                                Err(StoreError::LimitReached { .. }) => {}
                                Err(e) => panic!("unexpected {e:?}"),
                            }
                        }
                        steps[i] = Step::Done;
                    }
                    Step::Done => {}
                }
            }
            let used = w.store.purchase(w.purchase).await.unwrap().unwrap().quota.used;
            let rows = w.store.downloads_for_workflow(w.workflow.id, 1000).await.unwrap().len();
            let counter = w.store.workflow(w.workflow.id).await.unwrap().unwrap().stats.download_count;
            prop_assert!(ok <= limit, "{ok} downloads recorded against a limit of {limit}");
            prop_assert_eq!(used, ok);
            prop_assert_eq!(rows as u32, ok);
            prop_assert_eq!(counter, u64::from(ok));
            // Every request that was granted either committed or lost the
            // race for a unit someone else took: the limit is used up fully
            // whenever more requests were granted than it allows.
            if granted_with_room as u32 >= limit {
                prop_assert_eq!(ok, limit);
            } else {
                prop_assert_eq!(ok as usize, granted_with_room);
            }
            Ok(())
        })?;
    }
}
