//! Webhooks on the job queue, on SQLite and PostgreSQL: a failed event is
//! applied again by a job from its stored payload, at most as often as the
//! deliveries allowed, then dead for operators; the hourly job purges
//! processed events after 90 days and keeps the rest.
#![allow(clippy::unwrap_used)]

mod webhook_support;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use serde_json::{Value, json};
use vault_core::commerce::membership::MembershipStatus;
use vault_core::jobs::job::{Job, JobState};
use vault_core::jobs::lease::Outcome;
use vault_core::jobs::store::JobQuery;
use vault_core::jobs::worker::{self, JobContext, JobHandler, Stop, WorkerConfig};
use vault_core::store::{Store, WebhookStatus};
use vault_core::value::clock::SeededEntropy;
use vault_stripe::signature::{Verifier, WebhookSecret};
use vault_stripe::webhook::{TierPlan, WebhookHandler, jobs};

use webhook_support::{SECRET, World, config, event};

struct Jobs<'a>(&'a WebhookHandler<dyn Store>);

#[async_trait]
impl JobHandler for Jobs<'_> {
    async fn handle(&self, ctx: &JobContext<'_>) -> Outcome {
        assert!(jobs::handles(&ctx.job.kind));
        self.0.run_job(ctx).await
    }
}

/// Runs the queue's jobs with `hooks` until `done` holds for the jobs;
/// each idle poll moves the clock ten minutes, so backoffs come due.
async fn run_until(
    w: &World,
    hooks: &WebhookHandler<dyn Store>,
    done: impl Fn(&[Job]) -> bool,
) -> Vec<Job> {
    let stop = Stop::new();
    let handler = Jobs(hooks);
    let mut config = WorkerConfig::new("hooks");
    config.idle = std::time::Duration::from_millis(1);
    let clock = w.f.clock.clone();
    let sleep = |d: std::time::Duration| {
        let clock = Arc::clone(&clock);
        async move {
            clock.advance(Duration::minutes(10));
            tokio::time::sleep(d).await;
        }
    };
    let store = Arc::clone(&w.f.store);
    let watch = async {
        for _ in 0..2_000 {
            let jobs = store.jobs(&JobQuery::default()).await.unwrap().items;
            if done(&jobs) {
                stop.request();
                return jobs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        stop.request();
        panic!("the jobs never got there");
    };
    let entropy = SeededEntropy::new(7);
    let run = worker::run(
        store.as_ref(),
        w.f.clock.as_ref(),
        &entropy,
        &config,
        &handler,
        sleep,
        &stop,
    );
    let (jobs, _) = tokio::join!(watch, run);
    jobs
}

/// A subscription on a price the handler does not know: it cannot apply.
fn unknown_plan(w: &World) -> Value {
    event(
        "evt_plan",
        "customer.subscription.created",
        w.now(),
        json!({"id": "sub_plan", "status": "active", "metadata": {"vault_user_id": "paula"},
               "items": {"data": [{"price": {"id": "price_new"},
               "current_period_start": w.now(), "current_period_end": w.now() + 86_400 * 30}]}}),
    )
}

async fn a_failed_event_is_retried_by_a_job_then_dead(w: World) {
    let err = w.deliver(&unknown_plan(&w)).await.unwrap_err();
    assert_eq!(err.status_code(), 500);
    let rec = w.events.webhook_event("evt_plan").await.unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (WebhookStatus::Failed, 1));
    assert!(rec.payload.is_some(), "kept to be applied again");
    let queued = w.f.store.jobs(&JobQuery::default()).await.unwrap().items;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].kind.as_str(), jobs::REAPPLY);
    assert_eq!(queued[0].payload, json!({"event_id": "evt_plan"}));
    // Not at once: an hour later, so the attempts left are spread out.
    let now = vault_core::Clock::now(w.f.clock.as_ref());
    assert_eq!(queued[0].run_at, now + Duration::hours(1));

    // Each run is one more attempt, counted with the deliveries: the job
    // of attempt 2 fails and queues attempt 3 two hours later; that one
    // fails too and none is left: both jobs dead with their errors, the
    // event failed three times, given up on the next try.
    let jobs = run_until(&w, &w.hooks, |j| {
        j.len() == 2 && j.iter().all(|j| j.state == JobState::Dead)
    })
    .await;
    let rec = w.events.webhook_event("evt_plan").await.unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (WebhookStatus::Failed, 3));
    for j in &jobs {
        assert_eq!(
            j.attempts, 1,
            "an attempt that failed is not retried by its job"
        );
        assert!(
            j.last_error.as_deref().unwrap().contains("plan"),
            "{:?}",
            j.last_error
        );
    }
    let mut due: Vec<_> = jobs.iter().map(|j| j.created_at).collect();
    due.sort();
    assert!(due[1] > due[0]);
    assert_eq!(
        w.deliver(&unknown_plan(&w)).await.unwrap(),
        vault_stripe::webhook::Handled::GaveUp {
            event_id: "evt_plan".into()
        }
    );
    let (_, log) = w.f.vault.job(&w.f.admin, jobs[0].id).await.unwrap();
    assert_eq!(log.len(), 1);
}

