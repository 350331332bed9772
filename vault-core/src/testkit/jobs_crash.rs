//! A worker that dies mid-job: its future dropped (a panic, a shutdown
//! without stop, a cancelled request) leaves the job to another worker
//! after the lease, and the dead worker's fence is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::jobs::{Succeeds, done, job, t};
use crate::jobs::job::{AttemptOutcome, JobState};
use crate::jobs::lease::Outcome;
use crate::jobs::worker::{self, JobContext, JobHandler, Stop, WorkerConfig};
use crate::store::Store;
use crate::value::clock::{ManualClock, SeededEntropy};
use crate::value::error::StoreError;

/// A handler that never returns: the job it holds is in flight when its
/// worker's future is dropped.
struct Hangs(tokio::sync::Notify);

#[async_trait]
impl JobHandler for Hangs {
    async fn handle(&self, _ctx: &JobContext<'_>) -> Outcome {
        self.0.notify_one();
        std::future::pending().await
    }
}

/// A worker loop dropped mid-job (its task aborted, as a panic, a
/// shutdown without stop or a cancelled request do): the job stays
/// running until its lease ends, is then claimed by another worker, runs
/// there and completes once; a completion under the dropped worker's
/// fence is refused, and its attempt is logged as lost.
pub async fn a_worker_dropped_mid_job_loses_it_after_the_lease(store: Arc<dyn Store>) {
    let j = job("dropped.mid", 0);
    store.enqueue_job(&j).await.expect("enqueue");
    let clock = Arc::new(ManualClock::new(t(0)));
    let hangs = Arc::new(Hangs(tokio::sync::Notify::new()));
    let stop = Arc::new(Stop::new());
    let lost = {
        let (store, clock, hangs, stop) = (
            Arc::clone(&store),
            Arc::clone(&clock),
            Arc::clone(&hangs),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut config = WorkerConfig::new("doomed");
            config.idle = std::time::Duration::from_millis(1);
            worker::run(
                store.as_ref(),
                clock.as_ref(),
                &SeededEntropy::new(1),
                &config,
                hangs.as_ref(),
                tokio::time::sleep,
                &stop,
            )
            .await
        })
    };
    hangs.0.notified().await;
    lost.abort();
    assert!(lost.await.expect_err("aborted").is_cancelled());
    let held = store.job(j.id).await.expect("read").expect("job");
    assert_eq!((held.state, held.fence), (JobState::Running, 1));

    // Within the lease (30 s) nobody takes it; after it, another worker.
    clock.set(t(29));
    let runs = Arc::new(Succeeds(AtomicU64::new(0)));
    let rescue = |at: i64| {
        clock.set(t(at));
        let (store, clock, runs) = (Arc::clone(&store), Arc::clone(&clock), Arc::clone(&runs));
        async move {
            let stop = Stop::new();
            let mut config = WorkerConfig::new("rescuer");
            config.idle = std::time::Duration::from_millis(1);
            // One claim round: stop as soon as the loop first sleeps.
            let sleep = |_d: std::time::Duration| {
                stop.request();
                std::future::ready(())
            };
            worker::run(
                store.as_ref(),
                clock.as_ref(),
                &SeededEntropy::new(2),
                &config,
                runs.as_ref(),
                sleep,
                &stop,
            )
            .await
        }
    };
    let early = rescue(29).await;
    assert_eq!(early.succeeded, 0, "the lease still holds");
    let late = rescue(31).await;
    assert_eq!(late.succeeded, 1);
    assert_eq!(runs.0.load(Ordering::SeqCst), 1);
    let refused = store
        .finish_job(j.id, 1, &Outcome::Succeeded, &done(32))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    let done_job = store.job(j.id).await.expect("read").expect("job");
    assert_eq!(
        (done_job.state, done_job.attempts),
        (JobState::Succeeded, 2)
    );
    let log: Vec<_> = store
        .job_attempts(j.id)
        .await
        .expect("attempts")
        .iter()
        .map(|a| (a.fence, a.worker.clone(), a.outcome))
        .collect();
    assert_eq!(
        log,
        vec![
            (1, "doomed".to_owned(), Some(AttemptOutcome::Lost)),
            (2, "rescuer".to_owned(), Some(AttemptOutcome::Succeeded)),
        ]
    );
}
