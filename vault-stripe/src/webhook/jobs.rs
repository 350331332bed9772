//! Webhooks on the vault's job queue: an event whose application failed
//! is applied again by a job, from the payload stored with its record
//! (Stripe, once told the delivery failed, retries on its own schedule;
//! the job does not wait for it), and an hourly job sweeps parked events
//! and deletes processed ones after the retention (90 days, seed 003).
//!
//! * [`REAPPLY`] (`{"event_id": …}`, unique per event and attempt):
//!   enqueued when an attempt fails, [`WebhookConfig::retry_after`] later
//!   (doubled per attempt). Its run is one more attempt of the event,
//!   counted with Stripe's deliveries: a failed run ends the job (dead,
//!   with the error) and queues the next; after
//!   [`WebhookConfig::max_deliveries`] attempts the event is given up.
//!   Both are listed for operators.
//! * [`UPKEEP`] (hourly): [`WebhookHandler::sweep`], then the purge.
//!
//! The app adds [`recurring`] to a worker's recurring jobs and routes the
//! kinds [`handles`] accepts to [`WebhookHandler::run_job`].
//!
//! [`WebhookConfig::max_deliveries`]: super::WebhookConfig::max_deliveries
//! [`WebhookConfig::retry_after`]: super::WebhookConfig::retry_after

use chrono::Duration;
use vault_core::jobs::job::{JobKind, NewJob};
use vault_core::jobs::lease::Outcome;
use vault_core::jobs::schedule::{Cadence, Recurring};
use vault_core::jobs::worker::JobContext;
use vault_core::store::{Store, WebhookStatus};
use vault_core::value::actor::Actor;

use super::{Handled, WebhookError, WebhookHandler};
use crate::event::Event;

/// Applies one failed event again.
pub const REAPPLY: &str = "stripe.webhook";
/// Sweeps parked events and purges processed ones.
pub const UPKEEP: &str = "stripe.webhooks";

/// How long processed events are kept (seed 003: 90 days). Longer than
/// Stripe redelivers (3 days), so a purge never lets a duplicate through.
pub const RETENTION: Duration = Duration::days(90);

fn kind(k: &'static str) -> JobKind {
    JobKind::parse(k).unwrap_or_else(|_| unreachable!("{k} is a valid kind"))
}

/// The recurring webhook job, for a worker to schedule.
pub fn recurring() -> Vec<Recurring> {
    vec![Recurring::new(kind(UPKEEP), Cadence::Hourly)]
}

/// Whether `kind` is one of the jobs [`WebhookHandler::run_job`] runs.
pub fn handles(kind: &JobKind) -> bool {
    matches!(kind.as_str(), REAPPLY | UPKEEP)
}

fn failed(error: impl std::fmt::Display, retry: bool) -> Outcome {
    Outcome::Failed {
        error: error.to_string(),
        retry,
    }
}

impl<S: Store + ?Sized> WebhookHandler<S> {
    /// After the event's attempt number `attempt` failed: enqueues the job
    /// that tries it again, [`WebhookConfig::retry_after`] later (doubled
    /// per attempt), unless no attempt is left. One job per attempt (the
    /// unique key names it), so a failure seen twice queues one retry.
    ///
    /// [`WebhookConfig::retry_after`]: super::WebhookConfig::retry_after
    pub(super) async fn enqueue_reapply(&self, event_id: &str, attempt: u32) {
        if attempt >= self.config.max_deliveries {
            return;
        }
        let wait = self
            .config
            .retry_after
            .checked_mul(1 << (attempt.saturating_sub(1)).min(16))
            .unwrap_or(self.config.retry_after);
        let at = self.clock.now() + wait;
        let job =
            NewJob::new(kind(REAPPLY), serde_json::json!({ "event_id": event_id })).map(|j| {
                j.unique_key(format!("{REAPPLY}:{event_id}:{attempt}"))
                    .run_at(at)
                    .max_attempts(3)
            });
        let done = match job {
            Ok(job) => self.vault.enqueue(&Actor::Service, job).await.map(|_| ()),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = done {
            // Stripe's own redelivery (the delivery answered 500) still
            // applies it.
            tracing::warn!(event = %event_id, error = %e, "could not enqueue the event's retry");
        }
    }

    /// Runs a webhook job ([`REAPPLY`] or [`UPKEEP`]).
    pub async fn run_job(&self, ctx: &JobContext<'_>) -> Outcome {
        match ctx.job.kind.as_str() {
            REAPPLY => {
                let Some(id) = ctx.job.payload["event_id"].as_str() else {
                    return failed("the payload names no event_id", false);
                };
                self.reapply(id).await
            }
            UPKEEP => {
                if let Err(e) = self.sweep().await {
                    return failed(e, true);
                }
                let before = self.clock.now() - RETENTION;
                match self.event_writes.purge_webhook_events(before).await {
                    Ok(n) => {
                        tracing::info!(purged = n, "processed webhook events purged");
                        Outcome::Succeeded
                    }
                    Err(e) => failed(e, true),
                }
            }
            other => failed(format!("not a webhook job: {other}"), false),
        }
    }

    // One more attempt of a failed event, from its stored payload.
    async fn reapply(&self, id: &str) -> Outcome {
        let rec = match self.events.webhook_event(id).await {
            Ok(Some(rec)) => rec,
            Ok(None) => return failed(format!("no event {id}"), false),
            Err(e) => return failed(e, true),
        };
        match rec.status {
            // Done meanwhile (a redelivery), or waiting for what it refers
            // to (the sweep and later events apply it).
            WebhookStatus::Processed | WebhookStatus::Parked | WebhookStatus::Expired => {
                return Outcome::Succeeded;
            }
            // Failed, or claimed by a delivery that may have died: the
            // claim decides (a lapsed lease is taken over).
            WebhookStatus::Received | WebhookStatus::Failed => {}
        }
        let Some(body) = rec.payload else {
            return failed("the event's payload was not kept", false);
        };
        let event = match Event::parse(body.as_bytes()) {
            Ok(e) => e,
            Err(e) => return failed(e, false),
        };
        match self.settle(&event, &body).await {
            Ok((Handled::GaveUp { .. }, _)) => failed(
                format!("{id} failed on every attempt allowed; see the event's last error"),
                false,
            ),
            Ok((Handled::InProgress { .. }, _)) => failed("a delivery is applying it", true),
            Ok((_, unblocked)) => match self.drain(unblocked).await {
                Ok(()) => Outcome::Succeeded,
                Err(e) => failed(e, true),
            },
            // This attempt failed; the failure queued the next one (if any
            // is left), so this job ends here, listed with the error.
            Err(WebhookError::Apply { source, .. }) => failed(source, false),
            Err(e) => failed(e, true),
        }
    }
}