/// A job whose attempt finds the event still claimed by a delivery that
/// died takes it over once the delivery's lease has run out.
async fn a_job_takes_over_an_event_whose_delivery_died(w: World) {
    use vault_core::store::NewWebhookEvent;
    let body = serde_json::to_string(&unknown_plan(&w)).unwrap();
    let now = vault_core::Clock::now(w.f.clock.as_ref());
    let record = NewWebhookEvent {
        id: "evt_plan".into(),
        event_type: "customer.subscription.created".into(),
        object_id: Some("sub_plan".into()),
        created: now,
    };
    let claim = async || {
        w.events
            .claim_webhook_event(&record, now, Duration::seconds(60), 3)
            .await
            .unwrap()
    };
    // A first attempt failed, keeping the body; a redelivery then claimed
    // it and died: received, attempt 2, no finish.
    claim().await;
    w.events
        .finish_webhook_event(
            "evt_plan",
            &vault_core::store::Finish::Failed {
                error: "earlier".into(),
                payload: Some(body),
            },
            now,
        )
        .await
        .unwrap();
    claim().await;
    let rec = w.events.webhook_event("evt_plan").await.unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (WebhookStatus::Received, 2));
    w.f.vault
        .enqueue(
            &vault_core::Actor::Service,
            vault_core::jobs::job::NewJob::new(
                vault_core::jobs::job::JobKind::parse(jobs::REAPPLY).unwrap(),
                json!({"event_id": "evt_plan"}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    // The job runs after the lease (the worker's idle polls move the
    // clock): it claims attempt 3, which fails, and the event is done.
    run_until(&w, &w.hooks, |j| {
        j.iter().all(|j| j.state == JobState::Dead)
    })
    .await;
    let rec = w.events.webhook_event("evt_plan").await.unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (WebhookStatus::Failed, 3));
}

async fn a_failed_event_is_applied_by_its_job_once_it_can(w: World) {
    w.deliver(&unknown_plan(&w)).await.unwrap_err();
    // The operator adds the price: the queued job applies the stored
    // event, without Stripe delivering it again.
    let mut fixed = config();
    fixed.prices.insert(
        "price_new".into(),
        TierPlan {
            tier: vault_core::value::tier::PricingTier::Pro,
            period_download_limit: Some(10),
        },
    );
    let hooks = WebhookHandler::new(
        w.f.vault.clone(),
        w.events.clone(),
        w.f.clock.clone(),
        Verifier::new(WebhookSecret::new(SECRET)),
        fixed,
    );
    let jobs = run_until(&w, &hooks, |j| j[0].state == JobState::Succeeded).await;
    assert_eq!(jobs[0].attempts, 1);
    let rec = w.events.webhook_event("evt_plan").await.unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (WebhookStatus::Processed, 2));
    let m =
        w.f.vault
            .membership_by_subscription(&w.f.admin, "sub_plan")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(m.status, MembershipStatus::Active);
}

async fn processed_events_are_purged_after_ninety_days(w: World) {
    let ok = event(
        "evt_done",
        "product.created",
        w.now(),
        json!({"id": "prod_1"}),
    );
    w.deliver(&ok).await.unwrap();
    w.deliver(&unknown_plan(&w)).await.unwrap_err();
    w.f.advance(Duration::days(91));
    // A fresh event the day the purge runs stays.
    let fresh = event(
        "evt_fresh",
        "product.created",
        w.now(),
        json!({"id": "prod_2"}),
    );
    w.deliver(&fresh).await.unwrap();
    let upkeep = jobs::recurring()[0].job(vault_core::Clock::now(w.f.clock.as_ref()));
    w.f.vault
        .enqueue(&vault_core::Actor::Service, upkeep)
        .await
        .unwrap();
    run_until(&w, &w.hooks, |j| {
        j.iter()
            .any(|j| j.kind.as_str() == jobs::UPKEEP && j.state == JobState::Succeeded)
    })
    .await;
    assert!(w.events.webhook_event("evt_done").await.unwrap().is_none());
    assert!(w.events.webhook_event("evt_fresh").await.unwrap().is_some());
    assert!(
        w.events.webhook_event("evt_plan").await.unwrap().is_some(),
        "failed ones stay"
    );
}

macro_rules! on_every_store {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::World::sqlite().await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(w) = super::World::postgres().await {
                    super::$case(w).await;
                }
            })*
        }
    };
}

on_every_store!(
    a_failed_event_is_retried_by_a_job_then_dead,
    a_job_takes_over_an_event_whose_delivery_died,
    a_failed_event_is_applied_by_its_job_once_it_can,
    processed_events_are_purged_after_ninety_days,
);
