//! Conformance cases for the job queue ([`JobStore`]): claims in order and
//! under contention, leases and fencing, backoff to dead, admins' commands,
//! unique keys under concurrent enqueues, purging, and the worker loop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::records::audit;
use crate::jobs::backoff::Backoff;
use crate::jobs::job::{AttemptOutcome, Job, JobId, JobKind, JobState, NewJob};
use crate::jobs::lease::{Command, Completion, Outcome};
use crate::jobs::store::{ClaimRequest, Enqueued, JobQuery};
use crate::jobs::worker::{self, JobContext, JobHandler, Stop, WorkerConfig};
use crate::store::Store;
use crate::value::clock::{ManualClock, SeededEntropy};
use crate::value::error::StoreError;

pub(super) fn t(s: i64) -> DateTime<Utc> {
    super::epoch() + Duration::seconds(s)
}

static SEQ: AtomicU64 = AtomicU64::new(1);

fn id() -> JobId {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    JobId::from_uuid(Uuid::from_u128((0x10b5_u128 << 112) | u128::from(n)))
}

fn kind(k: &str) -> JobKind {
    JobKind::parse(k).expect("kind")
}

pub(super) fn job(k: &str, at: i64) -> Job {
    NewJob::new(kind(k), json!({"n": at}))
        .expect("job")
        .into_job(id(), t(at))
}

fn req(worker: &str, at: i64, limit: u32) -> ClaimRequest {
    ClaimRequest {
        worker: worker.into(),
        now: t(at),
        lease: Duration::seconds(30),
        limit,
        kinds: None,
    }
}

pub(super) fn done(at: i64) -> Completion {
    Completion {
        now: t(at),
        backoff: Backoff::default(),
        jitter: 0,
    }
}

pub async fn jobs_are_claimed_by_priority_then_due_time(store: Arc<dyn Store>) {
    let low = job("mail.send", 0);
    let high = NewJob::new(kind("mail.send"), json!({}))
        .expect("job")
        .priority(10)
        .into_job(id(), t(1));
    let later = NewJob::new(kind("mail.send"), json!({}))
        .expect("job")
        .priority(50)
        .run_at(t(100))
        .into_job(id(), t(1));
    let other = job("report.build", 2);
    for j in [&low, &high, &later, &other] {
        assert_eq!(
            store.enqueue_job(j).await.expect("enqueue"),
            Enqueued::Created(j.id)
        );
    }
    // Only mail, at t=5: the high one first, the future one not yet.
    let mut mail = req("w1", 5, 10);
    mail.kinds = Some(vec![kind("mail.send")]);
    let got = store.claim_jobs(&mail).await.expect("claim");
    let ids: Vec<JobId> = got.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![high.id, low.id]);
    for j in &got {
        assert_eq!((j.state, j.attempts, j.fence), (JobState::Running, 1, 1));
        assert_eq!(j.lease.as_ref().expect("leased").until, t(35));
    }
    // Nothing else due for mail now; the report is for anyone.
    assert!(store.claim_jobs(&mail).await.expect("claim").is_empty());
    let got = store.claim_jobs(&req("w2", 6, 10)).await.expect("claim");
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![other.id]);
    let finished = store
        .finish_job(high.id, 1, &Outcome::Succeeded, &done(7))
        .await
        .expect("finish");
    assert_eq!(
        (finished.state, finished.finished_at),
        (JobState::Succeeded, Some(t(7)))
    );
    for j in [&low, &other] {
        store
            .finish_job(j.id, 1, &Outcome::Succeeded, &done(7))
            .await
            .expect("finish");
    }
    // The future one, when due (the finished ones never again).
    let got = store.claim_jobs(&req("w2", 100, 10)).await.expect("claim");
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![later.id]);
    let log = store.job_attempts(high.id).await.expect("attempts");
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].worker.as_str(), log[0].outcome),
        ("w1", Some(AttemptOutcome::Succeeded))
    );
    // A second completion of the same claim is refused.
    assert!(matches!(
        store
            .finish_job(high.id, 1, &Outcome::Succeeded, &done(8))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store
            .finish_job(id(), 1, &Outcome::Succeeded, &done(8))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let limit = ClaimRequest {
        limit: 0,
        ..req("w", 1, 1)
    };
    assert!(
        store.claim_jobs(&limit).await.is_err(),
        "limit 0 is refused"
    );
}

pub async fn a_lapsed_lease_is_claimed_again_and_the_first_worker_fenced(store: Arc<dyn Store>) {
    let j = job("sync.crm", 0);
    store.enqueue_job(&j).await.expect("enqueue");
    let first = store.claim_jobs(&req("w1", 0, 1)).await.expect("claim");
    assert_eq!(first.len(), 1);
    // Within the lease nobody else gets it; the holder's heartbeat extends it.
    assert!(
        store
            .claim_jobs(&req("w2", 20, 1))
            .await
            .expect("claim")
            .is_empty()
    );
    let beat = store
        .heartbeat_job(j.id, 1, t(20), Duration::seconds(30))
        .await
        .expect("fresh");
    assert_eq!(beat.lease.expect("leased").until, t(50));
    assert!(
        store
            .claim_jobs(&req("w2", 45, 1))
            .await
            .expect("claim")
            .is_empty()
    );
    // w1 dies: after its lease, w2 takes over with the next fence.
    let second = store.claim_jobs(&req("w2", 51, 1)).await.expect("claim");
    assert_eq!((second[0].fence, second[0].attempts), (2, 2));
    for refused in [
        store
            .heartbeat_job(j.id, 1, t(52), Duration::seconds(30))
            .await
            .map(|_| ()),
        store
            .finish_job(j.id, 1, &Outcome::Succeeded, &done(52))
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(StoreError::Conflict { .. })),
            "{refused:?}"
        );
    }
    store
        .finish_job(j.id, 2, &Outcome::Succeeded, &done(53))
        .await
        .expect("the current claim finishes");
    let log = store.job_attempts(j.id).await.expect("attempts");
    let outcomes: Vec<_> = log
        .iter()
        .map(|a| (a.fence, a.worker.as_str(), a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, "w1", Some(AttemptOutcome::Lost)),
            (2, "w2", Some(AttemptOutcome::Succeeded)),
        ]
    );
}

