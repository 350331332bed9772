//! The job queue's raw baselines: the statements the SQLite and PostgreSQL
//! stores issue to enqueue, claim (a batch: read the due jobs, then per job
//! update its row and insert its log row) and complete (read the job, close
//! its log row, update the job), through plain rusqlite (one writer
//! connection behind a lock, `BEGIN IMMEDIATE`, WAL, `synchronous = FULL`,
//! as the store) or one plain sqlx connection per worker (`FOR UPDATE SKIP
//! LOCKED`), on a database the store migrated, without the store's
//! decoding, rules and checks.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection, Row};
use uuid::Uuid;

fn ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

const SQLITE_INSERT: &str = "INSERT INTO job_queue (id, kind, payload, priority, state, attempts, \
     max_attempts, run_at, lease_worker, lease_until, due_at, fence, unique_key, last_error, \
     created_at, updated_at, finished_at) VALUES (?1, ?2, ?3, 0, 'queued', 0, 5, ?4, NULL, NULL, \
     ?4, 0, NULL, NULL, ?4, ?4, NULL)";

/// The SQLite baseline: one writer connection, as the store has.
#[derive(Clone, Debug)]
pub struct RawJobsSqlite {
    writer: Arc<Mutex<Connection>>,
}

impl RawJobsSqlite {
    /// Opens the database at `path` (migrated by the store) as the store
    /// opens its writer.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let c = Connection::open(path)?;
        c.busy_timeout(Duration::from_secs(5))?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        c.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        c.pragma_update(None, "synchronous", "FULL")?;
        Ok(Self {
            writer: Arc::new(Mutex::new(c)),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Enqueues one job due at `now` (the store also looks for its unique
    /// key and id first; a job without a key: the id).
    pub fn enqueue(&self, id: Uuid, now: DateTime<Utc>) -> rusqlite::Result<()> {
        self.write(|c| {
            let id = id.to_string();
            let taken = c
                .prepare_cached("SELECT id FROM job_queue WHERE id = ?1")?
                .exists([&id])?;
            assert!(!taken);
            c.prepare_cached(SQLITE_INSERT)?
                .execute(params![id, "bench.job", "{}", ts(&now)])?;
            Ok(())
        })
    }

    /// Claims up to `limit` due jobs for `worker`: their ids and fences.
    pub fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> rusqlite::Result<Vec<(String, i64)>> {
        let lease = ts(&(now + chrono::Duration::seconds(30)));
        let now = ts(&now);
        self.write(|c| {
            let due: Vec<(String, i64, i64)> = c
                .prepare_cached(
                    "SELECT id, fence, attempts FROM job_queue WHERE due_at IS NOT NULL \
                     AND due_at <= ?1 ORDER BY priority DESC, due_at, id LIMIT ?2",
                )?
                .query_map(params![now, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            for (id, fence, attempts) in &due {
                c.prepare_cached(
                    "UPDATE job_queue SET state = 'running', attempts = ?2, fence = ?3, \
                     lease_worker = ?4, lease_until = ?5, due_at = ?5, run_at = ?6, \
                     updated_at = ?6 WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    attempts + 1,
                    fence + 1,
                    worker,
                    lease,
                    now
                ])?;
                c.prepare_cached(
                    "INSERT INTO job_log (job_id, fence, attempt, worker, started_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![id, fence + 1, attempts + 1, worker, now])?;
            }
            Ok(due.into_iter().map(|(id, f, _)| (id, f + 1)).collect())
        })
    }

    /// Completes a claimed job: reads it, closes its log row, marks it
    /// succeeded.
    pub fn complete(&self, id: &str, fence: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
        let now = ts(&now);
        self.write(|c| {
            let (held, state): (i64, String) = c
                .prepare_cached("SELECT fence, state FROM job_queue WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            assert!(held == fence && state == "running");
            c.prepare_cached(
                "UPDATE job_log SET finished_at = ?3, outcome = 'succeeded', error = NULL \
                 WHERE job_id = ?1 AND fence = ?2 AND finished_at IS NULL",
            )?
            .execute(params![id, fence, now])?;
            c.prepare_cached(
                "UPDATE job_queue SET state = 'succeeded', lease_worker = NULL, \
                 lease_until = NULL, due_at = NULL, updated_at = ?2, finished_at = ?2 \
                 WHERE id = ?1",
            )?
            .execute(params![id, now])?;
            Ok(())
        })
    }
}

/// The PostgreSQL baseline: one plain connection (a worker's).
#[derive(Debug)]
pub struct RawJobsPg {
    conn: PgConnection,
}

impl RawJobsPg {
    /// Connects with `options` (the bench session settings).
    pub async fn connect(options: &PgConnectOptions) -> sqlx::Result<Self> {
        Ok(Self {
            conn: PgConnection::connect_with(options).await?,
        })
    }

    /// Enqueues one job due at `now` (`ON CONFLICT (unique_key) DO
    /// NOTHING`, as the store).
    pub async fn enqueue(&mut self, id: Uuid, now: DateTime<Utc>) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO job_queue (id, kind, payload, priority, state, attempts, max_attempts, \
             run_at, lease_worker, lease_until, due_at, fence, unique_key, last_error, created_at, \
             updated_at, finished_at) VALUES ($1, 'bench.job', '{}', 0, 'queued', 0, 5, $2, NULL, \
             NULL, $2, 0, NULL, NULL, $2, $2, NULL) ON CONFLICT (unique_key) DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` due jobs for `worker`, skipping locked ones.
    pub async fn claim(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> sqlx::Result<Vec<(Uuid, i64)>> {
        let lease = now + chrono::Duration::seconds(30);
        let mut tx = self.conn.begin().await?;
        let due = sqlx::query(
            "SELECT id, fence, attempts FROM job_queue WHERE due_at IS NOT NULL AND due_at <= $1 \
             ORDER BY priority DESC, due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(due.len());
        for row in due {
            let (id, fence, attempts): (Uuid, i64, i32) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            sqlx::query(
                "UPDATE job_queue SET state = 'running', attempts = $2, fence = $3, \
                 lease_worker = $4, lease_until = $5, due_at = $5, run_at = $6, updated_at = $6 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(attempts + 1)
            .bind(fence + 1)
            .bind(worker)
            .bind(lease)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO job_log (job_id, fence, attempt, worker, started_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(fence + 1)
            .bind(attempts + 1)
            .bind(worker)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            out.push((id, fence + 1));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Completes a claimed job: locks and reads it, closes its log row,
    /// marks it succeeded.
    pub async fn complete(&mut self, id: Uuid, fence: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
        let mut tx = self.conn.begin().await?;
        let row = sqlx::query("SELECT fence, state FROM job_queue WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let (held, state): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        assert!(held == fence && state == "running");
        sqlx::query(
            "UPDATE job_log SET finished_at = $3, outcome = 'succeeded', error = NULL \
             WHERE job_id = $1 AND fence = $2 AND finished_at IS NULL",
        )
        .bind(id)
        .bind(fence)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE job_queue SET state = 'succeeded', lease_worker = NULL, lease_until = NULL, \
             due_at = NULL, updated_at = $2, finished_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
}
