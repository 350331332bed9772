//! What each event does to the vault: purchases through the payment rules,
//! memberships through the subscription rules, and the key an event parks
//! on when what it refers to is not known yet.

use chrono::{DateTime, Utc};
use vault_core::commerce::membership::Period;
use vault_core::commerce::purchase::PaymentRef;
use vault_core::commerce::refund::PaymentEvent;
use vault_core::commerce::subscription::{
    EventStamp, Plan, SubscriptionSnapshot, SubscriptionStatus as Status, SubscriptionTerms,
};
use vault_core::store::Store;
use vault_core::value::actor::{Actor, UserId};
use vault_core::value::error::Error as VaultError;
use vault_core::value::ids::PurchaseId;
use vault_core::value::money::{Currency, Money};
use vault_core::value::tier::PricingTier;
use vault_core::vault::{Enrollment, Followed};

use super::WebhookHandler;
use crate::event::{CheckoutSession, Event, EventKind, Invoice, Subscription, SubscriptionStatus};

/// What applying an event came to.
pub(super) enum Outcome {
    /// Done. `unblocks` names what parked events may now find.
    Applied {
        /// Whether state changed.
        changed: bool,
        /// Keys of parked events that may now apply.
        unblocks: Vec<String>,
    },
    /// It refers to something not known yet: park it on this key.
    Park(String),
}

fn done(changed: bool) -> Outcome {
    Outcome::Applied {
        changed,
        unblocks: vec![],
    }
}

fn payment_key(payment: &PaymentRef) -> String {
    format!("payment:{}", payment.as_str())
}

fn purchase_key(id: PurchaseId) -> String {
    format!("purchase:{id}")
}

fn subscription_key(id: &str) -> String {
    format!("subscription:{id}")
}

fn user_key(user: &UserId) -> String {
    format!("user:{user}")
}

/// The purchase a session pays for: the vault's own
/// `metadata.vault_purchase_id` first (an app may set `client_reference_id`
/// to something of its own), then `client_reference_id`.
fn purchase_of(s: &CheckoutSession) -> Option<PurchaseId> {
    s.metadata
        .get("vault_purchase_id")
        .and_then(|v| PurchaseId::parse(v).ok())
        .or_else(|| {
            s.client_reference_id
                .as_deref()
                .and_then(|v| PurchaseId::parse(v).ok())
        })
}

