//! The raw baselines: the SQL statements `vault-store-sqlite` issues for each
//! benchmarked operation, issued directly through rusqlite with no vault
//! code around them, so a vault figure divided by its raw figure is the
//! vault's overhead.
//!
//! What "the same statements" means, per operation (read from
//! `vault-store-sqlite/src/{access,catalog,commerce,analytics,webhooks}.rs` and
//! `vault-core/src/vault/{delivery,commerce}.rs`):
//! * **check_access** (a user, a workflow and its file): the statements of
//!   the store's one access read (`vault-store-sqlite/src/access.rs`, what
//!   `Vault::gather` calls), in its order: the workflow by id, the file by
//!   id and workflow, the release instant of its version's update,
//!   `purchases_covering`, `memberships_for_user`, the downloaded-before
//!   check.
//! * **download** (the primary file): the same reads with the workflow's
//!   primary file, then `record_download`'s transaction: the workflow's and
//!   the file's counters (each finding its row), the purchase charge
//!   (one guarded `UPDATE`), the download row, the category's counter and
//!   the day's analytics row added in place.
//! * **list** / **search**: the one `SELECT` `list_cards` builds for the
//!   query.
//! * **complete_purchase**: the purchase read, then `settle_purchase`'s
//!   transaction (status guard, payment-reference check, item check, the row
//!   update, the purchase counter, analytics).
//! * **webhook** (checkout.session.completed): the claim transaction (the
//!   event read, its 14-column row written), the purchase read,
//!   complete_purchase's statements, the finish transaction (read, write
//!   back), and the read of events parked on the payment it completed.
//!
//! Rows are stepped through and every column is read (as a borrowed value,
//! folded into a checksum), but nothing is decoded into domain types: that,
//! the async hops and the bookkeeping are what the ratio measures. Ids are
//! formatted once, up front. Writes run in `BEGIN IMMEDIATE` transactions on
//! one writer connection, reads on a read-only connection, with the store's
//! pragmas (WAL, `synchronous = FULL`, foreign keys on).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, TransactionBehavior, params};

/// `vault-store-sqlite`'s columns of a catalog card (what the vault's
/// listing and search read since they list cards).
pub const CARD_COLS: &str = "id, slug, title, short_description, category_id, pricing_tier, \
    price_minor, currency, wedge_score_x10, thumbnail_url, \
    status, download_count, favorite_count, review_count, rating_sum, created_at, published_at";

// The store's column lists, as literals for the access read's `concat!`.
macro_rules! file_cols {
    () => {
        "id, workflow_id, file_type, file_name, storage_key, mime_type, version, \
    is_primary, access, size_bytes, checksum, download_count, created_at, updated_at, revision"
    };
}

macro_rules! purchase_cols {
    () => {
        "id, user_id, purchase_type, workflow_id, bundle_id, membership_id, \
    item_workflows, license_type, license_key_hash, download_limit, downloads_used, license_expires_at, \
    update_months, updates_until, payment_status, currency, amount_minor, tax_minor, total_minor, \
    refunded_minor, refund_reason, refunded_at, payment_ref, stripe_customer_id, \
    stripe_checkout_session_id, stripe_payment_intent_id, stripe_subscription_id, stripe_price_id, \
    created_at, completed_at, disputed_at, dispute_outcome, updated_at"
    };
}

macro_rules! membership_cols {
    () => {
        "id, user_id, tier, status, trial_ends_at, current_period_start, \
    current_period_end, period_download_limit, period_downloads_used, cancel_at_period_end, \
    past_due_since, grace_ends_at, canceled_at, ended_at, features, enrolled_at, stripe_customer_id, \
    stripe_subscription_id, stripe_price_id, provider_sync, created_at, updated_at, revision"
    };
}

const PURCHASE_COLS: &str = purchase_cols!();

