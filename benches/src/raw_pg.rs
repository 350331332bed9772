//! The raw PostgreSQL baseline: the SQL statements `vault-store-postgres`
//! issues for each benchmarked operation, in the order the vault issues
//! them, through one plain `sqlx::PgConnection` with no vault code around
//! them, so a vault figure divided by its raw figure is the vault's
//! overhead.
//!
//! What "the same statements" means, per operation (copied from
//! `vault-store-postgres/src/{access,catalog,commerce,analytics,webhooks}.rs`, in
//! the order of `vault-core/src/vault/{delivery,commerce}.rs` and
//! `vault-stripe/src/webhook.rs`):
//! * **check_access** (a user, a workflow and its file): the store's one
//!   access statement (`delivery.rs`, what `Vault::gather` calls): the
//!   workflow's gate columns, the file with its version's release instant,
//!   "downloaded before" and the account's standing, the covering purchases
//!   and the memberships, side by side.
//! * **download** (the primary file): the same statement with the
//!   workflow's primary file, then `record_download`'s one statement, no
//!   transaction around it (the workflow and file checks, the conditional
//!   charge, the download row, the three counters, the day's visitor and
//!   the day's analytics row, added to in place).
//! * **list** / **search**: the one statement `list_cards` builds for
//!   the query (for search: the listing's window, then the word index).
//! * **complete_purchase**: the purchase read, then `settle_purchase`'s
//!   transaction (the status row `FOR NO KEY UPDATE`, the payment-reference
//!   and workflow checks, the 31-column `UPDATE`, the purchase items
//!   rewritten, the purchase counter, `apply_delta`).
//! * **webhook** (checkout.session.completed): the claim transaction
//!   (`INSERT ... ON CONFLICT DO NOTHING`), the purchase read,
//!   complete_purchase's statements, the finish transaction (the event
//!   `FOR UPDATE`, the upsert), the read of events parked on the payment
//!   it completed.
//!
//! Every column of every row read is visited as its raw bytes (folded into
//! a checksum), but nothing is decoded into domain types. Rows that are
//! read to be written back (the purchase, the day's analytics, the webhook
//! event) are decoded into plain column values ([`Cell`]) and bound back
//! unchanged but for the columns the write changes: what a hand-written
//! SQL program would do. Statements are prepared once per connection and
//! cached (sqlx's default, as in the store). Ids come as `Uuid`s, formatted
//! nowhere.
//!
//! The baseline holds one connection and no pool: a pool checkout (the
//! store's pool pings every idle connection it hands out) is part of what
//! the vault's figure pays and the ratio shows. The concurrency baseline
//! gives each task its own connection, as the store's pool of 40 gives
//! each of up to 16 concurrent downloads its own.

use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Column, Connection, PgConnection, Postgres, Row, TypeInfo, ValueRef};
use uuid::Uuid;

/// `vault-store-postgres`'s columns of a catalog card (what the vault's
/// listing and search read since they list cards).
macro_rules! card_cols {
    () => {
        "workflows.id, slug, title, short_description, category_id, \
         pricing_tier, price, currency, wedge_score, media ->> 'thumbnail_url' AS thumbnail_url, \
         status, workflow_download_counts.download_count, favorite_count, review_count, rating_sum, \
         created_at, published_at"
    };
}

macro_rules! file_cols {
    () => {
        "id, workflow_id, file_type, file_name, storage_key, mime_type, version, version_major, \
         version_minor, version_patch, is_primary, access, size_bytes, checksum, created_at, \
         updated_at, (SELECT c.download_count FROM workflow_file_download_counts c \
         WHERE c.file_id = workflow_files.id) AS download_count"
    };
}

macro_rules! purchase_cols {
    () => {
        "id, user_id, purchase_type, workflow_id, bundle_id, membership_id, item_workflows, \
         license_type, license_key_hash, download_limit, license_expires_at, update_months, \
         updates_until, payment_status, currency, amount, tax, total, refunded_amount, \
         refund_reason, refunded_at, payment_ref, stripe_customer_id, stripe_checkout_session_id, \
         stripe_payment_intent_id, stripe_subscription_id, stripe_price_id, created_at, \
         completed_at, disputed_at, updated_at, (SELECT c.downloads_used \
         FROM workflow_purchase_download_counts c \
         WHERE c.purchase_id = workflow_purchases.id) AS downloads_used"
    };
}

