//! Downloads: the guarded write that records one against its charge, the
//! download history, and the access read path on one pooled connection.
//!
//! Each separate store call takes a connection and gives it back; an access
//! read would make five of them. Here the connection is taken once and four
//! statements run on it in turn (the workflow's gate; the wanted file with
//! its release instant; the purchases covering the workflow; the user's
//! memberships with "downloaded before" and the account's standing): each
//! statement is a round trip, so what one statement can carry it does.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;
use vault_core::delivery::charge::Charged;
use vault_core::delivery::download::{Download, DownloadSource, IpHash, RequestMeta};
use vault_core::store::{
    AccessQuery, AccessRead, Charge, DeliveryStore, Entity, FileWanted, StoreError, StoreResult,
};
use vault_core::value::actor::{Refusal, UserId};
use vault_core::value::country::CountryCode;
use vault_core::value::delta::AnalyticsDelta;
use vault_core::value::ids::WorkflowId;

use crate::PgStore;
use crate::catalog::{file_cols, file_from_row, file_released_at, gate_cols, gate_from_row};
use crate::codec::*;
use crate::commerce::{
    membership_cols, membership_from_row, purchase_terms_cols, purchase_terms_from_row,
};
use crate::lease::on_conn;

// ---------------------------------------------------------------- downloads

macro_rules! download_cols {
    () => {
        "id, user_id, workflow_id, file_id, file_version, download_type, source, purchase_id, \
         membership_id, ip_hash, user_agent, referrer, country_code, downloaded_at"
    };
}

fn download_from_row(row: &PgRow) -> StoreResult<Download> {
    decode("workflow_downloads", || {
        let source: String = get(row, "source")?;
        let source = match source.as_str() {
            "free" => DownloadSource::Free,
            "staff" => DownloadSource::Staff,
            "purchase" => DownloadSource::Purchase(
                opt_id(row, "purchase_id")?.ok_or_else(|| corrupt("purchase_id", "NULL"))?,
            ),
            "membership" => DownloadSource::Membership(
                opt_id(row, "membership_id")?.ok_or_else(|| corrupt("membership_id", "NULL"))?,
            ),
            other => return Err(corrupt("source", other)),
        };
        Ok(Download {
            id: id(row, "id")?,
            user_id: parse_opt_with(row, "user_id", UserId::parse)?,
            workflow_id: id(row, "workflow_id")?,
            file_id: id(row, "file_id")?,
            file_version: parse(row, "file_version")?,
            kind: parse(row, "download_type")?,
            source,
            request: RequestMeta {
                ip_hash: parse_opt_with(row, "ip_hash", IpHash::parse)?,
                user_agent: get(row, "user_agent")?,
                referrer: get(row, "referrer")?,
                country: parse_opt_with(row, "country_code", CountryCode::parse)?,
            },
            downloaded_at: get(row, "downloaded_at")?,
        })
    })
}

/// What the row a charge names holds now.
async fn held(c: &mut PgConnection, charge: &Charge) -> StoreResult<Option<Charged>> {
    match *charge {
        Charge::Nothing => Ok(None),
        Charge::Purchase { id, .. } => {
            let row: Option<(String, i64)> = sqlx::query_as(
                "SELECT p.payment_status, c.downloads_used FROM workflow_purchases p \
                 JOIN workflow_purchase_download_counts c ON c.purchase_id = p.id WHERE p.id = $1",
            )
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
            row.map(|(status, used)| {
                decode("workflow_purchases", || {
                    Ok(Charged::Purchase {
                        status: parse_text("payment_status", &status)?,
                        used: u32_of("downloads_used", used)?,
                    })
                })
            })
            .transpose()
        }
        Charge::Membership { id, .. } => {
            let row: Option<(String, chrono::DateTime<chrono::Utc>, i64)> = sqlx::query_as(
                "SELECT status, current_period_start, period_downloads_used FROM memberships \
                 WHERE id = $1",
            )
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(db)?;
            row.map(|(status, period_start, used)| {
                decode("memberships", || {
                    Ok(Charged::Membership {
                        status: parse_text("status", &status)?,
                        period_start,
                        used: u32_of("period_downloads_used", used)?,
                    })
                })
            })
            .transpose()
        }
    }
}

