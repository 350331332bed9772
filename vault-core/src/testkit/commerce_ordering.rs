//! Conformance cases for what makes payments order-safe in the store: the
//! one-membership rule inside the write, one membership per provider
//! subscription, the stamps a membership keeps, and the dispute outcome a
//! purchase keeps and guards.

use std::sync::Arc;

use chrono::Duration;

use super::Fixture;
use crate::commerce::membership::{MembershipStatus, NewMembership, Period};
use crate::commerce::purchase::{DisputeOutcome, PaymentRef, PaymentStatus};
use crate::commerce::refund::PaymentEvent;
use crate::commerce::subscription::{
    EventStamp, Plan, SubscriptionSnapshot, SubscriptionStatus, SubscriptionTerms,
};
use crate::store::{PurchaseWrite, Store};
use crate::value::actor::{Actor, UserId};
use crate::value::error::Error;
use crate::value::error::StoreError;
use crate::value::tier::PricingTier;
use crate::vault::{Enrollment, Followed};

fn new_membership(f: &Fixture, user: &str, n: i64) -> NewMembership {
    let now = super::NowUtc::now_utc(f.clock.as_ref());
    NewMembership {
        user_id: UserId::parse(user).unwrap(),
        tier: PricingTier::Pro,
        period: Period::new(now, now + Duration::days(30 + n)).unwrap(),
        trial: false,
        period_download_limit: Some(5),
        features: Default::default(),
        provider: Default::default(),
    }
}

