//! The job queue's part of the storage contract (see [`crate::store`]).
//!
//! The queue lives in the vault's own store: no extra server, and a job can
//! be enqueued inside another write (a purchase's completion), so it
//! exists if and only if that write committed. Every state change is
//! computed by [`crate::jobs::lease`]; a store reads the job inside its
//! transaction, calls the rule and writes the result.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::audit::entry::AuditEntry;
use crate::jobs::job::{Job, JobAttempt, JobId, JobKind, JobState};
use crate::jobs::lease::{Command, Completion, Outcome};
use crate::value::error::StoreResult;
use crate::value::keyset::{After, Listing};

/// What an enqueue did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// The job was stored.
    Created(JobId),
    /// A job with the same unique key exists (whatever its state): nothing
    /// was written; this is its id.
    Existing(JobId),
}

impl Enqueued {
    /// The id of the job the key names, new or not.
    pub fn id(&self) -> JobId {
        match self {
            Enqueued::Created(id) | Enqueued::Existing(id) => *id,
        }
    }
}

/// A claim: who claims, when, for how long, how many at most, of which
/// kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The worker's name (kept on the lease and in the log).
    pub worker: String,
    /// Now.
    pub now: DateTime<Utc>,
    /// How long the lease lasts without a heartbeat.
    pub lease: Duration,
    /// At most this many jobs (a batch when the queue is busy).
    pub limit: u32,
    /// Only these kinds (`None`: any).
    pub kinds: Option<Vec<JobKind>>,
}

/// A page of jobs for admins, newest first (by enqueue instant, then id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQuery {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this kind.
    pub kind: Option<JobKind>,
    /// Only jobs enqueued at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only jobs enqueued before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Where the page starts.
    pub after: Option<After>,
    /// At most this many (1 to [`crate::value::keyset::MAX_PAGE`]).
    pub limit: u32,
}

impl Default for JobQuery {
    fn default() -> Self {
        Self {
            state: None,
            kind: None,
            since: None,
            until: None,
            after: None,
            limit: 50,
        }
    }
}

impl JobQuery {
    /// Whether `job` belongs in the listing (before the cursor and the
    /// limit): the filter every store applies.
    pub fn matches(&self, job: &Job) -> bool {
        self.state.is_none_or(|s| job.state == s)
            && self.kind.as_ref().is_none_or(|k| &job.kind == k)
            && self.since.is_none_or(|t| job.created_at >= t)
            && self.until.is_none_or(|t| job.created_at < t)
    }

    /// The key listings order by.
    pub fn key(job: &Job) -> (DateTime<Utc>, String) {
        (job.created_at, job.id.to_string())
    }
}

/// The job queue.
#[async_trait]
pub trait JobStore: Send + Sync + Debug {
    /// Stores `job` (queued, as [`crate::jobs::job::NewJob::into_job`] made
    /// it) in its own transaction. With a unique key another job holds,
    /// nothing is written and the other job's id comes back: concurrent
    /// enqueues with one key, from any thread or process, store one job.
    async fn enqueue_job(&self, job: &Job) -> StoreResult<Enqueued>;

    /// Claims up to `req.limit` due jobs ([`Job::is_due`]), highest
    /// priority first, then earliest due: each is moved by
    /// [`crate::jobs::lease::claim`] and its attempt logged, the attempt
    /// it takes over from closed as lost. Jobs another worker is claiming
    /// at the same instant are skipped, not waited for; two claims never
    /// return the same job with the same fence. Jobs the rule buries (lease
    /// lost on the last attempt) are written dead and not returned.
    async fn claim_jobs(&self, req: &ClaimRequest) -> StoreResult<Vec<Job>>;

    /// Extends the lease of the claim holding `fence`
    /// ([`crate::jobs::lease::heartbeat`]). `Conflict` when the job was
    /// claimed again, cancelled or finished since; `NotFound` for an
    /// unknown id.
    async fn heartbeat_job(
        &self,
        id: JobId,
        fence: u64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Job>;

    /// Records how the attempt holding `fence` ended
    /// ([`crate::jobs::lease::finish`]) and closes its log row. `Conflict`
    /// when the claim is stale (nothing is written: a completion is
    /// recorded once, by the latest claim); `NotFound` for an unknown id.
    async fn finish_job(
        &self,
        id: JobId,
        fence: u64,
        outcome: &Outcome,
        completion: &Completion,
    ) -> StoreResult<Job>;

    /// Applies an admin's command ([`crate::jobs::lease::command`]) with its
    /// audit entry, written last in the same transaction. `Conflict` when it
    /// does not apply to the job's state.
    async fn command_job(
        &self,
        id: JobId,
        command: Command,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<Job>;

    /// One job.
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>>;

    /// The jobs `query` selects, newest first, in cursor pages.
    async fn jobs(&self, query: &JobQuery) -> StoreResult<Listing<Job>>;

    /// A job's attempts, oldest first.
    async fn job_attempts(&self, id: JobId) -> StoreResult<Vec<JobAttempt>>;

    /// Deletes succeeded and cancelled jobs (with their attempts) finished
    /// before `before`; dead jobs stay until an admin acts. Returns how
    /// many jobs went.
    async fn purge_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
