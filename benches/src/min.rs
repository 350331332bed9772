//! The `*-min` baselines: the least SQL that does a download's job
//! correctly, on a schema of its own that stays frozen, so that improving
//! the vault's schema can never move the baseline.
//!
//! The job, as the vault does it: the access read (the workflow and its
//! file, whether a completed purchase of the user covers the workflow,
//! directly or through a bundle, with room under its download limit,
//! whether a live membership of a high enough tier does, whether the user
//! downloaded it before), then the guarded write (the purchase's counter
//! incremented only while under its limit, one download row, the
//! workflow's, file's and category's download counters and the day's
//! rollup). Same data as the vault's bench world ([`crate::spec`]), same
//! durability settings ([`crate::pg::session`] on PostgreSQL, the store's
//! `synchronous = FULL` WAL default on SQLite).
//!
//! What makes it minimal, and what the vault may learn from:
//! * one statement for the access read (subqueries in one `SELECT`), on
//!   PostgreSQL one round trip;
//! * on PostgreSQL the whole write is one statement (data-modifying CTEs),
//!   so one round trip and its commit;
//! * counters live in narrow rows nothing indexes (`workflow_stats`, the
//!   file row, `categories`), so PostgreSQL updates them HOT;
//! * download rows take an integer identity key, appended at the index's
//!   right edge, where a random UUID lands anywhere in it.
//!
//! Never edit [`SQLITE_SCHEMA`] or [`PG_SCHEMA`] to follow the vault: the
//! point of this baseline is that it does not move.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection};
use vault_core::value::tier::PricingTier;

use crate::scale::Scale;
use crate::spec;

