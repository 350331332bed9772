//! The access read path on one pooled connection.
//!
//! Each separate store call takes a connection and gives it back; a
//! download made five of them. Here the connection is taken once and the
//! same statements the separate methods use run on it in turn.

use async_trait::async_trait;
use sqlx::PgConnection;
use vault_core::store::{AccessQuery, AccessRead, AccessStore, StoreResult};

use crate::PgStore;
use crate::catalog::{load_gate, version_released_at, wanted_file};
use crate::commerce::{has_downloaded, memberships_for_user, purchases_covering};
use crate::lease::on_conn;

#[async_trait]
impl AccessStore for PgStore {
    async fn access_read(&self, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
        on_conn!(self, |c| read(c, query))
    }
}

async fn read(c: &mut PgConnection, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
    let Some(workflow) = load_gate(&mut *c, query.workflow).await? else {
        return Ok(None);
    };
    let file = wanted_file(&mut *c, query.workflow, query.file).await?;
    let file_released_at = match &file {
        Some(f) => version_released_at(&mut *c, query.workflow, f.version).await?,
        None => None,
    };
    let (purchases, memberships, downloaded_before) = match query.user {
        Some(user) => (
            purchases_covering(&mut *c, user, query.workflow).await?,
            memberships_for_user(&mut *c, user).await?,
            has_downloaded(&mut *c, user, query.workflow).await?,
        ),
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