/// The store's access read's purchase columns: a purchase's terms.
macro_rules! purchase_terms_cols {
    () => {
        "id, user_id, purchase_type, workflow_id, bundle_id, membership_id, item_workflows, \
         payment_status, download_limit, license_expires_at, updates_until, completed_at, \
         disputed_at, refunded_amount, refunded_at, \
         (SELECT c.downloads_used FROM workflow_purchase_download_counts c \
         WHERE c.purchase_id = workflow_purchases.id) AS downloads_used"
    };
}

macro_rules! membership_cols {
    () => {
        "id, user_id, tier, status, trial_ends_at, current_period_start, current_period_end, \
         period_download_limit, cancel_at_period_end, past_due_since, canceled_at, ended_at, \
         features, enrolled_at, stripe_customer_id, stripe_subscription_id, stripe_price_id, \
         created_at, updated_at, revision, provider_sync, grace_ends_at, period_downloads_used"
    };
}

macro_rules! download_cols {
    () => {
        "id, user_id, workflow_id, file_id, file_version, download_type, source, purchase_id, \
         membership_id, ip_hash, user_agent, referrer, country_code, downloaded_at"
    };
}

macro_rules! analytics_cols {
    () => {
        "workflow_id, date, views, unique_visitors, clicks, downloads, purchases, revenue, \
         refunds, currency, favorites, shares, reviews, traffic_sources, countries"
    };
}

macro_rules! webhook_cols {
    () => {
        "id, event_type, object_id, created, status, attempts, last_error, applied, \
         received_at, claimed_at, finished_at, waiting_for, parked_at, payload"
    };
}

macro_rules! webhook_insert {
    ($conflict:literal) => {
        concat!(
            "INSERT INTO stripe_webhook_events (",
            webhook_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) ",
            $conflict
        )
    };
}

/// When the update carrying the file's version was released, as a
/// sub-query of the file's read (the store's `file_released_at!`).
macro_rules! file_released_at {
    () => {
        "(SELECT u.released_at FROM workflow_updates u \
          WHERE u.workflow_id = workflow_files.workflow_id \
          AND u.version_major = workflow_files.version_major \
          AND u.version_minor = workflow_files.version_minor \
          AND u.version_patch = workflow_files.version_patch LIMIT 1) AS file_released_at"
    };
}

/// The store's one access statement (`access_statement` in
/// `vault-store-postgres/src/delivery.rs`): the gate, the file (`$3`, or the
/// primary one), the standing row, and the covering purchases and
/// memberships side by side, each source's columns renamed with its
/// prefix.
fn access_sql(primary: bool) -> &'static str {
    static SQL: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    // A column read through a sub-query (`(SELECT ...) AS name`) is
    // named by its alias, as the store's `prefixed_list` names it.
    let prefixed = |alias: &str, cols: &str, prefix: &str| {
        cols.split(',')
            .map(|c| c.rsplit(" AS ").next().unwrap_or(c).trim())
            .map(|c| format!("{alias}.{c} AS {prefix}{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let [by_id, by_primary] = SQL.get_or_init(|| {
        let statement = |file_filter: &str| {
            format!(
                "SELECT {g}, {f}, s.downloaded, s.banned, s.deleted, s.erased, {p}, {m} \
                 FROM (SELECT id, status, pricing_tier, price, currency, archived_at, \
                       deleted_at IS NOT NULL AS deleted FROM workflows WHERE id = $1) AS g \
                 LEFT JOIN (SELECT {file_cols}, {released} FROM workflow_files \
                            WHERE {file_filter}) AS f ON true \
                 CROSS JOIN (SELECT EXISTS (SELECT 1 FROM workflow_downloads \
                                            WHERE user_id = $2 AND workflow_id = $1) AS downloaded, \
                             a.banned_at IS NOT NULL AS banned, a.deleted_at IS NOT NULL AS deleted, \
                             a.erased_at IS NOT NULL AS erased \
                             FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.user_id = $2) AS s \
                 LEFT JOIN ((SELECT {purchase_cols} FROM workflow_purchases \
                             WHERE user_id = $2 AND $1 = ANY (item_workflows)) AS p \
                            FULL JOIN (SELECT {membership_cols} FROM memberships \
                                       WHERE user_id = $2) AS m ON false) ON true",
                g = prefixed(
                    "g",
                    "id, status, pricing_tier, price, currency, archived_at, deleted",
                    "g_"
                ),
                f = prefixed("f", concat!(file_cols!(), ", file_released_at"), "f_"),
                p = prefixed("p", purchase_terms_cols!(), "p_"),
                m = prefixed("m", membership_cols!(), "m_"),
                file_cols = file_cols!(),
                released = file_released_at!(),
                purchase_cols = purchase_terms_cols!(),
                membership_cols = membership_cols!(),
            )
        };
        [
            statement("id = $3 AND workflow_id = $1"),
            statement("workflow_id = $1 AND is_primary"),
        ]
    });
    if primary { by_primary } else { by_id }
}
const PURCHASE_BY_ID: &str = concat!(
    "SELECT ",
    purchase_cols!(),
    " FROM workflow_purchases WHERE id = $1"
);
const WORKFLOW_EXISTS: &str = "SELECT 1 FROM workflows WHERE id = $1";

