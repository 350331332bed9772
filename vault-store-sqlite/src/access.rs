//! The access read path in one hand-off to the blocking pool.
//!
//! Each store call costs a trip through tokio's blocking pool (two thread
//! wake-ups, tens of microseconds on a small machine) on top of SQLite's own
//! few microseconds; a download made five of them. Here every read runs in
//! one closure on one reader connection, with the same statements the
//! separate methods use where they fetch the same rows.

use async_trait::async_trait;
use rusqlite::{Connection, params};
use vault_core::store::{AccessQuery, AccessRead, AccessStore, FileWanted, StoreResult};
use vault_core::value::actor::UserId;
use vault_core::value::ids::WorkflowId;

use crate::SqliteStore;
use crate::catalog::{file_cols, file_from_row, gate_cols, gate_from_row, query_one};
use crate::codec::{get, parse_ts};
use crate::commerce::{has_downloaded, memberships_for_user, purchases_covering};

#[async_trait]
impl AccessStore for SqliteStore {
    async fn access_read(&self, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
        let (workflow, file) = (query.workflow, query.file);
        let user = query.user.cloned();
        self.read(move |c| read(c, workflow, file, user.as_ref()))
            .await
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
        [workflow_id.to_string()],
        gate_from_row,
    )?
    else {
        return Ok(None);
    };
    let w = workflow_id.to_string();
    let file = match wanted {
        FileWanted::None => None,
        FileWanted::Id(id) => query_one(
            c,
            concat!(
                "SELECT ",
                file_cols!(),
                " FROM workflow_files WHERE id = ?1 AND workflow_id = ?2"
            ),
            params![id.to_string(), w],
            file_from_row,
        )?,
        FileWanted::Primary => query_one(
            c,
            concat!(
                "SELECT ",
                file_cols!(),
                " FROM workflow_files WHERE workflow_id = ?1 AND is_primary = 1"
            ),
            [&w],
            file_from_row,
        )?,
    };
    let file_released_at = match &file {
        Some(f) => query_one(
            c,
            "SELECT released_at FROM workflow_updates WHERE workflow_id = ?1 \
             AND version_major = ?2 AND version_minor = ?3 AND version_patch = ?4",
            params![w, f.version.major(), f.version.minor(), f.version.patch()],
            |row| parse_ts(&get::<String>(row, "released_at")?),
        )?,
        None => None,
    };
    let (purchases, memberships, downloaded_before) = match user {
        Some(user) => {
            let u = user.to_string();
            (
                purchases_covering(c, &u, &w)?,
                memberships_for_user(c, &u)?,
                has_downloaded(c, &u, &w)?,
            )
        }
        None => (Vec::new(), Vec::new(), false),
    };
    Ok(Some(AccessRead {
        workflow,
        file,
        file_released_at,
        purchases,
        memberships,
        downloaded_before,
    }))
}
