//! The job queue (`job_queue`, `job_log`). Claims run inside the write
//! lock (`BEGIN IMMEDIATE`), so two claimers, threads or processes, never
//! take one job; every state change is vault-core's `jobs::lease`.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use vault_core::audit::entry::AuditEntry;
use vault_core::jobs::job::{AttemptOutcome, Job, JobAttempt, JobId, JobLease};
use vault_core::jobs::lease::{self, Claimed, Command, Completion, Outcome};
use vault_core::store::{
    ClaimRequest, Enqueued, Entity, JobQuery, JobStore, StoreError, StoreResult,
};
use vault_core::value::keyset::{Listing, check_limit};

use crate::SqliteStore;
use crate::codec::*;
use crate::sql::{query_all, query_one};

macro_rules! cols {
    () => {
        "id, kind, payload, priority, state, attempts, max_attempts, run_at, lease_worker, \
         lease_until, due_at, fence, unique_key, last_error, created_at, updated_at, finished_at"
    };
}

fn from_row(row: &Row<'_>) -> StoreResult<Job> {
    decode("job_queue", || {
        let worker: Option<String> = get(row, "lease_worker")?;
        let until = opt_time(row, "lease_until")?;
        Ok(Job {
            id: parse(row, "id")?,
            kind: parse(row, "kind")?,
            payload: json_col(row, "payload")?,
            priority: i16::try_from(get::<i64>(row, "priority")?)
                .map_err(|_| corrupt("priority", "out of range"))?,
            state: parse(row, "state")?,
            attempts: u32_col(row, "attempts")?,
            max_attempts: u32_col(row, "max_attempts")?,
            run_at: time(row, "run_at")?,
            lease: match (worker, until) {
                (Some(worker), Some(until)) => Some(JobLease { worker, until }),
                _ => None,
            },
            fence: u64_col(row, "fence")?,
            unique_key: get(row, "unique_key")?,
            last_error: get(row, "last_error")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            finished_at: opt_time(row, "finished_at")?,
        })
    })
}

fn attempt_from_row(row: &Row<'_>) -> StoreResult<JobAttempt> {
    decode("job_log", || {
        Ok(JobAttempt {
            job_id: parse(row, "job_id")?,
            fence: u64_col(row, "fence")?,
            attempt: u32_col(row, "attempt")?,
            worker: get(row, "worker")?,
            started_at: time(row, "started_at")?,
            finished_at: opt_time(row, "finished_at")?,
            outcome: parse_opt(row, "outcome")?,
            error: get(row, "error")?,
        })
    })
}

fn load(c: &Connection, id: JobId) -> StoreResult<Job> {
    query_one(
        c,
        concat!("SELECT ", cols!(), " FROM job_queue WHERE id = ?1"),
        [id.to_string()],
        from_row,
    )?
    .ok_or_else(|| StoreError::not_found(Entity::Job, id))
}

/// Writes `j` whole (insert or replace by id).
fn save(c: &Connection, j: &Job, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        concat!(
            "INSERT INTO job_queue (",
            cols!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        )
    } else {
        "UPDATE job_queue SET kind = ?2, payload = ?3, priority = ?4, state = ?5, attempts = ?6, \
         max_attempts = ?7, run_at = ?8, lease_worker = ?9, lease_until = ?10, due_at = ?11, \
         fence = ?12, unique_key = ?13, last_error = ?14, created_at = ?15, updated_at = ?16, \
         finished_at = ?17 WHERE id = ?1"
    };
    c.prepare_cached(sql)
        .map_err(db)?
        .execute(params![
            j.id.to_string(),
            j.kind.as_str(),
            json(&j.payload)?,
            j.priority,
            j.state.as_str(),
            j.attempts,
            j.max_attempts,
            ts(&j.run_at),
            j.lease.as_ref().map(|l| l.worker.as_str()),
            j.lease.as_ref().map(|l| ts(&l.until)),
            opt_ts(&j.due_at()),
            i64_of(j.fence)?,
            j.unique_key,
            j.last_error,
            ts(&j.created_at),
            ts(&j.updated_at),
            opt_ts(&j.finished_at),
        ])
        .map_err(db)?;
    Ok(())
}

fn log_attempt(c: &Connection, a: &JobAttempt) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO job_log (job_id, fence, attempt, worker, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db)?
    .execute(params![
        a.job_id.to_string(),
        i64_of(a.fence)?,
        a.attempt,
        a.worker,
        ts(&a.started_at)
    ])
    .map_err(db)?;
    Ok(())
}

