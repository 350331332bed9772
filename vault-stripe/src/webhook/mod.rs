//! Applying webhooks to the vault: verified, once per event, order-safe.
//!
//! [`WebhookHandler::handle`] takes the raw body and the `Stripe-Signature`
//! header and:
//! 1. verifies the signature against the injected clock ([`crate::signature`]);
//! 2. parses the event ([`crate::event`]);
//! 3. **claims** it through the store ([`WebhookStore`]): an event id is
//!    applied at most once, and racing deliveries of one event get exactly one
//!    claim (the others answer "in progress", so Stripe retries later);
//! 4. applies it to the [`Vault`] as the service actor, retrying a failed
//!    application up to [`WebhookConfig::retries`] times with exponential
//!    backoff, and records the outcome with the event's payload. A failed
//!    event is applied again by a job on the vault's queue ([`jobs`]), and
//!    when Stripe redelivers it, up to [`WebhookConfig::max_deliveries`]
//!    attempts in all.
//!
//! # Order-safe by construction
//! Stripe delivers at least once, in no guaranteed order, and retries for
//! days. Whatever the order in which a set of related events arrives, and
//! however often each arrives, the vault ends in the state the set defines,
//! from the event payloads alone (no calls back to Stripe):
//! * **An event about something the vault does not know yet is parked**, not
//!   dropped: a refund or dispute whose payment has not completed, a
//!   checkout for a purchase not yet recorded, an invoice of a subscription
//!   no membership follows yet, a subscription whose user still holds
//!   another membership. It is kept with its payload ([`Handled::Parked`],
//!   answered `200`) and applied as soon as what it waits for appears: when
//!   another event brings it, or at the next [`WebhookHandler::sweep`].
//!   Parking does not count toward the deliveries allowed; an event still
//!   waiting after [`WebhookConfig::park_for`] expires and stays listed for
//!   operators ([`WebhookHandler::events`]).
//! * **Payments merge monotonically** (vault-core's [`refund`] rules): a
//!   failed attempt is not terminal and a later success completes the
//!   purchase; refunds are cumulative totals, the largest wins; a dispute
//!   only moves forward (open, then won or lost), and a close delivered
//!   before its opening decides; full refunds and lost disputes are final.
//! * **A subscription's state comes from its newest event** (vault-core's
//!   [`subscription`] rules): events are ordered by `created`, then, within
//!   one second, by kind (`customer.subscription.created` <
//!   `invoice.paid` / `invoice.payment_failed` <
//!   `customer.subscription.updated` < `customer.subscription.deleted`),
//!   then by event id; the status and the terms (cancel flag, plan) come
//!   from the newest event that carries them, the period is the latest one,
//!   and a deleted subscription's membership stays canceled whatever older
//!   or newer event arrives.
//!
//! # What each event does
//! | event | effect |
//! |---|---|
//! | `checkout.session.completed` (payment, paid) / `async_payment_succeeded` | completes the purchase named by `metadata.vault_purchase_id` (or `client_reference_id`), settled by the PaymentIntent |
//! | `checkout.session.completed` (unpaid) | nothing yet: waits for the async payment |
//! | `checkout.session.expired` / `async_payment_failed` | fails the purchase if it is still pending (a later payment completes it all the same) |
//! | `payment_intent.succeeded` / `payment_failed` | completes / fails the purchase in `metadata.vault_purchase_id` |
//! | `charge.refunded` | the refund cascade with the cumulative `amount_refunded` |
//! | `charge.dispute.created` / `closed` | suspends access / restores it (`won`, `warning_closed`) or revokes it (`lost`) |
//! | `customer.subscription.created` / `updated` / `deleted` | starts the membership (user from `metadata.vault_user_id`, plan from `metadata.vault_tier` or the price map) or merges the subscription's state into it |
//! | `invoice.paid` (an amount was paid) / `invoice.payment_failed` | active for the invoice's period / past due, if newer than what the membership holds |
//! | anything else, `trial_will_end` | recorded and acknowledged |
//!
//! Subscription statuses map to memberships as: `trialing`, `active` →
//! trialing, active; `past_due`, `unpaid`, `paused` → past due (access for
//! the grace period, counted from the failure); `canceled` → canceled;
//! `incomplete_expired` → expired; `incomplete` → no membership yet.
//!
//! [`refund`]: vault_core::commerce::refund
//! [`subscription`]: vault_core::commerce::subscription

