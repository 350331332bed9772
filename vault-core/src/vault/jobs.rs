//! The job queue through the service: apps and staff enqueue, staff list,
//! cancel and retry (each audited), and a worker runs them with the
//! vault's own clock and entropy.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

use super::Vault;
use crate::account::profile::Account;
use crate::audit::entry::AuditAction;
use crate::commerce::purchase::Purchase;
use crate::jobs::job::{Job, JobAttempt, JobId, JobKind, NewJob};
use crate::jobs::lease::Command;
use crate::jobs::store::{Enqueued, JobQuery, JobStore};
use crate::jobs::worker::{self, JobHandler, Stop, WorkerConfig, WorkerReport};
use crate::store::{Store, WebhookEvent, WebhookStatus};
use crate::value::actor::Actor;
use crate::value::error::{Entity, Error, Result};
use crate::value::keyset::{Listing, check_limit};
use crate::vault::authz::require_staff;

impl<S: Store + ?Sized> Vault<S> {
    /// The jobs [`crate::vault::VaultConfig::purchase_jobs`] asks for when
    /// `purchase` completes, for the write that completes it.
    pub(super) fn purchase_outbox(
        &self,
        purchase: &Purchase,
        now: DateTime<Utc>,
    ) -> Result<Vec<Job>> {
        let id = purchase.id.to_string();
        self.outbox(&self.config.purchase_jobs, "purchase_id", &id, now)
    }

    /// The jobs [`crate::vault::VaultConfig::account_jobs`] asks for when
    /// `account` opens, for the write that opens it.
    pub(super) fn account_outbox(&self, account: &Account) -> Result<Vec<Job>> {
        let user = account.user_id.as_str();
        self.outbox(
            &self.config.account_jobs,
            "user_id",
            user,
            account.created_at,
        )
    }

    // One job per kind, naming `id` under `field`, unique per kind and id.
    fn outbox(
        &self,
        kinds: &[JobKind],
        field: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Job>> {
        kinds
            .iter()
            .map(|kind| {
                let new = NewJob::new(kind.clone(), serde_json::json!({ field: id }))?
                    .unique_key(format!("{kind}:{id}"));
                Ok(new.mint(self.entropy.as_ref(), now))
            })
            .collect()
    }

    /// Enqueues a job (staff or the app's service), checked first: a
    /// payload naming a secret, an out-of-range priority or attempt count
    /// is `Invalid` naming the field, and nothing is written. With a unique
    /// key another job holds, that job's id comes back as
    /// [`Enqueued::Existing`].
    pub async fn enqueue(&self, actor: &Actor, new: NewJob) -> Result<Enqueued> {
        let span = tracing::info_span!("vault.enqueue", actor = actor.kind(), kind = %new.kind, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "enqueue")?;
            new.check()?;
            let job = new.mint(self.entropy.as_ref(), self.now());
            Ok(self.writes.enqueue_job(&job).await?)
        })
        .await
    }

    /// A page of jobs (staff), newest first.
    pub async fn jobs(&self, actor: &Actor, query: &JobQuery) -> Result<Listing<Job>> {
        let span = tracing::info_span!(
            "vault.jobs",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "jobs")?;
            check_limit(query.limit)?;
            Ok(self.store.jobs(query).await?)
        })
        .await
    }

    /// One job with its attempts, oldest first (staff).
    pub async fn job(&self, actor: &Actor, id: JobId) -> Result<(Job, Vec<JobAttempt>)> {
        let span = tracing::info_span!("vault.job", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "job")?;
            let job = self.store.job(id).await?.ok_or_else(|| Error::NotFound {
                entity: Entity::Job,
                key: id.to_string(),
            })?;
            Ok((job, self.store.job_attempts(id).await?))
        })
        .await
    }

    /// Cancels a queued or running job (staff; a running worker's result
    /// is then refused). `Conflict` for a finished one.
    pub async fn cancel_job(&self, actor: &Actor, id: JobId) -> Result<Job> {
        self.command(
            actor,
            id,
            Command::Cancel,
            AuditAction::JobCancelled,
            "cancel_job",
        )
        .await
    }

    /// Queues a dead, cancelled or waiting job to run now, its attempts
    /// reset (staff). `Conflict` for a running or succeeded one.
    pub async fn retry_job(&self, actor: &Actor, id: JobId) -> Result<Job> {
        self.command(
            actor,
            id,
            Command::RetryNow,
            AuditAction::JobRetried,
            "retry_job",
        )
        .await
    }

    async fn command(
        &self,
        actor: &Actor,
        id: JobId,
        command: Command,
        action: AuditAction,
        name: &'static str,
    ) -> Result<Job> {
        let span = tracing::info_span!("vault.command_job", actor = actor.kind(), id = %id, command = name, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, name)?;
            let audit = self.audit(actor, action, Entity::Job, id)?;
            Ok(self
                .writes
                .command_job(id, command, self.now(), &audit)
                .await?)
        })
        .await
    }

    /// Deletes succeeded and cancelled jobs finished more than `age` ago
    /// (staff or the service; the seed keeps them 30 days). Returns how
    /// many went.
    pub async fn purge_jobs(&self, actor: &Actor, age: Duration) -> Result<u64> {
        let span = tracing::info_span!(
            "vault.purge_jobs",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "purge_jobs")?;
            let before = self.now() - age.max(Duration::zero());
            Ok(self.writes.purge_jobs(before).await?)
        })
        .await
    }
}

impl<S: Store + ?Sized> Vault<S> {
    /// Recorded payment-provider webhook events in `status`, oldest first,
    /// at most `limit` (staff): parked ones and what they wait for, failed
    /// and expired ones with their last error. The payload stays out: it
    /// holds customers' data, and operators act on ids and errors.
    pub async fn webhook_events(
        &self,
        actor: &Actor,
        status: WebhookStatus,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>> {
        let span = tracing::info_span!("vault.webhook_events", actor = actor.kind(), %status, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "webhook_events")?;
            check_limit(limit)?;
            let mut events = self.store.webhook_events(status, None, limit).await?;
            for e in &mut events {
                e.payload = None;
            }
            Ok(events)
        })
        .await
    }
}

impl Vault<dyn Store> {
    /// Runs `handler` on due jobs until `stop` is raised, with the vault's
    /// clock and entropy (see [`worker::run`]): the app passes its runtime's
    /// sleep, e.g. `tokio::time::sleep`.
    pub async fn run_jobs<H, Sl, F>(
        &self,
        config: &WorkerConfig,
        handler: &H,
        sleep: Sl,
        stop: &Stop,
    ) -> WorkerReport
    where
        H: JobHandler + ?Sized,
        Sl: Fn(std::time::Duration) -> F,
        F: Future<Output = ()>,
    {
        let store: &dyn JobStore = self.store.as_ref();
        worker::run(
            store,
            self.clock.as_ref(),
            self.entropy.as_ref(),
            config,
            handler,
            sleep,
            stop,
        )
        .await
    }
}