pub async fn one_membership_per_user_under_contention(store: Arc<dyn Store>) {
    let f = Arc::new(Fixture::new(store).await);
    let barrier = Arc::new(super::tokio::sync::Barrier::new(16));
    let mut handles = Vec::new();
    for n in 0..16 {
        let (f, barrier) = (Arc::clone(&f), Arc::clone(&barrier));
        handles.push(super::tokio::spawn(async move {
            let new = new_membership(&f, "racer", n);
            barrier.wait().await;
            f.vault.start_membership(&Actor::Service, new).await
        }));
    }
    let mut started = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => started += 1,
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => panic!("a start failed otherwise: {e:?}"),
        }
    }
    assert_eq!(started, 1, "16 concurrent starts for one user: exactly one");
    let user = UserId::parse("racer").unwrap();
    assert_eq!(
        f.vault
            .memberships_for_user(&Actor::Service, &user)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn lapsed_memberships_expire_when_another_starts(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let user = Fixture::user("returning");
    let old = f.join(&user, PricingTier::Pro, Some(5), false).await;
    // Still in good standing: the slot is held.
    let r = f
        .vault
        .start_membership(&Actor::Service, new_membership(&f, "returning", 0))
        .await;
    assert!(matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
    f.advance(Duration::days(31));
    let new = f
        .vault
        .start_membership(&Actor::Service, new_membership(&f, "returning", 0))
        .await
        .unwrap();
    let old = f.vault.membership(&Actor::Service, old.id).await.unwrap();
    assert_eq!(
        (old.status, old.revision),
        (MembershipStatus::Expired, 1),
        "the lapsed one expired in the same write"
    );
    assert_eq!(new.status, MembershipStatus::Active);
}

fn snapshot(
    sub: &str,
    at: i64,
    rank: u8,
    id: &str,
    status: SubscriptionStatus,
    cancel: bool,
) -> SubscriptionSnapshot {
    let start = super::epoch();
    SubscriptionSnapshot {
        subscription_id: sub.into(),
        stamp: EventStamp::new(start + Duration::seconds(at), rank, id).unwrap(),
        status,
        period: Some(Period::new(start, start + Duration::days(30)).unwrap()),
        terms: Some(SubscriptionTerms {
            cancel_at_period_end: cancel,
            plan: Some(Plan {
                tier: PricingTier::Pro,
                period_download_limit: Some(10),
            }),
            trial_ends_at: None,
            price_id: Some("price_pro".into()),
        }),
    }
}

fn enrollment(user: &str) -> Enrollment {
    Enrollment {
        user_id: UserId::parse(user).unwrap(),
        customer_id: Some(format!("cus_{user}")),
    }
}

pub async fn memberships_follow_the_newest_event(store: Arc<dyn Store>) {
    use SubscriptionStatus as S;
    let f = Fixture::new(store).await;
    let who = enrollment("ann");
    let deleted = snapshot("sub_a", 20, 3, "evt_3", S::Canceled, true);
    let Followed::Membership {
        membership,
        started: true,
        ..
    } = f
        .vault
        .follow_subscription(&Actor::Service, &deleted, Some(&who))
        .await
        .unwrap()
    else {
        panic!("a deletion delivered first starts an ended membership");
    };
    assert_eq!(membership.status, MembershipStatus::Canceled);
    // The stamps are stored with it: older events change nothing, a newer
    // live one cannot revive it.
    for s in [
        snapshot("sub_a", 0, 0, "evt_1", S::Active, false),
        snapshot("sub_a", 10, 2, "evt_2", S::Active, false),
    ] {
        let r = f
            .vault
            .follow_subscription(&Actor::Service, &s, Some(&who))
            .await
            .unwrap();
        assert!(
            matches!(r, Followed::Membership { changed: false, .. }),
            "{r:?}"
        );
    }
    f.vault
        .follow_subscription(
            &Actor::Service,
            &snapshot("sub_a", 30, 2, "evt_4", S::Active, false),
            Some(&who),
        )
        .await
        .unwrap();
    let stored = f
        .vault
        .membership(&Actor::Service, membership.id)
        .await
        .unwrap();
    assert_eq!(
        (stored.status, stored.cancel_at_period_end),
        (MembershipStatus::Canceled, false)
    );
    assert_eq!(
        stored
            .provider_sync
            .status
            .as_ref()
            .map(EventStamp::event_id),
        Some("evt_4")
    );
    // An invoice for a subscription no membership follows cannot start one.
    let mut invoice = snapshot("sub_unknown", 5, 1, "evt_9", S::Active, false);
    invoice.terms = None;
    assert_eq!(
        f.vault
            .follow_subscription(&Actor::Service, &invoice, Some(&who))
            .await
            .unwrap(),
        Followed::UnknownSubscription
    );
    // A live subscription while the user holds another membership: waits.
    f.join(&Fixture::user("bob"), PricingTier::Pro, None, false)
        .await;
    assert_eq!(
        f.vault
            .follow_subscription(
                &Actor::Service,
                &snapshot("sub_b", 0, 0, "evt_b", S::Active, false),
                Some(&enrollment("bob"))
            )
            .await
            .unwrap(),
        Followed::SlotTaken {
            user_id: UserId::parse("bob").unwrap()
        }
    );
}

pub async fn concurrent_events_of_one_subscription_converge(store: Arc<dyn Store>) {
    use SubscriptionStatus as S;
    let f = Arc::new(Fixture::new(store).await);
    // Eight events of one subscription merged at once, the first of them
    // starting it: one membership, holding the newest event's state.
    let events: Vec<SubscriptionSnapshot> = (0..8)
        .map(|i| {
            let status = if i % 3 == 0 { S::PastDue } else { S::Active };
            snapshot("sub_c", i, 2, &format!("evt_{i}"), status, i % 2 == 0)
        })
        .collect();
    let barrier = Arc::new(super::tokio::sync::Barrier::new(events.len()));
    let mut handles = Vec::new();
    for s in events.clone() {
        let (f, barrier) = (Arc::clone(&f), Arc::clone(&barrier));
        handles.push(super::tokio::spawn(async move {
            barrier.wait().await;
            f.vault
                .follow_subscription(&Actor::Service, &s, Some(&enrollment("cat")))
                .await
        }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let user = UserId::parse("cat").unwrap();
    let all = f
        .vault
        .memberships_for_user(&Actor::Service, &user)
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "one membership per subscription");
    let newest = events.iter().max_by(|a, b| a.stamp.cmp(&b.stamp)).unwrap();
    assert_eq!(all[0].provider_sync.status.as_ref(), Some(&newest.stamp));
    assert_eq!(all[0].status, MembershipStatus::Active, "evt_7 is active");
    assert!(!all[0].cancel_at_period_end, "evt_7 does not cancel");
}

pub async fn dispute_outcome_is_kept_and_guarded(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("contested", PricingTier::Pro, Some(4900)).await;
    let buyer = Fixture::user("buyer");
    let p = f
        .buy(&buyer, crate::vault::CheckoutItem::Workflow(w.id))
        .await;
    // The close arrives before the opening.
    let (won, _) = f
        .vault
        .apply_payment_event(
            &Actor::Service,
            p.id,
            PaymentEvent::DisputeClosed { won: true },
        )
        .await
        .unwrap();
    let stored = f.store.purchase(p.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.dispute_outcome),
        (PaymentStatus::Completed, Some(DisputeOutcome::Won))
    );
    assert_eq!(stored, won);
    let (late, effects) = f
        .vault
        .apply_payment_event(&Actor::Service, p.id, PaymentEvent::DisputeOpened)
        .await
        .unwrap();
    assert!(!effects.changed);
    assert_eq!(late.status, PaymentStatus::Completed);
    // A write computed before the outcome was recorded conflicts, though
    // status and refunds did not move.
    let mut stale = stored.clone();
    stale.status = PaymentStatus::Disputed;
    stale.dispute_outcome = None;
    let r = f
        .store
        .settle_purchase(&PurchaseWrite {
            purchase: stale,
            expected_status: PaymentStatus::Completed,
            expected_refunded: None,
            expected_dispute: None,
            count_purchase: false,
            analytics: vec![],
            refunds: vec![],
            audit: None,
            outbox: vec![],
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert_eq!(f.store.purchase(p.id).await.unwrap().unwrap(), stored);
    // And a failed attempt before the payment does not stop it completing.
    let other = Fixture::user("other");
    let q = f
        .checkout(
            &other,
            crate::vault::CheckoutItem::Workflow(w.id),
            crate::commerce::license::LicenseType::Personal,
        )
        .await
        .unwrap();
    f.vault.fail_purchase(&Actor::Service, q.id).await.unwrap();
    let paid = f
        .vault
        .complete_purchase(
            &Actor::Service,
            q.id,
            PaymentRef::parse("pi_retry").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Completed);
}
