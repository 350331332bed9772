//! The job queue (`job_queue`, `job_log`). A claim locks due rows with
//! `FOR UPDATE SKIP LOCKED`, so concurrent claimers take disjoint jobs
//! without waiting on each other; every state change is vault-core's
//! `jobs::lease`, written back in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use vault_core::audit::entry::AuditEntry;
use vault_core::jobs::job::{AttemptOutcome, Job, JobAttempt, JobId, JobLease};
use vault_core::jobs::lease::{self, Claimed, Command, Completion, Outcome};
use vault_core::store::{
    ClaimRequest, Enqueued, Entity, JobQuery, JobStore, StoreError, StoreResult,
};
use vault_core::value::keyset::{Listing, check_limit};
use vault_core::value::validation::{Reason, ValidationError};

use crate::codec::{db, decode, unique};
use crate::lease::on_conn;
use crate::{PgStore, write_tx};

macro_rules! cols {
    () => {
        "id, kind, payload, priority, state, attempts, max_attempts, run_at, lease_worker, \
         lease_until, due_at, fence, unique_key, last_error, created_at, updated_at, finished_at"
    };
}

fn corrupt(col: &str, e: impl std::fmt::Display) -> StoreError {
    db(format!("job_queue.{col}: {e}"))
}

fn from_row(row: &PgRow) -> StoreResult<Job> {
    decode("job_queue", || {
        let kind: String = row.try_get("kind").map_err(db)?;
        let state: String = row.try_get("state").map_err(db)?;
        let worker: Option<String> = row.try_get("lease_worker").map_err(db)?;
        let until: Option<DateTime<Utc>> = row.try_get("lease_until").map_err(db)?;
        let attempts: i32 = row.try_get("attempts").map_err(db)?;
        let max_attempts: i32 = row.try_get("max_attempts").map_err(db)?;
        let fence: i64 = row.try_get("fence").map_err(db)?;
        Ok(Job {
            id: JobId::from_uuid(row.try_get("id").map_err(db)?),
            kind: kind.parse().map_err(|e| corrupt("kind", e))?,
            payload: row.try_get("payload").map_err(db)?,
            priority: row.try_get("priority").map_err(db)?,
            state: state.parse().map_err(|e| corrupt("state", e))?,
            attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", e))?,
            max_attempts: u32::try_from(max_attempts).map_err(|e| corrupt("max_attempts", e))?,
            run_at: row.try_get("run_at").map_err(db)?,
            lease: match (worker, until) {
                (Some(worker), Some(until)) => Some(JobLease { worker, until }),
                _ => None,
            },
            fence: u64::try_from(fence).map_err(|e| corrupt("fence", e))?,
            unique_key: row.try_get("unique_key").map_err(db)?,
            last_error: row.try_get("last_error").map_err(db)?,
            created_at: row.try_get("created_at").map_err(db)?,
            updated_at: row.try_get("updated_at").map_err(db)?,
            finished_at: row.try_get("finished_at").map_err(db)?,
        })
    })
}

fn attempt_from_row(row: &PgRow) -> StoreResult<JobAttempt> {
    decode("job_log", || {
        let fence: i64 = row.try_get("fence").map_err(db)?;
        let attempt: i32 = row.try_get("attempt").map_err(db)?;
        let outcome: Option<String> = row.try_get("outcome").map_err(db)?;
        Ok(JobAttempt {
            job_id: JobId::from_uuid(row.try_get("job_id").map_err(db)?),
            fence: u64::try_from(fence).map_err(|e| corrupt("fence", e))?,
            attempt: u32::try_from(attempt).map_err(|e| corrupt("attempt", e))?,
            worker: row.try_get("worker").map_err(db)?,
            started_at: row.try_get("started_at").map_err(db)?,
            finished_at: row.try_get("finished_at").map_err(db)?,
            outcome: outcome
                .map(|o| o.parse::<AttemptOutcome>())
                .transpose()
                .map_err(|e| corrupt("outcome", e))?,
            error: row.try_get("error").map_err(db)?,
        })
    })
}

fn int(v: u32) -> StoreResult<i32> {
    i32::try_from(v).map_err(db)
}

fn big(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(db)
}

async fn locked(c: &mut PgConnection, id: JobId) -> StoreResult<Job> {
    sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM job_queue WHERE id = $1 FOR UPDATE"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *c)
    .await
    .map_err(db)?
    .as_ref()
    .map(from_row)
    .transpose()?
    .ok_or_else(|| StoreError::not_found(Entity::Job, id))
}