/// The viewer's standing, the head of a listing statement for a signed-in
/// viewer (`$1`): one row joined to every row of the page.
macro_rules! viewed_from {
    () => {
        ", viewer.banned AS viewer_banned, viewer.deleted AS viewer_deleted, \
         viewer.erased AS viewer_erased \
         FROM (SELECT a.banned_at IS NOT NULL AS banned, \
               a.deleted_at IS NOT NULL AS deleted, a.erased_at IS NOT NULL AS erased \
               FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.user_id = $1) AS viewer \
         CROSS JOIN workflows JOIN workflow_download_counts \
         ON workflow_download_counts.workflow_id = workflows.id"
    };
}

/// The statement `list_cards` (with a viewer) builds for the listing benchmarked
/// (the viewer `$1`; one status, one category, tiers, by downloads; the
/// page size + 1 spelled, as the store spells it).
pub const LIST_SQL: &str = concat!(
    "SELECT ",
    card_cols!(),
    viewed_from!(),
    " WHERE deleted_at IS NULL AND listing_status = $2 AND listing_category = $3 \
     AND pricing_tier = ANY($4) ORDER BY download_count DESC, id ASC LIMIT 21"
);

/// The statement `list_cards` (with a viewer) builds for the search benchmarked
/// (published, newest first): the listing's first 1000 rows matched
/// against the tsquery `$3`, and only when they hold less than a page of
/// 21 rows, the word index's matches; then the page's rows with the
/// viewer `$1`'s standing.
pub const SEARCH_SQL: &str = concat!(
    "WITH near AS MATERIALIZED (SELECT id, sort_key FROM \
     (SELECT workflows.id, newest_at AS sort_key, \
     search_vector @@ (SELECT to_tsquery('simple', $3)) AS hit \
     FROM workflows \
     WHERE deleted_at IS NULL AND status = $2 ORDER BY newest_at DESC, id ASC LIMIT 1000) AS win \
     WHERE hit ORDER BY sort_key DESC, id ASC LIMIT 21), \
     hits AS MATERIALIZED (SELECT id AS hit_id FROM workflows \
     WHERE search_vector @@ (SELECT to_tsquery('simple', $3)) AND (SELECT count(*) FROM near) < 21), \
     page AS (SELECT id AS page_id FROM near WHERE (SELECT count(*) FROM near) = 21 \
     UNION ALL (SELECT workflows.id FROM hits JOIN workflows ON workflows.id = hits.hit_id \
     WHERE deleted_at IS NULL AND status = $2 ORDER BY newest_at DESC, id ASC LIMIT 21)) \
     SELECT ",
    card_cols!(),
    ", viewer.banned AS viewer_banned, viewer.deleted AS viewer_deleted, \
     viewer.erased AS viewer_erased \
     FROM (SELECT a.banned_at IS NOT NULL AS banned, \
           a.deleted_at IS NOT NULL AS deleted, a.erased_at IS NOT NULL AS erased \
           FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.user_id = $1) AS viewer \
     CROSS JOIN page JOIN workflows JOIN workflow_download_counts \
     ON workflow_download_counts.workflow_id = workflows.id ON workflows.id = page.page_id \
     WHERE deleted_at IS NULL ORDER BY newest_at DESC, id ASC"
);

