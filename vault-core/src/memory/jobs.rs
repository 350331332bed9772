//! The job queue in memory: in the domain state, under its lock, so a job
//! enqueued with a purchase's completion commits with it. Every state
//! change is [`crate::jobs::lease`]'s; this file only finds and stores.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{MemoryStore, State};
use crate::audit::entry::AuditEntry;
use crate::jobs::job::{AttemptOutcome, Job, JobAttempt, JobId};
use crate::jobs::lease::{self, Claimed, Command, Completion, Outcome};
use crate::jobs::store::{ClaimRequest, Enqueued, JobQuery, JobStore};
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::keyset::{Listing, check_limit};

/// Every job, its attempts, and the indexes claims and unique keys use.
#[derive(Default)]
#[cfg_attr(test, derive(Debug, Clone, PartialEq))]
pub(super) struct Jobs {
    jobs: BTreeMap<JobId, Job>,
    /// Queued and running jobs: the only ones a claim looks at.
    active: BTreeSet<JobId>,
    unique: BTreeMap<String, JobId>,
    attempts: BTreeMap<(JobId, u64), JobAttempt>,
}

impl Jobs {
    /// Stores `job`, replacing the one with its id, and keeps the indexes.
    fn put(&mut self, job: Job) {
        if job.state.is_active() {
            self.active.insert(job.id);
        } else {
            self.active.remove(&job.id);
        }
        if let Some(k) = &job.unique_key {
            self.unique.insert(k.clone(), job.id);
        }
        self.jobs.insert(job.id, job);
    }

    /// Closes the log row of the attempt holding `fence`.
    fn close(
        &mut self,
        id: JobId,
        fence: u64,
        outcome: AttemptOutcome,
        at: DateTime<Utc>,
        error: Option<String>,
    ) {
        if let Some(a) = self.attempts.get_mut(&(id, fence))
            && a.finished_at.is_none()
        {
            a.finished_at = Some(at);
            a.outcome = Some(outcome);
            a.error = error;
        }
    }

    /// Enqueues inside the caller's write: what `enqueue_job` and the
    /// outbox of other writes both call.
    pub(super) fn enqueue(&mut self, job: &Job) -> StoreResult<Enqueued> {
        if let Some(id) = self.check_enqueue(job)? {
            return Ok(Enqueued::Existing(id));
        }
        self.put(job.clone());
        Ok(Enqueued::Created(job.id))
    }

    /// Whether enqueueing every job of `outbox` would succeed, checked
    /// before the write that carries them changes anything: each against
    /// the queue, and against the others (two with one id).
    pub(super) fn check_outbox(&self, outbox: &[Job]) -> StoreResult<()> {
        let mut ids = BTreeSet::new();
        for job in outbox {
            self.check_enqueue(job)?;
            if !ids.insert(job.id) {
                return Err(StoreError::exists(Entity::Job, job.id));
            }
        }
        Ok(())
    }

    /// What `enqueue` would do, without doing it: `Some` job holding the
    /// unique key, `None` to insert, or the error it would fail with. A
    /// write with an outbox checks first, so it changes nothing or all.
    pub(super) fn check_enqueue(&self, job: &Job) -> StoreResult<Option<JobId>> {
        if let Some(k) = &job.unique_key
            && let Some(id) = self.unique.get(k)
        {
            return Ok(Some(*id));
        }
        if self.jobs.contains_key(&job.id) {
            return Err(StoreError::exists(Entity::Job, job.id));
        }
        Ok(None)
    }

    fn get(&self, id: JobId) -> StoreResult<&Job> {
        self.jobs
            .get(&id)
            .ok_or_else(|| StoreError::not_found(Entity::Job, id))
    }