/// Writes `j` whole: a new row, or the row with its id.
async fn save(c: &mut PgConnection, j: &Job, insert: bool) -> StoreResult<u64> {
    let sql = if insert {
        concat!(
            "INSERT INTO job_queue (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (unique_key) DO NOTHING"
        )
    } else {
        "UPDATE job_queue SET kind = $2, payload = $3, priority = $4, state = $5, attempts = $6, \
         max_attempts = $7, run_at = $8, lease_worker = $9, lease_until = $10, due_at = $11, \
         fence = $12, unique_key = $13, last_error = $14, created_at = $15, updated_at = $16, \
         finished_at = $17 WHERE id = $1"
    };
    Ok(sqlx::query(sql)
        .bind(j.id.as_uuid())
        .bind(j.kind.as_str())
        .bind(&j.payload)
        .bind(j.priority)
        .bind(j.state.as_str())
        .bind(int(j.attempts)?)
        .bind(int(j.max_attempts)?)
        .bind(j.run_at)
        .bind(j.lease.as_ref().map(|l| l.worker.as_str()))
        .bind(j.lease.as_ref().map(|l| l.until))
        .bind(j.due_at())
        .bind(big(j.fence)?)
        .bind(&j.unique_key)
        .bind(&j.last_error)
        .bind(j.created_at)
        .bind(j.updated_at)
        .bind(j.finished_at)
        .execute(&mut *c)
        .await
        .map_err(unique(Entity::Job, j.id))?
        .rows_affected())
}

async fn close_attempt(
    c: &mut PgConnection,
    id: JobId,
    fence: u64,
    outcome: AttemptOutcome,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE job_log SET finished_at = $3, outcome = $4, error = $5 \
         WHERE job_id = $1 AND fence = $2 AND finished_at IS NULL",
    )
    .bind(id.as_uuid())
    .bind(big(fence)?)
    .bind(at)
    .bind(outcome.as_str())
    .bind(error)
    .execute(&mut *c)
    .await
    .map_err(db)?;
    Ok(())
}

/// Enqueues inside the caller's transaction: `enqueue_job`, and the outbox
/// of other writes. A racing enqueue with the same key waits for the
/// first to commit, inserts nothing, and reads the first one's id.
pub(crate) async fn enqueue(c: &mut PgConnection, j: &Job) -> StoreResult<Enqueued> {
    if save(c, j, true).await? == 1 {
        return Ok(Enqueued::Created(j.id));
    }
    let existing: uuid::Uuid = sqlx::query("SELECT id FROM job_queue WHERE unique_key = $1")
        .bind(&j.unique_key)
        .fetch_one(&mut *c)
        .await
        .map_err(db)?
        .try_get("id")
        .map_err(db)?;
    Ok(Enqueued::Existing(JobId::from_uuid(existing)))
}

async fn claim(c: &mut PgConnection, req: &ClaimRequest) -> StoreResult<Vec<Job>> {
    let kinds: Option<Vec<String>> = req
        .kinds
        .as_ref()
        .map(|k| k.iter().map(|k| k.as_str().to_owned()).collect());
    let due = sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM job_queue WHERE due_at IS NOT NULL AND due_at <= $1 \
          AND ($2::text[] IS NULL OR kind = ANY($2)) \
          ORDER BY priority DESC, due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED"
    ))
    .bind(req.now)
    .bind(kinds)
    .bind(i64::from(req.limit))
    .fetch_all(&mut *c)
    .await
    .map_err(db)?;
    let mut out = Vec::with_capacity(due.len());
    for row in &due {
        let job = from_row(row)?;
        if let Some((fence, outcome, at)) = lease::lost_attempt(&job, req.now) {
            close_attempt(c, job.id, fence, outcome, at, None).await?;
        }
        match lease::claim(&job, &req.worker, req.now, req.lease) {
            Claimed::Run(next, attempt) => {
                save(c, &next, false).await?;
                sqlx::query(
                    "INSERT INTO job_log (job_id, fence, attempt, worker, started_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(attempt.job_id.as_uuid())
                .bind(big(attempt.fence)?)
                .bind(int(attempt.attempt)?)
                .bind(&attempt.worker)
                .bind(attempt.started_at)
                .execute(&mut *c)
                .await
                .map_err(db)?;
                out.push(next);
            }
            Claimed::Bury(next) => {
                save(c, &next, false).await?;
            }
        }
    }
    Ok(out)
}

async fn heartbeat(
    c: &mut PgConnection,
    id: JobId,
    fence: u64,
    now: DateTime<Utc>,
    lease_for: Duration,
) -> StoreResult<Job> {
    let next = lease::heartbeat(&locked(c, id).await?, fence, now, lease_for)
        .map_err(|e| e.conflict(id))?;
    save(c, &next, false).await?;
    Ok(next)
}

