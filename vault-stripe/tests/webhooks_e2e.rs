//! End to end on SQLite: signed Stripe events drive the vault.
#![allow(clippy::unwrap_used)]

mod webhook_support;

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use vault_core::commerce::membership::MembershipStatus;
use vault_core::commerce::purchase::PaymentStatus;
use vault_core::delivery::access::DenyReason;
use vault_core::store::WebhookStatus;
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::tier::PricingTier;
use vault_stripe::signature::SignatureError;
use vault_stripe::webhook::{Handled, WebhookError};

use webhook_support::{World, checkout_completed, event};

async fn world() -> World {
    World::sqlite().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkout_completion_makes_the_workflow_downloadable_once() {
    let w = world().await;
    let (wf, _) =
        w.f.workflow("paid-flow", PricingTier::Pro, Some(4900))
            .await;
    let alice = Fixture::user("alice");
    let p = w.pending(&alice, wf.id).await;
    assert!(
        !w.f.vault
            .check_access(&alice, wf.id, None)
            .await
            .unwrap()
            .is_granted()
    );
    let ev = checkout_completed("evt_checkout_1", w.now(), &p, "pi_123");
    let first = w.deliver(&ev).await.unwrap();
    assert_eq!(
        first,
        Handled::Applied {
            event_id: "evt_checkout_1".into(),
            changed: true
        }
    );
    assert!(
        w.f.vault
            .check_access(&alice, wf.id, None)
            .await
            .unwrap()
            .is_granted()
    );
    w.f.vault
        .download(&alice, wf.id, None, &Default::default())
        .await
        .unwrap();
    // The same delivery again: acknowledged, nothing applied.
    assert_eq!(
        w.deliver(&ev).await.unwrap(),
        Handled::Duplicate {
            event_id: "evt_checkout_1".into()
        }
    );
    // The same event racing itself eight times.
    let p2 = w.pending(&Fixture::user("bob"), wf.id).await;
    let ev2 = checkout_completed("evt_checkout_2", w.now(), &p2, "pi_456");
    let (body, header) = w.signed(&ev2);
    let store = w.f.store.clone();
    let events = w.events.clone();
    let hooks = Arc::new(w.hooks);
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (hooks, body, header) = (hooks.clone(), body.clone(), header.clone());
        handles.push(tokio::spawn(
            async move { hooks.handle(&body, &header).await },
        ));
    }
    let mut applied = 0;
    for h in handles {
        match h.await.unwrap().unwrap() {
            Handled::Applied { changed: true, .. } => applied += 1,
            Handled::Duplicate { .. } | Handled::InProgress { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(applied, 1);
    let stored = store.workflow(wf.id).await.unwrap().unwrap();
    assert_eq!(
        stored.stats.purchase_count, 2,
        "one purchase per checkout, however often delivered"
    );
    let rec = events
        .webhook_event("evt_checkout_2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.status, rec.attempts, rec.applied),
        (WebhookStatus::Processed, 1, true)
    );
}

#[tokio::test]
async fn a_refund_revokes_access() {
    let w = world().await;
    let (wf, _) =
        w.f.workflow("refundable", PricingTier::Pro, Some(4900))
            .await;
    let alice = Fixture::user("alice");
    let p = w.pending(&alice, wf.id).await;
    w.deliver(&checkout_completed("evt_c", w.now(), &p, "pi_r"))
        .await
        .unwrap();
    let partial = event(
        "evt_r1",
        "charge.refunded",
        w.now(),
        json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_r", "amount": 4900,
               "amount_refunded": 900, "currency": "usd", "refunded": false}),
    );
    w.deliver(&partial).await.unwrap();
    assert_eq!(
        w.f.vault.purchase(&alice, p.id).await.unwrap().status,
        PaymentStatus::PartiallyRefunded
    );
    assert!(
        w.f.vault
            .check_access(&alice, wf.id, None)
            .await
            .unwrap()
            .is_granted()
    );
    w.f.advance(Duration::seconds(5));
    let full = event(
        "evt_r2",
        "charge.refunded",
        w.now(),
        json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_r", "amount": 4900,
               "amount_refunded": 4900, "currency": "usd", "refunded": true}),
    );
    w.deliver(&full).await.unwrap();
    let d = w.f.vault.check_access(&alice, wf.id, None).await.unwrap();
    assert!(
        matches!(d.reasons.as_slice(), [DenyReason::PurchaseRefunded { .. }]),
        "{}",
        d.summary()
    );
    // The older partial refund delivered again late changes nothing.
    assert!(matches!(
        w.deliver(&partial).await.unwrap(),
        Handled::Duplicate { .. }
    ));
    let late_copy = event(
        "evt_r1_copy",
        "charge.refunded",
        w.now() - 5,
        partial["data"]["object"].clone(),
    );
    assert!(matches!(
        w.deliver(&late_copy).await.unwrap(),
        Handled::Applied { changed: false, .. }
    ));
    assert_eq!(
        w.f.vault.purchase(&alice, p.id).await.unwrap().status,
        PaymentStatus::Refunded
    );
}

fn subscription(
    id: &str,
    kind: &str,
    created: i64,
    status: &str,
    start: i64,
    end: i64,
    extra: serde_json::Value,
) -> serde_json::Value {
    webhook_support::subscription(
        id,
        kind,
        created,
        "sub_1",
        "member",
        status,
        (start, end),
        extra,
    )
}

