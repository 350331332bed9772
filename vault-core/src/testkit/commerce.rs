//! Commerce through the service: refunds and disputes and the access they
//! take back, purchases, memberships.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::Fixture;
use super::helpers::{bundle_of_three, denied, no_request, pending, usd, workflow_of};
use crate::commerce::license::LicenseType;
use crate::commerce::membership::{MembershipEvent, MembershipStatus, Period};
use crate::commerce::purchase::{PaymentRef, PaymentStatus, ProviderRefs};
use crate::commerce::refund::PaymentEvent;
use crate::delivery::access::DenyReason;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::error::{Entity, StoreError};
use crate::value::ids::PurchaseId;
use crate::value::money::{Currency, Money};
use crate::value::tier::PricingTier;
use crate::vault::{CheckoutItem, StartPurchase};

// ------------------------------------------------ refunds and disputes

pub async fn refund_cascade_revokes_bundle_access(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (bundle, members) = bundle_of_three(&f).await;
    let user = Fixture::user("refunder");
    let p = f.buy(&user, CheckoutItem::Bundle(bundle.id)).await;
    for m in &members {
        assert!(
            f.vault
                .check_access(&user, *m, None)
                .await
                .unwrap()
                .is_granted()
        );
    }
    let (partial, fx) = f
        .vault
        .refund_purchase(
            &Actor::Service,
            p.id,
            Some(usd(1000)),
            Some("goodwill".into()),
        )
        .await
        .unwrap();
    assert_eq!(partial.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(fx.access, crate::commerce::refund::AccessEffect::Keep);
    assert!(
        f.vault
            .check_access(&user, members[1], None)
            .await
            .unwrap()
            .is_granted(),
        "a partial refund keeps access"
    );
    f.advance(Duration::days(2));
    let (full, _) = f
        .vault
        .refund_purchase(&Actor::Service, p.id, None, None)
        .await
        .unwrap();
    assert_eq!(full.status, PaymentStatus::Refunded);
    for m in &members {
        let d = f.vault.check_access(&user, *m, None).await.unwrap();
        assert!(!d.is_granted());
        assert!(
            d.summary().contains("purchase refunded on 2025-02-15"),
            "{}",
            d.summary()
        );
    }
    // Repeating the refund changes nothing.
    let (same, fx) = f
        .vault
        .apply_payment_event(
            &Actor::Service,
            p.id,
            PaymentEvent::Refunded {
                refunded_total: usd(8000),
                reason: None,
            },
        )
        .await
        .unwrap();
    assert!(!fx.changed);
    assert_eq!(same, full);
}

/// Two refunds that read the same partially refunded purchase: the second
/// writer's guard (status and refunded total) fails, so neither overwrites
/// the other and refund analytics are counted once.
pub async fn stale_refund_writes_conflict(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f
        .workflow("refund-race", PricingTier::Pro, Some(4900))
        .await;
    let p = f
        .buy(&Fixture::user("racer"), CheckoutItem::Workflow(w.id))
        .await;
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(1000)), None)
        .await
        .unwrap();
    let read = f.store.purchase(p.id).await.unwrap().unwrap();
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(500)), None)
        .await
        .unwrap();
    let stale = crate::commerce::refund::cascade(
        &read,
        &PaymentEvent::Refunded {
            refunded_total: usd(1700),
            reason: None,
        },
        &[],
        super::epoch(),
    )
    .unwrap();
    let mut next = read.clone();
    stale.apply_to(&mut next, super::epoch());
    let r = f
        .store
        .settle_purchase(&crate::store::PurchaseWrite {
            purchase: next,
            expected_status: read.status,
            expected_refunded: read.refund.as_ref().map(|r| r.refunded),
            expected_dispute: read.dispute_outcome,
            count_purchase: false,
            analytics: vec![],
            refunds: vec![],
            audit: None,
            outbox: vec![],
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    let stored = f.store.purchase(p.id).await.unwrap().unwrap();
    assert_eq!(stored.refund.map(|r| r.refunded), Some(usd(1500)));
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].refunds,
        Decimal::from(15)
    );
}

