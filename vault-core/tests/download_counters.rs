//! Edge cases of a download's counters through the service.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use vault_core::MemoryStore;
use vault_core::commerce::license::{LicenseKey, LicenseType, Quota};
use vault_core::commerce::purchase::{NewPurchase, PaymentRef, ProviderRefs, PurchaseItem};
use vault_core::store::Store;
use vault_core::testkit::{Fixture, epoch, run};
use vault_core::value::clock::SeededEntropy;
use vault_core::value::tier::PricingTier;

/// An unlimited license whose count has reached `u32::MAX` still downloads:
/// the counts saturate instead of overflowing.
#[test]
fn an_unlimited_quota_at_its_maximum_count_does_not_panic() {
    run(async {
        let f = Fixture::new(Arc::new(MemoryStore::new()) as Arc<dyn Store>).await;
        let (w, _) = f.workflow("worn", PricingTier::Pro, Some(1000)).await;
        let user = Fixture::user("heavy-user");
        let mut p = NewPurchase {
            user_id: user.user_id().unwrap().clone(),
            item: PurchaseItem::Workflow { workflow_id: w.id },
            license_type: LicenseType::Personal,
            amount: w.content.price.unwrap(),
            tax: vault_core::value::money::Money::zero(w.content.price.unwrap().currency()),
            download_limit: None,
            license_expires_at: None,
            update_months: None,
            provider: ProviderRefs::default(),
        }
        .build(
            vault_core::value::ids::PurchaseId::from_uuid(uuid::Uuid::from_u128(9)),
            LicenseKey::generate(&SeededEntropy::new(9)).hash(),
            epoch(),
        )
        .unwrap();
        p.complete(PaymentRef::parse("pi_worn").unwrap(), epoch())
            .unwrap();
        p.quota = Quota {
            used: u32::MAX,
            limit: None,
        };
        f.store.insert_purchase(&p).await.unwrap();
        let t = f
            .vault
            .download(&user, w.id, None, &Default::default())
            .await
            .unwrap();
        assert_eq!(
            t.quota_after,
            Some(Quota {
                used: u32::MAX,
                limit: None
            })
        );
        let stored = f.store.purchase(p.id).await.unwrap().unwrap();
        assert_eq!(stored.quota.used, u32::MAX);
    });
}
