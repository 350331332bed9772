//! Access checks and downloads.

use serde::{Deserialize, Serialize};

use super::{Vault, traced};
use crate::catalog::file::WorkflowFile;
use crate::catalog::workflow::WorkflowStatus;
use crate::commerce::license::Quota;
use crate::delivery::access::{AccessDecision, Entitlements, FileTarget, Target, decide};
use crate::delivery::download::{Download, DownloadSource, RequestInfo};
use crate::insight::analytics::AnalyticsDelta;
use crate::store::{AccessQuery, Charge, FileWanted, Store};
use crate::value::actor::Actor;
use crate::value::clock::time_ordered_uuid;
use crate::value::error::{Entity, Error, Result, StoreError};
use crate::value::ids::{DownloadId, FileId, WorkflowId};
use crate::vault::authz::{can_see, hidden, require_self_or_staff};

/// What the app needs to serve a granted download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadTicket {
    /// The recorded download.
    pub download: Download,
    /// The file to serve (its `storage_key`, name, type, checksum).
    pub file: WorkflowFile,
    /// Why it was allowed.
    pub decision: AccessDecision,
    /// The charged quota after this download, when there is one.
    pub quota_after: Option<Quota>,
}

struct Facts {
    file: Option<WorkflowFile>,
    target: Target,
    entitlements: Entitlements,
}

impl<S: Store + ?Sized> Vault<S> {
    /// One store read for everything a decision needs. For a download
    /// (`for_download`) it picks the primary file when no file is named and
    /// tells the store a write follows; a check on the workflow as a whole
    /// reads no file.
    async fn gather(
        &self,
        actor: &Actor,
        workflow_id: WorkflowId,
        file_id: Option<FileId>,
        for_download: bool,
    ) -> Result<Facts> {
        let file_wanted = match file_id {
            Some(id) => FileWanted::Id(id),
            None if for_download => FileWanted::Primary,
            None => FileWanted::None,
        };
        // Staff entitlements are never consulted, so they are not read; nor
        // is a staff member's standing, which is checked on its own (the
        // one read carries a buyer's).
        let user = actor.user_id().filter(|_| !actor.is_privileged());
        if user.is_none() {
            self.gate(actor).await?;
        }
        let read = self
            .store
            .access_read(&AccessQuery {
                workflow: workflow_id,
                file: file_wanted,
                user,
                before_download: for_download,
            })
            .await?;
        let Some(read) = read else {
            // No workflow, so no standing was read: a refused account hears
            // that it is refused, not that the workflow is missing.
            self.gate(actor).await?;
            return Err(hidden(workflow_id));
        };
        if let Some(refusal) = read.refusal {
            return Err(Error::Refused { refusal });
        }
        // Hidden before anything about files: a draft's file ids are not
        // confirmed to an actor who may not see the draft.
        // A deleted workflow is not downloadable: to everyone but staff it
        // reads as missing, whatever its buyers hold.
        if !can_see(actor, read.workflow.status, read.workflow.deleted) {
            return Err(hidden(workflow_id));
        }
        let file = match file_wanted {
            FileWanted::None => None,
            FileWanted::Id(id) => Some(read.file.ok_or_else(|| Error::NotFound {
                entity: Entity::File,
                key: id.to_string(),
            })?),
            FileWanted::Primary => Some(read.file.ok_or_else(|| Error::NotFound {
                entity: Entity::File,
                key: format!("primary file of {workflow_id}"),
            })?),
        };
        // A version no update announces was released with the file itself.
        let file_target = file
            .as_ref()
            .map(|f| FileTarget::new(f, read.file_released_at.unwrap_or(f.created_at)));
        let entitlements = Entitlements {
            purchases: read.purchases,
            memberships: read.memberships,
            // Only archived workflows care; the rule reads it only for them.
            downloaded_before: read.workflow.status == WorkflowStatus::Archived
                && read.downloaded_before,
        };
        let target = Target::of(&read.workflow, file_target);
        Ok(Facts {
            file,
            target,
            entitlements,
        })
    }

    /// Decides whether `actor` may download `workflow` (or one of its files)
    /// now, with the full explanation. Writes nothing.
    pub async fn check_access(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        file: Option<FileId>,
    ) -> Result<AccessDecision> {
        let span = tracing::info_span!("vault.check_access", actor = actor.kind(), workflow = %workflow, file = ?file, outcome = tracing::field::Empty);
        traced(span, async move {
            let facts = self.gather(actor, workflow, file, false).await?;
            Ok(decide(
                actor,
                &facts.target,
                &facts.entitlements,
                self.now(),
                &self.config.access,
            ))
        })
        .await
    }