/// The workflow's views, then its download count: for a delta with views.
/// Only then does the statement name `workflows` as a table it writes: a
/// statement that writes a table opens and locks it and its indexes (fifteen
/// here, six GIN) whether or not a row is written, ~35 µs of a download's
/// ~420 on the server (pgbench, the same statement without it).
macro_rules! viewed_and_counted {
    () => {
        "v AS (UPDATE workflows SET view_count = view_count + $15 \
               WHERE id = (SELECT workflow_id FROM ins) AND $15 > 0 RETURNING 1), \
         w AS (UPDATE workflow_download_counts SET download_count = download_count + 1 \
               WHERE workflow_id = (SELECT workflow_id FROM ins) \
               AND (SELECT count(*) FROM v) >= 0 RETURNING workflow_id),"
    };
}

/// The download count alone: for a delta without views (the vault's own).
macro_rules! counted {
    () => {
        "w AS (UPDATE workflow_download_counts SET download_count = download_count + 1 \
               WHERE workflow_id = (SELECT workflow_id FROM ins) RETURNING workflow_id),"
    };
}

/// A download's whole write as one statement, but for the charge: the
/// workflow and file looked up (`found`), then the download row, its three
/// counters, the day's visitor and the day's analytics row, each step
/// chained on the one before, in the lock order every write uses: the
/// charged row, the workflow (only when the delta has views: a download
/// leaves the wide, heavily indexed workflows row alone), then the
/// workflow's, file's and category's download counts (each a narrow row of
/// its own: migrations 0012 and 0014), the day's visitor, the day's row.
/// A data-modifying CTE runs once, and a sub-query on another is evaluated
/// before the statement that holds it touches a row, so each waits for the
/// one it names.
///
/// The delta is added in place (`ON CONFLICT ... DO UPDATE`): a download's
/// delta only counts ([`AnalyticsDelta::counts_only`], checked before), and
/// adding counts is what vault-core's rule does with such a delta; its
/// unique visitor is one when the visitor's row for the day is new. A step
/// that finds its row gone after the charge fails the statement
/// (`vault_fail`, migration 0013), so the statement keeps all of its steps
/// or none, without a transaction around it.
///
/// `$1`-`$14` are the row; the delta: `$15` views, `$16` its day, `$17`
/// unique visitors (when it names no visitor), `$18` clicks, `$19`
/// downloads, `$20` purchases, `$21` favorites, `$22` shares, `$23`
/// reviews, `$24` traffic source, `$25` country, `$26` visitor; the charge
/// from `$27`. `charged` (a CTE the caller puts first, or a constant)
/// gates the insert; `counted` is [`viewed_and_counted!`] or
/// [`counted!`]. The row says what was found and charged.
macro_rules! download_write {
    // A delta that names a visitor: its row for the day, and the unique
    // visitor counted when that row is new.
    ($charged:expr, $counted:expr, visitor) => {
        download_write!(
            @ $charged,
            $counted,
            "vis AS (INSERT INTO workflow_analytics_visitors (workflow_id, date, visitor) \
                     SELECT workflow_id, $16, $26::text FROM ins \
                     WHERE EXISTS (SELECT 1 FROM cat) \
                     ON CONFLICT DO NOTHING RETURNING 1), ",
            "(SELECT count(*) FROM vis)"
        )
    };
    // One that names none (every download the vault records): no step
    // names the visitors' table, which a statement would open and lock
    // with its index even when it writes no row there.
    ($charged:expr, $counted:expr, no_visitor) => {
        download_write!(@ $charged, $counted, "", "$17::bigint")
    };
    (@ $charged:expr, $counted:expr, $visited:expr, $unique_visitors:expr) => {
        concat!(
            "WITH found AS (SELECT EXISTS (SELECT 1 FROM workflows WHERE id = $3) AS w, \
             EXISTS (SELECT 1 FROM workflow_files WHERE id = $4 AND workflow_id = $3) AS f), ",
            $charged,
            " ins AS (INSERT INTO workflow_downloads (",
            download_cols!(),
            ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
             WHERE EXISTS (SELECT 1 FROM charged) RETURNING workflow_id, file_id), \
             ",
            $counted,
            " f AS (UPDATE workflow_file_download_counts SET download_count = download_count + 1 \
                   WHERE file_id = (SELECT file_id FROM ins) AND EXISTS (SELECT 1 FROM w) \
                   RETURNING 1), \
             cat AS (UPDATE workflow_category_download_counts \
                     SET total_downloads = total_downloads + 1 \
                     WHERE category_id = (SELECT category_id FROM workflows \
                                          WHERE id = (SELECT workflow_id FROM w)) \
                     AND EXISTS (SELECT 1 FROM f) RETURNING 1), \
             ",
            $visited,
            "day AS (INSERT INTO workflow_analytics AS a (workflow_id, date, views, \
                       unique_visitors, clicks, downloads, purchases, favorites, shares, \
                       reviews, traffic_sources, countries) \
                     SELECT workflow_id, $16, $15, ",
            $unique_visitors,
            ", \
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
        )
    };
}

