//! The worker loop: claim due jobs, run the app's handler, record how each
//! ended. Runtime-free: the app passes its handler, its sleep (tokio's,
//! async-std's, a test's) and a [`Stop`] it raises to shut down; the loop
//! itself only awaits those and the store.
//!
//! On stop, the job being run finishes (or the app's handler notices
//! [`JobContext::stopping`] and returns [`Outcome::Released`]), and the jobs
//! of the batch not yet started are released, so another worker takes them
//! at once instead of after their lease.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::Duration;

use crate::jobs::backoff::Backoff;
use crate::jobs::job::{Job, JobKind};
use crate::jobs::lease::{Completion, Outcome};
use crate::jobs::schedule::Recurring;
use crate::jobs::store::{ClaimRequest, JobStore};
use crate::value::clock::{Clock, Entropy};
use crate::value::error::{StoreError, StoreResult};

/// A flag the app raises to stop its workers.
#[derive(Debug, Default)]
pub struct Stop(AtomicBool);

impl Stop {
    /// A flag not raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every worker watching this flag to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether stopping was asked.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How a worker claims and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Its name, on leases and in the log.
    pub name: String,
    /// How long a claim lasts without a heartbeat: longer than a job's
    /// usual run, or the handler calls [`JobContext::heartbeat`].
    pub lease: Duration,
    /// Jobs claimed at once when the queue is busy.
    pub batch: u32,
    /// How long to sleep when no job is due.
    pub idle: std::time::Duration,
    /// Only these kinds (`None`: any).
    pub kinds: Option<Vec<JobKind>>,
    /// The retry schedule for failed jobs.
    pub backoff: Backoff,
    /// Recurring jobs this worker enqueues, once per period each (unique
    /// keys make several workers and processes enqueue each run once).
    pub recurring: Vec<Recurring>,
}

impl WorkerConfig {
    /// A worker named `name`: 30 s leases, batches of 10, a 500 ms idle
    /// poll, any kind, the default backoff.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            lease: Duration::seconds(30),
            batch: 10,
            idle: std::time::Duration::from_millis(500),
            kinds: None,
            backoff: Backoff::default(),
            recurring: Vec::new(),
        }
    }
}

/// What a handler gets: the job, and a way to keep its lease and notice a
/// shutdown.
#[derive(Debug)]
pub struct JobContext<'a> {
    /// The job, as claimed (its `fence` is this claim's).
    pub job: &'a Job,
    store: &'a dyn JobStore,
    clock: &'a dyn Clock,
    lease: Duration,
    stop: &'a Stop,
}

impl JobContext<'_> {
    /// The idempotency key of the job's effects: its id, the same on every
    /// attempt.
    pub fn idempotency_key(&self) -> String {
        self.job.id.to_string()
    }

    /// Extends the lease. `Err(Conflict)` when the job was claimed again or
    /// cancelled: the handler should stop, its result will not be recorded.
    pub async fn heartbeat(&self) -> StoreResult<()> {
        self.store
            .heartbeat_job(self.job.id, self.job.fence, self.clock.now(), self.lease)
            .await
            .map(|_| ())
    }

    /// Whether the worker is shutting down (a long handler may return
    /// [`Outcome::Released`]).
    pub fn stopping(&self) -> bool {
        self.stop.is_requested()
    }
}

/// The app's work, by kind.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Runs one job. At least once per job: make effects idempotent with
    /// [`JobContext::idempotency_key`].
    async fn handle(&self, ctx: &JobContext<'_>) -> Outcome;
}

/// What a worker did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Jobs whose success was recorded.
    pub succeeded: u64,
    /// Failed attempts recorded (retried later, or dead).
    pub failed: u64,
    /// Jobs given back on stop.
    pub released: u64,
    /// Completions refused because the claim was stale.
    pub stale: u64,
    /// Store calls that failed (the loop slept and went on).
    pub store_errors: u64,
}

/// Runs jobs until `stop` is raised. Store errors do not end the loop (a
/// busy or restarting database): they are counted, traced, and the loop
/// sleeps `idle` before the next claim.
pub async fn run<H, S, F>(
    store: &dyn JobStore,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    config: &WorkerConfig,
    handler: &H,
    sleep: S,
    stop: &Stop,
) -> WorkerReport
where
    H: JobHandler + ?Sized,
    S: Fn(std::time::Duration) -> F,
    F: Future<Output = ()>,
{
    let mut report = WorkerReport::default();
    // The key of the run each recurring job last enqueued here: one
    // enqueue per period per worker, not one per poll.
    let mut scheduled: Vec<Option<String>> = vec![None; config.recurring.len()];
    while !stop.is_requested() {
        let now = clock.now();
        for (r, last) in config.recurring.iter().zip(&mut scheduled) {
            let key = r.key(now);
            if last.as_deref() == Some(key.as_str()) {
                continue;
            }
            let job = r.job(now).mint(entropy, now);
            match store.enqueue_job(&job).await {
                Ok(_) => *last = Some(key),
                Err(e) => {
                    report.store_errors += 1;
                    tracing::warn!(worker = %config.name, kind = %r.kind, error = %e, "scheduling a recurring job failed");
                }
            }
        }
        let req = ClaimRequest {
            worker: config.name.clone(),
            now,
            lease: config.lease,
            limit: config.batch.max(1),
            kinds: config.kinds.clone(),
        };
        let batch = match store.claim_jobs(&req).await {
            Ok(batch) => batch,
            Err(e) => {
                report.store_errors += 1;
                tracing::warn!(worker = %config.name, error = %e, "claiming jobs failed");
                sleep(config.idle).await;
                continue;
            }
        };
        if batch.is_empty() {
            sleep(config.idle).await;
            continue;
        }
        for job in &batch {
            let outcome = if stop.is_requested() {
                Outcome::Released
            } else {
                let ctx = JobContext {
                    job,
                    store,
                    clock,
                    lease: config.lease,
                    stop,
                };
                handler.handle(&ctx).await
            };
            let completion = Completion {
                now: clock.now(),
                backoff: config.backoff,
                jitter: jitter(entropy),
            };
            match store
                .finish_job(job.id, job.fence, &outcome, &completion)
                .await
            {
                Ok(_) => match outcome {
                    Outcome::Succeeded => report.succeeded += 1,
                    Outcome::Failed { .. } => report.failed += 1,
                    Outcome::Released => report.released += 1,
                },
                Err(StoreError::Conflict { .. }) => report.stale += 1,
                Err(e) => {
                    // The job stays claimed; its lease runs out and another
                    // worker takes it.
                    report.store_errors += 1;
                    tracing::warn!(worker = %config.name, job = %job.id, error = %e, "recording a job's end failed");
                }
            }
        }
    }
    report
}

fn jitter(entropy: &dyn Entropy) -> u64 {
    let b = entropy.bytes16();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