pub async fn failures_back_off_go_dead_and_admins_retry_or_cancel(store: Arc<dyn Store>) {
    let j = NewJob::new(kind("mail.send"), json!({"to": "u1"}))
        .expect("job")
        .max_attempts(2)
        .into_job(id(), t(0));
    store.enqueue_job(&j).await.expect("enqueue");
    let failed = Outcome::Failed {
        error: "smtp: connection refused".into(),
        retry: true,
    };
    store.claim_jobs(&req("w", 0, 1)).await.expect("claim");
    let back = store
        .finish_job(j.id, 1, &failed, &done(1))
        .await
        .expect("finish");
    // Jitter 0: half the first 10 s step.
    assert_eq!((back.state, back.run_at), (JobState::Queued, t(6)));
    assert!(
        store
            .claim_jobs(&req("w", 5, 1))
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(
        store
            .claim_jobs(&req("w", 6, 1))
            .await
            .expect("claim")
            .len(),
        1
    );
    let dead = store
        .finish_job(j.id, 2, &failed, &done(7))
        .await
        .expect("finish");
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.last_error.as_deref(), Some("smtp: connection refused"));
    assert!(
        store
            .claim_jobs(&req("w", 10_000, 1))
            .await
            .expect("claim")
            .is_empty()
    );
    let log = store.job_attempts(j.id).await.expect("attempts");
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|a| a.outcome == Some(AttemptOutcome::Failed)
        && a.error.as_deref() == Some("smtp: connection refused")));

    // Admins: retry the dead job now, then cancel it; each in the trail.
    let entry = audit();
    let again = store
        .command_job(j.id, Command::RetryNow, t(20), &entry)
        .await
        .expect("retry");
    assert_eq!(
        (again.state, again.attempts, again.run_at),
        (JobState::Queued, 0, t(20))
    );
    let cancelled = store
        .command_job(j.id, Command::Cancel, t(21), &audit())
        .await
        .expect("cancel");
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(
        store
            .claim_jobs(&req("w", 30, 1))
            .await
            .expect("claim")
            .is_empty()
    );
    // A command that does not apply writes nothing, its entry neither.
    let refused = audit();
    assert!(matches!(
        store
            .command_job(j.id, Command::Cancel, t(22), &refused)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let trail = store
        .audit_log(&crate::store::AuditQuery::default())
        .await
        .expect("trail");
    assert!(trail.items.iter().any(|r| r.id == entry.id));
    assert!(!trail.items.iter().any(|r| r.id == refused.id));

    // Cancelling a running job fences its worker.
    let r = job("report.build", 40);
    store.enqueue_job(&r).await.expect("enqueue");
    store.claim_jobs(&req("w", 40, 1)).await.expect("claim");
    store
        .command_job(r.id, Command::Cancel, t(41), &audit())
        .await
        .expect("cancel");
    assert!(matches!(
        store
            .finish_job(r.id, 1, &Outcome::Succeeded, &done(42))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let log = store.job_attempts(r.id).await.expect("attempts");
    assert_eq!(log[0].outcome, Some(AttemptOutcome::Cancelled));
}

pub async fn a_unique_key_enqueues_one_job_under_contention(store: Arc<dyn Store>) {
    let key = "expire-memberships:2025-02-13T09";
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let j = NewJob::new(kind("memberships.expire"), json!({}))
                .expect("job")
                .unique_key(key)
                .into_job(id(), t(0));
            store.enqueue_job(&j).await.expect("enqueue")
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        let got = task.await.expect("task");
        if matches!(got, Enqueued::Created(_)) {
            created += 1;
        }
        ids.insert(got.id());
    }
    assert_eq!((created, ids.len()), (1, 1), "one job, one id for all");
    let listed = store
        .jobs(&JobQuery {
            kind: Some(kind("memberships.expire")),
            ..JobQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    // Finished, it still holds its key: the period is done.
    store.claim_jobs(&req("w", 0, 100)).await.expect("claim");
    let only = *ids.iter().next().expect("one");
    store
        .finish_job(only, 1, &Outcome::Succeeded, &done(1))
        .await
        .expect("finish");
    let again = NewJob::new(kind("memberships.expire"), json!({}))
        .expect("job")
        .unique_key(key)
        .into_job(id(), t(2));
    assert_eq!(
        store.enqueue_job(&again).await.expect("enqueue"),
        Enqueued::Existing(only)
    );
}

pub async fn many_claimers_complete_every_job_exactly_once(store: Arc<dyn Store>) {
    const JOBS: usize = 48;
    let mut all = Vec::new();
    for n in 0..JOBS {
        let j = NewJob::new(kind("batch.item"), json!({"n": n}))
            .expect("job")
            .priority(i16::try_from(n % 3).expect("small"))
            .into_job(id(), t(0));
        store.enqueue_job(&j).await.expect("enqueue");
        all.push(j.id);
    }
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut finished = Vec::new();
            loop {
                let got = store
                    .claim_jobs(&ClaimRequest {
                        kinds: Some(vec![kind("batch.item")]),
                        ..req(&format!("w{w}"), 1, 3)
                    })
                    .await
                    .expect("claim");
                if got.is_empty() {
                    break finished;
                }
                for j in got {
                    store
                        .finish_job(j.id, j.fence, &Outcome::Succeeded, &done(2))
                        .await
                        .expect("every claim is fresh: no lease ran out");
                    finished.push(j.id);
                }
            }
        }));
    }
    let mut counts: BTreeMap<JobId, u32> = BTreeMap::new();
    for task in tasks {
        for j in task.await.expect("task") {
            *counts.entry(j).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), JOBS, "none lost");
    assert!(counts.values().all(|&c| c == 1), "none twice: {counts:?}");
    for j in all {
        let stored = store.job(j).await.expect("read").expect("kept");
        assert_eq!((stored.state, stored.attempts), (JobState::Succeeded, 1));
        assert_eq!(store.job_attempts(j).await.expect("log").len(), 1);
    }
}

