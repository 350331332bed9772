//! Maintenance, as jobs: what time alone moves is written down by a
//! recurring job, idempotent and safe on several workers at once. The app
//! adds [`recurring`] to its workers' [`WorkerConfig::recurring`] and routes
//! the kinds [`Maintenance`] handles to it.
//!
//! * `vault.memberships` (hourly): trials and periods that ran out, and
//!   past-due grace that ran out, move in storage
//!   ([`Membership::maintain`]); each membership is written under its
//!   revision, so of several workers one writes and the others find nothing
//!   left to do.
//! * `vault.purge_jobs` (daily): finished jobs older than the retention (30
//!   days by default) are deleted; dead ones stay for operators.
//! * `vault.analytics_check` (daily): yesterday's downloads and purchases
//!   per workflow are counted again from the rows and compared with the
//!   incremental rollup ([`crate::insight::rebuild`]). A difference fails
//!   the job without retry, so it is listed with the differences among the
//!   dead jobs; nothing is overwritten. Figures without rows are named in
//!   [`crate::insight::rebuild::NOT_REBUILDABLE`].
//!
//! [`WorkerConfig::recurring`]: crate::jobs::worker::WorkerConfig::recurring

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Vault;
use crate::commerce::membership::{self, Membership, MembershipStatus};
use crate::insight::rebuild::{Mismatch, compare, day_bounds};
use crate::jobs::job::JobKind;
use crate::jobs::lease::Outcome;
use crate::jobs::schedule::{Cadence, Recurring};
use crate::jobs::worker::{JobContext, JobHandler};
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::{Error, Result, StoreError};
use crate::vault::authz::require_staff;

/// The kind of the hourly membership maintenance.
pub const MEMBERSHIPS: &str = "vault.memberships";
/// The kind of the daily purge of finished jobs.
pub const PURGE_JOBS: &str = "vault.purge_jobs";
/// The kind of the daily check of yesterday's analytics against the rows.
pub const ANALYTICS_CHECK: &str = "vault.analytics_check";

fn kind(k: &'static str) -> JobKind {
    JobKind::parse(k).unwrap_or_else(|_| unreachable!("{k} is a valid kind"))
}

/// The vault's recurring maintenance jobs, for a worker to schedule.
pub fn recurring() -> Vec<Recurring> {
    vec![
        Recurring::new(kind(MEMBERSHIPS), Cadence::Hourly),
        Recurring::new(kind(PURGE_JOBS), Cadence::Daily),
        Recurring::new(kind(ANALYTICS_CHECK), Cadence::Daily),
    ]
}

/// What [`Vault::maintain_memberships`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MembershipUpkeep {
    /// Memberships looked at (trialing, active or past due).
    pub checked: u64,
    /// Moved to expired.
    pub expired: u64,
    /// Provider-backed ones moved to past due.
    pub past_due: u64,
}