pub async fn dispute_suspends_then_restores(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("disputed", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("chargeback");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    f.vault
        .apply_payment_event(&Actor::Service, p.id, PaymentEvent::DisputeOpened)
        .await
        .unwrap();
    let d = denied(f.vault.download(&user, w.id, None, &no_request()).await);
    assert!(matches!(
        d.reasons.as_slice(),
        [DenyReason::PurchaseDisputed { .. }]
    ));
    let (p2, _) = f
        .vault
        .apply_payment_event(
            &Actor::Service,
            p.id,
            PaymentEvent::DisputeClosed { won: true },
        )
        .await
        .unwrap();
    assert_eq!(p2.status, PaymentStatus::Completed);
    f.vault
        .download(&user, w.id, None, &no_request())
        .await
        .unwrap();
}

// ------------------------------------------------------------ purchases
pub async fn completion_idempotent_per_payment(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("once", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("payer");
    let p = pending(&f, &user, w.id).await;
    assert_eq!(p.total, usd(5390));
    assert_eq!(
        f.vault.purchase(&user, p.id).await.unwrap(),
        p,
        "purchases read back exactly"
    );
    let pay = PaymentRef::parse("pi_once").unwrap();
    let done = f
        .vault
        .complete_purchase(&Actor::Service, p.id, pay.clone())
        .await
        .unwrap();
    let again = f
        .vault
        .complete_purchase(&Actor::Service, p.id, pay.clone())
        .await
        .unwrap();
    assert_eq!(done, again);
    assert_eq!(workflow_of(&f, w.id).await.stats.purchase_count, 1);
    let other = f
        .vault
        .complete_purchase(
            &Actor::Service,
            p.id,
            PaymentRef::parse("pi_other").unwrap(),
        )
        .await;
    assert!(matches!(other, Err(Error::Conflict { .. })), "{other:?}");
    assert_eq!(
        f.store
            .purchase_by_payment_ref(&pay)
            .await
            .unwrap()
            .unwrap()
            .id,
        p.id
    );
    // A payment reference settles one purchase only.
    let q = pending(&f, &Fixture::user("second"), w.id).await;
    let r = f.vault.complete_purchase(&Actor::Service, q.id, pay).await;
    assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
    assert_eq!(
        f.store.purchase(q.id).await.unwrap().unwrap().status,
        PaymentStatus::Pending
    );
}

/// What the payment webhooks look up: a purchase by its payment and a
/// membership by its subscription, for staff only.
pub async fn webhook_lookups(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("hooked", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("subscriber");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    let pay = p.payment_ref.clone().unwrap();
    assert!(matches!(
        f.vault.purchase_by_payment(&user, &pay).await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        f.vault
            .purchase_by_payment(&Actor::Service, &pay)
            .await
            .unwrap(),
        Some(p)
    );
    assert_eq!(
        f.vault
            .purchase_by_payment(&f.admin, &PaymentRef::parse("pi_unknown").unwrap())
            .await
            .unwrap(),
        None
    );
    let now = super::epoch();
    let m = f
        .vault
        .start_membership(
            &Actor::Service,
            crate::commerce::membership::NewMembership {
                user_id: user.user_id().unwrap().clone(),
                tier: PricingTier::Pro,
                period: Period::new(now, now + Duration::days(30)).unwrap(),
                trial: false,
                period_download_limit: None,
                features: Default::default(),
                provider: ProviderRefs {
                    subscription_id: Some("sub_123".into()),
                    ..ProviderRefs::default()
                },
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        f.vault.membership_by_subscription(&user, "sub_123").await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        f.vault
            .membership_by_subscription(&Actor::Service, "sub_123")
            .await
            .unwrap(),
        Some(m)
    );
    assert_eq!(
        f.vault
            .membership_by_subscription(&Actor::Service, "sub_other")
            .await
            .unwrap(),
        None
    );
}

pub async fn concurrent_completion_counts_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("raced", PricingTier::Pro, Some(4900)).await;
    let p = pending(&f, &Fixture::user("racer"), w.id).await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let vault = f.vault.clone();
        handles.push(super::tokio::spawn(async move {
            vault
                .complete_purchase(&Actor::Service, p.id, PaymentRef::parse("pi_dup").unwrap())
                .await
        }));
    }
    for h in handles {
        let done = h.await.unwrap().unwrap();
        assert_eq!(done.status, PaymentStatus::Completed);
    }
    assert_eq!(
        workflow_of(&f, w.id).await.stats.purchase_count,
        1,
        "duplicate deliveries apply once"
    );
    let day = super::epoch().date_naive();
    assert_eq!(
        f.store.analytics(w.id, day, day).await.unwrap()[0].purchases,
        1
    );
}

/// A purchase's license key is derived, never stored: the store keeps its
/// digest, the buyer is shown the key on any later read, and a vault under
/// another secret cannot show it.
pub async fn license_keys_are_shown_from_their_digest(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let (w, _) = f.workflow("keyed", PricingTier::Pro, Some(1500)).await;
    let (v, _) = f.workflow("keyed-too", PricingTier::Pro, Some(900)).await;
    let ann = Fixture::user("key-ann");
    let p = f.buy(&ann, CheckoutItem::Workflow(w.id)).await;
    let q = f.buy(&ann, CheckoutItem::Workflow(v.id)).await;
    let key = f.vault.license_key(&p).expect("the vault's own key");
    assert_eq!(key.hash(), p.license_key_hash);
    assert_ne!(p.license_key_hash.as_str(), key.as_str());
    // Read back from the store, by id and in the buyer's list: same digest,
    // same key shown.
    let read = f.vault.purchase(&ann, p.id).await.unwrap();
    assert_eq!(read.license_key_hash, p.license_key_hash);
    assert_eq!(f.vault.license_key(&read), Some(key.clone()));
    let listed = f
        .vault
        .purchases_for_user(&ann, &ann_id(&ann))
        .await
        .unwrap();
    let keys: Vec<_> = listed
        .iter()
        .filter_map(|p| f.vault.license_key(p))
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1], "each purchase has its own key");
    // The key its buyer presents finds the purchase (staff or the service
    // only); a key no purchase holds finds nothing.
    let found = f
        .vault
        .purchase_by_license_key(&Actor::Service, &key)
        .await
        .unwrap()
        .expect("the purchase of the key");
    assert_eq!(found.id, p.id);
    let typed = crate::commerce::license::LicenseKey::parse(&key.as_str().to_ascii_lowercase())
        .expect("a key as typed");
    assert_eq!(
        f.vault
            .purchase_by_license_key(&f.admin, &typed)
            .await
            .unwrap()
            .map(|p| p.id),
        Some(p.id)
    );
    let unknown = crate::commerce::license::LicenseKey::generate(
        &crate::value::clock::SeededEntropy::new(99),
    );
    assert_eq!(
        f.vault
            .purchase_by_license_key(&Actor::Service, &unknown)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        f.vault.purchase_by_license_key(&ann, &key).await,
        Err(Error::Forbidden { .. })
    ));
    // A vault over the same store under another secret shows no key.
    let other = crate::vault::Vault::new(
        store,
        Arc::new(crate::value::clock::ManualClock::new(super::epoch())),
        Arc::new(crate::value::clock::SeededEntropy::new(1)),
        crate::vault::VaultConfig::new(
            crate::delivery::download::IpSalt::new(b"conformance-salt-0123".to_vec()).unwrap(),
        )
        .with_license_secret(crate::commerce::license::LicenseSecret::new(vec![7; 32]).unwrap()),
    );
    assert_eq!(other.license_key(&read), None);
    assert_eq!(
        other.purchase(&ann, q.id).await.unwrap().license_key_hash,
        q.license_key_hash
    );
}