fn period(p: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Result<Option<Period>, VaultError> {
    Ok(p.map(|(start, end)| Period::new(start, end)).transpose()?)
}

impl<S: Store + ?Sized> WebhookHandler<S> {
    /// Applies one event.
    pub(super) async fn apply(&self, event: &Event) -> Result<Outcome, VaultError> {
        match &event.kind {
            EventKind::CheckoutCompleted(s) | EventKind::CheckoutAsyncSucceeded(s) => {
                if s.mode != "payment"
                    || !matches!(s.payment_status.as_str(), "paid" | "no_payment_required")
                {
                    // Subscriptions follow their own events; unpaid sessions
                    // wait for async_payment_succeeded.
                    return Ok(done(false));
                }
                let Some(id) = purchase_of(s) else {
                    return Ok(done(false));
                };
                let payment = s.payment_intent.as_deref().unwrap_or(&s.id);
                self.complete(id, payment).await
            }
            EventKind::CheckoutExpired(s) | EventKind::CheckoutAsyncFailed(s) => {
                match purchase_of(s) {
                    Some(id) => self.fail(id).await,
                    None => Ok(done(false)),
                }
            }
            EventKind::PaymentSucceeded(pi) => match pi
                .metadata
                .get("vault_purchase_id")
                .and_then(|v| PurchaseId::parse(v).ok())
            {
                Some(id) => self.complete(id, &pi.id).await,
                None => Ok(done(false)),
            },
            EventKind::PaymentFailed(pi) => match pi
                .metadata
                .get("vault_purchase_id")
                .and_then(|v| PurchaseId::parse(v).ok())
            {
                Some(id) => self.fail(id).await,
                None => Ok(done(false)),
            },
            EventKind::ChargeRefunded(ch) => {
                let Some(pi) = &ch.payment_intent else {
                    return Ok(done(false));
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
                None => Ok(done(false)),
            },
            EventKind::DisputeClosed(d) => match &d.payment_intent {
                Some(pi) => {
                    let won = matches!(d.status.as_str(), "won" | "warning_closed");
                    self.payment_event(pi, PaymentEvent::DisputeClosed { won })
                        .await
                }
                None => Ok(done(false)),
            },
            EventKind::SubscriptionCreated(sub)
            | EventKind::SubscriptionUpdated(sub)
            | EventKind::SubscriptionDeleted(sub) => {
                let deleted = matches!(event.kind, EventKind::SubscriptionDeleted(_));
                let snapshot = self.snapshot(event, sub, deleted)?;
                let Some(user) = sub.metadata.get("vault_user_id") else {
                    // Not started by the vault's checkout: follow it only
                    // if a membership already does.
                    return self.follow(&snapshot, None).await;
                };
                let enrollment = Enrollment {
                    user_id: UserId::parse(user)?,
                    customer_id: sub.customer.clone(),
                };
                self.follow(&snapshot, Some(&enrollment)).await
            }
            EventKind::InvoicePaid(inv) | EventKind::InvoicePaymentFailed(inv) => {
                let paid = matches!(event.kind, EventKind::InvoicePaid(_));
                match self.invoice_snapshot(event, inv, paid)? {
                    Some(snapshot) => self.follow(&snapshot, None).await,
                    None => Ok(done(false)),
                }
            }
            EventKind::TrialWillEnd(_) | EventKind::Other => Ok(done(false)),
        }
    }

    async fn complete(&self, id: PurchaseId, payment: &str) -> Result<Outcome, VaultError> {
        let payment = PaymentRef::parse(payment)?;
        let before = match self.vault.purchase(&Actor::Service, id).await {
            Ok(p) => p,
            Err(VaultError::NotFound { .. }) => return Ok(Outcome::Park(purchase_key(id))),
            Err(e) => return Err(e),
        };
        let after = self
            .vault
            .complete_purchase(&Actor::Service, id, payment.clone())
            .await?;
        Ok(Outcome::Applied {
            changed: before.status != after.status,
            unblocks: vec![payment_key(&payment)],
        })
    }

    async fn fail(&self, id: PurchaseId) -> Result<Outcome, VaultError> {
        let before = match self.vault.purchase(&Actor::Service, id).await {
            Ok(p) => p,
            Err(VaultError::NotFound { .. }) => return Ok(Outcome::Park(purchase_key(id))),
            Err(e) => return Err(e),
        };
        match self.vault.fail_purchase(&Actor::Service, id).await {
            Ok(after) => Ok(done(before.status != after.status)),
            // Paid already: a failed attempt reported after the success
            // changes nothing.
            Err(VaultError::InvalidTransition { .. }) => Ok(done(false)),
            Err(e) => Err(e),
        }
    }

    async fn payment_event(
        &self,
        payment_intent: &str,
        event: PaymentEvent,
    ) -> Result<Outcome, VaultError> {
        let payment = PaymentRef::parse(payment_intent)?;
        let Some(p) = self
            .vault
            .purchase_by_payment(&Actor::Service, &payment)
            .await?
        else {
            // Its payment has not completed a purchase yet.
            return Ok(Outcome::Park(payment_key(&payment)));
        };
        let (_, effects) = self
            .vault
            .apply_payment_event(&Actor::Service, p.id, event)
            .await?;
        Ok(done(effects.changed))
    }

    async fn follow(
        &self,
        snapshot: &SubscriptionSnapshot,
        enrollment: Option<&Enrollment>,
    ) -> Result<Outcome, VaultError> {
        let sub = &snapshot.subscription_id;
        match self
            .vault
            .follow_subscription(&Actor::Service, snapshot, enrollment)
            .await?
        {
            Followed::Membership {
                membership,
                changed,
                started,
            } => {
                let mut unblocks = Vec::new();
                if started {
                    unblocks.push(subscription_key(sub));
                }
                // Its end frees the user's slot for a newer subscription.
                if changed && membership.status.is_ended() {
                    unblocks.push(user_key(&membership.user_id));
                }
                Ok(Outcome::Applied { changed, unblocks })
            }
            Followed::UnknownSubscription if enrollment.is_none() && snapshot.terms.is_some() => {
                // A subscription without the vault's metadata that no
                // membership follows: not the vault's.
                Ok(done(false))
            }
            Followed::UnknownSubscription => Ok(Outcome::Park(subscription_key(sub))),
            Followed::SlotTaken { user_id } => Ok(Outcome::Park(user_key(&user_id))),
            Followed::NotStarted => Ok(done(false)),
            _ => Ok(done(false)),
        }
    }

    fn stamp(&self, event: &Event) -> Result<EventStamp, VaultError> {
        Ok(EventStamp::new(event.created, event.rank(), &event.id)?)
    }

    fn plan_of(&self, sub: &Subscription) -> Option<Plan> {
        if let Some(tier) = sub
            .metadata
            .get("vault_tier")
            .and_then(|t| t.parse::<PricingTier>().ok())
        {
            let period_download_limit = self.config.tier_limits.get(&tier).copied().flatten();
            return Some(Plan {
                tier,
                period_download_limit,
            });
        }
        sub.price_id
            .as_ref()
            .and_then(|p| self.config.prices.get(p))
            .map(|p| Plan {
                tier: p.tier,
                period_download_limit: p.period_download_limit,
            })
    }

    fn snapshot(
        &self,
        event: &Event,
        sub: &Subscription,
        deleted: bool,
    ) -> Result<SubscriptionSnapshot, VaultError> {
        use SubscriptionStatus as St;
        let status = match sub.status {
            _ if deleted => Status::Canceled,
            St::Trialing => Status::Trialing,
            St::Active => Status::Active,
            St::PastDue | St::Unpaid | St::Paused => Status::PastDue,
            St::Canceled => Status::Canceled,
            St::Incomplete => Status::Incomplete,
            St::IncompleteExpired => Status::Expired,
        };
        Ok(SubscriptionSnapshot {
            subscription_id: sub.id.clone(),
            stamp: self.stamp(event)?,
            status,
            period: period(sub.current_period)?,
            terms: Some(SubscriptionTerms {
                cancel_at_period_end: sub.cancel_at_period_end,
                plan: self.plan_of(sub),
                trial_ends_at: sub.trial_end,
                price_id: sub.price_id.clone(),
            }),
        })
    }

    /// What an invoice says about its subscription: paid (for its period)
    /// or failed. `None` when it says nothing: no subscription, or a paid
    /// invoice of nothing (the zero invoice that opens a trial).
    fn invoice_snapshot(
        &self,
        event: &Event,
        inv: &Invoice,
        paid: bool,
    ) -> Result<Option<SubscriptionSnapshot>, VaultError> {
        let Some(sub) = &inv.subscription else {
            return Ok(None);
        };
        if paid && inv.amount_paid == Some(0) {
            return Ok(None);
        }
        Ok(Some(SubscriptionSnapshot {
            subscription_id: sub.clone(),
            stamp: self.stamp(event)?,
            status: if paid {
                Status::Active
            } else {
                Status::PastDue
            },
            period: if paid { period(inv.period)? } else { None },
            terms: None,
        }))
    }
}