    fn claim(&mut self, req: &ClaimRequest) -> Vec<Job> {
        let mut due: Vec<&Job> = self
            .active
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| j.is_due(req.now))
            .filter(|j| req.kinds.as_ref().is_none_or(|k| k.contains(&j.kind)))
            .collect();
        due.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.due_at().cmp(&b.due_at()))
                .then_with(|| a.id.cmp(&b.id))
        });
        let picked: Vec<Job> = due.into_iter().take(req.limit as usize).cloned().collect();
        let mut out = Vec::new();
        for job in picked {
            if let Some((fence, outcome, at)) = lease::lost_attempt(&job, req.now) {
                self.close(job.id, fence, outcome, at, None);
            }
            match lease::claim(&job, &req.worker, req.now, req.lease) {
                Claimed::Run(next, attempt) => {
                    self.attempts.insert((next.id, next.fence), attempt);
                    out.push(next.clone());
                    self.put(next);
                }
                Claimed::Bury(next) => self.put(next),
            }
        }
        out
    }
}

impl MemoryStore {
    fn jobs_write<R>(&self, f: impl FnOnce(&mut State) -> StoreResult<R>) -> StoreResult<R> {
        self.write(f)
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn enqueue_job(&self, job: &Job) -> StoreResult<Enqueued> {
        self.jobs_write(|s| s.jobs.enqueue(job))
    }

    async fn claim_jobs(&self, req: &ClaimRequest) -> StoreResult<Vec<Job>> {
        check_limit(req.limit).map_err(StoreError::Invalid)?;
        self.jobs_write(|s| Ok(s.jobs.claim(req)))
    }

    async fn heartbeat_job(
        &self,
        id: JobId,
        fence: u64,
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> StoreResult<Job> {
        self.jobs_write(|s| {
            let next = lease::heartbeat(s.jobs.get(id)?, fence, now, lease_for)
                .map_err(|e| e.conflict(id))?;
            s.jobs.put(next.clone());
            Ok(next)
        })
    }

    async fn finish_job(
        &self,
        id: JobId,
        fence: u64,
        outcome: &Outcome,
        completion: &Completion,
    ) -> StoreResult<Job> {
        self.jobs_write(|s| {
            let (next, logged) = lease::finish(s.jobs.get(id)?, fence, outcome, completion)
                .map_err(|e| e.conflict(id))?;
            let error = match outcome {
                Outcome::Failed { .. } => next.last_error.clone(),
                _ => None,
            };
            s.jobs.close(id, fence, logged, completion.now, error);
            s.jobs.put(next.clone());
            Ok(next)
        })
    }

    async fn command_job(
        &self,
        id: JobId,
        command: Command,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<Job> {
        self.audited(Some(audit), |s| {
            let (next, ended) =
                lease::command(s.jobs.get(id)?, command, now).map_err(|e| e.conflict(id))?;
            if let Some((fence, outcome)) = ended {
                s.jobs.close(id, fence, outcome, now, None);
            }
            s.jobs.put(next.clone());
            Ok(next)
        })
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        Ok(self.lock().jobs.jobs.get(&id).cloned())
    }

    async fn jobs(&self, query: &JobQuery) -> StoreResult<Listing<Job>> {
        check_limit(query.limit).map_err(StoreError::Invalid)?;
        let s = self.lock();
        let matching = s.jobs.jobs.values().filter(|j| query.matches(j)).cloned();
        Ok(Listing::of(
            matching,
            JobQuery::key,
            query.after.as_ref(),
            query.limit,
        ))
    }

    async fn job_attempts(&self, id: JobId) -> StoreResult<Vec<JobAttempt>> {
        let s = self.lock();
        Ok(s.jobs
            .attempts
            .range((id, 0)..=(id, u64::MAX))
            .map(|(_, a)| a.clone())
            .collect())
    }

    async fn purge_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.jobs_write(|s| {
            let gone: Vec<JobId> = s
                .jobs
                .jobs
                .values()
                .filter(|j| j.purgeable(before))
                .map(|j| j.id)
                .collect();
            for id in &gone {
                if let Some(j) = s.jobs.jobs.remove(id) {
                    s.jobs.active.remove(id);
                    if let Some(k) = &j.unique_key {
                        s.jobs.unique.remove(k);
                    }
                }
                let keys: Vec<(JobId, u64)> = s
                    .jobs
                    .attempts
                    .range((*id, 0)..=(*id, u64::MAX))
                    .map(|(k, _)| *k)
                    .collect();
                for k in keys {
                    s.jobs.attempts.remove(&k);
                }
            }
            Ok(gone.len() as u64)
        })
    }
}