/// The tsquery `list_workflows` builds for `text`: every word a prefix.
pub fn tsquery(text: &str) -> String {
    vault_core::catalog::query::search_terms(text)
        .iter()
        .map(|t| format!("'{t}':*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A user downloading a workflow through one purchase, as the values the
/// raw PostgreSQL baseline binds.
#[derive(Debug, Clone)]
pub struct PgTarget {
    /// User id.
    pub user: String,
    /// Workflow id.
    pub workflow: Uuid,
    /// Its primary file's id.
    pub file: Uuid,
    /// The purchase charged.
    pub purchase: Uuid,
    /// The file's version.
    pub file_version: String,
    /// The request's IP hash as stored.
    pub ip_hash: Option<String>,
    /// The request's user agent.
    pub user_agent: Option<String>,
    /// The current time.
    pub now: DateTime<Utc>,
    /// Today.
    pub today: NaiveDate,
}

/// A checkout.session.completed event, as the raw baseline's values.
#[derive(Debug, Clone, Copy)]
pub struct PgEvent<'a> {
    /// Event id.
    pub event: &'a str,
    /// Checkout session id (the event's object).
    pub session: &'a str,
    /// The pending purchase it completes.
    pub purchase: Uuid,
    /// The PaymentIntent that settles it.
    pub payment_ref: &'a str,
}

/// One column value of a row read to be written back, by its PostgreSQL
/// type (only the types these tables use).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// `UUID`.
    Uuid(Option<Uuid>),
    /// `TEXT`.
    Text(Option<String>),
    /// `BIGINT`.
    Int8(Option<i64>),
    /// `INTEGER`.
    Int4(Option<i32>),
    /// `BOOLEAN`.
    Bool(Option<bool>),
    /// `NUMERIC`.
    Numeric(Option<Decimal>),
    /// `TIMESTAMPTZ`.
    Timestamptz(Option<DateTime<Utc>>),
    /// `DATE`.
    Date(Option<NaiveDate>),
    /// `UUID[]`.
    UuidArray(Option<Vec<Uuid>>),
    /// `TEXT[]`.
    TextArray(Option<Vec<String>>),
    /// `JSONB`.
    Jsonb(Option<serde_json::Value>),
}

/// Decodes every column of `row` into [`Cell`]s.
fn cells(row: &PgRow) -> sqlx::Result<Vec<Cell>> {
    (0..row.len())
        .map(|i| {
            let kind = row.column(i).type_info().name();
            Ok(match kind {
                "UUID" => Cell::Uuid(row.try_get(i)?),
                "TEXT" => Cell::Text(row.try_get(i)?),
                "INT8" => Cell::Int8(row.try_get(i)?),
                "INT4" => Cell::Int4(row.try_get(i)?),
                "BOOL" => Cell::Bool(row.try_get(i)?),
                "NUMERIC" => Cell::Numeric(row.try_get(i)?),
                "TIMESTAMPTZ" => Cell::Timestamptz(row.try_get(i)?),
                "DATE" => Cell::Date(row.try_get(i)?),
                "UUID[]" => Cell::UuidArray(row.try_get(i)?),
                "TEXT[]" => Cell::TextArray(row.try_get(i)?),
                "JSONB" => Cell::Jsonb(row.try_get(i)?),
                other => {
                    return Err(sqlx::Error::Decode(
                        format!("raw baseline: no cell for {other}").into(),
                    ));
                }
            })
        })
        .collect()
}

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

fn bind_cells<'q>(mut q: PgQuery<'q>, cells: impl IntoIterator<Item = Cell>) -> PgQuery<'q> {
    for c in cells {
        q = match c {
            Cell::Uuid(v) => q.bind(v),
            Cell::Text(v) => q.bind(v),
            Cell::Int8(v) => q.bind(v),
            Cell::Int4(v) => q.bind(v),
            Cell::Bool(v) => q.bind(v),
            Cell::Numeric(v) => q.bind(v),
            Cell::Timestamptz(v) => q.bind(v),
            Cell::Date(v) => q.bind(v),
            Cell::UuidArray(v) => q.bind(v),
            Cell::TextArray(v) => q.bind(v),
            Cell::Jsonb(v) => q.bind(v),
        };
    }
    q
}

fn missing(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("raw baseline: {what}"))
}

/// Visits every column of every row as raw bytes.
fn fold(rows: &[PgRow]) -> sqlx::Result<u64> {
    let mut acc = 0u64;
    for row in rows {
        for i in 0..row.len() {
            let v = row.try_get_raw(i)?;
            if !v.is_null() {
                let b = v.as_bytes().map_err(sqlx::Error::Decode)?;
                acc = acc
                    .wrapping_add(b.len() as u64)
                    .wrapping_add(u64::from(b.first().copied().unwrap_or(0)));
            }
        }
    }
    Ok(acc)
}

/// `SELECT 1 ... ` as the store's `query_scalar::<i32>` existence checks.
async fn exists(q: PgQuery<'_>, c: &mut PgConnection) -> sqlx::Result<bool> {
    Ok(q.fetch_optional(c).await?.is_some())
}

