//! Downloads: the guarded write that records one against its charge, the
//! download history, and the access read path in one hand-off to the
//! blocking pool.
//!
//! Each store call costs a trip through tokio's blocking pool (two thread
//! wake-ups, tens of microseconds on a small machine) on top of SQLite's own
//! few microseconds; an access read would make five of them. Here every
//! read runs in one closure on one reader connection, in three statements:
//! the one-row facts side by side (`access_facts!`), the covering
//! purchases and the memberships, the latter two the separate methods' own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use vault_core::catalog::file::WorkflowFile;
use vault_core::delivery::access::GateFacts;
use vault_core::delivery::charge::Charged;
use vault_core::delivery::download::{Download, DownloadSource, IpHash, RequestMeta};
use vault_core::store::{
    AccessQuery, AccessRead, Charge, DeliveryStore, Entity, FileWanted, StoreError, StoreResult,
};
use vault_core::value::actor::{Refusal, UserId};
use vault_core::value::delta::AnalyticsDelta;
use vault_core::value::ids::WorkflowId;

use crate::catalog::{file_at, file_cols, gate_at, gate_cols};
use crate::codec::*;
use crate::commerce::{
    covering, membership_at, membership_cols, purchase_terms_at, purchase_terms_cols,
};
use crate::insight::daily::add_counts;
use crate::sql::{Id, each_row, exists, query_all};
use crate::{Reads, SqliteStore, Tx};

// ---------------------------------------------------------------- downloads

/// The columns read back, as a literal for `concat!`: the statements
/// are built at compile time, not formatted on every call.
macro_rules! download_cols {
    () => {
        "id, user_id, workflow_id, file_id, file_version, download_type, source, \
    purchase_id, membership_id, ip_hash, user_agent, referrer, country_code, downloaded_at"
    };
}

fn download_from_row(row: &Row<'_>) -> StoreResult<Download> {
    decode("workflow_downloads", || {
        let source: String = get(row, "source")?;
        let source = match source.as_str() {
            "free" => DownloadSource::Free,
            "staff" => DownloadSource::Staff,
            "purchase" => DownloadSource::Purchase(parse(row, "purchase_id")?),
            "membership" => DownloadSource::Membership(parse(row, "membership_id")?),
            other => return Err(corrupt("source", other)),
        };
        Ok(Download {
            id: parse(row, "id")?,
            user_id: parse_opt_with(row, "user_id", UserId::parse)?,
            workflow_id: parse(row, "workflow_id")?,
            file_id: parse(row, "file_id")?,
            file_version: parse(row, "file_version")?,
            kind: parse(row, "download_type")?,
            source,
            request: RequestMeta {
                ip_hash: parse_opt_with(row, "ip_hash", IpHash::parse)?,
                user_agent: get(row, "user_agent")?,
                referrer: get(row, "referrer")?,
                country: parse_opt_with(
                    row,
                    "country_code",
                    vault_core::value::country::CountryCode::parse,
                )?,
            },
            downloaded_at: time(row, "downloaded_at")?,
        })
    })
}

/// Takes one from the charge's quota with the guard in the statement, as
/// [`Charge`] describes it: one compare-and-increment whose parameters
/// come from the decision (the status it saw, its limit, the membership's
/// period). A miss reads what the row holds and returns vault-core's
/// verdict over it. Inside the immediate transaction nothing moves the row
/// between the two, so a verdict that passes means the guard's text
/// comparison missed what the parsed values match (a timestamp the
/// store wrote in another form): then the row is charged by id.
///
/// The read it replaced ran before every increment (the same two seeks
/// of the purchase's text key again, ~10k instructions a download); not
/// `UPDATE ... RETURNING` either: SQLite buffers a `RETURNING` statement's
/// rows in an ephemeral table it opens and closes on every call.
fn charge(tx: &Tx<'_>, c: &Charge) -> StoreResult<()> {
    let hit = match *c {
        Charge::Nothing => return Ok(()),
        Charge::Purchase {
            id,
            expected_status,
            limit,
        } => tx
            .prepare_cached(
                "UPDATE workflow_purchases SET downloads_used = downloads_used + 1 \
                 WHERE id = ?1 AND payment_status = ?2 \
                 AND (?3 IS NULL OR downloads_used < ?3)",
            )
            .map_err(db)?
            .execute(params![
                Id(&id),
                expected_status.as_str(),
                limit.map(i64::from)
            ])
            .map_err(db)?,
        Charge::Membership {
            id,
            expected_status,
            period_start,
            limit,
        } => tx
            .prepare_cached(
                "UPDATE memberships SET period_downloads_used = period_downloads_used + 1 \
                 WHERE id = ?1 AND status = ?2 AND current_period_start = ?3 \
                 AND (?4 IS NULL OR period_downloads_used < ?4)",
            )
            .map_err(db)?
            .execute(params![
                Id(&id),
                expected_status.as_str(),
                ts(&period_start),
                limit.map(i64::from)
            ])
            .map_err(db)?,
    };
    if hit == 1 {
        return Ok(());
    }
    c.verdict(held(tx, c)?)?;
    charge_by_id(tx, c)
}