/// Records a download in one statement ([`download_write!`]): one round
/// trip, no `BEGIN`/`COMMIT` around it (a statement on its own is its own
/// transaction, all or nothing). The charge is a compare-and-increment
/// whose parameters are the charge's guard: the row lock it takes makes
/// concurrent chargers queue, and each re-checks the guard against the
/// previous one's commit (READ COMMITTED re-evaluates the WHERE clause on
/// the newest row version); it charges nothing when the workflow or file is
/// missing. A purchase's count is a row of its own (migration 0014): its
/// status is checked under a share lock on the purchase row, taken first,
/// so a refund's update waits for the charge or the charge for the refund,
/// and sees its status. Only when the guard matched no row is the row read
/// again, for vault-core's verdict. A taken download id needs no read of its own: the
/// insert's unique violation says it, and fails the statement, charge and
/// all.
async fn record_download(
    s: &PgStore,
    c: &mut PgConnection,
    d: &Download,
    ch: &Charge,
    delta: &AnalyticsDelta,
) -> StoreResult<()> {
    let (source, purchase, membership) = match d.source {
        DownloadSource::Free => ("free", None, None),
        DownloadSource::Staff => ("staff", None, None),
        DownloadSource::Purchase(p) => ("purchase", Some(p.as_uuid()), None),
        DownloadSource::Membership(m) => ("membership", None, Some(m.as_uuid())),
    };
    macro_rules! free {
        () => {
            "charged AS (SELECT 1 WHERE (SELECT w AND f FROM found)),"
        };
    }
    macro_rules! purchase {
        () => {
            "charged AS (UPDATE workflow_purchase_download_counts \
             SET downloads_used = downloads_used + 1 \
             WHERE purchase_id = $27 AND ($29::bigint IS NULL OR downloads_used < $29) \
             AND (SELECT w AND f FROM found) \
             AND EXISTS (SELECT 1 FROM workflow_purchases WHERE id = $27 \
                         AND payment_status = $28 FOR SHARE) RETURNING 1),"
        };
    }
    macro_rules! membership {
        () => {
            "charged AS (UPDATE memberships \
             SET period_downloads_used = period_downloads_used + 1 \
             WHERE id = $27 AND status = $28 AND current_period_start = $30 \
             AND ($29::bigint IS NULL OR period_downloads_used < $29) \
             AND (SELECT w AND f FROM found) RETURNING 1),"
        };
    }
    macro_rules! variant {
        ($charged:expr, $visitor:tt) => {
            if delta.views > 0 {
                download_write!($charged, viewed_and_counted!(), $visitor)
            } else {
                download_write!($charged, counted!(), $visitor)
            }
        };
    }
    let sql = match (ch, delta.visitor.is_some()) {
        (Charge::Nothing, true) => variant!(free!(), visitor),
        (Charge::Nothing, false) => variant!(free!(), no_visitor),
        (Charge::Purchase { .. }, true) => variant!(purchase!(), visitor),
        (Charge::Purchase { .. }, false) => variant!(purchase!(), no_visitor),
        (Charge::Membership { .. }, true) => variant!(membership!(), visitor),
        (Charge::Membership { .. }, false) => variant!(membership!(), no_visitor),
    };
    let mut q = sqlx::query(sql)
        .bind(d.id.as_uuid())
        .bind(d.user_id.as_ref().map(|u| u.as_str().to_owned()))
        .bind(d.workflow_id.as_uuid())
        .bind(d.file_id.as_uuid())
        .bind(d.file_version.to_string())
        .bind(d.kind.as_str())
        .bind(source)
        .bind(purchase)
        .bind(membership)
        .bind(d.request.ip_hash.as_ref().map(|h| h.as_str().to_owned()))
        .bind(d.request.user_agent.clone())
        .bind(d.request.referrer.clone())
        .bind(d.request.country.map(|c| c.as_str().to_owned()))
        .bind(d.downloaded_at)
        .bind(i64_of(delta.views)?)
        .bind(delta.date)
        .bind(match delta.visitor {
            // A named visitor is counted by its row, not by the field.
            Some(_) => 0,
            None => i64_of(delta.unique_visitors)?,
        })
        .bind(i64_of(delta.clicks)?)
        .bind(i64_of(delta.downloads)?)
        .bind(i64_of(delta.purchases)?)
        .bind(i64_of(delta.favorites)?)
        .bind(i64_of(delta.shares)?)
        .bind(i64_of(delta.reviews)?)
        .bind(delta.traffic_source.clone())
        .bind(delta.country.map(|c| c.as_str().to_owned()))
        .bind(delta.visitor.as_ref().map(|v| v.storage_key()));
    match *ch {
        Charge::Nothing => {}
        Charge::Purchase {
            id,
            expected_status,
            limit,
        } => {
            q = q
                .bind(id.as_uuid())
                .bind(expected_status.as_str())
                .bind(limit.map(i64::from));
        }
        Charge::Membership {
            id,
            expected_status,
            period_start,
            limit,
        } => {
            q = q
                .bind(id.as_uuid())
                .bind(expected_status.as_str())
                .bind(limit.map(i64::from))
                .bind(period_start);
        }
    }
    // The last moment a test can stop or fail the write: after it, the
    // statement is all of it.
    s.step(c, "record_download:before_statement").await?;
    let row = q
        .fetch_one(&mut *c)
        .await
        .map_err(|e| download_error(e, d))?;
    if !get::<bool>(&row, "found_workflow")? {
        return Err(StoreError::not_found(Entity::Workflow, d.workflow_id));
    }
    if !get::<bool>(&row, "found_file")? {
        return Err(StoreError::not_found(Entity::File, d.file_id));
    }
    if !get::<bool>(&row, "charged")? {
        return Err(ch.miss(held(c, ch).await?));
    }
    Ok(())
}

