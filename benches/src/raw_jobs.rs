//! The job queue's raw baselines: exactly the statements the SQLite and
//! PostgreSQL stores issue (the same SQL text, the same parameters, the
//! same columns read) to enqueue (the id check, the insert), claim (the
//! batch read, then per job its whole-row update and its log row) and
//! complete (the row read, its log row closed, the whole-row update),
//! through plain rusqlite (one writer connection behind a lock, `BEGIN
//! IMMEDIATE`, WAL, `synchronous = FULL`, as the store) or one plain sqlx
//! connection per worker; without the store's decoding, rules, spans and
//! hand-offs. Values are computed inline for the one case a bench runs (a
//! job that succeeds on its first attempt).

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

/// The lease the benches' claims take.
const LEASE: chrono::Duration = chrono::Duration::seconds(30);

macro_rules! cols {
    () => {
        "id, kind, payload, priority, state, attempts, max_attempts, run_at, lease_worker, \
         lease_until, due_at, fence, unique_key, last_error, created_at, updated_at, finished_at"
    };
}

const SQLITE_INSERT: &str = concat!(
    "INSERT INTO job_queue (",
    cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
);
const SQLITE_UPDATE: &str = "UPDATE job_queue SET kind = ?2, payload = ?3, priority = ?4, \
     state = ?5, attempts = ?6, max_attempts = ?7, run_at = ?8, lease_worker = ?9, \
     lease_until = ?10, due_at = ?11, fence = ?12, unique_key = ?13, last_error = ?14, \
     created_at = ?15, updated_at = ?16, finished_at = ?17 WHERE id = ?1";
const SQLITE_LOG: &str = "INSERT INTO job_log (job_id, fence, attempt, worker, started_at) \
     VALUES (?1, ?2, ?3, ?4, ?5)";
const SQLITE_CLOSE: &str = "UPDATE job_log SET finished_at = ?3, outcome = ?4, error = ?5 \
     WHERE job_id = ?1 AND fence = ?2 AND finished_at IS NULL";

/// The SQLite baseline: one writer connection, as the store has.
#[derive(Clone, Debug)]
pub struct RawJobsSqlite {
    writer: Arc<Mutex<Connection>>,
}

/// A job row as the baselines read it: every column, kept as text.
type SqliteJob = (String, i64, i64, String);

impl RawJobsSqlite {
    /// Opens the database at `path` (migrated by the store) as the store
    /// opens its writer.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let c = Connection::open(path)?;
        c.busy_timeout(Duration::from_secs(5))?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        c.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        c.pragma_update(None, "synchronous", "FULL")?;
        crate::raw::as_the_store(&c)?;
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

    /// Enqueues one job due at `now`, without a unique key.
    pub fn enqueue(&self, id: Uuid, now: DateTime<Utc>) -> rusqlite::Result<()> {
        self.write(|c| {
            let id = id.to_string();
            let taken = c
                .prepare_cached("SELECT id FROM job_queue WHERE id = ?1")?
                .exists([&id])?;
            assert!(!taken);
            let now = ts(&now);
            c.prepare_cached(SQLITE_INSERT)?.execute(params![
                id,
                "bench.job",
                "{}",
                0,
                "queued",
                0,
                5,
                now,
                None::<String>,
                None::<String>,
                now,
                0,
                None::<String>,
                None::<String>,
                now,
                now,
                None::<String>,
            ])?;
            Ok(())
        })
    }

    /// Reads every column of the rows `sql` selects; keeps what the next
    /// statements need.
    fn rows(
        c: &Connection,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> rusqlite::Result<Vec<SqliteJob>> {
        c.prepare_cached(sql)?
            .query_map(p, |r| {
                // Every column is read, as the store's decoding does.
                for i in 0..17 {
                    let _: rusqlite::types::Value = r.get(i)?;
                }
                Ok((r.get(0)?, r.get(5)?, r.get(11)?, r.get(14)?))
            })?
            .collect()
    }

    /// Claims up to `limit` due jobs for `worker`: their ids and fences.
    pub fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> rusqlite::Result<Vec<(String, i64)>> {
        let until = ts(&(now + LEASE));
        let now = ts(&now);
        self.write(|c| {
            let due = Self::rows(
                c,
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM job_queue WHERE due_at IS NOT NULL AND due_at <= ?1 \
                      AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2))) \
                      ORDER BY priority DESC, due_at, id LIMIT ?3"
                ),
                params![now, None::<String>, limit],
            )?;
            let mut out = Vec::with_capacity(due.len());
            for (id, attempts, fence, created) in due {
                c.prepare_cached(SQLITE_UPDATE)?.execute(params![
                    id,
                    "bench.job",
                    "{}",
                    0,
                    "running",
                    attempts + 1,
                    5,
                    now,
                    worker,
                    until,
                    until,
                    fence + 1,
                    None::<String>,
                    None::<String>,
                    created,
                    now,
                    None::<String>,
                ])?;
                c.prepare_cached(SQLITE_LOG)?.execute(params![
                    id,
                    fence + 1,
                    attempts + 1,
                    worker,
                    now
                ])?;
                out.push((id, fence + 1));
            }
            Ok(out)
        })
    }

    /// Completes a claimed job: reads it, closes its log row, writes it
    /// succeeded.
    pub fn complete(&self, id: &str, fence: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
        let now = ts(&now);
        self.write(|c| {
            let rows = Self::rows(
                c,
                concat!("SELECT ", cols!(), " FROM job_queue WHERE id = ?1"),
                [id],
            )?;
            let (_, attempts, held, created) = rows.into_iter().next().expect("the job");
            assert_eq!(held, fence);
            c.prepare_cached(SQLITE_CLOSE)?.execute(params![
                id,
                fence,
                now,
                "succeeded",
                None::<String>
            ])?;
            c.prepare_cached(SQLITE_UPDATE)?.execute(params![
                id,
                "bench.job",
                "{}",
                0,
                "succeeded",
                attempts,
                5,
                now,
                None::<String>,
                None::<String>,
                None::<String>,
                fence,
                None::<String>,
                None::<String>,
                created,
                now,
                now,
            ])?;
            Ok(())
        })
    }
}

