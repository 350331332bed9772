//! Applying webhooks to the vault: verified, once per event, in a safe order.
//!
//! [`WebhookHandler::handle`] takes the raw body and the `Stripe-Signature`
//! header and:
//! 1. verifies the signature against the injected clock ([`crate::signature`]);
//! 2. parses the event ([`crate::event`]);
//! 3. **claims** it through the store ([`WebhookStore`]): an event id is
//!    applied at most once, and racing deliveries of one event get exactly one
//!    claim (the others answer "in progress", so Stripe retries later);
//! 4. **orders** it: an event whose `created` is older than the newest event
//!    already applied *for the same object* (the subscription for
//!    subscription and invoice events; the charge, dispute, session or
//!    PaymentIntent otherwise) is acknowledged and not applied, so a late
//!    delivery never rolls state back. Events created in the same second both
//!    apply, in arrival order (Stripe's `created` has one-second resolution);
//! 5. applies it to the [`Vault`] as [`Actor::Service`], retrying a failed
//!    application up to [`WebhookConfig::retries`] times with exponential
//!    backoff, and records the outcome (`processed` or `failed` with the
//!    error). A failed event is applied again when Stripe redelivers it, up to
//!    [`WebhookConfig::max_deliveries`] deliveries.
//!
//! # What each event does
//! | event | effect |
//! |---|---|
//! | `checkout.session.completed` (payment, paid) / `async_payment_succeeded` | completes the purchase named by `client_reference_id` (or `metadata.vault_purchase_id`), settled by the PaymentIntent |
//! | `checkout.session.completed` (unpaid) | nothing yet: waits for the async payment |
//! | `checkout.session.expired` / `async_payment_failed` | fails the pending purchase |
//! | `payment_intent.succeeded` / `payment_failed` | completes / fails the purchase in `metadata.vault_purchase_id` |
//! | `charge.refunded` | the refund cascade with the cumulative `amount_refunded` |
//! | `charge.dispute.created` / `closed` | suspends access / restores it (`won`, `warning_closed`) or revokes it (`lost`) |
//! | `customer.subscription.created` / `updated` | starts the membership (user and tier from `metadata.vault_user_id`, `metadata.vault_tier` or the price map) or moves it to the subscription's state |
//! | `customer.subscription.deleted` | cancels the membership |
//! | `invoice.paid` | renews the membership for the invoice's period (quota reset) |
//! | `invoice.payment_failed` | marks the membership past due |
//! | anything else, `trial_will_end` | recorded and acknowledged |
//!
//! Subscription statuses map to the membership state machine: `trialing`
//! and `active` → a renewal to the subscription's period when it differs
//! (trial conversion, new period, recovery from past due); `past_due`,
//! `unpaid` and `paused` → payment failed (access continues for the grace
//! period counted from the first failure, then stops until paid);
//! `canceled` → canceled; `incomplete_expired` → expired; `incomplete` →
//! nothing (the first payment is still pending).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use vault_core::actor::{Actor, UserId};
use vault_core::error::Error as VaultError;
use vault_core::ids::PurchaseId;
use vault_core::membership::{
    Membership, MembershipEvent, MembershipStatus, NewMembership, Period,
};
use vault_core::money::{Currency, Money};
use vault_core::purchase::{PaymentRef, PaymentStatus, ProviderRefs};
use vault_core::refund::PaymentEvent;
use vault_core::store::{Claim, Finish, NewWebhookEvent, Store, StoreError, WebhookStore};
use vault_core::tier::PricingTier;
use vault_core::{Clock, Vault};

use crate::event::{
    CheckoutSession, Event, EventKind, ParseError, Subscription, SubscriptionStatus,
};
use crate::signature::{SignatureError, Verifier};

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
    /// Price id → plan, for subscriptions without `metadata.vault_tier`.
    pub prices: BTreeMap<String, TierPlan>,
    /// Per-period limits by tier when the tier comes from metadata.
    pub tier_limits: BTreeMap<PricingTier, Option<u32>>,
}