/// The store's access read (`vault-store-sqlite/src/delivery.rs`), one
/// statement: the one-row facts, the covering purchases, the memberships.
macro_rules! access_read {
    ($file:literal) => {
        concat!(
            "SELECT 0, g.*, f.*, (SELECT u.released_at FROM workflow_updates u \
             WHERE u.workflow_id = ?1 AND u.version_major = f.v_major \
             AND u.version_minor = f.v_minor AND u.version_patch = f.v_patch) AS released_at, \
             EXISTS (SELECT 1 FROM workflow_downloaders d WHERE d.workflow_id = ?1 AND d.user_id = ?3) \
             AS downloaded, a.banned_at IS NOT NULL AS banned, a.deleted_at IS NOT NULL AS deleted, \
             a.erased_at IS NOT NULL AS erased FROM (SELECT \
             id, status, pricing_tier, price_minor, currency, archived_at, deleted_at \
             FROM workflows WHERE id = ?1) AS g LEFT JOIN (SELECT ",
            file_cols!(),
            ", version_major AS v_major, version_minor AS v_minor, version_patch AS v_patch \
             FROM workflow_files WHERE ",
            $file,
            ") AS f LEFT JOIN accounts a ON a.user_id = ?3 UNION ALL SELECT 1, \
             id, user_id, purchase_type, workflow_id, bundle_id, membership_id, item_workflows, \
             payment_status, download_limit, downloads_used, license_expires_at, updates_until, \
             completed_at, disputed_at, refunded_minor, refunded_at, \
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
             FROM workflow_purchases p WHERE p.user_id = ?3 AND CASE WHEN p.purchase_type = 'bundle' \
             THEN EXISTS (SELECT 1 FROM workflow_purchase_items i \
             WHERE i.purchase_id = p.id AND i.workflow_id = ?1) ELSE p.workflow_id = ?1 END \
             UNION ALL SELECT 2, ",
            membership_cols!(),
            ", NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM memberships WHERE user_id = ?3"
        )
    };
}

// `PURCHASE_COLS` without `downloads_used` (index 10), as settle writes them.
const PURCHASE_WRITE_COLS: [&str; 32] = [
    "id",
    "user_id",
    "purchase_type",
    "workflow_id",
    "bundle_id",
    "membership_id",
    "item_workflows",
    "license_type",
    "license_key_hash",
    "download_limit",
    "license_expires_at",
    "update_months",
    "updates_until",
    "payment_status",
    "currency",
    "amount_minor",
    "tax_minor",
    "total_minor",
    "refunded_minor",
    "refund_reason",
    "refunded_at",
    "payment_ref",
    "stripe_customer_id",
    "stripe_checkout_session_id",
    "stripe_payment_intent_id",
    "stripe_subscription_id",
    "stripe_price_id",
    "created_at",
    "completed_at",
    "disputed_at",
    "dispute_outcome",
    "updated_at",
];

const DOWNLOAD_COLS: &str = "id, user_id, workflow_id, file_id, file_version, download_type, source, \
    purchase_id, membership_id, ip_hash, user_agent, referrer, country_code, downloaded_at";

const ANALYTICS_COLS: &str = "workflow_id, date, views, unique_visitors, clicks, downloads, purchases, \
    revenue_minor, refunds_minor, currency, favorites, shares, reviews, traffic_sources, countries";

const WEBHOOK_COLS: &str = "id, event_type, object_id, created, status, attempts, last_error, applied, \
    received_at, claimed_at, finished_at, waiting_for, parked_at, payload";

/// The statement `list_cards` builds for: published (the default
/// query's status, which the vault keeps for a user), one category, one
/// tier, sorted by downloads, 20 per page.
pub fn list_sql() -> String {
    format!(
        "SELECT {CARD_COLS} FROM workflows WHERE status IN (?1) AND category_id = ?2 \
         AND pricing_tier IN (?3) AND deleted_at IS NULL \
         ORDER BY download_count DESC, id ASC LIMIT 21"
    )
}