const PG_UPDATE: &str = "UPDATE job_queue SET kind = $2, payload = $3, priority = $4, state = $5, \
     attempts = $6, max_attempts = $7, run_at = $8, lease_worker = $9, lease_until = $10, \
     due_at = $11, fence = $12, unique_key = $13, last_error = $14, created_at = $15, \
     updated_at = $16, finished_at = $17 WHERE id = $1";

/// The PostgreSQL baseline: one plain connection (a worker's).
#[derive(Debug)]
pub struct RawJobsPg {
    conn: PgConnection,
}

/// What a bench job's whole-row update binds.
struct PgRowValues<'a> {
    id: Uuid,
    state: &'a str,
    attempts: i32,
    run_at: DateTime<Utc>,
    worker: Option<&'a str>,
    until: Option<DateTime<Utc>>,
    fence: i64,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
    finished: Option<DateTime<Utc>>,
}

impl RawJobsPg {
    /// Connects with `options` (the bench session settings).
    pub async fn connect(options: &PgConnectOptions) -> sqlx::Result<Self> {
        Ok(Self {
            conn: PgConnection::connect_with(options).await?,
        })
    }

    /// Enqueues one job due at `now` (`ON CONFLICT (unique_key) DO
    /// NOTHING`, one self-committing statement, as the store).
    pub async fn enqueue(&mut self, id: Uuid, now: DateTime<Utc>) -> sqlx::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO job_queue (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (unique_key) DO NOTHING"
        ))
        .bind(id)
        .bind("bench.job")
        .bind(serde_json::json!({}))
        .bind(0i16)
        .bind("queued")
        .bind(0i32)
        .bind(5i32)
        .bind(now)
        .bind(None::<String>)
        .bind(None::<DateTime<Utc>>)
        .bind(Some(now))
        .bind(0i64)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(now)
        .bind(now)
        .bind(None::<DateTime<Utc>>)
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    async fn update(c: &mut PgConnection, v: PgRowValues<'_>) -> sqlx::Result<()> {
        sqlx::query(PG_UPDATE)
            .bind(v.id)
            .bind("bench.job")
            .bind(serde_json::json!({}))
            .bind(0i16)
            .bind(v.state)
            .bind(v.attempts)
            .bind(5i32)
            .bind(v.run_at)
            .bind(v.worker)
            .bind(v.until)
            .bind(v.until)
            .bind(v.fence)
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(v.created)
            .bind(v.now)
            .bind(v.finished)
            .execute(&mut *c)
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
        let mut tx = self.conn.begin().await?;
        let due = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM job_queue WHERE due_at IS NOT NULL AND due_at <= $1 \
              AND ($2::text[] IS NULL OR kind = ANY($2)) \
              ORDER BY priority DESC, due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED"
        ))
        .bind(now)
        .bind(None::<Vec<String>>)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(due.len());
        for row in due {
            let id: Uuid = row.try_get("id")?;
            let attempts: i32 = row.try_get("attempts")?;
            let fence: i64 = row.try_get("fence")?;
            let created: DateTime<Utc> = row.try_get("created_at")?;
            let v = PgRowValues {
                id,
                state: "running",
                attempts: attempts + 1,
                run_at: now,
                worker: Some(worker),
                until: Some(now + LEASE),
                fence: fence + 1,
                created,
                now,
                finished: None,
            };
            Self::update(&mut tx, v).await?;
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
    /// writes it succeeded.
    pub async fn complete(&mut self, id: Uuid, fence: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
        let mut tx = self.conn.begin().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM job_queue WHERE id = $1 FOR UPDATE"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let held: i64 = row.try_get("fence")?;
        assert_eq!(held, fence);
        sqlx::query(
            "UPDATE job_log SET finished_at = $3, outcome = $4, error = $5 \
             WHERE job_id = $1 AND fence = $2 AND finished_at IS NULL",
        )
        .bind(id)
        .bind(fence)
        .bind(now)
        .bind("succeeded")
        .bind(None::<String>)
        .execute(&mut *tx)
        .await?;
        let v = PgRowValues {
            id,
            state: "succeeded",
            attempts: row.try_get("attempts")?,
            run_at: row.try_get("run_at")?,
            worker: None,
            until: None,
            fence,
            created: row.try_get("created_at")?,
            now,
            finished: Some(now),
        };
        Self::update(&mut tx, v).await?;
        tx.commit().await
    }
}
