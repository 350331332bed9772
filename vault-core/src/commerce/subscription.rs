//! Following a payment provider's subscription, whatever order its events
//! arrive in.
//!
//! A provider (Stripe) reports a subscription through events that each carry
//! a snapshot of it (or, for an invoice, part of it) and the instant the
//! event was created. They arrive at least once and in no guaranteed order,
//! sometimes days apart. A membership follows them by merges that give the
//! same membership whatever the order of delivery and however often each
//! event arrives:
//!
//! 1. **Status: the newest event decides.** Events are ordered by their
//!    [`EventStamp`]: the instant the provider created them, then the
//!    provider's rank of the event's kind within one second (Stripe's
//!    `created` has one-second resolution), then the event id, so two events
//!    are never tied. The membership keeps the stamp of the event its status
//!    came from and takes a status only from a newer one.
//! 2. **Terms** (cancel at period end, plan, trial end, price) come from full
//!    snapshots only, the newest one deciding, with a stamp of their own:
//!    an invoice says nothing about them.
//! 3. **Period: the latest wins** (by start, then end), as periods only move
//!    forward. A period that starts later resets the period's downloads.
//! 4. **Ended is final.** Canceled and expired never become live again, by
//!    any event, newer or older: a provider never revives an ended
//!    subscription. An expired membership may still become canceled (the
//!    provider's own last word on it).
//!
//! The past-due grace counts from the newest failure the membership took its
//! status from. The store keeps the stamps with the membership and writes
//! them under the membership's revision, so two events merged at once cannot
//! both win.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::commerce::membership::{Membership, MembershipStatus, NewMembership, Period};
use crate::commerce::purchase::ProviderRefs;
use crate::value::actor::UserId;
use crate::value::error::Error;
use crate::value::ids::MembershipId;
use crate::value::tier::PricingTier;
use crate::value::validation::{Reason, ValidationError, check_limit};

pub use crate::commerce::provider::{EventStamp, ProviderSync};

/// A subscription's status as the provider reports it, in the vault's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// The first payment is still pending: no membership yet.
    Incomplete,
    /// In a free trial.
    Trialing,
    /// Paid and current.
    Active,
    /// A payment failed and the provider is retrying (Stripe's `past_due`,
    /// `unpaid`, `paused`).
    PastDue,
    /// Ended by the member, the app or the provider.
    Canceled,
    /// The first payment never succeeded (Stripe's `incomplete_expired`).
    Expired,
}

/// A tier and its per-period download limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Plan {
    /// The tier (not free).
    pub tier: PricingTier,
    /// Downloads per period (`None`: unlimited).
    pub period_download_limit: Option<u32>,
}

/// What a full snapshot says beyond status and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionTerms {
    /// Ends at the period's end instead of renewing.
    pub cancel_at_period_end: bool,
    /// The plan, when the app could tell it (`None` keeps the current one).
    pub plan: Option<Plan>,
    /// When the trial ends (or ended), if there is one.
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// The provider's price id (`None` keeps the current one).
    pub price_id: Option<String>,
}

/// What one provider event says about a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    /// The provider's subscription id.
    pub subscription_id: String,
    /// Where the event stands in time.
    pub stamp: EventStamp,
    /// The status it reports.
    pub status: SubscriptionStatus,
    /// The period it reports, if any (a paid invoice's period, say).
    pub period: Option<Period>,
    /// The terms, for full snapshots; `None` for partial ones (invoices).
    pub terms: Option<SubscriptionTerms>,
}

fn newer(stamp: &EventStamp, than: Option<&EventStamp>) -> bool {
    than.is_none_or(|t| stamp > t)
}

fn check_plan(plan: &Plan) -> Result<(), ValidationError> {
    if plan.tier == PricingTier::Free {
        return Err(ValidationError::new(
            "tier",
            Reason::Inconsistent {
                detail: "free content needs no membership".into(),
            },
        ));
    }
    check_limit("period_download_limit", plan.period_download_limit)
}