mod apply;
pub mod jobs;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::Duration;
use vault_core::store::{
    Claim, Finish, NewWebhookEvent, Store, StoreError, WebhookEvent, WebhookStatus, WebhookStore,
};
use vault_core::value::error::Error as VaultError;
use vault_core::value::tier::PricingTier;
use vault_core::vault::TracedWrites;
use vault_core::{Clock, Vault};

use crate::event::{Event, ParseError};
use crate::signature::{SignatureError, Verifier};

use self::apply::Outcome;

/// What a membership tier includes, for memberships started from
/// subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierPlan {
    /// The tier.
    pub tier: PricingTier,
    /// Downloads per period (`None`: unlimited).
    pub period_download_limit: Option<u32>,
}

/// Settings of a [`WebhookHandler`].
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// In-process attempts per delivery (1 means no retry).
    pub retries: u32,
    /// Backoff before the first retry; doubles each time.
    pub backoff: std::time::Duration,
    /// Deliveries of one event that may try to apply it before it is given up.
    pub max_deliveries: u32,
    /// How long a claim holds before another delivery may take over (a
    /// worker that died mid-application).
    pub lease: Duration,
    /// How long a parked event may wait for what it refers to before it
    /// expires (see [`WebhookHandler::sweep`]).
    pub park_for: Duration,
    /// How long after a failed attempt the queued job tries the event
    /// again ([`jobs::REAPPLY`]); doubled after each attempt, so the
    /// attempts left are spread over hours, as Stripe spreads its own.
    pub retry_after: Duration,
    /// Price id → plan, for subscriptions without `metadata.vault_tier`.
    pub prices: BTreeMap<String, TierPlan>,
    /// Per-period limits by tier when the tier comes from metadata.
    pub tier_limits: BTreeMap<PricingTier, Option<u32>>,
}

impl Default for WebhookConfig {
    /// Three attempts 200 ms apart (doubling), three deliveries (seed 003:
    /// "failed webhooks retry up to 3 times"), a one-minute lease, three
    /// days of parking (as long as Stripe keeps retrying a delivery), and a
    /// queued retry an hour after a failed attempt (two hours after the
    /// second).
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: std::time::Duration::from_millis(200),
            max_deliveries: 3,
            lease: Duration::seconds(60),
            park_for: Duration::days(3),
            retry_after: Duration::hours(1),
            prices: BTreeMap::new(),
            tier_limits: BTreeMap::new(),
        }
    }
}

/// How a delivery was handled. Every variant but `InProgress` should be
/// answered `200`; `InProgress` with `409` so Stripe delivers it again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// Applied now; `changed` is false when it had nothing to change
    /// (repeated in effect, or older than what the vault holds).
    Applied {
        /// The event id.
        event_id: String,
        /// Whether state changed.
        changed: bool,
    },
    /// Applied before: nothing done.
    Duplicate {
        /// The event id.
        event_id: String,
    },
    /// It refers to something the vault does not know yet: kept, and
    /// applied once that appears.
    Parked {
        /// The event id.
        event_id: String,
        /// What it waits for (`payment:pi_…`, `purchase:…`,
        /// `subscription:sub_…`, `user:…`).
        waiting_for: String,
    },
    /// Another delivery is applying it right now.
    InProgress {
        /// The event id.
        event_id: String,
    },
    /// It failed on every delivery allowed; acknowledged so Stripe stops.
    GaveUp {
        /// The event id.
        event_id: String,
    },
    /// It was parked longer than allowed; acknowledged, left for operators.
    Expired {
        /// The event id.
        event_id: String,
    },
}

impl Handled {
    /// The HTTP status to answer Stripe with.
    pub fn status_code(&self) -> u16 {
        match self {
            Handled::InProgress { .. } => 409,
            _ => 200,
        }
    }
}

/// Why a delivery was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature did not verify: answer 400 (500 when the endpoint's
    /// own secret is empty).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body is not a usable event: answer 400.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Recording the event failed: answer 500 so Stripe retries.
    #[error("recording the event failed: {0}")]
    Store(#[from] StoreError),
    /// Applying the event failed after the retries: answer 500 so Stripe
    /// redelivers it.
    #[error("applying {event_id} failed: {source}")]
    Apply {
        /// The event id.
        event_id: String,
        /// What failed.
        #[source]
        source: VaultError,
    },
}

