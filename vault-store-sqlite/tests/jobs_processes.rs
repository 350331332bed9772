//! A job worker killed with SIGKILL mid-job, in another OS process: the
//! job stays running under the dead process's lease, is claimed by a
//! worker in this process once the lease has run out, runs and completes
//! once; a completion under the dead worker's fence is refused, and its
//! attempt is logged as lost.
//!
//! The parent runs this test binary again (`current_exe`) with `--exact
//! worker_runs_a_job_forever` and `VAULT_JOBS_WORKER=<db path>`; without
//! that variable the worker test returns at once.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::Utc;
use vault_core::Clock;
use vault_core::jobs::job::{AttemptOutcome, JobKind, JobState, NewJob};
use vault_core::jobs::lease::{Completion, Outcome};
use vault_core::jobs::store::JobStore;
use vault_core::jobs::worker::{self, JobContext, JobHandler, Stop, WorkerConfig};
use vault_core::value::clock::{ManualClock, SeededEntropy};
use vault_core::value::error::StoreError;
use vault_core::{OsEntropy, SystemClock};
use vault_store_sqlite::SqliteStore;

const WORKER_ENV: &str = "VAULT_JOBS_WORKER";
const MARK: &str = "@@vault ";
/// The killed worker's lease.
const LEASE_SECS: i64 = 5;

fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jobs-processes");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}.db", uuid::Uuid::new_v4()))
}

/// Says it runs, then never returns: the process is killed holding it.
struct Forever;

#[async_trait]
impl JobHandler for Forever {
    async fn handle(&self, ctx: &JobContext<'_>) -> Outcome {
        println!("{MARK}running {} {}", ctx.job.id, ctx.job.fence);
        std::future::pending().await
    }
}

struct Counts(AtomicU64);

#[async_trait]
impl JobHandler for Counts {
    async fn handle(&self, _ctx: &JobContext<'_>) -> Outcome {
        self.0.fetch_add(1, Ordering::SeqCst);
        Outcome::Succeeded
    }
}

#[test]
fn worker_runs_a_job_forever() {
    let Some(db) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let store = SqliteStore::open(PathBuf::from(db)).await.unwrap();
            let mut config = WorkerConfig::new("doomed");
            config.lease = chrono::Duration::seconds(LEASE_SECS);
            config.idle = std::time::Duration::from_millis(5);
            worker::run(
                &store,
                &SystemClock,
                &OsEntropy,
                &config,
                &Forever,
                tokio::time::sleep,
                &Stop::new(),
            )
            .await;
        });
}

#[test]
fn a_killed_worker_process_loses_its_job_after_the_lease() {
    let db = scratch();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = Arc::new(rt.block_on(SqliteStore::open(&db)).unwrap());
    let job = NewJob::new(JobKind::parse("crash.me").unwrap(), serde_json::json!({}))
        .unwrap()
        .into_job(
            vault_core::jobs::job::JobId::from_uuid(uuid::Uuid::new_v4()),
            Clock::now(&SystemClock),
        );
    rt.block_on(store.enqueue_job(&job)).unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "worker_runs_a_job_forever",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER_ENV, &db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let running = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains(MARK))
        .expect("the worker reports the job it runs");
    assert!(
        running.contains(&format!("running {} 1", job.id)),
        "{running}"
    );
    // SIGKILL: no destructor, no release, the transaction (if any) cut.
    child.kill().unwrap();
    child.wait().unwrap();

    let held = rt.block_on(store.job(job.id)).unwrap().unwrap();
    assert_eq!((held.state, held.fence), (JobState::Running, 1));
    let until = held.lease.as_ref().unwrap().until;

    // A worker here, one round at each instant: before the dead lease ends
    // it finds nothing; after, it takes the job with the next fence.
    let runs = Arc::new(Counts(AtomicU64::new(0)));
    let round = |at: chrono::DateTime<Utc>| {
        let clock = ManualClock::new(at);
        let stop = Stop::new();
        let config = WorkerConfig::new("rescuer");
        let sleep = |_d: std::time::Duration| {
            stop.request();
            std::future::ready(())
        };
        rt.block_on(worker::run(
            store.as_ref(),
            &clock,
            &SeededEntropy::new(9),
            &config,
            runs.as_ref(),
            sleep,
            &stop,
        ))
    };
    assert_eq!(round(until - chrono::Duration::seconds(1)).succeeded, 0);
    assert_eq!(round(until + chrono::Duration::seconds(1)).succeeded, 1);
    assert_eq!(runs.0.load(Ordering::SeqCst), 1);
    let stale = rt.block_on(store.finish_job(
        job.id,
        1,
        &Outcome::Succeeded,
        &Completion {
            now: until + chrono::Duration::seconds(2),
            backoff: Default::default(),
            jitter: 0,
        },
    ));
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    let done = rt.block_on(store.job(job.id)).unwrap().unwrap();
    assert_eq!((done.state, done.attempts), (JobState::Succeeded, 2));
    let log: Vec<_> = rt
        .block_on(store.job_attempts(job.id))
        .unwrap()
        .into_iter()
        .map(|a| (a.fence, a.worker, a.outcome))
        .collect();
    assert_eq!(
        log,
        vec![
            (1, "doomed".to_owned(), Some(AttemptOutcome::Lost)),
            (2, "rescuer".to_owned(), Some(AttemptOutcome::Succeeded)),
        ]
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}