impl SubscriptionSnapshot {
    /// Checks the ids and the plan, before anything is merged or stored.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let refs = ProviderRefs {
            subscription_id: Some(self.subscription_id.clone()),
            price_id: self.terms.as_ref().and_then(|t| t.price_id.clone()),
            ..ProviderRefs::default()
        };
        refs.validate()?;
        if let Some(plan) = self.terms.as_ref().and_then(|t| t.plan.as_ref()) {
            check_plan(plan)?;
        }
        Ok(())
    }

    /// The membership this snapshot starts for `user_id`, or `None` when it
    /// starts none (the first payment is still pending). An ended snapshot
    /// starts an ended membership, so that older events about the same
    /// subscription find it and change nothing.
    pub fn start(
        &self,
        user_id: UserId,
        customer_id: Option<String>,
        id: MembershipId,
        now: DateTime<Utc>,
    ) -> Result<Option<Membership>, Error> {
        if self.status == SubscriptionStatus::Incomplete {
            return Ok(None);
        }
        self.validate()?;
        let missing = |field: &'static str, what: &str| {
            ValidationError::new(
                field,
                Reason::Inconsistent {
                    detail: format!("a subscription without {what} starts no membership"),
                },
            )
        };
        let period = self
            .period
            .ok_or_else(|| missing("current_period", "a period"))?;
        let terms = self
            .terms
            .as_ref()
            .ok_or_else(|| missing("subscription", "its terms"))?;
        let plan = terms.plan.ok_or_else(|| missing("tier", "a known plan"))?;
        let mut m = NewMembership {
            user_id,
            tier: plan.tier,
            period,
            trial: self.status == SubscriptionStatus::Trialing,
            period_download_limit: plan.period_download_limit,
            features: Default::default(),
            // The price id, the status and the trial end come from
            // following the snapshot just below.
            provider: ProviderRefs {
                customer_id,
                subscription_id: Some(self.subscription_id.clone()),
                ..ProviderRefs::default()
            },
        }
        .build(id, now)?;
        m.follow(self, now)?;
        Ok(Some(m))
    }
}

impl Membership {
    /// Merges what a provider event says about this membership's
    /// subscription (see the module docs). `Ok(false)` when it changed
    /// nothing, not even a stamp; an invalid snapshot changes nothing.
    pub fn follow(&mut self, s: &SubscriptionSnapshot, now: DateTime<Utc>) -> Result<bool, Error> {
        s.validate()?;
        let before = self.clone();
        if let Some(p) = s.period
            && (p.start, p.end) > (self.period.start, self.period.end)
        {
            if p.start != self.period.start {
                self.quota.used = 0;
            }
            self.period = p;
        }
        if newer(&s.stamp, self.provider_sync.status.as_ref()) {
            self.provider_sync.status = Some(s.stamp.clone());
            self.take_status(s.status, s.stamp.created(), now);
        }
        if let Some(t) = &s.terms
            && newer(&s.stamp, self.provider_sync.terms.as_ref())
        {
            self.provider_sync.terms = Some(s.stamp.clone());
            self.cancel_at_period_end = t.cancel_at_period_end;
            self.trial_ends_at = t.trial_ends_at;
            if let Some(plan) = t.plan {
                self.tier = plan.tier;
                self.quota.limit = plan.period_download_limit;
            }
            if let Some(price) = &t.price_id {
                self.provider.price_id = Some(price.clone());
            }
        }
        let changed = *self != before;
        if changed {
            self.updated_at = now;
        }
        Ok(changed)
    }

    fn take_status(&mut self, status: SubscriptionStatus, at: DateTime<Utc>, now: DateTime<Utc>) {
        use MembershipStatus as M;
        use SubscriptionStatus as S;
        let ended = matches!(self.status, M::Canceled | M::Expired);
        match status {
            S::Incomplete => {}
            S::Trialing | S::Active | S::PastDue | S::Expired if ended => {}
            S::Trialing => {
                self.status = M::Trialing;
                self.past_due_since = None;
            }
            S::Active => {
                self.status = M::Active;
                self.past_due_since = None;
            }
            S::PastDue => {
                if self.status != M::PastDue || self.past_due_since != Some(at) {
                    self.grace_ends_at = None;
                }
                self.status = M::PastDue;
                self.past_due_since = Some(at);
            }
            // An ended membership owes nothing: no grace is counted.
            S::Canceled => {
                if self.status != M::Canceled {
                    self.status = M::Canceled;
                    self.past_due_since = None;
                    self.canceled_at = Some(now);
                    self.ended_at.get_or_insert(now);
                }
            }
            S::Expired => {
                self.status = M::Expired;
                self.past_due_since = None;
                self.ended_at = Some(now);
            }
        }
    }
}

#[cfg(test)]
mod tests;