pub async fn finished_jobs_are_purged_dead_ones_kept(store: Arc<dyn Store>) {
    let ok = job("purge.ok", 0);
    let dead = NewJob::new(kind("purge.dead"), json!({}))
        .expect("job")
        .max_attempts(1)
        .into_job(id(), t(0));
    let recent = job("purge.recent", 0);
    for j in [&ok, &dead, &recent] {
        store.enqueue_job(j).await.expect("enqueue");
    }
    let mut r = req("w", 0, 10);
    r.kinds = Some(vec![kind("purge.ok"), kind("purge.dead")]);
    assert_eq!(store.claim_jobs(&r).await.expect("claim").len(), 2);
    store
        .finish_job(ok.id, 1, &Outcome::Succeeded, &done(1))
        .await
        .expect("finish");
    store
        .finish_job(
            dead.id,
            1,
            &Outcome::Failed {
                error: "x".into(),
                retry: true,
            },
            &done(1),
        )
        .await
        .expect("finish");
    let mut r = req("w", 5, 10);
    r.kinds = Some(vec![kind("purge.recent")]);
    store.claim_jobs(&r).await.expect("claim");
    store
        .finish_job(recent.id, 1, &Outcome::Succeeded, &done(100))
        .await
        .expect("finish");
    assert_eq!(store.purge_jobs(t(50)).await.expect("purge"), 1);
    assert!(store.job(ok.id).await.expect("read").is_none());
    assert!(store.job_attempts(ok.id).await.expect("log").is_empty());
    assert_eq!(
        store.job(dead.id).await.expect("read").expect("kept").state,
        JobState::Dead
    );
    assert!(store.job(recent.id).await.expect("read").is_some());
}