/// Why a download's statement failed, for the caller: a taken id; a row
/// it names gone under it (a foreign key's own check, or `vault_fail` when
/// a counted row went after the charge: the statement kept nothing).
fn download_error(e: sqlx::Error, d: &Download) -> StoreError {
    let (code, constraint, message) = match e.as_database_error() {
        Some(db_err) => (
            db_err.code().map(|c| c.into_owned()),
            db_err.constraint().map(str::to_owned),
            db_err.message().to_owned(),
        ),
        None => return db(e),
    };
    match (code.as_deref(), constraint.as_deref()) {
        (Some("23505"), _) => StoreError::exists(Entity::Download, d.id),
        (Some("23503"), Some("workflow_downloads_file_id_fkey")) => {
            StoreError::not_found(Entity::File, d.file_id)
        }
        (Some("23503"), Some("workflow_downloads_purchase_id_fkey")) => match d.source {
            DownloadSource::Purchase(p) => StoreError::not_found(Entity::Purchase, p),
            _ => db(e),
        },
        (Some("23503"), Some("workflow_downloads_membership_id_fkey")) => match d.source {
            DownloadSource::Membership(m) => StoreError::not_found(Entity::Membership, m),
            _ => db(e),
        },
        (Some("23503"), _) => StoreError::not_found(Entity::Workflow, d.workflow_id),
        // P0002 is PL/pgSQL's general "no data found": only `vault_fail`'s
        // own message is this race.
        (Some("P0002"), _) if message == VAULT_FAIL_GONE => {
            StoreError::not_found(Entity::Workflow, d.workflow_id)
        }
        _ => db(e),
    }
}