/// The statement `list_cards` builds for a text search of `terms`
/// words (published, newest first, 20 per page): the listing's first 1000
/// rows matched word by word (`?3`... each a term after a space), and only
/// when they hold less than a page, the full-text index (`?2`); `?1` is
/// the status. Bind with [`search_params`].
pub fn search_sql(terms: usize) -> String {
    let order = "ORDER BY newest_at DESC, id ASC";
    let filter = "WHERE status IN (?1) AND deleted_at IS NULL";
    let terms: Vec<String> = (0..terms).map(|i| format!("?{}", i + 3)).collect();
    format!(
        "WITH near AS MATERIALIZED (SELECT rid FROM \
         (SELECT rowid AS rid, search_words FROM workflows {filter} {order} LIMIT 1000) \
         WHERE vault_has_words(search_words, {}) LIMIT 21), \
         hits AS MATERIALIZED (SELECT workflows_fts.rowid AS hid FROM \
         (SELECT 1 WHERE (SELECT count(*) FROM near) < 21) AS gate \
         CROSS JOIN workflows_fts WHERE workflows_fts MATCH ?2), \
         page AS (SELECT rid AS pid FROM near WHERE (SELECT count(*) FROM near) = 21 \
         UNION ALL SELECT pid FROM (SELECT workflows.rowid AS pid FROM hits \
         CROSS JOIN workflows ON workflows.rowid = hits.hid {filter} {order} LIMIT 21)) \
         SELECT {CARD_COLS} FROM page CROSS JOIN workflows \
         ON workflows.rowid = page.pid {order}",
        terms.join(", ")
    )
}

/// The values [`search_sql`] binds for `text`: the status, the FTS5
/// expression, and each term after a space.
pub fn search_params(text: &str) -> Vec<String> {
    let mut p = vec!["published".to_owned(), match_expr(text)];
    p.extend(
        vault_core::catalog::query::search_terms(text)
            .iter()
            .map(|t| format!(" {t}")),
    );
    p
}

/// The FTS5 expression `list_workflows` builds for `text`.
pub fn match_expr(text: &str) -> String {
    vault_core::catalog::query::search_terms(text)
        .iter()
        .map(|t| format!("\"{t}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A user downloading a workflow through one purchase, as preformatted
/// strings.
#[derive(Debug, Clone)]
pub struct RawTarget {
    /// User id.
    pub user: String,
    /// Workflow id.
    pub workflow: String,
    /// Its primary file's id.
    pub file: String,
    /// The purchase charged.
    pub purchase: String,
    /// The file's version.
    pub file_version: String,
    /// The request's IP hash as stored.
    pub ip_hash: Option<String>,
    /// The request's user agent.
    pub user_agent: Option<String>,
    /// The current time, encoded.
    pub now: String,
    /// Today, encoded.
    pub today: String,
}

/// A checkout.session.completed event, as the raw baseline's strings.
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    /// Event id.
    pub event: &'a str,
    /// Checkout session id (the event's object).
    pub session: &'a str,
    /// The pending purchase it completes.
    pub purchase: &'a str,
    /// The PaymentIntent that settles it.
    pub payment_ref: &'a str,
}

/// The raw baseline's connections: one writer shared by all clones, one
/// read-only connection each.
#[derive(Debug)]
pub struct RawSqlite {
    writer: Arc<Mutex<Connection>>,
    reader: Connection,
    path: std::path::PathBuf,
}

/// The store's per-connection settings and SQL functions (`vault_store_sqlite`'s
/// `prepare_once`): every statement cached, and planned without reading
/// bound values, so none is compiled again on a new binding.
pub fn as_the_store(c: &Connection) -> rusqlite::Result<()> {
    vault_store_sqlite::register_functions(c)?;
    c.set_prepared_statement_cache_capacity(256);
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

fn read_only(path: &Path) -> rusqlite::Result<Connection> {
    let r = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    r.busy_timeout(Duration::from_secs(5))?;
    as_the_store(&r)?;
    Ok(r)
}

fn fold(v: ValueRef<'_>) -> u64 {
    match v {
        ValueRef::Null => 0,
        ValueRef::Integer(i) => i as u64,
        ValueRef::Real(f) => f.to_bits(),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            t.len() as u64 + u64::from(t.first().copied().unwrap_or(0))
        }
    }
}

/// Steps through every row of a cached statement, reading every column.
fn drain(conn: &Connection, sql: &str, p: impl Params) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(p)?;
    let mut acc = 0u64;
    while let Some(row) = rows.next()? {
        for i in 0..n {
            acc = acc.wrapping_add(fold(row.get_ref(i)?));
        }
    }
    Ok(acc)
}

/// Reads the first row of a cached statement as owned values.
fn first_row(conn: &Connection, sql: &str, p: impl Params) -> rusqlite::Result<Option<Vec<Value>>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    stmt.query_row(p, |row| (0..n).map(|i| row.get::<_, Value>(i)).collect())
        .optional()
}