impl<S: Store + ?Sized> Vault<S> {
    /// Writes down what time moved for every live membership (staff or
    /// the service): see [`Membership::maintain`]. Safe to run on several
    /// workers at once: each change is written under the membership's
    /// revision; one that lost the race reads the membership again and
    /// usually finds nothing left to do.
    pub async fn maintain_memberships(&self, actor: &Actor) -> Result<MembershipUpkeep> {
        let span = tracing::info_span!(
            "vault.maintain_memberships",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "maintain_memberships")?;
            let grace = self.config.access.past_due_grace;
            let live = self
                .store
                .memberships_with_status(&membership::LIVE)
                .await?;
            let mut report = MembershipUpkeep::default();
            for m in live {
                report.checked += 1;
                if let Some(next) = self.maintain_one(m, grace).await? {
                    match next.status {
                        MembershipStatus::Expired => report.expired += 1,
                        _ => report.past_due += 1,
                    }
                }
            }
            Ok(report)
        })
        .await
    }

    /// Counts `date`'s downloads and purchases again from the rows and
    /// compares them with the incremental rollup (staff or the service):
    /// the figures that differ, never written over.
    pub async fn check_analytics(&self, actor: &Actor, date: NaiveDate) -> Result<Vec<Mismatch>> {
        let span = tracing::info_span!(
            "vault.check_analytics",
            actor = actor.kind(),
            %date,
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "check_analytics")?;
            day_bounds(date)?;
            let counts = self.store.day_counts(date).await?;
            Ok(compare(date, &counts))
        })
        .await
    }

    // One membership, under its revision, re-read after a lost race.
    async fn maintain_one(
        &self,
        mut current: Membership,
        grace: Duration,
    ) -> Result<Option<Membership>> {
        for _ in 0..self.config.conflict_retries.max(1) {
            let mut next = current.clone();
            if !next.maintain(self.now(), grace) {
                return Ok(None);
            }
            next.settle_grace(grace);
            next.revision = current.revision + 1;
            match self.writes.update_membership(&next, current.revision).await {
                Ok(()) => return Ok(Some(next)),
                Err(StoreError::Conflict { .. }) => {
                    match self.store.membership(current.id).await? {
                        Some(m) => current = m,
                        None => return Ok(None),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict {
            entity: crate::value::error::Entity::Membership,
            key: current.id.to_string(),
            reason: "the membership kept changing during maintenance",
        })
    }
}

/// Runs the vault's maintenance jobs ([`MEMBERSHIPS`], [`PURGE_JOBS`],
/// [`ANALYTICS_CHECK`]) as the service actor.
#[derive(Debug, Clone)]
pub struct Maintenance {
    vault: Vault<dyn Store>,
    job_retention: Duration,
}

impl Maintenance {
    /// Maintenance of `vault`, keeping finished jobs 30 days.
    pub fn new(vault: Vault<dyn Store>) -> Self {
        Self {
            vault,
            job_retention: Duration::days(30),
        }
    }

    /// Keeps finished jobs `age` before purging them.
    pub fn with_job_retention(mut self, age: Duration) -> Self {
        self.job_retention = age;
        self
    }

    /// Whether `kind` is one of the jobs this handler runs.
    pub fn handles(kind: &JobKind) -> bool {
        matches!(kind.as_str(), MEMBERSHIPS | PURGE_JOBS | ANALYTICS_CHECK)
    }
}

#[async_trait]
impl JobHandler for Maintenance {
    async fn handle(&self, ctx: &JobContext<'_>) -> Outcome {
        let done = match ctx.job.kind.as_str() {
            MEMBERSHIPS => self
                .vault
                .maintain_memberships(&Actor::Service)
                .await
                .map(|r| {
                    tracing::info!(
                        checked = r.checked,
                        expired = r.expired,
                        past_due = r.past_due,
                        "memberships maintained"
                    )
                }),
            PURGE_JOBS => self
                .vault
                .purge_jobs(&Actor::Service, self.job_retention)
                .await
                .map(|n| tracing::info!(purged = n, "finished jobs purged")),
            ANALYTICS_CHECK => {
                // The day before the period the run belongs to: complete.
                let day = ctx
                    .job
                    .payload
                    .get("period")
                    .and_then(|p| serde_json::from_value::<DateTime<Utc>>(p.clone()).ok())
                    .unwrap_or(ctx.job.created_at)
                    .date_naive()
                    .pred_opt();
                let Some(day) = day else {
                    return Outcome::Succeeded;
                };
                match self.vault.check_analytics(&Actor::Service, day).await {
                    Ok(found) if found.is_empty() => Ok(()),
                    Ok(found) => {
                        for m in &found {
                            tracing::warn!(mismatch = %m, "the analytics rollup differs from the rows");
                        }
                        let list: Vec<String> = found.iter().map(ToString::to_string).collect();
                        return Outcome::Failed {
                            error: format!(
                                "{} figure(s) differ from the rows: {}",
                                found.len(),
                                list.join("; ")
                            ),
                            retry: false,
                        };
                    }
                    Err(e) => Err(e),
                }
            }
            other => {
                return Outcome::Failed {
                    error: format!("not a maintenance job: {other}"),
                    retry: false,
                };
            }
        };
        match done {
            Ok(()) => Outcome::Succeeded,
            Err(e) => Outcome::Failed {
                error: e.to_string(),
                retry: true,
            },
        }
    }
}
