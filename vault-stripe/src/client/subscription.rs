//! Subscriptions: cancelling a membership's subscription.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::resources::{expandable_id, null_default};

/// When a cancellation takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelAt {
    /// Now: `DELETE /v1/subscriptions/{id}`; the subscription ends at once.
    Now,
    /// At the end of the paid period: `POST /v1/subscriptions/{id}` with
    /// `cancel_at_period_end=true`; it stays active until then.
    PeriodEnd,
}

/// `status` of a Subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubscriptionStatus {
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded (23 h).
    IncompleteExpired,
    /// In a free trial.
    Trialing,
    /// Paid up.
    Active,
    /// A renewal payment failed; Stripe is retrying.
    PastDue,
    /// Ended.
    Canceled,
    /// Retries exhausted, left open.
    Unpaid,
    /// Trial ended without a payment method.
    Paused,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// A Subscription, as far as the vault needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// Its status.
    pub status: SubscriptionStatus,
    /// The customer (`cus_…`).
    #[serde(default, deserialize_with = "expandable_id")]
    pub customer: Option<String>,
    /// True when it ends at the end of the current period.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// When it is set to end (Unix seconds).
    #[serde(default)]
    pub cancel_at: Option<i64>,
    /// When it was cancelled (Unix seconds).
    #[serde(default)]
    pub canceled_at: Option<i64>,
    /// When it ended (Unix seconds).
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// The current period's end, where the API version still puts it on the
    /// subscription (newer versions keep it on the items).
    #[serde(default)]
    pub current_period_end: Option<i64>,
    /// The subscription's metadata (`vault_user_id`, `vault_tier`).
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// Live or test mode.
    #[serde(default)]
    pub livemode: bool,
}