/// The store's `lock_day!`: the day's row created if missing, else locked,
/// and returned.
macro_rules! lock_day {
    () => {
        concat!(
            "ON CONFLICT (workflow_id, date) DO UPDATE SET workflow_id = EXCLUDED.workflow_id \
             RETURNING ",
            analytics_cols!()
        )
    };
}

/// `apply_delta` for one workflow and day: the row created if missing or
/// locked if not and returned (one upsert), changed by `bump` (on the
/// columns of `analytics_cols!`) and written back.
async fn apply_delta(
    c: &mut PgConnection,
    workflow: Uuid,
    day: NaiveDate,
    bump: impl FnOnce(&mut [Cell]),
) -> sqlx::Result<()> {
    let row = sqlx::query(concat!(
        "INSERT INTO workflow_analytics (workflow_id, date) VALUES ($1, $2) ",
        lock_day!()
    ))
    .bind(workflow)
    .bind(day)
    .fetch_one(&mut *c)
    .await?;
    add_to_day(c, cells(&row)?, bump).await
}

/// The store's `add_to_day`: the locked day's row (its `analytics_cols!`),
/// added to and written back.
async fn add_to_day(
    c: &mut PgConnection,
    mut row: Vec<Cell>,
    bump: impl FnOnce(&mut [Cell]),
) -> sqlx::Result<()> {
    bump(&mut row);
    bind_cells(
        sqlx::query(
            "UPDATE workflow_analytics SET views = $3, unique_visitors = $4, clicks = $5, \
             downloads = $6, purchases = $7, revenue = $8, refunds = $9, currency = $10, \
             favorites = $11, shares = $12, reviews = $13, traffic_sources = $14, countries = $15 \
             WHERE workflow_id = $1 AND date = $2",
        ),
        row,
    )
    .execute(&mut *c)
    .await?;
    Ok(())
}

fn add(c: &mut Cell, by: i64) {
    if let Cell::Int8(Some(v)) = c {
        *v += by;
    }
}

/// The raw baseline's connection.
#[derive(Debug)]
pub struct RawPg {
    conn: PgConnection,
}

impl RawPg {
    /// Connects to the bench database.
    pub async fn connect(options: &PgConnectOptions) -> sqlx::Result<Self> {
        Ok(Self {
            conn: PgConnection::connect_with(options).await?,
        })
    }

    /// The store's `access_read`: its one statement, every row visited.
    async fn access_read(&mut self, t: &PgTarget, primary: bool) -> sqlx::Result<u64> {
        let mut q = sqlx::query(access_sql(primary))
            .bind(t.workflow)
            .bind(t.user.as_str());
        if !primary {
            q = q.bind(t.file);
        }
        fold(&q.fetch_all(&mut self.conn).await?)
    }

    /// `check_access` for a given file.
    pub async fn check_access(&mut self, t: &PgTarget) -> sqlx::Result<u64> {
        self.access_read(t, false).await
    }