impl WebhookError {
    /// The HTTP status to answer Stripe with.
    pub fn status_code(&self) -> u16 {
        match self {
            WebhookError::Signature(e) => e.status_code(),
            WebhookError::Parse(_) => 400,
            WebhookError::Store(_) | WebhookError::Apply { .. } => 500,
        }
    }
}

/// What [`WebhookHandler::sweep`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Parked events that waited too long and expired.
    pub expired: u64,
    /// Parked events applied now.
    pub applied: u64,
    /// Parked events still waiting.
    pub waiting: u64,
}

/// Receives Stripe webhooks for one endpoint and applies them to a vault.
pub struct WebhookHandler<S: Store + ?Sized> {
    vault: Vault<S>,
    events: Arc<dyn WebhookStore>,
    // The same store's writes, each in its span.
    event_writes: TracedWrites<dyn WebhookStore>,
    clock: Arc<dyn Clock>,
    verifier: Verifier,
    config: WebhookConfig,
}

impl<S: Store + ?Sized> std::fmt::Debug for WebhookHandler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHandler")
            .field("verifier", &self.verifier)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn retryable(e: &VaultError) -> bool {
    matches!(e, VaultError::Conflict { .. } | VaultError::Store(_))
}

/// Parked events looked at per key, or per sweep.
const BATCH: u32 = 100;

impl<S: Store + ?Sized> WebhookHandler<S> {
    /// A handler applying to `vault`, recording events in `events` (usually
    /// the same store), verifying with `verifier` against `clock`.
    pub fn new(
        vault: Vault<S>,
        events: Arc<dyn WebhookStore>,
        clock: Arc<dyn Clock>,
        verifier: Verifier,
        config: WebhookConfig,
    ) -> Self {
        Self {
            vault,
            event_writes: TracedWrites::webhooks(Arc::clone(&events)),
            events,
            clock,
            verifier,
            config,
        }
    }

    /// Handles one delivery: `payload` is the raw request body, exactly as
    /// received; `signature` the `Stripe-Signature` header.
    pub async fn handle(&self, payload: &[u8], signature: &str) -> Result<Handled, WebhookError> {
        self.verifier.verify(payload, signature, self.clock.now())?;
        let event = Event::parse(payload)?;
        // Event::parse read it as JSON, so it is UTF-8.
        let body = String::from_utf8_lossy(payload);
        let (handled, unblocked) = self.settle(&event, &body).await?;
        // An event that parked re-checks its key once: what it waits for may
        // have appeared between its lookup and its parking, and the event
        // that brought it may have looked for parked events just before.
        let keys = match &handled {
            Handled::Parked { waiting_for, .. } => vec![waiting_for.clone()],
            _ => unblocked,
        };
        self.drain(keys).await?;
        Ok(handled)
    }

    /// Expires parked events older than [`WebhookConfig::park_for`] and
    /// tries every other parked event again (at most 100 per call): what
    /// they wait for may have appeared without an event (a purchase the app
    /// recorded after its checkout completed). Also tries again events that
    /// failed after they were parked (Stripe, told they were received, will
    /// not deliver them again), within [`WebhookConfig::max_deliveries`].
    /// Call it periodically.
    pub async fn sweep(&self) -> Result<Sweep, WebhookError> {
        let now = self.clock.now();
        let cutoff = now
            .checked_sub_signed(self.config.park_for)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let mut report = Sweep {
            expired: self
                .event_writes
                .expire_parked_webhook_events(cutoff, now)
                .await?,
            ..Sweep::default()
        };
        let mut stored = self
            .events
            .webhook_events(WebhookStatus::Parked, None, BATCH)
            .await?;
        stored.extend(
            self.events
                .webhook_events(WebhookStatus::Failed, None, BATCH)
                .await?
                .into_iter()
                .filter(|e| e.parked_at.is_some()),
        );
        let mut unblocked = Vec::new();
        for rec in stored {
            match self.retry_parked(&rec).await? {
                Some((Handled::Parked { .. }, _)) => report.waiting += 1,
                Some((Handled::Applied { .. }, keys)) => {
                    report.applied += 1;
                    unblocked.extend(keys);
                }
                _ => {}
            }
        }
        self.drain(unblocked).await?;
        Ok(report)
    }

