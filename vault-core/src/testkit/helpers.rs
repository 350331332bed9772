//! Small helpers the service-level cases share.

use super::Fixture;
use crate::catalog::bundle::NewBundle;
use crate::commerce::license::LicenseType;
use crate::commerce::purchase::ProviderRefs;
use crate::community::rating::{DimensionRatings, Rating};
use crate::community::review::ReviewInput;
use crate::delivery::download::RequestInfo;
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::ids::WorkflowId;
use crate::value::money::{Currency, Money};
use crate::value::slug::Slug;
use crate::value::tier::PricingTier;
use crate::vault::{CheckoutItem, StartPurchase};

pub(super) fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

pub(super) fn denied(
    r: Result<impl std::fmt::Debug, Error>,
) -> crate::delivery::access::AccessDecision {
    match r {
        Err(Error::Denied(d)) => *d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

pub(super) fn no_request() -> RequestInfo {
    RequestInfo::default()
}

pub(super) async fn workflow_of(f: &Fixture, id: WorkflowId) -> crate::catalog::workflow::Workflow {
    f.store.workflow(id).await.unwrap().unwrap()
}

pub(super) fn review_input(stars: u8) -> ReviewInput {
    ReviewInput {
        rating: Rating::new(stars).unwrap(),
        dimensions: DimensionRatings::default(),
        title: format!("{stars} stars"),
        body: String::new(),
    }
}

pub(super) async fn bundle_of_three(
    f: &Fixture,
) -> (crate::catalog::bundle::Bundle, Vec<WorkflowId>) {
    let (a, _) = f.workflow("b-one", PricingTier::Pro, Some(6000)).await;
    let (b, _) = f.workflow("b-two", PricingTier::Pro, Some(3000)).await;
    let (c, _) = f.workflow("b-three", PricingTier::Pro, Some(1000)).await;
    let members = vec![a.id, b.id, c.id];
    let bundle = f
        .vault
        .create_bundle(
            &f.admin,
            NewBundle {
                slug: Slug::parse("starter-pack").unwrap(),
                name: "Starter pack".into(),
                description: String::new(),
                workflow_ids: members.clone(),
                price: usd(8000),
                valid_from: None,
                valid_until: None,
                seo: Default::default(),
            },
        )
        .await
        .unwrap();
    (bundle, members)
}

pub(super) async fn pending(
    f: &Fixture,
    user: &Actor,
    w: WorkflowId,
) -> crate::commerce::purchase::Purchase {
    f.vault
        .start_purchase(
            user,
            StartPurchase {
                user_id: user.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w),
                license_type: LicenseType::Commercial,
                tax: Some(usd(490)),
                license_expires_at: None,
                provider: ProviderRefs {
                    checkout_session_id: Some("cs_test_1".into()),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap()
}