impl Default for WebhookConfig {
    /// Three attempts 200 ms apart (doubling), three deliveries (seed 003:
    /// "failed webhooks retry up to 3 times"), a one-minute lease.
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: std::time::Duration::from_millis(200),
            max_deliveries: 3,
            lease: Duration::seconds(60),
            prices: BTreeMap::new(),
            tier_limits: BTreeMap::new(),
        }
    }
}

/// How a delivery was handled. Every variant but `InProgress` should be
/// answered `200`; `InProgress` with `409` so Stripe delivers it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Applied now; `changed` is false when it had nothing to change.
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
    /// Older than an event already applied for the same object: not applied.
    Stale {
        /// The event id.
        event_id: String,
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
    /// The signature did not verify: answer 400.
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
            WebhookError::Signature(_) | WebhookError::Parse(_) => 400,
            WebhookError::Store(_) | WebhookError::Apply { .. } => 500,
        }
    }
}

/// Receives Stripe webhooks for one endpoint and applies them to a vault.
pub struct WebhookHandler<S: Store + ?Sized> {
    vault: Vault<S>,
    events: Arc<dyn WebhookStore>,
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
            events,
            clock,
            verifier,
            config,
        }
    }

    /// Handles one delivery: `payload` is the raw request body, exactly as
    /// received; `signature` the `Stripe-Signature` header.
    pub async fn handle(&self, payload: &[u8], signature: &str) -> Result<Handled, WebhookError> {
        let now = self.clock.now();
        self.verifier.verify(payload, signature, now)?;
        let event = Event::parse(payload)?;
        let event_id = event.id.clone();
        let record = NewWebhookEvent {
            id: event.id.clone(),
            event_type: event.event_type.clone(),
            object_id: event.object_id(),
            created: event.created,
        };
        match self
            .events
            .claim_webhook_event(&record, now, self.config.lease, self.config.max_deliveries)
            .await?
        {
            Claim::Claimed { .. } => {}
            Claim::AlreadyProcessed => return Ok(Handled::Duplicate { event_id }),
            Claim::InProgress => return Ok(Handled::InProgress { event_id }),
            Claim::GaveUp { .. } => return Ok(Handled::GaveUp { event_id }),
        }
        if let Some(object) = &record.object_id
            && let Some(latest) = self.events.latest_applied(object).await?
            && event.created < latest
        {
            tracing::info!(event = %event_id, object = %object, "stale event acknowledged without applying");
            self.finish(&event_id, Finish::Processed { applied: false })
                .await?;
            return Ok(Handled::Stale { event_id });
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.apply(&event).await {
                Ok(changed) => {
                    self.finish(&event_id, Finish::Processed { applied: changed })
                        .await?;
                    tracing::info!(event = %event_id, kind = %event.event_type, changed, "webhook applied");
                    return Ok(Handled::Applied { event_id, changed });
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
                        },
                    )
                    .await?;
                    return Err(WebhookError::Apply {
                        event_id,
                        source: e,
                    });
                }
            }
        }
    }

    async fn finish(&self, id: &str, finish: Finish) -> Result<(), StoreError> {
        self.events
            .finish_webhook_event(id, &finish, self.clock.now())
            .await
    }

    /// Applies one event; `Ok(true)` when state changed.
    async fn apply(&self, event: &Event) -> Result<bool, VaultError> {
        let service = Actor::Service;
        match &event.kind {
            EventKind::CheckoutCompleted(s) | EventKind::CheckoutAsyncSucceeded(s) => {
                if s.mode != "payment"
                    || !matches!(s.payment_status.as_str(), "paid" | "no_payment_required")
                {
                    // Subscriptions follow their own events; unpaid sessions
                    // wait for async_payment_succeeded.
                    return Ok(false);
                }
                let Some(id) = purchase_of(s) else {
                    return Ok(false);
                };
                let payment = s.payment_intent.clone().unwrap_or_else(|| s.id.clone());
                self.complete(id, &payment).await
            }
            EventKind::CheckoutExpired(s) | EventKind::CheckoutAsyncFailed(s) => {
                let Some(id) = purchase_of(s) else {
                    return Ok(false);
                };
                self.fail(id).await
            }
            EventKind::PaymentSucceeded(pi) => match pi
                .metadata
                .get("vault_purchase_id")
                .and_then(|v| PurchaseId::parse(v).ok())
            {
                Some(id) => self.complete(id, &pi.id).await,
                None => Ok(false),
            },
            EventKind::PaymentFailed(pi) => match pi
                .metadata
                .get("vault_purchase_id")
                .and_then(|v| PurchaseId::parse(v).ok())
            {
                Some(id) => self.fail(id).await,
                None => Ok(false),
            },
            EventKind::ChargeRefunded(ch) => {
                let Some(pi) = &ch.payment_intent else {
                    return Ok(false);
                };
                let currency = Currency::parse(&ch.currency)?;
                let refunded_total = Money::from_minor(ch.amount_refunded, currency);
                self.payment_event(
                    pi,
                    PaymentEvent::Refunded {
                        refunded_total,
                        reason: None,
                    },
                )
                .await
            }
            EventKind::DisputeCreated(d) => match &d.payment_intent {
                Some(pi) => self.payment_event(pi, PaymentEvent::DisputeOpened).await,
                None => Ok(false),
            },
            EventKind::DisputeClosed(d) => match &d.payment_intent {
                Some(pi) => {
                    let won = matches!(d.status.as_str(), "won" | "warning_closed");
                    self.payment_event(pi, PaymentEvent::DisputeClosed { won })
                        .await
                }
                None => Ok(false),
            },
            EventKind::SubscriptionCreated(sub) | EventKind::SubscriptionUpdated(sub) => {
                self.sync_subscription(sub).await
            }
            EventKind::SubscriptionDeleted(sub) => match self
                .vault
                .membership_by_subscription(&service, &sub.id)
                .await?
            {
                Some(m)
                    if !matches!(
                        m.status,
                        MembershipStatus::Canceled | MembershipStatus::Expired
                    ) =>
                {
                    self.vault
                        .apply_membership_event(&service, m.id, MembershipEvent::Cancel)
                        .await?;
                    Ok(true)
                }
                _ => Ok(false),
            },
            EventKind::InvoicePaid(inv) => {
                let (Some(sub), Some((start, end))) = (&inv.subscription, inv.period) else {
                    return Ok(false);
                };
                let Some(m) = self.vault.membership_by_subscription(&service, sub).await? else {
                    return Ok(false);
                };
                let period = Period::new(start, end)?;
                self.membership_event(&m, MembershipEvent::Renew { period })
                    .await
            }
            EventKind::InvoicePaymentFailed(inv) => {
                let Some(sub) = &inv.subscription else {
                    return Ok(false);
                };
                let Some(m) = self.vault.membership_by_subscription(&service, sub).await? else {
                    return Ok(false);
                };
                self.membership_event(&m, MembershipEvent::PaymentFailed)
                    .await
            }
            EventKind::TrialWillEnd(_) | EventKind::Other => Ok(false),
        }
    }

    async fn complete(&self, id: PurchaseId, payment: &str) -> Result<bool, VaultError> {
        let before = self.vault.purchase(&Actor::Service, id).await?;
        let after = self
            .vault
            .complete_purchase(&Actor::Service, id, PaymentRef::parse(payment)?)
            .await?;
        Ok(before.status != after.status)
    }

    async fn fail(&self, id: PurchaseId) -> Result<bool, VaultError> {
        let before = self.vault.purchase(&Actor::Service, id).await?;
        if before.status != PaymentStatus::Pending {
            return Ok(false);
        }
        self.vault.fail_purchase(&Actor::Service, id).await?;
        Ok(true)
    }

    async fn payment_event(
        &self,
        payment_intent: &str,
        event: PaymentEvent,
    ) -> Result<bool, VaultError> {
        let r = PaymentRef::parse(payment_intent)?;
        let Some(p) = self.vault.purchase_by_payment(&Actor::Service, &r).await? else {
            return Ok(false);
        };
        let (_, effects) = self
            .vault
            .apply_payment_event(&Actor::Service, p.id, event)
            .await?;
        Ok(effects.changed)
    }

    async fn membership_event(
        &self,
        m: &Membership,
        event: MembershipEvent,
    ) -> Result<bool, VaultError> {
        let after = self
            .vault
            .apply_membership_event(&Actor::Service, m.id, event)
            .await?;
        Ok(after != *m)
    }

    fn plan_of(&self, sub: &Subscription) -> Option<TierPlan> {
        if let Some(tier) = sub
            .metadata
            .get("vault_tier")
            .and_then(|t| t.parse::<PricingTier>().ok())
        {
            let period_download_limit = self.config.tier_limits.get(&tier).copied().flatten();
            return Some(TierPlan {
                tier,
                period_download_limit,
            });
        }
        sub.price_id
            .as_ref()
            .and_then(|p| self.config.prices.get(p).copied())
    }

    /// Starts the membership a subscription stands for, or moves it to the
    /// subscription's state.
    async fn sync_subscription(&self, sub: &Subscription) -> Result<bool, VaultError> {
        use SubscriptionStatus as St;
        let service = Actor::Service;
        let existing = self
            .vault
            .membership_by_subscription(&service, &sub.id)
            .await?;
        let Some(m) = existing else {
            if !matches!(sub.status, St::Trialing | St::Active | St::PastDue) {
                return Ok(false);
            }
            let user = sub
                .metadata
                .get("vault_user_id")
                .ok_or_else(|| missing("metadata.vault_user_id"))?;
            let plan = self
                .plan_of(sub)
                .ok_or_else(|| missing("metadata.vault_tier or a known price"))?;
            let (start, end) = sub
                .current_period
                .ok_or_else(|| missing("current_period"))?;
            let m = self
                .vault
                .start_membership(
                    &service,
                    NewMembership {
                        user_id: UserId::parse(user)?,
                        tier: plan.tier,
                        period: Period::new(start, end)?,
                        trial: sub.status == St::Trialing,
                        period_download_limit: plan.period_download_limit,
                        features: BTreeMap::new(),
                        provider: ProviderRefs {
                            customer_id: sub.customer.clone(),
                            subscription_id: Some(sub.id.clone()),
                            price_id: sub.price_id.clone(),
                            ..ProviderRefs::default()
                        },
                    },
                )
                .await?;
            if sub.status == St::PastDue {
                self.membership_event(&m, MembershipEvent::PaymentFailed)
                    .await?;
            }
            return Ok(true);
        };
        let mut events = Vec::new();
        match sub.status {
            St::Trialing | St::Active => {
                if let Some((start, end)) = sub.current_period {
                    let period = Period::new(start, end)?;
                    let converts = sub.status == St::Active && m.status != MembershipStatus::Active;
                    if period != m.period || converts {
                        events.push(MembershipEvent::Renew { period });
                    }
                }
            }
            St::PastDue | St::Unpaid | St::Paused => events.push(MembershipEvent::PaymentFailed),
            St::Canceled => events.push(MembershipEvent::Cancel),
            St::IncompleteExpired => events.push(MembershipEvent::Expire),
            St::Incomplete => {}
        }
        let live = !matches!(sub.status, St::Canceled | St::IncompleteExpired);
        if live {
            if let Some(plan) = self.plan_of(sub)
                && (plan.tier != m.tier || plan.period_download_limit != m.quota.limit)
            {
                events.push(MembershipEvent::ChangeTier {
                    tier: plan.tier,
                    period_download_limit: plan.period_download_limit,
                });
            }
            if sub.cancel_at_period_end != m.cancel_at_period_end {
                events.push(MembershipEvent::CancelAtPeriodEnd(sub.cancel_at_period_end));
            }
        }
        let mut changed = false;
        for e in events {
            let current = self.vault.membership(&service, m.id).await?;
            changed |= self.membership_event(&current, e).await?;
        }
        Ok(changed)
    }
}

fn purchase_of(s: &CheckoutSession) -> Option<PurchaseId> {
    s.client_reference_id
        .as_deref()
        .or(s.metadata.get("vault_purchase_id").map(String::as_str))
        .and_then(|v| PurchaseId::parse(v).ok())
}

fn missing(what: &str) -> VaultError {
    vault_core::error::ValidationError::new(
        "subscription",
        vault_core::error::Reason::Inconsistent {
            detail: format!("missing {what}"),
        },
    )
    .into()
}