    /// Recorded events in `status`, oldest first, for operators: parked
    /// ones and what they wait for, expired ones, failed ones and their
    /// last error.
    pub async fn events(
        &self,
        status: WebhookStatus,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, WebhookError> {
        Ok(self.events.webhook_events(status, None, limit).await?)
    }

    // Applies the events parked on `keys`, and on whatever those unblock.
    async fn drain(&self, keys: Vec<String>) -> Result<(), WebhookError> {
        let mut queue: VecDeque<String> = keys.into();
        while let Some(key) = queue.pop_front() {
            let parked = self
                .events
                .webhook_events(WebhookStatus::Parked, Some(&key), BATCH)
                .await?;
            for rec in parked {
                if let Some((Handled::Applied { .. }, more)) = self.retry_parked(&rec).await? {
                    queue.extend(more);
                }
            }
        }
        Ok(())
    }

    // One stored event (parked, or failed after parking), once more, from
    // its payload. A failure to apply it is logged, not returned: it belongs
    // to that event, not to the delivery or sweep that woke it.
    async fn retry_parked(
        &self,
        rec: &WebhookEvent,
    ) -> Result<Option<(Handled, Vec<String>)>, WebhookError> {
        let Some(body) = &rec.payload else {
            return Ok(None);
        };
        let event = match Event::parse(body.as_bytes()) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(event = %rec.id, error = %e, "a parked event no longer parses");
                return Ok(None);
            }
        };
        match self.settle(&event, body).await {
            Ok(done) => Ok(Some(done)),
            Err(WebhookError::Apply { event_id, source }) => {
                tracing::warn!(event = %event_id, error = %source, "a parked event failed when retried");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    // Claims, applies (with in-process retries) and records one event;
    // returns how it was handled and the keys its application unblocked.
    async fn settle(
        &self,
        event: &Event,
        body: &str,
    ) -> Result<(Handled, Vec<String>), WebhookError> {
        let event_id = event.id.clone();
        let record = NewWebhookEvent {
            id: event.id.clone(),
            event_type: event.event_type.clone(),
            object_id: event.object_id(),
            created: event.created,
        };
        let now = self.clock.now();
        let claimed = match self
            .event_writes
            .claim_webhook_event(&record, now, self.config.lease, self.config.max_deliveries)
            .await?
        {
            Claim::Claimed { attempt } => attempt,
            Claim::AlreadyProcessed => return Ok((Handled::Duplicate { event_id }, vec![])),
            Claim::InProgress => return Ok((Handled::InProgress { event_id }, vec![])),
            Claim::GaveUp { .. } => return Ok((Handled::GaveUp { event_id }, vec![])),
            Claim::Expired => return Ok((Handled::Expired { event_id }, vec![])),
        };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.apply(event).await {
                Ok(Outcome::Applied { changed, unblocks }) => {
                    self.finish(&event_id, Finish::Processed { applied: changed })
                        .await?;
                    tracing::info!(event = %event_id, kind = %event.event_type, changed, "webhook applied");
                    return Ok((Handled::Applied { event_id, changed }, unblocks));
                }
                Ok(Outcome::Park(waiting_for)) => {
                    self.finish(
                        &event_id,
                        Finish::Parked {
                            waiting_for: waiting_for.clone(),
                            payload: body.to_owned(),
                        },
                    )
                    .await?;
                    tracing::info!(event = %event_id, kind = %event.event_type, waiting_for = %waiting_for, "webhook parked");
                    return Ok((
                        Handled::Parked {
                            event_id,
                            waiting_for,
                        },
                        vec![],
                    ));
                }
                Err(e) if retryable(&e) && attempt < self.config.retries.max(1) => {
                    let wait = self
                        .config
                        .backoff
                        .saturating_mul(1 << (attempt - 1).min(16));
                    tracing::warn!(event = %event_id, attempt, error = %e, "webhook application failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::warn!(event = %event_id, attempt, error = %e, "webhook application failed");
                    self.finish(
                        &event_id,
                        Finish::Failed {
                            error: e.to_string(),
                            payload: Some(body.to_owned()),
                        },
                    )
                    .await?;
                    self.enqueue_reapply(&event_id, claimed).await;
                    return Err(WebhookError::Apply {
                        event_id,
                        source: e,
                    });
                }
            }
        }
    }

    async fn finish(&self, id: &str, finish: Finish) -> Result<(), StoreError> {
        self.event_writes
            .finish_webhook_event(id, &finish, self.clock.now())
            .await
    }
}