fn exists(conn: &Connection, sql: &str, p: impl Params) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(p, |_| Ok(()))
        .optional()?
        .is_some())
}

fn add(v: &mut Value, by: i64) {
    if let Value::Integer(i) = v {
        *i += by;
    }
}

/// The day's analytics row read, changed by `bump`, written back, as
/// `apply_delta` does.
fn apply_delta(
    tx: &Connection,
    workflow: &str,
    day: &str,
    bump: impl FnOnce(&mut [Value]),
) -> rusqlite::Result<()> {
    if !exists(tx, "SELECT 1 FROM workflows WHERE id = ?1", [workflow])? {
        return Err(rusqlite::Error::QueryReturnedNoRows);
    }
    let mut row = first_row(
        tx,
        &format!(
            "SELECT {ANALYTICS_COLS} FROM workflow_analytics WHERE workflow_id = ?1 AND date = ?2"
        ),
        params![workflow, day],
    )?
    .unwrap_or_else(|| {
        let mut r = vec![Value::Integer(0); 15];
        r[0] = Value::Text(workflow.to_owned());
        r[1] = Value::Text(day.to_owned());
        r[9] = Value::Null;
        r[13] = Value::Text("{}".into());
        r[14] = Value::Text("{}".into());
        r
    });
    bump(&mut row);
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO workflow_analytics ({ANALYTICS_COLS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))?
    .execute(rusqlite::params_from_iter(row))?;
    Ok(())
}