fn close_attempt(
    c: &Connection,
    id: JobId,
    fence: u64,
    outcome: AttemptOutcome,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> StoreResult<()> {
    c.prepare_cached(
        "UPDATE job_log SET finished_at = ?3, outcome = ?4, error = ?5 \
         WHERE job_id = ?1 AND fence = ?2 AND finished_at IS NULL",
    )
    .map_err(db)?
    .execute(params![
        id.to_string(),
        i64_of(fence)?,
        ts(&at),
        outcome.as_str(),
        error
    ])
    .map_err(db)?;
    Ok(())
}

/// Enqueues inside the caller's transaction: `enqueue_job`, and the outbox
/// of other writes.
pub(crate) fn enqueue(c: &Connection, j: &Job) -> StoreResult<Enqueued> {
    if let Some(key) = &j.unique_key
        && let Some(existing) = query_one(
            c,
            "SELECT id FROM job_queue WHERE unique_key = ?1",
            [key],
            |r| parse::<JobId>(r, "id"),
        )?
    {
        return Ok(Enqueued::Existing(existing));
    }
    // Under the write lock nothing can take the id between this read and
    // the insert.
    if query_one(
        c,
        "SELECT id FROM job_queue WHERE id = ?1",
        [j.id.to_string()],
        |r| parse::<JobId>(r, "id"),
    )?
    .is_some()
    {
        return Err(StoreError::exists(Entity::Job, j.id));
    }
    save(c, j, true)?;
    Ok(Enqueued::Created(j.id))
}

fn claim(c: &Connection, req: &ClaimRequest) -> StoreResult<Vec<Job>> {
    let kinds = match &req.kinds {
        Some(k) => Some(json(&k.iter().map(|k| k.as_str()).collect::<Vec<_>>())?),
        None => None,
    };
    let due = query_all(
        c,
        concat!(
            "SELECT ",
            cols!(),
            " FROM job_queue WHERE due_at IS NOT NULL AND due_at <= ?1 \
              AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2))) \
              ORDER BY priority DESC, due_at, id LIMIT ?3"
        ),
        params![ts(&req.now), kinds, req.limit],
        from_row,
    )?;
    let mut out = Vec::with_capacity(due.len());
    for job in due {
        if let Some((fence, outcome, at)) = lease::lost_attempt(&job, req.now) {
            close_attempt(c, job.id, fence, outcome, at, None)?;
        }
        match lease::claim(&job, &req.worker, req.now, req.lease) {
            Claimed::Run(next, attempt) => {
                save(c, &next, false)?;
                log_attempt(c, &attempt)?;
                out.push(next);
            }
            Claimed::Bury(next) => save(c, &next, false)?,
        }
    }
    Ok(out)
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue_job(&self, job: &Job) -> StoreResult<Enqueued> {
        let job = job.clone();
        self.write(move |tx| enqueue(tx, &job)).await
    }

    async fn claim_jobs(&self, req: &ClaimRequest) -> StoreResult<Vec<Job>> {
        check_limit(req.limit)?;
        let req = req.clone();
        self.write(move |tx| claim(tx, &req)).await
    }

    async fn heartbeat_job(
        &self,
        id: JobId,
        fence: u64,
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> StoreResult<Job> {
        self.write(move |tx| {
            let next = lease::heartbeat(&load(tx, id)?, fence, now, lease_for)
                .map_err(|e| e.conflict(id))?;
            save(tx, &next, false)?;
            Ok(next)
        })
        .await
    }

    async fn finish_job(
        &self,
        id: JobId,
        fence: u64,
        outcome: &Outcome,
        completion: &Completion,
    ) -> StoreResult<Job> {
        let (outcome, completion) = (outcome.clone(), *completion);
        self.write(move |tx| {
            let (next, logged) = lease::finish(&load(tx, id)?, fence, &outcome, &completion)
                .map_err(|e| e.conflict(id))?;
            let error = match &outcome {
                Outcome::Failed { .. } => next.last_error.as_deref(),
                _ => None,
            };
            close_attempt(tx, id, fence, logged, completion.now, error)?;
            save(tx, &next, false)?;
            Ok(next)
        })
        .await
    }

    async fn command_job(
        &self,
        id: JobId,
        command: Command,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<Job> {
        self.audited(audit, move |tx| {
            let (next, ended) =
                lease::command(&load(tx, id)?, command, now).map_err(|e| e.conflict(id))?;
            if let Some((fence, outcome)) = ended {
                close_attempt(tx, id, fence, outcome, now, None)?;
            }
            save(tx, &next, false)?;
            Ok(next)
        })
        .await
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        self.read(move |c| match load(c, id) {
            Ok(j) => Ok(Some(j)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn jobs(&self, query: &JobQuery) -> StoreResult<Listing<Job>> {
        check_limit(query.limit)?;
        let q = query.clone();
        self.read(move |c| {
            let (after_at, after_key) = match &q.after {
                Some(a) => (Some(ts(&a.at())), Some(a.key().to_owned())),
                None => (None, None),
            };
            let rows = query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM job_queue WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR kind = ?2) \
                      AND (?3 IS NULL OR created_at >= ?3) AND (?4 IS NULL OR created_at < ?4) \
                      AND (?5 IS NULL OR (created_at, id) < (?5, ?6)) \
                      ORDER BY created_at DESC, id DESC LIMIT ?7"
                ),
                params![
                    q.state.map(|s| s.as_str()),
                    q.kind.as_ref().map(|k| k.as_str()),
                    opt_ts(&q.since),
                    opt_ts(&q.until),
                    after_at,
                    after_key,
                    i64::from(q.limit) + 1,
                ],
                from_row,
            )?;
            let keyed = rows.into_iter().map(|j| (JobQuery::key(&j), j)).collect();
            Ok(Listing::from_sorted(keyed, q.limit))
        })
        .await
    }

    async fn job_attempts(&self, id: JobId) -> StoreResult<Vec<JobAttempt>> {
        self.read(move |c| {
            query_all(
                c,
                "SELECT job_id, fence, attempt, worker, started_at, finished_at, outcome, error \
                 FROM job_log WHERE job_id = ?1 ORDER BY fence",
                [id.to_string()],
                attempt_from_row,
            )
        })
        .await
    }

    async fn purge_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |tx| {
            // Job::purgeable, in SQL; the log goes with its job (cascade).
            let n = tx
                .prepare_cached(
                    "DELETE FROM job_queue WHERE state IN ('succeeded', 'cancelled') \
                     AND finished_at < ?1",
                )
                .map_err(db)?
                .execute([ts(&before)])
                .map_err(db)?;
            Ok(n as u64)
        })
        .await
    }
}
