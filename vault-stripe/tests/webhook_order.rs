//! Events delivered out of order, one defect each (found when the library
//! was driven from outside), on every store: memory, SQLite, PostgreSQL.
#![allow(clippy::unwrap_used)]

mod webhook_support;

use chrono::Duration;
use serde_json::json;
use vault_core::commerce::membership::MembershipStatus;
use vault_core::commerce::purchase::PaymentStatus;
use vault_core::store::WebhookStatus;
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::tier::PricingTier;
use vault_stripe::webhook::Handled;

use webhook_support::{
    World, charge_refunded, checkout_completed, dispute, intent, invoice, session, subscription,
};

const DAY: i64 = 86_400;

/// A refund delivered before the checkout completion it refunds is kept and
/// applied when the completion arrives: the buyer loses access, analytics
/// count the refund.
async fn refund_before_completion(w: World) {
    let (wf, _) =
        w.f.workflow("early-refund", PricingTier::Pro, Some(4900))
            .await;
    let buyer = Fixture::user("buyer");
    let p = w.pending(&buyer, wf.id).await;
    let t = w.now() - 100;
    let refund = charge_refunded("evt_refund", t + 10, "pi_X", 4900, 4900);
    let parked = w.deliver(&refund).await.unwrap();
    assert_eq!(
        parked,
        Handled::Parked {
            event_id: "evt_refund".into(),
            waiting_for: "payment:pi_X".into()
        }
    );
    // Stripe may deliver it again meanwhile: still waiting, never "done".
    assert!(matches!(
        w.deliver(&refund).await.unwrap(),
        Handled::Parked { .. }
    ));
    w.deliver(&checkout_completed("evt_done", t, &p, "pi_X"))
        .await
        .unwrap();
    let p = w.f.vault.purchase(&buyer, p.id).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Refunded);
    assert!(
        !w.f.vault
            .check_access(&buyer, wf.id, None)
            .await
            .unwrap()
            .is_granted()
    );
    let day = w.f.clock.now_date();
    let row = &w.f.store.analytics(wf.id, day, day).await.unwrap()[0];
    assert_eq!(
        (row.purchases, row.refunds),
        (1, rust_decimal::Decimal::new(4900, 2))
    );
    let rec = w.events.webhook_event("evt_refund").await.unwrap().unwrap();
    assert_eq!(
        (rec.status, rec.applied, rec.payload),
        (WebhookStatus::Processed, true, None)
    );
}

/// A subscription's deletion delivered before its creation (or before an
/// older update) ends canceled, with the deletion's own period and flag.
async fn deletion_before_creation(w: World) {
    let t = w.now() - 1000;
    let period = (t, t + 30 * DAY);
    let created = subscription(
        "evt_c",
        "customer.subscription.created",
        t,
        "sub_1",
        "ann",
        "active",
        period,
        json!({}),
    );
    let updated = subscription(
        "evt_u",
        "customer.subscription.updated",
        t + 5,
        "sub_1",
        "ann",
        "active",
        period,
        json!({}),
    );
    let deleted = subscription(
        "evt_d",
        "customer.subscription.deleted",
        t + 9,
        "sub_1",
        "ann",
        "canceled",
        period,
        json!({"cancel_at_period_end": true}),
    );
    for e in [&deleted, &updated, &created, &deleted] {
        w.deliver(e).await.unwrap();
    }
    let m =
        w.f.vault
            .membership_by_subscription(&Actor::Service, "sub_1")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(m.status, MembershipStatus::Canceled);
    assert!(
        m.cancel_at_period_end,
        "the deletion's flag, not the older update's"
    );
    assert_eq!(
        (m.period.start.timestamp(), m.period.end.timestamp()),
        period
    );
    assert!(
        !w.f.vault
            .check_access(&Fixture::user("ann"), pro(&w).await, None)
            .await
            .unwrap()
            .is_granted()
    );
}

async fn pro(w: &World) -> vault_core::value::ids::WorkflowId {
    let slug = format!("pro-{}", uuid::Uuid::new_v4().simple());
    w.f.workflow(&slug, PricingTier::Pro, Some(4900)).await.0.id
}