/// What the row a charge names holds, `None` when there is no such row.
fn held(tx: &Tx<'_>, c: &Charge) -> StoreResult<Option<Charged>> {
    match *c {
        Charge::Nothing => Ok(None),
        Charge::Purchase { id, .. } => tx
            .prepare_cached(
                "SELECT payment_status, downloads_used FROM workflow_purchases WHERE id = ?1",
            )
            .map_err(db)?
            .query_row([Id(&id)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()
            .map_err(db)?
            .map(|(status, used)| {
                decode("workflow_purchases", || {
                    Ok(Charged::Purchase {
                        status: parse_text("payment_status", &status)?,
                        used: u32_of("downloads_used", used)?,
                    })
                })
            })
            .transpose(),
        Charge::Membership { id, .. } => tx
            .prepare_cached(
                "SELECT status, current_period_start, period_downloads_used FROM memberships \
                 WHERE id = ?1",
            )
            .map_err(db)?
            .query_row([Id(&id)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()
            .map_err(db)?
            .map(|(status, start, used)| {
                decode("memberships", || {
                    Ok(Charged::Membership {
                        status: parse_text("status", &status)?,
                        period_start: parse_text_with("current_period_start", &start, parse_ts)?,
                        used: u32_of("period_downloads_used", used)?,
                    })
                })
            })
            .transpose(),
    }
}

/// The increment alone, once the verdict has passed.
fn charge_by_id(tx: &Tx<'_>, c: &Charge) -> StoreResult<()> {
    match *c {
        Charge::Nothing => 0,
        Charge::Purchase { id, .. } => tx
            .prepare_cached(
                "UPDATE workflow_purchases SET downloads_used = downloads_used + 1 WHERE id = ?1",
            )
            .map_err(db)?
            .execute([Id(&id)])
            .map_err(db)?,
        Charge::Membership { id, .. } => tx
            .prepare_cached(
                "UPDATE memberships SET period_downloads_used = period_downloads_used + 1 \
                 WHERE id = ?1",
            )
            .map_err(db)?
            .execute([Id(&id)])
            .map_err(db)?,
    };
    Ok(())
}

/// The download's writes in one immediate transaction: the workflow's
/// count (its row missing is `NotFound`), the file's count where the file
/// is that workflow's, the charge ([`charge`]: one guarded increment),
/// the download row (a duplicate id is its own key violation), the
/// user's first download of the workflow, the category's count found
/// through the workflow, and the day's counts. Any
/// refusal returns an error and the transaction keeps none of it.
fn record_download(
    tx: &Tx<'_>,
    d: &Download,
    c: &Charge,
    delta: &AnalyticsDelta,
) -> StoreResult<()> {
    // Not `RETURNING category_id`: see [`charge`]. The category's counter
    // reads the row this statement leaves in the page cache.
    let counted = tx
        .prepare_cached("UPDATE workflows SET download_count = download_count + 1 WHERE id = ?1")
        .map_err(db)?
        .execute([Id(&d.workflow_id)])
        .map_err(db)?;
    if counted == 0 {
        return Err(StoreError::not_found(Entity::Workflow, d.workflow_id));
    }
    let file = tx
        .prepare_cached(
            "UPDATE workflow_files SET download_count = download_count + 1 \
             WHERE id = ?1 AND workflow_id = ?2",
        )
        .map_err(db)?
        .execute(params![Id(&d.file_id), Id(&d.workflow_id)])
        .map_err(db)?;
    if file == 0 {
        return Err(StoreError::not_found(Entity::File, d.file_id));
    }
    charge(tx, c)?;
    tx.step("record_download:after_charge")?;
    let (source, purchase, membership) = match d.source {
        DownloadSource::Free => ("free", None, None),
        DownloadSource::Staff => ("staff", None, None),
        DownloadSource::Purchase(p) => ("purchase", Some(p.to_string()), None),
        DownloadSource::Membership(m) => ("membership", None, Some(m.to_string())),
    };
    tx.prepare_cached(concat!(
        "INSERT INTO workflow_downloads (",
        download_cols!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))
    .map_err(db)?
    .execute(params![
        Id(&d.id),
        d.user_id.as_ref().map(|u| u.to_string()),
        Id(&d.workflow_id),
        Id(&d.file_id),
        d.file_version.to_string(),
        d.kind.as_str(),
        source,
        purchase,
        membership,
        d.request.ip_hash.as_ref().map(|h| h.as_str().to_owned()),
        d.request.user_agent,
        d.request.referrer,
        d.request.country.map(|c| c.as_str().to_owned()),
        ts(&d.downloaded_at),
    ])
    .map_err(|e| match e.sqlite_error() {
        Some(f) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            StoreError::exists(Entity::Download, d.id)
        }
        _ => db(e),
    })?;
    // What the access read's "downloaded before" reads: a row per pair,
    // so a repeated download dirties no page here, where an index of the
    // download rows took an entry on every one.
    if let Some(user) = &d.user_id {
        tx.prepare_cached(
            "INSERT INTO workflow_downloaders (workflow_id, user_id) VALUES (?1, ?2) \
             ON CONFLICT (workflow_id, user_id) DO NOTHING",
        )
        .map_err(db)?
        .execute(params![Id(&d.workflow_id), Id(user)])
        .map_err(db)?;
    }
    tx.step("record_download:after_insert")?;
    tx.prepare_cached(
        "UPDATE workflow_categories SET total_downloads = total_downloads + 1 \
         WHERE id = (SELECT category_id FROM workflows WHERE id = ?1)",
    )
    .map_err(db)?
    .execute([Id(&d.workflow_id)])
    .map_err(db)?;
    tx.step("record_download:after_counters")?;
    // The workflow was found above: the day's row needs no check of it.
    add_counts(tx, delta)
}

/// Whether a user has a recorded download of a workflow.
pub(crate) fn has_downloaded(
    c: &Connection,
    user: &UserId,
    workflow: WorkflowId,
) -> StoreResult<bool> {
    exists(
        c,
        "SELECT 1 FROM workflow_downloaders WHERE user_id = ?1 AND workflow_id = ?2",
        params![Id(user), Id(&workflow)],
    )
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn access_read(&self, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
        let (workflow, file) = (query.workflow, query.file);
        let user = query.user.cloned();
        let f = move |c: &Connection| read(c, workflow, file, user.as_ref());
        // `read` is one statement.
        if query.before_download {
            self.read_before_write(Reads::One, f).await
        } else {
            self.read_as(Reads::One, f).await
        }
    }

    async fn record_download(
        &self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        download.check_analytics(analytics)?;
        let (d, c, a) = (download.clone(), *charge, analytics.clone());
        self.write(move |tx| record_download(tx, &d, &c, &a)).await
    }

    async fn downloads_for_user(&self, user: &UserId, limit: u32) -> StoreResult<Vec<Download>> {
        let u = user.to_string();
        self.read(move |c| {
            query_all(
                c,
                concat!("SELECT ", download_cols!(), " FROM workflow_downloads WHERE user_id = ?1 ORDER BY downloaded_at DESC, id LIMIT ?2"),
                params![u, i64::from(limit)],
                download_from_row,
            )
        })
        .await
    }

    async fn downloads_for_workflow(
        &self,
        workflow: WorkflowId,
        limit: u32,
    ) -> StoreResult<Vec<Download>> {
        self.read(move |c| {
            query_all(
                c,
                concat!("SELECT ", download_cols!(), " FROM workflow_downloads WHERE workflow_id = ?1 ORDER BY downloaded_at DESC, id LIMIT ?2"),
                params![Id(&workflow), i64::from(limit)],
                download_from_row,
            )
        })
        .await
    }

    async fn has_downloaded(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        let u = user.clone();
        self.read(move |c| has_downloaded(c, &u, workflow)).await
    }
}

/// The file version's parts, selected after the file's own columns for
/// the release's lookup.
macro_rules! version_parts {
    () => {
        "version_major AS v_major, version_minor AS v_minor, version_patch AS v_patch"
    };
}

/// What follows the file: its release instant, "downloaded before" and the
/// account's standing.
macro_rules! facts_tail {
    () => {
        "(SELECT u.released_at FROM workflow_updates u \
         WHERE u.workflow_id = ?1 AND u.version_major = f.v_major \
         AND u.version_minor = f.v_minor AND u.version_patch = f.v_patch) AS released_at, \
         EXISTS (SELECT 1 FROM workflow_downloaders d WHERE d.workflow_id = ?1 AND d.user_id = ?3) \
         AS downloaded, a.banned_at IS NOT NULL AS banned, a.deleted_at IS NOT NULL AS deleted, \
         a.erased_at IS NOT NULL AS erased"
    };
}

/// The whole access read in one statement, `$file` the wanted file's
/// condition: `?1` the workflow, `?2` the file id, `?3` the user (NULL for
/// an anonymous caller: no download, no account, no purchase matches).
///
/// Three arms, each row tagged by its first column: the one-row facts
/// (`FACTS`: the gate, the file and its version's parts, then
/// [`facts_tail!`]), the purchases covering the workflow (`PURCHASE`) and
/// the user's memberships (`MEMBERSHIP`). Each source keeps its own column
/// list and decoder; an arm narrower than the widest is padded with NULLs.
/// One statement reads one snapshot on its own, so no transaction is
/// opened: the read with the separate statements it replaced cost ~16k
/// more instructions in statement set-up and `BEGIN`/`ROLLBACK`.
macro_rules! access_read {
    ($file:literal) => {
        concat!(
            "SELECT 0, g.*, f.*, ",
            facts_tail!(),
            " FROM (SELECT ",
            gate_cols!(),
            " FROM workflows WHERE id = ?1) AS g LEFT JOIN (SELECT ",
            file_cols!(),
            ", ",
            version_parts!(),
            " FROM workflow_files WHERE ",
            $file,
            ") AS f LEFT JOIN accounts a ON a.user_id = ?3 \
             UNION ALL SELECT 1, ",
            purchase_terms_cols!(),
            ", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
             FROM workflow_purchases p WHERE ",
            covering!("?3", "?1"),
            " UNION ALL SELECT 2, ",
            membership_cols!(),
            ", NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM memberships WHERE user_id = ?3"
        )
    };
}

/// The row tags of [`access_read!`].
const FACTS: i64 = 0;
const PURCHASE: i64 = 1;
const MEMBERSHIP: i64 = 2;

/// Where each source's columns start in an [`access_read!`] row.
const GATE_AT: usize = 1;
const FILE_AT: usize = GATE_AT + width(gate_cols!());
const TAIL_AT: usize = FILE_AT + width(file_cols!()) + width(version_parts!());

// Each arm as wide as the widest, the facts: the NULLs written in
// `access_read!` pad a purchase's terms by fourteen columns and a
// membership by seven.
const WIDEST: usize = TAIL_AT - GATE_AT + width(facts_tail!());
const _: () = assert!(width(purchase_terms_cols!()) + 14 == WIDEST);
const _: () = assert!(width(membership_cols!()) + 7 == WIDEST);

/// The one-row facts: the gate, the file and its release, "downloaded
/// before" and the standing.
type Facts = (
    GateFacts,
    Option<WorkflowFile>,
    Option<DateTime<Utc>>,
    bool,
    Option<Refusal>,
);

fn facts_at(row: &Row<'_>) -> StoreResult<Facts> {
    let gate = gate_at(row, GATE_AT)?;
    let file = match get::<Option<String>>(row, FILE_AT + at!(file_cols!(), "id"))? {
        Some(_) => Some(file_at(row, FILE_AT)?),
        None => None,
    };
    decode("workflow_updates", || {
        Ok((
            gate,
            file,
            opt_time(row, TAIL_AT)?,
            bool_col(row, TAIL_AT + 1)?,
            Refusal::of(
                bool_col(row, TAIL_AT + 2)?,
                bool_col(row, TAIL_AT + 3)?,
                bool_col(row, TAIL_AT + 4)?,
            ),
        ))
    })
}

fn read(
    c: &Connection,
    workflow_id: WorkflowId,
    wanted: FileWanted,
    user: Option<&UserId>,
) -> StoreResult<Option<AccessRead>> {
    let user_text = user.map(UserId::as_str);
    let (sql, file_id) = match wanted {
        FileWanted::None => (access_read!("0"), None),
        FileWanted::Id(id) => (access_read!("id = ?2 AND workflow_id = ?1"), Some(id)),
        FileWanted::Primary => (access_read!("workflow_id = ?1 AND is_primary = 1"), None),
    };
    let mut facts = None;
    let (mut purchases, mut memberships) = (Vec::new(), Vec::new());
    // A compound's columns bear its first arm's names: the later arms'
    // rows are named by their own lists, for an error to name the column.
    let purchase_names = Columns::listed(concat!("tag, ", purchase_terms_cols!()));
    let membership_names = Columns::listed(concat!("tag, ", membership_cols!()));
    each_row(
        c,
        sql,
        params![Id(&workflow_id), file_id.as_ref().map(Id), user_text],
        |row| {
            match get::<i64>(row, 0)? {
                FACTS => facts = Some(facts_at(row)?),
                PURCHASE => purchases.push(purchase_terms_at(&row.in_arm(&purchase_names), 1)?),
                MEMBERSHIP => memberships.push(membership_at(&row.in_arm(&membership_names), 1)?),
                other => return Err(corrupt("access read's row tag", other)),
            }
            Ok(())
        },
    )?;
    let Some((workflow, file, released_at, downloaded_before, refusal)) = facts else {
        return Ok(None);
    };
    Ok(Some(AccessRead {
        workflow,
        file_released_at: released_at,
        file,
        purchases,
        memberships,
        downloaded_before,
        refusal,
    }))
}