/// The message the download's statement fails with (`vault_fail`) when a
/// row it counts went after the charge.
const VAULT_FAIL_GONE: &str = "a row the download counts went while it was recorded";

/// Whether a user has a recorded download of a workflow.
pub(crate) async fn has_downloaded<'e>(
    e: impl PgExecutor<'e>,
    user: &UserId,
    workflow: WorkflowId,
) -> StoreResult<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM workflow_downloads WHERE user_id = $1 AND workflow_id = $2)",
    )
    .bind(user.as_str())
    .bind(workflow.as_uuid())
    .fetch_one(e)
    .await
    .map_err(db)
}

#[async_trait]
impl DeliveryStore for PgStore {
    async fn access_read(&self, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
        on_conn!(self, |c| read(c, query))
    }

    async fn record_download(
        &self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        download.check_analytics(analytics)?;
        // One statement, so no transaction; run again, as a transaction is,
        // on a deadlock (a statement that fails keeps nothing).
        let mut attempt = 0;
        loop {
            match on_conn!(self, |c| record_download(
                self, c, download, charge, analytics
            )) {
                Err(e) if attempt < crate::MAX_RETRIES && crate::retryable(&e) => attempt += 1,
                other => break other,
            }
        }
    }

    async fn downloads_for_user(&self, user: &UserId, limit: u32) -> StoreResult<Vec<Download>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            download_cols!(),
            " FROM workflow_downloads WHERE user_id = $1 ORDER BY downloaded_at DESC, id LIMIT $2"
        ))
        .bind(user.as_str())
        .bind(i64::from(limit))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(download_from_row)
        .collect()
    }

    async fn downloads_for_workflow(
        &self,
        workflow: WorkflowId,
        limit: u32,
    ) -> StoreResult<Vec<Download>> {
        on_conn!(self, |c| sqlx::query(concat!(
            "SELECT ",
            download_cols!(),
            " FROM workflow_downloads WHERE workflow_id = $1 \
             ORDER BY downloaded_at DESC, id LIMIT $2"
        ))
        .bind(workflow.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(c))
        .map_err(db)?
        .iter()
        .map(download_from_row)
        .collect()
    }

    async fn has_downloaded(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        on_conn!(self, |c| has_downloaded(c, user, workflow))
    }
}