/// Counts how often it ran each job; fails each job's first attempt when
/// told to.
struct Counting {
    runs: std::sync::Mutex<BTreeMap<JobId, u32>>,
    fail_first: bool,
}

#[async_trait]
impl JobHandler for Counting {
    async fn handle(&self, ctx: &JobContext<'_>) -> Outcome {
        let n = {
            let mut runs = self.runs.lock().expect("lock");
            let n = runs.entry(ctx.job.id).or_default();
            *n += 1;
            *n
        };
        assert_eq!(ctx.idempotency_key(), ctx.job.id.to_string());
        ctx.heartbeat().await.expect("the claim is fresh");
        if self.fail_first && n == 1 {
            Outcome::Failed {
                error: "first try fails".into(),
                retry: true,
            }
        } else {
            Outcome::Succeeded
        }
    }
}

pub async fn workers_run_every_job_and_retry_failures(store: Arc<dyn Store>) {
    const JOBS: usize = 20;
    for n in 0..JOBS {
        let j = NewJob::new(kind("loop.item"), json!({"n": n}))
            .expect("job")
            .into_job(id(), t(0));
        store.enqueue_job(&j).await.expect("enqueue");
    }
    let clock = Arc::new(ManualClock::new(t(0)));
    let handler = Arc::new(Counting {
        runs: std::sync::Mutex::new(BTreeMap::new()),
        fail_first: true,
    });
    let stop = Arc::new(Stop::new());
    let mut workers = Vec::new();
    for w in 0..4u64 {
        let (store, clock, handler, stop) = (
            Arc::clone(&store),
            Arc::clone(&clock),
            Arc::clone(&handler),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            let mut config = WorkerConfig::new(format!("loop-{w}"));
            config.kinds = Some(vec![kind("loop.item")]);
            config.batch = 4;
            config.idle = std::time::Duration::from_millis(5);
            // Idle workers move the shared clock a minute per sleep: a
            // lease of a day never runs out under a busy one.
            config.lease = Duration::days(1);
            let entropy = SeededEntropy::new(w);
            // Each idle sleep moves the shared clock a minute on, so
            // retries come due.
            let sleep = |d: std::time::Duration| {
                let clock = Arc::clone(&clock);
                async move {
                    clock.advance(Duration::seconds(60));
                    tokio::time::sleep(d).await;
                }
            };
            worker::run(
                store.as_ref(),
                clock.as_ref(),
                &entropy,
                &config,
                handler.as_ref(),
                sleep,
                &stop,
            )
            .await
        }));
    }
    // Wait until every job succeeded (bounded), then stop the workers.
    for _ in 0..2_000 {
        let done = store
            .jobs(&JobQuery {
                kind: Some(kind("loop.item")),
                state: Some(JobState::Succeeded),
                limit: 100,
                ..JobQuery::default()
            })
            .await
            .expect("list")
            .items
            .len();
        if done == JOBS {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.request();
    let mut total = worker::WorkerReport::default();
    for w in workers {
        let r = w.await.expect("worker");
        total.succeeded += r.succeeded;
        total.failed += r.failed;
        total.stale += r.stale;
    }
    assert_eq!(
        (total.succeeded, total.failed, total.stale),
        (JOBS as u64, JOBS as u64, 0)
    );
    let runs = handler.runs.lock().expect("lock");
    assert_eq!(runs.len(), JOBS);
    assert!(runs.values().all(|&n| n == 2), "each ran twice: {runs:?}");
}

/// A handler that succeeds, counting its runs.
pub(super) struct Succeeds(pub(super) AtomicU64);

#[async_trait]
impl JobHandler for Succeeds {
    async fn handle(&self, _ctx: &JobContext<'_>) -> Outcome {
        self.0.fetch_add(1, Ordering::SeqCst);
        Outcome::Succeeded
    }
}

pub async fn the_service_checks_enqueues_and_audits_staff_commands(store: Arc<dyn Store>) {
    let f = super::Fixture::new(store).await;
    let user = crate::value::actor::Actor::user("u-jobs").expect("user");
    let mail = || NewJob::new(kind("mail.send"), json!({"user_id": "u-jobs"})).expect("job");
    assert!(matches!(
        f.vault.enqueue(&user, mail()).await,
        Err(crate::value::error::Error::Forbidden { .. })
    ));
    // Out-of-range values built with the builder are refused, naming the
    // field; nothing is written.
    let err = f
        .vault
        .enqueue(&f.admin, mail().max_attempts(0))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, crate::value::error::Error::Invalid(v) if v.field() == "max_attempts"),
        "{err:?}"
    );
    let empty = f
        .vault
        .jobs(&f.admin, &JobQuery::default())
        .await
        .expect("list");
    assert!(empty.items.is_empty());

    let id = f
        .vault
        .enqueue(&f.admin, mail().unique_key("welcome:u-jobs"))
        .await
        .expect("enqueue")
        .id();
    assert_eq!(
        f.vault
            .enqueue(&f.admin, mail().unique_key("welcome:u-jobs"))
            .await
            .expect("enqueue"),
        Enqueued::Existing(id)
    );
    assert!(
        f.vault.jobs(&user, &JobQuery::default()).await.is_err(),
        "staff only"
    );

    // Cancel, then retry: two entries in the trail naming the job.
    f.vault.cancel_job(&f.admin, id).await.expect("cancel");
    let again = f.vault.retry_job(&f.admin, id).await.expect("retry");
    assert_eq!(again.state, JobState::Queued);
    let trail = f
        .vault
        .audit_log(
            &f.admin,
            &crate::store::AuditQuery {
                target: Some(crate::value::error::Entity::Job),
                ..crate::store::AuditQuery::default()
            },
        )
        .await
        .expect("trail");
    let actions: Vec<&str> = trail.items.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, vec!["job_retried", "job_cancelled"]);
    assert!(matches!(
        f.vault.retry_job(&user, id).await,
        Err(crate::value::error::Error::Forbidden { .. })
    ));

    // A worker through the service runs it once; it reads back with its log.
    let handler = Succeeds(AtomicU64::new(0));
    let stop = Stop::new();
    let mut config = WorkerConfig::new("svc");
    config.idle = std::time::Duration::from_millis(1);
    let sleep = |d| {
        // Stops once the queue is idle.
        stop.request();
        tokio::time::sleep(d)
    };
    let report = f.vault.run_jobs(&config, &handler, sleep, &stop).await;
    assert_eq!((report.succeeded, handler.0.load(Ordering::SeqCst)), (1, 1));
    let (job, log) = f.vault.job(&f.admin, id).await.expect("job");
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(
        log.last().and_then(|a| a.outcome),
        Some(AttemptOutcome::Succeeded)
    );
    // Purged once old enough.
    f.clock.advance(Duration::days(31));
    assert_eq!(
        f.vault
            .purge_jobs(&f.admin, Duration::days(30))
            .await
            .expect("purge"),
        1
    );

    // Webhook events for operators: staff only, without their payloads.
    use crate::store::{Claim, Finish, NewWebhookEvent, WebhookStatus};
    let event = NewWebhookEvent {
        id: "evt_parked".into(),
        event_type: "charge.refunded".into(),
        object_id: Some("ch_1".into()),
        created: t(0),
    };
    assert_eq!(
        f.store
            .claim_webhook_event(&event, t(0), Duration::seconds(60), 3)
            .await
            .expect("claim"),
        Claim::Claimed { attempt: 1 }
    );
    let park = Finish::Parked {
        waiting_for: "payment:pi_1".into(),
        payload: r#"{"customer_email":"ann@example.com"}"#.into(),
    };
    f.store
        .finish_webhook_event("evt_parked", &park, t(0))
        .await
        .expect("park");
    assert!(matches!(
        f.vault
            .webhook_events(&user, WebhookStatus::Parked, 10)
            .await,
        Err(crate::value::error::Error::Forbidden { .. })
    ));
    let listed = f
        .vault
        .webhook_events(&f.admin, WebhookStatus::Parked, 10)
        .await
        .expect("staff list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].waiting_for.as_deref(), Some("payment:pi_1"));
    assert_eq!(listed[0].payload, None, "customer data stays out");
}