    /// Downloads a file (the primary one when `file` is `None`): decides,
    /// charges the cheapest entitlement's quota, records the download with
    /// its counters and analytics, and returns what the app needs to serve
    /// it. A denial is [`Error::Denied`] with the explanation. Under
    /// concurrency the quota holds exactly: a download that loses the race
    /// for the last unit is decided again and denied.
    pub async fn download(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        file: Option<FileId>,
        request: &RequestInfo,
    ) -> Result<DownloadTicket> {
        let span = tracing::info_span!("vault.download", actor = actor.kind(), workflow = %workflow, file = ?file, outcome = tracing::field::Empty);
        traced(span, async move {
            let meta = request.to_meta(&self.config.ip_salt);
            let mut tries = self.config.conflict_retries.max(1);
            loop {
                tries -= 1;
                let facts = self.gather(actor, workflow, file, true).await?;
                let now = self.now();
                let decision = decide(
                    actor,
                    &facts.target,
                    &facts.entitlements,
                    now,
                    &self.config.access,
                );
                let Some(grant) = decision.grant else {
                    return Err(Error::Denied(Box::new(decision)));
                };
                let file = facts.file.ok_or_else(|| Error::NotFound {
                    entity: Entity::File,
                    key: workflow.to_string(),
                })?;
                let charge = match grant.source {
                    DownloadSource::Purchase(id) => Charge::Purchase {
                        id,
                        expected_status: grant
                            .purchase_status
                            .unwrap_or(crate::commerce::purchase::PaymentStatus::Completed),
                        limit: grant.quota.and_then(|q| q.limit),
                    },
                    DownloadSource::Membership(id) => {
                        let m = facts
                            .entitlements
                            .memberships
                            .iter()
                            .find(|m| m.id == id)
                            .ok_or(Error::Conflict {
                                entity: Entity::Membership,
                                key: id.to_string(),
                                reason: "membership vanished",
                            })?;
                        Charge::Membership {
                            id,
                            expected_status: m.status,
                            period_start: m.period.start,
                            limit: m.quota.limit,
                        }
                    }
                    DownloadSource::Free | DownloadSource::Staff => Charge::Nothing,
                };
                let download = Download {
                    // Time-ordered, as job ids: downloads are the busiest
                    // insert, and a random key lands anywhere in the index.
                    id: DownloadId::from_uuid(time_ordered_uuid(self.entropy.as_ref(), now)),
                    user_id: actor.user_id().cloned(),
                    workflow_id: facts.target.workflow_id,
                    file_id: file.id,
                    file_version: file.version,
                    kind: grant.kind.download_kind(),
                    source: grant.source,
                    request: meta.clone(),
                    downloaded_at: now,
                };
                let mut delta = AnalyticsDelta::none(facts.target.workflow_id, now);
                delta.downloads = 1;
                match self
                    .writes
                    .record_download(&download, &charge, &delta)
                    .await
                {
                    Ok(()) => {
                        // Saturating, like the store's counter: an unlimited
                        // quota's count may reach u32::MAX.
                        let quota_after = grant.quota.map(|q| Quota {
                            used: q.used.saturating_add(1),
                            limit: q.limit,
                        });
                        return Ok(DownloadTicket {
                            download,
                            file,
                            decision,
                            quota_after,
                        });
                    }
                    // The entitlement moved or filled up under us: decide again
                    // on fresh state (which may pick another entitlement or deny).
                    Err(StoreError::LimitReached { .. } | StoreError::Conflict { .. })
                        if tries > 0 => {}
                    Err(StoreError::LimitReached { entity, key, .. }) => {
                        return Err(Error::Conflict {
                            entity,
                            key,
                            reason: "the quota kept changing concurrently; try again",
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        })
        .await
    }

    /// A user's downloads, newest first (the user or staff).
    pub async fn downloads_for_user(
        &self,
        actor: &Actor,
        user: &crate::value::actor::UserId,
        limit: u32,
    ) -> Result<Vec<Download>> {
        let span = tracing::info_span!(
            "vault.downloads_for_user",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "downloads_for_user")?;
            Ok(self
                .store
                .downloads_for_user(user, limit.clamp(1, 1000))
                .await?)
        })
        .await
    }
}