fn ann_id(actor: &Actor) -> crate::value::actor::UserId {
    actor.user_id().expect("a user").clone()
}

pub async fn purchase_failures_and_refusals(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("failing", PricingTier::Pro, Some(4900)).await;
    let (free, _) = f.workflow("gratis", PricingTier::Free, None).await;
    let (members, _) = f.workflow("club-only", PricingTier::Pro, None).await;
    let user = Fixture::user("unlucky");
    let p = pending(&f, &user, w.id).await;
    let failed = f.vault.fail_purchase(&Actor::Service, p.id).await.unwrap();
    assert_eq!(failed.status, PaymentStatus::Failed);
    let r = f
        .vault
        .refund_purchase(&Actor::Service, p.id, None, None)
        .await;
    assert!(matches!(r, Err(Error::InvalidTransition { .. })), "{r:?}");
    // A failed attempt is not terminal: a later payment completes it, once.
    let paid = f
        .vault
        .complete_purchase(&Actor::Service, p.id, PaymentRef::parse("pi_late").unwrap())
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Completed);
    assert_eq!(workflow_of(&f, w.id).await.stats.purchase_count, 1);
    let r = f.vault.fail_purchase(&Actor::Service, p.id).await;
    assert!(
        matches!(
            r,
            Err(Error::InvalidTransition {
                state: "completed",
                ..
            })
        ),
        "a paid purchase does not fail: {r:?}"
    );
    for (id, what) in [(free.id, "free"), (members.id, "members-only")] {
        let r = f
            .checkout(&user, CheckoutItem::Workflow(id), LicenseType::Personal)
            .await;
        assert!(
            matches!(r, Err(Error::Invalid(ref e)) if e.field() == "item"),
            "{what}: {r:?}"
        );
    }
    let eur_tax = f
        .vault
        .start_purchase(
            &user,
            StartPurchase {
                user_id: user.user_id().unwrap().clone(),
                item: CheckoutItem::Workflow(w.id),
                license_type: LicenseType::Personal,
                tax: Some(Money::from_minor(100, Currency::EUR)),
                license_expires_at: None,
                provider: ProviderRefs::default(),
            },
        )
        .await;
    assert!(
        matches!(eur_tax, Err(Error::CurrencyMismatch { .. })),
        "{eur_tax:?}"
    );
    assert!(matches!(
        f.vault
            .complete_purchase(
                &Actor::Service,
                PurchaseId::from_uuid(uuid::Uuid::from_u128(1)),
                PaymentRef::parse("pi_x").unwrap()
            )
            .await,
        Err(Error::NotFound {
            entity: Entity::Purchase,
            ..
        })
    ));
    assert_eq!(
        f.vault
            .purchases_for_user(&user, user.user_id().unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
}

// ---------------------------------------------------------- memberships

pub async fn membership_lifecycle(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let user = Fixture::user("joiner");
    let m = f.join(&user, PricingTier::Pro, None, true).await;
    assert_eq!(m.status, MembershipStatus::Trialing);
    let second = f
        .vault
        .start_membership(
            &Actor::Service,
            crate::commerce::membership::NewMembership {
                user_id: user.user_id().unwrap().clone(),
                tier: PricingTier::Basic,
                period: m.period,
                trial: false,
                period_download_limit: None,
                features: Default::default(),
                provider: ProviderRefs::default(),
            },
        )
        .await;
    assert!(matches!(
        second,
        Err(Error::AlreadyExists {
            entity: Entity::Membership,
            ..
        })
    ));
    let r = f
        .vault
        .apply_membership_event(
            &user,
            m.id,
            MembershipEvent::ChangeTier {
                tier: PricingTier::Enterprise,
                period_download_limit: None,
            },
        )
        .await;
    assert!(
        matches!(r, Err(Error::Forbidden { .. })),
        "members cannot change their own tier without paying"
    );
    let failed = f
        .vault
        .mark_membership_past_due(&Actor::Service, m.id)
        .await
        .unwrap();
    assert_eq!(failed.status, MembershipStatus::PastDue);
    let scheduled = f.vault.cancel_membership(&user, m.id, true).await.unwrap();
    assert!(scheduled.cancel_at_period_end);
    assert_eq!(scheduled.status, MembershipStatus::PastDue);
    let canceled = f.vault.cancel_membership(&user, m.id, false).await.unwrap();
    assert_eq!(canceled.status, MembershipStatus::Canceled);
    let r = f
        .vault
        .apply_membership_event(
            &Actor::Service,
            m.id,
            MembershipEvent::Renew { period: m.period },
        )
        .await;
    assert!(
        matches!(
            r,
            Err(Error::InvalidTransition {
                entity: Entity::Membership,
                state: "canceled",
                ..
            })
        ),
        "{r:?}"
    );
    let stored = f.store.membership(m.id).await.unwrap().unwrap();
    assert_eq!(stored, canceled, "a refused transition writes nothing");
    // A stale writer loses.
    let mut stale = m.clone();
    stale.revision = m.revision + 1;
    assert!(matches!(
        f.store.update_membership(&stale, m.revision).await,
        Err(StoreError::Conflict { .. })
    ));
    // After it ended, a new membership may start.
    f.join(&user, PricingTier::Basic, None, false).await;
    assert_eq!(
        f.vault
            .memberships_for_user(&user, user.user_id().unwrap())
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn active_memberships_view(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let a = f
        .join(&Fixture::user("a"), PricingTier::Pro, Some(10), false)
        .await;
    let b = f
        .join(&Fixture::user("b"), PricingTier::Basic, None, true)
        .await;
    let c = f
        .join(&Fixture::user("c"), PricingTier::Basic, None, false)
        .await;
    f.vault
        .apply_membership_event(&Actor::Service, c.id, MembershipEvent::Cancel)
        .await
        .unwrap();
    f.advance(Duration::days(10));
    let rows = f.vault.active_memberships(&f.admin).await.unwrap();
    let ids: Vec<_> = rows.iter().map(|r| r.membership_id).collect();
    assert!(ids.contains(&a.id) && ids.contains(&b.id) && !ids.contains(&c.id));
    let row_a = rows.iter().find(|r| r.membership_id == a.id).unwrap();
    assert_eq!(row_a.days_remaining, 20);
    assert_eq!(row_a.downloads_remaining, Some(10));
    assert!(matches!(
        f.vault.active_memberships(&Fixture::user("a")).await,
        Err(Error::Forbidden { .. })
    ));
    f.advance(Duration::days(25));
    assert!(
        f.vault
            .active_memberships(&f.admin)
            .await
            .unwrap()
            .is_empty(),
        "lapsed memberships leave the view"
    );
}

/// The `active_memberships` view of a store, read at a fixed clock, gives
/// the rows the vault computes with its rule: trialing, active, ending,
/// within a past-due grace, and none of the lapsed or ended, with the same
/// days and downloads left, at instants inside and between the edges.
pub async fn active_memberships_view_agrees_with_the_rule(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let start = crate::value::clock::Clock::now(&*f.clock);
    let member = |n: &str| Fixture::user(n);
    let active = f
        .join(&member("active"), PricingTier::Pro, Some(10), false)
        .await;
    let trial = f
        .join(&member("trial"), PricingTier::Basic, None, true)
        .await;
    let ending = f
        .join(&member("ending"), PricingTier::Basic, Some(3), false)
        .await;
    let late = f.join(&member("late"), PricingTier::Pro, None, false).await;
    let gone = f
        .join(&member("gone"), PricingTier::Basic, None, false)
        .await;
    let event = |id, e| {
        let vault = &f.vault;
        async move {
            vault
                .apply_membership_event(&Actor::Service, id, e)
                .await
                .unwrap()
        }
    };
    event(ending.id, MembershipEvent::CancelAtPeriodEnd(true)).await;
    event(gone.id, MembershipEvent::Cancel).await;
    f.advance(Duration::days(2) + Duration::milliseconds(250));
    let late = event(late.id, MembershipEvent::PaymentFailed).await;
    let grace_end = late.grace_ends_at.expect("settled when written past due");
    assert_eq!(
        grace_end,
        start + Duration::days(5) + Duration::milliseconds(250)
    );
    let _ = (active, trial);
    let instants = [
        Duration::days(2) + Duration::hours(1),
        Duration::days(4) + Duration::hours(23) + Duration::milliseconds(999),
        Duration::days(5) + Duration::milliseconds(250),
        Duration::days(6),
        Duration::days(29) + Duration::hours(23),
        Duration::days(30),
        Duration::days(31),
    ];
    let mut seen_grace = false;
    for offset in instants {
        let at = start + offset;
        f.clock.set(at);
        let mut rule = f.vault.active_memberships(&f.admin).await.unwrap();
        rule.sort_by_key(|r| r.membership_id);
        let view = store.active_memberships_report(at).await.unwrap();
        assert_eq!(view, rule, "at start + {offset}");
        seen_grace |= rule
            .iter()
            .any(|r| r.computed_status == crate::insight::analytics::ComputedStatus::Grace);
        let ids: Vec<_> = rule.iter().map(|r| r.membership_id).collect();
        assert!(
            !ids.contains(&gone.id),
            "an ended membership is never active"
        );
        assert_eq!(
            ids.contains(&late.id),
            at < grace_end,
            "past due counts until its grace ends, at start + {offset}"
        );
    }
    assert!(seen_grace);
}
