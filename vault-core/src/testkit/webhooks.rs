//! Conformance cases for [`WebhookStore`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::store::{Claim, Finish, NewWebhookEvent, WebhookStatus, WebhookStore};
use crate::value::error::StoreError;

fn t(s: i64) -> DateTime<Utc> {
    super::epoch() + Duration::seconds(s)
}

fn event(id: &str, object: &str, created: i64) -> NewWebhookEvent {
    NewWebhookEvent {
        id: id.into(),
        event_type: "customer.subscription.updated".into(),
        object_id: Some(object.into()),
        created: t(created),
    }
}

const LEASE: Duration = Duration::seconds(60);

pub async fn webhook_claim_lifecycle(store: Arc<dyn WebhookStore>) {
    let e = event("evt_1", "sub_1", 0);
    assert_eq!(
        store.claim_webhook_event(&e, t(1), LEASE, 3).await.unwrap(),
        Claim::Claimed { attempt: 1 }
    );
    assert_eq!(
        store.claim_webhook_event(&e, t(2), LEASE, 3).await.unwrap(),
        Claim::InProgress
    );
    store
        .finish_webhook_event(
            "evt_1",
            &Finish::Failed {
                error: "db down".into(),
                payload: Some(r#"{"id":"evt_1"}"#.into()),
            },
            t(3),
        )
        .await
        .unwrap();
    let rec = store.webhook_event("evt_1").await.unwrap().unwrap();
    assert_eq!(
        (rec.status, rec.attempts, rec.last_error.as_deref()),
        (WebhookStatus::Failed, 1, Some("db down"))
    );
    assert_eq!(
        rec.payload.as_deref(),
        Some(r#"{"id":"evt_1"}"#),
        "a failed event keeps its body, to be applied again"
    );
    assert_eq!(
        store.claim_webhook_event(&e, t(4), LEASE, 3).await.unwrap(),
        Claim::Claimed { attempt: 2 }
    );
    // The worker died: after the lease another may take over.
    assert_eq!(
        store
            .claim_webhook_event(&e, t(4 + 61), LEASE, 3)
            .await
            .unwrap(),
        Claim::Claimed { attempt: 3 }
    );
    store
        .finish_webhook_event("evt_1", &Finish::Processed { applied: true }, t(70))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_webhook_event(&e, t(80), LEASE, 3)
            .await
            .unwrap(),
        Claim::AlreadyProcessed
    );
    let rec = store.webhook_event("evt_1").await.unwrap().unwrap();
    assert_eq!(rec.status, WebhookStatus::Processed);
    assert_eq!(rec.received_at, t(1));
    assert_eq!(rec.finished_at, Some(t(70)));
    // Giving up after the most attempts allowed.
    let f = event("evt_2", "sub_1", 0);
    store.claim_webhook_event(&f, t(1), LEASE, 1).await.unwrap();
    store
        .finish_webhook_event(
            "evt_2",
            &Finish::Failed {
                error: "x".into(),
                payload: None,
            },
            t(2),
        )
        .await
        .unwrap();
    assert_eq!(
        store.claim_webhook_event(&f, t(3), LEASE, 1).await.unwrap(),
        Claim::GaveUp { attempts: 1 }
    );
    assert!(matches!(
        store
            .finish_webhook_event("evt_missing", &Finish::Processed { applied: true }, t(1))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.webhook_event("evt_missing").await.unwrap().is_none());
}

pub async fn webhook_racing_claims_get_one(store: Arc<dyn WebhookStore>) {
    let barrier = Arc::new(super::tokio::sync::Barrier::new(16));
    let mut handles = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let barrier = Arc::clone(&barrier);
        handles.push(super::tokio::spawn(async move {
            barrier.wait().await;
            store
                .claim_webhook_event(&event("evt_race", "ch_1", 0), t(1), LEASE, 3)
                .await
        }));
    }
    let mut claimed = 0;
    for h in handles {
        match h.await.unwrap().unwrap() {
            Claim::Claimed { attempt: 1 } => claimed += 1,
            Claim::InProgress => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        claimed, 1,
        "racing deliveries of one event: exactly one applies it"
    );
}

pub async fn webhook_parked_events_wait_and_expire(store: Arc<dyn WebhookStore>) {
    let park = |waiting_for: &str| Finish::Parked {
        waiting_for: waiting_for.into(),
        payload: format!("{{\"waits\":\"{waiting_for}\"}}"),
    };
    for (id, key, at) in [
        ("p1", "payment:pi_1", 1),
        ("p2", "payment:pi_1", 2),
        ("p3", "user:ann", 3),
    ] {
        assert_eq!(
            store
                .claim_webhook_event(&event(id, "ch_1", 0), t(at), LEASE, 1)
                .await
                .unwrap(),
            Claim::Claimed { attempt: 1 }
        );
        store
            .finish_webhook_event(id, &park(key), t(at))
            .await
            .unwrap();
    }
    let waiting = store
        .webhook_events(WebhookStatus::Parked, Some("payment:pi_1"), 10)
        .await
        .unwrap();
    assert_eq!(
        waiting.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["p1", "p2"],
        "oldest first, only those waiting for the key"
    );
    assert_eq!(
        waiting[0].payload.as_deref(),
        Some(r#"{"waits":"payment:pi_1"}"#)
    );
    assert_eq!((waiting[0].attempts, waiting[0].parked_at), (0, Some(t(1))));
    assert_eq!(
        store
            .webhook_events(WebhookStatus::Parked, None, 2)
            .await
            .unwrap()
            .len(),
        2
    );
    // Parking costs no attempt: with at most one allowed, it is claimed again.
    assert_eq!(
        store
            .claim_webhook_event(&event("p1", "ch_1", 0), t(10), LEASE, 1)
            .await
            .unwrap(),
        Claim::Claimed { attempt: 1 }
    );
    // Claimed right now: expiry leaves it alone; the others parked before t(3) expire.
    assert_eq!(
        store
            .expire_parked_webhook_events(t(3), t(20))
            .await
            .unwrap(),
        1
    );
    let p2 = store.webhook_event("p2").await.unwrap().unwrap();
    assert_eq!(
        (p2.status, p2.finished_at),
        (WebhookStatus::Expired, Some(t(20)))
    );
    assert_eq!(
        p2.payload.as_deref(),
        Some(r#"{"waits":"payment:pi_1"}"#),
        "kept for an operator"
    );
    assert_eq!(
        store
            .claim_webhook_event(&event("p2", "ch_1", 0), t(21), LEASE, 3)
            .await
            .unwrap(),
        Claim::Expired
    );
    let expired = store
        .webhook_events(WebhookStatus::Expired, None, 10)
        .await
        .unwrap();
    assert_eq!(
        expired.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["p2"]
    );
    // Applied at last: processed, its body dropped, its key kept.
    store
        .finish_webhook_event("p1", &Finish::Processed { applied: true }, t(11))
        .await
        .unwrap();
    let p1 = store.webhook_event("p1").await.unwrap().unwrap();
    assert_eq!(
        (p1.status, p1.payload, p1.waiting_for.as_deref()),
        (WebhookStatus::Processed, None, Some("payment:pi_1"))
    );
    assert_eq!(
        store
            .webhook_events(WebhookStatus::Parked, None, 10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>(),
        ["p3"]
    );
}

/// Processed events finished before the cutoff are deleted; failed and
/// parked ones, and processed ones since the cutoff, stay.
pub async fn webhook_processed_events_are_purged(store: Arc<dyn WebhookStore>) {
    let outcomes = [
        ("old-done", 1, Finish::Processed { applied: true }),
        (
            "old-failed",
            2,
            Finish::Failed {
                error: "x".into(),
                payload: Some("{}".into()),
            },
        ),
        (
            "old-parked",
            3,
            Finish::Parked {
                waiting_for: "payment:pi_9".into(),
                payload: "{}".into(),
            },
        ),
        ("new-done", 20, Finish::Processed { applied: false }),
    ];
    for (id, at, finish) in &outcomes {
        assert_eq!(
            store
                .claim_webhook_event(&event(id, "sub_1", 0), t(*at), LEASE, 3)
                .await
                .unwrap(),
            Claim::Claimed { attempt: 1 }
        );
        store
            .finish_webhook_event(id, finish, t(*at))
            .await
            .unwrap();
    }
    assert_eq!(store.purge_webhook_events(t(10)).await.unwrap(), 1);
    assert_eq!(store.webhook_event("old-done").await.unwrap(), None);
    for id in ["old-failed", "old-parked", "new-done"] {
        assert!(
            store.webhook_event(id).await.unwrap().is_some(),
            "{id} kept"
        );
    }
    let payload = async |id: &str| store.webhook_event(id).await.unwrap().unwrap().payload;
    assert_eq!(
        payload("old-failed").await,
        None,
        "its customer data dropped"
    );
    assert_eq!(
        payload("old-parked").await.as_deref(),
        Some("{}"),
        "a parked event may still be applied"
    );
    assert_eq!(
        store.purge_webhook_events(t(10)).await.unwrap(),
        0,
        "idempotent"
    );
    assert_eq!(
        store
            .webhook_events(WebhookStatus::Processed, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // A purged event delivered again is a new event to the store: the
    // retention must outlast the provider's redeliveries (Stripe's: 3 days).
    assert_eq!(
        store
            .claim_webhook_event(&event("old-done", "sub_1", 0), t(30), LEASE, 3)
            .await
            .unwrap(),
        Claim::Claimed { attempt: 1 }
    );
}