    /// `download` of the primary file, charged to the target's purchase;
    /// `id` is the new download's id.
    pub async fn download(&mut self, t: &PgTarget, id: Uuid) -> sqlx::Result<u64> {
        let acc = self.access_read(t, true).await?;
        let row = sqlx::query(concat!(
            "WITH found AS (SELECT EXISTS (SELECT 1 FROM workflows WHERE id = $3) AS w, \
             EXISTS (SELECT 1 FROM workflow_files WHERE id = $4 AND workflow_id = $3) AS f), \
             charged AS (UPDATE workflow_purchase_download_counts \
             SET downloads_used = downloads_used + 1 \
             WHERE purchase_id = $27 AND ($29::bigint IS NULL OR downloads_used < $29) \
             AND (SELECT w AND f FROM found) \
             AND EXISTS (SELECT 1 FROM workflow_purchases WHERE id = $27 \
                         AND payment_status = $28 FOR SHARE) RETURNING 1), \
             ins AS (INSERT INTO workflow_downloads (",
            download_cols!(),
            ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
             WHERE EXISTS (SELECT 1 FROM charged) RETURNING workflow_id, file_id), \
             w AS (UPDATE workflow_download_counts SET download_count = download_count + 1 \
                   WHERE workflow_id = (SELECT workflow_id FROM ins) RETURNING workflow_id), \
             f AS (UPDATE workflow_file_download_counts SET download_count = download_count + 1 \
                   WHERE file_id = (SELECT file_id FROM ins) AND EXISTS (SELECT 1 FROM w) \
                   RETURNING 1), \
             cat AS (UPDATE workflow_category_download_counts \
                     SET total_downloads = total_downloads + 1 \
                     WHERE category_id = (SELECT category_id FROM workflows \
                                          WHERE id = (SELECT workflow_id FROM w)) \
                     AND EXISTS (SELECT 1 FROM f) RETURNING 1), \
             vis AS (INSERT INTO workflow_analytics_visitors (workflow_id, date, visitor) \
                     SELECT workflow_id, $16, $26::text FROM ins \
                     WHERE $26::text IS NOT NULL AND EXISTS (SELECT 1 FROM cat) \
                     ON CONFLICT DO NOTHING RETURNING 1), \
             day AS (INSERT INTO workflow_analytics AS a (workflow_id, date, views, \
                       unique_visitors, clicks, downloads, purchases, favorites, shares, \
                       reviews, traffic_sources, countries) \
                     SELECT workflow_id, $16, $15, \
                       CASE WHEN $26::text IS NULL THEN $17::bigint \
                            ELSE (SELECT count(*) FROM vis) END, \
                       $18, $19, $20, $21, $22, $23, \
                       CASE WHEN $24::text IS NULL THEN '{}'::jsonb \
                            ELSE jsonb_build_object($24::text, 1) END, \
                       CASE WHEN $25::text IS NULL THEN '{}'::jsonb \
                            ELSE jsonb_build_object($25::text, 1) END \
                     FROM ins WHERE EXISTS (SELECT 1 FROM cat) \
                     ON CONFLICT (workflow_id, date) DO UPDATE SET \
                       views = a.views + EXCLUDED.views, \
                       unique_visitors = a.unique_visitors + EXCLUDED.unique_visitors, \
                       clicks = a.clicks + EXCLUDED.clicks, \
                       downloads = a.downloads + EXCLUDED.downloads, \
                       purchases = a.purchases + EXCLUDED.purchases, \
                       favorites = a.favorites + EXCLUDED.favorites, \
                       shares = a.shares + EXCLUDED.shares, \
                       reviews = a.reviews + EXCLUDED.reviews, \
                       traffic_sources = CASE WHEN $24::text IS NULL THEN a.traffic_sources \
                         ELSE jsonb_set(a.traffic_sources, ARRAY[$24::text], \
                           to_jsonb(COALESCE((a.traffic_sources ->> $24::text)::bigint, 0) + 1)) END, \
                       countries = CASE WHEN $25::text IS NULL THEN a.countries \
                         ELSE jsonb_set(a.countries, ARRAY[$25::text], \
                           to_jsonb(COALESCE((a.countries ->> $25::text)::bigint, 0) + 1)) END \
                     RETURNING 1) \
             SELECT found.w AS found_workflow, found.f AS found_file, \
             EXISTS (SELECT 1 FROM charged) AS charged, \
             CASE WHEN EXISTS (SELECT 1 FROM charged) AND NOT EXISTS (SELECT 1 FROM day) \
                  THEN vault_fail('a row the download counts went while it was recorded') \
                  ELSE true END AS counted \
             FROM found"
        ))
        .bind(id)
        .bind(Some(t.user.as_str()))
        .bind(t.workflow)
        .bind(t.file)
        .bind(t.file_version.as_str())
        .bind("purchased")
        .bind("purchase")
        .bind(Some(t.purchase))
        .bind(None::<Uuid>)
        .bind(t.ip_hash.as_deref())
        .bind(t.user_agent.as_deref())
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(t.now)
        .bind(0_i64)
        .bind(t.today)
        // The delta: a download's count and nothing else.
        .bind(0_i64)
        .bind(0_i64)
        .bind(1_i64)
        .bind(0_i64)
        .bind(0_i64)
        .bind(0_i64)
        .bind(0_i64)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(t.purchase)
        .bind("completed")
        .bind(Some(i64::from(crate::spec::TARGET_LIMIT)))
        .fetch_one(&mut self.conn)
        .await?;
        let ok = |col: &str| row.try_get::<bool, _>(col);
        if !ok("found_workflow")? || !ok("found_file")? {
            return Err(missing("workflow or file"));
        }
        if !ok("charged")? {
            return Err(missing("charge"));
        }
        Ok(acc)
    }

    /// The listing page of [`LIST_SQL`] for `viewer`: published, `category`, pro.
    pub async fn list(&mut self, viewer: &str, category: Uuid) -> sqlx::Result<u64> {
        fold(
            &sqlx::query(LIST_SQL)
                .bind(viewer)
                .bind("published")
                .bind(category)
                .bind(vec!["pro"])
                .fetch_all(&mut self.conn)
                .await?,
        )
    }

    /// The search page of [`SEARCH_SQL`] for `viewer` and `tsquery` (see
    /// [`tsquery`]).
    pub async fn search(&mut self, viewer: &str, tsquery: &str) -> sqlx::Result<u64> {
        fold(
            &sqlx::query(SEARCH_SQL)
                .bind(viewer)
                .bind("published")
                .bind(tsquery)
                .fetch_all(&mut self.conn)
                .await?,
        )
    }

    /// Inserts a pending purchase copied from `template` (setup of the
    /// completion baselines; not measured).
    pub async fn insert_pending(
        &mut self,
        template: Uuid,
        id: Uuid,
        user: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()> {
        let mut tx = self.conn.begin().await?;
        sqlx::query(
            "INSERT INTO workflow_purchases (id, user_id, purchase_type, workflow_id, bundle_id, \
             membership_id, item_workflows, license_type, license_key_hash, download_limit, \
             license_expires_at, update_months, updates_until, payment_status, \
             currency, amount, tax, total, refunded_amount, refund_reason, refunded_at, \
             payment_ref, stripe_customer_id, stripe_checkout_session_id, \
             stripe_payment_intent_id, stripe_subscription_id, stripe_price_id, created_at, \
             completed_at, disputed_at, updated_at) \
             SELECT $1, $2, purchase_type, workflow_id, NULL, NULL, item_workflows, license_type, \
             $3, download_limit, license_expires_at, update_months, updates_until, \
             payment_status, currency, amount, tax, total, NULL, NULL, NULL, NULL, NULL, NULL, \
             NULL, NULL, NULL, $4, NULL, NULL, $4 FROM workflow_purchases WHERE id = $5",
        )
        .bind(id)
        .bind(user)
        .bind(key)
        .bind(now)
        .bind(template)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO workflow_purchase_items (purchase_id, workflow_id, position) \
             SELECT $1, workflow_id, position FROM workflow_purchase_items WHERE purchase_id = $2",
        )
        .bind(id)
        .bind(template)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// `complete_purchase` of a pending one-workflow purchase.
    pub async fn complete(
        &mut self,
        id: Uuid,
        payment_ref: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> sqlx::Result<()> {
        // purchase_cols!() positions.
        const UPDATE_MONTHS: usize = 11;
        const UPDATES_UNTIL: usize = 12;
        const STATUS: usize = 13;
        const AMOUNT: usize = 15;
        const PAYMENT_REF: usize = 21;
        const COMPLETED_AT: usize = 28;
        const UPDATED_AT: usize = 30;
        let row = sqlx::query(PURCHASE_BY_ID)
            .bind(id)
            .fetch_optional(&mut self.conn)
            .await?
            .ok_or_else(|| missing("purchase"))?;
        let mut row = cells(&row)?;
        row.pop(); // downloads_used: downloads own it
        let workflow = match row[3] {
            Cell::Uuid(Some(w)) => w,
            _ => return Err(missing("one-workflow purchase")),
        };
        let amount = match row[AMOUNT] {
            Cell::Numeric(Some(a)) => a,
            _ => Decimal::ZERO,
        };
        row[STATUS] = Cell::Text(Some("completed".into()));
        row[PAYMENT_REF] = Cell::Text(Some(payment_ref.into()));
        row[COMPLETED_AT] = Cell::Timestamptz(Some(now));
        row[UPDATED_AT] = Cell::Timestamptz(Some(now));
        if let Cell::Int8(Some(m)) = row[UPDATE_MONTHS] {
            let months = Months::new(u32::try_from(m).unwrap_or(0));
            row[UPDATES_UNTIL] = Cell::Timestamptz(now.checked_add_months(months));
        }
        let mut tx = self.conn.begin().await?;
        let c: &mut PgConnection = &mut tx;
        let (status, _refunded): (String, Option<Decimal>) = sqlx::query_as(
            "SELECT payment_status, refunded_amount FROM workflow_purchases WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await?
        .ok_or_else(|| missing("purchase"))?;
        if status != "pending"
            || exists(
                sqlx::query("SELECT 1 FROM workflow_purchases WHERE payment_ref = $1 AND id <> $2")
                    .bind(payment_ref)
                    .bind(id),
                c,
            )
            .await?
            || !exists(sqlx::query(WORKFLOW_EXISTS).bind(workflow), c).await?
        {
            return Err(missing("a pending purchase of an existing workflow"));
        }
        bind_cells(
            sqlx::query(
                "UPDATE workflow_purchases SET user_id = $2, purchase_type = $3, workflow_id = $4, \
                 bundle_id = $5, membership_id = $6, item_workflows = $7, license_type = $8, \
                 license_key_hash = $9, download_limit = $10, license_expires_at = $11, \
                 update_months = $12, updates_until = $13, payment_status = $14, currency = $15, \
                 amount = $16, tax = $17, total = $18, refunded_amount = $19, refund_reason = $20, \
                 refunded_at = $21, payment_ref = $22, stripe_customer_id = $23, \
                 stripe_checkout_session_id = $24, stripe_payment_intent_id = $25, \
                 stripe_subscription_id = $26, stripe_price_id = $27, created_at = $28, \
                 completed_at = $29, disputed_at = $30, updated_at = $31 WHERE id = $1",
            ),
            row,
        )
        .execute(&mut *c)
        .await?;
        sqlx::query("DELETE FROM workflow_purchase_items WHERE purchase_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO workflow_purchase_items (purchase_id, workflow_id, position) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(workflow)
        .bind(0_i32)
        .execute(&mut *c)
        .await?;
        sqlx::query("UPDATE workflows SET purchase_count = purchase_count + 1 WHERE id = $1")
            .bind(workflow)
            .execute(&mut *c)
            .await?;
        apply_delta(c, workflow, today, |r| {
            add(&mut r[6], 1);
            if let Cell::Numeric(Some(revenue)) = &mut r[7] {
                *revenue += amount;
            }
            r[9] = Cell::Text(Some("USD".into()));
        })
        .await?;
        tx.commit().await
    }

    /// A checkout.session.completed delivery: claim, purchase read,
    /// completion, finish, parked events (created and received now).
    pub async fn webhook(
        &mut self,
        e: &PgEvent<'_>,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> sqlx::Result<()> {
        let mut tx = self.conn.begin().await?;
        let claimed = sqlx::query(webhook_insert!("DO NOTHING"))
            .bind(e.event)
            .bind("checkout.session.completed")
            .bind(Some(e.session))
            .bind(now)
            .bind("received")
            .bind(1_i32)
            .bind(None::<String>)
            .bind(false)
            .bind(now)
            .bind(now)
            .bind(None::<DateTime<Utc>>)
            .bind(None::<String>)
            .bind(None::<DateTime<Utc>>)
            .bind(None::<String>)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        if claimed != 1 {
            return Err(missing("a fresh event"));
        }
        fold(
            &sqlx::query(PURCHASE_BY_ID)
                .bind(e.purchase)
                .fetch_all(&mut self.conn)
                .await?,
        )?;
        self.complete(e.purchase, e.payment_ref, now, today).await?;
        let mut tx = self.conn.begin().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            webhook_cols!(),
            " FROM stripe_webhook_events WHERE id = $1 FOR UPDATE"
        ))
        .bind(e.event)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| missing("event"))?;
        let mut row = cells(&row)?;
        row[4] = Cell::Text(Some("processed".into()));
        row[7] = Cell::Bool(Some(true));
        row[10] = Cell::Timestamptz(Some(now));
        row[13] = Cell::Text(None);
        bind_cells(
            sqlx::query(webhook_insert!(
                "DO UPDATE SET event_type = EXCLUDED.event_type, object_id = EXCLUDED.object_id, \
                 created = EXCLUDED.created, status = EXCLUDED.status, attempts = EXCLUDED.attempts, \
                 last_error = EXCLUDED.last_error, applied = EXCLUDED.applied, \
                 received_at = EXCLUDED.received_at, claimed_at = EXCLUDED.claimed_at, \
                 finished_at = EXCLUDED.finished_at, waiting_for = EXCLUDED.waiting_for, \
                 parked_at = EXCLUDED.parked_at, payload = EXCLUDED.payload"
            )),
            row,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The events parked on the payment it completed, which it unblocks.
        fold(
            &sqlx::query(concat!(
                "SELECT ",
                webhook_cols!(),
                " FROM stripe_webhook_events WHERE status = $1 \
                 AND ($2::text IS NULL OR waiting_for = $2) ORDER BY received_at, id LIMIT $3"
            ))
            .bind("parked")
            .bind(format!("payment:{}", e.payment_ref))
            .bind(100_i64)
            .fetch_all(&mut self.conn)
            .await?,
        )?;
        Ok(())
    }
}
