//! Conformance cases for the rules every store applies inside its writes by
//! calling vault-core (never by spelling them again): the charge verdict of
//! a guarded download, one currency per workflow per day in analytics, and
//! the license terms a bundle sells.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::Fixture;
use crate::catalog::bundle::NewBundle;
use crate::delivery::charge::{Charge, MEMBERSHIP_MOVED, STATUS_MOVED};
use crate::delivery::download::{Download, DownloadKind, DownloadSource};
use crate::insight::analytics::CURRENCY_CONFLICT;
use crate::store::{Store, StoreError};
use crate::value::delta::AnalyticsDelta;
use crate::value::ids::{DownloadId, PurchaseId};
use crate::value::money::{Currency, Money};
use crate::value::slug::Slug;
use crate::value::status::{MembershipStatus, PaymentStatus};
use crate::value::tier::PricingTier;
use crate::vault::CheckoutItem;

pub async fn charge_misses_name_their_cause(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut c = f.content("charged", PricingTier::Pro, Some(1000));
    c.download_limit = Some(1);
    let (w, file) = f.publish(c).await;
    let buyer = Fixture::user("buyer");
    let p = f.buy(&buyer, CheckoutItem::Workflow(w.id)).await;
    let member = Fixture::user("member");
    let m = f.join(&member, PricingTier::Pro, Some(5), false).await;
    let mut n = 0u128;
    let mut attempt = async |charge: Charge| {
        n += 1;
        let d = Download {
            id: DownloadId::from_uuid(uuid::Uuid::from_u128(9000 + n)),
            user_id: buyer.user_id().cloned(),
            workflow_id: w.id,
            file_id: file.id,
            file_version: file.version,
            kind: DownloadKind::Purchased,
            source: DownloadSource::Purchase(p.id),
            request: Default::default(),
            downloaded_at: super::epoch(),
        };
        f.store
            .record_download(&d, &charge, &AnalyticsDelta::none(w.id, super::epoch()))
            .await
    };
    let purchase = |status, limit| Charge::Purchase {
        id: p.id,
        expected_status: status,
        limit,
    };
    let r = attempt(purchase(PaymentStatus::Refunded, Some(1))).await;
    assert!(
        matches!(
            r,
            Err(StoreError::Conflict {
                reason: STATUS_MOVED,
                ..
            })
        ),
        "{r:?}"
    );
    let r = attempt(purchase(PaymentStatus::Completed, Some(0))).await;
    assert!(
        matches!(r, Err(StoreError::LimitReached { limit: 0, .. })),
        "{r:?}"
    );
    let r = attempt(Charge::Purchase {
        id: PurchaseId::from_uuid(uuid::Uuid::from_u128(404)),
        expected_status: PaymentStatus::Completed,
        limit: None,
    })
    .await;
    assert!(matches!(r, Err(StoreError::NotFound { .. })), "{r:?}");
    let renewed = Charge::Membership {
        id: m.id,
        expected_status: MembershipStatus::Active,
        period_start: m.period.start + Duration::days(30),
        limit: Some(5),
    };
    let r = attempt(renewed).await;
    assert!(
        matches!(
            r,
            Err(StoreError::Conflict {
                reason: MEMBERSHIP_MOVED,
                ..
            })
        ),
        "{r:?}"
    );
    // Nothing of the refused writes landed; the guard then passes once.
    assert!(
        f.store
            .downloads_for_workflow(w.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 0);
    attempt(purchase(PaymentStatus::Completed, Some(1)))
        .await
        .unwrap();
    let r = attempt(purchase(PaymentStatus::Completed, Some(1))).await;
    assert!(
        matches!(r, Err(StoreError::LimitReached { limit: 1, .. })),
        "{r:?}"
    );
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap().quota.used, 1);
}

pub async fn analytics_keep_one_currency_per_day(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("counted", PricingTier::Pro, Some(1000)).await;
    let delta = |currency: Option<Currency>, cents: i64| {
        let mut d = AnalyticsDelta::none(w.id, super::epoch());
        d.currency = currency;
        d.revenue = Decimal::new(cents, 2);
        d.purchases = u64::from(cents > 0);
        d
    };
    f.store
        .record_analytics(&delta(Some(Currency::USD), 4900))
        .await
        .unwrap();
    let day = super::epoch().date_naive();
    let before = f.store.analytics(w.id, day, day).await.unwrap();
    let r = f
        .store
        .record_analytics(&delta(Some(Currency::EUR), 100))
        .await;
    assert!(
        matches!(
            r,
            Err(StoreError::Conflict {
                reason: CURRENCY_CONFLICT,
                ..
            })
        ),
        "{r:?}"
    );
    let r = f.store.record_analytics(&delta(None, 100)).await;
    assert!(
        matches!(r, Err(StoreError::Invalid(ref e)) if e.field() == "currency"),
        "{r:?}"
    );
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap(),
        before,
        "refused deltas change nothing"
    );
    // A delta without amounts never conflicts, and keeps the day's currency.
    let mut view = delta(Some(Currency::EUR), 0);
    view.views = 1;
    f.store.record_analytics(&view).await.unwrap();
    let row = &f.store.analytics(w.id, day, day).await.unwrap()[0];
    assert_eq!(
        (row.currency, row.revenue, row.views),
        (Some(Currency::USD), Decimal::new(4900, 2), 1)
    );
    // Another day starts afresh.
    let mut next = delta(Some(Currency::EUR), 100);
    next.date = day.succ_opt().unwrap();
    f.store.record_analytics(&next).await.unwrap();
}

pub async fn bundles_sell_their_members_most_generous_terms(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let mut ids = Vec::new();
    for (slug, limit, months) in [("five", Some(5), Some(6)), ("three", Some(3), Some(12))] {
        let mut c = f.content(slug, PricingTier::Pro, Some(1000));
        c.download_limit = limit;
        c.update_months = months;
        ids.push(f.publish(c).await.0.id);
    }
    let bundle = |slug: &str, members: Vec<_>| NewBundle {
        slug: Slug::parse(slug).unwrap(),
        name: slug.into(),
        description: String::new(),
        workflow_ids: members,
        price: Money::from_minor(1500, Currency::USD),
        valid_from: None,
        valid_until: None,
        seo: Default::default(),
    };
    let limited = f
        .vault
        .create_bundle(&f.admin, bundle("limited", ids.clone()))
        .await
        .unwrap();
    let buyer = Fixture::user("buyer");
    let p = f.buy(&buyer, CheckoutItem::Bundle(limited.id)).await;
    assert_eq!((p.quota.limit, p.update_months), (Some(8), Some(12)));
    let mut c = f.content("unlimited", PricingTier::Pro, Some(1000));
    c.download_limit = None;
    c.update_months = None;
    ids.push(f.publish(c).await.0.id);
    let open = f
        .vault
        .create_bundle(&f.admin, bundle("open", ids))
        .await
        .unwrap();
    let p = f
        .buy(&Fixture::user("other"), CheckoutItem::Bundle(open.id))
        .await;
    assert_eq!((p.quota.limit, p.update_months), (None, None));
}
