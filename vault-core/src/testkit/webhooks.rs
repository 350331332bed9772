//! Conformance cases for [`WebhookStore`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::store::{Claim, Finish, NewWebhookEvent, StoreError, WebhookStatus, WebhookStore};

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
        .finish_webhook_event("evt_2", &Finish::Failed { error: "x".into() }, t(2))
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

pub async fn webhook_latest_applied_per_object(store: Arc<dyn WebhookStore>) {
    assert_eq!(store.latest_applied("sub_9").await.unwrap(), None);
    for (id, object, created, applied) in [
        ("a", "sub_9", 10, true),
        ("b", "sub_9", 30, false),
        ("c", "sub_9", 20, true),
        ("d", "sub_8", 50, true),
    ] {
        store
            .claim_webhook_event(&event(id, object, created), t(1), LEASE, 3)
            .await
            .unwrap();
        store
            .finish_webhook_event(id, &Finish::Processed { applied }, t(2))
            .await
            .unwrap();
    }
    // A claimed but unfinished event does not count either.
    store
        .claim_webhook_event(&event("e", "sub_9", 99), t(1), LEASE, 3)
        .await
        .unwrap();
    assert_eq!(store.latest_applied("sub_9").await.unwrap(), Some(t(20)));
    assert_eq!(store.latest_applied("sub_8").await.unwrap(), Some(t(50)));
}