/// The frozen SQLite schema.
pub const SQLITE_SCHEMA: &str = "
CREATE TABLE categories (id INTEGER PRIMARY KEY, downloads INTEGER NOT NULL DEFAULT 0);
CREATE TABLE workflows (
    id TEXT PRIMARY KEY, category_id INTEGER NOT NULL REFERENCES categories (id),
    status TEXT NOT NULL, tier INTEGER NOT NULL, published_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE workflow_stats (
    workflow_id TEXT PRIMARY KEY REFERENCES workflows (id), downloads INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE files (
    id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL REFERENCES workflows (id),
    version TEXT NOT NULL, released_at TEXT NOT NULL, downloads INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX files_workflow ON files (workflow_id);
CREATE TABLE purchases (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL,
    download_limit INTEGER, downloads_used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX purchases_user ON purchases (user_id);
CREATE TABLE purchase_items (
    purchase_id TEXT NOT NULL REFERENCES purchases (id),
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    PRIMARY KEY (purchase_id, workflow_id)
) WITHOUT ROWID;
CREATE INDEX purchase_items_workflow ON purchase_items (workflow_id);
CREATE TABLE memberships (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL, tier INTEGER NOT NULL,
    period_start TEXT NOT NULL, period_end TEXT NOT NULL, download_limit INTEGER,
    period_downloads_used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_id);
CREATE TABLE downloads (
    id INTEGER PRIMARY KEY, user_id TEXT, workflow_id TEXT NOT NULL, file_id TEXT NOT NULL,
    file_version TEXT NOT NULL, source TEXT NOT NULL, purchase_id TEXT, membership_id TEXT,
    ip_hash TEXT, user_agent TEXT, downloaded_at TEXT NOT NULL
);
CREATE INDEX downloads_user ON downloads (user_id, workflow_id);
CREATE INDEX downloads_workflow ON downloads (workflow_id, downloaded_at);
CREATE TABLE daily (
    workflow_id TEXT NOT NULL, day TEXT NOT NULL, downloads INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, day)
) WITHOUT ROWID;
";

/// The frozen PostgreSQL schema.
pub const PG_SCHEMA: &str = "
CREATE TABLE categories (id INT PRIMARY KEY, downloads BIGINT NOT NULL DEFAULT 0);
CREATE TABLE workflows (
    id UUID PRIMARY KEY, category_id INT NOT NULL REFERENCES categories (id),
    status TEXT NOT NULL, tier INT NOT NULL, published_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE workflow_stats (
    workflow_id UUID PRIMARY KEY REFERENCES workflows (id), downloads BIGINT NOT NULL
);
CREATE TABLE files (
    id UUID PRIMARY KEY, workflow_id UUID NOT NULL REFERENCES workflows (id),
    version TEXT NOT NULL, released_at TIMESTAMPTZ NOT NULL, downloads BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX files_workflow ON files (workflow_id);
CREATE TABLE purchases (
    id UUID PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL,
    download_limit BIGINT, downloads_used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX purchases_user ON purchases (user_id);
CREATE TABLE purchase_items (
    purchase_id UUID NOT NULL REFERENCES purchases (id),
    workflow_id UUID NOT NULL REFERENCES workflows (id),
    PRIMARY KEY (purchase_id, workflow_id)
);
CREATE INDEX purchase_items_workflow ON purchase_items (workflow_id);
CREATE TABLE memberships (
    id UUID PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL, tier INT NOT NULL,
    period_start TIMESTAMPTZ NOT NULL, period_end TIMESTAMPTZ NOT NULL, download_limit BIGINT,
    period_downloads_used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE TABLE downloads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id TEXT, workflow_id UUID NOT NULL,
    file_id UUID NOT NULL, file_version TEXT NOT NULL, source TEXT NOT NULL, purchase_id UUID,
    membership_id UUID, ip_hash TEXT, user_agent TEXT, downloaded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX downloads_user ON downloads (user_id, workflow_id);
CREATE INDEX downloads_workflow ON downloads (workflow_id, downloaded_at);
CREATE TABLE daily (
    workflow_id UUID NOT NULL, day DATE NOT NULL, downloads BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, day)
);
";

/// The access read, one statement: ?1 user, ?2 workflow, ?3 file, ?4 now.
/// Returns the category, the covering purchase with room (if any), the
/// covering membership with room (if any), and "downloaded before".
const SQLITE_ACCESS: &str = "
SELECT w.category_id,
  (SELECT p.id FROM purchases p JOIN purchase_items i ON i.purchase_id = p.id
    WHERE p.user_id = ?1 AND i.workflow_id = w.id AND p.status = 'completed'
      AND (p.download_limit IS NULL OR p.downloads_used < p.download_limit) LIMIT 1),
  (SELECT m.id FROM memberships m
    WHERE m.user_id = ?1 AND m.status IN ('active', 'trialing') AND m.tier >= w.tier
      AND m.period_start <= ?4 AND m.period_end > ?4
      AND (m.download_limit IS NULL OR m.period_downloads_used < m.download_limit) LIMIT 1),
  EXISTS (SELECT 1 FROM downloads d WHERE d.user_id = ?1 AND d.workflow_id = w.id)
FROM workflows w JOIN files f ON f.id = ?3 AND f.workflow_id = w.id
WHERE w.id = ?2 AND w.status = 'published' AND w.published_at <= ?4 AND f.released_at <= ?4";

/// The same access read on PostgreSQL ($1..$4).
const PG_ACCESS: &str = "
SELECT w.category_id,
  (SELECT p.id FROM purchases p JOIN purchase_items i ON i.purchase_id = p.id
    WHERE p.user_id = $1 AND i.workflow_id = w.id AND p.status = 'completed'
      AND (p.download_limit IS NULL OR p.downloads_used < p.download_limit) LIMIT 1),
  (SELECT m.id FROM memberships m
    WHERE m.user_id = $1 AND m.status IN ('active', 'trialing') AND m.tier >= w.tier
      AND m.period_start <= $4 AND m.period_end > $4
      AND (m.download_limit IS NULL OR m.period_downloads_used < m.download_limit) LIMIT 1),
  EXISTS (SELECT 1 FROM downloads d WHERE d.user_id = $1 AND d.workflow_id = w.id)
FROM workflows w JOIN files f ON f.id = $3 AND f.workflow_id = w.id
WHERE w.id = $2 AND w.status = 'published' AND w.published_at <= $4 AND f.released_at <= $4";

/// The whole guarded write through a purchase, one statement: $1 purchase,
/// $2 user, $3 workflow, $4 file, $5 version, $6 ip hash, $7 user agent,
/// $8 now, $9 day, $10 category. Returns 1 when charged and recorded, 0
/// when the guard refused (then nothing was written).
const PG_DOWNLOAD: &str = "
WITH charged AS (
  UPDATE purchases SET downloads_used = downloads_used + 1
  WHERE id = $1 AND user_id = $2 AND status = 'completed'
    AND (download_limit IS NULL OR downloads_used < download_limit)
  RETURNING id
), recorded AS (
  INSERT INTO downloads (user_id, workflow_id, file_id, file_version, source, purchase_id,
                         ip_hash, user_agent, downloaded_at)
  SELECT $2, $3, $4, $5, 'purchase', id, $6, $7, $8 FROM charged
  RETURNING workflow_id
), w AS (
  UPDATE workflow_stats SET downloads = downloads + 1
  WHERE workflow_id = $3 AND EXISTS (SELECT 1 FROM recorded)
), f AS (
  UPDATE files SET downloads = downloads + 1 WHERE id = $4 AND EXISTS (SELECT 1 FROM recorded)
), c AS (
  UPDATE categories SET downloads = downloads + 1 WHERE id = $10 AND EXISTS (SELECT 1 FROM recorded)
), d AS (
  INSERT INTO daily (workflow_id, day, downloads) SELECT workflow_id, $9, 1 FROM recorded
  ON CONFLICT (workflow_id, day) DO UPDATE SET downloads = daily.downloads + 1
)
SELECT count(*) FROM recorded";

/// Who downloads what: a target of the bench world, by index.
#[derive(Clone, Debug)]
pub struct MinTarget {
    /// The user.
    pub user: String,
    /// The workflow.
    pub workflow: uuid::Uuid,
    /// Its primary file.
    pub file: uuid::Uuid,
    /// The file's version.
    pub version: String,
    /// The request's salted IP hash and user agent, as the vault stores them.
    pub ip_hash: Option<String>,
    /// The request's user agent.
    pub user_agent: Option<String>,
}

impl MinTarget {
    /// Target `u` of [`spec`] (its purchase has a limit never reached).
    pub fn new(u: usize, ip_hash: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            user: spec::user(u),
            workflow: spec::workflow_id(u).as_uuid(),
            file: spec::file_id(u).as_uuid(),
            version: "1.0.0".into(),
            ip_hash,
            user_agent,
        }
    }
}

/// What the access read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinAccess {
    /// The workflow's category (the download's category counter).
    pub category: i64,
    /// A covering purchase with room, if any.
    pub purchase: Option<String>,
    /// A covering membership with room, if any.
    pub membership: Option<String>,
    /// Whether the user downloaded the workflow before.
    pub downloaded_before: bool,
}

/// A tier as the frozen schemas store it: its rank, lowest first.
pub fn tier_rank(t: PricingTier) -> i64 {
    PricingTier::ALL.iter().position(|x| *x == t).unwrap_or(0) as i64
}

fn ts(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Rows of the frozen schema for `scale`, from [`spec`].
struct Rows {
    workflows: Vec<(uuid::Uuid, i64, i64, DateTime<Utc>)>,
    files: Vec<(uuid::Uuid, uuid::Uuid, DateTime<Utc>)>,
    purchases: Vec<(uuid::Uuid, String, i64, uuid::Uuid)>,
    memberships: Vec<(uuid::Uuid, String, DateTime<Utc>, DateTime<Utc>)>,
    downloads: Vec<(String, uuid::Uuid, uuid::Uuid, uuid::Uuid, DateTime<Utc>)>,
}

fn rows(scale: &Scale, epoch: DateTime<Utc>) -> Rows {
    let workflows = (0..scale.workflows)
        .map(|i| {
            (
                spec::workflow_id(i).as_uuid(),
                spec::category(i) as i64,
                tier_rank(spec::tier(i)),
                spec::published_at(epoch, i),
            )
        })
        .collect::<Vec<_>>();
    let files = (0..scale.workflows)
        .map(|i| {
            (
                spec::file_id(i).as_uuid(),
                spec::workflow_id(i).as_uuid(),
                spec::published_at(epoch, i),
            )
        })
        .collect();
    let purchases = (0..scale.purchases)
        .map(|n| {
            (
                spec::purchase_id(n).as_uuid(),
                spec::user(spec::buyer(n)),
                i64::from(spec::purchase_limit(n)),
                spec::workflow_id(spec::purchased_workflow(scale, n)).as_uuid(),
            )
        })
        .collect::<Vec<_>>();
    let memberships = spec::members(scale)
        .map(|u| {
            (
                spec::membership_id(u).as_uuid(),
                spec::user(u),
                epoch - Duration::days(10),
                epoch + Duration::days(20),
            )
        })
        .collect();
    let downloads = (0..scale.downloads())
        .map(|d| {
            let n = spec::downloaded_purchase(d);
            let w = spec::purchased_workflow(scale, n);
            (
                spec::user(spec::buyer(n)),
                spec::workflow_id(w).as_uuid(),
                spec::file_id(w).as_uuid(),
                spec::purchase_id(n).as_uuid(),
                epoch - Duration::seconds(d as i64 + 1),
            )
        })
        .collect();
    Rows {
        workflows,
        files,
        purchases,
        memberships,
        downloads,
    }
}

/// The SQLite `*-min` side: one connection, as the store's writer.
#[derive(Debug)]
pub struct MinSqlite {
    conn: Mutex<Connection>,
}

impl MinSqlite {
    /// Creates the frozen schema at `path` (a fresh file) and loads
    /// `scale`'s rows; `synchronous` is `FULL` (the store's default) or
    /// `NORMAL`.
    pub fn create(
        path: &Path,
        scale: &Scale,
        epoch: DateTime<Utc>,
        synchronous: &str,
    ) -> rusqlite::Result<Self> {
        let mut c = Connection::open(path)?;
        c.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        c.pragma_update(None, "synchronous", synchronous)?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        let r = rows(scale, epoch);
        let tx = c.transaction()?;
        tx.execute_batch(SQLITE_SCHEMA)?;
        for id in 0..9 {
            tx.execute("INSERT INTO categories (id) VALUES (?1)", [id])?;
        }
        for (i, (id, cat, tier, at)) in r.workflows.iter().enumerate() {
            let id = id.to_string();
            tx.prepare_cached("INSERT INTO workflows VALUES (?1, ?2, 'published', ?3, ?4)")?
                .execute(params![id, cat, tier, ts(at)])?;
            tx.prepare_cached("INSERT INTO workflow_stats VALUES (?1, ?2)")?
                .execute(params![id, spec::downloads(i) as i64])?;
        }
        for (id, wf, at) in &r.files {
            tx.prepare_cached("INSERT INTO files (id, workflow_id, version, released_at) VALUES (?1, ?2, '1.0.0', ?3)")?
                .execute(params![id.to_string(), wf.to_string(), ts(at)])?;
        }
        for (id, user, limit, wf) in &r.purchases {
            let id = id.to_string();
            tx.prepare_cached("INSERT INTO purchases (id, user_id, status, download_limit) VALUES (?1, ?2, 'completed', ?3)")?
                .execute(params![id, user, limit])?;
            tx.prepare_cached("INSERT INTO purchase_items VALUES (?1, ?2)")?
                .execute(params![id, wf.to_string()])?;
        }
        let top = tier_rank(PricingTier::Premium);
        for (id, user, start, end) in &r.memberships {
            tx.prepare_cached("INSERT INTO memberships (id, user_id, status, tier, period_start, period_end, download_limit) VALUES (?1, ?2, 'active', ?3, ?4, ?5, 100)")?
                .execute(params![id.to_string(), user, top, ts(start), ts(end)])?;
        }
        for (user, wf, file, purchase, at) in &r.downloads {
            tx.prepare_cached("INSERT INTO downloads (user_id, workflow_id, file_id, file_version, source, purchase_id, downloaded_at) VALUES (?1, ?2, ?3, '1.0.0', 'purchase', ?4, ?5)")?
                .execute(params![user, wf.to_string(), file.to_string(), purchase.to_string(), ts(at)])?;
        }
        tx.commit()?;
        // No ANALYZE, as the store runs none: rusqlite's bundled SQLite is
        // built with STAT4, and once `sqlite_stat4` holds samples, every
        // statement whose plan used a bound value is prepared again on
        // each new binding (measured: a two-table lookup at ~9 µs instead
        // of ~1.5 µs, the parser and planner on top of the profile).
        Ok(Self {
            conn: Mutex::new(c),
        })
    }

    fn access_on(c: &Connection, t: &MinTarget, now: &str) -> rusqlite::Result<Option<MinAccess>> {
        c.prepare_cached(SQLITE_ACCESS)?
            .query_row(
                params![t.user, t.workflow.to_string(), t.file.to_string(), now],
                |r| {
                    Ok(MinAccess {
                        category: r.get(0)?,
                        purchase: r.get(1)?,
                        membership: r.get(2)?,
                        downloaded_before: r.get(3)?,
                    })
                },
            )
            .optional()
    }

    /// The access read alone.
    pub fn check_access(
        &self,
        t: &MinTarget,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Option<MinAccess>> {
        let c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Self::access_on(&c, t, &ts(&now))
    }

    /// The access read, then the guarded write through the covering
    /// purchase ([`MinSqlite::write`]). Whether it was recorded (false: no
    /// access or the limit was reached; nothing written).
    pub fn download(&self, t: &MinTarget, now: DateTime<Utc>) -> rusqlite::Result<bool> {
        let access = {
            let c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            Self::access_on(&c, t, &ts(&now))?
        };
        match access {
            Some(MinAccess {
                purchase: Some(purchase),
                category,
                ..
            }) => self.write(t, &purchase, category, now),
            _ => Ok(false),
        }
    }

    /// The guarded write alone, in one `BEGIN IMMEDIATE` transaction: the
    /// purchase's counter (only while under its limit), the download row,
    /// the workflow's, file's and category's counters and the day's rollup.
    pub fn write(
        &self,
        t: &MinTarget,
        purchase: &str,
        category: i64,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<bool> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let at = ts(&now);
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Checked again under the write lock: another writer may have
        // taken the last download since the read.
        let charged = tx
            .prepare_cached(
                "UPDATE purchases SET downloads_used = downloads_used + 1 \
                 WHERE id = ?1 AND user_id = ?2 AND status = 'completed' \
                 AND (download_limit IS NULL OR downloads_used < download_limit)",
            )?
            .execute(params![purchase, t.user])?;
        if charged == 0 {
            return Ok(false);
        }
        let wf = t.workflow.to_string();
        tx.prepare_cached(
            "INSERT INTO downloads (user_id, workflow_id, file_id, file_version, source, \
             purchase_id, ip_hash, user_agent, downloaded_at) \
             VALUES (?1, ?2, ?3, ?4, 'purchase', ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            t.user,
            wf,
            t.file.to_string(),
            t.version,
            purchase,
            t.ip_hash,
            t.user_agent,
            at
        ])?;
        tx.prepare_cached(
            "UPDATE workflow_stats SET downloads = downloads + 1 WHERE workflow_id = ?1",
        )?
        .execute([&wf])?;
        tx.prepare_cached("UPDATE files SET downloads = downloads + 1 WHERE id = ?1")?
            .execute([t.file.to_string()])?;
        tx.prepare_cached("UPDATE categories SET downloads = downloads + 1 WHERE id = ?1")?
            .execute([category])?;
        tx.prepare_cached(
            "INSERT INTO daily (workflow_id, day, downloads) VALUES (?1, ?2, 1) \
             ON CONFLICT (workflow_id, day) DO UPDATE SET downloads = downloads + 1",
        )?
        .execute(params![wf, &at[..10]])?;
        tx.commit()?;
        Ok(true)
    }

    /// Downloads recorded at or after `since` and the day rollups' sum:
    /// equal when every download moved its rollup (checked by the bench).
    pub fn counts(&self, since: DateTime<Utc>) -> rusqlite::Result<(i64, i64)> {
        let c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let rows: i64 = c.query_row(
            "SELECT count(*) FROM downloads WHERE downloaded_at >= ?1",
            [ts(&since)],
            |r| r.get(0),
        )?;
        let daily: i64 = c.query_row("SELECT coalesce(sum(downloads), 0) FROM daily", [], |r| {
            r.get(0)
        })?;
        Ok((rows, daily))
    }
}

/// The PostgreSQL `*-min` side: one plain connection.
#[derive(Debug)]
pub struct MinPg {
    conn: PgConnection,
}

impl MinPg {
    /// Creates the frozen schema in the (fresh) database `options` names
    /// and loads `scale`'s rows.
    pub async fn create(
        options: &PgConnectOptions,
        scale: &Scale,
        epoch: DateTime<Utc>,
    ) -> sqlx::Result<Self> {
        let mut c = PgConnection::connect_with(options).await?;
        let r = rows(scale, epoch);
        let mut tx = c.begin().await?;
        sqlx::raw_sql(PG_SCHEMA).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO categories (id) SELECT generate_series(0, 8)")
            .execute(&mut *tx)
            .await?;
        let (ids, cats, tiers, ats): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = unzip4(&r.workflows);
        sqlx::query(
            "INSERT INTO workflows (id, category_id, status, tier, published_at) \
             SELECT id, cat, 'published', tier, at FROM unnest($1::uuid[], $2::int[], $3::int[], $4::timestamptz[]) AS t(id, cat, tier, at)",
        )
        .bind(&ids)
        .bind(cats.iter().map(|c| *c as i32).collect::<Vec<_>>())
        .bind(tiers.iter().map(|t| *t as i32).collect::<Vec<_>>())
        .bind(&ats)
        .execute(&mut *tx)
        .await?;
        let counts: Vec<i64> = (0..ids.len()).map(|i| spec::downloads(i) as i64).collect();
        sqlx::query("INSERT INTO workflow_stats SELECT * FROM unnest($1::uuid[], $2::bigint[])")
            .bind(&ids)
            .bind(&counts)
            .execute(&mut *tx)
            .await?;
        let (fids, fwfs, fats): (Vec<_>, Vec<_>, Vec<_>) = (
            r.files.iter().map(|f| f.0).collect(),
            r.files.iter().map(|f| f.1).collect(),
            r.files.iter().map(|f| f.2).collect(),
        );
        sqlx::query(
            "INSERT INTO files (id, workflow_id, version, released_at) \
             SELECT id, wf, '1.0.0', at FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS t(id, wf, at)",
        )
        .bind(&fids)
        .bind(&fwfs)
        .bind(&fats)
        .execute(&mut *tx)
        .await?;
        let (pids, users, limits, pwfs): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = unzip4(&r.purchases);
        sqlx::query(
            "INSERT INTO purchases (id, user_id, status, download_limit) \
             SELECT id, u, 'completed', l FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS t(id, u, l)",
        )
        .bind(&pids)
        .bind(&users)
        .bind(&limits)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO purchase_items SELECT * FROM unnest($1::uuid[], $2::uuid[])")
            .bind(&pids)
            .bind(&pwfs)
            .execute(&mut *tx)
            .await?;
        let (mids, musers, starts, ends): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = unzip4(&r.memberships);
        sqlx::query(
            "INSERT INTO memberships (id, user_id, status, tier, period_start, period_end, download_limit) \
             SELECT id, u, 'active', $5, s, e, 100 \
             FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS t(id, u, s, e)",
        )
        .bind(&mids)
        .bind(&musers)
        .bind(&starts)
        .bind(&ends)
        .bind(tier_rank(PricingTier::Premium) as i32)
        .execute(&mut *tx)
        .await?;
        let (dusers, dwfs, dfiles, dps, dats): (Vec<_>, Vec<_>, Vec<_>, Vec<_>, Vec<_>) = (
            r.downloads.iter().map(|d| d.0.clone()).collect(),
            r.downloads.iter().map(|d| d.1).collect(),
            r.downloads.iter().map(|d| d.2).collect(),
            r.downloads.iter().map(|d| d.3).collect(),
            r.downloads.iter().map(|d| d.4).collect(),
        );
        sqlx::query(
            "INSERT INTO downloads (user_id, workflow_id, file_id, file_version, source, purchase_id, downloaded_at) \
             SELECT u, w, f, '1.0.0', 'purchase', p, at \
             FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[]) AS t(u, w, f, p, at)",
        )
        .bind(&dusers)
        .bind(&dwfs)
        .bind(&dfiles)
        .bind(&dps)
        .bind(&dats)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        sqlx::raw_sql("ANALYZE").execute(&mut c).await?;
        Ok(Self { conn: c })
    }

    /// Another connection to the same database (for concurrent clients).
    pub async fn connect(options: &PgConnectOptions) -> sqlx::Result<Self> {
        Ok(Self {
            conn: PgConnection::connect_with(options).await?,
        })
    }

    /// The access read alone: one round trip.
    pub async fn check_access(
        &mut self,
        t: &MinTarget,
        now: DateTime<Utc>,
    ) -> sqlx::Result<Option<MinAccess>> {
        let row: Option<(i32, Option<uuid::Uuid>, Option<uuid::Uuid>, bool)> =
            sqlx::query_as(PG_ACCESS)
                .bind(&t.user)
                .bind(t.workflow)
                .bind(t.file)
                .bind(now)
                .fetch_optional(&mut self.conn)
                .await?;
        Ok(row.map(|(category, p, m, before)| MinAccess {
            category: i64::from(category),
            purchase: p.map(|p| p.to_string()),
            membership: m.map(|m| m.to_string()),
            downloaded_before: before,
        }))
    }

    /// The access read, then the whole guarded write in one statement: two
    /// round trips. Whether it was recorded.
    pub async fn download(&mut self, t: &MinTarget, now: DateTime<Utc>) -> sqlx::Result<bool> {
        let Some(access) = self.check_access(t, now).await? else {
            return Ok(false);
        };
        let Some(purchase) = access.purchase else {
            return Ok(false);
        };
        let purchase: uuid::Uuid = purchase
            .parse()
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        self.write(t, purchase, access.category, now).await
    }

    /// The guarded write alone (the anchor's "least SQL": one statement,
    /// one round trip, one commit).
    pub async fn write(
        &mut self,
        t: &MinTarget,
        purchase: uuid::Uuid,
        category: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<bool> {
        let n: i64 = sqlx::query_scalar(PG_DOWNLOAD)
            .bind(purchase)
            .bind(&t.user)
            .bind(t.workflow)
            .bind(t.file)
            .bind(&t.version)
            .bind(&t.ip_hash)
            .bind(&t.user_agent)
            .bind(now)
            .bind(now.date_naive())
            .bind(category as i32)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(n == 1)
    }

    /// Downloads recorded and the day rollups' sum (see
    /// [`MinSqlite::counts`]).
    pub async fn counts(&mut self, since: DateTime<Utc>) -> sqlx::Result<(i64, i64)> {
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM downloads WHERE downloaded_at >= $1), \
             (SELECT coalesce(sum(downloads), 0)::bigint FROM daily)",
        )
        .bind(since)
        .fetch_one(&mut self.conn)
        .await
    }
}

fn unzip4<A: Clone, B: Clone, C: Clone, D: Clone>(
    v: &[(A, B, C, D)],
) -> (Vec<A>, Vec<B>, Vec<C>, Vec<D>) {
    (
        v.iter().map(|x| x.0.clone()).collect(),
        v.iter().map(|x| x.1.clone()).collect(),
        v.iter().map(|x| x.2.clone()).collect(),
        v.iter().map(|x| x.3.clone()).collect(),
    )
}
