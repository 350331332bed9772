//! Delivery in memory: downloads and the quota they are charged to.

use async_trait::async_trait;

use super::commerce::newest_memberships;
use super::{MemoryStore, State, newest_first};
use crate::account::profile::Account;
use crate::commerce::purchase::Purchase;
use crate::delivery::access::GateFacts;
use crate::delivery::charge::Charged;
use crate::delivery::download::Download;
use crate::insight::analytics::AnalyticsDelta;
use crate::store::{AccessQuery, AccessRead, Charge, DeliveryStore, FileWanted};
use crate::value::actor::UserId;
use crate::value::error::{Entity, StoreError, StoreResult};
use crate::value::ids::WorkflowId;

impl State {
    /// Checks a download's charge: the entitlement exists, is still in the
    /// state the decision saw, and has room.
    fn check_charge(&self, charge: &Charge) -> StoreResult<()> {
        let held = match *charge {
            Charge::Nothing => None,
            Charge::Purchase { id, .. } => self.purchases.get(&id).map(|p| Charged::Purchase {
                status: p.status,
                used: p.quota.used,
            }),
            Charge::Membership { id, .. } => {
                self.memberships.get(&id).map(|m| Charged::Membership {
                    status: m.status,
                    period_start: m.period.start,
                    used: m.quota.used,
                })
            }
        };
        charge.verdict(held)
    }

    fn record_download(
        &mut self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        download.check_analytics(analytics)?;
        let category = self.workflow(download.workflow_id)?.content.category_id;
        match self.files.get(&download.file_id) {
            Some(f) if f.workflow_id == download.workflow_id => {}
            // A file of another workflow is not a file of this one.
            _ => return Err(StoreError::not_found(Entity::File, download.file_id)),
        }
        if self.downloads.contains_key(&download.id) {
            return Err(StoreError::exists(Entity::Download, download.id));
        }
        self.check_analytics([analytics])?;
        self.check_charge(charge)?;

        let quota = match *charge {
            Charge::Nothing => None,
            Charge::Purchase { id, .. } => self.purchases.get_mut(&id).map(|p| &mut p.quota),
            Charge::Membership { id, .. } => self.memberships.get_mut(&id).map(|m| &mut m.quota),
        };
        if let Some(q) = quota {
            q.used = q.used.saturating_add(1);
        }
        if let Some(w) = self.workflows.get_mut(&download.workflow_id) {
            w.stats.download_count = w.stats.download_count.saturating_add(1);
        }
        if let Some(f) = self.files.get_mut(&download.file_id) {
            f.download_count = f.download_count.saturating_add(1);
        }
        if let Some(c) = self.categories.get_mut(&category) {
            c.total_downloads = c.total_downloads.saturating_add(1);
        }
        self.put_download(download.clone());
        self.apply_analytics(analytics)?;
        Ok(())
    }
}

/// The first `limit` downloads, newest first (then by id).
fn newest_downloads<'a>(found: impl Iterator<Item = &'a Download>, limit: u32) -> Vec<Download> {
    let mut found: Vec<&Download> = found.collect();
    found.sort_by(|a, b| newest_first((a.downloaded_at, a.id), (b.downloaded_at, b.id)));
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    found.into_iter().take(limit).cloned().collect()
}

/// The default: each read takes the lock on its own, like any backend's
/// separate calls; the conformance suite holds other backends' one-call
/// overrides to it.
#[async_trait]
impl DeliveryStore for MemoryStore {
    async fn record_download(
        &self,
        download: &Download,
        charge: &Charge,
        analytics: &AnalyticsDelta,
    ) -> StoreResult<()> {
        self.write(|s| s.record_download(download, charge, analytics))
    }

    async fn downloads_for_user(&self, user: &UserId, limit: u32) -> StoreResult<Vec<Download>> {
        Ok(newest_downloads(self.lock().downloads_of_user(user), limit))
    }

    async fn downloads_for_workflow(
        &self,
        workflow: WorkflowId,
        limit: u32,
    ) -> StoreResult<Vec<Download>> {
        Ok(newest_downloads(
            self.lock().downloads_of_workflow(workflow),
            limit,
        ))
    }

    async fn has_downloaded(&self, user: &UserId, workflow: WorkflowId) -> StoreResult<bool> {
        Ok(self.lock().has_downloaded(user, workflow))
    }

    // The default's reads under one lock, cloning only what is returned
    // (the default clones the whole workflow and every file and update).
    async fn access_read(&self, query: &AccessQuery<'_>) -> StoreResult<Option<AccessRead>> {
        let s = self.lock();
        let Some(w) = s.workflows.get(&query.workflow) else {
            return Ok(None);
        };
        let file = match query.file {
            FileWanted::None => None,
            FileWanted::Id(id) => s.files.get(&id).filter(|f| f.workflow_id == w.id),
            FileWanted::Primary => s.files_of(w.id).find(|f| f.is_primary),
        };
        let file_released_at = file.and_then(|f| {
            s.updates_of(w.id)
                .find(|u| u.version == f.version)
                .map(|u| u.released_at)
        });
        let (purchases, memberships, downloaded_before, refusal) = match query.user {
            Some(user) => (
                s.purchases_of_user(user)
                    .filter(|p| p.item.covers(w.id))
                    .map(Purchase::terms)
                    .collect(),
                newest_memberships(s.memberships_of_user(user)),
                s.has_downloaded(user, w.id),
                s.accounts.get(user).and_then(Account::refusal),
            ),
            None => (Vec::new(), Vec::new(), false, None),
        };
        Ok(Some(AccessRead {
            workflow: GateFacts::from(w),
            file: file.cloned(),
            file_released_at,
            purchases,
            memberships,
            downloaded_before,
            refusal,
        }))
    }
}