async fn finish(
    c: &mut PgConnection,
    id: JobId,
    fence: u64,
    outcome: &Outcome,
    completion: &Completion,
) -> StoreResult<Job> {
    let (next, logged) = lease::finish(&locked(c, id).await?, fence, outcome, completion)
        .map_err(|e| e.conflict(id))?;
    let error = match outcome {
        Outcome::Failed { .. } => next.last_error.as_deref(),
        _ => None,
    };
    close_attempt(c, id, fence, logged, completion.now, error).await?;
    save(c, &next, false).await?;
    Ok(next)
}

async fn command(
    s: &PgStore,
    c: &mut PgConnection,
    id: JobId,
    cmd: Command,
    now: DateTime<Utc>,
    audit: &AuditEntry,
) -> StoreResult<Job> {
    let (next, ended) =
        lease::command(&locked(c, id).await?, cmd, now).map_err(|e| e.conflict(id))?;
    if let Some((fence, outcome)) = ended {
        close_attempt(c, id, fence, outcome, now, None).await?;
    }
    save(c, &next, false).await?;
    crate::audit::append_audit(s, c, audit).await?;
    Ok(next)
}

#[async_trait]
impl JobStore for PgStore {
    async fn enqueue_job(&self, job: &Job) -> StoreResult<Enqueued> {
        // One statement that commits by itself (and, on a taken key, a
        // read of the committed holder): no BEGIN and COMMIT round trips.
        on_conn!(self, |c| enqueue(c, job))
    }

    async fn claim_jobs(&self, req: &ClaimRequest) -> StoreResult<Vec<Job>> {
        check_limit(req.limit)?;
        write_tx!(self, |c| claim(c, req))
    }

    async fn heartbeat_job(
        &self,
        id: JobId,
        fence: u64,
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> StoreResult<Job> {
        write_tx!(self, |c| heartbeat(c, id, fence, now, lease_for))
    }

    async fn finish_job(
        &self,
        id: JobId,
        fence: u64,
        outcome: &Outcome,
        completion: &Completion,
    ) -> StoreResult<Job> {
        write_tx!(self, |c| finish(c, id, fence, outcome, completion))
    }

    async fn command_job(
        &self,
        id: JobId,
        cmd: Command,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<Job> {
        write_tx!(self, |c| command(self, c, id, cmd, now, audit))
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM job_queue WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(c))
        .map_err(db)?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn jobs(&self, query: &JobQuery) -> StoreResult<Listing<Job>> {
        check_limit(query.limit)?;
        let (after_at, after_id) = match &query.after {
            Some(a) => (
                Some(a.at()),
                Some(uuid::Uuid::parse_str(a.key()).map_err(|_| {
                    StoreError::Invalid(ValidationError::new(
                        "cursor",
                        Reason::Format {
                            expected: "a cursor returned by a previous page of jobs",
                        },
                    ))
                })?),
            ),
            None => (None, None),
        };
        let rows = on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM job_queue WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2) \
              AND ($3::timestamptz IS NULL OR created_at >= $3) \
              AND ($4::timestamptz IS NULL OR created_at < $4) \
              AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid)) \
              ORDER BY created_at DESC, id DESC LIMIT $7"
        ))
        .bind(query.state.map(|s| s.as_str()))
        .bind(query.kind.as_ref().map(|k| k.as_str()))
        .bind(query.since)
        .bind(query.until)
        .bind(after_at)
        .bind(after_id)
        .bind(i64::from(query.limit) + 1)
        .fetch_all(c))
        .map_err(db)?;
        let keyed = rows
            .iter()
            .map(|r| from_row(r).map(|j| (JobQuery::key(&j), j)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Listing::from_sorted(keyed, query.limit))
    }

    async fn job_attempts(&self, id: JobId) -> StoreResult<Vec<JobAttempt>> {
        let rows = on_conn!(self, |c| sqlx::query(
            "SELECT job_id, fence, attempt, worker, started_at, finished_at, outcome, error \
             FROM job_log WHERE job_id = $1 ORDER BY fence"
        )
        .bind(id.as_uuid())
        .fetch_all(c))
        .map_err(db)?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn purge_jobs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        // Job::purgeable, in SQL; the log goes with its job (cascade).
        write_tx!(self, |c| async move {
            Ok(sqlx::query(
                "DELETE FROM job_queue WHERE state IN ('succeeded', 'cancelled') \
                 AND finished_at < $1",
            )
            .bind(before)
            .execute(&mut *c)
            .await
            .map_err(db)?
            .rows_affected())
        })
    }
}