impl RawSqlite {
    /// Opens the database with the store's pragmas.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let writer = Connection::open(path)?;
        writer.busy_timeout(Duration::from_secs(5))?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        writer.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        writer.pragma_update(None, "synchronous", "FULL")?;
        as_the_store(&writer)?;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            reader: read_only(path)?,
            path: path.to_path_buf(),
        })
    }

    /// Another handle sharing the writer, with its own reader (one per
    /// thread in the concurrency baseline).
    pub fn handle(&self) -> rusqlite::Result<Self> {
        Ok(Self {
            writer: Arc::clone(&self.writer),
            reader: read_only(&self.path)?,
            path: self.path.clone(),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// `check_access` for a given file.
    pub fn check_access(&self, t: &RawTarget) -> rusqlite::Result<u64> {
        self.access_read(t, false)
    }

    /// The store's `access_read`: its one statement on a reader connection,
    /// every row's columns folded.
    fn access_read(&self, t: &RawTarget, primary: bool) -> rusqlite::Result<u64> {
        if primary {
            drain(
                &self.reader,
                access_read!("workflow_id = ?1 AND is_primary = 1"),
                params![t.workflow, rusqlite::types::Null, t.user],
            )
        } else {
            drain(
                &self.reader,
                access_read!("id = ?2 AND workflow_id = ?1"),
                params![t.workflow, t.file, t.user],
            )
        }
    }

    /// `download` of the primary file, charged to the target's purchase;
    /// `id` is the new download's id.
    pub fn download(&self, t: &RawTarget, id: &str) -> rusqlite::Result<u64> {
        let acc = self.access_read(t, true)?;
        self.write(|tx| {
            if tx
                .prepare_cached(
                    "UPDATE workflows SET download_count = download_count + 1 WHERE id = ?1",
                )?
                .execute([&t.workflow])?
                == 0
            {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            if tx
                .prepare_cached(
                    "UPDATE workflow_files SET download_count = download_count + 1 \
                     WHERE id = ?1 AND workflow_id = ?2",
                )?
                .execute(params![t.file, t.workflow])?
                == 0
            {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            // The store's guarded charge: one compare-and-increment.
            if tx
                .prepare_cached(
                    "UPDATE workflow_purchases SET downloads_used = downloads_used + 1 \
                     WHERE id = ?1 AND payment_status = ?2 \
                     AND (?3 IS NULL OR downloads_used < ?3)",
                )?
                .execute(params![
                    t.purchase,
                    "completed",
                    i64::from(crate::spec::TARGET_LIMIT)
                ])?
                == 0
            {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            tx.prepare_cached(&format!(
                "INSERT INTO workflow_downloads ({DOWNLOAD_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?
            .execute(params![
                id,
                t.user,
                t.workflow,
                t.file,
                t.file_version,
                "purchased",
                "purchase",
                t.purchase,
                None::<String>,
                t.ip_hash,
                t.user_agent,
                None::<String>,
                None::<String>,
                t.now,
            ])?;
            tx.prepare_cached(
                "INSERT INTO workflow_downloaders (workflow_id, user_id) VALUES (?1, ?2) \
                 ON CONFLICT (workflow_id, user_id) DO NOTHING",
            )?
            .execute(params![t.workflow, t.user])?;
            tx.prepare_cached(
                "UPDATE workflow_categories SET total_downloads = total_downloads + 1 \
                 WHERE id = (SELECT category_id FROM workflows WHERE id = ?1)",
            )?
            .execute([&t.workflow])?;
            tx.prepare_cached(
                "INSERT INTO workflow_analytics (workflow_id, date, views, unique_visitors, clicks, \
                 downloads, purchases, revenue_minor, refunds_minor, currency, favorites, shares, \
                 reviews, traffic_sources, countries) \
                 VALUES (?1, ?2, 0, 0, 0, 1, 0, 0, 0, NULL, 0, 0, 0, '{}', '{}') \
                 ON CONFLICT (workflow_id, date) DO UPDATE SET \
                 unique_visitors = unique_visitors + excluded.unique_visitors, \
                 clicks = clicks + excluded.clicks, downloads = downloads + excluded.downloads, \
                 purchases = purchases + excluded.purchases, \
                 favorites = favorites + excluded.favorites, shares = shares + excluded.shares, \
                 reviews = reviews + excluded.reviews \
                 WHERE unique_visitors <= 9223372036854775807 - excluded.unique_visitors \
                 AND clicks <= 9223372036854775807 - excluded.clicks \
                 AND downloads <= 9223372036854775807 - excluded.downloads \
                 AND purchases <= 9223372036854775807 - excluded.purchases \
                 AND favorites <= 9223372036854775807 - excluded.favorites \
                 AND shares <= 9223372036854775807 - excluded.shares \
                 AND reviews <= 9223372036854775807 - excluded.reviews",
            )?
            .execute(params![t.workflow, t.today])?;
            Ok(())
        })?;
        Ok(acc)
    }

    /// One page of `sql` ([`list_sql`] or [`search_sql`]) with `p`.
    pub fn list(&self, sql: &str, p: impl Params) -> rusqlite::Result<u64> {
        drain(&self.reader, sql, p)
    }

    /// Inserts a pending purchase copied from `template` (setup of the
    /// completion baseline; not measured).
    pub fn insert_pending(
        &self,
        template: &str,
        id: &str,
        user: &str,
        key: &str,
        now: &str,
    ) -> rusqlite::Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO workflow_purchases (id, user_id, purchase_type, workflow_id, bundle_id, \
                 membership_id, item_workflows, license_type, license_key_hash, download_limit, \
                 downloads_used, license_expires_at, update_months, updates_until, payment_status, \
                 currency, amount_minor, tax_minor, total_minor, refunded_minor, refund_reason, \
                 refunded_at, payment_ref, stripe_customer_id, stripe_checkout_session_id, \
                 stripe_payment_intent_id, stripe_subscription_id, stripe_price_id, created_at, \
                 completed_at, disputed_at, updated_at) \
                 SELECT ?1, ?2, purchase_type, workflow_id, NULL, NULL, item_workflows, license_type, \
                 ?3, download_limit, 0, license_expires_at, update_months, updates_until, \
                 payment_status, currency, amount_minor, tax_minor, total_minor, NULL, NULL, NULL, \
                 NULL, NULL, NULL, NULL, NULL, NULL, ?4, NULL, NULL, ?4 \
                 FROM workflow_purchases WHERE id = ?5",
            )?
            .execute(params![id, user, key, now, template])?;
            tx.prepare_cached(
                "INSERT INTO workflow_purchase_items (purchase_id, workflow_id, position) \
                 SELECT ?1, workflow_id, position FROM workflow_purchase_items WHERE purchase_id = ?2",
            )?
            .execute(params![id, template])?;
            Ok(())
        })
    }

    /// `complete_purchase` of a pending one-workflow purchase.
    pub fn complete(
        &self,
        id: &str,
        payment_ref: &str,
        now: &str,
        today: &str,
    ) -> rusqlite::Result<()> {
        let mut row = first_row(
            &self.reader,
            &format!("SELECT {PURCHASE_COLS} FROM workflow_purchases WHERE id = ?1"),
            [id],
        )?
        .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        row.remove(10); // downloads_used: downloads own it
        let col = |name: &str| {
            PURCHASE_WRITE_COLS
                .iter()
                .position(|c| *c == name)
                .unwrap_or(0)
        };
        row[col("payment_status")] = Value::Text("completed".into());
        row[col("payment_ref")] = Value::Text(payment_ref.into());
        row[col("completed_at")] = Value::Text(now.into());
        row[col("updated_at")] = Value::Text(now.into());
        let workflow = match &row[col("workflow_id")] {
            Value::Text(w) => w.clone(),
            _ => return Err(rusqlite::Error::QueryReturnedNoRows),
        };
        let amount = match row[col("amount_minor")] {
            Value::Integer(a) => a,
            _ => 0,
        };
        let sets: Vec<String> = PURCHASE_WRITE_COLS
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        let update = format!(
            "UPDATE workflow_purchases SET {} WHERE id = ?1",
            sets.join(", ")
        );
        self.write(|tx| {
            let status: String = tx
                .prepare_cached("SELECT payment_status FROM workflow_purchases WHERE id = ?1")?
                .query_row([id], |r| r.get(0))?;
            if status != "pending"
                || exists(
                    tx,
                    "SELECT 1 FROM workflow_purchases WHERE payment_ref = ?1 AND id <> ?2",
                    params![payment_ref, id],
                )?
                || !exists(tx, "SELECT 1 FROM workflows WHERE id = ?1", [&workflow])?
            {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            tx.prepare_cached(&update)?
                .execute(rusqlite::params_from_iter(row))?;
            tx.prepare_cached(
                "UPDATE workflows SET purchase_count = purchase_count + 1 WHERE id = ?1",
            )?
            .execute([&workflow])?;
            apply_delta(tx, &workflow, today, |r| {
                add(&mut r[6], 1);
                add(&mut r[7], amount);
                r[9] = Value::Text("USD".into());
            })
        })
    }

    /// A checkout.session.completed delivery: claim,
    /// purchase read, completion, finish (created and received now).
    pub fn webhook(&self, e: &RawEvent<'_>, now: &str, today: &str) -> rusqlite::Result<()> {
        let RawEvent {
            event,
            session,
            purchase: id,
            payment_ref,
        } = *e;
        let created = now;
        let save = format!(
            "INSERT OR REPLACE INTO stripe_webhook_events ({WEBHOOK_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        );
        let load = format!("SELECT {WEBHOOK_COLS} FROM stripe_webhook_events WHERE id = ?1");
        self.write(|tx| {
            if first_row(tx, &load, [event])?.is_some() {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            tx.prepare_cached(&save)?.execute(params![
                event,
                "checkout.session.completed",
                session,
                created,
                "received",
                1,
                None::<String>,
                false,
                now,
                now,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>
            ])?;
            Ok(())
        })?;
        drain(
            &self.reader,
            &format!("SELECT {PURCHASE_COLS} FROM workflow_purchases WHERE id = ?1"),
            [id],
        )?;
        self.complete(id, payment_ref, now, today)?;
        self.write(|tx| {
            let mut e =
                first_row(tx, &load, [event])?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            e[4] = Value::Text("processed".into());
            e[7] = Value::Integer(1);
            e[10] = Value::Text(now.into());
            e[13] = Value::Null;
            tx.prepare_cached(&save)?
                .execute(rusqlite::params_from_iter(e))?;
            Ok(())
        })?;
        // The events parked on the payment it completed, which it unblocks.
        drain(
            &self.reader,
            &format!(
                "SELECT {WEBHOOK_COLS} FROM stripe_webhook_events WHERE status = ?1 \
                 AND waiting_for = ?2 ORDER BY received_at, id LIMIT ?3"
            ),
            params!["parked", format!("payment:{payment_ref}"), 100],
        )?;
        Ok(())
    }
}