/// A user's second subscription created before the first one's deletion
/// arrives waits for the first membership to end, then starts.
async fn second_subscription_before_first_deletion(w: World) {
    let t = w.now() - 1000;
    let period = (t, t + 30 * DAY);
    w.deliver(&subscription(
        "evt_1c",
        "customer.subscription.created",
        t,
        "sub_1",
        "ann",
        "active",
        period,
        json!({}),
    ))
    .await
    .unwrap();
    let second = subscription(
        "evt_2c",
        "customer.subscription.created",
        t + 50,
        "sub_2",
        "ann",
        "active",
        (t + 50, t + 50 + 30 * DAY),
        json!({"vault_tier": "premium"}),
    );
    assert_eq!(
        w.deliver(&second).await.unwrap(),
        Handled::Parked {
            event_id: "evt_2c".into(),
            waiting_for: "user:ann".into()
        }
    );
    w.deliver(&subscription(
        "evt_1d",
        "customer.subscription.deleted",
        t + 40,
        "sub_1",
        "ann",
        "canceled",
        period,
        json!({}),
    ))
    .await
    .unwrap();
    let first =
        w.f.vault
            .membership_by_subscription(&Actor::Service, "sub_1")
            .await
            .unwrap()
            .unwrap();
    let second =
        w.f.vault
            .membership_by_subscription(&Actor::Service, "sub_2")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(first.status, MembershipStatus::Canceled);
    assert_eq!(
        (second.status, second.tier),
        (MembershipStatus::Active, PricingTier::Premium)
    );
    assert!(
        w.f.vault
            .check_access(&Fixture::user("ann"), pro(&w).await, None)
            .await
            .unwrap()
            .is_granted()
    );
    assert!(
        w.hooks
            .events(WebhookStatus::Parked, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A failed attempt is not terminal: a later successful payment completes
/// the purchase, however the failure was reported.
async fn failure_then_success(w: World) {
    let (wf, _) = w.f.workflow("retried", PricingTier::Pro, Some(4900)).await;
    let t = w.now() - 100;
    let buyer = Fixture::user("buyer");
    // An asynchronous payment (a bank debit) that failed, then a new one.
    let p = w.pending(&buyer, wf.id).await;
    for e in [
        session(
            "evt_a1",
            "checkout.session.completed",
            t,
            &p,
            "pi_A",
            "unpaid",
        ),
        session(
            "evt_a2",
            "checkout.session.async_payment_failed",
            t + 1,
            &p,
            "pi_A",
            "unpaid",
        ),
        session(
            "evt_a3",
            "checkout.session.async_payment_succeeded",
            t + 2,
            &p,
            "pi_A",
            "paid",
        ),
        session(
            "evt_a2",
            "checkout.session.async_payment_failed",
            t + 1,
            &p,
            "pi_A",
            "unpaid",
        ),
    ] {
        w.deliver(&e).await.unwrap();
    }
    assert_eq!(
        w.f.vault.purchase(&buyer, p.id).await.unwrap().status,
        PaymentStatus::Completed
    );
    // A card declined, then accepted; the failure delivered last.
    let other = Fixture::user("other");
    let q = w.pending(&other, wf.id).await;
    let failed = intent("evt_b1", "payment_intent.payment_failed", t, &q, "pi_B");
    w.deliver(&failed).await.unwrap();
    assert_eq!(
        w.f.vault.purchase(&other, q.id).await.unwrap().status,
        PaymentStatus::Failed
    );
    w.deliver(&intent(
        "evt_b2",
        "payment_intent.succeeded",
        t + 3,
        &q,
        "pi_B",
    ))
    .await
    .unwrap();
    w.deliver(&intent(
        "evt_b1b",
        "payment_intent.payment_failed",
        t + 1,
        &q,
        "pi_B",
    ))
    .await
    .unwrap();
    assert_eq!(
        w.f.vault.purchase(&other, q.id).await.unwrap().status,
        PaymentStatus::Completed
    );
    assert_eq!(
        w.f.store
            .workflow(wf.id)
            .await
            .unwrap()
            .unwrap()
            .stats
            .purchase_count,
        2
    );
    // A membership: a failed invoice, then a paid one for the next period.
    let member = "mia";
    let period = (t, t + 30 * DAY);
    let next = (t + 30 * DAY, t + 60 * DAY);
    for e in [
        invoice("evt_i2", "invoice.paid", t + 20, "sub_m", next),
        subscription(
            "evt_s",
            "customer.subscription.created",
            t,
            "sub_m",
            member,
            "active",
            period,
            json!({}),
        ),
        invoice("evt_i1", "invoice.payment_failed", t + 10, "sub_m", period),
    ] {
        w.deliver(&e).await.unwrap();
    }
    let m =
        w.f.vault
            .membership_by_subscription(&Actor::Service, "sub_m")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(m.status, MembershipStatus::Active);
    assert_eq!(m.period.start.timestamp(), next.0);
}

/// A dispute closed before its opening is delivered: the close decides.
async fn dispute_closed_before_opened(w: World) {
    let (wf, _) = w.f.workflow("disputed", PricingTier::Pro, Some(4900)).await;
    let t = w.now() - 100;
    for (user, outcome, granted) in [("winner", "won", true), ("loser", "lost", false)] {
        let buyer = Fixture::user(user);
        let p = w.pending(&buyer, wf.id).await;
        let pi = format!("pi_{user}");
        for e in [
            dispute(
                &format!("evt_{user}_closed"),
                "charge.dispute.closed",
                t + 20,
                &pi,
                outcome,
            ),
            checkout_completed(&format!("evt_{user}_paid"), t, &p, &pi),
            dispute(
                &format!("evt_{user}_opened"),
                "charge.dispute.created",
                t + 10,
                &pi,
                "needs_response",
            ),
        ] {
            w.deliver(&e).await.unwrap();
        }
        let p = w.f.vault.purchase(&buyer, p.id).await.unwrap();
        let want = if granted {
            PaymentStatus::Completed
        } else {
            PaymentStatus::Refunded
        };
        assert_eq!(p.status, want, "{user}");
        assert_eq!(
            w.f.vault
                .check_access(&buyer, wf.id, None)
                .await
                .unwrap()
                .is_granted(),
            granted
        );
    }
}

/// The vault's own `metadata.vault_purchase_id` finds the purchase even
/// when the app set `client_reference_id` to something of its own.
async fn app_reference_still_completes(w: World) {
    let (wf, _) =
        w.f.workflow("referenced", PricingTier::Pro, Some(4900))
            .await;
    let buyer = Fixture::user("buyer");
    let decoy_owner = Fixture::user("decoy");
    let p = w.pending(&buyer, wf.id).await;
    let decoy = w.pending(&decoy_owner, wf.id).await;
    for (id, reference) in [("evt_app", "order-77"), ("evt_other_purchase", "")] {
        let reference = if reference.is_empty() {
            decoy.id.to_string()
        } else {
            reference.to_owned()
        };
        let mut e = checkout_completed(id, w.now(), &p, "pi_app");
        e["data"]["object"]["client_reference_id"] = json!(reference);
        w.deliver(&e).await.unwrap();
        if id == "evt_app" {
            assert_eq!(
                w.f.vault.purchase(&buyer, p.id).await.unwrap().status,
                PaymentStatus::Completed
            );
        }
    }
    // The second event named the decoy in client_reference_id: the
    // metadata wins, so the decoy stays pending (and the buyer's purchase
    // was not settled twice).
    assert_eq!(
        w.f.vault
            .purchase(&decoy_owner, decoy.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Pending
    );
}

/// An event that keeps waiting expires after the configured time and is
/// listed for operators; a sweep tries parked events again.
async fn parked_events_expire(w: World) {
    let t = w.now() - 100;
    w.deliver(&charge_refunded("evt_orphan", t, "pi_nobody", 100, 100))
        .await
        .unwrap();
    let sweep = w.hooks.sweep().await.unwrap();
    assert_eq!((sweep.expired, sweep.applied, sweep.waiting), (0, 0, 1));
    w.f.advance(Duration::days(3) + Duration::seconds(1));
    let sweep = w.hooks.sweep().await.unwrap();
    assert_eq!(sweep.expired, 1);
    let expired = w.hooks.events(WebhookStatus::Expired, 10).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].waiting_for.as_deref(), Some("payment:pi_nobody"));
    assert!(
        expired[0].payload.is_some(),
        "kept for an operator to look at"
    );
}

trait NowDate {
    fn now_date(&self) -> chrono::NaiveDate;
}

impl NowDate for std::sync::Arc<vault_core::ManualClock> {
    fn now_date(&self) -> chrono::NaiveDate {
        vault_core::Clock::now(self.as_ref()).date_naive()
    }
}

macro_rules! on_every_store {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $case() { super::$case(super::World::memory().await).await })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $case() { super::$case(super::World::sqlite().await).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $case() {
                if let Some(w) = super::World::postgres().await {
                    super::$case(w).await
                }
            })*
        }
    };
}

on_every_store!(
    refund_before_completion,
    deletion_before_creation,
    second_subscription_before_first_deletion,
    failure_then_success,
    dispute_closed_before_opened,
    app_reference_still_completes,
    parked_events_expire,
);
