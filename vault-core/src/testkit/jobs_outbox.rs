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

/// The account outbox: a vault configured with account jobs enqueues them
/// in the write that opens the account; a refused opening (the email is
/// taken, also by many at once) enqueues nothing; at the store, a taken
/// job id fails the whole insert.
pub async fn opened_accounts_enqueue_their_jobs_once(store: Arc<dyn Store>) {
    use crate::account::email::Email;
    use crate::account::profile::{Account, Profile};
    use crate::jobs::job::{JobId, NewJob};
    use crate::value::actor::UserId;

    let f = Fixture::with_config(store, |c| c.with_account_jobs([kind("mail.welcome")])).await;
    let email = || Email::parse("same@example.com").unwrap();
    let profile = || Profile {
        display_name: "Racer".into(),
        ..Profile::default()
    };
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let vault = f.vault.clone();
            let email = email();
            tokio::spawn(async move {
                let user = UserId::parse(&format!("racer-{n}")).unwrap();
                vault
                    .open_account(&Actor::Service, &user, email, profile())
                    .await
                    .map(|a| a.user_id)
            })
        })
        .collect();
    let mut opened = Vec::new();
    for r in racers {
        match r.await.unwrap() {
            Ok(u) => opened.push(u),
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(opened.len(), 1);
    let jobs = all_jobs(&f).await;
    assert_eq!(jobs.len(), 1, "one account, one welcome");
    assert_eq!(jobs[0].kind.as_str(), "mail.welcome");
    assert_eq!(jobs[0].payload["user_id"], opened[0].as_str());
    assert_eq!(
        jobs[0].unique_key,
        Some(format!("mail.welcome:{}", opened[0]))
    );

    // At the store: a job whose id is taken fails the insert, whole.
    let taken = all_jobs(&f).await[0].id;
    let dora = UserId::parse("dora").unwrap();
    let account = Account::new(
        dora.clone(),
        Email::parse("dora@example.com").unwrap(),
        profile(),
        f.clock.now_utc(),
    )
    .unwrap();
    let job = |id| {
        NewJob::new(kind("mail.welcome"), serde_json::json!({"user_id": "dora"}))
            .unwrap()
            .into_job(id, f.clock.now_utc())
    };
    let r = f.store.insert_account(&account, &[job(taken)]).await;
    assert!(
        matches!(r, Err(crate::store::StoreError::AlreadyExists { .. })),
        "{r:?}"
    );
    assert!(
        f.store.account(&dora).await.unwrap().is_none(),
        "no account"
    );
    assert_eq!(all_jobs(&f).await.len(), 1, "no job");
    let fresh = JobId::from_uuid(uuid::Uuid::from_u128(0xd0a));
    f.store
        .insert_account(&account, &[job(fresh)])
        .await
        .unwrap();
    assert!(f.store.account(&dora).await.unwrap().is_some());
    assert_eq!(all_jobs(&f).await.len(), 2);
}
