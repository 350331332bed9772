//! Delivery's part of the storage contract (see [`crate::store`] for what
//! every backend guarantees): the guarded write that records a download
//! against its charge, the download history, and the one read an access
//! decision needs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::store::AccountStore;
use crate::catalog::file::WorkflowFile;
use crate::catalog::store::CatalogStore;
use crate::commerce::membership::Membership;
use crate::commerce::purchase::{Purchase, PurchaseTerms};
use crate::commerce::store::CommerceStore;
use crate::delivery::access::GateFacts;
pub use crate::delivery::charge::Charge;
use crate::delivery::download::Download;
use crate::value::actor::{Refusal, UserId};
use crate::value::delta::AnalyticsDelta;
use crate::value::error::StoreResult;
use crate::value::ids::{FileId, WorkflowId};

/// Which file an [`AccessRead`] fetches with its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileWanted {
    /// No file: a check on the workflow as a whole.
    None,
    /// This file, if it belongs to the workflow.
    Id(FileId),
    /// The workflow's primary file.
    Primary,
}

/// What to read: a workflow, optionally one of its files, and optionally a
/// user's entitlements to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessQuery<'a> {
    /// The workflow.
    pub workflow: WorkflowId,
    /// The file to fetch with it.
    pub file: FileWanted,
    /// The user whose entitlements to fetch; `None` fetches none.
    pub user: Option<&'a UserId>,
    /// The read decides a download, whose write follows at once. A store
    /// may then read where that write will go (SQLite: on the writer
    /// connection, whose page cache its own writes keep valid, where a
    /// reader's is dropped after every commit). What it reads is the same.
    pub before_download: bool,
}

/// Everything an access decision reads, as stored. Holds facts, no verdict:
/// the service decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRead {
    /// The workflow's facts the rule reads, whatever its status.
    pub workflow: GateFacts,
    /// The wanted file: `None` when none was wanted, when the id names no
    /// file or a file of another workflow, or when the workflow has no
    /// primary file.
    pub file: Option<WorkflowFile>,
    /// When the update that carries the file's version was released, if the
    /// workflow has an update with exactly that version.
    pub file_released_at: Option<DateTime<Utc>>,
    /// The user's purchases covering the workflow, any status, in no
    /// particular order: the rule orders what it weighs itself, and a
    /// backend reading everything in one statement need not sort.
    pub purchases: Vec<PurchaseTerms>,
    /// The user's memberships, any status, in no particular order.
    pub memberships: Vec<Membership>,
    /// The user has a recorded download of the workflow.
    pub downloaded_before: bool,
    /// Why the user's account may not act, when it may not (`None` too for
    /// a user without an account, who acts as before).
    pub refusal: Option<Refusal>,
}

/// Downloads, and the read path of access checks and downloads.
///
/// [`DeliveryStore::access_read`] has a default built from the other traits'
/// methods, one call each: correct on any backend, and what the in-memory
/// store uses. A backend whose calls cost a hand-off (a blocking pool, a
/// pooled connection) overrides it to do every read in one hand-off; it must
/// return what the default returns, up to the order of the purchases and
/// memberships, which the conformance suite checks case by case. Like the
/// default, the reads need not be one snapshot: a download's charge is
/// guarded at write time, and a decision read across a concurrent write is
/// one a moment earlier would have made.
#[async_trait]
pub trait DeliveryStore: CatalogStore + CommerceStore + AccountStore {
    /// Records a download, atomically: checks and increments the charge's
    /// quota (`Conflict` if its state moved, `LimitReached` if `used` has
    /// reached the *charge's* limit), inserts
    /// the download, adds one to the workflow's, file's and category's
    /// download counters, and applies `analytics`.
    async fn record_download(
        &self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()>;
    /// A user's downloads, newest first, at most `limit`.
    async fn downloads_for_user(&self, user: &UserId, limit: u32) -> StoreResult<Vec<Download>>;
    /// A workflow's downloads, newest first, at most `limit`.
    async fn downloads_for_workflow(
        &self,
        workflow: WorkflowId,
        limit: u32,
    ) -> StoreResult<Vec<Download>>;
    /// True when `user` has downloaded `workflow` before.
    async fn has_downloaded(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool>;

    /// Reads what [`AccessRead`] lists. `None` when the workflow does not
    /// exist.
    async fn access_read(&self, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
        compose_access_read(self, query).await
    }
}

/// [`DeliveryStore::access_read`]'s default, callable by an override that
/// wants it for some cases.
pub async fn compose_access_read<S>(
    store: &S,
    query: &AccessQuery<'_>,
) -> StoreResult<Option<AccessRead>>
where
    S: DeliveryStore + ?Sized,
{
    let Some(workflow) = store.workflow(query.workflow).await? else {
        return Ok(None);
    };
    let workflow = GateFacts::from(&workflow);
    let file = match query.file {
        FileWanted::None => None,
        FileWanted::Id(id) => store
            .file(id)
            .await?
            .filter(|f| f.workflow_id == query.workflow),
        FileWanted::Primary => store
            .files(query.workflow)
            .await?
            .into_iter()
            .find(|f| f.is_primary),
    };
    let file_released_at = match &file {
        Some(f) => store
            .updates(query.workflow)
            .await?
            .into_iter()
            .find(|u| u.version == f.version)
            .map(|u| u.released_at),
        None => None,
    };
    let (purchases, memberships, downloaded_before, refusal) = match query.user {
        Some(user) => (
            store
                .purchases_covering(user, query.workflow)
                .await?
                .iter()
                .map(Purchase::terms)
                .collect(),
            store.memberships_for_user(user).await?,
            store.has_downloaded(user, query.workflow).await?,
            store.account_refusal(user).await?,
        ),
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