#[tokio::test]
async fn subscription_events_out_of_order_end_in_the_right_state() {
    let w = world().await;
    let t0 = w.now();
    let month = 30 * 24 * 3600;
    let created = subscription(
        "evt_s1",
        "customer.subscription.created",
        t0,
        "trialing",
        t0,
        t0 + month,
        json!({}),
    );
    let active = subscription(
        "evt_s2",
        "customer.subscription.updated",
        t0 + 10,
        "active",
        t0 + month,
        t0 + 2 * month,
        json!({}),
    );
    let past_due = subscription(
        "evt_s3",
        "customer.subscription.updated",
        t0 + 20,
        "past_due",
        t0 + month,
        t0 + 2 * month,
        json!({}),
    );
    let recovered = subscription(
        "evt_s4",
        "customer.subscription.updated",
        t0 + 30,
        "active",
        t0 + 2 * month,
        t0 + 3 * month,
        json!({"cancel_at_period_end": true}),
    );
    // Delivered out of order: the final state must be the newest one's.
    for ev in [&created, &recovered, &past_due, &active] {
        w.deliver(ev).await.unwrap();
    }
    let m =
        w.f.vault
            .membership_by_subscription(&Actor::Service, "sub_1")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(m.status, MembershipStatus::Active);
    assert!(m.cancel_at_period_end);
    assert_eq!(m.period.start.timestamp(), t0 + 2 * month);
    assert_eq!(m.quota.limit, Some(10));
    for older in ["evt_s3", "evt_s2"] {
        let rec = w.events.webhook_event(older).await.unwrap().unwrap();
        assert!(
            !rec.applied,
            "{older} was older than an applied event and must not apply"
        );
    }
    // An invoice for the next period renews it; deletion cancels it.
    let paid = event(
        "evt_i1",
        "invoice.paid",
        t0 + 40,
        json!({"id": "in_1", "object": "invoice", "subscription": "sub_1",
               "lines": {"data": [{"period": {"start": t0 + 3 * month, "end": t0 + 4 * month}}]}}),
    );
    w.deliver(&paid).await.unwrap();
    let m = w.f.vault.membership(&Actor::Service, m.id).await.unwrap();
    assert_eq!(m.period.start.timestamp(), t0 + 3 * month);
    let deleted = subscription(
        "evt_s5",
        "customer.subscription.deleted",
        t0 + 50,
        "canceled",
        t0 + 3 * month,
        t0 + 4 * month,
        json!({}),
    );
    w.deliver(&deleted).await.unwrap();
    let m = w.f.vault.membership(&Actor::Service, m.id).await.unwrap();
    assert_eq!(m.status, MembershipStatus::Canceled);
    assert_eq!(m.user_id.as_str(), "member");
}

#[tokio::test]
async fn bad_signatures_are_refused_and_record_nothing() {
    let w = world().await;
    let ev = event(
        "evt_sig",
        "product.created",
        w.now(),
        json!({"id": "prod_1"}),
    );
    let (body, header) = w.signed(&ev);
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("prod_1", "prod_2");
    let err = w
        .hooks
        .handle(tampered.as_bytes(), &header)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        WebhookError::Signature(SignatureError::Mismatch)
    ));
    assert_eq!(err.status_code(), 400);
    assert!(matches!(
        w.hooks.handle(&body, "v1=abc").await,
        Err(WebhookError::Signature(SignatureError::MalformedHeader(_)))
    ));
    w.f.advance(Duration::seconds(301));
    assert!(matches!(
        w.hooks.handle(&body, &header).await,
        Err(WebhookError::Signature(SignatureError::Stale { .. }))
    ));
    assert!(w.events.webhook_event("evt_sig").await.unwrap().is_none());
    // Unknown event types are recorded and acknowledged.
    let fresh = event(
        "evt_other",
        "product.created",
        w.now(),
        json!({"id": "prod_1"}),
    );
    assert_eq!(
        w.deliver(&fresh).await.unwrap(),
        Handled::Applied {
            event_id: "evt_other".into(),
            changed: false
        }
    );
    assert_eq!(
        w.events
            .webhook_event("evt_other")
            .await
            .unwrap()
            .unwrap()
            .status,
        WebhookStatus::Processed
    );
}

#[tokio::test]
async fn failures_are_recorded_retried_on_redelivery_and_given_up() {
    let w = world().await;
    // A subscription of a vault user on a plan the vault cannot tell
    // (no tier in the metadata, a price it does not know) cannot apply.
    let bad = event(
        "evt_bad",
        "customer.subscription.created",
        w.now(),
        json!({"id": "sub_x", "status": "active", "metadata": {"vault_user_id": "someone"},
               "items": {"data": [{"price": {"id": "price_unknown"},
               "current_period_start": w.now(), "current_period_end": w.now() + 100}]}}),
    );
    for attempt in 1..=3 {
        let err = w.deliver(&bad).await.unwrap_err();
        assert_eq!(err.status_code(), 500);
        let rec = w.events.webhook_event("evt_bad").await.unwrap().unwrap();
        assert_eq!((rec.status, rec.attempts), (WebhookStatus::Failed, attempt));
        assert!(rec.last_error.unwrap().contains("plan"));
    }
    assert_eq!(
        w.deliver(&bad).await.unwrap(),
        Handled::GaveUp {
            event_id: "evt_bad".into()
        }
    );
}
