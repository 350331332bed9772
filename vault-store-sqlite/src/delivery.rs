//! Downloads: the guarded write that records one against its charge, the
//! download history, and the access read path in one hand-off to the
//! blocking pool.
//!
//! Each store call costs a trip through tokio's blocking pool (two thread
//! wake-ups, tens of microseconds on a small machine) on top of SQLite's own
//! few microseconds; an access read would make five of them. Here every
//! read runs in one closure on one reader connection, with the same
//! statements the separate methods use where they fetch the same rows.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use vault_core::delivery::charge::Charged;
use vault_core::delivery::download::{Download, DownloadSource, IpHash, RequestMeta};
use vault_core::store::{
    AccessQuery, AccessRead, Charge, DeliveryStore, Entity, FileWanted, StoreError, StoreResult,
};
use vault_core::value::actor::{Refusal, UserId};
use vault_core::value::delta::AnalyticsDelta;
use vault_core::value::ids::WorkflowId;

use crate::catalog::{file_cols, file_from_row, gate_cols, gate_from_row};
use crate::codec::*;
use crate::commerce::{memberships_for_user, purchases_covering};
use crate::insight::daily::add_counts;
use crate::sql::{Id, exists, query_all, query_one};
use crate::{SqliteStore, Tx};

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

/// Takes one from the charge's quota and checks the guard with vault-core's
/// verdict over what the row held: one `UPDATE ... RETURNING`, where a read
/// and a write were two statements. A refused verdict returns its error
/// and the caller's transaction rolls the increment back; inside the
/// immediate transaction nothing else moves the row meanwhile.
fn charge(tx: &Tx<'_>, c: &Charge) -> StoreResult<()> {
    let held = match *c {
        Charge::Nothing => return Ok(()),
        Charge::Purchase { id, .. } => tx
            .prepare_cached(
                "UPDATE workflow_purchases SET downloads_used = downloads_used + 1 WHERE id = ?1 \
                 RETURNING payment_status, downloads_used",
            )
            .map_err(db)?
            .query_row([Id(&id)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()
            .map_err(db)?
            .map(|(status, after)| {
                decode("workflow_purchases", || {
                    Ok(Charged::Purchase {
                        status: parse_text("payment_status", &status)?,
                        used: u32_of("downloads_used", after - 1)?,
                    })
                })
            })
            .transpose()?,
        Charge::Membership { id, .. } => tx
            .prepare_cached(
                "UPDATE memberships SET period_downloads_used = period_downloads_used + 1 \
                 WHERE id = ?1 RETURNING status, current_period_start, period_downloads_used",
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
            .map(|(status, start, after)| {
                decode("memberships", || {
                    Ok(Charged::Membership {
                        status: parse_text("status", &status)?,
                        period_start: parse_text_with("current_period_start", &start, parse_ts)?,
                        used: u32_of("period_downloads_used", after - 1)?,
                    })
                })
            })
            .transpose()?,
    };
    c.verdict(held)?;
    Ok(())
}

/// The download's writes in six statements, each a counter moved where it
/// also finds its row: the workflow's count returns its category, the
/// file's count finds the file of that workflow, the charge returns what
/// its guard decides on, and a duplicate id is the insert's own key
/// violation. Any refusal returns an error and the transaction keeps none
/// of it.
fn record_download(
    tx: &Tx<'_>,
    d: &Download,
    c: &Charge,
    delta: &AnalyticsDelta,
) -> StoreResult<()> {
    let category: Option<String> = tx
        .prepare_cached(
            "UPDATE workflows SET download_count = download_count + 1 WHERE id = ?1 \
             RETURNING category_id",
        )
        .map_err(db)?
        .query_row([Id(&d.workflow_id)], |r| r.get(0))
        .optional()
        .map_err(db)?;
    let Some(category) = category else {
        return Err(StoreError::not_found(Entity::Workflow, d.workflow_id));
    };
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
    tx.step("record_download:after_insert")?;
    tx.prepare_cached(
        "UPDATE workflow_categories SET total_downloads = total_downloads + 1 WHERE id = ?1",
    )
    .map_err(db)?
    .execute([category])
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
        "SELECT 1 FROM workflow_downloads WHERE user_id = ?1 AND workflow_id = ?2",
        params![Id(user), Id(&workflow)],
    )
}

/// "Downloaded before" and the account's standing in one statement: the
/// account check costs the access read no statement of its own. Without an
/// account the join finds nothing and the user acts as before.
fn downloaded_and_standing(
    c: &Connection,
    user: &UserId,
    workflow: WorkflowId,
) -> StoreResult<(bool, Option<Refusal>)> {
    let row = query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM workflow_downloads WHERE user_id = ?1 AND workflow_id = ?2) \
         AS downloaded, a.banned_at IS NOT NULL AS banned, a.deleted_at IS NOT NULL AS deleted, \
         a.erased_at IS NOT NULL AS erased FROM (SELECT 1) AS one \
         LEFT JOIN accounts a ON a.user_id = ?1",
        params![Id(user), Id(&workflow)],
        |row| {
            Ok((
                bool_col(row, "downloaded")?,
                Refusal::of(
                    bool_col(row, "banned")?,
                    bool_col(row, "deleted")?,
                    bool_col(row, "erased")?,
                ),
            ))
        },
    )?;
    Ok(row.unwrap_or((false, None)))
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn access_read(&self, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
        let (workflow, file) = (query.workflow, query.file);
        let user = query.user.cloned();
        let f = move |c: &Connection| read(c, workflow, file, user.as_ref());
        if query.before_download {
            self.read_before_write(f).await
        } else {
            self.read(f).await
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

fn read(
    c: &Connection,
    workflow_id: WorkflowId,
    wanted: FileWanted,
    user: Option<&UserId>,
) -> StoreResult<Option<AccessRead>> {
    let Some(workflow) = query_one(
        c,
        concat!("SELECT ", gate_cols!(), " FROM workflows WHERE id = ?1"),
        [Id(&workflow_id)],
        gate_from_row,
    )?
    else {
        return Ok(None);
    };
    let file = match wanted {
        FileWanted::None => None,
        FileWanted::Id(id) => query_one(
            c,
            concat!(
                "SELECT ",
                file_cols!(),
                " FROM workflow_files WHERE id = ?1 AND workflow_id = ?2"
            ),
            params![Id(&id), Id(&workflow_id)],
            file_from_row,
        )?,
        FileWanted::Primary => query_one(
            c,
            concat!(
                "SELECT ",
                file_cols!(),
                " FROM workflow_files WHERE workflow_id = ?1 AND is_primary = 1"
            ),
            [Id(&workflow_id)],
            file_from_row,
        )?,
    };
    let file_released_at = match &file {
        Some(f) => query_one(
            c,
            "SELECT released_at FROM workflow_updates WHERE workflow_id = ?1 \
             AND version_major = ?2 AND version_minor = ?3 AND version_patch = ?4",
            params![
                Id(&workflow_id),
                f.version.major(),
                f.version.minor(),
                f.version.patch()
            ],
            |row| decode("workflow_updates", || time(row, "released_at")),
        )?,
        None => None,
    };
    let (purchases, memberships, downloaded_before, refusal) = match user {
        Some(user) => {
            let downloaded_and_standing = downloaded_and_standing(c, user, workflow_id)?;
            (
                purchases_covering(c, user, workflow_id)?,
                memberships_for_user(c, user)?,
                downloaded_and_standing.0,
                downloaded_and_standing.1,
            )
        }
        None => (Vec::new(), Vec::new(), false, None),
    };
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
