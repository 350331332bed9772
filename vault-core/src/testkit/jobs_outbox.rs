//! The outbox through the service: the jobs a vault is configured to
//! enqueue with a completed purchase exist exactly when, and exactly once
//! however often, the purchase completes.

use std::sync::Arc;

use super::{Fixture, NowUtc};
use crate::commerce::license::LicenseType;
use crate::commerce::purchase::PaymentRef;
use crate::jobs::job::{Job, JobKind, JobState};
use crate::jobs::store::JobQuery;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::tier::PricingTier;
use crate::vault::CheckoutItem;

fn kind(k: &str) -> JobKind {
    JobKind::parse(k).unwrap()
}

async fn all_jobs(f: &Fixture) -> Vec<Job> {
    f.vault
        .jobs(
            &f.admin,
            &JobQuery {
                limit: 100,
                ..JobQuery::default()
            },
        )
        .await
        .unwrap()
        .items
}

pub async fn completed_purchases_enqueue_their_jobs_once(store: Arc<dyn Store>) {
    let f = Fixture::with_config(store, |c| {
        c.with_purchase_jobs([kind("mail.receipt"), kind("license.fulfil")])
    })
    .await;
    let (w, _) = f.workflow("outboxed", PricingTier::Pro, Some(4900)).await;
    let ann = Fixture::user("ann");
    let item = CheckoutItem::Workflow(w.id);
    let p = f.checkout(&ann, item, LicenseType::Personal).await.unwrap();
    assert!(all_jobs(&f).await.is_empty(), "a pending purchase has none");

    // Eight deliveries of one payment at once: one completion, one job of
    // each kind.
    let pay = PaymentRef::parse(&format!("pi_{}", p.id)).unwrap();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let vault = f.vault.clone();
            let pay = pay.clone();
            tokio::spawn(async move {
                vault
                    .complete_purchase(&Actor::Service, p.id, pay)
                    .await
                    .map(|done| done.status)
            })
        })
        .collect();
    for r in racers {
        assert!(r.await.unwrap().unwrap().is_paid());
    }
    let jobs = all_jobs(&f).await;
    let mut kinds: Vec<_> = jobs.iter().map(|j| j.kind.to_string()).collect();
    kinds.sort();
    assert_eq!(kinds, ["license.fulfil", "mail.receipt"]);
    for j in &jobs {
        assert_eq!(j.state, JobState::Queued);
        assert_eq!(j.payload["purchase_id"], p.id.to_string());
        assert_eq!(j.unique_key, Some(format!("{}:{}", j.kind, p.id)));
        assert_eq!(j.run_at, f.clock.now_utc());
    }

    // A completion that fails (the payment settled another purchase), a
    // failed payment and a refund enqueue nothing.
    let bob = Fixture::user("bob");
    let q = f.checkout(&bob, item, LicenseType::Personal).await.unwrap();
    let r = f
        .vault
        .complete_purchase(&Actor::Service, q.id, pay.clone())
        .await;
    assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
    f.vault.fail_purchase(&Actor::Service, q.id).await.unwrap();
    f.vault
        .refund_purchase(&Actor::Service, p.id, None, None)
        .await
        .unwrap();
    assert_eq!(all_jobs(&f).await.len(), 2);

    // Bob pays after all: his jobs join ann's.
    let done = f
        .vault
        .complete_purchase(
            &Actor::Service,
            q.id,
            PaymentRef::parse("pi_bob_retry").unwrap(),
        )
        .await
        .unwrap();
    assert!(done.status.is_paid());
    let jobs = all_jobs(&f).await;
    assert_eq!(jobs.len(), 4);
    assert_eq!(
        jobs.iter()
            .filter(|j| j.payload["purchase_id"] == q.id.to_string())
            .count(),
        2
    );

    // A vault configured with no purchase jobs enqueues none.
    let plain = Fixture::new(Arc::clone(&f.store)).await;
    let carl = Fixture::user("carl");
    plain.buy(&carl, item).await;
    assert_eq!(all_jobs(&f).await.len(), 4);
}