/// The access read as one statement, one round trip (it took four; each
/// costs ~0.1 ms on loopback here, more than the work). Five sources side
/// by side: the workflow's gate facts (`g_`), the wanted file with its
/// release instant (`f_`), the standing row ("downloaded before" and the
/// account's state), and the user's covering purchases (`p_`) and
/// memberships (`m_`) as a `FULL JOIN ... ON false`, which yields one row
/// per purchase and one per membership, each with the other's columns
/// NULL. The workflow and file columns repeat on every row; every source
/// keeps its one decoder, reading its columns through [`Prefixed`].
/// Without a user, `$2` is NULL and matches nothing: no purchases, no
/// memberships, standing clear. No workflow, no row.
///
/// The covering purchases are the user's, by the user's index, filtered by
/// `$1 = ANY (item_workflows)`: a user holds few purchases, and the
/// generic plan's `@>` took the items' GIN index too and intersected the
/// two bitmaps, ~14 µs more a read (pgbench -M prepared, three rounds).
/// Its cost grows with the user's purchases, not the catalog's, as the
/// SQLite store's walk of the user's index does.
fn access_statement(file: FileWanted) -> &'static str {
    static SQL: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    let [none, by_id, primary] = SQL.get_or_init(|| {
        let statement = |file_filter: &str| {
            format!(
                "SELECT {g}, {f}, s.downloaded, s.banned, s.deleted, s.erased, {p}, {m} \
                 FROM (SELECT {gate} FROM workflows WHERE id = $1) AS g \
                 LEFT JOIN (SELECT {file_cols}, {released} FROM workflow_files \
                            WHERE {file_filter}) AS f ON true \
                 CROSS JOIN (SELECT EXISTS (SELECT 1 FROM workflow_downloads \
                                            WHERE user_id = $2 AND workflow_id = $1) AS downloaded, \
                             a.banned_at IS NOT NULL AS banned, a.deleted_at IS NOT NULL AS deleted, \
                             a.erased_at IS NOT NULL AS erased \
                             FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.user_id = $2) AS s \
                 LEFT JOIN ((SELECT {purchase_terms_cols} FROM workflow_purchases \
                             WHERE user_id = $2 AND $1 = ANY (item_workflows)) AS p \
                            FULL JOIN (SELECT {membership_cols} FROM memberships \
                                       WHERE user_id = $2) AS m ON false) ON true",
                g = prefixed_list("g", gate_cols!(), "g_"),
                f = prefixed_list("f", concat!(file_cols!(), ", ", file_released_at!()), "f_"),
                p = prefixed_list("p", purchase_terms_cols!(), "p_"),
                m = prefixed_list("m", membership_cols!(), "m_"),
                gate = gate_cols!(),
                file_cols = file_cols!(),
                released = file_released_at!(),
                purchase_terms_cols = purchase_terms_cols!(),
                membership_cols = membership_cols!(),
            )
        };
        [
            statement("false"),
            statement("id = $3 AND workflow_id = $1"),
            statement("workflow_id = $1 AND is_primary"),
        ]
    });
    match file {
        FileWanted::None => none,
        FileWanted::Id(_) => by_id,
        FileWanted::Primary => primary,
    }
}

async fn read(c: &mut PgConnection, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
    let mut q = sqlx::query(access_statement(query.file))
        .bind(query.workflow.as_uuid())
        .bind(query.user.map(UserId::as_str));
    if let FileWanted::Id(id) = query.file {
        q = q.bind(id.as_uuid());
    }
    let rows = q.fetch_all(&mut *c).await.map_err(db)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let source = |row, prefix| Prefixed { row, prefix };
    let workflow = gate_from_row(&source(first, "g_"))?;
    let (file, file_released_at) = match get::<Option<Uuid>>(first, "f_id")? {
        Some(_) => (
            Some(file_from_row(&source(first, "f_"))?),
            get(first, "f_file_released_at")?,
        ),
        None => (None, None),
    };
    let refusal = Refusal::of(
        get(first, "banned")?,
        get(first, "deleted")?,
        get(first, "erased")?,
    );
    let downloaded_before = get(first, "downloaded")?;
    let (mut purchases, mut memberships) = (Vec::new(), Vec::new());
    for row in &rows {
        if get::<Option<Uuid>>(row, "p_id")?.is_some() {
            purchases.push(purchase_terms_from_row(&source(row, "p_"))?);
        }
        if get::<Option<Uuid>>(row, "m_id")?.is_some() {
            memberships.push(membership_from_row(&source(row, "m_"))?);
        }
    }
    Ok(Some(AccessRead {
        workflow,
        file,
        file_released_at,
        purchases,
        memberships,
        downloaded_before,
        refusal,
    }))
}
