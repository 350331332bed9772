//! Who may do what, across areas: users see only their own, refused calls
//! write nothing, and missing records are named.

use super::records::audit;
use std::sync::Arc;

use chrono::Duration;

use super::Fixture;
use super::helpers::{no_request, pending, workflow_of};
use crate::catalog::workflow::WorkflowStatus;
use crate::commerce::license::LicenseType;
use crate::commerce::membership::{MembershipEvent, Period};
use crate::commerce::purchase::{PaymentRef, PaymentStatus, ProviderRefs};
use crate::insight::analytics::AnalyticsDelta;
use crate::store::Store;
use crate::value::actor::{Actor, UserId};
use crate::value::error::Error;
use crate::value::error::{Entity, StoreError};
use crate::value::ids::WorkflowId;
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::vault::{CheckoutItem, StartPurchase};

pub async fn users_see_only_their_own(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("private", PricingTier::Pro, Some(4900)).await;
    let alice = Fixture::user("alice");
    let bob = Fixture::user("bob");
    let p = f.buy(&alice, CheckoutItem::Workflow(w.id)).await;
    f.vault
        .download(&alice, w.id, None, &no_request())
        .await
        .unwrap();
    f.vault
        .add_favorite(&alice, w.id, None, vec![])
        .await
        .unwrap();
    let m = f.join(&alice, PricingTier::Basic, None, false).await;
    let alice_id = alice.user_id().unwrap();
    assert!(matches!(
        f.vault.purchases_for_user(&bob, alice_id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault.downloads_for_user(&bob, alice_id, 10).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault.favorites(&bob, alice_id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vault.memberships_for_user(&bob, alice_id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(
        matches!(
            f.vault.purchase(&bob, p.id).await,
            Err(Error::NotFound { .. })
        ),
        "others' purchases read as not found"
    );
    assert!(matches!(
        f.vault.membership(&bob, m.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.vault
            .apply_membership_event(&bob, m.id, MembershipEvent::Cancel)
            .await,
        Err(Error::NotFound { .. })
    ));
    // Bob holds nothing of Alice's: her purchase does not grant him access.
    assert!(
        !f.vault
            .check_access(&bob, w.id, None)
            .await
            .unwrap()
            .is_granted()
    );
    assert_eq!(
        f.vault
            .purchases_for_user(&alice, alice_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        f.vault
            .purchases_for_user(&f.admin, alice_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn refused_calls_write_nothing(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("guarded", PricingTier::Pro, Some(4900)).await;
    let mallory = Fixture::user("mallory");
    let p = pending(&f, &mallory, w.id).await;
    let forbidden = |r: Result<_, Error>| matches!(r, Err(Error::Forbidden { .. }));
    assert!(forbidden(
        f.vault
            .create_workflow(&mallory, f.content("nope", PricingTier::Free, None))
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault.publish_workflow(&mallory, w.id).await.map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .archive_workflow(&Actor::Anonymous, w.id)
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .complete_purchase(&mallory, p.id, PaymentRef::parse("pi_fake").unwrap())
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .refund_purchase(&mallory, p.id, None, None)
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault
            .start_purchase(
                &mallory,
                StartPurchase {
                    user_id: UserId::parse("victim").unwrap(),
                    item: CheckoutItem::Workflow(w.id),
                    license_type: LicenseType::Personal,
                    tax: None,
                    license_expires_at: None,
                    provider: ProviderRefs::default(),
                }
            )
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        f.vault.seed_core_categories(&mallory).await.map(|_| ())
    ));
    // Memberships start from billing: a member naming their own tier,
    // period and quota would grant themselves anything.
    let now = super::epoch();
    assert!(forbidden(
        f.vault
            .start_membership(
                &mallory,
                crate::commerce::membership::NewMembership {
                    user_id: mallory.user_id().unwrap().clone(),
                    tier: PricingTier::Enterprise,
                    period: Period::new(now, now + Duration::days(36_500)).unwrap(),
                    trial: false,
                    period_download_limit: None,
                    features: Default::default(),
                    provider: ProviderRefs::default(),
                },
            )
            .await
            .map(|_| ())
    ));
    assert!(
        f.store
            .memberships_for_user(mallory.user_id().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store.purchase(p.id).await.unwrap().unwrap().status,
        PaymentStatus::Pending
    );
    assert_eq!(
        workflow_of(&f, w.id).await.status,
        WorkflowStatus::Published
    );
    assert!(
        f.store
            .workflow_by_slug(&Slug::parse("nope").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.store
            .purchases_for_user(&UserId::parse("victim").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    // Bad input writes nothing either.
    let mut bad = f.content("bad-input", PricingTier::Free, None);
    bad.title = String::new();
    assert!(
        matches!(f.vault.create_workflow(&f.admin, bad).await, Err(Error::Invalid(e)) if e.field() == "title")
    );
    assert!(
        f.store
            .workflow_by_slug(&Slug::parse("bad-input").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn not_found_variants(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("exists", PricingTier::Free, None).await;
    let (other, other_file) = f.workflow("other-one", PricingTier::Free, None).await;
    let ghost = WorkflowId::from_uuid(uuid::Uuid::from_u128(404));
    assert!(matches!(
        f.vault
            .download(&Actor::Anonymous, ghost, None, &no_request())
            .await,
        Err(Error::NotFound {
            entity: Entity::Workflow,
            ..
        })
    ));
    let cross = f
        .vault
        .download(&Actor::Anonymous, w.id, Some(other_file.id), &no_request())
        .await;
    assert!(
        matches!(
            cross,
            Err(Error::NotFound {
                entity: Entity::File,
                ..
            })
        ),
        "a file of another workflow is not found: {cross:?}"
    );
    let bare = f
        .vault
        .create_workflow(&f.admin, f.content("no-files", PricingTier::Free, None))
        .await
        .unwrap();
    f.vault.publish_workflow(&f.admin, bare.id).await.unwrap();
    assert!(matches!(
        f.vault
            .download(&Actor::Anonymous, bare.id, None, &no_request())
            .await,
        Err(Error::NotFound {
            entity: Entity::File,
            ..
        })
    ));
    assert!(matches!(
        f.store
            .update_file(&other_file.clone(), other_file.revision, &audit())
            .await,
        Ok(())
    ));
    let mut missing = other_file.clone();
    missing.id = crate::value::ids::FileId::from_uuid(uuid::Uuid::from_u128(405));
    assert!(matches!(
        f.store.update_file(&missing, 0, &audit()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        f.store
            .record_analytics(&AnalyticsDelta::none(ghost, super::epoch()))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(f.store.workflow(other.id).await.unwrap().is_some());
}
